/* Window feature specs for the feature stage: the text grammar of CLI flags and the
 * project file, generated column names, checks of a spec list, and its JSON form in the
 * model file. The sliding-window pass itself is in window.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "feature/window_internal.h"

/* Maximum window: 100 years of 365.25 days. Longer windows are typing errors. */
#define MAX_WINDOW_S 3155760000LL

static const char *const aggregate_words[PROMO_WINDOW_N_AGGREGATES] = {"count", "sum", "mean",
                                                                       "rate", "recency"};

/* Window units from the largest down, so that the first exact divisor is the largest. */
static const struct {
  const char *word;
  int64_t seconds;
} units[] = {{"w", 604800}, {"d", 86400}, {"h", 3600}, {"min", 60}, {"s", 1}};
enum { N_UNITS = sizeof units / sizeof units[0] };

/* ===================================================================== text pieces */

/* A piece of the spec text; pos is its byte offset in the whole text, for err->column. */
typedef struct span {
  const char *s;
  size_t len;
  size_t pos;
} span;

static span trim(span x) {
  while (x.len > 0 && (x.s[0] == ' ' || x.s[0] == '\t')) {
    x.s++;
    x.len--;
    x.pos++;
  }
  while (x.len > 0 && (x.s[x.len - 1] == ' ' || x.s[x.len - 1] == '\t')) x.len--;
  return x;
}

static char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool span_is(span x, const char *word) {
  size_t n = strlen(word);
  if (x.len != n) return false;
  for (size_t i = 0; i < n; i++)
    if (ascii_lower(x.s[i]) != word[i]) return false;
  return true;
}

/* Split x at each `sep` into at most max parts (trimmed). Returns the number of parts,
 * or max + 1 when there are more. */
static size_t split(span x, char sep, span *parts, size_t max) {
  size_t n = 0;
  size_t start = 0;
  for (size_t i = 0; i <= x.len; i++) {
    if (i < x.len && x.s[i] != sep) continue;
    if (n == max) return max + 1;
    parts[n++] = trim((span){x.s + start, i - start, x.pos + start});
    start = i + 1;
  }
  return n;
}

/* Where parsing failed and why; the caller turns it into the error. */
typedef struct parse_state {
  const char *text;
  size_t fail_pos;
  char why[256];
} parse_state;

