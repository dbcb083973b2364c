/* `promo cv`: k-fold cross-validation of the trainer on one CSV file. Every fold refits
 * the feature pipeline and the network on its own training rows. The command prints each
 * fold's metrics with their mean and standard deviation, and can write them as JSON. */
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
#include "promo/model.h"

void cli_print_help_cv(FILE *out) {
  fputs(_("Usage: promo cv DATA.csv --target COL [options]\n"
          "\n"
          "Cross-validate a model: split the rows into folds, and for each fold fit the\n"
          "feature pipeline and the network on the other folds only, then score the\n"
          "fold. Prints every fold's metrics and their mean \xC2\xB1 sample standard\n"
          "deviation.\n"
          "\n"
          "Split options:\n"
          "  --folds K          number of folds (default 5)\n"
          "  --stratify         keep the share of positives equal across folds (binary\n"
          "                     targets)\n"
          "  --group COL        keep all rows of one value of COL (a user, an item) in one\n"
          "                     fold\n"
          "  --time COL         expanding window in time order: fold k trains on every row\n"
          "                     before its block of rows (COL: a date, time or number)\n"
          "  --valid SHARE      share of each fold's training rows kept for validation and\n"
          "                     early stopping (default 0: none)\n"
          "  --json FILE        write the folds, means and standard deviations as JSON\n"
          "\n"
          "Training options, as for 'promo train': --task, --layers, --epochs, --batch,\n"
          "--lr, --seed (also shuffles the folds), --patience (needs --valid), --ignore,\n"
          "--id, --transform.\n"
          "\n"
          "Exit codes: 0 done, 1 failed, 2 usage error, 3 invalid input data.\n"),
        out);
}

typedef struct cv_args {
  const char *input, *json_path;
  cli_train_options t;
  promo_split_options split;
  int n_split_kinds; /* --stratify, --group and --time given; at most one */
} cv_args;

/* One option of `promo cv` alone; returns EXIT_OK, a usage exit code, or -2 when not
 * matched. */
static int parse_cv_option(cv_args *a, int argc, char **argv, int *i) {
  const char *v = NULL;
  int got = 0, rc = EXIT_OK;
  long long n = 0;
  if (strcmp(argv[*i], "--stratify") == 0) {
    a->split.kind = PROMO_SPLIT_STRATIFIED;
    a->n_split_kinds++;
  } else if ((got = cli_option_value(argc, argv, i, "--folds", &v)) != 0) {
    if (got > 0 && (rc = cli_parse_count("cv", "--folds", v, 2, 1000, &n)) == EXIT_OK) a->split.n_folds = (size_t)n;
  } else if ((got = cli_option_value(argc, argv, i, "--group", &v)) != 0) {
    a->split.kind = PROMO_SPLIT_GROUP;
    a->split.group_column = v;
    a->n_split_kinds++;
  } else if ((got = cli_option_value(argc, argv, i, "--time", &v)) != 0) {
    a->split.kind = PROMO_SPLIT_TIME;
    a->split.time_column = v;
    a->n_split_kinds++;
  } else if ((got = cli_option_value(argc, argv, i, "--valid", &v)) != 0) {
    if (got > 0) rc = cli_parse_real("cv", "--valid", v, 0, 1, false, &a->split.valid_share);
  } else if ((got = cli_option_value(argc, argv, i, "--json", &v)) != 0) {
    a->json_path = v;
  } else {
    return -2;
  }
  return got < 0 ? EXIT_USAGE : rc;
}

static int parse_args(cv_args *a, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      cli_print_help_cv(stdout);
      return -1;
    }
    int rc = cli_train_option(&a->t, argc, argv, &i);
    if (rc == -2) rc = parse_cv_option(a, argc, argv, &i);
    if (rc == -2) {
      if (arg[0] == '-' && arg[1] != '\0') return cli_usage_error("cv", _("unknown option '%s'"), arg);
      if (a->input != NULL) return cli_usage_error("cv", _("unexpected argument '%s'; give one input file"), arg);
      a->input = arg;
    } else if (rc != EXIT_OK) {
      return rc;
    }
  }
  if (a->input == NULL) return cli_usage_error("cv", "%s", _("no input file given"));
  int rc = cli_train_options_finish(&a->t);
  if (rc != EXIT_OK) return rc;
  if (a->n_split_kinds > 1) return cli_usage_error("cv", "%s", _("give at most one of --stratify, --group and --time"));
  if (a->t.nn.patience > 0 && a->split.valid_share == 0)
    return cli_usage_error("cv", "%s", _("--patience needs validation rows in each fold; add --valid 0.2"));
  a->split.seed = a->t.nn.seed;
  if (a->json_path != NULL && (strcmp(a->json_path, a->input) == 0 || promo_same_file(a->json_path, a->input)))
    return cli_usage_error("cv", _("%s and %s name the same file '%s'; give each its own"), "DATA.csv", "--json",
                           a->json_path);
  return EXIT_OK;
}

