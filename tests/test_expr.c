/* Unit tests of derived-column expressions (feature stage): operator precedence, the
 * functions, missing values and domain errors, syntax errors with their positions,
 * binding to a table, and promo_table_derive appending a column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promo/feature.h"

/* A table read from CSV text with the given column types (keep_text as given). */
static promo_table *table_from_csv(const char *csv, size_t n_columns, const char *const *names,
                                   const promo_type *types, bool keep_text) {
  promo_csv_options opt;
  promo_csv_options_init(&opt);
  promo_csv *reader = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_csv_open_memory(csv, strlen(csv), "mem.csv", &opt, &reader, &err),
                   PROMO_OK);
  promo_table *table = NULL;
  assert_int_equal(promo_table_create(n_columns, names, types, keep_text, &table), PROMO_OK);
  assert_int_equal(promo_table_read(table, reader, 0, &err), PROMO_END);
  promo_csv_close(reader);
  return table;
}

/* A one-row table with a single integer column x = 1, for expressions of constants. */
static promo_table *one_row_table(void) {
  static const char *const names[] = {"x"};
  static const promo_type types[] = {PROMO_TYPE_INT};
  return table_from_csv("x\n1\n", 1, names, types, false);
}

/* Value of `text` on a one-row table; fails the test when it does not compile. */
static double eval_constant(const char *text, bool *is_missing) {
  promo_table *table = one_row_table();
  promo_expr *expr = NULL;
  promo_error err;
  promo_error_clear(&err);
  promo_status status = promo_expr_parse(text, &expr, &err);
  if (status != PROMO_OK) fail_msg("'%s' did not parse: %s", text, err.message);
  assert_int_equal(promo_expr_bind(expr, table, &err), PROMO_OK);
  double value = -12345;
  uint8_t missing = 2;
  assert_int_equal(promo_expr_eval(expr, table, &value, &missing, NULL, &err), PROMO_OK);
  *is_missing = missing != 0;
  promo_expr_free(expr);
  promo_table_free(table);
  return value;
}

/* ------------------------------------------------------------------ values */

typedef struct value_case {
  const char *text;
  double expected;
} value_case;

static void expr_operator_precedence(void **state) {
  (void)state;
  static const value_case cases[] = {
      {"1 + 2 * 3", 7},     {"(1 + 2) * 3", 9},   {"10 - 4 - 3", 3},  {"8 / 4 / 2", 1},
      {"2 ^ 3 ^ 2", 512},   {"-2 ^ 2", -4},       {"(-2) ^ 2", 4},    {"2 ^ -1", 0.5},
      {"--1", 1},           {"+1", 1},            {"- 3 * 2", -6},    {"1 + x", 2},
      {"1 < 2", 1},         {"2 <= 2", 1},        {"3 > 4", 0},       {"3 >= 4", 0},
      {"1 == 1", 1},        {"1 != 1", 0},        {"1 + 1 == 2", 1},  {"(1 < 2) + (3 < 4)", 2},
      {".5 + 5.", 5.5},     {"1e3", 1000},        {"2.5E-1", 0.25},   {"007", 7},
      {" \t2\n*3 ", 6},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    bool missing = true;
    double value = eval_constant(cases[i].text, &missing);
    if (missing || value != cases[i].expected)
      fail_msg("'%s': expected %g, got %g (missing %d)", cases[i].text, cases[i].expected, value,
               missing);
  }
}

static void expr_functions(void **state) {
  (void)state;
  static const value_case cases[] = {
      {"exp(0)", 1},          {"log(exp(2))", 2},        {"log1p(0)", 0},
      {"expm1(0)", 0},        {"sqrt(16)", 4},           {"abs(-3)", 3},
      {"min(3, 1, 2)", 1},    {"max(3, 1, 2)", 3},       {"min(2, 5)", 2},
      {"round(2.5)", 3},      {"round(-2.5)", -3},       {"round(2.4)", 2},
      {"floor(-1.5)", -2},    {"ceil(1.2)", 2},          {"if(1, 2, 3)", 2},
      {"if(0, 2, 3)", 3},     {"if(-0.5, 2, 3)", 2},     {"pick(2, 10, 20, 30)", 20},
      {"pick(3, 10, 20, 30)", 30}, {"pick(1, 7)", 7},    {"exp(log(5)) - 5 < 1e-12", 1},
      {"max(min(4, 9), 2) * 2", 8},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    bool missing = true;
    double value = eval_constant(cases[i].text, &missing);
    if (missing || fabs(value - cases[i].expected) > 1e-12)
      fail_msg("'%s': expected %g, got %g (missing %d)", cases[i].text, cases[i].expected, value,
               missing);
  }
}

