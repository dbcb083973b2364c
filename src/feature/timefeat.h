/* Calendar and event features for the feature stage: day of week, ISO week, month, hour,
 * weekend, and distances to shopping events (the built-in Chinese calendar and a user's
 * own) from a DATE or DATETIME column. To be merged into include/promo/feature.h. */
#ifndef PROMO_FEATURE_TIMEFEAT_H
#define PROMO_FEATURE_TIMEFEAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promo/core.h"
#include "promo/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Feature bits. Outputs come in this order, one column each, named as shown:
 *   PROMO_TIMEFEAT_DOW      "day_of_week"   0 = Monday .. 6 = Sunday
 *   PROMO_TIMEFEAT_DOM      "day_of_month"  1 .. 31
 *   PROMO_TIMEFEAT_WEEK     "iso_week"      ISO 8601 week 1 .. 53 (2021-01-03 is in
 *                                           week 53 of 2020)
 *   PROMO_TIMEFEAT_MONTH    "month"         1 .. 12
 *   PROMO_TIMEFEAT_HOUR     "hour"          0 .. 23, DATETIME columns only
 *   PROMO_TIMEFEAT_WEEKEND  "is_weekend"    1 on Saturday and Sunday, else 0
 *   PROMO_TIMEFEAT_EVENTS   "days_to_<event>", "days_since_<event>" for every event,
 *                           built-in events first, then user events in the order added. */
enum {
  PROMO_TIMEFEAT_DOW = 1u << 0,
  PROMO_TIMEFEAT_DOM = 1u << 1,
  PROMO_TIMEFEAT_WEEK = 1u << 2,
  PROMO_TIMEFEAT_MONTH = 1u << 3,
  PROMO_TIMEFEAT_HOUR = 1u << 4,
  PROMO_TIMEFEAT_WEEKEND = 1u << 5,
  PROMO_TIMEFEAT_EVENTS = 1u << 6
};

/* Default cap on event distances, in days. */
#define PROMO_TIMEFEAT_DEFAULT_WINDOW 60
/* Largest accepted window: one year, beyond which every yearly event is in range. */
#define PROMO_TIMEFEAT_MAX_WINDOW 366
/* Maximum number of events (built-in and user, counted by name) in one object. Each
 * event adds two output columns. */
#define PROMO_TIMEFEAT_MAX_EVENTS 64
/* Maximum length of an event name, in bytes. */
#define PROMO_TIMEFEAT_MAX_NAME 64

typedef struct promo_timefeat_options {
  unsigned features;     /* PROMO_TIMEFEAT_* bits */
  /* Cap on event distances, 1 .. PROMO_TIMEFEAT_MAX_WINDOW days. An event further away
   * than this, or with no occurrence at all, reads as window_days, so far-off events look
   * alike and the column stays bounded for scaling. */
  int32_t window_days;
  /* Include the built-in calendar of one-day events: 元旦 new_year (Jan 1), 春节 cny (lunar
   * new year's day, from a table for 1900 to 2099), 618 (Jun 18), 国庆 national_day
   * (Oct 1), 双11 double11 (Nov 11) and 双12 double12 (Dec 12). */
  bool builtin_events;
} promo_timefeat_options;

/* Fill options for day of week, day of month, ISO week, month, weekend and events, with
 * the built-in calendar and a 60-day window. */
void promo_timefeat_options_init(promo_timefeat_options *opt);

/* Parse a comma-separated feature list into opt->features and opt->window_days, leaving
 * builtin_events alone. Tokens (spaces around them ignored): dow, dom, week, month, hour,
 * weekend, events, and window=DAYS. Example: "dow,month,events,window=30". Errors:
 * PROMO_ERR_USAGE for an empty list, an unknown token or a window outside
 * 1 .. PROMO_TIMEFEAT_MAX_WINDOW, with err->column at the token's 1-based byte position and
 * err->value holding the token. */
promo_status promo_timefeat_parse_spec(const char *spec, promo_timefeat_options *opt,
                                       promo_error *err);

/* The features of one DATE or DATETIME column. */
typedef struct promo_timefeat promo_timefeat;

/* Create the features of the table column named `column` (copied). opt NULL means the
 * defaults. Errors: PROMO_ERR_USAGE for an empty column name, no feature bit, unknown bits
 * or a window outside 1 .. PROMO_TIMEFEAT_MAX_WINDOW; PROMO_ERR_NOMEM. On success *out
 * owns the object; free it with promo_timefeat_free. */
