/* Unit tests of time features (feature stage): hand-checked calendar fields, event
 * distances around year boundaries, a pandas reference computed by
 * tests/fixtures/make_timefeat.py, user event files and their errors, and JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promo/feature.h"
#include "promo/data.h"

#define DATA_DIR PROMO_TEST_DATA "/timefeat/"

/* Output positions with the default options and the built-in events: 5 calendar features,
 * then days_to and days_since for new_year, cny, 618, national_day, double11, double12. */
enum {
  OUT_DOW,
  OUT_DOM,
  OUT_WEEK,
  OUT_MONTH,
  OUT_WEEKEND,
  OUT_TO_NEW_YEAR,
  OUT_SINCE_NEW_YEAR,
  OUT_TO_CNY,
  OUT_SINCE_CNY,
  OUT_TO_618,
  OUT_SINCE_618,
  OUT_TO_NATIONAL_DAY,
  OUT_SINCE_NATIONAL_DAY,
  OUT_TO_DOUBLE11,
  OUT_SINCE_DOUBLE11,
  OUT_TO_DOUBLE12,
  OUT_SINCE_DOUBLE12,
  N_DEFAULT_OUTPUTS
};

/* ===================================================================== helpers */

static int32_t day_of(const char *text) {
  int32_t day = 0;
  if (!promo_parse_date(text, strlen(text), &day, NULL)) fail_msg("bad test date %s", text);
  return day;
}

static promo_timefeat *create_with(const promo_timefeat_options *opt) {
  promo_timefeat *tf = NULL;
  promo_error err;
  promo_error_clear(&err);
  if (promo_timefeat_create("order_date", opt, &tf, &err) != PROMO_OK)
    fail_msg("create failed: %s", err.message);
  return tf;
}

static promo_timefeat *create_default(void) {
  return create_with(NULL);
}

/* Compute the default outputs of a date into out[N_DEFAULT_OUTPUTS]. */
static void compute_date(const promo_timefeat *tf, const char *date, float *out) {
  promo_error err;
  promo_error_clear(&err);
  if (promo_timefeat_compute(tf, day_of(date), false, out, &err) != PROMO_OK)
    fail_msg("%s: %s", date, err.message);
}

static void assert_output(const float *out, int index, int expected, const char *date) {
  if (out[index] != (float)expected)
    fail_msg("%s: output %d is %g, expected %d", date, index, (double)out[index], expected);
}

/* Read a CSV file of the test data into a table with the given column types. */
static promo_table *read_table(const char *path, const promo_type *types) {
  promo_csv *reader = NULL;
  promo_error err;
  promo_error_clear(&err);
  if (promo_csv_open(path, NULL, &reader, &err) != PROMO_OK) fail_msg("%s", err.message);
  size_t n_columns = promo_csv_n_columns(reader);
  const char **names = malloc(n_columns * sizeof *names);
  assert_non_null(names);
  for (size_t i = 0; i < n_columns; i++) names[i] = promo_csv_column_name(reader, i);
  promo_table *table = NULL;
  assert_int_equal(promo_table_create(n_columns, names, types, false, &table), PROMO_OK);
  promo_status st = promo_table_read(table, reader, 0, &err);
  if (st != PROMO_OK && st != PROMO_END) fail_msg("%s", err.message);
  free(names);
  promo_csv_close(reader);
  return table;
}

/* ===================================================================== calendar fields */

typedef struct calendar_case {
  const char *date;
  int dow, dom, week, month, weekend;
} calendar_case;

