/* Cell values for the data stage: missing markers, the parsers that turn CSV text into
 * booleans, integers, decimals, dates and datetimes, the matching formatters, and the
 * civil-calendar arithmetic behind dates. Every CSV cell passes through here, so the
 * parsers neither allocate nor depend on the C locale. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promo/data.h"

/* ------------------------------------------------------------------ type names */

const char *promo_type_name(promo_type type) {
  switch (type) {
    case PROMO_TYPE_BOOL: return "boolean";
    case PROMO_TYPE_INT: return "integer";
    case PROMO_TYPE_DECIMAL: return "decimal";
    case PROMO_TYPE_DATE: return "date";
    case PROMO_TYPE_DATETIME: return "datetime";
    case PROMO_TYPE_CATEGORICAL: return "categorical";
    case PROMO_TYPE_TEXT: return "text";
    case PROMO_TYPE_UNKNOWN: break;
  }
  return "unknown";
}

bool promo_type_parse(const char *name, promo_type *out) {
  static const struct {
    const char *name;
    promo_type type;
  } names[] = {
      {"boolean", PROMO_TYPE_BOOL},       {"bool", PROMO_TYPE_BOOL},
      {"integer", PROMO_TYPE_INT},        {"int", PROMO_TYPE_INT},
      {"decimal", PROMO_TYPE_DECIMAL},    {"float", PROMO_TYPE_DECIMAL},
      {"number", PROMO_TYPE_DECIMAL},     {"date", PROMO_TYPE_DATE},
      {"datetime", PROMO_TYPE_DATETIME},  {"categorical", PROMO_TYPE_CATEGORICAL},
      {"category", PROMO_TYPE_CATEGORICAL}, {"text", PROMO_TYPE_TEXT},
      {"string", PROMO_TYPE_TEXT},        {"unknown", PROMO_TYPE_UNKNOWN},
  };
  if (name == NULL) return false;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (strcmp(name, names[i].name) == 0) {
      *out = names[i].type;
      return true;
    }
  }
  return false;
}

/* ------------------------------------------------------------------ trimming */

/* Byte length of the space character at p, or 0. Spaces are ASCII space, tab, CR, LF,
 * U+00A0 (no-break space) and U+3000 (ideographic space, common in Chinese exports). */
static inline size_t space_at(const unsigned char *p, const unsigned char *end) {
  unsigned char c = *p;
  if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return 1;
  if (c == 0xC2 && end - p >= 2 && p[1] == 0xA0) return 2;
  if (c == 0xE3 && end - p >= 3 && p[1] == 0x80 && p[2] == 0x80) return 3;
  return 0;
}

/* Length of the space character that ends just before end, or 0. */
static inline size_t space_before(const unsigned char *begin, const unsigned char *end) {
  unsigned char c = end[-1];
  if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return 1;
  if (c == 0xA0 && end - begin >= 2 && end[-2] == 0xC2) return 2;
  if (c == 0x80 && end - begin >= 3 && end[-2] == 0x80 && end[-3] == 0xE3) return 3;
  return 0;
}

/* Narrow [*p, *end) to the text without surrounding spaces. Returns true when anything
 * was removed, which makes the text not plain. */
static inline bool trim(const unsigned char **p, const unsigned char **end) {
  const unsigned char *b = *p, *e = *end;
  size_t n;
  while (b < e && (n = space_at(b, e)) != 0) b += n;
  while (e > b && (n = space_before(b, e)) != 0) e -= n;
  bool trimmed = b != *p || e != *end;
  *p = b;
  *end = e;
  return trimmed;
}

static inline unsigned digit_value(unsigned char c) { return (unsigned)c - '0'; }
static inline bool is_digit(unsigned char c) { return digit_value(c) < 10; }
static inline unsigned char ascii_lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* ------------------------------------------------------------------ missing values */

