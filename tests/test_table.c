/* Unit tests of the data stage's dictionary, columnar table and CSV writer: codes,
 * typed appends with missing and invalid cells, kept source text, chunk clearing,
 * quoting, the byte-order mark and write errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promo/data.h"

/* ------------------------------------------------------------------ helpers */

enum { MAX_TEST_FIELDS = 8 };

/* A record built by hand, as the CSV reader would hand it to promo_table_append. */
typedef struct test_record {
  const char *fields[MAX_TEST_FIELDS];
  uint32_t lengths[MAX_TEST_FIELDS];
  uint8_t was_quoted[MAX_TEST_FIELDS];
  char raw[512];
  promo_csv_record record;
} test_record;

/* Fill t from n texts; raw is the texts joined with commas (no quoting). */
static const promo_csv_record *make_record(test_record *t, size_t n, const char *const *texts,
                                           int64_t line) {
  assert_true(n <= MAX_TEST_FIELDS);
  size_t used = 0;
  for (size_t i = 0; i < n; i++) {
    t->fields[i] = texts[i];
    t->lengths[i] = (uint32_t)strlen(texts[i]);
    t->was_quoted[i] = 0;
    used += (size_t)snprintf(t->raw + used, sizeof t->raw - used, "%s%s", i ? "," : "", texts[i]);
    assert_true(used < sizeof t->raw);
  }
  t->record.n_fields = n;
  t->record.fields = t->fields;
  t->record.lengths = t->lengths;
  t->record.was_quoted = t->was_quoted;
  t->record.raw = t->raw;
  t->record.raw_len = used;
  t->record.line = line;
  t->record.index = line >= 2 ? (uint64_t)(line - 2) : 0;
  t->record.is_ragged = false;
  return &t->record;
}

static void append_texts(promo_table *table, size_t n, const char *const *texts, int64_t line) {
  test_record t;
  assert_int_equal(promo_table_append(table, make_record(&t, n, texts, line)), PROMO_OK);
}

/* Output of a writer on an in-memory stream, collected for byte comparison. */
typedef struct memory_output {
  FILE *fp;
  char *data;
  size_t size;
} memory_output;

static void memory_open(memory_output *out) {
  out->data = NULL;
  out->size = 0;
  out->fp = open_memstream(&out->data, &out->size);
  assert_non_null(out->fp);
}

static void memory_close(memory_output *out) {
  assert_int_equal(fclose(out->fp), 0);
  out->fp = NULL;
}

/* ------------------------------------------------------------------ dictionary */

static void dict_codes_and_find(void **state) {
  (void)state;
  promo_dict *dict;
  assert_int_equal(promo_dict_create(&dict), PROMO_OK);
  int32_t code = -5;
  assert_int_equal(promo_dict_intern(dict, "apple", 5, &code), PROMO_OK);
  assert_int_equal(code, 0);
  assert_int_equal(promo_dict_intern(dict, "pear", 4, &code), PROMO_OK);
  assert_int_equal(code, 1);
  assert_int_equal(promo_dict_intern(dict, "apple", 5, &code), PROMO_OK);
  assert_int_equal(code, 0);
  assert_int_equal(promo_dict_intern(dict, "", 0, &code), PROMO_OK);
  assert_int_equal(code, 2);
  assert_int_equal(promo_dict_intern(dict, "apples", 5, &code), PROMO_OK); /* prefix only */
  assert_int_equal(code, 0);
  assert_int_equal(promo_dict_intern(dict, "a\0b", 3, &code), PROMO_OK);
  assert_int_equal(code, 3);
  assert_int_equal(promo_dict_intern(dict, "a\0c", 3, &code), PROMO_OK);
  assert_int_equal(code, 4);

  assert_int_equal(promo_dict_size(dict), 5);
  assert_int_equal(promo_dict_find(dict, "pear", 4), 1);
  assert_int_equal(promo_dict_find(dict, "", 0), 2);
  assert_int_equal(promo_dict_find(dict, "a\0c", 3), 4);
  assert_int_equal(promo_dict_find(dict, "peach", 5), -1);
  assert_int_equal(promo_dict_find(dict, "pea", 3), -1);

  size_t len = 99;
  assert_string_equal(promo_dict_string(dict, 1, &len), "pear");
  assert_int_equal(len, 4);
  assert_string_equal(promo_dict_string(dict, 2, &len), "");
  assert_int_equal(len, 0);
  assert_null(promo_dict_string(dict, 5, &len));
  assert_int_equal(len, 0);
  assert_null(promo_dict_string(dict, -1, NULL));
  promo_dict_free(dict);
  promo_dict_free(NULL);
}

