/* Calendar and event features for the feature stage. A DATE or DATETIME column becomes
 * day of week, ISO week, month, hour, weekend and distances to shopping events, from a
 * built-in Chinese calendar (元旦, 春节, 618, 国庆, 双11, 双12) and user event files. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "promo/feature.h"

#define JSON_FORMAT_VERSION 1
#define SECONDS_PER_DAY 86400

/* ===================================================================== built-in calendar */

/* Gregorian dates of 春节 (lunar 1/1), 1900 to 2099, as YYYYMMDD. Taken from lunardate
 * 0.2.0 (Debian python3-lunardate), whose tables come from the Hong Kong Observatory's
 * Gregorian-lunar conversion tables, and checked against ICU 72's ChineseCalendar, which
 * agrees except in 1954, 2027 and 2030. In those three years the new moon falls within 10
 * minutes of midnight Beijing time, and PyEphem 4.1 places it on the dates kept here.
 * tests/fixtures/make_timefeat.py regenerates and rechecks the table. */
static const int32_t CNY_DATES[] = {
    19000131, 19010219, 19020208, 19030129, 19040216, 19050204, 19060125, 19070213,
    19080202, 19090122, 19100210, 19110130, 19120218, 19130206, 19140126, 19150214,
    19160203, 19170123, 19180211, 19190201, 19200220, 19210208, 19220128, 19230216,
    19240205, 19250124, 19260213, 19270202, 19280123, 19290210, 19300130, 19310217,
    19320206, 19330126, 19340214, 19350204, 19360124, 19370211, 19380131, 19390219,
    19400208, 19410127, 19420215, 19430205, 19440125, 19450213, 19460202, 19470122,
    19480210, 19490129, 19500217, 19510206, 19520127, 19530214, 19540203, 19550124,
    19560212, 19570131, 19580218, 19590208, 19600128, 19610215, 19620205, 19630125,
    19640213, 19650202, 19660121, 19670209, 19680130, 19690217, 19700206, 19710127,
    19720215, 19730203, 19740123, 19750211, 19760131, 19770218, 19780207, 19790128,
    19800216, 19810205, 19820125, 19830213, 19840202, 19850220, 19860209, 19870129,
    19880217, 19890206, 19900127, 19910215, 19920204, 19930123, 19940210, 19950131,
    19960219, 19970207, 19980128, 19990216, 20000205, 20010124, 20020212, 20030201,
    20040122, 20050209, 20060129, 20070218, 20080207, 20090126, 20100214, 20110203,
    20120123, 20130210, 20140131, 20150219, 20160208, 20170128, 20180216, 20190205,
    20200125, 20210212, 20220201, 20230122, 20240210, 20250129, 20260217, 20270206,
    20280126, 20290213, 20300203, 20310123, 20320211, 20330131, 20340219, 20350208,
    20360128, 20370215, 20380204, 20390124, 20400212, 20410201, 20420122, 20430210,
    20440130, 20450217, 20460206, 20470126, 20480214, 20490202, 20500123, 20510211,
    20520201, 20530219, 20540208, 20550128, 20560215, 20570204, 20580124, 20590212,
    20600202, 20610121, 20620209, 20630129, 20640217, 20650205, 20660126, 20670214,
    20680203, 20690123, 20700211, 20710131, 20720219, 20730207, 20740127, 20750215,
    20760205, 20770124, 20780212, 20790202, 20800122, 20810209, 20820129, 20830217,
    20840206, 20850126, 20860214, 20870203, 20880124, 20890210, 20900130, 20910218,
    20920207, 20930127, 20940215, 20950205, 20960125, 20970212, 20980201, 20990121,
};

#define CALENDAR_FIRST_YEAR 1900
#define CALENDAR_LAST_YEAR 2099
#define N_CALENDAR_YEARS (CALENDAR_LAST_YEAR - CALENDAR_FIRST_YEAR + 1)
_Static_assert(sizeof CNY_DATES / sizeof CNY_DATES[0] == N_CALENDAR_YEARS,
               "one 春节 date per calendar year");

/* A built-in event: a fixed month and day, or month 0 for 春节 from CNY_DATES. */
typedef struct builtin_event {
  const char *key;
  unsigned month, day;
} builtin_event;

static const builtin_event BUILTIN_EVENTS[] = {
    {"new_year", 1, 1},      /* 元旦 */
    {"cny", 0, 0},           /* 春节 */
    {"618", 6, 18},          /* 618 mid-year sale */
    {"national_day", 10, 1}, /* 国庆 */
    {"double11", 11, 11},    /* 双11 */
    {"double12", 12, 12},    /* 双12 */
};
#define N_BUILTIN_EVENTS (sizeof BUILTIN_EVENTS / sizeof BUILTIN_EVENTS[0])

