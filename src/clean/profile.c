/* Cleaning pass 1: reads every record once to find exact and key duplicates, infer each
 * column's type and compute the statistics (median, quantiles, mode, distinct counts)
 * that the fills and outlier fences of pass 2 use. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
/* XXH3_state_t is complete only with static linking declarations. */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "clean/internal.h"
#include "core/intl.h"

/* ---- row index and bitset ---- */

promo_status row_index_init(row_index *index) {
  index->n_slots = 1u << 16;
  index->n_used = 0;
  index->slots = calloc(index->n_slots, sizeof *index->slots);
  return index->slots != NULL ? PROMO_OK : PROMO_ERR_NOMEM;
}

void row_index_clear(row_index *index) {
  free(index->slots);
  index->slots = NULL;
  index->n_slots = index->n_used = 0;
}

static promo_status row_index_grow(row_index *index) {
  uint64_t n = index->n_slots * 2;
  row_entry *slots = calloc(n, sizeof *slots);
  if (slots == NULL) return PROMO_ERR_NOMEM;
  for (uint64_t i = 0; i < index->n_slots; i++) {
    const row_entry *e = &index->slots[i];
    if (e->line == 0) continue;
    uint64_t j = e->hash_low & (n - 1);
    while (slots[j].line != 0) j = (j + 1) & (n - 1);
    slots[j] = *e;
  }
  free(index->slots);
  index->slots = slots;
  index->n_slots = n;
  return PROMO_OK;
}

promo_status row_index_upsert(row_index *index, uint64_t low, uint64_t high, row_entry **out) {
  /* Keep the load under 1/2 so probes stay short. */
  if ((index->n_used + 1) * 2 > index->n_slots && row_index_grow(index) != PROMO_OK)
    return PROMO_ERR_NOMEM;
  uint64_t mask = index->n_slots - 1;
  uint64_t j = low & mask;
  while (index->slots[j].line != 0) {
    row_entry *e = &index->slots[j];
    if (e->hash_low == low && e->hash_high == high) {
      *out = e;
      return PROMO_OK;
    }
    j = (j + 1) & mask;
  }
  row_entry *e = &index->slots[j];
  e->hash_low = low;
  e->hash_high = high;
  e->line = 0; /* the caller fills it in */
  index->n_used++;
  *out = e;
  return PROMO_OK;
}

const row_entry *row_index_find(const row_index *index, uint64_t low, uint64_t high) {
  if (index->slots == NULL) return NULL;
  uint64_t mask = index->n_slots - 1;
  uint64_t j = low & mask;
  while (index->slots[j].line != 0) {
    const row_entry *e = &index->slots[j];
    if (e->hash_low == low && e->hash_high == high) return e;
    j = (j + 1) & mask;
  }
  return NULL;
}

promo_status bitset_set(bitset *set, uint64_t i) {
  if (i >= set->n_bits) {
    uint64_t n_words = set->n_bits / 64, want = i / 64 + 1;
    uint64_t grown = n_words == 0 ? 1024 : n_words;
    while (grown < want) grown *= 2;
    uint64_t *words = realloc(set->words, grown * sizeof *words);
    if (words == NULL) return PROMO_ERR_NOMEM;
    memset(words + n_words, 0, (grown - n_words) * sizeof *words);
    set->words = words;
    set->n_bits = grown * 64;
  }
  set->words[i >> 6] |= (uint64_t)1 << (i & 63);
  return PROMO_OK;
}

void bitset_clear(bitset *set) {
  free(set->words);
  set->words = NULL;
  set->n_bits = 0;
}

/* ---- HyperLogLog (Flajolet, Fusy, Gandouet, Meunier 2007) ---- */

static void hll_add(uint8_t *registers, uint64_t hash) {
  uint32_t index = (uint32_t)(hash >> (64 - CLEAN_HLL_BITS));
  uint64_t rest = hash << CLEAN_HLL_BITS | ((uint64_t)1 << (CLEAN_HLL_BITS - 1));
  uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
  if (rank > registers[index]) registers[index] = rank;
}

static uint64_t hll_estimate(const uint8_t *registers) {
  const double m = CLEAN_HLL_REGISTERS;
  double sum = 0.0;
  uint32_t zeros = 0;
  for (uint32_t i = 0; i < CLEAN_HLL_REGISTERS; i++) {
    sum += ldexp(1.0, -registers[i]);
    zeros += registers[i] == 0;
  }
  double alpha = 0.7213 / (1.0 + 1.079 / m);
  double estimate = alpha * m * m / sum;
  /* Linear counting is more accurate while many registers are still empty. */
  if (estimate <= 2.5 * m && zeros > 0) estimate = m * log(m / zeros);
  return (uint64_t)llround(estimate);
}