static void dict_many_inserts_and_reset(void **state) {
  (void)state;
  promo_dict *dict;
  assert_int_equal(promo_dict_create(&dict), PROMO_OK);
  const char *first = NULL;
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 10000; i++) {
      char key[32];
      int n = snprintf(key, sizeof key, "sku-%d-%s", i, i % 3 ? "red" : "blue");
      int32_t code;
      assert_int_equal(promo_dict_intern(dict, key, (size_t)n, &code), PROMO_OK);
      assert_int_equal(code, i);
    }
    if (round == 0) first = promo_dict_string(dict, 0, NULL);
    assert_int_equal(promo_dict_size(dict), 10000);
    for (int i = 0; i < 10000; i++) {
      char key[32];
      int n = snprintf(key, sizeof key, "sku-%d-%s", i, i % 3 ? "red" : "blue");
      assert_int_equal(promo_dict_find(dict, key, (size_t)n), i);
      size_t len;
      assert_string_equal(promo_dict_string(dict, i, &len), key);
      assert_int_equal(len, (size_t)n);
    }
    /* Pointers stay valid while the dictionary grows. */
    assert_string_equal(promo_dict_string(dict, 0, NULL), "sku-0-blue");
    if (round == 0) assert_ptr_equal(promo_dict_string(dict, 0, NULL), first);

    promo_dict_reset(dict);
    assert_int_equal(promo_dict_size(dict), 0);
    assert_int_equal(promo_dict_find(dict, "sku-0-blue", 10), -1);
  }
  int32_t code;
  assert_int_equal(promo_dict_intern(dict, "again", 5, &code), PROMO_OK);
  assert_int_equal(code, 0);
  promo_dict_free(dict);
}

/* A string larger than any arena block gets a block of its own. */
static void dict_long_string(void **state) {
  (void)state;
  promo_dict *dict;
  assert_int_equal(promo_dict_create(&dict), PROMO_OK);
  size_t n = 3 * 1024 * 1024;
  char *big = malloc(n);
  assert_non_null(big);
  memset(big, 'x', n);
  int32_t code;
  assert_int_equal(promo_dict_intern(dict, "small", 5, &code), PROMO_OK);
  assert_int_equal(promo_dict_intern(dict, big, n, &code), PROMO_OK);
  assert_int_equal(code, 1);
  size_t len;
  const char *s = promo_dict_string(dict, 1, &len);
  assert_int_equal(len, n);
  assert_memory_equal(s, big, n);
  assert_int_equal(s[n], '\0');
  assert_int_equal(promo_dict_find(dict, big, n), 1);
  free(big);
  promo_dict_free(dict);
}

/* ------------------------------------------------------------------ table */

static const char *const kNames[] = {"id", "price", "day", "ts", "vip", "city", "note"};
static const promo_type kTypes[] = {PROMO_TYPE_INT,      PROMO_TYPE_DECIMAL,
                                    PROMO_TYPE_DATE,     PROMO_TYPE_DATETIME,
                                    PROMO_TYPE_BOOL,     PROMO_TYPE_CATEGORICAL,
                                    PROMO_TYPE_TEXT};

static promo_table *make_table(bool keep_text) {
  promo_table *table = NULL;
  assert_int_equal(promo_table_create(7, kNames, kTypes, keep_text, &table), PROMO_OK);
  assert_non_null(table);
  return table;
}

