/* `promo clean`: parses the cleaning options, runs the clean stage and prints the
 * reconciled row summary on stderr. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "promo/clean.h"

#define MAX_LIST_ITEMS 4096

/* Memory behind the option lists; freed once the run ends. */
typedef struct clean_args {
  char *copies[64];
  size_t n_copies;
  const char *names[8][MAX_LIST_ITEMS]; /* one list per name option */
  size_t n_lists;
  promo_clean_type_rule types[MAX_LIST_ITEMS];
  promo_clean_missing_rule missing[MAX_LIST_ITEMS];
} clean_args;

static char *keep_copy(clean_args *a, const char *s) {
  if (a->n_copies == sizeof a->copies / sizeof a->copies[0]) return NULL;
  char *copy = strdup(s);
  if (copy != NULL) a->copies[a->n_copies++] = copy;
  return copy;
}

/* Split "a,b,c" into a name list; returns false on an empty item or too many lists. */
static bool parse_names(clean_args *a, const char *text, promo_name_list *out) {
  if (a->n_lists == 8) return false;
  char *copy = keep_copy(a, text);
  if (copy == NULL) return false;
  const char **names = a->names[a->n_lists++];
  size_t n = 0;
  char *save = NULL;
  for (char *item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
    if (n == MAX_LIST_ITEMS) return false;
    names[n++] = item;
  }
  out->names = names;
  out->n_names = n;
  return true;
}

static bool parse_missing_action(const char *text, promo_missing_action *action, const char **value) {
  static const struct {
    const char *name;
    promo_missing_action action;
  } actions[] = {{"keep", PROMO_MISSING_KEEP},     {"drop", PROMO_MISSING_DROP},
                 {"median", PROMO_MISSING_MEDIAN}, {"mean", PROMO_MISSING_MEAN},
                 {"mode", PROMO_MISSING_MODE},     {"flag", PROMO_MISSING_FLAG},
                 {"auto", PROMO_MISSING_AUTO}};
  *value = NULL;
  if (strncmp(text, "value:", 6) == 0) {
    *action = PROMO_MISSING_VALUE;
    *value = text + 6;
    return true;
  }
  for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
    if (strcmp(text, actions[i].name) == 0) {
      *action = actions[i].action;
      return true;
    }
  }
  return false;
}

static bool parse_rule_action(const char *text, bool allow_fix, promo_rule_action *out) {
  if (strcmp(text, "reject") == 0) *out = PROMO_RULE_REJECT;
  else if (strcmp(text, "missing") == 0) *out = PROMO_RULE_MISSING;
  else if (allow_fix && strcmp(text, "fix") == 0) *out = PROMO_RULE_FIX;
  else return false;
  return true;
}

/* --missing ACTION or --missing COL=ACTION[,COL=ACTION...] */
static int parse_missing(clean_args *a, promo_clean_options *opt, const char *text) {
  promo_missing_action action;
  const char *value;
  if (strchr(text, '=') == NULL) {
    if (!parse_missing_action(text, &action, &value))
      return cli_usage_error("clean", _("invalid --missing action '%s'"), text);
    opt->missing_default = action;
    opt->missing_default_value = value;
    return EXIT_OK;
  }
  char *copy = keep_copy(a, text);
  if (copy == NULL) return cli_usage_error("clean", "%s", _("too many options"));
  char *save = NULL;
  for (char *item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(item, '=');
    if (eq == NULL || eq == item)
      return cli_usage_error("clean", _("invalid --missing item '%s'; write COL=ACTION"), item);
    *eq = '\0';
    if (!parse_missing_action(eq + 1, &action, &value))
      return cli_usage_error("clean", _("invalid --missing action '%s' for column '%s'"), eq + 1, item);
    if (opt->n_missing_rules == MAX_LIST_ITEMS) return cli_usage_error("clean", "%s", _("too many options"));
    a->missing[opt->n_missing_rules++] = (promo_clean_missing_rule){item, action, value};
  }
  opt->missing_rules = a->missing;
  return EXIT_OK;
}

