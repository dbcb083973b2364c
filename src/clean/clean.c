/* Cleaning pass 2 and the run as a whole: reads the input again in chunks, applies the
 * validation rules and fills planned after pass 1, and writes the cleaned rows, the
 * rejected rows with their reasons, and the quality report. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "clean/internal.h"
#include "core/intl.h"

enum cell_state { CELL_AS_READ = 0, CELL_BLANKED, CELL_FIXED };

/* Per-row scratch, sized once for the header's columns. */
typedef struct row_scratch {
  uint8_t *state;       /* [n_columns] enum cell_state */
  uint8_t *is_outlier;  /* [n_columns] */
  double *fixed;        /* [n_columns] value of a CELL_FIXED cell */
} row_scratch;

/* A rejected row: why, and which cell. */
typedef struct rejection {
  promo_reject_reason reason;
  ptrdiff_t column;     /* -1 for duplicates */
  int64_t other_line;   /* the kept row of a duplicate */
} rejection;

typedef struct pass_two {
  clean_run *run;
  promo_table *table;
  promo_csv_writer *out;
  promo_csv_writer *rejects;  /* NULL when not asked for */
  row_scratch scratch;
  promo_clean_summary *summary;
  uint64_t first_index;       /* record index of the table's row 0 */
  const char *out_path;       /* for error messages */
  const char *rejects_path;
} pass_two;

static double cell_number(const promo_column *col, size_t r) {
  return col->type == PROMO_TYPE_DECIMAL ? col->reals[r] : (double)col->ints[r];
}

static bool is_number_type(promo_type t) {
  return t == PROMO_TYPE_INT || t == PROMO_TYPE_DECIMAL;
}

/* Apply a rule's action to a cell that breaks it; returns true when the row is rejected. */
static bool apply_rule(promo_rule_action action, row_scratch *s, size_t c) {
  if (action == PROMO_RULE_REJECT) return true;
  if (action == PROMO_RULE_MISSING) s->state[c] = CELL_BLANKED;
  return false;
}

/* Check the value rules of one present, parsed cell. Returns a reason or N_REASONS. */
static promo_reject_reason check_value(pass_two *p, size_t r, size_t c) {
  const clean_run *run = p->run;
  const promo_clean_options *opt = run->opt;
  const promo_column *col = &p->table->columns[c];
  column_plan *plan = &run->plans[c];
  row_scratch *s = &p->scratch;

  if (col->type == PROMO_TYPE_DATE || col->type == PROMO_TYPE_DATETIME) {
    int64_t days = col->type == PROMO_TYPE_DATE ? col->ints[r]
                                                : (int64_t)floor((double)col->ints[r] / 86400.0);
    if ((days < opt->min_date || days > opt->max_date) && apply_rule(opt->on_bad_date, s, c))
      return PROMO_REJECT_BAD_DATE;
    return PROMO_REJECT_N_REASONS;
  }
  if (!is_number_type(col->type)) return PROMO_REJECT_N_REASONS;

  double x = cell_number(col, r);
  if (plan->is_price && x <= 0.0 && apply_rule(opt->on_bad_price, s, c))
    return PROMO_REJECT_BAD_PRICE;
  if (plan->is_quantity && x < 0.0 && !opt->keep_returns) return PROMO_REJECT_NEGATIVE_QUANTITY;
  if (plan->is_rate && !(x > 0.0 && x <= 1.0)) {
    if (opt->on_bad_rate == PROMO_RULE_FIX && x > 1.0 && x <= 100.0) {
      /* A rate written as a percentage: 85 means 0.85. */
      s->state[c] = CELL_FIXED;
      s->fixed[c] = x / 100.0;
    } else if (apply_rule(opt->on_bad_rate == PROMO_RULE_FIX ? PROMO_RULE_REJECT : opt->on_bad_rate,
                          s, c)) {
      return PROMO_REJECT_BAD_RATE;
    }
  }
  if (plan->is_outlier_checked && s->state[c] == CELL_AS_READ &&
      (x < plan->outlier_low || x > plan->outlier_high)) {
    if (opt->on_outlier == PROMO_RULE_REJECT) return PROMO_REJECT_OUTLIER;
    s->is_outlier[c] = 1;
  }
  return PROMO_REJECT_N_REASONS;
}

