/* Report sections for the prediction and planning stages: predicted response by
 * promotion kind and depth, and the chosen plan against its baselines. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "report/internal.h"

/* Maximum groups drawn with a bar each in "spend by group"; the rest share one bar. */
#define MAX_GROUP_BARS 30
/* Maximum rows of the top-units table. */
#define MAX_TOP_UNITS 100

static bool is_binary(const report *r) { return r->task != NULL && strcmp(r->task, "binary") == 0; }

static void format_probability(double x, char *buf, size_t size) {
  promo_report_format_percent(x, 1, buf, size);
}

static void heading3(report *r, const char *text) {
  rbuf_puts(&r->out, "<h3>");
  rbuf_escape(&r->out, text);
  rbuf_puts(&r->out, "</h3>\n");
}

/* ===================================================================== response */

static const char *kind_label(const char *kind) {
  static const char *const keys[] = {"none", "percent_off", "amount_off", "threshold_off",
                                     "repeated_off", "multi_buy", "gift", "free_shipping",
                                     "flash_sale", "combined", "price", "other"};
  const char *labels[] = {_("No promotion"), _("Percent off"), _("Amount off"), _("Spend and save"),
                          _("Save on every step of spend"), _("Multi-buy"), _("Gift"),
                          _("Free shipping"), _("Flash sale"), _("Combined offers"),
                          _("Lower price"), _("Other change")};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (strcmp(kind, keys[i]) == 0) return labels[i];
  return kind;
}

typedef struct response_row {
  const char *option, *kind;
  double depth, mean, n;
  size_t kind_rank, index;
  char option_buf[32];
} response_row;

