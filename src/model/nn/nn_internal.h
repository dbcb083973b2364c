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
  char name[32];
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
  uint64_t total_steps;          /* steps of the current fit for the cosine schedule;
                                    0 outside fit */
  double learning_rate;          /* of the last step */
  nn_rng dropout_rng;
  nn_rng shuffle_rng;
  nn_workspace train_ws;         /* grown by train_step and loss_grad, sized by fit */
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

/* Run the network on a batch; the logits land in ws->pre[n_layers - 1]. Dropout applies
 * when `dropout` is set (needs a training workspace). */
void nn_forward(promo_nn *nn, nn_workspace *ws, const nn_batch *batch, bool dropout);
/* Mean loss of n_rows logits against labels, summed in double. When grad is not NULL it
 * also receives d(mean loss)/d(logit) [n_rows]. */
double nn_loss(const promo_nn *nn, const float *logits, const float *y, size_t n_rows,
               float *grad);
/* Fill nn->grads with the gradient of the mean loss of the last forward pass on a
 * training workspace, whose logit gradient nn_loss left in ws->delta[0]. Every gradient
 * is overwritten. */
void nn_backward(promo_nn *nn, nn_workspace *ws, size_t n_rows, bool dropout);
/* The task's output transform applied to n logits in place. */
void nn_output_transform(promo_task task, float *values, size_t n);

/* ---- optimizers (optim.c) ---- */

/* Learning rate of the next step from the schedule, warm-up and nn->step / nn->epoch. */
double nn_schedule_rate(const promo_nn *nn);
/* Scale nn->grads so their global L2 norm is at most clip_norm; returns true when it
 * clipped. */
bool nn_clip_gradients(promo_nn *nn, double clip_norm);
/* One optimizer update of nn->params from nn->grads at this learning rate; counts the step. */
void nn_optimizer_step(promo_nn *nn, double learning_rate);

/* ---- options, labels and inputs (nn.c) ---- */

/* Check every option that does not depend on the input width. */
promo_status nn_check_options(const promo_nn_options *opt, promo_error *err);

/* Check labels for the task; the message names `what`, the 1-based row and the value. */
promo_status nn_check_labels(const promo_nn *nn, const float *y, size_t n_rows,
                             const char *what, promo_error *err);
/* Check that every embedding column of X holds an index 0 .. n_levels. */
promo_status nn_check_indexes(const promo_nn *nn, const float *X, size_t n_rows,
                              const char *what, promo_error *err);
/* Set OpenBLAS to n threads and return the count it had. */
int nn_blas_threads_set(int n);
/* Threads for a call: ctx->n_threads, or the OpenMP default when it is 0 or ctx NULL. */
int nn_thread_count(const promo_context *ctx);

promo_status nn_error_nomem(promo_error *err);

#endif
