/* The project file and the whole run: `promo run` reads one YAML file that names the
 * sources, cleaning rules, derived columns, features, model, evaluation and planning
 * problem, and runs every stage into one output folder. */
#ifndef PROMO_PROJECT_H
#define PROMO_PROJECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "promo/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_project promo_project;

/* Read and check a project file (docs/project.md lists every key). Unknown keys, keys
 * given twice and values of the wrong type are PROMO_ERR_DATA naming the key, the line
 * and the column; a file that cannot be opened is PROMO_ERR_IO. Paths inside the file
 * are relative to its folder. Nothing is read but the project file itself. */
promo_status promo_project_read(const char *path, promo_project **out, promo_error *err);
void promo_project_free(promo_project *project);

/* The stages of a run, in order. */
typedef enum promo_run_stage {
  PROMO_STAGE_CLEAN = 0, /* clean the data: cleaned.csv, rejects.csv, quality.json */
  PROMO_STAGE_TRAIN,     /* derived columns, held-out test split, features and network:
                            model.promo, training.json */
  PROMO_STAGE_EVALUATE,  /* cross-validation and the held-out test: metrics.json,
                            predictions.csv */
  PROMO_STAGE_PLAN,      /* candidates, predictions and the plan: plan.csv, plan.json,
                            response.json */
  PROMO_STAGE_REPORT,    /* report.json and report.html */
  PROMO_STAGE_N
} promo_run_stage;

/* "clean", "train", "evaluate", "plan", "report". */
const char *promo_run_stage_name(promo_run_stage stage);
bool promo_run_stage_parse(const char *name, promo_run_stage *out);

/* Called when a stage starts (done = false) and when it ends (done = true, with its
 * status and seconds). */
typedef void (*promo_run_stage_fn)(void *user, promo_run_stage stage, bool done, promo_status status,
                                   double seconds);

typedef struct promo_run_options {
  const char *out_dir;           /* created when missing */
  promo_run_stage from;          /* resume: earlier stages' files are read from out_dir */
  promo_run_stage_fn on_stage;   /* may be NULL */
  void *user;
} promo_run_options;

void promo_run_options_init(promo_run_options *opt);

/* Run the stages from opt->from to the end. Each stage's files are written atomically
 * into out_dir; a failing stage stops the run with its error and leaves the files of
 * earlier stages. Resuming needs those files (PROMO_ERR_USAGE naming a missing one). */
promo_status promo_project_run(const promo_project *project, const promo_run_options *opt,
                               promo_context *ctx, promo_error *err);

#ifdef __cplusplus
}
#endif
#endif
