/* `promo optimize`: chooses each unit's promotion under budget, count, stock and margin
 * limits from a candidates file or from a units file, an option list and a model, and
 * writes the plan and its summary. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "promo/plan.h"

#define MAX_LIST 256

void cli_print_help_optimize(FILE *out) {
  fputs(_("Usage: promo optimize CANDIDATES.csv --unit COL --value COL [--cost COL]... -o PLAN.csv\n"
          "       promo optimize CANDIDATES.csv --model M.promo --unit COL -o PLAN.csv\n"
          "       promo optimize UNITS.csv --model M.promo --options LIST -o PLAN.csv\n"
          "\n"
          "Choose at most one promotion for every decision unit (an item, a store-week, a\n"
          "customer) so that the objective is as large as possible under the limits, and\n"
          "report how far from the best possible plan the answer can be (bound and gap).\n"
          "\n"
          "Candidates:\n"
          "  --unit COL            column naming the unit (units files: default row number)\n"
          "  --option COL          column naming the option of a candidate row (default\n"
          "                        option)\n"
          "  --value COL           without a model: the value of each row under the objective\n"
          "  --cost COL            without a model: the spend of each row; the first --cost\n"
          "                        is what --budget limits, later ones only take --limit\n"
          "  --model FILE          a model from 'promo train' that predicts each row\n"
          "  --options LIST        options for a units file, separated by ';':\n"
          "                          NAME                  an offer text, such as 9折 or\n"
          "                                                满200减30, written into the model's\n"
          "                                                offer column\n"
          "                          NAME: COL=V, COL*=F, COL+=A\n"
          "                                                edits of the unit's row: set a\n"
          "                                                text, scale or add to a number\n"
          "                        e.g. \"none;9折;赠品:15;sale: price*=0.8, deal=1\"\n"
          "  --offer-column COL    the model's offer column, when it reads several\n"
          "  --baseline NAME       the option meaning no promotion (default none); units\n"
          "                        without it count 0 when not promoted\n"
          "\n"
          ),
        out);
  fputs(_(          "Objective and money (COL|AMOUNT takes a column name or a number):\n"
          "  --objective NAME      profit (default), revenue (gmv), units (buyers), or\n"
          "                        incremental_profit, incremental_revenue,\n"
          "                        incremental_units (over the unit's baseline option)\n"
          "  --price COL|AMOUNT    list price per item (default: a column named price)\n"
          "  --order-value COL|AMOUNT\n"
          "                        money per order for binary models, whose prediction is\n"
          "                        the probability of an order (default: order_value,\n"
          "                        then the price)\n"
          "  --unit-cost COL|AMOUNT\n"
          "                        cost of goods per item or order\n"
          "  --margin COL          percent of the list price kept, when no unit cost is\n"
          "                        given: cost = price x (1 - margin / 100)\n"
          "  --redemption R        share of coupon savings redeemed, 0 to 1 (default 1)\n"
          "  --gift-cost AMOUNT    cost of one gift (default: the value the offer states)\n"
          "  --fee AMOUNT          fixed cost per promoted unit (default 0)\n"
          "Spend = predicted units x (list price - price paid) + gifts + fees.\n"
          "\n"
          ),
        out);
  fputs(_(          "Limits:\n"
          "  --budget AMOUNT       total spend\n"
          "  --group COL           group of each unit (category, merchant)\n"
          "  --group-budget AMOUNT|G=AMOUNT,...\n"
          "                        spend per group: one amount for every group, or\n"
          "                        amounts for named groups\n"
          "  --max-promoted N|P%   promoted units overall, a count or a share\n"
          "  --max-promoted-per-group N|P%\n"
          "  --stock COL           units in stock per unit; predictions above it are cut\n"
          "                        to it, or with --stock-mode filter such options are\n"
          "                        not chosen\n"
          "  --stock-mode cap|filter\n"
          "  --min-margin M|P%     least share of the price paid kept after cost of goods\n"
          "                        by a promoted unit (0.1 or 10%)\n"
          "  --forbid FILE         CSV with the unit column (or unit) and option: pairs\n"
          "                        that may not be chosen\n"
          "  --limit COL=AMOUNT    the summed column COL of the chosen rows (repeatable)\n"
          "\n"
          ),
        out);
  fputs(_(          "Solver:\n"
          "  --exact               GLPK's branch and bound (after the fast solver)\n"
          "  --time-limit S        seconds for --exact (default 60)\n"
          "  --mip-gap G           relative gap at which --exact stops (default 1e-6)\n"
          "\n"
          "Output:\n"
          "  -o, --output FILE     the plan: unit, [group,] option, predicted, spend, value,\n"
          "                        baseline_value, value_gain\n"
          "  --json FILE           summary: value, bound, gap, spend per limit, and the\n"
          "                        plan against no promotion and one option for all\n"
          "  --top N               units listed in the summary's top_units (default 20)\n"
          "  --bom                 start the plan with a UTF-8 byte-order mark\n"
          "  --encoding E          encoding of the input files: auto, utf-8, gb18030\n"
          "  -h, --help            show this help\n"
          "\n"
          "Exit codes: 0 done, 1 failed, 2 usage error, 3 invalid data or limits that\n"
          "cannot be met.\n"),
        out);
}

typedef struct optimize_args {
  const char *input, *output, *json_path, *options_text;
  bool with_bom;
  promo_plan_job job;
  const char *cost_columns[MAX_LIST];
  const char *limit_columns[MAX_LIST];
  double limits[MAX_LIST];
  const char *group_names[MAX_LIST];
  double group_budgets[MAX_LIST];
  promo_plan_option_list *options;
  cli_strings strings;
} optimize_args;

/* ===================================================================== values */

