/* Tests of the feature encoders: scalers and one-hot against scikit-learn 1.2 fixtures
 * (tests/fixtures/make_encode.py), hand-computed index, frequency and target encodings,
 * the out-of-fold leakage check, JSON round trips, many-column calls, suggestions and
 * errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first. */
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promo/feature.h"
#include "promo/data.h"

/* ------------------------------------------------------------------ helpers */

/* A table read from CSV text with the given column types. */
static promo_table *table_from_csv(const char *csv, size_t n_columns, const promo_type *types) {
  promo_csv *reader = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_csv_open_memory(csv, strlen(csv), "mem.csv", NULL, &reader, &err),
                   PROMO_OK);
  assert_int_equal(promo_csv_n_columns(reader), n_columns);
  const char *names[16];
  for (size_t c = 0; c < n_columns; c++) names[c] = promo_csv_column_name(reader, c);
  promo_table *table = NULL;
  assert_int_equal(promo_table_create(n_columns, names, types, false, &table), PROMO_OK);
  promo_status status = promo_table_read(table, reader, 0, &err);
  assert_true(status == PROMO_OK || status == PROMO_END);
  promo_csv_close(reader);
  return table;
}

/* The fixture files' columns: store,store_id,quantity,sales_value,retail_disc,week,label. */
static const promo_type kFixtureTypes[] = {
    PROMO_TYPE_CATEGORICAL, PROMO_TYPE_INT, PROMO_TYPE_INT, PROMO_TYPE_DECIMAL,
    PROMO_TYPE_DECIMAL,     PROMO_TYPE_INT, PROMO_TYPE_INT};

static char *slurp(const char *path) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  assert_int_equal(fseek(fp, 0, SEEK_END), 0);
  long size = ftell(fp);
  assert_true(size >= 0);
  rewind(fp);
  char *text = malloc((size_t)size + 1);
  assert_non_null(text);
  assert_int_equal(fread(text, 1, (size_t)size, fp), (size_t)size);
  text[size] = '\0';
  fclose(fp);
  return text;
}

static promo_table *load_fixture(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/encode/%s", PROMO_TEST_DATA, name);
  char *csv = slurp(path);
  promo_table *table = table_from_csv(csv, 7, kFixtureTypes);
  free(csv);
  return table;
}

static size_t column_of(const promo_table *table, const char *name) {
  ptrdiff_t c = promo_table_find(table, name);
  assert_true(c >= 0);
  return (size_t)c;
}

/* Labels of a table's INT column as doubles, indexed by row. */
static double *labels_of(const promo_table *table, const char *name) {
  const promo_column *col = &table->columns[column_of(table, name)];
  double *y = malloc(table->n_rows * sizeof *y);
  assert_non_null(y);
  for (size_t r = 0; r < table->n_rows; r++) y[r] = (double)col->ints[r];
  return y;
}

static promo_encoder *fit_or_fail(const promo_table *table, const char *column,
                                  const promo_encoder_options *opt, const double *target) {
  promo_encoder *enc = NULL;
  promo_error err;
  promo_error_clear(&err);
  promo_status status = promo_encoder_fit(table, column_of(table, column), NULL, table->n_rows,
                                          target, opt, NULL, &enc, &err);
  if (status != PROMO_OK) fail_msg("fit of %s failed: %s", column, err.message);
  assert_non_null(enc);
  return enc;
}

/* Outputs of every row of `table`, [n_rows x n_outputs]; the caller frees. */
static float *transform_or_fail(const promo_encoder *enc, const promo_table *table,
                                promo_encoder_counts *counts) {
  size_t width = promo_encoder_n_outputs(enc);
  float *X = calloc(table->n_rows * width + 1, sizeof *X);
  assert_non_null(X);
  promo_error err;
  promo_error_clear(&err);
  promo_status status =
      promo_encoder_transform(enc, table, NULL, table->n_rows, X, width, 0, counts, &err);
  if (status != PROMO_OK) fail_msg("transform failed: %s", err.message);
  return X;
}

static void assert_close(double got, double want, const char *what, size_t row, size_t col) {
  double tolerance = 1e-6 * (1.0 + fabs(want));
  if (!(fabs(got - want) <= tolerance))
    fail_msg("%s row %zu output %zu: got %.9g, want %.9g", what, row, col, got, want);
}

/* ------------------------------------------------------------------ scikit-learn fixtures */

static void options_from_case(const json_t *c, promo_encoder_options *opt) {
  promo_encoder_kind kind;
  assert_true(promo_encoder_kind_parse(json_string_value(json_object_get(c, "kind")), &kind));
  promo_encoder_options_init(opt, kind);
  const json_t *impute = json_object_get(c, "impute");
  if (impute != NULL)
    assert_true(promo_encoder_impute_parse(json_string_value(impute), &opt->impute));
  if (json_object_get(c, "fill_value") != NULL)
    opt->fill_value = json_number_value(json_object_get(c, "fill_value"));
  if (json_object_get(c, "min_count") != NULL)
    opt->min_count = (uint64_t)json_integer_value(json_object_get(c, "min_count"));
  if (json_object_get(c, "max_levels") != NULL)
    opt->max_levels = (size_t)json_integer_value(json_object_get(c, "max_levels"));
  if (json_object_get(c, "smoothing") != NULL)
    opt->smoothing = json_number_value(json_object_get(c, "smoothing"));
}

/* Compare our outputs with the fixture's, matching output columns by name because
 * scikit-learn orders one-hot columns by sorted category and promo by frequency. */
static void compare_outputs(const promo_encoder *enc, const float *X, const json_t *rows,
                            const json_t *names, const char *what) {
  size_t width = promo_encoder_n_outputs(enc);
  assert_int_equal(json_array_size(names), width);
  for (size_t j = 0; j < width; j++) {
    const char *want_name = json_string_value(json_array_get(names, j));
    size_t ours = width;
    for (size_t k = 0; k < width; k++)
      if (strcmp(promo_encoder_output_name(enc, k), want_name) == 0) ours = k;
    if (ours == width) fail_msg("%s: no output named %s", what, want_name);
    for (size_t i = 0; i < json_array_size(rows); i++) {
      double want = json_number_value(json_array_get(json_array_get(rows, i), j));
      assert_close(X[i * width + ours], want, what, i, j);
    }
  }
}