static bool fail(parse_state *st, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(parse_state *st, size_t pos, const char *fmt, ...) {
  st->fail_pos = pos;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(st->why, sizeof st->why, fmt, ap);
  va_end(ap);
  return false;
}

/* Copy a non-empty name of fewer than size bytes. `what` names it in the message. */
static bool copy_name(parse_state *st, span x, char *dst, size_t size, const char *what) {
  if (x.len == 0) return fail(st, x.pos, _("%s is empty"), what);
  if (x.len >= size)
    return fail(st, x.pos, _("%s '%.*s' is longer than %zu bytes"), what, (int)x.len, x.s,
                size - 1);
  memcpy(dst, x.s, x.len);
  dst[x.len] = '\0';
  return true;
}

/* ===================================================================== parsing */

/* TYPES: "*" for every event, or values joined by '+'. */
static bool parse_types(parse_state *st, span x, char (*types)[PROMO_WINDOW_TYPE_SIZE],
                        size_t *n_types) {
  if (x.len == 1 && x.s[0] == '*') {
    *n_types = 0;
    return true;
  }
  span parts[PROMO_WINDOW_MAX_TYPES];
  size_t n = split(x, '+', parts, PROMO_WINDOW_MAX_TYPES);
  if (n > PROMO_WINDOW_MAX_TYPES)
    return fail(st, x.pos, _("more than %d event types in '%.*s'"), PROMO_WINDOW_MAX_TYPES,
                (int)x.len, x.s);
  for (size_t i = 0; i < n; i++)
    if (!copy_name(st, parts[i], types[i], PROMO_WINDOW_TYPE_SIZE, _("event type"))) return false;
  *n_types = n;
  return true;
}

/* WINDOW: "all", or a positive whole number and a unit. */
static bool parse_window(parse_state *st, span x, int64_t *window_s, int64_t *unit_s) {
  if (span_is(x, "all")) {
    *window_s = 0;
    *unit_s = 0;
    return true;
  }
  size_t digits = 0;
  while (digits < x.len && x.s[digits] >= '0' && x.s[digits] <= '9') digits++;
  span unit = {x.s + digits, x.len - digits, x.pos + digits};
  if (digits == 0 || unit.len == 0 || unit.s[0] == '.' || unit.s[0] == ',')
    return fail(st, x.pos,
                _("window '%.*s' must be a whole number and a unit (s, min, h, d or w), "
                  "such as 7d or 36h, or 'all'"),
                (int)x.len, x.s);

  char number[32];
  if (digits >= sizeof number)
    return fail(st, x.pos, _("window '%.*s' is longer than 100 years"), (int)x.len, x.s);
  memcpy(number, x.s, digits);
  number[digits] = '\0';
  errno = 0;
  char *end = NULL;
  long long n = strtoll(number, &end, 10);
  bool out_of_range = errno == ERANGE;

  for (size_t u = 0; u < N_UNITS; u++) {
    if (!span_is(unit, units[u].word)) continue;
    if (n == 0) return fail(st, x.pos, _("window '%.*s' must be positive"), (int)x.len, x.s);
    if (out_of_range || n > MAX_WINDOW_S / units[u].seconds)
      return fail(st, x.pos, _("window '%.*s' is longer than 100 years"), (int)x.len, x.s);
    *window_s = n * units[u].seconds;
    *unit_s = units[u].seconds;
    return true;
  }
  if (span_is(unit, "m"))
    return fail(st, unit.pos,
                _("window unit 'm' could mean minutes or months; write min for minutes or "
                  "30d for a month"));
  return fail(st, unit.pos, _("window '%.*s' has an unknown unit; use s, min, h, d or w"),
              (int)x.len, x.s);
}

/* The part after the aggregate keyword, by aggregate. */
static bool parse_arguments(parse_state *st, span *parts, size_t n, promo_window_spec *spec) {
  const char *form = NULL;
  switch (spec->aggregate) {
  case PROMO_WINDOW_COUNT:
    form = "count:TYPES:WINDOW (count:view:7d)";
    if (n != 3) break;
    return parse_types(st, parts[1], spec->types, &spec->n_types) &&
           parse_window(st, parts[2], &spec->window_s, &spec->window_unit_s);
  case PROMO_WINDOW_SUM:
  case PROMO_WINDOW_MEAN:
    form = spec->aggregate == PROMO_WINDOW_SUM ? "sum:COLUMN:TYPES:WINDOW (sum:amount:buy:30d)"
                                               : "mean:COLUMN:TYPES:WINDOW (mean:amount:buy:30d)";
    if (n != 4) break;
    return copy_name(st, parts[1], spec->value_column, sizeof spec->value_column,
                     _("value column")) &&
           parse_types(st, parts[2], spec->types, &spec->n_types) &&
           parse_window(st, parts[3], &spec->window_s, &spec->window_unit_s);
  case PROMO_WINDOW_RATE: {
    form = "rate:TYPES/TYPES:WINDOW (rate:used/received:30d)";
    if (n != 3) break;
    span sides[2];
    if (split(parts[1], '/', sides, 2) != 2)
      return fail(st, parts[1].pos, _("a rate needs two type sets, as in %s"), form);
    return parse_types(st, sides[0], spec->types, &spec->n_types) &&
           parse_types(st, sides[1], spec->base_types, &spec->n_base_types) &&
           parse_window(st, parts[2], &spec->window_s, &spec->window_unit_s);
  }
  case PROMO_WINDOW_RECENCY:
    form = "recency:TYPES[:WINDOW] (recency:buy or recency:buy:30d)";
    if (n != 2 && n != 3) break;
    if (!parse_types(st, parts[1], spec->types, &spec->n_types)) return false;
    return n == 2 || parse_window(st, parts[2], &spec->window_s, &spec->window_unit_s);
  case PROMO_WINDOW_N_AGGREGATES:
    break;
  }
  return fail(st, parts[0].pos, _("wrong number of ':' parts; write %s"), form);
}

/* [NAME=]AGGREGATE:ARGUMENTS[@KEYS] */
static bool parse_spec(parse_state *st, promo_window_spec *spec) {
  span rest = {st->text, strlen(st->text), 0};
  const char *colon = memchr(rest.s, ':', rest.len);
  const char *equals = memchr(rest.s, '=', rest.len);
  if (equals != NULL && (colon == NULL || equals < colon)) {
    size_t n = (size_t)(equals - rest.s);
    if (!copy_name(st, trim((span){rest.s, n, 0}), spec->name, sizeof spec->name,
                   _("output column name")))
      return false;
    rest = (span){equals + 1, rest.len - n - 1, n + 1};
  }

  const char *at = memchr(rest.s, '@', rest.len);
  if (at != NULL) {
    size_t n = (size_t)(at - rest.s);
    span keys = {at + 1, rest.len - n - 1, rest.pos + n + 1};
    span parts[PROMO_WINDOW_MAX_KEYS];
    size_t n_keys = split(keys, '+', parts, PROMO_WINDOW_MAX_KEYS);
    if (n_keys > PROMO_WINDOW_MAX_KEYS)
      return fail(st, keys.pos, _("more than %d key columns"), PROMO_WINDOW_MAX_KEYS);
    for (size_t k = 0; k < n_keys; k++)
      if (!copy_name(st, parts[k], spec->keys[k], sizeof spec->keys[k], _("key column")))
        return false;
    spec->n_keys = n_keys;
    rest.len = n;
  }

  span parts[5];
  size_t n = split(rest, ':', parts, 4);
  size_t a = 0;
  while (a < PROMO_WINDOW_N_AGGREGATES && !span_is(parts[0], aggregate_words[a])) a++;
  if (a == PROMO_WINDOW_N_AGGREGATES)
    return fail(st, parts[0].pos,
                _("unknown aggregate '%.*s'; use count, sum, mean, rate or recency"),
                (int)parts[0].len, parts[0].s);
  spec->aggregate = (promo_window_aggregate)a;
  return parse_arguments(st, parts, n, spec);
}

promo_status promo_window_spec_parse(const char *text, promo_window_spec *spec, promo_error *err) {
  memset(spec, 0, sizeof *spec);
  if (text == NULL) return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("window spec is missing"));
  parse_state st = {.text = text};
  if (parse_spec(&st, spec)) return PROMO_OK;

  memset(spec, 0, sizeof *spec);
  promo_error_value(err, text, -1);
  promo_error_at(err, NULL, 0, (int64_t)st.fail_pos + 1);
  return promo_error_set(err, PROMO_ERR_USAGE, _("invalid window spec '%s': %s"),
                         err != NULL ? err->value : text, st.why);
}

