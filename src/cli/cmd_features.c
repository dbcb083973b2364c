/* `promo features`: fits the feature pipeline on a CSV file (or applies a saved one) and
 * writes the matrix a model would see, with named columns, so users can inspect it. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "promo/feature.h"
#include "promo/data.h"

#define MAX_ITEMS 1024

typedef struct features_args {
  const char *input, *output, *events_path, *save_path, *pipeline_path, *rejects_path;
  bool describe;
  const char *fit_option;  /* the last option that only fitting uses, for a clear error */
  promo_pipeline_options opt;
  promo_csv_options csv;
  const char *id_names[MAX_ITEMS];
  size_t n_ids;
  const char *ignore[MAX_ITEMS];
  promo_pipeline_rule rules[MAX_ITEMS];
  const char *windows[MAX_ITEMS];
  const char *event_keys[PROMO_WINDOW_MAX_KEYS * 4];
  const char *row_keys[PROMO_WINDOW_MAX_KEYS * 4];
  cli_strings strings;
} features_args;


static int parse_args(features_args *a, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *v = NULL;
    int got = 0;
#define VALUE(name) ((got = cli_option_value(argc, argv, &i, name, &v)) != 0)
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      cli_print_help(stdout, "features");
      return -1;
    } else if (strcmp(arg, "--describe") == 0) {
      a->describe = true;
    } else if (VALUE("-o") || (got == 0 && VALUE("--output"))) {
      a->output = v;
    } else if (VALUE("--target")) {
      a->opt.target = v;
    } else if (VALUE("--id")) {
      long n = got < 0 ? -1 : cli_split_list(&a->strings, v, a->id_names, MAX_ITEMS);
      if (n < 0) return cli_usage_error("features", "%s", _("--id needs a list of at most 1024 columns"));
      a->n_ids = (size_t)n;
    } else if (VALUE("--ignore")) {
      a->fit_option = "--ignore";
      long n = got < 0 ? -1 : cli_split_list(&a->strings, v, a->ignore, MAX_ITEMS);
      if (n < 0) return cli_usage_error("features", "%s", _("--ignore needs a list of at most 1024 columns"));
      a->opt.n_ignore = (size_t)n;
    } else if (VALUE("--transform")) {
      a->fit_option = "--transform";
      if (got < 0) return EXIT_USAGE;
      int rc = cli_parse_transforms(&a->strings, "features", v, a->rules, MAX_ITEMS, &a->opt);
      if (rc != EXIT_OK) return rc;
    } else if (VALUE("--time-spec")) {
      a->fit_option = "--time-spec";
      a->opt.time_spec = v;
    } else if (VALUE("--calendar")) {
      a->fit_option = "--calendar";
      a->opt.calendar_path = v;
    } else if (VALUE("--price")) {
      a->fit_option = "--price";
      a->opt.price_column = v;
    } else if (VALUE("--bad-offer")) {
      a->fit_option = "--bad-offer";
      if (got < 0) return EXIT_USAGE;
      if (strcmp(v, "reject") == 0) a->opt.reject_bad_offers = true;
      else if (strcmp(v, "flag") == 0) a->opt.reject_bad_offers = false;
      else return cli_usage_error("features", _("invalid --bad-offer '%s'; use flag or reject"), v);
    } else if (VALUE("--pca-components")) {
      a->fit_option = "--pca-components";
      if (got < 0) return EXIT_USAGE;
      char *end;
      errno = 0;
      long k = strtol(v, &end, 10);
      if (errno != 0 || *end != '\0' || k < 1)
        return cli_usage_error("features", _("invalid --pca-components '%s'; give a whole number from 1"), v);
      a->opt.pca_components = (size_t)k;
    } else if (VALUE("--pca-variance")) {
      a->fit_option = "--pca-variance";
      if (got < 0) return EXIT_USAGE;
      char *end;
      errno = 0;
      double share = strtod(v, &end);
      if (errno != 0 || *end != '\0' || !(share > 0 && share <= 1))
        return cli_usage_error("features", _("invalid --pca-variance '%s'; give a share in (0, 1]"), v);
      a->opt.pca_variance = share;
    } else if (VALUE("--events")) {
      a->events_path = v;
    } else if (VALUE("--window")) {
      a->fit_option = "--window";
      if (got < 0 || a->opt.n_window_specs == MAX_ITEMS)
        return cli_usage_error("features", "%s", _("--window needs a spec, and at most 1024 of them"));
      a->windows[a->opt.n_window_specs++] = v;
      a->opt.window_specs = a->windows;
    } else if (VALUE("--event-time")) {
      a->fit_option = "--event-time";
      a->opt.window.event_time_column = v;
    } else if (VALUE("--event-type")) {
      a->fit_option = "--event-type";
      a->opt.window.event_type_column = v;
    } else if (VALUE("--row-time")) {
      a->fit_option = "--row-time";
      a->opt.window.row_time_column = v;
    } else if (VALUE("--row-key")) {
      a->fit_option = "--row-key";
      /* EVENT_COL=ROW_COL: the rows name an event key column differently. */
      const char *items[2];
      char *eq = got < 0 ? NULL : strchr(v, '=');
      size_t k = a->opt.window.n_key_renames;
      if (eq == NULL || eq == v || eq[1] == '\0' || k == sizeof a->event_keys / sizeof a->event_keys[0] ||
          cli_split_list(&a->strings, v, items, 1) != 1)
        return cli_usage_error("features", _("invalid --row-key '%s'; write EVENT_COL=ROW_COL"), v ? v : "");
      char *copy = (char *)items[0];
      copy[eq - v] = '\0';
      a->event_keys[k] = copy;
      a->row_keys[k] = copy + (eq - v) + 1;
      a->opt.window.n_key_renames = k + 1;
      a->opt.window.event_keys = a->event_keys;
      a->opt.window.row_keys = a->row_keys;
    } else if (VALUE("--save-pipeline")) {
      a->save_path = v;
    } else if (VALUE("--pipeline")) {
      a->pipeline_path = v;
    } else if (VALUE("--rejects")) {
      a->rejects_path = v;
    } else if (VALUE("--encoding")) {
      if (got < 0) return EXIT_USAGE;
      if (!promo_encoding_parse(v, &a->csv.encoding))
        return cli_usage_error("features", _("unknown encoding '%s'; use auto, utf-8 or gb18030"), v);
    } else if (arg[0] == '-' && arg[1] != '\0') {
      return cli_usage_error("features", _("unknown option '%s'"), arg);
    } else if (a->input == NULL) {
      a->input = arg;
    } else {
      return cli_usage_error("features", _("unexpected argument '%s'; give one input file"), arg);
    }
    if (got < 0) return EXIT_USAGE;
