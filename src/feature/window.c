/* Sliding-window pass of the feature stage: joins behavior-log events to training rows by
 * key and computes each spec over the events strictly before each row's time. Events and
 * rows are sorted by (key, time) with radix and counting sorts, then two pointers per
 * window walk each key's history once. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "feature/window_internal.h"

/* Key id of a row whose key value no event has, so its windows are empty. */
#define NO_KEY UINT32_MAX

/* Bits per radix-sort digit: 4096 counters (16 KiB) fit in L1 cache, and two passes
 * cover 2^24 seconds (194 days) of time differences, three passes 2^36. */
#define RADIX_BITS 12

/* ===================================================================== small helpers */

static bool is_string_type(promo_type type) {
  return promo_type_is_string(type);
}

static bool is_integer_type(promo_type type) {
  return type == PROMO_TYPE_BOOL || type == PROMO_TYPE_INT || type == PROMO_TYPE_DATE ||
         type == PROMO_TYPE_DATETIME;
}

/* Seconds since the epoch of cell i of a DATE or DATETIME column; a row's date is the
 * start of its day. */
static int64_t cell_seconds(const promo_column *col, size_t i) {
  return col->type == PROMO_TYPE_DATE ? col->ints[i] * 86400 : col->ints[i];
}

/* Time of event i. An event known only by its date may have happened at any time that
 * day, so it counts at the day's last second and no row earlier that day includes it. */
static int64_t event_seconds(const promo_column *col, size_t i) {
  return col->type == PROMO_TYPE_DATE ? col->ints[i] * 86400 + 86399 : col->ints[i];
}

static void *alloc_array(size_t n, size_t size) {
  if (n == 0) n = 1;
  if (n > SIZE_MAX / size) return NULL;
  return malloc(n * size);
}

static void *zero_array(size_t n, size_t size) {
  return calloc(n == 0 ? 1 : n, size);
}

static promo_status no_memory(promo_error *err) {
  return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
}

/* A table, its path for messages, and which side of the join it is. */
typedef struct table_ref {
  const promo_table *table;
  const char *path;
  bool is_events;
} table_ref;

/* Find a column by name. is_row_key adds the hint that a row key may have another name. */
static promo_status find_column(const table_ref *ref, const char *name, bool is_row_key,
                                const promo_column **out, promo_error *err) {
  ptrdiff_t c = promo_table_find(ref->table, name);
  if (c >= 0) {
    *out = &ref->table->columns[c];
    return PROMO_OK;
  }
  promo_error_at(err, ref->path, 0, 0);
  if (err != NULL) snprintf(err->column_name, sizeof err->column_name, "%s", name);
  if (ref->is_events)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("the events table has no column '%s', which a window feature "
                             "reads; check the column name"),
                           name);
  if (is_row_key)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("the rows table has no key column '%s'; if the rows name it "
                             "differently, map it with a key rename (--row-key EVENT_COL=ROW_COL)"),
                           name);
  return promo_error_set(err, PROMO_ERR_USAGE,
                         _("the rows table has no column '%s', which a window feature reads; "
                           "check the column name"),
                         name);
}

static promo_status wrong_type(const table_ref *ref, const promo_column *col, const char *needed,
                               promo_error *err) {
  promo_error_at(err, ref->path, 0, 0);
  if (err != NULL) snprintf(err->column_name, sizeof err->column_name, "%s", col->name);
  return promo_error_set(err, PROMO_ERR_DATA, _("column '%s' is %s, but window features need %s"),
                         col->name, promo_type_name(col->type), needed);
}

static promo_status find_time_column(const table_ref *ref, const char *name,
                                     const promo_column **out, promo_error *err) {
  promo_status status = find_column(ref, name, false, out, err);
  if (status != PROMO_OK) return status;
  if ((*out)->type != PROMO_TYPE_DATE && (*out)->type != PROMO_TYPE_DATETIME)
    return wrong_type(ref, *out, _("a date or datetime column for the time"), err);
  return PROMO_OK;
}

/* ===================================================================== key ids */

/* Open-addressing map from integer key values to dense ids, for keys too spread out to
 * use value - min as the id. */
typedef struct id_hash {
  int64_t *keys;   /* [capacity] */
  uint32_t *ids;   /* [capacity], NO_KEY for an empty slot */
  size_t capacity; /* a power of two */
  size_t n;
} id_hash;

/* The output mixing step of the splitmix64 generator, which spreads consecutive ids over
 * the whole table. */
static uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static size_t hash_slot(const id_hash *h, int64_t key) {
  size_t slot = (size_t)mix64((uint64_t)key) & (h->capacity - 1);
  while (h->ids[slot] != NO_KEY && h->keys[slot] != key) slot = (slot + 1) & (h->capacity - 1);
  return slot;
}

static promo_status hash_resize(id_hash *h, size_t capacity) {
  id_hash grown = {alloc_array(capacity, sizeof(int64_t)), alloc_array(capacity, sizeof(uint32_t)),
                   capacity, h->n};
  if (grown.keys == NULL || grown.ids == NULL) {
    free(grown.keys);
    free(grown.ids);
    return PROMO_ERR_NOMEM;
  }
  memset(grown.ids, 0xff, capacity * sizeof(uint32_t));
  for (size_t s = 0; s < h->capacity; s++) {
    if (h->ids[s] == NO_KEY) continue;
    size_t slot = hash_slot(&grown, h->keys[s]);
    grown.keys[slot] = h->keys[s];
    grown.ids[slot] = h->ids[s];
  }
  free(h->keys);
  free(h->ids);
  *h = grown;
  return PROMO_OK;
}

/* Give `key` the next id unless it has one. The table stays at most half full. */
static promo_status hash_insert(id_hash *h, int64_t key) {
  if (2 * (h->n + 1) > h->capacity) {
    promo_status status = hash_resize(h, h->capacity == 0 ? 1024 : 2 * h->capacity);
    if (status != PROMO_OK) return status;
  }
  size_t slot = hash_slot(h, key);
  if (h->ids[slot] == NO_KEY) {
    h->keys[slot] = key;
    h->ids[slot] = (uint32_t)h->n++;
  }
  return PROMO_OK;
}

static uint32_t hash_find(const id_hash *h, int64_t key) {
  return h->capacity == 0 ? NO_KEY : h->ids[hash_slot(h, key)];
}

/* The mapping of one key column's values to ids in [0, n_ids) shared by events and rows.
 * When both columns contain strings, the ids are the events' dictionary codes. Otherwise
 * they come from integer values: the value minus the events' minimum when the range is
 * compact, a hash map when it is not. A string column matched against an integer column
 * has its dictionary strings read as integers. */
typedef enum key_kind { KEY_CODES, KEY_RANGE, KEY_HASH } key_kind;

