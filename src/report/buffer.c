/* The HTML report's building blocks: a growing output buffer with HTML escaping, number
 * formatting, and type-checked access to the run document with key paths in errors. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "report/internal.h"

/* ===================================================================== buffer */

static bool reserve(report_buf *b, size_t extra) {
  if (b->failed) return false;
  if (b->len + extra + 1 <= b->cap) return true;
  size_t cap = b->cap > 0 ? b->cap : 65536;
  while (cap < b->len + extra + 1) {
    if (cap > SIZE_MAX / 2) {
      b->failed = true;
      return false;
    }
    cap *= 2;
  }
  char *data = realloc(b->data, cap);
  if (data == NULL) {
    b->failed = true;
    return false;
  }
  b->data = data;
  b->cap = cap;
  return true;
}

static void append(report_buf *b, const char *s, size_t n) {
  if (!reserve(b, n)) return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void rbuf_puts(report_buf *b, const char *s) { append(b, s, strlen(s)); }

void rbuf_printf(report_buf *b, const char *fmt, ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->failed = true;
    return;
  }
  if ((size_t)n < sizeof small) {
    append(b, small, (size_t)n);
    return;
  }
  if (!reserve(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void rbuf_escape_n(report_buf *b, const char *text, size_t len) {
  size_t start = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    const char *entity = NULL;
    if (c == '&') entity = "&amp;";
    else if (c == '<') entity = "&lt;";
    else if (c == '>') entity = "&gt;";
    else if (c == '"') entity = "&quot;";
    else if (c == '\'') entity = "&#39;";
    /* Control characters (NUL included, which JSON strings may carry) are invalid in
     * HTML text, so they become the replacement character. */
    else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) entity = "\xEF\xBF\xBD";
    if (entity == NULL) continue;
    append(b, text + start, i - start);
    rbuf_puts(b, entity);
    start = i + 1;
  }
  append(b, text + start, len - start);
}

void rbuf_escape(report_buf *b, const char *text) { rbuf_escape_n(b, text, strlen(text)); }

void rbuf_auto(report_buf *b, double x) {
  char buf[64];
  promo_report_format_auto(x, buf, sizeof buf);
  rbuf_puts(b, buf);
}

/* Bytes in the UTF-8 sequence that starts with byte c (1 for stray bytes). */
static size_t utf8_length(unsigned char c) {
  if (c >= 0xF0) return 4;
  if (c >= 0xE0) return 3;
  if (c >= 0xC0) return 2;
  return 1;
}

void report_clip_label(const char *text, int max_columns, char *out, size_t size) {
  size_t n = strlen(text), i = 0, keep = 0;
  int columns = 0;
  bool cut = false;
  while (i < n) {
    size_t step = utf8_length((unsigned char)text[i]);
    if (i + step > n) step = n - i;
    int width = step >= 3 ? 2 : 1;
    if (columns + width > max_columns) {
      cut = true;
      break;
    }
    columns += width;
    i += step;
    /* Keep room for the ellipsis in case a later character does not fit. */
    if (columns <= max_columns - 1) keep = i;
  }
  if (!cut) keep = n;
  if (keep + 4 > size) keep = size > 4 ? size - 4 : 0;
  while (keep > 0 && ((unsigned char)text[keep] & 0xC0) == 0x80) keep--;
  memcpy(out, text, keep);
  if (cut) {
    memcpy(out + keep, "\xE2\x80\xA6", 3); /* U+2026 … */
    keep += 3;
  }
  out[keep] = '\0';
}

/* ===================================================================== numbers */

void promo_report_format_number(double x, int decimals, char *buf, size_t size) {
  if (size == 0) return;
  if (!isfinite(x)) {
    snprintf(buf, size, "%s", "\xE2\x80\x94"); /* U+2014 — */
    return;
  }
  if (decimals < 0) decimals = 0;
  if (decimals > 12) decimals = 12;
  char raw[400];
  snprintf(raw, sizeof raw, "%.*f", decimals, x);

  /* The decimal point is whatever LC_NUMERIC printed; find it by position instead. */
  const char *digits = raw[0] == '-' ? raw + 1 : raw;
  size_t n_int = 0;
  while (digits[n_int] >= '0' && digits[n_int] <= '9') n_int++;
  bool negative = raw[0] == '-' && strspn(digits, "0.,") < strlen(digits);

  char out[600];
  size_t k = 0;
  if (negative) out[k++] = '-';
  for (size_t i = 0; i < n_int; i++) {
    if (i > 0 && (n_int - i) % 3 == 0) out[k++] = ',';
    out[k++] = digits[i];
  }
  if (decimals > 0) {
    out[k++] = '.';
    memcpy(out + k, digits + n_int + 1, (size_t)decimals);
    k += (size_t)decimals;
  }
  out[k] = '\0';
  snprintf(buf, size, "%s", out);
}

void promo_report_format_percent(double ratio, int decimals, char *buf, size_t size) {
  if (!isfinite(ratio)) {
    promo_report_format_number(ratio, decimals, buf, size);
    return;
  }
  char number[480];
  promo_report_format_number(ratio * 100.0, decimals, number, sizeof number);
  snprintf(buf, size, "%s%%", number);
}

void promo_report_format_auto(double x, char *buf, size_t size) {
  double a = fabs(x);
  int decimals;
  if (!isfinite(x) || a >= 1000) decimals = 0;
  else if (a >= 100) decimals = 1;
  else if (a >= 1 || a == 0) decimals = a == 0 ? 0 : 2;
  else decimals = 2 - (int)floor(log10(a)); /* three significant digits */
  promo_report_format_number(x, decimals, buf, size);
}

/* ===================================================================== document access */

void report_path_key(char *out, const char *parent, const char *key) {
  if (parent == NULL || parent[0] == '\0') snprintf(out, REPORT_PATH_MAX, "%s", key);
  else snprintf(out, REPORT_PATH_MAX, "%s.%s", parent, key);
}

void report_path_index(char *out, const char *parent, size_t index) {
  snprintf(out, REPORT_PATH_MAX, "%s[%zu]", parent, index);
}

static const char *type_name(const json_t *v) {
  switch (json_typeof(v)) {
    case JSON_OBJECT: return _("an object");
    case JSON_ARRAY: return _("an array");
    case JSON_STRING: return _("a string");
    case JSON_INTEGER:
    case JSON_REAL: return _("a number");
    case JSON_TRUE:
    case JSON_FALSE: return _("a boolean");
    default: return _("null");
  }
}

void report_type_error(report *r, const char *path, const char *expected, const json_t *found) {
  if (r->status != PROMO_OK) return;
  r->status = PROMO_ERR_DATA;
  /* Key paths longer than the field are clipped there; the message keeps them whole. */
  size_t len = strnlen(path, sizeof r->err->column_name - 1);
  memcpy(r->err->column_name, path, len);
  r->err->column_name[len] = '\0';
  if (path[0] == '\0')
    promo_error_set(r->err, PROMO_ERR_DATA, _("invalid report document: the top level must be %s, found %s"),
                    expected, type_name(found));
  else
    promo_error_set(r->err, PROMO_ERR_DATA, _("invalid report document: \"%s\" must be %s, found %s"), path,
                    expected, type_name(found));
}

static const char *expected_name(json_type type) {
  switch (type) {
    case JSON_OBJECT: return _("an object");
    case JSON_ARRAY: return _("an array");
    case JSON_STRING: return _("a string");
    default: return _("a number");
  }
}

const json_t *report_member(report *r, const json_t *obj, const char *parent, const char *key,
                            json_type type) {
  if (r->status != PROMO_OK || obj == NULL) return NULL;
  const json_t *v = json_object_get(obj, key);
  if (v == NULL || json_is_null(v)) return NULL;
  if (json_typeof(v) == type) return v;
  char path[REPORT_PATH_MAX];
  report_path_key(path, parent, key);
  report_type_error(r, path, expected_name(type), v);
  return NULL;
}

const char *report_string(report *r, const json_t *obj, const char *parent, const char *key) {
  const json_t *v = report_member(r, obj, parent, key, JSON_STRING);
  return v != NULL ? json_string_value(v) : NULL;
}

bool report_number(report *r, const json_t *obj, const char *parent, const char *key, double *out) {
  *out = NAN;
  if (r->status != PROMO_OK || obj == NULL) return false;
  const json_t *v = json_object_get(obj, key);
  if (v == NULL || json_is_null(v)) return false;
  if (!json_is_number(v)) {
    char path[REPORT_PATH_MAX];
    report_path_key(path, parent, key);
    report_type_error(r, path, _("a number"), v);
    return false;
  }
  *out = json_number_value(v);
  return true;
}

bool report_pair(report *r, const json_t *item, const char *parent, size_t index, double *x,
                 double *y) {
  *x = *y = NAN;
  if (r->status != PROMO_OK) return false;
  const json_t *a = json_is_array(item) && json_array_size(item) == 2 ? json_array_get(item, 0) : NULL;
  const json_t *b = a != NULL ? json_array_get(item, 1) : NULL;
  bool ok = a != NULL && (json_is_number(a) || json_is_null(a)) && (json_is_number(b) || json_is_null(b));
  if (!ok) {
    char path[REPORT_PATH_MAX];
    report_path_index(path, parent, index);
    report_type_error(r, path, _("an array of two numbers"), item);
    return false;
  }
  if (json_is_null(a) || json_is_null(b)) return false;
  *x = json_number_value(a);
  *y = json_number_value(b);
  return isfinite(*x) && isfinite(*y);
}

bool report_is_object(report *r, const json_t *item, const char *parent, size_t index) {
  if (r->status != PROMO_OK) return false;
  if (json_is_object(item)) return true;
  char path[REPORT_PATH_MAX];
  report_path_index(path, parent, index);
  report_type_error(r, path, _("an object"), item);
  return false;
}

const char *report_label(report *r, const json_t *obj, const char *parent, const char *key,
                         char *buf, size_t size) {
  if (r->status != PROMO_OK || obj == NULL) return NULL;
  const json_t *v = json_object_get(obj, key);
  if (v == NULL || json_is_null(v)) return NULL;
  if (json_is_string(v)) return json_string_value(v);
  if (json_is_integer(v)) {
    snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return buf;
  }
  if (json_is_real(v)) {
    snprintf(buf, size, "%.17g", json_real_value(v));
    return buf;
  }
  char path[REPORT_PATH_MAX];
  report_path_key(path, parent, key);
  report_type_error(r, path, _("a string or a number"), v);
  return NULL;
}

const char *report_term(const char *key) {
  static const char *const keys[] = {"clean", "train", "evaluate", "plan", "report", "profit", "revenue", "units",
                                     "incremental_profit", "incremental_revenue", "incremental_units", "fast",
                                     "exact", "budget", "max_promoted"};
  const char *labels[] = {_("clean"), _("train"), _("evaluate"), _("plan"), _("report"), _("profit"),
                          _("revenue"), _("units"), _("incremental profit"), _("incremental revenue"),
                          _("incremental units"), _("fast (LP and Lagrangian bound)"),
                          _("exact (GLPK branch and bound)"), _("budget"), _("units promoted")};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (strcmp(key, keys[i]) == 0) return labels[i];
  return key;
}