bool promo_value_is_missing(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *e = p + len;
  if (len == 0) return true;
  trim(&p, &e);
  size_t n = (size_t)(e - p);
  if (n == 0) return true;
  if (n > 4) return false; /* the longest marker, "null" or "#n/a", has 4 bytes */

  /* Every marker starts with one of these; most values are ruled out here. */
  unsigned char first = (unsigned char)ascii_lower(p[0]);
  if (first != 'n' && first != '#' && first != '\\' && first != '-') return false;

  char low[5];
  for (size_t i = 0; i < n; i++) low[i] = (char)ascii_lower(p[i]);
  low[n] = '\0';
  static const char *const markers[] = {"na", "n/a", "#n/a", "null", "\\n", "-", "nan"};
  for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++)
    if (strcmp(low, markers[i]) == 0) return true;
  return false;
}

/* ------------------------------------------------------------------ integers */

bool promo_parse_int(const char *s, size_t len, int64_t *out, bool *is_plain) {
  const unsigned char *p = (const unsigned char *)s, *e = p + len;
  bool plain = !trim(&p, &e);
  if (p == e) return false;

  bool negative = false;
  if (*p == '-' || *p == '+') {
    negative = *p == '-';
    plain = plain && negative;
    p++;
  }

  /* Digits with optional thousands separators: the first group has 1 to 3 digits, every
   * later group exactly 3. The limit allows INT64_MIN's magnitude for negatives. */
  const uint64_t limit = negative ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
  const unsigned char *first = p;
  uint64_t value = 0;
  unsigned group = 0;
  bool grouped = false;
  for (; p < e; p++) {
    unsigned d = digit_value(*p);
    if (d < 10) {
      if (value > (limit - d) / 10) return false;
      value = value * 10 + d;
      group++;
    } else if (*p == ',') {
      if (group == 0 || (grouped ? group != 3 : group > 3)) return false;
      grouped = true;
      group = 0;
    } else {
      return false;
    }
  }
  if (group == 0 || (grouped && group != 3)) return false;

  if (is_plain != NULL) {
    bool leading_zero = *first == '0' && e - first > 1;
    *is_plain = plain && !grouped && !leading_zero && !(negative && value == 0);
  }
  if (!negative)
    *out = (int64_t)value;
  else
    *out = value == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)value;
  return true;
}

/* ------------------------------------------------------------------ decimals */

/* Write the decimal digits of v at buf and return their count. */
static size_t write_uint(uint64_t v, char *buf) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
  return n;
}

/* Powers of ten that doubles represent exactly. 1e22 is the largest, because 5^22 < 2^53. */
static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Byte length of a currency prefix at p (¥ ￥ $ € £ RMB), or 0. */
static size_t currency_prefix(const unsigned char *p, const unsigned char *e) {
  size_t n = (size_t)(e - p);
  if (*p == '$') return 1;
  if (n >= 2 && p[0] == 0xC2 && (p[1] == 0xA5 || p[1] == 0xA3)) return 2; /* ¥ £ */
  if (n >= 3 && p[0] == 0xEF && p[1] == 0xBF && p[2] == 0xA5) return 3;   /* ￥ */
  if (n >= 3 && p[0] == 0xE2 && p[1] == 0x82 && p[2] == 0xAC) return 3;   /* € */
  if (n >= 3 && ascii_lower(p[0]) == 'r' && ascii_lower(p[1]) == 'm' && ascii_lower(p[2]) == 'b')
    return 3;
  return 0;
}

/* Byte length of a yuan unit that ends just before e (元 or 块), or 0. */
static size_t yuan_suffix(const unsigned char *p, const unsigned char *e) {
  if (e - p < 3 || e[-3] != 0xE5) return 0;
  if (e[-2] == 0x85 && e[-1] == 0x83) return 3; /* 元 U+5143 */
  if (e[-2] == 0x9D && e[-1] == 0x97) return 3; /* 块 U+5757 */
  return 0;
}

/* A decimal number split into its parts by scan_decimal. */
typedef struct decimal_text {
  const unsigned char *int_begin, *int_end;   /* integer digits, may contain ',' */
  const unsigned char *frac_begin, *frac_end; /* fraction digits after '.' */
  int64_t exponent;                           /* from e/E, capped at +-1e15 */
  bool grouped, has_point, has_exponent;
} decimal_text;

