/* Tests of the model file: the write/read round trip, the committed interop fixtures
 * (one written by promo, one by Python following the published safetensors layout), and
 * one case per check the reader makes on damaged, foreign or newer files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "promo/model.h"

#define FIXTURE_DIR PROMO_TEST_DATA "/model_file"

/* ------------------------------------------------------------------ helpers */

typedef struct fixture {
  char dir[64];
  char path[128]; /* dir/model.promo */
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (f == NULL) return -1;
  snprintf(f->dir, sizeof f->dir, "/tmp/promo_model_file_XXXXXX");
  if (mkdtemp(f->dir) == NULL) return -1;
  snprintf(f->path, sizeof f->path, "%s/model.promo", f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  DIR *dir = opendir(f->dir);
  if (dir != NULL) {
    struct dirent *entry;
    char path[512];
    while ((entry = readdir(dir)) != NULL) {
      if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
      snprintf(path, sizeof path, "%s/%s", f->dir, entry->d_name);
      if (rmdir(path) != 0) unlink(path);
    }
    closedir(dir);
  }
  rmdir(f->dir);
  free(f);
  return 0;
}

static void assert_message_has(const promo_error *err, const char *text) {
  if (strstr(err->message, text) == NULL)
    fail_msg("message \"%s\" does not contain \"%s\"", err->message, text);
}

static float float_from_bits(uint32_t bits) {
  float v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

static unsigned char *read_whole(const char *path, size_t *size) {
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) fail_msg("cannot open %s: %s", path, strerror(errno));
  assert_int_equal(fseek(fp, 0, SEEK_END), 0);
  long n = ftell(fp);
  assert_true(n >= 0);
  rewind(fp);
  unsigned char *bytes = malloc((size_t)n + 1);
  assert_non_null(bytes);
  assert_int_equal(fread(bytes, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  *size = (size_t)n;
  return bytes;
}

static void write_whole(const char *path, const void *bytes, size_t size) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(bytes, 1, size, fp), size);
  assert_int_equal(fclose(fp), 0);
}

static void floats_to_le(const float *values, size_t n, unsigned char *out) {
  for (size_t i = 0; i < n; i++) {
    uint32_t bits;
    memcpy(&bits, &values[i], sizeof bits);
    for (int b = 0; b < 4; b++) out[4 * i + (size_t)b] = (unsigned char)(bits >> (8 * b));
  }
}

/* A model file made by hand: the prefix, the header text and data_len data bytes. A "%s"
 * in header_fmt becomes the XXH3-64 checksum of the data, as promo writes it. */
static unsigned char *make_file(const char *header_fmt, const unsigned char *data,
                                size_t data_len, size_t *size) {
  char checksum[24], header[4096];
  snprintf(checksum, sizeof checksum, "%016" PRIx64, (uint64_t)XXH3_64bits(data, data_len));
  int n = snprintf(header, sizeof header, header_fmt, checksum);
  assert_true(n > 0 && (size_t)n < sizeof header);
  size_t header_len = (size_t)n;
  unsigned char *bytes = malloc(8 + header_len + data_len + 1);
  assert_non_null(bytes);
  for (int b = 0; b < 8; b++) bytes[b] = (unsigned char)((uint64_t)header_len >> (8 * b));
  memcpy(bytes + 8, header, header_len);
  if (data_len > 0) memcpy(bytes + 8 + header_len, data, data_len);
  *size = 8 + header_len + data_len;
  return bytes;
}

/* Read bytes that must be rejected with `expected`, and return the error. */
static promo_error reject_bytes(const unsigned char *bytes, size_t size, promo_status expected) {
  promo_model_file *file = (promo_model_file *)bytes; /* must be reset to NULL */
  promo_error err;
  promo_status st = promo_model_file_read_memory(bytes, size, "bad.promo", &file, &err);
  if (st != expected)
    fail_msg("status %d, expected %d; message: %s", (int)st, (int)expected, err.message);
  assert_null(file);
  assert_int_equal(err.status, expected);
  assert_string_equal(err.path, "bad.promo");
  return err;
}

/* Make a file from a header and the data {1, 2, 3, 4} and read it, expecting `expected`. */
static promo_error reject_header(const char *header_fmt, promo_status expected) {
  static const float values[4] = {1.0f, 2.0f, 3.0f, 4.0f};
  unsigned char data[16];
  floats_to_le(values, 4, data);
  size_t size;
  unsigned char *bytes = make_file(header_fmt, data, sizeof data, &size);
  promo_error err = reject_bytes(bytes, size, expected);
  free(bytes);
  return err;
}

/* A tensor entry for hand-made headers: name, shape and byte range. */
#define ENTRY(name, shape, begin, end) \
  "\"" name "\":{\"dtype\":\"F32\",\"shape\":" shape ",\"data_offsets\":[" #begin "," #end "]}"
#define META "\"__metadata__\":{\"format\":\"1\",\"checksum\":\"%s\"}"

/* The tensors the round-trip tests write: special values whose bits must survive. */
typedef struct sample {
  float weight[6];  /* [2 x 3] */
  float bias[3];
  promo_tensor tensors[3];
  json_t *metadata;
} sample;

static void sample_init(sample *s) {
  const float weight[6] = {1.0f, -0.0f, 1e-45f /* smallest subnormal */, 3.4028235e38f,
                           0.1f, -2.5f};
  memcpy(s->weight, weight, sizeof weight);
  s->bias[0] = float_from_bits(0x7FC00123u); /* a quiet NaN with a payload */
  s->bias[1] = float_from_bits(0xFF800000u); /* -infinity */
  s->bias[2] = 0.5f;
  s->tensors[0] = (promo_tensor){"dense0.weight", 2, {2, 3}, s->weight};
  s->tensors[1] = (promo_tensor){"dense0.bias", 1, {3, 0}, s->bias};
  s->tensors[2] = (promo_tensor){"empty", 1, {0, 0}, NULL};
  s->metadata = json_pack("{s:s, s:s}", "model", "{\"kind\":\"mlp\"}", "note", "满200减30");
  assert_non_null(s->metadata);
}

static void sample_write(sample *s, const char *path) {
  promo_error err;
  promo_status st = promo_model_file_write(path, s->tensors, 3, s->metadata, &err);
  if (st != PROMO_OK) fail_msg("write failed: %s", err.message);
}

static void assert_same_tensor(const promo_tensor *got, const promo_tensor *want) {
  assert_non_null(got);
  assert_string_equal(got->name, want->name);
  assert_int_equal(got->n_dims, want->n_dims);
  assert_int_equal(got->dims[0], want->dims[0]);
  size_t n = want->dims[0];
  if (want->n_dims == 2) {
    assert_int_equal(got->dims[1], want->dims[1]);
    n *= want->dims[1];
  }
  assert_non_null(got->data);
  if (n > 0) assert_memory_equal(got->data, want->data, n * sizeof(float));
}

/* Read what sample_write wrote and compare it all. */
static void assert_sample(const promo_model_file *file, const sample *s) {
  assert_int_equal(promo_model_file_n_tensors(file), 3);
  for (size_t i = 0; i < 3; i++)
    assert_same_tensor(promo_model_file_tensor(file, i), &s->tensors[i]);
  assert_null(promo_model_file_tensor(file, 3));
  assert_ptr_equal(promo_model_file_find(file, "dense0.bias"), promo_model_file_tensor(file, 1));
  assert_null(promo_model_file_find(file, "dense1.bias"));

  const json_t *meta = promo_model_file_metadata(file);
  assert_int_equal(json_object_size(meta), 4);
  assert_string_equal(json_string_value(json_object_get(meta, "model")), "{\"kind\":\"mlp\"}");
  assert_string_equal(json_string_value(json_object_get(meta, "note")), "满200减30");
  assert_string_equal(json_string_value(json_object_get(meta, "format")), "1");
  const char *checksum = json_string_value(json_object_get(meta, "checksum"));
  assert_non_null(checksum);
  assert_int_equal(strlen(checksum), 16);
}

/* ------------------------------------------------------------------ round trip */

static void round_trip_keeps_everything(void **state) {
  fixture *f = *state;
  sample s;
  sample_init(&s);
  sample_write(&s, f->path);

  promo_model_file *file = NULL;
  promo_error err;
  promo_status st = promo_model_file_read(f->path, &file, &err);
  if (st != PROMO_OK) fail_msg("read failed: %s", err.message);
  assert_sample(file, &s);
  promo_model_file_free(file);
  json_decref(s.metadata);
}

static void round_trip_from_memory(void **state) {
  fixture *f = *state;
  sample s;
  sample_init(&s);
  sample_write(&s, f->path);
  size_t size;
  unsigned char *bytes = read_whole(f->path, &size);

  promo_model_file *file = NULL;
  promo_error err;
  assert_int_equal(promo_model_file_read_memory(bytes, size, "m", &file, &err), PROMO_OK);
  free(bytes); /* the file keeps its own copy */
  assert_sample(file, &s);
  promo_model_file_free(file);
  json_decref(s.metadata);
}

static void header_padded_and_data_aligned(void **state) {
  fixture *f = *state;
  sample s;
  sample_init(&s);
  sample_write(&s, f->path);
  size_t size;
  unsigned char *bytes = read_whole(f->path, &size);

  uint64_t header_len = 0;
  for (int b = 7; b >= 0; b--) header_len = header_len << 8 | bytes[b];
  assert_int_equal(header_len % 8, 0);
  assert_int_equal(bytes[8], '{');
  /* 6 + 3 + 0 floats of data follow the header exactly. */
  assert_int_equal(size, 8 + header_len + 9 * 4);
  /* The first weight, 1.0f, is stored little-endian: 00 00 80 3F. */
  const unsigned char one[4] = {0x00, 0x00, 0x80, 0x3F};
  assert_memory_equal(bytes + 8 + header_len, one, 4);
  free(bytes);
  json_decref(s.metadata);
}

static void checksum_is_xxh3_of_data(void **state) {
  fixture *f = *state;
  sample s;
  sample_init(&s);
  sample_write(&s, f->path);
  size_t size;
  unsigned char *bytes = read_whole(f->path, &size);
  char want[24];
  snprintf(want, sizeof want, "%016" PRIx64, (uint64_t)XXH3_64bits(bytes + size - 36, 36));

  promo_model_file *file = NULL;
  promo_error err;
  assert_int_equal(promo_model_file_read(f->path, &file, &err), PROMO_OK);
  const json_t *meta = promo_model_file_metadata(file);
  assert_string_equal(json_string_value(json_object_get(meta, "checksum")), want);
  promo_model_file_free(file);
  free(bytes);
  json_decref(s.metadata);
}

static void empty_tensor_list_round_trip(void **state) {
  fixture *f = *state;
  promo_error err;
  assert_int_equal(promo_model_file_write(f->path, NULL, 0, NULL, &err), PROMO_OK);
  promo_model_file *file = NULL;
  assert_int_equal(promo_model_file_read(f->path, &file, &err), PROMO_OK);
  assert_int_equal(promo_model_file_n_tensors(file), 0);
  assert_null(promo_model_file_tensor(file, 0));
  const json_t *meta = promo_model_file_metadata(file);
  assert_int_equal(json_object_size(meta), 2);
  /* XXH3-64 of zero bytes. */
  char want[24];
  snprintf(want, sizeof want, "%016" PRIx64, (uint64_t)XXH3_64bits("", 0));
  assert_string_equal(json_string_value(json_object_get(meta, "checksum")), want);
  promo_model_file_free(file);
}

static void format_and_checksum_replaced(void **state) {
  fixture *f = *state;
  const float values[2] = {1.0f, 2.0f};
  promo_tensor t = {"w", 1, {2, 0}, values};
  json_t *meta = json_pack("{s:s, s:s, s:s}", "format", "7", "checksum", "0000000000000000",
                           "kept", "yes");
  promo_error err;
  assert_int_equal(promo_model_file_write(f->path, &t, 1, meta, &err), PROMO_OK);
  promo_model_file *file = NULL;
  assert_int_equal(promo_model_file_read(f->path, &file, &err), PROMO_OK);
  const json_t *got = promo_model_file_metadata(file);
  assert_string_equal(json_string_value(json_object_get(got, "format")), "1");
  assert_string_not_equal(json_string_value(json_object_get(got, "checksum")),
                          "0000000000000000");
  assert_string_equal(json_string_value(json_object_get(got, "kept")), "yes");
  promo_model_file_free(file);
  json_decref(meta);
}

static void write_replaces_existing_file(void **state) {
  fixture *f = *state;
  write_whole(f->path, "old contents", 12);
  const float values[1] = {42.0f};
  promo_tensor t = {"w", 1, {1, 0}, values};
  promo_error err;
  assert_int_equal(promo_model_file_write(f->path, &t, 1, NULL, &err), PROMO_OK);
  promo_model_file *file = NULL;
  assert_int_equal(promo_model_file_read(f->path, &file, &err), PROMO_OK);
  assert_true(promo_model_file_find(file, "w")->data[0] == 42.0f);
  promo_model_file_free(file);
}

/* More values than the writer converts per chunk, so the data is written in pieces. */
static void large_tensor_round_trip(void **state) {
  fixture *f = *state;
  enum { N_ROWS = 3, N_COLS = 4099 };
  float *values = malloc(N_ROWS * N_COLS * sizeof *values);
  assert_non_null(values);
  for (size_t i = 0; i < N_ROWS * N_COLS; i++) values[i] = (float)i * 0.25f - 7.0f;
  promo_tensor t[2] = {{"big", 2, {N_ROWS, N_COLS}, values}, {"none", 2, {N_ROWS, 0}, NULL}};
  promo_error err;
  assert_int_equal(promo_model_file_write(f->path, t, 2, NULL, &err), PROMO_OK);

  promo_model_file *file = NULL;
  assert_int_equal(promo_model_file_read(f->path, &file, &err), PROMO_OK);
  assert_same_tensor(promo_model_file_find(file, "big"), &t[0]);
  const promo_tensor *none = promo_model_file_find(file, "none");
  assert_non_null(none);
  assert_int_equal(none->dims[0], N_ROWS);
  assert_int_equal(none->dims[1], 0);
  promo_model_file_free(file);
  free(values);
}

/* ------------------------------------------------------------------ writer errors */

/* Write that must fail with PROMO_ERR_USAGE and leave no file behind. */
static promo_error reject_write(const fixture *f, const promo_tensor *tensors, size_t n,
                                const json_t *metadata) {
  promo_error err;
  promo_status st = promo_model_file_write(f->path, tensors, n, metadata, &err);
  if (st != PROMO_ERR_USAGE) fail_msg("status %d; message: %s", (int)st, err.message);
  struct stat sb;
  assert_int_not_equal(stat(f->path, &sb), 0);
  return err;
}

static void write_rejects_bad_tensors(void **state) {
  fixture *f = *state;
  const float values[4] = {1, 2, 3, 4};
  promo_tensor t[2] = {{"a", 1, {2, 0}, values}, {"a", 1, {2, 0}, values + 2}};
  promo_error err = reject_write(f, t, 2, NULL);
  assert_message_has(&err, "two tensors are named \"a\"");

  t[1].name = "__metadata__";
  err = reject_write(f, t, 2, NULL);
  assert_message_has(&err, "reserves for metadata");

  t[1].name = NULL;
  err = reject_write(f, t, 2, NULL);
  assert_message_has(&err, "tensor 1 has no name");

  t[1].name = "b";
  t[1].n_dims = 3;
  err = reject_write(f, t, 2, NULL);
  assert_message_has(&err, "has 3 dimensions");

  t[1].n_dims = 1;
  t[1].data = NULL;
  err = reject_write(f, t, 2, NULL);
  assert_message_has(&err, "has 2 values but no data");

  t[1].data = values;
  t[1].name = "bad\xff";
  err = reject_write(f, t, 2, NULL);
  assert_message_has(&err, "not valid UTF-8");
}

static void write_rejects_non_string_metadata(void **state) {
  fixture *f = *state;
  const float values[1] = {1.0f};
  promo_tensor t = {"w", 1, {1, 0}, values};
  json_t *meta = json_pack("{s:s, s:i}", "model", "mlp", "epochs", 10);
  promo_error err = reject_write(f, &t, 1, meta);
  assert_message_has(&err, "metadata value \"epochs\" is not a string");
  assert_string_equal(err.value, "epochs");
  json_decref(meta);

  meta = json_pack("[s]", "x");
  err = reject_write(f, &t, 1, meta);
  assert_message_has(&err, "must be a JSON object");
  json_decref(meta);
}

static void write_to_folder_is_usage_error(void **state) {
  fixture *f = *state;
  promo_error err;
  assert_int_equal(promo_model_file_write(f->dir, NULL, 0, NULL, &err), PROMO_ERR_USAGE);
  assert_string_equal(err.path, f->dir);
}

/* ------------------------------------------------------------------ interop fixtures */

/* promo_written.promo is what this writer produced for the sample, and the Python script
 * checks it against the published layout. PROMO_UPDATE_MODEL_FILE_FIXTURE=1 rewrites it
 * after an intended format change. */
static void writer_matches_committed_file(void **state) {
  fixture *f = *state;
  const char *golden = FIXTURE_DIR "/promo_written.promo";
  sample s;
  sample_init(&s);
  const char *update = getenv("PROMO_UPDATE_MODEL_FILE_FIXTURE");
  if (update != NULL && strcmp(update, "1") == 0) sample_write(&s, golden);

  sample_write(&s, f->path);
  size_t got_size, want_size;
  unsigned char *got = read_whole(f->path, &got_size);
  unsigned char *want = read_whole(golden, &want_size);
  assert_int_equal(got_size, want_size);
  assert_memory_equal(got, want, want_size);
  free(got);
  free(want);
  json_decref(s.metadata);
}

/* Written by tests/fixtures/make_model_file.py with numpy and struct: a space-separated
 * header with "__metadata__" last, and data in a different order from the header. */
static void reads_python_written_file(void **state) {
  (void)state;
  promo_model_file *file = NULL;
  promo_error err;
  promo_status st = promo_model_file_read(FIXTURE_DIR "/python_written.promo", &file, &err);
  if (st != PROMO_OK) fail_msg("read failed: %s", err.message);
  assert_int_equal(promo_model_file_n_tensors(file), 3);
  assert_string_equal(promo_model_file_tensor(file, 0)->name, "layer.bias");
  assert_string_equal(promo_model_file_tensor(file, 1)->name, "layer.weight");
  assert_string_equal(promo_model_file_tensor(file, 2)->name, "unused");

  const promo_tensor *w = promo_model_file_find(file, "layer.weight");
  assert_int_equal(w->n_dims, 2);
  assert_int_equal(w->dims[0], 3);
  assert_int_equal(w->dims[1], 4);
  for (int i = 0; i < 12; i++) assert_true(w->data[i] == (float)(i - 5.5) / 8.0f);

  const promo_tensor *b = promo_model_file_find(file, "layer.bias");
  const float bias[4] = {0.1f, -0.2f, 1e-40f, -0.0f};
  assert_int_equal(b->n_dims, 1);
  assert_int_equal(b->dims[0], 4);
  assert_memory_equal(b->data, bias, sizeof bias);

  const promo_tensor *u = promo_model_file_find(file, "unused");
  assert_int_equal(u->n_dims, 2);
  assert_int_equal(u->dims[0], 0);
  assert_int_equal(u->dims[1], 3);

  const json_t *meta = promo_model_file_metadata(file);
  assert_string_equal(json_string_value(json_object_get(meta, "writer")), "numpy");
  promo_model_file_free(file);
}

static void foreign_safetensors_not_promo(void **state) {
  (void)state;
  promo_model_file *file = NULL;
  promo_error err;
  const char *path = FIXTURE_DIR "/foreign.safetensors";
  assert_int_equal(promo_model_file_read(path, &file, &err), PROMO_ERR_DATA);
  assert_null(file);
  assert_string_equal(err.path, path);
  assert_message_has(&err, "not a promo model file: the header has no \"__metadata__\"");

  /* Hugging Face transformers saves its safetensors files with {"format": "pt"}. */
  path = FIXTURE_DIR "/foreign_pt.safetensors";
  assert_int_equal(promo_model_file_read(path, &file, &err), PROMO_ERR_DATA);
  assert_message_has(&err, "not a promo model file: its \"format\" is \"pt\"");
  assert_string_equal(err.value, "pt");
}

/* ------------------------------------------------------------------ damaged files */

static void truncated_at_several_points(void **state) {
  fixture *f = *state;
  sample s;
  sample_init(&s);
  sample_write(&s, f->path);
  size_t size;
  unsigned char *bytes = read_whole(f->path, &size);
  size_t header_end = 8 + (size - 8 - 36);
  /* Inside the prefix, inside the header, at the header's end, inside the data. */
  const size_t cuts[] = {1, 7, 8, 20, header_end - 1, header_end, header_end + 3, size - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    write_whole(f->path, bytes, cuts[i]);
    promo_model_file *file = NULL;
    promo_error err;
    promo_status st = promo_model_file_read(f->path, &file, &err);
    if (st != PROMO_ERR_DATA)
      fail_msg("cut at %zu: status %d (%s)", cuts[i], (int)st, err.message);
    assert_null(file);
    assert_string_equal(err.path, f->path);
    char want[96];
    snprintf(want, sizeof want, "truncated: the file ends at byte %zu but ", cuts[i]);
    if (strncmp(err.message, want, strlen(want)) != 0)
      fail_msg("cut at %zu: message \"%s\"", cuts[i], err.message);
    assert_message_has(&err, "cut off while copying");
  }
  free(bytes);
  json_decref(s.metadata);
}

static void truncated_data_names_tensor(void **state) {
  fixture *f = *state;
  sample s;
  sample_init(&s);
  sample_write(&s, f->path);
  size_t size;
  unsigned char *bytes = read_whole(f->path, &size);
  promo_error err = reject_bytes(bytes, size - 1, PROMO_ERR_DATA);
  char want[128];
  snprintf(want, sizeof want,
           "the file ends at byte %zu but tensor \"dense0.bias\" ends at byte %zu", size - 1,
           size);
  assert_message_has(&err, want);
  free(bytes);
  json_decref(s.metadata);
}

static void flipped_data_byte_fails_checksum(void **state) {
  fixture *f = *state;
  sample s;
  sample_init(&s);
  sample_write(&s, f->path);
  size_t size;
  unsigned char *bytes = read_whole(f->path, &size);
  bytes[size - 5] ^= 0x01; /* in the bias */
  promo_error err = reject_bytes(bytes, size, PROMO_ERR_DATA);
  assert_message_has(&err, "corrupted: checksum ");
  assert_message_has(&err, "does not match");
  free(bytes);
  json_decref(s.metadata);
}

/* Replace the first occurrence of `from` in the header with `to` (same length). */
static void patch_header(unsigned char *bytes, size_t size, const char *from, const char *to) {
  size_t n = strlen(from);
  assert_int_equal(strlen(to), n);
  for (size_t i = 8; i + n <= size; i++) {
    if (memcmp(bytes + i, from, n) == 0) {
      memcpy(bytes + i, to, n);
      return;
    }
  }
  fail_msg("\"%s\" not found in the file", from);
}

static void flipped_header_bytes_rejected(void **state) {
  fixture *f = *state;
  sample s;
  sample_init(&s);
  sample_write(&s, f->path);
  size_t size;
  unsigned char *clean = read_whole(f->path, &size);
  unsigned char *bytes = malloc(size);
  assert_non_null(bytes);

  /* The opening brace: no longer JSON, located at file byte 8. */
  memcpy(bytes, clean, size);
  bytes[8] ^= 0x01;
  promo_error err = reject_bytes(bytes, size, PROMO_ERR_DATA);
  assert_message_has(&err, "the header is not valid JSON (header line 1, column 1:");
  assert_int_equal(err.byte_offset, 8);

  /* The dtype. */
  memcpy(bytes, clean, size);
  patch_header(bytes, size, "\"F32\"", "\"F22\"");
  err = reject_bytes(bytes, size, PROMO_ERR_DATA);
  assert_message_has(&err, "tensor \"dense0.weight\" has dtype F22");

  /* An end offset: 24 -> 25 no longer matches the shape. */
  memcpy(bytes, clean, size);
  patch_header(bytes, size, "[0,24]", "[0,25]");
  err = reject_bytes(bytes, size, PROMO_ERR_DATA);
  assert_message_has(&err, "tensor \"dense0.weight\" has shape for 24 bytes but its "
                           "\"data_offsets\" span 25");

  /* A shape: [2,3] -> [2,2] no longer matches the byte range. */
  memcpy(bytes, clean, size);
  patch_header(bytes, size, "[2,3]", "[2,2]");
  err = reject_bytes(bytes, size, PROMO_ERR_DATA);
  assert_message_has(&err, "has shape for 16 bytes");
  free(bytes);
  free(clean);
  json_decref(s.metadata);
}

static void float64_tensor_rejected(void **state) {
  (void)state;
  promo_error err = reject_header(
      "{" META ",\"w\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}",
      PROMO_ERR_DATA);
  assert_message_has(&err, "tensor \"w\" has dtype F64; only float32 tensors (F32) are supported");
  assert_string_equal(err.value, "w");
}

static void newer_format_unsupported(void **state) {
  (void)state;
  promo_error err = reject_header(
      "{\"__metadata__\":{\"format\":\"99\",\"checksum\":\"%s\"}," ENTRY("w", "[4]", 0, 16) "}",
      PROMO_ERR_UNSUPPORTED);
  assert_message_has(&err, "written by a newer promo (format 99)");
  assert_message_has(&err, "upgrade promo to read it");
}

static void bad_format_values_rejected(void **state) {
  (void)state;
  const char *formats[] = {"0", "-1", "+1", " 1", "1.0", "", "99999999999999999999"};
  char header[512];
  for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
    snprintf(header, sizeof header,
             "{\"__metadata__\":{\"format\":\"%s\",\"checksum\":\"%%s\"},"
             ENTRY("w", "[4]", 0, 16) "}",
             formats[i]);
    promo_error err = reject_header(header, PROMO_ERR_DATA);
    assert_message_has(&err, "where promo writes a version number");
    assert_string_equal(err.value, formats[i]);
  }
}

