/* Model stage: the neural-network engine (a multilayer perceptron on OpenBLAS with Adam and
 * friends) and the model file, a safetensors container that any safetensors reader can
 * open. Trees and the Transformer come later behind the same kind of interface. */
#ifndef PROMO_MODEL_H
#define PROMO_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promo/core.h"
#include "promo/data.h"
#include "promo/feature.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== network */

/* What the output unit predicts, and so the loss and the output transform. */
typedef enum promo_task {
  PROMO_TASK_BINARY = 0,  /* sigmoid output, binary cross-entropy from logits */
  PROMO_TASK_REGRESSION,  /* identity output, mean squared error */
  PROMO_TASK_POISSON      /* exp output (log link), Poisson negative log-likelihood
                             exp(z) - y z without the log(y!) constant */
} promo_task;

typedef enum promo_activation {
  PROMO_ACT_RELU = 0,
  PROMO_ACT_TANH,
  PROMO_ACT_SIGMOID,
  PROMO_ACT_GELU          /* tanh approximation, as PyTorch's approximate="tanh" */
} promo_activation;

typedef enum promo_optimizer {
  PROMO_OPT_ADAM = 0,     /* PyTorch's Adam: weight decay added to the gradient (L2) */
  PROMO_OPT_ADAMW,        /* decoupled weight decay (Loshchilov and Hutter 2019) */
  PROMO_OPT_SGD           /* with momentum (dampening 0, as PyTorch) */
} promo_optimizer;

/* Learning-rate schedules. Each starts with a linear warm-up from lr / warmup_steps to lr
 * over the first warmup_steps optimizer steps (0 = none). */
typedef enum promo_schedule {
  PROMO_SCHEDULE_CONSTANT = 0,
  PROMO_SCHEDULE_STEP,    /* lr *= step_gamma every step_epochs epochs */
  PROMO_SCHEDULE_COSINE   /* after the warm-up, half a cosine from lr to 0 over the rest of
                             the fit's steps */
} promo_schedule;

/* Weight initialization. Biases and layer-norm shifts start at 0, layer-norm gains at 1 and
 * embedding tables uniform in [-0.05, 0.05]. */
typedef enum promo_init {
  PROMO_INIT_HE = 0,      /* He uniform, bound sqrt(6 / fan_in), for ReLU and GELU hidden
                             layers; Xavier for tanh and sigmoid layers and the output */
  PROMO_INIT_XAVIER       /* Xavier (Glorot) uniform, bound sqrt(6 / (fan_in + fan_out)),
                             everywhere */
} promo_init;

#define PROMO_NN_MAX_HIDDEN 8
#define PROMO_NN_MAX_EMBEDDINGS 16

/* An input column that holds a category index (0 .. n_levels, 0 for unseen) from the
 * feature pipeline's index encoder; it feeds an embedding of `dim` floats instead of being
 * used as a number. The first layer sees the numeric columns in input order, then each
 * embedding's dim values in option order. An index that is not a whole number from 0 to
 * n_levels is PROMO_ERR_DATA wherever rows go in. */
typedef struct promo_nn_embedding {
  size_t input_column;
  size_t n_levels;        /* largest index; the table has n_levels + 1 rows */
  size_t dim;
} promo_nn_embedding;