/* ------------------------------------------------------------------ output */

/* The keys printed: every number or null in the first fold's metrics, counts included,
 * in the library's order. */
static void print_table(const json_t *cv) {
  const json_t *folds = json_object_get(cv, "folds"), *mean = json_object_get(cv, "mean"),
               *std = json_object_get(cv, "std");
  const json_t *first = json_object_get(json_array_get(folds, 0), "metrics");
  size_t n_folds = json_array_size(folds);
  const char *key;
  const json_t *value;
  int width = cli_display_width(_("metric"));
  json_object_foreach((json_t *)first, key, value) {
    int w = cli_display_width(cli_metric_label(key));
    if ((json_is_number(value) || json_is_null(value)) && w > width) width = w;
  }

  char text[64];
  cli_print_padded(_("metric"), width + 2);
  for (size_t f = 0; f < n_folds; f++) {
    snprintf(text, sizeof text, _("fold %zu"), f + 1);
    cli_print_padded(text, 12);
  }
  printf("%s\n", _("mean \xC2\xB1 std"));
  json_object_foreach((json_t *)first, key, value) {
    if (!json_is_number(value) && !json_is_null(value)) continue;
    cli_print_padded(cli_metric_label(key), width + 2);
    for (size_t f = 0; f < n_folds; f++) {
      cli_metric_format(json_object_get(json_object_get(json_array_get(folds, f), "metrics"), key), text, sizeof text);
      cli_print_padded(text, 12);
    }
    const json_t *m = json_object_get(mean, key);
    if (m != NULL) {
      char sd[64];
      cli_metric_format(m, text, sizeof text);
      cli_metric_format(json_object_get(std, key), sd, sizeof sd);
      printf("%s \xC2\xB1 %s", text, sd);
    }
    putchar('\n');
  }
}

static promo_status write_json(const cv_args *a, const json_t *cv, promo_atomic_file **file, FILE *fp,
                               promo_error *err) {
  if (json_dumpf(cv, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', fp) == EOF)
    return promo_error_errno(err, errno, a->json_path, _("writing the cross-validation results"));
  promo_status st = promo_atomic_commit(*file, err);
  *file = NULL;
  return st;
}

/* ------------------------------------------------------------------ run */

static promo_status run(cli *app, cv_args *a, promo_error *err) {
  promo_table *t = NULL;
  float *y = NULL;
  json_t *cv = NULL;
  promo_atomic_file *json_file = NULL;
  FILE *json_fp = NULL;
  promo_status st = PROMO_OK;
  /* Open the JSON output first, so that a bad path fails before any training. */
  if (a->json_path != NULL && (st = promo_atomic_open(a->json_path, &json_file, &json_fp, err)) != PROMO_OK)
    goto done;
  promo_load_options load;
  promo_load_options_init(&load);
  if ((st = promo_table_load(a->input, &load, &app->ctx, &t, err)) != PROMO_OK) goto done;
  if ((y = malloc((t->n_rows > 0 ? t->n_rows : 1) * sizeof *y)) == NULL) {
    st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    goto done;
  }
  if ((st = cli_train_prepare(&app->ctx, &a->t, t, a->input, y, err)) != PROMO_OK) goto done;
  if (a->split.kind == PROMO_SPLIT_STRATIFIED && a->t.nn.task != PROMO_TASK_BINARY) {
    st = promo_error_set(err, PROMO_ERR_USAGE, "%s", _("--stratify needs a binary (0/1) target"));
    goto done;
  }
  promo_log(&app->ctx, PROMO_LOG_INFO, _("%zu-fold %s cross-validation of %zu rows (seed %llu)"), a->split.n_folds,
            promo_split_kind_name(a->split.kind), t->n_rows, (unsigned long long)a->split.seed);

  promo_trainer_options topt;
  promo_trainer_options_init(&topt);
  topt.pipeline = a->t.pipeline;
  topt.nn = a->t.nn;
  if ((st = promo_eval_cross_validate(t, y, a->input, &topt, &a->split, &app->ctx, &cv, err)) != PROMO_OK) goto done;

  print_table(cv);
  if (fflush(stdout) != 0) {
    st = promo_error_errno(err, errno, "stdout", _("writing the table"));
    goto done;
  }
  if (json_file != NULL) st = write_json(a, cv, &json_file, json_fp, err);

done:
  promo_atomic_abort(json_file);
  json_decref(cv);
  free(y);
  promo_table_free(t);
  return st;
}

int cli_cv(cli *app, int argc, char **argv) {
  cv_args *a = calloc(1, sizeof *a);
  if (a == NULL) {
    cli_error("%s", _("out of memory"));
    return EXIT_FAILED;
  }
  cli_train_options_init(&a->t, "cv");
  promo_split_options_init(&a->split);
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
