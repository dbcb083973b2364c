/* Streaming CSV reader for the data stage (RFC 4180). It reads a file or a memory buffer
 * in blocks, validates UTF-8 or converts GB18030 to UTF-8, and detects the delimiter.
 * After checking the header it returns one record at a time in reused buffers. */
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/intl.h"
#include "data/encoding.h"

enum {
  DEFAULT_BLOCK_BYTES = 1 << 20,
  SAMPLE_BYTES = 64 * 1024, /* read first to choose the encoding and the delimiter */
  GB_CHUNK_BYTES = 64 * 1024, /* GB18030 input per iconv call; each call gets an anchor */
  /* Bytes kept allocated past the end of the text and field buffers: the text is followed
   * by a '\n' sentinel, and short fields are copied 16 bytes at a time. */
  SLACK_BYTES = 32,
  DETECT_RECORDS = 20 /* records sampled for delimiter detection */
};

/* A point where decoded text and the original input line up: decoded offset `text` (from
 * the start of the decoded stream) comes from input byte `file`. Between two anchors a
 * UTF-8 input maps byte for byte; GB18030 input needs a reverse conversion. */
typedef struct anchor {
  uint64_t text;
  uint64_t file;
} anchor;

typedef enum parse_result { PARSED, NEED_MORE, AT_END, FAILED } parse_result;

struct promo_csv {
  /* Source: a file descriptor, or a caller-owned buffer when fd < 0. */
  int fd;
  const unsigned char *mem;
  size_t mem_size, mem_pos;
  char *path; /* label for errors; may be empty */
  bool is_seekable;
  bool source_eof; /* the source returned its last byte */
  uint64_t file_size;
  uint64_t bytes_read;

  promo_csv_options opt; /* delimiter and encoding resolved after open */
  size_t bom_len;

  /* Undecoded input: the sample read at open, then GB18030 input between iconv calls. */
  unsigned char *raw; /* [raw_cap] */
  size_t raw_cap, raw_start, raw_end;

  /* Decoding state. */
  iconv_t gb_to_utf8; /* (iconv_t)-1 for UTF-8 input */
  unsigned char carry[4]; /* start of a UTF-8 character cut off by a block end */
  size_t n_carry;
  uint64_t file_next;   /* input offset of the next byte to decode */
  bool text_done;       /* no more text will come: end of input or a pending error */
  bool has_pending;     /* decoding stopped at an invalid byte (no replace_invalid) */
  uint64_t pending_offset;
  unsigned pending_byte;
  anchor *anchors; /* sorted by text offset; the first is at or before text_base + pos */
  size_t n_anchors, anchor_cap;
  unsigned char *scratch; /* replace_invalid: the rest of a block being rewritten */
  size_t scratch_cap;

  /* Decoded UTF-8 text: [0, text_len) is decoded, text[text_len] is a '\n' sentinel.
   * The unread part starts at pos; text_base is the decoded offset of text[0]. */
  char *text; /* [text_cap] */
  size_t text_cap, text_len, pos;
  uint64_t text_base;
  int64_t line;  /* line number at pos */
  uint64_t index; /* data records handed out */
  size_t partial_fields; /* fields seen in a record cut off by the end of the text */

  /* The last record parsed: fields as NUL-terminated copies in fbuf. */
  char *fbuf; /* [fbuf_cap] */
  size_t fbuf_cap;
  const char **fields; /* [field_cap] pointers into fbuf */
  uint32_t *lengths;
  uint8_t *was_quoted;
  size_t field_cap, n_fields;
  size_t raw_offset, raw_len; /* the record's text in text[] */
  int64_t record_line;

  unsigned char is_special[256]; /* 1 for the delimiter, '\n' and '\r' */

  /* Header. */
  size_t n_columns;
  char **names; /* [n_columns] NUL-terminated, one allocation each */
  int64_t header_line;

  /* An error after which reading cannot go on; later calls return it again. */
  promo_status failed;
  promo_error failure;
};

/* ------------------------------------------------------------------ errors */

