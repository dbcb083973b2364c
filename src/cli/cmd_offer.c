/* `promo offer`: parse promotion text given on the command line or in a CSV column and
 * print what was understood, so a team can check its offer texts before training. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "cli/cli.h"
#include "promo/data.h"
#include "promo/feature.h"

/* Digits kept for reals in JSON output: enough for prices and rates, and short enough
 * that 0.8 prints as 0.8. */
#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(12))

typedef struct offer_options {
  bool json;
  bool has_price;
  double price;
  int64_t quantity;
  const char *file;
  const char *column;
  promo_encoding encoding;
  bool replace_invalid;
  int n_texts;
  char **texts; /* [n_texts], pointers into argv; the array is owned */
} offer_options;

void cli_print_help_offer(FILE *out) {
  fputs(_("Usage: promo offer [--json] [--price P [--quantity N]] TEXT...\n"
          "       promo offer --file FILE --column COL [--encoding E] [--replace-invalid]\n"
          "                   [--json]\n"
          "\n"
          "Parse promotion text as teams write it and print what promo understood, so you\n"
          "can check offer texts before they reach a model or a plan.\n"
          "\n"
          "Options:\n"
          "  --json            print one JSON object per TEXT (one summary object with --file)\n"
          "  --price P         also print the share of the list price paid at unit price P\n"
          "  --quantity N      items bought in one order for --price (default 1)\n"
          "  --file FILE       parse every value of one column of a CSV file\n"
          "  --column COL      the column to read: a header name or a 1-based number\n"
          "  --encoding E      text encoding of FILE: auto, utf-8 or gb18030 (default auto)\n"
          "  --replace-invalid replace bytes of FILE that are invalid in its encoding with\n"
          "                    U+FFFD instead of stopping at them\n"
          "  -h, --help        show this help\n"
          "\n"
          "Forms read (Chinese numerals and full-width characters work too):\n"
          "  percent off       8折, 8.5折, 85折, 0.85, 85%, 15% off, 满200打8折, 8折起\n"
          "  amount off        立减5元, 减5, 直降10元, $5 off, 5元券\n"
          "  threshold off     满200减30, 满200元减30元, 200:30, $30 off orders over $200\n"
          "  repeated off      每满100减10, $10 off every $100\n"
          "  multi-buy         买一送一, 买2送1, 第二件半价, 第2件5折, 2件8折, 3 for 2\n"
          "  gift              赠品, 赠品:15, 送价值15元赠品, free gift, 满199送赠品\n"
          "  free shipping     包邮, 免运费, 满99包邮, free shipping\n"
          "  flash sale        秒杀, 限时秒杀, 限时2小时, 24h flash sale\n"
          "  no offer          an empty text, none, 无, 无优惠, -\n"
          "Join several offers with + , ; & 、 及 or spaces: 满200减30+包邮.\n"
          "A 折 number with one digit or a point is tenths (8.5折 pays 85%); 21 to 99 is\n"
          "hundredths (85折 pays 85%). A bare 0.85 or 85% is the share paid.\n"
          "Texts that start with '-' (such as -20%) are read as texts, not options.\n"
          "\n"
          "The share paid applies item discounts first, then order thresholds against the\n"
          "discounted subtotal. Tiers count only the best tier reached: 满200减30,满300减50;\n"
          "满200打8折,满300打7折; 2件8折,3件7折. Two offers of one price-changing kind that\n"
          "are not tiers (8折8折, 买一送一 第二件半价) are rejected, because promo does not\n"
          "stack them; a coupon beside a shop discount (立减10元+5元券) is allowed. Gifts,\n"
          "free shipping and flash sales do not change the share paid.\n"
          "\n"
          "With --file, the first 20 distinct texts that failed are printed on stderr, each\n"
          "with its first line and number of rows, then one line counts the other failed\n"
          "rows and texts. With --json, one object is printed instead:\n"
          "  {\"file\": F, \"column\": C, \"rows\": N, \"parsed\": N, \"failed\": N,\n"
          "   \"counts\": {KIND: N, ...},     rows per kind, such as \"percent_off\"\n"
          "   \"failed_texts\": N,            distinct texts that failed\n"
          "   \"failed_texts_exact\": B,      false past 1048576 distinct texts, where\n"
          "                                 failed_texts and unlisted_texts are minimums\n"
          "   \"failures\": [{\"line\": L, \"text\": T, \"error\": E, \"rows\": N}, ...],\n"
          "                                 the first 20 failed texts, at their first line\n"
          "   \"unlisted_rows\": N,           failed rows not in \"failures\"\n"
          "   \"unlisted_texts\": N}          failed texts not in \"failures\"\n"
          "\n"
          "Exit status: 0 every text parsed, 1 failed run, 2 usage error, 3 a text could not\n"
          "be parsed or the file is invalid.\n"),
        out);
}