static void fixtures_match_scikit_learn(void **state) {
  (void)state;
  promo_table *train = load_fixture("train.csv");
  promo_table *predict = load_fixture("predict.csv");
  assert_int_equal(train->n_rows, 100);
  assert_int_equal(predict->n_rows, 100);
  double *y = labels_of(train, "label");
  char path[512];
  snprintf(path, sizeof path, "%s/encode/expected.json", PROMO_TEST_DATA);
  json_error_t jerr;
  json_t *expected = json_load_file(path, 0, &jerr);
  assert_non_null(expected);
  const json_t *cases = json_object_get(expected, "cases");
  assert_int_equal(json_array_size(cases), 22);

  for (size_t k = 0; k < json_array_size(cases); k++) {
    const json_t *c = json_array_get(cases, k);
    promo_encoder_options opt;
    options_from_case(c, &opt);
    const char *column = json_string_value(json_object_get(c, "column"));
    char what[128];
    snprintf(what, sizeof what, "case %zu (%s %s)", k,
             json_string_value(json_object_get(c, "kind")), column);
    promo_encoder *enc = fit_or_fail(train, column, &opt, y);

    const json_t *levels = json_object_get(c, "levels");
    if (json_is_array(levels)) {
      assert_int_equal(promo_encoder_n_levels(enc), json_array_size(levels));
      for (size_t i = 0; i < json_array_size(levels); i++)
        assert_string_equal(promo_encoder_level(enc, i),
                            json_string_value(json_array_get(levels, i)));
    }
    const json_t *names = json_object_get(c, "names");
    if (json_object_get(c, "train") != NULL) {
      float *X = transform_or_fail(enc, train, NULL);
      compare_outputs(enc, X, json_object_get(c, "train"), names, what);
      free(X);
    }
    float *X = transform_or_fail(enc, predict, NULL);
    compare_outputs(enc, X, json_object_get(c, "predict"), names, what);
    free(X);
    promo_encoder_free(enc);
  }
  json_decref(expected);
  free(y);
  promo_table_free(train);
  promo_table_free(predict);
}

/* ------------------------------------------------------------------ numeric scalers */

static const promo_type kOneDecimal[] = {PROMO_TYPE_DECIMAL};

static float transform_one(const promo_encoder *enc, const char *csv,
                           promo_encoder_counts *counts) {
  promo_table *t = table_from_csv(csv, 1, kOneDecimal);
  float *X = transform_or_fail(enc, t, counts);
  float v = X[0];
  free(X);
  promo_table_free(t);
  return v;
}

static void scalers_constant_column_give_zero(void **state) {
  (void)state;
  promo_table *t = table_from_csv("x\n0.1\n0.1\n0.1\n", 1, kOneDecimal);
  promo_encoder_kind kinds[] = {PROMO_ENCODER_STANDARDIZE, PROMO_ENCODER_MINMAX,
                                PROMO_ENCODER_ROBUST, PROMO_ENCODER_LOG_STANDARDIZE};
  for (size_t k = 0; k < 4; k++) {
    promo_encoder_options opt;
    promo_encoder_options_init(&opt, kinds[k]);
    promo_encoder *enc = fit_or_fail(t, "x", &opt, NULL);
    assert_int_equal(promo_encoder_n_outputs(enc), 1);
    float *X = transform_or_fail(enc, t, NULL);
    for (size_t r = 0; r < 3; r++) assert_true(X[r] == 0.0f);
    free(X);
    /* The scale is 1, so an offset of 1 gives exactly 1 (the log kind: log1p units). */
    if (kinds[k] != PROMO_ENCODER_LOG_STANDARDIZE) {
      float v = transform_one(enc, "x\n1.1\n", NULL);
      assert_close(v, 1.0, "constant", 0, 0);
    }
    promo_encoder_free(enc);
  }
  promo_table_free(t);
}

static void robust_quantiles_interpolate(void **state) {
  (void)state;
  /* Values 1..8 (shuffled): q25 = 2.75, median 4.5, q75 = 6.25 (numpy "linear"). */
  promo_table *t = table_from_csv("x\n5\n1\n8\n3\n2\n7\n4\n6\n", 1, kOneDecimal);
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_ROBUST);
  promo_encoder *enc = fit_or_fail(t, "x", &opt, NULL);
  float *X = transform_or_fail(enc, t, NULL);
  assert_close(X[0], (5 - 4.5) / 3.5, "robust", 0, 0);
  assert_close(X[1], (1 - 4.5) / 3.5, "robust", 1, 0);
  assert_close(X[2], (8 - 4.5) / 3.5, "robust", 2, 0);
  free(X);
  promo_encoder_free(enc);
  promo_table_free(t);
}

static void standardize_uses_population_std(void **state) {
  (void)state;
  /* Mean 5, population variance 4 (the classic 2,4,4,4,5,5,7,9 example). */
  promo_table *t = table_from_csv("x\n2\n4\n4\n4\n5\n5\n7\n9\n", 1, kOneDecimal);
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_STANDARDIZE);
  promo_encoder *enc = fit_or_fail(t, "x", &opt, NULL);
  float *X = transform_or_fail(enc, t, NULL);
  assert_close(X[0], -1.5, "standardize", 0, 0);
  assert_close(X[7], 2.0, "standardize", 7, 0);
  free(X);
  promo_encoder_free(enc);
  promo_table_free(t);
}

static void log_rejects_value_below_minus_one(void **state) {
  (void)state;
  promo_table *t = table_from_csv("x\n1\n0\n-1.5\n2\n", 1, kOneDecimal);
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_LOG_STANDARDIZE);
  promo_encoder *enc = (promo_encoder *)1;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_encoder_fit(t, 0, NULL, t->n_rows, NULL, &opt, NULL, &enc, &err),
                   PROMO_ERR_DATA);
  assert_null(enc);
  assert_int_equal(err.line, 4);
  assert_int_equal(err.column, 1);
  assert_string_equal(err.column_name, "x");
  assert_string_equal(err.value, "-1.5");
  assert_non_null(strstr(err.message, "\"x\""));
  assert_non_null(strstr(err.message, "-1.5"));
  promo_table_free(t);

  /* -1 itself is outside the domain too: log1p(-1) is -inf. */
  t = table_from_csv("x\n-1\n", 1, kOneDecimal);
  assert_int_equal(promo_encoder_fit(t, 0, NULL, t->n_rows, NULL, &opt, NULL, &enc, &err),
                   PROMO_ERR_DATA);
  promo_table_free(t);
}

static void log_clips_at_transform(void **state) {
  (void)state;
  promo_table *t = table_from_csv("x\n0\n1\n3\n", 1, kOneDecimal);
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_LOG_STANDARDIZE);
  promo_encoder *enc = fit_or_fail(t, "x", &opt, NULL);
  promo_encoder_counts counts;
  float at_min = transform_one(enc, "x\n0\n", &counts);
  assert_int_equal(counts.n_clipped, 0);
  float clipped = transform_one(enc, "x\n-7\n", &counts);
  assert_int_equal(counts.n_clipped, 1);
  assert_true(clipped == at_min);
  /* Above -1 nothing is clipped, even below the training minimum. */
  float below = transform_one(enc, "x\n-0.5\n", &counts);
  assert_int_equal(counts.n_clipped, 0);
  assert_true(below < at_min);
  promo_encoder_free(enc);
  promo_table_free(t);
}

