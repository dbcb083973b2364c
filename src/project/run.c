/* `promo run`: drives the stages of a project — clean, train, evaluate, plan, report —
 * into one output folder, each stage's files written atomically. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/intl.h"
#include "project/project_internal.h"
#include "promo/eval.h"
#include "promo/plan.h"
#include "promo/report.h"

static const char *const file_names[RUN_N_FILES] = {
    "cleaned.csv",    "rejects.csv", "quality.json", "model.promo", "metrics.json", "predictions.csv",
    "plan_units.csv", "plan.csv",    "plan.json",    "report.json", "report.html"};

static const char *const stage_names[PROMO_STAGE_N] = {"clean", "train", "evaluate", "plan", "report"};

const char *promo_run_stage_name(promo_run_stage stage) {
  return stage < PROMO_STAGE_N ? stage_names[stage] : "?";
}

bool promo_run_stage_parse(const char *name, promo_run_stage *out) {
  for (int s = 0; s < PROMO_STAGE_N; s++) {
    if (strcmp(name, stage_names[s]) == 0) {
      *out = (promo_run_stage)s;
      return true;
    }
  }
  return false;
}

void promo_run_options_init(promo_run_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->out_dir = "promo-run";
}

static promo_status nomem(promo_error *err) {
  return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

promo_status run_write_json(const json_t *json, const char *path, promo_error *err) {
  promo_atomic_file *file = NULL;
  FILE *fp = NULL;
  promo_status st = promo_atomic_open(path, &file, &fp, err);
  if (st != PROMO_OK) return st;
  if (json_dumpf(json, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', fp) == EOF) {
    promo_atomic_abort(file);
    return promo_error_errno(err, errno, path, _("writing JSON"));
  }
  return promo_atomic_commit(file, err);
}

promo_status run_select(const promo_table *t, const uint8_t *mark, uint8_t want, promo_table **out, size_t **rows) {
  size_t n = 0;
  for (size_t r = 0; r < t->n_rows; r++) n += mark == NULL || mark[r] == want;
  size_t *list = malloc((n > 0 ? n : 1) * sizeof *list);
  if (list == NULL) return PROMO_ERR_NOMEM;
  for (size_t r = 0, i = 0; r < t->n_rows; r++)
    if (mark == NULL || mark[r] == want) list[i++] = r;
  promo_status st = promo_table_select(t, list, n, out);
  if (rows != NULL && st == PROMO_OK) *rows = list;
  else free(list);
  return st;
}

/* Open path for writing CSV through a temporary file. */
promo_status run_csv_open(run *r, const char *path, promo_atomic_file **file, promo_csv_writer **w) {
  FILE *fp = NULL;
  promo_status st = promo_atomic_open(path, file, &fp, r->err);
  if (st != PROMO_OK) return st;
  if (promo_csv_writer_create(fp, ',', false, w) != PROMO_OK) {
    promo_atomic_abort(*file);
    return nomem(r->err);
  }
  return PROMO_OK;
}

/* Flush and free the writer, then rename the file into place, or remove it on error. */
promo_status run_csv_commit(run *r, const char *path, promo_atomic_file *file, promo_csv_writer *w) {
  promo_status st = promo_csv_writer_flush(w, r->err);
  promo_csv_writer_free(w);
  if (st != PROMO_OK) {
    promo_error_at(r->err, path, 0, 0);
    promo_atomic_abort(file);
    return st;
  }
  return promo_atomic_commit(file, r->err);
}

/* ------------------------------------------------------------------ clean */

static json_t *quality_entry(const char *source, const promo_clean_summary *s) {
  json_t *reasons = json_object();
  for (int k = 0; reasons != NULL && k < PROMO_REJECT_N_REASONS; k++)
    if (s->by_reason[k] > 0)
      json_object_set_new(reasons, promo_reject_reason_name((promo_reject_reason)k), json_integer((json_int_t)s->by_reason[k]));
  return json_pack("{s:s, s:I, s:I, s:I, s:I, s:o}", "source", source, "rows_in", (json_int_t)s->rows_in, "rows_out",
                   (json_int_t)s->rows_out, "rejected", (json_int_t)s->rows_rejected, "duplicates",
                   (json_int_t)s->duplicates_removed, "reasons", reasons);
}

static promo_status stage_clean(run *r) {
  const promo_project *p = r->p;
  if (!p->clean) {
    promo_log(r->ctx, PROMO_LOG_INFO, _("cleaning is off in the project file; the data is used as it is"));
    return PROMO_OK;
  }
  promo_clean_paths paths = {p->data_path, r->files[RUN_CLEANED], r->files[RUN_REJECTS], r->files[RUN_QUALITY]};
  promo_clean_summary summary;
  promo_status st = promo_clean_file(&paths, &p->clean_opt, r->ctx, &summary, r->err);
  if (st != PROMO_OK) return st;
  promo_log(r->ctx, PROMO_LOG_INFO, _("%llu rows in, %llu kept, %llu rejected, %llu duplicates removed"),
            (unsigned long long)summary.rows_in, (unsigned long long)summary.rows_out,
            (unsigned long long)summary.rows_rejected, (unsigned long long)summary.duplicates_removed);
  const char *slash = strrchr(p->data_path, '/');
  json_t *quality = json_array();
  json_t *entry = quality_entry(slash != NULL ? slash + 1 : p->data_path, &summary);
  if (quality == NULL || entry == NULL || json_array_append_new(quality, entry) != 0) {
    json_decref(quality);
    return nomem(r->err);
  }
  json_object_set_new(r->doc, "quality", quality);
  return PROMO_OK;
}

/* ------------------------------------------------------------------ data */

/* Append the project's point-in-time window features to the data as columns: each row's
 * aggregates of the events strictly before its time. */
