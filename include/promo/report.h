/* Reports: the self-contained HTML page that shows one run's results (data quality,
 * training, evaluation, response to promotions, the plan) with inline SVG charts. */
#ifndef PROMO_REPORT_H
#define PROMO_REPORT_H

#include <jansson.h>
#include <stddef.h>

#include "promo/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Render a run document (the JSON described in docs/report.md) as one HTML page in the
 * current gettext language. Every section is optional. A member of the wrong type is
 * PROMO_ERR_DATA with a message that names its key path, such as "training.history";
 * unknown keys are ignored. On success *html is a NUL-terminated string of *len bytes
 * that the caller frees with free(); on failure it is NULL. */
promo_status promo_report_render_html(const json_t *doc, char **html, size_t *len,
                                      promo_error *err);

/* Render doc as promo_report_render_html does and write it to path atomically, so an
 * invalid document or a failed write leaves any existing file unchanged. */
promo_status promo_report_write_html(const json_t *doc, const char *path, promo_error *err);

/* Format x with `decimals` digits after the point and a comma between thousands, as the
 * report prints numbers in English and Chinese: 1234567.891 with 2 gives "1,234,567.89".
 * NaN and infinities give an em dash. Output is clipped to size bytes. */
void promo_report_format_number(double x, int decimals, char *buf, size_t size);

/* Format a ratio as a percentage with `decimals` digits: 0.1234 with 1 gives "12.3%". */
void promo_report_format_percent(double ratio, int decimals, char *buf, size_t size);

/* Format x with precision chosen from its size, for values of unknown scale: no decimals
 * from 1,000 up, 1 from 100, 2 from 1, and 3 significant digits below 1. */
void promo_report_format_auto(double x, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