typedef struct key_map {
  key_kind kind;
  const promo_column *ev;
  const promo_column *row;
  int32_t *row_codes;     /* KEY_CODES: [row dict size] event code of each row code, or -1 */
  int64_t *ev_code_ints;  /* [event dict size] when ev has strings and row integers */
  uint8_t *ev_code_ok;    /* 1 where that string parsed */
  int64_t *row_code_ints; /* [row dict size] when row has strings and ev integers */
  uint8_t *row_code_ok;
  int64_t min;  /* KEY_RANGE: smallest event value */
  id_hash hash; /* KEY_HASH */
  uint32_t n_ids;
} key_map;

static void key_map_clear(key_map *m) {
  free(m->row_codes);
  free(m->ev_code_ints);
  free(m->ev_code_ok);
  free(m->row_code_ints);
  free(m->row_code_ok);
  free(m->hash.keys);
  free(m->hash.ids);
  memset(m, 0, sizeof *m);
}

/* Parse every string of a dictionary as an integer. */
static promo_status parse_code_ints(const promo_dict *dict, int64_t **ints, uint8_t **ok) {
  size_t n = promo_dict_size(dict);
  *ints = alloc_array(n, sizeof **ints);
  *ok = zero_array(n, sizeof **ok);
  if (*ints == NULL || *ok == NULL) return PROMO_ERR_NOMEM;
  for (size_t c = 0; c < n; c++) {
    size_t len = 0;
    const char *s = promo_dict_string(dict, (int32_t)c, &len);
    (*ok)[c] = s != NULL && promo_parse_int(s, len, &(*ints)[c], NULL);
  }
  return PROMO_OK;
}

/* Integer key of cell i, false when the cell is a string that is not an integer. */
static bool int_key(const promo_column *col, const int64_t *code_ints, const uint8_t *code_ok,
                    size_t i, int64_t *value) {
  if (code_ints == NULL) {
    *value = col->ints[i];
    return true;
  }
  int32_t code = col->codes[i];
  if (!code_ok[code]) return false;
  *value = code_ints[code];
  return true;
}

static promo_status build_code_map(key_map *m) {
  size_t n = promo_dict_size(m->row->dict);
  m->row_codes = alloc_array(n, sizeof *m->row_codes);
  if (m->row_codes == NULL) return PROMO_ERR_NOMEM;
  for (size_t c = 0; c < n; c++) {
    size_t len = 0;
    const char *s = promo_dict_string(m->row->dict, (int32_t)c, &len);
    m->row_codes[c] = promo_dict_find(m->ev->dict, s, len);
  }
  m->kind = KEY_CODES;
  m->n_ids = (uint32_t)promo_dict_size(m->ev->dict);
  return PROMO_OK;
}

/* Map integer keys. Ids are value - min when the events' values span at most a few times
 * their count, which keeps the counting sort's counters few. Otherwise a hash map assigns
 * them. */
