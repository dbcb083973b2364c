/* Derived columns of the feature stage: a small arithmetic expression language over table
 * columns (recursive-descent parser, tree evaluator) and promo_table_derive, which appends
 * an expression's values to a table as a new column. The syntax is in promo/feature.h. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "promo/feature.h"

/* Deepest tree the parser builds. It bounds the recursion of both parsing and evaluation,
 * also for long left-to-right chains such as 1+1+...+1. */
enum { MAX_DEPTH = 256 };

typedef enum node_kind {
  NODE_NUMBER,
  NODE_COLUMN,
  NODE_NEG,
  NODE_ADD,
  NODE_SUB,
  NODE_MUL,
  NODE_DIV,
  NODE_POW,
  NODE_LT,
  NODE_LE,
  NODE_GT,
  NODE_GE,
  NODE_EQ,
  NODE_NE,
  NODE_CALL
} node_kind;

typedef enum func_id {
  FUNC_EXP,
  FUNC_LOG,
  FUNC_LOG1P,
  FUNC_EXPM1,
  FUNC_SQRT,
  FUNC_ABS,
  FUNC_MIN,
  FUNC_MAX,
  FUNC_ROUND,
  FUNC_FLOOR,
  FUNC_CEIL,
  FUNC_IF,
  FUNC_PICK
} func_id;

typedef struct func_info {
  const char *name;
  size_t min_args, max_args; /* max_args 0: no upper limit */
} func_info;

/* Indexed by func_id. */
static const func_info kFunctions[] = {
    {"exp", 1, 1},   {"log", 1, 1},   {"log1p", 1, 1}, {"expm1", 1, 1}, {"sqrt", 1, 1},
    {"abs", 1, 1},   {"min", 2, 0},   {"max", 2, 0},   {"round", 1, 1}, {"floor", 1, 1},
    {"ceil", 1, 1},  {"if", 3, 3},    {"pick", 2, 0},
};
enum { N_FUNCTIONS = sizeof kFunctions / sizeof kFunctions[0] };

typedef struct node {
  node_kind kind;
  func_id func;       /* NODE_CALL */
  double number;      /* NODE_NUMBER */
  size_t column;      /* NODE_COLUMN: index into expr->names */
  size_t left, right; /* operands of NEG (left only) and the binary operators */
  size_t first_arg;   /* NODE_CALL: args[first_arg .. first_arg + n_args) */
  size_t n_args;
  int depth;          /* 1 for a leaf */
} node;

struct promo_expr {
  char *text;
  node *nodes; /* [n_nodes] */
  size_t n_nodes, nodes_capacity;
  size_t *args; /* [n_args] node indices of call arguments */
  size_t n_args, args_capacity;
  size_t root;
  char **names;           /* [n_names] distinct column names, in order of first use */
  size_t *table_columns;  /* [n_names] column indices once bound */
  size_t n_names, names_capacity;
  bool is_bound;
  size_t bound_n_columns; /* columns of the table it was bound to */
};

/* ===================================================================== tokens */

typedef enum token_kind {
  TOKEN_END,
  TOKEN_NUMBER,
  TOKEN_NAME,   /* bare identifier */
  TOKEN_QUOTED, /* `name in backticks` */
  TOKEN_LPAREN,
  TOKEN_RPAREN,
  TOKEN_COMMA,
  TOKEN_PLUS,
  TOKEN_MINUS,
  TOKEN_STAR,
  TOKEN_SLASH,
  TOKEN_CARET,
  TOKEN_LT,
  TOKEN_LE,
  TOKEN_GT,
  TOKEN_GE,
  TOKEN_EQ,
  TOKEN_NE
} token_kind;

typedef struct token {
  token_kind kind;
  size_t start, end; /* byte range in the text, backticks included */
  double number;
} token;

typedef struct parser {
  promo_expr *expr;
  const char *text;
  size_t len;
  size_t pos; /* byte offset of the next unread character */
  token tok;  /* current token */
  int nesting;
  promo_error *err;
  promo_status status; /* first error; the parser stops at it */
} parser;

static bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

/* Messages quote at most this many bytes of an expression, cut at a UTF-8 character
 * boundary and followed by "..." when cut. */
enum { QUOTED_BYTES = 60 };

static int quoted_length(const char *text) {
  size_t n = strlen(text);
  if (n <= QUOTED_BYTES) return (int)n;
  n = QUOTED_BYTES;
  while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) n--;
  return (int)n;
}

static const char *quoted_tail(const char *text) {
  return strlen(text) > QUOTED_BYTES ? "..." : "";
}

/* 1-based character position of a byte offset, counting UTF-8 characters. */
static int64_t char_position(const char *text, size_t offset) {
  int64_t position = 1;
  for (size_t i = 0; i < offset; i++)
    if (((unsigned char)text[i] & 0xC0) != 0x80) position++;
  return position;
}

/* Record a syntax error at byte offset `at`, prefixed with the expression and the
 * character position. Keeps the first error only. */