static void test_hand_checked_dates(void **state) {
  (void)state;
  static const calendar_case cases[] = {
      {"2024-11-11", 0, 11, 46, 11, 0}, /* 双11 2024 was a Monday */
      {"2024-11-16", 5, 16, 46, 11, 1}, /* Saturday */
      {"2024-11-17", 6, 17, 46, 11, 1}, /* Sunday ends ISO week 46 */
      {"2021-01-03", 6, 3, 53, 1, 1},   /* ISO 2020-W53-7 */
      {"2021-01-04", 0, 4, 1, 1, 0},    /* ISO 2021-W01-1 */
      {"2020-12-31", 3, 31, 53, 12, 0}, /* 2020 has 53 ISO weeks */
      {"2024-12-30", 0, 30, 1, 12, 0},  /* ISO 2025-W01-1 */
      {"2026-01-01", 3, 1, 1, 1, 0},    /* a Thursday starts week 1 */
      {"2027-01-01", 4, 1, 53, 1, 0},   /* ISO 2026-W53-5 */
      {"2024-02-29", 3, 29, 9, 2, 0},   /* leap day */
      {"1970-01-01", 3, 1, 1, 1, 0},    /* day 0, a Thursday */
      {"1969-12-31", 2, 31, 1, 12, 0},  /* day -1: ISO 1970-W01-3 */
  };
  promo_timefeat_options opt;
  promo_timefeat_options_init(&opt);
  opt.builtin_events = false;
  opt.features &= ~(unsigned)PROMO_TIMEFEAT_EVENTS;
  promo_timefeat *tf = create_with(&opt);
  assert_int_equal(promo_timefeat_n_outputs(tf), 5);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const calendar_case *c = &cases[i];
    float out[5];
    compute_date(tf, c->date, out);
    assert_output(out, OUT_DOW, c->dow, c->date);
    assert_output(out, OUT_DOM, c->dom, c->date);
    assert_output(out, OUT_WEEK, c->week, c->date);
    assert_output(out, OUT_MONTH, c->month, c->date);
    assert_output(out, OUT_WEEKEND, c->weekend, c->date);
  }
  promo_timefeat_free(tf);
}

static void test_hour_of_datetime(void **state) {
  (void)state;
  promo_timefeat_options opt;
  promo_timefeat_options_init(&opt);
  opt.features = PROMO_TIMEFEAT_DOW | PROMO_TIMEFEAT_HOUR;
  promo_timefeat *tf = create_with(&opt);
  float out[2];
  int64_t seconds = 0;
  assert_true(promo_parse_datetime("2024-11-11 23:59:59", 19, &seconds, NULL));
  assert_int_equal(promo_timefeat_compute(tf, seconds, true, out, NULL), PROMO_OK);
  assert_true(out[0] == 0.0f);
  assert_true(out[1] == 23.0f);

  /* One hour before the epoch is 23:00 on Wednesday 1969-12-31. */
  assert_int_equal(promo_timefeat_compute(tf, -3600, true, out, NULL), PROMO_OK);
  assert_true(out[0] == 2.0f);
  assert_true(out[1] == 23.0f);

  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_timefeat_compute(tf, day_of("2024-11-11"), false, out, &err),
                   PROMO_ERR_USAGE);
  assert_string_equal(err.message,
                      "the hour feature needs a datetime column, and 'order_date' holds dates");
  promo_timefeat_free(tf);
}

/* ===================================================================== built-in events */

static void test_distances_across_new_year(void **state) {
  (void)state;
  promo_timefeat *tf = create_default();
  assert_int_equal(promo_timefeat_n_outputs(tf), N_DEFAULT_OUTPUTS);
  float out[N_DEFAULT_OUTPUTS];

  /* 2024-12-31: 春节 2025 is on 2025-01-29, 29 days on; 春节 2024 was 325 days ago. */
  compute_date(tf, "2024-12-31", out);
  assert_output(out, OUT_TO_CNY, 29, "2024-12-31");
  assert_output(out, OUT_SINCE_CNY, 60, "2024-12-31");
  assert_output(out, OUT_TO_NEW_YEAR, 1, "2024-12-31");
  assert_output(out, OUT_SINCE_NEW_YEAR, 60, "2024-12-31");
  assert_output(out, OUT_SINCE_DOUBLE12, 19, "2024-12-31");
  assert_output(out, OUT_SINCE_DOUBLE11, 50, "2024-12-31");
  assert_output(out, OUT_TO_618, 60, "2024-12-31");

  compute_date(tf, "2025-01-01", out);
  assert_output(out, OUT_TO_NEW_YEAR, 0, "2025-01-01");
  assert_output(out, OUT_SINCE_NEW_YEAR, 0, "2025-01-01");
  assert_output(out, OUT_TO_CNY, 28, "2025-01-01");

  compute_date(tf, "2024-11-11", out);
  assert_output(out, OUT_TO_DOUBLE11, 0, "2024-11-11");
  assert_output(out, OUT_SINCE_DOUBLE11, 0, "2024-11-11");
  assert_output(out, OUT_TO_DOUBLE12, 31, "2024-11-11");
  assert_output(out, OUT_SINCE_NATIONAL_DAY, 41, "2024-11-11");
  assert_output(out, OUT_SINCE_618, 60, "2024-11-11");

  compute_date(tf, "2024-06-17", out);
  assert_output(out, OUT_TO_618, 1, "2024-06-17");
  assert_output(out, OUT_SINCE_618, 60, "2024-06-17");
  promo_timefeat_free(tf);

  /* With a one-year window the 325 days since 春节 2024 show. */
  promo_timefeat_options opt;
  promo_timefeat_options_init(&opt);
  opt.window_days = 366;
  tf = create_with(&opt);
  compute_date(tf, "2024-12-31", out);
  assert_output(out, OUT_SINCE_CNY, 325, "2024-12-31");
  assert_output(out, OUT_SINCE_NEW_YEAR, 365, "2024-12-31");
  assert_output(out, OUT_SINCE_618, 196, "2024-12-31");
  promo_timefeat_free(tf);
}

