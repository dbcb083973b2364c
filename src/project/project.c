/* Reads the project file of `promo run` into a checked promo_project: every key is known,
 * every value has its type, and errors name the key and its line. */
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "project/project_internal.h"

#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

static promo_status nomem(promo_error *err) {
  return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
}

char *project_resolve(const promo_project *p, const char *path) {
  if (path[0] == '/' || strcmp(p->dir, ".") == 0) return strdup(path);
  size_t n = strlen(p->dir) + strlen(path) + 2;
  char *out = malloc(n);
  if (out != NULL) snprintf(out, n, "%s/%s", p->dir, path);
  return out;
}

/* A path value, resolved against the project folder into *out. */
static promo_status read_path(promo_project *p, const yaml_node_t *node, const char *name, char **out,
                              promo_error *err) {
  const char *text = NULL;
  promo_status st = yml_string(&p->y, node, name, &text, err);
  if (st != PROMO_OK) return st;
  if (text[0] == '\0') return yml_fail(&p->y, node, err, _("'%s' is empty; give a file path"), name);
  free(*out);
  *out = project_resolve(p, text);
  return *out != NULL ? PROMO_OK : nomem(err);
}

/* sources.lookups: a list of {path, key, data_key}. */
static promo_status read_lookups(promo_project *p, const yaml_node_t *node, promo_error *err) {
  yml *y = &p->y;
  promo_status st = yml_expect(y, node, YAML_SEQUENCE_NODE, "lookups", err);
  if (st != PROMO_OK) return st;
  if (yml_length(node) > PROJECT_MAX_LOOKUPS)
    return yml_fail(y, node, err, _("'lookups' lists more than %d tables"), PROJECT_MAX_LOOKUPS);
  for (size_t i = 0; i < yml_length(node); i++) {
    yaml_node_t *item = yml_item(y, node, i), *v;
    project_lookup *l = &p->lookups[p->n_lookups++];
    if ((st = yml_check_keys(y, item, "lookups", KEYS("path", "key", "data_key"), err)) != PROMO_OK) return st;
    if ((v = yml_get(y, item, "path")) == NULL)
      return yml_fail(y, item, err, "%s", _("each lookup needs 'path': the CSV file to join"));
    if ((st = read_path(p, v, "path", &l->path, err)) != PROMO_OK) return st;
    if ((v = yml_get(y, item, "key")) == NULL)
      return yml_fail(y, item, err, "%s", _("each lookup needs 'key': the column that matches the data's rows"));
    if ((st = yml_string(y, v, "key", &l->key, err)) != PROMO_OK) return st;
    l->data_key = l->key;
    if ((v = yml_get(y, item, "data_key")) != NULL && (st = yml_string(y, v, "data_key", &l->data_key, err)))
      return st;
  }
  return PROMO_OK;
}

/* sources: data (required), events, calendar, lookups. */
static promo_status read_sources(promo_project *p, const yaml_node_t *node, promo_error *err) {
  promo_status st = yml_check_keys(&p->y, node, "sources", KEYS("data", "events", "calendar", "lookups"), err);
  if (st != PROMO_OK) return st;
  yaml_node_t *v;
  if ((v = yml_get(&p->y, node, "data")) == NULL)
    return yml_fail(&p->y, node, err, "%s", _("'sources' needs 'data': the CSV file with the target column"));
  if ((st = read_path(p, v, "data", &p->data_path, err)) != PROMO_OK) return st;
  if ((v = yml_get(&p->y, node, "events")) != NULL && (st = read_path(p, v, "events", &p->events_path, err)) != PROMO_OK)
    return st;
  if ((v = yml_get(&p->y, node, "calendar")) != NULL &&
      (st = read_path(p, v, "calendar", &p->calendar_path, err)) != PROMO_OK)
    return st;
  if ((v = yml_get(&p->y, node, "lookups")) != NULL && (st = read_lookups(p, v, err)) != PROMO_OK) return st;
  return PROMO_OK;
}

