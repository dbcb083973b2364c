/* Categorical encoders of the feature stage: one-hot, embedding index, frequency and
 * out-of-fold target encoding. Levels are kept by their text, so a table read later with
 * other dictionary codes, or an INT column read as text, still matches. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "feature/encode_internal.h"

/* ---- int64 -> int32 map ---- */

/* The splitmix64 finalizer, which spreads nearby ids over the hash table. */
static uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static void int_map_free(encode_int_map *map) {
  free(map->slots);
  memset(map, 0, sizeof *map);
}

static int32_t int_map_find(const encode_int_map *map, int64_t key) {
  if (map->mask == 0) return -1;
  for (size_t i = mix64((uint64_t)key) & map->mask;; i = (i + 1) & map->mask) {
    const encode_int_slot *slot = &map->slots[i];
    if (slot->value < 0) return -1;
    if (slot->key == key) return slot->value;
  }
}

/* Insert a key known to be absent; the map must have room. */
static void int_map_insert_new(encode_int_map *map, int64_t key, int32_t value) {
  size_t i = mix64((uint64_t)key) & map->mask;
  while (map->slots[i].value >= 0) i = (i + 1) & map->mask;
  map->slots[i].key = key;
  map->slots[i].value = value;
  map->n_keys++;
}

/* Grow so that n_more more keys fit with the table at most half full. */
static promo_status int_map_reserve(encode_int_map *map, size_t n_more) {
  size_t need = map->n_keys + n_more;
  size_t capacity = map->mask + 1;
  if (map->mask != 0 && need <= capacity / 2) return PROMO_OK;
  size_t grown = 16;
  while (grown / 2 < need) {
    if (grown > SIZE_MAX / 4 / sizeof(encode_int_slot)) return PROMO_ERR_NOMEM;
    grown *= 2;
  }
  encode_int_map next = {grown - 1, 0, malloc(grown * sizeof(encode_int_slot))};
  if (next.slots == NULL) return PROMO_ERR_NOMEM;
  for (size_t i = 0; i < grown; i++) next.slots[i].value = -1;
  for (size_t i = 0; map->mask != 0 && i <= map->mask; i++)
    if (map->slots[i].value >= 0) int_map_insert_new(&next, map->slots[i].key, map->slots[i].value);
  int_map_free(map);
  *map = next;
  return PROMO_OK;
}

/* Range [*min, *max] of the present values of an INT column over the rows; false when
 * no value is present. */
static bool int_range(const promo_column *col, const size_t *rows, size_t n_rows, int64_t *min,
                      int64_t *max) {
  bool any = false;
  for (size_t i = 0; i < n_rows; i++) {
    size_t r = encode_row(rows, i);
    if (col->is_missing[r]) continue;
    int64_t v = col->ints[r];
    if (!any || v < *min) *min = v;
    if (!any || v > *max) *max = v;
    any = true;
  }
  return any;
}

/* True when integers in [min, max] are few enough to index an array directly: at most
 * 4 entries per row (plus a small floor), so the array costs about what a hash table
 * would. */
static bool range_is_narrow(int64_t min, int64_t max, size_t n_rows) {
  uint64_t span = (uint64_t)max - (uint64_t)min;
  return span < (uint64_t)n_rows * 4 + 4096 && span < INT32_MAX;
}

/* ---- counting levels ---- */

/* Distinct non-missing values of the training rows with their counts and target sums.
 * Value v is dictionary code v in a string column, and false (0) or true (1) in a BOOL
 * column. In an INT column with a narrow range (is_dense), v is the integer minus
 * `base`. Otherwise keys[v] is the integer, in order of first appearance. */
typedef struct level_tally {
  size_t n_values;
  uint64_t *counts; /* [n_values] */
  double *sums;     /* [n_values] target sums, NULL unless TARGET */
  bool is_dense;
  int64_t base;
  int64_t *keys;   /* [n_values] for a sparse INT column, else NULL */
  size_t capacity; /* allocated entries of counts, sums, keys (sparse INT only) */
  encode_int_map index_of_key;
} level_tally;

/* Integer that value v of an INT column's tally stands for. */
static int64_t tally_key(const level_tally *t, size_t v) {
  return t->is_dense ? (int64_t)((uint64_t)t->base + v) : t->keys[v];
}

static void tally_free(level_tally *t) {
  free(t->counts);
  free(t->sums);
  free(t->keys);
  int_map_free(&t->index_of_key);
}

