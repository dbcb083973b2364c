/* Evaluation stage: row splits for cross-validation (k-fold, stratified, group and
 * expanding-window time splits) and for held-out test sets. Every split is a pure
 * function of its options and inputs, so a seed gives the same folds on every machine. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "promo/eval.h"

void promo_split_options_init(promo_split_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->kind = PROMO_SPLIT_KFOLD;
  opt->n_folds = 5;
  opt->seed = 42;
}

const char *promo_split_kind_name(promo_split_kind kind) {
  switch (kind) {
  case PROMO_SPLIT_KFOLD: return "kfold";
  case PROMO_SPLIT_STRATIFIED: return "stratified";
  case PROMO_SPLIT_GROUP: return "group";
  case PROMO_SPLIT_TIME: return "time";
  }
  return "unknown";
}

/* splitmix64 (Steele, Lea and Flood 2014, "Fast splittable pseudorandom number
 * generators"). */
static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Fisher-Yates shuffle of order[0..n). The modulo bias is below 2^-40 for n < 2^24 and
 * does not matter for fold assignment. */
static void shuffle(size_t *order, size_t n, uint64_t *state) {
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)(splitmix64(state) % i);
    size_t tmp = order[i - 1];
    order[i - 1] = order[j];
    order[j] = tmp;
  }
}

static promo_status nomem(promo_error *err) {
  return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
}

/* ------------------------------------------------------------------ k-fold */

/* Shuffle the rows and deal them out in k contiguous blocks whose sizes differ by at
 * most one, larger blocks first (as scikit-learn's KFold sizes them). */
static promo_status assign_kfold(size_t n, size_t k, uint64_t seed, int32_t *fold, promo_error *err) {
  size_t *order = malloc(n * sizeof *order);
  if (order == NULL) return nomem(err);
  for (size_t r = 0; r < n; r++) order[r] = r;
  uint64_t state = seed;
  shuffle(order, n, &state);
  size_t base = n / k, extra = n % k, pos = 0;
  for (size_t f = 0; f < k; f++) {
    size_t size = base + (f < extra ? 1 : 0);
    for (size_t i = 0; i < size; i++) fold[order[pos++]] = (int32_t)f;
  }
  free(order);
  return PROMO_OK;
}

/* ------------------------------------------------------------------ stratified */

typedef struct keyed_row {
  double key;
  uint64_t tie; /* random tie-break within a key */
  size_t row;
} keyed_row;

static int compare_keyed(const void *pa, const void *pb) {
  const keyed_row *a = pa, *b = pb;
  if (a->key != b->key) return a->key < b->key ? -1 : 1;
  if (a->tie != b->tie) return a->tie < b->tie ? -1 : 1;
  return (a->row > b->row) - (a->row < b->row);
}

/* Group rows by target value, shuffle inside each value, and deal them round-robin over
 * the folds, carrying on from fold to fold across values. Each fold then contains every
 * value's share to within one row, and fold sizes differ by at most one. */
static promo_status assign_stratified(size_t n, size_t k, uint64_t seed, const float *y, int32_t *fold,
                                      promo_error *err) {
  keyed_row *rows = malloc(n * sizeof *rows);
  if (rows == NULL) return nomem(err);
  uint64_t state = seed;
  for (size_t r = 0; r < n; r++) rows[r] = (keyed_row){(double)y[r], splitmix64(&state), r};
  qsort(rows, n, sizeof *rows, compare_keyed);
  for (size_t i = 0; i < n; i++) fold[rows[i].row] = (int32_t)(i % k);
  free(rows);
  return PROMO_OK;
}

/* ------------------------------------------------------------------ group */

typedef struct group_info {
  int64_t key;
  size_t size;
  uint64_t tie;
  size_t fold;
} group_info;

typedef struct group_row {
  int64_t key;
  size_t row;
} group_row;

static int compare_group_rows(const void *pa, const void *pb) {
  const group_row *a = pa, *b = pb;
  if (a->key != b->key) return a->key < b->key ? -1 : 1;
  return (a->row > b->row) - (a->row < b->row);
}