/* Kinds in order of first appearance, with "none" first; rows by depth within a kind. */
static int by_kind_then_depth(const void *a, const void *b) {
  const response_row *x = a, *y = b;
  if (x->kind_rank != y->kind_rank) return x->kind_rank < y->kind_rank ? -1 : 1;
  bool x_has = isfinite(x->depth), y_has = isfinite(y->depth);
  if (x_has != y_has) return x_has ? -1 : 1;
  if (x_has && x->depth != y->depth) return x->depth < y->depth ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

static void rank_kinds(response_row *rows, size_t n) {
  for (size_t i = 0; i < n; i++) {
    size_t first = i;
    for (size_t j = 0; j < i; j++)
      if (strcmp(rows[j].kind, rows[i].kind) == 0) {
        first = j;
        break;
      }
    rows[i].kind_rank = strcmp(rows[i].kind, "none") == 0 ? 0 : first + 1;
  }
}

static size_t read_response(report *r, const json_t *items, response_row *rows) {
  size_t i, n = 0;
  const json_t *item;
  char path[REPORT_PATH_MAX];
  json_array_foreach(items, i, item) {
    if (!report_is_object(r, item, "response.rows", i)) return 0;
    report_path_index(path, "response.rows", i);
    response_row *row = &rows[n];
    row->option = report_label(r, item, path, "option", row->option_buf, sizeof row->option_buf);
    row->kind = report_string(r, item, path, "kind");
    report_number(r, item, path, "depth", &row->depth);
    report_number(r, item, path, "mean_prediction", &row->mean);
    report_number(r, item, path, "n", &row->n);
    if (row->option == NULL) row->option = "?";
    if (row->kind == NULL) row->kind = "";
    row->index = i;
    n++;
  }
  return r->status == PROMO_OK ? n : 0;
}

static void response_table(report *r, const response_row *rows, size_t n) {
  const char *headers[] = {_("Promotion"), _("Kind"), _("Depth"), _("Mean prediction"), _("Rows")};
  report_table_open(r, headers, 5, 0x1Cu);
  char buf[64];
  for (size_t i = 0; i < n; i++) {
    rbuf_puts(&r->out, "<tr>");
    report_cell_text(r, rows[i].option);
    report_cell_text(r, rows[i].kind[0] != '\0' ? kind_label(rows[i].kind) : "");
    promo_report_format_percent(rows[i].depth, 1, buf, sizeof buf);
    rbuf_printf(&r->out, "<td class=\"num\">%s</td>", buf);
    if (is_binary(r)) format_probability(rows[i].mean, buf, sizeof buf);
    else promo_report_format_auto(rows[i].mean, buf, sizeof buf);
    rbuf_printf(&r->out, "<td class=\"num\">%s</td>", buf);
    report_cell_number(r, rows[i].n, 0);
    rbuf_puts(&r->out, "</tr>\n");
  }
  report_table_close(r);
}

static void response_chart(report *r, const response_row *rows, size_t n) {
  bar_row *bars = calloc(n, sizeof *bars);
  char(*tips)[256] = calloc(n, sizeof *tips);
  if (bars == NULL || tips == NULL) {
    r->out.failed = true;
    free(bars);
    free(tips);
    return;
  }
  size_t n_marks = 0;
  for (size_t i = 0; i < n; i++) {
    char mean[64], depth[64], count[64];
    if (is_binary(r)) format_probability(rows[i].mean, mean, sizeof mean);
    else promo_report_format_auto(rows[i].mean, mean, sizeof mean);
    promo_report_format_percent(rows[i].depth, 1, depth, sizeof depth);
    promo_report_format_number(rows[i].n, 0, count, sizeof count);
    snprintf(tips[i], sizeof tips[i], _("%s (depth %s): mean prediction %s over %s rows"), rows[i].option,
             depth, mean, count);
    bars[i].label = rows[i].option;
    bars[i].group = rows[i].kind[0] != '\0' ? kind_label(rows[i].kind) : NULL;
    bars[i].values[0] = rows[i].mean;
    bars[i].values[1] = NAN;
    bars[i].tooltip[0] = tips[i];
    bars[i].color = (int)rows[i].kind_rank;
    n_marks += isfinite(rows[i].mean);
  }
  bar_chart spec = {.name = "response",
                    .caption = _("Predicted response by promotion kind and depth"),
                    .value_title = is_binary(r) ? _("Predicted probability") : _("Mean prediction"),
                    .n_series = 1,
                    .color_by_row = true,
                    .percent_axis = is_binary(r),
                    .format = is_binary(r) ? format_probability : NULL};
  if (n_marks > 0) chart_bars(r, &spec, bars, n);
  free(bars);
  free(tips);
}

void report_section_response(report *r, const json_t *doc) {
  const json_t *response = report_member(r, doc, "", "response", JSON_OBJECT);
  const json_t *items = report_member(r, response, "response", "rows", JSON_ARRAY);
  report_section_open(r, "response", _("Response to promotions"));
  size_t n = items != NULL ? json_array_size(items) : 0;
  if (n == 0) {
    report_not_run(r, _("Not run: there are no predictions for candidate promotions in this document."));
    report_section_close(r);
    return;
  }
  response_row *rows = calloc(n, sizeof *rows);
  if (rows == NULL) {
    r->out.failed = true;
    return;
  }
  n = read_response(r, items, rows);
  rank_kinds(rows, n);
  qsort(rows, n, sizeof *rows, by_kind_then_depth);
  /* qsort moved the rows, so labels held in option_buf must be pointed at again. */
  for (size_t i = 0; i < n; i++)
    if (rows[i].option_buf[0] != '\0') rows[i].option = rows[i].option_buf;
  response_chart(r, rows, n);
  response_table(r, rows, n);
  free(rows);
  report_section_close(r);
}

/* ===================================================================== plan */

/* Labels of plan.spend members. "budget" is the spend counted against the budget and
 * "limit" the budget itself, as `promo optimize` writes them in plan.json. */
static const char *spend_label(const char *key) {
  if (strcmp(key, "budget") == 0 || strcmp(key, "total") == 0 || strcmp(key, "used") == 0) return _("Spend");
  if (strcmp(key, "limit") == 0) return _("Budget");
  if (strcmp(key, "remaining") == 0) return _("Budget left");
  return key;
}

static void summary_row(report *r, const char *label, const char *value) {
  rbuf_puts(&r->out, "<tr><th>");
  rbuf_escape(&r->out, label);
  rbuf_puts(&r->out, "</th><td class=\"num\">");
  rbuf_escape(&r->out, value);
  rbuf_puts(&r->out, "</td></tr>\n");
}

typedef enum summary_format { SUMMARY_AUTO, SUMMARY_COUNT, SUMMARY_PERCENT } summary_format;

static void summary_number(report *r, const json_t *plan, const char *key, const char *label,
                           summary_format format) {
  double x;
  if (!report_number(r, plan, "plan", key, &x)) return;
  char buf[64];
  if (format == SUMMARY_PERCENT) promo_report_format_percent(x, 2, buf, sizeof buf);
  else if (format == SUMMARY_COUNT) promo_report_format_number(x, 0, buf, sizeof buf);
  else promo_report_format_auto(x, buf, sizeof buf);
  summary_row(r, label, buf);
}

/* One row per constraint of plan.spend.constraints[]: "used of limit". */
static void constraint_rows(report *r, const json_t *constraints) {
  size_t i;
  const json_t *item;
  char path[REPORT_PATH_MAX], name_buf[32], used[64], limit[64], text[160];
  json_array_foreach(constraints, i, item) {
    if (!report_is_object(r, item, "plan.spend.constraints", i)) return;
    report_path_index(path, "plan.spend.constraints", i);
    const char *name = report_label(r, item, path, "name", name_buf, sizeof name_buf);
    double x, y;
    report_number(r, item, path, "used", &x);
    report_number(r, item, path, "limit", &y);
    promo_report_format_auto(x, used, sizeof used);
    promo_report_format_auto(y, limit, sizeof limit);
    snprintf(text, sizeof text, _("%s of %s"), used, limit);
    summary_row(r, name != NULL ? report_term(name) : "?", text);
  }
}

/* Rows for the numbers in plan.spend, then its constraints. Members of other types are
 * skipped, so a newer plan.json with extra fields still renders. */
static void spend_rows(report *r, const json_t *plan) {
  const json_t *spend = report_member(r, plan, "plan", "spend", JSON_OBJECT);
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)spend, key, v) {
    if (!json_is_number(v)) continue;
    char buf[64];
    promo_report_format_auto(json_number_value(v), buf, sizeof buf);
    summary_row(r, spend_label(key), buf);
  }
  constraint_rows(r, report_member(r, spend, "plan.spend", "constraints", JSON_ARRAY));
}

