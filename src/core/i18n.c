/* Translation set-up: binds the "promo" text domain to the first catalog folder found
 * and selects Simplified Chinese or English, even on machines without a zh_CN locale. */
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/intl.h"
#include "promo/core.h"

/* Process-wide like the C locale it mirrors; written once by promo_i18n_init. */
static const char *current_language = "en";

static bool has_catalog(const char *dir) {
  char path[4200];
  int n = snprintf(path, sizeof path, "%s/zh_CN/LC_MESSAGES/%s.mo", dir, PROMO_TEXTDOMAIN);
  struct stat st;
  return n > 0 && (size_t)n < sizeof path && stat(path, &st) == 0;
}

/* Folder of catalogs: $PROMO_LOCALEDIR, <exe dir>/locale (build tree), install prefix. */
static void find_localedir(char *out, size_t size) {
  const char *env = getenv("PROMO_LOCALEDIR");
  if (env != NULL && env[0] != '\0') {
    snprintf(out, size, "%s", env);
    return;
  }
  char exe[4096];
  ssize_t exe_len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (exe_len > 0) {
    exe[exe_len] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash != NULL) {
      *slash = '\0';
      int n = snprintf(out, size, "%s/locale", exe);
      if (n > 0 && (size_t)n < size && has_catalog(out)) return;
    }
  }
  snprintf(out, size, "%s", PROMO_LOCALEDIR);
}

static bool locale_is_chinese(void) {
  const char *vars[] = {"LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
    const char *v = getenv(vars[i]);
    if (v != NULL && v[0] != '\0') return strncmp(v, "zh", 2) == 0;
  }
  return false;
}

/* Switch messages to Chinese. gettext ignores LANGUAGE under the plain "C" locale, so
 * when zh_CN.UTF-8 is not generated we run under C.UTF-8, which every glibc ships. */
static void select_chinese(void) {
  setenv("LANGUAGE", "zh_CN", 1);
  if (setlocale(LC_ALL, "zh_CN.UTF-8") == NULL && setlocale(LC_ALL, "C.UTF-8") == NULL)
    setlocale(LC_ALL, "");
  current_language = "zh";
}

static void select_english(void) {
  setenv("LANGUAGE", "en", 1);
  if (setlocale(LC_ALL, "") == NULL) setlocale(LC_ALL, "C.UTF-8");
  current_language = "en";
}

const char *promo_i18n_init(const char *lang) {
  if (lang != NULL && strncmp(lang, "zh", 2) == 0)
    select_chinese();
  else if (lang != NULL)
    select_english();
  else if (locale_is_chinese())
    select_chinese();
  else
    select_english();

  /* Numbers are parsed and printed with '.' whatever the user's locale says. */
  setlocale(LC_NUMERIC, "C");

  char dir[4096];
  find_localedir(dir, sizeof dir);
  bindtextdomain(PROMO_TEXTDOMAIN, dir);
  bind_textdomain_codeset(PROMO_TEXTDOMAIN, "UTF-8");
  textdomain(PROMO_TEXTDOMAIN);
  return current_language;
}

const char *promo_i18n_language(void) { return current_language; }
