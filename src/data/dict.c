/* String dictionary for the data stage's CATEGORICAL and TEXT columns: an open-addressing
 * hash table (linear probing, XXH3 hashes) from strings to dense codes. The strings live
 * in a block arena, so returned pointers stay valid until reset or free. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "promo/data.h"

/* One arena block; strings are packed into data[] with their NUL. */
typedef struct arena_block {
  struct arena_block *next;
  size_t used, size;
  char data[];
} arena_block;

/* A hash slot: code + 1 (0 marks an empty slot) and the high 32 bits of the hash, which
 * rule out most unequal strings without touching them. The low bits pick the slot. */
typedef struct dict_slot {
  uint32_t code_plus_one;
  uint32_t tag;
} dict_slot;

struct promo_dict {
  dict_slot *slots; /* [n_slots], n_slots a power of two, at most half full */
  size_t n_slots;
  const char **strings; /* [capacity] by code */
  uint32_t *lengths;    /* [capacity] by code, without the NUL */
  size_t n_strings, capacity;
  arena_block *head, *current; /* blocks after current are free for reuse */
};

enum { MIN_SLOTS = 16, FIRST_BLOCK_BYTES = 1024, MAX_BLOCK_BYTES = 1 << 20 };

promo_status promo_dict_create(promo_dict **out) {
  *out = NULL;
  promo_dict *dict = calloc(1, sizeof *dict);
  if (dict == NULL) return PROMO_ERR_NOMEM;
  dict->slots = calloc(MIN_SLOTS, sizeof *dict->slots);
  if (dict->slots == NULL) {
    free(dict);
    return PROMO_ERR_NOMEM;
  }
  dict->n_slots = MIN_SLOTS;
  *out = dict;
  return PROMO_OK;
}

void promo_dict_free(promo_dict *dict) {
  if (dict == NULL) return;
  for (arena_block *b = dict->head, *next; b != NULL; b = next) {
    next = b->next;
    free(b);
  }
  free(dict->slots);
  free(dict->strings);
  free(dict->lengths);
  free(dict);
}

void promo_dict_reset(promo_dict *dict) {
  memset(dict->slots, 0, dict->n_slots * sizeof *dict->slots);
  dict->n_strings = 0;
  dict->current = dict->head;
  if (dict->head != NULL) dict->head->used = 0;
}

static uint64_t hash_string(const char *s, size_t len) {
  return XXH3_64bits(len > 0 ? s : "", len);
}

/* Copy s and a NUL into the arena, reusing blocks that a reset freed before allocating. */
static char *arena_copy(promo_dict *dict, const char *s, size_t len) {
  size_t need = len + 1;
  arena_block *b = dict->current;
  while (b != NULL && b->size - b->used < need && b->next != NULL) {
    b = b->next;
    b->used = 0;
  }
  if (b == NULL || b->size - b->used < need) {
    size_t size = b == NULL ? FIRST_BLOCK_BYTES : b->size * 2;
    if (size > MAX_BLOCK_BYTES) size = MAX_BLOCK_BYTES;
    if (size < need) size = need;
    arena_block *fresh = malloc(sizeof *fresh + size);
    if (fresh == NULL) return NULL;
    fresh->next = NULL;
    fresh->used = 0;
    fresh->size = size;
    if (b == NULL)
      dict->head = fresh;
    else
      b->next = fresh;
    b = fresh;
  }
  dict->current = b;
  char *copy = b->data + b->used;
  if (len > 0) memcpy(copy, s, len);
  copy[len] = '\0';
  b->used += need;
  return copy;
}

/* Double the slot array and reinsert every code. */
static promo_status grow_slots(promo_dict *dict) {
  size_t n_slots = dict->n_slots * 2;
  dict_slot *slots = calloc(n_slots, sizeof *slots);
  if (slots == NULL) return PROMO_ERR_NOMEM;
  size_t mask = n_slots - 1;
  for (size_t code = 0; code < dict->n_strings; code++) {
    uint64_t h = hash_string(dict->strings[code], dict->lengths[code]);
    size_t i = (size_t)h & mask;
    while (slots[i].code_plus_one != 0) i = (i + 1) & mask;
    slots[i].code_plus_one = (uint32_t)code + 1;
    slots[i].tag = (uint32_t)(h >> 32);
  }
  free(dict->slots);
  dict->slots = slots;
  dict->n_slots = n_slots;
  return PROMO_OK;
}

static promo_status grow_codes(promo_dict *dict) {
  size_t capacity = dict->capacity == 0 ? 16 : dict->capacity * 2;
  const char **strings = realloc(dict->strings, capacity * sizeof *strings);
  if (strings == NULL) return PROMO_ERR_NOMEM;
  dict->strings = strings;
  uint32_t *lengths = realloc(dict->lengths, capacity * sizeof *lengths);
  if (lengths == NULL) return PROMO_ERR_NOMEM;
  dict->lengths = lengths;
  dict->capacity = capacity;
  return PROMO_OK;
}

/* Slot index holding s, or the empty slot where s would go. */
static size_t probe(const promo_dict *dict, const char *s, size_t len, uint64_t h) {
  size_t mask = dict->n_slots - 1;
  uint32_t tag = (uint32_t)(h >> 32);
  for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
    const dict_slot *slot = &dict->slots[i];
    if (slot->code_plus_one == 0) return i;
    uint32_t code = slot->code_plus_one - 1;
    if (slot->tag == tag && dict->lengths[code] == len &&
        (len == 0 || memcmp(dict->strings[code], s, len) == 0))
      return i;
  }
}

promo_status promo_dict_intern(promo_dict *dict, const char *s, size_t len, int32_t *code) {
  uint64_t h = hash_string(s, len);
  size_t i = probe(dict, s, len, h);
  if (dict->slots[i].code_plus_one != 0) {
    *code = (int32_t)(dict->slots[i].code_plus_one - 1);
    return PROMO_OK;
  }

  /* Codes are int32 and lengths uint32, so the dictionary cannot grow past either. */
  if (dict->n_strings >= INT32_MAX || len > UINT32_MAX) return PROMO_ERR_UNSUPPORTED;
  promo_status status;
  if ((dict->n_strings + 1) * 2 > dict->n_slots) {
    if ((status = grow_slots(dict)) != PROMO_OK) return status;
    i = probe(dict, s, len, h);
  }
  if (dict->n_strings == dict->capacity && (status = grow_codes(dict)) != PROMO_OK)
    return status;
  char *copy = arena_copy(dict, s, len);
  if (copy == NULL) return PROMO_ERR_NOMEM;

  size_t new_code = dict->n_strings++;
  dict->strings[new_code] = copy;
  dict->lengths[new_code] = (uint32_t)len;
  dict->slots[i].code_plus_one = (uint32_t)new_code + 1;
  dict->slots[i].tag = (uint32_t)(h >> 32);
  *code = (int32_t)new_code;
  return PROMO_OK;
}

int32_t promo_dict_find(const promo_dict *dict, const char *s, size_t len) {
  size_t i = probe(dict, s, len, hash_string(s, len));
  return (int32_t)dict->slots[i].code_plus_one - 1;
}

const char *promo_dict_string(const promo_dict *dict, int32_t code, size_t *len) {
  if (code < 0 || (size_t)code >= dict->n_strings) {
    if (len != NULL) *len = 0;
    return NULL;
  }
  if (len != NULL) *len = dict->lengths[code];
  return dict->strings[code];
}

size_t promo_dict_size(const promo_dict *dict) { return dict->n_strings; }
