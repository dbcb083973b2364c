/* `promo eval`: scores a saved model on held-out rows of a CSV file and prints every
 * metric of its task as a table, with the same numbers (and the curves) in JSON. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/metric_table.h"
#include "cli/train_options.h"
#include "promo/data.h"
#include "promo/eval.h"
#include "promo/feature.h"
#include "promo/model.h"

void cli_print_help_eval(FILE *out) {
  fputs(_("Usage: promo eval MODEL.promo TEST.csv [options]\n"
          "\n"
          "Score a model file from 'promo train' on rows it did not train on and print\n"
          "every metric of its task: AUC, PR AUC, log loss, Brier score, accuracy,\n"
          "precision, recall and F1 for a binary target; RMSE, MAE, MAPE, WAPE, R\xC2\xB2,\n"
          "bias and Poisson deviance for numbers and counts. A metric that cannot be\n"
          "computed on these rows (AUC when every row has the same class) is printed as\n"
          "'undefined', with the reason on stderr.\n"
          "\n"
          "Options:\n"
          "  --target COL       column with the actual values (default: the model's target)\n"
          "  --group COL        also print the mean AUC over the groups of COL (such as a\n"
          "                     coupon or a shop) that hold both classes\n"
          "  --treatment COL    0/1 column marking who got the promotion; adds the Qini\n"
          "                     coefficient, AUUC and uplift in the top 10/20/30%\n"
          "  --threshold X      probability from which a row counts as positive for\n"
          "                     accuracy, precision, recall and F1 (default 0.5)\n"
          "  --json FILE        write the metrics, notes and curves as JSON\n"
          "  -h, --help         show this help\n"
          "\n"
          "Exit codes: 0 done, 1 failed, 2 usage error, 3 invalid model file or data.\n"),
        out);
}

typedef struct eval_args {
  const char *model_path, *input, *target, *group, *treatment, *json_path;
  double threshold;
} eval_args;

static int parse_args(eval_args *a, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *v = NULL;
    int got = 0;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      cli_print_help_eval(stdout);
      return -1;
    }
    if ((got = cli_option_value(argc, argv, &i, "--target", &v)) != 0) {
      a->target = v;
    } else if ((got = cli_option_value(argc, argv, &i, "--group", &v)) != 0) {
      a->group = v;
    } else if ((got = cli_option_value(argc, argv, &i, "--treatment", &v)) != 0) {
      a->treatment = v;
    } else if ((got = cli_option_value(argc, argv, &i, "--json", &v)) != 0) {
      a->json_path = v;
    } else if ((got = cli_option_value(argc, argv, &i, "--threshold", &v)) != 0) {
      if (got > 0 && cli_parse_real("eval", "--threshold", v, 0, 1, true, &a->threshold) != EXIT_OK) return EXIT_USAGE;
    } else if (arg[0] == '-' && arg[1] != '\0') {
      return cli_usage_error("eval", _("unknown option '%s'"), arg);
    } else if (a->model_path == NULL) {
      a->model_path = arg;
    } else if (a->input == NULL) {
      a->input = arg;
    } else {
      return cli_usage_error("eval", _("unexpected argument '%s'; give MODEL.promo and TEST.csv"), arg);
    }
    if (got < 0) return EXIT_USAGE;
  }
  if (a->model_path == NULL || a->input == NULL)
    return cli_usage_error("eval", "%s", _("give the model file and the test data: promo eval MODEL.promo TEST.csv"));
  if (a->json_path != NULL) {
    const char *paths[] = {a->model_path, a->input};
    const char *names[] = {"MODEL.promo", "TEST.csv"};
    for (size_t k = 0; k < 2; k++)
      if (strcmp(a->json_path, paths[k]) == 0 || promo_same_file(a->json_path, paths[k]))
        return cli_usage_error("eval", _("%s and %s name the same file '%s'; give each its own"), names[k], "--json",
                               a->json_path);
  }
  return EXIT_OK;
}

/* ------------------------------------------------------------------ run */

typedef struct eval_state {
  promo_nn *nn;
  promo_pipeline *pipeline;
  json_t *training, *metrics;
  promo_table *t, *counterfactual;
  float *y, *pred, *treatment, *uplift, *pred_off;
  int64_t *groups;
  promo_atomic_file *json_file;
  FILE *json_fp;
} eval_state;

static void state_clear(eval_state *s) {
  promo_nn_free(s->nn);
  promo_pipeline_free(s->pipeline);
  json_decref(s->training);
  json_decref(s->metrics);
  promo_table_free(s->t);
  promo_table_free(s->counterfactual);
  free(s->y);
  free(s->pred);
  free(s->treatment);
  free(s->uplift);
  free(s->pred_off);
  free(s->groups);
  promo_atomic_abort(s->json_file);
}

static promo_status nomem(promo_error *err) {
  return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
}

/* Load the test file with the model's input columns typed as in training, so values
 * parse as they did there, and check that every input column is present. */
