/* Promotion text parser for the feature stage: reads what teams write (8折, 满200减30,
 * 买一送一, $5 off, 包邮) into promo_offer parts, and computes the share of the list price
 * a buyer pays under an offer. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/intl.h"
#include "feature/offer_text.h"
#include "promo/feature.h"

#define MAX_ITEM_COUNT 1000
#define MAX_DURATION_HOURS 8784.0 /* 366 days */

/* ===================================================================== forms */

/* One written form of an offer. `slots` has one letter per placeholder of the pattern,
 * in order, naming the field that the captured number sets:
 *   t  threshold in money            i  threshold in items
 *   a  amount                        v  gift value            h  duration in hours
 *   z  rate from a 折 number         r  rate from a bare decimal
 *   p  rate from a percentage paid   o  rate from a percentage off
 *   b  buy_count                     g  get_count
 *   n  position of the discounted item (第2件 is buy 1, get 1)
 *   N, M  the two counts of "3 for 2" (N items for the price of M)
 * A form of kind NONE is a word that adds no part. It is a filler (全场, 下单) or, with
 * PROMO_OFFER_FLAG_COUPON, a coupon word (券) that marks the money parts as coupons.
 * The slots "!" mark a fixed price (99元, 2件99元), which is rejected as unsupported.
 * `rate` is the rate of PERCENT_OFF and MULTI_BUY forms when no slot sets it (0 means
 * free for MULTI_BUY). `buy` and `get` are fixed counts (bogo). */
typedef struct offer_form {
  const char *pattern;
  promo_offer_kind kind;
  const char *slots;
  double rate;
  int32_t buy, get;
  uint32_t flags;
} offer_form;

#define NONE PROMO_OFFER_NONE
#define PERCENT PROMO_OFFER_PERCENT_OFF
#define AMOUNT PROMO_OFFER_AMOUNT_OFF
#define THRESHOLD PROMO_OFFER_THRESHOLD_OFF
#define REPEATED PROMO_OFFER_REPEATED_OFF
#define MULTI PROMO_OFFER_MULTI_BUY
#define GIFT PROMO_OFFER_GIFT
#define SHIPPING PROMO_OFFER_FREE_SHIPPING
#define FLASH PROMO_OFFER_FLASH_SALE
#define UP_TO PROMO_OFFER_FLAG_UP_TO
#define COUPON PROMO_OFFER_FLAG_COUPON

