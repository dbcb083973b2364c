/* Data stage: the streaming CSV reader (RFC 4180, UTF-8 or GB18030), value parsing and
 * type inference, the columnar table with dictionary-encoded strings, and the CSV
 * writer. Every later stage reads its input through this module. */
#ifndef PROMO_DATA_H
#define PROMO_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "promo/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== CSV reader */

typedef enum promo_encoding {
  PROMO_ENCODING_AUTO = 0, /* BOM, then UTF-8 validity, then GB18030 */
  PROMO_ENCODING_UTF8,
  PROMO_ENCODING_GB18030   /* also reads GBK and GB2312, its subsets */
} promo_encoding;

/* "auto", "utf-8", "gb18030" (also "gbk", "gb2312", "utf8"); returns false if unknown. */
bool promo_encoding_parse(const char *name, promo_encoding *out);
const char *promo_encoding_name(promo_encoding encoding);

typedef struct promo_csv_options {
  char delimiter;          /* ',', '\t', ';', '|', or 0 to detect from the first lines */
  promo_encoding encoding;
  bool replace_invalid;    /* replace invalid bytes with U+FFFD instead of failing */
  bool allow_ragged;       /* hand back rows with the wrong field count (flagged in the
                              record) instead of failing with PROMO_ERR_DATA */
  size_t block_bytes;      /* read size; records longer than this grow the buffer */
} promo_csv_options;

void promo_csv_options_init(promo_csv_options *opt);

typedef struct promo_csv promo_csv;

/* One data record. Every pointer stays valid until the next promo_csv_next,
 * promo_csv_rewind or promo_csv_close on the same reader. */
typedef struct promo_csv_record {
  size_t n_fields;
  const char *const *fields;  /* [n_fields] unquoted UTF-8 text, NUL-terminated */
  const uint32_t *lengths;    /* [n_fields] byte lengths without the NUL */
  const uint8_t *was_quoted;  /* [n_fields] 1 if the field was enclosed in quotes */
  const char *raw;            /* the record as it appears in the file, converted to UTF-8,
                                 without its line ending; not NUL-terminated */
  size_t raw_len;
  int64_t line;               /* 1-based line where the record starts (header is line 1) */
  uint64_t index;             /* 0-based data record number, header excluded */
  bool is_ragged;             /* n_fields differs from the header (allow_ragged only) */
} promo_csv_record;

/* Open a file and read its header. Detects encoding and delimiter when not given.
 * Errors: missing or unreadable file (PROMO_ERR_IO), empty file, binary content or a
 * first line that looks like data rather than a header (PROMO_ERR_DATA), undecodable
 * bytes (PROMO_ERR_ENCODING). `err` gets path, line and byte offset where they apply. */
promo_status promo_csv_open(const char *path, const promo_csv_options *opt, promo_csv **out,
                            promo_error *err);

/* Same over a caller-owned buffer, which must outlive the reader. `name` labels errors. */
promo_status promo_csv_open_memory(const char *data, size_t size, const char *name,
                                   const promo_csv_options *opt, promo_csv **out,
                                   promo_error *err);

/* Read the next data record. Returns PROMO_OK, PROMO_END after the last record, or an
 * error (unterminated quote, text after a closing quote, wrong field count, invalid
 * bytes) with line, column and byte offset filled in. After a wrong field count the
 * reader is past that record (which still takes an index), so reading can go on; every
 * other error is final, and later calls return it again until promo_csv_rewind. */
promo_status promo_csv_next(promo_csv *reader, promo_csv_record *record, promo_error *err);

/* Go back to the first data record (for a second pass). Memory readers and regular files
 * only; a pipe gives PROMO_ERR_UNSUPPORTED. */
promo_status promo_csv_rewind(promo_csv *reader, promo_error *err);

size_t promo_csv_n_columns(const promo_csv *reader);
/* Header name of column i (0-based), NUL-terminated UTF-8. */
const char *promo_csv_column_name(const promo_csv *reader, size_t i);
char promo_csv_delimiter(const promo_csv *reader);
promo_encoding promo_csv_encoding(const promo_csv *reader);
bool promo_csv_has_bom(const promo_csv *reader);
const char *promo_csv_path(const promo_csv *reader);
/* Input bytes consumed so far and the file size (0 if unknown), for progress. */
uint64_t promo_csv_bytes_read(const promo_csv *reader);
uint64_t promo_csv_size(const promo_csv *reader);

