/* Unit tests of the project module: reading the YAML project file of `promo run`, its
 * defaults, and the errors that name the key and the line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "project/project_internal.h"

/* Write text to a fresh project file under /tmp and return its path (static buffer). */
static const char *write_project(const char *text) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/promo_project_%d.yaml", (int)getpid());
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  assert_int_equal(fclose(fp), 0);
  return path;
}

/* Read text as a project; on failure return the status and leave the error in err. */
static promo_status read_text(const char *text, promo_project **p, promo_error *err) {
  promo_error_clear(err);
  *p = NULL;
  return promo_project_read(write_project(text), p, err);
}

static const char *const minimal =
    "sources:\n"
    "  data: sales.csv\n"
    "model:\n"
    "  target: units\n";

static void minimal_project_gets_defaults(void **state) {
  (void)state;
  promo_project *p;
  promo_error err;
  assert_int_equal(read_text(minimal, &p, &err), PROMO_OK);
  assert_string_equal(p->trainer.pipeline.target, "units");
  assert_string_equal(p->data_path, "/tmp/sales.csv"); /* relative to the project's folder */
  assert_true(p->clean);
  assert_int_equal(p->folds, 5);
  assert_true(p->test_share == 0.2);
  assert_int_equal(p->trainer.nn.n_hidden, 2);
  assert_int_equal(p->trainer.nn.hidden[0], 128);
  assert_false(p->has_plan);
  promo_project_free(p);
}

static void full_project_is_read(void **state) {
  (void)state;
  const char *text =
      "name: 橙汁促销\n"
      "sources: {data: data/oj.csv, calendar: /abs/holidays.csv}\n"
      "clean:\n"
      "  duplicates: false\n"
      "  keys: [store, brand, week]\n"
      "  missing: {price: median, deal: 0}\n"
      "derive:\n"
      "  units: exp(logmove)\n"
      "  price: pick(brand, price1, price2)\n"
      "features:\n"
      "  ignore: [logmove, profit]\n"
      "  id: store\n"
      "  transforms: {brand: onehot, store: index}\n"
      "model:\n"
      "  target: units\n"
      "  task: poisson\n"
      "  layers: [32, 16, 8]\n"
      "  epochs: 7\n"
      "  learning_rate: 0.003\n"
      "  seed: 7\n"
      "evaluation:\n"
      "  folds: 3\n"
      "  split: time\n"
      "  time: week\n"
      "  test_after: 148\n"
      "  test_column: week\n"
      "  seed: 11\n"
      "plan:\n"
      "  units: latest\n"
      "  latest: week\n"
      "  unit: [store, brand]\n"
      "  options:\n"
      "    - none\n"
      "    - 9折\n"
      "    - name: 8折+DM\n"
      "      set: {price: '*0.8', feat: 1}\n"
      "  objective: incremental_profit\n"
      "  margin: profit\n"
      "  budget: {total: 2000, '1': 500}\n"
      "  group: brand\n";
  promo_project *p;
  promo_error err;
  assert_int_equal(read_text(text, &p, &err), PROMO_OK);
  assert_string_equal(p->name, "橙汁促销");
  assert_string_equal(p->data_path, "/tmp/data/oj.csv");
  assert_string_equal(p->calendar_path, "/abs/holidays.csv");
  assert_false(p->clean_opt.remove_duplicates);
  assert_int_equal(p->clean_opt.key_columns.n_names, 3);
  assert_int_equal(p->n_missing, 2);
  assert_int_equal(p->missing[0].action, PROMO_MISSING_MEDIAN);
  assert_int_equal(p->missing[1].action, PROMO_MISSING_VALUE);
  assert_string_equal(p->missing[1].value, "0");
  assert_int_equal(p->n_derive, 2);
  assert_string_equal(p->derive_names[1], "price");
  assert_int_equal(p->derive_lines[1], 9);
  /* ids are not features either */
  assert_int_equal(p->trainer.pipeline.n_ignore, 3);
  assert_int_equal(p->n_rules, 2);
  assert_int_equal(p->trainer.nn.task, PROMO_TASK_POISSON);
  assert_int_equal(p->trainer.nn.n_hidden, 3);
  assert_int_equal(p->trainer.nn.hidden[2], 8);
  assert_int_equal(p->trainer.nn.seed, 7);
  assert_string_equal(p->test_after, "148");
  assert_true(p->has_split_seed);
  assert_int_equal(p->split_seed, 11);
  assert_true(p->test_share == 0);
  assert_true(p->has_plan);
  assert_int_equal(p->n_options, 3);
  assert_null(p->options[0].offer);
  assert_string_equal(p->options[1].offer, "9折");
  assert_int_equal(p->options[2].n_sets, 2);
  assert_string_equal(p->options[2].set_values[0], "*0.8");
  assert_int_equal(p->n_budgets, 2);
  assert_null(p->budgets[0].group);
  assert_true(p->budgets[0].amount == 2000);
  assert_string_equal(p->budgets[1].group, "1");
  promo_project_free(p);
}