static promo_status parse_missing_action(promo_project *p, const yaml_node_t *node, const char *name,
                                         promo_clean_missing_rule *rule, promo_error *err) {
  static const struct {
    const char *name;
    promo_missing_action action;
  } actions[] = {{"keep", PROMO_MISSING_KEEP}, {"drop", PROMO_MISSING_DROP}, {"median", PROMO_MISSING_MEDIAN},
                 {"mean", PROMO_MISSING_MEAN}, {"mode", PROMO_MISSING_MODE}, {"flag", PROMO_MISSING_FLAG},
                 {"auto", PROMO_MISSING_AUTO}};
  const char *text = NULL;
  promo_status st = yml_string(&p->y, node, name, &text, err);
  if (st != PROMO_OK) return st;
  for (size_t k = 0; k < sizeof actions / sizeof actions[0]; k++) {
    if (strcmp(text, actions[k].name) == 0) {
      rule->action = actions[k].action;
      return PROMO_OK;
    }
  }
  /* Anything else is the constant to fill in, as `promo clean --missing COL=VALUE`. */
  rule->action = PROMO_MISSING_VALUE;
  rule->value = text;
  return PROMO_OK;
}

/* clean: duplicates, keys, keep, time, missing, outliers. */
static promo_status read_clean(promo_project *p, const yaml_node_t *node, promo_error *err) {
  yml *y = &p->y;
  if (node->type == YAML_SCALAR_NODE) return yml_bool(y, node, "clean", &p->clean, err);
  promo_status st =
      yml_check_keys(y, node, "clean", KEYS("duplicates", "keys", "keep", "time", "missing", "missing_default"), err);
  if (st != PROMO_OK) return st;
  promo_clean_options *c = &p->clean_opt;
  yaml_node_t *v;
  if ((v = yml_get(y, node, "duplicates")) != NULL && (st = yml_bool(y, v, "duplicates", &c->remove_duplicates, err)))
    return st;
  if ((v = yml_get(y, node, "keys")) != NULL) {
    if ((st = yml_string_list(y, v, "keys", &p->key_columns, &p->n_key_columns, err)) != PROMO_OK) return st;
    c->key_columns = (promo_name_list){p->key_columns, p->n_key_columns};
  }
  if ((v = yml_get(y, node, "keep")) != NULL) {
    const char *keep = NULL;
    if ((st = yml_string(y, v, "keep", &keep, err)) != PROMO_OK) return st;
    if (strcmp(keep, "first") != 0 && strcmp(keep, "latest") != 0)
      return yml_fail(y, v, err, _("'keep' must be first or latest, but it is '%s'"), keep);
    c->keep = strcmp(keep, "latest") == 0 ? PROMO_KEEP_LATEST : PROMO_KEEP_FIRST;
  }
  if ((v = yml_get(y, node, "time")) != NULL && (st = yml_string(y, v, "time", &c->time_column, err)) != PROMO_OK)
    return st;
  if (c->keep == PROMO_KEEP_LATEST && c->time_column == NULL)
    return yml_fail(y, node, err, "%s", _("'keep: latest' needs 'time': the column that says which row is latest"));
  if ((v = yml_get(y, node, "missing_default")) != NULL) {
    promo_clean_missing_rule rule = {0};
    if ((st = parse_missing_action(p, v, "missing_default", &rule, err)) != PROMO_OK) return st;
    c->missing_default = rule.action;
    c->missing_default_value = rule.value;
  }
  if ((v = yml_get(y, node, "missing")) != NULL) {
    if ((st = yml_expect(y, v, YAML_MAPPING_NODE, "missing", err)) != PROMO_OK) return st;
    for (size_t i = 0; i < yml_length(v) && i < PROJECT_MAX_ITEMS; i++) {
      yaml_node_t *key, *value;
      yml_pair(y, v, i, &key, &value);
      promo_clean_missing_rule *rule = &p->missing[p->n_missing++];
      rule->column = yml_scalar(key);
      if ((st = parse_missing_action(p, value, rule->column, rule, err)) != PROMO_OK) return st;
    }
    c->missing_rules = p->missing;
    c->n_missing_rules = p->n_missing;
  }
  return PROMO_OK;
}

