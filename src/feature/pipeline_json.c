/* The fitted pipeline as JSON, for the model file and `promo features --save-pipeline`:
 * every step's own JSON, the output names and the scaling of derived outputs. */
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "feature/pipeline_internal.h"

#define PIPELINE_FORMAT 1

static int set(json_t *obj, const char *key, json_t *value) {
  return value == NULL ? -1 : json_object_set_new(obj, key, value);
}

static json_t *string_or_null(const char *s) { return s != NULL ? json_string(s) : json_null(); }

promo_status promo_pipeline_to_json(const promo_pipeline *p, json_t **out) {
  *out = NULL;
  json_t *root = json_object();
  json_t *inputs = json_array(), *encoders = json_array(), *times = json_array();
  json_t *offers = json_array(), *scalers = json_array(), *outputs = json_array();
  json_t *decisions = json_array();
  int bad = root == NULL || inputs == NULL || encoders == NULL || times == NULL || offers == NULL ||
            scalers == NULL || outputs == NULL || decisions == NULL;

  for (size_t i = 0; !bad && i < p->n_inputs; i++) {
    json_t *in = json_object();
    bad |= in == NULL || set(in, "name", json_string(p->input_names[i])) ||
           set(in, "type", json_string(promo_type_name(p->input_types[i]))) ||
           json_array_append_new(inputs, in);
  }
  for (size_t i = 0; !bad && i < p->n_encoders; i++) {
    json_t *e;
    bad |= promo_encoder_to_json(p->encoders[i], &e) != PROMO_OK || json_array_append_new(encoders, e);
  }
  for (size_t i = 0; !bad && i < p->n_times; i++) {
    json_t *e;
    bad |= promo_timefeat_to_json(p->times[i], &e) != PROMO_OK || json_array_append_new(times, e);
  }
  for (size_t i = 0; !bad && i < p->n_offers; i++) {
    json_t *o = json_object();
    bad |= o == NULL || set(o, "column", json_string(p->offers[i].column)) ||
           set(o, "price_column", string_or_null(p->offers[i].price_column)) ||
           set(o, "reject", json_boolean(p->offers[i].reject)) || json_array_append_new(offers, o);
  }
  for (size_t i = 0; !bad && i < p->n_pca_inputs; i++) {
    json_t *e;
    bad |= promo_encoder_to_json(p->pca_scalers[i], &e) != PROMO_OK || json_array_append_new(scalers, e);
  }
  for (size_t j = 0; !bad && j < p->n_outputs; j++) {
    json_t *o = json_object();
    bad |= o == NULL || set(o, "name", json_string(p->names[j])) ||
           set(o, "source", json_string(p->sources[j])) ||
           set(o, "derived", json_boolean(p->is_derived[j])) || set(o, "mean", json_real(p->mean[j])) ||
           set(o, "std", json_real(p->std[j])) || json_array_append_new(outputs, o);
  }
  for (size_t i = 0; !bad && i < p->n_decisions; i++)
    bad |= json_array_append_new(decisions, json_string(p->decisions[i]));

  json_t *window = json_null(), *pca = json_null();
  if (!bad && p->window != NULL) bad |= promo_window_to_json(p->window, &window) != PROMO_OK;
  if (!bad && p->pca != NULL) bad |= promo_pca_to_json(p->pca, &pca) != PROMO_OK;
  if (!bad) {
    bad |= set(root, "format", json_integer(PIPELINE_FORMAT)) ||
           set(root, "target", string_or_null(p->target)) || set(root, "inputs", inputs) ||
           set(root, "encoders", encoders) || set(root, "times", times) || set(root, "offers", offers) ||
           set(root, "window", window) || set(root, "pca_scalers", scalers) || set(root, "pca", pca) ||
           set(root, "outputs", outputs) || set(root, "decisions", decisions);
    inputs = encoders = times = offers = scalers = outputs = decisions = NULL;
  }
  if (bad) {
    json_decref(root);
    json_decref(inputs);
    json_decref(encoders);
    json_decref(times);
    json_decref(offers);
    json_decref(scalers);
    json_decref(outputs);
    json_decref(decisions);
    return PROMO_ERR_NOMEM;
  }
  *out = root;
  return PROMO_OK;
}

/* ---- reading ---- */

