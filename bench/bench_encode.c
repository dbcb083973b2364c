/* Times the feature encoders on a synthetic table held in memory: fit of each kind per
 * column, and transform of standardize + one-hot into one float32 matrix, with 1 thread
 * and with the machine's threads. Build with -DPROMO_BUILD_BENCH=ON and run
 *
 *     build/bench/bench_encode [rows]      (default 1000000)
 *
 * The table is filled directly (no CSV parsing), so only encoder time is measured. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promo/feature.h"
#include "promo/data.h"

static uint64_t next_random(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double uniform(uint64_t *state) { return (double)(next_random(state) >> 11) * 0x1p-53; }

/* Columns: price (DECIMAL, 1% missing), quantity (INT), store (CATEGORICAL, 50 levels
 * with skewed counts), user_id (INT, 100,000 ids). */
static promo_table *make_table(size_t n_rows, double **target) {
  const char *names[] = {"price", "quantity", "store", "user_id"};
  const promo_type types[] = {PROMO_TYPE_DECIMAL, PROMO_TYPE_INT, PROMO_TYPE_CATEGORICAL,
                              PROMO_TYPE_INT};
  promo_table *table = NULL;
  if (promo_table_create(4, names, types, false, &table) != PROMO_OK) return NULL;
  for (size_t c = 0; c < 4; c++) {
    promo_column *col = &table->columns[c];
    col->is_missing = calloc(n_rows, 1);
    col->is_invalid = calloc(n_rows, 1);
    col->is_plain = calloc(n_rows, 1);
    if (types[c] == PROMO_TYPE_DECIMAL) col->reals = malloc(n_rows * sizeof *col->reals);
    if (types[c] == PROMO_TYPE_INT) col->ints = malloc(n_rows * sizeof *col->ints);
    if (types[c] == PROMO_TYPE_CATEGORICAL) col->codes = malloc(n_rows * sizeof *col->codes);
  }
  table->lines = calloc(n_rows, sizeof *table->lines);
  *target = malloc(n_rows * sizeof **target);
  for (int s = 0; s < 50; s++) {
    char name[16];
    int32_t code;
    snprintf(name, sizeof name, "store_%02d", s);
    promo_dict_intern(table->columns[2].dict, name, strlen(name), &code);
  }

  uint64_t rng = 1;
  for (size_t r = 0; r < n_rows; r++) {
    double u = uniform(&rng);
    table->columns[0].reals[r] = 5.0 + 200.0 * u * u;
    table->columns[0].is_missing[r] = uniform(&rng) < 0.01;
    table->columns[1].ints[r] = 1 + (int64_t)(next_random(&rng) % 5);
    double v = uniform(&rng);
    table->columns[2].codes[r] = (int32_t)(50 * v * v);
    table->columns[3].ints[r] = (int64_t)(next_random(&rng) % 100000);
    (*target)[r] = uniform(&rng) < 0.3 ? 1.0 : 0.0;
    table->lines[r] = (int64_t)r + 2;
  }
  table->n_rows = n_rows;
  table->capacity = n_rows;
  return table;
}

static double time_fit(const promo_table *table, size_t column, promo_encoder_kind kind,
                       const double *target) {
  promo_encoder_options opt;
  promo_encoder_options_init(&opt, kind);
  promo_encoder *enc = NULL;
  promo_error err;
  promo_error_clear(&err);
  double start = promo_now_ms();
  if (promo_encoder_fit(table, column, NULL, table->n_rows, target, &opt, NULL, &enc, &err) !=
      PROMO_OK) {
    fprintf(stderr, "fit failed: %s\n", err.message);
    exit(1);
  }
  double elapsed = promo_now_ms() - start;
  promo_encoder_free(enc);
  return elapsed;
}

int main(int argc, char **argv) {
  size_t n_rows = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
  double *target = NULL;
  promo_table *table = make_table(n_rows, &target);
  if (table == NULL) return 1;
  printf("rows=%zu threads_available=%d\n", n_rows, omp_get_max_threads());

  struct {
    size_t column;
    promo_encoder_kind kind;
  } fits[] = {{0, PROMO_ENCODER_STANDARDIZE}, {0, PROMO_ENCODER_MINMAX},
              {0, PROMO_ENCODER_ROBUST},      {0, PROMO_ENCODER_LOG_STANDARDIZE},
              {2, PROMO_ENCODER_ONE_HOT},     {3, PROMO_ENCODER_INDEX},
              {3, PROMO_ENCODER_FREQUENCY},   {3, PROMO_ENCODER_TARGET}};
  for (size_t k = 0; k < sizeof fits / sizeof fits[0]; k++)
    printf("fit column=%s kind=%s ms=%.1f\n", table->columns[fits[k].column].name,
           promo_encoder_kind_name(fits[k].kind),
           time_fit(table, fits[k].column, fits[k].kind, target));

  /* Standardize price and quantity, one-hot store: one matrix [n_rows x width]. */
  promo_encoder_request requests[3];
  promo_encoder_options_init(&requests[0].options, PROMO_ENCODER_STANDARDIZE);
  requests[0].column = 0;
  promo_encoder_options_init(&requests[1].options, PROMO_ENCODER_STANDARDIZE);
  requests[1].column = 1;
  promo_encoder_options_init(&requests[2].options, PROMO_ENCODER_ONE_HOT);
  requests[2].column = 2;
  promo_encoder *encoders[3];
  promo_error err;
  promo_error_clear(&err);
  int thread_counts[] = {1, omp_get_max_threads()};
  for (int t = 0; t < 2; t++) {
    promo_context ctx;
    promo_context_init(&ctx);
    ctx.n_threads = thread_counts[t];
    double start = promo_now_ms();
    if (promo_encoder_fit_all(table, requests, 3, NULL, n_rows, NULL, NULL, 0, 0, &ctx, encoders,
                              &err) != PROMO_OK) {
      fprintf(stderr, "fit failed: %s\n", err.message);
      return 1;
    }
    double fitted = promo_now_ms();
    size_t width = 0;
    for (int k = 0; k < 3; k++) width += promo_encoder_n_outputs(encoders[k]);
    float *X = malloc(n_rows * width * sizeof *X);
    if (X == NULL) return 1;
    /* Touch the matrix once so page faults are not timed. A zero fill would let the
     * compiler turn malloc + memset into calloc, which touches nothing. */
    memset(X, 0xff, n_rows * width * sizeof *X);
    double before = promo_now_ms();
    if (promo_encoder_transform_all((const promo_encoder *const *)encoders, 3, table, NULL, n_rows,
                                    X, width, 0, &ctx, NULL, &err) != PROMO_OK) {
      fprintf(stderr, "transform failed: %s\n", err.message);
      return 1;
    }
    double done = promo_now_ms();
    printf(
        "standardize+one_hot threads=%d width=%zu fit_ms=%.1f transform_ms=%.1f "
        "rows_per_s=%.0f\n",
        thread_counts[t], width, fitted - start, done - before,
        (double)n_rows / ((done - before) / 1000.0));
    free(X);
    for (int k = 0; k < 3; k++) promo_encoder_free(encoders[k]);
  }
  free(target);
  promo_table_free(table);
  return 0;
}
