/* Tests of the fitted feature pipeline: column decisions, output layout and values, the
 * JSON round trip, unseen levels and missing columns at prediction time, offer rejects,
 * target encoding out of fold and PCA. */
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

#include "promo/feature.h"

/* The pipeline's input when there is no event log. */
#define ROWS(table) (&(promo_pipeline_data){(table), NULL, NULL, NULL})

static promo_table *load_text(const char *text) {
  char path[] = "/tmp/promo_pipeline_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *fp = fdopen(fd, "w");
  assert_non_null(fp);
  fputs(text, fp);
  assert_int_equal(fclose(fp), 0);
  promo_load_options opt;
  promo_load_options_init(&opt);
  promo_table *t = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_table_load(path, &opt, NULL, &t, &err), PROMO_OK);
  unlink(path);
  return t;
}

static ptrdiff_t output_index(const promo_pipeline *p, const char *name) {
  for (size_t j = 0; j < promo_pipeline_n_outputs(p); j++)
    if (strcmp(promo_pipeline_output_name(p, j), name) == 0) return (ptrdiff_t)j;
  return -1;
}

static const char *orders =
    "price,city,order_date,offer,bought\n"
    "10,bj,2024-11-11,8折,1\n"
    "20,sh,2024-11-12,满200减30,0\n"
    "30,bj,2024-06-18,none,1\n"
    "40,gz,2024-02-10,包邮,0\n";

static void pipeline_infers_each_column(void **state) {
  (void)state;
  promo_table *t = load_text(orders);
  promo_pipeline_options opt;
  promo_pipeline_options_init(&opt);
  opt.target = "bought";
  opt.suggest.max_one_hot_levels = 64;
  promo_pipeline *p;
  promo_matrix m;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_pipeline_fit_transform(ROWS(t), &opt, NULL, &p, &m, &err), PROMO_OK);
  assert_int_equal(m.n_rows, 4);
  assert_int_equal(m.n_columns, promo_pipeline_n_outputs(p));
  assert_null(m.rejected);

  /* price standardized: mean 25, population std sqrt(125). */
  ptrdiff_t price = output_index(p, "price");
  assert_true(price >= 0);
  assert_float_equal(m.X[0 * m.n_columns + price], (10 - 25) / sqrt(125.0), 1e-6);
  assert_float_equal(m.X[3 * m.n_columns + price], (40 - 25) / sqrt(125.0), 1e-6);

  /* The target is not a feature; the date and offer columns gave derived features. */
  assert_int_equal(output_index(p, "bought"), -1);
  assert_true(output_index(p, "order_date_day_of_week") >= 0);
  ptrdiff_t depth = output_index(p, "offer_depth");
  ptrdiff_t has_percent = output_index(p, "offer_has_percent_off");
  assert_true(depth >= 0);
  assert_true(has_percent >= 0);
  /* Derived outputs are standardized: 8折 (depth 0.2) is above the mean depth. */
  assert_true(m.X[0 * m.n_columns + depth] > 0);
  assert_true(m.X[2 * m.n_columns + depth] < 0);
  assert_true(m.X[0 * m.n_columns + has_percent] > m.X[1 * m.n_columns + has_percent]);

  /* Inputs are recorded with their training types. */
  bool saw_date = false;
  for (size_t i = 0; i < promo_pipeline_n_inputs(p); i++)
    if (strcmp(promo_pipeline_input_name(p, i), "order_date") == 0)
      saw_date = promo_pipeline_input_type(p, i) == PROMO_TYPE_DATE;
  assert_true(saw_date);
  assert_true(promo_pipeline_n_decisions(p) >= 4);

  promo_matrix_clear(&m);
  promo_pipeline_free(p);
  promo_table_free(t);
}

static void pipeline_json_round_trip(void **state) {
  (void)state;
  promo_table *t = load_text(orders);
  promo_pipeline_options opt;
  promo_pipeline_options_init(&opt);
  opt.target = "bought";
  promo_pipeline *p, *q;
  promo_matrix m, m2;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_pipeline_fit_transform(ROWS(t), &opt, NULL, &p, &m, &err), PROMO_OK);

  json_t *json;
  assert_int_equal(promo_pipeline_to_json(p, &json), PROMO_OK);
  char *text = json_dumps(json, 0);
  json_decref(json);
  json_error_t jerr;
  json_t *back = json_loads(text, 0, &jerr);
  free(text);
  assert_non_null(back);
  assert_int_equal(promo_pipeline_from_json(back, &q, &err), PROMO_OK);
  json_decref(back);

  assert_int_equal(promo_pipeline_transform(q, ROWS(t), NULL, &m2, &err), PROMO_OK);
  assert_int_equal(m2.n_columns, m.n_columns);
  assert_memory_equal(m.X, m2.X, m.n_rows * m.n_columns * sizeof *m.X);
  for (size_t j = 0; j < m.n_columns; j++)
    assert_string_equal(promo_pipeline_output_name(p, j), promo_pipeline_output_name(q, j));

  promo_matrix_clear(&m);
  promo_matrix_clear(&m2);
  promo_pipeline_free(p);
  promo_pipeline_free(q);
  promo_table_free(t);
}

