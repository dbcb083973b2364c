/* Plan stage: builds the candidate rows of a planning job, one per unit and option. They
 * come from a candidates file with the team's own values, from a candidates file and a
 * model, or from a units file with an option list and a model. Each row gets its
 * predicted outcome, value and spend. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "plan/economics.h"
#include "plan/job_internal.h"

/* ===================================================================== rows and names */

promo_status plan_rows_reserve(plan_rows *rows, size_t n_more) {
  if (rows->n_rows + n_more <= rows->capacity) return PROMO_OK;
  size_t capacity = rows->capacity == 0 ? 1024 : rows->capacity;
  while (capacity < rows->n_rows + n_more) capacity *= 2;
#define GROW(field)                                                                  \
  do {                                                                               \
    void *grown = realloc(rows->field, capacity * sizeof *rows->field);              \
    if (grown == NULL) return PROMO_ERR_NOMEM;                                       \
    rows->field = grown;                                                             \
  } while (0)
  GROW(unit);
  GROW(option);
  GROW(predicted);
  GROW(value);
  GROW(spend);
  GROW(reason);
  GROW(line);
#undef GROW
  if (rows->n_extra > 0) {
    double *grown = realloc(rows->extra, capacity * rows->n_extra * sizeof *grown);
    if (grown == NULL) return PROMO_ERR_NOMEM;
    rows->extra = grown;
  }
  rows->capacity = capacity;
  return PROMO_OK;
}

void plan_rows_clear(plan_rows *rows) {
  free(rows->unit);
  free(rows->option);
  free(rows->predicted);
  free(rows->value);
  free(rows->spend);
  free(rows->extra);
  free(rows->reason);
  free(rows->line);
  memset(rows, 0, sizeof *rows);
}

/* One candidate row as the builders produce it. */
typedef struct row_in {
  const char *unit, *option, *group;  /* group NULL without groups */
  double predicted, value, spend;
  const double *extra;                /* [n_extra] */
  uint8_t reason;
  int64_t line;
} row_in;

static promo_status add_row(promo_plan_result *r, const row_in *in, promo_error *err) {
  plan_names *names = &r->names;
  plan_rows *rows = &r->rows;
  int32_t unit = 0, option = 0, group = -1;
  size_t n_units_before = promo_dict_size(names->units);
  promo_status st = plan_rows_reserve(rows, 1);
  if (st == PROMO_OK) st = promo_dict_intern(names->units, in->unit, strlen(in->unit), &unit);
  if (st == PROMO_OK) st = promo_dict_intern(names->options, in->option, strlen(in->option), &option);
  if (st == PROMO_OK && names->groups != NULL && in->group != NULL)
    st = promo_dict_intern(names->groups, in->group, strlen(in->group), &group);
  if (st == PROMO_OK && promo_dict_size(names->units) > n_units_before) {
    if ((size_t)unit >= names->group_capacity) {
      size_t capacity = names->group_capacity == 0 ? 1024 : 2 * names->group_capacity;
      int32_t *grown = realloc(names->unit_group, capacity * sizeof *grown);
      if (grown == NULL) st = PROMO_ERR_NOMEM;
      else names->unit_group = grown, names->group_capacity = capacity;
    }
    if (st == PROMO_OK) names->unit_group[unit] = group;
  }
  if (st != PROMO_OK) return promo_error_set(err, st, "%s", _("out of memory"));

  /* A unit takes one of its options, so an option listed twice for it is a mistake in
   * the candidates, not a second chance. */
  int32_t key[2] = {unit, option}, pair = 0;
  size_t n_pairs_before = names->pairs != NULL ? promo_dict_size(names->pairs) : 0;
  if (names->pairs == NULL) st = promo_dict_create(&names->pairs);
  if (st == PROMO_OK) st = promo_dict_intern(names->pairs, (const char *)key, sizeof key, &pair);
  if (st != PROMO_OK) return promo_error_set(err, st, "%s", _("out of memory"));
  if (promo_dict_size(names->pairs) == n_pairs_before) {
    promo_error_at(err, NULL, in->line, 0);
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("unit \"%s\" has option \"%s\" a second time; keep one row per unit and option"),
                           in->unit, in->option);
  }

  size_t k = rows->n_rows++;
  rows->unit[k] = (uint32_t)unit;
  rows->option[k] = option;
  rows->predicted[k] = in->predicted;
  rows->value[k] = in->value;
  rows->spend[k] = in->spend;
  rows->reason[k] = in->reason;
  rows->line[k] = in->line;
  for (size_t e = 0; e < rows->n_extra; e++) rows->extra[k * rows->n_extra + e] = in->extra[e];
  return PROMO_OK;
}

/* ===================================================================== cells */

/* Text of a cell as promo_table_cell_text gives it, with "" for a missing cell. */
static const char *cell_text(const promo_table *t, size_t c, size_t r, char buf[32]) {
  const char *text = promo_table_cell_text(t, r, c, buf, NULL);
  return text != NULL ? text : "";
}

/* The number in a cell; false when it is missing or not a number. */
static bool cell_number(const promo_table *t, ptrdiff_t c, size_t r, double *x) {
  if (c < 0) return false;
  const promo_column *col = &t->columns[c];
  if (col->is_missing[r]) return false;
  if (col->type == PROMO_TYPE_DECIMAL) *x = col->reals[r];
  else if (col->type == PROMO_TYPE_INT || col->type == PROMO_TYPE_BOOL) *x = (double)col->ints[r];
  else return false;
  return isfinite(*x);
}

