/* Shared by the project module's files: typed YAML access and the parsed project file. */
#ifndef PROMO_PROJECT_INTERNAL_H
#define PROMO_PROJECT_INTERNAL_H

#include <yaml.h>

#include "promo/clean.h"
#include "promo/model.h"
#include "promo/project.h"

/* ------------------------------------------------------------------ YAML access */

typedef struct yml {
  yaml_document_t doc;
  const char *path;
  bool loaded;
} yml;

/* Parse the whole file; syntax errors name its line and column. */
promo_status yml_load(yml *y, const char *path, promo_error *err);
void yml_clear(yml *y);
yaml_node_t *yml_root(yml *y);
/* The text of a scalar node (NUL-terminated, owned by the document), or NULL. */
const char *yml_scalar(const yaml_node_t *node);
/* The value under key in a mapping, or NULL when absent (or node is not a mapping). */
yaml_node_t *yml_get(yml *y, const yaml_node_t *map, const char *key);
/* map must be a mapping whose keys are all in known[] (NULL-terminated), each once.
 * section names it in messages; NULL for the file's top level. */
promo_status yml_check_keys(yml *y, const yaml_node_t *map, const char *section, const char *const *known,
                            promo_error *err);
promo_status yml_expect(yml *y, const yaml_node_t *node, yaml_node_type_t type, const char *name,
                        promo_error *err);