static void plan_summary(report *r, const json_t *plan) {
  rbuf_puts(&r->out, "<div class=\"table-box\"><table>\n<tbody>\n");
  const char *objective = report_string(r, plan, "plan", "objective");
  const char *solver = report_string(r, plan, "plan", "solver");
  if (objective != NULL) summary_row(r, _("Objective"), report_term(objective));
  if (solver != NULL) summary_row(r, _("Solver"), report_term(solver));
  summary_number(r, plan, "value", _("Plan value"), SUMMARY_AUTO);
  summary_number(r, plan, "bound", _("Upper bound on the value"), SUMMARY_AUTO);
  summary_number(r, plan, "gap", _("Gap to the bound"), SUMMARY_PERCENT);
  summary_number(r, plan, "n_units", _("Decision units"), SUMMARY_COUNT);
  summary_number(r, plan, "n_promoted", _("Units promoted"), SUMMARY_COUNT);
  spend_rows(r, plan);
  rbuf_puts(&r->out, "</tbody></table></div>\n");
}

/* The plan's own spend: spend.total, spend.used or spend.budget, the first that is a
 * number, else the sum over by_option. */
static double plan_spend(report *r, const json_t *plan) {
  const json_t *spend = report_member(r, plan, "plan", "spend", JSON_OBJECT);
  static const char *const keys[] = {"total", "used", "budget"};
  for (size_t k = 0; spend != NULL && k < sizeof keys / sizeof keys[0]; k++) {
    const json_t *v = json_object_get(spend, keys[k]);
    if (json_is_number(v)) return json_number_value(v);
  }
  const json_t *by_option = report_member(r, plan, "plan", "by_option", JSON_ARRAY);
  double sum = 0;
  size_t i, n = 0;
  const json_t *item;
  json_array_foreach(by_option, i, item) {
    if (json_is_object(item) && json_is_number(json_object_get(item, "spend"))) {
      sum += json_number_value(json_object_get(item, "spend"));
      n++;
    }
  }
  return n > 0 ? sum : NAN;
}