/* ===================================================================== types */

/* Days first .. last inclusive, in days since 1970-01-01. */
typedef struct interval {
  int32_t first, last;
} interval;

/* Occurrences of one event, sorted, with no two overlapping or adjacent, so a day is in
 * at most one and a binary search finds its neighbours. */
typedef struct event {
  char *name;
  interval *occurrences;
  size_t n_occurrences, capacity;
} event;

struct promo_timefeat {
  char *column;
  promo_timefeat_options opt;
  size_t n_builtin;   /* events[0 .. n_builtin) are the built-in calendar */
  size_t n_events;
  event events[PROMO_TIMEFEAT_MAX_EVENTS];
};

/* Spec and JSON keywords of the feature bits, and their output column names, in output
 * order. */
typedef struct feature_info {
  unsigned bit;
  const char *keyword;
  const char *output_name;
} feature_info;

static const feature_info FEATURES[] = {
    {PROMO_TIMEFEAT_DOW, "dow", "day_of_week"},
    {PROMO_TIMEFEAT_DOM, "dom", "day_of_month"},
    {PROMO_TIMEFEAT_WEEK, "week", "iso_week"},
    {PROMO_TIMEFEAT_MONTH, "month", "month"},
    {PROMO_TIMEFEAT_HOUR, "hour", "hour"},
    {PROMO_TIMEFEAT_WEEKEND, "weekend", "is_weekend"},
    {PROMO_TIMEFEAT_EVENTS, "events", NULL},
};
#define N_FEATURES (sizeof FEATURES / sizeof FEATURES[0])
#define ALL_FEATURE_BITS 0x7Fu

static promo_status out_of_memory(promo_error *err) {
  return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
}

/* ===================================================================== options and spec */

void promo_timefeat_options_init(promo_timefeat_options *opt) {
  opt->features = PROMO_TIMEFEAT_DOW | PROMO_TIMEFEAT_DOM | PROMO_TIMEFEAT_WEEK |
                  PROMO_TIMEFEAT_MONTH | PROMO_TIMEFEAT_WEEKEND | PROMO_TIMEFEAT_EVENTS;
  opt->window_days = PROMO_TIMEFEAT_DEFAULT_WINDOW;
  opt->builtin_events = true;
}

static bool is_space(char c) {
  return c == ' ' || c == '\t';
}

static bool token_equals(const char *s, size_t len, const char *keyword) {
  return strlen(keyword) == len && memcmp(s, keyword, len) == 0;
}

/* Parse the DAYS of "window=DAYS" (text of len bytes) with strtol. */
static bool parse_window(const char *s, size_t len, int32_t *days) {
  char digits[16];
  if (len == 0 || len >= sizeof digits) return false;
  memcpy(digits, s, len);
  digits[len] = '\0';
  char *end = NULL;
  errno = 0;
  long value = strtol(digits, &end, 10);
  if (errno != 0 || end != digits + len || value < 1 || value > PROMO_TIMEFEAT_MAX_WINDOW)
    return false;
  *days = (int32_t)value;
  return true;
}

/* Apply one trimmed token of a spec; returns false when it is not a known token. */
static bool apply_token(const char *s, size_t len, unsigned *features, int32_t *window) {
  static const char window_prefix[] = "window=";
  size_t prefix_len = sizeof window_prefix - 1;
  if (len > prefix_len && memcmp(s, window_prefix, prefix_len) == 0)
    return parse_window(s + prefix_len, len - prefix_len, window);
  for (size_t i = 0; i < N_FEATURES; i++) {
    if (token_equals(s, len, FEATURES[i].keyword)) {
      *features |= FEATURES[i].bit;
      return true;
    }
  }
  return false;
}

promo_status promo_timefeat_parse_spec(const char *spec, promo_timefeat_options *opt,
                                       promo_error *err) {
  unsigned features = 0;
  int32_t window = opt->window_days;
  const char *p = spec;
  for (;;) {
    /* Keywords are separated by ',' or '+' (the form that fits in a --transform list). */
    const char *end = p + strcspn(p, ",+");
    const char *first = p, *last = end;
    while (first < last && is_space(*first)) first++;
    while (last > first && is_space(last[-1])) last--;
    size_t len = (size_t)(last - first);

    if (len > 0 && !apply_token(first, len, &features, &window)) {
      promo_error_at(err, NULL, 0, (int64_t)(first - spec) + 1);
      promo_error_value(err, first, (int64_t)len);
      return promo_error_set(err, PROMO_ERR_USAGE,
                             _("unknown time feature '%.*s'; expected dow, dom, week, month, "
                               "hour, weekend, events or window=DAYS (1 to %d)"),
                             (int)len, first, PROMO_TIMEFEAT_MAX_WINDOW);
    }
    if (*end == '\0') break;
    p = end + 1;
  }
  if (features == 0)
    return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                           _("the time feature list names no feature; expected for example "
                             "dow,month,events"));
  opt->features = features;
  opt->window_days = window;
  return PROMO_OK;
}