static void table_create_columns(void **state) {
  (void)state;
  const char *names[] = {"a", "b"};
  promo_type types[] = {PROMO_TYPE_UNKNOWN, PROMO_TYPE_INT};
  promo_table *table;
  assert_int_equal(promo_table_create(2, names, types, false, &table), PROMO_OK);
  assert_int_equal(table->n_columns, 2);
  assert_int_equal(table->n_rows, 0);
  assert_int_equal(table->columns[0].type, PROMO_TYPE_TEXT);
  assert_non_null(table->columns[0].dict);
  assert_null(table->columns[1].dict);
  assert_string_equal(table->columns[1].name, "b");
  assert_int_equal(promo_table_find(table, "b"), 1);
  assert_int_equal(promo_table_find(table, "c"), -1);
  promo_table_free(table);
  promo_table_free(NULL);
}

static void table_append_typed_values(void **state) {
  (void)state;
  promo_table *table = make_table(false);
  const char *row1[] = {"42", "12.50", "2024-11-11", "2024-11-11 10:00:00", "true", "Beijing",
                        "fast delivery"};
  const char *row2[] = {"1,234", "¥8", "2024/11/11", "1731319200", "否",
                        "Shanghai", "ok"};
  const char *row3[] = {"NA", "", "N/A", "null", "-", "NA", " "};
  const char *row4[] = {"4x", "cheap", "2024-02-30", "yesterday", "maybe", "Beijing", "ok"};
  append_texts(table, 7, row1, 2);
  append_texts(table, 7, row2, 3);
  append_texts(table, 7, row3, 5);
  append_texts(table, 7, row4, 6);
  assert_int_equal(table->n_rows, 4);
  assert_int_equal(table->lines[0], 2);
  assert_int_equal(table->lines[3], 6);

  const promo_column *c = table->columns;
  /* Row 1: every value plain. */
  assert_int_equal(c[0].ints[0], 42);
  assert_true(c[1].reals[0] == 12.5);
  assert_int_equal(c[2].ints[0], 20038);
  assert_int_equal(c[3].ints[0], 1731319200);
  assert_int_equal(c[4].ints[0], 1);
  assert_int_equal(c[5].codes[0], 0);
  assert_int_equal(c[6].codes[0], 0);
  for (size_t k = 0; k < 7; k++) {
    assert_int_equal(c[k].is_missing[0], 0);
    assert_int_equal(c[k].is_invalid[0], 0);
    assert_int_equal(c[k].is_plain[0], 1);
  }

  /* Row 2: valid but not in the writer's form, except the strings. */
  assert_int_equal(c[0].ints[1], 1234);
  assert_true(c[1].reals[1] == 8.0);
  assert_int_equal(c[2].ints[1], 20038);
  assert_int_equal(c[3].ints[1], 1731319200);
  assert_int_equal(c[4].ints[1], 0);
  assert_int_equal(c[5].codes[1], 1);
  for (size_t k = 0; k < 5; k++) {
    assert_int_equal(c[k].is_missing[1], 0);
    assert_int_equal(c[k].is_plain[1], 0);
  }
  assert_int_equal(c[5].is_plain[1], 1);

  /* Row 3: missing markers, not invalid. */
  for (size_t k = 0; k < 7; k++) {
    assert_int_equal(c[k].is_missing[2], 1);
    assert_int_equal(c[k].is_invalid[2], 0);
    assert_int_equal(c[k].is_plain[2], 0);
  }
  assert_int_equal(c[5].codes[2], -1);

  /* Row 4: present but unparsable in the typed columns; strings are always valid. */
  for (size_t k = 0; k < 5; k++) {
    assert_int_equal(c[k].is_missing[3], 1);
    assert_int_equal(c[k].is_invalid[3], 1);
  }
  assert_int_equal(c[5].codes[3], 0);
  assert_int_equal(c[6].codes[3], 1);
  assert_int_equal(c[5].is_missing[3], 0);
  assert_int_equal(promo_dict_size(c[5].dict), 2);
  promo_table_free(table);
}

