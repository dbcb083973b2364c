/* Plan stage: chooses one option per decision unit (an item, a store-week, a customer)
 * so that the total objective is as large as possible under budgets, counts and other
 * limits. Sections: the solver over a plain problem (multiple-choice knapsack), the option
 * list parser, and the planning job that builds candidates, predicts, solves and writes
 * the plan. */
#ifndef PROMO_PLAN_H
#define PROMO_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promo/core.h"
#include "promo/data.h"
#include "promo/feature.h"
#include "promo/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== solver */

/* One limit: the summed cost of `resource` over the chosen options of the units it covers
 * stays at or below `limit`. It covers every unit when group is -1, else the units whose
 * group equals `group`. */
typedef struct promo_plan_constraint {
  const char *name;       /* used in messages and the summary; not copied */
  size_t resource;        /* column of promo_plan_problem.cost */
  int32_t group;          /* -1: every unit */
  double limit;
} promo_plan_constraint;

/* A multiple-choice knapsack problem: every unit takes exactly one of its options. The
 * "no promotion" choice is an option like any other (usually value 0 and cost 0), so a
 * plan may leave a unit unpromoted only when that option is listed.
 * Arrays are the caller's and are read, never kept, by promo_plan_solve. */
typedef struct promo_plan_problem {
  size_t n_units;
  const size_t *option_start;  /* [n_units + 1]: unit u owns options option_start[u] ..
                                  option_start[u + 1] - 1; each unit needs at least one */
  const double *value;         /* [n_options] objective value of each option */
  size_t n_resources;
  const double *cost;          /* [n_options x n_resources], row-major */
  const int32_t *unit_group;   /* [n_units] group index from 0, or -1; NULL: no groups */
  size_t n_constraints;
  const promo_plan_constraint *constraints;
} promo_plan_problem;

typedef enum promo_plan_solver {
  /* LP relaxation and Lagrangian relaxation with an integer repair; fast, reports a bound */
  PROMO_PLAN_SOLVER_FAST = 0,
  /* GLPK's branch and bound (glp_intopt) under a time limit */
  PROMO_PLAN_SOLVER_EXACT
} promo_plan_solver;

/* "fast" or "exact". */
const char *promo_plan_solver_name(promo_plan_solver solver);

typedef struct promo_plan_solve_options {
  promo_plan_solver solver;
  double time_limit_s;      /* exact solver: stop after this many seconds, default 60 */
  double mip_gap;           /* exact solver: stop at this relative gap, default 1e-6 */
  size_t max_iterations;    /* fast solver, several overlapping limits: subgradient
                               iterations, default 500 */
} promo_plan_solve_options;

void promo_plan_solve_options_init(promo_plan_solve_options *opt);

/* A solved plan. Release with promo_plan_solution_clear. */
typedef struct promo_plan_solution {
  size_t *choice;           /* [n_units] index of the chosen option in the problem's
                               option arrays (not within the unit) */
  double *usage;            /* [n_constraints] summed cost under each constraint */
  double value;             /* objective of the plan */
  double bound;             /* no plan can exceed this value */
  double gap;               /* (bound - value) / max(|bound|, 1e-9), >= 0 */
  double solve_ms;
  promo_plan_solver solver;
  bool is_optimal;          /* the plan is proven optimal (within the MIP gap for exact) */
  size_t n_iterations;      /* subgradient iterations or branch-and-bound nodes */
} promo_plan_solution;

void promo_plan_solution_clear(promo_plan_solution *solution);

