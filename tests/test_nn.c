/* Unit tests of the neural-network engine (model stage). They cover finite-difference
 * gradient checks of every layer and loss, and step-by-step parity with the PyTorch runs
 * stored by tests/fixtures/make_nn_parity.py. They also cover the optimizers and
 * schedules, fit (reproducibility, early stopping, divergence, label checks, cancel),
 * prediction against a plain reference forward pass, and the options JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/nn/nn_internal.h"
#include "promo/model.h"

#define NN_DATA PROMO_TEST_DATA "/nn/"

/* ===================================================================== helpers */

static uint64_t next_random(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double uniform(uint64_t *state) { return (double)(next_random(state) >> 11) * 0x1p-53; }

/* Standard normal by Box-Muller. */
static double normal(uint64_t *state) {
  double u = uniform(state), v = uniform(state);
  return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

/* X [n_rows x n_cols] of standard normals (caller frees). */
static float *random_matrix(size_t n_rows, size_t n_cols, uint64_t seed) {
  float *X = malloc(n_rows * n_cols * sizeof *X);
  assert_non_null(X);
  for (size_t i = 0; i < n_rows * n_cols; i++) X[i] = (float)normal(&seed);
  return X;
}

/* Labels of an easy problem: 1 when x0 + 0.5 x1 - x2 > 0, flipped for `flip`. */
static float *linear_labels(const float *X, size_t n_rows, size_t n_cols, bool flip) {
  float *y = malloc(n_rows * sizeof *y);
  assert_non_null(y);
  for (size_t i = 0; i < n_rows; i++) {
    const float *x = X + i * n_cols;
    bool positive = x[0] + 0.5f * x[1] - x[2] > 0.0f;
    y[i] = positive != flip ? 1.0f : 0.0f;
  }
  return y;
}

static promo_nn *create(size_t n_inputs, const promo_nn_options *opt) {
  promo_nn *nn = NULL;
  promo_error err;
  promo_error_clear(&err);
  promo_status st = promo_nn_create(n_inputs, opt, &nn, &err);
  if (st != PROMO_OK) fail_msg("create failed: %s", err.message);
  return nn;
}

/* Small options for gradient checks: 2 hidden layers of 6 and 4 units. */
static promo_nn_options small_options(promo_task task, promo_activation activation) {
  promo_nn_options opt;
  promo_nn_options_init(&opt);
  opt.task = task;
  opt.activation = activation;
  opt.hidden[0] = 6;
  opt.hidden[1] = 4;
  opt.seed = 7;
  return opt;
}

/* The tensor holding parameter `index`, for failure messages. */
static const char *tensor_of(const promo_nn *nn, size_t index, size_t *element) {
  for (size_t t = 0; t < promo_nn_n_tensors(nn); t++) {
    size_t n_dims, dims[2], offset;
    promo_nn_tensor_shape(nn, t, &n_dims, dims, &offset);
    size_t size = n_dims == 2 ? dims[0] * dims[1] : dims[0];
    if (index >= offset && index < offset + size) {
      *element = index - offset;
      return promo_nn_tensor_name(nn, t);
    }
  }
  *element = index;
  return "?";
}

static double loss_at(promo_nn *nn, const float *X, const float *y, size_t n_rows,
                      float *scratch) {
  double loss = 0.0;
  promo_error err;
  assert_int_equal(promo_nn_loss_grad(nn, X, y, n_rows, &loss, scratch, &err), PROMO_OK);
  return loss;
}

/* Compare promo_nn_loss_grad with central differences of the float32 loss for every
 * parameter. The step is 1% of the parameter (at least 1e-3): the loss carries about 1e-7
 * of float32 rounding, so a smaller step would drown the difference in noise. A ReLU kink
 * crossed by a step spoils the central difference. Such a parameter passes when one of the
 * one-sided differences matches, and at most a tenth of the parameters may pass that way. */
static void check_gradients(promo_nn *nn, const float *X, const float *y, size_t n_rows,
                            bool has_kinks) {
  size_t n = promo_nn_n_params(nn), n_kinks = 0;
  float *grad = malloc(n * sizeof *grad), *scratch = malloc(n * sizeof *scratch);
  assert_non_null(grad);
  assert_non_null(scratch);
  double loss0 = 0.0;
  promo_error err;
  assert_int_equal(promo_nn_loss_grad(nn, X, y, n_rows, &loss0, grad, &err), PROMO_OK);
  assert_true(isfinite(loss0));

  float *p = promo_nn_params(nn);
  for (size_t i = 0; i < n; i++) {
    float p0 = p[i];
    float h = 1e-2f * fmaxf(fabsf(p0), 0.1f);
    p[i] = p0 + h;
    double step_up = (double)p[i] - p0, loss_up = loss_at(nn, X, y, n_rows, scratch);
    p[i] = p0 - h;
    double step_down = (double)p0 - p[i], loss_down = loss_at(nn, X, y, n_rows, scratch);
    p[i] = p0;

    double central = (loss_up - loss_down) / (step_up + step_down), g = grad[i];
    if (fabs(central - g) <= 1e-2 * fmax(fabs(central), fabs(g)) + 1e-4) continue;
    double forward = (loss_up - loss0) / step_up, backward = (loss0 - loss_down) / step_down;
    bool one_sided = fabs(forward - g) <= 2e-2 * fabs(g) + 1e-3 ||
                     fabs(backward - g) <= 2e-2 * fabs(g) + 1e-3;
    if (has_kinks && one_sided) {
      n_kinks++;
      continue;
    }
    size_t element;
    const char *name = tensor_of(nn, i, &element);
    fail_msg("%s[%zu]: analytic gradient %.9g, central difference %.9g", name, element, g,
             central);
  }
  if (n_kinks > n / 10) fail_msg("%zu of %zu parameters sit at a ReLU kink", n_kinks, n);
  free(grad);
  free(scratch);
}

/* Labels for a task: 0/1 for binary, counts for poisson, normals for regression. */
static float *task_labels(promo_task task, size_t n_rows, uint64_t seed) {
  float *y = malloc(n_rows * sizeof *y);
  assert_non_null(y);
  for (size_t i = 0; i < n_rows; i++) {
    switch (task) {
    case PROMO_TASK_BINARY: y[i] = (float)(next_random(&seed) % 2); break;
    case PROMO_TASK_POISSON: y[i] = (float)(next_random(&seed) % 4); break;
    case PROMO_TASK_REGRESSION: y[i] = (float)normal(&seed); break;
    }
  }
  return y;
}

static void gradient_case(const promo_nn_options *opt, bool has_kinks) {
  const size_t n_rows = 7, n_inputs = 5;
  float *X = random_matrix(n_rows, n_inputs, 11);
  float *y = task_labels(opt->task, n_rows, 12);
  promo_nn *nn = create(n_inputs, opt);
  /* Nonzero biases and norm parameters, so their gradients are tested away from 0 and 1. */
  float *p = promo_nn_params(nn);
  uint64_t seed = 13;
  for (size_t t = 0; t < promo_nn_n_tensors(nn); t++) {
    size_t n_dims, dims[2], offset;
    promo_nn_tensor_shape(nn, t, &n_dims, dims, &offset);
    if (n_dims == 1)
      for (size_t j = 0; j < dims[0]; j++) p[offset + j] += (float)(0.3 * normal(&seed));
  }
  check_gradients(nn, X, y, n_rows, has_kinks);
  promo_nn_free(nn);
  free(X);
  free(y);
}

/* ===================================================================== gradient checks */

static void test_gradient_dense_relu(void **state) {
  (void)state;
  promo_nn_options opt = small_options(PROMO_TASK_BINARY, PROMO_ACT_RELU);
  gradient_case(&opt, true);
}

static void test_gradient_dense_tanh(void **state) {
  (void)state;
  promo_nn_options opt = small_options(PROMO_TASK_BINARY, PROMO_ACT_TANH);
  gradient_case(&opt, false);
}

static void test_gradient_dense_sigmoid(void **state) {
  (void)state;
  promo_nn_options opt = small_options(PROMO_TASK_BINARY, PROMO_ACT_SIGMOID);
  gradient_case(&opt, false);
}

static void test_gradient_dense_gelu(void **state) {
  (void)state;
  promo_nn_options opt = small_options(PROMO_TASK_BINARY, PROMO_ACT_GELU);
  gradient_case(&opt, false);
}

static void test_gradient_layer_norm(void **state) {
  (void)state;
  promo_activation acts[] = {PROMO_ACT_GELU, PROMO_ACT_TANH, PROMO_ACT_RELU};
  for (size_t a = 0; a < 3; a++) {
    promo_nn_options opt = small_options(PROMO_TASK_REGRESSION, acts[a]);
    opt.layer_norm = true;
    gradient_case(&opt, acts[a] == PROMO_ACT_RELU);
  }
}

static void test_gradient_bce_pos_weight(void **state) {
  (void)state;
  promo_nn_options opt = small_options(PROMO_TASK_BINARY, PROMO_ACT_TANH);
  opt.pos_weight = 3.5;
  gradient_case(&opt, false);
}

static void test_gradient_mse(void **state) {
  (void)state;
  promo_nn_options opt = small_options(PROMO_TASK_REGRESSION, PROMO_ACT_SIGMOID);
  gradient_case(&opt, false);
}

static void test_gradient_poisson(void **state) {
  (void)state;
  promo_nn_options opt = small_options(PROMO_TASK_POISSON, PROMO_ACT_GELU);
  gradient_case(&opt, false);
}

static void test_gradient_no_hidden_layer(void **state) {
  (void)state;
  promo_nn_options opt = small_options(PROMO_TASK_BINARY, PROMO_ACT_RELU);
  opt.n_hidden = 0;
  gradient_case(&opt, false);
}

/* Inputs with index columns 1 (levels 0..3) and 4 (levels 0..4), repeated levels
 * included so the table gradient must accumulate over rows. */
static float *embedding_inputs(size_t n_rows) {
  float *X = random_matrix(n_rows, 6, 21);
  const float col1[] = {0, 3, 1, 3, 2, 0, 3, 1, 2};
  const float col4[] = {4, 4, 0, 2, 1, 3, 4, 2, 0};
  for (size_t i = 0; i < n_rows; i++) {
    X[i * 6 + 1] = col1[i % 9];
    X[i * 6 + 4] = col4[i % 9];
  }
  return X;
}

static void add_embeddings(promo_nn_options *opt) {
  opt->n_embeddings = 2;
  opt->embeddings[0] = (promo_nn_embedding){.input_column = 1, .n_levels = 3, .dim = 2};
  opt->embeddings[1] = (promo_nn_embedding){.input_column = 4, .n_levels = 4, .dim = 3};
}

static void test_gradient_embedding(void **state) {
  (void)state;
  const size_t n_rows = 9;
  float *X = embedding_inputs(n_rows);
  promo_nn_options opt = small_options(PROMO_TASK_BINARY, PROMO_ACT_TANH);
  add_embeddings(&opt);
  float *y = task_labels(PROMO_TASK_BINARY, n_rows, 22);
  promo_nn *nn = create(6, &opt);
  /* Embedding tables start at +-0.05; scale them up so their effect is well above noise. */
  size_t n_dims, dims[2], offset;
  promo_nn_tensor_shape(nn, 0, &n_dims, dims, &offset);
  assert_string_equal(promo_nn_tensor_name(nn, 0), "embed0.weight");
  float *p = promo_nn_params(nn);
  for (size_t j = 0; j < (4 * 2 + 5 * 3); j++) p[offset + j] *= 20.0f;
  check_gradients(nn, X, y, n_rows, false);

  opt.n_hidden = 0;
  promo_nn *linear = create(6, &opt);
  check_gradients(linear, X, y, n_rows, false);
  promo_nn_free(linear);
  promo_nn_free(nn);
  free(X);
  free(y);
}

/* ===================================================================== layout and init */

static void test_reference_layout(void **state) {
  (void)state;
  promo_nn_options opt;
  promo_nn_options_init(&opt);
  promo_nn *nn = create(10, &opt);
  assert_int_equal(promo_nn_n_inputs(nn), 10);
  assert_int_equal(promo_nn_n_params(nn), 10 * 128 + 128 * 64 + 64 + 128 + 64 + 1);
  assert_int_equal(promo_nn_n_tensors(nn), 6);

  const char *names[] = {"dense0.weight", "dense0.bias", "dense1.weight",
                         "dense1.bias",   "dense2.weight", "dense2.bias"};
  const size_t shapes[][2] = {{128, 10}, {128, 0}, {64, 128}, {64, 0}, {1, 64}, {1, 0}};
  const size_t offsets[] = {0, 9536, 1280, 9664, 9472, 9728};
  for (size_t t = 0; t < 6; t++) {
    size_t n_dims, dims[2], offset;
    promo_nn_tensor_shape(nn, t, &n_dims, dims, &offset);
    assert_string_equal(promo_nn_tensor_name(nn, t), names[t]);
    assert_int_equal(n_dims, shapes[t][1] == 0 ? 1 : 2);
    assert_int_equal(dims[0], shapes[t][0]);
    assert_int_equal(dims[1], shapes[t][1]);
    assert_int_equal(offset, offsets[t]);
  }
  assert_null(promo_nn_tensor_name(nn, 6));
  promo_nn_free(nn);
}

/* Largest |w| of a tensor, and whether every value lies within bound. */
static double max_abs(const promo_nn *nn, promo_nn *mutable_nn, size_t t) {
  size_t n_dims, dims[2], offset;
  promo_nn_tensor_shape(nn, t, &n_dims, dims, &offset);
  size_t size = n_dims == 2 ? dims[0] * dims[1] : dims[0];
  const float *p = promo_nn_params(mutable_nn) + offset;
  double m = 0.0;
  for (size_t i = 0; i < size; i++) m = fmax(m, fabs(p[i]));
  return m;
}

static void test_init_bounds(void **state) {
  (void)state;
  promo_nn_options opt;
  promo_nn_options_init(&opt);
  /* The default is Xavier uniform everywhere, as Keras does, with zero biases. */
  assert_int_equal(opt.init, PROMO_INIT_XAVIER);
  promo_nn *nn = create(10, &opt);
  double xavier_in = sqrt(6.0 / (10.0 + 128.0)), xavier_mid = sqrt(6.0 / (128.0 + 64.0));
  assert_true(max_abs(nn, nn, 0) <= xavier_in && max_abs(nn, nn, 0) > 0.95 * xavier_in);
  assert_true(max_abs(nn, nn, 2) <= xavier_mid && max_abs(nn, nn, 2) > 0.95 * xavier_mid);
  assert_true(max_abs(nn, nn, 1) == 0.0);
  promo_nn_free(nn);

  /* He uniform on ReLU layers, Xavier uniform on the output layer, zero biases. */
  opt.init = PROMO_INIT_HE;
  nn = create(10, &opt);
  double he0 = sqrt(6.0 / 10.0), he1 = sqrt(6.0 / 128.0), xavier2 = sqrt(6.0 / 65.0);
  assert_true(max_abs(nn, nn, 0) <= he0 && max_abs(nn, nn, 0) > 0.95 * he0);
  assert_true(max_abs(nn, nn, 2) <= he1 && max_abs(nn, nn, 2) > 0.95 * he1);
  assert_true(max_abs(nn, nn, 4) <= xavier2 && max_abs(nn, nn, 4) > 0.8 * xavier2);
  assert_true(max_abs(nn, nn, 1) == 0.0);
  promo_nn_free(nn);
  opt.init = PROMO_INIT_XAVIER;

  opt.activation = PROMO_ACT_TANH;
  opt.layer_norm = true;
  nn = create(10, &opt);
  double xavier0 = sqrt(6.0 / (10.0 + 128.0));
  assert_true(max_abs(nn, nn, 0) <= xavier0 && max_abs(nn, nn, 0) > 0.95 * xavier0);
  assert_string_equal(promo_nn_tensor_name(nn, 2), "norm0.weight");
  size_t n_dims, dims[2], offset;
  promo_nn_tensor_shape(nn, 2, &n_dims, dims, &offset);
  assert_int_equal(n_dims, 1);
  assert_int_equal(dims[0], 128);
  for (size_t j = 0; j < 128; j++) assert_true(promo_nn_params(nn)[offset + j] == 1.0f);
  promo_nn_free(nn);
}

static void test_create_rejects_options(void **state) {
  (void)state;
  promo_nn_options base;
  promo_nn_options_init(&base);
  promo_nn_options cases[12];
  for (size_t i = 0; i < 12; i++) cases[i] = base;
  cases[0].hidden[1] = 0;
  cases[1].dropout = 1.0f;
  cases[2].dropout = -0.1f;
  cases[3].learning_rate = 0.0;
  cases[4].n_embeddings = 1;
  cases[4].embeddings[0] = (promo_nn_embedding){.input_column = 10, .n_levels = 3, .dim = 2};
  cases[5].batch_size = 0;
  cases[6].epochs = 0;
  cases[7].beta2 = 1.0;
  cases[8].n_hidden = PROMO_NN_MAX_HIDDEN + 1;
  cases[9].pos_weight = 0.0;
  cases[10].n_embeddings = 2;
  cases[10].embeddings[0] = (promo_nn_embedding){.input_column = 3, .n_levels = 3, .dim = 2};
  cases[10].embeddings[1] = (promo_nn_embedding){.input_column = 3, .n_levels = 4, .dim = 2};
  cases[11].schedule = PROMO_SCHEDULE_STEP;
  cases[11].step_epochs = 0;
  for (size_t i = 0; i < 12; i++) {
    promo_nn *nn = (promo_nn *)&base;
    promo_error err;
    promo_error_clear(&err);
    promo_status st = promo_nn_create(10, &cases[i], &nn, &err);
    if (st != PROMO_ERR_USAGE) fail_msg("case %zu: status %d, expected a usage error", i, st);
    assert_null(nn);
    assert_true(strlen(err.message) > 0);
  }
  promo_nn *nn = NULL;
  promo_error err;
  assert_int_equal(promo_nn_create(0, &base, &nn, &err), PROMO_ERR_USAGE);
  assert_string_equal(err.message, "the network needs 1 to 16777215 input columns, got 0");
}

/* ===================================================================== PyTorch parity */

static float *read_floats(const char *path, size_t n) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) fail_msg("cannot open %s", path);
  float *v = malloc(n * sizeof *v);
  assert_non_null(v);
  size_t got = fread(v, sizeof *v, n, f);
  int extra = fgetc(f);
  fclose(f);
  if (got != n || extra != EOF) fail_msg("%s: expected exactly %zu floats", path, n);
  return v;
}