static promo_status add_windows(run *r) {
  const promo_project *p = r->p;
  if (p->n_windows == 0) return PROMO_OK;
  promo_window_spec *specs = calloc(p->n_windows, sizeof *specs);
  promo_table *events = NULL;
  promo_window *window = NULL;
  float *values = NULL;
  promo_status st = specs != NULL ? PROMO_OK : nomem(r->err);
  for (size_t i = 0; st == PROMO_OK && i < p->n_windows; i++) {
    if ((st = promo_window_spec_parse(p->windows[i], &specs[i], r->err)) != PROMO_OK) {
      char message[sizeof r->err->message];
      snprintf(message, sizeof message, "%s", r->err->message);
      promo_error_at(r->err, p->path, 0, 0);
      st = promo_error_set(r->err, PROMO_ERR_DATA, _("features.windows '%s': %s"), p->windows[i], message);
    }
  }
  promo_load_options load;
  promo_load_options_init(&load);
  if (st == PROMO_OK) st = promo_window_create(specs, p->n_windows, &p->trainer.pipeline.window, &window, r->err);
  if (st == PROMO_OK) st = promo_table_load(p->events_path, &load, r->ctx, &events, r->err);
  size_t n = r->table->n_rows, k = p->n_windows;
  if (st == PROMO_OK && (values = malloc((n > 0 ? n : 1) * k * sizeof *values)) == NULL) st = nomem(r->err);
  const char *path = p->clean ? r->files[RUN_CLEANED] : p->data_path;
  if (st == PROMO_OK)
    st = promo_window_compute(window, events, p->events_path, r->table, path, r->ctx, values, k, NULL, r->err);

  /* One DECIMAL column per spec; a row without a key or time stays missing. */
  for (size_t s = 0; st == PROMO_OK && s < k; s++) {
    char name[128];
    promo_window_spec_name(promo_window_spec_at(window, s), name, sizeof name);
    size_t c = 0;
    if ((st = promo_table_add_column(r->table, name, PROMO_TYPE_DECIMAL, &c, r->err)) != PROMO_OK) break;
    promo_column *col = &r->table->columns[c];
    for (size_t row = 0; row < n; row++) {
      float x = values[row * k + s];
      col->is_missing[row] = isnan(x);
      col->reals[row] = isnan(x) ? 0.0 : (double)x;
    }
  }
  free(values);
  promo_window_free(window);
  promo_table_free(events);
  free(specs);
  return st;
}

promo_status run_load_data(run *r) {
  if (r->table != NULL) return PROMO_OK;
  const promo_project *p = r->p;
  const char *path = p->clean ? r->files[RUN_CLEANED] : p->data_path;
  struct stat sb;
  if (stat(path, &sb) != 0) {
    promo_error_at(r->err, path, 0, 0);
    return promo_error_set(r->err, PROMO_ERR_USAGE, "%s",
                           _("the cleaned data is missing; run the clean stage first (leave out --from)"));
  }
  promo_load_options load;
  promo_load_options_init(&load);
  promo_status st = promo_table_load(path, &load, r->ctx, &r->table, r->err);
  if (st != PROMO_OK) return st;

  for (size_t k = 0; k < p->n_lookups; k++) {
    const project_lookup *l = &p->lookups[k];
    promo_table *lookup = NULL;
    size_t unmatched = 0, before = r->table->n_columns;
    st = promo_table_load(l->path, &load, r->ctx, &lookup, r->err);
    if (st == PROMO_OK)
      st = promo_table_join(r->table, path, l->data_key, lookup, l->path, l->key, &unmatched, r->err);
    promo_table_free(lookup);
    if (st != PROMO_OK) return st;
    promo_log(r->ctx, unmatched > 0 ? PROMO_LOG_WARN : PROMO_LOG_INFO,
              _("%s: %zu columns joined by '%s'; %zu of %zu rows found no match and have them missing"), l->path,
              r->table->n_columns - before, l->key, unmatched, r->table->n_rows);
  }

  for (size_t k = 0; k < p->n_derive; k++) {
    promo_expr_stats stats;
    st = promo_table_derive(r->table, p->derive_names[k], p->derive_exprs[k], r->ctx, &stats, r->err);
    if (st != PROMO_OK) {
      /* Point at the expression in the project file rather than at the data. */
      char message[sizeof r->err->message];
      snprintf(message, sizeof message, "%s", r->err->message);
      promo_error_at(r->err, p->path, p->derive_lines[k], 0);
      return promo_error_set(r->err, st == PROMO_ERR_NOMEM ? st : PROMO_ERR_DATA, _("derive '%s': %s"),
                             p->derive_names[k], message);
    }
  }

  if ((st = add_windows(r)) != PROMO_OK) return st;

  size_t n = r->table->n_rows;
  if (n < 10) {
    promo_error_at(r->err, p->data_path, 0, 0);
    return promo_error_set(r->err, PROMO_ERR_DATA, _("the data has %zu rows; a run needs at least 10"), n);
  }
  r->y = malloc(n * sizeof *r->y);
  r->is_test = calloc(n, 1);
  if (r->y == NULL || r->is_test == NULL) return nomem(r->err);
  const char *target = p->trainer.pipeline.target;
  if ((st = promo_model_read_target(r->table, target, path, r->y, r->err)) != PROMO_OK) return st;
  r->task = p->task != NULL ? p->trainer.nn.task : promo_model_infer_task(r->y, n);
  if (r->task == PROMO_TASK_BINARY && promo_model_infer_task(r->y, n) != PROMO_TASK_BINARY) {
    promo_error_at(r->err, p->path, 0, 0);
    return promo_error_set(r->err, PROMO_ERR_DATA,
                           _("'task: binary' needs a target of 0 and 1, but '%s' holds other values"), target);
  }

  if (p->test_after != NULL)
    st = promo_split_holdout_after(r->table, p->test_column, p->test_after, path, r->is_test, &r->n_test, r->err);
  else if (p->test_share > 0)
    st = promo_split_holdout_share(n, p->test_share, p->has_split_seed ? p->split_seed : p->trainer.nn.seed,
                                   r->is_test, &r->n_test, r->err);
  return st;
}

