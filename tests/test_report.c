/* Unit tests of the HTML report: number formatting, escaping, empty and partial
 * documents, charts and their mark counts, type errors naming the key, the atomic
 * write, and the golden page for tests/data/report/binary.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "promo/core.h"
#include "promo/report.h"

#define DATA PROMO_TEST_DATA "/report/"

static json_t *load_json(const char *path) {
  json_error_t jerr;
  json_t *doc = json_load_file(path, 0, &jerr);
  if (doc == NULL) fail_msg("%s:%d: %s", path, jerr.line, jerr.text);
  return doc;
}

static json_t *parse(const char *text) {
  json_error_t jerr;
  json_t *doc = json_loads(text, 0, &jerr);
  if (doc == NULL) fail_msg("test JSON invalid at %d: %s", jerr.column, jerr.text);
  return doc;
}

/* Render doc and return the page, failing the test on an error. */
static char *render(const json_t *doc) {
  char *html = NULL;
  size_t len = 0;
  promo_error err;
  promo_error_clear(&err);
  promo_status st = promo_report_render_html(doc, &html, &len, &err);
  if (st != PROMO_OK) fail_msg("render failed: %s", err.message);
  assert_non_null(html);
  assert_int_equal(strlen(html), len);
  return html;
}

static size_t count_occurrences(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle)) n++;
  return n;
}

/* The data-points value of the chart `name`, or -1 when the page has no such chart. */
static long chart_points(const char *html, const char *name) {
  char needle[96];
  snprintf(needle, sizeof needle, "data-chart=\"%s\" data-points=\"", name);
  const char *p = strstr(html, needle);
  return p != NULL ? strtol(p + strlen(needle), NULL, 10) : -1;
}

/* Marks drawn inside the chart `name`, counted as the page's check script counts them:
 * one per point of a polyline mark, one per other mark. */
static long chart_marks(const char *html, const char *name) {
  char needle[96];
  snprintf(needle, sizeof needle, "data-chart=\"%s\"", name);
  const char *start = strstr(html, needle);
  if (start == NULL) return -1;
  const char *end = strstr(start, "</figure>");
  long n = 0;
  for (const char *p = strstr(start, "class=\"mark"); p != NULL && p < end; p = strstr(p + 1, "class=\"mark")) {
    const char *tag = p;
    while (tag > start && *tag != '<') tag--;
    if (strncmp(tag, "<polyline", 9) != 0) {
      n++;
      continue;
    }
    const char *points = strstr(p, "points=\"") + 8;
    n++;
    for (const char *q = points; *q != '"'; q++) n += *q == ' ';
  }
  return n;
}

/* ===================================================================== numbers */

static void number_thousands_and_decimals(void **state) {
  (void)state;
  char buf[64];
  promo_report_format_number(1234567.891, 2, buf, sizeof buf);
  assert_string_equal(buf, "1,234,567.89");
  promo_report_format_number(-1234.4, 0, buf, sizeof buf);
  assert_string_equal(buf, "-1,234");
  promo_report_format_number(999.999, 2, buf, sizeof buf);
  assert_string_equal(buf, "1,000.00");
  promo_report_format_number(100, 0, buf, sizeof buf);
  assert_string_equal(buf, "100");
  promo_report_format_number(1e6, 0, buf, sizeof buf);
  assert_string_equal(buf, "1,000,000");
  promo_report_format_number(0.5, 3, buf, sizeof buf);
  assert_string_equal(buf, "0.500");
}

static void number_negative_zero_and_nan(void **state) {
  (void)state;
  char buf[64];
  promo_report_format_number(-0.0001, 2, buf, sizeof buf);
  assert_string_equal(buf, "0.00");
  promo_report_format_number(NAN, 2, buf, sizeof buf);
  assert_string_equal(buf, "\xE2\x80\x94");
  promo_report_format_number(INFINITY, 0, buf, sizeof buf);
  assert_string_equal(buf, "\xE2\x80\x94");
  promo_report_format_percent(NAN, 1, buf, sizeof buf);
  assert_string_equal(buf, "\xE2\x80\x94");
}