static void missing_format_not_promo(void **state) {
  (void)state;
  promo_error err = reject_header(
      "{\"__metadata__\":{\"checksum\":\"%s\"}," ENTRY("w", "[4]", 0, 16) "}", PROMO_ERR_DATA);
  assert_message_has(&err, "not a promo model file: its metadata has no \"format\"");
}

static void duplicate_tensor_name_rejected(void **state) {
  (void)state;
  promo_error err = reject_header(
      "{" META "," ENTRY("w", "[2]", 0, 8) ",\n" ENTRY("w", "[2]", 8, 16) "}", PROMO_ERR_DATA);
  assert_message_has(&err, "the header names the same key twice (header line 2, column");
  assert_message_has(&err, "duplicate object key");
  assert_true(err.byte_offset > 8);
}

static void overlapping_offsets_rejected(void **state) {
  (void)state;
  promo_error err = reject_header("{" META "," ENTRY("a", "[2]", 0, 8) "," ENTRY("b", "[2]", 4, 12)
                                  "," ENTRY("c", "[1]", 12, 16) "}",
                                  PROMO_ERR_DATA);
  assert_message_has(&err, "tensors \"a\" and \"b\" overlap: \"b\" starts at data byte 4, "
                           "before \"a\" ends at 8");

  /* Two tensors over the same bytes. */
  err = reject_header("{" META "," ENTRY("a", "[4]", 0, 16) "," ENTRY("b", "[4]", 0, 16) "}",
                      PROMO_ERR_DATA);
  assert_message_has(&err, "overlap");
}

