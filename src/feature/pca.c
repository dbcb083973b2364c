/* Principal component analysis for the feature stage. The fit uses LAPACK on scaled
 * numeric columns: an eigendecomposition of the covariance, or an SVD when there are fewer
 * rows than columns. The transform is one SGEMM per block of rows, and fits save to JSON. */
#include <cblas.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "promo/feature.h"

/* Rows per centered block: about 4 MiB of doubles when fitting and 4 MiB of floats when
 * transforming, large enough for BLAS to run at full speed and small enough to stay
 * beside the caller's matrix. */
#define FIT_BLOCK_VALUES ((size_t)1 << 19)
#define TRANSFORM_BLOCK_VALUES ((size_t)1 << 20)
#define MIN_BLOCK_ROWS 64

#define JSON_FORMAT_VERSION 1

struct promo_pca {
  size_t n_features;
  size_t n_components;
  size_t n_rows_fit;
  double total_variance;           /* sum of the column variances, divisor n_rows - 1 */
  double *mean;                    /* [n_features] */
  double *components;              /* [n_components x n_features], row-major */
  double *explained_variance;      /* [n_components] */
  double *explained_variance_ratio; /* [n_components] */
  float *components_f32;           /* [n_components x n_features], what SGEMM reads */
};

/* Eigenpairs of the covariance, largest first, as both solvers return them. */
typedef struct eigen_result {
  size_t n_values;   /* min(n_rows, n_features) for SVD, n_features for dsyevr */
  double *values;    /* [n_values], descending, clamped to >= 0 */
  double *vectors;   /* [n_values x n_features], row-major, unit length */
  double total_variance;
} eigen_result;

void promo_pca_options_init(promo_pca_options *opt) {
  opt->n_components = 0;
  opt->variance_share = 0.0;
  opt->feature_names = NULL;
}

/* ===================================================================== allocation */

/* calloc of n * size bytes that fails cleanly when the product overflows. */
static void *alloc_array(size_t n, size_t size) {
  if (n == 0) n = 1;
  if (size != 0 && n > SIZE_MAX / size) return NULL;
  return calloc(n, size);
}

void promo_pca_free(promo_pca *pca) {
  if (pca == NULL) return;
  free(pca->mean);
  free(pca->components);
  free(pca->explained_variance);
  free(pca->explained_variance_ratio);
  free(pca->components_f32);
  free(pca);
}

/* Allocate a PCA with zeroed arrays of the given sizes, or return NULL when out of memory. */
static promo_pca *pca_alloc(size_t n_features, size_t n_components) {
  promo_pca *pca = calloc(1, sizeof *pca);
  if (pca == NULL) return NULL;
  pca->n_features = n_features;
  pca->n_components = n_components;
  pca->mean = alloc_array(n_features, sizeof(double));
  pca->explained_variance = alloc_array(n_components, sizeof(double));
  pca->explained_variance_ratio = alloc_array(n_components, sizeof(double));
  bool fits = n_components == 0 || n_features <= SIZE_MAX / n_components;
  if (fits) {
    pca->components = alloc_array(n_components * n_features, sizeof(double));
    pca->components_f32 = alloc_array(n_components * n_features, sizeof(float));
  }
  if (pca->mean == NULL || pca->explained_variance == NULL ||
      pca->explained_variance_ratio == NULL || pca->components == NULL ||
      pca->components_f32 == NULL) {
    promo_pca_free(pca);
    return NULL;
  }
  return pca;
}

static promo_status out_of_memory(promo_error *err) {
  return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
}

/* ===================================================================== input checks */

