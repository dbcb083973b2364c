/* Times the neural-network engine on synthetic binary data held in memory. It reports the
 * training rows/s of the reference MLP (Dense 128 ReLU, Dense 64 ReLU, Dense 1; Adam) at
 * batch 32 and 1024 with 1 and 2 threads, and prediction rows/s. It also reports the
 * GFLOP/s of those runs next to the same SGEMM calls timed alone. Build with
 * -DPROMO_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release and run
 *
 *     build/bench/bench_nn [rows] [columns] [epochs]     (default 1000000 50 3)
 *
 * With --data FILE (written by bench/nn_torch.py --make) it instead trains once on the
 * file's training rows and reports each epoch's rows/s and the test AUC on the rest, for
 * the side-by-side run with PyTorch in bench/bench_nn_torch.sh:
 *
 *     build/bench/bench_nn --data FILE [--epochs 10] [--batch 32] [--threads 1] [--seed 42]
 *                          [--scores OUT] [--init-weights FILE]
 *
 * --init-weights starts from the weights bench/nn_torch.py --save-init wrote (PyTorch's
 * default initialization), so both sides start from the same point.
 * --scores writes the test rows' predicted probabilities, one per line, so the engine's
 * AUC can be checked against scikit-learn's.
 * Training figures are the mean and the best of the epochs of one fit, validation
 * excluded. The SGEMM-only runs set OpenBLAS's thread count themselves and run last. */
#include <cblas.h>
#include <errno.h>
#include <jansson.h>
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

/* The shared dataset's layout, as bench/nn_torch.py --make writes it: "PROMONN1\n", a JSON
 * header padded to 256 bytes in all, float32 X [n x d] row-major, float32 y [n]. The
 * machine is little-endian like the writer's. */
enum { DATA_HEADER_BYTES = 256 };

static size_t header_size(const json_t *head, const char *key) {
  json_int_t v = json_integer_value(json_object_get(head, key));
  return v > 0 ? (size_t)v : 0;
}

static int load_data(const char *path, size_t *n, size_t *d, size_t *n_train, float **X,
                     float **y) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return -1;
  }
  char head[DATA_HEADER_BYTES];
  if (fread(head, 1, sizeof head, f) != sizeof head || memcmp(head, "PROMONN1\n", 9) != 0) {
    fprintf(stderr, "%s: not a PROMONN1 file; write one with bench/nn_torch.py --make\n", path);
    fclose(f);
    return -1;
  }
  json_error_t jerr;
  json_t *meta = json_loadb(head + 9, sizeof head - 9, JSON_DISABLE_EOF_CHECK, &jerr);
  *n = meta != NULL ? header_size(meta, "n") : 0;
  *d = meta != NULL ? header_size(meta, "d") : 0;
  *n_train = meta != NULL ? header_size(meta, "n_train") : 0;
  json_decref(meta);
  if (*n == 0 || *d == 0 || *n_train == 0 || *n_train >= *n) {
    fprintf(stderr, "%s: invalid header: expected n, d and 0 < n_train < n; rewrite the file with "
            "bench/nn_torch.py --make\n", path);
    fclose(f);
    return -1;
  }
  *X = malloc(*n * *d * sizeof **X);
  *y = malloc(*n * sizeof **y);
  if (*X == NULL || *y == NULL) {
    fprintf(stderr, "out of memory for %zu x %zu inputs\n", *n, *d);
    fclose(f);
    return -1;
  }
  if (fread(*X, sizeof **X, *n * *d, f) != *n * *d || fread(*y, sizeof **y, *n, f) != *n) {
    fprintf(stderr, "%s: truncated: fewer values than the header's n and d; rewrite the file with "
            "bench/nn_torch.py --make\n", path);
    fclose(f);
    return -1;
  }
  fclose(f);
  return 0;
}

/* Writes the predicted probabilities of Xv [n_valid rows], one per line with 9 digits. */
static int write_scores(const promo_nn *nn, const float *Xv, size_t n_valid,
                        const promo_context *ctx, const char *path) {
  float *p = malloc(n_valid * sizeof *p);
  promo_error err;
  if (p == NULL || promo_nn_predict(nn, Xv, n_valid, p, ctx, &err) != PROMO_OK) {
    fprintf(stderr, "prediction failed: %s\n", p == NULL ? "out of memory" : err.message);
    free(p);
    return 1;
  }
  FILE *f = fopen(path, "w");
  int rc = f == NULL;
  for (size_t i = 0; rc == 0 && i < n_valid; i++) rc = fprintf(f, "%.9g\n", p[i]) < 0;
  if (f != NULL && fclose(f) != 0) rc = 1;
  if (rc != 0) fprintf(stderr, "%s: write failed: %s\n", path, strerror(errno));
  free(p);
  return rc;
}

/* Trains once on the file's training rows and validates on its test rows after each epoch,
 * which gives the engine's exact AUC outside the timed rows/s. restore_best is off, so the
 * AUC is the last epoch's, as on PyTorch's side. Prints one JSON line per epoch and a
 * summary line with the same keys as bench/nn_torch.py. */