/* ------------------------------------------------------------------ train */

static json_t *number_or_null(double x) {
  return isfinite(x) ? json_real(x) : json_null();
}

static json_t *training_json(const run *r, const promo_trainer_result *fit, size_t n_train, size_t n_valid) {
  const promo_nn_history *h = &fit->history;
  json_t *history = json_array(), *layers = json_array();
  const promo_nn_options *nn = promo_nn_get_options(fit->nn);
  for (size_t k = 0; layers != NULL && k < nn->n_hidden; k++)
    json_array_append_new(layers, json_integer((json_int_t)nn->hidden[k]));
  for (size_t e = 0; history != NULL && e < h->n_epochs; e++)
    json_array_append_new(history, json_pack("{s:I, s:o, s:o}", "epoch", (json_int_t)e + 1, "train_loss",
                                             number_or_null(h->epochs[e].train_loss), "valid_loss",
                                             number_or_null(h->epochs[e].valid_loss)));
  return json_pack("{s:s, s:s, s:o, s:I, s:b, s:{s:o, s:I, s:I, s:f, s:I, s:I, s:I}}", "task",
                   promo_model_task_name(r->task), "target", r->p->trainer.pipeline.target, "history", history,
                   "best_epoch", (json_int_t)h->best_epoch + 1, "stopped_early", h->stopped_early, "settings",
                   "layers", layers, "epochs", (json_int_t)nn->epochs, "batch", (json_int_t)nn->batch_size, "lr",
                   nn->learning_rate, "train_rows", (json_int_t)n_train, "valid_rows", (json_int_t)n_valid,
                   "features", (json_int_t)fit->n_features);
}

/* Mark the latest share of t's rows by `column` as validation rows, so early stopping
 * watches a later period, as the test does. */
static promo_status choose_valid_by_time(run *r, const promo_table *t, const char *column, double share,
                                         uint8_t *is_valid, size_t *n_valid) {
  ptrdiff_t c = promo_table_find(t, column);
  const promo_column *col = c >= 0 ? &t->columns[c] : NULL;
  if (col == NULL || (col->ints == NULL && col->reals == NULL) || col->type == PROMO_TYPE_BOOL) {
    promo_error_at(r->err, r->p->path, 0, 0);
    return promo_error_set(r->err, PROMO_ERR_DATA,
                           _("'model.valid_time' names column '%s', which holds no dates, times or numbers"), column);
  }
  if (promo_split_holdout_latest(t, (size_t)c, share, is_valid, n_valid) != PROMO_OK) return nomem(r->err);
  return PROMO_OK;
}

static promo_status stage_train(run *r) {
  promo_status st = run_load_data(r);
  if (st != PROMO_OK) return st;
  const promo_project *p = r->p;
  promo_table *rest = NULL, *train = NULL, *valid = NULL;
  float *y_train = NULL, *y_valid = NULL;
  uint8_t *is_valid = NULL;
  size_t *rows = NULL, n_valid = 0;
  promo_trainer_result fit = {0};
  json_t *training = NULL;

  /* Training rows are those not held out for the test; of them, a seeded share
   * validates the network for early stopping. */
  if ((st = run_select(r->table, r->is_test, 0, &rest, &rows)) != PROMO_OK) goto nomem;
  size_t n = rest->n_rows;
  is_valid = calloc(n, 1);
  y_train = malloc(n * sizeof *y_train);
  y_valid = malloc(n * sizeof *y_valid);
  if (is_valid == NULL || y_train == NULL || y_valid == NULL) goto nomem;
  if (p->valid_share > 0 && p->valid_time != NULL)
    st = choose_valid_by_time(r, rest, p->valid_time, p->valid_share, is_valid, &n_valid);
  else if (p->valid_share > 0)
    st = promo_split_holdout_share(n, p->valid_share, p->trainer.nn.seed ^ 0x7A11D, is_valid, &n_valid, r->err);
  if (st != PROMO_OK) goto done;
  if ((st = run_select(rest, is_valid, 0, &train, NULL)) != PROMO_OK ||
      (st = run_select(rest, is_valid, 1, &valid, NULL)) != PROMO_OK)
    goto nomem;
  for (size_t i = 0, a = 0, b = 0; i < n; i++) {
    if (is_valid[i]) y_valid[b++] = r->y[rows[i]];
    else y_train[a++] = r->y[rows[i]];
  }
  promo_log(r->ctx, PROMO_LOG_INFO, _("%zu training rows, %zu validation rows, %zu held-out test rows"),
            train->n_rows, n_valid, r->n_test);

  promo_trainer_options topt = p->trainer;
  topt.nn.task = r->task;
  if (n_valid == 0) topt.nn.patience = 0;
  const char *path = p->clean ? r->files[RUN_CLEANED] : p->data_path;
  if ((st = promo_model_fit_tables(train, y_train, valid, y_valid, path, &topt, r->ctx, &fit, r->err)) != PROMO_OK)
    goto done;
  if ((training = training_json(r, &fit, train->n_rows, n_valid)) == NULL) goto nomem;
  if ((st = promo_model_save(r->files[RUN_MODEL], fit.nn, fit.pipeline, training, r->err)) != PROMO_OK) goto done;
  json_object_set(r->doc, "training", training);
  goto done;

nomem:
  st = nomem(r->err);
done:
  json_decref(training);
  promo_trainer_result_clear(&fit);
  promo_table_free(rest);
  promo_table_free(train);
  promo_table_free(valid);
  free(rows);
  free(is_valid);
  free(y_train);
  free(y_valid);
  return st;
}

