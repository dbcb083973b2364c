/* Clean stage: removes duplicates, handles missing, invalid and outlying values, and
 * writes the cleaned rows, the rejected rows with their reasons and a JSON quality report,
 * accounting for every input row. Streams the input in two passes, so files larger than
 * memory can be cleaned. */
#ifndef PROMO_CLEAN_H
#define PROMO_CLEAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promo/core.h"
#include "promo/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What to do with a missing cell. */
typedef enum promo_missing_action {
  PROMO_MISSING_KEEP = 0,  /* leave it empty */
  PROMO_MISSING_DROP,      /* reject the row */
  PROMO_MISSING_MEDIAN,    /* numeric columns only */
  PROMO_MISSING_MEAN,      /* numeric columns only */
  PROMO_MISSING_MODE,
  PROMO_MISSING_VALUE,     /* a constant given as text, parsed as the column's type */
  PROMO_MISSING_FLAG,      /* keep it empty and add a COL_missing 0/1 column */
  PROMO_MISSING_AUTO       /* median for numeric columns, mode for the others */
} promo_missing_action;

/* What a validation rule does with a value that breaks it. */
typedef enum promo_rule_action {
  PROMO_RULE_REJECT = 0,   /* write the row to the rejects file */
  PROMO_RULE_MISSING,      /* blank the cell; the missing-value action then applies */
  PROMO_RULE_FIX,          /* repair the value where the rule defines how */
  PROMO_RULE_KEEP          /* accept the value as it is */
} promo_rule_action;

typedef enum promo_keep {
  PROMO_KEEP_FIRST = 0,    /* the first row of each key, in file order */
  PROMO_KEEP_LATEST        /* the row with the greatest time; the later row on ties */
} promo_keep;

typedef enum promo_outlier_method {
  PROMO_OUTLIER_IQR = 0,   /* outside [Q1 - k*IQR, Q3 + k*IQR], k = 1.5 by default */
  PROMO_OUTLIER_ZSCORE     /* |x - median| / (1.4826 * MAD) > k, k = 3.5 by default */
} promo_outlier_method;

/* A per-column missing-value action. */
typedef struct promo_clean_missing_rule {
  const char *column;
  promo_missing_action action;
  const char *value;       /* the constant for PROMO_MISSING_VALUE */
} promo_clean_missing_rule;

/* A per-column type given by the user, overriding inference. */
typedef struct promo_clean_type_rule {
  const char *column;
  promo_type type;
} promo_clean_type_rule;

/* A list of column names. */
typedef struct promo_name_list {
  const char *const *names;
  size_t n_names;
} promo_name_list;

typedef struct promo_clean_options {
  promo_csv_options csv;

  const promo_clean_type_rule *type_rules;
  size_t n_type_rules;

  /* Duplicates */
  bool remove_duplicates;            /* exact duplicate rows (default true) */
  promo_name_list key_columns;       /* key duplicates; none by default */
  promo_keep keep;
  const char *time_column;           /* required for PROMO_KEEP_LATEST */

  /* Missing values */
  promo_missing_action missing_default;
  const char *missing_default_value; /* for PROMO_MISSING_VALUE */
  const promo_clean_missing_rule *missing_rules;
  size_t n_missing_rules;

  /* Invalid values. A NULL names pointer in a column list means "choose by column name";
   * a list with n_names = 0 and a non-NULL pointer means "no columns". */
  promo_rule_action on_invalid;      /* REJECT or MISSING */
  promo_name_list price_columns;
  promo_rule_action on_bad_price;    /* price <= 0: REJECT or MISSING */
  promo_name_list quantity_columns;
  bool keep_returns;                 /* negative quantities are returns and stay */
  promo_name_list rate_columns;
  promo_rule_action on_bad_rate;     /* outside (0, 1]: REJECT, MISSING or FIX */
  int32_t min_date;                  /* days since 1970-01-01, inclusive */
  int32_t max_date;                  /* days since 1970-01-01, inclusive */
  promo_rule_action on_bad_date;     /* REJECT or MISSING */

  /* Outliers, numeric columns only */
  promo_name_list outlier_columns;   /* none by default; names = {"all"} for every one */
  promo_outlier_method outlier_method;
  double outlier_k;                  /* 0 means the method's default */
  promo_rule_action on_outlier;      /* KEEP adds COL_outlier; REJECT rejects the row */

  /* Output */
  bool with_bom;
  size_t chunk_rows;                 /* rows per chunk in the writing pass */
} promo_clean_options;

/* Fill defaults: remove exact duplicates, keep missing cells, reject invalid values,
 * prices and quantities, dates from 1990-01-01 to today (UTC), no outlier checks. */
void promo_clean_options_init(promo_clean_options *opt);

/* Why a row was not written to the output. */
typedef enum promo_reject_reason {
  PROMO_REJECT_DUPLICATE = 0,
  PROMO_REJECT_DUPLICATE_KEY,
  PROMO_REJECT_INVALID_VALUE,
  PROMO_REJECT_MISSING_VALUE,
  PROMO_REJECT_BAD_PRICE,
  PROMO_REJECT_NEGATIVE_QUANTITY,
  PROMO_REJECT_BAD_RATE,
  PROMO_REJECT_BAD_DATE,
  PROMO_REJECT_OUTLIER,
  PROMO_REJECT_N_REASONS
} promo_reject_reason;

/* Stable keyword used in the rejects file and the report ("duplicate", "invalid_value"). */
const char *promo_reject_reason_name(promo_reject_reason reason);

/* Row totals of one run. rows_in = rows_out + rows_rejected + duplicates_removed. */
typedef struct promo_clean_summary {
  uint64_t rows_in;
  uint64_t rows_out;
  uint64_t rows_rejected;
  uint64_t duplicates_removed;
  uint64_t by_reason[PROMO_REJECT_N_REASONS];
  uint64_t cells_filled;
  uint64_t cells_fixed;
  uint64_t outliers_flagged;
  size_t n_columns_in;
  size_t n_columns_out;
  double elapsed_ms;
} promo_clean_summary;

/* Where a run writes. output is required; rejects and report may be NULL. Every file is
 * written to a temporary name and renamed only when the run succeeds. */
typedef struct promo_clean_paths {
  const char *input;
  const char *output;
  const char *rejects;
  const char *report;
} promo_clean_paths;

/* Clean paths->input into paths->output. Fails with PROMO_ERR_USAGE for options that
 * name unknown columns or ask for a median of a text column, PROMO_ERR_DATA or
 * PROMO_ERR_ENCODING for unreadable input (err names the file, line and column), and
 * PROMO_ERR_IO when an output cannot be written; no output file is left behind then.
 * Refuses to write over the input. */
promo_status promo_clean_file(const promo_clean_paths *paths, const promo_clean_options *opt,
                              const promo_context *ctx, promo_clean_summary *summary,
                              promo_error *err);

#ifdef __cplusplus
}
#endif
#endif
