/* The model file: float32 tensors and string metadata in the safetensors layout, written
 * atomically and read back with every length, offset and the checksum checked. Serves
 * the model stage's save and load. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "core/intl.h"
#include "promo/model.h"

/* The 8-byte little-endian header length that opens the file. */
#define PREFIX_BYTES 8u
/* Largest header accepted, the same limit as the safetensors reference reader
 * (MAX_HEADER_SIZE in safetensors/src/tensor.rs). */
#define MAX_HEADER_BYTES 100000000u
#define FLOAT_BYTES 4u
/* Floats converted to little-endian bytes per step when writing. */
#define CHUNK_FLOATS 4096u

struct promo_model_file {
  json_t *header;            /* the parsed header; tensor names point at its keys */
  const json_t *metadata;    /* "__metadata__", owned by header */
  size_t n_tensors;
  promo_tensor *tensors;     /* [n_tensors], in header order */
  float *values;             /* the whole data section, decoded */
};

static promo_status out_of_memory(promo_error *err) {
  return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
}

/* ------------------------------------------------------------------ byte order */

/* Bytes are composed with shifts, so these are right on hosts of either byte order. */
static void floats_to_le(const float *src, size_t n, unsigned char *dst) {
  for (size_t i = 0; i < n; i++) {
    uint32_t bits;
    memcpy(&bits, &src[i], sizeof bits);
    dst[4 * i] = (unsigned char)(bits & 0xFF);
    dst[4 * i + 1] = (unsigned char)((bits >> 8) & 0xFF);
    dst[4 * i + 2] = (unsigned char)((bits >> 16) & 0xFF);
    dst[4 * i + 3] = (unsigned char)(bits >> 24);
  }
}

/* Decode n little-endian floats in place. */
static void floats_from_le(float *values, size_t n) {
  unsigned char *bytes = (unsigned char *)values;
  for (size_t i = 0; i < n; i++) {
    const unsigned char *b = bytes + 4 * i;
    uint32_t bits = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                    (uint32_t)b[3] << 24;
    memcpy(&values[i], &bits, sizeof bits);
  }
}

static uint64_t u64_from_le(const unsigned char b[8]) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
  return v;
}

static void u64_to_le(uint64_t v, unsigned char b[8]) {
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
}

/* ------------------------------------------------------------------ writing */

/* Check a tensor to write and return its number of values. */
static promo_status tensor_count(const promo_tensor *t, size_t index, size_t *n_values,
                                 promo_error *err) {
  if (t->name == NULL || t->name[0] == '\0')
    return promo_error_set(err, PROMO_ERR_USAGE, _("tensor %zu has no name"), index);
  if (strcmp(t->name, "__metadata__") == 0)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("tensor %zu is named \"__metadata__\", a name the safetensors "
                             "layout reserves for metadata; rename it"), index);
  if (t->n_dims < 1 || t->n_dims > 2)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("tensor \"%s\" has %zu dimensions; a model file stores tensors "
                             "of 1 or 2 dimensions"), t->name, t->n_dims);
  size_t n = t->dims[0];
  if (t->n_dims == 2) {
    if (t->dims[1] != 0 && n > SIZE_MAX / FLOAT_BYTES / t->dims[1])
      return promo_error_set(err, PROMO_ERR_USAGE, _("tensor \"%s\" is too large (%zu x %zu)"),
                             t->name, t->dims[0], t->dims[1]);
    n *= t->dims[1];
  } else if (n > SIZE_MAX / FLOAT_BYTES) {
    return promo_error_set(err, PROMO_ERR_USAGE, _("tensor \"%s\" is too large (%zu)"),
                           t->name, n);
  }
  if (n > 0 && t->data == NULL)
    return promo_error_set(err, PROMO_ERR_USAGE, _("tensor \"%s\" has %zu values but no data"),
                           t->name, n);
  *n_values = n;
  return PROMO_OK;
}

/* Check that a tensor name is valid UTF-8. jansson returns NULL both for invalid UTF-8 and
 * for a failed allocation, so a second, unchecked copy tells the two apart. */
