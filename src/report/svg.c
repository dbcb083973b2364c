/* Hand-written SVG charts for the HTML report: x-y plots with ticked axes, legends and
 * reference lines, and horizontal bar charts. Every drawn data mark has class "mark" so
 * the page's check script can count it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/intl.h"
#include "report/internal.h"

/* The Okabe-Ito palette: eight colors that stay distinct under common color-vision
 * deficiencies. */
static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                      "#E69F00", "#56B4E9", "#000000", "#F0E442"};

const char *chart_color(int i) {
  int n = (int)(sizeof palette / sizeof palette[0]);
  return palette[((i % n) + n) % n];
}

void chart_begin(report *r, chart *c, const char *name, size_t n_marks, const char *caption,
                 double height) {
  memset(c, 0, sizeof *c);
  c->r = r;
  c->height = height;
  c->left = CHART_MARGIN_LEFT;
  c->right = CHART_WIDTH - CHART_MARGIN_RIGHT;
  c->top = CHART_MARGIN_TOP;
  c->bottom = height - CHART_MARGIN_BOTTOM;
  r->n_charts++;
  rbuf_printf(&r->out, "<figure class=\"chart\" data-chart=\"%s\" data-points=\"%zu\">\n", name,
              n_marks);
  rbuf_puts(&r->out, "<figcaption>");
  rbuf_escape(&r->out, caption);
  rbuf_printf(&r->out, "</figcaption>\n<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"",
              CHART_WIDTH, height);
  rbuf_escape(&r->out, caption);
  rbuf_puts(&r->out, "\">\n");
}

void chart_end(chart *c) { rbuf_puts(&c->r->out, "</svg>\n</figure>\n"); }

double chart_x(const chart *c, double x) {
  double span = c->x_hi - c->x_lo;
  return c->left + (span > 0 ? (x - c->x_lo) / span : 0.5) * (c->right - c->left);
}

double chart_y(const chart *c, double y) {
  double span = c->y_hi - c->y_lo;
  return c->bottom - (span > 0 ? (y - c->y_lo) / span : 0.5) * (c->bottom - c->top);
}

/* A step of 1, 2 or 5 times a power of ten that cuts span into about `target` parts. */
static double nice_step(double span, int target) {
  if (!(span > 0) || !isfinite(span)) return 1;
  double raw = span / target;
  double power = pow(10, floor(log10(raw)));
  double f = raw / power;
  double nice = 10;
  if (f < 1.5) nice = 1;
  else if (f < 3.5) nice = 2;
  else if (f < 7.5) nice = 5;
  return nice * power;
}

/* Widen [*lo, *hi] outwards to whole tick steps and return the step. A zero-width range
 * is first padded on both sides by 10% of its value, or by 1 at zero. */
static double widen(double *lo, double *hi, int target) {
  if (!isfinite(*lo) || !isfinite(*hi)) *lo = 0, *hi = 1;
  if (*hi < *lo) {
    double t = *lo;
    *lo = *hi;
    *hi = t;
  }
  if (*hi == *lo) {
    double pad = *lo == 0 ? 1 : fabs(*lo) * 0.1;
    *lo -= pad;
    *hi += pad;
  }
  double step = nice_step(*hi - *lo, target);
  *lo = floor(*lo / step + 1e-9) * step;
  *hi = ceil(*hi / step - 1e-9) * step;
  return step;
}

static void tick_label(double v, double step, bool percent, char *buf, size_t size) {
  if (fabs(v) < step * 1e-9) v = 0;
  double shown = percent ? step * 100 : step;
  int decimals = shown >= 1 ? 0 : (int)ceil(-log10(shown) - 1e-9);
  if (percent) promo_report_format_percent(v, decimals, buf, size);
  else promo_report_format_number(v, decimals, buf, size);
}

static void draw_x_ticks(chart *c, double step, bool percent) {
  report_buf *b = &c->r->out;
  char label[64];
  for (double v = c->x_lo; v <= c->x_hi + step * 1e-6; v += step) {
    double x = chart_x(c, v);
    rbuf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, c->top, x,
                c->bottom);
    tick_label(v, step, percent, label, sizeof label);
    rbuf_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x,
                c->bottom + 14, label);
  }
}

static void draw_y_ticks(chart *c, double step, bool percent) {
  report_buf *b = &c->r->out;
  char label[64];
  for (double v = c->y_lo; v <= c->y_hi + step * 1e-6; v += step) {
    double y = chart_y(c, v);
    rbuf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", c->left, y,
                c->right, y);
    tick_label(v, step, percent, label, sizeof label);
    rbuf_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                c->left - 5, y + 4, label);
  }
}

