/* Evaluation stage: binary and regression metrics of predictions against actual values,
 * with the curves a report draws. Formulas follow scikit-learn 1.2's definitions, and
 * every sum is taken in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "eval/internal.h"
#include "promo/eval.h"

/* Probabilities are clipped to [eps, 1 - eps] for the log loss, with eps the float64
 * machine epsilon, as scikit-learn 1.2's log_loss(eps="auto") does for float64 input. */
#define LOG_LOSS_EPS 2.220446049250313e-16

#define CALIBRATION_BINS 10

void promo_eval_options_init(promo_eval_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->threshold = 0.5;
  opt->max_curve_points = 200;
  opt->max_scatter_points = 500;
  opt->curves = true;
}

/* ------------------------------------------------------------------ helpers */

static int compare_by_score(const void *pa, const void *pb) {
  const eval_row *a = pa, *b = pb;
  if (a->score != b->score) return a->score > b->score ? -1 : 1;
  return (a->row > b->row) - (a->row < b->row);
}

void eval_sort_by_score(eval_row *rows, size_t n) {
  if (n > 1) qsort(rows, n, sizeof *rows, compare_by_score);
}

double eval_auc_sorted(const eval_row *rows, size_t n) {
  double tp = 0, fp = 0, area = 0;
  for (size_t i = 0; i < n;) {
    double tp_before = tp, fp_before = fp;
    size_t j = i;
    for (; j < n && rows[j].score == rows[i].score; j++) {
      if (rows[j].y == 1.0) tp += 1;
      else fp += 1;
    }
    area += (fp - fp_before) * (tp + tp_before) / 2;
    i = j;
  }
  if (tp == 0 || fp == 0) return NAN;
  return area / (tp * fp);
}

json_t *eval_number(double x) {
  return isfinite(x) ? json_real(x) : json_null();
}

promo_status eval_set(json_t *obj, const char *key, json_t *value) {
  if (value == NULL) return PROMO_ERR_NOMEM;
  return json_object_set_new(obj, key, value) == 0 ? PROMO_OK : PROMO_ERR_NOMEM;
}

promo_status eval_note(json_t *notes, const char *text) {
  json_t *s = json_string(text);
  if (s == NULL) return PROMO_ERR_NOMEM;
  return json_array_append_new(notes, s) == 0 ? PROMO_OK : PROMO_ERR_NOMEM;
}

size_t eval_thin(size_t m, size_t max_points, size_t *keep) {
  if (max_points < 2) max_points = 2;
  if (m <= max_points) {
    for (size_t i = 0; i < m; i++) keep[i] = i;
    return m;
  }
  for (size_t j = 0; j < max_points; j++)
    keep[j] = (size_t)llround((double)j * (double)(m - 1) / (double)(max_points - 1));
  return max_points;
}

static eval_row *rows_from(const float *score, const float *y, size_t n) {
  eval_row *rows = malloc((n > 0 ? n : 1) * sizeof *rows);
  if (rows == NULL) return NULL;
  for (size_t i = 0; i < n; i++) rows[i] = (eval_row){(double)score[i], (double)y[i], 0, 0, i};
  return rows;
}

/* A JSON array of [x, y] pairs, thinned to max_points. xs and ys have m entries. */
static json_t *pair_curve(const double *xs, const double *ys, size_t m, size_t max_points) {
  size_t *keep = malloc((m > 0 ? m : 1) * sizeof *keep);
  json_t *curve = json_array();
  if (keep == NULL || curve == NULL) {
    free(keep);
    json_decref(curve);
    return NULL;
  }
  size_t n_keep = eval_thin(m, max_points, keep);
  for (size_t i = 0; i < n_keep; i++) {
    json_t *pair = json_pack("[o, o]", eval_number(xs[keep[i]]), eval_number(ys[keep[i]]));
    if (pair == NULL || json_array_append_new(curve, pair) != 0) {
      json_decref(curve);
      curve = NULL;
      break;
    }
  }
  free(keep);
  return curve;
}

