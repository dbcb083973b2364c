/* Plan stage: the solver entry point, problem checks, plan evaluation, and the repair
 * and improvement passes that turn a relaxed plan into one meeting every limit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "plan/solve_internal.h"

const char *promo_plan_solver_name(promo_plan_solver solver) {
  return solver == PROMO_PLAN_SOLVER_EXACT ? "exact" : "fast";
}

void promo_plan_solve_options_init(promo_plan_solve_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->solver = PROMO_PLAN_SOLVER_FAST;
  opt->time_limit_s = 60.0;
  opt->mip_gap = 1e-6;
  opt->max_iterations = 500;
}

void promo_plan_solution_clear(promo_plan_solution *solution) {
  if (solution == NULL) return;
  free(solution->choice);
  free(solution->usage);
  memset(solution, 0, sizeof *solution);
}

/* ===================================================================== view */

static promo_status check_problem(const promo_plan_problem *p, promo_error *err) {
  if (p->option_start == NULL || (p->n_resources > 0 && p->cost == NULL) || p->value == NULL)
    return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("the plan problem has no option arrays"));
  for (size_t u = 0; u < p->n_units; u++) {
    if (p->option_start[u + 1] <= p->option_start[u])
      return promo_error_set(err, PROMO_ERR_USAGE, _("unit %zu of the plan problem has no option"), u);
    if (p->unit_group != NULL && p->unit_group[u] < -1)
      return promo_error_set(err, PROMO_ERR_USAGE, _("unit %zu has the invalid group %d"), u,
                             (int)p->unit_group[u]);
  }
  size_t n = p->option_start[p->n_units];
  for (size_t j = 0; j < n; j++) {
    bool finite = isfinite(p->value[j]);
    for (size_t r = 0; r < p->n_resources; r++) finite = finite && isfinite(p->cost[j * p->n_resources + r]);
    if (!finite)
      return promo_error_set(err, PROMO_ERR_USAGE,
                             _("option %zu of the plan problem has a value or cost that is not a "
                               "finite number"),
                             j);
  }
  for (size_t c = 0; c < p->n_constraints; c++) {
    const promo_plan_constraint *k = &p->constraints[c];
    if (k->resource >= p->n_resources || k->group < -1 || isnan(k->limit))
      return promo_error_set(err, PROMO_ERR_USAGE,
                             _("limit \"%s\" names resource %zu or group %d, which the problem "
                               "lacks, or its limit is not a number"),
                             k->name != NULL ? k->name : "?", k->resource, (int)k->group);
  }
  return PROMO_OK;
}

static bool covers(const promo_plan_problem *p, size_t c, size_t u) {
  int32_t g = p->constraints[c].group;
  return g == -1 || (p->unit_group != NULL && p->unit_group[u] == g);
}

promo_status plan_view_init(plan_view *v, const promo_plan_problem *p, promo_error *err) {
  memset(v, 0, sizeof *v);
  v->p = p;
  promo_status st = check_problem(p, err);
  if (st != PROMO_OK) return st;
  v->n_options = p->option_start[p->n_units];

  /* Two passes: count the covers of each unit, then fill them. */
  size_t n_covers = 0;
  v->cover_start = malloc((p->n_units + 1) * sizeof *v->cover_start);
  v->slack_tolerance = malloc((p->n_constraints + 1) * sizeof *v->slack_tolerance);
  if (v->cover_start == NULL || v->slack_tolerance == NULL) goto nomem;
  for (size_t u = 0; u < p->n_units; u++) {
    v->cover_start[u] = n_covers;
    for (size_t c = 0; c < p->n_constraints; c++) n_covers += covers(p, c, u);
  }
  v->cover_start[p->n_units] = n_covers;
  v->cover = malloc((n_covers + 1) * sizeof *v->cover);
  if (v->cover == NULL) goto nomem;
  for (size_t u = 0, k = 0; u < p->n_units; u++)
    for (size_t c = 0; c < p->n_constraints; c++)
      if (covers(p, c, u)) v->cover[k++] = c;
  for (size_t c = 0; c < p->n_constraints; c++) {
    double scale = fabs(p->constraints[c].limit);
    v->slack_tolerance[c] = PLAN_LIMIT_TOLERANCE * (scale > 1.0 ? scale : 1.0);
  }
  return PROMO_OK;

nomem:
  plan_view_clear(v);
  return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
}

