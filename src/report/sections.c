/* Report sections for the run's first stages: stage timings, data quality with
 * rejection reasons, and the training curves. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "report/internal.h"

/* Seconds as "12.3 s": one decimal below 100 seconds, none above. */
static void format_seconds(double seconds, char *buf, size_t size) {
  char number[64];
  promo_report_format_number(seconds, fabs(seconds) < 100 ? 1 : 0, number, sizeof number);
  snprintf(buf, size, _("%s s"), number);
}

/* ===================================================================== stages */

static const char *stage_status_label(const char *status) {
  if (status == NULL) return "";
  if (strcmp(status, "ok") == 0) return _("completed");
  if (strcmp(status, "failed") == 0) return _("failed");
  if (strcmp(status, "skipped") == 0) return _("skipped");
  return status;
}

static int stage_color(const char *status) {
  if (status != NULL && strcmp(status, "failed") == 0) return 1;
  if (status != NULL && strcmp(status, "skipped") == 0) return 5;
  return 0;
}

/* One table row per stage; fills rows[] for the timing chart. */
static void stage_rows(report *r, const json_t *stages, bar_row *rows, char (*names)[64],
                       double *total) {
  size_t i;
  const json_t *item;
  char path[REPORT_PATH_MAX], buf[64];
  json_array_foreach(stages, i, item) {
    report_path_index(path, "stages", i);
    if (!report_is_object(r, item, "stages", i)) return;
    const char *name = report_label(r, item, path, "name", names[i], sizeof names[i]);
    const char *status = report_string(r, item, path, "status");
    double seconds;
    if (report_number(r, item, path, "seconds", &seconds)) *total += seconds;
    name = name != NULL ? report_term(name) : "?";

    rbuf_puts(&r->out, "<tr>");
    report_cell_text(r, name);
    rbuf_puts(&r->out, status != NULL && strcmp(status, "failed") == 0 ? "<td class=\"status-failed\">" : "<td>");
    rbuf_escape(&r->out, stage_status_label(status));
    format_seconds(seconds, buf, sizeof buf);
    rbuf_printf(&r->out, "</td><td class=\"num\">%s</td></tr>\n", isfinite(seconds) ? buf : "\xE2\x80\x94");

    rows[i].label = name;
    rows[i].values[0] = seconds;
    rows[i].values[1] = NAN;
    rows[i].color = stage_color(status);
  }
}

void report_section_stages(report *r, const json_t *doc) {
  const json_t *stages = report_member(r, doc, "", "stages", JSON_ARRAY);
  report_section_open(r, "stages", _("Run stages"));
  size_t n = stages != NULL ? json_array_size(stages) : 0;
  if (n == 0) {
    report_not_run(r, _("Not run: this document records no stages."));
    report_section_close(r);
    return;
  }
  bar_row *rows = calloc(n, sizeof *rows);
  char(*names)[64] = calloc(n, sizeof *names);
  if (rows == NULL || names == NULL) {
    r->out.failed = true;
    free(rows);
    free(names);
    return;
  }

  const char *headers[] = {_("Stage"), _("Status"), _("Time")};
  report_table_open(r, headers, 3, 4u);
  double total = 0;
  char buf[64];
  stage_rows(r, stages, rows, names, &total);
  format_seconds(total, buf, sizeof buf);
  rbuf_puts(&r->out, "<tr><th>");
  rbuf_escape(&r->out, _("Total"));
  rbuf_printf(&r->out, "</th><td></td><td class=\"num\">%s</td></tr>\n", buf);
  report_table_close(r);

  bar_chart spec = {.name = "stages", .caption = _("Time per stage"), .value_title = _("Seconds"),
                    .n_series = 1, .color_by_row = true, .format = format_seconds};
  size_t n_timed = 0;
  for (size_t i = 0; i < n; i++) n_timed += isfinite(rows[i].values[0]);
  if (r->status == PROMO_OK && n_timed > 0) chart_bars(r, &spec, rows, n);
  free(rows);
  free(names);
  report_section_close(r);
}

/* ===================================================================== quality */