static int compare_groups_by_size(const void *pa, const void *pb) {
  const group_info *a = pa, *b = pb;
  if (a->size != b->size) return a->size > b->size ? -1 : 1;
  if (a->tie != b->tie) return a->tie < b->tie ? -1 : 1;
  return (a->key > b->key) - (a->key < b->key);
}

static int compare_groups_by_key(const void *pa, const void *pb) {
  const group_info *a = pa, *b = pb;
  return (a->key > b->key) - (a->key < b->key);
}

/* Sort the rows by group, then give each group, largest first, to the fold with the
 * fewest rows so far (the greedy balance of scikit-learn's GroupKFold). Groups of equal
 * size are taken in an order drawn with the seed. */
static promo_status assign_group(size_t n, size_t k, uint64_t seed, const int64_t *keys, int32_t *fold,
                                 promo_error *err) {
  group_row *order = malloc(n * sizeof *order);
  group_info *groups = malloc(n * sizeof *groups);
  size_t *fold_rows = calloc(k, sizeof *fold_rows);
  promo_status st = order != NULL && groups != NULL && fold_rows != NULL ? PROMO_OK : nomem(err);
  if (st != PROMO_OK) goto done;
  for (size_t r = 0; r < n; r++) order[r] = (group_row){keys[r], r};
  qsort(order, n, sizeof *order, compare_group_rows);

  size_t n_groups = 0;
  uint64_t state = seed;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && order[j].key == order[i].key) j++;
    groups[n_groups++] = (group_info){order[i].key, j - i, splitmix64(&state), 0};
    i = j;
  }
  if (n_groups < k) {
    st = promo_error_set(err, PROMO_ERR_DATA, _("the data has %zu groups; %zu folds need at least %zu"), n_groups, k,
                         k);
    goto done;
  }
  qsort(groups, n_groups, sizeof *groups, compare_groups_by_size);
  for (size_t g = 0; g < n_groups; g++) {
    size_t best = 0;
    for (size_t f = 1; f < k; f++)
      if (fold_rows[f] < fold_rows[best]) best = f;
    groups[g].fold = best;
    fold_rows[best] += groups[g].size;
  }

  /* Back in key order, the groups line up with the runs of rows sorted by group. */
  qsort(groups, n_groups, sizeof *groups, compare_groups_by_key);
  for (size_t i = 0, g = 0; i < n; g++) {
    size_t j = i;
    while (j < n && order[j].key == groups[g].key) j++;
    for (size_t q = i; q < j; q++) fold[order[q].row] = (int32_t)groups[g].fold;
    i = j;
  }

done:
  free(order);
  free(groups);
  free(fold_rows);
  return st;
}

/* ------------------------------------------------------------------ time */

static int compare_times(const void *pa, const void *pb) {
  const keyed_row *a = pa, *b = pb;
  if (a->key != b->key) return a->key < b->key ? -1 : 1;
  return (a->row > b->row) - (a->row < b->row);
}

/* Sort the rows by time and cut them into k + 1 blocks: the first keeps the remainder and
 * only trains, the others hold n / (k + 1) rows each, as scikit-learn's TimeSeriesSplit.
 * A cut that falls inside a run of equal times moves forward to the end of the run, so
 * every training row is strictly earlier than every row it is tested on. */
static promo_status assign_time(size_t n, size_t k, const double *times, int32_t *fold, promo_error *err) {
  if (n < k + 1)
    return promo_error_set(err, PROMO_ERR_DATA, _("the data has %zu rows; a time split into %zu folds needs at least %zu"),
                           n, k, k + 1);
  keyed_row *rows = malloc(n * sizeof *rows);
  size_t *start = malloc((k + 1) * sizeof *start);
  if (rows == NULL || start == NULL) {
    free(rows);
    free(start);
    return nomem(err);
  }
  for (size_t r = 0; r < n; r++) rows[r] = (keyed_row){times[r], 0, r};
  qsort(rows, n, sizeof *rows, compare_times);

  size_t test_size = n / (k + 1);
  promo_status st = PROMO_OK;
  for (size_t f = 0; f < k; f++) {
    size_t b = n - (k - f) * test_size;
    while (b < n && rows[b - 1].key == rows[b].key) b++;
    start[f] = b;
  }
  start[k] = n;
  for (size_t f = 0; f < k; f++)
    if (start[f] >= start[f + 1]) st = promo_error_set(err, PROMO_ERR_DATA,
                                                       _("too few distinct times for %zu time folds: many rows "
                                                         "share a time; use fewer folds"),
                                                       k);
  for (size_t i = 0; st == PROMO_OK && i < n; i++) {
    int32_t f = PROMO_SPLIT_UNUSED;
    for (size_t g = 0; g < k; g++)
      if (i >= start[g]) f = (int32_t)g;
    fold[rows[i].row] = f;
  }
  free(rows);
  free(start);
  return st;
}

