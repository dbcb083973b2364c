/* Unit tests of PCA (feature stage): scikit-learn reference values computed once by
 * tests/fixtures/make_pca.py, component selection, input errors and the JSON round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promo/feature.h"

#define REFERENCE_PATH PROMO_TEST_DATA "/pca/reference.json"

/* Double-precision results (mean, components, variances) agree with scikit-learn to
 * rounding. The transform runs in float32 SGEMM, so its outputs get 1e-5 relative, which
 * is also the absolute bound for values near zero. */
#define TOL_DOUBLE 1e-9
#define TOL_TRANSFORM 1e-5

static json_t *reference;

static int load_reference(void **state) {
  (void)state;
  json_error_t error;
  reference = json_load_file(REFERENCE_PATH, 0, &error);
  if (reference == NULL) fprintf(stderr, "%s:%d: %s\n", REFERENCE_PATH, error.line, error.text);
  return reference == NULL ? -1 : 0;
}

static int free_reference(void **state) {
  (void)state;
  json_decref(reference);
  return 0;
}

/* ===================================================================== helpers */

static const json_t *case_get(const char *name, const char *key) {
  const json_t *value = json_object_get(json_object_get(reference, name), key);
  assert_non_null(value);
  return value;
}

/* Matrix [n_rows x n_cols] of floats from a JSON array of arrays (caller frees). */
static float *matrix_f32(const json_t *rows, size_t *n_rows, size_t *n_cols) {
  *n_rows = json_array_size(rows);
  *n_cols = json_array_size(json_array_get(rows, 0));
  float *m = malloc(*n_rows * *n_cols * sizeof *m);
  assert_non_null(m);
  for (size_t i = 0; i < *n_rows; i++)
    for (size_t j = 0; j < *n_cols; j++)
      m[i * *n_cols + j] = (float)json_number_value(json_array_get(json_array_get(rows, i), j));
  return m;
}

static double json_at(const json_t *array, size_t i) {
  return json_number_value(json_array_get(array, i));
}

static double json_at2(const json_t *rows, size_t i, size_t j) {
  return json_number_value(json_array_get(json_array_get(rows, i), j));
}

static void assert_close(double actual, double expected, double tol, const char *what,
                         size_t i, size_t j) {
  double bound = tol * (fabs(expected) > 1.0 ? fabs(expected) : 1.0);
  if (!(fabs(actual - expected) <= bound)) {
    fail_msg("%s[%zu][%zu]: got %.17g, expected %.17g (tolerance %g)", what, i, j, actual,
             expected, bound);
  }
}

/* Fit one reference case with n_components (0 = all) and the default options otherwise. */
static promo_pca *fit_case(const char *name, size_t n_components, float **X, size_t *n_rows,
                           size_t *n_cols) {
  *X = matrix_f32(case_get(name, "X"), n_rows, n_cols);
  promo_pca_options opt;
  promo_pca_options_init(&opt);
  opt.n_components = n_components;
  promo_pca *pca = NULL;
  promo_error err;
  promo_error_clear(&err);
  promo_status st = promo_pca_fit(*X, *n_rows, *n_cols, *n_cols, &opt, NULL, &pca, &err);
  if (st != PROMO_OK) fail_msg("fit failed: %s", err.message);
  return pca;
}

