/* Encoder front end of the feature stage: options, checks, fitting and transforming one
 * column or many at once (OpenMP), output names and the JSON form. The numeric work is in
 * scale.c, the categorical work in category.c, the default choice per column in
 * suggest.c. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "feature/encode_internal.h"

/* ---- names and options ---- */

static const char *const kKindNames[PROMO_ENCODER_N_KINDS] = {
    "none",    "standardize", "minmax",    "robust", "log_standardize",
    "one_hot", "index",       "frequency", "target"};

static const char *const kImputeNames[] = {"auto", "mean", "median", "constant"};
enum { N_IMPUTE = sizeof kImputeNames / sizeof kImputeNames[0] };

const char *promo_encoder_kind_name(promo_encoder_kind kind) {
  return (unsigned)kind < PROMO_ENCODER_N_KINDS ? kKindNames[kind] : "unknown";
}

bool promo_encoder_kind_parse(const char *name, promo_encoder_kind *out) {
  for (int k = 0; k < PROMO_ENCODER_N_KINDS; k++) {
    if (strcmp(name, kKindNames[k]) == 0) {
      *out = (promo_encoder_kind)k;
      return true;
    }
  }
  return false;
}

bool promo_encoder_kind_is_numeric(promo_encoder_kind kind) {
  return kind >= PROMO_ENCODER_STANDARDIZE && kind <= PROMO_ENCODER_LOG_STANDARDIZE;
}

const char *promo_encoder_impute_name(promo_encoder_impute impute) {
  return (unsigned)impute < N_IMPUTE ? kImputeNames[impute] : "unknown";
}

bool promo_encoder_impute_parse(const char *name, promo_encoder_impute *out) {
  for (int i = 0; i < N_IMPUTE; i++) {
    if (strcmp(name, kImputeNames[i]) == 0) {
      *out = (promo_encoder_impute)i;
      return true;
    }
  }
  return false;
}

void promo_encoder_options_init(promo_encoder_options *opt, promo_encoder_kind kind) {
  memset(opt, 0, sizeof *opt);
  opt->kind = kind;
  opt->impute = PROMO_ENCODER_IMPUTE_AUTO;
  opt->min_count = 1;
  opt->smoothing = 10.0;
  opt->n_folds = 5;
  opt->seed = 42;
  if (kind == PROMO_ENCODER_ONE_HOT) {
    opt->min_count = 10;
    opt->max_levels = 64;
  } else if (kind == PROMO_ENCODER_INDEX) {
    opt->min_count = 5;
  }
}

/* ---- checks ---- */

static void name_column(promo_error *err, const char *name) {
  if (err != NULL) snprintf(err->column_name, sizeof err->column_name, "%s", name);
}

static bool kind_reads_type(promo_encoder_kind kind, promo_type type) {
  if (promo_encoder_kind_is_numeric(kind))
    return promo_type_is_numeric(type) || type == PROMO_TYPE_DATE || type == PROMO_TYPE_DATETIME;
  return promo_type_is_string(type) || type == PROMO_TYPE_BOOL || type == PROMO_TYPE_INT;
}

static promo_status check_rows(const promo_table *table, const size_t *rows, size_t n_rows,
                               promo_error *err) {
  if (rows == NULL && n_rows != table->n_rows)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("%zu rows requested without a row list, but the table has %zu "
                             "rows"),
                           n_rows, table->n_rows);
  for (size_t i = 0; rows != NULL && i < n_rows; i++)
    if (rows[i] >= table->n_rows)
      return promo_error_set(err, PROMO_ERR_USAGE,
                             _("row index %zu is out of range for a table of %zu rows"), rows[i],
                             table->n_rows);
  return PROMO_OK;
}

