/* Unit tests of the plan stage: the solvers against brute-force enumeration and against
 * each other, hand-checked knapsack cases, infeasible limits, the option list parser and
 * the planning job on small CSV fixtures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "promo/plan.h"

/* ===================================================================== helpers */

/* A random problem with its own storage. */
typedef struct test_problem {
  promo_plan_problem p;
  size_t option_start[64];
  double value[512];
  double cost[512 * 3];
  int32_t group[64];
  promo_plan_constraint constraints[8];
} test_problem;

/* xorshift64*, so the instances are the same on every machine. */
static uint64_t next_random(uint64_t *state) {
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return *state * 2685821657736338717ull;
}

static double uniform(uint64_t *state) { return (double)(next_random(state) >> 11) / 9007199254740992.0; }

/* Units with a free "none" option (value 0, cost 0) and n_options - 1 promotions whose
 * values and costs are random whole numbers, as in the job's incremental problems. Kind
 * 0: one budget; 1: budgets per group; 2: a budget, per-group budgets and a count. */
static void make_problem(test_problem *t, size_t n_units, size_t n_options, int kind, uint64_t seed) {
  memset(t, 0, sizeof *t);
  uint64_t s = seed * 7919 + 1;
  size_t j = 0;
  for (size_t u = 0; u < n_units; u++) {
    t->option_start[u] = j;
    t->group[u] = (int32_t)(u % 2);
    for (size_t k = 0; k < n_options; k++, j++) {
      double spend = k == 0 ? 0.0 : floor(1 + 20 * uniform(&s));
      t->value[j] = k == 0 ? 0.0 : floor(-5 + 30 * uniform(&s));
      t->cost[j * 3 + 0] = spend;
      t->cost[j * 3 + 1] = k == 0 ? 0.0 : 1.0;
      t->cost[j * 3 + 2] = k == 0 ? 0.0 : floor(1 + 5 * uniform(&s));
    }
  }
  t->option_start[n_units] = j;
  double total = 0;
  for (size_t i = 0; i < j; i++) total += t->cost[i * 3];
  size_t m = 0;
  if (kind == 0 || kind == 2)
    t->constraints[m++] = (promo_plan_constraint){"budget", 0, -1, floor(total / n_options * 0.7)};
  if (kind == 1 || kind == 2) {
    t->constraints[m++] = (promo_plan_constraint){"budget[a]", 0, 0, floor(total / n_options * 0.3)};
    t->constraints[m++] = (promo_plan_constraint){"budget[b]", 0, 1, floor(total / n_options * 0.25)};
  }
  if (kind == 2) {
    t->constraints[m++] = (promo_plan_constraint){"max_promoted", 1, -1, floor(n_units * 0.6)};
    t->constraints[m++] = (promo_plan_constraint){"slots", 2, -1, floor(n_units * 1.5)};
  }
  t->p = (promo_plan_problem){n_units, t->option_start, t->value, 3, t->cost, t->group, m, t->constraints};
}

/* Best value over every plan by enumeration; -INFINITY when no plan is feasible. */
static double brute_force(const promo_plan_problem *p) {
  size_t choice[64] = {0}, n = p->n_units;
  double best = -INFINITY;
  for (;;) {
    double value = 0;
    bool ok = true;
    for (size_t c = 0; c < p->n_constraints && ok; c++) {
      double used = 0;
      for (size_t u = 0; u < n; u++) {
        int32_t g = p->constraints[c].group;
        if (g == -1 || p->unit_group[u] == g)
          used += p->cost[(p->option_start[u] + choice[u]) * p->n_resources + p->constraints[c].resource];
      }
      ok = used <= p->constraints[c].limit + 1e-9;
    }
    for (size_t u = 0; u < n; u++) value += p->value[p->option_start[u] + choice[u]];
    if (ok && value > best) best = value;
    size_t u = 0;
    while (u < n && ++choice[u] == p->option_start[u + 1] - p->option_start[u]) choice[u++] = 0;
    if (u == n) return best;
  }
}

