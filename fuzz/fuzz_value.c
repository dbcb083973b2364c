/* libFuzzer target for the value parsers: every parser runs on the input, and a value
 * that parses must format and parse back to the same value. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promo/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  char buf[32];
  bool plain;

  (void)promo_value_is_missing(s, size);

  int64_t i;
  if (promo_parse_int(s, size, &i, &plain)) {
    size_t n = promo_format_int(i, buf);
    int64_t back;
    if (!promo_parse_int(buf, n, &back, NULL) || back != i) abort();
  }
  double x;
  if (promo_parse_decimal(s, size, &x, &plain)) {
    if (!isfinite(x)) abort();
    size_t n = promo_format_decimal(x, buf);
    double back;
    if (!promo_parse_decimal(buf, n, &back, NULL) || back != x) abort();
  }
  bool b;
  (void)promo_parse_bool(s, size, &b, &plain);
  int32_t days;
  if (promo_parse_date(s, size, &days, &plain)) {
    size_t n = promo_format_date(days, buf);
    int32_t back;
    if (!promo_parse_date(buf, n, &back, NULL) || back != days) abort();
  }
  int64_t seconds;
  if (promo_parse_datetime(s, size, &seconds, &plain)) {
    size_t n = promo_format_datetime(seconds, buf);
    int64_t back;
    if (!promo_parse_datetime(buf, n, &back, NULL) || back != seconds) abort();
  }
  return 0;
}