static void table_append_wrong_field_count(void **state) {
  (void)state;
  promo_table *table = make_table(true);
  const char *short_row[] = {"1", "2"};
  test_record t;
  assert_int_equal(promo_table_append(table, make_record(&t, 2, short_row, 2)), PROMO_ERR_DATA);
  assert_int_equal(table->n_rows, 0);
  assert_int_equal(table->text_len, 0);
  promo_table_free(table);
}

static void table_grows_by_doubling(void **state) {
  (void)state;
  const char *names[] = {"n", "x"};
  promo_type types[] = {PROMO_TYPE_INT, PROMO_TYPE_DECIMAL};
  promo_table *table;
  assert_int_equal(promo_table_create(2, names, types, true, &table), PROMO_OK);
  for (int i = 0; i < 5000; i++) {
    char a[16], b[16];
    snprintf(a, sizeof a, "%d", i);
    snprintf(b, sizeof b, "%d.5", i);
    const char *row[] = {a, b};
    append_texts(table, 2, row, i + 2);
  }
  assert_int_equal(table->n_rows, 5000);
  assert_true(table->capacity >= 5000);
  assert_int_equal(table->capacity & (table->capacity - 1), 0);
  for (int i = 0; i < 5000; i++) {
    assert_int_equal(table->columns[0].ints[i], i);
    assert_true(table->columns[1].reals[i] == i + 0.5);
    assert_int_equal(table->lines[i], i + 2);
  }
  size_t cell = 4999 * 2 + 1;
  assert_int_equal(table->cell_lengths[cell], 6);
  assert_memory_equal(table->text + table->cell_offsets[cell], "4999.5", 6);
  promo_table_free(table);
}

static void table_keeps_source_text(void **state) {
  (void)state;
  promo_table *table = make_table(true);
  const char *row1[] = {"007", "12.50", "2024/11/11", "", "yes", "Beijing", "a \"quote\""};
  const char *row2[] = {"8", "9", "2024-11-12", "", "no", "Xi'an", "b"};
  append_texts(table, 7, row1, 2);
  append_texts(table, 7, row2, 3);
  assert_true(table->keep_text);

  const char *expected_raw = "8,9,2024-11-12,,no,Xi'an,b";
  assert_int_equal(table->raw_lengths[1], strlen(expected_raw));
  assert_memory_equal(table->text + table->raw_offsets[1], expected_raw, strlen(expected_raw));
  for (size_t c = 0; c < 7; c++) {
    size_t cell = 0 * 7 + c;
    assert_int_equal(table->cell_lengths[cell], strlen(row1[c]));
    assert_memory_equal(table->text + table->cell_offsets[cell], row1[c], strlen(row1[c]));
  }
  promo_table_free(table);
}

static void table_clear_keeps_categorical_codes(void **state) {
  (void)state;
  promo_table *table = make_table(true);
  const char *row1[] = {"1", "1", "2024-11-11", "", "y", "Beijing", "first note"};
  const char *row2[] = {"2", "2", "2024-11-11", "", "n", "Shanghai", "second note"};
  append_texts(table, 7, row1, 2);
  append_texts(table, 7, row2, 3);
  assert_int_equal(table->columns[6].codes[1], 1);
  size_t capacity = table->capacity;

  promo_table_clear_rows(table);
  assert_int_equal(table->n_rows, 0);
  assert_int_equal(table->text_len, 0);
  assert_int_equal(table->capacity, capacity);
  assert_int_equal(promo_dict_size(table->columns[5].dict), 2);
  assert_int_equal(promo_dict_size(table->columns[6].dict), 0);

  const char *row3[] = {"3", "3", "2024-11-11", "", "y", "Shanghai", "third note"};
  append_texts(table, 7, row3, 4);
  assert_int_equal(table->columns[5].codes[0], 1); /* Shanghai keeps its code */
  assert_int_equal(table->columns[6].codes[0], 0); /* TEXT codes restart */
  assert_int_equal(table->lines[0], 4);
  assert_int_equal(table->cell_offsets[0], table->raw_lengths[0]);
  promo_table_free(table);
}

