/* Default encoder choice of the feature stage: one proposed encoding per column from its
 * type and distinct count, with a reason the CLI prints before fitting. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "feature/encode_internal.h"

void promo_encoder_suggest_options_init(promo_encoder_suggest_options *opt) {
  opt->max_one_hot_levels = 64;
  opt->prefer_index = false;
}

static char lower_ascii(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }
static bool is_lower_ascii(char c) { return c >= 'a' && c <= 'z'; }

/* True for names of identifier columns: "id", "user_id", "item-id", "user id", "userId",
 * "userID", "用户ID", and names ending in 号 (订单号, 会员号, 编号). */
static bool name_suggests_id(const char *name) {
  size_t n = strlen(name);
  static const char kHao[] = "\xe5\x8f\xb7"; /* 号 */
  if (n >= 3 && memcmp(name + n - 3, kHao, 3) == 0) return true;
  if (n < 2 || lower_ascii(name[n - 2]) != 'i' || lower_ascii(name[n - 1]) != 'd') return false;
  if (n == 2) return true;
  char before = name[n - 3];
  if (before == '_' || before == '-' || before == ' ' || before == '.') return true;
  if ((unsigned char)before >= 0x80) return true;                /* after CJK text: 用户ID */
  if (name[n - 2] == 'I' && is_lower_ascii(before)) return true; /* userId, userID */
  return false;
}

static int compare_int64(const void *pa, const void *pb) {
  int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
  return (a > b) - (a < b);
}

static int compare_double(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  return (a > b) - (a < b);
}

/* Distinct values of a string column: the codes that occur. */
static promo_status count_codes(const promo_column *col, const size_t *rows, size_t n_rows,
                                promo_encoder_suggestion *out) {
  size_t n_codes = promo_dict_size(col->dict);
  uint8_t *seen = calloc(n_codes > 0 ? n_codes : 1, 1);
  if (seen == NULL) return PROMO_ERR_NOMEM;
  for (size_t i = 0; i < n_rows; i++) {
    size_t r = encode_row(rows, i);
    int32_t code = col->codes[r];
    if (col->is_missing[r] || code < 0 || (size_t)code >= n_codes) {
      out->n_missing++;
      continue;
    }
    out->n_distinct += !seen[code];
    seen[code] = 1;
  }
  free(seen);
  return PROMO_OK;
}

/* Distinct values of a numeric column: sort a copy of the present values and count the
 * runs. Non-finite reals count as missing, as the scalers treat them. */
static promo_status count_numbers(const promo_column *col, const size_t *rows, size_t n_rows,
                                  promo_encoder_suggestion *out) {
  size_t n = 0;
  if (col->reals != NULL) {
    double *values = malloc((n_rows > 0 ? n_rows : 1) * sizeof *values);
    if (values == NULL) return PROMO_ERR_NOMEM;
    for (size_t i = 0; i < n_rows; i++) {
      size_t r = encode_row(rows, i);
      if (col->is_missing[r] || !isfinite(col->reals[r]))
        out->n_missing++;
      else
        values[n++] = col->reals[r];
    }
    qsort(values, n, sizeof *values, compare_double);
    for (size_t i = 0; i < n; i++) out->n_distinct += i == 0 || values[i] != values[i - 1];
    free(values);
    return PROMO_OK;
  }
  int64_t *values = malloc((n_rows > 0 ? n_rows : 1) * sizeof *values);
  if (values == NULL) return PROMO_ERR_NOMEM;
  for (size_t i = 0; i < n_rows; i++) {
    size_t r = encode_row(rows, i);
    if (col->is_missing[r])
      out->n_missing++;
    else
      values[n++] = col->ints[r];
  }
  qsort(values, n, sizeof *values, compare_int64);
  for (size_t i = 0; i < n; i++) out->n_distinct += i == 0 || values[i] != values[i - 1];
  free(values);
  return PROMO_OK;
}

/* Choose among ONE_HOT, FREQUENCY and INDEX by distinct count. */
static void suggest_categorical(const promo_encoder_suggest_options *opt, bool is_identifier,
                                promo_encoder_suggestion *out) {
  unsigned long long n = (unsigned long long)out->n_distinct;
  if (out->n_distinct <= opt->max_one_hot_levels) {
    out->kind = PROMO_ENCODER_ONE_HOT;
    snprintf(out->reason, sizeof out->reason,
             is_identifier ? _("integer identifier with %llu distinct values, at most %zu")
                           : _("categorical with %llu levels, at most %zu"),
             n, opt->max_one_hot_levels);
    return;
  }
  out->kind = opt->prefer_index ? PROMO_ENCODER_INDEX : PROMO_ENCODER_FREQUENCY;
  if (opt->prefer_index)
    snprintf(out->reason, sizeof out->reason,
             is_identifier ? _("integer identifier with %llu distinct values, more than %zu")
                           : _("categorical with %llu levels, more than %zu"),
             n, opt->max_one_hot_levels);
  else
    snprintf(out->reason, sizeof out->reason,
             is_identifier ? _("integer identifier with %llu distinct values, more than %zu")
                           : _("categorical with %llu levels, more than %zu"),
             n, opt->max_one_hot_levels);
}

promo_status promo_encoder_suggest(const promo_table *table, size_t column, const size_t *rows,
                                   size_t n_rows, const promo_encoder_suggest_options *opt,
                                   promo_encoder_suggestion *out, promo_error *err) {
  memset(out, 0, sizeof *out);
  promo_encoder_suggest_options defaults;
  if (opt == NULL) {
    promo_encoder_suggest_options_init(&defaults);
    opt = &defaults;
  }
  if (column >= table->n_columns)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("column index %zu is out of range for a table of %zu columns"), column,
                           table->n_columns);
  if (rows == NULL) n_rows = table->n_rows;
  for (size_t i = 0; rows != NULL && i < n_rows; i++)
    if (rows[i] >= table->n_rows)
      return promo_error_set(err, PROMO_ERR_USAGE,
                             _("row index %zu is out of range for a table of %zu rows"), rows[i],
                             table->n_rows);

  const promo_column *col = &table->columns[column];
  promo_type type = col->type;
  if (type == PROMO_TYPE_DATE || type == PROMO_TYPE_DATETIME) {
    snprintf(out->reason, sizeof out->reason, "%s", _("date or time: left to the time features"));
    return PROMO_OK;
  }
  promo_status status = promo_type_is_string(type) ? count_codes(col, rows, n_rows, out)
                                                   : count_numbers(col, rows, n_rows, out);
  if (status != PROMO_OK) return promo_error_set(err, status, "%s", _("out of memory"));

  unsigned long long n = (unsigned long long)out->n_distinct;
  if (type == PROMO_TYPE_TEXT)
    snprintf(out->reason, sizeof out->reason, _("free text with %llu distinct values"), n);
  else if (out->n_distinct == 0)
    snprintf(out->reason, sizeof out->reason, "%s", _("no values"));
  else if (out->n_distinct == 1)
    snprintf(out->reason, sizeof out->reason, "%s", _("one distinct value"));
  else if (type == PROMO_TYPE_CATEGORICAL)
    suggest_categorical(opt, false, out);
  else if (type == PROMO_TYPE_INT && name_suggests_id(col->name))
    suggest_categorical(opt, true, out);
  else {
    out->kind = PROMO_ENCODER_STANDARDIZE;
    snprintf(out->reason, sizeof out->reason, _("numeric with %llu distinct values"),
             n);
  }
  return PROMO_OK;
}