static void unseen_level_and_missing_column(void **state) {
  (void)state;
  promo_table *train = load_text("city,n\nbj,1\nbj,2\nsh,3\nsh,4\n");
  promo_pipeline_options opt;
  promo_pipeline_options_init(&opt);
  promo_pipeline_rule rules[] = {{"city", "onehot"}};
  opt.rules = rules;
  opt.n_rules = 1;
  promo_pipeline *p;
  promo_matrix m;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_pipeline_fit_transform(ROWS(train), &opt, NULL, &p, &m, &err), PROMO_OK);
  promo_matrix_clear(&m);

  promo_table *test = load_text("city,n\nwh,5\n");
  assert_int_equal(promo_pipeline_transform(p, ROWS(test), NULL, &m, &err), PROMO_OK);
  ptrdiff_t other = output_index(p, "city=__other__");
  assert_true(other >= 0);
  assert_float_equal(m.X[other], 1.0, 0);
  promo_matrix_clear(&m);

  promo_table *no_city = load_text("n\n5\n");
  promo_error_clear(&err);
  assert_int_not_equal(promo_pipeline_transform(p, ROWS(no_city), NULL, &m, &err), PROMO_OK);
  assert_non_null(strstr(err.message, "city"));

  promo_pipeline_free(p);
  promo_table_free(train);
  promo_table_free(test);
  promo_table_free(no_city);
}

static void bad_offers_flagged_or_rejected(void **state) {
  (void)state;
  promo_table *t = load_text("promo,n\n8折,1\n满200减30,2\n大促狂欢,3\n包邮,4\n买一送一,5\n赠品,6\n"
                             "9折,7\n限时秒杀,8\n满100减10,9\n7折,10\n");
  promo_pipeline_options opt;
  promo_pipeline_options_init(&opt);
  promo_pipeline_rule rules[] = {{"promo", "offer"}};
  opt.rules = rules;
  opt.n_rules = 1;
  promo_pipeline *p;
  promo_matrix m;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_pipeline_fit_transform(ROWS(t), &opt, NULL, &p, &m, &err), PROMO_OK);
  ptrdiff_t unknown = output_index(p, "promo_unknown");
  assert_true(unknown >= 0);
  assert_true(m.X[2 * m.n_columns + unknown] > m.X[0 * m.n_columns + unknown]);
  assert_null(m.rejected);
  promo_matrix_clear(&m);
  promo_pipeline_free(p);

  opt.reject_bad_offers = true;
  assert_int_equal(promo_pipeline_fit_transform(ROWS(t), &opt, NULL, &p, &m, &err), PROMO_OK);
  assert_non_null(m.rejected);
  assert_int_equal(m.n_rejected, 1);
  assert_int_equal(m.rejected[2], 1);
  promo_matrix_clear(&m);
  promo_pipeline_free(p);
  promo_table_free(t);
}

static void target_encoding_out_of_fold(void **state) {
  (void)state;
  /* Training features are out of fold, so they differ from a transform of the same rows,
   * which uses the full training statistics. */
  char text[8192] = "user,y\n";
  size_t n = strlen(text);
  for (int i = 0; i < 200; i++) n += (size_t)snprintf(text + n, sizeof text - n, "u%d,%d\n", i % 20, (i * 7) % 3 == 0);
  promo_table *t = load_text(text);
  promo_pipeline_options opt;
  promo_pipeline_options_init(&opt);
  opt.target = "y";
  promo_pipeline_rule rules[] = {{"user", "target"}};
  opt.rules = rules;
  opt.n_rules = 1;
  promo_pipeline *p;
  promo_matrix fit, again;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_pipeline_fit_transform(ROWS(t), &opt, NULL, &p, &fit, &err), PROMO_OK);
  assert_int_equal(promo_pipeline_transform(p, ROWS(t), NULL, &again, &err), PROMO_OK);
  size_t differ = 0;
  for (size_t i = 0; i < fit.n_rows * fit.n_columns; i++) differ += fit.X[i] != again.X[i];
  assert_true(differ > 0);
  promo_matrix_clear(&fit);
  promo_matrix_clear(&again);
  promo_pipeline_free(p);
  promo_table_free(t);
}

static void pca_columns_projected(void **state) {
  (void)state;
  promo_table *t = load_text("a,b,c,d\n1,2,3,x\n2,4,7,y\n3,6,8,x\n4,8,15,y\n5,10,11,x\n");
  promo_pipeline_options opt;
  promo_pipeline_options_init(&opt);
  promo_pipeline_rule rules[] = {{"a", "pca"}, {"b", "pca"}, {"c", "pca"}, {"d", "skip"}};
  opt.rules = rules;
  opt.n_rules = 4;
  opt.pca_components = 2;
  promo_pipeline *p;
  promo_matrix m;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_pipeline_fit_transform(ROWS(t), &opt, NULL, &p, &m, &err), PROMO_OK);
  assert_int_equal(m.n_columns, 2);
  assert_string_equal(promo_pipeline_output_name(p, 0), "pca_1");
  assert_string_equal(promo_pipeline_output_name(p, 1), "pca_2");
  /* Components of centered data have mean 0. */
  double sum = 0;
  for (size_t r = 0; r < m.n_rows; r++) sum += m.X[r * 2];
  assert_float_equal(sum, 0.0, 1e-5);
  promo_matrix_clear(&m);
  promo_pipeline_free(p);
  promo_table_free(t);
}

static void unknown_transform_is_usage_error(void **state) {
  (void)state;
  promo_table *t = load_text("a\n1\n2\n");
  promo_pipeline_options opt;
  promo_pipeline_options_init(&opt);
  promo_pipeline_rule rules[] = {{"a", "squash"}};
  opt.rules = rules;
  opt.n_rules = 1;
  promo_pipeline *p;
  promo_matrix m;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_pipeline_fit_transform(ROWS(t), &opt, NULL, &p, &m, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "squash"));
  promo_table_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pipeline_infers_each_column),
      cmocka_unit_test(pipeline_json_round_trip),
      cmocka_unit_test(unseen_level_and_missing_column),
      cmocka_unit_test(bad_offers_flagged_or_rejected),
      cmocka_unit_test(target_encoding_out_of_fold),
      cmocka_unit_test(pca_columns_projected),
      cmocka_unit_test(unknown_transform_is_usage_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
