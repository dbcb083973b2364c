/* Error objects: status, location (path, line, column, byte offset) and a translated
 * message, filled by library code and printed by the CLI. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/intl.h"
#include "promo/core.h"

void promo_error_clear(promo_error *err) {
  if (err == NULL) return;
  memset(err, 0, sizeof *err);
  err->byte_offset = -1;
}

promo_status promo_error_set(promo_error *err, promo_status status, const char *fmt, ...) {
  if (err == NULL) return status;
  err->status = status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  return status;
}

void promo_error_at(promo_error *err, const char *path, int64_t line, int64_t column) {
  if (err == NULL) return;
  if (path != NULL) snprintf(err->path, sizeof err->path, "%s", path);
  err->line = line;
  err->column = column;
}

void promo_error_value(promo_error *err, const char *text, int64_t len) {
  if (err == NULL || text == NULL) return;
  size_t n = len < 0 ? strlen(text) : (size_t)len;
  size_t cap = sizeof err->value - 1;
  if (n <= cap) {
    memcpy(err->value, text, n);
    err->value[n] = '\0';
    return;
  }
  /* Clip on a UTF-8 character boundary and mark the cut with "...". */
  size_t keep = cap - 3;
  while (keep > 0 && ((unsigned char)text[keep] & 0xC0) == 0x80) keep--;
  memcpy(err->value, text, keep);
  memcpy(err->value + keep, "...", 4);
}

promo_status promo_error_errno(promo_error *err, int errnum, const char *path, const char *what) {
  if (err == NULL) return PROMO_ERR_IO;
  promo_error_at(err, path, 0, 0);
  err->sys_errno = errnum;
  return promo_error_set(err, errnum == ENOMEM ? PROMO_ERR_NOMEM : PROMO_ERR_IO,
                         _("%s failed: %s"), what, strerror(errnum));
}

void promo_error_format(const promo_error *err, char *buf, size_t size) {
  if (size == 0) return;
  buf[0] = '\0';
  if (err == NULL) return;
  size_t used = 0;
  int n = 0;
  if (err->path[0] != '\0') {
    if (err->line > 0 && err->column > 0)
      n = snprintf(buf, size, "%s:%" PRId64 ":%" PRId64 ": ", err->path, err->line, err->column);
    else if (err->line > 0)
      n = snprintf(buf, size, "%s:%" PRId64 ": ", err->path, err->line);
    else
      n = snprintf(buf, size, "%s: ", err->path);
  } else if (err->line > 0) {
    n = snprintf(buf, size, _("line %" PRId64 ": "), err->line);
  }
  if (n > 0) used = (size_t)n < size ? (size_t)n : size - 1;
  const char *msg = err->message[0] != '\0' ? err->message : promo_status_text(err->status);
  snprintf(buf + used, size - used, "%s", msg);
}

const char *promo_status_text(promo_status status) {
  switch (status) {
    case PROMO_OK: return _("success");
    case PROMO_ERR_NOMEM: return _("out of memory");
    case PROMO_ERR_IO: return _("input/output error");
    case PROMO_ERR_USAGE: return _("invalid option or argument");
    case PROMO_ERR_DATA: return _("invalid input data");
    case PROMO_ERR_ENCODING: return _("invalid text encoding");
    case PROMO_ERR_UNSUPPORTED: return _("not supported");
    case PROMO_ERR_CANCELLED: return _("cancelled");
    case PROMO_ERR_INTERNAL: return _("internal error");
    case PROMO_END: return _("end of input");
  }
  return _("unknown status");
}
