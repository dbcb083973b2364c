/* Internals shared by the encoder files: the encoder struct, the binding of an encoder to
 * the column of the table being transformed, and the per-family fit, apply and JSON
 * functions (scale.c for numeric scalers, category.c for categorical encoders). */
#ifndef PROMO_FEATURE_ENCODE_INTERNAL_H
#define PROMO_FEATURE_ENCODE_INTERNAL_H

#include "promo/feature.h"

/* Open-addressing map from int64 keys to int32 values (linear probing), for INT columns
 * read as categories. Key and value share a slot, so a lookup touches one cache line. */
typedef struct encode_int_slot {
  int64_t key;
  int32_t value; /* -1 marks an empty slot */
} encode_int_slot;

typedef struct encode_int_map {
  size_t mask; /* capacity - 1; capacity is a power of two, 0 when empty */
  size_t n_keys;
  encode_int_slot *slots; /* [capacity] */
} encode_int_map;

/* Categorical slots: a kept level is its index 0..n_levels-1, then these two follow. */
#define ENCODE_SLOT_MISSING(enc) ((int32_t)(enc)->n_levels)
#define ENCODE_SLOT_OTHER(enc) ((int32_t)(enc)->n_levels + 1)

struct promo_encoder {
  promo_encoder_kind kind;
  promo_encoder_options opt; /* as fitted; impute is never AUTO */
  char *column;
  promo_type source_type; /* type of the training column */
  uint64_t n_train_rows;
  uint64_t n_missing; /* training rows with no value */
  size_t n_outputs;
  char **output_names; /* [n_outputs] */

  /* Numeric scalers: output = (v - center) / scale, where v is the value (its log1p for
   * LOG_STANDARDIZE) or impute_value when missing. min and max are the raw training
   * range; LOG_STANDARDIZE raises values <= -1 to min. */
  double center, scale, impute_value;
  double min, max;
  bool has_indicator; /* a COL_missing output follows */

  /* Categorical encoders. Level i has code i in `levels`. */
  size_t n_levels;
  promo_dict *levels;
  uint64_t *counts;          /* [n_levels] training rows per kept level */
  double *sums;              /* [n_levels] target sums (TARGET), else NULL */
  double missing_sum;        /* target sum of the missing rows (TARGET) */
  double target_sum;         /* target sum of every training row (TARGET) */
  double prior;              /* mean target of the training rows (TARGET) */
  uint64_t n_rare_levels;    /* levels dropped by min_count or max_levels */
  uint64_t n_rare_rows;      /* training rows of those levels */
  float *values;             /* [n_levels + 2] output per slot (INDEX, FREQUENCY, TARGET) */
  int32_t *one_hot_columns;  /* [n_levels + 2] output column per slot (ONE_HOT) */
  encode_int_map int_levels; /* levels whose text is a plain integer -> level index */
};

/* An encoder attached to the column of the table being transformed. */
typedef struct encode_binding {
  const promo_encoder *encoder;
  const promo_column *column;
  int32_t *slot_of_code; /* [n_codes] for string columns; for INT columns with a
                            narrow range, the slot of value code_base + i */
  size_t n_codes;
  int64_t code_base;
  int32_t bool_slots[2]; /* slots of "false" and "true" for BOOL columns */
  int32_t missing_slot;  /* slot of a missing value: MISSING, or OTHER when the
                            training rows had no missing value */
} encode_binding;

/* Row index of the i-th row to process. */
static inline size_t encode_row(const size_t *rows, size_t i) { return rows != NULL ? rows[i] : i; }

/* Find the encoder's column in `table` and prepare lookups. Errors: PROMO_ERR_DATA for
 * an absent column or one of an unreadable type, PROMO_ERR_NOMEM. */
promo_status encode_bind(const promo_encoder *encoder, const promo_table *table,
                         encode_binding *binding, promo_error *err);
void encode_binding_clear(encode_binding *binding);

/* Write outputs for rows[begin..end) to X rows begin..end; adds to counts. */
void encode_apply(const encode_binding *binding, const size_t *rows, size_t begin, size_t end,
                  float *X, size_t ld, size_t offset, promo_encoder_counts *counts);

/* ---- scale.c ---- */
promo_status encode_scale_fit(promo_encoder *enc, const promo_table *table, size_t column,
                              const size_t *rows, size_t n_rows, promo_error *err);
void encode_scale_apply(const encode_binding *binding, const size_t *rows, size_t begin, size_t end,
                        float *X, size_t ld, size_t offset, promo_encoder_counts *counts);
promo_status encode_scale_to_json(const promo_encoder *enc, json_t *obj);
promo_status encode_scale_from_json(const json_t *obj, promo_encoder *enc, promo_error *err);

/* ---- category.c ---- */
promo_status encode_category_fit(promo_encoder *enc, const promo_table *table, size_t column,
                                 const size_t *rows, size_t n_rows, const double *target,
                                 promo_error *err);
/* Write the out-of-fold TARGET outputs of the training rows (after encode_category_fit). */
promo_status encode_category_fit_out_of_fold(const promo_encoder *enc, const promo_table *table,
                                             size_t column, const size_t *rows, size_t n_rows,
                                             const double *target, float *X, size_t ld,
                                             size_t offset, promo_error *err);
promo_status encode_category_bind(const promo_encoder *enc, const promo_column *column,
                                  size_t n_rows, encode_binding *binding, promo_error *err);
void encode_category_apply(const encode_binding *binding, const size_t *rows, size_t begin,
                           size_t end, float *X, size_t ld, size_t offset,
                           promo_encoder_counts *counts);
promo_status encode_category_to_json(const promo_encoder *enc, json_t *obj);
promo_status encode_category_from_json(const json_t *obj, promo_encoder *enc, promo_error *err);
/* Fill values, one_hot_columns and int_levels from levels and counts. */
promo_status encode_category_finish(promo_encoder *enc);
void encode_category_free(promo_encoder *enc);

/* ---- encode.c ---- */
/* Set output_names from the kind, column and levels. */
promo_status encode_make_output_names(promo_encoder *enc);
/* JSON field readers for from_json: each fails with PROMO_ERR_DATA naming the field. */
promo_status encode_json_real(const json_t *obj, const char *field, double *out, promo_error *err);
promo_status encode_json_count(const json_t *obj, const char *field, uint64_t *out,
                               promo_error *err);
/* Set a JSON field, taking the reference of value; PROMO_ERR_NOMEM when value is NULL. */
promo_status encode_json_set(json_t *obj, const char *field, json_t *value);

#endif