/* ------------------------------------------------------------------ entry points */

promo_status promo_split_assign(const promo_split_options *opt, size_t n_rows, const float *y,
                                const int64_t *group_keys, const double *times, int32_t *fold,
                                promo_error *err) {
  size_t k = opt->n_folds;
  if (k < 2 || k > INT32_MAX)
    return promo_error_set(err, PROMO_ERR_USAGE, _("invalid number of folds %zu; give 2 or more"), k);
  if ((opt->kind == PROMO_SPLIT_STRATIFIED && y == NULL) || (opt->kind == PROMO_SPLIT_GROUP && group_keys == NULL) ||
      (opt->kind == PROMO_SPLIT_TIME && times == NULL) || fold == NULL)
    return promo_error_set(err, PROMO_ERR_USAGE, _("the %s split needs its input column"),
                           promo_split_kind_name(opt->kind));
  if (opt->kind != PROMO_SPLIT_TIME && opt->kind != PROMO_SPLIT_GROUP && n_rows < k)
    return promo_error_set(err, PROMO_ERR_DATA, _("the data has %zu rows; %zu folds need at least %zu"), n_rows, k, k);
  for (size_t r = 0; opt->kind == PROMO_SPLIT_TIME && r < n_rows; r++) {
    if (isfinite(times[r])) continue;
    promo_error_at(err, NULL, (int64_t)r + 1, 0);
    return promo_error_set(err, PROMO_ERR_DATA, _("row %zu has no valid time"), r + 1);
  }
  for (size_t r = 0; opt->kind == PROMO_SPLIT_STRATIFIED && r < n_rows; r++) {
    if (isfinite(y[r])) continue;
    promo_error_at(err, NULL, (int64_t)r + 1, 0);
    return promo_error_set(err, PROMO_ERR_DATA, _("row %zu has no valid target"), r + 1);
  }

  switch (opt->kind) {
  case PROMO_SPLIT_KFOLD: return assign_kfold(n_rows, k, opt->seed, fold, err);
  case PROMO_SPLIT_STRATIFIED: return assign_stratified(n_rows, k, opt->seed, y, fold, err);
  case PROMO_SPLIT_GROUP: return assign_group(n_rows, k, opt->seed, group_keys, fold, err);
  case PROMO_SPLIT_TIME: return assign_time(n_rows, k, times, fold, err);
  }
  return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("unknown split kind"));
}

void promo_split_fold_rows(const int32_t *fold, size_t n_rows, promo_split_kind kind, int32_t f,
                           size_t *train, size_t *n_train, size_t *test, size_t *n_test) {
  size_t a = 0, b = 0;
  for (size_t r = 0; r < n_rows; r++) {
    if (fold[r] == f) test[b++] = r;
    else if (kind != PROMO_SPLIT_TIME || fold[r] < f) train[a++] = r;
  }
  *n_train = a;
  *n_test = b;
}

/* ------------------------------------------------------------------ table columns */

static promo_status column_of(const promo_table *t, const char *name, const char *option, const char *path,
                              size_t *out, promo_error *err) {
  ptrdiff_t c = name != NULL ? promo_table_find(t, name) : -1;
  if (c >= 0) {
    *out = (size_t)c;
    return PROMO_OK;
  }
  promo_error_at(err, path, 0, 0);
  if (name == NULL) return promo_error_set(err, PROMO_ERR_USAGE, _("%s needs a column name"), option);
  return promo_error_set(err, PROMO_ERR_USAGE, _("%s names column '%s', which is not in the header"), option, name);
}