#undef VALUE
  }
  /* Columns copied through as ids are not features. */
  for (size_t k = 0; k < a->n_ids && a->opt.n_ignore < MAX_ITEMS; k++) a->ignore[a->opt.n_ignore++] = a->id_names[k];
  a->opt.ignore = a->ignore;
  if (a->input == NULL) return cli_usage_error("features", "%s", _("no input file given"));
  if (a->pipeline_path != NULL && a->fit_option != NULL)
    return cli_usage_error("features",
                           _("%s sets how a pipeline is fitted, but --pipeline applies a saved one; "
                             "leave out one of them"),
                           a->fit_option);
  if (a->events_path != NULL && a->opt.n_window_specs == 0 && a->pipeline_path == NULL)
    return cli_usage_error("features", "%s", _("--events needs at least one --window SPEC"));
  if (a->output == NULL && !a->describe && a->save_path == NULL)
    return cli_usage_error("features", "%s", _("nothing to write; add -o MATRIX.csv, --describe or --save-pipeline FILE"));
  if (a->opt.n_window_specs > 0 && a->events_path == NULL && a->pipeline_path == NULL)
    return cli_usage_error("features", "%s", _("--window needs --events FILE, the behavior log"));
  return EXIT_OK;
}


/* The output files, opened before any work so that a bad path fails early, and committed
 * together at the end so that a failed run replaces none of them. */
enum { OUT_MATRIX, OUT_PIPELINE, OUT_REJECTS, N_OUTPUTS };

typedef struct outputs {
  promo_atomic_file *files[N_OUTPUTS];
  FILE *matrix_fp, *pipeline_fp, *rejects_fp;
} outputs;

static promo_status open_outputs(const features_args *a, outputs *o, promo_error *err) {
  promo_status st = PROMO_OK;
  if (a->output != NULL) st = promo_atomic_open(a->output, &o->files[OUT_MATRIX], &o->matrix_fp, err);
  if (st == PROMO_OK && a->save_path != NULL)
    st = promo_atomic_open(a->save_path, &o->files[OUT_PIPELINE], &o->pipeline_fp, err);
  if (st == PROMO_OK && a->rejects_path != NULL)
    st = promo_atomic_open(a->rejects_path, &o->files[OUT_REJECTS], &o->rejects_fp, err);
  return st;
}

