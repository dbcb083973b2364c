/* The network object for the model stage: options and their checks, the parameter slab
 * layout with its named tensor views, weight initialization, the random generator, and
 * the label and index checks every entry point shares. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "model/nn/nn_internal.h"

/* Embedding tables start uniform in [-EMBED_INIT_BOUND, EMBED_INIT_BOUND], the range of
 * the "uniform" initializer that Keras' Embedding layer uses by default. */
#define EMBED_INIT_BOUND 0.05

/* Random streams drawn from one seed. */
enum { STREAM_INIT = 1, STREAM_DROPOUT = 2, STREAM_SHUFFLE = 3 };

/* ===================================================================== random numbers */

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void nn_rng_seed(nn_rng *rng, uint64_t seed, uint64_t stream) {
  uint64_t state = seed ^ (stream * 0xd1342543de82ef95ULL);
  for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&state);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t nn_rng_next(nn_rng *rng) {
  uint64_t *s = rng->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

uint64_t nn_rng_below(nn_rng *rng, uint64_t n) {
  /* Reject the lowest (2^64 mod n) values so every residue is equally likely. */
  uint64_t threshold = (0 - n) % n;
  for (;;) {
    uint64_t r = nn_rng_next(rng);
    if (r >= threshold) return r % n;
  }
}

double nn_rng_uniform(nn_rng *rng) { return (double)(nn_rng_next(rng) >> 11) * 0x1p-53; }

/* ===================================================================== options */

void promo_nn_options_init(promo_nn_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->task = PROMO_TASK_BINARY;
  opt->n_hidden = 2;
  opt->hidden[0] = 128;
  opt->hidden[1] = 64;
  opt->activation = PROMO_ACT_RELU;
  opt->dropout = 0.0f;
  opt->layer_norm = false;
  opt->n_embeddings = 0;
  /* Glorot (Xavier) uniform with zero biases, as Keras initializes the reference model. On
   * the PyTorch comparison data it gave a test AUC 0.001 to 0.002 closer to PyTorch's than
   * He uniform, whose wider first-layer range trained to a slightly worse optimum. */
  opt->init = PROMO_INIT_XAVIER;
  opt->optimizer = PROMO_OPT_ADAM;
  opt->learning_rate = 0.001;
  opt->beta1 = 0.9;
  opt->beta2 = 0.999;
  opt->epsilon = 1e-7;
  opt->momentum = 0.9;
  opt->weight_decay = 0.0;
  opt->schedule = PROMO_SCHEDULE_CONSTANT;
  opt->step_epochs = 1;
  opt->step_gamma = 0.5;
  opt->warmup_steps = 0;
  opt->clip_norm = 0.0;
  opt->batch_size = 32;
  opt->epochs = 10;
  opt->pos_weight = 1.0;
  opt->patience = 0;
  opt->restore_best = true;
  opt->seed = 42;
}

static promo_status usage(promo_error *err, const char *message) {
  return promo_error_set(err, PROMO_ERR_USAGE, "%s", message);
}

static bool in_unit_interval(double x) { return x >= 0.0 && x < 1.0; }

static promo_status check_architecture(const promo_nn_options *opt, promo_error *err) {
  if ((unsigned)opt->task > PROMO_TASK_POISSON)
    return usage(err, _("network option task must be binary, regression or poisson"));
  if (opt->n_hidden > PROMO_NN_MAX_HIDDEN)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("network has %zu hidden layers; at most %d are supported"),
                           opt->n_hidden, PROMO_NN_MAX_HIDDEN);
  for (size_t l = 0; l < opt->n_hidden; l++) {
    if (opt->hidden[l] == 0 || opt->hidden[l] >= NN_MAX_DIM)
      return promo_error_set(err, PROMO_ERR_USAGE,
                             _("hidden layer %zu has %zu units; use 1 to %zu"), l + 1,
                             opt->hidden[l], NN_MAX_DIM - 1);
  }
  if ((unsigned)opt->activation > PROMO_ACT_GELU)
    return usage(err, _("network option activation must be relu, tanh, sigmoid or gelu"));
  if (!(opt->dropout >= 0.0f && opt->dropout < 1.0f))
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("dropout %g is outside [0, 1); use for example 0.1"),
                           (double)opt->dropout);
  if ((unsigned)opt->init > PROMO_INIT_XAVIER)
    return usage(err, _("network option init must be he or xavier"));
  if (opt->n_embeddings > PROMO_NN_MAX_EMBEDDINGS)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("network has %zu embeddings; at most %d are supported"),
                           opt->n_embeddings, PROMO_NN_MAX_EMBEDDINGS);
  for (size_t k = 0; k < opt->n_embeddings; k++) {
    const promo_nn_embedding *e = &opt->embeddings[k];
    if (e->n_levels == 0 || e->n_levels >= NN_MAX_DIM || e->dim == 0 || e->dim >= NN_MAX_DIM)
      return promo_error_set(err, PROMO_ERR_USAGE,
                             _("embedding %zu has %zu levels and dimension %zu; both must be "
                               "1 to %zu"),
                             k + 1, e->n_levels, e->dim, NN_MAX_DIM - 1);
    for (size_t j = 0; j < k; j++) {
      if (opt->embeddings[j].input_column == e->input_column)
        return promo_error_set(err, PROMO_ERR_USAGE,
                               _("embeddings %zu and %zu both read input column %zu"), j + 1,
                               k + 1, e->input_column);
    }
  }
  return PROMO_OK;
}

