/* Report section for the evaluation stage: cross-validation and held-out metrics, and the
 * ROC, precision-recall, calibration and predicted-vs-actual charts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "report/internal.h"

/* Maximum points drawn per curve. Longer curves are thinned evenly, keeping the first and
 * last point, because one point per test row adds bytes but no visible detail. */
#define MAX_CURVE_POINTS 1000
/* Maximum points drawn in the predicted-vs-actual scatter, thinned the same way. */
#define MAX_SCATTER_POINTS 2000
/* Maximum metrics shown in one table; further unknown keys are left out. */
#define MAX_METRICS 64

typedef enum metric_format { METRIC_RATIO, METRIC_PERCENT, METRIC_AUTO, METRIC_COUNT } metric_format;

typedef struct metric_info {
  const char *key;
  const char *label; /* marked with N_(), translated when shown */
  metric_format format;
} metric_info;

static const metric_info known_metrics[] = {
    {"auc", N_("ROC AUC"), METRIC_RATIO},
    {"pr_auc", N_("PR AUC"), METRIC_RATIO},
    {"log_loss", N_("Log loss"), METRIC_RATIO},
    {"brier", N_("Brier score"), METRIC_RATIO},
    {"accuracy", N_("Accuracy"), METRIC_RATIO},
    {"precision", N_("Precision"), METRIC_RATIO},
    {"recall", N_("Recall"), METRIC_RATIO},
    {"f1", N_("F1 score"), METRIC_RATIO},
    {"rmse", N_("RMSE (root mean squared error)"), METRIC_AUTO},
    {"mae", N_("MAE (mean absolute error)"), METRIC_AUTO},
    {"mape", N_("MAPE (mean absolute percentage error)"), METRIC_PERCENT},
    {"wape", N_("WAPE (weighted absolute percentage error)"), METRIC_PERCENT},
    {"r2", N_("R\xC2\xB2 (coefficient of determination)"), METRIC_RATIO},
    {"poisson_deviance", N_("Mean Poisson deviance"), METRIC_AUTO},
    {"bias", N_("Bias (mean prediction minus mean actual)"), METRIC_AUTO},
    {"qini", N_("Qini coefficient"), METRIC_AUTO},
    {"auuc", N_("AUUC (area under the uplift curve)"), METRIC_AUTO},
    {"base_rate", N_("Base rate (share of positives)"), METRIC_PERCENT},
    {"group_auc", N_("ROC AUC within groups (mean)"), METRIC_RATIO},
    {"threshold", N_("Decision threshold"), METRIC_RATIO},
    {"rows", N_("Rows"), METRIC_COUNT},
    {"positives", N_("Positive rows"), METRIC_COUNT},
    {"groups_scored", N_("Groups scored"), METRIC_COUNT},
    {"groups_skipped", N_("Groups skipped (one class only)"), METRIC_COUNT},
    {"mape_skipped", N_("Rows left out of MAPE (actual value 0)"), METRIC_COUNT},
};
#define N_KNOWN_METRICS (sizeof known_metrics / sizeof known_metrics[0])

static const metric_info *find_metric(const char *key) {
  for (size_t i = 0; i < N_KNOWN_METRICS; i++)
    if (strcmp(known_metrics[i].key, key) == 0) return &known_metrics[i];
  return NULL;
}

static void format_metric(const char *key, double x, char *buf, size_t size) {
  const metric_info *m = find_metric(key);
  metric_format f = m != NULL ? m->format : METRIC_AUTO;
  if (f == METRIC_RATIO) promo_report_format_number(x, 4, buf, size);
  else if (f == METRIC_PERCENT) promo_report_format_percent(x, 2, buf, size);
  else if (f == METRIC_COUNT) promo_report_format_number(x, 0, buf, size);
  else promo_report_format_auto(x, buf, size);
}

static void metric_label_cell(report *r, const char *key) {
  const metric_info *m = find_metric(key);
  rbuf_puts(&r->out, "<td>");
  rbuf_escape(&r->out, m != NULL ? _(m->label) : key);
  rbuf_puts(&r->out, "</td>");
}