/* ===================================================================== descriptions */

/* A price-changing part in the user's language, e.g. "threshold off: spend 200, save 30". */
static void describe_discount(const promo_offer_part *p, char *buf, size_t size) {
  double off = (1.0 - p->rate) * 100.0, paid = p->rate * 100.0;
  const char *up_to = (p->flags & PROMO_OFFER_FLAG_UP_TO) ? _("up to ") : "";
  bool by_items = (p->flags & PROMO_OFFER_FLAG_ITEM_THRESHOLD) != 0;
  if (p->kind == PROMO_OFFER_PERCENT_OFF && p->threshold > 0)
    snprintf(buf, size, _("percent off: spend %g, %s%g%% off (pays %g%%)"), p->threshold, up_to,
             off, paid);
  else if (p->kind == PROMO_OFFER_PERCENT_OFF)
    snprintf(buf, size, _("percent off: %s%g%% off (pays %g%%)"), up_to, off, paid);
  else if (p->kind == PROMO_OFFER_AMOUNT_OFF)
    snprintf(buf, size, _("amount off: save %g per item"), p->amount);
  else if (p->kind == PROMO_OFFER_THRESHOLD_OFF && by_items)
    snprintf(buf, size, _("threshold off: buy %g items, save %g"), p->threshold, p->amount);
  else if (p->kind == PROMO_OFFER_THRESHOLD_OFF)
    snprintf(buf, size, _("threshold off: spend %g, save %g"), p->threshold, p->amount);
  else if (p->kind == PROMO_OFFER_REPEATED_OFF)
    snprintf(buf, size, _("repeated threshold off: for every %g spent, save %g"), p->threshold,
             p->amount);
  else if (p->get_count == 0)
    snprintf(buf, size, _("multi-buy: buy %d or more, each pays %g%%"), (int)p->buy_count, paid);
  else if (p->rate == 0)
    snprintf(buf, size, _("multi-buy: buy %d, get %d free"), (int)p->buy_count, (int)p->get_count);
  else
    snprintf(buf, size, _("multi-buy: buy %d, get %d at %g%% of the price"), (int)p->buy_count,
             (int)p->get_count, paid);
}

/* One part in the user's language; gifts, free shipping and flash sales are described
 * here and the rest by describe_discount. */
static void describe_part(const promo_offer_part *p, char *buf, size_t size) {
  bool by_items = (p->flags & PROMO_OFFER_FLAG_ITEM_THRESHOLD) != 0;
  if (p->kind == PROMO_OFFER_GIFT) {
    if (p->gift_value > 0 && p->threshold > 0)
      snprintf(buf, size, _("gift worth %g with a spend of %g"), p->gift_value, p->threshold);
    else if (p->gift_value > 0)
      snprintf(buf, size, _("gift worth %g"), p->gift_value);
    else if (p->threshold > 0)
      snprintf(buf, size, _("gift with a spend of %g"), p->threshold);
    else
      snprintf(buf, size, "%s", _("gift"));
  } else if (p->kind == PROMO_OFFER_FREE_SHIPPING) {
    if (p->threshold > 0 && by_items)
      snprintf(buf, size, _("free shipping from %g items"), p->threshold);
    else if (p->threshold > 0)
      snprintf(buf, size, _("free shipping from a spend of %g"), p->threshold);
    else
      snprintf(buf, size, "%s", _("free shipping"));
  } else if (p->kind == PROMO_OFFER_FLASH_SALE) {
    if (p->duration_hours > 0)
      snprintf(buf, size, _("flash sale for %g hours"), p->duration_hours);
    else
      snprintf(buf, size, "%s", _("flash sale"));
  } else {
    describe_discount(p, buf, size);
  }
}

