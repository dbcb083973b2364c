/* Unit tests of the window features (feature stage): the spec grammar and names, JSON
 * round trips, hand-computed windows for each aggregate and boundary, and key matching
 * across tables. Random logs check leakage of future events, thread-count invariance and
 * agreement with a naive scan over all events. */
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

/* ------------------------------------------------------------------ table helpers */

/* Marks a missing cell in the int64 arrays given to make_table. */
#define NA_INT INT64_MIN
#define DAY 86400
#define HOUR 3600
/* 2024-01-01 00:00:00 UTC, so that test times read as small offsets. */
#define T0 1704067200LL

/* One column of a test table: ints for BOOL, INT, DATE and DATETIME (NA_INT missing),
 * reals for DECIMAL (NaN missing), strings for CATEGORICAL and TEXT (NULL missing). */
typedef struct column_def {
  const char *name;
  promo_type type;
  const int64_t *ints;
  const double *reals;
  const char *const *strings;
} column_def;

enum { MAX_TEST_COLUMNS = 8 };

/* Build a table straight from arrays, as a reader would leave it. */
static promo_table *make_table(size_t n_rows, size_t n_columns, const column_def *defs) {
  const char *names[MAX_TEST_COLUMNS];
  promo_type types[MAX_TEST_COLUMNS];
  assert_true(n_columns <= MAX_TEST_COLUMNS);
  for (size_t c = 0; c < n_columns; c++) {
    names[c] = defs[c].name;
    types[c] = defs[c].type;
  }
  promo_table *table = NULL;
  assert_int_equal(promo_table_create(n_columns, names, types, false, &table), PROMO_OK);
  size_t capacity = n_rows > 0 ? n_rows : 1;
  table->capacity = capacity;
  table->n_rows = n_rows;
  table->lines = calloc(capacity, sizeof *table->lines);
  assert_non_null(table->lines);
  for (size_t c = 0; c < n_columns; c++) {
    promo_column *col = &table->columns[c];
    col->is_missing = calloc(capacity, 1);
    col->is_invalid = calloc(capacity, 1);
    col->is_plain = calloc(capacity, 1);
    assert_non_null(col->is_missing);
    assert_non_null(col->is_invalid);
    assert_non_null(col->is_plain);
    if (defs[c].type == PROMO_TYPE_DECIMAL) {
      col->reals = calloc(capacity, sizeof *col->reals);
      assert_non_null(col->reals);
      for (size_t r = 0; r < n_rows; r++) {
        col->reals[r] = defs[c].reals[r];
        col->is_missing[r] = isnan(defs[c].reals[r]);
      }
    } else if (promo_type_is_string(defs[c].type)) {
      col->codes = calloc(capacity, sizeof *col->codes);
      assert_non_null(col->codes);
      for (size_t r = 0; r < n_rows; r++) {
        const char *s = defs[c].strings[r];
        col->is_missing[r] = s == NULL;
        if (s != NULL)
          assert_int_equal(promo_dict_intern(col->dict, s, strlen(s), &col->codes[r]), PROMO_OK);
      }
    } else {
      col->ints = calloc(capacity, sizeof *col->ints);
      assert_non_null(col->ints);
      for (size_t r = 0; r < n_rows; r++) {
        col->ints[r] = defs[c].ints[r] == NA_INT ? 0 : defs[c].ints[r];
        col->is_missing[r] = defs[c].ints[r] == NA_INT;
      }
    }
  }
  return table;
}

/* Read a table from CSV text with the given column types. */
static promo_table *read_table(const char *csv, const promo_type *types) {
  promo_csv_options opt;
  promo_csv_options_init(&opt);
  opt.delimiter = ',';
  promo_error err;
  promo_error_clear(&err);
  promo_csv *reader = NULL;
  assert_int_equal(promo_csv_open_memory(csv, strlen(csv), "test.csv", &opt, &reader, &err),
                   PROMO_OK);
  size_t n = promo_csv_n_columns(reader);
  const char *names[MAX_TEST_COLUMNS];
  assert_true(n <= MAX_TEST_COLUMNS);
  for (size_t c = 0; c < n; c++) names[c] = promo_csv_column_name(reader, c);
  promo_table *table = NULL;
  assert_int_equal(promo_table_create(n, names, types, false, &table), PROMO_OK);
  promo_status status = promo_table_read(table, reader, 0, &err);
  assert_true(status == PROMO_OK || status == PROMO_END);
  promo_csv_close(reader);
  return table;
}

/* Read a table from a CSV file under tests/data with the given column types. */
static promo_table *read_table_file(const char *name, const promo_type *types) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", PROMO_TEST_DATA, name);
  promo_csv_options opt;
  promo_csv_options_init(&opt);
  promo_error err;
  promo_error_clear(&err);
  promo_csv *reader = NULL;
  if (promo_csv_open(path, &opt, &reader, &err) != PROMO_OK) fail_msg("%s: %s", path, err.message);
  size_t n = promo_csv_n_columns(reader);
  const char *names[MAX_TEST_COLUMNS];
  assert_true(n <= MAX_TEST_COLUMNS);
  for (size_t c = 0; c < n; c++) names[c] = promo_csv_column_name(reader, c);
  promo_table *table = NULL;
  assert_int_equal(promo_table_create(n, names, types, false, &table), PROMO_OK);
  promo_status status = promo_table_read(table, reader, 0, &err);
  assert_true(status == PROMO_OK || status == PROMO_END);
  promo_csv_close(reader);
  return table;
}

/* Parse spec texts and build a window over columns user/time/type (events) and
 * user/time (rows) unless opt is given. */
static promo_window *make_window(size_t n, const char *const *texts,
                                 const promo_window_options *opt) {
  promo_window_spec specs[16];
  assert_true(n <= 16);
  promo_error err;
  promo_error_clear(&err);
  for (size_t i = 0; i < n; i++) {
    promo_status status = promo_window_spec_parse(texts[i], &specs[i], &err);
    if (status != PROMO_OK) fail_msg("%s: %s", texts[i], err.message);
  }
  promo_window_options defaults;
  promo_window_options_init(&defaults);
  defaults.event_time_column = "time";
  defaults.event_type_column = "type";
  defaults.row_time_column = "time";
  promo_window *window = NULL;
  promo_status status = promo_window_create(specs, n, opt != NULL ? opt : &defaults, &window, &err);
  if (status != PROMO_OK) fail_msg("%s", err.message);
  return window;
}

static promo_context threads_context(int n_threads) {
  promo_context ctx;
  promo_context_init(&ctx);
  ctx.n_threads = n_threads;
  return ctx;
}

/* Compute into a fresh [n_rows x n_specs] matrix; the caller frees it. */
static float *compute(const promo_window *window, const promo_table *events,
                      const promo_table *rows, int n_threads) {
  size_t n_specs = promo_window_n_specs(window);
  float *out = malloc((rows->n_rows > 0 ? rows->n_rows : 1) * n_specs * sizeof *out);
  assert_non_null(out);
  promo_context ctx = threads_context(n_threads);
  promo_error err;
  promo_error_clear(&err);
  promo_status status = promo_window_compute(window, events, "events.csv", rows, "rows.csv", &ctx,
                                             out, n_specs, NULL, &err);
  if (status != PROMO_OK) fail_msg("%s", err.message);
  return out;
}

/* Exact float comparison where NaN equals NaN. */
static void assert_feature(float got, double expected, size_t row, size_t spec) {
  if (isnan(expected)) {
    if (!isnan(got)) fail_msg("row %zu spec %zu: got %.9g, expected NaN", row, spec, got);
    return;
  }
  if (got != (float)expected)
    fail_msg("row %zu spec %zu: got %.9g, expected %.9g", row, spec, got, expected);
}

/* ------------------------------------------------------------------ spec text */