/* ------------------------------------------------------------------ evaluate */

/* Cross-validation on the training rows (never the test rows), with the project's split. */
static promo_status cross_validate(run *r, const promo_table *rest, const float *y_rest, json_t **cv) {
  const promo_project *p = r->p;
  promo_split_options split;
  promo_split_options_init(&split);
  split.n_folds = p->folds;
  split.seed = p->has_split_seed ? p->split_seed : p->trainer.nn.seed;
  split.kind = r->task == PROMO_TASK_BINARY ? PROMO_SPLIT_STRATIFIED : PROMO_SPLIT_KFOLD;
  if (p->split != NULL) {
    split.kind = strcmp(p->split, "kfold") == 0        ? PROMO_SPLIT_KFOLD
                 : strcmp(p->split, "stratified") == 0 ? PROMO_SPLIT_STRATIFIED
                 : strcmp(p->split, "group") == 0      ? PROMO_SPLIT_GROUP
                                                       : PROMO_SPLIT_TIME;
  }
  split.group_column = p->split_group;
  split.time_column = p->split_time;
  split.valid_share = p->valid_share;
  promo_trainer_options topt = p->trainer;
  topt.nn.task = r->task;
  if (split.valid_share == 0) topt.nn.patience = 0;
  const char *path = p->clean ? r->files[RUN_CLEANED] : p->data_path;
  /* Each fold's epochs would bury the run's own lines; they show with --verbose. */
  promo_context quiet = *r->ctx;
  if (quiet.level < PROMO_LOG_DEBUG && quiet.level > PROMO_LOG_WARN) quiet.level = PROMO_LOG_WARN;
  return promo_eval_cross_validate(rest, y_rest, path, &topt, &split, &quiet, cv, r->err);
}

/* Group keys for the per-group AUC: the column's dictionary codes or integers. */
static promo_status group_keys(run *r, const promo_table *t, int64_t **out) {
  ptrdiff_t c = promo_table_find(t, r->p->eval_group);
  if (c < 0) {
    promo_error_at(r->err, r->p->path, 0, 0);
    return promo_error_set(r->err, PROMO_ERR_USAGE, _("'metric_group' names column '%s', which is not in the data"),
                           r->p->eval_group);
  }
  const promo_column *col = &t->columns[c];
  int64_t *keys = malloc((t->n_rows > 0 ? t->n_rows : 1) * sizeof *keys);
  if (keys == NULL) return nomem(r->err);
  for (size_t i = 0; i < t->n_rows; i++)
    keys[i] = col->is_missing[i] ? INT64_MIN
              : col->codes != NULL ? (int64_t)col->codes[i]
              : col->ints != NULL  ? col->ints[i]
                                   : (int64_t)llround(col->reals[i]);
  *out = keys;
  return PROMO_OK;
}

/* predictions.csv: the row's line in the cleaned data (so other tools can rebuild the
 * same split), the id and unit columns, the actual value and the prediction. */
static promo_status write_predictions(run *r, const promo_table *test, const float *y, const float *pred) {
  const promo_project *p = r->p;
  const char *path = r->files[RUN_PREDICTIONS];
  promo_atomic_file *file = NULL;
  promo_csv_writer *w = NULL;
  promo_status st = run_csv_open(r, path, &file, &w);
  if (st != PROMO_OK) return st;
  size_t cols[2 * PROJECT_MAX_ITEMS], n_cols = 0;
  for (size_t k = 0; k < p->n_ids + p->n_unit_columns && n_cols < 2 * PROJECT_MAX_ITEMS; k++) {
    const char *name = k < p->n_ids ? p->ids[k] : p->unit_columns[k - p->n_ids];
    ptrdiff_t c = promo_table_find(test, name);
    bool seen = false;
    for (size_t j = 0; j < n_cols && c >= 0; j++) seen |= cols[j] == (size_t)c;
    if (c >= 0 && !seen) cols[n_cols++] = (size_t)c;
  }
  promo_csv_write_field(w, "line", 4);
  for (size_t j = 0; j < n_cols; j++) promo_csv_write_field(w, test->columns[cols[j]].name, strlen(test->columns[cols[j]].name));
  promo_csv_write_field(w, "actual", 6);
  promo_csv_write_field(w, "prediction", 10);
  promo_csv_write_end_row(w);
  char buf[64];
  for (size_t i = 0; i < test->n_rows; i++) {
    promo_csv_write_field(w, buf, (size_t)snprintf(buf, sizeof buf, "%lld", (long long)test->lines[i]));
    for (size_t j = 0; j < n_cols; j++) promo_csv_write_cell(w, test, i, cols[j]);
    promo_csv_write_field(w, buf, (size_t)snprintf(buf, sizeof buf, "%.9g", (double)y[i]));
    promo_csv_write_field(w, buf, (size_t)snprintf(buf, sizeof buf, "%.9g", (double)pred[i]));
    promo_csv_write_end_row(w);
  }
  return run_csv_commit(r, path, file, w);
}