/* |actual - expected| <= 1e-4 |expected| + floor. */
static bool close_to(double actual, double expected, double floor_abs) {
  return fabs(actual - expected) <= 1e-4 * fabs(expected) + floor_abs;
}

/* Replay a stored PyTorch run: the same initial weights and 100 train_step calls on the
 * same batches. Every step's loss must agree to 1e-4, and with smooth activations so must
 * every final weight. With ReLU, some pre-activation comes within float32 rounding of 0
 * during 100 steps. In the reference case one is at 5.7e-7 in step 66, when the two runs'
 * weights differ by 5e-7. One run may then switch off a unit that the other keeps, and
 * Adam moves that unit's weights by up to the learning rate per step. So with ReLU, 98%
 * of the weights must agree to 1e-4 and all of them to 1e-3 absolute. */
static void run_parity(const char *name, const promo_nn_options *opt, bool has_relu) {
  char path[512];
  snprintf(path, sizeof path, NN_DATA "%s.json", name);
  json_error_t jerr;
  json_t *manifest = json_load_file(path, 0, &jerr);
  if (manifest == NULL) fail_msg("%s:%d: %s", path, jerr.line, jerr.text);
  size_t n_rows = (size_t)json_integer_value(json_object_get(manifest, "n_rows"));
  size_t n_inputs = (size_t)json_integer_value(json_object_get(manifest, "n_inputs"));
  size_t batch = (size_t)json_integer_value(json_object_get(manifest, "batch_size"));
  const json_t *tensors = json_object_get(manifest, "tensors");
  const json_t *losses = json_object_get(manifest, "losses");

  promo_nn *nn = create(n_inputs, opt);
  size_t n_params = promo_nn_n_params(nn);
  assert_int_equal(promo_nn_n_tensors(nn), json_array_size(tensors));
  snprintf(path, sizeof path, NN_DATA "%s_x.f32", name);
  float *X = read_floats(path, n_rows * n_inputs);
  snprintf(path, sizeof path, NN_DATA "%s_y.f32", name);
  float *y = read_floats(path, n_rows);
  snprintf(path, sizeof path, NN_DATA "%s_init.f32", name);
  float *init = read_floats(path, n_params);
  snprintf(path, sizeof path, NN_DATA "%s_final.f32", name);
  float *final = read_floats(path, n_params);

  /* The fixture stores tensors back to back in promo's tensor order; the slab places them
   * at their own offsets. */
  size_t *offsets = malloc(json_array_size(tensors) * sizeof *offsets);
  assert_non_null(offsets);
  float *p = promo_nn_params(nn);
  for (size_t t = 0, at = 0; t < json_array_size(tensors); t++) {
    const json_t *shape = json_object_get(json_array_get(tensors, t), "shape");
    size_t n_dims, dims[2], offset;
    promo_nn_tensor_shape(nn, t, &n_dims, dims, &offset);
    assert_string_equal(promo_nn_tensor_name(nn, t),
                        json_string_value(json_object_get(json_array_get(tensors, t), "name")));
    assert_int_equal(n_dims, json_array_size(shape));
    size_t size = 1;
    for (size_t d = 0; d < n_dims; d++) {
      assert_int_equal(dims[d], json_integer_value(json_array_get(shape, d)));
      size *= dims[d];
    }
    memcpy(p + offset, init + at, size * sizeof(float));
    offsets[t] = at;
    at += size;
  }

  for (size_t k = 0; k < json_array_size(losses); k++) {
    size_t first = (k * batch) % n_rows;
    double loss = 0.0;
    promo_error err;
    assert_int_equal(promo_nn_train_step(nn, X + first * n_inputs, y + first, batch, &loss, &err),
                     PROMO_OK);
    double expected = json_number_value(json_array_get(losses, k));
    if (!close_to(loss, expected, 1e-6))
      fail_msg("%s step %zu: loss %.9g, PyTorch %.9g", name, k + 1, loss, expected);
  }

  size_t n_apart = 0;
  for (size_t t = 0; t < json_array_size(tensors); t++) {
    size_t n_dims, dims[2], offset;
    promo_nn_tensor_shape(nn, t, &n_dims, dims, &offset);
    size_t size = n_dims == 2 ? dims[0] * dims[1] : dims[0];
    for (size_t i = 0; i < size; i++) {
      double actual = p[offset + i], expected = final[offsets[t] + i];
      if (close_to(actual, expected, 2e-6)) continue;
      n_apart++;
      if (!has_relu || fabs(actual - expected) > 1e-3)
        fail_msg("%s %s[%zu]: %.9g after 100 steps, PyTorch %.9g", name,
                 promo_nn_tensor_name(nn, t), i, actual, expected);
    }
  }
  if (n_apart > n_params / 50)
    fail_msg("%s: %zu of %zu weights differ from PyTorch by more than 1e-4", name, n_apart,
             n_params);
  promo_nn_free(nn);
  free(offsets);
  free(X);
  free(y);
  free(init);
  free(final);
  json_decref(manifest);
}