/* Where two forms match the same text, the one listed first wins. */
static const offer_form forms[] = {
    /* percent off */
    {"{n}折", PERCENT, "z", 0, 0, 0, 0},
    {"打{n}折", PERCENT, "z", 0, 0, 0, 0},
    {"{n}折起", PERCENT, "z", 0, 0, 0, UP_TO},
    {"低至{n}折", PERCENT, "z", 0, 0, 0, UP_TO},
    {"最低{n}折", PERCENT, "z", 0, 0, 0, UP_TO},
    {"满{a}打{n}折", PERCENT, "tz", 0, 0, 0, 0},
    {"满{a}享{n}折", PERCENT, "tz", 0, 0, 0, 0},
    {"满{a}{n}折", PERCENT, "tz", 0, 0, 0, 0},
    {"半价", PERCENT, "", 0.5, 0, 0, 0},
    {"{n}", PERCENT, "r", 0, 0, 0, 0},
    {"{n}%", PERCENT, "p", 0, 0, 0, 0},
    {"-{n}%", PERCENT, "o", 0, 0, 0, 0},
    {"减{n}%", PERCENT, "o", 0, 0, 0, 0},
    {"立减{n}%", PERCENT, "o", 0, 0, 0, 0},
    {"优惠{n}%", PERCENT, "o", 0, 0, 0, 0},
    {"{n}% off", PERCENT, "o", 0, 0, 0, 0},
    {"{n}% discount", PERCENT, "o", 0, 0, 0, 0},
    {"save {n}%", PERCENT, "o", 0, 0, 0, 0},
    {"up to {n}% off", PERCENT, "o", 0, 0, 0, UP_TO},
    {"{n}% off orders over {a}", PERCENT, "ot", 0, 0, 0, 0},
    {"{n}% off over {a}", PERCENT, "ot", 0, 0, 0, 0},
    {"spend {a} get {n}% off", PERCENT, "to", 0, 0, 0, 0},
    {"spend {a} save {n}%", PERCENT, "to", 0, 0, 0, 0},
    {"half price", PERCENT, "", 0.5, 0, 0, 0},
    {"half off", PERCENT, "", 0.5, 0, 0, 0},

    /* amount off */
    {"立减{a}", AMOUNT, "a", 0, 0, 0, 0},
    {"减{a}", AMOUNT, "a", 0, 0, 0, 0},
    {"直降{a}", AMOUNT, "a", 0, 0, 0, 0},
    {"直减{a}", AMOUNT, "a", 0, 0, 0, 0},
    {"降价{a}", AMOUNT, "a", 0, 0, 0, 0},
    {"降{a}", AMOUNT, "a", 0, 0, 0, 0},
    {"优惠{a}", AMOUNT, "a", 0, 0, 0, 0},
    {"立省{a}", AMOUNT, "a", 0, 0, 0, 0},
    {"省{a}", AMOUNT, "a", 0, 0, 0, 0},
    {"{a}券", AMOUNT, "a", 0, 0, 0, COUPON},
    {"{a}优惠券", AMOUNT, "a", 0, 0, 0, COUPON},
    {"{a}代金券", AMOUNT, "a", 0, 0, 0, COUPON},
    {"{a} off", AMOUNT, "a", 0, 0, 0, 0},
    {"{a} discount", AMOUNT, "a", 0, 0, 0, 0},
    {"save {a}", AMOUNT, "a", 0, 0, 0, 0},
    {"{a} coupon", AMOUNT, "a", 0, 0, 0, COUPON},

    /* threshold amount off */
    {"满{a}减{a}", THRESHOLD, "ta", 0, 0, 0, 0},
    {"满{a}立减{a}", THRESHOLD, "ta", 0, 0, 0, 0},
    {"满{a}直减{a}", THRESHOLD, "ta", 0, 0, 0, 0},
    {"满{a}直降{a}", THRESHOLD, "ta", 0, 0, 0, 0},
    {"满{a}省{a}", THRESHOLD, "ta", 0, 0, 0, 0},
    {"满{a}优惠{a}", THRESHOLD, "ta", 0, 0, 0, 0},
    {"满{a}-{a}", THRESHOLD, "ta", 0, 0, 0, 0},
    {"{a}减{a}", THRESHOLD, "ta", 0, 0, 0, 0},
    {"{a}:{a}", THRESHOLD, "ta", 0, 0, 0, COUPON},
    {"满{c}件减{a}", THRESHOLD, "ia", 0, 0, 0, 0},
    {"满{c}件立减{a}", THRESHOLD, "ia", 0, 0, 0, 0},
    {"{c}件减{a}", THRESHOLD, "ia", 0, 0, 0, 0},
    {"{a} off {a}", THRESHOLD, "at", 0, 0, 0, 0},
    {"{a} off orders over {a}", THRESHOLD, "at", 0, 0, 0, 0},
    {"{a} off orders of {a}", THRESHOLD, "at", 0, 0, 0, 0},
    {"{a} off over {a}", THRESHOLD, "at", 0, 0, 0, 0},
    {"{a} off purchases over {a}", THRESHOLD, "at", 0, 0, 0, 0},
    {"{a} off when you spend {a}", THRESHOLD, "at", 0, 0, 0, 0},
    {"save {a} on orders over {a}", THRESHOLD, "at", 0, 0, 0, 0},
    {"save {a} when you spend {a}", THRESHOLD, "at", 0, 0, 0, 0},
    {"save {a} on {a}", THRESHOLD, "at", 0, 0, 0, 0},
    {"spend {a} save {a}", THRESHOLD, "ta", 0, 0, 0, 0},
    {"spend {a} and save {a}", THRESHOLD, "ta", 0, 0, 0, 0},
    {"spend {a} get {a} off", THRESHOLD, "ta", 0, 0, 0, 0},

    /* repeated threshold off */
    {"每满{a}减{a}", REPEATED, "ta", 0, 0, 0, 0},
    {"每满{a}立减{a}", REPEATED, "ta", 0, 0, 0, 0},
    {"每满{a}省{a}", REPEATED, "ta", 0, 0, 0, 0},
    {"每满{a}-{a}", REPEATED, "ta", 0, 0, 0, 0},
    {"每{a}减{a}", REPEATED, "ta", 0, 0, 0, 0},
    {"{a} off every {a}", REPEATED, "at", 0, 0, 0, 0},
    {"{a} off every {a} spent", REPEATED, "at", 0, 0, 0, 0},
    {"{a} off for every {a}", REPEATED, "at", 0, 0, 0, 0},
    {"{a} off for every {a} spent", REPEATED, "at", 0, 0, 0, 0},
    {"save {a} for every {a}", REPEATED, "at", 0, 0, 0, 0},
    {"save {a} for every {a} spent", REPEATED, "at", 0, 0, 0, 0},
    {"save {a} every {a}", REPEATED, "at", 0, 0, 0, 0},
    {"every {a} save {a}", REPEATED, "ta", 0, 0, 0, 0},
    {"for every {a} spent save {a}", REPEATED, "ta", 0, 0, 0, 0},

    /* multi-buy */
    {"买{c}送{c}", MULTI, "bg", 0, 0, 0, 0},
    {"买{c}赠{c}", MULTI, "bg", 0, 0, 0, 0},
    {"第{c}件{n}折", MULTI, "nz", 0, 0, 0, 0},
    {"第{c}件半价", MULTI, "n", 0.5, 0, 0, 0},
    {"第{c}件免费", MULTI, "n", 0, 0, 0, 0},
    {"第{c}件免单", MULTI, "n", 0, 0, 0, 0},
    {"第{c}件0元", MULTI, "n", 0, 0, 0, 0},
    {"{c}件{n}折", MULTI, "bz", 0, 0, 0, 0},
    {"满{c}件{n}折", MULTI, "bz", 0, 0, 0, 0},
    {"buy {c} get {c}", MULTI, "bg", 0, 0, 0, 0},
    {"buy {c} get {c} free", MULTI, "bg", 0, 0, 0, 0},
    {"buy {c} get {c} for free", MULTI, "bg", 0, 0, 0, 0},
    {"buy {c} get {c} half price", MULTI, "bg", 0.5, 0, 0, 0},
    {"buy {c} get {c} half off", MULTI, "bg", 0.5, 0, 0, 0},
    {"buy {c} get {c} {n}% off", MULTI, "bgo", 0, 0, 0, 0},
    {"b{c}g{c}", MULTI, "bg", 0, 0, 0, 0},
    {"b{c}g{c} free", MULTI, "bg", 0, 0, 0, 0},
    {"b{c}g{c} {n}% off", MULTI, "bgo", 0, 0, 0, 0},
    {"bogo", MULTI, "", 0, 1, 1, 0},
    {"bogof", MULTI, "", 0, 1, 1, 0},
    {"bogo free", MULTI, "", 0, 1, 1, 0},
    {"bogo half price", MULTI, "", 0.5, 1, 1, 0},
    {"bogo half off", MULTI, "", 0.5, 1, 1, 0},
    {"bogo {n}% off", MULTI, "o", 0, 1, 1, 0},
    {"{c} for {c}", MULTI, "NM", 0, 0, 0, 0},
    {"{c} for the price of {c}", MULTI, "NM", 0, 0, 0, 0},
    {"{o} item half price", MULTI, "n", 0.5, 0, 0, 0},
    {"{o} item at half price", MULTI, "n", 0.5, 0, 0, 0},
    {"{o} item half off", MULTI, "n", 0.5, 0, 0, 0},
    {"{o} item free", MULTI, "n", 0, 0, 0, 0},
    {"{o} item {n}% off", MULTI, "no", 0, 0, 0, 0},

    /* gift */
    {"赠品", GIFT, "", 0, 0, 0, 0},
    {"送赠品", GIFT, "", 0, 0, 0, 0},
    {"有赠品", GIFT, "", 0, 0, 0, 0},
    {"赠品:{a}", GIFT, "v", 0, 0, 0, 0},
    {"赠品{a}", GIFT, "v", 0, 0, 0, 0},
    {"赠品({a})", GIFT, "v", 0, 0, 0, 0},
    {"赠品(价值{a})", GIFT, "v", 0, 0, 0, 0},
    {"赠品价值{a}", GIFT, "v", 0, 0, 0, 0},
    {"送价值{a}的赠品", GIFT, "v", 0, 0, 0, 0},
    {"送价值{a}赠品", GIFT, "v", 0, 0, 0, 0},
    {"送价值{a}的{t}", GIFT, "v", 0, 0, 0, 0},
    {"赠价值{a}的{t}", GIFT, "v", 0, 0, 0, 0},
    {"赠送价值{a}的{t}", GIFT, "v", 0, 0, 0, 0},
    {"赠送{t}", GIFT, "", 0, 0, 0, 0},
    {"送{t}", GIFT, "", 0, 0, 0, 0},
    {"赠{t}", GIFT, "", 0, 0, 0, 0},
    {"满{a}送{t}", GIFT, "t", 0, 0, 0, 0},
    {"满{a}赠{t}", GIFT, "t", 0, 0, 0, 0},
    {"gift", GIFT, "", 0, 0, 0, 0},
    {"free gift", GIFT, "", 0, 0, 0, 0},
    {"gift with purchase", GIFT, "", 0, 0, 0, 0},
    {"gwp", GIFT, "", 0, 0, 0, 0},
    {"gift:{a}", GIFT, "v", 0, 0, 0, 0},
    {"gift {a}", GIFT, "v", 0, 0, 0, 0},
    {"gift({a})", GIFT, "v", 0, 0, 0, 0},
    {"gift(worth {a})", GIFT, "v", 0, 0, 0, 0},
    {"gift worth {a}", GIFT, "v", 0, 0, 0, 0},
    {"free gift worth {a}", GIFT, "v", 0, 0, 0, 0},
    {"free gift over {a}", GIFT, "t", 0, 0, 0, 0},
    {"free gift with orders over {a}", GIFT, "t", 0, 0, 0, 0},
    {"free gift with purchase over {a}", GIFT, "t", 0, 0, 0, 0},

    /* free shipping */
    {"包邮", SHIPPING, "", 0, 0, 0, 0},
    {"免运费", SHIPPING, "", 0, 0, 0, 0},
    {"免邮", SHIPPING, "", 0, 0, 0, 0},
    {"免邮费", SHIPPING, "", 0, 0, 0, 0},
    {"顺丰包邮", SHIPPING, "", 0, 0, 0, 0},
    {"全国包邮", SHIPPING, "", 0, 0, 0, 0},
    {"满{a}包邮", SHIPPING, "t", 0, 0, 0, 0},
    {"满{a}免运费", SHIPPING, "t", 0, 0, 0, 0},
    {"满{a}免邮", SHIPPING, "t", 0, 0, 0, 0},
    {"满{c}件包邮", SHIPPING, "i", 0, 0, 0, 0},
    {"free shipping", SHIPPING, "", 0, 0, 0, 0},
    {"free delivery", SHIPPING, "", 0, 0, 0, 0},
    {"ships free", SHIPPING, "", 0, 0, 0, 0},
    {"free shipping over {a}", SHIPPING, "t", 0, 0, 0, 0},
    {"free shipping on orders over {a}", SHIPPING, "t", 0, 0, 0, 0},
    {"free delivery over {a}", SHIPPING, "t", 0, 0, 0, 0},

    /* flash sale; "fixed" is how the Tianchi O2O coupon logs write a limited-time low
       price */
    {"秒杀", FLASH, "", 0, 0, 0, 0},
    {"秒杀价", FLASH, "", 0, 0, 0, 0},
    {"限时", FLASH, "", 0, 0, 0, 0},
    {"限时秒杀", FLASH, "", 0, 0, 0, 0},
    {"限时抢购", FLASH, "", 0, 0, 0, 0},
    {"限时特价", FLASH, "", 0, 0, 0, 0},
    {"限时特惠", FLASH, "", 0, 0, 0, 0},
    {"限时优惠", FLASH, "", 0, 0, 0, 0},
    {"限时折扣", FLASH, "", 0, 0, 0, 0},
    {"限时{d}", FLASH, "h", 0, 0, 0, 0},
    {"限时{d}秒杀", FLASH, "h", 0, 0, 0, 0},
    {"限时{d}抢购", FLASH, "h", 0, 0, 0, 0},
    {"限时秒杀{d}", FLASH, "h", 0, 0, 0, 0},
    {"{d}秒杀", FLASH, "h", 0, 0, 0, 0},
    {"{d}限时秒杀", FLASH, "h", 0, 0, 0, 0},
    {"flash sale", FLASH, "", 0, 0, 0, 0},
    {"flash deal", FLASH, "", 0, 0, 0, 0},
    {"lightning deal", FLASH, "", 0, 0, 0, 0},
    {"limited time", FLASH, "", 0, 0, 0, 0},
    {"limited-time", FLASH, "", 0, 0, 0, 0},
    {"limited time offer", FLASH, "", 0, 0, 0, 0},
    {"limited-time offer", FLASH, "", 0, 0, 0, 0},
    {"{d} flash sale", FLASH, "h", 0, 0, 0, 0},
    {"flash sale {d}", FLASH, "h", 0, 0, 0, 0},
    {"{d} flash deal", FLASH, "h", 0, 0, 0, 0},
    {"fixed", FLASH, "", 0, 0, 0, 0},

    /* fixed prices, which give no discount without the list price, so they are rejected
       with their own message */
    {"{n}元", NONE, "!", 0, 0, 0, 0},
    {"{n}块", NONE, "!", 0, 0, 0, 0},
    {"{c}件{a}", NONE, "!", 0, 0, 0, 0},
    {"{a}{c}件", NONE, "!", 0, 0, 0, 0},
    {"秒杀价{a}", NONE, "!", 0, 0, 0, 0},
    {"到手价{a}", NONE, "!", 0, 0, 0, 0},
    {"券后价{a}", NONE, "!", 0, 0, 0, 0},
    {"券后{a}", NONE, "!", 0, 0, 0, 0},
    {"折后价{a}", NONE, "!", 0, 0, 0, 0},
    {"活动价{a}", NONE, "!", 0, 0, 0, 0},
    {"促销价{a}", NONE, "!", 0, 0, 0, 0},
    {"特价{a}", NONE, "!", 0, 0, 0, 0},
    {"1口价{a}", NONE, "!", 0, 0, 0, 0},

    /* fillers and coupon words */
    {"全场", NONE, "", 0, 0, 0, 0},
    {"全店", NONE, "", 0, 0, 0, 0},
    {"店铺", NONE, "", 0, 0, 0, 0},
    {"店内", NONE, "", 0, 0, 0, 0},
    {"下单", NONE, "", 0, 0, 0, 0},
    {"活动", NONE, "", 0, 0, 0, 0},
    {"促销", NONE, "", 0, 0, 0, 0},
    {"领券", NONE, "", 0, 0, 0, COUPON},
    {"优惠", NONE, "", 0, 0, 0, 0},
    {"即享", NONE, "", 0, 0, 0, 0},
    {"可享", NONE, "", 0, 0, 0, 0},
    {"立享", NONE, "", 0, 0, 0, 0},
    {"享", NONE, "", 0, 0, 0, 0},
    {"任选", NONE, "", 0, 0, 0, 0},
    {"任意", NONE, "", 0, 0, 0, 0},
    {"无门槛", NONE, "", 0, 0, 0, 0},
    {"官方", NONE, "", 0, 0, 0, 0},
    {"上不封顶", NONE, "", 0, 0, 0, 0},
    {"优惠券", NONE, "", 0, 0, 0, COUPON},
    {"代金券", NONE, "", 0, 0, 0, COUPON},
    {"券", NONE, "", 0, 0, 0, COUPON},
    {"coupon", NONE, "", 0, 0, 0, COUPON},
    {"voucher", NONE, "", 0, 0, 0, COUPON},
    {"extra", NONE, "", 0, 0, 0, 0},
    {"get", NONE, "", 0, 0, 0, 0},
    {"take", NONE, "", 0, 0, 0, 0},
    {"instant", NONE, "", 0, 0, 0, 0},
    {"sitewide", NONE, "", 0, 0, 0, 0},
    {"storewide", NONE, "", 0, 0, 0, 0},
    {"everything", NONE, "", 0, 0, 0, 0},
    {"all items", NONE, "", 0, 0, 0, 0},
};

