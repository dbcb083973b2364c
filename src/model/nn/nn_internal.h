/* Internals shared by the neural-network files: the network struct with its parameter
 * slabs, the per-batch workspace, the forward and backward passes (layers.c), the
 * optimizers (optim.c) and the random generator. */
#ifndef PROMO_MODEL_NN_INTERNAL_H
#define PROMO_MODEL_NN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promo/model.h"

/* Hidden layers plus the output layer. */
#define NN_MAX_LAYERS (PROMO_NN_MAX_HIDDEN + 1)
/* Embedding tables, then per layer a weight, a bias and the layer-norm gain and shift. */
#define NN_MAX_TENSORS (PROMO_NN_MAX_EMBEDDINGS + 4 * NN_MAX_LAYERS)
/* Marks a parameter offset that does not exist (layer norm off). */
#define NN_NO_OFFSET SIZE_MAX
/* BLAS takes int dimensions; every width, level count and batch stays below this. */
#define NN_MAX_DIM ((size_t)1 << 24)

/* xoshiro256** (Blackman and Vigna 2018), seeded through splitmix64. */
typedef struct nn_rng {
  uint64_t s[4];
} nn_rng;

void nn_rng_seed(nn_rng *rng, uint64_t seed, uint64_t stream);
uint64_t nn_rng_next(nn_rng *rng);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint64_t nn_rng_below(nn_rng *rng, uint64_t n);
/* Uniform double in [0, 1) with 53 random bits. */
double nn_rng_uniform(nn_rng *rng);

/* A dense layer y = x W^T + b with W [n_out x n_in] as PyTorch's nn.Linear stores it. */
typedef struct nn_layer {
  size_t n_in, n_out;
  size_t weight, bias;   /* offsets into the slabs, in floats */
  size_t gain, shift;    /* layer norm parameters [n_out], NN_NO_OFFSET when off */
} nn_layer;

/* An embedding table [n_levels + 1 x dim] whose rows land at input_offset of the layer-0
 * input for each batch row. */
typedef struct nn_embedding {
  size_t column;         /* input column holding the index */
  size_t n_levels;
  size_t dim;
  size_t weight;         /* offset into the slabs */
  size_t input_offset;   /* first layer-0 input column of this embedding */
} nn_embedding;

typedef struct nn_tensor {
  char name[48];
  size_t n_dims;
  size_t dims[2];
  size_t offset;
} nn_tensor;

/* Buffers for one forward and backward pass over at most max_rows rows. Pointers point
 * into `block`, one allocation. Inference workspaces leave the training-only buffers
 * (mask, delta) NULL. */
typedef struct nn_workspace {
  size_t max_rows;
  bool training;
  float *input;                  /* [max_rows x d_input], the assembled layer-0 input */
  float *y;                      /* [max_rows] labels of the batch */
  float *pre[NN_MAX_LAYERS];     /* [max_rows x n_out]: x W^T + b, or x-hat with layer
                                    norm; for the output layer the logits */
  float *act[NN_MAX_LAYERS];     /* [max_rows x n_out] activation output (hidden only) */
  float *out[NN_MAX_LAYERS];     /* [max_rows x n_out] after dropout; == act without it */
  float *mask[NN_MAX_LAYERS];    /* [max_rows x n_out] 0 or 1 / (1 - p), training only */
  float *mean[NN_MAX_LAYERS];    /* [max_rows] layer-norm row mean */
  float *rstd[NN_MAX_LAYERS];    /* [max_rows] layer-norm 1 / sqrt(var + eps) */
  float *delta[2];               /* [max_rows x max_width] backward ping-pong buffers */
  uint32_t *index;               /* [max_rows x n_embeddings] table rows of the batch */
  void *block;

  /* Set by nn_forward for nn_loss and nn_backward: the layer-0 input actually used (the
   * caller's X itself when no row needs assembling) and the batch labels (NULL when the
   * batch has none). */
  const float *x0;
  size_t ld0;
  const float *labels;
} nn_workspace;

struct promo_nn {
  promo_nn_options opt;
  size_t n_inputs;
  size_t n_numeric;              /* input columns used as numbers */
  size_t *numeric_columns;       /* [n_numeric] their indexes, ascending */
  size_t d_input;                /* n_numeric + the embedding dims: layer-0 input width */
  size_t max_width;              /* widest layer input or output */

  size_t n_layers;               /* n_hidden + 1 */
  nn_layer layers[NN_MAX_LAYERS];
  nn_embedding embeddings[PROMO_NN_MAX_EMBEDDINGS];
  size_t n_tensors;
  nn_tensor tensors[NN_MAX_TENSORS];