static void expr_domain_errors_missing(void **state) {
  (void)state;
  static const char *const cases[] = {
      "log(0)",   "log(-1)",         "sqrt(-1)",      "log1p(-1)",        "1 / 0",
      "0 ^ -1",   "(-8) ^ (1 / 3)",  "pick(4, 1, 2, 3)", "pick(0, 1, 2)", "pick(1.5, 1, 2)",
      "exp(1000)", "exp(1000) - exp(1000)", "1 / exp(1000)",
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    bool missing = false;
    double value = eval_constant(cases[i], &missing);
    if (!missing) fail_msg("'%s': expected missing, got %g", cases[i], value);
    assert_true(value == 0);
  }
}

/* ------------------------------------------------------------------ columns */

static const char *const kOjNames[] = {"store", "brand", "logmove", "price1", "price2", "price3",
                                       "deal"};
static const promo_type kOjTypes[] = {PROMO_TYPE_INT,     PROMO_TYPE_INT,     PROMO_TYPE_DECIMAL,
                                      PROMO_TYPE_DECIMAL, PROMO_TYPE_DECIMAL, PROMO_TYPE_DECIMAL,
                                      PROMO_TYPE_BOOL};
static const char kOjCsv[] =
    "store,brand,logmove,price1,price2,price3,deal\n"
    "2,1,9.0186954877,0.06046875,0.0604965281,0.04203125,1\n"
    "2,2,8.7232312748,0.06046875,0.0603125,0.04515625,0\n"
    "5,3,0,0.05,0.04,0.03,true\n"
    "5,2,NA,0.05,,0.03,0\n"
    "5,4,2,0.05,0.04,0.03,0\n";

static void derive_units_and_own_price(void **state) {
  (void)state;
  promo_table *table = table_from_csv(kOjCsv, 7, kOjNames, kOjTypes, false);
  promo_error err;
  promo_error_clear(&err);
  promo_expr_stats stats;
  assert_int_equal(promo_table_derive(table, "units", "exp(logmove)", NULL, &stats, &err), PROMO_OK);
  assert_int_equal(table->n_columns, 8);
  const promo_column *units = &table->columns[7];
  assert_string_equal(units->name, "units");
  assert_int_equal(units->type, PROMO_TYPE_DECIMAL);
  assert_true(units->reals[0] == exp(9.0186954877));
  assert_true(units->reals[1] == exp(8.7232312748));
  assert_true(units->reals[2] == 1.0);
  assert_int_equal(units->is_missing[0], 0);
  assert_int_equal(units->is_missing[3], 1);
  assert_int_equal(stats.n_rows, 5);
  assert_int_equal(stats.n_missing_input, 1);
  assert_int_equal(stats.n_domain, 0);

  assert_int_equal(promo_table_derive(table, "price", "pick(brand, price1, price2, price3)", NULL,
                                      &stats, &err),
                   PROMO_OK);
  const promo_column *price = &table->columns[8];
  assert_true(price->reals[0] == 0.06046875);
  assert_true(price->reals[1] == 0.0603125);
  assert_true(price->reals[2] == 0.03);
  /* Row 4 picks price2, which is empty there; row 5 has brand 4 beyond price3. */
  assert_int_equal(price->is_missing[3], 1);
  assert_int_equal(price->is_missing[4], 1);
  assert_int_equal(stats.n_missing_input, 1);
  assert_int_equal(stats.n_domain, 1);
  assert_int_equal(stats.first_domain_row, 4);
  assert_string_equal(stats.first_domain_op, "pick");

  /* Booleans read as 0/1 and derived columns can feed later ones. */
  assert_int_equal(promo_table_derive(table, "deal_units", "deal * units", NULL, NULL, &err),
                   PROMO_OK);
  assert_true(table->columns[9].reals[0] == exp(9.0186954877));
  assert_true(table->columns[9].reals[1] == 0);
  assert_true(table->columns[9].reals[2] == 1);
  promo_table_free(table);
}

