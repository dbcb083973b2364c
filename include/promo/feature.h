/* Feature stage: turns cleaned table columns into model inputs. Sections: the promotion
 * text parser (offer), encoders and scalers, PCA, calendar and festival time features,
 * point-in-time behavior-log windows, and the fitted pipeline that combines them. */
#ifndef PROMO_FEATURE_H
#define PROMO_FEATURE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promo/core.h"
#include "promo/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== offer */

/* What one part of a promotion does. The numbers each kind uses are listed at
 * promo_offer_part. */
typedef enum promo_offer_kind {
  /* no promotion: "", none, 无, 无优惠, - */
  PROMO_OFFER_NONE = 0,
  /* 8折, 8.5折, 85折, 0.85, 85%, 15% off, 满200打8折 */
  PROMO_OFFER_PERCENT_OFF,
  /* 立减5元, 减5, $5 off, 直降10元, 5元券 */
  PROMO_OFFER_AMOUNT_OFF,
  /* 满200减30, 200:30, $30 off orders over $200, 满2件减10 */
  PROMO_OFFER_THRESHOLD_OFF,
  /* 每满100减10: the saving repeats for every step spent */
  PROMO_OFFER_REPEATED_OFF,
  /* 买一送一, 买2送1, 第二件半价, 2件8折, buy 2 get 1 free */
  PROMO_OFFER_MULTI_BUY,
  /* 赠品, 赠品:15, 送价值15元赠品, free gift, 满199送赠品 */
  PROMO_OFFER_GIFT,
  /* 包邮, 免运费, free shipping, 满99包邮 */
  PROMO_OFFER_FREE_SHIPPING,
  /* 限时秒杀, 秒杀, 限时2小时, 24h flash sale */
  PROMO_OFFER_FLASH_SALE,
  /* never a part's kind: what promo_offer_main_kind returns for a text of several parts */
  PROMO_OFFER_COMBINED,
  PROMO_OFFER_N_KINDS
} promo_offer_kind;

/* Bits of promo_offer_part.flags. */
enum {
  /* The number is a best case ("8折起", "低至5折", "up to 50% off"). */
  PROMO_OFFER_FLAG_UP_TO = 1u << 0,
  /* threshold counts items, not money (满2件减10, 满3件包邮). */
  PROMO_OFFER_FLAG_ITEM_THRESHOLD = 1u << 1,
  /* The text names a coupon: 券, coupon, or the coupon-log form "200:30". */
  PROMO_OFFER_FLAG_COUPON = 1u << 2
};

/* One promotion inside a text. Fields a kind does not use are 0, except rate, which is
 * 1 when not used. Money is in the text's currency, whatever symbol it used.
 *
 *   kind            threshold         amount            rate                  counts
 *   PERCENT_OFF     spend, or 0       -                 share paid (0.8)      -
 *   AMOUNT_OFF      -                 saved per item    -                     -
 *   THRESHOLD_OFF   spend or items    saved per order   -                     -
 *   REPEATED_OFF    spend per step    saved per step    -                     -
 *   MULTI_BUY       -                 -                 share paid by the     buy_count,
 *                                                       get_count items       get_count
 *   GIFT            spend, or 0       -                 -                     -   (gift_value)
 *   FREE_SHIPPING   spend, or 0       -                 -                     -
 *   FLASH_SALE      -                 -                 -                     -   (duration_hours)
 *
 * MULTI_BUY with get_count > 0 works on groups of buy_count + get_count items: the first
 * buy_count pay full price and the last get_count pay `rate` (0 for 买一送一, 0.5 for
 * 第二件半价). With get_count == 0 ("2件8折"), buying at least buy_count items makes every
 * item pay `rate`. */
typedef struct promo_offer_part {
  promo_offer_kind kind;
  double threshold;
  double amount;
  double rate;
  int32_t buy_count;
  int32_t get_count;
  double gift_value;     /* stated value of the gift; 0 when the text gives none */
  double duration_hours; /* length of a flash sale; 0 when the text gives none */
  uint32_t flags;        /* PROMO_OFFER_FLAG_* */
  uint32_t text_offset;  /* byte range of this part in the parsed text */
  uint32_t text_length;
} promo_offer_part;

/* At most this many parts in one text; a longer combination is rejected. */
#define PROMO_OFFER_MAX_PARTS 8

/* Texts longer than this many bytes are rejected; real offer texts are far shorter. */
#define PROMO_OFFER_MAX_TEXT 512

/* A parsed promotion text: its parts in the order written. No parts means no promotion.
 * It is a plain value in the caller's memory; nothing needs freeing. */
typedef struct promo_offer {
  size_t n_parts;
  promo_offer_part parts[PROMO_OFFER_MAX_PARTS];
} promo_offer;

/* Parse promotion text as teams write it into `offer`. `text` is UTF-8 of `len` bytes
 * (len < 0: NUL-terminated).
 *
 * The forms read are the Chinese and English ones listed at promo_offer_kind. Chinese
 * numerals (八五折, 买一送一, 第二件, 满一百减十) and full-width digits and punctuation
 * (８折, 满２００减３０, 200：30) are read too, as are currency signs and units (¥ ￥ $ € £
 * 元 块 RMB). Several parts may be joined by + ＋ , ， 、 ; ； & 及 or spaces, or written
 * back to back (满200减30包邮, 限时8折).
 *
 * Readings that writers of offer text may not expect:
 *   - A 折 number with a decimal point or one digit is tenths (8.5折 = 0.85); a two-digit
 *     whole number from 21 to 99 not ending in 0 is hundredths (85折 = 0.85).
 *   - A bare decimal (0.85) and a bare percentage (85%) are the share paid; "15% off",
 *     "-15%" and "减15%" are the share taken off.
 *   - "x:y" is the coupon-log form of 满x减y.
 *   - 限时 and 秒杀 before another offer add a FLASH_SALE part (限时8折 is two parts).
 *   - Thousands separators and exponents are not read: "$100 off $1,000" and "1e3折" are
 *     rejected.
 *   - Two parts that change the price in the same way are rejected (8折8折, 买一送一
 *     第二件半价), because such a pair is almost always a repeated entry or two
 *     alternatives. Allowed are tiers, which are parts of one kind with different
 *     thresholds (满200减30,满300减50; 满200打8折,满300打7折; 2件8折,3件7折), and a coupon
 *     beside a shop discount of the same kind (立减10元+5元券).
 *
 * Fillers such as 全场, 下单 and 优惠 are skipped, and 券 or "coupon" sets
 * PROMO_OFFER_FLAG_COUPON on the money parts.
 *
 * Errors are PROMO_ERR_DATA with a message that names the text and the reason. err->value
 * gets the text, and path, line and column are left for the caller to set. Rejected: forms
 * promo does not read, 0折, 10折 and 12折, rates outside (0, 1), a saving not below its
 * threshold (满100减200), negative, zero or overlong numbers, fractional item counts,
 * fixed prices (99元, 2件99元, 券后价99), Arabic and Chinese digits run together (8五折),
 * two parts of one kind as above, more than PROMO_OFFER_MAX_PARTS parts, texts over
 * PROMO_OFFER_MAX_TEXT bytes and invalid UTF-8. The message quotes the text once, with
 * control characters and invalid bytes escaped (\n, \xFF), and names the piece at fault.
 * On error `offer` contains no parts. */