/* Decide whether row r is kept; fills the scratch for writing. */
static bool check_row(pass_two *p, size_t r, rejection *why) {
  clean_run *run = p->run;
  const promo_table *t = p->table;
  uint64_t index = p->first_index + r;
  why->column = -1;
  why->other_line = 0;

  if (bitset_get(&run->duplicate_rows, index)) {
    why->reason = PROMO_REJECT_DUPLICATE;
    return false;
  }
  if (bitset_get(&run->duplicate_keys, index)) {
    why->reason = PROMO_REJECT_DUPLICATE_KEY;
    return false;
  }

  for (size_t c = 0; c < run->n_columns; c++) {
    const promo_column *col = &t->columns[c];
    column_plan *plan = &run->plans[c];
    p->scratch.state[c] = CELL_AS_READ;
    p->scratch.is_outlier[c] = 0;
    promo_reject_reason reason = PROMO_REJECT_N_REASONS;

    if (col->is_invalid[r]) {
      plan->n_invalid++;
      if (run->opt->on_invalid == PROMO_RULE_REJECT)
        reason = PROMO_REJECT_INVALID_VALUE;
      else
        p->scratch.state[c] = CELL_BLANKED;
    } else if (!col->is_missing[r]) {
      reason = check_value(p, r, c);
    }
    if (reason == PROMO_REJECT_N_REASONS && plan->missing_action == PROMO_MISSING_DROP &&
        (col->is_missing[r] || p->scratch.state[c] == CELL_BLANKED))
      reason = PROMO_REJECT_MISSING_VALUE;
    if (reason != PROMO_REJECT_N_REASONS) {
      why->reason = reason;
      why->column = (ptrdiff_t)c;
      plan->n_rejects++;
      return false;
    }
  }
  return true;
}

static const char *cell_text(const promo_table *t, size_t r, size_t c, size_t *len) {
  size_t k = r * t->n_columns + c;
  *len = t->cell_lengths[k];
  return t->text + t->cell_offsets[k];
}

/* The kept row that a duplicate repeats. */
static int64_t kept_line(const pass_two *p, size_t r, promo_reject_reason reason) {
  const clean_run *run = p->run;
  const promo_table *t = p->table;
  const row_index *index = reason == PROMO_REJECT_DUPLICATE ? &run->rows : &run->keys;
  uint64_t low, high;
  if (reason == PROMO_REJECT_DUPLICATE) {
    XXH128_hash_t h = XXH3_128bits(t->text + t->raw_offsets[r], t->raw_lengths[r]);
    low = h.low64;
    high = h.high64;
  } else {
    clean_hash_key(run, t, r, &low, &high);
  }
  const row_entry *e = row_index_find(index, low, high);
  return e != NULL ? e->line : 0;
}

