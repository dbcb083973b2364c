/* Text encodings for the data stage: encoding names, UTF-8 validation with an ASCII fast
 * path, and the choice between UTF-8 and GB18030 from a file's first bytes. GB18030 byte
 * counts (through iconv) map offsets in decoded text back to the file. */
#include <errno.h>
#include <iconv.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "core/intl.h"
#include "data/encoding.h"

/* ------------------------------------------------------------------ names */

bool promo_encoding_parse(const char *name, promo_encoding *out) {
  static const struct {
    const char *name;
    promo_encoding encoding;
  } names[] = {
      {"auto", PROMO_ENCODING_AUTO},       {"utf-8", PROMO_ENCODING_UTF8},
      {"utf8", PROMO_ENCODING_UTF8},       {"gb18030", PROMO_ENCODING_GB18030},
      {"gbk", PROMO_ENCODING_GB18030},     {"gb2312", PROMO_ENCODING_GB18030},
      {"cp936", PROMO_ENCODING_GB18030},
  };
  if (name == NULL) return false;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (strcasecmp(name, names[i].name) == 0) {
      if (out != NULL) *out = names[i].encoding;
      return true;
    }
  }
  return false;
}

const char *promo_encoding_name(promo_encoding encoding) {
  switch (encoding) {
    case PROMO_ENCODING_AUTO: return "auto";
    case PROMO_ENCODING_UTF8: return "utf-8";
    case PROMO_ENCODING_GB18030: return "gb18030";
  }
  return "unknown";
}

/* ------------------------------------------------------------------ UTF-8 */

#define HIGH_BITS UINT64_C(0x8080808080808080)

/* Bytes that must follow lead byte c, and the allowed range of the first of them
 * (RFC 3629, section 4). Returns -1 for a byte that cannot start a character. */
static int utf8_lead(unsigned char c, unsigned char *lo, unsigned char *hi) {
  *lo = 0x80;
  *hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) return 1;
  if (c == 0xE0) {
    *lo = 0xA0;
    return 2;
  }
  if (c == 0xED) {
    *hi = 0x9F; /* U+D800..U+DFFF are surrogates */
    return 2;
  }
  if (c >= 0xE1 && c <= 0xEF) return 2;
  if (c == 0xF0) {
    *lo = 0x90;
    return 3;
  }
  if (c == 0xF4) {
    *hi = 0x8F; /* nothing past U+10FFFF */
    return 3;
  }
  if (c >= 0xF1 && c <= 0xF3) return 3;
  return -1;
}

utf8_result encoding_utf8_check(const unsigned char *s, size_t n, size_t *valid_len,
                                size_t *bad_len) {
  size_t i = 0;
  *bad_len = 0;
  while (i < n) {
    /* ASCII fast path, 16 bytes per step. */
    while (i + 16 <= n) {
      uint64_t a, b;
      memcpy(&a, s + i, 8);
      memcpy(&b, s + i + 8, 8);
      if (((a | b) & HIGH_BITS) != 0) break;
      i += 16;
    }
    if (i >= n) break;
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }

    /* Most Chinese characters are 3 bytes with a lead byte E1..EC (U+1000..U+CFFF), so
     * runs of them skip the general checks. */
    while (i + 3 <= n && s[i] >= 0xE1 && s[i] <= 0xEC && (s[i + 1] & 0xC0) == 0x80 &&
           (s[i + 2] & 0xC0) == 0x80)
      i += 3;
    if (i >= n) break;
    c = s[i];
    if (c < 0x80) continue;

    unsigned char lo, hi;
    int need = utf8_lead(c, &lo, &hi);
    if (need < 0) {
      *valid_len = i;
      *bad_len = 1;
      return UTF8_INVALID;
    }
    for (int k = 1; k <= need; k++) {
      if (i + (size_t)k >= n) {
        *valid_len = i;
        return UTF8_TRUNCATED;
      }
      unsigned char d = s[i + (size_t)k];
      bool ok = k == 1 ? d >= lo && d <= hi : (d & 0xC0) == 0x80;
      if (!ok) {
        *valid_len = i;
        *bad_len = (size_t)k;
        return UTF8_INVALID;
      }
    }
    i += (size_t)need + 1;
  }
  *valid_len = n;
  return UTF8_VALID;
}

/* ------------------------------------------------------------------ GB18030 */

/* True when s[0..n) converts as GB18030. A character cut off at n is accepted unless
 * the sample is the whole file. */
static bool converts_as_gb18030(const unsigned char *s, size_t n, bool is_whole_file) {
  iconv_t cd = iconv_open("UTF-8", "GB18030");
  if (cd == (iconv_t)-1) return false;
  char scratch[4096];
  char *in = (char *)(uintptr_t)s; /* iconv's prototype lacks const; it only reads */
  size_t in_left = n;
  bool ok = true;
  while (in_left > 0) {
    char *out = scratch;
    size_t out_left = sizeof scratch;
    if (iconv(cd, &in, &in_left, &out, &out_left) != (size_t)-1) continue;
    if (errno == E2BIG) continue;
    ok = errno == EINVAL && !is_whole_file;
    break;
  }
  iconv_close(cd);
  return ok;
}

