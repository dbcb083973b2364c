/* Shared pieces of the command-line program: the run context, exit codes, message
 * printing and option helpers used by every subcommand file. */
#ifndef PROMO_CLI_H
#define PROMO_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "core/intl.h"
#include "promo/core.h"
#include "promo/feature.h"

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

/* Copies of option values that parsed lists point into; free with cli_strings_clear. */
typedef struct cli_strings {
  char *copies[64];
  size_t n_copies;
} cli_strings;

/* Split a comma list into out[], keeping a copy in `strings`. Returns the count, or -1
 * when there are more than capacity items, too many lists or no memory. */
long cli_split_list(cli_strings *strings, const char *text, const char **out, size_t capacity);
void cli_strings_clear(cli_strings *strings);

/* Parse --transform COL=T,... into rules[] (capacity entries) and point opt at them;
 * returns EXIT_OK or a usage error for `command`. */
int cli_parse_transforms(cli_strings *strings, const char *command, const char *text,
                         promo_pipeline_rule *rules, size_t capacity, promo_pipeline_options *opt);

/* Format a float with the fewest significant digits (6 to 9) that read back to it. */
size_t cli_format_float(float x, char buf[32]);

/* Subcommands, one file each. */
int cli_clean(cli *app, int argc, char **argv);
int cli_offer(cli *app, int argc, char **argv);
int cli_features(cli *app, int argc, char **argv);
int cli_train(cli *app, int argc, char **argv);
int cli_predict(cli *app, int argc, char **argv);
int cli_inspect(cli *app, int argc, char **argv);
int cli_eval(cli *app, int argc, char **argv);
int cli_cv(cli *app, int argc, char **argv);
int cli_optimize(cli *app, int argc, char **argv);
int cli_run(cli *app, int argc, char **argv);
int cli_report(cli *app, int argc, char **argv);

/* Help of the commands whose help lives beside them. */
void cli_print_help_offer(FILE *out);
void cli_print_help_eval(FILE *out);
void cli_print_help_cv(FILE *out);
void cli_print_help_optimize(FILE *out);
void cli_print_help_run(FILE *out);
void cli_print_help_report(FILE *out);

/* Help for one subcommand, or the overview for NULL; returns false if unknown. */
bool cli_print_help(FILE *out, const char *command);

#endif