static void test_parity_reference_adam(void **state) {
  (void)state;
  promo_nn_options opt;
  promo_nn_options_init(&opt);
  opt.epsilon = 1e-7;
  run_parity("reference", &opt, true);
}

static void test_parity_norm_gelu_poisson(void **state) {
  (void)state;
  promo_nn_options opt;
  promo_nn_options_init(&opt);
  opt.task = PROMO_TASK_POISSON;
  opt.hidden[0] = 32;
  opt.hidden[1] = 16;
  opt.activation = PROMO_ACT_GELU;
  opt.layer_norm = true;
  opt.optimizer = PROMO_OPT_ADAMW;
  opt.weight_decay = 0.01;
  opt.epsilon = 1e-7;
  opt.n_embeddings = 1;
  opt.embeddings[0] = (promo_nn_embedding){.input_column = 4, .n_levels = 5, .dim = 3};
  run_parity("norm_gelu_poisson", &opt, false);
}

static const float *tensor(promo_nn *nn, const char *name, size_t *rows, size_t *cols);

/* ===================================================================== optimizers */

/* Gradient at the current weights, from loss_grad (caller frees). */
static float *gradient(promo_nn *nn, const float *X, const float *y, size_t n_rows) {
  float *g = malloc(promo_nn_n_params(nn) * sizeof *g);
  assert_non_null(g);
  double loss;
  promo_error err;
  assert_int_equal(promo_nn_loss_grad(nn, X, y, n_rows, &loss, g, &err), PROMO_OK);
  return g;
}

