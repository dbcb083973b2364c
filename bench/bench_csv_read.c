/* Reader throughput: reads a CSV with promo_csv_next, counting records and summing field
 * lengths, three times, and prints MB/s for each pass. The file should be in the page cache
 * (read it once first) so the figure is the parser's, not the disk's.
 * Usage: bench_csv_read FILE.csv [gb18030] */
#include <stdio.h>
#include <string.h>

#include "promo/data.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE.csv [gb18030]\n", argv[0]);
    return 2;
  }
  promo_csv_options opt;
  promo_csv_options_init(&opt);
  if (argc > 2 && strcmp(argv[2], "gb18030") == 0) opt.encoding = PROMO_ENCODING_GB18030;

  for (int pass = 0; pass < 3; pass++) {
    double start = promo_now_ms();
    promo_csv *reader;
    promo_error err;
    promo_error_clear(&err);
    if (promo_csv_open(argv[1], &opt, &reader, &err) != PROMO_OK) {
      fprintf(stderr, "bench_csv_read: %s: %s\n", argv[1], err.message);
      return 1;
    }
    promo_csv_record record;
    unsigned long long n_records = 0, field_bytes = 0;
    promo_status status;
    while ((status = promo_csv_next(reader, &record, &err)) == PROMO_OK) {
      n_records++;
      for (size_t i = 0; i < record.n_fields; i++) field_bytes += record.lengths[i];
    }
    if (status != PROMO_END) {
      fprintf(stderr, "bench_csv_read: %s:%lld: %s\n", argv[1], (long long)err.line, err.message);
      promo_csv_close(reader);
      return 1;
    }
    double seconds = (promo_now_ms() - start) / 1000.0;
    double megabytes = (double)promo_csv_size(reader) / 1e6;
    printf("pass=%d records=%llu field_bytes=%llu size_mb=%.1f seconds=%.3f mb_per_s=%.0f\n",
           pass + 1, n_records, field_bytes, megabytes, seconds, megabytes / seconds);
    promo_csv_close(reader);
  }
  return 0;
}