/* Close the reader. Accepts NULL. */
void promo_csv_close(promo_csv *reader);

/* ===================================================================== values */

typedef enum promo_type {
  PROMO_TYPE_UNKNOWN = 0,  /* inference had no value to look at */
  PROMO_TYPE_BOOL,
  PROMO_TYPE_INT,
  PROMO_TYPE_DECIMAL,
  PROMO_TYPE_DATE,         /* stored as days since 1970-01-01 */
  PROMO_TYPE_DATETIME,     /* stored as seconds since 1970-01-01 00:00:00, no time zone */
  PROMO_TYPE_CATEGORICAL,  /* dictionary codes, few distinct values */
  PROMO_TYPE_TEXT          /* dictionary codes, free text */
} promo_type;

/* English keyword used in --types and reports: "boolean", "integer", "decimal", "date",
 * "datetime", "categorical", "text", "unknown". */
const char *promo_type_name(promo_type type);
/* Accepts the keywords above and "bool", "int", "float", "number", "string", "category". */
bool promo_type_parse(const char *name, promo_type *out);

static inline bool promo_type_is_numeric(promo_type t) {
  return t == PROMO_TYPE_INT || t == PROMO_TYPE_DECIMAL || t == PROMO_TYPE_BOOL;
}
static inline bool promo_type_is_string(promo_type t) {
  return t == PROMO_TYPE_CATEGORICAL || t == PROMO_TYPE_TEXT;
}

/* True for the missing-value markers, after trimming spaces and ignoring ASCII case:
 * empty or blank, NA, N/A, #N/A (Excel), NULL, \N (MySQL dumps), -, NaN. */
bool promo_value_is_missing(const char *s, size_t len);

/* Value parsers. Each trims surrounding spaces, returns true on success, and never
 * depends on the C locale. *is_plain (may be NULL) is set when the text is already in the
 * form the CSV writer would produce, so the writer can copy it unchanged. Spaces are
 * ASCII space, tab, CR, LF, U+00A0 and U+3000 (ideographic space); trimmed text is never
 * plain. On failure *out is left unchanged. */

/* Integers: optional sign, digits, optional thousands separators ("1,234": 1 to 3 digits,
 * then groups of exactly 3). Values outside int64 fail. Plain: -?digits, no leading zero. */
bool promo_parse_int(const char *s, size_t len, int64_t *out, bool *is_plain);
/* Decimals: also currency prefixes (¥ ￥ $ € £ RMB, before or after the sign), a trailing
 * 元 or 块 (12.50元, 12 块), a trailing % or ％ (12.5% -> 0.125), thousands separators
 * (1,234.5), exponents. Correctly rounded.
 * Rejects inf, nan, hex and overflow; underflow gives 0. Plain: -?digits(.digits)? with no
 * leading zero ("0.5" and "12.50" are plain, "007", "+1", ".5", "1e3" are not). */
bool promo_parse_decimal(const char *s, size_t len, double *out, bool *is_plain);
/* true/false, yes/no, y/n, t/f, 是/否, 1/0 (case-insensitive). Plain: "true" or "false",
 * which is how the writer prints booleans. */
bool promo_parse_bool(const char *s, size_t len, bool *out, bool *is_plain);
/* 2024-11-11, 2024/11/11, 2024.11.11, 20241111, 2024年11月11日 -> days since 1970-01-01.
 * Month and day may have one digit (2024/1/5) and are validated (Feb 29 in leap years
 * only). The 8-digit form accepts years 1900 to 2199 only, so that other 8-digit numbers
 * are not taken for dates. Plain: YYYY-MM-DD. */
bool promo_parse_date(const char *s, size_t len, int32_t *days, bool *is_plain);
/* 2024-11-11 10:00[:00[.fff]], 2024/11/11 10:00:00, ISO 8601 with 'T' and an optional 'Z'
 * or ±hh:mm, ±hhmm or ±hh offset, a bare date in any form promo_parse_date accepts
 * (midnight), and Unix seconds (9 to 10 digits) -> seconds since the epoch of the local
 * time as written. An offset is validated but not applied, so calendar features see the
 * shop's own day and hour (2024-11-11T01:00:00+08:00 is 01:00 on 11 November); Unix
 * seconds are taken as UTC. Fractions of a second are dropped.
 * Plain: YYYY-MM-DD HH:MM:SS. */
