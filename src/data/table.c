/* The columnar table of the data stage: typed value arrays per column, filled record by
 * record from the CSV reader, with optional copies of the source text so that the writer
 * can reproduce cells unchanged. */
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "promo/data.h"

enum { FIRST_CAPACITY = 1024 };

static bool uses_ints(promo_type type) {
  return type == PROMO_TYPE_BOOL || type == PROMO_TYPE_INT || type == PROMO_TYPE_DATE ||
         type == PROMO_TYPE_DATETIME;
}

promo_status promo_table_create(size_t n_columns, const char *const *names,
                                const promo_type *types, bool keep_text, promo_table **out) {
  *out = NULL;
  promo_table *table = calloc(1, sizeof *table);
  if (table == NULL) return PROMO_ERR_NOMEM;
  table->keep_text = keep_text;
  table->n_columns = n_columns;
  if (n_columns > 0) {
    table->columns = calloc(n_columns, sizeof *table->columns);
    if (table->columns == NULL) {
      free(table);
      return PROMO_ERR_NOMEM;
    }
  }

  for (size_t c = 0; c < n_columns; c++) {
    promo_column *col = &table->columns[c];
    col->type = types[c] == PROMO_TYPE_UNKNOWN ? PROMO_TYPE_TEXT : types[c];
    col->name = strdup(names[c]);
    if (col->name == NULL) goto nomem;
    if (promo_type_is_string(col->type) && promo_dict_create(&col->dict) != PROMO_OK)
      goto nomem;
  }
  *out = table;
  return PROMO_OK;

nomem:
  promo_table_free(table);
  return PROMO_ERR_NOMEM;
}

void promo_table_free(promo_table *table) {
  if (table == NULL) return;
  for (size_t c = 0; c < table->n_columns; c++) {
    promo_column *col = &table->columns[c];
    free(col->name);
    free(col->ints);
    free(col->reals);
    free(col->codes);
    promo_dict_free(col->dict);
    free(col->is_missing);
    free(col->is_invalid);
    free(col->is_plain);
  }
  free(table->columns);
  free(table->lines);
  free(table->text);
  free(table->cell_offsets);
  free(table->cell_lengths);
  free(table->raw_offsets);
  free(table->raw_lengths);
  free(table);
}

void promo_table_clear_rows(promo_table *table) {
  table->n_rows = 0;
  table->text_len = 0;
  for (size_t c = 0; c < table->n_columns; c++)
    if (table->columns[c].type == PROMO_TYPE_TEXT) promo_dict_reset(table->columns[c].dict);
}

ptrdiff_t promo_table_find(const promo_table *table, const char *name) {
  for (size_t c = 0; c < table->n_columns; c++)
    if (strcmp(table->columns[c].name, name) == 0) return (ptrdiff_t)c;
  return -1;
}

/* realloc for n elements of size bytes, failing on overflow as well. */
static void *realloc_array(void *array, size_t n, size_t size) {
  if (n > SIZE_MAX / size) return NULL;
  return realloc(array, n * size);
}

/* Grow ptr to n elements unless ok is already false. A failure leaves ptr as it was and
 * clears ok. */
#define GROW_ARRAY(ptr, n, ok)                                     \
  do {                                                             \
    if (ok) {                                                      \
      void *grown_ = realloc_array((ptr), (n), sizeof *(ptr));     \
      if (grown_ == NULL)                                          \
        (ok) = false;                                              \
      else                                                         \
        (ptr) = grown_;                                            \
    }                                                              \
  } while (0)

/* Double the row capacity of every array. Arrays already grown stay grown when a later
 * one fails; capacity changes only once all succeed. */
