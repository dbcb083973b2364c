/* libFuzzer target for derived-column expressions. An input that parses is bound to a small
 * table and evaluated. Every value must then be finite or marked missing, and the missing
 * rows must add up to the counts by cause. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promo/feature.h"

/* Columns an input may name: a bare name, a quoted one and an integer one. */
static promo_table *make_table(void) {
  static const char *const names[] = {"x", "price", "brand", "unit price", "数量"};
  static const promo_type types[] = {PROMO_TYPE_DECIMAL, PROMO_TYPE_DECIMAL, PROMO_TYPE_INT,
                                     PROMO_TYPE_DECIMAL, PROMO_TYPE_INT};
  static const char *const rows[][5] = {
      {"0", "1.5", "1", "2", "3"},     {"-1", "0.04", "2", "NA", "0"},
      {"1e300", "-2", "3", "0.5", "7"}, {"", "3", "", "1", "-4"},
  };
  promo_table *table = NULL;
  if (promo_table_create(5, names, types, false, &table) != PROMO_OK) abort();
  for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
    uint32_t lengths[5];
    for (size_t c = 0; c < 5; c++) lengths[c] = (uint32_t)strlen(rows[r][c]);
    promo_csv_record record = {.n_fields = 5, .fields = rows[r], .lengths = lengths,
                               .line = (int64_t)r + 2, .index = r};
    if (promo_table_append(table, &record) != PROMO_OK) abort();
  }
  return table;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (text == NULL) return 0;
  memcpy(text, data, size);
  text[size] = '\0';

  promo_error err;
  promo_error_clear(&err);
  promo_expr *expr = NULL;
  promo_status status = promo_expr_parse(text, &expr, &err);
  if (status != PROMO_OK) {
    if (status != PROMO_ERR_USAGE || expr != NULL || err.column < 1) abort();
    free(text);
    return 0;
  }

  promo_table *table = make_table();
  if (promo_expr_bind(expr, table, &err) == PROMO_OK) {
    double out[4];
    uint8_t missing[4];
    promo_expr_stats stats;
    if (promo_expr_eval(expr, table, out, missing, &stats, &err) != PROMO_OK) abort();
    uint64_t n_missing = 0;
    for (size_t r = 0; r < table->n_rows; r++) {
      if (missing[r]) n_missing++;
      else if (!isfinite(out[r])) abort();
    }
    if (n_missing != stats.n_missing_input + stats.n_domain + stats.n_overflow) abort();
  }
  promo_table_free(table);
  promo_expr_free(expr);
  free(text);
  return 0;
}
