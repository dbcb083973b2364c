/* Generates a synthetic e-commerce order export for benchmarking `promo clean`.
 * Standalone on purpose (no libpromo), so the input of a benchmark never depends on the code
 * under test. The same seed and row count give the same bytes with any C11 compiler (checked
 * with gcc 12 and clang 14 on x86-64), because the output uses only integer arithmetic and
 * IEEE doubles.
 *
 * Build: cc -O2 -o build/gen_clean_csv bench/gen_clean_csv.c
 * Usage: gen_clean_csv [-n ROWS] [-s SEED] [-o PATH]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fractions of the generated file that carry each cleaning problem. */
#define MISSING_RATE 0.03      /* cells in every column except order_id */
#define DUPLICATE_RATE 0.02    /* rows that copy an earlier row byte for byte */
#define CURRENCY_RATE 0.01     /* price cells written as "¥12.50" or "￥12.50" */
#define NEGATIVE_QTY_RATE 0.005 /* quantity cells below zero (returns) */
#define BAD_DISCOUNT_RATE 0.003 /* discount_rate cells outside (0, 1] */
#define QUOTE_IN_TITLE_RATE 0.002 /* titles that contain a double quote */

#define ROW_CAPACITY 1024 /* bytes; rows of a 1M-row file are at most 408 */
#define DUPLICATE_POOL 8192 /* recent distinct rows a duplicate is copied from */

/* Order dates run from FIRST_DAY to FIRST_DAY + N_ORDER_DAYS - 1, counted from 2024-01-01. */
#define FIRST_DAY 274 /* 2024-10-01 */
#define N_ORDER_DAYS 61 /* through 2024-11-30 */
#define SINGLES_DAY 315 /* 2024-11-11, which gets DOUBLE11_SHARE of all orders extra */
#define DOUBLE11_SHARE 0.15
#define N_DATE_STRINGS 366 /* every day of 2024; ship dates stay inside it */

/* splitmix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators",
 * OOPSLA 2014), chosen because it needs only 64-bit integer arithmetic. */