bool promo_parse_datetime(const char *s, size_t len, int64_t *seconds, bool *is_plain);
/* Unix seconds only: an integer between 1e8 and 4e9 (1973 to 2096). */
bool promo_parse_unix_seconds(const char *s, size_t len, int64_t *seconds);

/* Formatters. Each returns the number of bytes written (no NUL is counted; a NUL
 * follows) and never depends on the C locale. */
size_t promo_format_int(int64_t value, char buf[24]);
/* Shortest text that reads back to the same double ("12.5", "0.125", "1e+20"), as the
 * first of %.15g, %.16g and %.17g that reads back prints it. Non-finite values are written
 * as "nan", "inf" and "-inf". */
size_t promo_format_decimal(double value, char buf[32]);
size_t promo_format_date(int32_t days, char buf[16]);          /* YYYY-MM-DD */
/* YYYY-MM-DD HH:MM:SS; seconds beyond the int32 day range are written as a plain integer. */
size_t promo_format_datetime(int64_t seconds, char buf[32]);

/* Days since the epoch for a calendar date; -1 month/day out of range is the caller's
 * problem (no validation). */
int32_t promo_days_from_civil(int64_t year, unsigned month, unsigned day);
void promo_civil_from_days(int32_t days, int *year, unsigned *month, unsigned *day);

/* ===================================================================== type inference */

/* Counts, over the non-missing values of one column, of how many parse as each type. */
typedef struct promo_type_guess {
  uint64_t n_values;       /* non-missing values seen */
  uint64_t n_missing;
  uint64_t n_bool;         /* parse as boolean */
  uint64_t n_bool_words;   /* ... and are a word (true, 否), not 0/1 */
  uint64_t n_int;
  uint64_t n_decimal;
  uint64_t n_date;
  uint64_t n_datetime;     /* parse as a datetime with a time part, or ISO 'T' form */
  uint64_t n_unix;         /* parse as Unix seconds */
  uint64_t n_date8;        /* 8-digit dates (20241111), which also parse as integers */
  uint64_t total_bytes;    /* summed length of the non-missing values */
  uint64_t n_distinct;     /* distinct non-missing values (estimate past a cap) */
} promo_type_guess;

/* Add one field's text to the counts (n_distinct is the caller's to fill). */
void promo_type_guess_add(promo_type_guess *guess, const char *s, size_t len);

/* Choose a type from the counts. A type is chosen when at most 1% of the non-missing
 * values fail to parse as it; those become invalid values for the cleaning rules.
 * Integers that are all 8-digit dates or Unix seconds become DATE or DATETIME only when
 * the column name suggests a date or time ("date", "time", "day", "dt", "ts", "日期",
 * "时间"). Strings become CATEGORICAL when they repeat (distinct at most half of the
 * values, or at most 1000) and are short (at most 64 bytes on average), TEXT otherwise.
 * Returns UNKNOWN when every value is missing. */
promo_type promo_type_guess_result(const promo_type_guess *guess, const char *column_name);

/* ===================================================================== dictionary */

/* A string-to-code map; codes are dense from 0 in insertion order. */
typedef struct promo_dict promo_dict;

promo_status promo_dict_create(promo_dict **out);
void promo_dict_free(promo_dict *dict);
/* Code of `s`, inserting it when new. Fails with PROMO_ERR_NOMEM, or with
 * PROMO_ERR_UNSUPPORTED past 2^31 - 1 strings or for a string of 4 GiB or more. */
promo_status promo_dict_intern(promo_dict *dict, const char *s, size_t len, int32_t *code);
/* Code of `s`, or -1 if absent. */
int32_t promo_dict_find(const promo_dict *dict, const char *s, size_t len);
/* The string of a code (NUL-terminated, owned by the dictionary, valid until reset or
 * free), or NULL with *len 0 for a code that is not in the dictionary. len may be NULL. */
const char *promo_dict_string(const promo_dict *dict, int32_t code, size_t *len);
size_t promo_dict_size(const promo_dict *dict);
/* Forget every string; codes restart at 0. */
void promo_dict_reset(promo_dict *dict);

/* ===================================================================== table */

