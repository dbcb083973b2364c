/* Internals shared by the planning job's files: the candidate rows collected from the
 * inputs, their economics, and the result object. */
#ifndef PROMO_PLAN_JOB_INTERNAL_H
#define PROMO_PLAN_JOB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promo/plan.h"

/* Why a candidate row was left out of the problem. */
enum {
  ROW_KEPT = 0,
  ROW_FORBIDDEN,     /* listed in the forbid file */
  ROW_LOW_MARGIN,    /* below the minimum margin */
  ROW_OVER_STOCK,    /* predicts more than the stock */
  ROW_N_REASONS
};

/* The candidate rows: one per unit and option, in the order built. */
typedef struct plan_rows {
  size_t n_rows, capacity;
  size_t n_extra;           /* values of the cost-limit columns per row */
  uint32_t *unit;           /* [n_rows] unit index */
  int32_t *option;          /* [n_rows] option id (code in the option dictionary) */
  double *predicted;        /* [n_rows] model output, NAN without a model */
  double *value;            /* [n_rows] value under the objective without "incremental" */
  double *spend;            /* [n_rows] promotion spend */
  double *extra;            /* [n_rows x n_extra] */
  uint8_t *reason;          /* [n_rows] ROW_* */
  int64_t *line;            /* [n_rows] source line, 0 for built rows */
} plan_rows;

promo_status plan_rows_reserve(plan_rows *rows, size_t n_more);
void plan_rows_clear(plan_rows *rows);

/* Units, options and groups met while building, by name. */
typedef struct plan_names {
  promo_dict *units;        /* code = unit index */
  promo_dict *options;      /* code = option id */
  promo_dict *groups;       /* code = group index; NULL without a group column */
  promo_dict *pairs;        /* (unit, option) codes seen, to reject a pair given twice;
                               created with the first row */
  int32_t *unit_group;      /* [capacity] group of each unit */
  size_t group_capacity;
  int32_t baseline;         /* option id of the baseline */
} plan_names;

struct promo_plan_result {
  promo_plan_objective objective;
  bool has_model;
  bool has_groups;
  size_t n_top_units;
  plan_names names;
  plan_rows rows;

  /* The solver's problem: options of unit u are problem rows option_start[u] ..; each
   * refers back to a candidate row, or to none (-1) for an implied baseline. */
  size_t n_units;
  size_t *option_start;     /* [n_units + 1] */
  int64_t *source_row;      /* [n_problem_rows] candidate row or -1 */
  double *problem_value;    /* [n_problem_rows] solver value: value minus the baseline's */
  double *problem_cost;     /* [n_problem_rows x n_resources] */
  size_t n_resources;       /* spend, promoted count, then the cost-limit columns */
  int64_t *baseline_row;    /* [n_units] candidate row of the baseline, or -1 */
  double baseline_total;    /* summed baseline value over units (what problem values omit) */
  size_t n_constraints;
  promo_plan_constraint *constraints;
  char **constraint_names;  /* [n_constraints], owned */
  double budget;            /* NAN without a budget */
  size_t n_extra_names;
  char **extra_names;       /* [n_extra] cost-limit column names, owned */

  promo_plan_solution solution;
};

/* The value of problem row k under the objective (absolute or incremental) and its spend,
 * predicted outcome (NAN when unknown) and option id. */
double plan_result_row_value(const promo_plan_result *r, size_t k);
double plan_result_row_spend(const promo_plan_result *r, size_t k);
double plan_result_row_predicted(const promo_plan_result *r, size_t k);
int32_t plan_result_row_option(const promo_plan_result *r, size_t k);
/* The baseline value of unit u under the objective without "incremental", NAN without a
 * baseline row. */
double plan_result_baseline_value(const promo_plan_result *r, size_t u);
bool plan_objective_is_incremental(promo_plan_objective objective);

/* Build the candidate rows of a job into result->rows and result->names. */
promo_status plan_build_rows(const promo_plan_job *job, const promo_context *ctx,
                             promo_plan_result *result, promo_error *err);

#endif