promo_status promo_timefeat_create(const char *column, const promo_timefeat_options *opt,
                                   promo_timefeat **out, promo_error *err);

/* Free the object. Accepts NULL. */
void promo_timefeat_free(promo_timefeat *tf);

/* Add one occurrence of a user event, from first_day to last_day inclusive (days since
 * 1970-01-01). Occurrences with the same name form one event and may overlap. A user
 * calendar is taken as complete: a day with no listed occurrence within the window gets
 * the window value. For an event of several days, days_to counts to its first day and
 * days_since from its last, and both are 0 during the event.
 *
 * Names are 1 .. PROMO_TIMEFEAT_MAX_NAME bytes of UTF-8 without control characters or
 * surrounding spaces. Errors: PROMO_ERR_DATA for an invalid name, last_day before
 * first_day, or a name of a built-in event while builtin_events is on; PROMO_ERR_USAGE
 * past PROMO_TIMEFEAT_MAX_EVENTS events; PROMO_ERR_NOMEM. */
promo_status promo_timefeat_add_event(promo_timefeat *tf, const char *name, int32_t first_day,
                                      int32_t last_day, promo_error *err);

/* Read user events from a CSV file with a header naming the columns `name` and `date`
 * and optionally `end_date` (ASCII case ignored, other columns ignored), one occurrence a
 * row. Dates take every form promo_parse_date reads; an empty end_date means a one-day
 * event. Errors carry the path, line and column: PROMO_ERR_DATA for a missing column, an
 * empty name, an invalid date or an end_date before its date, plus the errors of
 * promo_csv_open, promo_csv_next and promo_timefeat_add_event. Events read before an
 * error stay added. */
promo_status promo_timefeat_load_events(promo_timefeat *tf, const char *path, promo_error *err);

/* Number of output columns: one per feature bit, plus two per event with
 * PROMO_TIMEFEAT_EVENTS. */
size_t promo_timefeat_n_outputs(const promo_timefeat *tf);

/* Write the name of output column i (0-based) into buf. Returns the length the full name
 * needs, as snprintf does (so a return >= size means it was cut), or 0 when i is out of
 * range. */
size_t promo_timefeat_output_name(const promo_timefeat *tf, size_t i, char *buf, size_t size);

/* Name of the source column, owned by the object. */
const char *promo_timefeat_column(const promo_timefeat *tf);

/* Compute the features of one value into out[0 .. n_outputs). value is days since
 * 1970-01-01 when is_datetime is false, seconds since 1970-01-01 00:00:00 (no time zone)
 * when true. Errors: PROMO_ERR_USAGE for the hour feature on a date or for events
 * requested with no event defined; PROMO_ERR_UNSUPPORTED for a day whose built-in event
 * distances would need 春节 dates outside 1900 .. 2099 (the window must fit inside
 * those years) or a datetime beyond the int32 day range. */
promo_status promo_timefeat_compute(const promo_timefeat *tf, int64_t value, bool is_datetime,
                                    float *out, promo_error *err);

/* Compute the features of every row of the table into out: row r's outputs go to
 * out[r * out_stride + out_offset ...]; other columns are untouched. The column must be
 * DATE or DATETIME. Errors, with err->line set to the row's source line and
 * err->column_name to the column: PROMO_ERR_USAGE when the column is missing, of another
 * type, or the outputs do not fit in out_stride; PROMO_ERR_DATA for a missing or invalid
 * cell (clean or drop those rows first); the errors of promo_timefeat_compute. Rows before
 * a failing row are already written. */
promo_status promo_timefeat_transform(const promo_timefeat *tf, const promo_table *table,
                                      float *out, size_t out_stride, size_t out_offset,
                                      promo_error *err);

/* Serialize the configuration and every user event occurrence (built-in events are
 * recorded by a flag, since their dates are part of the code). On success *out is a new
 * reference the caller must json_decref. Errors: PROMO_ERR_NOMEM. */
promo_status promo_timefeat_to_json(const promo_timefeat *tf, json_t **out);

/* Rebuild the object from promo_timefeat_to_json's output. Errors: PROMO_ERR_DATA naming
 * the missing or invalid key in err->column_name; the errors of promo_timefeat_create
 * and promo_timefeat_add_event; PROMO_ERR_NOMEM. */
promo_status promo_timefeat_from_json(const json_t *json, promo_timefeat **out,
                                      promo_error *err);

#ifdef __cplusplus
}
#endif
#endif