/* Compare a fitted PCA and its transform of X with the stored reference of a case. */
static void check_against_reference(const char *name, const promo_pca *pca, const float *X,
                                    size_t n_rows) {
  size_t d = promo_pca_n_features(pca), k = promo_pca_n_components(pca);
  for (size_t j = 0; j < d; j++)
    assert_close(promo_pca_mean(pca)[j], json_at(case_get(name, "mean"), j), TOL_DOUBLE, "mean",
                 0, j);
  for (size_t c = 0; c < k; c++) {
    assert_close(promo_pca_explained_variance(pca)[c],
                 json_at(case_get(name, "explained_variance"), c), TOL_DOUBLE,
                 "explained_variance", 0, c);
    assert_close(promo_pca_explained_variance_ratio(pca)[c],
                 json_at(case_get(name, "explained_variance_ratio"), c), TOL_DOUBLE,
                 "explained_variance_ratio", 0, c);
    for (size_t j = 0; j < d; j++)
      assert_close(promo_pca_components(pca)[c * d + j],
                   json_at2(case_get(name, "components"), c, j), TOL_DOUBLE, "components", c,
                   j);
  }

  float *out = malloc(n_rows * k * sizeof *out);
  assert_non_null(out);
  assert_int_equal(promo_pca_transform(pca, X, n_rows, d, out, k, 0, NULL), PROMO_OK);
  for (size_t i = 0; i < n_rows; i++)
    for (size_t c = 0; c < k; c++)
      assert_close(out[i * k + c], json_at2(case_get(name, "transformed"), i, c), TOL_TRANSFORM,
                   "transformed", i, c);
  free(out);
}

/* ===================================================================== reference */

static void test_fit_matches_sklearn(void **state) {
  (void)state;
  float *X;
  size_t n, d;
  promo_pca *pca = fit_case("transactions", 0, &X, &n, &d);
  assert_int_equal(n, 500);
  assert_int_equal(d, 6);
  assert_int_equal(promo_pca_n_components(pca), 6);
  assert_int_equal(promo_pca_n_rows_fit(pca), 500);
  check_against_reference("transactions", pca, X, n);
  promo_pca_free(pca);
  free(X);
}

static void test_fewer_rows_than_columns(void **state) {
  (void)state;
  float *X;
  size_t n, d;
  promo_pca *pca = fit_case("small", 3, &X, &n, &d);
  assert_int_equal(n, 4);
  assert_int_equal(d, 6);
  check_against_reference("small", pca, X, n);
  promo_pca_free(pca);
  free(X);
}

static void test_count_keeps_leading(void **state) {
  (void)state;
  float *X;
  size_t n, d;
  promo_pca *pca = fit_case("transactions", 2, &X, &n, &d);
  assert_int_equal(promo_pca_n_components(pca), 2);
  check_against_reference("transactions", pca, X, n);
  promo_pca_free(pca);
  free(X);
}

static void test_variance_share_selects_k(void **state) {
  (void)state;
  size_t n, d;
  float *X = matrix_f32(case_get("transactions", "X"), &n, &d);
  const json_t *expected = case_get("transactions", "share_n_components");
  const char *key;
  const json_t *value;
  json_object_foreach((json_t *)expected, key, value) {
    promo_pca_options opt;
    promo_pca_options_init(&opt);
    opt.variance_share = strtod(key, NULL);
    promo_pca *pca = NULL;
    assert_int_equal(promo_pca_fit(X, n, d, d, &opt, NULL, &pca, NULL), PROMO_OK);
    if (promo_pca_n_components(pca) != (size_t)json_integer_value(value))
      fail_msg("share %s: kept %zu components, scikit-learn keeps %lld", key,
               promo_pca_n_components(pca), (long long)json_integer_value(value));
    promo_pca_free(pca);
  }

  /* A share of 1 keeps every component, even when rounding leaves the sum below 1. */
  promo_pca_options opt;
  promo_pca_options_init(&opt);
  opt.variance_share = 1.0;
  promo_pca *pca = NULL;
  assert_int_equal(promo_pca_fit(X, n, d, d, &opt, NULL, &pca, NULL), PROMO_OK);
  assert_int_equal(promo_pca_n_components(pca), 6);
  promo_pca_free(pca);
  free(X);
}

static void test_sign_convention(void **state) {
  (void)state;
  float *X;
  size_t n, d;
  promo_pca *pca = fit_case("transactions", 0, &X, &n, &d);
  const double *components = promo_pca_components(pca);
  for (size_t c = 0; c < promo_pca_n_components(pca); c++) {
    const double *v = components + c * d;
    size_t arg_max = 0;
    double norm = 0.0;
    for (size_t j = 0; j < d; j++) {
      if (fabs(v[j]) > fabs(v[arg_max])) arg_max = j;
      norm += v[j] * v[j];
    }
    assert_true(v[arg_max] > 0.0);
    assert_true(fabs(norm - 1.0) < 1e-12);
  }
  promo_pca_free(pca);
  free(X);
}