promo_status promo_offer_parse(const char *text, ptrdiff_t len, promo_offer *offer,
                               promo_error *err);

/* Share of the list price paid, from 0 to 1, when `quantity` items of `unit_price` each
 * are bought in one order under `offer` (1 for no offer).
 *
 * Conventions:
 *   - Item-level parts apply first: PERCENT_OFF without a threshold multiplies each
 *     price, AMOUNT_OFF takes its amount off each item (never below 0), and MULTI_BUY
 *     discounts the get_count items of each complete group. MULTI_BUY parts with
 *     get_count 0 are tiers: the lowest rate among those whose buy_count is reached
 *     applies to every item.
 *   - Order-level parts then test their thresholds against that subtotal (or against
 *     quantity for PROMO_OFFER_FLAG_ITEM_THRESHOLD). THRESHOLD_OFF parts are tiers, so
 *     only the largest saving among the thresholds met applies, and PERCENT_OFF parts
 *     with a threshold are tiers too, so only the lowest rate met applies. Coupon parts
 *     (PROMO_OFFER_FLAG_COUPON) form tiers of their own, and their best tier applies on
 *     top of the shop's. REPEATED_OFF saves amount for every complete threshold step.
 *     Savings are subtracted first, then the percent-off tiers multiply.
 *   - GIFT, FREE_SHIPPING and FLASH_SALE do not change the price paid (1.0): a gift's
 *     value and shipping are not part of the list price, and 秒杀 alone gives no price.
 *   - PROMO_OFFER_FLAG_UP_TO rates are used as written, so the result is a best case.
 *
 * Examples: 满200减30 at 250 gives 0.88, at 150 gives 1.0; 每满100减10 at 250 gives 0.92;
 * 买一送一 gives 0.5 for quantity 2 and 1.0 for quantity 1; 2件8折,3件7折 gives 0.7 for
 * quantity 3.
 * Errors: PROMO_ERR_USAGE when unit_price is not a positive finite number or quantity
 * is below 1; *rate is then untouched. */
promo_status promo_offer_effective_rate(const promo_offer *offer, double unit_price,
                                        int64_t quantity, double *rate, promo_error *err);

/* PROMO_OFFER_NONE for no parts, the part's kind for one part, PROMO_OFFER_COMBINED
 * for several. */
promo_offer_kind promo_offer_main_kind(const promo_offer *offer);

/* Stable English keyword of a kind for JSON and CSV output: "none", "percent_off",
 * "amount_off", "threshold_off", "repeated_off", "multi_buy", "gift", "free_shipping",
 * "flash_sale", "combined". Not translated. */
const char *promo_offer_kind_name(promo_offer_kind kind);

/* ===================================================================== encoders */

/* What an encoder computes from one column. Numeric kinds read BOOL, INT, DECIMAL, DATE
 * (days) and DATETIME (seconds) columns. Categorical kinds read CATEGORICAL, TEXT, BOOL
 * and INT columns, and match levels by their text. */
typedef enum promo_encoder_kind {
  /* Not an encoding: what promo_encoder_suggest returns for a column it skips. */
  PROMO_ENCODER_NONE = 0,
  /* (x - mean) / std, population std (ddof 0); a constant column gives 0. */
  PROMO_ENCODER_STANDARDIZE,
  /* (x - min) / (max - min) with the training min and max, so later values outside the
   * training range fall outside [0, 1]. A constant column gives 0. */
  PROMO_ENCODER_MINMAX,
  /* (x - median) / (q75 - q25), linearly interpolated quantiles; an IQR of 0 scales by 1. */
  PROMO_ENCODER_ROBUST,
  /* Standardized log1p(x). Values <= -1 fail the fit and are clipped at transform time. */
  PROMO_ENCODER_LOG_STANDARDIZE,
  /* One output per kept level, then COL=__other__ for rare and unseen levels, then
   * COL=__missing__ when training had missing values. __other__ exists even when training
   * had no rare level, so unseen levels always have a column. A missing value goes to
   * __other__ when training had none. */
  PROMO_ENCODER_ONE_HOT,
  /* Level -> 1..K by training frequency for an embedding layer; 0 for unseen, rare or
   * missing values. */
  PROMO_ENCODER_INDEX,
  /* Share of training rows with the level; 0 for unseen levels. A missing value gets the
   * share of training rows that were missing. */
  PROMO_ENCODER_FREQUENCY,
  /* Smoothed mean target of the level, out-of-fold on training rows. Missing values form
   * a level of their own. An unseen level gets the training mean target. */
  PROMO_ENCODER_TARGET,
  PROMO_ENCODER_N_KINDS
} promo_encoder_kind;

/* Stable English keyword of a kind for JSON and the CLI: "none", "standardize", "minmax",
 * "robust", "log_standardize", "one_hot", "index", "frequency", "target". Not translated. */
const char *promo_encoder_kind_name(promo_encoder_kind kind);
/* Kind from its keyword; returns false for an unknown name. */
bool promo_encoder_kind_parse(const char *name, promo_encoder_kind *out);

/* True for the numeric scalers, false for the categorical encoders and NONE. */
bool promo_encoder_kind_is_numeric(promo_encoder_kind kind);

/* How a numeric scaler fills a missing value before scaling. The fill value is computed
 * over the non-missing training values, in the log1p domain for LOG_STANDARDIZE. The
 * scaling statistics also come from the non-missing values only, as in scikit-learn's
 * scalers given NaN, so imputed values do not shrink the spread. */
typedef enum promo_encoder_impute {
  /* MEDIAN for ROBUST, MEAN for the other scalers. */
  PROMO_ENCODER_IMPUTE_AUTO = 0,
  PROMO_ENCODER_IMPUTE_MEAN,
  PROMO_ENCODER_IMPUTE_MEDIAN,
  /* fill_value, given in the column's own units. */
  PROMO_ENCODER_IMPUTE_CONSTANT
} promo_encoder_impute;

/* Keywords "auto", "mean", "median", "constant". */
const char *promo_encoder_impute_name(promo_encoder_impute impute);
bool promo_encoder_impute_parse(const char *name, promo_encoder_impute *out);

typedef struct promo_encoder_options {
  promo_encoder_kind kind;
  /* Numeric scalers. */
  promo_encoder_impute impute;
  double fill_value; /* IMPUTE_CONSTANT only; must be > -1 for LOG_STANDARDIZE */
  /* Categorical encoders. A level seen in fewer than min_count training rows is rare and
   * is encoded like an unseen level. max_levels keeps at most that many of the most
   * frequent levels (0: no limit); the others are encoded as unseen too. */
  uint64_t min_count;
  size_t max_levels;
  /* TARGET only: the m of the m-estimate (sum + m * prior) / (count + m), the number of
   * folds (at least 2) and the seed that assigns training rows to folds. */
  double smoothing;
  size_t n_folds;
  uint64_t seed;
} promo_encoder_options;