/* PROMO_ERR_DATA at node's line and column with a formatted message. */
promo_status yml_fail(yml *y, const yaml_node_t *node, promo_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
promo_status yml_string(yml *y, const yaml_node_t *node, const char *name, const char **out, promo_error *err);
promo_status yml_number(yml *y, const yaml_node_t *node, const char *name, double lo, double hi, double *out,
                        promo_error *err);
promo_status yml_count(yml *y, const yaml_node_t *node, const char *name, size_t lo, size_t hi, size_t *out,
                       promo_error *err);
promo_status yml_bool(yml *y, const yaml_node_t *node, const char *name, bool *out, promo_error *err);
/* One scalar or a list of scalars; *out is malloc'ed (caller frees), its strings are the
 * document's. */
promo_status yml_string_list(yml *y, const yaml_node_t *node, const char *name, const char ***out, size_t *n,
                             promo_error *err);
size_t yml_length(const yaml_node_t *node);
yaml_node_t *yml_item(yml *y, const yaml_node_t *seq, size_t i);
void yml_pair(yml *y, const yaml_node_t *map, size_t i, yaml_node_t **key, yaml_node_t **value);
int64_t yml_line(const yaml_node_t *node);

#endif

/* ------------------------------------------------------------------ the project */

#define PROJECT_MAX_ITEMS 256

/* With `exact: auto`, plans of at most this many unit-option pairs go to GLPK, which
 * proves them optimal in about a second. Larger ones take the fast solver. */
#define PROJECT_EXACT_MAX_PAIRS 5000

/* One planning option as the project file gives it. */
typedef struct project_option {
  const char *name;
  const char *offer;             /* offer text for the model's offer column, or NULL */
  size_t n_sets;
  const char *set_columns[16];
  const char *set_values[16];    /* "=value" text, or "*factor" to scale */
  int64_t line;
} project_option;

/* A lookup table joined onto the data by a key: a product catalog, a store list. */
typedef struct project_lookup {
  char *path;                    /* resolved, malloc'ed */
  const char *key;               /* key column in the lookup */
  const char *data_key;          /* the same key's column in the data */
} project_lookup;

#define PROJECT_MAX_LOOKUPS 8

typedef struct project_budget {
  const char *group;             /* NULL for the total budget */
  double amount;
} project_budget;

struct promo_project {
  yml y;
  char *path;                    /* as given */
  char *dir;                     /* folder of the project file, for relative paths */
  const char *name;

  /* sources (resolved paths, malloc'ed) */
  char *data_path, *events_path, *calendar_path;
  project_lookup lookups[PROJECT_MAX_LOOKUPS];
  size_t n_lookups;

  /* clean */
  bool clean;                    /* run promo clean on the data (default true) */
  promo_clean_options clean_opt;
  const char **key_columns;
  size_t n_key_columns;
  promo_clean_missing_rule missing[PROJECT_MAX_ITEMS];
  size_t n_missing;

  /* derive: new columns after cleaning, in order */
  const char *derive_names[PROJECT_MAX_ITEMS];
  const char *derive_exprs[PROJECT_MAX_ITEMS];
  int64_t derive_lines[PROJECT_MAX_ITEMS];
  size_t n_derive;

  /* features */
  const char **ignore, **ids, **windows;
  size_t n_ignore, n_ids, n_windows;
  const char *event_keys[16], *row_keys[16]; /* windows: event key column -> row column */
  size_t n_key_renames;
  const char *ignore_all[2 * PROJECT_MAX_ITEMS];
  promo_pipeline_rule rules[PROJECT_MAX_ITEMS];
  size_t n_rules;
  promo_trainer_options trainer;  /* pipeline + network settings */
  const char *task;               /* NULL: inferred from the target */
  double valid_share;
  const char *valid_time;

  /* evaluation */
  size_t folds;                   /* 0: no cross-validation */
  const char *split;              /* kfold, stratified, group, time */
  const char *split_group, *split_time;
  double test_share;              /* 0 with test_after */
  const char *test_after, *test_column;
  const char *eval_group, *treatment;
  bool has_split_seed;            /* evaluation.seed given; else model.seed splits */
  uint64_t split_seed;

  /* plan */
  bool has_plan;
  const char *plan_units;         /* test, all, latest */
  const char *plan_latest;        /* column for units: latest */
  char *plan_units_path;
  const char **unit_columns;
  size_t n_unit_columns;
  const char *plan_group, *offer_column;
  project_option options[64];
  size_t n_options;
  const char *objective;
  const char *price, *unit_cost, *margin, *order_value, *stock;
  double fee, redemption;
  project_budget budgets[PROJECT_MAX_ITEMS];
  size_t n_budgets;
  double max_promoted;            /* NAN: no limit */
  bool max_promoted_is_share;     /* written as a percentage: "30%" */
  double min_margin;              /* NAN: no minimum */
  int exact;                      /* 0 fast solver, 1 exact, -1 (default) exact for small
                                     problems (see PROJECT_EXACT_MAX_PAIRS) */
  double time_limit_s;
  size_t response_per_option;     /* not a key: rows shown in the response chart */
};

/* Resolve a path from the project file against its folder; malloc'ed. */
char *project_resolve(const promo_project *p, const char *path);

/* ------------------------------------------------------------------ the run */

/* Files of a run inside the output folder. */
typedef enum run_file {
  RUN_CLEANED = 0, RUN_REJECTS, RUN_QUALITY, RUN_MODEL, RUN_METRICS, RUN_PREDICTIONS,
  RUN_PLAN_UNITS, RUN_PLAN_CSV, RUN_PLAN_JSON, RUN_REPORT_JSON, RUN_REPORT_HTML, RUN_N_FILES
} run_file;

/* The state of one run, shared by the stage functions. */
typedef struct run {
  const promo_project *p;
  const promo_run_options *opt;
  promo_context *ctx;
  promo_error *err;
  char *files[RUN_N_FILES];
  json_t *doc;              /* the report document, saved as report.json after each stage */

  /* The data after cleaning and derived columns, loaded by the first stage that needs it. */
  promo_table *table;
  float *y;                 /* [table->n_rows] target */
  uint8_t *is_test;         /* [table->n_rows] 1 for held-out test rows */
  size_t n_test;
  promo_task task;
} run;

/* Load the cleaned data, derive the project's columns, read the target and mark the
 * held-out test rows, once per run. */
promo_status run_load_data(run *r);
/* A new table of the rows with mark[i] == want. */
promo_status run_select(const promo_table *t, const uint8_t *mark, uint8_t want, promo_table **out, size_t **rows);

promo_status run_stage_plan(run *r);

/* CSV output through a temporary file: open, then commit (flush, free the writer and
 * rename) or, on any error, leave nothing behind. */
promo_status run_csv_open(run *r, const char *path, promo_atomic_file **file, promo_csv_writer **w);
promo_status run_csv_commit(run *r, const char *path, promo_atomic_file *file, promo_csv_writer *w);

/* Write json to path atomically, indented. */
promo_status run_write_json(const json_t *json, const char *path, promo_error *err);
