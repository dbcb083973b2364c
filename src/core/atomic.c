/* Atomic output files: write to a temporary file in the destination folder, fsync, and
 * rename over the destination, so a failed or interrupted run leaves no partial output. */
/* realpath is an X/Open function. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
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

/* The file a symlinked output path ends at, so the rename replaces the target and not the
 * link; NULL when path is not a symlink. The caller frees it. */
static char *resolve_link(const char *path) {
  struct stat lst;
  if (lstat(path, &lst) != 0 || !S_ISLNK(lst.st_mode)) return NULL;
  return realpath(path, NULL);
}

promo_status promo_atomic_open(const char *path, promo_atomic_file **out, FILE **fp,
                               promo_error *err) {
  *out = NULL;
  *fp = NULL;
  struct stat st;
  bool exists = stat(path, &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) {
    promo_error_at(err, path, 0, 0);
    return promo_error_set(err, PROMO_ERR_USAGE, "%s", _("output path is a folder; give a file name"));
  }
  /* A device, pipe or socket cannot be replaced by renaming a finished file over it. */
  if (exists && !S_ISREG(st.st_mode)) {
    promo_error_at(err, path, 0, 0);
    return promo_error_set(err, PROMO_ERR_USAGE, "%s",
                           _("output path is a device, pipe or socket, not a file; give a file name"));
  }
  char *target = resolve_link(path);
  if (target != NULL) path = target;

  promo_atomic_file *f = calloc(1, sizeof *f);
  size_t n = strlen(path);
  if (f == NULL || (f->path = malloc(n + 1)) == NULL || (f->tmp_path = malloc(n + 16)) == NULL) {
    if (f != NULL) free(f->path);
    free(f);
    free(target);
    return promo_error_set(err, PROMO_ERR_NOMEM, "%s", _("out of memory"));
  }
  memcpy(f->path, path, n + 1);
  snprintf(f->tmp_path, n + 16, "%s.tmp.XXXXXX", path);

  int fd = mkstemp(f->tmp_path);
  if (fd < 0) {
    promo_status st_err = promo_error_errno(err, errno, path, _("creating the output file"));
    free(f->tmp_path);
    free(f->path);
    free(f);
    free(target);
    return st_err;
  }
  free(target);
  /* mkstemp creates 0600. A file being replaced keeps its permissions; a new one gets the
   * usual permissions under the umask. */
  if (exists) {
    (void)fchmod(fd, st.st_mode & 07777);
  } else {
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
  }

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

promo_status promo_atomic_commit_all(promo_atomic_file **files, size_t n_files, promo_error *err) {
  promo_status st = PROMO_OK;
  for (size_t i = 0; i < n_files; i++) {
    if (files[i] == NULL) continue;
    if (st == PROMO_OK)
      st = promo_atomic_commit(files[i], err);
    else
      promo_atomic_abort(files[i]);
    files[i] = NULL;
  }
  return st;
}

void promo_atomic_abort_all(promo_atomic_file **files, size_t n_files) {
  for (size_t i = 0; i < n_files; i++) {
    promo_atomic_abort(files[i]);
    files[i] = NULL;
  }
}

/* Absolute path of `path` with its folder resolved, whether or not the file exists yet. */
static char *canonical_path(const char *path) {
  char *full = realpath(path, NULL);
  if (full != NULL) return full;
  const char *slash = strrchr(path, '/');
  const char *base = slash != NULL ? slash + 1 : path;
  size_t dir_len = 1; /* "." or "/" */
  if (slash != NULL && slash != path) dir_len = (size_t)(slash - path);
  char *dir = malloc(dir_len + 1);
  if (dir == NULL) return NULL;
  if (slash == NULL)
    memcpy(dir, ".", 2);
  else {
    memcpy(dir, slash == path ? "/" : path, dir_len);
    dir[dir_len] = '\0';
  }
  char *dir_full = realpath(dir, NULL);
  free(dir);
  if (dir_full == NULL) return NULL;
  size_t n = strlen(dir_full) + strlen(base) + 2;
  full = malloc(n);
  if (full != NULL) snprintf(full, n, "%s/%s", dir_full, base);
  free(dir_full);
  return full;
}

bool promo_same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (stat(a, &sa) == 0 && stat(b, &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  char *ca = canonical_path(a), *cb = canonical_path(b);
  bool same = ca != NULL && cb != NULL && strcmp(ca, cb) == 0;
  free(ca);
  free(cb);
  return same;
}
