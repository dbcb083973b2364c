/* Tests of the evaluation stage: metrics against scikit-learn fixtures (including ties,
 * constant predictions and single classes), curves, split properties, held-out rows,
 * the target-encoding leakage check and a cross-validation run on the Hillstrom sample. */
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
#include <unistd.h>

#include "promo/data.h"
#include "promo/eval.h"
#include "promo/feature.h"
#include "promo/model.h"

#define FIXTURE_DIR PROMO_TEST_DATA "/../fixtures/eval"
#define TOLERANCE 1e-6

/* ------------------------------------------------------------------ helpers */

static float *float_array(const json_t *values, size_t *n) {
  *n = json_array_size(values);
  float *out = malloc((*n > 0 ? *n : 1) * sizeof *out);
  assert_non_null(out);
  for (size_t i = 0; i < *n; i++) out[i] = (float)json_number_value(json_array_get(values, i));
  return out;
}

/* Compare one metric with its reference: both null, or both numbers within TOLERANCE. */
static void check_metric(const char *case_name, const char *key, const json_t *got, const json_t *want) {
  if (json_is_null(want)) {
    if (!json_is_null(got)) fail_msg("%s: %s should be null (undefined), got a number", case_name, key);
    return;
  }
  if (!json_is_number(got)) fail_msg("%s: %s is missing or null, expected %.9g", case_name, key, json_number_value(want));
  double a = json_number_value(got), b = json_number_value(want);
  if (!(fabs(a - b) <= TOLERANCE)) fail_msg("%s: %s = %.12g, scikit-learn gives %.12g", case_name, key, a, b);
}

/* Check that the notes array names every null metric of the case. */
static void check_notes_cover_nulls(const char *case_name, const json_t *metrics) {
  const json_t *notes = json_object_get(metrics, "notes");
  assert_true(json_is_array(notes));
  const char *key;
  const json_t *value;
  json_object_foreach((json_t *)metrics, key, value) {
    if (!json_is_null(value)) continue;
    bool named = false;
    for (size_t i = 0; i < json_array_size(notes); i++)
      if (strstr(json_string_value(json_array_get(notes, i)), key) != NULL) named = true;
    if (!named) fail_msg("%s: %s is null but no note names it", case_name, key);
  }
}

static void check_binary_calibration(const char *name, const json_t *curves, const json_t *reference) {
  const json_t *bins = json_object_get(curves, "calibration");
  assert_int_equal(json_array_size(bins), 10);
  const json_t *observed = json_object_get(reference, "observed"), *predicted = json_object_get(reference, "predicted");
  size_t k = 0;
  for (size_t b = 0; b < 10; b++) {
    const json_t *bin = json_array_get(bins, b);
    if (json_integer_value(json_object_get(bin, "count")) == 0) continue;
    check_metric(name, "calibration observed", json_object_get(bin, "observed"), json_array_get(observed, k));
    check_metric(name, "calibration predicted", json_object_get(bin, "predicted"), json_array_get(predicted, k));
    k++;
  }
  assert_int_equal(k, json_array_size(observed));
}

static json_t *load_fixture(void) {
  json_error_t error;
  json_t *root = json_load_file(FIXTURE_DIR "/metrics.json", 0, &error);
  if (root == NULL) fail_msg("cannot read %s/metrics.json: %s", FIXTURE_DIR, error.text);
  return root;
}

/* ------------------------------------------------------------------ metrics */

