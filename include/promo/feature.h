/* Feature stage: turns cleaned table columns into model inputs. This header contains the
 * promotion text parser (offer); encoders, scalers, PCA, time features and the fitted
 * pipeline get their own sections here. */
#ifndef PROMO_FEATURE_H
#define PROMO_FEATURE_H

#include <stddef.h>
#include <stdint.h>

#include "promo/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== offer */

/* What one part of a promotion does. The numbers each kind uses are listed at
 * promo_offer_part. */
typedef enum promo_offer_kind {
  /* no promotion: "", none, 无, 无优惠, - */
  PROMO_OFFER_NONE = 0,
  /* 8折, 8.5折, 85折, 0.85, 85%, 15% off, 满200打8折 */
  PROMO_OFFER_PERCENT_OFF,
  /* 立减5元, 减5, $5 off, 直降10元, 5元券 */
  PROMO_OFFER_AMOUNT_OFF,
  /* 满200减30, 200:30, $30 off orders over $200, 满2件减10 */
  PROMO_OFFER_THRESHOLD_OFF,
  /* 每满100减10: the saving repeats for every step spent */
  PROMO_OFFER_REPEATED_OFF,
  /* 买一送一, 买2送1, 第二件半价, 2件8折, buy 2 get 1 free */
  PROMO_OFFER_MULTI_BUY,
  /* 赠品, 赠品:15, 送价值15元赠品, free gift, 满199送赠品 */
  PROMO_OFFER_GIFT,
  /* 包邮, 免运费, free shipping, 满99包邮 */
  PROMO_OFFER_FREE_SHIPPING,
  /* 限时秒杀, 秒杀, 限时2小时, 24h flash sale */
  PROMO_OFFER_FLASH_SALE,
  /* never a part's kind: what promo_offer_main_kind returns for a text of several parts */
  PROMO_OFFER_COMBINED,
  PROMO_OFFER_N_KINDS
} promo_offer_kind;

/* Bits of promo_offer_part.flags. */
enum {
  /* The number is a best case ("8折起", "低至5折", "up to 50% off"). */
  PROMO_OFFER_FLAG_UP_TO = 1u << 0,
  /* threshold counts items, not money (满2件减10, 满3件包邮). */
  PROMO_OFFER_FLAG_ITEM_THRESHOLD = 1u << 1,
  /* The text names a coupon: 券, coupon, or the coupon-log form "200:30". */
  PROMO_OFFER_FLAG_COUPON = 1u << 2
};

/* One promotion inside a text. Fields a kind does not use are 0, except rate, which is
 * 1 when not used. Money is in the text's currency, whatever symbol it used.
 *
 *   kind            threshold         amount            rate                  counts
 *   PERCENT_OFF     spend, or 0       -                 share paid (0.8)      -
 *   AMOUNT_OFF      -                 saved per item    -                     -
 *   THRESHOLD_OFF   spend or items    saved per order   -                     -
 *   REPEATED_OFF    spend per step    saved per step    -                     -
 *   MULTI_BUY       -                 -                 share paid by the     buy_count,
 *                                                       get_count items       get_count
 *   GIFT            spend, or 0       -                 -                     -   (gift_value)
 *   FREE_SHIPPING   spend, or 0       -                 -                     -
 *   FLASH_SALE      -                 -                 -                     -   (duration_hours)
 *
 * MULTI_BUY with get_count > 0 works on groups of buy_count + get_count items: the first
 * buy_count pay full price and the last get_count pay `rate` (0 for 买一送一, 0.5 for
 * 第二件半价). With get_count == 0 ("2件8折"), buying at least buy_count items makes every
 * item pay `rate`. */
typedef struct promo_offer_part {
  promo_offer_kind kind;
  double threshold;
  double amount;
  double rate;
  int32_t buy_count;
  int32_t get_count;
  double gift_value;     /* stated value of the gift; 0 when the text gives none */
  double duration_hours; /* length of a flash sale; 0 when the text gives none */
  uint32_t flags;        /* PROMO_OFFER_FLAG_* */
  uint32_t text_offset;  /* byte range of this part in the parsed text */
  uint32_t text_length;
} promo_offer_part;

/* At most this many parts in one text; a longer combination is rejected. */
#define PROMO_OFFER_MAX_PARTS 8

/* Texts longer than this many bytes are rejected; real offer texts are far shorter. */
#define PROMO_OFFER_MAX_TEXT 512

/* A parsed promotion text: its parts in the order written. No parts means no promotion.
 * It is a plain value in the caller's memory; nothing needs freeing. */