static void number_clipped_to_buffer(void **state) {
  (void)state;
  char buf[6];
  promo_report_format_number(1234567, 0, buf, sizeof buf);
  assert_string_equal(buf, "1,234");
}

static void percent_and_auto_formats(void **state) {
  (void)state;
  char buf[64];
  promo_report_format_percent(0.1234, 1, buf, sizeof buf);
  assert_string_equal(buf, "12.3%");
  promo_report_format_percent(12.5, 0, buf, sizeof buf);
  assert_string_equal(buf, "1,250%");
  promo_report_format_auto(12345.6, buf, sizeof buf);
  assert_string_equal(buf, "12,346");
  promo_report_format_auto(123.44, buf, sizeof buf);
  assert_string_equal(buf, "123.4");
  promo_report_format_auto(-2.345, buf, sizeof buf);
  assert_string_equal(buf, "-2.35");
  promo_report_format_auto(0.012345, buf, sizeof buf);
  assert_string_equal(buf, "0.0123");
  promo_report_format_auto(0, buf, sizeof buf);
  assert_string_equal(buf, "0");
}

/* ===================================================================== escaping */

static void title_with_markup_is_escaped(void **state) {
  (void)state;
  json_t *doc = parse("{\"title\": \"<script>alert(\\\"x\\\")</script> & 'co'\","
                      " \"project\": \"a\\u0001b\"}");
  char *html = render(doc);
  const char *escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;";
  assert_non_null(strstr(html, "<title>"));
  assert_int_equal(count_occurrences(html, escaped), 2); /* <title> and <h1> */
  assert_null(strstr(html, "<script>alert"));
  assert_int_equal(count_occurrences(html, "<script>"), 1); /* only the page's own check */
  assert_non_null(strstr(html, "a\xEF\xBF\xBD" "b")); /* control character replaced */
  free(html);
  json_decref(doc);
}

static void labels_in_svg_are_escaped(void **state) {
  (void)state;
  json_t *doc = parse("{\"response\": {\"rows\": [{\"option\": \"<b>9折</b>\", \"kind\": \"x\\\"><svg onload=1\","
                      " \"depth\": 0.1, \"mean_prediction\": 0.2, \"n\": 10}]},"
                      " \"quality\": [{\"source\": \"a<b\", \"rows_in\": 1, \"rows_out\": 1,"
                      " \"reasons\": {\"<i>\": 1}}]}");
  char *html = render(doc);
  assert_null(strstr(html, "<b>9折"));
  assert_null(strstr(html, "\"><svg onload"));
  assert_null(strstr(html, "<i>"));
  assert_non_null(strstr(html, "&lt;b&gt;9折&lt;/b&gt;"));
  assert_non_null(strstr(html, "x&quot;&gt;&lt;svg onload=1"));
  assert_non_null(strstr(html, "<td>a&lt;b</td>"));
  free(html);
  json_decref(doc);
}

/* ===================================================================== documents */

static void empty_document_shows_not_run(void **state) {
  (void)state;
  json_t *doc = json_object();
  char *html = render(doc);
  assert_non_null(strstr(html, "<html lang=\"en\">"));
  assert_non_null(strstr(html, "<title>Promotion report</title>"));
  /* Key figures, stages, quality, training, evaluation, response and plan. */
  assert_int_equal(count_occurrences(html, "class=\"not-run\""), 7);
  assert_null(strstr(html, "data-chart="));
  assert_non_null(strstr(html, "data-check"));
  free(html);
  json_decref(doc);
}