static float *copy_params(promo_nn *nn) {
  size_t n = promo_nn_n_params(nn);
  float *c = malloc(n * sizeof *c);
  assert_non_null(c);
  memcpy(c, promo_nn_params(nn), n * sizeof *c);
  return c;
}

/* True for parameters under weight decay: the weight matrices. */
static bool is_decayed(const promo_nn *nn, size_t index) {
  size_t element;
  const char *name = tensor_of(nn, index, &element);
  return strstr(name, ".weight") != NULL && strncmp(name, "norm", 4) != 0;
}

/* Two steps of SGD with momentum and weight decay on the weight matrices only:
 * buf1 = g0 + wd p0, p1 = p0 - lr buf1; buf2 = mu buf1 + g1 + wd p1, p2 = p1 - lr buf2. */
static void test_sgd_two_steps(void **state) {
  (void)state;
  promo_nn_options opt = small_options(PROMO_TASK_REGRESSION, PROMO_ACT_TANH);
  opt.optimizer = PROMO_OPT_SGD;
  opt.learning_rate = 0.05;
  opt.momentum = 0.9;
  opt.weight_decay = 0.1;
  float *X = random_matrix(8, 5, 33);
  float *y = task_labels(PROMO_TASK_REGRESSION, 8, 34);
  promo_nn *nn = create(5, &opt);
  size_t n = promo_nn_n_params(nn);
  promo_error err;
  double loss;

  float *p0 = copy_params(nn), *g0 = gradient(nn, X, y, 8);
  assert_int_equal(promo_nn_train_step(nn, X, y, 8, &loss, &err), PROMO_OK);
  float *p1 = copy_params(nn), *g1 = gradient(nn, X, y, 8);
  assert_int_equal(promo_nn_train_step(nn, X, y, 8, &loss, &err), PROMO_OK);
  const float *p2 = promo_nn_params(nn);
  for (size_t i = 0; i < n; i++) {
    double wd = is_decayed(nn, i) ? 0.1 : 0.0;
    double buf = 0.9 * (g0[i] + wd * p0[i]) + g1[i] + wd * p1[i];
    double expected = p1[i] - 0.05 * buf;
    if (fabs(p2[i] - expected) > 1e-6 * fabs(expected) + 1e-7)
      fail_msg("parameter %zu: %.9g after two steps, expected %.9g", i, p2[i], expected);
  }
  free(p0);
  free(g0);
  free(p1);
  free(g1);
  promo_nn_free(nn);
  free(X);
  free(y);
}

static void test_adamw_first_step(void **state) {
  (void)state;
  promo_nn_options opt = small_options(PROMO_TASK_BINARY, PROMO_ACT_TANH);
  opt.optimizer = PROMO_OPT_ADAMW;
  opt.learning_rate = 0.01;
  opt.weight_decay = 0.5;
  float *X = random_matrix(8, 5, 35);
  float *y = task_labels(PROMO_TASK_BINARY, 8, 36);
  promo_nn *nn = create(5, &opt);
  float *p0 = copy_params(nn), *g = gradient(nn, X, y, 8);
  double loss;
  promo_error err;
  assert_int_equal(promo_nn_train_step(nn, X, y, 8, &loss, &err), PROMO_OK);
  /* After one step m-hat = g and v-hat = g^2: p1 = p0 (1 - lr wd) - lr g / (|g| + eps). */
  const float *p1 = promo_nn_params(nn);
  for (size_t i = 0; i < promo_nn_n_params(nn); i++) {
    double shrink = is_decayed(nn, i) ? 1.0 - 0.01 * 0.5 : 1.0;
    double expected = p0[i] * shrink - 0.01 * g[i] / (fabs(g[i]) + 1e-7);
    if (fabs(p1[i] - expected) > 1e-5 * fabs(expected) + 1e-7)
      fail_msg("parameter %zu: %.9g after one step, expected %.9g", i, p1[i], expected);
  }
  free(p0);
  free(g);
  promo_nn_free(nn);
  free(X);
  free(y);
}

static void test_gradient_clipping(void **state) {
  (void)state;
  promo_nn_options opt = small_options(PROMO_TASK_REGRESSION, PROMO_ACT_TANH);
  opt.optimizer = PROMO_OPT_SGD;
  opt.momentum = 0.0;
  opt.learning_rate = 0.1;
  opt.clip_norm = 0.01;
  float *X = random_matrix(8, 5, 37);
  float *y = task_labels(PROMO_TASK_REGRESSION, 8, 38);
  promo_nn *nn = create(5, &opt);
  float *p0 = copy_params(nn), *g = gradient(nn, X, y, 8);
  double norm = 0.0;
  for (size_t i = 0; i < promo_nn_n_params(nn); i++) norm += (double)g[i] * g[i];
  norm = sqrt(norm);
  assert_true(norm > 0.01);
  double loss;
  promo_error err;
  assert_int_equal(promo_nn_train_step(nn, X, y, 8, &loss, &err), PROMO_OK);
  /* The step moves the weights by lr * clip_norm * norm / (norm + 1e-6). */
  double moved = 0.0;
  for (size_t i = 0; i < promo_nn_n_params(nn); i++) {
    double d = (double)promo_nn_params(nn)[i] - p0[i];
    moved += d * d;
  }
  assert_float_equal(sqrt(moved), 0.1 * 0.01 * norm / (norm + 1e-6), 1e-7);
  free(p0);
  free(g);
  promo_nn_free(nn);
  free(X);
  free(y);
}

/* One training step on one row with dropout: a dropped hidden unit gets no gradient on
 * either side, and kept units see their activation scaled by 1 / (1 - p). */
static void test_dropout_masks_gradient(void **state) {
  (void)state;
  promo_nn_options opt;
  promo_nn_options_init(&opt);
  opt.n_hidden = 1;
  opt.hidden[0] = 64;
  opt.activation = PROMO_ACT_TANH;
  opt.dropout = 0.5f;
  opt.optimizer = PROMO_OPT_SGD;
  opt.momentum = 0.0;
  opt.learning_rate = 0.1;
  float *X = random_matrix(1, 5, 39);
  float y = 1.0f;
  promo_nn *nn = create(5, &opt);
  size_t rows, cols;
  const float *W0 = tensor(nn, "dense0.weight", &rows, &cols);
  const float *b0 = tensor(nn, "dense0.bias", &rows, &cols);
  const float *w1 = tensor(nn, "dense1.weight", &rows, &cols);
  float *before = copy_params(nn);
  const float *p = promo_nn_params(nn);
  double loss;
  promo_error err;
  assert_int_equal(promo_nn_train_step(nn, X, &y, 1, &loss, &err), PROMO_OK);

  size_t n_kept = 0;
  double ratio = NAN;
  for (size_t j = 0; j < 64; j++) {
    size_t in_bias = (size_t)(b0 - p) + j, out_weight = (size_t)(w1 - p) + j;
    bool moved_in = p[in_bias] != before[in_bias];
    bool moved_out = p[out_weight] != before[out_weight];
    assert_int_equal(moved_in, moved_out);
    if (!moved_out) continue;
    n_kept++;
    /* dw1[j] = dlogit * tanh(W0 x + b0)[j] * 2 for p = 0.5, with one dlogit for all units. */
    double z = before[in_bias];
    for (size_t i = 0; i < 5; i++) z += (double)before[(size_t)(W0 - p) + j * 5 + i] * X[i];
    double r = (p[out_weight] - before[out_weight]) / (-0.1 * 2.0 * tanh(z));
    if (isnan(ratio)) ratio = r;
    assert_float_equal(r, ratio, 1e-4 * fabs(ratio));
  }
  assert_true(n_kept > 16 && n_kept < 48);
  /* The loss of a positive row is softplus(-z), which gives the training logit z and
   * dlogit = sigmoid(z) - 1: the common ratio must be exactly that. */
  double z = -log(expm1(loss)), dlogit = 1.0 / (1.0 + exp(-z)) - 1.0;
  assert_float_equal(ratio, dlogit, 1e-4 * fabs(dlogit));
  free(before);
  promo_nn_free(nn);
  free(X);
}