static promo_status check_name_utf8(const char *name, promo_error *err) {
  json_t *probe = json_string(name);
  if (probe != NULL) {
    json_decref(probe);
    return PROMO_OK;
  }
  probe = json_string_nocheck(name);
  if (probe == NULL) return out_of_memory(err);
  json_decref(probe);
  promo_error_value(err, name, -1);
  return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("tensor name is not valid UTF-8"));
}

/* {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, or NULL when memory
 * runs out. jansson's *_new setters take the value's reference even when they fail (also
 * for a NULL container), so the calls are chained with | and nothing leaks. */
static json_t *tensor_entry(const promo_tensor *t, uint64_t begin, uint64_t end) {
  json_t *shape = json_array();
  int rc = 0;
  for (size_t d = 0; d < t->n_dims; d++)
    rc |= json_array_append_new(shape, json_integer((json_int_t)t->dims[d]));
  json_t *offsets = json_array();
  rc |= json_array_append_new(offsets, json_integer((json_int_t)begin));
  rc |= json_array_append_new(offsets, json_integer((json_int_t)end));

  json_t *entry = json_object();
  rc |= json_object_set_new(entry, "dtype", json_string("F32"));
  rc |= json_object_set_new(entry, "shape", shape);
  rc |= json_object_set_new(entry, "data_offsets", offsets);
  if (rc != 0) {
    json_decref(entry);
    return NULL;
  }
  return entry;
}

/* The "__metadata__" object: the caller's strings plus "format" and "checksum". */
static promo_status build_metadata(const json_t *metadata, uint64_t checksum, json_t **out,
                                   promo_error *err) {
  *out = NULL;
  if (metadata != NULL && !json_is_object(metadata))
    return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                           _("model file metadata must be a JSON object of strings"));
  json_t *meta = json_object();
  if (meta == NULL) return out_of_memory(err);

  const char *key;
  json_t *value;
  json_object_foreach((json_t *)metadata, key, value) {
    if (!json_is_string(value)) {
      json_decref(meta);
      promo_error_value(err, key, -1);
      return promo_error_set(err, PROMO_ERR_USAGE,
                             _("metadata value \"%s\" is not a string; the safetensors layout "
                               "stores only strings, so encode it as JSON text"), key);
    }
    if (json_object_set(meta, key, value) != 0) {
      json_decref(meta);
      return out_of_memory(err);
    }
  }

  char format[24], hex[24];
  snprintf(format, sizeof format, "%d", PROMO_MODEL_FORMAT_VERSION);
  snprintf(hex, sizeof hex, "%016" PRIx64, checksum);
  if (json_object_set_new(meta, "format", json_string(format)) != 0 ||
      json_object_set_new(meta, "checksum", json_string(hex)) != 0) {
    json_decref(meta);
    return out_of_memory(err);
  }
  *out = meta;
  return PROMO_OK;
}

/* The whole header object, "__metadata__" first and then the tensors in the given order,
 * packed from offset 0. */
static promo_status build_header(const promo_tensor *tensors, size_t n_tensors,
                                 const size_t *n_values, const json_t *metadata,
                                 uint64_t checksum, json_t **out, promo_error *err) {
  *out = NULL;
  json_t *root = json_object();
  if (root == NULL) return out_of_memory(err);
  json_t *meta;
  promo_status st = build_metadata(metadata, checksum, &meta, err);
  if (st == PROMO_OK && json_object_set_new(root, "__metadata__", meta) != 0)
    st = out_of_memory(err);

  uint64_t offset = 0;
  for (size_t i = 0; st == PROMO_OK && i < n_tensors; i++) {
    const promo_tensor *t = &tensors[i];
    st = check_name_utf8(t->name, err);
    if (st != PROMO_OK) break;
    if (json_object_get(root, t->name) != NULL) {
      promo_error_value(err, t->name, -1);
      st = promo_error_set(err, PROMO_ERR_USAGE,
                           _("two tensors are named \"%s\"; tensor names must be unique"),
                           t->name);
      break;
    }
    uint64_t end = offset + (uint64_t)n_values[i] * FLOAT_BYTES;
    json_t *entry = tensor_entry(t, offset, end);
    if (entry == NULL || json_object_set_new(root, t->name, entry) != 0) st = out_of_memory(err);
    offset = end;
  }
  if (st != PROMO_OK) {
    json_decref(root);
    return st;
  }
  *out = root;
  return PROMO_OK;
}