static void syntax_error(parser *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void syntax_error(parser *p, size_t at, const char *fmt, ...) {
  if (p->status != PROMO_OK) return;
  p->status = PROMO_ERR_USAGE;
  if (p->err == NULL) return;

  char detail[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  int64_t position = char_position(p->text, at);
  promo_error_value(p->err, p->text, -1);
  p->err->column = position;
  promo_error_set(p->err, PROMO_ERR_USAGE, _("invalid expression '%.*s%s', character %" PRId64 ": %s"),
                  quoted_length(p->text), p->text, quoted_tail(p->text), position, detail);
}

/* A short, quoted description of the current token for messages. */
static void describe_token(const parser *p, char *buf, size_t size) {
  if (p->tok.kind == TOKEN_END) {
    snprintf(buf, size, "%s", _("the end of the expression"));
    return;
  }
  size_t n = p->tok.end - p->tok.start;
  if (n > 40) n = 40;
  snprintf(buf, size, "'%.*s'", (int)n, p->text + p->tok.start);
}

static void scan_number(parser *p) {
  const char *s = p->text;
  size_t i = p->pos;
  while (i < p->len && is_digit(s[i])) i++;
  if (i < p->len && s[i] == '.') {
    i++;
    while (i < p->len && is_digit(s[i])) i++;
  }
  /* An exponent only when digits follow, so "2e" stays a number then a name (an error). */
  if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < p->len && (s[j] == '+' || s[j] == '-')) j++;
    if (j < p->len && is_digit(s[j])) {
      while (j < p->len && is_digit(s[j])) j++;
      i = j;
    }
  }
  p->tok.kind = TOKEN_NUMBER;
  p->tok.end = i;
  double value = 0;
  if (!promo_parse_decimal(s + p->tok.start, i - p->tok.start, &value, NULL) || !isfinite(value))
    syntax_error(p, p->tok.start, _("number '%.*s' is out of range"), (int)(i - p->tok.start),
                 s + p->tok.start);
  p->tok.number = value;
}

static void scan_quoted(parser *p) {
  size_t i = p->pos + 1;
  for (;;) {
    if (i >= p->len) {
      syntax_error(p, p->tok.start,
                   _("the column name in backticks has no closing backtick; write `name`"));
      p->tok.kind = TOKEN_END;
      return;
    }
    if (p->text[i] == '`') {
      if (i + 1 < p->len && p->text[i + 1] == '`') { /* a doubled backtick is one backtick */
        i += 2;
        continue;
      }
      break;
    }
    i++;
  }
  p->tok.kind = TOKEN_QUOTED;
  p->tok.end = i + 1;
  if (i == p->tok.start + 1) syntax_error(p, p->tok.start, _("the column name in backticks is empty"));
}

/* One- and two-character operators; false when the character starts no token. */
static bool scan_operator(parser *p) {
  char c = p->text[p->pos];
  char next = p->pos + 1 < p->len ? p->text[p->pos + 1] : '\0';
  size_t width = 1;
  switch (c) {
    case '(': p->tok.kind = TOKEN_LPAREN; break;
    case ')': p->tok.kind = TOKEN_RPAREN; break;
    case ',': p->tok.kind = TOKEN_COMMA; break;
    case '+': p->tok.kind = TOKEN_PLUS; break;
    case '-': p->tok.kind = TOKEN_MINUS; break;
    case '*': p->tok.kind = TOKEN_STAR; break;
    case '/': p->tok.kind = TOKEN_SLASH; break;
    case '^': p->tok.kind = TOKEN_CARET; break;
    case '<':
      p->tok.kind = next == '=' ? TOKEN_LE : TOKEN_LT;
      width = next == '=' ? 2 : 1;
      break;
    case '>':
      p->tok.kind = next == '=' ? TOKEN_GE : TOKEN_GT;
      width = next == '=' ? 2 : 1;
      break;
    case '=':
      if (next != '=') {
        syntax_error(p, p->pos, _("found '=', but equality is written '=='"));
        return true;
      }
      p->tok.kind = TOKEN_EQ;
      width = 2;
      break;
    case '!':
      if (next != '=') {
        syntax_error(p, p->pos, _("found '!', but 'not equal' is written '!='"));
        return true;
      }
      p->tok.kind = TOKEN_NE;
      width = 2;
      break;
    default: return false;
  }
  p->tok.end = p->pos + width;
  return true;
}

