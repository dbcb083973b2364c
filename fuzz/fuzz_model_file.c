/* libFuzzer target for the model file reader: reads the input as a whole model file from
 * memory and checks that a file it accepts describes its tensors consistently, and that a
 * rejected one comes with a status and a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promo/model.h"

/* Each accepted tensor has a name, 1 or 2 dimensions and data; find returns it. */
static void check_accepted(const promo_model_file *file) {
  const json_t *meta = promo_model_file_metadata(file);
  if (!json_is_object(meta) || json_object_get(meta, "format") == NULL) abort();
  size_t n_tensors = promo_model_file_n_tensors(file);
  for (size_t i = 0; i < n_tensors; i++) {
    const promo_tensor *t = promo_model_file_tensor(file, i);
    if (t == NULL || t->name == NULL || t->data == NULL) abort();
    if (t->n_dims < 1 || t->n_dims > 2) abort();
    size_t n_values = t->n_dims == 2 ? t->dims[0] * t->dims[1] : t->dims[0];
    /* Read every value, so ASan reports a tensor that runs past its buffer. */
    volatile float sum = 0.0f;
    for (size_t k = 0; k < n_values; k++) sum += t->data[k];
    (void)sum;
    if (promo_model_file_find(file, t->name) != t) abort();
  }
  if (promo_model_file_tensor(file, n_tensors) != NULL) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  promo_model_file *file = NULL;
  promo_error err;
  promo_status st = promo_model_file_read_memory(data, size, "fuzz.promo", &file, &err);
  if (st != PROMO_OK) {
    if (file != NULL || err.status != st || err.message[0] == '\0') abort();
    if (strcmp(err.path, "fuzz.promo") != 0) abort();
    return 0;
  }
  check_accepted(file);
  promo_model_file_free(file);
  return 0;
}
