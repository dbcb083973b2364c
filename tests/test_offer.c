/* Unit tests of the offer parser (feature stage): written forms in Chinese and English,
 * rejected texts with their messages, combined texts and the effective rate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "promo/feature.h"

#define UP_TO PROMO_OFFER_FLAG_UP_TO
#define ITEMS PROMO_OFFER_FLAG_ITEM_THRESHOLD
#define COUPON PROMO_OFFER_FLAG_COUPON

/* One text that parses into a single part, with every field of that part. */
typedef struct form_case {
  const char *text;
  promo_offer_kind kind;
  double threshold, amount, rate;
  int buy, get;
  double gift_value, hours;
  uint32_t flags;
} form_case;

static const form_case form_cases[] = {
    /* percent off */
    {"8折", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.8, 0, 0, 0, 0, 0},
    {"8.5折", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.85, 0, 0, 0, 0, 0},
    {"85折", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.85, 0, 0, 0, 0, 0},
    {"88折", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.88, 0, 0, 0, 0, 0},
    {"0.85", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.85, 0, 0, 0, 0, 0},
    {"85%", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.85, 0, 0, 0, 0, 0},
    {"15% off", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.85, 0, 0, 0, 0, 0},
    {"15%OFF", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.85, 0, 0, 0, 0, 0},
    {"-20%", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.8, 0, 0, 0, 0, 0},
    {"save 15%", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.85, 0, 0, 0, 0, 0},
    {"立减15%", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.85, 0, 0, 0, 0, 0},
    {"八折", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.8, 0, 0, 0, 0, 0},
    {"八五折", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.85, 0, 0, 0, 0, 0},
    {"九五折", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.95, 0, 0, 0, 0, 0},
    {"八点五折", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.85, 0, 0, 0, 0, 0},
    {"打八折", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.8, 0, 0, 0, 0, 0},
    {"８折", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.8, 0, 0, 0, 0, 0},
    {"8 折", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.8, 0, 0, 0, 0, 0},
    {"全场8折", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.8, 0, 0, 0, 0, 0},
    {"8折优惠", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.8, 0, 0, 0, 0, 0},
    {"半价", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.5, 0, 0, 0, 0, 0},
    {"Half Price", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.5, 0, 0, 0, 0, 0},
    {"5折起", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.5, 0, 0, 0, 0, UP_TO},
    {"低至3折", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.3, 0, 0, 0, 0, UP_TO},
    {"up to 50% off", PROMO_OFFER_PERCENT_OFF, 0, 0, 0.5, 0, 0, 0, 0, UP_TO},
    {"满200打8折", PROMO_OFFER_PERCENT_OFF, 200, 0, 0.8, 0, 0, 0, 0, 0},
    {"满300元享9折", PROMO_OFFER_PERCENT_OFF, 300, 0, 0.9, 0, 0, 0, 0, 0},
    {"10% off orders over $100", PROMO_OFFER_PERCENT_OFF, 100, 0, 0.9, 0, 0, 0, 0, 0},

    /* amount off */
    {"立减5元", PROMO_OFFER_AMOUNT_OFF, 0, 5, 1, 0, 0, 0, 0, 0},
    {"减5", PROMO_OFFER_AMOUNT_OFF, 0, 5, 1, 0, 0, 0, 0, 0},
    {"直降10元", PROMO_OFFER_AMOUNT_OFF, 0, 10, 1, 0, 0, 0, 0, 0},
    {"下单立减2.5元", PROMO_OFFER_AMOUNT_OFF, 0, 2.5, 1, 0, 0, 0, 0, 0},
    {"优惠20块", PROMO_OFFER_AMOUNT_OFF, 0, 20, 1, 0, 0, 0, 0, 0},
    {"$5 off", PROMO_OFFER_AMOUNT_OFF, 0, 5, 1, 0, 0, 0, 0, 0},
    {"￥5 off", PROMO_OFFER_AMOUNT_OFF, 0, 5, 1, 0, 0, 0, 0, 0},
    {"save $12.50", PROMO_OFFER_AMOUNT_OFF, 0, 12.5, 1, 0, 0, 0, 0, 0},
    {"5元券", PROMO_OFFER_AMOUNT_OFF, 0, 5, 1, 0, 0, 0, 0, COUPON},
    {"无门槛10元优惠券", PROMO_OFFER_AMOUNT_OFF, 0, 10, 1, 0, 0, 0, 0, COUPON},
    {"$5 coupon", PROMO_OFFER_AMOUNT_OFF, 0, 5, 1, 0, 0, 0, 0, COUPON},

    /* threshold amount off */
    {"满200减30", PROMO_OFFER_THRESHOLD_OFF, 200, 30, 1, 0, 0, 0, 0, 0},
    {"满200元减30元", PROMO_OFFER_THRESHOLD_OFF, 200, 30, 1, 0, 0, 0, 0, 0},
    {"满２００减３０", PROMO_OFFER_THRESHOLD_OFF, 200, 30, 1, 0, 0, 0, 0, 0},
    {"满 200 减 30", PROMO_OFFER_THRESHOLD_OFF, 200, 30, 1, 0, 0, 0, 0, 0},
    {"满199-100", PROMO_OFFER_THRESHOLD_OFF, 199, 100, 1, 0, 0, 0, 0, 0},
    {"满一百减十", PROMO_OFFER_THRESHOLD_OFF, 100, 10, 1, 0, 0, 0, 0, 0},
    {"满一百五减二十", PROMO_OFFER_THRESHOLD_OFF, 150, 20, 1, 0, 0, 0, 0, 0},
    {"满一千减一百", PROMO_OFFER_THRESHOLD_OFF, 1000, 100, 1, 0, 0, 0, 0, 0},
    {"满两百五减五十", PROMO_OFFER_THRESHOLD_OFF, 250, 50, 1, 0, 0, 0, 0, 0},
    {"满一百零五减五", PROMO_OFFER_THRESHOLD_OFF, 105, 5, 1, 0, 0, 0, 0, 0},
    {"满二十五减二", PROMO_OFFER_THRESHOLD_OFF, 25, 2, 1, 0, 0, 0, 0, 0},
    {"满一万五减两千", PROMO_OFFER_THRESHOLD_OFF, 15000, 2000, 1, 0, 0, 0, 0, 0},
    {"满1万减1000", PROMO_OFFER_THRESHOLD_OFF, 10000, 1000, 1, 0, 0, 0, 0, 0},
    {"满1.5万减2000", PROMO_OFFER_THRESHOLD_OFF, 15000, 2000, 1, 0, 0, 0, 0, 0},
    {"200:30", PROMO_OFFER_THRESHOLD_OFF, 200, 30, 1, 0, 0, 0, 0, COUPON},
    {"200：30", PROMO_OFFER_THRESHOLD_OFF, 200, 30, 1, 0, 0, 0, 0, COUPON},
    {"200减30", PROMO_OFFER_THRESHOLD_OFF, 200, 30, 1, 0, 0, 0, 0, 0},
    {"领券满200减30", PROMO_OFFER_THRESHOLD_OFF, 200, 30, 1, 0, 0, 0, 0, COUPON},
    {"满200减30元优惠券", PROMO_OFFER_THRESHOLD_OFF, 200, 30, 1, 0, 0, 0, 0, COUPON},
    {"满2件减10", PROMO_OFFER_THRESHOLD_OFF, 2, 10, 1, 0, 0, 0, 0, ITEMS},
    {"$30 off $200", PROMO_OFFER_THRESHOLD_OFF, 200, 30, 1, 0, 0, 0, 0, 0},
    {"$30 off orders over $200", PROMO_OFFER_THRESHOLD_OFF, 200, 30, 1, 0, 0, 0, 0, 0},
    {"Spend $200, save $30", PROMO_OFFER_THRESHOLD_OFF, 200, 30, 1, 0, 0, 0, 0, 0},
    {"spend 200 get 30 off", PROMO_OFFER_THRESHOLD_OFF, 200, 30, 1, 0, 0, 0, 0, 0},

    /* repeated threshold off */
    {"每满100减10", PROMO_OFFER_REPEATED_OFF, 100, 10, 1, 0, 0, 0, 0, 0},
    {"每满100元减10元，上不封顶", PROMO_OFFER_REPEATED_OFF, 100, 10, 1, 0, 0, 0, 0, 0},
    {"每满一百减十", PROMO_OFFER_REPEATED_OFF, 100, 10, 1, 0, 0, 0, 0, 0},
    {"$10 off every $100", PROMO_OFFER_REPEATED_OFF, 100, 10, 1, 0, 0, 0, 0, 0},
    {"save $10 for every $100 spent", PROMO_OFFER_REPEATED_OFF, 100, 10, 1, 0, 0, 0, 0, 0},

    /* multi-buy */
    {"买一送一", PROMO_OFFER_MULTI_BUY, 0, 0, 0, 1, 1, 0, 0, 0},
    {"买1送1", PROMO_OFFER_MULTI_BUY, 0, 0, 0, 1, 1, 0, 0, 0},
    {"买2送1", PROMO_OFFER_MULTI_BUY, 0, 0, 0, 2, 1, 0, 0, 0},
    {"买二赠一", PROMO_OFFER_MULTI_BUY, 0, 0, 0, 2, 1, 0, 0, 0},
    {"买3件送1件", PROMO_OFFER_MULTI_BUY, 0, 0, 0, 3, 1, 0, 0, 0},
    {"第二件半价", PROMO_OFFER_MULTI_BUY, 0, 0, 0.5, 1, 1, 0, 0, 0},
    {"第2件5折", PROMO_OFFER_MULTI_BUY, 0, 0, 0.5, 1, 1, 0, 0, 0},
    {"第二件八折", PROMO_OFFER_MULTI_BUY, 0, 0, 0.8, 1, 1, 0, 0, 0},
    {"第三件0元", PROMO_OFFER_MULTI_BUY, 0, 0, 0, 2, 1, 0, 0, 0},
    {"第3件免费", PROMO_OFFER_MULTI_BUY, 0, 0, 0, 2, 1, 0, 0, 0},
    {"2件8折", PROMO_OFFER_MULTI_BUY, 0, 0, 0.8, 2, 0, 0, 0, 0},
    {"两件八折", PROMO_OFFER_MULTI_BUY, 0, 0, 0.8, 2, 0, 0, 0, 0},
    {"满3件7折", PROMO_OFFER_MULTI_BUY, 0, 0, 0.7, 3, 0, 0, 0, 0},
    {"任选2件9折", PROMO_OFFER_MULTI_BUY, 0, 0, 0.9, 2, 0, 0, 0, 0},
    {"buy 2 get 1 free", PROMO_OFFER_MULTI_BUY, 0, 0, 0, 2, 1, 0, 0, 0},
    {"Buy One, Get One Free", PROMO_OFFER_MULTI_BUY, 0, 0, 0, 1, 1, 0, 0, 0},
    {"buy 1 get 1 50% off", PROMO_OFFER_MULTI_BUY, 0, 0, 0.5, 1, 1, 0, 0, 0},
    {"BOGO", PROMO_OFFER_MULTI_BUY, 0, 0, 0, 1, 1, 0, 0, 0},
    {"B2G1", PROMO_OFFER_MULTI_BUY, 0, 0, 0, 2, 1, 0, 0, 0},
    {"3 for 2", PROMO_OFFER_MULTI_BUY, 0, 0, 0, 2, 1, 0, 0, 0},
    {"2nd item half price", PROMO_OFFER_MULTI_BUY, 0, 0, 0.5, 1, 1, 0, 0, 0},
    {"second item 30% off", PROMO_OFFER_MULTI_BUY, 0, 0, 0.7, 1, 1, 0, 0, 0},

    /* gift */
    {"赠品", PROMO_OFFER_GIFT, 0, 0, 1, 0, 0, 0, 0, 0},
    {"送赠品", PROMO_OFFER_GIFT, 0, 0, 1, 0, 0, 0, 0, 0},
    {"赠品:15", PROMO_OFFER_GIFT, 0, 0, 1, 0, 0, 15, 0, 0},
    {"赠品：15元", PROMO_OFFER_GIFT, 0, 0, 1, 0, 0, 15, 0, 0},
    {"赠品（价值15元）", PROMO_OFFER_GIFT, 0, 0, 1, 0, 0, 15, 0, 0},
    {"送价值20元赠品", PROMO_OFFER_GIFT, 0, 0, 1, 0, 0, 20, 0, 0},
    {"送价值20元的保温杯", PROMO_OFFER_GIFT, 0, 0, 1, 0, 0, 20, 0, 0},
    {"赠送小样", PROMO_OFFER_GIFT, 0, 0, 1, 0, 0, 0, 0, 0},
    {"满199送赠品", PROMO_OFFER_GIFT, 199, 0, 1, 0, 0, 0, 0, 0},
    {"free gift", PROMO_OFFER_GIFT, 0, 0, 1, 0, 0, 0, 0, 0},
    {"free gift worth $25", PROMO_OFFER_GIFT, 0, 0, 1, 0, 0, 25, 0, 0},

    /* free shipping */
    {"包邮", PROMO_OFFER_FREE_SHIPPING, 0, 0, 1, 0, 0, 0, 0, 0},
    {"免运费", PROMO_OFFER_FREE_SHIPPING, 0, 0, 1, 0, 0, 0, 0, 0},
    {"顺丰包邮", PROMO_OFFER_FREE_SHIPPING, 0, 0, 1, 0, 0, 0, 0, 0},
    {"满99包邮", PROMO_OFFER_FREE_SHIPPING, 99, 0, 1, 0, 0, 0, 0, 0},
    {"满2件包邮", PROMO_OFFER_FREE_SHIPPING, 2, 0, 1, 0, 0, 0, 0, ITEMS},
    {"Free Shipping", PROMO_OFFER_FREE_SHIPPING, 0, 0, 1, 0, 0, 0, 0, 0},
    {"free shipping over $49", PROMO_OFFER_FREE_SHIPPING, 49, 0, 1, 0, 0, 0, 0, 0},

    /* flash sale */
    {"限时秒杀", PROMO_OFFER_FLASH_SALE, 0, 0, 1, 0, 0, 0, 0, 0},
    {"秒杀", PROMO_OFFER_FLASH_SALE, 0, 0, 1, 0, 0, 0, 0, 0},
    {"限时抢购", PROMO_OFFER_FLASH_SALE, 0, 0, 1, 0, 0, 0, 0, 0},
    {"限时2小时", PROMO_OFFER_FLASH_SALE, 0, 0, 1, 0, 0, 0, 2, 0},
    {"限时两小时", PROMO_OFFER_FLASH_SALE, 0, 0, 1, 0, 0, 0, 2, 0},
    {"限时1天", PROMO_OFFER_FLASH_SALE, 0, 0, 1, 0, 0, 0, 24, 0},
    {"限时30分钟秒杀", PROMO_OFFER_FLASH_SALE, 0, 0, 1, 0, 0, 0, 0.5, 0},
    {"flash sale", PROMO_OFFER_FLASH_SALE, 0, 0, 1, 0, 0, 0, 0, 0},
    {"24h flash sale", PROMO_OFFER_FLASH_SALE, 0, 0, 1, 0, 0, 0, 24, 0},
    {"2-hour flash sale", PROMO_OFFER_FLASH_SALE, 0, 0, 1, 0, 0, 0, 2, 0},
    {"Lightning Deal", PROMO_OFFER_FLASH_SALE, 0, 0, 1, 0, 0, 0, 0, 0},
};