static void gap_between_tensors_rejected(void **state) {
  (void)state;
  promo_error err = reject_header(
      "{" META "," ENTRY("a", "[1]", 0, 4) "," ENTRY("b", "[2]", 8, 16) "}", PROMO_ERR_DATA);
  assert_message_has(&err, "data bytes 4 to 8 before tensor \"b\" belong to no tensor");
}

static void trailing_bytes_rejected(void **state) {
  (void)state;
  promo_error err = reject_header("{" META "," ENTRY("a", "[3]", 0, 12) "}", PROMO_ERR_DATA);
  assert_message_has(&err, "the file has 4 bytes after the last tensor's data");
}

static void offsets_out_of_range_rejected(void **state) {
  (void)state;
  promo_error err = reject_header("{" META "," ENTRY("a", "[5]", 0, 20) "}", PROMO_ERR_DATA);
  assert_message_has(&err, "truncated: the file ends at byte");
  assert_message_has(&err, "but tensor \"a\" ends at byte");

  err = reject_header("{" META "," ENTRY("a", "[0]", 8, 4) "}", PROMO_ERR_DATA);
  assert_message_has(&err, "invalid \"data_offsets\"");
  err = reject_header("{" META "," ENTRY("a", "[0]", -4, 0) "}", PROMO_ERR_DATA);
  assert_message_has(&err, "invalid \"data_offsets\"");
  err = reject_header("{" META ",\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0]}}",
                      PROMO_ERR_DATA);
  assert_message_has(&err, "invalid \"data_offsets\"");
}

