/* Plan stage: the money of one candidate row. From the predicted outcome, the prices
 * before and after the option's edits and the option's offer, it computes the price paid,
 * the promotion spend (discount given away, gifts, fees) and the objective value. */
#include <math.h>
#include <string.h>

#include "plan/economics.h"

/* Share of the price saved once the offer's condition is met: 1 - the product of what
 * each price-changing part leaves to pay. Thresholds count as reached, because a shopper
 * who takes up the offer has met its condition. */
static double depth_when_met(const promo_offer *offer, double price) {
  double paid = 1.0;
  for (size_t i = 0; i < offer->n_parts; i++) {
    const promo_offer_part *p = &offer->parts[i];
    double depth = 0.0;
    bool by_items = (p->flags & PROMO_OFFER_FLAG_ITEM_THRESHOLD) != 0;
    switch (p->kind) {
      case PROMO_OFFER_PERCENT_OFF: depth = 1.0 - p->rate; break;
      case PROMO_OFFER_AMOUNT_OFF: depth = price > 0 ? p->amount / price : 0.0; break;
      case PROMO_OFFER_THRESHOLD_OFF:
      case PROMO_OFFER_REPEATED_OFF:
        if (p->threshold > 0 && !by_items) depth = p->amount / p->threshold;
        else if (p->threshold > 0 && price > 0) depth = p->amount / (p->threshold * price);
        break;
      case PROMO_OFFER_MULTI_BUY:
        depth = p->get_count > 0 ? p->get_count * (1.0 - p->rate) / (p->buy_count + p->get_count)
                                 : 1.0 - p->rate;
        break;
      default: break;
    }
    depth = fmin(fmax(depth, 0.0), 1.0);
    paid *= 1.0 - depth;
  }
  return 1.0 - paid;
}

void plan_offer_terms(const promo_offer *offer, double price, plan_offer_terms_out *out) {
  memset(out, 0, sizeof *out);
  out->rate = 1.0;
  if (offer == NULL) return;
  for (size_t i = 0; i < offer->n_parts; i++) {
    const promo_offer_part *p = &offer->parts[i];
    out->gift_value += p->gift_value;
    out->has_gift |= p->kind == PROMO_OFFER_GIFT;
    out->is_coupon |= (p->flags & PROMO_OFFER_FLAG_COUPON) != 0;
  }
  double rate = 1.0;
  if (price > 0 && isfinite(price) && promo_offer_effective_rate(offer, price, 1, &rate, NULL) == PROMO_OK &&
      rate < 1.0) {
    out->rate = rate;
    return;
  }
  double depth = depth_when_met(offer, price);
  if (depth > 0) {
    out->rate = 1.0 - depth;
    out->threshold_assumed = true;
  }
}

void plan_row_money(const promo_plan_economics *econ, promo_plan_objective objective,
                    const plan_money_in *in, double *value, double *spend) {
  /* Price paid: the edited price less the offer's saving, of which coupons count only
   * the redeemed share. */
  double saving = in->price * (1.0 - in->terms.rate);
  if (in->terms.is_coupon) saving *= econ->redemption;
  double paid = in->price - saving;
  double gift = 0.0;
  if (in->terms.has_gift) gift = isfinite(econ->gift_cost) ? econ->gift_cost : in->terms.gift_value;
  double fee = in->is_promoted ? econ->fee : 0.0;
  double q = in->quantity;

  *spend = q * (in->list_price - paid) + q * gift + fee;
  switch (objective) {
    case PROMO_PLAN_REVENUE:
    case PROMO_PLAN_INCREMENTAL_REVENUE: *value = q * paid; break;
    case PROMO_PLAN_UNITS:
    case PROMO_PLAN_INCREMENTAL_UNITS: *value = q; break;
    default: *value = q * (paid - in->unit_cost - gift) - fee; break;
  }
}

double plan_row_margin(const plan_money_in *in, const promo_plan_economics *econ) {
  double saving = in->price * (1.0 - in->terms.rate);
  if (in->terms.is_coupon) saving *= econ->redemption;
  double paid = in->price - saving;
  return paid > 0 ? (paid - in->unit_cost) / paid : -INFINITY;
}