typedef struct parse_case {
  const char *text;
  promo_window_aggregate aggregate;
  const char *keys;  /* joined with '+', "" for none */
  const char *types; /* joined with '+', "" for every event */
  const char *base_types;
  const char *value_column;
  int64_t window_s;
  const char *name;      /* promo_window_spec_name */
  const char *formatted; /* promo_window_spec_format */
} parse_case;

static const parse_case parse_cases[] = {
    {"count:view:7d", PROMO_WINDOW_COUNT, "", "view", "", "", 7 * DAY, "view_count_7d",
     "count:view:7d"},
    {"count:view:7d@user_id+item_id", PROMO_WINDOW_COUNT, "user_id+item_id", "view", "", "",
     7 * DAY, "user_id_item_id_view_count_7d", "count:view:7d@user_id+item_id"},
    {"count:cart:24h@user", PROMO_WINDOW_COUNT, "user", "cart", "", "", 24 * HOUR,
     "user_cart_count_24h", "count:cart:24h@user"},
    {"COUNT:view+cart:90MIN@user", PROMO_WINDOW_COUNT, "user", "view+cart", "", "", 90 * 60,
     "user_view_cart_count_90min", "count:view+cart:90min@user"},
    {"count:*:all@user", PROMO_WINDOW_COUNT, "user", "", "", "", 0, "user_all_count_all",
     "count:*:all@user"},
    {"count:buy:2w@user", PROMO_WINDOW_COUNT, "user", "buy", "", "", 14 * DAY, "user_buy_count_2w",
     "count:buy:2w@user"},
    {"count:buy:45s@user", PROMO_WINDOW_COUNT, "user", "buy", "", "", 45, "user_buy_count_45s",
     "count:buy:45s@user"},
    {"sum:amount:buy:30d@user", PROMO_WINDOW_SUM, "user", "buy", "", "amount", 30 * DAY,
     "user_buy_amount_sum_30d", "sum:amount:buy:30d@user"},
    {"mean:amount:buy+refund:30d@user", PROMO_WINDOW_MEAN, "user", "buy+refund", "", "amount",
     30 * DAY, "user_buy_refund_amount_mean_30d", "mean:amount:buy+refund:30d@user"},
    {"rate:used/received:30d@merchant_id", PROMO_WINDOW_RATE, "merchant_id", "used", "received", "",
     30 * DAY, "merchant_id_used_per_received_rate_30d", "rate:used/received:30d@merchant_id"},
    {"rate:buy/*:7d@user", PROMO_WINDOW_RATE, "user", "buy", "", "", 7 * DAY,
     "user_buy_per_all_rate_7d", "rate:buy/*:7d@user"},
    {"recency:buy@user", PROMO_WINDOW_RECENCY, "user", "buy", "", "", 0, "user_buy_recency",
     "recency:buy@user"},
    {"recency:buy:30d@user", PROMO_WINDOW_RECENCY, "user", "buy", "", "", 30 * DAY,
     "user_buy_recency_30d", "recency:buy:30d@user"},
    {" views_7d = count : view : 7d @ user ", PROMO_WINDOW_COUNT, "user", "view", "", "", 7 * DAY,
     "views_7d", "views_7d=count:view:7d@user"},
    {"浏览=count:浏览:7d@用户", PROMO_WINDOW_COUNT, "用户", "浏览", "", "", 7 * DAY, "浏览",
     "浏览=count:浏览:7d@用户"},
};

static void join(char *buf, size_t size, const char (*items)[PROMO_WINDOW_TYPE_SIZE], size_t n) {
  buf[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    if (i > 0) strncat(buf, "+", size - strlen(buf) - 1);
    strncat(buf, items[i], size - strlen(buf) - 1);
  }
}

static void spec_parse_forms(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
    const parse_case *c = &parse_cases[i];
    promo_window_spec spec;
    promo_error err;
    promo_error_clear(&err);
    if (promo_window_spec_parse(c->text, &spec, &err) != PROMO_OK)
      fail_msg("%s: %s", c->text, err.message);
    assert_int_equal(spec.aggregate, c->aggregate);
    char keys[300] = "";
    for (size_t k = 0; k < spec.n_keys; k++) {
      if (k > 0) strcat(keys, "+");
      strcat(keys, spec.keys[k]);
    }
    assert_string_equal(keys, c->keys);
    char joined[600];
    const promo_window_spec *parsed = &spec;
    join(joined, sizeof joined, parsed->types, parsed->n_types);
    assert_string_equal(joined, c->types);
    join(joined, sizeof joined, parsed->base_types, parsed->n_base_types);
    assert_string_equal(joined, c->base_types);
    assert_string_equal(spec.value_column, c->value_column);
    assert_int_equal(spec.window_s, c->window_s);

    char text[256];
    assert_int_equal(promo_window_spec_name(&spec, text, sizeof text), strlen(c->name));
    assert_string_equal(text, c->name);
    assert_int_equal(promo_window_spec_format(&spec, text, sizeof text), strlen(c->formatted));
    assert_string_equal(text, c->formatted);

    /* The formatted text parses back to the same spec. */
    promo_window_spec again;
    assert_int_equal(promo_window_spec_parse(text, &again, &err), PROMO_OK);
    assert_memory_equal(&again, &spec, sizeof spec);
  }
}

typedef struct parse_error_case {
  const char *text;
  int64_t column; /* 1-based byte position of the problem */
  const char *message_part;
} parse_error_case;

static const parse_error_case parse_error_cases[] = {
    {"", 1, "unknown aggregate ''"},
    {"total:view:7d", 1, "unknown aggregate 'total'"},
    {"count:view", 1, "write count:TYPES:WINDOW"},
    {"count:view:7d:x", 1, "write count:TYPES:WINDOW"},
    {"sum:buy:7d", 1, "write sum:COLUMN:TYPES:WINDOW"},
    {"count:view:7", 12, "must be a whole number and a unit"},
    {"count:view:1.5d", 12, "must be a whole number and a unit"},
    {"count:view:-7d", 12, "must be a whole number and a unit"},
    {"count:view:0d", 12, "must be positive"},
    {"count:view:7x", 13, "unknown unit"},
    {"count:view:30m", 14, "could mean minutes or months"},
    {"count:view:99999999999999999999d", 12, "longer than 100 years"},
    {"count:view:36600w", 12, "longer than 100 years"},
    {"count:view+:7d", 12, "event type is empty"},
    {"count:a+b+c+d+e+f+g+h+i:7d", 7, "more than 8 event types"},
    {"rate:used:7d", 6, "needs two type sets"},
    {"rate:used/:7d", 11, "event type is empty"},
    {"count:view:7d@", 15, "key column is empty"},
    {"count:view:7d@a+b+c", 15, "more than 2 key columns"},
    {"=count:view:7d", 1, "output column name is empty"},
    {"sum::buy:7d", 5, "value column is empty"},
    {"recency:buy:7d:1", 1, "write recency:TYPES[:WINDOW]"},
};

static void spec_parse_errors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof parse_error_cases / sizeof parse_error_cases[0]; i++) {
    const parse_error_case *c = &parse_error_cases[i];
    promo_window_spec spec;
    memset(&spec, 0x5a, sizeof spec);
    promo_error err;
    promo_error_clear(&err);
    promo_status status = promo_window_spec_parse(c->text, &spec, &err);
    if (status != PROMO_ERR_USAGE) fail_msg("'%s' was accepted", c->text);
    if (strstr(err.message, c->message_part) == NULL)
      fail_msg("'%s': message '%s' lacks '%s'", c->text, err.message, c->message_part);
    if (strstr(err.message, "invalid window spec") == NULL) fail_msg("%s", err.message);
    if (err.column != c->column)
      fail_msg("'%s': column %lld, expected %lld", c->text, (long long)err.column,
               (long long)c->column);
    assert_string_equal(err.value, c->text);
    promo_window_spec zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(&spec, &zero, sizeof spec);
  }
  promo_window_spec spec;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_window_spec_parse(NULL, &spec, &err), PROMO_ERR_USAGE);
}

