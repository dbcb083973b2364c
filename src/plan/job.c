/* Plan stage: the planning job. It builds the candidate rows, turns them into a
 * multiple-choice knapsack (each unit's baseline first, limits from the job), solves it
 * and keeps everything the plan file and the summary need. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "plan/job_internal.h"

static const char *const objective_names[PROMO_PLAN_N_OBJECTIVES] = {
    "profit", "revenue", "units", "incremental_profit", "incremental_revenue", "incremental_units"};

const char *promo_plan_objective_name(promo_plan_objective objective) {
  return (unsigned)objective < PROMO_PLAN_N_OBJECTIVES ? objective_names[objective] : "unknown";
}

bool promo_plan_objective_parse(const char *name, promo_plan_objective *out) {
  for (int k = 0; k < PROMO_PLAN_N_OBJECTIVES; k++) {
    if (strcmp(name, objective_names[k]) == 0) {
      *out = (promo_plan_objective)k;
      return true;
    }
  }
  static const struct {
    const char *alias;
    promo_plan_objective objective;
  } aliases[] = {{"gmv", PROMO_PLAN_REVENUE},
                 {"buyers", PROMO_PLAN_UNITS},
                 {"incremental_gmv", PROMO_PLAN_INCREMENTAL_REVENUE},
                 {"incremental_buyers", PROMO_PLAN_INCREMENTAL_UNITS}};
  for (size_t k = 0; k < sizeof aliases / sizeof aliases[0]; k++) {
    if (strcmp(name, aliases[k].alias) == 0) {
      *out = aliases[k].objective;
      return true;
    }
  }
  return false;
}

bool plan_objective_is_incremental(promo_plan_objective objective) {
  return objective >= PROMO_PLAN_INCREMENTAL_PROFIT && objective < PROMO_PLAN_N_OBJECTIVES;
}

void promo_plan_job_init(promo_plan_job *job) {
  memset(job, 0, sizeof *job);
  promo_load_options_init(&job->load);
  job->option_column = "option";
  job->baseline = "none";
  job->objective = PROMO_PLAN_PROFIT;
  job->economics.price = NAN;
  job->economics.order_value = NAN;
  job->economics.unit_cost = NAN;
  job->economics.redemption = 1.0;
  job->economics.gift_cost = NAN;
  job->economics.fee = 0.0;
  job->limits.budget = NAN;
  job->limits.group_budget = NAN;
  job->limits.max_promoted = NAN;
  job->limits.max_promoted_per_group = NAN;
  job->limits.min_margin = NAN;
  job->limits.stock_caps = true;
  promo_plan_solve_options_init(&job->solve);
  job->n_top_units = 20;
}

void promo_plan_result_free(promo_plan_result *r) {
  if (r == NULL) return;
  promo_dict_free(r->names.units);
  promo_dict_free(r->names.options);
  promo_dict_free(r->names.groups);
  promo_dict_free(r->names.pairs);
  free(r->names.unit_group);
  plan_rows_clear(&r->rows);
  free(r->option_start);
  free(r->source_row);
  free(r->problem_value);
  free(r->problem_cost);
  free(r->baseline_row);
  free(r->constraints);
  for (size_t c = 0; c < r->n_constraints; c++) free(r->constraint_names[c]);
  free(r->constraint_names);
  promo_plan_solution_clear(&r->solution);
  free(r);
}

const promo_plan_solution *promo_plan_result_solution(const promo_plan_result *r) { return &r->solution; }

/* ===================================================================== row access */

double plan_result_baseline_value(const promo_plan_result *r, size_t u) {
  return r->baseline_row[u] >= 0 ? r->rows.value[r->baseline_row[u]] : NAN;
}

double plan_result_row_value(const promo_plan_result *r, size_t k) {
  if (plan_objective_is_incremental(r->objective)) return r->problem_value[k];
  return r->source_row[k] >= 0 ? r->rows.value[r->source_row[k]] : 0.0;
}

double plan_result_row_spend(const promo_plan_result *r, size_t k) {
  return r->source_row[k] >= 0 ? r->rows.spend[r->source_row[k]] : 0.0;
}

double plan_result_row_predicted(const promo_plan_result *r, size_t k) {
  return r->source_row[k] >= 0 ? r->rows.predicted[r->source_row[k]] : NAN;
}

int32_t plan_result_row_option(const promo_plan_result *r, size_t k) {
  return r->source_row[k] >= 0 ? r->rows.option[r->source_row[k]] : r->names.baseline;
}

/* ===================================================================== problem */

/* Order the kept rows by unit, each unit's baseline first (an implied one, value 0 and
 * no cost, when the unit has no baseline row), and fill the solver's arrays. */
