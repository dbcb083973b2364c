/* `promo train`: loads a CSV file, keeps back held-out test rows when asked, holds out
 * validation rows, fits the feature pipeline on the training rows only, trains the
 * network and saves both in one model file. Validation and test metrics are reported
 * apart, because validation rows also chose the stopping epoch. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/train_options.h"
#include "promo/data.h"
#include "promo/eval.h"
#include "promo/feature.h"
#include "promo/model.h"

typedef struct train_args {
  const char *input, *output, *metrics_path;
  cli_train_options t;
  double valid_share;
  const char *valid_time;  /* hold out the latest rows by this column instead of random ones */
  double test_share;       /* --test-split: share of rows held out for testing, 0 for none */
  const char *test_after;  /* --test-after: rows after this value are test rows */
  const char *test_time;   /* --test-time: the column --test-after reads; --valid-time's if NULL */
} train_args;

/* One option of `promo train` alone; returns EXIT_OK, a usage exit code, or -2 when not
 * matched. */
static int parse_train_option(train_args *a, int argc, char **argv, int *i) {
  const char *v = NULL;
  int got = 0, rc = EXIT_OK;
#define VALUE(name) ((got = cli_option_value(argc, argv, i, name, &v)) != 0)
  if (VALUE("-o") || (got == 0 && VALUE("--output"))) {
    a->output = v;
  } else if (VALUE("--metrics")) {
    a->metrics_path = v;
  } else if (VALUE("--valid-time")) {
    a->valid_time = v;
  } else if (VALUE("--valid")) {
    if (got > 0) rc = cli_parse_real("train", "--valid", v, 0, 1, false, &a->valid_share);
  } else if (VALUE("--test-split")) {
    if (got > 0) rc = cli_parse_real("train", "--test-split", v, 0, 1, true, &a->test_share);
    if (rc == EXIT_OK && got > 0 && a->test_share >= 1)
      rc = cli_usage_error("train", _("invalid --test-split '%s'; give a share below 1, such as 0.2"), v);
  } else if (VALUE("--test-after")) {
    a->test_after = v;
  } else if (VALUE("--test-time")) {
    a->test_time = v;
  } else {
    return -2;
  }
#undef VALUE
  return got < 0 ? EXIT_USAGE : rc;
}

/* Checks that need every option: required ones, conflicts and output paths. */
static int check_args(train_args *a) {
  if (a->input == NULL) return cli_usage_error("train", "%s", _("no input file given"));
  int rc = cli_train_options_finish(&a->t);
  if (rc != EXIT_OK) return rc;
  if (a->output == NULL) return cli_usage_error("train", "%s", _("no model file given; add -o MODEL.promo"));
  if (a->valid_share == 0) a->t.nn.restore_best = false;
  if (a->t.nn.patience > 0 && a->valid_share == 0)
    return cli_usage_error("train", "%s", _("--patience needs validation rows; leave out --valid 0"));
  if (a->test_share > 0 && a->test_after != NULL)
    return cli_usage_error("train", "%s", _("give either --test-split or --test-after, not both"));
  if (a->test_after != NULL && a->test_time == NULL && a->valid_time == NULL)
    return cli_usage_error("train", "%s", _("--test-after needs a time column; add --test-time COL"));
  if (a->test_time != NULL && a->test_after == NULL)
    return cli_usage_error("train", "%s", _("--test-time needs --test-after VALUE"));

  const char *paths[] = {a->input, a->output, a->metrics_path};
  const char *names[] = {"DATA.csv", "-o", "--metrics"};
  for (size_t p = 1; p < 3; p++) {
    for (size_t q = 0; q < p; q++) {
      if (paths[p] == NULL || paths[q] == NULL) continue;
      if (strcmp(paths[p], paths[q]) == 0 || promo_same_file(paths[p], paths[q]))
        return cli_usage_error("train", _("%s and %s name the same file '%s'; give each its own"), names[q],
                               names[p], paths[p]);
    }
  }
  return EXIT_OK;
}