/* The whole offer: parts joined by a translated "; ", or "no offer". */
static void describe_offer(const promo_offer *offer, char *buf, size_t size) {
  if (offer->n_parts == 0) {
    snprintf(buf, size, "%s", _("no offer"));
    return;
  }
  size_t used = 0;
  buf[0] = '\0';
  for (size_t k = 0; k < offer->n_parts && used < size; k++) {
    char part[256];
    describe_part(&offer->parts[k], part, sizeof part);
    const char *coupon = (offer->parts[k].flags & PROMO_OFFER_FLAG_COUPON) ? _(" (coupon)") : "";
    int n = snprintf(buf + used, size - used, "%s%s%s", k > 0 ? _("; ") : "", part, coupon);
    if (n < 0) break;
    used += (size_t)n;
  }
}

/* Translated label of a kind for the counts table. */
static const char *kind_label(promo_offer_kind kind) {
  switch (kind) {
    case PROMO_OFFER_NONE: return _("no offer");
    case PROMO_OFFER_PERCENT_OFF: return _("percent off");
    case PROMO_OFFER_AMOUNT_OFF: return _("amount off");
    case PROMO_OFFER_THRESHOLD_OFF: return _("threshold off");
    case PROMO_OFFER_REPEATED_OFF: return _("repeated threshold off");
    case PROMO_OFFER_MULTI_BUY: return _("multi-buy");
    case PROMO_OFFER_GIFT: return _("gift");
    case PROMO_OFFER_FREE_SHIPPING: return _("free shipping");
    case PROMO_OFFER_FLASH_SALE: return _("flash sale");
    case PROMO_OFFER_COMBINED: return _("combined");
    case PROMO_OFFER_N_KINDS: break;
  }
  return "?";
}

/* ===================================================================== JSON */

/* Set obj[key] and take over value. json_object_set_new fails on a NULL value, so a
 * failed constructor in the argument makes this return false too. */
static bool json_set(json_t *obj, const char *key, json_t *value) {
  return json_object_set_new(obj, key, value) == 0;
}

/* Length of the valid UTF-8 character at s, or 0 when the bytes there are not one. */
static size_t utf8_length(const unsigned char *s, size_t len) {
  size_t n = s[0] < 0x80             ? 1
             : (s[0] & 0xE0) == 0xC0 ? 2
             : (s[0] & 0xF0) == 0xE0 ? 3
             : (s[0] & 0xF8) == 0xF0 ? 4
                                     : 0;
  if (n == 0 || n > len) return 0;
  for (size_t k = 1; k < n; k++)
    if ((s[k] & 0xC0) != 0x80) return 0;
  return n;
}

/* A JSON string of s. jansson rejects invalid UTF-8 (possible in TEXT arguments and in
 * messages that quote them), so each byte that does not start a valid character becomes
 * U+FFFD. NULL only when out of memory. */
static json_t *json_text(const char *s, size_t len) {
  json_t *value = json_stringn(s, len);
  if (value != NULL) return value;
  char *clean = malloc(len * 3 + 1);
  if (clean == NULL) return NULL;
  size_t used = 0;
  for (size_t i = 0; i < len;) {
    size_t n = utf8_length((const unsigned char *)s + i, len - i);
    if (n == 0) {
      memcpy(clean + used, "\xEF\xBF\xBD", 3);
      used += 3;
      i++;
      continue;
    }
    memcpy(clean + used, s + i, n);
    used += n;
    i += n;
  }
  value = json_stringn(clean, used);
  free(clean);
  return value;
}

static bool json_add_part_fields(json_t *obj, const promo_offer_part *p) {
  json_t *flags = json_array();
  bool ok = flags != NULL;
  if (ok && (p->flags & PROMO_OFFER_FLAG_UP_TO))
    ok = json_array_append_new(flags, json_string("up_to")) == 0;
  if (ok && (p->flags & PROMO_OFFER_FLAG_ITEM_THRESHOLD))
    ok = json_array_append_new(flags, json_string("item_threshold")) == 0;
  if (ok && (p->flags & PROMO_OFFER_FLAG_COUPON))
    ok = json_array_append_new(flags, json_string("coupon")) == 0;
  ok = ok && json_set(obj, "threshold", json_real(p->threshold)) &&
       json_set(obj, "amount", json_real(p->amount)) && json_set(obj, "rate", json_real(p->rate)) &&
       json_set(obj, "buy_count", json_integer(p->buy_count)) &&
       json_set(obj, "get_count", json_integer(p->get_count)) &&
       json_set(obj, "gift_value", json_real(p->gift_value)) &&
       json_set(obj, "duration_hours", json_real(p->duration_hours));
  if (!ok) {
    json_decref(flags);
    return false;
  }
  return json_set(obj, "flags", flags);
}