/* ===================================================================== names and text */

/* Bounded string building that, like snprintf, keeps counting past the end. */
typedef struct text_buf {
  char *buf;
  size_t size;
  size_t len;
} text_buf;

static void put(text_buf *b, const char *s) {
  for (; *s != '\0'; s++, b->len++)
    if (b->len + 1 < b->size) b->buf[b->len] = *s;
  if (b->size > 0) b->buf[b->len < b->size ? b->len : b->size - 1] = '\0';
}

static void put_joined(text_buf *b, const char (*items)[PROMO_WINDOW_TYPE_SIZE], size_t n,
                       const char *sep, const char *if_empty) {
  if (n == 0) put(b, if_empty);
  for (size_t i = 0; i < n; i++) {
    if (i > 0) put(b, sep);
    put(b, items[i]);
  }
}

static void put_window(text_buf *b, int64_t window_s, int64_t unit_s) {
  if (window_s == 0) {
    put(b, "all");
    return;
  }
  size_t u = 0;
  while (u + 1 < N_UNITS && (units[u].seconds != unit_s || window_s % unit_s != 0)) u++;
  if (units[u].seconds != unit_s || window_s % unit_s != 0) {
    u = 0;
    while (window_s % units[u].seconds != 0) u++;
  }
  char number[32];
  snprintf(number, sizeof number, "%lld", (long long)(window_s / units[u].seconds));
  put(b, number);
  put(b, units[u].word);
}