/* Fill the error for a non-finite value at 0-based (row, col). */
static promo_status non_finite_error(promo_error *err, size_t row, size_t col, float value,
                                     const char *const *names) {
  char text[32];
  snprintf(text, sizeof text, "%g", (double)value);
  promo_error_value(err, text, -1);
  if (names != NULL && names[col] != NULL) {
    if (err != NULL) snprintf(err->column_name, sizeof err->column_name, "%s", names[col]);
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("PCA input row %zu, column '%s': the value is %s; impute or drop "
                             "missing values before PCA"),
                           row + 1, names[col], text);
  }
  return promo_error_set(err, PROMO_ERR_DATA,
                         _("PCA input row %zu, column %zu: the value is %s; impute or drop "
                           "missing values before PCA"),
                         row + 1, col + 1, text);
}

/* Column means of X in double, summed row by row. Stops at the first NaN or infinity in
 * row-major order and reports it. */
static promo_status column_means(const float *X, size_t n_rows, size_t n_features,
                                 size_t row_stride, const char *const *names, double *mean,
                                 promo_error *err) {
  for (size_t i = 0; i < n_rows; i++) {
    const float *x = X + i * row_stride;
    for (size_t j = 0; j < n_features; j++) {
      if (!isfinite(x[j])) return non_finite_error(err, i, j, x[j], names);
      mean[j] += (double)x[j];
    }
  }
  for (size_t j = 0; j < n_features; j++) mean[j] /= (double)n_rows;
  return PROMO_OK;
}

static size_t block_rows_for(size_t block_values, size_t n_features, size_t n_rows) {
  size_t rows = block_values / n_features;
  if (rows < MIN_BLOCK_ROWS) rows = MIN_BLOCK_ROWS;
  return rows < n_rows ? rows : n_rows;
}

/* Copy rows [row0, row0 + n) of X minus the mean into A, [n x n_features] double. */
static void center_block_f64(const float *X, size_t row_stride, size_t n_features,
                             const double *mean, size_t row0, size_t n, double *A) {
  for (size_t i = 0; i < n; i++) {
    const float *x = X + (row0 + i) * row_stride;
    double *a = A + i * n_features;
    for (size_t j = 0; j < n_features; j++) a[j] = (double)x[j] - mean[j];
  }
}

/* ===================================================================== solvers */

static void eigen_result_clear(eigen_result *e) {
  free(e->values);
  free(e->vectors);
  memset(e, 0, sizeof *e);
}

static promo_status lapack_error(promo_error *err, const char *routine, lapack_int info) {
  return promo_error_set(err, PROMO_ERR_INTERNAL,
                         _("PCA failed: LAPACK %s returned %d (no convergence or an invalid "
                           "argument)"),
                         routine, (int)info);
}

/* Covariance solver for n_rows >= n_features, O(n_rows * n_features^2): accumulate
 * C = sum of A^T A over centered double blocks with DSYRK, divide by n_rows - 1, then
 * take every eigenpair with DSYEVR. Centering before the product (the two-pass method)
 * keeps the cancellation error of the one-pass E[x^2] - E[x]^2 out of C. */