/* Fill err with the reader's path and a location; returns status after formatting. */
static promo_status fail_at(promo_csv *r, promo_error *err, promo_status status, int64_t line,
                            int64_t column, int64_t byte_offset, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static promo_status fail_at(promo_csv *r, promo_error *err, promo_status status, int64_t line,
                            int64_t column, int64_t byte_offset, const char *fmt, ...) {
  if (err == NULL) return status;
  promo_error_clear(err);
  promo_error_at(err, r->path, line, column);
  err->byte_offset = byte_offset;
  err->status = status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  return status;
}

static promo_status fail_nomem(promo_csv *r, promo_error *err) {
  return fail_at(r, err, PROMO_ERR_NOMEM, 0, 0, -1, "%s", _("out of memory"));
}

static promo_status fail_errno(promo_csv *r, promo_error *err, int errnum, const char *what) {
  promo_error_clear(err);
  return promo_error_errno(err, errnum, r->path, what);
}

/* ------------------------------------------------------------------ buffers */

/* Grow *buf to at least `need` bytes, doubling to keep growth amortized. */
static bool reserve_bytes(void **buf, size_t *cap, size_t need) {
  if (need <= *cap) return true;
  size_t new_cap = *cap > SIZE_MAX / 2 ? need : *cap * 2;
  if (new_cap < need) new_cap = need;
  void *p = realloc(*buf, new_cap);
  if (p == NULL) return false;
  *buf = p;
  *cap = new_cap;
  return true;
}

/* Make room for `extra` more bytes of text after text_len, plus the slack. */
static bool text_reserve(promo_csv *r, size_t extra) {
  if (extra > SIZE_MAX - r->text_len - SLACK_BYTES) return false;
  return reserve_bytes((void **)&r->text, &r->text_cap, r->text_len + extra + SLACK_BYTES);
}

static bool fields_reserve(promo_csv *r, size_t need) {
  if (need <= r->field_cap) return true;
  size_t cap = r->field_cap < 64 ? 64 : r->field_cap;
  while (cap < need) cap *= 2;
  const char **f = realloc(r->fields, cap * sizeof *f);
  if (f != NULL) r->fields = f;
  uint32_t *l = realloc(r->lengths, cap * sizeof *l);
  if (l != NULL) r->lengths = l;
  uint8_t *q = realloc(r->was_quoted, cap * sizeof *q);
  if (q != NULL) r->was_quoted = q;
  if (f == NULL || l == NULL || q == NULL) return false;
  r->field_cap = cap;
  return true;
}

/* ------------------------------------------------------------------ source */

/* Read up to max bytes from the file or the memory buffer into dst. */
static promo_status source_read(promo_csv *r, unsigned char *dst, size_t max, size_t *got,
                                promo_error *err) {
  *got = 0;
  if (r->source_eof || max == 0) return PROMO_OK;
  if (r->fd < 0) {
    size_t n = r->mem_size - r->mem_pos;
    if (n > max) n = max;
    if (n > 0) memcpy(dst, r->mem + r->mem_pos, n);
    r->mem_pos += n;
    if (r->mem_pos == r->mem_size) r->source_eof = true;
    *got = n;
  } else {
    ssize_t n;
    do {
      n = read(r->fd, dst, max);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return fail_errno(r, err, errno, _("read"));
    if (n == 0) r->source_eof = true;
    *got = (size_t)n;
  }
  r->bytes_read += *got;
  return PROMO_OK;
}

/* ------------------------------------------------------------------ offsets */

static bool anchor_add(promo_csv *r, uint64_t text_offset, uint64_t file_offset) {
  if (r->n_anchors > 0 && r->anchors[r->n_anchors - 1].text == text_offset) {
    r->anchors[r->n_anchors - 1].file = file_offset;
    return true;
  }
  if (r->n_anchors == r->anchor_cap) {
    size_t cap = r->anchor_cap == 0 ? 16 : r->anchor_cap * 2;
    anchor *a = realloc(r->anchors, cap * sizeof *a);
    if (a == NULL) return false;
    r->anchors = a;
    r->anchor_cap = cap;
  }
  r->anchors[r->n_anchors++] = (anchor){text_offset, file_offset};
  return true;
}

/* Index of the last anchor at or before decoded offset t; anchors[0] always qualifies. */
static size_t anchor_before(const promo_csv *r, uint64_t t) {
  size_t i = r->n_anchors;
  while (i > 1 && r->anchors[i - 1].text > t) i--;
  return i - 1;
}

/* Input byte offset of text[pos], or -1 when it cannot be computed. */
static int64_t file_offset_at(const promo_csv *r, size_t pos) {
  if (r->n_anchors == 0) return -1;
  uint64_t t = r->text_base + pos;
  const anchor *a = &r->anchors[anchor_before(r, t)];
  if (a->text > t) return -1;
  if (r->opt.encoding != PROMO_ENCODING_GB18030) return (int64_t)(a->file + (t - a->text));
  if (a->text < r->text_base) return -1;
  int64_t n = encoding_gb18030_length(r->text + (a->text - r->text_base), (size_t)(t - a->text));
  return n < 0 ? -1 : (int64_t)a->file + n;
}

/* ------------------------------------------------------------------ decoding */

static bool append_replacement(promo_csv *r, size_t bad_len) {
  memcpy(r->text + r->text_len, "\xEF\xBF\xBD", 3); /* U+FFFD */
  r->text_len += 3;
  r->file_next += bad_len;
  return anchor_add(r, r->text_base + r->text_len, r->file_next);
}

/* replace_invalid: rewrite the n bytes at text_len, which start with an ill-formed
 * sequence of bad_len bytes, replacing each ill-formed sequence with U+FFFD. */
static promo_status utf8_replace_rest(promo_csv *r, size_t n, size_t bad_len, bool at_end,
                                      promo_error *err) {
  if (!reserve_bytes((void **)&r->scratch, &r->scratch_cap, n)) return fail_nomem(r, err);
  memcpy(r->scratch, r->text + r->text_len, n);
  if (n > SIZE_MAX / 3 || !text_reserve(r, 3 * n)) return fail_nomem(r, err);

  const unsigned char *s = r->scratch;
  size_t i = 0;
  while (i < n) {
    if (!append_replacement(r, bad_len)) return fail_nomem(r, err);
    i += bad_len;
    size_t valid;
    utf8_result res = encoding_utf8_check(s + i, n - i, &valid, &bad_len);
    memcpy(r->text + r->text_len, s + i, valid);
    r->text_len += valid;
    r->file_next += valid;
    i += valid;
    if (res == UTF8_TRUNCATED && !at_end) {
      r->n_carry = n - i;
      memcpy(r->carry, s + i, r->n_carry);
      break;
    }
    if (res == UTF8_TRUNCATED) bad_len = n - i;
  }
  return PROMO_OK;
}

/* Check the n bytes just placed at text_len and make the valid ones part of the text. */
static promo_status utf8_accept(promo_csv *r, size_t n, bool at_end, promo_error *err) {
  const unsigned char *s = (const unsigned char *)r->text + r->text_len;
  size_t valid, bad_len;
  utf8_result res = encoding_utf8_check(s, n, &valid, &bad_len);
  if (res == UTF8_TRUNCATED && !at_end) {
    r->n_carry = n - valid;
    memcpy(r->carry, s + valid, r->n_carry);
  }
  r->text_len += valid;
  r->file_next += valid;
  if (res == UTF8_VALID || (res == UTF8_TRUNCATED && !at_end)) return PROMO_OK;

  if (res == UTF8_TRUNCATED) bad_len = n - valid;
  if (!r->opt.replace_invalid) {
    r->has_pending = true;
    r->pending_offset = r->file_next;
    r->pending_byte = s[valid];
    r->text_done = true;
    return PROMO_OK;
  }
  return utf8_replace_rest(r, n - valid, bad_len, at_end, err);
}

/* Append up to one block of UTF-8 input to the text, validated. */
static promo_status decode_utf8_step(promo_csv *r, promo_error *err) {
  size_t block = r->opt.block_bytes;
  if (!text_reserve(r, r->n_carry + block)) return fail_nomem(r, err);
  unsigned char *dst = (unsigned char *)r->text + r->text_len;
  size_t n = r->n_carry;
  memcpy(dst, r->carry, n);
  r->n_carry = 0;

  /* The sample read at open comes first, then the source. */
  size_t got;
  if (r->raw_start < r->raw_end) {
    got = r->raw_end - r->raw_start;
    if (got > block) got = block;
    memcpy(dst + n, r->raw + r->raw_start, got);
    r->raw_start += got;
  } else {
    promo_status st = source_read(r, dst + n, block, &got, err);
    if (st != PROMO_OK) return st;
  }
  n += got;
  bool at_end = r->source_eof && r->raw_start == r->raw_end;
  if (n == 0) {
    r->text_done = at_end;
    return PROMO_OK;
  }
  return utf8_accept(r, n, at_end, err);
}

/* Move unconverted GB18030 bytes to the front of raw and read more behind them. */
static promo_status gb_top_up(promo_csv *r, promo_error *err) {
  size_t left = r->raw_end - r->raw_start;
  if (left >= GB_CHUNK_BYTES || r->source_eof) return PROMO_OK;
  memmove(r->raw, r->raw + r->raw_start, left);
  r->raw_start = 0;
  r->raw_end = left;
  size_t room = r->raw_cap - left;
  if (room > r->opt.block_bytes) room = r->opt.block_bytes;
  size_t got;
  promo_status st = source_read(r, r->raw + left, room, &got, err);
  r->raw_end += got;
  return st;
}

/* Convert up to one chunk of GB18030 input to UTF-8 text. */
static promo_status decode_gb_step(promo_csv *r, promo_error *err) {
  promo_status st = gb_top_up(r, err);
  if (st != PROMO_OK) return st;
  size_t avail = r->raw_end - r->raw_start;
  if (avail == 0) {
    r->text_done = r->source_eof;
    return PROMO_OK;
  }
  size_t in_n = avail < GB_CHUNK_BYTES ? avail : GB_CHUNK_BYTES;
  /* GB18030 to UTF-8 grows text at most 1.5 times (2 bytes become 3). */
  if (!text_reserve(r, 2 * in_n + 8)) return fail_nomem(r, err);
  if (!anchor_add(r, r->text_base + r->text_len, r->file_next)) return fail_nomem(r, err);

  char *in = (char *)r->raw + r->raw_start;
  size_t in_left = in_n;
  char *out = r->text + r->text_len;
  size_t out_left = r->text_cap - r->text_len - SLACK_BYTES;
  size_t rc = iconv(r->gb_to_utf8, &in, &in_left, &out, &out_left);
  int errnum = errno;
  r->raw_start += in_n - in_left;
  r->file_next += in_n - in_left;
  r->text_len = (size_t)(out - r->text);
  if (rc != (size_t)-1 || errnum == E2BIG) return PROMO_OK;

  /* EINVAL: a character cut off at the end of the chunk, which is an error only when
   * no input follows. EILSEQ: an invalid sequence. */
  size_t bad_len = 1;
  if (errnum == EINVAL) {
    if (in_n < avail || !r->source_eof) return PROMO_OK;
    bad_len = in_left;
  }
  if (!r->opt.replace_invalid) {
    r->has_pending = true;
    r->pending_offset = r->file_next;
    r->pending_byte = r->raw[r->raw_start];
    r->text_done = true;
    return PROMO_OK;
  }
  r->raw_start += bad_len;
  if (!append_replacement(r, bad_len)) return fail_nomem(r, err);
  return PROMO_OK;
}

/* Append at least `want` bytes of decoded text, fewer only at the end of the input. */
static promo_status text_fill(promo_csv *r, size_t want, promo_error *err) {
  if (!text_reserve(r, 0)) return fail_nomem(r, err);
  size_t start = r->text_len;
  while (!r->text_done && r->text_len - start < want) {
    promo_status st = r->opt.encoding == PROMO_ENCODING_GB18030 ? decode_gb_step(r, err)
                                                                : decode_utf8_step(r, err);
    if (st != PROMO_OK) return st;
  }
  r->text[r->text_len] = '\n';
  return PROMO_OK;
}

/* Drop the text before the unread part. GB18030 text is kept from the anchor before pos,
 * so offsets in it can still be converted back to file offsets. */
static void text_compact(promo_csv *r) {
  uint64_t t = r->text_base + r->pos;
  size_t first = anchor_before(r, t);
  size_t keep = r->pos;
  if (r->opt.encoding == PROMO_ENCODING_GB18030) {
    keep = (size_t)(r->anchors[first].text - r->text_base);
  } else {
    r->anchors[first].file += t - r->anchors[first].text;
    r->anchors[first].text = t;
  }
  memmove(r->anchors, r->anchors + first, (r->n_anchors - first) * sizeof *r->anchors);
  r->n_anchors -= first;

  memmove(r->text, r->text + keep, r->text_len - keep);
  r->text_len -= keep;
  r->pos -= keep;
  r->text_base += keep;
}

/* Make more text available after a record ran past the end of what was decoded. Reads at
 * least as many bytes again as the unfinished record contains, so the rescans of a long
 * record add up to a small multiple of its length. */
static promo_status text_refill(promo_csv *r, promo_error *err) {
  size_t have = r->text_len - r->pos;
  if (have >= UINT32_MAX)
    return fail_at(r, err, PROMO_ERR_DATA, r->line, 0, file_offset_at(r, r->pos), "%s",
                   _("record longer than 4 GiB; check for a quote that is never closed"));
  text_compact(r);
  return text_fill(r, have > r->opt.block_bytes ? have : r->opt.block_bytes, err);
}

/* ------------------------------------------------------------------ parsing */

static int64_t count_newlines(const unsigned char *p, size_t n) {
  int64_t count = 0;
  const unsigned char *end = p + n;
  while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
    count++;
    p++;
  }
  return count;
}

/* Skip blank lines before a record. They are not records but count as lines. */
static parse_result skip_blank_lines(promo_csv *r, bool at_end) {
  const char *text = r->text;
  size_t p = r->pos;
  for (;;) {
    if (p == r->text_len) {
      r->pos = p;
      return at_end ? AT_END : NEED_MORE;
    }
    if (text[p] == '\n') {
      p++;
    } else if (text[p] == '\r') {
      if (p + 1 == r->text_len && !at_end) {
        r->pos = p;
        return NEED_MORE; /* CR LF split by the end of the text */
      }
      p += p + 1 < r->text_len && text[p + 1] == '\n' ? 2 : 1;
    } else {
      r->pos = p;
      return PARSED;
    }
    r->line++;
  }
}

/* Parse the rest of a quoted field whose opening quote is at *pp, copying its text to
 * *outp. Returns PARSED with *pp after the closing quote, NEED_MORE, or FAILED for an
 * unterminated quote. */
static parse_result parse_quoted(promo_csv *r, const unsigned char **pp, const unsigned char *end,
                                 bool at_end, char **outp, int64_t *newlines, size_t field,
                                 promo_error *err) {
  const unsigned char *open = *pp;
  const unsigned char *p = open + 1;
  char *out = *outp;
  int64_t lines_before = *newlines;
  for (;;) {
    const unsigned char *q = memchr(p, '"', (size_t)(end - p));
    if (q == NULL) {
      if (!at_end) return NEED_MORE;
      int64_t line = r->line + lines_before;
      fail_at(r, err, PROMO_ERR_DATA, line, (int64_t)field,
              file_offset_at(r, (size_t)(open - (const unsigned char *)r->text)),
              _("the quoted field that starts on line %" PRId64
                " is never closed; add the closing quote (\")"),
              line);
      return FAILED;
    }
    memcpy(out, p, (size_t)(q - p));
    out += q - p;
    *newlines += count_newlines(p, (size_t)(q - p));
    if (q + 1 == end && !at_end) return NEED_MORE; /* a doubled quote may follow */
    if (q + 1 < end && q[1] == '"') {
      *out++ = '"';
      p = q + 2;
      continue;
    }
    *pp = q + 1;
    *outp = out;
    return PARSED;
  }
}

static parse_result fail_after_quote(promo_csv *r, const unsigned char *p, const unsigned char *end,
                                     int64_t newlines, size_t field, promo_error *err) {
  size_t at = (size_t)(p - (const unsigned char *)r->text);
  fail_at(r, err, PROMO_ERR_DATA, r->line + newlines, (int64_t)field, file_offset_at(r, at),
          _("unexpected text after the closing quote of field %zu; a quote inside a quoted "
            "field must be doubled (\"\")"),
          field);
  size_t n = 0;
  while (p + n < end && n < 200 && p[n] != '\n' && p[n] != '\r') n++;
  promo_error_value(err, (const char *)p, (int64_t)n);
  return FAILED;
}

/* Parse one record starting at pos into the field buffers. On PARSED, pos and line move
 * past it; on NEED_MORE nothing moves except past skipped blank lines. */
static parse_result parse_record(promo_csv *r, promo_error *err) {
  bool at_end = r->text_done && !r->has_pending;
  parse_result res = skip_blank_lines(r, at_end);
  if (res != PARSED) {
    r->partial_fields = 0;
    return res;
  }

  const unsigned char *text = (const unsigned char *)r->text;
  const unsigned char *start = text + r->pos;
  const unsigned char *end = text + r->text_len;
  /* A record's unquoted text plus one NUL per field never exceeds its length plus one. */
  if (!reserve_bytes((void **)&r->fbuf, &r->fbuf_cap, (size_t)(end - start) + 1 + SLACK_BYTES)) {
    fail_nomem(r, err);
    return FAILED;
  }
  const unsigned char *is_special = r->is_special;
  const unsigned char delim = (unsigned char)r->opt.delimiter;
  const unsigned char *p = start;
  char *out = r->fbuf;
  int64_t newlines = 0;
  size_t n = 0;
  /* Local copies: stores through `out` may alias the reader, which would make the
   * compiler reload these for every field. */
  const char **fields = r->fields;
  uint32_t *lengths = r->lengths;
  uint8_t *was_quoted = r->was_quoted;
  size_t field_cap = r->field_cap;
  for (;;) {
    if (n == field_cap) {
      if (!fields_reserve(r, n + 1)) {
        fail_nomem(r, err);
        return FAILED;
      }
      fields = r->fields;
      lengths = r->lengths;
      was_quoted = r->was_quoted;
      field_cap = r->field_cap;
    }
    fields[n] = out;
    if (*p == '"') {
      char *field_start = out;
      res = parse_quoted(r, &p, end, at_end, &out, &newlines, n + 1, err);
      if (res != PARSED) {
        r->partial_fields = n;
        return res;
      }
      if (p != end && *p != delim && *p != '\n' && *p != '\r')
        return fail_after_quote(r, p, end, newlines, n + 1, err);
      lengths[n] = (uint32_t)(out - field_start);
      was_quoted[n] = 1;
    } else {
      /* The '\n' sentinel at end stops this scan. */
      const unsigned char *field = p;
      while (!is_special[*p]) p++;
      size_t len = (size_t)(p - field);
      if (len <= 16)
        memcpy(out, field, 16); /* fixed size: inlined; the slack covers the excess */
      else
        memcpy(out, field, len);
      out += len;
      lengths[n] = (uint32_t)len;
      was_quoted[n] = 0;
    }
    *out++ = '\0';
    n++;

    if (p == end) {
      if (!at_end) break;
      r->raw_len = (size_t)(p - start);
    } else if (*p == delim) {
      p++;
      continue;
    } else {
      r->raw_len = (size_t)(p - start);
      if (*p == '\r' && p + 1 == end && !at_end) break;
      p += *p == '\r' && p + 1 < end && p[1] == '\n' ? 2 : 1;
    }

    r->n_fields = n;
    r->raw_offset = r->pos;
    r->record_line = r->line;
    r->line += newlines + 1;
    r->pos = (size_t)(p - text);
    return PARSED;
  }
  r->partial_fields = n - 1; /* the last field counted is the one cut off */
  return NEED_MORE;
}

/* Report the invalid byte where decoding stopped, now that every record before it has
 * been handed out. */
static promo_status fail_pending(promo_csv *r, promo_error *err) {
  int64_t line = r->line + count_newlines((const unsigned char *)r->text + r->pos,
                                          r->text_len - r->pos);
  int64_t column = (int64_t)r->partial_fields + 1;
  if (r->opt.encoding == PROMO_ENCODING_GB18030)
    return fail_at(r, err, PROMO_ERR_ENCODING, line, column, (int64_t)r->pending_offset,
                   _("invalid GB18030 byte 0x%02X at byte offset %" PRIu64
                     "; check the file's encoding (--encoding utf-8), or use "
                     "--replace-invalid to replace invalid bytes with U+FFFD"),
                   r->pending_byte, r->pending_offset);
  return fail_at(r, err, PROMO_ERR_ENCODING, line, column, (int64_t)r->pending_offset,
                 _("invalid UTF-8 byte 0x%02X at byte offset %" PRIu64
                   "; if the file is GB18030 or GBK, use --encoding gb18030, or use "
                   "--replace-invalid to replace invalid bytes with U+FFFD"),
                 r->pending_byte, r->pending_offset);
}

/* Parse the next record, decoding more input as needed. Returns PROMO_OK, PROMO_END or
 * an error, which is kept so later calls return it again. */
static promo_status read_record(promo_csv *r, promo_error *err) {
  if (r->failed != PROMO_OK) {
    if (err != NULL) *err = r->failure;
    return r->failed;
  }
  /* Only the status is reset here: clearing the whole object for every record costs
   * more than parsing a short one, and every failure path fills it anew. */
  promo_error *e = &r->failure;
  e->status = PROMO_OK;
  for (;;) {
    parse_result res = parse_record(r, e);
    if (res == PARSED) return PROMO_OK;
    if (res == AT_END) return PROMO_END;
    if (res == FAILED) break;
    promo_status st = r->text_done ? fail_pending(r, e) : text_refill(r, e);
    if (st != PROMO_OK) break;
  }
  r->failed = e->status != PROMO_OK ? e->status : PROMO_ERR_INTERNAL;
  if (err != NULL) *err = *e;
  return r->failed;
}

/* ------------------------------------------------------------------ delimiter */

/* Choose the delimiter from the first records of s[0..n): the candidate whose count
 * outside quotes in the header is non-zero and repeated by the most records, then the
 * larger count, then the order , TAB ; |. A record cut off at n is not sampled unless
 * the sample ends the input. Text with none of them is one column, read with ','. */
static char detect_delimiter(const unsigned char *s, size_t n, bool is_whole_input) {
  static const char candidates[4] = {',', '\t', ';', '|'};
  uint32_t counts[DETECT_RECORDS][4];
  uint32_t current[4] = {0, 0, 0, 0};
  size_t n_records = 0, record_len = 0;
  bool in_quotes = false;
  for (size_t i = 0; i < n && n_records < DETECT_RECORDS; i++) {
    unsigned char c = s[i];
    if (c == '"') in_quotes = !in_quotes;
    if (in_quotes) continue;
    if (c == '\n' || c == '\r') {
      if (record_len > 0) memcpy(counts[n_records++], current, sizeof current);
      memset(current, 0, sizeof current);
      record_len = 0;
      continue;
    }
    record_len++;
    for (int k = 0; k < 4; k++) current[k] += c == (unsigned char)candidates[k];
  }
  if (record_len > 0 && is_whole_input && n_records < DETECT_RECORDS)
    memcpy(counts[n_records++], current, sizeof current);
  if (n_records == 0) return ',';

  int best = -1;
  size_t best_agree = 0;
  for (int k = 0; k < 4; k++) {
    uint32_t header_count = counts[0][k];
    if (header_count == 0) continue;
    size_t agree = 0;
    for (size_t j = 0; j < n_records; j++) agree += counts[j][k] == header_count;
    if (best < 0 || agree > best_agree ||
        (agree == best_agree && header_count > counts[0][best])) {
      best = k;
      best_agree = agree;
    }
  }
  return best < 0 ? ',' : candidates[best];
}

/* ------------------------------------------------------------------ header */

/* True for text a header cell would rarely be: a plain number (123, -4.5) or a date
 * (2024-11-11, 2024/1/2, 2024.11.11), after trimming spaces. */
static bool looks_like_value(const char *s, size_t n) {
  while (n > 0 && (*s == ' ' || *s == '\t')) s++, n--;
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  if (n == 0) return false;

  size_t i = 0, n_digits = 0;
  while (i < n && s[i] >= '0' && s[i] <= '9') i++;
  if (i == 4 && i < n && (s[4] == '-' || s[4] == '/' || s[4] == '.')) {
    char sep = s[4];
    size_t j = 5, month = 0, day = 0;
    while (j < n && s[j] >= '0' && s[j] <= '9') j++, month++;
    if (month >= 1 && month <= 2 && j < n && s[j] == sep) {
      j++;
      while (j < n && s[j] >= '0' && s[j] <= '9') j++, day++;
      if (day >= 1 && day <= 2 && j == n) return true;
    }
  }

  i = 0;
  if (s[i] == '+' || s[i] == '-') i++;
  while (i < n && s[i] >= '0' && s[i] <= '9') i++, n_digits++;
  if (i < n && s[i] == '.') {
    i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, n_digits++;
  }
  return n_digits > 0 && i == n;
}

typedef struct named_column {
  const char *name;
  size_t index;
} named_column;

static int compare_named(const void *a, const void *b) {
  const named_column *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c != 0) return c;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* Reject a header that repeats a name, naming the first repeated pair in file order. */
static promo_status check_duplicate_names(promo_csv *r, promo_error *err) {
  size_t n = r->n_columns;
  named_column *sorted = malloc(n * sizeof *sorted);
  if (sorted == NULL) return fail_nomem(r, err);
  for (size_t i = 0; i < n; i++) sorted[i] = (named_column){r->names[i], i};
  qsort(sorted, n, sizeof *sorted, compare_named);

  size_t first = 0, second = SIZE_MAX;
  for (size_t i = 1; i < n; i++) {
    bool same = strcmp(sorted[i].name, sorted[i - 1].name) == 0;
    /* Within a run of equal names, the pair with the earliest repeat is (run start, next). */
    if (same && (i == 1 || strcmp(sorted[i - 1].name, sorted[i - 2].name) != 0) &&
        sorted[i].index < second) {
      first = sorted[i - 1].index;
      second = sorted[i].index;
    }
  }
  free(sorted);
  if (second == SIZE_MAX) return PROMO_OK;
  if (err == NULL) return PROMO_ERR_DATA;
  fail_at(r, err, PROMO_ERR_DATA, r->header_line, (int64_t)second + 1, -1,
          _("duplicate column name \"%s\" in columns %zu and %zu; rename one of them"),
          r->names[second], first + 1, second + 1);
  snprintf(err->column_name, sizeof err->column_name, "%s", r->names[second]);
  return PROMO_ERR_DATA;
}

/* Take the record just parsed as the header: check it and copy the column names. */
static promo_status header_take(promo_csv *r, promo_error *err) {
  size_t n = r->n_fields;
  bool all_values = true;
  for (size_t i = 0; i < n && all_values; i++)
    all_values = looks_like_value(r->fields[i], r->lengths[i]);
  if (all_values)
    return fail_at(r, err, PROMO_ERR_DATA, r->header_line, 0, file_offset_at(r, r->raw_offset),
                   "%s", _("the first line looks like data, not a header; add a header row"));

  r->names = calloc(n, sizeof *r->names);
  if (r->names == NULL) return fail_nomem(r, err);
  r->n_columns = n;
  for (size_t i = 0; i < n; i++) {
    size_t len = r->lengths[i];
    r->names[i] = malloc(len > 0 ? len + 1 : 32);
    if (r->names[i] == NULL) return fail_nomem(r, err);
    if (len > 0)
      memcpy(r->names[i], r->fields[i], len + 1);
    else
      snprintf(r->names[i], 32, "column_%zu", i + 1);
  }
  return check_duplicate_names(r, err);
}

/* ------------------------------------------------------------------ open */

void promo_csv_options_init(promo_csv_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->delimiter = 0;
  opt->encoding = PROMO_ENCODING_AUTO;
  opt->replace_invalid = false;
  opt->allow_ragged = false;
  opt->block_bytes = DEFAULT_BLOCK_BYTES;
}

static promo_status check_options(const promo_csv_options *opt, const char *path,
                                  promo_error *err) {
  unsigned char d = (unsigned char)opt->delimiter;
  bool delimiter_ok = d == 0 || d == '\t' || (d >= 0x20 && d < 0x7F && d != '"');
  bool encoding_ok = opt->encoding == PROMO_ENCODING_AUTO ||
                     opt->encoding == PROMO_ENCODING_UTF8 ||
                     opt->encoding == PROMO_ENCODING_GB18030;
  if (delimiter_ok && encoding_ok) return PROMO_OK;
  promo_error_clear(err);
  promo_error_at(err, path, 0, 0);
  if (!delimiter_ok)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("invalid CSV delimiter 0x%02X; use ',', tab, ';' or '|'"), d);
  return promo_error_set(err, PROMO_ERR_USAGE, _("invalid encoding value %d"),
                         (int)opt->encoding);
}