static promo_status grow_rows(promo_table *table) {
  size_t capacity = table->capacity == 0 ? FIRST_CAPACITY : table->capacity * 2;
  bool ok = capacity > table->capacity;
  for (size_t c = 0; c < table->n_columns; c++) {
    promo_column *col = &table->columns[c];
    GROW_ARRAY(col->is_missing, capacity, ok);
    GROW_ARRAY(col->is_invalid, capacity, ok);
    GROW_ARRAY(col->is_plain, capacity, ok);
    if (uses_ints(col->type)) GROW_ARRAY(col->ints, capacity, ok);
    if (col->type == PROMO_TYPE_DECIMAL) GROW_ARRAY(col->reals, capacity, ok);
    if (promo_type_is_string(col->type)) GROW_ARRAY(col->codes, capacity, ok);
  }
  GROW_ARRAY(table->lines, capacity, ok);
  if (table->keep_text) {
    GROW_ARRAY(table->raw_offsets, capacity, ok);
    GROW_ARRAY(table->raw_lengths, capacity, ok);
    if (table->n_columns > 0) {
      if (capacity > SIZE_MAX / table->n_columns) ok = false;
      GROW_ARRAY(table->cell_offsets, capacity * table->n_columns, ok);
      GROW_ARRAY(table->cell_lengths, capacity * table->n_columns, ok);
    }
  }
  if (!ok) return PROMO_ERR_NOMEM;
  table->capacity = capacity;
  return PROMO_OK;
}

/* Append n bytes to the text arena, doubling it as needed, and store their start in *offset. */
static promo_status append_text(promo_table *table, const char *s, size_t n, uint64_t *offset) {
  if (n > table->text_capacity - table->text_len) {
    size_t capacity = table->text_capacity == 0 ? 64 * 1024 : table->text_capacity;
    while (capacity - table->text_len < n) {
      if (capacity > SIZE_MAX / 2) return PROMO_ERR_NOMEM;
      capacity *= 2;
    }
    char *grown = realloc(table->text, capacity);
    if (grown == NULL) return PROMO_ERR_NOMEM;
    table->text = grown;
    table->text_capacity = capacity;
  }
  *offset = table->text_len;
  if (n > 0) memcpy(table->text + table->text_len, s, n);
  table->text_len += n;
  return PROMO_OK;
}

/* Copy the raw record and every field into the text arena for row r. */
static promo_status keep_record_text(promo_table *table, size_t r,
                                     const promo_csv_record *record) {
  size_t raw_len = record->raw != NULL ? record->raw_len : 0;
  if (raw_len > UINT32_MAX) return PROMO_ERR_UNSUPPORTED;
  promo_status status = append_text(table, record->raw, raw_len, &table->raw_offsets[r]);
  if (status != PROMO_OK) return status;
  table->raw_lengths[r] = (uint32_t)raw_len;

  size_t base = r * table->n_columns;
  for (size_t c = 0; c < table->n_columns; c++) {
    status = append_text(table, record->fields[c], record->lengths[c],
                         &table->cell_offsets[base + c]);
    if (status != PROMO_OK) return status;
    table->cell_lengths[base + c] = record->lengths[c];
  }
  return PROMO_OK;
}

/* Parse one field into row r of col. A field that fails to parse is invalid and missing.
 * The only error is a dictionary that cannot grow. */
static promo_status store_field(promo_column *col, size_t r, const char *s, size_t len) {
  col->is_invalid[r] = 0;
  col->is_plain[r] = 0;
  if (promo_value_is_missing(s, len)) {
    col->is_missing[r] = 1;
    if (promo_type_is_string(col->type)) col->codes[r] = -1;
    else if (col->type == PROMO_TYPE_DECIMAL) col->reals[r] = 0;
    else col->ints[r] = 0;
    return PROMO_OK;
  }

  bool ok = false, plain = false;
  switch (col->type) {
    case PROMO_TYPE_BOOL: {
      bool value = false;
      ok = promo_parse_bool(s, len, &value, &plain);
      col->ints[r] = value;
      break;
    }
    case PROMO_TYPE_INT:
      col->ints[r] = 0;
      ok = promo_parse_int(s, len, &col->ints[r], &plain);
      break;
    case PROMO_TYPE_DECIMAL:
      col->reals[r] = 0;
      ok = promo_parse_decimal(s, len, &col->reals[r], &plain);
      break;
    case PROMO_TYPE_DATE: {
      int32_t days = 0;
      ok = promo_parse_date(s, len, &days, &plain);
      col->ints[r] = days;
      break;
    }
    case PROMO_TYPE_DATETIME:
      col->ints[r] = 0;
      ok = promo_parse_datetime(s, len, &col->ints[r], &plain);
      break;
    case PROMO_TYPE_CATEGORICAL:
    case PROMO_TYPE_TEXT:
    case PROMO_TYPE_UNKNOWN: {
      /* Strings are stored as they are, and the writer quotes them when needed. */
      promo_status status = promo_dict_intern(col->dict, s, len, &col->codes[r]);
      if (status != PROMO_OK) return status;
      ok = plain = true;
      break;
    }
  }
  col->is_missing[r] = !ok;
  col->is_invalid[r] = !ok;
  col->is_plain[r] = ok && plain;
  return PROMO_OK;
}

