/* The plan stage of `promo run`: writes the decision units (with the project's derived
 * columns) to plan_units.csv, maps the project's options, economics and limits onto a
 * planning job, and writes plan.csv and plan.json. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "project/project_internal.h"
#include "promo/plan.h"

#define UNIT_KEY "unit"

static promo_status nomem(promo_error *err) {
  return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
}

/* Mark the decision units among the loaded rows: the test rows, all rows, or the rows at
 * the latest value of a column (the last week of every store). */
static promo_status choose_units(run *r, uint8_t *is_unit) {
  const promo_project *p = r->p;
  size_t n = r->table->n_rows;
  if (strcmp(p->plan_units, "test") == 0) {
    memcpy(is_unit, r->is_test, n);
    return PROMO_OK;
  }
  if (strcmp(p->plan_units, "all") == 0) {
    memset(is_unit, 1, n);
    return PROMO_OK;
  }
  ptrdiff_t c = promo_table_find(r->table, p->plan_latest);
  const promo_column *col = c >= 0 ? &r->table->columns[c] : NULL;
  if (col == NULL || (col->ints == NULL && col->reals == NULL)) {
    promo_error_at(r->err, p->path, 0, 0);
    return promo_error_set(r->err, PROMO_ERR_USAGE,
                           col == NULL ? _("plan 'latest' names column '%s', which is not in the data")
                                       : _("plan 'latest' column '%s' holds no dates or numbers"),
                           p->plan_latest);
  }
  double latest = -INFINITY;
  for (size_t i = 0; i < n; i++)
    if (!col->is_missing[i]) latest = fmax(latest, col->ints != NULL ? (double)col->ints[i] : col->reals[i]);
  for (size_t i = 0; i < n; i++)
    is_unit[i] = !col->is_missing[i] && (col->ints != NULL ? (double)col->ints[i] : col->reals[i]) == latest;
  return PROMO_OK;
}

/* Write the unit rows with every column, plus a "unit" key joining the unit columns when
 * the project names more than one. */
static promo_status write_units(run *r, const promo_table *units, const char *path) {
  const promo_project *p = r->p;
  size_t key_cols[16], n_keys = 0;
  for (size_t k = 0; k < p->n_unit_columns && n_keys < 16; k++) {
    ptrdiff_t c = promo_table_find(units, p->unit_columns[k]);
    if (c < 0) {
      promo_error_at(r->err, p->path, 0, 0);
      return promo_error_set(r->err, PROMO_ERR_USAGE, _("plan 'unit' names column '%s', which is not in the data"),
                             p->unit_columns[k]);
    }
    key_cols[n_keys++] = (size_t)c;
  }
  bool joined = n_keys > 1;
  if (joined && promo_table_find(units, UNIT_KEY) >= 0) {
    promo_error_at(r->err, p->path, 0, 0);
    return promo_error_set(r->err, PROMO_ERR_USAGE,
                           _("the data already has a column '%s'; name it alone as the plan's 'unit'"), UNIT_KEY);
  }

  promo_atomic_file *file = NULL;
  promo_csv_writer *w = NULL;
  promo_status st = run_csv_open(r, path, &file, &w);
  if (st != PROMO_OK) return st;
  if (joined) promo_csv_write_field(w, UNIT_KEY, strlen(UNIT_KEY));
  for (size_t c = 0; c < units->n_columns; c++)
    promo_csv_write_field(w, units->columns[c].name, strlen(units->columns[c].name));
  promo_csv_write_end_row(w);
  char key[512];
  for (size_t i = 0; i < units->n_rows; i++) {
    if (joined) {
      size_t used = 0;
      for (size_t k = 0; k < n_keys && used < sizeof key; k++) {
        char buf[32];
        size_t len = 0;
        const char *cell = promo_table_cell_text(units, i, key_cols[k], buf, &len);
        used += (size_t)snprintf(key + used, sizeof key - used, "%s%.*s", k > 0 ? "/" : "", (int)len,
                                 cell != NULL ? cell : "");
      }
      promo_csv_write_field(w, key, used < sizeof key ? used : sizeof key - 1);
    }
    for (size_t c = 0; c < units->n_columns; c++) promo_csv_write_cell(w, units, i, c);
    promo_csv_write_end_row(w);
  }
  return run_csv_commit(r, path, file, w);
}