void chart_axes(chart *c, double x_lo, double x_hi, double y_lo, double y_hi, const char *x_title,
                const char *y_title, bool x_percent, bool y_percent) {
  c->x_lo = x_lo, c->x_hi = x_hi, c->y_lo = y_lo, c->y_hi = y_hi;
  double x_step = widen(&c->x_lo, &c->x_hi, 6);
  double y_step = widen(&c->y_lo, &c->y_hi, 5);
  draw_x_ticks(c, x_step, x_percent);
  draw_y_ticks(c, y_step, y_percent);

  report_buf *b = &c->r->out;
  rbuf_printf(b, "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n",
              c->left, c->top, c->right - c->left, c->bottom - c->top);
  rbuf_printf(b, "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
              (c->left + c->right) / 2, c->height - 8);
  rbuf_escape(b, x_title);
  rbuf_printf(b, "</text>\n<text class=\"axis\" transform=\"translate(14 %.1f) rotate(-90)\" "
                 "text-anchor=\"middle\">",
              (c->top + c->bottom) / 2);
  rbuf_escape(b, y_title);
  rbuf_puts(b, "</text>\n");
}

/* Width in SVG units of text at the chart font size, estimated from terminal columns
 * (a CJK character takes two); SVG cannot measure text before the browser lays it out. */
static double text_width(const char *text) {
  int columns = 0;
  for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
    if ((*p & 0xC0) == 0x80) continue;
    columns += *p >= 0xE0 ? 2 : 1;
  }
  return columns * 6.2;
}

void chart_legend(chart *c, const char *color, const char *label, bool dashed) {
  /* Entries run left to right along the top edge. */
  report_buf *b = &c->r->out;
  double x = c->legend_x > 0 ? c->legend_x : c->left + 4, y = 14;
  rbuf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"%s/>",
              x, y - 4, x + 18, y - 4, color, dashed ? " stroke-dasharray=\"4 3\"" : "");
  char clipped[160];
  report_clip_label(label, 40, clipped, sizeof clipped);
  rbuf_printf(b, "<text class=\"legend\" x=\"%.1f\" y=\"%.1f\">", x + 22, y);
  rbuf_escape(b, clipped);
  rbuf_puts(b, "<title>");
  rbuf_escape(b, label);
  rbuf_puts(b, "</title></text>\n");
  c->legend_x = x + 22 + text_width(clipped) + 18;
}

void chart_reference(chart *c, double x0, double y0, double x1, double y1, const char *tooltip) {
  report_buf *b = &c->r->out;
  rbuf_printf(b, "<line class=\"ref\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"><title>",
              chart_x(c, x0), chart_y(c, y0), chart_x(c, x1), chart_y(c, y1));
  rbuf_escape(b, tooltip);
  rbuf_puts(b, "</title></line>\n");
}

void chart_polyline(chart *c, const double *xs, const double *ys, size_t n, const char *color,
                    const char *tooltip) {
  report_buf *b = &c->r->out;
  rbuf_printf(b, "<polyline class=\"mark line\" stroke=\"%s\" points=\"", color);
  for (size_t i = 0; i < n; i++)
    rbuf_printf(b, "%s%.1f,%.1f", i > 0 ? " " : "", chart_x(c, xs[i]), chart_y(c, ys[i]));
  rbuf_puts(b, "\"><title>");
  rbuf_escape(b, tooltip);
  rbuf_puts(b, "</title></polyline>\n");
}

/* ===================================================================== bar charts */

#define BAR_LABEL_WIDTH 130.0
#define BAR_LABEL_COLUMNS 18

static void bar_range(const bar_chart *spec, const bar_row *rows, size_t n_rows, double *lo,
                      double *hi, size_t *n_marks, size_t *n_groups) {
  *lo = 0, *hi = 0, *n_marks = 0, *n_groups = 0;
  const char *group = NULL;
  for (size_t i = 0; i < n_rows; i++) {
    for (size_t s = 0; s < spec->n_series; s++) {
      double v = rows[i].values[s];
      if (!isfinite(v)) continue;
      (*n_marks)++;
      if (v < *lo) *lo = v;
      if (v > *hi) *hi = v;
    }
    if (rows[i].group != NULL && (group == NULL || strcmp(group, rows[i].group) != 0)) (*n_groups)++;
    group = rows[i].group;
  }
}

/* Height of one bar row: one bar, or two bars one above the other. */
static double row_height(const bar_chart *spec) { return spec->n_series == 2 ? 34.0 : 22.0; }

