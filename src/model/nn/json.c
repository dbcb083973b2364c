/* Network options as JSON for the model stage: the architecture and training settings
 * that the model file stores in its metadata and reads back. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "model/nn/nn_internal.h"

#define JSON_TYPE "mlp"
#define JSON_FORMAT_VERSION 1

static const char *const kTaskNames[] = {"binary", "regression", "poisson"};
static const char *const kActivationNames[] = {"relu", "tanh", "sigmoid", "gelu"};
static const char *const kOptimizerNames[] = {"adam", "adamw", "sgd"};
static const char *const kScheduleNames[] = {"constant", "step", "cosine"};
static const char *const kInitNames[] = {"he", "xavier"};

/* Every key from_json accepts; anything else is rejected as a likely typo. */
static const char *const kKeys[] = {
    "type",         "version",     "task",          "hidden",     "activation",
    "dropout",      "layer_norm",  "embeddings",    "init",       "optimizer",
    "learning_rate", "beta1",      "beta2",         "epsilon",    "momentum",
    "weight_decay", "schedule",    "step_epochs",   "step_gamma", "warmup_steps",
    "clip_norm",    "batch_size",  "epochs",        "pos_weight", "patience",
    "restore_best", "seed"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ===================================================================== writing */

static json_t *size_array(const size_t *values, size_t n) {
  json_t *array = json_array();
  for (size_t i = 0; array != NULL && i < n; i++) {
    if (json_array_append_new(array, json_integer((json_int_t)values[i])) != 0) {
      json_decref(array);
      return NULL;
    }
  }
  return array;
}

static json_t *embeddings_json(const promo_nn_options *opt) {
  json_t *array = json_array();
  for (size_t k = 0; array != NULL && k < opt->n_embeddings; k++) {
    const promo_nn_embedding *e = &opt->embeddings[k];
    json_t *item = json_pack("{s:I, s:I, s:I}", "column", (json_int_t)e->input_column,
                             "n_levels", (json_int_t)e->n_levels, "dim", (json_int_t)e->dim);
    if (json_array_append_new(array, item) != 0) {
      json_decref(array);
      return NULL;
    }
  }
  return array;
}

/* Seeds above INT64_MAX do not fit a JSON integer in jansson, so they are written as a
 * decimal string. */
static json_t *seed_json(uint64_t seed) {
  if (seed <= INT64_MAX) return json_integer((json_int_t)seed);
  char text[24];
  snprintf(text, sizeof text, "%" PRIu64, seed);
  return json_string(text);
}

promo_status promo_nn_options_to_json(const promo_nn_options *opt, json_t **out) {
  *out = NULL;
  json_t *root = json_pack(
      "{s:s, s:i, s:s, s:s, s:f, s:b, s:s, s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:s}", "type",
      JSON_TYPE, "version", JSON_FORMAT_VERSION, "task", kTaskNames[opt->task], "activation",
      kActivationNames[opt->activation], "dropout", (double)opt->dropout, "layer_norm",
      opt->layer_norm, "init", kInitNames[opt->init], "optimizer",
      kOptimizerNames[opt->optimizer], "learning_rate", opt->learning_rate, "beta1",
      opt->beta1, "beta2", opt->beta2, "epsilon", opt->epsilon, "momentum", opt->momentum,
      "weight_decay", opt->weight_decay, "schedule", kScheduleNames[opt->schedule]);
  if (root == NULL) return PROMO_ERR_NOMEM;
  json_t *rest = json_pack("{s:I, s:f, s:I, s:f, s:I, s:I, s:f, s:I, s:b}", "step_epochs",
                           (json_int_t)opt->step_epochs, "step_gamma", opt->step_gamma,
                           "warmup_steps", (json_int_t)opt->warmup_steps, "clip_norm",
                           opt->clip_norm, "batch_size", (json_int_t)opt->batch_size, "epochs",
                           (json_int_t)opt->epochs, "pos_weight", opt->pos_weight, "patience",
                           (json_int_t)opt->patience, "restore_best", opt->restore_best);
  bool ok = rest != NULL && json_object_update(root, rest) == 0 &&
            json_object_set_new(root, "hidden", size_array(opt->hidden, opt->n_hidden)) == 0 &&
            json_object_set_new(root, "embeddings", embeddings_json(opt)) == 0 &&
            json_object_set_new(root, "seed", seed_json(opt->seed)) == 0;
  json_decref(rest);
  if (!ok) {
    json_decref(root);
    return PROMO_ERR_NOMEM;
  }
  *out = root;
  return PROMO_OK;
}

/* ===================================================================== reading */

static promo_status key_error(promo_error *err, const char *key, const char *expected) {
  if (err != NULL) snprintf(err->column_name, sizeof err->column_name, "%s", key);
  return promo_error_set(err, PROMO_ERR_DATA,
                         _("network option '%s' is invalid: expected %s"), key, expected);
}

/* Read the enum named by key's string into *value; an absent key keeps *value. */
static promo_status read_name(const json_t *root, const char *key, const char *const *names,
                              size_t n_names, const char *expected, unsigned *value,
                              promo_error *err) {
  const json_t *item = json_object_get(root, key);
  if (item == NULL) return PROMO_OK;
  const char *text = json_string_value(item);
  for (size_t i = 0; text != NULL && i < n_names; i++) {
    if (strcmp(text, names[i]) == 0) {
      *value = (unsigned)i;
      return PROMO_OK;
    }
  }
  return key_error(err, key, expected);
}

static promo_status read_double(const json_t *root, const char *key, double *value,
                                promo_error *err) {
  const json_t *item = json_object_get(root, key);
  if (item == NULL) return PROMO_OK;
  if (!json_is_number(item)) return key_error(err, key, _("a number"));
  *value = json_number_value(item);
  return PROMO_OK;
}

static bool as_size(const json_t *item, size_t *value) {
  if (!json_is_integer(item) || json_integer_value(item) < 0) return false;
  *value = (size_t)json_integer_value(item);
  return true;
}

static promo_status read_size(const json_t *root, const char *key, size_t *value,
                              promo_error *err) {
  const json_t *item = json_object_get(root, key);
  if (item == NULL || as_size(item, value)) return PROMO_OK;
  return key_error(err, key, _("a whole number >= 0"));
}

static promo_status read_bool(const json_t *root, const char *key, bool *value,
                              promo_error *err) {
  const json_t *item = json_object_get(root, key);
  if (item == NULL) return PROMO_OK;
  if (!json_is_boolean(item)) return key_error(err, key, _("true or false"));
  *value = json_is_true(item);
  return PROMO_OK;
}

static promo_status read_seed(const json_t *root, uint64_t *seed, promo_error *err) {
  const json_t *item = json_object_get(root, "seed");
  if (item == NULL) return PROMO_OK;
  if (json_is_integer(item) && json_integer_value(item) >= 0) {
    *seed = (uint64_t)json_integer_value(item);
    return PROMO_OK;
  }
  const char *text = json_string_value(item);
  if (text != NULL && text[0] >= '0' && text[0] <= '9') {
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno == 0 && *end == '\0') {
      *seed = (uint64_t)v;
      return PROMO_OK;
    }
  }
  return key_error(err, "seed", _("a whole number from 0 to 18446744073709551615"));
}

