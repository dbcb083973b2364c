/* Times the feature stage on a CSV file: standardize + one-hot + PCA, fitted and then
 * applied. This is the promo side of bench/bench_features.sh, and
 * bench/features_sklearn.py is the scikit-learn side. Build with -DPROMO_BUILD_BENCH=ON
 * and run
 *
 *     build/bench/bench_features [--threads 1,2] [--repeat 3] [--warmup 0]
 *                                [--components 10] CSV
 *
 * stdout gets one JSON object per line. The first ("record": "columns") has the load time
 * and the chosen columns, so that the scikit-learn script uses the same ones. Then comes
 * one ("record": "run") per thread count and run, with seconds per step; warm-up runs
 * have "repeat": 0. Each step allocates its output matrix inside the timed region, as
 * scikit-learn does, so page faults on fresh memory count on both sides. */
#include <cblas.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "promo/feature.h"
#include "promo/data.h"

enum { MAX_THREAD_COUNTS = 8 };

typedef struct bench_args {
  const char *path;
  int thread_counts[MAX_THREAD_COUNTS];
  size_t n_thread_counts;
  long repeat;
  long n_warmup;
  long n_components;
} bench_args;

/* Columns chosen for encoding, as indices into the table. */
typedef struct column_choice {
  size_t *numeric;
  size_t n_numeric;
  size_t *categorical;
  size_t n_categorical;
} column_choice;

/* Seconds of each step of one fit + apply, and the CPU seconds that other processes
 * used meanwhile (the machine is shared, so a busy neighbour explains an outlier). */
typedef struct run_times {
  double fit_encode_s, fit_pca_s, apply_encode_s, apply_pca_s;
  double other_cpu_s;
} run_times;

static void usage(void) {
  fprintf(stderr,
          "usage: bench_features [--threads N[,N...]] [--repeat N] [--warmup N] "
          "[--components K] CSV\n"
          "  --threads     thread counts to run, comma-separated (default 1,2)\n"
          "  --repeat      timed runs per thread count (default 3)\n"
          "  --warmup      runs before those, reported with repeat 0 (default 0)\n"
          "  --components  PCA components (default 10)\n");
}

/* Parse a whole decimal number from min to max; false when s is anything else. */
static bool parse_long(const char *s, long min, long max, long *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (end == s || *end != '\0' || errno != 0 || v < min || v > max) return false;
  *out = v;
  return true;
}

static bool parse_thread_list(const char *s, bench_args *args) {
  char buf[128];
  if (strlen(s) >= sizeof buf) return false;
  strcpy(buf, s);
  args->n_thread_counts = 0;
  for (char *tok = strtok(buf, ","); tok != NULL; tok = strtok(NULL, ",")) {
    long v = 0;
    if (args->n_thread_counts == MAX_THREAD_COUNTS || !parse_long(tok, 1, 256, &v)) return false;
    args->thread_counts[args->n_thread_counts++] = (int)v;
  }
  return args->n_thread_counts > 0;
}

static bool parse_args(int argc, char **argv, bench_args *args) {
  args->path = NULL;
  args->thread_counts[0] = 1;
  args->thread_counts[1] = 2;
  args->n_thread_counts = 2;
  args->repeat = 3;
  args->n_warmup = 0;
  args->n_components = 10;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool has_value = i + 1 < argc;
    if (strcmp(a, "--threads") == 0 && has_value) {
      if (!parse_thread_list(argv[++i], args)) return false;
    } else if (strcmp(a, "--repeat") == 0 && has_value) {
      if (!parse_long(argv[++i], 1, 1000, &args->repeat)) return false;
    } else if (strcmp(a, "--warmup") == 0 && has_value) {
      if (!parse_long(argv[++i], 0, 1000, &args->n_warmup)) return false;
    } else if (strcmp(a, "--components") == 0 && has_value) {
      if (!parse_long(argv[++i], 1, 100000, &args->n_components)) return false;
    } else if (a[0] == '-' || args->path != NULL) {
      return false;
    } else {
      args->path = a;
    }
  }
  return args->path != NULL;
}

static void print_error(const char *step, const promo_error *err) {
  char text[1024];
  promo_error_format(err, text, sizeof text);
  fprintf(stderr, "bench_features: %s: %s\n", step, text);
}