/* Read the next token into p->tok. After an error the token is TOKEN_END. */
static void next_token(parser *p) {
  const char *s = p->text;
  while (p->pos < p->len && (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' ||
                             s[p->pos] == '\r'))
    p->pos++;
  p->tok.start = p->tok.end = p->pos;
  p->tok.kind = TOKEN_END;
  if (p->status != PROMO_OK || p->pos >= p->len) return;

  char c = s[p->pos];
  if (is_digit(c) || (c == '.' && p->pos + 1 < p->len && is_digit(s[p->pos + 1]))) {
    scan_number(p);
  } else if (is_name_start(c)) {
    size_t i = p->pos;
    while (i < p->len && is_name_char(s[i])) i++;
    p->tok.kind = TOKEN_NAME;
    p->tok.end = i;
  } else if (c == '`') {
    scan_quoted(p);
  } else if (!scan_operator(p)) {
    /* Show the whole UTF-8 character, not its first byte. */
    size_t n = 1;
    while (p->pos + n < p->len && ((unsigned char)s[p->pos + n] & 0xC0) == 0x80 && n < 4) n++;
    if ((unsigned char)c >= 0x80)
      syntax_error(p, p->pos,
                   _("unexpected character '%.*s'; write column names with spaces or non-ASCII "
                     "characters in backticks, as in `unit price`"),
                   (int)n, s + p->pos);
    else
      syntax_error(p, p->pos, _("unexpected character '%.*s'"), (int)n, s + p->pos);
  }
  if (p->status != PROMO_OK) {
    p->tok.kind = TOKEN_END;
    return;
  }
  p->pos = p->tok.end;
}

/* ===================================================================== tree building */

static bool grow(void **array, size_t *capacity, size_t needed, size_t size) {
  if (needed <= *capacity) return true;
  size_t want = *capacity == 0 ? 16 : *capacity * 2;
  if (want < needed) want = needed;
  if (want > SIZE_MAX / size) return false;
  void *grown = realloc(*array, want * size);
  if (grown == NULL) return false;
  *array = grown;
  *capacity = want;
  return true;
}

static void out_of_memory(parser *p) {
  if (p->status != PROMO_OK) return;
  p->status = promo_error_set(p->err, PROMO_ERR_NOMEM, _("out of memory compiling an expression"));
}

/* Append a node and return its index, or SIZE_MAX after an error. Its depth is one more
 * than its deepest operand's (the caller passes that). */
static size_t add_node(parser *p, node n, int child_depth, size_t at) {
  if (p->status != PROMO_OK) return SIZE_MAX;
  n.depth = child_depth + 1;
  if (n.depth > MAX_DEPTH) {
    syntax_error(p, at, _("the expression is nested more than %d levels deep"), MAX_DEPTH);
    return SIZE_MAX;
  }
  promo_expr *e = p->expr;
  if (!grow((void **)&e->nodes, &e->nodes_capacity, e->n_nodes + 1, sizeof *e->nodes)) {
    out_of_memory(p);
    return SIZE_MAX;
  }
  e->nodes[e->n_nodes] = n;
  return e->n_nodes++;
}

static int depth_of(const parser *p, size_t index) {
  return index == SIZE_MAX ? 0 : p->expr->nodes[index].depth;
}

static size_t add_binary(parser *p, node_kind kind, size_t left, size_t right, size_t at) {
  if (p->status != PROMO_OK) return SIZE_MAX;
  node n = {.kind = kind, .left = left, .right = right};
  int child = depth_of(p, left) > depth_of(p, right) ? depth_of(p, left) : depth_of(p, right);
  return add_node(p, n, child, at);
}

/* Index of a column name in expr->names, adding it when new; SIZE_MAX on failure. The
 * name is the token's text, with backticks removed and doubled backticks undone. */
static size_t intern_column(parser *p, const token *tok) {
  const char *s = p->text + tok->start;
  size_t n = tok->end - tok->start;
  char *name = malloc(n + 1);
  if (name == NULL) {
    out_of_memory(p);
    return SIZE_MAX;
  }
  size_t len = 0;
  if (tok->kind == TOKEN_QUOTED) {
    for (size_t i = 1; i + 1 < n; i++) {
      name[len++] = s[i];
      if (s[i] == '`') i++; /* skip the second of a doubled backtick */
    }
  } else {
    memcpy(name, s, n);
    len = n;
  }
  name[len] = '\0';

  promo_expr *e = p->expr;
  for (size_t i = 0; i < e->n_names; i++) {
    if (strcmp(e->names[i], name) == 0) {
      free(name);
      return i;
    }
  }
  if (!grow((void **)&e->names, &e->names_capacity, e->n_names + 1, sizeof *e->names)) {
    free(name);
    out_of_memory(p);
    return SIZE_MAX;
  }
  e->names[e->n_names] = name;
  return e->n_names++;
}

/* ===================================================================== grammar */

static size_t parse_comparison(parser *p);

static void expect_closing(parser *p, size_t open_at) {
  if (p->status != PROMO_OK) return;
  if (p->tok.kind == TOKEN_RPAREN) {
    next_token(p);
    return;
  }
  char found[64];
  describe_token(p, found, sizeof found);
  syntax_error(p, p->tok.start, _("expected ')' to close the '(' at character %" PRId64 ", found %s"),
               char_position(p->text, open_at), found);
}

