/* Training steps of promo_nn_fit for the model stage: each batch is cut into a fixed number
 * of shards whose gradients are summed in a fixed order, so the weights depend on the
 * shard count alone. The shards run on their own threads or one after another, whichever
 * was faster in the latest probe; both give the same bits. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "model/nn/nn_internal.h"

/* A batch is cut into shards of at least this many rows. On the 2-core machine that ran
 * bench/bench_nn.c, 16-row halves of a 32-row batch trained about 1.3 times as fast as
 * one thread when both cores were free. 8-row halves of a 16-row batch ran at a third of
 * the one-thread speed. NOTE: machines with more cores were not measured. */
#define MIN_SHARD_ROWS 16
/* Slab ranges that shards reduce and update start on a 64-byte boundary. */
#define RANGE_ALIGN_FLOATS 16
/* Batches are timed in windows of WINDOW_BATCHES. A probe period starts with one window
 * run one after another and one run in parallel. Parallel runs the rest of the period
 * only when it took less than PARALLEL_GAIN of the sequential time. It falls back as soon
 * as one of its windows is slower than the sequential probe. Parallel shards wait for
 * each other at every step, so a core taken by another process can make them far slower
 * than one thread. After a lost probe the next one comes twice as late, up to
 * MAX_BACKOFF times PERIOD_WINDOWS windows. */
#define WINDOW_BATCHES 32
#define PERIOD_WINDOWS 64
#define MAX_BACKOFF 32
#define PARALLEL_GAIN 0.9

/* ===================================================================== setup */

void nn_stepper_clear(nn_stepper *st) {
  for (size_t s = 0; st->shards != NULL && s < st->n_shards; s++) {
    nn_workspace_clear(&st->shards[s].ws);
    free(st->shards[s].own_grads);
  }
  free(st->shards);
  memset(st, 0, sizeof *st);
}

promo_status nn_stepper_init(nn_stepper *st, promo_nn *nn, size_t max_batch, int n_threads) {
  memset(st, 0, sizeof *st);
  size_t n_shards = max_batch / MIN_SHARD_ROWS;
  if (n_shards > (size_t)n_threads) n_shards = (size_t)n_threads;
  if (n_shards == 0) n_shards = 1;
  st->shards = calloc(n_shards, sizeof *st->shards);
  if (st->shards == NULL) return PROMO_ERR_NOMEM;
  st->n_shards = n_shards;
  st->backoff = 1;

  size_t rows_per_shard = (max_batch + n_shards - 1) / n_shards;
  size_t n_floats =
      (nn->n_params + RANGE_ALIGN_FLOATS - 1) / RANGE_ALIGN_FLOATS * RANGE_ALIGN_FLOATS;
  for (size_t s = 0; s < n_shards; s++) {
    nn_shard *shard = &st->shards[s];
    if (nn_workspace_init(&shard->ws, nn, rows_per_shard, true) != PROMO_OK) return PROMO_ERR_NOMEM;
    if (s > 0) {
      shard->own_grads = aligned_alloc(64, n_floats * sizeof(float));
      if (shard->own_grads == NULL) return PROMO_ERR_NOMEM;
    }
    /* Shard 0 writes nn->grads, where the others' gradients are summed. */
    shard->grads = s == 0 ? nn->grads : shard->own_grads;
    nn_rng_seed(&shard->dropout_rng, nn_rng_next(&nn->dropout_rng), s);
  }
  return PROMO_OK;
}

/* ===================================================================== phases */

/* What every shard of one step reads. */
typedef struct step_job {
  promo_nn *nn;
  nn_stepper *st;
  const nn_batch *batch;
  size_t rows_per_shard;
  size_t n_active;        /* shards with rows in this batch */
  bool dropout;
  nn_update update;
} step_job;

/* Forward and backward pass over shard s's rows into its gradient slab. */
static void shard_gradient(const step_job *job, size_t s) {
  promo_nn *nn = job->nn;
  nn_shard *shard = &job->st->shards[s];
  size_t n_rows = job->batch->n_rows, first = s * job->rows_per_shard;
  nn_batch part = *job->batch;
  part.n_rows = n_rows - first < job->rows_per_shard ? n_rows - first : job->rows_per_shard;
  if (part.rows != NULL) part.rows += first;
  else part.first += first;

  nn_forward(nn, &shard->ws, &part, job->dropout ? &shard->dropout_rng : NULL);
  shard->loss_sum = nn_loss_sum(nn, shard->ws.pre[nn->n_layers - 1], shard->ws.labels,
                                part.n_rows, 1.0f / (float)n_rows, shard->ws.delta[0]);
  if (isfinite(shard->loss_sum))
    nn_backward(nn, &shard->ws, shard->grads, part.n_rows, job->dropout);
}

/* Shard s's part of the slab, [*begin, *end), for the reduction and the update. */
static void slab_range(const step_job *job, size_t s, size_t *begin, size_t *end) {
  size_t n_params = job->nn->n_params, n = job->n_active;
  size_t piece = (n_params + n - 1) / n;
  piece = (piece + RANGE_ALIGN_FLOATS - 1) / RANGE_ALIGN_FLOATS * RANGE_ALIGN_FLOATS;
  *begin = s * piece < n_params ? s * piece : n_params;
  *end = *begin + piece < n_params ? *begin + piece : n_params;
}