static int parse_types(clean_args *a, promo_clean_options *opt, const char *text) {
  char *copy = keep_copy(a, text);
  if (copy == NULL) return cli_usage_error("clean", "%s", _("too many options"));
  char *save = NULL;
  for (char *item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(item, '=');
    if (eq == NULL || eq == item)
      return cli_usage_error("clean", _("invalid --types item '%s'; write COL=TYPE"), item);
    *eq = '\0';
    promo_type type;
    if (!promo_type_parse(eq + 1, &type))
      return cli_usage_error("clean",
                             _("unknown type '%s' for column '%s'; use integer, decimal, "
                               "boolean, date, datetime, categorical or text"),
                             eq + 1, item);
    if (opt->n_type_rules == MAX_LIST_ITEMS) return cli_usage_error("clean", "%s", _("too many options"));
    a->types[opt->n_type_rules++] = (promo_clean_type_rule){item, type};
  }
  opt->type_rules = a->types;
  return EXIT_OK;
}

static bool parse_delimiter(const char *text, char *out) {
  if (strcmp(text, "tab") == 0 || strcmp(text, "\\t") == 0) *out = '\t';
  else if (strlen(text) == 1 && strchr(",;|\t", text[0]) != NULL) *out = text[0];
  else return false;
  return true;
}

static void print_summary(const promo_clean_paths *paths, const promo_clean_summary *s) {
  fprintf(stderr, _("Cleaned %s in %.2f s\n"), paths->input, s->elapsed_ms / 1000.0);
  fprintf(stderr, _("  rows in             %12llu\n"), (unsigned long long)s->rows_in);
  fprintf(stderr, _("  rows out            %12llu\n"), (unsigned long long)s->rows_out);
  fprintf(stderr, _("  rows rejected       %12llu\n"), (unsigned long long)s->rows_rejected);
  static const char *const labels[PROMO_REJECT_N_REASONS] = {
      N_("duplicate"),         N_("duplicate key"),     N_("invalid value"),
      N_("missing value"),     N_("price not above 0"), N_("negative quantity"),
      N_("rate outside (0, 1]"), N_("date out of range"), N_("outlier")};
  for (int r = PROMO_REJECT_INVALID_VALUE; r < PROMO_REJECT_N_REASONS; r++) {
    if (s->by_reason[r] == 0) continue;
    const char *label = _(labels[r]);
    fprintf(stderr, "      %s%*s %10llu\n", label, 17 - cli_display_width(label), "",
            (unsigned long long)s->by_reason[r]);
  }
  fprintf(stderr, _("  duplicates removed  %12llu\n"), (unsigned long long)s->duplicates_removed);
  bool balanced = s->rows_in == s->rows_out + s->rows_rejected + s->duplicates_removed;
  fprintf(stderr, _("  check: %llu in = %llu out + %llu rejected + %llu duplicates (%s)\n"),
          (unsigned long long)s->rows_in, (unsigned long long)s->rows_out,
          (unsigned long long)s->rows_rejected, (unsigned long long)s->duplicates_removed,
          balanced ? _("balanced") : _("NOT balanced"));
  fprintf(stderr, _("  cells filled %llu, rates fixed %llu, outliers flagged %llu\n"),
          (unsigned long long)s->cells_filled, (unsigned long long)s->cells_fixed,
          (unsigned long long)s->outliers_flagged);
  fprintf(stderr, _("  output: %s\n"), paths->output);
  if (paths->rejects != NULL) fprintf(stderr, _("  rejected rows: %s\n"), paths->rejects);
  if (paths->report != NULL) fprintf(stderr, _("  quality report: %s\n"), paths->report);
}