static void check_part(const char *text, const promo_offer_part *got, const form_case *want) {
  if (got->kind != want->kind)
    fail_msg("%s: kind %s, expected %s", text, promo_offer_kind_name(got->kind),
             promo_offer_kind_name(want->kind));
  if (fabs(got->threshold - want->threshold) > 1e-9)
    fail_msg("%s: threshold %g, expected %g", text, got->threshold, want->threshold);
  if (fabs(got->amount - want->amount) > 1e-9)
    fail_msg("%s: amount %g, expected %g", text, got->amount, want->amount);
  if (fabs(got->rate - want->rate) > 1e-9)
    fail_msg("%s: rate %g, expected %g", text, got->rate, want->rate);
  if (got->buy_count != want->buy || got->get_count != want->get)
    fail_msg("%s: buy %d get %d, expected buy %d get %d", text, (int)got->buy_count,
             (int)got->get_count, want->buy, want->get);
  if (fabs(got->gift_value - want->gift_value) > 1e-9)
    fail_msg("%s: gift value %g, expected %g", text, got->gift_value, want->gift_value);
  if (fabs(got->duration_hours - want->hours) > 1e-9)
    fail_msg("%s: duration %g h, expected %g h", text, got->duration_hours, want->hours);
  if (got->flags != want->flags)
    fail_msg("%s: flags %u, expected %u", text, (unsigned)got->flags, (unsigned)want->flags);
}

