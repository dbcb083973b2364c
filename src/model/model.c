/* Model save and load for the model stage: the network's tensors, its options, the fitted
 * feature pipeline and the training record in one model file, checked on the way back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "promo/feature.h"
#include "promo/model.h"

static promo_status out_of_memory(promo_error *err) {
  return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
}

/* Add key = compact JSON text of value to metadata; steals value. */
static int set_json_string(json_t *metadata, const char *key, json_t *value) {
  if (value == NULL) return -1;
  char *text = json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(value);
  if (text == NULL) return -1;
  int rc = json_object_set_new(metadata, key, json_string(text));
  free(text);
  return rc;
}

static json_t *build_metadata(const promo_nn *nn, const promo_pipeline *pipeline,
                              const json_t *training) {
  json_t *metadata = json_object(), *options = NULL, *steps = NULL;
  if (metadata == NULL) return NULL;
  char n_inputs[32];
  snprintf(n_inputs, sizeof n_inputs, "%zu", promo_nn_n_inputs(nn));
  bool ok = promo_nn_options_to_json(promo_nn_get_options(nn), &options) == PROMO_OK &&
            set_json_string(metadata, "model", options) == 0 &&
            promo_pipeline_to_json(pipeline, &steps) == PROMO_OK &&
            set_json_string(metadata, "pipeline", steps) == 0 &&
            set_json_string(metadata, "training",
                            training != NULL ? json_incref((json_t *)training) : json_object()) == 0 &&
            json_object_set_new(metadata, "n_inputs", json_string(n_inputs)) == 0 &&
            json_object_set_new(metadata, "promo_version", json_string(promo_version())) == 0;
  if (!ok) {
    json_decref(metadata);
    return NULL;
  }
  return metadata;
}

promo_status promo_model_save(const char *path, promo_nn *nn, const promo_pipeline *pipeline,
                              const json_t *training, promo_error *err) {
  json_t *metadata = build_metadata(nn, pipeline, training);
  if (metadata == NULL) return out_of_memory(err);
  size_t n_tensors = promo_nn_n_tensors(nn);
  promo_tensor *tensors = calloc(n_tensors > 0 ? n_tensors : 1, sizeof *tensors);
  if (tensors == NULL) {
    json_decref(metadata);
    return out_of_memory(err);
  }

  const float *slab = promo_nn_params(nn);
  for (size_t i = 0; i < n_tensors; i++) {
    size_t offset = 0;
    tensors[i].name = promo_nn_tensor_name(nn, i);
    promo_nn_tensor_shape(nn, i, &tensors[i].n_dims, tensors[i].dims, &offset);
    tensors[i].data = slab + offset;
  }
  promo_status st = promo_model_file_write(path, tensors, n_tensors, metadata, err);
  free(tensors);
  json_decref(metadata);
  return st;
}

/* Metadata value `key` as a string; PROMO_ERR_DATA naming the key when it is absent. */
static promo_status metadata_string(const json_t *metadata, const char *key, const char *path,
                                    const char **out, promo_error *err) {
  *out = json_string_value(json_object_get(metadata, key));
  if (*out != NULL) return PROMO_OK;
  promo_error_at(err, path, 0, 0);
  return promo_error_set(err, PROMO_ERR_DATA,
                         _("the model file has no \"%s\" metadata; it was not written by "
                           "'promo train', so train the model again"),
                         key);
}

/* Metadata value `key` parsed as JSON. */
static promo_status metadata_json(const json_t *metadata, const char *key, const char *path,
                                  json_t **out, promo_error *err) {
  const char *text;
  promo_status st = metadata_string(metadata, key, path, &text, err);
  if (st != PROMO_OK) return st;
  json_error_t jerr;
  *out = json_loads(text, 0, &jerr);
  if (*out != NULL) return PROMO_OK;
  promo_error_at(err, path, 0, 0);
  return promo_error_set(err, PROMO_ERR_DATA, _("the model file's \"%s\" metadata is not valid JSON: %s"),
                         key, jerr.text);
}

static promo_status read_n_inputs(const json_t *metadata, const char *path, size_t *out,
                                  promo_error *err) {
  const char *text;
  promo_status st = metadata_string(metadata, "n_inputs", path, &text, err);
  if (st != PROMO_OK) return st;
  char *end;
  errno = 0;
  unsigned long long n = strtoull(text, &end, 10);
  if (errno == 0 && end != text && *end == '\0' && text[0] != '-' && n > 0 && n <= SIZE_MAX) {
    *out = (size_t)n;
    return PROMO_OK;
  }
  promo_error_at(err, path, 0, 0);
  promo_error_value(err, text, -1);
  return promo_error_set(err, PROMO_ERR_DATA, "%s",
                         _("the model file's \"n_inputs\" metadata is not a positive whole number"));
}

