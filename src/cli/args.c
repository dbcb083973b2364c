/* Option-value helpers shared by the subcommands: comma lists, --transform rules, and
 * the float format used for matrices and predictions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

long cli_split_list(cli_strings *strings, const char *text, const char **out, size_t capacity) {
  if (strings->n_copies == sizeof strings->copies / sizeof strings->copies[0]) return -1;
  char *copy = strdup(text);
  if (copy == NULL) return -1;
  strings->copies[strings->n_copies++] = copy;
  size_t n = 0;
  char *save = NULL;
  for (char *item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
    if (n == capacity) return -1;
    out[n++] = item;
  }
  return (long)n;
}

void cli_strings_clear(cli_strings *strings) {
  for (size_t k = 0; k < strings->n_copies; k++) free(strings->copies[k]);
  strings->n_copies = 0;
}

int cli_parse_transforms(cli_strings *strings, const char *command, const char *text,
                         promo_pipeline_rule *rules, size_t capacity, promo_pipeline_options *opt) {
  const char *items[1024];
  long n = cli_split_list(strings, text, items, sizeof items / sizeof items[0]);
  if (n < 0) return cli_usage_error(command, "%s", _("too many options"));
  for (long i = 0; i < n; i++) {
    char *eq = strchr(items[i], '=');
    if (eq == NULL || eq == items[i] || eq[1] == '\0')
      return cli_usage_error(command, _("invalid --transform item '%s'; write COL=TRANSFORM"), items[i]);
    *eq = '\0';
    if (opt->n_rules == capacity) return cli_usage_error(command, "%s", _("too many options"));
    rules[opt->n_rules++] = (promo_pipeline_rule){items[i], eq + 1};
  }
  opt->rules = rules;
  return EXIT_OK;
}

size_t cli_format_float(float x, char buf[32]) {
  int n = 0;
  for (int digits = 6; digits <= 9; digits++) {
    n = snprintf(buf, 32, "%.*g", digits, (double)x);
    if (strtof(buf, NULL) == x) break;
  }
  return n > 0 ? (size_t)n : 0;
}