static void bar_group_heading(report_buf *b, const char *group, double y) {
  rbuf_printf(b, "<text class=\"group\" x=\"4\" y=\"%.1f\">", y + 15);
  rbuf_escape(b, group);
  rbuf_puts(b, "</text>\n");
}

static void bar_label(report_buf *b, const char *label, double y, double height) {
  char clipped[160];
  report_clip_label(label, BAR_LABEL_COLUMNS, clipped, sizeof clipped);
  rbuf_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">",
              CHART_MARGIN_LEFT + BAR_LABEL_WIDTH - 64, y + height / 2 + 4);
  rbuf_escape(b, clipped);
  rbuf_puts(b, "<title>");
  rbuf_escape(b, label);
  rbuf_puts(b, "</title></text>\n");
}

/* One bar of series s in row `row`, from zero to its value, with the value beside it. */
static void bar_draw(chart *c, const bar_chart *spec, const bar_row *row, size_t s, double y,
                     double thickness) {
  report_buf *b = &c->r->out;
  double v = row->values[s];
  double x0 = chart_x(c, 0), x1 = chart_x(c, v);
  const char *color = spec->color_by_row ? chart_color(row->color) : chart_color((int)s);
  char value[64];
  if (spec->format != NULL) spec->format(v, value, sizeof value);
  else promo_report_format_auto(v, value, sizeof value);
  rbuf_printf(b, "<rect class=\"mark\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>",
              fmin(x0, x1), y, fabs(x1 - x0), thickness, color);
  if (row->tooltip[s] != NULL) {
    rbuf_escape(b, row->tooltip[s]);
  } else {
    rbuf_escape(b, row->label);
    if (spec->series_names[s] != NULL) {
      rbuf_puts(b, ", ");
      rbuf_escape(b, spec->series_names[s]);
    }
    rbuf_printf(b, ": %s", value);
  }
  rbuf_puts(b, "</title></rect>");
  bool right = v >= 0;
  rbuf_printf(b, "<text class=\"value\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s</text>\n",
              right ? fmax(x0, x1) + 3 : fmin(x0, x1) - 3, y + thickness / 2 + 4, right ? "start" : "end",
              value);
}

void chart_bars(report *r, const bar_chart *spec, const bar_row *rows, size_t n_rows) {
  double lo, hi;
  size_t n_marks, n_groups;
  bar_range(spec, rows, n_rows, &lo, &hi, &n_marks, &n_groups);
  if (n_marks == 0) return;
  double row = row_height(spec);
  double height = CHART_MARGIN_TOP + (double)(n_rows + n_groups) * row + CHART_MARGIN_BOTTOM;

  chart c;
  chart_begin(r, &c, spec->name, n_marks, spec->caption, height);
  c.left = CHART_MARGIN_LEFT + BAR_LABEL_WIDTH - 58;
  /* Leave room for the value labels beside the longest bars. */
  c.right = CHART_WIDTH - 56;
  if (lo < 0) c.left += 40;
  report_buf *b = &r->out;

  c.x_lo = lo, c.x_hi = hi, c.y_lo = 0, c.y_hi = 1;
  double step = widen(&c.x_lo, &c.x_hi, 5);
  /* The y range is unused: rows are placed by index. */
  draw_x_ticks(&c, step, spec->percent_axis);
  rbuf_printf(b, "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
              (c.left + c.right) / 2, height - 8);
  rbuf_escape(b, spec->value_title);
  rbuf_puts(b, "</text>\n");
  for (size_t s = 0; s < spec->n_series && spec->series_names[0] != NULL; s++)
    chart_legend(&c, chart_color((int)s), spec->series_names[s], false);

  double y = c.top;
  const char *group = NULL;
  double thickness = (row - 6) / (double)spec->n_series;
  for (size_t i = 0; i < n_rows; i++) {
    if (rows[i].group != NULL && (group == NULL || strcmp(group, rows[i].group) != 0)) {
      bar_group_heading(b, rows[i].group, y);
      y += row;
    }
    group = rows[i].group;
    bar_label(b, rows[i].label, y, row);
    for (size_t s = 0; s < spec->n_series; s++)
      if (isfinite(rows[i].values[s])) bar_draw(&c, spec, &rows[i], s, y + 3 + (double)s * thickness, thickness);
    y += row;
  }
  rbuf_printf(b, "<line class=\"zero\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
              chart_x(&c, 0), c.top, chart_x(&c, 0), y);
  chart_end(&c);
}