static void test_cny_known_years(void **state) {
  (void)state;
  static const char *const dates[] = {"2020-01-25", "2023-01-22", "2024-02-10", "2025-01-29",
                                      "2026-02-17", "2027-02-06", "2030-02-03", "1954-02-03"};
  promo_timefeat *tf = create_default();
  float out[N_DEFAULT_OUTPUTS];
  for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
    compute_date(tf, dates[i], out);
    assert_output(out, OUT_TO_CNY, 0, dates[i]);
    assert_output(out, OUT_SINCE_CNY, 0, dates[i]);
    float next[N_DEFAULT_OUTPUTS];
    assert_int_equal(promo_timefeat_compute(tf, day_of(dates[i]) + 1, false, next, NULL),
                     PROMO_OK);
    assert_output(next, OUT_SINCE_CNY, 1, dates[i]);
    assert_int_equal(promo_timefeat_compute(tf, day_of(dates[i]) - 1, false, next, NULL),
                     PROMO_OK);
    assert_output(next, OUT_TO_CNY, 1, dates[i]);
  }
  promo_timefeat_free(tf);
}

static void test_calendar_range(void **state) {
  (void)state;
  promo_timefeat *tf = create_default();
  float out[N_DEFAULT_OUTPUTS];
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_timefeat_compute(tf, day_of("2099-12-01"), false, out, &err),
                   PROMO_ERR_UNSUPPORTED);
  assert_string_equal(err.message,
                      "date 2099-12-01 is too close to or outside the built-in event calendar "
                      "(1900 to 2099, with a 60-day window); turn the built-in events off for "
                      "such dates");
  assert_string_equal(err.value, "2099-12-01");
  assert_int_equal(promo_timefeat_compute(tf, day_of("1900-01-15"), false, out, NULL),
                   PROMO_ERR_UNSUPPORTED);
  assert_int_equal(promo_timefeat_compute(tf, day_of("1900-03-02"), false, out, NULL),
                   PROMO_OK);
  assert_int_equal(promo_timefeat_compute(tf, day_of("2099-11-01"), false, out, NULL),
                   PROMO_OK);
  promo_timefeat_free(tf);

  /* Without the built-in events (and without event features) any day works. */
  promo_timefeat_options opt;
  promo_timefeat_options_init(&opt);
  opt.builtin_events = false;
  opt.features = PROMO_TIMEFEAT_MONTH;
  tf = create_with(&opt);
  assert_int_equal(promo_timefeat_compute(tf, day_of("1850-07-04"), false, out, NULL),
                   PROMO_OK);
  assert_true(out[0] == 7.0f);
  promo_timefeat_free(tf);
}

static void test_matches_reference(void **state) {
  (void)state;
  promo_type types[19];
  types[0] = PROMO_TYPE_DATETIME;
  for (int i = 1; i < 19; i++) types[i] = PROMO_TYPE_INT;
  promo_table *table = read_table(DATA_DIR "reference.csv", types);
  assert_int_equal(table->n_rows, 664);

  promo_timefeat_options opt;
  promo_timefeat_options_init(&opt);
  assert_int_equal(promo_timefeat_parse_spec("dow,dom,week,month,hour,weekend,events", &opt,
                                             NULL),
                   PROMO_OK);
  promo_timefeat *tf = NULL;
  assert_int_equal(promo_timefeat_create("datetime", &opt, &tf, NULL), PROMO_OK);
  size_t n_outputs = promo_timefeat_n_outputs(tf);
  assert_int_equal(n_outputs, 18);
  float *out = malloc(table->n_rows * n_outputs * sizeof *out);
  assert_non_null(out);
  promo_error err;
  promo_error_clear(&err);
  if (promo_timefeat_transform(tf, table, out, n_outputs, 0, &err) != PROMO_OK)
    fail_msg("line %lld: %s", (long long)err.line, err.message);

  for (size_t i = 0; i < n_outputs; i++) {
    char name[64];
    promo_timefeat_output_name(tf, i, name, sizeof name);
    ptrdiff_t c = promo_table_find(table, name);
    if (c < 0) fail_msg("output %s is not in the reference", name);
    for (size_t r = 0; r < table->n_rows; r++) {
      if (out[r * n_outputs + i] != (float)table->columns[c].ints[r])
        fail_msg("line %lld, %s: got %g, expected %lld", (long long)table->lines[r], name,
                 (double)out[r * n_outputs + i], (long long)table->columns[c].ints[r]);
    }
  }
  free(out);
  promo_timefeat_free(tf);
  promo_table_free(table);
}

