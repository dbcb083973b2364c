/* promo's entry point: global options (language, verbosity, threads), the log and
 * progress sinks, signal handling, and dispatch to one subcommand. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static volatile int cancel_requested = 0;

static void on_signal(int sig) {
  (void)sig;
  cancel_requested = 1;
}

void cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("promo: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

void cli_print_error(const promo_error *err) {
  char buf[2048];
  promo_error_format(err, buf, sizeof buf);
  fprintf(stderr, "promo: %s\n", buf);
}

int cli_exit_code(promo_status status) {
  switch (status) {
    case PROMO_OK:
    case PROMO_END: return EXIT_OK;
    case PROMO_ERR_USAGE: return EXIT_USAGE;
    case PROMO_ERR_DATA:
    case PROMO_ERR_ENCODING: return EXIT_BAD_INPUT;
    default: return EXIT_FAILED;
  }
}

int cli_usage_error(const char *command, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("promo: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  if (command != NULL)
    fprintf(stderr, _("Run 'promo help %s' for the options.\n"), command);
  else
    fputs(_("Run 'promo --help' for the commands.\n"), stderr);
  return EXIT_USAGE;
}

int cli_option_value(int argc, char **argv, int *i, const char *name, const char **value) {
  const char *arg = argv[*i];
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0) return 0;
  if (arg[n] == '=') {
    *value = arg + n + 1;
    return 1;
  }
  if (arg[n] != '\0') return 0;
  if (*i + 1 >= argc) {
    cli_error(_("option %s needs a value"), name);
    return -1;
  }
  *value = argv[++*i];
  return 1;
}

static void log_sink(void *user, promo_log_level level, const char *message) {
  (void)user;
  const char *tag = level == PROMO_LOG_ERROR  ? _("error")
                    : level == PROMO_LOG_WARN ? _("warning")
                                              : NULL;
  if (tag != NULL)
    fprintf(stderr, "promo: %s: %s\n", tag, message);
  else
    fprintf(stderr, "promo: %s\n", message);
}

int cli_display_width(const char *s) {
  int width = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    if ((*p & 0xC0) == 0x80) continue;
    width += (*p >= 0xE0) ? 2 : 1;
  }
  return width;
}

/* A bar with rate and ETA on a terminal; otherwise a key=value line every 5 s. Progress
 * units are bytes of input, so the rate is in MB/s. */
static void progress_sink(void *user, const char *stage, uint64_t done, uint64_t total) {
  cli *app = user;
  if (app->level < PROMO_LOG_INFO) return;
  double now = promo_now_ms();
  if (app->progress_stage != stage) {
    app->progress_stage = stage;
    app->stage_start_ms = now;
  }
  bool finished = total > 0 && done >= total;
  double every = app->stderr_is_tty ? 200.0 : 5000.0;
  if (!finished && now - app->last_progress_ms < every) return;
  /* Off a terminal, a stage shorter than one period prints nothing. */
  if (!app->stderr_is_tty && now - app->stage_start_ms < every) return;
  app->last_progress_ms = now;

  double pct = total > 0 ? 100.0 * (double)done / (double)total : 0.0;
  double seconds = (now - app->stage_start_ms) / 1000.0;
  /* Only the file-reading stages count bytes; the others count rows, folds or groups,
   * for which a rate in MB/s means nothing. */
  bool counts_bytes = strcmp(stage, "scanning") == 0 || strcmp(stage, "writing") == 0 || strcmp(stage, "offer") == 0;
  double mb_per_s = seconds > 0 ? (double)done / 1e6 / seconds : 0.0;
  double eta_s = done > 0 && total > done ? seconds * (double)(total - done) / (double)done : 0.0;
  if (app->stderr_is_tty) {
    /* Stage names arrive untranslated (for the key=value lines) and are translated here. */
    const char *label = _(stage);
    int width = 30, filled = (int)(pct / 100.0 * width);
    fprintf(stderr, "\r%s%*s [", label, 10 - cli_display_width(label), "");
    for (int k = 0; k < width; k++) fputc(k < filled ? '#' : '.', stderr);
    if (counts_bytes) fprintf(stderr, _("] %5.1f%%  %6.1f MB/s  ETA %4.0f s"), pct, mb_per_s, eta_s);
    else fprintf(stderr, _("] %5.1f%%  ETA %4.0f s"), pct, eta_s);
    if (finished) fputc('\n', stderr);
    fflush(stderr);
  } else if (counts_bytes) {
    fprintf(stderr, "stage=%s done=%llu total=%llu percent=%.1f mb_per_s=%.1f eta_s=%.0f\n",
            stage, (unsigned long long)done, (unsigned long long)total, pct, mb_per_s, eta_s);
  } else {
    fprintf(stderr, "stage=%s done=%llu total=%llu percent=%.1f eta_s=%.0f\n", stage, (unsigned long long)done,
            (unsigned long long)total, pct, eta_s);
  }
}