static void forms_parse_to_one_part(void **state) {
  (void)state;
  assert_true(sizeof form_cases / sizeof form_cases[0] >= 60);
  for (size_t k = 0; k < sizeof form_cases / sizeof form_cases[0]; k++) {
    const form_case *c = &form_cases[k];
    promo_offer offer;
    promo_error err;
    promo_error_clear(&err);
    if (promo_offer_parse(c->text, -1, &offer, &err) != PROMO_OK)
      fail_msg("%s: rejected: %s", c->text, err.message);
    if (offer.n_parts != 1) fail_msg("%s: %zu parts, expected 1", c->text, offer.n_parts);
    check_part(c->text, &offer.parts[0], c);
  }
}

/* Distinct Discount_rate values of the Tianchi O2O coupon test file
 * (ccf_offline_stage1_test_revised.csv, 113,640 rows): "x:y" is 满x减y, a decimal is
 * the share paid. */
static const char *const tianchi_values[] = {
    "30:5",   "20:1",    "50:10",  "20:5",   "200:20", "30:1",   "10:1",   "100:10", "50:5",
    "100:20", "0.95",    "0.9",    "0.8",    "150:5",  "100:5",  "30:10",  "10:5",   "50:1",
    "200:30", "150:20",  "100:30", "150:30", "5:1",    "300:30", "200:50", "20:10",  "50:20",
    "100:50", "150:50",  "150:10", "30:20",  "200:10", "300:50", "200:5",  "100:1",  "300:20",
    "0.5",    "200:100", "500:30", "0.85",   "0.7",    "0.6"};