typedef struct promo_nn_options {
  promo_task task;
  size_t n_hidden;                          /* hidden layers, default 2; 0 gives a linear
                                               model */
  size_t hidden[PROMO_NN_MAX_HIDDEN];       /* units per hidden layer, default 128, 64 */
  promo_activation activation;              /* default ReLU */
  float dropout;                            /* after each hidden activation, default 0 */
  bool layer_norm;                          /* before each hidden activation, default off;
                                               eps 1e-5 as PyTorch */
  size_t n_embeddings;
  promo_nn_embedding embeddings[PROMO_NN_MAX_EMBEDDINGS];
  promo_init init;

  promo_optimizer optimizer;                /* default Adam */
  double learning_rate;                     /* default 0.001 */
  double beta1, beta2, epsilon;             /* Adam: 0.9, 0.999, 1e-7 (Keras) */
  double momentum;                          /* SGD: 0.9 */
  double weight_decay;                      /* L2 for SGD and Adam, decoupled for AdamW;
                                               on weight matrices and embedding tables,
                                               not on biases or layer-norm parameters */
  promo_schedule schedule;
  size_t step_epochs;                       /* default 1 */
  double step_gamma;                        /* default 0.5 */
  size_t warmup_steps;                      /* default 0 */
  double clip_norm;                         /* global gradient-norm clip, 0 = off; scales
                                               by clip_norm / (norm + 1e-6) as PyTorch */

  size_t batch_size;                        /* default 32 */
  size_t epochs;                            /* default 10 */
  double pos_weight;                        /* binary: weight of positive rows, default 1 */
  size_t patience;                          /* early stop after this many epochs without a
                                               better validation loss; 0 = never; needs
                                               validation rows */
  bool restore_best;                        /* keep the weights of the best epoch, default
                                               true; needs validation rows */
  uint64_t seed;                            /* weights, dropout and shuffling, default 42 */
} promo_nn_options;

/* The reference model: Dense(128, ReLU), Dense(64, ReLU), Dense(1) with the task's output,
 * Glorot (Xavier) uniform weights and zero biases as in Keras, Adam at 0.001, batch 32,
 * 10 epochs, binary task. */
void promo_nn_options_init(promo_nn_options *opt);

/* A network: its architecture, parameters and optimizer state. Opaque. */
typedef struct promo_nn promo_nn;

/* Build a network for n_inputs input columns with freshly initialized weights (from
 * opt->seed). PROMO_ERR_USAGE for an invalid option, such as zero units, more than
 * PROMO_NN_MAX_HIDDEN layers, an embedding column out of range or used twice, dropout
 * outside [0, 1) or an unknown enum value. A learning rate, beta, epsilon, batch size,
 * epoch count or pos_weight out of range is PROMO_ERR_USAGE too. PROMO_ERR_NOMEM when out
 * of memory. */
promo_status promo_nn_create(size_t n_inputs, const promo_nn_options *opt, promo_nn **out,
                             promo_error *err);
void promo_nn_free(promo_nn *nn);

/* One epoch of training as the history records it. Loss is the mean per row. */
typedef struct promo_nn_epoch {
  double train_loss;
  double valid_loss;      /* NAN without validation rows */
  double valid_metric;    /* binary: AUC; regression and poisson: RMSE; NAN without rows */
  double rows_per_s;      /* training rows per second of this epoch, validation excluded */
  double learning_rate;   /* of the epoch's last step */
} promo_nn_epoch;

typedef struct promo_nn_history {
  size_t n_epochs;        /* completed epochs */
  promo_nn_epoch *epochs; /* [n_epochs], owned; free with promo_nn_history_clear */
  size_t best_epoch;      /* 0-based epoch with the lowest validation loss; the last epoch
                             without validation rows */
  bool stopped_early;
} promo_nn_history;

void promo_nn_history_clear(promo_nn_history *history);

/* Train on X [n_rows x n_inputs] (row-major float32) and y [n_rows], validating on Xv, yv
 * (may be NULL with n_valid 0) after each epoch. Mini-batches are shuffled with the seed,
 * and the last partial batch is trained too.
 *
 * Each batch is cut into one shard per thread of ctx->n_threads (0: OpenMP's default),
 * but into no shard under 16 rows, and the shards' gradients are summed in a fixed order.
 * The shards run on their own threads (BLAS on one thread each) or one after another,
 * whichever measures faster, and both give the same bits. So the same seed and
 * ctx->n_threads give bit-identical weights. Another thread count changes the order of
 * the sums, and with dropout the masks, so the weights differ slightly. Validation runs
 * in blocks across the threads. OpenBLAS's process-wide thread count is 1 during the call
 * and restored after it.
 *
 * Progress goes to ctx->progress with stage "train" and rows as units. One line per epoch
 * goes to the log at info level ("epoch=3 train_loss=... valid_loss=... valid_auc=...
 * lr=... rows_per_s=..."). With restore_best, the weights of the best validated epoch are
 * put back at the end, also after an error.
 *
 * Errors: PROMO_ERR_USAGE without rows; PROMO_ERR_DATA when an input is NaN or infinite,
 * an embedding index is invalid, y contains values the task cannot take (binary: not 0 or 1;
 * poisson: negative; any task: not finite), or the loss becomes NaN or infinite (the
 * message names the epoch and batch, and that batch's update is not applied);
 * PROMO_ERR_CANCELLED between batches; PROMO_ERR_NOMEM. The history holds the epochs
 * completed before an error. */