#define N_FORMS (sizeof forms / sizeof forms[0])

/* Whole texts that mean "no promotion", compared after normalization and trimming. */
static const char *const none_texts[] = {
    "",       "none", "no",   "n/a",    "na",           "null",     "nil",         "nan",
    "\\n",    "-",    "--",   "/",      "no promotion", "no offer", "no discount", "无",
    "无优惠", "没有", "暂无", "不参与", "不参加",       NULL};

/* ===================================================================== building parts */

/* Rate from a 折 number: tenths when written with a point or one digit (8折, 8.5折),
 * hundredths for two-digit whole numbers from 21 to 99 not ending in 0 (85折). Other
 * values (0折, 10折, 12折, 20折, 100折) return false: 10 to 20 read as "more than full
 * price", and 20, 30, ... as 2折, 3折 written wrong. */
static bool rate_from_zhe(const offer_capture *cap, double *rate) {
  double v = cap->value;
  if (cap->has_point || cap->int_digits == 1) {
    *rate = v / 10.0;
    return v > 0 && v < 10;
  }
  long whole = (long)v;
  *rate = v / 100.0;
  return cap->int_digits == 2 && whole > 20 && whole % 10 != 0;
}

static bool set_count(const offer_capture *cap, int32_t min, int32_t *out, char *why, size_t n) {
  if (!cap->is_whole || cap->value < min || cap->value > MAX_ITEM_COUNT) {
    snprintf(why, n, _("item count %g must be a whole number from %d to %d"), cap->value, (int)min,
             MAX_ITEM_COUNT);
    return false;
  }
  *out = (int32_t)cap->value;
  return true;
}