static int find_function(const char *s, size_t n) {
  for (int f = 0; f < N_FUNCTIONS; f++)
    if (strlen(kFunctions[f].name) == n && memcmp(kFunctions[f].name, s, n) == 0) return f;
  return -1;
}

/* call := name '(' comparison (',' comparison)* ')', with the current token at '('. */
static size_t parse_call(parser *p, const token *name) {
  int f = find_function(p->text + name->start, name->end - name->start);
  if (f < 0) {
    syntax_error(p, name->start,
                 _("unknown function '%.*s'; the functions are exp, log, log1p, expm1, sqrt, abs, "
                   "min, max, round, floor, ceil, if and pick"),
                 (int)(name->end - name->start), p->text + name->start);
    return SIZE_MAX;
  }
  size_t open_at = p->tok.start;
  next_token(p);

  /* Arguments are collected first and copied to expr->args together, because nested
   * calls append their own arguments in between. */
  size_t *list = NULL, n_list = 0, list_capacity = 0;
  int child_depth = 0;
  while (p->status == PROMO_OK) {
    size_t arg = parse_comparison(p);
    if (p->status != PROMO_OK) break;
    if (!grow((void **)&list, &list_capacity, n_list + 1, sizeof *list)) {
      out_of_memory(p);
      break;
    }
    list[n_list++] = arg;
    if (depth_of(p, arg) > child_depth) child_depth = depth_of(p, arg);
    if (p->tok.kind != TOKEN_COMMA) break;
    next_token(p);
  }
  expect_closing(p, open_at);

  const func_info *info = &kFunctions[f];
  if (p->status == PROMO_OK && (n_list < info->min_args || (info->max_args > 0 && n_list > info->max_args))) {
    if (info->max_args == info->min_args)
      syntax_error(p, name->start,
                   P_("%s() takes %zu argument, but %zu were given",
                      "%s() takes %zu arguments, but %zu were given", info->min_args),
                   info->name, info->min_args, n_list);
    else
      syntax_error(p, name->start, _("%s() takes at least %zu arguments, but %zu were given"),
                   info->name, info->min_args, n_list);
  }

  promo_expr *e = p->expr;
  size_t result = SIZE_MAX;
  if (p->status == PROMO_OK) {
    if (!grow((void **)&e->args, &e->args_capacity, e->n_args + n_list, sizeof *e->args)) {
      out_of_memory(p);
    } else {
      node n = {.kind = NODE_CALL, .func = (func_id)f, .first_arg = e->n_args, .n_args = n_list};
      memcpy(e->args + e->n_args, list, n_list * sizeof *list);
      e->n_args += n_list;
      result = add_node(p, n, child_depth, name->start);
    }
  }
  free(list);
  return result;
}

/* primary := number | name | `quoted` | name '(' args ')' | '(' comparison ')' */
static size_t parse_primary(parser *p) {
  if (p->status != PROMO_OK) return SIZE_MAX;
  token tok = p->tok;
  switch (tok.kind) {
    case TOKEN_NUMBER: {
      next_token(p);
      node n = {.kind = NODE_NUMBER, .number = tok.number};
      return add_node(p, n, 0, tok.start);
    }
    case TOKEN_NAME:
    case TOKEN_QUOTED: {
      next_token(p);
      if (tok.kind == TOKEN_NAME && p->tok.kind == TOKEN_LPAREN) return parse_call(p, &tok);
      size_t column = intern_column(p, &tok);
      if (column == SIZE_MAX) return SIZE_MAX;
      node n = {.kind = NODE_COLUMN, .column = column};
      return add_node(p, n, 0, tok.start);
    }
    case TOKEN_LPAREN: {
      next_token(p);
      size_t inner = parse_comparison(p);
      expect_closing(p, tok.start);
      return inner;
    }
    default: {
      char found[64];
      describe_token(p, found, sizeof found);
      syntax_error(p, tok.start,
                   _("expected a number, a column name, a function call or '(', found %s"), found);
      return SIZE_MAX;
    }
  }
}

/* Each grammar level below recurses once per nesting step; p->nesting bounds that, so
 * text such as "((((...))))" or "----x" cannot exhaust the stack. */
static bool enter(parser *p) {
  if (++p->nesting > MAX_DEPTH) {
    syntax_error(p, p->tok.start, _("the expression is nested more than %d levels deep"), MAX_DEPTH);
    return false;
  }
  return true;
}

static size_t parse_unary(parser *p);

/* power := primary ('^' unary)?, right to left, so 2^3^2 is 2^9 and 2^-1 is 0.5. */
static size_t parse_power(parser *p) {
  size_t base = parse_primary(p);
  if (p->status != PROMO_OK || p->tok.kind != TOKEN_CARET) return base;
  size_t at = p->tok.start;
  next_token(p);
  size_t exponent = parse_unary(p);
  return add_binary(p, NODE_POW, base, exponent, at);
}

