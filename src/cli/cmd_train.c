/* `promo train`: loads a CSV file, holds out validation rows, fits the feature pipeline on
 * the training rows only, trains the network and saves both in one model file. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "promo/data.h"
#include "promo/feature.h"
#include "promo/model.h"

#define MAX_ITEMS 1024

typedef struct train_args {
  const char *input, *output, *metrics_path, *target, *task_name;
  promo_nn_options nn;
  double valid_share;
  const char *valid_time;  /* hold out the latest rows by this column instead of random ones */
  promo_pipeline_options opt;
  const char *ignore[2 * MAX_ITEMS];
  const char *id_names[MAX_ITEMS];
  size_t n_ids, n_ignore_given;
  promo_pipeline_rule rules[MAX_ITEMS];
  cli_strings strings;
} train_args;


/* A whole number in [lo, hi] for option `name`, or a usage error. */
static int parse_count(const char *name, const char *text, long long lo, long long hi, long long *out) {
  char *end;
  errno = 0;
  long long n = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || n < lo || n > hi)
    return cli_usage_error("train", _("invalid %s '%s'; give a whole number from %lld to %lld"), name, text,
                           lo, hi);
  *out = n;
  return EXIT_OK;
}

static int parse_layers(train_args *a, const char *text) {
  const char *items[PROMO_NN_MAX_HIDDEN + 1];
  long n = cli_split_list(&a->strings, text, items, PROMO_NN_MAX_HIDDEN + 1);
  if (n < 0 || n > PROMO_NN_MAX_HIDDEN)
    return cli_usage_error("train", _("invalid --layers '%s'; give at most %d unit counts, such as 128,64"),
                           text, PROMO_NN_MAX_HIDDEN);
  for (long k = 0; k < n; k++) {
    long long units = 0;
    if (parse_count("--layers", items[k], 1, 65536, &units) != EXIT_OK) return EXIT_USAGE;
    a->nn.hidden[k] = (size_t)units;
  }
  a->nn.n_hidden = (size_t)n;
  return EXIT_OK;
}

static int parse_real(const char *name, const char *text, double lo, double hi, bool open_lo, double *out) {
  char *end;
  errno = 0;
  double x = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !(open_lo ? x > lo : x >= lo) || !(x <= hi) ||
      (!open_lo && !(x < hi)))
    return cli_usage_error("train", _("invalid %s '%s'; give a number in %s%g, %g)"), name, text,
                           open_lo ? "(" : "[", lo, hi);
  *out = x;
  return EXIT_OK;
}

/* One option with a value; returns EXIT_OK, a usage exit code, or -2 when not matched. */
static int parse_value_option(train_args *a, int argc, char **argv, int *i) {
  const char *v = NULL;
  int got = 0;
  long long n = 0;
  int rc = EXIT_OK;
#define VALUE(name) ((got = cli_option_value(argc, argv, i, name, &v)) != 0)
  if (VALUE("-o") || (got == 0 && VALUE("--output"))) {
    a->output = v;
  } else if (VALUE("--target")) {
    a->target = v;
  } else if (VALUE("--task")) {
    a->task_name = v;
  } else if (VALUE("--metrics")) {
    a->metrics_path = v;
  } else if (VALUE("--layers")) {
    if (got > 0) rc = parse_layers(a, v);
  } else if (VALUE("--epochs")) {
    if (got > 0 && (rc = parse_count("--epochs", v, 1, 100000, &n)) == EXIT_OK) a->nn.epochs = (size_t)n;
  } else if (VALUE("--batch")) {
    if (got > 0 && (rc = parse_count("--batch", v, 1, 1000000, &n)) == EXIT_OK) a->nn.batch_size = (size_t)n;
  } else if (VALUE("--patience")) {
    if (got > 0 && (rc = parse_count("--patience", v, 0, 100000, &n)) == EXIT_OK) a->nn.patience = (size_t)n;
  } else if (VALUE("--seed")) {
    if (got > 0 && (rc = parse_count("--seed", v, 0, INT64_MAX, &n)) == EXIT_OK) a->nn.seed = (uint64_t)n;
  } else if (VALUE("--lr")) {
    if (got > 0) rc = parse_real("--lr", v, 0, 10, true, &a->nn.learning_rate);
  } else if (VALUE("--valid-time")) {
    if (got > 0) a->valid_time = v;
  } else if (VALUE("--valid")) {
    if (got > 0) rc = parse_real("--valid", v, 0, 1, false, &a->valid_share);
  } else if (VALUE("--ignore")) {
    long k = got < 0 ? -1 : cli_split_list(&a->strings, v, a->ignore, MAX_ITEMS);
    if (k < 0) return cli_usage_error("train", "%s", _("--ignore needs a list of at most 1024 columns"));
    a->n_ignore_given = (size_t)k;
  } else if (VALUE("--id")) {
    long k = got < 0 ? -1 : cli_split_list(&a->strings, v, a->id_names, MAX_ITEMS);
    if (k < 0) return cli_usage_error("train", "%s", _("--id needs a list of at most 1024 columns"));
    a->n_ids = (size_t)k;
  } else if (VALUE("--transform")) {
    if (got > 0) rc = cli_parse_transforms(&a->strings, "train", v, a->rules, MAX_ITEMS, &a->opt);
  } else {
    return -2;
  }
#undef VALUE
  return got < 0 ? EXIT_USAGE : rc;
}