static void partial_document_draws_its_charts(void **state) {
  (void)state;
  json_t *doc = parse("{\"training\": {\"task\": \"binary\", \"history\": ["
                      "{\"epoch\": 1, \"train_loss\": 0.7, \"valid_loss\": 0.72},"
                      "{\"epoch\": 2, \"train_loss\": 0.6, \"valid_loss\": null},"
                      "{\"epoch\": 3, \"train_loss\": 0.5, \"valid_loss\": 0.55}], \"best_epoch\": 3}}");
  char *html = render(doc);
  assert_int_equal(count_occurrences(html, "data-chart="), 1);
  assert_int_equal(chart_points(html, "training"), 5); /* 3 training, 2 validation losses */
  assert_int_equal(chart_marks(html, "training"), 5);
  assert_non_null(strstr(html, "Best epoch 3 of 3: training loss 0.500, validation loss 0.550."));
  /* Every other section shows its not-run line. */
  assert_int_equal(count_occurrences(html, "class=\"not-run\""), 6);
  free(html);
  json_decref(doc);
}

static void binary_fixture_has_every_chart(void **state) {
  (void)state;
  json_t *doc = load_json(DATA "binary.json");
  char *html = render(doc);
  const char *charts[] = {"stages", "training", "roc", "pr", "calibration", "response", "plan", "groups"};
  for (size_t i = 0; i < sizeof charts / sizeof charts[0]; i++) {
    long points = chart_points(html, charts[i]);
    if (points <= 0) fail_msg("chart %s missing or empty", charts[i]);
    if (chart_marks(html, charts[i]) != points)
      fail_msg("chart %s: %ld marks drawn, data-points says %ld", charts[i], chart_marks(html, charts[i]), points);
  }
  assert_int_equal(count_occurrences(html, "data-chart="), 8);

  /* The counts follow the document: 5 stages, 30 epochs of two losses, 7 options,
   * plan + none + 2 same-option baselines to the best units + 2 to random units, with
   * value and spend each, 3 groups. */
  const json_t *roc = json_object_get(json_object_get(json_object_get(json_object_get(doc, "evaluation"), "test"), "curves"), "roc");
  assert_int_equal(chart_points(html, "roc"), (long)json_array_size(roc));
  assert_int_equal(chart_points(html, "stages"), 5);
  assert_int_equal(chart_points(html, "training"), 60);
  assert_int_equal(chart_points(html, "calibration"), 10);
  assert_int_equal(chart_points(html, "response"), 7);
  assert_int_equal(chart_points(html, "plan"), 12);
  assert_int_equal(chart_points(html, "groups"), 3);

  /* Response rows sort by depth within a kind: 9折 before 8折 before 7折. */
  const char *p9 = strstr(html, ">9折<"), *p8 = strstr(html, ">8折<"), *p7 = strstr(html, ">7折<");
  assert_non_null(p9);
  assert_true(p9 < p8 && p8 < p7);
  /* Formatted figures. */
  assert_non_null(strstr(html, "<td class=\"num\">64,000</td>"));
  assert_non_null(strstr(html, "<td class=\"num\">12.47%</td>"));
  /* plan.spend as plan.json writes it: spend, limit and an array of constraints. */
  assert_non_null(strstr(html, "<tr><th>Spend</th><td class=\"num\">19,876</td></tr>"));
  assert_non_null(strstr(html, "<tr><th>Budget</th><td class=\"num\">20,000</td></tr>"));
  assert_non_null(strstr(html, "<tr><th>e-mails</th><td class=\"num\">9,412 of 10,000</td></tr>"));
  free(html);
  json_decref(doc);
}

static void poisson_fixture_has_scatter(void **state) {
  (void)state;
  json_t *doc = load_json(DATA "poisson.json");
  char *html = render(doc);
  assert_int_equal(chart_points(html, "predicted_vs_actual"), 400);
  assert_int_equal(chart_marks(html, "predicted_vs_actual"), 400);
  assert_int_equal(chart_points(html, "roc"), -1);
  /* 40 groups: 30 bars and one for the other 10. */
  assert_int_equal(chart_points(html, "groups"), 31);
  assert_non_null(strstr(html, "10 other groups"));
  /* A skipped stage without seconds draws no bar: 3 of 4 stages. */
  assert_int_equal(chart_points(html, "stages"), 3);
  /* Unknown metrics are shown by their key. */
  assert_non_null(strstr(html, "<td>interval_coverage</td>"));
  free(html);
  json_decref(doc);
}