static promo_status tally_alloc(level_tally *t, size_t n, bool with_sums) {
  t->capacity = n;
  t->counts = calloc(n > 0 ? n : 1, sizeof *t->counts);
  if (t->counts == NULL) return PROMO_ERR_NOMEM;
  if (with_sums) {
    t->sums = calloc(n > 0 ? n : 1, sizeof *t->sums);
    if (t->sums == NULL) return PROMO_ERR_NOMEM;
  }
  return PROMO_OK;
}

/* Index of integer `key` in the tally, adding it when new. */
static promo_status tally_int_index(level_tally *t, int64_t key, size_t *index) {
  int32_t found = int_map_find(&t->index_of_key, key);
  if (found >= 0) {
    *index = (size_t)found;
    return PROMO_OK;
  }
  if (t->n_values >= INT32_MAX) return PROMO_ERR_UNSUPPORTED;
  if (t->n_values == t->capacity) {
    size_t capacity = t->capacity < 64 ? 64 : t->capacity * 2;
    uint64_t *counts = realloc(t->counts, capacity * sizeof *counts);
    if (counts == NULL) return PROMO_ERR_NOMEM;
    t->counts = counts;
    int64_t *keys = realloc(t->keys, capacity * sizeof *keys);
    if (keys == NULL) return PROMO_ERR_NOMEM;
    t->keys = keys;
    if (t->sums != NULL) {
      double *sums = realloc(t->sums, capacity * sizeof *sums);
      if (sums == NULL) return PROMO_ERR_NOMEM;
      t->sums = sums;
    }
    t->capacity = capacity;
  }
  if (int_map_reserve(&t->index_of_key, 1) != PROMO_OK) return PROMO_ERR_NOMEM;
  *index = t->n_values++;
  int_map_insert_new(&t->index_of_key, key, (int32_t)*index);
  t->keys[*index] = key;
  t->counts[*index] = 0;
  if (t->sums != NULL) t->sums[*index] = 0;
  return PROMO_OK;
}

/* Size the tally for the column: every code, both booleans, or a narrow integer range. */
static promo_status tally_init(level_tally *t, const promo_column *col, const size_t *rows,
                               size_t n_rows, bool with_sums) {
  if (promo_type_is_string(col->type)) {
    t->n_values = promo_dict_size(col->dict);
  } else if (col->type == PROMO_TYPE_BOOL) {
    t->n_values = 2;
  } else {
    int64_t min = 0, max = 0;
    t->is_dense = int_range(col, rows, n_rows, &min, &max) && range_is_narrow(min, max, n_rows);
    t->base = min;
    t->n_values = t->is_dense ? (size_t)((uint64_t)max - (uint64_t)min) + 1 : 0;
  }
  return tally_alloc(t, t->n_values, with_sums);
}

/* Count the training rows per value; missing rows go to enc->n_missing and
 * enc->missing_sum. */
static promo_status tally_levels(promo_encoder *enc, const promo_column *col, const size_t *rows,
                                 size_t n_rows, const double *target, level_tally *t) {
  bool with_sums = target != NULL;
  promo_status status = tally_init(t, col, rows, n_rows, with_sums);
  if (status != PROMO_OK) return status;

  for (size_t i = 0; i < n_rows; i++) {
    size_t r = encode_row(rows, i);
    double y = with_sums ? target[r] : 0.0;
    size_t v;
    if (col->is_missing[r]) {
      enc->n_missing++;
      enc->missing_sum += y;
      continue;
    }
    if (promo_type_is_string(col->type)) {
      v = (size_t)col->codes[r];
      /* A present value always has a code; a bad one is a bug upstream. */
      if (col->codes[r] < 0 || v >= t->n_values) return PROMO_ERR_INTERNAL;
    } else if (col->type == PROMO_TYPE_BOOL) {
      v = col->ints[r] != 0;
    } else if (t->is_dense) {
      v = (size_t)((uint64_t)col->ints[r] - (uint64_t)t->base);
    } else {
      status = tally_int_index(t, col->ints[r], &v);
      if (status != PROMO_OK) return status;
    }
    t->counts[v]++;
    if (with_sums) t->sums[v] += y;
  }
  return PROMO_OK;
}

/* ---- choosing levels ---- */

typedef struct candidate {
  const char *text;
  size_t len;
  uint64_t count;
  double sum;
} candidate;

/* Most frequent first; ties by byte order, so the order never depends on codes. */
static int compare_candidates(const void *pa, const void *pb) {
  const candidate *a = pa, *b = pb;
  if (a->count != b->count) return a->count > b->count ? -1 : 1;
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->text, b->text, n);
  if (c != 0) return c;
  return (a->len > b->len) - (a->len < b->len);
}