/* Numeric columns are INT and DECIMAL columns that promo_encoder_suggest would
 * standardize, which leaves out identifiers (order_id, user_id) and constant columns.
 * Categorical columns are CATEGORICAL columns it would one-hot encode: at most 64
 * distinct values. Everything else (dates, text, booleans, ids) is not used. */
static promo_status choose_columns(const promo_table *table, column_choice *choice,
                                   promo_error *err) {
  choice->numeric = calloc(table->n_columns, sizeof *choice->numeric);
  choice->categorical = calloc(table->n_columns, sizeof *choice->categorical);
  if (choice->numeric == NULL || choice->categorical == NULL)
    return promo_error_set(err, PROMO_ERR_NOMEM, "out of memory");
  promo_encoder_suggest_options opt;
  promo_encoder_suggest_options_init(&opt);
  opt.max_one_hot_levels = 64;
  for (size_t c = 0; c < table->n_columns; c++) {
    promo_type type = table->columns[c].type;
    promo_encoder_suggestion s;
    promo_status st = promo_encoder_suggest(table, c, NULL, 0, &opt, &s, err);
    if (st != PROMO_OK) return st;
    bool is_number = type == PROMO_TYPE_INT || type == PROMO_TYPE_DECIMAL;
    if (is_number && s.kind == PROMO_ENCODER_STANDARDIZE)
      choice->numeric[choice->n_numeric++] = c;
    else if (type == PROMO_TYPE_CATEGORICAL && s.kind == PROMO_ENCODER_ONE_HOT)
      choice->categorical[choice->n_categorical++] = c;
  }
  return PROMO_OK;
}

/* Requests in output order: numeric columns first, then categorical ones. One-hot keeps
 * every level (min_count 1, no max_levels), as scikit-learn's OneHotEncoder does. */
static promo_encoder_request *make_requests(const column_choice *choice, size_t *n_requests) {
  size_t n = choice->n_numeric + choice->n_categorical;
  promo_encoder_request *requests = calloc(n, sizeof *requests);
  if (requests == NULL) return NULL;
  for (size_t k = 0; k < n; k++) {
    bool is_numeric = k < choice->n_numeric;
    promo_encoder_request *r = &requests[k];
    r->column = is_numeric ? choice->numeric[k] : choice->categorical[k - choice->n_numeric];
    promo_encoder_options_init(&r->options,
                               is_numeric ? PROMO_ENCODER_STANDARDIZE : PROMO_ENCODER_ONE_HOT);
    r->options.impute = PROMO_ENCODER_IMPUTE_MEAN;
    r->options.min_count = 1;
    r->options.max_levels = 0;
  }
  *n_requests = n;
  return requests;
}

static json_t *column_names(const promo_table *table, const size_t *columns, size_t n) {
  json_t *names = json_array();
  for (size_t i = 0; names != NULL && i < n; i++)
    json_array_append_new(names, json_string(table->columns[columns[i]].name));
  return names;
}

/* Print one JSON object on a line of stdout and free it. */
static void print_json_line(json_t *obj) {
  char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
  if (text != NULL) printf("%s\n", text);
  fflush(stdout);
  free(text);
  json_decref(obj);
}

static void print_columns(const bench_args *args, const promo_table *table,
                          const column_choice *choice, double load_s) {
  json_t *levels = json_object();
  for (size_t i = 0; levels != NULL && i < choice->n_categorical; i++) {
    const promo_column *col = &table->columns[choice->categorical[i]];
    json_object_set_new(levels, col->name, json_integer((json_int_t)promo_dict_size(col->dict)));
  }
  print_json_line(json_pack("{s:s, s:s, s:s, s:I, s:f, s:o, s:o, s:o, s:s}", "record", "columns",
                            "tool", "promo", "path", args->path, "n_rows",
                            (json_int_t)table->n_rows, "load_s", load_s, "numeric",
                            column_names(table, choice->numeric, choice->n_numeric),
                            "categorical",
                            column_names(table, choice->categorical, choice->n_categorical),
                            "dictionary_sizes", levels, "blas_core", openblas_get_corename()));
}

static double seconds_since(double start_ms) { return (promo_now_ms() - start_ms) / 1000.0; }

