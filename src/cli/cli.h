/* Shared pieces of the command-line program: the run context, exit codes, message
 * printing and option helpers used by every subcommand file. */
#ifndef PROMO_CLI_H
#define PROMO_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "core/intl.h"
#include "promo/core.h"

enum {
  EXIT_OK = 0,
  EXIT_FAILED = 1,     /* the run failed (I/O, out of memory, internal error) */
  EXIT_USAGE = 2,      /* wrong options or arguments */
  EXIT_BAD_INPUT = 3   /* the input data is invalid */
};

typedef struct cli {
  promo_context ctx;
  promo_log_level level;
  bool stderr_is_tty;
  double last_progress_ms;
  const char *progress_stage; /* the stage the bar shows, to reset its clock */
  double stage_start_ms;
} cli;

typedef int (*cli_command_fn)(cli *app, int argc, char **argv);

/* Print "promo: message" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print an error object as "promo: path:line:col: message" (plus the offending value). */
void cli_print_error(const promo_error *err);
/* Exit code for a library status. */
int cli_exit_code(promo_status status);
/* Print a usage error with a hint to run `promo help COMMAND`; returns EXIT_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Long-option matching: "--name VALUE" or "--name=VALUE". On a match, *value points at
 * the value and *i is advanced past it; a missing value is a usage error (returns -1). */
int cli_option_value(int argc, char **argv, int *i, const char *name, const char **value);

/* Columns a UTF-8 string takes in a terminal: characters of three or more bytes (CJK)
 * take two, others one. For padding translated labels. */
int cli_display_width(const char *s);

/* Subcommands, one file each. */
int cli_clean(cli *app, int argc, char **argv);
int cli_offer(cli *app, int argc, char **argv);
int cli_features(cli *app, int argc, char **argv);
int cli_train(cli *app, int argc, char **argv);
int cli_predict(cli *app, int argc, char **argv);
int cli_inspect(cli *app, int argc, char **argv);

/* Help of `promo offer`, beside its command. */
void cli_print_help_offer(FILE *out);

/* Help for one subcommand, or the overview for NULL; returns false if unknown. */
bool cli_print_help(FILE *out, const char *command);

#endif