static void bad_entries_rejected(void **state) {
  (void)state;
  promo_error err = reject_header("{" META ",\"a\":[1,2]}", PROMO_ERR_DATA);
  assert_message_has(&err, "the header entry for tensor \"a\" is not a JSON object");

  err = reject_header("{" META ",\"a\":{\"shape\":[4],\"data_offsets\":[0,16]}}", PROMO_ERR_DATA);
  assert_message_has(&err, "tensor \"a\" has no \"dtype\"");

  err = reject_header("{" META ",\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,16]}}",
                      PROMO_ERR_DATA);
  assert_message_has(&err, "tensor \"a\" has no \"shape\" array");

  err = reject_header("{" META "," ENTRY("a", "[2,1,2]", 0, 16) "}", PROMO_ERR_DATA);
  assert_message_has(&err, "tensor \"a\" has 3 dimensions; promo reads tensors of 1 or 2");

  err = reject_header("{" META "," ENTRY("a", "[]", 0, 4) "}", PROMO_ERR_DATA);
  assert_message_has(&err, "has 0 dimensions");

  err = reject_header("{" META "," ENTRY("a", "[4.0]", 0, 16) "}", PROMO_ERR_DATA);
  assert_message_has(&err, "invalid shape entry 1");

  err = reject_header("{" META "," ENTRY("a", "[4,-1]", 0, 16) "}", PROMO_ERR_DATA);
  assert_message_has(&err, "invalid shape entry 2");

  err = reject_header("{" META "," ENTRY("a", "[4611686018427387904,4]", 0, 16) "}",
                      PROMO_ERR_DATA);
  assert_message_has(&err, "shape too large");
}