/* The error names the key and points at its line and column. */
static void expect_error(const char *text, int64_t line, const char *needle) {
  promo_project *p;
  promo_error err;
  promo_status st = read_text(text, &p, &err);
  assert_int_not_equal(st, PROMO_OK);
  assert_null(p);
  if (strstr(err.message, needle) == NULL) fail_msg("message '%s' lacks '%s'", err.message, needle);
  if (line > 0) assert_int_equal(err.line, line);
  assert_non_null(strstr(err.path, "promo_project_"));
}

static void unknown_key_is_named_with_its_line(void **state) {
  (void)state;
  expect_error("sources:\n  data: a.csv\nmodel:\n  target: y\n  epoch: 3\n", 5, "unknown key 'epoch' in 'model'");
  expect_error("sources:\n  data: a.csv\nmodle:\n  target: y\n", 3, "modle");
}

static void wrong_types_are_named(void **state) {
  (void)state;
  expect_error("sources:\n  data: a.csv\nmodel:\n  target: y\n  epochs: ten\n", 5, "'epochs' must be a number");
  expect_error("sources:\n  data: a.csv\nmodel:\n  target: y\n  epochs: 2.5\n", 5, "whole number");
  expect_error("sources:\n  data: a.csv\nmodel:\n  target: [y]\n", 4, "'target' must be a single value");
  expect_error("sources:\n  data: a.csv\nmodel:\n  target: y\n  layers: 64\n", 5, "'layers' must be a list");
  expect_error("sources:\n  data: a.csv\nclean:\n  duplicates: maybe\n", 4, "true or false");
  expect_error("sources:\n  data: a.csv\nmodel:\n  target: y\n  valid: 1.5\n", 5, "between 0 and 0.9");
}

static void missing_and_contradicting_keys(void **state) {
  (void)state;
  expect_error("model:\n  target: y\n", 1, "needs 'sources'");
  expect_error("sources:\n  data: a.csv\n", 1, "needs 'model'");
  expect_error("sources:\n  data: a.csv\nmodel:\n  epochs: 3\n", 4, "needs 'target'");
  expect_error("sources:\n  data: a.csv\nmodel:\n  target: y\n  task: ranking\n", 5, "binary, regression or poisson");
  expect_error("sources:\n  data: a.csv\nmodel:\n  target: y\nevaluation:\n  folds: 1\n", 6, "at least 2");
  expect_error("sources:\n  data: a.csv\nmodel:\n  target: y\nevaluation:\n  split: group\n", 6, "needs 'group'");
  expect_error("sources:\n  data: a.csv\nmodel:\n  target: y\nplan:\n  objective: profit\n", 6, "needs 'options'");
  expect_error("sources:\n  data: a.csv\nmodel:\n  target: y\nplan:\n  options: [none]\n", 6, "between 2 and 64");
  expect_error("sources:\n  data: a.csv\nmodel:\n  target: y\nevaluation:\n  test: 0\n"
               "plan:\n  options: [none, 9折]\n",
               8, "held-out test rows");
  expect_error("sources:\n  data: a.csv\nmodel:\n  target: y\n  target: z\n", 5, "appears twice");
}

static void broken_yaml_names_line(void **state) {
  (void)state;
  expect_error("sources:\n  data: a.csv\nmodel:\n  target: [y\n", 0, "not valid YAML");
  expect_error("", 1, "empty");
}

static void missing_file_is_io_error(void **state) {
  (void)state;
  promo_project *p;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_project_read("/nonexistent/project.yaml", &p, &err), PROMO_ERR_IO);
  assert_null(p);
}

static void stage_names_round_trip(void **state) {
  (void)state;
  for (int s = 0; s < PROMO_STAGE_N; s++) {
    promo_run_stage back;
    assert_true(promo_run_stage_parse(promo_run_stage_name((promo_run_stage)s), &back));
    assert_int_equal(back, s);
  }
  promo_run_stage back;
  assert_false(promo_run_stage_parse("predict", &back));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(minimal_project_gets_defaults),
      cmocka_unit_test(full_project_is_read),
      cmocka_unit_test(unknown_key_is_named_with_its_line),
      cmocka_unit_test(wrong_types_are_named),
      cmocka_unit_test(missing_and_contradicting_keys),
      cmocka_unit_test(broken_yaml_names_line),
      cmocka_unit_test(missing_file_is_io_error),
      cmocka_unit_test(stage_names_round_trip),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  unlink(write_project(""));
  return failed;
}
