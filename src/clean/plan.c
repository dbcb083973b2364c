/* Cleaning options turned into a per-column plan: which columns are prices, quantities,
 * discount rates or outlier candidates, and what a missing cell is filled with. */
#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clean/internal.h"
#include "core/intl.h"

void promo_clean_options_init(promo_clean_options *opt) {
  memset(opt, 0, sizeof *opt);
  promo_csv_options_init(&opt->csv);
  opt->remove_duplicates = true;
  opt->keep = PROMO_KEEP_FIRST;
  opt->missing_default = PROMO_MISSING_KEEP;
  opt->on_invalid = PROMO_RULE_REJECT;
  opt->on_bad_price = PROMO_RULE_REJECT;
  opt->on_bad_rate = PROMO_RULE_REJECT;
  opt->on_bad_date = PROMO_RULE_REJECT;
  opt->min_date = promo_days_from_civil(1990, 1, 1);
  opt->max_date = (int32_t)(time(NULL) / 86400);
  opt->outlier_method = PROMO_OUTLIER_IQR;
  opt->on_outlier = PROMO_RULE_KEEP;
  opt->chunk_rows = 4096;
}

const char *promo_reject_reason_name(promo_reject_reason reason) {
  static const char *const names[PROMO_REJECT_N_REASONS] = {
      "duplicate",       "duplicate_key", "invalid_value", "missing_value",
      "nonpositive_price", "negative_quantity", "rate_out_of_range", "date_out_of_range",
      "outlier"};
  return (unsigned)reason < PROMO_REJECT_N_REASONS ? names[reason] : "unknown";
}

/* Case-insensitive ASCII substring search; bytes of UTF-8 text compare as they are. */
static bool contains_word(const char *name, const char *word) {
  size_t n = strlen(name), w = strlen(word);
  for (size_t i = 0; i + w <= n; i++) {
    size_t k = 0;
    while (k < w && tolower((unsigned char)name[i + k]) == tolower((unsigned char)word[k])) k++;
    if (k == w) return true;
  }
  return false;
}

static bool name_matches_any(const char *name, const char *const *words) {
  for (size_t i = 0; words[i] != NULL; i++)
    if (contains_word(name, words[i])) return true;
  return false;
}

ptrdiff_t clean_find_column(const clean_run *run, const char *name) {
  for (size_t c = 0; c < run->n_columns; c++)
    if (strcmp(run->plans[c].name, name) == 0) return (ptrdiff_t)c;
  return -1;
}

static promo_status unknown_column(const clean_run *run, const char *option, const char *name,
                                   promo_error *err) {
  promo_error_at(err, run->input_path, 0, 0);
  snprintf(err->column_name, sizeof err->column_name, "%s", name);
  return promo_error_set(err, PROMO_ERR_USAGE,
                         _("%s names column '%s', which is not in the header"), option, name);
}

/* Mark the columns of an explicit list, or choose them by name when the list is NULL. */
static promo_status assign_role(clean_run *run, const promo_name_list *list,
                                const char *const *name_words, const char *option,
                                size_t role_offset, promo_error *err) {
  if (list->names == NULL) {
    for (size_t c = 0; c < run->n_columns; c++) {
      if (name_matches_any(run->plans[c].name, name_words))
        *(bool *)((char *)&run->plans[c] + role_offset) = true;
    }
    return PROMO_OK;
  }
  for (size_t i = 0; i < list->n_names; i++) {
    if (strcmp(list->names[i], "all") == 0) {
      for (size_t c = 0; c < run->n_columns; c++)
        *(bool *)((char *)&run->plans[c] + role_offset) = true;
      continue;
    }
    ptrdiff_t c = clean_find_column(run, list->names[i]);
    if (c < 0) return unknown_column(run, option, list->names[i], err);
    *(bool *)((char *)&run->plans[c] + role_offset) = true;
  }
  return PROMO_OK;
}