static void put_keys(text_buf *b, const promo_window_spec *spec, const char *sep) {
  for (size_t k = 0; k < spec->n_keys && k < PROMO_WINDOW_MAX_KEYS; k++) {
    if (k > 0) put(b, sep);
    put(b, spec->keys[k]);
  }
}

size_t promo_window_spec_name(const promo_window_spec *spec, char *buf, size_t size) {
  text_buf b = {buf, size, 0};
  put(&b, "");
  if (spec->name[0] != '\0') {
    put(&b, spec->name);
    return b.len;
  }
  if (spec->n_keys > 0) {
    put_keys(&b, spec, "_");
    put(&b, "_");
  }
  put_joined(&b, spec->types, spec->n_types, "_", "all");
  put(&b, "_");
  if (spec->aggregate == PROMO_WINDOW_RATE) {
    put(&b, "per_");
    put_joined(&b, spec->base_types, spec->n_base_types, "_", "all");
    put(&b, "_");
  }
  if (spec->aggregate == PROMO_WINDOW_SUM || spec->aggregate == PROMO_WINDOW_MEAN) {
    put(&b, spec->value_column);
    put(&b, "_");
  }
  put(&b, spec->aggregate < PROMO_WINDOW_N_AGGREGATES ? aggregate_words[spec->aggregate] : "?");
  if (spec->aggregate != PROMO_WINDOW_RECENCY || spec->window_s != 0) {
    put(&b, "_");
    put_window(&b, spec->window_s, spec->window_unit_s);
  }
  return b.len;
}

size_t promo_window_spec_format(const promo_window_spec *spec, char *buf, size_t size) {
  text_buf b = {buf, size, 0};
  put(&b, "");
  if (spec->name[0] != '\0') {
    put(&b, spec->name);
    put(&b, "=");
  }
  put(&b, spec->aggregate < PROMO_WINDOW_N_AGGREGATES ? aggregate_words[spec->aggregate] : "?");
  put(&b, ":");
  if (spec->aggregate == PROMO_WINDOW_SUM || spec->aggregate == PROMO_WINDOW_MEAN) {
    put(&b, spec->value_column);
    put(&b, ":");
  }
  put_joined(&b, spec->types, spec->n_types, "+", "*");
  if (spec->aggregate == PROMO_WINDOW_RATE) {
    put(&b, "/");
    put_joined(&b, spec->base_types, spec->n_base_types, "+", "*");
  }
  if (spec->aggregate != PROMO_WINDOW_RECENCY || spec->window_s != 0) {
    put(&b, ":");
    put_window(&b, spec->window_s, spec->window_unit_s);
  }
  if (spec->n_keys > 0) {
    put(&b, "@");
    put_keys(&b, spec, "+");
  }
  return b.len;
}

/* ===================================================================== window sets */

static bool is_terminated(const char *s, size_t size) {
  return memchr(s, '\0', size) != NULL;
}

static bool is_name(const char *s, size_t size) {
  return is_terminated(s, size) && s[0] != '\0';
}

static bool names_types(const promo_window_spec *spec) {
  return spec->n_types > 0 || spec->n_base_types > 0;
}

/* The first problem of one spec as a translated sentence, or NULL when it is valid. */
static const char *spec_problem(const promo_window_spec *spec) {
  if ((int)spec->aggregate < 0 || spec->aggregate >= PROMO_WINDOW_N_AGGREGATES)
    return _("the aggregate is not count, sum, mean, rate or recency");
  if (spec->n_keys == 0)
    return _("it names no key columns; add @COLUMN, as in count:view:7d@user_id");
  if (spec->n_keys > PROMO_WINDOW_MAX_KEYS) return _("it names more than 2 key columns");
  for (size_t k = 0; k < spec->n_keys; k++)
    if (!is_name(spec->keys[k], sizeof spec->keys[k])) return _("a key column name is empty");
  if (spec->n_types > PROMO_WINDOW_MAX_TYPES || spec->n_base_types > PROMO_WINDOW_MAX_TYPES)
    return _("a type set has more than 8 values");
  for (size_t i = 0; i < spec->n_types; i++)
    if (!is_name(spec->types[i], sizeof spec->types[i])) return _("an event type is empty");
  for (size_t i = 0; i < spec->n_base_types; i++)
    if (!is_name(spec->base_types[i], sizeof spec->base_types[i]))
      return _("an event type is empty");
  if (spec->n_base_types > 0 && spec->aggregate != PROMO_WINDOW_RATE)
    return _("only a rate has denominator types");

  bool needs_value = spec->aggregate == PROMO_WINDOW_SUM || spec->aggregate == PROMO_WINDOW_MEAN;
  if (!is_terminated(spec->value_column, sizeof spec->value_column))
    return _("the value column name is not terminated");
  if (needs_value && spec->value_column[0] == '\0')
    return _("a sum or mean needs a value column, as in sum:amount:buy:30d");
  if (!needs_value && spec->value_column[0] != '\0')
    return _("only a sum or mean reads a value column");
  if (spec->window_s < 0) return _("the window is negative");
  if (spec->window_s > MAX_WINDOW_S) return _("the window is longer than 100 years");
  if (!is_terminated(spec->name, sizeof spec->name))
    return _("the output column name is not terminated");
  char name[PROMO_WINDOW_NAME_SIZE];
  if (promo_window_spec_name(spec, name, sizeof name) >= sizeof name)
    return _(
        "the generated column name is longer than 127 bytes; give a shorter one with "
        "NAME=");
  return NULL;
}

