/* Forward and backward passes of the network for the model stage: dense layers through
 * SGEMM with bias and activation fused into one pass over the output, layer
 * normalization, inverted dropout, embedding lookups, and the three losses. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/nn/nn_internal.h"

/* PyTorch's nn.LayerNorm default. */
#define LAYER_NORM_EPS 1e-5
/* sqrt(2 / pi) and the cubic coefficient of the tanh approximation of GELU
 * (Hendrycks and Gimpel 2016). */
#define GELU_SCALE 0.7978845608028654f
#define GELU_CUBIC 0.044715f

/* Buffers start on 64-byte boundaries: 16 floats. */
#define ALIGN_FLOATS 16

/* ===================================================================== workspace */

static size_t round_up(size_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

/* Lay out (base != NULL) or measure (base == NULL) the buffers; returns the float count. */
static size_t place_buffers(nn_workspace *ws, const promo_nn *nn, float *base) {
  size_t rows = ws->max_rows, used = 0;
  bool dropout = ws->training && nn->opt.dropout > 0.0f;
#define PLACE(ptr, n)                                  \
  do {                                                 \
    if (base != NULL) (ptr) = base + used;             \
    used += round_up(n);                               \
  } while (0)

  PLACE(ws->input, rows * nn->d_input);
  PLACE(ws->y, rows);
  for (size_t l = 0; l < nn->n_layers; l++) {
    const nn_layer *layer = &nn->layers[l];
    size_t n = rows * layer->n_out;
    PLACE(ws->pre[l], n);
    if (l + 1 == nn->n_layers) break;
    PLACE(ws->act[l], n);
    if (dropout) {
      PLACE(ws->out[l], n);
      PLACE(ws->mask[l], n);
    } else if (base != NULL) {
      ws->out[l] = ws->act[l];
    }
    if (layer->gain != NN_NO_OFFSET) {
      PLACE(ws->mean[l], rows);
      PLACE(ws->rstd[l], rows);
    }
  }
  if (ws->training) {
    PLACE(ws->delta[0], rows * nn->max_width);
    PLACE(ws->delta[1], rows * nn->max_width);
  }
  /* uint32 indexes take no more room than floats. */
  float *index = NULL;
  PLACE(index, rows * nn->opt.n_embeddings);
  if (base != NULL) ws->index = (uint32_t *)(void *)index;
#undef PLACE
  return used;
}

promo_status nn_workspace_init(nn_workspace *ws, const promo_nn *nn, size_t max_rows,
                               bool training) {
  memset(ws, 0, sizeof *ws);
  ws->max_rows = max_rows;
  ws->training = training;
  size_t n_floats = place_buffers(ws, nn, NULL);
  if (n_floats > SIZE_MAX / sizeof(float)) return PROMO_ERR_NOMEM;
  float *base = aligned_alloc(64, n_floats * sizeof(float));
  if (base == NULL) {
    ws->max_rows = 0;
    return PROMO_ERR_NOMEM;
  }
  place_buffers(ws, nn, base);
  ws->block = base;
  return PROMO_OK;
}

void nn_workspace_clear(nn_workspace *ws) {
  free(ws->block);
  memset(ws, 0, sizeof *ws);
}

promo_status nn_workspace_reserve(nn_workspace *ws, const promo_nn *nn, size_t n_rows) {
  if (ws->block != NULL && ws->max_rows >= n_rows && ws->training) return PROMO_OK;
  nn_workspace_clear(ws);
  return nn_workspace_init(ws, nn, n_rows, true);
}

/* ===================================================================== matrix products */

/* C [m x n] = op(A) op(B) + beta C, row-major; the one place the network calls BLAS.
 * Dimensions stay below NN_MAX_DIM, so the int casts are exact. */
static void gemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, const float *A,
                 size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, 1.0f, A, (int)lda,
              B, (int)ldb, beta, C, (int)ldc);
}

/* ===================================================================== activations */

static inline float sigmoidf(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  float e = expf(x);
  return e / (1.0f + e);
}