static void metric_cell(report *r, const char *key, double x) {
  char buf[64];
  format_metric(key, x, buf, sizeof buf);
  rbuf_printf(&r->out, "<td class=\"num\">%s</td>", buf);
}

/* Keys of a metrics object that hold a metric: every known key (which must be a number
 * or null) and unknown keys with numbers. Other members of unknown keys are skipped, so
 * a newer document with extra fields still renders. */
static bool is_metric_member(report *r, const json_t *metrics, const char *path, const char *key) {
  double x;
  if (find_metric(key) != NULL) {
    report_number(r, metrics, path, key, &x);
    return r->status == PROMO_OK;
  }
  const json_t *v = json_object_get(metrics, key);
  return json_is_number(v) || json_is_null(v);
}

/* A list of metric keys without repeats. */
typedef struct metric_keys {
  const char *keys[MAX_METRICS];
  size_t n;
} metric_keys;

static void add_key(metric_keys *k, const char *key) {
  for (size_t i = 0; i < k->n; i++)
    if (strcmp(k->keys[i], key) == 0) return;
  if (k->n < MAX_METRICS) k->keys[k->n++] = key;
}

/* Add the metric keys of `metrics` to `known` or `other`, skipping keys already listed. */
static void collect_keys(report *r, const json_t *metrics, const char *path, metric_keys *known,
                         metric_keys *other) {
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)metrics, key, v) {
    if (!is_metric_member(r, metrics, path, key)) continue;
    add_key(find_metric(key) != NULL ? known : other, key);
  }
}

/* Known keys in the order of known_metrics, then the others in order of appearance. */
static void order_keys(const metric_keys *known, const metric_keys *other, metric_keys *out) {
  out->n = 0;
  for (size_t m = 0; m < N_KNOWN_METRICS; m++)
    for (size_t i = 0; i < known->n; i++)
      if (strcmp(known->keys[i], known_metrics[m].key) == 0) add_key(out, known->keys[i]);
  for (size_t i = 0; i < other->n; i++) add_key(out, other->keys[i]);
}

static double metric_value(const json_t *metrics, const char *key) {
  const json_t *v = metrics != NULL ? json_object_get(metrics, key) : NULL;
  return json_is_number(v) ? json_number_value(v) : NAN;
}

/* ===================================================================== cross-validation */

static void cv_header(report *r, const json_t *folds, size_t n_folds, char (*fold_names)[64]) {
  rbuf_puts(&r->out, "<div class=\"table-box\"><table>\n<thead><tr><th>");
  rbuf_escape(&r->out, _("Metric"));
  rbuf_puts(&r->out, "</th>");
  char path[REPORT_PATH_MAX], number[64];
  for (size_t f = 0; f < n_folds; f++) {
    double fold;
    report_path_index(path, "evaluation.cv.folds", f);
    if (!report_number(r, json_array_get(folds, f), path, "fold", &fold)) fold = (double)(f + 1);
    promo_report_format_number(fold, 0, number, sizeof number);
    snprintf(fold_names[f], sizeof fold_names[f], "%s", number);
    rbuf_puts(&r->out, "<th class=\"num\">");
    char head[96];
    snprintf(head, sizeof head, _("Fold %s"), fold_names[f]);
    rbuf_escape(&r->out, head);
    rbuf_puts(&r->out, "</th>");
  }
  rbuf_puts(&r->out, "<th class=\"num\">");
  rbuf_escape(&r->out, _("Mean"));
  rbuf_puts(&r->out, "</th><th class=\"num\">");
  rbuf_escape(&r->out, _("Standard deviation"));
  rbuf_puts(&r->out, "</th></tr></thead>\n<tbody>\n");
}

