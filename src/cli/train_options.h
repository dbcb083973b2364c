/* Training options shared by `promo train` and `promo cv`: the target, the task, the
 * network's settings and the feature columns, parsed the same way for both commands. */
#ifndef PROMO_CLI_TRAIN_OPTIONS_H
#define PROMO_CLI_TRAIN_OPTIONS_H

#include "cli/cli.h"
#include "promo/data.h"
#include "promo/model.h"

#define CLI_TRAIN_MAX_ITEMS 1024

typedef struct cli_train_options {
  const char *command;    /* "train" or "cv", for usage messages */
  const char *target, *task_name;
  promo_nn_options nn;
  promo_pipeline_options pipeline;
  const char *ignore[2 * CLI_TRAIN_MAX_ITEMS]; /* --ignore, then the --id columns */
  const char *id_names[CLI_TRAIN_MAX_ITEMS];
  size_t n_ids, n_ignore_given;
  promo_pipeline_rule rules[CLI_TRAIN_MAX_ITEMS];
  cli_strings strings;
} cli_train_options;

/* Defaults of the network and the pipeline. */
void cli_train_options_init(cli_train_options *t, const char *command);
void cli_train_options_clear(cli_train_options *t);

/* Parse argv[*i] when it is one of --target, --task, --layers, --epochs, --batch, --lr,
 * --seed, --patience, --ignore, --id or --transform (with its value). Returns EXIT_OK, a
 * usage exit code after printing the message, or -2 when argv[*i] is none of them. */
int cli_train_option(cli_train_options *t, int argc, char **argv, int *i);

/* After parsing: check that a target is given and the task name is valid, and point the
 * pipeline options at the target and the ignored columns. Returns EXIT_OK or EXIT_USAGE. */
int cli_train_options_finish(cli_train_options *t);

/* Whole numbers and reals of an option, or a usage error naming `command`. */
int cli_parse_count(const char *command, const char *name, const char *text, long long lo, long long hi,
                    long long *out);
/* A number in (lo, hi] when open_lo, else in [lo, hi). */
int cli_parse_real(const char *command, const char *name, const char *text, double lo, double hi, bool open_lo,
                   double *out);

/* Check that the target, --id and --ignore columns are in t's header, read the target into
 * y [t->n_rows] and set opt->nn.task from --task or from the target's values. path names
 * the data in messages. */
promo_status cli_train_prepare(const promo_context *ctx, cli_train_options *opt, const promo_table *t,
                               const char *path, float *y, promo_error *err);

#endif