/* A value that is either a number or a column name. */
static void number_or_column(const char *text, double *number, const char **column) {
  if (text == NULL) return;
  char *end = NULL;
  errno = 0;
  double x = strtod(text, &end);
  if (end != text && *end == '\0' && errno == 0 && isfinite(x)) *number = x;
  else *column = text;
}

/* The project's options as planning options: "*F" scales, "+A" adds, anything else is
 * the new cell text. */
static promo_status map_options(run *r, promo_plan_option *options, promo_plan_edit *edits) {
  const promo_project *p = r->p;
  size_t e = 0;
  for (size_t i = 0; i < p->n_options; i++) {
    const project_option *o = &p->options[i];
    options[i] = (promo_plan_option){o->name, o->offer, o->n_sets, edits + e};
    for (size_t k = 0; k < o->n_sets; k++, e++) {
      const char *v = o->set_values[k];
      promo_plan_edit *ed = &edits[e];
      *ed = (promo_plan_edit){o->set_columns[k], PROMO_PLAN_EDIT_SET, v, 0};
      if (v[0] != '*' && v[0] != '+') continue;
      char *end = NULL;
      errno = 0;
      ed->number = strtod(v + 1, &end);
      ed->kind = v[0] == '*' ? PROMO_PLAN_EDIT_SCALE : PROMO_PLAN_EDIT_ADD;
      if (end == v + 1 || *end != '\0' || errno != 0) {
        promo_error_at(r->err, p->path, o->line, 0);
        return promo_error_set(r->err, PROMO_ERR_DATA,
                               _("option '%s': '%s: %s' must be *FACTOR or +AMOUNT with a number"), o->name,
                               o->set_columns[k], v);
      }
    }
  }
  return PROMO_OK;
}

static promo_status fill_job(run *r, promo_plan_job *job, promo_plan_option *options, promo_plan_edit *edits,
                             const char **group_names, double *group_budgets) {
  const promo_project *p = r->p;
  promo_status st = map_options(r, options, edits);
  if (st != PROMO_OK) return st;
  job->base_path = NULL;
  job->model_path = r->files[RUN_MODEL];
  job->options = options;
  job->n_options = p->n_options;
  job->offer_column = p->offer_column;
  job->unit_column = NULL; /* units named by their row number */
  if (p->n_unit_columns == 1) job->unit_column = p->unit_columns[0];
  if (p->n_unit_columns > 1) job->unit_column = UNIT_KEY;
  if (p->n_options > 0 && p->options[0].offer == NULL && p->options[0].n_sets == 0) job->baseline = p->options[0].name;
  if (!promo_plan_objective_parse(p->objective, &job->objective)) {
    promo_error_at(r->err, p->path, 0, 0);
    return promo_error_set(r->err, PROMO_ERR_DATA,
                           _("plan 'objective' must be profit, revenue, units or incremental_profit, "
                             "incremental_revenue, incremental_units, but it is '%s'"),
                           p->objective);
  }

  promo_plan_economics *econ = &job->economics;
  number_or_column(p->price, &econ->price, &econ->price_column);
  number_or_column(p->order_value, &econ->order_value, &econ->order_value_column);
  number_or_column(p->unit_cost, &econ->unit_cost, &econ->unit_cost_column);
  econ->margin_column = p->margin;
  econ->fee = p->fee;
  econ->redemption = p->redemption;

  promo_plan_limits *lim = &job->limits;
  lim->group_column = p->plan_group;
  size_t n_groups = 0;
  for (size_t k = 0; k < p->n_budgets; k++) {
    if (p->budgets[k].group == NULL) {
      lim->budget = p->budgets[k].amount;
      continue;
    }
    group_names[n_groups] = p->budgets[k].group;
    group_budgets[n_groups++] = p->budgets[k].amount;
  }
  if (n_groups > 0 && p->plan_group == NULL) {
    promo_error_at(r->err, p->path, 0, 0);
    return promo_error_set(r->err, PROMO_ERR_DATA, "%s",
                           _("plan 'budget' names groups, but 'group' does not say which column holds them"));
  }
  lim->n_group_budgets = n_groups;
  lim->group_names = group_names;
  lim->group_budgets = group_budgets;
  lim->max_promoted = p->max_promoted;
  lim->max_promoted_is_share = p->max_promoted_is_share;
  lim->stock_column = p->stock;
  lim->min_margin = p->min_margin;
  job->solve.solver = p->exact == 1 ? PROMO_PLAN_SOLVER_EXACT : PROMO_PLAN_SOLVER_FAST;
  job->solve.time_limit_s = p->time_limit_s;
  return PROMO_OK;
}

