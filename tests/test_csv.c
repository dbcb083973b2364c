/* Unit tests of the streaming CSV reader: quoting, line numbers, encodings, header
 * checks, error locations, long fields, delimiter detection and rewind. Fixtures are in
 * tests/data/csv; chinese_gb18030.csv is chinese_utf8.csv run through
 * `iconv -f UTF-8 -t GB18030`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "promo/data.h"

#define FIXTURE(name) PROMO_TEST_DATA "/csv/" name

static promo_csv *open_fixture(const char *name, const promo_csv_options *opt) {
  promo_csv *reader = NULL;
  promo_error err;
  promo_error_clear(&err);
  promo_status st = promo_csv_open(name, opt, &reader, &err);
  if (st != PROMO_OK) print_error("open %s: %s\n", name, err.message);
  assert_int_equal(st, PROMO_OK);
  assert_non_null(reader);
  return reader;
}

static promo_csv *open_text(const char *text, size_t size, const promo_csv_options *opt) {
  promo_csv *reader = NULL;
  promo_error err;
  promo_error_clear(&err);
  promo_status st = promo_csv_open_memory(text, size, "mem.csv", opt, &reader, &err);
  if (st != PROMO_OK) print_error("open: %s\n", err.message);
  assert_int_equal(st, PROMO_OK);
  return reader;
}

static void assert_field(const promo_csv_record *rec, size_t i, const char *expected) {
  assert_true(i < rec->n_fields);
  assert_int_equal(rec->lengths[i], strlen(expected));
  assert_memory_equal(rec->fields[i], expected, strlen(expected) + 1);
}

static void assert_next_ok(promo_csv *reader, promo_csv_record *rec) {
  promo_error err;
  promo_error_clear(&err);
  promo_status st = promo_csv_next(reader, rec, &err);
  if (st != PROMO_OK) print_error("next: %s\n", err.message);
  assert_int_equal(st, PROMO_OK);
}

static void assert_end(promo_csv *reader) {
  promo_csv_record rec;
  promo_error err;
  assert_int_equal(promo_csv_next(reader, &rec, &err), PROMO_END);
  assert_int_equal(promo_csv_next(reader, &rec, &err), PROMO_END);
}

/* Write `size` bytes to a new temporary file; the caller frees and unlinks the path. */
static char *write_temp_file(const char *data, size_t size) {
  char *path = strdup("/tmp/promo_csv_test_XXXXXX");
  assert_non_null(path);
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    assert_true(n > 0);
    done += (size_t)n;
  }
  assert_int_equal(close(fd), 0);
  return path;
}

/* ------------------------------------------------------------------ quoting, lines */

static void quoted_fields_and_doubled_quotes(void **state) {
  (void)state;
  promo_csv *reader = open_fixture(FIXTURE("quoted.csv"), NULL);
  assert_int_equal(promo_csv_n_columns(reader), 3);
  assert_string_equal(promo_csv_column_name(reader, 0), "sku");
  assert_string_equal(promo_csv_column_name(reader, 2), "price");
  assert_null(promo_csv_column_name(reader, 3));
  assert_int_equal(promo_csv_delimiter(reader), ',');
  assert_int_equal(promo_csv_encoding(reader), PROMO_ENCODING_UTF8);
  assert_false(promo_csv_has_bom(reader));

  promo_csv_record rec;
  assert_next_ok(reader, &rec);
  assert_int_equal(rec.n_fields, 3);
  assert_field(&rec, 0, "A1");
  assert_field(&rec, 1, "apple");
  assert_field(&rec, 2, "3.5");
  assert_int_equal(rec.line, 2);
  assert_int_equal(rec.index, 0);
  assert_false(rec.is_ragged);

  assert_next_ok(reader, &rec);
  assert_field(&rec, 1, "pear, green");
  assert_int_equal(rec.was_quoted[0], 0);
  assert_int_equal(rec.was_quoted[1], 1);
  assert_int_equal(rec.raw_len, strlen("B2,\"pear, green\",4"));
  assert_memory_equal(rec.raw, "B2,\"pear, green\",4", rec.raw_len);
  assert_int_equal(rec.line, 3);
  assert_int_equal(rec.index, 1);

  assert_next_ok(reader, &rec);
  assert_field(&rec, 1, "say \"hi\"");
  assert_field(&rec, 2, "5");
  assert_int_equal(rec.line, 4);
  assert_end(reader);
  assert_int_equal(promo_csv_bytes_read(reader), promo_csv_size(reader));
  assert_int_equal(promo_csv_size(reader), 65);
  promo_csv_close(reader);
}

