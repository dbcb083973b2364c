/* Column type inference for the data stage: counts how many values of a column parse as
 * each type, then chooses the most specific type that at most 1% of the values fail. */
#include <string.h>

#include "promo/data.h"

void promo_type_guess_add(promo_type_guess *guess, const char *s, size_t len) {
  if (promo_value_is_missing(s, len)) {
    guess->n_missing++;
    return;
  }
  guess->n_values++;
  guess->total_bytes += len;

  bool flag;
  if (promo_parse_bool(s, len, &flag, NULL)) {
    guess->n_bool++;
    int64_t digit;
    if (!promo_parse_int(s, len, &digit, NULL)) guess->n_bool_words++;
  }

  /* The parsers run from the most to the least specific. Every integer is also a
   * decimal, and only 8-digit integers can parse as dates. */
  int64_t integer;
  if (promo_parse_int(s, len, &integer, NULL)) {
    guess->n_int++;
    guess->n_decimal++;
    int32_t days;
    int64_t seconds;
    if (promo_parse_date(s, len, &days, NULL)) {
      guess->n_date8++;
      guess->n_date++;
    } else if (promo_parse_unix_seconds(s, len, &seconds)) {
      guess->n_unix++;
    }
    return;
  }
  double real;
  if (promo_parse_decimal(s, len, &real, NULL)) {
    guess->n_decimal++;
    return;
  }
  int32_t days;
  if (promo_parse_date(s, len, &days, NULL)) {
    guess->n_date++;
    return;
  }
  int64_t seconds;
  if (promo_parse_datetime(s, len, &seconds, NULL)) guess->n_datetime++;
}

static char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }
static bool is_ascii_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* True when one lower-cased word of a column name names a date or time: "dt", "ts", "day",
 * or a word containing "date" or "time" ("order_date", "timestamp", "createTime") or
 * ending in "day" ("birthday"). Whole words keep "width" and "units" from matching. */
static bool word_suggests_time(const char *word, size_t n) {
  if ((n == 2 && (memcmp(word, "dt", 2) == 0 || memcmp(word, "ts", 2) == 0)) ||
      (n >= 3 && memcmp(word + n - 3, "day", 3) == 0))
    return true;
  for (size_t i = 0; i + 4 <= n; i++)
    if (memcmp(word + i, "date", 4) == 0 || memcmp(word + i, "time", 4) == 0) return true;
  return false;
}

/* True when the column name suggests a date or time: a word as above, or the Chinese
 * 日期 (date) or 时间 (time) anywhere. Words are split at characters other than ASCII
 * letters and digits and where a lower-case letter meets an upper-case one. */
static bool name_suggests_time(const char *name) {
  if (name == NULL) return false;
  if (strstr(name, "\xE6\x97\xA5\xE6\x9C\x9F") != NULL ||
      strstr(name, "\xE6\x97\xB6\xE9\x97\xB4") != NULL)
    return true;

  char word[64];
  size_t n = 0;
  for (const char *c = name;; c++) {
    bool camel_break = n > 0 && *c >= 'A' && *c <= 'Z' && c[-1] >= 'a' && c[-1] <= 'z';
    if (!is_ascii_alnum(*c) || camel_break) {
      if (n > 0 && word_suggests_time(word, n)) return true;
      n = 0;
    }
    if (*c == '\0') return false;
    if (is_ascii_alnum(*c) && n < sizeof word) word[n++] = ascii_lower(*c);
  }
}

/* Choice rules, in order, where "fits" means at most n_values / 100 values fail:
 *   BOOL      when booleans fit and at least one is a word (a 0/1 column stays INT);
 *   INT       when integers fit and no value is a decimal that is not an integer, except
 *             DATE or DATETIME for 8-digit dates or Unix seconds under a time-like name;
 *   DECIMAL   when decimals fit;
 *   DATE      when dates fit and no value has a time of day;
 *   DATETIME  when dates, datetimes and Unix seconds together fit;
 *   CATEGORICAL or TEXT otherwise, as the header describes;
 *   UNKNOWN   when the column has no non-missing value.
 * Preferring the type with no failures over one that merely fits keeps 1.5 in a column of
 * integers from being marked invalid. */
promo_type promo_type_guess_result(const promo_type_guess *guess, const char *column_name) {
  uint64_t n = guess->n_values;
  if (n == 0) return PROMO_TYPE_UNKNOWN;
  uint64_t need = n - n / 100;

  if (guess->n_bool >= need && guess->n_bool_words > 0 && guess->n_bool >= guess->n_int)
    return PROMO_TYPE_BOOL;
  if (guess->n_int >= need && guess->n_int == guess->n_decimal) {
    if (guess->n_date8 >= need && name_suggests_time(column_name)) return PROMO_TYPE_DATE;
    if (guess->n_unix >= need && name_suggests_time(column_name)) return PROMO_TYPE_DATETIME;
    return PROMO_TYPE_INT;
  }
  if (guess->n_decimal >= need) return PROMO_TYPE_DECIMAL;
  if (guess->n_date >= need && guess->n_datetime == 0) return PROMO_TYPE_DATE;
  if (guess->n_datetime > 0 && guess->n_date + guess->n_datetime + guess->n_unix >= need)
    return PROMO_TYPE_DATETIME;

  bool is_short = guess->total_bytes / n <= 64;
  bool repeats = guess->n_distinct <= n / 2 || guess->n_distinct <= 1000;
  return is_short && repeats ? PROMO_TYPE_CATEGORICAL : PROMO_TYPE_TEXT;
}