/* ===================================================================== events */

static void event_clear(event *ev) {
  free(ev->name);
  free(ev->occurrences);
  memset(ev, 0, sizeof *ev);
}

/* Insert [first, last] into the event's occurrences, merging it with every occurrence it
 * overlaps or touches so the list stays sorted and disjoint. */
static promo_status event_insert(event *ev, int32_t first, int32_t last) {
  /* Occurrences [i, j) overlap or touch the new one. */
  size_t i = 0;
  while (i < ev->n_occurrences && (int64_t)ev->occurrences[i].last + 1 < first) i++;
  size_t j = i;
  while (j < ev->n_occurrences && ev->occurrences[j].first <= (int64_t)last + 1) j++;

  if (i < j) {
    if (ev->occurrences[i].first < first) first = ev->occurrences[i].first;
    if (ev->occurrences[j - 1].last > last) last = ev->occurrences[j - 1].last;
    ev->occurrences[i] = (interval){first, last};
    memmove(ev->occurrences + i + 1, ev->occurrences + j,
            (ev->n_occurrences - j) * sizeof(interval));
    ev->n_occurrences -= j - i - 1;
    return PROMO_OK;
  }

  if (ev->n_occurrences == ev->capacity) {
    size_t capacity = ev->capacity == 0 ? 8 : ev->capacity * 2;
    interval *grown = realloc(ev->occurrences, capacity * sizeof(interval));
    if (grown == NULL) return PROMO_ERR_NOMEM;
    ev->occurrences = grown;
    ev->capacity = capacity;
  }
  memmove(ev->occurrences + i + 1, ev->occurrences + i,
          (ev->n_occurrences - i) * sizeof(interval));
  ev->occurrences[i] = (interval){first, last};
  ev->n_occurrences++;
  return PROMO_OK;
}

static int32_t days_from_yyyymmdd(int32_t date) {
  return promo_days_from_civil(date / 10000, (unsigned)(date / 100 % 100), (unsigned)(date % 100));
}

/* Fill the built-in events with every occurrence from CALENDAR_FIRST_YEAR to
 * CALENDAR_LAST_YEAR. */
static promo_status add_builtin_events(promo_timefeat *tf) {
  for (size_t e = 0; e < N_BUILTIN_EVENTS; e++) {
    const builtin_event *b = &BUILTIN_EVENTS[e];
    event *ev = &tf->events[tf->n_events];
    ev->name = strdup(b->key);
    if (ev->name == NULL) return PROMO_ERR_NOMEM;
    tf->n_events++;
    for (int year = CALENDAR_FIRST_YEAR; year <= CALENDAR_LAST_YEAR; year++) {
      int32_t day = b->month == 0 ? days_from_yyyymmdd(CNY_DATES[year - CALENDAR_FIRST_YEAR])
                                  : promo_days_from_civil(year, b->month, b->day);
      if (event_insert(ev, day, day) != PROMO_OK) return PROMO_ERR_NOMEM;
    }
  }
  tf->n_builtin = tf->n_events;
  return PROMO_OK;
}

/* Check a user event name; returns NULL when valid, else the reason (untranslated). */
static const char *name_problem(const char *name) {
  size_t len = strlen(name);
  if (len == 0) return N_("the event name is empty");
  if (len > PROMO_TIMEFEAT_MAX_NAME) return N_("the event name is longer than 64 bytes");
  if (is_space(name[0]) || is_space(name[len - 1]))
    return N_("the event name starts or ends with a space");
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c < 0x20 || c == 0x7F) return N_("the event name contains a control character");
  }
  return NULL;
}

promo_status promo_timefeat_add_event(promo_timefeat *tf, const char *name, int32_t first_day,
                                      int32_t last_day, promo_error *err) {
  const char *problem = name_problem(name);
  if (problem != NULL) {
    promo_error_value(err, name, -1);
    return promo_error_set(err, PROMO_ERR_DATA, "%s", _(problem));
  }
  if (last_day < first_day) {
    char first_text[16], last_text[16];
    promo_format_date(first_day, first_text);
    promo_format_date(last_day, last_text);
    promo_error_value(err, last_text, -1);
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("event '%s' ends on %s, before it starts on %s"), name, last_text,
                           first_text);
  }

  size_t e = 0;
  while (e < tf->n_events && strcmp(tf->events[e].name, name) != 0) e++;
  if (e < tf->n_builtin) {
    promo_error_value(err, name, -1);
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("event '%s' is a built-in event; rename it, or turn the built-in "
                             "calendar off"),
                           name);
  }
  if (e == tf->n_events) {
    if (tf->n_events == PROMO_TIMEFEAT_MAX_EVENTS)
      return promo_error_set(err, PROMO_ERR_USAGE,
                             _("too many events: at most %d, counting the built-in ones"),
                             PROMO_TIMEFEAT_MAX_EVENTS);
    tf->events[e].name = strdup(name);
    if (tf->events[e].name == NULL) return out_of_memory(err);
    tf->n_events++;
  }
  if (event_insert(&tf->events[e], first_day, last_day) != PROMO_OK) return out_of_memory(err);
  return PROMO_OK;
}

