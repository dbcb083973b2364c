/* Row subsets of a typed table, for the training, validation, test and fold parts that
 * the model and evaluation stages fit and score separately. */
#include <stdlib.h>
#include <string.h>

#include "promo/data.h"

/* Allocate the copy's per-row arrays for cap rows, matching which arrays src has. */
static promo_status alloc_column(const promo_column *src, promo_column *dst, size_t cap) {
  dst->is_missing = malloc(cap);
  dst->is_invalid = malloc(cap);
  dst->is_plain = malloc(cap);
  if (src->ints != NULL) dst->ints = malloc(cap * sizeof *dst->ints);
  if (src->reals != NULL) dst->reals = malloc(cap * sizeof *dst->reals);
  if (src->codes != NULL) dst->codes = malloc(cap * sizeof *dst->codes);
  if (dst->is_missing == NULL || dst->is_invalid == NULL || dst->is_plain == NULL ||
      (src->ints != NULL && dst->ints == NULL) || (src->reals != NULL && dst->reals == NULL) ||
      (src->codes != NULL && dst->codes == NULL))
    return PROMO_ERR_NOMEM;
  return PROMO_OK;
}

static promo_status create_like(const promo_table *t, promo_table **out) {
  size_t n = t->n_columns > 0 ? t->n_columns : 1;
  const char **names = malloc(n * sizeof *names);
  promo_type *types = malloc(n * sizeof *types);
  promo_status st = names != NULL && types != NULL ? PROMO_OK : PROMO_ERR_NOMEM;
  for (size_t c = 0; st == PROMO_OK && c < t->n_columns; c++) {
    names[c] = t->columns[c].name;
    types[c] = t->columns[c].type;
  }
  if (st == PROMO_OK) st = promo_table_create(t->n_columns, names, types, false, out);
  free(names);
  free(types);
  return st;
}

promo_status promo_table_select(const promo_table *t, const size_t *rows, size_t n_rows,
                                promo_table **out) {
  *out = NULL;
  promo_table *s = NULL;
  promo_status st = create_like(t, &s);
  if (st != PROMO_OK) return st;

  size_t cap = n_rows > 0 ? n_rows : 1;
  s->lines = malloc(cap * sizeof *s->lines);
  if (s->lines == NULL) st = PROMO_ERR_NOMEM;
  for (size_t c = 0; st == PROMO_OK && c < t->n_columns; c++)
    st = alloc_column(&t->columns[c], &s->columns[c], cap);
  if (st == PROMO_OK) s->capacity = cap;

  for (size_t i = 0; st == PROMO_OK && i < n_rows; i++) {
    size_t r = rows[i];
    s->lines[i] = t->lines != NULL ? t->lines[r] : (int64_t)r + 2;
    for (size_t c = 0; st == PROMO_OK && c < t->n_columns; c++) {
      const promo_column *src = &t->columns[c];
      promo_column *dst = &s->columns[c];
      dst->is_missing[i] = src->is_missing[r];
      dst->is_invalid[i] = src->is_invalid[r];
      dst->is_plain[i] = src->is_plain[r];
      if (src->ints != NULL) dst->ints[i] = src->ints[r];
      if (src->reals != NULL) dst->reals[i] = src->reals[r];
      if (src->codes == NULL) continue;
      dst->codes[i] = -1;
      if (src->codes[r] < 0) continue;
      size_t len = 0;
      const char *text = promo_dict_string(src->dict, src->codes[r], &len);
      st = promo_dict_intern(dst->dict, text, len, &dst->codes[i]);
    }
    s->n_rows = i + 1;
  }
  if (st != PROMO_OK) {
    promo_table_free(s);
    return st;
  }
  *out = s;
  return PROMO_OK;
}
