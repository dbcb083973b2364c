/* Plan stage: the option list parser. An option list such as
 * "none;8折;sale: price*=0.8, deal=1" names the candidate promotions of `promo optimize`;
 * each option is an offer text, a set of column edits, or both. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "promo/plan.h"

#define MAX_OPTIONS 1024
#define MAX_EDITS 1024

struct promo_plan_option_list {
  char *text;                 /* the list text, cut in place into the strings below */
  size_t n_options;
  promo_plan_option *options; /* [n_options] */
  promo_plan_edit *edits;     /* every option's edits, back to back */
};

size_t promo_plan_option_list_size(const promo_plan_option_list *list) { return list->n_options; }

const promo_plan_option *promo_plan_option_list_items(const promo_plan_option_list *list) {
  return list->options;
}

void promo_plan_option_list_free(promo_plan_option_list *list) {
  if (list == NULL) return;
  free(list->text);
  free(list->options);
  free(list->edits);
  free(list);
}

/* ---- text helpers ---- */

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Trim ASCII spaces of s[0..len) in place; returns the new start, NUL-terminated. */
static char *trim(char *s, size_t len) {
  while (len > 0 && is_space(s[0])) s++, len--;
  while (len > 0 && is_space(s[len - 1])) len--;
  s[len] = '\0';
  return s;
}

/* Length of the separator at s: 1 for `ascii`, 3 for the full-width form `wide` (UTF-8),
 * 0 for none. */
static size_t separator_at(const char *s, char ascii, const char *wide) {
  if (*s == ascii) return 1;
  return wide != NULL && strncmp(s, wide, 3) == 0 ? 3 : 0;
}

/* Split s at each separator by writing NULs, and store at most `capacity` trimmed piece
 * starts in pieces. Returns the piece count, or capacity + 1 when there are more. */
static size_t split(char *s, char ascii, const char *wide, char **pieces, size_t capacity) {
  size_t n = 0;
  char *start = s;
  for (char *q = s;; q++) {
    size_t sep = *q == '\0' ? 1 : separator_at(q, ascii, wide);
    if (sep == 0) continue;
    if (n == capacity) return capacity + 1;
    bool end = *q == '\0';
    pieces[n++] = trim(start, (size_t)(q - start));
    if (end) break;
    start = q + sep;
    q += sep - 1;
  }
  return n;
}

/* ---- one option ---- */

static promo_status usage_error(promo_error *err, const char *option, const char *fmt, const char *a) {
  promo_error_value(err, option, -1);
  return promo_error_set(err, PROMO_ERR_USAGE, fmt, a);
}

/* Parse one edit "COL=TEXT", "COL*=NUMBER" or "COL+=NUMBER" in place. */
static promo_status parse_edit(char *text, const char *option, promo_plan_edit *edit, promo_error *err) {
  if (*text == '\0')
    return usage_error(err, option, _("option \"%s\" has an empty edit; write COL=VALUE, COL*=FACTOR "
                                      "or COL+=AMOUNT between the commas"),
                       option);
  char *eq = strchr(text, '=');
  if (eq == NULL)
    return usage_error(err, option, _("edit \"%s\" has no '='; write COL=VALUE, COL*=FACTOR or "
                                      "COL+=AMOUNT"),
                       text);
  edit->kind = PROMO_PLAN_EDIT_SET;
  char *column_end = eq;
  if (eq > text && (eq[-1] == '*' || eq[-1] == '+')) {
    edit->kind = eq[-1] == '*' ? PROMO_PLAN_EDIT_SCALE : PROMO_PLAN_EDIT_ADD;
    column_end = eq - 1;
  }
  char *value = trim(eq + 1, strlen(eq + 1));
  edit->column = trim(text, (size_t)(column_end - text));
  if (edit->column[0] == '\0')
    return usage_error(err, option, _("an edit of option \"%s\" names no column before '='"), option);
  edit->text = value;
  edit->number = 0.0;
  if (edit->kind == PROMO_PLAN_EDIT_SET) return PROMO_OK;

  char *end = NULL;
  errno = 0;
  edit->number = strtod(value, &end);
  if (value[0] == '\0' || errno != 0 || *end != '\0' || !isfinite(edit->number))
    return usage_error(err, option, _("\"%s\" is not a number; '*=' and '+=' take a finite number "
                                      "such as 0.8 or -5"),
                       value);
  return PROMO_OK;
}

/* The colon that starts the edits: the last ':' or '：' before the first '=', so that a
 * name may hold a colon itself (赠品:15: price*=0.9). NULL without '=' or such a colon. */