/* ===================================================================== spec and names */

static void test_parse_spec(void **state) {
  (void)state;
  promo_timefeat_options opt;
  promo_timefeat_options_init(&opt);
  assert_int_equal(promo_timefeat_parse_spec(" dow, month ,events,window=30", &opt, NULL),
                   PROMO_OK);
  assert_int_equal(opt.features,
                   PROMO_TIMEFEAT_DOW | PROMO_TIMEFEAT_MONTH | PROMO_TIMEFEAT_EVENTS);
  assert_int_equal(opt.window_days, 30);
  assert_true(opt.builtin_events);

  assert_int_equal(promo_timefeat_parse_spec("hour", &opt, NULL), PROMO_OK);
  assert_int_equal(opt.features, PROMO_TIMEFEAT_HOUR);
  assert_int_equal(opt.window_days, 30);
}

static void expect_spec_error(const char *spec, int64_t column, const char *value) {
  promo_timefeat_options opt;
  promo_timefeat_options_init(&opt);
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_timefeat_parse_spec(spec, &opt, &err), PROMO_ERR_USAGE);
  assert_int_equal(err.column, column);
  assert_string_equal(err.value, value);
  assert_int_equal(opt.features, PROMO_TIMEFEAT_DOW | PROMO_TIMEFEAT_DOM | PROMO_TIMEFEAT_WEEK |
                                     PROMO_TIMEFEAT_MONTH | PROMO_TIMEFEAT_WEEKEND |
                                     PROMO_TIMEFEAT_EVENTS);
}

static void test_parse_spec_errors(void **state) {
  (void)state;
  expect_spec_error("dow,holiday", 5, "holiday");
  expect_spec_error("dow, Month", 6, "Month");
  expect_spec_error("window=0", 1, "window=0");
  expect_spec_error("dow,window=367", 5, "window=367");
  expect_spec_error("window=3x", 1, "window=3x");
  expect_spec_error("window=", 1, "window=");

  promo_timefeat_options opt;
  promo_timefeat_options_init(&opt);
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_timefeat_parse_spec("dow,holiday", &opt, &err), PROMO_ERR_USAGE);
  assert_string_equal(err.message, "unknown time feature 'holiday'; expected dow, dom, week, "
                                   "month, hour, weekend, events or window=DAYS (1 to 366)");
  assert_int_equal(promo_timefeat_parse_spec("", &opt, &err), PROMO_ERR_USAGE);
  assert_int_equal(promo_timefeat_parse_spec(" , ,", &opt, &err), PROMO_ERR_USAGE);
  assert_int_equal(promo_timefeat_parse_spec("window=20", &opt, &err), PROMO_ERR_USAGE);
}

static void test_output_names(void **state) {
  (void)state;
  static const char *const expected[] = {
      "day_of_week",          "day_of_month",          "iso_week",
      "month",                "is_weekend",            "days_to_new_year",
      "days_since_new_year",  "days_to_cny",           "days_since_cny",
      "days_to_618",          "days_since_618",        "days_to_national_day",
      "days_since_national_day", "days_to_double11",   "days_since_double11",
      "days_to_double12",     "days_since_double12"};
  promo_timefeat *tf = create_default();
  char name[64];
  for (size_t i = 0; i < N_DEFAULT_OUTPUTS; i++) {
    assert_int_equal(promo_timefeat_output_name(tf, i, name, sizeof name), strlen(expected[i]));
    assert_string_equal(name, expected[i]);
  }
  assert_int_equal(promo_timefeat_output_name(tf, N_DEFAULT_OUTPUTS, name, sizeof name), 0);
  assert_string_equal(name, "");
  assert_string_equal(promo_timefeat_column(tf), "order_date");
  promo_timefeat_free(tf);
}

