/* The fitted feature pipeline: decides a transform for each column, fits every step on
 * the training rows, lays their outputs side by side in one float32 matrix, and applies
 * the same steps to new rows. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "feature/pipeline_internal.h"

void promo_pipeline_options_init(promo_pipeline_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->infer_others = true;
  opt->time_spec = "dow,dom,month,weekend,events";
  opt->pca_variance = 0.95;
  promo_window_options_init(&opt->window);
  promo_encoder_suggest_options_init(&opt->suggest);
}

void promo_matrix_clear(promo_matrix *m) {
  free(m->X);
  free(m->rejected);
  memset(m, 0, sizeof *m);
}

char *pipeline_strdup(const char *s) {
  if (s == NULL) return NULL;
  size_t n = strlen(s) + 1;
  char *copy = malloc(n);
  if (copy != NULL) memcpy(copy, s, n);
  return copy;
}

promo_status pipeline_alloc_outputs(promo_pipeline *p, size_t n_outputs) {
  size_t n = n_outputs > 0 ? n_outputs : 1;
  p->names = calloc(n, sizeof *p->names);
  p->sources = calloc(n, sizeof *p->sources);
  p->is_derived = calloc(n, 1);
  p->mean = calloc(n, sizeof *p->mean);
  p->std = calloc(n, sizeof *p->std);
  p->n_outputs = n_outputs;
  if (p->names == NULL || p->sources == NULL || p->is_derived == NULL || p->mean == NULL ||
      p->std == NULL)
    return PROMO_ERR_NOMEM;
  return PROMO_OK;
}

void promo_pipeline_free(promo_pipeline *p) {
  if (p == NULL) return;
  free(p->target);
  for (size_t i = 0; i < p->n_inputs; i++) free(p->input_names[i]);
  free(p->input_names);
  free(p->input_types);
  for (size_t i = 0; i < p->n_encoders; i++) promo_encoder_free(p->encoders[i]);
  free(p->encoders);
  for (size_t i = 0; i < p->n_times; i++) promo_timefeat_free(p->times[i]);
  free(p->times);
  for (size_t i = 0; i < p->n_offers; i++) {
    free(p->offers[i].column);
    free(p->offers[i].price_column);
  }
  free(p->offers);
  promo_window_free(p->window);
  for (size_t i = 0; i < p->n_pca_inputs; i++) promo_encoder_free(p->pca_scalers[i]);
  free(p->pca_scalers);
  promo_pca_free(p->pca);
  for (size_t j = 0; j < p->n_outputs; j++) {
    free(p->names[j]);
    free(p->sources[j]);
  }
  free(p->names);
  free(p->sources);
  free(p->is_derived);
  free(p->mean);
  free(p->std);
  for (size_t i = 0; i < p->n_decisions; i++) free(p->decisions[i]);
  free(p->decisions);
  free(p);
}

size_t promo_pipeline_n_outputs(const promo_pipeline *p) { return p->n_outputs; }
const char *promo_pipeline_output_name(const promo_pipeline *p, size_t j) {
  return j < p->n_outputs ? p->names[j] : NULL;
}
const char *promo_pipeline_output_source(const promo_pipeline *p, size_t j) {
  return j < p->n_outputs ? p->sources[j] : NULL;
}
size_t promo_pipeline_output_index_levels(const promo_pipeline *p, size_t j) {
  /* Encoder outputs come first, in encoder order. */
  size_t begin = 0;
  for (size_t e = 0; e < p->n_encoders; e++) {
    size_t n = promo_encoder_n_outputs(p->encoders[e]);
    if (j < begin + n)
      return promo_encoder_get_kind(p->encoders[e]) == PROMO_ENCODER_INDEX ? promo_encoder_n_levels(p->encoders[e])
                                                                           : 0;
    begin += n;
  }
  return 0;
}