static int parse_args(train_args *a, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      cli_print_help(stdout, "train");
      return -1;
    }
    int rc = parse_value_option(a, argc, argv, &i);
    if (rc == -2) {
      if (arg[0] == '-' && arg[1] != '\0') return cli_usage_error("train", _("unknown option '%s'"), arg);
      if (a->input != NULL)
        return cli_usage_error("train", _("unexpected argument '%s'; give one input file"), arg);
      a->input = arg;
    } else if (rc != EXIT_OK) {
      return rc;
    }
  }
  if (a->input == NULL) return cli_usage_error("train", "%s", _("no input file given"));
  if (a->target == NULL) return cli_usage_error("train", "%s", _("no target given; add --target COL"));
  if (a->output == NULL) return cli_usage_error("train", "%s", _("no model file given; add -o MODEL.promo"));
  if (a->task_name != NULL && strcmp(a->task_name, "binary") != 0 && strcmp(a->task_name, "regression") != 0 &&
      strcmp(a->task_name, "poisson") != 0)
    return cli_usage_error("train", _("invalid --task '%s'; use binary, regression or poisson"), a->task_name);
  if (a->valid_share == 0) a->nn.restore_best = false;
  if (a->nn.patience > 0 && a->valid_share == 0)
    return cli_usage_error("train", "%s", _("--patience needs validation rows; leave out --valid 0"));

  /* Columns copied through as ids are not features. */
  a->opt.n_ignore = a->n_ignore_given;
  for (size_t k = 0; k < a->n_ids; k++) a->ignore[a->opt.n_ignore++] = a->id_names[k];
  a->opt.ignore = a->ignore;
  a->opt.target = a->target;

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

/* ------------------------------------------------------------------ data */

typedef struct timed_row {
  double time;
  size_t row;
} timed_row;

static int compare_timed_rows(const void *a, const void *b) {
  const timed_row *x = a, *y = b;
  if (x->time != y->time) return x->time < y->time ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

/* Mark the round(share * n) latest rows by column c as validation rows, so the model is
 * validated on a period after the one it learned from. Rows without a time count as the
 * oldest; ties keep file order. */
static promo_status choose_valid_by_time(const promo_table *t, size_t c, double share, uint8_t *is_valid,
                                         size_t *n_valid) {
  size_t n = t->n_rows;
  timed_row *rows = malloc((n > 0 ? n : 1) * sizeof *rows);
  if (rows == NULL) return PROMO_ERR_NOMEM;
  const promo_column *col = &t->columns[c];
  for (size_t r = 0; r < n; r++) {
    double time = -INFINITY;
    if (!col->is_missing[r]) time = col->type == PROMO_TYPE_DECIMAL ? col->reals[r] : (double)col->ints[r];
    rows[r] = (timed_row){time, r};
  }
  qsort(rows, n, sizeof *rows, compare_timed_rows);
  size_t k = (size_t)llround(share * (double)n);
  memset(is_valid, 0, n);
  for (size_t i = n - k; i < n; i++) is_valid[rows[i].row] = 1;
  free(rows);
  *n_valid = k;
  return PROMO_OK;
}

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

/* ------------------------------------------------------------------ metrics */

typedef struct scored_row {
  float score;
  float label;
} scored_row;

static int by_score(const void *pa, const void *pb) {
  float a = ((const scored_row *)pa)->score, b = ((const scored_row *)pb)->score;
  return (a > b) - (a < b);
}

/* ROC AUC by the rank-sum (Mann-Whitney U) formula with tied scores given their average
 * rank; NAN when one class is absent. */
static double roc_auc(const float *p, const float *y, size_t n, promo_status *st) {
  scored_row *rows = malloc((n > 0 ? n : 1) * sizeof *rows);
  if (rows == NULL) {
    *st = PROMO_ERR_NOMEM;
    return NAN;
  }
  for (size_t i = 0; i < n; i++) rows[i] = (scored_row){p[i], y[i]};
  qsort(rows, n, sizeof *rows, by_score);
  double rank_sum = 0, n_pos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && rows[j + 1].score == rows[i].score) j++;
    double rank = 0.5 * (double)(i + j) + 1.0;
    for (size_t k = i; k <= j; k++) {
      if (rows[k].label == 1.0f) {
        rank_sum += rank;
        n_pos += 1;
      }
    }
    i = j + 1;
  }
  free(rows);
  double n_neg = (double)n - n_pos;
  if (n_pos == 0 || n_neg == 0) return NAN;
  return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg);
}