promo_status clean_assign_roles(clean_run *run, promo_error *err) {
  static const char *const price_words[] = {"price", "价", NULL};
  static const char *const quantity_words[] = {"qty", "quantity", "units", "数量", "件数", NULL};
  static const char *const rate_words[] = {"discount_rate", "disc_rate", "折扣", NULL};
  static const char *const no_words[] = {NULL};
  const promo_clean_options *opt = run->opt;
  promo_status st;

  if ((st = assign_role(run, &opt->price_columns, price_words, "--price-cols",
                        offsetof(column_plan, is_price), err)) != PROMO_OK ||
      (st = assign_role(run, &opt->quantity_columns, quantity_words, "--quantity-cols",
                        offsetof(column_plan, is_quantity), err)) != PROMO_OK ||
      (st = assign_role(run, &opt->rate_columns, rate_words, "--rate-cols",
                        offsetof(column_plan, is_rate), err)) != PROMO_OK)
    return st;
  promo_name_list outliers = opt->outlier_columns;
  if (outliers.names == NULL) outliers.names = no_words; /* none unless asked */
  if ((st = assign_role(run, &outliers, no_words, "--outliers",
                        offsetof(column_plan, is_outlier_checked), err)) != PROMO_OK)
    return st;

  for (size_t i = 0; i < opt->n_type_rules; i++) {
    ptrdiff_t c = clean_find_column(run, opt->type_rules[i].column);
    if (c < 0) return unknown_column(run, "--types", opt->type_rules[i].column, err);
    run->plans[c].type = opt->type_rules[i].type;
    run->plans[c].type_given = true;
  }

  run->time_column = -1;
  if (opt->time_column != NULL) {
    run->time_column = clean_find_column(run, opt->time_column);
    if (run->time_column < 0) return unknown_column(run, "--time", opt->time_column, err);
  }
  if (opt->keep == PROMO_KEEP_LATEST && run->time_column < 0) {
    return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                           _("--keep latest needs --time COL to say which row is the latest"));
  }
  if (opt->keep == PROMO_KEEP_LATEST && opt->key_columns.n_names == 0) {
    return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                           _("--keep latest needs --key COLS to say which rows are duplicates"));
  }
  run->n_key_columns = opt->key_columns.n_names;
  if (run->n_key_columns > 0) {
    run->key_columns = calloc(run->n_key_columns, sizeof *run->key_columns);
    if (run->key_columns == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    for (size_t i = 0; i < run->n_key_columns; i++) {
      run->key_columns[i] = clean_find_column(run, opt->key_columns.names[i]);
      if (run->key_columns[i] < 0)
        return unknown_column(run, "--key", opt->key_columns.names[i], err);
    }
  }

  for (size_t i = 0; i < opt->n_missing_rules; i++) {
    if (clean_find_column(run, opt->missing_rules[i].column) < 0)
      return unknown_column(run, "--missing", opt->missing_rules[i].column, err);
  }
  return PROMO_OK;
}

/* Write `text` parsed as the column's type in its canonical form; false if it does not
 * parse. */
static bool canonical_text(promo_type type, const char *text, char *out, size_t size) {
  size_t len = strlen(text);
  int64_t i;
  double x;
  bool b;
  int32_t days;
  switch (type) {
    case PROMO_TYPE_INT:
      if (!promo_parse_int(text, len, &i, NULL)) {
        if (!promo_parse_decimal(text, len, &x, NULL) || x != floor(x) || fabs(x) > 9e18) return false;
        i = (int64_t)x;
      }
      {
        char buf[24];
        promo_format_int(i, buf);
        snprintf(out, size, "%s", buf);
      }
      return true;
    case PROMO_TYPE_DECIMAL: {
      if (!promo_parse_decimal(text, len, &x, NULL)) return false;
      char buf[32];
      promo_format_decimal(x, buf);
      snprintf(out, size, "%s", buf);
      return true;
    }
    case PROMO_TYPE_BOOL:
      if (!promo_parse_bool(text, len, &b, NULL)) return false;
      snprintf(out, size, "%s", b ? "true" : "false");
      return true;
    case PROMO_TYPE_DATE: {
      if (!promo_parse_date(text, len, &days, NULL)) return false;
      char buf[16];
      promo_format_date(days, buf);
      snprintf(out, size, "%s", buf);
      return true;
    }
    case PROMO_TYPE_DATETIME: {
      if (!promo_parse_datetime(text, len, &i, NULL)) return false;
      char buf[32];
      promo_format_datetime(i, buf);
      snprintf(out, size, "%s", buf);
      return true;
    }
    default:
      snprintf(out, size, "%s", text);
      return true;
  }
}