/* One candidate per value seen, sorted; integer texts go into a new *int_texts. */
static promo_status list_candidates(const promo_column *col, const level_tally *t, candidate **out,
                                    size_t *n_out, char **int_texts) {
  size_t n = 0;
  for (size_t v = 0; v < t->n_values; v++) n += t->counts[v] > 0;
  candidate *cands = malloc((n > 0 ? n : 1) * sizeof *cands);
  if (cands == NULL) return PROMO_ERR_NOMEM;
  enum { INT_TEXT = 24 };
  if (col->type == PROMO_TYPE_INT) {
    *int_texts = malloc((n > 0 ? n : 1) * INT_TEXT);
    if (*int_texts == NULL) {
      free(cands);
      return PROMO_ERR_NOMEM;
    }
  }

  n = 0;
  for (size_t v = 0; v < t->n_values; v++) {
    if (t->counts[v] == 0) continue;
    candidate *c = &cands[n];
    c->count = t->counts[v];
    c->sum = t->sums != NULL ? t->sums[v] : 0.0;
    if (promo_type_is_string(col->type)) {
      c->text = promo_dict_string(col->dict, (int32_t)v, &c->len);
    } else if (col->type == PROMO_TYPE_BOOL) {
      c->text = v != 0 ? "true" : "false";
      c->len = strlen(c->text);
    } else {
      char *text = *int_texts + n * INT_TEXT;
      c->len = promo_format_int(tally_key(t, v), text);
      c->text = text;
    }
    n++;
  }
  qsort(cands, n, sizeof *cands, compare_candidates);
  *out = cands;
  *n_out = n;
  return PROMO_OK;
}

/* Keep the frequent candidates (sorted) as the encoder's levels. */
static promo_status keep_levels(promo_encoder *enc, const candidate *cands, size_t n_cands) {
  uint64_t min_count = enc->opt.min_count > 0 ? enc->opt.min_count : 1;
  size_t n_kept = 0;
  while (n_kept < n_cands && cands[n_kept].count >= min_count &&
         (enc->opt.max_levels == 0 || n_kept < enc->opt.max_levels))
    n_kept++;
  for (size_t i = n_kept; i < n_cands; i++) enc->n_rare_rows += cands[i].count;
  enc->n_rare_levels = n_cands - n_kept;

  if (n_kept >= INT32_MAX - 2) return PROMO_ERR_UNSUPPORTED;
  enc->n_levels = n_kept;
  enc->counts = malloc((n_kept > 0 ? n_kept : 1) * sizeof *enc->counts);
  bool with_sums = enc->kind == PROMO_ENCODER_TARGET;
  if (with_sums) enc->sums = malloc((n_kept > 0 ? n_kept : 1) * sizeof *enc->sums);
  if (enc->counts == NULL || (with_sums && enc->sums == NULL)) return PROMO_ERR_NOMEM;
  for (size_t i = 0; i < n_kept; i++) {
    int32_t code;
    promo_status status = promo_dict_intern(enc->levels, cands[i].text, cands[i].len, &code);
    if (status != PROMO_OK) return status;
    enc->counts[i] = cands[i].count;
    if (with_sums) enc->sums[i] = cands[i].sum;
  }
  return PROMO_OK;
}

/* Reject a missing or non-finite target on a training row. */
static promo_status check_target(const promo_encoder *enc, const promo_table *table,
                                 const size_t *rows, size_t n_rows, const double *target,
                                 promo_error *err) {
  if (target == NULL)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("target encoding of column \"%s\" needs a target column; add --target COL"),
                           enc->column);
  for (size_t i = 0; i < n_rows; i++) {
    size_t r = encode_row(rows, i);
    if (isfinite(target[r])) continue;
    promo_error_at(err, NULL, table->lines != NULL ? table->lines[r] : 0, 0);
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("the target on this row is missing or not a finite number, so "
                             "column \"%s\" cannot be target-encoded. Drop or fill such rows "
                             "first"),
                           enc->column);
  }
  return PROMO_OK;
}