/* Check that the file contains exactly the network's tensors with their shapes, and copy
 * their values into the parameter slab. */
static promo_status copy_tensors(const promo_model_file *file, promo_nn *nn, const char *path,
                                 promo_error *err) {
  size_t n_tensors = promo_nn_n_tensors(nn);
  float *slab = promo_nn_params(nn);
  promo_error_at(err, path, 0, 0);
  if (promo_model_file_n_tensors(file) != n_tensors)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("the model file holds %zu tensors, but its architecture needs %zu"),
                           promo_model_file_n_tensors(file), n_tensors);
  for (size_t i = 0; i < n_tensors; i++) {
    const char *name = promo_nn_tensor_name(nn, i);
    size_t n_dims = 0, dims[2] = {0, 0}, offset = 0;
    promo_nn_tensor_shape(nn, i, &n_dims, dims, &offset);
    const promo_tensor *t = promo_model_file_find(file, name);
    if (t == NULL)
      return promo_error_set(err, PROMO_ERR_DATA, _("the model file has no tensor \"%s\""), name);
    size_t file_dim1 = t->n_dims == 2 ? t->dims[1] : 0;
    if (t->n_dims != n_dims || t->dims[0] != dims[0] || file_dim1 != dims[1])
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("tensor \"%s\" has shape [%zu, %zu] in the model file, but the "
                               "architecture needs [%zu, %zu] (0 for one dimension)"),
                             name, t->dims[0], file_dim1, dims[0], dims[1]);
    size_t n_values = dims[0] * (n_dims == 2 ? dims[1] : 1);
    if (n_values > 0) memcpy(slab + offset, t->data, n_values * sizeof *slab);
  }
  return PROMO_OK;
}

/* Rebuild the network from the options and n_inputs metadata and fill its weights. */
static promo_status load_network(const promo_model_file *file, const char *path, promo_nn **out,
                                 promo_error *err) {
  const json_t *metadata = promo_model_file_metadata(file);
  json_t *options_json = NULL;
  size_t n_inputs = 0;
  promo_status st = read_n_inputs(metadata, path, &n_inputs, err);
  if (st == PROMO_OK) st = metadata_json(metadata, "model", path, &options_json, err);
  if (st != PROMO_OK) return st;

  promo_nn_options opt;
  st = promo_nn_options_from_json(options_json, &opt, err);
  json_decref(options_json);
  if (st == PROMO_OK) st = promo_nn_create(n_inputs, &opt, out, err);
  if (st != PROMO_OK) {
    if (st != PROMO_ERR_NOMEM) st = PROMO_ERR_DATA;
    err->status = st;
    promo_error_at(err, path, 0, 0);
    return st;
  }
  st = copy_tensors(file, *out, path, err);
  if (st != PROMO_OK) {
    promo_nn_free(*out);
    *out = NULL;
  }
  return st;
}

static promo_status load_pipeline(const json_t *metadata, const char *path, size_t n_inputs,
                                  promo_pipeline **out, promo_error *err) {
  json_t *steps = NULL;
  promo_status st = metadata_json(metadata, "pipeline", path, &steps, err);
  if (st != PROMO_OK) return st;
  st = promo_pipeline_from_json(steps, out, err);
  json_decref(steps);
  if (st != PROMO_OK) {
    promo_error_at(err, path, 0, 0);
    return st;
  }
  if (promo_pipeline_n_outputs(*out) == n_inputs) return PROMO_OK;
  promo_error_at(err, path, 0, 0);
  st = promo_error_set(err, PROMO_ERR_DATA,
                       _("the model file's pipeline makes %zu features, but its network takes %zu"),
                       promo_pipeline_n_outputs(*out), n_inputs);
  promo_pipeline_free(*out);
  *out = NULL;
  return st;
}

promo_status promo_model_load(const char *path, promo_nn **nn, promo_pipeline **pipeline,
                              json_t **training, promo_error *err) {
  *nn = NULL;
  *pipeline = NULL;
  if (training != NULL) *training = NULL;
  promo_model_file *file = NULL;
  promo_status st = promo_model_file_read(path, &file, err);
  if (st != PROMO_OK) return st;

  const json_t *metadata = promo_model_file_metadata(file);
  st = load_network(file, path, nn, err);
  if (st == PROMO_OK) st = load_pipeline(metadata, path, promo_nn_n_inputs(*nn), pipeline, err);
  if (st == PROMO_OK && training != NULL) st = metadata_json(metadata, "training", path, training, err);
  promo_model_file_free(file);
  if (st != PROMO_OK) {
    promo_nn_free(*nn);
    promo_pipeline_free(*pipeline);
    *nn = NULL;
    *pipeline = NULL;
  }
  return st;
}