/* ------------------------------------------------------------------ ranking */

double promo_eval_roc_auc(const float *pred, const float *y, size_t n) {
  eval_row *rows = rows_from(pred, y, n);
  if (rows == NULL) return NAN;
  eval_sort_by_score(rows, n);
  double auc = eval_auc_sorted(rows, n);
  free(rows);
  return auc;
}

/* Average precision of rows sorted by score: the sum over distinct thresholds of
 * (recall_k - recall_{k-1}) * precision_k. NAN without positives. */
static double average_precision_sorted(const eval_row *rows, size_t n) {
  double n_pos = 0;
  for (size_t i = 0; i < n; i++) n_pos += rows[i].y == 1.0;
  if (n_pos == 0) return NAN;
  double tp = 0, fp = 0, ap = 0;
  for (size_t i = 0; i < n;) {
    double tp_before = tp;
    size_t j = i;
    for (; j < n && rows[j].score == rows[i].score; j++) {
      if (rows[j].y == 1.0) tp += 1;
      else fp += 1;
    }
    ap += (tp - tp_before) / n_pos * (tp / (tp + fp));
    i = j;
  }
  return ap;
}

double promo_eval_average_precision(const float *pred, const float *y, size_t n) {
  eval_row *rows = rows_from(pred, y, n);
  if (rows == NULL) return NAN;
  eval_sort_by_score(rows, n);
  double ap = average_precision_sorted(rows, n);
  free(rows);
  return ap;
}

/* ROC points (fpr, tpr) and PR points (recall, precision), one per distinct threshold
 * from the highest score down. ROC starts at (0, 0); PR ends at (0, 1) as scikit-learn's
 * precision_recall_curve does. */
static promo_status ranking_curves(const eval_row *rows, size_t n, double n_pos, size_t max_points,
                                   json_t *curves) {
  double *buf = malloc(4 * (n + 1) * sizeof *buf);
  if (buf == NULL) return PROMO_ERR_NOMEM;
  double *fpr = buf, *tpr = buf + (n + 1), *recall = buf + 2 * (n + 1), *precision = buf + 3 * (n + 1);
  double n_neg = (double)n - n_pos, tp = 0, fp = 0;
  size_t m = 1;
  fpr[0] = tpr[0] = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    for (; j < n && rows[j].score == rows[i].score; j++) {
      if (rows[j].y == 1.0) tp += 1;
      else fp += 1;
    }
    fpr[m] = fp / n_neg;
    tpr[m] = tp / n_pos;
    recall[m - 1] = tp / n_pos;
    precision[m - 1] = tp / (tp + fp);
    m++;
    i = j;
  }

  /* PR from the lowest threshold (recall 1) to the highest, then the (0, 1) end point. */
  size_t n_pr = m - 1;
  for (size_t a = 0, b = n_pr - 1; a < b; a++, b--) {
    double r = recall[a], p = precision[a];
    recall[a] = recall[b], precision[a] = precision[b];
    recall[b] = r, precision[b] = p;
  }
  recall[n_pr] = 0;
  precision[n_pr] = 1;

  promo_status st = eval_set(curves, "roc", pair_curve(fpr, tpr, m, max_points));
  if (st == PROMO_OK) st = eval_set(curves, "pr", pair_curve(recall, precision, n_pr + 1, max_points));
  free(buf);
  return st;
}

/* ------------------------------------------------------------------ binary */

/* Ten equal-width bins of predicted probability: bin b contains p in (b/10, (b+1)/10],
 * and bin 0 also contains 0, as scikit-learn's calibration_curve(strategy="uniform"). Empty bins
 * have null means and count 0. */
