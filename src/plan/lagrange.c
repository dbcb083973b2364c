/* Plan stage: the multiple-choice knapsack with several overlapping limits (a budget and
 * budgets per group, a count of promoted units), solved by Lagrangian relaxation. With a
 * multiplier lambda_c >= 0 per limit, each unit independently takes the option with the
 * largest value - sum_c lambda_c cost_c, and L(lambda) = sum of those + sum_c lambda_c
 * limit_c bounds every feasible plan from above. The multipliers follow projected
 * subgradient steps with Polyak's step size rule. The relaxed plans are then repaired to
 * meet every limit and improved. Kellerer, Pferschy and Pisinger, "Knapsack Problems"
 * (Springer 2004), ch. 11, treats the relaxations of the multiple-choice knapsack. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "plan/solve_internal.h"

/* Iterations without a better bound before the step factor halves. */
#define STALL_ITERATIONS 15
/* Repair and improve a relaxed plan every this many iterations. */
#define REPAIR_EVERY 10

/* Each unit's best option under multipliers lambda into choice; returns L(lambda) and
 * fills usage. */
static double relaxed_plan(const plan_view *v, const double *lambda, size_t *choice, double *usage) {
  const promo_plan_problem *p = v->p;
  double dual = 0.0;
  for (size_t c = 0; c < p->n_constraints; c++) {
    dual += lambda[c] * p->constraints[c].limit;
    usage[c] = 0.0;
  }
  for (size_t u = 0; u < p->n_units; u++) {
    size_t best = p->option_start[u];
    double best_score = -INFINITY;
    for (size_t j = p->option_start[u]; j < p->option_start[u + 1]; j++) {
      double score = p->value[j];
      for (size_t k = v->cover_start[u]; k < v->cover_start[u + 1]; k++)
        score -= lambda[v->cover[k]] * plan_cost(v, j, v->cover[k]);
      if (score > best_score) {
        best_score = score;
        best = j;
      }
    }
    choice[u] = best;
    dual += best_score;
    for (size_t k = v->cover_start[u]; k < v->cover_start[u + 1]; k++)
      usage[v->cover[k]] += plan_cost(v, best, v->cover[k]);
  }
  return dual;
}

typedef struct lagrange_state {
  double *lambda, *step, *usage, *trial_usage;  /* [n_constraints] */
  double *weights;                              /* [n_constraints] prices for the repair */
  size_t *relaxed, *trial;                      /* [n_units] */
} lagrange_state;

static void state_free(lagrange_state *s) {
  free(s->lambda);
  free(s->step);
  free(s->usage);
  free(s->trial_usage);
  free(s->weights);
  free(s->relaxed);
  free(s->trial);
}

static bool state_alloc(lagrange_state *s, size_t n_units, size_t n_constraints) {
  memset(s, 0, sizeof *s);
  s->lambda = calloc(n_constraints + 1, sizeof *s->lambda);
  s->step = calloc(n_constraints + 1, sizeof *s->step);
  s->usage = calloc(n_constraints + 1, sizeof *s->usage);
  s->trial_usage = calloc(n_constraints + 1, sizeof *s->trial_usage);
  s->weights = calloc(n_constraints + 1, sizeof *s->weights);
  s->relaxed = malloc((n_units + 1) * sizeof *s->relaxed);
  s->trial = malloc((n_units + 1) * sizeof *s->trial);
  return s->lambda && s->step && s->usage && s->trial_usage && s->weights && s->relaxed && s->trial;
}

/* Repair and improve a copy of the relaxed plan; keep it in choice when it is feasible
 * and better than *best. */