/* Column `name`, given by `option` (such as "--price"), or a usage error naming it. */
static promo_status need_column(const promo_table *t, const char *path, const char *name,
                                const char *option, ptrdiff_t *out, promo_error *err) {
  *out = promo_table_find(t, name);
  if (*out >= 0) return PROMO_OK;
  promo_error_at(err, path, 0, 0);
  snprintf(err->column_name, sizeof err->column_name, "%s", name);
  return promo_error_set(err, PROMO_ERR_USAGE, _("%s names column \"%s\", which is not in the header"),
                         option, name);
}

static promo_status bad_cell(const promo_table *t, const char *path, size_t c, size_t r, const char *what,
                             promo_error *err) {
  /* A column read as text because some cells are not numbers fails on its first row, so
   * point at the first cell that is not a number instead. */
  const promo_column *col = &t->columns[c];
  if (col->codes != NULL) {
    for (size_t i = 0; i < t->n_rows; i++) {
      const char *text = col->is_missing[i] ? NULL : promo_dict_string(col->dict, col->codes[i], NULL);
      double x;
      bool plain;
      if (text != NULL && promo_parse_decimal(text, strlen(text), &x, &plain) && isfinite(x)) continue;
      r = i;
      if (text != NULL) promo_error_value(err, text, -1);
      break;
    }
  }
  promo_error_at(err, path, t->lines[r], (int64_t)c + 1);
  snprintf(err->column_name, sizeof err->column_name, "%s", t->columns[c].name);
  return promo_error_set(err, PROMO_ERR_DATA, _("column \"%s\" needs %s here, but the cell is empty or "
                                                "not a finite number"),
                         t->columns[c].name, what);
}

/* ===================================================================== economics columns */

typedef struct econ_columns {
  ptrdiff_t price, order_value, unit_cost, margin, stock, group, unit;
  ptrdiff_t extra[64];
  bool needs_money;   /* the objective counts money, so every row needs a price */
} econ_columns;

static bool objective_counts_money(promo_plan_objective o) {
  return o != PROMO_PLAN_UNITS && o != PROMO_PLAN_INCREMENTAL_UNITS;
}

/* Find the columns the economics and limits read. `binary` selects order values. */
static promo_status resolve_columns(const promo_plan_job *job, const promo_table *t, const char *path,
                                    bool binary, econ_columns *ec, promo_error *err) {
  const promo_plan_economics *e = &job->economics;
  const promo_plan_limits *l = &job->limits;
  memset(ec, -1, sizeof *ec);
  ec->needs_money = objective_counts_money(job->objective);
  promo_status st = PROMO_OK;
  if (e->price_column != NULL) st = need_column(t, path, e->price_column, "--price", &ec->price, err);
  else ec->price = promo_table_find(t, "price");
  if (st == PROMO_OK && binary) {
    if (e->order_value_column != NULL)
      st = need_column(t, path, e->order_value_column, "--order-value", &ec->order_value, err);
    else ec->order_value = promo_table_find(t, "order_value");
  }
  if (st == PROMO_OK && e->unit_cost_column != NULL)
    st = need_column(t, path, e->unit_cost_column, "--unit-cost", &ec->unit_cost, err);
  if (st == PROMO_OK && e->margin_column != NULL)
    st = need_column(t, path, e->margin_column, "--margin", &ec->margin, err);
  if (st == PROMO_OK && l->stock_column != NULL)
    st = need_column(t, path, l->stock_column, "--stock", &ec->stock, err);
  if (st == PROMO_OK && l->group_column != NULL)
    st = need_column(t, path, l->group_column, "--group", &ec->group, err);
  if (st == PROMO_OK && job->unit_column != NULL)
    st = need_column(t, path, job->unit_column, "--unit", &ec->unit, err);
  if (l->n_cost_limits > 64 && st == PROMO_OK)
    st = promo_error_set(err, PROMO_ERR_USAGE, "%s", _("at most 64 cost limits can be given"));
  for (size_t i = 0; st == PROMO_OK && i < l->n_cost_limits; i++)
    st = need_column(t, path, l->cost_limit_columns[i], "--limit", &ec->extra[i], err);
  return st;
}

/* The price basis of row r: the order value (binary models) or the price; NAN when none. */
static double row_basis(const promo_plan_job *job, const promo_table *t, const econ_columns *ec, bool binary,
                        size_t r) {
  double x;
  if (binary && cell_number(t, ec->order_value, r, &x)) return x;
  if (binary && ec->order_value < 0 && isfinite(job->economics.order_value)) return job->economics.order_value;
  if (cell_number(t, ec->price, r, &x)) return x;
  if (ec->price < 0 && isfinite(job->economics.price)) return job->economics.price;
  return NAN;
}

static bool has_basis(const promo_plan_job *job, const econ_columns *ec, bool binary) {
  if (binary && (ec->order_value >= 0 || isfinite(job->economics.order_value))) return true;
  return ec->price >= 0 || isfinite(job->economics.price);
}

/* Cost of goods of row r from the unit cost or the margin on the list price; 0 when
 * neither is given. */