/* One typed column. The value array used depends on `type`:
 *   BOOL, INT, DATE, DATETIME -> ints (DATE in days, DATETIME in seconds)
 *   DECIMAL                   -> reals
 *   CATEGORICAL, TEXT         -> codes into dict
 * A missing or invalid cell has is_missing[i] = 1 and an unspecified value. */
typedef struct promo_column {
  char *name;
  promo_type type;
  int64_t *ints;         /* [n_rows] or NULL */
  double *reals;         /* [n_rows] or NULL */
  int32_t *codes;        /* [n_rows] or NULL */
  promo_dict *dict;      /* strings of CATEGORICAL and TEXT columns */
  uint8_t *is_missing;   /* [n_rows] 1 when missing (marker or empty) or invalid */
  uint8_t *is_invalid;   /* [n_rows] 1 when the text was present but did not parse */
  uint8_t *is_plain;     /* [n_rows] 1 when the source text can be written back as is */
} promo_column;

typedef struct promo_table {
  size_t n_rows;
  size_t n_columns;
  size_t capacity;       /* rows allocated in every column */
  promo_column *columns; /* [n_columns] */
  int64_t *lines;        /* [n_rows] source line of each row */
  /* Optional copies of the source text, kept when the table was created with
   * keep_text: cell (r, c) is text + cell_offsets[r * n_columns + c], of length
   * cell_lengths[...]; row r's raw record is text + raw_offsets[r], raw_lengths[r]. */
  bool keep_text;
  char *text;
  size_t text_len, text_capacity;
  uint64_t *cell_offsets; /* [capacity x n_columns] */
  uint32_t *cell_lengths; /* [capacity x n_columns] */
  uint64_t *raw_offsets;  /* [capacity] */
  uint32_t *raw_lengths;  /* [capacity] */
} promo_table;

/* Create an empty table with the given column names and types (TEXT for UNKNOWN). */
promo_status promo_table_create(size_t n_columns, const char *const *names,
                                const promo_type *types, bool keep_text, promo_table **out);
void promo_table_free(promo_table *table);

/* Drop every row but keep columns, capacity and CATEGORICAL dictionaries, so codes stay
 * the same across chunks; TEXT dictionaries are reset. */
void promo_table_clear_rows(promo_table *table);

/* Parse a record into a new row, converting each field to its column's type; a field
 * that does not parse is marked invalid (and missing). Strings are stored untrimmed.
 * Returns PROMO_ERR_DATA, adding no row, when the record does not have n_columns fields,
 * and PROMO_ERR_NOMEM or PROMO_ERR_UNSUPPORTED (see promo_dict_intern) when storage
 * cannot grow. */
promo_status promo_table_append(promo_table *table, const promo_csv_record *record);

/* Column index by name, or -1. */
ptrdiff_t promo_table_find(const promo_table *table, const char *name);

/* Read up to max_rows records (0 = all) from the reader into the table, after clearing
 * it. Returns PROMO_END when the reader had no more records (the table may still hold
 * rows read before the end). A ragged record (allow_ragged) fails with PROMO_ERR_DATA and
 * its line in err; callers that handle ragged rows call promo_table_append themselves. */
promo_status promo_table_read(promo_table *table, promo_csv *reader, size_t max_rows,
                              promo_error *err);

/* Read up to max_rows records like promo_table_read, but keep only their text: the value
 * arrays stay unparsed until promo_table_parse_columns. The table needs keep_text. This
 * splits reading, which is sequential, from parsing, which can run one column per thread. */
promo_status promo_table_read_text(promo_table *table, promo_csv *reader, size_t max_rows,
                                   promo_error *err);

/* Store a record's text as a new, unparsed row (keep_text tables only). */
promo_status promo_table_append_text(promo_table *table, const promo_csv_record *record);

/* Parse columns first, first + step, first + 2 * step, ... of every row from the kept
 * text into their typed values. Calls with the same step and different `first` touch
 * disjoint columns, so they may run at the same time (one per thread). */
promo_status promo_table_parse_columns(promo_table *table, size_t first, size_t step);

/* ===================================================================== loading */

typedef struct promo_load_options {
  promo_csv_options csv;
  /* Types to use instead of inferring them, by column name. A fitted pipeline passes the
   * types it was trained with, so prediction parses values the same way. */
  const char *const *type_columns;
  const promo_type *types;
  size_t n_types;
  bool ignore_unknown_types;  /* skip type_columns absent from the header */
} promo_load_options;

void promo_load_options_init(promo_load_options *opt);