/* Metrics of the saved model on the held-out test rows, with curves for the report. */
static promo_status test_metrics(run *r, json_t **out) {
  promo_nn *nn = NULL;
  promo_pipeline *pipeline = NULL;
  promo_table *test = NULL;
  size_t *rows = NULL;
  float *y = NULL, *pred = NULL;
  int64_t *groups = NULL;
  promo_status st = promo_model_load(r->files[RUN_MODEL], &nn, &pipeline, NULL, r->err);
  if (st != PROMO_OK) goto done;
  if ((st = run_select(r->table, r->is_test, 1, &test, &rows)) != PROMO_OK) goto nomem;
  y = malloc(test->n_rows * sizeof *y);
  pred = malloc(test->n_rows * sizeof *pred);
  if (y == NULL || pred == NULL) goto nomem;
  for (size_t i = 0; i < test->n_rows; i++) y[i] = r->y[rows[i]];
  const char *path = r->p->clean ? r->files[RUN_CLEANED] : r->p->data_path;
  if ((st = promo_model_predict_table(nn, pipeline, test, path, r->ctx, pred, r->err)) != PROMO_OK) goto done;
  promo_eval_options eopt;
  promo_eval_options_init(&eopt);
  if (r->p->eval_group != NULL) {
    if ((st = group_keys(r, test, &groups)) != PROMO_OK) goto done;
    eopt.groups = groups;
  }
  if ((st = promo_eval_metrics(r->task, pred, y, test->n_rows, &eopt, out, r->err)) != PROMO_OK) goto done;
  st = write_predictions(r, test, y, pred);
  goto done;
nomem:
  st = nomem(r->err);
done:
  promo_nn_free(nn);
  promo_pipeline_free(pipeline);
  promo_table_free(test);
  free(rows);
  free(y);
  free(pred);
  free(groups);
  return st;
}

/* One log line with the task's main metrics from a metrics object (and their standard
 * deviations when std is given). */
static void log_metrics(const run *r, const char *label, const json_t *values, const json_t *std) {
  static const char *const binary[] = {"auc", "pr_auc", "log_loss", NULL};
  static const char *const other[] = {"rmse", "wape", "r2", NULL};
  const char *const *keys = r->task == PROMO_TASK_BINARY ? binary : other;
  char line[256];
  size_t used = 0;
  for (size_t k = 0; keys[k] != NULL && used < sizeof line; k++) {
    const json_t *v = json_object_get(values, keys[k]);
    if (!json_is_number(v)) continue;
    used += (size_t)snprintf(line + used, sizeof line - used, " %s=%.4f", keys[k], json_number_value(v));
    const json_t *sd = std != NULL ? json_object_get(std, keys[k]) : NULL;
    if (json_is_number(sd) && used < sizeof line)
      used += (size_t)snprintf(line + used, sizeof line - used, "±%.4f", json_number_value(sd));
  }
  if (used > 0) promo_log(r->ctx, PROMO_LOG_INFO, "%s:%s", label, line);
}

static promo_status stage_evaluate(run *r) {
  promo_status st = run_load_data(r);
  if (st != PROMO_OK) return st;
  json_t *cv = NULL, *test = NULL, *metrics = NULL;
  promo_table *rest = NULL;
  size_t *rows = NULL;
  float *y_rest = NULL;

  if (r->p->folds >= 2) {
    if ((st = run_select(r->table, r->is_test, 0, &rest, &rows)) != PROMO_OK) goto nomem;
    if ((y_rest = malloc((rest->n_rows > 0 ? rest->n_rows : 1) * sizeof *y_rest)) == NULL) goto nomem;
    for (size_t i = 0; i < rest->n_rows; i++) y_rest[i] = r->y[rows[i]];
    promo_log(r->ctx, PROMO_LOG_INFO, _("cross-validation: %zu folds over %zu training rows"), r->p->folds,
              rest->n_rows);
    if ((st = cross_validate(r, rest, y_rest, &cv)) != PROMO_OK) goto done;
    log_metrics(r, _("cross-validation mean"), json_object_get(cv, "mean"), json_object_get(cv, "std"));
  }
  if (r->n_test > 0) {
    if ((st = test_metrics(r, &test)) != PROMO_OK) goto done;
    log_metrics(r, _("held-out test"), test, NULL);
  }
  metrics = json_object();
  if (metrics == NULL) goto nomem;
  json_object_set(metrics, "cv", cv != NULL ? cv : json_null());
  json_object_set(metrics, "test", test != NULL ? test : json_null());
  if ((st = run_write_json(metrics, r->files[RUN_METRICS], r->err)) != PROMO_OK) goto done;
  json_object_set(r->doc, "evaluation", metrics);
  goto done;
nomem:
  st = nomem(r->err);
done:
  json_decref(cv);
  json_decref(test);
  json_decref(metrics);
  promo_table_free(rest);
  free(rows);
  free(y_rest);
  return st;
}

/* ------------------------------------------------------------------ report */

static promo_status stage_report(run *r) {
  return promo_report_write_html(r->doc, r->files[RUN_REPORT_HTML], r->err);
}

/* ------------------------------------------------------------------ driver */

/* ------------------------------------------------------------------ preflight */

/* The columns a run can name: the data file's header, then the derived columns. */
typedef struct known_columns {
  promo_csv *reader;
  const promo_project *p;
  promo_csv *lookups[PROJECT_MAX_LOOKUPS]; /* their headers add columns too */
} known_columns;

static bool in_header(const promo_csv *reader, const char *name) {
  for (size_t c = 0; reader != NULL && c < promo_csv_n_columns(reader); c++)
    if (strcmp(promo_csv_column_name(reader, c), name) == 0) return true;
  return false;
}

static bool is_known(const known_columns *k, const char *name, size_t n_derived) {
  if (in_header(k->reader, name)) return true;
  for (size_t i = 0; i < k->p->n_lookups; i++)
    if (in_header(k->lookups[i], name)) return true;
  for (size_t d = 0; d < n_derived; d++)
    if (strcmp(k->p->derive_names[d], name) == 0) return true;
  return false;
}