static promo_status solve_covariance(const float *X, size_t n_rows, size_t n_features,
                                     size_t row_stride, const double *mean,
                                     const promo_context *ctx, eigen_result *result,
                                     promo_error *err) {
  size_t d = n_features;
  size_t block = block_rows_for(FIT_BLOCK_VALUES, d, n_rows);
  promo_status st = PROMO_OK;
  double *cov = alloc_array(d, d * sizeof(double));      /* [d x d], upper triangle used */
  double *A = alloc_array(block, d * sizeof(double));    /* [block x d] centered rows */
  double *w = alloc_array(d, sizeof(double));             /* eigenvalues, ascending */
  double *Z = alloc_array(d, d * sizeof(double));        /* [d x d], eigenvectors in columns */
  lapack_int *support = alloc_array(2 * d, sizeof(lapack_int));
  result->values = alloc_array(d, sizeof(double));
  result->vectors = alloc_array(d, d * sizeof(double));
  if (cov == NULL || A == NULL || w == NULL || Z == NULL || support == NULL ||
      result->values == NULL || result->vectors == NULL) {
    st = out_of_memory(err);
    goto done;
  }

  for (size_t row0 = 0; row0 < n_rows; row0 += block) {
    if (promo_cancelled(ctx)) {
      st = promo_error_set(err, PROMO_ERR_CANCELLED, "%s", _("cancelled"));
      goto done;
    }
    size_t n = n_rows - row0 < block ? n_rows - row0 : block;
    center_block_f64(X, row_stride, d, mean, row0, n, A);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (blasint)d, (blasint)n, 1.0, A,
                (blasint)d, 1.0, cov, (blasint)d);
    promo_progress(ctx, "pca", row0 + n, n_rows);
  }

  double scale = 1.0 / (double)(n_rows - 1);
  result->total_variance = 0.0;
  for (size_t i = 0; i < d; i++) {
    for (size_t j = i; j < d; j++) cov[i * d + j] *= scale;
    result->total_variance += cov[i * d + i];
  }

  lapack_int n_found = 0;
  lapack_int info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'A', 'U', (lapack_int)d, cov,
                                   (lapack_int)d, 0.0, 0.0, 0, 0, LAPACKE_dlamch('S'), &n_found,
                                   w, Z, (lapack_int)d, support);
  if (info != 0 || (size_t)n_found != d) {
    st = lapack_error(err, "dsyevr", info);
    goto done;
  }

  /* dsyevr returns ascending order; turn column d-1-k of Z into row k. */
  result->n_values = d;
  for (size_t k = 0; k < d; k++) {
    size_t src = d - 1 - k;
    result->values[k] = w[src] > 0.0 ? w[src] : 0.0;
    for (size_t j = 0; j < d; j++) result->vectors[k * d + j] = Z[j * d + src];
  }

done:
  free(cov);
  free(A);
  free(w);
  free(Z);
  free(support);
  return st;
}

/* SVD solver for n_rows < n_features: the covariance would be a larger, rank-deficient
 * d x d matrix, so decompose the centered [n_rows x d] data with DGESDD instead. Right
 * singular vectors are the components and s^2 / (n_rows - 1) their variances. */
static promo_status solve_svd(const float *X, size_t n_rows, size_t n_features,
                              size_t row_stride, const double *mean, eigen_result *result,
                              promo_error *err) {
  size_t n = n_rows, d = n_features;
  promo_status st = PROMO_OK;
  double *A = alloc_array(n, d * sizeof(double));   /* [n x d] centered data */
  double *s = alloc_array(n, sizeof(double));       /* singular values, descending */
  double *U = alloc_array(n, n * sizeof(double));   /* [n x n], not used afterwards */
  result->values = alloc_array(n, sizeof(double));
  result->vectors = alloc_array(n, d * sizeof(double)); /* V^T, [n x d] */
  if (A == NULL || s == NULL || U == NULL || result->values == NULL ||
      result->vectors == NULL) {
    st = out_of_memory(err);
    goto done;
  }

  center_block_f64(X, row_stride, d, mean, 0, n, A);
  double sum_squares = 0.0;
  for (size_t i = 0; i < n * d; i++) sum_squares += A[i] * A[i];

  lapack_int info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', (lapack_int)n, (lapack_int)d, A,
                                   (lapack_int)d, s, U, (lapack_int)n, result->vectors,
                                   (lapack_int)d);
  if (info != 0) {
    st = lapack_error(err, "dgesdd", info);
    goto done;
  }

  double scale = 1.0 / (double)(n - 1);
  result->n_values = n;
  result->total_variance = sum_squares * scale;
  for (size_t k = 0; k < n; k++) result->values[k] = s[k] * s[k] * scale;

done:
  free(A);
  free(s);
  free(U);
  return st;
}

/* ===================================================================== fit */

