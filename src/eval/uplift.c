/* Evaluation stage: uplift metrics for data where a treatment column marks who got the
 * promotion. Rows are ranked by a score, best candidates first, and the curves compare
 * treated and control outcomes among the top k rows (Radcliffe 2007, "Using control
 * groups to target on predicted lift"). */
#include <math.h>
#include <stdlib.h>

#include "core/intl.h"
#include "eval/internal.h"

/* Cumulative counts at one cut-off: the top `rows` rows by score. */
typedef struct uplift_point {
  double rows;
  double n_treated, n_control;
  double y_treated, y_control; /* summed outcomes */
} uplift_point;

/* Qini value: incremental outcomes among the top rows, the control outcomes scaled to
 * the treated group's size. The ratio is taken as 0 while no control row is in the top. */
static double qini_value(const uplift_point *p) {
  return p->y_treated - (p->n_control > 0 ? p->y_control * p->n_treated / p->n_control : 0);
}

/* Uplift-curve value: the difference of mean outcomes times the rows in the top. A mean
 * of an empty group counts as 0. */
static double uplift_value(const uplift_point *p) {
  double mean_t = p->n_treated > 0 ? p->y_treated / p->n_treated : 0;
  double mean_c = p->n_control > 0 ? p->y_control / p->n_control : 0;
  return (mean_t - mean_c) * p->rows;
}

/* Mean treated outcome minus mean control outcome over the top `share` of the rows
 * (floor(share * n), at least 1); NAN when either group is empty there. */
static double uplift_at_share(const eval_row *rows, size_t n, double share) {
  size_t top = (size_t)floor(share * (double)n);
  if (top == 0) top = 1;
  uplift_point p = {0, 0, 0, 0, 0};
  for (size_t i = 0; i < top; i++) {
    if (rows[i].treated == 1.0) {
      p.n_treated += 1;
      p.y_treated += rows[i].y;
    } else {
      p.n_control += 1;
      p.y_control += rows[i].y;
    }
  }
  if (p.n_treated == 0 || p.n_control == 0) return NAN;
  return p.y_treated / p.n_treated - p.y_control / p.n_control;
}

/* Cut-offs after every tie group of scores, from (0 rows) to (all rows): m + 1 points in
 * points[], m the number of distinct scores. */
static size_t uplift_points(const eval_row *rows, size_t n, uplift_point *points) {
  uplift_point p = {0, 0, 0, 0, 0};
  size_t m = 0;
  points[m++] = p;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    for (; j < n && rows[j].score == rows[i].score; j++) {
      if (rows[j].treated == 1.0) {
        p.n_treated += 1;
        p.y_treated += rows[j].y;
      } else {
        p.n_control += 1;
        p.y_control += rows[j].y;
      }
    }
    p.rows = (double)j;
    points[m++] = p;
    i = j;
  }
  return m;
}

/* Trapezoid area under value(point) over rows, from 0 to n rows. */
static double area(const uplift_point *points, size_t m, double (*value)(const uplift_point *)) {
  double sum = 0;
  for (size_t k = 1; k < m; k++)
    sum += (points[k].rows - points[k - 1].rows) * (value(&points[k]) + value(&points[k - 1])) / 2;
  return sum;
}

static promo_status qini_curve(const uplift_point *points, size_t m, double n, size_t max_points,
                               json_t *curves) {
  size_t *keep = malloc(m * sizeof *keep);
  json_t *curve = json_array();
  promo_status st = keep != NULL && curve != NULL ? PROMO_OK : PROMO_ERR_NOMEM;
  size_t n_keep = st == PROMO_OK ? eval_thin(m, max_points, keep) : 0;
  for (size_t i = 0; st == PROMO_OK && i < n_keep; i++) {
    const uplift_point *p = &points[keep[i]];
    json_t *pair = json_pack("[o, o]", eval_number(p->rows / n), eval_number(qini_value(p) / n));
    if (pair == NULL || json_array_append_new(curve, pair) != 0) st = PROMO_ERR_NOMEM;
  }
  free(keep);
  if (st != PROMO_OK) {
    json_decref(curve);
    return st;
  }
  return eval_set(curves, "qini", curve);
}

/* The metrics, with both axes in shares of all rows (x = k / n, y = value / n):
 *   qini_coefficient  area between the Qini curve and the straight line from (0, 0) to
 *                     its end point, the ranking's gain over a random order;
 *   auuc              area under the uplift curve; a random order gives about ate / 2;
 *   uplift_at_Kpct    treated minus control mean outcome in the top K% of rows. */
promo_status eval_uplift(const float *pred, const float *y, size_t n, const promo_eval_options *opt,
                         json_t *obj, json_t *notes, json_t *curves) {
  const float *score = opt->uplift_score != NULL ? opt->uplift_score : pred;
  eval_row *rows = malloc(n * sizeof *rows);
  uplift_point *points = malloc((n + 1) * sizeof *points);
  if (rows == NULL || points == NULL) {
    free(rows);
    free(points);
    return PROMO_ERR_NOMEM;
  }
  double n_treated = 0, y_treated = 0, y_control = 0;
  for (size_t i = 0; i < n; i++) {
    rows[i] = (eval_row){(double)score[i], (double)y[i], (double)opt->treatment[i], 0, i};
    n_treated += rows[i].treated;
    if (rows[i].treated == 1.0) y_treated += rows[i].y;
    else y_control += rows[i].y;
  }
  double n_control = (double)n - n_treated, dn = (double)n;
  bool both = n_treated > 0 && n_control > 0;
  eval_sort_by_score(rows, n);
  size_t m = uplift_points(rows, n, points);

  double ate = both ? y_treated / n_treated - y_control / n_control : NAN;
  double qini = NAN, auuc = NAN;
  if (both) {
    qini = (area(points, m, qini_value) - dn * qini_value(&points[m - 1]) / 2) / (dn * dn);
    auuc = area(points, m, uplift_value) / (dn * dn);
  }
  promo_status st = eval_set(obj, "treated_rows", json_integer((json_int_t)n_treated));
  if (st == PROMO_OK) st = eval_set(obj, "control_rows", json_integer((json_int_t)n_control));
  if (st == PROMO_OK) st = eval_set(obj, "ate", eval_number(ate));
  if (st == PROMO_OK) st = eval_set(obj, "qini_coefficient", eval_number(qini));
  if (st == PROMO_OK) st = eval_set(obj, "auuc", eval_number(auuc));
  if (st == PROMO_OK) st = eval_set(obj, "uplift_at_10pct", eval_number(uplift_at_share(rows, n, 0.1)));
  if (st == PROMO_OK) st = eval_set(obj, "uplift_at_20pct", eval_number(uplift_at_share(rows, n, 0.2)));
  if (st == PROMO_OK) st = eval_set(obj, "uplift_at_30pct", eval_number(uplift_at_share(rows, n, 0.3)));
  if (st == PROMO_OK && !both)
    st = eval_note(notes, _("uplift metrics are undefined: the rows need both treated and control rows"));
  else if (st == PROMO_OK && opt->uplift_score == NULL)
    st = eval_note(notes, _("uplift metrics rank rows by the prediction, not by a predicted uplift"));
  if (st == PROMO_OK && curves != NULL && both) st = qini_curve(points, m, dn, opt->max_curve_points, curves);
  free(rows);
  free(points);
  return st;
}