static void missing_values_imputed_with_indicator(void **state) {
  (void)state;
  promo_table *t = table_from_csv("x\n1\nNA\n3\nNA\n8\n", 1, kOneDecimal);
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_MINMAX);
  opt.impute = PROMO_ENCODER_IMPUTE_MEDIAN;
  promo_encoder *enc = fit_or_fail(t, "x", &opt, NULL);
  assert_int_equal(promo_encoder_n_outputs(enc), 2);
  assert_string_equal(promo_encoder_output_name(enc, 0), "x");
  assert_string_equal(promo_encoder_output_name(enc, 1), "x_missing");
  promo_encoder_counts counts;
  float *X = transform_or_fail(enc, t, &counts);
  assert_int_equal(counts.n_imputed, 2);
  const double want[] = {0, 0, 2.0 / 7, 1, 2.0 / 7, 0, 2.0 / 7, 1, 1, 0};
  for (size_t i = 0; i < 10; i++) assert_close(X[i], want[i], "minmax median", i / 2, i % 2);
  free(X);
  promo_encoder_free(enc);
  promo_table_free(t);

  /* No missing value in training: no indicator, and a later missing value gets the mean. */
  t = table_from_csv("x\n1\n3\n", 1, kOneDecimal);
  promo_encoder_options_init(&opt, PROMO_ENCODER_STANDARDIZE);
  enc = fit_or_fail(t, "x", &opt, NULL);
  assert_int_equal(promo_encoder_n_outputs(enc), 1);
  assert_true(transform_one(enc, "x\nNA\n", &counts) == 0.0f);
  assert_int_equal(counts.n_imputed, 1);
  promo_encoder_free(enc);
  promo_table_free(t);
}

static void scaler_reads_integers_and_dates(void **state) {
  (void)state;
  const promo_type types[] = {PROMO_TYPE_INT, PROMO_TYPE_DATE, PROMO_TYPE_BOOL};
  promo_table *t = table_from_csv("n,day,vip\n1,2024-11-11,true\n3,2024-11-13,false\n", 3, types);
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_MINMAX);
  const char *columns[] = {"n", "day", "vip"};
  const float first[] = {0, 0, 1};
  for (size_t c = 0; c < 3; c++) {
    promo_encoder *enc = fit_or_fail(t, columns[c], &opt, NULL);
    float *X = transform_or_fail(enc, t, NULL);
    assert_close(X[0], first[c], columns[c], 0, 0);
    assert_close(X[1], 1 - first[c], columns[c], 1, 0);
    free(X);
    promo_encoder_free(enc);
  }
  promo_table_free(t);
}

/* ------------------------------------------------------------------ categorical */

static const promo_type kOneCategory[] = {PROMO_TYPE_CATEGORICAL};

static void one_hot_other_and_missing(void **state) {
  (void)state;
  /* a x3, b x2, c x1, one missing; min_count 2 makes c rare. */
  promo_table *t = table_from_csv("city\na\nb\na\nc\nNA\nb\na\n", 1, kOneCategory);
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_ONE_HOT);
  opt.min_count = 2;
  promo_encoder *enc = fit_or_fail(t, "city", &opt, NULL);
  const char *names[] = {"city=a", "city=b", "city=__other__", "city=__missing__"};
  assert_int_equal(promo_encoder_n_outputs(enc), 4);
  for (size_t j = 0; j < 4; j++) assert_string_equal(promo_encoder_output_name(enc, j), names[j]);
  assert_null(promo_encoder_output_name(enc, 4));

  /* A prediction table whose dictionary lists the levels in another order. */
  promo_table *p = table_from_csv("city\nz\nc\nb\nNA\na\n", 1, kOneCategory);
  promo_encoder_counts counts;
  float *X = transform_or_fail(enc, p, &counts);
  const float want[5][4] = {{0, 0, 1, 0}, {0, 0, 1, 0}, {0, 1, 0, 0}, {0, 0, 0, 1}, {1, 0, 0, 0}};
  for (size_t i = 0; i < 5; i++)
    for (size_t j = 0; j < 4; j++) assert_true(X[i * 4 + j] == want[i][j]);
  assert_int_equal(counts.n_other, 2);
  free(X);
  promo_table_free(p);
  promo_encoder_free(enc);
  promo_table_free(t);
}

static void one_hot_defaults_and_max_levels(void **state) {
  (void)state;
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_ONE_HOT);
  assert_int_equal(opt.min_count, 10);
  assert_int_equal(opt.max_levels, 64);

  /* 12 x a, 11 x b, 10 x c, 9 x d: d is rare; max_levels 2 also drops c. */
  char csv[512] = "k\n";
  const char *levels = "abcd";
  for (int l = 0; l < 4; l++)
    for (int n = 0; n < 12 - l; n++)
      snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "%c\n", levels[l]);
  promo_table *t = table_from_csv(csv, 1, kOneCategory);
  promo_encoder *enc = fit_or_fail(t, "k", &opt, NULL);
  assert_int_equal(promo_encoder_n_levels(enc), 3);
  assert_int_equal(promo_encoder_n_outputs(enc), 4); /* a, b, c, other; no missing */
  promo_encoder_free(enc);
  opt.max_levels = 2;
  enc = fit_or_fail(t, "k", &opt, NULL);
  assert_int_equal(promo_encoder_n_levels(enc), 2);
  assert_string_equal(promo_encoder_output_name(enc, 2), "k=__other__");
  promo_encoder_free(enc);
  promo_table_free(t);
}

static void levels_match_by_text_across_types(void **state) {
  (void)state;
  /* Trained on integers, applied to the same values read as text, and the reverse. */
  const promo_type ints[] = {PROMO_TYPE_INT};
  promo_table *as_int = table_from_csv("store\n309\n-5\n309\n", 1, ints);
  promo_table *as_text = table_from_csv("store\n-5\n309\n0309\n", 1, kOneCategory);
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_INDEX);
  opt.min_count = 1;

  promo_encoder *enc = fit_or_fail(as_int, "store", &opt, NULL);
  assert_string_equal(promo_encoder_level(enc, 0), "309");
  assert_string_equal(promo_encoder_level(enc, 1), "-5");
  float *X = transform_or_fail(enc, as_text, NULL);
  assert_true(X[0] == 2.0f && X[1] == 1.0f && X[2] == 0.0f); /* "0309" is another text */
  free(X);
  promo_encoder_free(enc);

  enc = fit_or_fail(as_text, "store", &opt, NULL);
  X = transform_or_fail(enc, as_int, NULL);
  /* Levels by count then text: "-5", "0309", "309" each once. */
  assert_true(X[0] == 3.0f && X[1] == 1.0f && X[2] == 3.0f);
  free(X);
  promo_encoder_free(enc);

  /* Booleans are the levels "true" and "false". */
  const promo_type bools[] = {PROMO_TYPE_BOOL};
  promo_table *flags = table_from_csv("vip\nyes\nno\n是\n", 1, bools);
  promo_table *flag_text = table_from_csv("vip\nfalse\ntrue\nmaybe\n", 1, kOneCategory);
  enc = fit_or_fail(flags, "vip", &opt, NULL);
  assert_string_equal(promo_encoder_level(enc, 0), "true");
  X = transform_or_fail(enc, flag_text, NULL);
  assert_true(X[0] == 2.0f && X[1] == 1.0f && X[2] == 0.0f);
  free(X);
  promo_encoder_free(enc);

  promo_table_free(flags);
  promo_table_free(flag_text);
  promo_table_free(as_int);
  promo_table_free(as_text);
}