/* Pass every tensor's little-endian bytes, in order, to the hash state or the stream
 * (whichever is not NULL). Returns 0 or the errno of a failed write. */
static int emit_data(const promo_tensor *tensors, size_t n_tensors, const size_t *n_values,
                     XXH3_state_t *hash, FILE *fp) {
  unsigned char buf[CHUNK_FLOATS * FLOAT_BYTES];
  for (size_t i = 0; i < n_tensors; i++) {
    for (size_t done = 0; done < n_values[i];) {
      size_t n = n_values[i] - done < CHUNK_FLOATS ? n_values[i] - done : CHUNK_FLOATS;
      floats_to_le(tensors[i].data + done, n, buf);
      if (hash != NULL) XXH3_64bits_update(hash, buf, n * FLOAT_BYTES);
      errno = 0;
      if (fp != NULL && fwrite(buf, FLOAT_BYTES, n, fp) != n) return errno != 0 ? errno : EIO;
      done += n;
    }
  }
  return 0;
}

/* XXH3-64 of the data section as the file stores it. */
static promo_status hash_data(const promo_tensor *tensors, size_t n_tensors,
                              const size_t *n_values, uint64_t *checksum, promo_error *err) {
  XXH3_state_t *state = XXH3_createState();
  if (state == NULL) return out_of_memory(err);
  XXH3_64bits_reset(state);
  emit_data(tensors, n_tensors, n_values, state, NULL);
  *checksum = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return PROMO_OK;
}

/* Write prefix, header padded with spaces to a multiple of 8 bytes (as the reference
 * writer does, so the data starts 8-byte aligned), then the data. Returns 0 or errno. */
static int write_body(FILE *fp, const char *header_text, const promo_tensor *tensors,
                      size_t n_tensors, const size_t *n_values) {
  size_t text_len = strlen(header_text);
  size_t padding = (8 - text_len % 8) % 8;
  unsigned char prefix[PREFIX_BYTES];
  u64_to_le((uint64_t)(text_len + padding), prefix);
  errno = 0;
  if (fwrite(prefix, 1, sizeof prefix, fp) != sizeof prefix ||
      fwrite(header_text, 1, text_len, fp) != text_len ||
      fwrite("       ", 1, padding, fp) != padding)
    return errno != 0 ? errno : EIO;
  return emit_data(tensors, n_tensors, n_values, NULL, fp);
}

static promo_status write_file(const char *path, const char *header_text,
                               const promo_tensor *tensors, size_t n_tensors,
                               const size_t *n_values, promo_error *err) {
  promo_atomic_file *file;
  FILE *fp;
  promo_status st = promo_atomic_open(path, &file, &fp, err);
  if (st != PROMO_OK) return st;
  int errnum = write_body(fp, header_text, tensors, n_tensors, n_values);
  if (errnum != 0) {
    promo_atomic_abort(file);
    return promo_error_errno(err, errnum, path, _("writing the model file"));
  }
  return promo_atomic_commit(file, err);
}