static void metrics_match_sklearn(void **state) {
  (void)state;
  json_t *root = load_fixture();
  const json_t *cases = json_object_get(root, "cases");
  assert_true(json_array_size(cases) >= 15);
  for (size_t c = 0; c < json_array_size(cases); c++) {
    const json_t *tc = json_array_get(cases, c);
    const char *name = json_string_value(json_object_get(tc, "name"));
    promo_task task;
    assert_true(promo_model_task_parse(json_string_value(json_object_get(tc, "task")), &task));
    size_t n = 0, n_pred = 0, n_other = 0;
    float *y = float_array(json_object_get(tc, "y"), &n);
    float *pred = float_array(json_object_get(tc, "pred"), &n_pred);
    assert_int_equal(n, n_pred);

    promo_eval_options opt;
    promo_eval_options_init(&opt);
    if (json_is_number(json_object_get(tc, "threshold"))) opt.threshold = json_number_value(json_object_get(tc, "threshold"));
    int64_t *groups = NULL;
    float *treatment = NULL;
    if (json_is_array(json_object_get(tc, "groups"))) {
      groups = malloc(n * sizeof *groups);
      assert_non_null(groups);
      for (size_t i = 0; i < n; i++) groups[i] = json_integer_value(json_array_get(json_object_get(tc, "groups"), i));
      opt.groups = groups;
    }
    if (json_is_array(json_object_get(tc, "treatment"))) {
      treatment = float_array(json_object_get(tc, "treatment"), &n_other);
      assert_int_equal(n_other, n);
      opt.treatment = treatment;
      opt.uplift_score = pred;
    }

    json_t *metrics = NULL;
    promo_error err;
    promo_error_clear(&err);
    promo_status st = promo_eval_metrics(task, pred, y, n, &opt, &metrics, &err);
    if (st != PROMO_OK) fail_msg("%s: %s", name, err.message);

    const char *key;
    const json_t *want;
    json_object_foreach(json_object_get(tc, "expect"), key, want) {
      check_metric(name, key, json_object_get(metrics, key), want);
    }
    json_object_foreach(json_object_get(tc, "uplift"), key, want) {
      check_metric(name, key, json_object_get(metrics, key), want);
    }
    check_notes_cover_nulls(name, metrics);
    if (task == PROMO_TASK_BINARY)
      check_binary_calibration(name, json_object_get(metrics, "curves"), json_object_get(tc, "calibration"));

    json_decref(metrics);
    free(y);
    free(pred);
    free(groups);
    free(treatment);
  }
  json_decref(root);
}

static void metrics_reject_bad_values(void **state) {
  (void)state;
  float y[3] = {0, 1, 2}, pred[3] = {0.1f, 0.5f, 0.9f};
  json_t *out = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_eval_metrics(PROMO_TASK_BINARY, pred, y, 3, NULL, &out, &err), PROMO_ERR_DATA);
  assert_int_equal(err.line, 3);
  assert_null(out);

  y[2] = 1;
  pred[1] = NAN;
  assert_int_equal(promo_eval_metrics(PROMO_TASK_BINARY, pred, y, 3, NULL, &out, &err), PROMO_ERR_DATA);
  assert_int_equal(err.line, 2);

  pred[1] = 1.5f;
  assert_int_equal(promo_eval_metrics(PROMO_TASK_BINARY, pred, y, 3, NULL, &out, &err), PROMO_ERR_DATA);
  assert_int_equal(promo_eval_metrics(PROMO_TASK_REGRESSION, pred, y, 3, NULL, &out, &err), PROMO_OK);
  json_decref(out);

  y[0] = -1;
  assert_int_equal(promo_eval_metrics(PROMO_TASK_POISSON, pred, y, 3, NULL, &out, &err), PROMO_ERR_DATA);
  assert_int_equal(promo_eval_metrics(PROMO_TASK_REGRESSION, pred, y, 0, NULL, &out, &err), PROMO_ERR_USAGE);

  promo_eval_options opt;
  promo_eval_options_init(&opt);
  float treatment[3] = {0, 1, 3};
  opt.treatment = treatment;
  assert_int_equal(promo_eval_metrics(PROMO_TASK_REGRESSION, pred, y, 3, &opt, &out, &err), PROMO_ERR_DATA);
}

static void single_class_auc_is_undefined(void **state) {
  (void)state;
  float y[4] = {0, 0, 0, 0}, pred[4] = {0.1f, 0.4f, 0.4f, 0.9f};
  assert_true(isnan(promo_eval_roc_auc(pred, y, 4)));
  assert_true(isnan(promo_eval_average_precision(pred, y, 4)));
  /* Two positives tied with two negatives: AUC counts the ties as half. */
  float y2[4] = {0, 1, 0, 1}, tied[4] = {0.5f, 0.5f, 0.5f, 0.5f};
  assert_float_equal(promo_eval_roc_auc(tied, y2, 4), 0.5, 1e-12);
  assert_float_equal(promo_eval_average_precision(tied, y2, 4), 0.5, 1e-12);
}

