/* Evaluation stage: k-fold cross-validation of the trainer. Each fold refits the feature
 * pipeline and the network on its own training rows, so no statistic of a test row
 * (a category's target mean, a scaler's mean) reaches the model that scores it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "eval/internal.h"
#include "promo/eval.h"

/* The buffers of one cross-validation run, released together. */
typedef struct cv_state {
  int32_t *fold;         /* [n] */
  size_t *train, *test;  /* [n] row numbers of the current fold */
  size_t *fit, *valid;   /* [n] training rows split for early stopping */
  uint8_t *is_valid;     /* [n] */
  float *y_fit, *y_valid, *y_test, *pred; /* [n] */
  json_t *folds;
} cv_state;

static void state_clear(cv_state *s) {
  free(s->fold);
  free(s->train);
  free(s->test);
  free(s->fit);
  free(s->valid);
  free(s->is_valid);
  free(s->y_fit);
  free(s->y_valid);
  free(s->y_test);
  free(s->pred);
  json_decref(s->folds);
}

static promo_status state_alloc(cv_state *s, size_t n) {
  size_t m = n > 0 ? n : 1;
  s->fold = malloc(m * sizeof *s->fold);
  s->train = malloc(m * sizeof *s->train);
  s->test = malloc(m * sizeof *s->test);
  s->fit = malloc(m * sizeof *s->fit);
  s->valid = malloc(m * sizeof *s->valid);
  s->is_valid = malloc(m);
  s->y_fit = malloc(m * sizeof *s->y_fit);
  s->y_valid = malloc(m * sizeof *s->y_valid);
  s->y_test = malloc(m * sizeof *s->y_test);
  s->pred = malloc(m * sizeof *s->pred);
  s->folds = json_array();
  bool ok = s->fold && s->train && s->test && s->fit && s->valid && s->is_valid && s->y_fit && s->y_valid &&
            s->y_test && s->pred && s->folds;
  return ok ? PROMO_OK : PROMO_ERR_NOMEM;
}

/* Prefix the error message with the fold, so a failure names where it happened. */
static promo_status fold_error(promo_error *err, promo_status st, size_t f, size_t k) {
  if (err == NULL) return st;
  char message[sizeof err->message];
  snprintf(message, sizeof message, "%s", err->message);
  return promo_error_set(err, st, _("fold %zu of %zu: %s"), f + 1, k, message);
}

/* Split the fold's training rows into rows to fit on and validation rows, or keep them
 * all for fitting when valid_share is 0. */
static promo_status split_training_rows(cv_state *s, size_t n_train, const promo_split_options *split, size_t f,
                                        size_t *n_fit, size_t *n_valid, promo_error *err) {
  *n_valid = 0;
  if (split->valid_share > 0) {
    promo_status st = promo_split_holdout_share(n_train, split->valid_share, split->seed + f, s->is_valid, n_valid,
                                                err);
    if (st != PROMO_OK) return st;
  } else {
    memset(s->is_valid, 0, n_train);
  }
  size_t a = 0, b = 0;
  for (size_t i = 0; i < n_train; i++) {
    if (s->is_valid[i]) s->valid[b++] = s->train[i];
    else s->fit[a++] = s->train[i];
  }
  *n_fit = a;
  return PROMO_OK;
}

/* Train on the fold's rows, predict its test rows and add the fold's entry to s->folds. */
static promo_status run_fold(const promo_table *t, const float *y, const char *path, const promo_trainer_options *topt,
                             const promo_split_options *split, size_t f, promo_context *ctx, cv_state *s,
                             promo_error *err) {
  size_t n_train = 0, n_test = 0, n_fit = 0, n_valid = 0;
  promo_split_fold_rows(s->fold, t->n_rows, split->kind, (int32_t)f, s->train, &n_train, s->test, &n_test);
  if (n_train == 0 || n_test == 0)
    return promo_error_set(err, PROMO_ERR_DATA, "%s", _("the fold has no training rows or no test rows"));
  promo_status st = split_training_rows(s, n_train, split, f, &n_fit, &n_valid, err);
  if (st != PROMO_OK) return st;
  for (size_t i = 0; i < n_fit; i++) s->y_fit[i] = y[s->fit[i]];
  for (size_t i = 0; i < n_valid; i++) s->y_valid[i] = y[s->valid[i]];
  for (size_t i = 0; i < n_test; i++) s->y_test[i] = y[s->test[i]];

  promo_table *fit = NULL, *valid = NULL, *test = NULL;
  promo_trainer_result result;
  memset(&result, 0, sizeof result);
  json_t *metrics = NULL;
  if (promo_table_select(t, s->fit, n_fit, &fit) != PROMO_OK ||
      (n_valid > 0 && promo_table_select(t, s->valid, n_valid, &valid) != PROMO_OK) ||
      promo_table_select(t, s->test, n_test, &test) != PROMO_OK) {
    st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    goto done;
  }
  st = promo_model_fit_tables(fit, s->y_fit, valid, n_valid > 0 ? s->y_valid : NULL, path, topt, ctx, &result, err);
  if (st == PROMO_OK) st = promo_model_predict_table(result.nn, result.pipeline, test, path, ctx, s->pred, err);
  promo_eval_options eopt;
  promo_eval_options_init(&eopt);
  eopt.curves = false;
  if (st == PROMO_OK) st = promo_eval_metrics(topt->nn.task, s->pred, s->y_test, n_test, &eopt, &metrics, err);
  if (st != PROMO_OK) goto done;

  json_t *entry = json_pack("{s:I, s:I, s:I, s:I, s:O}", "fold", (json_int_t)f + 1, "train_rows", (json_int_t)n_fit,
                            "valid_rows", (json_int_t)n_valid, "test_rows", (json_int_t)n_test, "metrics", metrics);
  if (entry == NULL || json_array_append_new(s->folds, entry) != 0)
    st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  const char *headline = topt->nn.task == PROMO_TASK_BINARY ? "auc" : "rmse";
  const json_t *value = json_object_get(metrics, headline);
  promo_log(ctx, PROMO_LOG_INFO, _("fold %zu: %zu training rows, %zu test rows, %s=%.4f"), f + 1, n_fit, n_test,
            headline, json_is_number(value) ? json_number_value(value) : NAN);

done:
  json_decref(metrics);
  promo_trainer_result_clear(&result);
  promo_table_free(fit);
  promo_table_free(valid);
  promo_table_free(test);
  return st;
}