/* Slots i, b, g, n, N, M: item counts. */
static bool apply_count_slot(char slot, const offer_capture *cap, const offer_capture *next,
                             promo_offer_part *part, char *why, size_t n) {
  switch (slot) {
    case 'i': {
      int32_t items;
      if (!set_count(cap, 1, &items, why, n)) return false;
      part->threshold = items;
      part->flags |= PROMO_OFFER_FLAG_ITEM_THRESHOLD;
      return true;
    }
    case 'b': return set_count(cap, 1, &part->buy_count, why, n);
    case 'g': return set_count(cap, 1, &part->get_count, why, n);
    case 'n':
      if (cap->is_whole && cap->value == 1) {
        snprintf(why, n, "%s", _("the discounted item must be the 2nd or a later one"));
        return false;
      }
      if (!set_count(cap, 2, &part->buy_count, why, n)) return false;
      part->buy_count -= 1;
      part->get_count = 1;
      return true;
    case 'N': {
      int32_t total, paid;
      if (!set_count(cap, 2, &total, why, n) || !set_count(next, 1, &paid, why, n)) return false;
      if (paid >= total) {
        snprintf(why, n, _("'%d for %d' charges for as many items as it gives"), (int)total,
                 (int)paid);
        return false;
      }
      part->buy_count = paid;
      part->get_count = total - paid;
      return true;
    }
    default: return true; /* 'M' is read together with 'N' */
  }
}

/* Slots z, r, p, o: the share of the price paid. */
static bool apply_rate_slot(char slot, const offer_capture *cap, promo_offer_part *part, char *why,
                            size_t n) {
  double v = cap->value;
  switch (slot) {
    case 'z':
      if (rate_from_zhe(cap, &part->rate)) return true;
      snprintf(why, n,
               _("%g折 is not a discount; write 1 to 9.9 (8折 pays 80%%) or 21 to 99 for "
                 "hundredths (85折 pays 85%%)"),
               v);
      return false;
    case 'r':
      part->rate = v;
      if (v > 0 && v < 1) return true;
      snprintf(why, n,
               _("a bare number is read as the share of the price paid, so %g must be above 0 "
                 "and below 1 (0.85 pays 85%%)"),
               v);
      return false;
    default: /* 'p' percentage paid, 'o' percentage off */
      part->rate = slot == 'p' ? v / 100.0 : 1.0 - v / 100.0;
      if (v > 0 && v < 100) return true;
      snprintf(why, n, _("%g%% must be above 0%% and below 100%%"), v);
      return false;
  }
}