static void print_version(void) {
  printf("promo %s\n", promo_version());
}

typedef struct command_entry {
  const char *name;
  cli_command_fn run;
} command_entry;

static const command_entry commands[] = {
    {"clean", cli_clean},
    {"offer", cli_offer},
    {"features", cli_features},
    {"train", cli_train},
    {"predict", cli_predict},
    {"inspect", cli_inspect},
    {"eval", cli_eval},
    {"cv", cli_cv},
    {"optimize", cli_optimize},
    {"run", cli_run},
    {"report", cli_report},
};

int main(int argc, char **argv) {
  /* Language first, so that even option errors come out in the user's language. */
  const char *lang = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc) lang = argv[i + 1];
    else if (strncmp(argv[i], "--lang=", 7) == 0) lang = argv[i] + 7;
  }
  promo_i18n_init(lang);

  cli app;
  memset(&app, 0, sizeof app);
  promo_context_init(&app.ctx);
  long n_cpus = sysconf(_SC_NPROCESSORS_ONLN);
  app.ctx.n_threads = n_cpus > 0 ? (int)n_cpus : 1;
  app.level = PROMO_LOG_INFO;
  app.stderr_is_tty = isatty(STDERR_FILENO) != 0;
  app.last_progress_ms = promo_now_ms();

  /* Global options come before the subcommand; they are also accepted after it. */
  int first = 1;
  const char *command = NULL;
  int n_rest = 0;
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  if (rest == NULL) {
    cli_error("%s", _("out of memory"));
    return EXIT_FAILED;
  }
  for (int i = first; i < argc; i++) {
    const char *a = argv[i];
    const char *value = NULL;
    int got;
    if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
      app.level = PROMO_LOG_WARN;
    } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
      app.level = PROMO_LOG_DEBUG;
    } else if ((got = cli_option_value(argc, argv, &i, "--lang", &value)) != 0) {
      if (got < 0) return free(rest), EXIT_USAGE;
      if (strncmp(value, "zh", 2) != 0 && strncmp(value, "en", 2) != 0) {
        free(rest);
        return cli_usage_error(NULL, _("unknown language '%s'; use zh or en"), value);
      }
    } else if ((got = cli_option_value(argc, argv, &i, "--threads", &value)) != 0) {
      if (got < 0) return free(rest), EXIT_USAGE;
      char *end;
      errno = 0;
      long n = strtol(value, &end, 10);
      if (errno != 0 || *end != '\0' || n < 1 || n > 1024) {
        free(rest);
        return cli_usage_error(NULL, _("invalid --threads '%s'; give a whole number from 1 to 1024"),
                               value);
      }
      app.ctx.n_threads = (int)n;
    } else if (command == NULL && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
      cli_print_help(stdout, NULL);
      free(rest);
      return EXIT_OK;
    } else if (command == NULL && (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0)) {
      print_version();
      free(rest);
      return EXIT_OK;
    } else if (command == NULL && a[0] == '-') {
      free(rest);
      return cli_usage_error(NULL, _("unknown option '%s'"), a);
    } else if (command == NULL) {
      command = a;
      rest[n_rest++] = argv[i];
    } else {
      rest[n_rest++] = argv[i];
    }
  }

  if (command == NULL) {
    cli_print_help(stderr, NULL);
    free(rest);
    return EXIT_USAGE;
  }
  if (strcmp(command, "help") == 0) {
    int rc = EXIT_OK;
    if (n_rest < 2 || strcmp(rest[1], "help") == 0) {
      cli_print_help(stdout, NULL);
    } else if (!cli_print_help(stdout, rest[1])) {
      rc = cli_usage_error(NULL, _("unknown command '%s'"), rest[1]);
    }
    free(rest);
    return rc;
  }

  app.ctx.level = app.level;
  app.ctx.log = log_sink;
  app.ctx.progress = progress_sink;
  app.ctx.user = &app;
  app.ctx.cancel = &cancel_requested;
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  /* Past a file size limit, writes then fail with EFBIG and are reported like a full
   * disk, instead of the signal killing the process with temporary files left behind. */
  signal(SIGXFSZ, SIG_IGN);

  for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
    if (strcmp(commands[k].name, command) == 0) {
      int rc = commands[k].run(&app, n_rest, rest);
      free(rest);
      return rc;
    }
  }
  free(rest);
  return cli_usage_error(NULL, _("unknown command '%s'"), command);
}
