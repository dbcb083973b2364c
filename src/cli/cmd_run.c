/* PLACEHOLDER: `promo run` is being written; this file is replaced. */
#include "cli/cli.h"

void cli_print_help_run(FILE *out) {
  fputs("promo run: not available yet\n", out);
}

int cli_run(cli *app, int argc, char **argv) {
  (void)app;
  (void)argc;
  (void)argv;
  cli_error("%s", "promo run is not available yet");
  return EXIT_FAILED;
}