static void name_reports_needed_length(void **state) {
  (void)state;
  promo_window_spec spec;
  assert_int_equal(promo_window_spec_parse("count:view:7d@user", &spec, NULL), PROMO_OK);
  char small[8];
  assert_int_equal(promo_window_spec_name(&spec, small, sizeof small),
                   strlen("user_view_count_7d"));
  assert_string_equal(small, "user_vi");
  /* A hand-built window is named in the largest unit that divides it. */
  spec.window_s = 2 * DAY;
  spec.window_unit_s = 0;
  char name[64];
  promo_window_spec_name(&spec, name, sizeof name);
  assert_string_equal(name, "user_view_count_2d");
  spec.window_s = 90;
  promo_window_spec_name(&spec, name, sizeof name);
  assert_string_equal(name, "user_view_count_90s");
}

/* ------------------------------------------------------------------ window sets */

static promo_status create_from(const char *const *texts, size_t n, promo_window_options *opt,
                                promo_window **out, promo_error *err) {
  promo_window_spec specs[8];
  for (size_t i = 0; i < n; i++)
    assert_int_equal(promo_window_spec_parse(texts[i], &specs[i], NULL), PROMO_OK);
  return promo_window_create(specs, n, opt, out, err);
}

static void create_rejects_bad_sets(void **state) {
  (void)state;
  promo_window_options opt;
  promo_window_options_init(&opt);
  opt.event_time_column = "time";
  opt.event_type_column = "type";
  opt.row_time_column = "time";
  promo_window *window = NULL;
  promo_error err;

  promo_error_clear(&err);
  const char *no_keys[] = {"count:view:7d"};
  assert_int_equal(create_from(no_keys, 1, &opt, &window, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "names no key columns"));
  assert_string_equal(err.value, "count:view:7d");
  assert_null(window);

  promo_error_clear(&err);
  const char *same_name[] = {"count:view:7d@user", "n=count:buy:7d@user",
                             "user_view_count_7d=count:buy:1d@user"};
  assert_int_equal(create_from(same_name, 3, &opt, &window, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "same output column name"));
  assert_string_equal(err.value, "user_view_count_7d=count:buy:1d@user");

  promo_error_clear(&err);
  assert_int_equal(create_from(same_name, 0, &opt, &window, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "no window specs"));

  promo_error_clear(&err);
  const char *typed[] = {"count:view:7d@user"};
  opt.event_type_column = NULL;
  assert_int_equal(create_from(typed, 1, &opt, &window, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "type column"));
  const char *untyped[] = {"count:*:7d@user"};
  assert_int_equal(create_from(untyped, 1, &opt, &window, &err), PROMO_OK);
  promo_window_free(window);
  window = NULL;

  promo_error_clear(&err);
  opt.row_time_column = NULL;
  assert_int_equal(create_from(untyped, 1, &opt, &window, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "rows' time column"));
  opt.row_time_column = "time";

  /* Hand-built specs get the same checks as parsed ones. */
  promo_error_clear(&err);
  promo_window_spec spec;
  assert_int_equal(promo_window_spec_parse("sum:amount:*:7d@user", &spec, NULL), PROMO_OK);
  spec.value_column[0] = '\0';
  assert_int_equal(promo_window_create(&spec, 1, &opt, &window, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "needs a value column"));
  assert_int_equal(promo_window_spec_parse("count:*:7d@user", &spec, NULL), PROMO_OK);
  spec.window_s = -5;
  assert_int_equal(promo_window_create(&spec, 1, &opt, &window, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "negative"));
  spec.window_s = 5;
  spec.aggregate = PROMO_WINDOW_N_AGGREGATES;
  assert_int_equal(promo_window_create(&spec, 1, &opt, &window, &err), PROMO_ERR_USAGE);
  spec.aggregate = PROMO_WINDOW_COUNT;
  memset(spec.keys[0], 'k', sizeof spec.keys[0] - 1);
  spec.keys[0][sizeof spec.keys[0] - 1] = '\0';
  assert_int_equal(promo_window_create(&spec, 1, &opt, &window, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "NAME="));
  assert_null(window);
}

static void create_limits_type_sets(void **state) {
  (void)state;
  promo_window_options opt;
  promo_window_options_init(&opt);
  opt.event_time_column = "time";
  opt.event_type_column = "type";
  opt.row_time_column = "time";
  promo_window_spec specs[33];
  for (int i = 0; i < 33; i++) {
    char text[64];
    snprintf(text, sizeof text, "count:t%d:7d@user", i);
    assert_int_equal(promo_window_spec_parse(text, &specs[i], NULL), PROMO_OK);
  }
  promo_window *window = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_window_create(specs, 32, &opt, &window, &err), PROMO_OK);
  promo_window_free(window);
  window = NULL;
  assert_int_equal(promo_window_create(specs, 33, &opt, &window, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "more than 32"));
  assert_null(window);
}

static void json_round_trip(void **state) {
  (void)state;
  const char *texts[] = {"count:view+cart:7d@uid+item",
                         "total=sum:amount:buy:30d@uid",
                         "mean:amount:*:all@uid",
                         "rate:used/received:12h@shop",
                         "recency:buy@uid",
                         "recency:buy:90min@uid"};
  const char *event_keys[] = {"uid", "shop"};
  const char *row_keys[] = {"user_id", "shop_id"};
  promo_window_options opt;
  promo_window_options_init(&opt);
  opt.event_time_column = "ts";
  opt.event_type_column = "action";
  opt.row_time_column = "day";
  opt.n_key_renames = 2;
  opt.event_keys = event_keys;
  opt.row_keys = row_keys;
  promo_window *window = make_window(6, texts, &opt);

  json_t *json = NULL;
  assert_int_equal(promo_window_to_json(window, &json), PROMO_OK);
  char *dumped = json_dumps(json, JSON_SORT_KEYS);
  assert_non_null(dumped);
  json_error_t jerr;
  json_t *loaded = json_loads(dumped, 0, &jerr);
  assert_non_null(loaded);
  assert_string_equal(json_string_value(json_object_get(
                          json_array_get(json_object_get(loaded, "specs"), 0), "window")),
                      "7d");
  assert_true(
      json_is_null(json_object_get(json_array_get(json_object_get(loaded, "specs"), 0), "name")));

  promo_window *back = NULL;
  promo_error err;
  promo_error_clear(&err);
  if (promo_window_from_json(loaded, &back, &err) != PROMO_OK) fail_msg("%s", err.message);
  assert_int_equal(promo_window_n_specs(back), 6);
  for (size_t s = 0; s < 6; s++)
    assert_memory_equal(promo_window_spec_at(back, s), promo_window_spec_at(window, s),
                        sizeof(promo_window_spec));
  assert_null(promo_window_spec_at(back, 6));

  json_t *again = NULL;
  assert_int_equal(promo_window_to_json(back, &again), PROMO_OK);
  assert_true(json_equal(json, again));
  promo_window_free(back);
  back = NULL;

  /* Damaged members are named in the error. */
  json_object_set_new(loaded, "row_time_column", json_integer(3));
  assert_int_equal(promo_window_from_json(loaded, &back, &err), PROMO_ERR_DATA);
  assert_non_null(strstr(err.message, "row_time_column"));
  json_object_set_new(loaded, "row_time_column", json_string("day"));
  json_object_set_new(json_array_get(json_object_get(loaded, "specs"), 1), "window",
                      json_string("7 days"));
  assert_int_equal(promo_window_from_json(loaded, &back, &err), PROMO_ERR_DATA);
  assert_non_null(strstr(err.message, "window '7 days'"));
  json_object_set_new(json_array_get(json_object_get(loaded, "specs"), 1), "window",
                      json_string("30d"));
  json_object_set_new(json_array_get(json_object_get(loaded, "specs"), 1), "aggregate",
                      json_string("median"));
  assert_int_equal(promo_window_from_json(loaded, &back, &err), PROMO_ERR_DATA);
  assert_non_null(strstr(err.message, "aggregate"));
  json_object_set_new(json_array_get(json_object_get(loaded, "specs"), 1), "aggregate",
                      json_string("sum"));
  json_object_set_new(json_array_get(json_object_get(loaded, "specs"), 1), "value_column",
                      json_null());
  assert_int_equal(promo_window_from_json(loaded, &back, &err), PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "needs a value column"));
  assert_null(back);

  free(dumped);
  json_decref(json);
  json_decref(again);
  json_decref(loaded);
  promo_window_free(window);
  assert_int_equal(promo_window_from_json(NULL, &back, &err), PROMO_ERR_DATA);
  assert_null(back);
}