static promo_status spec_error(promo_error *err, const promo_window_spec *spec,
                               const char *problem) {
  char text[256];
  promo_window_spec_format(spec, text, sizeof text);
  promo_error_value(err, text, -1);
  return promo_error_set(err, PROMO_ERR_USAGE, _("window spec '%s': %s"),
                         err != NULL ? err->value : text, problem);
}

static bool same_set(const char (*a)[PROMO_WINDOW_TYPE_SIZE], size_t n_a,
                     const char (*b)[PROMO_WINDOW_TYPE_SIZE], size_t n_b) {
  if (n_a != n_b) return false;
  for (size_t i = 0; i < n_a; i++)
    if (strcmp(a[i], b[i]) != 0) return false;
  return true;
}

/* Count the distinct type sets, the numerator and denominator sets of every spec. */
static size_t count_type_sets(const promo_window_spec *specs, size_t n_specs) {
  size_t n_sets = 0;
  for (size_t s = 0; s < n_specs; s++) {
    for (int side = 0; side < 2; side++) {
      if (side == 1 && specs[s].aggregate != PROMO_WINDOW_RATE) continue;
      const char(*types)[PROMO_WINDOW_TYPE_SIZE] = side == 0 ? specs[s].types : specs[s].base_types;
      size_t n = side == 0 ? specs[s].n_types : specs[s].n_base_types;
      bool seen = false;
      for (size_t p = 0; p < s && !seen; p++) {
        seen = same_set(types, n, specs[p].types, specs[p].n_types);
        if (!seen && specs[p].aggregate == PROMO_WINDOW_RATE)
          seen = same_set(types, n, specs[p].base_types, specs[p].n_base_types);
      }
      if (side == 1 && !seen) seen = same_set(types, n, specs[s].types, specs[s].n_types);
      if (!seen) n_sets++;
    }
  }
  return n_sets;
}

static promo_status check_specs(const promo_window_spec *specs, size_t n_specs,
                                const promo_window_options *opt, promo_error *err) {
  if (n_specs == 0)
    return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("no window specs were given"));
  bool any_types = false;
  for (size_t s = 0; s < n_specs; s++) {
    const char *problem = spec_problem(&specs[s]);
    if (problem != NULL) return spec_error(err, &specs[s], problem);
    any_types = any_types || names_types(&specs[s]);

    char name[PROMO_WINDOW_NAME_SIZE], other[PROMO_WINDOW_NAME_SIZE];
    promo_window_spec_name(&specs[s], name, sizeof name);
    for (size_t p = 0; p < s; p++) {
      promo_window_spec_name(&specs[p], other, sizeof other);
      if (strcmp(name, other) == 0)
        return spec_error(err, &specs[s],
                          _("another spec has the same output column name; give one of "
                            "them a different name with NAME="));
    }
  }
  if (count_type_sets(specs, n_specs) > WINDOW_MAX_TYPE_SETS)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("window specs use more than %d different event type sets"),
                           WINDOW_MAX_TYPE_SETS);

  if (opt->event_time_column == NULL || opt->event_time_column[0] == '\0')
    return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                           _("window features need the events' time column"));
  if (opt->row_time_column == NULL || opt->row_time_column[0] == '\0')
    return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                           _("window features need the rows' time column"));
  if (any_types && (opt->event_type_column == NULL || opt->event_type_column[0] == '\0'))
    return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                           _("window specs name event types, so the events' type column is "
                             "needed"));
  for (size_t i = 0; i < opt->n_key_renames; i++)
    if (opt->event_keys == NULL || opt->row_keys == NULL || opt->event_keys[i] == NULL ||
        opt->row_keys[i] == NULL || opt->event_keys[i][0] == '\0' || opt->row_keys[i][0] == '\0')
      return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                             _("a key column rename has an empty column name"));
  return PROMO_OK;
}

