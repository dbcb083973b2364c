/* Help text for `promo --help` and `promo help COMMAND`, in the user's language. */
#include <string.h>

#include "cli/cli.h"

static void help_overview(FILE *out) {
  fputs(_("Usage: promo [--lang zh|en] [--quiet|--verbose] [--threads N] COMMAND [ARGS]\n"
          "\n"
          "promo helps decide promotions from your own data: it cleans CSV exports,\n"
          "learns how promotions change what people buy, and chooses the plan that earns\n"
          "the most under your budget and limits.\n"
          "\n"
          "Commands:\n"
          "  run        run a whole project file: clean, train, evaluate, plan, report\n"
          "  clean      clean a CSV export: duplicates, missing and invalid values, outliers\n"
          "  offer      parse promotion text (8折, 满200减30, 买一送一) into numbers\n"
          "  features   build the feature matrix a model trains on, and save the pipeline\n"
          "  train      train a neural network on a CSV file and save it as a model file\n"
          "  predict    apply a model file to a CSV file: one prediction per row\n"
          "  eval       score a model file on held-out rows\n"
          "  cv         cross-validate a model's settings on a CSV file\n"
          "  optimize   choose each unit's promotion under budget and other limits\n"
          "  report     render a run's report.json as a self-contained HTML page\n"
          "  inspect    show a model file's architecture, inputs, settings and metrics\n"
          "  help       show help for a command: promo help run\n"
          "\n"
          "Global options:\n"
          "  --lang zh|en     language of messages and reports (default: from LANG)\n"
          "  -q, --quiet      print only warnings and errors\n"
          "  -v, --verbose    print debugging detail\n"
          "  --threads N      worker threads (default: one per CPU core)\n"
          "  -h, --help       show this help\n"
          "  -V, --version    print the version\n"
          "\n"
          "Exit status: 0 success, 1 failed run, 2 usage error, 3 invalid input data.\n"),
        out);
}

static void help_clean(FILE *out) {
  fputs(_("Usage: promo clean INPUT.csv -o OUTPUT.csv [options]\n"
          "\n"
          "Read a CSV export (UTF-8 or GB18030), remove duplicates, handle missing,\n"
          "invalid and outlying values, and write the cleaned rows. Every input row is\n"
          "accounted for: rows in = rows out + rows rejected + duplicates removed.\n"
          "\n"
          "Input:\n"
          "  --encoding auto|utf-8|gb18030   text encoding (default auto: BOM, UTF-8, GB18030)\n"
          "  --delimiter C                   field separator: ',' 'tab' ';' '|' (default: detect)\n"
          "  --types COL=TYPE,...            override inferred types: integer, decimal,\n"
          "                                  boolean, date, datetime, categorical, text\n"
          "  --replace-invalid               replace undecodable bytes with U+FFFD\n"
          "\n"
          "Duplicates:\n"
          "  --keep-duplicates               keep exact duplicate rows (default: remove)\n"
          "  --key COLS                      rows with equal values in COLS are duplicates\n"
          "  --keep first|latest             which key duplicate to keep (default first)\n"
          "  --time COL                      time column that decides 'latest'\n"
          "\n"
          "Missing values (empty, NA, N/A, NULL, null, \\N, -, nan):\n"
          "  --missing ACTION                action for every column (default keep)\n"
          "  --missing COL=ACTION,...        action for named columns\n"
          "      ACTION is keep, drop (reject the row), median, mean, mode,\n"
          "      auto (median for numbers, mode for the rest), value:TEXT (fill a\n"
          "      constant) or flag (keep and add COL_missing)\n"
          "\n"
          "Invalid values (each rule rejects the row, or with 'missing' blanks the cell):\n"
          "  --invalid reject|missing        text that does not parse as its column's type\n"
          "  --price-cols COLS               must be > 0 (default: names containing price or 价)\n"
          "  --bad-price reject|missing\n"
          "  --quantity-cols COLS            negative means a return (default: names containing\n"
          "                                  qty, quantity, units, 数量 or 件数)\n"
          "  --returns keep|reject           keep negative quantities as returns (default reject)\n"
          "  --rate-cols COLS                discount rates must be in (0, 1] (default: names\n"
          "                                  containing discount_rate, disc_rate or 折扣)\n"
          "  --bad-rate reject|missing|fix   fix reads 1 < x <= 100 as a percentage\n"
          "  --min-date DATE                 earliest plausible date (default 1990-01-01)\n"
          "  --max-date DATE                 latest plausible date (default today)\n"
          "  --bad-date reject|missing\n"
          "\n"
          "Outliers:\n"
          "  --outliers COLS|all             numeric columns to check (default none)\n"
          "  --outlier-method iqr|zscore     IQR fences (k = 1.5) or robust z-score (> 3.5)\n"
          "  --outlier-k K                   the IQR multiplier or the z-score limit\n"
          "  --outlier-action flag|reject    add COL_outlier (default) or reject the row\n"
          "\n"
          "Output:\n"
          "  -o, --output FILE               cleaned CSV (UTF-8), written atomically\n"
          "  --rejects FILE                  rejected and duplicate rows: line, reason, raw text\n"
          "  --report FILE                   JSON quality report per column\n"
          "  --bom                           start CSV outputs with a UTF-8 byte-order mark\n"
          "                                  (Excel needs it to show Chinese text)\n"),
        out);
}