/* ------------------------------------------------------------------ hand-computed windows */

/* Events of user 1 and 2 at T0 + offsets; rows query user 1 at T0 + 400 s unless noted. */
static void count_window_is_half_open(void **state) {
  (void)state;
  int64_t users[] = {1, 1, 1, 1, 1, 1, 2};
  int64_t times[] = {T0, T0 + 100, T0 + 200, T0 + 300, T0 + 400, T0 + 500, T0 + 300};
  const char *types[] = {"view", "view", "view", "view", "view", "view", "view"};
  column_def ev_defs[] = {{"user", PROMO_TYPE_INT, users, NULL, NULL},
                          {"time", PROMO_TYPE_DATETIME, times, NULL, NULL},
                          {"type", PROMO_TYPE_CATEGORICAL, NULL, NULL, types}};
  promo_table *events = make_table(7, 3, ev_defs);
  int64_t row_users[] = {1, 1, 2};
  int64_t row_times[] = {T0 + 400, T0 + 200, T0 + 400};
  column_def row_defs[] = {{"user", PROMO_TYPE_INT, row_users, NULL, NULL},
                           {"time", PROMO_TYPE_DATETIME, row_times, NULL, NULL}};
  promo_table *rows = make_table(3, 2, row_defs);

  /* 200 s window at 400: [200, 400) contains the events at 200 and 300. The one at 400 is
   * at the row's own time and stays out. */
  const char *texts[] = {"count:view:200s@user", "count:view:all@user", "count:view:1s@user",
                         "count:view:101s@user"};
  promo_window *window = make_window(4, texts, NULL);
  float *out = compute(window, events, rows, 1);
  const double expected[3][4] = {{2, 4, 0, 1}, {2, 2, 0, 1}, {1, 1, 0, 1}};
  for (size_t r = 0; r < 3; r++)
    for (size_t s = 0; s < 4; s++) assert_feature(out[r * 4 + s], expected[r][s], r, s);
  free(out);
  promo_window_free(window);
  promo_table_free(events);
  promo_table_free(rows);
}

/* Sum, mean, rate and recency over one user's log, with a missing amount and types. */
static void aggregates_by_hand(void **state) {
  (void)state;
  int64_t users[] = {7, 7, 7, 7, 7, 7, 7, 7};
  int64_t times[] = {T0,           T0 + DAY,         T0 + DAY,     T0 + 2 * DAY,
                     T0 + 3 * DAY, T0 + 3 * DAY + 5, T0 + 4 * DAY, T0 + 5 * DAY};
  const char *types[] = {"received", "buy", "received", "buy", "used", "buy", NULL, "used"};
  double amounts[] = {NAN, 10.0, NAN, NAN, NAN, 2.5, 99.0, NAN};
  column_def ev_defs[] = {{"user", PROMO_TYPE_INT, users, NULL, NULL},
                          {"time", PROMO_TYPE_DATETIME, times, NULL, NULL},
                          {"type", PROMO_TYPE_CATEGORICAL, NULL, NULL, types},
                          {"amount", PROMO_TYPE_DECIMAL, NULL, amounts, NULL}};
  promo_table *events = make_table(8, 4, ev_defs);
  int64_t row_users[] = {7, 7, 7, 7};
  int64_t row_times[] = {T0, T0 + 3 * DAY + 5, T0 + 4 * DAY + 10, T0 + 9 * DAY};
  column_def row_defs[] = {{"user", PROMO_TYPE_INT, row_users, NULL, NULL},
                           {"time", PROMO_TYPE_DATETIME, row_times, NULL, NULL}};
  promo_table *rows = make_table(4, 2, row_defs);

  const char *texts[] = {"sum:amount:buy:2d@user",     "mean:amount:buy:all@user",
                         "mean:amount:*:1d@user",      "rate:used/received:all@user",
                         "rate:used/received:2d@user", "recency:buy@user",
                         "recency:buy:2d@user",        "count:*:1d@user",
                         "sum:amount:buy:all@user"};
  promo_window *window = make_window(9, texts, NULL);
  float *out = compute(window, events, rows, 2);

  /* Row 0 (T0): nothing before it.
   * Row 1 (3d+5): the buy at 3d+5 is at the row's time, so it is out. Buys at 1d (10) and
   * 2d (no amount). The 2d window [1d+5, 3d+5) contains the 2d buy and the 3d use but not
   * the 1d receipt. The 1d window [2d+5, 3d+5) contains only the use, which has no amount.
   * Row 2 (4d+10): buys 1d, 2d, 3d+5 (2.5). The 2d window [2d+10, 4d+10) contains the 3d
   * use, the 3d+5 buy and the untyped 4d event (99). The 1d window [3d+10, 4d+10)
   * contains only the untyped event.
   * Row 3 (9d): everything; the 2d window [7d, 9d) and 1d window [8d, 9d) are empty. */
  const double nan = NAN;
  const double expected[4][9] = {
      {0, nan, nan, nan, nan, nan, nan, 0, 0},
      {0, 10, nan, 0.5, nan, DAY + 5, DAY + 5, 1, 10},
      {2.5, 6.25, 99, 0.5, nan, DAY + 5, DAY + 5, 1, 12.5},
      {0, 6.25, nan, 1, nan, 6 * DAY - 5, nan, 0, 12.5},
  };
  for (size_t r = 0; r < 4; r++)
    for (size_t s = 0; s < 9; s++) assert_feature(out[r * 9 + s], expected[r][s], r, s);
  free(out);
  promo_window_free(window);
  promo_table_free(events);
  promo_table_free(rows);
}

/* Rows in scrambled order, unknown users, missing keys and times, and a stride wider
 * than the specs. */
static void rows_keep_their_order(void **state) {
  (void)state;
  int64_t users[] = {1, 2, 1, 2, NA_INT, 3};
  int64_t times[] = {T0 + 10, T0 + 10, T0 + 20, T0 + 30, T0 + 5, NA_INT};
  const char *types[] = {"buy", "buy", "buy", "buy", "buy", "buy"};
  column_def ev_defs[] = {{"user", PROMO_TYPE_INT, users, NULL, NULL},
                          {"time", PROMO_TYPE_DATETIME, times, NULL, NULL},
                          {"type", PROMO_TYPE_CATEGORICAL, NULL, NULL, types}};
  promo_table *events = make_table(6, 3, ev_defs);
  int64_t row_users[] = {2, 1, 9, 1, NA_INT, 2, 3, 1};
  int64_t row_times[] = {T0 + 31, T0 + 21, T0 + 50, T0 + 11, T0 + 50, T0 + 11, T0 + 50, NA_INT};
  column_def row_defs[] = {{"user", PROMO_TYPE_INT, row_users, NULL, NULL},
                           {"time", PROMO_TYPE_DATETIME, row_times, NULL, NULL}};
  promo_table *rows = make_table(8, 2, row_defs);

  const char *texts[] = {"count:buy:all@user", "recency:buy@user"};
  promo_window *window = make_window(2, texts, NULL);
  const size_t stride = 3;
  float out[8 * 3];
  for (size_t i = 0; i < 8 * 3; i++) out[i] = 12345.0f;
  promo_context ctx = threads_context(2);
  promo_window_stats stats;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(
      promo_window_compute(window, events, NULL, rows, NULL, &ctx, out, stride, &stats, &err),
      PROMO_OK);
  const double nan = NAN;
  const double expected[8][2] = {{2, 1},     {2, 1}, {0, nan}, {1, 1},
                                 {nan, nan}, {1, 1}, {0, nan}, {nan, nan}};
  for (size_t r = 0; r < 8; r++) {
    for (size_t s = 0; s < 2; s++) assert_feature(out[r * stride + s], expected[r][s], r, s);
    assert_true(out[r * stride + 2] == 12345.0f);
  }
  /* User 3's only event has no time, so user 3 is unknown like user 9. */
  assert_int_equal(stats.n_events_skipped, 2);
  assert_int_equal(stats.n_events_used, 4);
  assert_int_equal(stats.n_rows_missing, 2);
  assert_int_equal(stats.n_rows_unmatched, 2);

  assert_int_equal(promo_window_compute(window, events, NULL, rows, NULL, &ctx, out, 1, NULL, &err),
                   PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "stride"));
  promo_window_free(window);
  promo_table_free(events);
  promo_table_free(rows);
}