/* ---- per-column profile ---- */

void column_profile_clear(column_profile *p) {
  promo_dict_free(p->values);
  free(p->value_counts);
  free(p->hll);
  free(p->numbers);
  memset(p, 0, sizeof *p);
}

static promo_status column_profile_init(column_profile *p, bool collect_numbers, uint64_t seed) {
  memset(p, 0, sizeof *p);
  p->rng_state = seed;
  if (promo_dict_create(&p->values) != PROMO_OK) return PROMO_ERR_NOMEM;
  p->collect_numbers = collect_numbers;
  return PROMO_OK;
}

/* Counts grow with the distinct values, so wide files of few rows stay small. */
static promo_status grow_counts(column_profile *p) {
  size_t capacity = p->value_counts_capacity == 0 ? 64 : p->value_counts_capacity * 2;
  uint64_t *counts = realloc(p->value_counts, capacity * sizeof *counts);
  if (counts == NULL) return PROMO_ERR_NOMEM;
  memset(counts + p->value_counts_capacity, 0, (capacity - p->value_counts_capacity) * sizeof *counts);
  p->value_counts = counts;
  p->value_counts_capacity = capacity;
  return PROMO_OK;
}

/* Switch distinct counting to HyperLogLog once the exact set is full, seeding the
 * registers with the values tracked so far (order and repeats do not change them). */
static promo_status start_estimating(column_profile *p) {
  p->hll = calloc(CLEAN_HLL_REGISTERS, 1);
  if (p->hll == NULL) return PROMO_ERR_NOMEM;
  for (size_t code = 0; code < promo_dict_size(p->values); code++) {
    size_t len;
    const char *text = promo_dict_string(p->values, (int32_t)code, &len);
    hll_add(p->hll, XXH3_64bits(text, len));
  }
  p->values_overflowed = true;
  return PROMO_OK;
}