/* The vectorized Adam update against the plain loop, on a length with a remainder after
 * every vector width and with both weight-decay forms switched on. */
static void test_adam_kernel_matches_reference(void **state) {
  (void)state;
  const size_t n = 1000 + 13;
  float *buffers[8];
  uint64_t seed = 3;
  for (int b = 0; b < 8; b++) {
    buffers[b] = malloc(n * sizeof(float));
    assert_non_null(buffers[b]);
  }
  for (size_t i = 0; i < n; i++) {
    buffers[0][i] = buffers[4][i] = (float)normal(&seed);           /* p */
    buffers[1][i] = buffers[5][i] = (float)(1e-3 * normal(&seed));  /* grad */
    buffers[2][i] = buffers[6][i] = (float)(1e-3 * normal(&seed));  /* m */
    buffers[3][i] = buffers[7][i] = (float)(1e-6 * uniform(&seed)); /* v */
  }
  nn_adam_args args = {.beta1 = 0.9f, .beta2 = 0.999f, .step_size = 3e-3f, .sqrt_bc2 = 0.05f,
                       .eps = 1e-7f, .decay = 0.01f, .shrink = 0.9999f};
  for (int round = 0; round < 3; round++) {
    nn_adam_update(buffers[0], buffers[1], buffers[2], buffers[3], n, &args);
    nn_adam_reference(buffers[4], buffers[5], buffers[6], buffers[7], n, &args);
  }
  assert_memory_equal(buffers[0], buffers[4], n * sizeof(float));
  assert_memory_equal(buffers[2], buffers[6], n * sizeof(float));
  assert_memory_equal(buffers[3], buffers[7], n * sizeof(float));
  for (int b = 0; b < 8; b++) free(buffers[b]);
}

/* ===================================================================== fit */

static promo_nn_history fit_ok(promo_nn *nn, const float *X, const float *y, size_t n,
                               const float *Xv, const float *yv, size_t n_valid,
                               const promo_context *ctx) {
  promo_nn_history history;
  promo_error err;
  promo_error_clear(&err);
  promo_status st = promo_nn_fit(nn, X, y, n, Xv, yv, n_valid, ctx, &history, &err);
  if (st != PROMO_OK) fail_msg("fit failed: %s", err.message);
  return history;
}

static void test_schedules(void **state) {
  (void)state;
  float *X = random_matrix(64, 4, 41);
  float *y = linear_labels(X, 64, 4, false);
  promo_nn_options opt;
  promo_nn_options_init(&opt);
  opt.hidden[0] = 8;
  opt.hidden[1] = 4;
  opt.schedule = PROMO_SCHEDULE_STEP;
  opt.step_epochs = 2;
  opt.step_gamma = 0.5;
  opt.epochs = 5;
  promo_nn *nn = create(4, &opt);
  promo_nn_history h = fit_ok(nn, X, y, 64, NULL, NULL, 0, NULL);
  const double step_rates[] = {1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4};
  for (size_t e = 0; e < 5; e++)
    assert_float_equal(h.epochs[e].learning_rate, step_rates[e], 1e-15);
  promo_nn_history_clear(&h);
  promo_nn_free(nn);

  /* 2 steps per epoch, 8 in all; warm-up over steps 0..2, then cosine over steps 3..7.
   * Each epoch records the rate of its last step (1, 3, 5, 7). */
  opt.schedule = PROMO_SCHEDULE_COSINE;
  opt.warmup_steps = 3;
  opt.epochs = 4;
  nn = create(4, &opt);
  h = fit_ok(nn, X, y, 64, NULL, NULL, 0, NULL);
  const double pi = 3.14159265358979323846;
  const double cosine_rates[] = {1e-3 * 2.0 / 3.0, 1e-3, 1e-3 * 0.5 * (1.0 + cos(pi * 2.0 / 5.0)),
                                 1e-3 * 0.5 * (1.0 + cos(pi * 4.0 / 5.0))};
  for (size_t e = 0; e < 4; e++)
    assert_float_equal(h.epochs[e].learning_rate, cosine_rates[e], 1e-15);
  promo_nn_history_clear(&h);
  promo_nn_free(nn);
  free(X);
  free(y);
}

static void test_fit_reproducible(void **state) {
  (void)state;
  const size_t n = 2000, n_valid = 300, d = 8;
  float *X = random_matrix(n, d, 51), *Xv = random_matrix(n_valid, d, 52);
  float *y = linear_labels(X, n, d, false), *yv = linear_labels(Xv, n_valid, d, false);
  promo_nn_options opt;
  promo_nn_options_init(&opt);
  opt.hidden[0] = 32;
  opt.hidden[1] = 16;
  opt.dropout = 0.2f;
  opt.epochs = 3;
  opt.seed = 99;

  for (int threads = 1; threads <= 2; threads++) {
    promo_context ctx;
    promo_context_init(&ctx);
    ctx.n_threads = threads;
    promo_nn *a = create(d, &opt), *b = create(d, &opt);
    promo_nn_history ha = fit_ok(a, X, y, n, Xv, yv, n_valid, &ctx);
    promo_nn_history hb = fit_ok(b, X, y, n, Xv, yv, n_valid, &ctx);
    assert_memory_equal(promo_nn_params(a), promo_nn_params(b),
                        promo_nn_n_params(a) * sizeof(float));
    assert_true(ha.epochs[2].train_loss == hb.epochs[2].train_loss);
    assert_true(ha.epochs[2].valid_loss == hb.epochs[2].valid_loss);
    promo_nn_history_clear(&ha);
    promo_nn_history_clear(&hb);
    promo_nn_free(a);
    promo_nn_free(b);
  }

  /* Another seed gives other weights. */
  promo_nn *a = create(d, &opt);
  opt.seed = 100;
  promo_nn *b = create(d, &opt);
  assert_memory_not_equal(promo_nn_params(a), promo_nn_params(b),
                          promo_nn_n_params(a) * sizeof(float));
  promo_nn_free(a);
  promo_nn_free(b);
  free(X);
  free(Xv);
  free(y);
  free(yv);
}

/* Two worker threads split each batch and sum their gradients in another order than one
 * thread does, so the weights agree to float rounding, not bit for bit. Embeddings and
 * clipping take the reduction paths that plain dense layers do not. */
static void test_fit_threads_agree(void **state) {
  (void)state;
  const size_t n = 1000;
  float *X = embedding_inputs(n);
  float *y = linear_labels(X, n, 6, false);
  promo_nn_options opt = small_options(PROMO_TASK_BINARY, PROMO_ACT_TANH);
  add_embeddings(&opt);
  opt.clip_norm = 0.5;
  opt.epochs = 2;
  promo_context ctx;
  promo_context_init(&ctx);
  promo_nn *one = create(6, &opt), *two = create(6, &opt);
  ctx.n_threads = 1;
  promo_nn_history h1 = fit_ok(one, X, y, n, NULL, NULL, 0, &ctx);
  ctx.n_threads = 2;
  promo_nn_history h2 = fit_ok(two, X, y, n, NULL, NULL, 0, &ctx);
  for (size_t i = 0; i < promo_nn_n_params(one); i++) {
    float a = promo_nn_params(one)[i], b = promo_nn_params(two)[i];
    if (fabsf(a - b) > 1e-4f * fabsf(a) + 1e-5f)
      fail_msg("parameter %zu: %.9g with 1 thread, %.9g with 2", i, a, b);
  }
  assert_float_equal(h1.epochs[1].train_loss, h2.epochs[1].train_loss, 1e-5);
  promo_nn_history_clear(&h1);
  promo_nn_history_clear(&h2);
  promo_nn_free(one);
  promo_nn_free(two);
  free(X);
  free(y);
}

/* The shards of a batch give the same bits whether they run in parallel or one after
 * another, with dropout, clipping and embeddings on. */