size_t promo_pipeline_n_inputs(const promo_pipeline *p) { return p->n_inputs; }
const char *promo_pipeline_input_name(const promo_pipeline *p, size_t i) {
  return i < p->n_inputs ? p->input_names[i] : NULL;
}
promo_type promo_pipeline_input_type(const promo_pipeline *p, size_t i) {
  return i < p->n_inputs ? p->input_types[i] : PROMO_TYPE_UNKNOWN;
}
const char *const *promo_pipeline_input_names(const promo_pipeline *p) {
  return (const char *const *)p->input_names;
}
const promo_type *promo_pipeline_input_types(const promo_pipeline *p) { return p->input_types; }
size_t promo_pipeline_n_decisions(const promo_pipeline *p) { return p->n_decisions; }
const char *promo_pipeline_decision(const promo_pipeline *p, size_t i) {
  return i < p->n_decisions ? p->decisions[i] : NULL;
}

/* ---- deciding what to do with each column ---- */

typedef enum column_action {
  ACTION_SKIP = 0,
  ACTION_ENCODER,
  ACTION_TIME,
  ACTION_OFFER,
  ACTION_PCA
} column_action;

typedef struct column_choice {
  column_action action;
  promo_encoder_kind kind;  /* ACTION_ENCODER */
  const char *time_spec;    /* ACTION_TIME */
  bool is_input;            /* read by some step: recorded with its type */
} column_choice;

static bool name_listed(const char *name, const char *const *names, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(names[i], name) == 0) return true;
  return false;
}

/* Parse a rule's transform keyword into a choice. */
static bool parse_transform(const char *text, column_choice *choice) {
  memset(choice, 0, sizeof *choice);
  static const struct {
    const char *name;
    promo_encoder_kind kind;
  } encoders[] = {{"standardize", PROMO_ENCODER_STANDARDIZE}, {"minmax", PROMO_ENCODER_MINMAX},
                  {"robust", PROMO_ENCODER_ROBUST},           {"log1p", PROMO_ENCODER_LOG_STANDARDIZE},
                  {"onehot", PROMO_ENCODER_ONE_HOT},          {"one_hot", PROMO_ENCODER_ONE_HOT},
                  {"index", PROMO_ENCODER_INDEX},             {"embed", PROMO_ENCODER_INDEX},
                  {"frequency", PROMO_ENCODER_FREQUENCY},     {"target", PROMO_ENCODER_TARGET}};
  for (size_t i = 0; i < sizeof encoders / sizeof encoders[0]; i++) {
    if (strcmp(text, encoders[i].name) == 0) {
      choice->action = ACTION_ENCODER;
      choice->kind = encoders[i].kind;
      return true;
    }
  }
  if (strcmp(text, "skip") == 0) return true;
  if (strcmp(text, "offer") == 0) choice->action = ACTION_OFFER;
  else if (strcmp(text, "pca") == 0) choice->action = ACTION_PCA;
  else if (strcmp(text, "time") == 0) choice->action = ACTION_TIME;
  /* In --transform lists the spec's keywords are joined with '+' (time:dow+hour), since
   * commas separate the list; promo_timefeat_parse_spec reads both separators. */
  else if (strncmp(text, "time:", 5) == 0) {
    choice->action = ACTION_TIME;
    choice->time_spec = text + 5;
  } else {
    return false;
  }
  return true;
}