/* Check that a solution meets every limit and that its value is its plan's. */
static void assert_plan_valid(const promo_plan_problem *p, const promo_plan_solution *s) {
  double value = 0;
  for (size_t u = 0; u < p->n_units; u++) {
    assert_true(s->choice[u] >= p->option_start[u] && s->choice[u] < p->option_start[u + 1]);
    value += p->value[s->choice[u]];
  }
  assert_float_equal(value, s->value, 1e-9);
  for (size_t c = 0; c < p->n_constraints; c++) {
    double used = 0;
    for (size_t u = 0; u < p->n_units; u++) {
      int32_t g = p->constraints[c].group;
      if (g == -1 || p->unit_group[u] == g)
        used += p->cost[s->choice[u] * p->n_resources + p->constraints[c].resource];
    }
    assert_float_equal(used, s->usage[c], 1e-9);
    assert_true(used <= p->constraints[c].limit + 1e-9);
  }
}

static void solve_with(const promo_plan_problem *p, promo_plan_solver solver, promo_plan_solution *s) {
  promo_plan_solve_options opt;
  promo_plan_solve_options_init(&opt);
  opt.solver = solver;
  opt.mip_gap = 0.0;
  promo_error err;
  promo_error_clear(&err);
  promo_status st = promo_plan_solve(p, &opt, NULL, s, &err);
  if (st != PROMO_OK) fail_msg("solve failed: %s", err.message);
  assert_plan_valid(p, s);
}

/* ===================================================================== solver */

static void test_mckp_hand_case(void **state) {
  (void)state;
  /* Unit 0: (0,0) (2,6) (4,8) (5,8.5), hull slopes 3, 1, 0.5; unit 1: (0,0) (3,3) (6,9),
   * where (3,3) is LP-dominated, so its hull is one step of slope 1.5. Budget 7: the
   * greedy takes unit 0's first step (2), and unit 1's step (6) does not fit in the 5
   * left, so LP = 6 + 9 * 5/6 = 13.5. The integer optimum is (4,8) + (3,3) = 11. */
  size_t start[] = {0, 4, 7};
  double value[] = {0, 6, 8, 8.5, 0, 3, 9};
  double cost[] = {0, 2, 4, 5, 0, 3, 6};
  promo_plan_constraint budget = {"budget", 0, -1, 7};
  promo_plan_problem p = {2, start, value, 1, cost, NULL, 1, &budget};
  promo_plan_solution s;
  solve_with(&p, PROMO_PLAN_SOLVER_FAST, &s);
  assert_float_equal(s.bound, 13.5, 1e-12);
  assert_float_equal(s.value, 11.0, 1e-12);
  assert_float_equal(s.gap, 2.5 / 13.5, 1e-12);
  assert_int_equal(s.choice[0], 2);
  assert_int_equal(s.choice[1], 5);
  promo_plan_solution_clear(&s);
  solve_with(&p, PROMO_PLAN_SOLVER_EXACT, &s);
  assert_float_equal(s.value, 11.0, 1e-12);
  assert_true(s.is_optimal);
  promo_plan_solution_clear(&s);
}

static void test_mckp_big_fractional_unit(void **state) {
  (void)state;
  /* Unit 0: (0,0) (1,2), slope 2; unit 1: (0,0) (5,8), slope 1.6. Budget 5: the greedy
   * takes unit 0's step and unit 1's step is the fractional one (LP = 2 + 8 * 4/5 = 8.4).
   * Dropping it leaves 2, but taking it whole and undoing unit 0 gives the optimum 8. */
  size_t start[] = {0, 2, 4};
  double value[] = {0, 2, 0, 8};
  double cost[] = {0, 1, 0, 5};
  promo_plan_constraint budget = {"budget", 0, -1, 5};
  promo_plan_problem p = {2, start, value, 1, cost, NULL, 1, &budget};
  promo_plan_solution s;
  solve_with(&p, PROMO_PLAN_SOLVER_FAST, &s);
  assert_float_equal(s.bound, 8.4, 1e-12);
  assert_float_equal(s.value, 8.0, 1e-12);
  assert_int_equal(s.choice[0], 0);
  assert_int_equal(s.choice[1], 3);
  promo_plan_solution_clear(&s);
}