/* One text's parse as a JSON object: the kind, the fields of a single part at the top
 * level, and every part under "parts". NULL when out of memory. */
static json_t *offer_to_json(const char *text, const promo_offer *offer, const double *rate) {
  json_t *obj = json_object(), *parts = json_array();
  const char *kind = promo_offer_kind_name(promo_offer_main_kind(offer));
  bool ok = obj != NULL && parts != NULL && json_set(obj, "text", json_text(text, strlen(text))) &&
            json_set(obj, "kind", json_string(kind));
  if (ok && offer->n_parts == 1) ok = json_add_part_fields(obj, &offer->parts[0]);
  for (size_t k = 0; ok && k < offer->n_parts; k++) {
    const promo_offer_part *p = &offer->parts[k];
    json_t *part = json_object();
    ok = part != NULL && json_array_append_new(parts, part) == 0 &&
         json_set(part, "kind", json_string(promo_offer_kind_name(p->kind))) &&
         json_set(part, "text", json_text(text + p->text_offset, p->text_length)) &&
         json_add_part_fields(part, p);
  }
  if (ok && rate != NULL) ok = json_set(obj, "effective_rate", json_real(*rate));
  if (ok) {
    ok = json_set(obj, "parts", parts);
    parts = NULL;
  }
  json_decref(parts);
  if (!ok) {
    json_decref(obj);
    return NULL;
  }
  return obj;
}

/* {"line": ..., "text": ..., "error": ...} for a text that failed, without "line" when
 * line is 0. NULL when out of memory. */
static json_t *failure_to_json(int64_t line, const char *text, size_t len, const promo_error *err) {
  json_t *obj = json_object();
  if (obj == NULL) return NULL;
  if ((line > 0 && !json_set(obj, "line", json_integer((json_int_t)line))) ||
      !json_set(obj, "text", json_text(text, len)) ||
      !json_set(obj, "error", json_text(err->message, strlen(err->message)))) {
    json_decref(obj);
    return NULL;
  }
  return obj;
}

/* Print obj as one line on stdout and release it. Returns false only for a NULL obj (out
 * of memory); write errors show in ferror(stdout), which the callers check at the end. */
static bool print_json_line(json_t *obj) {
  if (obj == NULL) return false;
  json_dumpf(obj, stdout, JSON_FLAGS);
  fputc('\n', stdout);
  json_decref(obj);
  return true;
}

/* Flush stdout and report a failed write; returns false after printing the error. */
static bool flush_output(void) {
  if (fflush(stdout) == 0 && !ferror(stdout)) return true;
  cli_error(_("writing the output failed: %s"), strerror(errno));
  return false;
}

/* ===================================================================== TEXT arguments */

static int run_texts(cli *app, const offer_options *opt) {
  (void)app;
  int n_failed = 0;
  for (int t = 0; t < opt->n_texts; t++) {
    const char *text = opt->texts[t];
    promo_offer offer;
    promo_error err;
    promo_error_clear(&err);
    double rate = 1.0;
    promo_status st = promo_offer_parse(text, -1, &offer, &err);
    if (st == PROMO_OK && opt->has_price)
      st = promo_offer_effective_rate(&offer, opt->price, opt->quantity, &rate, &err);
    if (st != PROMO_OK) {
      cli_print_error(&err);
      n_failed++;
      if (opt->json && !print_json_line(failure_to_json(0, text, strlen(text), &err)))
        goto out_of_memory;
      continue;
    }

    if (opt->json) {
      if (!print_json_line(offer_to_json(text, &offer, opt->has_price ? &rate : NULL)))
        goto out_of_memory;
      continue;
    }
    char description[1024];
    describe_offer(&offer, description, sizeof description);
    printf("%s  ->  %s", text, description);
    if (opt->has_price)
      printf(_("  [price %g x %" PRId64 ": pays %.4g of the list price]"), opt->price,
             opt->quantity, rate);
    putchar('\n');
  }
  if (!flush_output()) return EXIT_FAILED;
  return n_failed > 0 ? EXIT_BAD_INPUT : EXIT_OK;

out_of_memory:
  cli_error("%s", _("out of memory"));
  return EXIT_FAILED;
}

/* ===================================================================== --file */

typedef struct column_counts {
  uint64_t n_rows;
  uint64_t n_failed;
  uint64_t by_kind[PROMO_OFFER_N_KINDS];
} column_counts;

/* At most this many distinct failed texts are listed; the rest are only counted. */
#define MAX_LISTED_FAILURES 20