/* ------------------------------------------------------------------ writer */

static void writer_quotes_when_needed(void **state) {
  (void)state;
  memory_output out;
  memory_open(&out);
  promo_csv_writer *writer;
  assert_int_equal(promo_csv_writer_create(out.fp, ',', false, &writer), PROMO_OK);
  const char *fields[] = {"plain", "a,b", "say \"hi\"", "two\nlines", "cr\r", " lead",
                          "trail ", "tab\t", "", "semi;colon", "满200"};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    promo_csv_write_field(writer, fields[i], strlen(fields[i]));
  promo_csv_write_end_row(writer);
  promo_csv_write_field(writer, "x", 1);
  promo_csv_write_field(writer, "", 0);
  promo_csv_write_end_row(writer);
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_csv_writer_flush(writer, &err), PROMO_OK);
  promo_csv_writer_free(writer);
  memory_close(&out);

  const char *expected =
      "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\",\" lead\",\"trail \","
      "\"tab\t\",,semi;colon,满200\n"
      "x,\n";
  assert_int_equal(out.size, strlen(expected));
  assert_memory_equal(out.data, expected, out.size);
  free(out.data);
}

static void writer_other_delimiter_and_bom(void **state) {
  (void)state;
  memory_output out;
  memory_open(&out);
  promo_csv_writer *writer;
  assert_int_equal(promo_csv_writer_create(out.fp, ';', true, &writer), PROMO_OK);
  promo_csv_write_field(writer, "a,b", 3);
  promo_csv_write_field(writer, "c;d", 3);
  promo_csv_write_end_row(writer);
  promo_csv_write_field(writer, "", 0); /* a lone empty field is not a blank line */
  promo_csv_write_end_row(writer);
  assert_int_equal(promo_csv_writer_flush(writer, NULL), PROMO_OK);
  promo_csv_writer_free(writer);
  memory_close(&out);

  const char *expected = "\xEF\xBB\xBF" "a,b;\"c;d\"\n\"\"\n";
  assert_int_equal(out.size, strlen(expected));
  assert_memory_equal(out.data, expected, out.size);
  free(out.data);
}

static void writer_rejects_quote_delimiter(void **state) {
  (void)state;
  promo_csv_writer *writer = NULL;
  assert_int_equal(promo_csv_writer_create(stdout, '"', false, &writer), PROMO_ERR_USAGE);
  assert_null(writer);
  assert_int_equal(promo_csv_writer_create(stdout, '\n', false, &writer), PROMO_ERR_USAGE);
}

/* Write every row of table through promo_csv_write_cell and return the bytes. */
static char *write_table(const promo_table *table, size_t *size) {
  memory_output out;
  memory_open(&out);
  promo_csv_writer *writer;
  assert_int_equal(promo_csv_writer_create(out.fp, ',', false, &writer), PROMO_OK);
  for (size_t r = 0; r < table->n_rows; r++) {
    for (size_t c = 0; c < table->n_columns; c++) promo_csv_write_cell(writer, table, r, c);
    promo_csv_write_end_row(writer);
  }
  assert_int_equal(promo_csv_writer_flush(writer, NULL), PROMO_OK);
  promo_csv_writer_free(writer);
  memory_close(&out);
  *size = out.size;
  return out.data;
}