static void write_rejection(pass_two *p, size_t r, const rejection *why) {
  clean_run *run = p->run;
  const promo_table *t = p->table;
  p->summary->by_reason[why->reason]++;
  if (why->reason == PROMO_REJECT_DUPLICATE || why->reason == PROMO_REJECT_DUPLICATE_KEY)
    p->summary->duplicates_removed++;
  else
    p->summary->rows_rejected++;
  if (p->rejects == NULL) return;

  char line[24], detail[512];
  promo_format_int(t->lines[r], line);
  const char *column = "";
  const char *value = "";
  size_t value_len = 0;
  if (why->column >= 0) {
    column = run->plans[why->column].name;
    value = cell_text(t, r, (size_t)why->column, &value_len);
  }
  switch (why->reason) {
    case PROMO_REJECT_DUPLICATE:
      snprintf(detail, sizeof detail, _("same text as line %lld"),
               (long long)kept_line(p, r, why->reason));
      break;
    case PROMO_REJECT_DUPLICATE_KEY:
      snprintf(detail, sizeof detail, _("same key as line %lld, which was kept"),
               (long long)kept_line(p, r, why->reason));
      break;
    case PROMO_REJECT_INVALID_VALUE:
      snprintf(detail, sizeof detail, _("not a valid %s"), promo_type_name(t->columns[why->column].type));
      break;
    case PROMO_REJECT_MISSING_VALUE: snprintf(detail, sizeof detail, "%s", _("missing value")); break;
    case PROMO_REJECT_BAD_PRICE: snprintf(detail, sizeof detail, "%s", _("price must be greater than 0")); break;
    case PROMO_REJECT_NEGATIVE_QUANTITY:
      snprintf(detail, sizeof detail, "%s", _("negative quantity; use --returns keep to keep returns"));
      break;
    case PROMO_REJECT_BAD_RATE: snprintf(detail, sizeof detail, "%s", _("discount rate must be in (0, 1]")); break;
    case PROMO_REJECT_BAD_DATE: snprintf(detail, sizeof detail, "%s", _("date outside the plausible range")); break;
    case PROMO_REJECT_OUTLIER: snprintf(detail, sizeof detail, "%s", _("outside the outlier fences")); break;
    default: detail[0] = '\0';
  }
  const char *reason = promo_reject_reason_name(why->reason);
  promo_csv_write_field(p->rejects, line, strlen(line));
  promo_csv_write_field(p->rejects, reason, strlen(reason));
  promo_csv_write_field(p->rejects, column, strlen(column));
  promo_csv_write_field(p->rejects, value, value_len);
  promo_csv_write_field(p->rejects, detail, strlen(detail));
  promo_csv_write_field(p->rejects, t->text + t->raw_offsets[r], t->raw_lengths[r]);
  promo_csv_write_end_row(p->rejects);
}

static void track_number(column_plan *plan, double x) {
  if (plan->n_out_values == 0 || x < plan->out_min) plan->out_min = x;
  if (plan->n_out_values == 0 || x > plan->out_max) plan->out_max = x;
  plan->out_sum += x;
  plan->n_out_values++;
}

static void track_output_value(column_plan *plan, const promo_column *col, size_t r) {
  if (!is_number_type(col->type) && col->type != PROMO_TYPE_DATE && col->type != PROMO_TYPE_DATETIME)
    return;
  track_number(plan, cell_number(col, r));
}

static void write_row(pass_two *p, size_t r) {
  clean_run *run = p->run;
  const promo_table *t = p->table;
  row_scratch *s = &p->scratch;
  for (size_t c = 0; c < run->n_columns; c++) {
    column_plan *plan = &run->plans[c];
    const promo_column *col = &t->columns[c];
    bool is_missing = col->is_missing[r] || s->state[c] == CELL_BLANKED;
    if (s->state[c] == CELL_BLANKED) plan->n_blanked++;

    if (s->state[c] == CELL_FIXED) {
      char buf[32];
      size_t n = promo_format_decimal(s->fixed[c], buf);
      promo_csv_write_field(p->out, buf, n);
      plan->n_fixed++;
      p->summary->cells_fixed++;
      track_number(plan, s->fixed[c]);
    } else if (is_missing && plan->has_fill) {
      promo_csv_write_field(p->out, plan->fill_text, strlen(plan->fill_text));
      plan->n_filled++;
      p->summary->cells_filled++;
    } else if (is_missing) {
      promo_csv_write_field(p->out, "", 0);
      plan->n_missing_out++;
    } else {
      promo_csv_write_cell(p->out, t, r, c);
      track_output_value(plan, col, r);
    }
    if (plan->add_missing_flag) promo_csv_write_field(p->out, is_missing ? "1" : "0", 1);
    if (plan->add_outlier_flag) {
      promo_csv_write_field(p->out, s->is_outlier[c] ? "1" : "0", 1);
      if (s->is_outlier[c]) {
        plan->n_outliers++;
        p->summary->outliers_flagged++;
      }
    }
  }
  promo_csv_write_end_row(p->out);
  p->summary->rows_out++;
}

