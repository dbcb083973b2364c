/* Tests of the clean stage: duplicates, missing-value actions, validation rules, outliers,
 * row accounting, the rejects file, the report and failure behaviour. Each test writes a
 * small CSV, cleans it and compares the outputs byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "promo/clean.h"

typedef struct fixture {
  char dir[64];
  char input[128], output[128], rejects[128], report[128];
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/promo_clean_XXXXXX");
  if (mkdtemp(f->dir) == NULL) return -1;
  snprintf(f->input, sizeof f->input, "%s/in.csv", f->dir);
  snprintf(f->output, sizeof f->output, "%s/out.csv", f->dir);
  snprintf(f->rejects, sizeof f->rejects, "%s/rejects.csv", f->dir);
  snprintf(f->report, sizeof f->report, "%s/report.json", f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  unlink(f->input);
  unlink(f->output);
  unlink(f->rejects);
  unlink(f->report);
  rmdir(f->dir);
  free(f);
  return 0;
}

static void write_file(const char *path, const char *text) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  fputs(text, fp);
  assert_int_equal(fclose(fp), 0);
}

static char *read_file(const char *path) {
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) return NULL;
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, fp);
  buf[n] = '\0';
  fclose(fp);
  return buf;
}

static bool file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* Clean f->input with opt; returns the status and fills the summary. */
static promo_status run_clean(fixture *f, const promo_clean_options *opt, promo_clean_summary *s,
                              promo_error *err) {
  promo_clean_paths paths = {f->input, f->output, f->rejects, f->report};
  promo_context ctx;
  promo_context_init(&ctx);
  promo_error_clear(err);
  return promo_clean_file(&paths, opt, &ctx, s, err);
}

static void exact_duplicates_removed(void **state) {
  fixture *f = *state;
  write_file(f->input,
             "order_id,item,qty\n"
             "1,apple,2\n"
             "2,pear,1\n"
             "1,apple,2\n"
             "3,plum,5\n"
             "2,pear,1\n");
  promo_clean_options opt;
  promo_clean_options_init(&opt);
  promo_clean_summary s;
  promo_error err;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_OK);
  assert_int_equal(s.rows_in, 5);
  assert_int_equal(s.rows_out, 3);
  assert_int_equal(s.duplicates_removed, 2);
  assert_int_equal(s.rows_rejected, 0);
  assert_string_equal(read_file(f->output), "order_id,item,qty\n1,apple,2\n2,pear,1\n3,plum,5\n");
  assert_string_equal(read_file(f->rejects),
                      "line,reason,column,value,detail,raw\n"
                      "4,duplicate,,,same text as line 2,\"1,apple,2\"\n"
                      "6,duplicate,,,same text as line 3,\"2,pear,1\"\n");
}

static void keep_duplicates_option(void **state) {
  fixture *f = *state;
  write_file(f->input, "a,b\n1,x\n1,x\n");
  promo_clean_options opt;
  promo_clean_options_init(&opt);
  opt.remove_duplicates = false;
  promo_clean_summary s;
  promo_error err;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_OK);
  assert_int_equal(s.rows_out, 2);
  assert_int_equal(s.duplicates_removed, 0);
}

static void key_duplicates_keep_latest(void **state) {
  fixture *f = *state;
  write_file(f->input,
             "user,updated,score\n"
             "u1,2024-01-05,1\n"
             "u2,2024-01-01,2\n"
             "u1,2024-03-01,3\n"
             "u1,2024-02-01,4\n");
  promo_clean_options opt;
  promo_clean_options_init(&opt);
  const char *key[] = {"user"};
  opt.key_columns = (promo_name_list){key, 1};
  opt.keep = PROMO_KEEP_LATEST;
  opt.time_column = "updated";
  promo_clean_summary s;
  promo_error err;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_OK);
  assert_string_equal(read_file(f->output), "user,updated,score\nu2,2024-01-01,2\nu1,2024-03-01,3\n");
  assert_int_equal(s.by_reason[PROMO_REJECT_DUPLICATE_KEY], 2);
  assert_string_equal(read_file(f->rejects),
                      "line,reason,column,value,detail,raw\n"
                      "2,duplicate_key,,,\"same key as line 4, which was kept\",\"u1,2024-01-05,1\"\n"
                      "5,duplicate_key,,,\"same key as line 4, which was kept\",\"u1,2024-02-01,4\"\n");
}