static promo_status add_decision(promo_pipeline *p, size_t capacity, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static promo_status add_decision(promo_pipeline *p, size_t capacity, const char *fmt, ...) {
  if (p->n_decisions >= capacity) return PROMO_OK;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  p->decisions[p->n_decisions] = pipeline_strdup(buf);
  if (p->decisions[p->n_decisions] == NULL) return PROMO_ERR_NOMEM;
  p->n_decisions++;
  return PROMO_OK;
}

/* Infer a choice for column c from its type and values. */
static promo_status infer_choice(promo_pipeline *p, const promo_table *t, size_t c,
                                 const promo_pipeline_options *opt, column_choice *choice,
                                 promo_error *err) {
  const promo_column *col = &t->columns[c];
  memset(choice, 0, sizeof *choice);
  if (col->type == PROMO_TYPE_DATE || col->type == PROMO_TYPE_DATETIME) {
    choice->action = ACTION_TIME;
    choice->time_spec = opt->time_spec;
    return add_decision(p, t->n_columns, _("%s: time features (%s)"), col->name, opt->time_spec);
  }
  if (promo_type_is_string(col->type)) {
    double share = offer_parse_share(t, c);
    if (share >= 0.9) {
      choice->action = ACTION_OFFER;
      return add_decision(p, t->n_columns, _("%s: promotion text (%.0f%% of values parse)"),
                          col->name, share * 100.0);
    }
  }
  promo_encoder_suggestion s;
  promo_status st = promo_encoder_suggest(t, c, NULL, t->n_rows, &opt->suggest, &s, err);
  if (st != PROMO_OK) return st;
  if (s.kind == PROMO_ENCODER_NONE)
    return add_decision(p, t->n_columns, _("%s: skipped (%s)"), col->name, s.reason);
  choice->action = ACTION_ENCODER;
  choice->kind = s.kind;
  return add_decision(p, t->n_columns, _("%s: %s (%s)"), col->name, promo_encoder_kind_name(s.kind),
                      s.reason);
}

static promo_status decide_columns(promo_pipeline *p, const promo_table *t,
                                   const promo_pipeline_options *opt, column_choice *choices,
                                   promo_error *err) {
  p->decisions = calloc(t->n_columns > 0 ? t->n_columns : 1, sizeof *p->decisions);
  if (p->decisions == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));

  for (size_t i = 0; i < opt->n_rules; i++) {
    if (promo_table_find(t, opt->rules[i].column) < 0) {
      snprintf(err->column_name, sizeof err->column_name, "%s", opt->rules[i].column);
      return promo_error_set(err, PROMO_ERR_USAGE, _("a rule names column '%s', which is not in the data"),
                             opt->rules[i].column);
    }
  }
  for (size_t c = 0; c < t->n_columns; c++) {
    const char *name = t->columns[c].name;
    column_choice *choice = &choices[c];
    memset(choice, 0, sizeof *choice);
    if ((opt->target != NULL && strcmp(name, opt->target) == 0) ||
        name_listed(name, opt->ignore, opt->n_ignore))
      continue;

    const promo_pipeline_rule *rule = NULL;
    for (size_t i = 0; i < opt->n_rules && rule == NULL; i++)
      if (strcmp(opt->rules[i].column, name) == 0) rule = &opt->rules[i];
    promo_status st = PROMO_OK;
    if (rule != NULL) {
      if (!parse_transform(rule->transform, choice)) {
        snprintf(err->column_name, sizeof err->column_name, "%s", name);
        return promo_error_set(err, PROMO_ERR_USAGE,
                               _("unknown transform '%s' for column '%s'; use standardize, "
                                 "minmax, robust, log1p, onehot, index, frequency, target, "
                                 "offer, time, pca or skip"),
                               rule->transform, name);
      }
      if (choice->action == ACTION_TIME && choice->time_spec == NULL) choice->time_spec = opt->time_spec;
      st = add_decision(p, t->n_columns, _("%s: %s (given)"), name, rule->transform);
    } else if (opt->infer_others) {
      st = infer_choice(p, t, c, opt, choice, err);
    }
    if (st != PROMO_OK) return st;
    choice->is_input = choice->action != ACTION_SKIP;
  }
  return PROMO_OK;
}

/* ---- fitting ---- */

/* The target as doubles per table row; a missing or non-numeric target is an error. */
static promo_status read_target(const promo_table *t, const char *target, double **out,
                                promo_error *err) {
  *out = NULL;
  if (target == NULL) return PROMO_OK;
  ptrdiff_t c = promo_table_find(t, target);
  if (c < 0) {
    snprintf(err->column_name, sizeof err->column_name, "%s", target);
    return promo_error_set(err, PROMO_ERR_USAGE, _("target column '%s' is not in the data"), target);
  }
  const promo_column *col = &t->columns[c];
  if (!promo_type_is_numeric(col->type))
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("target column '%s' holds %s values; it must be a number or 0/1"),
                           target, promo_type_name(col->type));
  double *y = malloc((t->n_rows > 0 ? t->n_rows : 1) * sizeof *y);
  if (y == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  for (size_t r = 0; r < t->n_rows; r++) {
    if (col->is_missing[r]) {
      free(y);
      promo_error_at(err, NULL, t->lines[r], (int64_t)c + 1);
      snprintf(err->column_name, sizeof err->column_name, "%s", target);
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("target '%s' is missing; clean or drop rows without a target"), target);
    }
    y[r] = col->type == PROMO_TYPE_DECIMAL ? col->reals[r] : (double)col->ints[r];
  }
  *out = y;
  return PROMO_OK;
}