static void bad_metadata_rejected(void **state) {
  (void)state;
  promo_error err = reject_header("{\"__metadata__\":[\"%s\"]," ENTRY("a", "[4]", 0, 16) "}",
                                  PROMO_ERR_DATA);
  assert_message_has(&err, "\"__metadata__\" is not a JSON object");

  err = reject_header("{\"__metadata__\":{\"format\":\"1\",\"checksum\":\"%s\",\"epochs\":10},"
                      ENTRY("a", "[4]", 0, 16) "}", PROMO_ERR_DATA);
  assert_message_has(&err, "metadata value \"epochs\" is not a string");

  err = reject_header("{\"__metadata__\":{\"format\":\"1\"}," ENTRY("a", "[4]", 0, 16) "}",
                      PROMO_ERR_DATA);
  assert_message_has(&err, "the metadata has no \"checksum\"");

  err = reject_header("{\"__metadata__\":{\"format\":\"1\",\"checksum\":\"xyz\"},"
                      ENTRY("a", "[4]", 0, 16) "}", PROMO_ERR_DATA);
  assert_message_has(&err, "the metadata \"checksum\" is \"xyz\", not 16 hexadecimal digits");

  err = reject_header("[1,2]", PROMO_ERR_DATA);
  assert_message_has(&err, "the header is not a JSON object");
}