static void test_shards_parallel_sequential_equal(void **state) {
  (void)state;
  const size_t n = 9 * 40;
  float *X = embedding_inputs(n);
  float *y = linear_labels(X, n, 6, false);
  promo_nn_options opt = small_options(PROMO_TASK_BINARY, PROMO_ACT_RELU);
  add_embeddings(&opt);
  opt.dropout = 0.25f;
  opt.clip_norm = 0.3;
  promo_nn *nns[2] = {create(6, &opt), create(6, &opt)};
  nn_stepper steppers[2];
  for (int m = 0; m < 2; m++) {
    assert_int_equal(nn_stepper_init(&steppers[m], nns[m], 36, 2), PROMO_OK);
    assert_int_equal(steppers[m].n_shards, 2);
    steppers[m].forced_mode = m == 0 ? NN_RUN_SEQUENTIAL : NN_RUN_PARALLEL;
  }
  size_t rows[36];
  for (size_t step = 0; step < 10; step++) {
    /* A shuffled-looking batch of 36 rows, then a partial batch of 20. */
    size_t n_rows = step % 2 == 0 ? 36 : 20;
    for (size_t i = 0; i < n_rows; i++) rows[i] = (step * 37 + i * 11) % n;
    nn_batch batch = {.X = X, .y = y, .rows = rows, .first = 0, .n_rows = n_rows};
    double losses[2];
    bool clipped[2];
    for (int m = 0; m < 2; m++)
      assert_true(nn_stepper_step(&steppers[m], nns[m], &batch, &losses[m], &clipped[m]));
    assert_true(losses[0] == losses[1]);
    assert_int_equal(clipped[0], clipped[1]);
  }
  assert_int_equal(steppers[0].n_parallel_batches, 0);
  assert_int_equal(steppers[1].n_parallel_batches, 10);
  assert_memory_equal(promo_nn_params(nns[0]), promo_nn_params(nns[1]),
                      promo_nn_n_params(nns[0]) * sizeof(float));
  for (int m = 0; m < 2; m++) {
    nn_stepper_clear(&steppers[m]);
    promo_nn_free(nns[m]);
  }
  free(X);
  free(y);
}

static void test_fit_learns_easy_problem(void **state) {
  (void)state;
  const size_t n = 4000, n_valid = 1000, d = 10;
  float *X = random_matrix(n, d, 61), *Xv = random_matrix(n_valid, d, 62);
  float *y = linear_labels(X, n, d, false), *yv = linear_labels(Xv, n_valid, d, false);
  promo_nn_options opt;
  promo_nn_options_init(&opt);
  opt.epochs = 5;
  promo_nn *nn = create(d, &opt);
  promo_nn_history h = fit_ok(nn, X, y, n, Xv, yv, n_valid, NULL);
  assert_int_equal(h.n_epochs, 5);
  assert_false(h.stopped_early);
  assert_true(h.epochs[4].valid_metric > 0.98);
  assert_true(h.epochs[4].train_loss < h.epochs[0].train_loss);
  assert_true(h.epochs[0].rows_per_s > 0.0);

  /* Predictions agree with the validation AUC's ranking: accuracy at 0.5 is high too. */
  float *prob = malloc(n_valid * sizeof *prob);
  promo_error err;
  assert_int_equal(promo_nn_predict(nn, Xv, n_valid, prob, NULL, &err), PROMO_OK);
  size_t correct = 0;
  for (size_t i = 0; i < n_valid; i++) correct += (prob[i] > 0.5f) == (yv[i] == 1.0f);
  assert_true(correct > 950);
  free(prob);
  promo_nn_history_clear(&h);
  promo_nn_free(nn);
  free(X);
  free(Xv);
  free(y);
  free(yv);
}

/* Validation labels opposite to the training rule: the validation loss is lowest early
 * and rises while training improves. */
static void test_early_stop_restores_best(void **state) {
  (void)state;
  const size_t n = 1000, n_valid = 200, d = 5;
  float *X = random_matrix(n, d, 71), *Xv = random_matrix(n_valid, d, 72);
  float *y = linear_labels(X, n, d, false), *yv = linear_labels(Xv, n_valid, d, true);
  promo_nn_options opt;
  promo_nn_options_init(&opt);
  opt.hidden[0] = 16;
  opt.hidden[1] = 8;
  opt.epochs = 30;
  opt.patience = 2;

  for (int restore = 1; restore >= 0; restore--) {
    opt.restore_best = restore;
    promo_nn *nn = create(d, &opt);
    promo_nn_history h = fit_ok(nn, X, y, n, Xv, yv, n_valid, NULL);
    assert_true(h.stopped_early);
    assert_int_equal(h.n_epochs, h.best_epoch + 3);
    for (size_t e = 0; e < h.n_epochs; e++)
      assert_true(h.epochs[e].valid_loss >= h.epochs[h.best_epoch].valid_loss);

    float *g = malloc(promo_nn_n_params(nn) * sizeof *g);
    double loss;
    promo_error err;
    assert_int_equal(promo_nn_loss_grad(nn, Xv, yv, n_valid, &loss, g, &err), PROMO_OK);
    size_t kept = restore ? h.best_epoch : h.n_epochs - 1;
    assert_float_equal(loss, h.epochs[kept].valid_loss, 1e-9);
    free(g);
    promo_nn_history_clear(&h);
    promo_nn_free(nn);
  }
  free(X);
  free(Xv);
  free(y);
  free(yv);
}

static void test_fit_nan_names_epoch_batch(void **state) {
  (void)state;
  const size_t n = 256, d = 5;
  float *X = random_matrix(n, d, 81);
  float *y = linear_labels(X, n, d, false);
  promo_nn_options opt;
  promo_nn_options_init(&opt);
  opt.learning_rate = 1e30;
  promo_nn *nn = create(d, &opt);
  promo_nn_history h;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_nn_fit(nn, X, y, n, NULL, NULL, 0, NULL, &h, &err), PROMO_ERR_DATA);
  assert_non_null(strstr(err.message, "at epoch 1, batch 2;"));
  assert_non_null(strstr(err.message, "lower the learning rate"));
  assert_int_equal(h.n_epochs, 0);
  promo_nn_history_clear(&h);
  promo_nn_free(nn);
  free(X);
  free(y);
}

static void test_fit_checks_labels(void **state) {
  (void)state;
  const size_t n = 40, d = 3;
  float *X = random_matrix(n, d, 91);
  float *y = calloc(n, sizeof *y);
  promo_nn_options opt;
  promo_nn_options_init(&opt);
  opt.hidden[0] = 4;
  opt.hidden[1] = 4;
  promo_nn_history h;
  promo_error err;

  promo_nn *nn = create(d, &opt);
  y[4] = 2.0f;
  assert_int_equal(promo_nn_fit(nn, X, y, n, NULL, NULL, 0, NULL, &h, &err), PROMO_ERR_DATA);
  assert_string_equal(err.message, "training label at row 5 is 2; a binary target must be 0 or 1");
  y[4] = 0.0f;
  float yv[2] = {1.0f, 0.5f};
  assert_int_equal(promo_nn_fit(nn, X, y, n, X, yv, 2, NULL, &h, &err), PROMO_ERR_DATA);
  assert_string_equal(err.message,
                      "validation label at row 2 is 0.5; a binary target must be 0 or 1");
  promo_nn_free(nn);

  opt.task = PROMO_TASK_POISSON;
  nn = create(d, &opt);
  y[7] = -1.0f;
  assert_int_equal(promo_nn_fit(nn, X, y, n, NULL, NULL, 0, NULL, &h, &err), PROMO_ERR_DATA);
  assert_string_equal(err.message,
                      "training label at row 8 is -1; a count target must be a finite number >= 0");
  promo_nn_free(nn);

  opt.task = PROMO_TASK_REGRESSION;
  nn = create(d, &opt);
  y[7] = NAN;
  assert_int_equal(promo_nn_fit(nn, X, y, n, NULL, NULL, 0, NULL, &h, &err), PROMO_ERR_DATA);
  assert_non_null(strstr(err.message, "training label at row 8 is"));
  double loss;
  assert_int_equal(promo_nn_train_step(nn, X, y, n, &loss, &err), PROMO_ERR_DATA);
  assert_non_null(strstr(err.message, "batch label at row 8 is"));
  promo_nn_free(nn);
  free(X);
  free(y);
}