promo_status encode_category_fit(promo_encoder *enc, const promo_table *table, size_t column,
                                 const size_t *rows, size_t n_rows, const double *target,
                                 promo_error *err) {
  bool is_target = enc->kind == PROMO_ENCODER_TARGET;
  promo_status status = PROMO_OK;
  if (is_target) {
    status = check_target(enc, table, rows, n_rows, target, err);
    if (status != PROMO_OK) return status;
    for (size_t i = 0; i < n_rows; i++) enc->target_sum += target[encode_row(rows, i)];
  }

  level_tally tally = {0};
  candidate *cands = NULL;
  char *int_texts = NULL;
  size_t n_cands = 0;
  status =
      tally_levels(enc, &table->columns[column], rows, n_rows, is_target ? target : NULL, &tally);
  if (status == PROMO_OK)
    status = list_candidates(&table->columns[column], &tally, &cands, &n_cands, &int_texts);
  if (status == PROMO_OK) status = promo_dict_create(&enc->levels);
  if (status == PROMO_OK) status = keep_levels(enc, cands, n_cands);
  free(cands);
  free(int_texts);
  tally_free(&tally);
  if (status == PROMO_ERR_UNSUPPORTED)
    return promo_error_set(err, status,
                           _("column \"%s\" has more distinct values than an encoder can "
                             "hold (2^31 - 3). Set max_levels lower"),
                           enc->column);
  if (status != PROMO_OK) return promo_error_set(err, status, "%s", promo_status_text(status));
  return PROMO_OK;
}

/* ---- derived lookups ---- */

/* Integer value of a level whose text is a plain integer ("-12", not "012" or "+1"). */
static bool plain_integer(const char *text, size_t len, int64_t *value) {
  if (len == 0 || len > 20) return false;
  errno = 0;
  char *end;
  long long v = strtoll(text, &end, 10);
  if (errno != 0 || end != text + len) return false;
  char canonical[24];
  if (promo_format_int(v, canonical) != len || memcmp(canonical, text, len) != 0) return false;
  *value = v;
  return true;
}

static void fill_values(promo_encoder *enc) {
  size_t n = enc->n_levels;
  float *values = enc->values;
  double rows = (double)enc->n_train_rows;
  double m = enc->opt.smoothing;
  for (size_t i = 0; i < n; i++) {
    switch (enc->kind) {
      case PROMO_ENCODER_INDEX: values[i] = (float)(i + 1); break;
      case PROMO_ENCODER_FREQUENCY: values[i] = (float)((double)enc->counts[i] / rows); break;
      default: /* TARGET: the m-estimate */
        values[i] = (float)((enc->sums[i] + m * enc->prior) / ((double)enc->counts[i] + m));
        break;
    }
  }
  switch (enc->kind) {
    case PROMO_ENCODER_INDEX:
      values[n] = 0.0f;
      values[n + 1] = 0.0f;
      break;
    case PROMO_ENCODER_FREQUENCY:
      values[n] = (float)((double)enc->n_missing / rows);
      values[n + 1] = 0.0f;
      break;
    default:
      values[n] = (float)((enc->missing_sum + m * enc->prior) / ((double)enc->n_missing + m));
      values[n + 1] = (float)enc->prior;
      break;
  }
}

promo_status encode_category_finish(promo_encoder *enc) {
  size_t n = enc->n_levels;
  if (enc->kind == PROMO_ENCODER_TARGET)
    enc->prior = enc->n_train_rows > 0 ? enc->target_sum / (double)enc->n_train_rows : 0.0;
  if (enc->kind == PROMO_ENCODER_ONE_HOT) {
    enc->one_hot_columns = malloc((n + 2) * sizeof *enc->one_hot_columns);
    if (enc->one_hot_columns == NULL) return PROMO_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) enc->one_hot_columns[i] = (int32_t)i;
    /* Outputs: the levels, then __other__, then __missing__ when training had missing. */
    enc->one_hot_columns[n] = (int32_t)(enc->n_missing > 0 ? n + 1 : n);
    enc->one_hot_columns[n + 1] = (int32_t)n;
  } else {
    enc->values = malloc((n + 2) * sizeof *enc->values);
    if (enc->values == NULL) return PROMO_ERR_NOMEM;
    fill_values(enc);
  }

  size_t n_integers = 0;
  int64_t value;
  for (size_t i = 0; i < n; i++) {
    size_t len;
    const char *text = promo_dict_string(enc->levels, (int32_t)i, &len);
    n_integers += plain_integer(text, len, &value);
  }
  if (n_integers > 0 && int_map_reserve(&enc->int_levels, n_integers) != PROMO_OK)
    return PROMO_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    size_t len;
    const char *text = promo_dict_string(enc->levels, (int32_t)i, &len);
    if (plain_integer(text, len, &value)) int_map_insert_new(&enc->int_levels, value, (int32_t)i);
  }
  return PROMO_OK;
}

