/* `promo inspect`: prints what a model file holds: the network's architecture, the
 * feature pipeline's inputs and outputs, and the training settings and metrics. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "promo/feature.h"
#include "promo/model.h"

static const char *activation_name(promo_activation act) {
  switch (act) {
    case PROMO_ACT_RELU: return "relu";
    case PROMO_ACT_TANH: return "tanh";
    case PROMO_ACT_SIGMOID: return "sigmoid";
    case PROMO_ACT_GELU: return "gelu";
  }
  return "?";
}

static const char *task_text(promo_task task) {
  switch (task) {
    case PROMO_TASK_BINARY: return _("binary (probability of 1)");
    case PROMO_TASK_REGRESSION: return _("regression (expected value)");
    case PROMO_TASK_POISSON: return _("poisson (expected count)");
  }
  return "?";
}

static void print_network(promo_nn *nn) {
  const promo_nn_options *opt = promo_nn_get_options(nn);
  printf("%s\n", _("Network"));
  printf(_("  task:        %s\n"), task_text(opt->task));
  printf(_("  inputs:      %zu\n"), promo_nn_n_inputs(nn));
  printf("%s", _("  layers:      "));
  for (size_t k = 0; k < opt->n_hidden; k++)
    printf(_("dense %zu (%s) -> "), opt->hidden[k], activation_name(opt->activation));
  printf("%s\n", _("output 1"));
  printf(_("  parameters:  %zu\n"), promo_nn_n_params(nn));
}

static void print_pipeline(const promo_pipeline *p) {
  printf("\n%s\n", _("Features"));
  printf(_("  outputs:     %zu feature columns\n"), promo_pipeline_n_outputs(p));
  printf(_("  inputs:      %zu columns\n"), promo_pipeline_n_inputs(p));
  for (size_t i = 0; i < promo_pipeline_n_inputs(p); i++)
    printf("    %-32s %s\n", promo_pipeline_input_name(p, i), promo_type_name(promo_pipeline_input_type(p, i)));
}

/* Print an object's scalar members as "key: value" lines. */
static void print_members(const json_t *object) {
  const char *key;
  json_t *value;
  json_object_foreach((json_t *)object, key, value) {
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    if (json_is_string(value)) printf("    %-14s %s\n", key, json_string_value(value));
    else if (json_is_real(value)) printf("    %-14s %.6g\n", key, json_real_value(value));
    else if (text != NULL) printf("    %-14s %s\n", key, text);
    free(text);
  }
}

static void print_training(const json_t *training) {
  printf("\n%s\n", _("Training"));
  const char *target = json_string_value(json_object_get(training, "target"));
  if (target != NULL) printf(_("  target:      %s\n"), target);
  const json_t *settings = json_object_get(training, "settings");
  if (json_is_object(settings)) {
    printf("%s\n", _("  settings:"));
    print_members(settings);
  }
  const json_t *history = json_object_get(training, "history");
  if (json_is_array(history)) {
    printf(_("  epochs run:  %zu (best %lld)\n"), json_array_size(history),
           (long long)json_integer_value(json_object_get(training, "best_epoch")));
  }
  const json_t *metrics = json_object_get(training, "metrics");
  if (json_is_object(metrics)) {
    printf("%s\n", _("  validation metrics:"));
    print_members(metrics);
  } else {
    printf("%s\n", _("  validation metrics: none (trained without validation rows)"));
  }
}

int cli_inspect(cli *app, int argc, char **argv) {
  (void)app;
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      cli_print_help(stdout, "inspect");
      return EXIT_OK;
    }
    if (argv[i][0] == '-' && argv[i][1] != '\0') return cli_usage_error("inspect", _("unknown option '%s'"), argv[i]);
    if (path != NULL) return cli_usage_error("inspect", _("unexpected argument '%s'; give one model file"), argv[i]);
    path = argv[i];
  }
  if (path == NULL) return cli_usage_error("inspect", "%s", _("no model file given"));

  promo_error err;
  promo_error_clear(&err);
  promo_nn *nn = NULL;
  promo_pipeline *p = NULL;
  json_t *training = NULL;
  promo_status st = promo_model_load(path, &nn, &p, &training, &err);
  if (st != PROMO_OK) {
    cli_print_error(&err);
    return cli_exit_code(st);
  }
  printf(_("Model file %s\n\n"), path);
  print_network(nn);
  print_pipeline(p);
  print_training(training);
  json_decref(training);
  promo_pipeline_free(p);
  promo_nn_free(nn);
  return EXIT_OK;
}