static void writer_cells_with_kept_text(void **state) {
  (void)state;
  promo_table *table = make_table(true);
  const char *row1[] = {"42", "12.50", "2024-11-11", "2024-11-11 10:00:00", "true", "Beijing",
                        "note"};
  const char *row2[] = {"007", "¥8.80", "2024/11/11", "2024-11-11T18:00:00+08:00",
                        "yes", "Xi'an, Shaanxi", "say \"hi\""};
  const char *row3[] = {"NA", "1e3", "20241111", "1731319200", "0", "NA", ""};
  const char *row4[] = {"4x", "12.5%", "2024-02-30", "noon", "maybe", " padded", "n"};
  append_texts(table, 7, row1, 2);
  append_texts(table, 7, row2, 3);
  append_texts(table, 7, row3, 4);
  append_texts(table, 7, row4, 5);

  size_t size;
  char *data = write_table(table, &size);
  const char *expected =
      "42,12.50,2024-11-11,2024-11-11 10:00:00,true,Beijing,note\n"
      "7,8.8,2024-11-11,2024-11-11 18:00:00,true,\"Xi'an, Shaanxi\",\"say \"\"hi\"\"\"\n"
      ",1000,2024-11-11,2024-11-11 10:00:00,false,,\n"
      ",0.125,,,,\" padded\",n\n";
  assert_int_equal(size, strlen(expected));
  assert_memory_equal(data, expected, size);
  free(data);
  promo_table_free(table);
}

static void writer_cells_without_kept_text(void **state) {
  (void)state;
  promo_table *table = make_table(false);
  const char *row[] = {"-5", "12.50", "2024.1.5", "2024-01-05 09:30", "F", "A", "B"};
  append_texts(table, 7, row, 2);
  size_t size;
  char *data = write_table(table, &size);
  const char *expected = "-5,12.5,2024-01-05,2024-01-05 09:30:00,false,A,B\n";
  assert_int_equal(size, strlen(expected));
  assert_memory_equal(data, expected, size);
  free(data);
  promo_table_free(table);
}

/* Output larger than the 1 MiB buffer arrives complete and in order. */
static void writer_large_output(void **state) {
  (void)state;
  FILE *fp = tmpfile();
  assert_non_null(fp);
  promo_csv_writer *writer;
  assert_int_equal(promo_csv_writer_create(fp, ',', false, &writer), PROMO_OK);
  char big[5000];
  memset(big, 'z', sizeof big);
  size_t expected_size = 0;
  for (int i = 0; i < 200000; i++) {
    char n[16];
    int len = snprintf(n, sizeof n, "%d", i);
    promo_csv_write_field(writer, n, (size_t)len);
    promo_csv_write_field(writer, big, i % 1000 == 0 ? sizeof big : 3);
    promo_csv_write_end_row(writer);
    expected_size += (size_t)len + 1 + (i % 1000 == 0 ? sizeof big : 3) + 1;
  }
  assert_int_equal(promo_csv_writer_flush(writer, NULL), PROMO_OK);
  promo_csv_writer_free(writer);

  assert_int_equal(fseek(fp, 0, SEEK_END), 0);
  assert_int_equal((size_t)ftell(fp), expected_size);
  rewind(fp);
  char line[6000];
  for (int i = 0; i < 200000; i++) {
    assert_non_null(fgets(line, sizeof line, fp));
    char expected[16];
    int len = snprintf(expected, sizeof expected, "%d,", i);
    assert_memory_equal(line, expected, (size_t)len);
    assert_int_equal(strlen(line), (size_t)len + (i % 1000 == 0 ? sizeof big : 3) + 1);
  }
  fclose(fp);
}

static void writer_reports_write_error(void **state) {
  (void)state;
  FILE *fp = fopen("/dev/full", "w");
  if (fp == NULL) skip();
  promo_csv_writer *writer;
  assert_int_equal(promo_csv_writer_create(fp, ',', false, &writer), PROMO_OK);
  promo_csv_write_field(writer, "data", 4);
  promo_csv_write_end_row(writer);
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_csv_writer_flush(writer, &err), PROMO_ERR_IO);
  assert_int_equal(err.status, PROMO_ERR_IO);
  assert_int_equal(err.sys_errno, ENOSPC);
  assert_non_null(strstr(err.message, "writing CSV output"));
  /* The error sticks: a later flush reports it again. */
  assert_int_equal(promo_csv_writer_flush(writer, NULL), PROMO_ERR_IO);
  promo_csv_writer_free(writer);
  fclose(fp);
}

/* ------------------------------------------------------------------ reading */