promo_status promo_nn_fit(promo_nn *nn, const float *X, const float *y, size_t n_rows,
                          const float *Xv, const float *yv, size_t n_valid,
                          const promo_context *ctx, promo_nn_history *history,
                          promo_error *err);

/* Predict [n_rows] outputs: probabilities (binary), values (regression) or expected counts
 * (poisson). Allocates its own workspace; runs in blocks of 512 rows across
 * ctx->n_threads, with OpenBLAS's process-wide thread count at 1 until it returns. A NaN
 * or infinite input gives a NaN or infinite output for its row; an invalid embedding
 * index is PROMO_ERR_DATA; PROMO_ERR_CANCELLED between blocks. */
promo_status promo_nn_predict(const promo_nn *nn, const float *X, size_t n_rows, float *out,
                              const promo_context *ctx, promo_error *err);

/* ---- access for tests, checkpoints and the model file ---- */

size_t promo_nn_n_inputs(const promo_nn *nn);
const promo_nn_options *promo_nn_get_options(const promo_nn *nn);

/* Every parameter lives in one contiguous float slab; tensors are views into it. */
size_t promo_nn_n_params(const promo_nn *nn);
float *promo_nn_params(promo_nn *nn);

/* Named parameter tensors in a fixed order: "embed<k>.weight" [n_levels + 1 x dim] for
 * each embedding, then for each layer l (the output layer is l = n_hidden)
 * "dense<l>.weight" [out x in], "dense<l>.bias" [out] and, with layer_norm on hidden
 * layers, "norm<l>.weight" and "norm<l>.bias" [out]. Shapes as PyTorch's nn.Linear,
 * nn.LayerNorm and nn.Embedding store them. i out of range gives NULL. */
size_t promo_nn_n_tensors(const promo_nn *nn);
const char *promo_nn_tensor_name(const promo_nn *nn, size_t i);
/* Shape (n_dims 1 or 2; dims[1] is 0 for one dimension) and the offset of the tensor in
 * the parameter slab, in floats. Offsets do not follow the tensor order: weight matrices
 * and embedding tables come first in the slab. */
void promo_nn_tensor_shape(const promo_nn *nn, size_t i, size_t *n_dims, size_t dims[2],
                           size_t *offset);

/* Mean loss over X, y and its gradient with respect to every parameter (grad has
 * promo_nn_n_params floats, all overwritten), in evaluation mode (no dropout), on the
 * calling thread. Parameters and optimizer state stay as they are. For gradient checks
 * and parity tests. */
promo_status promo_nn_loss_grad(promo_nn *nn, const float *X, const float *y, size_t n_rows,
                                double *loss, float *grad, promo_error *err);

/* One optimizer step on one batch on the calling thread, as promo_nn_fit takes it with one
 * thread: dropout in training mode and the schedule's current learning rate. The cosine
 * schedule spans the latest fit and stays at lr before any fit. Returns the batch's mean
 * loss. A NaN or infinite loss is PROMO_ERR_DATA and leaves the parameters unchanged. */
promo_status promo_nn_train_step(promo_nn *nn, const float *X, const float *y, size_t n_rows,
                                 double *loss, promo_error *err);

/* Architecture and training options as JSON, for the model file's metadata: an object
 * with "type": "mlp", "version" and one key per option (enums as lowercase names, the
 * seed as a string above INT64_MAX). from_json starts from promo_nn_options_init, so
 * missing keys keep their defaults. Errors: PROMO_ERR_DATA for an unknown key or a value
 * of the wrong type (err->column_name names the key) and for a value out of range;
 * PROMO_ERR_UNSUPPORTED for a newer version. to_json returns PROMO_ERR_NOMEM when out of
 * memory. */