/* derive: NAME: EXPRESSION, evaluated in the order given. */
static promo_status read_derive(promo_project *p, const yaml_node_t *node, promo_error *err) {
  promo_status st = yml_expect(&p->y, node, YAML_MAPPING_NODE, "derive", err);
  if (st != PROMO_OK) return st;
  if (yml_length(node) > PROJECT_MAX_ITEMS)
    return yml_fail(&p->y, node, err, _("'derive' has more than %d columns"), PROJECT_MAX_ITEMS);
  for (size_t i = 0; i < yml_length(node); i++) {
    yaml_node_t *key, *value;
    yml_pair(&p->y, node, i, &key, &value);
    const char *name = yml_scalar(key);
    if (name == NULL) return yml_fail(&p->y, key, err, "%s", _("a derived column needs a plain name"));
    if ((st = yml_string(&p->y, value, name, &p->derive_exprs[i], err)) != PROMO_OK) return st;
    p->derive_names[i] = name;
    p->derive_lines[i] = yml_line(value);
  }
  p->n_derive = yml_length(node);
  return PROMO_OK;
}

/* features: ignore, id, transforms, time, windows, pca, price. */
static promo_status read_features(promo_project *p, const yaml_node_t *node, promo_error *err) {
  yml *y = &p->y;
  promo_status st = yml_check_keys(
      y, node, "features", KEYS("ignore", "id", "transforms", "time", "windows", "pca", "pca_variance", "price",
                                "event_time", "event_type", "row_time", "row_keys"),
      err);
  if (st != PROMO_OK) return st;
  promo_pipeline_options *o = &p->trainer.pipeline;
  yaml_node_t *v;
  if ((v = yml_get(y, node, "ignore")) != NULL && (st = yml_string_list(y, v, "ignore", &p->ignore, &p->n_ignore, err)))
    return st;
  if ((v = yml_get(y, node, "id")) != NULL && (st = yml_string_list(y, v, "id", &p->ids, &p->n_ids, err))) return st;
  if (p->n_ignore + p->n_ids > 2 * PROJECT_MAX_ITEMS)
    return yml_fail(y, node, err, _("'ignore' and 'id' name more than %d columns"), 2 * PROJECT_MAX_ITEMS);
  if ((v = yml_get(y, node, "transforms")) != NULL) {
    if ((st = yml_expect(y, v, YAML_MAPPING_NODE, "transforms", err)) != PROMO_OK) return st;
    for (size_t i = 0; i < yml_length(v) && p->n_rules < PROJECT_MAX_ITEMS; i++) {
      yaml_node_t *key, *value;
      yml_pair(y, v, i, &key, &value);
      promo_pipeline_rule *rule = &p->rules[p->n_rules++];
      rule->column = yml_scalar(key);
      if ((st = yml_string(y, value, rule->column, &rule->transform, err)) != PROMO_OK) return st;
    }
  }
  if ((v = yml_get(y, node, "time")) != NULL && (st = yml_string(y, v, "time", &o->time_spec, err))) return st;
  if ((v = yml_get(y, node, "windows")) != NULL &&
      (st = yml_string_list(y, v, "windows", &p->windows, &p->n_windows, err)))
    return st;
  /* The run computes the windows once, as columns of the data (see run_load_data). The
   * pipeline then reads them as numbers, and the planner's units carry them. */
  o->window_specs = NULL;
  o->n_window_specs = 0;
  if ((v = yml_get(y, node, "pca")) != NULL && (st = yml_count(y, v, "pca", 0, 100000, &o->pca_components, err)))
    return st;
  if ((v = yml_get(y, node, "pca_variance")) != NULL &&
      (st = yml_number(y, v, "pca_variance", 0.01, 1, &o->pca_variance, err)))
    return st;
  if ((v = yml_get(y, node, "price")) != NULL && (st = yml_string(y, v, "price", &o->price_column, err))) return st;
  if ((v = yml_get(y, node, "event_time")) != NULL &&
      (st = yml_string(y, v, "event_time", &o->window.event_time_column, err)))
    return st;
  if ((v = yml_get(y, node, "event_type")) != NULL &&
      (st = yml_string(y, v, "event_type", &o->window.event_type_column, err)))
    return st;
  if ((v = yml_get(y, node, "row_time")) != NULL &&
      (st = yml_string(y, v, "row_time", &o->window.row_time_column, err)))
    return st;
  if ((v = yml_get(y, node, "row_keys")) != NULL) {
    if ((st = yml_expect(y, v, YAML_MAPPING_NODE, "row_keys", err)) != PROMO_OK) return st;
    if (yml_length(v) > 16) return yml_fail(y, v, err, "%s", _("'row_keys' may rename at most 16 key columns"));
    for (size_t i = 0; i < yml_length(v); i++) {
      yaml_node_t *key, *value;
      yml_pair(y, v, i, &key, &value);
      p->event_keys[i] = yml_scalar(key);
      if ((st = yml_string(y, value, p->event_keys[i], &p->row_keys[i], err)) != PROMO_OK) return st;
    }
    p->n_key_renames = yml_length(v);
    o->window.n_key_renames = p->n_key_renames;
    o->window.event_keys = p->event_keys;
    o->window.row_keys = p->row_keys;
  }
  if (p->n_windows > 0 && (o->window.event_time_column == NULL || o->window.row_time_column == NULL))
    return yml_fail(y, node, err, "%s",
                    _("'windows' need 'event_time' and 'row_time': the time columns of the events and of the rows"));
  if (p->n_windows > 0 && p->events_path == NULL)
    return yml_fail(y, node, err, "%s", _("'windows' need behavior events: add 'events' under 'sources'"));
  return PROMO_OK;
}