/* Integers spanning a narrow range are counted and looked up in arrays, wide ones in a
 * hash table; both paths must give the same levels. */
static void integer_levels_wide_and_narrow(void **state) {
  (void)state;
  const promo_type ints[] = {PROMO_TYPE_INT};
  promo_table *wide = table_from_csv("id\n3\n3\n9\n-2\n1000000000000\n", 1, ints);
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_INDEX);
  opt.min_count = 1;
  promo_encoder *enc = fit_or_fail(wide, "id", &opt, NULL);
  /* "3" twice, then the singletons by byte order: "-2" < "1000000000000" < "9". */
  const char *levels[] = {"3", "-2", "1000000000000", "9"};
  assert_int_equal(promo_encoder_n_levels(enc), 4);
  for (size_t i = 0; i < 4; i++) assert_string_equal(promo_encoder_level(enc, i), levels[i]);

  promo_table *p = table_from_csv("id\n9\n1000000000000\n3\n4\n-2\n", 1, ints);
  float *X = transform_or_fail(enc, p, NULL);
  const float want_wide[] = {4, 3, 1, 0, 2};
  for (size_t i = 0; i < 5; i++) assert_true(X[i] == want_wide[i]);
  free(X);
  promo_table_free(p);

  p = table_from_csv("id\n9\n3\n4\n-2\n", 1, ints);
  X = transform_or_fail(enc, p, NULL);
  const float want_narrow[] = {4, 1, 0, 2};
  for (size_t i = 0; i < 4; i++) assert_true(X[i] == want_narrow[i]);
  free(X);
  promo_table_free(p);
  promo_encoder_free(enc);

  /* The same values without the wide one are counted in an array. */
  promo_table *narrow = table_from_csv("id\n3\n3\n9\n-2\n", 1, ints);
  enc = fit_or_fail(narrow, "id", &opt, NULL);
  assert_int_equal(promo_encoder_n_levels(enc), 3);
  assert_string_equal(promo_encoder_level(enc, 0), "3");
  assert_string_equal(promo_encoder_level(enc, 1), "-2");
  assert_string_equal(promo_encoder_level(enc, 2), "9");
  promo_encoder_free(enc);
  promo_table_free(narrow);
  promo_table_free(wide);
}

static void index_ranks_by_frequency(void **state) {
  (void)state;
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_INDEX);
  assert_int_equal(opt.min_count, 5);
  opt.min_count = 2;
  /* u2 x3, u1 x2, u3 x2, u4 x1 (rare), one missing. */
  promo_table *t = table_from_csv("user\nu3\nu2\nu1\nu2\nu4\nNA\nu1\nu2\nu3\n", 1, kOneCategory);
  promo_encoder *enc = fit_or_fail(t, "user", &opt, NULL);
  assert_int_equal(promo_encoder_n_levels(enc), 3);
  assert_int_equal(promo_encoder_n_outputs(enc), 1);
  assert_string_equal(promo_encoder_output_name(enc, 0), "user");
  float *X = transform_or_fail(enc, t, NULL);
  const float want[] = {3, 1, 2, 1, 0, 0, 2, 1, 3};
  for (size_t i = 0; i < 9; i++) assert_true(X[i] == want[i]);
  free(X);
  promo_encoder_free(enc);
  promo_table_free(t);
}

static void frequency_shares_of_training_rows(void **state) {
  (void)state;
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_FREQUENCY);
  promo_table *t = table_from_csv("item\na\nb\na\nNA\n", 1, kOneCategory);
  promo_encoder *enc = fit_or_fail(t, "item", &opt, NULL);
  assert_string_equal(promo_encoder_output_name(enc, 0), "item_freq");
  promo_table *p = table_from_csv("item\nb\nq\na\nNA\n", 1, kOneCategory);
  promo_encoder_counts counts;
  float *X = transform_or_fail(enc, p, &counts);
  assert_true(X[0] == 0.25f);
  assert_true(X[1] == 0.0f);
  assert_true(X[2] == 0.5f);
  assert_true(X[3] == 0.25f);
  assert_int_equal(counts.n_other, 1);
  free(X);
  promo_table_free(p);
  promo_encoder_free(enc);
  promo_table_free(t);
}

/* ------------------------------------------------------------------ target encoding */

static const char kTargetCsv[] = "k,y\na,1\na,0\na,1\nb,0\nb,0\nc,1\n,1\na,1\n";
static const promo_type kTargetTypes[] = {PROMO_TYPE_CATEGORICAL, PROMO_TYPE_INT};

static void target_full_statistics(void **state) {
  (void)state;
  promo_table *t = table_from_csv(kTargetCsv, 2, kTargetTypes);
  double *y = labels_of(t, "y");
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_TARGET);
  assert_true(opt.smoothing == 10.0);
  assert_int_equal(opt.n_folds, 5);
  opt.smoothing = 2;
  promo_encoder *enc = fit_or_fail(t, "k", &opt, y);
  assert_string_equal(promo_encoder_output_name(enc, 0), "k_target");

  /* prior = 5/8; a: (3 + 2*5/8)/(4 + 2); b: (0 + 1.25)/(2 + 2); c: (1 + 1.25)/3;
   * missing: (1 + 1.25)/3; unseen: the prior. */
  promo_table *p = table_from_csv("k,y\na,0\nb,0\nc,0\n,0\nzz,0\n", 2, kTargetTypes);
  float *X = transform_or_fail(enc, p, NULL);
  assert_true(X[0] == (float)(4.25 / 6));
  assert_true(X[1] == (float)(1.25 / 4));
  assert_true(X[2] == (float)(2.25 / 3));
  assert_true(X[3] == (float)(2.25 / 3));
  assert_true(X[4] == (float)(5.0 / 8));
  free(X);
  promo_table_free(p);
  promo_encoder_free(enc);
  free(y);
  promo_table_free(t);
}