/* Overwrites the parameters with raw float32 tensors read in promo_nn_tensor_name order. */
static int load_weights(promo_nn *nn, const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return 1;
  }
  float *params = promo_nn_params(nn);
  size_t total = 0;
  for (size_t i = 0; i < promo_nn_n_tensors(nn); i++) {
    size_t n_dims, dims[2], offset;
    promo_nn_tensor_shape(nn, i, &n_dims, dims, &offset);
    size_t count = n_dims == 2 ? dims[0] * dims[1] : dims[0];
    if (fread(params + offset, sizeof *params, count, f) != count) break;
    total += count;
  }
  int extra = fgetc(f);
  fclose(f);
  if (total != promo_nn_n_params(nn) || extra != EOF) {
    fprintf(stderr, "%s: invalid size: expected %zu floats; write it with bench/nn_torch.py "
            "--save-init on the same data\n", path, promo_nn_n_params(nn));
    return 1;
  }
  return 0;
}

static int run_data(const char *path, size_t epochs, size_t batch, int threads, uint64_t seed,
                    const char *scores_path, const char *weights_path) {
  size_t n, d, n_train;
  float *X = NULL, *y = NULL;
  if (load_data(path, &n, &d, &n_train, &X, &y) != 0) {
    free(X);
    free(y);
    return 1;
  }

  promo_nn_options opt;
  promo_nn_options_init(&opt);
  opt.batch_size = batch;
  opt.epochs = epochs;
  opt.restore_best = false;
  opt.seed = seed;

  promo_nn *nn = NULL;
  promo_error err;
  promo_context ctx;
  promo_context_init(&ctx);
  ctx.n_threads = threads;
  promo_nn_history h = {0};

  int rc = 0;
  if (promo_nn_create(d, &opt, &nn, &err) != PROMO_OK) {
    fprintf(stderr, "%s\n", err.message);
    rc = 1;
  } else if (weights_path != NULL && load_weights(nn, weights_path) != 0) {
    rc = 1;
  } else if (promo_nn_fit(nn, X, y, n_train, X + n_train * d, y + n_train, n - n_train, &ctx,
                          &h, &err) != PROMO_OK) {
    fprintf(stderr, "%s\n", err.message);
    rc = 1;
  } else {
    double sum = 0.0, best = 0.0;
    for (size_t e = 0; e < h.n_epochs; e++) {
      const promo_nn_epoch *ep = &h.epochs[e];
      printf("{\"epoch\": %zu, \"train_loss\": %.6f, \"rows_per_s\": %.0f, \"test_auc\": %.6f}\n",
             e + 1, ep->train_loss, ep->rows_per_s, ep->valid_metric);
      sum += ep->rows_per_s;
      if (ep->rows_per_s > best) best = ep->rows_per_s;
    }
    printf("{\"side\": \"promo\", \"init\": \"%s\", \"openblas\": \"%s\", \"threads\": %d, "
           "\"batch\": %zu, \"epochs\": %zu, \"mean_rows_per_s\": %.0f, "
           "\"best_rows_per_s\": %.0f, \"test_auc\": %.6f}\n",
           weights_path != NULL ? "torch" : "xavier", openblas_get_corename(), threads, batch,
           h.n_epochs, sum / (double)h.n_epochs, best, h.epochs[h.n_epochs - 1].valid_metric);
    if (scores_path != NULL)
      rc = write_scores(nn, X + n_train * d, n - n_train, &ctx, scores_path);
  }
  promo_nn_history_clear(&h);
  promo_nn_free(nn);
  free(X);
  free(y);
  return rc;
}

static int parse_count(const char *flag, const char *text, size_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = text != NULL ? strtoull(text, &end, 10) : 0;
  if (text == NULL || end == text || *end != '\0' || errno != 0 || v == 0 || text[0] == '-') {
    fprintf(stderr, "%s needs a whole number above 0, got '%s'\n", flag, text ? text : "");
    return -1;
  }
  *out = (size_t)v;
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strncmp(argv[1], "--", 2) == 0) {
    const char *path = NULL;
    const char *scores_path = NULL, *weights_path = NULL;
    size_t epochs = 10, batch = 32, threads = 1, seed = 42;
    for (int i = 1; i < argc; i += 2) {
      const char *value = i + 1 < argc ? argv[i + 1] : NULL;
      int bad = 0;
      if (strcmp(argv[i], "--data") == 0 && value != NULL)
        path = value;
      else if (strcmp(argv[i], "--epochs") == 0)
        bad = parse_count(argv[i], value, &epochs);
      else if (strcmp(argv[i], "--batch") == 0)
        bad = parse_count(argv[i], value, &batch);
      else if (strcmp(argv[i], "--threads") == 0)
        bad = parse_count(argv[i], value, &threads);
      else if (strcmp(argv[i], "--seed") == 0)
        bad = parse_count(argv[i], value, &seed);
      else if (strcmp(argv[i], "--scores") == 0 && value != NULL)
        scores_path = value;
      else if (strcmp(argv[i], "--init-weights") == 0 && value != NULL)
        weights_path = value;
      else
        bad = -1;
      if (bad != 0) {
        fprintf(stderr, "usage: bench_nn --data FILE [--epochs N] [--batch B] [--threads T] "
                "[--seed S] [--scores OUT] [--init-weights FILE]\n");
        return 2;
      }
    }
    if (path == NULL || threads > 256) {
      fprintf(stderr, "usage: bench_nn --data FILE [--epochs N] [--batch B] [--threads T] "
                "[--seed S] [--scores OUT] [--init-weights FILE]\n");
      return 2;
    }
    return run_data(path, epochs, batch, (int)threads, (uint64_t)seed, scores_path,
                    weights_path);
  }
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