static promo_status row_unit_cost(const promo_plan_job *job, const promo_table *t, const char *path,
                                  const econ_columns *ec, size_t r, double list_price, double *out,
                                  promo_error *err) {
  double x;
  *out = 0.0;
  if (ec->unit_cost >= 0) {
    if (!cell_number(t, ec->unit_cost, r, out)) return bad_cell(t, path, (size_t)ec->unit_cost, r, _("a unit cost"), err);
  } else if (isfinite(job->economics.unit_cost)) {
    *out = job->economics.unit_cost;
  } else if (ec->margin >= 0) {
    if (!cell_number(t, ec->margin, r, &x)) return bad_cell(t, path, (size_t)ec->margin, r, _("a margin in percent"), err);
    *out = list_price * (1.0 - x / 100.0);
  }
  return PROMO_OK;
}

/* ===================================================================== shared row logic */

/* State of one build: the job, its model's task and counters for the logs. */
typedef struct build_state {
  const promo_plan_job *job;
  const promo_context *ctx;
  promo_plan_result *result;
  bool binary;
  econ_columns ec;
  size_t n_assumed_threshold, n_capped, n_reason[ROW_N_REASONS];
} build_state;

/* What a builder has found out about one row before its money is computed. */
typedef struct row_facts {
  const promo_table *t;        /* the row's table (after edits) */
  const promo_table *list_t;   /* the table with the prices before edits */
  const char *path;
  size_t r;
  const char *unit, *option, *group;
  const promo_offer *offer;    /* NULL: none */
  double predicted;
  bool is_baseline;
} row_facts;

/* A money objective needs a price; without one, spend counts only gifts and fees. */
static promo_status check_basis(const build_state *b, promo_error *err) {
  if (has_basis(b->job, &b->ec, b->binary)) return PROMO_OK;
  if (b->ec.needs_money)
    return promo_error_set(err, PROMO_ERR_USAGE, _("the objective %s counts money, but no price is known; give "
                                                   "--price COLUMN or --price AMOUNT (--order-value for models "
                                                   "of orders)"),
                           promo_plan_objective_name(b->job->objective));
  promo_log(b->ctx, PROMO_LOG_WARN, "%s",
            _("no price is known, so spend counts gifts and fees but no discounts; give --price to count them"));
  return PROMO_OK;
}

/* Compute the row's money, apply the stock and margin rules and add it. */
static promo_status finish_row(build_state *b, const row_facts *f, promo_error *err) {
  const promo_plan_job *job = b->job;
  const econ_columns *ec = &b->ec;
  plan_money_in in = {0};
  in.quantity = f->predicted;
  in.is_promoted = !f->is_baseline;
  in.list_price = row_basis(job, f->list_t, ec, b->binary, f->r);
  in.price = row_basis(job, f->t, ec, b->binary, f->r);
  if (isnan(in.list_price) || isnan(in.price)) {
    if (ec->needs_money) {
      size_t c = (size_t)(b->binary && ec->order_value >= 0 ? ec->order_value : ec->price);
      return bad_cell(f->t, f->path, c, f->r, _("a price"), err);
    }
    in.list_price = in.price = 0.0;
  }
  promo_status st = row_unit_cost(job, f->list_t, f->path, ec, f->r, in.list_price, &in.unit_cost, err);
  if (st != PROMO_OK) return st;
  plan_offer_terms(f->offer, in.price, &in.terms);
  b->n_assumed_threshold += in.terms.threshold_assumed;

  uint8_t reason = ROW_KEPT;
  double stock;
  if (ec->stock >= 0 && cell_number(f->t, ec->stock, f->r, &stock) && in.quantity > stock) {
    if (job->limits.stock_caps) {
      in.quantity = stock;
      b->n_capped++;
    } else if (!f->is_baseline) {
      reason = ROW_OVER_STOCK;
    }
  }
  if (!f->is_baseline && !isnan(job->limits.min_margin) && plan_row_margin(&in, &job->economics) < job->limits.min_margin)
    reason = reason == ROW_KEPT ? ROW_LOW_MARGIN : reason;

  double extra[64];
  for (size_t i = 0; i < job->limits.n_cost_limits; i++)
    if (!cell_number(f->t, ec->extra[i], f->r, &extra[i]))
      return bad_cell(f->t, f->path, (size_t)ec->extra[i], f->r, _("a cost"), err);
  row_in row = {f->unit, f->option, f->group, f->predicted, 0, 0, extra, reason, f->t->lines[f->r]};
  plan_row_money(&job->economics, job->objective, &in, &row.value, &row.spend);
  b->n_reason[reason]++;
  return add_row(b->result, &row, err);
}

/* ===================================================================== model */

typedef struct plan_model {
  const promo_nn *nn;
  const promo_pipeline *pipeline;
  promo_nn *owned_nn;
  promo_pipeline *owned_pipeline;
  char offer_column[256];      /* "" when the model reads no offer column */
  bool offer_is_input;
} plan_model;

static void model_clear(plan_model *m) {
  promo_nn_free(m->owned_nn);
  promo_pipeline_free(m->owned_pipeline);
  memset(m, 0, sizeof *m);
}

