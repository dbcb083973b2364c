/* `promo predict`: applies a trained model file (pipeline and network) to a CSV file and
 * writes one prediction per row, after the id columns. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "promo/data.h"
#include "promo/feature.h"
#include "promo/model.h"

#define MAX_IDS 1024

typedef struct predict_args {
  const char *model_path, *input, *output;
  const char *id_names[MAX_IDS];
  size_t n_ids;
  char *id_copy;
} predict_args;

static int parse_args(predict_args *a, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *v = NULL;
    int got = 0;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      cli_print_help(stdout, "predict");
      return -1;
    } else if ((got = cli_option_value(argc, argv, &i, "-o", &v)) != 0 ||
               (got = cli_option_value(argc, argv, &i, "--output", &v)) != 0) {
      if (got < 0) return EXIT_USAGE;
      a->output = v;
    } else if ((got = cli_option_value(argc, argv, &i, "--id", &v)) != 0) {
      if (got < 0) return EXIT_USAGE;
      free(a->id_copy);
      a->id_copy = strdup(v);
      if (a->id_copy == NULL) return cli_usage_error("predict", "%s", _("out of memory"));
      a->n_ids = 0;
      char *save = NULL;
      for (char *item = strtok_r(a->id_copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        if (a->n_ids == MAX_IDS) return cli_usage_error("predict", "%s", _("--id needs a list of at most 1024 columns"));
        a->id_names[a->n_ids++] = item;
      }
    } else if (arg[0] == '-' && arg[1] != '\0') {
      return cli_usage_error("predict", _("unknown option '%s'"), arg);
    } else if (a->model_path == NULL) {
      a->model_path = arg;
    } else if (a->input == NULL) {
      a->input = arg;
    } else {
      return cli_usage_error("predict", _("unexpected argument '%s'; give MODEL.promo and DATA.csv"), arg);
    }
  }
  if (a->model_path == NULL || a->input == NULL)
    return cli_usage_error("predict", "%s", _("give the model file and the data file: promo predict MODEL.promo DATA.csv -o PRED.csv"));
  if (a->output == NULL) return cli_usage_error("predict", "%s", _("no output file given; add -o PRED.csv"));
  const char *paths[] = {a->model_path, a->input};
  const char *names[] = {"MODEL.promo", "DATA.csv"};
  for (size_t k = 0; k < 2; k++) {
    if (strcmp(a->output, paths[k]) == 0 || promo_same_file(a->output, paths[k]))
      return cli_usage_error("predict", _("%s and %s name the same file '%s'; give each its own"), names[k], "-o",
                             a->output);
  }
  return EXIT_OK;
}


/* Rows per chunk: the input is read, transformed, predicted and written a chunk at a
 * time, so memory does not grow with the file. */
#define PREDICT_CHUNK_ROWS 65536

static void write_header(promo_csv_writer *w, const promo_table *t, const size_t *id_columns,
                         size_t n_ids) {
  for (size_t k = 0; k < n_ids; k++) {
    const char *name = t->columns[id_columns[k]].name;
    promo_csv_write_field(w, name, strlen(name));
  }
  promo_csv_write_field(w, "prediction", strlen("prediction"));
  promo_csv_write_end_row(w);
}

static void write_rows(promo_csv_writer *w, const promo_table *t, const size_t *id_columns,
                       size_t n_ids, const float *pred) {
  char buf[32];
  for (size_t r = 0; r < t->n_rows; r++) {
    for (size_t k = 0; k < n_ids; k++) promo_csv_write_cell(w, t, r, id_columns[k]);
    promo_csv_write_field(w, buf, cli_format_float(pred[r], buf));
    promo_csv_write_end_row(w);
  }
}

/* Create a table for the input's header. The pipeline's inputs get their training types,
 * so values parse as they did in training. Every other column is kept as text. */
static promo_status create_table(const promo_csv *reader, const promo_pipeline *p,
                                 promo_table **out, promo_error *err) {
  size_t n = promo_csv_n_columns(reader);
  const char **names = calloc(n, sizeof *names);
  promo_type *types = calloc(n, sizeof *types);
  promo_status st = names != NULL && types != NULL ? PROMO_OK : PROMO_ERR_NOMEM;
  for (size_t c = 0; st == PROMO_OK && c < n; c++) {
    names[c] = promo_csv_column_name(reader, c);
    types[c] = PROMO_TYPE_TEXT;
    for (size_t i = 0; i < promo_pipeline_n_inputs(p); i++)
      if (strcmp(promo_pipeline_input_name(p, i), names[c]) == 0) types[c] = promo_pipeline_input_type(p, i);
  }
  if (st == PROMO_OK) st = promo_table_create(n, names, types, false, out);
  free(names);
  free(types);
  if (st != PROMO_OK) promo_error_set(err, st, "%s", _("out of memory"));
  return st;
}

