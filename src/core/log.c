/* Logging and progress: library code formats a message only when the caller's context
 * enables its level, then hands it to the caller's sink. */
#include <stdio.h>
#include <time.h>

#include "promo/core.h"

void promo_context_init(promo_context *ctx) {
  ctx->log = NULL;
  ctx->progress = NULL;
  ctx->user = NULL;
  ctx->level = PROMO_LOG_INFO;
  ctx->cancel = NULL;
  ctx->n_threads = 1;
}

void promo_log(const promo_context *ctx, promo_log_level level, const char *fmt, ...) {
  if (!promo_log_enabled(ctx, level)) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  ctx->log(ctx->user, level, buf);
}

void promo_progress(const promo_context *ctx, const char *stage, uint64_t done, uint64_t total) {
  if (ctx != NULL && ctx->progress != NULL) ctx->progress(ctx->user, stage, done, total);
}

double promo_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

const char *promo_version(void) { return PROMO_VERSION; }