static void table_read_in_chunks(void **state) {
  (void)state;
  const char *csv =
      "id,price,city\n"
      "1,12.50,Beijing\n"
      "2,NA,Shanghai\n"
      "3,oops,Beijing\n"
      "4,\"1,299.00\",\"Xi'an\"\n"
      "5,7,Shanghai\n";
  promo_csv_options opt;
  promo_csv_options_init(&opt);
  promo_csv *reader;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_csv_open_memory(csv, strlen(csv), "mem.csv", &opt, &reader, &err),
                   PROMO_OK);
  const char *names[] = {"id", "price", "city"};
  promo_type types[] = {PROMO_TYPE_INT, PROMO_TYPE_DECIMAL, PROMO_TYPE_CATEGORICAL};
  promo_table *table;
  assert_int_equal(promo_table_create(3, names, types, true, &table), PROMO_OK);

  assert_int_equal(promo_table_read(table, reader, 3, &err), PROMO_OK);
  assert_int_equal(table->n_rows, 3);
  assert_int_equal(table->lines[0], 2);
  assert_true(table->columns[1].reals[0] == 12.5);
  assert_int_equal(table->columns[1].is_missing[1], 1);
  assert_int_equal(table->columns[1].is_invalid[1], 0);
  assert_int_equal(table->columns[1].is_invalid[2], 1);

  assert_int_equal(promo_table_read(table, reader, 3, &err), PROMO_END);
  assert_int_equal(table->n_rows, 2);
  assert_int_equal(table->lines[0], 5);
  assert_true(table->columns[1].reals[0] == 1299.0);
  assert_int_equal(table->columns[1].is_plain[0], 0);
  assert_int_equal(table->columns[2].codes[1], 1); /* Shanghai, coded in the first chunk */
  assert_string_equal(promo_dict_string(table->columns[2].dict, 2, NULL), "Xi'an");

  assert_int_equal(promo_table_read(table, reader, 0, &err), PROMO_END);
  assert_int_equal(table->n_rows, 0);
  promo_table_free(table);
  promo_csv_close(reader);
}

/* Data rows keyed by an integer sku; a catalog keyed by sku written as text. */
static void make_join_tables(promo_table **data, promo_table **catalog) {
  const char *data_names[] = {"sku", "units"};
  const promo_type data_types[] = {PROMO_TYPE_INT, PROMO_TYPE_INT};
  assert_int_equal(promo_table_create(2, data_names, data_types, false, data), PROMO_OK);
  append_texts(*data, 2, (const char *const[]){"101", "5"}, 2);
  append_texts(*data, 2, (const char *const[]){"102", "7"}, 3);
  append_texts(*data, 2, (const char *const[]){"999", "1"}, 4);
  append_texts(*data, 2, (const char *const[]){"101", "2"}, 5);
  const char *cat_names[] = {"sku", "category", "cost"};
  const promo_type cat_types[] = {PROMO_TYPE_CATEGORICAL, PROMO_TYPE_CATEGORICAL, PROMO_TYPE_DECIMAL};
  assert_int_equal(promo_table_create(3, cat_names, cat_types, false, catalog), PROMO_OK);
  append_texts(*catalog, 3, (const char *const[]){"102", "饮料", "3.5"}, 2);
  append_texts(*catalog, 3, (const char *const[]){"101", "零食", "1.25"}, 3);
}

static void join_adds_lookup_columns(void **state) {
  (void)state;
  promo_table *data = NULL, *catalog = NULL;
  make_join_tables(&data, &catalog);
  promo_error err;
  promo_error_clear(&err);
  size_t unmatched = 0;
  assert_int_equal(promo_table_join(data, "data.csv", "sku", catalog, "items.csv", "sku", &unmatched, &err), PROMO_OK);
  assert_int_equal(unmatched, 1);
  assert_int_equal(data->n_columns, 4);
  ptrdiff_t category = promo_table_find(data, "category"), cost = promo_table_find(data, "cost");
  assert_true(category >= 0 && cost >= 0);
  const promo_column *cat = &data->columns[category], *cst = &data->columns[cost];
  assert_string_equal(promo_dict_string(cat->dict, cat->codes[0], NULL), "零食");
  assert_string_equal(promo_dict_string(cat->dict, cat->codes[1], NULL), "饮料");
  assert_true(cat->is_missing[2]);
  assert_string_equal(promo_dict_string(cat->dict, cat->codes[3], NULL), "零食");
  assert_float_equal(cst->reals[0], 1.25, 0);
  assert_float_equal(cst->reals[1], 3.5, 0);
  assert_true(cst->is_missing[2]);
  promo_table_free(data);
  promo_table_free(catalog);
}

