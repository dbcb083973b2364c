/* Internals shared by the HTML report's files: the output buffer with HTML escaping,
 * type-checked access to the run document, and the SVG chart primitives. */
#ifndef PROMO_REPORT_INTERNAL_H
#define PROMO_REPORT_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "promo/core.h"
#include "promo/report.h"

/* A growing output string. After a failed allocation every append is ignored and
 * `failed` stays set, so callers check once at the end. */
typedef struct report_buf {
  char *data;
  size_t len, cap;
  bool failed;
} report_buf;

/* One rendering: the page being written and the first error met. Once status is not
 * PROMO_OK, the accessors return "absent" so rendering runs to its end harmlessly. */
typedef struct report {
  report_buf out;
  promo_error *err;
  promo_status status;
  int n_charts;
  const char *task; /* training.task when given: "binary", "regression", "poisson" */
} report;

/* Maximum length of a key path kept in error messages, such as "plan.baselines.same_option[12].value". */
#define REPORT_PATH_MAX 160

/* ---- buffer.c: output ---- */
void rbuf_puts(report_buf *b, const char *s);
void rbuf_printf(report_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append text with & < > " ' as entities and control characters as U+FFFD; safe in
 * element content and quoted attributes, in HTML and in inline SVG. */
void rbuf_escape_n(report_buf *b, const char *text, size_t len);
void rbuf_escape(report_buf *b, const char *text);
/* Append a number formatted by promo_report_format_auto. */
void rbuf_auto(report_buf *b, double x);

/* Copy text into out, cut on a character boundary so it takes at most max_columns
 * terminal columns (CJK characters take two), with "…" marking a cut. */
void report_clip_label(const char *text, int max_columns, char *out, size_t size);

/* ---- buffer.c: the run document ---- */

/* "parent.key" (or "key" when parent is empty) into out. */
void report_path_key(char *out, const char *parent, const char *key);
/* "parent[index]" into out. */
void report_path_index(char *out, const char *parent, size_t index);

/* Record a wrong-type error for the member at path; the first error wins. */
void report_type_error(report *r, const char *path, const char *expected, const json_t *found);

/* The member `key` of obj when it has the JSON type `type`; NULL when obj is NULL, the
 * key is absent or its value is null. Any other type records an error naming the path. */
const json_t *report_member(report *r, const json_t *obj, const char *parent, const char *key,
                            json_type type);
/* The string member `key`, or NULL as report_member. */
const char *report_string(report *r, const json_t *obj, const char *parent, const char *key);
/* Store the number member `key` in *out and return true; false when absent or null
 * (then *out is NaN). A value of another type records an error. */
bool report_number(report *r, const json_t *obj, const char *parent, const char *key, double *out);
/* The element `index` of a curve: an array of two numbers [x, y]. Returns false for
 * a wrong shape (recording an error) or when either value is null. */
bool report_pair(report *r, const json_t *item, const char *parent, size_t index, double *x,
                 double *y);
/* The member `key` as display text: a string as is, an integer or other number printed
 * plainly (ids such as 1042), into buf. NULL when absent or null; other types record an
 * error. */
const char *report_label(report *r, const json_t *obj, const char *parent, const char *key,
                         char *buf, size_t size);
/* Check that the element `index` of an array is an object; records an error if not. */
bool report_is_object(report *r, const json_t *item, const char *parent, size_t index);

/* ---- svg.c: charts ---- */

/* Drawing area in SVG user units; the figure scales to the page width. */
#define CHART_WIDTH 480.0
#define CHART_MARGIN_LEFT 58.0
#define CHART_MARGIN_RIGHT 14.0
#define CHART_MARGIN_TOP 28.0
#define CHART_MARGIN_BOTTOM 44.0

/* An x-y chart in progress: the data ranges and the plot box in SVG units. */
typedef struct chart {
  report *r;
  double x_lo, x_hi, y_lo, y_hi;
  double left, right, top, bottom;
  double height;
  double legend_x; /* where the next legend entry starts; 0 before the first */
} chart;

/* Open a <figure data-chart=name data-points=n_marks> with a caption and an <svg> of the
 * given height; the script in the page later counts the drawn marks against n_marks. */
void chart_begin(report *r, chart *c, const char *name, size_t n_marks, const char *caption,
                 double height);
/* Close the svg and the figure. */
void chart_end(chart *c);
/* Set the data ranges, rounded outwards to tick steps, and draw both axes with ticks, grid
 * lines and titles. Percent axes label their ticks as percentages of ratios. */
void chart_axes(chart *c, double x_lo, double x_hi, double y_lo, double y_hi, const char *x_title,
                const char *y_title, bool x_percent, bool y_percent);
double chart_x(const chart *c, double x);
double chart_y(const chart *c, double y);
/* Add a legend entry along the top edge. dashed draws the swatch as a dashed line. */
void chart_legend(chart *c, const char *color, const char *label, bool dashed);
/* Draw a reference line (diagonal, base rate) from (x0,y0) to (x1,y1), not counted. */
void chart_reference(chart *c, double x0, double y0, double x1, double y1, const char *tooltip);
/* Draw n points as one polyline that counts as n marks. */
void chart_polyline(chart *c, const double *xs, const double *ys, size_t n, const char *color,
                    const char *tooltip);

/* One row of a horizontal bar chart; group rows with the same `group` under a heading. */
typedef struct bar_row {
  const char *label;
  const char *group;     /* NULL for none */
  double values[2];      /* NaN draws no bar */
  const char *tooltip[2];/* NULL for the label and value */
  int color;             /* palette index used when the chart colors by row */
} bar_row;

typedef struct bar_chart {
  const char *name;
  const char *caption;
  const char *value_title;     /* the axis title */
  size_t n_series;             /* 1 or 2 values per row */
  const char *series_names[2]; /* legend; NULL for no legend */
  bool color_by_row;           /* use row.color, for one series */
  bool percent_axis;           /* label axis ticks as percentages of ratios */
  void (*format)(double x, char *buf, size_t size); /* value labels; NULL: auto */
} bar_chart;

/* Draw a horizontal bar chart; bars start at zero, so negative values extend left. */
void chart_bars(report *r, const bar_chart *spec, const bar_row *rows, size_t n_rows);

/* The i-th color of the palette (cycling). */
const char *chart_color(int i);

/* ---- sections ---- */
void report_section_stages(report *r, const json_t *doc);
void report_section_quality(report *r, const json_t *doc);
void report_section_training(report *r, const json_t *doc);
void report_section_evaluation(report *r, const json_t *doc);
void report_section_response(report *r, const json_t *doc);
void report_section_plan(report *r, const json_t *doc);

/* Shared section pieces (html.c). */
void report_section_open(report *r, const char *id, const char *title);
void report_section_close(report *r);
void report_not_run(report *r, const char *what);
/* Open a table whose header cells are the given labels; numeric columns align right
 * when their label index bit is set in numeric_mask. */
void report_table_open(report *r, const char *const *headers, size_t n, unsigned numeric_mask);
void report_table_close(report *r);
/* Append one cell: text (escaped) or a number, NaN as an em dash. */
void report_cell_text(report *r, const char *text);
void report_cell_number(report *r, double x, int decimals);
void report_cell_auto(report *r, double x);

/* The reader's label for an identifier the run writes (a stage, objective, solver or
 * limit name); other text comes back unchanged. */
const char *report_term(const char *key);

#endif