/* Check the syntax digits[.digits][e[+-]digits] over exactly [p, e), where the integer
 * part may use thousands separators. Returns false on any other text. */
static bool scan_decimal(const unsigned char *p, const unsigned char *e, decimal_text *t) {
  t->int_begin = p;
  unsigned group = 0;
  t->grouped = false;
  for (; p < e; p++) {
    if (is_digit(*p)) {
      group++;
    } else if (*p == ',') {
      if (group == 0 || (t->grouped ? group != 3 : group > 3)) return false;
      t->grouped = true;
      group = 0;
    } else {
      break;
    }
  }
  t->int_end = p;
  if (t->grouped && group != 3) return false;

  t->has_point = p < e && *p == '.';
  if (t->has_point) p++;
  t->frac_begin = p;
  while (p < e && is_digit(*p)) p++;
  t->frac_end = p;
  if (t->int_end == t->int_begin && t->frac_end == t->frac_begin) return false;

  t->exponent = 0;
  t->has_exponent = p < e && (*p == 'e' || *p == 'E');
  if (t->has_exponent) {
    p++;
    bool negative = p < e && *p == '-';
    if (p < e && (*p == '-' || *p == '+')) p++;
    if (p == e) return false;
    for (; p < e && is_digit(*p); p++) {
      t->exponent = t->exponent * 10 + (int64_t)digit_value(*p);
      /* A larger exponent, even offset by the text's digit count, is still far out of a
       * double's range, and the cap keeps the sums below from overflowing. */
      if (t->exponent > INT64_C(1000000000000000)) t->exponent = INT64_C(1000000000000000);
    }
    if (negative) t->exponent = -t->exponent;
  }
  return p == e;
}

/* Correctly rounded value of the digits of t times 10^extra_exponent, through strtod.
 * The digits are copied without separators or point into an exponent form, so no radix
 * character and therefore no locale is involved. Numbers longer than MAX_DIGITS
 * significant digits keep MAX_DIGITS and then a sticky '1' when any dropped digit is
 * nonzero. At most 768 digits can decide the rounding of a double (R. Regan, "17 Digits
 * Gets You There, Once You've Found Your Way", exploringbinary.com, 2016), so the sticky
 * digit keeps the value on the same side of every halfway point. */
static bool decimal_slow(const decimal_text *t, int64_t extra_exponent, double *out) {
  enum { MAX_DIGITS = 800 };
  char buf[MAX_DIGITS + 32];
  size_t n_buf = 0;
  int64_t n_digits = 0; /* significant digits in the text */
  bool dropped_nonzero = false;
  int64_t n_frac = (int64_t)(t->frac_end - t->frac_begin);

  for (int part = 0; part < 2; part++) {
    const unsigned char *p = part == 0 ? t->int_begin : t->frac_begin;
    const unsigned char *e = part == 0 ? t->int_end : t->frac_end;
    for (; p < e; p++) {
      if (*p == ',' || (n_digits == 0 && *p == '0')) continue;
      n_digits++;
      if (n_buf < MAX_DIGITS)
        buf[n_buf++] = (char)*p;
      else if (*p != '0')
        dropped_nonzero = true;
    }
  }
  if (n_digits == 0) {
    *out = 0.0;
    return true;
  }
  if (dropped_nonzero) buf[n_buf++] = '1';

  int64_t exponent = t->exponent + extra_exponent - n_frac + (n_digits - (int64_t)n_buf);
  buf[n_buf++] = 'e';
  if (exponent < 0) {
    buf[n_buf++] = '-';
    exponent = -exponent;
  }
  n_buf += write_uint((uint64_t)exponent, buf + n_buf);
  buf[n_buf] = '\0';

  errno = 0;
  char *end;
  double value = strtod(buf, &end);
  if (end != buf + n_buf) return false;
  if (errno == ERANGE && isinf(value)) return false; /* overflow; underflow gives 0 */
  *out = value;
  return true;
}

/* Value of t times 10^extra_exponent. Up to 19 significant digits and a small power of
 * ten take the exact path of W. D. Clinger, "How to Read Floating Point Numbers
 * Accurately" (PLDI 1990): with the digits below 2^53 and |power| <= 22 both operands are
 * exact doubles, so one IEEE multiplication or division rounds correctly. */