static json_t *binary_calibration(const float *pred, const float *y, size_t n) {
  double sum_p[CALIBRATION_BINS] = {0}, sum_y[CALIBRATION_BINS] = {0};
  size_t count[CALIBRATION_BINS] = {0};
  for (size_t i = 0; i < n; i++) {
    double p = (double)pred[i];
    size_t b = 0;
    while (b + 1 < CALIBRATION_BINS && (double)(b + 1) * 0.1 < p) b++;
    sum_p[b] += p;
    sum_y[b] += (double)y[i];
    count[b]++;
  }
  json_t *bins = json_array();
  for (size_t b = 0; bins != NULL && b < CALIBRATION_BINS; b++) {
    double c = (double)count[b];
    json_t *bin = json_pack("{s:o, s:o, s:I}", "predicted", eval_number(c > 0 ? sum_p[b] / c : NAN), "observed",
                            eval_number(c > 0 ? sum_y[b] / c : NAN), "count", (json_int_t)count[b]);
    if (bin == NULL || json_array_append_new(bins, bin) != 0) {
      json_decref(bins);
      return NULL;
    }
  }
  return bins;
}

static int compare_by_group_then_rank(const void *pa, const void *pb) {
  const eval_row *a = pa, *b = pb;
  if (a->group != b->group) return a->group < b->group ? -1 : 1;
  return (a->row > b->row) - (a->row < b->row);
}

/* group_auc: the unweighted mean AUC over the groups that hold both classes. Rows are
 * ranked by score once, then sorted by (group, rank), so each group's rows come out in
 * score order. */
static promo_status group_auc(const float *pred, const float *y, size_t n, const int64_t *groups, json_t *obj,
                              json_t *notes) {
  eval_row *rows = rows_from(pred, y, n);
  if (rows == NULL) return PROMO_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) rows[i].group = groups[i];
  eval_sort_by_score(rows, n);
  for (size_t i = 0; i < n; i++) rows[i].row = i;
  qsort(rows, n, sizeof *rows, compare_by_group_then_rank);

  size_t n_scored = 0, n_skipped = 0;
  double sum = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && rows[j].group == rows[i].group) j++;
    double auc = eval_auc_sorted(rows + i, j - i);
    if (isnan(auc)) {
      n_skipped++;
    } else {
      sum += auc;
      n_scored++;
    }
    i = j;
  }
  free(rows);

  promo_status st = eval_set(obj, "group_auc", eval_number(n_scored > 0 ? sum / (double)n_scored : NAN));
  if (st == PROMO_OK) st = eval_set(obj, "groups_scored", json_integer((json_int_t)n_scored));
  if (st == PROMO_OK) st = eval_set(obj, "groups_skipped", json_integer((json_int_t)n_skipped));
  if (st == PROMO_OK && n_scored == 0)
    st = eval_note(notes, _("group_auc is undefined: no group holds both classes"));
  return st;
}

/* Counts at the threshold: true and false positives and negatives. */
typedef struct confusion {
  double tp, fp, tn, fn;
} confusion;

static promo_status threshold_metrics(const float *pred, const float *y, size_t n, double threshold, json_t *obj,
                                      json_t *notes) {
  confusion c = {0, 0, 0, 0};
  for (size_t i = 0; i < n; i++) {
    bool predicted = (double)pred[i] >= threshold, actual = y[i] == 1.0f;
    if (predicted) *(actual ? &c.tp : &c.fp) += 1;
    else *(actual ? &c.fn : &c.tn) += 1;
  }
  double precision = c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : NAN;
  double recall = c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : NAN;
  double f1_denominator = 2 * c.tp + c.fp + c.fn;
  double f1 = f1_denominator > 0 ? 2 * c.tp / f1_denominator : NAN;

  promo_status st = eval_set(obj, "threshold", json_real(threshold));
  if (st == PROMO_OK) st = eval_set(obj, "accuracy", eval_number((c.tp + c.tn) / (double)n));
  if (st == PROMO_OK) st = eval_set(obj, "precision", eval_number(precision));
  if (st == PROMO_OK) st = eval_set(obj, "recall", eval_number(recall));
  if (st == PROMO_OK) st = eval_set(obj, "f1", eval_number(f1));
  if (st == PROMO_OK && isnan(precision))
    st = eval_note(notes, _("precision is undefined: no row is predicted positive at this threshold"));
  if (st == PROMO_OK && isnan(recall)) st = eval_note(notes, _("recall is undefined: no row is positive"));
  if (st == PROMO_OK && isnan(f1))
    st = eval_note(notes, _("f1 is undefined: no row is positive or predicted positive"));
  return st;
}