/* unary := '-' unary | '+' unary | power */
static size_t parse_unary(parser *p) {
  if (!enter(p)) return SIZE_MAX;
  size_t result;
  if (p->tok.kind == TOKEN_MINUS || p->tok.kind == TOKEN_PLUS) {
    bool negate = p->tok.kind == TOKEN_MINUS;
    size_t at = p->tok.start;
    next_token(p);
    size_t operand = parse_unary(p);
    if (negate) {
      node n = {.kind = NODE_NEG, .left = operand};
      result = p->status == PROMO_OK ? add_node(p, n, depth_of(p, operand), at) : SIZE_MAX;
    } else {
      result = operand;
    }
  } else {
    result = parse_power(p);
  }
  p->nesting--;
  return result;
}

/* product := unary (('*' | '/') unary)* */
static size_t parse_product(parser *p) {
  size_t left = parse_unary(p);
  while (p->status == PROMO_OK && (p->tok.kind == TOKEN_STAR || p->tok.kind == TOKEN_SLASH)) {
    node_kind kind = p->tok.kind == TOKEN_STAR ? NODE_MUL : NODE_DIV;
    size_t at = p->tok.start;
    next_token(p);
    size_t right = parse_unary(p);
    left = add_binary(p, kind, left, right, at);
  }
  return left;
}

/* sum := product (('+' | '-') product)* */
static size_t parse_sum(parser *p) {
  size_t left = parse_product(p);
  while (p->status == PROMO_OK && (p->tok.kind == TOKEN_PLUS || p->tok.kind == TOKEN_MINUS)) {
    node_kind kind = p->tok.kind == TOKEN_PLUS ? NODE_ADD : NODE_SUB;
    size_t at = p->tok.start;
    next_token(p);
    size_t right = parse_product(p);
    left = add_binary(p, kind, left, right, at);
  }
  return left;
}

static bool comparison_kind(token_kind t, node_kind *out) {
  switch (t) {
    case TOKEN_LT: *out = NODE_LT; return true;
    case TOKEN_LE: *out = NODE_LE; return true;
    case TOKEN_GT: *out = NODE_GT; return true;
    case TOKEN_GE: *out = NODE_GE; return true;
    case TOKEN_EQ: *out = NODE_EQ; return true;
    case TOKEN_NE: *out = NODE_NE; return true;
    default: return false;
  }
}

/* comparison := sum (op sum)?; a second operator is an error because a < b < c reads
 * as a range test but would compare (a < b), a 0 or 1, with c. */
static size_t parse_comparison(parser *p) {
  if (!enter(p)) return SIZE_MAX;
  size_t left = parse_sum(p);
  node_kind kind;
  if (p->status == PROMO_OK && comparison_kind(p->tok.kind, &kind)) {
    size_t at = p->tok.start;
    next_token(p);
    size_t right = parse_sum(p);
    left = add_binary(p, kind, left, right, at);
    if (p->status == PROMO_OK && comparison_kind(p->tok.kind, &kind))
      syntax_error(p, p->tok.start,
                   _("comparisons cannot be chained; for a range write "
                     "if(a < b, b < c, 0) or (a < b) * (b < c)"));
  }
  p->nesting--;
  return left;
}

promo_status promo_expr_parse(const char *text, promo_expr **out, promo_error *err) {
  *out = NULL;
  promo_expr *expr = calloc(1, sizeof *expr);
  if (expr == NULL || (expr->text = strdup(text)) == NULL) {
    free(expr);
    return promo_error_set(err, PROMO_ERR_NOMEM, _("out of memory compiling an expression"));
  }

  parser p = {.expr = expr, .text = expr->text, .len = strlen(text), .err = err};
  next_token(&p);
  if (p.status == PROMO_OK && p.tok.kind == TOKEN_END) syntax_error(&p, 0, _("the expression is empty"));
  expr->root = parse_comparison(&p);
  if (p.status == PROMO_OK && p.tok.kind != TOKEN_END) {
    char found[64];
    describe_token(&p, found, sizeof found);
    syntax_error(&p, p.tok.start, _("expected an operator or the end of the expression, found %s"),
                 found);
  }
  if (p.status != PROMO_OK) {
    promo_expr_free(expr);
    return p.status;
  }
  *out = expr;
  return PROMO_OK;
}

void promo_expr_free(promo_expr *expr) {
  if (expr == NULL) return;
  for (size_t i = 0; i < expr->n_names; i++) free(expr->names[i]);
  free(expr->names);
  free(expr->table_columns);
  free(expr->nodes);
  free(expr->args);
  free(expr->text);
  free(expr);
}

const char *promo_expr_text(const promo_expr *expr) { return expr->text; }
size_t promo_expr_n_columns(const promo_expr *expr) { return expr->n_names; }
const char *promo_expr_column_name(const promo_expr *expr, size_t i) {
  return i < expr->n_names ? expr->names[i] : NULL;
}

/* ===================================================================== binding */