typedef struct rng {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform double in [0, 1) from the top 53 bits. */
static double rng_uniform(rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n); n must be positive. */
static int64_t rng_below(rng *r, int64_t n)
{
    return (int64_t)(rng_uniform(r) * (double)n);
}

static int64_t rng_range(rng *r, int64_t lo, int64_t hi)
{
    return lo + rng_below(r, hi - lo + 1);
}

static int rng_chance(rng *r, double p)
{
    return rng_uniform(r) < p;
}

/* Integer in [lo, hi] skewed towards lo: 46% of the values fall in the lowest tenth. */
static int64_t rng_skewed(rng *r, int64_t lo, int64_t hi)
{
    double u = rng_uniform(r);
    return lo + (int64_t)(u * u * u * (double)(hi - lo + 1));
}

#define PICK(r, array) ((array)[rng_below((r), (int64_t)(sizeof(array) / sizeof((array)[0])))])

/* Row under construction. Every append checks capacity, so an oversized row is reported
 * instead of overflowing. */
typedef struct row {
    char text[ROW_CAPACITY];
    size_t len;
    int overflowed;
} row;

static void put_bytes(row *w, const char *s, size_t n)
{
    if (w->len + n >= ROW_CAPACITY) {
        w->overflowed = 1;
        return;
    }
    memcpy(w->text + w->len, s, n);
    w->len += n;
}

static void put_str(row *w, const char *s)
{
    put_bytes(w, s, strlen(s));
}

static void put_char(row *w, char c)
{
    put_bytes(w, &c, 1);
}

static void put_int(row *w, int64_t v)
{
    char digits[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u != 0);
    if (v < 0)
        put_char(w, '-');
    while (n > 0)
        put_char(w, digits[--n]);
}

/* Writes units / 10^decimals with exactly `decimals` digits after the point (decimals 1..4). */
static void put_fixed(row *w, int64_t units, int decimals)
{
    static const int64_t scale[] = {1, 10, 100, 1000, 10000};
    uint64_t u = units < 0 ? (uint64_t)0 - (uint64_t)units : (uint64_t)units;
    uint64_t whole = u / (uint64_t)scale[decimals];
    uint64_t frac = u % (uint64_t)scale[decimals];
    char tail[8];

    if (units < 0)
        put_char(w, '-');
    put_int(w, (int64_t)whole);
    put_char(w, '.');
    for (int i = decimals - 1; i >= 0; i--) {
        tail[i] = (char)('0' + (int)(frac % 10));
        frac /= 10;
    }
    put_bytes(w, tail, (size_t)decimals);
}

/* "yyyy-mm-dd" for each day of 2024, indexed by days since 2024-01-01. */
static char date_text[N_DATE_STRINGS][11];

static void fill_date_text(void)
{
    static const int month_days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int day_index = 0;

    for (int month = 1; month <= 12; month++) {
        for (int day = 1; day <= month_days[month - 1]; day++) {
            char *s = date_text[day_index++];
            memcpy(s, "2024-00-00", 11);
            s[5] = (char)('0' + month / 10);
            s[6] = (char)('0' + month % 10);
            s[8] = (char)('0' + day / 10);
            s[9] = (char)('0' + day % 10);
        }
    }
}

static void put_date(row *w, int day_index)
{
    put_bytes(w, date_text[day_index], 10);
}

static void put_two_digits(row *w, int v)
{
    char s[2] = {(char)('0' + v / 10), (char)('0' + v % 10)};
    put_bytes(w, s, 2);
}

/* Writes "yyyy-mm-dd HH:MM:SS"; seconds past midnight may exceed one day and roll over. */
static void put_datetime(row *w, int day_index, int64_t seconds)
{
    day_index += (int)(seconds / 86400);
    seconds %= 86400;
    if (day_index >= N_DATE_STRINGS)
        day_index = N_DATE_STRINGS - 1;
    put_date(w, day_index);
    put_char(w, ' ');
    put_two_digits(w, (int)(seconds / 3600));
    put_char(w, ':');
    put_two_digits(w, (int)(seconds / 60 % 60));
    put_char(w, ':');
    put_two_digits(w, (int)(seconds % 60));
}

/* Writes a quoted CSV field, doubling each embedded quote (RFC 4180). */
static void put_quoted(row *w, const char *s)
{
    put_char(w, '"');
    for (; *s != '\0'; s++) {
        if (*s == '"')
            put_char(w, '"');
        put_char(w, *s);
    }
    put_char(w, '"');
}

static const char *const header[] = {
    "order_id", "user_id", "item_id", "shop_id", "order_date", "order_time", "pay_time",
    "ship_date", "city", "channel", "device", "payment", "member_level", "category",
    "promo_type", "logistics", "promo_detail", "title", "price", "original_price", "quantity",
    "discount_rate", "coupon_amount", "shipping_fee", "paid_amount", "cost", "gross_margin",
    "tax_amount", "refund_amount", "weight_kg", "rating", "review_count", "page_views", "clicks",
    "add_to_cart", "stock_level", "delivery_days", "points_used", "is_new_user", "user_age",
};
#define N_COLUMNS ((int)(sizeof header / sizeof header[0]))

static const char *const missing_markers[] = {"", "NA", "NULL", "\\N"};

static const char *const cities[] = {"北京", "上海", "广州", "深圳", "杭州", "成都", "武汉",
                                     "南京", "西安", "重庆", "苏州", "天津", "长沙", "郑州",
                                     "青岛", "厦门", "沈阳", "昆明", "合肥", "福州"};
static const char *const channels[] = {"APP", "小程序", "PC", "直播", "H5"};
static const char *const devices[] = {"iOS", "Android", "Windows", "macOS"};
static const char *const payments[] = {"支付宝", "微信支付", "银行卡", "花呗", "货到付款"};
static const char *const member_levels[] = {"普通", "银卡", "金卡", "铂金", "钻石"};
static const char *const logistics[] = {"顺丰", "中通", "圆通", "韵达", "京东物流", "EMS"};
static const char *const brands[] = {"小米", "华为", "优衣库", "李宁", "安踏", "三只松鼠",
                                     "良品铺子", "完美日记", "花西子", "海尔", "美的", "南极人",
                                     "百雀羚", "得力", "好孩子", "迪卡侬"};
static const char *const title_extras[] = {"2件装", "包邮", "送礼袋", "官方旗舰店", "新款",
                                           "限量版", "大容量", "加厚"};
static const char *const title_specs[] = {"标准版", "升级款", "S码", "M码", "L码", "500g",
                                          "1kg", "黑色", "白色", "礼盒装"};

/* Each category has its own products, so category and title agree. */
typedef struct category {
    const char *name;
    const char *products[4];
} category;

static const category categories[] = {
    {"服装", {"纯棉T恤", "连帽卫衣", "羽绒服", "牛仔裤"}},
    {"数码", {"蓝牙耳机", "充电宝", "手机壳", "智能手表"}},
    {"美妆", {"口红", "面膜", "精华液", "粉底液"}},
    {"食品", {"坚果礼盒", "牛肉干", "螺蛳粉", "咖啡豆"}},
    {"家居", {"四件套", "收纳箱", "保温杯", "抱枕"}},
    {"母婴", {"纸尿裤", "奶瓶", "婴儿湿巾", "儿童餐椅"}},
    {"运动", {"跑步鞋", "瑜伽垫", "篮球", "运动水壶"}},
    {"图书", {"长篇小说", "教辅", "绘本", "词典"}},
};

enum promo_kind { PROMO_THRESHOLD, PROMO_PERCENT, PROMO_GIFT, PROMO_FLASH, PROMO_SHIPPING,
                  PROMO_NONE, N_PROMO_KINDS };
static const char *const promo_names[N_PROMO_KINDS] = {"满减", "折扣", "赠品", "秒杀", "包邮",
                                                       "无"};

/* Counts of what the file contains, printed on stderr so a benchmark can check a cleaner.
 * The problem counts cover distinct rows only, so they are what a cleaner should find after
 * it removes the duplicates. */
typedef struct gen_stats {
    long long n_rows;
    long long n_duplicates;
    long long n_missing;
    long long n_currency;
    long long n_negative_quantity;
    long long n_bad_discount;
} gen_stats;

/* Opens the next field: writes the separator and, for MISSING_RATE of the calls, a missing
 * marker. Returns 1 when the caller should write the value, 0 when the cell is missing. */
static int begin_field(row *w, rng *r, gen_stats *stats)
{
    if (w->len > 0)
        put_char(w, ',');
    if (!rng_chance(r, MISSING_RATE))
        return 1;
    put_str(w, PICK(r, missing_markers));
    stats->n_missing++;
    return 0;
}

static void field_str(row *w, rng *r, gen_stats *stats, const char *s)
{
    if (begin_field(w, r, stats))
        put_str(w, s);
}

static void field_int(row *w, rng *r, gen_stats *stats, int64_t v)
{
    if (begin_field(w, r, stats))
        put_int(w, v);
}

static void field_fixed(row *w, rng *r, gen_stats *stats, int64_t units, int decimals)
{
    if (begin_field(w, r, stats))
        put_fixed(w, units, decimals);
}

static void field_date(row *w, rng *r, gen_stats *stats, int day_index)
{
    if (begin_field(w, r, stats))
        put_date(w, day_index);
}

static void field_datetime(row *w, rng *r, gen_stats *stats, int day_index, int64_t seconds)
{
    if (begin_field(w, r, stats))
        put_datetime(w, day_index, seconds);
}

/* Builds a product title such as `小米蓝牙耳机 标准版` or `"李宁跑步鞋 M码,包邮,新款"`.
 * Titles with a comma or a quote come back quoted. */
static void field_title(row *w, rng *r, gen_stats *stats, const category *cat)
{
    char title[256];

    if (!begin_field(w, r, stats))
        return;

    /* One draw per statement: the order of evaluation of function arguments is unspecified,
     * and the output must not depend on the compiler. */
    const char *brand = PICK(r, brands);
    const char *product = PICK(r, cat->products);
    const char *spec = PICK(r, title_specs);
    const char *hype = rng_chance(r, QUOTE_IN_TITLE_RATE) ? "\"爆款\"" : "";
    int n = snprintf(title, sizeof title, "%s%s%s %s", brand, hype, product, spec);

    /* A quarter of the titles list selling points after ASCII commas, so they get quoted. */
    int n_extras = rng_chance(r, 0.25) ? (int)rng_range(r, 1, 2) : 0;
    for (int i = 0; i < n_extras && n > 0 && (size_t)n < sizeof title; i++)
        n += snprintf(title + n, sizeof title - (size_t)n, ",%s", PICK(r, title_extras));

    if (strchr(title, ',') != NULL || strchr(title, '"') != NULL)
        put_quoted(w, title);
    else
        put_str(w, title);
}

/* Writes the price in cents, now and then as text with a currency sign. */
static void field_price(row *w, rng *r, gen_stats *stats, int64_t price_cents)
{
    if (!begin_field(w, r, stats))
        return;
    if (rng_chance(r, CURRENCY_RATE)) {
        /* U+00A5 YEN SIGN or U+FFE5 FULLWIDTH YEN SIGN; yuan prices are written with both. */
        put_str(w, rng_chance(r, 0.5) ? "\xC2\xA5" : "\xEF\xBF\xA5");
        stats->n_currency++;
    }
    put_fixed(w, price_cents, 2);
}

static void field_discount(row *w, rng *r, gen_stats *stats, int64_t rate_hundredths)
{
    static const char *const out_of_range[] = {"0", "0.00", "1.25", "-0.10", "85", "120"};

    if (!begin_field(w, r, stats))
        return;
    if (rng_chance(r, BAD_DISCOUNT_RATE)) {
        put_str(w, PICK(r, out_of_range));
        stats->n_bad_discount++;
        return;
    }
    put_fixed(w, rate_hundredths, 2);
}

static void field_promo_detail(row *w, rng *r, gen_stats *stats, enum promo_kind kind,
                               int64_t coupon_yuan, int64_t rate_hundredths)
{
    char text[32];

    if (!begin_field(w, r, stats))
        return;
    switch (kind) {
    case PROMO_THRESHOLD:
        snprintf(text, sizeof text, "满%lld减%lld", (long long)(coupon_yuan * 10),
                 (long long)coupon_yuan);
        break;
    case PROMO_PERCENT:
        if (rate_hundredths % 10 == 0)
            snprintf(text, sizeof text, "%lld折", (long long)(rate_hundredths / 10));
        else
            snprintf(text, sizeof text, "%lld.%lld折", (long long)(rate_hundredths / 10),
                     (long long)(rate_hundredths % 10));
        break;
    case PROMO_GIFT:
        snprintf(text, sizeof text, "%s", rng_chance(r, 0.5) ? "买一送一" : "赠品");
        break;
    case PROMO_FLASH:
        snprintf(text, sizeof text, "限时秒杀");
        break;
    case PROMO_SHIPPING:
        snprintf(text, sizeof text, "包邮");
        break;
    default:
        snprintf(text, sizeof text, "无");
        break;
    }
    put_str(w, text);
}

/* Builds one distinct order line. Amounts are consistent with each other (paid amount from
 * price, quantity, coupon and shipping) so a cleaner's range checks see realistic data. */
static void build_row(row *w, rng *r, gen_stats *stats, int64_t order_id)
{
    w->len = 0;
    w->overflowed = 0;

    int day = rng_chance(r, DOUBLE11_SHARE) ? SINGLES_DAY
                                            : FIRST_DAY + (int)rng_below(r, N_ORDER_DAYS);
    /* Singles' Day orders cluster in the first hour after midnight. */
    int64_t order_second = day == SINGLES_DAY && rng_chance(r, 0.4) ? rng_below(r, 3600)
                                                                    : rng_below(r, 86400);
    int64_t pay_delay_s = rng_skewed(r, 5, 1800);
    int ship_day = day + (int)rng_range(r, 0, 3);
    const category *cat = &PICK(r, categories);
    enum promo_kind kind = (enum promo_kind)rng_below(r, N_PROMO_KINDS);

    int64_t original_cents = rng_skewed(r, 990, 99900);
    int64_t rate_hundredths = kind == PROMO_PERCENT ? rng_range(r, 50, 95)
                              : kind == PROMO_FLASH ? rng_range(r, 40, 70)
                                                    : 100;
    int64_t price_cents = original_cents * rate_hundredths / 100;
    int64_t quantity = rng_chance(r, NEGATIVE_QTY_RATE) ? -rng_range(r, 1, 3)
                                                        : rng_skewed(r, 1, 6);
    int64_t coupon_yuan = kind == PROMO_THRESHOLD ? PICK(r, ((const int64_t[]){5, 10, 20, 30, 50}))
                                                  : 0;
    int64_t shipping_cents = kind == PROMO_SHIPPING || rng_chance(r, 0.7)
                                 ? 0
                                 : 100 * PICK(r, ((const int64_t[]){6, 8, 10, 12}));
    /* A threshold coupon (满X减Y, X = 10 Y) applies only when the subtotal reaches X. */
    int64_t coupon_applied_yuan = price_cents * quantity >= coupon_yuan * 1000 ? coupon_yuan : 0;
    int64_t paid_cents = price_cents * quantity - coupon_applied_yuan * 100 + shipping_cents;
    int64_t cost_cents = price_cents * rng_range(r, 40, 80) / 100;
    int64_t page_views = rng_skewed(r, 1, 200);

    /* The key column is never missing, so every distinct row stays distinct. */
    put_int(w, order_id);
    field_int(w, r, stats, rng_range(r, 1, 300000));
    field_int(w, r, stats, rng_range(r, 100000, 299999));
    field_int(w, r, stats, rng_range(r, 1, 5000));
    field_date(w, r, stats, day);
    field_datetime(w, r, stats, day, order_second);
    field_datetime(w, r, stats, day, order_second + pay_delay_s);
    field_date(w, r, stats, ship_day);
    field_str(w, r, stats, PICK(r, cities));
    field_str(w, r, stats, PICK(r, channels));
    field_str(w, r, stats, PICK(r, devices));
    field_str(w, r, stats, PICK(r, payments));
    field_str(w, r, stats, member_levels[rng_skewed(r, 0, 4)]);
    field_str(w, r, stats, cat->name);
    field_str(w, r, stats, promo_names[kind]);
    field_str(w, r, stats, PICK(r, logistics));
    field_promo_detail(w, r, stats, kind, coupon_yuan, rate_hundredths);
    field_title(w, r, stats, cat);
    field_price(w, r, stats, price_cents);
    field_fixed(w, r, stats, original_cents, 2);
    if (begin_field(w, r, stats)) {
        put_int(w, quantity);
        stats->n_negative_quantity += quantity < 0;
    }
    field_discount(w, r, stats, rate_hundredths);
    field_int(w, r, stats, coupon_applied_yuan);
    field_fixed(w, r, stats, shipping_cents, 2);
    field_fixed(w, r, stats, paid_cents, 2);
    field_fixed(w, r, stats, cost_cents, 2);
    field_fixed(w, r, stats, price_cents > 0 ? (price_cents - cost_cents) * 100 / price_cents : 0,
                2);
    field_fixed(w, r, stats, paid_cents * 6 / 100, 2);
    field_fixed(w, r, stats, rng_chance(r, 0.05) && paid_cents > 0 ? rng_range(r, 1, paid_cents)
                                                                   : 0,
                2);
    field_fixed(w, r, stats, rng_skewed(r, 5, 2000), 2);
    field_fixed(w, r, stats, 50 - rng_skewed(r, 0, 40), 1);
    field_int(w, r, stats, rng_skewed(r, 0, 50000));
    field_int(w, r, stats, page_views);
    field_int(w, r, stats, rng_range(r, 1, page_views));
    field_int(w, r, stats, rng_skewed(r, 0, 5));
    field_int(w, r, stats, rng_range(r, 0, 9999));
    field_int(w, r, stats, rng_range(r, 1, 7));
    field_int(w, r, stats, rng_chance(r, 0.8) ? 0 : 100 * rng_range(r, 1, 50));
    field_int(w, r, stats, rng_chance(r, 0.2));
    field_int(w, r, stats, rng_range(r, 16, 70));
    put_char(w, '\n');
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: gen_clean_csv [-n ROWS] [-s SEED] [-o PATH]\n"
            "Writes a %d-column CSV of synthetic orders for benchmarking `promo clean`.\n"
            "  -n ROWS  data rows to write, including duplicates (default 1000000)\n"
            "  -s SEED  random seed; the same seed and ROWS give the same file (default 1)\n"
            "  -o PATH  output file (default: standard output)\n",
            N_COLUMNS);
}

