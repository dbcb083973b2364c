/* Metric names and values as `promo eval` and `promo cv` print them. */
#ifndef PROMO_CLI_METRIC_TABLE_H
#define PROMO_CLI_METRIC_TABLE_H

#include <jansson.h>
#include <stddef.h>

/* Translated label of a metric key ("auc" -> "ROC AUC"); the key itself when unknown. */
const char *cli_metric_label(const char *key);

/* A metric value as text: a count as a whole number, a real with 4 decimals (or %.6g
 * when large), null as the translated word "undefined". */
void cli_metric_format(const json_t *value, char *buf, size_t size);

/* Print `text` padded with spaces to `width` terminal columns. */
void cli_print_padded(const char *text, int width);

#endif
