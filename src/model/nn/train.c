/* Single steps of the model stage's network outside fit: promo_nn_train_step (forward,
 * loss, backward, clipping and the optimizer update on one batch) and promo_nn_loss_grad
 * for gradient checks. */
#include <math.h>
#include <string.h>

#include "core/intl.h"
#include "model/nn/nn_internal.h"

/* One training step on the whole batch in the calling thread. Returns false, leaving the
 * parameters untouched, when the loss is NaN or infinite. */
static bool train_batch(promo_nn *nn, nn_workspace *ws, const nn_batch *batch, double *loss) {
  bool dropout = nn->opt.dropout > 0.0f;
  size_t n_rows = batch->n_rows;
  nn_forward(nn, ws, batch, dropout ? &nn->dropout_rng : NULL);
  float *logits = ws->pre[nn->n_layers - 1];
  *loss = nn_loss_sum(nn, logits, ws->labels, n_rows, 1.0f / (float)n_rows, ws->delta[0]) /
          (double)n_rows;
  if (!isfinite(*loss)) return false;

  nn_backward(nn, ws, nn->grads, n_rows, dropout);
  if (nn->opt.clip_norm > 0.0) {
    float scale = nn_clip_scale(sqrt(nn_sum_squares(nn->grads, 0, nn->n_params)),
                                nn->opt.clip_norm);
    for (size_t i = 0; scale != 1.0f && i < nn->n_params; i++) nn->grads[i] *= scale;
  }
  nn_optimizer_step(nn, nn_schedule_rate(nn));
  return true;
}

static promo_status check_batch_input(const promo_nn *nn, const float *X, const float *y,
                                      size_t n_rows, promo_error *err) {
  if (X == NULL || y == NULL || n_rows == 0)
    return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                           _("training needs at least one row of inputs and labels"));
  promo_status st = nn_check_labels(nn, y, n_rows, _("batch"), err);
  return st != PROMO_OK ? st : nn_check_indexes(nn, X, n_rows, _("batch"), err);
}

promo_status promo_nn_train_step(promo_nn *nn, const float *X, const float *y, size_t n_rows,
                                 double *loss, promo_error *err) {
  promo_status st = check_batch_input(nn, X, y, n_rows, err);
  if (st != PROMO_OK) return st;
  if (nn_workspace_reserve(&nn->train_ws, nn, n_rows) != PROMO_OK) return nn_error_nomem(err);

  nn_batch batch = {.X = X, .y = y, .rows = NULL, .first = 0, .n_rows = n_rows};
  if (!train_batch(nn, &nn->train_ws, &batch, loss))
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("training diverged: the batch loss is %g; lower the learning "
                             "rate, enable gradient clipping or scale the inputs"),
                           *loss);
  return PROMO_OK;
}

promo_status promo_nn_loss_grad(promo_nn *nn, const float *X, const float *y, size_t n_rows,
                                double *loss, float *grad, promo_error *err) {
  promo_status st = check_batch_input(nn, X, y, n_rows, err);
  if (st != PROMO_OK) return st;
  if (nn_workspace_reserve(&nn->train_ws, nn, n_rows) != PROMO_OK) return nn_error_nomem(err);

  nn_workspace *ws = &nn->train_ws;
  nn_batch batch = {.X = X, .y = y, .rows = NULL, .first = 0, .n_rows = n_rows};
  nn_forward(nn, ws, &batch, NULL);
  float *logits = ws->pre[nn->n_layers - 1];
  *loss = nn_loss_sum(nn, logits, ws->labels, n_rows, 1.0f / (float)n_rows, ws->delta[0]) /
          (double)n_rows;
  nn_backward(nn, ws, grad, n_rows, false);
  return PROMO_OK;
}
