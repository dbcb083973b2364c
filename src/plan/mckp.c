/* Plan stage: the multiple-choice knapsack with one limit, solved through its LP
 * relaxation (Sinha and Zoltners, "The multiple-choice knapsack problem", Operations
 * Research 27(3), 1979). Once dominated and LP-dominated options are removed, each unit's
 * options form the upper convex hull of its (cost, value) points. The LP optimum takes
 * the hull steps of all units greedily by value gained per cost until the limit is
 * reached, which leaves at most one unit between two options. Kellerer, Pferschy and
 * Pisinger, "Knapsack Problems" (Springer 2004), ch. 11, gives the same greedy. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "plan/solve_internal.h"

/* One step along a unit's hull: from option `from` to option `to`. */
typedef struct hull_step {
  double slope;       /* value gained per cost, > 0 */
  double dcost, dvalue;
  size_t unit;
  size_t from, to;
  size_t rank;        /* position along the unit's hull, for ties */
} hull_step;

static int compare_steps(const void *a, const void *b) {
  const hull_step *x = a, *y = b;
  if (x->slope != y->slope) return x->slope > y->slope ? -1 : 1;
  if (x->unit != y->unit) return x->unit < y->unit ? -1 : 1;
  return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/* Options of one unit ordered by cost ascending, value descending, index. */
typedef struct hull_point {
  double cost, value;
  size_t option;
} hull_point;

static int compare_points(const void *a, const void *b) {
  const hull_point *x = a, *y = b;
  if (x->cost != y->cost) return x->cost < y->cost ? -1 : 1;
  if (x->value != y->value) return x->value > y->value ? -1 : 1;
  return x->option < y->option ? -1 : x->option > y->option;
}

/* Build unit u's hull under constraint c in pts (scratch of the unit's option count),
 * append its steps to steps[*n_steps..] and return the hull's first point, the cheapest
 * option with the highest value. */
static size_t unit_hull(const plan_view *v, size_t u, size_t c, hull_point *pts, hull_step *steps,
                        size_t *n_steps) {
  const promo_plan_problem *p = v->p;
  size_t n = 0;
  for (size_t j = p->option_start[u]; j < p->option_start[u + 1]; j++)
    pts[n++] = (hull_point){plan_cost(v, j, c), p->value[j], j};
  qsort(pts, n, sizeof *pts, compare_points);

  /* Dominated options (no cheaper, no more valuable) go; then the upper hull keeps a
   * point only while slopes strictly decrease (LP-dominated points go). */
  size_t h = 0;
  for (size_t i = 0; i < n; i++) {
    if (h > 0 && pts[i].value <= pts[h - 1].value) continue;
    while (h >= 2) {
      const hull_point *a = &pts[h - 2], *b = &pts[h - 1], *q = &pts[i];
      double left = (b->value - a->value) * (q->cost - b->cost);
      double right = (q->value - b->value) * (b->cost - a->cost);
      if (left > right) break;
      h--;
    }
    pts[h++] = pts[i];
  }
  for (size_t k = 1; k < h; k++) {
    double dc = pts[k].cost - pts[k - 1].cost, dv = pts[k].value - pts[k - 1].value;
    steps[(*n_steps)++] = (hull_step){dv / dc, dc, dv, u, pts[k - 1].option, pts[k].option, k};
  }
  return pts[0].option;
}

/* Best option of an unconstrained unit: highest value, lowest index on ties. */
static size_t best_option(const promo_plan_problem *p, size_t u) {
  size_t best = p->option_start[u];
  for (size_t j = best + 1; j < p->option_start[u + 1]; j++)
    if (p->value[j] > p->value[best]) best = j;
  return best;
}

/* Spend what the LP left unused. With go_on, the greedy first goes on past the break:
 * every later step that starts at its unit's current option and still fits is taken, in order
 * of value per cost. Then each unit, in greedy order, moves to the most valuable of its
 * options that still fits. */
static void fill_remaining(const plan_view *v, size_t c, const hull_step *steps, size_t first,
                           size_t n_steps, bool go_on, size_t *choice, double *remaining, double *value) {
  const promo_plan_problem *p = v->p;
  for (size_t s = first; go_on && s < n_steps && *remaining > 0; s++) {
    if (choice[steps[s].unit] != steps[s].from || steps[s].dcost > *remaining) continue;
    choice[steps[s].unit] = steps[s].to;
    *remaining -= steps[s].dcost;
    *value += steps[s].dvalue;
  }
  for (size_t s = first; s < n_steps && *remaining > 0; s++) {
    size_t u = steps[s].unit, from = choice[u], best = from;
    for (size_t j = p->option_start[u]; j < p->option_start[u + 1]; j++) {
      double extra = plan_cost(v, j, c) - plan_cost(v, from, c);
      if (extra <= *remaining && p->value[j] > p->value[best]) best = j;
    }
    if (best == from) continue;
    *remaining -= plan_cost(v, best, c) - plan_cost(v, from, c);
    *value += p->value[best] - p->value[from];
    choice[u] = best;
  }
}

/* The other integer plan around the LP's fractional step s: take that step whole, undo
 * the steps taken last (lowest value per cost first) until the plan is within the limit
 * again, and spend what is left. Dropping the fractional unit loses badly when that one
 * unit is worth more than many small ones. This plan covers that case, as the classic knapsack
 * heuristic compares the greedy plan with the best single item (Kellerer, Pferschy and
 * Pisinger, section 2.5). choice holds the greedy state before its fill pass. */
static double take_fractional(const plan_view *v, size_t c, const hull_step *steps, size_t s, size_t n_steps,
                              size_t *choice, double remaining, double total) {
  double tolerance = v->slack_tolerance[c];
  size_t u = steps[s].unit;
  choice[u] = steps[s].to;
  remaining -= steps[s].dcost;
  total += steps[s].dvalue;
  for (size_t k = s; k-- > 0 && remaining < -tolerance;) {
    if (steps[k].unit == u || choice[steps[k].unit] != steps[k].to) continue;
    choice[steps[k].unit] = steps[k].from;
    remaining += steps[k].dcost;
    total -= steps[k].dvalue;
  }
  if (remaining < -tolerance) return -INFINITY; /* the step alone breaks the limit */
  remaining += tolerance;
  fill_remaining(v, c, steps, 0, n_steps, true, choice, &remaining, &total);
  return total;
}

/* The integer plans tried from the LP's greedy state, of which the best is kept: the
 * fill pass alone, the greedy going on past the break, and the fractional step taken. */
enum { PLAN_FILL, PLAN_GO_ON, PLAN_FRACTIONAL, PLAN_N_TRIES };

/* Solve constraint c over its units (units[0..n_units)). */
static promo_status solve_one(const plan_view *v, size_t c, const size_t *units, size_t n_units,
                              size_t *choice, double *value, double *bound, promo_error *err) {
  const promo_plan_problem *p = v->p;
  size_t n_options = 0, max_options = 0;
  for (size_t i = 0; i < n_units; i++) {
    size_t k = p->option_start[units[i] + 1] - p->option_start[units[i]];
    n_options += k;
    if (k > max_options) max_options = k;
  }
  hull_point *pts = malloc((max_options + 1) * sizeof *pts);
  hull_step *steps = malloc((n_options + 1) * sizeof *steps);
  if (pts == NULL || steps == NULL) {
    free(pts);
    free(steps);
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  }

  size_t n_steps = 0;
  double used = 0.0, total = 0.0;
  for (size_t i = 0; i < n_units; i++) {
    size_t u = units[i];
    choice[u] = unit_hull(v, u, c, pts, steps, &n_steps);
    used += plan_cost(v, choice[u], c);
    total += p->value[choice[u]];
  }
  qsort(steps, n_steps, sizeof *steps, compare_steps);

  /* Greedy over the steps; the first step that does not fit is the LP's fractional unit. */
  double remaining = p->constraints[c].limit - used, lp = total, tolerance = v->slack_tolerance[c];
  size_t s = 0;
  for (; s < n_steps; s++) {
    if (steps[s].dcost > remaining + tolerance) {
      lp = total + steps[s].dvalue * (remaining > 0 ? remaining / steps[s].dcost : 0.0);
      break;
    }
    remaining -= steps[s].dcost;
    total += steps[s].dvalue;
    choice[steps[s].unit] = steps[s].to;
    lp = total;
  }
  /* Each try starts from the greedy state (start) and leaves its plan in tried; the most
   * valuable one is copied back into choice. */
  size_t *start = malloc((2 * n_units + 1) * sizeof *start), *tried = start + n_units;
  if (start == NULL) {
    free(pts);
    free(steps);
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  }
  for (size_t i = 0; i < n_units; i++) start[i] = choice[units[i]];
  double best = -INFINITY;
  for (int t = 0; t < PLAN_N_TRIES; t++) {
    if (t == PLAN_FRACTIONAL && s == n_steps) break;
    for (size_t i = 0; i < n_units; i++) choice[units[i]] = start[i];
    double left = remaining + tolerance, got = total;
    if (t == PLAN_FRACTIONAL) got = take_fractional(v, c, steps, s, n_steps, choice, remaining, total);
    else fill_remaining(v, c, steps, s, n_steps, t == PLAN_GO_ON, choice, &left, &got);
    if (got <= best) continue;
    best = got;
    for (size_t i = 0; i < n_units; i++) tried[i] = choice[units[i]];
  }
  for (size_t i = 0; i < n_units; i++) choice[units[i]] = tried[i];
  *value += best;
  *bound += lp;
  free(start);
  free(pts);
  free(steps);
  return PROMO_OK;
}

promo_status plan_solve_separable(const plan_view *v, size_t *choice, double *value, double *bound,
                                  promo_error *err) {
  const promo_plan_problem *p = v->p;
  *value = 0.0;
  *bound = 0.0;
  size_t *units = malloc((p->n_units + 1) * sizeof *units);
  if (units == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));

  /* Units under no limit take their best option. */
  for (size_t u = 0; u < p->n_units; u++) {
    if (v->cover_start[u + 1] > v->cover_start[u]) continue;
    choice[u] = best_option(p, u);
    *value += p->value[choice[u]];
    *bound += p->value[choice[u]];
  }
  promo_status st = PROMO_OK;
  for (size_t c = 0; c < p->n_constraints && st == PROMO_OK; c++) {
    size_t n = 0;
    for (size_t u = 0; u < p->n_units; u++)
      if (v->cover_start[u + 1] > v->cover_start[u] && v->cover[v->cover_start[u]] == c) units[n++] = u;
    st = solve_one(v, c, units, n, choice, value, bound, err);
  }
  free(units);
  return st;
}