static bool parse_double(const char *text, double *out) {
  char *end;
  errno = 0;
  double x = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !isfinite(x)) return false;
  *out = x;
  return true;
}

static int parse_amount(const char *name, const char *text, double lo, double *out) {
  if (!parse_double(text, out) || *out < lo)
    return cli_usage_error("optimize", _("invalid %s '%s'; give a number of at least %g"), name, text, lo);
  return EXIT_OK;
}

/* A count or share: "500" or "10%". */
static int parse_count_or_share(const char *name, const char *text, double *out, bool *is_share) {
  size_t len = strlen(text);
  char buf[64];
  *is_share = len > 0 && len < sizeof buf && text[len - 1] == '%';
  snprintf(buf, sizeof buf, "%.*s", (int)(*is_share ? len - 1 : len), text);
  if (!parse_double(buf, out) || *out < 0 || (*is_share && *out > 100))
    return cli_usage_error("optimize", _("invalid %s '%s'; give a count such as 500 or a share such as 10%%"), name,
                           text);
  if (*is_share) *out /= 100.0;
  return EXIT_OK;
}

/* COL|AMOUNT: a number sets *amount, other text names a column. */
static void column_or_amount(const char *text, const char **column, double *amount) {
  double x;
  if (parse_double(text, &x)) {
    *amount = x;
    *column = NULL;
  } else {
    *column = text;
  }
}

/* --group-budget AMOUNT or G=AMOUNT,G=AMOUNT. */
static int parse_group_budget(optimize_args *a, const char *text) {
  promo_plan_limits *l = &a->job.limits;
  if (strchr(text, '=') == NULL) return parse_amount("--group-budget", text, 0, &l->group_budget);
  const char *items[MAX_LIST];
  long n = cli_split_list(&a->strings, text, items, MAX_LIST);
  if (n < 0) return cli_usage_error("optimize", "%s", _("--group-budget has too many groups"));
  for (long k = 0; k < n; k++) {
    char *eq = strrchr(items[k], '=');
    if (eq == NULL || eq == items[k])
      return cli_usage_error("optimize", _("invalid --group-budget item '%s'; write GROUP=AMOUNT"), items[k]);
    *eq = '\0';
    if (parse_amount("--group-budget", eq + 1, 0, &a->group_budgets[l->n_group_budgets]) != EXIT_OK) return EXIT_USAGE;
    a->group_names[l->n_group_budgets++] = items[k];
  }
  l->group_names = a->group_names;
  l->group_budgets = a->group_budgets;
  return EXIT_OK;
}

