/* Feature stage: encoders that turn one table column into float32 model inputs. Numeric
 * scalers (standardize, min-max, robust, log1p + standardize) with imputation, and
 * categorical encoders (one-hot, embedding index, frequency, out-of-fold target). Each is
 * fitted on training rows only and applied unchanged at prediction time. */
#ifndef PROMO_FEATURE_ENCODE_H
#define PROMO_FEATURE_ENCODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promo/core.h"
#include "promo/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== encoders */

/* What an encoder computes from one column. Numeric kinds read BOOL, INT, DECIMAL, DATE
 * (days) and DATETIME (seconds) columns. Categorical kinds read CATEGORICAL, TEXT, BOOL
 * and INT columns, and match levels by their text. */
typedef enum promo_encoder_kind {
  /* Not an encoding: what promo_encoder_suggest returns for a column it skips. */
  PROMO_ENCODER_NONE = 0,
  /* (x - mean) / std, population std (ddof 0); a constant column gives 0. */
  PROMO_ENCODER_STANDARDIZE,
  /* (x - min) / (max - min) with the training min and max, so later values outside the
   * training range fall outside [0, 1]. A constant column gives 0. */
  PROMO_ENCODER_MINMAX,
  /* (x - median) / (q75 - q25), linearly interpolated quantiles; an IQR of 0 scales by 1. */
  PROMO_ENCODER_ROBUST,
  /* Standardized log1p(x). Values <= -1 fail the fit and are clipped at transform time. */
  PROMO_ENCODER_LOG_STANDARDIZE,
  /* One output per kept level, then COL=__other__ for rare and unseen levels, then
   * COL=__missing__ when training had missing values. __other__ exists even when training
   * had no rare level, so unseen levels always have a column. A missing value goes to
   * __other__ when training had none. */
  PROMO_ENCODER_ONE_HOT,
  /* Level -> 1..K by training frequency for an embedding layer; 0 for unseen, rare or
   * missing values. */
  PROMO_ENCODER_INDEX,
  /* Share of training rows with the level; 0 for unseen levels. A missing value gets the
   * share of training rows that were missing. */
  PROMO_ENCODER_FREQUENCY,
  /* Smoothed mean target of the level, out-of-fold on training rows. Missing values form
   * a level of their own. An unseen level gets the training mean target. */
  PROMO_ENCODER_TARGET,
  PROMO_ENCODER_N_KINDS
} promo_encoder_kind;

/* Stable English keyword of a kind for JSON and the CLI: "none", "standardize", "minmax",
 * "robust", "log_standardize", "one_hot", "index", "frequency", "target". Not translated. */
const char *promo_encoder_kind_name(promo_encoder_kind kind);
/* Kind from its keyword; returns false for an unknown name. */
bool promo_encoder_kind_parse(const char *name, promo_encoder_kind *out);

/* True for the numeric scalers, false for the categorical encoders and NONE. */
bool promo_encoder_kind_is_numeric(promo_encoder_kind kind);

/* How a numeric scaler fills a missing value before scaling. The fill value is computed
 * over the non-missing training values, in the log1p domain for LOG_STANDARDIZE. The
 * scaling statistics also come from the non-missing values only, as in scikit-learn's
 * scalers given NaN, so imputed values do not shrink the spread. */
typedef enum promo_encoder_impute {
  /* MEDIAN for ROBUST, MEAN for the other scalers. */
  PROMO_ENCODER_IMPUTE_AUTO = 0,
  PROMO_ENCODER_IMPUTE_MEAN,
  PROMO_ENCODER_IMPUTE_MEDIAN,
  /* fill_value, given in the column's own units. */
  PROMO_ENCODER_IMPUTE_CONSTANT
} promo_encoder_impute;

/* Keywords "auto", "mean", "median", "constant". */
const char *promo_encoder_impute_name(promo_encoder_impute impute);
bool promo_encoder_impute_parse(const char *name, promo_encoder_impute *out);

typedef struct promo_encoder_options {
  promo_encoder_kind kind;
  /* Numeric scalers. */
  promo_encoder_impute impute;
  double fill_value; /* IMPUTE_CONSTANT only; must be > -1 for LOG_STANDARDIZE */
  /* Categorical encoders. A level seen in fewer than min_count training rows is rare and
   * is encoded like an unseen level. max_levels keeps at most that many of the most
   * frequent levels (0: no limit); the others are encoded as unseen too. */
  uint64_t min_count;
  size_t max_levels;
  /* TARGET only: the m of the m-estimate (sum + m * prior) / (count + m), the number of
   * folds (at least 2) and the seed that assigns training rows to folds. */
  double smoothing;
  size_t n_folds;
  uint64_t seed;
} promo_encoder_options;