static void test_no_limits_best_option(void **state) {
  (void)state;
  size_t start[] = {0, 3, 5};
  double value[] = {1, 5, 5, -2, -1};
  promo_plan_problem p = {2, start, value, 0, NULL, NULL, 0, NULL};
  promo_plan_solution s;
  solve_with(&p, PROMO_PLAN_SOLVER_FAST, &s);
  assert_int_equal(s.choice[0], 1); /* first of the tied best */
  assert_int_equal(s.choice[1], 4);
  assert_float_equal(s.value, 4.0, 0);
  assert_float_equal(s.gap, 0.0, 0);
  assert_true(s.is_optimal);
  promo_plan_solution_clear(&s);
}

static void test_brute_force_equals_exact(void **state) {
  (void)state;
  for (int kind = 0; kind < 3; kind++) {
    for (uint64_t seed = 1; seed <= 12; seed++) {
      test_problem t;
      make_problem(&t, 6, 3 + seed % 2, kind, seed);
      double best = brute_force(&t.p);
      promo_plan_solution s;
      solve_with(&t.p, PROMO_PLAN_SOLVER_EXACT, &s);
      assert_float_equal(s.value, best, 1e-9);
      assert_true(s.is_optimal);
      promo_plan_solution_clear(&s);
    }
  }
}

static void test_fast_within_its_bound(void **state) {
  (void)state;
  for (int kind = 0; kind < 3; kind++) {
    for (uint64_t seed = 1; seed <= 20; seed++) {
      test_problem t;
      make_problem(&t, 40, 4 + seed % 4, kind, seed + 100);
      promo_plan_solution fast, exact;
      solve_with(&t.p, PROMO_PLAN_SOLVER_FAST, &fast);
      solve_with(&t.p, PROMO_PLAN_SOLVER_EXACT, &exact);
      assert_true(exact.is_optimal);
      /* The fast bound is an upper bound on the optimum ... */
      assert_true(fast.bound >= exact.value - 1e-9);
      /* ... so the fast plan is within its reported gap of the optimum. */
      if (!(fast.value >= exact.value - fast.gap * fabs(fast.bound) - 1e-9))
        fail_msg("kind %d seed %d: fast %.17g bound %.17g gap %.17g exact %.17g", kind, (int)seed,
                 fast.value, fast.bound, fast.gap, exact.value);
      assert_true(fast.value <= exact.value + 1e-9);
      assert_true(fast.gap >= 0);
      promo_plan_solution_clear(&fast);
      promo_plan_solution_clear(&exact);
    }
  }
}

static void test_single_budget_lp_bound_tight(void **state) {
  (void)state;
  /* With one budget the fast bound is the LP optimum, which GLPK's LP relaxation gives
   * too; the exact solver never reports a bound above it. */
  for (uint64_t seed = 1; seed <= 10; seed++) {
    test_problem t;
    make_problem(&t, 50, 6, 0, seed + 500);
    promo_plan_solution fast, exact;
    solve_with(&t.p, PROMO_PLAN_SOLVER_FAST, &fast);
    solve_with(&t.p, PROMO_PLAN_SOLVER_EXACT, &exact);
    assert_true(exact.bound <= fast.bound + 1e-9);
    /* The LP leaves one fractional unit, so the gap is below one unit's largest value. */
    assert_true(fast.bound - fast.value <= 25.0 + 1e-9);
    promo_plan_solution_clear(&fast);
    promo_plan_solution_clear(&exact);
  }
}

static void test_results_deterministic(void **state) {
  (void)state;
  test_problem t;
  make_problem(&t, 60, 8, 2, 77);
  promo_plan_solution a, b;
  solve_with(&t.p, PROMO_PLAN_SOLVER_FAST, &a);
  solve_with(&t.p, PROMO_PLAN_SOLVER_FAST, &b);
  assert_memory_equal(a.choice, b.choice, t.p.n_units * sizeof *a.choice);
  assert_true(a.bound == b.bound);
  promo_plan_solution_clear(&a);
  promo_plan_solution_clear(&b);
}