static int parse_limit(optimize_args *a, const char *text) {
  promo_plan_limits *l = &a->job.limits;
  const char *eq = strrchr(text, '=');
  if (eq == NULL || eq == text || l->n_cost_limits == 64)
    return cli_usage_error("optimize", _("invalid --limit '%s'; write COL=AMOUNT, at most 64 times"), text);
  const char *items[1];
  char column[256];
  snprintf(column, sizeof column, "%.*s", (int)(eq - text), text);
  if (cli_split_list(&a->strings, column, items, 1) != 1)
    return cli_usage_error("optimize", _("invalid --limit '%s'; write COL=AMOUNT, at most 64 times"), text);
  if (parse_amount("--limit", eq + 1, -INFINITY, &a->limits[l->n_cost_limits]) != EXIT_OK) return EXIT_USAGE;
  a->limit_columns[l->n_cost_limits++] = items[0];
  l->cost_limit_columns = a->limit_columns;
  l->cost_limits = a->limits;
  return EXIT_OK;
}

/* ===================================================================== arguments */

/* Options that set the money and the objective; -2 when `arg` matches none of them. */
static int parse_money(optimize_args *a, int argc, char **argv, int *i) {
  promo_plan_economics *e = &a->job.economics;
  const char *v = NULL;
  int got = 0;
#define VALUE(name) ((got = cli_option_value(argc, argv, i, name, &v)) != 0)
  if (VALUE("--objective")) {
    if (got > 0 && !promo_plan_objective_parse(v, &a->job.objective))
      return cli_usage_error("optimize", _("unknown objective '%s'; give profit, revenue, units or an "
                                           "incremental_ one"),
                             v);
  } else if (VALUE("--price")) {
    if (got > 0) column_or_amount(v, &e->price_column, &e->price);
  } else if (VALUE("--order-value")) {
    if (got > 0) column_or_amount(v, &e->order_value_column, &e->order_value);
  } else if (VALUE("--unit-cost")) {
    if (got > 0) column_or_amount(v, &e->unit_cost_column, &e->unit_cost);
  } else if (VALUE("--margin")) {
    e->margin_column = v;
  } else if (VALUE("--redemption")) {
    if (got > 0 && (parse_amount("--redemption", v, 0, &e->redemption) != EXIT_OK || e->redemption > 1))
      return cli_usage_error("optimize", _("invalid --redemption '%s'; give a share from 0 to 1"), v);
  } else if (VALUE("--gift-cost")) {
    if (got > 0 && parse_amount("--gift-cost", v, 0, &e->gift_cost) != EXIT_OK) return EXIT_USAGE;
  } else if (VALUE("--fee")) {
    if (got > 0 && parse_amount("--fee", v, 0, &e->fee) != EXIT_OK) return EXIT_USAGE;
  } else {
    return -2;
  }
#undef VALUE
  return got < 0 ? EXIT_USAGE : EXIT_OK;
}

/* Options that set limits; -2 when `arg` matches none of them. */
static int parse_limits(optimize_args *a, int argc, char **argv, int *i) {
  promo_plan_limits *l = &a->job.limits;
  const char *v = NULL;
  int got = 0, rc = EXIT_OK;
#define VALUE(name) ((got = cli_option_value(argc, argv, i, name, &v)) != 0)
  if (VALUE("--budget")) {
    if (got > 0) rc = parse_amount("--budget", v, 0, &l->budget);
  } else if (VALUE("--group")) {
    l->group_column = v;
  } else if (VALUE("--group-budget")) {
    if (got > 0) rc = parse_group_budget(a, v);
  } else if (VALUE("--max-promoted")) {
    if (got > 0) rc = parse_count_or_share("--max-promoted", v, &l->max_promoted, &l->max_promoted_is_share);
  } else if (VALUE("--max-promoted-per-group")) {
    if (got > 0)
      rc = parse_count_or_share("--max-promoted-per-group", v, &l->max_promoted_per_group,
                                &l->max_promoted_per_group_is_share);
  } else if (VALUE("--stock")) {
    l->stock_column = v;
  } else if (VALUE("--stock-mode")) {
    if (got > 0 && strcmp(v, "cap") != 0 && strcmp(v, "filter") != 0)
      return cli_usage_error("optimize", _("invalid --stock-mode '%s'; give cap or filter"), v);
    if (got > 0) l->stock_caps = strcmp(v, "cap") == 0;
  } else if (VALUE("--min-margin")) {
    bool is_share = false;
    if (got > 0) rc = parse_count_or_share("--min-margin", v, &l->min_margin, &is_share);
  } else if (VALUE("--forbid")) {
    l->forbid_path = v;
  } else if (VALUE("--limit")) {
    if (got > 0) rc = parse_limit(a, v);
  } else {
    return -2;
  }
#undef VALUE
  return got < 0 ? EXIT_USAGE : rc;
}