static void cv_table(report *r, const json_t *cv) {
  const json_t *folds = report_member(r, cv, "evaluation.cv", "folds", JSON_ARRAY);
  const json_t *mean = report_member(r, cv, "evaluation.cv", "mean", JSON_OBJECT);
  const json_t *std = report_member(r, cv, "evaluation.cv", "std", JSON_OBJECT);
  size_t n_folds = folds != NULL ? json_array_size(folds) : 0;
  const json_t **fold_metrics = calloc(n_folds + 1, sizeof *fold_metrics);
  char(*fold_names)[64] = calloc(n_folds + 1, sizeof *fold_names);
  if (fold_metrics == NULL || fold_names == NULL) {
    r->out.failed = true;
    free(fold_metrics);
    free(fold_names);
    return;
  }

  metric_keys known = {0}, other = {0}, keys;
  char path[REPORT_PATH_MAX];
  collect_keys(r, mean, "evaluation.cv.mean", &known, &other);
  collect_keys(r, std, "evaluation.cv.std", &known, &other);
  for (size_t f = 0; f < n_folds; f++) {
    const json_t *fold = json_array_get(folds, f);
    if (!report_is_object(r, fold, "evaluation.cv.folds", f)) break;
    report_path_index(path, "evaluation.cv.folds", f);
    fold_metrics[f] = report_member(r, fold, path, "metrics", JSON_OBJECT);
    char metrics_path[REPORT_PATH_MAX];
    report_path_key(metrics_path, path, "metrics");
    collect_keys(r, fold_metrics[f], metrics_path, &known, &other);
  }
  order_keys(&known, &other, &keys);

  if (keys.n == 0) {
    report_not_run(r, _("Cross-validation gave no metrics."));
  } else {
    cv_header(r, folds, n_folds, fold_names);
    for (size_t k = 0; k < keys.n; k++) {
      rbuf_puts(&r->out, "<tr>");
      metric_label_cell(r, keys.keys[k]);
      for (size_t f = 0; f < n_folds; f++) metric_cell(r, keys.keys[k], metric_value(fold_metrics[f], keys.keys[k]));
      metric_cell(r, keys.keys[k], metric_value(mean, keys.keys[k]));
      metric_cell(r, keys.keys[k], metric_value(std, keys.keys[k]));
      rbuf_puts(&r->out, "</tr>\n");
    }
    report_table_close(r);
  }
  free(fold_metrics);
  free(fold_names);
}

/* ===================================================================== held-out test */

static void test_table(report *r, const json_t *test) {
  metric_keys known = {0}, other = {0}, keys;
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)test, key, v) {
    if (strcmp(key, "notes") == 0 || strcmp(key, "curves") == 0) continue;
    if (!is_metric_member(r, test, "evaluation.test", key)) continue;
    add_key(find_metric(key) != NULL ? &known : &other, key);
  }
  order_keys(&known, &other, &keys);
  if (keys.n == 0) {
    report_not_run(r, _("The test split gave no metrics."));
    return;
  }
  const char *headers[] = {_("Metric"), _("Result")};
  report_table_open(r, headers, 2, 2u);
  for (size_t k = 0; k < keys.n; k++) {
    rbuf_puts(&r->out, "<tr>");
    metric_label_cell(r, keys.keys[k]);
    metric_cell(r, keys.keys[k], metric_value(test, keys.keys[k]));
    rbuf_puts(&r->out, "</tr>\n");
  }
  report_table_close(r);
}

static void test_notes(report *r, const json_t *test) {
  const json_t *notes = report_member(r, test, "evaluation.test", "notes", JSON_ARRAY);
  if (notes == NULL || json_array_size(notes) == 0) return;
  rbuf_puts(&r->out, "<ul class=\"notes\">\n");
  size_t i;
  const json_t *note;
  json_array_foreach(notes, i, note) {
    if (!json_is_string(note)) {
      char path[REPORT_PATH_MAX];
      report_path_index(path, "evaluation.test.notes", i);
      report_type_error(r, path, _("a string"), note);
      break;
    }
    rbuf_puts(&r->out, "<li>");
    rbuf_escape_n(&r->out, json_string_value(note), json_string_length(note));
    rbuf_puts(&r->out, "</li>\n");
  }
  rbuf_puts(&r->out, "</ul>\n");
}