static promo_status binary_metrics(const float *pred, const float *y, size_t n, const promo_eval_options *opt,
                                   json_t *obj, json_t *notes, json_t *curves) {
  double n_pos = 0, log_loss = 0, brier = 0;
  for (size_t i = 0; i < n; i++) {
    double p = (double)pred[i], q = fmin(fmax(p, LOG_LOSS_EPS), 1 - LOG_LOSS_EPS);
    n_pos += y[i] == 1.0f;
    log_loss -= y[i] == 1.0f ? log(q) : log1p(-q);
    brier += (p - (double)y[i]) * (p - (double)y[i]);
  }
  eval_row *rows = rows_from(pred, y, n);
  if (rows == NULL) return PROMO_ERR_NOMEM;
  eval_sort_by_score(rows, n);
  bool one_class = n_pos == 0 || n_pos == (double)n;

  promo_status st = eval_set(obj, "rows", json_integer((json_int_t)n));
  if (st == PROMO_OK) st = eval_set(obj, "positives", json_integer((json_int_t)n_pos));
  if (st == PROMO_OK) st = eval_set(obj, "auc", eval_number(eval_auc_sorted(rows, n)));
  if (st == PROMO_OK) st = eval_set(obj, "pr_auc", eval_number(average_precision_sorted(rows, n)));
  if (st == PROMO_OK) st = eval_set(obj, "log_loss", eval_number(log_loss / (double)n));
  if (st == PROMO_OK) st = eval_set(obj, "brier", eval_number(brier / (double)n));
  if (st == PROMO_OK && one_class)
    st = eval_note(notes, n_pos == 0 ? _("auc and pr_auc are undefined: the rows hold no positive")
                                     : _("auc is undefined: the rows hold no negative"));
  if (st == PROMO_OK) st = threshold_metrics(pred, y, n, opt->threshold, obj, notes);
  if (st == PROMO_OK && opt->groups != NULL) st = group_auc(pred, y, n, opt->groups, obj, notes);

  if (st == PROMO_OK && curves != NULL && !one_class)
    st = ranking_curves(rows, n, n_pos, opt->max_curve_points, curves);
  if (st == PROMO_OK && curves != NULL) st = eval_set(curves, "calibration", binary_calibration(pred, y, n));
  free(rows);
  return st;
}

/* ------------------------------------------------------------------ regression */

static bool is_count_target(const float *y, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (y[i] < 0 || y[i] != floorf(y[i])) return false;
  return true;
}

/* Mean Poisson deviance 2 (y log(y / p) - y + p), with y log(y / p) = 0 for y = 0 (as
 * scikit-learn's mean_poisson_deviance). NAN when a prediction is not positive. */
static double poisson_deviance(const float *pred, const float *y, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; i++) {
    double p = (double)pred[i], a = (double)y[i];
    if (!(p > 0)) return NAN;
    sum += 2 * ((a > 0 ? a * log(a / p) : 0) - a + p);
  }
  return sum / (double)n;
}

/* Deciles of the prediction: rows ranked by prediction and cut into 10 near-equal groups
 * (fewer with under 10 rows), each with its mean prediction and mean actual value. */
static json_t *regression_calibration(const float *pred, const float *y, size_t n) {
  eval_row *rows = rows_from(pred, y, n);
  json_t *bins = json_array();
  if (rows == NULL || bins == NULL) {
    free(rows);
    json_decref(bins);
    return NULL;
  }
  eval_sort_by_score(rows, n);
  size_t n_bins = n < CALIBRATION_BINS ? n : CALIBRATION_BINS;
  for (size_t b = 0; b < n_bins; b++) {
    /* Rows are sorted high to low, so the lowest decile is at the end. */
    size_t lo = n - (b + 1) * n / n_bins, hi = n - b * n / n_bins;
    double sum_p = 0, sum_y = 0;
    for (size_t i = lo; i < hi; i++) {
      sum_p += rows[i].score;
      sum_y += rows[i].y;
    }
    double c = (double)(hi - lo);
    json_t *bin = json_pack("{s:o, s:o, s:I}", "predicted", eval_number(sum_p / c), "observed",
                            eval_number(sum_y / c), "count", (json_int_t)(hi - lo));
    if (bin == NULL || json_array_append_new(bins, bin) != 0) {
      json_decref(bins);
      bins = NULL;
      break;
    }
  }
  free(rows);
  return bins;
}