/* Solve the problem. The fast solver works as follows.
 *   - Without limits each unit takes its best option.
 *   - When every unit is covered by at most one limit (one budget, or budgets per group
 *     and no overall limit), each limit is a multiple-choice knapsack solved through its
 *     LP relaxation: each unit's options reduced to the upper convex hull of its (cost,
 *     value) points, hull steps taken greedily by value gained per cost. The integer plan
 *     is the LP solution without its one fractional unit, improved by a pass that spends
 *     what is left of the limit. bound is the LP value, which no integer plan exceeds.
 *   - Otherwise the limits are relaxed with Lagrange multipliers updated by subgradient
 *     steps; the plans of the relaxed problems are repaired to meet every limit and then
 *     improved. bound is the smallest Lagrangian dual value found.
 * The exact solver hands a 0-1 program to GLPK with the fast plan as its first incumbent
 * and reports GLPK's bound when the time limit stops it.
 *
 * Results depend only on the problem and options (no threads, no randomness).
 * Errors: PROMO_ERR_USAGE for a malformed problem (a unit without options, a non-finite
 * value or cost, a constraint with a bad resource or group, a NaN limit);
 * PROMO_ERR_DATA when a limit cannot be met even with the cheapest option of every
 * unit (the message names the limit and the least it needs), or when no plan meeting all
 * limits together was found; PROMO_ERR_NOMEM; PROMO_ERR_CANCELLED. On error the solution
 * is cleared. */
promo_status promo_plan_solve(const promo_plan_problem *problem,
                              const promo_plan_solve_options *opt, const promo_context *ctx,
                              promo_plan_solution *solution, promo_error *err);

/* ===================================================================== options */

/* How one option changes a column of the unit's row. */
typedef enum promo_plan_edit_kind {
  PROMO_PLAN_EDIT_SET = 0,  /* COL=VALUE: the text VALUE replaces the cell */
  PROMO_PLAN_EDIT_SCALE,    /* COL*=FACTOR: the number is multiplied */
  PROMO_PLAN_EDIT_ADD       /* COL+=AMOUNT: the number is increased (AMOUNT may be < 0) */
} promo_plan_edit_kind;

typedef struct promo_plan_edit {
  const char *column;
  promo_plan_edit_kind kind;
  const char *text;         /* SET: the new cell text */
  double number;            /* SCALE and ADD: the factor or amount */
} promo_plan_edit;

/* One candidate promotion. `offer` is promotion text for promo_offer_parse, or NULL for
 * an option that is not an offer (an e-mail, a display). When the model reads an offer
 * column, the offer text is written there, unless an edit sets that column itself.
 * Strings are not copied by the job; they must outlive it. */
typedef struct promo_plan_option {
  const char *name;
  const char *offer;
  size_t n_edits;
  const promo_plan_edit *edits;
} promo_plan_option;

/* The parsed form of an option list; it owns the options and their strings. */
typedef struct promo_plan_option_list promo_plan_option_list;

/* Parse an option list such as
 *   none;9折;满200减30;赠品:15;mens: segment=Mens E-Mail;sale: price*=0.8, deal=1
 * Options are separated by ';' (or '；'). An option is NAME, or NAME: EDITS where EDITS
 * is a comma-separated list (',' or '，') of COL=TEXT, COL*=NUMBER and COL+=NUMBER. The
 * edits start after the last colon (':' or '：') before the first '='; without an '=' a
 * colon belongs to the name, as in the offer texts 赠品:15 and 200:30.
 * NAME is the option's offer text when promo_offer_parse reads it (none, 9折), else the
 * option has no offer and needs edits. Spaces around names, columns and values are
 * dropped; a value cannot contain ',' or ';'.
 * Errors are PROMO_ERR_USAGE naming the option and the problem: an empty list or
 * option, a NAME repeated, an edit without a column or '=', a number that does not
 * parse, a name that is no offer text and has no edits, or more than 1024 options or
 * edits per option. err->value gets the option text. */
promo_status promo_plan_options_parse(const char *text, promo_plan_option_list **out,
                                      promo_error *err);

size_t promo_plan_option_list_size(const promo_plan_option_list *list);
/* The options, owned by the list. */
const promo_plan_option *promo_plan_option_list_items(const promo_plan_option_list *list);
void promo_plan_option_list_free(promo_plan_option_list *list);

/* ===================================================================== job */