static void help_features(FILE *out) {
  fputs(_("Usage: promo features DATA.csv -o MATRIX.csv [options]\n"
          "\n"
          "Fit the feature pipeline on DATA.csv (or apply a saved one) and write the\n"
          "float matrix a model sees, one named column per feature, so you can check it.\n"
          "Columns without a rule get a transform from their type: numbers are\n"
          "standardized, categories one-hot or frequency encoded, dates become calendar\n"
          "and festival features, promotion text becomes discount depth and kind flags.\n"
          "\n"
          "Columns:\n"
          "  --target COL                    label column: kept out of the features, used by\n"
          "                                  target encoding, copied as the last column\n"
          "  --id COLS                       columns copied to the output as they are\n"
          "  --ignore COLS                   columns that are not features\n"
          "  --transform COL=T,...           transform per column: standardize, minmax,\n"
          "                                  robust, log1p, onehot, index, frequency, target,\n"
          "                                  offer, time, time:SPEC, pca, skip\n"
          "  --time-spec SPEC                time features of date columns (default\n"
          "                                  dow,dom,month,weekend,events)\n"
          "  --calendar FILE                 extra events: CSV with name,date[,end_date]\n"
          "  --price COL                     unit price, for the offers' effective rate\n"
          "  --bad-offer flag|reject         promotion text that does not parse: set\n"
          "                                  COL_unknown (default) or leave the row out\n"
          "  --pca-components K              columns marked pca: keep K components\n"
          "  --pca-variance S                ... or the fewest that explain share S (0.95)\n"
          "\n"
          "Behavior-log windows (counted strictly before each row's time):\n"
          "  --events FILE                   the event log (user, item, time, type, ...)\n"
          "  --window SPEC                   one window feature; repeat for more, e.g.\n"
          "                                  count:view:7d@user_id, recency:buy@user_id,\n"
          "                                  rate:buy/view:30d@item_id\n"
          "  --event-time COL                time column of the events (date or datetime)\n"
          "  --event-type COL                column the event types in a spec match\n"
          "  --row-time COL                  time column of the rows; windows end before it\n"
          "  --row-key EVENT_COL=ROW_COL     a key column the rows name differently\n"
          "\n"
          "Output:\n"
          "  -o, --output FILE               the matrix as CSV\n"
          "  --describe                      print each column's source, mean, std, min, max\n"
          "  --save-pipeline FILE            save the fitted pipeline as JSON\n"
          "  --pipeline FILE                 apply a saved pipeline instead of fitting\n"
          "  --rejects FILE                  rows left out by --bad-offer reject\n"),
        out);
}

