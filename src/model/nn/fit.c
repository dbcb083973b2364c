/* promo_nn_fit for the model stage: shuffled mini-batches (each step in step.c),
 * validation (loss and AUC or RMSE) after each epoch, early stopping with the best
 * weights kept, per-epoch logs and progress. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "model/nn/nn_internal.h"

/* Batches between progress reports. */
#define PROGRESS_EVERY_BATCHES 16

/* ===================================================================== state */

/* Buffers a fit allocates once before its first batch. */
typedef struct fit_state {
  size_t *order;          /* [n_rows] training rows in this epoch's order */
  nn_stepper stepper;
  int n_eval_threads;
  nn_workspace *eval_ws;  /* [n_eval_threads] inference workspaces for validation */
  float *valid_logits;    /* [n_valid] */
  nn_scored_row *scored;     /* [n_valid] validation scores and labels, for the AUC */
  float *best_params;     /* [n_params] weights of the best epoch, or NULL */
} fit_state;

static void fit_state_clear(fit_state *fs) {
  free(fs->order);
  nn_stepper_clear(&fs->stepper);
  for (int t = 0; fs->eval_ws != NULL && t < fs->n_eval_threads; t++)
    nn_workspace_clear(&fs->eval_ws[t]);
  free(fs->eval_ws);
  free(fs->valid_logits);
  free(fs->scored);
  free(fs->best_params);
}

static promo_status fit_state_init(fit_state *fs, promo_nn *nn, size_t n_rows, size_t n_valid,
                                   int n_threads, promo_nn_history *history) {
  memset(fs, 0, sizeof *fs);
  fs->order = malloc(n_rows * sizeof *fs->order);
  history->epochs = calloc(nn->opt.epochs, sizeof *history->epochs);
  if (fs->order == NULL || history->epochs == NULL) return PROMO_ERR_NOMEM;
  for (size_t i = 0; i < n_rows; i++) fs->order[i] = i;
  size_t max_batch = nn->opt.batch_size < n_rows ? nn->opt.batch_size : n_rows;
  if (nn_stepper_init(&fs->stepper, nn, max_batch, n_threads) != PROMO_OK) return PROMO_ERR_NOMEM;
  if (n_valid == 0) return PROMO_OK;

  size_t block = nn_predict_block_rows() < n_valid ? nn_predict_block_rows() : n_valid;
  size_t n_blocks = (n_valid + block - 1) / block;
  fs->n_eval_threads = (size_t)n_threads < n_blocks ? n_threads : (int)n_blocks;
  fs->eval_ws = calloc((size_t)fs->n_eval_threads, sizeof *fs->eval_ws);
  fs->valid_logits = malloc(n_valid * sizeof *fs->valid_logits);
  fs->scored = malloc(n_valid * sizeof *fs->scored);
  if (fs->eval_ws == NULL || fs->valid_logits == NULL || fs->scored == NULL)
    return PROMO_ERR_NOMEM;
  for (int t = 0; t < fs->n_eval_threads; t++) {
    if (nn_workspace_init(&fs->eval_ws[t], nn, block, false) != PROMO_OK) return PROMO_ERR_NOMEM;
  }
  if (nn->opt.restore_best) {
    fs->best_params = malloc(nn->n_params * sizeof(float));
    if (fs->best_params == NULL) return PROMO_ERR_NOMEM;
  }
  return PROMO_OK;
}

/* ===================================================================== validation */

/* Mean validation loss, and AUC of the logits (binary) or RMSE of the predictions. */
static promo_status validate(const promo_nn *nn, fit_state *fs, const float *Xv,
                             const float *yv, size_t n_valid, const promo_context *ctx,
                             double *loss, double *metric) {
  float *logits = fs->valid_logits;
  promo_status st =
      nn_predict_rows(nn, Xv, n_valid, logits, false, fs->n_eval_threads, fs->eval_ws, ctx);
  if (st != PROMO_OK) return st;
  *loss = nn_loss_sum(nn, logits, yv, n_valid, 0.0f, NULL) / (double)n_valid;

  if (nn->opt.task != PROMO_TASK_BINARY) {
    nn_output_transform(nn->opt.task, logits, n_valid);
    double squared_error = 0.0;
    for (size_t i = 0; i < n_valid; i++) {
      double e = (double)logits[i] - yv[i];
      squared_error += e * e;
    }
    *metric = sqrt(squared_error / (double)n_valid);
    return PROMO_OK;
  }
  for (size_t i = 0; i < n_valid; i++) {
    fs->scored[i].score = logits[i];
    fs->scored[i].label = yv[i];
  }
  *metric = nn_roc_auc(fs->scored, n_valid);
  return PROMO_OK;
}