static void test_create_rejects_options(void **state) {
  (void)state;
  promo_timefeat_options opt;
  promo_timefeat_options_init(&opt);
  promo_timefeat *tf = NULL;
  promo_error err;
  promo_error_clear(&err);
  opt.window_days = 0;
  assert_int_equal(promo_timefeat_create("d", &opt, &tf, &err), PROMO_ERR_USAGE);
  assert_string_equal(err.message, "event window of 0 days is outside 1 to 366");
  opt.window_days = 60;
  opt.features = 0;
  assert_int_equal(promo_timefeat_create("d", &opt, &tf, &err), PROMO_ERR_USAGE);
  opt.features = 1u << 9;
  assert_int_equal(promo_timefeat_create("d", &opt, &tf, &err), PROMO_ERR_USAGE);
  promo_timefeat_options_init(&opt);
  assert_int_equal(promo_timefeat_create("", &opt, &tf, &err), PROMO_ERR_USAGE);
  assert_null(tf);

  /* Events requested with the built-in calendar off and no user event. */
  opt.builtin_events = false;
  tf = create_with(&opt);
  float out[8];
  assert_int_equal(promo_timefeat_compute(tf, 0, false, out, &err), PROMO_ERR_USAGE);
  assert_string_equal(err.message, "event features were requested, but there are no events; "
                                   "turn the built-in calendar on or load an event file");
  promo_timefeat_free(tf);
}

/* ===================================================================== user events */

static promo_timefeat *create_user_only(void) {
  promo_timefeat_options opt;
  promo_timefeat_options_init(&opt);
  opt.builtin_events = false;
  opt.features = PROMO_TIMEFEAT_EVENTS;
  opt.window_days = 30;
  return create_with(&opt);
}

/* days_to and days_since of event `e` on a date. */
static void expect_distances(const promo_timefeat *tf, size_t e, const char *date, int to,
                             int since) {
  float out[2 * PROMO_TIMEFEAT_MAX_EVENTS];
  promo_error err;
  promo_error_clear(&err);
  if (promo_timefeat_compute(tf, day_of(date), false, out, &err) != PROMO_OK)
    fail_msg("%s: %s", date, err.message);
  if (out[2 * e] != (float)to || out[2 * e + 1] != (float)since)
    fail_msg("%s: event %zu gives to %g, since %g; expected %d, %d", date, e,
             (double)out[2 * e], (double)out[2 * e + 1], to, since);
}

static void test_multi_day_events(void **state) {
  (void)state;
  promo_timefeat *tf = create_user_only();
  assert_int_equal(promo_timefeat_add_event(tf, "sale", day_of("2024-06-01"),
                                            day_of("2024-06-03"), NULL),
                   PROMO_OK);
  expect_distances(tf, 0, "2024-05-25", 7, 30);
  expect_distances(tf, 0, "2024-06-01", 0, 0);
  expect_distances(tf, 0, "2024-06-03", 0, 0);
  expect_distances(tf, 0, "2024-06-04", 30, 1);
  expect_distances(tf, 0, "2024-07-03", 30, 30);

  /* Overlapping and touching occurrences merge into 2024-06-01 .. 2024-06-09. */
  assert_int_equal(promo_timefeat_add_event(tf, "sale", day_of("2024-06-02"),
                                            day_of("2024-06-05"), NULL),
                   PROMO_OK);
  assert_int_equal(promo_timefeat_add_event(tf, "sale", day_of("2024-06-06"),
                                            day_of("2024-06-09"), NULL),
                   PROMO_OK);
  expect_distances(tf, 0, "2024-06-07", 0, 0);
  expect_distances(tf, 0, "2024-06-12", 30, 3);

  /* A later occurrence and an earlier one, added out of order. */
  assert_int_equal(promo_timefeat_add_event(tf, "sale", day_of("2024-06-20"),
                                            day_of("2024-06-20"), NULL),
                   PROMO_OK);
  assert_int_equal(promo_timefeat_add_event(tf, "sale", day_of("2024-05-20"),
                                            day_of("2024-05-21"), NULL),
                   PROMO_OK);
  expect_distances(tf, 0, "2024-06-12", 8, 3);
  expect_distances(tf, 0, "2024-05-25", 7, 4);

  /* A second event gets the next pair of outputs. */
  assert_int_equal(promo_timefeat_add_event(tf, "member_day", day_of("2024-06-10"),
                                            day_of("2024-06-10"), NULL),
                   PROMO_OK);
  assert_int_equal(promo_timefeat_n_outputs(tf), 4);
  expect_distances(tf, 1, "2024-06-12", 30, 2);
  char name[64];
  promo_timefeat_output_name(tf, 3, name, sizeof name);
  assert_string_equal(name, "days_since_member_day");
  promo_timefeat_free(tf);
}

