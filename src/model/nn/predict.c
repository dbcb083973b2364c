/* Prediction for the model stage's network: the inference path (no dropout) over blocks
 * of rows, one block per OpenMP thread at a time with single-threaded BLAS inside, and
 * the AUC of scores. Fit validates through the same path. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "model/nn/nn_internal.h"

/* Rows per forward pass: 512 rows keep the widest reference-model activations
 * (512 x 128 floats, 256 KiB) inside a core's L2 cache while the GEMMs stay large enough
 * for BLAS to run near full speed. */
#define PREDICT_BLOCK_ROWS 512

size_t nn_predict_block_rows(void) { return PREDICT_BLOCK_ROWS; }

/* Outputs of the rows of one block, computed with the calling thread's workspace. */
static void predict_block(const promo_nn *nn, nn_workspace *ws, const float *X, size_t n_rows,
                          float *out, bool transform, size_t block) {
  size_t first = block * ws->max_rows;
  size_t n = n_rows - first < ws->max_rows ? n_rows - first : ws->max_rows;
  nn_batch batch = {.X = X, .y = NULL, .rows = NULL, .first = first, .n_rows = n};
  nn_forward(nn, ws, &batch, NULL);
  memcpy(out + first, ws->pre[nn->n_layers - 1], n * sizeof(float));
  if (transform) nn_output_transform(nn->opt.task, out + first, n);
}

promo_status nn_predict_rows(const promo_nn *nn, const float *X, size_t n_rows, float *out,
                             bool transform, int n_threads, nn_workspace *workspaces,
                             const promo_context *ctx) {
  size_t block_rows = workspaces != NULL ? workspaces[0].max_rows : PREDICT_BLOCK_ROWS;
  if (workspaces == NULL && n_rows < block_rows) block_rows = n_rows;
  size_t n_blocks = (n_rows + block_rows - 1) / block_rows;
  int n_used = (size_t)n_threads > n_blocks ? (int)n_blocks : n_threads;
  int blas_threads_before = nn_blas_threads_set(1);
  int n_failed = 0, n_cancelled = 0;

#pragma omp parallel num_threads(n_used) if (n_used > 1) reduction(+ : n_failed, n_cancelled)
  {
    nn_workspace own, *ws = &own;
    if (workspaces != NULL) {
      ws = &workspaces[omp_get_thread_num()];
    } else if (nn_workspace_init(&own, nn, block_rows, false) != PROMO_OK) {
      n_failed++;
    }
#pragma omp for schedule(static)
    for (size_t b = 0; b < n_blocks; b++) {
      if (n_failed > 0 || promo_cancelled(ctx)) {
        n_cancelled += n_failed == 0;
        continue;
      }
      predict_block(nn, ws, X, n_rows, out, transform, b);
    }
    if (workspaces == NULL) nn_workspace_clear(&own);
  }

  nn_blas_threads_set(blas_threads_before);
  if (n_failed > 0) return PROMO_ERR_NOMEM;
  return n_cancelled > 0 ? PROMO_ERR_CANCELLED : PROMO_OK;
}

static int compare_scores(const void *a, const void *b) {
  float x = ((const nn_scored_row *)a)->score, y = ((const nn_scored_row *)b)->score;
  /* NaN sorts last so the order stays total. */
  if (isnan(x) || isnan(y)) return isnan(x) - isnan(y);
  return (x > y) - (x < y);
}

double nn_roc_auc(nn_scored_row *rows, size_t n) {
  qsort(rows, n, sizeof *rows, compare_scores);
  double rank_sum = 0.0, n_pos = 0.0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    double pos_in_group = 0.0;
    while (j < n && rows[j].score == rows[i].score) pos_in_group += rows[j++].label;
    if (j == i) pos_in_group += rows[j++].label; /* a NaN score is its own group */
    rank_sum += pos_in_group * 0.5 * (double)(i + 1 + j); /* mean of ranks i+1 .. j */
    n_pos += pos_in_group;
    i = j;
  }
  double n_neg = (double)n - n_pos;
  if (n_pos == 0.0 || n_neg == 0.0) return NAN;
  return (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg);
}

promo_status promo_nn_predict(const promo_nn *nn, const float *X, size_t n_rows, float *out,
                              const promo_context *ctx, promo_error *err) {
  if (n_rows == 0) return PROMO_OK;
  promo_status st = nn_check_indexes(nn, X, n_rows, _("prediction"), err);
  if (st != PROMO_OK) return st;

  st = nn_predict_rows(nn, X, n_rows, out, true, nn_thread_count(ctx), NULL, ctx);
  if (st == PROMO_ERR_NOMEM) return nn_error_nomem(err);
  if (st == PROMO_ERR_CANCELLED)
    return promo_error_set(err, PROMO_ERR_CANCELLED, "%s", _("cancelled"));
  return PROMO_OK;
}
