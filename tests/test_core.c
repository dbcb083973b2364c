/* Unit tests of the core module: error formatting, value clipping, atomic files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "promo/core.h"

static void error_format_with_location(void **state) {
  (void)state;
  promo_error err;
  promo_error_clear(&err);
  promo_error_at(&err, "orders.csv", 12, 3);
  promo_error_set(&err, PROMO_ERR_DATA, "expected %d fields, found %d", 5, 4);
  char buf[256];
  promo_error_format(&err, buf, sizeof buf);
  assert_string_equal(buf, "orders.csv:12:3: expected 5 fields, found 4");
  assert_int_equal(err.status, PROMO_ERR_DATA);
}

static void error_format_path_only(void **state) {
  (void)state;
  promo_error err;
  promo_error_clear(&err);
  promo_error_at(&err, "a.csv", 0, 0);
  promo_error_set(&err, PROMO_ERR_IO, "open failed");
  char buf[256];
  promo_error_format(&err, buf, sizeof buf);
  assert_string_equal(buf, "a.csv: open failed");
}

static void error_value_clipped_on_utf8_boundary(void **state) {
  (void)state;
  promo_error err;
  promo_error_clear(&err);
  char text[400];
  size_t n = 0;
  while (n + 3 < sizeof text - 1) {
    memcpy(text + n, "满", 3); /* 3-byte UTF-8 character */
    n += 3;
  }
  text[n] = '\0';
  promo_error_value(&err, text, -1);
  size_t len = strlen(err.value);
  assert_true(len < sizeof err.value);
  assert_string_equal(err.value + len - 3, "...");
  assert_int_equal((len - 3) % 3, 0);
}

static void atomic_commit_replaces_destination(void **state) {
  (void)state;
  char dir[] = "/tmp/promo_test_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/out.csv", dir);
  promo_atomic_file *f;
  FILE *fp;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_atomic_open(path, &f, &fp, &err), PROMO_OK);
  fputs("a,b\n", fp);
  struct stat st;
  assert_int_not_equal(stat(path, &st), 0); /* not visible before commit */
  assert_int_equal(promo_atomic_commit(f, &err), PROMO_OK);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_size, 4);
  unlink(path);
  rmdir(dir);
}

static void atomic_abort_leaves_nothing(void **state) {
  (void)state;
  char dir[] = "/tmp/promo_test_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/out.csv", dir);
  promo_atomic_file *f;
  FILE *fp;
  assert_int_equal(promo_atomic_open(path, &f, &fp, NULL), PROMO_OK);
  fputs("partial", fp);
  promo_atomic_abort(f);
  assert_int_equal(rmdir(dir), 0); /* the folder is empty again */
}

static void atomic_open_in_missing_folder_fails(void **state) {
  (void)state;
  promo_atomic_file *f;
  FILE *fp;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_atomic_open("/nonexistent_dir_promo/x.csv", &f, &fp, &err), PROMO_ERR_IO);
  assert_string_equal(err.path, "/nonexistent_dir_promo/x.csv");
  assert_non_null(strstr(err.message, "No such file"));
}

static void atomic_commit_all_stops_at_failure(void **state) {
  (void)state;
  char dir[] = "/tmp/promo_test_XXXXXX", sub[64], a[96], b[96], c[96];
  assert_non_null(mkdtemp(dir));
  snprintf(sub, sizeof sub, "%s/sub", dir);
  assert_int_equal(mkdir(sub, 0700), 0);
  snprintf(a, sizeof a, "%s/a.csv", dir);
  snprintf(b, sizeof b, "%s/b.csv", sub);
  snprintf(c, sizeof c, "%s/c.csv", dir);
  promo_atomic_file *files[4] = {NULL};
  FILE *fp;
  assert_int_equal(promo_atomic_open(a, &files[0], &fp, NULL), PROMO_OK);
  assert_int_equal(promo_atomic_open(b, &files[2], &fp, NULL), PROMO_OK);
  assert_int_equal(promo_atomic_open(c, &files[3], &fp, NULL), PROMO_OK);

  /* Moving b's folder away makes its rename fail after a is committed. */
  char moved[96];
  snprintf(moved, sizeof moved, "%s/moved", dir);
  assert_int_equal(rename(sub, moved), 0);
  promo_error err;
  promo_error_clear(&err);
  assert_int_not_equal(promo_atomic_commit_all(files, 4, &err), PROMO_OK);
  struct stat st;
  assert_int_equal(stat(a, &st), 0);
  assert_int_not_equal(stat(c, &st), 0);
  for (size_t i = 0; i < 4; i++) assert_null(files[i]);

  /* b's temporary file went with its folder, where the failed commit could not find it. */
  unlink(a);
  DIR *d = opendir(moved);
  assert_non_null(d);
  for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char leftover[512];
    snprintf(leftover, sizeof leftover, "%s/%s", moved, e->d_name);
    unlink(leftover);
  }
  closedir(d);
  assert_int_equal(rmdir(moved), 0);
  assert_int_equal(rmdir(dir), 0); /* a's and c's folder contains no temporary file */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(error_format_with_location),
      cmocka_unit_test(error_format_path_only),
      cmocka_unit_test(error_value_clipped_on_utf8_boundary),
      cmocka_unit_test(atomic_commit_replaces_destination),
      cmocka_unit_test(atomic_abort_leaves_nothing),
      cmocka_unit_test(atomic_open_in_missing_folder_fails),
      cmocka_unit_test(atomic_commit_all_stops_at_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