static void binary_curves_are_thinned(void **state) {
  (void)state;
  size_t n = 5000;
  float *y = malloc(n * sizeof *y), *pred = malloc(n * sizeof *pred);
  assert_non_null(y);
  assert_non_null(pred);
  for (size_t i = 0; i < n; i++) {
    y[i] = (float)(i % 3 == 0);
    pred[i] = (float)((double)((i * 7919) % n) / (double)n);
  }
  json_t *out = NULL;
  promo_error err;
  assert_int_equal(promo_eval_metrics(PROMO_TASK_BINARY, pred, y, n, NULL, &out, &err), PROMO_OK);
  const json_t *curves = json_object_get(out, "curves");
  const json_t *roc = json_object_get(curves, "roc"), *pr = json_object_get(curves, "pr");
  assert_int_equal(json_array_size(roc), 200);
  assert_int_equal(json_array_size(pr), 200);
  const json_t *first = json_array_get(roc, 0), *last = json_array_get(roc, 199);
  assert_float_equal(json_number_value(json_array_get(first, 0)), 0, 0);
  assert_float_equal(json_number_value(json_array_get(last, 0)), 1, 0);
  assert_float_equal(json_number_value(json_array_get(last, 1)), 1, 0);
  const json_t *pr_end = json_array_get(pr, 199);
  assert_float_equal(json_number_value(json_array_get(pr_end, 0)), 0, 0);
  assert_float_equal(json_number_value(json_array_get(pr_end, 1)), 1, 0);
  json_int_t total = 0;
  const json_t *bins = json_object_get(curves, "calibration");
  for (size_t b = 0; b < json_array_size(bins); b++) total += json_integer_value(json_object_get(json_array_get(bins, b), "count"));
  assert_int_equal(total, (json_int_t)n);
  json_decref(out);

  /* Regression: at most 500 scatter points and ten deciles of 500 rows. */
  assert_int_equal(promo_eval_metrics(PROMO_TASK_REGRESSION, pred, y, n, NULL, &out, &err), PROMO_OK);
  curves = json_object_get(out, "curves");
  assert_int_equal(json_array_size(json_object_get(curves, "predicted_vs_actual")), 500);
  bins = json_object_get(curves, "calibration");
  assert_int_equal(json_array_size(bins), 10);
  double previous = -1;
  for (size_t b = 0; b < 10; b++) {
    const json_t *bin = json_array_get(bins, b);
    assert_int_equal(json_integer_value(json_object_get(bin, "count")), 500);
    double mean = json_number_value(json_object_get(bin, "predicted"));
    assert_true(mean > previous);
    previous = mean;
  }
  json_decref(out);
  free(y);
  free(pred);
}

/* ------------------------------------------------------------------ splits */

static void check_every_row_tested_once(const int32_t *fold, size_t n, size_t k) {
  size_t *size = calloc(k, sizeof *size);
  assert_non_null(size);
  for (size_t r = 0; r < n; r++) {
    assert_true(fold[r] >= 0 && (size_t)fold[r] < k);
    size[fold[r]]++;
  }
  for (size_t f = 0; f < k; f++) assert_true(size[f] >= n / k && size[f] <= n / k + 1);
  free(size);
}

static void kfold_is_deterministic(void **state) {
  (void)state;
  size_t n = 103;
  int32_t a[103], b[103], c[103];
  promo_split_options opt;
  promo_split_options_init(&opt);
  promo_error err;
  assert_int_equal(promo_split_assign(&opt, n, NULL, NULL, NULL, a, &err), PROMO_OK);
  assert_int_equal(promo_split_assign(&opt, n, NULL, NULL, NULL, b, &err), PROMO_OK);
  check_every_row_tested_once(a, n, 5);
  assert_memory_equal(a, b, sizeof a);
  opt.seed = 43;
  assert_int_equal(promo_split_assign(&opt, n, NULL, NULL, NULL, c, &err), PROMO_OK);
  check_every_row_tested_once(c, n, 5);
  assert_memory_not_equal(a, c, sizeof a);

  opt.n_folds = 1;
  assert_int_equal(promo_split_assign(&opt, n, NULL, NULL, NULL, c, &err), PROMO_ERR_USAGE);
  opt.n_folds = 200;
  assert_int_equal(promo_split_assign(&opt, n, NULL, NULL, NULL, c, &err), PROMO_ERR_DATA);

  size_t train[103], test[103], n_train, n_test;
  promo_split_fold_rows(a, n, PROMO_SPLIT_KFOLD, 2, train, &n_train, test, &n_test);
  assert_int_equal(n_train + n_test, n);
  for (size_t i = 0; i < n_test; i++) assert_int_equal(a[test[i]], 2);
  for (size_t i = 0; i < n_train; i++) assert_int_not_equal(a[train[i]], 2);
}