static void tianchi_discount_rates_parse(void **state) {
  (void)state;
  size_t n = sizeof tianchi_values / sizeof tianchi_values[0];
  assert_int_equal(n, 42);
  for (size_t k = 0; k < n; k++) {
    const char *text = tianchi_values[k];
    promo_offer offer;
    promo_error err;
    promo_error_clear(&err);
    if (promo_offer_parse(text, -1, &offer, &err) != PROMO_OK)
      fail_msg("%s: rejected: %s", text, err.message);
    assert_int_equal(offer.n_parts, 1);
    const promo_offer_part *p = &offer.parts[0];
    double x, y;
    if (sscanf(text, "%lf:%lf", &x, &y) == 2) {
      assert_int_equal(p->kind, PROMO_OFFER_THRESHOLD_OFF);
      assert_true(p->threshold == x);
      assert_true(p->amount == y);
      assert_int_equal(p->flags, PROMO_OFFER_FLAG_COUPON);
    } else {
      assert_int_equal(p->kind, PROMO_OFFER_PERCENT_OFF);
      assert_true(fabs(p->rate - x) < 1e-12);
    }
  }
}

static void none_forms_have_no_parts(void **state) {
  (void)state;
  const char *const texts[] = {"",  "  ", "none", "None", "无",   "无优惠",      "-",
                               "—", "－", "N/A",  "null", "没有", "no promotion"};
  for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
    promo_offer offer;
    promo_error err;
    promo_error_clear(&err);
    if (promo_offer_parse(texts[k], -1, &offer, &err) != PROMO_OK)
      fail_msg("'%s': rejected: %s", texts[k], err.message);
    if (offer.n_parts != 0) fail_msg("'%s': %zu parts, expected 0", texts[k], offer.n_parts);
    assert_int_equal(promo_offer_main_kind(&offer), PROMO_OFFER_NONE);
  }
}

/* A combined text: the kinds of its parts and where each part sits in the text. */
typedef struct combined_case {
  const char *text;
  size_t n_parts;
  promo_offer_kind kinds[4];
  const char *part_texts[4];
} combined_case;

static const combined_case combined_cases[] = {
    {"满200减30+包邮",
     2,
     {PROMO_OFFER_THRESHOLD_OFF, PROMO_OFFER_FREE_SHIPPING},
     {"满200减30", "包邮"}},
    {"8折 + 赠品", 2, {PROMO_OFFER_PERCENT_OFF, PROMO_OFFER_GIFT}, {"8折", "赠品"}},
    {"8折＋赠品", 2, {PROMO_OFFER_PERCENT_OFF, PROMO_OFFER_GIFT}, {"8折", "赠品"}},
    {"8折,包邮", 2, {PROMO_OFFER_PERCENT_OFF, PROMO_OFFER_FREE_SHIPPING}, {"8折", "包邮"}},
    {"8折，包邮", 2, {PROMO_OFFER_PERCENT_OFF, PROMO_OFFER_FREE_SHIPPING}, {"8折", "包邮"}},
    {"8折、包邮", 2, {PROMO_OFFER_PERCENT_OFF, PROMO_OFFER_FREE_SHIPPING}, {"8折", "包邮"}},
    {"8折;包邮", 2, {PROMO_OFFER_PERCENT_OFF, PROMO_OFFER_FREE_SHIPPING}, {"8折", "包邮"}},
    {"8折及包邮", 2, {PROMO_OFFER_PERCENT_OFF, PROMO_OFFER_FREE_SHIPPING}, {"8折", "包邮"}},
    {"8折 & 包邮", 2, {PROMO_OFFER_PERCENT_OFF, PROMO_OFFER_FREE_SHIPPING}, {"8折", "包邮"}},
    {"满200减30包邮",
     2,
     {PROMO_OFFER_THRESHOLD_OFF, PROMO_OFFER_FREE_SHIPPING},
     {"满200减30", "包邮"}},
    {"限时8折", 2, {PROMO_OFFER_FLASH_SALE, PROMO_OFFER_PERCENT_OFF}, {"限时", "8折"}},
    {"满200减30，满300减50",
     2,
     {PROMO_OFFER_THRESHOLD_OFF, PROMO_OFFER_THRESHOLD_OFF},
     {"满200减30", "满300减50"}},
    {"满200打8折,满300打7折",
     2,
     {PROMO_OFFER_PERCENT_OFF, PROMO_OFFER_PERCENT_OFF},
     {"满200打8折", "满300打7折"}},
    {"2件8折,3件7折", 2, {PROMO_OFFER_MULTI_BUY, PROMO_OFFER_MULTI_BUY}, {"2件8折", "3件7折"}},
    {"满2件减10,满200减10",
     2,
     {PROMO_OFFER_THRESHOLD_OFF, PROMO_OFFER_THRESHOLD_OFF},
     {"满2件减10", "满200减10"}},
    {"立减10元+5元券", 2, {PROMO_OFFER_AMOUNT_OFF, PROMO_OFFER_AMOUNT_OFF}, {"立减10元", "5元券"}},
    {"满300减50+200:30",
     2,
     {PROMO_OFFER_THRESHOLD_OFF, PROMO_OFFER_THRESHOLD_OFF},
     {"满300减50", "200:30"}},
    {"送小样+赠品", 2, {PROMO_OFFER_GIFT, PROMO_OFFER_GIFT}, {"送小样", "赠品"}},
    {"$5 off and free shipping",
     2,
     {PROMO_OFFER_AMOUNT_OFF, PROMO_OFFER_FREE_SHIPPING},
     {"$5 off", "free shipping"}},
    {"【限时秒杀】5折+送小样+包邮",
     4,
     {PROMO_OFFER_FLASH_SALE, PROMO_OFFER_PERCENT_OFF, PROMO_OFFER_GIFT, PROMO_OFFER_FREE_SHIPPING},
     {"限时秒杀", "5折", "送小样", "包邮"}},
};

