/* Optimizers for the model stage's network: Adam, AdamW and SGD with momentum as one loop
 * over the parameter slab, learning-rate schedules with warm-up, and global gradient-norm
 * clipping. */
#include <math.h>

#include "model/nn/nn_internal.h"

/* M_PI is outside strict C11. */
#define PI 3.14159265358979323846

double nn_schedule_rate(const promo_nn *nn) {
  const promo_nn_options *opt = &nn->opt;
  double rate = opt->learning_rate;
  if (opt->warmup_steps > 0 && nn->step < opt->warmup_steps)
    return rate * (double)(nn->step + 1) / (double)opt->warmup_steps;

  switch (opt->schedule) {
  case PROMO_SCHEDULE_CONSTANT:
    break;
  case PROMO_SCHEDULE_STEP:
    rate *= pow(opt->step_gamma, (double)(nn->epoch / opt->step_epochs));
    break;
  case PROMO_SCHEDULE_COSINE:
    /* Half a cosine from the base rate to 0 over the steps after warm-up (Loshchilov and
     * Hutter 2017, without restarts). Outside fit the length is unknown: the rate stays. */
    if (nn->total_steps > opt->warmup_steps) {
      double span = (double)(nn->total_steps - opt->warmup_steps);
      double done = (double)(nn->step - opt->warmup_steps);
      if (done > span) done = span;
      rate *= 0.5 * (1.0 + cos(PI * done / span));
    }
    break;
  }
  return rate;
}

double nn_sum_squares(const float *grads, size_t begin, size_t end) {
  double sum = 0.0;
  for (size_t i = begin; i < end; i++) sum += (double)grads[i] * grads[i];
  return sum;
}

float nn_clip_scale(double norm, double clip_norm) {
  return norm > clip_norm ? (float)(clip_norm / (norm + 1e-6)) : 1.0f;
}

/* Adam (Kingma and Ba 2015) in PyTorch's arrangement of the bias corrections:
 * p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps). decay is the L2 term added to the
 * gradient (Adam) and shrink the decoupled factor 1 - lr * wd (AdamW); either may be 0.
 * The plain loop is the reference, and the vector versions below match it bit for bit.
 * They do the same multiplies, adds, square roots and divisions in the same order (no FMA),
 * and IEEE 754 rounds each of those the same in every lane. */
void nn_adam_reference(float *restrict p, const float *restrict grad, float *restrict m,
                       float *restrict v, size_t n, const nn_adam_args *a) {
  float one_minus_b1 = 1.0f - a->beta1, one_minus_b2 = 1.0f - a->beta2;
  for (size_t i = 0; i < n; i++) {
    float g = grad[i] + a->decay * p[i];
    float pi = p[i] * a->shrink;
    m[i] = m[i] * a->beta1 + one_minus_b1 * g;
    v[i] = v[i] * a->beta2 + one_minus_b2 * g * g;
    p[i] = pi - a->step_size * (m[i] / (sqrtf(v[i]) / a->sqrt_bc2 + a->eps));
  }
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

/* The compiler's baseline for x86-64 is SSE2, and sqrtf keeps this loop scalar there
 * because of errno, so the loop is written out for AVX2 and AVX-512 and chosen at run time. */
__attribute__((target("avx512f"))) static size_t adam_avx512(float *p, const float *grad,
                                                              float *m, float *v, size_t n,
                                                              const nn_adam_args *a) {
  __m512 b1 = _mm512_set1_ps(a->beta1), b2 = _mm512_set1_ps(a->beta2);
  __m512 c1 = _mm512_set1_ps(1.0f - a->beta1), c2 = _mm512_set1_ps(1.0f - a->beta2);
  __m512 step = _mm512_set1_ps(a->step_size), bc2 = _mm512_set1_ps(a->sqrt_bc2);
  __m512 eps = _mm512_set1_ps(a->eps), decay = _mm512_set1_ps(a->decay);
  __m512 shrink = _mm512_set1_ps(a->shrink);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 pv = _mm512_loadu_ps(p + i);
    __m512 g = _mm512_add_ps(_mm512_loadu_ps(grad + i), _mm512_mul_ps(decay, pv));
    __m512 pi = _mm512_mul_ps(pv, shrink);
    __m512 mv = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(m + i), b1), _mm512_mul_ps(c1, g));
    __m512 vv = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(v + i), b2),
                              _mm512_mul_ps(_mm512_mul_ps(c2, g), g));
    __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vv), bc2), eps);
    _mm512_storeu_ps(m + i, mv);
    _mm512_storeu_ps(v + i, vv);
    _mm512_storeu_ps(p + i, _mm512_sub_ps(pi, _mm512_mul_ps(step, _mm512_div_ps(mv, denom))));
  }
  return i;
}