/* Write the target as a number: booleans as 1 and 0, missing as empty. */
static void write_target(promo_csv_writer *w, const promo_table *t, size_t r, size_t c) {
  const promo_column *col = &t->columns[c];
  if (col->is_missing[r]) {
    promo_csv_write_field(w, "", 0);
  } else if (col->type == PROMO_TYPE_BOOL) {
    promo_csv_write_field(w, col->ints[r] ? "1" : "0", 1);
  } else {
    promo_csv_write_cell(w, t, r, c);
  }
}

static promo_status write_matrix(FILE *fp, const char *path, const promo_table *t,
                                 const promo_pipeline *p, const promo_matrix *m,
                                 const size_t *id_columns, size_t n_ids, ptrdiff_t target,
                                 promo_error *err) {
  promo_csv_writer *w;
  promo_status st = promo_csv_writer_create(fp, ',', false, &w);
  if (st != PROMO_OK) return promo_error_set(err, st, "%s", _("out of memory"));
  for (size_t k = 0; k < n_ids; k++) {
    const char *name = t->columns[id_columns[k]].name;
    promo_csv_write_field(w, name, strlen(name));
  }
  for (size_t j = 0; j < m->n_columns; j++) {
    const char *name = promo_pipeline_output_name(p, j);
    promo_csv_write_field(w, name, strlen(name));
  }
  if (target >= 0) promo_csv_write_field(w, t->columns[target].name, strlen(t->columns[target].name));
  promo_csv_write_end_row(w);

  char buf[32];
  for (size_t r = 0; r < m->n_rows && st == PROMO_OK; r++) {
    if (m->rejected != NULL && m->rejected[r]) continue;
    for (size_t k = 0; k < n_ids; k++) promo_csv_write_cell(w, t, r, id_columns[k]);
    const float *row = m->X + r * m->n_columns;
    for (size_t j = 0; j < m->n_columns; j++) promo_csv_write_field(w, buf, cli_format_float(row[j], buf));
    if (target >= 0) write_target(w, t, r, (size_t)target);
    promo_csv_write_end_row(w);
    if ((r & 0xFFF) == 0) st = promo_csv_writer_flush(w, err);
  }
  if (st == PROMO_OK) st = promo_csv_writer_flush(w, err);
  promo_csv_writer_free(w);
  if (st != PROMO_OK) promo_error_at(err, path, 0, 0);
  return st;
}

static promo_status write_rejects(FILE *fp, const char *path, const promo_table *t,
                                  const promo_matrix *m, promo_error *err) {
  if (fputs("line,reason\n", fp) == EOF) return promo_error_errno(err, errno, path, _("writing"));
  for (size_t r = 0; r < m->n_rows; r++) {
    if (m->rejected == NULL || !m->rejected[r]) continue;
    if (fprintf(fp, "%lld,unparsed_offer\n", (long long)t->lines[r]) < 0)
      return promo_error_errno(err, errno, path, _("writing"));
  }
  return PROMO_OK;
}

