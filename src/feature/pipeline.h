/* Feature stage: the fitted pipeline from a table to the float32 matrix a model trains on.
 * It decides a transform per column (or takes the user's), fits encoders, time, offer and
 * window features and PCA on training rows only, and applies them unchanged later. */
#ifndef PROMO_FEATURE_PIPELINE_H
#define PROMO_FEATURE_PIPELINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feature/encode.h"
#include "feature/window.h"
#include "promo/core.h"
#include "promo/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A transform the user chose for one column. `transform` is one of: the encoder keywords
 * standardize, minmax, robust, log1p, onehot, index, frequency, target; offer (promotion
 * text to numbers); time or time:SPEC (see promo_timefeat_parse_spec); pca (scaled, then
 * projected with the other pca columns); skip. */
typedef struct promo_pipeline_rule {
  const char *column;
  const char *transform;
} promo_pipeline_rule;

typedef struct promo_pipeline_options {
  const char *target;                  /* label column, never a feature; may be NULL */
  const char *const *ignore;           /* columns that are not features (ids, free text) */
  size_t n_ignore;
  const promo_pipeline_rule *rules;
  size_t n_rules;
  bool infer_others;                   /* columns without a rule get a suggested transform */
  const char *time_spec;               /* time features of inferred date columns */
  const char *calendar_path;           /* CSV of extra events (name,date[,end_date]) */
  const char *price_column;            /* unit price for the offers' effective rate */
  bool reject_bad_offers;              /* mark rows with unparsed offers as rejected,
                                          instead of the COL_unknown flag */
  size_t pca_components;               /* 0: choose by pca_variance */
  double pca_variance;                 /* share of variance the PCA keeps */
  const char *const *window_specs;     /* texts for promo_window_spec_parse */
  size_t n_window_specs;
  promo_window_options window;         /* event and row column names for the windows */
  promo_encoder_suggest_options suggest;
} promo_pipeline_options;

/* Defaults: infer every column, time features dow,dom,month,weekend,events, flag bad
 * offers, PCA keeping 95% of the variance. */
void promo_pipeline_options_init(promo_pipeline_options *opt);

typedef struct promo_pipeline promo_pipeline;

/* A feature matrix: [n_rows x n_columns] float32, row-major. rejected is NULL, or
 * [n_rows] with 1 for rows a reject rule marked (their features are still computed). */
typedef struct promo_matrix {
  float *X;
  size_t n_rows;
  size_t n_columns;
  uint8_t *rejected;
  uint64_t n_rejected;
} promo_matrix;

/* Free the matrix's arrays and zero it. */
void promo_matrix_clear(promo_matrix *m);

/* Fit the pipeline on every row of `table` and return the training matrix in *out_matrix.
 * events (may be NULL without window specs) is the behavior log the windows read.
 * Target encoders see out-of-fold statistics in the training matrix. Errors name the
 * column and rule involved: PROMO_ERR_USAGE for a rule or option that cannot apply (an
 * unknown column or transform, a target that is not a number), PROMO_ERR_DATA for values
 * a transform cannot take (a negative value for log1p, an unparsed offer with
 * reject_bad_offers false is not an error). */
promo_status promo_pipeline_fit_transform(const promo_table *table, const promo_table *events,
                                          const promo_pipeline_options *opt,
                                          const promo_context *ctx, promo_pipeline **out,
                                          promo_matrix *out_matrix, promo_error *err);

/* Apply a fitted pipeline to new rows. The table needs every input column the pipeline
 * was fitted on (found by name, extra columns are ignored); unseen categories go to the
 * encoders' "other" level. Errors: PROMO_ERR_DATA for a missing column or a column whose
 * type changed so that it cannot be read. */
promo_status promo_pipeline_transform(const promo_pipeline *pipeline, const promo_table *table,
                                      const promo_table *events, const promo_context *ctx,
                                      promo_matrix *out_matrix, promo_error *err);

void promo_pipeline_free(promo_pipeline *pipeline);

size_t promo_pipeline_n_outputs(const promo_pipeline *pipeline);
/* Output column j's name, and where it comes from ("price: standardize"). Owned by the
 * pipeline. */
const char *promo_pipeline_output_name(const promo_pipeline *pipeline, size_t j);
const char *promo_pipeline_output_source(const promo_pipeline *pipeline, size_t j);

/* The input columns and the types they had in training, for loading new data the same
 * way (promo_load_options). Owned by the pipeline. */
size_t promo_pipeline_n_inputs(const promo_pipeline *pipeline);
const char *promo_pipeline_input_name(const promo_pipeline *pipeline, size_t i);
promo_type promo_pipeline_input_type(const promo_pipeline *pipeline, size_t i);
const char *const *promo_pipeline_input_names(const promo_pipeline *pipeline);
const promo_type *promo_pipeline_input_types(const promo_pipeline *pipeline);

/* One line per column decision of the last fit, translated, e.g. "city: one-hot
 * (categorical with 12 levels)". Owned by the pipeline. */
size_t promo_pipeline_n_decisions(const promo_pipeline *pipeline);
const char *promo_pipeline_decision(const promo_pipeline *pipeline, size_t i);

/* Serialize everything the pipeline learned into a new JSON object (caller's reference).
 * Fails only with PROMO_ERR_NOMEM. */
promo_status promo_pipeline_to_json(const promo_pipeline *pipeline, json_t **out);
/* Rebuild a pipeline whose transform is bit-identical to the original's. PROMO_ERR_DATA
 * names the member that is missing or malformed. */
promo_status promo_pipeline_from_json(const json_t *json, promo_pipeline **out,
                                      promo_error *err);

#ifdef __cplusplus
}
#endif
#endif