/* Log sink that keeps the last message. */
static void keep_message(void *user, promo_log_level level, const char *message) {
  (void)level;
  snprintf(user, 256, "%s", message);
}

static void test_fit_logs_and_cancels(void **state) {
  (void)state;
  size_t n, d;
  float *X = matrix_f32(case_get("transactions", "X"), &n, &d);
  char message[256] = "";
  volatile int cancel = 0;
  promo_context ctx;
  promo_context_init(&ctx);
  ctx.log = keep_message;
  ctx.user = message;
  ctx.level = PROMO_LOG_INFO;
  ctx.cancel = &cancel;
  promo_pca_options opt;
  promo_pca_options_init(&opt);
  opt.variance_share = 0.8;
  promo_pca *pca = NULL;
  assert_int_equal(promo_pca_fit(X, n, d, d, &opt, &ctx, &pca, NULL), PROMO_OK);
  assert_string_equal(message, "PCA kept 4 of 6 components (91.46% of the variance), solved "
                               "with dsyrk+dsyevr");
  promo_pca_free(pca);

  cancel = 1;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_pca_fit(X, n, d, d, &opt, &ctx, &pca, &err), PROMO_ERR_CANCELLED);
  assert_null(pca);
  free(X);
}

/* ===================================================================== layout */

static void test_row_stride_and_offset(void **state) {
  (void)state;
  float *X;
  size_t n, d;
  promo_pca *plain = fit_case("transactions", 3, &X, &n, &d);

  /* The same data as columns 2..7 of rows of 9 values, with noise around it. */
  size_t wide = 9;
  float *W = malloc(n * wide * sizeof *W);
  assert_non_null(W);
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < wide; j++) W[i * wide + j] = (float)(i * 31 + j * 7);
    memcpy(W + i * wide + 2, X + i * d, d * sizeof *X);
  }
  promo_pca_options opt;
  promo_pca_options_init(&opt);
  opt.n_components = 3;
  promo_pca *strided = NULL;
  assert_int_equal(promo_pca_fit(W + 2, n, d, wide, &opt, NULL, &strided, NULL), PROMO_OK);
  assert_memory_equal(promo_pca_components(strided), promo_pca_components(plain),
                      3 * d * sizeof(double));

  /* Output columns 4..6 of rows of 8 values; the others keep their sentinel. */
  size_t out_stride = 8, offset = 4;
  float *out = malloc(n * out_stride * sizeof *out);
  float *expected = malloc(n * 3 * sizeof *expected);
  assert_non_null(out);
  assert_non_null(expected);
  for (size_t i = 0; i < n * out_stride; i++) out[i] = -7.0f;
  assert_int_equal(promo_pca_transform(strided, W + 2, n, wide, out, out_stride, offset, NULL),
                   PROMO_OK);
  assert_int_equal(promo_pca_transform(plain, X, n, d, expected, 3, 0, NULL), PROMO_OK);
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < out_stride; j++) {
      if (j >= offset && j < offset + 3)
        assert_true(out[i * out_stride + j] == expected[i * 3 + j - offset]);
      else
        assert_true(out[i * out_stride + j] == -7.0f);
    }
  }

  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_pca_transform(strided, W + 2, n, wide, out, out_stride, 6, &err),
                   PROMO_ERR_USAGE);
  assert_string_equal(err.message, "PCA output columns 7 to 9 do not fit in rows of 8 values");
  free(out);
  free(expected);
  free(W);
  promo_pca_free(strided);
  promo_pca_free(plain);
  free(X);
}

