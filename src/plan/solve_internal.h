/* Internals shared by the plan solver's files: the checked problem with each unit's
 * limits listed, plan evaluation, and the three solving methods. */
#ifndef PROMO_PLAN_SOLVE_INTERNAL_H
#define PROMO_PLAN_SOLVE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "promo/plan.h"

/* Tolerance on limits, relative to max(|limit|, 1): sums of many doubles differ from the
 * exact sum by rounding, and a plan must not be called infeasible for that. */
#define PLAN_LIMIT_TOLERANCE 1e-9

/* A problem with, for every unit, the list of constraints that cover it. */
typedef struct plan_view {
  const promo_plan_problem *p;
  size_t n_options;           /* option_start[n_units] */
  size_t *cover_start;        /* [n_units + 1] into cover */
  size_t *cover;              /* constraint indices covering each unit, ascending */
  double *slack_tolerance;    /* [n_constraints] absolute tolerance of each limit */
} plan_view;

/* Cost of option j under constraint c. */
static inline double plan_cost(const plan_view *v, size_t j, size_t c) {
  return v->p->cost[j * v->p->n_resources + v->p->constraints[c].resource];
}

promo_status plan_view_init(plan_view *v, const promo_plan_problem *p, promo_error *err);
void plan_view_clear(plan_view *v);

/* Usage of every constraint and the value of the plan `choice`. */
double plan_evaluate(const plan_view *v, const size_t *choice, double *usage);
/* True when usage meets every limit within its tolerance. */
bool plan_is_feasible(const plan_view *v, const double *usage);

/* Check each limit alone against the cheapest option of every unit it covers; fills err
 * naming the first limit that cannot be met. */
promo_status plan_check_limits(const plan_view *v, promo_error *err);

/* Change `choice` until every limit is met, giving up the least value per weighted unit
 * of excess removed; false when no change helps any more. usage is kept up to date.
 * weights [n_constraints] price each limit's cost; NULL weighs each by 1 / |limit|. */
bool plan_repair(const plan_view *v, const double *weights, size_t *choice, double *usage);
/* Upgrade units while every limit stays met, best value gained per weighted cost first. */
void plan_improve(const plan_view *v, const double *weights, size_t *choice, double *usage);

/* Fast solver when each unit is under at most one limit: LP relaxation of the
 * multiple-choice knapsack per limit. Fills choice, *value and *bound. */
promo_status plan_solve_separable(const plan_view *v, size_t *choice, double *value,
                                  double *bound, promo_error *err);
/* Fast solver for overlapping limits: Lagrangian relaxation with subgradient steps. */
promo_status plan_solve_lagrangian(const plan_view *v, const promo_plan_solve_options *opt,
                                   const promo_context *ctx, size_t *choice, double *value,
                                   double *bound, size_t *n_iterations, promo_error *err);
/* GLPK branch and bound starting from the plan in choice (feasible), improving it in
 * place. *bound comes in as a valid upper bound and may be lowered. */
promo_status plan_solve_exact(const plan_view *v, const promo_plan_solve_options *opt,
                              const promo_context *ctx, size_t *choice, double *value,
                              double *bound, bool *is_optimal, size_t *n_nodes,
                              promo_error *err);

#endif