static promo_missing_action action_for(const clean_run *run, size_t c, const char **value,
                                       bool *is_explicit) {
  const promo_clean_options *opt = run->opt;
  for (size_t i = 0; i < opt->n_missing_rules; i++) {
    if (strcmp(opt->missing_rules[i].column, run->plans[c].name) == 0) {
      *value = opt->missing_rules[i].value;
      *is_explicit = true;
      return opt->missing_rules[i].action;
    }
  }
  *value = opt->missing_default_value;
  *is_explicit = false;
  return opt->missing_default;
}

/* Choose what a missing cell of column c is filled with, once the type is known. */
static promo_status plan_fill(clean_run *run, size_t c, promo_error *err) {
  column_plan *plan = &run->plans[c];
  const char *value;
  bool is_explicit;
  promo_missing_action action = action_for(run, c, &value, &is_explicit);
  bool numeric = plan->type == PROMO_TYPE_INT || plan->type == PROMO_TYPE_DECIMAL;

  /* A default median or mean applies to numeric columns; the others get their mode. */
  if ((action == PROMO_MISSING_MEDIAN || action == PROMO_MISSING_MEAN) && !numeric) {
    if (is_explicit) {
      promo_error_at(err, run->input_path, 0, 0);
      snprintf(err->column_name, sizeof err->column_name, "%s", plan->name);
      return promo_error_set(err, PROMO_ERR_USAGE,
                             _("column '%s' is %s, so it has no %s; use mode or value:TEXT"),
                             plan->name, promo_type_name(plan->type),
                             action == PROMO_MISSING_MEDIAN ? "median" : "mean");
    }
    action = PROMO_MISSING_MODE;
  }
  if (action == PROMO_MISSING_AUTO) action = numeric ? PROMO_MISSING_MEDIAN : PROMO_MISSING_MODE;
  plan->missing_action = action;
  plan->missing_value_text = value;
  plan->add_missing_flag = action == PROMO_MISSING_FLAG;

  double x = NAN;
  const char *text = NULL;
  char number[32];
  if (action == PROMO_MISSING_MEDIAN) x = plan->median;
  if (action == PROMO_MISSING_MEAN) x = plan->mean;
  if (action == PROMO_MISSING_MEDIAN || action == PROMO_MISSING_MEAN) {
    if (isnan(x)) {
      if (plan->n_missing_in > 0)
        promo_log(run->ctx, PROMO_LOG_WARN,
                  _("column '%s' has no valid numbers, so its missing cells stay empty"), plan->name);
      return PROMO_OK;
    }
    /* Integer columns stay integers: the statistic is rounded half to even. */
    if (plan->type == PROMO_TYPE_INT) x = nearbyint(x);
    promo_format_decimal(x, number);
    text = number;
  } else if (action == PROMO_MISSING_MODE) {
    text = plan->mode_text;
    if (text == NULL) {
      if (plan->n_missing_in > 0)
        promo_log(run->ctx, PROMO_LOG_WARN,
                  _("column '%s' has no values, so its missing cells stay empty"), plan->name);
      return PROMO_OK;
    }
  } else if (action == PROMO_MISSING_VALUE) {
    text = value != NULL ? value : "";
  } else {
    return PROMO_OK;
  }

  if (!canonical_text(plan->type, text, plan->fill_text, sizeof plan->fill_text)) {
    promo_error_at(err, run->input_path, 0, 0);
    snprintf(err->column_name, sizeof err->column_name, "%s", plan->name);
    promo_error_value(err, text, -1);
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("fill value '%s' is not a valid %s for column '%s'"), text,
                           promo_type_name(plan->type), plan->name);
  }
  plan->has_fill = true;
  return PROMO_OK;
}

