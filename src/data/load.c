/* Whole-file loading for the stages after cleaning: infers each column's type in a first
 * pass over the file (or takes the types a fitted pipeline recorded), then reads every
 * record into one typed table. */
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "promo/data.h"

/* Distinct values tracked per column while inferring; past this a column counts as
 * having all its values distinct, which makes strings TEXT rather than CATEGORICAL. */
#define LOAD_MAX_DISTINCT (1u << 20)

void promo_load_options_init(promo_load_options *opt) {
  memset(opt, 0, sizeof *opt);
  promo_csv_options_init(&opt->csv);
}

/* Per-column inference state. */
typedef struct column_guess {
  promo_type_guess guess;
  promo_dict *distinct;
  bool overflowed;
} column_guess;

static promo_status guess_types(promo_csv *reader, size_t n_columns, const promo_context *ctx,
                                promo_type *types, promo_error *err) {
  column_guess *guesses = calloc(n_columns, sizeof *guesses);
  if (guesses == NULL) return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  promo_status st = PROMO_OK;
  for (size_t c = 0; c < n_columns && st == PROMO_OK; c++) st = promo_dict_create(&guesses[c].distinct);

  promo_csv_record rec;
  uint64_t n_records = 0;
  while (st == PROMO_OK && (st = promo_csv_next(reader, &rec, err)) == PROMO_OK) {
    for (size_t c = 0; c < n_columns; c++) {
      column_guess *g = &guesses[c];
      const char *s = rec.fields[c];
      size_t len = rec.lengths[c];
      if (promo_value_is_missing(s, len)) {
        g->guess.n_missing++;
        continue;
      }
      promo_type_guess_add(&g->guess, s, len);
      if (g->overflowed) continue;
      int32_t code;
      if (promo_dict_size(g->distinct) < LOAD_MAX_DISTINCT) {
        if (promo_dict_intern(g->distinct, s, len, &code) != PROMO_OK) st = PROMO_ERR_NOMEM;
      } else if (promo_dict_find(g->distinct, s, len) < 0) {
        g->overflowed = true;
      }
    }
    if ((++n_records & 0xFFFF) == 0) {
      promo_progress(ctx, N_("scanning"), promo_csv_bytes_read(reader), promo_csv_size(reader));
      if (promo_cancelled(ctx)) st = promo_error_set(err, PROMO_ERR_CANCELLED, "%s", _("cancelled"));
    }
  }
  if (st == PROMO_END) st = PROMO_OK;
  if (st == PROMO_ERR_NOMEM) promo_error_set(err, st, "%s", _("out of memory"));

  for (size_t c = 0; c < n_columns; c++) {
    column_guess *g = &guesses[c];
    if (st == PROMO_OK) {
      g->guess.n_distinct = g->overflowed ? g->guess.n_values : promo_dict_size(g->distinct);
      if (types[c] == PROMO_TYPE_UNKNOWN)
        types[c] = promo_type_guess_result(&g->guess, promo_csv_column_name(reader, c));
      if (types[c] == PROMO_TYPE_UNKNOWN) types[c] = PROMO_TYPE_TEXT;
    }
    promo_dict_free(g->distinct);
  }
  free(guesses);
  return st;
}

/* Copy the given types into `types` by column name; unknown names are usage errors. */
static promo_status apply_given_types(const promo_csv *reader, const promo_load_options *opt,
                                      promo_type *types, bool *all_given, promo_error *err) {
  size_t n_columns = promo_csv_n_columns(reader);
  for (size_t i = 0; i < opt->n_types; i++) {
    size_t c = 0;
    while (c < n_columns && strcmp(promo_csv_column_name(reader, c), opt->type_columns[i]) != 0) c++;
    if (c == n_columns) {
      if (opt->ignore_unknown_types) continue;
      promo_error_at(err, promo_csv_path(reader), 0, 0);
      snprintf(err->column_name, sizeof err->column_name, "%s", opt->type_columns[i]);
      return promo_error_set(err, PROMO_ERR_USAGE, _("column '%s' is not in the header"),
                             opt->type_columns[i]);
    }
    types[c] = opt->types[i];
  }
  *all_given = true;
  for (size_t c = 0; c < n_columns; c++) *all_given = *all_given && types[c] != PROMO_TYPE_UNKNOWN;
  return PROMO_OK;
}

promo_status promo_table_load(const char *path, const promo_load_options *opt,
                              const promo_context *ctx, promo_table **out, promo_error *err) {
  *out = NULL;
  promo_csv *reader = NULL;
  promo_type *types = NULL;
  const char **names = NULL;
  promo_table *table = NULL;
  promo_status st = promo_csv_open(path, &opt->csv, &reader, err);
  if (st != PROMO_OK) return st;

  size_t n_columns = promo_csv_n_columns(reader);
  types = calloc(n_columns, sizeof *types);
  names = calloc(n_columns, sizeof *names);
  if (types == NULL || names == NULL) {
    st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    goto done;
  }
  bool all_given = false;
  if ((st = apply_given_types(reader, opt, types, &all_given, err)) != PROMO_OK) goto done;
  if (!all_given) {
    if ((st = guess_types(reader, n_columns, ctx, types, err)) != PROMO_OK) goto done;
    if ((st = promo_csv_rewind(reader, err)) != PROMO_OK) goto done;
  }

  for (size_t c = 0; c < n_columns; c++) names[c] = promo_csv_column_name(reader, c);
  if ((st = promo_table_create(n_columns, names, types, false, &table)) != PROMO_OK) {
    promo_error_set(err, st, "%s", _("out of memory"));
    goto done;
  }
  st = promo_table_read(table, reader, 0, err);
  if (st == PROMO_END) st = PROMO_OK;
  if (st == PROMO_OK) {
    *out = table;
    table = NULL;
  }

done:
  promo_table_free(table);
  free(names);
  free(types);
  promo_csv_close(reader);
  return st;
}