static inline float geluf(float x) {
  float t = tanhf(GELU_SCALE * (x + GELU_CUBIC * x * x * x));
  return 0.5f * x * (1.0f + t);
}

static inline float gelu_derivative(float x) {
  float t = tanhf(GELU_SCALE * (x + GELU_CUBIC * x * x * x));
  float dt = GELU_SCALE * (1.0f + 3.0f * GELU_CUBIC * x * x);
  return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * dt;
}

/* act = f(pre + bias) over [n_rows x n]. ReLU leaves pre as the GEMM wrote it (its
 * backward reads act); the other activations store pre + bias back for their backward.
 * ReLU keeps NaN (NaN < 0 is false) so a diverged weight reaches the loss check. */
static void bias_activation(promo_activation f, float *restrict pre, float *restrict act,
                            const float *restrict bias, size_t n_rows, size_t n) {
  for (size_t r = 0; r < n_rows; r++) {
    float *restrict z = pre + r * n;
    float *restrict h = act + r * n;
    switch (f) {
    case PROMO_ACT_RELU:
      for (size_t j = 0; j < n; j++) {
        float v = z[j] + bias[j];
        h[j] = v < 0.0f ? 0.0f : v;
      }
      break;
    case PROMO_ACT_TANH:
      for (size_t j = 0; j < n; j++) {
        z[j] += bias[j];
        h[j] = tanhf(z[j]);
      }
      break;
    case PROMO_ACT_SIGMOID:
      for (size_t j = 0; j < n; j++) {
        z[j] += bias[j];
        h[j] = sigmoidf(z[j]);
      }
      break;
    case PROMO_ACT_GELU:
      for (size_t j = 0; j < n; j++) {
        z[j] += bias[j];
        h[j] = geluf(z[j]);
      }
      break;
    }
  }
}

/* h = f(h) in place over n values (the layer-norm path, where h is gain * x-hat + shift). */
static void activate_in_place(promo_activation f, float *h, size_t n) {
  for (size_t j = 0; j < n; j++) {
    float v = h[j];
    switch (f) {
    case PROMO_ACT_RELU: h[j] = v < 0.0f ? 0.0f : v; break;
    case PROMO_ACT_TANH: h[j] = tanhf(v); break;
    case PROMO_ACT_SIGMOID: h[j] = sigmoidf(v); break;
    case PROMO_ACT_GELU: h[j] = geluf(v); break;
    }
  }
}

/* d[j] *= f'(input) for one row, from the activation output h or, for GELU, its input u. */
static void activation_backward(promo_activation f, float *restrict d, const float *restrict h,
                                const float *restrict u, size_t n) {
  switch (f) {
  case PROMO_ACT_RELU:
    for (size_t j = 0; j < n; j++) d[j] = h[j] > 0.0f ? d[j] : 0.0f;
    break;
  case PROMO_ACT_TANH:
    for (size_t j = 0; j < n; j++) d[j] *= 1.0f - h[j] * h[j];
    break;
  case PROMO_ACT_SIGMOID:
    for (size_t j = 0; j < n; j++) d[j] *= h[j] * (1.0f - h[j]);
    break;
  case PROMO_ACT_GELU:
    for (size_t j = 0; j < n; j++) d[j] *= gelu_derivative(u[j]);
    break;
  }
}

/* ===================================================================== layer norm */

/* Normalize each row of z [n_rows x n] in place to x-hat = (z + bias - mean) * rstd
 * (Ba, Kiros and Hinton 2016; biased variance as PyTorch), then h = gain * x-hat + shift. */
static void layer_norm_forward(float *restrict z, float *restrict h, const float *restrict bias,
                               const float *restrict gain, const float *restrict shift,
                               float *restrict mean, float *restrict rstd, size_t n_rows,
                               size_t n) {
  for (size_t r = 0; r < n_rows; r++) {
    float *restrict x = z + r * n;
    double sum = 0.0;
    for (size_t j = 0; j < n; j++) {
      x[j] += bias[j];
      sum += x[j];
    }
    double mu = sum / (double)n, var = 0.0;
    for (size_t j = 0; j < n; j++) var += ((double)x[j] - mu) * ((double)x[j] - mu);
    float m = (float)mu, s = (float)(1.0 / sqrt(var / (double)n + LAYER_NORM_EPS));
    mean[r] = m;
    rstd[r] = s;
    float *restrict out = h + r * n;
    for (size_t j = 0; j < n; j++) {
      x[j] = (x[j] - m) * s;
      out[j] = x[j] * gain[j] + shift[j];
    }
  }
}