static char *edits_colon(char *text, size_t *sep_len) {
  char *eq = strchr(text, '='), *colon = NULL;
  if (eq == NULL) return NULL;
  for (char *q = text; q < eq; q++) {
    size_t sep = separator_at(q, ':', "\xEF\xBC\x9A");
    if (sep == 0) continue;
    colon = q;
    *sep_len = sep;
    q += sep - 1;
  }
  return colon;
}

static promo_status parse_option(char *text, promo_plan_option *option, promo_plan_edit *edits,
                                 promo_error *err) {
  /* The whole text is kept for messages before it is cut. */
  char whole[PROMO_OFFER_MAX_TEXT + 1];
  snprintf(whole, sizeof whole, "%s", text);
  size_t sep_len = 0;
  char *colon = edits_colon(text, &sep_len);
  char *edit_text = NULL;
  if (colon != NULL) {
    edit_text = colon + sep_len;
    option->name = trim(text, (size_t)(colon - text));
  } else {
    option->name = text;
  }
  if (option->name[0] == '\0')
    return usage_error(err, whole, _("option \"%s\" has no name before ':'"), whole);

  option->n_edits = 0;
  option->edits = edits;
  if (edit_text != NULL) {
    char *pieces[MAX_EDITS];
    size_t n = split(edit_text, ',', "\xEF\xBC\x8C", pieces, MAX_EDITS);
    if (n > MAX_EDITS)
      return usage_error(err, whole, _("option \"%s\" has more than 1024 edits"), whole);
    for (size_t k = 0; k < n; k++) {
      promo_status st = parse_edit(pieces[k], whole, &edits[k], err);
      if (st != PROMO_OK) return st;
    }
    option->n_edits = n;
  }

  promo_offer offer;
  bool is_offer = promo_offer_parse(option->name, -1, &offer, NULL) == PROMO_OK;
  option->offer = is_offer ? option->name : NULL;
  if (!is_offer && option->n_edits == 0)
    return usage_error(err, whole, _("option \"%s\" is not an offer text promo can read and sets no "
                                     "column; check it with 'promo offer', or write NAME: COL=VALUE"),
                       whole);
  return PROMO_OK;
}

/* ---- the list ---- */

static size_t count_edits_upper_bound(const char *text) {
  size_t n = 1;
  for (const char *q = text; *q != '\0'; q++) n += *q == ',' || *q == ';' || (unsigned char)*q == 0xEF;
  return n;
}

static promo_status check_unique(const promo_plan_option_list *list, promo_error *err) {
  for (size_t i = 0; i < list->n_options; i++)
    for (size_t k = 0; k < i; k++)
      if (strcmp(list->options[i].name, list->options[k].name) == 0)
        return usage_error(err, list->options[i].name,
                           _("option \"%s\" is given twice; give each option once"),
                           list->options[i].name);
  return PROMO_OK;
}

promo_status promo_plan_options_parse(const char *text, promo_plan_option_list **out, promo_error *err) {
  *out = NULL;
  promo_plan_option_list *list = calloc(1, sizeof *list);
  char **pieces = calloc(MAX_OPTIONS + 1, sizeof *pieces);
  size_t max_edits = text != NULL ? count_edits_upper_bound(text) : 1;
  if (list != NULL) {
    list->text = strdup(text != NULL ? text : "");
    list->options = calloc(MAX_OPTIONS, sizeof *list->options);
    list->edits = calloc(max_edits, sizeof *list->edits);
  }
  promo_status st = PROMO_OK;
  if (list == NULL || pieces == NULL || list->text == NULL || list->options == NULL || list->edits == NULL) {
    st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    goto done;
  }
  if (trim(list->text, strlen(list->text))[0] == '\0') {
    st = promo_error_set(err, PROMO_ERR_USAGE, "%s",
                         _("the option list is empty; give options such as \"none;9折;满200减30\""));
    goto done;
  }

  size_t n = split(list->text, ';', "\xEF\xBC\x9B", pieces, MAX_OPTIONS);
  if (n > MAX_OPTIONS) {
    st = promo_error_set(err, PROMO_ERR_USAGE, "%s", _("the option list has more than 1024 options"));
    goto done;
  }
  size_t edits_used = 0;
  for (size_t k = 0; k < n && st == PROMO_OK; k++) {
    if (pieces[k][0] == '\0') {
      st = promo_error_set(err, PROMO_ERR_USAGE,
                           _("option %zu of the list is empty; separate options with a single ';'"), k + 1);
      break;
    }
    st = parse_option(pieces[k], &list->options[k], list->edits + edits_used, err);
    edits_used += list->options[k].n_edits;
    list->n_options = k + 1;
  }
  if (st == PROMO_OK) st = check_unique(list, err);

done:
  free(pieces);
  if (st == PROMO_OK) {
    *out = list;
  } else {
    promo_plan_option_list_free(list);
  }
  return st;
}