/* ===================================================================== create and free */

promo_status promo_timefeat_create(const char *column, const promo_timefeat_options *opt,
                                   promo_timefeat **out, promo_error *err) {
  *out = NULL;
  promo_timefeat_options defaults;
  if (opt == NULL) {
    promo_timefeat_options_init(&defaults);
    opt = &defaults;
  }
  if (column == NULL || column[0] == '\0')
    return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                           _("time features need the name of a date or datetime column"));
  if (opt->features == 0 || (opt->features & ~ALL_FEATURE_BITS) != 0)
    return promo_error_set(err, PROMO_ERR_USAGE, _("invalid time feature selection 0x%x"),
                           opt->features);
  if (opt->window_days < 1 || opt->window_days > PROMO_TIMEFEAT_MAX_WINDOW)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("event window of %" PRId32 " days is outside 1 to %d"),
                           opt->window_days, PROMO_TIMEFEAT_MAX_WINDOW);

  promo_timefeat *tf = calloc(1, sizeof *tf);
  if (tf == NULL) return out_of_memory(err);
  tf->opt = *opt;
  tf->column = strdup(column);
  if (tf->column == NULL || (opt->builtin_events && add_builtin_events(tf) != PROMO_OK)) {
    promo_timefeat_free(tf);
    return out_of_memory(err);
  }
  *out = tf;
  return PROMO_OK;
}

void promo_timefeat_free(promo_timefeat *tf) {
  if (tf == NULL) return;
  for (size_t e = 0; e < tf->n_events; e++) event_clear(&tf->events[e]);
  free(tf->column);
  free(tf);
}

const char *promo_timefeat_column(const promo_timefeat *tf) {
  return tf->column;
}

/* ===================================================================== outputs */

size_t promo_timefeat_n_outputs(const promo_timefeat *tf) {
  size_t n = 0;
  for (size_t i = 0; i < N_FEATURES; i++) {
    if ((tf->opt.features & FEATURES[i].bit) == 0) continue;
    n += FEATURES[i].bit == PROMO_TIMEFEAT_EVENTS ? 2 * tf->n_events : 1;
  }
  return n;
}

size_t promo_timefeat_output_name(const promo_timefeat *tf, size_t i, char *buf, size_t size) {
  for (size_t f = 0; f < N_FEATURES; f++) {
    if ((tf->opt.features & FEATURES[f].bit) == 0) continue;
    size_t count = FEATURES[f].bit == PROMO_TIMEFEAT_EVENTS ? 2 * tf->n_events : 1;
    if (i >= count) {
      i -= count;
      continue;
    }
    int n = FEATURES[f].bit == PROMO_TIMEFEAT_EVENTS
                ? snprintf(buf, size, "%s_%s", i % 2 == 0 ? "days_to" : "days_since",
                           tf->events[i / 2].name)
                : snprintf(buf, size, "%s", FEATURES[f].output_name);
    return n < 0 ? 0 : (size_t)n;
  }
  if (size > 0) buf[0] = '\0';
  return 0;
}

/* ===================================================================== calendar math */

/* Floor division for a possibly negative numerator and a positive divisor. */
static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* Day of week with 0 = Monday. 1970-01-01 (day 0) was a Thursday. */
static int day_of_week(int32_t day) {
  return (int)(((int64_t)day % 7 + 7 + 3) % 7);
}

/* ISO 8601 week number: the week (Monday to Sunday) belongs to the year of its Thursday,
 * and week 1 is the week that contains that year's first Thursday. */
static int iso_week(int32_t day) {
  int32_t thursday = day - day_of_week(day) + 3;
  int year;
  unsigned month, dom;
  promo_civil_from_days(thursday, &year, &month, &dom);
  return (int)((thursday - promo_days_from_civil(year, 1, 1)) / 7 + 1);
}

/* Distances in days from `day` to the next occurrence (to) and from the last one
 * (since), both capped at window; 0 and 0 inside an occurrence. */