static void key_duplicates_keep_first(void **state) {
  fixture *f = *state;
  write_file(f->input, "user,score\nu1,1\nu2,2\nu1,3\n");
  promo_clean_options opt;
  promo_clean_options_init(&opt);
  const char *key[] = {"user"};
  opt.key_columns = (promo_name_list){key, 1};
  promo_clean_summary s;
  promo_error err;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_OK);
  assert_string_equal(read_file(f->output), "user,score\nu1,1\nu2,2\n");
  assert_int_equal(s.duplicates_removed, 1);
}

static void missing_median_and_mode(void **state) {
  fixture *f = *state;
  /* qty median of {1,2,4,7} is 3; price median of {1.5,2.5,10} is 2.5; city mode is bj. */
  write_file(f->input,
             "qty,price,city\n"
             "1,1.5,bj\n"
             "NA,2.5,sh\n"
             "2,,bj\n"
             "4,10,NULL\n"
             "7,\\N,gz\n");
  promo_clean_options opt;
  promo_clean_options_init(&opt);
  opt.missing_default = PROMO_MISSING_MEDIAN;
  opt.price_columns = (promo_name_list){(const char *const[]){"price"}, 0};
  promo_clean_summary s;
  promo_error err;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_OK);
  assert_string_equal(read_file(f->output),
                      "qty,price,city\n"
                      "1,1.5,bj\n"
                      "3,2.5,sh\n"
                      "2,2.5,bj\n"
                      "4,10,bj\n"
                      "7,2.5,gz\n");
  assert_int_equal(s.cells_filled, 4);
}

static void missing_integer_median_rounds_to_even(void **state) {
  fixture *f = *state;
  /* median of {1,2,3,4} is 2.5, written as 2 in an integer column (half to even). */
  write_file(f->input, "n\n1\n2\n3\n4\n\n-\n");
  promo_clean_options opt;
  promo_clean_options_init(&opt);
  opt.missing_default = PROMO_MISSING_MEDIAN;
  promo_clean_summary s;
  promo_error err;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_OK);
  /* The blank line is not a record; "-" is the missing marker. */
  assert_string_equal(read_file(f->output), "n\n1\n2\n3\n4\n2\n");
}

static void missing_mean_value_flag_drop(void **state) {
  fixture *f = *state;
  write_file(f->input,
             "a,b,c,d\n"
             "1,x,5,p\n"
             ",y,,q\n"
             "3,,7,\n"
             "8,z,9,r\n");
  promo_clean_options opt;
  promo_clean_options_init(&opt);
  promo_clean_missing_rule rules[] = {
      {"a", PROMO_MISSING_MEAN, NULL},
      {"b", PROMO_MISSING_VALUE, "unknown"},
      {"c", PROMO_MISSING_FLAG, NULL},
      {"d", PROMO_MISSING_DROP, NULL},
  };
  opt.missing_rules = rules;
  opt.n_missing_rules = 4;
  promo_clean_summary s;
  promo_error err;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_OK);
  /* mean of a over non-missing {1,3,8} = 4 */
  assert_string_equal(read_file(f->output),
                      "a,b,c,c_missing,d\n"
                      "1,x,5,0,p\n"
                      "4,y,,1,q\n"
                      "8,z,9,0,r\n");
  assert_int_equal(s.by_reason[PROMO_REJECT_MISSING_VALUE], 1);
  assert_int_equal(s.rows_rejected, 1);
}