static void test_add_event_errors(void **state) {
  (void)state;
  promo_timefeat *tf = create_default();
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_timefeat_add_event(tf, "cny", 0, 0, &err), PROMO_ERR_DATA);
  assert_string_equal(err.message, "event 'cny' is a built-in event; rename it, or turn the "
                                   "built-in calendar off");
  assert_int_equal(promo_timefeat_add_event(tf, "sale", day_of("2024-06-03"),
                                            day_of("2024-06-01"), &err),
                   PROMO_ERR_DATA);
  assert_string_equal(err.message, "event 'sale' ends on 2024-06-01, before it starts on "
                                   "2024-06-03");
  assert_int_equal(promo_timefeat_add_event(tf, "", 0, 0, &err), PROMO_ERR_DATA);
  assert_string_equal(err.message, "the event name is empty");
  assert_int_equal(promo_timefeat_add_event(tf, "a\tb", 0, 0, &err), PROMO_ERR_DATA);
  assert_int_equal(promo_timefeat_add_event(tf, " sale", 0, 0, &err), PROMO_ERR_DATA);

  /* 6 built-in events leave room for 58 user events. */
  char name[16];
  for (int i = 0; i < PROMO_TIMEFEAT_MAX_EVENTS - 6; i++) {
    snprintf(name, sizeof name, "event%d", i);
    assert_int_equal(promo_timefeat_add_event(tf, name, i, i, NULL), PROMO_OK);
  }
  assert_int_equal(promo_timefeat_add_event(tf, "event0", 100, 100, NULL), PROMO_OK);
  assert_int_equal(promo_timefeat_add_event(tf, "one_more", 0, 0, &err), PROMO_ERR_USAGE);
  assert_string_equal(err.message, "too many events: at most 64, counting the built-in ones");
  assert_int_equal(promo_timefeat_n_outputs(tf), 5 + 2 * PROMO_TIMEFEAT_MAX_EVENTS);
  promo_timefeat_free(tf);
}

static void test_load_event_file(void **state) {
  (void)state;
  promo_timefeat *tf = create_user_only();
  promo_error err;
  promo_error_clear(&err);
  if (promo_timefeat_load_events(tf, DATA_DIR "events.csv", &err) != PROMO_OK)
    fail_msg("%s:%lld: %s", err.path, (long long)err.line, err.message);
  assert_int_equal(promo_timefeat_n_outputs(tf), 6);
  char name[64];
  promo_timefeat_output_name(tf, 0, name, sizeof name);
  assert_string_equal(name, "days_to_store_anniversary");
  promo_timefeat_output_name(tf, 2, name, sizeof name);
  assert_string_equal(name, "days_to_member_day");
  promo_timefeat_output_name(tf, 5, name, sizeof name);
  assert_string_equal(name, "days_since_会员日");

  expect_distances(tf, 0, "2024-05-02", 0, 0);
  expect_distances(tf, 0, "2024-05-06", 30, 3);
  expect_distances(tf, 0, "2023-05-02", 30, 1);
  expect_distances(tf, 1, "2024-11-18", 2, 30);
  expect_distances(tf, 2, "2024-12-05", 0, 0);
  expect_distances(tf, 2, "2024-12-06", 30, 1);
  promo_timefeat_free(tf);
}

/* Load an event file that must fail at path:line:column with message. */
static void expect_file_error(const char *file, promo_status status, int64_t line,
                              int64_t column, const char *message, const char *value) {
  promo_timefeat *tf = create_default();
  promo_error err;
  promo_error_clear(&err);
  char path[512];
  snprintf(path, sizeof path, "%s%s", DATA_DIR, file);
  assert_int_equal(promo_timefeat_load_events(tf, path, &err), status);
  assert_string_equal(err.path, path);
  assert_int_equal(err.line, line);
  assert_int_equal(err.column, column);
  assert_string_equal(err.message, message);
  if (value != NULL) assert_string_equal(err.value, value);
  promo_timefeat_free(tf);
}