static promo_status reader_create(const char *path, const promo_csv_options *opt,
                                  promo_csv **out, promo_error *err) {
  promo_csv_options defaults;
  if (opt == NULL) {
    promo_csv_options_init(&defaults);
    opt = &defaults;
  }
  promo_status st = check_options(opt, path, err);
  if (st != PROMO_OK) return st;

  promo_csv *r = calloc(1, sizeof *r);
  if (r == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  r->fd = -1;
  r->gb_to_utf8 = (iconv_t)-1;
  r->opt = *opt;
  if (r->opt.block_bytes == 0) r->opt.block_bytes = DEFAULT_BLOCK_BYTES;
  r->path = strdup(path != NULL ? path : "");
  size_t block = r->opt.block_bytes;
  r->raw_cap = (block > SAMPLE_BYTES ? block : SAMPLE_BYTES) + GB_CHUNK_BYTES;
  r->raw = malloc(r->raw_cap);
  if (r->path == NULL || r->raw == NULL) {
    promo_csv_close(r);
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  }
  *out = r;
  return PROMO_OK;
}

/* True when s[0..n) contains nothing but spaces, tabs and line breaks. */
static bool is_blank(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return false;
  return true;
}

/* Reset decoding to the first byte after the byte-order mark, whose input has been
 * placed in raw[raw_start, raw_end) or is next from the source. */
static promo_status decode_start(promo_csv *r, promo_error *err) {
  r->text_len = r->pos = 0;
  r->text_base = 0;
  r->n_carry = 0;
  r->text_done = r->has_pending = false;
  r->file_next = r->bom_len;
  r->n_anchors = 0;
  r->line = 1;
  r->index = 0;
  r->failed = PROMO_OK;
  if (r->gb_to_utf8 != (iconv_t)-1) iconv(r->gb_to_utf8, NULL, NULL, NULL, NULL);
  if (!anchor_add(r, 0, r->bom_len)) return fail_nomem(r, err);
  return text_fill(r, SAMPLE_BYTES, err);
}

/* Read the sample, choose encoding and delimiter, and read the header. */
static promo_status reader_start(promo_csv *r, promo_error *err) {
  size_t got = 0;
  while (r->raw_end < SAMPLE_BYTES && !r->source_eof) {
    promo_status st = source_read(r, r->raw + r->raw_end, SAMPLE_BYTES - r->raw_end, &got, err);
    if (st != PROMO_OK) return st;
    r->raw_end += got;
  }

  promo_error_clear(err);
  encoding_choice choice;
  promo_status st = encoding_choose(r->raw, r->raw_end, r->source_eof, r->opt.encoding,
                                    r->opt.replace_invalid, &choice, err);
  if (st != PROMO_OK) {
    promo_error_at(err, r->path, err->line, 0);
    return st;
  }
  r->opt.encoding = choice.encoding;
  r->bom_len = choice.bom_len;
  if (r->source_eof && is_blank(r->raw + r->bom_len, r->raw_end - r->bom_len))
    return fail_at(r, err, PROMO_ERR_DATA, 0, 0, -1, "%s",
                   _("empty file: no header and no data; expected a header row"));
  if (r->opt.encoding == PROMO_ENCODING_GB18030) {
    r->gb_to_utf8 = iconv_open("UTF-8", "GB18030");
    if (r->gb_to_utf8 == (iconv_t)-1)
      return fail_at(r, err, PROMO_ERR_UNSUPPORTED, 0, 0, -1, "%s",
                     _("this system's iconv cannot convert GB18030"));
  }

  r->raw_start = r->bom_len;
  st = decode_start(r, err);
  if (st != PROMO_OK) return st;
  if (r->opt.delimiter == 0) {
    size_t n = r->text_len < SAMPLE_BYTES ? r->text_len : SAMPLE_BYTES;
    r->opt.delimiter = detect_delimiter((const unsigned char *)r->text, n,
                                        r->text_done && n == r->text_len);
  }
  r->is_special[(unsigned char)r->opt.delimiter] = 1;
  r->is_special['\n'] = 1;
  r->is_special['\r'] = 1;

  st = read_record(r, err);
  if (st == PROMO_END)
    return fail_at(r, err, PROMO_ERR_DATA, 0, 0, -1, "%s",
                   _("empty file: no header and no data; expected a header row"));
  if (st != PROMO_OK) return st;
  r->header_line = r->record_line;
  return header_take(r, err);
}

promo_status promo_csv_open(const char *path, const promo_csv_options *opt, promo_csv **out,
                            promo_error *err) {
  promo_error unused;
  if (err == NULL) err = &unused;
  *out = NULL;
  if (path == NULL) {
    promo_error_clear(err);
    return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("no input file given"));
  }
  promo_csv *r;
  promo_status st = reader_create(path, opt, &r, err);
  if (st != PROMO_OK) return st;

  r->fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat info;
  if (r->fd < 0 || fstat(r->fd, &info) != 0) {
    st = fail_errno(r, err, errno, _("open"));
  } else if (S_ISDIR(info.st_mode)) {
    st = fail_errno(r, err, EISDIR, _("open"));
  } else {
    r->is_seekable = S_ISREG(info.st_mode);
    r->file_size = r->is_seekable ? (uint64_t)info.st_size : 0;
    if (r->is_seekable) posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    st = reader_start(r, err);
  }
  if (st != PROMO_OK) {
    promo_csv_close(r);
    return st;
  }
  *out = r;
  return PROMO_OK;
}