static void invalid_values_rejected_or_blanked(void **state) {
  fixture *f = *state;
  /* 200 integers and one "abc": inferred as integer, "abc" is invalid. */
  char text[8192];
  size_t n = (size_t)snprintf(text, sizeof text, "id,amount\n");
  for (int i = 1; i <= 200; i++) n += (size_t)snprintf(text + n, sizeof text - n, "%d,%d\n", i, i * 10);
  snprintf(text + n, sizeof text - n, "201,abc\n");
  write_file(f->input, text);

  promo_clean_options opt;
  promo_clean_options_init(&opt);
  promo_clean_summary s;
  promo_error err;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_OK);
  assert_int_equal(s.rows_rejected, 1);
  assert_int_equal(s.by_reason[PROMO_REJECT_INVALID_VALUE], 1);
  assert_non_null(strstr(read_file(f->rejects), "202,invalid_value,amount,abc,not a valid integer,\"201,abc\"\n"));

  opt.on_invalid = PROMO_RULE_MISSING;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_OK);
  assert_int_equal(s.rows_rejected, 0);
  assert_int_equal(s.rows_out, 201);
  const char *out = read_file(f->output);
  assert_non_null(strstr(out, "\n201,\n"));
}

static void price_quantity_rate_rules(void **state) {
  fixture *f = *state;
  write_file(f->input,
             "unit_price,qty,discount_rate\n"
             "10,1,0.9\n"
             "0,1,0.9\n"
             "-5,1,0.9\n"
             "10,-2,0.9\n"
             "10,1,85\n"
             "10,1,0\n"
             "10,1,150\n");
  promo_clean_options opt;
  promo_clean_options_init(&opt);
  opt.on_bad_rate = PROMO_RULE_FIX;
  promo_clean_summary s;
  promo_error err;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_OK);
  assert_string_equal(read_file(f->output), "unit_price,qty,discount_rate\n10,1,0.9\n10,1,0.85\n");
  assert_int_equal(s.by_reason[PROMO_REJECT_BAD_PRICE], 2);
  assert_int_equal(s.by_reason[PROMO_REJECT_NEGATIVE_QUANTITY], 1);
  assert_int_equal(s.by_reason[PROMO_REJECT_BAD_RATE], 2);
  assert_int_equal(s.cells_fixed, 1);
  assert_int_equal(s.rows_in, s.rows_out + s.rows_rejected + s.duplicates_removed);

  /* Returns kept, bad prices blanked instead of rejected. */
  opt.keep_returns = true;
  opt.on_bad_price = PROMO_RULE_MISSING;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_OK);
  assert_string_equal(read_file(f->output),
                      "unit_price,qty,discount_rate\n10,1,0.9\n,1,0.9\n,1,0.9\n10,-2,0.9\n10,1,0.85\n");
}

static void dates_out_of_range(void **state) {
  fixture *f = *state;
  write_file(f->input,
             "order_date,v\n"
             "2024-11-11,1\n"
             "1970-01-01,2\n"
             "2099-01-01,3\n"
             "2024/06/18,4\n");
  promo_clean_options opt;
  promo_clean_options_init(&opt);
  opt.max_date = promo_days_from_civil(2030, 1, 1);
  promo_clean_summary s;
  promo_error err;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_OK);
  assert_string_equal(read_file(f->output), "order_date,v\n2024-11-11,1\n2024-06-18,4\n");
  assert_int_equal(s.by_reason[PROMO_REJECT_BAD_DATE], 2);
}

static void outliers_flagged_and_rejected(void **state) {
  fixture *f = *state;
  /* Q1 = 2, Q3 = 4 (linear quantiles of 1..5 plus 100 -> computed below), 100 is out. */
  write_file(f->input, "x\n1\n2\n3\n4\n5\n100\n");
  promo_clean_options opt;
  promo_clean_options_init(&opt);
  const char *cols[] = {"x"};
  opt.outlier_columns = (promo_name_list){cols, 1};
  promo_clean_summary s;
  promo_error err;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_OK);
  /* Q1 = 2.25, Q3 = 4.75, fences [-1.5, 8.5]. */
  assert_string_equal(read_file(f->output), "x,x_outlier\n1,0\n2,0\n3,0\n4,0\n5,0\n100,1\n");
  assert_int_equal(s.outliers_flagged, 1);

  opt.on_outlier = PROMO_RULE_REJECT;
  opt.outlier_method = PROMO_OUTLIER_ZSCORE;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_OK);
  assert_string_equal(read_file(f->output), "x\n1\n2\n3\n4\n5\n");
  assert_int_equal(s.by_reason[PROMO_REJECT_OUTLIER], 1);
}