int64_t encoding_gb18030_length(const char *s, size_t n) {
  iconv_t cd = iconv_open("GB18030", "UTF-8");
  if (cd == (iconv_t)-1) return -1;
  char scratch[4096];
  char *in = (char *)(uintptr_t)s;
  size_t in_left = n;
  int64_t total = 0;
  while (in_left > 0) {
    char *out = scratch;
    size_t out_left = sizeof scratch;
    size_t rc = iconv(cd, &in, &in_left, &out, &out_left);
    total += (int64_t)(sizeof scratch - out_left);
    if (rc == (size_t)-1 && errno != E2BIG) {
      total = -1;
      break;
    }
  }
  iconv_close(cd);
  return total;
}

/* ------------------------------------------------------------------ choosing */

static int64_t line_at(const unsigned char *s, size_t offset) {
  int64_t line = 1;
  for (const unsigned char *p = s; (p = memchr(p, '\n', (size_t)(s + offset - p))) != NULL; p++)
    line++;
  return line;
}

/* Reject content that is not text: NUL bytes, with a specific hint for the two common
 * causes, an Excel workbook (a ZIP archive) and UTF-16 without a byte-order mark.
 * NOTE: only the sample is checked. A NUL byte later in the file reaches the fields,
 * where the lengths count it but strlen stops at it. */
static promo_status check_binary(const unsigned char *s, size_t n, promo_error *err) {
  const unsigned char *nul = memchr(s, 0, n);
  if (nul == NULL) return PROMO_OK;
  size_t at = (size_t)(nul - s);
  err->byte_offset = (int64_t)at;
  if (n >= 4 && memcmp(s, "PK\3\4", 4) == 0)
    return promo_error_set(err, PROMO_ERR_DATA, "%s",
                           _("binary file, not CSV text: this looks like a ZIP archive or an "
                             "Excel workbook (.xlsx); save it as CSV first"));
  if (n >= 4 && ((s[0] != 0 && s[1] == 0 && s[2] != 0 && s[3] == 0) ||
                 (s[0] == 0 && s[1] != 0 && s[2] == 0 && s[3] != 0)))
    return promo_error_set(err, PROMO_ERR_ENCODING, "%s",
                           _("UTF-16 files are not supported; save the file as UTF-8 or "
                             "GB18030 CSV"));
  err->line = line_at(s, at);
  return promo_error_set(err, PROMO_ERR_DATA,
                         _("binary file, not CSV text: NUL byte at byte offset %zu; export "
                           "the data as CSV"),
                         at);
}

promo_status encoding_choose(const unsigned char *s, size_t n, bool is_whole_file,
                             promo_encoding requested, bool replace_invalid,
                             encoding_choice *out, promo_error *err) {
  out->encoding = PROMO_ENCODING_UTF8;
  out->bom_len = 0;

  if (n >= 2 && ((s[0] == 0xFF && s[1] == 0xFE) || (s[0] == 0xFE && s[1] == 0xFF))) {
    err->byte_offset = 0;
    return promo_error_set(err, PROMO_ERR_ENCODING, "%s",
                           _("UTF-16 files are not supported; save the file as UTF-8 or "
                             "GB18030 CSV"));
  }
  if (n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF) {
    out->bom_len = 3;
    if (requested == PROMO_ENCODING_GB18030) {
      err->byte_offset = 0;
      return promo_error_set(err, PROMO_ERR_ENCODING, "%s",
                             _("the file starts with a UTF-8 byte-order mark but the "
                               "encoding was set to GB18030; use --encoding utf-8 or auto"));
    }
  }
  promo_status st = check_binary(s, n, err);
  if (st != PROMO_OK) return st;

  if (requested != PROMO_ENCODING_AUTO) {
    out->encoding = requested;
    return PROMO_OK;
  }
  if (out->bom_len > 0) return PROMO_OK;

  /* NOTE: a short GB18030 sample can also be valid UTF-8 (C6 BB is both 苹 in GB18030
   * and U+01BB in UTF-8) and is then read as UTF-8; --encoding gb18030 settles it. */
  size_t valid, bad;
  utf8_result res = encoding_utf8_check(s, n, &valid, &bad);
  if (res == UTF8_VALID || (res == UTF8_TRUNCATED && !is_whole_file)) return PROMO_OK;
  if (converts_as_gb18030(s, n, is_whole_file)) {
    out->encoding = PROMO_ENCODING_GB18030;
    return PROMO_OK;
  }
  if (replace_invalid) return PROMO_OK;

  err->line = line_at(s, valid);
  err->byte_offset = (int64_t)valid;
  return promo_error_set(err, PROMO_ERR_ENCODING,
                         _("the file is neither UTF-8 nor GB18030: invalid byte 0x%02X at "
                           "byte offset %zu; save it as UTF-8, or use --replace-invalid to "
                           "read it with invalid bytes replaced by U+FFFD"),
                         (unsigned)s[valid], valid);
}