/* The number of components the options ask for, given the eigenvalues. */
static promo_status choose_n_components(const promo_pca_options *opt, const eigen_result *e,
                                        size_t max_components, size_t *k, promo_error *err) {
  if (opt->n_components > 0) {
    *k = opt->n_components;
    return PROMO_OK;
  }
  if (opt->variance_share <= 0.0 || opt->variance_share >= 1.0) {
    *k = max_components;
    return PROMO_OK;
  }
  if (e->total_variance <= 0.0)
    return promo_error_set(err, PROMO_ERR_DATA, "%s",
                           _("PCA cannot keep a share of the variance: every input column is "
                             "constant; drop the constant columns or ask for a component count"));

  /* The smallest k whose cumulative ratio reaches the share. Rounding can leave the full
   * sum just below a share close to 1, in which case every component is kept. */
  double cumulative = 0.0;
  for (size_t i = 0; i < max_components; i++) {
    cumulative += e->values[i] / e->total_variance;
    if (cumulative >= opt->variance_share) {
      *k = i + 1;
      return PROMO_OK;
    }
  }
  *k = max_components;
  return PROMO_OK;
}

static promo_status check_fit_args(const float *X, size_t n_rows, size_t n_features,
                                   size_t row_stride, const promo_pca_options *opt,
                                   promo_error *err) {
  if (n_rows < 2)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("PCA needs at least 2 rows to estimate a covariance, got %zu"),
                           n_rows);
  if (n_features == 0)
    return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("PCA needs at least one input column"));
  if (X == NULL || row_stride < n_features)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("PCA input row stride %zu is smaller than its %zu columns"),
                           row_stride, n_features);
  if (row_stride > INT_MAX)
    return promo_error_set(err, PROMO_ERR_UNSUPPORTED,
                           _("PCA input rows of %zu values exceed the BLAS limit of %d"),
                           row_stride, INT_MAX);
  size_t max_components = n_rows < n_features ? n_rows : n_features;
  if (opt->n_components > max_components)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("PCA cannot keep %zu components from %zu columns and %zu rows; "
                             "ask for at most %zu"),
                           opt->n_components, n_features, n_rows, max_components);
  if (isnan(opt->variance_share) || opt->variance_share < 0.0 || opt->variance_share > 1.0)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("PCA variance share %g is outside (0, 1]"), opt->variance_share);
  return PROMO_OK;
}

/* Copy the first n_components eigenpairs into the PCA with the sign convention applied:
 * each component's entry of largest magnitude (the first on ties) becomes positive, the
 * rule of scikit-learn's svd_flip with u_based_decision=False. */
static void store_components(promo_pca *pca, const eigen_result *e) {
  size_t d = pca->n_features;
  pca->total_variance = e->total_variance;
  for (size_t k = 0; k < pca->n_components; k++) {
    const double *v = e->vectors + k * d;
    size_t arg_max = 0;
    for (size_t j = 1; j < d; j++)
      if (fabs(v[j]) > fabs(v[arg_max])) arg_max = j;
    double sign = v[arg_max] < 0.0 ? -1.0 : 1.0;

    for (size_t j = 0; j < d; j++) {
      pca->components[k * d + j] = sign * v[j];
      pca->components_f32[k * d + j] = (float)(sign * v[j]);
    }
    pca->explained_variance[k] = e->values[k];
    pca->explained_variance_ratio[k] =
        e->total_variance > 0.0 ? e->values[k] / e->total_variance : 0.0;
  }
}