/* With as many folds as rows, each fold is one row whatever the shuffle, so the
 * out-of-fold value is the leave-one-out m-estimate, computed here by hand. */
static void target_out_of_fold_leave_one_out(void **state) {
  (void)state;
  promo_table *t = table_from_csv(kTargetCsv, 2, kTargetTypes);
  double *y = labels_of(t, "y");
  const char *keys[] = {"a", "a", "a", "b", "b", "c", NULL, "a"};
  size_t n = t->n_rows;
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_TARGET);
  opt.smoothing = 2;
  opt.n_folds = n;
  float X[8];
  promo_encoder *enc = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_encoder_fit_transform(t, 0, NULL, n, y, &opt, X, 1, 0, NULL, &enc, &err),
                   PROMO_OK);
  for (size_t i = 0; i < n; i++) {
    double total = 0, sum = 0, count = 0;
    for (size_t k = 0; k < n; k++) {
      if (k == i) continue;
      total += y[k];
      bool same =
          keys[i] == NULL ? keys[k] == NULL : keys[k] != NULL && strcmp(keys[i], keys[k]) == 0;
      if (same) {
        sum += y[k];
        count += 1;
      }
    }
    double prior = total / (double)(n - 1);
    assert_close(X[i], (sum + 2 * prior) / (count + 2), "leave-one-out", i, 0);
  }
  promo_encoder_free(enc);
  free(y);
  promo_table_free(t);
}

/* splitmix64, for test data only. */
static uint64_t test_random(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double correlation(const float *x, const double *y, size_t n) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= (double)n;
  my /= (double)n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxy / sqrt(sxx * syy);
}

/* Area under the ROC curve of score x for 0/1 labels y: the share of (positive,
 * negative) pairs ranked correctly, ties counting one half. */
static double auc(const float *x, const double *y, size_t n) {
  double correct = 0, pairs = 0;
  for (size_t i = 0; i < n; i++) {
    if (y[i] != 1.0) continue;
    for (size_t k = 0; k < n; k++) {
      if (y[k] != 0.0) continue;
      pairs += 1;
      if (x[i] > x[k]) correct += 1.0;
      if (x[i] == x[k]) correct += 0.5;
    }
  }
  return correct / pairs;
}

static void target_out_of_fold_does_not_leak(void **state) {
  (void)state;
  /* 2000 rows, 400 users with 5 rows each, labels that are pure noise. */
  enum { N = 2000, USERS = 400 };
  char *csv = malloc(N * 16 + 16);
  assert_non_null(csv);
  strcpy(csv, "user,y\n");
  uint64_t rng = 2024;
  size_t len = strlen(csv);
  for (size_t i = 0; i < N; i++)
    len += (size_t)sprintf(csv + len, "u%zu,%d\n", i % USERS, (int)(test_random(&rng) >> 63));
  promo_table *t = table_from_csv(csv, 2, kTargetTypes);
  free(csv);
  double *y = labels_of(t, "y");
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_TARGET);
  float *oof = malloc(N * sizeof *oof);
  assert_non_null(oof);
  promo_encoder *enc = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_encoder_fit_transform(t, 0, NULL, N, y, &opt, oof, 1, 0, NULL, &enc, &err),
                   PROMO_OK);
  float *in_sample = transform_or_fail(enc, t, NULL);

  double leaky_auc = auc(in_sample, y, N), fair_auc = auc(oof, y, N);
  double leaky_r = correlation(in_sample, y, N), fair_r = correlation(oof, y, N);
  print_message("in-sample AUC %.3f r %.3f; out-of-fold AUC %.3f r %.3f\n", leaky_auc, leaky_r,
                fair_auc, fair_r);
  assert_true(leaky_auc > 0.6);
  assert_true(leaky_r > 0.2);
  assert_true(fabs(fair_auc - 0.5) < 0.05);
  assert_true(fabs(fair_r) < 0.08);

  /* The same seed gives the same folds; another seed gives other folds. */
  float *again = malloc(N * sizeof *again);
  assert_non_null(again);
  promo_encoder *enc2 = NULL;
  assert_int_equal(
      promo_encoder_fit_transform(t, 0, NULL, N, y, &opt, again, 1, 0, NULL, &enc2, &err),
      PROMO_OK);
  assert_memory_equal(again, oof, N * sizeof *oof);
  promo_encoder_free(enc2);
  opt.seed = 7;
  assert_int_equal(
      promo_encoder_fit_transform(t, 0, NULL, N, y, &opt, again, 1, 0, NULL, &enc2, &err),
      PROMO_OK);
  assert_true(memcmp(again, oof, N * sizeof *oof) != 0);
  promo_encoder_free(enc2);

  free(again);
  free(in_sample);
  free(oof);
  promo_encoder_free(enc);
  free(y);
  promo_table_free(t);
}

static void target_errors(void **state) {
  (void)state;
  promo_table *t = table_from_csv(kTargetCsv, 2, kTargetTypes);
  double *y = labels_of(t, "y");
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_TARGET);
  promo_encoder *enc = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_encoder_fit(t, 0, NULL, t->n_rows, NULL, &opt, NULL, &enc, &err),
                   PROMO_ERR_USAGE);
  y[3] = NAN;
  assert_int_equal(promo_encoder_fit(t, 0, NULL, t->n_rows, y, &opt, NULL, &enc, &err),
                   PROMO_ERR_DATA);
  assert_int_equal(err.line, 5);
  y[3] = 0;
  opt.n_folds = 9;
  assert_int_equal(promo_encoder_fit(t, 0, NULL, t->n_rows, y, &opt, NULL, &enc, &err),
                   PROMO_ERR_DATA);
  opt.n_folds = 1;
  assert_int_equal(promo_encoder_fit(t, 0, NULL, t->n_rows, y, &opt, NULL, &enc, &err),
                   PROMO_ERR_USAGE);
  opt.n_folds = 2;
  opt.smoothing = 0;
  assert_int_equal(promo_encoder_fit(t, 0, NULL, t->n_rows, y, &opt, NULL, &enc, &err),
                   PROMO_ERR_USAGE);
  assert_null(enc);
  free(y);
  promo_table_free(t);
}

/* ------------------------------------------------------------------ JSON round trip */