static const char *reason_label(const char *key) {
  static const char *const keys[] = {"duplicate", "duplicate_key", "invalid_value", "missing_value",
                                     "nonpositive_price", "negative_quantity", "rate_out_of_range",
                                     "date_out_of_range", "outlier"};
  const char *labels[] = {_("Exact duplicate row"), _("Duplicate key"), _("Invalid value"),
                          _("Missing value"), _("Price zero or negative"), _("Negative quantity"),
                          _("Rate out of range"), _("Date out of range"), _("Outlier")};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (strcmp(key, keys[i]) == 0) return labels[i];
  return key;
}

typedef struct reason_count {
  const char *key;
  double count;
} reason_count;

static int by_count_desc(const void *a, const void *b) {
  const reason_count *x = a, *y = b;
  if (x->count != y->count) return x->count > y->count ? -1 : 1;
  return strcmp(x->key, y->key);
}

/* Rows of the reasons table for one source, most frequent reason first. */
static size_t reason_rows(report *r, const json_t *source, const char *path, const char *name,
                          double rows_in) {
  const json_t *reasons = report_member(r, source, path, "reasons", JSON_OBJECT);
  size_t n = reasons != NULL ? json_object_size(reasons) : 0, k = 0;
  if (n == 0) return 0;
  reason_count *counts = calloc(n, sizeof *counts);
  if (counts == NULL) {
    r->out.failed = true;
    return 0;
  }
  char reasons_path[REPORT_PATH_MAX];
  report_path_key(reasons_path, path, "reasons");
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)reasons, key, v) {
    double count;
    if (!report_number(r, reasons, reasons_path, key, &count)) continue;
    counts[k].key = key;
    counts[k].count = count;
    k++;
  }
  qsort(counts, k, sizeof *counts, by_count_desc);
  char share[64];
  for (size_t i = 0; i < k; i++) {
    rbuf_puts(&r->out, "<tr>");
    report_cell_text(r, name);
    rbuf_puts(&r->out, "<td>");
    rbuf_escape(&r->out, reason_label(counts[i].key));
    rbuf_puts(&r->out, "</td>");
    report_cell_number(r, counts[i].count, 0);
    promo_report_format_percent(rows_in > 0 ? counts[i].count / rows_in : NAN, 2, share, sizeof share);
    rbuf_printf(&r->out, "<td class=\"num\">%s</td></tr>\n", share);
  }
  free(counts);
  return k;
}

typedef struct source_totals {
  const char *name;
  double rows_in, rows_out, rejected, duplicates;
} source_totals;

static void quality_summary_row(report *r, const source_totals *s) {
  char share[64];
  rbuf_puts(&r->out, "<tr>");
  report_cell_text(r, s->name);
  report_cell_number(r, s->rows_in, 0);
  report_cell_number(r, s->rows_out, 0);
  report_cell_number(r, s->rejected, 0);
  report_cell_number(r, s->duplicates, 0);
  promo_report_format_percent(s->rows_in > 0 ? s->rows_out / s->rows_in : NAN, 1, share, sizeof share);
  rbuf_printf(&r->out, "<td class=\"num\">%s</td></tr>\n", share);
}

void report_section_quality(report *r, const json_t *doc) {
  const json_t *quality = report_member(r, doc, "", "quality", JSON_ARRAY);
  report_section_open(r, "quality", _("Data quality"));
  if (quality == NULL || json_array_size(quality) == 0) {
    report_not_run(r, _("Not run: there are no cleaning results in this document."));
    report_section_close(r);
    return;
  }
  const char *headers[] = {_("Source"), _("Rows in"), _("Rows kept"), _("Rejected"),
                           _("Duplicates removed"), _("Kept")};
  report_table_open(r, headers, 6, 0x3Eu);
  size_t i;
  const json_t *item;
  char path[REPORT_PATH_MAX], label[64];
  json_array_foreach(quality, i, item) {
    if (!report_is_object(r, item, "quality", i)) break;
    report_path_index(path, "quality", i);
    source_totals s;
    s.name = report_label(r, item, path, "source", label, sizeof label);
    if (s.name == NULL) s.name = "?";
    report_number(r, item, path, "rows_in", &s.rows_in);
    report_number(r, item, path, "rows_out", &s.rows_out);
    report_number(r, item, path, "rejected", &s.rejected);
    report_number(r, item, path, "duplicates", &s.duplicates);
    quality_summary_row(r, &s);
  }
  report_table_close(r);

  rbuf_puts(&r->out, "<h3>");
  rbuf_escape(&r->out, _("Rejection reasons"));
  rbuf_puts(&r->out, "</h3>\n");
  const char *reason_headers[] = {_("Source"), _("Reason"), _("Rows"), _("Share of rows in")};
  report_table_open(r, reason_headers, 4, 0xCu);
  size_t n_reasons = 0;
  json_array_foreach(quality, i, item) {
    if (!report_is_object(r, item, "quality", i)) break;
    report_path_index(path, "quality", i);
    const char *name = report_label(r, item, path, "source", label, sizeof label);
    double rows_in;
    report_number(r, item, path, "rows_in", &rows_in);
    n_reasons += reason_rows(r, item, path, name != NULL ? name : "?", rows_in);
  }
  report_table_close(r);
  if (n_reasons == 0) report_not_run(r, _("No row was rejected."));
  report_section_close(r);
}