/* user + item keys: the item narrows the user's history. */
static void two_keys_narrow_history(void **state) {
  (void)state;
  int64_t users[] = {1, 1, 1, 2, 1};
  int64_t items[] = {5, 6, 5, 5, NA_INT};
  int64_t times[] = {T0 + 1, T0 + 2, T0 + 3, T0 + 4, T0 + 5};
  const char *types[] = {"view", "view", "view", "view", "view"};
  column_def ev_defs[] = {{"user", PROMO_TYPE_INT, users, NULL, NULL},
                          {"item", PROMO_TYPE_INT, items, NULL, NULL},
                          {"time", PROMO_TYPE_DATETIME, times, NULL, NULL},
                          {"type", PROMO_TYPE_CATEGORICAL, NULL, NULL, types}};
  promo_table *events = make_table(5, 4, ev_defs);
  int64_t row_users[] = {1, 1, 2, 1, 2};
  int64_t row_items[] = {5, 6, 5, 7, 6};
  int64_t row_times[] = {T0 + 10, T0 + 10, T0 + 10, T0 + 10, T0 + 10};
  column_def row_defs[] = {{"user", PROMO_TYPE_INT, row_users, NULL, NULL},
                           {"item", PROMO_TYPE_INT, row_items, NULL, NULL},
                           {"time", PROMO_TYPE_DATETIME, row_times, NULL, NULL}};
  promo_table *rows = make_table(5, 3, row_defs);
  const char *texts[] = {"count:view:all@user+item", "count:view:all@user"};
  promo_window *window = make_window(2, texts, NULL);
  float *out = compute(window, events, rows, 1);
  const double expected[5][2] = {{2, 4}, {1, 4}, {1, 1}, {0, 4}, {0, 1}};
  for (size_t r = 0; r < 5; r++)
    for (size_t s = 0; s < 2; s++) assert_feature(out[r * 2 + s], expected[r][s], r, s);
  free(out);
  promo_window_free(window);
  promo_table_free(events);
  promo_table_free(rows);
}

/* CSV input: text keys under another name in the rows, a DATE row time (midnight) and a
 * DATETIME event time. */
static void csv_tables_with_renamed_key(void **state) {
  (void)state;
  const promo_type ev_types[] = {PROMO_TYPE_CATEGORICAL, PROMO_TYPE_DATETIME,
                                 PROMO_TYPE_CATEGORICAL, PROMO_TYPE_DECIMAL};
  promo_table *events = read_table(
      "uid,ts,action,amount\n"
      "u1,2024-01-01 10:00:00,view,\n"
      "u1,2024-01-02 10:00:00,buy,20.5\n"
      "u2,2024-01-02 12:00:00,buy,10\n"
      "u1,2024-01-03 00:00:00,buy,9.5\n",
      ev_types);
  const promo_type row_types[] = {PROMO_TYPE_TEXT, PROMO_TYPE_DATE};
  promo_table *rows = read_table(
      "user,day\n"
      "u1,2024-01-03\n"
      "u2,2024-01-01\n"
      "u3,2024-01-05\n"
      "u1,2024-01-04\n",
      row_types);
  const char *event_keys[] = {"uid"};
  const char *row_keys[] = {"user"};
  promo_window_options opt;
  promo_window_options_init(&opt);
  opt.event_time_column = "ts";
  opt.event_type_column = "action";
  opt.row_time_column = "day";
  opt.n_key_renames = 1;
  opt.event_keys = event_keys;
  opt.row_keys = row_keys;
  const char *texts[] = {"count:buy:all@uid", "sum:amount:buy:2d@uid", "recency:buy@uid",
                         "count:*:1d@uid"};
  promo_window *window = make_window(4, texts, &opt);
  float *out = compute(window, events, rows, 1);
  const double nan = NAN;
  const double expected[4][4] = {
      {1, 20.5, 14 * HOUR, 1}, {0, 0, nan, 0}, {0, 0, nan, 0}, {2, 30, DAY, 1}};
  for (size_t r = 0; r < 4; r++)
    for (size_t s = 0; s < 4; s++) assert_feature(out[r * 4 + s], expected[r][s], r, s);
  free(out);
  promo_window_free(window);
  promo_table_free(events);
  promo_table_free(rows);
}

/* Integer event keys against text row keys, and integer event types. */
static void mixed_key_and_type_columns(void **state) {
  (void)state;
  int64_t users[] = {7, 7, 8, 1000000000000LL};
  int64_t times[] = {T0 + 1, T0 + 2, T0 + 3, T0 + 4};
  int64_t types[] = {1, 2, 1, 1};
  column_def ev_defs[] = {{"user", PROMO_TYPE_INT, users, NULL, NULL},
                          {"time", PROMO_TYPE_DATETIME, times, NULL, NULL},
                          {"type", PROMO_TYPE_INT, types, NULL, NULL}};
  promo_table *events = make_table(4, 3, ev_defs);
  const char *row_users[] = {"7", "007", "x", "8", "1000000000000", " 7"};
  int64_t row_times[] = {T0 + 9, T0 + 9, T0 + 9, T0 + 9, T0 + 9, T0 + 9};
  column_def row_defs[] = {{"user", PROMO_TYPE_TEXT, NULL, NULL, row_users},
                           {"time", PROMO_TYPE_DATETIME, row_times, NULL, NULL}};
  promo_table *rows = make_table(6, 2, row_defs);
  const char *texts[] = {"count:1:all@user", "count:1+2:all@user"};
  promo_window *window = make_window(2, texts, NULL);
  float *out = compute(window, events, rows, 1);
  /* promo_parse_int trims spaces and reads leading zeros, so " 7" and "007" are 7. */
  const double expected[6][2] = {{1, 2}, {1, 2}, {0, 0}, {1, 1}, {1, 1}, {1, 2}};
  for (size_t r = 0; r < 6; r++)
    for (size_t s = 0; s < 2; s++) assert_feature(out[r * 2 + s], expected[r][s], r, s);
  free(out);
  promo_window_free(window);

  promo_error err;
  promo_error_clear(&err);
  const char *bad[] = {"count:view:all@user"};
  window = make_window(1, bad, NULL);
  float cell;
  assert_int_equal(
      promo_window_compute(window, events, NULL, rows, NULL, NULL, &cell, 1, NULL, &err),
      PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "'view'"));
  assert_string_equal(err.column_name, "type");
  promo_window_free(window);
  promo_table_free(events);
  promo_table_free(rows);
}