/* Find the kind and nominal depth of a project option for the response chart. An offer
 * gives its kind and its discount where its threshold is just met. A scaled price column
 * gives "price" and 1 - factor. Anything else is "other" with no depth. */
static void option_kind(const promo_project *p, const project_option *o, const char **kind, double *depth) {
  *kind = "none";
  *depth = 0;
  promo_offer offer;
  promo_error ignored;
  if (o->offer != NULL && promo_offer_parse(o->offer, -1, &offer, &ignored) == PROMO_OK && offer.n_parts > 0) {
    *kind = promo_offer_kind_name(promo_offer_main_kind(&offer));
    double price = 100;
    for (size_t k = 0; k < offer.n_parts; k++) price = fmax(price, offer.parts[k].threshold);
    double rate = 1;
    if (promo_offer_effective_rate(&offer, price, 1, &rate, NULL) == PROMO_OK) *depth = 1 - rate;
    return;
  }
  for (size_t k = 0; k < o->n_sets; k++) {
    const char *v = o->set_values[k];
    bool is_price = p->price != NULL && strcmp(o->set_columns[k], p->price) == 0;
    if (v[0] == '*' && is_price) {
      *kind = "price";
      *depth = 1 - strtod(v + 1, NULL);
      return;
    }
  }
  if (o->n_sets > 0 && o != &p->options[0]) *kind = "other";
}

/* The summary's response rows with each option's kind and depth, for the report. */
static json_t *response_section(const promo_project *p, const json_t *summary) {
  json_t *rows = json_deep_copy(json_object_get(summary, "response"));
  if (rows == NULL) return NULL;
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    const char *name = json_string_value(json_object_get(row, "option"));
    for (size_t k = 0; name != NULL && k < p->n_options; k++) {
      if (strcmp(p->options[k].name, name) != 0) continue;
      const char *kind;
      double depth;
      option_kind(p, &p->options[k], &kind, &depth);
      json_object_set_new(row, "kind", json_string(kind));
      json_object_set_new(row, "depth", json_real(depth));
    }
  }
  return json_pack("{s:o}", "rows", rows);
}

/* The planner's callback: compute the project's derived columns again on an option's
 * edited rows, in the project's order, so that an edit of a price also moves a discount
 * derived from it. */
static promo_status rederive(void *user, promo_table *rows, promo_error *err) {
  const promo_project *p = user;
  double *values = malloc((rows->n_rows > 0 ? rows->n_rows : 1) * sizeof *values);
  uint8_t *missing = malloc(rows->n_rows > 0 ? rows->n_rows : 1);
  promo_status st = values != NULL && missing != NULL ? PROMO_OK : PROMO_ERR_NOMEM;
  if (st != PROMO_OK) promo_error_set(err, st, "%s", _("out of memory"));
  for (size_t d = 0; st == PROMO_OK && d < p->n_derive; d++) {
    ptrdiff_t c = promo_table_find(rows, p->derive_names[d]);
    if (c < 0) continue;
    promo_expr *expr = NULL;
    st = promo_expr_parse(p->derive_exprs[d], &expr, err);
    if (st == PROMO_OK) st = promo_expr_bind(expr, rows, err);
    if (st == PROMO_OK) st = promo_expr_eval(expr, rows, values, missing, NULL, err);
    promo_expr_free(expr);
    promo_column *col = &rows->columns[c];
    for (size_t i = 0; st == PROMO_OK && i < rows->n_rows; i++) {
      col->is_missing[i] = missing[i];
      if (col->reals != NULL) col->reals[i] = values[i];
      else if (col->ints != NULL) col->ints[i] = (int64_t)llround(values[i]);
    }
  }
  free(values);
  free(missing);
  return st;
}