/* Fill the defaults for a kind:
 *
 *   kind       min_count  max_levels  why
 *   ONE_HOT    10         64          a weight fitted on fewer than 10 rows is mostly
 *                                     noise, and rare spellings are often typos
 *   INDEX      5          0           an embedding row trained on fewer than 5 rows is
 *                                     noise; id columns need no cap
 *   FREQUENCY  1          0           every level's share is exact
 *   TARGET     1          0           smoothing already shrinks rare levels
 *
 * TARGET: smoothing 10 (a level with 10 training rows counts half its own mean and half
 * the prior), n_folds 5, seed 42. Scalers: impute AUTO, fill_value 0. */
void promo_encoder_options_init(promo_encoder_options *opt, promo_encoder_kind kind);

/* A fitted encoder: what it learned from the training rows of one column. It is opaque
 * and immutable after the fit, so threads may transform with one encoder at once. */
typedef struct promo_encoder promo_encoder;

/* Fit an encoder on column `column` of `table` over the table rows rows[0..n_rows). With
 * rows NULL it uses every row, and n_rows must equal table->n_rows.
 *
 * target holds the label of every table row, indexed like the values in rows. TARGET
 * needs it, with a finite value on every training row. The other kinds ignore it, so it
 * may be NULL. Non-finite DECIMAL values count as missing.
 *
 * Errors: PROMO_ERR_USAGE for a bad column or row index, an invalid option or kind, or a
 * column type the kind cannot read. PROMO_ERR_DATA when there is no training row, no
 * training row has a value (numeric kinds), a value is <= -1 for LOG_STANDARDIZE, there
 * are fewer rows than folds (TARGET), or a target is missing or not finite. err names the
 * column, and for a bad value also the value and its source line (table->lines).
 * ctx may be NULL; with debug logging on, each fit logs one line. On success *out owns
 * the encoder (free it with promo_encoder_free); on failure *out is NULL. */
promo_status promo_encoder_fit(const promo_table *table, size_t column, const size_t *rows,
                               size_t n_rows, const double *target,
                               const promo_encoder_options *opt, const promo_context *ctx,
                               promo_encoder **out, promo_error *err);

/* Fit like promo_encoder_fit and also write the training rows' outputs into X (see
 * promo_encoder_transform for the layout). For TARGET the outputs are out-of-fold: each
 * row is encoded with the statistics of the other folds only, so the model does not see
 * its own label through the feature. Use this, not promo_encoder_transform, to build the
 * training matrix whenever a TARGET encoder is involved. */
promo_status promo_encoder_fit_transform(const promo_table *table, size_t column,
                                         const size_t *rows, size_t n_rows, const double *target,
                                         const promo_encoder_options *opt, float *X, size_t ld,
                                         size_t offset, const promo_context *ctx,
                                         promo_encoder **out, promo_error *err);

/* What a transform met that the training rows did not prepare it for. */
typedef struct promo_encoder_counts {
  uint64_t n_imputed; /* missing values filled (numeric) */
  uint64_t n_clipped; /* values <= -1 raised to the training minimum (LOG_STANDARDIZE) */
  uint64_t n_other;   /* values of an unseen or rare level (categorical) */
} promo_encoder_counts;

/* Encode rows[0..n_rows) of `table` (rows NULL: every row, n_rows == table->n_rows) into
 * X, a row-major float matrix with ld floats per row: output j of the i-th row goes to
 * X[i * ld + offset + j], for j < promo_encoder_n_outputs(encoder). Nothing else in X is
 * touched, so several encoders can fill one matrix side by side.
 *
 * The column is found by the name it had in training. A categorical level is matched by
 * its text, so the table's dictionary codes need not match the training table's. A
 * TARGET encoder uses the full training statistics here, so calling it on the training
 * rows leaks their labels (see promo_encoder_fit_transform). counts may be NULL.
 * Errors (PROMO_ERR_DATA): the column is absent, or its type cannot be read by this
 * kind (text for a numeric scaler; DECIMAL, DATE or DATETIME for a categorical one). */
promo_status promo_encoder_transform(const promo_encoder *encoder, const promo_table *table,
                                     const size_t *rows, size_t n_rows, float *X, size_t ld,
                                     size_t offset, promo_encoder_counts *counts, promo_error *err);

/* Free an encoder. Accepts NULL. */
void promo_encoder_free(promo_encoder *encoder);

promo_encoder_kind promo_encoder_get_kind(const promo_encoder *encoder);
/* Name of the training column (owned by the encoder). */
const char *promo_encoder_column(const promo_encoder *encoder);
size_t promo_encoder_n_outputs(const promo_encoder *encoder);
/* Name of output j (owned by the encoder): "COL" for scalers, INDEX and their input,
 * "COL_missing" for a scaler's missing indicator, "COL=level", "COL=__other__" and
 * "COL=__missing__" for ONE_HOT, "COL_freq" for FREQUENCY, "COL_target" for TARGET.
 * NULL when j is out of range. */
const char *promo_encoder_output_name(const promo_encoder *encoder, size_t j);
/* Number of kept levels of a categorical encoder (K of INDEX, whose outputs are 0..K);
 * 0 for a numeric scaler. */
size_t promo_encoder_n_levels(const promo_encoder *encoder);
/* Text of kept level i (0-based; INDEX encodes it as i + 1), ordered by training count,
 * most frequent first, ties by byte order; NULL when i is out of range. */
const char *promo_encoder_level(const promo_encoder *encoder, size_t i);

/* Serialize everything the encoder learned. *out is a new JSON object owned by the
 * caller (json_decref). Fails with PROMO_ERR_NOMEM, or PROMO_ERR_DATA when a level is
 * not valid UTF-8 (levels read by the CSV reader always are). */
promo_status promo_encoder_to_json(const promo_encoder *encoder, json_t **out);

/* Rebuild an encoder from promo_encoder_to_json's object; its transform is bit-identical
 * to the original's. PROMO_ERR_DATA names the first field that is missing, of the wrong
 * type or out of range. */
promo_status promo_encoder_from_json(const json_t *json, promo_encoder **out, promo_error *err);

/* ===================================================================== many columns */

/* One column to encode and how. */
typedef struct promo_encoder_request {
  size_t column;
  promo_encoder_options options;
} promo_encoder_request;

/* Fit one encoder per request, in parallel over columns (ctx->n_threads; 0 uses
 * OpenMP's default). When X is not NULL, also write the training outputs like
 * promo_encoder_fit_transform, encoder k's outputs starting at column offset plus the
 * outputs of encoders 0..k-1. On failure every out[k] is NULL and err describes the
 * failing request with the lowest index. out has n_requests slots. */
promo_status promo_encoder_fit_all(const promo_table *table, const promo_encoder_request *requests,
                                   size_t n_requests, const size_t *rows, size_t n_rows,
                                   const double *target, float *X, size_t ld, size_t offset,
                                   const promo_context *ctx, promo_encoder **out, promo_error *err);

/* Transform with every encoder, outputs side by side from column `offset` in encoder
 * order, in parallel over blocks of rows. counts (NULL or n_encoders slots) gets each
 * encoder's counts; clipped values are also logged as a warning per encoder. */
promo_status promo_encoder_transform_all(const promo_encoder *const *encoders, size_t n_encoders,
                                         const promo_table *table, const size_t *rows,
                                         size_t n_rows, float *X, size_t ld, size_t offset,
                                         const promo_context *ctx, promo_encoder_counts *counts,
                                         promo_error *err);

/* ===================================================================== suggestions */