static void embedded_newlines_keep_line_numbers(void **state) {
  (void)state;
  promo_csv *reader = open_fixture(FIXTURE("multiline_crlf.csv"), NULL);
  promo_csv_record rec;
  assert_next_ok(reader, &rec);
  assert_field(&rec, 1, "line one\r\nline two");
  assert_int_equal(rec.line, 2);

  assert_next_ok(reader, &rec);
  assert_field(&rec, 1, "plain");
  assert_field(&rec, 2, "4");
  assert_int_equal(rec.line, 4);
  assert_int_equal(rec.raw_len, strlen("B2,plain,4"));

  assert_next_ok(reader, &rec);
  assert_field(&rec, 1, "a\nb\nc");
  assert_int_equal(rec.line, 5);

  /* The last line has no line ending. */
  assert_next_ok(reader, &rec);
  assert_field(&rec, 0, "D4");
  assert_field(&rec, 2, "6");
  assert_int_equal(rec.line, 8);
  assert_int_equal(rec.index, 3);
  assert_memory_equal(rec.raw, "D4,last,6", rec.raw_len);
  assert_end(reader);
  promo_csv_close(reader);
}

static void lone_cr_inside_quotes_kept(void **state) {
  (void)state;
  static const char text[] = "a,b\n\"x\ry\",2\n\"\",\"\"\n";
  promo_csv *reader = open_text(text, sizeof text - 1, NULL);
  promo_csv_record rec;
  assert_next_ok(reader, &rec);
  assert_field(&rec, 0, "x\ry");
  assert_int_equal(rec.line, 2);
  assert_next_ok(reader, &rec);
  assert_field(&rec, 0, "");
  assert_field(&rec, 1, "");
  assert_int_equal(rec.was_quoted[1], 1);
  assert_int_equal(rec.line, 3);
  assert_end(reader);
  promo_csv_close(reader);
}

static void stray_quote_in_unquoted_field(void **state) {
  (void)state;
  static const char text[] = "size,name\n12\",pipe 5\"x\n";
  promo_csv *reader = open_text(text, sizeof text - 1, NULL);
  promo_csv_record rec;
  assert_next_ok(reader, &rec);
  assert_field(&rec, 0, "12\"");
  assert_field(&rec, 1, "pipe 5\"x");
  assert_int_equal(rec.was_quoted[0], 0);
  promo_csv_close(reader);
}

static void blank_lines_skipped_and_counted(void **state) {
  (void)state;
  promo_csv *reader = open_fixture(FIXTURE("blank_lines.csv"), NULL);
  promo_csv_record rec;
  assert_next_ok(reader, &rec);
  assert_field(&rec, 0, "A1");
  assert_int_equal(rec.line, 3);
  assert_int_equal(rec.index, 0);
  assert_next_ok(reader, &rec);
  assert_field(&rec, 0, "B2");
  assert_int_equal(rec.line, 6);
  assert_int_equal(rec.index, 1);
  assert_end(reader);
  promo_csv_close(reader);
}

/* Old Mac exports end lines with a lone CR; each one ends a record and a line. */
static void lone_cr_line_endings(void **state) {
  (void)state;
  static const char text[] = "a,b\r1,2\r\r3,\"x\ry\"\r";
  promo_csv *reader = open_text(text, sizeof text - 1, NULL);
  promo_csv_record rec;
  assert_next_ok(reader, &rec);
  assert_field(&rec, 1, "2");
  assert_int_equal(rec.line, 2);
  assert_next_ok(reader, &rec);
  assert_field(&rec, 0, "3");
  assert_field(&rec, 1, "x\ry");
  assert_int_equal(rec.line, 4);
  assert_end(reader);
  promo_csv_close(reader);
}

static void trailing_delimiter_gives_empty_field(void **state) {
  (void)state;
  static const char text[] = "a,b,c\n1,,\n";
  promo_csv *reader = open_text(text, sizeof text - 1, NULL);
  promo_csv_record rec;
  assert_next_ok(reader, &rec);
  assert_int_equal(rec.n_fields, 3);
  assert_field(&rec, 0, "1");
  assert_field(&rec, 1, "");
  assert_field(&rec, 2, "");
  promo_csv_close(reader);
}

/* ------------------------------------------------------------------ encodings */

static void utf8_bom_skipped(void **state) {
  (void)state;
  promo_csv *reader = open_fixture(FIXTURE("bom.csv"), NULL);
  assert_true(promo_csv_has_bom(reader));
  assert_int_equal(promo_csv_encoding(reader), PROMO_ENCODING_UTF8);
  assert_string_equal(promo_csv_column_name(reader, 0), "sku");
  promo_csv_record rec;
  assert_next_ok(reader, &rec);
  assert_field(&rec, 1, "苹果");
  assert_int_equal(rec.line, 2);
  assert_end(reader);
  promo_csv_close(reader);
}

/* Read every record of a reader into one string: fields joined by '|', one record per
 * line, prefixed with the line number. */