static void try_primal(const plan_view *v, lagrange_state *s, size_t *choice, double *best) {
  size_t n = v->p->n_units, m = v->p->n_constraints;
  memcpy(s->trial, s->relaxed, n * sizeof *s->trial);
  memcpy(s->trial_usage, s->usage, m * sizeof *s->trial_usage);
  /* Costs are priced by the multipliers, which are the worth of each limit in the
   * relaxation. A limit with a zero multiplier keeps a small price, so its excess counts. */
  for (size_t c = 0; c < m; c++) {
    double scale = fabs(v->p->constraints[c].limit);
    s->weights[c] = s->lambda[c] + 1e-6 / (scale > 1.0 ? scale : 1.0);
  }
  if (!plan_repair(v, s->weights, s->trial, s->trial_usage)) return;
  plan_improve(v, s->weights, s->trial, s->trial_usage);
  double value = plan_evaluate(v, s->trial, s->trial_usage);
  if (value > *best) {
    *best = value;
    memcpy(choice, s->trial, n * sizeof *choice);
  }
}

/* Projected subgradient of the dual at lambda into s->step; returns its squared norm. */
static double subgradient(const plan_view *v, lagrange_state *s) {
  double norm2 = 0.0;
  for (size_t c = 0; c < v->p->n_constraints; c++) {
    double g = v->p->constraints[c].limit - s->usage[c];
    if (s->lambda[c] <= 0.0 && g > 0) g = 0.0;
    s->step[c] = g;
    norm2 += g * g;
  }
  return norm2;
}

promo_status plan_solve_lagrangian(const plan_view *v, const promo_plan_solve_options *opt,
                                   const promo_context *ctx, size_t *choice, double *value,
                                   double *bound, size_t *n_iterations, promo_error *err) {
  const promo_plan_problem *p = v->p;
  lagrange_state s;
  if (!state_alloc(&s, p->n_units, p->n_constraints)) {
    state_free(&s);
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  }
  double best_value = -INFINITY, best_bound = INFINITY, theta = 2.0;
  size_t stall = 0, it = 0, max_it = opt->max_iterations > 0 ? opt->max_iterations : 1;
  promo_status st = PROMO_OK;

  for (; it < max_it; it++) {
    if (promo_cancelled(ctx)) {
      st = promo_error_set(err, PROMO_ERR_CANCELLED, "%s", _("cancelled"));
      break;
    }
    double dual = relaxed_plan(v, s.lambda, s.relaxed, s.usage);
    if (!isfinite(best_bound) || dual < best_bound - 1e-12 * fabs(best_bound)) {
      best_bound = dual;
      stall = 0;
    } else if (++stall >= STALL_ITERATIONS) {
      theta /= 2.0;
      stall = 0;
    }
    if (plan_is_feasible(v, s.usage)) {
      double relaxed_value = plan_evaluate(v, s.relaxed, s.trial_usage);
      if (relaxed_value > best_value) {
        best_value = relaxed_value;
        memcpy(choice, s.relaxed, p->n_units * sizeof *choice);
      }
    }
    if (it % REPAIR_EVERY == 0) try_primal(v, &s, choice, &best_value);
    if (best_bound - best_value <= 1e-9 * fmax(fabs(best_bound), 1.0) || theta < 1e-6) break;

    double norm2 = subgradient(v, &s);
    if (norm2 <= 0.0) break; /* lambda is optimal for the dual */
    /* Polyak's step toward the best plan value known, or 5% below the dual without one. */
    double target = isfinite(best_value) ? best_value : dual - 0.05 * fmax(fabs(dual), 1.0);
    double t = theta * (dual - target) / norm2;
    for (size_t c = 0; c < p->n_constraints; c++) s.lambda[c] = fmax(0.0, s.lambda[c] - t * s.step[c]);
  }
  if (st == PROMO_OK) {
    /* The last multipliers once more, since the loop may stop before a repair. */
    relaxed_plan(v, s.lambda, s.relaxed, s.usage);
    try_primal(v, &s, choice, &best_value);
    if (!isfinite(best_value))
      st = promo_error_set(err, PROMO_ERR_DATA, "%s",
                           _("no plan meeting all limits together was found, although each limit "
                             "alone can be met; loosen a limit or try --exact"));
  }
  promo_log(ctx, PROMO_LOG_DEBUG, "plan lagrangian iterations=%zu bound=%.10g value=%.10g", it,
            best_bound, best_value);
  *value = best_value;
  *bound = best_bound;
  *n_iterations = it;
  state_free(&s);
  return st;
}