static void test_fit_checks_inputs(void **state) {
  (void)state;
  const size_t n = 9;
  float *X = embedding_inputs(n);
  float *y = task_labels(PROMO_TASK_BINARY, n, 92);
  promo_nn_options opt = small_options(PROMO_TASK_BINARY, PROMO_ACT_RELU);
  add_embeddings(&opt);
  promo_nn *nn = create(6, &opt);
  promo_nn_history h;
  promo_error err;

  X[3 * 6 + 2] = INFINITY;
  assert_int_equal(promo_nn_fit(nn, X, y, n, NULL, NULL, 0, NULL, &h, &err), PROMO_ERR_DATA);
  assert_string_equal(err.message, "training row 4, column 2 is inf; impute or drop missing "
                                   "and infinite values before training");
  X[3 * 6 + 2] = 0.0f;
  X[5 * 6 + 4] = 5.0f;
  assert_int_equal(promo_nn_fit(nn, X, y, n, NULL, NULL, 0, NULL, &h, &err), PROMO_ERR_DATA);
  assert_string_equal(err.message,
                      "training row 6, column 4 holds 5, but embedding 2 takes whole numbers 0 "
                      "to 4; encode the column with the index encoder fitted for this model");
  float out[9];
  assert_int_equal(promo_nn_predict(nn, X, n, out, NULL, &err), PROMO_ERR_DATA);
  X[5 * 6 + 4] = 1.5f;
  assert_int_equal(promo_nn_predict(nn, X, n, out, NULL, &err), PROMO_ERR_DATA);
  assert_non_null(strstr(err.message, "prediction row 6, column 4 holds 1.5"));
  promo_nn_free(nn);
  free(X);
  free(y);
}

typedef struct captured {
  char first_epoch_line[256];
  int n_epoch_lines;
  uint64_t last_done, last_total;
  int n_progress;
  volatile int cancel;
  int cancel_after_progress;
} captured;

static void capture_log(void *user, promo_log_level level, const char *message) {
  captured *c = user;
  (void)level;
  if (strncmp(message, "epoch=", 6) == 0) {
    if (c->n_epoch_lines++ == 0)
      snprintf(c->first_epoch_line, sizeof c->first_epoch_line, "%s", message);
  }
}

static void capture_progress(void *user, const char *stage, uint64_t done, uint64_t total) {
  captured *c = user;
  assert_string_equal(stage, "train");
  assert_true(done >= c->last_done);
  c->last_done = done;
  c->last_total = total;
  c->n_progress++;
  if (c->cancel_after_progress > 0 && c->n_progress >= c->cancel_after_progress) c->cancel = 1;
}

static void test_fit_logs_and_progress(void **state) {
  (void)state;
  const size_t n = 500, n_valid = 100, d = 4;
  float *X = random_matrix(n, d, 101), *Xv = random_matrix(n_valid, d, 102);
  float *y = linear_labels(X, n, d, false), *yv = linear_labels(Xv, n_valid, d, false);
  promo_nn_options opt;
  promo_nn_options_init(&opt);
  opt.hidden[0] = 8;
  opt.hidden[1] = 8;
  opt.epochs = 2;
  captured c;
  memset(&c, 0, sizeof c);
  promo_context ctx;
  promo_context_init(&ctx);
  ctx.log = capture_log;
  ctx.progress = capture_progress;
  ctx.user = &c;
  promo_nn *nn = create(d, &opt);
  promo_nn_history h = fit_ok(nn, X, y, n, Xv, yv, n_valid, &ctx);
  assert_int_equal(c.n_epoch_lines, 2);
  assert_true(strncmp(c.first_epoch_line, "epoch=1 train_loss=", 19) == 0);
  assert_non_null(strstr(c.first_epoch_line, " valid_loss="));
  assert_non_null(strstr(c.first_epoch_line, " valid_auc="));
  assert_non_null(strstr(c.first_epoch_line, " rows_per_s="));
  assert_int_equal(c.last_done, 2 * n);
  assert_int_equal(c.last_total, 2 * n);
  promo_nn_history_clear(&h);
  promo_nn_free(nn);

  /* Cancel from the progress report after the first batch; fit stops before the second. */
  memset(&c, 0, sizeof c);
  c.cancel_after_progress = 1;
  ctx.cancel = &c.cancel;
  nn = create(d, &opt);
  promo_error err;
  assert_int_equal(promo_nn_fit(nn, X, y, n, Xv, yv, n_valid, &ctx, &h, &err),
                   PROMO_ERR_CANCELLED);
  assert_int_equal(h.n_epochs, 0);
  assert_int_equal(c.last_done, 32);
  promo_nn_history_clear(&h);
  promo_nn_free(nn);
  free(X);
  free(Xv);
  free(y);
  free(yv);
}

/* ===================================================================== prediction */

static double activate(promo_activation f, double x) {
  switch (f) {
  case PROMO_ACT_RELU: return x > 0 ? x : 0;
  case PROMO_ACT_TANH: return tanh(x);
  case PROMO_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
  case PROMO_ACT_GELU:
    return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
  }
  return NAN;
}

/* The tensor named `name`: its values and shape. */
static const float *tensor(promo_nn *nn, const char *name, size_t *rows, size_t *cols) {
  *rows = *cols = 0;
  for (size_t t = 0; t < promo_nn_n_tensors(nn); t++) {
    if (strcmp(promo_nn_tensor_name(nn, t), name) != 0) continue;
    size_t n_dims, dims[2], offset;
    promo_nn_tensor_shape(nn, t, &n_dims, dims, &offset);
    *rows = dims[0];
    *cols = n_dims == 2 ? dims[1] : 1;
    return promo_nn_params(nn) + offset;
  }
  return NULL;
}

/* A plain double-precision forward pass over one row, from the named tensors alone. */
static double reference_predict(promo_nn *nn, const float *x) {
  const promo_nn_options *opt = promo_nn_get_options(nn);
  size_t n_in = promo_nn_n_inputs(nn);
  double a[512], next[512];
  size_t width = 0;
  for (size_t c = 0; c < n_in; c++) {
    bool is_index = false;
    for (size_t k = 0; k < opt->n_embeddings; k++)
      is_index = is_index || opt->embeddings[k].input_column == c;
    if (!is_index) a[width++] = x[c];
  }
  for (size_t k = 0; k < opt->n_embeddings; k++) {
    char name[48];
    size_t rows, dim;
    snprintf(name, sizeof name, "embed%zu.weight", k);
    const float *table = tensor(nn, name, &rows, &dim);
    size_t level = (size_t)x[opt->embeddings[k].input_column];
    for (size_t j = 0; j < dim; j++) a[width++] = table[level * dim + j];
  }
  for (size_t l = 0; l <= opt->n_hidden; l++) {
    char name[48];
    size_t n_out, n_w, one;
    snprintf(name, sizeof name, "dense%zu.weight", l);
    const float *W = tensor(nn, name, &n_out, &n_w);
    snprintf(name, sizeof name, "dense%zu.bias", l);
    const float *b = tensor(nn, name, &n_out, &one);
    assert_int_equal(n_w, width);
    for (size_t o = 0; o < n_out; o++) {
      double s = b[o];
      for (size_t i = 0; i < width; i++) s += (double)W[o * width + i] * a[i];
      next[o] = s;
    }
    if (l == opt->n_hidden) return next[0];
    if (opt->layer_norm) {
      double mean = 0.0, var = 0.0;
      for (size_t o = 0; o < n_out; o++) mean += next[o] / (double)n_out;
      for (size_t o = 0; o < n_out; o++) var += (next[o] - mean) * (next[o] - mean) / (double)n_out;
      snprintf(name, sizeof name, "norm%zu.weight", l);
      const float *g = tensor(nn, name, &n_out, &one);
      snprintf(name, sizeof name, "norm%zu.bias", l);
      const float *s = tensor(nn, name, &n_out, &one);
      for (size_t o = 0; o < n_out; o++)
        next[o] = (next[o] - mean) / sqrt(var + 1e-5) * g[o] + s[o];
    }
    for (size_t o = 0; o < n_out; o++) a[o] = activate(opt->activation, next[o]);
    width = n_out;
  }
  return NAN;
}