/* Parses a non-negative decimal integer option; returns 0 on success. */
static int parse_count(const char *text, const char *option, unsigned long long *out)
{
    char *end = NULL;

    errno = 0;
    *out = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-') {
        fprintf(stderr, "gen_clean_csv: invalid value '%s' for %s; expected a non-negative "
                        "integer\n", text, option);
        return -1;
    }
    return 0;
}

static int write_or_report(FILE *out, const char *path, const void *data, size_t n)
{
    if (fwrite(data, 1, n, out) == n)
        return 0;
    fprintf(stderr, "gen_clean_csv: cannot write %s: %s\n", path, strerror(errno));
    return -1;
}

/* Keeps the last DUPLICATE_POOL distinct rows, so a duplicate repeats a recent order. */
typedef struct row_pool {
    char (*text)[ROW_CAPACITY];
    size_t *len;
    size_t n_filled;
    size_t next;
} row_pool;

static int write_rows(FILE *out, const char *path, unsigned long long n_rows, uint64_t seed,
                      gen_stats *stats)
{
    rng r = {seed};
    row w;
    row_pool pool = {malloc(sizeof *pool.text * DUPLICATE_POOL),
                     malloc(sizeof *pool.len * DUPLICATE_POOL), 0, 0};
    int64_t next_order_id = 1000000001;
    int status = -1;

    if (pool.text == NULL || pool.len == NULL) {
        fprintf(stderr, "gen_clean_csv: out of memory\n");
        goto done;
    }

    for (int c = 0; c < N_COLUMNS; c++) {
        if (write_or_report(out, path, c > 0 ? "," : "", c > 0) != 0 ||
            write_or_report(out, path, header[c], strlen(header[c])) != 0)
            goto done;
    }
    if (write_or_report(out, path, "\n", 1) != 0)
        goto done;

    for (unsigned long long i = 0; i < n_rows; i++) {
        if (pool.n_filled > 0 && rng_chance(&r, DUPLICATE_RATE)) {
            size_t slot = (size_t)rng_below(&r, (int64_t)pool.n_filled);
            if (write_or_report(out, path, pool.text[slot], pool.len[slot]) != 0)
                goto done;
            stats->n_duplicates++;
            stats->n_rows++;
            continue;
        }

        build_row(&w, &r, stats, next_order_id++);
        if (w.overflowed) {
            fprintf(stderr, "gen_clean_csv: internal error: row %llu is longer than %d bytes\n",
                    i + 1, ROW_CAPACITY);
            goto done;
        }
        if (write_or_report(out, path, w.text, w.len) != 0)
            goto done;
        memcpy(pool.text[pool.next], w.text, w.len);
        pool.len[pool.next] = w.len;
        pool.next = (pool.next + 1) % DUPLICATE_POOL;
        if (pool.n_filled < DUPLICATE_POOL)
            pool.n_filled++;
        stats->n_rows++;
    }
    status = 0;

done:
    free(pool.text);
    free(pool.len);
    return status;
}