/* Record every column some step reads, with its training type. */
static promo_status record_inputs(promo_pipeline *p, const promo_table *t,
                                  const column_choice *choices, const promo_pipeline_options *opt) {
  p->input_names = calloc(t->n_columns > 0 ? t->n_columns : 1, sizeof *p->input_names);
  p->input_types = calloc(t->n_columns > 0 ? t->n_columns : 1, sizeof *p->input_types);
  if (p->input_names == NULL || p->input_types == NULL) return PROMO_ERR_NOMEM;
  for (size_t c = 0; c < t->n_columns; c++) {
    bool used = choices[c].is_input ||
                (opt->price_column != NULL && strcmp(t->columns[c].name, opt->price_column) == 0);
    if (!used) continue;
    p->input_names[p->n_inputs] = pipeline_strdup(t->columns[c].name);
    if (p->input_names[p->n_inputs] == NULL) return PROMO_ERR_NOMEM;
    p->input_types[p->n_inputs++] = t->columns[c].type;
  }
  return PROMO_OK;
}

/* Fit the steps whose output count must be known before the matrix exists. */
static promo_status fit_steps(promo_pipeline *p, const promo_table *t, const column_choice *choices,
                              const promo_pipeline_options *opt, const double *y,
                              const promo_context *ctx, promo_error *err) {
  size_t n = t->n_columns > 0 ? t->n_columns : 1;
  p->times = calloc(n, sizeof *p->times);
  p->offers = calloc(n, sizeof *p->offers);
  p->pca_scalers = calloc(n, sizeof *p->pca_scalers);
  if (p->times == NULL || p->offers == NULL || p->pca_scalers == NULL)
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  promo_status st = PROMO_OK;

  for (size_t c = 0; c < t->n_columns && st == PROMO_OK; c++) {
    const column_choice *ch = &choices[c];
    const char *name = t->columns[c].name;
    if (ch->action == ACTION_TIME) {
      promo_timefeat_options topt;
      promo_timefeat_options_init(&topt);
      st = promo_timefeat_parse_spec(ch->time_spec, &topt, err);
      if (st == PROMO_OK) st = promo_timefeat_create(name, &topt, &p->times[p->n_times], err);
      if (st == PROMO_OK) p->n_times++;
      if (st == PROMO_OK && opt->calendar_path != NULL)
        st = promo_timefeat_load_events(p->times[p->n_times - 1], opt->calendar_path, err);
    } else if (ch->action == ACTION_OFFER) {
      offer_step *o = &p->offers[p->n_offers++];
      o->column = pipeline_strdup(name);
      o->price_column = pipeline_strdup(opt->price_column);
      o->reject = opt->reject_bad_offers;
      if (o->column == NULL || (opt->price_column != NULL && o->price_column == NULL))
        st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    } else if (ch->action == ACTION_PCA) {
      promo_type type = t->columns[c].type;
      if (type != PROMO_TYPE_INT && type != PROMO_TYPE_DECIMAL && type != PROMO_TYPE_BOOL) {
        snprintf(err->column_name, sizeof err->column_name, "%s", name);
        st = promo_error_set(err, PROMO_ERR_USAGE, _("column '%s' holds %s values; pca needs numeric columns"),
                             name, promo_type_name(type));
        break;
      }
      promo_encoder_options eopt;
      promo_encoder_options_init(&eopt, PROMO_ENCODER_STANDARDIZE);
      st = promo_encoder_fit(t, c, NULL, t->n_rows, y, &eopt, ctx, &p->pca_scalers[p->n_pca_inputs], err);
      if (st == PROMO_OK) p->n_pca_inputs++;
    }
  }
  if (st != PROMO_OK) return st;

  if (opt->n_window_specs > 0) {
    promo_window_spec *specs = calloc(opt->n_window_specs, sizeof *specs);
    if (specs == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    for (size_t i = 0; i < opt->n_window_specs && st == PROMO_OK; i++)
      st = promo_window_spec_parse(opt->window_specs[i], &specs[i], err);
    if (st == PROMO_OK) st = promo_window_create(specs, opt->n_window_specs, &opt->window, &p->window, err);
    free(specs);
  }
  return st;
}

/* Columns of the scaled block that feeds the PCA. */
static size_t pca_width(const promo_pipeline *p) {
  size_t width = 0;
  for (size_t i = 0; i < p->n_pca_inputs; i++) width += promo_encoder_n_outputs(p->pca_scalers[i]);
  return width;
}

/* Fit the PCA on the scaled PCA inputs; `block` is [n_rows x n_pca_inputs]. */
static promo_status fit_pca(promo_pipeline *p, const promo_table *t, const promo_pipeline_options *opt,
                            const promo_context *ctx, float **block, promo_error *err) {
  *block = NULL;
  if (p->n_pca_inputs == 0) return PROMO_OK;
  size_t width = pca_width(p);
  float *B = malloc((t->n_rows > 0 ? t->n_rows : 1) * width * sizeof *B);
  if (B == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  promo_status st = promo_encoder_transform_all((const promo_encoder *const *)p->pca_scalers,
                                                p->n_pca_inputs, t, NULL, t->n_rows, B, width, 0,
                                                ctx, NULL, err);
  if (st == PROMO_OK) {
    promo_pca_options popt;
    promo_pca_options_init(&popt);
    popt.n_components = opt->pca_components;
    popt.variance_share = opt->pca_components == 0 ? opt->pca_variance : 0.0;
    st = promo_pca_fit(B, t->n_rows, width, width, &popt, ctx, &p->pca, err);
  }
  if (st != PROMO_OK) {
    free(B);
    return st;
  }
  *block = B;
  return PROMO_OK;
}

/* Fill names and sources of every output, in layout order. */
static promo_status name_outputs(promo_pipeline *p) {
  size_t n = 0;
  for (size_t e = 0; e < p->n_encoders; e++) n += promo_encoder_n_outputs(p->encoders[e]);
  p->derived_begin = n;
  for (size_t i = 0; i < p->n_times; i++) n += promo_timefeat_n_outputs(p->times[i]);
  for (size_t i = 0; i < p->n_offers; i++) n += offer_step_n_outputs(&p->offers[i]);
  if (p->window != NULL) n += promo_window_n_specs(p->window);
  p->derived_end = n;
  if (p->pca != NULL) n += promo_pca_n_components(p->pca);
  if (pipeline_alloc_outputs(p, n) != PROMO_OK) return PROMO_ERR_NOMEM;

  char name[512], source[512];
  size_t j = 0;
  for (size_t e = 0; e < p->n_encoders; e++) {
    const promo_encoder *enc = p->encoders[e];
    for (size_t k = 0; k < promo_encoder_n_outputs(enc); k++, j++) {
      p->names[j] = pipeline_strdup(promo_encoder_output_name(enc, k));
      snprintf(source, sizeof source, "%s: %s", promo_encoder_column(enc),
               promo_encoder_kind_name(promo_encoder_get_kind(enc)));
      p->sources[j] = pipeline_strdup(source);
    }
  }
  for (size_t i = 0; i < p->n_times; i++) {
    for (size_t k = 0; k < promo_timefeat_n_outputs(p->times[i]); k++, j++) {
      char feature[256];
      promo_timefeat_output_name(p->times[i], k, feature, sizeof feature);
      snprintf(name, sizeof name, "%s_%s", promo_timefeat_column(p->times[i]), feature);
      snprintf(source, sizeof source, "%s: time", promo_timefeat_column(p->times[i]));
      p->names[j] = pipeline_strdup(name);
      p->sources[j] = pipeline_strdup(source);
    }
  }
  for (size_t i = 0; i < p->n_offers; i++) {
    for (size_t k = 0; k < offer_step_n_outputs(&p->offers[i]); k++, j++) {
      offer_step_output_name(&p->offers[i], k, name, sizeof name);
      snprintf(source, sizeof source, "%s: offer", p->offers[i].column);
      p->names[j] = pipeline_strdup(name);
      p->sources[j] = pipeline_strdup(source);
    }
  }
  if (p->window != NULL) {
    for (size_t s = 0; s < promo_window_n_specs(p->window); s++, j++) {
      const promo_window_spec *spec = promo_window_spec_at(p->window, s);
      promo_window_spec_name(spec, name, sizeof name);
      promo_window_spec_format(spec, source, sizeof source);
      p->names[j] = pipeline_strdup(name);
      p->sources[j] = pipeline_strdup(source);
    }
  }
  if (p->pca != NULL) {
    for (size_t k = 0; k < promo_pca_n_components(p->pca); k++, j++) {
      promo_pca_output_name(p->pca, k, name, sizeof name);
      p->names[j] = pipeline_strdup(name);
      p->sources[j] = pipeline_strdup("pca");
    }
  }
  for (size_t k = 0; k < p->n_outputs; k++) {
    if (p->names[k] == NULL || p->sources[k] == NULL) return PROMO_ERR_NOMEM;
    p->is_derived[k] = k >= p->derived_begin && k < p->derived_end;
  }
  return PROMO_OK;
}

/* Compute the raw outputs of the time, offer and window steps into X. */
static promo_status apply_derived(const promo_pipeline *p, const promo_pipeline_data *data,
                                  const promo_context *ctx, promo_matrix *m, promo_error *err) {
  const promo_table *t = data->rows;
  size_t ld = p->n_outputs;
  size_t offset = p->derived_begin;
  for (size_t i = 0; i < p->n_times; i++) {
    const promo_timefeat *tf = p->times[i];
    size_t n_out = promo_timefeat_n_outputs(tf);
    ptrdiff_t c = promo_table_find(t, promo_timefeat_column(tf));
    if (c < 0)
      return promo_error_set(err, PROMO_ERR_DATA, _("column '%s' is missing from the data"),
                             promo_timefeat_column(tf));
    const promo_column *col = &t->columns[c];
    if (col->type != PROMO_TYPE_DATE && col->type != PROMO_TYPE_DATETIME)
      return promo_error_set(err, PROMO_ERR_DATA, _("column '%s' holds %s values, not dates"),
                             col->name, promo_type_name(col->type));
    for (size_t r = 0; r < t->n_rows; r++) {
      float *out = m->X + r * ld + offset;
      if (col->is_missing[r]) {
        for (size_t k = 0; k < n_out; k++) out[k] = NAN;
        continue;
      }
      promo_status st = promo_timefeat_compute(tf, col->ints[r], col->type == PROMO_TYPE_DATETIME, out, err);
      if (st != PROMO_OK) {
        promo_error_at(err, NULL, t->lines[r], (int64_t)c + 1);
        return st;
      }
    }
    offset += n_out;
  }
  for (size_t i = 0; i < p->n_offers; i++) {
    uint64_t n_unparsed = 0;
    promo_status st = offer_step_apply(&p->offers[i], t, m->X, ld, offset, m->rejected, &n_unparsed, err);
    if (st != PROMO_OK) return st;
    if (n_unparsed > 0)
      promo_log(ctx, PROMO_LOG_WARN, _("column '%s': %llu rows have promotion text that does not parse (%s)"),
                p->offers[i].column, (unsigned long long)n_unparsed,
                p->offers[i].reject ? _("rows rejected") : _("flagged in the column ending in _unknown"));
    offset += offer_step_n_outputs(&p->offers[i]);
  }
  if (p->window != NULL) {
    if (data->events == NULL)
      return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                             _("window features need an events table; give the behavior log"));
    promo_status st = promo_window_compute(p->window, data->events, data->events_path, t,
                                           data->rows_path, ctx, m->X + offset, ld, NULL, err);
    if (st != PROMO_OK) return st;
  }
  return PROMO_OK;
}

/* Learn the mean and std of each derived output over the training rows (NaN skipped). */
static void fit_derived_scaling(promo_pipeline *p, const promo_matrix *m) {
  for (size_t j = p->derived_begin; j < p->derived_end; j++) {
    double sum = 0.0, sum_sq = 0.0;
    uint64_t n = 0;
    for (size_t r = 0; r < m->n_rows; r++) {
      double x = m->X[r * m->n_columns + j];
      if (isnan(x)) continue;
      sum += x;
      n++;
    }
    double mean = n > 0 ? sum / (double)n : 0.0;
    for (size_t r = 0; r < m->n_rows; r++) {
      double x = m->X[r * m->n_columns + j];
      if (!isnan(x)) sum_sq += (x - mean) * (x - mean);
    }
    double std = n > 0 ? sqrt(sum_sq / (double)n) : 0.0;
    p->mean[j] = mean;
    p->std[j] = std > 0.0 ? std : 1.0;
  }
}

static void scale_derived(const promo_pipeline *p, promo_matrix *m) {
  for (size_t r = 0; r < m->n_rows; r++) {
    float *row = m->X + r * m->n_columns;
    for (size_t j = p->derived_begin; j < p->derived_end; j++) {
      double x = row[j];
      row[j] = isnan(x) ? 0.0f : (float)((x - p->mean[j]) / p->std[j]);
    }
  }
}

static promo_status alloc_matrix(promo_matrix *m, size_t n_rows, size_t n_columns, bool with_rejects,
                                 promo_error *err) {
  memset(m, 0, sizeof *m);
  size_t cells = n_rows * n_columns;
  if (n_columns > 0 && cells / n_columns != n_rows)
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  m->X = calloc(cells > 0 ? cells : 1, sizeof *m->X);
  if (with_rejects) m->rejected = calloc(n_rows > 0 ? n_rows : 1, 1);
  m->n_rows = n_rows;
  m->n_columns = n_columns;
  if (m->X == NULL || (with_rejects && m->rejected == NULL)) {
    promo_matrix_clear(m);
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  }
  return PROMO_OK;
}

static void count_rejected(promo_matrix *m) {
  m->n_rejected = 0;
  if (m->rejected == NULL) return;
  for (size_t r = 0; r < m->n_rows; r++) m->n_rejected += m->rejected[r];
}

static bool any_rejecting_offer(const promo_pipeline *p) {
  for (size_t i = 0; i < p->n_offers; i++)
    if (p->offers[i].reject) return true;
  return false;
}

/* Fit the encoders and write their training outputs (out-of-fold for target encoding). */
static promo_status fit_encoders(promo_pipeline *p, const promo_table *t, const column_choice *choices,
                                 const double *y, const promo_context *ctx, promo_matrix *m,
                                 promo_error *err) {
  size_t n_requests = 0;
  promo_encoder_request *requests = calloc(t->n_columns > 0 ? t->n_columns : 1, sizeof *requests);
  p->encoders = calloc(t->n_columns > 0 ? t->n_columns : 1, sizeof *p->encoders);
  if (requests == NULL || p->encoders == NULL) {
    free(requests);
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  }
  for (size_t c = 0; c < t->n_columns; c++) {
    if (choices[c].action != ACTION_ENCODER) continue;
    requests[n_requests].column = c;
    promo_encoder_options_init(&requests[n_requests].options, choices[c].kind);
    n_requests++;
  }
  promo_status st = PROMO_OK;
  if (n_requests > 0 && m == NULL) {
    st = promo_encoder_fit_all(t, requests, n_requests, NULL, t->n_rows, y, NULL, 0, 0, ctx,
                               p->encoders, err);
  } else if (n_requests > 0) {
    st = promo_encoder_fit_all(t, requests, n_requests, NULL, t->n_rows, y, m->X, m->n_columns, 0,
                               ctx, p->encoders, err);
  }
  if (st == PROMO_OK) p->n_encoders = n_requests;
  free(requests);
  return st;
}

promo_status promo_pipeline_fit_transform(const promo_pipeline_data *data,
                                          const promo_pipeline_options *opt,
                                          const promo_context *ctx, promo_pipeline **out,
                                          promo_matrix *m, promo_error *err) {
  const promo_table *t = data->rows;
  *out = NULL;
  memset(m, 0, sizeof *m);
  promo_pipeline *p = calloc(1, sizeof *p);
  column_choice *choices = calloc(t->n_columns > 0 ? t->n_columns : 1, sizeof *choices);
  double *y = NULL;
  float *pca_block = NULL;
  promo_status st;
  if (p == NULL || choices == NULL) {
    st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    goto done;
  }
  if ((st = read_target(t, opt->target, &y, err)) != PROMO_OK) goto done;
  if (opt->target != NULL && (p->target = pipeline_strdup(opt->target)) == NULL) {
    st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    goto done;
  }
  if ((st = decide_columns(p, t, opt, choices, err)) != PROMO_OK) goto done;
  if (record_inputs(p, t, choices, opt) != PROMO_OK) {
    st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    goto done;
  }

  /* Fit once to learn the output counts, lay out the matrix, then fit again into it: a
   * target encoder writes its out-of-fold training outputs only while fitting. */
  if ((st = fit_encoders(p, t, choices, y, ctx, NULL, err)) != PROMO_OK) goto done;
  if ((st = fit_steps(p, t, choices, opt, y, ctx, err)) != PROMO_OK) goto done;
  if ((st = fit_pca(p, t, opt, ctx, &pca_block, err)) != PROMO_OK) goto done;
  if (name_outputs(p) != PROMO_OK) {
    st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    goto done;
  }
  if ((st = alloc_matrix(m, t->n_rows, p->n_outputs, any_rejecting_offer(p), err)) != PROMO_OK) goto done;
  for (size_t e = 0; e < p->n_encoders; e++) promo_encoder_free(p->encoders[e]);
  p->n_encoders = 0;
  free(p->encoders);
  p->encoders = NULL;
  if ((st = fit_encoders(p, t, choices, y, ctx, m, err)) != PROMO_OK) goto done;

  if ((st = apply_derived(p, data, ctx, m, err)) != PROMO_OK) goto done;
  fit_derived_scaling(p, m);
  scale_derived(p, m);
  if (p->pca != NULL)
    st = promo_pca_transform(p->pca, pca_block, t->n_rows, pca_width(p), m->X, m->n_columns,
                             p->derived_end, err);
  count_rejected(m);

done:
  free(y);
  free(choices);
  free(pca_block);
  if (st != PROMO_OK) {
    promo_matrix_clear(m);
    promo_pipeline_free(p);
    return st;
  }
  *out = p;
  return PROMO_OK;
}

promo_status promo_pipeline_transform(const promo_pipeline *p, const promo_pipeline_data *data,
                                      const promo_context *ctx, promo_matrix *m, promo_error *err) {
  const promo_table *t = data->rows;
  promo_status st = alloc_matrix(m, t->n_rows, p->n_outputs, any_rejecting_offer(p), err);
  if (st != PROMO_OK) return st;
  float *block = NULL;
  if (p->n_encoders > 0)
    st = promo_encoder_transform_all((const promo_encoder *const *)p->encoders, p->n_encoders, t,
                                     NULL, t->n_rows, m->X, m->n_columns, 0, ctx, NULL, err);
  if (st == PROMO_OK) st = apply_derived(p, data, ctx, m, err);
  if (st == PROMO_OK) scale_derived(p, m);
  if (st == PROMO_OK && p->pca != NULL) {
    size_t width = pca_width(p);
    block = malloc((t->n_rows > 0 ? t->n_rows : 1) * width * sizeof *block);
    if (block == NULL) st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    if (st == PROMO_OK)
      st = promo_encoder_transform_all((const promo_encoder *const *)p->pca_scalers, p->n_pca_inputs,
                                       t, NULL, t->n_rows, block, width, 0, ctx, NULL, err);
    if (st == PROMO_OK)
      st = promo_pca_transform(p->pca, block, t->n_rows, width, m->X, m->n_columns, p->derived_end, err);
  }
  free(block);
  if (st != PROMO_OK) {
    promo_matrix_clear(m);
    return st;
  }
  count_rejected(m);
  return PROMO_OK;
}