/* ===================================================================== epochs */

static promo_status check_fit_input(const promo_nn *nn, const float *X, const float *y,
                                    size_t n_rows, const float *Xv, const float *yv,
                                    size_t n_valid, promo_error *err) {
  if (X == NULL || y == NULL || n_rows == 0)
    return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                           _("training needs at least one row of inputs and labels"));
  if (n_valid > 0 && (Xv == NULL || yv == NULL))
    return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                           _("validation has rows but no inputs or labels (Xv or yv is NULL)"));

  const float *sets[2] = {X, Xv};
  const size_t counts[2] = {n_rows, n_valid};
  const char *names[2] = {_("training"), _("validation")};
  for (int s = 0; s < 2; s++) {
    for (size_t i = 0; i < counts[s]; i++) {
      for (size_t c = 0; c < nn->n_numeric; c++) {
        float v = sets[s][i * nn->n_inputs + nn->numeric_columns[c]];
        if (isfinite(v)) continue;
        return promo_error_set(err, PROMO_ERR_DATA,
                               _("%s row %zu, column %zu is %g; impute or drop missing and "
                                 "infinite values before training"),
                               names[s], i + 1, nn->numeric_columns[c], (double)v);
      }
    }
  }
  promo_status st = nn_check_labels(nn, y, n_rows, names[0], err);
  if (st == PROMO_OK) st = nn_check_labels(nn, yv, n_valid, names[1], err);
  if (st == PROMO_OK) st = nn_check_indexes(nn, X, n_rows, names[0], err);
  if (st == PROMO_OK) st = nn_check_indexes(nn, Xv, n_valid, names[1], err);
  return st;
}

/* Fisher-Yates shuffle (Knuth, TAOCP vol. 2, algorithm 3.4.2 P). */
static void shuffle_rows(size_t *order, size_t n, nn_rng *rng) {
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)nn_rng_below(rng, i);
    size_t t = order[i - 1];
    order[i - 1] = order[j];
    order[j] = t;
  }
}

/* Train one epoch over the shuffled rows; returns the mean training loss and the number
 * of clipped steps. */
static promo_status run_epoch(promo_nn *nn, fit_state *fs, const float *X, const float *y,
                              size_t n_rows, const promo_context *ctx, uint64_t *rows_done,
                              uint64_t rows_total, double *train_loss, size_t *n_clipped,
                              promo_error *err) {
  size_t batch_size = nn->opt.batch_size;
  double loss_sum = 0.0;
  *n_clipped = 0;
  shuffle_rows(fs->order, n_rows, &nn->shuffle_rng);
  nn_stepper_restart_probe(&fs->stepper);
  fs->stepper.n_parallel_batches = 0;

  for (size_t first = 0, b = 0; first < n_rows; first += batch_size, b++) {
    if (promo_cancelled(ctx))
      return promo_error_set(err, PROMO_ERR_CANCELLED, "%s", _("cancelled"));
    size_t n = n_rows - first < batch_size ? n_rows - first : batch_size;
    nn_batch batch = {.X = X, .y = y, .rows = fs->order + first, .first = 0, .n_rows = n};
    double loss;
    bool clipped = false;
    if (!nn_stepper_step(&fs->stepper, nn, &batch, &loss, &clipped))
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("training diverged: the loss is %g at epoch %zu, batch %zu; "
                               "lower the learning rate, enable gradient clipping or scale "
                               "the inputs"),
                             loss, nn->epoch + 1, b + 1);
    loss_sum += loss * (double)n;
    *n_clipped += clipped;
    *rows_done += n;
    if (b % PROGRESS_EVERY_BATCHES == 0) promo_progress(ctx, "train", *rows_done, rows_total);
  }
  *train_loss = loss_sum / (double)n_rows;
  return PROMO_OK;
}