promo_status promo_pca_fit(const float *X, size_t n_rows, size_t n_features, size_t row_stride,
                           const promo_pca_options *opt, const promo_context *ctx,
                           promo_pca **out, promo_error *err) {
  *out = NULL;
  promo_pca_options defaults;
  if (opt == NULL) {
    promo_pca_options_init(&defaults);
    opt = &defaults;
  }
  promo_status st = check_fit_args(X, n_rows, n_features, row_stride, opt, err);
  if (st != PROMO_OK) return st;

  eigen_result eigen = {0};
  double *mean = alloc_array(n_features, sizeof(double));
  if (mean == NULL) return out_of_memory(err);
  st = column_means(X, n_rows, n_features, row_stride, opt->feature_names, mean, err);
  if (st != PROMO_OK) goto done;

  bool use_svd = n_rows < n_features;
  if (use_svd)
    st = solve_svd(X, n_rows, n_features, row_stride, mean, &eigen, err);
  else
    st = solve_covariance(X, n_rows, n_features, row_stride, mean, ctx, &eigen, err);
  if (st != PROMO_OK) goto done;

  size_t k = 0;
  st = choose_n_components(opt, &eigen, eigen.n_values, &k, err);
  if (st != PROMO_OK) goto done;

  promo_pca *pca = pca_alloc(n_features, k);
  if (pca == NULL) {
    st = out_of_memory(err);
    goto done;
  }
  pca->n_rows_fit = n_rows;
  memcpy(pca->mean, mean, n_features * sizeof(double));
  store_components(pca, &eigen);

  if (promo_log_enabled(ctx, PROMO_LOG_INFO)) {
    double kept_share = 0.0;
    for (size_t i = 0; i < k; i++) kept_share += pca->explained_variance_ratio[i];
    promo_log(ctx, PROMO_LOG_INFO,
              _("PCA kept %zu of %zu components (%.2f%% of the variance), solved with %s"), k,
              n_features, 100.0 * kept_share, use_svd ? "dgesdd" : "dsyrk+dsyevr");
  }
  *out = pca;

done:
  free(mean);
  eigen_result_clear(&eigen);
  return st;
}

/* ===================================================================== accessors */

size_t promo_pca_n_features(const promo_pca *pca) {
  return pca->n_features;
}

size_t promo_pca_n_components(const promo_pca *pca) {
  return pca->n_components;
}

size_t promo_pca_n_rows_fit(const promo_pca *pca) {
  return pca->n_rows_fit;
}

const double *promo_pca_mean(const promo_pca *pca) {
  return pca->mean;
}

const double *promo_pca_components(const promo_pca *pca) {
  return pca->components;
}

const double *promo_pca_explained_variance(const promo_pca *pca) {
  return pca->explained_variance;
}

const double *promo_pca_explained_variance_ratio(const promo_pca *pca) {
  return pca->explained_variance_ratio;
}

size_t promo_pca_output_name(const promo_pca *pca, size_t j, char *buf, size_t size) {
  (void)pca;
  int n = snprintf(buf, size, "pca_%zu", j + 1);
  return n < 0 ? 0 : (size_t)n;
}

/* ===================================================================== transform */

/* Copy rows [row0, row0 + n) of X minus the mean into A, [n x d] float, subtracting in
 * double so that large means do not cost float precision. Returns false and the position
 * of the first NaN or infinity it meets. */
static bool center_block_f32(const promo_pca *pca, const float *X, size_t row_stride,
                             size_t row0, size_t n, float *A, size_t *bad_row,
                             size_t *bad_col) {
  size_t d = pca->n_features;
  for (size_t i = 0; i < n; i++) {
    const float *x = X + (row0 + i) * row_stride;
    float *a = A + i * d;
    bool finite = true;
    for (size_t j = 0; j < d; j++) {
      finite &= isfinite(x[j]) != 0;
      a[j] = (float)((double)x[j] - pca->mean[j]);
    }
    if (!finite) {
      for (size_t j = 0; j < d; j++) {
        if (!isfinite(x[j])) {
          *bad_row = row0 + i;
          *bad_col = j;
          return false;
        }
      }
    }
  }
  return true;
}

