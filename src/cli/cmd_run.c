/* `promo run`: reads a project file and runs every stage — clean, train, evaluate, plan,
 * report — into one output folder, printing each stage with its time. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "promo/project.h"

void cli_print_help_run(FILE *out) {
  fputs(_("Usage: promo run PROJECT.yaml [-o OUTDIR] [--from STAGE]\n"
          "\n"
          "Run the whole job a project file describes: clean the data, train the model,\n"
          "evaluate it (cross-validation and a held-out test), plan the promotions and\n"
          "write a report. Paths in the project file are relative to its folder; see\n"
          "docs/project.md for every key.\n"
          "\n"
          "Options:\n"
          "  -o, --output DIR   output folder (default: promo-run next to the project file)\n"
          "  --from STAGE       start at clean, train, evaluate, plan or report, reusing\n"
          "                     what earlier stages wrote into the output folder\n"
          "\n"
          "The output folder receives cleaned.csv, rejects.csv, quality.json,\n"
          "model.promo, metrics.json, predictions.csv, plan_units.csv, plan.csv,\n"
          "plan.json, report.json and report.html. A stage that fails stops the run and\n"
          "keeps what earlier stages wrote.\n"
          "\n"
          "Exit status: 0 success, 1 failed run, 2 usage error, 3 invalid input data.\n"),
        out);
}

/* Stage names as users read them. */
static const char *stage_label(promo_run_stage stage) {
  switch (stage) {
    case PROMO_STAGE_CLEAN: return _("clean");
    case PROMO_STAGE_TRAIN: return _("train");
    case PROMO_STAGE_EVALUATE: return _("evaluate");
    case PROMO_STAGE_PLAN: return _("plan");
    case PROMO_STAGE_REPORT: return _("report");
    default: return "?";
  }
}

static void on_stage(void *user, promo_run_stage stage, bool done, promo_status status, double seconds) {
  const cli *app = user;
  if (app->level < PROMO_LOG_INFO && status == PROMO_OK) return;
  if (!done) {
    fprintf(stderr, _("[%d/%d] %s ...\n"), (int)stage + 1, (int)PROMO_STAGE_N, stage_label(stage));
  } else if (status == PROMO_OK) {
    fprintf(stderr, _("[%d/%d] %s done in %.1f s\n"), (int)stage + 1, (int)PROMO_STAGE_N, stage_label(stage), seconds);
  } else {
    fprintf(stderr, _("[%d/%d] %s failed after %.1f s\n"), (int)stage + 1, (int)PROMO_STAGE_N, stage_label(stage),
            seconds);
  }
}

typedef struct run_args {
  const char *project, *out_dir, *from;
  char *default_out;
} run_args;

static int parse_args(run_args *a, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *v = NULL;
    int got = 0;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      cli_print_help_run(stdout);
      return -1;
    } else if ((got = cli_option_value(argc, argv, &i, "-o", &v)) != 0 ||
               (got = cli_option_value(argc, argv, &i, "--output", &v)) != 0) {
      if (got < 0) return EXIT_USAGE;
      a->out_dir = v;
    } else if ((got = cli_option_value(argc, argv, &i, "--from", &v)) != 0) {
      if (got < 0) return EXIT_USAGE;
      a->from = v;
    } else if (arg[0] == '-' && arg[1] != '\0') {
      return cli_usage_error("run", _("unknown option '%s'"), arg);
    } else if (a->project == NULL) {
      a->project = arg;
    } else {
      return cli_usage_error("run", _("unexpected argument '%s'; give one project file"), arg);
    }
  }
  if (a->project == NULL) return cli_usage_error("run", "%s", _("no project file given: promo run PROJECT.yaml"));
  return EXIT_OK;
}

/* promo-run in the project file's folder. */
static char *default_out_dir(const char *project) {
  const char *slash = strrchr(project, '/');
  size_t dir_len = slash != NULL ? (size_t)(slash - project) + 1 : 0;
  char *out = malloc(dir_len + sizeof "promo-run");
  if (out == NULL) return NULL;
  memcpy(out, project, dir_len);
  memcpy(out + dir_len, "promo-run", sizeof "promo-run");
  return out;
}

int cli_run(cli *app, int argc, char **argv) {
  run_args a = {0};
  int rc = parse_args(&a, argc, argv);
  if (rc != EXIT_OK) return rc < 0 ? EXIT_OK : rc;

  promo_run_options opt;
  promo_run_options_init(&opt);
  if (a.from != NULL && !promo_run_stage_parse(a.from, &opt.from))
    return cli_usage_error("run", _("invalid --from '%s'; use clean, train, evaluate, plan or report"), a.from);
  if (a.out_dir == NULL) {
    a.default_out = default_out_dir(a.project);
    if (a.default_out == NULL) {
      cli_error("%s", _("out of memory"));
      return EXIT_FAILED;
    }
  }
  opt.out_dir = a.out_dir != NULL ? a.out_dir : a.default_out;
  opt.on_stage = on_stage;
  opt.user = app;

  promo_error err;
  promo_error_clear(&err);
  promo_project *project = NULL;
  promo_status st = promo_project_read(a.project, &project, &err);
  if (st == PROMO_OK) st = promo_project_run(project, &opt, &app->ctx, &err);
  if (st != PROMO_OK) {
    cli_print_error(&err);
    rc = cli_exit_code(st);
  } else if (app->level >= PROMO_LOG_INFO) {
    fprintf(stderr, _("results in %s/ (open report.html)\n"), opt.out_dir);
  }
  promo_project_free(project);
  free(a.default_out);
  return rc;
}