/* Drop name-chosen roles from columns that turned out not to be numbers; an explicit
 * list naming such a column is an error. */
static promo_status check_role_types(clean_run *run, size_t c, promo_error *err) {
  column_plan *plan = &run->plans[c];
  bool numeric = plan->type == PROMO_TYPE_INT || plan->type == PROMO_TYPE_DECIMAL;
  if (numeric) return PROMO_OK;
  const promo_clean_options *opt = run->opt;
  struct {
    bool *role;
    const promo_name_list *list;
    const char *option;
  } roles[] = {
      {&plan->is_price, &opt->price_columns, "--price-cols"},
      {&plan->is_quantity, &opt->quantity_columns, "--quantity-cols"},
      {&plan->is_rate, &opt->rate_columns, "--rate-cols"},
      {&plan->is_outlier_checked, &opt->outlier_columns, "--outliers"},
  };
  for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++) {
    if (!*roles[r].role) continue;
    bool named = false;
    for (size_t i = 0; roles[r].list->names != NULL && i < roles[r].list->n_names; i++)
      named |= strcmp(roles[r].list->names[i], plan->name) == 0;
    if (named) {
      promo_error_at(err, run->input_path, 0, 0);
      return promo_error_set(err, PROMO_ERR_USAGE,
                             _("%s names column '%s', which is %s, not a number"),
                             roles[r].option, plan->name, promo_type_name(plan->type));
    }
    *roles[r].role = false;
  }
  return PROMO_OK;
}

static void plan_outliers(clean_run *run, size_t c) {
  column_plan *plan = &run->plans[c];
  if (!plan->is_outlier_checked) return;
  const promo_clean_options *opt = run->opt;
  if (opt->outlier_method == PROMO_OUTLIER_IQR) {
    double k = opt->outlier_k > 0 ? opt->outlier_k : 1.5;
    double iqr = plan->q3 - plan->q1;
    plan->outlier_low = plan->q1 - k * iqr;
    plan->outlier_high = plan->q3 + k * iqr;
  } else {
    /* Robust z-score (Iglewicz and Hoaglin 1993): 1.4826 * MAD estimates the standard
     * deviation of normal data. A zero MAD flags nothing rather than everything. */
    double k = opt->outlier_k > 0 ? opt->outlier_k : 3.5;
    double scale = 1.4826 * plan->mad;
    plan->outlier_low = scale > 0 ? plan->median - k * scale : -INFINITY;
    plan->outlier_high = scale > 0 ? plan->median + k * scale : INFINITY;
    if (!(scale > 0))
      promo_log(run->ctx, PROMO_LOG_WARN,
                _("column '%s': more than half of its values are equal (MAD is 0), so the "
                  "z-score flags nothing; use --outlier-method iqr for this column"),
                plan->name);
  }
  if (isnan(plan->outlier_low) || isnan(plan->outlier_high)) {
    plan->outlier_low = -INFINITY;
    plan->outlier_high = INFINITY;
  }
  plan->add_outlier_flag = opt->on_outlier != PROMO_RULE_REJECT;
}

promo_status clean_plan_columns(clean_run *run, promo_error *err) {
  for (size_t c = 0; c < run->n_columns; c++) {
    promo_status st = check_role_types(run, c, err);
    if (st == PROMO_OK) st = plan_fill(run, c, err);
    if (st != PROMO_OK) return st;
    plan_outliers(run, c);
  }
  return PROMO_OK;
}