static promo_status read_hidden(const json_t *root, promo_nn_options *opt, promo_error *err) {
  const json_t *item = json_object_get(root, "hidden");
  if (item == NULL) return PROMO_OK;
  size_t n = json_array_size(item);
  if (!json_is_array(item) || n > PROMO_NN_MAX_HIDDEN)
    return key_error(err, "hidden", _("an array of at most 8 unit counts"));
  for (size_t l = 0; l < n; l++) {
    if (!as_size(json_array_get(item, l), &opt->hidden[l]))
      return key_error(err, "hidden", _("an array of at most 8 unit counts"));
  }
  opt->n_hidden = n;
  return PROMO_OK;
}

static promo_status read_embeddings(const json_t *root, promo_nn_options *opt,
                                    promo_error *err) {
  const json_t *item = json_object_get(root, "embeddings");
  if (item == NULL) return PROMO_OK;
  const char *expected = _("an array of at most 16 objects with column, n_levels and dim");
  size_t n = json_array_size(item);
  if (!json_is_array(item) || n > PROMO_NN_MAX_EMBEDDINGS)
    return key_error(err, "embeddings", expected);
  for (size_t k = 0; k < n; k++) {
    const json_t *e = json_array_get(item, k);
    promo_nn_embedding *dst = &opt->embeddings[k];
    if (!json_is_object(e) || json_object_size(e) != 3 ||
        !as_size(json_object_get(e, "column"), &dst->input_column) ||
        !as_size(json_object_get(e, "n_levels"), &dst->n_levels) ||
        !as_size(json_object_get(e, "dim"), &dst->dim))
      return key_error(err, "embeddings", expected);
  }
  opt->n_embeddings = n;
  return PROMO_OK;
}