promo_status promo_csv_open_memory(const char *data, size_t size, const char *name,
                                   const promo_csv_options *opt, promo_csv **out,
                                   promo_error *err) {
  promo_error unused;
  if (err == NULL) err = &unused;
  *out = NULL;
  if (data == NULL && size > 0) {
    promo_error_clear(err);
    return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("no data buffer given"));
  }
  promo_csv *r;
  promo_status st = reader_create(name, opt, &r, err);
  if (st != PROMO_OK) return st;
  r->mem = (const unsigned char *)data;
  r->mem_size = size;
  r->source_eof = size == 0;
  r->is_seekable = true;
  r->file_size = size;
  st = reader_start(r, err);
  if (st != PROMO_OK) {
    promo_csv_close(r);
    return st;
  }
  *out = r;
  return PROMO_OK;
}

/* ------------------------------------------------------------------ reading */

/* Input offset where field `column` (1-based) of the current record starts, found by
 * rescanning the record's text; used only for error locations. */
static int64_t field_offset(const promo_csv *r, size_t column) {
  const char *s = r->text + r->raw_offset;
  size_t i = 0, field = 1;
  bool in_quotes = false;
  for (; i < r->raw_len && field < column; i++) {
    if (s[i] == '"') in_quotes = !in_quotes;
    else if (!in_quotes && s[i] == r->opt.delimiter) field++;
  }
  return file_offset_at(r, r->raw_offset + i);
}