/* Distinct failed texts are counted exactly up to this many. Past it the count of texts
 * not listed is a lower bound. The dictionary of hashes then takes about 37 MB (16 MB of
 * slots, 12 MB of code arrays, 9 MB of key copies), computed from promo_dict's layout. */
#define MAX_COUNTED_TEXTS (1u << 20)

/* One listed failed text: its first error and how many rows have exactly this text. */
typedef struct listed_failure {
  char *text; /* owned copy of the cell */
  size_t text_len;
  uint64_t n_rows;
  promo_error err; /* error of the first row, with path and line */
} listed_failure;

/* The failures of a column, capped: the first MAX_LISTED_FAILURES distinct texts in
 * full, then counts of the rows and texts not listed. */
typedef struct failure_summary {
  /* 64-bit XXH3 hashes of the distinct failed texts, as 8-byte strings. Codes are given
   * in order of first appearance, so code k < n_listed is listed[k]. */
  promo_dict *seen;
  listed_failure listed[MAX_LISTED_FAILURES];
  size_t n_listed;
  uint64_t n_unlisted_rows;
  bool is_lower_bound; /* some texts went uncounted after MAX_COUNTED_TEXTS */
} failure_summary;

/* Free the summary and its texts. Accepts NULL. */
static void failure_summary_free(failure_summary *f) {
  if (f == NULL) return;
  promo_dict_free(f->seen);
  for (size_t k = 0; k < f->n_listed; k++) free(f->listed[k].text);
  free(f);
}

/* Distinct failed texts not listed (a lower bound when f->is_lower_bound). */
static uint64_t n_unlisted_texts(const failure_summary *f) {
  return (uint64_t)promo_dict_size(f->seen) - f->n_listed;
}

/* Count one failed row. Returns PROMO_ERR_NOMEM (or PROMO_ERR_UNSUPPORTED from the
 * dictionary) when the summary cannot grow. */
static promo_status add_failure(failure_summary *f, const char *text, size_t len,
                                const promo_error *err) {
  uint64_t hash = XXH3_64bits(text, len);
  int32_t code;
  if (promo_dict_size(f->seen) < MAX_COUNTED_TEXTS) {
    promo_status st = promo_dict_intern(f->seen, (const char *)&hash, sizeof hash, &code);
    if (st != PROMO_OK) return st;
  } else {
    code = promo_dict_find(f->seen, (const char *)&hash, sizeof hash);
    if (code < 0) {
      f->is_lower_bound = true;
      f->n_unlisted_rows++;
      return PROMO_OK;
    }
  }

  if ((size_t)code < f->n_listed) {
    f->listed[code].n_rows++;
    return PROMO_OK;
  }
  if ((size_t)code > f->n_listed || f->n_listed == MAX_LISTED_FAILURES) {
    f->n_unlisted_rows++;
    return PROMO_OK;
  }
  listed_failure *item = &f->listed[f->n_listed];
  item->text = malloc(len + 1);
  if (item->text == NULL) return PROMO_ERR_NOMEM;
  memcpy(item->text, text, len);
  item->text[len] = '\0';
  item->text_len = len;
  item->n_rows = 1;
  item->err = *err;
  f->n_listed++;
  return PROMO_OK;
}

/* Index of --column in the header: a name first, then a 1-based number. Returns false
 * after printing a usage error. */
static bool find_column(const promo_csv *reader, const char *column, size_t *index) {
  size_t n = promo_csv_n_columns(reader);
  for (size_t k = 0; k < n; k++) {
    if (strcmp(promo_csv_column_name(reader, k), column) == 0) {
      *index = k;
      return true;
    }
  }
  char *end;
  errno = 0;
  long long number = strtoll(column, &end, 10);
  if (errno == 0 && end != column && *end == '\0' && number >= 1 &&
      (unsigned long long)number <= n) {
    *index = (size_t)(number - 1);
    return true;
  }
  char names[512];
  size_t used = 0;
  names[0] = '\0';
  for (size_t k = 0; k < n && used < sizeof names; k++) {
    int w = snprintf(names + used, sizeof names - used, "%s%s", k > 0 ? ", " : "",
                     promo_csv_column_name(reader, k));
    if (w < 0) break;
    used += (size_t)w;
  }
  cli_usage_error("offer", _("column '%s' not found in %s; its columns are: %s"), column,
                  promo_csv_path(reader), names);
  return false;
}