promo_status run_stage_plan(run *r) {
  promo_status st = run_load_data(r);
  if (st != PROMO_OK) return st;
  const promo_project *p = r->p;
  uint8_t *is_unit = malloc(r->table->n_rows);
  promo_table *units = NULL;
  promo_plan_result *result = NULL;
  json_t *summary = NULL;
  char *units_path = NULL;
  size_t n_edits = 0;
  for (size_t i = 0; i < p->n_options; i++) n_edits += p->options[i].n_sets;
  promo_plan_option *options = calloc(p->n_options + 1, sizeof *options);
  promo_plan_edit *edits = calloc(n_edits + 1, sizeof *edits);
  const char *group_names[PROJECT_MAX_ITEMS];
  double group_budgets[PROJECT_MAX_ITEMS];
  if (is_unit == NULL || options == NULL || edits == NULL) goto nomem;

  if (p->plan_units_path != NULL) {
    units_path = strdup(p->plan_units_path);
    if (units_path == NULL) goto nomem;
  } else {
    if ((st = choose_units(r, is_unit)) != PROMO_OK) goto done;
    if ((st = run_select(r->table, is_unit, 1, &units, NULL)) != PROMO_OK) goto nomem;
    if (units->n_rows == 0) {
      promo_error_at(r->err, p->path, 0, 0);
      st = promo_error_set(r->err, PROMO_ERR_DATA, "%s", _("the plan has no decision units; check plan 'units'"));
      goto done;
    }
    if ((units_path = strdup(r->files[RUN_PLAN_UNITS])) == NULL) goto nomem;
    if ((st = write_units(r, units, units_path)) != PROMO_OK) goto done;
    promo_log(r->ctx, PROMO_LOG_INFO, _("%zu decision units x %zu options"), units->n_rows, p->n_options);
  }

  promo_plan_job job;
  promo_plan_job_init(&job);
  if ((st = fill_job(r, &job, options, edits, group_names, group_budgets)) != PROMO_OK) goto done;
  job.base_path = units_path;
  job.on_edited = p->n_derive > 0 ? rederive : NULL;
  job.on_edited_user = (void *)p;
  if (p->exact == -1 && units != NULL && units->n_rows * p->n_options <= PROJECT_EXACT_MAX_PAIRS) {
    job.solve.solver = PROMO_PLAN_SOLVER_EXACT;
    promo_log(r->ctx, PROMO_LOG_INFO, _("%zu unit-option pairs: small enough for the exact solver"),
              units->n_rows * p->n_options);
  }
  if ((st = promo_plan_run(&job, r->ctx, &result, r->err)) != PROMO_OK) goto done;
  if ((st = promo_plan_write_csv(result, r->files[RUN_PLAN_CSV], false, r->err)) != PROMO_OK) goto done;
  if ((summary = promo_plan_summary_json(result)) == NULL) goto nomem;
  if ((st = run_write_json(summary, r->files[RUN_PLAN_JSON], r->err)) != PROMO_OK) goto done;
  json_t *response = response_section(p, summary);
  if (response != NULL) json_object_set_new(r->doc, "response", response);
  json_object_set(r->doc, "plan", summary);
  goto done;

nomem:
  st = nomem(r->err);
done:
  json_decref(summary);
  promo_plan_result_free(result);
  promo_table_free(units);
  free(units_path);
  free(is_unit);
  free(options);
  free(edits);
  return st;
}
