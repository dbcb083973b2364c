/* Internals shared by the offer parser's two files: offer_text.c normalizes offer text
 * and matches one written form against it, offer.c contains the table of forms and builds
 * the parts. Not part of the public API. */
#ifndef PROMO_FEATURE_OFFER_TEXT_H
#define PROMO_FEATURE_OFFER_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promo/feature.h"

/* Limits on numbers in offer text. Nine integer digits keep every value exact in a
 * double and far above any real price, so more digits are a data error, not a price. */
#define OFFER_MAX_INT_DIGITS 9
#define OFFER_MAX_FRAC_DIGITS 6

/* Maximum number of placeholders in one pattern. */
#define OFFER_MAX_CAPTURES 4

/* Upper bound on matcher calls for one text, so a pathological text cannot make the
 * backtracking parser slow. Real texts need a few thousand at most. */
#define OFFER_MAX_STEPS 200000UL

/* Room for the normalized text. Folding and dropped signs only shorten the text, and
 * numerals grow it by at most one byte per 万 (3 bytes become 4 zeros), hence the
 * margin. */
#define OFFER_NORMALIZED_CAP (PROMO_OFFER_MAX_TEXT * 2 + 64)

/* Offer text in the form the matcher reads: ASCII lowercase, full-width forms folded to
 * ASCII, currency signs dropped, Chinese numerals turned into ASCII digits. map[i] is
 * the byte offset in the original text that normalized byte i came from, and map[len]
 * is the original length. */
typedef struct offer_normalized {
  char s[OFFER_NORMALIZED_CAP];
  uint16_t map[OFFER_NORMALIZED_CAP + 1];
  size_t len;
} offer_normalized;

/* A number found by a placeholder, with how it was written (85折 and 8.5折 differ). */
typedef struct offer_capture {
  double value;
  int int_digits;
  bool has_point;
  bool is_whole;
} offer_capture;

/* The result of matching one pattern: where the match ends and the numbers captured, in
 * pattern order. steps points at the caller's counter of matcher calls. */
typedef struct offer_match {
  size_t end;
  int n_caps;
  offer_capture caps[OFFER_MAX_CAPTURES];
  unsigned long *steps;
} offer_match;

static inline bool offer_is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* Spaces and commas, which the matcher skips between the pieces of a pattern. */
static inline bool offer_is_blank(char c) {
  return c == ' ' || c == ',';
}

size_t offer_skip_blank(const char *s, size_t len, size_t pos);
bool offer_has_prefix(const char *s, size_t len, size_t pos, const char *word);

/* Length of the separator between parts (+ , ; & / | ! 、 及 【 】) at s[pos], or 0. */
size_t offer_separator_length(const char *s, size_t len, size_t pos);
/* True when s[0..end) ends with a separator. */
bool offer_ends_with_separator(const char *s, size_t end);

/* Copy up to max bytes of text[0..len) into out as one line for a message. Newline, CR
 * and tab become \n, \r and \t, and other control characters and bytes that are not
 * valid UTF-8 become \xNN. A cut falls between characters and ends in "...". Give
 * out_size at least 4 * max + 4, or the copy stops early. */
void offer_quote_text(const char *text, size_t len, size_t max, char *out, size_t out_size);

/* Normalize len bytes of text into out. On failure (invalid UTF-8, a NUL byte, mixed
 * Arabic and Chinese digits, no room) writes the reason into why and returns false. */
bool offer_normalize(const char *text, size_t len, offer_normalized *out, char *why,
                     size_t why_size);

/* Match `pattern` against s[pos..len). On success m->end is where the match ends and
 * m->caps contains the numbers. Patterns are normalized text with placeholders:
 *   {n}  a number: digits with an optional decimal part
 *   {a}  an amount: a number with an optional RMB/USD before and 元, 块, 块钱, yuan,
 *        rmb, usd, dollar(s) after
 *   {c}  an item count: a number or one to ten, with an optional 件, 个 or 份 after
 *   {o}  an ordinal: 2nd, 3rd, 4th, second, third, fourth, fifth
 *   {d}  a duration, converted to hours: a number with 小时, h, hr, hour(s), 天, 日,
 *        day(s), 分钟, min, minute(s)
 *   {t}  the name of a gift: text up to a separator, a space or a digit
 * A space in a pattern matches any run of spaces and commas in the text, and so does the
 * gap before every literal and placeholder. */
bool offer_match_pattern(const char *pattern, const char *s, size_t len, size_t pos,
                         offer_match *m);

#endif