__attribute__((target("avx2"))) static size_t adam_avx2(float *p, const float *grad, float *m,
                                                         float *v, size_t n,
                                                         const nn_adam_args *a) {
  __m256 b1 = _mm256_set1_ps(a->beta1), b2 = _mm256_set1_ps(a->beta2);
  __m256 c1 = _mm256_set1_ps(1.0f - a->beta1), c2 = _mm256_set1_ps(1.0f - a->beta2);
  __m256 step = _mm256_set1_ps(a->step_size), bc2 = _mm256_set1_ps(a->sqrt_bc2);
  __m256 eps = _mm256_set1_ps(a->eps), decay = _mm256_set1_ps(a->decay);
  __m256 shrink = _mm256_set1_ps(a->shrink);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 pv = _mm256_loadu_ps(p + i);
    __m256 g = _mm256_add_ps(_mm256_loadu_ps(grad + i), _mm256_mul_ps(decay, pv));
    __m256 pi = _mm256_mul_ps(pv, shrink);
    __m256 mv = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), b1), _mm256_mul_ps(c1, g));
    __m256 vv = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), b2),
                              _mm256_mul_ps(_mm256_mul_ps(c2, g), g));
    __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vv), bc2), eps);
    _mm256_storeu_ps(m + i, mv);
    _mm256_storeu_ps(v + i, vv);
    _mm256_storeu_ps(p + i, _mm256_sub_ps(pi, _mm256_mul_ps(step, _mm256_div_ps(mv, denom))));
  }
  return i;
}
#endif

void nn_adam_update(float *p, const float *grad, float *m, float *v, size_t n,
                    const nn_adam_args *a) {
  size_t done = 0;
#if defined(__GNUC__) && defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f"))
    done = adam_avx512(p, grad, m, v, n, a);
  else if (__builtin_cpu_supports("avx2"))
    done = adam_avx2(p, grad, m, v, n, a);
#endif
  nn_adam_reference(p + done, grad + done, m + done, v + done, n - done, a);
}

/* SGD with momentum as PyTorch (dampening 0): buf = mu * buf + g; p -= lr * buf. */
static void sgd_range(float *restrict p, const float *restrict grad, float *restrict buf,
                      size_t n, float rate, float momentum, float decay) {
  for (size_t i = 0; i < n; i++) {
    float g = grad[i] + decay * p[i];
    buf[i] = momentum * buf[i] + g;
    p[i] -= rate * buf[i];
  }
}

void nn_update_prepare(const promo_nn *nn, double learning_rate, nn_update *update) {
  const promo_nn_options *opt = &nn->opt;
  double t = (double)(nn->step + 1);
  bool decoupled = opt->optimizer == PROMO_OPT_ADAMW;
  update->learning_rate = learning_rate;
  update->adam = (nn_adam_args){
      .beta1 = (float)opt->beta1,
      .beta2 = (float)opt->beta2,
      .step_size = (float)(learning_rate / (1.0 - pow(opt->beta1, t))),
      .sqrt_bc2 = (float)sqrt(1.0 - pow(opt->beta2, t)),
      .eps = (float)opt->epsilon,
      .decay = decoupled ? 0.0f : (float)opt->weight_decay,
      .shrink = decoupled ? (float)(1.0 - learning_rate * opt->weight_decay) : 1.0f,
  };
}

/* Apply to [begin, end), which lies entirely inside or entirely outside the decayed prefix. */
static void apply_part(promo_nn *nn, const nn_update *update, size_t begin, size_t end,
                       bool decayed) {
  if (begin >= end) return;
  float *p = nn->params + begin, *g = nn->grads + begin;
  float *m = nn->moment1 + begin, *v = nn->moment2 + begin;
  if (nn->opt.optimizer == PROMO_OPT_SGD) {
    float decay = decayed ? (float)nn->opt.weight_decay : 0.0f;
    sgd_range(p, g, m, end - begin, (float)update->learning_rate, (float)nn->opt.momentum,
              decay);
    return;
  }
  nn_adam_args args = update->adam;
  if (!decayed) {
    args.decay = 0.0f;
    args.shrink = 1.0f;
  }
  nn_adam_update(p, g, m, v, end - begin, &args);
}

void nn_update_apply(promo_nn *nn, const nn_update *update, size_t begin, size_t end) {
  size_t split = nn->n_decayed;
  apply_part(nn, update, begin, end < split ? end : split, true);
  apply_part(nn, update, begin > split ? begin : split, end, false);
}

void nn_update_finish(promo_nn *nn, const nn_update *update) {
  nn->step++;
  nn->learning_rate = update->learning_rate;
}

void nn_optimizer_step(promo_nn *nn, double learning_rate) {
  nn_update update;
  nn_update_prepare(nn, learning_rate, &update);
  nn_update_apply(nn, &update, 0, nn->n_params);
  nn_update_finish(nn, &update);
}