promo_status promo_table_append(promo_table *table, const promo_csv_record *record) {
  if (record->n_fields != table->n_columns) return PROMO_ERR_DATA;
  promo_status status;
  if (table->n_rows == table->capacity && (status = grow_rows(table)) != PROMO_OK) return status;

  size_t r = table->n_rows;
  for (size_t c = 0; c < table->n_columns; c++) {
    status = store_field(&table->columns[c], r, record->fields[c], record->lengths[c]);
    if (status != PROMO_OK) return status;
  }
  if (table->keep_text && (status = keep_record_text(table, r, record)) != PROMO_OK)
    return status;
  table->lines[r] = record->line;
  table->n_rows++;
  return PROMO_OK;
}

promo_status promo_table_append_text(promo_table *table, const promo_csv_record *record) {
  if (record->n_fields != table->n_columns) return PROMO_ERR_DATA;
  if (!table->keep_text) return PROMO_ERR_USAGE;
  promo_status status;
  if (table->n_rows == table->capacity && (status = grow_rows(table)) != PROMO_OK) return status;

  size_t r = table->n_rows;
  if ((status = keep_record_text(table, r, record)) != PROMO_OK) return status;
  table->lines[r] = record->line;
  table->n_rows++;
  return PROMO_OK;
}

promo_status promo_table_parse_columns(promo_table *table, size_t first, size_t step) {
  /* Row by row, so the kept text is read in the order it was written. */
  for (size_t r = 0; r < table->n_rows; r++) {
    for (size_t c = first; c < table->n_columns; c += step) {
      size_t k = r * table->n_columns + c;
      promo_status status = store_field(&table->columns[c], r, table->text + table->cell_offsets[k],
                                        table->cell_lengths[k]);
      if (status != PROMO_OK) return status;
    }
  }
  return PROMO_OK;
}

/* Read records into the table, keeping only their text when text_only is set. */
static promo_status read_rows(promo_table *table, promo_csv *reader, size_t max_rows,
                              bool text_only, promo_error *err) {
  promo_table_clear_rows(table);
  while (max_rows == 0 || table->n_rows < max_rows) {
    promo_csv_record record;
    promo_status status = promo_csv_next(reader, &record, err);
    if (status != PROMO_OK) return status; /* PROMO_END or the reader's error */

    status = text_only ? promo_table_append_text(table, &record)
                       : promo_table_append(table, &record);
    if (status == PROMO_OK) continue;
    promo_error_at(err, promo_csv_path(reader), record.line, 0);
    if (status == PROMO_ERR_DATA)
      return promo_error_set(err, status,
                             _("record has %zu fields but the header has %zu columns; "
                               "check the quoting on this line"),
                             record.n_fields, table->n_columns);
    if (status == PROMO_ERR_UNSUPPORTED)
      return promo_error_set(err, status,
                             _("a column has more distinct values or longer text than a "
                               "table can hold (2^31 values, 4 GiB per field)"));
    return promo_error_set(err, status, _("out of memory while reading the table"));
  }
  return PROMO_OK;
}

promo_status promo_table_read(promo_table *table, promo_csv *reader, size_t max_rows,
                              promo_error *err) {
  return read_rows(table, reader, max_rows, false, err);
}

promo_status promo_table_read_text(promo_table *table, promo_csv *reader, size_t max_rows,
                                   promo_error *err) {
  if (!table->keep_text)
    return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                           _("promo_table_read_text needs a table created with keep_text set"));
  return read_rows(table, reader, max_rows, true, err);
}