static promo_status check_options(const promo_encoder_options *opt, const char *name, size_t n_rows,
                                  promo_error *err) {
  if (opt->kind <= PROMO_ENCODER_NONE || opt->kind >= PROMO_ENCODER_N_KINDS)
    return promo_error_set(err, PROMO_ERR_USAGE, _("column \"%s\": encoder kind %d is not valid"),
                           name, (int)opt->kind);
  if (promo_encoder_kind_is_numeric(opt->kind)) {
    if ((unsigned)opt->impute >= N_IMPUTE)
      return promo_error_set(err, PROMO_ERR_USAGE,
                             _("column \"%s\": imputation strategy %d is not valid"), name,
                             (int)opt->impute);
    bool is_constant = opt->impute == PROMO_ENCODER_IMPUTE_CONSTANT;
    if (is_constant && (!isfinite(opt->fill_value) ||
                        (opt->kind == PROMO_ENCODER_LOG_STANDARDIZE && !(opt->fill_value > -1))))
      return promo_error_set(err, PROMO_ERR_USAGE,
                             _("column \"%s\": fill value %g is not valid for a %s scaler"), name,
                             opt->fill_value, promo_encoder_kind_name(opt->kind));
  }
  if (opt->kind != PROMO_ENCODER_TARGET) return PROMO_OK;

  if (!(opt->smoothing > 0) || !isfinite(opt->smoothing))
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("column \"%s\": target smoothing must be a positive number, "
                             "not %g"),
                           name, opt->smoothing);
  if (opt->n_folds < 2)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("column \"%s\": target encoding needs at least 2 folds, not %zu"),
                           name, opt->n_folds);
  if (n_rows > UINT32_MAX)
    return promo_error_set(err, PROMO_ERR_UNSUPPORTED,
                           _("column \"%s\": target encoding supports at most 2^32 - 1 "
                             "training rows"),
                           name);
  if (n_rows < opt->n_folds)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("column \"%s\": target encoding with %zu folds needs at least "
                             "%zu training rows, but has %zu"),
                           name, opt->n_folds, opt->n_folds, n_rows);
  return PROMO_OK;
}

static promo_status check_request(const promo_table *table, size_t column, const size_t *rows,
                                  size_t n_rows, const promo_encoder_options *opt,
                                  promo_error *err) {
  if (column >= table->n_columns)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("column index %zu is out of range for a table of %zu columns"), column,
                           table->n_columns);
  const promo_column *col = &table->columns[column];
  name_column(err, col->name);
  promo_status status = check_options(opt, col->name, n_rows, err);
  if (status != PROMO_OK) return status;
  if (!kind_reads_type(opt->kind, col->type))
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("column \"%s\" is %s, which a %s encoder cannot read. Use a "
                             "scaler for numbers and a categorical encoder for categories"),
                           col->name, promo_type_name(col->type),
                           promo_encoder_kind_name(opt->kind));
  status = check_rows(table, rows, n_rows, err);
  if (status != PROMO_OK) return status;
  if (n_rows == 0)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("column \"%s\" has no training rows to fit an encoder on"), col->name);
  return PROMO_OK;
}

/* ---- output names ---- */

/* New string "<prefix><separator><suffix>"; suffix has suffix_len bytes. */
static char *join_name(const char *prefix, const char *separator, const char *suffix,
                       size_t suffix_len) {
  size_t a = strlen(prefix), b = strlen(separator);
  char *name = malloc(a + b + suffix_len + 1);
  if (name == NULL) return NULL;
  memcpy(name, prefix, a);
  memcpy(name + a, separator, b);
  if (suffix_len > 0) memcpy(name + a + b, suffix, suffix_len);
  name[a + b + suffix_len] = '\0';
  return name;
}

promo_status encode_make_output_names(promo_encoder *enc) {
  const char *col = enc->column;
  size_t n = 1;
  if (promo_encoder_kind_is_numeric(enc->kind)) n = enc->has_indicator ? 2 : 1;
  if (enc->kind == PROMO_ENCODER_ONE_HOT) n = enc->n_levels + 1 + (enc->n_missing > 0);
  enc->output_names = calloc(n, sizeof *enc->output_names);
  if (enc->output_names == NULL) return PROMO_ERR_NOMEM;
  enc->n_outputs = n;

  char **names = enc->output_names;
  switch (enc->kind) {
    case PROMO_ENCODER_ONE_HOT:
      for (size_t i = 0; i < enc->n_levels; i++) {
        size_t len;
        const char *level = promo_dict_string(enc->levels, (int32_t)i, &len);
        names[i] = join_name(col, "=", level, len);
      }
      names[enc->n_levels] = join_name(col, "=", "__other__", 9);
      if (enc->n_missing > 0) names[enc->n_levels + 1] = join_name(col, "=", "__missing__", 11);
      break;
    case PROMO_ENCODER_FREQUENCY: names[0] = join_name(col, "", "_freq", 5); break;
    case PROMO_ENCODER_TARGET: names[0] = join_name(col, "", "_target", 7); break;
    default:
      names[0] = join_name(col, "", "", 0);
      if (n == 2) names[1] = join_name(col, "", "_missing", 8);
      break;
  }
  for (size_t j = 0; j < n; j++)
    if (names[j] == NULL) return PROMO_ERR_NOMEM;
  return PROMO_OK;
}

