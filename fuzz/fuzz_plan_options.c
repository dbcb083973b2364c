/* libFuzzer target for the option list parser of `promo optimize`. A list that parses
 * must give every option a name, and every edit a column and, when it scales or adds, a
 * finite number. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promo/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (text == NULL) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  promo_plan_option_list *list = NULL;
  promo_error err;
  promo_error_clear(&err);
  promo_status st = promo_plan_options_parse(text, &list, &err);
  free(text);
  if (st != PROMO_OK) {
    if (st != PROMO_ERR_USAGE || list != NULL) abort();
    return 0;
  }
  const promo_plan_option *options = promo_plan_option_list_items(list);
  for (size_t i = 0; i < promo_plan_option_list_size(list); i++) {
    if (options[i].name == NULL || options[i].name[0] == '\0') abort();
    if (options[i].offer == NULL && options[i].n_edits == 0) abort();
    for (size_t k = 0; k < options[i].n_edits; k++) {
      const promo_plan_edit *e = &options[i].edits[k];
      if (e->column == NULL || e->column[0] == '\0' || e->text == NULL) abort();
      if (e->kind != PROMO_PLAN_EDIT_SET && !isfinite(e->number)) abort();
    }
  }
  promo_plan_option_list_free(list);
  return 0;
}