static void event_distances(const event *ev, int32_t day, int32_t window, int32_t *to,
                            int32_t *since) {
  /* lo = number of occurrences that start on or before day. */
  size_t lo = 0, hi = ev->n_occurrences;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (ev->occurrences[mid].first <= day)
      lo = mid + 1;
    else
      hi = mid;
  }
  int64_t to_days = window, since_days = window;
  if (lo > 0) {
    const interval *before = &ev->occurrences[lo - 1];
    if (before->last >= day) {
      *to = 0;
      *since = 0;
      return;
    }
    since_days = (int64_t)day - before->last;
  }
  if (lo < ev->n_occurrences) to_days = (int64_t)ev->occurrences[lo].first - day;
  *to = (int32_t)(to_days < window ? to_days : window);
  *since = (int32_t)(since_days < window ? since_days : window);
}

/* ===================================================================== compute */

/* Split a value into days since the epoch and an hour of day (0 for dates). */
static promo_status split_value(int64_t value, bool is_datetime, int32_t *day, int *hour,
                                promo_error *err) {
  if (!is_datetime) {
    if (value < INT32_MIN || value > INT32_MAX)
      return promo_error_set(err, PROMO_ERR_UNSUPPORTED,
                             _("date value %" PRId64 " is outside the supported range"), value);
    *day = (int32_t)value;
    *hour = 0;
    return PROMO_OK;
  }
  int64_t days = floor_div(value, SECONDS_PER_DAY);
  if (days < INT32_MIN || days > INT32_MAX)
    return promo_error_set(err, PROMO_ERR_UNSUPPORTED,
                           _("datetime value %" PRId64 " is outside the supported range"),
                           value);
  *day = (int32_t)days;
  *hour = (int)((value - days * SECONDS_PER_DAY) / 3600);
  return PROMO_OK;
}

/* Check that the window around day lies within the built-in calendar's years. */
static promo_status check_calendar_range(const promo_timefeat *tf, int32_t day,
                                         promo_error *err) {
  int64_t first = promo_days_from_civil(CALENDAR_FIRST_YEAR, 1, 1);
  int64_t last = promo_days_from_civil(CALENDAR_LAST_YEAR, 12, 31);
  int64_t window = tf->opt.window_days;
  if ((int64_t)day - window >= first && (int64_t)day + window <= last) return PROMO_OK;
  char text[16];
  promo_format_date(day, text);
  promo_error_value(err, text, -1);
  return promo_error_set(err, PROMO_ERR_UNSUPPORTED,
                         _("date %s is too close to or outside the built-in event calendar "
                           "(%d to %d, with a %" PRId32 "-day window); turn the built-in "
                           "events off for such dates"),
                         text, CALENDAR_FIRST_YEAR, CALENDAR_LAST_YEAR, tf->opt.window_days);
}

/* Checks that do not depend on the value: hour needs a datetime, events need an event. */
static promo_status check_request(const promo_timefeat *tf, bool is_datetime,
                                  promo_error *err) {
  if ((tf->opt.features & PROMO_TIMEFEAT_HOUR) && !is_datetime)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("the hour feature needs a datetime column, and '%s' holds dates"),
                           tf->column);
  if ((tf->opt.features & PROMO_TIMEFEAT_EVENTS) && tf->n_events == 0)
    return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                           _("event features were requested, but there are no events; turn "
                             "the built-in calendar on or load an event file"));
  return PROMO_OK;
}

/* Compute the outputs of one value; the request was already checked. */
static promo_status compute_value(const promo_timefeat *tf, int64_t value, bool is_datetime,
                                  float *out, promo_error *err) {
  int32_t day = 0;
  int hour = 0;
  promo_status st = split_value(value, is_datetime, &day, &hour, err);
  if (st != PROMO_OK) return st;
  unsigned features = tf->opt.features;
  if ((features & PROMO_TIMEFEAT_EVENTS) && tf->n_builtin > 0) {
    st = check_calendar_range(tf, day, err);
    if (st != PROMO_OK) return st;
  }

  int year;
  unsigned month, dom;
  promo_civil_from_days(day, &year, &month, &dom);
  int dow = day_of_week(day);
  size_t k = 0;
  if (features & PROMO_TIMEFEAT_DOW) out[k++] = (float)dow;
  if (features & PROMO_TIMEFEAT_DOM) out[k++] = (float)dom;
  if (features & PROMO_TIMEFEAT_WEEK) out[k++] = (float)iso_week(day);
  if (features & PROMO_TIMEFEAT_MONTH) out[k++] = (float)month;
  if (features & PROMO_TIMEFEAT_HOUR) out[k++] = (float)hour;
  if (features & PROMO_TIMEFEAT_WEEKEND) out[k++] = dow >= 5 ? 1.0f : 0.0f;
  if (features & PROMO_TIMEFEAT_EVENTS) {
    for (size_t e = 0; e < tf->n_events; e++) {
      int32_t to, since;
      event_distances(&tf->events[e], day, tf->opt.window_days, &to, &since);
      out[k++] = (float)to;
      out[k++] = (float)since;
    }
  }
  return PROMO_OK;
}