/* Slots t, a, v, h: money and time, which must be positive. */
static bool apply_value_slot(char slot, const offer_capture *cap, promo_offer_part *part, char *why,
                             size_t n) {
  double v = cap->value;
  switch (slot) {
    case 't':
      part->threshold = v;
      if (v > 0) return true;
      snprintf(why, n, _("threshold %g must be above 0"), v);
      return false;
    case 'a':
      part->amount = v;
      if (v > 0) return true;
      snprintf(why, n, _("saving %g must be above 0"), v);
      return false;
    case 'v':
      part->gift_value = v;
      if (v > 0) return true;
      snprintf(why, n, _("gift value %g must be above 0"), v);
      return false;
    default: /* 'h' */
      part->duration_hours = v;
      if (v > 0 && v <= MAX_DURATION_HOURS) return true;
      snprintf(why, n, _("duration of %g hours must be above 0 and at most %g (366 days)"), v,
               MAX_DURATION_HOURS);
      return false;
  }
}

/* Set the field that slot letter `slot` names from one capture; `next` is the capture
 * after it (for "3 for 2"), or NULL. */
static bool apply_slot(char slot, const offer_capture *cap, const offer_capture *next,
                       promo_offer_part *part, char *why, size_t n) {
  if (strchr("ibgnNM", slot) != NULL) return apply_count_slot(slot, cap, next, part, why, n);
  if (strchr("zrpo", slot) != NULL) return apply_rate_slot(slot, cap, part, why, n);
  return apply_value_slot(slot, cap, part, why, n);
}

/* Fill *part from a form and its match. On an invalid value writes the reason into why. */
static bool build_part(const offer_form *form, const offer_match *m, promo_offer_part *part,
                       char *why, size_t why_size) {
  memset(part, 0, sizeof *part);
  part->kind = form->kind;
  part->rate = form->kind == PERCENT || form->kind == MULTI ? form->rate : 1.0;
  part->buy_count = form->buy;
  part->get_count = form->get;
  part->flags = form->flags;
  for (int k = 0; form->slots[k] != '\0'; k++) {
    const offer_capture *next = k + 1 < m->n_caps ? &m->caps[k + 1] : NULL;
    if (k >= m->n_caps || (form->slots[k] == 'N' && next == NULL)) {
      snprintf(why, why_size, _("internal error: form '%s' has more slots than captures"),
               form->pattern);
      return false;
    }
    if (!apply_slot(form->slots[k], &m->caps[k], next, part, why, why_size)) return false;
  }

  bool by_money = (part->flags & PROMO_OFFER_FLAG_ITEM_THRESHOLD) == 0;
  if ((part->kind == THRESHOLD || part->kind == REPEATED) && by_money &&
      part->amount >= part->threshold) {
    snprintf(why, why_size,
             _("saving %g is not below the threshold %g, so the order would cost nothing"),
             part->amount, part->threshold);
    return false;
  }
  return true;
}

/* ===================================================================== parsing */

/* Maximum number of words (parts and fillers) read from one text. */
#define MAX_TOKENS 32

/* Kinds of failure, weakest first. A value rejected by the longest form matching at its
 * position (12折 read as 折, not as the bare number 12) is what the writer meant, so it
 * is reported over failures found further into the text. */
enum { FAIL_NONE = 0, FAIL_UNKNOWN_FORM, FAIL_INVALID_VALUE, FAIL_INVALID_LONGEST };

typedef struct parse_state {
  const offer_normalized *norm;
  promo_offer *offer;
  int n_coupon_words;
  int n_tokens;
  unsigned long steps;
  /* The failure reported when no reading of the whole text works: the first
   * FAIL_INVALID_LONGEST in the text, else the failure furthest into the text, and at
   * equal positions the stronger kind. For FAIL_UNKNOWN_FORM, fail_word_start is where
   * the unread word begins, which is before fail_pos when fillers (券, 全场) led up to it
   * without a separator. */
  size_t fail_pos;
  size_t fail_word_start;
  int fail_rank;
  char fail_why[320];
} parse_state;

static void note_failure(parse_state *st, size_t pos, size_t word_start, int rank,
                         const char *why) {
  if (st->fail_rank != FAIL_NONE) {
    bool is_strong = rank == FAIL_INVALID_LONGEST;
    bool held_strong = st->fail_rank == FAIL_INVALID_LONGEST;
    if (held_strong && (!is_strong || pos >= st->fail_pos)) return;
    if (!is_strong && (pos < st->fail_pos || (pos == st->fail_pos && rank <= st->fail_rank)))
      return;
  }
  st->fail_pos = pos;
  st->fail_word_start = word_start;
  st->fail_rank = rank;
  snprintf(st->fail_why, sizeof st->fail_why, "%s", why != NULL ? why : "");
}

static size_t skip_separators(const char *s, size_t len, size_t pos) {
  static const char *const words[] = {"and", "with", "plus", NULL};
  for (;;) {
    pos = offer_skip_blank(s, len, pos);
    size_t before = pos;
    pos += offer_separator_length(s, len, pos);
    for (int k = 0; words[k] != NULL && pos == before; k++) {
      size_t n = strlen(words[k]);
      if (offer_has_prefix(s, len, pos, words[k]) && (pos + n == len || s[pos + n] == ' '))
        pos += n;
    }
    if (pos == before) return pos;
  }
}

typedef struct candidate {
  uint16_t form;
  uint16_t end;
} candidate;

/* Forms that match at pos, longest match first; equal lengths keep table order. */
static size_t find_candidates(parse_state *st, size_t pos, candidate *out) {
  size_t n = 0;
  for (size_t f = 0; f < N_FORMS; f++) {
    offer_match m = {.steps = &st->steps};
    if (!offer_match_pattern(forms[f].pattern, st->norm->s, st->norm->len, pos, &m) || m.end <= pos)
      continue;
    candidate c = {(uint16_t)f, (uint16_t)m.end};
    size_t k = n++;
    while (k > 0 && out[k - 1].end < c.end) {
      out[k] = out[k - 1];
      k--;
    }
    out[k] = c;
  }
  return n;
}

static bool parse_from(parse_state *st, size_t pos, size_t word_start);

/* Read candidate c as the next word and the rest of the text after it. is_longest: no
 * other candidate at pos matches more text. word_start is where the run of fillers
 * before pos begins (pos itself after a part or a separator). */