static promo_status check_training(const promo_nn_options *opt, promo_error *err) {
  if ((unsigned)opt->optimizer > PROMO_OPT_SGD)
    return usage(err, _("network option optimizer must be adam, adamw or sgd"));
  if (!(opt->learning_rate > 0.0) || !isfinite(opt->learning_rate))
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("learning rate %g must be a positive number such as 0.001"),
                           opt->learning_rate);
  if (!in_unit_interval(opt->beta1) || !in_unit_interval(opt->beta2) ||
      !in_unit_interval(opt->momentum))
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("beta1 %g, beta2 %g and momentum %g must each be in [0, 1)"),
                           opt->beta1, opt->beta2, opt->momentum);
  if (!(opt->epsilon > 0.0) || !isfinite(opt->epsilon))
    return promo_error_set(err, PROMO_ERR_USAGE, _("epsilon %g must be positive"),
                           opt->epsilon);

  if (!(opt->weight_decay >= 0.0) || !isfinite(opt->weight_decay))
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("weight decay %g must be zero or positive"), opt->weight_decay);
  if ((unsigned)opt->schedule > PROMO_SCHEDULE_COSINE)
    return usage(err, _("network option schedule must be constant, step or cosine"));
  if (opt->schedule == PROMO_SCHEDULE_STEP &&
      (opt->step_epochs == 0 || !(opt->step_gamma > 0.0) || !isfinite(opt->step_gamma)))
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("step schedule needs step_epochs >= 1 and step_gamma > 0, got "
                             "%zu and %g"),
                           opt->step_epochs, opt->step_gamma);

  if (!(opt->clip_norm >= 0.0) || !isfinite(opt->clip_norm))
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("clip norm %g must be zero (off) or positive"), opt->clip_norm);
  if (opt->batch_size == 0 || opt->batch_size >= NN_MAX_DIM)
    return promo_error_set(err, PROMO_ERR_USAGE, _("batch size %zu must be 1 to %zu"),
                           opt->batch_size, NN_MAX_DIM - 1);
  if (opt->epochs == 0)
    return usage(err, _("epochs must be at least 1"));
  if (!(opt->pos_weight > 0.0) || !isfinite(opt->pos_weight))
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("positive-class weight %g must be positive"), opt->pos_weight);
  return PROMO_OK;
}

promo_status nn_check_options(const promo_nn_options *opt, promo_error *err) {
  promo_status st = check_architecture(opt, err);
  return st != PROMO_OK ? st : check_training(opt, err);
}

/* ===================================================================== layout */

static void add_tensor(promo_nn *nn, const char *name, size_t rows, size_t cols,
                       size_t offset) {
  nn_tensor *t = &nn->tensors[nn->n_tensors++];
  snprintf(t->name, sizeof t->name, "%s", name);
  t->n_dims = cols == 0 ? 1 : 2;
  t->dims[0] = rows;
  t->dims[1] = cols;
  t->offset = offset;
}