static void test_infeasible_limit_named(void **state) {
  (void)state;
  /* Every option of each unit costs at least 2, so 2 units need 4 > 3. */
  size_t start[] = {0, 2, 4};
  double value[] = {1, 2, 1, 2};
  double cost[] = {2, 3, 2, 5};
  promo_plan_constraint limit = {"stock_total", 0, -1, 3};
  promo_plan_problem p = {2, start, value, 1, cost, NULL, 1, &limit};
  for (int solver = 0; solver < 2; solver++) {
    promo_plan_solve_options opt;
    promo_plan_solve_options_init(&opt);
    opt.solver = (promo_plan_solver)solver;
    promo_plan_solution s;
    promo_error err;
    promo_error_clear(&err);
    assert_int_equal(promo_plan_solve(&p, &opt, NULL, &s, &err), PROMO_ERR_DATA);
    assert_non_null(strstr(err.message, "stock_total"));
    assert_non_null(strstr(err.message, "4"));
    assert_null(s.choice);
  }
}

static void test_malformed_problem_rejected(void **state) {
  (void)state;
  size_t start[] = {0, 0};
  double value[] = {0};
  promo_plan_problem p = {1, start, value, 0, NULL, NULL, 0, NULL};
  promo_plan_solution s;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_plan_solve(&p, NULL, NULL, &s, &err), PROMO_ERR_USAGE);
  size_t start2[] = {0, 1};
  double nan_value[] = {NAN};
  promo_plan_problem q = {1, start2, nan_value, 0, NULL, NULL, 0, NULL};
  assert_int_equal(promo_plan_solve(&q, NULL, NULL, &s, &err), PROMO_ERR_USAGE);
}

/* ===================================================================== options */

static promo_plan_option_list *parse_ok(const char *text) {
  promo_plan_option_list *list = NULL;
  promo_error err;
  promo_error_clear(&err);
  promo_status st = promo_plan_options_parse(text, &list, &err);
  if (st != PROMO_OK) fail_msg("parse of '%s' failed: %s", text, err.message);
  return list;
}

static void test_options_offer_texts(void **state) {
  (void)state;
  promo_plan_option_list *list = parse_ok("none;9折;8折;满200减30;赠品:15;限时秒杀");
  assert_int_equal(promo_plan_option_list_size(list), 6);
  const promo_plan_option *o = promo_plan_option_list_items(list);
  assert_string_equal(o[0].name, "none");
  assert_string_equal(o[0].offer, "none");
  assert_string_equal(o[4].name, "赠品:15");
  assert_string_equal(o[4].offer, "赠品:15");
  assert_int_equal(o[4].n_edits, 0);
  assert_string_equal(o[5].offer, "限时秒杀");
  promo_plan_option_list_free(list);
}

static void test_options_edits(void **state) {
  (void)state;
  promo_plan_option_list *list =
      parse_ok(" mens : segment=Mens E-Mail ；sale: price*=0.8, deal=1,feat = 1;8折：price+=-5");
  assert_int_equal(promo_plan_option_list_size(list), 3);
  const promo_plan_option *o = promo_plan_option_list_items(list);
  assert_string_equal(o[0].name, "mens");
  assert_null(o[0].offer);
  assert_int_equal(o[0].n_edits, 1);
  assert_string_equal(o[0].edits[0].column, "segment");
  assert_int_equal(o[0].edits[0].kind, PROMO_PLAN_EDIT_SET);
  assert_string_equal(o[0].edits[0].text, "Mens E-Mail");
  assert_int_equal(o[1].n_edits, 3);
  assert_int_equal(o[1].edits[0].kind, PROMO_PLAN_EDIT_SCALE);
  assert_float_equal(o[1].edits[0].number, 0.8, 0);
  assert_string_equal(o[1].edits[2].column, "feat");
  assert_string_equal(o[1].edits[2].text, "1");
  assert_string_equal(o[2].offer, "8折");
  assert_int_equal(o[2].edits[0].kind, PROMO_PLAN_EDIT_ADD);
  assert_float_equal(o[2].edits[0].number, -5.0, 0);
  promo_plan_option_list_free(list);
}