/* ---- lifetime and accessors ---- */

void promo_encoder_free(promo_encoder *encoder) {
  if (encoder == NULL) return;
  encode_category_free(encoder);
  for (size_t j = 0; encoder->output_names != NULL && j < encoder->n_outputs; j++)
    free(encoder->output_names[j]);
  free(encoder->output_names);
  free(encoder->column);
  free(encoder);
}

static promo_encoder *encoder_create(const char *column, promo_encoder_kind kind) {
  promo_encoder *enc = calloc(1, sizeof *enc);
  if (enc == NULL) return NULL;
  enc->kind = kind;
  enc->column = strdup(column);
  if (enc->column == NULL) {
    free(enc);
    return NULL;
  }
  return enc;
}

promo_encoder_kind promo_encoder_get_kind(const promo_encoder *encoder) { return encoder->kind; }
const char *promo_encoder_column(const promo_encoder *encoder) { return encoder->column; }
size_t promo_encoder_n_outputs(const promo_encoder *encoder) { return encoder->n_outputs; }
size_t promo_encoder_n_levels(const promo_encoder *encoder) { return encoder->n_levels; }

const char *promo_encoder_output_name(const promo_encoder *encoder, size_t j) {
  return j < encoder->n_outputs ? encoder->output_names[j] : NULL;
}

const char *promo_encoder_level(const promo_encoder *encoder, size_t i) {
  if (i >= encoder->n_levels) return NULL;
  return promo_dict_string(encoder->levels, (int32_t)i, NULL);
}

/* ---- binding and applying ---- */

/* Bind to column col of a table of n_rows rows. */
static promo_status bind_column(const promo_encoder *enc, const promo_column *col, size_t n_rows,
                                encode_binding *binding, promo_error *err) {
  memset(binding, 0, sizeof *binding);
  binding->encoder = enc;
  binding->column = col;
  if (!promo_encoder_kind_is_numeric(enc->kind))
    return encode_category_bind(enc, col, n_rows, binding, err);
  if (kind_reads_type(enc->kind, col->type)) return PROMO_OK;
  name_column(err, enc->column);
  return promo_error_set(err, PROMO_ERR_DATA,
                         _("column \"%s\" is %s now, but its %s scaler reads numbers. Check "
                           "the column's values or the type given for it"),
                         enc->column, promo_type_name(col->type),
                         promo_encoder_kind_name(enc->kind));
}

promo_status encode_bind(const promo_encoder *encoder, const promo_table *table,
                         encode_binding *binding, promo_error *err) {
  memset(binding, 0, sizeof *binding);
  ptrdiff_t c = promo_table_find(table, encoder->column);
  if (c < 0) {
    name_column(err, encoder->column);
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("column \"%s\" is not in the table, but the fitted encoders "
                             "need it"),
                           encoder->column);
  }
  return bind_column(encoder, &table->columns[c], table->n_rows, binding, err);
}

void encode_binding_clear(encode_binding *binding) {
  free(binding->slot_of_code);
  binding->slot_of_code = NULL;
}

void encode_apply(const encode_binding *binding, const size_t *rows, size_t begin, size_t end,
                  float *X, size_t ld, size_t offset, promo_encoder_counts *counts) {
  if (promo_encoder_kind_is_numeric(binding->encoder->kind))
    encode_scale_apply(binding, rows, begin, end, X, ld, offset, counts);
  else
    encode_category_apply(binding, rows, begin, end, X, ld, offset, counts);
}

/* One encoder bound to its column, writing from `offset`. */
typedef struct encode_job {
  encode_binding binding;
  size_t offset;
} encode_job;

enum { ROW_BLOCK = 2048 };

static int thread_count(const promo_context *ctx) {
  return ctx != NULL && ctx->n_threads > 0 ? ctx->n_threads : omp_get_max_threads();
}

/* Run every job over blocks of rows in parallel; blocks write disjoint rows of X, so
 * threads share no cache lines except at block edges. counts has n_jobs slots. */