typedef struct promo_encoder_suggest_options {
  size_t max_one_hot_levels; /* more distinct values than this: high cardinality (64) */
  bool prefer_index;         /* high cardinality gets INDEX instead of FREQUENCY */
} promo_encoder_suggest_options;

void promo_encoder_suggest_options_init(promo_encoder_suggest_options *opt);

/* A proposed encoding for one column and the reason, for the CLI to print. */
typedef struct promo_encoder_suggestion {
  promo_encoder_kind kind; /* NONE when the column is skipped */
  uint64_t n_distinct;     /* distinct non-missing values in the rows looked at */
  uint64_t n_missing;
  char reason[160]; /* translated, e.g. "categorical with 12 levels" */
} promo_encoder_suggestion;

/* Propose an encoding for column `column` from its type and distinct count over rows
 * (NULL: every row, and n_rows is ignored). Numbers get STANDARDIZE. Categorical
 * strings, and integers named like an identifier (id, user_id, userId, 编号, 订单号), get
 * ONE_HOT up to max_one_hot_levels distinct values and FREQUENCY (or INDEX) above. TEXT,
 * DATE and DATETIME columns, constant columns and columns with no value are skipped
 * (NONE). Errors: PROMO_ERR_USAGE for a bad column or row index, PROMO_ERR_NOMEM. */
promo_status promo_encoder_suggest(const promo_table *table, size_t column, const size_t *rows,
                                   size_t n_rows, const promo_encoder_suggest_options *opt,
                                   promo_encoder_suggestion *out, promo_error *err);

/* ===================================================================== PCA */

/* A fitted PCA: the column means, the kept components and their explained variance. */
typedef struct promo_pca promo_pca;

/* How many components a fit keeps. With both fields 0 it keeps min(n_rows, n_features). */
typedef struct promo_pca_options {
  /* Number of components to keep, from 1 to min(n_rows, n_features), or 0 to select by
   * variance_share instead. */
  size_t n_components;
  /* Used when n_components is 0 and this is above 0: keep the smallest k whose cumulative
   * explained variance ratio is at least this share, in (0, 1]. A share of 1 keeps every
   * component. */
  double variance_share;
  /* [n_features] column names used in error messages, or NULL for "column <index>". The
   * fit does not keep the pointer. */
  const char *const *feature_names;
} promo_pca_options;

/* Fill options that keep every component. */
void promo_pca_options_init(promo_pca_options *opt);

/* Fit a PCA on X, [n_rows x n_features] float32, row-major with row_stride floats from one
 * row to the next (row_stride >= n_features, so X may be a column block of a wider
 * matrix).
 *
 * The fit centers each column in double precision and then decomposes either the
 * covariance X^T X / (n_rows - 1) with dsyevr (n_rows >= n_features) or the centered data
 * with dgesdd (fewer rows than columns). Components come sorted by explained variance,
 * largest first. Each component's sign makes its entry of largest magnitude positive
 * (the first such entry on ties), so refits on the same data give the same signs.
 * Constant columns are allowed. When every column is constant, the variance ratios are 0
 * and a variance_share request fails.
 *
 * Errors: PROMO_ERR_USAGE for n_rows < 2, n_features 0, row_stride < n_features, or a
 * component count above min(n_rows, n_features); PROMO_ERR_DATA naming the 1-based row
 * and the column when a value is NaN or infinite (err->column_name gets the column's
 * name when feature_names is given); PROMO_ERR_UNSUPPORTED for a row_stride above
 * INT_MAX, the BLAS index limit; PROMO_ERR_NOMEM; PROMO_ERR_CANCELLED; and
 * PROMO_ERR_INTERNAL if LAPACK fails to converge. ctx may be NULL. On success *out owns
 * the new object; free it with promo_pca_free. */
promo_status promo_pca_fit(const float *X, size_t n_rows, size_t n_features, size_t row_stride,
                           const promo_pca_options *opt, const promo_context *ctx,
                           promo_pca **out, promo_error *err);

/* Free a PCA. Accepts NULL. */
void promo_pca_free(promo_pca *pca);

size_t promo_pca_n_features(const promo_pca *pca);
size_t promo_pca_n_components(const promo_pca *pca);
/* Number of rows the PCA was fitted on (0 after promo_pca_from_json of a model that did
 * not record it). */
size_t promo_pca_n_rows_fit(const promo_pca *pca);

/* Learned arrays, owned by the PCA and valid until promo_pca_free.
 * mean: [n_features]. components: [n_components x n_features], row-major, one unit-length
 * component per row. explained_variance: [n_components], eigenvalues of the covariance
 * (divisor n_rows - 1), negative rounding noise clamped to 0. explained_variance_ratio:
 * [n_components], each variance over the total variance of all columns. */
const double *promo_pca_mean(const promo_pca *pca);
const double *promo_pca_components(const promo_pca *pca);
const double *promo_pca_explained_variance(const promo_pca *pca);
const double *promo_pca_explained_variance_ratio(const promo_pca *pca);

/* Write the name of output column j (0-based), "pca_<j + 1>", into buf. Returns the
 * length the full name needs, as snprintf does, so a return >= size means it was cut. */
size_t promo_pca_output_name(const promo_pca *pca, size_t j, char *buf, size_t size);

/* Project X, [n_rows x n_features] float32 with row_stride, onto the components:
 * (x - mean) @ components^T. Row i's n_components outputs go to
 * out[i * out_stride + out_offset ...], a column block of the caller's feature matrix.
 * Other columns of out are untouched. X and out must not overlap.
 *
 * Errors: PROMO_ERR_USAGE when row_stride < n_features or out_offset + n_components >
 * out_stride; PROMO_ERR_UNSUPPORTED for an out_stride above INT_MAX; PROMO_ERR_DATA
 * naming the 1-based row and column of the first NaN or infinite input, in which case
 * rows before its block of rows may already be written; PROMO_ERR_NOMEM. */
promo_status promo_pca_transform(const promo_pca *pca, const float *X, size_t n_rows,
                                 size_t row_stride, float *out, size_t out_stride,
                                 size_t out_offset, promo_error *err);

/* Serialize everything the transform needs as a JSON object (doubles are written with
 * 17 significant digits by jansson's default dump settings, so a dump and load with those
 * settings gives a bit-identical transform). On success *out is a new reference the
 * caller must json_decref. Errors: PROMO_ERR_NOMEM. */
promo_status promo_pca_to_json(const promo_pca *pca, json_t **out);

/* Rebuild a PCA from promo_pca_to_json's object. Errors: PROMO_ERR_DATA with a message
 * naming the missing or invalid key (wrong type, shape or a non-finite number);
 * PROMO_ERR_NOMEM. json stays owned by the caller. */
promo_status promo_pca_from_json(const json_t *json, promo_pca **out, promo_error *err);

/* ===================================================================== time features */

/* Feature bits. Outputs come in this order, one column each, named as shown:
 *   PROMO_TIMEFEAT_DOW      "day_of_week"   0 = Monday .. 6 = Sunday
 *   PROMO_TIMEFEAT_DOM      "day_of_month"  1 .. 31
 *   PROMO_TIMEFEAT_WEEK     "iso_week"      ISO 8601 week 1 .. 53 (2021-01-03 is in
 *                                           week 53 of 2020)
 *   PROMO_TIMEFEAT_MONTH    "month"         1 .. 12
 *   PROMO_TIMEFEAT_HOUR     "hour"          0 .. 23, DATETIME columns only
 *   PROMO_TIMEFEAT_WEEKEND  "is_weekend"    1 on Saturday and Sunday, else 0
 *   PROMO_TIMEFEAT_EVENTS   "days_to_<event>", "days_since_<event>" for every event,
 *                           built-in events first, then user events in the order added. */