static char lower_ascii(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

/* Levenshtein distance between a and b, ignoring ASCII case, capped at `cap` + 1 so long
 * names cost little. */
static size_t edit_distance(const char *a, const char *b, size_t cap) {
  size_t na = strlen(a), nb = strlen(b);
  if (na > nb ? na - nb > cap : nb - na > cap) return cap + 1;
  if (nb > 255) return cap + 1;
  size_t row[256];
  for (size_t j = 0; j <= nb; j++) row[j] = j;
  for (size_t i = 1; i <= na; i++) {
    size_t diagonal = row[0], best = row[0] = i;
    for (size_t j = 1; j <= nb; j++) {
      size_t above = row[j];
      size_t cost = lower_ascii(a[i - 1]) == lower_ascii(b[j - 1]) ? 0 : 1;
      size_t value = diagonal + cost;
      if (above + 1 < value) value = above + 1;
      if (row[j - 1] + 1 < value) value = row[j - 1] + 1;
      row[j] = value;
      diagonal = above;
      if (value < best) best = value;
    }
    if (best > cap) return cap + 1;
  }
  return row[nb];
}

/* Append up to five table columns close to `name` (by edit distance, or containing it) to
 * buf as "a, b, c"; if none is close, list the first columns of the table instead. */
static void list_close_columns(const promo_table *table, const char *name, char *buf, size_t size,
                               bool *found_close) {
  size_t used = 0, listed = 0;
  size_t cap = strlen(name) / 3 + 1;
  buf[0] = '\0';
  *found_close = false;
  for (size_t distance = 0; distance <= cap + 1 && listed < 5; distance++) {
    for (size_t c = 0; c < table->n_columns && listed < 5; c++) {
      const char *candidate = table->columns[c].name;
      size_t d = edit_distance(name, candidate, cap);
      bool contains = d > cap && strstr(candidate, name) != NULL && name[0] != '\0';
      if (!((d <= cap && d == distance) || (contains && distance == cap + 1))) continue;
      int n = snprintf(buf + used, size - used, "%s%s", listed > 0 ? ", " : "", candidate);
      if (n < 0 || (size_t)n >= size - used) return;
      used += (size_t)n;
      listed++;
    }
  }
  if (listed > 0) {
    *found_close = true;
    return;
  }
  for (size_t c = 0; c < table->n_columns && c < 12; c++) {
    int n = snprintf(buf + used, size - used, "%s%s", c > 0 ? ", " : "", table->columns[c].name);
    if (n < 0 || (size_t)n >= size - used) return;
    used += (size_t)n;
  }
  if (table->n_columns > 12 && size - used > 5) snprintf(buf + used, size - used, ", ...");
}

static promo_status unknown_column(const promo_expr *expr, const promo_table *table,
                                   const char *name, promo_error *err) {
  if (err == NULL) return PROMO_ERR_USAGE;
  char names[320];
  bool found_close = false;
  list_close_columns(table, name, names, sizeof names, &found_close);
  snprintf(err->column_name, sizeof err->column_name, "%s", name);
  promo_error_value(err, expr->text, -1);
  if (found_close)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("expression '%.*s%s' uses column '%s', which is not in the table; "
                             "close names: %s"),
                           quoted_length(expr->text), expr->text, quoted_tail(expr->text), name,
                           names);
  return promo_error_set(err, PROMO_ERR_USAGE,
                         _("expression '%.*s%s' uses column '%s', which is not in the table; its "
                           "columns are: %s"),
                         quoted_length(expr->text), expr->text, quoted_tail(expr->text), name,
                         names);
}

promo_status promo_expr_bind(promo_expr *expr, const promo_table *table, promo_error *err) {
  expr->is_bound = false;
  if (expr->n_names > 0 && expr->table_columns == NULL) {
    expr->table_columns = calloc(expr->n_names, sizeof *expr->table_columns);
    if (expr->table_columns == NULL)
      return promo_error_set(err, PROMO_ERR_NOMEM, _("out of memory compiling an expression"));
  }
  for (size_t i = 0; i < expr->n_names; i++) {
    ptrdiff_t c = promo_table_find(table, expr->names[i]);
    if (c < 0) return unknown_column(expr, table, expr->names[i], err);
    promo_type type = table->columns[c].type;
    if (promo_type_is_string(type)) {
      if (err != NULL) snprintf(err->column_name, sizeof err->column_name, "%s", expr->names[i]);
      return promo_error_set(err, PROMO_ERR_USAGE,
                             _("expression '%.*s%s' uses column '%s', which is %s; expressions "
                               "read numeric, boolean, date and datetime columns only"),
                             quoted_length(expr->text), expr->text, quoted_tail(expr->text),
                             expr->names[i], promo_type_name(type));
    }
    expr->table_columns[i] = (size_t)c;
  }
  expr->is_bound = true;
  expr->bound_n_columns = table->n_columns;
  return PROMO_OK;
}

/* ===================================================================== evaluation */