static void header_length_too_large(void **state) {
  (void)state;
  /* A CSV file given as a model: its first 8 bytes read as a huge length. */
  const char *csv = "order_id,price\n1,10\n";
  promo_error err = reject_bytes((const unsigned char *)csv, strlen(csv), PROMO_ERR_DATA);
  assert_message_has(&err, "not a model file: its first 8 bytes give a header length of ");
  assert_message_has(&err, "over the 100000000-byte limit");

  /* Under the limit but past the end of the file. */
  unsigned char bytes[16] = {0x00, 0x10, 0, 0, 0, 0, 0, 0, '{', '}'};
  err = reject_bytes(bytes, sizeof bytes, PROMO_ERR_DATA);
  assert_message_has(&err, "truncated: the file ends at byte 16 but the header says it runs "
                           "to byte 4104");
}

/* ------------------------------------------------------------------ paths */

static void empty_file_rejected(void **state) {
  fixture *f = *state;
  write_whole(f->path, "", 0);
  promo_model_file *file = NULL;
  promo_error err;
  assert_int_equal(promo_model_file_read(f->path, &file, &err), PROMO_ERR_DATA);
  assert_null(file);
  assert_string_equal(err.path, f->path);
  assert_message_has(&err, "the file is empty");
}

static void folder_path_rejected(void **state) {
  fixture *f = *state;
  promo_model_file *file = NULL;
  promo_error err;
  assert_int_equal(promo_model_file_read(f->dir, &file, &err), PROMO_ERR_USAGE);
  assert_null(file);
  assert_string_equal(err.path, f->dir);
  assert_message_has(&err, "the model path is a folder");
}