/* model: target, task, layers, epochs, batch, learning_rate, dropout, valid, valid_time,
 * patience, seed, embeddings. */
static promo_status read_model(promo_project *p, const yaml_node_t *node, promo_error *err) {
  yml *y = &p->y;
  promo_status st = yml_check_keys(y, node, "model",
                                   KEYS("target", "task", "layers", "epochs", "batch", "learning_rate", "dropout",
                                        "valid", "valid_time", "patience", "seed", "embeddings", "weight_decay"),
                                   err);
  if (st != PROMO_OK) return st;
  promo_nn_options *nn = &p->trainer.nn;
  yaml_node_t *v;
  if ((v = yml_get(y, node, "target")) == NULL)
    return yml_fail(y, node, err, "%s", _("'model' needs 'target': the column to predict"));
  if ((st = yml_string(y, v, "target", &p->trainer.pipeline.target, err)) != PROMO_OK) return st;
  if ((v = yml_get(y, node, "task")) != NULL) {
    if ((st = yml_string(y, v, "task", &p->task, err)) != PROMO_OK) return st;
    if (!promo_model_task_parse(p->task, &nn->task))
      return yml_fail(y, v, err, _("'task' must be binary, regression or poisson, but it is '%s'"), p->task);
  }
  if ((v = yml_get(y, node, "layers")) != NULL) {
    if ((st = yml_expect(y, v, YAML_SEQUENCE_NODE, "layers", err)) != PROMO_OK) return st;
    if (yml_length(v) > PROMO_NN_MAX_HIDDEN)
      return yml_fail(y, v, err, _("'layers' has more than %d hidden layers"), PROMO_NN_MAX_HIDDEN);
    nn->n_hidden = yml_length(v);
    for (size_t i = 0; i < nn->n_hidden; i++)
      if ((st = yml_count(y, yml_item(y, v, i), "layers", 1, 65536, &nn->hidden[i], err)) != PROMO_OK) return st;
  }
  double x = 0;
  if ((v = yml_get(y, node, "epochs")) != NULL && (st = yml_count(y, v, "epochs", 1, 100000, &nn->epochs, err)))
    return st;
  if ((v = yml_get(y, node, "batch")) != NULL && (st = yml_count(y, v, "batch", 1, 1 << 20, &nn->batch_size, err)))
    return st;
  if ((v = yml_get(y, node, "learning_rate")) != NULL &&
      (st = yml_number(y, v, "learning_rate", 1e-9, 10, &nn->learning_rate, err)))
    return st;
  if ((v = yml_get(y, node, "weight_decay")) != NULL &&
      (st = yml_number(y, v, "weight_decay", 0, 1, &nn->weight_decay, err)))
    return st;
  if ((v = yml_get(y, node, "dropout")) != NULL) {
    if ((st = yml_number(y, v, "dropout", 0, 0.95, &x, err)) != PROMO_OK) return st;
    nn->dropout = (float)x;
  }
  if ((v = yml_get(y, node, "valid")) != NULL && (st = yml_number(y, v, "valid", 0, 0.9, &p->valid_share, err)))
    return st;
  if ((v = yml_get(y, node, "valid_time")) != NULL && (st = yml_string(y, v, "valid_time", &p->valid_time, err)))
    return st;
  if ((v = yml_get(y, node, "patience")) != NULL && (st = yml_count(y, v, "patience", 0, 100000, &nn->patience, err)))
    return st;
  if ((v = yml_get(y, node, "seed")) != NULL) {
    if ((st = yml_number(y, v, "seed", 0, 9007199254740992.0, &x, err)) != PROMO_OK) return st;
    nn->seed = (uint64_t)x;
  }
  if ((v = yml_get(y, node, "embeddings")) != NULL && (st = yml_bool(y, v, "embeddings", &p->trainer.embeddings, err)))
    return st;
  if (nn->patience > 0 && p->valid_share == 0)
    return yml_fail(y, node, err, "%s", _("'patience' needs validation rows; set 'valid' above 0"));
  return PROMO_OK;
}