static promo_status check_keys(const json_t *root, promo_error *err) {
  const char *key;
  const json_t *value;
  json_object_foreach((json_t *)root, key, value) {
    (void)value;
    bool known = false;
    for (size_t i = 0; i < COUNT(kKeys) && !known; i++) known = strcmp(key, kKeys[i]) == 0;
    if (!known) {
      if (err != NULL) snprintf(err->column_name, sizeof err->column_name, "%s", key);
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("unknown network option '%s'; check its spelling"), key);
    }
  }
  const json_t *type = json_object_get(root, "type");
  if (!json_is_string(type) || strcmp(json_string_value(type), JSON_TYPE) != 0)
    return key_error(err, "type", "\"" JSON_TYPE "\"");
  const json_t *version = json_object_get(root, "version");
  if (!json_is_integer(version) || json_integer_value(version) < 1)
    return key_error(err, "version", _("a whole number >= 1"));
  if (json_integer_value(version) > JSON_FORMAT_VERSION)
    return promo_error_set(err, PROMO_ERR_UNSUPPORTED,
                           _("network options have format version %lld, but this promo reads "
                             "up to version %d; upgrade promo"),
                           (long long)json_integer_value(version), JSON_FORMAT_VERSION);
  return PROMO_OK;
}

static promo_status read_enums(const json_t *json, promo_nn_options *opt, promo_error *err) {
  unsigned task = opt->task, activation = opt->activation, init = opt->init,
           optimizer = opt->optimizer, schedule = opt->schedule;
  promo_status st = read_name(json, "task", kTaskNames, COUNT(kTaskNames),
                              "binary, regression or poisson", &task, err);
  if (st == PROMO_OK)
    st = read_name(json, "activation", kActivationNames, COUNT(kActivationNames),
                   "relu, tanh, sigmoid or gelu", &activation, err);
  if (st == PROMO_OK)
    st = read_name(json, "init", kInitNames, COUNT(kInitNames), "he or xavier", &init, err);
  if (st == PROMO_OK)
    st = read_name(json, "optimizer", kOptimizerNames, COUNT(kOptimizerNames),
                   "adam, adamw or sgd", &optimizer, err);
  if (st == PROMO_OK)
    st = read_name(json, "schedule", kScheduleNames, COUNT(kScheduleNames),
                   "constant, step or cosine", &schedule, err);
  opt->task = (promo_task)task;
  opt->activation = (promo_activation)activation;
  opt->init = (promo_init)init;
  opt->optimizer = (promo_optimizer)optimizer;
  opt->schedule = (promo_schedule)schedule;
  return st;
}

promo_status promo_nn_options_from_json(const json_t *json, promo_nn_options *opt,
                                        promo_error *err) {
  promo_nn_options_init(opt);
  if (!json_is_object(json))
    return promo_error_set(err, PROMO_ERR_DATA, "%s",
                           _("network options must be a JSON object"));
  promo_status st = check_keys(json, err);
  if (st == PROMO_OK) st = read_enums(json, opt, err);
  if (st == PROMO_OK) st = read_hidden(json, opt, err);
  if (st == PROMO_OK) st = read_embeddings(json, opt, err);
  if (st != PROMO_OK) return st;

  double dropout = opt->dropout;
  struct {
    const char *key;
    double *value;
  } reals[] = {{"dropout", &dropout},          {"learning_rate", &opt->learning_rate},
               {"beta1", &opt->beta1},         {"beta2", &opt->beta2},
               {"epsilon", &opt->epsilon},     {"momentum", &opt->momentum},
               {"weight_decay", &opt->weight_decay}, {"step_gamma", &opt->step_gamma},
               {"clip_norm", &opt->clip_norm}, {"pos_weight", &opt->pos_weight}};
  for (size_t i = 0; i < COUNT(reals) && st == PROMO_OK; i++)
    st = read_double(json, reals[i].key, reals[i].value, err);
  opt->dropout = (float)dropout;

  struct {
    const char *key;
    size_t *value;
  } sizes[] = {{"step_epochs", &opt->step_epochs}, {"warmup_steps", &opt->warmup_steps},
               {"batch_size", &opt->batch_size},   {"epochs", &opt->epochs},
               {"patience", &opt->patience}};
  for (size_t i = 0; i < COUNT(sizes) && st == PROMO_OK; i++)
    st = read_size(json, sizes[i].key, sizes[i].value, err);
  if (st == PROMO_OK) st = read_bool(json, "layer_norm", &opt->layer_norm, err);
  if (st == PROMO_OK) st = read_bool(json, "restore_best", &opt->restore_best, err);
  if (st == PROMO_OK) st = read_seed(json, &opt->seed, err);
  if (st != PROMO_OK) return st;

  /* Values of the right type can still be out of range (a dropout of 2). */
  st = nn_check_options(opt, err);
  if (st != PROMO_OK && err != NULL) err->status = PROMO_ERR_DATA;
  return st != PROMO_OK ? PROMO_ERR_DATA : PROMO_OK;
}