static void expr_if_pick_skip_unused_missing(void **state) {
  (void)state;
  promo_table *table = table_from_csv(kOjCsv, 7, kOjNames, kOjTypes, false);
  promo_error err;
  promo_error_clear(&err);
  promo_expr *expr = NULL;
  /* Row 4 has price2 and logmove missing, but neither is chosen there. */
  assert_int_equal(promo_expr_parse("if(store == 5, price1, price2 + logmove)", &expr, &err), PROMO_OK);
  assert_int_equal(promo_expr_bind(expr, table, &err), PROMO_OK);
  double out[5];
  uint8_t missing[5];
  promo_expr_stats stats;
  assert_int_equal(promo_expr_eval(expr, table, out, missing, &stats, &err), PROMO_OK);
  assert_true(out[0] == 0.0604965281 + 9.0186954877);
  assert_true(out[3] == 0.05);
  assert_int_equal(missing[3], 0);
  assert_int_equal(stats.n_missing_input, 0);
  promo_expr_free(expr);

  assert_int_equal(promo_expr_parse("pick(brand - 1, price1, price3)", &expr, &err), PROMO_OK);
  assert_int_equal(promo_expr_bind(expr, table, &err), PROMO_OK);
  assert_int_equal(promo_expr_eval(expr, table, out, missing, &stats, &err), PROMO_OK);
  assert_int_equal(missing[0], 1); /* index 0 */
  assert_true(out[1] == 0.06046875);
  assert_true(out[3] == 0.05);
  assert_int_equal(missing[3], 0);
  assert_int_equal(missing[4], 1); /* index 3, but only 2 choices */
  assert_int_equal(stats.n_domain, 2);
  assert_int_equal(stats.first_domain_row, 0);
  promo_expr_free(expr);
  promo_table_free(table);
}

static void expr_domain_counts(void **state) {
  (void)state;
  promo_table *table = table_from_csv(kOjCsv, 7, kOjNames, kOjTypes, false);
  promo_error err;
  promo_error_clear(&err);
  promo_expr_stats stats;
  /* logmove: 9.01, 8.72, 0, missing, 2; log(0) is a domain error in row 3 */
  assert_int_equal(promo_table_derive(table, "ll", "log(logmove) + exp(1000 * logmove)", NULL,
                                      &stats, &err),
                   PROMO_OK);
  assert_int_equal(stats.n_rows, 5);
  assert_int_equal(stats.n_missing_input, 1);
  assert_int_equal(stats.n_domain, 1);
  assert_int_equal(stats.first_domain_row, 2);
  assert_string_equal(stats.first_domain_op, "log");
  assert_int_equal(stats.n_overflow, 3); /* rows 1, 2 and 5 */
  for (size_t r = 0; r < 5; r++) assert_int_equal(table->columns[7].is_missing[r], 1);
  promo_table_free(table);
}

static void expr_quoted_names(void **state) {
  (void)state;
  static const char *const names[] = {"unit price", "数量", "a`b", "log"};
  static const promo_type types[] = {PROMO_TYPE_DECIMAL, PROMO_TYPE_INT, PROMO_TYPE_INT,
                                     PROMO_TYPE_INT};
  promo_table *table =
      table_from_csv("unit price,数量,a`b,log\n2.5,4,10,100\n", 4, names, types, false);
  promo_error err;
  promo_error_clear(&err);
  promo_expr *expr = NULL;
  assert_int_equal(promo_expr_parse("`unit price` * `数量` + `a``b` + log + log(1)", &expr, &err),
                   PROMO_OK);
  assert_int_equal(promo_expr_n_columns(expr), 4);
  assert_string_equal(promo_expr_column_name(expr, 0), "unit price");
  assert_string_equal(promo_expr_column_name(expr, 1), "数量");
  assert_string_equal(promo_expr_column_name(expr, 2), "a`b");
  assert_string_equal(promo_expr_column_name(expr, 3), "log");
  assert_null(promo_expr_column_name(expr, 4));
  assert_int_equal(promo_expr_bind(expr, table, &err), PROMO_OK);
  double out = 0;
  uint8_t missing = 1;
  assert_int_equal(promo_expr_eval(expr, table, &out, &missing, NULL, &err), PROMO_OK);
  assert_int_equal(missing, 0);
  assert_true(out == 120.0);
  promo_expr_free(expr);
  promo_table_free(table);
}

/* ------------------------------------------------------------------ errors */

typedef struct syntax_case {
  const char *text;
  int64_t column; /* 1-based character position */
  const char *fragment;
} syntax_case;

