/* The JSON quality report of a cleaning run: row totals, rejects by reason, and per
 * column the type, missing, invalid and distinct counts, statistics and fixes. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "clean/internal.h"
#include "core/intl.h"

/* A number, or null when it is not finite (JSON has no NaN). */
static json_t *json_number(double x) {
  return isfinite(x) ? json_real(x) : json_null();
}

/* min, max, mean of what was written, in the column's own terms (dates as text). */
static void add_value_stats(json_t *obj, const column_plan *plan) {
  double fill = NAN;
  if (plan->has_fill && plan->n_filled > 0) {
    int64_t seconds;
    int32_t days;
    size_t len = strlen(plan->fill_text);
    if (plan->type == PROMO_TYPE_DATE && promo_parse_date(plan->fill_text, len, &days, NULL))
      fill = days;
    else if (plan->type == PROMO_TYPE_DATETIME &&
             promo_parse_datetime(plan->fill_text, len, &seconds, NULL))
      fill = (double)seconds;
    else if (!promo_parse_decimal(plan->fill_text, len, &fill, NULL))
      fill = NAN;
  }
  uint64_t n = plan->n_out_values;
  double lo = plan->out_min, hi = plan->out_max, sum = plan->out_sum;
  if (!isnan(fill)) {
    if (n == 0 || fill < lo) lo = fill;
    if (n == 0 || fill > hi) hi = fill;
    sum += fill * (double)plan->n_filled;
    n += plan->n_filled;
  }
  if (n == 0) {
    json_object_set_new(obj, "min", json_null());
    json_object_set_new(obj, "max", json_null());
    json_object_set_new(obj, "mean", json_null());
    return;
  }
  if (plan->type == PROMO_TYPE_DATE || plan->type == PROMO_TYPE_DATETIME) {
    char a[32], b[32];
    if (plan->type == PROMO_TYPE_DATE) {
      promo_format_date((int32_t)lo, a);
      promo_format_date((int32_t)hi, b);
    } else {
      promo_format_datetime((int64_t)lo, a);
      promo_format_datetime((int64_t)hi, b);
    }
    json_object_set_new(obj, "min", json_string(a));
    json_object_set_new(obj, "max", json_string(b));
    json_object_set_new(obj, "mean", json_null());
    return;
  }
  json_object_set_new(obj, "min", json_number(lo));
  json_object_set_new(obj, "max", json_number(hi));
  json_object_set_new(obj, "mean", json_number(sum / (double)n));
}

static const char *missing_action_name(promo_missing_action action) {
  switch (action) {
    case PROMO_MISSING_KEEP: return "keep";
    case PROMO_MISSING_DROP: return "drop";
    case PROMO_MISSING_MEDIAN: return "median";
    case PROMO_MISSING_MEAN: return "mean";
    case PROMO_MISSING_MODE: return "mode";
    case PROMO_MISSING_VALUE: return "value";
    case PROMO_MISSING_FLAG: return "flag";
    case PROMO_MISSING_AUTO: return "auto";
  }
  return "keep";
}