static char *dump_records(promo_csv *reader) {
  size_t cap = 1 << 16, len = 0;
  char *out = malloc(cap);
  assert_non_null(out);
  promo_csv_record rec;
  promo_error err;
  promo_status st;
  while ((st = promo_csv_next(reader, &rec, &err)) == PROMO_OK) {
    int n = snprintf(out + len, cap - len, "%lld:", (long long)rec.line);
    assert_true(n > 0 && (size_t)n < cap - len);
    len += (size_t)n;
    for (size_t i = 0; i < rec.n_fields; i++) {
      assert_true(len + rec.lengths[i] + 2 < cap);
      memcpy(out + len, rec.fields[i], rec.lengths[i]);
      len += rec.lengths[i];
      out[len++] = i + 1 < rec.n_fields ? '|' : '\n';
    }
  }
  assert_int_equal(st, PROMO_END);
  out[len] = '\0';
  return out;
}

static void gb18030_file_matches_utf8(void **state) {
  (void)state;
  promo_csv *utf8 = open_fixture(FIXTURE("chinese_utf8.csv"), NULL);
  promo_csv *gb = open_fixture(FIXTURE("chinese_gb18030.csv"), NULL);
  assert_int_equal(promo_csv_encoding(utf8), PROMO_ENCODING_UTF8);
  assert_int_equal(promo_csv_encoding(gb), PROMO_ENCODING_GB18030);
  assert_string_equal(promo_csv_column_name(gb, 2), "promo");

  promo_csv_record rec;
  assert_next_ok(gb, &rec);
  assert_field(&rec, 1, "苹果");
  assert_field(&rec, 2, "满200减30");
  assert_memory_equal(rec.raw, "A1,苹果,满200减30", rec.raw_len);
  assert_next_ok(gb, &rec);
  assert_field(&rec, 1, "梨子,新品");
  assert_int_equal(rec.line, 3);
  promo_csv_close(gb);

  /* The whole file, explicit encoding, converted in blocks of 1 to 7 input bytes so
   * characters are split between iconv calls. */
  char *expected = dump_records(utf8);
  promo_csv_close(utf8);
  for (size_t block = 1; block <= 7; block++) {
    promo_csv_options opt;
    promo_csv_options_init(&opt);
    opt.encoding = PROMO_ENCODING_GB18030;
    opt.block_bytes = block;
    gb = open_fixture(FIXTURE("chinese_gb18030.csv"), &opt);
    char *got = dump_records(gb);
    assert_string_equal(got, expected);
    free(got);
    promo_csv_close(gb);
  }
  free(expected);
}

static void invalid_utf8_location(void **state) {
  (void)state;
  promo_csv_options opt;
  promo_csv_options_init(&opt);
  opt.encoding = PROMO_ENCODING_UTF8;
  promo_csv *reader = open_fixture(FIXTURE("invalid_utf8.csv"), &opt);
  promo_csv_record rec;
  assert_next_ok(reader, &rec);
  assert_field(&rec, 0, "A1");

  promo_error err;
  assert_int_equal(promo_csv_next(reader, &rec, &err), PROMO_ERR_ENCODING);
  assert_int_equal(err.status, PROMO_ERR_ENCODING);
  assert_string_equal(err.path, FIXTURE("invalid_utf8.csv"));
  assert_int_equal(err.line, 3);
  assert_int_equal(err.column, 2);
  assert_int_equal(err.byte_offset, 21);
  assert_non_null(strstr(err.message, "0xE9"));
  assert_non_null(strstr(err.message, "byte offset 21"));
  assert_non_null(strstr(err.message, "--encoding gb18030"));
  assert_non_null(strstr(err.message, "--replace-invalid"));

  /* The error is final: the next call reports it again. */
  promo_error again;
  assert_int_equal(promo_csv_next(reader, &rec, &again), PROMO_ERR_ENCODING);
  assert_int_equal(again.byte_offset, 21);
  promo_csv_close(reader);
}

static void invalid_utf8_in_sample_fails_open(void **state) {
  (void)state;
  promo_csv *reader = NULL;
  promo_error err;
  assert_int_equal(promo_csv_open(FIXTURE("invalid_utf8.csv"), NULL, &reader, &err),
                   PROMO_ERR_ENCODING);
  assert_null(reader);
  assert_int_equal(err.line, 3);
  assert_int_equal(err.byte_offset, 21);
  assert_non_null(strstr(err.message, "0xE9"));
}

/* An invalid byte past the 64 KiB sample is found while reading, after the records
 * before it were handed out, with the line and the offset of the byte itself. */
