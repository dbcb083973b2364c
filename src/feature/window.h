/* Point-in-time window features for the feature stage: counts, sums, means, rates and
 * recency of a key's behavior-log events (view, cart, buy, coupon received/used). Each
 * window ends strictly before its training row's time, so nothing at or after that time
 * reaches the row's features. */
#ifndef PROMO_FEATURE_WINDOW_H
#define PROMO_FEATURE_WINDOW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "promo/core.h"
#include "promo/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== window specs */

/* What a spec computes over the matching events in its window [t - window, t) before a
 * row's time t. */
typedef enum promo_window_aggregate {
  PROMO_WINDOW_COUNT = 0, /* number of events of `types` */
  PROMO_WINDOW_SUM,       /* sum of value_column over events of `types`; 0 when none */
  PROMO_WINDOW_MEAN,      /* mean of value_column over events of `types`; NaN when none */
  PROMO_WINDOW_RATE,      /* count of `types` / count of `base_types`; NaN when the
                             denominator is 0 */
  PROMO_WINDOW_RECENCY,   /* seconds from the latest event of `types` before t to t; NaN
                             when there is none (in the window, when it has one) */
  PROMO_WINDOW_N_AGGREGATES
} promo_window_aggregate;

#define PROMO_WINDOW_MAX_KEYS 2  /* key columns per spec (user, or user + item) */
#define PROMO_WINDOW_MAX_TYPES 8 /* event type values in one set */
#define PROMO_WINDOW_NAME_SIZE 128
#define PROMO_WINDOW_TYPE_SIZE 64

/* One window feature. A plain value: nothing to free. Column names are those of the
 * events table; promo_window_options maps them to differently named row columns.
 *
 * An empty type set (n_types or n_base_types 0) matches every event. window_s 0 means the
 * whole history before t. window_unit_s (1, 60, 3600, 86400 or 604800) is the unit the
 * window was written in and only affects the generated name and promo_window_spec_format;
 * 0 lets them choose the largest unit that divides the window. */
typedef struct promo_window_spec {
  promo_window_aggregate aggregate;
  size_t n_keys; /* 1 or 2; 0 after parsing a text without "@KEYS" */
  char keys[PROMO_WINDOW_MAX_KEYS][PROMO_WINDOW_NAME_SIZE];
  size_t n_types;
  char types[PROMO_WINDOW_MAX_TYPES][PROMO_WINDOW_TYPE_SIZE];
  size_t n_base_types; /* RATE only: the denominator's types */
  char base_types[PROMO_WINDOW_MAX_TYPES][PROMO_WINDOW_TYPE_SIZE];
  char value_column[PROMO_WINDOW_NAME_SIZE]; /* SUM and MEAN only */
  int64_t window_s;
  int64_t window_unit_s;
  char name[PROMO_WINDOW_NAME_SIZE]; /* output column name; "" for the generated one */
} promo_window_spec;

/* Parse a spec written as text, as in CLI flags and the project file:
 *
 *   [NAME=]count:TYPES:WINDOW[@KEYS]          count:view:7d@user_id
 *   [NAME=]sum:COLUMN:TYPES:WINDOW[@KEYS]     sum:amount:buy:30d@user_id
 *   [NAME=]mean:COLUMN:TYPES:WINDOW[@KEYS]    mean:amount:buy:30d
 *   [NAME=]rate:TYPES/TYPES:WINDOW[@KEYS]     rate:used/received:30d@merchant_id
 *   [NAME=]recency:TYPES[:WINDOW][@KEYS]      recency:buy@user_id (whole history)
 *
 *   TYPES  = "*" (every event) or TYPE{+TYPE}, as in view+cart; at most
 *            PROMO_WINDOW_MAX_TYPES values, compared with the event type column's text
 *   WINDOW = a positive whole number and a unit: s, min, h, d or w (7d, 24h, 90min), or
 *            "all" for the whole history
 *   KEYS   = COLUMN{+COLUMN}, one or two key columns of the events table
 *   NAME   = the output column name instead of the generated one
 *
 * Keywords and units ignore ASCII case, and spaces around each part are dropped. A type
 * or column name cannot contain ':', '+', '/', '@' or '=' in this form; the struct and
 * JSON forms take any text. Without "@KEYS", spec->n_keys is 0 and the caller fills the
 * keys before promo_window_create. Errors are PROMO_ERR_USAGE with a message that names the
 * text and the problem; err->value gets the text and err->column the 1-based byte
 * position of the problem in it. On error *spec is zeroed. */
promo_status promo_window_spec_parse(const char *text, promo_window_spec *spec, promo_error *err);

/* Write the spec's output column name into buf: spec->name when set, else one built from
 * keys, types, aggregate and window, as in user_id_view_count_7d,
 * user_id_buy_amount_sum_30d, merchant_id_used_per_received_rate_30d and
 * user_id_buy_recency (recency in seconds). Returns the length the full name needs, like
 * snprintf, so a result >= size means buf was too small. */
size_t promo_window_spec_name(const promo_window_spec *spec, char *buf, size_t size);

/* Write the spec as text in the grammar of promo_window_spec_parse (with "NAME=" only for
 * a custom name), for messages and logs. Returns the length the full text needs. */
size_t promo_window_spec_format(const promo_window_spec *spec, char *buf, size_t size);

/* ===================================================================== window sets */