/* One baseline row: value and spend, with the units in the tooltips when given. */
static void baseline_row(report *r, const json_t *item, const char *path, const char *label,
                         bar_row *row, char (*tips)[192]) {
  double units;
  report_number(r, item, path, "value", &row->values[0]);
  report_number(r, item, path, "spend", &row->values[1]);
  report_number(r, item, path, "units", &units);
  row->label = label;
  const char *series[2] = {_("Value"), _("Spend")};
  for (int s = 0; s < 2; s++) {
    char value[64], count[64];
    promo_report_format_auto(row->values[s], value, sizeof value);
    promo_report_format_auto(units, count, sizeof count);
    if (isfinite(units))
      snprintf(tips[s], sizeof tips[s], _("%s, %s: %s (units: %s)"), label, series[s], value, count);
    else
      snprintf(tips[s], sizeof tips[s], "%s, %s: %s", label, series[s], value);
    row->tooltip[s] = tips[s];
  }
}

static void baselines_chart(report *r, const json_t *plan) {
  const json_t *baselines = report_member(r, plan, "plan", "baselines", JSON_OBJECT);
  const json_t *none = report_member(r, baselines, "plan.baselines", "none", JSON_OBJECT);
  const json_t *same = report_member(r, baselines, "plan.baselines", "same_option", JSON_ARRAY);
  const json_t *random = json_object_get(baselines, "same_option_random");
  size_t n_same = same != NULL ? json_array_size(same) : 0, n = 0;
  size_t n_random = json_is_array(random) ? json_array_size(random) : 0;
  bar_row *rows = calloc(n_same + n_random + 2, sizeof *rows);
  char(*tips)[2][192] = calloc(n_same + n_random + 2, sizeof *tips);
  char(*labels)[192] = calloc(n_same + n_random + 2, sizeof *labels);
  if (rows == NULL || tips == NULL || labels == NULL) {
    r->out.failed = true;
    goto done;
  }

  double plan_value;
  report_number(r, plan, "plan", "value", &plan_value);
  rows[n].values[0] = plan_value;
  rows[n].values[1] = plan_spend(r, plan);
  rows[n].label = _("This plan");
  rows[n].tooltip[0] = rows[n].tooltip[1] = NULL;
  n++;
  if (none != NULL) baseline_row(r, none, "plan.baselines.none", _("No promotion"), &rows[n], tips[n]), n++;
  char path[REPORT_PATH_MAX], option_buf[32];
  for (size_t i = 0; i < n_same; i++) {
    const json_t *item = json_array_get(same, i);
    if (!report_is_object(r, item, "plan.baselines.same_option", i)) break;
    report_path_index(path, "plan.baselines.same_option", i);
    const char *option = report_label(r, item, path, "option", option_buf, sizeof option_buf);
    snprintf(labels[n], sizeof labels[n], _("%s, best units"), option != NULL ? option : "?");
    baseline_row(r, item, path, labels[n], &rows[n], tips[n]);
    n++;
  }
  /* The same option for units drawn at random: what the budget buys without a model. */
  for (size_t i = 0; i < n_random; i++) {
    const json_t *item = json_array_get(random, i);
    if (!report_is_object(r, item, "plan.baselines.same_option_random", i)) break;
    report_path_index(path, "plan.baselines.same_option_random", i);
    const char *option = report_label(r, item, path, "option", option_buf, sizeof option_buf);
    snprintf(labels[n], sizeof labels[n], _("%s, random units"), option != NULL ? option : "?");
    baseline_row(r, item, path, labels[n], &rows[n], tips[n]);
    n++;
  }

  bar_chart spec = {.name = "plan",
                    .caption = _("The plan against no promotion and one promotion for all, at the same "
                                 "budget: given to the best units, or to units drawn at random"),
                    .value_title = _("Value and spend"),
                    .n_series = 2,
                    .series_names = {_("Value"), _("Spend")}};
  bool any = false;
  for (size_t i = 0; i < n; i++) any = any || isfinite(rows[i].values[0]) || isfinite(rows[i].values[1]);
  if (r->status == PROMO_OK && any && n > 1) chart_bars(r, &spec, rows, n);
  else if (r->status == PROMO_OK) report_not_run(r, _("No baseline was computed for comparison."));
done:
  free(rows);
  free(tips);
  free(labels);
}