static int parse_args(train_args *a, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      cli_print_help(stdout, "train");
      return -1;
    }
    int rc = cli_train_option(&a->t, argc, argv, &i);
    if (rc == -2) rc = parse_train_option(a, argc, argv, &i);
    if (rc == -2) {
      if (arg[0] == '-' && arg[1] != '\0') return cli_usage_error("train", _("unknown option '%s'"), arg);
      if (a->input != NULL)
        return cli_usage_error("train", _("unexpected argument '%s'; give one input file"), arg);
      a->input = arg;
    } else if (rc != EXIT_OK) {
      return rc;
    }
  }
  return check_args(a);
}

/* ------------------------------------------------------------------ data */

/* splitmix64 (Steele, Lea and Flood 2014), for the seeded validation split. */
static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Mark round(share * n) rows chosen at random with the seed as validation rows
 * (is_valid[r] = 1), by a partial Fisher-Yates shuffle of the row numbers. */
static promo_status choose_valid_rows(size_t n, double share, uint64_t seed, uint8_t *is_valid, size_t *n_valid) {
  size_t k = (size_t)llround(share * (double)n);
  if (k >= n) k = n - 1;
  size_t *order = malloc(n * sizeof *order);
  if (order == NULL) return PROMO_ERR_NOMEM;
  for (size_t r = 0; r < n; r++) order[r] = r;
  uint64_t state = seed ^ 0x5EED5A11D;
  for (size_t i = 0; i < k; i++) {
    size_t j = i + (size_t)(splitmix64(&state) % (n - i));
    size_t tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  memset(is_valid, 0, n);
  for (size_t i = 0; i < k; i++) is_valid[order[i]] = 1;
  free(order);
  *n_valid = k;
  return PROMO_OK;
}

static json_t *number_or_null(double x) {
  return isfinite(x) ? json_real(x) : json_null();
}

/* The training record: task, target, settings, per-epoch history, validation metrics and,
 * with held-out rows, test metrics. Metrics objects are stolen; either may be NULL. */
static json_t *training_json(const train_args *a, const promo_nn_options *opt, size_t n_train, size_t n_valid,
                             size_t n_test, const promo_nn_history *h, json_t *metrics, json_t *test_metrics,
                             int n_threads) {
  json_t *layers = json_array(), *history = json_array();
  for (size_t k = 0; layers != NULL && k < opt->n_hidden; k++)
    json_array_append_new(layers, json_integer((json_int_t)opt->hidden[k]));
  for (size_t e = 0; history != NULL && e < h->n_epochs; e++) {
    const promo_nn_epoch *ep = &h->epochs[e];
    json_array_append_new(history, json_pack("{s:I, s:o, s:o, s:o}", "epoch", (json_int_t)e + 1, "train_loss",
                                             number_or_null(ep->train_loss), "valid_loss",
                                             number_or_null(ep->valid_loss), "rows_per_s",
                                             number_or_null(ep->rows_per_s)));
  }
  char seed[32];
  snprintf(seed, sizeof seed, "%llu", (unsigned long long)opt->seed);
  json_t *settings = json_pack("{s:s, s:o, s:I, s:I, s:f, s:f, s:s, s:I, s:I, s:I, s:I, s:I}", "data", a->input,
                               "layers", layers, "epochs", (json_int_t)opt->epochs, "batch",
                               (json_int_t)opt->batch_size, "lr", opt->learning_rate, "valid", a->valid_share,
                               "seed", seed, "patience", (json_int_t)opt->patience, "threads",
                               (json_int_t)n_threads, "train_rows", (json_int_t)n_train, "valid_rows",
                               (json_int_t)n_valid, "test_rows", (json_int_t)n_test);
  if (settings != NULL)
    json_object_set_new(settings, "valid_split", json_string(a->valid_time != NULL ? "latest by time" : "random"));
  if (settings != NULL && a->valid_time != NULL) json_object_set_new(settings, "valid_time", json_string(a->valid_time));
  if (settings != NULL && a->test_share > 0) json_object_set_new(settings, "test_split", json_real(a->test_share));
  if (settings != NULL && a->test_after != NULL) {
    json_object_set_new(settings, "test_after", json_string(a->test_after));
    json_object_set_new(settings, "test_time", json_string(a->test_time != NULL ? a->test_time : a->valid_time));
  }
  json_t *record = json_pack("{s:s, s:s, s:o, s:o, s:I, s:b, s:o}", "task", promo_model_task_name(opt->task), "target",
                             a->t.target, "settings", settings, "history", history, "best_epoch",
                             (json_int_t)h->best_epoch + 1, "stopped_early", h->stopped_early, "metrics",
                             metrics != NULL ? metrics : json_null());
  if (record != NULL && test_metrics != NULL && json_object_set_new(record, "test_metrics", test_metrics) != 0) {
    json_decref(record);
    return NULL;
  }
  if (record == NULL) json_decref(test_metrics);
  return record;
}

/* ------------------------------------------------------------------ run */

/* The tables of one run, released together. */
typedef struct train_state {
  promo_table *all, *pool, *train, *valid, *test;
  promo_trainer_result fit;
  float *y_all, *y_pool, *y_train, *y_valid, *y_test, *pred;
  uint8_t *is_test, *is_valid;
  json_t *training;
  promo_atomic_file *metrics;
  FILE *metrics_fp;
} train_state;

static void state_clear(train_state *s) {
  promo_table_free(s->all);
  promo_table_free(s->pool);
  promo_table_free(s->train);
  promo_table_free(s->valid);
  promo_table_free(s->test);
  promo_trainer_result_clear(&s->fit);
  free(s->y_all);
  free(s->y_pool);
  free(s->y_train);
  free(s->y_valid);
  free(s->y_test);
  free(s->pred);
  free(s->is_test);
  free(s->is_valid);
  json_decref(s->training);
  promo_atomic_abort(s->metrics);
}

static promo_status nomem(promo_error *err) {
  return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
}

/* A new table of the rows with keep[r] == want, in file order, and their targets. */
static promo_status select_rows(const promo_table *t, const float *y, const uint8_t *keep, uint8_t want,
                                promo_table **out, float **y_out) {
  size_t n = t->n_rows, m = 0;
  size_t *rows = malloc((n > 0 ? n : 1) * sizeof *rows);
  *y_out = malloc((n > 0 ? n : 1) * sizeof **y_out);
  if (rows == NULL || *y_out == NULL) {
    free(rows);
    return PROMO_ERR_NOMEM;
  }
  for (size_t r = 0; r < n; r++) {
    if (keep[r] != want) continue;
    (*y_out)[m] = y[r];
    rows[m++] = r;
  }
  promo_status st = promo_table_select(t, rows, m, out);
  free(rows);
  return st;
}

/* Mark the held-out test rows of s->all (none without --test-split or --test-after). */
static promo_status choose_test_rows(const train_args *a, train_state *s, size_t *n_test, promo_error *err) {
  size_t n = s->all->n_rows;
  *n_test = 0;
  memset(s->is_test, 0, n);
  promo_status st = PROMO_OK;
  if (a->test_share > 0) {
    st = promo_split_holdout_share(n, a->test_share, a->t.nn.seed, s->is_test, n_test, err);
  } else if (a->test_after != NULL) {
    const char *column = a->test_time != NULL ? a->test_time : a->valid_time;
    st = promo_split_holdout_after(s->all, column, a->test_after, a->input, s->is_test, n_test, err);
  }
  if (st != PROMO_OK && err->path[0] == '\0') promo_error_at(err, a->input, err->line, err->column);
  return st;
}

/* Mark validation rows among the rows left after the test rows. */
static promo_status choose_valid(const train_args *a, train_state *s, size_t *n_valid, promo_error *err) {
  if (a->valid_time == NULL) {
    if (choose_valid_rows(s->pool->n_rows, a->valid_share, a->t.nn.seed, s->is_valid, n_valid) != PROMO_OK)
      return nomem(err);
    return PROMO_OK;
  }
  ptrdiff_t c = promo_table_find(s->pool, a->valid_time);
  promo_type type = c >= 0 ? s->pool->columns[c].type : PROMO_TYPE_UNKNOWN;
  if (c < 0 || !(type == PROMO_TYPE_DATE || type == PROMO_TYPE_DATETIME || type == PROMO_TYPE_INT ||
                 type == PROMO_TYPE_DECIMAL)) {
    promo_error_at(err, a->input, 0, 0);
    return promo_error_set(err, PROMO_ERR_USAGE,
                           c < 0 ? _("--valid-time names column '%s', which is not in the header")
                                 : _("--valid-time column '%s' holds no dates, times or numbers"),
                           a->valid_time);
  }
  if (promo_split_holdout_latest(s->pool, (size_t)c, a->valid_share, s->is_valid, n_valid) != PROMO_OK)
    return nomem(err);
  return PROMO_OK;
}

/* Load the data, read the target, choose the task and split the rows into training,
 * validation and test rows. */
static promo_status prepare_data(cli *app, train_args *a, train_state *s, size_t *n_valid, size_t *n_test,
                                 promo_error *err) {
  promo_load_options load;
  promo_load_options_init(&load);
  promo_status st = promo_table_load(a->input, &load, &app->ctx, &s->all, err);
  if (st != PROMO_OK) return st;
  size_t n = s->all->n_rows;
  if (n < 2) {
    promo_error_at(err, a->input, 0, 0);
    return promo_error_set(err, PROMO_ERR_DATA, _("the file has %zu data rows; training needs at least 2"), n);
  }
  s->y_all = malloc(n * sizeof *s->y_all);
  s->is_test = malloc(n);
  s->is_valid = malloc(n);
  if (s->y_all == NULL || s->is_test == NULL || s->is_valid == NULL) return nomem(err);
  if ((st = cli_train_prepare(&app->ctx, &a->t, s->all, a->input, s->y_all, err)) != PROMO_OK) return st;

  if ((st = choose_test_rows(a, s, n_test, err)) != PROMO_OK) return st;
  if (n - *n_test < 2) {
    promo_error_at(err, a->input, 0, 0);
    return promo_error_set(err, PROMO_ERR_USAGE, _("only %zu rows are left for training after the test rows"),
                           n - *n_test);
  }
  if (select_rows(s->all, s->y_all, s->is_test, 0, &s->pool, &s->y_pool) != PROMO_OK ||
      (*n_test > 0 && select_rows(s->all, s->y_all, s->is_test, 1, &s->test, &s->y_test) != PROMO_OK))
    return nomem(err);

  if ((st = choose_valid(a, s, n_valid, err)) != PROMO_OK) return st;
  if (select_rows(s->pool, s->y_pool, s->is_valid, 0, &s->train, &s->y_train) != PROMO_OK ||
      select_rows(s->pool, s->y_pool, s->is_valid, 1, &s->valid, &s->y_valid) != PROMO_OK)
    return nomem(err);
  return PROMO_OK;
}

/* Predict the rows of t and compute their metrics (without curves) into *out. */
static promo_status score_rows(cli *app, const train_args *a, train_state *s, const promo_table *t, const float *y,
                               json_t **out, promo_error *err) {
  free(s->pred);
  s->pred = malloc((t->n_rows > 0 ? t->n_rows : 1) * sizeof *s->pred);
  if (s->pred == NULL) return nomem(err);
  promo_status st = promo_model_predict_table(s->fit.nn, s->fit.pipeline, t, a->input, &app->ctx, s->pred, err);
  if (st != PROMO_OK) return st;
  promo_eval_options opt;
  promo_eval_options_init(&opt);
  opt.curves = false;
  st = promo_eval_metrics(a->t.nn.task, s->pred, y, t->n_rows, &opt, out, err);
  if (st != PROMO_OK && err->path[0] == '\0') promo_error_at(err, a->input, 0, 0);
  return st;
}

static promo_status write_metrics(const train_args *a, train_state *s, promo_error *err) {
  if (json_dumpf(s->training, s->metrics_fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
      fputc('\n', s->metrics_fp) == EOF)
    return promo_error_errno(err, errno, a->metrics_path, _("writing the metrics"));
  return PROMO_OK;
}

/* " key=value" for every real-valued metric. */
static void print_metrics(const json_t *metrics) {
  const char *key;
  const json_t *value;
  json_object_foreach((json_t *)metrics, key, value) {
    if (json_is_real(value) && strcmp(key, "threshold") != 0) fprintf(stderr, " %s=%.4f", key, json_real_value(value));
  }
}

static void print_summary(const cli *app, const train_args *a, const train_state *s, size_t n_valid,
                          size_t n_test) {
  if (app->level < PROMO_LOG_INFO) return;
  fprintf(stderr, _("trained on %zu rows, validated on %zu, %zu features, %zu epochs; model in %s"),
          s->train->n_rows, n_valid, s->fit.n_features, s->fit.history.n_epochs, a->output);
  fputc('\n', stderr);
  const json_t *metrics = json_object_get(s->training, "metrics");
  if (json_is_object(metrics)) {
    fputs(_("validation:"), stderr);
    print_metrics(metrics);
    fputc('\n', stderr);
  }
  const json_t *test = json_object_get(s->training, "test_metrics");
  if (json_is_object(test)) {
    fprintf(stderr, _("test (%zu held-out rows):"), n_test);
    print_metrics(test);
    fputc('\n', stderr);
  }
}

/* Fit on the training rows and compute the validation and test metrics into the
 * training record. */
static promo_status fit_and_score(cli *app, train_args *a, train_state *s, size_t n_valid, size_t n_test,
                                  promo_error *err) {
  promo_trainer_options topt;
  promo_trainer_options_init(&topt);
  topt.pipeline = a->t.pipeline;
  topt.nn = a->t.nn;
  promo_status st = promo_model_fit_tables(s->train, s->y_train, s->valid, s->y_valid, a->input, &topt, &app->ctx,
                                           &s->fit, err);
  if (st != PROMO_OK) return st;
  promo_log(&app->ctx, PROMO_LOG_INFO,
            _("%zu training rows, %zu validation rows, %zu test rows (seed %llu), %zu features"), s->train->n_rows,
            n_valid, n_test, (unsigned long long)a->t.nn.seed, s->fit.n_features);

  json_t *metrics = NULL, *test_metrics = NULL;
  if (n_valid > 0 && (st = score_rows(app, a, s, s->valid, s->y_valid, &metrics, err)) != PROMO_OK) return st;
  if (n_test > 0 && (st = score_rows(app, a, s, s->test, s->y_test, &test_metrics, err)) != PROMO_OK) {
    json_decref(metrics);
    return st;
  }
  s->training = training_json(a, promo_nn_get_options(s->fit.nn), s->train->n_rows, n_valid, n_test,
                              &s->fit.history, metrics, test_metrics, app->ctx.n_threads);
  return s->training != NULL ? PROMO_OK : nomem(err);
}

static promo_status run(cli *app, train_args *a, promo_error *err) {
  train_state s;
  memset(&s, 0, sizeof s);
  size_t n_valid = 0, n_test = 0;
  promo_status st = PROMO_OK;

  /* Probe the model path now, so that a bad path fails before training. */
  promo_atomic_file *probe = NULL;
  FILE *probe_fp;
  if ((st = promo_atomic_open(a->output, &probe, &probe_fp, err)) != PROMO_OK) goto done;
  promo_atomic_abort(probe);
  if (a->metrics_path != NULL && (st = promo_atomic_open(a->metrics_path, &s.metrics, &s.metrics_fp, err)) != PROMO_OK)
    goto done;

  if ((st = prepare_data(app, a, &s, &n_valid, &n_test, err)) != PROMO_OK) goto done;
  if ((st = fit_and_score(app, a, &s, n_valid, n_test, err)) != PROMO_OK) goto done;
  if (s.metrics_fp != NULL && (st = write_metrics(a, &s, err)) != PROMO_OK) goto done;
  if ((st = promo_model_save(a->output, s.fit.nn, s.fit.pipeline, s.training, err)) != PROMO_OK) goto done;
  if (s.metrics != NULL) {
    st = promo_atomic_commit(s.metrics, err);
    s.metrics = NULL;
    if (st != PROMO_OK) goto done;
  }
  print_summary(app, a, &s, n_valid, n_test);

done:
  state_clear(&s);
  return st;
}

int cli_train(cli *app, int argc, char **argv) {
  train_args *a = calloc(1, sizeof *a);
  if (a == NULL) {
    cli_error("%s", _("out of memory"));
    return EXIT_FAILED;
  }
  cli_train_options_init(&a->t, "train");
  a->valid_share = 0.2;
  int rc = parse_args(a, argc, argv);
  if (rc < 0) {
    rc = EXIT_OK; /* --help */
  } else if (rc == EXIT_OK) {
    promo_error err;
    promo_error_clear(&err);
    promo_status st = run(app, a, &err);
    if (st != PROMO_OK) {
      cli_print_error(&err);
      rc = cli_exit_code(st);
    }
  }
  cli_train_options_clear(&a->t);
  free(a);
  return rc;
}