/* evaluation: folds, split, group, time, test (share or after + column), treatment. */
static promo_status read_evaluation(promo_project *p, const yaml_node_t *node, promo_error *err) {
  yml *y = &p->y;
  promo_status st = yml_check_keys(
      y, node, "evaluation", KEYS("folds", "split", "group", "time", "test", "test_after", "test_column",
                                  "metric_group", "treatment", "seed"),
      err);
  if (st != PROMO_OK) return st;
  yaml_node_t *v;
  if ((v = yml_get(y, node, "folds")) != NULL) {
    if ((st = yml_count(y, v, "folds", 0, 100, &p->folds, err)) != PROMO_OK) return st;
    if (p->folds == 1) return yml_fail(y, v, err, "%s", _("'folds' must be 0 (no cross-validation) or at least 2"));
  }
  if ((v = yml_get(y, node, "split")) != NULL) {
    if ((st = yml_string(y, v, "split", &p->split, err)) != PROMO_OK) return st;
    if (strcmp(p->split, "kfold") != 0 && strcmp(p->split, "stratified") != 0 && strcmp(p->split, "group") != 0 &&
        strcmp(p->split, "time") != 0)
      return yml_fail(y, v, err, _("'split' must be kfold, stratified, group or time, but it is '%s'"), p->split);
  }
  if ((v = yml_get(y, node, "group")) != NULL && (st = yml_string(y, v, "group", &p->split_group, err))) return st;
  if ((v = yml_get(y, node, "time")) != NULL && (st = yml_string(y, v, "time", &p->split_time, err))) return st;
  if (p->split != NULL && strcmp(p->split, "group") == 0 && p->split_group == NULL)
    return yml_fail(y, node, err, "%s", _("'split: group' needs 'group': the column whose rows stay together"));
  if (p->split != NULL && strcmp(p->split, "time") == 0 && p->split_time == NULL)
    return yml_fail(y, node, err, "%s", _("'split: time' needs 'time': the column that orders the rows"));
  if ((v = yml_get(y, node, "test")) != NULL && (st = yml_number(y, v, "test", 0, 0.9, &p->test_share, err))) return st;
  if ((v = yml_get(y, node, "test_after")) != NULL && (st = yml_string(y, v, "test_after", &p->test_after, err)))
    return st;
  if ((v = yml_get(y, node, "test_column")) != NULL && (st = yml_string(y, v, "test_column", &p->test_column, err)))
    return st;
  if (p->test_after != NULL && p->test_column == NULL)
    return yml_fail(y, node, err, "%s", _("'test_after' needs 'test_column': the date or number column it applies to"));
  if (p->test_after != NULL) p->test_share = 0;
  if ((v = yml_get(y, node, "metric_group")) != NULL &&
      (st = yml_string(y, v, "metric_group", &p->eval_group, err)))
    return st;
  if ((v = yml_get(y, node, "treatment")) != NULL && (st = yml_string(y, v, "treatment", &p->treatment, err)))
    return st;
  if ((v = yml_get(y, node, "seed")) != NULL) {
    double x = 0;
    if ((st = yml_number(y, v, "seed", 0, 9007199254740992.0, &x, err)) != PROMO_OK) return st;
    p->split_seed = (uint64_t)x;
    p->has_split_seed = true;
  }
  return PROMO_OK;
}

/* One entry of plan.options: a plain string (offer text, or "none"), or a mapping with
 * name, offer and set. */
