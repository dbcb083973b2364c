/* Promotion text columns as model inputs: each distinct text is parsed once with the
 * offer parser, and every row gets the depth of its discount, its numbers and a flag per
 * kind of promotion. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "feature/pipeline_internal.h"
#include "promo/feature.h"

/* Outputs of one offer column, in order; "rate_at_price" only with a price column. */
static const char *const offer_output_suffixes[] = {
    "depth",         "threshold",     "amount",         "gift_value",   "flash_hours",
    "has_percent_off", "has_amount_off", "has_threshold_off", "has_repeated_off",
    "has_multi_buy", "has_gift",      "has_free_shipping", "has_flash_sale", "coupon",
    "unknown"};
enum { N_OFFER_FIXED_OUTPUTS = sizeof offer_output_suffixes / sizeof offer_output_suffixes[0] };

size_t offer_step_n_outputs(const offer_step *step) {
  return N_OFFER_FIXED_OUTPUTS + (step->price_column != NULL ? 1 : 0);
}

promo_status offer_step_output_name(const offer_step *step, size_t j, char *buf, size_t size) {
  const char *suffix = j < N_OFFER_FIXED_OUTPUTS ? offer_output_suffixes[j] : "rate_at_price";
  int n = snprintf(buf, size, "%s_%s", step->column, suffix);
  return n > 0 && (size_t)n < size ? PROMO_OK : PROMO_ERR_UNSUPPORTED;
}

/* Share of the price a shopper saves when the offer's condition is met: 1 - product of
 * what each part leaves to pay. AMOUNT_OFF needs a price and counts 0 without one. */
static double offer_depth(const promo_offer *offer, double price) {
  double paid = 1.0;
  for (size_t i = 0; i < offer->n_parts; i++) {
    const promo_offer_part *p = &offer->parts[i];
    double depth = 0.0;
    switch (p->kind) {
      case PROMO_OFFER_PERCENT_OFF: depth = 1.0 - p->rate; break;
      case PROMO_OFFER_THRESHOLD_OFF:
      case PROMO_OFFER_REPEATED_OFF:
        if (p->threshold > 0 && !(p->flags & PROMO_OFFER_FLAG_ITEM_THRESHOLD))
          depth = p->amount / p->threshold;
        else if (price > 0 && p->threshold > 0)
          depth = p->amount / (p->threshold * price);
        break;
      case PROMO_OFFER_AMOUNT_OFF:
        if (price > 0) depth = p->amount / price;
        break;
      case PROMO_OFFER_MULTI_BUY:
        depth = p->get_count > 0 ? p->get_count * (1.0 - p->rate) / (p->buy_count + p->get_count)
                                 : 1.0 - p->rate;
        break;
      default: break;
    }
    if (depth < 0) depth = 0;
    if (depth > 1) depth = 1;
    paid *= 1.0 - depth;
  }
  return 1.0 - paid;
}

/* Raw (unscaled) outputs of one parsed offer into out[0..n_outputs). */
static void offer_values(const offer_step *step, const promo_offer *offer, bool parsed,
                         double price, float *out) {
  size_t n = offer_step_n_outputs(step);
  for (size_t j = 0; j < n; j++) out[j] = 0.0f;
  if (!parsed) {
    out[N_OFFER_FIXED_OUTPUTS - 1] = 1.0f;
    if (step->price_column != NULL) out[N_OFFER_FIXED_OUTPUTS] = 1.0f;
    return;
  }
  double threshold = 0, amount = 0, gift = 0, hours = 0;
  bool coupon = false;
  for (size_t i = 0; i < offer->n_parts; i++) {
    const promo_offer_part *p = &offer->parts[i];
    if (p->threshold > threshold) threshold = p->threshold;
    amount += p->amount;
    gift += p->gift_value;
    if (p->duration_hours > hours) hours = p->duration_hours;
    coupon |= (p->flags & PROMO_OFFER_FLAG_COUPON) != 0;
    if (p->kind >= PROMO_OFFER_PERCENT_OFF && p->kind <= PROMO_OFFER_FLASH_SALE)
      out[5 + (p->kind - PROMO_OFFER_PERCENT_OFF)] = 1.0f;
  }
  out[0] = (float)offer_depth(offer, price);
  out[1] = (float)threshold;
  out[2] = (float)amount;
  out[3] = (float)gift;
  out[4] = (float)hours;
  out[13] = coupon ? 1.0f : 0.0f;
  if (step->price_column != NULL) {
    /* Without a usable price, the share paid once the condition is met is used instead.
     * It is exact for percent-off and multi-buy offers. */
    double rate = 1.0 - out[0];
    if (price > 0 && isfinite(price) &&
        promo_offer_effective_rate(offer, price, 1, &rate, NULL) != PROMO_OK)
      rate = 1.0 - out[0];
    out[N_OFFER_FIXED_OUTPUTS] = (float)rate;
  }
}