/* ===================================================================== training */

static const char *task_label(const char *task) {
  if (task == NULL) return NULL;
  if (strcmp(task, "binary") == 0) return _("binary classification");
  if (strcmp(task, "regression") == 0) return _("regression");
  if (strcmp(task, "poisson") == 0) return _("count regression (Poisson)");
  return task;
}

/* Loss series of the history: [n] each, NaN where a loss is null. */
typedef struct loss_series {
  double *epoch, *train, *valid;
  size_t n, n_train, n_valid;
  double lo, hi;
} loss_series;

static bool read_history(report *r, const json_t *history, loss_series *s) {
  size_t n = json_array_size(history);
  s->epoch = calloc(n, sizeof *s->epoch);
  s->train = calloc(n, sizeof *s->train);
  s->valid = calloc(n, sizeof *s->valid);
  if (s->epoch == NULL || s->train == NULL || s->valid == NULL) {
    r->out.failed = true;
    return false;
  }
  s->lo = INFINITY, s->hi = -INFINITY;
  char path[REPORT_PATH_MAX];
  for (size_t i = 0; i < n; i++) {
    const json_t *item = json_array_get(history, i);
    if (!report_is_object(r, item, "training.history", i)) return false;
    report_path_index(path, "training.history", i);
    if (!report_number(r, item, path, "epoch", &s->epoch[i])) s->epoch[i] = (double)(i + 1);
    report_number(r, item, path, "train_loss", &s->train[i]);
    report_number(r, item, path, "valid_loss", &s->valid[i]);
    const double both[2] = {s->train[i], s->valid[i]};
    for (int k = 0; k < 2; k++) {
      if (!isfinite(both[k])) continue;
      s->lo = fmin(s->lo, both[k]);
      s->hi = fmax(s->hi, both[k]);
    }
  }
  s->n = n;
  return r->status == PROMO_OK;
}

/* Copy the finite points of one loss series to xs/ys; returns how many. */
static size_t finite_points(const double *epoch, const double *loss, size_t n, double *xs, double *ys) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(loss[i]) || !isfinite(epoch[i])) continue;
    xs[k] = epoch[i];
    ys[k] = loss[i];
    k++;
  }
  return k;
}