/* Parse one cell and count it; a failure goes into `failures`. */
static promo_status check_cell(const promo_csv_record *record, size_t col, const char *path,
                               const char *column_name, column_counts *counts,
                               failure_summary *failures) {
  promo_offer offer;
  promo_error err;
  promo_error_clear(&err);
  counts->n_rows++;
  const char *text = record->fields[col];
  if (promo_offer_parse(text, record->lengths[col], &offer, &err) == PROMO_OK) {
    counts->by_kind[promo_offer_main_kind(&offer)]++;
    return PROMO_OK;
  }
  counts->n_failed++;
  promo_error_at(&err, path, record->line, 0);
  snprintf(err.column_name, sizeof err.column_name, "%s", column_name);
  return add_failure(failures, text, record->lengths[col], &err);
}

/* The listed failures on stderr, one line each, then one line for the rest. */
static void print_failures(const failure_summary *f) {
  for (size_t k = 0; k < f->n_listed; k++) {
    const listed_failure *item = &f->listed[k];
    char message[2048];
    promo_error_format(&item->err, message, sizeof message);
    fprintf(stderr, "promo: %s", message);
    if (item->n_rows > 1)
      fprintf(stderr, _(" (%" PRIu64 " rows with this text)"), item->n_rows);
    fputc('\n', stderr);
  }
  if (f->n_unlisted_rows == 0) return;

  char rows[64], texts[64];
  uint64_t n_texts = n_unlisted_texts(f);
  snprintf(rows, sizeof rows,
           P_("%" PRIu64 " more row", "%" PRIu64 " more rows", f->n_unlisted_rows),
           f->n_unlisted_rows);
  snprintf(texts, sizeof texts, P_("%" PRIu64 " other text", "%" PRIu64 " other texts", n_texts),
           n_texts);
  /* TRANSLATORS: the first %s is "N more rows", the second "M other texts". */
  if (f->is_lower_bound)
    cli_error(_("... and %s with at least %s that failed"), rows, texts);
  else
    cli_error(_("... and %s with %s that failed"), rows, texts);
}

static void print_counts(const offer_options *opt, const char *column_name,
                         const column_counts *counts) {
  printf(_("%s, column %s: %" PRIu64 " rows, %" PRIu64 " parsed, %" PRIu64 " failed\n"), opt->file,
         column_name, counts->n_rows, counts->n_rows - counts->n_failed, counts->n_failed);
  for (int k = 0; k < PROMO_OFFER_N_KINDS; k++) {
    if (counts->by_kind[k] == 0) continue;
    const char *label = kind_label((promo_offer_kind)k);
    printf("  %s%*s %10" PRIu64 "\n", label, 24 - cli_display_width(label), "", counts->by_kind[k]);
  }
}

/* The listed failures as a JSON array, or NULL when out of memory. */
static json_t *failures_to_json(const failure_summary *f) {
  json_t *list = json_array();
  for (size_t k = 0; list != NULL && k < f->n_listed; k++) {
    const listed_failure *item = &f->listed[k];
    json_t *obj = failure_to_json(item->err.line, item->text, item->text_len, &item->err);
    if (obj == NULL || !json_set(obj, "rows", json_integer((json_int_t)item->n_rows)) ||
        json_array_append_new(list, obj) != 0) {
      json_decref(list);
      list = NULL;
    }
  }
  return list;
}

static json_t *counts_to_json(const offer_options *opt, const char *column_name,
                              const column_counts *counts, const failure_summary *failures) {
  json_t *by_kind = json_object();
  for (int k = 0; by_kind != NULL && k < PROMO_OFFER_N_KINDS; k++) {
    if (counts->by_kind[k] == 0) continue;
    if (!json_set(by_kind, promo_offer_kind_name((promo_offer_kind)k),
                  json_integer((json_int_t)counts->by_kind[k]))) {
      json_decref(by_kind);
      by_kind = NULL;
    }
  }
  uint64_t n_texts = n_unlisted_texts(failures);
  return json_pack("{s:s, s:s, s:I, s:I, s:I, s:o, s:I, s:b, s:o, s:I, s:I}", "file", opt->file,
                   "column", column_name, "rows", (json_int_t)counts->n_rows, "parsed",
                   (json_int_t)(counts->n_rows - counts->n_failed), "failed",
                   (json_int_t)counts->n_failed, "counts", by_kind, "failed_texts",
                   (json_int_t)(failures->n_listed + n_texts), "failed_texts_exact",
                   !failures->is_lower_bound, "failures", failures_to_json(failures),
                   "unlisted_rows", (json_int_t)failures->n_unlisted_rows, "unlisted_texts",
                   (json_int_t)n_texts);
}