promo_status promo_model_file_write(const char *path, const promo_tensor *tensors,
                                    size_t n_tensors, const json_t *metadata,
                                    promo_error *err) {
  promo_error_clear(err);
  if (path == NULL)
    return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("no model file path given"));
  if (n_tensors > 0 && tensors == NULL)
    return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("no tensors given"));

  size_t *n_values = calloc(n_tensors > 0 ? n_tensors : 1, sizeof *n_values);
  if (n_values == NULL) return out_of_memory(err);
  promo_status st = PROMO_OK;
  for (size_t i = 0; st == PROMO_OK && i < n_tensors; i++)
    st = tensor_count(&tensors[i], i, &n_values[i], err);

  uint64_t checksum = 0;
  json_t *root = NULL;
  char *header_text = NULL;
  if (st == PROMO_OK) st = hash_data(tensors, n_tensors, n_values, &checksum, err);
  if (st == PROMO_OK)
    st = build_header(tensors, n_tensors, n_values, metadata, checksum, &root, err);
  if (st == PROMO_OK) {
    header_text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (header_text == NULL) st = out_of_memory(err);
  }
  /* MAX_HEADER_BYTES is a multiple of 8, so padding cannot push a header past it. */
  if (st == PROMO_OK && strlen(header_text) > MAX_HEADER_BYTES)
    st = promo_error_set(err, PROMO_ERR_UNSUPPORTED,
                         _("the model file header would be larger than %u bytes, which "
                           "safetensors readers reject; use fewer tensors or shorter metadata"),
                         MAX_HEADER_BYTES);
  if (st == PROMO_OK) st = write_file(path, header_text, tensors, n_tensors, n_values, err);

  free(header_text);
  json_decref(root);
  free(n_values);
  return st;
}

/* ------------------------------------------------------------------ reading */

/* Where the bytes come from: an open file read front to back, or a caller's buffer. */
typedef struct source {
  FILE *fp;                    /* NULL for a buffer */
  const unsigned char *bytes;  /* the buffer when fp is NULL */
  uint64_t size;               /* of the whole file or buffer */
  uint64_t position;           /* next byte to read */
} source;

/* Read the next n bytes. A file that shrinks while it is read is an I/O error. */
static promo_status source_read(source *src, void *dst, size_t n, promo_error *err) {
  if (n == 0) return PROMO_OK;
  if (src->fp == NULL) {
    memcpy(dst, src->bytes + src->position, n);
  } else {
    errno = 0;
    if (fread(dst, 1, n, src->fp) != n) {
      int errnum = ferror(src->fp) && errno != 0 ? errno : EIO;
      return promo_error_errno(err, errnum, NULL, _("reading the model file"));
    }
  }
  src->position += n;
  return PROMO_OK;
}

/* A tensor's byte range in the data section, for the coverage check. */
typedef struct tensor_span {
  size_t index;                /* in header order */
  uint64_t begin, end;
} tensor_span;

static int compare_spans(const void *a, const void *b) {
  const tensor_span *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* Check the size against the 8-byte prefix and return the header length from it. */
static promo_status read_prefix(source *src, uint64_t *header_len, promo_error *err) {
  if (src->size == 0)
    return promo_error_set(err, PROMO_ERR_DATA, "%s",
                           _("the file is empty; expected a promo model file"));
  if (src->size < PREFIX_BYTES)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("truncated: the file ends at byte %" PRIu64 " but a model file "
                             "starts with an 8-byte header length; it was probably cut off "
                             "while copying, so copy it again"), src->size);
  unsigned char prefix[PREFIX_BYTES];
  promo_status st = source_read(src, prefix, sizeof prefix, err);
  if (st != PROMO_OK) return st;

  uint64_t n = u64_from_le(prefix);
  if (n > MAX_HEADER_BYTES)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("not a model file: its first 8 bytes give a header length of "
                             "%" PRIu64 " bytes, over the %u-byte limit; check that the path "
                             "names a promo model file"), n, MAX_HEADER_BYTES);
  if (n > src->size - PREFIX_BYTES)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("truncated: the file ends at byte %" PRIu64 " but the header "
                             "says it runs to byte %" PRIu64 "; it was probably cut off while "
                             "copying, so copy it again"), src->size, n + PREFIX_BYTES);
  *header_len = n;
  return PROMO_OK;
}