/* Mean, sample standard deviation and count of defined values of every real-valued
 * metric over the folds. Counts (rows, positives) are integers and are skipped, and so
 * is the fixed threshold. */
static promo_status summarize(const json_t *folds, json_t *mean, json_t *std, json_t *defined) {
  const json_t *first = json_object_get(json_array_get(folds, 0), "metrics");
  const char *key;
  const json_t *value;
  json_object_foreach((json_t *)first, key, value) {
    if (!(json_is_real(value) || json_is_null(value)) || strcmp(key, "threshold") == 0) continue;
    double sum = 0, sum_sq = 0, count = 0;
    for (size_t f = 0; f < json_array_size(folds); f++) {
      const json_t *x = json_object_get(json_object_get(json_array_get(folds, f), "metrics"), key);
      if (!json_is_number(x)) continue;
      sum += json_number_value(x);
      count += 1;
    }
    double m = count > 0 ? sum / count : NAN;
    for (size_t f = 0; f < json_array_size(folds); f++) {
      const json_t *x = json_object_get(json_object_get(json_array_get(folds, f), "metrics"), key);
      if (json_is_number(x)) sum_sq += (json_number_value(x) - m) * (json_number_value(x) - m);
    }
    promo_status st = eval_set(mean, key, eval_number(m));
    if (st == PROMO_OK) st = eval_set(std, key, eval_number(count > 1 ? sqrt(sum_sq / (count - 1)) : NAN));
    if (st == PROMO_OK) st = eval_set(defined, key, json_integer((json_int_t)count));
    if (st != PROMO_OK) return st;
  }
  return PROMO_OK;
}

static json_t *split_json(const promo_split_options *split, size_t n_rows) {
  char seed[32];
  snprintf(seed, sizeof seed, "%llu", (unsigned long long)split->seed);
  json_t *obj = json_pack("{s:s, s:I, s:s, s:f, s:I}", "kind", promo_split_kind_name(split->kind), "folds",
                          (json_int_t)split->n_folds, "seed", seed, "valid_share", split->valid_share, "rows",
                          (json_int_t)n_rows);
  if (obj != NULL && split->kind == PROMO_SPLIT_GROUP && split->group_column != NULL &&
      json_object_set_new(obj, "group_column", json_string(split->group_column)) != 0) {
    json_decref(obj);
    return NULL;
  }
  if (obj != NULL && split->kind == PROMO_SPLIT_TIME && split->time_column != NULL &&
      json_object_set_new(obj, "time_column", json_string(split->time_column)) != 0) {
    json_decref(obj);
    return NULL;
  }
  return obj;
}

promo_status promo_eval_cross_validate(const promo_table *t, const float *y, const char *path,
                                       const promo_trainer_options *topt,
                                       const promo_split_options *split, promo_context *ctx,
                                       json_t **out, promo_error *err) {
  *out = NULL;
  if (split->valid_share < 0 || split->valid_share >= 1)
    return promo_error_set(err, PROMO_ERR_USAGE, _("invalid validation share %g; give a number from 0 to below 1"),
                           split->valid_share);
  promo_trainer_options opt = *topt;
  if (split->valid_share == 0) {
    if (opt.nn.patience > 0)
      return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                             _("early stopping (patience) needs validation rows inside each fold; set a "
                               "validation share"));
    opt.nn.restore_best = false;
  }

  cv_state s;
  memset(&s, 0, sizeof s);
  promo_status st = state_alloc(&s, t->n_rows);
  if (st != PROMO_OK) {
    state_clear(&s);
    return promo_error_set(err, st, "%s", _("out of memory"));
  }
  st = promo_split_assign_table(t, y, path, split, s.fold, err);
  size_t k = split->n_folds;
  for (size_t f = 0; st == PROMO_OK && f < k; f++) {
    if (promo_cancelled(ctx)) {
      st = promo_error_set(err, PROMO_ERR_CANCELLED, "%s", _("cancelled"));
      break;
    }
    promo_progress(ctx, "cv", f, k);
    st = run_fold(t, y, path, &opt, split, f, ctx, &s, err);
    if (st != PROMO_OK) st = fold_error(err, st, f, k);
  }
  if (st == PROMO_OK) promo_progress(ctx, "cv", k, k);

  json_t *result = NULL;
  if (st == PROMO_OK) {
    json_t *mean = json_object(), *std = json_object(), *defined = json_object();
    result = json_pack("{s:o, s:O, s:o, s:o, s:o}", "split", split_json(split, t->n_rows), "folds", s.folds,
                       "mean", mean, "std", std, "defined", defined);
    if (result == NULL || summarize(s.folds, mean, std, defined) != PROMO_OK) {
      json_decref(result);
      result = NULL;
      st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    }
  }
  state_clear(&s);
  *out = result;
  return st;
}