static void combined_texts_give_parts(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof combined_cases / sizeof combined_cases[0]; k++) {
    const combined_case *c = &combined_cases[k];
    promo_offer offer;
    promo_error err;
    promo_error_clear(&err);
    if (promo_offer_parse(c->text, -1, &offer, &err) != PROMO_OK)
      fail_msg("%s: rejected: %s", c->text, err.message);
    if (offer.n_parts != c->n_parts)
      fail_msg("%s: %zu parts, expected %zu", c->text, offer.n_parts, c->n_parts);
    assert_int_equal(promo_offer_main_kind(&offer), PROMO_OFFER_COMBINED);
    for (size_t p = 0; p < c->n_parts; p++) {
      const promo_offer_part *part = &offer.parts[p];
      if (part->kind != c->kinds[p])
        fail_msg("%s: part %zu is %s, expected %s", c->text, p, promo_offer_kind_name(part->kind),
                 promo_offer_kind_name(c->kinds[p]));
      size_t n = strlen(c->part_texts[p]);
      if (part->text_length != n || memcmp(c->text + part->text_offset, c->part_texts[p], n) != 0)
        fail_msg("%s: part %zu is '%.*s', expected '%s'", c->text, p, (int)part->text_length,
                 c->text + part->text_offset, c->part_texts[p]);
    }
  }
}

static void combined_numbers_are_kept(void **state) {
  (void)state;
  promo_offer offer;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_offer_parse("满200减30+8.5折+赠品:15", -1, &offer, &err), PROMO_OK);
  assert_int_equal(offer.n_parts, 3);
  assert_true(offer.parts[0].threshold == 200);
  assert_true(offer.parts[0].amount == 30);
  assert_true(fabs(offer.parts[1].rate - 0.85) < 1e-12);
  assert_true(offer.parts[2].gift_value == 15);
}

/* A text that must be rejected and the message it must produce. */
typedef struct rejected_case {
  const char *text;
  const char *message;
} rejected_case;

