/* Training options shared by `promo train` and `promo cv`: parsing, checks against the
 * data's header, and the choice of task from the target's values. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/train_options.h"

void cli_train_options_init(cli_train_options *t, const char *command) {
  memset(t, 0, sizeof *t);
  t->command = command;
  promo_nn_options_init(&t->nn);
  promo_pipeline_options_init(&t->pipeline);
}

void cli_train_options_clear(cli_train_options *t) {
  cli_strings_clear(&t->strings);
}

int cli_parse_count(const char *command, const char *name, const char *text, long long lo, long long hi,
                    long long *out) {
  char *end;
  errno = 0;
  long long n = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || n < lo || n > hi)
    return cli_usage_error(command, _("invalid %s '%s'; give a whole number from %lld to %lld"), name, text, lo, hi);
  *out = n;
  return EXIT_OK;
}

int cli_parse_real(const char *command, const char *name, const char *text, double lo, double hi, bool open_lo,
                   double *out) {
  char *end;
  errno = 0;
  double x = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !(open_lo ? x > lo : x >= lo) || !(x <= hi) ||
      (!open_lo && !(x < hi)))
    return cli_usage_error(command, _("invalid %s '%s'; give a number in %s%g, %g)"), name, text, open_lo ? "(" : "[",
                           lo, hi);
  *out = x;
  return EXIT_OK;
}

static int parse_layers(cli_train_options *t, const char *text) {
  const char *items[PROMO_NN_MAX_HIDDEN + 1];
  long n = cli_split_list(&t->strings, text, items, PROMO_NN_MAX_HIDDEN + 1);
  if (n < 0 || n > PROMO_NN_MAX_HIDDEN)
    return cli_usage_error(t->command, _("invalid --layers '%s'; give at most %d unit counts, such as 128,64"), text,
                           PROMO_NN_MAX_HIDDEN);
  for (long k = 0; k < n; k++) {
    long long units = 0;
    if (cli_parse_count(t->command, "--layers", items[k], 1, 65536, &units) != EXIT_OK) return EXIT_USAGE;
    t->nn.hidden[k] = (size_t)units;
  }
  t->nn.n_hidden = (size_t)n;
  return EXIT_OK;
}

/* The options that only set a number of the network. */
static int parse_network_value(cli_train_options *t, const char *name, const char *v) {
  long long n = 0;
  int rc = EXIT_OK;
  const char *cmd = t->command;
  if (strcmp(name, "--layers") == 0) {
    rc = parse_layers(t, v);
  } else if (strcmp(name, "--epochs") == 0) {
    if ((rc = cli_parse_count(cmd, name, v, 1, 100000, &n)) == EXIT_OK) t->nn.epochs = (size_t)n;
  } else if (strcmp(name, "--batch") == 0) {
    if ((rc = cli_parse_count(cmd, name, v, 1, 1000000, &n)) == EXIT_OK) t->nn.batch_size = (size_t)n;
  } else if (strcmp(name, "--patience") == 0) {
    if ((rc = cli_parse_count(cmd, name, v, 0, 100000, &n)) == EXIT_OK) t->nn.patience = (size_t)n;
  } else if (strcmp(name, "--seed") == 0) {
    if ((rc = cli_parse_count(cmd, name, v, 0, INT64_MAX, &n)) == EXIT_OK) t->nn.seed = (uint64_t)n;
  } else {
    rc = cli_parse_real(cmd, name, v, 0, 10, true, &t->nn.learning_rate);
  }
  return rc;
}

