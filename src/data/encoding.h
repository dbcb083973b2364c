/* Text encoding helpers for the CSV reader: UTF-8 validation, choosing a file's encoding
 * from its first bytes, and GB18030 byte counts for error offsets. Private to src/data. */
#ifndef PROMO_DATA_ENCODING_H
#define PROMO_DATA_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promo/core.h"
#include "promo/data.h"

typedef enum utf8_result {
  UTF8_VALID,     /* every byte belongs to a well-formed character */
  UTF8_TRUNCATED, /* well-formed up to a character cut off by the end of the input */
  UTF8_INVALID    /* an ill-formed sequence at *valid_len */
} utf8_result;

/* Validate s[0..n) as UTF-8 (RFC 3629: no overlong forms, surrogates or code points past
 * U+10FFFF). For UTF8_TRUNCATED and UTF8_INVALID, *valid_len is the offset of the first
 * byte that is not part of a complete character. For UTF8_INVALID, *bad_len is the length
 * of the maximal ill-formed subpart there (at least 1), the unit that Unicode's
 * "U+FFFD substitution of maximal subparts" replaces with one U+FFFD. */
utf8_result encoding_utf8_check(const unsigned char *s, size_t n, size_t *valid_len,
                                size_t *bad_len);

/* The encoding chosen for a file and the length of the byte-order mark to skip. */
typedef struct encoding_choice {
  promo_encoding encoding; /* UTF8 or GB18030, never AUTO */
  size_t bom_len;          /* 3 for a UTF-8 BOM, else 0 */
} encoding_choice;

/* Choose the encoding from the first bytes of a file, s[0..n). `is_whole_file` is true
 * when s contains the entire file, so a character cut off at n is an error rather than the
 * edge of the sample. Rejects UTF-16, binary content (NUL bytes) and, under
 * PROMO_ENCODING_AUTO without replace_invalid, bytes that are neither UTF-8 nor
 * GB18030. Errors fill status, message, line and byte offset; the caller adds the path. */
promo_status encoding_choose(const unsigned char *s, size_t n, bool is_whole_file,
                             promo_encoding requested, bool replace_invalid,
                             encoding_choice *out, promo_error *err);

/* Length in bytes of UTF-8 text s[0..n) once converted to GB18030, or -1 when iconv
 * cannot convert it. Used only to turn offsets in decoded text back into file offsets. */
int64_t encoding_gb18030_length(const char *s, size_t n);

#endif