typedef enum row_result { ROW_OK, ROW_MISSING_INPUT, ROW_DOMAIN, ROW_OVERFLOW } row_result;

typedef struct evaluator {
  const promo_expr *expr;
  const promo_table *table;
  size_t row;
  const char *failed_op; /* operator of the last domain error */
} evaluator;

static row_result domain_error(evaluator *ev, const char *op) {
  ev->failed_op = op;
  return ROW_DOMAIN;
}

/* Classify a computed value: NaN is a domain error of `op`, an infinity an overflow. */
static row_result check(evaluator *ev, double value, const char *op, double *out) {
  *out = value;
  if (isnan(value)) return domain_error(ev, op);
  if (isinf(value)) return ROW_OVERFLOW;
  return ROW_OK;
}

static row_result eval_node(evaluator *ev, size_t index, double *out);

static row_result column_value(evaluator *ev, size_t name, double *out) {
  const promo_column *col = &ev->table->columns[ev->expr->table_columns[name]];
  if (col->is_missing[ev->row]) return ROW_MISSING_INPUT;
  *out = col->type == PROMO_TYPE_DECIMAL ? col->reals[ev->row] : (double)col->ints[ev->row];
  if (!isfinite(*out)) return ROW_MISSING_INPUT;
  return ROW_OK;
}

static row_result apply_unary_function(evaluator *ev, func_id f, double x, double *out) {
  switch (f) {
    case FUNC_EXP: return check(ev, exp(x), "exp", out);
    case FUNC_LOG:
      if (x <= 0) return domain_error(ev, "log");
      return check(ev, log(x), "log", out);
    case FUNC_LOG1P:
      if (x <= -1) return domain_error(ev, "log1p");
      return check(ev, log1p(x), "log1p", out);
    case FUNC_EXPM1: return check(ev, expm1(x), "expm1", out);
    case FUNC_SQRT:
      if (x < 0) return domain_error(ev, "sqrt");
      return check(ev, sqrt(x), "sqrt", out);
    case FUNC_ABS: return check(ev, fabs(x), "abs", out);
    case FUNC_ROUND: return check(ev, round(x), "round", out);
    case FUNC_FLOOR: return check(ev, floor(x), "floor", out);
    case FUNC_CEIL: return check(ev, ceil(x), "ceil", out);
    default: return domain_error(ev, "?"); /* not reached: the parser checks arities */
  }
}

static row_result eval_call(evaluator *ev, const node *n, double *out) {
  const size_t *args = ev->expr->args + n->first_arg;
  double x = 0;
  row_result r = eval_node(ev, args[0], &x);
  if (r != ROW_OK) return r;

  switch (n->func) {
    case FUNC_IF: return eval_node(ev, x != 0 ? args[1] : args[2], out);
    case FUNC_PICK: {
      /* pick(i, a1, ..., an): only the chosen argument is evaluated. */
      size_t n_choices = n->n_args - 1;
      if (!(x >= 1 && x <= (double)n_choices && x == floor(x))) return domain_error(ev, "pick");
      return eval_node(ev, args[(size_t)x], out);
    }
    case FUNC_MIN:
    case FUNC_MAX:
      for (size_t i = 1; i < n->n_args; i++) {
        double y = 0;
        if ((r = eval_node(ev, args[i], &y)) != ROW_OK) return r;
        if (n->func == FUNC_MIN ? y < x : y > x) x = y;
      }
      *out = x;
      return ROW_OK;
    default: return apply_unary_function(ev, n->func, x, out);
  }
}

static row_result apply_binary(evaluator *ev, node_kind kind, double a, double b, double *out) {
  switch (kind) {
    case NODE_ADD: return check(ev, a + b, "+", out);
    case NODE_SUB: return check(ev, a - b, "-", out);
    case NODE_MUL: return check(ev, a * b, "*", out);
    case NODE_DIV:
      if (b == 0) return domain_error(ev, "/");
      return check(ev, a / b, "/", out);
    case NODE_POW:
      if (a == 0 && b < 0) return domain_error(ev, "^");
      return check(ev, pow(a, b), "^", out);
    case NODE_LT: *out = a < b; return ROW_OK;
    case NODE_LE: *out = a <= b; return ROW_OK;
    case NODE_GT: *out = a > b; return ROW_OK;
    case NODE_GE: *out = a >= b; return ROW_OK;
    case NODE_EQ: *out = a == b; return ROW_OK;
    case NODE_NE: *out = a != b; return ROW_OK;
    default: return domain_error(ev, "?"); /* not reached */
  }
}

/* Value of node `index` for the current row. Recursion depth is the node's depth, which
 * the parser keeps at most MAX_DEPTH. */