static bool try_candidate(parse_state *st, size_t pos, size_t word_start, const candidate *c,
                          bool is_longest) {
  const offer_form *form = &forms[c->form];
  int rank = is_longest ? FAIL_INVALID_LONGEST : FAIL_INVALID_VALUE;
  if (form->slots[0] == '!') {
    note_failure(st, pos, pos, rank,
                 _("a fixed price (99元, 2件99元) gives no discount without the list price; "
                   "write the discount instead, such as 立减20元 or 8折"));
    return false;
  }
  if (form->kind == NONE) {
    int coupon = (form->flags & COUPON) != 0;
    st->n_coupon_words += coupon;
    if (parse_from(st, c->end, word_start)) return true;
    st->n_coupon_words -= coupon;
    return false;
  }

  offer_match m = {.steps = &st->steps};
  offer_match_pattern(form->pattern, st->norm->s, st->norm->len, pos, &m);
  char why[320];
  promo_offer_part part;
  if (!build_part(form, &m, &part, why, sizeof why)) {
    note_failure(st, pos, pos, rank, why);
    return false;
  }
  if (st->offer->n_parts == PROMO_OFFER_MAX_PARTS) {
    snprintf(why, sizeof why, _("more than %d offers in one text"), PROMO_OFFER_MAX_PARTS);
    note_failure(st, pos, pos, rank, why);
    return false;
  }
  part.text_offset = st->norm->map[pos];
  part.text_length = (uint32_t)(st->norm->map[c->end] - st->norm->map[pos]);
  st->offer->parts[st->offer->n_parts++] = part;
  if (parse_from(st, c->end, c->end)) return true;
  st->offer->n_parts--;
  return false;
}

/* Read the text from pos to the end as a chain of parts and fillers, backtracking over
 * the candidates at each position. word_start is as for try_candidate. */
static bool parse_from(parse_state *st, size_t pos, size_t word_start) {
  size_t after = skip_separators(st->norm->s, st->norm->len, pos);
  if (after != pos) word_start = after;
  pos = after;
  if (pos == st->norm->len) return true;
  if (st->n_tokens == MAX_TOKENS) {
    note_failure(st, pos, pos, FAIL_INVALID_VALUE, _("too many words for one offer"));
    return false;
  }
  candidate candidates[N_FORMS];
  size_t n = find_candidates(st, pos, candidates);
  if (n == 0) note_failure(st, pos, word_start, FAIL_UNKNOWN_FORM, NULL);

  st->n_tokens++;
  bool ok = false;
  for (size_t k = 0; k < n && !ok && st->steps <= OFFER_MAX_STEPS; k++)
    ok = try_candidate(st, pos, word_start, &candidates[k],
                       candidates[k].end == candidates[0].end);
  st->n_tokens--;
  return ok;
}

/* True when s[i] is an ASCII comma (not a folded ，) between a digit and exactly three
 * digits, as in 1,000. */
static bool is_thousands_comma(const char *text, const offer_normalized *norm, size_t i) {
  const char *s = norm->s;
  size_t len = norm->len;
  if (s[i] != ',' || text[norm->map[i]] != ',' || i == 0 || !offer_is_digit(s[i - 1])) return false;
  if (i + 3 >= len || !offer_is_digit(s[i + 1]) || !offer_is_digit(s[i + 2]) ||
      !offer_is_digit(s[i + 3]))
    return false;
  return i + 4 == len || !offer_is_digit(s[i + 4]);
}

/* End of the exponent ("e308", "e-5") that starts at s[pos], or pos when there is none. */
static size_t exponent_end(const char *s, size_t len, size_t pos) {
  if (pos >= len || s[pos] != 'e') return pos;
  size_t j = pos + 1;
  if (j < len && (s[j] == '+' || s[j] == '-')) j++;
  if (j >= len || !offer_is_digit(s[j])) return pos;
  while (j < len && offer_is_digit(s[j])) j++;
  return j;
}

/* Reject signs, overlong numbers, exponents and thousands separators up front, so the
 * message names them instead of reporting an unknown form or a misread number (1e308折
 * would otherwise be the bare number 1). A '-' right after a digit is not a sign
 * (满200-30, 2-hour). A '-' before a percentage at the start of a part is read as "-15%",
 * which means 15% off. */
static bool check_numbers(const char *text, const offer_normalized *norm, char *why,
                          size_t why_size) {
  const char *s = norm->s;
  size_t len = norm->len;
  for (size_t i = 0; i < len; i++) {
    if (is_thousands_comma(text, norm, i)) {
      size_t start = i;
      while (start > 0 && offer_is_digit(s[start - 1])) start--;
      snprintf(why, why_size,
               _("thousands separators are not read in %.*s; write the number without them, "
                 "or put a space after a comma that separates two offers"),
               (int)(i + 4 - start < 24 ? i + 4 - start : 24), s + start);
      return false;
    }
    if (offer_is_digit(s[i]) && (i == 0 || (!offer_is_digit(s[i - 1]) && s[i - 1] != '.'))) {
      size_t j = i;
      while (j < len && offer_is_digit(s[j])) j++;
      size_t n_int = j - i, n_frac = 0;
      if (j + 1 < len && s[j] == '.' && offer_is_digit(s[j + 1]))
        while (j + 1 + n_frac < len && offer_is_digit(s[j + 1 + n_frac])) n_frac++;
      size_t number_end = j + (n_frac > 0 ? 1 + n_frac : 0);
      size_t exp_end = exponent_end(s, len, number_end);
      if (exp_end != number_end) {
        char piece[128];
        size_t from = norm->map[i];
        offer_quote_text(text + from, norm->map[exp_end] - from, 24, piece, sizeof piece);
        snprintf(why, why_size,
                 _("'%s' is not a number promo reads; write plain digits, such as 8.5 or 200"),
                 piece);
        return false;
      }
      if (n_int > OFFER_MAX_INT_DIGITS || n_frac > OFFER_MAX_FRAC_DIGITS) {
        size_t shown = n_int + (n_frac > 0 ? 1 + n_frac : 0);
        snprintf(why, why_size,
                 _("number %.*s has too many digits; at most %d before the point and %d after"),
                 (int)(shown < 24 ? shown : 24), s + i, OFFER_MAX_INT_DIGITS,
                 OFFER_MAX_FRAC_DIGITS);
        return false;
      }
    }
    if (s[i] != '-' || i + 1 >= len || !offer_is_digit(s[i + 1])) continue;
    size_t prev = i;
    while (prev > 0 && offer_is_blank(s[prev - 1])) prev--;
    if (prev > 0 && offer_is_digit(s[prev - 1])) continue;
    size_t j = i + 1;
    while (j < len && (offer_is_digit(s[j]) || s[j] == '.')) j++;
    j = offer_skip_blank(s, len, j);
    bool is_percent_off =
        j < len && s[j] == '%' && (prev == 0 || offer_ends_with_separator(s, prev));
    if (!is_percent_off) {
      snprintf(why, why_size,
               _("negative number -%.*s; write amounts, rates and counts without a sign"),
               (int)(j - i - 1), s + i + 1);
      return false;
    }
  }
  return true;
}