  /* Slabs of n_params floats each. Weight matrices and embedding tables come first
   * ([0, n_decayed)), so weight decay touches a prefix; biases and norm parameters follow. */
  size_t n_params;
  size_t n_decayed;
  float *params;
  float *grads;
  float *moment1;                /* Adam m, SGD momentum buffer */
  float *moment2;                /* Adam v */

  uint64_t step;                 /* optimizer steps taken */
  size_t epoch;                  /* 0-based epoch the schedule is in */
  uint64_t total_steps;          /* last step of the latest fit, for the cosine
                                    schedule; 0 before the first fit */
  double learning_rate;          /* of the last step */
  nn_rng dropout_rng;
  nn_rng shuffle_rng;
  nn_workspace train_ws;         /* grown by train_step and loss_grad */
};

/* A batch of rows to run: rows[i] of X (or rows first .. first + n_rows - 1 when rows is
 * NULL), each n_inputs floats apart, with labels y indexed the same way (may be NULL). */
typedef struct nn_batch {
  const float *X;
  const float *y;
  const size_t *rows;
  size_t first;
  size_t n_rows;
} nn_batch;

/* ---- workspace (layers.c) ---- */

promo_status nn_workspace_init(nn_workspace *ws, const promo_nn *nn, size_t max_rows,
                               bool training);
void nn_workspace_clear(nn_workspace *ws);
/* Make ws hold at least n_rows rows, keeping it when it already does. */
promo_status nn_workspace_reserve(nn_workspace *ws, const promo_nn *nn, size_t n_rows);

/* ---- passes (layers.c) ---- */

/* Run the network on a batch; the logits land in ws->pre[n_layers - 1]. Dropout draws
 * from dropout_rng, which is NULL for no dropout (and must be NULL on an inference
 * workspace). */
void nn_forward(const promo_nn *nn, nn_workspace *ws, const nn_batch *batch,
                nn_rng *dropout_rng);
/* Sum of the losses of n_rows logits against labels, in double. When grad is not NULL it
 * also receives grad_scale * d(loss)/d(logit) per row. A grad_scale of 1 / (rows in the
 * batch) gives the gradient of the batch mean. */
double nn_loss_sum(const promo_nn *nn, const float *logits, const float *y, size_t n_rows,
                   float grad_scale, float *grad);
/* Write into grads [n_params] the gradient from the last forward pass on a training
 * workspace, whose logit gradient nn_loss_sum left in ws->delta[0]. Every gradient is
 * overwritten. */
void nn_backward(const promo_nn *nn, nn_workspace *ws, float *grads, size_t n_rows,
                 bool dropout);
/* The task's output transform applied to n logits in place. */
void nn_output_transform(promo_task task, float *values, size_t n);

/* ---- optimizers (optim.c) ---- */

/* Learning rate of the next step from the schedule, warm-up and nn->step / nn->epoch. */
double nn_schedule_rate(const promo_nn *nn);

/* Scalars of one Adam update (see nn_adam_reference). */
typedef struct nn_adam_args {
  float beta1, beta2;
  float step_size;   /* lr / (1 - beta1^t) */
  float sqrt_bc2;    /* sqrt(1 - beta2^t) */
  float eps;
  float decay;       /* L2 weight decay added to the gradient (Adam), else 0 */
  float shrink;      /* 1 - lr * wd (AdamW), else 1 */
} nn_adam_args;

/* One optimizer step, prepared once and then applied to slab ranges, possibly by several
 * threads at once. */
typedef struct nn_update {
  double learning_rate;
  nn_adam_args adam;
} nn_update;

/* Prepare the step after nn->step at this learning rate. */
void nn_update_prepare(const promo_nn *nn, double learning_rate, nn_update *update);
/* Update parameters [begin, end) of the slab from nn->grads. */
void nn_update_apply(promo_nn *nn, const nn_update *update, size_t begin, size_t end);
/* Count the step once every range is applied. */
void nn_update_finish(promo_nn *nn, const nn_update *update);
/* Prepare, apply to the whole slab and finish. */
void nn_optimizer_step(promo_nn *nn, double learning_rate);

/* Sum of squares of grads [begin, end), in double. */
double nn_sum_squares(const float *grads, size_t begin, size_t end);
/* The factor that brings a gradient of this L2 norm down to clip_norm, as PyTorch's
 * clip_grad_norm_: clip_norm / (norm + 1e-6); 1 when the norm is within the limit. */
float nn_clip_scale(double norm, double clip_norm);

