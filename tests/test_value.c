/* Unit tests of the data stage's values: missing markers, the parsers with their accepted
 * and rejected inputs and is_plain flags, the calendar, the formatters and type inference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promo/data.h"

/* 2024-11-11 in days and seconds since 1970-01-01, checked with Python's datetime. */
#define DAY_2024_11_11 20038
#define MIDNIGHT_2024_11_11 (INT64_C(20038) * 86400)

static void missing_markers(void **state) {
  (void)state;
  const char *missing[] = {"", "   ", "\t", "NA", "na", "N/A", "n/a", "#N/A", "NULL", "null",
                           "Null", "\\N", "-", "nan", "NaN", "NAN", " NA ", "\xE3\x80\x80"};
  for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++)
    assert_true(promo_value_is_missing(missing[i], strlen(missing[i])));
  const char *present[] = {"0", "none", "n", "--", "nana", "NULLS", "a", "N/A2", "#NA"};
  for (size_t i = 0; i < sizeof present / sizeof present[0]; i++)
    assert_false(promo_value_is_missing(present[i], strlen(present[i])));
}

typedef struct int_case {
  const char *text;
  bool ok;
  int64_t value;
  bool plain;
} int_case;

static void parse_int_cases(void **state) {
  (void)state;
  const int_case cases[] = {
      {"0", true, 0, true},
      {"42", true, 42, true},
      {"-17", true, -17, true},
      {"+17", true, 17, false},
      {" 42 ", true, 42, false},
      {"007", true, 7, false},
      {"-0", true, 0, false},
      {"1,234", true, 1234, false},
      {"12,345,678", true, 12345678, false},
      {"-1,000", true, -1000, false},
      {"9223372036854775807", true, INT64_MAX, true},
      {"-9223372036854775808", true, INT64_MIN, true},
      {"9223372036854775808", false, 0, false},
      {"-9223372036854775809", false, 0, false},
      {"99999999999999999999", false, 0, false},
      {"1,23", false, 0, false},
      {"1234,567", false, 0, false},
      {",123", false, 0, false},
      {"1,234,", false, 0, false},
      {"1,2345", false, 0, false},
      {"", false, 0, false},
      {"  ", false, 0, false},
      {"-", false, 0, false},
      {"+", false, 0, false},
      {"1.0", false, 0, false},
      {"1e3", false, 0, false},
      {"12a", false, 0, false},
      {"0x10", false, 0, false},
      {"1 2", false, 0, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const int_case *c = &cases[i];
    int64_t value = -12345;
    bool plain = !c->plain;
    bool ok = promo_parse_int(c->text, strlen(c->text), &value, &plain);
    if (ok != c->ok) fail_msg("parse_int(\"%s\") returned %d", c->text, ok);
    if (!ok) {
      assert_int_equal(value, -12345); /* untouched on failure */
      continue;
    }
    if (value != c->value) fail_msg("parse_int(\"%s\") = %lld", c->text, (long long)value);
    if (plain != c->plain) fail_msg("parse_int(\"%s\") plain = %d", c->text, plain);
  }
}

static void parse_int_uses_length(void **state) {
  (void)state;
  int64_t value;
  assert_true(promo_parse_int("12345", 3, &value, NULL));
  assert_int_equal(value, 123);
}

typedef struct decimal_case {
  const char *text;
  bool ok;
  double value;
  bool plain;
} decimal_case;

static void parse_decimal_cases(void **state) {
  (void)state;
  const decimal_case cases[] = {
      {"12.5", true, 12.5, true},
      {"0.5", true, 0.5, true},
      {"12.50", true, 12.5, true},
      {"-3.25", true, -3.25, true},
      {"42", true, 42, true},
      {"0", true, 0, true},
      {"0.1", true, 0.1, true},
      {"007", true, 7, false},
      {"00.5", true, 0.5, false},
      {".5", true, 0.5, false},
      {"5.", true, 5, false},
      {"+2.5", true, 2.5, false},
      {" 2.5", true, 2.5, false},
      {"1e3", true, 1000, false},
      {"1E-2", true, 0.01, false},
      {"2.5e+2", true, 250, false},
      {"1,234.5", true, 1234.5, false},
      {"1,234,567", true, 1234567, false},
      {"¥12.50", true, 12.5, false},
      {"￥12.50", true, 12.5, false}, /* full-width yen sign */
      {"$3", true, 3, false},
      {"€3", true, 3, false},
      {"£3", true, 3, false},
      {"RMB 12", true, 12, false},
      {"rmb12", true, 12, false},
      {"-¥5", true, -5, false},
      {"¥-5", true, -5, false},
      {"$1,299.99", true, 1299.99, false},
      {"12.5%", true, 0.125, false},
      {"7%", true, 0.07, false},
      {"12.5 %", true, 0.125, false},
      {"50％", true, 0.5, false},
      {"12.50元", true, 12.5, false},
      {"12.5 元", true, 12.5, false},
      {"12块", true, 12, false},
      {"￥12.5元", true, 12.5, false},
      {"-3元", true, -3, false},
      {"1,299.00元", true, 1299, false},
      {" 8元　", true, 8, false}, /* ends in an ideographic space */
      {"12元", true, 12, false},
      {"-0", true, -0.0, true},
      {"123456789012345678901234567890", true, 1.2345678901234568e29, true},
      {"0.1000000000000000055511151231257827", true, 0.1, true},
      {"1e-400", true, 0, false},
      {"9007199254740993", true, 9007199254740992.0, true},
      {"inf", false, 0, false},
      {"-inf", false, 0, false},
      {"nan", false, 0, false},
      {"NaN", false, 0, false},
      {"infinity", false, 0, false},
      {"0x1A", false, 0, false},
      {"", false, 0, false},
      {" ", false, 0, false},
      {".", false, 0, false},
      {"-", false, 0, false},
      {"%", false, 0, false},
      {"$", false, 0, false},
      {"1e", false, 0, false},
      {"1e+", false, 0, false},
      {"e5", false, 0, false},
      {"1.2.3", false, 0, false},
      {"12abc", false, 0, false},
      {"1,23.5", false, 0, false},
      {"1.234,5", false, 0, false},
      {"1e400", false, 0, false},
      {"--5", false, 0, false},
      {"5-", false, 0, false},
      {"USD 5", false, 0, false},
      {"元", false, 0, false},
      {" 元", false, 0, false},
      {"12元元", false, 0, false},
      {"12 元 3", false, 0, false},
      {"元12", false, 0, false},
      {"12%元", false, 0, false},
      {"12元%", false, 0, false},
      {"abc元", false, 0, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const decimal_case *c = &cases[i];
    double value = -12345;
    bool plain = !c->plain;
    bool ok = promo_parse_decimal(c->text, strlen(c->text), &value, &plain);
    if (ok != c->ok) fail_msg("parse_decimal(\"%s\") returned %d", c->text, ok);
    if (!ok) {
      assert_true(value == -12345);
      continue;
    }
    if (value != c->value || signbit(value) != signbit(c->value))
      fail_msg("parse_decimal(\"%s\") = %.17g, expected %.17g", c->text, value, c->value);
    if (plain != c->plain) fail_msg("parse_decimal(\"%s\") plain = %d", c->text, plain);
  }
}

/* Text with more than 767 significant digits goes through the truncated slow path. */
static void parse_decimal_very_long(void **state) {
  (void)state;
  char text[2100];
  memset(text, '1', 2000);
  text[2000] = 'e';
  text[2001] = '-';
  strcpy(text + 2002, "1999");
  double value;
  assert_true(promo_parse_decimal(text, strlen(text), &value, NULL));
  assert_true(value == strtod(text, NULL));
}

/* 2^53 + 1 lies halfway between two doubles. A nonzero digit 900 places later, beyond the
 * digits the slow path keeps, must still round it up; exact ties round to even. */
static void parse_decimal_sticky_digit(void **state) {
  (void)state;
  char text[1000];
  strcpy(text, "9007199254740993.");
  size_t n = strlen(text);
  memset(text + n, '0', 900);
  text[n + 900] = '\0';
  double value;
  assert_true(promo_parse_decimal(text, strlen(text), &value, NULL));
  assert_true(value == 9007199254740992.0);
  text[n + 899] = '1';
  assert_true(promo_parse_decimal(text, strlen(text), &value, NULL));
  assert_true(value == 9007199254740994.0);
}

/* Every double printed with %.17g reads back to itself, through both parser paths. */
static void parse_decimal_matches_strtod(void **state) {
  (void)state;
  srand(7);
  for (int i = 0; i < 20000; i++) {
    uint64_t bits = 0;
    for (int b = 0; b < 4; b++) bits = (bits << 16) ^ (uint64_t)(rand() & 0xFFFF);
    double x;
    memcpy(&x, &bits, sizeof x);
    if (!isfinite(x)) continue;
    char text[40];
    snprintf(text, sizeof text, "%.*g", 6 + i % 12, x);
    double value;
    assert_true(promo_parse_decimal(text, strlen(text), &value, NULL));
    if (value != strtod(text, NULL)) fail_msg("parse_decimal(\"%s\") = %.17g", text, value);
  }
}

typedef struct bool_case {
  const char *text;
  bool ok;
  bool value;
  bool plain;
} bool_case;

static void parse_bool_cases(void **state) {
  (void)state;
  const bool_case cases[] = {
      {"true", true, true, true},     {"false", true, false, true},
      {"TRUE", true, true, false},    {"False", true, false, false},
      {"yes", true, true, false},     {"No", true, false, false},
      {"y", true, true, false},       {"N", true, false, false},
      {"t", true, true, false},       {"F", true, false, false},
      {"1", true, true, false},       {"0", true, false, false},
      {"是", true, true, false},
      {"否", true, false, false},
      {" true ", true, true, false},  {"2", false, false, false},
      {"", false, false, false},      {"truee", false, false, false},
      {"on", false, false, false},    {"-1", false, false, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const bool_case *c = &cases[i];
    bool value = !c->value, plain = !c->plain;
    bool ok = promo_parse_bool(c->text, strlen(c->text), &value, &plain);
    if (ok != c->ok) fail_msg("parse_bool(\"%s\") returned %d", c->text, ok);
    if (!ok) continue;
    if (value != c->value) fail_msg("parse_bool(\"%s\") = %d", c->text, value);
    if (plain != c->plain) fail_msg("parse_bool(\"%s\") plain = %d", c->text, plain);
  }
}

typedef struct date_case {
  const char *text;
  bool ok;
  int32_t days;
  bool plain;
} date_case;

static void parse_date_cases(void **state) {
  (void)state;
  const date_case cases[] = {
      {"2024-11-11", true, DAY_2024_11_11, true},
      {"2024/11/11", true, DAY_2024_11_11, false},
      {"2024.11.11", true, DAY_2024_11_11, false},
      {"20241111", true, DAY_2024_11_11, false},
      {"2024年11月11日", true, DAY_2024_11_11, false},
      {"2024年1月5日", true, 19727, false},
      {" 2024-11-11 ", true, DAY_2024_11_11, false},
      {"2024/1/5", true, 19727, false},
      {"2024-1-5", true, 19727, false},
      {"1970-01-01", true, 0, true},
      {"1969-12-31", true, -1, true},
      {"2000-02-29", true, 11016, true},
      {"2024-02-29", true, 19782, true},
      {"9999-12-31", true, 2932896, true},
      {"0001-01-01", true, -719162, true},
      {"21991231", true, 84005, false},
      {"2023-02-29", false, 0, false},
      {"1900-02-29", false, 0, false},
      {"2024-13-01", false, 0, false},
      {"2024-00-10", false, 0, false},
      {"2024-04-31", false, 0, false},
      {"2024-11-00", false, 0, false},
      {"2024-11-32", false, 0, false},
      {"2024-11/11", false, 0, false},
      {"2024-011-11", false, 0, false},
      {"2024-11-111", false, 0, false},
      {"24-11-11", false, 0, false},
      {"0000-01-01", false, 0, false},
      {"18991231", false, 0, false},
      {"22000101", false, 0, false},
      {"2024111", false, 0, false},
      {"202411111", false, 0, false},
      {"2024-11-11 10:00", false, 0, false},
      {"2024-11-11x", false, 0, false},
      {"2024年11月11", false, 0, false},
      {"", false, 0, false},
      {"11/11/2024", false, 0, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const date_case *c = &cases[i];
    int32_t days = -7;
    bool plain = !c->plain;
    bool ok = promo_parse_date(c->text, strlen(c->text), &days, &plain);
    if (ok != c->ok) fail_msg("parse_date(\"%s\") returned %d", c->text, ok);
    if (!ok) {
      assert_int_equal(days, -7);
      continue;
    }
    if (days != c->days) fail_msg("parse_date(\"%s\") = %d", c->text, days);
    if (plain != c->plain) fail_msg("parse_date(\"%s\") plain = %d", c->text, plain);
  }
}

typedef struct datetime_case {
  const char *text;
  bool ok;
  int64_t seconds;
  bool plain;
} datetime_case;

static void parse_datetime_cases(void **state) {
  (void)state;
  const int64_t ten = MIDNIGHT_2024_11_11 + 10 * 3600;
  const datetime_case cases[] = {
      {"2024-11-11 10:00:00", true, ten, true},
      {"2024-11-11 10:00", true, ten, false},
      {"2024-11-11 9:05", true, MIDNIGHT_2024_11_11 + 9 * 3600 + 300, false},
      {"2024-11-11 10:00:07", true, ten + 7, true},
      {"2024-11-11 10:00:07.123", true, ten + 7, false},
      {"2024-11-11 10:00:07,5", true, ten + 7, false},
      {"2024/11/11 10:00:00", true, ten, false},
      {"2024-11-11T10:00:00", true, ten, false},
      {"2024-11-11T10:00:00Z", true, ten, false},
      {"2024-11-11T10:00:00.999Z", true, ten, false},
      /* Offsets are checked but not applied: the local time as written is kept. */
      {"2024-11-11T18:00:00+08:00", true, MIDNIGHT_2024_11_11 + 18 * 3600, false},
      {"2024-11-11T18:00:00+0800", true, MIDNIGHT_2024_11_11 + 18 * 3600, false},
      {"2024-11-11T18:00:00+08", true, MIDNIGHT_2024_11_11 + 18 * 3600, false},
      {"2024-11-11T05:30:00-04:30", true, MIDNIGHT_2024_11_11 + 5 * 3600 + 1800, false},
      {"2024-11-11 18:00:00 +08:00", true, MIDNIGHT_2024_11_11 + 18 * 3600, false},
      {"2024-11-11T02:00:00+08:00", true, MIDNIGHT_2024_11_11 + 2 * 3600, false},
      {"2024-11-11", true, MIDNIGHT_2024_11_11, false},
      {"20241111", true, MIDNIGHT_2024_11_11, false},
      {"2024年11月11日 10:00", true, ten, false},
      {"1731319200", true, ten, false},
      {"100000000", true, 100000000, false},
      {"4000000000", true, 4000000000, false},
      {" 2024-11-11 10:00:00 ", true, ten, false},
      {"1969-12-31 23:59:59", true, -1, true},
      {"2024-11-11  10:00:00", true, ten, false},
      {"4000000001", false, 0, false},
      {"99999999", false, 0, false},
      {"12345678901", false, 0, false},
      {"2024-11-11 24:00:00", false, 0, false},
      {"2024-11-11 10:60", false, 0, false},
      {"2024-11-11 10:00:60", false, 0, false},
      {"2024-11-11 10", false, 0, false},
      {"2024-11-11 10:0", false, 0, false},
      {"2024-11-11 10:00:00.", false, 0, false},
      {"2024-11-11T", false, 0, false},
      {"2024-11-1110:00", false, 0, false},
      {"2024-11-11 10:00:00+8", false, 0, false},
      {"2024-11-11 10:00:00+08:", false, 0, false},
      {"2024-11-11 10:00:00+24:00", false, 0, false},
      {"2024-11-11 10:00:00 UTC", false, 0, false},
      {"2024-02-30 10:00", false, 0, false},
      {"", false, 0, false},
      {"now", false, 0, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const datetime_case *c = &cases[i];
    int64_t seconds = -7;
    bool plain = !c->plain;
    bool ok = promo_parse_datetime(c->text, strlen(c->text), &seconds, &plain);
    if (ok != c->ok) fail_msg("parse_datetime(\"%s\") returned %d", c->text, ok);
    if (!ok) {
      assert_int_equal(seconds, -7);
      continue;
    }
    if (seconds != c->seconds)
      fail_msg("parse_datetime(\"%s\") = %lld", c->text, (long long)seconds);
    if (plain != c->plain) fail_msg("parse_datetime(\"%s\") plain = %d", c->text, plain);
  }
}

/* Random short texts from a number-like alphabet, each in a heap buffer of exactly its
 * length, so AddressSanitizer reports any read past the end. Accepted text must parse to
 * values the formatters can print. */
static void parsers_random_text(void **state) {
  (void)state;
  static const char *const pieces[] = {"0", "1", "9", "-", "+", ".", ",", ":", " ", "e",
                                       "T", "Z", "%", "/", "$", "¥", "年", "月", "日", "％",
                                       "\xC2", "\xE3\x80", "RMB", "2024", "12", "NA"};
  srand(5);
  for (int i = 0; i < 200000; i++) {
    char text[64];
    size_t len = 0;
    int n_pieces = rand() % 8;
    for (int k = 0; k < n_pieces; k++) {
      const char *piece = pieces[rand() % (int)(sizeof pieces / sizeof pieces[0])];
      size_t n = strlen(piece);
      memcpy(text + len, piece, n);
      len += n;
    }
    char *exact = malloc(len > 0 ? len : 1);
    assert_non_null(exact);
    memcpy(exact, text, len);

    bool plain;
    int64_t integer;
    double real;
    bool flag;
    int32_t days;
    int64_t seconds;
    char buf[32];
    promo_value_is_missing(exact, len);
    if (promo_parse_int(exact, len, &integer, &plain)) promo_format_int(integer, buf);
    if (promo_parse_decimal(exact, len, &real, &plain)) {
      assert_true(isfinite(real));
      promo_format_decimal(real, buf);
    }
    promo_parse_bool(exact, len, &flag, &plain);
    if (promo_parse_date(exact, len, &days, &plain)) promo_format_date(days, buf);
    if (promo_parse_datetime(exact, len, &seconds, &plain)) promo_format_datetime(seconds, buf);
    promo_parse_unix_seconds(exact, len, &seconds);
    promo_type_guess guess;
    memset(&guess, 0, sizeof guess);
    promo_type_guess_add(&guess, exact, len);
    free(exact);
  }
}

static void parse_unix_seconds_range(void **state) {
  (void)state;
  int64_t seconds = 0;
  assert_true(promo_parse_unix_seconds("1731319200", 10, &seconds));
  assert_int_equal(seconds, 1731319200);
  assert_true(promo_parse_unix_seconds(" 100000000 ", 11, &seconds));
  assert_int_equal(seconds, 100000000);
  assert_false(promo_parse_unix_seconds("99999999", 8, &seconds));
  assert_false(promo_parse_unix_seconds("099999999", 9, &seconds));
  assert_false(promo_parse_unix_seconds("4000000001", 10, &seconds));
  assert_false(promo_parse_unix_seconds("-100000000", 10, &seconds));
  assert_false(promo_parse_unix_seconds("1731319200.5", 12, &seconds));
}

static void civil_leap_years(void **state) {
  (void)state;
  const struct {
    int year;
    bool leap;
  } years[] = {{1900, false}, {2000, true}, {2023, false}, {2024, true},
               {2100, false}, {2400, true}, {1600, true},  {1700, false}};
  for (size_t i = 0; i < sizeof years / sizeof years[0]; i++) {
    char text[16];
    snprintf(text, sizeof text, "%04d-02-29", years[i].year);
    int32_t days;
    assert_int_equal(promo_parse_date(text, strlen(text), &days, NULL), years[i].leap);
    int32_t march_1 = promo_days_from_civil(years[i].year, 3, 1);
    int32_t feb_28 = promo_days_from_civil(years[i].year, 2, 28);
    assert_int_equal(march_1 - feb_28, years[i].leap ? 2 : 1);
  }
}

/* civil_from_days inverts days_from_civil over 1600-2400, and consecutive days advance
 * the calendar by exactly one day. */
static void civil_round_trip(void **state) {
  (void)state;
  int32_t first = promo_days_from_civil(1600, 1, 1);
  int32_t last = promo_days_from_civil(2400, 12, 31);
  assert_int_equal(first, -135140);
  int prev_year = 1599;
  unsigned prev_month = 12, prev_day = 31;
  for (int32_t d = first; d <= last; d++) {
    int year;
    unsigned month, day;
    promo_civil_from_days(d, &year, &month, &day);
    assert_int_equal(promo_days_from_civil(year, month, day), d);
    bool next_day = year == prev_year && month == prev_month && day == prev_day + 1;
    bool next_month = year == prev_year && month == prev_month + 1 && day == 1;
    bool next_year = year == prev_year + 1 && month == 1 && day == 1 && prev_month == 12;
    assert_true(next_day || next_month || next_year);
    prev_year = year;
    prev_month = month;
    prev_day = day;
  }
}

static void format_int_values(void **state) {
  (void)state;
  char buf[24];
  assert_int_equal(promo_format_int(0, buf), 1);
  assert_string_equal(buf, "0");
  assert_int_equal(promo_format_int(-42, buf), 3);
  assert_string_equal(buf, "-42");
  promo_format_int(INT64_MAX, buf);
  assert_string_equal(buf, "9223372036854775807");
  assert_int_equal(promo_format_int(INT64_MIN, buf), 20);
  assert_string_equal(buf, "-9223372036854775808");
}

static void format_decimal_values(void **state) {
  (void)state;
  const struct {
    double value;
    const char *text;
  } cases[] = {
      {12.5, "12.5"},
      {0.125, "0.125"},
      {1e20, "1e+20"},
      {0.1, "0.1"},
      {0.1 + 0.2, "0.30000000000000004"},
      {1.0 / 3.0, "0.3333333333333333"},
      {100, "100"},
      {-2.75, "-2.75"},
      {0, "0"},
      {-0.0, "-0"},
      {0.0001, "0.0001"},
      {0.00001, "1e-05"},
      {123456789012345.0, "123456789012345"},
      {1e15, "1e+15"},
      {1234567890123456.0, "1234567890123456"},
      {5e-324, "4.94065645841247e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {0.07, "0.07"},
      {1299.99, "1299.99"},
      {INFINITY, "inf"},
      {-INFINITY, "-inf"},
      {NAN, "nan"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[32];
    size_t n = promo_format_decimal(cases[i].value, buf);
    assert_string_equal(buf, cases[i].text);
    assert_int_equal(n, strlen(cases[i].text));
  }
}

/* The first of %.15g, %.16g and %.17g that reads back to x, the formatter's contract. */
static void reference_format(double x, char *buf, size_t size) {
  for (int precision = 15; precision <= 17; precision++) {
    snprintf(buf, size, "%.*g", precision, x);
    if (strtod(buf, NULL) == x) return;
  }
}

/* Random doubles, prices with cents and short decimals: the text reads back to the same
 * value and is exactly the reference text, through both the fixed-point and printf paths. */
static void format_decimal_round_trip(void **state) {
  (void)state;
  srand(11);
  for (int i = 0; i < 100000; i++) {
    double x;
    if (i % 2 == 0) {
      uint64_t bits = 0;
      for (int b = 0; b < 4; b++) bits = (bits << 16) ^ (uint64_t)(rand() & 0xFFFF);
      memcpy(&x, &bits, sizeof x);
      if (!isfinite(x)) continue;
    } else if (i % 4 == 1) {
      x = (double)(rand() % 2000000 - 1000000) / 100.0;
    } else {
      /* A short decimal at a random scale, such as 0.0004321 or 43210000. */
      char text[40];
      snprintf(text, sizeof text, "%de%d", rand() % 100000, rand() % 24 - 12);
      x = strtod(text, NULL);
    }
    char buf[32];
    size_t n = promo_format_decimal(x, buf);
    assert_int_equal(n, strlen(buf));
    char *end;
    double back = strtod(buf, &end);
    assert_ptr_equal(end, buf + n);
    if (back != x) fail_msg("format_decimal(%.17g) = \"%s\"", x, buf);
    char expected[40];
    reference_format(x, expected, sizeof expected);
    if (strcmp(buf, expected) != 0)
      fail_msg("format_decimal(%.17g) = \"%s\", expected \"%s\"", x, buf, expected);
  }
}

/* Parsing and formatting ignore LC_NUMERIC. Skipped where no comma-decimal locale is
 * installed. */
static void decimal_ignores_locale(void **state) {
  (void)state;
  const char *locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "ru_RU.UTF-8"};
  bool switched = false;
  for (size_t i = 0; i < sizeof locales / sizeof locales[0] && !switched; i++)
    switched = setlocale(LC_NUMERIC, locales[i]) != NULL;
  if (!switched) skip();
  bool comma_radix = strtod("0,5", NULL) == 0.5; /* the C library now reads a comma */
  double value;
  bool ok = promo_parse_decimal("12.5", 4, &value, NULL);
  bool long_ok = promo_parse_decimal("0.1000000000000000055511151231257827", 36, &value, NULL);
  char buf[32];
  promo_format_decimal(0.1 + 0.2, buf);
  setlocale(LC_NUMERIC, "C");
  assert_true(comma_radix);
  assert_true(ok);
  assert_true(long_ok);
  assert_true(value == 0.1);
  assert_string_equal(buf, "0.30000000000000004");
}

static void format_date_values(void **state) {
  (void)state;
  char buf[16];
  assert_int_equal(promo_format_date(DAY_2024_11_11, buf), 10);
  assert_string_equal(buf, "2024-11-11");
  promo_format_date(0, buf);
  assert_string_equal(buf, "1970-01-01");
  promo_format_date(-1, buf);
  assert_string_equal(buf, "1969-12-31");
  promo_format_date(-719162, buf);
  assert_string_equal(buf, "0001-01-01");
  promo_format_date(INT32_MAX, buf);
  assert_string_equal(buf, "5881580-07-11");
  promo_format_date(INT32_MIN, buf);
  assert_string_equal(buf, "-5877641-06-23");
}

static void format_datetime_values(void **state) {
  (void)state;
  char buf[32];
  assert_int_equal(promo_format_datetime(1731319200, buf), 19);
  assert_string_equal(buf, "2024-11-11 10:00:00");
  promo_format_datetime(-1, buf);
  assert_string_equal(buf, "1969-12-31 23:59:59");
  promo_format_datetime(MIDNIGHT_2024_11_11 + 86399, buf);
  assert_string_equal(buf, "2024-11-11 23:59:59");
  promo_format_datetime(INT64_MAX, buf);
  assert_string_equal(buf, "9223372036854775807");
}

/* Plain text is exactly what the formatter writes for the parsed value. */
static void plain_matches_formatter(void **state) {
  (void)state;
  const char *decimals[] = {"12.5", "0.5", "-3", "100", "0.125", "-0.07"};
  for (size_t i = 0; i < sizeof decimals / sizeof decimals[0]; i++) {
    double v;
    bool plain;
    assert_true(promo_parse_decimal(decimals[i], strlen(decimals[i]), &v, &plain));
    assert_true(plain);
    char buf[32];
    promo_format_decimal(v, buf);
    assert_string_equal(buf, decimals[i]);
  }
  int64_t seconds;
  bool plain;
  assert_true(promo_parse_datetime("2024-11-11 10:00:07", 19, &seconds, &plain));
  assert_true(plain);
  char buf[32];
  promo_format_datetime(seconds, buf);
  assert_string_equal(buf, "2024-11-11 10:00:07");
}

static void type_names(void **state) {
  (void)state;
  promo_type t;
  for (int i = PROMO_TYPE_UNKNOWN; i <= PROMO_TYPE_TEXT; i++) {
    assert_true(promo_type_parse(promo_type_name((promo_type)i), &t));
    assert_int_equal(t, i);
  }
  assert_true(promo_type_parse("float", &t));
  assert_int_equal(t, PROMO_TYPE_DECIMAL);
  assert_true(promo_type_parse("category", &t));
  assert_int_equal(t, PROMO_TYPE_CATEGORICAL);
  assert_true(promo_type_parse("string", &t));
  assert_int_equal(t, PROMO_TYPE_TEXT);
  assert_false(promo_type_parse("Integer", &t));
  assert_false(promo_type_parse("", &t));
}

/* ------------------------------------------------------------------ type inference */

/* Feed n values from texts (cycled) and fill n_distinct the way a caller would. */
static promo_type guess_column(const char *name, const char *const *texts, size_t n_texts,
                               size_t n, uint64_t n_distinct) {
  promo_type_guess guess;
  memset(&guess, 0, sizeof guess);
  for (size_t i = 0; i < n; i++)
    promo_type_guess_add(&guess, texts[i % n_texts], strlen(texts[i % n_texts]));
  guess.n_distinct = n_distinct;
  return promo_type_guess_result(&guess, name);
}

static void infer_int_tolerance(void **state) {
  (void)state;
  char texts[200][16];
  const char *ptrs[200];
  for (int i = 0; i < 200; i++) {
    snprintf(texts[i], sizeof texts[i], "%d", i * 7);
    ptrs[i] = texts[i];
  }
  assert_int_equal(guess_column("qty", ptrs, 200, 200, 200), PROMO_TYPE_INT);
  strcpy(texts[10], "abc");
  assert_int_equal(guess_column("qty", ptrs, 200, 200, 200), PROMO_TYPE_INT);
  strcpy(texts[20], "abc");
  assert_int_equal(guess_column("qty", ptrs, 200, 200, 200), PROMO_TYPE_INT);
  strcpy(texts[30], "abc");
  assert_int_not_equal(guess_column("qty", ptrs, 200, 200, 200), PROMO_TYPE_INT);
}

static void infer_int_with_decimal_is_decimal(void **state) {
  (void)state;
  char texts[200][16];
  const char *ptrs[200];
  for (int i = 0; i < 200; i++) {
    snprintf(texts[i], sizeof texts[i], "%d", i);
    ptrs[i] = texts[i];
  }
  strcpy(texts[5], "1.5");
  assert_int_equal(guess_column("price", ptrs, 200, 200, 200), PROMO_TYPE_DECIMAL);
}

/* Integers written with 元 or 块 are not integers, so such a column becomes DECIMAL. */
static void infer_yuan_is_decimal(void **state) {
  (void)state;
  const char *prices[] = {"12元", "8 元", "15块", "20"};
  assert_int_equal(guess_column("price", prices, 4, 60, 4), PROMO_TYPE_DECIMAL);
  int64_t integer = -1;
  assert_false(promo_parse_int("12元", strlen("12元"), &integer, NULL));
  assert_int_equal(integer, -1);
}

static void infer_date8_needs_name(void **state) {
  (void)state;
  const char *dates[] = {"20241111", "20241112", "20240101", "20231231"};
  assert_int_equal(guess_column("order_date", dates, 4, 100, 4), PROMO_TYPE_DATE);
  assert_int_equal(guess_column("OrderDate", dates, 4, 100, 4), PROMO_TYPE_DATE);
  assert_int_equal(guess_column("dt", dates, 4, 100, 4), PROMO_TYPE_DATE);
  assert_int_equal(guess_column("下单日期", dates, 4, 100, 4), PROMO_TYPE_DATE);
  assert_int_equal(guess_column("amount", dates, 4, 100, 4), PROMO_TYPE_INT);
  assert_int_equal(guess_column("width", dates, 4, 100, 4), PROMO_TYPE_INT);
  assert_int_equal(guess_column("units", dates, 4, 100, 4), PROMO_TYPE_INT);
  assert_int_equal(guess_column(NULL, dates, 4, 100, 4), PROMO_TYPE_INT);
}

static void infer_unix_needs_name(void **state) {
  (void)state;
  const char *times[] = {"1731319200", "1731322800", "1700000000"};
  assert_int_equal(guess_column("event_ts", times, 3, 90, 3), PROMO_TYPE_DATETIME);
  assert_int_equal(guess_column("createTime", times, 3, 90, 3), PROMO_TYPE_DATETIME);
  assert_int_equal(guess_column("user_id", times, 3, 90, 3), PROMO_TYPE_INT);
}

static void infer_bool_and_int(void **state) {
  (void)state;
  const char *zero_one[] = {"0", "1", "1"};
  assert_int_equal(guess_column("flag", zero_one, 3, 60, 2), PROMO_TYPE_INT);
  const char *yes_no[] = {"yes", "no", "No"};
  assert_int_equal(guess_column("member", yes_no, 3, 60, 3), PROMO_TYPE_BOOL);
  const char *mixed[] = {"1", "0", "true"};
  assert_int_equal(guess_column("flag", mixed, 3, 60, 3), PROMO_TYPE_BOOL);
  const char *chinese[] = {"是", "否"};
  assert_int_equal(guess_column("is_vip", chinese, 2, 60, 2), PROMO_TYPE_BOOL);
}

static void infer_decimal_date_datetime(void **state) {
  (void)state;
  const char *prices[] = {"12.5", "3", "¥8.80", "1,299.00", "NA", ""};
  assert_int_equal(guess_column("price", prices, 6, 60, 4), PROMO_TYPE_DECIMAL);
  const char *dates[] = {"2024-11-11", "2024/1/5", "20241212"};
  assert_int_equal(guess_column("when", dates, 3, 60, 3), PROMO_TYPE_DATE);
  const char *datetimes[] = {"2024-11-11 10:00", "2024-11-11T10:00:00Z", "2024-11-12"};
  assert_int_equal(guess_column("when", datetimes, 3, 60, 3), PROMO_TYPE_DATETIME);
}

static void infer_strings(void **state) {
  (void)state;
  const char *cities[] = {"Beijing", "Shanghai", "Guangzhou", "Shenzhen"};
  assert_int_equal(guess_column("city", cities, 4, 400, 4), PROMO_TYPE_CATEGORICAL);

  static char reviews[300][120];
  const char *ptrs[300];
  for (int i = 0; i < 300; i++) {
    snprintf(reviews[i], sizeof reviews[i],
             "review %d: the parcel arrived on time and the item matches the description", i);
    ptrs[i] = reviews[i];
  }
  assert_int_equal(guess_column("review", ptrs, 300, 300, 300), PROMO_TYPE_TEXT);

  /* Short but unique past 1000 and past half of the values: TEXT. */
  static char ids[3000][16];
  const char *id_ptrs[3000];
  for (int i = 0; i < 3000; i++) {
    snprintf(ids[i], sizeof ids[i], "SKU-%05d", i);
    id_ptrs[i] = ids[i];
  }
  assert_int_equal(guess_column("sku", id_ptrs, 3000, 3000, 3000), PROMO_TYPE_TEXT);
  assert_int_equal(guess_column("sku", id_ptrs, 3000, 3000, 1200), PROMO_TYPE_CATEGORICAL);
}

static void infer_counts_and_missing(void **state) {
  (void)state;
  promo_type_guess guess;
  memset(&guess, 0, sizeof guess);
  const char *texts[] = {"NA", "", "yes", "1", "20241111", "1731319200", "2.5", "2024-11-11",
                         "2024-11-11 10:00", "abc"};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
    promo_type_guess_add(&guess, texts[i], strlen(texts[i]));
  assert_int_equal(guess.n_missing, 2);
  assert_int_equal(guess.n_values, 8);
  assert_int_equal(guess.n_bool, 2);
  assert_int_equal(guess.n_bool_words, 1);
  assert_int_equal(guess.n_int, 3);
  assert_int_equal(guess.n_decimal, 4);
  assert_int_equal(guess.n_date8, 1);
  assert_int_equal(guess.n_date, 2);
  assert_int_equal(guess.n_unix, 1);
  assert_int_equal(guess.n_datetime, 1);
  assert_int_equal(guess.total_bytes, 3 + 1 + 8 + 10 + 3 + 10 + 16 + 3);

  promo_type_guess empty;
  memset(&empty, 0, sizeof empty);
  promo_type_guess_add(&empty, "NA", 2);
  assert_int_equal(promo_type_guess_result(&empty, "x"), PROMO_TYPE_UNKNOWN);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(missing_markers),
      cmocka_unit_test(parse_int_cases),
      cmocka_unit_test(parse_int_uses_length),
      cmocka_unit_test(parse_decimal_cases),
      cmocka_unit_test(parse_decimal_very_long),
      cmocka_unit_test(parse_decimal_sticky_digit),
      cmocka_unit_test(parse_decimal_matches_strtod),
      cmocka_unit_test(parse_bool_cases),
      cmocka_unit_test(parse_date_cases),
      cmocka_unit_test(parse_datetime_cases),
      cmocka_unit_test(parse_unix_seconds_range),
      cmocka_unit_test(parsers_random_text),
      cmocka_unit_test(civil_leap_years),
      cmocka_unit_test(civil_round_trip),
      cmocka_unit_test(format_int_values),
      cmocka_unit_test(format_decimal_values),
      cmocka_unit_test(format_decimal_round_trip),
      cmocka_unit_test(decimal_ignores_locale),
      cmocka_unit_test(format_date_values),
      cmocka_unit_test(format_datetime_values),
      cmocka_unit_test(plain_matches_formatter),
      cmocka_unit_test(type_names),
      cmocka_unit_test(infer_int_tolerance),
      cmocka_unit_test(infer_int_with_decimal_is_decimal),
      cmocka_unit_test(infer_yuan_is_decimal),
      cmocka_unit_test(infer_date8_needs_name),
      cmocka_unit_test(infer_unix_needs_name),
      cmocka_unit_test(infer_bool_and_int),
      cmocka_unit_test(infer_decimal_date_datetime),
      cmocka_unit_test(infer_strings),
      cmocka_unit_test(infer_counts_and_missing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