void promo_window_options_init(promo_window_options *opt) {
  memset(opt, 0, sizeof *opt);
}

static char *copy_or_null(const char *s, bool *ok) {
  if (s == NULL || s[0] == '\0') return NULL;
  char *copy = strdup(s);
  if (copy == NULL) *ok = false;
  return copy;
}

promo_status promo_window_create(const promo_window_spec *specs, size_t n_specs,
                                 const promo_window_options *opt, promo_window **out,
                                 promo_error *err) {
  *out = NULL;
  promo_status status = check_specs(specs, n_specs, opt, err);
  if (status != PROMO_OK) return status;

  promo_window *w = calloc(1, sizeof *w);
  if (w == NULL) return PROMO_ERR_NOMEM;
  bool ok = true;
  w->specs = malloc(n_specs * sizeof *w->specs);
  ok = w->specs != NULL;
  if (ok) {
    memcpy(w->specs, specs, n_specs * sizeof *specs);
    w->n_specs = n_specs;
  }
  w->event_time_column = copy_or_null(opt->event_time_column, &ok);
  w->event_type_column = copy_or_null(opt->event_type_column, &ok);
  w->row_time_column = copy_or_null(opt->row_time_column, &ok);
  if (opt->n_key_renames > 0) {
    w->event_keys = calloc(opt->n_key_renames, sizeof *w->event_keys);
    w->row_keys = calloc(opt->n_key_renames, sizeof *w->row_keys);
    ok = ok && w->event_keys != NULL && w->row_keys != NULL;
    for (size_t i = 0; ok && i < opt->n_key_renames; i++) {
      w->n_key_renames = i + 1;
      w->event_keys[i] = copy_or_null(opt->event_keys[i], &ok);
      w->row_keys[i] = copy_or_null(opt->row_keys[i], &ok);
    }
  }
  if (!ok) {
    promo_window_free(w);
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  }
  *out = w;
  return PROMO_OK;
}

void promo_window_free(promo_window *window) {
  if (window == NULL) return;
  free(window->specs);
  free(window->event_time_column);
  free(window->event_type_column);
  free(window->row_time_column);
  for (size_t i = 0; i < window->n_key_renames; i++) {
    free(window->event_keys[i]);
    free(window->row_keys[i]);
  }
  free(window->event_keys);
  free(window->row_keys);
  free(window);
}

size_t promo_window_n_specs(const promo_window *window) {
  return window->n_specs;
}

const promo_window_spec *promo_window_spec_at(const promo_window *window, size_t i) {
  return i < window->n_specs ? &window->specs[i] : NULL;
}

const char *window_row_key(const promo_window *window, const char *event_key) {
  for (size_t i = 0; i < window->n_key_renames; i++)
    if (strcmp(window->event_keys[i], event_key) == 0) return window->row_keys[i];
  return event_key;
}

/* ===================================================================== JSON */