static promo_status read_option(promo_project *p, const yaml_node_t *node, project_option *o, promo_error *err) {
  yml *y = &p->y;
  o->line = yml_line(node);
  if (node->type == YAML_SCALAR_NODE) {
    o->name = yml_scalar(node);
    o->offer = strcmp(o->name, "none") == 0 ? NULL : o->name;
    return PROMO_OK;
  }
  promo_status st = yml_check_keys(y, node, "options", KEYS("name", "offer", "set"), err);
  if (st != PROMO_OK) return st;
  yaml_node_t *v;
  if ((v = yml_get(y, node, "name")) == NULL) return yml_fail(y, node, err, "%s", _("each option needs a 'name'"));
  if ((st = yml_string(y, v, "name", &o->name, err)) != PROMO_OK) return st;
  if ((v = yml_get(y, node, "offer")) != NULL && (st = yml_string(y, v, "offer", &o->offer, err))) return st;
  if ((v = yml_get(y, node, "set")) != NULL) {
    if ((st = yml_expect(y, v, YAML_MAPPING_NODE, "set", err)) != PROMO_OK) return st;
    if (yml_length(v) > 16) return yml_fail(y, v, err, "%s", _("'set' may change at most 16 columns"));
    for (size_t i = 0; i < yml_length(v); i++) {
      yaml_node_t *key, *value;
      yml_pair(y, v, i, &key, &value);
      o->set_columns[i] = yml_scalar(key);
      if ((st = yml_string(y, value, o->set_columns[i], &o->set_values[i], err)) != PROMO_OK) return st;
    }
    o->n_sets = yml_length(v);
  }
  return PROMO_OK;
}

static promo_status read_budgets(promo_project *p, const yaml_node_t *node, promo_error *err) {
  yml *y = &p->y;
  if (node->type == YAML_SCALAR_NODE) {
    p->budgets[0].group = NULL;
    p->n_budgets = 1;
    return yml_number(y, node, "budget", 0, 1e18, &p->budgets[0].amount, err);
  }
  promo_status st = yml_expect(y, node, YAML_MAPPING_NODE, "budget", err);
  for (size_t i = 0; st == PROMO_OK && i < yml_length(node) && p->n_budgets < PROJECT_MAX_ITEMS; i++) {
    yaml_node_t *key, *value;
    yml_pair(y, node, i, &key, &value);
    project_budget *b = &p->budgets[p->n_budgets++];
    b->group = strcmp(yml_scalar(key), "total") == 0 ? NULL : yml_scalar(key);
    st = yml_number(y, value, yml_scalar(key), 0, 1e18, &b->amount, err);
  }
  return st;
}

/* max_promoted: a count of units ("500") or a share of them ("30%"). */
static promo_status read_count_or_share(promo_project *p, const yaml_node_t *node, promo_error *err) {
  const char *text = NULL;
  promo_status st = yml_string(&p->y, node, "max_promoted", &text, err);
  if (st != PROMO_OK) return st;
  size_t len = strlen(text);
  p->max_promoted_is_share = len > 0 && text[len - 1] == '%';
  char number[64];
  snprintf(number, sizeof number, "%.*s", (int)(p->max_promoted_is_share ? len - 1 : len), text);
  char *end = NULL;
  errno = 0;
  double x = strtod(number, &end);
  bool ok = end != number && *end == '\0' && errno == 0 && x >= 0 &&
            (p->max_promoted_is_share ? x <= 100 : x == floor(x) && x <= 1e15);
  if (!ok)
    return yml_fail(&p->y, node, err,
                    _("'max_promoted' must be a whole number of units such as 500 or a share such as 30%%, "
                      "but it is '%s'"),
                    text);
  p->max_promoted = p->max_promoted_is_share ? x / 100 : x;
  return PROMO_OK;
}

/* plan: units, latest, units_path, unit, group, offer_column, options, objective,
 * economics keys, budget, max_promoted, min_margin, exact, time_limit. */
