/* The HTML report page: head with inline CSS, the key figures, one section per stage,
 * the check script, and the atomic write. Serves the report stage of `promo run` and
 * `promo report`. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "report/internal.h"

/* Styles for screen, phone and print. Charts scale with the page width; wide tables
 * scroll sideways inside their box instead of widening the page. */
static const char page_css[] =
    "*{box-sizing:border-box}\n"
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",\"PingFang SC\",\"Microsoft YaHei\","
    "\"Noto Sans CJK SC\",sans-serif;color:#222;line-height:1.5;margin:0 auto;max-width:960px;"
    "padding:0 16px 32px}\n"
    "h1{font-size:1.6rem;margin:.8em 0 .2em}\n"
    "h2{font-size:1.25rem;border-bottom:1px solid #ccc;margin-top:1.6em;padding-bottom:.2em}\n"
    "h3{font-size:1.05rem;margin:1.2em 0 .4em}\n"
    ".meta{color:#555;margin:0}\n"
    "nav{margin:.8em 0;font-size:.95rem}\n"
    "nav a{margin-right:1em;color:#0060a0;text-decoration:none;white-space:nowrap}\n"
    ".figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:8px;"
    "margin:1em 0}\n"
    ".figure{border:1px solid #ddd;border-radius:6px;padding:8px 10px}\n"
    ".figure span{display:block;color:#555;font-size:.85rem}\n"
    ".figure b{display:block;font-size:1.3rem;font-variant-numeric:tabular-nums}\n"
    ".table-box{overflow-x:auto;margin:.5em 0}\n"
    "table{border-collapse:collapse;font-size:.9rem}\n"
    "th,td{padding:.25em .7em;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top}\n"
    "th{background:#f4f4f4}\n"
    ".num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    ".not-run{color:#666;font-style:italic}\n"
    ".note{color:#555;font-size:.9rem}\n"
    ".status-failed{color:#b00020;font-weight:600}\n"
    "figure.chart{margin:1em 0;max-width:720px}\n"
    "figcaption{font-weight:600;margin-bottom:.3em}\n"
    "svg{display:block;width:100%;height:auto}\n"
    "svg text{font-size:11px;fill:#333}\n"
    "svg .axis{font-size:12px}\n"
    "svg .group{font-weight:600}\n"
    "svg .grid{stroke:#e8e8e8}\n"
    "svg .frame{fill:none;stroke:#999}\n"
    "svg .zero{stroke:#666}\n"
    "svg .ref{stroke:#777;stroke-width:1.5;stroke-dasharray:5 4}\n"
    "svg .line{fill:none;stroke-width:2}\n"
    "svg .dot{fill-opacity:.55}\n"
    "footer{margin-top:2em;color:#777;font-size:.85rem}\n"
    "@media (max-width:600px){body{padding:0 8px 24px}table{font-size:.8rem}"
    "h1{font-size:1.3rem}svg text,svg .axis{font-size:13px}}\n"
    "@media print{nav{display:none}body{max-width:none;padding:0}"
    "section,figure,table{break-inside:avoid}a{color:inherit}}\n";

/* Runs on load: every [data-chart] must contain as many drawn marks as its data-points
 * attribute gives, and more than zero. A polyline counts one mark per point. The result goes to
 * <body data-check>: "ok N" for N charts, or "missing: name,..." naming the others. */
static const char page_script[] =
    "(function(){\n"
    "var bad=[],good=0;\n"
    "document.querySelectorAll('[data-chart]').forEach(function(c){\n"
    "var want=parseInt(c.getAttribute('data-points'),10),got=0;\n"
    "c.querySelectorAll('.mark').forEach(function(m){\n"
    "got+=m.points?m.points.numberOfItems:1;});\n"
    "if(want>0&&got===want)good++;else bad.push(c.getAttribute('data-chart'));});\n"
    "document.body.setAttribute('data-check',bad.length?'missing: '+bad.join(','):'ok '+good);\n"
    "})();\n";

/* ===================================================================== shared pieces */

void report_section_open(report *r, const char *id, const char *title) {
  rbuf_printf(&r->out, "<section id=\"%s\">\n<h2>", id);
  rbuf_escape(&r->out, title);
  rbuf_puts(&r->out, "</h2>\n");
}

void report_section_close(report *r) { rbuf_puts(&r->out, "</section>\n"); }

void report_not_run(report *r, const char *what) {
  rbuf_puts(&r->out, "<p class=\"not-run\">");
  rbuf_escape(&r->out, what);
  rbuf_puts(&r->out, "</p>\n");
}

void report_table_open(report *r, const char *const *headers, size_t n, unsigned numeric_mask) {
  rbuf_puts(&r->out, "<div class=\"table-box\"><table>\n<thead><tr>");
  for (size_t i = 0; i < n; i++) {
    rbuf_puts(&r->out, (numeric_mask >> i) & 1u ? "<th class=\"num\">" : "<th>");
    rbuf_escape(&r->out, headers[i]);
    rbuf_puts(&r->out, "</th>");
  }
  rbuf_puts(&r->out, "</tr></thead>\n<tbody>\n");
}

void report_table_close(report *r) { rbuf_puts(&r->out, "</tbody></table></div>\n"); }

void report_cell_text(report *r, const char *text) {
  rbuf_puts(&r->out, "<td>");
  rbuf_escape(&r->out, text);
  rbuf_puts(&r->out, "</td>");
}

void report_cell_number(report *r, double x, int decimals) {
  char buf[64];
  promo_report_format_number(x, decimals, buf, sizeof buf);
  rbuf_printf(&r->out, "<td class=\"num\">%s</td>", buf);
}

void report_cell_auto(report *r, double x) {
  char buf[64];
  promo_report_format_auto(x, buf, sizeof buf);
  rbuf_printf(&r->out, "<td class=\"num\">%s</td>", buf);
}

/* ===================================================================== page */

/* "zh-CN" when the catalog in effect translated the report's heading, else "en": the
 * page's lang attribute then matches the language its text is written in. */
static const char *page_language(void) {
  return strcmp(_("Promotion report"), "Promotion report") != 0 ? "zh-CN" : "en";
}

static void page_head(report *r, const char *title) {
  report_buf *b = &r->out;
  rbuf_printf(b, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n", page_language());
  rbuf_puts(b, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
  /* The page loads nothing: no fetches, images, fonts or frames, only its own inline
   * style and script. */
  rbuf_puts(b, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
               "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n<title>");
  rbuf_escape(b, title);
  rbuf_puts(b, "</title>\n<style>\n");
  rbuf_puts(b, page_css);
  rbuf_puts(b, "</style>\n</head>\n<body>\n");
}

static void page_header(report *r, const json_t *doc, const char *title) {
  report_buf *b = &r->out;
  rbuf_puts(b, "<header>\n<h1>");
  rbuf_escape(b, title);
  rbuf_puts(b, "</h1>\n");
  const char *project = report_string(r, doc, "", "project");
  const char *generated = report_string(r, doc, "", "generated");
  if (project != NULL) {
    rbuf_puts(b, "<p class=\"meta\">");
    rbuf_escape(b, _("Project:"));
    rbuf_puts(b, " ");
    rbuf_escape(b, project);
    rbuf_puts(b, "</p>\n");
  }
  if (generated != NULL) {
    rbuf_puts(b, "<p class=\"meta\">");
    rbuf_escape(b, _("Generated:"));
    rbuf_puts(b, " ");
    rbuf_escape(b, generated);
    rbuf_puts(b, "</p>\n");
  }
  rbuf_puts(b, "</header>\n<nav>");
  static const char *const ids[] = {"figures", "stages", "quality", "training", "evaluation", "response", "plan"};
  const char *names[] = {_("Key figures"), _("Run stages"), _("Data quality"), _("Training"),
                         _("Evaluation"), _("Response to promotions"), _("Promotion plan")};
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
    rbuf_printf(b, "<a href=\"#%s\">", ids[i]);
    rbuf_escape(b, names[i]);
    rbuf_puts(b, "</a>");
  }
  rbuf_puts(b, "</nav>\n<main>\n");
}

/* ---- key figures ---- */

static void figure_box(report *r, const char *label, const char *value) {
  rbuf_puts(&r->out, "<div class=\"figure\"><span>");
  rbuf_escape(&r->out, label);
  rbuf_puts(&r->out, "</span><b>");
  rbuf_escape(&r->out, value);
  rbuf_puts(&r->out, "</b></div>\n");
}

/* Rows that cleaning removed (rejected or duplicate) over all sources, with their share
 * of the rows read. Kept rows are not summed: sources are different tables. */
static void figures_quality(report *r, const json_t *doc) {
  const json_t *quality = report_member(r, doc, "", "quality", JSON_ARRAY);
  double rows_in = 0, removed = 0, v;
  size_t i;
  const json_t *item;
  char path[REPORT_PATH_MAX], count[64], share[64], text[160];
  json_array_foreach(quality, i, item) {
    report_path_index(path, "quality", i);
    if (!report_is_object(r, item, "quality", i)) return;
    if (report_number(r, item, path, "rows_in", &v)) rows_in += v;
    if (report_number(r, item, path, "rejected", &v)) removed += v;
    if (report_number(r, item, path, "duplicates", &v)) removed += v;
  }
  if (rows_in <= 0) return;
  promo_report_format_number(removed, 0, count, sizeof count);
  promo_report_format_percent(removed / rows_in, 2, share, sizeof share);
  snprintf(text, sizeof text, "%s (%s)", count, share);
  figure_box(r, _("Rows removed in cleaning"), text);
}

static void figures_test_metric(report *r, const json_t *doc) {
  const json_t *eval = report_member(r, doc, "", "evaluation", JSON_OBJECT);
  const json_t *test = report_member(r, eval, "evaluation", "test", JSON_OBJECT);
  static const char *const keys[] = {"auc", "rmse", "poisson_deviance", "mae"};
  const char *labels[] = {_("Test AUC"), _("Test RMSE"), _("Test Poisson deviance"), _("Test MAE")};
  char buf[64];
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
    const json_t *v = test != NULL ? json_object_get(test, keys[k]) : NULL;
    if (v == NULL || !json_is_number(v)) continue;
    if (k == 0) promo_report_format_number(json_number_value(v), 3, buf, sizeof buf);
    else promo_report_format_auto(json_number_value(v), buf, sizeof buf);
    figure_box(r, labels[k], buf);
    return;
  }
}

/* A key figure with a sign: "+1,234" for gains. */
static void signed_figure(report *r, const char *label, double x) {
  char buf[64], signed_buf[72];
  promo_report_format_auto(x, buf, sizeof buf);
  if (x > 0) {
    snprintf(signed_buf, sizeof signed_buf, "+%s", buf);
    figure_box(r, label, signed_buf);
  } else {
    figure_box(r, label, buf);
  }
}

static void figures_plan(report *r, const json_t *doc) {
  const json_t *plan = report_member(r, doc, "", "plan", JSON_OBJECT);
  double value, base;
  char buf[64];
  if (!report_number(r, plan, "plan", "value", &value)) return;
  promo_report_format_auto(value, buf, sizeof buf);
  figure_box(r, _("Plan value"), buf);
  const json_t *baselines = report_member(r, plan, "plan", "baselines", JSON_OBJECT);
  const json_t *none = report_member(r, baselines, "plan.baselines", "none", JSON_OBJECT);
  if (!report_number(r, none, "plan.baselines.none", "value", &base)) return;
  /* Under an incremental objective the plan's value is already its gain over no
   * promotion, so that box would repeat the first one. */
  if (base != 0) signed_figure(r, _("Gain over no promotion"), value - base);

  /* What targeting adds: the gain over the best single promotion sent to random units
   * at the same spend. */
  const json_t *random = json_object_get(baselines, "same_option_random");
  double best = NAN;
  size_t i;
  const json_t *item;
  json_array_foreach(random, i, item) {
    const json_t *v = json_object_get(item, "value");
    if (json_is_number(v) && !(json_number_value(v) <= best)) best = json_number_value(v);
  }
  if (isfinite(best)) signed_figure(r, _("Gain over one promotion for random units"), value - best);
}

static void section_figures(report *r, const json_t *doc) {
  report_section_open(r, "figures", _("Key figures"));
  size_t before = r->out.len;
  rbuf_puts(&r->out, "<div class=\"figures\">\n");
  size_t opened = r->out.len;
  figures_quality(r, doc);
  figures_test_metric(r, doc);
  figures_plan(r, doc);
  if (r->out.len == opened && !r->out.failed) {
    /* Nothing to show: drop the empty box again. */
    r->out.len = before;
    r->out.data[before] = '\0';
    report_not_run(r, _("No stage results are in this document yet."));
  } else {
    rbuf_puts(&r->out, "</div>\n");
  }
  report_section_close(r);
}

static void page_footer(report *r) {
  report_buf *b = &r->out;
  rbuf_puts(b, "</main>\n<footer>");
  rbuf_escape(b, _("Made by promo. This page is self-contained: it loads nothing from the network."));
  rbuf_puts(b, "</footer>\n<script>\n");
  rbuf_puts(b, page_script);
  rbuf_puts(b, "</script>\n</body>\n</html>\n");
}

/* ===================================================================== public */

promo_status promo_report_render_html(const json_t *doc, char **html, size_t *len, promo_error *err) {
  *html = NULL;
  if (len != NULL) *len = 0;
  promo_error local;
  if (err == NULL) err = &local;
  promo_error_clear(err);
  if (doc == NULL) return promo_error_set(err, PROMO_ERR_INTERNAL, "%s", _("no report document given"));
  if (!json_is_object(doc)) {
    report probe = {.err = err, .status = PROMO_OK};
    report_type_error(&probe, "", _("an object"), doc);
    return probe.status;
  }

  report r = {.err = err, .status = PROMO_OK};
  const char *title = report_string(&r, doc, "", "title");
  if (title == NULL) title = _("Promotion report");
  const json_t *training = report_member(&r, doc, "", "training", JSON_OBJECT);
  r.task = report_string(&r, training, "training", "task");

  page_head(&r, title);
  page_header(&r, doc, title);
  section_figures(&r, doc);
  report_section_stages(&r, doc);
  report_section_quality(&r, doc);
  report_section_training(&r, doc);
  report_section_evaluation(&r, doc);
  report_section_response(&r, doc);
  report_section_plan(&r, doc);
  page_footer(&r);

  if (r.status == PROMO_OK && r.out.failed) r.status = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  if (r.status != PROMO_OK) {
    free(r.out.data);
    return r.status;
  }
  *html = r.out.data;
  if (len != NULL) *len = r.out.len;
  return PROMO_OK;
}

promo_status promo_report_write_html(const json_t *doc, const char *path, promo_error *err) {
  char *html = NULL;
  size_t len = 0;
  promo_status st = promo_report_render_html(doc, &html, &len, err);
  if (st != PROMO_OK) return st;

  promo_atomic_file *file = NULL;
  FILE *fp = NULL;
  st = promo_atomic_open(path, &file, &fp, err);
  if (st == PROMO_OK && fwrite(html, 1, len, fp) != len) {
    int errnum = errno != 0 ? errno : EIO;
    promo_atomic_abort(file);
    st = promo_error_errno(err, errnum, path, _("writing the HTML report"));
  } else if (st == PROMO_OK) {
    st = promo_atomic_commit(file, err);
  }
  free(html);
  return st;
}