/* Open --file and find --column in its header. Returns -1 on success, otherwise the exit
 * code after printing the error. */
static int open_column(const offer_options *opt, promo_csv **reader, size_t *col) {
  promo_csv_options csv_opt;
  promo_csv_options_init(&csv_opt);
  csv_opt.encoding = opt->encoding;
  csv_opt.replace_invalid = opt->replace_invalid;
  promo_error err;
  promo_error_clear(&err);
  promo_status st = promo_csv_open(opt->file, &csv_opt, reader, &err);
  if (st != PROMO_OK) {
    cli_print_error(&err);
    return cli_exit_code(st);
  }
  if (!find_column(*reader, opt->column, col)) {
    promo_csv_close(*reader);
    return EXIT_USAGE;
  }
  return -1;
}

/* Parse every cell of column col into counts and failures. Returns -1 after the last
 * row, otherwise the exit code after printing the error (a CSV error, cancellation, out
 * of memory). */
static int check_column(cli *app, promo_csv *reader, size_t col, column_counts *counts,
                        failure_summary *failures) {
  const char *path = promo_csv_path(reader), *column_name = promo_csv_column_name(reader, col);
  promo_error err;
  promo_error_clear(&err);
  promo_csv_record record;
  promo_status st;
  while ((st = promo_csv_next(reader, &record, &err)) == PROMO_OK) {
    promo_status added = check_cell(&record, col, path, column_name, counts, failures);
    if (added != PROMO_OK) {
      cli_error("%s", promo_status_text(added));
      return EXIT_FAILED;
    }
    if (counts->n_rows % 4096 != 0) continue;

    /* The reader reads ahead, so bytes_read can reach the size long before the last
     * row; the final report comes after the loop. */
    uint64_t done = promo_csv_bytes_read(reader), total = promo_csv_size(reader);
    if (done < total) promo_progress(&app->ctx, "offer", done, total);
    if (promo_cancelled(&app->ctx)) {
      cli_error("%s", _("cancelled"));
      return EXIT_FAILED;
    }
  }
  if (st != PROMO_END) {
    cli_print_error(&err);
    return cli_exit_code(st);
  }
  promo_progress(&app->ctx, "offer", promo_csv_size(reader), promo_csv_size(reader));
  return -1;
}

/* Print the summary of a checked column: listed failures on stderr, then the counts on
 * stdout (as one JSON object with --json). Returns the exit code. */
static int report_column(const offer_options *opt, const char *column_name,
                         const column_counts *counts, const failure_summary *failures) {
  if (!opt->json) {
    print_failures(failures);
    print_counts(opt, column_name, counts);
  } else if (!print_json_line(counts_to_json(opt, column_name, counts, failures))) {
    cli_error("%s", _("out of memory"));
    return EXIT_FAILED;
  }
  if (!flush_output()) return EXIT_FAILED;
  return counts->n_failed > 0 ? EXIT_BAD_INPUT : EXIT_OK;
}

static int run_file(cli *app, const offer_options *opt) {
  promo_csv *reader = NULL;
  size_t col;
  int rc = open_column(opt, &reader, &col);
  if (rc >= 0) return rc;

  failure_summary *failures = calloc(1, sizeof *failures); /* about 30 KB */
  column_counts counts;
  memset(&counts, 0, sizeof counts);
  double start_ms = promo_now_ms();
  if (failures == NULL || promo_dict_create(&failures->seen) != PROMO_OK) {
    cli_error("%s", _("out of memory"));
    rc = EXIT_FAILED;
  } else {
    rc = check_column(app, reader, col, &counts, failures);
  }

  if (rc < 0) {
    promo_log(&app->ctx, PROMO_LOG_INFO, _("parsed %" PRIu64 " texts of %s in %.0f ms"),
              counts.n_rows, opt->file, promo_now_ms() - start_ms);
    rc = report_column(opt, promo_csv_column_name(reader, col), &counts, failures);
  }
  failure_summary_free(failures);
  promo_csv_close(reader);
  return rc;
}

/* ===================================================================== options */