static void expr_syntax_error_positions(void **state) {
  (void)state;
  static const syntax_case cases[] = {
      {"", 1, "empty"},
      {"   ", 1, "empty"},
      {"1 +", 4, "expected a number"},
      {"exp(logmove", 12, "expected ')' to close the '(' at character 4"},
      {"(1 + 2", 7, "expected ')'"},
      {"1 + 2)", 6, "expected an operator or the end"},
      {"foo(1)", 1, "unknown function 'foo'"},
      {"log(1, 2)", 1, "log() takes 1 argument,"},
      {"if(1, 2)", 1, "if() takes 3 arguments"},
      {"min(1)", 1, "at least 2"},
      {"pick(1)", 1, "at least 2"},
      {"exp()", 5, "expected a number"},
      {"1 = 2", 3, "'=='"},
      {"1 ! 2", 3, "'!='"},
      {"a < b < c", 7, "chained"},
      {"`unit price", 1, "closing backtick"},
      {"``", 1, "empty"},
      {"2x", 2, "expected an operator"},
      {"单价 * 2", 1, "backticks"},
      {"`单价` $ 2", 6, "unexpected character '$'"},
      {"1e999", 1, "out of range"},
      {"1, 2", 2, "expected an operator"},
      {"* 2", 1, "expected a number"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    promo_expr *expr = NULL;
    promo_error err;
    promo_error_clear(&err);
    promo_status status = promo_expr_parse(cases[i].text, &expr, &err);
    if (status != PROMO_ERR_USAGE) fail_msg("'%s': expected a syntax error", cases[i].text);
    assert_null(expr);
    if (err.column != cases[i].column)
      fail_msg("'%s': expected character %lld, got %lld (%s)", cases[i].text,
               (long long)cases[i].column, (long long)err.column, err.message);
    if (strstr(err.message, cases[i].fragment) == NULL)
      fail_msg("'%s': message '%s' lacks '%s'", cases[i].text, err.message, cases[i].fragment);
  }
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail) {
  size_t size = strlen(head) + strlen(unit) * n + strlen(tail) + 1;
  char *s = malloc(size);
  assert_non_null(s);
  strcpy(s, head);
  for (size_t i = 0; i < n; i++) strcat(s, unit);
  strcat(s, tail);
  return s;
}

static void expr_nesting_limit(void **state) {
  (void)state;
  promo_expr *expr = NULL;
  promo_error err;
  promo_error_clear(&err);

  char *chain = repeat("1", "+1", 199, "");
  bool missing = true;
  assert_true(eval_constant(chain, &missing) == 200);
  free(chain);

  chain = repeat("1", "+1", 5000, "");
  assert_int_equal(promo_expr_parse(chain, &expr, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "nested"));
  free(chain);

  char *parens = repeat("", "(", 5000, "1");
  assert_int_equal(promo_expr_parse(parens, &expr, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "nested"));
  free(parens);

  char *minus = repeat("", "-", 5000, "1");
  assert_int_equal(promo_expr_parse(minus, &expr, &err), PROMO_ERR_USAGE);
  free(minus);
  assert_null(expr);
}

static void bind_unknown_column_suggests(void **state) {
  (void)state;
  promo_table *table = table_from_csv(kOjCsv, 7, kOjNames, kOjTypes, false);
  promo_expr *expr = NULL;
  promo_error err;
  promo_error_clear(&err);

  assert_int_equal(promo_expr_parse("exp(logmov) * Price1", &expr, &err), PROMO_OK);
  assert_int_equal(promo_expr_bind(expr, table, &err), PROMO_ERR_USAGE);
  assert_string_equal(err.column_name, "logmov");
  assert_non_null(strstr(err.message, "'logmov'"));
  assert_non_null(strstr(err.message, "close names: logmove"));
  promo_expr_free(expr);

  promo_error_clear(&err);
  assert_int_equal(promo_expr_parse("Price1", &expr, &err), PROMO_OK);
  assert_int_equal(promo_expr_bind(expr, table, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "close names: price1, price2, price3"));
  promo_expr_free(expr);

  promo_error_clear(&err);
  assert_int_equal(promo_expr_parse("revenue", &expr, &err), PROMO_OK);
  assert_int_equal(promo_expr_bind(expr, table, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "its columns are: store, brand, logmove"));
  promo_expr_free(expr);
  promo_table_free(table);
}

static void bind_rejects_string_column(void **state) {
  (void)state;
  static const char *const names[] = {"segment", "spend"};
  static const promo_type types[] = {PROMO_TYPE_CATEGORICAL, PROMO_TYPE_DECIMAL};
  promo_table *table = table_from_csv("segment,spend\nMens E-Mail,2\n", 2, names, types, false);
  promo_expr *expr = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_expr_parse("spend * segment", &expr, &err), PROMO_OK);
  assert_int_equal(promo_expr_bind(expr, table, &err), PROMO_ERR_USAGE);
  assert_string_equal(err.column_name, "segment");
  assert_non_null(strstr(err.message, "categorical"));

  double out = 0;
  uint8_t missing = 0;
  assert_int_equal(promo_expr_eval(expr, table, &out, &missing, NULL, &err), PROMO_ERR_USAGE);
  promo_expr_free(expr);
  promo_table_free(table);
}