static void json_round_trip_is_bit_identical(void **state) {
  (void)state;
  promo_table *train = load_fixture("train.csv");
  promo_table *predict = load_fixture("predict.csv");
  double *y = labels_of(train, "label");
  struct {
    promo_encoder_kind kind;
    const char *column;
  } cases[] = {{PROMO_ENCODER_STANDARDIZE, "sales_value"},
               {PROMO_ENCODER_MINMAX, "retail_disc"},
               {PROMO_ENCODER_ROBUST, "sales_value"},
               {PROMO_ENCODER_LOG_STANDARDIZE, "sales_value"},
               {PROMO_ENCODER_ONE_HOT, "store"},
               {PROMO_ENCODER_ONE_HOT, "week"},
               {PROMO_ENCODER_INDEX, "store_id"},
               {PROMO_ENCODER_FREQUENCY, "store"},
               {PROMO_ENCODER_TARGET, "store"},
               {PROMO_ENCODER_TARGET, "store_id"}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    promo_encoder_options opt;
    promo_encoder_options_init(&opt, cases[k].kind);
    opt.min_count = 2;
    opt.seed = UINT64_MAX - 1;
    promo_encoder *enc = fit_or_fail(train, cases[k].column, &opt, y);
    json_t *json = NULL;
    assert_int_equal(promo_encoder_to_json(enc, &json), PROMO_OK);
    char *text = json_dumps(json, JSON_COMPACT);
    assert_non_null(text);
    json_decref(json);

    json_error_t jerr;
    json_t *loaded = json_loads(text, 0, &jerr);
    assert_non_null(loaded);
    promo_encoder *copy = NULL;
    promo_error err;
    promo_error_clear(&err);
    if (promo_encoder_from_json(loaded, &copy, &err) != PROMO_OK)
      fail_msg("from_json of case %zu: %s", k, err.message);
    json_decref(loaded);

    assert_int_equal(promo_encoder_n_outputs(copy), promo_encoder_n_outputs(enc));
    for (size_t j = 0; j < promo_encoder_n_outputs(enc); j++)
      assert_string_equal(promo_encoder_output_name(copy, j), promo_encoder_output_name(enc, j));
    float *a = transform_or_fail(enc, predict, NULL);
    float *b = transform_or_fail(copy, predict, NULL);
    assert_memory_equal(a, b, predict->n_rows * promo_encoder_n_outputs(enc) * sizeof *a);
    free(a);
    free(b);

    /* Writing the copy gives the same text again. */
    assert_int_equal(promo_encoder_to_json(copy, &json), PROMO_OK);
    char *again = json_dumps(json, JSON_COMPACT);
    assert_string_equal(again, text);
    free(again);
    json_decref(json);
    free(text);
    promo_encoder_free(copy);
    promo_encoder_free(enc);
  }
  free(y);
  promo_table_free(train);
  promo_table_free(predict);
}

static void json_rejects_bad_fields(void **state) {
  (void)state;
  struct {
    const char *json;
    const char *field;
  } cases[] = {
      {"[]", "object"},
      {"{\"kind\":\"zscore\",\"column\":\"x\",\"source_type\":\"decimal\"}", "kind"},
      {"{\"kind\":\"standardize\",\"source_type\":\"decimal\"}", "column"},
      {"{\"kind\":\"standardize\",\"column\":\"x\",\"source_type\":\"text\"}", "source_type"},
      {"{\"kind\":\"standardize\",\"column\":\"x\",\"source_type\":\"decimal\","
       "\"n_train_rows\":3,\"n_missing\":0,\"center\":1,\"scale\":0,\"impute_value\":1,"
       "\"fill_value\":0,\"min\":0,\"max\":2,\"impute\":\"mean\"}",
       "scale"},
      {"{\"kind\":\"standardize\",\"column\":\"x\",\"source_type\":\"decimal\","
       "\"n_train_rows\":3,\"n_missing\":0,\"center\":\"1\"}",
       "center"},
      {"{\"kind\":\"one_hot\",\"column\":\"x\",\"source_type\":\"categorical\","
       "\"n_train_rows\":3,\"n_missing\":0,\"levels\":[\"a\",\"a\"],\"counts\":[1,2],"
       "\"min_count\":1,\"max_levels\":0,\"n_rare_levels\":0,\"n_rare_rows\":0}",
       "twice"},
      {"{\"kind\":\"index\",\"column\":\"x\",\"source_type\":\"categorical\","
       "\"n_train_rows\":3,\"n_missing\":0,\"levels\":[\"a\"],\"counts\":[1,2],"
       "\"min_count\":1,\"max_levels\":0,\"n_rare_levels\":0,\"n_rare_rows\":0}",
       "counts"},
      {"{\"kind\":\"target\",\"column\":\"x\",\"source_type\":\"categorical\","
       "\"n_train_rows\":3,\"n_missing\":0,\"levels\":[\"a\"],\"counts\":[3],\"sums\":[1],"
       "\"min_count\":1,\"max_levels\":0,\"n_rare_levels\":0,\"n_rare_rows\":0,"
       "\"missing_sum\":0,\"target_sum\":1,\"smoothing\":10,\"n_folds\":5,\"seed\":\"-1\"}",
       "seed"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    json_error_t jerr;
    json_t *json = json_loads(cases[k].json, 0, &jerr);
    assert_non_null(json);
    promo_encoder *enc = (promo_encoder *)1;
    promo_error err;
    promo_error_clear(&err);
    assert_int_equal(promo_encoder_from_json(json, &enc, &err), PROMO_ERR_DATA);
    assert_null(enc);
    if (strstr(err.message, cases[k].field) == NULL)
      fail_msg("case %zu: message \"%s\" does not name %s", k, err.message, cases[k].field);
    json_decref(json);
  }
}

/* ------------------------------------------------------------------ many columns */

static void fit_all_matches_single_encoders(void **state) {
  (void)state;
  promo_table *train = load_fixture("train.csv");
  promo_table *predict = load_fixture("predict.csv");
  double *y = labels_of(train, "label");
  promo_encoder_request requests[4];
  promo_encoder_options_init(&requests[0].options, PROMO_ENCODER_STANDARDIZE);
  requests[0].column = column_of(train, "sales_value");
  promo_encoder_options_init(&requests[1].options, PROMO_ENCODER_ONE_HOT);
  requests[1].options.min_count = 3;
  requests[1].column = column_of(train, "store");
  promo_encoder_options_init(&requests[2].options, PROMO_ENCODER_TARGET);
  requests[2].column = column_of(train, "store_id");
  promo_encoder_options_init(&requests[3].options, PROMO_ENCODER_ROBUST);
  requests[3].column = column_of(train, "retail_disc");

  promo_context ctx;
  promo_context_init(&ctx);
  ctx.n_threads = 2;
  promo_encoder *encoders[4];
  promo_error err;
  promo_error_clear(&err);
  /* Pass 1: learn the widths. Pass 2: fill a matrix with a spare first and last column. */
  assert_int_equal(promo_encoder_fit_all(train, requests, 4, NULL, train->n_rows, y, NULL, 0, 0,
                                         &ctx, encoders, &err),
                   PROMO_OK);
  size_t width = 0;
  for (size_t k = 0; k < 4; k++) width += promo_encoder_n_outputs(encoders[k]);
  assert_int_equal(width, 2 + 12 + 1 + 1);
  for (size_t k = 0; k < 4; k++) promo_encoder_free(encoders[k]);

  size_t ld = width + 2;
  float *X = malloc(train->n_rows * ld * sizeof *X);
  assert_non_null(X);
  for (size_t i = 0; i < train->n_rows * ld; i++) X[i] = -99.0f;
  assert_int_equal(promo_encoder_fit_all(train, requests, 4, NULL, train->n_rows, y, X, ld, 1, &ctx,
                                         encoders, &err),
                   PROMO_OK);
  size_t offset = 1;
  for (size_t k = 0; k < 4; k++) {
    size_t w = promo_encoder_n_outputs(encoders[k]);
    float *single = malloc(train->n_rows * w * sizeof *single);
    assert_non_null(single);
    promo_encoder *enc = NULL;
    assert_int_equal(
        promo_encoder_fit_transform(train, requests[k].column, NULL, train->n_rows, y,
                                    &requests[k].options, single, w, 0, NULL, &enc, &err),
        PROMO_OK);
    for (size_t i = 0; i < train->n_rows; i++)
      assert_memory_equal(X + i * ld + offset, single + i * w, w * sizeof *single);
    free(single);
    promo_encoder_free(enc);
    offset += w;
  }
  for (size_t i = 0; i < train->n_rows; i++) {
    assert_true(X[i * ld] == -99.0f);
    assert_true(X[i * ld + ld - 1] == -99.0f);
  }

  /* transform_all on new rows equals each encoder's own transform. */
  promo_encoder_counts counts[4];
  assert_int_equal(promo_encoder_transform_all((const promo_encoder *const *)encoders, 4, predict,
                                               NULL, predict->n_rows, X, ld, 1, &ctx, counts, &err),
                   PROMO_OK);
  offset = 1;
  for (size_t k = 0; k < 4; k++) {
    size_t w = promo_encoder_n_outputs(encoders[k]);
    promo_encoder_counts one;
    float *single = transform_or_fail(encoders[k], predict, &one);
    for (size_t i = 0; i < predict->n_rows; i++)
      assert_memory_equal(X + i * ld + offset, single + i * w, w * sizeof *single);
    assert_int_equal(counts[k].n_other, one.n_other);
    assert_int_equal(counts[k].n_imputed, one.n_imputed);
    free(single);
    offset += w;
  }
  assert_true(counts[0].n_imputed > 0);
  assert_true(counts[1].n_other > 0);

  for (size_t k = 0; k < 4; k++) promo_encoder_free(encoders[k]);
  free(X);
  free(y);
  promo_table_free(train);
  promo_table_free(predict);
}

static void fit_all_reports_first_failure(void **state) {
  (void)state;
  promo_table *t = load_fixture("train.csv");
  promo_encoder_request requests[3];
  promo_encoder_options_init(&requests[0].options, PROMO_ENCODER_STANDARDIZE);
  requests[0].column = column_of(t, "quantity");
  promo_encoder_options_init(&requests[1].options, PROMO_ENCODER_STANDARDIZE);
  requests[1].column = column_of(t, "store"); /* text: rejected */
  promo_encoder_options_init(&requests[2].options, PROMO_ENCODER_TARGET);
  requests[2].column = column_of(t, "store"); /* no target: rejected */
  promo_encoder *encoders[3];
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_encoder_fit_all(t, requests, 3, NULL, t->n_rows, NULL, NULL, 0, 0, NULL,
                                         encoders, &err),
                   PROMO_ERR_USAGE);
  assert_string_equal(err.column_name, "store");
  assert_non_null(strstr(err.message, "categorical"));
  for (size_t k = 0; k < 3; k++) assert_null(encoders[k]);
  promo_table_free(t);
}

