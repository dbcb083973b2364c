/* Typed reading of the project file's YAML (libyaml's document API): every value is
 * checked for its type, and every error names the key, the line and the column. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/intl.h"
#include "project/project_internal.h"

/* Whether a line of the file starts with a tab, the usual cause of YAML's "cannot start
 * any token". */
static bool has_tab_indent(const char *path) {
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) return false;
  bool found = false, line_start = true;
  for (int ch; !found && (ch = fgetc(fp)) != EOF;) {
    found = line_start && ch == '\t';
    line_start = ch == '\n' || (line_start && ch == ' ');
  }
  fclose(fp);
  return found;
}

promo_status yml_load(yml *y, const char *path, promo_error *err) {
  memset(y, 0, sizeof *y);
  y->path = path;
  struct stat sb;
  if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    promo_error_at(err, path, 0, 0);
    return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("this is a folder; give the project's YAML file"));
  }
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) return promo_error_errno(err, errno, path, _("opening the project file"));
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    fclose(fp);
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  }
  yaml_parser_set_input_file(&parser, fp);
  promo_status st = PROMO_OK;
  if (!yaml_parser_load(&parser, &y->doc)) {
    promo_error_at(err, path, (int64_t)parser.problem_mark.line + 1, (int64_t)parser.problem_mark.column + 1);
    st = promo_error_set(err, PROMO_ERR_DATA, _("this is not valid YAML: %s"),
                         parser.problem != NULL ? parser.problem : _("unknown problem"));
    if (has_tab_indent(path))
      snprintf(err->message + strlen(err->message), sizeof err->message - strlen(err->message), "%s",
               _(" (YAML does not allow tabs for indentation; indent with spaces)"));
  } else {
    y->loaded = true;
    if (yaml_document_get_root_node(&y->doc) == NULL) {
      promo_error_at(err, path, 1, 1);
      st = promo_error_set(err, PROMO_ERR_DATA, "%s", _("the project file is empty"));
    }
  }
  yaml_parser_delete(&parser);
  fclose(fp);
  return st;
}

void yml_clear(yml *y) {
  if (y->loaded) yaml_document_delete(&y->doc);
  y->loaded = false;
}

yaml_node_t *yml_root(yml *y) {
  return yaml_document_get_root_node(&y->doc);
}

const char *yml_scalar(const yaml_node_t *node) {
  return node != NULL && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

/* Point the error at the node's first character. */
static void at(yml *y, const yaml_node_t *node, promo_error *err) {
  promo_error_at(err, y->path, node != NULL ? (int64_t)node->start_mark.line + 1 : 0,
                 node != NULL ? (int64_t)node->start_mark.column + 1 : 0);
}

static const char *kind_name(const yaml_node_t *node) {
  switch (node->type) {
    case YAML_SCALAR_NODE: return _("a single value");
    case YAML_SEQUENCE_NODE: return _("a list");
    case YAML_MAPPING_NODE: return _("a section of keys");
    default: return _("nothing");
  }
}

promo_status yml_fail(yml *y, const yaml_node_t *node, promo_error *err, const char *fmt, ...) {
  at(y, node, err);
  char message[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  return promo_error_set(err, PROMO_ERR_DATA, "%s", message);
}

promo_status yml_expect(yml *y, const yaml_node_t *node, yaml_node_type_t type, const char *name,
                        promo_error *err) {
  if (node->type == type) return PROMO_OK;
  yaml_node_t want = {.type = type};
  return yml_fail(y, node, err, _("'%s' must be %s, but it is %s"), name, kind_name(&want), kind_name(node));
}

yaml_node_t *yml_get(yml *y, const yaml_node_t *map, const char *key) {
  if (map == NULL || map->type != YAML_MAPPING_NODE) return NULL;
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    const char *k = yml_scalar(yaml_document_get_node(&y->doc, p->key));
    if (k != NULL && strcmp(k, key) == 0) return yaml_document_get_node(&y->doc, p->value);
  }
  return NULL;
}

promo_status yml_check_keys(yml *y, const yaml_node_t *map, const char *section, const char *const *known,
                            promo_error *err) {
  promo_status st = PROMO_OK;
  if (section == NULL && map->type != YAML_MAPPING_NODE)
    return yml_fail(y, map, err, "%s", _("the project file must be a set of keys such as 'sources:' and 'model:'"));
  if (section != NULL && (st = yml_expect(y, map, YAML_MAPPING_NODE, section, err)) != PROMO_OK) return st;
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *key = yaml_document_get_node(&y->doc, p->key);
    const char *k = yml_scalar(key);
    if (k == NULL && section == NULL) return yml_fail(y, key, err, "%s", _("a top-level key must be a plain name"));
    if (k == NULL) return yml_fail(y, key, err, _("a key in '%s' must be a plain name"), section);
    bool found = false;
    for (size_t i = 0; known[i] != NULL && !found; i++) found = strcmp(k, known[i]) == 0;
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p && found; q++)
      if (strcmp(yml_scalar(yaml_document_get_node(&y->doc, q->key)), k) == 0)
        return section == NULL ? yml_fail(y, key, err, _("top-level key '%s' appears twice"), k)
                               : yml_fail(y, key, err, _("key '%s' appears twice in '%s'"), k, section);
    if (found) continue;
    char list[256] = "";
    size_t used = 0;
    for (size_t i = 0; known[i] != NULL && used + 1 < sizeof list; i++)
      used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i > 0 ? ", " : "", known[i]);
    if (section == NULL)
      return yml_fail(y, key, err, _("unknown top-level key '%s'; the keys allowed there are: %s"), k, list);
    return yml_fail(y, key, err, _("unknown key '%s' in '%s'; the keys allowed there are: %s"), k, section, list);
  }
  return PROMO_OK;
}