promo_status promo_csv_next(promo_csv *reader, promo_csv_record *record, promo_error *err) {
  promo_status st = read_record(reader, err);
  if (st != PROMO_OK) return st;

  promo_csv *r = reader;
  bool is_ragged = r->n_fields != r->n_columns;
  uint64_t index = r->index++;
  if (is_ragged && !r->opt.allow_ragged) {
    bool too_many = r->n_fields > r->n_columns;
    size_t column = too_many ? r->n_columns + 1 : 0;
    int64_t offset = too_many ? field_offset(r, column) : file_offset_at(r, r->raw_offset);
    fail_at(r, err, PROMO_ERR_DATA, r->record_line, (int64_t)column, offset,
            _("expected %zu fields, found %zu; check for a missing or extra delimiter, or a "
              "delimiter inside a value that is not quoted"),
            r->n_columns, r->n_fields);
    promo_error_value(err, r->text + r->raw_offset, (int64_t)r->raw_len);
    return PROMO_ERR_DATA;
  }

  record->n_fields = r->n_fields;
  record->fields = r->fields;
  record->lengths = r->lengths;
  record->was_quoted = r->was_quoted;
  record->raw = r->text + r->raw_offset;
  record->raw_len = r->raw_len;
  record->line = r->record_line;
  record->index = index;
  record->is_ragged = is_ragged;
  return PROMO_OK;
}

