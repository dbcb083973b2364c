/* Times the neural-network engine on synthetic binary data held in memory. It reports the
 * training rows/s of the reference MLP (Dense 128 ReLU, Dense 64 ReLU, Dense 1; Adam) at
 * batch 32 and 1024 with 1 and 2 threads, and prediction rows/s. It also reports the
 * GFLOP/s of those runs next to the same SGEMM calls timed alone. Build with
 * -DPROMO_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release and run
 *
 *     build/bench/bench_nn [rows] [columns] [epochs]     (default 1000000 50 3)
 *
 * Training figures are the mean and the best of the epochs of one fit, validation
 * excluded. The SGEMM-only runs set OpenBLAS's thread count themselves and run last. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/nn/nn_internal.h"
#include "promo/model.h"

static uint64_t next_random(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double uniform(uint64_t *state) { return (double)(next_random(state) >> 11) * 0x1p-53; }

/* X [n x d] uniform in [-1.7, 1.7] (unit variance); y = 1 with probability
 * sigmoid(2 x0 - x1 + x2 x3 + 0.5 sin(3 x4)): learnable but not separable. */
static void make_data(size_t n, size_t d, float **X, float **y) {
  *X = malloc(n * d * sizeof **X);
  *y = malloc(n * sizeof **y);
  if (*X == NULL || *y == NULL) {
    fprintf(stderr, "out of memory for %zu x %zu inputs\n", n, d);
    exit(1);
  }
  uint64_t rng = 2024;
  for (size_t i = 0; i < n; i++) {
    float *x = *X + i * d;
    for (size_t j = 0; j < d; j++) x[j] = (float)(3.4641016 * (uniform(&rng) - 0.5));
    double z = 2.0 * x[0] - x[1] + x[2] * x[3] + 0.5 * sin(3.0 * x[4]);
    (*y)[i] = uniform(&rng) < 1.0 / (1.0 + exp(-z)) ? 1.0f : 0.0f;
  }
}

/* Multiply-adds x2 per training row of the reference MLP: forward GEMMs, weight-gradient
 * GEMMs, and input-gradient GEMMs for every layer but the first. */
static double train_flops_per_row(size_t d) {
  double forward = 2.0 * ((double)d * 128 + 128.0 * 64 + 64.0);
  double input_grad = 2.0 * (128.0 * 64 + 64.0);
  return 2.0 * forward + input_grad;
}

/* Time the SGEMM calls of one training step alone (the same shapes and transposes as
 * layers.c issues) and return rows per second. */
static double sgemm_only_rows_per_s(size_t batch, size_t d) {
  const size_t in[3] = {d, 128, 64}, out[3] = {128, 64, 1};
  float *A = calloc(batch * 128 + d * 128, sizeof(float));
  float *W = calloc(128 * 128 + d * 128, sizeof(float));
  float *C = calloc(batch * 128 + d * 128, sizeof(float));
  float *G = calloc(128 * 128 + d * 128, sizeof(float));
  for (size_t i = 0; i < batch * 128; i++) A[i] = 0.01f * (float)(i % 17);
  size_t steps = batch >= 1024 ? 200 : 20000;
  double start = promo_now_ms();
  for (size_t s = 0; s < steps; s++) {
    for (int l = 0; l < 3; l++) {
      int m = (int)batch, n = (int)out[l], k = (int)in[l];
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, A, k, W, k, 0.0f, C,
                  n);
    }
    for (int l = 2; l >= 0; l--) {
      int m = (int)batch, n = (int)out[l], k = (int)in[l];
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, k, m, 1.0f, C, n, A, k, 0.0f, G,
                  k);
      if (l > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, k, n, 1.0f, C, n, W, k, 0.0f,
                    A, k);
    }
  }
  double seconds = (promo_now_ms() - start) / 1000.0;
  free(A);
  free(W);
  free(C);
  free(G);
  return (double)(steps * batch) / seconds;
}

/* Microseconds per Adam step over the reference MLP's slab. */
static double adam_step_us(size_t d) {
  promo_nn_options opt;
  promo_nn_options_init(&opt);
  promo_nn *nn = NULL;
  if (promo_nn_create(d, &opt, &nn, NULL) != PROMO_OK) return NAN;
  for (size_t i = 0; i < nn->n_params; i++) nn->grads[i] = 1e-3f * (float)(i % 7);
  const size_t steps = 20000;
  double start = promo_now_ms();
  for (size_t s = 0; s < steps; s++) nn_optimizer_step(nn, 1e-3);
  double us = (promo_now_ms() - start) * 1000.0 / (double)steps;
  promo_nn_free(nn);
  return us;
}

/* Mean and best training rows/s over the epochs of one fit; the last epoch's validation
 * AUC lands in *auc. */
