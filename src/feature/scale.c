/* Numeric scalers of the feature stage: standardize, min-max, robust and log1p +
 * standardize, with imputation of missing values. Statistics are computed over the
 * non-missing training values, as scikit-learn's scalers do when given NaN. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "feature/encode_internal.h"

/* ---- order statistics ---- */

static double median_of_three(double a, double b, double c) {
  if (a > b) {
    double t = a;
    a = b;
    b = t;
  }
  /* Now a <= b. */
  if (c <= a) return a;
  if (c >= b) return b;
  return c;
}

/* k-th smallest of x[0..n) (0-based), by Hoare's FIND (quickselect) with a
 * median-of-three pivot. Reorders x so that x[0..k) <= x[k] <= x[k+1..n). */
static double select_kth(double *x, size_t n, size_t k) {
  ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, target = (ptrdiff_t)k;
  while (lo < hi) {
    /* The pivot is an element of x[lo..hi], so both scans below stop inside it. */
    double pivot = median_of_three(x[lo], x[lo + (hi - lo) / 2], x[hi]);
    ptrdiff_t i = lo, j = hi;
    do {
      while (x[i] < pivot) i++;
      while (pivot < x[j]) j--;
      if (i <= j) {
        double t = x[i];
        x[i] = x[j];
        x[j] = t;
        i++;
        j--;
      }
    } while (i <= j);
    if (j < target) lo = i;
    if (target < i) hi = j;
  }
  return x[k];
}

/* Quantile q of x[0..n) with linear interpolation between the order statistics at
 * q * (n - 1). This is numpy's default method ("linear"), which scikit-learn's
 * RobustScaler uses. Reorders x. */
static double quantile(double *x, size_t n, double q) {
  double position = q * (double)(n - 1);
  size_t below = (size_t)floor(position);
  double fraction = position - (double)below;
  double low = select_kth(x, n, below);
  if (fraction == 0.0 || below + 1 >= n) return low;
  /* Every element right of `below` is >= low after the selection, so the next order
   * statistic is their minimum. */
  double high = x[below + 1];
  for (size_t i = below + 2; i < n; i++)
    if (x[i] < high) high = x[i];
  return low + fraction * (high - low);
}

/* ---- fit ---- */

/* Value of row r, or false when it is missing (or a non-finite real). */
static inline bool read_number(const promo_column *col, size_t r, double *v) {
  if (col->is_missing[r]) return false;
  *v = col->reals != NULL ? col->reals[r] : (double)col->ints[r];
  return isfinite(*v);
}

static promo_status reject_log_value(const promo_encoder *enc, const promo_table *table,
                                     size_t column, size_t r, double v, promo_error *err) {
  char text[32];
  promo_format_decimal(v, text);
  promo_error_at(err, NULL, table->lines != NULL ? table->lines[r] : 0, (int64_t)column + 1);
  promo_error_value(err, text, -1);
  if (err != NULL) snprintf(err->column_name, sizeof err->column_name, "%s", enc->column);
  return promo_error_set(err, PROMO_ERR_DATA,
                         _("column \"%s\" has the value %s, but log1p needs values above -1. "
                           "Choose another scaler or shift the column"),
                         enc->column, text);
}

/* The statistics one pass gathers: count, sum and range of the values, in the scaler's
 * domain (log1p for LOG_STANDARDIZE) except min and max, which stay raw. */
typedef struct number_summary {
  size_t n_values;
  double sum, min, max;
} number_summary;

static promo_status summarize(promo_encoder *enc, const promo_table *table, size_t column,
                              const size_t *rows, size_t n_rows, number_summary *s,
                              promo_error *err) {
  const promo_column *col = &table->columns[column];
  bool is_log = enc->kind == PROMO_ENCODER_LOG_STANDARDIZE;
  s->n_values = 0;
  s->sum = 0;
  s->min = INFINITY;
  s->max = -INFINITY;
  for (size_t i = 0; i < n_rows; i++) {
    size_t r = encode_row(rows, i);
    double v;
    if (!read_number(col, r, &v)) continue;
    if (is_log && v <= -1.0) return reject_log_value(enc, table, column, r, v, err);
    if (v < s->min) s->min = v;
    if (v > s->max) s->max = v;
    s->sum += is_log ? log1p(v) : v;
    s->n_values++;
  }
  return PROMO_OK;
}