static void column_errors_name_the_column(void **state) {
  (void)state;
  int64_t users[] = {1};
  int64_t times[] = {T0};
  double amounts[] = {1.0};
  const char *types[] = {"buy"};
  column_def ev_defs[] = {{"user", PROMO_TYPE_INT, users, NULL, NULL},
                          {"time", PROMO_TYPE_INT, times, NULL, NULL},
                          {"type", PROMO_TYPE_CATEGORICAL, NULL, NULL, types},
                          {"amount", PROMO_TYPE_DECIMAL, NULL, amounts, NULL},
                          {"note", PROMO_TYPE_TEXT, NULL, NULL, types}};
  promo_table *events = make_table(1, 5, ev_defs);
  column_def row_defs[] = {{"uid", PROMO_TYPE_INT, users, NULL, NULL},
                           {"time", PROMO_TYPE_DATETIME, times, NULL, NULL},
                           {"amount", PROMO_TYPE_DECIMAL, NULL, amounts, NULL}};
  promo_table *rows = make_table(1, 3, row_defs);
  float cell;
  promo_error err;

  const char *count[] = {"count:buy:7d@user"};
  promo_window *window = make_window(1, count, NULL);
  promo_error_clear(&err);
  assert_int_equal(
      promo_window_compute(window, events, "e.csv", rows, "r.csv", NULL, &cell, 1, NULL, &err),
      PROMO_ERR_DATA);
  assert_string_equal(err.column_name, "time");
  assert_string_equal(err.path, "e.csv");
  assert_non_null(strstr(err.message, "date or datetime"));
  events->columns[1].type = PROMO_TYPE_DATETIME;

  promo_error_clear(&err);
  assert_int_equal(
      promo_window_compute(window, events, "e.csv", rows, "r.csv", NULL, &cell, 1, NULL, &err),
      PROMO_ERR_USAGE);
  assert_string_equal(err.column_name, "user");
  assert_string_equal(err.path, "r.csv");
  assert_non_null(strstr(err.message, "rows table has no key column 'user'"));
  promo_window_free(window);

  const char *sum_note[] = {"sum:note:buy:7d@user"};
  window = make_window(1, sum_note, NULL);
  promo_error_clear(&err);
  assert_int_equal(
      promo_window_compute(window, events, "e.csv", events, "e.csv", NULL, &cell, 1, NULL, &err),
      PROMO_ERR_DATA);
  assert_string_equal(err.column_name, "note");
  promo_window_free(window);

  const char *by_amount[] = {"count:buy:7d@amount"};
  window = make_window(1, by_amount, NULL);
  promo_error_clear(&err);
  assert_int_equal(
      promo_window_compute(window, events, "e.csv", rows, "r.csv", NULL, &cell, 1, NULL, &err),
      PROMO_ERR_DATA);
  assert_string_equal(err.column_name, "amount");
  assert_non_null(strstr(err.message, "key"));
  promo_window_free(window);

  const char *missing_value[] = {"sum:price:buy:7d@user"};
  window = make_window(1, missing_value, NULL);
  promo_error_clear(&err);
  assert_int_equal(
      promo_window_compute(window, events, "e.csv", events, "e.csv", NULL, &cell, 1, NULL, &err),
      PROMO_ERR_USAGE);
  assert_string_equal(err.column_name, "price");
  assert_non_null(strstr(err.message, "events table has no column 'price'"));
  promo_window_free(window);
  promo_table_free(events);
  promo_table_free(rows);
}

/* A log sink that keeps the last warning. */
static void keep_warning(void *user, promo_log_level level, const char *message) {
  if (level == PROMO_LOG_WARN) snprintf(user, 512, "%s", message);
}

static void absent_type_is_logged(void **state) {
  (void)state;
  int64_t users[] = {1};
  int64_t times[] = {T0};
  const char *types[] = {"view"};
  column_def ev_defs[] = {{"user", PROMO_TYPE_INT, users, NULL, NULL},
                          {"time", PROMO_TYPE_DATETIME, times, NULL, NULL},
                          {"type", PROMO_TYPE_CATEGORICAL, NULL, NULL, types}};
  promo_table *events = make_table(1, 3, ev_defs);
  int64_t row_times[] = {T0 + 1};
  column_def row_defs[] = {{"user", PROMO_TYPE_INT, users, NULL, NULL},
                           {"time", PROMO_TYPE_DATETIME, row_times, NULL, NULL}};
  promo_table *rows = make_table(1, 2, row_defs);
  const char *texts[] = {"count:veiw:7d@user"};
  promo_window *window = make_window(1, texts, NULL);
  char warning[512] = "";
  promo_context ctx = threads_context(1);
  ctx.log = keep_warning;
  ctx.user = warning;
  ctx.level = PROMO_LOG_DEBUG;
  float cell = -1;
  assert_int_equal(
      promo_window_compute(window, events, NULL, rows, NULL, &ctx, &cell, 1, NULL, NULL), PROMO_OK);
  assert_true(cell == 0.0f);
  assert_non_null(strstr(warning, "'veiw' does not occur in column 'type'"));
  promo_window_free(window);
  promo_table_free(events);
  promo_table_free(rows);
}

static void cancel_flag_stops(void **state) {
  (void)state;
  int64_t users[] = {1};
  int64_t times[] = {T0};
  column_def ev_defs[] = {{"user", PROMO_TYPE_INT, users, NULL, NULL},
                          {"time", PROMO_TYPE_DATETIME, times, NULL, NULL}};
  promo_table *events = make_table(1, 2, ev_defs);
  promo_table *rows = make_table(1, 2, ev_defs);
  promo_window_options opt;
  promo_window_options_init(&opt);
  opt.event_time_column = "time";
  opt.row_time_column = "time";
  const char *texts[] = {"count:*:7d@user"};
  promo_window *window = make_window(1, texts, &opt);
  volatile int cancel = 1;
  promo_context ctx = threads_context(1);
  ctx.cancel = &cancel;
  float cell;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(
      promo_window_compute(window, events, NULL, rows, NULL, &ctx, &cell, 1, NULL, &err),
      PROMO_ERR_CANCELLED);
  promo_window_free(window);
  promo_table_free(events);
  promo_table_free(rows);
}

/* ------------------------------------------------------------------ random logs */