/* Print each output with its source and its mean, std, min and max over the rows. */
static void describe(const promo_pipeline *p, const promo_matrix *m) {
  printf(_("%zu rows, %zu feature columns\n"), m->n_rows, m->n_columns);
  for (size_t i = 0; i < promo_pipeline_n_decisions(p); i++) printf("  %s\n", promo_pipeline_decision(p, i));
  const char *headers[] = {_("column"), _("from"), _("mean"), _("std"), _("min"), _("max")};
  int widths[] = {40, 28, 10, 10, 10, 10};
  putchar('\n');
  for (int k = 0; k < 6; k++) {
    /* Pad by display width, so Chinese headers line up with the numbers. */
    int pad = widths[k] - cli_display_width(headers[k]);
    if (k < 2)
      printf("%s%*s ", headers[k], pad > 0 ? pad : 0, "");
    else
      printf("%*s%s ", pad > 0 ? pad : 0, "", headers[k]);
  }
  putchar('\n');
  for (size_t j = 0; j < m->n_columns; j++) {
    double sum = 0, sum_sq = 0, lo = INFINITY, hi = -INFINITY;
    for (size_t r = 0; r < m->n_rows; r++) {
      double x = m->X[r * m->n_columns + j];
      sum += x;
      sum_sq += x * x;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    double n = m->n_rows > 0 ? (double)m->n_rows : 1.0;
    double mean = sum / n, var = sum_sq / n - mean * mean;
    const char *name = promo_pipeline_output_name(p, j);
    const char *source = promo_pipeline_output_source(p, j);
    int pad_name = 40 - cli_display_width(name), pad_source = 28 - cli_display_width(source);
    printf("%s%*s %s%*s %10.4g %10.4g %10.4g %10.4g\n", name, pad_name > 0 ? pad_name : 0, "", source,
           pad_source > 0 ? pad_source : 0, "", mean, var > 0 ? sqrt(var) : 0.0, lo, hi);
  }
}

static promo_status load_pipeline(const char *path, promo_pipeline **out, promo_error *err) {
  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  if (root == NULL) {
    promo_error_at(err, path, jerr.line, jerr.column);
    if (access(path, R_OK) != 0) return promo_error_errno(err, errno, path, _("opening the pipeline"));
    return promo_error_set(err, PROMO_ERR_DATA, _("not a valid pipeline file: %s"), jerr.text);
  }
  promo_status st = promo_pipeline_from_json(root, out, err);
  json_decref(root);
  if (st != PROMO_OK && err->path[0] == '\0') promo_error_at(err, path, 0, 0);
  return st;
}

static promo_status save_pipeline(FILE *fp, const char *path, const promo_pipeline *p,
                                  promo_error *err) {
  json_t *root;
  if (promo_pipeline_to_json(p, &root) != PROMO_OK) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  promo_status st = PROMO_OK;
  if (json_dumpf(root, fp, JSON_INDENT(1) | JSON_PRESERVE_ORDER) != 0)
    st = promo_error_errno(err, errno, path, _("writing the pipeline"));
  json_decref(root);
  return st;
}

/* Warn once per input column about cells a saved pipeline could not parse with its
 * training type: they are treated as missing, which the user should know. */
static void warn_unparsed(cli *app, const promo_table *t, const promo_pipeline *p, const char *path) {
  for (size_t i = 0; i < promo_pipeline_n_inputs(p); i++) {
    ptrdiff_t c = promo_table_find(t, promo_pipeline_input_name(p, i));
    if (c < 0) continue;
    const promo_column *col = &t->columns[c];
    uint64_t n_invalid = 0;
    for (size_t r = 0; r < t->n_rows; r++) n_invalid += col->is_invalid[r];
    if (n_invalid == 0) continue;
    promo_log(&app->ctx, PROMO_LOG_WARN,
              _("%s: column '%s' has %llu of %zu values that do not parse as %s, the column's "
                "type in training; they are treated as missing"),
              path, col->name, (unsigned long long)n_invalid, t->n_rows, promo_type_name(col->type));
  }
}

/* Every named column must exist in the header. */
static promo_status check_columns(const promo_table *t, const char *option, const char *const *names,
                                  size_t n, const char *path, promo_error *err) {
  for (size_t k = 0; k < n; k++) {
    if (promo_table_find(t, names[k]) >= 0) continue;
    promo_error_at(err, path, 0, 0);
    return promo_error_set(err, PROMO_ERR_USAGE, _("%s names column '%s', which is not in the header"),
                           option, names[k]);
  }
  return PROMO_OK;
}

static promo_status run(cli *app, features_args *a, promo_error *err) {
  promo_pipeline *p = NULL;
  promo_table *t = NULL, *events = NULL;
  promo_matrix m = {0};
  outputs o = {0};
  size_t id_columns[MAX_ITEMS];
  promo_status st = PROMO_OK;

  if ((st = open_outputs(a, &o, err)) != PROMO_OK) goto done;
  promo_load_options load;
  promo_load_options_init(&load);
  load.csv = a->csv;
  if (a->pipeline_path != NULL) {
    if ((st = load_pipeline(a->pipeline_path, &p, err)) != PROMO_OK) goto done;
    load.type_columns = promo_pipeline_input_names(p);
    load.types = promo_pipeline_input_types(p);
    load.n_types = promo_pipeline_n_inputs(p);
    /* A missing input column is reported by the transform as invalid data, naming it. */
    load.ignore_unknown_types = true;
  }
  if ((st = promo_table_load(a->input, &load, &app->ctx, &t, err)) != PROMO_OK) goto done;
  if (t->n_rows == 0) {
    promo_error_at(err, a->input, 0, 0);
    st = promo_error_set(err, PROMO_ERR_DATA, "%s", _("the file has a header but no data rows"));
    goto done;
  }
  if (a->events_path != NULL) {
    promo_load_options eload;
    promo_load_options_init(&eload);
    eload.csv = a->csv;
    if ((st = promo_table_load(a->events_path, &eload, &app->ctx, &events, err)) != PROMO_OK) goto done;
  }
  if ((st = check_columns(t, "--id", a->id_names, a->n_ids, a->input, err)) != PROMO_OK ||
      (st = check_columns(t, "--ignore", a->ignore, a->opt.n_ignore, a->input, err)) != PROMO_OK ||
      (a->opt.price_column != NULL &&
       (st = check_columns(t, "--price", &a->opt.price_column, 1, a->input, err)) != PROMO_OK))
    goto done;
  for (size_t k = 0; k < a->n_ids; k++) id_columns[k] = (size_t)promo_table_find(t, a->id_names[k]);
  if (a->opt.price_column != NULL) {
    promo_type type = t->columns[promo_table_find(t, a->opt.price_column)].type;
    if (type != PROMO_TYPE_INT && type != PROMO_TYPE_DECIMAL) {
      promo_error_at(err, a->input, 0, 0);
      st = promo_error_set(err, PROMO_ERR_USAGE, _("--price column '%s' holds %s values, not numbers"),
                           a->opt.price_column, promo_type_name(type));
      goto done;
    }
  }

  promo_pipeline_data data = {t, a->input, events, a->events_path};
  if (p == NULL) {
    st = promo_pipeline_fit_transform(&data, &a->opt, &app->ctx, &p, &m, err);
  } else {
    warn_unparsed(app, t, p, a->input);
    st = promo_pipeline_transform(p, &data, &app->ctx, &m, err);
  }
  if (st != PROMO_OK) {
    if (err->path[0] == '\0') promo_error_at(err, a->input, err->line, err->column);
    goto done;
  }
  if (m.n_columns == 0) {
    st = promo_error_set(err, PROMO_ERR_USAGE, "%s",
                         _("no column became a feature; check --ignore and --transform, and "
                           "run without them with --describe to see each column's type"));
    goto done;
  }

  const char *target_name = a->opt.target;
  ptrdiff_t target = target_name != NULL ? promo_table_find(t, target_name) : -1;
  if (o.matrix_fp != NULL &&
      (st = write_matrix(o.matrix_fp, a->output, t, p, &m, id_columns, a->n_ids, target, err)) != PROMO_OK)
    goto done;
  if (o.rejects_fp != NULL && (st = write_rejects(o.rejects_fp, a->rejects_path, t, &m, err)) != PROMO_OK)
    goto done;
  if (o.pipeline_fp != NULL && (st = save_pipeline(o.pipeline_fp, a->save_path, p, err)) != PROMO_OK)
    goto done;
  if ((st = promo_atomic_commit_all(o.files, N_OUTPUTS, err)) != PROMO_OK) goto done;
  if (a->describe) describe(p, &m);
  if (app->level >= PROMO_LOG_INFO) {
    fprintf(stderr, _("%zu rows in, %llu rows written, %llu rejected; %zu feature columns\n"), m.n_rows,
            (unsigned long long)(m.n_rows - m.n_rejected), (unsigned long long)m.n_rejected, m.n_columns);
  }

done:
  promo_atomic_abort_all(o.files, N_OUTPUTS);
  promo_matrix_clear(&m);
  promo_pipeline_free(p);
  promo_table_free(t);
  promo_table_free(events);
  return st;
}

/* Input, outputs, events and calendar must be distinct files: an output written over an
 * input or over another output would lose data. */
static int check_paths(const features_args *a) {
  const char *paths[] = {a->input, a->output, a->save_path, a->rejects_path, a->events_path,
                         a->opt.calendar_path, a->pipeline_path};
  const char *names[] = {"DATA.csv", "-o", "--save-pipeline", "--rejects", "--events", "--calendar",
                         "--pipeline"};
  for (size_t i = 1; i < 4; i++) {
    if (paths[i] == NULL) continue;
    for (size_t j = 0; j < sizeof paths / sizeof paths[0]; j++) {
      if (j == i || paths[j] == NULL || (j < i && j >= 1 && j < 4)) continue;
      if (strcmp(paths[i], paths[j]) == 0 || promo_same_file(paths[i], paths[j]))
        return cli_usage_error("features", _("%s and %s name the same file '%s'; give each its own"),
                               names[i], names[j], paths[i]);
    }
  }
  return EXIT_OK;
}

int cli_features(cli *app, int argc, char **argv) {
  features_args *a = calloc(1, sizeof *a);
  if (a == NULL) {
    cli_error("%s", _("out of memory"));
    return EXIT_FAILED;
  }
  promo_pipeline_options_init(&a->opt);
  promo_csv_options_init(&a->csv);
  int rc = parse_args(a, argc, argv);
  if (rc == EXIT_OK) rc = check_paths(a);
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