promo_status promo_timefeat_compute(const promo_timefeat *tf, int64_t value, bool is_datetime,
                                    float *out, promo_error *err) {
  promo_status st = check_request(tf, is_datetime, err);
  if (st != PROMO_OK) return st;
  return compute_value(tf, value, is_datetime, out, err);
}

/* Point err at a table row: its source line and the column name. */
static void error_at_row(promo_error *err, const promo_table *table, size_t row,
                         const char *column) {
  promo_error_at(err, NULL, table->lines != NULL ? table->lines[row] : 0, 0);
  if (err != NULL) snprintf(err->column_name, sizeof err->column_name, "%s", column);
}

promo_status promo_timefeat_transform(const promo_timefeat *tf, const promo_table *table,
                                      float *out, size_t out_stride, size_t out_offset,
                                      promo_error *err) {
  ptrdiff_t c = promo_table_find(table, tf->column);
  if (c < 0)
    return promo_error_set(err, PROMO_ERR_USAGE, _("column '%s' for time features not found"),
                           tf->column);
  const promo_column *col = &table->columns[c];
  if (col->type != PROMO_TYPE_DATE && col->type != PROMO_TYPE_DATETIME)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("column '%s' holds %s values; time features need a date or "
                             "datetime column"),
                           tf->column, promo_type_name(col->type));
  size_t n_outputs = promo_timefeat_n_outputs(tf);
  if (out_offset > out_stride || n_outputs > out_stride - out_offset)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("time feature columns %zu to %zu do not fit in rows of %zu values"),
                           out_offset + 1, out_offset + n_outputs, out_stride);
  bool is_datetime = col->type == PROMO_TYPE_DATETIME;
  promo_status st = check_request(tf, is_datetime, err);
  if (st != PROMO_OK) return st;

  for (size_t r = 0; r < table->n_rows; r++) {
    if (col->is_missing[r]) {
      error_at_row(err, table, r, tf->column);
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("column '%s' has a missing or invalid %s; fill or drop such "
                               "rows before computing time features"),
                             tf->column, is_datetime ? _("datetime") : _("date"));
    }
    st = compute_value(tf, col->ints[r], is_datetime, out + r * out_stride + out_offset, err);
    if (st != PROMO_OK) {
      error_at_row(err, table, r, tf->column);
      return st;
    }
  }
  return PROMO_OK;
}

/* ===================================================================== event files */

/* True when a and b are equal ignoring ASCII case. */
static bool ascii_equal_ci(const char *a, const char *b) {
  for (; *a != '\0' && *b != '\0'; a++, b++) {
    char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
    char cb = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
    if (ca != cb) return false;
  }
  return *a == *b;
}

/* Columns of an event file: indexes of name, date and end_date (-1 when absent). */
typedef struct event_columns {
  ptrdiff_t name, date, end_date;
} event_columns;

static promo_status find_event_columns(const promo_csv *reader, const char *path,
                                       event_columns *cols, promo_error *err) {
  cols->name = cols->date = cols->end_date = -1;
  for (size_t i = 0; i < promo_csv_n_columns(reader); i++) {
    const char *header = promo_csv_column_name(reader, i);
    if (ascii_equal_ci(header, "name") && cols->name < 0) cols->name = (ptrdiff_t)i;
    if (ascii_equal_ci(header, "date") && cols->date < 0) cols->date = (ptrdiff_t)i;
    if (ascii_equal_ci(header, "end_date") && cols->end_date < 0) cols->end_date = (ptrdiff_t)i;
  }
  if (cols->name >= 0 && cols->date >= 0) return PROMO_OK;
  promo_error_at(err, path, 1, 0);
  return promo_error_set(err, PROMO_ERR_DATA,
                         _("the event file has no '%s' column; its header needs name and date, "
                           "and may add end_date"),
                         cols->name < 0 ? "name" : "date");
}

/* Parse the date in field `index` of a record; on failure fill err with its location. */
static promo_status parse_event_date(const promo_csv_record *record, size_t index,
                                     const char *path, const char *column, int32_t *day,
                                     promo_error *err) {
  if (promo_parse_date(record->fields[index], record->lengths[index], day, NULL))
    return PROMO_OK;
  promo_error_at(err, path, record->line, (int64_t)index + 1);
  promo_error_value(err, record->fields[index], record->lengths[index]);
  if (err != NULL) snprintf(err->column_name, sizeof err->column_name, "%s", column);
  return promo_error_set(err, PROMO_ERR_DATA,
                         _("invalid %s '%s'; expected a date such as 2024-11-11"), column,
                         err != NULL ? err->value : record->fields[index]);
}