static void test_options_rejected(void **state) {
  (void)state;
  static const struct {
    const char *text, *message_part;
  } cases[] = {
      {"", "empty"},
      {"none;;8折", "empty"},
      {"8折;8折", "twice"},
      {"hello", "hello"},
      {"x: =3", "column"},
      {"x: price*=abc", "abc"},
      {"x: price*=1e400", "1e400"},
      {"x: price", "price"},
      {"x: a=1,,b=2", "empty"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    promo_plan_option_list *list = NULL;
    promo_error err;
    promo_error_clear(&err);
    promo_status st = promo_plan_options_parse(cases[k].text, &list, &err);
    if (st != PROMO_ERR_USAGE) fail_msg("'%s' gave status %d", cases[k].text, (int)st);
    assert_null(list);
    if (strstr(err.message, cases[k].message_part) == NULL)
      fail_msg("'%s': message '%s' lacks '%s'", cases[k].text, err.message, cases[k].message_part);
  }
}

/* ===================================================================== job */

static void test_job_candidates_budget(void **state) {
  (void)state;
  promo_plan_job job;
  promo_plan_job_init(&job);
  const char *costs[] = {"spend"};
  job.candidates_path = PROMO_TEST_DATA "/plan/candidates.csv";
  job.unit_column = "unit";
  job.value_column = "profit";
  job.cost_columns = costs;
  job.n_cost_columns = 1;
  job.limits.budget = 60;
  job.solve.solver = PROMO_PLAN_SOLVER_EXACT;
  promo_plan_result *result = NULL;
  promo_error err;
  promo_error_clear(&err);
  promo_status st = promo_plan_run(&job, NULL, &result, &err);
  if (st != PROMO_OK) fail_msg("run failed: %s", err.message);
  /* 1024 is the brute-force optimum in plan/expected.json (plan/make_fixtures.py). */
  assert_float_equal(promo_plan_result_solution(result)->value, 1024.0, 1e-6);

  json_t *summary = promo_plan_summary_json(result);
  assert_non_null(summary);
  assert_string_equal(json_string_value(json_object_get(summary, "objective")), "profit");
  assert_int_equal(json_integer_value(json_object_get(summary, "n_units")), 8);
  assert_int_equal(json_integer_value(json_object_get(summary, "n_options")), 3);
  const json_t *none = json_object_get(json_object_get(summary, "baselines"), "none");
  assert_float_equal(json_real_value(json_object_get(none, "value")), 862.0, 1e-9);
  assert_true(json_is_null(json_object_get(none, "units")));
  const json_t *spend = json_object_get(summary, "spend");
  assert_true(json_real_value(json_object_get(spend, "budget")) <= 60.0);
  assert_float_equal(json_real_value(json_object_get(spend, "limit")), 60.0, 0);
  assert_int_equal(json_array_size(json_object_get(json_object_get(summary, "baselines"), "same_option")), 2);
  assert_int_equal(json_array_size(json_object_get(summary, "top_units")), 8);
  json_decref(summary);

  char path[] = PROMO_BUILD_DIR "/test_plan_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(promo_plan_write_csv(result, path, false, &err), PROMO_OK);
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  char line[256];
  assert_non_null(fgets(line, sizeof line, fp));
  assert_string_equal(line, "unit,option,predicted,spend,value,baseline_value,value_gain\n");
  size_t n_lines = 0;
  while (fgets(line, sizeof line, fp) != NULL) n_lines++;
  assert_int_equal(n_lines, 8);
  fclose(fp);
  remove(path);
  promo_plan_result_free(result);
}

static void test_job_missing_value_column(void **state) {
  (void)state;
  promo_plan_job job;
  promo_plan_job_init(&job);
  job.candidates_path = PROMO_TEST_DATA "/plan/candidates.csv";
  job.unit_column = "unit";
  job.value_column = "margin";
  promo_plan_result *result = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_plan_run(&job, NULL, &result, &err), PROMO_ERR_USAGE);
  assert_null(result);
  assert_non_null(strstr(err.message, "margin"));
  assert_non_null(strstr(err.message, "--value"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mckp_hand_case),
      cmocka_unit_test(test_mckp_big_fractional_unit),
      cmocka_unit_test(test_no_limits_best_option),
      cmocka_unit_test(test_brute_force_equals_exact),
      cmocka_unit_test(test_fast_within_its_bound),
      cmocka_unit_test(test_single_budget_lp_bound_tight),
      cmocka_unit_test(test_results_deterministic),
      cmocka_unit_test(test_infeasible_limit_named),
      cmocka_unit_test(test_malformed_problem_rejected),
      cmocka_unit_test(test_options_offer_texts),
      cmocka_unit_test(test_options_edits),
      cmocka_unit_test(test_options_rejected),
      cmocka_unit_test(test_job_candidates_budget),
      cmocka_unit_test(test_job_missing_value_column),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
