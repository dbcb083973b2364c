/* The CSV writer of the data stage: RFC 4180 output with LF line endings, quoting only
 * the fields that need it, buffered so that a 40-million-cell table costs few fwrite
 * calls. Cleaned tables, predictions and plans all leave the program through it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "promo/data.h"

enum { WRITER_BUFFER_BYTES = 1 << 20 };

struct promo_csv_writer {
  FILE *fp;
  char delimiter;
  bool delimiter_in_numbers; /* the delimiter can occur in formatted numbers or dates */
  char *buffer; /* [WRITER_BUFFER_BYTES] */
  size_t used;
  size_t n_row_fields; /* fields written to the current row */
  bool last_field_empty;
  int write_errno; /* errno of the first failed write, or 0 */
};

promo_status promo_csv_writer_create(FILE *fp, char delimiter, bool with_bom,
                                     promo_csv_writer **out) {
  *out = NULL;
  if (delimiter == '"' || delimiter == '\r' || delimiter == '\n' || delimiter == '\0')
    return PROMO_ERR_USAGE;
  promo_csv_writer *writer = calloc(1, sizeof *writer);
  if (writer == NULL) return PROMO_ERR_NOMEM;
  writer->buffer = malloc(WRITER_BUFFER_BYTES);
  if (writer->buffer == NULL) {
    free(writer);
    return PROMO_ERR_NOMEM;
  }
  writer->fp = fp;
  writer->delimiter = delimiter;
  writer->delimiter_in_numbers = strchr("0123456789+-.:eE aflrstu", delimiter) != NULL;
  if (with_bom) {
    memcpy(writer->buffer, "\xEF\xBB\xBF", 3);
    writer->used = 3;
  }
  *out = writer;
  return PROMO_OK;
}

/* Write the buffer to the stream. After a failure the writer keeps discarding output,
 * and flush reports the first error. */
static void drain(promo_csv_writer *writer) {
  if (writer->used > 0 && writer->write_errno == 0) {
    errno = 0;
    if (fwrite(writer->buffer, 1, writer->used, writer->fp) != writer->used)
      writer->write_errno = errno != 0 ? errno : EIO;
  }
  writer->used = 0;
}

void promo_csv_writer_free(promo_csv_writer *writer) {
  if (writer == NULL) return;
  drain(writer);
  free(writer->buffer);
  free(writer);
}

static void put_bytes(promo_csv_writer *writer, const char *s, size_t n) {
  while (n > 0) {
    if (writer->used == WRITER_BUFFER_BYTES) drain(writer);
    size_t room = WRITER_BUFFER_BYTES - writer->used;
    size_t chunk = n < room ? n : room;
    memcpy(writer->buffer + writer->used, s, chunk);
    writer->used += chunk;
    s += chunk;
    n -= chunk;
  }
}

static inline void put_byte(promo_csv_writer *writer, char c) {
  if (writer->used == WRITER_BUFFER_BYTES) drain(writer);
  writer->buffer[writer->used++] = c;
}

static void begin_field(promo_csv_writer *writer, size_t len) {
  if (writer->n_row_fields > 0) put_byte(writer, writer->delimiter);
  writer->n_row_fields++;
  writer->last_field_empty = len == 0;
}

static bool needs_quotes(const promo_csv_writer *writer, const char *s, size_t len) {
  if (len == 0) return false;
  if (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t') return true;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == writer->delimiter || c == '"' || c == '\n' || c == '\r') return true;
  }
  return false;
}

void promo_csv_write_field(promo_csv_writer *writer, const char *s, size_t len) {
  begin_field(writer, len);
  if (!needs_quotes(writer, s, len)) {
    put_bytes(writer, s, len);
    return;
  }
  put_byte(writer, '"');
  const char *run = s, *end = s + len;
  for (const char *quote; (quote = memchr(run, '"', (size_t)(end - run))) != NULL;
       run = quote + 1) {
    put_bytes(writer, run, (size_t)(quote - run) + 1);
    put_byte(writer, '"'); /* a quote inside a field is doubled */
  }
  put_bytes(writer, run, (size_t)(end - run));
  put_byte(writer, '"');
}

/* A formatted number, date or boolean, which needs quotes only under an odd delimiter. */
static void write_plain_field(promo_csv_writer *writer, const char *s, size_t len) {
  if (writer->delimiter_in_numbers) {
    promo_csv_write_field(writer, s, len);
    return;
  }
  begin_field(writer, len);
  put_bytes(writer, s, len);
}

void promo_csv_write_end_row(promo_csv_writer *writer) {
  /* A row of one empty field would be a blank line, which readers skip: write "" instead. */
  if (writer->n_row_fields == 1 && writer->last_field_empty) put_bytes(writer, "\"\"", 2);
  put_byte(writer, '\n');
  writer->n_row_fields = 0;
}

void promo_csv_write_cell(promo_csv_writer *writer, const promo_table *table, size_t row,
                          size_t col) {
  const promo_column *column = &table->columns[col];
  if (column->is_missing[row]) {
    write_plain_field(writer, "", 0);
    return;
  }
  if (table->keep_text && column->is_plain[row] && !promo_type_is_string(column->type)) {
    size_t cell = row * table->n_columns + col;
    promo_csv_write_field(writer, table->text + table->cell_offsets[cell],
                          table->cell_lengths[cell]);
    return;
  }

  char buf[32];
  size_t n = 0;
  switch (column->type) {
    case PROMO_TYPE_BOOL:
      if (column->ints[row] != 0)
        write_plain_field(writer, "true", 4);
      else
        write_plain_field(writer, "false", 5);
      return;
    case PROMO_TYPE_INT: n = promo_format_int(column->ints[row], buf); break;
    case PROMO_TYPE_DECIMAL: n = promo_format_decimal(column->reals[row], buf); break;
    case PROMO_TYPE_DATE: n = promo_format_date((int32_t)column->ints[row], buf); break;
    case PROMO_TYPE_DATETIME: n = promo_format_datetime(column->ints[row], buf); break;
    case PROMO_TYPE_CATEGORICAL:
    case PROMO_TYPE_TEXT:
    case PROMO_TYPE_UNKNOWN: {
      /* The dictionary contains the source text, so it serves kept and unkept tables. */
      size_t len;
      const char *s = promo_dict_string(column->dict, column->codes[row], &len);
      promo_csv_write_field(writer, s != NULL ? s : "", len);
      return;
    }
  }
  write_plain_field(writer, buf, n);
}

promo_status promo_csv_writer_flush(promo_csv_writer *writer, promo_error *err) {
  drain(writer);
  if (writer->write_errno == 0) {
    errno = 0;
    if (fflush(writer->fp) != 0) writer->write_errno = errno != 0 ? errno : EIO;
  }
  if (writer->write_errno != 0)
    return promo_error_errno(err, writer->write_errno, NULL, _("writing CSV output"));
  return PROMO_OK;
}