static void row_subsets_fit_and_transform(void **state) {
  (void)state;
  promo_table *t = table_from_csv("x\n1\n100\n3\n5\n", 1, kOneDecimal);
  const size_t train_rows[] = {0, 2, 3};
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_MINMAX);
  promo_encoder *enc = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_encoder_fit(t, 0, train_rows, 3, NULL, &opt, NULL, &enc, &err), PROMO_OK);
  const size_t some[] = {3, 1};
  float X[2];
  assert_int_equal(promo_encoder_transform(enc, t, some, 2, X, 1, 0, NULL, &err), PROMO_OK);
  assert_true(X[0] == 1.0f);
  assert_close(X[1], 99.0 / 4, "subset", 1, 0);
  const size_t bad[] = {4};
  assert_int_equal(promo_encoder_transform(enc, t, bad, 1, X, 1, 0, NULL, &err), PROMO_ERR_USAGE);
  assert_int_equal(promo_encoder_transform(enc, t, NULL, 3, X, 1, 0, NULL, &err), PROMO_ERR_USAGE);
  promo_encoder_free(enc);
  promo_table_free(t);
}

static void transform_checks_the_column(void **state) {
  (void)state;
  promo_table *t = table_from_csv("x\n1\n2\n", 1, kOneDecimal);
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_STANDARDIZE);
  promo_encoder *enc = fit_or_fail(t, "x", &opt, NULL);
  float X[4];
  promo_error err;
  promo_error_clear(&err);

  promo_table *renamed = table_from_csv("y\n1\n", 1, kOneDecimal);
  assert_int_equal(promo_encoder_transform(enc, renamed, NULL, 1, X, 1, 0, NULL, &err),
                   PROMO_ERR_DATA);
  assert_string_equal(err.column_name, "x");
  assert_non_null(strstr(err.message, "not in the table"));
  promo_table *as_text = table_from_csv("x\nabc\n", 1, kOneCategory);
  assert_int_equal(promo_encoder_transform(enc, as_text, NULL, 1, X, 1, 0, NULL, &err),
                   PROMO_ERR_DATA);
  promo_encoder_free(enc);

  /* A categorical encoder cannot read decimals. */
  promo_encoder_options_init(&opt, PROMO_ENCODER_ONE_HOT);
  enc = fit_or_fail(as_text, "x", &opt, NULL);
  assert_int_equal(promo_encoder_transform(enc, t, NULL, 2, X, 1, 0, NULL, &err), PROMO_ERR_DATA);
  promo_encoder_free(enc);

  promo_encoder *none = (promo_encoder *)1;
  assert_int_equal(promo_encoder_fit(t, 0, NULL, 2, NULL, &opt, NULL, &none, &err),
                   PROMO_ERR_USAGE);
  assert_null(none);
  assert_int_equal(promo_encoder_fit(t, 3, NULL, 2, NULL, &opt, NULL, &none, &err),
                   PROMO_ERR_USAGE);
  promo_table_free(renamed);
  promo_table_free(as_text);
  promo_table_free(t);
}