/* Parse the header text, rejecting duplicate keys such as a tensor named twice. */
static promo_status parse_header(const char *text, size_t len, json_t **root,
                                 promo_error *err) {
  json_error_t jerr;
  *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (*root == NULL) {
    if (json_error_code(&jerr) == json_error_out_of_memory) return out_of_memory(err);
    /* jansson's position counts the bytes consumed, up to and including the offending one. */
    if (err != NULL)
      err->byte_offset = (int64_t)PREFIX_BYTES + (jerr.position > 0 ? jerr.position - 1 : 0);
    if (json_error_code(&jerr) == json_error_duplicate_key)
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("the header names the same key twice (header line %d, column "
                               "%d: %s); the file is damaged"), jerr.line, jerr.column,
                             jerr.text);
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("the header is not valid JSON (header line %d, column %d: %s); "
                             "the file is damaged or not a model file"), jerr.line,
                           jerr.column, jerr.text);
  }
  if (!json_is_object(*root)) {
    json_decref(*root);
    *root = NULL;
    return promo_error_set(err, PROMO_ERR_DATA, "%s",
                           _("the header is not a JSON object; the file is damaged or not a "
                             "model file"));
  }
  return PROMO_OK;
}

/* Check "format": a decimal version from 1 to PROMO_MODEL_FORMAT_VERSION. */
static promo_status check_format(const json_t *meta, promo_error *err) {
  const json_t *format = json_object_get(meta, "format");
  if (format == NULL)
    return promo_error_set(err, PROMO_ERR_DATA, "%s",
                           _("not a promo model file: its metadata has no \"format\" version; "
                             "it may be a safetensors file written by another tool"));
  const char *text = json_string_value(format);
  char *end;
  errno = 0;
  long long version = strtoll(text, &end, 10);
  if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || version < 1) {
    promo_error_value(err, text, -1);
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("not a promo model file: its \"format\" is \"%s\" where promo "
                             "writes a version number; it was probably written by another "
                             "tool"), text);
  }
  if (version > PROMO_MODEL_FORMAT_VERSION)
    return promo_error_set(err, PROMO_ERR_UNSUPPORTED,
                           _("written by a newer promo (format %lld); this promo reads format "
                             "%d and older, so upgrade promo to read it"), version,
                           PROMO_MODEL_FORMAT_VERSION);
  return PROMO_OK;
}

/* Check "checksum": 16 hexadecimal digits. */
static promo_status parse_checksum(const json_t *meta, uint64_t *checksum, promo_error *err) {
  const json_t *value = json_object_get(meta, "checksum");
  if (value == NULL)
    return promo_error_set(err, PROMO_ERR_DATA, "%s",
                           _("the metadata has no \"checksum\", which promo writes in every "
                             "model file; the file was edited or written by another tool"));
  const char *text = json_string_value(value);
  bool is_hex = strlen(text) == 16;
  for (size_t i = 0; is_hex && i < 16; i++)
    is_hex = strchr("0123456789abcdefABCDEF", text[i]) != NULL;
  if (!is_hex) {
    promo_error_value(err, text, -1);
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("the metadata \"checksum\" is \"%s\", not 16 hexadecimal digits; "
                             "the file is damaged"), text);
  }
  *checksum = strtoull(text, NULL, 16);
  return PROMO_OK;
}

/* Check "__metadata__": present, all strings, a supported format, a checksum. */
static promo_status check_metadata(const json_t *root, const json_t **metadata,
                                   uint64_t *checksum, promo_error *err) {
  const json_t *meta = json_object_get(root, "__metadata__");
  if (meta == NULL)
    return promo_error_set(err, PROMO_ERR_DATA, "%s",
                           _("not a promo model file: the header has no \"__metadata__\" with a "
                             "\"format\" version; it may be a safetensors file written by "
                             "another tool"));
  if (!json_is_object(meta))
    return promo_error_set(err, PROMO_ERR_DATA, "%s",
                           _("the header's \"__metadata__\" is not a JSON object; the file is "
                             "damaged"));
  const char *key;
  const json_t *value;
  json_object_foreach((json_t *)meta, key, value) {
    if (!json_is_string(value)) {
      promo_error_value(err, key, -1);
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("metadata value \"%s\" is not a string, which the safetensors "
                               "layout requires; the file is damaged"), key);
    }
  }
  promo_status st = check_format(meta, err);
  if (st == PROMO_OK) st = parse_checksum(meta, checksum, err);
  *metadata = meta;
  return st;
}