static promo_status apply_jobs(const encode_job *jobs, size_t n_jobs, const size_t *rows,
                               size_t n_rows, float *X, size_t ld, int n_threads,
                               promo_encoder_counts *counts) {
  size_t n_blocks = (n_rows + ROW_BLOCK - 1) / ROW_BLOCK;
  if (n_blocks < (size_t)n_threads) n_threads = n_blocks > 0 ? (int)n_blocks : 1;
  promo_encoder_counts *per_thread =
      calloc((size_t)n_threads * (n_jobs > 0 ? n_jobs : 1), sizeof *per_thread);
  if (per_thread == NULL) return PROMO_ERR_NOMEM;

#pragma omp parallel for schedule(static) num_threads(n_threads)
  for (long b = 0; b < (long)n_blocks; b++) {
    promo_encoder_counts *mine = per_thread + (size_t)omp_get_thread_num() * n_jobs;
    size_t begin = (size_t)b * ROW_BLOCK;
    size_t end = n_rows - begin < ROW_BLOCK ? n_rows : begin + ROW_BLOCK;
    for (size_t j = 0; j < n_jobs; j++)
      encode_apply(&jobs[j].binding, rows, begin, end, X, ld, jobs[j].offset, &mine[j]);
  }

  for (size_t j = 0; j < n_jobs; j++) {
    memset(&counts[j], 0, sizeof counts[j]);
    for (int t = 0; t < n_threads; t++) {
      const promo_encoder_counts *c = &per_thread[(size_t)t * n_jobs + j];
      counts[j].n_imputed += c->n_imputed;
      counts[j].n_clipped += c->n_clipped;
      counts[j].n_other += c->n_other;
    }
  }
  free(per_thread);
  return PROMO_OK;
}

/* ---- fit ---- */

static void log_fit(const promo_context *ctx, const promo_encoder *enc) {
  if (!promo_log_enabled(ctx, PROMO_LOG_DEBUG)) return;
  if (promo_encoder_kind_is_numeric(enc->kind)) {
    promo_log(ctx, PROMO_LOG_DEBUG,
              "encoder %s: %s center=%.17g scale=%.17g impute=%s value=%.17g missing=%llu",
              enc->column, kKindNames[enc->kind], enc->center, enc->scale,
              kImputeNames[enc->opt.impute], enc->impute_value, (unsigned long long)enc->n_missing);
  } else {
    promo_log(ctx, PROMO_LOG_DEBUG,
              "encoder %s: %s levels=%zu rare_levels=%llu rare_rows=%llu missing=%llu", enc->column,
              kKindNames[enc->kind], enc->n_levels, (unsigned long long)enc->n_rare_levels,
              (unsigned long long)enc->n_rare_rows, (unsigned long long)enc->n_missing);
  }
}