void encode_category_free(promo_encoder *enc) {
  promo_dict_free(enc->levels);
  free(enc->counts);
  free(enc->sums);
  free(enc->values);
  free(enc->one_hot_columns);
  int_map_free(&enc->int_levels);
}

/* ---- transform ---- */

/* For an INT column whose values span a narrow range, a direct table from value to slot,
 * so each row costs an array read instead of a hash probe. */
static promo_status bind_int_range(const promo_encoder *enc, const promo_column *column,
                                   size_t n_rows, encode_binding *binding) {
  int64_t min = 0, max = 0;
  if (!int_range(column, NULL, n_rows, &min, &max) || !range_is_narrow(min, max, n_rows))
    return PROMO_OK;
  binding->code_base = min;
  binding->n_codes = (size_t)((uint64_t)max - (uint64_t)min) + 1;
  binding->slot_of_code = malloc(binding->n_codes * sizeof *binding->slot_of_code);
  if (binding->slot_of_code == NULL) return PROMO_ERR_NOMEM;
  int32_t other = ENCODE_SLOT_OTHER(enc);
  for (size_t i = 0; i < binding->n_codes; i++) {
    int32_t level = int_map_find(&enc->int_levels, (int64_t)((uint64_t)min + i));
    binding->slot_of_code[i] = level >= 0 ? level : other;
  }
  return PROMO_OK;
}

promo_status encode_category_bind(const promo_encoder *enc, const promo_column *column,
                                  size_t n_rows, encode_binding *binding, promo_error *err) {
  int32_t other = ENCODE_SLOT_OTHER(enc);
  binding->missing_slot = enc->n_missing > 0 ? ENCODE_SLOT_MISSING(enc) : other;
  if (column->type == PROMO_TYPE_INT) {
    if (bind_int_range(enc, column, n_rows, binding) != PROMO_OK)
      return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    return PROMO_OK;
  }
  if (promo_type_is_string(column->type)) {
    binding->n_codes = promo_dict_size(column->dict);
    binding->slot_of_code =
        malloc((binding->n_codes > 0 ? binding->n_codes : 1) * sizeof *binding->slot_of_code);
    if (binding->slot_of_code == NULL)
      return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    for (size_t code = 0; code < binding->n_codes; code++) {
      size_t len;
      const char *text = promo_dict_string(column->dict, (int32_t)code, &len);
      int32_t level = promo_dict_find(enc->levels, text, len);
      binding->slot_of_code[code] = level >= 0 ? level : other;
    }
    return PROMO_OK;
  }
  if (column->type == PROMO_TYPE_BOOL) {
    int32_t no = promo_dict_find(enc->levels, "false", 5);
    int32_t yes = promo_dict_find(enc->levels, "true", 4);
    binding->bool_slots[0] = no >= 0 ? no : other;
    binding->bool_slots[1] = yes >= 0 ? yes : other;
    return PROMO_OK;
  }
  return promo_error_set(err, PROMO_ERR_DATA,
                         _("column \"%s\" is %s now, but its %s encoder reads categories "
                           "(text, boolean or integer). Read the column as text"),
                         enc->column, promo_type_name(column->type),
                         promo_encoder_kind_name(enc->kind));
}

/* Slots of rows[begin..end) into slots[0..end-begin). */
static void fill_slots(const encode_binding *b, const size_t *rows, size_t begin, size_t end,
                       int32_t *slots) {
  const promo_encoder *enc = b->encoder;
  const promo_column *col = b->column;
  const uint8_t *missing = col->is_missing;
  int32_t other = ENCODE_SLOT_OTHER(enc);
  if (promo_type_is_string(col->type)) {
    for (size_t i = begin; i < end; i++) {
      size_t r = encode_row(rows, i);
      int32_t code = col->codes[r];
      slots[i - begin] = missing[r]                                 ? b->missing_slot
                         : (code >= 0 && (size_t)code < b->n_codes) ? b->slot_of_code[code]
                                                                    : other;
    }
  } else if (col->type == PROMO_TYPE_BOOL) {
    for (size_t i = begin; i < end; i++) {
      size_t r = encode_row(rows, i);
      slots[i - begin] = missing[r] ? b->missing_slot : b->bool_slots[col->ints[r] != 0];
    }
  } else if (b->slot_of_code != NULL) {
    /* INT column with a narrow range: every value is within the table's range. */
    for (size_t i = begin; i < end; i++) {
      size_t r = encode_row(rows, i);
      size_t v = (size_t)((uint64_t)col->ints[r] - (uint64_t)b->code_base);
      slots[i - begin] = missing[r] ? b->missing_slot : b->slot_of_code[v];
    }
  } else {
    for (size_t i = begin; i < end; i++) {
      size_t r = encode_row(rows, i);
      int32_t level = missing[r] ? b->missing_slot : int_map_find(&enc->int_levels, col->ints[r]);
      slots[i - begin] = level >= 0 ? level : other;
    }
  }
}

