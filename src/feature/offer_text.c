/* Text side of the offer parser for the feature stage: normalizes what teams write
 * (full-width forms, Chinese numerals, currency signs) and matches one written form,
 * with its number placeholders, against the result. */
#include <stdio.h>
#include <string.h>

#include "core/intl.h"
#include "feature/offer_text.h"

/* ===================================================================== numbers */

/* Scan digits with an optional decimal part at pos. Returns the bytes used, or 0 if no
 * number starts there or it has more than OFFER_MAX_INT_DIGITS digits before the point
 * or OFFER_MAX_FRAC_DIGITS after it. */
static size_t scan_number(const char *s, size_t len, size_t pos, offer_capture *cap) {
  size_t i = pos;
  int64_t whole = 0, frac = 0, scale = 1;
  while (i < len && offer_is_digit(s[i]) && i - pos <= OFFER_MAX_INT_DIGITS)
    whole = whole * 10 + (s[i++] - '0');
  cap->int_digits = (int)(i - pos);
  if (cap->int_digits == 0 || cap->int_digits > OFFER_MAX_INT_DIGITS) return 0;
  cap->has_point = false;
  if (i + 1 < len && s[i] == '.' && offer_is_digit(s[i + 1])) {
    cap->has_point = true;
    i++;
    size_t frac_start = i;
    while (i < len && offer_is_digit(s[i]) && i - frac_start <= OFFER_MAX_FRAC_DIGITS) {
      frac = frac * 10 + (s[i++] - '0');
      scale *= 10;
    }
    if (i - frac_start > OFFER_MAX_FRAC_DIGITS) return 0;
  }
  cap->value = (double)whole + (double)frac / (double)scale;
  cap->is_whole = frac == 0;
  return i - pos;
}

/* ===================================================================== normalization */

/* Decode one UTF-8 character. Returns its length, or 0 for an invalid, overlong or
 * truncated sequence or a surrogate. */