int cli_train_option(cli_train_options *t, int argc, char **argv, int *i) {
  static const char *const network[] = {"--layers", "--epochs", "--batch", "--patience", "--seed", "--lr"};
  const char *v = NULL;
  int got = 0;
  for (size_t k = 0; k < sizeof network / sizeof network[0]; k++) {
    if ((got = cli_option_value(argc, argv, i, network[k], &v)) != 0)
      return got < 0 ? EXIT_USAGE : parse_network_value(t, network[k], v);
  }
  if ((got = cli_option_value(argc, argv, i, "--target", &v)) != 0) {
    t->target = v;
  } else if ((got = cli_option_value(argc, argv, i, "--task", &v)) != 0) {
    t->task_name = v;
  } else if ((got = cli_option_value(argc, argv, i, "--ignore", &v)) != 0) {
    long k = got < 0 ? -1 : cli_split_list(&t->strings, v, t->ignore, CLI_TRAIN_MAX_ITEMS);
    if (k < 0) return cli_usage_error(t->command, "%s", _("--ignore needs a list of at most 1024 columns"));
    t->n_ignore_given = (size_t)k;
  } else if ((got = cli_option_value(argc, argv, i, "--id", &v)) != 0) {
    long k = got < 0 ? -1 : cli_split_list(&t->strings, v, t->id_names, CLI_TRAIN_MAX_ITEMS);
    if (k < 0) return cli_usage_error(t->command, "%s", _("--id needs a list of at most 1024 columns"));
    t->n_ids = (size_t)k;
  } else if ((got = cli_option_value(argc, argv, i, "--transform", &v)) != 0) {
    if (got > 0)
      return cli_parse_transforms(&t->strings, t->command, v, t->rules, CLI_TRAIN_MAX_ITEMS, &t->pipeline);
  } else {
    return -2;
  }
  return got < 0 ? EXIT_USAGE : EXIT_OK;
}

int cli_train_options_finish(cli_train_options *t) {
  if (t->target == NULL) return cli_usage_error(t->command, "%s", _("no target given; add --target COL"));
  promo_task task;
  if (t->task_name != NULL && !promo_model_task_parse(t->task_name, &task))
    return cli_usage_error(t->command, _("invalid --task '%s'; use binary, regression or poisson"), t->task_name);

  /* Columns copied through as ids are not features. */
  t->pipeline.n_ignore = t->n_ignore_given;
  for (size_t k = 0; k < t->n_ids; k++) t->ignore[t->pipeline.n_ignore++] = t->id_names[k];
  t->pipeline.ignore = t->ignore;
  t->pipeline.target = t->target;
  return EXIT_OK;
}

/* Every named column must exist in the header. */
static promo_status check_columns(const promo_table *t, const char *option, const char *const *names, size_t n,
                                  const char *path, promo_error *err) {
  for (size_t k = 0; k < n; k++) {
    if (promo_table_find(t, names[k]) >= 0) continue;
    promo_error_at(err, path, 0, 0);
    return promo_error_set(err, PROMO_ERR_USAGE, _("%s names column '%s', which is not in the header"), option,
                           names[k]);
  }
  return PROMO_OK;
}

promo_status cli_train_prepare(const promo_context *ctx, cli_train_options *opt, const promo_table *t,
                               const char *path, float *y, promo_error *err) {
  promo_status st;
  if ((st = check_columns(t, "--target", &opt->target, 1, path, err)) != PROMO_OK ||
      (st = check_columns(t, "--id", opt->id_names, opt->n_ids, path, err)) != PROMO_OK ||
      (st = check_columns(t, "--ignore", opt->ignore, opt->n_ignore_given, path, err)) != PROMO_OK)
    return st;
  if ((st = promo_model_read_target(t, opt->target, path, y, err)) != PROMO_OK) return st;

  bool zero_one = promo_model_infer_task(y, t->n_rows) == PROMO_TASK_BINARY;
  if (opt->task_name == NULL) {
    opt->nn.task = zero_one ? PROMO_TASK_BINARY : PROMO_TASK_REGRESSION;
    promo_log(ctx, PROMO_LOG_INFO, _("task: %s (target '%s' %s)"), promo_model_task_name(opt->nn.task), opt->target,
              zero_one ? _("holds only 0 and 1") : _("holds other values than 0 and 1"));
  } else {
    promo_model_task_parse(opt->task_name, &opt->nn.task);
  }
  if (opt->nn.task == PROMO_TASK_BINARY && !zero_one) {
    promo_error_at(err, path, 0, 0);
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("--task binary needs a target of 0 and 1, but '%s' holds other values; "
                             "use --task regression or recode the column"),
                           opt->target);
  }
  return PROMO_OK;
}