static void join_rejects_duplicate_keys_and_names(void **state) {
  (void)state;
  promo_table *data = NULL, *catalog = NULL;
  make_join_tables(&data, &catalog);
  promo_error err;
  promo_error_clear(&err);

  /* A key on two catalog rows is named with its line. */
  append_texts(catalog, 3, (const char *const[]){"101", "其他", "9"}, 4);
  assert_int_equal(promo_table_join(data, "data.csv", "sku", catalog, "items.csv", "sku", NULL, &err),
                   PROMO_ERR_DATA);
  assert_int_equal(err.line, 4);
  assert_non_null(strstr(err.message, "'101'"));
  assert_int_equal(data->n_columns, 2);

  /* A column in both tables stops the join before the data changes. */
  promo_error_clear(&err);
  assert_int_equal(promo_table_join(data, "data.csv", "units", catalog, "items.csv", "category", NULL, &err),
                   PROMO_ERR_USAGE);
  assert_non_null(strstr(err.message, "'sku'"));
  assert_int_equal(data->n_columns, 2);

  promo_error_clear(&err);
  assert_int_equal(promo_table_join(data, "data.csv", "item", catalog, "items.csv", "sku", NULL, &err),
                   PROMO_ERR_USAGE);
  promo_table_free(data);
  promo_table_free(catalog);
}

static void table_read_ragged_record(void **state) {
  (void)state;
  const char *csv = "a,b\n1,2\n3,4,5\n";
  promo_csv_options opt;
  promo_csv_options_init(&opt);
  opt.allow_ragged = true;
  promo_csv *reader;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_csv_open_memory(csv, strlen(csv), "ragged.csv", &opt, &reader, &err),
                   PROMO_OK);
  const char *names[] = {"a", "b"};
  promo_type types[] = {PROMO_TYPE_INT, PROMO_TYPE_INT};
  promo_table *table;
  assert_int_equal(promo_table_create(2, names, types, false, &table), PROMO_OK);
  assert_int_equal(promo_table_read(table, reader, 0, &err), PROMO_ERR_DATA);
  assert_int_equal(table->n_rows, 1);
  assert_int_equal(err.line, 3);
  assert_string_equal(err.path, "ragged.csv");
  assert_non_null(strstr(err.message, "3 fields"));
  promo_table_free(table);
  promo_csv_close(reader);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(dict_codes_and_find),
      cmocka_unit_test(dict_many_inserts_and_reset),
      cmocka_unit_test(dict_long_string),
      cmocka_unit_test(table_create_columns),
      cmocka_unit_test(join_adds_lookup_columns),
      cmocka_unit_test(join_rejects_duplicate_keys_and_names),
      cmocka_unit_test(table_append_typed_values),
      cmocka_unit_test(table_append_wrong_field_count),
      cmocka_unit_test(table_grows_by_doubling),
      cmocka_unit_test(table_keeps_source_text),
      cmocka_unit_test(table_clear_keeps_categorical_codes),
      cmocka_unit_test(writer_quotes_when_needed),
      cmocka_unit_test(writer_other_delimiter_and_bom),
      cmocka_unit_test(writer_rejects_quote_delimiter),
      cmocka_unit_test(writer_cells_with_kept_text),
      cmocka_unit_test(writer_cells_without_kept_text),
      cmocka_unit_test(writer_large_output),
      cmocka_unit_test(writer_reports_write_error),
      cmocka_unit_test(table_read_in_chunks),
      cmocka_unit_test(table_read_ragged_record),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