static void stratified_keeps_class_shares(void **state) {
  (void)state;
  size_t n = 1000, k = 5;
  float y[1000];
  int32_t fold[1000], other[1000];
  for (size_t r = 0; r < n; r++) y[r] = (float)(r % 10 < 3 || r == 7); /* 301 positives */
  promo_split_options opt;
  promo_split_options_init(&opt);
  opt.kind = PROMO_SPLIT_STRATIFIED;
  promo_error err;
  assert_int_equal(promo_split_assign(&opt, n, y, NULL, NULL, fold, &err), PROMO_OK);
  check_every_row_tested_once(fold, n, k);
  size_t pos[5] = {0};
  for (size_t r = 0; r < n; r++) pos[fold[r]] += y[r] == 1.0f;
  for (size_t f = 0; f < k; f++) assert_true(pos[f] == 60 || pos[f] == 61);
  opt.seed = 7;
  assert_int_equal(promo_split_assign(&opt, n, y, NULL, NULL, other, &err), PROMO_OK);
  assert_memory_not_equal(fold, other, sizeof fold);
  assert_int_equal(promo_split_assign(&opt, n, NULL, NULL, NULL, other, &err), PROMO_ERR_USAGE);
}

static void group_folds_never_split_groups(void **state) {
  (void)state;
  size_t n = 500, k = 4;
  int64_t keys[500];
  int32_t fold[500], again[500];
  for (size_t r = 0; r < n; r++) keys[r] = (int64_t)((r * r) % 37) * 1000 - 5000; /* uneven sizes */
  promo_split_options opt;
  promo_split_options_init(&opt);
  opt.kind = PROMO_SPLIT_GROUP;
  opt.n_folds = k;
  promo_error err;
  assert_int_equal(promo_split_assign(&opt, n, NULL, keys, NULL, fold, &err), PROMO_OK);
  assert_int_equal(promo_split_assign(&opt, n, NULL, keys, NULL, again, &err), PROMO_OK);
  assert_memory_equal(fold, again, sizeof fold);
  size_t size[4] = {0};
  for (size_t r = 0; r < n; r++) {
    assert_true(fold[r] >= 0 && fold[r] < 4);
    size[fold[r]]++;
    for (size_t q = 0; q < r; q++)
      if (keys[q] == keys[r]) assert_int_equal(fold[q], fold[r]);
  }
  for (size_t f = 0; f < k; f++) assert_true(size[f] > 0);

  for (size_t r = 0; r < n; r++) keys[r] = (int64_t)(r % 3);
  assert_int_equal(promo_split_assign(&opt, n, NULL, keys, NULL, fold, &err), PROMO_ERR_DATA);
}