static promo_status write_headers(pass_two *p) {
  clean_run *run = p->run;
  char name[512];
  size_t n_out = 0;
  for (size_t c = 0; c < run->n_columns; c++) {
    const column_plan *plan = &run->plans[c];
    promo_csv_write_field(p->out, plan->name, strlen(plan->name));
    n_out++;
    if (plan->add_missing_flag) {
      int n = snprintf(name, sizeof name, "%s_missing", plan->name);
      promo_csv_write_field(p->out, name, (size_t)n < sizeof name ? (size_t)n : sizeof name - 1);
      n_out++;
    }
    if (plan->add_outlier_flag) {
      int n = snprintf(name, sizeof name, "%s_outlier", plan->name);
      promo_csv_write_field(p->out, name, (size_t)n < sizeof name ? (size_t)n : sizeof name - 1);
      n_out++;
    }
  }
  promo_csv_write_end_row(p->out);
  p->summary->n_columns_out = n_out;
  if (p->rejects != NULL) {
    static const char *const header[] = {"line", "reason", "column", "value", "detail", "raw"};
    for (size_t k = 0; k < 6; k++) promo_csv_write_field(p->rejects, header[k], strlen(header[k]));
    promo_csv_write_end_row(p->rejects);
  }
  return PROMO_OK;
}

/* Parse the batch from its text; thread t of n takes columns t, t + n, t + 2n, ... */
static promo_status parse_batch(pass_two *p) {
  promo_status failed = PROMO_OK;
  int n_threads = p->run->n_threads;
#pragma omp parallel for schedule(static, 1) num_threads(n_threads)
  for (int t = 0; t < n_threads; t++) {
    if (promo_table_parse_columns(p->table, (size_t)t, (size_t)n_threads) != PROMO_OK) {
#pragma omp atomic write
      failed = PROMO_ERR_NOMEM;
    }
  }
  return failed;
}

static promo_status run_pass_two(pass_two *p, promo_error *err) {
  clean_run *run = p->run;
  uint64_t size = promo_csv_size(run->reader);
  promo_status st;
  write_headers(p);
  for (;;) {
    st = promo_table_read_text(p->table, run->reader, run->opt->chunk_rows, err);
    if (st != PROMO_OK && st != PROMO_END) return st;
    if (parse_batch(p) != PROMO_OK)
      return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    for (size_t r = 0; r < p->table->n_rows; r++) {
      rejection why;
      if (check_row(p, r, &why))
        write_row(p, r);
      else
        write_rejection(p, r, &why);
    }
    p->first_index += p->table->n_rows;
    promo_status flushed = promo_csv_writer_flush(p->out, err);
    if (flushed != PROMO_OK) promo_error_at(err, p->out_path, 0, 0);
    if (flushed == PROMO_OK && p->rejects != NULL) {
      flushed = promo_csv_writer_flush(p->rejects, err);
      if (flushed != PROMO_OK) promo_error_at(err, p->rejects_path, 0, 0);
    }
    if (flushed != PROMO_OK) return flushed;
    promo_progress(run->ctx, N_("writing"), promo_csv_bytes_read(run->reader), size);
    if (st == PROMO_END) break;
    if (promo_cancelled(run->ctx)) return promo_error_set(err, PROMO_ERR_CANCELLED, "%s", _("cancelled"));
  }
  return PROMO_OK;
}

/* ---- the run ---- */

static void run_free(clean_run *run) {
  if (run->profiles != NULL)
    for (size_t c = 0; c < run->n_columns; c++) column_profile_clear(&run->profiles[c]);
  free(run->profiles);
  free(run->plans);
  free(run->key_columns);
  row_index_clear(&run->rows);
  row_index_clear(&run->keys);
  bitset_clear(&run->duplicate_rows);
  bitset_clear(&run->duplicate_keys);
  promo_csv_close(run->reader);
}