/* ===================================================================== curves */

/* A curve read from [[x, y], ...]: finite points only, thinned to at most `max` points. */
typedef struct curve {
  double *x, *y;
  size_t n;
  double x_lo, x_hi, y_lo, y_hi;
} curve;

static void curve_free(curve *c) {
  free(c->x);
  free(c->y);
  c->x = c->y = NULL;
  c->n = 0;
}

static bool read_curve(report *r, const json_t *points, const char *path, size_t max, curve *c) {
  memset(c, 0, sizeof *c);
  size_t n = json_array_size(points);
  if (n == 0) return false;
  c->x = calloc(n, sizeof *c->x);
  c->y = calloc(n, sizeof *c->y);
  if (c->x == NULL || c->y == NULL) {
    r->out.failed = true;
    curve_free(c);
    return false;
  }
  c->x_lo = c->y_lo = INFINITY;
  c->x_hi = c->y_hi = -INFINITY;
  /* Thinning keeps every step-th point, with the step rounded up, plus the last one. */
  size_t step = n > max ? (n + max - 2) / (max - 1) : 1;
  for (size_t i = 0; i < n; i++) {
    double x, y;
    if (!report_pair(r, json_array_get(points, i), path, i, &x, &y)) continue;
    if (i % step != 0 && i != n - 1) continue;
    c->x[c->n] = x, c->y[c->n] = y;
    c->n++;
    c->x_lo = fmin(c->x_lo, x), c->x_hi = fmax(c->x_hi, x);
    c->y_lo = fmin(c->y_lo, y), c->y_hi = fmax(c->y_hi, y);
  }
  if (r->status != PROMO_OK || c->n == 0) {
    curve_free(c);
    return false;
  }
  return true;
}

static void roc_chart(report *r, const json_t *curves, const json_t *test) {
  const json_t *points = report_member(r, curves, "evaluation.test.curves", "roc", JSON_ARRAY);
  curve c;
  if (!read_curve(r, points, "evaluation.test.curves.roc", MAX_CURVE_POINTS, &c)) return;
  char label[128], number[64];
  double auc = metric_value(test, "auc");
  promo_report_format_number(auc, 3, number, sizeof number);
  if (isfinite(auc)) snprintf(label, sizeof label, _("ROC curve (AUC %s)"), number);
  else snprintf(label, sizeof label, "%s", _("ROC curve"));

  chart ch;
  chart_begin(r, &ch, "roc", c.n, _("ROC curve"), 400);
  chart_axes(&ch, 0, 1, 0, 1, _("False positive rate"), _("True positive rate"), false, false);
  chart_legend(&ch, chart_color(0), label, false);
  chart_legend(&ch, "#777", _("Random guess"), true);
  chart_reference(&ch, 0, 0, 1, 1, _("Random guess"));
  chart_polyline(&ch, c.x, c.y, c.n, chart_color(0), label);
  chart_end(&ch);
  curve_free(&c);
}

/* The share of positives: test.base_rate when given, else the precision at recall 1,
 * where every row is predicted positive. NaN when neither is known. */
static double pr_base_rate(const json_t *test, const curve *c) {
  double rate = metric_value(test, "base_rate");
  if (isfinite(rate)) return rate;
  for (size_t i = 0; i < c->n; i++)
    if (c->x[i] >= 1.0 - 1e-9) rate = isfinite(rate) ? fmin(rate, c->y[i]) : c->y[i];
  return rate;
}