static void time_folds_train_before_test(void **state) {
  (void)state;
  size_t n = 200, k = 4;
  double times[200];
  int32_t fold[200];
  for (size_t r = 0; r < n; r++) times[r] = (double)((r * 37) % 50); /* 4 rows per time */
  promo_split_options opt;
  promo_split_options_init(&opt);
  opt.kind = PROMO_SPLIT_TIME;
  opt.n_folds = k;
  promo_error err;
  assert_int_equal(promo_split_assign(&opt, n, NULL, NULL, times, fold, &err), PROMO_OK);
  size_t train[200], test[200], n_train, n_test, unused = 0;
  for (size_t r = 0; r < n; r++) unused += fold[r] == PROMO_SPLIT_UNUSED;
  assert_true(unused >= n / (k + 1));
  for (int32_t f = 0; f < (int32_t)k; f++) {
    promo_split_fold_rows(fold, n, PROMO_SPLIT_TIME, f, train, &n_train, test, &n_test);
    assert_true(n_test > 0);
    assert_true(n_train >= unused);
    double latest_train = -1, earliest_test = 1e9;
    for (size_t i = 0; i < n_train; i++) latest_train = fmax(latest_train, times[train[i]]);
    for (size_t i = 0; i < n_test; i++) earliest_test = fmin(earliest_test, times[test[i]]);
    assert_true(latest_train < earliest_test);
    /* Expanding window: fold f trains on every row before its block. */
    size_t before = 0;
    for (size_t r = 0; r < n; r++) before += times[r] < earliest_test;
    assert_int_equal(n_train, before);
  }

  for (size_t r = 0; r < n; r++) times[r] = (double)(r % 2);
  assert_int_equal(promo_split_assign(&opt, n, NULL, NULL, times, fold, &err), PROMO_ERR_DATA);
  times[5] = NAN;
  assert_int_equal(promo_split_assign(&opt, n, NULL, NULL, times, fold, &err), PROMO_ERR_DATA);
}

static promo_table *load_csv(const char *text) {
  char path[] = "/tmp/promo_test_eval_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *fp = fdopen(fd, "w");
  assert_non_null(fp);
  fputs(text, fp);
  assert_int_equal(fclose(fp), 0);
  promo_load_options load;
  promo_load_options_init(&load);
  promo_table *t = NULL;
  promo_error err;
  assert_int_equal(promo_table_load(path, &load, NULL, &t, &err), PROMO_OK);
  unlink(path);
  return t;
}

static void holdout_by_share_and_date(void **state) {
  (void)state;
  uint8_t a[50], b[50];
  size_t n_a = 0, n_b = 0;
  promo_error err;
  assert_int_equal(promo_split_holdout_share(50, 0.2, 1, a, &n_a, &err), PROMO_OK);
  assert_int_equal(promo_split_holdout_share(50, 0.2, 1, b, &n_b, &err), PROMO_OK);
  assert_int_equal(n_a, 10);
  assert_memory_equal(a, b, sizeof a);
  size_t marked = 0;
  for (size_t r = 0; r < 50; r++) marked += a[r];
  assert_int_equal(marked, 10);
  assert_int_equal(promo_split_holdout_share(50, 0, 1, a, &n_a, &err), PROMO_ERR_USAGE);
  assert_int_equal(promo_split_holdout_share(50, 1, 1, a, &n_a, &err), PROMO_ERR_USAGE);

  promo_table *t = load_csv("day,x,y\n2024-11-09,1,0\n2024-11-10,2,1\n2024-11-11,3,0\n2024-11-12,4,1\n");
  assert_int_equal(promo_split_holdout_after(t, "day", "2024-11-10", "t.csv", a, &n_a, &err), PROMO_OK);
  assert_int_equal(n_a, 2);
  assert_int_equal(a[0] + a[1], 0);
  assert_int_equal(a[2] + a[3], 2);
  assert_int_equal(promo_split_holdout_after(t, "x", "3", "t.csv", a, &n_a, &err), PROMO_OK);
  assert_int_equal(n_a, 1);
  assert_int_equal(promo_split_holdout_after(t, "day", "2024-12-01", "t.csv", a, &n_a, &err), PROMO_ERR_USAGE);
  assert_int_equal(promo_split_holdout_after(t, "day", "not a date", "t.csv", a, &n_a, &err), PROMO_ERR_USAGE);
  assert_int_equal(promo_split_holdout_after(t, "nope", "2024-11-10", "t.csv", a, &n_a, &err), PROMO_ERR_USAGE);
  promo_table_free(t);
}

/* ------------------------------------------------------------------ leakage */

/* On labels drawn at random, a target-encoded id with few rows per level has no signal.
 * Fitted on all rows, the encoding of a test row contains its own label and scores well
 * above 0.5; fitted on the fold's training rows only, it scores near 0.5. */