/* Fill the defaults for a kind:
 *
 *   kind       min_count  max_levels  why
 *   ONE_HOT    10         64          a weight fitted on fewer than 10 rows is mostly
 *                                     noise, and rare spellings are often typos
 *   INDEX      5          0           an embedding row trained on fewer than 5 rows is
 *                                     noise; id columns need no cap
 *   FREQUENCY  1          0           every level's share is exact
 *   TARGET     1          0           smoothing already shrinks rare levels
 *
 * TARGET: smoothing 10 (a level with 10 training rows counts half its own mean and half
 * the prior), n_folds 5, seed 42. Scalers: impute AUTO, fill_value 0. */
void promo_encoder_options_init(promo_encoder_options *opt, promo_encoder_kind kind);

/* A fitted encoder: what it learned from the training rows of one column. It is opaque
 * and immutable after the fit, so threads may transform with one encoder at once. */
typedef struct promo_encoder promo_encoder;

/* Fit an encoder on column `column` of `table` over the table rows rows[0..n_rows). With
 * rows NULL it uses every row, and n_rows must equal table->n_rows.
 *
 * target holds the label of every table row, indexed like the values in rows. TARGET
 * needs it, with a finite value on every training row. The other kinds ignore it, so it
 * may be NULL. Non-finite DECIMAL values count as missing.
 *
 * Errors: PROMO_ERR_USAGE for a bad column or row index, an invalid option or kind, or a
 * column type the kind cannot read. PROMO_ERR_DATA when there is no training row, no
 * training row has a value (numeric kinds), a value is <= -1 for LOG_STANDARDIZE, there
 * are fewer rows than folds (TARGET), or a target is missing or not finite. err names the
 * column, and for a bad value also the value and its source line (table->lines).
 * ctx may be NULL; with debug logging on, each fit logs one line. On success *out owns
 * the encoder (free it with promo_encoder_free); on failure *out is NULL. */
promo_status promo_encoder_fit(const promo_table *table, size_t column, const size_t *rows,
                               size_t n_rows, const double *target,
                               const promo_encoder_options *opt, const promo_context *ctx,
                               promo_encoder **out, promo_error *err);

/* Fit like promo_encoder_fit and also write the training rows' outputs into X (see
 * promo_encoder_transform for the layout). For TARGET the outputs are out-of-fold: each
 * row is encoded with the statistics of the other folds only, so the model does not see
 * its own label through the feature. Use this, not promo_encoder_transform, to build the
 * training matrix whenever a TARGET encoder is involved. */
promo_status promo_encoder_fit_transform(const promo_table *table, size_t column,
                                         const size_t *rows, size_t n_rows, const double *target,
                                         const promo_encoder_options *opt, float *X, size_t ld,
                                         size_t offset, const promo_context *ctx,
                                         promo_encoder **out, promo_error *err);

/* What a transform met that the training rows did not prepare it for. */
typedef struct promo_encoder_counts {
  uint64_t n_imputed; /* missing values filled (numeric) */
  uint64_t n_clipped; /* values <= -1 raised to the training minimum (LOG_STANDARDIZE) */
  uint64_t n_other;   /* values of an unseen or rare level (categorical) */
} promo_encoder_counts;

/* Encode rows[0..n_rows) of `table` (rows NULL: every row, n_rows == table->n_rows) into
 * X, a row-major float matrix with ld floats per row: output j of the i-th row goes to
 * X[i * ld + offset + j], for j < promo_encoder_n_outputs(encoder). Nothing else in X is
 * touched, so several encoders can fill one matrix side by side.
 *
 * The column is found by the name it had in training. A categorical level is matched by
 * its text, so the table's dictionary codes need not match the training table's. A
 * TARGET encoder uses the full training statistics here, so calling it on the training
 * rows leaks their labels (see promo_encoder_fit_transform). counts may be NULL.
 * Errors (PROMO_ERR_DATA): the column is absent, or its type cannot be read by this
 * kind (text for a numeric scaler; DECIMAL, DATE or DATETIME for a categorical one). */
promo_status promo_encoder_transform(const promo_encoder *encoder, const promo_table *table,
                                     const size_t *rows, size_t n_rows, float *X, size_t ld,
                                     size_t offset, promo_encoder_counts *counts, promo_error *err);

/* Free an encoder. Accepts NULL. */
void promo_encoder_free(promo_encoder *encoder);