enum { SLOT_BLOCK = 512 };

void encode_category_apply(const encode_binding *binding, const size_t *rows, size_t begin,
                           size_t end, float *X, size_t ld, size_t offset,
                           promo_encoder_counts *counts) {
  const promo_encoder *enc = binding->encoder;
  int32_t slots[SLOT_BLOCK];
  int32_t other = ENCODE_SLOT_OTHER(enc);
  uint64_t n_other = 0;
  for (size_t block = begin; block < end; block += SLOT_BLOCK) {
    size_t block_end = end - block < SLOT_BLOCK ? end : block + SLOT_BLOCK;
    fill_slots(binding, rows, block, block_end, slots);
    size_t n = block_end - block;
    for (size_t k = 0; k < n; k++) n_other += slots[k] == other;

    float *x = X + block * ld + offset;
    if (enc->kind == PROMO_ENCODER_ONE_HOT) {
      size_t width = enc->n_outputs;
      for (size_t k = 0; k < n; k++, x += ld) {
        memset(x, 0, width * sizeof *x);
        x[enc->one_hot_columns[slots[k]]] = 1.0f;
      }
    } else {
      for (size_t k = 0; k < n; k++, x += ld) x[0] = enc->values[slots[k]];
    }
  }
  counts->n_other += n_other;
}

/* ---- out-of-fold target encoding ---- */

/* The splitmix64 generator: a Weyl sequence passed through mix64. */
static uint64_t next_random(uint64_t *state) {
  *state += 0x9e3779b97f4a7c15ULL;
  return mix64(*state);
}

/* Uniform integer in [0, bound), rejecting the biased low range. */
static uint64_t random_below(uint64_t *state, uint64_t bound) {
  uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    uint64_t r = next_random(state);
    if (r >= threshold) return r % bound;
  }
}

/* Fold of each training position: a seeded Fisher-Yates shuffle dealt round-robin, so
 * fold sizes differ by at most one. */
static uint32_t *assign_folds(size_t n_rows, size_t n_folds, uint64_t seed) {
  uint32_t *order = malloc(n_rows * sizeof *order);
  uint32_t *fold = malloc(n_rows * sizeof *fold);
  if (order == NULL || fold == NULL) {
    free(order);
    free(fold);
    return NULL;
  }
  for (size_t i = 0; i < n_rows; i++) order[i] = (uint32_t)i;
  uint64_t state = seed;
  for (size_t i = n_rows; i > 1; i--) {
    size_t j = (size_t)random_below(&state, i);
    uint32_t t = order[i - 1];
    order[i - 1] = order[j];
    order[j] = t;
  }
  for (size_t i = 0; i < n_rows; i++) fold[order[i]] = (uint32_t)(i % n_folds);
  free(order);
  return fold;
}

/* Encode the training rows of fold f with the statistics of the other folds. slots[i] is
 * the slot of position i; fold_counts and fold_sums have n_levels + 1 entries. */
static void encode_fold(const promo_encoder *enc, const size_t *rows, size_t n_rows,
                        const double *target, const int32_t *slots, const uint32_t *fold,
                        uint32_t f, uint64_t *fold_counts, double *fold_sums, float *X, size_t ld,
                        size_t offset) {
  size_t n_levels = enc->n_levels;
  memset(fold_counts, 0, (n_levels + 1) * sizeof *fold_counts);
  memset(fold_sums, 0, (n_levels + 1) * sizeof *fold_sums);
  uint64_t fold_rows = 0;
  double fold_total = 0;
  for (size_t i = 0; i < n_rows; i++) {
    if (fold[i] != f) continue;
    double y = target[encode_row(rows, i)];
    fold_rows++;
    fold_total += y;
    if ((size_t)slots[i] <= n_levels) {
      fold_counts[slots[i]]++;
      fold_sums[slots[i]] += y;
    }
  }

  double m = enc->opt.smoothing;
  double prior = (enc->target_sum - fold_total) / (double)(enc->n_train_rows - fold_rows);
  for (size_t i = 0; i < n_rows; i++) {
    if (fold[i] != f) continue;
    size_t s = (size_t)slots[i];
    double count = 0, sum = 0;
    if (s < n_levels) {
      count = (double)(enc->counts[s] - fold_counts[s]);
      sum = enc->sums[s] - fold_sums[s];
    } else if (s == n_levels) {
      count = (double)(enc->n_missing - fold_counts[s]);
      sum = enc->missing_sum - fold_sums[s];
    }
    X[i * ld + offset] = (float)((sum + m * prior) / (count + m));
  }
}