/* One row of the layer-norm backward: du (the gradient at gain * x-hat + shift) becomes
 * the gradient at the pre-norm input, and the gain and shift gradients accumulate. */
static void layer_norm_backward(float *restrict d, const float *restrict xhat, float rstd,
                                const float *restrict gain, float *restrict dgain,
                                float *restrict dshift, size_t n) {
  double sum_dx = 0.0, sum_dx_xhat = 0.0;
  for (size_t j = 0; j < n; j++) {
    dgain[j] += d[j] * xhat[j];
    dshift[j] += d[j];
    d[j] *= gain[j];
    sum_dx += d[j];
    sum_dx_xhat += (double)d[j] * xhat[j];
  }
  float mean_dx = (float)(sum_dx / (double)n), mean_dx_xhat = (float)(sum_dx_xhat / (double)n);
  for (size_t j = 0; j < n; j++) d[j] = rstd * (d[j] - mean_dx - xhat[j] * mean_dx_xhat);
}

/* ===================================================================== forward */

/* Assemble the layer-0 input of the batch: numeric columns, then embedding rows. Sets
 * ws->x0, ws->ld0 and ws->labels. Contiguous rows without embeddings are read in place. */
static void assemble_input(const promo_nn *nn, nn_workspace *ws, const nn_batch *b) {
  size_t n_in = nn->n_inputs, n_embed = nn->opt.n_embeddings;
  if (n_embed == 0 && b->rows == NULL) {
    ws->x0 = b->X + b->first * n_in;
    ws->ld0 = n_in;
    ws->labels = b->y != NULL ? b->y + b->first : NULL;
    return;
  }

  for (size_t i = 0; i < b->n_rows; i++) {
    size_t row = b->rows != NULL ? b->rows[i] : b->first + i;
    const float *src = b->X + row * n_in;
    float *dst = ws->input + i * nn->d_input;
    if (b->y != NULL) ws->y[i] = b->y[row];
    if (n_embed == 0) {
      memcpy(dst, src, n_in * sizeof(float));
      continue;
    }
    for (size_t c = 0; c < nn->n_numeric; c++) dst[c] = src[nn->numeric_columns[c]];
    for (size_t k = 0; k < n_embed; k++) {
      const nn_embedding *e = &nn->embeddings[k];
      /* Callers checked the index range, so the cast is exact. */
      uint32_t level = (uint32_t)src[e->column];
      ws->index[i * n_embed + k] = level;
      memcpy(dst + e->input_offset, nn->params + e->weight + (size_t)level * e->dim,
             e->dim * sizeof(float));
    }
  }
  ws->x0 = ws->input;
  ws->ld0 = nn->d_input;
  ws->labels = b->y != NULL ? ws->y : NULL;
}

/* Inverted dropout (Srivastava et al. 2014): keep each unit with probability 1 - p and
 * scale kept units by 1 / (1 - p), so inference needs no rescaling. */
static void dropout_forward(nn_rng *rng, float p, float *restrict mask, const float *restrict h,
                            float *restrict out, size_t n) {
  uint64_t threshold = (uint64_t)((double)p * 4294967296.0);
  float scale = 1.0f / (1.0f - p);
  for (size_t j = 0; j < n; j += 2) {
    uint64_t r = nn_rng_next(rng);
    mask[j] = (r & 0xffffffffu) >= threshold ? scale : 0.0f;
    if (j + 1 < n) mask[j + 1] = (r >> 32) >= threshold ? scale : 0.0f;
  }
  for (size_t j = 0; j < n; j++) out[j] = h[j] * mask[j];
}