static void target_encoding_leaks_outside_folds(void **state) {
  (void)state;
  size_t n = 600;
  char *csv = malloc(n * 24 + 16);
  assert_non_null(csv);
  size_t len = (size_t)sprintf(csv, "shop,y\n");
  uint64_t s = 12345;
  double *target = malloc(n * sizeof *target);
  float *y = malloc(n * sizeof *y), *score = malloc(n * sizeof *score), *y_test = malloc(n * sizeof *y_test);
  assert_true(target != NULL && y != NULL && score != NULL && y_test != NULL);
  for (size_t r = 0; r < n; r++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    target[r] = (double)((s >> 33) & 1);
    y[r] = (float)target[r];
    len += (size_t)sprintf(csv + len, "s%zu,%d\n", r / 3, (int)target[r]);
  }
  promo_table *t = load_csv(csv);
  free(csv);
  int32_t fold[600];
  promo_split_options split;
  promo_split_options_init(&split);
  promo_error err;
  assert_int_equal(promo_split_assign(&split, n, y, NULL, NULL, fold, &err), PROMO_OK);

  promo_encoder_options eopt;
  promo_encoder_options_init(&eopt, PROMO_ENCODER_TARGET);
  eopt.smoothing = 1;
  promo_encoder *outside = NULL;
  assert_int_equal(promo_encoder_fit(t, 0, NULL, n, target, &eopt, NULL, &outside, &err), PROMO_OK);
  double auc_outside = 0, auc_inside = 0;
  size_t train[600], test[600], n_train, n_test;
  for (int32_t f = 0; f < 5; f++) {
    promo_split_fold_rows(fold, n, split.kind, f, train, &n_train, test, &n_test);
    for (size_t i = 0; i < n_test; i++) y_test[i] = y[test[i]];
    assert_int_equal(promo_encoder_transform(outside, t, test, n_test, score, 1, 0, NULL, &err), PROMO_OK);
    auc_outside += promo_eval_roc_auc(score, y_test, n_test) / 5;
    promo_encoder *inside = NULL;
    assert_int_equal(promo_encoder_fit(t, 0, train, n_train, target, &eopt, NULL, &inside, &err), PROMO_OK);
    assert_int_equal(promo_encoder_transform(inside, t, test, n_test, score, 1, 0, NULL, &err), PROMO_OK);
    auc_inside += promo_eval_roc_auc(score, y_test, n_test) / 5;
    promo_encoder_free(inside);
  }
  promo_encoder_free(outside);
  if (!(auc_outside > 0.7)) fail_msg("encoding fitted on all rows scored AUC %.3f, expected a leak above 0.7", auc_outside);
  if (!(fabs(auc_inside - 0.5) < 0.08)) fail_msg("encoding fitted inside folds scored AUC %.3f, expected about 0.5", auc_inside);

  /* The same through cross-validation, which refits the pipeline in every fold. */
  promo_pipeline_rule rule = {"shop", "target"};
  promo_trainer_options topt;
  promo_trainer_options_init(&topt);
  topt.pipeline.target = "y";
  topt.pipeline.rules = &rule;
  topt.pipeline.n_rules = 1;
  topt.nn.task = PROMO_TASK_BINARY;
  topt.nn.n_hidden = 0;
  topt.nn.epochs = 5;
  topt.nn.learning_rate = 0.05;
  promo_context ctx;
  promo_context_init(&ctx);
  json_t *cv = NULL;
  promo_status st = promo_eval_cross_validate(t, y, "shops.csv", &topt, &split, &ctx, &cv, &err);
  if (st != PROMO_OK) fail_msg("cross-validation failed: %s", err.message);
  double mean_auc = json_number_value(json_object_get(json_object_get(cv, "mean"), "auc"));
  if (!(mean_auc < 0.58)) fail_msg("cross-validated AUC on random labels is %.3f, expected about 0.5", mean_auc);
  json_decref(cv);

  promo_table_free(t);
  free(target);
  free(y);
  free(score);
  free(y_test);
}

/* ------------------------------------------------------------------ cross-validation */