/* PROMO_ERR_DATA at the project file (and line, when known) for a key naming a column
 * that neither the data nor the derived columns have. */
static promo_status unknown_column(run *r, const known_columns *k, const char *key, const char *name,
                                   int64_t line) {
  char columns[256] = "";
  size_t used = 0;
  for (size_t c = 0; c < promo_csv_n_columns(k->reader) && used + 1 < sizeof columns; c++)
    used += (size_t)snprintf(columns + used, sizeof columns - used, "%s%s", c > 0 ? ", " : "",
                             promo_csv_column_name(k->reader, c));
  promo_error_at(r->err, r->p->path, line, 0);
  return promo_error_set(r->err, PROMO_ERR_DATA,
                         _("'%s' names column '%s', which is neither in %s nor derived; its columns are: %s"), key,
                         name, r->p->data_path, columns);
}

/* Whether column `name` becomes a feature: it is neither the target nor ignored. */
static bool is_feature(const promo_project *p, const char *name) {
  if (strcmp(name, p->trainer.pipeline.target) == 0) return false;
  for (size_t i = 0; i < p->trainer.pipeline.n_ignore; i++)
    if (strcmp(p->ignore_all[i], name) == 0) return false;
  return true;
}

/* A value of an economics key that is a column name rather than a number. */
static bool names_column(const char *text) {
  if (text == NULL) return false;
  char *end = NULL;
  strtod(text, &end);
  return end == text || *end != '\0';
}

/* The plan's objective and its options' "*F" and "+A" values, which the plan stage would
 * otherwise reject only after training. */
static promo_status check_plan_values(run *r) {
  const promo_project *p = r->p;
  if (!p->has_plan) return PROMO_OK;
  promo_plan_objective objective;
  if (!promo_plan_objective_parse(p->objective, &objective)) {
    promo_error_at(r->err, p->path, 0, 0);
    return promo_error_set(r->err, PROMO_ERR_DATA,
                           _("plan 'objective' must be profit, revenue, units or incremental_profit, "
                             "incremental_revenue, incremental_units, but it is '%s'"),
                           p->objective);
  }
  for (size_t i = 0; i < p->n_options; i++) {
    const project_option *o = &p->options[i];
    for (size_t e = 0; e < o->n_sets; e++) {
      const char *v = o->set_values[e];
      if (v[0] != '*' && v[0] != '+') continue;
      char *end = NULL;
      errno = 0;
      double x = strtod(v + 1, &end);
      if (end != v + 1 && *end == '\0' && errno == 0 && isfinite(x)) continue;
      promo_error_at(r->err, p->path, o->line, 0);
      return promo_error_set(r->err, PROMO_ERR_DATA, _("option '%s': '%s: %s' must be *FACTOR or +AMOUNT with a number"),
                             o->name, o->set_columns[e], v);
    }
  }
  return PROMO_OK;
}

/* Check, before any stage writes, that every column the project names exists and that
 * every derived expression parses, so mistakes in the project file surface at once. */