int main(int argc, char **argv)
{
    unsigned long long n_rows = 1000000;
    unsigned long long seed = 1;
    const char *path = NULL;
    FILE *out = stdout;
    gen_stats stats = {0};
    int opt;

    while ((opt = getopt(argc, argv, "n:s:o:h")) != -1) {
        switch (opt) {
        case 'n':
            if (parse_count(optarg, "-n", &n_rows) != 0)
                return 2;
            break;
        case 's':
            if (parse_count(optarg, "-s", &seed) != 0)
                return 2;
            break;
        case 'o':
            path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "gen_clean_csv: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    if (path != NULL) {
        out = fopen(path, "wb");
        if (out == NULL) {
            fprintf(stderr, "gen_clean_csv: cannot open %s for writing: %s\n", path,
                    strerror(errno));
            return 1;
        }
    }
    /* Larger stdio buffer: one write system call per MiB instead of per 4 KiB. */
    static char buffer[1 << 20];
    setvbuf(out, buffer, _IOFBF, sizeof buffer);

    fill_date_text();
    const char *name = path != NULL ? path : "standard output";
    int failed = write_rows(out, name, n_rows, (uint64_t)seed, &stats);
    if (fflush(out) != 0 || (path != NULL && fclose(out) != 0)) {
        if (!failed)
            fprintf(stderr, "gen_clean_csv: cannot write %s: %s\n", name, strerror(errno));
        failed = 1;
    }
    if (failed)
        return 1;

    fprintf(stderr,
            "gen_clean_csv: rows=%lld columns=%d duplicates=%lld missing_cells=%lld "
            "currency_prices=%lld negative_quantities=%lld bad_discounts=%lld seed=%llu\n",
            stats.n_rows, N_COLUMNS, stats.n_duplicates, stats.n_missing, stats.n_currency,
            stats.n_negative_quantity, stats.n_bad_discount, seed);
    return 0;
}