static void derive_failure_keeps_table(void **state) {
  (void)state;
  promo_table *table = table_from_csv(kOjCsv, 7, kOjNames, kOjTypes, false);
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_table_derive(table, "deal", "1", NULL, NULL, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "already has a column"));
  assert_int_equal(promo_table_derive(table, "x", "1 +", NULL, NULL, &err), PROMO_ERR_USAGE);
  assert_int_equal(promo_table_derive(table, "x", "nope", NULL, NULL, &err), PROMO_ERR_USAGE);
  assert_int_equal(table->n_columns, 7);
  assert_int_equal(promo_table_find(table, "x"), -1);
  promo_table_free(table);
}

/* A derived column on a table that keeps source text: old cells are written back as
 * they were read, the new one as formatted numbers. */
static void derive_on_kept_text_writes_csv(void **state) {
  (void)state;
  static const char *const names[] = {"price", "qty"};
  static const promo_type types[] = {PROMO_TYPE_DECIMAL, PROMO_TYPE_INT};
  promo_table *table = table_from_csv("price,qty\n12.50,2\n¥3,NA\n", 2, names, types, true);
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_table_derive(table, "revenue", "price * qty", NULL, NULL, &err), PROMO_OK);
  assert_int_equal(table->n_columns, 3);

  char *data = NULL;
  size_t size = 0;
  FILE *fp = open_memstream(&data, &size);
  assert_non_null(fp);
  promo_csv_writer *writer = NULL;
  assert_int_equal(promo_csv_writer_create(fp, ',', false, &writer), PROMO_OK);
  for (size_t r = 0; r < table->n_rows; r++) {
    for (size_t c = 0; c < table->n_columns; c++) promo_csv_write_cell(writer, table, r, c);
    promo_csv_write_end_row(writer);
  }
  assert_int_equal(promo_csv_writer_flush(writer, &err), PROMO_OK);
  promo_csv_writer_free(writer);
  fclose(fp);
  const char *expected = "12.50,2,25\n3,,\n";
  assert_int_equal(size, strlen(expected));
  assert_memory_equal(data, expected, size);
  free(data);
  promo_table_free(table);
}

static void derive_on_empty_table(void **state) {
  (void)state;
  static const char *const names[] = {"a"};
  static const promo_type types[] = {PROMO_TYPE_DECIMAL};
  promo_table *table = NULL;
  assert_int_equal(promo_table_create(1, names, types, true, &table), PROMO_OK);
  promo_error err;
  promo_error_clear(&err);
  promo_expr_stats stats;
  assert_int_equal(promo_table_derive(table, "b", "a * 2", NULL, &stats, &err), PROMO_OK);
  assert_int_equal(table->n_columns, 2);
  assert_int_equal(stats.n_rows, 0);
  promo_table_free(table);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(expr_operator_precedence),
      cmocka_unit_test(expr_functions),
      cmocka_unit_test(expr_domain_errors_missing),
      cmocka_unit_test(derive_units_and_own_price),
      cmocka_unit_test(expr_if_pick_skip_unused_missing),
      cmocka_unit_test(expr_domain_counts),
      cmocka_unit_test(expr_quoted_names),
      cmocka_unit_test(expr_syntax_error_positions),
      cmocka_unit_test(expr_nesting_limit),
      cmocka_unit_test(bind_unknown_column_suggests),
      cmocka_unit_test(bind_rejects_string_column),
      cmocka_unit_test(derive_failure_keeps_table),
      cmocka_unit_test(derive_on_kept_text_writes_csv),
      cmocka_unit_test(derive_on_empty_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