/* The offer column: the job's, or the one offer text column of the pipeline. */
static promo_status find_offer_column(const promo_plan_job *job, plan_model *m, promo_error *err) {
  json_t *json = NULL;
  if (promo_pipeline_to_json(m->pipeline, &json) != PROMO_OK)
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  const json_t *offers = json_object_get(json, "offers");
  size_t n = json_is_array(offers) ? json_array_size(offers) : 0;
  promo_status st = PROMO_OK;
  if (job->offer_column != NULL) {
    snprintf(m->offer_column, sizeof m->offer_column, "%s", job->offer_column);
  } else if (n == 1) {
    const char *name = json_string_value(json_object_get(json_array_get(offers, 0), "column"));
    snprintf(m->offer_column, sizeof m->offer_column, "%s", name != NULL ? name : "");
  } else if (n > 1) {
    st = promo_error_set(err, PROMO_ERR_USAGE,
                         _("the model reads %zu offer text columns; choose the one the options "
                           "go into with --offer-column"),
                         n);
  }
  json_decref(json);
  for (size_t i = 0; st == PROMO_OK && m->offer_column[0] != '\0' && i < promo_pipeline_n_inputs(m->pipeline); i++)
    m->offer_is_input |= strcmp(promo_pipeline_input_name(m->pipeline, i), m->offer_column) == 0;
  return st;
}

static promo_status model_open(const promo_plan_job *job, plan_model *m, promo_error *err) {
  memset(m, 0, sizeof *m);
  if (job->nn != NULL) {
    m->nn = job->nn;
    m->pipeline = job->pipeline;
  } else {
    promo_status st = promo_model_load(job->model_path, &m->owned_nn, &m->owned_pipeline, NULL, err);
    if (st != PROMO_OK) return st;
    m->nn = m->owned_nn;
    m->pipeline = m->owned_pipeline;
  }
  if (m->pipeline == NULL)
    return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("a model needs its feature pipeline"));
  return find_offer_column(job, m, err);
}

static bool model_is_binary(const plan_model *m) {
  return promo_nn_get_options(m->nn)->task == PROMO_TASK_BINARY;
}

/* Predict every row of t into out [t->n_rows]. */
static promo_status predict_rows(const plan_model *m, const promo_table *t, const char *path,
                                 const promo_context *ctx, double *out, promo_error *err) {
  promo_matrix x = {0};
  promo_pipeline_data data = {t, path, NULL, NULL};
  /* NOTE: the whole table is transformed at once, so memory grows with units x options;
   * promo_model_predict_table has the same limit. */
  promo_status st = promo_pipeline_transform(m->pipeline, &data, ctx, &x, err);
  float *pred = st == PROMO_OK ? malloc((t->n_rows + 1) * sizeof *pred) : NULL;
  if (st == PROMO_OK && pred == NULL) st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  if (st == PROMO_OK) st = promo_nn_predict(m->nn, x.X, x.n_rows, pred, ctx, err);
  for (size_t r = 0; st == PROMO_OK && r < t->n_rows; r++) out[r] = pred[r];
  if (st != PROMO_OK && err->path[0] == '\0') promo_error_at(err, path, err->line, err->column);
  free(pred);
  promo_matrix_clear(&x);
  return st;
}

/* Load a CSV file with the model's input types (others inferred). */
static promo_status load_typed(const promo_plan_job *job, const char *path, const plan_model *m,
                               const promo_context *ctx, promo_table **out, promo_error *err) {
  promo_load_options load = job->load;
  if (m != NULL) {
    load.type_columns = promo_pipeline_input_names(m->pipeline);
    load.types = promo_pipeline_input_types(m->pipeline);
    load.n_types = promo_pipeline_n_inputs(m->pipeline);
    load.ignore_unknown_types = true;
  }
  return promo_table_load(path, &load, ctx, out, err);
}

/* ===================================================================== candidates */

static promo_status parse_offer_cell(const char *text, const promo_table *t, const char *path, size_t c,
                                     size_t r, promo_offer *offer, promo_error *err) {
  promo_status st = promo_offer_parse(text, -1, offer, err);
  if (st != PROMO_OK) promo_error_at(err, path, t->lines[r], (int64_t)c + 1);
  return st;
}

