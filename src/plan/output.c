/* Plan stage: the outputs of a planning job. plan.csv lists each unit's chosen option.
 * The summary JSON compares the plan with no promotion and with one option for all units
 * at the same budget, and breaks it down by option, group and unit. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "plan/job_internal.h"

/* ===================================================================== plan.csv */

static void write_number(promo_csv_writer *w, double x) {
  char buf[32];
  size_t n = isfinite(x) ? promo_format_decimal(x, buf) : 0;
  promo_csv_write_field(w, buf, n);
}

static void write_text(promo_csv_writer *w, const char *s) { promo_csv_write_field(w, s, strlen(s)); }

static void write_rows(const promo_plan_result *r, promo_csv_writer *w) {
  write_text(w, "unit");
  if (r->has_groups) write_text(w, "group");
  static const char *const header[] = {"option", "predicted", "spend", "value", "baseline_value", "value_gain"};
  for (size_t k = 0; k < sizeof header / sizeof header[0]; k++) write_text(w, header[k]);
  promo_csv_write_end_row(w);
  for (size_t u = 0; u < r->n_units; u++) {
    size_t k = r->solution.choice[u];
    write_text(w, promo_dict_string(r->names.units, (int32_t)u, NULL));
    if (r->has_groups) {
      int32_t g = r->names.unit_group[u];
      write_text(w, g >= 0 ? promo_dict_string(r->names.groups, g, NULL) : "");
    }
    write_text(w, promo_dict_string(r->names.options, plan_result_row_option(r, k), NULL));
    write_number(w, plan_result_row_predicted(r, k));
    write_number(w, plan_result_row_spend(r, k));
    /* value and baseline_value are both under the base objective (profit, not
     * incremental profit), so value_gain is their difference. */
    int64_t source = r->source_row[k];
    write_number(w, source >= 0 ? r->rows.value[source] : 0.0);
    write_number(w, plan_result_baseline_value(r, u));
    write_number(w, r->problem_value[k]);
    promo_csv_write_end_row(w);
  }
}

promo_status promo_plan_write_csv(const promo_plan_result *r, const char *path, bool with_bom, promo_error *err) {
  promo_atomic_file *file = NULL;
  FILE *fp = NULL;
  promo_csv_writer *w = NULL;
  promo_status st = promo_atomic_open(path, &file, &fp, err);
  if (st != PROMO_OK) return st;
  if (promo_csv_writer_create(fp, ',', with_bom, &w) != PROMO_OK) {
    promo_atomic_abort(file);
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  }
  write_rows(r, w);
  st = promo_csv_writer_flush(w, err);
  promo_csv_writer_free(w);
  if (st != PROMO_OK) {
    promo_error_at(err, path, 0, 0);
    promo_atomic_abort(file);
    return st;
  }
  return promo_atomic_commit(file, err);
}

/* ===================================================================== summary */

/* A JSON number, or null for NaN and infinities. */
static json_t *number(double x) { return isfinite(x) ? json_real(x) : json_null(); }

/* Add key: value to obj, stealing value; false when out of memory. */
static bool set(json_t *obj, const char *key, json_t *value) {
  return value != NULL && json_object_set_new(obj, key, value) == 0;
}

static bool append(json_t *array, json_t *value) { return value != NULL && json_array_append_new(array, value) == 0; }

/* The plan as each unit's problem row, and its totals. */
typedef struct plan_totals {
  double value, spend, units;
  size_t n_units;
} plan_totals;

static plan_totals totals_of(const promo_plan_result *r, const size_t *choice) {
  plan_totals t = {0, 0, 0, 0};
  for (size_t u = 0; u < r->n_units; u++) {
    size_t k = choice[u];
    t.value += plan_result_row_value(r, k);
    t.spend += plan_result_row_spend(r, k);
    t.units += plan_result_row_predicted(r, k);
    t.n_units += k != r->option_start[u];
  }
  if (!r->has_model) t.units = NAN;
  return t;
}

static json_t *totals_json(plan_totals t, bool with_count) {
  json_t *o = json_object();
  bool ok = o != NULL && set(o, "value", number(t.value)) && set(o, "spend", number(t.spend)) &&
            set(o, "units", number(t.units));
  if (ok && with_count) ok = set(o, "n_units", json_integer((json_int_t)t.n_units));
  if (!ok) json_decref(o);
  return ok ? o : NULL;
}