static promo_status build_int_map(key_map *m, size_t n_events) {
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (size_t i = 0; i < n_events; i++) {
    int64_t v;
    if (m->ev->is_missing[i] || !int_key(m->ev, m->ev_code_ints, m->ev_code_ok, i, &v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) {
    m->kind = KEY_RANGE;
    m->n_ids = 0;
    return PROMO_OK;
  }
  uint64_t span = (uint64_t)hi - (uint64_t)lo;
  if (span < 4 * (uint64_t)n_events + 65536 && span < INT32_MAX) {
    m->kind = KEY_RANGE;
    m->min = lo;
    m->n_ids = (uint32_t)(span + 1);
    return PROMO_OK;
  }
  m->kind = KEY_HASH;
  for (size_t i = 0; i < n_events; i++) {
    int64_t v;
    if (m->ev->is_missing[i] || !int_key(m->ev, m->ev_code_ints, m->ev_code_ok, i, &v)) continue;
    promo_status status = hash_insert(&m->hash, v);
    if (status != PROMO_OK) return status;
  }
  m->n_ids = (uint32_t)m->hash.n;
  return PROMO_OK;
}

static promo_status key_map_build(key_map *m, const table_ref *events, const table_ref *rows,
                                  const promo_column *ev, const promo_column *row,
                                  promo_error *err) {
  memset(m, 0, sizeof *m);
  m->ev = ev;
  m->row = row;
  const char *needed = _("an integer, date or string column for a key");
  if (!is_string_type(ev->type) && !is_integer_type(ev->type))
    return wrong_type(events, ev, needed, err);
  if (!is_string_type(row->type) && !is_integer_type(row->type))
    return wrong_type(rows, row, needed, err);
  if ((ev->type == PROMO_TYPE_DATE && row->type == PROMO_TYPE_DATETIME) ||
      (ev->type == PROMO_TYPE_DATETIME && row->type == PROMO_TYPE_DATE))
    return wrong_type(rows, row,
                      ev->type == PROMO_TYPE_DATE ? _("a date key like the events'")
                                                  : _("a datetime key like the events'"),
                      err);

  promo_status status = PROMO_OK;
  if (is_string_type(ev->type) && is_string_type(row->type)) {
    status = build_code_map(m);
  } else {
    if (is_string_type(ev->type))
      status = parse_code_ints(ev->dict, &m->ev_code_ints, &m->ev_code_ok);
    if (status == PROMO_OK && is_string_type(row->type))
      status = parse_code_ints(row->dict, &m->row_code_ints, &m->row_code_ok);
    if (status == PROMO_OK) status = build_int_map(m, events->table->n_rows);
  }
  return status == PROMO_OK ? PROMO_OK : no_memory(err);
}

/* Id of event i's key (not missing), or NO_KEY when no row can match it. */
static uint32_t event_key_id(const key_map *m, size_t i) {
  if (m->kind == KEY_CODES) return (uint32_t)m->ev->codes[i];
  int64_t v;
  if (!int_key(m->ev, m->ev_code_ints, m->ev_code_ok, i, &v)) return NO_KEY;
  if (m->kind == KEY_RANGE) return (uint32_t)((uint64_t)v - (uint64_t)m->min);
  return hash_find(&m->hash, v);
}

/* Id of row r's key (not missing), or NO_KEY when no event has it. */
static uint32_t row_key_id(const key_map *m, size_t r) {
  if (m->kind == KEY_CODES) {
    int32_t code = m->row_codes[m->row->codes[r]];
    return code < 0 ? NO_KEY : (uint32_t)code;
  }
  int64_t v;
  if (!int_key(m->row, m->row_code_ints, m->row_code_ok, r, &v)) return NO_KEY;
  if (m->kind == KEY_RANGE) {
    uint64_t offset = (uint64_t)v - (uint64_t)m->min;
    return v >= m->min && offset < m->n_ids ? (uint32_t)offset : NO_KEY;
  }
  return hash_find(&m->hash, v);
}

/* ===================================================================== sorting */

/* One stable counting-sort pass: dst gets src reordered by key[src[i]]. offsets
 * [n_keys + 1] ends up holding where each key starts in dst. */
static void counting_pass(const uint32_t *src, uint32_t *dst, size_t n, const uint32_t *key,
                          uint32_t n_keys, uint32_t *offsets) {
  memset(offsets, 0, ((size_t)n_keys + 1) * sizeof *offsets);
  for (size_t j = 0; j < n; j++) offsets[key[j] + 1]++;
  for (size_t k = 0; k < n_keys; k++) offsets[k + 1] += offsets[k];
  for (size_t i = 0; i < n; i++) {
    uint32_t j = src[i];
    dst[offsets[key[j]]++] = j;
  }
  /* The scatter moved each start to the next key's start; shift them back. */
  for (size_t k = n_keys; k > 0; k--) offsets[k] = offsets[k - 1];
  offsets[0] = 0;
}

/* Items to sort by (k1, k2, t): t is seconds after the earliest time, k2 is NULL for a
 * single key. */
typedef struct sort_items {
  size_t n;
  const uint64_t *t;
  const uint32_t *k1;
  uint32_t n_k1;
  const uint32_t *k2;
  uint32_t n_k2;
} sort_items;

/* Put the item order into perm [n] by a least-significant-digit radix sort: passes on the
 * digits of t, then one counting pass on k2 and one on k1. Each pass is stable, so the
 * result is sorted by (k1, k2, t) and equal items keep their input order. start1
 * [n_k1 + 1] receives where each k1 begins in perm. */
static promo_status sort_by_key_time(const sort_items *items, uint32_t *perm, uint32_t *start1) {
  size_t n = items->n;
  uint32_t *tmp = alloc_array(n, sizeof *tmp);
  uint32_t *digit = alloc_array(n, sizeof *digit);
  uint32_t n_counts = items->n_k2 > (1u << RADIX_BITS) ? items->n_k2 : (1u << RADIX_BITS);
  uint32_t *counts = alloc_array((size_t)n_counts + 1, sizeof *counts);
  if (tmp == NULL || digit == NULL || counts == NULL) {
    free(tmp);
    free(digit);
    free(counts);
    return PROMO_ERR_NOMEM;
  }

  uint64_t max_t = 0;
  bool is_sorted = true;
  for (size_t i = 0; i < n; i++) {
    perm[i] = (uint32_t)i;
    if (items->t[i] > max_t) max_t = items->t[i];
    if (i > 0 && items->t[i] < items->t[i - 1]) is_sorted = false;
  }

  /* Passes alternate between the two buffers. Logs are often written in time order,
   * which needs no time passes. */
  uint32_t *src = perm, *dst = tmp;
  for (unsigned shift = 0; !is_sorted && shift < 64 && (max_t >> shift) != 0; shift += RADIX_BITS) {
    for (size_t j = 0; j < n; j++)
      digit[j] = (uint32_t)(items->t[j] >> shift) & ((1u << RADIX_BITS) - 1);
    counting_pass(src, dst, n, digit, 1u << RADIX_BITS, counts);
    uint32_t *sorted = dst;
    dst = src;
    src = sorted;
  }
  if (items->k2 != NULL) {
    counting_pass(src, dst, n, items->k2, items->n_k2, counts);
    uint32_t *sorted = dst;
    dst = src;
    src = sorted;
  }
  counting_pass(src, dst, n, items->k1, items->n_k1, start1);
  if (dst != perm) memcpy(perm, dst, n * sizeof *perm);

  free(tmp);
  free(digit);
  free(counts);
  return PROMO_OK;
}

/* ===================================================================== plans */

/* Events of one type set (bit) whose count, sum of one value column (value >= 0) and
 * latest time a pass keeps. */
typedef struct channel {
  uint32_t bit;
  int value;
} channel;

/* One spec as the pass reads it. */
typedef struct spec_plan {
  size_t spec; /* output column */
  promo_window_aggregate aggregate;
  int window; /* index into the group's windows, -1 for the whole history */
  int64_t window_s;
  size_t channel;      /* the counted events (RATE: numerator) */
  size_t base_channel; /* RATE: denominator */
} spec_plan;

/* The specs that share key columns, and so one sort of events and rows. */
typedef struct key_group {
  const promo_window_spec *keys; /* the first spec, whose key names the group uses */
  const promo_column *ev_keys[PROMO_WINDOW_MAX_KEYS];
  const promo_column *row_keys[PROMO_WINDOW_MAX_KEYS];
  key_map maps[PROMO_WINDOW_MAX_KEYS];
  size_t n_plans;
  spec_plan *plans;
  size_t n_channels;
  channel *channels;
  size_t n_windows;
  int64_t *windows;
  uint32_t mask; /* union of the channels' bits: events outside it are not sorted */
} key_group;

/* Everything resolved once per compute call. */
typedef struct compute_state {
  const promo_window *window;
  const promo_context *ctx;
  table_ref events, rows;
  const promo_column *ev_time, *row_time, *ev_type;
  uint32_t all_bits; /* bits of "*" sets, set for every event */
  uint32_t *masks;   /* [n_events] type-set bits of each event */
  size_t n_values;
  const promo_column **values; /* [n_specs] value columns, n_values used */
  int64_t t0;                  /* earliest event or row time */
  int n_threads;
  size_t n_groups;
  key_group *groups; /* [n_specs], n_groups used */
  promo_window_stats stats;
} compute_state;

static bool same_types(const char (*a)[PROMO_WINDOW_TYPE_SIZE], size_t n_a,
                       const char (*b)[PROMO_WINDOW_TYPE_SIZE], size_t n_b) {
  if (n_a != n_b) return false;
  for (size_t i = 0; i < n_a; i++)
    if (strcmp(a[i], b[i]) != 0) return false;
  return true;
}

/* The type sets of all specs in first-seen order; set i gets bit 1 << i. */
typedef struct type_sets {
  size_t n;
  const char (*types[WINDOW_MAX_TYPE_SETS])[PROMO_WINDOW_TYPE_SIZE];
  size_t n_types[WINDOW_MAX_TYPE_SETS];
} type_sets;

static uint32_t set_bit(type_sets *sets, const char (*types)[PROMO_WINDOW_TYPE_SIZE], size_t n) {
  for (size_t i = 0; i < sets->n; i++)
    if (same_types(sets->types[i], sets->n_types[i], types, n)) return 1u << i;
  /* promo_window_create allows at most WINDOW_MAX_TYPE_SETS sets. */
  sets->types[sets->n] = types;
  sets->n_types[sets->n] = n;
  return 1u << sets->n++;
}

static promo_status add_value_column(compute_state *cs, const char *name, int *index,
                                     promo_error *err) {
  for (size_t v = 0; v < cs->n_values; v++)
    if (strcmp(cs->values[v]->name, name) == 0) {
      *index = (int)v;
      return PROMO_OK;
    }
  const promo_column *col = NULL;
  promo_status status = find_column(&cs->events, name, false, &col, err);
  if (status != PROMO_OK) return status;
  if (!promo_type_is_numeric(col->type))
    return wrong_type(&cs->events, col, _("a numeric column to sum"), err);
  *index = (int)cs->n_values;
  cs->values[cs->n_values++] = col;
  return PROMO_OK;
}

static size_t add_channel(key_group *g, uint32_t bit, int value) {
  for (size_t c = 0; c < g->n_channels; c++)
    if (g->channels[c].bit == bit && g->channels[c].value == value) return c;
  g->channels[g->n_channels] = (channel){bit, value};
  g->mask |= bit;
  return g->n_channels++;
}

static int add_window(key_group *g, int64_t window_s) {
  if (window_s == 0) return -1;
  for (size_t w = 0; w < g->n_windows; w++)
    if (g->windows[w] == window_s) return (int)w;
  g->windows[g->n_windows] = window_s;
  return (int)g->n_windows++;
}

static bool same_keys(const promo_window_spec *a, const promo_window_spec *b) {
  if (a->n_keys != b->n_keys) return false;
  for (size_t k = 0; k < a->n_keys; k++)
    if (strcmp(a->keys[k], b->keys[k]) != 0) return false;
  return true;
}

/* Group the specs by key columns and give each spec its window and channels. */
static promo_status plan_groups(compute_state *cs, type_sets *sets, promo_error *err) {
  const promo_window *w = cs->window;
  size_t n = w->n_specs;
  cs->groups = zero_array(n, sizeof *cs->groups);
  cs->values = zero_array(n, sizeof *cs->values);
  if (cs->groups == NULL || cs->values == NULL) return no_memory(err);
  for (size_t s = 0; s < n; s++) {
    const promo_window_spec *spec = &w->specs[s];
    key_group *g = NULL;
    for (size_t i = 0; i < cs->n_groups && g == NULL; i++)
      if (same_keys(cs->groups[i].keys, spec)) g = &cs->groups[i];
    if (g == NULL) {
      g = &cs->groups[cs->n_groups++];
      g->keys = spec;
      g->plans = alloc_array(n, sizeof *g->plans);
      g->channels = alloc_array(2 * n, sizeof *g->channels);
      g->windows = alloc_array(n, sizeof *g->windows);
      if (g->plans == NULL || g->channels == NULL || g->windows == NULL) return no_memory(err);
    }

    spec_plan *p = &g->plans[g->n_plans++];
    *p = (spec_plan){.spec = s, .aggregate = spec->aggregate, .window_s = spec->window_s};
    p->window = add_window(g, spec->window_s);
    int value = -1;
    if (spec->aggregate == PROMO_WINDOW_SUM || spec->aggregate == PROMO_WINDOW_MEAN) {
      promo_status status = add_value_column(cs, spec->value_column, &value, err);
      if (status != PROMO_OK) return status;
    }
    p->channel = add_channel(g, set_bit(sets, spec->types, spec->n_types), value);
    if (spec->aggregate == PROMO_WINDOW_RATE)
      p->base_channel = add_channel(g, set_bit(sets, spec->base_types, spec->n_base_types), -1);
  }
  return PROMO_OK;
}

static void free_groups(compute_state *cs) {
  for (size_t i = 0; i < cs->n_groups; i++) {
    key_group *g = &cs->groups[i];
    for (size_t k = 0; k < PROMO_WINDOW_MAX_KEYS; k++) key_map_clear(&g->maps[k]);
    free(g->plans);
    free(g->channels);
    free(g->windows);
  }
  free(cs->groups);
}

/* ===================================================================== event types */

/* One type value of some set, with the bits of the sets that contain it. */
typedef struct type_value {
  const char *text;
  uint32_t bits;
  int64_t number; /* the value in an integer or boolean type column */
  bool is_seen;
} type_value;

static size_t collect_type_values(const type_sets *sets, type_value *values) {
  size_t n = 0;
  for (size_t s = 0; s < sets->n; s++)
    for (size_t i = 0; i < sets->n_types[s]; i++) {
      size_t v = 0;
      while (v < n && strcmp(values[v].text, sets->types[s][i]) != 0) v++;
      if (v == n) values[n++] = (type_value){.text = sets->types[s][i]};
      values[v].bits |= 1u << s;
    }
  return n;
}

/* Masks from a string type column: one lookup table entry per dictionary code. */
static promo_status string_type_masks(compute_state *cs, type_value *values, size_t n_values) {
  const promo_column *col = cs->ev_type;
  uint32_t *code_bits = zero_array(promo_dict_size(col->dict), sizeof *code_bits);
  if (code_bits == NULL) return PROMO_ERR_NOMEM;
  for (size_t v = 0; v < n_values; v++) {
    int32_t code = promo_dict_find(col->dict, values[v].text, strlen(values[v].text));
    values[v].is_seen = code >= 0;
    if (code >= 0) code_bits[code] |= values[v].bits;
  }
  size_t n_events = cs->events.table->n_rows;
#pragma omp parallel for schedule(static) num_threads(cs->n_threads)
  for (size_t i = 0; i < n_events; i++)
    cs->masks[i] = col->is_missing[i] ? cs->all_bits : cs->all_bits | code_bits[col->codes[i]];
  free(code_bits);
  return PROMO_OK;
}

/* Masks from an integer or boolean type column, whose spec types must parse as such. */
static promo_status number_type_masks(compute_state *cs, type_value *values, size_t n_values,
                                      promo_error *err) {
  const promo_column *col = cs->ev_type;
  for (size_t v = 0; v < n_values; v++) {
    const char *text = values[v].text;
    bool flag = false;
    bool ok = col->type == PROMO_TYPE_INT
                  ? promo_parse_int(text, strlen(text), &values[v].number, NULL)
                  : promo_parse_bool(text, strlen(text), &flag, NULL);
    if (col->type == PROMO_TYPE_BOOL) values[v].number = flag;
    if (!ok) {
      promo_error_value(err, text, -1);
      if (err != NULL) snprintf(err->column_name, sizeof err->column_name, "%s", col->name);
      return promo_error_set(
          err, PROMO_ERR_USAGE, _("event type '%s' is not a valid %s, the type of column '%s'; write it as the "
                                   "column stores it"),
          text, promo_type_name(col->type), col->name);
    }
  }
  size_t n_events = cs->events.table->n_rows;
  for (size_t i = 0; i < n_events; i++) {
    uint32_t bits = cs->all_bits;
    for (size_t v = 0; !col->is_missing[i] && v < n_values; v++)
      if (col->ints[i] == values[v].number) {
        bits |= values[v].bits;
        values[v].is_seen = true;
      }
    cs->masks[i] = bits;
  }
  return PROMO_OK;
}

/* Set masks[i] to the bits of the type sets event i belongs to. */
static promo_status compute_masks(compute_state *cs, const type_sets *sets, promo_error *err) {
  size_t n_events = cs->events.table->n_rows;
  cs->masks = alloc_array(n_events, sizeof *cs->masks);
  type_value *values = alloc_array(WINDOW_MAX_TYPE_SETS * PROMO_WINDOW_MAX_TYPES, sizeof *values);
  if (cs->masks == NULL || values == NULL) {
    free(values);
    return no_memory(err);
  }
  for (size_t s = 0; s < sets->n; s++)
    if (sets->n_types[s] == 0) cs->all_bits |= 1u << s;
  size_t n_values = collect_type_values(sets, values);
  const promo_column *col = cs->ev_type;

  promo_status status = PROMO_OK;
  if (n_values == 0) {
    for (size_t i = 0; i < n_events; i++) cs->masks[i] = cs->all_bits;
  } else if (is_string_type(col->type)) {
    status = string_type_masks(cs, values, n_values);
    if (status != PROMO_OK) status = no_memory(err);
  } else if (col->type == PROMO_TYPE_INT || col->type == PROMO_TYPE_BOOL) {
    status = number_type_masks(cs, values, n_values, err);
  } else {
    status = wrong_type(&cs->events, col,
                        _("a string, integer or boolean column for the event type"), err);
  }

  if (status == PROMO_OK && n_values > 0) {
    for (size_t v = 0; v < n_values; v++)
      if (!values[v].is_seen)
        promo_log(cs->ctx, PROMO_LOG_WARN,
                  _("event type '%s' does not occur in column '%s', so it matches no event; "
                    "check its spelling"),
                  values[v].text, col->name);
    for (size_t i = 0; i < n_events; i++) cs->stats.n_types_missing += col->is_missing[i];
  }
  free(values);
  return status;
}

/* ===================================================================== sorted runs */

/* The events of one key group that some row can see, sorted by (key, time). */
typedef struct event_run {
  size_t n;
  int64_t *t;      /* [n] seconds since the epoch */
  uint32_t *mask;  /* [n] type-set bits, limited to the group's */
  uint32_t *k2;    /* [n] second key id, NULL for one key column */
  double **values; /* [n_values] arrays of [n], NULL where the group reads no value;
                      NaN marks a missing value */
  uint32_t *start; /* [n_ids of the first key + 1] first event of each first-key id */
} event_run;

/* The rows of one key group that have events, sorted by (key, time). */
typedef struct row_run {
  size_t n;
  uint32_t *row; /* [n] index in the rows table */
  int64_t *t;    /* [n] seconds since the epoch */
  uint32_t *k1;  /* [n] */
  uint32_t *k2;  /* [n], NULL for one key column */
} row_run;

static void event_run_clear(event_run *run, size_t n_values) {
  free(run->t);
  free(run->mask);
  free(run->k2);
  for (size_t v = 0; run->values != NULL && v < n_values; v++) free(run->values[v]);
  free(run->values);
  free(run->start);
  memset(run, 0, sizeof *run);
}

static void row_run_clear(row_run *run) {
  free(run->row);
  free(run->t);
  free(run->k1);
  free(run->k2);
  memset(run, 0, sizeof *run);
}

/* Items before sorting, in table order: relative time, key ids, table index and, for
 * events, type-set bits. Copying the bits here keeps the gather after the sort to one
 * random access per item. */
typedef struct unsorted {
  uint64_t *t;
  uint32_t *k1, *k2, *index, *mask;
  uint32_t *perm;
} unsorted;

static promo_status unsorted_alloc(unsorted *u, size_t n, bool has_k2, bool has_mask) {
  memset(u, 0, sizeof *u);
  u->t = alloc_array(n, sizeof *u->t);
  u->k1 = alloc_array(n, sizeof *u->k1);
  u->k2 = has_k2 ? alloc_array(n, sizeof *u->k2) : NULL;
  u->index = alloc_array(n, sizeof *u->index);
  u->mask = has_mask ? alloc_array(n, sizeof *u->mask) : NULL;
  u->perm = alloc_array(n, sizeof *u->perm);
  bool ok = u->t != NULL && u->k1 != NULL && (!has_k2 || u->k2 != NULL) && u->index != NULL &&
            (!has_mask || u->mask != NULL) && u->perm != NULL;
  return ok ? PROMO_OK : PROMO_ERR_NOMEM;
}

static void unsorted_clear(unsorted *u) {
  free(u->t);
  free(u->k1);
  free(u->k2);
  free(u->index);
  free(u->mask);
  free(u->perm);
  memset(u, 0, sizeof *u);
}

/* The value of a spec over an empty window. */
static float empty_value(promo_window_aggregate aggregate) {
  return aggregate == PROMO_WINDOW_COUNT || aggregate == PROMO_WINDOW_SUM ? 0.0f : NAN;
}

/* Sort the rows that have a key and a time, and mark in need[k] the key ids they use.
 * Fill the features of the other rows now: NaN when the key or time is missing, empty
 * windows when no event has the key. */
static promo_status build_row_run(compute_state *cs, const key_group *g, uint8_t **need,
                                  row_run *run, float *out, size_t stride) {
  size_t n_rows = cs->rows.table->n_rows;
  size_t n_keys = g->keys->n_keys;
  unsorted u;
  promo_status status = unsorted_alloc(&u, n_rows, n_keys > 1, false);
  size_t n = 0;
  for (size_t r = 0; status == PROMO_OK && r < n_rows; r++) {
    bool is_missing = cs->row_time->is_missing[r];
    for (size_t k = 0; k < n_keys; k++) is_missing = is_missing || g->row_keys[k]->is_missing[r];
    uint32_t ids[PROMO_WINDOW_MAX_KEYS] = {0, 0};
    bool is_matched = !is_missing;
    for (size_t k = 0; is_matched && k < n_keys; k++) {
      ids[k] = row_key_id(&g->maps[k], r);
      is_matched = ids[k] != NO_KEY;
    }
    if (!is_matched) {
      for (size_t p = 0; p < g->n_plans; p++)
        out[r * stride + g->plans[p].spec] = is_missing ? NAN : empty_value(g->plans[p].aggregate);
      if (is_missing)
        cs->stats.n_rows_missing++;
      else
        cs->stats.n_rows_unmatched++;
      continue;
    }
    u.t[n] = (uint64_t)(cell_seconds(cs->row_time, r) - cs->t0);
    u.k1[n] = ids[0];
    if (n_keys > 1) u.k2[n] = ids[1];
    u.index[n] = (uint32_t)r;
    for (size_t k = 0; k < n_keys; k++) need[k][ids[k]] = 1;
    n++;
  }

  uint32_t *start = NULL;
  if (status == PROMO_OK) {
    start = alloc_array((size_t)g->maps[0].n_ids + 1, sizeof *start);
    run->row = alloc_array(n, sizeof *run->row);
    run->t = alloc_array(n, sizeof *run->t);
    run->k1 = alloc_array(n, sizeof *run->k1);
    if (n_keys > 1) run->k2 = alloc_array(n, sizeof *run->k2);
    if (start == NULL || run->row == NULL || run->t == NULL || run->k1 == NULL ||
        (n_keys > 1 && run->k2 == NULL))
      status = PROMO_ERR_NOMEM;
  }
  if (status == PROMO_OK) {
    sort_items items = {n, u.t, u.k1, g->maps[0].n_ids, u.k2, n_keys > 1 ? g->maps[1].n_ids : 0};
    status = sort_by_key_time(&items, u.perm, start);
  }
  if (status == PROMO_OK) {
    run->n = n;
    for (size_t i = 0; i < n; i++) {
      uint32_t j = u.perm[i];
      run->row[i] = u.index[j];
      run->t[i] = (int64_t)u.t[j] + cs->t0;
      run->k1[i] = u.k1[j];
      if (n_keys > 1) run->k2[i] = u.k2[j];
    }
  }
  free(start);
  unsorted_clear(&u);
  return status;
}

/* Value of cell i of a numeric column as a double, NaN when missing. */
static double cell_value(const promo_column *col, size_t i) {
  if (col->is_missing[i]) return NAN;
  return col->type == PROMO_TYPE_DECIMAL ? col->reals[i] : (double)col->ints[i];
}

/* Copy the events' times, masks, second keys and values into sorted order. */
static promo_status gather_events(compute_state *cs, const key_group *g, const unsorted *u,
                                  event_run *run) {
  size_t n = run->n;
  const uint32_t *perm = u->perm;
  run->t = alloc_array(n, sizeof *run->t);
  run->mask = alloc_array(n, sizeof *run->mask);
  if (u->k2 != NULL) run->k2 = alloc_array(n, sizeof *run->k2);
  run->values = zero_array(cs->n_values, sizeof *run->values);
  if (run->t == NULL || run->mask == NULL || (u->k2 != NULL && run->k2 == NULL) ||
      run->values == NULL)
    return PROMO_ERR_NOMEM;
  for (size_t c = 0; c < g->n_channels; c++) {
    int v = g->channels[c].value;
    if (v < 0 || run->values[v] != NULL) continue;
    run->values[v] = alloc_array(n, sizeof(double));
    if (run->values[v] == NULL) return PROMO_ERR_NOMEM;
  }

#pragma omp parallel for schedule(static) num_threads(cs->n_threads)
  for (size_t i = 0; i < n; i++) {
    uint32_t j = perm[i];
    run->t[i] = (int64_t)u->t[j] + cs->t0;
    run->mask[i] = u->mask[j];
    if (u->k2 != NULL) run->k2[i] = u->k2[j];
  }

  /* Values go through a copy in table order, read in one forward sweep, so that the
   * sorted gather makes one random access per event instead of two. */
  double *in_order = alloc_array(n, sizeof *in_order);
  if (in_order == NULL) return PROMO_ERR_NOMEM;
  for (size_t v = 0; v < cs->n_values; v++) {
    double *values = run->values[v];
    if (values == NULL) continue;
    const promo_column *col = cs->values[v];
    size_t n_missing = 0;
#pragma omp parallel for schedule(static) num_threads(cs->n_threads) reduction(+ : n_missing)
    for (size_t j = 0; j < n; j++) {
      in_order[j] = cell_value(col, u->index[j]);
      n_missing += isnan(in_order[j]);
    }
#pragma omp parallel for schedule(static) num_threads(cs->n_threads)
    for (size_t i = 0; i < n; i++) values[i] = in_order[perm[i]];
    cs->stats.n_values_missing += n_missing;
  }
  free(in_order);
  return PROMO_OK;
}

/* Select the events that some sorted row can see (key and time present, a type the group
 * counts, a key some row has), sort them by (key, time) and gather them. */
static promo_status build_event_run(compute_state *cs, const key_group *g, uint8_t *const *need,
                                    event_run *run) {
  size_t n_events = cs->events.table->n_rows;
  size_t n_keys = g->keys->n_keys;
  unsorted u;
  promo_status status = unsorted_alloc(&u, n_events, n_keys > 1, true);
  run->start = alloc_array((size_t)g->maps[0].n_ids + 1, sizeof *run->start);
  if (run->start == NULL) status = PROMO_ERR_NOMEM;

  size_t n = 0;
  for (size_t i = 0; status == PROMO_OK && i < n_events; i++) {
    bool is_missing = cs->ev_time->is_missing[i];
    for (size_t k = 0; k < n_keys; k++) is_missing = is_missing || g->ev_keys[k]->is_missing[i];
    if (is_missing) {
      cs->stats.n_events_skipped++;
      continue;
    }
    uint32_t mask = cs->masks[i] & g->mask;
    if (mask == 0) continue;
    uint32_t ids[PROMO_WINDOW_MAX_KEYS] = {0, 0};
    bool is_needed = true;
    for (size_t k = 0; is_needed && k < n_keys; k++) {
      ids[k] = event_key_id(&g->maps[k], i);
      is_needed = ids[k] != NO_KEY && need[k][ids[k]];
    }
    if (!is_needed) continue;
    u.t[n] = (uint64_t)(event_seconds(cs->ev_time, i) - cs->t0);
    u.k1[n] = ids[0];
    if (n_keys > 1) u.k2[n] = ids[1];
    u.index[n] = (uint32_t)i;
    u.mask[n] = mask;
    n++;
  }
  cs->stats.n_events_used += n;

  if (status == PROMO_OK) {
    sort_items items = {n, u.t, u.k1, g->maps[0].n_ids, u.k2, n_keys > 1 ? g->maps[1].n_ids : 0};
    status = sort_by_key_time(&items, u.perm, run->start);
  }
  if (status == PROMO_OK) {
    run->n = n;
    status = gather_events(cs, g, &u, run);
  }
  unsorted_clear(&u);
  return status;
}

/* ===================================================================== the window pass */

/* Running totals of one channel from the start of a key's history up to a pointer. */
typedef struct totals {
  int64_t count;
  int64_t n_values;
  double sum;
} totals;

/* The latest time of a channel before any event was seen. */
#define NO_TIME INT64_MIN

/* One thread's pass state, carved from a slab sized at setup. Window sums are
 * right[c] - left[w][c], a difference of two prefix sums over the key's events in sorted
 * order, whatever rows came before. This keeps a row's features independent of the other
 * rows and of the thread count. */
typedef struct pass_state {
  totals *right; /* [n_channels] events before the row's time */
  totals *left;  /* [n_windows x n_channels] events before the row's window */
  int64_t *last; /* [n_channels] latest event time before the row's time */
  size_t *lo;    /* [n_windows] first event inside each window */
} pass_state;

static size_t pass_state_bytes(const key_group *g) {
  return (g->n_channels * (1 + g->n_windows)) * sizeof(totals) + g->n_channels * sizeof(int64_t) +
         g->n_windows * sizeof(size_t);
}

static pass_state pass_state_at(const key_group *g, unsigned char *slab) {
  pass_state st;
  st.right = (totals *)(void *)slab;
  st.left = st.right + g->n_channels;
  st.last = (int64_t *)(void *)(st.left + g->n_windows * g->n_channels);
  st.lo = (size_t *)(void *)(st.last + g->n_channels);
  return st;
}

static void add_event(const key_group *g, const event_run *ev, size_t e, totals *t, int64_t *last) {
  uint32_t mask = ev->mask[e];
  for (size_t c = 0; c < g->n_channels; c++) {
    if ((mask & g->channels[c].bit) == 0) continue;
    t[c].count++;
    if (last != NULL) last[c] = ev->t[e];
    int v = g->channels[c].value;
    if (v < 0) continue;
    double x = ev->values[v][e];
    if (isnan(x)) continue;
    t[c].sum += x;
    t[c].n_values++;
  }
}

static float plan_value(const key_group *g, const spec_plan *p, const pass_state *st, int64_t t) {
  static const totals none = {0, 0, 0.0};
  const totals *right = &st->right[p->channel];
  const totals *left =
      p->window < 0 ? &none : &st->left[(size_t)p->window * g->n_channels + p->channel];
  switch (p->aggregate) {
  case PROMO_WINDOW_COUNT:
    return (float)(right->count - left->count);
  case PROMO_WINDOW_SUM:
    return (float)(right->sum - left->sum);
  case PROMO_WINDOW_MEAN: {
    int64_t n = right->n_values - left->n_values;
    return n > 0 ? (float)((right->sum - left->sum) / (double)n) : NAN;
  }
  case PROMO_WINDOW_RATE: {
    const totals *base_right = &st->right[p->base_channel];
    const totals *base_left =
        p->window < 0 ? &none : &st->left[(size_t)p->window * g->n_channels + p->base_channel];
    int64_t base = base_right->count - base_left->count;
    return base > 0 ? (float)((double)(right->count - left->count) / (double)base) : NAN;
  }
  case PROMO_WINDOW_RECENCY: {
    int64_t last = st->last[p->channel];
    if (last == NO_TIME || (p->window_s > 0 && last < t - p->window_s)) return NAN;
    return (float)(t - last);
  }
  case PROMO_WINDOW_N_AGGREGATES:
    break;
  }
  return NAN;
}

/* Compute the features of sorted rows [r0, r1), which share one key, from events
 * [e0, e1) of that key. The right pointer takes in the events before each row's time, and
 * one left pointer per window takes in the events before the window's start. */
static void window_key(const key_group *g, const event_run *ev, size_t e0, size_t e1,
                       const row_run *rows, size_t r0, size_t r1, pass_state *st, float *out,
                       size_t stride) {
  memset(st->right, 0, g->n_channels * (1 + g->n_windows) * sizeof *st->right);
  for (size_t c = 0; c < g->n_channels; c++) st->last[c] = NO_TIME;
  for (size_t w = 0; w < g->n_windows; w++) st->lo[w] = e0;
  size_t hi = e0;

  for (size_t r = r0; r < r1; r++) {
    int64_t t = rows->t[r];
    for (; hi < e1 && ev->t[hi] < t; hi++) add_event(g, ev, hi, st->right, st->last);
    for (size_t w = 0; w < g->n_windows; w++) {
      int64_t start = t - g->windows[w];
      totals *left = &st->left[w * g->n_channels];
      for (; st->lo[w] < hi && ev->t[st->lo[w]] < start; st->lo[w]++)
        add_event(g, ev, st->lo[w], left, NULL);
    }
    float *row_out = out + (size_t)rows->row[r] * stride;
    for (size_t p = 0; p < g->n_plans; p++)
      row_out[g->plans[p].spec] = plan_value(g, &g->plans[p], st, t);
  }
}

static size_t lower_bound(const uint32_t *a, size_t lo, size_t hi, uint32_t x) {
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (a[mid] < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static bool same_row_key(const row_run *rows, size_t a, size_t b) {
  return rows->k1[a] == rows->k1[b] && (rows->k2 == NULL || rows->k2[a] == rows->k2[b]);
}

/* Compute the features of sorted rows [r0, r1), a range that starts and ends at key
 * boundaries. Returns the number of those rows whose key has no events. */
static size_t window_chunk(const key_group *g, const event_run *ev, const row_run *rows, size_t r0,
                           size_t r1, pass_state *st, float *out, size_t stride) {
  size_t n_unmatched = 0;
  for (size_t r = r0; r < r1;) {
    size_t end = r + 1;
    while (end < r1 && same_row_key(rows, r, end)) end++;
    size_t e0 = ev->start[rows->k1[r]];
    size_t e1 = ev->start[rows->k1[r] + 1];
    if (rows->k2 != NULL) {
      e0 = lower_bound(ev->k2, e0, e1, rows->k2[r]);
      e1 = lower_bound(ev->k2, e0, e1, rows->k2[r] + 1);
    }
    window_key(g, ev, e0, e1, rows, r, end, st, out, stride);
    if (e0 == e1) n_unmatched += end - r;
    r = end;
  }
  return n_unmatched;
}

/* Split the sorted rows into chunks that end at key boundaries, about 8 per thread so
 * that a few long histories do not leave threads idle. chunk k is rows
 * [starts[k], starts[k + 1]). */
static size_t chunk_rows(const row_run *rows, int n_threads, size_t *starts) {
  size_t target = rows->n / (8 * (size_t)n_threads) + 1;
  if (target < 256) target = 256;
  size_t n_chunks = 0;
  for (size_t r = 0; r < rows->n;) {
    starts[n_chunks++] = r;
    size_t end = r + target < rows->n ? r + target : rows->n;
    while (end < rows->n && same_row_key(rows, end - 1, end)) end++;
    r = end;
  }
  starts[n_chunks] = rows->n;
  return n_chunks;
}

static promo_status run_pass(compute_state *cs, const key_group *g, const event_run *ev,
                             const row_run *rows, float *out, size_t stride) {
  size_t *starts = alloc_array(rows->n / 256 + 2, sizeof *starts);
  size_t state_bytes = pass_state_bytes(g);
  unsigned char *slab = alloc_array((size_t)cs->n_threads, state_bytes);
  if (starts == NULL || slab == NULL) {
    free(starts);
    free(slab);
    return PROMO_ERR_NOMEM;
  }
  size_t n_chunks = chunk_rows(rows, cs->n_threads, starts);

  size_t n_unmatched = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(cs->n_threads) reduction(+ : n_unmatched)
  for (size_t k = 0; k < n_chunks; k++) {
    if (promo_cancelled(cs->ctx)) continue;
    pass_state st = pass_state_at(g, slab + (size_t)omp_get_thread_num() * state_bytes);
    n_unmatched += window_chunk(g, ev, rows, starts[k], starts[k + 1], &st, out, stride);
  }
  cs->stats.n_rows_unmatched += n_unmatched;
  free(starts);
  free(slab);
  return promo_cancelled(cs->ctx) ? PROMO_ERR_CANCELLED : PROMO_OK;
}

/* ===================================================================== compute */

static promo_status resolve_keys(compute_state *cs, key_group *g, promo_error *err) {
  for (size_t k = 0; k < g->keys->n_keys; k++) {
    const char *name = g->keys->keys[k];
    promo_status status = find_column(&cs->events, name, false, &g->ev_keys[k], err);
    if (status == PROMO_OK)
      status = find_column(&cs->rows, window_row_key(cs->window, name), true, &g->row_keys[k], err);
    if (status == PROMO_OK)
      status =
          key_map_build(&g->maps[k], &cs->events, &cs->rows, g->ev_keys[k], g->row_keys[k], err);
    if (status != PROMO_OK) return status;
  }
  return PROMO_OK;
}

/* Map, sort and gather one key group, then run its pass. */
static promo_status compute_group(compute_state *cs, key_group *g, float *out, size_t stride,
                                  promo_error *err) {
  double started_ms = promo_now_ms();
  promo_status status = resolve_keys(cs, g, err);
  if (status != PROMO_OK) return status;

  uint8_t *need[PROMO_WINDOW_MAX_KEYS] = {NULL, NULL};
  row_run rows = {0};
  event_run events = {0};
  for (size_t k = 0; k < g->keys->n_keys; k++) {
    need[k] = zero_array(g->maps[k].n_ids, 1);
    if (need[k] == NULL) status = PROMO_ERR_NOMEM;
  }
  if (status == PROMO_OK) status = build_row_run(cs, g, need, &rows, out, stride);
  if (status == PROMO_OK && promo_cancelled(cs->ctx)) status = PROMO_ERR_CANCELLED;
  if (status == PROMO_OK) status = build_event_run(cs, g, need, &events);
  double sorted_ms = promo_now_ms();
  cs->stats.sort_ms += sorted_ms - started_ms;
  if (status == PROMO_OK && promo_cancelled(cs->ctx)) status = PROMO_ERR_CANCELLED;
  if (status == PROMO_OK) status = run_pass(cs, g, &events, &rows, out, stride);
  cs->stats.window_ms += promo_now_ms() - sorted_ms;

  for (size_t k = 0; k < PROMO_WINDOW_MAX_KEYS; k++) free(need[k]);
  row_run_clear(&rows);
  event_run_clear(&events, cs->n_values);
  if (status == PROMO_ERR_NOMEM) return no_memory(err);
  if (status == PROMO_ERR_CANCELLED)
    return promo_error_set(err, status, "%s", _("window features were cancelled"));
  return status;
}

/* The earliest time among events and rows, the origin of the sort's time keys. */
static int64_t earliest_time(const compute_state *cs) {
  int64_t t0 = INT64_MAX;
  for (size_t i = 0; i < cs->events.table->n_rows; i++)
    if (!cs->ev_time->is_missing[i] && event_seconds(cs->ev_time, i) < t0)
      t0 = event_seconds(cs->ev_time, i);
  for (size_t r = 0; r < cs->rows.table->n_rows; r++)
    if (!cs->row_time->is_missing[r] && cell_seconds(cs->row_time, r) < t0)
      t0 = cell_seconds(cs->row_time, r);
  return t0 == INT64_MAX ? 0 : t0;
}

static promo_status resolve_columns(compute_state *cs, promo_error *err) {
  const promo_window *w = cs->window;
  promo_status status = find_time_column(&cs->events, w->event_time_column, &cs->ev_time, err);
  if (status == PROMO_OK)
    status = find_time_column(&cs->rows, w->row_time_column, &cs->row_time, err);
  if (status == PROMO_OK && w->event_type_column != NULL)
    status = find_column(&cs->events, w->event_type_column, false, &cs->ev_type, err);
  return status;
}

static void log_counts(const compute_state *cs) {
  const promo_window_stats *s = &cs->stats;
  if (s->n_events_skipped > 0)
    promo_log(
        cs->ctx, PROMO_LOG_WARN,
        P_("%zu event has a missing key or time, so it is in no window",
           "%zu events have a missing key or time, so they are in no window", s->n_events_skipped),
        s->n_events_skipped);
  if (s->n_types_missing > 0)
    promo_log(
        cs->ctx, PROMO_LOG_WARN,
        P_("%zu event has a missing type, so only '*' specs count it",
           "%zu events have a missing type, so only '*' specs count them", s->n_types_missing),
        s->n_types_missing);
  if (s->n_values_missing > 0)
    promo_log(cs->ctx, PROMO_LOG_WARN,
              P_("%zu event has a missing value, so sums and means leave it out",
                 "%zu events have a missing value, so sums and means leave them out",
                 s->n_values_missing),
              s->n_values_missing);
  if (s->n_rows_missing > 0)
    promo_log(cs->ctx, PROMO_LOG_WARN,
              P_("%zu row has a missing key or time, so its window features are NaN",
                 "%zu rows have a missing key or time, so their window features are NaN",
                 s->n_rows_missing),
              s->n_rows_missing);
  if (s->n_rows_unmatched > 0)
    promo_log(
        cs->ctx, PROMO_LOG_INFO,
        P_("%zu row has a key with no events, so its windows are empty",
           "%zu rows have keys with no events, so their windows are empty", s->n_rows_unmatched),
        s->n_rows_unmatched);
}

static promo_status check_arguments(const promo_window *window, const promo_table *events,
                                    const promo_table *rows, const float *out, size_t out_stride,
                                    promo_error *err) {
  if (window == NULL || events == NULL || rows == NULL || (out == NULL && rows->n_rows > 0))
    return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                           _("window features need a window, events, rows and an output"));
  if (out_stride < window->n_specs)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("output row stride %zu is below the %zu window features"), out_stride,
                           window->n_specs);
  if (events->n_rows >= UINT32_MAX || rows->n_rows >= UINT32_MAX)
    return promo_error_set(err, PROMO_ERR_UNSUPPORTED, "%s",
                           _("window features take fewer than 2^32 - 1 events and rows"));
  return PROMO_OK;
}

promo_status promo_window_compute(const promo_window *window, const promo_table *events,
                                  const char *events_path, const promo_table *rows,
                                  const char *rows_path, const promo_context *ctx, float *out,
                                  size_t out_stride, promo_window_stats *stats, promo_error *err) {
  if (stats != NULL) memset(stats, 0, sizeof *stats);
  promo_status status = check_arguments(window, events, rows, out, out_stride, err);
  if (status != PROMO_OK) return status;

  double started_ms = promo_now_ms();
  compute_state cs = {.window = window, .ctx = ctx};
  cs.events = (table_ref){events, events_path, true};
  cs.rows = (table_ref){rows, rows_path, false};
  cs.n_threads = ctx != NULL && ctx->n_threads > 0 ? ctx->n_threads : omp_get_max_threads();
  type_sets sets = {0};
  status = resolve_columns(&cs, err);
  if (status == PROMO_OK) status = plan_groups(&cs, &sets, err);
  if (status == PROMO_OK) status = compute_masks(&cs, &sets, err);
  if (status == PROMO_OK) cs.t0 = earliest_time(&cs);
  cs.stats.sort_ms = promo_now_ms() - started_ms;

  for (size_t i = 0; status == PROMO_OK && i < cs.n_groups; i++) {
    status = compute_group(&cs, &cs.groups[i], out, out_stride, err);
    promo_progress(ctx, "window features", i + 1, cs.n_groups);
  }
  if (status == PROMO_OK) log_counts(&cs);
  if (stats != NULL) *stats = cs.stats;
  free_groups(&cs);
  free(cs.values);
  free(cs.masks);
  return status;
}