/* Where the columns are. Strings are copied by promo_window_create. */
typedef struct promo_window_options {
  const char *event_time_column; /* DATE or DATETIME column of the events; required */
  const char *event_type_column; /* column the TYPES match; needed when a spec names types */
  const char *row_time_column;   /* DATE or DATETIME column of the rows; required */
  /* Row columns named differently from the event key columns: event_keys[i] is found in
   * the rows as row_keys[i]. Key columns not listed have the same name in both tables. */
  size_t n_key_renames;
  const char *const *event_keys;
  const char *const *row_keys;
} promo_window_options;

/* Fill options with no columns named and no renames. */
void promo_window_options_init(promo_window_options *opt);

/* A validated list of specs with the column names they read. */
typedef struct promo_window promo_window;

/* Check and copy the specs and options into *out, which the caller frees with
 * promo_window_free. Errors (PROMO_ERR_USAGE): no specs, a spec without keys, types or a
 * value column where its aggregate needs them, a negative window, two specs with the same
 * output name, a generated name too long (give NAME=), a missing time column option, or
 * more than 32 distinct type sets (each set needs a bit of a per-event mask). */
promo_status promo_window_create(const promo_window_spec *specs, size_t n_specs,
                                 const promo_window_options *opt, promo_window **out,
                                 promo_error *err);

void promo_window_free(promo_window *window);

size_t promo_window_n_specs(const promo_window *window);

/* The i-th spec (i < promo_window_n_specs), owned by the window. */
const promo_window_spec *promo_window_spec_at(const promo_window *window, size_t i);

/* Counts from one promo_window_compute call, for logs and benchmarks. Specs with
 * different key columns sort separately, so the event and row counts are sums over the
 * distinct key column lists, and one event or row can count once per list. */
typedef struct promo_window_stats {
  size_t n_events_used;    /* events sorted into some key's history */
  size_t n_events_skipped; /* events with a missing key or time: in no window */
  size_t n_types_missing;  /* events with a missing type: only "*" sets match them */
  size_t n_values_missing; /* events left out of a sum or mean for a missing value */
  size_t n_rows_missing;   /* rows with a missing key or time: features NaN */
  size_t n_rows_unmatched; /* rows whose key no event has: empty windows */
  double sort_ms;          /* checks, key mapping, sorting and gathering */
  double window_ms;        /* sliding-window pass */
} promo_window_stats;

/* Compute every spec for every row of `rows` from the events in `events`.
 *
 * out is [rows->n_rows x out_stride] floats, row-major in the rows' order; spec s of row
 * r goes to out[r * out_stride + s] and other cells are left alone, so the features can
 * go straight into a wider matrix. out_stride must be at least the number of specs.
 *
 * Semantics: the features of a row with key K and time t are computed from the events
 * with key K and time in [t - window, t), or before t for window 0. An event exactly at t
 * is excluded, and one exactly window seconds before t is included. DATE columns count as
 * midnight (days * 86400 seconds), so a DATE row gets only events before its day starts.
 * Keys match by value across the tables: string columns by their exact text (untrimmed, case
 * sensitive), integer columns by value, and a string key against an integer key when the
 * text parses as that integer (promo_parse_int). Key columns may be BOOL, INT, DATE,
 * DATETIME, CATEGORICAL or TEXT; value columns INT, BOOL or DECIMAL; the type column
 * CATEGORICAL, TEXT, INT or BOOL (spec types are then parsed as such).
 *
 * Missing data: events with a missing key or time are in no window, and an event with a
 * missing type only matches "*" sets. An event with a missing value still counts for
 * COUNT, RATE and RECENCY but is left out of SUM and MEAN. Rows with a missing key or
 * time get NaN in the features of that key. Each case is counted in *stats (may be NULL)
 * and logged once through ctx, as a warning except for rows with unknown keys (info). A
 * spec type that no event has is logged as a warning too.
 *
 * Each row's features depend only on the events and that row (sums run from the start of
 * the key's history), so they are the same for any thread count (ctx->n_threads, 0 for
 * OpenMP's default) and any other rows in the table. Time is linear in events and rows:
 * each set of key columns costs a few radix and counting-sort passes and one sweep per
 * window. Working memory is 4 bytes per event plus about 50 bytes per event whose key
 * some row has (measured with one summed value column).
 *
 * events_path and rows_path name the tables in errors (err->path); either may be NULL.
 * Errors: PROMO_ERR_USAGE for a column the window names that a table lacks, with
 * err->column_name set, or out_stride below the spec count;
 * PROMO_ERR_DATA for a column of the wrong type; PROMO_ERR_UNSUPPORTED for 2^32 or more
 * events or rows; PROMO_ERR_NOMEM; PROMO_ERR_CANCELLED when ctx's cancel flag is raised.
 * On error the contents of out are unspecified. */
promo_status promo_window_compute(const promo_window *window, const promo_table *events,
                                  const char *events_path, const promo_table *rows,
                                  const char *rows_path, const promo_context *ctx, float *out,
                                  size_t out_stride, promo_window_stats *stats, promo_error *err);

/* Store the specs and column options in a new JSON object (*out, owned by the caller):
 * {"event_time_column", "event_type_column" (or null), "row_time_column",
 *  "key_renames": [{"event", "row"}], "specs": [{"name", "aggregate", "keys", "types",
 *  "base_types", "value_column", "window"}]}, where "window" is text such as "7d" or
 * "all" and "name" is null for a generated name. Returns PROMO_ERR_NOMEM on failure. */
promo_status promo_window_to_json(const promo_window *window, json_t **out);

/* Rebuild a window from promo_window_to_json's object into *out (caller frees). Errors
 * are PROMO_ERR_DATA naming the member that is missing or has the wrong type, and the
 * errors of promo_window_create. */
promo_status promo_window_from_json(const json_t *json, promo_window **out, promo_error *err);

#ifdef __cplusplus
}
#endif
#endif