enum {
  PROMO_TIMEFEAT_DOW = 1u << 0,
  PROMO_TIMEFEAT_DOM = 1u << 1,
  PROMO_TIMEFEAT_WEEK = 1u << 2,
  PROMO_TIMEFEAT_MONTH = 1u << 3,
  PROMO_TIMEFEAT_HOUR = 1u << 4,
  PROMO_TIMEFEAT_WEEKEND = 1u << 5,
  PROMO_TIMEFEAT_EVENTS = 1u << 6
};

/* Default cap on event distances, in days. */
#define PROMO_TIMEFEAT_DEFAULT_WINDOW 60
/* Largest accepted window: one year, beyond which every yearly event is in range. */
#define PROMO_TIMEFEAT_MAX_WINDOW 366
/* Maximum number of events (built-in and user, counted by name) in one object. Each
 * event adds two output columns. */
#define PROMO_TIMEFEAT_MAX_EVENTS 64
/* Maximum length of an event name, in bytes. */
#define PROMO_TIMEFEAT_MAX_NAME 64

typedef struct promo_timefeat_options {
  unsigned features;     /* PROMO_TIMEFEAT_* bits */
  /* Cap on event distances, 1 .. PROMO_TIMEFEAT_MAX_WINDOW days. An event further away
   * than this, or with no occurrence at all, reads as window_days, so far-off events look
   * alike and the column stays bounded for scaling. */
  int32_t window_days;
  /* Include the built-in calendar of one-day events: 元旦 new_year (Jan 1), 春节 cny (lunar
   * new year's day, from a table for 1900 to 2099), 618 (Jun 18), 国庆 national_day
   * (Oct 1), 双11 double11 (Nov 11) and 双12 double12 (Dec 12). */
  bool builtin_events;
} promo_timefeat_options;

/* Fill options for day of week, day of month, ISO week, month, weekend and events, with
 * the built-in calendar and a 60-day window. */
void promo_timefeat_options_init(promo_timefeat_options *opt);

/* Parse a comma-separated feature list into opt->features and opt->window_days, leaving
 * builtin_events alone. Tokens (spaces around them ignored): dow, dom, week, month, hour,
 * weekend, events, and window=DAYS. Example: "dow,month,events,window=30". Errors:
 * PROMO_ERR_USAGE for an empty list, an unknown token or a window outside
 * 1 .. PROMO_TIMEFEAT_MAX_WINDOW, with err->column at the token's 1-based byte position and
 * err->value holding the token. */
promo_status promo_timefeat_parse_spec(const char *spec, promo_timefeat_options *opt,
                                       promo_error *err);

/* The features of one DATE or DATETIME column. */
typedef struct promo_timefeat promo_timefeat;

/* Create the features of the table column named `column` (copied). opt NULL means the
 * defaults. Errors: PROMO_ERR_USAGE for an empty column name, no feature bit, unknown bits
 * or a window outside 1 .. PROMO_TIMEFEAT_MAX_WINDOW; PROMO_ERR_NOMEM. On success *out
 * owns the object; free it with promo_timefeat_free. */
promo_status promo_timefeat_create(const char *column, const promo_timefeat_options *opt,
                                   promo_timefeat **out, promo_error *err);

/* Free the object. Accepts NULL. */
void promo_timefeat_free(promo_timefeat *tf);

/* Add one occurrence of a user event, from first_day to last_day inclusive (days since
 * 1970-01-01). Occurrences with the same name form one event and may overlap. A user
 * calendar is taken as complete: a day with no listed occurrence within the window gets
 * the window value. For an event of several days, days_to counts to its first day and
 * days_since from its last, and both are 0 during the event.
 *
 * Names are 1 .. PROMO_TIMEFEAT_MAX_NAME bytes of UTF-8 without control characters or
 * surrounding spaces. Errors: PROMO_ERR_DATA for an invalid name, last_day before
 * first_day, or a name of a built-in event while builtin_events is on; PROMO_ERR_USAGE
 * past PROMO_TIMEFEAT_MAX_EVENTS events; PROMO_ERR_NOMEM. */
promo_status promo_timefeat_add_event(promo_timefeat *tf, const char *name, int32_t first_day,
                                      int32_t last_day, promo_error *err);

/* Read user events from a CSV file with a header naming the columns `name` and `date`
 * and optionally `end_date` (ASCII case ignored, other columns ignored), one occurrence a
 * row. Dates take every form promo_parse_date reads; an empty end_date means a one-day
 * event. Errors carry the path, line and column: PROMO_ERR_DATA for a missing column, an
 * empty name, an invalid date or an end_date before its date, plus the errors of
 * promo_csv_open, promo_csv_next and promo_timefeat_add_event. Events read before an
 * error stay added. */
promo_status promo_timefeat_load_events(promo_timefeat *tf, const char *path, promo_error *err);

/* Number of output columns: one per feature bit, plus two per event with
 * PROMO_TIMEFEAT_EVENTS. */
size_t promo_timefeat_n_outputs(const promo_timefeat *tf);

/* Write the name of output column i (0-based) into buf. Returns the length the full name
 * needs, as snprintf does (so a return >= size means it was cut), or 0 when i is out of
 * range. */
size_t promo_timefeat_output_name(const promo_timefeat *tf, size_t i, char *buf, size_t size);

/* Name of the source column, owned by the object. */
const char *promo_timefeat_column(const promo_timefeat *tf);

/* Compute the features of one value into out[0 .. n_outputs). value is days since
 * 1970-01-01 when is_datetime is false, seconds since 1970-01-01 00:00:00 (no time zone)
 * when true. Errors: PROMO_ERR_USAGE for the hour feature on a date or for events
 * requested with no event defined; PROMO_ERR_UNSUPPORTED for a day whose built-in event
 * distances would need 春节 dates outside 1900 .. 2099 (the window must fit inside
 * those years) or a datetime beyond the int32 day range. */
promo_status promo_timefeat_compute(const promo_timefeat *tf, int64_t value, bool is_datetime,
                                    float *out, promo_error *err);

/* Compute the features of every row of the table into out: row r's outputs go to
 * out[r * out_stride + out_offset ...]; other columns are untouched. The column must be
 * DATE or DATETIME. Errors, with err->line set to the row's source line and
 * err->column_name to the column: PROMO_ERR_USAGE when the column is missing, of another
 * type, or the outputs do not fit in out_stride; PROMO_ERR_DATA for a missing or invalid
 * cell (clean or drop those rows first); the errors of promo_timefeat_compute. Rows before
 * a failing row are already written. */
promo_status promo_timefeat_transform(const promo_timefeat *tf, const promo_table *table,
                                      float *out, size_t out_stride, size_t out_offset,
                                      promo_error *err);

/* Serialize the configuration and every user event occurrence (built-in events are
 * recorded by a flag, since their dates are part of the code). On success *out is a new
 * reference the caller must json_decref. Errors: PROMO_ERR_NOMEM. */