/* Offsets of every tensor: weight matrices and embedding tables first (weight decay
 * applies to them), then biases and layer-norm parameters. Returns false when the
 * parameter count would overflow. */
static bool lay_out_parameters(promo_nn *nn) {
  const promo_nn_options *opt = &nn->opt;
  size_t offset = 0;
  size_t limit = SIZE_MAX / (4 * sizeof(float));

  for (size_t k = 0; k < opt->n_embeddings; k++) {
    nn_embedding *e = &nn->embeddings[k];
    e->weight = offset;
    offset += (e->n_levels + 1) * e->dim;
    if (offset > limit) return false;
  }
  for (size_t l = 0; l < nn->n_layers; l++) {
    nn->layers[l].weight = offset;
    offset += nn->layers[l].n_in * nn->layers[l].n_out;
    if (offset > limit) return false;
  }
  nn->n_decayed = offset;
  for (size_t l = 0; l < nn->n_layers; l++) {
    nn_layer *layer = &nn->layers[l];
    layer->bias = offset;
    offset += layer->n_out;
    layer->gain = layer->shift = NN_NO_OFFSET;
    if (opt->layer_norm && l + 1 < nn->n_layers) {
      layer->gain = offset;
      layer->shift = offset + layer->n_out;
      offset += 2 * layer->n_out;
    }
  }
  nn->n_params = offset;

  char name[48];
  for (size_t k = 0; k < opt->n_embeddings; k++) {
    snprintf(name, sizeof name, "embed%zu.weight", k);
    add_tensor(nn, name, nn->embeddings[k].n_levels + 1, nn->embeddings[k].dim,
               nn->embeddings[k].weight);
  }
  for (size_t l = 0; l < nn->n_layers; l++) {
    const nn_layer *layer = &nn->layers[l];
    snprintf(name, sizeof name, "dense%zu.weight", l);
    add_tensor(nn, name, layer->n_out, layer->n_in, layer->weight);
    snprintf(name, sizeof name, "dense%zu.bias", l);
    add_tensor(nn, name, layer->n_out, 0, layer->bias);
    if (layer->gain != NN_NO_OFFSET) {
      snprintf(name, sizeof name, "norm%zu.weight", l);
      add_tensor(nn, name, layer->n_out, 0, layer->gain);
      snprintf(name, sizeof name, "norm%zu.bias", l);
      add_tensor(nn, name, layer->n_out, 0, layer->shift);
    }
  }
  return true;
}

/* Layer widths and the layer-0 input layout: numeric columns in input order, then each
 * embedding's dim floats in option order. */
static promo_status lay_out_layers(promo_nn *nn, promo_error *err) {
  const promo_nn_options *opt = &nn->opt;
  size_t embed_width = 0;
  for (size_t k = 0; k < opt->n_embeddings; k++) {
    if (opt->embeddings[k].input_column >= nn->n_inputs)
      return promo_error_set(err, PROMO_ERR_USAGE,
                             _("embedding %zu reads input column %zu, but the input has %zu "
                               "columns (numbered from 0)"),
                             k + 1, opt->embeddings[k].input_column, nn->n_inputs);
    embed_width += opt->embeddings[k].dim;
  }
  nn->n_numeric = nn->n_inputs - opt->n_embeddings;
  nn->d_input = nn->n_numeric + embed_width;
  if (nn->d_input >= NN_MAX_DIM)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("the network input is %zu values wide; at most %zu are supported"),
                           nn->d_input, NN_MAX_DIM - 1);

  size_t offset = nn->n_numeric;
  for (size_t k = 0; k < opt->n_embeddings; k++) {
    nn_embedding *e = &nn->embeddings[k];
    e->column = opt->embeddings[k].input_column;
    e->n_levels = opt->embeddings[k].n_levels;
    e->dim = opt->embeddings[k].dim;
    e->input_offset = offset;
    offset += e->dim;
  }

  nn->n_layers = opt->n_hidden + 1;
  size_t width = nn->d_input;
  nn->max_width = width;
  for (size_t l = 0; l < nn->n_layers; l++) {
    nn->layers[l].n_in = width;
    nn->layers[l].n_out = l < opt->n_hidden ? opt->hidden[l] : 1;
    width = nn->layers[l].n_out;
    if (width > nn->max_width) nn->max_width = width;
  }
  return PROMO_OK;
}