static void test_output_names(void **state) {
  (void)state;
  float *X;
  size_t n, d;
  promo_pca *pca = fit_case("transactions", 2, &X, &n, &d);
  char name[16];
  assert_int_equal(promo_pca_output_name(pca, 0, name, sizeof name), 5);
  assert_string_equal(name, "pca_1");
  assert_int_equal(promo_pca_output_name(pca, 11, name, sizeof name), 6);
  assert_string_equal(name, "pca_12");
  assert_int_equal(promo_pca_output_name(pca, 11, name, 4), 6);
  assert_string_equal(name, "pca");
  promo_pca_free(pca);
  free(X);
}

/* ===================================================================== edge cases */

static void test_constant_column(void **state) {
  (void)state;
  /* Column 1 is constant; columns 0 and 2 vary. */
  const float X[] = {1, 5, 0, 2, 5, 1, 3, 5, 1, 4, 5, 3, 6, 5, 2};
  promo_pca *pca = NULL;
  assert_int_equal(promo_pca_fit(X, 5, 3, 3, NULL, NULL, &pca, NULL), PROMO_OK);
  assert_int_equal(promo_pca_n_components(pca), 3);
  const double *v = promo_pca_components(pca);
  const double *ratio = promo_pca_explained_variance_ratio(pca);
  assert_true(fabs(v[0 * 3 + 1]) < 1e-12);
  assert_true(fabs(v[1 * 3 + 1]) < 1e-12);
  assert_true(fabs(fabs(v[2 * 3 + 1]) - 1.0) < 1e-12);
  assert_true(promo_pca_explained_variance(pca)[2] < 1e-12);
  assert_true(fabs(ratio[0] + ratio[1] + ratio[2] - 1.0) < 1e-12);

  /* Hand-computed: variances of columns 0 and 2 are 3.7 and 1.3, covariance 1.65. */
  double trace = 3.7 + 1.3, det = 3.7 * 1.3 - 1.65 * 1.65;
  double largest = trace / 2 + sqrt(trace * trace / 4 - det);
  assert_true(fabs(promo_pca_explained_variance(pca)[0] - largest) < 1e-12);
  promo_pca_free(pca);
}

static void test_all_constant(void **state) {
  (void)state;
  const float X[] = {2, 7, 2, 7, 2, 7};
  promo_pca_options opt;
  promo_pca_options_init(&opt);
  opt.n_components = 1;
  promo_pca *pca = NULL;
  assert_int_equal(promo_pca_fit(X, 3, 2, 2, &opt, NULL, &pca, NULL), PROMO_OK);
  assert_true(promo_pca_explained_variance(pca)[0] == 0.0);
  assert_true(promo_pca_explained_variance_ratio(pca)[0] == 0.0);
  float out[3];
  assert_int_equal(promo_pca_transform(pca, X, 3, 2, out, 1, 0, NULL), PROMO_OK);
  for (int i = 0; i < 3; i++) assert_true(out[i] == 0.0f);
  promo_pca_free(pca);

  promo_error err;
  promo_error_clear(&err);
  opt.n_components = 0;
  opt.variance_share = 0.9;
  assert_int_equal(promo_pca_fit(X, 3, 2, 2, &opt, NULL, &pca, &err), PROMO_ERR_DATA);
  assert_null(pca);
  assert_non_null(strstr(err.message, "every input column is constant"));
}

static void test_too_few_rows(void **state) {
  (void)state;
  const float X[] = {1, 2, 3};
  promo_pca *pca = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_pca_fit(X, 1, 3, 3, NULL, NULL, &pca, &err), PROMO_ERR_USAGE);
  assert_null(pca);
  assert_string_equal(err.message, "PCA needs at least 2 rows to estimate a covariance, got 1");
  assert_int_equal(promo_pca_fit(X, 0, 3, 3, NULL, NULL, &pca, &err), PROMO_ERR_USAGE);
}