static void long_curve_is_thinned(void **state) {
  (void)state;
  json_t *doc = parse("{\"evaluation\": {\"test\": {\"curves\": {}}}}");
  json_t *roc = json_array();
  for (int i = 0; i <= 5000; i++) json_array_append_new(roc, json_pack("[f,f]", i / 5000.0, sqrt(i / 5000.0)));
  json_object_set_new(json_object_get(json_object_get(json_object_get(doc, "evaluation"), "test"), "curves"), "roc", roc);
  char *html = render(doc);
  long points = chart_points(html, "roc");
  assert_true(points > 500 && points <= 1000);
  assert_int_equal(chart_marks(html, "roc"), points);
  assert_non_null(strstr(html, " 466.0,28.0\"")); /* the last point (1, 1) is kept */
  free(html);
  json_decref(doc);
}

static void page_has_no_external_url(void **state) {
  (void)state;
  json_t *doc = load_json(DATA "binary.json");
  char *html = render(doc);
  assert_null(strstr(html, "http:"));
  assert_null(strstr(html, "https:"));
  assert_null(strstr(html, "url("));
  assert_null(strstr(html, "src="));
  assert_null(strstr(html, "@import"));
  for (const char *p = strstr(html, "href=\""); p != NULL; p = strstr(p + 1, "href=\""))
    assert_int_equal(p[6], '#');
  free(html);
  json_decref(doc);
}

/* ===================================================================== errors */

/* Render doc and check it fails with PROMO_ERR_DATA naming `path`. */
static void expect_type_error(const char *text, const char *path) {
  json_t *doc = parse(text);
  char *html = (char *)"unchanged";
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_report_render_html(doc, &html, NULL, &err), PROMO_ERR_DATA);
  assert_null(html);
  char quoted[200];
  snprintf(quoted, sizeof quoted, "\"%s\"", path);
  if (strstr(err.message, quoted) == NULL) fail_msg("message '%s' does not name %s", err.message, quoted);
  assert_string_equal(err.column_name, path);
  json_decref(doc);
}

static void wrong_types_name_their_key(void **state) {
  (void)state;
  expect_type_error("{\"training\": {\"history\": {\"epoch\": 1}}}", "training.history");
  expect_type_error("{\"title\": 5}", "title");
  expect_type_error("{\"stages\": [{\"name\": \"clean\", \"seconds\": \"fast\"}]}", "stages[0].seconds");
  expect_type_error("{\"evaluation\": {\"test\": {\"curves\": {\"roc\": [[0, 0], [1], [1, 1]]}}}}",
                    "evaluation.test.curves.roc[1]");
  expect_type_error("{\"evaluation\": {\"test\": {\"auc\": \"0.8\"}}}", "evaluation.test.auc");
  expect_type_error("{\"plan\": {\"baselines\": {\"same_option\": [{\"option\": \"9折\"}, {\"value\": []}]}}}",
                    "plan.baselines.same_option[1].value");
  expect_type_error("{\"quality\": [{\"source\": \"a\", \"rows_in\": 2, \"reasons\": {\"missing_value\": true}}]}",
                    "quality[0].reasons.missing_value");
  expect_type_error("{\"response\": {\"rows\": [3]}}", "response.rows[0]");
}

static void wrong_type_message_says_found(void **state) {
  (void)state;
  json_t *doc = parse("{\"training\": {\"history\": {\"epoch\": 1}}}");
  char *html = NULL;
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_report_render_html(doc, &html, NULL, &err), PROMO_ERR_DATA);
  assert_string_equal(err.message, "invalid report document: \"training.history\" must be an array, found an object");
  json_decref(doc);

  json_t *array = json_array();
  assert_int_equal(promo_report_render_html(array, &html, NULL, &err), PROMO_ERR_DATA);
  assert_string_equal(err.message, "invalid report document: the top level must be an object, found an array");
  json_decref(array);
}