static void invalid_utf8_after_sample(void **state) {
  (void)state;
  const size_t n_lines = 12000;
  size_t size = 9 + 6 * n_lines + 8;
  char *text = malloc(size);
  assert_non_null(text);
  memcpy(text, "sku,name\n", 9);
  for (size_t i = 0; i < n_lines; i++) memcpy(text + 9 + 6 * i, "A1,ok\n", 6);
  memcpy(text + 9 + 6 * n_lines, "B2,caf\xE9\n", 8);

  for (size_t block = 1000; block <= 1 << 20; block *= 1024) {
    promo_csv_options opt;
    promo_csv_options_init(&opt);
    opt.block_bytes = block;
    promo_csv *reader = open_text(text, size, &opt);
    promo_csv_record rec;
    promo_error err;
    promo_status st;
    uint64_t n_records = 0;
    while ((st = promo_csv_next(reader, &rec, &err)) == PROMO_OK) n_records++;
    assert_int_equal(st, PROMO_ERR_ENCODING);
    assert_int_equal(n_records, n_lines);
    assert_int_equal(err.line, (int64_t)n_lines + 2);
    assert_int_equal(err.column, 2);
    assert_int_equal(err.byte_offset, 9 + 6 * n_lines + 6);
    promo_csv_close(reader);
  }
  free(text);
}

static void replace_invalid_uses_replacement_char(void **state) {
  (void)state;
  promo_csv_options opt;
  promo_csv_options_init(&opt);
  opt.replace_invalid = true;
  promo_csv *reader = open_fixture(FIXTURE("invalid_utf8.csv"), &opt);
  assert_int_equal(promo_csv_encoding(reader), PROMO_ENCODING_UTF8);
  promo_csv_record rec;
  assert_next_ok(reader, &rec);
  assert_next_ok(reader, &rec);
  assert_field(&rec, 1, "caf\xEF\xBF\xBD");
  assert_int_equal(rec.line, 3);
  assert_next_ok(reader, &rec);
  assert_field(&rec, 1, "ok");
  assert_int_equal(rec.line, 4);
  assert_end(reader);
  promo_csv_close(reader);
}

