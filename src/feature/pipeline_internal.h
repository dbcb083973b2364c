/* Internals shared by the pipeline's files: the offer step and the pipeline object. */
#ifndef PROMO_FEATURE_PIPELINE_INTERNAL_H
#define PROMO_FEATURE_PIPELINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "promo/feature.h"

/* One promotion text column. */
typedef struct offer_step {
  char *column;
  char *price_column;  /* NULL: no effective rate output */
  bool reject;         /* unparsed texts mark the row rejected */
} offer_step;

size_t offer_step_n_outputs(const offer_step *step);
promo_status offer_step_output_name(const offer_step *step, size_t j, char *buf, size_t size);
/* Write the raw outputs of every row at X[r * ld + offset ...]; counts unparsed texts and
 * marks their rows in rejected (may be NULL) when the step rejects them. */
promo_status offer_step_apply(const offer_step *step, const promo_table *table, float *X,
                              size_t ld, size_t offset, uint8_t *rejected,
                              uint64_t *n_unparsed, promo_error *err);
/* Share of the column's non-missing rows whose text parses as an offer, 0 when none of
 * them is a promotion; used to recognize offer columns. */
double offer_parse_share(const promo_table *table, size_t c);

struct promo_pipeline {
  char *target;
  size_t n_inputs;
  char **input_names;       /* [n_inputs] */
  promo_type *input_types;  /* [n_inputs] */

  size_t n_encoders;
  promo_encoder **encoders;
  size_t n_times;
  promo_timefeat **times;
  size_t n_offers;
  offer_step *offers;
  promo_window *window;     /* NULL without window features */
  size_t n_pca_inputs;
  promo_encoder **pca_scalers;  /* [n_pca_inputs] standardize, feeding the PCA */
  promo_pca *pca;

  /* Output layout: encoders, time, offer, window, PCA. Outputs of the time, offer and
   * window steps are standardized with the training mean and std, and NaN becomes 0 (the
   * training mean). */
  size_t n_outputs;
  char **names;             /* [n_outputs] */
  char **sources;           /* [n_outputs] */
  uint8_t *is_derived;      /* [n_outputs] standardized after computing */
  double *mean, *std;       /* [n_outputs] */
  size_t derived_begin, derived_end;  /* outputs of the time, offer and window steps */

  size_t n_decisions;
  char **decisions;
};

/* Allocate the name, source and scaling arrays for n_outputs. */
promo_status pipeline_alloc_outputs(promo_pipeline *p, size_t n_outputs);
/* Copy a string, NULL on failure or for NULL. */
char *pipeline_strdup(const char *s);

#endif