static bool decimal_value(const decimal_text *t, int64_t extra_exponent, double *out) {
  uint64_t mantissa = 0;
  int n_sig = 0;
  int64_t exponent = t->exponent + extra_exponent;
  for (const unsigned char *p = t->int_begin; p < t->int_end; p++) {
    if (*p == ',') continue;
    if (n_sig == 19) return decimal_slow(t, extra_exponent, out);
    mantissa = mantissa * 10 + digit_value(*p);
    n_sig += mantissa != 0;
  }
  for (const unsigned char *p = t->frac_begin; p < t->frac_end; p++) {
    if (n_sig == 19) return decimal_slow(t, extra_exponent, out);
    mantissa = mantissa * 10 + digit_value(*p);
    n_sig += mantissa != 0;
    exponent--;
  }

  if (mantissa == 0) {
    *out = 0.0;
    return true;
  }
  if (mantissa > (UINT64_C(1) << 53) || exponent < -22 || exponent > 22)
    return decimal_slow(t, extra_exponent, out);
  double m = (double)mantissa;
  *out = exponent >= 0 ? m * pow10_exact[exponent] : m / pow10_exact[-exponent];
  return true;
}

bool promo_parse_decimal(const char *s, size_t len, double *out, bool *is_plain) {
  const unsigned char *p = (const unsigned char *)s, *e = p + len;
  bool plain = !trim(&p, &e);
  if (p == e) return false;

  /* Sign and currency in either order: "-¥5", "¥-5", "RMB 12". */
  bool negative = false, has_sign = false;
  if (*p == '-' || *p == '+') {
    negative = *p == '-';
    plain = plain && negative;
    has_sign = true;
    p++;
  }
  size_t currency = p < e ? currency_prefix(p, e) : 0;
  if (currency != 0) {
    plain = false;
    p += currency;
    size_t n;
    while (p < e && (n = space_at(p, e)) != 0) p += n;
    if (!has_sign && p < e && (*p == '-' || *p == '+')) {
      negative = *p == '-';
      p++;
    }
  }

  /* Chinese exports often put 元 or 块 after prices ("12.50元", "12 块"). One such unit
   * is dropped and the number before it is read as usual, so "元" and "12元元" still
   * fail. A trailing percent sign, ASCII or full-width (％), divides by 100. A text with
   * both a unit and a percent sign fails. */
  int64_t extra_exponent = 0;
  size_t unit = yuan_suffix(p, e);
  if (unit != 0) {
    e -= unit;
    plain = false;
    size_t n;
    while (e > p && (n = space_before(p, e)) != 0) e -= n;
  } else if (e > p && e[-1] == '%') {
    e--;
    extra_exponent = -2;
  } else if (e - p >= 3 && e[-3] == 0xEF && e[-2] == 0xBC && e[-1] == 0x85) {
    e -= 3;
    extra_exponent = -2;
  }
  if (extra_exponent != 0) {
    plain = false;
    size_t n;
    while (e > p && (n = space_before(p, e)) != 0) e -= n;
  }

  decimal_text t;
  double value;
  if (!scan_decimal(p, e, &t) || !decimal_value(&t, extra_exponent, &value)) return false;
  *out = negative ? -value : value;

  if (is_plain != NULL) {
    bool has_int = t.int_end > t.int_begin;
    bool leading_zero = t.int_end - t.int_begin > 1 && *t.int_begin == '0';
    bool empty_fraction = t.has_point && t.frac_end == t.frac_begin;
    *is_plain = plain && has_int && !leading_zero && !empty_fraction && !t.grouped &&
                !t.has_exponent;
  }
  return true;
}

/* ------------------------------------------------------------------ booleans */