/* Offsets in later errors still count the original bytes, not the replacements. */
static void replace_invalid_keeps_file_offsets(void **state) {
  (void)state;
  static const char text[] = "a,b\n\xFF\xFE\xE4\xB8,\"x\"y\n";
  promo_csv_options opt;
  promo_csv_options_init(&opt);
  opt.encoding = PROMO_ENCODING_UTF8;
  opt.replace_invalid = true;
  promo_csv *reader = open_text(text, sizeof text - 1, &opt);
  promo_csv_record rec;
  promo_error err;
  assert_int_equal(promo_csv_next(reader, &rec, &err), PROMO_ERR_DATA);
  assert_int_equal(err.line, 2);
  assert_int_equal(err.column, 2);
  assert_int_equal(err.byte_offset, 12);
  promo_csv_close(reader);

  /* The truncated E4 B8 is one maximal subpart, so one U+FFFD. */
  static const char good[] = "a,b\n\xFF\xFE\xE4\xB8,x\n";
  reader = open_text(good, sizeof good - 1, &opt);
  assert_next_ok(reader, &rec);
  assert_field(&rec, 0, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  promo_csv_close(reader);
}

static void gb18030_error_offsets_count_file_bytes(void **state) {
  (void)state;
  /* 苹果 is 4 bytes in GB18030 and 6 in UTF-8. */
  static const char after_quote[] = "sku,note\n\xC6\xBB\xB9\xFB,\"ab\"c\n";
  promo_csv_options opt;
  promo_csv_options_init(&opt);
  opt.encoding = PROMO_ENCODING_GB18030;
  promo_csv *reader = open_text(after_quote, sizeof after_quote - 1, &opt);
  promo_csv_record rec;
  promo_error err;
  assert_int_equal(promo_csv_next(reader, &rec, &err), PROMO_ERR_DATA);
  assert_int_equal(err.line, 2);
  assert_int_equal(err.column, 2);
  assert_int_equal(err.byte_offset, 18);
  promo_csv_close(reader);

  static const char invalid[] = "sku,name\n\xC6\xBB,\x80x\n";
  reader = open_text(invalid, sizeof invalid - 1, &opt);
  assert_int_equal(promo_csv_next(reader, &rec, &err), PROMO_ERR_ENCODING);
  assert_int_equal(err.line, 2);
  assert_int_equal(err.column, 2);
  assert_int_equal(err.byte_offset, 12);
  assert_non_null(strstr(err.message, "0x80"));
  promo_csv_close(reader);

  opt.replace_invalid = true;
  reader = open_text(invalid, sizeof invalid - 1, &opt);
  assert_next_ok(reader, &rec);
  assert_field(&rec, 0, "苹");
  assert_field(&rec, 1, "\xEF\xBF\xBDx");
  promo_csv_close(reader);
}

static void utf16_rejected(void **state) {
  (void)state;
  static const char le[] = "\xFF\xFE" "a\0,\0b\0\n\0";
  promo_csv *reader = NULL;
  promo_error err;
  assert_int_equal(promo_csv_open_memory(le, sizeof le - 1, "u16.csv", NULL, &reader, &err),
                   PROMO_ERR_ENCODING);
  assert_non_null(strstr(err.message, "UTF-16 files are not supported"));
  assert_non_null(strstr(err.message, "GB18030"));
  assert_string_equal(err.path, "u16.csv");
  assert_null(reader);

  /* Without a byte-order mark the NUL bytes give it away. */
  assert_int_equal(promo_csv_open_memory(le + 2, sizeof le - 3, "u16.csv", NULL, &reader, &err),
                   PROMO_ERR_ENCODING);
  assert_non_null(strstr(err.message, "UTF-16"));
}

static void binary_file_rejected(void **state) {
  (void)state;
  promo_csv *reader = NULL;
  promo_error err;
  assert_int_equal(promo_csv_open(FIXTURE("binary.csv"), NULL, &reader, &err), PROMO_ERR_DATA);
  assert_non_null(strstr(err.message, "binary file, not CSV text"));
  assert_int_equal(err.byte_offset, 8);
  assert_int_equal(err.line, 2);
  assert_null(reader);
}

static void encoding_names(void **state) {
  (void)state;
  promo_encoding e = PROMO_ENCODING_AUTO;
  assert_true(promo_encoding_parse("GBK", &e));
  assert_int_equal(e, PROMO_ENCODING_GB18030);
  assert_true(promo_encoding_parse("utf8", &e));
  assert_int_equal(e, PROMO_ENCODING_UTF8);
  assert_true(promo_encoding_parse("auto", &e));
  assert_int_equal(e, PROMO_ENCODING_AUTO);
  assert_false(promo_encoding_parse("latin1", &e));
  assert_string_equal(promo_encoding_name(PROMO_ENCODING_GB18030), "gb18030");
  assert_string_equal(promo_encoding_name(PROMO_ENCODING_UTF8), "utf-8");
}

/* ------------------------------------------------------------------ header */

static void empty_input_rejected(void **state) {
  (void)state;
  promo_csv *reader = NULL;
  promo_error err;
  assert_int_equal(promo_csv_open(FIXTURE("empty.csv"), NULL, &reader, &err), PROMO_ERR_DATA);
  assert_non_null(strstr(err.message, "empty file"));
  assert_null(reader);
  assert_int_equal(promo_csv_open(FIXTURE("blank_only.csv"), NULL, &reader, &err),
                   PROMO_ERR_DATA);
  assert_non_null(strstr(err.message, "empty file"));
  assert_int_equal(promo_csv_open_memory("\xEF\xBB\xBF", 3, "bom.csv", NULL, &reader, &err),
                   PROMO_ERR_DATA);
  assert_non_null(strstr(err.message, "empty file"));
  assert_int_equal(promo_csv_open_memory(NULL, 0, "none.csv", NULL, &reader, &err),
                   PROMO_ERR_DATA);
  assert_non_null(strstr(err.message, "empty file"));
}

static void header_only_has_no_records(void **state) {
  (void)state;
  promo_csv *reader = open_fixture(FIXTURE("header_only.csv"), NULL);
  assert_int_equal(promo_csv_n_columns(reader), 3);
  assert_end(reader);
  promo_csv_close(reader);
}

static void duplicate_header_rejected(void **state) {
  (void)state;
  promo_csv *reader = NULL;
  promo_error err;
  assert_int_equal(promo_csv_open(FIXTURE("duplicate_header.csv"), NULL, &reader, &err),
                   PROMO_ERR_DATA);
  assert_non_null(strstr(err.message, "\"price\""));
  assert_non_null(strstr(err.message, "columns 2 and 4"));
  assert_string_equal(err.column_name, "price");
  assert_int_equal(err.line, 1);
  assert_int_equal(err.column, 4);
  assert_null(reader);
}

static void data_like_header_rejected(void **state) {
  (void)state;
  promo_csv *reader = NULL;
  promo_error err;
  assert_int_equal(promo_csv_open(FIXTURE("data_header.csv"), NULL, &reader, &err),
                   PROMO_ERR_DATA);
  assert_string_equal(err.message,
                      "the first line looks like data, not a header; add a header row");
  assert_int_equal(err.line, 1);

  /* One word among the numbers makes it a header. */
  static const char text[] = "region,2023,2024\nnorth,1,2\n";
  reader = open_text(text, sizeof text - 1, NULL);
  assert_string_equal(promo_csv_column_name(reader, 1), "2023");
  promo_csv_close(reader);
}

static void empty_header_names_numbered(void **state) {
  (void)state;
  static const char text[] = "sku,,\"\"\nA1,2,3\n";
  promo_csv *reader = open_text(text, sizeof text - 1, NULL);
  assert_string_equal(promo_csv_column_name(reader, 0), "sku");
  assert_string_equal(promo_csv_column_name(reader, 1), "column_2");
  assert_string_equal(promo_csv_column_name(reader, 2), "column_3");
  promo_csv_close(reader);
}

/* ------------------------------------------------------------------ errors */

static void ragged_row_location(void **state) {
  (void)state;
  promo_csv *reader = open_fixture(FIXTURE("ragged.csv"), NULL);
  promo_csv_record rec;
  promo_error err;
  assert_next_ok(reader, &rec);
  assert_int_equal(promo_csv_next(reader, &rec, &err), PROMO_ERR_DATA);
  assert_int_equal(err.line, 3);
  assert_int_equal(err.column, 0);
  assert_int_equal(err.byte_offset, 26);
  assert_non_null(strstr(err.message, "expected 3 fields, found 2"));
  assert_string_equal(err.value, "B2,pear");

  /* A ragged row is not final: the reader goes on with the next record. */
  assert_next_ok(reader, &rec);
  assert_field(&rec, 0, "C3");
  assert_int_equal(rec.line, 4);
  assert_int_equal(rec.index, 2);
  promo_csv_close(reader);
}

static void ragged_row_too_many_fields(void **state) {
  (void)state;
  static const char text[] = "a,b\n1,2\n1,\"2\",3\n";
  promo_csv *reader = open_text(text, sizeof text - 1, NULL);
  promo_csv_record rec;
  promo_error err;
  assert_next_ok(reader, &rec);
  assert_int_equal(promo_csv_next(reader, &rec, &err), PROMO_ERR_DATA);
  assert_int_equal(err.line, 3);
  assert_int_equal(err.column, 3);
  assert_int_equal(err.byte_offset, 14);
  assert_non_null(strstr(err.message, "expected 2 fields, found 3"));
  promo_csv_close(reader);
}

static void allow_ragged_flags_record(void **state) {
  (void)state;
  promo_csv_options opt;
  promo_csv_options_init(&opt);
  opt.allow_ragged = true;
  promo_csv *reader = open_fixture(FIXTURE("ragged.csv"), &opt);
  promo_csv_record rec;
  assert_next_ok(reader, &rec);
  assert_false(rec.is_ragged);
  assert_next_ok(reader, &rec);
  assert_true(rec.is_ragged);
  assert_int_equal(rec.n_fields, 2);
  assert_field(&rec, 1, "pear");
  assert_next_ok(reader, &rec);
  assert_false(rec.is_ragged);
  assert_end(reader);
  promo_csv_close(reader);
}

static void unterminated_quote_location(void **state) {
  (void)state;
  promo_csv *reader = open_fixture(FIXTURE("unterminated.csv"), NULL);
  promo_csv_record rec;
  promo_error err;
  assert_next_ok(reader, &rec);
  assert_int_equal(promo_csv_next(reader, &rec, &err), PROMO_ERR_DATA);
  assert_int_equal(err.line, 3);
  assert_int_equal(err.column, 2);
  assert_int_equal(err.byte_offset, 20);
  assert_non_null(strstr(err.message, "starts on line 3"));
  promo_csv_close(reader);

  /* The quoted field starts on a later line than its record. */
  static const char text[] = "k,a,b\nx,\"p\nq\",\"open\nmore\n";
  reader = open_text(text, sizeof text - 1, NULL);
  assert_int_equal(promo_csv_next(reader, &rec, &err), PROMO_ERR_DATA);
  assert_int_equal(err.line, 3);
  assert_int_equal(err.column, 3);
  assert_int_equal(err.byte_offset, 14);
  promo_csv_close(reader);
}

static void text_after_closing_quote_location(void **state) {
  (void)state;
  promo_csv *reader = open_fixture(FIXTURE("after_quote.csv"), NULL);
  promo_csv_record rec;
  promo_error err;
  assert_int_equal(promo_csv_next(reader, &rec, &err), PROMO_ERR_DATA);
  assert_int_equal(err.line, 2);
  assert_int_equal(err.column, 2);
  assert_int_equal(err.byte_offset, 16);
  assert_non_null(strstr(err.message, "closing quote of field 2"));
  assert_string_equal(err.value, "c,");
  promo_csv_close(reader);
}

static void missing_file_rejected(void **state) {
  (void)state;
  promo_csv *reader = NULL;
  promo_error err;
  const char *path = FIXTURE("no_such_file.csv");
  assert_int_equal(promo_csv_open(path, NULL, &reader, &err), PROMO_ERR_IO);
  assert_string_equal(err.path, path);
  assert_int_equal(err.sys_errno, ENOENT);
  assert_non_null(strstr(err.message, strerror(ENOENT)));
  assert_null(reader);

  assert_int_equal(promo_csv_open(PROMO_TEST_DATA "/csv", NULL, &reader, &err), PROMO_ERR_IO);
  assert_int_equal(err.sys_errno, EISDIR);
  assert_non_null(strstr(err.message, strerror(EISDIR)));
}

static void invalid_options_rejected(void **state) {
  (void)state;
  promo_csv_options opt;
  promo_csv_options_init(&opt);
  opt.delimiter = '"';
  promo_csv *reader = NULL;
  promo_error err;
  assert_int_equal(promo_csv_open_memory("a\n", 2, "x.csv", &opt, &reader, &err),
                   PROMO_ERR_USAGE);
  assert_null(reader);
}

/* ------------------------------------------------------------------ long fields, blocks */

static void very_long_field(void **state) {
  (void)state;
  const size_t field_len = 3u << 20;
  size_t cap = field_len + 256;
  char *text = malloc(cap);
  assert_non_null(text);
  size_t n = 0;
  n += (size_t)sprintf(text, "id,text,tail\n1,\"");
  for (size_t i = 0; i < field_len; i++) text[n++] = i % 1000 == 999 ? '\n' : 'x';
  n += (size_t)sprintf(text + n, "\",end\n2,%s,z\n", "short");
  char *path = write_temp_file(text, n);

  promo_csv_options opt;
  promo_csv_options_init(&opt);
  opt.block_bytes = 4096;
  promo_csv *reader = open_fixture(path, &opt);
  promo_csv_record rec;
  assert_next_ok(reader, &rec);
  assert_int_equal(rec.lengths[1], field_len);
  assert_memory_equal(rec.fields[1], text + 16, field_len);
  assert_int_equal(rec.fields[1][field_len], '\0');
  assert_field(&rec, 2, "end");
  assert_int_equal(rec.line, 2);
  assert_next_ok(reader, &rec);
  assert_field(&rec, 1, "short");
  assert_int_equal(rec.line, 2 + (int64_t)(field_len / 1000) + 1);
  assert_end(reader);
  promo_csv_close(reader);
  unlink(path);
  free(path);

  /* The same length unquoted, from memory. */
  n = (size_t)sprintf(text, "id,text\n1,");
  memset(text + n, 'y', field_len);
  n += field_len;
  n += (size_t)sprintf(text + n, "\n2,b");
  reader = open_text(text, n, &opt);
  assert_next_ok(reader, &rec);
  assert_int_equal(rec.lengths[1], field_len);
  assert_int_equal(rec.raw_len, 2 + field_len);
  assert_next_ok(reader, &rec);
  assert_field(&rec, 1, "b");
  assert_int_equal(rec.line, 3);
  promo_csv_close(reader);
  free(text);
}

/* Every block size from 1 byte gives the same records as one big block. */
static void block_size_does_not_change_records(void **state) {
  (void)state;
  const char *fixtures[] = {FIXTURE("multiline_crlf.csv"), FIXTURE("quoted.csv"),
                            FIXTURE("chinese_utf8.csv"), FIXTURE("blank_lines.csv"),
                            FIXTURE("bom.csv")};
  for (size_t f = 0; f < sizeof fixtures / sizeof fixtures[0]; f++) {
    promo_csv *reader = open_fixture(fixtures[f], NULL);
    char *expected = dump_records(reader);
    promo_csv_close(reader);
    for (size_t block = 1; block <= 9; block++) {
      promo_csv_options opt;
      promo_csv_options_init(&opt);
      opt.block_bytes = block;
      reader = open_fixture(fixtures[f], &opt);
      char *got = dump_records(reader);
      assert_string_equal(got, expected);
      free(got);
      promo_csv_close(reader);
    }
    free(expected);
  }
}

/* ------------------------------------------------------------------ delimiters */

static void delimiter_detection(void **state) {
  (void)state;
  promo_csv *reader = open_fixture(FIXTURE("tab.tsv"), NULL);
  promo_csv_record rec;
  assert_int_equal(promo_csv_delimiter(reader), '\t');
  assert_next_ok(reader, &rec);
  assert_field(&rec, 1, "apple, red");
  promo_csv_close(reader);

  reader = open_fixture(FIXTURE("semicolon.csv"), NULL);
  assert_int_equal(promo_csv_delimiter(reader), ';');
  assert_next_ok(reader, &rec);
  assert_field(&rec, 2, "3,5");
  promo_csv_close(reader);

  reader = open_fixture(FIXTURE("pipe.csv"), NULL);
  assert_int_equal(promo_csv_delimiter(reader), '|');
  assert_int_equal(promo_csv_n_columns(reader), 3);
  promo_csv_close(reader);

  /* Commas inside quotes do not count. */
  static const char text[] = "a;b\n\"1,2,3\";4\n\"5,6\";7\n";
  reader = open_text(text, sizeof text - 1, NULL);
  assert_int_equal(promo_csv_delimiter(reader), ';');
  promo_csv_close(reader);

  static const char one_column[] = "name\napple\n";
  reader = open_text(one_column, sizeof one_column - 1, NULL);
  assert_int_equal(promo_csv_n_columns(reader), 1);
  promo_csv_close(reader);
}

static void delimiter_given(void **state) {
  (void)state;
  promo_csv_options opt;
  promo_csv_options_init(&opt);
  opt.delimiter = ',';
  promo_csv *reader = open_fixture(FIXTURE("semicolon.csv"), &opt);
  assert_int_equal(promo_csv_delimiter(reader), ',');
  assert_int_equal(promo_csv_n_columns(reader), 1);
  promo_csv_close(reader);
}

/* ------------------------------------------------------------------ rewind */

static void rewind_repeats_records(void **state) {
  (void)state;
  const char *fixtures[] = {FIXTURE("multiline_crlf.csv"), FIXTURE("chinese_gb18030.csv"),
                            FIXTURE("bom.csv")};
  for (size_t f = 0; f < sizeof fixtures / sizeof fixtures[0]; f++) {
    promo_csv_options opt;
    promo_csv_options_init(&opt);
    opt.block_bytes = 5;
    promo_csv *reader = open_fixture(fixtures[f], &opt);
    char *first = dump_records(reader);
    promo_error err;
    assert_int_equal(promo_csv_rewind(reader, &err), PROMO_OK);
    promo_csv_record rec;
    assert_next_ok(reader, &rec);
    assert_int_equal(rec.index, 0);
    assert_int_equal(promo_csv_rewind(reader, &err), PROMO_OK);
    char *second = dump_records(reader);
    assert_string_equal(first, second);
    free(first);
    free(second);
    promo_csv_close(reader);
  }

  /* Memory readers rewind too, also after an error. */
  promo_csv *reader = open_fixture(FIXTURE("ragged.csv"), NULL);
  promo_csv_record rec;
  promo_error err;
  assert_next_ok(reader, &rec);
  assert_int_equal(promo_csv_next(reader, &rec, &err), PROMO_ERR_DATA);
  assert_int_equal(promo_csv_rewind(reader, &err), PROMO_OK);
  assert_next_ok(reader, &rec);
  assert_field(&rec, 0, "A1");
  assert_int_equal(rec.line, 2);
  assert_int_equal(rec.index, 0);
  promo_csv_close(reader);
}

static void rewind_pipe_unsupported(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  static const char text[] = "a,b\n1,2\n";
  assert_int_equal(write(fds[1], text, sizeof text - 1), (ssize_t)(sizeof text - 1));
  close(fds[1]);
  char path[64];
  snprintf(path, sizeof path, "/dev/fd/%d", fds[0]);
  promo_csv *reader = open_fixture(path, NULL);
  assert_int_equal(promo_csv_size(reader), 0);
  promo_csv_record rec;
  assert_next_ok(reader, &rec);
  assert_field(&rec, 1, "2");
  promo_error err;
  assert_int_equal(promo_csv_rewind(reader, &err), PROMO_ERR_UNSUPPORTED);
  promo_csv_close(reader);
  close(fds[0]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(quoted_fields_and_doubled_quotes),
      cmocka_unit_test(embedded_newlines_keep_line_numbers),
      cmocka_unit_test(lone_cr_inside_quotes_kept),
      cmocka_unit_test(stray_quote_in_unquoted_field),
      cmocka_unit_test(blank_lines_skipped_and_counted),
      cmocka_unit_test(lone_cr_line_endings),
      cmocka_unit_test(trailing_delimiter_gives_empty_field),
      cmocka_unit_test(utf8_bom_skipped),
      cmocka_unit_test(gb18030_file_matches_utf8),
      cmocka_unit_test(invalid_utf8_location),
      cmocka_unit_test(invalid_utf8_in_sample_fails_open),
      cmocka_unit_test(invalid_utf8_after_sample),
      cmocka_unit_test(replace_invalid_uses_replacement_char),
      cmocka_unit_test(replace_invalid_keeps_file_offsets),
      cmocka_unit_test(gb18030_error_offsets_count_file_bytes),
      cmocka_unit_test(utf16_rejected),
      cmocka_unit_test(binary_file_rejected),
      cmocka_unit_test(encoding_names),
      cmocka_unit_test(empty_input_rejected),
      cmocka_unit_test(header_only_has_no_records),
      cmocka_unit_test(duplicate_header_rejected),
      cmocka_unit_test(data_like_header_rejected),
      cmocka_unit_test(empty_header_names_numbered),
      cmocka_unit_test(ragged_row_location),
      cmocka_unit_test(ragged_row_too_many_fields),
      cmocka_unit_test(allow_ragged_flags_record),
      cmocka_unit_test(unterminated_quote_location),
      cmocka_unit_test(text_after_closing_quote_location),
      cmocka_unit_test(missing_file_rejected),
      cmocka_unit_test(invalid_options_rejected),
      cmocka_unit_test(very_long_field),
      cmocka_unit_test(block_size_does_not_change_records),
      cmocka_unit_test(delimiter_detection),
      cmocka_unit_test(delimiter_given),
      cmocka_unit_test(rewind_repeats_records),
      cmocka_unit_test(rewind_pipe_unsupported),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
