/* PLACEHOLDER: `promo eval` is being written; this file is replaced. */
#include "cli/cli.h"

void cli_print_help_eval(FILE *out) {
  fputs("promo eval: not available yet\n", out);
}

int cli_eval(cli *app, int argc, char **argv) {
  (void)app;
  (void)argc;
  (void)argv;
  cli_error("%s", "promo eval is not available yet");
  return EXIT_FAILED;
}