promo_status promo_nn_options_to_json(const promo_nn_options *opt, json_t **out);
promo_status promo_nn_options_from_json(const json_t *json, promo_nn_options *opt,
                                        promo_error *err);

/* ===================================================================== model file */

/* A model file is the safetensors layout: an 8-byte little-endian header length, a JSON
 * header naming each tensor's dtype, shape and byte range plus a "__metadata__" map of
 * strings, then the raw little-endian tensor bytes. promo's metadata holds "format"
 * (the file format version), "model" (architecture JSON), "pipeline" (the feature
 * pipeline JSON), "training" (settings and metrics JSON) and "checksum" (XXH3-64 of the
 * tensor bytes, hex). */

#define PROMO_MODEL_FORMAT_VERSION 1

/* One float32 tensor to write or that was read. */
typedef struct promo_tensor {
  const char *name;
  size_t n_dims;          /* 1 or 2 */
  size_t dims[2];
  const float *data;      /* [dims[0] (x dims[1])] */
} promo_tensor;

/* Write tensors and metadata to path atomically, tensors in the given order, as
 * little-endian float32 whatever the host's byte order. metadata is NULL or a JSON object
 * whose values are strings. The writer sets "format" (PROMO_MODEL_FORMAT_VERSION) and
 * "checksum", replacing any values given for them, so metadata read from another file can
 * be passed back. PROMO_ERR_USAGE: a tensor without a name, with a name that is not UTF-8,
 * is "__metadata__" or repeats another, with n_dims other than 1 or 2, or with values but
 * NULL data; a non-string metadata value; an output path that is a folder. PROMO_ERR_IO
 * or PROMO_ERR_NOMEM: writing failed, and any existing file is left as it was. */
promo_status promo_model_file_write(const char *path, const promo_tensor *tensors,
                                    size_t n_tensors, const json_t *metadata, promo_error *err);

/* A model file read into memory. */
typedef struct promo_model_file promo_model_file;

/* Read and check a model file. PROMO_ERR_DATA, with a message that names the failed
 * check and what to do, for: an empty or truncated file, a header length over 100 MB,
 * a header that is not a JSON object (err->byte_offset points into it), a repeated key,
 * a missing "__metadata__" or "format" (a safetensors file from another tool), a
 * non-string metadata value, a dtype other than F32, a tensor of 0 or more than 2
 * dimensions, a shape that does not match its byte range, byte ranges that overlap,
 * leave gaps, end past the file or stop before its end, and a checksum mismatch.
 * PROMO_ERR_UNSUPPORTED for a format newer than PROMO_MODEL_FORMAT_VERSION.
 * PROMO_ERR_USAGE for a folder or a path that is not a regular file, PROMO_ERR_IO when
 * the file cannot be opened or read. The path is in err->path.
 * NOTE: the checksum covers the tensor bytes only. A damaged header fails the checks
 * above, but an edit that keeps it valid (a changed metadata string) goes unnoticed. */
promo_status promo_model_file_read(const char *path, promo_model_file **out, promo_error *err);

/* Same over a buffer holding a whole model file; the buffer is copied, so the caller may
 * free it afterwards. `name` labels errors and may be NULL. */
promo_status promo_model_file_read_memory(const void *data, size_t size, const char *name,
                                          promo_model_file **out, promo_error *err);
void promo_model_file_free(promo_model_file *file);

/* The metadata object, "format" and "checksum" included, and the tensors in header order
 * (NULL for i out of range). Names, data and metadata are owned by the file and live until
 * promo_model_file_free. */
const json_t *promo_model_file_metadata(const promo_model_file *file);
size_t promo_model_file_n_tensors(const promo_model_file *file);
const promo_tensor *promo_model_file_tensor(const promo_model_file *file, size_t i);
/* The tensor with this name, or NULL. */
const promo_tensor *promo_model_file_find(const promo_model_file *file, const char *name);

/* ===================================================================== model */

/* A trained model as `promo train` writes it: the network, the fitted feature pipeline
 * that turns a table into the network's inputs, and the training record. */

struct promo_pipeline;