static void test_too_many_components(void **state) {
  (void)state;
  size_t n, d;
  float *X = matrix_f32(case_get("transactions", "X"), &n, &d);
  promo_pca_options opt;
  promo_pca_options_init(&opt);
  opt.n_components = 7;
  promo_pca *pca = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_pca_fit(X, n, d, d, &opt, NULL, &pca, &err), PROMO_ERR_USAGE);
  assert_null(pca);
  assert_string_equal(err.message,
                      "PCA cannot keep 7 components from 6 columns and 500 rows; ask for at "
                      "most 6");

  /* With 4 rows only 4 components exist. */
  opt.n_components = 5;
  assert_int_equal(promo_pca_fit(X, 4, d, d, &opt, NULL, &pca, &err), PROMO_ERR_USAGE);
  assert_string_equal(err.message,
                      "PCA cannot keep 5 components from 6 columns and 4 rows; ask for at most 4");

  opt.n_components = 0;
  opt.variance_share = 1.5;
  assert_int_equal(promo_pca_fit(X, n, d, d, &opt, NULL, &pca, &err), PROMO_ERR_USAGE);
  assert_int_equal(promo_pca_fit(X, n, d, d - 1, NULL, NULL, &pca, &err), PROMO_ERR_USAGE);
  free(X);
}

static void test_nan_names_row_and_column(void **state) {
  (void)state;
  float X[4 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 0, 2};
  X[2 * 3 + 1] = NAN;
  X[3 * 3 + 0] = INFINITY;
  promo_pca *pca = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_pca_fit(X, 4, 3, 3, NULL, NULL, &pca, &err), PROMO_ERR_DATA);
  assert_null(pca);
  assert_string_equal(err.message, "PCA input row 3, column 2: the value is nan; impute or "
                                   "drop missing values before PCA");

  const char *names[] = {"price", "discount", "stock"};
  promo_pca_options opt;
  promo_pca_options_init(&opt);
  opt.feature_names = names;
  promo_error_clear(&err);
  X[2 * 3 + 1] = 8;
  assert_int_equal(promo_pca_fit(X, 4, 3, 3, &opt, NULL, &pca, &err), PROMO_ERR_DATA);
  assert_string_equal(err.message, "PCA input row 4, column 'price': the value is inf; impute "
                                   "or drop missing values before PCA");
  assert_string_equal(err.column_name, "price");
  assert_string_equal(err.value, "inf");
}

static void test_transform_rejects_nan(void **state) {
  (void)state;
  float *X;
  size_t n, d;
  promo_pca *pca = fit_case("transactions", 2, &X, &n, &d);
  X[137 * d + 4] = NAN;
  float *out = calloc(n * 2, sizeof *out);
  assert_non_null(out);
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_pca_transform(pca, X, n, d, out, 2, 0, &err), PROMO_ERR_DATA);
  assert_string_equal(err.message, "PCA input row 138, column 5: the value is nan; impute or "
                                   "drop missing values before PCA");
  free(out);
  promo_pca_free(pca);
  free(X);
}

/* ===================================================================== JSON */

static void test_json_round_trip(void **state) {
  (void)state;
  float *X;
  size_t n, d;
  promo_pca *pca = fit_case("transactions", 4, &X, &n, &d);
  json_t *json = NULL;
  assert_int_equal(promo_pca_to_json(pca, &json), PROMO_OK);
  char *text = json_dumps(json, JSON_COMPACT);
  assert_non_null(text);
  json_decref(json);

  json_error_t json_err;
  json_t *loaded = json_loads(text, 0, &json_err);
  assert_non_null(loaded);
  promo_pca *copy = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_pca_from_json(loaded, &copy, &err), PROMO_OK);
  json_decref(loaded);
  free(text);

  assert_int_equal(promo_pca_n_components(copy), 4);
  assert_int_equal(promo_pca_n_features(copy), 6);
  assert_int_equal(promo_pca_n_rows_fit(copy), 500);
  assert_memory_equal(promo_pca_mean(copy), promo_pca_mean(pca), d * sizeof(double));
  assert_memory_equal(promo_pca_components(copy), promo_pca_components(pca),
                      4 * d * sizeof(double));
  assert_memory_equal(promo_pca_explained_variance_ratio(copy),
                      promo_pca_explained_variance_ratio(pca), 4 * sizeof(double));

  float *a = malloc(n * 4 * sizeof *a), *b = malloc(n * 4 * sizeof *b);
  assert_non_null(a);
  assert_non_null(b);
  assert_int_equal(promo_pca_transform(pca, X, n, d, a, 4, 0, NULL), PROMO_OK);
  assert_int_equal(promo_pca_transform(copy, X, n, d, b, 4, 0, NULL), PROMO_OK);
  assert_memory_equal(a, b, n * 4 * sizeof *a);
  free(a);
  free(b);
  promo_pca_free(copy);
  promo_pca_free(pca);
  free(X);
}

