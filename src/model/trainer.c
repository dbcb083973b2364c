/* Training from tables: the target column, the task, and the fit of pipeline plus
 * network that `promo train`, `promo cv`, `promo optimize` and `promo run` share. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "promo/model.h"

promo_status promo_model_read_target(const promo_table *t, const char *target, const char *path,
                                     float *y, promo_error *err) {
  ptrdiff_t c = promo_table_find(t, target);
  if (c < 0) {
    promo_error_at(err, path, 0, 0);
    return promo_error_set(err, PROMO_ERR_USAGE, _("target column '%s' is not in the header"), target);
  }
  const promo_column *col = &t->columns[c];
  bool is_int = col->type == PROMO_TYPE_INT || col->type == PROMO_TYPE_BOOL;
  if (!is_int && col->type != PROMO_TYPE_DECIMAL) {
    promo_error_at(err, path, 0, 0);
    snprintf(err->column_name, sizeof err->column_name, "%s", col->name);
    return promo_error_set(err, PROMO_ERR_DATA, _("target column '%s' holds %s values; it must hold numbers or 0/1"),
                           col->name, promo_type_name(col->type));
  }
  for (size_t r = 0; r < t->n_rows; r++) {
    if (col->is_missing[r]) {
      promo_error_at(err, path, t->lines != NULL ? t->lines[r] : 0, (int64_t)c + 1);
      snprintf(err->column_name, sizeof err->column_name, "%s", col->name);
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("target column '%s' is missing or invalid on this row; clean the file "
                               "first (promo clean --missing %s=drop)"),
                             col->name, col->name);
    }
    y[r] = is_int ? (float)col->ints[r] : (float)col->reals[r];
  }
  return PROMO_OK;
}

promo_task promo_model_infer_task(const float *y, size_t n) {
  for (size_t r = 0; r < n; r++)
    if (y[r] != 0.0f && y[r] != 1.0f) return PROMO_TASK_REGRESSION;
  return PROMO_TASK_BINARY;
}

const char *promo_model_task_name(promo_task task) {
  if (task == PROMO_TASK_BINARY) return "binary";
  if (task == PROMO_TASK_POISSON) return "poisson";
  return "regression";
}

bool promo_model_task_parse(const char *name, promo_task *out) {
  static const promo_task tasks[] = {PROMO_TASK_BINARY, PROMO_TASK_REGRESSION, PROMO_TASK_POISSON};
  for (size_t k = 0; k < sizeof tasks / sizeof tasks[0]; k++) {
    if (strcmp(name, promo_model_task_name(tasks[k])) == 0) {
      *out = tasks[k];
      return true;
    }
  }
  return false;
}

void promo_trainer_options_init(promo_trainer_options *opt) {
  memset(opt, 0, sizeof *opt);
  promo_pipeline_options_init(&opt->pipeline);
  promo_nn_options_init(&opt->nn);
  opt->embeddings = true;
  opt->output_bias_from_mean = true;
}

void promo_trainer_result_clear(promo_trainer_result *result) {
  promo_pipeline_free(result->pipeline);
  promo_nn_free(result->nn);
  promo_nn_history_clear(&result->history);
  memset(result, 0, sizeof *result);
}

/* Feed every index-encoded output to an embedding instead of using the index as a
 * number. The width follows the rule of thumb min(32, round(1.6 * K^0.56)) for K levels
 * (fast.ai's embedding-size heuristic). */
static void add_embeddings(promo_context *ctx, const promo_pipeline *p, promo_nn_options *nn) {
  nn->n_embeddings = 0;
  for (size_t j = 0; j < promo_pipeline_n_outputs(p); j++) {
    size_t levels = promo_pipeline_output_index_levels(p, j);
    if (levels == 0) continue;
    if (nn->n_embeddings == PROMO_NN_MAX_EMBEDDINGS) {
      promo_log(ctx, PROMO_LOG_WARN, _("more than %d index columns; '%s' is used as a number, not an embedding"),
                PROMO_NN_MAX_EMBEDDINGS, promo_pipeline_output_name(p, j));
      continue;
    }
    size_t dim = (size_t)llround(1.6 * pow((double)levels, 0.56));
    if (dim < 2) dim = 2;
    if (dim > 32) dim = 32;
    nn->embeddings[nn->n_embeddings++] = (promo_nn_embedding){j, levels, dim};
    promo_log(ctx, PROMO_LOG_INFO, _("embedding for '%s': %zu levels, %zu dimensions"),
              promo_pipeline_output_name(p, j), levels, dim);
  }
}