/* splitmix64: a small, seedable generator for reproducible random tables. */
static uint64_t next_random(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static int64_t random_below(uint64_t *state, int64_t n) {
  return (int64_t)(next_random(state) % (uint64_t)n);
}

enum { MAX_LOG = 8000, MAX_ROWS = 600 };

static const char *const type_words[] = {"view", "cart", "buy", "received", "used"};

/* A random behavior log and rows, kept as arrays for the naive reference. Times fall on
 * a 30-minute grid so that events land exactly on row times and window starts. */
typedef struct random_log {
  size_t n_events, n_rows;
  int64_t user[MAX_LOG], item[MAX_LOG], time[MAX_LOG];
  const char *type[MAX_LOG];
  double amount[MAX_LOG];
  int64_t row_user[MAX_ROWS], row_item[MAX_ROWS], row_time[MAX_ROWS];
  /* Key text when the tables use string keys. */
  char user_text[MAX_LOG][24], row_user_text[MAX_ROWS][24];
  const char *user_ptr[MAX_LOG], *row_user_ptr[MAX_ROWS];
} random_log;

static void fill_random_log(random_log *log, uint64_t seed, size_t n_events, size_t n_rows) {
  uint64_t st = seed;
  log->n_events = n_events;
  log->n_rows = n_rows;
  for (size_t i = 0; i < n_events; i++) {
    log->user[i] = random_below(&st, 100) < 2 ? NA_INT : random_below(&st, 20);
    log->item[i] = random_below(&st, 100) < 2 ? NA_INT : random_below(&st, 6);
    log->time[i] = random_below(&st, 100) < 1 ? NA_INT : T0 + 1800 * random_below(&st, 14 * 48);
    log->type[i] = random_below(&st, 100) < 3 ? NULL : type_words[random_below(&st, 5)];
    log->amount[i] = random_below(&st, 100) < 10 ? NAN : (double)random_below(&st, 10000) / 100.0;
  }
  for (size_t r = 0; r < n_rows; r++) {
    log->row_user[r] = random_below(&st, 100) < 2 ? NA_INT : random_below(&st, 24);
    log->row_item[r] = random_below(&st, 6);
    log->row_time[r] = random_below(&st, 100) < 2 ? NA_INT : T0 + 1800 * random_below(&st, 16 * 48);
  }
}

/* Tables of the log. key_scale spreads integer user ids apart (1e12 forces hashed ids). */
static promo_table *log_events(random_log *log, bool string_keys, int64_t key_scale) {
  static int64_t scaled[MAX_LOG];
  for (size_t i = 0; i < log->n_events; i++) {
    scaled[i] = log->user[i] == NA_INT ? NA_INT : log->user[i] * key_scale;
    snprintf(log->user_text[i], sizeof log->user_text[i], "u%lld", (long long)log->user[i]);
    log->user_ptr[i] = log->user[i] == NA_INT ? NULL : log->user_text[i];
  }
  column_def defs[] = {string_keys
                           ? (column_def){"user", PROMO_TYPE_CATEGORICAL, NULL, NULL, log->user_ptr}
                           : (column_def){"user", PROMO_TYPE_INT, scaled, NULL, NULL},
                       {"item", PROMO_TYPE_INT, log->item, NULL, NULL},
                       {"time", PROMO_TYPE_DATETIME, log->time, NULL, NULL},
                       {"type", PROMO_TYPE_CATEGORICAL, NULL, NULL, log->type},
                       {"amount", PROMO_TYPE_DECIMAL, NULL, log->amount, NULL}};
  return make_table(log->n_events, 5, defs);
}

static promo_table *log_rows(random_log *log, bool string_keys, int64_t key_scale) {
  static int64_t scaled[MAX_ROWS];
  for (size_t r = 0; r < log->n_rows; r++) {
    scaled[r] = log->row_user[r] == NA_INT ? NA_INT : log->row_user[r] * key_scale;
    snprintf(log->row_user_text[r], sizeof log->row_user_text[r], "u%lld",
             (long long)log->row_user[r]);
    log->row_user_ptr[r] = log->row_user[r] == NA_INT ? NULL : log->row_user_text[r];
  }
  column_def defs[] = {string_keys
                           ? (column_def){"user", PROMO_TYPE_TEXT, NULL, NULL, log->row_user_ptr}
                           : (column_def){"user", PROMO_TYPE_INT, scaled, NULL, NULL},
                       {"item", PROMO_TYPE_INT, log->row_item, NULL, NULL},
                       {"time", PROMO_TYPE_DATETIME, log->row_time, NULL, NULL}};
  return make_table(log->n_rows, 3, defs);
}

static const char *const random_specs[] = {
    "count:view:1d@user",         "count:*:7d@user",          "count:view+cart:all@user",
    "sum:amount:buy:3d@user",     "mean:amount:buy:all@user", "mean:amount:*:36h@user",
    "rate:used/received:7d@user", "rate:buy/*:2d@user+item",  "recency:buy@user",
    "recency:view:1d@user+item",  "count:cart:12h@user+item", "sum:amount:*:30min@user+item",
};
enum { N_RANDOM_SPECS = sizeof random_specs / sizeof random_specs[0] };

static bool type_in(const char *type, const char (*set)[PROMO_WINDOW_TYPE_SIZE], size_t n) {
  if (n == 0) return true;
  if (type == NULL) return false;
  for (size_t i = 0; i < n; i++)
    if (strcmp(type, set[i]) == 0) return true;
  return false;
}

/* The naive reference: scan every event for every row and spec. */
static double naive_feature(const random_log *log, const promo_window_spec *spec, size_t r) {
  bool two_keys = spec->n_keys == 2;
  if (log->row_user[r] == NA_INT || log->row_time[r] == NA_INT) return NAN;
  int64_t t = log->row_time[r];
  double count = 0, base = 0, sum = 0, n_values = 0;
  int64_t last = INT64_MIN;
  for (size_t i = 0; i < log->n_events; i++) {
    if (log->user[i] == NA_INT || log->time[i] == NA_INT) continue;
    if (log->user[i] != log->row_user[r]) continue;
    if (two_keys && (log->item[i] == NA_INT || log->item[i] != log->row_item[r])) continue;
    if (log->time[i] >= t) continue;
    if (spec->window_s > 0 && log->time[i] < t - spec->window_s) continue;
    if (spec->aggregate == PROMO_WINDOW_RATE &&
        type_in(log->type[i], spec->base_types, spec->n_base_types))
      base++;
    if (!type_in(log->type[i], spec->types, spec->n_types)) continue;
    count++;
    if (log->time[i] > last) last = log->time[i];
    if (!isnan(log->amount[i])) {
      sum += log->amount[i];
      n_values++;
    }
  }
  switch (spec->aggregate) {
  case PROMO_WINDOW_COUNT:
    return count;
  case PROMO_WINDOW_SUM:
    return sum;
  case PROMO_WINDOW_MEAN:
    return n_values > 0 ? sum / n_values : NAN;
  case PROMO_WINDOW_RATE:
    return base > 0 ? count / base : NAN;
  case PROMO_WINDOW_RECENCY:
    return last == INT64_MIN ? NAN : (double)(t - last);
  default:
    return NAN;
  }
}

static void compare_with_naive(const random_log *log, const promo_window *window,
                               const float *out) {
  size_t n_specs = promo_window_n_specs(window);
  for (size_t r = 0; r < log->n_rows; r++)
    for (size_t s = 0; s < n_specs; s++) {
      const promo_window_spec *spec = promo_window_spec_at(window, s);
      double expected = naive_feature(log, spec, r);
      float got = out[r * n_specs + s];
      if (isnan(expected) || spec->aggregate == PROMO_WINDOW_COUNT ||
          spec->aggregate == PROMO_WINDOW_RECENCY) {
        assert_feature(got, expected, r, s);
      } else if (fabs(got - expected) > 1e-6 * fmax(1.0, fabs(expected))) {
        char name[PROMO_WINDOW_NAME_SIZE];
        promo_window_spec_name(spec, name, sizeof name);
        fail_msg("row %zu %s: got %.9g, expected %.9g", r, name, got, expected);
      }
    }
}

/* Compare with the naive scan for compact, hashed and string keys, and check that the
 * thread count changes no bit. */
static void random_logs_match_naive_scan(void **state) {
  (void)state;
  static random_log log;
  const struct {
    bool string_keys;
    int64_t key_scale;
  } variants[] = {{false, 1}, {false, 1000000000000LL}, {true, 1}};
  promo_window *window = make_window(N_RANDOM_SPECS, random_specs, NULL);
  for (uint64_t seed = 1; seed <= 3; seed++)
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
      fill_random_log(&log, seed, 2000, 500);
      promo_table *events = log_events(&log, variants[v].string_keys, variants[v].key_scale);
      promo_table *rows = log_rows(&log, variants[v].string_keys, variants[v].key_scale);
      float *one = compute(window, events, rows, 1);
      compare_with_naive(&log, window, one);
      float *three = compute(window, events, rows, 3);
      assert_memory_equal(one, three, log.n_rows * N_RANDOM_SPECS * sizeof *one);
      free(one);
      free(three);
      promo_table_free(events);
      promo_table_free(rows);
    }
  promo_window_free(window);
}

/* Append n events of `user` at or after `from`, on the 30-minute grid. */
static void add_future_events(random_log *log, uint64_t *st, int64_t user, int64_t from, size_t n) {
  for (size_t k = 0; k < n && log->n_events < MAX_LOG; k++) {
    size_t i = log->n_events++;
    log->user[i] = user;
    log->item[i] = random_below(st, 6);
    log->time[i] = from + 1800 * (k == 0 ? 0 : random_below(st, 96));
    log->type[i] = type_words[random_below(st, 5)];
    log->amount[i] = (double)random_below(st, 100000) / 100.0;
  }
}