promo_status yml_string(yml *y, const yaml_node_t *node, const char *name, const char **out, promo_error *err) {
  promo_status st = yml_expect(y, node, YAML_SCALAR_NODE, name, err);
  if (st == PROMO_OK) *out = yml_scalar(node);
  return st;
}

promo_status yml_number(yml *y, const yaml_node_t *node, const char *name, double lo, double hi, double *out,
                        promo_error *err) {
  const char *text = NULL;
  promo_status st = yml_string(y, node, name, &text, err);
  if (st != PROMO_OK) return st;
  char *end = NULL;
  errno = 0;
  double x = strtod(text, &end);
  if (end == text || *end != '\0' || errno == ERANGE || !isfinite(x))
    return yml_fail(y, node, err, _("'%s' must be a number, but it is '%s'"), name, text);
  if (x < lo || x > hi)
    return yml_fail(y, node, err, _("'%s' must be between %g and %g, but it is %s"), name, lo, hi, text);
  *out = x;
  return PROMO_OK;
}

promo_status yml_count(yml *y, const yaml_node_t *node, const char *name, size_t lo, size_t hi, size_t *out,
                       promo_error *err) {
  double x = 0;
  promo_status st = yml_number(y, node, name, (double)lo, (double)hi, &x, err);
  if (st != PROMO_OK) return st;
  if (x != floor(x)) return yml_fail(y, node, err, _("'%s' must be a whole number, but it is %s"), name, yml_scalar(node));
  *out = (size_t)x;
  return PROMO_OK;
}

promo_status yml_bool(yml *y, const yaml_node_t *node, const char *name, bool *out, promo_error *err) {
  const char *text = NULL;
  promo_status st = yml_string(y, node, name, &text, err);
  if (st != PROMO_OK) return st;
  static const char *const yes[] = {"true", "yes", "on", "True", "Yes", "TRUE"};
  static const char *const no[] = {"false", "no", "off", "False", "No", "FALSE"};
  for (size_t k = 0; k < sizeof yes / sizeof yes[0]; k++) {
    if (strcmp(text, yes[k]) == 0) return *out = true, PROMO_OK;
    if (strcmp(text, no[k]) == 0) return *out = false, PROMO_OK;
  }
  return yml_fail(y, node, err, _("'%s' must be true or false, but it is '%s'"), name, text);
}

promo_status yml_string_list(yml *y, const yaml_node_t *node, const char *name, const char ***out, size_t *n,
                             promo_error *err) {
  *out = NULL;
  *n = 0;
  if (node->type == YAML_SCALAR_NODE) {
    *out = malloc(sizeof **out);
    if (*out == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    (*out)[0] = yml_scalar(node);
    *n = 1;
    return PROMO_OK;
  }
  promo_status st = yml_expect(y, node, YAML_SEQUENCE_NODE, name, err);
  if (st != PROMO_OK) return st;
  size_t count = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
  *out = malloc((count > 0 ? count : 1) * sizeof **out);
  if (*out == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  for (size_t i = 0; i < count; i++) {
    yaml_node_t *item = yaml_document_get_node(&y->doc, node->data.sequence.items.start[i]);
    if ((st = yml_string(y, item, name, &(*out)[i], err)) != PROMO_OK) {
      free(*out);
      *out = NULL;
      return st;
    }
  }
  *n = count;
  return PROMO_OK;
}

size_t yml_length(const yaml_node_t *node) {
  if (node->type == YAML_SEQUENCE_NODE) return (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
  if (node->type == YAML_MAPPING_NODE) return (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
  return 0;
}

yaml_node_t *yml_item(yml *y, const yaml_node_t *seq, size_t i) {
  return yaml_document_get_node(&y->doc, seq->data.sequence.items.start[i]);
}

void yml_pair(yml *y, const yaml_node_t *map, size_t i, yaml_node_t **key, yaml_node_t **value) {
  yaml_node_pair_t *p = map->data.mapping.pairs.start + i;
  *key = yaml_document_get_node(&y->doc, p->key);
  *value = yaml_document_get_node(&y->doc, p->value);
}

int64_t yml_line(const yaml_node_t *node) {
  return (int64_t)node->start_mark.line + 1;
}