static void training_chart(report *r, loss_series *s, double best_epoch) {
  double *xs = calloc(2 * s->n + 1, sizeof *xs), *ys = calloc(2 * s->n + 1, sizeof *ys);
  if (xs == NULL || ys == NULL) {
    r->out.failed = true;
    free(xs);
    free(ys);
    return;
  }
  s->n_train = finite_points(s->epoch, s->train, s->n, xs, ys);
  s->n_valid = finite_points(s->epoch, s->valid, s->n, xs + s->n_train, ys + s->n_train);
  if (s->n_train + s->n_valid == 0) {
    report_not_run(r, _("The training history has no loss values to draw."));
    free(xs);
    free(ys);
    return;
  }
  double x_lo = INFINITY, x_hi = -INFINITY;
  for (size_t i = 0; i < s->n_train + s->n_valid; i++) x_lo = fmin(x_lo, xs[i]), x_hi = fmax(x_hi, xs[i]);

  chart c;
  chart_begin(r, &c, "training", s->n_train + s->n_valid, _("Loss per epoch"), 300);
  chart_axes(&c, x_lo, x_hi, s->lo, s->hi, _("Epoch"), _("Loss"), false, false);
  if (s->n_train > 0) {
    chart_legend(&c, chart_color(0), _("Training loss"), false);
    chart_polyline(&c, xs, ys, s->n_train, chart_color(0), _("Training loss"));
  }
  if (s->n_valid > 0) {
    chart_legend(&c, chart_color(1), _("Validation loss"), false);
    chart_polyline(&c, xs + s->n_train, ys + s->n_train, s->n_valid, chart_color(1), _("Validation loss"));
  }
  if (isfinite(best_epoch)) {
    char tip[128], number[64];
    promo_report_format_number(best_epoch, 0, number, sizeof number);
    snprintf(tip, sizeof tip, _("Best epoch: %s"), number);
    chart_reference(&c, best_epoch, c.y_lo, best_epoch, c.y_hi, tip);
  }
  chart_end(&c);
  free(xs);
  free(ys);
}

/* "Best epoch 12 of 40: training loss 0.412, validation loss 0.438." */
static void training_summary(report *r, const loss_series *s, double best_epoch) {
  if (!isfinite(best_epoch) || s->n == 0) return;
  for (size_t i = 0; i < s->n; i++) {
    if (s->epoch[i] != best_epoch) continue;
    char epoch[64], last[64], train[64], valid[64], line[512];
    promo_report_format_number(best_epoch, 0, epoch, sizeof epoch);
    promo_report_format_number(s->epoch[s->n - 1], 0, last, sizeof last);
    promo_report_format_auto(s->train[i], train, sizeof train);
    promo_report_format_auto(s->valid[i], valid, sizeof valid);
    snprintf(line, sizeof line, _("Best epoch %s of %s: training loss %s, validation loss %s."), epoch,
             last, train, valid);
    rbuf_puts(&r->out, "<p>");
    rbuf_escape(&r->out, line);
    rbuf_puts(&r->out, "</p>\n");
    return;
  }
}

void report_section_training(report *r, const json_t *doc) {
  const json_t *training = report_member(r, doc, "", "training", JSON_OBJECT);
  report_section_open(r, "training", _("Training"));
  if (training == NULL) {
    report_not_run(r, _("Not run: there are no training results in this document."));
    report_section_close(r);
    return;
  }
  const char *task = task_label(report_string(r, training, "training", "task"));
  const char *target = report_string(r, training, "training", "target");
  if (task != NULL || target != NULL) {
    rbuf_puts(&r->out, "<p>");
    if (task != NULL) {
      rbuf_escape(&r->out, _("Task:"));
      rbuf_puts(&r->out, " ");
      rbuf_escape(&r->out, task);
      rbuf_puts(&r->out, target != NULL ? "<br>" : "");
    }
    if (target != NULL) {
      rbuf_escape(&r->out, _("Target column:"));
      rbuf_puts(&r->out, " ");
      rbuf_escape(&r->out, target);
    }
    rbuf_puts(&r->out, "</p>\n");
  }

  const json_t *history = report_member(r, training, "training", "history", JSON_ARRAY);
  double best_epoch;
  report_number(r, training, "training", "best_epoch", &best_epoch);
  loss_series s = {0};
  if (history == NULL || json_array_size(history) == 0)
    report_not_run(r, _("The training history is empty."));
  else if (read_history(r, history, &s)) {
    training_summary(r, &s, best_epoch);
    const char *task_key = json_string_value(json_object_get(training, "task"));
    if (task_key != NULL && strcmp(task_key, "poisson") == 0) {
      rbuf_puts(&r->out, "<p class=\"note\">");
      rbuf_escape(&r->out, _("The Poisson loss leaves out a constant that depends only on the actual counts, "
                             "as PyTorch's PoissonNLLLoss does, so it can be negative; lower is still better."));
      rbuf_puts(&r->out, "</p>\n");
    }
    training_chart(r, &s, best_epoch);
  }
  free(s.epoch);
  free(s.train);
  free(s.valid);
  report_section_close(r);
}
