/* Core services every stage uses: status codes, error objects with file context,
 * logging and progress through a caller-installed sink, translations, atomic output
 * files. Nothing here prints or exits; the CLI decides where things go. */
#ifndef PROMO_CORE_H
#define PROMO_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes of every fallible library function. PROMO_OK is 0. */
typedef enum promo_status {
  PROMO_OK = 0,
  PROMO_ERR_NOMEM,        /* an allocation failed */
  PROMO_ERR_IO,           /* open, read, write, rename or close failed */
  PROMO_ERR_USAGE,        /* an option or argument is invalid */
  PROMO_ERR_DATA,         /* input data is malformed (ragged row, bad header, ...) */
  PROMO_ERR_ENCODING,     /* input bytes are invalid in the file's encoding */
  PROMO_ERR_UNSUPPORTED,  /* a valid request this version cannot serve */
  PROMO_ERR_CANCELLED,    /* the caller's cancel flag was raised */
  PROMO_ERR_INTERNAL,     /* a state only a bug can reach */
  PROMO_END               /* not an error: a reader has no more records */
} promo_status;

/* Error details filled by functions that read user data. Line and column are 1-based;
 * 0 means "not applicable". byte_offset is -1 when unknown. Strings are NUL-terminated
 * and clipped to their buffers. */
typedef struct promo_error {
  promo_status status;
  int sys_errno;          /* errno of the failed system call, 0 if none */
  int64_t line;
  int64_t column;
  int64_t byte_offset;
  char path[512];
  char column_name[128];
  char value[96];         /* a clipped copy of the offending text */
  char message[512];      /* already translated */
} promo_error;

/* Reset an error object to "no error". Accepts NULL. */
void promo_error_clear(promo_error *err);

/* Set status and a printf-style message (already translated by the caller); keeps any
 * location fields set before. Returns status so callers can `return promo_error_set(...)`.
 * err may be NULL. */
promo_status promo_error_set(promo_error *err, promo_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record where the error happened. path may be NULL; line/column 0 mean unknown. */
void promo_error_at(promo_error *err, const char *path, int64_t line, int64_t column);

/* Record the offending text, clipped to the buffer with an ellipsis; len < 0 means
 * NUL-terminated. */
void promo_error_value(promo_error *err, const char *text, int64_t len);

/* Set an I/O error from errno for `path`: "<what> failed: <strerror>". */
promo_status promo_error_errno(promo_error *err, int errnum, const char *path, const char *what);

/* Write "path:line:col: message" (parts present only when set) into buf. */
void promo_error_format(const promo_error *err, char *buf, size_t size);

/* Translated one-line description of a status code. */
const char *promo_status_text(promo_status status);

/* ---- logging and progress ---- */

typedef enum promo_log_level {
  PROMO_LOG_ERROR = 0,
  PROMO_LOG_WARN = 1,
  PROMO_LOG_INFO = 2,
  PROMO_LOG_DEBUG = 3
} promo_log_level;

typedef void (*promo_log_fn)(void *user, promo_log_level level, const char *message);

/* Progress callback: `done` of `total` units (total 0 if unknown) in a named stage. */
typedef void (*promo_progress_fn)(void *user, const char *stage, uint64_t done, uint64_t total);

/* The caller-owned context that reaches every long-running library call: where logs and
 * progress go, and a flag the caller may raise (from a signal handler) to cancel. */
typedef struct promo_context {
  promo_log_fn log;             /* NULL discards logs */
  promo_progress_fn progress;   /* NULL discards progress */
  void *user;                   /* passed to both callbacks */
  promo_log_level level;        /* messages above this level are not formatted */
  volatile int *cancel;         /* non-zero asks the library to stop; may be NULL */
  int n_threads;                /* worker threads; 0 means the library chooses */
} promo_context;

/* Fill a context that discards everything and uses one thread. */
void promo_context_init(promo_context *ctx);

static inline bool promo_log_enabled(const promo_context *ctx, promo_log_level level) {
  return ctx != NULL && ctx->log != NULL && level <= ctx->level;
}

/* Format and send a message if its level is enabled. ctx may be NULL. */
void promo_log(const promo_context *ctx, promo_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Report progress if a callback is installed. */
void promo_progress(const promo_context *ctx, const char *stage, uint64_t done, uint64_t total);

/* True when the caller asked to stop. */
static inline bool promo_cancelled(const promo_context *ctx) {
  return ctx != NULL && ctx->cancel != NULL && *ctx->cancel != 0;
}

/* ---- translations ---- */

/* Bind the "promo" text domain. Looks for catalogs in $PROMO_LOCALEDIR, then beside the
 * executable (build tree: <dir>/locale), then the install prefix. `lang` is "zh", "en" or
 * NULL (use the environment's locale). Selecting "zh" works even where no zh_CN locale is
 * generated, by falling back to C.UTF-8 with LANGUAGE set. Returns the language in
 * effect: "zh" or "en". */
const char *promo_i18n_init(const char *lang);

/* The language chosen by promo_i18n_init: "zh" or "en". */
const char *promo_i18n_language(void);

/* ---- atomic output files ---- */

/* An output file written to a temporary name in the destination folder and renamed over
 * the destination on commit, so readers never see a partial file. */
typedef struct promo_atomic_file promo_atomic_file;

/* Create the temporary file beside `path` (beside the target when path is a symlink). On
 * success *out owns it and *fp is its stream; write through *fp only. A path that is a
 * folder, device, pipe or socket is PROMO_ERR_USAGE. A replaced file keeps its
 * permissions. */
promo_status promo_atomic_open(const char *path, promo_atomic_file **out, FILE **fp,
                               promo_error *err);

/* Flush, fsync and close the stream, then rename it over the destination. Frees `file`
 * whether or not it succeeds; on failure the temporary file is removed. */
promo_status promo_atomic_commit(promo_atomic_file *file, promo_error *err);

/* Close and remove the temporary file without touching the destination. Accepts NULL. */
void promo_atomic_abort(promo_atomic_file *file);

/* Commit the non-NULL files in order, for outputs that belong together. After the first
 * failure the remaining files are aborted, so at most the ones before it were replaced.
 * Every entry is set to NULL. */
promo_status promo_atomic_commit_all(promo_atomic_file **files, size_t n_files, promo_error *err);

/* Abort every non-NULL file and set the entries to NULL. */
void promo_atomic_abort_all(promo_atomic_file **files, size_t n_files);

/* True when both paths name the same file: the same device and inode when both exist,
 * otherwise the same absolute path once folders and links are resolved. */
bool promo_same_file(const char *a, const char *b);

/* ---- small utilities ---- */

/* Elapsed wall time in milliseconds from a monotonic clock. */
double promo_now_ms(void);

/* The library version, "MAJOR.MINOR.PATCH". */
const char *promo_version(void);

#ifdef __cplusplus
}
#endif
#endif