static json_t *number_or_null(double x) {
  return isfinite(x) ? json_real(x) : json_null();
}

/* Validation metrics of predictions p against y, in double. */
static json_t *valid_metrics(promo_task task, const float *p, const float *y, size_t n, promo_status *st) {
  if (task == PROMO_TASK_BINARY) {
    double log_loss = 0, correct = 0;
    for (size_t i = 0; i < n; i++) {
      double q = fmin(fmax((double)p[i], 1e-15), 1 - 1e-15);
      log_loss -= y[i] == 1.0f ? log(q) : log(1 - q);
      correct += (p[i] >= 0.5f) == (y[i] == 1.0f);
    }
    double auc = roc_auc(p, y, n, st);
    return json_pack("{s:o, s:o, s:o}", "auc", number_or_null(auc), "log_loss",
                     number_or_null(log_loss / (double)n), "accuracy", number_or_null(correct / (double)n));
  }
  double sq = 0, abs_err = 0, abs_y = 0;
  for (size_t i = 0; i < n; i++) {
    double d = (double)p[i] - (double)y[i];
    sq += d * d;
    abs_err += fabs(d);
    abs_y += fabs((double)y[i]);
  }
  return json_pack("{s:o, s:o, s:o}", "rmse", number_or_null(sqrt(sq / (double)n)), "mae",
                   number_or_null(abs_err / (double)n), "wape", number_or_null(abs_y > 0 ? abs_err / abs_y : NAN));
}

/* The training record: task, target, settings, per-epoch history and final metrics. */
static json_t *training_json(const train_args *a, const promo_nn_options *opt, size_t n_train, size_t n_valid,
                             const promo_nn_history *h, json_t *metrics, int n_threads) {
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
  json_t *settings = json_pack("{s:s, s:o, s:I, s:I, s:f, s:f, s:s, s:I, s:I, s:I, s:I}", "data", a->input,
                               "layers", layers, "epochs", (json_int_t)opt->epochs, "batch",
                               (json_int_t)opt->batch_size, "lr", opt->learning_rate, "valid", a->valid_share,
                               "seed", seed, "patience", (json_int_t)opt->patience, "threads",
                               (json_int_t)n_threads, "train_rows", (json_int_t)n_train, "valid_rows",
                               (json_int_t)n_valid);
  if (settings != NULL)
    json_object_set_new(settings, "valid_split", json_string(a->valid_time != NULL ? "latest by time" : "random"));
  if (settings != NULL && a->valid_time != NULL) json_object_set_new(settings, "valid_time", json_string(a->valid_time));
  return json_pack("{s:s, s:s, s:o, s:o, s:I, s:b, s:o}", "task", promo_model_task_name(opt->task), "target", a->target,
                   "settings", settings, "history", history, "best_epoch", (json_int_t)h->best_epoch + 1,
                   "stopped_early", h->stopped_early, "metrics", metrics != NULL ? metrics : json_null());
}

/* ------------------------------------------------------------------ run */

/* The tables and matrices of one run, released together. */
typedef struct train_state {
  promo_table *all, *train, *valid;
  promo_trainer_result fit;
  float *y_all, *y_train, *y_valid, *p_valid;
  uint8_t *is_valid;
  json_t *training;
  promo_atomic_file *metrics;
  FILE *metrics_fp;
} train_state;

static void state_clear(train_state *s) {
  promo_table_free(s->all);
  promo_table_free(s->train);
  promo_table_free(s->valid);
  promo_trainer_result_clear(&s->fit);
  free(s->y_all);
  free(s->y_train);
  free(s->y_valid);
  free(s->p_valid);
  free(s->is_valid);
  json_decref(s->training);
  promo_atomic_abort(s->metrics);
}