/* Add the occurrence in one record of an event file. */
static promo_status add_event_record(promo_timefeat *tf, const promo_csv_record *record,
                                     const event_columns *cols, const char *path,
                                     promo_error *err) {
  size_t name_index = (size_t)cols->name;
  int32_t first = 0, last = 0;
  promo_status st = parse_event_date(record, (size_t)cols->date, path, "date", &first, err);
  if (st != PROMO_OK) return st;
  last = first;
  if (cols->end_date >= 0) {
    size_t e = (size_t)cols->end_date;
    if (!promo_value_is_missing(record->fields[e], record->lengths[e])) {
      st = parse_event_date(record, e, path, "end_date", &last, err);
      if (st != PROMO_OK) return st;
    }
  }

  /* Spaces around the name are dropped; a name too long for the buffer is rejected here,
   * with the whole field as the value. */
  char name[PROMO_TIMEFEAT_MAX_NAME + 1];
  const char *text = record->fields[name_index];
  size_t len = record->lengths[name_index];
  while (len > 0 && is_space(text[0])) {
    text++;
    len--;
  }
  while (len > 0 && is_space(text[len - 1])) len--;
  if (len > PROMO_TIMEFEAT_MAX_NAME) {
    promo_error_at(err, path, record->line, (int64_t)name_index + 1);
    promo_error_value(err, record->fields[name_index], record->lengths[name_index]);
    return promo_error_set(err, PROMO_ERR_DATA, "%s",
                           _("the event name is longer than 64 bytes"));
  }
  memcpy(name, text, len);
  name[len] = '\0';

  st = promo_timefeat_add_event(tf, name, first, last, err);
  if (st != PROMO_OK) {
    size_t column = st == PROMO_ERR_DATA && last < first ? (size_t)cols->end_date : name_index;
    promo_error_at(err, path, record->line, (int64_t)column + 1);
  }
  return st;
}

promo_status promo_timefeat_load_events(promo_timefeat *tf, const char *path,
                                        promo_error *err) {
  promo_csv *reader = NULL;
  promo_status st = promo_csv_open(path, NULL, &reader, err);
  if (st != PROMO_OK) return st;
  event_columns cols;
  st = find_event_columns(reader, path, &cols, err);

  promo_csv_record record;
  while (st == PROMO_OK) {
    st = promo_csv_next(reader, &record, err);
    if (st == PROMO_END) {
      st = PROMO_OK;
      break;
    }
    if (st == PROMO_OK) st = add_event_record(tf, &record, &cols, path, err);
  }
  promo_csv_close(reader);
  return st;
}

/* ===================================================================== JSON */

/* ["first", "last"] as YYYY-MM-DD strings. */
static json_t *json_interval(const interval *occurrence) {
  char first[16], last[16];
  promo_format_date(occurrence->first, first);
  promo_format_date(occurrence->last, last);
  return json_pack("[s, s]", first, last);
}

/* {"name": ..., "occurrences": [["first", "last"], ...]}, or NULL when out of memory. */
static json_t *json_event(const event *ev) {
  json_t *occurrences = json_array();
  if (occurrences == NULL) return NULL;
  for (size_t i = 0; i < ev->n_occurrences; i++) {
    if (json_array_append_new(occurrences, json_interval(&ev->occurrences[i])) != 0) {
      json_decref(occurrences);
      return NULL;
    }
  }
  return json_pack("{s:s, s:o}", "name", ev->name, "occurrences", occurrences);
}

static json_t *json_user_events(const promo_timefeat *tf) {
  json_t *events = json_array();
  if (events == NULL) return NULL;
  for (size_t e = tf->n_builtin; e < tf->n_events; e++) {
    if (json_array_append_new(events, json_event(&tf->events[e])) != 0) {
      json_decref(events);
      return NULL;
    }
  }
  return events;
}

promo_status promo_timefeat_to_json(const promo_timefeat *tf, json_t **out) {
  *out = NULL;
  json_t *features = json_array();
  if (features == NULL) return PROMO_ERR_NOMEM;
  for (size_t i = 0; i < N_FEATURES; i++) {
    if ((tf->opt.features & FEATURES[i].bit) != 0 &&
        json_array_append_new(features, json_string(FEATURES[i].keyword)) != 0) {
      json_decref(features);
      return PROMO_ERR_NOMEM;
    }
  }
  json_t *root = json_pack("{s:s, s:i, s:s, s:o, s:i, s:b, s:o*}", "type", "time_features",
                           "version", JSON_FORMAT_VERSION, "column", tf->column, "features",
                           features, "window_days", (int)tf->opt.window_days, "builtin_events",
                           (int)tf->opt.builtin_events, "events", json_user_events(tf));
  if (root == NULL || json_object_get(root, "events") == NULL) {
    json_decref(root);
    return PROMO_ERR_NOMEM;
  }
  *out = root;
  return PROMO_OK;
}