void plan_view_clear(plan_view *v) {
  free(v->cover_start);
  free(v->cover);
  free(v->slack_tolerance);
  memset(v, 0, sizeof *v);
}

double plan_evaluate(const plan_view *v, const size_t *choice, double *usage) {
  const promo_plan_problem *p = v->p;
  double value = 0.0;
  for (size_t c = 0; c < p->n_constraints; c++) usage[c] = 0.0;
  for (size_t u = 0; u < p->n_units; u++) {
    size_t j = choice[u];
    value += p->value[j];
    for (size_t k = v->cover_start[u]; k < v->cover_start[u + 1]; k++)
      usage[v->cover[k]] += plan_cost(v, j, v->cover[k]);
  }
  return value;
}

bool plan_is_feasible(const plan_view *v, const double *usage) {
  for (size_t c = 0; c < v->p->n_constraints; c++)
    if (usage[c] > v->p->constraints[c].limit + v->slack_tolerance[c]) return false;
  return true;
}

promo_status plan_check_limits(const plan_view *v, promo_error *err) {
  const promo_plan_problem *p = v->p;
  double *least = calloc(p->n_constraints + 1, sizeof *least);
  if (least == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  for (size_t u = 0; u < p->n_units; u++) {
    for (size_t k = v->cover_start[u]; k < v->cover_start[u + 1]; k++) {
      size_t c = v->cover[k];
      double cheapest = INFINITY;
      for (size_t j = p->option_start[u]; j < p->option_start[u + 1]; j++)
        if (plan_cost(v, j, c) < cheapest) cheapest = plan_cost(v, j, c);
      least[c] += cheapest;
    }
  }
  promo_status st = PROMO_OK;
  for (size_t c = 0; c < p->n_constraints && st == PROMO_OK; c++) {
    if (least[c] > p->constraints[c].limit + v->slack_tolerance[c])
      st = promo_error_set(err, PROMO_ERR_DATA,
                           _("the limit %s = %g cannot be met: even the cheapest option of every "
                             "unit it covers adds up to %g; raise the limit or remove it"),
                           p->constraints[c].name != NULL ? p->constraints[c].name : "?",
                           p->constraints[c].limit, least[c]);
  }
  free(least);
  return st;
}

/* ===================================================================== repair */

/* Weight of a unit of cost under constraint c: the caller's (Lagrange multipliers, the
 * value a unit of that limit is worth), or one over the limit, so that limits of
 * different sizes count alike. */
static double limit_weight(const plan_view *v, const double *weights, size_t c) {
  if (weights != NULL) return weights[c];
  double scale = fabs(v->p->constraints[c].limit);
  return 1.0 / (scale > 1.0 ? scale : 1.0);
}

/* A move of one unit to another option, ranked by value lost per weighted excess removed. */
typedef struct plan_move {
  double ratio;
  size_t unit;
  size_t option;
} plan_move;

static int compare_moves(const void *a, const void *b) {
  const plan_move *x = a, *y = b;
  if (x->ratio != y->ratio) return x->ratio < y->ratio ? -1 : 1;
  return x->unit < y->unit ? -1 : x->unit > y->unit;
}

/* Weighted excess that moving unit u from option `from` to `to` removes (> 0 helps), or
 * -1 when the move breaks a limit that is met now. */
static double excess_removed(const plan_view *v, const double *weights, size_t u, size_t from, size_t to,
                             const double *usage) {
  double removed = 0.0;
  for (size_t k = v->cover_start[u]; k < v->cover_start[u + 1]; k++) {
    size_t c = v->cover[k];
    double limit = v->p->constraints[c].limit + v->slack_tolerance[c];
    double delta = plan_cost(v, to, c) - plan_cost(v, from, c);
    double excess = usage[c] - limit;
    if (excess > 0) {
      /* A cheaper option removes excess only up to what there is; a dearer one adds. */
      double cut = -delta;
      if (delta < 0 && -delta > excess) cut = excess;
      removed += cut * limit_weight(v, weights, c);
    } else if (usage[c] + delta > limit) {
      return -1.0;
    }
  }
  return removed;
}

/* Best move of unit u against the current excess; false when none removes any. */
static bool best_repair_move(const plan_view *v, const double *weights, size_t u, const size_t *choice,
                             const double *usage, plan_move *move) {
  const promo_plan_problem *p = v->p;
  size_t from = choice[u];
  bool found = false;
  for (size_t j = p->option_start[u]; j < p->option_start[u + 1]; j++) {
    if (j == from) continue;
    double removed = excess_removed(v, weights, u, from, j, usage);
    if (!(removed > 0)) continue;
    double ratio = (p->value[from] - p->value[j]) / removed;
    if (!found || ratio < move->ratio) {
      *move = (plan_move){ratio, u, j};
      found = true;
    }
  }
  return found;
}

static void apply_move(const plan_view *v, size_t u, size_t to, size_t *choice, double *usage) {
  for (size_t k = v->cover_start[u]; k < v->cover_start[u + 1]; k++) {
    size_t c = v->cover[k];
    usage[c] += plan_cost(v, to, c) - plan_cost(v, choice[u], c);
  }
  choice[u] = to;
}

/* A relaxed multiple-choice plan is made feasible by moving units to cheaper options in
 * order of the value lost per unit of capacity freed, the greedy order of Kellerer,
 * Pferschy and Pisinger, "Knapsack Problems" (Springer 2004), ch. 11. With several limits
 * the capacity is the weighted excess over the limits still broken. Each pass ranks the
 * units once, then applies the ranked moves while they still help. */
bool plan_repair(const plan_view *v, const double *weights, size_t *choice, double *usage) {
  const promo_plan_problem *p = v->p;
  plan_move *moves = malloc((p->n_units + 1) * sizeof *moves);
  if (moves == NULL) return false;
  bool feasible = plan_is_feasible(v, usage);
  for (int pass = 0; pass < 64 && !feasible; pass++) {
    size_t n_moves = 0;
    for (size_t u = 0; u < p->n_units; u++)
      if (best_repair_move(v, weights, u, choice, usage, &moves[n_moves])) n_moves++;
    if (n_moves == 0) break;
    qsort(moves, n_moves, sizeof *moves, compare_moves);
    for (size_t m = 0; m < n_moves && !feasible; m++) {
      size_t u = moves[m].unit;
      if (excess_removed(v, weights, u, choice[u], moves[m].option, usage) > 0) {
        apply_move(v, u, moves[m].option, choice, usage);
        feasible = plan_is_feasible(v, usage);
      }
    }
  }
  free(moves);
  return feasible;
}

/* Weighted cost of moving u from `from` to `to` over its limits, or -1 when the move
 * breaks one. */
static double upgrade_cost(const plan_view *v, const double *weights, size_t u, size_t from, size_t to,
                           const double *usage) {
  double weighted = 0.0;
  for (size_t k = v->cover_start[u]; k < v->cover_start[u + 1]; k++) {
    size_t c = v->cover[k];
    double delta = plan_cost(v, to, c) - plan_cost(v, from, c);
    if (usage[c] + delta > v->p->constraints[c].limit + v->slack_tolerance[c] && delta > 0) return -1.0;
    if (delta > 0) weighted += delta * limit_weight(v, weights, c);
  }
  return weighted;
}

/* The option of u that gains the most value while every limit stays met; false when
 * none gains. */
static bool best_upgrade(const plan_view *v, const double *weights, size_t u, const size_t *choice,
                         const double *usage, plan_move *move) {
  const promo_plan_problem *p = v->p;
  size_t from = choice[u];
  double best_gain = 0.0;
  bool found = false;
  for (size_t j = p->option_start[u]; j < p->option_start[u + 1]; j++) {
    double gain = p->value[j] - p->value[from];
    if (!(gain > best_gain)) continue;
    double weighted = upgrade_cost(v, weights, u, from, j, usage);
    if (weighted < 0) continue;
    best_gain = gain;
    *move = (plan_move){-gain / (weighted + 1e-12), u, j};
    found = true;
  }
  return found;
}

void plan_improve(const plan_view *v, const double *weights, size_t *choice, double *usage) {
  const promo_plan_problem *p = v->p;
  plan_move *moves = malloc((p->n_units + 1) * sizeof *moves);
  if (moves == NULL) return; /* improving is optional; the plan stays feasible */
  for (int pass = 0; pass < 4; pass++) {
    size_t n_moves = 0;
    for (size_t u = 0; u < p->n_units; u++)
      if (best_upgrade(v, weights, u, choice, usage, &moves[n_moves])) n_moves++;
    if (n_moves == 0) break;
    qsort(moves, n_moves, sizeof *moves, compare_moves);
    size_t n_applied = 0;
    for (size_t m = 0; m < n_moves; m++) {
      plan_move again;
      if (best_upgrade(v, weights, moves[m].unit, choice, usage, &again)) {
        apply_move(v, again.unit, again.option, choice, usage);
        n_applied++;
      }
    }
    if (n_applied == 0) break;
  }
  free(moves);
}

/* ===================================================================== entry point */

/* True when no unit is covered by two limits. */
static bool is_separable(const plan_view *v) {
  for (size_t u = 0; u < v->p->n_units; u++)
    if (v->cover_start[u + 1] - v->cover_start[u] > 1) return false;
  return true;
}

static promo_status solve_view(const plan_view *v, const promo_plan_solve_options *opt,
                               const promo_context *ctx, promo_plan_solution *s, promo_error *err) {
  promo_status st = plan_check_limits(v, err);
  if (st != PROMO_OK) return st;
  if (is_separable(v)) {
    st = plan_solve_separable(v, s->choice, &s->value, &s->bound, err);
  } else {
    st = plan_solve_lagrangian(v, opt, ctx, s->choice, &s->value, &s->bound, &s->n_iterations, err);
  }
  if (st != PROMO_OK) return st;
  promo_log(ctx, PROMO_LOG_DEBUG, "plan fast_value=%.10g bound=%.10g", s->value, s->bound);
  if (opt->solver == PROMO_PLAN_SOLVER_EXACT) {
    size_t n_nodes = 0;
    st = plan_solve_exact(v, opt, ctx, s->choice, &s->value, &s->bound, &s->is_optimal, &n_nodes, err);
    s->n_iterations = n_nodes;
  }
  return st;
}

promo_status promo_plan_solve(const promo_plan_problem *problem, const promo_plan_solve_options *opt,
                              const promo_context *ctx, promo_plan_solution *solution,
                              promo_error *err) {
  double start = promo_now_ms();
  memset(solution, 0, sizeof *solution);
  promo_plan_solve_options defaults;
  if (opt == NULL) {
    promo_plan_solve_options_init(&defaults);
    opt = &defaults;
  }
  if (opt->solver != PROMO_PLAN_SOLVER_FAST && opt->solver != PROMO_PLAN_SOLVER_EXACT)
    return promo_error_set(err, PROMO_ERR_USAGE, _("solver %d is not valid"), (int)opt->solver);

  plan_view v;
  promo_status st = plan_view_init(&v, problem, err);
  if (st != PROMO_OK) return st;
  solution->solver = opt->solver;
  solution->choice = malloc((problem->n_units + 1) * sizeof *solution->choice);
  solution->usage = malloc((problem->n_constraints + 1) * sizeof *solution->usage);
  if (solution->choice == NULL || solution->usage == NULL) {
    st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  } else {
    st = solve_view(&v, opt, ctx, solution, err);
  }
  if (st == PROMO_OK) {
    /* Values are summed again from the plan, so the reported value is the plan's own. */
    solution->value = plan_evaluate(&v, solution->choice, solution->usage);
    if (solution->bound < solution->value) solution->bound = solution->value;
    double scale = fabs(solution->bound) > 1e-9 ? fabs(solution->bound) : 1e-9;
    solution->gap = (solution->bound - solution->value) / scale;
    if (solution->gap <= 1e-12) {
      solution->gap = 0.0;
      solution->is_optimal = true;
    }
    solution->solve_ms = promo_now_ms() - start;
  } else {
    promo_plan_solution_clear(solution);
  }
  plan_view_clear(&v);
  return st;
}