static promo_status load_test_table(const eval_args *a, eval_state *s, promo_context *ctx, promo_error *err) {
  promo_load_options load;
  promo_load_options_init(&load);
  load.type_columns = promo_pipeline_input_names(s->pipeline);
  load.types = promo_pipeline_input_types(s->pipeline);
  load.n_types = promo_pipeline_n_inputs(s->pipeline);
  load.ignore_unknown_types = true;
  promo_status st = promo_table_load(a->input, &load, ctx, &s->t, err);
  if (st != PROMO_OK) return st;
  for (size_t i = 0; i < promo_pipeline_n_inputs(s->pipeline); i++) {
    const char *name = promo_pipeline_input_name(s->pipeline, i);
    if (promo_table_find(s->t, name) >= 0) continue;
    promo_error_at(err, a->input, 1, 0);
    snprintf(err->column_name, sizeof err->column_name, "%s", name);
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("column '%s', an input of the model, is not in the header; the test file needs "
                             "every column the model was trained on"),
                           name);
  }
  if (s->t->n_rows == 0) {
    promo_error_at(err, a->input, 0, 0);
    return promo_error_set(err, PROMO_ERR_DATA, "%s", _("the test file has no data rows"));
  }
  return PROMO_OK;
}

/* Read a numeric column (the target or the treatment) into *out [n_rows]. */
static promo_status read_numbers(const eval_args *a, const eval_state *s, const char *option, const char *column,
                                 float **out, promo_error *err) {
  if (promo_table_find(s->t, column) < 0) {
    promo_error_at(err, a->input, 0, 0);
    return promo_error_set(err, PROMO_ERR_USAGE, _("%s names column '%s', which is not in the header"), option,
                           column);
  }
  const promo_column *col = &s->t->columns[promo_table_find(s->t, column)];
  if (strcmp(option, "--treatment") == 0 && col->type != PROMO_TYPE_INT && col->type != PROMO_TYPE_BOOL &&
      col->type != PROMO_TYPE_DECIMAL) {
    promo_error_at(err, a->input, 0, 0);
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("--treatment column '%s' holds %s values; it must hold 1 for treated rows and 0 for "
                             "the others (derive such a column first)"),
                           column, promo_type_name(col->type));
  }
  *out = malloc(s->t->n_rows * sizeof **out);
  if (*out == NULL) return nomem(err);
  return promo_model_read_target(s->t, column, a->input, *out, err);
}

/* The predicted uplift of every row: the prediction with the treatment column set to 1
 * minus the prediction with it set to 0. Possible only when the treatment column is a
 * numeric input of the model; otherwise s->uplift stays NULL and rows are ranked by the
 * prediction. */
static promo_status predict_uplift(const eval_args *a, eval_state *s, promo_context *ctx, promo_error *err) {
  bool is_input = false;
  for (size_t i = 0; i < promo_pipeline_n_inputs(s->pipeline); i++)
    if (strcmp(promo_pipeline_input_name(s->pipeline, i), a->treatment) == 0) is_input = true;
  ptrdiff_t c = promo_table_find(s->t, a->treatment);
  const promo_column *col = &s->t->columns[c];
  if (!is_input || col->codes != NULL) return PROMO_OK;

  size_t n = s->t->n_rows;
  size_t *rows = malloc(n * sizeof *rows);
  s->uplift = malloc(n * sizeof *s->uplift);
  s->pred_off = malloc(n * sizeof *s->pred_off);
  if (rows == NULL || s->uplift == NULL || s->pred_off == NULL) {
    free(rows);
    return nomem(err);
  }
  for (size_t r = 0; r < n; r++) rows[r] = r;
  promo_status st = promo_table_select(s->t, rows, n, &s->counterfactual);
  free(rows);
  if (st != PROMO_OK) return nomem(err);

  promo_column *cf = &s->counterfactual->columns[c];
  for (int arm = 1; arm >= 0 && st == PROMO_OK; arm--) {
    for (size_t r = 0; r < n; r++) {
      if (cf->ints != NULL) cf->ints[r] = arm;
      if (cf->reals != NULL) cf->reals[r] = arm;
      cf->is_missing[r] = cf->is_invalid[r] = 0;
    }
    st = promo_model_predict_table(s->nn, s->pipeline, s->counterfactual, a->input, ctx,
                                   arm == 1 ? s->uplift : s->pred_off, err);
  }
  for (size_t r = 0; st == PROMO_OK && r < n; r++) s->uplift[r] -= s->pred_off[r];
  return st;
}

/* Turn a row number in a metric error into the file line of that row. */
static void locate_row(const eval_args *a, const promo_table *t, promo_error *err) {
  if (err->line >= 1 && (size_t)err->line <= t->n_rows && err->path[0] == '\0')
    promo_error_at(err, a->input, t->lines[err->line - 1], 0);
}