bool promo_parse_bool(const char *s, size_t len, bool *out, bool *is_plain) {
  const unsigned char *p = (const unsigned char *)s, *e = p + len;
  bool plain = !trim(&p, &e);
  size_t n = (size_t)(e - p);
  if (n == 0 || n > 5) return false;

  char low[6];
  for (size_t i = 0; i < n; i++) low[i] = (char)ascii_lower(p[i]);
  low[n] = '\0';
  static const struct {
    const char *text;
    bool value;
  } words[] = {
      {"true", true}, {"false", false}, {"1", true},     {"0", false},
      {"yes", true},  {"no", false},    {"y", true},     {"n", false},
      {"t", true},    {"f", false},     {"\xE6\x98\xAF", true}, /* 是 */
      {"\xE5\x90\xA6", false},                                  /* 否 */
  };
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    if (strcmp(low, words[i].text) == 0) {
      *out = words[i].value;
      if (is_plain != NULL)
        *is_plain = plain && i < 2 && memcmp(p, words[i].text, n) == 0; /* "true", "false" */
      return true;
    }
  }
  return false;
}

/* ------------------------------------------------------------------ calendar */

/* The days-from-civil and civil-from-days algorithms of H. Hinnant, "chrono-Compatible
 * Low-Level Date Algorithms" (2013, howardhinnant.github.io/date_algorithms.html). The
 * proleptic Gregorian calendar is counted in 400-year eras of 146097 days, each starting
 * on March 1 so that the leap day ends the year. 719468 is the day number of 1970-01-01
 * counted from 0000-03-01. */
int32_t promo_days_from_civil(int64_t year, unsigned month, unsigned day) {
  int64_t y = year - (month <= 2);
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t year_of_era = y - era * 400;                                  /* [0, 399] */
  int64_t month_from_march = month > 2 ? month - 3 : month + 9;         /* [0, 11] */
  int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;     /* [0, 365] */
  int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year; /* [0, 146096] */
  return (int32_t)(era * 146097 + day_of_era - 719468);
}