static promo_status check_paths(const promo_clean_paths *paths, promo_error *err) {
  if (paths->input == NULL || paths->output == NULL)
    return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("both an input and an output file are needed"));
  const char *outputs[] = {paths->output, paths->rejects, paths->report};
  for (size_t i = 0; i < 3; i++) {
    if (outputs[i] == NULL) continue;
    if (strcmp(outputs[i], paths->input) == 0 || promo_same_file(outputs[i], paths->input)) {
      promo_error_at(err, outputs[i], 0, 0);
      return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                             _("an output file is the input file; choose another output name"));
    }
    for (size_t j = i + 1; j < 3; j++) {
      if (outputs[j] != NULL &&
          (strcmp(outputs[i], outputs[j]) == 0 || promo_same_file(outputs[i], outputs[j]))) {
        promo_error_at(err, outputs[i], 0, 0);
        return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                               _("two outputs have the same file name; give each its own"));
      }
    }
  }
  return PROMO_OK;
}

static promo_status open_run(clean_run *run, const promo_clean_paths *paths, promo_error *err) {
  promo_status st = promo_csv_open(paths->input, &run->opt->csv, &run->reader, err);
  if (st != PROMO_OK) return st;
  run->n_columns = promo_csv_n_columns(run->reader);
  run->plans = calloc(run->n_columns, sizeof *run->plans);
  run->profiles = calloc(run->n_columns, sizeof *run->profiles);
  if (run->plans == NULL || run->profiles == NULL)
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  for (size_t c = 0; c < run->n_columns; c++) {
    run->plans[c].name = promo_csv_column_name(run->reader, c);
    run->plans[c].type = PROMO_TYPE_UNKNOWN;
  }
  return clean_assign_roles(run, err);
}

static void log_plan(const clean_run *run) {
  for (size_t c = 0; c < run->n_columns; c++) {
    const column_plan *plan = &run->plans[c];
    promo_log(run->ctx, PROMO_LOG_DEBUG, "column %s: type=%s%s missing=%llu distinct=%llu%s",
              plan->name, promo_type_name(plan->type), plan->type_given ? " (given)" : "",
              (unsigned long long)plan->n_missing_in, (unsigned long long)plan->n_distinct,
              plan->distinct_is_exact ? "" : " (estimate)");
    if (plan->is_price) promo_log(run->ctx, PROMO_LOG_INFO, _("price column: %s"), plan->name);
    if (plan->is_quantity) promo_log(run->ctx, PROMO_LOG_INFO, _("quantity column: %s"), plan->name);
    if (plan->is_rate) promo_log(run->ctx, PROMO_LOG_INFO, _("discount rate column: %s"), plan->name);
  }
}

/* The output files of a run, open from its start so that an unwritable path fails before
 * the input is read, and committed together at its end. */
enum { OUT_CLEANED, OUT_REJECTS, OUT_REPORT, N_OUTPUTS };

typedef struct run_outputs {
  promo_atomic_file *files[N_OUTPUTS];
  FILE *out_fp, *rejects_fp, *report_fp;
} run_outputs;

static promo_status open_outputs(const promo_clean_paths *paths, run_outputs *o, promo_error *err) {
  promo_status st = promo_atomic_open(paths->output, &o->files[OUT_CLEANED], &o->out_fp, err);
  if (st == PROMO_OK && paths->rejects != NULL)
    st = promo_atomic_open(paths->rejects, &o->files[OUT_REJECTS], &o->rejects_fp, err);
  if (st == PROMO_OK && paths->report != NULL)
    st = promo_atomic_open(paths->report, &o->files[OUT_REPORT], &o->report_fp, err);
  return st;
}