promo_status promo_csv_rewind(promo_csv *reader, promo_error *err) {
  promo_csv *r = reader;
  promo_error_clear(err);
  if (r->fd >= 0) {
    if (!r->is_seekable)
      return fail_at(r, err, PROMO_ERR_UNSUPPORTED, 0, 0, -1, "%s",
                     _("cannot read the input a second time because it is not a regular "
                       "file; save it to a file first"));
    if (lseek(r->fd, (off_t)r->bom_len, SEEK_SET) < 0) return fail_errno(r, err, errno, _("seek"));
  } else {
    r->mem_pos = r->bom_len;
  }
  r->source_eof = r->fd < 0 && r->mem_pos == r->mem_size;
  r->bytes_read = r->bom_len;
  r->raw_start = r->raw_end = 0;

  promo_status st = decode_start(r, err);
  if (st == PROMO_OK) st = read_record(r, err); /* the header, checked at open */
  if (st == PROMO_END) st = fail_at(r, err, PROMO_ERR_IO, 0, 0, -1, "%s",
                                    _("the file changed while it was being read"));
  return st;
}

/* ------------------------------------------------------------------ accessors */

size_t promo_csv_n_columns(const promo_csv *reader) { return reader->n_columns; }

const char *promo_csv_column_name(const promo_csv *reader, size_t i) {
  return i < reader->n_columns ? reader->names[i] : NULL;
}

char promo_csv_delimiter(const promo_csv *reader) { return reader->opt.delimiter; }

promo_encoding promo_csv_encoding(const promo_csv *reader) { return reader->opt.encoding; }

bool promo_csv_has_bom(const promo_csv *reader) { return reader->bom_len > 0; }

const char *promo_csv_path(const promo_csv *reader) { return reader->path; }

uint64_t promo_csv_bytes_read(const promo_csv *reader) { return reader->bytes_read; }

uint64_t promo_csv_size(const promo_csv *reader) { return reader->file_size; }

void promo_csv_close(promo_csv *reader) {
  if (reader == NULL) return;
  if (reader->fd >= 0) close(reader->fd);
  if (reader->gb_to_utf8 != (iconv_t)-1) iconv_close(reader->gb_to_utf8);
  for (size_t i = 0; i < reader->n_columns; i++) free(reader->names[i]);
  free(reader->names);
  free(reader->path);
  free(reader->raw);
  free(reader->anchors);
  free(reader->scratch);
  free(reader->text);
  free(reader->fbuf);
  free(reader->fields);
  free(reader->lengths);
  free(reader->was_quoted);
  free(reader);
}