static void help_train(FILE *out) {
  fputs(_("Usage: promo train DATA.csv --target COL -o MODEL.promo [options]\n"
          "\n"
          "Hold out validation rows, fit the feature pipeline on the other\n"
          "rows, train a neural network (an MLP) and save network and pipeline in one\n"
          "model file. One line per epoch shows the training and validation loss.\n"
          "\n"
          "Columns:\n"
          "  --target COL            column to predict (numbers, or 0/1 for binary)\n"
          "  --id COLS               id columns, not used as features\n"
          "  --ignore COLS           other columns that are not features (outcomes that\n"
          "                          are known only after the fact, free text)\n"
          "  --transform COL=T,...   transform per column, as in 'promo help features'\n"
          "\n"
          "Model:\n"
          "  --task binary|regression|poisson\n"
          "                          default: binary when the target holds only 0 and 1,\n"
          "                          otherwise regression\n"
          "  --layers 128,64         units of each hidden layer (ReLU)\n"
          "  --epochs N              passes over the training rows (default 10)\n"
          "  --batch N               rows per optimizer step (default 32)\n"
          "  --lr X                  Adam learning rate (default 0.001)\n"
          "  --valid S               share of rows held out for validation (default 0.2;\n"
          "                          0 trains on every row)\n"
          "  --valid-time COL        hold out the latest rows by this date, time or\n"
          "                          number column instead of rows chosen at random\n"
          "  --patience N            stop after N epochs without a better validation loss\n"
          "  --seed N                seed of the split, the weights and the shuffling\n"
          "                          (default 42)\n"
          "\n"
          "Held-out test:\n"
          "  --test-split S          keep this share of rows out of training and\n"
          "                          validation, and report their metrics apart\n"
          "  --test-after VALUE      keep the rows after VALUE (a date, time or number)\n"
          "                          out as test rows instead\n"
          "  --test-time COL         the column --test-after reads (default: the\n"
          "                          --valid-time column)\n"
          "\n"
          "Output:\n"
          "  -o, --output FILE       the model file\n"
          "  --metrics FILE          JSON with the settings, each epoch's losses and the\n"
          "                          validation and test metrics (see 'promo help eval')\n"),
        out);
}

static void help_predict(FILE *out) {
  fputs(_("Usage: promo predict MODEL.promo DATA.csv -o PRED.csv [--id COLS]\n"
          "\n"
          "Apply a model file from 'promo train' to DATA.csv, which needs every input\n"
          "column the model was trained on (see 'promo inspect'). Writes the --id\n"
          "columns, then 'prediction': the probability of 1 for a binary model, the\n"
          "expected value otherwise. Rows are read in chunks, so memory does not grow\n"
          "with the file.\n"),
        out);
}

static void help_inspect(FILE *out) {
  fputs(_("Usage: promo inspect MODEL.promo\n"
          "\n"
          "Print a model file's network (task, layers, parameter count), its feature\n"
          "pipeline's input columns with their types, and its training settings and\n"
          "validation metrics.\n"),
        out);
}

bool cli_print_help(FILE *out, const char *command) {
  if (command == NULL) {
    help_overview(out);
    return true;
  }
  if (strcmp(command, "clean") == 0) {
    help_clean(out);
    return true;
  }
  if (strcmp(command, "features") == 0) {
    help_features(out);
    return true;
  }
  if (strcmp(command, "train") == 0) {
    help_train(out);
    return true;
  }
  if (strcmp(command, "predict") == 0) {
    help_predict(out);
    return true;
  }
  if (strcmp(command, "inspect") == 0) {
    help_inspect(out);
    return true;
  }
  static const struct {
    const char *name;
    void (*print)(FILE *out);
  } beside[] = {{"offer", cli_print_help_offer},
                {"eval", cli_print_help_eval},
                {"cv", cli_print_help_cv},
                {"optimize", cli_print_help_optimize},
                {"run", cli_print_help_run},
                {"report", cli_print_help_report}};
  for (size_t k = 0; k < sizeof beside / sizeof beside[0]; k++) {
    if (strcmp(command, beside[k].name) == 0) {
      beside[k].print(out);
      return true;
    }
  }
  return false;
}
