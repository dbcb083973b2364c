/* Evaluation stage: metrics of predictions against actual values (binary, regression,
 * counts and uplift), row splits for cross-validation and held-out tests, and
 * cross-validation that refits the whole trainer inside every fold. */
#ifndef PROMO_EVAL_H
#define PROMO_EVAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promo/core.h"
#include "promo/data.h"
#include "promo/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== metrics */

typedef struct promo_eval_options {
  double threshold;            /* binary: a row is predicted positive when p >= threshold;
                                  default 0.5 */
  const int64_t *groups;       /* [n] group keys for group_auc, or NULL */
  const float *treatment;      /* [n] 1 for treated rows, 0 for control rows, or NULL; with
                                  it the uplift metrics are added */
  const float *uplift_score;   /* [n] score that ranks rows for the uplift metrics, or NULL
                                  to rank by the prediction */
  size_t max_curve_points;     /* ROC, PR and Qini curves are thinned to this many points;
                                  default 200, at least 2 */
  size_t max_scatter_points;   /* regression predicted_vs_actual points; default 500 */
  bool curves;                 /* add the "curves" object; default true */
} promo_eval_options;

void promo_eval_options_init(promo_eval_options *opt);

/* Compute every metric of the task for predictions pred [n] against actual values y [n],
 * with sums in double, into a new JSON object *out (the caller owns it).
 *
 * Binary (y in {0, 1}, pred a probability in [0, 1]): rows, positives, auc, pr_auc
 * (average precision), log_loss (p clipped to [2.2e-16, 1 - 2.2e-16]), brier, threshold,
 * accuracy, precision, recall, f1, and group_auc with groups_scored and groups_skipped
 * when opt->groups is set (the unweighted mean of per-group AUC over the groups that hold
 * both classes).
 * Regression and poisson: rows, rmse, mae, mape (over rows whose actual value is not 0),
 * mape_skipped (those rows), wape, r2, bias (sum of predictions over sum of actual
 * values). poisson_deviance is added for the poisson task and for regression targets that are
 * non-negative whole numbers.
 * Uplift, when opt->treatment is set: treated_rows, control_rows, ate (mean outcome of
 * treated minus control rows), qini_coefficient, auuc, uplift_at_10pct, _20pct, _30pct.
 *
 * A value that is undefined for these rows (AUC with one class, precision with no
 * predicted positive, R² of a constant target, ...) is JSON null, and the "notes" array
 * holds one translated sentence per cause. "curves" holds the ROC, PR, Qini and
 * calibration curves (see docs/eval.md for their layout).
 *
 * Errors: PROMO_ERR_USAGE for n 0 or NULL arrays; PROMO_ERR_DATA for a value that is not
 * finite, a binary y other than 0 or 1, a binary prediction outside [0, 1], a negative
 * poisson target or a treatment other than 0 or 1 (err->line is the 1-based row);
 * PROMO_ERR_NOMEM. */
promo_status promo_eval_metrics(promo_task task, const float *pred, const float *y, size_t n,
                                const promo_eval_options *opt, json_t **out, promo_error *err);

/* Single metrics, for callers that need one number. Each returns NAN when the metric is
 * undefined for the rows (one class only, no rows). ROC AUC counts tied scores as half,
 * which equals the Mann-Whitney U statistic and scikit-learn's roc_auc_score; average
 * precision is scikit-learn's average_precision_score. Both sort a copy of the rows and
 * return NAN when out of memory. */
double promo_eval_roc_auc(const float *pred, const float *y, size_t n);
double promo_eval_average_precision(const float *pred, const float *y, size_t n);

/* ===================================================================== splits */

typedef enum promo_split_kind {
  PROMO_SPLIT_KFOLD = 0,  /* rows shuffled with the seed, then cut into k blocks */
  PROMO_SPLIT_STRATIFIED, /* every distinct target value dealt evenly over the folds */
  PROMO_SPLIT_GROUP,      /* all rows of a group in one fold; folds balanced by rows */
  PROMO_SPLIT_TIME        /* expanding window: k + 1 blocks in time order; fold f tests
                             block f + 1 and trains on every earlier row */
} promo_split_kind;

/* fold[r] of a row that no fold tests: the first time block, which only ever trains. */
#define PROMO_SPLIT_UNUSED (-1)

typedef struct promo_split_options {
  promo_split_kind kind;
  size_t n_folds;             /* k, from 2; default 5 */
  uint64_t seed;              /* default 42 */
  const char *group_column;   /* GROUP: the column whose values form the groups */
  const char *time_column;    /* TIME: a DATE, DATETIME, INT or DECIMAL column */
  double valid_share;         /* cross-validation only: share of each fold's training rows
                                 kept back for the trainer's validation (early stopping),
                                 chosen at random with the seed; 0 (default) for none */
} promo_split_options;

void promo_split_options_init(promo_split_options *opt);

/* "kfold", "stratified", "group" or "time". */
const char *promo_split_kind_name(promo_split_kind kind);