static double row_price(const promo_column *col, size_t r) {
  if (col == NULL || col->is_missing[r]) return NAN;
  if (col->type == PROMO_TYPE_DECIMAL) return col->reals[r];
  if (col->type == PROMO_TYPE_INT) return (double)col->ints[r];
  return NAN;
}

promo_status offer_step_apply(const offer_step *step, const promo_table *table, float *X,
                              size_t ld, size_t offset, uint8_t *rejected,
                              uint64_t *n_unparsed, promo_error *err) {
  ptrdiff_t c = promo_table_find(table, step->column);
  if (c < 0) {
    snprintf(err->column_name, sizeof err->column_name, "%s", step->column);
    return promo_error_set(err, PROMO_ERR_DATA, _("column '%s' is missing from the data"),
                           step->column);
  }
  const promo_column *col = &table->columns[c];
  if (!promo_type_is_string(col->type)) {
    return promo_error_set(err, PROMO_ERR_DATA,
                           _("column '%s' holds %s values, not promotion text"), step->column,
                           promo_type_name(col->type));
  }
  const promo_column *price = NULL;
  if (step->price_column != NULL) {
    ptrdiff_t p = promo_table_find(table, step->price_column);
    if (p < 0)
      return promo_error_set(err, PROMO_ERR_DATA, _("price column '%s' is missing from the data"),
                             step->price_column);
    price = &table->columns[p];
  }

  /* Parse each distinct text once. */
  size_t n_levels = promo_dict_size(col->dict);
  promo_offer *offers = malloc((n_levels > 0 ? n_levels : 1) * sizeof *offers);
  uint8_t *parsed = malloc(n_levels > 0 ? n_levels : 1);
  if (offers == NULL || parsed == NULL) {
    free(offers);
    free(parsed);
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  }
  for (size_t k = 0; k < n_levels; k++) {
    size_t len;
    const char *text = promo_dict_string(col->dict, (int32_t)k, &len);
    parsed[k] = promo_offer_parse(text, (ptrdiff_t)len, &offers[k], NULL) == PROMO_OK;
  }

  static const promo_offer no_offer = {0};
  *n_unparsed = 0;
  for (size_t r = 0; r < table->n_rows; r++) {
    bool ok = true;
    const promo_offer *offer = &no_offer;
    if (!col->is_missing[r]) {
      int32_t code = col->codes[r];
      ok = parsed[code];
      offer = &offers[code];
    }
    offer_values(step, offer, ok, row_price(price, r), X + r * ld + offset);
    if (!ok) {
      (*n_unparsed)++;
      if (rejected != NULL && step->reject) rejected[r] = 1;
    }
  }
  free(offers);
  free(parsed);
  return PROMO_OK;
}

double offer_parse_share(const promo_table *table, size_t c) {
  const promo_column *col = &table->columns[c];
  if (!promo_type_is_string(col->type)) return 0.0;
  size_t n_levels = promo_dict_size(col->dict);
  uint64_t *counts = calloc(n_levels > 0 ? n_levels : 1, sizeof *counts);
  if (counts == NULL) return 0.0;
  uint64_t n_values = 0, n_parsed = 0, n_promotions = 0;
  for (size_t r = 0; r < table->n_rows; r++) {
    if (col->is_missing[r]) continue;
    counts[col->codes[r]]++;
    n_values++;
  }
  for (size_t k = 0; k < n_levels; k++) {
    if (counts[k] == 0) continue;
    size_t len;
    const char *text = promo_dict_string(col->dict, (int32_t)k, &len);
    promo_offer offer;
    if (promo_offer_parse(text, (ptrdiff_t)len, &offer, NULL) == PROMO_OK) {
      n_parsed += counts[k];
      if (offer.n_parts > 0) n_promotions += counts[k];
    }
  }
  free(counts);
  /* A column of only "none" is no promotion column. */
  if (n_values == 0 || n_promotions == 0) return 0.0;
  return (double)n_parsed / (double)n_values;
}