/* Sum the shards' gradients over shard s's slab range into nn->grads, in shard order, and
 * record the range's sum of squares for clipping. */
static void shard_reduce(const step_job *job, size_t s) {
  float *grads = job->nn->grads;
  size_t begin, end;
  slab_range(job, s, &begin, &end);
  for (size_t v = 1; v < job->n_active; v++) {
    const float *g = job->st->shards[v].grads;
    for (size_t i = begin; i < end; i++) grads[i] += g[i];
  }
  if (job->nn->opt.clip_norm > 0.0) job->st->shards[s].squares = nn_sum_squares(grads, begin, end);
}

/* Scale shard s's slab range by the clipping factor and apply the optimizer to it. */
static void shard_update(const step_job *job, size_t s, float scale) {
  size_t begin, end;
  slab_range(job, s, &begin, &end);
  for (size_t i = begin; scale != 1.0f && i < end; i++) job->nn->grads[i] *= scale;
  nn_update_apply(job->nn, &job->update, begin, end);
}

/* Sums over the shards in shard order, so every thread computes the same value. */
static double total_loss(const step_job *job) {
  double total = 0.0;
  for (size_t s = 0; s < job->n_active; s++) total += job->st->shards[s].loss_sum;
  return total;
}

static float clip_scale(const step_job *job) {
  if (!(job->nn->opt.clip_norm > 0.0)) return 1.0f;
  double squares = 0.0;
  for (size_t s = 0; s < job->n_active; s++) squares += job->st->shards[s].squares;
  return nn_clip_scale(sqrt(squares), job->nn->opt.clip_norm);
}

/* ===================================================================== drivers */

static void run_sequential(const step_job *job, float *scale) {
  for (size_t s = 0; s < job->n_active; s++) shard_gradient(job, s);
  if (!isfinite(total_loss(job))) return;
  for (size_t s = 0; s < job->n_active; s++) shard_reduce(job, s);
  *scale = clip_scale(job);
  for (size_t s = 0; s < job->n_active; s++) shard_update(job, s, *scale);
}

/* The same phases with one thread per shard and a barrier wherever a phase reads what
 * other shards wrote. A smaller team (inside a caller's parallel region, or under
 * OMP_THREAD_LIMIT) takes several shards per thread and gives the same bits. */
static void run_parallel(const step_job *job, float *scale) {
#pragma omp parallel num_threads((int)job->n_active)
  {
    size_t first = (size_t)omp_get_thread_num(), stride = (size_t)omp_get_num_threads();
    for (size_t s = first; s < job->n_active; s += stride) shard_gradient(job, s);
#pragma omp barrier
    if (isfinite(total_loss(job))) {
      for (size_t s = first; s < job->n_active; s += stride) shard_reduce(job, s);
      if (job->nn->opt.clip_norm > 0.0) {
#pragma omp barrier
      }
      float mine = clip_scale(job);
      if (first == 0) *scale = mine;
      for (size_t s = first; s < job->n_active; s += stride) shard_update(job, s, mine);
    }
  }
}

void nn_stepper_restart_probe(nn_stepper *st) { st->position = 0; }

static void back_off(nn_stepper *st) {
  st->parallel = false;
  if (st->backoff < MAX_BACKOFF) st->backoff *= 2;
}

/* Close the timing window before window `next` of the period and act on its time. */
static void close_window(nn_stepper *st, size_t next) {
  double now = promo_now_ms(), ms = now - st->window_start_ms;
  st->window_start_ms = now;
  if (next == 1) {
    st->sequential_ms = ms;
  } else if (next == 2) {
    st->parallel = ms < PARALLEL_GAIN * st->sequential_ms;
    if (st->parallel) st->backoff = 1;
    else back_off(st);
  } else if (next > 2 && st->parallel && ms > st->sequential_ms) {
    back_off(st);
  }
}

/* Choose how the next batch runs: the probe windows, then the faster way. */
static bool next_is_parallel(nn_stepper *st) {
  if (st->forced_mode != 0) return st->forced_mode == NN_RUN_PARALLEL;
  if (st->position >= WINDOW_BATCHES * PERIOD_WINDOWS * st->backoff) st->position = 0;
  size_t at = st->position++;
  if (at % WINDOW_BATCHES == 0) close_window(st, at / WINDOW_BATCHES);
  if (at < WINDOW_BATCHES) return false;
  if (at < 2 * WINDOW_BATCHES) return true;
  return st->parallel;
}

bool nn_stepper_step(nn_stepper *st, promo_nn *nn, const nn_batch *batch, double *loss,
                     bool *clipped) {
  size_t n_rows = batch->n_rows;
  step_job job = {.nn = nn, .st = st, .batch = batch, .dropout = nn->opt.dropout > 0.0f};
  job.rows_per_shard = (n_rows + st->n_shards - 1) / st->n_shards;
  job.n_active = (n_rows + job.rows_per_shard - 1) / job.rows_per_shard;
  nn_update_prepare(nn, nn_schedule_rate(nn), &job.update);

  float scale = 1.0f;
  if (job.n_active > 1 && next_is_parallel(st)) {
    st->n_parallel_batches++;
    run_parallel(&job, &scale);
  } else {
    run_sequential(&job, &scale);
  }
  *loss = total_loss(&job) / (double)n_rows;
  *clipped = scale != 1.0f;
  if (!isfinite(*loss)) return false;
  nn_update_finish(nn, &job.update);
  return true;
}