static json_t *column_report(const column_plan *plan) {
  json_t *c = json_object();
  json_object_set_new(c, "name", json_string(plan->name));
  json_object_set_new(c, "type", json_string(promo_type_name(plan->type)));
  json_object_set_new(c, "type_source", json_string(plan->type_given ? "given" : "inferred"));
  json_object_set_new(c, "missing", json_integer((json_int_t)plan->n_missing_in));
  json_object_set_new(c, "invalid", json_integer((json_int_t)plan->n_invalid));
  json_object_set_new(c, "distinct", json_integer((json_int_t)plan->n_distinct));
  json_object_set_new(c, "distinct_is_exact", json_boolean(plan->distinct_is_exact));
  add_value_stats(c, plan);
  if (promo_type_is_numeric(plan->type) && plan->type != PROMO_TYPE_BOOL) {
    json_object_set_new(c, "median", json_number(plan->median));
    json_object_set_new(c, "q1", json_number(plan->q1));
    json_object_set_new(c, "q3", json_number(plan->q3));
    json_object_set_new(c, "statistics_are_estimates", json_boolean(plan->stats_are_estimates));
  }
  json_t *roles = json_array();
  if (plan->is_price) json_array_append_new(roles, json_string("price"));
  if (plan->is_quantity) json_array_append_new(roles, json_string("quantity"));
  if (plan->is_rate) json_array_append_new(roles, json_string("discount_rate"));
  if (plan->is_outlier_checked) json_array_append_new(roles, json_string("outlier_check"));
  json_object_set_new(c, "roles", roles);

  json_t *fixes = json_object();
  json_object_set_new(fixes, "missing_action", json_string(missing_action_name(plan->missing_action)));
  json_object_set_new(fixes, "fill_value", plan->has_fill ? json_string(plan->fill_text) : json_null());
  json_object_set_new(fixes, "cells_filled", json_integer((json_int_t)plan->n_filled));
  json_object_set_new(fixes, "cells_left_missing", json_integer((json_int_t)plan->n_missing_out));
  json_object_set_new(fixes, "cells_blanked", json_integer((json_int_t)plan->n_blanked));
  json_object_set_new(fixes, "rates_fixed", json_integer((json_int_t)plan->n_fixed));
  json_object_set_new(fixes, "outliers_flagged", json_integer((json_int_t)plan->n_outliers));
  json_object_set_new(fixes, "rows_rejected", json_integer((json_int_t)plan->n_rejects));
  json_object_set_new(c, "fixes", fixes);
  return c;
}

promo_status clean_write_report(const clean_run *run, const promo_clean_summary *summary,
                                FILE *fp, const char *path, promo_error *err) {
  json_t *root = json_object();
  if (root == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  json_object_set_new(root, "promo_version", json_string(promo_version()));
  json_object_set_new(root, "input", json_string(run->input_path));
  json_object_set_new(root, "encoding",
                      json_string(promo_encoding_name(promo_csv_encoding(run->reader))));
  char delimiter[2] = {promo_csv_delimiter(run->reader), '\0'};
  json_object_set_new(root, "delimiter", json_string(delimiter));

  json_t *rows = json_object();
  json_object_set_new(rows, "in", json_integer((json_int_t)summary->rows_in));
  json_object_set_new(rows, "out", json_integer((json_int_t)summary->rows_out));
  json_object_set_new(rows, "rejected", json_integer((json_int_t)summary->rows_rejected));
  json_object_set_new(rows, "duplicates_removed", json_integer((json_int_t)summary->duplicates_removed));
  json_object_set_new(rows, "balanced",
                      json_boolean(summary->rows_in == summary->rows_out + summary->rows_rejected +
                                                           summary->duplicates_removed));
  json_object_set_new(root, "rows", rows);

  json_t *reasons = json_object();
  for (int r = 0; r < PROMO_REJECT_N_REASONS; r++)
    json_object_set_new(reasons, promo_reject_reason_name((promo_reject_reason)r),
                        json_integer((json_int_t)summary->by_reason[r]));
  json_object_set_new(root, "rows_by_reason", reasons);

  json_t *cells = json_object();
  json_object_set_new(cells, "filled", json_integer((json_int_t)summary->cells_filled));
  json_object_set_new(cells, "fixed", json_integer((json_int_t)summary->cells_fixed));
  json_object_set_new(cells, "outliers_flagged", json_integer((json_int_t)summary->outliers_flagged));
  json_object_set_new(root, "cells", cells);

  json_t *columns = json_array();
  for (size_t c = 0; c < run->n_columns; c++) json_array_append_new(columns, column_report(&run->plans[c]));
  json_object_set_new(root, "columns", columns);
  json_object_set_new(root, "elapsed_ms", json_real(summary->elapsed_ms));

  promo_status st = PROMO_OK;
  if (json_dumpf(root, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)) != 0 ||
      fputc('\n', fp) == EOF)
    st = promo_error_errno(err, errno, path, _("writing the report"));
  json_decref(root);
  return st;
}