static void pr_chart(report *r, const json_t *curves, const json_t *test) {
  const json_t *points = report_member(r, curves, "evaluation.test.curves", "pr", JSON_ARRAY);
  curve c;
  if (!read_curve(r, points, "evaluation.test.curves.pr", MAX_CURVE_POINTS, &c)) return;
  char label[128], base_label[128], number[64];
  double pr_auc = metric_value(test, "pr_auc");
  promo_report_format_number(pr_auc, 3, number, sizeof number);
  if (isfinite(pr_auc)) snprintf(label, sizeof label, _("Precision-recall curve (PR AUC %s)"), number);
  else snprintf(label, sizeof label, "%s", _("Precision-recall curve"));
  double base = pr_base_rate(test, &c);
  promo_report_format_percent(base, 1, number, sizeof number);
  snprintf(base_label, sizeof base_label, _("Base rate %s"), number);

  chart ch;
  chart_begin(r, &ch, "pr", c.n, _("Precision-recall curve"), 400);
  chart_axes(&ch, 0, 1, 0, 1, _("Recall"), _("Precision"), false, false);
  chart_legend(&ch, chart_color(0), label, false);
  if (isfinite(base)) {
    chart_legend(&ch, "#777", base_label, true);
    chart_reference(&ch, 0, base, 1, base, base_label);
  }
  chart_polyline(&ch, c.x, c.y, c.n, chart_color(0), label);
  chart_end(&ch);
  curve_free(&c);
}

/* Calibration bins: the mean prediction against the mean outcome of each bin. */
typedef struct calibration_bin {
  double predicted, observed, count;
} calibration_bin;

static size_t read_calibration(report *r, const json_t *bins, calibration_bin *out, double *lo,
                               double *hi, double *max_count) {
  size_t n = 0, i;
  const json_t *item;
  char path[REPORT_PATH_MAX];
  *lo = 0, *hi = -INFINITY, *max_count = 0;
  json_array_foreach(bins, i, item) {
    if (!report_is_object(r, item, "evaluation.test.curves.calibration", i)) return 0;
    report_path_index(path, "evaluation.test.curves.calibration", i);
    calibration_bin b;
    bool ok = report_number(r, item, path, "predicted", &b.predicted);
    ok = report_number(r, item, path, "observed", &b.observed) && ok;
    report_number(r, item, path, "count", &b.count);
    if (!ok || !isfinite(b.predicted) || !isfinite(b.observed)) continue;
    out[n++] = b;
    *lo = fmin(*lo, fmin(b.predicted, b.observed));
    *hi = fmax(*hi, fmax(b.predicted, b.observed));
    if (isfinite(b.count)) *max_count = fmax(*max_count, b.count);
  }
  return r->status == PROMO_OK ? n : 0;
}

static void calibration_points(report *r, chart *ch, const calibration_bin *bins, size_t n,
                               double max_count) {
  char predicted[64], observed[64], count[64], tip[256];
  for (size_t i = 0; i < n; i++) {
    /* Area grows with the bin's row count, so a bin with few rows draws small. */
    double radius = isfinite(bins[i].count) && max_count > 0 ? 2.5 + 5.5 * sqrt(bins[i].count / max_count) : 4;
    promo_report_format_auto(bins[i].predicted, predicted, sizeof predicted);
    promo_report_format_auto(bins[i].observed, observed, sizeof observed);
    promo_report_format_number(bins[i].count, 0, count, sizeof count);
    if (isfinite(bins[i].count))
      snprintf(tip, sizeof tip, _("mean prediction %s, observed %s, %s rows"), predicted, observed, count);
    else
      snprintf(tip, sizeof tip, _("mean prediction %s, observed %s"), predicted, observed);
    rbuf_printf(&r->out, "<circle class=\"mark\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\"><title>",
                chart_x(ch, bins[i].predicted), chart_y(ch, bins[i].observed), radius, chart_color(0));
    rbuf_escape(&r->out, tip);
    rbuf_puts(&r->out, "</title></circle>\n");
  }
}

