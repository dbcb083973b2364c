/* Columns added to a loaded table (data stage): the derived columns of the feature stage
 * are appended here, so a table can grow a column after it was read. */
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "promo/data.h"

/* Allocate n zeroed elements of size bytes, or NULL for n == 0 (the table's arrays are NULL
 * while its capacity is 0). Sets *ok false on failure. */
static void *zeroed_array(size_t n, size_t size, bool *ok) {
  if (n == 0 || !*ok) return NULL;
  void *array = calloc(n, size);
  if (array == NULL) *ok = false;
  return array;
}

/* Widen the kept-text cell arrays from n_columns to n_columns + 1 per row. The new cells
 * are empty; the column's is_plain flags are 0, so the writer formats its values. */
static promo_status widen_cell_text(promo_table *table) {
  size_t old_width = table->n_columns, width = old_width + 1;
  if (table->capacity == 0) return PROMO_OK;
  if (table->capacity > SIZE_MAX / width / sizeof(uint64_t)) return PROMO_ERR_NOMEM;

  uint64_t *offsets = calloc(table->capacity * width, sizeof *offsets);
  uint32_t *lengths = calloc(table->capacity * width, sizeof *lengths);
  if (offsets == NULL || lengths == NULL) {
    free(offsets);
    free(lengths);
    return PROMO_ERR_NOMEM;
  }
  for (size_t r = 0; r < table->n_rows; r++) {
    if (old_width == 0) continue;
    memcpy(offsets + r * width, table->cell_offsets + r * old_width, old_width * sizeof *offsets);
    memcpy(lengths + r * width, table->cell_lengths + r * old_width, old_width * sizeof *lengths);
  }
  free(table->cell_offsets);
  free(table->cell_lengths);
  table->cell_offsets = offsets;
  table->cell_lengths = lengths;
  return PROMO_OK;
}

promo_status promo_table_add_column(promo_table *table, const char *name, promo_type type,
                                    size_t *index, promo_error *err) {
  if (promo_table_find(table, name) >= 0)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("column '%s' already exists; choose another name"), name);
  if (type == PROMO_TYPE_UNKNOWN) type = PROMO_TYPE_TEXT;

  /* Build the new column completely before the table changes, so a failure leaves the
   * table as it was. */
  promo_column col;
  memset(&col, 0, sizeof col);
  col.type = type;
  bool ok = true;
  col.name = strdup(name);
  if (col.name == NULL) ok = false;
  col.is_missing = zeroed_array(table->capacity, 1, &ok);
  col.is_invalid = zeroed_array(table->capacity, 1, &ok);
  col.is_plain = zeroed_array(table->capacity, 1, &ok);
  if (type == PROMO_TYPE_DECIMAL) col.reals = zeroed_array(table->capacity, sizeof *col.reals, &ok);
  else if (promo_type_is_string(type)) col.codes = zeroed_array(table->capacity, sizeof *col.codes, &ok);
  else col.ints = zeroed_array(table->capacity, sizeof *col.ints, &ok);
  if (ok && promo_type_is_string(type) && promo_dict_create(&col.dict) != PROMO_OK) ok = false;
  if (ok && table->n_rows > 0) memset(col.is_missing, 1, table->n_rows);
  for (size_t r = 0; ok && col.codes != NULL && r < table->n_rows; r++) col.codes[r] = -1;

  promo_column *columns = NULL;
  if (ok) {
    columns = realloc(table->columns, (table->n_columns + 1) * sizeof *columns);
    if (columns == NULL) ok = false;
    else table->columns = columns;
  }
  if (ok && table->keep_text && widen_cell_text(table) != PROMO_OK) ok = false;
  if (!ok) {
    free(col.name);
    free(col.is_missing);
    free(col.is_invalid);
    free(col.is_plain);
    free(col.reals);
    free(col.codes);
    free(col.ints);
    promo_dict_free(col.dict);
    return promo_error_set(err, PROMO_ERR_NOMEM, _("out of memory adding column '%s'"), name);
  }

  table->columns[table->n_columns] = col;
  if (index != NULL) *index = table->n_columns;
  table->n_columns++;
  return PROMO_OK;
}