promo_status promo_timefeat_to_json(const promo_timefeat *tf, json_t **out);

/* Rebuild the object from promo_timefeat_to_json's output. Errors: PROMO_ERR_DATA naming
 * the missing or invalid key in err->column_name; the errors of promo_timefeat_create
 * and promo_timefeat_add_event; PROMO_ERR_NOMEM. */
promo_status promo_timefeat_from_json(const json_t *json, promo_timefeat **out,
                                      promo_error *err);

/* ===================================================================== window specs */

/* What a spec computes over the matching events in its window [t - window, t) before a
 * row's time t. */
typedef enum promo_window_aggregate {
  PROMO_WINDOW_COUNT = 0, /* number of events of `types` */
  PROMO_WINDOW_SUM,       /* sum of value_column over events of `types`; 0 when none */
  PROMO_WINDOW_MEAN,      /* mean of value_column over events of `types`; NaN when none */
  PROMO_WINDOW_RATE,      /* count of `types` / count of `base_types`; NaN when the
                             denominator is 0 */
  PROMO_WINDOW_RECENCY,   /* seconds from the latest event of `types` before t to t; NaN
                             when there is none (in the window, when it has one) */
  PROMO_WINDOW_N_AGGREGATES
} promo_window_aggregate;

#define PROMO_WINDOW_MAX_KEYS 2  /* key columns per spec (user, or user + item) */
#define PROMO_WINDOW_MAX_TYPES 8 /* event type values in one set */
#define PROMO_WINDOW_NAME_SIZE 128
#define PROMO_WINDOW_TYPE_SIZE 64

/* One window feature. A plain value: nothing to free. Column names are those of the
 * events table; promo_window_options maps them to differently named row columns.
 *
 * An empty type set (n_types or n_base_types 0) matches every event. window_s 0 means the
 * whole history before t. window_unit_s (1, 60, 3600, 86400 or 604800) is the unit the
 * window was written in and only affects the generated name and promo_window_spec_format;
 * 0 lets them choose the largest unit that divides the window. */
typedef struct promo_window_spec {
  promo_window_aggregate aggregate;
  size_t n_keys; /* 1 or 2; 0 after parsing a text without "@KEYS" */
  char keys[PROMO_WINDOW_MAX_KEYS][PROMO_WINDOW_NAME_SIZE];
  size_t n_types;
  char types[PROMO_WINDOW_MAX_TYPES][PROMO_WINDOW_TYPE_SIZE];
  size_t n_base_types; /* RATE only: the denominator's types */
  char base_types[PROMO_WINDOW_MAX_TYPES][PROMO_WINDOW_TYPE_SIZE];
  char value_column[PROMO_WINDOW_NAME_SIZE]; /* SUM and MEAN only */
  int64_t window_s;
  int64_t window_unit_s;
  char name[PROMO_WINDOW_NAME_SIZE]; /* output column name; "" for the generated one */
} promo_window_spec;

/* Parse a spec written as text, as in CLI flags and the project file:
 *
 *   [NAME=]count:TYPES:WINDOW[@KEYS]          count:view:7d@user_id
 *   [NAME=]sum:COLUMN:TYPES:WINDOW[@KEYS]     sum:amount:buy:30d@user_id
 *   [NAME=]mean:COLUMN:TYPES:WINDOW[@KEYS]    mean:amount:buy:30d
 *   [NAME=]rate:TYPES/TYPES:WINDOW[@KEYS]     rate:used/received:30d@merchant_id
 *   [NAME=]recency:TYPES[:WINDOW][@KEYS]      recency:buy@user_id (whole history)
 *
 *   TYPES  = "*" (every event) or TYPE{+TYPE}, as in view+cart; at most
 *            PROMO_WINDOW_MAX_TYPES values, compared with the event type column's text
 *   WINDOW = a positive whole number and a unit: s, min, h, d or w (7d, 24h, 90min), or
 *            "all" for the whole history
 *   KEYS   = COLUMN{+COLUMN}, one or two key columns of the events table
 *   NAME   = the output column name instead of the generated one
 *
 * Keywords and units ignore ASCII case, and spaces around each part are dropped. A type
 * or column name cannot contain ':', '+', '/', '@' or '=' in this form; the struct and
 * JSON forms take any text. Without "@KEYS", spec->n_keys is 0 and the caller fills the
 * keys before promo_window_create. Errors are PROMO_ERR_USAGE with a message that names the
 * text and the problem; err->value gets the text and err->column the 1-based byte
 * position of the problem in it. On error *spec is zeroed. */
promo_status promo_window_spec_parse(const char *text, promo_window_spec *spec, promo_error *err);

/* Write the spec's output column name into buf: spec->name when set, else one built from
 * keys, types, aggregate and window, as in user_id_view_count_7d,
 * user_id_buy_amount_sum_30d, merchant_id_used_per_received_rate_30d and
 * user_id_buy_recency (recency in seconds). Returns the length the full name needs, like
 * snprintf, so a result >= size means buf was too small. */
size_t promo_window_spec_name(const promo_window_spec *spec, char *buf, size_t size);

/* Write the spec as text in the grammar of promo_window_spec_parse (with "NAME=" only for
 * a custom name), for messages and logs. Returns the length the full text needs. */
size_t promo_window_spec_format(const promo_window_spec *spec, char *buf, size_t size);

/* ===================================================================== window sets */

/* Where the columns are. Strings are copied by promo_window_create. */
typedef struct promo_window_options {
  const char *event_time_column; /* DATE or DATETIME column of the events; required */
  const char *event_type_column; /* column the TYPES match; needed when a spec names types */
  const char *row_time_column;   /* DATE or DATETIME column of the rows; required */
  /* Row columns named differently from the event key columns: event_keys[i] is found in
   * the rows as row_keys[i]. Key columns not listed have the same name in both tables. */
  size_t n_key_renames;
  const char *const *event_keys;
  const char *const *row_keys;
} promo_window_options;

/* Fill options with no columns named and no renames. */
void promo_window_options_init(promo_window_options *opt);

/* A validated list of specs with the column names they read. */
typedef struct promo_window promo_window;

/* Check and copy the specs and options into *out, which the caller frees with
 * promo_window_free. Errors (PROMO_ERR_USAGE): no specs, a spec without keys, types or a
 * value column where its aggregate needs them, a negative window, two specs with the same
 * output name, a generated name too long (give NAME=), a missing time column option, or
 * more than 32 distinct type sets (each set needs a bit of a per-event mask). */
promo_status promo_window_create(const promo_window_spec *specs, size_t n_specs,
                                 const promo_window_options *opt, promo_window **out,
                                 promo_error *err);

void promo_window_free(promo_window *window);

size_t promo_window_n_specs(const promo_window *window);

/* The i-th spec (i < promo_window_n_specs), owned by the window. */
const promo_window_spec *promo_window_spec_at(const promo_window *window, size_t i);

/* Counts from one promo_window_compute call, for logs and benchmarks. Specs with
 * different key columns sort separately, so the event and row counts are sums over the
 * distinct key column lists, and one event or row can count once per list. */