promo_status encode_category_fit_out_of_fold(const promo_encoder *enc, const promo_table *table,
                                             size_t column, const size_t *rows, size_t n_rows,
                                             const double *target, float *X, size_t ld,
                                             size_t offset, promo_error *err) {
  encode_binding binding = {.encoder = enc, .column = &table->columns[column]};
  promo_status status = encode_category_bind(enc, binding.column, table->n_rows, &binding, err);
  if (status != PROMO_OK) return status;

  int32_t *slots = malloc((n_rows > 0 ? n_rows : 1) * sizeof *slots);
  uint32_t *fold = assign_folds(n_rows, enc->opt.n_folds, enc->opt.seed);
  uint64_t *fold_counts = malloc((enc->n_levels + 1) * sizeof *fold_counts);
  double *fold_sums = malloc((enc->n_levels + 1) * sizeof *fold_sums);
  if (slots == NULL || fold == NULL || fold_counts == NULL || fold_sums == NULL) {
    status = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  } else {
    for (size_t block = 0; block < n_rows; block += SLOT_BLOCK) {
      size_t block_end = n_rows - block < SLOT_BLOCK ? n_rows : block + SLOT_BLOCK;
      fill_slots(&binding, rows, block, block_end, slots + block);
    }
    for (uint32_t f = 0; f < enc->opt.n_folds; f++)
      encode_fold(enc, rows, n_rows, target, slots, fold, f, fold_counts, fold_sums, X, ld, offset);
  }
  free(slots);
  free(fold);
  free(fold_counts);
  free(fold_sums);
  encode_binding_clear(&binding);
  return status;
}

/* ---- JSON ---- */

promo_status encode_category_to_json(const promo_encoder *enc, json_t *obj) {
  json_t *levels = json_array(), *counts = json_array();
  json_t *sums = enc->kind == PROMO_ENCODER_TARGET ? json_array() : NULL;
  promo_status status = encode_json_set(obj, "levels", levels);
  if (status == PROMO_OK) status = encode_json_set(obj, "counts", counts);
  if (status == PROMO_OK && enc->kind == PROMO_ENCODER_TARGET)
    status = encode_json_set(obj, "sums", sums);
  for (size_t i = 0; i < enc->n_levels && status == PROMO_OK; i++) {
    size_t len;
    const char *text = promo_dict_string(enc->levels, (int32_t)i, &len);
    json_t *level = json_stringn(text, len);
    /* Texts come from UTF-8 input; jansson rejects anything else. */
    if (level == NULL)
      status = PROMO_ERR_DATA;
    else if (json_array_append_new(levels, level) != 0)
      status = PROMO_ERR_NOMEM;
    if (status == PROMO_OK &&
        json_array_append_new(counts, json_integer((json_int_t)enc->counts[i])) != 0)
      status = PROMO_ERR_NOMEM;
    if (status == PROMO_OK && sums != NULL &&
        json_array_append_new(sums, json_real(enc->sums[i])) != 0)
      status = PROMO_ERR_NOMEM;
  }

  struct {
    const char *field;
    uint64_t value;
  } integers[] = {{"min_count", enc->opt.min_count},
                  {"max_levels", enc->opt.max_levels},
                  {"n_rare_levels", enc->n_rare_levels},
                  {"n_rare_rows", enc->n_rare_rows}};
  for (size_t i = 0; i < sizeof integers / sizeof integers[0] && status == PROMO_OK; i++)
    status = encode_json_set(obj, integers[i].field, json_integer((json_int_t)integers[i].value));
  if (status != PROMO_OK || enc->kind != PROMO_ENCODER_TARGET) return status;

  /* The seed is written as text, because JSON integers here are signed 64-bit. */
  char seed[24];
  snprintf(seed, sizeof seed, "%llu", (unsigned long long)enc->opt.seed);
  status = encode_json_set(obj, "missing_sum", json_real(enc->missing_sum));
  if (status == PROMO_OK) status = encode_json_set(obj, "target_sum", json_real(enc->target_sum));
  if (status == PROMO_OK) status = encode_json_set(obj, "smoothing", json_real(enc->opt.smoothing));
  if (status == PROMO_OK)
    status = encode_json_set(obj, "n_folds", json_integer((json_int_t)enc->opt.n_folds));
  if (status == PROMO_OK) status = encode_json_set(obj, "seed", json_string(seed));
  return status;
}