/* Start the output bias where a constant model would be: the mean target through the
 * task's inverse link (logit for binary, log for poisson, identity for regression), as
 * gradient boosting starts from the average (LightGBM's boost_from_average). Without it a
 * Poisson network whose targets are in the thousands starts predicting 1 and spends its
 * first epochs climbing there. */
static void init_output_bias(promo_nn *nn, promo_task task, const float *y, size_t n) {
  double sum = 0;
  for (size_t r = 0; r < n; r++) sum += y[r];
  double mean = n > 0 ? sum / (double)n : 0, bias = mean;
  if (task == PROMO_TASK_BINARY) {
    double q = fmin(fmax(mean, 1e-6), 1 - 1e-6);
    bias = log(q / (1 - q));
  } else if (task == PROMO_TASK_POISSON) {
    bias = log(fmax(mean, 1e-6));
  }
  char name[32];
  snprintf(name, sizeof name, "dense%zu.bias", promo_nn_get_options(nn)->n_hidden);
  for (size_t i = 0; i < promo_nn_n_tensors(nn); i++) {
    if (strcmp(promo_nn_tensor_name(nn, i), name) != 0) continue;
    size_t n_dims, dims[2], offset;
    promo_nn_tensor_shape(nn, i, &n_dims, dims, &offset);
    promo_nn_params(nn)[offset] = (float)bias;
  }
}

promo_status promo_model_fit_tables(const promo_table *train, const float *y_train,
                                    const promo_table *valid, const float *y_valid,
                                    const char *path, const promo_trainer_options *opt,
                                    promo_context *ctx, promo_trainer_result *result,
                                    promo_error *err) {
  memset(result, 0, sizeof *result);
  promo_matrix m_train = {0}, m_valid = {0};
  size_t n_valid = valid != NULL ? valid->n_rows : 0;

  /* Features: fitted on the training rows only, then applied to the validation rows. */
  promo_pipeline_data data = {train, path, NULL, NULL};
  promo_status st = promo_pipeline_fit_transform(&data, &opt->pipeline, ctx, &result->pipeline, &m_train, err);
  if (st == PROMO_OK && m_train.n_columns == 0)
    st = promo_error_set(err, PROMO_ERR_USAGE, "%s",
                         _("no column became a feature; check --ignore and --transform, and run "
                           "'promo features DATA.csv --describe' to see each column's type"));
  if (st == PROMO_OK && n_valid > 0) {
    data.rows = valid;
    st = promo_pipeline_transform(result->pipeline, &data, ctx, &m_valid, err);
  }
  if (st != PROMO_OK && err->path[0] == '\0' && path != NULL) promo_error_at(err, path, err->line, err->column);
  if (st != PROMO_OK) goto done;
  result->n_features = m_train.n_columns;

  promo_nn_options nn = opt->nn;
  if (opt->embeddings) add_embeddings(ctx, result->pipeline, &nn);
  else nn.n_embeddings = 0;
  if (n_valid == 0) nn.restore_best = false;
  if ((st = promo_nn_create(m_train.n_columns, &nn, &result->nn, err)) != PROMO_OK) goto done;
  if (opt->output_bias_from_mean) init_output_bias(result->nn, nn.task, y_train, train->n_rows);
  st = promo_nn_fit(result->nn, m_train.X, y_train, m_train.n_rows, n_valid > 0 ? m_valid.X : NULL,
                    n_valid > 0 ? y_valid : NULL, n_valid, ctx, &result->history, err);

done:
  promo_matrix_clear(&m_train);
  promo_matrix_clear(&m_valid);
  if (st != PROMO_OK) promo_trainer_result_clear(result);
  return st;
}

promo_status promo_model_predict_table(const promo_nn *nn, const promo_pipeline *pipeline,
                                       const promo_table *t, const char *path, promo_context *ctx,
                                       float *out, promo_error *err) {
  if (t->n_rows == 0) return PROMO_OK;
  promo_matrix m = {0};
  promo_pipeline_data data = {t, path, NULL, NULL};
  promo_status st = promo_pipeline_transform(pipeline, &data, ctx, &m, err);
  if (st != PROMO_OK && err->path[0] == '\0' && path != NULL) promo_error_at(err, path, err->line, err->column);
  if (st == PROMO_OK) st = promo_nn_predict(nn, m.X, m.n_rows, out, ctx, err);
  promo_matrix_clear(&m);
  return st;
}
