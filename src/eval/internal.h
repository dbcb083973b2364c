/* Internals shared by the metric files of the evaluation stage: rows sorted by score,
 * the notes list and JSON number helpers. */
#ifndef PROMO_EVAL_INTERNAL_H
#define PROMO_EVAL_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "promo/core.h"
#include "promo/eval.h"

/* One row as the ranking metrics see it. */
typedef struct eval_row {
  double score;
  double y;
  double treated; /* 1 treated, 0 control; uplift only */
  int64_t group;  /* group key; group AUC only */
  size_t row;     /* position in the input, the tie-break that keeps sorts deterministic */
} eval_row;

/* Sort by score descending, then by row ascending. */
void eval_sort_by_score(eval_row *rows, size_t n);

/* Area under the ROC curve of rows sorted by eval_sort_by_score, by the trapezoid rule
 * over tie groups (a tied positive-negative pair counts half). NAN with one class. */
double eval_auc_sorted(const eval_row *rows, size_t n);

/* A JSON real for a finite x, JSON null otherwise. */
json_t *eval_number(double x);

/* Set key to value (stolen) in obj; PROMO_ERR_NOMEM when value is NULL or setting
 * fails. */
promo_status eval_set(json_t *obj, const char *key, json_t *value);

/* Append a copy of a translated note to the notes array. */
promo_status eval_note(json_t *notes, const char *text);

/* Indices of at most max_points of m points spread evenly from the first to the last,
 * written to keep [min(m, max_points)]; returns that count. */
size_t eval_thin(size_t m, size_t max_points, size_t *keep);

/* Add the uplift metrics to obj and, when curves is not NULL, the "qini" curve to it. */
promo_status eval_uplift(const float *pred, const float *y, size_t n,
                         const promo_eval_options *opt, json_t *obj, json_t *notes,
                         json_t *curves);

#endif