static void empty_numeric_column_rejected(void **state) {
  (void)state;
  promo_table *t = table_from_csv("x\nNA\nNA\n", 1, kOneDecimal);
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, PROMO_ENCODER_STANDARDIZE);
  promo_encoder *enc = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_encoder_fit(t, 0, NULL, 2, NULL, &opt, NULL, &enc, &err), PROMO_ERR_DATA);
  assert_non_null(strstr(err.message, "no value"));
  promo_table_free(t);
}

/* ------------------------------------------------------------------ suggestions */

static void suggest_by_type_and_cardinality(void **state) {
  (void)state;
  const promo_type types[] = {PROMO_TYPE_INT,  PROMO_TYPE_DECIMAL, PROMO_TYPE_CATEGORICAL,
                              PROMO_TYPE_TEXT, PROMO_TYPE_DATE,    PROMO_TYPE_INT,
                              PROMO_TYPE_INT};
  char csv[8192] = "userId,price,city,note,day,qty,flag\n";
  for (int i = 0; i < 80; i++)
    snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "%d,%d.5,c%d,note %d,2024-01-%02d,%d,1\n",
             i, i, i % 5, i, i % 28 + 1, i % 3);
  promo_table *t = table_from_csv(csv, 7, types);
  promo_encoder_suggest_options opt;
  promo_encoder_suggest_options_init(&opt);
  assert_int_equal(opt.max_one_hot_levels, 64);
  promo_encoder_kind want[] = {
      PROMO_ENCODER_FREQUENCY, PROMO_ENCODER_STANDARDIZE, PROMO_ENCODER_ONE_HOT, PROMO_ENCODER_NONE,
      PROMO_ENCODER_NONE,      PROMO_ENCODER_STANDARDIZE, PROMO_ENCODER_NONE};
  const char *reasons[] = {"more than 64", "numeric",    "5 levels",    "free text",
                           "time",         "3 distinct", "one distinct"};
  for (size_t c = 0; c < 7; c++) {
    promo_encoder_suggestion s;
    promo_error err;
    promo_error_clear(&err);
    assert_int_equal(promo_encoder_suggest(t, c, NULL, 0, &opt, &s, &err), PROMO_OK);
    if (s.kind != want[c] || strstr(s.reason, reasons[c]) == NULL)
      fail_msg("column %zu: got %s (%s)", c, promo_encoder_kind_name(s.kind), s.reason);
  }
  opt.prefer_index = true;
  promo_encoder_suggestion s;
  assert_int_equal(promo_encoder_suggest(t, 0, NULL, 0, &opt, &s, NULL), PROMO_OK);
  assert_int_equal(s.kind, PROMO_ENCODER_INDEX);
  assert_int_equal(s.n_distinct, 80);
  assert_int_equal(promo_encoder_suggest(t, 7, NULL, 0, &opt, &s, NULL), PROMO_ERR_USAGE);
  promo_table_free(t);
}

static void suggest_recognizes_identifier_names(void **state) {
  (void)state;
  const promo_type types[] = {PROMO_TYPE_INT, PROMO_TYPE_INT, PROMO_TYPE_INT,
                              PROMO_TYPE_INT, PROMO_TYPE_INT, PROMO_TYPE_INT};
  promo_table *t =
      table_from_csv("store_id,订单号,userID,paid,id,用户ID\n1,1,1,1,1,1\n2,2,2,2,2,2\n", 6, types);
  const promo_encoder_kind want[] = {PROMO_ENCODER_ONE_HOT, PROMO_ENCODER_ONE_HOT,
                                     PROMO_ENCODER_ONE_HOT, PROMO_ENCODER_STANDARDIZE,
                                     PROMO_ENCODER_ONE_HOT, PROMO_ENCODER_ONE_HOT};
  for (size_t c = 0; c < 6; c++) {
    promo_encoder_suggestion s;
    assert_int_equal(promo_encoder_suggest(t, c, NULL, 0, NULL, &s, NULL), PROMO_OK);
    if (s.kind != want[c])
      fail_msg("column %zu: got %s (%s)", c, promo_encoder_kind_name(s.kind), s.reason);
  }
  promo_table_free(t);
}

static void kind_and_impute_keywords(void **state) {
  (void)state;
  for (int k = 0; k < PROMO_ENCODER_N_KINDS; k++) {
    promo_encoder_kind parsed;
    assert_true(promo_encoder_kind_parse(promo_encoder_kind_name((promo_encoder_kind)k), &parsed));
    assert_int_equal(parsed, k);
  }
  promo_encoder_kind kind;
  assert_false(promo_encoder_kind_parse("zscore", &kind));
  assert_string_equal(promo_encoder_kind_name(PROMO_ENCODER_LOG_STANDARDIZE), "log_standardize");
  promo_encoder_impute impute;
  assert_true(promo_encoder_impute_parse("median", &impute));
  assert_int_equal(impute, PROMO_ENCODER_IMPUTE_MEDIAN);
  assert_false(promo_encoder_impute_parse("mode", &impute));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fixtures_match_scikit_learn),
      cmocka_unit_test(scalers_constant_column_give_zero),
      cmocka_unit_test(robust_quantiles_interpolate),
      cmocka_unit_test(standardize_uses_population_std),
      cmocka_unit_test(log_rejects_value_below_minus_one),
      cmocka_unit_test(log_clips_at_transform),
      cmocka_unit_test(missing_values_imputed_with_indicator),
      cmocka_unit_test(scaler_reads_integers_and_dates),
      cmocka_unit_test(one_hot_other_and_missing),
      cmocka_unit_test(one_hot_defaults_and_max_levels),
      cmocka_unit_test(levels_match_by_text_across_types),
      cmocka_unit_test(integer_levels_wide_and_narrow),
      cmocka_unit_test(index_ranks_by_frequency),
      cmocka_unit_test(frequency_shares_of_training_rows),
      cmocka_unit_test(target_full_statistics),
      cmocka_unit_test(target_out_of_fold_leave_one_out),
      cmocka_unit_test(target_out_of_fold_does_not_leak),
      cmocka_unit_test(target_errors),
      cmocka_unit_test(json_round_trip_is_bit_identical),
      cmocka_unit_test(json_rejects_bad_fields),
      cmocka_unit_test(fit_all_matches_single_encoders),
      cmocka_unit_test(fit_all_reports_first_failure),
      cmocka_unit_test(row_subsets_fit_and_transform),
      cmocka_unit_test(transform_checks_the_column),
      cmocka_unit_test(empty_numeric_column_rejected),
      cmocka_unit_test(suggest_by_type_and_cardinality),
      cmocka_unit_test(suggest_recognizes_identifier_names),
      cmocka_unit_test(kind_and_impute_keywords),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
