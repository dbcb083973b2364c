/* The window set shared by the spec code (window_spec.c: parsing, names, JSON, checks)
 * and the sliding-window pass (window.c). */
#ifndef PROMO_FEATURE_WINDOW_INTERNAL_H
#define PROMO_FEATURE_WINDOW_INTERNAL_H

#include "promo/feature.h"

/* Type sets get one bit each in a per-event 32-bit mask. */
#define WINDOW_MAX_TYPE_SETS 32

struct promo_window {
  size_t n_specs;
  promo_window_spec *specs; /* [n_specs] */
  char *event_time_column;
  char *event_type_column; /* NULL when no spec names types */
  char *row_time_column;
  size_t n_key_renames;
  char **event_keys; /* [n_key_renames] */
  char **row_keys;   /* [n_key_renames] */
};

/* The name of the rows' column for event key column `event_key`. */
const char *window_row_key(const promo_window *window, const char *event_key);

#endif