/* Read a whole CSV file into a new table. Columns without a given type are inferred in a
 * first pass over the file (promo_type_guess_result over every value), so the file is
 * read twice. Errors are the reader's, plus PROMO_ERR_USAGE for a given type whose column
 * is not in the header. The table does not keep the source text. */
promo_status promo_table_load(const char *path, const promo_load_options *opt,
                              const promo_context *ctx, promo_table **out, promo_error *err);

/* ===================================================================== CSV writer */

typedef struct promo_csv_writer promo_csv_writer;

/* Write CSV to `fp` (caller-owned; not closed). Output is UTF-8 with LF line endings and
 * quotes only where needed; with_bom adds the UTF-8 byte-order mark. A delimiter of '"',
 * CR, LF or NUL gives PROMO_ERR_USAGE. */
promo_status promo_csv_writer_create(FILE *fp, char delimiter, bool with_bom,
                                     promo_csv_writer **out);
/* Write what is still buffered and free the writer, but not the stream. Write errors are
 * lost here: call promo_csv_writer_flush first. Accepts NULL. */
void promo_csv_writer_free(promo_csv_writer *writer);
/* Append one field to the current row. It is quoted when it contains the delimiter, a
 * quote, CR or LF, or when it starts or ends with a space or tab. Quotes inside are
 * doubled. */
void promo_csv_write_field(promo_csv_writer *writer, const char *s, size_t len);
/* End the current row. A row of one empty field is written as "" so it is not a blank
 * line. */
void promo_csv_write_end_row(promo_csv_writer *writer);
/* Write cell (row, col) of a table: its source text when plain and kept, else the
 * formatted value, with booleans as true/false and strings from the dictionary. Missing
 * and invalid cells are empty. */
void promo_csv_write_cell(promo_csv_writer *writer, const promo_table *table, size_t row,
                          size_t col);
/* Flush buffered bytes to the stream and fflush it. Returns PROMO_ERR_IO (with errno)
 * when this or any earlier write failed, because the writer discards output after a
 * failure. */
promo_status promo_csv_writer_flush(promo_csv_writer *writer, promo_error *err);

/* A new table with rows[0..n_rows) of t in that order, the same columns and types, and
 * the source line numbers. Strings are interned again, so the copy's dictionaries hold
 * only its own values, and a pipeline fitted on it meets no other subset's category.
 * PROMO_ERR_NOMEM is the only error. */
promo_status promo_table_select(const promo_table *t, const size_t *rows, size_t n_rows,
                                promo_table **out);

/* Append a column of the given type with every cell missing, for values computed after
 * loading (derived columns). The caller fills its value array and clears is_missing for
 * the cells it sets. The new column has no source text (is_plain is 0), so the writer
 * formats its values. Later records given to promo_table_append must carry the new
 * field too. Errors: a name already in the table (PROMO_ERR_USAGE), PROMO_ERR_NOMEM; the
 * table is unchanged on failure. *index (may be NULL) gets the new column's index. */
promo_status promo_table_add_column(promo_table *table, const char *name, promo_type type,
                                    size_t *index, promo_error *err);

/* The text of cell (row, column) as the CSV writer writes it: a string column's own text,
 * or the formatted number, boolean ("true"/"false"), date or time, in buf [32] when
 * formatted. NULL for a missing cell. *len (may be NULL) gets the text's length. The
 * returned pointer is into the table or into buf. */
const char *promo_table_cell_text(const promo_table *t, size_t row, size_t column, char buf[32], size_t *len);

/* Left join: add every column of `right` but its key to `left`. Each left row takes its
 * values from the right row whose right_key equals its left_key. Keys compare by their
 * cell text, so an integer key matches the same digits written in a text column. Left
 * rows without a match get missing values, and *n_unmatched (may be NULL) counts them.
 * Errors: a key column not in
 * its header (PROMO_ERR_USAGE), a key on two right rows (PROMO_ERR_DATA naming the line),
 * a right column whose name left has already (PROMO_ERR_USAGE, before left changes),
 * PROMO_ERR_NOMEM. The paths name the tables in messages. */
promo_status promo_table_join(promo_table *left, const char *left_path, const char *left_key,
                              const promo_table *right, const char *right_path, const char *right_key,
                              size_t *n_unmatched, promo_error *err);

#ifdef __cplusplus
}
#endif
#endif