/* Candidates with the team's own values: value and spend are read, nothing predicted. */
static promo_status build_from_values(build_state *b, const promo_table *t, const char *path,
                                      ptrdiff_t option_col, promo_error *err) {
  const promo_plan_job *job = b->job;
  ptrdiff_t value_col = -1, spend_col = -1;
  promo_status st = need_column(t, path, job->value_column, "--value", &value_col, err);
  if (st == PROMO_OK && job->n_cost_columns > 0)
    st = need_column(t, path, job->cost_columns[0], "--cost", &spend_col, err);
  for (size_t k = 1; st == PROMO_OK && k < job->n_cost_columns; k++) {
    ptrdiff_t c;
    st = need_column(t, path, job->cost_columns[k], "--cost", &c, err);
  }
  const promo_plan_limits *l = &job->limits;
  bool has_budget = !isnan(l->budget) || !isnan(l->group_budget) || l->n_group_budgets > 0;
  if (st == PROMO_OK && spend_col < 0 && has_budget)
    st = promo_error_set(err, PROMO_ERR_USAGE, "%s", _("a budget needs the spend of each row; name its column with --cost"));
  for (size_t r = 0; st == PROMO_OK && r < t->n_rows; r++) {
    char ub[32], ob[32], gb[32];
    row_in row = {cell_text(t, (size_t)b->ec.unit, r, ub), cell_text(t, (size_t)option_col, r, ob), NULL, NAN, 0, 0,
                  NULL, ROW_KEPT, t->lines[r]};
    if (b->ec.group >= 0) row.group = cell_text(t, (size_t)b->ec.group, r, gb);
    if (!cell_number(t, value_col, r, &row.value)) return bad_cell(t, path, (size_t)value_col, r, _("a value"), err);
    if (spend_col >= 0 && !cell_number(t, spend_col, r, &row.spend))
      return bad_cell(t, path, (size_t)spend_col, r, _("a cost"), err);
    if (row.spend < 0) {
      promo_error_at(err, path, t->lines[r], spend_col + 1);
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("column \"%s\" has a negative spend (%g); a promotion's spend is 0 or more"),
                             t->columns[spend_col].name, row.spend);
    }
    double extra[64];
    for (size_t i = 0; i < job->limits.n_cost_limits; i++)
      if (!cell_number(t, b->ec.extra[i], r, &extra[i])) return bad_cell(t, path, (size_t)b->ec.extra[i], r, _("a cost"), err);
    row.extra = extra;
    st = add_row(b->result, &row, err);
  }
  return st;
}

/* Candidates predicted by the model: offers come from the offer column of each row. */
static promo_status build_from_candidates(build_state *b, const plan_model *m, const promo_table *t,
                                          const char *path, ptrdiff_t option_col, promo_error *err) {
  double *pred = malloc((t->n_rows + 1) * sizeof *pred);
  if (pred == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  promo_status st = predict_rows(m, t, path, b->ctx, pred, err);
  ptrdiff_t offer_col = m->offer_column[0] != '\0' ? promo_table_find(t, m->offer_column) : -1;
  for (size_t r = 0; st == PROMO_OK && r < t->n_rows; r++) {
    char ub[32], ob[32], gb[32], fb[32];
    promo_offer offer;
    row_facts f = {t, t, path, r, cell_text(t, (size_t)b->ec.unit, r, ub), cell_text(t, (size_t)option_col, r, ob),
                   NULL, NULL, pred[r], false};
    f.is_baseline = strcmp(f.option, b->job->baseline) == 0;
    if (b->ec.group >= 0) f.group = cell_text(t, (size_t)b->ec.group, r, gb);
    if (offer_col >= 0) {
      st = parse_offer_cell(cell_text(t, (size_t)offer_col, r, fb), t, path, (size_t)offer_col, r, &offer, err);
      f.offer = &offer;
    }
    if (st == PROMO_OK) st = finish_row(b, &f, err);
  }
  free(pred);
  return st;
}

/* ===================================================================== units x options */

/* A table built for one option: the units' columns with the option's edits and offer,
 * and the extra columns the units file lacks. */
typedef struct option_table {
  size_t n_columns;
  const char **names;        /* [n_columns] */
  promo_type *types;         /* [n_columns] */
  const char **set_text;     /* [n_columns] text written into every row, or NULL */
  const promo_plan_edit **numeric; /* [n_columns] a *= or += edit, or NULL */
} option_table;

static void option_table_clear(option_table *o) {
  free(o->names);
  free(o->types);
  free(o->set_text);
  free(o->numeric);
  memset(o, 0, sizeof *o);
}

static promo_type input_type(const plan_model *m, const char *name, bool *is_input) {
  for (size_t i = 0; i < promo_pipeline_n_inputs(m->pipeline); i++) {
    if (strcmp(promo_pipeline_input_name(m->pipeline, i), name) == 0) {
      *is_input = true;
      return promo_pipeline_input_type(m->pipeline, i);
    }
  }
  *is_input = false;
  return PROMO_TYPE_UNKNOWN;
}

/* Column index of `name` in o, appending it when new. */
static ptrdiff_t option_column(option_table *o, const char *name, const plan_model *m) {
  for (size_t c = 0; c < o->n_columns; c++)
    if (strcmp(o->names[c], name) == 0) return (ptrdiff_t)c;
  bool is_input;
  promo_type type = input_type(m, name, &is_input);
  size_t c = o->n_columns++;
  o->names[c] = name;
  o->types[c] = is_input ? type : PROMO_TYPE_TEXT;
  return (ptrdiff_t)c;
}

/* Lay out the table of option `opt` over the units' table `base`. A numeric edit of a
 * column the units lack is a usage error, and so is an option that changes no input of
 * the model. */
static promo_status layout_option(const promo_plan_job *job, const plan_model *m, const promo_table *base,
                                  const promo_plan_option *opt, const char *offer_text, option_table *o,
                                  promo_error *err) {
  size_t cap = base->n_columns + opt->n_edits + 1;
  o->names = calloc(cap, sizeof *o->names);
  o->types = calloc(cap, sizeof *o->types);
  o->set_text = calloc(cap, sizeof *o->set_text);
  o->numeric = calloc(cap, sizeof *o->numeric);
  if (!o->names || !o->types || !o->set_text || !o->numeric)
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  for (size_t c = 0; c < base->n_columns; c++) {
    o->names[c] = base->columns[c].name;
    o->types[c] = base->columns[c].type;
  }
  o->n_columns = base->n_columns;

  bool changes_input = false, is_input = false;
  for (size_t k = 0; k < opt->n_edits; k++) {
    const promo_plan_edit *e = &opt->edits[k];
    ptrdiff_t c = option_column(o, e->column, m);
    input_type(m, e->column, &is_input);
    changes_input |= is_input;
    if (e->kind == PROMO_PLAN_EDIT_SET) {
      o->set_text[c] = e->text;
      continue;
    }
    if ((size_t)c >= base->n_columns)
      return promo_error_set(err, PROMO_ERR_USAGE,
                             _("option \"%s\" changes column \"%s\" by a factor or amount, but the units' "
                               "file has no such column"),
                             opt->name, e->column);
    o->numeric[c] = e;
    if (o->types[c] == PROMO_TYPE_INT || o->types[c] == PROMO_TYPE_BOOL) o->types[c] = PROMO_TYPE_DECIMAL;
  }
  if (m->offer_column[0] != '\0') {
    ptrdiff_t c = option_column(o, m->offer_column, m);
    if (o->set_text[c] == NULL && offer_text != NULL) o->set_text[c] = offer_text;
    else if (o->set_text[c] == NULL && (size_t)c >= base->n_columns) o->set_text[c] = "";
    changes_input |= m->offer_is_input && offer_text != NULL;
  }
  /* With on_edited the caller may derive model inputs from the edited columns, so an
   * edit of a column the model does not read can still change the prediction. */
  if (!changes_input && job->on_edited == NULL && strcmp(opt->name, job->baseline) != 0)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("option \"%s\" changes no column the model reads; give an edit such as "
                             "price*=0.8, or name the model's offer column with --offer-column"),
                           opt->name);
  return PROMO_OK;
}