static void train_rows_per_s(const float *X, const float *y, size_t n, size_t d, size_t batch,
                             int threads, size_t epochs, double *mean, double *best,
                             double *auc) {
  promo_nn_options opt;
  promo_nn_options_init(&opt);
  opt.batch_size = batch;
  opt.epochs = epochs;
  promo_nn *nn = NULL;
  promo_error err;
  if (promo_nn_create(d, &opt, &nn, &err) != PROMO_OK) {
    fprintf(stderr, "create: %s\n", err.message);
    exit(1);
  }
  promo_context ctx;
  promo_context_init(&ctx);
  ctx.n_threads = threads;
  /* The last 2% of rows validate, so the figure also shows that training learned. */
  size_t n_valid = n / 50, n_train = n - n_valid;
  promo_nn_history h;
  if (promo_nn_fit(nn, X, y, n_train, X + n_train * d, y + n_train, n_valid, &ctx, &h, &err) !=
      PROMO_OK) {
    fprintf(stderr, "fit: %s\n", err.message);
    exit(1);
  }
  double sum = 0.0;
  *best = 0.0;
  for (size_t e = 0; e < h.n_epochs; e++) {
    sum += h.epochs[e].rows_per_s;
    if (h.epochs[e].rows_per_s > *best) *best = h.epochs[e].rows_per_s;
  }
  *mean = sum / (double)h.n_epochs;
  *auc = h.epochs[h.n_epochs - 1].valid_metric;
  promo_nn_history_clear(&h);
  promo_nn_free(nn);
}

static double predict_rows_per_s(const float *X, size_t n, size_t d, int threads) {
  promo_nn_options opt;
  promo_nn_options_init(&opt);
  promo_nn *nn = NULL;
  if (promo_nn_create(d, &opt, &nn, NULL) != PROMO_OK) exit(1);
  float *out = malloc(n * sizeof *out);
  promo_context ctx;
  promo_context_init(&ctx);
  ctx.n_threads = threads;
  double best = 0.0;
  for (int rep = 0; rep < 3; rep++) {
    double start = promo_now_ms();
    if (promo_nn_predict(nn, X, n, out, &ctx, NULL) != PROMO_OK) exit(1);
    double rate = (double)n / ((promo_now_ms() - start) / 1000.0);
    if (rate > best) best = rate;
  }
  free(out);
  promo_nn_free(nn);
  return best;
}

int main(int argc, char **argv) {
  size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
  size_t d = argc > 2 ? strtoull(argv[2], NULL, 10) : 50;
  size_t epochs = argc > 3 ? strtoull(argv[3], NULL, 10) : 3;
  if (n < 100 || d < 5 || epochs == 0) {
    fprintf(stderr, "usage: bench_nn [rows >= 100] [columns >= 5] [epochs >= 1]\n");
    return 2;
  }
  float *X, *y;
  make_data(n, d, &X, &y);
  double flops = train_flops_per_row(d);
  printf("data: %zu rows x %zu columns; reference MLP %zu-128-64-1, Adam; OpenBLAS %s\n", n, d,
         d, openblas_get_corename());
  printf("training FLOPs per row (GEMMs only): %.0f\n", flops);
  printf("Adam step over the parameter slab: %.2f us\n\n", adam_step_us(d));

  const size_t batches[2] = {32, 1024};
  double train_mean[2][2];
  printf("%-6s %-8s %14s %14s %10s %10s\n", "batch", "threads", "train rows/s", "best epoch",
         "GFLOP/s", "valid AUC");
  for (int b = 0; b < 2; b++) {
    for (int threads = 1; threads <= 2; threads++) {
      double mean, best, auc;
      train_rows_per_s(X, y, n, d, batches[b], threads, epochs, &mean, &best, &auc);
      train_mean[b][threads - 1] = mean;
      printf("%-6zu %-8d %14.0f %14.0f %10.1f %10.4f\n", batches[b], threads, mean, best,
             mean * flops / 1e9, auc);
      fflush(stdout);
    }
  }

  printf("\n%-8s %16s\n", "threads", "predict rows/s");
  for (int threads = 1; threads <= 2; threads++)
    printf("%-8d %16.0f\n", threads, predict_rows_per_s(X, n, d, threads));

  printf("\n%-6s %-8s %18s %12s %16s\n", "batch", "threads", "sgemm-only rows/s",
         "sgemm GF/s", "train / sgemm");
  for (int b = 0; b < 2; b++) {
    for (int threads = 1; threads <= 2; threads++) {
      int before = openblas_get_num_threads();
      openblas_set_num_threads(threads);
      double gemm_rate = sgemm_only_rows_per_s(batches[b], d);
      openblas_set_num_threads(before);
      printf("%-6zu %-8d %18.0f %12.1f %15.0f%%\n", batches[b], threads, gemm_rate,
             gemm_rate * flops / 1e9, 100.0 * train_mean[b][threads - 1] / gemm_rate);
    }
  }
  free(X);
  free(y);
  return 0;
}