static void test_event_file_errors(void **state) {
  (void)state;
  expect_file_error("events_bad_date.csv", PROMO_ERR_DATA, 3, 2,
                    "invalid date '2024-13-01'; expected a date such as 2024-11-11",
                    "2024-13-01");
  expect_file_error("events_end_before_start.csv", PROMO_ERR_DATA, 2, 3,
                    "event 'summer_sale' ends on 2024-06-01, before it starts on 2024-06-10",
                    "2024-06-01");
  expect_file_error("events_no_date_column.csv", PROMO_ERR_DATA, 1, 0,
                    "the event file has no 'date' column; its header needs name and date, and "
                    "may add end_date",
                    NULL);
  expect_file_error("events_empty_name.csv", PROMO_ERR_DATA, 3, 1, "the event name is empty",
                    NULL);
  expect_file_error("events_builtin_name.csv", PROMO_ERR_DATA, 3, 1,
                    "event 'cny' is a built-in event; rename it, or turn the built-in calendar "
                    "off",
                    "cny");

  promo_timefeat *tf = create_default();
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_timefeat_load_events(tf, DATA_DIR "no_such_file.csv", &err),
                   PROMO_ERR_IO);
  promo_timefeat_free(tf);
}

/* ===================================================================== transform */

static void test_transform_table(void **state) {
  (void)state;
  const char csv[] = "id,order_date,amount\n1,2024-11-11,5\n2,2024-12-31,7\n3,,9\n";
  promo_csv *reader = NULL;
  assert_int_equal(promo_csv_open_memory(csv, sizeof csv - 1, "orders.csv", NULL, &reader, NULL),
                   PROMO_OK);
  const char *names[] = {"id", "order_date", "amount"};
  const promo_type types[] = {PROMO_TYPE_INT, PROMO_TYPE_DATE, PROMO_TYPE_INT};
  promo_table *table = NULL;
  assert_int_equal(promo_table_create(3, names, types, false, &table), PROMO_OK);
  assert_int_not_equal(promo_table_read(table, reader, 0, NULL), PROMO_ERR_DATA);
  promo_csv_close(reader);
  assert_int_equal(table->n_rows, 3);

  /* The outputs go to columns 2 .. 18 of rows of 20 values; the rest keep their sentinel. */
  promo_timefeat *tf = create_default();
  size_t stride = 20, offset = 2;
  float out[3 * 20];
  for (size_t i = 0; i < 3 * stride; i++) out[i] = -1.0f;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_timefeat_transform(tf, table, out, stride, offset, &err),
                   PROMO_ERR_DATA);
  assert_int_equal(err.line, 4);
  assert_string_equal(err.column_name, "order_date");
  assert_string_equal(err.message, "column 'order_date' has a missing or invalid date; fill or "
                                   "drop such rows before computing time features");
  assert_true(out[offset + OUT_DOW] == 0.0f);
  assert_true(out[offset + OUT_TO_DOUBLE11] == 0.0f);
  assert_true(out[stride + offset + OUT_TO_CNY] == 29.0f);
  assert_true(out[0] == -1.0f && out[1] == -1.0f && out[19] == -1.0f);
  assert_true(out[2 * stride + offset] == -1.0f);

  assert_int_equal(promo_timefeat_transform(tf, table, out, 18, 2, &err), PROMO_ERR_USAGE);
  assert_string_equal(err.message, "time feature columns 3 to 19 do not fit in rows of 18 values");
  promo_timefeat_free(tf);

  assert_int_equal(promo_timefeat_create("amount", NULL, &tf, NULL), PROMO_OK);
  assert_int_equal(promo_timefeat_transform(tf, table, out, stride, 0, &err), PROMO_ERR_USAGE);
  assert_string_equal(err.message, "column 'amount' holds integer values; time features need a "
                                   "date or datetime column");
  promo_timefeat_free(tf);

  assert_int_equal(promo_timefeat_create("ship_date", NULL, &tf, NULL), PROMO_OK);
  assert_int_equal(promo_timefeat_transform(tf, table, out, stride, 0, &err), PROMO_ERR_USAGE);
  assert_string_equal(err.message, "column 'ship_date' for time features not found");
  promo_timefeat_free(tf);
  promo_table_free(table);
}

/* ===================================================================== JSON */