/* splitmix64, for the reservoir's choices; a fixed seed keeps runs reproducible. */
static uint64_t next_random(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

static promo_status keep_number(column_profile *p, double x, uint64_t *rng) {
  p->n_numbers_seen++;
  p->sum += x;
  if (p->n_numbers < CLEAN_MAX_KEPT_VALUES) {
    if (p->n_numbers == p->numbers_capacity) {
      uint64_t cap = p->numbers_capacity == 0 ? 1024 : p->numbers_capacity * 2;
      if (cap > CLEAN_MAX_KEPT_VALUES) cap = CLEAN_MAX_KEPT_VALUES;
      double *grown = realloc(p->numbers, cap * sizeof *grown);
      if (grown == NULL) return PROMO_ERR_NOMEM;
      p->numbers = grown;
      p->numbers_capacity = cap;
    }
    p->numbers[p->n_numbers++] = x;
    return PROMO_OK;
  }
  /* Reservoir sampling (Vitter's algorithm R): each value stays with equal probability. */
  uint64_t j = next_random(rng) % p->n_numbers_seen;
  if (j < CLEAN_MAX_KEPT_VALUES) p->numbers[j] = x;
  return PROMO_OK;
}

/* True when a value breaks its own column's rule, so it must not shape the fill value. */
static bool breaks_own_rule(const column_plan *plan, double x) {
  if (plan->is_price && x <= 0.0) return true;
  if (plan->is_quantity && x < 0.0) return true;
  if (plan->is_rate && !(x > 0.0 && x <= 1.0)) return true;
  return false;
}

static promo_status profile_field(clean_run *run, size_t c, const char *s, size_t len) {
  column_profile *p = &run->profiles[c];
  if (promo_value_is_missing(s, len)) {
    p->guess.n_missing++;
    return PROMO_OK;
  }
  promo_type_guess_add(&p->guess, s, len);

  if (!p->values_overflowed) {
    int32_t code = promo_dict_find(p->values, s, len);
    if (code < 0 && promo_dict_size(p->values) < CLEAN_MAX_TRACKED_VALUES) {
      if (promo_dict_intern(p->values, s, len, &code) != PROMO_OK) return PROMO_ERR_NOMEM;
      if ((size_t)code >= p->value_counts_capacity && grow_counts(p) != PROMO_OK) return PROMO_ERR_NOMEM;
    }
    if (code >= 0)
      p->value_counts[code]++;
    else if (start_estimating(p) != PROMO_OK)
      return PROMO_ERR_NOMEM;
  }
  if (p->values_overflowed) hll_add(p->hll, XXH3_64bits(s, len));

  if (p->collect_numbers || p->example_text[0] == '\0') {
    double x;
    if (promo_parse_decimal(s, len, &x, NULL)) {
      if (p->collect_numbers && !breaks_own_rule(&run->plans[c], x))
        return keep_number(p, x, &p->rng_state);
      return PROMO_OK;
    }
    if (p->example_text[0] == '\0') {
      /* One value that is not a number, to show in a warning if the type falls to text. */
      size_t n = len < sizeof p->example_text - 1 ? len : sizeof p->example_text - 1;
      memcpy(p->example_text, s, n);
      p->example_text[n] = '\0';
    }
    if (p->collect_numbers && ++p->n_not_numbers > p->guess.n_values / 100 + 1000) {
      /* Too many non-numbers for a numeric type: stop spending memory on this column. */
      p->collect_numbers = false;
      free(p->numbers);
      p->numbers = NULL;
      p->n_numbers = p->numbers_capacity = 0;
    }
  }
  return PROMO_OK;
}

/* Time of the row for PROMO_KEEP_LATEST: datetime, date or number; missing is oldest. */
static double row_time(const char *s, size_t len) {
  int64_t seconds;
  int32_t days;
  double x;
  if (promo_parse_datetime(s, len, &seconds, NULL)) return (double)seconds;
  if (promo_parse_date(s, len, &days, NULL)) return (double)days * 86400.0;
  if (promo_parse_decimal(s, len, &x, NULL)) return x;
  return -INFINITY;
}

static const char *cell_text(const promo_table *t, size_t r, size_t c, size_t *len) {
  size_t k = r * t->n_columns + c;
  *len = t->cell_lengths[k];
  return t->text + t->cell_offsets[k];
}

void clean_hash_key(const clean_run *run, const promo_table *t, size_t r, uint64_t *low,
                    uint64_t *high) {
  XXH3_state_t state;
  XXH3_128bits_reset(&state);
  static const char separator = '\x1f';
  for (size_t k = 0; k < run->n_key_columns; k++) {
    size_t len;
    const char *text = cell_text(t, r, (size_t)run->key_columns[k], &len);
    XXH3_128bits_update(&state, text, len);
    XXH3_128bits_update(&state, &separator, 1);
  }
  XXH128_hash_t h = XXH3_128bits_digest(&state);
  *low = h.low64;
  *high = h.high64;
}

/* Sets *is_duplicate when row r of the batch (record `index`) repeats an earlier row. */
static promo_status check_duplicates(clean_run *run, const promo_table *t, size_t r,
                                     uint64_t index, bool *is_duplicate) {
  *is_duplicate = false;
  int64_t line = t->lines[r];
  if (run->opt->remove_duplicates) {
    XXH128_hash_t h = XXH3_128bits(t->text + t->raw_offsets[r], t->raw_lengths[r]);
    row_entry *e;
    if (row_index_upsert(&run->rows, h.low64, h.high64, &e) != PROMO_OK) return PROMO_ERR_NOMEM;
    if (e->line != 0) {
      *is_duplicate = true;
      return bitset_set(&run->duplicate_rows, index);
    }
    e->line = line;
    e->index = index;
  }
  if (run->n_key_columns == 0) return PROMO_OK;

  uint64_t low, high;
  clean_hash_key(run, t, r, &low, &high);
  row_entry *e;
  if (row_index_upsert(&run->keys, low, high, &e) != PROMO_OK) return PROMO_ERR_NOMEM;
  double time = 0.0;
  if (run->time_column >= 0) {
    size_t len;
    const char *text = cell_text(t, r, (size_t)run->time_column, &len);
    time = row_time(text, len);
  }
  if (e->line == 0) {
    e->line = line;
    e->index = index;
    e->time = time;
    return PROMO_OK;
  }
  if (run->opt->keep == PROMO_KEEP_FIRST) {
    *is_duplicate = true;
    return bitset_set(&run->duplicate_keys, index);
  }
  /* Latest wins, and the later row on a tie. */
  if (time >= e->time) {
    promo_status st = bitset_set(&run->duplicate_keys, e->index);
    e->line = line;
    e->index = index;
    e->time = time;
    run->latest_pending = true;
    return st;
  }
  *is_duplicate = true;
  return bitset_set(&run->duplicate_keys, index);
}

/* ---- statistics ---- */

/* k-th smallest of x[0..n) by quickselect (Hoare); reorders x. */
static double select_kth(double *x, uint64_t n, uint64_t k) {
  uint64_t lo = 0, hi = n - 1;
  while (lo < hi) {
    double pivot = x[lo + (hi - lo) / 2];
    uint64_t i = lo, j = hi;
    while (i <= j) {
      while (x[i] < pivot) i++;
      while (x[j] > pivot) j--;
      if (i <= j) {
        double t = x[i];
        x[i] = x[j];
        x[j] = t;
        i++;
        if (j == 0) break;
        j--;
      }
    }
    if (k <= j)
      hi = j;
    else if (k >= i)
      lo = i;
    else
      return x[k];
  }
  return x[k];
}

/* Quantile q of x with linear interpolation between order statistics, as numpy's and
 * pandas' default ("linear", Hyndman and Fan definition 7). */
static double quantile(double *x, uint64_t n, double q) {
  double pos = q * (double)(n - 1);
  uint64_t below = (uint64_t)floor(pos);
  double frac = pos - (double)below;
  double a = select_kth(x, n, below);
  if (frac == 0.0 || below + 1 >= n) return a;
  /* After selection every element right of `below` is >= a; the next order statistic is
   * their minimum. */
  double b = x[below + 1];
  for (uint64_t i = below + 2; i < n; i++)
    if (x[i] < b) b = x[i];
  return a + frac * (b - a);
}

static void compute_statistics(column_plan *plan, column_profile *p, bool need_mad) {
  plan->median = plan->mean = plan->q1 = plan->q3 = plan->mad = NAN;
  plan->stats_are_estimates = p->n_numbers_seen > p->n_numbers;
  if (p->n_numbers_seen > 0) plan->mean = p->sum / (double)p->n_numbers_seen;
  if (p->n_numbers > 0) {
    uint64_t n = p->n_numbers;
    plan->median = quantile(p->numbers, n, 0.5);
    plan->q1 = quantile(p->numbers, n, 0.25);
    plan->q3 = quantile(p->numbers, n, 0.75);
    /* The MAD costs another pass over the values; only the robust z-score uses it. */
    if (need_mad) {
      for (uint64_t i = 0; i < n; i++) p->numbers[i] = fabs(p->numbers[i] - plan->median);
      plan->mad = quantile(p->numbers, n, 0.5);
    }
  }

  /* Mode: the most frequent tracked text; the first seen wins a tie. */
  uint64_t best = 0;
  size_t n_tracked = promo_dict_size(p->values);
  for (size_t code = 0; code < n_tracked; code++) {
    if (p->value_counts[code] > best) {
      best = p->value_counts[code];
      plan->mode_text = promo_dict_string(p->values, (int32_t)code, NULL);
    }
  }
  plan->distinct_is_exact = !p->values_overflowed;
  plan->n_distinct = plan->distinct_is_exact ? n_tracked : hll_estimate(p->hll);
  plan->n_missing_in = p->guess.n_missing;
}

/* Columns are independent here, so their selections run in parallel. */
static promo_status choose_types(clean_run *run) {
  long n_columns = (long)run->n_columns;
#pragma omp parallel for schedule(dynamic, 1) num_threads(run->n_threads)
  for (long c = 0; c < n_columns; c++) {
    column_plan *plan = &run->plans[c];
    column_profile *p = &run->profiles[c];
    compute_statistics(plan, p,
                       plan->is_outlier_checked && run->opt->outlier_method == PROMO_OUTLIER_ZSCORE);
    p->guess.n_distinct = plan->n_distinct;
    if (!plan->type_given) plan->type = promo_type_guess_result(&p->guess, plan->name);
    /* The numbers are no longer needed; free them before the writing pass. */
    free(p->numbers);
    p->numbers = NULL;
  }
  return PROMO_OK;
}

/* Warn about columns that are mostly numbers or dates, or named like prices, quantities
 * or rates, but became text because too many values failed to parse: their checks and
 * normalization are then off, which a user would not otherwise notice. */
static void warn_type_fallbacks(const clean_run *run) {
  for (size_t c = 0; c < run->n_columns; c++) {
    const column_plan *plan = &run->plans[c];
    const promo_type_guess *g = &run->profiles[c].guess;
    if (plan->type_given || !promo_type_is_string(plan->type) || g->n_values == 0) continue;
    bool has_role = plan->is_price || plan->is_quantity || plan->is_rate;
    if (g->n_decimal * 2 >= g->n_values || (has_role && g->n_decimal > 0)) {
      promo_log(run->ctx, PROMO_LOG_WARN,
                _("column '%s': %llu of %llu values are not numbers (for example '%s'), so it "
                  "is read as text and its number checks are off; use --types %s=decimal to "
                  "treat those values as invalid"),
                plan->name, (unsigned long long)(g->n_values - g->n_decimal),
                (unsigned long long)g->n_values, run->profiles[c].example_text, plan->name);
    } else if (g->n_date * 2 >= g->n_values || g->n_datetime * 2 >= g->n_values) {
      bool dates = g->n_date >= g->n_datetime;
      uint64_t n_ok = dates ? g->n_date : g->n_datetime;
      promo_log(run->ctx, PROMO_LOG_WARN,
                _("column '%s': %llu of %llu values are not valid dates, so it is read as text "
                  "and its date checks are off; use --types %s=%s to treat those values as "
                  "invalid"),
                plan->name, (unsigned long long)(g->n_values - n_ok), (unsigned long long)g->n_values,
                plan->name, dates ? "date" : "datetime");
    }
  }
}

/* Profile every column of one batch; skip[r] marks duplicates. Thread t of n takes
 * columns t, t + n, t + 2n, ... and walks the rows in order, so the kept text is read
 * sequentially. */
static promo_status profile_batch(clean_run *run, const promo_table *t, const uint8_t *skip) {
  promo_status failed = PROMO_OK;
  int n_threads = run->n_threads;
#pragma omp parallel for schedule(static, 1) num_threads(n_threads)
  for (int thread = 0; thread < n_threads; thread++) {
    bool ok = true;
    for (size_t r = 0; r < t->n_rows && ok; r++) {
      if (skip[r]) continue;
      for (size_t c = (size_t)thread; c < run->n_columns && ok; c += (size_t)n_threads) {
        size_t len;
        const char *text = cell_text(t, r, c, &len);
        ok = profile_field(run, c, text, len) == PROMO_OK;
      }
    }
    if (!ok) {
#pragma omp atomic write
      failed = PROMO_ERR_NOMEM;
    }
  }
  return failed;
}

promo_status clean_profile(clean_run *run, promo_error *err) {
  for (size_t c = 0; c < run->n_columns; c++) {
    if (column_profile_init(&run->profiles[c], true, 20241111u + c) != PROMO_OK)
      return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  }
  if (row_index_init(&run->rows) != PROMO_OK || row_index_init(&run->keys) != PROMO_OK)
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));

  promo_table *batch = NULL;
  uint8_t *skip = malloc(run->opt->chunk_rows);
  const char **names = calloc(run->n_columns, sizeof *names);
  promo_type *types = calloc(run->n_columns, sizeof *types);
  promo_status st = PROMO_OK;
  if (skip == NULL || names == NULL || types == NULL) st = PROMO_ERR_NOMEM;
  for (size_t c = 0; st == PROMO_OK && c < run->n_columns; c++) {
    names[c] = run->plans[c].name;
    types[c] = PROMO_TYPE_TEXT;
  }
  if (st == PROMO_OK) st = promo_table_create(run->n_columns, names, types, true, &batch);
  if (st != PROMO_OK) {
    st = promo_error_set(err, st, "%s", _("out of memory"));
    goto done;
  }

  uint64_t size = promo_csv_size(run->reader);
  for (;;) {
    promo_status read = promo_table_read_text(batch, run->reader, run->opt->chunk_rows, err);
    if (read != PROMO_OK && read != PROMO_END) {
      st = read;
      goto done;
    }
    for (size_t r = 0; r < batch->n_rows; r++) {
      bool is_duplicate;
      if (check_duplicates(run, batch, r, run->rows_in, &is_duplicate) != PROMO_OK) {
        st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
        goto done;
      }
      skip[r] = is_duplicate;
      run->rows_in++;
    }
    if (profile_batch(run, batch, skip) != PROMO_OK) {
      st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
      goto done;
    }
    promo_progress(run->ctx, N_("scanning"), promo_csv_bytes_read(run->reader), size);
    if (read == PROMO_END) break;
    if (promo_cancelled(run->ctx)) {
      st = promo_error_set(err, PROMO_ERR_CANCELLED, "%s", _("cancelled"));
      goto done;
    }
  }
  if (run->latest_pending)
    promo_log(run->ctx, PROMO_LOG_DEBUG,
              "fill statistics include rows later replaced by a newer row of the same key");
  st = choose_types(run);
  if (st == PROMO_OK) warn_type_fallbacks(run);

done:
  promo_table_free(batch);
  free(skip);
  free(names);
  free(types);
  return st;
}
