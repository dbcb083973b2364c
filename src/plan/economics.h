/* The money of one candidate row, shared by the planning job's files. */
#ifndef PROMO_PLAN_ECONOMICS_H
#define PROMO_PLAN_ECONOMICS_H

#include <stdbool.h>

#include "promo/plan.h"

/* What an offer does to one price. */
typedef struct plan_offer_terms_out {
  double rate;              /* share of the price paid, 1 without a saving */
  double gift_value;        /* stated value of its gifts, 0 when none is stated */
  bool has_gift;
  bool is_coupon;           /* some part names a coupon */
  bool threshold_assumed;   /* one item at this price does not reach the threshold, so the
                               rate is the one once it is reached */
} plan_offer_terms_out;

/* Terms of `offer` (NULL: no offer) at one unit price (an order value for binary
 * models). The rate is promo_offer_effective_rate for one item; when that saves nothing
 * although the offer changes prices (满200减30 on a 50 yuan item), the saving once the
 * condition is met is used instead. */
void plan_offer_terms(const promo_offer *offer, double price, plan_offer_terms_out *out);

/* Inputs of one row's money. Prices are per item, or per order for binary models. */
typedef struct plan_money_in {
  double quantity;          /* predicted items or orders, after any stock cap */
  double list_price;        /* before the option's edits */
  double price;             /* after the option's edits, before the offer */
  double unit_cost;         /* cost of goods per item or order */
  plan_offer_terms_out terms;
  bool is_promoted;         /* not the baseline option: the fixed fee applies */
} plan_money_in;

/* Spend = quantity x (list price - price paid) + quantity x gift cost + fee, and the
 * objective value: revenue = quantity x price paid; units = quantity; profit = quantity x
 * (price paid - unit cost - gift cost) - fee. Incremental objectives get the value of
 * their base objective here. */
void plan_row_money(const promo_plan_economics *econ, promo_plan_objective objective,
                    const plan_money_in *in, double *value, double *spend);

/* (price paid - unit cost) / price paid; -INFINITY when nothing is paid. */
double plan_row_margin(const plan_money_in *in, const promo_plan_economics *econ);

#endif