void promo_civil_from_days(int32_t days, int *year, unsigned *month, unsigned *day) {
  int64_t z = (int64_t)days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t day_of_era = z - era * 146097;
  int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  int64_t month_from_march = (5 * day_of_year + 2) / 153;
  *day = (unsigned)(day_of_year - (153 * month_from_march + 2) / 5 + 1);
  *month = (unsigned)(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
  *year = (int)(year_of_era + era * 400 + (*month <= 2));
}

static bool is_leap_year(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static unsigned days_in_month(int year, unsigned month) {
  static const unsigned char n_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : n_days[month - 1];
}

/* Read 1 to max_digits digits at *p into *value and advance. Returns false when there is none. */
static bool read_digits(const unsigned char **p, const unsigned char *e, int max_digits,
                        unsigned *value, int *n_read) {
  const unsigned char *q = *p;
  unsigned v = 0;
  while (q < e && q - *p < max_digits && is_digit(*q)) v = v * 10 + digit_value(*q++);
  *n_read = (int)(q - *p);
  *p = q;
  *value = v;
  return *n_read > 0;
}

/* Match a literal at *p and advance past it. */
static bool read_literal(const unsigned char **p, const unsigned char *e, const char *literal) {
  size_t n = strlen(literal);
  if ((size_t)(e - *p) < n || memcmp(*p, literal, n) != 0) return false;
  *p += n;
  return true;
}

/* Read a calendar date at the start of [*p, e) and advance past it. The forms are
 * YYYY-M-D with '-', '/' or '.', YYYY年M月D日, and YYYYMMDD. YYYYMMDD accepts years 1900
 * to 2199 only, so that other 8-digit numbers such as order ids are not taken for dates.
 * Validates month and day, and sets *plain for the writer's form YYYY-MM-DD. */
static bool read_date(const unsigned char **p, const unsigned char *e, int32_t *days,
                      bool *plain) {
  const unsigned char *q = *p;
  unsigned year, month, day;
  int n_year, n_month, n_day;
  if (!read_digits(&q, e, 4, &year, &n_year) || n_year != 4) return false;

  *plain = false;
  if (q < e && is_digit(*q)) {
    /* YYYYMMDD: exactly 8 digits. */
    if (!read_digits(&q, e, 2, &month, &n_month) || n_month != 2) return false;
    if (!read_digits(&q, e, 2, &day, &n_day) || n_day != 2) return false;
    if ((q < e && is_digit(*q)) || year < 1900 || year > 2199) return false;
  } else if (q < e && (*q == '-' || *q == '/' || *q == '.')) {
    unsigned char separator = *q++;
    if (!read_digits(&q, e, 2, &month, &n_month)) return false;
    if (q == e || *q++ != separator) return false;
    if (!read_digits(&q, e, 2, &day, &n_day)) return false;
    *plain = separator == '-' && n_month == 2 && n_day == 2;
  } else if (read_literal(&q, e, "\xE5\xB9\xB4")) { /* 年 */
    if (!read_digits(&q, e, 2, &month, &n_month)) return false;
    if (!read_literal(&q, e, "\xE6\x9C\x88")) return false; /* 月 */
    if (!read_digits(&q, e, 2, &day, &n_day)) return false;
    if (!read_literal(&q, e, "\xE6\x97\xA5")) return false; /* 日 */
  } else {
    return false;
  }
  if (q < e && is_digit(*q)) return false; /* a 3-digit day or month */

  if (year == 0 || month < 1 || month > 12 || day < 1 || day > days_in_month((int)year, month))
    return false;
  *days = promo_days_from_civil(year, month, day);
  *p = q;
  return true;
}

bool promo_parse_date(const char *s, size_t len, int32_t *days, bool *is_plain) {
  const unsigned char *p = (const unsigned char *)s, *e = p + len;
  bool trimmed = trim(&p, &e);
  bool plain;
  int32_t value;
  if (!read_date(&p, e, &value, &plain) || p != e) return false;
  *days = value;
  if (is_plain != NULL) *is_plain = plain && !trimmed;
  return true;
}

/* ------------------------------------------------------------------ datetimes */

static bool all_digits(const unsigned char *p, const unsigned char *e) {
  for (; p < e; p++)
    if (!is_digit(*p)) return false;
  return true;
}

static bool unix_seconds(const unsigned char *p, const unsigned char *e, int64_t *seconds) {
  size_t n = (size_t)(e - p);
  if (n < 9 || n > 10 || !all_digits(p, e)) return false;
  int64_t value = 0;
  for (; p < e; p++) value = value * 10 + digit_value(*p);
  if (value < INT64_C(100000000) || value > INT64_C(4000000000)) return false;
  *seconds = value;
  return true;
}

bool promo_parse_unix_seconds(const char *s, size_t len, int64_t *seconds) {
  const unsigned char *p = (const unsigned char *)s, *e = p + len;
  trim(&p, &e);
  return unix_seconds(p, e, seconds);
}

/* Read a UTC offset at *p (Z, or + or - with hh, hh:mm or hhmm) into seconds east of UTC. */
static bool read_utc_offset(const unsigned char **p, const unsigned char *e, int64_t *offset) {
  const unsigned char *q = *p;
  if (*q == 'Z' || *q == 'z') {
    *offset = 0;
    *p = q + 1;
    return true;
  }
  if (*q != '+' && *q != '-') return false;
  int sign = *q++ == '-' ? -1 : 1;
  unsigned hours, minutes = 0;
  int n;
  if (!read_digits(&q, e, 2, &hours, &n) || n != 2) return false;
  bool has_colon = q < e && *q == ':';
  if (has_colon) q++;
  if ((has_colon || q < e) && (!read_digits(&q, e, 2, &minutes, &n) || n != 2)) return false;
  if (hours > 23 || minutes > 59) return false;
  *offset = sign * (int64_t)(hours * 3600 + minutes * 60);
  *p = q;
  return true;
}

/* Read H:MM[:SS[.fff]] into seconds after midnight; *plain for exactly HH:MM:SS. */
static bool read_time(const unsigned char **p, const unsigned char *e, int64_t *seconds,
                      bool *plain) {
  const unsigned char *q = *p;
  unsigned hours, minutes, secs = 0;
  int n_hours, n;
  if (!read_digits(&q, e, 2, &hours, &n_hours)) return false;
  if (q == e || *q++ != ':') return false;
  if (!read_digits(&q, e, 2, &minutes, &n) || n != 2) return false;
  bool has_seconds = q < e && *q == ':';
  if (has_seconds) {
    q++;
    if (!read_digits(&q, e, 2, &secs, &n) || n != 2) return false;
  }
  bool has_fraction = has_seconds && q < e && (*q == '.' || *q == ',');
  if (has_fraction) {
    q++;
    if (q == e || !is_digit(*q)) return false;
    while (q < e && is_digit(*q)) q++; /* fractions of a second are dropped */
  }
  if (hours > 23 || minutes > 59 || secs > 59) return false;
  *seconds = (int64_t)hours * 3600 + minutes * 60 + secs;
  *plain = n_hours == 2 && has_seconds && !has_fraction;
  *p = q;
  return true;
}

bool promo_parse_datetime(const char *s, size_t len, int64_t *seconds, bool *is_plain) {
  const unsigned char *p = (const unsigned char *)s, *e = p + len;
  bool plain = !trim(&p, &e);
  if (p == e) return false;
  if (unix_seconds(p, e, seconds)) {
    if (is_plain != NULL) *is_plain = false;
    return true;
  }

  int32_t days;
  bool date_plain;
  if (!read_date(&p, e, &days, &date_plain)) return false;
  int64_t time_of_day = 0, offset = 0;
  bool time_plain = false;
  if (p < e) {
    /* Date and time are separated by 'T' (ISO 8601) or by spaces. */
    const unsigned char *time_begin = p;
    if (*p == 'T' || *p == 't') {
      p++;
    } else {
      size_t n;
      while (p < e && (n = space_at(p, e)) != 0) p += n;
    }
    if (p == time_begin || !read_time(&p, e, &time_of_day, &time_plain)) return false;
    time_plain = time_plain && p - time_begin == 9 && *time_begin == ' ';
    size_t n;
    while (p < e && (n = space_at(p, e)) != 0) p += n;
    if (p < e) {
      if (!read_utc_offset(&p, e, &offset) || p != e) return false;
      time_plain = false;
    }
  }
  /* The offset is validated but not applied: promo keeps the local time as written, so
   * 2024-11-11T01:00:00+08:00 stays 01:00 on 11 November for calendar features and
   * compares with offset-free times in the same export. */
  (void)offset;
  *seconds = (int64_t)days * 86400 + time_of_day;
  if (is_plain != NULL) *is_plain = plain && date_plain && time_plain;
  return true;
}

/* ------------------------------------------------------------------ formatters */

size_t promo_format_int(int64_t value, char buf[24]) {
  size_t n = 0;
  uint64_t magnitude = (uint64_t)value;
  if (value < 0) {
    buf[n++] = '-';
    magnitude = 0 - magnitude;
  }
  n += write_uint(magnitude, buf + n);
  buf[n] = '\0';
  return n;
}

/* Shortest fixed-point text for 1e-4 <= v < 1e15: the smallest k such that v * 10^k rounds
 * to an integer r < 10^15 with r / 10^k == v. Because r and 10^k are exact doubles, that
 * division is exactly what a correctly rounded reader computes for the text, so the text
 * reads back to v. r has at most 15 digits, the precision at which %.15g also gives these
 * same characters. Returns 0 when no such k exists. */
static size_t format_decimal_fixed(double v, char *buf) {
  for (int k = 0; k <= 22; k++) {
    double scaled = v * pow10_exact[k];
    if (scaled >= 1e15) return 0;
    double rounded = floor(scaled + 0.5);
    if (rounded / pow10_exact[k] != v) continue;

    char digits[20];
    size_t n_digits = write_uint((uint64_t)rounded, digits);
    size_t n = 0;
    size_t n_int = n_digits > (size_t)k ? n_digits - (size_t)k : 0;
    if (n_int == 0) {
      buf[n++] = '0';
    } else {
      memcpy(buf, digits, n_int);
      n = n_int;
    }
    if (k > 0) {
      buf[n++] = '.';
      for (size_t i = n_digits; i < (size_t)k; i++) buf[n++] = '0';
      memcpy(buf + n, digits + n_int, n_digits - n_int);
      n += n_digits - n_int;
    }
    return n;
  }
  return 0;
}

/* Copy printf output to buf, turning the locale's radix character (which may be
 * several bytes) into '.'. */
static size_t normalize_radix(const char *text, char *buf) {
  size_t n = 0;
  bool in_radix = false;
  for (const char *c = text; *c != '\0'; c++) {
    bool numeric = is_digit((unsigned char)*c) || *c == '-' || *c == '+' || *c == 'e';
    if (numeric) {
      buf[n++] = *c;
      in_radix = false;
    } else if (!in_radix) {
      buf[n++] = '.';
      in_radix = true;
    }
  }
  buf[n] = '\0';
  return n;
}

size_t promo_format_decimal(double value, char buf[32]) {
  size_t n = 0;
  if (isnan(value)) {
    memcpy(buf, "nan", 4);
    return 3;
  }
  if (signbit(value)) buf[n++] = '-';
  double magnitude = fabs(value);
  if (isinf(magnitude)) {
    memcpy(buf + n, "inf", 4);
    return n + 3;
  }
  if (magnitude == 0) {
    buf[n++] = '0';
    buf[n] = '\0';
    return n;
  }

  /* In this range the fixed-point search covers every text of at most 15 significant
   * digits, so when it fails %.15g would fail too. */
  int first_precision = 15;
  if (magnitude >= 1e-4 && magnitude < 1e15) {
    size_t written = format_decimal_fixed(magnitude, buf + n);
    if (written != 0) {
      buf[n + written] = '\0';
      return n + written;
    }
    first_precision = 16;
  }

  /* The general case: the first of 15, 16 and 17 significant digits that reads back to
   * the same value (17 always does for IEEE doubles). */
  for (int precision = first_precision; precision <= 17; precision++) {
    char text[40];
    snprintf(text, sizeof text, "%.*g", precision, magnitude);
    size_t written = normalize_radix(text, buf + n);
    double back;
    if (precision == 17 ||
        (promo_parse_decimal(buf + n, written, &back, NULL) && back == magnitude))
      return n + written;
  }
  return n; /* not reached */
}

size_t promo_format_date(int32_t days, char buf[16]) {
  int year;
  unsigned month, day;
  promo_civil_from_days(days, &year, &month, &day);
  if (year < 0 || year > 9999) {
    int n = snprintf(buf, 16, "%d-%02u-%02u", year, month, day);
    return n < 16 ? (size_t)n : 15;
  }
  unsigned y = (unsigned)year;
  buf[0] = (char)('0' + y / 1000);
  buf[1] = (char)('0' + y / 100 % 10);
  buf[2] = (char)('0' + y / 10 % 10);
  buf[3] = (char)('0' + y % 10);
  buf[4] = '-';
  buf[5] = (char)('0' + month / 10);
  buf[6] = (char)('0' + month % 10);
  buf[7] = '-';
  buf[8] = (char)('0' + day / 10);
  buf[9] = (char)('0' + day % 10);
  buf[10] = '\0';
  return 10;
}

size_t promo_format_datetime(int64_t seconds, char buf[32]) {
  /* Floor division, so times before 1970 fall on the previous day. */
  int64_t days = seconds / 86400;
  int64_t rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    days--;
  }
  if (days < INT32_MIN || days > INT32_MAX) {
    /* Beyond any calendar date an int32 day count can name: write the raw count. */
    return promo_format_int(seconds, buf);
  }
  size_t n = promo_format_date((int32_t)days, buf);
  unsigned h = (unsigned)(rest / 3600), m = (unsigned)(rest / 60 % 60), s = (unsigned)(rest % 60);
  char *t = buf + n;
  t[0] = ' ';
  t[1] = (char)('0' + h / 10);
  t[2] = (char)('0' + h % 10);
  t[3] = ':';
  t[4] = (char)('0' + m / 10);
  t[5] = (char)('0' + m % 10);
  t[6] = ':';
  t[7] = (char)('0' + s / 10);
  t[8] = (char)('0' + s % 10);
  t[9] = '\0';
  return n + 9;
}