promo_encoder_kind promo_encoder_get_kind(const promo_encoder *encoder);
/* Name of the training column (owned by the encoder). */
const char *promo_encoder_column(const promo_encoder *encoder);
size_t promo_encoder_n_outputs(const promo_encoder *encoder);
/* Name of output j (owned by the encoder): "COL" for scalers, INDEX and their input,
 * "COL_missing" for a scaler's missing indicator, "COL=level", "COL=__other__" and
 * "COL=__missing__" for ONE_HOT, "COL_freq" for FREQUENCY, "COL_target" for TARGET.
 * NULL when j is out of range. */
const char *promo_encoder_output_name(const promo_encoder *encoder, size_t j);
/* Number of kept levels of a categorical encoder (K of INDEX, whose outputs are 0..K);
 * 0 for a numeric scaler. */
size_t promo_encoder_n_levels(const promo_encoder *encoder);
/* Text of kept level i (0-based; INDEX encodes it as i + 1), ordered by training count,
 * most frequent first, ties by byte order; NULL when i is out of range. */
const char *promo_encoder_level(const promo_encoder *encoder, size_t i);

/* Serialize everything the encoder learned. *out is a new JSON object owned by the
 * caller (json_decref). Fails with PROMO_ERR_NOMEM, or PROMO_ERR_DATA when a level is
 * not valid UTF-8 (levels read by the CSV reader always are). */
promo_status promo_encoder_to_json(const promo_encoder *encoder, json_t **out);

/* Rebuild an encoder from promo_encoder_to_json's object; its transform is bit-identical
 * to the original's. PROMO_ERR_DATA names the first field that is missing, of the wrong
 * type or out of range. */
promo_status promo_encoder_from_json(const json_t *json, promo_encoder **out, promo_error *err);

/* ===================================================================== many columns */

/* One column to encode and how. */
typedef struct promo_encoder_request {
  size_t column;
  promo_encoder_options options;
} promo_encoder_request;

/* Fit one encoder per request, in parallel over columns (ctx->n_threads; 0 uses
 * OpenMP's default). When X is not NULL, also write the training outputs like
 * promo_encoder_fit_transform, encoder k's outputs starting at column offset plus the
 * outputs of encoders 0..k-1. On failure every out[k] is NULL and err describes the
 * failing request with the lowest index. out has n_requests slots. */
promo_status promo_encoder_fit_all(const promo_table *table, const promo_encoder_request *requests,
                                   size_t n_requests, const size_t *rows, size_t n_rows,
                                   const double *target, float *X, size_t ld, size_t offset,
                                   const promo_context *ctx, promo_encoder **out, promo_error *err);

/* Transform with every encoder, outputs side by side from column `offset` in encoder
 * order, in parallel over blocks of rows. counts (NULL or n_encoders slots) gets each
 * encoder's counts; clipped values are also logged as a warning per encoder. */
promo_status promo_encoder_transform_all(const promo_encoder *const *encoders, size_t n_encoders,
                                         const promo_table *table, const size_t *rows,
                                         size_t n_rows, float *X, size_t ld, size_t offset,
                                         const promo_context *ctx, promo_encoder_counts *counts,
                                         promo_error *err);

/* ===================================================================== suggestions */

typedef struct promo_encoder_suggest_options {
  size_t max_one_hot_levels; /* more distinct values than this: high cardinality (64) */
  bool prefer_index;         /* high cardinality gets INDEX instead of FREQUENCY */
} promo_encoder_suggest_options;

void promo_encoder_suggest_options_init(promo_encoder_suggest_options *opt);

/* A proposed encoding for one column and the reason, for the CLI to print. */
typedef struct promo_encoder_suggestion {
  promo_encoder_kind kind; /* NONE when the column is skipped */
  uint64_t n_distinct;     /* distinct non-missing values in the rows looked at */
  uint64_t n_missing;
  char reason[160]; /* translated, e.g. "categorical with 12 levels" */
} promo_encoder_suggestion;

/* Propose an encoding for column `column` from its type and distinct count over rows
 * (NULL: every row, and n_rows is ignored). Numbers get STANDARDIZE. Categorical
 * strings, and integers named like an identifier (id, user_id, userId, 编号, 订单号), get
 * ONE_HOT up to max_one_hot_levels distinct values and FREQUENCY (or INDEX) above. TEXT,
 * DATE and DATETIME columns, constant columns and columns with no value are skipped
 * (NONE). Errors: PROMO_ERR_USAGE for a bad column or row index, PROMO_ERR_NOMEM. */
promo_status promo_encoder_suggest(const promo_table *table, size_t column, const size_t *rows,
                                   size_t n_rows, const promo_encoder_suggest_options *opt,
                                   promo_encoder_suggestion *out, promo_error *err);

#ifdef __cplusplus
}
#endif
#endif