/* Fill table t (laid out by o) with one row per unit of `base`, from base's kept text. */
static promo_status fill_option_table(const option_table *o, const promo_table *base, promo_table *t,
                                      promo_error *err) {
  const char **fields = calloc(o->n_columns + 1, sizeof *fields);
  uint32_t *lengths = calloc(o->n_columns + 1, sizeof *lengths);
  char(*numbers)[32] = calloc(o->n_columns + 1, sizeof *numbers);
  promo_status st = fields && lengths && numbers ? PROMO_OK : PROMO_ERR_NOMEM;
  for (size_t r = 0; st == PROMO_OK && r < base->n_rows; r++) {
    for (size_t c = 0; c < o->n_columns; c++) {
      const char *text = "";
      size_t len = 0;
      if (c < base->n_columns) {
        size_t k = r * base->n_columns + c;
        text = base->text + base->cell_offsets[k];
        len = base->cell_lengths[k];
      }
      if (o->set_text[c] != NULL) {
        text = o->set_text[c];
        len = strlen(text);
      } else if (o->numeric[c] != NULL) {
        double x;
        if (cell_number(base, (ptrdiff_t)c, r, &x)) {
          x = o->numeric[c]->kind == PROMO_PLAN_EDIT_SCALE ? x * o->numeric[c]->number : x + o->numeric[c]->number;
          len = promo_format_decimal(x, numbers[c]);
          text = numbers[c];
        }
      }
      fields[c] = text;
      lengths[c] = (uint32_t)len;
    }
    /* Fields are not NUL-terminated in the kept text; promo_table_append reads lengths. */
    promo_csv_record rec = {o->n_columns, fields, lengths, NULL, NULL, 0, base->lines[r], r, false};
    st = promo_table_append(t, &rec);
  }
  free(fields);
  free(lengths);
  free(numbers);
  if (st != PROMO_OK) promo_error_set(err, st, "%s", _("out of memory"));
  return st;
}

/* The units file read twice: once to infer types, once keeping each cell's text. */
static promo_status load_units(const promo_plan_job *job, const plan_model *m, const promo_context *ctx,
                               promo_table **out, promo_error *err) {
  promo_table *typed = NULL;
  promo_csv *reader = NULL;
  *out = NULL;
  promo_status st = load_typed(job, job->base_path, m, ctx, &typed, err);
  if (st == PROMO_OK) st = promo_csv_open(job->base_path, &job->load.csv, &reader, err);
  if (st == PROMO_OK) {
    const char **names = calloc(typed->n_columns + 1, sizeof *names);
    promo_type *types = calloc(typed->n_columns + 1, sizeof *types);
    for (size_t c = 0; names && types && c < typed->n_columns; c++) {
      names[c] = typed->columns[c].name;
      types[c] = typed->columns[c].type;
    }
    st = names && types ? promo_table_create(typed->n_columns, names, types, true, out) : PROMO_ERR_NOMEM;
    free(names);
    free(types);
    if (st != PROMO_OK) promo_error_set(err, st, "%s", _("out of memory"));
  }
  if (st == PROMO_OK) {
    st = promo_table_read(*out, reader, 0, err);
    if (st == PROMO_END) st = PROMO_OK;
  }
  promo_csv_close(reader);
  promo_table_free(typed);
  if (st != PROMO_OK) {
    promo_table_free(*out);
    *out = NULL;
  }
  return st;
}