typedef struct promo_window_stats {
  size_t n_events_used;    /* events sorted into some key's history */
  size_t n_events_skipped; /* events with a missing key or time: in no window */
  size_t n_types_missing;  /* events with a missing type: only "*" sets match them */
  size_t n_values_missing; /* events left out of a sum or mean for a missing value */
  size_t n_rows_missing;   /* rows with a missing key or time: features NaN */
  size_t n_rows_unmatched; /* rows whose key no event has: empty windows */
  double sort_ms;          /* checks, key mapping, sorting and gathering */
  double window_ms;        /* sliding-window pass */
} promo_window_stats;

/* Compute every spec for every row of `rows` from the events in `events`.
 *
 * out is [rows->n_rows x out_stride] floats, row-major in the rows' order; spec s of row
 * r goes to out[r * out_stride + s] and other cells are left alone, so the features can
 * go straight into a wider matrix. out_stride must be at least the number of specs.
 *
 * Semantics: the features of a row with key K and time t are computed from the events
 * with key K and time in [t - window, t), or before t for window 0. An event exactly at t
 * is excluded, and one exactly window seconds before t is included. DATE columns count as
 * midnight (days * 86400 seconds), so a DATE row gets only events before its day starts.
 * Keys match by value across the tables: string columns by their exact text (untrimmed, case
 * sensitive), integer columns by value, and a string key against an integer key when the
 * text parses as that integer (promo_parse_int). Key columns may be BOOL, INT, DATE,
 * DATETIME, CATEGORICAL or TEXT; value columns INT, BOOL or DECIMAL; the type column
 * CATEGORICAL, TEXT, INT or BOOL (spec types are then parsed as such).
 *
 * Missing data: events with a missing key or time are in no window, and an event with a
 * missing type only matches "*" sets. An event with a missing value still counts for
 * COUNT, RATE and RECENCY but is left out of SUM and MEAN. Rows with a missing key or
 * time get NaN in the features of that key. Each case is counted in *stats (may be NULL)
 * and logged once through ctx, as a warning except for rows with unknown keys (info). A
 * spec type that no event has is logged as a warning too.
 *
 * Each row's features depend only on the events and that row (sums run from the start of
 * the key's history), so they are the same for any thread count (ctx->n_threads, 0 for
 * OpenMP's default) and any other rows in the table. Time is linear in events and rows:
 * each set of key columns costs a few radix and counting-sort passes and one sweep per
 * window. Working memory is 4 bytes per event plus about 50 bytes per event whose key
 * some row has (measured with one summed value column).
 *
 * events_path and rows_path name the tables in errors (err->path); either may be NULL.
 * Errors: PROMO_ERR_USAGE for a column the window names that a table lacks, with
 * err->column_name set, or out_stride below the spec count;
 * PROMO_ERR_DATA for a column of the wrong type; PROMO_ERR_UNSUPPORTED for 2^32 or more
 * events or rows; PROMO_ERR_NOMEM; PROMO_ERR_CANCELLED when ctx's cancel flag is raised.
 * On error the contents of out are unspecified. */
promo_status promo_window_compute(const promo_window *window, const promo_table *events,
                                  const char *events_path, const promo_table *rows,
                                  const char *rows_path, const promo_context *ctx, float *out,
                                  size_t out_stride, promo_window_stats *stats, promo_error *err);

/* Store the specs and column options in a new JSON object (*out, owned by the caller):
 * {"event_time_column", "event_type_column" (or null), "row_time_column",
 *  "key_renames": [{"event", "row"}], "specs": [{"name", "aggregate", "keys", "types",
 *  "base_types", "value_column", "window"}]}, where "window" is text such as "7d" or
 * "all" and "name" is null for a generated name. Returns PROMO_ERR_NOMEM on failure. */
promo_status promo_window_to_json(const promo_window *window, json_t **out);

/* Rebuild a window from promo_window_to_json's object into *out (caller frees). Errors
 * are PROMO_ERR_DATA naming the member that is missing or has the wrong type, and the
 * errors of promo_window_create. */
promo_status promo_window_from_json(const json_t *json, promo_window **out, promo_error *err);

/* ===================================================================== pipeline */

/* A transform the user chose for one column. `transform` is one of: the encoder keywords
 * standardize, minmax, robust, log1p, onehot, index, frequency, target; offer (promotion
 * text to numbers); time or time:SPEC (see promo_timefeat_parse_spec); pca (scaled, then
 * projected with the other pca columns); skip. */
typedef struct promo_pipeline_rule {
  const char *column;
  const char *transform;
} promo_pipeline_rule;

typedef struct promo_pipeline_options {
  const char *target;                  /* label column, never a feature; may be NULL */
  const char *const *ignore;           /* columns that are not features (ids, free text) */
  size_t n_ignore;
  const promo_pipeline_rule *rules;
  size_t n_rules;
  bool infer_others;                   /* columns without a rule get a suggested transform */
  const char *time_spec;               /* time features of inferred date columns */
  const char *calendar_path;           /* CSV of extra events (name,date[,end_date]) */
  const char *price_column;            /* unit price for the offers' effective rate */
  bool reject_bad_offers;              /* mark rows with unparsed offers as rejected,
                                          instead of the COL_unknown flag */
  size_t pca_components;               /* 0: choose by pca_variance */
  double pca_variance;                 /* share of variance the PCA keeps */
  const char *const *window_specs;     /* texts for promo_window_spec_parse */
  size_t n_window_specs;
  promo_window_options window;         /* event and row column names for the windows */
  promo_encoder_suggest_options suggest;
} promo_pipeline_options;

/* Defaults: infer every column, time features dow,dom,month,weekend,events, flag bad
 * offers, PCA keeping 95% of the variance. */
void promo_pipeline_options_init(promo_pipeline_options *opt);

typedef struct promo_pipeline promo_pipeline;

/* A feature matrix: [n_rows x n_columns] float32, row-major. rejected is NULL, or
 * [n_rows] with 1 for rows a reject rule marked (their features are still computed). */
typedef struct promo_matrix {
  float *X;
  size_t n_rows;
  size_t n_columns;
  uint8_t *rejected;
  uint64_t n_rejected;
} promo_matrix;

/* Free the matrix's arrays and zero it. */
void promo_matrix_clear(promo_matrix *m);

/* The tables a pipeline reads, with the paths that name them in error messages (either
 * path may be NULL). events may be NULL when the pipeline has no window features. */
typedef struct promo_pipeline_data {
  const promo_table *rows;
  const char *rows_path;
  const promo_table *events;
  const char *events_path;
} promo_pipeline_data;

/* Fit the pipeline on every row of data->rows and return the training matrix in
 * *out_matrix. data->events is the behavior log the windows read.
 * Target encoders see out-of-fold statistics in the training matrix. Errors name the
 * column and rule involved: PROMO_ERR_USAGE for a rule or option that cannot apply (an
 * unknown column or transform, a target that is not a number), PROMO_ERR_DATA for values
 * a transform cannot take (a negative value for log1p, an unparsed offer with
 * reject_bad_offers false is not an error). */
promo_status promo_pipeline_fit_transform(const promo_pipeline_data *data,
                                          const promo_pipeline_options *opt,
                                          const promo_context *ctx, promo_pipeline **out,
                                          promo_matrix *out_matrix, promo_error *err);