/* Fit without writing outputs; the caller logs. */
static promo_status fit_encoder(const promo_table *table, size_t column, const size_t *rows,
                                size_t n_rows, const double *target,
                                const promo_encoder_options *opt, promo_encoder **out,
                                promo_error *err) {
  *out = NULL;
  promo_status status = check_request(table, column, rows, n_rows, opt, err);
  if (status != PROMO_OK) return status;
  const promo_column *col = &table->columns[column];
  promo_encoder *enc = encoder_create(col->name, opt->kind);
  if (enc == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  enc->opt = *opt;
  if (enc->opt.impute == PROMO_ENCODER_IMPUTE_AUTO)
    enc->opt.impute =
        opt->kind == PROMO_ENCODER_ROBUST ? PROMO_ENCODER_IMPUTE_MEDIAN : PROMO_ENCODER_IMPUTE_MEAN;
  enc->source_type = col->type;
  enc->n_train_rows = n_rows;

  if (promo_encoder_kind_is_numeric(opt->kind)) {
    status = encode_scale_fit(enc, table, column, rows, n_rows, err);
  } else {
    status = encode_category_fit(enc, table, column, rows, n_rows, target, err);
    if (status == PROMO_OK && encode_category_finish(enc) != PROMO_OK)
      status = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  }
  if (status == PROMO_OK && encode_make_output_names(enc) != PROMO_OK)
    status = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  if (status != PROMO_OK) {
    name_column(err, col->name);
    promo_encoder_free(enc);
    return status;
  }
  *out = enc;
  return PROMO_OK;
}

promo_status promo_encoder_fit(const promo_table *table, size_t column, const size_t *rows,
                               size_t n_rows, const double *target,
                               const promo_encoder_options *opt, const promo_context *ctx,
                               promo_encoder **out, promo_error *err) {
  return promo_encoder_fit_transform(table, column, rows, n_rows, target, opt, NULL, 0, 0, ctx, out,
                                     err);
}

promo_status promo_encoder_fit_transform(const promo_table *table, size_t column,
                                         const size_t *rows, size_t n_rows, const double *target,
                                         const promo_encoder_options *opt, float *X, size_t ld,
                                         size_t offset, const promo_context *ctx,
                                         promo_encoder **out, promo_error *err) {
  promo_encoder_request request = {column, *opt};
  return promo_encoder_fit_all(table, &request, 1, rows, n_rows, target, X, ld, offset, ctx, out,
                               err);
}

/* Write the training outputs of fitted encoders: out-of-fold for TARGET (one encoder per
 * thread), the plain transform for the others (blocks of rows in parallel). */
static promo_status write_training_outputs(promo_encoder *const *encoders, size_t n,
                                           const promo_encoder_request *requests,
                                           const promo_table *table, const size_t *rows,
                                           size_t n_rows, const double *target, float *X, size_t ld,
                                           size_t offset, int n_threads, promo_error *err) {
  encode_job *jobs = calloc(n > 0 ? n : 1, sizeof *jobs);
  promo_encoder_counts *counts = calloc(n > 0 ? n : 1, sizeof *counts);
  promo_status status = jobs != NULL && counts != NULL ? PROMO_OK : PROMO_ERR_NOMEM;
  size_t n_jobs = 0;
  size_t *target_offsets = calloc(n > 0 ? n : 1, sizeof *target_offsets);
  if (target_offsets == NULL) status = PROMO_ERR_NOMEM;

  for (size_t k = 0; k < n && status == PROMO_OK; k++) {
    target_offsets[k] = offset;
    if (encoders[k]->kind != PROMO_ENCODER_TARGET) {
      jobs[n_jobs].offset = offset;
      status = bind_column(encoders[k], &table->columns[requests[k].column], table->n_rows,
                           &jobs[n_jobs].binding, err);
      n_jobs++;
    }
    offset += encoders[k]->n_outputs;
  }

  promo_status failed = PROMO_OK;
  if (status == PROMO_OK) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for (long k = 0; k < (long)n; k++) {
      if (encoders[k]->kind != PROMO_ENCODER_TARGET) continue;
      if (encode_category_fit_out_of_fold(encoders[k], table, requests[k].column, rows, n_rows,
                                          target, X, ld, target_offsets[k], NULL) != PROMO_OK) {
#pragma omp atomic write
        failed = PROMO_ERR_NOMEM;
      }
    }
    if (failed != PROMO_OK) status = promo_error_set(err, failed, "%s", _("out of memory"));
  }
  if (status == PROMO_OK) status = apply_jobs(jobs, n_jobs, rows, n_rows, X, ld, n_threads, counts);
  if (status == PROMO_ERR_NOMEM) promo_error_set(err, status, "%s", _("out of memory"));

  for (size_t j = 0; jobs != NULL && j < n_jobs; j++) encode_binding_clear(&jobs[j].binding);
  free(jobs);
  free(counts);
  free(target_offsets);
  return status;
}

promo_status promo_encoder_fit_all(const promo_table *table, const promo_encoder_request *requests,
                                   size_t n_requests, const size_t *rows, size_t n_rows,
                                   const double *target, float *X, size_t ld, size_t offset,
                                   const promo_context *ctx, promo_encoder **out,
                                   promo_error *err) {
  for (size_t k = 0; k < n_requests; k++) out[k] = NULL;
  promo_status *statuses = calloc(n_requests > 0 ? n_requests : 1, sizeof *statuses);
  promo_error *errors = calloc(n_requests > 0 ? n_requests : 1, sizeof *errors);
  if (statuses == NULL || errors == NULL) {
    free(statuses);
    free(errors);
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  }
  int n_threads = thread_count(ctx);
  int fit_threads = n_requests < (size_t)n_threads ? (int)n_requests : n_threads;
  if (fit_threads < 1) fit_threads = 1;

    /* Each column is fitted by one thread. The error of the lowest failing index is kept, so
     * the result does not depend on scheduling. */
#pragma omp parallel for schedule(dynamic, 1) num_threads(fit_threads)
  for (long k = 0; k < (long)n_requests; k++) {
    promo_error_clear(&errors[k]);
    statuses[k] = fit_encoder(table, requests[k].column, rows, n_rows, target, &requests[k].options,
                              &out[k], &errors[k]);
  }

  promo_status status = PROMO_OK;
  for (size_t k = 0; k < n_requests && status == PROMO_OK; k++) {
    status = statuses[k];
    if (status != PROMO_OK && err != NULL) *err = errors[k];
  }
  for (size_t k = 0; k < n_requests && status == PROMO_OK; k++) log_fit(ctx, out[k]);
  if (status == PROMO_OK && X != NULL)
    status = write_training_outputs(out, n_requests, requests, table, rows, n_rows, target, X, ld,
                                    offset, n_threads, err);
  if (status != PROMO_OK) {
    for (size_t k = 0; k < n_requests; k++) {
      promo_encoder_free(out[k]);
      out[k] = NULL;
    }
  }
  free(statuses);
  free(errors);
  return status;
}