/* Events at or after every row time of their key change no feature bit. */
static void future_events_do_not_leak(void **state) {
  (void)state;
  static random_log log;
  promo_window *window = make_window(N_RANDOM_SPECS, random_specs, NULL);
  size_t n_specs = N_RANDOM_SPECS;
  for (uint64_t seed = 11; seed <= 13; seed++) {
    fill_random_log(&log, seed, 2000, 500);
    promo_table *events = log_events(&log, false, 1);
    promo_table *rows = log_rows(&log, false, 1);
    float *before = compute(window, events, rows, 2);
    promo_table_free(events);

    /* Every user, also those with no events yet, gets events from its last row time on. */
    uint64_t st = seed * 7919;
    for (int64_t user = 0; user < 24; user++) {
      int64_t last_row = INT64_MIN;
      for (size_t r = 0; r < log.n_rows; r++)
        if (log.row_user[r] == user && log.row_time[r] != NA_INT && log.row_time[r] > last_row)
          last_row = log.row_time[r];
      if (last_row != INT64_MIN) add_future_events(&log, &st, user, last_row, 60);
    }
    assert_true(log.n_events > 3000);
    events = log_events(&log, false, 1);
    float *after = compute(window, events, rows, 2);
    assert_memory_equal(before, after, log.n_rows * n_specs * sizeof *before);
    free(after);
    promo_table_free(events);

    /* One row at a time, with future events of that row's key only from its own time. */
    for (size_t r = 0; r < log.n_rows; r += 25) {
      if (log.row_user[r] == NA_INT || log.row_time[r] == NA_INT) continue;
      log.n_events = 2000;
      add_future_events(&log, &st, log.row_user[r], log.row_time[r], 200);
      events = log_events(&log, false, 1);
      column_def defs[] = {{"user", PROMO_TYPE_INT, &log.row_user[r], NULL, NULL},
                           {"item", PROMO_TYPE_INT, &log.row_item[r], NULL, NULL},
                           {"time", PROMO_TYPE_DATETIME, &log.row_time[r], NULL, NULL}};
      promo_table *one_row = make_table(1, 3, defs);
      float *single = compute(window, events, one_row, 1);
      assert_memory_equal(single, before + r * n_specs, n_specs * sizeof *single);
      free(single);
      promo_table_free(one_row);
      promo_table_free(events);
    }
    free(before);
    promo_table_free(rows);
  }
  promo_window_free(window);
}

/* The log in tests/data/window against the features pandas computed for it
 * (tests/fixtures/make_window.py): a reference that merges and filters instead of
 * sorting and sweeping. */
static void log_matches_pandas_reference(void **state) {
  (void)state;
  const promo_type ev_types[] = {PROMO_TYPE_CATEGORICAL, PROMO_TYPE_INT, PROMO_TYPE_DATETIME,
                                 PROMO_TYPE_CATEGORICAL, PROMO_TYPE_DECIMAL};
  const promo_type row_types[] = {PROMO_TYPE_CATEGORICAL, PROMO_TYPE_INT, PROMO_TYPE_DATETIME};
  const promo_type expected_types[] = {PROMO_TYPE_DECIMAL, PROMO_TYPE_DECIMAL, PROMO_TYPE_DECIMAL,
                                       PROMO_TYPE_DECIMAL, PROMO_TYPE_DECIMAL, PROMO_TYPE_DECIMAL,
                                       PROMO_TYPE_DECIMAL, PROMO_TYPE_DECIMAL};
  promo_table *events = read_table_file("window/events.csv", ev_types);
  promo_table *rows = read_table_file("window/rows.csv", row_types);
  promo_table *expected = read_table_file("window/expected.csv", expected_types);
  assert_int_equal(events->n_rows, 800);
  assert_int_equal(rows->n_rows, 120);
  assert_int_equal(expected->n_rows, 120);
  assert_int_equal(expected->n_columns, 8);

  const char *texts[] = {"count:view:1d@user_id",         "count:*:7d@user_id",
                         "sum:amount:buy:3d@user_id",     "mean:amount:buy:all@user_id",
                         "rate:used/received:7d@user_id", "recency:buy@user_id",
                         "count:cart:2d@user_id+item_id", "recency:view:12h@user_id+item_id"};
  const char *event_keys[] = {"user_id"};
  const char *row_keys[] = {"uid"};
  promo_window_options opt;
  promo_window_options_init(&opt);
  opt.event_time_column = "event_time";
  opt.event_type_column = "action";
  opt.row_time_column = "ts";
  opt.n_key_renames = 1;
  opt.event_keys = event_keys;
  opt.row_keys = row_keys;
  promo_window *window = make_window(8, texts, &opt);
  float *out = compute(window, events, rows, 2);

  for (size_t s = 0; s < 8; s++) {
    /* The generated names are the reference's column names. */
    char name[PROMO_WINDOW_NAME_SIZE];
    promo_window_spec_name(promo_window_spec_at(window, s), name, sizeof name);
    assert_string_equal(name, expected->columns[s].name);
    for (size_t r = 0; r < 120; r++) {
      const promo_column *col = &expected->columns[s];
      double want = col->is_missing[r] ? NAN : col->reals[r];
      float got = out[r * 8 + s];
      if (isnan(want) || want == floor(want)) {
        assert_feature(got, want, r, s);
      } else if (fabs(got - want) > 1e-6 * fmax(1.0, fabs(want))) {
        fail_msg("row %zu %s: got %.9g, expected %.9g", r, name, got, want);
      }
    }
  }
  free(out);
  promo_window_free(window);
  promo_table_free(events);
  promo_table_free(rows);
  promo_table_free(expected);
}

static void empty_tables(void **state) {
  (void)state;
  column_def defs[] = {{"user", PROMO_TYPE_INT, NULL, NULL, NULL},
                       {"time", PROMO_TYPE_DATETIME, NULL, NULL, NULL},
                       {"type", PROMO_TYPE_CATEGORICAL, NULL, NULL, NULL}};
  promo_table *events = make_table(0, 3, defs);
  int64_t users[] = {1};
  int64_t times[] = {T0};
  column_def row_defs[] = {{"user", PROMO_TYPE_INT, users, NULL, NULL},
                           {"time", PROMO_TYPE_DATETIME, times, NULL, NULL}};
  promo_table *rows = make_table(1, 2, row_defs);
  promo_table *no_rows = make_table(0, 2, row_defs);
  const char *texts[] = {"count:view:7d@user", "recency:view@user"};
  promo_window *window = make_window(2, texts, NULL);
  float *out = compute(window, events, rows, 2);
  assert_feature(out[0], 0, 0, 0);
  assert_feature(out[1], NAN, 0, 1);
  free(out);
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(
      promo_window_compute(window, events, NULL, no_rows, NULL, NULL, NULL, 2, NULL, &err),
      PROMO_OK);
  promo_window_free(window);
  promo_table_free(events);
  promo_table_free(rows);
  promo_table_free(no_rows);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(spec_parse_forms),
      cmocka_unit_test(spec_parse_errors),
      cmocka_unit_test(name_reports_needed_length),
      cmocka_unit_test(create_rejects_bad_sets),
      cmocka_unit_test(create_limits_type_sets),
      cmocka_unit_test(json_round_trip),
      cmocka_unit_test(count_window_is_half_open),
      cmocka_unit_test(aggregates_by_hand),
      cmocka_unit_test(rows_keep_their_order),
      cmocka_unit_test(two_keys_narrow_history),
      cmocka_unit_test(csv_tables_with_renamed_key),
      cmocka_unit_test(mixed_key_and_type_columns),
      cmocka_unit_test(column_errors_name_the_column),
      cmocka_unit_test(absent_type_is_logged),
      cmocka_unit_test(cancel_flag_stops),
      cmocka_unit_test(random_logs_match_naive_scan),
      cmocka_unit_test(future_events_do_not_leak),
      cmocka_unit_test(log_matches_pandas_reference),
      cmocka_unit_test(empty_tables),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