static promo_status malformed(promo_error *err, const char *member) {
  return promo_error_set(err, PROMO_ERR_DATA, _("pipeline member '%s' is missing or malformed"), member);
}

static const json_t *array_member(const json_t *root, const char *key) {
  const json_t *a = json_object_get(root, key);
  return json_is_array(a) ? a : NULL;
}

static promo_status read_inputs(promo_pipeline *p, const json_t *root, promo_error *err) {
  const json_t *inputs = array_member(root, "inputs");
  if (inputs == NULL) return malformed(err, "inputs");
  size_t n = json_array_size(inputs);
  p->input_names = calloc(n > 0 ? n : 1, sizeof *p->input_names);
  p->input_types = calloc(n > 0 ? n : 1, sizeof *p->input_types);
  if (p->input_names == NULL || p->input_types == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  for (size_t i = 0; i < n; i++) {
    const json_t *in = json_array_get(inputs, i);
    const char *name = json_string_value(json_object_get(in, "name"));
    const char *type = json_string_value(json_object_get(in, "type"));
    promo_type t;
    if (name == NULL || type == NULL || !promo_type_parse(type, &t)) return malformed(err, "inputs");
    if ((p->input_names[i] = pipeline_strdup(name)) == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    p->input_types[i] = t;
    p->n_inputs++;
  }
  return PROMO_OK;
}

/* Read an array of encoder objects into a new array. */
static promo_status read_encoders(const json_t *root, const char *key, promo_encoder ***out,
                                  size_t *n_out, promo_error *err) {
  const json_t *a = array_member(root, key);
  if (a == NULL) return malformed(err, key);
  size_t n = json_array_size(a);
  *out = calloc(n > 0 ? n : 1, sizeof **out);
  if (*out == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  for (size_t i = 0; i < n; i++) {
    promo_status st = promo_encoder_from_json(json_array_get(a, i), &(*out)[i], err);
    if (st != PROMO_OK) return st;
    (*n_out)++;
  }
  return PROMO_OK;
}

static promo_status read_steps(promo_pipeline *p, const json_t *root, promo_error *err) {
  promo_status st = read_encoders(root, "encoders", &p->encoders, &p->n_encoders, err);
  if (st == PROMO_OK) st = read_encoders(root, "pca_scalers", &p->pca_scalers, &p->n_pca_inputs, err);
  if (st != PROMO_OK) return st;

  const json_t *times = array_member(root, "times");
  const json_t *offers = array_member(root, "offers");
  if (times == NULL) return malformed(err, "times");
  if (offers == NULL) return malformed(err, "offers");
  p->times = calloc(json_array_size(times) + 1, sizeof *p->times);
  p->offers = calloc(json_array_size(offers) + 1, sizeof *p->offers);
  if (p->times == NULL || p->offers == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  for (size_t i = 0; i < json_array_size(times); i++) {
    if ((st = promo_timefeat_from_json(json_array_get(times, i), &p->times[i], err)) != PROMO_OK) return st;
    p->n_times++;
  }
  for (size_t i = 0; i < json_array_size(offers); i++) {
    const json_t *o = json_array_get(offers, i);
    const char *column = json_string_value(json_object_get(o, "column"));
    const json_t *price = json_object_get(o, "price_column");
    const json_t *reject = json_object_get(o, "reject");
    if (column == NULL || !(json_is_string(price) || json_is_null(price)) || !json_is_boolean(reject))
      return malformed(err, "offers");
    offer_step *step = &p->offers[p->n_offers++];
    step->column = pipeline_strdup(column);
    step->price_column = pipeline_strdup(json_string_value(price));
    step->reject = json_is_true(reject);
    if (step->column == NULL || (json_is_string(price) && step->price_column == NULL))
      return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  }

  const json_t *window = json_object_get(root, "window");
  if (json_is_object(window) && (st = promo_window_from_json(window, &p->window, err)) != PROMO_OK) return st;
  const json_t *pca = json_object_get(root, "pca");
  if (json_is_object(pca) && (st = promo_pca_from_json(pca, &p->pca, err)) != PROMO_OK) return st;
  return PROMO_OK;
}

static promo_status read_outputs(promo_pipeline *p, const json_t *root, promo_error *err) {
  const json_t *outputs = array_member(root, "outputs");
  if (outputs == NULL) return malformed(err, "outputs");
  size_t n = json_array_size(outputs);
  if (pipeline_alloc_outputs(p, n) != PROMO_OK) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  bool in_derived = false;
  p->derived_begin = p->derived_end = 0;
  for (size_t j = 0; j < n; j++) {
    const json_t *o = json_array_get(outputs, j);
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *source = json_string_value(json_object_get(o, "source"));
    const json_t *derived = json_object_get(o, "derived");
    const json_t *mean = json_object_get(o, "mean"), *std = json_object_get(o, "std");
    if (name == NULL || source == NULL || !json_is_boolean(derived) || !json_is_number(mean) ||
        !json_is_number(std))
      return malformed(err, "outputs");
    p->names[j] = pipeline_strdup(name);
    p->sources[j] = pipeline_strdup(source);
    if (p->names[j] == NULL || p->sources[j] == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    p->is_derived[j] = json_is_true(derived);
    p->mean[j] = json_number_value(mean);
    p->std[j] = json_number_value(std);
    if (p->is_derived[j] && !in_derived) {
      p->derived_begin = j;
      in_derived = true;
    }
    if (p->is_derived[j]) p->derived_end = j + 1;
  }
  if (!in_derived) {
    /* No derived outputs: the empty range sits after the encoders. */
    size_t n_enc = 0;
    for (size_t e = 0; e < p->n_encoders; e++) n_enc += promo_encoder_n_outputs(p->encoders[e]);
    p->derived_begin = p->derived_end = n_enc;
  }
  return PROMO_OK;
}

/* Check that the steps produce exactly the outputs listed. */
static promo_status check_layout(const promo_pipeline *p, promo_error *err) {
  size_t n = 0;
  for (size_t e = 0; e < p->n_encoders; e++) n += promo_encoder_n_outputs(p->encoders[e]);
  if (n != p->derived_begin) return malformed(err, "outputs");
  for (size_t i = 0; i < p->n_times; i++) n += promo_timefeat_n_outputs(p->times[i]);
  for (size_t i = 0; i < p->n_offers; i++) n += offer_step_n_outputs(&p->offers[i]);
  if (p->window != NULL) n += promo_window_n_specs(p->window);
  if (n != p->derived_end) return malformed(err, "outputs");
  if (p->pca != NULL) n += promo_pca_n_components(p->pca);
  if (n != p->n_outputs) return malformed(err, "outputs");
  return PROMO_OK;
}

promo_status promo_pipeline_from_json(const json_t *root, promo_pipeline **out, promo_error *err) {
  *out = NULL;
  if (!json_is_object(root)) return malformed(err, "(root)");
  const json_t *format = json_object_get(root, "format");
  if (!json_is_integer(format)) return malformed(err, "format");
  if (json_integer_value(format) > PIPELINE_FORMAT)
    return promo_error_set(err, PROMO_ERR_UNSUPPORTED,
                           _("the pipeline was written by a newer promo (format %lld); upgrade promo"),
                           (long long)json_integer_value(format));
  promo_pipeline *p = calloc(1, sizeof *p);
  if (p == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  const json_t *target = json_object_get(root, "target");
  promo_status st = PROMO_OK;
  if (json_is_string(target) && (p->target = pipeline_strdup(json_string_value(target))) == NULL)
    st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  if (st == PROMO_OK) st = read_inputs(p, root, err);
  if (st == PROMO_OK) st = read_steps(p, root, err);
  if (st == PROMO_OK) st = read_outputs(p, root, err);
  if (st == PROMO_OK) st = check_layout(p, err);
  const json_t *decisions = array_member(root, "decisions");
  if (st == PROMO_OK && decisions != NULL) {
    p->decisions = calloc(json_array_size(decisions) + 1, sizeof *p->decisions);
    if (p->decisions == NULL) st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    for (size_t i = 0; st == PROMO_OK && i < json_array_size(decisions); i++) {
      const char *text = json_string_value(json_array_get(decisions, i));
      if (text == NULL) continue;
      if ((p->decisions[p->n_decisions] = pipeline_strdup(text)) == NULL)
        st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
      else
        p->n_decisions++;
    }
  }
  if (st != PROMO_OK) {
    promo_pipeline_free(p);
    return st;
  }
  *out = p;
  return PROMO_OK;
}