/* Save the network's tensors and the metadata "model" (network options JSON),
 * "pipeline" (pipeline JSON), "training" (training, dumped compact; may be NULL for
 * {}), "n_inputs" and "promo_version" to path atomically. Errors are those of
 * promo_model_file_write; PROMO_ERR_NOMEM when serializing fails. */
promo_status promo_model_save(const char *path, promo_nn *nn,
                              const struct promo_pipeline *pipeline, const json_t *training,
                              promo_error *err);

/* Load a file written by promo_model_save: rebuild the network from "model" and
 * "n_inputs", check that every tensor has the name and shape the network expects, copy
 * the weights, and rebuild the pipeline. On success the caller owns *nn, *pipeline and
 * *training (a new reference; pass NULL for training to skip it). PROMO_ERR_DATA with
 * err->path set names what is wrong: a missing or malformed metadata key, a missing,
 * extra or reshaped tensor, a pipeline whose output count differs from n_inputs; plus the
 * errors of promo_model_file_read. On failure nothing is returned. */
promo_status promo_model_load(const char *path, promo_nn **nn,
                              struct promo_pipeline **pipeline, json_t **training,
                              promo_error *err);

/* ------------------------------------------------------------------ trainer */

/* Training from tables, shared by `promo train`, `promo cv`, `promo optimize` and
 * `promo run`: the pipeline is fitted on the training table only, then the network. */

/* Read column `target` of t as floats into y [t->n_rows]. PROMO_ERR_USAGE when the column
 * is not in the header; PROMO_ERR_DATA naming path, line and column when it does not hold
 * numbers or booleans, or a value is missing or invalid. */
promo_status promo_model_read_target(const promo_table *t, const char *target, const char *path,
                                     float *y, promo_error *err);

/* PROMO_TASK_BINARY when every y is 0 or 1, else PROMO_TASK_REGRESSION. */
promo_task promo_model_infer_task(const float *y, size_t n);

/* "binary", "regression" or "poisson". */
const char *promo_model_task_name(promo_task task);
/* Parse one of those names; false when unknown. */
bool promo_model_task_parse(const char *name, promo_task *out);

typedef struct promo_trainer_options {
  promo_pipeline_options pipeline; /* pipeline.target must name the target column */
  promo_nn_options nn;             /* nn.task must be set (see promo_model_infer_task) */
  bool embeddings;                 /* index-encoded columns feed embeddings (default) */
  bool output_bias_from_mean;      /* start the output bias at the training target's mean
                                      on the task's link scale (default) */
} promo_trainer_options;

/* Defaults of both parts, with embeddings and the mean output bias on. */
void promo_trainer_options_init(promo_trainer_options *opt);

/* The outcome of promo_model_fit_tables; release with promo_trainer_result_clear. */
typedef struct promo_trainer_result {
  promo_pipeline *pipeline;
  promo_nn *nn;
  promo_nn_history history;
  size_t n_features;
} promo_trainer_result;

void promo_trainer_result_clear(promo_trainer_result *result);

/* Fit the pipeline on `train` (with y_train [train->n_rows]), apply it to `valid` (may be
 * NULL or empty; then no validation and no early stopping), add embeddings for index
 * columns when asked and train the network. `path` names the data in messages. The
 * options are not modified: the embeddings are added to a copy, which the network keeps.
 * PROMO_ERR_USAGE when no column becomes a feature; otherwise the errors of the pipeline
 * and of promo_nn_fit. On failure *result is cleared. */
promo_status promo_model_fit_tables(const promo_table *train, const float *y_train,
                                    const promo_table *valid, const float *y_valid,
                                    const char *path, const promo_trainer_options *opt,
                                    promo_context *ctx, promo_trainer_result *result,
                                    promo_error *err);

/* Predict every row of t into out [t->n_rows] with the pipeline and the network (a
 * probability for binary models, the expected value otherwise). The table must have the
 * pipeline's input columns (PROMO_ERR_USAGE naming a missing one). Memory grows with
 * t->n_rows; split very large tables into chunks. */
promo_status promo_model_predict_table(const promo_nn *nn, const struct promo_pipeline *pipeline,
                                       const promo_table *t, const char *path, promo_context *ctx,
                                       float *out, promo_error *err);

#ifdef __cplusplus
}
#endif
#endif