/* [prediction, actual] of every row, or of max_points rows spread evenly over the input
 * order when there are more. */
static json_t *predicted_vs_actual(const float *pred, const float *y, size_t n, size_t max_points) {
  json_t *points = json_array();
  size_t m = n < max_points ? n : max_points;
  for (size_t j = 0; points != NULL && j < m; j++) {
    size_t i = m == n ? j : (size_t)((double)j * (double)n / (double)m);
    json_t *pair = json_pack("[o, o]", eval_number((double)pred[i]), eval_number((double)y[i]));
    if (pair == NULL || json_array_append_new(points, pair) != 0) {
      json_decref(points);
      return NULL;
    }
  }
  return points;
}

static promo_status regression_metrics(promo_task task, const float *pred, const float *y, size_t n,
                                       const promo_eval_options *opt, json_t *obj, json_t *notes,
                                       json_t *curves) {
  double sq = 0, abs_err = 0, abs_y = 0, sum_p = 0, sum_y = 0, ape = 0;
  size_t n_zero = 0;
  for (size_t i = 0; i < n; i++) {
    double p = (double)pred[i], a = (double)y[i], e = p - a;
    sq += e * e;
    abs_err += fabs(e);
    abs_y += fabs(a);
    sum_p += p;
    sum_y += a;
    if (a == 0) n_zero++;
    else ape += fabs(e) / fabs(a);
  }
  double mean_y = sum_y / (double)n, ss_tot = 0;
  for (size_t i = 0; i < n; i++) ss_tot += ((double)y[i] - mean_y) * ((double)y[i] - mean_y);

  double mape = n_zero < n ? ape / (double)(n - n_zero) : NAN;
  double wape = abs_y > 0 ? abs_err / abs_y : NAN;
  double r2 = ss_tot > 0 ? 1 - sq / ss_tot : NAN;
  double bias = sum_y != 0 ? sum_p / sum_y : NAN;
  promo_status st = eval_set(obj, "rows", json_integer((json_int_t)n));
  if (st == PROMO_OK) st = eval_set(obj, "rmse", eval_number(sqrt(sq / (double)n)));
  if (st == PROMO_OK) st = eval_set(obj, "mae", eval_number(abs_err / (double)n));
  if (st == PROMO_OK) st = eval_set(obj, "mape", eval_number(mape));
  if (st == PROMO_OK) st = eval_set(obj, "mape_skipped", json_integer((json_int_t)n_zero));
  if (st == PROMO_OK) st = eval_set(obj, "wape", eval_number(wape));
  if (st == PROMO_OK) st = eval_set(obj, "r2", eval_number(r2));
  if (st == PROMO_OK) st = eval_set(obj, "bias", eval_number(bias));
  if (st == PROMO_OK && isnan(mape)) st = eval_note(notes, _("mape is undefined: every actual value is 0"));
  if (st == PROMO_OK && isnan(wape)) st = eval_note(notes, _("wape is undefined: every actual value is 0"));
  if (st == PROMO_OK && isnan(r2))
    st = eval_note(notes, _("r2 is undefined: the actual values are all the same"));
  if (st == PROMO_OK && isnan(bias)) st = eval_note(notes, _("bias is undefined: the actual values sum to 0"));

  if (st == PROMO_OK && (task == PROMO_TASK_POISSON || is_count_target(y, n))) {
    double deviance = poisson_deviance(pred, y, n);
    st = eval_set(obj, "poisson_deviance", eval_number(deviance));
    if (st == PROMO_OK && isnan(deviance))
      st = eval_note(notes, _("poisson_deviance is undefined: a prediction is 0 or negative"));
  }

  if (st == PROMO_OK && curves != NULL)
    st = eval_set(curves, "predicted_vs_actual", predicted_vs_actual(pred, y, n, opt->max_scatter_points));
  if (st == PROMO_OK && curves != NULL) st = eval_set(curves, "calibration", regression_calibration(pred, y, n));
  return st;
}