/* Population variance around mean (ddof 0), in a second pass for accuracy. */
static double variance(const promo_encoder *enc, const promo_column *col, const size_t *rows,
                       size_t n_rows, double mean, size_t n_values) {
  bool is_log = enc->kind == PROMO_ENCODER_LOG_STANDARDIZE;
  double squares = 0;
  for (size_t i = 0; i < n_rows; i++) {
    double v;
    if (!read_number(col, encode_row(rows, i), &v)) continue;
    double d = (is_log ? log1p(v) : v) - mean;
    squares += d * d;
  }
  return squares / (double)n_values;
}

/* Copy the present values (log1p for LOG_STANDARDIZE) into a new array of n_values. */
static double *collect_values(const promo_encoder *enc, const promo_column *col, const size_t *rows,
                              size_t n_rows, size_t n_values) {
  double *values = malloc(n_values * sizeof *values);
  if (values == NULL) return NULL;
  bool is_log = enc->kind == PROMO_ENCODER_LOG_STANDARDIZE;
  size_t n = 0;
  for (size_t i = 0; i < n_rows; i++) {
    double v;
    if (!read_number(col, encode_row(rows, i), &v)) continue;
    values[n++] = is_log ? log1p(v) : v;
  }
  return values;
}

promo_status encode_scale_fit(promo_encoder *enc, const promo_table *table, size_t column,
                              const size_t *rows, size_t n_rows, promo_error *err) {
  const promo_column *col = &table->columns[column];
  bool is_log = enc->kind == PROMO_ENCODER_LOG_STANDARDIZE;
  number_summary s;
  promo_status status = summarize(enc, table, column, rows, n_rows, &s, err);
  if (status != PROMO_OK) return status;
  if (s.n_values == 0)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("column \"%s\" has no value in the training rows, so it cannot "
                             "be scaled. Drop the column or fill it first"),
                           enc->column);
  enc->n_missing = n_rows - s.n_values;
  enc->has_indicator = enc->n_missing > 0;
  enc->min = s.min;
  enc->max = s.max;

  /* A constant column keeps its exact value as the mean, because a computed mean can be
   * an ulp off and would turn the 0 output into noise. */
  bool is_constant = s.min == s.max;
  double constant = is_log ? log1p(s.min) : s.min;
  double mean = is_constant ? constant : s.sum / (double)s.n_values;

  double median = NAN, q25 = NAN, q75 = NAN;
  bool needs_quantiles =
      enc->kind == PROMO_ENCODER_ROBUST || enc->opt.impute == PROMO_ENCODER_IMPUTE_MEDIAN;
  if (needs_quantiles) {
    double *values = collect_values(enc, col, rows, n_rows, s.n_values);
    if (values == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    median = quantile(values, s.n_values, 0.5);
    q25 = quantile(values, s.n_values, 0.25);
    q75 = quantile(values, s.n_values, 0.75);
    free(values);
  }

  switch (enc->kind) {
    case PROMO_ENCODER_MINMAX:
      enc->center = s.min;
      enc->scale = is_constant ? 1.0 : s.max - s.min;
      break;
    case PROMO_ENCODER_ROBUST:
      enc->center = median;
      enc->scale = q75 > q25 ? q75 - q25 : 1.0;
      break;
    default: /* STANDARDIZE, LOG_STANDARDIZE */
      enc->center = mean;
      enc->scale = is_constant ? 1.0 : sqrt(variance(enc, col, rows, n_rows, mean, s.n_values));
      /* A spread that underflows to 0 is treated as a constant column. */
      if (!(enc->scale > 0)) enc->scale = 1.0;
      break;
  }

  switch (enc->opt.impute) {
    case PROMO_ENCODER_IMPUTE_MEDIAN: enc->impute_value = median; break;
    case PROMO_ENCODER_IMPUTE_CONSTANT:
      enc->impute_value = is_log ? log1p(enc->opt.fill_value) : enc->opt.fill_value;
      break;
    default: enc->impute_value = mean; break;
  }
  return PROMO_OK;
}