static promo_status preflight(run *r) {
  const promo_project *p = r->p;
  promo_csv_options csv;
  promo_csv_options_init(&csv);
  known_columns k = {NULL, p, {NULL}};
  promo_status st = promo_csv_open(p->data_path, &csv, &k.reader, r->err);
  if (st != PROMO_OK) return st;

  /* Each lookup must have its key, and the data the key it joins on. */
  for (size_t i = 0; st == PROMO_OK && i < p->n_lookups; i++) {
    const project_lookup *l = &p->lookups[i];
    st = promo_csv_open(l->path, &csv, &k.lookups[i], r->err);
    if (st == PROMO_OK && !in_header(k.lookups[i], l->key)) {
      promo_error_at(r->err, p->path, 0, 0);
      st = promo_error_set(r->err, PROMO_ERR_DATA, _("lookup key '%s' is not a column of %s"), l->key, l->path);
    }
    if (st == PROMO_OK && !in_header(k.reader, l->data_key)) st = unknown_column(r, &k, "lookups.data_key", l->data_key, 0);
  }

  for (size_t d = 0; st == PROMO_OK && d < p->n_derive; d++) {
    promo_expr *expr = NULL;
    if ((st = promo_expr_parse(p->derive_exprs[d], &expr, r->err)) != PROMO_OK) {
      char message[sizeof r->err->message];
      snprintf(message, sizeof message, "%s", r->err->message);
      promo_error_at(r->err, p->path, p->derive_lines[d], 0);
      st = promo_error_set(r->err, PROMO_ERR_DATA, _("derive '%s': %s"), p->derive_names[d], message);
      break;
    }
    for (size_t c = 0; st == PROMO_OK && c < promo_expr_n_columns(expr); c++) {
      const char *input = promo_expr_column_name(expr, c);
      if (!is_known(&k, input, d)) st = unknown_column(r, &k, p->derive_names[d], input, p->derive_lines[d]);
      else if (strcmp(input, p->trainer.pipeline.target) == 0 && is_feature(p, p->derive_names[d]))
        promo_log(r->ctx, PROMO_LOG_WARN,
                  _("%s:%lld: derived column '%s' is computed from the target '%s', so as a feature it would "
                    "leak the answer into the model; list it under features.ignore"),
                  p->path, (long long)p->derive_lines[d], p->derive_names[d], input);
    }
    promo_expr_free(expr);
  }

  for (size_t i = 0; st == PROMO_OK && i < p->n_windows; i++) {
    promo_window_spec spec;
    if ((st = promo_window_spec_parse(p->windows[i], &spec, r->err)) != PROMO_OK) {
      char message[sizeof r->err->message];
      snprintf(message, sizeof message, "%s", r->err->message);
      promo_error_at(r->err, p->path, 0, 0);
      st = promo_error_set(r->err, PROMO_ERR_DATA, _("features.windows '%s': %s"), p->windows[i], message);
    }
  }

  const char *target = p->trainer.pipeline.target;
  if (st == PROMO_OK && !is_known(&k, target, p->n_derive)) st = unknown_column(r, &k, "model.target", target, 0);
  for (size_t i = 0; st == PROMO_OK && i < p->trainer.pipeline.n_ignore; i++)
    if (!is_known(&k, p->ignore_all[i], p->n_derive))
      st = unknown_column(r, &k, i < p->n_ignore ? "features.ignore" : "features.id", p->ignore_all[i], 0);
  for (size_t i = 0; st == PROMO_OK && i < p->n_unit_columns; i++)
    if (!is_known(&k, p->unit_columns[i], p->n_derive)) st = unknown_column(r, &k, "plan.unit", p->unit_columns[i], 0);
  for (size_t i = 0; st == PROMO_OK && i < p->n_options; i++)
    for (size_t e = 0; st == PROMO_OK && e < p->options[i].n_sets; e++)
      if (!is_known(&k, p->options[i].set_columns[e], p->n_derive))
        st = unknown_column(r, &k, p->options[i].name, p->options[i].set_columns[e], p->options[i].line);
  const char *keys[] = {"plan.group",       "plan.latest",           "plan.price",           "plan.unit_cost",
                        "plan.margin",      "plan.order_value",      "plan.stock",           "evaluation.test_column",
                        "evaluation.time",  "evaluation.group",      "evaluation.metric_group", "model.valid_time"};
  const char *values[] = {p->plan_group, p->plan_latest,  p->price,      p->unit_cost,  p->margin,     p->order_value,
                          p->stock,      p->test_column,  p->split_time, p->split_group, p->eval_group, p->valid_time};
  for (size_t i = 0; st == PROMO_OK && i < sizeof keys / sizeof keys[0]; i++)
    if (names_column(values[i]) && !is_known(&k, values[i], p->n_derive))
      st = unknown_column(r, &k, keys[i], values[i], 0);
  for (size_t i = 0; st == PROMO_OK && i < p->n_rules; i++)
    if (!is_known(&k, p->rules[i].column, p->n_derive))
      st = unknown_column(r, &k, "features.transforms", p->rules[i].column, 0);

  /* Cleaning runs on the data file as it is, before any derived column exists. */
  const promo_clean_options *c = &p->clean_opt;
  for (size_t i = 0; st == PROMO_OK && p->clean && i < c->key_columns.n_names; i++)
    if (!is_known(&k, c->key_columns.names[i], 0)) st = unknown_column(r, &k, "clean.keys", c->key_columns.names[i], 0);
  for (size_t i = 0; st == PROMO_OK && p->clean && i < c->n_missing_rules; i++)
    if (!is_known(&k, c->missing_rules[i].column, 0))
      st = unknown_column(r, &k, "clean.missing", c->missing_rules[i].column, 0);
  if (st == PROMO_OK && p->clean && c->time_column != NULL && !is_known(&k, c->time_column, 0))
    st = unknown_column(r, &k, "clean.time", c->time_column, 0);
  if (st == PROMO_OK) st = check_plan_values(r);

  /* Files named in sources must exist even when no key uses them yet. */
  const char *files[] = {p->events_path, p->calendar_path, p->plan_units_path};
  for (size_t i = 0; st == PROMO_OK && i < sizeof files / sizeof files[0]; i++) {
    if (files[i] != NULL && access(files[i], R_OK) != 0)
      st = promo_error_errno(r->err, errno, files[i], _("opening a source of the project"));
  }
  promo_csv_close(k.reader);
  for (size_t i = 0; i < p->n_lookups; i++) promo_csv_close(k.lookups[i]);
  return st;
}

/* Create dir and its missing parents, as mkdir -p does. */
static promo_status make_folder(const char *dir, promo_error *err) {
  char *path = strdup(dir);
  if (path == NULL) return nomem(err);
  promo_status st = PROMO_OK;
  for (char *slash = path + 1;; slash++) {
    if (*slash != '/' && *slash != '\0') continue;
    char saved = *slash;
    *slash = '\0';
    struct stat sb;
    if (mkdir(path, 0777) != 0 && errno != EEXIST) st = promo_error_errno(err, errno, path, _("creating the output folder"));
    else if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
      st = promo_error_errno(err, ENOTDIR, path, _("creating the output folder"));
    *slash = saved;
    if (st != PROMO_OK || saved == '\0') break;
  }
  free(path);
  return st;
}

/* An output that would replace one of the project's inputs (its data, events, calendar,
 * units file or the project file itself) stops the run before anything is written. */
static promo_status check_inputs_kept(run *r) {
  const promo_project *p = r->p;
  const char *inputs[] = {p->path, p->data_path, p->events_path, p->calendar_path, p->plan_units_path};
  for (int f = 0; f < RUN_N_FILES; f++) {
    for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
      if (inputs[k] == NULL || !promo_same_file(r->files[f], inputs[k])) continue;
      promo_error_at(r->err, r->files[f], 0, 0);
      return promo_error_set(r->err, PROMO_ERR_USAGE,
                             _("this output would overwrite the project's input '%s'; choose another output "
                               "folder (-o)"),
                             inputs[k]);
    }
  }
  return PROMO_OK;
}

