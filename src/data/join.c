/* Left joins of a lookup table (a product catalog, a store list) onto the data by one key
 * column, so a project can use the lookup's columns as features and in derived columns;
 * keys compare by their cell text. */
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "promo/data.h"

const char *promo_table_cell_text(const promo_table *t, size_t row, size_t column, char buf[32], size_t *len) {
  const promo_column *col = &t->columns[column];
  size_t n = 0;
  const char *text = buf;
  if (col->is_missing[row]) {
    text = NULL;
  } else {
    switch (col->type) {
      case PROMO_TYPE_BOOL: text = col->ints[row] ? "true" : "false", n = strlen(text); break;
      case PROMO_TYPE_INT: n = promo_format_int(col->ints[row], buf); break;
      case PROMO_TYPE_DECIMAL: n = promo_format_decimal(col->reals[row], buf); break;
      case PROMO_TYPE_DATE: n = promo_format_date((int32_t)col->ints[row], buf); break;
      case PROMO_TYPE_DATETIME: n = promo_format_datetime(col->ints[row], buf); break;
      default: text = promo_dict_string(col->dict, col->codes[row], &n); break;
    }
  }
  if (len != NULL) *len = n;
  return text;
}

static promo_status key_column(const promo_table *t, const char *path, const char *key, size_t *out,
                               promo_error *err) {
  ptrdiff_t c = promo_table_find(t, key);
  if (c >= 0) {
    *out = (size_t)c;
    return PROMO_OK;
  }
  promo_error_at(err, path, 0, 0);
  return promo_error_set(err, PROMO_ERR_USAGE, _("key column '%s' is not in the header"), key);
}

/* Index the lookup's rows by key text: rows[code] is the row of the key with that code. */
static promo_status index_keys(const promo_table *right, const char *path, size_t key, promo_dict *keys,
                               size_t *rows, promo_error *err) {
  char buf[32];
  for (size_t r = 0; r < right->n_rows; r++) {
    size_t len = 0;
    const char *text = promo_table_cell_text(right, r, key, buf, &len);
    if (text == NULL) continue; /* a row without a key matches nothing */
    size_t before = promo_dict_size(keys);
    int32_t code = 0;
    if (promo_dict_intern(keys, text, len, &code) != PROMO_OK)
      return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    if (promo_dict_size(keys) == before) {
      promo_error_at(err, path, right->lines != NULL ? right->lines[r] : 0, (int64_t)key + 1);
      promo_error_value(err, text, (int64_t)len);
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("key '%.*s' appears on more than one row; a lookup needs one row per key"), (int)len,
                             text);
    }
    rows[code] = r;
  }
  return PROMO_OK;
}

/* Copy lookup column rc into the new data column lc for every matched row. */
static promo_status copy_column(promo_table *left, size_t lc, const promo_table *right, size_t rc,
                                const ptrdiff_t *match) {
  const promo_column *src = &right->columns[rc];
  promo_column *dst = &left->columns[lc];
  for (size_t r = 0; r < left->n_rows; r++) {
    if (match[r] < 0 || src->is_missing[match[r]]) continue;
    size_t m = (size_t)match[r];
    dst->is_missing[r] = 0;
    if (src->reals != NULL) dst->reals[r] = src->reals[m];
    if (src->ints != NULL) dst->ints[r] = src->ints[m];
    if (src->codes == NULL) continue;
    size_t len = 0;
    const char *text = promo_dict_string(src->dict, src->codes[m], &len);
    if (promo_dict_intern(dst->dict, text, len, &dst->codes[r]) != PROMO_OK) return PROMO_ERR_NOMEM;
  }
  return PROMO_OK;
}

promo_status promo_table_join(promo_table *left, const char *left_path, const char *left_key,
                              const promo_table *right, const char *right_path, const char *right_key,
                              size_t *n_unmatched, promo_error *err) {
  size_t lk = 0, rk = 0;
  promo_status st = key_column(left, left_path, left_key, &lk, err);
  if (st == PROMO_OK) st = key_column(right, right_path, right_key, &rk, err);
  if (st != PROMO_OK) return st;

  /* Every lookup column but its key is added; a name the data has already is an error,
   * checked before the table changes. */
  for (size_t c = 0; c < right->n_columns; c++) {
    if (c == rk || promo_table_find(left, right->columns[c].name) < 0) continue;
    promo_error_at(err, right_path, 1, (int64_t)c + 1);
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("column '%s' is in both %s and the data; rename it in one of them"),
                           right->columns[c].name, right_path);
  }

  promo_dict *keys = NULL;
  size_t *rows = malloc((right->n_rows > 0 ? right->n_rows : 1) * sizeof *rows);
  ptrdiff_t *match = malloc((left->n_rows > 0 ? left->n_rows : 1) * sizeof *match);
  if (rows == NULL || match == NULL || promo_dict_create(&keys) != PROMO_OK) {
    st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    goto done;
  }
  if ((st = index_keys(right, right_path, rk, keys, rows, err)) != PROMO_OK) goto done;

  size_t unmatched = 0;
  char buf[32];
  for (size_t r = 0; r < left->n_rows; r++) {
    size_t len = 0;
    const char *text = promo_table_cell_text(left, r, lk, buf, &len);
    int32_t code = text != NULL ? promo_dict_find(keys, text, len) : -1;
    match[r] = code >= 0 ? (ptrdiff_t)rows[code] : -1;
    unmatched += code < 0;
  }
  for (size_t c = 0; st == PROMO_OK && c < right->n_columns; c++) {
    if (c == rk) continue;
    size_t lc = 0;
    st = promo_table_add_column(left, right->columns[c].name, right->columns[c].type, &lc, err);
    if (st == PROMO_OK && copy_column(left, lc, right, c, match) != PROMO_OK)
      st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  }
  if (n_unmatched != NULL) *n_unmatched = unmatched;

done:
  promo_dict_free(keys);
  free(rows);
  free(match);
  return st;
}
