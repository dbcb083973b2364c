/* Atomic output files: write to a temporary file in the destination folder, fsync, and
 * rename over the destination, so a failed or interrupted run leaves no partial output. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/intl.h"
#include "promo/core.h"

struct promo_atomic_file {
  FILE *fp;
  char *path;      /* destination */
  char *tmp_path;  /* temporary file beside it */
};

promo_status promo_atomic_open(const char *path, promo_atomic_file **out, FILE **fp,
                               promo_error *err) {
  *out = NULL;
  *fp = NULL;
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    promo_error_at(err, path, 0, 0);
    return promo_error_set(err, PROMO_ERR_USAGE, _("output path is a folder; give a file name"));
  }

  promo_atomic_file *f = calloc(1, sizeof *f);
  size_t n = strlen(path);
  if (f == NULL || (f->path = malloc(n + 1)) == NULL || (f->tmp_path = malloc(n + 16)) == NULL) {
    if (f != NULL) free(f->path);
    free(f);
    return promo_error_set(err, PROMO_ERR_NOMEM, _("out of memory"));
  }
  memcpy(f->path, path, n + 1);
  snprintf(f->tmp_path, n + 16, "%s.tmp.XXXXXX", path);

  int fd = mkstemp(f->tmp_path);
  if (fd < 0) {
    promo_status st_err = promo_error_errno(err, errno, path, _("creating the output file"));
    free(f->tmp_path);
    free(f->path);
    free(f);
    return st_err;
  }
  /* mkstemp creates 0600; give the output the usual permissions under the umask. */
  mode_t mask = umask(0);
  umask(mask);
  (void)fchmod(fd, 0666 & ~mask);

  f->fp = fdopen(fd, "wb");
  if (f->fp == NULL) {
    promo_status st_err = promo_error_errno(err, errno, path, _("creating the output file"));
    close(fd);
    unlink(f->tmp_path);
    free(f->tmp_path);
    free(f->path);
    free(f);
    return st_err;
  }
  /* A large buffer: outputs are written in many small pieces. */
  setvbuf(f->fp, NULL, _IOFBF, 1 << 20);
  *out = f;
  *fp = f->fp;
  return PROMO_OK;
}

static void atomic_free(promo_atomic_file *f) {
  free(f->tmp_path);
  free(f->path);
  free(f);
}

promo_status promo_atomic_commit(promo_atomic_file *f, promo_error *err) {
  promo_status st = PROMO_OK;
  int saved = 0;
  if (fflush(f->fp) != 0 || ferror(f->fp)) saved = errno ? errno : EIO;
  if (saved == 0 && fsync(fileno(f->fp)) != 0 && errno != EINVAL) saved = errno;
  if (fclose(f->fp) != 0 && saved == 0) saved = errno;
  f->fp = NULL;
  if (saved == 0 && rename(f->tmp_path, f->path) != 0) saved = errno;
  if (saved != 0) {
    st = promo_error_errno(err, saved, f->path, _("writing the output file"));
    unlink(f->tmp_path);
  }
  atomic_free(f);
  return st;
}

void promo_atomic_abort(promo_atomic_file *f) {
  if (f == NULL) return;
  if (f->fp != NULL) fclose(f->fp);
  unlink(f->tmp_path);
  atomic_free(f);
}

bool promo_same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (stat(a, &sa) != 0 || stat(b, &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