/* Read the shape of one entry (1 or 2 non-negative integers) and return its byte count. */
static promo_status read_shape(const char *name, const json_t *shape, promo_tensor *t,
                               uint64_t *n_bytes, promo_error *err) {
  if (!json_is_array(shape))
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("tensor \"%s\" has no \"shape\" array; the header is damaged"), name);
  size_t n_dims = json_array_size(shape);
  if (n_dims < 1 || n_dims > 2)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("tensor \"%s\" has %zu dimensions; promo reads tensors of 1 or 2 "
                             "dimensions"), name, n_dims);
  uint64_t bytes = FLOAT_BYTES;
  for (size_t d = 0; d < n_dims; d++) {
    const json_t *dim = json_array_get(shape, d);
    json_int_t v = json_is_integer(dim) ? json_integer_value(dim) : -1;
    if (v < 0 || (uint64_t)v > SIZE_MAX)
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("tensor \"%s\" has an invalid shape entry %zu; expected a "
                               "non-negative integer"), name, d + 1);
    if (v != 0 && bytes > UINT64_MAX / (uint64_t)v)
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("tensor \"%s\" has a shape too large to store; the header is "
                               "damaged"), name);
    bytes *= (uint64_t)v;
    t->dims[d] = (size_t)v;
  }
  t->n_dims = n_dims;
  *n_bytes = bytes;
  return PROMO_OK;
}

/* Read the byte range of one entry: [begin, end] with 0 <= begin <= end. */
static promo_status read_offsets(const char *name, const json_t *offsets, tensor_span *span,
                                 promo_error *err) {
  const json_t *b = json_array_get(offsets, 0), *e = json_array_get(offsets, 1);
  if (!json_is_array(offsets) || json_array_size(offsets) != 2 || !json_is_integer(b) ||
      !json_is_integer(e) || json_integer_value(b) < 0 ||
      json_integer_value(e) < json_integer_value(b))
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("tensor \"%s\" has invalid \"data_offsets\"; expected [begin, end] "
                             "with 0 <= begin <= end; the header is damaged"), name);
  span->begin = (uint64_t)json_integer_value(b);
  span->end = (uint64_t)json_integer_value(e);
  return PROMO_OK;
}

/* Check one tensor entry against the data section of data_len bytes. */
static promo_status read_entry(const char *name, const json_t *entry, uint64_t data_len,
                               uint64_t data_start, promo_tensor *t, tensor_span *span,
                               promo_error *err) {
  if (!json_is_object(entry))
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("the header entry for tensor \"%s\" is not a JSON object; the "
                             "header is damaged"), name);
  const char *dtype = json_string_value(json_object_get(entry, "dtype"));
  if (dtype == NULL)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("tensor \"%s\" has no \"dtype\"; the header is damaged"), name);
  if (strcmp(dtype, "F32") != 0)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("tensor \"%s\" has dtype %s; only float32 tensors (F32) are "
                             "supported"), name, dtype);
  uint64_t n_bytes = 0;
  promo_status st = read_shape(name, json_object_get(entry, "shape"), t, &n_bytes, err);
  if (st == PROMO_OK) st = read_offsets(name, json_object_get(entry, "data_offsets"), span, err);
  if (st != PROMO_OK) return st;

  if (span->end - span->begin != n_bytes)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("tensor \"%s\" has shape for %" PRIu64 " bytes but its "
                             "\"data_offsets\" span %" PRIu64 "; the header is damaged"),
                           name, n_bytes, span->end - span->begin);
  if (span->end > data_len)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("truncated: the file ends at byte %" PRIu64 " but tensor \"%s\" "
                             "ends at byte %" PRIu64 "; it was probably cut off while "
                             "copying, so copy it again"), data_start + data_len, name,
                           data_start + span->end);
  t->name = name;
  return PROMO_OK;
}

/* Check that the tensors cover the data section exactly once, with no gap, overlap or
 * trailing byte, as the reference reader requires (Metadata::validate and read_metadata in
 * safetensors/src/tensor.rs). Sorts spans by offset. */