static void check_predict(const promo_nn_options *opt, size_t n_inputs, float *X, size_t n) {
  promo_nn *nn = create(n_inputs, opt);
  /* Move biases and norm parameters away from their initial 0 and 1. */
  float *p = promo_nn_params(nn);
  uint64_t seed = 111;
  for (size_t i = 0; i < promo_nn_n_params(nn); i++) p[i] += (float)(0.05 * normal(&seed));
  float *out = malloc(n * sizeof *out);
  promo_context ctx;
  promo_context_init(&ctx);
  ctx.n_threads = 2;
  promo_error err;
  assert_int_equal(promo_nn_predict(nn, X, n, out, &ctx, &err), PROMO_OK);
  for (size_t i = 0; i < n; i++) {
    double z = reference_predict(nn, X + i * n_inputs), expected = z;
    if (opt->task == PROMO_TASK_BINARY) expected = 1.0 / (1.0 + exp(-z));
    if (opt->task == PROMO_TASK_POISSON) expected = exp(z);
    if (fabs(out[i] - expected) > 1e-5 * fabs(expected) + 1e-6)
      fail_msg("row %zu: predicted %.9g, reference %.9g", i, out[i], expected);
  }
  free(out);
  promo_nn_free(nn);
}

static void test_predict_matches_reference(void **state) {
  (void)state;
  const size_t n = 1300; /* three blocks of rows, the last one partial */
  promo_nn_options opt;
  promo_nn_options_init(&opt);
  float *X = random_matrix(n, 12, 121);
  check_predict(&opt, 12, X, n);
  free(X);

  X = embedding_inputs(n);
  opt = small_options(PROMO_TASK_POISSON, PROMO_ACT_GELU);
  opt.layer_norm = true;
  opt.dropout = 0.5f; /* prediction never drops units */
  add_embeddings(&opt);
  check_predict(&opt, 6, X, n);
  opt.task = PROMO_TASK_REGRESSION;
  opt.activation = PROMO_ACT_SIGMOID;
  opt.layer_norm = false;
  check_predict(&opt, 6, X, n);
  free(X);
}

static void test_auc_counts_ties_half(void **state) {
  (void)state;
  /* Positives 0.35, 0.8, 0.4 against negatives 0.1, 0.4: 1 + 0 + 1 + 1 + 1 + 0.5 of 6 pairs. */
  nn_scored_row rows[] = {{0.1f, 0}, {0.4f, 0}, {0.35f, 1}, {0.8f, 1}, {0.4f, 1}};
  assert_float_equal(nn_roc_auc(rows, 5), 4.5 / 6.0, 1e-15);
  nn_scored_row tied[] = {{2.0f, 1}, {2.0f, 0}, {2.0f, 0}, {2.0f, 1}};
  assert_float_equal(nn_roc_auc(tied, 4), 0.5, 1e-15);
  nn_scored_row reversed[] = {{3.0f, 0}, {2.0f, 0}, {1.0f, 1}};
  assert_float_equal(nn_roc_auc(reversed, 3), 0.0, 1e-15);
  nn_scored_row one_class[] = {{3.0f, 1}, {2.0f, 1}};
  assert_true(isnan(nn_roc_auc(one_class, 2)));
}

/* ===================================================================== JSON */

static void test_options_json_round_trip(void **state) {
  (void)state;
  promo_nn_options opt;
  promo_nn_options_init(&opt);
  opt.task = PROMO_TASK_POISSON;
  opt.n_hidden = 3;
  opt.hidden[2] = 7;
  opt.activation = PROMO_ACT_GELU;
  opt.dropout = 0.15f;
  opt.layer_norm = true;
  add_embeddings(&opt);
  opt.init = PROMO_INIT_XAVIER;
  opt.optimizer = PROMO_OPT_ADAMW;
  opt.learning_rate = 3e-4;
  opt.epsilon = 1e-8;
  opt.weight_decay = 0.01;
  opt.schedule = PROMO_SCHEDULE_COSINE;
  opt.warmup_steps = 100;
  opt.clip_norm = 1.0;
  opt.batch_size = 256;
  opt.epochs = 40;
  opt.pos_weight = 2.0;
  opt.patience = 4;
  opt.restore_best = false;
  opt.seed = 18446744073709551557ULL;

  json_t *json = NULL;
  assert_int_equal(promo_nn_options_to_json(&opt, &json), PROMO_OK);
  assert_string_equal(json_string_value(json_object_get(json, "activation")), "gelu");
  assert_string_equal(json_string_value(json_object_get(json, "seed")), "18446744073709551557");
  promo_nn_options back;
  promo_error err;
  assert_int_equal(promo_nn_options_from_json(json, &back, &err), PROMO_OK);
  assert_memory_equal(&opt, &back, sizeof opt);
  json_decref(json);

  /* Small seeds are plain integers. */
  opt.seed = 42;
  assert_int_equal(promo_nn_options_to_json(&opt, &json), PROMO_OK);
  assert_int_equal(json_integer_value(json_object_get(json, "seed")), 42);
  assert_int_equal(promo_nn_options_from_json(json, &back, &err), PROMO_OK);
  assert_memory_equal(&opt, &back, sizeof opt);
  json_decref(json);
}

static void test_options_json_rejects_invalid(void **state) {
  (void)state;
  const char *cases[][2] = {
      {"{\"type\":\"mlp\",\"version\":1,\"hidden\":[128,64],\"drop_out\":0.1}",
       "unknown network option 'drop_out'; check its spelling"},
      {"{\"type\":\"mlp\",\"version\":1,\"activation\":\"swish\"}",
       "network option 'activation' is invalid: expected relu, tanh, sigmoid or gelu"},
      {"{\"type\":\"mlp\",\"version\":1,\"hidden\":[128,-1]}",
       "network option 'hidden' is invalid: expected an array of at most 8 unit counts"},
      {"{\"type\":\"mlp\",\"version\":1,\"dropout\":2}",
       "dropout 2 is outside [0, 1); use for example 0.1"},
      {"{\"type\":\"mlp\",\"version\":1,\"layer_norm\":1}",
       "network option 'layer_norm' is invalid: expected true or false"},
      {"{\"type\":\"tree\",\"version\":1}",
       "network option 'type' is invalid: expected \"mlp\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *json = json_loads(cases[i][0], 0, NULL);
    assert_non_null(json);
    promo_nn_options opt;
    promo_error err;
    promo_error_clear(&err);
    assert_int_equal(promo_nn_options_from_json(json, &opt, &err), PROMO_ERR_DATA);
    assert_string_equal(err.message, cases[i][1]);
    json_decref(json);
  }
  json_t *newer = json_loads("{\"type\":\"mlp\",\"version\":2}", 0, NULL);
  promo_nn_options opt;
  promo_error err;
  assert_int_equal(promo_nn_options_from_json(newer, &opt, &err), PROMO_ERR_UNSUPPORTED);
  json_decref(newer);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gradient_dense_relu),
      cmocka_unit_test(test_gradient_dense_tanh),
      cmocka_unit_test(test_gradient_dense_sigmoid),
      cmocka_unit_test(test_gradient_dense_gelu),
      cmocka_unit_test(test_gradient_layer_norm),
      cmocka_unit_test(test_gradient_bce_pos_weight),
      cmocka_unit_test(test_gradient_mse),
      cmocka_unit_test(test_gradient_poisson),
      cmocka_unit_test(test_gradient_no_hidden_layer),
      cmocka_unit_test(test_gradient_embedding),
      cmocka_unit_test(test_reference_layout),
      cmocka_unit_test(test_init_bounds),
      cmocka_unit_test(test_create_rejects_options),
      cmocka_unit_test(test_parity_reference_adam),
      cmocka_unit_test(test_parity_norm_gelu_poisson),
      cmocka_unit_test(test_sgd_two_steps),
      cmocka_unit_test(test_adamw_first_step),
      cmocka_unit_test(test_gradient_clipping),
      cmocka_unit_test(test_dropout_masks_gradient),
      cmocka_unit_test(test_adam_kernel_matches_reference),
      cmocka_unit_test(test_schedules),
      cmocka_unit_test(test_fit_reproducible),
      cmocka_unit_test(test_fit_threads_agree),
      cmocka_unit_test(test_shards_parallel_sequential_equal),
      cmocka_unit_test(test_fit_learns_easy_problem),
      cmocka_unit_test(test_early_stop_restores_best),
      cmocka_unit_test(test_fit_nan_names_epoch_batch),
      cmocka_unit_test(test_fit_checks_labels),
      cmocka_unit_test(test_fit_checks_inputs),
      cmocka_unit_test(test_fit_logs_and_progress),
      cmocka_unit_test(test_predict_matches_reference),
      cmocka_unit_test(test_auc_counts_ties_half),
      cmocka_unit_test(test_options_json_round_trip),
      cmocka_unit_test(test_options_json_rejects_invalid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