static promo_status bad_field(promo_error *err, const char *field) {
  return promo_error_set(err, PROMO_ERR_DATA, _("encoder JSON: field \"%s\" is missing or invalid"),
                         field);
}

/* Levels, counts and (TARGET) sums, which must be arrays of one length. */
static promo_status levels_from_json(const json_t *obj, promo_encoder *enc, promo_error *err) {
  const json_t *levels = json_object_get(obj, "levels");
  const json_t *counts = json_object_get(obj, "counts");
  const json_t *sums = json_object_get(obj, "sums");
  bool is_target = enc->kind == PROMO_ENCODER_TARGET;
  if (!json_is_array(levels)) return bad_field(err, "levels");
  size_t n = json_array_size(levels);
  if (n >= INT32_MAX - 2) return bad_field(err, "levels");
  if (!json_is_array(counts) || json_array_size(counts) != n) return bad_field(err, "counts");
  if (is_target && (!json_is_array(sums) || json_array_size(sums) != n))
    return bad_field(err, "sums");

  enc->n_levels = n;
  enc->counts = malloc((n > 0 ? n : 1) * sizeof *enc->counts);
  if (is_target) enc->sums = malloc((n > 0 ? n : 1) * sizeof *enc->sums);
  if (promo_dict_create(&enc->levels) != PROMO_OK || enc->counts == NULL ||
      (is_target && enc->sums == NULL))
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  for (size_t i = 0; i < n; i++) {
    const json_t *level = json_array_get(levels, i);
    const json_t *count = json_array_get(counts, i);
    if (!json_is_string(level)) return bad_field(err, "levels");
    int32_t code;
    promo_status status =
        promo_dict_intern(enc->levels, json_string_value(level), json_string_length(level), &code);
    if (status != PROMO_OK) return promo_error_set(err, status, "%s", promo_status_text(status));
    if ((size_t)code != i)
      return promo_error_set(err, PROMO_ERR_DATA, _("encoder JSON: level \"%s\" is listed twice"),
                             json_string_value(level));
    if (!json_is_integer(count) || json_integer_value(count) < 1) return bad_field(err, "counts");
    enc->counts[i] = (uint64_t)json_integer_value(count);
    if (is_target) {
      const json_t *sum = json_array_get(sums, i);
      if (!json_is_number(sum)) return bad_field(err, "sums");
      enc->sums[i] = json_number_value(sum);
    }
  }
  return PROMO_OK;
}

promo_status encode_category_from_json(const json_t *obj, promo_encoder *enc, promo_error *err) {
  promo_status status = levels_from_json(obj, enc, err);
  uint64_t max_levels = 0;
  if (status == PROMO_OK) status = encode_json_count(obj, "min_count", &enc->opt.min_count, err);
  if (status == PROMO_OK) status = encode_json_count(obj, "max_levels", &max_levels, err);
  if (status == PROMO_OK)
    status = encode_json_count(obj, "n_rare_levels", &enc->n_rare_levels, err);
  if (status == PROMO_OK) status = encode_json_count(obj, "n_rare_rows", &enc->n_rare_rows, err);
  if (status != PROMO_OK) return status;
  enc->opt.max_levels = (size_t)max_levels;
  if (enc->kind != PROMO_ENCODER_TARGET) return PROMO_OK;

  uint64_t n_folds = 0;
  status = encode_json_real(obj, "missing_sum", &enc->missing_sum, err);
  if (status == PROMO_OK) status = encode_json_real(obj, "target_sum", &enc->target_sum, err);
  if (status == PROMO_OK) status = encode_json_real(obj, "smoothing", &enc->opt.smoothing, err);
  if (status == PROMO_OK) status = encode_json_count(obj, "n_folds", &n_folds, err);
  if (status != PROMO_OK) return status;
  if (!(enc->opt.smoothing > 0)) return bad_field(err, "smoothing");
  if (n_folds < 2) return bad_field(err, "n_folds");
  enc->opt.n_folds = (size_t)n_folds;

  const char *seed = json_string_value(json_object_get(obj, "seed"));
  char *end = NULL;
  errno = 0;
  unsigned long long value = seed != NULL ? strtoull(seed, &end, 10) : 0;
  if (seed == NULL || seed[0] < '0' || seed[0] > '9' || *end != '\0' || errno != 0)
    return bad_field(err, "seed");
  enc->opt.seed = value;
  return PROMO_OK;
}