static promo_status nomem(promo_error *err) {
  return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
}

/* Every named column must exist in the header. */
static promo_status check_columns(const promo_table *t, const char *option, const char *const *names, size_t n,
                                  const char *path, promo_error *err) {
  for (size_t k = 0; k < n; k++) {
    if (promo_table_find(t, names[k]) >= 0) continue;
    promo_error_at(err, path, 0, 0);
    return promo_error_set(err, PROMO_ERR_USAGE, _("%s names column '%s', which is not in the header"), option,
                           names[k]);
  }
  return PROMO_OK;
}

/* A new table of the rows with keep[r] == want (n_out of them), in file order. */
static promo_status select_rows(const promo_table *t, const uint8_t *keep, uint8_t want, size_t n_out,
                                promo_table **out) {
  size_t *rows = malloc((n_out > 0 ? n_out : 1) * sizeof *rows);
  if (rows == NULL) return PROMO_ERR_NOMEM;
  for (size_t r = 0, i = 0; r < t->n_rows; r++)
    if (keep[r] == want) rows[i++] = r;
  promo_status st = promo_table_select(t, rows, n_out, out);
  free(rows);
  return st;
}

/* Load the data, read the target, choose the task and split the rows. */
static promo_status prepare_data(cli *app, train_args *a, train_state *s, size_t *n_valid, promo_error *err) {
  promo_load_options load;
  promo_load_options_init(&load);
  promo_status st = promo_table_load(a->input, &load, &app->ctx, &s->all, err);
  if (st != PROMO_OK) return st;
  size_t n = s->all->n_rows;
  if (n < 2) {
    promo_error_at(err, a->input, 0, 0);
    return promo_error_set(err, PROMO_ERR_DATA, _("the file has %zu data rows; training needs at least 2"), n);
  }
  if ((st = check_columns(s->all, "--target", &a->target, 1, a->input, err)) != PROMO_OK ||
      (st = check_columns(s->all, "--id", a->id_names, a->n_ids, a->input, err)) != PROMO_OK ||
      (st = check_columns(s->all, "--ignore", a->ignore, a->n_ignore_given, a->input, err)) != PROMO_OK)
    return st;

  s->y_all = malloc(n * sizeof *s->y_all);
  s->is_valid = malloc(n);
  if (s->y_all == NULL || s->is_valid == NULL) return nomem(err);
  if ((st = promo_model_read_target(s->all, a->target, a->input, s->y_all, err)) != PROMO_OK) return st;

  bool zero_one = promo_model_infer_task(s->y_all, n) == PROMO_TASK_BINARY;
  if (a->task_name == NULL) {
    a->nn.task = zero_one ? PROMO_TASK_BINARY : PROMO_TASK_REGRESSION;
    promo_log(&app->ctx, PROMO_LOG_INFO, _("task: %s (target '%s' %s)"), promo_model_task_name(a->nn.task), a->target,
              zero_one ? _("holds only 0 and 1") : _("holds other values than 0 and 1"));
  } else {
    promo_model_task_parse(a->task_name, &a->nn.task);
  }
  if (a->nn.task == PROMO_TASK_BINARY && !zero_one) {
    promo_error_at(err, a->input, 0, 0);
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("--task binary needs a target of 0 and 1, but '%s' holds other values; "
                             "use --task regression or recode the column"),
                           a->target);
  }

  if (a->valid_time != NULL) {
    ptrdiff_t c = promo_table_find(s->all, a->valid_time);
    promo_type type = c >= 0 ? s->all->columns[c].type : PROMO_TYPE_UNKNOWN;
    if (c < 0 || !(type == PROMO_TYPE_DATE || type == PROMO_TYPE_DATETIME || type == PROMO_TYPE_INT ||
                   type == PROMO_TYPE_DECIMAL)) {
      promo_error_at(err, a->input, 0, 0);
      return promo_error_set(err, PROMO_ERR_USAGE,
                             c < 0 ? _("--valid-time names column '%s', which is not in the header")
                                   : _("--valid-time column '%s' holds no dates, times or numbers"),
                             a->valid_time);
    }
    if (choose_valid_by_time(s->all, (size_t)c, a->valid_share, s->is_valid, n_valid) != PROMO_OK) return nomem(err);
  } else if (choose_valid_rows(n, a->valid_share, a->nn.seed, s->is_valid, n_valid) != PROMO_OK) {
    return nomem(err);
  }
  if ((st = select_rows(s->all, s->is_valid, 0, n - *n_valid, &s->train)) != PROMO_OK ||
      (st = select_rows(s->all, s->is_valid, 1, *n_valid, &s->valid)) != PROMO_OK)
    return nomem(err);
  s->y_train = malloc(n * sizeof *s->y_train);
  s->y_valid = malloc(n * sizeof *s->y_valid);
  if (s->y_train == NULL || s->y_valid == NULL) return nomem(err);
  for (size_t r = 0, i = 0, j = 0; r < n; r++) {
    if (s->is_valid[r]) s->y_valid[j++] = s->y_all[r];
    else s->y_train[i++] = s->y_all[r];
  }
  return PROMO_OK;
}