static void currency_and_percent_normalized(void **state) {
  fixture *f = *state;
  write_file(f->input, "price,share\n\"¥1,234.50\",12.5%\n$3,50%\n4.25,1%\n");
  promo_clean_options opt;
  promo_clean_options_init(&opt);
  promo_clean_summary s;
  promo_error err;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_OK);
  assert_string_equal(read_file(f->output), "price,share\n1234.5,0.125\n3,0.5\n4.25,0.01\n");
}

static void report_counts_and_types(void **state) {
  fixture *f = *state;
  write_file(f->input, "id,city,amount\n1,bj,2.5\n2,,3.5\n2,,3.5\n3,sh,x\n");
  promo_clean_options opt;
  promo_clean_options_init(&opt);
  promo_clean_summary s;
  promo_error err;
  opt.on_invalid = PROMO_RULE_MISSING;
  promo_clean_type_rule types[] = {{"amount", PROMO_TYPE_DECIMAL}};
  opt.type_rules = types;
  opt.n_type_rules = 1;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_OK);

  json_error_t jerr;
  json_t *root = json_load_file(f->report, 0, &jerr);
  assert_non_null(root);
  json_t *rows = json_object_get(root, "rows");
  assert_int_equal(json_integer_value(json_object_get(rows, "in")), 4);
  assert_int_equal(json_integer_value(json_object_get(rows, "out")), 3);
  assert_int_equal(json_integer_value(json_object_get(rows, "duplicates_removed")), 1);
  assert_true(json_is_true(json_object_get(rows, "balanced")));
  json_t *columns = json_object_get(root, "columns");
  assert_int_equal(json_array_size(columns), 3);
  json_t *id = json_array_get(columns, 0);
  assert_string_equal(json_string_value(json_object_get(id, "type")), "integer");
  assert_string_equal(json_string_value(json_object_get(id, "type_source")), "inferred");
  json_t *city = json_array_get(columns, 1);
  assert_int_equal(json_integer_value(json_object_get(city, "missing")), 1);
  assert_int_equal(json_integer_value(json_object_get(city, "distinct")), 2);
  json_t *amount = json_array_get(columns, 2);
  assert_string_equal(json_string_value(json_object_get(amount, "type_source")), "given");
  assert_int_equal(json_integer_value(json_object_get(amount, "invalid")), 1);
  assert_true(json_real_value(json_object_get(amount, "mean")) == 3.0);
  json_decref(root);
}

static void unknown_column_is_usage_error(void **state) {
  fixture *f = *state;
  write_file(f->input, "a,b\n1,2\n");
  promo_clean_options opt;
  promo_clean_options_init(&opt);
  const char *key[] = {"nope"};
  opt.key_columns = (promo_name_list){key, 1};
  promo_clean_summary s;
  promo_error err;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "'nope'"));
  assert_false(file_exists(f->output));
}

static void median_of_text_column_is_usage_error(void **state) {
  fixture *f = *state;
  write_file(f->input, "city\nbj\n\nsh\nbj\n");
  promo_clean_options opt;
  promo_clean_options_init(&opt);
  promo_clean_missing_rule rules[] = {{"city", PROMO_MISSING_MEDIAN, NULL}};
  opt.missing_rules = rules;
  opt.n_missing_rules = 1;
  promo_clean_summary s;
  promo_error err;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "city"));
}

static void output_over_input_refused(void **state) {
  fixture *f = *state;
  write_file(f->input, "a\n1\n");
  promo_clean_paths paths = {f->input, f->input, NULL, NULL};
  promo_clean_options opt;
  promo_clean_options_init(&opt);
  promo_context ctx;
  promo_context_init(&ctx);
  promo_clean_summary s;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_clean_file(&paths, &opt, &ctx, &s, &err), PROMO_ERR_USAGE);
  assert_string_equal(read_file(f->input), "a\n1\n");
}

static void failed_run_leaves_no_output(void **state) {
  fixture *f = *state;
  /* Invalid UTF-8 far past the first 64 KiB, so detection says UTF-8 and reading fails
   * late, after pass 1 has started. */
  size_t n = 100000;
  char *text = malloc(n + 64);
  size_t len = (size_t)snprintf(text, n, "a,b\n");
  while (len < n - 16) len += (size_t)snprintf(text + len, n - len, "1,2\n");
  memcpy(text + len, "3,\xff\n", 5);
  write_file(f->input, text);
  free(text);
  promo_clean_options opt;
  promo_clean_options_init(&opt);
  opt.remove_duplicates = false;
  promo_clean_summary s;
  promo_error err;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_ERR_ENCODING);
  assert_true(err.line > 1);
  assert_false(file_exists(f->output));
  assert_false(file_exists(f->rejects));
  assert_false(file_exists(f->report));
}