static void print_table(const json_t *metrics) {
  const char *key;
  const json_t *value;
  int width = cli_display_width(_("metric"));
  json_object_foreach((json_t *)metrics, key, value) {
    if (json_is_number(value) || json_is_null(value)) {
      int w = cli_display_width(cli_metric_label(key));
      if (w > width) width = w;
    }
  }
  cli_print_padded(_("metric"), width + 2);
  printf("%s\n", _("value"));
  json_object_foreach((json_t *)metrics, key, value) {
    if (!json_is_number(value) && !json_is_null(value)) continue;
    char text[64];
    cli_metric_format(value, text, sizeof text);
    cli_print_padded(cli_metric_label(key), width + 2);
    printf("%s\n", text);
  }
}

static promo_status write_json(const eval_args *a, eval_state *s, const char *target, promo_error *err) {
  json_t *task = json_string(promo_model_task_name(promo_nn_get_options(s->nn)->task));
  if (task == NULL || json_object_set_new(s->metrics, "task", task) != 0 ||
      json_object_set_new(s->metrics, "target", json_string(target)) != 0)
    return nomem(err);
  if (json_dumpf(s->metrics, s->json_fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', s->json_fp) == EOF)
    return promo_error_errno(err, errno, a->json_path, _("writing the metrics"));
  promo_status st = promo_atomic_commit(s->json_file, err);
  s->json_file = NULL;
  return st;
}

static promo_status compute(const eval_args *a, eval_state *s, promo_context *ctx, const char *target,
                            promo_error *err) {
  size_t n = s->t->n_rows;
  promo_status st = read_numbers(a, s, "--target", target, &s->y, err);
  if (st == PROMO_OK && a->treatment != NULL) st = read_numbers(a, s, "--treatment", a->treatment, &s->treatment, err);
  if (st != PROMO_OK) return st;
  if (a->group != NULL) {
    ptrdiff_t c = promo_table_find(s->t, a->group);
    if (c < 0) {
      promo_error_at(err, a->input, 0, 0);
      return promo_error_set(err, PROMO_ERR_USAGE, _("%s names column '%s', which is not in the header"), "--group",
                             a->group);
    }
    if ((s->groups = malloc(n * sizeof *s->groups)) == NULL) return nomem(err);
    promo_split_group_keys(s->t, (size_t)c, s->groups);
  }
  if ((s->pred = malloc(n * sizeof *s->pred)) == NULL) return nomem(err);
  if ((st = promo_model_predict_table(s->nn, s->pipeline, s->t, a->input, ctx, s->pred, err)) != PROMO_OK) return st;
  if (a->treatment != NULL && (st = predict_uplift(a, s, ctx, err)) != PROMO_OK) return st;

  promo_eval_options opt;
  promo_eval_options_init(&opt);
  opt.threshold = a->threshold;
  opt.groups = s->groups;
  opt.treatment = s->treatment;
  opt.uplift_score = s->uplift;
  st = promo_eval_metrics(promo_nn_get_options(s->nn)->task, s->pred, s->y, n, &opt, &s->metrics, err);
  if (st != PROMO_OK) locate_row(a, s->t, err);
  return st;
}

static promo_status run(cli *app, const eval_args *a, promo_error *err) {
  eval_state s;
  memset(&s, 0, sizeof s);
  promo_status st = PROMO_OK;
  if (a->json_path != NULL && (st = promo_atomic_open(a->json_path, &s.json_file, &s.json_fp, err)) != PROMO_OK)
    goto done;
  if ((st = promo_model_load(a->model_path, &s.nn, &s.pipeline, &s.training, err)) != PROMO_OK) goto done;
  const char *target = a->target != NULL ? a->target : json_string_value(json_object_get(s.training, "target"));
  if (target == NULL) {
    st = promo_error_set(err, PROMO_ERR_USAGE, "%s", _("the model file does not name its target; add --target COL"));
    goto done;
  }
  if ((st = load_test_table(a, &s, &app->ctx, err)) != PROMO_OK) goto done;
  if ((st = compute(a, &s, &app->ctx, target, err)) != PROMO_OK) goto done;

  const json_t *notes = json_object_get(s.metrics, "notes");
  for (size_t i = 0; i < json_array_size(notes); i++)
    promo_log(&app->ctx, PROMO_LOG_WARN, "%s", json_string_value(json_array_get(notes, i)));
  print_table(s.metrics);
  if (fflush(stdout) != 0) {
    st = promo_error_errno(err, errno, "stdout", _("writing the table"));
    goto done;
  }
  if (s.json_file != NULL) st = write_json(a, &s, target, err);

done:
  state_clear(&s);
  return st;
}

int cli_eval(cli *app, int argc, char **argv) {
  eval_args a;
  memset(&a, 0, sizeof a);
  a.threshold = 0.5;
  int rc = parse_args(&a, argc, argv);
  if (rc < 0) return EXIT_OK; /* --help */
  if (rc != EXIT_OK) return rc;
  promo_error err;
  promo_error_clear(&err);
  promo_status st = run(app, &a, &err);
  if (st == PROMO_OK) return EXIT_OK;
  cli_print_error(&err);
  return cli_exit_code(st);
}