static promo_status read_plan(promo_project *p, const yaml_node_t *node, promo_error *err) {
  yml *y = &p->y;
  promo_status st = yml_check_keys(
      y, node, "plan",
      KEYS("units", "latest", "units_path", "unit", "group", "offer_column", "options", "objective", "price",
           "unit_cost", "margin", "order_value", "stock", "fee", "redemption", "budget", "max_promoted",
           "min_margin", "exact", "time_limit"),
      err);
  if (st != PROMO_OK) return st;
  p->has_plan = true;
  yaml_node_t *v;
  if ((v = yml_get(y, node, "units")) != NULL) {
    if ((st = yml_string(y, v, "units", &p->plan_units, err)) != PROMO_OK) return st;
    if (strcmp(p->plan_units, "test") != 0 && strcmp(p->plan_units, "all") != 0 &&
        strcmp(p->plan_units, "latest") != 0)
      return yml_fail(y, v, err, _("'units' must be test, all or latest, but it is '%s'"), p->plan_units);
  }
  if ((v = yml_get(y, node, "latest")) != NULL && (st = yml_string(y, v, "latest", &p->plan_latest, err))) return st;
  if (p->plan_units != NULL && strcmp(p->plan_units, "latest") == 0 && p->plan_latest == NULL)
    return yml_fail(y, node, err, "%s", _("'units: latest' needs 'latest': the date or period column"));
  if ((v = yml_get(y, node, "units_path")) != NULL &&
      (st = read_path(p, v, "units_path", &p->plan_units_path, err)) != PROMO_OK)
    return st;
  if ((v = yml_get(y, node, "unit")) != NULL &&
      (st = yml_string_list(y, v, "unit", &p->unit_columns, &p->n_unit_columns, err)))
    return st;
  if ((v = yml_get(y, node, "group")) != NULL && (st = yml_string(y, v, "group", &p->plan_group, err))) return st;
  if ((v = yml_get(y, node, "offer_column")) != NULL &&
      (st = yml_string(y, v, "offer_column", &p->offer_column, err)))
    return st;
  if ((v = yml_get(y, node, "options")) == NULL)
    return yml_fail(y, node, err, "%s", _("'plan' needs 'options': the promotions to choose from"));
  if ((st = yml_expect(y, v, YAML_SEQUENCE_NODE, "options", err)) != PROMO_OK) return st;
  if (yml_length(v) < 2 || yml_length(v) > 64)
    return yml_fail(y, v, err, "%s", _("'options' needs between 2 and 64 entries, usually 'none' and the promotions"));
  p->n_options = yml_length(v);
  for (size_t i = 0; i < p->n_options; i++)
    if ((st = read_option(p, yml_item(y, v, i), &p->options[i], err)) != PROMO_OK) return st;

  static const char *const text_keys[] = {"objective", "price", "unit_cost", "margin", "order_value", "stock"};
  const char **text_fields[] = {&p->objective, &p->price, &p->unit_cost, &p->margin, &p->order_value, &p->stock};
  for (size_t k = 0; k < 6; k++)
    if ((v = yml_get(y, node, text_keys[k])) != NULL && (st = yml_string(y, v, text_keys[k], text_fields[k], err)))
      return st;
  if ((v = yml_get(y, node, "fee")) != NULL && (st = yml_number(y, v, "fee", 0, 1e12, &p->fee, err))) return st;
  if ((v = yml_get(y, node, "redemption")) != NULL && (st = yml_number(y, v, "redemption", 0, 1, &p->redemption, err)))
    return st;
  if ((v = yml_get(y, node, "budget")) != NULL && (st = read_budgets(p, v, err)) != PROMO_OK) return st;
  if ((v = yml_get(y, node, "max_promoted")) != NULL && (st = read_count_or_share(p, v, err)) != PROMO_OK) return st;
  if ((v = yml_get(y, node, "min_margin")) != NULL &&
      (st = yml_number(y, v, "min_margin", -1, 0.99, &p->min_margin, err)))
    return st;
  if ((v = yml_get(y, node, "exact")) != NULL) {
    bool exact = false;
    if (yml_scalar(v) != NULL && strcmp(yml_scalar(v), "auto") == 0) p->exact = -1;
    else if ((st = yml_bool(y, v, "exact", &exact, err)) != PROMO_OK) return st;
    else p->exact = exact;
  }
  if ((v = yml_get(y, node, "time_limit")) != NULL &&
      (st = yml_number(y, v, "time_limit", 0.1, 86400, &p->time_limit_s, err)))
    return st;
  return PROMO_OK;
}

