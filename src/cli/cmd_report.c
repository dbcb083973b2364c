/* PLACEHOLDER: `promo report` is being written; this file is replaced. */
#include "cli/cli.h"

void cli_print_help_report(FILE *out) {
  fputs("promo report: not available yet\n", out);
}

int cli_report(cli *app, int argc, char **argv) {
  (void)app;
  (void)argc;
  (void)argv;
  cli_error("%s", "promo report is not available yet");
  return EXIT_FAILED;
}