static void test_json_round_trip(void **state) {
  (void)state;
  promo_timefeat_options opt;
  promo_timefeat_options_init(&opt);
  assert_int_equal(promo_timefeat_parse_spec("dow,week,hour,events,window=45", &opt, NULL),
                   PROMO_OK);
  promo_timefeat *tf = NULL;
  assert_int_equal(promo_timefeat_create("paid_at", &opt, &tf, NULL), PROMO_OK);
  assert_int_equal(promo_timefeat_load_events(tf, DATA_DIR "events.csv", NULL), PROMO_OK);

  json_t *json = NULL;
  assert_int_equal(promo_timefeat_to_json(tf, &json), PROMO_OK);
  char *text = json_dumps(json, JSON_COMPACT);
  assert_non_null(text);
  assert_string_equal(text,
                      "{\"type\":\"time_features\",\"version\":1,\"column\":\"paid_at\","
                      "\"features\":[\"dow\",\"week\",\"hour\",\"events\"],\"window_days\":45,"
                      "\"builtin_events\":true,\"events\":["
                      "{\"name\":\"store_anniversary\",\"occurrences\":[[\"2023-05-01\","
                      "\"2023-05-01\"],[\"2024-05-01\",\"2024-05-03\"]]},"
                      "{\"name\":\"member_day\",\"occurrences\":[[\"2024-11-20\",\"2024-11-20\"]]},"
                      "{\"name\":\"会员日\",\"occurrences\":[[\"2024-12-05\",\"2024-12-05\"]]}]}");
  json_decref(json);

  json_t *loaded = json_loads(text, 0, NULL);
  free(text);
  assert_non_null(loaded);
  promo_timefeat *copy = NULL;
  promo_error err;
  promo_error_clear(&err);
  if (promo_timefeat_from_json(loaded, &copy, &err) != PROMO_OK) fail_msg("%s", err.message);
  json_decref(loaded);

  size_t n = promo_timefeat_n_outputs(tf);
  assert_int_equal(promo_timefeat_n_outputs(copy), n);
  assert_string_equal(promo_timefeat_column(copy), "paid_at");
  float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
  assert_non_null(a);
  assert_non_null(b);
  int64_t start = 0;
  assert_true(promo_parse_datetime("2023-01-01 00:30:00", 19, &start, NULL));
  for (int64_t s = start; s < start + 730 * 86400LL; s += 86400 / 4 + 7) {
    assert_int_equal(promo_timefeat_compute(tf, s, true, a, NULL), PROMO_OK);
    assert_int_equal(promo_timefeat_compute(copy, s, true, b, NULL), PROMO_OK);
    assert_memory_equal(a, b, n * sizeof *a);
  }
  free(a);
  free(b);
  promo_timefeat_free(copy);
  promo_timefeat_free(tf);
}

static void expect_json_rejected(const char *text, const char *key) {
  json_t *json = json_loads(text, 0, NULL);
  assert_non_null(json);
  promo_timefeat *tf = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_timefeat_from_json(json, &tf, &err), PROMO_ERR_DATA);
  assert_null(tf);
  assert_string_equal(err.column_name, key);
  json_decref(json);
}

static void test_json_rejects_invalid(void **state) {
  (void)state;
  expect_json_rejected("{\"type\":\"pca\"}", "type");
  expect_json_rejected("{\"type\":\"time_features\",\"version\":1}", "column");
  expect_json_rejected("{\"type\":\"time_features\",\"version\":2,\"column\":\"d\"}", "version");
  expect_json_rejected("{\"type\":\"time_features\",\"version\":1,\"column\":\"d\","
                       "\"features\":[\"dow\",\"year\"]}",
                       "features");
  expect_json_rejected("{\"type\":\"time_features\",\"version\":1,\"column\":\"d\","
                       "\"features\":[\"dow\"],\"window_days\":0,\"builtin_events\":true}",
                       "window_days");
  expect_json_rejected("{\"type\":\"time_features\",\"version\":1,\"column\":\"d\","
                       "\"features\":[\"dow\"],\"window_days\":9,\"builtin_events\":1}",
                       "builtin_events");
  expect_json_rejected("{\"type\":\"time_features\",\"version\":1,\"column\":\"d\","
                       "\"features\":[\"dow\"],\"window_days\":9,\"builtin_events\":true,"
                       "\"events\":[{\"name\":\"x\",\"occurrences\":[[\"2024-01-01\"]]}]}",
                       "events");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hand_checked_dates),
      cmocka_unit_test(test_hour_of_datetime),
      cmocka_unit_test(test_distances_across_new_year),
      cmocka_unit_test(test_cny_known_years),
      cmocka_unit_test(test_calendar_range),
      cmocka_unit_test(test_matches_reference),
      cmocka_unit_test(test_parse_spec),
      cmocka_unit_test(test_parse_spec_errors),
      cmocka_unit_test(test_output_names),
      cmocka_unit_test(test_create_rejects_options),
      cmocka_unit_test(test_multi_day_events),
      cmocka_unit_test(test_add_event_errors),
      cmocka_unit_test(test_load_event_file),
      cmocka_unit_test(test_event_file_errors),
      cmocka_unit_test(test_transform_table),
      cmocka_unit_test(test_json_round_trip),
      cmocka_unit_test(test_json_rejects_invalid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