static void calibration_chart(report *r, const json_t *curves) {
  const json_t *bins = report_member(r, curves, "evaluation.test.curves", "calibration", JSON_ARRAY);
  size_t n = bins != NULL ? json_array_size(bins) : 0;
  if (n == 0) return;
  calibration_bin *b = calloc(n, sizeof *b);
  if (b == NULL) {
    r->out.failed = true;
    return;
  }
  double lo, hi, max_count;
  n = read_calibration(r, bins, b, &lo, &hi, &max_count);
  if (n > 0) {
    bool probabilities = r->task != NULL && strcmp(r->task, "binary") == 0;
    chart ch;
    chart_begin(r, &ch, "calibration", n, _("Calibration: mean prediction against observed outcome"), 400);
    chart_axes(&ch, lo, hi, lo, hi, _("Mean prediction"), _("Observed mean outcome"), probabilities, probabilities);
    chart_legend(&ch, chart_color(0), _("Bins (area: rows)"), false);
    chart_legend(&ch, "#777", _("Perfect calibration"), true);
    chart_reference(&ch, ch.x_lo, ch.x_lo, ch.x_hi, ch.x_hi, _("Perfect calibration"));
    calibration_points(r, &ch, b, n, max_count);
    chart_end(&ch);
  }
  free(b);
}

static void predicted_vs_actual_chart(report *r, const json_t *curves) {
  const json_t *points = report_member(r, curves, "evaluation.test.curves", "predicted_vs_actual", JSON_ARRAY);
  curve c;
  if (!read_curve(r, points, "evaluation.test.curves.predicted_vs_actual", MAX_SCATTER_POINTS, &c)) return;
  double lo = fmin(c.x_lo, c.y_lo), hi = fmax(c.x_hi, c.y_hi);
  chart ch;
  chart_begin(r, &ch, "predicted_vs_actual", c.n, _("Predicted against actual values"), 400);
  chart_axes(&ch, lo, hi, lo, hi, _("Predicted"), _("Actual"), false, false);
  chart_legend(&ch, chart_color(0), _("Test rows"), false);
  chart_legend(&ch, "#777", _("Prediction equals actual"), true);
  chart_reference(&ch, ch.x_lo, ch.x_lo, ch.x_hi, ch.x_hi, _("Prediction equals actual"));
  char predicted[64], actual[64], tip[192];
  for (size_t i = 0; i < c.n; i++) {
    promo_report_format_auto(c.x[i], predicted, sizeof predicted);
    promo_report_format_auto(c.y[i], actual, sizeof actual);
    snprintf(tip, sizeof tip, _("predicted %s, actual %s"), predicted, actual);
    rbuf_printf(&r->out, "<circle class=\"mark dot\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"><title>",
                chart_x(&ch, c.x[i]), chart_y(&ch, c.y[i]), chart_color(0));
    rbuf_escape(&r->out, tip);
    rbuf_puts(&r->out, "</title></circle>\n");
  }
  chart_end(&ch);
  curve_free(&c);
}

/* ===================================================================== section */

void report_section_evaluation(report *r, const json_t *doc) {
  const json_t *eval = report_member(r, doc, "", "evaluation", JSON_OBJECT);
  report_section_open(r, "evaluation", _("Evaluation"));
  if (eval == NULL) {
    report_not_run(r, _("Not run: there are no evaluation results in this document."));
    report_section_close(r);
    return;
  }
  const json_t *cv = report_member(r, eval, "evaluation", "cv", JSON_OBJECT);
  const json_t *test = report_member(r, eval, "evaluation", "test", JSON_OBJECT);

  rbuf_puts(&r->out, "<h3>");
  rbuf_escape(&r->out, _("Cross-validation"));
  rbuf_puts(&r->out, "</h3>\n");
  if (cv == NULL) report_not_run(r, _("Not run: cross-validation was not part of this run."));
  else cv_table(r, cv);

  rbuf_puts(&r->out, "<h3>");
  rbuf_escape(&r->out, _("Held-out test"));
  rbuf_puts(&r->out, "</h3>\n");
  if (test == NULL) {
    report_not_run(r, _("Not run: there is no held-out test in this run."));
  } else {
    test_table(r, test);
    test_notes(r, test);
    const json_t *curves = report_member(r, test, "evaluation.test", "curves", JSON_OBJECT);
    roc_chart(r, curves, test);
    pr_chart(r, curves, test);
    calibration_chart(r, curves);
    predicted_vs_actual_chart(r, curves);
  }
  report_section_close(r);
}