static bool is_time_type(promo_type type) {
  return type == PROMO_TYPE_DATE || type == PROMO_TYPE_DATETIME || type == PROMO_TYPE_INT ||
         type == PROMO_TYPE_DECIMAL;
}

/* Column c as doubles; a missing cell is PROMO_ERR_DATA naming its line. */
static promo_status read_times(const promo_table *t, size_t c, const char *option, const char *path, double *times,
                               promo_error *err) {
  const promo_column *col = &t->columns[c];
  if (!is_time_type(col->type)) {
    promo_error_at(err, path, 0, 0);
    return promo_error_set(err, PROMO_ERR_USAGE, _("%s column '%s' holds %s values; give a date, time or number column"),
                           option, col->name, promo_type_name(col->type));
  }
  for (size_t r = 0; r < t->n_rows; r++) {
    if (col->is_missing[r]) {
      promo_error_at(err, path, t->lines[r], (int64_t)c + 1);
      snprintf(err->column_name, sizeof err->column_name, "%s", col->name);
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("%s column '%s' is missing or invalid on this row; every row needs a time (promo "
                               "clean --missing %s=drop)"),
                             option, col->name, col->name);
    }
    times[r] = col->type == PROMO_TYPE_DECIMAL ? col->reals[r] : (double)col->ints[r];
  }
  return PROMO_OK;
}

void promo_split_group_keys(const promo_table *t, size_t c, int64_t *keys) {
  const promo_column *col = &t->columns[c];
  for (size_t r = 0; r < t->n_rows; r++) {
    if (col->is_missing[r]) {
      keys[r] = INT64_MIN;
    } else if (col->codes != NULL) {
      keys[r] = col->codes[r];
    } else if (col->reals != NULL) {
      double x = col->reals[r] == 0 ? 0 : col->reals[r];
      memcpy(&keys[r], &x, sizeof x);
      if (keys[r] == INT64_MIN) keys[r] = INT64_MIN + 1;
    } else {
      keys[r] = col->ints[r];
    }
  }
}

promo_status promo_split_assign_table(const promo_table *t, const float *y, const char *path,
                                      const promo_split_options *opt, int32_t *fold,
                                      promo_error *err) {
  size_t n = t->n_rows, c = 0;
  promo_status st = PROMO_OK;
  if (opt->kind == PROMO_SPLIT_GROUP) {
    if ((st = column_of(t, opt->group_column, "--group", path, &c, err)) != PROMO_OK) return st;
    int64_t *keys = malloc((n > 0 ? n : 1) * sizeof *keys);
    if (keys == NULL) return nomem(err);
    promo_split_group_keys(t, c, keys);
    st = promo_split_assign(opt, n, y, keys, NULL, fold, err);
    free(keys);
  } else if (opt->kind == PROMO_SPLIT_TIME) {
    if ((st = column_of(t, opt->time_column, "--time", path, &c, err)) != PROMO_OK) return st;
    double *times = malloc((n > 0 ? n : 1) * sizeof *times);
    if (times == NULL) return nomem(err);
    st = read_times(t, c, "--time", path, times, err);
    if (st == PROMO_OK) st = promo_split_assign(opt, n, y, NULL, times, fold, err);
    free(times);
  } else {
    st = promo_split_assign(opt, n, y, NULL, NULL, fold, err);
  }
  if (st != PROMO_OK && err != NULL && err->path[0] == '\0') promo_error_at(err, path, err->line, err->column);
  return st;
}

/* ------------------------------------------------------------------ held-out rows */