static promo_status run(cli *app, const predict_args *a, promo_error *err) {
  promo_nn *nn = NULL;
  promo_pipeline *p = NULL;
  promo_csv *reader = NULL;
  promo_table *t = NULL;
  promo_csv_writer *w = NULL;
  promo_matrix m = {0};
  float *pred = NULL;
  promo_atomic_file *out = NULL;
  FILE *fp = NULL;
  size_t id_columns[MAX_IDS];
  uint64_t n_rows = 0;
  double expected = 0.0;

  promo_status st = promo_atomic_open(a->output, &out, &fp, err);
  if (st == PROMO_OK) st = promo_model_load(a->model_path, &nn, &p, NULL, err);
  if (st != PROMO_OK) goto done;
  promo_csv_options csv;
  promo_csv_options_init(&csv);
  if ((st = promo_csv_open(a->input, &csv, &reader, err)) != PROMO_OK) goto done;
  if ((st = create_table(reader, p, &t, err)) != PROMO_OK) goto done;
  for (size_t k = 0; k < a->n_ids; k++) {
    ptrdiff_t c = promo_table_find(t, a->id_names[k]);
    if (c < 0) {
      promo_error_at(err, a->input, 0, 0);
      st = promo_error_set(err, PROMO_ERR_USAGE, _("%s names column '%s', which is not in the header"), "--id",
                           a->id_names[k]);
      goto done;
    }
    id_columns[k] = (size_t)c;
  }
  pred = malloc(PREDICT_CHUNK_ROWS * sizeof *pred);
  if (pred == NULL || promo_csv_writer_create(fp, ',', false, &w) != PROMO_OK) {
    st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    goto done;
  }
  write_header(w, t, id_columns, a->n_ids);

  for (;;) {
    promo_status read = promo_table_read(t, reader, PREDICT_CHUNK_ROWS, err);
    if (read != PROMO_OK && read != PROMO_END) {
      st = read;
      goto done;
    }
    if (t->n_rows > 0) {
      promo_pipeline_data data = {t, a->input, NULL, NULL};
      if ((st = promo_pipeline_transform(p, &data, &app->ctx, &m, err)) != PROMO_OK) {
        if (err->path[0] == '\0') promo_error_at(err, a->input, err->line, err->column);
        goto done;
      }
      if ((st = promo_nn_predict(nn, m.X, m.n_rows, pred, &app->ctx, err)) != PROMO_OK) goto done;
      write_rows(w, t, id_columns, a->n_ids, pred);
      for (size_t r = 0; r < m.n_rows; r++) expected += pred[r];
      n_rows += m.n_rows;
      promo_matrix_clear(&m);
      if ((st = promo_csv_writer_flush(w, err)) != PROMO_OK) {
        promo_error_at(err, a->output, 0, 0);
        goto done;
      }
    }
    if (read == PROMO_END) break;
    if (promo_cancelled(&app->ctx)) {
      st = promo_error_set(err, PROMO_ERR_CANCELLED, "%s", _("cancelled"));
      goto done;
    }
  }
  promo_csv_writer_free(w);
  w = NULL;
  st = promo_atomic_commit(out, err);
  out = NULL;
  if (st != PROMO_OK) goto done;

  if (app->level >= PROMO_LOG_INFO) {
    fprintf(stderr, _("%llu rows predicted into %s"), (unsigned long long)n_rows, a->output);
    if (promo_nn_get_options(nn)->task == PROMO_TASK_BINARY)
      fprintf(stderr, _("; expected positives (sum of probabilities): %.1f"), expected);
    fputc('\n', stderr);
  }

done:
  promo_csv_writer_free(w);
  promo_atomic_abort(out);
  free(pred);
  promo_matrix_clear(&m);
  promo_table_free(t);
  promo_csv_close(reader);
  promo_pipeline_free(p);
  promo_nn_free(nn);
  return st;
}

int cli_predict(cli *app, int argc, char **argv) {
  predict_args *a = calloc(1, sizeof *a);
  if (a == NULL) {
    cli_error("%s", _("out of memory"));
    return EXIT_FAILED;
  }
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
  free(a->id_copy);
  free(a);
  return rc;
}