/* ------------------------------------------------------------------ entry point */

static promo_status bad_value(promo_error *err, size_t row, const char *what, double value) {
  promo_error_at(err, NULL, (int64_t)row + 1, 0);
  char text[32];
  snprintf(text, sizeof text, "%.9g", value);
  promo_error_value(err, text, -1);
  return promo_error_set(err, PROMO_ERR_DATA, _("row %zu: %s, found %s"), row + 1, what, text);
}

static promo_status check_inputs(promo_task task, const float *pred, const float *y, size_t n,
                                 const promo_eval_options *opt, promo_error *err) {
  if (pred == NULL || y == NULL || n == 0)
    return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("no rows to evaluate"));
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(pred[i])) return bad_value(err, i, _("a prediction must be a finite number"), pred[i]);
    if (!isfinite(y[i])) return bad_value(err, i, _("an actual value must be a finite number"), y[i]);
    if (task == PROMO_TASK_BINARY && y[i] != 0.0f && y[i] != 1.0f)
      return bad_value(err, i, _("a binary target must be 0 or 1"), y[i]);
    if (task == PROMO_TASK_BINARY && (pred[i] < 0.0f || pred[i] > 1.0f))
      return bad_value(err, i, _("a binary prediction must be a probability from 0 to 1"), pred[i]);
    if (task == PROMO_TASK_POISSON && y[i] < 0.0f)
      return bad_value(err, i, _("a count target must not be negative"), y[i]);
    if (opt->treatment != NULL && opt->treatment[i] != 0.0f && opt->treatment[i] != 1.0f)
      return bad_value(err, i, _("a treatment must be 0 (control) or 1 (treated)"), opt->treatment[i]);
    if (opt->uplift_score != NULL && !isfinite(opt->uplift_score[i]))
      return bad_value(err, i, _("an uplift score must be a finite number"), opt->uplift_score[i]);
  }
  return PROMO_OK;
}

promo_status promo_eval_metrics(promo_task task, const float *pred, const float *y, size_t n,
                                const promo_eval_options *opt, json_t **out, promo_error *err) {
  promo_eval_options defaults;
  if (opt == NULL) {
    promo_eval_options_init(&defaults);
    opt = &defaults;
  }
  *out = NULL;
  promo_status st = check_inputs(task, pred, y, n, opt, err);
  if (st != PROMO_OK) return st;

  json_t *obj = json_object(), *notes = json_array(), *curves = opt->curves ? json_object() : NULL;
  if (obj == NULL || notes == NULL || (opt->curves && curves == NULL)) st = PROMO_ERR_NOMEM;
  if (st == PROMO_OK && task == PROMO_TASK_BINARY) st = binary_metrics(pred, y, n, opt, obj, notes, curves);
  else if (st == PROMO_OK) st = regression_metrics(task, pred, y, n, opt, obj, notes, curves);
  if (st == PROMO_OK && opt->treatment != NULL) st = eval_uplift(pred, y, n, opt, obj, notes, curves);

  if (st == PROMO_OK) {
    st = eval_set(obj, "notes", notes);
    notes = NULL;
  }
  if (st == PROMO_OK && curves != NULL) {
    st = eval_set(obj, "curves", curves);
    curves = NULL;
  }
  json_decref(notes);
  json_decref(curves);
  if (st != PROMO_OK) {
    json_decref(obj);
    return promo_error_set(err, st, "%s", _("out of memory"));
  }
  *out = obj;
  return PROMO_OK;
}