/* A candidate unit of a same-option comparison. */
typedef struct same_entry {
  double gain, extra;      /* value and spend over the baseline */
  size_t unit, row;
} same_entry;

static int compare_entries(const void *a, const void *b) {
  const same_entry *x = a, *y = b;
  /* Best value per extra spend first; rows that cost nothing more come first of all. */
  double rx = x->extra > 0 ? x->gain / x->extra : INFINITY, ry = y->extra > 0 ? y->gain / y->extra : INFINITY;
  if (rx != ry) return rx > ry ? -1 : 1;
  if (x->gain != y->gain) return x->gain > y->gain ? -1 : 1;
  return x->unit < y->unit ? -1 : x->unit > y->unit;
}

/* Every unit takes `option` where it can, in order of value per extra spend while the
 * budget lasts; the others keep their baseline. */
static json_t *same_option_json(const promo_plan_result *r, int32_t option, size_t *choice, same_entry *entries) {
  size_t n = 0;
  double spend = 0.0;
  for (size_t u = 0; u < r->n_units; u++) {
    size_t base = r->option_start[u];
    choice[u] = base;
    spend += plan_result_row_spend(r, base);
    for (size_t k = base + 1; k < r->option_start[u + 1]; k++) {
      if (plan_result_row_option(r, k) != option) continue;
      entries[n++] = (same_entry){r->problem_value[k], plan_result_row_spend(r, k) - plan_result_row_spend(r, base), u, k};
      break;
    }
  }
  qsort(entries, n, sizeof *entries, compare_entries);
  for (size_t i = 0; i < n; i++) {
    if (!isnan(r->budget) && spend + entries[i].extra > r->budget + 1e-9 * fmax(fabs(r->budget), 1.0)) continue;
    spend += entries[i].extra;
    choice[entries[i].unit] = entries[i].row;
  }
  json_t *o = totals_json(totals_of(r, choice), true);
  if (o != NULL && !set(o, "option", json_string(promo_dict_string(r->names.options, option, NULL)))) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

/* The same option for units drawn at random, as many as the budget pays for. These are
 * the expected totals of one e-mail or coupon sent without a model to choose the units.
 * They are expectations over the draw, so units may be fractional. */
static json_t *same_option_random_json(const promo_plan_result *r, int32_t option) {
  plan_totals none = {0, 0, 0, 0};
  double gain = 0, extra = 0, extra_units = 0;
  size_t n_with = 0;
  for (size_t u = 0; u < r->n_units; u++) {
    size_t base = r->option_start[u];
    none.value += plan_result_row_value(r, base);
    none.spend += plan_result_row_spend(r, base);
    none.units += plan_result_row_predicted(r, base);
    for (size_t k = base + 1; k < r->option_start[u + 1]; k++) {
      if (plan_result_row_option(r, k) != option) continue;
      gain += r->problem_value[k];
      extra += plan_result_row_spend(r, k) - plan_result_row_spend(r, base);
      extra_units += plan_result_row_predicted(r, k) - plan_result_row_predicted(r, base);
      n_with++;
      break;
    }
  }
  double n_pick = (double)n_with;
  if (n_with > 0 && !isnan(r->budget) && extra > 0)
    n_pick = fmin(n_pick, fmax(r->budget - none.spend, 0) / (extra / (double)n_with));
  double share = n_with > 0 ? n_pick / (double)n_with : 0;
  plan_totals t = {none.value + share * gain, none.spend + share * extra, none.units + share * extra_units, 0};
  if (!r->has_model) t.units = NAN;
  /* The expected number of units drawn is fractional when one unit costs more than the
   * budget left: each unit is then promoted with that probability. */
  json_t *o = totals_json(t, false);
  if (o != NULL && !set(o, "n_units", json_real(n_pick))) {
    json_decref(o);
    o = NULL;
  }
  if (o != NULL && !set(o, "option", json_string(promo_dict_string(r->names.options, option, NULL)))) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

static json_t *baselines_json(const promo_plan_result *r) {
  size_t *choice = malloc((r->n_units + 1) * sizeof *choice);
  same_entry *entries = malloc((r->n_units + 1) * sizeof *entries);
  json_t *o = json_object(), *same = json_array(), *random = json_array();
  bool ok = choice && entries && o && same && random;
  for (size_t u = 0; ok && u < r->n_units; u++) choice[u] = r->option_start[u];
  ok = ok && set(o, "none", totals_json(totals_of(r, choice), false));
  for (size_t id = 0; ok && id < promo_dict_size(r->names.options); id++)
    if ((int32_t)id != r->names.baseline) ok = append(same, same_option_json(r, (int32_t)id, choice, entries));
  ok = ok && set(o, "same_option", same);
  for (size_t id = 0; ok && id < promo_dict_size(r->names.options); id++)
    if ((int32_t)id != r->names.baseline) ok = append(random, same_option_random_json(r, (int32_t)id));
  ok = ok && set(o, "same_option_random", random);
  if (!ok) {
    if (json_object_get(o, "same_option") == NULL) json_decref(same);
    if (json_object_get(o, "same_option_random") == NULL) json_decref(random);
    json_decref(o);
    o = NULL;
  }
  free(choice);
  free(entries);
  return o;
}

static json_t *spend_json(const promo_plan_result *r) {
  const promo_plan_solution *s = &r->solution;
  json_t *o = json_object(), *list = json_array();
  bool ok = o && list && set(o, "budget", number(totals_of(r, s->choice).spend)) && set(o, "limit", number(r->budget));
  for (size_t c = 0; ok && c < r->n_constraints; c++) {
    json_t *item = json_object();
    ok = item && set(item, "name", json_string(r->constraint_names[c])) && set(item, "used", number(s->usage[c])) &&
         set(item, "limit", number(r->constraints[c].limit));
    ok = ok ? append(list, item) : (json_decref(item), false);
  }
  ok = ok && set(o, "constraints", list);
  if (!ok) {
    if (json_object_get(o, "constraints") == NULL) json_decref(list);
    json_decref(o);
    o = NULL;
  }
  return o;
}

/* Value and spend summed by a key of each unit: its option or its group. */
static json_t *breakdown_json(const promo_plan_result *r, bool by_group) {
  const promo_dict *keys = by_group ? r->names.groups : r->names.options;
  size_t n = promo_dict_size(keys);
  double *value = calloc(n + 1, sizeof *value), *spend = calloc(n + 1, sizeof *spend);
  size_t *count = calloc(n + 1, sizeof *count);
  json_t *list = json_array();
  bool ok = value && spend && count && list;
  for (size_t u = 0; ok && u < r->n_units; u++) {
    size_t k = r->solution.choice[u];
    int32_t key = by_group ? r->names.unit_group[u] : plan_result_row_option(r, k);
    if (key < 0) continue;
    value[key] += plan_result_row_value(r, k);
    spend[key] += plan_result_row_spend(r, k);
    count[key]++;
  }
  for (size_t i = 0; ok && i < n; i++) {
    json_t *item = json_object();
    ok = item && set(item, by_group ? "group" : "option", json_string(promo_dict_string(keys, (int32_t)i, NULL))) &&
         (by_group || set(item, "n_units", json_integer((json_int_t)count[i]))) &&
         set(item, "value", number(value[i])) && set(item, "spend", number(spend[i]));
    ok = ok ? append(list, item) : (json_decref(item), false);
  }
  free(value);
  free(spend);
  free(count);
  if (!ok) {
    json_decref(list);
    list = NULL;
  }
  return list;
}

typedef struct unit_gain {
  double gain;
  size_t unit;
} unit_gain;

static int compare_gains(const void *a, const void *b) {
  const unit_gain *x = a, *y = b;
  if (x->gain != y->gain) return x->gain > y->gain ? -1 : 1;
  return x->unit < y->unit ? -1 : x->unit > y->unit;
}

/* The units whose chosen option gains the most over their baseline. */
static json_t *top_units_json(const promo_plan_result *r) {
  unit_gain *gains = malloc((r->n_units + 1) * sizeof *gains);
  json_t *list = json_array();
  bool ok = gains && list;
  for (size_t u = 0; ok && u < r->n_units; u++) gains[u] = (unit_gain){r->problem_value[r->solution.choice[u]], u};
  if (ok) qsort(gains, r->n_units, sizeof *gains, compare_gains);
  for (size_t i = 0; ok && i < r->n_units && i < r->n_top_units; i++) {
    size_t u = gains[i].unit, k = r->solution.choice[u];
    json_t *item = json_object();
    ok = item && set(item, "unit", json_string(promo_dict_string(r->names.units, (int32_t)u, NULL))) &&
         set(item, "option", json_string(promo_dict_string(r->names.options, plan_result_row_option(r, k), NULL))) &&
         set(item, "value", number(plan_result_row_value(r, k))) && set(item, "spend", number(plan_result_row_spend(r, k)));
    ok = ok ? append(list, item) : (json_decref(item), false);
  }
  free(gains);
  if (!ok) {
    json_decref(list);
    list = NULL;
  }
  return list;
}

/* Each option's average over every candidate row built for it, chosen or not: the
 * predicted outcome, value and spend per unit. This is the response curve — how the
 * prediction moves from one option to the next — not the plan. */
static json_t *response_json(const promo_plan_result *r) {
  size_t n_options = promo_dict_size(r->names.options);
  double *sums = calloc(3 * (n_options > 0 ? n_options : 1), sizeof *sums);
  size_t *counts = calloc(n_options > 0 ? n_options : 1, sizeof *counts);
  json_t *out = json_array();
  bool ok = sums != NULL && counts != NULL && out != NULL;
  for (size_t i = 0; ok && i < r->rows.n_rows; i++) {
    int32_t id = r->rows.option[i];
    if (id < 0 || (size_t)id >= n_options) continue;
    sums[3 * (size_t)id] += r->rows.predicted[i];
    sums[3 * (size_t)id + 1] += r->rows.value[i];
    sums[3 * (size_t)id + 2] += r->rows.spend[i];
    counts[id]++;
  }
  for (size_t id = 0; ok && id < n_options; id++) {
    if (counts[id] == 0) continue;
    double n = (double)counts[id];
    json_t *item = json_object();
    ok = item != NULL && set(item, "option", json_string(promo_dict_string(r->names.options, (int32_t)id, NULL))) &&
         set(item, "n", json_integer((json_int_t)counts[id])) &&
         set(item, "mean_prediction", r->has_model ? number(sums[3 * id] / n) : json_null()) &&
         set(item, "mean_value", number(sums[3 * id + 1] / n)) && set(item, "mean_spend", number(sums[3 * id + 2] / n));
    if (!ok) json_decref(item);
    else ok = append(out, item);
  }
  free(sums);
  free(counts);
  if (!ok) json_decref(out);
  return ok ? out : NULL;
}

json_t *promo_plan_summary_json(const promo_plan_result *r) {
  const promo_plan_solution *s = &r->solution;
  size_t n_promoted = 0;
  for (size_t u = 0; u < r->n_units; u++) n_promoted += s->choice[u] != r->option_start[u];
  json_t *o = json_object();
  bool ok = o && set(o, "objective", json_string(promo_plan_objective_name(r->objective))) &&
            set(o, "solver", json_string(promo_plan_solver_name(s->solver))) && set(o, "value", number(s->value)) &&
            set(o, "bound", number(s->bound)) && set(o, "gap", number(s->gap)) &&
            set(o, "solve_ms", number(s->solve_ms)) && set(o, "is_optimal", json_boolean(s->is_optimal)) &&
            set(o, "n_units", json_integer((json_int_t)r->n_units)) &&
            set(o, "n_options", json_integer((json_int_t)promo_dict_size(r->names.options))) &&
            set(o, "n_promoted", json_integer((json_int_t)n_promoted)) && set(o, "spend", spend_json(r)) &&
            set(o, "baselines", baselines_json(r)) && set(o, "by_option", breakdown_json(r, false)) &&
            (!r->has_groups || set(o, "by_group", breakdown_json(r, true))) && set(o, "top_units", top_units_json(r)) &&
            set(o, "response", response_json(r));
  if (!ok) {
    json_decref(o);
    return NULL;
  }
  return o;
}

promo_status promo_plan_write_json(const promo_plan_result *r, const char *path, promo_error *err) {
  json_t *summary = promo_plan_summary_json(r);
  if (summary == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  promo_atomic_file *file = NULL;
  FILE *fp = NULL;
  promo_status st = promo_atomic_open(path, &file, &fp, err);
  if (st == PROMO_OK) {
    if (json_dumpf(summary, fp, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) != 0 || fputc('\n', fp) == EOF) {
      promo_atomic_abort(file);
      st = promo_error_errno(err, errno, path, _("writing"));
    } else {
      st = promo_atomic_commit(file, err);
    }
  }
  json_decref(summary);
  return st;
}