static row_result eval_node(evaluator *ev, size_t index, double *out) {
  const node *n = &ev->expr->nodes[index];
  switch (n->kind) {
    case NODE_NUMBER: *out = n->number; return ROW_OK;
    case NODE_COLUMN: return column_value(ev, n->column, out);
    case NODE_CALL: return eval_call(ev, n, out);
    case NODE_NEG: {
      row_result r = eval_node(ev, n->left, out);
      if (r == ROW_OK) *out = -*out;
      return r;
    }
    default: {
      double a = 0, b = 0;
      row_result r = eval_node(ev, n->left, &a);
      if (r == ROW_OK) r = eval_node(ev, n->right, &b);
      if (r != ROW_OK) return r;
      return apply_binary(ev, n->kind, a, b, out);
    }
  }
}

promo_status promo_expr_eval(const promo_expr *expr, const promo_table *table, double *out,
                             uint8_t *is_missing, promo_expr_stats *stats, promo_error *err) {
  promo_expr_stats counts = {.first_domain_row = -1};
  if (!expr->is_bound)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("expression '%.*s%s' is evaluated before it was bound to a table"),
                           quoted_length(expr->text), expr->text, quoted_tail(expr->text));
  if (table->n_columns < expr->bound_n_columns)
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("expression '%.*s%s' was bound to a table with %zu columns but is "
                             "evaluated on one with %zu"),
                           quoted_length(expr->text), expr->text, quoted_tail(expr->text),
                           expr->bound_n_columns, table->n_columns);

  evaluator ev = {.expr = expr, .table = table};
  for (size_t r = 0; r < table->n_rows; r++) {
    ev.row = r;
    double value = 0;
    row_result result = eval_node(&ev, expr->root, &value);
    out[r] = result == ROW_OK ? value : 0;
    is_missing[r] = result != ROW_OK;
    if (result == ROW_MISSING_INPUT) counts.n_missing_input++;
    if (result == ROW_OVERFLOW) counts.n_overflow++;
    if (result == ROW_DOMAIN && counts.n_domain++ == 0) {
      counts.first_domain_row = (int64_t)r;
      counts.first_domain_op = ev.failed_op;
    }
  }
  counts.n_rows = table->n_rows;
  if (stats != NULL) *stats = counts;
  return PROMO_OK;
}

/* ===================================================================== derive */

static void log_missing(const promo_context *ctx, const promo_table *table, const char *name,
                        const promo_expr_stats *s) {
  if (s->n_missing_input > 0)
    promo_log(ctx, PROMO_LOG_WARN,
              _("derived column '%s': %" PRIu64 " of %" PRIu64 " rows are missing because an "
                "input value is missing"),
              name, s->n_missing_input, s->n_rows);
  if (s->n_domain > 0) {
    int64_t line = table->lines != NULL ? table->lines[s->first_domain_row] : 0;
    promo_log(ctx, PROMO_LOG_WARN,
              _("derived column '%s': %" PRIu64 " rows are missing because '%s' is undefined "
                "for their values (first at line %" PRId64 "), as log of 0 or a division by 0 is"),
              name, s->n_domain, s->first_domain_op, line);
  }
  if (s->n_overflow > 0)
    promo_log(ctx, PROMO_LOG_WARN,
              _("derived column '%s': %" PRIu64 " rows are missing because a value overflowed"),
              name, s->n_overflow);
}

promo_status promo_table_derive(promo_table *table, const char *name, const char *text,
                                const promo_context *ctx, promo_expr_stats *stats,
                                promo_error *err) {
  if (promo_table_find(table, name) >= 0) {
    if (err != NULL) snprintf(err->column_name, sizeof err->column_name, "%s", name);
    return promo_error_set(err, PROMO_ERR_USAGE,
                           _("cannot derive column '%s': the table already has a column with "
                             "that name; choose another name"),
                           name);
  }

  promo_expr *expr = NULL;
  double *values = NULL;
  uint8_t *missing = NULL;
  promo_expr_stats counts = {.first_domain_row = -1};
  promo_status status = promo_expr_parse(text, &expr, err);
  if (status == PROMO_OK) status = promo_expr_bind(expr, table, err);
  if (status == PROMO_OK && table->n_rows > 0) {
    values = malloc(table->n_rows * sizeof *values);
    missing = malloc(table->n_rows);
    if (values == NULL || missing == NULL)
      status = promo_error_set(err, PROMO_ERR_NOMEM, _("out of memory deriving column '%s'"), name);
  }
  if (status == PROMO_OK) status = promo_expr_eval(expr, table, values, missing, &counts, err);

  /* The column is added last, so every failure above leaves the table unchanged. */
  size_t index = 0;
  if (status == PROMO_OK) status = promo_table_add_column(table, name, PROMO_TYPE_DECIMAL, &index, err);
  if (status == PROMO_OK && table->n_rows > 0) {
    promo_column *col = &table->columns[index];
    memcpy(col->reals, values, table->n_rows * sizeof *values);
    memcpy(col->is_missing, missing, table->n_rows);
    log_missing(ctx, table, name, &counts);
  }
  if (status == PROMO_OK && stats != NULL) *stats = counts;
  free(values);
  free(missing);
  promo_expr_free(expr);
  return status;
}