static void log_epoch(const promo_nn *nn, const promo_context *ctx, size_t epoch,
                      const promo_nn_epoch *e, size_t n_valid, size_t n_clipped) {
  if (!promo_log_enabled(ctx, PROMO_LOG_INFO)) return;
  char valid[128] = "", clip[48] = "";
  if (n_valid > 0)
    snprintf(valid, sizeof valid, " valid_loss=%.4f valid_%s=%.4f", e->valid_loss,
             nn->opt.task == PROMO_TASK_BINARY ? "auc" : "rmse", e->valid_metric);
  if (nn->opt.clip_norm > 0.0) snprintf(clip, sizeof clip, " clipped_steps=%zu", n_clipped);
  promo_log(ctx, PROMO_LOG_INFO, "epoch=%zu train_loss=%.4f%s lr=%.3g rows_per_s=%.0f%s",
            epoch + 1, e->train_loss, valid, e->learning_rate, e->rows_per_s, clip);
}

static void log_start(const promo_nn *nn, const fit_state *fs, const promo_context *ctx,
                      size_t n_rows, size_t n_valid) {
  if (!promo_log_enabled(ctx, PROMO_LOG_INFO)) return;
  char layers[160] = "";
  size_t used = 0;
  for (size_t l = 0; l < nn->opt.n_hidden && used < sizeof layers; l++)
    used += (size_t)snprintf(layers + used, sizeof layers - used, "%zu-", nn->opt.hidden[l]);
  promo_log(ctx, PROMO_LOG_INFO,
            _("training a %zu-%s1 network (%zu parameters) on %zu rows, validating on %zu; "
              "batch %zu in %zu shards, %zu epochs, seed %llu"),
            nn->d_input, layers, nn->n_params, n_rows, n_valid, nn->opt.batch_size,
            fs->stepper.n_shards, nn->opt.epochs, (unsigned long long)nn->opt.seed);
  if (n_valid == 0 && nn->opt.patience > 0)
    promo_log(ctx, PROMO_LOG_WARN,
              _("early stopping needs validation rows; training runs all %zu epochs"),
              nn->opt.epochs);
}

/* Track the best validation loss; returns true when patience has run out. */
static bool early_stop(const promo_nn *nn, fit_state *fs, promo_nn_history *history,
                       size_t epoch, double *best_loss, size_t *n_worse) {
  double loss = history->epochs[epoch].valid_loss;
  if (loss < *best_loss) {
    *best_loss = loss;
    history->best_epoch = epoch;
    *n_worse = 0;
    if (fs->best_params != NULL)
      memcpy(fs->best_params, nn->params, nn->n_params * sizeof(float));
    return false;
  }
  (*n_worse)++;
  return nn->opt.patience > 0 && *n_worse >= nn->opt.patience;
}

/* Counters of one fit that outlive an epoch. */
typedef struct fit_progress {
  uint64_t rows_done, rows_total;
  double best_loss;
  size_t n_worse;
} fit_progress;