promo_status promo_split_holdout_share(size_t n_rows, double share, uint64_t seed,
                                       uint8_t *is_test, size_t *n_test, promo_error *err) {
  if (!(share > 0 && share < 1))
    return promo_error_set(err, PROMO_ERR_USAGE, _("invalid test share %g; give a number between 0 and 1"), share);
  size_t k = (size_t)llround(share * (double)n_rows);
  if (k == 0 || k >= n_rows)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("a test share of %g of %zu rows leaves no test rows or no training rows"), share,
                           n_rows);
  size_t *order = malloc(n_rows * sizeof *order);
  if (order == NULL) return nomem(err);
  for (size_t r = 0; r < n_rows; r++) order[r] = r;
  uint64_t state = seed ^ 0x7E57u;
  shuffle(order, n_rows, &state);
  memset(is_test, 0, n_rows);
  for (size_t i = 0; i < k; i++) is_test[order[i]] = 1;
  free(order);
  *n_test = k;
  return PROMO_OK;
}

/* Read `text` in the type of column col as the same number the table stores. */
static bool parse_cut(const promo_column *col, const char *text, double *out) {
  size_t len = strlen(text);
  int32_t days;
  int64_t seconds, i;
  switch (col->type) {
  case PROMO_TYPE_DATE:
    if (!promo_parse_date(text, len, &days, NULL)) return false;
    *out = days;
    return true;
  case PROMO_TYPE_DATETIME:
    if (!promo_parse_datetime(text, len, &seconds, NULL)) return false;
    *out = (double)seconds;
    return true;
  case PROMO_TYPE_INT:
    if (promo_parse_int(text, len, &i, NULL)) {
      *out = (double)i;
      return true;
    }
    return promo_parse_decimal(text, len, out, NULL);
  default: return promo_parse_decimal(text, len, out, NULL);
  }
}

promo_status promo_split_holdout_after(const promo_table *t, const char *column, const char *after,
                                       const char *path, uint8_t *is_test, size_t *n_test,
                                       promo_error *err) {
  size_t c = 0, n = t->n_rows;
  promo_status st = column_of(t, column, "--test-time", path, &c, err);
  if (st != PROMO_OK) return st;
  const promo_column *col = &t->columns[c];
  double *times = malloc((n > 0 ? n : 1) * sizeof *times);
  if (times == NULL) return nomem(err);
  st = read_times(t, c, "--test-time", path, times, err);
  double cut = 0;
  if (st == PROMO_OK && !parse_cut(col, after, &cut)) {
    promo_error_at(err, path, 0, 0);
    promo_error_value(err, after, -1);
    st = promo_error_set(err, PROMO_ERR_USAGE, _("invalid --test-after '%s'; give a %s value like those in column '%s'"),
                         after, promo_type_name(col->type), col->name);
  }
  size_t k = 0;
  for (size_t r = 0; st == PROMO_OK && r < n; r++) {
    is_test[r] = times[r] > cut;
    k += is_test[r];
  }
  free(times);
  if (st == PROMO_OK && (k == 0 || k == n)) {
    promo_error_at(err, path, 0, 0);
    st = promo_error_set(err, PROMO_ERR_USAGE,
                         k == 0 ? _("no row of column '%s' is after '%s'; the test set would be empty")
                                : _("every row of column '%s' is after '%s'; no training rows would be left"),
                         col->name, after);
  }
  if (st == PROMO_OK) *n_test = k;
  return st;
}

typedef struct timed_row {
  double time;
  size_t row;
} timed_row;

static int compare_timed_rows(const void *a, const void *b) {
  const timed_row *x = a, *y = b;
  if (x->time != y->time) return x->time < y->time ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

promo_status promo_split_holdout_latest(const promo_table *t, size_t column, double share, uint8_t *is_test,
                                        size_t *n_test) {
  size_t n = t->n_rows;
  timed_row *rows = malloc((n > 0 ? n : 1) * sizeof *rows);
  if (rows == NULL) return PROMO_ERR_NOMEM;
  const promo_column *col = &t->columns[column];
  for (size_t r = 0; r < n; r++) {
    double time = -INFINITY;
    if (!col->is_missing[r]) time = col->reals != NULL ? col->reals[r] : (double)col->ints[r];
    rows[r] = (timed_row){time, r};
  }
  qsort(rows, n, sizeof *rows, compare_timed_rows);
  size_t k = (size_t)llround(share * (double)n);
  memset(is_test, 0, n);
  for (size_t i = n - k; i < n; i++) is_test[rows[i].row] = 1;
  free(rows);
  *n_test = k;
  return PROMO_OK;
}