/* CPU seconds the whole machine has spent busy since boot, from the first line of
 * /proc/stat (user, nice, system, irq, softirq and steal ticks), or -1 when unreadable. */
static double machine_busy_s(void) {
  FILE *fp = fopen("/proc/stat", "r");
  if (fp == NULL) return -1.0;
  unsigned long long user, nice, system, idle, iowait, irq, softirq, steal;
  int n = fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system, &idle,
                 &iowait, &irq, &softirq, &steal);
  fclose(fp);
  long ticks = sysconf(_SC_CLK_TCK);
  if (n != 8 || ticks <= 0) return -1.0;
  return (double)(user + nice + system + irq + softirq + steal) / (double)ticks;
}

/* CPU seconds (user + system) this process has used so far. */
static double process_cpu_s(void) {
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0.0;
  return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

static void free_encoders(promo_encoder **encoders, size_t n) {
  for (size_t k = 0; k < n; k++) promo_encoder_free(encoders[k]);
}

/* Fit the encoders (writing the training matrix) and the PCA, then apply both to the
 * same table, timing each step. On success *pca_out owns the PCA and *d the width. */
static promo_status run_once(const promo_table *table, const promo_encoder_request *requests,
                             size_t n_requests, size_t n_components, const promo_context *ctx,
                             run_times *t, size_t *d_out, promo_pca **pca_out,
                             promo_error *err) {
  size_t n = table->n_rows;
  promo_encoder **encoders = calloc(n_requests, sizeof *encoders);
  float *X_fit = NULL, *X_apply = NULL, *Z = NULL;
  promo_pca *pca = NULL;
  promo_status st = PROMO_ERR_NOMEM;
  if (encoders == NULL) goto done;

  /* (a) fit. The width of X is known only after the one-hot encoders have seen their
   * levels, so, like promo_pipeline_fit_transform, this fits without X and then writes
   * the training matrix with promo_encoder_transform_all. For standardize and one-hot
   * that is the same work as promo_encoder_fit_all with X. */
  double start = promo_now_ms();
  st = promo_encoder_fit_all(table, requests, n_requests, NULL, n, NULL, NULL, 0, 0, ctx,
                             encoders, err);
  if (st != PROMO_OK) goto done;
  size_t d = 0;
  for (size_t k = 0; k < n_requests; k++) d += promo_encoder_n_outputs(encoders[k]);
  X_fit = malloc(n * d * sizeof *X_fit); /* [n x d], row-major */
  st = X_fit == NULL ? PROMO_ERR_NOMEM : PROMO_OK;
  if (st == PROMO_OK)
    st = promo_encoder_transform_all((const promo_encoder *const *)encoders, n_requests, table,
                                     NULL, n, X_fit, d, 0, ctx, NULL, err);
  if (st != PROMO_OK) goto done;
  t->fit_encode_s = seconds_since(start);

  start = promo_now_ms();
  promo_pca_options opt;
  promo_pca_options_init(&opt);
  opt.n_components = n_components;
  st = promo_pca_fit(X_fit, n, d, d, &opt, ctx, &pca, err);
  if (st != PROMO_OK) goto done;
  t->fit_pca_s = seconds_since(start);

  /* (b) apply. */
  start = promo_now_ms();
  X_apply = malloc(n * d * sizeof *X_apply); /* [n x d] */
  st = X_apply == NULL ? PROMO_ERR_NOMEM : PROMO_OK;
  if (st == PROMO_OK)
    st = promo_encoder_transform_all((const promo_encoder *const *)encoders, n_requests, table,
                                     NULL, n, X_apply, d, 0, ctx, NULL, err);
  if (st != PROMO_OK) goto done;
  t->apply_encode_s = seconds_since(start);

  start = promo_now_ms();
  Z = malloc(n * n_components * sizeof *Z); /* [n x n_components] */
  st = Z == NULL ? PROMO_ERR_NOMEM : PROMO_OK;
  if (st == PROMO_OK) st = promo_pca_transform(pca, X_apply, n, d, Z, n_components, 0, err);
  if (st != PROMO_OK) goto done;
  t->apply_pca_s = seconds_since(start);

  /* Not timed: fitting and applying the same encoders must give the same matrix. */
  if (memcmp(X_fit, X_apply, n * d * sizeof *X_fit) != 0)
    st = promo_error_set(err, PROMO_ERR_INTERNAL, "the applied matrix differs from the fitted one");
  *d_out = d;

done:
  if (st == PROMO_ERR_NOMEM && err->message[0] == '\0')
    promo_error_set(err, st, "out of memory");
  if (st == PROMO_OK) {
    *pca_out = pca;
    pca = NULL;
  }
  if (encoders != NULL) free_encoders(encoders, n_requests);
  free(encoders);
  free(X_fit);
  free(X_apply);
  free(Z);
  promo_pca_free(pca);
  return st;
}

static void print_run(int threads, long repeat, size_t n_rows, size_t d, const run_times *t,
                      const promo_pca *pca) {
  double fit_s = t->fit_encode_s + t->fit_pca_s;
  double apply_s = t->apply_encode_s + t->apply_pca_s;
  json_t *ratios = json_array();
  const double *r = promo_pca_explained_variance_ratio(pca);
  for (size_t k = 0; ratios != NULL && k < promo_pca_n_components(pca); k++)
    json_array_append_new(ratios, json_real(r[k]));
  print_json_line(json_pack(
      "{s:s, s:s, s:i, s:i, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:o}", "record",
      "run",
      "tool", "promo", "threads", threads, "repeat", (int)repeat, "n_rows", (json_int_t)n_rows,
      "d", (json_int_t)d, "fit_encode_s", t->fit_encode_s, "fit_pca_s", t->fit_pca_s, "fit_s",
      fit_s, "apply_encode_s", t->apply_encode_s, "apply_pca_s", t->apply_pca_s, "apply_s",
      apply_s, "total_s", fit_s + apply_s, "other_cpu_s", t->other_cpu_s,
      "explained_variance_ratio", ratios));
}

int main(int argc, char **argv) {
  bench_args args;
  if (!parse_args(argc, argv, &args)) {
    usage();
    return 2;
  }
  promo_error err;
  promo_error_clear(&err);
  promo_context ctx;
  promo_context_init(&ctx);

  promo_load_options load_opt;
  promo_load_options_init(&load_opt);
  promo_table *table = NULL;
  double start = promo_now_ms();
  if (promo_table_load(args.path, &load_opt, &ctx, &table, &err) != PROMO_OK) {
    print_error("loading failed", &err);
    return 1;
  }
  double load_s = seconds_since(start);

  column_choice choice = {0};
  size_t n_requests = 0;
  promo_encoder_request *requests = NULL;
  int rc = 1;
  if (choose_columns(table, &choice, &err) != PROMO_OK) {
    print_error("choosing columns failed", &err);
    goto done;
  }
  print_columns(&args, table, &choice, load_s);
  if (choice.n_numeric + choice.n_categorical == 0) {
    fprintf(stderr, "bench_features: %s has no numeric or categorical column to encode\n",
            args.path);
    goto done;
  }
  requests = make_requests(&choice, &n_requests);
  if (requests == NULL) {
    fprintf(stderr, "bench_features: out of memory\n");
    goto done;
  }

  for (size_t i = 0; i < args.n_thread_counts; i++) {
    int threads = args.thread_counts[i];
    ctx.n_threads = threads;
    /* The PCA's BLAS calls run on OpenBLAS's own threads, which promo_context does not
     * reach, so the benchmark sets them to the same count. */
    openblas_set_num_threads(threads);
    for (long rep = 1 - args.n_warmup; rep <= args.repeat; rep++) {
      run_times t = {0};
      size_t d = 0;
      promo_pca *pca = NULL;
      double busy_before = machine_busy_s(), own_before = process_cpu_s();
      if (run_once(table, requests, n_requests, (size_t)args.n_components, &ctx, &t, &d, &pca,
                   &err) != PROMO_OK) {
        print_error("feature run failed", &err);
        goto done;
      }
      t.other_cpu_s = (machine_busy_s() - busy_before) - (process_cpu_s() - own_before);
      print_run(threads, rep > 0 ? rep : 0, table->n_rows, d, &t, pca);
      promo_pca_free(pca);
    }
  }
  rc = 0;

done:
  free(requests);
  free(choice.numeric);
  free(choice.categorical);
  promo_table_free(table);
  return rc;
}