static void missing_file_is_io_error(void **state) {
  fixture *f = *state;
  char path[160];
  snprintf(path, sizeof path, "%s/absent.promo", f->dir);
  promo_model_file *file = NULL;
  promo_error err;
  assert_int_equal(promo_model_file_read(path, &file, &err), PROMO_ERR_IO);
  assert_null(file);
  assert_int_equal(err.sys_errno, ENOENT);
  assert_string_equal(err.path, path);
  assert_message_has(&err, "opening the model file failed");
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      TEST(round_trip_keeps_everything),
      TEST(round_trip_from_memory),
      TEST(header_padded_and_data_aligned),
      TEST(checksum_is_xxh3_of_data),
      TEST(empty_tensor_list_round_trip),
      TEST(format_and_checksum_replaced),
      TEST(write_replaces_existing_file),
      TEST(large_tensor_round_trip),
      TEST(write_rejects_bad_tensors),
      TEST(write_rejects_non_string_metadata),
      TEST(write_to_folder_is_usage_error),
      TEST(writer_matches_committed_file),
      TEST(reads_python_written_file),
      TEST(foreign_safetensors_not_promo),
      TEST(truncated_at_several_points),
      TEST(truncated_data_names_tensor),
      TEST(flipped_data_byte_fails_checksum),
      TEST(flipped_header_bytes_rejected),
      TEST(float64_tensor_rejected),
      TEST(newer_format_unsupported),
      TEST(bad_format_values_rejected),
      TEST(missing_format_not_promo),
      TEST(duplicate_tensor_name_rejected),
      TEST(overlapping_offsets_rejected),
      TEST(gap_between_tensors_rejected),
      TEST(trailing_bytes_rejected),
      TEST(offsets_out_of_range_rejected),
      TEST(bad_entries_rejected),
      TEST(bad_metadata_rejected),
      TEST(header_length_too_large),
      TEST(empty_file_rejected),
      TEST(folder_path_rejected),
      TEST(missing_file_is_io_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