/* ---- transform ---- */

static void log_counts(const promo_context *ctx, const promo_encoder *enc,
                       const promo_encoder_counts *c) {
  if (c->n_clipped > 0)
    promo_log(ctx, PROMO_LOG_WARN,
              _("column \"%s\": %llu values at or below -1 were raised to the training "
                "minimum %g before log1p"),
              enc->column, (unsigned long long)c->n_clipped, enc->min);
  if (c->n_other > 0)
    promo_log(ctx, PROMO_LOG_INFO,
              _("column \"%s\": %llu rows have a value that was rare or unseen in training"),
              enc->column, (unsigned long long)c->n_other);
  if (c->n_imputed > 0)
    promo_log(ctx, PROMO_LOG_DEBUG, "column %s: %llu missing values imputed", enc->column,
              (unsigned long long)c->n_imputed);
}

promo_status promo_encoder_transform(const promo_encoder *encoder, const promo_table *table,
                                     const size_t *rows, size_t n_rows, float *X, size_t ld,
                                     size_t offset, promo_encoder_counts *counts,
                                     promo_error *err) {
  promo_status status = check_rows(table, rows, n_rows, err);
  if (status != PROMO_OK) return status;
  encode_binding binding;
  status = encode_bind(encoder, table, &binding, err);
  if (status != PROMO_OK) return status;
  promo_encoder_counts local = {0};
  encode_apply(&binding, rows, 0, n_rows, X, ld, offset, &local);
  encode_binding_clear(&binding);
  if (counts != NULL) *counts = local;
  return PROMO_OK;
}

promo_status promo_encoder_transform_all(const promo_encoder *const *encoders, size_t n_encoders,
                                         const promo_table *table, const size_t *rows,
                                         size_t n_rows, float *X, size_t ld, size_t offset,
                                         const promo_context *ctx, promo_encoder_counts *counts,
                                         promo_error *err) {
  promo_status status = check_rows(table, rows, n_rows, err);
  if (status != PROMO_OK) return status;
  encode_job *jobs = calloc(n_encoders > 0 ? n_encoders : 1, sizeof *jobs);
  promo_encoder_counts *local = calloc(n_encoders > 0 ? n_encoders : 1, sizeof *local);
  if (jobs == NULL || local == NULL) status = PROMO_ERR_NOMEM;

  size_t n_bound = 0;
  for (size_t k = 0; k < n_encoders && status == PROMO_OK; k++) {
    jobs[k].offset = offset;
    status = encode_bind(encoders[k], table, &jobs[k].binding, err);
    if (status == PROMO_OK) n_bound++;
    offset += encoders[k]->n_outputs;
  }
  if (status == PROMO_OK)
    status = apply_jobs(jobs, n_encoders, rows, n_rows, X, ld, thread_count(ctx), local);
  if (status == PROMO_ERR_NOMEM) promo_error_set(err, status, "%s", _("out of memory"));

  for (size_t k = 0; k < n_encoders && status == PROMO_OK; k++) {
    log_counts(ctx, encoders[k], &local[k]);
    if (counts != NULL) counts[k] = local[k];
  }
  for (size_t k = 0; k < n_bound; k++) encode_binding_clear(&jobs[k].binding);
  free(jobs);
  free(local);
  return status;
}

/* ---- JSON ---- */

promo_status encode_json_set(json_t *obj, const char *field, json_t *value) {
  if (value == NULL) return PROMO_ERR_NOMEM;
  return json_object_set_new(obj, field, value) == 0 ? PROMO_OK : PROMO_ERR_NOMEM;
}