static promo_status assemble_options(promo_plan_result *r, promo_error *err) {
  const plan_rows *rows = &r->rows;
  size_t n_units = r->n_units = promo_dict_size(r->names.units);
  r->baseline_row = malloc((n_units + 1) * sizeof *r->baseline_row);
  r->option_start = calloc(n_units + 2, sizeof *r->option_start);
  if (r->baseline_row == NULL || r->option_start == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  for (size_t u = 0; u < n_units; u++) r->baseline_row[u] = -1;
  for (size_t k = 0; k < rows->n_rows; k++)
    if (rows->option[k] == r->names.baseline && r->baseline_row[rows->unit[k]] < 0) r->baseline_row[rows->unit[k]] = (int64_t)k;

  /* Counting sort: slot 0 of each unit is its baseline, then its other kept rows. */
  for (size_t u = 0; u < n_units; u++) r->option_start[u + 1] = 1;
  for (size_t k = 0; k < rows->n_rows; k++)
    if (rows->reason[k] == ROW_KEPT && (int64_t)k != r->baseline_row[rows->unit[k]]) r->option_start[rows->unit[k] + 1]++;
  for (size_t u = 0; u < n_units; u++) r->option_start[u + 1] += r->option_start[u];
  size_t n = r->option_start[n_units];
  r->n_resources = 2 + rows->n_extra;
  r->source_row = malloc((n + 1) * sizeof *r->source_row);
  r->problem_value = malloc((n + 1) * sizeof *r->problem_value);
  r->problem_cost = calloc((n + 1) * r->n_resources, sizeof *r->problem_cost);
  size_t *next = malloc((n_units + 1) * sizeof *next);
  if (!r->source_row || !r->problem_value || !r->problem_cost || !next) {
    free(next);
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  }
  for (size_t u = 0; u < n_units; u++) {
    r->source_row[r->option_start[u]] = r->baseline_row[u];
    next[u] = r->option_start[u] + 1;
  }
  for (size_t k = 0; k < rows->n_rows; k++)
    if (rows->reason[k] == ROW_KEPT && (int64_t)k != r->baseline_row[rows->unit[k]]) r->source_row[next[rows->unit[k]]++] = (int64_t)k;
  free(next);

  r->baseline_total = 0.0;
  for (size_t u = 0; u < n_units; u++) {
    double base = r->baseline_row[u] >= 0 ? rows->value[r->baseline_row[u]] : 0.0;
    r->baseline_total += base;
    for (size_t j = r->option_start[u]; j < r->option_start[u + 1]; j++) {
      int64_t src = r->source_row[j];
      double *cost = &r->problem_cost[j * r->n_resources];
      r->problem_value[j] = src >= 0 ? rows->value[src] - base : 0.0;
      if (src < 0) continue;
      cost[0] = rows->spend[src];
      cost[1] = j == r->option_start[u] ? 0.0 : 1.0;
      for (size_t e = 0; e < rows->n_extra; e++) cost[2 + e] = rows->extra[src * rows->n_extra + e];
    }
  }
  return PROMO_OK;
}

static promo_status add_constraint(promo_plan_result *r, const char *name, const char *group_name, size_t resource,
                                   int32_t group, double limit, promo_error *err) {
  size_t c = r->n_constraints;
  promo_plan_constraint *grown = realloc(r->constraints, (c + 1) * sizeof *grown);
  if (grown != NULL) r->constraints = grown;
  char **names = realloc(r->constraint_names, (c + 1) * sizeof *names);
  if (names != NULL) r->constraint_names = names;
  size_t len = strlen(name) + (group_name != NULL ? strlen(group_name) + 3 : 0) + 1;
  char *label = grown != NULL && names != NULL ? malloc(len) : NULL;
  if (label == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  if (group_name != NULL) snprintf(label, len, "%s[%s]", name, group_name);
  else snprintf(label, len, "%s", name);
  r->constraint_names[c] = label;
  r->constraints[c] = (promo_plan_constraint){label, resource, group, limit};
  r->n_constraints++;
  return PROMO_OK;
}

/* A count limit: `limit` itself, or that share of `n` units rounded down. */
static double count_limit(double limit, bool is_share, size_t n) {
  return is_share ? floor(limit * (double)n + 1e-9) : floor(limit + 1e-9);
}

static promo_status add_group_limits(promo_plan_result *r, const promo_plan_limits *l, promo_error *err) {
  size_t n_groups = promo_dict_size(r->names.groups);
  for (size_t i = 0; i < l->n_group_budgets; i++)
    if (promo_dict_find(r->names.groups, l->group_names[i], strlen(l->group_names[i])) < 0)
      return promo_error_set(err, PROMO_ERR_USAGE, _("group \"%s\" has a budget but is not in column \"%s\""),
                             l->group_names[i], l->group_column);
  size_t *sizes = calloc(n_groups + 1, sizeof *sizes);
  if (sizes == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  for (size_t u = 0; u < r->n_units; u++)
    if (r->names.unit_group[u] >= 0) sizes[r->names.unit_group[u]]++;
  promo_status st = PROMO_OK;
  for (size_t g = 0; g < n_groups && st == PROMO_OK; g++) {
    const char *name = promo_dict_string(r->names.groups, (int32_t)g, NULL);
    double budget = l->group_budget;
    for (size_t i = 0; i < l->n_group_budgets; i++)
      if (strcmp(l->group_names[i], name) == 0) budget = l->group_budgets[i];
    if (!isnan(budget)) st = add_constraint(r, "budget", name, 0, (int32_t)g, budget, err);
    if (st == PROMO_OK && !isnan(l->max_promoted_per_group))
      st = add_constraint(r, "max_promoted", name, 1, (int32_t)g,
                          count_limit(l->max_promoted_per_group, l->max_promoted_per_group_is_share, sizes[g]), err);
  }
  free(sizes);
  return st;
}

static promo_status add_limits(promo_plan_result *r, const promo_plan_job *job, promo_error *err) {
  const promo_plan_limits *l = &job->limits;
  promo_status st = PROMO_OK;
  r->budget = l->budget;
  if (!isnan(l->budget)) st = add_constraint(r, "budget", NULL, 0, -1, l->budget, err);
  if (st == PROMO_OK && !isnan(l->max_promoted))
    st = add_constraint(r, "max_promoted", NULL, 1, -1, count_limit(l->max_promoted, l->max_promoted_is_share, r->n_units), err);
  for (size_t i = 0; st == PROMO_OK && i < l->n_cost_limits; i++)
    st = add_constraint(r, l->cost_limit_columns[i], NULL, 2 + i, -1, l->cost_limits[i], err);
  bool group_limits = !isnan(l->group_budget) || l->n_group_budgets > 0 || !isnan(l->max_promoted_per_group);
  if (st == PROMO_OK && group_limits && r->names.groups == NULL)
    st = promo_error_set(err, PROMO_ERR_USAGE, "%s", _("limits per group need the group column; name it with --group"));
  if (st == PROMO_OK && group_limits) st = add_group_limits(r, l, err);
  return st;
}

/* Values of the solution in the objective's terms: absolute objectives add back the
 * baselines the problem's values leave out. */
static void report_in_objective_terms(promo_plan_result *r) {
  promo_plan_solution *s = &r->solution;
  if (!plan_objective_is_incremental(r->objective)) {
    s->value += r->baseline_total;
    s->bound += r->baseline_total;
  }
  double scale = fabs(s->bound) > 1e-9 ? fabs(s->bound) : 1e-9;
  s->gap = s->bound > s->value ? (s->bound - s->value) / scale : 0.0;
}

promo_status promo_plan_run(const promo_plan_job *job, const promo_context *ctx, promo_plan_result **out,
                            promo_error *err) {
  *out = NULL;
  if ((unsigned)job->objective >= PROMO_PLAN_N_OBJECTIVES)
    return promo_error_set(err, PROMO_ERR_USAGE, _("objective %d is not valid"), (int)job->objective);
  const promo_plan_economics *e = &job->economics;
  const struct {
    const char *name;
    double amount;
  } amounts[] = {{N_("price"), e->price}, {N_("order value"), e->order_value}, {N_("unit cost"), e->unit_cost}};
  for (size_t k = 0; k < sizeof amounts / sizeof amounts[0]; k++)
    if (amounts[k].amount < 0)
      return promo_error_set(err, PROMO_ERR_USAGE, _("the %s is %g; give an amount of 0 or more"),
                             _(amounts[k].name), amounts[k].amount);
  promo_plan_result *r = calloc(1, sizeof *r);
  if (r == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  r->objective = job->objective;
  r->n_top_units = job->n_top_units;

  promo_status st = plan_build_rows(job, ctx, r, err);
  /* Row errors know their line but not always the file. */
  if (st != PROMO_OK && err->path[0] == '\0' && err->line > 0)
    promo_error_at(err, job->candidates_path != NULL ? job->candidates_path : job->base_path, err->line, err->column);
  if (st == PROMO_OK) st = assemble_options(r, err);
  if (st == PROMO_OK) st = add_limits(r, job, err);
  if (st == PROMO_OK) {
    promo_plan_problem p = {r->n_units, r->option_start, r->problem_value, r->n_resources, r->problem_cost,
                            r->names.unit_group, r->n_constraints, r->constraints};
    promo_log(ctx, PROMO_LOG_INFO, _("solving: %zu units, %zu unit-option pairs, %zu limits, %s solver"), r->n_units,
              r->option_start[r->n_units], r->n_constraints, promo_plan_solver_name(job->solve.solver));
    st = promo_plan_solve(&p, &job->solve, ctx, &r->solution, err);
  }
  if (st != PROMO_OK) {
    promo_plan_result_free(r);
    return st;
  }
  report_in_objective_terms(r);
  *out = r;
  return PROMO_OK;
}