static size_t decode_utf8(const unsigned char *p, size_t n, uint32_t *cp) {
  if (p[0] < 0x80) {
    *cp = p[0];
    return 1;
  }
  size_t len;
  uint32_t min;
  if ((p[0] & 0xE0) == 0xC0) {
    len = 2, min = 0x80, *cp = p[0] & 0x1Fu;
  } else if ((p[0] & 0xF0) == 0xE0) {
    len = 3, min = 0x800, *cp = p[0] & 0x0Fu;
  } else if ((p[0] & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, *cp = p[0] & 0x07u;
  } else {
    return 0;
  }
  if (n < len) return 0;
  for (size_t k = 1; k < len; k++) {
    if ((p[k] & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (p[k] & 0x3Fu);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return 0;
  return len;
}

void offer_quote_text(const char *text, size_t len, size_t max, char *out, size_t out_size) {
  size_t used = 0, i = 0;
  if (out_size == 0) return;
  while (i < len) {
    uint32_t cp = 0;
    size_t n = decode_utf8((const unsigned char *)text + i, len - i, &cp);
    size_t step = n == 0 ? 1 : n;
    if (i + step > max) break;

    char piece[8];
    size_t piece_len;
    if (n == 1 && (cp == '\n' || cp == '\r' || cp == '\t')) {
      char letter = cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't';
      piece_len = (size_t)snprintf(piece, sizeof piece, "\\%c", letter);
    } else if (n == 0 || cp < 0x20 || cp == 0x7F) {
      piece_len = (size_t)snprintf(piece, sizeof piece, "\\x%02X", (unsigned char)text[i]);
    } else {
      memcpy(piece, text + i, n);
      piece_len = n;
    }
    if (used + piece_len + 4 > out_size) break;
    memcpy(out + used, piece, piece_len);
    used += piece_len;
    i += step;
  }
  if (i < len && used + 4 <= out_size) {
    memcpy(out + used, "...", 3);
    used += 3;
  }
  out[used] = '\0';
}

/* Digit value of a Chinese numeral character, or -1. */
static int cn_digit(uint32_t cp) {
  switch (cp) {
    case 0x96F6:           /* 零 */
    case 0x3007: return 0; /* 〇 */
    case 0x4E00: return 1; /* 一 */
    case 0x4E8C:           /* 二 */
    case 0x4E24: return 2; /* 两 */
    case 0x4E09: return 3; /* 三 */
    case 0x56DB: return 4; /* 四 */
    case 0x4E94: return 5; /* 五 */
    case 0x516D: return 6; /* 六 */
    case 0x4E03: return 7; /* 七 */
    case 0x516B: return 8; /* 八 */
    case 0x4E5D: return 9; /* 九 */
    default: return -1;
  }
}

/* Multiplier of a Chinese unit character (十 百 千 万), or 0. */
static int64_t cn_unit(uint32_t cp) {
  switch (cp) {
    case 0x5341: return 10;    /* 十 */
    case 0x767E: return 100;   /* 百 */
    case 0x5343: return 1000;  /* 千 */
    case 0x4E07: return 10000; /* 万 */
    default: return 0;
  }
}

#define CN_POINT 0x70B9 /* 点, the decimal point in 八点五折 */

/* Value of a run of Chinese digits and units such as 二十五, 一百零五 or 一百五 (150, the
 * spoken short form that drops the last unit). */
static int64_t cn_value(const uint32_t *cps, size_t n) {
  int64_t total = 0, section = 0, last_unit = 0;
  int digit = -1;
  bool zero_after_unit = false;
  for (size_t k = 0; k < n; k++) {
    int d = cn_digit(cps[k]);
    int64_t unit = cn_unit(cps[k]);
    if (d >= 0) {
      if (d == 0 && last_unit > 0) zero_after_unit = true;
      digit = d;
    } else if (unit == 10000) {
      section += digit > 0 ? digit : 0;
      total += (section > 0 ? section : 1) * 10000;
      section = 0, digit = -1, last_unit = unit, zero_after_unit = false;
    } else {
      section += (digit >= 0 ? digit : 1) * unit;
      digit = -1, last_unit = unit, zero_after_unit = false;
    }
  }
  if (digit > 0 && last_unit >= 100 && !zero_after_unit)
    section += digit * (last_unit / 10);
  else if (digit > 0)
    section += digit;
  return total + section;
}

static bool norm_put(offer_normalized *out, const char *bytes, size_t n, size_t from) {
  if (out->len + n >= OFFER_NORMALIZED_CAP) return false;
  for (size_t k = 0; k < n; k++) {
    out->s[out->len] = bytes[k];
    out->map[out->len] = (uint16_t)from;
    out->len++;
  }
  return true;
}

/* Convert the Chinese numeral run starting at text[*pos] to ASCII digits. A run without
 * units is read digit by digit (八五 is 85); one with units by value (二十五 is 25). 点
 * is a decimal point when digits follow it. Advances *pos past the run. */
static bool norm_chinese_number(const char *text, size_t len, size_t *pos, offer_normalized *out) {
  uint32_t cps[PROMO_OFFER_MAX_TEXT];
  size_t n = 0, point = SIZE_MAX, start = *pos, i = *pos;
  bool has_unit = false;
  while (i < len && n < PROMO_OFFER_MAX_TEXT) {
    uint32_t cp;
    size_t k = decode_utf8((const unsigned char *)text + i, len - i, &cp);
    if (k == 0) break;
    if (cp == CN_POINT && point == SIZE_MAX && n > 0 && i + k < len) {
      uint32_t next;
      size_t k2 = decode_utf8((const unsigned char *)text + i + k, len - i - k, &next);
      if (k2 == 0 || cn_digit(next) < 0) break;
      point = n;
    } else if (cn_digit(cp) >= 0 || (cn_unit(cp) > 0 && point == SIZE_MAX)) {
      has_unit = has_unit || cn_unit(cp) > 0;
    } else {
      break;
    }
    cps[n++] = cp;
    i += k;
  }
  *pos = i;

  char digits[64];
  size_t n_int = point == SIZE_MAX ? n : point, used = 0;
  if (has_unit) {
    used = (size_t)snprintf(digits, sizeof digits, "%lld", (long long)cn_value(cps, n_int));
  } else {
    for (size_t k = 0; k < n_int && used < sizeof digits - 1; k++)
      digits[used++] = (char)('0' + cn_digit(cps[k]));
  }
  if (point != SIZE_MAX) {
    digits[used++] = '.';
    for (size_t k = point + 1; k < n && used < sizeof digits - 1; k++)
      digits[used++] = (char)('0' + cn_digit(cps[k]));
  }
  return norm_put(out, digits, used, start);
}

/* Fold a character to the form the matcher uses: full-width ASCII (U+FF01 to U+FF5E) to
 * ASCII, ideographic space, tab, CR and LF to a space, dashes and minus signs to '-'. */
static uint32_t fold_char(uint32_t cp) {
  if (cp >= 0xFF01 && cp <= 0xFF5E) cp -= 0xFEE0;
  if (cp == 0x3000 || cp == '\t' || cp == '\r' || cp == '\n') return ' ';
  if (cp == 0x2012 || cp == 0x2013 || cp == 0x2014 || cp == 0x2212) return '-';
  if (cp >= 'A' && cp <= 'Z') return cp + ('a' - 'A');
  return cp;
}

/* Currency signs carry no number, so they are dropped: $ ¥ ￥ € £. */
static bool is_currency_sign(uint32_t cp) {
  return cp == '$' || cp == 0xA5 || cp == 0xFFE5 || cp == 0x20AC || cp == 0xA3;
}

/* Multiply the Arabic number that ends `out` by 10^zeros by moving its decimal point,
 * so 1.5 before 万 becomes 15000 with no rounding. */
static bool scale_last_number(offer_normalized *out, int zeros) {
  size_t begin = out->len;
  while (begin > 0 && (offer_is_digit(out->s[begin - 1]) || out->s[begin - 1] == '.')) begin--;
  char digits[64], *point = NULL;
  size_t n = out->len - begin;
  if (n >= sizeof digits - (size_t)zeros - 1) return false;
  memcpy(digits, out->s + begin, n);
  digits[n] = '\0';
  point = strchr(digits, '.');
  char result[64];
  size_t used = 0, n_int = point != NULL ? (size_t)(point - digits) : n;
  const char *frac = point != NULL ? point + 1 : "";
  size_t n_frac = strlen(frac);
  for (size_t k = 0; k < n_int; k++) result[used++] = digits[k];
  for (int k = 0; k < zeros; k++) result[used++] = (size_t)k < n_frac ? frac[k] : '0';
  if (n_frac > (size_t)zeros) {
    result[used++] = '.';
    for (size_t k = (size_t)zeros; k < n_frac; k++) result[used++] = frac[k];
  }
  uint16_t from = out->map[begin];
  out->len = begin;
  return norm_put(out, result, used, from);
}

static bool is_numeral_at(const char *text, size_t len, size_t pos, bool arabic) {
  uint32_t cp;
  if (pos >= len) return false;
  size_t n = decode_utf8((const unsigned char *)text + pos, len - pos, &cp);
  if (n == 0) return false;
  if (arabic) {
    cp = fold_char(cp);
    return cp >= '0' && cp <= '9';
  }
  return cn_digit(cp) >= 0 || cn_unit(cp) > 0;
}

/* Convert the Chinese numerals at text[*pos], including a unit right after Arabic digits
 * (1.5万 is 15000, 2千 is 2000). Digits of the two systems written together (8五折,
 * 八5折, 1万5千) are rejected, because their value is a guess. */
static bool norm_numeral(const char *text, size_t len, size_t *pos, offer_normalized *out,
                         char *why, size_t why_size) {
  size_t start = *pos;
  if (out->len > 0 && offer_is_digit(out->s[out->len - 1])) {
    uint32_t cp;
    size_t n = decode_utf8((const unsigned char *)text + start, len - start, &cp);
    int64_t unit = cn_unit(cp);
    int zeros = 0;
    for (int64_t u = unit; u > 1; u /= 10) zeros++;
    if (unit == 0 || is_numeral_at(text, len, start + n, false)) {
      snprintf(why, why_size,
               _("Arabic and Chinese numerals written together at byte %zu; "
                 "write the number one way"),
               start + 1);
      return false;
    }
    if (!scale_last_number(out, zeros)) {
      snprintf(why, why_size, _("number before byte %zu has too many digits"), start + 1);
      return false;
    }
    *pos = start + n;
  } else if (!norm_chinese_number(text, len, pos, out)) {
    snprintf(why, why_size, _("text is too long; at most %d bytes are read"), PROMO_OFFER_MAX_TEXT);
    return false;
  }
  if (is_numeral_at(text, len, *pos, true)) {
    snprintf(why, why_size,
             _("Arabic and Chinese numerals written together at byte %zu; "
               "write the number one way"),
             *pos + 1);
    return false;
  }
  return true;
}

bool offer_normalize(const char *text, size_t len, offer_normalized *out, char *why,
                     size_t why_size) {
  out->len = 0;
  size_t i = 0;
  size_t sign_at = SIZE_MAX; /* a dropped currency sign, counted as part of what follows */
  while (i < len) {
    uint32_t cp;
    size_t n = decode_utf8((const unsigned char *)text + i, len - i, &cp);
    if (n == 0 || cp == 0) {
      snprintf(why, why_size, n == 0 ? _("invalid UTF-8 at byte %zu") : _("NUL byte at byte %zu"),
               i + 1);
      return false;
    }
    if (cn_digit(cp) >= 0 || cn_unit(cp) > 0) {
      if (!norm_numeral(text, len, &i, out, why, why_size)) return false;
      sign_at = SIZE_MAX;
      continue;
    }
    cp = fold_char(cp);
    if (is_currency_sign(cp)) {
      if (sign_at == SIZE_MAX) sign_at = i;
      i += n;
      continue;
    }
    size_t from = sign_at != SIZE_MAX ? sign_at : i;
    sign_at = SIZE_MAX;
    char c = (char)cp;
    if (!(cp < 0x80 ? norm_put(out, &c, 1, from) : norm_put(out, text + i, n, from))) {
      snprintf(why, why_size, _("text is too long; at most %d bytes are read"),
               PROMO_OFFER_MAX_TEXT);
      return false;
    }
    i += n;
  }
  out->map[out->len] = (uint16_t)len;
  out->s[out->len] = '\0';
  return true;
}

/* ===================================================================== matcher */

size_t offer_skip_blank(const char *s, size_t len, size_t pos) {
  while (pos < len && offer_is_blank(s[pos])) pos++;
  return pos;
}

bool offer_has_prefix(const char *s, size_t len, size_t pos, const char *word) {
  size_t n = strlen(word);
  return len - pos >= n && memcmp(s + pos, word, n) == 0;
}

/* Record cap and match the rest of the pattern from pos; undo the capture on failure. */
static bool take(const offer_capture *cap, const char *rest, const char *s, size_t len, size_t pos,
                 offer_match *m) {
  if (m->n_caps >= OFFER_MAX_CAPTURES) return false;
  m->caps[m->n_caps++] = *cap;
  if (offer_match_pattern(rest, s, len, pos, m)) return true;
  m->n_caps--;
  return false;
}

/* Try each word of a NULL-terminated list after pos (longest listed first), then none
 * when optional. Each success continues with the rest of the pattern. */
static bool take_with_suffix(const offer_capture *cap, const char *const *words, bool optional,
                             const char *rest, const char *s, size_t len, size_t pos,
                             offer_match *m) {
  size_t at = offer_skip_blank(s, len, pos);
  for (size_t k = 0; words[k] != NULL; k++) {
    if (offer_has_prefix(s, len, at, words[k]) && take(cap, rest, s, len, at + strlen(words[k]), m))
      return true;
  }
  return optional && take(cap, rest, s, len, pos, m);
}

static const char *const amount_units[] = {"块钱", "元",      "块",     "yuan", "rmb",
                                           "usd",  "dollars", "dollar", NULL};
static const char *const count_units[] = {"件", "个", "份", NULL};
static const char *const count_words[] = {"one",   "two",   "three", "four", "five", "six",
                                          "seven", "eight", "nine",  "ten",  NULL};

static bool match_amount(const char *rest, const char *s, size_t len, size_t pos, offer_match *m) {
  if (offer_has_prefix(s, len, pos, "rmb") || offer_has_prefix(s, len, pos, "usd"))
    pos = offer_skip_blank(s, len, pos + 3);
  offer_capture cap;
  size_t n = scan_number(s, len, pos, &cap);
  if (n == 0) return false;
  return take_with_suffix(&cap, amount_units, true, rest, s, len, pos + n, m);
}

static bool match_count(const char *rest, const char *s, size_t len, size_t pos, offer_match *m) {
  offer_capture cap;
  size_t n = scan_number(s, len, pos, &cap);
  for (int k = 0; n == 0 && count_words[k] != NULL; k++) {
    if (offer_has_prefix(s, len, pos, count_words[k])) {
      n = strlen(count_words[k]);
      cap = (offer_capture){.value = k + 1, .int_digits = 1, .has_point = false, .is_whole = true};
    }
  }
  if (n == 0) return false;
  return take_with_suffix(&cap, count_units, true, rest, s, len, pos + n, m);
}

static bool match_ordinal(const char *rest, const char *s, size_t len, size_t pos, offer_match *m) {
  static const char *const words[] = {"second", "third", "fourth", "fifth", NULL};
  static const char *const endings[] = {"st", "nd", "rd", "th", NULL};
  for (int k = 0; words[k] != NULL; k++) {
    if (offer_has_prefix(s, len, pos, words[k])) {
      offer_capture cap = {.value = k + 2, .int_digits = 1, .has_point = false, .is_whole = true};
      return take(&cap, rest, s, len, pos + strlen(words[k]), m);
    }
  }
  offer_capture cap;
  size_t n = scan_number(s, len, pos, &cap);
  if (n == 0) return false;
  return take_with_suffix(&cap, endings, false, rest, s, len, pos + n, m);
}

typedef struct time_unit {
  const char *word;
  double hours;
} time_unit;

/* Longer words first, so "hours" wins over "h". */
/* clang-format off */
static const time_unit time_units[] = {
    {"个小时", 1.0},     {"小时", 1.0},      {"-hours", 1.0},      {"-hour", 1.0},
    {"hours", 1.0},      {"hour", 1.0},      {"hrs", 1.0},         {"hr", 1.0},
    {"h", 1.0},          {"天", 24.0},       {"日", 24.0},         {"-days", 24.0},
    {"-day", 24.0},      {"days", 24.0},     {"day", 24.0},        {"分钟", 1.0 / 60},
    {"-minutes", 1.0 / 60}, {"-minute", 1.0 / 60}, {"minutes", 1.0 / 60}, {"minute", 1.0 / 60},
    {"mins", 1.0 / 60},  {"min", 1.0 / 60},
};
/* clang-format on */

static bool match_duration(const char *rest, const char *s, size_t len, size_t pos,
                           offer_match *m) {
  offer_capture cap;
  size_t n = scan_number(s, len, pos, &cap);
  if (n == 0) return false;
  size_t at = offer_skip_blank(s, len, pos + n);
  for (size_t k = 0; k < sizeof time_units / sizeof time_units[0]; k++) {
    if (!offer_has_prefix(s, len, at, time_units[k].word)) continue;
    offer_capture hours = cap;
    hours.value = cap.value * time_units[k].hours;
    if (take(&hours, rest, s, len, at + strlen(time_units[k].word), m)) return true;
  }
  return false;
}

/* Separators between parts. Gift names stop at them too. */
static const char *const separators[] = {"+", ",",  ";",  "&",  "/",  "|",
                                         "!", "、", "及", "【", "】", NULL};

size_t offer_separator_length(const char *s, size_t len, size_t pos) {
  for (int k = 0; separators[k] != NULL; k++)
    if (offer_has_prefix(s, len, pos, separators[k])) return strlen(separators[k]);
  return 0;
}

/* A gift name ends where another offer begins. */
static const char *const gift_name_stops[] = {"包邮", "免运费", "免邮", "限时", "秒杀", NULL};

static bool match_gift_name(const char *rest, const char *s, size_t len, size_t pos,
                            offer_match *m) {
  size_t i = pos;
  while (i < len && !offer_is_blank(s[i]) && !offer_is_digit(s[i]) &&
         offer_separator_length(s, len, i) == 0) {
    bool stop = false;
    for (int k = 0; gift_name_stops[k] != NULL && !stop; k++)
      stop = offer_has_prefix(s, len, i, gift_name_stops[k]);
    if (stop) break;
    i++;
    while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80) i++;
  }
  if (i == pos) return false;
  return offer_match_pattern(rest, s, len, i, m);
}

bool offer_match_pattern(const char *pat, const char *s, size_t len, size_t pos, offer_match *m) {
  if (++*m->steps > OFFER_MAX_STEPS) return false;
  while (*pat == ' ') pat++;
  if (*pat == '\0') {
    m->end = pos;
    return true;
  }
  pos = offer_skip_blank(s, len, pos);
  if (pat[0] == '{') {
    const char *rest = pat + 3;
    offer_capture cap;
    size_t n;
    switch (pat[1]) {
      case 'n':
        n = scan_number(s, len, pos, &cap);
        return n > 0 && take(&cap, rest, s, len, pos + n, m);
      case 'a': return match_amount(rest, s, len, pos, m);
      case 'c': return match_count(rest, s, len, pos, m);
      case 'o': return match_ordinal(rest, s, len, pos, m);
      case 'd': return match_duration(rest, s, len, pos, m);
      case 't': return match_gift_name(rest, s, len, pos, m);
      default: return false;
    }
  }
  size_t n = strcspn(pat, " {");
  if (len - pos < n || memcmp(s + pos, pat, n) != 0) return false;
  return offer_match_pattern(pat + n, s, len, pos + n, m);
}

bool offer_ends_with_separator(const char *s, size_t end) {
  for (int k = 0; separators[k] != NULL; k++) {
    size_t n = strlen(separators[k]);
    if (end >= n && memcmp(s + end - n, separators[k], n) == 0) return true;
  }
  return false;
}