promo_status encode_json_real(const json_t *obj, const char *field, double *out, promo_error *err) {
  const json_t *value = json_object_get(obj, field);
  if (!json_is_number(value) || !isfinite(json_number_value(value)))
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("encoder JSON: field \"%s\" is missing or not a number"), field);
  *out = json_number_value(value);
  return PROMO_OK;
}

promo_status encode_json_count(const json_t *obj, const char *field, uint64_t *out,
                               promo_error *err) {
  const json_t *value = json_object_get(obj, field);
  if (!json_is_integer(value) || json_integer_value(value) < 0)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("encoder JSON: field \"%s\" is missing or not a count"), field);
  *out = (uint64_t)json_integer_value(value);
  return PROMO_OK;
}

promo_status promo_encoder_to_json(const promo_encoder *encoder, json_t **out) {
  *out = NULL;
  json_t *obj = json_object();
  if (obj == NULL) return PROMO_ERR_NOMEM;
  promo_status status = encode_json_set(obj, "kind", json_string(kKindNames[encoder->kind]));
  if (status == PROMO_OK) status = encode_json_set(obj, "column", json_string(encoder->column));
  if (status == PROMO_OK)
    status =
        encode_json_set(obj, "source_type", json_string(promo_type_name(encoder->source_type)));
  if (status == PROMO_OK)
    status = encode_json_set(obj, "n_train_rows", json_integer((json_int_t)encoder->n_train_rows));
  if (status == PROMO_OK)
    status = encode_json_set(obj, "n_missing", json_integer((json_int_t)encoder->n_missing));
  if (status == PROMO_OK)
    status = promo_encoder_kind_is_numeric(encoder->kind) ? encode_scale_to_json(encoder, obj)
                                                          : encode_category_to_json(encoder, obj);
  if (status != PROMO_OK) {
    json_decref(obj);
    return status;
  }
  *out = obj;
  return PROMO_OK;
}

/* Kind, column, source type and row counts, which every encoder has. */
static promo_status common_from_json(const json_t *json, promo_encoder **out, promo_error *err) {
  const char *kind_name = json_string_value(json_object_get(json, "kind"));
  const char *column = json_string_value(json_object_get(json, "column"));
  const char *type_name = json_string_value(json_object_get(json, "source_type"));
  promo_encoder_kind kind;
  promo_type type;
  if (kind_name == NULL || !promo_encoder_kind_parse(kind_name, &kind) ||
      kind == PROMO_ENCODER_NONE)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("encoder JSON: field \"%s\" is missing or invalid"), "kind");
  if (column == NULL)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("encoder JSON: field \"%s\" is missing or invalid"), "column");
  if (type_name == NULL || !promo_type_parse(type_name, &type) || !kind_reads_type(kind, type))
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("encoder JSON: field \"%s\" is missing or invalid"), "source_type");

  promo_encoder *enc = encoder_create(column, kind);
  if (enc == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  *out = enc;
  promo_encoder_options_init(&enc->opt, kind);
  enc->source_type = type;
  name_column(err, column);
  promo_status status = encode_json_count(json, "n_train_rows", &enc->n_train_rows, err);
  if (status == PROMO_OK) status = encode_json_count(json, "n_missing", &enc->n_missing, err);
  if (status != PROMO_OK) return status;
  if (enc->n_train_rows == 0 || enc->n_missing > enc->n_train_rows)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("encoder JSON: fields \"n_train_rows\" and \"n_missing\" are "
                             "not valid row counts"));
  return PROMO_OK;
}

promo_status promo_encoder_from_json(const json_t *json, promo_encoder **out, promo_error *err) {
  *out = NULL;
  if (!json_is_object(json))
    return promo_error_set(err, PROMO_ERR_DATA, "%s", _("encoder JSON: expected an object"));
  promo_encoder *enc = NULL;
  promo_status status = common_from_json(json, &enc, err);
  if (status == PROMO_OK) {
    if (promo_encoder_kind_is_numeric(enc->kind)) {
      status = encode_scale_from_json(json, enc, err);
    } else {
      status = encode_category_from_json(json, enc, err);
      if (status == PROMO_OK && encode_category_finish(enc) != PROMO_OK)
        status = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    }
  }
  if (status == PROMO_OK && encode_make_output_names(enc) != PROMO_OK)
    status = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  if (status != PROMO_OK) {
    promo_encoder_free(enc);
    return status;
  }
  *out = enc;
  return PROMO_OK;
}