static bool is_none_text(const offer_normalized *norm) {
  size_t start = 0, end = norm->len;
  while (start < end && norm->s[start] == ' ') start++;
  while (end > start && norm->s[end - 1] == ' ') end--;
  for (int k = 0; none_texts[k] != NULL; k++) {
    if (strlen(none_texts[k]) == end - start &&
        memcmp(norm->s + start, none_texts[k], end - start) == 0)
      return true;
  }
  return false;
}

static promo_status fail_parse(const char *text, size_t len, const char *why, promo_offer *offer,
                               promo_error *err) {
  offer->n_parts = 0;
  char shown[4 * 64 + 4];
  offer_quote_text(text, len, 64, shown, sizeof shown);
  promo_error_value(err, text, (int64_t)len);
  return promo_error_set(err, PROMO_ERR_DATA, _("invalid offer '%s': %s"), shown, why);
}

/* Explain an unknown form. The message names the unread word: from word_start up to the
 * next separator, or the end of the text. When that word is the whole text, the text is
 * already quoted before the reason, so it is not quoted again. */
static void explain_unknown_form(const char *text, const offer_normalized *norm,
                                 size_t word_start, char *why, size_t why_size) {
  const char *s = norm->s;
  size_t end = word_start;
  while (end < norm->len && offer_separator_length(s, norm->len, end) == 0) end++;
  while (end > word_start && s[end - 1] == ' ') end--;
  size_t first = 0, last = norm->len;
  while (first < last && s[first] == ' ') first++;
  while (last > first && s[last - 1] == ' ') last--;
  if (word_start <= first && end >= last) {
    snprintf(why, why_size, "%s",
             _("no offer form promo reads matches it; write it like 8折, 满200减30, 买一送一, "
               "$5 off or 包邮"));
    return;
  }
  char word[4 * 40 + 4];
  size_t from = norm->map[word_start];
  offer_quote_text(text + from, norm->map[end] - from, 40, word, sizeof word);
  snprintf(why, why_size,
           _("'%s' is not an offer form promo reads; write it like 8折, 满200减30, 买一送一, "
             "$5 off or 包邮"),
           word);
}

/* ===================================================================== stacking */

/* Tiers are parts that apply from a threshold: 满减 (满200减30), percent off with a spend
 * (满200打8折) and multi-buy on a count (2件8折). Parts of one kind with different
 * thresholds are tiers, of which only the best one met applies. */
static bool is_tier(const promo_offer_part *p) {
  return p->kind == THRESHOLD || (p->kind == PERCENT && p->threshold > 0) ||
         (p->kind == MULTI && p->get_count == 0);
}

static bool same_tier_threshold(const promo_offer_part *a, const promo_offer_part *b) {
  if (a->kind == MULTI) return a->buy_count == b->buy_count;
  uint32_t a_items = a->flags & PROMO_OFFER_FLAG_ITEM_THRESHOLD;
  uint32_t b_items = b->flags & PROMO_OFFER_FLAG_ITEM_THRESHOLD;
  return a->threshold == b->threshold && a_items == b_items;
}

/* The kind as a noun for the stacking message. */
static const char *stacking_noun(promo_offer_kind kind) {
  switch (kind) {
    case PERCENT: return _("percent-off");
    case AMOUNT: return _("amount-off");
    case THRESHOLD: return _("threshold-off");
    case REPEATED: return _("repeated threshold-off");
    default: return _("multi-buy");
  }
}

/* Reject two parts that change the price in the same way. Such a pair (8折8折, 买一送一
 * 第二件半价) is almost always a repeated entry or two alternatives, and multiplying them
 * would understate the price. Tiers with different thresholds are allowed, and so are
 * repeats of kinds that do not change the price (gifts, shipping, flash sales). A coupon
 * beside a shop discount of the same kind (立减10元+5元券) is allowed too, because the
 * two add up at checkout. */
static bool check_stacking(const char *text, const promo_offer *offer, char *why,
                           size_t why_size) {
  for (size_t i = 0; i < offer->n_parts; i++) {
    const promo_offer_part *a = &offer->parts[i];
    if (a->kind != PERCENT && a->kind != AMOUNT && a->kind != THRESHOLD && a->kind != REPEATED &&
        a->kind != MULTI)
      continue;
    for (size_t j = i + 1; j < offer->n_parts; j++) {
      const promo_offer_part *b = &offer->parts[j];
      if (b->kind != a->kind || (a->flags & COUPON) != (b->flags & COUPON)) continue;
      bool both_tiers = is_tier(a) && is_tier(b);
      if (both_tiers && !same_tier_threshold(a, b)) continue;

      char first[4 * 40 + 4], second[4 * 40 + 4];
      offer_quote_text(text + a->text_offset, a->text_length, 40, first, sizeof first);
      offer_quote_text(text + b->text_offset, b->text_length, 40, second, sizeof second);
      if (both_tiers)
        snprintf(why, why_size,
                 _("'%s' and '%s' are %s tiers with the same threshold; keep one, or give "
                   "each its own threshold"),
                 first, second, stacking_noun(a->kind));
      else
        snprintf(why, why_size,
                 _("'%s' and '%s' are both %s offers, which promo does not stack; keep one"),
                 first, second, stacking_noun(a->kind));
      return false;
    }
  }
  return true;
}