/* Load text as JSON and expect promo_pca_from_json to reject it naming key. */
static void expect_json_rejected(const char *text, const char *key) {
  json_t *json = json_loads(text, 0, NULL);
  assert_non_null(json);
  promo_pca *pca = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_pca_from_json(json, &pca, &err), PROMO_ERR_DATA);
  assert_null(pca);
  assert_string_equal(err.column_name, key);
  json_decref(json);
}

static void test_json_rejects_invalid(void **state) {
  (void)state;
  const char *head = "{\"type\":\"pca\",\"version\":1,\"n_features\":2,\"n_components\":1,"
                     "\"total_variance\":2.0,";
  char text[512];
  expect_json_rejected("{\"type\":\"scaler\"}", "type");
  expect_json_rejected("{\"type\":\"pca\",\"version\":2}", "version");
  expect_json_rejected("{\"type\":\"pca\",\"version\":1,\"n_features\":2,\"n_components\":3}",
                       "n_components");
  snprintf(text, sizeof text,
           "%s\"mean\":[0,1,2],\"components\":[[1,0]],\"explained_variance\":[1],"
           "\"explained_variance_ratio\":[0.5]}",
           head);
  expect_json_rejected(text, "mean");
  snprintf(text, sizeof text,
           "%s\"mean\":[0,1],\"components\":[[1,\"x\"]],\"explained_variance\":[1],"
           "\"explained_variance_ratio\":[0.5]}",
           head);
  expect_json_rejected(text, "components");
  snprintf(text, sizeof text,
           "%s\"mean\":[0,1],\"components\":[[1,0]],\"explained_variance\":[1]}", head);
  expect_json_rejected(text, "explained_variance_ratio");

  /* The same object with every key valid loads. */
  snprintf(text, sizeof text,
           "%s\"mean\":[0,1],\"components\":[[1,0]],\"explained_variance\":[1],"
           "\"explained_variance_ratio\":[0.5]}",
           head);
  json_t *json = json_loads(text, 0, NULL);
  promo_pca *pca = NULL;
  assert_int_equal(promo_pca_from_json(json, &pca, NULL), PROMO_OK);
  assert_int_equal(promo_pca_n_rows_fit(pca), 0);
  const float x[2] = {3.0f, 4.0f};
  float y = 0.0f;
  assert_int_equal(promo_pca_transform(pca, x, 1, 2, &y, 1, 0, NULL), PROMO_OK);
  assert_true(y == 3.0f);
  promo_pca_free(pca);
  json_decref(json);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fit_matches_sklearn),
      cmocka_unit_test(test_fewer_rows_than_columns),
      cmocka_unit_test(test_count_keeps_leading),
      cmocka_unit_test(test_variance_share_selects_k),
      cmocka_unit_test(test_sign_convention),
      cmocka_unit_test(test_fit_logs_and_cancels),
      cmocka_unit_test(test_row_stride_and_offset),
      cmocka_unit_test(test_output_names),
      cmocka_unit_test(test_constant_column),
      cmocka_unit_test(test_all_constant),
      cmocka_unit_test(test_too_few_rows),
      cmocka_unit_test(test_too_many_components),
      cmocka_unit_test(test_nan_names_row_and_column),
      cmocka_unit_test(test_transform_rejects_nan),
      cmocka_unit_test(test_json_round_trip),
      cmocka_unit_test(test_json_rejects_invalid),
  };
  return cmocka_run_group_tests(tests, load_reference, free_reference);
}