static void cv_on_response_sample(void **state) {
  (void)state;
  const char *path = PROMO_TEST_DATA "/response_sample.csv";
  promo_load_options load;
  promo_load_options_init(&load);
  promo_table *t = NULL;
  promo_error err;
  assert_int_equal(promo_table_load(path, &load, NULL, &t, &err), PROMO_OK);
  float *y = malloc(t->n_rows * sizeof *y);
  assert_non_null(y);
  assert_int_equal(promo_model_read_target(t, "visit", path, y, &err), PROMO_OK);

  const char *ignore[] = {"spend", "conversion"};
  promo_trainer_options topt;
  promo_trainer_options_init(&topt);
  topt.pipeline.target = "visit";
  topt.pipeline.ignore = ignore;
  topt.pipeline.n_ignore = 2;
  topt.nn.task = PROMO_TASK_BINARY;
  topt.nn.n_hidden = 1;
  topt.nn.hidden[0] = 8;
  topt.nn.epochs = 15;
  topt.nn.seed = 7;
  promo_split_options split;
  promo_split_options_init(&split);
  split.kind = PROMO_SPLIT_STRATIFIED;
  split.n_folds = 3;
  split.valid_share = 0.2;
  promo_context ctx;
  promo_context_init(&ctx);
  ctx.n_threads = 1;

  json_t *cv = NULL;
  promo_status st = promo_eval_cross_validate(t, y, path, &topt, &split, &ctx, &cv, &err);
  if (st != PROMO_OK) fail_msg("cross-validation failed: %s", err.message);
  const json_t *folds = json_object_get(cv, "folds");
  assert_int_equal(json_array_size(folds), 3);
  json_int_t tested = 0;
  for (size_t f = 0; f < 3; f++) {
    const json_t *fold = json_array_get(folds, f);
    assert_int_equal(json_integer_value(json_object_get(fold, "fold")), (json_int_t)f + 1);
    tested += json_integer_value(json_object_get(fold, "test_rows"));
    assert_true(json_integer_value(json_object_get(fold, "valid_rows")) > 0);
    assert_null(json_object_get(json_object_get(fold, "metrics"), "curves"));
  }
  assert_int_equal(tested, 2000);
  double auc = json_number_value(json_object_get(json_object_get(cv, "mean"), "auc"));
  double sd = json_number_value(json_object_get(json_object_get(cv, "std"), "auc"));
  if (!(auc > 0.55 && auc < 0.9)) fail_msg("mean AUC %.3f outside (0.55, 0.9)", auc);
  assert_true(sd >= 0 && sd < 0.1);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(cv, "defined"), "auc")), 3);
  assert_null(json_object_get(json_object_get(cv, "mean"), "rows"));
  assert_string_equal(json_string_value(json_object_get(json_object_get(cv, "split"), "kind")), "stratified");

  /* Same seed, same numbers. */
  json_t *again = NULL;
  assert_int_equal(promo_eval_cross_validate(t, y, path, &topt, &split, &ctx, &again, &err), PROMO_OK);
  assert_true(json_equal(json_object_get(cv, "mean"), json_object_get(again, "mean")));
  json_decref(again);
  json_decref(cv);

  /* Patience without validation rows is a usage error; a missing group column too. */
  topt.nn.patience = 2;
  split.valid_share = 0;
  assert_int_equal(promo_eval_cross_validate(t, y, path, &topt, &split, &ctx, &cv, &err), PROMO_ERR_USAGE);
  topt.nn.patience = 0;
  split.kind = PROMO_SPLIT_GROUP;
  split.group_column = "no_such_column";
  assert_int_equal(promo_eval_cross_validate(t, y, path, &topt, &split, &ctx, &cv, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "no_such_column"));

  promo_table_free(t);
  free(y);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(metrics_match_sklearn),
      cmocka_unit_test(metrics_reject_bad_values),
      cmocka_unit_test(single_class_auc_is_undefined),
      cmocka_unit_test(binary_curves_are_thinned),
      cmocka_unit_test(kfold_is_deterministic),
      cmocka_unit_test(stratified_keeps_class_shares),
      cmocka_unit_test(group_folds_never_split_groups),
      cmocka_unit_test(time_folds_train_before_test),
      cmocka_unit_test(holdout_by_share_and_date),
      cmocka_unit_test(target_encoding_leaks_outside_folds),
      cmocka_unit_test(cv_on_response_sample),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