/* XXH3-64 of the project file's bytes as 16 hex digits, or "" when it cannot be read. */
static void project_hash(const char *path, char out[17]) {
  out[0] = '\0';
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) return;
  XXH3_state_t *state = XXH3_createState();
  char buf[8192];
  size_t n;
  bool ok = state != NULL && XXH3_64bits_reset(state) == XXH_OK;
  while (ok && (n = fread(buf, 1, sizeof buf, fp)) > 0) ok = XXH3_64bits_update(state, buf, n) == XXH_OK;
  if (ok && !ferror(fp)) snprintf(out, 17, "%016llx", (unsigned long long)XXH3_64bits_digest(state));
  XXH3_freeState(state);
  fclose(fp);
}

static promo_status prepare(run *r) {
  const char *dir = r->opt->out_dir;
  promo_status st = make_folder(dir, r->err);
  if (st != PROMO_OK) return st;
  for (int f = 0; f < RUN_N_FILES; f++) {
    size_t n = strlen(dir) + strlen(file_names[f]) + 2;
    if ((r->files[f] = malloc(n)) == NULL) return nomem(r->err);
    snprintf(r->files[f], n, "%s/%s", dir, file_names[f]);
  }
  if ((st = check_inputs_kept(r)) != PROMO_OK) return st;
  if ((st = preflight(r)) != PROMO_OK) return st;

  /* Resuming keeps what the earlier stages put into the report document. */
  if (r->opt->from > PROMO_STAGE_CLEAN) {
    json_error_t jerr;
    r->doc = json_load_file(r->files[RUN_REPORT_JSON], 0, &jerr);
    if (r->doc == NULL) {
      promo_error_at(r->err, r->files[RUN_REPORT_JSON], jerr.line, jerr.column);
      return promo_error_set(r->err, PROMO_ERR_USAGE,
                             _("cannot resume from '%s': the report document of the earlier stages is missing or "
                               "unreadable; run the earlier stages first"),
                             promo_run_stage_name(r->opt->from));
    }
  } else {
    r->doc = json_object();
    if (r->doc == NULL) return nomem(r->err);
  }
  /* Resuming after the project file changed mixes outputs of two versions, so warn. */
  char hash[17];
  project_hash(r->p->path, hash);
  const char *before = json_string_value(json_object_get(r->doc, "project_hash"));
  if (r->opt->from > PROMO_STAGE_CLEAN && before != NULL && strcmp(before, hash) != 0)
    promo_log(r->ctx, PROMO_LOG_WARN,
              _("%s changed since the earlier stages in %s ran, so their files may not match it; "
                "start from an earlier stage (--from) to redo them"),
              r->p->path, dir);
  json_object_set_new(r->doc, "project_hash", json_string(hash));

  char generated[32];
  time_t t = time(NULL);
  struct tm tm;
  strftime(generated, sizeof generated, "%Y-%m-%dT%H:%M:%S", localtime_r(&t, &tm));
  json_object_set_new(r->doc, "title", json_string(r->p->name != NULL ? r->p->name : r->p->path));
  json_object_set_new(r->doc, "project", json_string(r->p->path));
  json_object_set_new(r->doc, "generated", json_string(generated));
  if (json_object_get(r->doc, "stages") == NULL) json_object_set_new(r->doc, "stages", json_array());
  return PROMO_OK;
}

/* Record a stage's status and time in the document, replacing an earlier record. */
static void record_stage(run *r, promo_run_stage stage, const char *status, double seconds) {
  json_t *stages = json_object_get(r->doc, "stages");
  size_t i;
  json_t *item;
  json_array_foreach(stages, i, item) {
    if (strcmp(json_string_value(json_object_get(item, "name")), promo_run_stage_name(stage)) == 0) {
      json_array_remove(stages, i);
      break;
    }
  }
  json_array_append_new(stages, json_pack("{s:s, s:f, s:s}", "name", promo_run_stage_name(stage), "seconds", seconds,
                                          "status", status));
}

promo_status promo_project_run(const promo_project *project, const promo_run_options *opt, promo_context *ctx,
                               promo_error *err) {
  run r = {.p = project, .opt = opt, .ctx = ctx, .err = err};
  promo_status st = prepare(&r);
  static promo_status (*const stages[PROMO_STAGE_N])(run *) = {stage_clean, stage_train, stage_evaluate,
                                                               run_stage_plan, stage_report};
  for (int s = opt->from; st == PROMO_OK && s < PROMO_STAGE_N; s++) {
    if (s == PROMO_STAGE_PLAN && !project->has_plan) {
      record_stage(&r, PROMO_STAGE_PLAN, "skipped", 0);
      continue;
    }
    if (opt->on_stage != NULL) opt->on_stage(opt->user, (promo_run_stage)s, false, PROMO_OK, 0);
    double start = now_s();
    promo_error_clear(err);
    st = stages[s](&r);
    if (st == PROMO_OK && promo_cancelled(ctx)) st = promo_error_set(err, PROMO_ERR_CANCELLED, "%s", _("cancelled"));
    double seconds = now_s() - start;
    record_stage(&r, (promo_run_stage)s, st == PROMO_OK ? "ok" : "failed", seconds);
    /* The document is saved after every stage, failed or not, so --from can resume. */
    promo_error ignored;
    promo_error_clear(&ignored);
    if (r.doc != NULL && s < PROMO_STAGE_REPORT) {
      promo_status saved = run_write_json(r.doc, r.files[RUN_REPORT_JSON], st == PROMO_OK ? err : &ignored);
      if (st == PROMO_OK) st = saved;
    }
    if (opt->on_stage != NULL) opt->on_stage(opt->user, (promo_run_stage)s, true, st, seconds);
  }
  if (st == PROMO_OK && r.doc != NULL) st = run_write_json(r.doc, r.files[RUN_REPORT_JSON], err);

  json_decref(r.doc);
  promo_table_free(r.table);
  free(r.y);
  free(r.is_test);
  for (int f = 0; f < RUN_N_FILES; f++) free(r.files[f]);
  return st;
}