static void gb18030_input_gives_utf8_output(void **state) {
  fixture *f = *state;
  /* "商品,单价\n苹果,5\n" in GB18030. */
  write_file(f->input, "\xc9\xcc\xc6\xb7,\xb5\xa5\xbc\xdb\n\xc6\xbb\xb9\xfb,5\n");
  promo_clean_options opt;
  promo_clean_options_init(&opt);
  promo_clean_summary s;
  promo_error err;
  assert_int_equal(run_clean(f, &opt, &s, &err), PROMO_OK);
  assert_string_equal(read_file(f->output), "商品,单价\n苹果,5\n");
}

static void threads_give_same_output(void **state) {
  fixture *f = *state;
  /* Enough rows for several chunks, with fills, duplicates and rejects in each. */
  FILE *fp = fopen(f->input, "wb");
  assert_non_null(fp);
  fputs("id,city,qty,price,day\n", fp);
  for (int i = 0; i < 3000; i++) {
    const char *cities[] = {"bj", "sh", "", "gz", "NA"};
    fprintf(fp, "%d,%s,%d,%s,2024-%02d-%02d\n", i % 2900, cities[i % 5], (i % 7) - 1,
            i % 11 == 0 ? "" : "9.5", 1 + i % 12, 1 + i % 28);
  }
  assert_int_equal(fclose(fp), 0);

  promo_clean_options opt;
  promo_clean_options_init(&opt);
  opt.missing_default = PROMO_MISSING_AUTO;
  opt.chunk_rows = 256;
  promo_clean_paths paths = {f->input, f->output, f->rejects, NULL};
  promo_context ctx;
  promo_context_init(&ctx);
  promo_clean_summary s;
  promo_error err;
  promo_error_clear(&err);
  char *outputs[2];
  for (int threads = 1; threads <= 2; threads++) {
    ctx.n_threads = threads;
    assert_int_equal(promo_clean_file(&paths, &opt, &ctx, &s, &err), PROMO_OK);
    outputs[threads - 1] = strdup(read_file(f->output));
  }
  assert_int_equal(s.rows_in, 3000);
  assert_true(s.rows_rejected > 0);
  assert_string_equal(outputs[0], outputs[1]);
  free(outputs[0]);
  free(outputs[1]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(exact_duplicates_removed, setup, teardown),
      cmocka_unit_test_setup_teardown(keep_duplicates_option, setup, teardown),
      cmocka_unit_test_setup_teardown(key_duplicates_keep_latest, setup, teardown),
      cmocka_unit_test_setup_teardown(key_duplicates_keep_first, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_median_and_mode, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_integer_median_rounds_to_even, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_mean_value_flag_drop, setup, teardown),
      cmocka_unit_test_setup_teardown(invalid_values_rejected_or_blanked, setup, teardown),
      cmocka_unit_test_setup_teardown(price_quantity_rate_rules, setup, teardown),
      cmocka_unit_test_setup_teardown(dates_out_of_range, setup, teardown),
      cmocka_unit_test_setup_teardown(outliers_flagged_and_rejected, setup, teardown),
      cmocka_unit_test_setup_teardown(currency_and_percent_normalized, setup, teardown),
      cmocka_unit_test_setup_teardown(report_counts_and_types, setup, teardown),
      cmocka_unit_test_setup_teardown(unknown_column_is_usage_error, setup, teardown),
      cmocka_unit_test_setup_teardown(median_of_text_column_is_usage_error, setup, teardown),
      cmocka_unit_test_setup_teardown(output_over_input_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(failed_run_leaves_no_output, setup, teardown),
      cmocka_unit_test_setup_teardown(gb18030_input_gives_utf8_output, setup, teardown),
      cmocka_unit_test_setup_teardown(threads_give_same_output, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