static promo_status check_coverage(const promo_model_file *file, tensor_span *spans,
                                   uint64_t data_len, promo_error *err) {
  qsort(spans, file->n_tensors, sizeof *spans, compare_spans);
  uint64_t covered = 0;
  const char *previous = NULL;
  for (size_t i = 0; i < file->n_tensors; i++) {
    const char *name = file->tensors[spans[i].index].name;
    if (spans[i].begin < covered) {
      promo_error_value(err, name, -1);
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("tensors \"%s\" and \"%s\" overlap: \"%s\" starts at data byte "
                               "%" PRIu64 ", before \"%s\" ends at %" PRIu64 "; the header is "
                               "damaged"), previous, name, name, spans[i].begin, previous,
                             covered);
    }
    if (spans[i].begin > covered) {
      promo_error_value(err, name, -1);
      return promo_error_set(err, PROMO_ERR_DATA,
                             _("data bytes %" PRIu64 " to %" PRIu64 " before tensor \"%s\" "
                               "belong to no tensor; the header is damaged"), covered,
                             spans[i].begin, name);
    }
    covered = spans[i].end;
    previous = name;
  }
  if (covered != data_len)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("the file has %" PRIu64 " bytes after the last tensor's data; it "
                             "is damaged or something was appended to it"), data_len - covered);
  return PROMO_OK;
}

/* Fill file->tensors (names and shapes, data still NULL) from the header and check every
 * byte range. On success *spans_out contains the ranges sorted by offset, and the caller
 * frees it. */
static promo_status read_tensors(promo_model_file *file, uint64_t data_len, uint64_t data_start,
                                 tensor_span **spans_out, promo_error *err) {
  *spans_out = NULL;
  size_t n = json_object_size(file->header) - 1; /* less "__metadata__" */
  file->tensors = calloc(n > 0 ? n : 1, sizeof *file->tensors);
  tensor_span *spans = calloc(n > 0 ? n : 1, sizeof *spans);
  if (file->tensors == NULL || spans == NULL) {
    free(spans);
    return out_of_memory(err);
  }
  const char *name;
  const json_t *entry;
  promo_status st = PROMO_OK;
  json_object_foreach(file->header, name, entry) {
    if (strcmp(name, "__metadata__") == 0) continue;
    size_t i = file->n_tensors;
    spans[i].index = i;
    st = read_entry(name, entry, data_len, data_start, &file->tensors[i], &spans[i], err);
    if (st != PROMO_OK) {
      promo_error_value(err, name, -1);
      break;
    }
    file->n_tensors++;
  }
  if (st == PROMO_OK) st = check_coverage(file, spans, data_len, err);
  if (st != PROMO_OK) {
    free(spans);
    return st;
  }
  *spans_out = spans;
  return PROMO_OK;
}

/* Read the data section into file->values, verify the checksum and decode the floats.
 * data_len is a multiple of 4 once check_coverage has passed. */
static promo_status read_values(promo_model_file *file, source *src, uint64_t data_len,
                                uint64_t expected, promo_error *err) {
  if (data_len > SIZE_MAX) return out_of_memory(err);
  size_t n_floats = (size_t)data_len / FLOAT_BYTES;
  /* At least one float, so an empty data section still has a valid pointer. */
  file->values = malloc((n_floats > 0 ? n_floats : 1) * FLOAT_BYTES);
  if (file->values == NULL) return out_of_memory(err);
  promo_status st = source_read(src, file->values, (size_t)data_len, err);
  if (st != PROMO_OK) return st;

  uint64_t actual = XXH3_64bits(file->values, (size_t)data_len);
  if (actual != expected)
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("corrupted: checksum %016" PRIx64 " of the tensor data does not "
                             "match %016" PRIx64 " recorded in the header; the file was "
                             "damaged after it was written, so copy it again or retrain"),
                           actual, expected);
  floats_from_le(file->values, n_floats);
  return PROMO_OK;
}

