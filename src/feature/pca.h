/* Principal component analysis for the feature stage: fits a linear projection of
 * already-scaled numeric columns onto their top principal components and applies it to
 * the float32 feature matrix. To be merged into include/promo/feature.h. */
#ifndef PROMO_FEATURE_PCA_H
#define PROMO_FEATURE_PCA_H

#include <jansson.h>
#include <stddef.h>

#include "promo/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A fitted PCA: the column means, the kept components and their explained variance. */
typedef struct promo_pca promo_pca;

/* How many components a fit keeps. With both fields 0 it keeps min(n_rows, n_features). */
typedef struct promo_pca_options {
  /* Number of components to keep, from 1 to min(n_rows, n_features), or 0 to select by
   * variance_share instead. */
  size_t n_components;
  /* Used when n_components is 0 and this is above 0: keep the smallest k whose cumulative
   * explained variance ratio is at least this share, in (0, 1]. A share of 1 keeps every
   * component. */
  double variance_share;
  /* [n_features] column names used in error messages, or NULL for "column <index>". The
   * fit does not keep the pointer. */
  const char *const *feature_names;
} promo_pca_options;

/* Fill options that keep every component. */
void promo_pca_options_init(promo_pca_options *opt);

/* Fit a PCA on X, [n_rows x n_features] float32, row-major with row_stride floats from one
 * row to the next (row_stride >= n_features, so X may be a column block of a wider
 * matrix).
 *
 * The fit centers each column in double precision and then decomposes either the
 * covariance X^T X / (n_rows - 1) with dsyevr (n_rows >= n_features) or the centered data
 * with dgesdd (fewer rows than columns). Components come sorted by explained variance,
 * largest first. Each component's sign makes its entry of largest magnitude positive
 * (the first such entry on ties), so refits on the same data give the same signs.
 * Constant columns are allowed. When every column is constant, the variance ratios are 0
 * and a variance_share request fails.
 *
 * Errors: PROMO_ERR_USAGE for n_rows < 2, n_features 0, row_stride < n_features, or a
 * component count above min(n_rows, n_features); PROMO_ERR_DATA naming the 1-based row
 * and the column when a value is NaN or infinite (err->column_name gets the column's
 * name when feature_names is given); PROMO_ERR_UNSUPPORTED for a row_stride above
 * INT_MAX, the BLAS index limit; PROMO_ERR_NOMEM; PROMO_ERR_CANCELLED; and
 * PROMO_ERR_INTERNAL if LAPACK fails to converge. ctx may be NULL. On success *out owns
 * the new object; free it with promo_pca_free. */
promo_status promo_pca_fit(const float *X, size_t n_rows, size_t n_features, size_t row_stride,
                           const promo_pca_options *opt, const promo_context *ctx,
                           promo_pca **out, promo_error *err);

/* Free a PCA. Accepts NULL. */
void promo_pca_free(promo_pca *pca);

size_t promo_pca_n_features(const promo_pca *pca);
size_t promo_pca_n_components(const promo_pca *pca);
/* Number of rows the PCA was fitted on (0 after promo_pca_from_json of a model that did
 * not record it). */
size_t promo_pca_n_rows_fit(const promo_pca *pca);

/* Learned arrays, owned by the PCA and valid until promo_pca_free.
 * mean: [n_features]. components: [n_components x n_features], row-major, one unit-length
 * component per row. explained_variance: [n_components], eigenvalues of the covariance
 * (divisor n_rows - 1), negative rounding noise clamped to 0. explained_variance_ratio:
 * [n_components], each variance over the total variance of all columns. */
const double *promo_pca_mean(const promo_pca *pca);
const double *promo_pca_components(const promo_pca *pca);
const double *promo_pca_explained_variance(const promo_pca *pca);
const double *promo_pca_explained_variance_ratio(const promo_pca *pca);

/* Write the name of output column j (0-based), "pca_<j + 1>", into buf. Returns the
 * length the full name needs, as snprintf does, so a return >= size means it was cut. */
size_t promo_pca_output_name(const promo_pca *pca, size_t j, char *buf, size_t size);

/* Project X, [n_rows x n_features] float32 with row_stride, onto the components:
 * (x - mean) @ components^T. Row i's n_components outputs go to
 * out[i * out_stride + out_offset ...], a column block of the caller's feature matrix.
 * Other columns of out are untouched. X and out must not overlap.
 *
 * Errors: PROMO_ERR_USAGE when row_stride < n_features or out_offset + n_components >
 * out_stride; PROMO_ERR_UNSUPPORTED for an out_stride above INT_MAX; PROMO_ERR_DATA
 * naming the 1-based row and column of the first NaN or infinite input, in which case
 * rows before its block of rows may already be written; PROMO_ERR_NOMEM. */
promo_status promo_pca_transform(const promo_pca *pca, const float *X, size_t n_rows,
                                 size_t row_stride, float *out, size_t out_stride,
                                 size_t out_offset, promo_error *err);

/* Serialize everything the transform needs as a JSON object (doubles are written with
 * 17 significant digits by jansson's default dump settings, so a dump and load with those
 * settings gives a bit-identical transform). On success *out is a new reference the
 * caller must json_decref. Errors: PROMO_ERR_NOMEM. */
promo_status promo_pca_to_json(const promo_pca *pca, json_t **out);

/* Rebuild a PCA from promo_pca_to_json's object. Errors: PROMO_ERR_DATA with a message
 * naming the missing or invalid key (wrong type, shape or a non-finite number);
 * PROMO_ERR_NOMEM. json stays owned by the caller. */
promo_status promo_pca_from_json(const json_t *json, promo_pca **out, promo_error *err);

#ifdef __cplusplus
}
#endif
#endif