/* Run pass 2 into the open outputs and check that every row is accounted for. */
static promo_status write_outputs(clean_run *run, const promo_clean_paths *paths, run_outputs *o,
                                  promo_clean_summary *summary, promo_error *err) {
  pass_two p = {.run = run, .summary = summary, .out_path = paths->output,
                .rejects_path = paths->rejects};
  const char **names = NULL;
  promo_type *types = NULL;
  promo_status st = promo_csv_rewind(run->reader, err);
  if (st != PROMO_OK) goto done;

  names = calloc(run->n_columns, sizeof *names);
  types = calloc(run->n_columns, sizeof *types);
  p.scratch.state = calloc(run->n_columns, 1);
  p.scratch.is_outlier = calloc(run->n_columns, 1);
  p.scratch.fixed = calloc(run->n_columns, sizeof *p.scratch.fixed);
  if (names == NULL || types == NULL || p.scratch.state == NULL || p.scratch.is_outlier == NULL ||
      p.scratch.fixed == NULL) {
    st = promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
    goto done;
  }
  for (size_t c = 0; c < run->n_columns; c++) {
    names[c] = run->plans[c].name;
    types[c] = run->plans[c].type;
  }
  if ((st = promo_table_create(run->n_columns, names, types, true, &p.table)) != PROMO_OK) {
    promo_error_set(err, st, "%s", _("out of memory"));
    goto done;
  }
  if ((st = promo_csv_writer_create(o->out_fp, ',', run->opt->with_bom, &p.out)) != PROMO_OK ||
      (o->rejects_fp != NULL &&
       (st = promo_csv_writer_create(o->rejects_fp, ',', run->opt->with_bom, &p.rejects)) != PROMO_OK)) {
    promo_error_set(err, st, "%s", _("out of memory"));
    goto done;
  }

  if ((st = run_pass_two(&p, err)) != PROMO_OK) goto done;

  /* Every row must be accounted for; a gap here is a bug, reported rather than hidden,
   * and the outputs are not committed. */
  summary->rows_in = run->rows_in;
  if (summary->rows_in != summary->rows_out + summary->rows_rejected + summary->duplicates_removed) {
    st = promo_error_set(err, PROMO_ERR_INTERNAL,
                         _("row totals do not add up: %llu in, %llu out, %llu rejected, "
                           "%llu duplicates"),
                         (unsigned long long)summary->rows_in, (unsigned long long)summary->rows_out,
                         (unsigned long long)summary->rows_rejected,
                         (unsigned long long)summary->duplicates_removed);
  }

done:
  promo_csv_writer_free(p.out);
  promo_csv_writer_free(p.rejects);
  promo_table_free(p.table);
  free(p.scratch.state);
  free(p.scratch.is_outlier);
  free(p.scratch.fixed);
  free(names);
  free(types);
  return st;
}

promo_status promo_clean_file(const promo_clean_paths *paths, const promo_clean_options *opt,
                              const promo_context *ctx, promo_clean_summary *summary,
                              promo_error *err) {
  double start = promo_now_ms();
  memset(summary, 0, sizeof *summary);
  promo_status st = check_paths(paths, err);
  if (st != PROMO_OK) return st;

  clean_run run;
  memset(&run, 0, sizeof run);
  run.opt = opt;
  run.ctx = ctx;
  run.input_path = paths->input;
  run.time_column = -1;
  run.n_threads = ctx != NULL && ctx->n_threads > 0 ? ctx->n_threads : 1;
  run_outputs outputs = {0};

  if ((st = open_run(&run, paths, err)) != PROMO_OK) goto done;
  if ((st = open_outputs(paths, &outputs, err)) != PROMO_OK) goto done;
  summary->n_columns_in = run.n_columns;
  if ((st = clean_profile(&run, err)) != PROMO_OK) goto done;
  if ((st = clean_plan_columns(&run, err)) != PROMO_OK) goto done;
  log_plan(&run);
  double scanned = promo_now_ms();
  promo_log(ctx, PROMO_LOG_DEBUG, "scan pass: %.0f ms", scanned - start);

  if ((st = write_outputs(&run, paths, &outputs, summary, err)) != PROMO_OK) goto done;
  promo_log(ctx, PROMO_LOG_DEBUG, "write pass: %.0f ms", promo_now_ms() - scanned);
  summary->elapsed_ms = promo_now_ms() - start;
  if (outputs.report_fp != NULL &&
      (st = clean_write_report(&run, summary, outputs.report_fp, paths->report, err)) != PROMO_OK)
    goto done;
  st = promo_atomic_commit_all(outputs.files, N_OUTPUTS, err);

done:
  promo_atomic_abort_all(outputs.files, N_OUTPUTS);
  run_free(&run);
  return st;
}