static promo_status write_metrics(const train_args *a, train_state *s, promo_error *err) {
  if (json_dumpf(s->training, s->metrics_fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
      fputc('\n', s->metrics_fp) == EOF)
    return promo_error_errno(err, errno, a->metrics_path, _("writing the metrics"));
  return PROMO_OK;
}

static void print_summary(const cli *app, const train_args *a, const train_state *s, size_t n_valid) {
  if (app->level < PROMO_LOG_INFO) return;
  const json_t *metrics = json_object_get(s->training, "metrics");
  fprintf(stderr, _("trained on %zu rows, validated on %zu, %zu features, %zu epochs; model in %s"),
          s->train->n_rows, n_valid, s->fit.n_features, s->fit.history.n_epochs, a->output);
  const char *key;
  const json_t *value;
  json_object_foreach((json_t *)metrics, key, value) {
    if (json_is_number(value)) fprintf(stderr, " %s=%.4f", key, json_number_value(value));
  }
  fputc('\n', stderr);
}

static promo_status run(cli *app, train_args *a, promo_error *err) {
  train_state s;
  memset(&s, 0, sizeof s);
  size_t n_valid = 0;
  promo_status st = PROMO_OK;

  /* Probe the model path now, so that a bad path fails before training. */
  promo_atomic_file *probe = NULL;
  FILE *probe_fp;
  if ((st = promo_atomic_open(a->output, &probe, &probe_fp, err)) != PROMO_OK) goto done;
  promo_atomic_abort(probe);
  if (a->metrics_path != NULL && (st = promo_atomic_open(a->metrics_path, &s.metrics, &s.metrics_fp, err)) != PROMO_OK)
    goto done;

  if ((st = prepare_data(app, a, &s, &n_valid, err)) != PROMO_OK) goto done;
  promo_trainer_options topt = {a->opt, a->nn, true};
  if ((st = promo_model_fit_tables(s.train, s.y_train, s.valid, s.y_valid, a->input, &topt, &app->ctx, &s.fit,
                                   err)) != PROMO_OK)
    goto done;
  promo_log(&app->ctx, PROMO_LOG_INFO, _("%zu training rows, %zu validation rows (seed %llu), %zu features"),
            s.train->n_rows, n_valid, (unsigned long long)a->nn.seed, s.fit.n_features);

  json_t *metrics = NULL;
  if (n_valid > 0) {
    s.p_valid = malloc(n_valid * sizeof *s.p_valid);
    if (s.p_valid == NULL) {
      st = nomem(err);
      goto done;
    }
    if ((st = promo_model_predict_table(s.fit.nn, s.fit.pipeline, s.valid, a->input, &app->ctx, s.p_valid, err)) !=
        PROMO_OK)
      goto done;
    metrics = valid_metrics(a->nn.task, s.p_valid, s.y_valid, n_valid, &st);
    if (st != PROMO_OK || metrics == NULL) {
      json_decref(metrics);
      st = nomem(err);
      goto done;
    }
  }
  s.training = training_json(a, promo_nn_get_options(s.fit.nn), s.train->n_rows, n_valid, &s.fit.history, metrics,
                             app->ctx.n_threads);
  if (s.training == NULL) {
    st = nomem(err);
    goto done;
  }

  if (s.metrics_fp != NULL && (st = write_metrics(a, &s, err)) != PROMO_OK) goto done;
  if ((st = promo_model_save(a->output, s.fit.nn, s.fit.pipeline, s.training, err)) != PROMO_OK) goto done;
  if (s.metrics != NULL) {
    st = promo_atomic_commit(s.metrics, err);
    s.metrics = NULL;
    if (st != PROMO_OK) goto done;
  }
  print_summary(app, a, &s, n_valid);

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
  promo_pipeline_options_init(&a->opt);
  promo_nn_options_init(&a->nn);
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
  cli_strings_clear(&a->strings);
  free(a);
  return rc;
}