static void unknown_keys_and_nulls_are_accepted(void **state) {
  (void)state;
  json_t *doc = parse("{\"future\": {\"x\": 1}, \"title\": null, \"evaluation\": {\"test\": "
                      "{\"auc\": null, \"rmse\": 1.5, \"note\": \"text\"}}}");
  char *html = render(doc);
  assert_non_null(strstr(html, "<td>ROC AUC</td><td class=\"num\">\xE2\x80\x94</td>"));
  assert_null(strstr(html, ">note<"));
  free(html);
  json_decref(doc);
}

/* ===================================================================== files */

static void write_is_atomic(void **state) {
  (void)state;
  char dir[] = "/tmp/promo_report_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/report.html", dir);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs("old", fp);
  fclose(fp);

  /* An invalid document leaves the old file alone. */
  json_t *bad = parse("{\"stages\": 1}");
  promo_error err;
  promo_error_clear(&err);
  assert_int_equal(promo_report_write_html(bad, path, &err), PROMO_ERR_DATA);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_size, 3);
  json_decref(bad);

  json_t *doc = json_object();
  assert_int_equal(promo_report_write_html(doc, path, &err), PROMO_OK);
  assert_int_equal(stat(path, &st), 0);
  assert_true(st.st_size > 1000);
  /* A folder is not a file name. */
  assert_int_equal(promo_report_write_html(doc, dir, &err), PROMO_ERR_USAGE);
  json_decref(doc);
  unlink(path);
  assert_int_equal(rmdir(dir), 0); /* no temporary file left behind */
}

static char *read_file(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) return NULL;
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *text = malloc((size_t)n + 1);
  if (text != NULL && fread(text, 1, (size_t)n, fp) == (size_t)n) {
    text[n] = '\0';
    *len = (size_t)n;
  } else {
    free(text);
    text = NULL;
  }
  fclose(fp);
  return text;
}

/* The English page of binary.json, byte for byte. tests/data/report/README.md describes how
 * to regenerate the golden file after an intended change. */
static void binary_fixture_matches_golden(void **state) {
  (void)state;
  json_t *doc = load_json(DATA "binary.json");
  char *html = render(doc);
  size_t golden_len = 0;
  char *golden = read_file(DATA "binary.en.html", &golden_len);
  assert_non_null(golden);
  if (strcmp(html, golden) != 0) {
    size_t i = 0;
    while (html[i] != '\0' && html[i] == golden[i]) i++;
    size_t line = 1;
    for (size_t k = 0; k < i; k++) line += golden[k] == '\n';
    fail_msg("page differs from binary.en.html at line %zu; see tests/data/report/README.md", line);
  }
  free(golden);
  free(html);
  json_decref(doc);
}

int main(void) {
  promo_i18n_init("en");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(number_thousands_and_decimals),
      cmocka_unit_test(number_negative_zero_and_nan),
      cmocka_unit_test(number_clipped_to_buffer),
      cmocka_unit_test(percent_and_auto_formats),
      cmocka_unit_test(title_with_markup_is_escaped),
      cmocka_unit_test(labels_in_svg_are_escaped),
      cmocka_unit_test(empty_document_shows_not_run),
      cmocka_unit_test(partial_document_draws_its_charts),
      cmocka_unit_test(binary_fixture_has_every_chart),
      cmocka_unit_test(poisson_fixture_has_scatter),
      cmocka_unit_test(long_curve_is_thinned),
      cmocka_unit_test(page_has_no_external_url),
      cmocka_unit_test(wrong_types_name_their_key),
      cmocka_unit_test(wrong_type_message_says_found),
      cmocka_unit_test(unknown_keys_and_nulls_are_accepted),
      cmocka_unit_test(write_is_atomic),
      cmocka_unit_test(binary_fixture_matches_golden),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