/* Candidate, solver and output options; -2 when `arg` matches none of them. */
static int parse_other(optimize_args *a, int argc, char **argv, int *i) {
  promo_plan_job *job = &a->job;
  const char *v = NULL;
  int got = 0, rc = EXIT_OK;
#define VALUE(name) ((got = cli_option_value(argc, argv, i, name, &v)) != 0)
  if (VALUE("-o") || (got == 0 && VALUE("--output"))) {
    a->output = v;
  } else if (VALUE("--json")) {
    a->json_path = v;
  } else if (VALUE("--unit")) {
    job->unit_column = v;
  } else if (VALUE("--option")) {
    job->option_column = v;
  } else if (VALUE("--value")) {
    job->value_column = v;
  } else if (VALUE("--cost")) {
    if (job->n_cost_columns == MAX_LIST) return cli_usage_error("optimize", "%s", _("too many --cost columns"));
    a->cost_columns[job->n_cost_columns++] = v;
    job->cost_columns = a->cost_columns;
  } else if (VALUE("--model")) {
    job->model_path = v;
  } else if (VALUE("--options")) {
    a->options_text = v;
  } else if (VALUE("--offer-column")) {
    job->offer_column = v;
  } else if (VALUE("--baseline")) {
    job->baseline = v;
  } else if (VALUE("--time-limit")) {
    if (got > 0 && (!parse_double(v, &job->solve.time_limit_s) || job->solve.time_limit_s <= 0))
      return cli_usage_error("optimize", _("invalid --time-limit '%s'; give a positive number of seconds"), v);
  } else if (VALUE("--mip-gap")) {
    if (got > 0) rc = parse_amount("--mip-gap", v, 0, &job->solve.mip_gap);
  } else if (VALUE("--top")) {
    double n = 0;
    if (got > 0 && (parse_amount("--top", v, 0, &n) != EXIT_OK || n != floor(n) || n > 1e6))
      return cli_usage_error("optimize", _("invalid --top '%s'; give a whole number up to 1000000"), v);
    job->n_top_units = (size_t)n;
  } else if (VALUE("--encoding")) {
    if (got > 0 && !promo_encoding_parse(v, &job->load.csv.encoding))
      return cli_usage_error("optimize", _("unknown encoding '%s'; give auto, utf-8 or gb18030"), v);
  } else {
    return -2;
  }
#undef VALUE
  return got < 0 ? EXIT_USAGE : rc;
}