static void set_defaults(promo_project *p) {
  p->clean = true;
  promo_clean_options_init(&p->clean_opt);
  promo_trainer_options_init(&p->trainer);
  p->valid_share = 0.1;
  p->folds = 5;
  p->test_share = 0.2;
  p->plan_units = "test";
  p->objective = "incremental_profit";
  p->time_limit_s = 60;
  p->redemption = 1;
  p->max_promoted = NAN;
  p->min_margin = NAN;
  p->exact = -1;
}

static promo_status read_root(promo_project *p, promo_error *err) {
  yml *y = &p->y;
  yaml_node_t *root = yml_root(y);
  promo_status st = yml_check_keys(
      y, root, NULL,
      KEYS("name", "sources", "clean", "derive", "features", "model", "evaluation", "plan"), err);
  if (st != PROMO_OK) return st;
  yaml_node_t *v;
  if ((v = yml_get(y, root, "name")) != NULL && (st = yml_string(y, v, "name", &p->name, err))) return st;
  if ((v = yml_get(y, root, "sources")) == NULL)
    return yml_fail(y, root, err, "%s", _("the project file needs 'sources' with at least 'data'"));
  if ((st = read_sources(p, v, err)) != PROMO_OK) return st;
  if ((v = yml_get(y, root, "clean")) != NULL && (st = read_clean(p, v, err))) return st;
  if ((v = yml_get(y, root, "derive")) != NULL && (st = read_derive(p, v, err))) return st;
  if ((v = yml_get(y, root, "features")) != NULL && (st = read_features(p, v, err))) return st;
  if ((v = yml_get(y, root, "model")) == NULL)
    return yml_fail(y, root, err, "%s", _("the project file needs 'model' with at least 'target'"));
  if ((st = read_model(p, v, err)) != PROMO_OK) return st;
  if ((v = yml_get(y, root, "evaluation")) != NULL && (st = read_evaluation(p, v, err))) return st;
  if ((v = yml_get(y, root, "plan")) != NULL && (st = read_plan(p, v, err))) return st;
  if (p->has_plan && strcmp(p->plan_units, "test") == 0 && p->test_share == 0 && p->test_after == NULL)
    return yml_fail(y, yml_get(y, root, "plan"), err, "%s",
                    _("'units: test' plans for the held-out test rows, but the evaluation keeps none; "
                      "set 'evaluation: test' or choose 'units: all'"));

  /* Ids and ignored columns are not features; the target never is. */
  size_t n = 0;
  for (size_t k = 0; k < p->n_ignore; k++) p->ignore_all[n++] = p->ignore[k];
  for (size_t k = 0; k < p->n_ids; k++) p->ignore_all[n++] = p->ids[k];
  p->trainer.pipeline.ignore = p->ignore_all;
  p->trainer.pipeline.n_ignore = n;
  p->trainer.pipeline.rules = p->rules;
  p->trainer.pipeline.n_rules = p->n_rules;
  p->trainer.pipeline.calendar_path = p->calendar_path;
  if (p->valid_share == 0) p->trainer.nn.restore_best = false;
  return PROMO_OK;
}

promo_status promo_project_read(const char *path, promo_project **out, promo_error *err) {
  *out = NULL;
  promo_project *p = calloc(1, sizeof *p);
  if (p == NULL) return nomem(err);
  set_defaults(p);
  p->path = strdup(path);
  char *copy = strdup(path);
  if (p->path == NULL || copy == NULL) {
    free(copy);
    promo_project_free(p);
    return nomem(err);
  }
  p->dir = strdup(dirname(copy));
  free(copy);
  promo_status st = p->dir != NULL ? yml_load(&p->y, p->path, err) : nomem(err);
  if (st == PROMO_OK) st = read_root(p, err);
  if (st != PROMO_OK) {
    promo_project_free(p);
    return st;
  }
  *out = p;
  return PROMO_OK;
}

void promo_project_free(promo_project *p) {
  if (p == NULL) return;
  yml_clear(&p->y);
  free(p->path);
  free(p->dir);
  free(p->data_path);
  free(p->events_path);
  free(p->calendar_path);
  free(p->plan_units_path);
  for (size_t i = 0; i < p->n_lookups; i++) free(p->lookups[i].path);
  free(p->key_columns);
  free(p->ignore);
  free(p->ids);
  free(p->windows);
  free(p->unit_columns);
  free(p);
}