/* Parse one option at argv[*i]; returns EXIT_OK, a usage exit code, or -1 if unknown. */
static int parse_option(clean_args *a, promo_clean_options *opt, promo_clean_paths *paths,
                        int argc, char **argv, int *i) {
  const char *v = NULL;
  int got;
  const char *arg = argv[*i];
#define VALUE_OPTION(name) ((got = cli_option_value(argc, argv, i, name, &v)) != 0)
  if (strcmp(arg, "--keep-duplicates") == 0) opt->remove_duplicates = false;
  else if (strcmp(arg, "--replace-invalid") == 0) opt->csv.replace_invalid = true;
  else if (strcmp(arg, "--bom") == 0) opt->with_bom = true;
  else if (VALUE_OPTION("-o") || (got == 0 && VALUE_OPTION("--output"))) {
    if (got < 0) return EXIT_USAGE;
    paths->output = v;
  } else if (VALUE_OPTION("--rejects")) {
    if (got < 0) return EXIT_USAGE;
    paths->rejects = v;
  } else if (VALUE_OPTION("--report")) {
    if (got < 0) return EXIT_USAGE;
    paths->report = v;
  } else if (VALUE_OPTION("--encoding")) {
    if (got < 0) return EXIT_USAGE;
    if (!promo_encoding_parse(v, &opt->csv.encoding))
      return cli_usage_error("clean", _("unknown encoding '%s'; use auto, utf-8 or gb18030"), v);
  } else if (VALUE_OPTION("--delimiter")) {
    if (got < 0) return EXIT_USAGE;
    if (!parse_delimiter(v, &opt->csv.delimiter))
      return cli_usage_error("clean", _("invalid delimiter '%s'; use ',', tab, ';' or '|'"), v);
  } else if (VALUE_OPTION("--types")) {
    if (got < 0) return EXIT_USAGE;
    return parse_types(a, opt, v);
  } else if (VALUE_OPTION("--missing")) {
    if (got < 0) return EXIT_USAGE;
    return parse_missing(a, opt, v);
  } else if (VALUE_OPTION("--key")) {
    if (got < 0 || !parse_names(a, v, &opt->key_columns)) return cli_usage_error("clean", _("invalid --key '%s'"), v);
  } else if (VALUE_OPTION("--keep")) {
    if (got < 0) return EXIT_USAGE;
    if (strcmp(v, "first") == 0) opt->keep = PROMO_KEEP_FIRST;
    else if (strcmp(v, "latest") == 0) opt->keep = PROMO_KEEP_LATEST;
    else return cli_usage_error("clean", _("invalid --keep '%s'; use first or latest"), v);
  } else if (VALUE_OPTION("--time")) {
    if (got < 0) return EXIT_USAGE;
    opt->time_column = v;
  } else if (VALUE_OPTION("--invalid")) {
    if (got < 0 || !parse_rule_action(v, false, &opt->on_invalid))
      return cli_usage_error("clean", _("invalid --invalid '%s'; use reject or missing"), v ? v : "");
  } else if (VALUE_OPTION("--price-cols")) {
    if (got < 0 || !parse_names(a, v, &opt->price_columns)) return cli_usage_error("clean", _("invalid --price-cols '%s'"), v ? v : "");
  } else if (VALUE_OPTION("--bad-price")) {
    if (got < 0 || !parse_rule_action(v, false, &opt->on_bad_price))
      return cli_usage_error("clean", _("invalid --bad-price '%s'; use reject or missing"), v ? v : "");
  } else if (VALUE_OPTION("--quantity-cols")) {
    if (got < 0 || !parse_names(a, v, &opt->quantity_columns)) return cli_usage_error("clean", _("invalid --quantity-cols '%s'"), v ? v : "");
  } else if (VALUE_OPTION("--returns")) {
    if (got < 0) return EXIT_USAGE;
    if (strcmp(v, "keep") == 0) opt->keep_returns = true;
    else if (strcmp(v, "reject") == 0) opt->keep_returns = false;
    else return cli_usage_error("clean", _("invalid --returns '%s'; use keep or reject"), v);
  } else if (VALUE_OPTION("--rate-cols")) {
    if (got < 0 || !parse_names(a, v, &opt->rate_columns)) return cli_usage_error("clean", _("invalid --rate-cols '%s'"), v ? v : "");
  } else if (VALUE_OPTION("--bad-rate")) {
    if (got < 0 || !parse_rule_action(v, true, &opt->on_bad_rate))
      return cli_usage_error("clean", _("invalid --bad-rate '%s'; use reject, missing or fix"), v ? v : "");
  } else if (VALUE_OPTION("--min-date") || (got == 0 && VALUE_OPTION("--max-date"))) {
    if (got < 0) return EXIT_USAGE;
    int32_t days;
    if (!promo_parse_date(v, strlen(v), &days, NULL))
      return cli_usage_error("clean", _("invalid date '%s'; write it as YYYY-MM-DD"), v);
    if (strncmp(arg, "--min-date", 10) == 0) opt->min_date = days;
    else opt->max_date = days;
  } else if (VALUE_OPTION("--bad-date")) {
    if (got < 0 || !parse_rule_action(v, false, &opt->on_bad_date))
      return cli_usage_error("clean", _("invalid --bad-date '%s'; use reject or missing"), v ? v : "");
  } else if (VALUE_OPTION("--outliers")) {
    if (got < 0 || !parse_names(a, v, &opt->outlier_columns)) return cli_usage_error("clean", _("invalid --outliers '%s'"), v ? v : "");
  } else if (VALUE_OPTION("--outlier-method")) {
    if (got < 0) return EXIT_USAGE;
    if (strcmp(v, "iqr") == 0) opt->outlier_method = PROMO_OUTLIER_IQR;
    else if (strcmp(v, "zscore") == 0) opt->outlier_method = PROMO_OUTLIER_ZSCORE;
    else return cli_usage_error("clean", _("invalid --outlier-method '%s'; use iqr or zscore"), v);
  } else if (VALUE_OPTION("--outlier-k")) {
    if (got < 0) return EXIT_USAGE;
    char *end;
    errno = 0;
    double k = strtod(v, &end);
    if (errno != 0 || *end != '\0' || !(k > 0))
      return cli_usage_error("clean", _("invalid --outlier-k '%s'; give a number above 0"), v);
    opt->outlier_k = k;
  } else if (VALUE_OPTION("--outlier-action")) {
    if (got < 0) return EXIT_USAGE;
    if (strcmp(v, "flag") == 0) opt->on_outlier = PROMO_RULE_KEEP;
    else if (strcmp(v, "reject") == 0) opt->on_outlier = PROMO_RULE_REJECT;
    else return cli_usage_error("clean", _("invalid --outlier-action '%s'; use flag or reject"), v);
  } else {
    return -1;
  }
#undef VALUE_OPTION
  return EXIT_OK;
}