static const rejected_case rejected_cases[] = {
    {"0折",
     "invalid offer '0折': 0折 is not a discount; write 1 to 9.9 (8折 pays 80%) or 21 to "
     "99 for hundredths (85折 pays 85%)"},
    {"12折",
     "invalid offer '12折': 12折 is not a discount; write 1 to 9.9 (8折 pays 80%) or 21 "
     "to 99 for hundredths (85折 pays 85%)"},
    {"10折",
     "invalid offer '10折': 10折 is not a discount; write 1 to 9.9 (8折 pays 80%) or 21 "
     "to 99 for hundredths (85折 pays 85%)"},
    {"十折",
     "invalid offer '十折': 10折 is not a discount; write 1 to 9.9 (8折 pays 80%) or 21 "
     "to 99 for hundredths (85折 pays 85%)"},
    {"满100减200",
     "invalid offer '满100减200': saving 200 is not below the threshold 100, so the "
     "order would cost nothing"},
    {"100:100",
     "invalid offer '100:100': saving 100 is not below the threshold 100, so the order "
     "would cost nothing"},
    {"满0减0", "invalid offer '满0减0': threshold 0 must be above 0"},
    {"减0元", "invalid offer '减0元': saving 0 must be above 0"},
    {"减-5",
     "invalid offer '减-5': negative number -5; write amounts, rates and counts without "
     "a sign"},
    {"满-100减10",
     "invalid offer '满-100减10': negative number -100; write amounts, rates and "
     "counts without a sign"},
    {"-0.8",
     "invalid offer '-0.8': negative number -0.8; write amounts, rates and counts "
     "without a sign"},
    {"1.5",
     "invalid offer '1.5': a bare number is read as the share of the price paid, so 1.5 "
     "must be above 0 and below 1 (0.85 pays 85%)"},
    {"200",
     "invalid offer '200': a bare number is read as the share of the price paid, so 200 "
     "must be above 0 and below 1 (0.85 pays 85%)"},
    {"99元",
     "invalid offer '99元': a fixed price (99元, 2件99元) gives no discount without the "
     "list price; write the discount instead, such as 立减20元 or 8折"},
    {"2件99元",
     "invalid offer '2件99元': a fixed price (99元, 2件99元) gives no discount without "
     "the list price; write the discount instead, such as 立减20元 or 8折"},
    {"秒杀价99元",
     "invalid offer '秒杀价99元': a fixed price (99元, 2件99元) gives no discount "
     "without the list price; write the discount instead, such as 立减20元 or 8折"},
    {"120%", "invalid offer '120%': 120% must be above 0% and below 100%"},
    {"100% off", "invalid offer '100% off': 100% must be above 0% and below 100%"},
    {"买1.5送1", "invalid offer '买1.5送1': item count 1.5 must be a whole number from 1 to 1000"},
    {"买0送1", "invalid offer '买0送1': item count 0 must be a whole number from 1 to 1000"},
    {"第一件半价",
     "invalid offer '第一件半价': the discounted item must be the 2nd or a later one"},
    {"2 for 3", "invalid offer '2 for 3': '2 for 3' charges for as many items as it gives"},
    {"限时0小时",
     "invalid offer '限时0小时': duration of 0 hours must be above 0 and at most 8784 "
     "(366 days)"},
    {"1234567890:5",
     "invalid offer '1234567890:5': number 1234567890 has too many digits; at most "
     "9 before the point and 6 after"},
    {"8五折",
     "invalid offer '8五折': Arabic and Chinese numerals written together at byte 2; write "
     "the number one way"},
    {"8折 foo",
     "invalid offer '8折 foo': 'foo' is not an offer form promo reads; write it like "
     "8折, 满200减30, 买一送一, $5 off or 包邮"},
    {"大促",
     "invalid offer '大促': no offer form promo reads matches it; write it like 8折, "
     "满200减30, 买一送一, $5 off or 包邮"},
    {"abc abc",
     "invalid offer 'abc abc': no offer form promo reads matches it; write it like 8折, "
     "满200减30, 买一送一, $5 off or 包邮"},
    {" 全场大促 ",
     "invalid offer ' 全场大促 ': no offer form promo reads matches it; write it like 8折, "
     "满200减30, 买一送一, $5 off or 包邮"},
    {"8折 foo bar, 包邮",
     "invalid offer '8折 foo bar, 包邮': 'foo bar' is not an offer form promo reads; write "
     "it like 8折, 满200减30, 买一送一, $5 off or 包邮"},
    {"8折\n大促",
     "invalid offer '8折\\n大促': '大促' is not an offer form promo reads; write it like "
     "8折, 满200减30, 买一送一, $5 off or 包邮"},
    {"8折\t\x01",
     "invalid offer '8折\\t\\x01': '\\x01' is not an offer form promo reads; write it like "
     "8折, 满200减30, 买一送一, $5 off or 包邮"},
    {"全场", "invalid offer '全场': no offer found; write 无 or none for no promotion"},
    {"无+包邮",
     "invalid offer '无+包邮': '无' is not an offer form promo reads; write it like "
     "8折, 满200减30, 买一送一, $5 off or 包邮"},
    {"1e308折",
     "invalid offer '1e308折': '1e308' is not a number promo reads; write plain digits, "
     "such as 8.5 or 200"},
    {"满2E3减10",
     "invalid offer '满2E3减10': '2E3' is not a number promo reads; write plain digits, "
     "such as 8.5 or 200"},
    {"券后价99",
     "invalid offer '券后价99': a fixed price (99元, 2件99元) gives no discount without the "
     "list price; write the discount instead, such as 立减20元 or 8折"},
    {"买一送一 第二件半价",
     "invalid offer '买一送一 第二件半价': '买一送一' and '第二件半价' are both multi-buy "
     "offers, which promo does not stack; keep one"},
    {"8折8折",
     "invalid offer '8折8折': '8折' and '8折' are both percent-off offers, which promo does "
     "not stack; keep one"},
    {"8折+满200打9折",
     "invalid offer '8折+满200打9折': '8折' and '满200打9折' are both percent-off offers, "
     "which promo does not stack; keep one"},
    {"立减5元,减3元",
     "invalid offer '立减5元,减3元': '立减5元' and '减3元' are both amount-off offers, which "
     "promo does not stack; keep one"},
    {"每满100减10,每满200减30",
     "invalid offer '每满100减10,每满200减30': '每满100减10' and '每满200减30' are both "
     "repeated threshold-off offers, which promo does not stack; keep one"},
    {"买一送一,2件8折",
     "invalid offer '买一送一,2件8折': '买一送一' and '2件8折' are both multi-buy offers, "
     "which promo does not stack; keep one"},
    {"满200减30,满200减50",
     "invalid offer '满200减30,满200减50': '满200减30' and '满200减50' are threshold-off "
     "tiers with the same threshold; keep one, or give each its own threshold"},
    {"2件8折 两件7折",
     "invalid offer '2件8折 两件7折': '2件8折' and '两件7折' are multi-buy tiers with the "
     "same threshold; keep one, or give each its own threshold"},
    {"$100 off $1,000",
     "invalid offer '$100 off $1,000': thousands separators are not read in "
     "1,000; write the number without them, or put a space after a comma that "
     "separates two offers"},
    {"8折+8折+8折+8折+8折+8折+8折+8折+8折",
     "invalid offer '8折+8折+8折+8折+8折+8折+8折+8折+8折': more than 8 offers in one text"},
};

static void rejected_forms_name_the_reason(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof rejected_cases / sizeof rejected_cases[0]; k++) {
    const rejected_case *c = &rejected_cases[k];
    promo_offer offer;
    promo_error err;
    promo_error_clear(&err);
    promo_status st = promo_offer_parse(c->text, -1, &offer, &err);
    if (st != PROMO_ERR_DATA) fail_msg("%s: status %d, expected PROMO_ERR_DATA", c->text, (int)st);
    assert_int_equal(offer.n_parts, 0);
    if (strcmp(err.message, c->message) != 0)
      fail_msg("%s: message\n  '%s'\nexpected\n  '%s'", c->text, err.message, c->message);
    assert_string_equal(err.value, c->text);
  }
}