typedef struct promo_offer {
  size_t n_parts;
  promo_offer_part parts[PROMO_OFFER_MAX_PARTS];
} promo_offer;

/* Parse promotion text as teams write it into `offer`. `text` is UTF-8 of `len` bytes
 * (len < 0: NUL-terminated).
 *
 * The forms read are the Chinese and English ones listed at promo_offer_kind. Chinese
 * numerals (八五折, 买一送一, 第二件, 满一百减十) and full-width digits and punctuation
 * (８折, 满２００减３０, 200：30) are read too, as are currency signs and units (¥ ￥ $ € £
 * 元 块 RMB). Several parts may be joined by + ＋ , ， 、 ; ； & 及 or spaces, or written
 * back to back (满200减30包邮, 限时8折).
 *
 * Readings that writers of offer text may not expect:
 *   - A 折 number with a decimal point or one digit is tenths (8.5折 = 0.85); a two-digit
 *     whole number from 21 to 99 not ending in 0 is hundredths (85折 = 0.85).
 *   - A bare decimal (0.85) and a bare percentage (85%) are the share paid; "15% off",
 *     "-15%" and "减15%" are the share taken off.
 *   - "x:y" is the coupon-log form of 满x减y.
 *   - 限时 and 秒杀 before another offer add a FLASH_SALE part (限时8折 is two parts).
 *   - Thousands separators are not read: "$100 off $1,000" is rejected.
 *
 * Fillers such as 全场, 下单 and 优惠 are skipped, and 券 or "coupon" sets
 * PROMO_OFFER_FLAG_COUPON on the money parts.
 *
 * Errors are PROMO_ERR_DATA with a message that names the text and the reason. err->value
 * gets the text, and path, line and column are left for the caller to set. Rejected: forms
 * promo does not read, 0折, 10折 and 12折, rates outside (0, 1), a saving not below its
 * threshold (满100减200), negative, zero or overlong numbers, fractional item counts,
 * fixed prices (99元, 2件99元), Arabic and Chinese digits run together (8五折), more than
 * PROMO_OFFER_MAX_PARTS parts, texts over PROMO_OFFER_MAX_TEXT bytes and invalid UTF-8.
 * On error `offer` contains no parts. */
promo_status promo_offer_parse(const char *text, ptrdiff_t len, promo_offer *offer,
                               promo_error *err);

/* Share of the list price paid, from 0 to 1, when `quantity` items of `unit_price` each
 * are bought in one order under `offer` (1 for no offer).
 *
 * Conventions:
 *   - Item-level parts apply first: PERCENT_OFF without a threshold multiplies each
 *     price, AMOUNT_OFF takes its amount off each item (never below 0), and MULTI_BUY
 *     discounts the get_count items of each complete group, or every item once
 *     buy_count are bought when get_count is 0.
 *   - Order-level parts then test their thresholds against that subtotal (or against
 *     quantity for PROMO_OFFER_FLAG_ITEM_THRESHOLD). THRESHOLD_OFF parts are tiers, so
 *     only the largest saving among the thresholds met applies. REPEATED_OFF saves
 *     amount for every complete threshold step. Savings are subtracted first, then
 *     PERCENT_OFF parts with a threshold multiply.
 *   - GIFT, FREE_SHIPPING and FLASH_SALE do not change the price paid (1.0): a gift's
 *     value and shipping are not part of the list price, and 秒杀 alone gives no price.
 *   - PROMO_OFFER_FLAG_UP_TO rates are used as written, so the result is a best case.
 *
 * Examples: 满200减30 at 250 gives 0.88, at 150 gives 1.0; 每满100减10 at 250 gives 0.92;
 * 买一送一 gives 0.5 for quantity 2 and 1.0 for quantity 1.
 * Errors: PROMO_ERR_USAGE when unit_price is not a positive finite number or quantity
 * is below 1; *rate is then untouched. */
promo_status promo_offer_effective_rate(const promo_offer *offer, double unit_price,
                                        int64_t quantity, double *rate, promo_error *err);

/* PROMO_OFFER_NONE for no parts, the part's kind for one part, PROMO_OFFER_COMBINED
 * for several. */
promo_offer_kind promo_offer_main_kind(const promo_offer *offer);

/* Stable English keyword of a kind for JSON and CSV output: "none", "percent_off",
 * "amount_off", "threshold_off", "repeated_off", "multi_buy", "gift", "free_shipping",
 * "flash_sale", "combined". Not translated. */
const char *promo_offer_kind_name(promo_offer_kind kind);

#ifdef __cplusplus
}
#endif
#endif