/* The option's offer text: an edit of the offer column, else its own offer. */
static const char *option_offer_text(const plan_model *m, const promo_plan_option *opt) {
  for (size_t k = 0; k < opt->n_edits; k++)
    if (opt->edits[k].kind == PROMO_PLAN_EDIT_SET && strcmp(opt->edits[k].column, m->offer_column) == 0)
      return opt->edits[k].text;
  return opt->offer;
}

static promo_status build_one_option(build_state *b, const plan_model *m, const promo_table *base,
                                     const promo_plan_option *opt, double *pred, promo_error *err) {
  const char *offer_text = option_offer_text(m, opt);
  promo_offer offer;
  if (offer_text != NULL && promo_offer_parse(offer_text, -1, &offer, err) != PROMO_OK)
    return promo_error_set(err, PROMO_ERR_USAGE, _("option \"%s\": %s"), opt->name, err->message);
  option_table o = {0};
  promo_table *t = NULL;
  promo_status st = layout_option(b->job, m, base, opt, offer_text, &o, err);
  if (st == PROMO_OK && (st = promo_table_create(o.n_columns, o.names, o.types, false, &t)) != PROMO_OK)
    promo_error_set(err, st, "%s", _("out of memory"));
  if (st == PROMO_OK) st = fill_option_table(&o, base, t, err);
  if (st == PROMO_OK && b->job->on_edited != NULL) st = b->job->on_edited(b->job->on_edited_user, t, err);
  if (st == PROMO_OK) st = predict_rows(m, t, b->job->base_path, b->ctx, pred, err);
  for (size_t r = 0; st == PROMO_OK && r < base->n_rows; r++) {
    char ub[32], gb[32];
    row_facts f = {t, base, b->job->base_path, r, NULL, opt->name, NULL, offer_text != NULL ? &offer : NULL, pred[r],
                   strcmp(opt->name, b->job->baseline) == 0};
    if (b->ec.unit >= 0) {
      f.unit = cell_text(base, (size_t)b->ec.unit, r, ub);
    } else {
      promo_format_int((int64_t)r + 1, ub);
      f.unit = ub;
    }
    if (b->ec.group >= 0) f.group = cell_text(base, (size_t)b->ec.group, r, gb);
    st = finish_row(b, &f, err);
  }
  promo_table_free(t);
  option_table_clear(&o);
  return st;
}

static promo_status build_from_options(build_state *b, const plan_model *m, promo_error *err) {
  const promo_plan_job *job = b->job;
  promo_table *base = NULL;
  promo_status st = load_units(job, m, b->ctx, &base, err);
  if (st == PROMO_OK) st = resolve_columns(job, base, job->base_path, b->binary, &b->ec, err);
  double *pred = st == PROMO_OK ? malloc((base->n_rows + 1) * sizeof *pred) : NULL;
  if (st == PROMO_OK && pred == NULL) st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  if (st == PROMO_OK) st = check_basis(b, err);
  for (size_t k = 0; st == PROMO_OK && k < job->n_options; k++) {
    promo_log(b->ctx, PROMO_LOG_INFO, _("predicting option %zu of %zu: %s"), k + 1, job->n_options,
              job->options[k].name);
    st = build_one_option(b, m, base, &job->options[k], pred, err);
  }
  free(pred);
  promo_table_free(base);
  return st;
}

/* ===================================================================== forbidden pairs */

static promo_status mark_forbidden(build_state *b, promo_error *err) {
  const promo_plan_job *job = b->job;
  promo_table *t = NULL;
  promo_dict *pairs = NULL;
  promo_status st = promo_table_load(job->limits.forbid_path, &job->load, b->ctx, &t, err);
  if (st == PROMO_OK && promo_dict_create(&pairs) != PROMO_OK) st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  ptrdiff_t unit_col = -1, option_col = -1;

  if (st == PROMO_OK) {
    unit_col = job->unit_column != NULL ? promo_table_find(t, job->unit_column) : -1;
    if (unit_col < 0) unit_col = promo_table_find(t, "unit");
    option_col = promo_table_find(t, "option");
    if (unit_col < 0 || option_col < 0) {
      promo_error_at(err, job->limits.forbid_path, 1, 0);
      st = promo_error_set(err, PROMO_ERR_DATA, "%s",
                           _("the forbid file needs a unit column (named as --unit, or \"unit\") and an "
                             "\"option\" column"));
    }
  }

  /* Pairs are keyed as "unit\x1Foption"; longer keys cannot match and are skipped. */
  char key[1024], ub[32], ob[32];
  int32_t code;
  for (size_t r = 0; st == PROMO_OK && r < t->n_rows; r++) {
    int n = snprintf(key, sizeof key, "%s\x1f%s", cell_text(t, (size_t)unit_col, r, ub), cell_text(t, (size_t)option_col, r, ob));
    if (n > 0 && (size_t)n < sizeof key && promo_dict_intern(pairs, key, (size_t)n, &code) != PROMO_OK)
      st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  }

  plan_rows *rows = &b->result->rows;
  for (size_t k = 0; st == PROMO_OK && k < rows->n_rows; k++) {
    int n = snprintf(key, sizeof key, "%s\x1f%s", promo_dict_string(b->result->names.units, (int32_t)rows->unit[k], NULL),
                     promo_dict_string(b->result->names.options, rows->option[k], NULL));
    if (rows->option[k] == b->result->names.baseline || n <= 0 || (size_t)n >= sizeof key) continue;
    if (promo_dict_find(pairs, key, (size_t)n) >= 0 && rows->reason[k] == ROW_KEPT) {
      rows->reason[k] = ROW_FORBIDDEN;
      b->n_reason[ROW_KEPT]--;
      b->n_reason[ROW_FORBIDDEN]++;
    }
  }
  promo_dict_free(pairs);
  promo_table_free(t);
  return st;
}