/* Adam over n parameters: the plain loop, and the vectorized version used for training,
 * which gives bit-identical results. */
void nn_adam_reference(float *restrict p, const float *restrict grad, float *restrict m,
                       float *restrict v, size_t n, const nn_adam_args *args);
void nn_adam_update(float *p, const float *grad, float *m, float *v, size_t n,
                    const nn_adam_args *args);

/* ---- prediction (predict.c) ---- */

/* Outputs of n_rows rows of X: logits, or predictions when `transform` is set. Rows go in
 * blocks of workspaces[0].max_rows over n_threads threads, with BLAS on one thread each.
 * workspaces is an array of n_threads inference workspaces, or NULL to allocate them here.
 * Returns PROMO_ERR_NOMEM or PROMO_ERR_CANCELLED without setting a message. */
promo_status nn_predict_rows(const promo_nn *nn, const float *X, size_t n_rows, float *out,
                             bool transform, int n_threads, nn_workspace *workspaces,
                             const promo_context *ctx);
/* A score (logit or probability) and its 0/1 label. */
typedef struct nn_scored_row {
  float score;
  float label;
} nn_scored_row;

/* Area under the ROC curve as the Mann-Whitney U statistic: sort by score, give tied
 * scores their average rank, AUC = (R_pos - n_pos (n_pos + 1) / 2) / (n_pos n_neg).
 * Sorts rows in place (NaN scores last, each its own rank); NAN without both classes. */
double nn_roc_auc(nn_scored_row *rows, size_t n);

/* Rows per prediction block. */
size_t nn_predict_block_rows(void);

/* ---- sharded training steps for fit (step.c) ---- */

/* One shard of a batch: its rows' forward and backward pass. */
typedef struct nn_shard {
  nn_workspace ws;
  float *grads;           /* [n_params]; nn->grads itself for shard 0 */
  float *own_grads;       /* what grads points to for the other shards */
  nn_rng dropout_rng;
  double loss_sum;        /* of this shard's rows in the current batch */
  double squares;         /* sum of squared gradients over this shard's slab range */
} nn_shard;

/* The shards of fit's batches and the choice between running them in parallel or one
 * after another. */
typedef struct nn_stepper {
  size_t n_shards;
  nn_shard *shards;       /* [n_shards] */
  bool parallel;          /* run the rest of the probe period in parallel */
  size_t position;        /* batch within the probe period */
  size_t backoff;         /* the period is this many times the shortest one */
  double window_start_ms;
  double sequential_ms;   /* time of the latest sequential probe window */
  size_t n_parallel_batches; /* batches run in parallel; the caller may reset it */
  int forced_mode;        /* 0: choose by the probes; NN_RUN_SEQUENTIAL or NN_RUN_PARALLEL
                             always (tests) */
} nn_stepper;

enum { NN_RUN_SEQUENTIAL = 1, NN_RUN_PARALLEL = 2 };

/* Cut batches of up to max_batch rows into shards for n_threads threads. Seeds the shards'
 * dropout generators from nn->dropout_rng. */
promo_status nn_stepper_init(nn_stepper *st, promo_nn *nn, size_t max_batch, int n_threads);
void nn_stepper_clear(nn_stepper *st);
/* Start a new probe with the next batch, so no probe spans work outside the batch loop. */
void nn_stepper_restart_probe(nn_stepper *st);
/* One training step on a batch: forward, loss, backward, clipping and the optimizer update.
 * Returns false, leaving the parameters untouched, when the loss is NaN or infinite. */
bool nn_stepper_step(nn_stepper *st, promo_nn *nn, const nn_batch *batch, double *loss,
                     bool *clipped);

/* ---- options, labels and inputs (nn.c) ---- */

/* Check every option that does not depend on the input width. */
promo_status nn_check_options(const promo_nn_options *opt, promo_error *err);

/* Check labels for the task; the message names `what`, the 1-based row and the value. */
promo_status nn_check_labels(const promo_nn *nn, const float *y, size_t n_rows,
                             const char *what, promo_error *err);
/* Check that every embedding column of X contains whole numbers 0 .. n_levels. */
promo_status nn_check_indexes(const promo_nn *nn, const float *X, size_t n_rows,
                              const char *what, promo_error *err);
/* Set OpenBLAS to n threads and return the count it had. */
int nn_blas_threads_set(int n);
/* Threads for a call: ctx->n_threads, or the OpenMP default when it is 0 or ctx NULL. */
int nn_thread_count(const promo_context *ctx);

promo_status nn_error_nomem(promo_error *err);

#endif
