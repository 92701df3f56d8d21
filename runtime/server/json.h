/*
 * json.h — the server's own JSON: a bounded reader for request bodies (json_read.c) and a writer
 * for responses (json_write.c). Strings are (pointer, length) throughout, so "\u0000" in a request
 * and NUL bytes in generated text survive; every limit is checked while reading, before anything
 * larger than the body is built.
 *
 * Reader (sj_doc): one pass over the body fills a flat array of 16-byte nodes (values, and object
 * keys as string nodes before their values) and, only when a string has escapes, one decode area
 * of at most the body's size (an escape never decodes longer than it is written). Limits, each a
 * 400 that names it: SJ_MAX_VALUES values (keys included), SJ_MAX_DEPTH nesting, SJ_MAX_NUMBER characters in one
 * number, and the body under 4 GiB (offsets are 32-bit). Memory per body: at most
 * 16 × SJ_MAX_VALUES (16 MiB) bytes of nodes (doubling) + the body's size for escaped strings.
 * Lone UTF-16 surrogates ("\ud800") decode to their 3-byte form (not valid UTF-8): fields that
 * need text check with srv_utf8_valid. Raw bytes inside strings are taken as they are.
 *
 * Writer (jw_*): appends to an srv_buf with cJSON's unformatted spelling (the responses stay byte
 * for byte what they were): the same escapes (\" \\ \b \f \n \r \t, other controls \u00xx with
 * NUL as \u0000), numbers as cJSON prints them. Strings that are not valid UTF-8 get U+FFFD for
 * each bad byte, so every response is valid JSON in UTF-8.
 */
#ifndef PV_SERVER_JSON_H
#define PV_SERVER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SJ_MAX_VALUES 1048576u /* values in one body, object keys included (an 800-message chat with tools: ~20 000) */
#define SJ_MAX_VALUES_TEXT "1048576"
#define SJ_MAX_DEPTH 64        /* arrays and objects inside each other */
#define SJ_MAX_DEPTH_TEXT "64"
#define SJ_MAX_NUMBER 64       /* characters of one number */
#define SJ_MAX_NUMBER_TEXT "64"
#define SJ_NONE UINT32_MAX

typedef enum sj_type { SJ_NULL, SJ_FALSE, SJ_TRUE, SJ_NUMBER, SJ_STRING, SJ_ARRAY, SJ_OBJECT } sj_type;

typedef struct sj_node {
  uint8_t type;    /* sj_type */
  uint8_t decoded; /* string: off is in the decode area, else in the source */
  uint32_t len;    /* string / number: bytes; array: items; object: members */
  uint32_t off;    /* string / number: where its bytes start; array / object: first child or SJ_NONE */
  uint32_t next;   /* next sibling (for an object's members: key, value, key, value …) or SJ_NONE */
} sj_node;

typedef struct sj_doc {
  const char *src;
  size_t src_len;
  sj_node *nodes;
  size_t n_nodes, cap_nodes;
  char *strs; /* decoded strings */
  size_t n_strs;
} sj_doc;

typedef enum sj_status { SJ_OK = 0, SJ_SYNTAX, SJ_TOO_MANY, SJ_TOO_DEEP, SJ_NUMBER_TOO_LONG, SJ_TOO_BIG, SJ_NOMEM } sj_status;

/* Reads text[0..len) into *d (the root is node 0). On failure *d is freed and msg (may be NULL)
 * says what and where. The doc points into text: keep it alive while the doc is used. */
sj_status sj_parse(sj_doc *d, const char *text, size_t len, char *msg, size_t msg_size);
void sj_free(sj_doc *d);

static inline const sj_node *sj_at(const sj_doc *d, uint32_t i) { return i == SJ_NONE ? NULL : &d->nodes[i]; }
static inline sj_type sj_type_of(const sj_doc *d, uint32_t i) { return (sj_type)d->nodes[i].type; }
/* A string's bytes (not NUL-terminated) and a number's text. */
static inline const char *sj_bytes(const sj_doc *d, uint32_t i) {
  const sj_node *n = &d->nodes[i];
  return (n->decoded ? d->strs : d->src) + n->off;
}
static inline uint32_t sj_len(const sj_doc *d, uint32_t i) { return d->nodes[i].len; }
static inline uint32_t sj_first(const sj_doc *d, uint32_t i) { return d->nodes[i].off; }
static inline uint32_t sj_next(const sj_doc *d, uint32_t i) { return d->nodes[i].next; }
/* The first member of object `obj` named `name`, or SJ_NONE. */
uint32_t sj_get(const sj_doc *d, uint32_t obj, const char *name);
bool sj_str_is(const sj_doc *d, uint32_t i, const char *s);
/* A number's value as a double. */
double sj_double(const sj_doc *d, uint32_t i);
/* An integer number, exactly: true with *neg and *mag (the magnitude) when it is one that fits 64
 * bits unsigned; a fraction or an exponent is taken when the value is a whole number below 2^53. */
bool sj_integer(const sj_doc *d, uint32_t i, bool *neg, uint64_t *mag);

/* ---- writer ---- */
struct srv_buf;
/* s[0..n) as a JSON string literal. */
bool jw_str(struct srv_buf *b, const char *s, size_t n);
/* The same without the quotes: a piece of a longer string (cut between UTF-8 sequences). */
bool jw_str_part(struct srv_buf *b, const char *s, size_t n);
bool jw_cstr(struct srv_buf *b, const char *s);
/* A double as cJSON 1.7 prints it: %1.15g, or %1.17g when that does not read back; non-finite null. */
bool jw_num(struct srv_buf *b, double v);
/* The value i of d again (numbers as written, strings re-escaped). */
bool jw_value(struct srv_buf *b, const sj_doc *d, uint32_t i);
/* UTF-8 checks (util.c). True when s[0..n) is valid UTF-8 (no surrogates, no overlongs). */
bool srv_utf8_valid(const char *s, size_t n);
/* Length of the valid UTF-8 sequence at s[0..n), 0 when none starts there. */
size_t srv_utf8_seq(const unsigned char *s, size_t n);

#endif