static promo_status list_numeric_columns(promo_nn *nn) {
  nn->numeric_columns = malloc((nn->n_numeric > 0 ? nn->n_numeric : 1) * sizeof(size_t));
  if (nn->numeric_columns == NULL) return PROMO_ERR_NOMEM;
  size_t n = 0;
  for (size_t c = 0; c < nn->n_inputs; c++) {
    bool is_index = false;
    for (size_t k = 0; k < nn->opt.n_embeddings; k++)
      is_index = is_index || nn->opt.embeddings[k].input_column == c;
    if (!is_index) nn->numeric_columns[n++] = c;
  }
  return PROMO_OK;
}

/* ===================================================================== initialization */

static void fill_uniform(float *w, size_t n, double bound, nn_rng *rng) {
  for (size_t i = 0; i < n; i++) w[i] = (float)((2.0 * nn_rng_uniform(rng) - 1.0) * bound);
}

/* He uniform: U(-sqrt(6 / fan_in), +sqrt(6 / fan_in)) (He et al. 2015), for ReLU and GELU
 * hidden layers under PROMO_INIT_HE. Xavier uniform: U(-sqrt(6 / (fan_in + fan_out)), ...)
 * (Glorot and Bengio 2010), for the output layer, tanh and sigmoid layers, and every
 * layer under PROMO_INIT_XAVIER. Biases and layer-norm shifts start at 0, gains at 1. */
static void initialize_parameters(promo_nn *nn) {
  nn_rng rng;
  nn_rng_seed(&rng, nn->opt.seed, STREAM_INIT);
  memset(nn->params, 0, nn->n_params * sizeof(float));

  for (size_t k = 0; k < nn->opt.n_embeddings; k++) {
    const nn_embedding *e = &nn->embeddings[k];
    fill_uniform(nn->params + e->weight, (e->n_levels + 1) * e->dim, EMBED_INIT_BOUND, &rng);
  }
  bool relu_like = nn->opt.activation == PROMO_ACT_RELU || nn->opt.activation == PROMO_ACT_GELU;
  for (size_t l = 0; l < nn->n_layers; l++) {
    const nn_layer *layer = &nn->layers[l];
    bool is_hidden = l + 1 < nn->n_layers;
    double fan_in = (double)layer->n_in, fan_out = (double)layer->n_out;
    double bound = is_hidden && relu_like && nn->opt.init == PROMO_INIT_HE
                       ? sqrt(6.0 / fan_in)
                       : sqrt(6.0 / (fan_in + fan_out));
    fill_uniform(nn->params + layer->weight, layer->n_in * layer->n_out, bound, &rng);
    if (layer->gain != NN_NO_OFFSET) {
      for (size_t j = 0; j < layer->n_out; j++) nn->params[layer->gain + j] = 1.0f;
    }
  }
}

/* ===================================================================== create and free */

promo_status nn_error_nomem(promo_error *err) {
  return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
}

static float *alloc_slab(size_t n) {
  return aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64);
}

promo_status promo_nn_create(size_t n_inputs, const promo_nn_options *opt, promo_nn **out,
                             promo_error *err) {
  *out = NULL;
  promo_status st = nn_check_options(opt, err);
  if (st != PROMO_OK) return st;
  if (n_inputs == 0 || n_inputs >= NN_MAX_DIM)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("the network needs 1 to %zu input columns, got %zu"),
                           NN_MAX_DIM - 1, n_inputs);

  promo_nn *nn = calloc(1, sizeof *nn);
  if (nn == NULL) return nn_error_nomem(err);
  nn->opt = *opt;
  nn->n_inputs = n_inputs;
  st = lay_out_layers(nn, err);
  if (st != PROMO_OK) goto fail;
  if (!lay_out_parameters(nn)) {
    st = promo_error_set(err, PROMO_ERR_USAGE, "%s",
                         _("the network has too many parameters to allocate"));
    goto fail;
  }
  if (list_numeric_columns(nn) != PROMO_OK) goto nomem;
  nn->params = alloc_slab(nn->n_params);
  nn->grads = alloc_slab(nn->n_params);
  nn->moment1 = alloc_slab(nn->n_params);
  nn->moment2 = alloc_slab(nn->n_params);
  if (!nn->params || !nn->grads || !nn->moment1 || !nn->moment2) goto nomem;
  memset(nn->grads, 0, nn->n_params * sizeof(float));
  memset(nn->moment1, 0, nn->n_params * sizeof(float));
  memset(nn->moment2, 0, nn->n_params * sizeof(float));

  initialize_parameters(nn);
  nn_rng_seed(&nn->dropout_rng, opt->seed, STREAM_DROPOUT);
  nn_rng_seed(&nn->shuffle_rng, opt->seed, STREAM_SHUFFLE);
  nn->learning_rate = opt->learning_rate;
  *out = nn;
  return PROMO_OK;

