/* libFuzzer target for the CSV reader: opens the input as an in-memory CSV and reads
 * every record, checking the record invariants that callers rely on. The first input
 * byte chooses the options, so one corpus covers encodings, tiny blocks and ragged rows. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promo/data.h"

/* Read records until the end or a final error and return how many were read. A
 * ragged-row error leaves the reader usable, so reading goes on after it, up to a limit. */
static uint64_t read_all(promo_csv *reader) {
  promo_csv_record rec;
  promo_error err;
  uint64_t n_records = 0;
  int64_t last_line = 1;
  size_t n_columns = promo_csv_n_columns(reader);
  for (int n_errors = 0; n_errors < 64;) {
    promo_status st = promo_csv_next(reader, &rec, &err);
    if (st == PROMO_END) break;
    if (st != PROMO_OK) {
      if (st != PROMO_ERR_DATA && st != PROMO_ERR_ENCODING) abort();
      n_errors++;
      continue;
    }
    /* A ragged row reported as an error still takes an index. */
    if (rec.index < n_records) abort();
    if (rec.line <= last_line) abort();
    last_line = rec.line;
    if (!rec.is_ragged && rec.n_fields != n_columns) abort();
    if (rec.n_fields == 0) abort();
    for (size_t i = 0; i < rec.n_fields; i++) {
      if (rec.fields[i][rec.lengths[i]] != '\0') abort();
      if (rec.was_quoted[i] > 1) abort();
    }
    if (rec.raw_len > 0 && rec.raw[rec.raw_len - 1] == '\n' && !rec.was_quoted[rec.n_fields - 1])
      abort();
    n_records++;
  }
  return n_records;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const size_t blocks[4] = {0, 1, 7, 64};
  static const char delimiters[4] = {0, ',', '\t', ';'};
  promo_csv_options opt;
  promo_csv_options_init(&opt);
  if (size > 0) {
    uint8_t mode = data[0];
    data++;
    size--;
    opt.encoding = (mode & 3) == 3 ? PROMO_ENCODING_AUTO : (promo_encoding)(mode & 3);
    opt.replace_invalid = (mode & 4) != 0;
    opt.allow_ragged = (mode & 8) != 0;
    opt.block_bytes = blocks[(mode >> 4) & 3];
    opt.delimiter = delimiters[(mode >> 6) & 3];
  }

  promo_csv *reader = NULL;
  promo_error err;
  promo_status st = promo_csv_open_memory((const char *)data, size, "fuzz.csv", &opt, &reader,
                                          &err);
  if (st != PROMO_OK) {
    if (reader != NULL || err.status != st || err.message[0] == '\0') abort();
    return 0;
  }
  for (size_t i = 0; i < promo_csv_n_columns(reader); i++)
    if (promo_csv_column_name(reader, i) == NULL) abort();

  /* A second pass after rewind gives the same records. */
  uint64_t first = read_all(reader);
  if (promo_csv_rewind(reader, &err) != PROMO_OK) abort();
  if (read_all(reader) != first) abort();
  promo_csv_close(reader);
  return 0;
}