/* ===================================================================== entry */

static promo_status build_candidates(build_state *b, const plan_model *m, promo_error *err) {
  const promo_plan_job *job = b->job;
  promo_table *t = NULL;
  promo_status st = load_typed(job, job->candidates_path, m, b->ctx, &t, err);
  ptrdiff_t option_col = -1;
  if (st == PROMO_OK) st = resolve_columns(job, t, job->candidates_path, b->binary, &b->ec, err);
  if (st == PROMO_OK && b->ec.unit < 0)
    st = promo_error_set(err, PROMO_ERR_USAGE, "%s", _("a candidates file needs its unit column; name it with --unit"));
  if (st == PROMO_OK) st = need_column(t, job->candidates_path, job->option_column, "--option", &option_col, err);
  if (st == PROMO_OK && m == NULL) st = build_from_values(b, t, job->candidates_path, option_col, err);
  else if (st == PROMO_OK) {
    st = check_basis(b, err);
    if (st == PROMO_OK) st = build_from_candidates(b, m, t, job->candidates_path, option_col, err);
  }
  promo_table_free(t);
  return st;
}

static promo_status check_job(const promo_plan_job *job, promo_error *err) {
  bool has_model = job->nn != NULL || job->model_path != NULL;
  if ((job->candidates_path == NULL) == (job->base_path == NULL))
    return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("give either a candidates file or a units file with options"));
  if (job->base_path != NULL && (!has_model || job->n_options == 0))
    return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("a units file needs a model and an option list (--options)"));
  if (job->candidates_path != NULL && !has_model && job->value_column == NULL)
    return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                           _("candidates without a model need their value column; name it with --value"));
  if (!has_model && (job->limits.stock_column != NULL || !isnan(job->limits.min_margin)))
    return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                           _("stock and minimum margin rules need a model, which predicts the units they "
                             "apply to"));
  if (!(job->economics.redemption >= 0 && job->economics.redemption <= 1))
    return promo_error_set(err, PROMO_ERR_USAGE, _("redemption %g is not a share from 0 to 1"), job->economics.redemption);
  if (!isfinite(job->economics.fee))
    return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("the fee per promoted unit must be a finite number"));
  return PROMO_OK;
}

promo_status plan_build_rows(const promo_plan_job *job, const promo_context *ctx, promo_plan_result *result,
                             promo_error *err) {
  promo_status st = check_job(job, err);
  if (st != PROMO_OK) return st;
  plan_names *names = &result->names;
  result->rows.n_extra = job->limits.n_cost_limits;
  if (promo_dict_create(&names->units) != PROMO_OK || promo_dict_create(&names->options) != PROMO_OK ||
      (job->limits.group_column != NULL && promo_dict_create(&names->groups) != PROMO_OK) ||
      promo_dict_intern(names->options, job->baseline, strlen(job->baseline), &names->baseline) != PROMO_OK)
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  result->has_groups = job->limits.group_column != NULL;

  build_state b = {job, ctx, result, false, {0}, 0, 0, {0}};
  plan_model m = {0};
  bool has_model = job->nn != NULL || job->model_path != NULL;
  result->has_model = has_model;
  if (has_model && (st = model_open(job, &m, err)) == PROMO_OK) b.binary = model_is_binary(&m);
  if (st == PROMO_OK && job->base_path != NULL) st = build_from_options(&b, &m, err);
  else if (st == PROMO_OK) st = build_candidates(&b, has_model ? &m : NULL, err);
  if (st == PROMO_OK && job->limits.forbid_path != NULL) st = mark_forbidden(&b, err);
  model_clear(&m);
  if (st != PROMO_OK) return st;

  if (b.n_assumed_threshold > 0)
    promo_log(ctx, PROMO_LOG_INFO,
              _("%zu rows: one item does not reach the offer's threshold, so the saving once it is "
                "reached is counted"),
              b.n_assumed_threshold);
  if (b.n_capped > 0) promo_log(ctx, PROMO_LOG_INFO, _("%zu rows: predicted units cut to the stock"), b.n_capped);
  if (b.n_reason[ROW_FORBIDDEN] > 0)
    promo_log(ctx, PROMO_LOG_INFO, _("%zu rows left out: forbidden by the forbid file"), b.n_reason[ROW_FORBIDDEN]);
  if (b.n_reason[ROW_LOW_MARGIN] > 0)
    promo_log(ctx, PROMO_LOG_INFO, _("%zu rows left out: margin below the minimum"), b.n_reason[ROW_LOW_MARGIN]);
  if (b.n_reason[ROW_OVER_STOCK] > 0)
    promo_log(ctx, PROMO_LOG_INFO, _("%zu rows left out: more predicted units than stock"), b.n_reason[ROW_OVER_STOCK]);
  if (result->rows.n_rows == 0)
    return promo_error_set(err, PROMO_ERR_DATA, "%s", _("there are no candidate rows to plan"));
  return PROMO_OK;
}