nomem:
  st = nn_error_nomem(err);
fail:
  promo_nn_free(nn);
  return st;
}

void promo_nn_free(promo_nn *nn) {
  if (nn == NULL) return;
  nn_workspace_clear(&nn->train_ws);
  free(nn->numeric_columns);
  free(nn->params);
  free(nn->grads);
  free(nn->moment1);
  free(nn->moment2);
  free(nn);
}

/* ===================================================================== accessors */

size_t promo_nn_n_inputs(const promo_nn *nn) { return nn->n_inputs; }
const promo_nn_options *promo_nn_get_options(const promo_nn *nn) { return &nn->opt; }
size_t promo_nn_n_params(const promo_nn *nn) { return nn->n_params; }
float *promo_nn_params(promo_nn *nn) { return nn->params; }
size_t promo_nn_n_tensors(const promo_nn *nn) { return nn->n_tensors; }

const char *promo_nn_tensor_name(const promo_nn *nn, size_t i) {
  return i < nn->n_tensors ? nn->tensors[i].name : NULL;
}

void promo_nn_tensor_shape(const promo_nn *nn, size_t i, size_t *n_dims, size_t dims[2],
                           size_t *offset) {
  const nn_tensor *t = &nn->tensors[i];
  *n_dims = t->n_dims;
  dims[0] = t->dims[0];
  dims[1] = t->n_dims == 2 ? t->dims[1] : 0;
  *offset = t->offset;
}

/* ===================================================================== shared checks */

promo_status nn_check_labels(const promo_nn *nn, const float *y, size_t n_rows,
                             const char *what, promo_error *err) {
  for (size_t i = 0; i < n_rows; i++) {
    float v = y[i];
    switch (nn->opt.task) {
    case PROMO_TASK_BINARY:
      if (v == 0.0f || v == 1.0f) continue;
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("%s label at row %zu is %g; a binary target must be 0 or 1"),
                             what, i + 1, (double)v);
    case PROMO_TASK_POISSON:
      if (v >= 0.0f && isfinite(v)) continue;
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("%s label at row %zu is %g; a count target must be a finite "
                               "number >= 0"),
                             what, i + 1, (double)v);
    case PROMO_TASK_REGRESSION:
      if (isfinite(v)) continue;
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("%s label at row %zu is %g; a regression target must be "
                               "finite"),
                             what, i + 1, (double)v);
    }
  }
  return PROMO_OK;
}

promo_status nn_check_indexes(const promo_nn *nn, const float *X, size_t n_rows,
                              const char *what, promo_error *err) {
  for (size_t k = 0; k < nn->opt.n_embeddings; k++) {
    const nn_embedding *e = &nn->embeddings[k];
    for (size_t i = 0; i < n_rows; i++) {
      float v = X[i * nn->n_inputs + e->column];
      if (v >= 0.0f && v <= (float)e->n_levels && v == floorf(v)) continue;
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("%s row %zu, column %zu holds %g, but embedding %zu takes whole "
                               "numbers 0 to %zu; encode the column with the index encoder "
                               "fitted for this model"),
                             what, i + 1, e->column, (double)v, k + 1, e->n_levels);
    }
  }
  return PROMO_OK;
}

int nn_blas_threads_set(int n) {
  int before = openblas_get_num_threads();
  if (n != before) openblas_set_num_threads(n);
  return before;
}

int nn_thread_count(const promo_context *ctx) {
  if (ctx != NULL && ctx->n_threads > 0) return ctx->n_threads;
  return omp_get_max_threads();
}