/* Apply a fitted pipeline to new rows. The table needs every input column the pipeline
 * was fitted on (found by name, extra columns are ignored); unseen categories go to the
 * encoders' "other" level. Errors: PROMO_ERR_DATA for a missing column or a column whose
 * type changed so that it cannot be read. */
promo_status promo_pipeline_transform(const promo_pipeline *pipeline,
                                      const promo_pipeline_data *data, const promo_context *ctx,
                                      promo_matrix *out_matrix, promo_error *err);

void promo_pipeline_free(promo_pipeline *pipeline);

size_t promo_pipeline_n_outputs(const promo_pipeline *pipeline);
/* Output column j's name, and where it comes from ("price: standardize"). Owned by the
 * pipeline. */
const char *promo_pipeline_output_name(const promo_pipeline *pipeline, size_t j);
const char *promo_pipeline_output_source(const promo_pipeline *pipeline, size_t j);

/* For an output written by an index encoder (--transform COL=index), the largest index K
 * (values are 0 .. K, 0 for unseen or rare levels), so a network can feed it to an
 * embedding; 0 for every other output. */
size_t promo_pipeline_output_index_levels(const promo_pipeline *pipeline, size_t j);

/* The input columns and the types they had in training, for loading new data the same
 * way (promo_load_options). Owned by the pipeline. */
size_t promo_pipeline_n_inputs(const promo_pipeline *pipeline);
const char *promo_pipeline_input_name(const promo_pipeline *pipeline, size_t i);
promo_type promo_pipeline_input_type(const promo_pipeline *pipeline, size_t i);
const char *const *promo_pipeline_input_names(const promo_pipeline *pipeline);
const promo_type *promo_pipeline_input_types(const promo_pipeline *pipeline);

/* One line per column decision of the last fit, translated, e.g. "city: one-hot
 * (categorical with 12 levels)". Owned by the pipeline. */
size_t promo_pipeline_n_decisions(const promo_pipeline *pipeline);
const char *promo_pipeline_decision(const promo_pipeline *pipeline, size_t i);

/* Serialize everything the pipeline learned into a new JSON object (caller's reference).
 * Fails only with PROMO_ERR_NOMEM. */
promo_status promo_pipeline_to_json(const promo_pipeline *pipeline, json_t **out);
/* Rebuild a pipeline whose transform is bit-identical to the original's. PROMO_ERR_DATA
 * names the member that is missing or malformed. */
promo_status promo_pipeline_from_json(const json_t *json, promo_pipeline **out,
                                      promo_error *err);

/* ===================================================================== derived columns */

/* A compiled arithmetic expression over table columns, for columns a project derives
 * instead of storing them: `exp(logmove)`, `pick(brand, price1, price2, price3)`.
 *
 * Syntax, loosest binding first:
 *   a < b, a <= b, a > b, a >= b, a == b, a != b   1 when true, 0 when false; a chain
 *                                                  such as a < b < c is rejected
 *   a + b, a - b                                   left to right
 *   a * b, a / b                                   left to right
 *   -a                                             unary minus
 *   a ^ b                                          power, right to left: -2^2 is -4
 * Operands are numbers (12, 0.5, .5, 1e-3), column names (bare ASCII identifiers
 * [A-Za-z_][A-Za-z0-9_]*, or any name in backticks: `unit price`, `单价`, with a
 * backtick inside written twice), parenthesized expressions and function calls:
 *   exp log log1p expm1 sqrt abs floor ceil   one argument
 *   round(x)                                  nearest integer, halves away from zero
 *   min(a, b, ...) max(a, b, ...)             two or more arguments
 *   if(cond, a, b)                            a when cond is non-zero, else b
 *   pick(i, a1, ..., an)                      the i-th of a1..an (1-based)
 * A name followed by '(' is a function call; otherwise it is a column, so a column may be
 * called `log`.
 *
 * Evaluation is per row and in double precision. Integer, boolean, date (days since
 * 1970-01-01) and datetime (seconds) columns read as numbers; categorical and text columns
 * are rejected when binding. A row's result is missing when
 *   - an input it needs is missing: if() and pick() evaluate only the argument they
 *     choose, so a missing value in another argument does not matter;
 *   - a function is outside its domain: log or sqrt of a negative number, log of 0,
 *     log1p of -1 or less, division by 0, 0 to a negative power, a negative number to a
 *     fractional power, a pick() index that is not a whole number from 1 to n;
 *   - a value overflows to infinity, also in an intermediate step (exp(1000)).
 * Each cause is counted in promo_expr_stats. */
typedef struct promo_expr promo_expr;

/* Why rows of an evaluation came out missing. */
typedef struct promo_expr_stats {
  uint64_t n_rows;           /* rows evaluated */
  uint64_t n_missing_input;  /* missing because an input they needed was missing */
  uint64_t n_domain;         /* missing because a function was outside its domain */
  uint64_t n_overflow;       /* missing because a value overflowed */
  int64_t first_domain_row;  /* 0-based row of the first domain error, -1 if none */
  const char *first_domain_op; /* its operator or function ("log", "/"), static; NULL if none */
} promo_expr_stats;

/* Compile an expression. Errors are PROMO_ERR_USAGE (syntax: err->column is the 1-based
 * character position in `text`, counting UTF-8 characters, and the message says what was
 * expected and what was found) and PROMO_ERR_NOMEM. The text is copied. */
promo_status promo_expr_parse(const char *text, promo_expr **out, promo_error *err);

void promo_expr_free(promo_expr *expr);

/* The expression's text as given to promo_expr_parse. Owned by the expression. */
const char *promo_expr_text(const promo_expr *expr);

/* The distinct column names the expression reads, in order of first use. Owned by the
 * expression. */
size_t promo_expr_n_columns(const promo_expr *expr);
const char *promo_expr_column_name(const promo_expr *expr, size_t i);

/* Resolve the column names against a table's header. A name not in the table is
 * PROMO_ERR_USAGE with err->column_name set and the closest column names listed; a
 * categorical or text column is PROMO_ERR_USAGE too. The expression keeps column indices
 * only, so it can be bound again to another table with the same columns (test rows after
 * training rows). */
promo_status promo_expr_bind(promo_expr *expr, const promo_table *table, promo_error *err);

/* Evaluate the bound expression on every row of `table`, which must have the header it
 * was bound to: out[r] is the value of row r, and is_missing[r] is 1 where the result is
 * missing (out[r] is then 0). out and is_missing have table->n_rows elements. stats (may
 * be NULL) is overwritten. Errors: PROMO_ERR_USAGE for an unbound expression or a table
 * with fewer columns than it was bound to. */
promo_status promo_expr_eval(const promo_expr *expr, const promo_table *table, double *out,
                             uint8_t *is_missing, promo_expr_stats *stats, promo_error *err);

/* Parse `text`, bind it to `table` and append the result as a new DECIMAL column `name`
 * (see promo_table_add_column). Rows whose result is missing are missing in the new
 * column, and a warning through ctx (may be NULL) gives their count by cause. A name
 * that is already a column is PROMO_ERR_USAGE, so a derived column never replaces data
 * silently. stats (may be NULL) receives the counts. On failure the table is unchanged. */
promo_status promo_table_derive(promo_table *table, const char *name, const char *text,
                                const promo_context *ctx, promo_expr_stats *stats,
                                promo_error *err);

#ifdef __cplusplus
}
#endif
#endif
