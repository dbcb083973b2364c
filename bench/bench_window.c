/* Benchmark of the point-in-time window features (feature stage): generates a behavior
 * log and training rows in memory, then times promo_window_compute (key mapping, sorting
 * and the sliding-window pass) and prints events/s and rows/s.
 *
 * Build against an optimized library (a Debug or sanitizer build times the checks, not
 * the code):
 *
 *   cmake -S . -B build-window-release -DCMAKE_BUILD_TYPE=Release
 *   cmake --build build-window-release -j2
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -fopenmp -Iinclude -Isrc \
 *      bench/bench_window.c build-window-release/libpromo.a \
 *      $(pkg-config --libs jansson libxxhash lapacke openblas) -lm \
 *      -o build-window-release/bench_window
 *   build-window-release/bench_window                 # 10M events, 1M rows, 8 specs
 *
 * Options:
 *   --events N     events in the log (default 10000000)
 *   --rows N       training rows (default 1000000)
 *   --users N      distinct users (default 1000000); --items N items (default 200000)
 *   --days N       days the log covers (default 90); rows fall in the last two thirds
 *   --threads N    threads for promo_window_compute (default: OpenMP's default)
 *   --sorted       generate the log in time order, as many exports are
 *   --spec TEXT    a window spec (repeatable); replaces the default specs, which are
 *                  count:view and sum:amount:buy over 1d, 7d, 30d and 90d by user
 *   --check        also compute with one thread and compare every output bit
 *   --seed N       generator seed (default 1)
 *
 * Users and items follow a bounded power law (density proportional to x^-1.2), so a few
 * keys have long histories. Types: view 70%, cart 10%, favorite 6%, buy 6% (with an
 * amount), coupon received 5%, coupon used 3%. Row keys come from the same
 * distributions. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "promo/feature.h"

#define MAX_SPECS 32

typedef struct bench_options {
  size_t n_events, n_rows, n_users, n_items, n_days;
  int n_threads;
  bool is_sorted, check;
  uint64_t seed;
  size_t n_specs;
  const char *specs[MAX_SPECS];
} bench_options;

/* splitmix64: a small, seedable generator, good enough for benchmark data. */
static uint64_t next_random(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double uniform(uint64_t *state) {
  return (double)(next_random(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* An id in [0, n) from the bounded Pareto distribution on [1, n + 1) with density
 * proportional to x^-1.2, by inverting its CDF. */
static int64_t power_law_id(uint64_t *state, size_t n) {
  const double s = 1.2;
  double top = pow((double)n + 1.0, 1.0 - s);
  double x = pow(1.0 - uniform(state) * (1.0 - top), 1.0 / (1.0 - s));
  int64_t id = (int64_t)x - 1;
  return id < 0 ? 0 : (id >= (int64_t)n ? (int64_t)n - 1 : id);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n == 0 ? 1 : n);
  if (p == NULL) {
    fprintf(stderr, "bench_window: out of memory (%zu bytes)\n", n);
    exit(1);
  }
  return p;
}

static void fill_column(promo_column *col, size_t n) {
  col->is_missing = calloc(n, 1);
  col->is_invalid = calloc(n, 1);
  col->is_plain = calloc(n, 1);
  if (col->type == PROMO_TYPE_DECIMAL)
    col->reals = xmalloc(n * sizeof *col->reals);
  else if (promo_type_is_string(col->type))
    col->codes = xmalloc(n * sizeof *col->codes);
  else
    col->ints = xmalloc(n * sizeof *col->ints);
  if (col->is_missing == NULL || col->is_invalid == NULL || col->is_plain == NULL) {
    fprintf(stderr, "bench_window: out of memory\n");
    exit(1);
  }
}

/* A table with allocated, unfilled columns of n rows. */
static promo_table *new_table(size_t n, size_t n_columns, const char *const *names,
                              const promo_type *types) {
  promo_table *table = NULL;
  if (promo_table_create(n_columns, names, types, false, &table) != PROMO_OK) exit(1);
  table->n_rows = n;
  table->capacity = n;
  table->lines = calloc(n == 0 ? 1 : n, sizeof *table->lines);
  for (size_t c = 0; c < n_columns; c++) fill_column(&table->columns[c], n);
  return table;
}

static const char *const type_words[] = {"view", "cart", "favorite", "buy", "received", "used"};
static const int type_percent[] = {70, 10, 6, 6, 5, 3};

static promo_table *make_events(const bench_options *o, uint64_t *st) {
  const char *names[] = {"user", "item", "time", "type", "amount"};
  const promo_type types[] = {PROMO_TYPE_INT, PROMO_TYPE_INT, PROMO_TYPE_DATETIME,
                              PROMO_TYPE_CATEGORICAL, PROMO_TYPE_DECIMAL};
  size_t n = o->n_events;
  promo_table *t = new_table(n, 5, names, types);
  promo_column *type_col = &t->columns[3];
  int32_t codes[6];
  for (int k = 0; k < 6; k++)
    promo_dict_intern(type_col->dict, type_words[k], strlen(type_words[k]), &codes[k]);

  const int64_t start = 1704067200; /* 2024-01-01 */
  const int64_t span = (int64_t)o->n_days * 86400;
  for (size_t i = 0; i < n; i++) {
    t->columns[0].ints[i] = power_law_id(st, o->n_users);
    t->columns[1].ints[i] = power_law_id(st, o->n_items);
    t->columns[2].ints[i] = o->is_sorted ? start + (int64_t)((double)span * (double)i / (double)n)
                                         : start + (int64_t)(next_random(st) % (uint64_t)span);
    int roll = (int)(next_random(st) % 100), k = 0;
    while (roll >= type_percent[k]) roll -= type_percent[k++];
    type_col->codes[i] = codes[k];
    bool is_buy = k == 3;
    t->columns[4].reals[i] = is_buy ? 5.0 + 200.0 * uniform(st) * uniform(st) : 0.0;
    t->columns[4].is_missing[i] = !is_buy;
  }
  return t;
}

static promo_table *make_rows(const bench_options *o, uint64_t *st) {
  const char *names[] = {"user", "item", "time"};
  const promo_type types[] = {PROMO_TYPE_INT, PROMO_TYPE_INT, PROMO_TYPE_DATETIME};
  promo_table *t = new_table(o->n_rows, 3, names, types);
  const int64_t start = 1704067200 + (int64_t)o->n_days * 86400 / 3;
  const uint64_t span = (uint64_t)o->n_days * 86400 * 2 / 3;
  for (size_t r = 0; r < o->n_rows; r++) {
    t->columns[0].ints[r] = power_law_id(st, o->n_users);
    t->columns[1].ints[r] = power_law_id(st, o->n_items);
    t->columns[2].ints[r] = start + (int64_t)(next_random(st) % span);
  }
  return t;
}

static double peak_rss_mb(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (double)usage.ru_maxrss / 1024.0; /* ru_maxrss is in KiB on Linux */
}

static void usage_exit(const char *problem, const char *value) {
  fprintf(stderr, "bench_window: %s%s%s\nsee the header of bench/bench_window.c for options\n",
          problem, value != NULL ? ": " : "", value != NULL ? value : "");
  exit(2);
}

static size_t parse_count(const char *s) {
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (end == s || *end != '\0') usage_exit("expected a whole number", s);
  return (size_t)v;
}

static void parse_options(int argc, char **argv, bench_options *o) {
  *o = (bench_options){10000000, 1000000, 1000000, 200000, 90, 0, false, false, 1, 0, {NULL}};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool has_value = i + 1 < argc;
    if (strcmp(a, "--sorted") == 0) {
      o->is_sorted = true;
    } else if (strcmp(a, "--check") == 0) {
      o->check = true;
    } else if (!has_value) {
      usage_exit("unknown option or missing value", a);
    } else if (strcmp(a, "--events") == 0) {
      o->n_events = parse_count(argv[++i]);
    } else if (strcmp(a, "--rows") == 0) {
      o->n_rows = parse_count(argv[++i]);
    } else if (strcmp(a, "--users") == 0) {
      o->n_users = parse_count(argv[++i]);
    } else if (strcmp(a, "--items") == 0) {
      o->n_items = parse_count(argv[++i]);
    } else if (strcmp(a, "--days") == 0) {
      o->n_days = parse_count(argv[++i]);
    } else if (strcmp(a, "--threads") == 0) {
      o->n_threads = (int)parse_count(argv[++i]);
    } else if (strcmp(a, "--seed") == 0) {
      o->seed = parse_count(argv[++i]);
    } else if (strcmp(a, "--spec") == 0) {
      if (o->n_specs == MAX_SPECS) usage_exit("more than 32 --spec options", NULL);
      o->specs[o->n_specs++] = argv[++i];
    } else {
      usage_exit("unknown option", a);
    }
  }
  if (o->n_users == 0 || o->n_items == 0 || o->n_days < 3)
    usage_exit("--users and --items must be positive and --days at least 3", NULL);
  if (o->n_specs == 0) {
    static const char *const defaults[] = {"count:view:1d@user",      "count:view:7d@user",
                                           "count:view:30d@user",     "count:view:90d@user",
                                           "sum:amount:buy:1d@user",  "sum:amount:buy:7d@user",
                                           "sum:amount:buy:30d@user", "sum:amount:buy:90d@user"};
    o->n_specs = 8;
    memcpy(o->specs, defaults, sizeof defaults);
  }
}

static promo_window *make_window(const bench_options *o) {
  promo_window_spec specs[MAX_SPECS];
  promo_error err;
  promo_error_clear(&err);
  for (size_t s = 0; s < o->n_specs; s++)
    if (promo_window_spec_parse(o->specs[s], &specs[s], &err) != PROMO_OK)
      usage_exit(err.message, NULL);
  promo_window_options opt;
  promo_window_options_init(&opt);
  opt.event_time_column = "time";
  opt.event_type_column = "type";
  opt.row_time_column = "time";
  promo_window *window = NULL;
  if (promo_window_create(specs, o->n_specs, &opt, &window, &err) != PROMO_OK)
    usage_exit(err.message, NULL);
  return window;
}

/* Run one compute and print its figures; returns the output matrix. */
static float *run(const bench_options *o, const promo_window *window, const promo_table *events,
                  const promo_table *rows, int n_threads) {
  float *out = xmalloc(o->n_rows * o->n_specs * sizeof *out);
  promo_context ctx;
  promo_context_init(&ctx);
  ctx.n_threads = n_threads;
  promo_window_stats stats;
  promo_error err;
  promo_error_clear(&err);
  double started = promo_now_ms();
  if (promo_window_compute(window, events, NULL, rows, NULL, &ctx, out, o->n_specs, &stats, &err) !=
      PROMO_OK) {
    fprintf(stderr, "bench_window: %s\n", err.message);
    exit(1);
  }
  double total_ms = promo_now_ms() - started;
  printf(
      "threads=%d total_ms=%.0f sort_ms=%.0f window_ms=%.0f events_per_s=%.3g "
      "rows_per_s=%.3g events_used=%zu rows_unmatched=%zu peak_rss_mb=%.0f\n",
      n_threads, total_ms, stats.sort_ms, stats.window_ms, (double)o->n_events / (total_ms / 1e3),
      (double)o->n_rows / (total_ms / 1e3), stats.n_events_used, stats.n_rows_unmatched,
      peak_rss_mb());
  return out;
}

int main(int argc, char **argv) {
  bench_options o;
  parse_options(argc, argv, &o);
  int n_threads = o.n_threads > 0 ? o.n_threads : omp_get_max_threads();

  double started = promo_now_ms();
  uint64_t st = o.seed;
  promo_table *events = make_events(&o, &st);
  promo_table *rows = make_rows(&o, &st);
  promo_window *window = make_window(&o);
  printf(
      "events=%zu rows=%zu users=%zu items=%zu days=%zu specs=%zu sorted=%d generate_ms=%.0f "
      "rss_after_generate_mb=%.0f\n",
      o.n_events, o.n_rows, o.n_users, o.n_items, o.n_days, o.n_specs, o.is_sorted,
      promo_now_ms() - started, peak_rss_mb());

  float *out = run(&o, window, events, rows, n_threads);
  if (o.check) {
    float *single = run(&o, window, events, rows, 1);
    bool same = memcmp(out, single, o.n_rows * o.n_specs * sizeof *out) == 0;
    printf("check: %d threads and 1 thread give %s\n", n_threads,
           same ? "identical bits" : "DIFFERENT outputs");
    free(single);
    if (!same) return 1;
  }

  /* A checksum, so that a changed result is visible between runs. */
  double checksum = 0;
  for (size_t i = 0; i < o.n_rows * o.n_specs; i++)
    if (!isnan(out[i])) checksum += out[i];
  printf("checksum=%.6e\n", checksum);

  free(out);
  promo_window_free(window);
  promo_table_free(events);
  promo_table_free(rows);
  return 0;
}
