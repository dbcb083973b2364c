/* Translation macros shared by every library module and the CLI. Strings marked with
 * _() are looked up in the "promo" text domain; N_() only marks a string for xgettext. */
#ifndef PROMO_CORE_INTL_H
#define PROMO_CORE_INTL_H

#include <libintl.h>

#define PROMO_TEXTDOMAIN "promo"
#define _(s) dgettext(PROMO_TEXTDOMAIN, s)
#define N_(s) (s)
#define P_(singular, plural, n) dngettext(PROMO_TEXTDOMAIN, singular, plural, (unsigned long)(n))

#endif