static void error_keeps_caller_location(void **state) {
  (void)state;
  promo_offer offer;
  promo_error err;
  promo_error_clear(&err);
  promo_error_at(&err, "offers.csv", 7, 2);
  assert_int_equal(promo_offer_parse("满100减200", -1, &offer, &err), PROMO_ERR_DATA);
  char buf[512];
  promo_error_format(&err, buf, sizeof buf);
  assert_string_equal(buf,
                      "offers.csv:7:2: invalid offer '满100减200': saving 200 is not below "
                      "the threshold 100, so the order would cost nothing");
}

static void invalid_bytes_are_rejected(void **state) {
  (void)state;
  promo_offer offer;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_offer_parse("8\xff折", -1, &offer, &err), PROMO_ERR_DATA);
  assert_string_equal(err.message, "invalid offer '8\\xFF折': invalid UTF-8 at byte 2");

  const char with_nul[] = {'8', '\0', 'x'};
  assert_int_equal(promo_offer_parse(with_nul, 3, &offer, &err), PROMO_ERR_DATA);
  assert_non_null(strstr(err.message, "NUL byte at byte 2"));

  /* A lead byte whose continuation is cut off by len. */
  assert_int_equal(promo_offer_parse("8折", 3, &offer, &err), PROMO_ERR_DATA);
  assert_non_null(strstr(err.message, "invalid UTF-8 at byte 2"));
}

/* The message quotes at most 64 bytes of the text, with escapes, and marks the cut. */
static void message_clips_long_text(void **state) {
  (void)state;
  char text[81];
  memset(text, 'x', sizeof text - 1);
  memcpy(text, "foo\n", 4);
  text[sizeof text - 1] = '\0';
  promo_offer offer;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_offer_parse(text, -1, &offer, &err), PROMO_ERR_DATA);
  char expected[512];
  snprintf(expected, sizeof expected,
           "invalid offer 'foo\\n%.60s...': no offer form promo reads matches it; write it "
           "like 8折, 满200减30, 买一送一, $5 off or 包邮",
           text + 4);
  assert_string_equal(err.message, expected);
}

static void long_text_is_rejected(void **state) {
  (void)state;
  char text[PROMO_OFFER_MAX_TEXT + 2];
  memset(text, ' ', sizeof text - 1);
  memcpy(text, "8折", strlen("8折"));
  text[sizeof text - 1] = '\0';
  promo_offer offer;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_offer_parse(text, -1, &offer, &err), PROMO_ERR_DATA);
  assert_non_null(strstr(err.message, "text is 513 bytes long; at most 512 are read"));

  text[PROMO_OFFER_MAX_TEXT] = '\0';
  assert_int_equal(promo_offer_parse(text, -1, &offer, &err), PROMO_OK);
  assert_int_equal(offer.n_parts, 1);
}

static void length_limits_the_text(void **state) {
  (void)state;
  promo_offer offer;
  promo_error err;
  promo_error_clear(&err);
  /* Only the first 11 bytes, 满200减30, are read. */
  assert_int_equal(promo_offer_parse("满200减30+包邮", 11, &offer, &err), PROMO_OK);
  assert_int_equal(offer.n_parts, 1);
  assert_int_equal(offer.parts[0].kind, PROMO_OFFER_THRESHOLD_OFF);
  assert_int_equal(offer.parts[0].text_offset, 0);
  assert_int_equal(offer.parts[0].text_length, 11);
}

/* Effective rate: the offer, unit price, quantity and the share paid. */
typedef struct rate_case {
  const char *text;
  double price;
  int64_t quantity;
  double share;
} rate_case;

static const rate_case rate_cases[] = {
    {"满200减30", 250, 1, 0.88},
    {"满200减30", 150, 1, 1.0},
    {"满200减30", 200, 1, 0.85},
    {"满200减30", 100, 2, 0.85},
    {"200:30", 250, 1, 0.88},
    {"每满100减10", 250, 1, 0.92},
    {"每满100减10", 99, 1, 1.0},
    {"每满100减10", 100, 3, 0.9},
    {"买一送一", 100, 2, 0.5},
    {"买一送一", 100, 1, 1.0},
    {"买一送一", 100, 3, 2.0 / 3.0},
    {"买2送1", 30, 3, 2.0 / 3.0},
    {"第二件半价", 100, 2, 0.75},
    {"2件8折", 50, 1, 1.0},
    {"2件8折", 50, 3, 0.8},
    {"8折", 99, 1, 0.8},
    {"0.85", 10, 4, 0.85},
    {"立减5元", 50, 1, 0.9},
    {"立减5元", 50, 2, 0.9},
    {"立减5元", 3, 1, 0.0},
    {"满200打8折", 250, 1, 0.8},
    {"满200打8折", 150, 1, 1.0},
    {"满2件减10", 50, 2, 0.9},
    {"满2件减10", 50, 1, 1.0},
    {"满200减30,满300减50", 250, 1, 0.88},
    {"满200减30,满300减50", 400, 1, 0.875},
    {"8折+满200减30", 250, 1, 0.68},
    {"8折+满200减30", 250, 2, (400.0 - 30.0) / 500.0},
    {"满200打8折,满300打7折", 250, 1, 0.8},
    {"满200打8折,满300打7折", 400, 1, 0.7},
    {"满300打7折,满200打8折", 400, 1, 0.7},
    {"满200打8折,满300打7折", 150, 1, 1.0},
    {"2件8折,3件7折", 100, 1, 1.0},
    {"2件8折,3件7折", 100, 2, 0.8},
    {"2件8折,3件7折", 100, 3, 0.7},
    {"3件7折,2件8折", 100, 5, 0.7},
    {"立减10元+5元券", 100, 1, 0.85},
    {"满300减50+200:30", 400, 1, (400.0 - 50.0 - 30.0) / 400.0},
    {"满300减50+200:30", 250, 1, (250.0 - 30.0) / 250.0},
    {"赠品:15", 100, 1, 1.0},
    {"包邮", 100, 1, 1.0},
    {"限时秒杀", 100, 1, 1.0},
    {"无", 100, 1, 1.0},
};