/* ---- transform ---- */

/* Tight loop over rows: no allocation, one store per output. */
void encode_scale_apply(const encode_binding *binding, const size_t *rows, size_t begin, size_t end,
                        float *X, size_t ld, size_t offset, promo_encoder_counts *counts) {
  const promo_encoder *enc = binding->encoder;
  const promo_column *col = binding->column;
  const double center = enc->center, scale = enc->scale, min = enc->min;
  const bool is_log = enc->kind == PROMO_ENCODER_LOG_STANDARDIZE;
  const bool has_indicator = enc->has_indicator;
  /* The same expression as for a present value equal to impute_value. */
  const float filled = (float)((enc->impute_value - center) / scale);
  uint64_t n_imputed = 0, n_clipped = 0;

  for (size_t i = begin; i < end; i++) {
    size_t r = encode_row(rows, i);
    float *x = X + i * ld + offset;
    double v;
    bool is_present = read_number(col, r, &v);
    if (!is_present) {
      x[0] = filled;
      n_imputed++;
    } else {
      if (is_log) {
        if (v <= -1.0) {
          v = min;
          n_clipped++;
        }
        v = log1p(v);
      }
      x[0] = (float)((v - center) / scale);
    }
    if (has_indicator) x[1] = is_present ? 0.0f : 1.0f;
  }
  counts->n_imputed += n_imputed;
  counts->n_clipped += n_clipped;
}

/* ---- JSON ---- */

promo_status encode_scale_to_json(const promo_encoder *enc, json_t *obj) {
  promo_status status = PROMO_OK;
  struct {
    const char *field;
    double value;
  } reals[] = {{"center", enc->center},
               {"scale", enc->scale},
               {"impute_value", enc->impute_value},
               {"fill_value", enc->opt.fill_value},
               {"min", enc->min},
               {"max", enc->max}};
  for (size_t i = 0; i < sizeof reals / sizeof reals[0] && status == PROMO_OK; i++)
    status = encode_json_set(obj, reals[i].field, json_real(reals[i].value));
  if (status == PROMO_OK)
    status =
        encode_json_set(obj, "impute", json_string(promo_encoder_impute_name(enc->opt.impute)));
  return status;
}

promo_status encode_scale_from_json(const json_t *obj, promo_encoder *enc, promo_error *err) {
  promo_status status = PROMO_OK;
  struct {
    const char *field;
    double *out;
  } reals[] = {{"center", &enc->center},
               {"scale", &enc->scale},
               {"impute_value", &enc->impute_value},
               {"fill_value", &enc->opt.fill_value},
               {"min", &enc->min},
               {"max", &enc->max}};
  for (size_t i = 0; i < sizeof reals / sizeof reals[0] && status == PROMO_OK; i++)
    status = encode_json_real(obj, reals[i].field, reals[i].out, err);
  if (status != PROMO_OK) return status;

  const char *impute = json_string_value(json_object_get(obj, "impute"));
  if (impute == NULL || !promo_encoder_impute_parse(impute, &enc->opt.impute) ||
      enc->opt.impute == PROMO_ENCODER_IMPUTE_AUTO)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("encoder JSON: field \"%s\" must be \"mean\", \"median\" or "
                             "\"constant\""),
                           "impute");
  if (!(enc->scale > 0))
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("encoder JSON: field \"%s\" must be a positive number"), "scale");
  if (enc->min > enc->max || (enc->kind == PROMO_ENCODER_LOG_STANDARDIZE && !(enc->min > -1.0)))
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("encoder JSON: fields \"min\" and \"max\" are not a valid "
                             "training range"));
  enc->has_indicator = enc->n_missing > 0;
  return PROMO_OK;
}