static json_t *string_or_null(const char *s) {
  return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *string_array(const char (*items)[PROMO_WINDOW_TYPE_SIZE], size_t n) {
  json_t *array = json_array();
  for (size_t i = 0; array != NULL && i < n; i++)
    if (json_array_append_new(array, json_string(items[i])) != 0) {
      json_decref(array);
      return NULL;
    }
  return array;
}

static json_t *spec_to_json(const promo_window_spec *spec) {
  char window[32];
  text_buf b = {window, sizeof window, 0};
  put_window(&b, spec->window_s, spec->window_unit_s);

  json_t *keys = json_array();
  for (size_t k = 0; keys != NULL && k < spec->n_keys; k++)
    if (json_array_append_new(keys, json_string(spec->keys[k])) != 0) {
      json_decref(keys);
      keys = NULL;
    }
  return json_pack("{s:o, s:s, s:o*, s:o*, s:o*, s:o, s:s}", "name", string_or_null(spec->name),
                   "aggregate", aggregate_words[spec->aggregate], "keys", keys, "types",
                   string_array(spec->types, spec->n_types), "base_types",
                   string_array(spec->base_types, spec->n_base_types), "value_column",
                   string_or_null(spec->value_column), "window", window);
}

promo_status promo_window_to_json(const promo_window *window, json_t **out) {
  *out = NULL;
  json_t *specs = json_array();
  json_t *renames = json_array();
  bool ok = specs != NULL && renames != NULL;
  for (size_t s = 0; ok && s < window->n_specs; s++)
    ok = json_array_append_new(specs, spec_to_json(&window->specs[s])) == 0;
  for (size_t i = 0; ok && i < window->n_key_renames; i++)
    ok = json_array_append_new(renames, json_pack("{s:s, s:s}", "event", window->event_keys[i],
                                                  "row", window->row_keys[i])) == 0;
  if (!ok) {
    json_decref(specs);
    json_decref(renames);
    return PROMO_ERR_NOMEM;
  }
  *out =
      json_pack("{s:s, s:o, s:s, s:o, s:o}", "event_time_column", window->event_time_column,
                "event_type_column", string_or_null(window->event_type_column), "row_time_column",
                window->row_time_column, "key_renames", renames, "specs", specs);
  return *out != NULL ? PROMO_OK : PROMO_ERR_NOMEM;
}

static promo_status json_fail(promo_error *err, const char *member, const char *expected) {
  return promo_error_set(err, PROMO_ERR_DATA, _("window JSON: member '%s' must be %s"), member,
                         expected);
}

/* Copy member `key` of obj into dst: a string, or null or absent when is_optional. */
static promo_status json_get_string(const json_t *obj, const char *key, bool is_optional, char *dst,
                                    size_t size, promo_error *err) {
  const json_t *value = json_object_get(obj, key);
  dst[0] = '\0';
  if (value == NULL || json_is_null(value)) {
    if (is_optional) return PROMO_OK;
    return json_fail(err, key, _("a string"));
  }
  if (!json_is_string(value) || json_string_length(value) >= size || json_string_length(value) == 0)
    return json_fail(err, key,
                     is_optional ? _("a non-empty string or null") : _("a non-empty string"));
  memcpy(dst, json_string_value(value), json_string_length(value) + 1);
  return PROMO_OK;
}

/* Copy an array of at most max non-empty strings, each shorter than size bytes. */
static promo_status json_get_strings(const json_t *obj, const char *key, char *dst, size_t size,
                                     size_t max, size_t *n, promo_error *err) {
  const json_t *array = json_object_get(obj, key);
  if (!json_is_array(array) || json_array_size(array) > max)
    return json_fail(err, key, _("an array of strings"));
  for (size_t i = 0; i < json_array_size(array); i++) {
    const json_t *item = json_array_get(array, i);
    if (!json_is_string(item) || json_string_length(item) == 0 || json_string_length(item) >= size)
      return json_fail(err, key, _("an array of non-empty strings"));
    memcpy(dst + i * size, json_string_value(item), json_string_length(item) + 1);
  }
  *n = json_array_size(array);
  return PROMO_OK;
}

static promo_status spec_from_json(const json_t *obj, promo_window_spec *spec, promo_error *err) {
  memset(spec, 0, sizeof *spec);
  if (!json_is_object(obj)) return json_fail(err, "specs", _("an array of objects"));
  char word[32];
  promo_status status = json_get_string(obj, "aggregate", false, word, sizeof word, err);
  if (status != PROMO_OK) return status;
  size_t a = 0;
  while (a < PROMO_WINDOW_N_AGGREGATES && strcmp(word, aggregate_words[a]) != 0) a++;
  if (a == PROMO_WINDOW_N_AGGREGATES)
    return json_fail(err, "aggregate", _("count, sum, mean, rate or recency"));
  spec->aggregate = (promo_window_aggregate)a;

  status = json_get_string(obj, "name", true, spec->name, sizeof spec->name, err);
  if (status == PROMO_OK)
    status = json_get_string(obj, "value_column", true, spec->value_column,
                             sizeof spec->value_column, err);
  if (status == PROMO_OK)
    status = json_get_strings(obj, "keys", spec->keys[0], sizeof spec->keys[0],
                              PROMO_WINDOW_MAX_KEYS, &spec->n_keys, err);
  if (status == PROMO_OK)
    status = json_get_strings(obj, "types", spec->types[0], sizeof spec->types[0],
                              PROMO_WINDOW_MAX_TYPES, &spec->n_types, err);
  if (status == PROMO_OK)
    status = json_get_strings(obj, "base_types", spec->base_types[0], sizeof spec->base_types[0],
                              PROMO_WINDOW_MAX_TYPES, &spec->n_base_types, err);
  if (status != PROMO_OK) return status;

  char window[32];
  status = json_get_string(obj, "window", false, window, sizeof window, err);
  if (status != PROMO_OK) return status;
  parse_state st = {.text = window};
  if (!parse_window(&st, (span){window, strlen(window), 0}, &spec->window_s, &spec->window_unit_s))
    return promo_error_set(err, PROMO_ERR_DATA, _("window JSON: %s"), st.why);
  return PROMO_OK;
}

promo_status promo_window_from_json(const json_t *json, promo_window **out, promo_error *err) {
  *out = NULL;
  if (!json_is_object(json)) return json_fail(err, "window", _("an object"));
  char time_column[PROMO_WINDOW_NAME_SIZE], type_column[PROMO_WINDOW_NAME_SIZE],
      row_time_column[PROMO_WINDOW_NAME_SIZE];
  promo_status status =
      json_get_string(json, "event_time_column", false, time_column, sizeof time_column, err);
  if (status == PROMO_OK)
    status = json_get_string(json, "event_type_column", true, type_column, sizeof type_column, err);
  if (status == PROMO_OK)
    status = json_get_string(json, "row_time_column", false, row_time_column,
                             sizeof row_time_column, err);
  if (status != PROMO_OK) return status;

  const json_t *renames = json_object_get(json, "key_renames");
  const json_t *specs_json = json_object_get(json, "specs");
  if (!json_is_array(renames)) return json_fail(err, "key_renames", _("an array of objects"));
  if (!json_is_array(specs_json)) return json_fail(err, "specs", _("an array of objects"));

  size_t n_renames = json_array_size(renames);
  size_t n_specs = json_array_size(specs_json);
  const char **event_keys = calloc(n_renames + 1, sizeof *event_keys);
  const char **row_keys = calloc(n_renames + 1, sizeof *row_keys);
  promo_window_spec *specs = calloc(n_specs + 1, sizeof *specs);
  if (event_keys == NULL || row_keys == NULL || specs == NULL) {
    status = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    goto done;
  }
  for (size_t i = 0; i < n_renames; i++) {
    const json_t *item = json_array_get(renames, i);
    event_keys[i] = json_string_value(json_object_get(item, "event"));
    row_keys[i] = json_string_value(json_object_get(item, "row"));
    if (event_keys[i] == NULL || row_keys[i] == NULL) {
      status = json_fail(err, "key_renames", _("an array of {\"event\", \"row\"} objects"));
      goto done;
    }
  }
  for (size_t s = 0; s < n_specs && status == PROMO_OK; s++)
    status = spec_from_json(json_array_get(specs_json, s), &specs[s], err);
  if (status != PROMO_OK) goto done;

  promo_window_options opt;
  promo_window_options_init(&opt);
  opt.event_time_column = time_column;
  opt.event_type_column = type_column;
  opt.row_time_column = row_time_column;
  opt.n_key_renames = n_renames;
  opt.event_keys = event_keys;
  opt.row_keys = row_keys;
  status = promo_window_create(specs, n_specs, &opt, out, err);

done:
  free(event_keys);
  free(row_keys);
  free(specs);
  return status;
}