/* Read the prefix and header and parse the header into file->header. */
static promo_status read_header(source *src, promo_model_file *file, uint64_t *header_len,
                                promo_error *err) {
  promo_status st = read_prefix(src, header_len, err);
  if (st != PROMO_OK) return st;
  char *text = malloc(*header_len > 0 ? (size_t)*header_len : 1);
  if (text == NULL) return out_of_memory(err);
  st = source_read(src, text, (size_t)*header_len, err);
  if (st == PROMO_OK) st = parse_header(text, (size_t)*header_len, &file->header, err);
  free(text);
  return st;
}

/* Read and check a whole model file from src. Checks run from the outside in: sizes,
 * header syntax, metadata (so a foreign or newer file is named as such before its tensors
 * are judged), tensor entries and byte ranges, and the checksum last. */
static promo_status read_model(source *src, promo_model_file **out, promo_error *err) {
  promo_model_file *file = calloc(1, sizeof *file);
  if (file == NULL) return out_of_memory(err);
  uint64_t header_len = 0, checksum = 0;
  tensor_span *spans = NULL;
  promo_status st = read_header(src, file, &header_len, err);
  if (st == PROMO_OK) st = check_metadata(file->header, &file->metadata, &checksum, err);

  uint64_t data_start = PREFIX_BYTES + header_len;
  uint64_t data_len = src->size - data_start;
  if (st == PROMO_OK) st = read_tensors(file, data_len, data_start, &spans, err);
  if (st == PROMO_OK) st = read_values(file, src, data_len, checksum, err);
  for (size_t i = 0; st == PROMO_OK && i < file->n_tensors; i++)
    file->tensors[spans[i].index].data = file->values + spans[i].begin / FLOAT_BYTES;
  free(spans);
  if (st != PROMO_OK) {
    promo_model_file_free(file);
    return st;
  }
  *out = file;
  return PROMO_OK;
}

promo_status promo_model_file_read(const char *path, promo_model_file **out, promo_error *err) {
  promo_error_clear(err);
  *out = NULL;
  if (path == NULL)
    return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("no model file path given"));
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) return promo_error_errno(err, errno, path, _("opening the model file"));

  struct stat st_file;
  promo_status st = PROMO_OK;
  if (fstat(fileno(fp), &st_file) != 0)
    st = promo_error_errno(err, errno, path, _("opening the model file"));
  else if (S_ISDIR(st_file.st_mode))
    st = promo_error_set(err, PROMO_ERR_USAGE, "%s",
                         _("the model path is a folder; give the model file's name"));
  else if (!S_ISREG(st_file.st_mode))
    st = promo_error_set(err, PROMO_ERR_USAGE, "%s",
                         _("the model path is a device, pipe or socket; give a model file"));
  if (st == PROMO_OK) {
    source src = {fp, NULL, (uint64_t)st_file.st_size, 0};
    st = read_model(&src, out, err);
  }
  fclose(fp); /* read-only, so a failed close loses nothing */
  if (st != PROMO_OK) promo_error_at(err, path, 0, 0);
  return st;
}

promo_status promo_model_file_read_memory(const void *data, size_t size, const char *name,
                                          promo_model_file **out, promo_error *err) {
  promo_error_clear(err);
  *out = NULL;
  if (data == NULL && size > 0)
    return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("no model data given"));
  source src = {NULL, data, size, 0};
  promo_status st = read_model(&src, out, err);
  if (st != PROMO_OK && name != NULL) promo_error_at(err, name, 0, 0);
  return st;
}

void promo_model_file_free(promo_model_file *file) {
  if (file == NULL) return;
  json_decref(file->header);
  free(file->tensors);
  free(file->values);
  free(file);
}

const json_t *promo_model_file_metadata(const promo_model_file *file) {
  return file->metadata;
}

size_t promo_model_file_n_tensors(const promo_model_file *file) {
  return file->n_tensors;
}

const promo_tensor *promo_model_file_tensor(const promo_model_file *file, size_t i) {
  return i < file->n_tensors ? &file->tensors[i] : NULL;
}

const promo_tensor *promo_model_file_find(const promo_model_file *file, const char *name) {
  for (size_t i = 0; i < file->n_tensors; i++)
    if (strcmp(file->tensors[i].name, name) == 0) return &file->tensors[i];
  return NULL;
}