static void effective_rate_cases(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof rate_cases / sizeof rate_cases[0]; k++) {
    const rate_case *c = &rate_cases[k];
    promo_offer offer;
    promo_error err;
    promo_error_clear(&err);
    if (promo_offer_parse(c->text, -1, &offer, &err) != PROMO_OK)
      fail_msg("%s: rejected: %s", c->text, err.message);
    double share = -1;
    assert_int_equal(promo_offer_effective_rate(&offer, c->price, c->quantity, &share, &err),
                     PROMO_OK);
    if (fabs(share - c->share) > 1e-12)
      fail_msg("%s at %g x %lld: share %.15g, expected %.15g", c->text, c->price,
               (long long)c->quantity, share, c->share);
  }
}

static void effective_rate_rejects_bad_input(void **state) {
  (void)state;
  promo_offer offer;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_offer_parse("8折", -1, &offer, &err), PROMO_OK);
  double share = 42;
  assert_int_equal(promo_offer_effective_rate(&offer, 0, 1, &share, &err), PROMO_ERR_USAGE);
  assert_string_equal(err.message, "price 0 is invalid; give a positive number");
  assert_int_equal(promo_offer_effective_rate(&offer, NAN, 1, &share, &err), PROMO_ERR_USAGE);
  assert_int_equal(promo_offer_effective_rate(&offer, INFINITY, 1, &share, &err), PROMO_ERR_USAGE);
  assert_int_equal(promo_offer_effective_rate(&offer, 10, 0, &share, &err), PROMO_ERR_USAGE);
  assert_string_equal(err.message, "quantity 0 is invalid; give a whole number from 1");
  assert_true(share == 42);
}

static void kind_names_are_stable(void **state) {
  (void)state;
  assert_string_equal(promo_offer_kind_name(PROMO_OFFER_NONE), "none");
  assert_string_equal(promo_offer_kind_name(PROMO_OFFER_PERCENT_OFF), "percent_off");
  assert_string_equal(promo_offer_kind_name(PROMO_OFFER_AMOUNT_OFF), "amount_off");
  assert_string_equal(promo_offer_kind_name(PROMO_OFFER_THRESHOLD_OFF), "threshold_off");
  assert_string_equal(promo_offer_kind_name(PROMO_OFFER_REPEATED_OFF), "repeated_off");
  assert_string_equal(promo_offer_kind_name(PROMO_OFFER_MULTI_BUY), "multi_buy");
  assert_string_equal(promo_offer_kind_name(PROMO_OFFER_GIFT), "gift");
  assert_string_equal(promo_offer_kind_name(PROMO_OFFER_FREE_SHIPPING), "free_shipping");
  assert_string_equal(promo_offer_kind_name(PROMO_OFFER_FLASH_SALE), "flash_sale");
  assert_string_equal(promo_offer_kind_name(PROMO_OFFER_COMBINED), "combined");
}

/* Runs the backtracking parser over many shapes of text under the sanitizers. Texts
 * built from offer fragments and junk must parse or fail with PROMO_ERR_DATA and a
 * message. */
static void random_fragments_never_crash(void **state) {
  (void)state;
  static const char *const pieces[] = {"满",  "减", "200",  "30",   "折",   "8",    "+",  " ", "每",
                                       "买",  "送", "一",   "第",   "件",   "包邮", "-",  ":", "%",
                                       "off", "$",  "限时", "小时", "赠品", "十",   "万", "."};
  size_t n_pieces = sizeof pieces / sizeof pieces[0];
  uint64_t seed = 0x9E3779B97F4A7C15ULL;
  for (int trial = 0; trial < 20000; trial++) {
    char text[128];
    size_t used = 0;
    seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17; /* xorshift64 */
    int n = (int)(seed % 12);
    for (int k = 0; k < n; k++) {
      seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
      const char *p = pieces[seed % n_pieces];
      size_t len = strlen(p);
      if (used + len >= sizeof text) break;
      memcpy(text + used, p, len);
      used += len;
    }
    text[used] = '\0';
    promo_offer offer;
    promo_error err;
    promo_error_clear(&err);
    promo_status st = promo_offer_parse(text, (ptrdiff_t)used, &offer, &err);
    if (st != PROMO_OK && st != PROMO_ERR_DATA) fail_msg("%s: status %d", text, (int)st);
    if (st == PROMO_ERR_DATA && err.message[0] == '\0') fail_msg("%s: no message", text);
    if (st == PROMO_OK) {
      double share;
      assert_int_equal(promo_offer_effective_rate(&offer, 123.0, 3, &share, &err), PROMO_OK);
      assert_true(share >= 0 && share <= 1);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(forms_parse_to_one_part),
      cmocka_unit_test(tianchi_discount_rates_parse),
      cmocka_unit_test(none_forms_have_no_parts),
      cmocka_unit_test(combined_texts_give_parts),
      cmocka_unit_test(combined_numbers_are_kept),
      cmocka_unit_test(rejected_forms_name_the_reason),
      cmocka_unit_test(error_keeps_caller_location),
      cmocka_unit_test(invalid_bytes_are_rejected),
      cmocka_unit_test(message_clips_long_text),
      cmocka_unit_test(long_text_is_rejected),
      cmocka_unit_test(length_limits_the_text),
      cmocka_unit_test(effective_rate_cases),
      cmocka_unit_test(effective_rate_rejects_bad_input),
      cmocka_unit_test(kind_names_are_stable),
      cmocka_unit_test(random_fragments_never_crash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