static promo_status json_key_error(promo_error *err, const char *key, const char *expected) {
  if (err != NULL) snprintf(err->column_name, sizeof err->column_name, "%s", key);
  return promo_error_set(err, PROMO_ERR_DATA,
                         _("time feature key '%s' is missing or invalid: expected %s"), key,
                         expected);
}

/* Read the options stored by promo_timefeat_to_json. */
static promo_status json_read_options(const json_t *json, promo_timefeat_options *opt,
                                      promo_error *err) {
  const json_t *version = json_object_get(json, "version");
  if (!json_is_integer(version) || json_integer_value(version) != JSON_FORMAT_VERSION)
    return json_key_error(err, "version", "1");
  const json_t *features = json_object_get(json, "features");
  if (!json_is_array(features)) return json_key_error(err, "features", _("an array of names"));
  opt->features = 0;
  for (size_t i = 0; i < json_array_size(features); i++) {
    const char *name = json_string_value(json_array_get(features, i));
    size_t f = 0;
    while (f < N_FEATURES && (name == NULL || strcmp(name, FEATURES[f].keyword) != 0)) f++;
    if (f == N_FEATURES)
      return json_key_error(err, "features",
                            _("dow, dom, week, month, hour, weekend or events"));
    opt->features |= FEATURES[f].bit;
  }
  const json_t *window = json_object_get(json, "window_days");
  if (!json_is_integer(window) || json_integer_value(window) < 1 ||
      json_integer_value(window) > PROMO_TIMEFEAT_MAX_WINDOW)
    return json_key_error(err, "window_days", _("a whole number of days from 1 to 366"));
  opt->window_days = (int32_t)json_integer_value(window);
  const json_t *builtin = json_object_get(json, "builtin_events");
  if (!json_is_boolean(builtin)) return json_key_error(err, "builtin_events", "true or false");
  opt->builtin_events = json_is_true(builtin);
  return PROMO_OK;
}

/* Parse one ["first", "last"] pair of a stored event. */
static bool json_read_interval(const json_t *pair, int32_t *first, int32_t *last) {
  const char *a = json_string_value(json_array_get(pair, 0));
  const char *b = json_string_value(json_array_get(pair, 1));
  return json_array_size(pair) == 2 && a != NULL && b != NULL &&
         promo_parse_date(a, strlen(a), first, NULL) && promo_parse_date(b, strlen(b), last, NULL);
}

static promo_status json_read_events(const json_t *events, promo_timefeat *tf,
                                     promo_error *err) {
  if (!json_is_array(events)) return json_key_error(err, "events", _("an array of events"));
  for (size_t e = 0; e < json_array_size(events); e++) {
    const json_t *item = json_array_get(events, e);
    const char *name = json_string_value(json_object_get(item, "name"));
    const json_t *occurrences = json_object_get(item, "occurrences");
    if (name == NULL || !json_is_array(occurrences) || json_array_size(occurrences) == 0)
      return json_key_error(err, "events", _("objects with a name and occurrences"));
    for (size_t i = 0; i < json_array_size(occurrences); i++) {
      int32_t first, last;
      if (!json_read_interval(json_array_get(occurrences, i), &first, &last))
        return json_key_error(err, "events", _("occurrences as [first date, last date]"));
      promo_status st = promo_timefeat_add_event(tf, name, first, last, err);
      if (st != PROMO_OK) return st;
    }
  }
  return PROMO_OK;
}

promo_status promo_timefeat_from_json(const json_t *json, promo_timefeat **out,
                                      promo_error *err) {
  *out = NULL;
  const char *type = json_string_value(json_object_get(json, "type"));
  if (type == NULL || strcmp(type, "time_features") != 0)
    return json_key_error(err, "type", "\"time_features\"");
  const char *column = json_string_value(json_object_get(json, "column"));
  if (column == NULL) return json_key_error(err, "column", _("a column name"));
  promo_timefeat_options opt;
  promo_status st = json_read_options(json, &opt, err);
  if (st != PROMO_OK) return st;

  promo_timefeat *tf = NULL;
  st = promo_timefeat_create(column, &opt, &tf, err);
  if (st == PROMO_OK) st = json_read_events(json_object_get(json, "events"), tf, err);
  if (st != PROMO_OK) {
    promo_timefeat_free(tf);
    return st;
  }
  *out = tf;
  return PROMO_OK;
}