static void by_option_table(report *r, const json_t *plan) {
  const json_t *items = report_member(r, plan, "plan", "by_option", JSON_ARRAY);
  if (items == NULL || json_array_size(items) == 0) return;
  heading3(r, _("Units by promotion"));
  const char *headers[] = {_("Promotion"), _("Units"), _("Value"), _("Spend")};
  report_table_open(r, headers, 4, 0xEu);
  size_t i;
  const json_t *item;
  char path[REPORT_PATH_MAX], buf[32];
  json_array_foreach(items, i, item) {
    if (!report_is_object(r, item, "plan.by_option", i)) break;
    report_path_index(path, "plan.by_option", i);
    const char *option = report_label(r, item, path, "option", buf, sizeof buf);
    double units, value, spend;
    report_number(r, item, path, "n_units", &units);
    report_number(r, item, path, "value", &value);
    report_number(r, item, path, "spend", &spend);
    rbuf_puts(&r->out, "<tr>");
    report_cell_text(r, option != NULL ? option : "?");
    report_cell_number(r, units, 0);
    report_cell_auto(r, value);
    report_cell_auto(r, spend);
    rbuf_puts(&r->out, "</tr>\n");
  }
  report_table_close(r);
}

typedef struct group_spend {
  const char *group;
  double spend, value;
  size_t index;
  char group_buf[32];
} group_spend;

