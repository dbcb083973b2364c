/* Benchmark of the plan solvers on a random multiple-choice knapsack of N units x K
 * options with one budget. The fast solver prints its time, value, LP bound and gap. With
 * --scan, the exact solver (GLPK) then solves the first n units of the same instance for
 * n = 1000, 2000, 4000, ... until it misses the time limit.
 * Usage: bench_plan [N=100000] [K=8] [--scan SECONDS] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promo/plan.h"

/* xorshift64*, fixed seed: the same instance on every run. */
static uint64_t next_random(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ull;
}

static double uniform(uint64_t *s) { return (double)(next_random(s) >> 11) / 9007199254740992.0; }

typedef struct instance {
  size_t n_units, n_options;
  size_t *start;
  double *value, *cost;
} instance;

/* Option 0 is "none" (0, 0); deeper promotions cost more and gain less per yuan, with
 * noise, as uplift curves do: value = a * spend^0.7 * noise, a varying by unit. */
static int make_instance(instance *in, size_t n_units, size_t n_options) {
  in->n_units = n_units;
  in->n_options = n_options;
  in->start = malloc((n_units + 1) * sizeof *in->start);
  in->value = malloc(n_units * n_options * sizeof *in->value);
  in->cost = malloc(n_units * n_options * sizeof *in->cost);
  if (!in->start || !in->value || !in->cost) return -1;
  uint64_t s = 42;
  for (size_t u = 0; u < n_units; u++) {
    in->start[u] = u * n_options;
    double a = 0.5 + 2.0 * uniform(&s), unit_price = 10 + 90 * uniform(&s);
    for (size_t k = 0; k < n_options; k++) {
      size_t j = u * n_options + k;
      double spend = k == 0 ? 0.0 : unit_price * 0.05 * (double)k * (0.8 + 0.4 * uniform(&s));
      in->cost[j] = spend;
      in->value[j] = k == 0 ? 0.0 : a * pow(spend, 0.7) * (0.7 + 0.6 * uniform(&s)) - 0.2 * spend;
    }
  }
  in->start[n_units] = n_units * n_options;
  return 0;
}

/* Solve the first n units with a budget of 20% of their total top-option spend. */
static int solve(const instance *in, size_t n, promo_plan_solver solver, double time_limit,
                 promo_plan_solution *out) {
  double top = 0;
  for (size_t u = 0; u < n; u++) top += in->cost[u * in->n_options + in->n_options - 1];
  promo_plan_constraint budget = {"budget", 0, -1, 0.2 * top};
  promo_plan_problem p = {n, in->start, in->value, 1, in->cost, NULL, 1, &budget};
  promo_plan_solve_options opt;
  promo_plan_solve_options_init(&opt);
  opt.solver = solver;
  opt.time_limit_s = time_limit;
  opt.mip_gap = 1e-6;
  promo_error err;
  promo_error_clear(&err);
  if (promo_plan_solve(&p, &opt, NULL, out, &err) != PROMO_OK) {
    fprintf(stderr, "bench_plan: %s\n", err.message);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  size_t n_units = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
  size_t n_options = argc > 2 ? strtoul(argv[2], NULL, 10) : 8;
  double scan_seconds = argc > 4 && strcmp(argv[3], "--scan") == 0 ? atof(argv[4]) : 0;
  instance in;
  if (n_units == 0 || n_options == 0 || make_instance(&in, n_units, n_options) != 0) return 1;

  /* The fast solver, best of 5 runs. */
  double best_ms = INFINITY;
  promo_plan_solution s;
  for (int run = 0; run < 5; run++) {
    if (solve(&in, n_units, PROMO_PLAN_SOLVER_FAST, 0, &s) != 0) return 1;
    if (s.solve_ms < best_ms) best_ms = s.solve_ms;
    if (run < 4) promo_plan_solution_clear(&s);
  }
  printf("fast units=%zu options=%zu solve_ms=%.1f value=%.6f bound=%.6f gap=%.3g\n", n_units, n_options, best_ms,
         s.value, s.bound, s.gap);
  promo_plan_solution_clear(&s);

  /* The exact solver on growing prefixes until one misses the time limit. */
  for (size_t n = 1000; scan_seconds > 0 && n <= n_units; n *= 2) {
    if (solve(&in, n, PROMO_PLAN_SOLVER_EXACT, scan_seconds, &s) != 0) return 1;
    printf("exact units=%zu options=%zu solve_ms=%.1f value=%.6f bound=%.6f gap=%.3g optimal=%d nodes=%zu\n", n,
           n_options, s.solve_ms, s.value, s.bound, s.gap, (int)s.is_optimal, s.n_iterations);
    fflush(stdout);
    bool finished = s.is_optimal && s.solve_ms < 1000.0 * scan_seconds;
    promo_plan_solution_clear(&s);
    if (!finished) break;
  }
  free(in.start);
  free(in.value);
  free(in.cost);
  return 0;
}
