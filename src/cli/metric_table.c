/* Metric names and values as `promo eval` and `promo cv` print them, so both commands
 * label a metric the same way. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/metric_table.h"

typedef struct metric_label {
  const char *key;
  const char *label; /* marked with N_(), translated when printed */
} metric_label;

static const metric_label labels[] = {
    {"rows", N_("rows")},
    {"positives", N_("positive rows")},
    {"auc", N_("ROC AUC")},
    {"pr_auc", N_("PR AUC (average precision)")},
    {"log_loss", N_("log loss")},
    {"brier", N_("Brier score")},
    {"threshold", N_("threshold")},
    {"accuracy", N_("accuracy")},
    {"precision", N_("precision")},
    {"recall", N_("recall")},
    {"f1", N_("F1")},
    {"group_auc", N_("mean AUC per group")},
    {"groups_scored", N_("groups with both classes")},
    {"groups_skipped", N_("groups with one class")},
    {"rmse", N_("RMSE")},
    {"mae", N_("MAE")},
    {"mape", N_("MAPE")},
    {"mape_skipped", N_("rows left out of MAPE (actual 0)")},
    {"wape", N_("WAPE")},
    {"r2", N_("R\xC2\xB2")},
    {"bias", N_("bias (sum predicted / sum actual)")},
    {"poisson_deviance", N_("mean Poisson deviance")},
    {"treated_rows", N_("treated rows")},
    {"control_rows", N_("control rows")},
    {"ate", N_("uplift (treated minus control mean)")},
    {"qini_coefficient", N_("Qini coefficient")},
    {"auuc", N_("AUUC")},
    {"uplift_at_10pct", N_("uplift in the top 10%")},
    {"uplift_at_20pct", N_("uplift in the top 20%")},
    {"uplift_at_30pct", N_("uplift in the top 30%")},
};

const char *cli_metric_label(const char *key) {
  for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
    if (strcmp(labels[i].key, key) == 0) return _(labels[i].label);
  return key;
}

void cli_metric_format(const json_t *value, char *buf, size_t size) {
  if (json_is_integer(value)) {
    snprintf(buf, size, "%lld", (long long)json_integer_value(value));
  } else if (json_is_real(value)) {
    double x = json_real_value(value);
    snprintf(buf, size, fabs(x) < 1e6 ? "%.4f" : "%.6g", x);
  } else {
    snprintf(buf, size, "%s", _("undefined"));
  }
}

void cli_print_padded(const char *text, int width) {
  fputs(text, stdout);
  for (int w = cli_display_width(text); w < width; w++) putchar(' ');
}