static int check_args(optimize_args *a) {
  if (a->input == NULL)
    return cli_usage_error("optimize", "%s", _("give the candidates or units file: promo optimize FILE.csv ... -o PLAN.csv"));
  if (a->output == NULL) return cli_usage_error("optimize", "%s", _("no output file given; add -o PLAN.csv"));
  const char *inputs[] = {a->input, a->job.model_path, a->job.limits.forbid_path};
  const char *outputs[] = {a->output, a->json_path};
  for (size_t o = 0; o < 2; o++) {
    for (size_t k = 0; outputs[o] != NULL && k < 3; k++) {
      if (inputs[k] != NULL && (strcmp(outputs[o], inputs[k]) == 0 || promo_same_file(outputs[o], inputs[k])))
        return cli_usage_error("optimize", _("the output '%s' is also an input; give it its own name"), outputs[o]);
    }
  }
  if (a->json_path != NULL && promo_same_file(a->output, a->json_path))
    return cli_usage_error("optimize", "%s", _("-o and --json name the same file; give each its own"));
  if (a->options_text != NULL) {
    if (a->job.model_path == NULL)
      return cli_usage_error("optimize", "%s", _("--options needs a model (--model) that predicts each option"));
    promo_error err;
    promo_error_clear(&err);
    if (promo_plan_options_parse(a->options_text, &a->options, &err) != PROMO_OK)
      return cli_usage_error("optimize", _("invalid --options: %s"), err.message);
    a->job.base_path = a->input;
    a->job.options = promo_plan_option_list_items(a->options);
    a->job.n_options = promo_plan_option_list_size(a->options);
  } else {
    a->job.candidates_path = a->input;
  }
  return EXIT_OK;
}

static int parse_args(optimize_args *a, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      cli_print_help(stdout, "optimize");
      return -1;
    }
    int rc = parse_money(a, argc, argv, &i);
    if (rc == -2) rc = parse_limits(a, argc, argv, &i);
    if (rc == -2) rc = parse_other(a, argc, argv, &i);
    if (rc == -2) {
      if (strcmp(arg, "--exact") == 0) {
        a->job.solve.solver = PROMO_PLAN_SOLVER_EXACT;
      } else if (strcmp(arg, "--bom") == 0) {
        a->with_bom = true;
      } else if (arg[0] == '-' && arg[1] != '\0') {
        return cli_usage_error("optimize", _("unknown option '%s'"), arg);
      } else if (a->input == NULL) {
        a->input = arg;
      } else {
        return cli_usage_error("optimize", _("unexpected argument '%s'; give one input file"), arg);
      }
      rc = EXIT_OK;
    }
    if (rc != EXIT_OK) return rc;
  }
  return check_args(a);
}

/* ===================================================================== run */

static void print_summary(const optimize_args *a, const promo_plan_result *result) {
  json_t *summary = promo_plan_summary_json(result);
  if (summary == NULL) return;
  const promo_plan_solution *s = promo_plan_result_solution(result);
  json_t *spend = json_object_get(summary, "spend");
  fprintf(stderr,
          _("plan: %lld units, %lld promoted; %s %.6g (bound %.6g, gap %.4g%%); spend %.6g; %s solver, "
            "%.0f ms\n"),
          (long long)json_integer_value(json_object_get(summary, "n_units")),
          (long long)json_integer_value(json_object_get(summary, "n_promoted")),
          promo_plan_objective_name(a->job.objective), s->value, s->bound, 100.0 * s->gap,
          json_real_value(json_object_get(spend, "budget")), promo_plan_solver_name(s->solver), s->solve_ms);
  json_decref(summary);
}

int cli_optimize(cli *app, int argc, char **argv) {
  optimize_args *a = calloc(1, sizeof *a);
  if (a == NULL) {
    cli_error("%s", _("out of memory"));
    return EXIT_FAILED;
  }
  promo_plan_job_init(&a->job);
  int rc = parse_args(a, argc, argv);
  if (rc < 0) {
    rc = EXIT_OK; /* --help */
  } else if (rc == EXIT_OK) {
    promo_error err;
    promo_error_clear(&err);
    promo_plan_result *result = NULL;
    promo_status st = promo_plan_run(&a->job, &app->ctx, &result, &err);
    if (st == PROMO_OK) st = promo_plan_write_csv(result, a->output, a->with_bom, &err);
    if (st == PROMO_OK && a->json_path != NULL) st = promo_plan_write_json(result, a->json_path, &err);
    if (st == PROMO_OK && app->level >= PROMO_LOG_INFO) print_summary(a, result);
    if (st != PROMO_OK) {
      cli_print_error(&err);
      rc = cli_exit_code(st);
    }
    promo_plan_result_free(result);
  }
  promo_plan_option_list_free(a->options);
  cli_strings_clear(&a->strings);
  free(a);
  return rc;
}