/* Assign every row a fold: fold[r] in [0, n_folds), or PROMO_SPLIT_UNUSED for the rows of
 * the first time block. Inputs by kind: STRATIFIED reads y [n_rows], GROUP reads
 * group_keys [n_rows], TIME reads times [n_rows]. Rows with equal times always share a
 * block, so training rows are strictly earlier than test rows. The other inputs may be
 * NULL.
 * The same options and inputs give the same folds.
 * Errors: PROMO_ERR_USAGE for n_folds < 2 or an input the kind needs that is NULL;
 * PROMO_ERR_DATA when there are fewer rows (KFOLD, STRATIFIED), groups (GROUP) or
 * distinct times (TIME) than the kind needs, or a time is not finite; PROMO_ERR_NOMEM. */
promo_status promo_split_assign(const promo_split_options *opt, size_t n_rows, const float *y,
                                const int64_t *group_keys, const double *times, int32_t *fold,
                                promo_error *err);

/* Same for a table: reads the group or time column named in opt. Errors add
 * PROMO_ERR_USAGE for a column not in the header or a time column of another type, and
 * PROMO_ERR_DATA naming the line of a missing time. Missing group values form one group.
 * path names the data in messages. */
promo_status promo_split_assign_table(const promo_table *t, const float *y, const char *path,
                                      const promo_split_options *opt, int32_t *fold,
                                      promo_error *err);

/* Group keys of column c of t into keys [t->n_rows], for GROUP splits and group_auc:
 * dictionary codes for strings, the value for integers, dates and booleans, the bits of
 * a decimal. Every missing cell gets the same key, so missing values form one group. */
void promo_split_group_keys(const promo_table *t, size_t c, int64_t *keys);

/* Write the training and test rows of fold f (ascending row numbers) into train and test,
 * each with room for n_rows entries. KFOLD, STRATIFIED and GROUP train on every row of
 * the other folds; TIME trains on the rows of earlier blocks only. */
void promo_split_fold_rows(const int32_t *fold, size_t n_rows, promo_split_kind kind, int32_t f,
                           size_t *train, size_t *n_train, size_t *test, size_t *n_test);

/* Mark round(share * n_rows) rows chosen at random with the seed as test rows
 * (is_test[r] = 1, others 0). PROMO_ERR_USAGE for a share outside (0, 1) or when the
 * share leaves no test row or no training row. */
promo_status promo_split_holdout_share(size_t n_rows, double share, uint64_t seed,
                                       uint8_t *is_test, size_t *n_test, promo_error *err);

/* Mark the rows whose value in column `column` is after `after` as test rows. `after` is
 * read in the column's type: a date (2024-11-01), a date and time, or a number.
 * Errors: PROMO_ERR_USAGE for a column not in the header, of another type, an `after`
 * that does not parse, or a cut that leaves no test row or no training row.
 * PROMO_ERR_DATA names the line of a row with a missing value in the column. */
promo_status promo_split_holdout_after(const promo_table *t, const char *column, const char *after,
                                       const char *path, uint8_t *is_test, size_t *n_test,
                                       promo_error *err);

/* Mark the round(share * n_rows) latest rows of t by the INT, DECIMAL, DATE or DATETIME
 * column `column` (is_test[r] = 1, others 0), so a model is checked on a period after
 * the one it learned from. Missing times count as the earliest, and ties keep file order.
 * The caller checks the column's type; PROMO_ERR_NOMEM is the only error. */
promo_status promo_split_holdout_latest(const promo_table *t, size_t column, double share, uint8_t *is_test,
                                        size_t *n_test);

/* ===================================================================== cross-validation */

/* Cross-validate the trainer on table t with targets y [t->n_rows]: assign folds with
 * `split`, and for each fold select its training and test rows (promo_table_select), fit
 * the pipeline and network on the training rows only (promo_model_fit_tables), predict
 * the test rows and compute promo_eval_metrics without curves. topt->nn.task must be set.
 * With split->valid_share > 0 the trainer validates on that share of the fold's training
 * rows; without it patience must be 0 and the last epoch's weights are kept.
 *
 * *out becomes {"split": {...}, "folds": [{"fold": 1, "train_rows", "test_rows",
 * "metrics": {...}}, ...], "mean": {...}, "std": {...}, "defined": {...}}: for every
 * numeric metric, its mean and sample standard deviation (n - 1 divisor) over the folds
 * where it is defined, and in how many folds it is; std is null with fewer than two.
 * Progress goes to ctx with stage "cv", one unit per fold. Errors: those of
 * promo_split_assign_table, promo_model_fit_tables and promo_eval_metrics, with the fold
 * named in the message; PROMO_ERR_CANCELLED between folds. */
promo_status promo_eval_cross_validate(const promo_table *t, const float *y, const char *path,
                                       const promo_trainer_options *topt,
                                       const promo_split_options *split, promo_context *ctx,
                                       json_t **out, promo_error *err);

#ifdef __cplusplus
}
#endif
#endif