typedef enum promo_plan_objective {
  PROMO_PLAN_PROFIT = 0,            /* revenue paid minus cost of goods, gifts and fees */
  PROMO_PLAN_REVENUE,               /* revenue paid (GMV after discounts) */
  PROMO_PLAN_UNITS,                 /* predicted units, or buyers for binary models */
  PROMO_PLAN_INCREMENTAL_PROFIT,    /* the same minus the unit's baseline option */
  PROMO_PLAN_INCREMENTAL_REVENUE,
  PROMO_PLAN_INCREMENTAL_UNITS,
  PROMO_PLAN_N_OBJECTIVES
} promo_plan_objective;

/* "profit", "revenue", "units", "incremental_profit", "incremental_revenue",
 * "incremental_units"; parse also takes "gmv" and "buyers". */
const char *promo_plan_objective_name(promo_plan_objective objective);
bool promo_plan_objective_parse(const char *name, promo_plan_objective *out);

/* How money is computed for rows the job predicts. "Price" is the item price for
 * regression and count models and the order value for binary ones, whose prediction is
 * the probability of an order. A column name takes precedence over the constant. */
typedef struct promo_plan_economics {
  const char *price_column;      /* list price per item; NULL: `price` */
  double price;                  /* NAN: none */
  const char *order_value_column;/* binary models: money per order; NULL: order_value,
                                    then the price */
  double order_value;            /* NAN: none */
  const char *unit_cost_column;  /* cost of goods per item or order */
  double unit_cost;              /* NAN: none */
  const char *margin_column;     /* percent of the list price kept: cost = price x (1 -
                                    margin / 100); used when no unit cost is given */
  double redemption;             /* share of coupon savings redeemed, default 1 */
  double gift_cost;              /* cost of one gift; NAN (default): its stated value */
  double fee;                    /* fixed cost per promoted unit, default 0 */
} promo_plan_economics;

/* What limits the plan. NAN and 0 counts mean "no limit". */
typedef struct promo_plan_limits {
  double budget;                 /* total promotion spend */
  const char *group_column;      /* groups for the per-group limits and by_group */
  double group_budget;           /* the same spend limit for every group */
  size_t n_group_budgets;        /* limits for named groups, over group_budget */
  const char *const *group_names;
  const double *group_budgets;
  double max_promoted;           /* units promoted overall: a count, or a share of the
                                    units when max_promoted_is_share */
  bool max_promoted_is_share;
  double max_promoted_per_group;
  bool max_promoted_per_group_is_share;
  const char *stock_column;      /* units available per decision unit */
  bool stock_caps;               /* true: predicted units above stock are cut to it;
                                    false: such options are forbidden */
  double min_margin;             /* a promoted option keeps at least this share of the price
                                    it is paid, after cost of goods (0.1 = 10%) */
  const char *forbid_path;       /* CSV with the unit column (or "unit") and "option":
                                    pairs that may not be chosen */
  size_t n_cost_limits;          /* limits on cost columns: cost_limit_columns[i] <=
                                    cost_limits[i] */
  const char *const *cost_limit_columns;
  const double *cost_limits;
} promo_plan_limits;

/* Everything `promo optimize` takes. Three ways to give candidates:
 *   - candidates_path with value_column and spend columns and no model: the team's own
 *     predictions, one row per unit and option;
 *   - candidates_path with a model: one row per unit and option with the model's input
 *     columns; each row is predicted;
 *   - base_path with options and a model: one row per unit; promo builds a row per
 *     option by writing its offer and edits into a copy of the unit's row.
 * Strings and arrays are the caller's and must outlive the job. */