/* Read the normalized text as parts; on failure write the best reason into why. */
static bool parse_parts(const char *text, const offer_normalized *norm, promo_offer *offer,
                        char *why, size_t why_size) {
  parse_state st;
  memset(&st, 0, sizeof st);
  st.norm = norm;
  st.offer = offer;
  if (!parse_from(&st, 0, 0)) {
    if (st.steps > OFFER_MAX_STEPS)
      snprintf(why, why_size, "%s", _("text has too many ways to read it; split it with '+'"));
    else if (st.fail_rank == FAIL_UNKNOWN_FORM)
      explain_unknown_form(text, norm, st.fail_word_start, why, why_size);
    else
      snprintf(why, why_size, "%s", st.fail_why);
    return false;
  }
  if (offer->n_parts == 0) {
    snprintf(why, why_size, "%s", _("no offer found; write 无 or none for no promotion"));
    return false;
  }
  if (st.n_coupon_words > 0) {
    for (size_t k = 0; k < offer->n_parts; k++) {
      promo_offer_kind kind = offer->parts[k].kind;
      if (kind == PERCENT || kind == AMOUNT || kind == THRESHOLD || kind == REPEATED)
        offer->parts[k].flags |= PROMO_OFFER_FLAG_COUPON;
    }
  }
  return check_stacking(text, offer, why, why_size);
}

promo_status promo_offer_parse(const char *text, ptrdiff_t len, promo_offer *offer,
                               promo_error *err) {
  memset(offer, 0, sizeof *offer);
  if (text == NULL) text = "";
  size_t n = len < 0 ? strlen(text) : (size_t)len;
  char why[512];
  if (n > PROMO_OFFER_MAX_TEXT) {
    snprintf(why, sizeof why, _("text is %zu bytes long; at most %d are read"), n,
             PROMO_OFFER_MAX_TEXT);
    return fail_parse(text, n, why, offer, err);
  }

  offer_normalized norm;
  if (!offer_normalize(text, n, &norm, why, sizeof why))
    return fail_parse(text, n, why, offer, err);
  if (is_none_text(&norm)) return PROMO_OK;
  if (!check_numbers(text, &norm, why, sizeof why)) return fail_parse(text, n, why, offer, err);
  if (!parse_parts(text, &norm, offer, why, sizeof why))
    return fail_parse(text, n, why, offer, err);
  return PROMO_OK;
}

/* ===================================================================== effective rate */

/* Order value after the item-level parts: percent off without a threshold, amount off,
 * then multi-buy groups, then the best multi-buy tier reached (2件8折,3件7折). */
static double item_level_subtotal(const promo_offer *offer, double unit_price, int64_t quantity) {
  double unit = unit_price;
  for (size_t k = 0; k < offer->n_parts; k++) {
    const promo_offer_part *p = &offer->parts[k];
    if (p->kind == PERCENT && p->threshold <= 0) unit *= p->rate;
  }
  for (size_t k = 0; k < offer->n_parts; k++) {
    const promo_offer_part *p = &offer->parts[k];
    if (p->kind == AMOUNT) unit = unit > p->amount ? unit - p->amount : 0.0;
  }

  double subtotal = unit * (double)quantity, best_count_rate = 1.0;
  for (size_t k = 0; k < offer->n_parts; k++) {
    const promo_offer_part *p = &offer->parts[k];
    if (p->kind != MULTI || p->buy_count + p->get_count <= 0) continue;
    if (p->get_count > 0) {
      int64_t groups = quantity / (p->buy_count + p->get_count);
      subtotal -= (double)(groups * p->get_count) * unit * (1.0 - p->rate);
    } else if (quantity >= p->buy_count && p->rate < best_count_rate) {
      best_count_rate = p->rate;
    }
  }
  return subtotal * best_count_rate;
}

promo_status promo_offer_effective_rate(const promo_offer *offer, double unit_price,
                                        int64_t quantity, double *rate, promo_error *err) {
  if (!(unit_price > 0) || !isfinite(unit_price))
    return promo_error_set(err, PROMO_ERR_USAGE, _("price %g is invalid; give a positive number"),
                           unit_price);
  if (quantity < 1)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("quantity %lld is invalid; give a whole number from 1"),
                           (long long)quantity);

  double list = unit_price * (double)quantity;
  double subtotal = item_level_subtotal(offer, unit_price, quantity);

  /* Order-level parts test their thresholds against the item-level subtotal. Tiers
   * compete within their group (index 1 for coupons, 0 for the shop's own offers), and
   * the best tier of each group applies. */
  double best_saving[2] = {0.0, 0.0}, best_rate[2] = {1.0, 1.0}, repeated = 0.0;
  for (size_t k = 0; k < offer->n_parts; k++) {
    const promo_offer_part *p = &offer->parts[k];
    int group = (p->flags & PROMO_OFFER_FLAG_COUPON) != 0;
    double measure = (p->flags & PROMO_OFFER_FLAG_ITEM_THRESHOLD) ? (double)quantity : subtotal;
    if (p->kind == THRESHOLD && measure >= p->threshold && p->amount > best_saving[group])
      best_saving[group] = p->amount;
    else if (p->kind == REPEATED && p->threshold > 0)
      repeated += floor(measure / p->threshold) * p->amount;
    else if (p->kind == PERCENT && p->threshold > 0 && measure >= p->threshold &&
             p->rate < best_rate[group])
      best_rate[group] = p->rate;
  }
  double paid =
      (subtotal - best_saving[0] - best_saving[1] - repeated) * best_rate[0] * best_rate[1];
  double share = paid / list;
  if (share < 0) share = 0.0;
  if (share > 1) share = 1.0;
  *rate = share;
  return PROMO_OK;
}

promo_offer_kind promo_offer_main_kind(const promo_offer *offer) {
  if (offer->n_parts == 0) return PROMO_OFFER_NONE;
  if (offer->n_parts == 1) return offer->parts[0].kind;
  return PROMO_OFFER_COMBINED;
}

const char *promo_offer_kind_name(promo_offer_kind kind) {
  switch (kind) {
    case PROMO_OFFER_NONE: return "none";
    case PROMO_OFFER_PERCENT_OFF: return "percent_off";
    case PROMO_OFFER_AMOUNT_OFF: return "amount_off";
    case PROMO_OFFER_THRESHOLD_OFF: return "threshold_off";
    case PROMO_OFFER_REPEATED_OFF: return "repeated_off";
    case PROMO_OFFER_MULTI_BUY: return "multi_buy";
    case PROMO_OFFER_GIFT: return "gift";
    case PROMO_OFFER_FREE_SHIPPING: return "free_shipping";
    case PROMO_OFFER_FLASH_SALE: return "flash_sale";
    case PROMO_OFFER_COMBINED: return "combined";
    case PROMO_OFFER_N_KINDS: break;
  }
  return "unknown";
}