void nn_forward(const promo_nn *nn, nn_workspace *ws, const nn_batch *batch,
                nn_rng *dropout_rng) {
  size_t n_rows = batch->n_rows;
  assemble_input(nn, ws, batch);
  const float *x = ws->x0;
  size_t ldx = ws->ld0;
  const float *p = nn->params;

  for (size_t l = 0; l < nn->n_layers; l++) {
    const nn_layer *layer = &nn->layers[l];
    size_t n = layer->n_out;
    gemm(false, true, n_rows, n, layer->n_in, x, ldx, p + layer->weight, layer->n_in, 0.0f,
         ws->pre[l], n);
    if (l + 1 == nn->n_layers) {
      for (size_t r = 0; r < n_rows; r++) ws->pre[l][r] += p[layer->bias];
      break;
    }

    if (layer->gain != NN_NO_OFFSET) {
      layer_norm_forward(ws->pre[l], ws->act[l], p + layer->bias, p + layer->gain,
                         p + layer->shift, ws->mean[l], ws->rstd[l], n_rows, n);
      activate_in_place(nn->opt.activation, ws->act[l], n_rows * n);
    } else {
      bias_activation(nn->opt.activation, ws->pre[l], ws->act[l], p + layer->bias, n_rows, n);
    }
    if (ws->out[l] != ws->act[l]) {
      if (dropout_rng != NULL) {
        dropout_forward(dropout_rng, nn->opt.dropout, ws->mask[l], ws->act[l], ws->out[l],
                        n_rows * n);
      } else {
        memcpy(ws->out[l], ws->act[l], n_rows * n * sizeof(float));
      }
    }
    x = ws->out[l];
    ldx = n;
  }
}

void nn_output_transform(promo_task task, float *values, size_t n) {
  switch (task) {
  case PROMO_TASK_BINARY:
    for (size_t i = 0; i < n; i++) values[i] = sigmoidf(values[i]);
    break;
  case PROMO_TASK_REGRESSION:
    break;
  case PROMO_TASK_POISSON:
    for (size_t i = 0; i < n; i++) values[i] = expf(values[i]);
    break;
  }
}

/* ===================================================================== losses */

/* log(1 + exp(x)) without overflow. */
static inline float softplusf(float x) {
  return (x > 0.0f ? x : 0.0f) + log1pf(expf(-fabsf(x)));
}

double nn_loss_sum(const promo_nn *nn, const float *logits, const float *y, size_t n_rows,
                   float grad_scale, float *grad) {
  double sum = 0.0;
  float pos_weight = (float)nn->opt.pos_weight;

  for (size_t i = 0; i < n_rows; i++) {
    float z = logits[i], t = y[i], loss = 0.0f, g = 0.0f;
    switch (nn->opt.task) {
    case PROMO_TASK_BINARY:
      /* pos_weight * t * softplus(-z) + (1 - t) * softplus(z), which for pos_weight 1 is
       * max(z, 0) - z t + log1p(exp(-|z|)); the same as PyTorch's BCEWithLogitsLoss. */
      loss = pos_weight * t * softplusf(-z) + (1.0f - t) * softplusf(z);
      g = sigmoidf(z) * (pos_weight * t + 1.0f - t) - pos_weight * t;
      break;
    case PROMO_TASK_REGRESSION:
      loss = (z - t) * (z - t);
      g = 2.0f * (z - t);
      break;
    case PROMO_TASK_POISSON:
      /* Negative log-likelihood with log link, dropping the log(t!) constant, as
       * PyTorch's PoissonNLLLoss(log_input=True, full=False). */
      loss = expf(z) - t * z;
      g = expf(z) - t;
      break;
    }
    sum += loss;
    if (grad != NULL) grad[i] = g * grad_scale;
  }
  return sum;
}

/* ===================================================================== backward */

/* Turn d (the gradient at hidden layer l's output, [n_rows x n_out]) into the gradient at
 * its pre-activation GEMM output, accumulating the bias, gain and shift gradients. */