typedef struct promo_plan_job {
  const char *candidates_path;
  const char *base_path;
  promo_load_options load;       /* CSV options; types come from the model when there is
                                    one */
  const char *unit_column;       /* required with candidates; base rows default to their
                                    row number */
  const char *option_column;     /* candidates: the option of each row, default "option" */
  const char *baseline;          /* the option meaning "no promotion", default "none" */
  const char *value_column;      /* candidates without a model: the objective value */
  size_t n_cost_columns;         /* candidates: cost columns; the first is the spend that
                                    the budget limits, others only take cost_limits */
  const char *const *cost_columns;

  const char *model_path;        /* loaded by the job when nn is NULL */
  const promo_nn *nn;            /* a model the caller loaded, with its pipeline */
  const promo_pipeline *pipeline;
  const promo_plan_option *options; /* base_path mode */
  size_t n_options;
  const char *offer_column;      /* the model's offer text column, when it has several */

  /* Called on each option's rows after its edits and before the model predicts them, so
   * that a caller whose columns derive from others (a discount from a price) can compute
   * them again; NULL for none. The table is the job's; change values only, never its
   * columns. An error stops the job. */
  promo_status (*on_edited)(void *user, promo_table *rows, promo_error *err);
  void *on_edited_user;

  promo_plan_objective objective;
  promo_plan_economics economics;
  promo_plan_limits limits;
  promo_plan_solve_options solve;
  size_t n_top_units;            /* entries of "top_units", default 20 */
} promo_plan_job;

/* Defaults: profit, baseline "none", option column "option", no limits (stock caps
 * when a stock column is given), fast solver, redemption 1, no fee, 20 top units. */
void promo_plan_job_init(promo_plan_job *job);

/* The outcome of a job: the chosen option of every unit with its numbers, and the
 * comparisons of the summary. Opaque; read it through the functions below. */
typedef struct promo_plan_result promo_plan_result;

/* Load the inputs, build and predict the candidates, compute values and costs, solve,
 * and compute the baselines. Progress and decisions (defaulted columns, skipped rows,
 * options filtered by margin or stock) go to ctx's log.
 * Errors: PROMO_ERR_USAGE for contradicting or missing settings (no candidates, a
 * column not in the file, a model without a price for a money objective, an option
 * that sets no column the model reads); PROMO_ERR_DATA for bad values (with path, line
 * and column) and for limits that cannot be met (naming the limit); the errors of
 * loading, prediction and promo_plan_solve. On success *out owns the result. */
promo_status promo_plan_run(const promo_plan_job *job, const promo_context *ctx,
                            promo_plan_result **out, promo_error *err);

void promo_plan_result_free(promo_plan_result *result);

/* The result's solution. Its choice indices refer to the result's internal problem rows. */
const promo_plan_solution *promo_plan_result_solution(const promo_plan_result *result);

/* Write plan.csv atomically, one row per unit. Columns: unit, group (when grouped),
 * option, predicted (the model's output before any stock cap, empty without a model),
 * spend, value and baseline_value (the chosen and the baseline option's value under the
 * objective without "incremental"; baseline_value is empty when the unit has no baseline
 * row) and value_gain (value - baseline_value). with_bom adds a UTF-8 BOM. */
promo_status promo_plan_write_csv(const promo_plan_result *result, const char *path,
                                  bool with_bom, promo_error *err);

/* The summary as a new JSON object (caller's reference), with the keys objective,
 * solver, value, bound, gap, solve_ms, is_optimal, n_units, n_options, n_promoted,
 * spend {budget, limit, constraints: [{name, used, limit}]}, baselines {none {value,
 * spend, units}, same_option [{option, value, spend, units, n_units}] (targeted to the
 * best units), same_option_random [the same keys] (units drawn at random, expected)}, by_option
 * [{option, n_units, value, spend}], by_group [{group, spend, value}] (with groups only),
 * top_units [{unit, option, value, spend}] and response [{option, n, mean_prediction,
 * mean_value, mean_spend}] (every candidate row of the option, chosen or not). "units" is the summed prediction (null
 * without a model). NULL when out of memory. */
json_t *promo_plan_summary_json(const promo_plan_result *result);

/* Write the summary JSON to path atomically, indented. */
promo_status promo_plan_write_json(const promo_plan_result *result, const char *path,
                                   promo_error *err);

#ifdef __cplusplus
}
#endif
#endif
