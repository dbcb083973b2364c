/* libFuzzer target for the promotion text parser: parses the input as offer text and, when
 * it parses, checks that the effective rate at a few prices stays within [0, 1]. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "promo/feature.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  promo_offer offer;
  promo_error err;
  promo_error_clear(&err);
  promo_status st = promo_offer_parse((const char *)data, (ptrdiff_t)size, &offer, &err);
  if (st != PROMO_OK) {
    if (st != PROMO_ERR_DATA) abort();
    return 0;
  }
  static const double prices[] = {0.01, 9.9, 100.0, 250.0, 1e6};
  for (size_t i = 0; i < sizeof prices / sizeof prices[0]; i++) {
    for (int64_t quantity = 1; quantity <= 3; quantity++) {
      double rate = -1.0;
      if (promo_offer_effective_rate(&offer, prices[i], quantity, &rate, &err) != PROMO_OK) abort();
      if (!(rate >= 0.0 && rate <= 1.0) || isnan(rate)) abort();
    }
  }
  return 0;
}