static int by_spend_desc(const void *a, const void *b) {
  const group_spend *x = a, *y = b;
  bool x_has = isfinite(x->spend), y_has = isfinite(y->spend);
  if (x_has != y_has) return x_has ? -1 : 1;
  if (x_has && x->spend != y->spend) return x->spend > y->spend ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* Bars for the groups with the most spend; the rest are summed into one "other" bar. */
static size_t group_bars(report *r, group_spend *groups, size_t n, bar_row *bars, char (*tips)[192],
                         char *other_label, size_t other_size) {
  size_t n_bars = n > MAX_GROUP_BARS ? MAX_GROUP_BARS : n;
  char spend[64], value[64];
  for (size_t i = 0; i < n_bars; i++) {
    if (groups[i].group_buf[0] != '\0') groups[i].group = groups[i].group_buf;
    promo_report_format_auto(groups[i].spend, spend, sizeof spend);
    promo_report_format_auto(groups[i].value, value, sizeof value);
    snprintf(tips[i], sizeof tips[i], _("%s: spend %s, value %s"), groups[i].group, spend, value);
    bars[i] = (bar_row){.label = groups[i].group, .values = {groups[i].spend, NAN}, .tooltip = {tips[i], NULL}};
  }
  if (n > MAX_GROUP_BARS) {
    double other_spend = 0, other_value = 0;
    for (size_t i = MAX_GROUP_BARS; i < n; i++) {
      if (isfinite(groups[i].spend)) other_spend += groups[i].spend;
      if (isfinite(groups[i].value)) other_value += groups[i].value;
    }
    snprintf(other_label, other_size, _("%zu other groups"), n - MAX_GROUP_BARS);
    promo_report_format_auto(other_spend, spend, sizeof spend);
    promo_report_format_auto(other_value, value, sizeof value);
    snprintf(tips[n_bars], sizeof tips[n_bars], _("%s: spend %s, value %s"), other_label, spend, value);
    bars[n_bars] = (bar_row){.label = other_label, .values = {other_spend, NAN}, .tooltip = {tips[n_bars], NULL}};
    n_bars++;
  }
  (void)r;
  return n_bars;
}

static void by_group_chart(report *r, const json_t *plan) {
  const json_t *items = report_member(r, plan, "plan", "by_group", JSON_ARRAY);
  size_t n = items != NULL ? json_array_size(items) : 0;
  if (n == 0) return;
  group_spend *groups = calloc(n, sizeof *groups);
  bar_row *bars = calloc(MAX_GROUP_BARS + 1, sizeof *bars);
  char(*tips)[192] = calloc(MAX_GROUP_BARS + 1, sizeof *tips);
  if (groups == NULL || bars == NULL || tips == NULL) {
    r->out.failed = true;
    goto done;
  }
  char path[REPORT_PATH_MAX], other[96];
  size_t n_marks = 0;
  for (size_t i = 0; i < n; i++) {
    const json_t *item = json_array_get(items, i);
    if (!report_is_object(r, item, "plan.by_group", i)) goto done;
    report_path_index(path, "plan.by_group", i);
    groups[i].group = report_label(r, item, path, "group", groups[i].group_buf, sizeof groups[i].group_buf);
    if (groups[i].group == NULL) groups[i].group = "?";
    report_number(r, item, path, "spend", &groups[i].spend);
    report_number(r, item, path, "value", &groups[i].value);
    groups[i].index = i;
    n_marks += isfinite(groups[i].spend);
  }
  if (r->status != PROMO_OK || n_marks == 0) goto done;
  qsort(groups, n, sizeof *groups, by_spend_desc);
  size_t n_bars = group_bars(r, groups, n, bars, tips, other, sizeof other);
  bar_chart spec = {.name = "groups", .caption = _("Promotion spend by group"), .value_title = _("Spend"),
                    .n_series = 1};
  chart_bars(r, &spec, bars, n_bars);
done:
  free(groups);
  free(bars);
  free(tips);
}

static void top_units_table(report *r, const json_t *plan) {
  const json_t *items = report_member(r, plan, "plan", "top_units", JSON_ARRAY);
  size_t n = items != NULL ? json_array_size(items) : 0;
  if (n == 0) return;
  heading3(r, _("Top units by value"));
  const char *headers[] = {_("Unit"), _("Promotion"), _("Value"), _("Spend")};
  report_table_open(r, headers, 4, 0xCu);
  char path[REPORT_PATH_MAX], unit_buf[32], option_buf[32];
  for (size_t i = 0; i < n && i < MAX_TOP_UNITS; i++) {
    const json_t *item = json_array_get(items, i);
    if (!report_is_object(r, item, "plan.top_units", i)) break;
    report_path_index(path, "plan.top_units", i);
    const char *unit = report_label(r, item, path, "unit", unit_buf, sizeof unit_buf);
    const char *option = report_label(r, item, path, "option", option_buf, sizeof option_buf);
    double value, spend;
    report_number(r, item, path, "value", &value);
    report_number(r, item, path, "spend", &spend);
    rbuf_puts(&r->out, "<tr>");
    report_cell_text(r, unit != NULL ? unit : "?");
    report_cell_text(r, option != NULL ? option : "?");
    report_cell_auto(r, value);
    report_cell_auto(r, spend);
    rbuf_puts(&r->out, "</tr>\n");
  }
  report_table_close(r);
  if (n > MAX_TOP_UNITS) {
    char line[160];
    snprintf(line, sizeof line, _("Showing the first %d of %zu units; plan.csv lists them all."), MAX_TOP_UNITS, n);
    report_not_run(r, line);
  }
}

void report_section_plan(report *r, const json_t *doc) {
  const json_t *plan = report_member(r, doc, "", "plan", JSON_OBJECT);
  report_section_open(r, "plan", _("Promotion plan"));
  if (plan == NULL) {
    report_not_run(r, _("Not run: there is no promotion plan in this document."));
    report_section_close(r);
    return;
  }
  plan_summary(r, plan);
  baselines_chart(r, plan);
  by_option_table(r, plan);
  by_group_chart(r, plan);
  top_units_table(r, plan);
  report_section_close(r);
}