static int check_option_combination(const offer_options *opt, bool has_quantity,
                                    bool has_encoding) {
  if (opt->file != NULL && opt->column == NULL)
    return cli_usage_error("offer", "%s", _("--file needs --column to name the column to parse"));
  if (opt->column != NULL && opt->file == NULL)
    return cli_usage_error("offer", "%s", _("--column works only with --file"));
  if (has_encoding && opt->file == NULL)
    return cli_usage_error("offer", "%s", _("--encoding works only with --file"));
  if (opt->replace_invalid && opt->file == NULL)
    return cli_usage_error("offer", "%s", _("--replace-invalid works only with --file"));
  if (opt->file != NULL && opt->n_texts > 0)
    return cli_usage_error("offer", "%s", _("give either TEXT arguments or --file, not both"));
  if (opt->file != NULL && opt->has_price)
    return cli_usage_error("offer", "%s", _("--price works only with TEXT arguments"));
  if (has_quantity && !opt->has_price)
    return cli_usage_error("offer", "%s", _("--quantity needs --price"));
  if (opt->file == NULL && opt->n_texts == 0)
    return cli_usage_error("offer", "%s",
                           _("give at least one TEXT to parse, or --file and --column"));
  return -1;
}

/* Parse argv into opt. Returns -1 when the options are valid, otherwise the exit code
 * (help printed: EXIT_OK; usage error printed: EXIT_USAGE). */
static int parse_options(int argc, char **argv, offer_options *opt) {
  opt->quantity = 1;
  bool only_texts = false, has_quantity = false, has_encoding = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *value = NULL;
    int got = 0;
    /* "-" and "-20%" are offer texts, so only "--name" and -h are options. */
    bool is_option = !only_texts && (strncmp(a, "--", 2) == 0 || strcmp(a, "-h") == 0);
    if (!is_option) {
      opt->texts[opt->n_texts++] = argv[i];
    } else if (strcmp(a, "--") == 0) {
      only_texts = true;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      cli_print_help_offer(stdout);
      return EXIT_OK;
    } else if (strcmp(a, "--json") == 0) {
      opt->json = true;
    } else if (strcmp(a, "--replace-invalid") == 0) {
      opt->replace_invalid = true;
    } else if ((got = cli_option_value(argc, argv, &i, "--price", &value)) != 0) {
      if (got < 0) return EXIT_USAGE;
      char *end;
      errno = 0;
      opt->price = strtod(value, &end);
      if (errno != 0 || end == value || *end != '\0' || !(opt->price > 0) || !isfinite(opt->price))
        return cli_usage_error(
            "offer", _("invalid --price '%s'; give a positive number such as 199.9"), value);
      opt->has_price = true;
    } else if ((got = cli_option_value(argc, argv, &i, "--quantity", &value)) != 0) {
      if (got < 0) return EXIT_USAGE;
      char *end;
      errno = 0;
      long long q = strtoll(value, &end, 10);
      if (errno != 0 || end == value || *end != '\0' || q < 1 || q > 1000000)
        return cli_usage_error(
            "offer", _("invalid --quantity '%s'; give a whole number from 1 to 1000000"), value);
      opt->quantity = q;
      has_quantity = true;
    } else if ((got = cli_option_value(argc, argv, &i, "--file", &value)) != 0) {
      if (got < 0) return EXIT_USAGE;
      opt->file = value;
    } else if ((got = cli_option_value(argc, argv, &i, "--column", &value)) != 0) {
      if (got < 0) return EXIT_USAGE;
      opt->column = value;
    } else if ((got = cli_option_value(argc, argv, &i, "--encoding", &value)) != 0) {
      if (got < 0) return EXIT_USAGE;
      if (!promo_encoding_parse(value, &opt->encoding))
        return cli_usage_error("offer", _("unknown --encoding '%s'; use auto, utf-8 or gb18030"),
                               value);
      has_encoding = true;
    } else {
      return cli_usage_error("offer", _("unknown option '%s'"), a);
    }
  }
  return check_option_combination(opt, has_quantity, has_encoding);
}

int cli_offer(cli *app, int argc, char **argv) {
  offer_options opt;
  memset(&opt, 0, sizeof opt);
  opt.texts = calloc((size_t)argc + 1, sizeof *opt.texts);
  if (opt.texts == NULL) {
    cli_error("%s", _("out of memory"));
    return EXIT_FAILED;
  }
  int rc = parse_options(argc, argv, &opt);
  if (rc < 0) rc = opt.file != NULL ? run_file(app, &opt) : run_texts(app, &opt);
  free(opt.texts);
  return rc;
}
