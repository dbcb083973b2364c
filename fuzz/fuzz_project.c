/* libFuzzer target for the project file reader of `promo run` (libyaml plus the checked
 * walk over every key). Any input either reads into a project or fails with a data,
 * usage or I/O error that names the file; nothing may crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "promo/project.h"

static char path[64];

static void remove_scratch(void) {
  unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* The reader takes a path, so each input goes through one scratch file per process. */
  if (path[0] == '\0') {
    snprintf(path, sizeof path, "/tmp/promo_fuzz_project_%d.yaml", (int)getpid());
    atexit(remove_scratch);
  }
  FILE *fp = fopen(path, "wb");
  if (fp == NULL) return 0;
  if (fwrite(data, 1, size, fp) != size) {
    fclose(fp);
    return 0;
  }
  if (fclose(fp) != 0) return 0;

  promo_project *project = NULL;
  promo_error err;
  promo_error_clear(&err);
  promo_status st = promo_project_read(path, &project, &err);
  if (st == PROMO_OK) {
    if (project == NULL) abort();
    promo_project_free(project);
  } else {
    if (project != NULL || err.path[0] == '\0') abort();
    if (st != PROMO_ERR_DATA && st != PROMO_ERR_USAGE && st != PROMO_ERR_IO && st != PROMO_ERR_NOMEM) abort();
  }
  return 0;
}