static void hidden_backward(const promo_nn *nn, nn_workspace *ws, float *grads, size_t l,
                            float *d, size_t n_rows, bool dropout) {
  const nn_layer *layer = &nn->layers[l];
  size_t n = layer->n_out;
  const float *p = nn->params;
  float *dbias = grads + layer->bias;
  bool has_norm = layer->gain != NN_NO_OFFSET;
  promo_activation f = nn->opt.activation;

  for (size_t r = 0; r < n_rows; r++) {
    float *restrict dr = d + r * n;
    const float *h = ws->act[l] + r * n;
    const float *pre = ws->pre[l] + r * n;
    if (dropout) {
      const float *m = ws->mask[l] + r * n;
      for (size_t j = 0; j < n; j++) dr[j] *= m[j];
    }
    if (has_norm && f == PROMO_ACT_GELU) {
      /* GELU needs its input gain * x-hat + shift, rebuilt here into the layer's own
       * output row, which the backward no longer reads. */
      float *u = ws->out[l] + r * n;
      for (size_t j = 0; j < n; j++) u[j] = pre[j] * p[layer->gain + j] + p[layer->shift + j];
      activation_backward(f, dr, h, u, n);
    } else {
      activation_backward(f, dr, h, pre, n);
    }
    if (has_norm)
      layer_norm_backward(dr, pre, ws->rstd[l][r], p + layer->gain, grads + layer->gain,
                          grads + layer->shift, n);
    for (size_t j = 0; j < n; j++) dbias[j] += dr[j];
  }
}

/* Add the gradient at the embedding part of the layer-0 input, d [n_rows x embed_width],
 * to the rows of the tables that the batch looked up. */
static void embedding_backward(const promo_nn *nn, const nn_workspace *ws, float *grads,
                               const float *d, size_t n_rows) {
  size_t n_embed = nn->opt.n_embeddings, width = nn->d_input - nn->n_numeric;
  for (size_t i = 0; i < n_rows; i++) {
    for (size_t k = 0; k < n_embed; k++) {
      const nn_embedding *e = &nn->embeddings[k];
      float *g = grads + e->weight + (size_t)ws->index[i * n_embed + k] * e->dim;
      const float *src = d + i * width + (e->input_offset - nn->n_numeric);
      for (size_t j = 0; j < e->dim; j++) g[j] += src[j];
    }
  }
}

void nn_backward(const promo_nn *nn, nn_workspace *ws, float *grads, size_t n_rows,
                 bool dropout) {
  /* Biases, gains, shifts and embedding tables accumulate over rows; dense weights are
   * overwritten by their GEMM. */
  memset(grads + nn->n_decayed, 0, (nn->n_params - nn->n_decayed) * sizeof(float));
  if (nn->opt.n_embeddings > 0) memset(grads, 0, nn->layers[0].weight * sizeof(float));

  float *d = ws->delta[0], *d_next = ws->delta[1];
  const float *p = nn->params;
  for (size_t l = nn->n_layers; l-- > 0;) {
    const nn_layer *layer = &nn->layers[l];
    size_t n = layer->n_out;
    if (l + 1 == nn->n_layers) {
      for (size_t r = 0; r < n_rows; r++) grads[layer->bias] += d[r];
    } else {
      hidden_backward(nn, ws, grads, l, d, n_rows, dropout);
    }

    const float *x = l > 0 ? ws->out[l - 1] : ws->x0;
    size_t ldx = l > 0 ? layer->n_in : ws->ld0;
    gemm(true, false, n, layer->n_in, n_rows, d, n, x, ldx, 0.0f, grads + layer->weight,
         layer->n_in);

    if (l > 0) {
      gemm(false, false, n_rows, layer->n_in, n, d, n, p + layer->weight, layer->n_in, 0.0f,
           d_next, layer->n_in);
    } else if (nn->opt.n_embeddings > 0) {
      size_t width = nn->d_input - nn->n_numeric;
      gemm(false, false, n_rows, width, n, d, n, p + layer->weight + nn->n_numeric,
           layer->n_in, 0.0f, d_next, width);
      embedding_backward(nn, ws, grads, d_next, n_rows);
    }
    float *t = d;
    d = d_next;
    d_next = t;
  }
}