promo_status promo_pca_transform(const promo_pca *pca, const float *X, size_t n_rows,
                                 size_t row_stride, float *out, size_t out_stride,
                                 size_t out_offset, promo_error *err) {
  size_t d = pca->n_features, k = pca->n_components;
  if (row_stride < d)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("PCA input row stride %zu is smaller than its %zu columns"),
                           row_stride, d);
  if (out_offset > out_stride || k > out_stride - out_offset)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("PCA output columns %zu to %zu do not fit in rows of %zu values"),
                           out_offset + 1, out_offset + k, out_stride);
  if (out_stride > INT_MAX)
    return promo_error_set(err, PROMO_ERR_UNSUPPORTED,
                           _("PCA output rows of %zu values exceed the BLAS limit of %d"),
                           out_stride, INT_MAX);
  if (n_rows == 0) return PROMO_OK;

  size_t block = block_rows_for(TRANSFORM_BLOCK_VALUES, d, n_rows);
  float *A = alloc_array(block, d * sizeof(float)); /* [block x d] centered rows */
  if (A == NULL) return out_of_memory(err);

  promo_status st = PROMO_OK;
  for (size_t row0 = 0; row0 < n_rows; row0 += block) {
    size_t n = n_rows - row0 < block ? n_rows - row0 : block;
    size_t bad_row = 0, bad_col = 0;
    if (!center_block_f32(pca, X, row_stride, row0, n, A, &bad_row, &bad_col)) {
      st = non_finite_error(err, bad_row, bad_col, X[bad_row * row_stride + bad_col], NULL);
      break;
    }
    /* out block [n x k] = A [n x d] @ components^T [d x k] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)n, (blasint)k, (blasint)d,
                1.0f, A, (blasint)d, pca->components_f32, (blasint)d, 0.0f,
                out + row0 * out_stride + out_offset, (blasint)out_stride);
  }
  free(A);
  return st;
}

/* ===================================================================== JSON */

/* A JSON array of n doubles, or NULL when out of memory. */
static json_t *json_doubles(const double *values, size_t n) {
  json_t *array = json_array();
  if (array == NULL) return NULL;
  for (size_t i = 0; i < n; i++) {
    if (json_array_append_new(array, json_real(values[i])) != 0) {
      json_decref(array);
      return NULL;
    }
  }
  return array;
}

promo_status promo_pca_to_json(const promo_pca *pca, json_t **out) {
  *out = NULL;
  size_t d = pca->n_features, k = pca->n_components;
  json_t *components = json_array();
  json_t *root = json_pack("{s:s, s:i, s:I, s:I, s:I, s:f}", "type", "pca", "version",
                           JSON_FORMAT_VERSION, "n_features", (json_int_t)d, "n_components",
                           (json_int_t)k, "n_rows_fit", (json_int_t)pca->n_rows_fit,
                           "total_variance", pca->total_variance);
  if (root == NULL || components == NULL) goto fail;
  for (size_t i = 0; i < k; i++)
    if (json_array_append_new(components, json_doubles(pca->components + i * d, d)) != 0)
      goto fail;
  if (json_object_set_new(root, "mean", json_doubles(pca->mean, d)) != 0 ||
      json_object_set(root, "components", components) != 0 ||
      json_object_set_new(root, "explained_variance",
                          json_doubles(pca->explained_variance, k)) != 0 ||
      json_object_set_new(root, "explained_variance_ratio",
                          json_doubles(pca->explained_variance_ratio, k)) != 0)
    goto fail;
  json_decref(components);
  *out = root;
  return PROMO_OK;

fail:
  json_decref(components);
  json_decref(root);
  return PROMO_ERR_NOMEM;
}

static promo_status json_key_error(promo_error *err, const char *key, const char *expected) {
  if (err != NULL) snprintf(err->column_name, sizeof err->column_name, "%s", key);
  return promo_error_set(err, PROMO_ERR_DATA, _("PCA model key '%s' is missing or invalid: "
                                                "expected %s"),
                         key, expected);
}

/* Read a size from key into *value; it must be an integer from min to max. */
static promo_status json_read_size(const json_t *root, const char *key, size_t min, size_t max,
                                   size_t *value, promo_error *err) {
  const json_t *item = json_object_get(root, key);
  json_int_t v = json_is_integer(item) ? json_integer_value(item) : -1;
  if (v < 0 || (uint64_t)v < min || (uint64_t)v > max)
    return json_key_error(err, key, _("a whole number in range"));
  *value = (size_t)v;
  return PROMO_OK;
}

/* Read exactly n finite numbers from a JSON array into values. */
static bool json_read_doubles(const json_t *array, size_t n, double *values) {
  if (!json_is_array(array) || json_array_size(array) != n) return false;
  for (size_t i = 0; i < n; i++) {
    const json_t *item = json_array_get(array, i);
    if (!json_is_number(item)) return false;
    values[i] = json_number_value(item);
    if (!isfinite(values[i])) return false;
  }
  return true;
}

/* Fill the arrays of an allocated PCA from the JSON object. */
static promo_status json_read_arrays(const json_t *root, promo_pca *pca, promo_error *err) {
  size_t d = pca->n_features, k = pca->n_components;
  if (!json_read_doubles(json_object_get(root, "mean"), d, pca->mean))
    return json_key_error(err, "mean", _("an array of n_features numbers"));
  if (!json_read_doubles(json_object_get(root, "explained_variance"), k,
                         pca->explained_variance))
    return json_key_error(err, "explained_variance", _("an array of n_components numbers"));
  if (!json_read_doubles(json_object_get(root, "explained_variance_ratio"), k,
                         pca->explained_variance_ratio))
    return json_key_error(err, "explained_variance_ratio",
                          _("an array of n_components numbers"));

  const json_t *components = json_object_get(root, "components");
  if (!json_is_array(components) || json_array_size(components) != k)
    return json_key_error(err, "components", _("n_components arrays of n_features numbers"));
  for (size_t i = 0; i < k; i++) {
    if (!json_read_doubles(json_array_get(components, i), d, pca->components + i * d))
      return json_key_error(err, "components", _("n_components arrays of n_features numbers"));
  }
  for (size_t i = 0; i < k * d; i++) pca->components_f32[i] = (float)pca->components[i];
  return PROMO_OK;
}

promo_status promo_pca_from_json(const json_t *json, promo_pca **out, promo_error *err) {
  *out = NULL;
  const json_t *type = json_object_get(json, "type");
  if (!json_is_string(type) || strcmp(json_string_value(type), "pca") != 0)
    return json_key_error(err, "type", "\"pca\"");
  size_t version = 0, d = 0, k = 0, n_rows = 0;
  promo_status st = json_read_size(json, "version", JSON_FORMAT_VERSION, JSON_FORMAT_VERSION,
                                   &version, err);
  if (st == PROMO_OK) st = json_read_size(json, "n_features", 1, SIZE_MAX / 2, &d, err);
  if (st == PROMO_OK) st = json_read_size(json, "n_components", 1, d, &k, err);
  if (st == PROMO_OK && json_object_get(json, "n_rows_fit") != NULL)
    st = json_read_size(json, "n_rows_fit", 0, SIZE_MAX / 2, &n_rows, err);
  if (st != PROMO_OK) return st;
  const json_t *total = json_object_get(json, "total_variance");
  if (!json_is_number(total) || !isfinite(json_number_value(total)) ||
      json_number_value(total) < 0.0)
    return json_key_error(err, "total_variance", _("a number >= 0"));

  promo_pca *pca = pca_alloc(d, k);
  if (pca == NULL) return out_of_memory(err);
  pca->n_rows_fit = n_rows;
  pca->total_variance = json_number_value(total);
  st = json_read_arrays(json, pca, err);
  if (st != PROMO_OK) {
    promo_pca_free(pca);
    return st;
  }
  *out = pca;
  return PROMO_OK;
}
