/* Internals shared by the cleaning passes: the per-column plan and profile, the duplicate
 * index, and the helpers that turn options into a plan. */
#ifndef PROMO_CLEAN_INTERNAL_H
#define PROMO_CLEAN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "promo/clean.h"
#include "promo/data.h"

/* Distinct values are counted exactly up to this many per column, then estimated with
 * HyperLogLog. The mode is taken over the values tracked exactly. */
#define CLEAN_MAX_TRACKED_VALUES 4096
/* Numeric values kept per column for the median and quantiles; past this the sample is a
 * uniform reservoir and the statistics are estimates. */
#define CLEAN_MAX_KEPT_VALUES (1u << 22)
#define CLEAN_HLL_BITS 14
#define CLEAN_HLL_REGISTERS (1u << CLEAN_HLL_BITS)

/* Pass-1 profile of one column over the rows that are not duplicates. */
typedef struct column_profile {
  promo_type_guess guess;
  promo_dict *values;       /* distinct texts, at most CLEAN_MAX_TRACKED_VALUES */
  uint64_t *value_counts;   /* [value_counts_capacity] occurrences per dict code */
  size_t value_counts_capacity;
  bool values_overflowed;   /* more distinct texts than tracked */
  uint8_t *hll;             /* [CLEAN_HLL_REGISTERS] once values_overflowed, else NULL */
  char example_text[48];    /* the first value that is not a number, or "" */

  /* Values that parse as numbers and pass the column's own rules. */
  double *numbers;          /* [n_numbers], up to CLEAN_MAX_KEPT_VALUES, or NULL */
  uint64_t n_numbers;       /* kept in `numbers` */
  uint64_t numbers_capacity;
  uint64_t n_numbers_seen;  /* all such values, for the reservoir */
  uint64_t n_not_numbers;   /* non-missing values that do not parse as numbers */
  bool collect_numbers;
  double sum;
  uint64_t rng_state;       /* reservoir sampling, fixed seed per column */
} column_profile;

/* Everything decided about one column before the writing pass. */
typedef struct column_plan {
  const char *name;         /* borrowed from the reader */
  promo_type type;
  bool type_given;

  bool is_price, is_quantity, is_rate, is_outlier_checked;
  promo_missing_action missing_action;
  const char *missing_value_text;  /* user's constant, for PROMO_MISSING_VALUE */
  char fill_text[128];      /* what a filled cell gets; empty when there is no fill */
  bool has_fill;
  bool add_missing_flag;    /* write COL_missing */
  bool add_outlier_flag;    /* write COL_outlier */
  double outlier_low, outlier_high;

  /* Statistics from pass 1 (numeric columns; NAN when undefined). */
  uint64_t n_missing_in;
  uint64_t n_distinct;
  bool distinct_is_exact;
  double median, mean, q1, q3, mad;
  bool stats_are_estimates;
  const char *mode_text;    /* owned by the profile's dict, NULL if none */

  /* Counts from pass 2. */
  uint64_t n_invalid;
  uint64_t n_filled;
  uint64_t n_fixed;
  uint64_t n_blanked;       /* cells blanked by a rule with action MISSING */
  uint64_t n_outliers;
  uint64_t n_rejects;       /* rows rejected because of this column */
  uint64_t n_missing_out;
  uint64_t n_out_values;    /* non-missing values written */
  double out_min, out_max, out_sum;
} column_plan;

/* 128-bit hash of a row or key and the line it was first seen on. */
typedef struct row_entry {
  uint64_t hash_low, hash_high;
  int64_t line;             /* 0 marks an empty slot */
  uint64_t index;           /* record index of the kept row */
  double time;              /* for PROMO_KEEP_LATEST */
} row_entry;

/* Open-addressing set of row hashes. */
typedef struct row_index {
  row_entry *slots;
  uint64_t n_slots;         /* power of two */
  uint64_t n_used;
} row_index;

promo_status row_index_init(row_index *index);
void row_index_clear(row_index *index);
/* Find the entry of a hash, inserting an empty one (line 0) when absent. */
promo_status row_index_upsert(row_index *index, uint64_t low, uint64_t high, row_entry **out);
const row_entry *row_index_find(const row_index *index, uint64_t low, uint64_t high);

/* One bit per input record. */
typedef struct bitset {
  uint64_t *words;
  uint64_t n_bits;
} bitset;

promo_status bitset_set(bitset *set, uint64_t i);
static inline bool bitset_get(const bitset *set, uint64_t i) {
  return i < set->n_bits && (set->words[i >> 6] >> (i & 63)) & 1u;
}
void bitset_clear(bitset *set);

/* The whole run: options, plan per column, duplicate state. */
typedef struct clean_run {
  const promo_clean_options *opt;
  const promo_context *ctx;
  const char *input_path;
  promo_csv *reader;
  size_t n_columns;
  column_plan *plans;       /* [n_columns] */
  column_profile *profiles; /* [n_columns] */
  ptrdiff_t *key_columns;   /* [n_key_columns] */
  size_t n_key_columns;
  ptrdiff_t time_column;
  row_index rows;           /* exact duplicates */
  row_index keys;           /* key duplicates */
  bitset duplicate_rows;    /* records that are exact duplicates */
  bitset duplicate_keys;    /* records that lost to another row with the same key */
  uint64_t rows_in;
  int n_threads;            /* columns profiled and parsed at once */
  bool latest_pending;      /* stats include key duplicates not known until the end */
} clean_run;

/* Pass 1: read every record, find duplicates, profile the columns, choose types and
 * compute the statistics the fills and outlier fences need. */
promo_status clean_profile(clean_run *run, promo_error *err);

/* Mark price, quantity, rate and outlier columns, given types, the key and time columns,
 * before pass 1; fails on a name that is not in the header. */
promo_status clean_assign_roles(clean_run *run, promo_error *err);

/* Index of a header name, or -1. */
ptrdiff_t clean_find_column(const clean_run *run, const char *name);

/* Decide roles, fill values and flags per column from the options and the profile. */
promo_status clean_plan_columns(clean_run *run, promo_error *err);

/* 128-bit hash of the key columns of row r of a table that keeps its text. */
void clean_hash_key(const clean_run *run, const promo_table *table, size_t r, uint64_t *low,
                    uint64_t *high);

/* Write the JSON quality report to fp; path names it in errors. */
promo_status clean_write_report(const clean_run *run, const promo_clean_summary *summary,
                                FILE *fp, const char *path, promo_error *err);

void column_profile_clear(column_profile *profile);

#endif