/* Train, validate and log one epoch; sets *stop when early stopping ends the fit. */
static promo_status fit_epoch(promo_nn *nn, fit_state *fs, const float *X, const float *y,
                              size_t n_rows, const float *Xv, const float *yv, size_t n_valid,
                              const promo_context *ctx, promo_nn_history *history,
                              fit_progress *fp, bool *stop, promo_error *err) {
  size_t epoch = nn->epoch;
  promo_nn_epoch *e = &history->epochs[epoch];
  double start_ms = promo_now_ms();
  size_t n_clipped = 0;
  promo_status st = run_epoch(nn, fs, X, y, n_rows, ctx, &fp->rows_done, fp->rows_total,
                              &e->train_loss, &n_clipped, err);
  if (st != PROMO_OK) return st;
  double elapsed_ms = promo_now_ms() - start_ms;
  e->rows_per_s = elapsed_ms > 0.0 ? (double)n_rows / (elapsed_ms / 1000.0) : 0.0;
  e->learning_rate = nn->learning_rate;
  e->valid_loss = e->valid_metric = NAN;
  if (n_valid > 0) {
    st = validate(nn, fs, Xv, yv, n_valid, ctx, &e->valid_loss, &e->valid_metric);
    if (st == PROMO_ERR_CANCELLED)
      return promo_error_set(err, st, "%s", _("cancelled"));
  }
  history->n_epochs = epoch + 1;
  log_epoch(nn, ctx, epoch, e, n_valid, n_clipped);
  if (fs->stepper.n_shards > 1)
    promo_log(ctx, PROMO_LOG_DEBUG, "epoch=%zu shards=%zu parallel_batches=%zu", epoch + 1,
              fs->stepper.n_shards, fs->stepper.n_parallel_batches);

  if (n_valid == 0) {
    history->best_epoch = epoch;
  } else if (early_stop(nn, fs, history, epoch, &fp->best_loss, &fp->n_worse)) {
    *stop = true;
    history->stopped_early = epoch + 1 < nn->opt.epochs;
    if (history->stopped_early)
      promo_log(ctx, PROMO_LOG_INFO,
                _("early stop after epoch %zu: no better validation loss for %zu epochs"),
                epoch + 1, fp->n_worse);
  }
  return PROMO_OK;
}

promo_status promo_nn_fit(promo_nn *nn, const float *X, const float *y, size_t n_rows,
                          const float *Xv, const float *yv, size_t n_valid,
                          const promo_context *ctx, promo_nn_history *history,
                          promo_error *err) {
  memset(history, 0, sizeof *history);
  promo_status st = check_fit_input(nn, X, y, n_rows, Xv, yv, n_valid, err);
  if (st != PROMO_OK) return st;
  int n_threads = nn_thread_count(ctx);
  fit_state fs;
  if (fit_state_init(&fs, nn, n_rows, n_valid, n_threads, history) != PROMO_OK) {
    fit_state_clear(&fs);
    promo_nn_history_clear(history);
    return nn_error_nomem(err);
  }

  /* Worker threads split each batch, so BLAS runs on one thread inside each. */
  int blas_threads_before = nn_blas_threads_set(1);
  log_start(nn, &fs, ctx, n_rows, n_valid);
  size_t batches_per_epoch = (n_rows + nn->opt.batch_size - 1) / nn->opt.batch_size;
  nn->total_steps = nn->step + (uint64_t)batches_per_epoch * nn->opt.epochs;
  fit_progress fp = {.rows_total = (uint64_t)n_rows * nn->opt.epochs, .best_loss = INFINITY};
  bool stop = false;
  for (size_t epoch = 0; epoch < nn->opt.epochs && !stop && st == PROMO_OK; epoch++) {
    nn->epoch = epoch;
    st = fit_epoch(nn, &fs, X, y, n_rows, Xv, yv, n_valid, ctx, history, &fp, &stop, err);
  }

  /* Restore the best epoch's weights, also after an error, so a diverged or cancelled fit
   * leaves the best weights it validated. */
  bool changed_since_best = st != PROMO_OK || history->best_epoch + 1 != history->n_epochs;
  if (fs.best_params != NULL && isfinite(fp.best_loss) && changed_since_best) {
    memcpy(nn->params, fs.best_params, nn->n_params * sizeof(float));
    promo_log(ctx, PROMO_LOG_INFO, _("restored the weights of epoch %zu (validation loss %.4f)"),
              history->best_epoch + 1, fp.best_loss);
  }
  if (st == PROMO_OK) promo_progress(ctx, "train", fp.rows_total, fp.rows_total);
  nn_blas_threads_set(blas_threads_before);
  fit_state_clear(&fs);
  return st;
}

void promo_nn_history_clear(promo_nn_history *history) {
  if (history == NULL) return;
  free(history->epochs);
  memset(history, 0, sizeof *history);
}
