/* PLACEHOLDER: `promo optimize` is being written; this file is replaced. */
#include "cli/cli.h"

void cli_print_help_optimize(FILE *out) {
  fputs("promo optimize: not available yet\n", out);
}

int cli_optimize(cli *app, int argc, char **argv) {
  (void)app;
  (void)argc;
  (void)argv;
  cli_error("%s", "promo optimize is not available yet");
  return EXIT_FAILED;
}
