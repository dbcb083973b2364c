/* `promo report`: renders a saved run document (report.json from `promo run`) as the
 * self-contained HTML report, so a report can be made again in another language. */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "promo/report.h"

void cli_print_help_report(FILE *out) {
  fputs(_("Usage: promo report RUN.json -o REPORT.html\n"
          "\n"
          "Render a run document as one HTML page: data quality, training curves, test\n"
          "metrics with ROC, precision-recall and calibration charts, the predicted response\n"
          "to each promotion, and the plan against its baselines. `promo run` writes the\n"
          "document as report.json beside report.html; render it again, for example in\n"
          "another language with --lang, without running the stages again.\n"
          "\n"
          "The page has its charts and styles inline and loads nothing from the network, so\n"
          "it opens offline and can be sent as one file. Sections missing from the document\n"
          "are shown as not run. docs/report.md describes the document's keys.\n"
          "\n"
          "Options:\n"
          "  -o, --output FILE  the HTML file to write (replaced only when complete)\n"
          "  -h, --help         show this help\n"
          "\n"
          "Exit status: 0 written, 1 failed run, 2 usage error, 3 the document is not valid\n"
          "JSON or a key has the wrong type.\n"),
        out);
}

typedef struct report_args {
  const char *input, *output;
} report_args;

/* Returns EXIT_OK, a usage error, or -1 after printing the help. */
static int parse_args(report_args *a, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *v = NULL;
    int got = 0;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      cli_print_help(stdout, "report");
      return -1;
    } else if ((got = cli_option_value(argc, argv, &i, "-o", &v)) != 0 ||
               (got = cli_option_value(argc, argv, &i, "--output", &v)) != 0) {
      if (got < 0) return EXIT_USAGE;
      a->output = v;
    } else if (arg[0] == '-' && arg[1] != '\0') {
      return cli_usage_error("report", _("unknown option '%s'"), arg);
    } else if (a->input == NULL) {
      a->input = arg;
    } else {
      return cli_usage_error("report", _("unexpected argument '%s'; give one RUN.json"), arg);
    }
  }
  if (a->input == NULL)
    return cli_usage_error("report", "%s", _("give the run document: promo report RUN.json -o REPORT.html"));
  if (a->output == NULL) return cli_usage_error("report", "%s", _("no output file given; add -o REPORT.html"));
  if (strcmp(a->input, a->output) == 0 || promo_same_file(a->input, a->output))
    return cli_usage_error("report", _("%s and %s name the same file '%s'; give each its own"), "RUN.json", "-o",
                           a->output);
  return EXIT_OK;
}

static promo_status render(const report_args *a, promo_error *err) {
  json_error_t jerr;
  json_t *doc = json_load_file(a->input, JSON_REJECT_DUPLICATES, &jerr);
  if (doc == NULL) {
    if (access(a->input, R_OK) != 0) return promo_error_errno(err, errno, a->input, _("opening the run document"));
    promo_error_at(err, a->input, jerr.line, jerr.column);
    return promo_error_set(err, PROMO_ERR_DATA, _("not a valid JSON document: %s"), jerr.text);
  }
  promo_status st = promo_report_write_html(doc, a->output, err);
  json_decref(doc);
  /* A document error names its key; the file it came from goes in front. */
  if (st == PROMO_ERR_DATA && err->path[0] == '\0') promo_error_at(err, a->input, 0, 0);
  return st;
}

int cli_report(cli *app, int argc, char **argv) {
  (void)app;
  report_args a = {0};
  int rc = parse_args(&a, argc, argv);
  if (rc < 0) return EXIT_OK;
  if (rc != EXIT_OK) return rc;
  promo_error err;
  promo_error_clear(&err);
  promo_status st = render(&a, &err);
  if (st != PROMO_OK) {
    cli_print_error(&err);
    return cli_exit_code(st);
  }
  return EXIT_OK;
}
