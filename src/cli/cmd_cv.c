/* PLACEHOLDER: `promo cv` is being written; this file is replaced. */
#include "cli/cli.h"

void cli_print_help_cv(FILE *out) {
  fputs("promo cv: not available yet\n", out);
}

int cli_cv(cli *app, int argc, char **argv) {
  (void)app;
  (void)argc;
  (void)argv;
  cli_error("%s", "promo cv is not available yet");
  return EXIT_FAILED;
}