int cli_clean(cli *app, int argc, char **argv) {
  clean_args *a = calloc(1, sizeof *a);
  if (a == NULL) {
    cli_error("%s", _("out of memory"));
    return EXIT_FAILED;
  }
  promo_clean_options opt;
  promo_clean_options_init(&opt);
  promo_clean_paths paths = {0};
  int rc = EXIT_OK;

  for (int i = 1; i < argc && rc == EXIT_OK; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      cli_print_help(stdout, "clean");
      goto done;
    }
    if (arg[0] == '-' && arg[1] != '\0') {
      rc = parse_option(a, &opt, &paths, argc, argv, &i);
      if (rc < 0) rc = cli_usage_error("clean", _("unknown option '%s'"), arg);
    } else if (paths.input == NULL) {
      paths.input = arg;
    } else {
      rc = cli_usage_error("clean", _("unexpected argument '%s'; give one input file"), arg);
    }
  }
  if (rc != EXIT_OK) goto done;
  if (paths.input == NULL) {
    rc = cli_usage_error("clean", "%s", _("no input file given"));
    goto done;
  }
  if (paths.output == NULL) {
    rc = cli_usage_error("clean", "%s", _("no output file given; add -o OUTPUT.csv"));
    goto done;
  }

  promo_clean_summary summary;
  promo_error err;
  promo_error_clear(&err);
  promo_status st = promo_clean_file(&paths, &opt, &app->ctx, &summary, &err);
  if (st != PROMO_OK) {
    cli_print_error(&err);
    if (st == PROMO_ERR_USAGE) fprintf(stderr, _("Run 'promo help %s' for the options.\n"), "clean");
    rc = cli_exit_code(st);
    goto done;
  }
  if (app->level >= PROMO_LOG_INFO) print_summary(&paths, &summary);

done:
  for (size_t k = 0; k < a->n_copies; k++) free(a->copies[k]);
  free(a);
  return rc;
}
