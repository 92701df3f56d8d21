/*
 * gguf.c — parses a GGUF v2/v3 file (little-endian) from an mmap'd file or a caller's buffer.
 *
 * Layout read here: magic "GGUF", u32 version, u64 tensor count, u64 metadata count; then the
 * key/value pairs (string key, u32 value type, value; arrays are u32 element type, u64 count,
 * elements, possibly arrays again); then the tensor infos (string name, u32 n_dims, u64 ne[n_dims],
 * u32 type, u64 offset); then padding to `general.alignment`; then the tensor data.
 *
 * Invariants:
 *  - Nothing is read or allocated before the bytes it needs are known to lie in the file: every
 *    count is first multiplied (overflow-checked) by the smallest encoding of one element and
 *    compared with the bytes left, so a count of 2^60 fails before any allocation.
 *  - Every error is PAGEDVK_ERR_FORMAT (malformed) or PAGEDVK_ERR_UNSUPPORTED (v1, big-endian,
 *    newer versions) with a message naming the item, the field and its byte offset.
 *  - Keys and tensor names are unique (hash indexes built while parsing); strings point into the
 *    mapping; the parsed tree is freed completely on every error path.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf/gguf.h"

#include "base/hmap.h"

/* Smallest encodings, used to bound counts before allocating. */
#define MIN_KV_BYTES 13     /* u64 key length + u32 type + 1-byte value */
#define MIN_TENSOR_BYTES 24 /* u64 name length + u32 n_dims + u32 type + u64 offset */
#define MIN_STR_BYTES 8     /* u64 length */
#define MIN_ARR_BYTES 12    /* u32 element type + u64 count */

typedef struct pv_gguf_impl {
  pv_gguf_file pub; /* first: pv_gguf_file pointers are pv_gguf_impl pointers */
  pv_hmap keys;  /* pv_hash_bytes(key) → kv index */
  pv_hmap names; /* pv_hash_bytes(tensor name) → tensor index */
  size_t map_size; /* non-zero when base is our mapping */
} pv_gguf_impl;

/* The read cursor: where we are and what we are reading (for messages). */
typedef struct reader {
  const uint8_t *base;
  uint64_t size;
  uint64_t pos;
  pv_error *err;
  char where[160]; /* "header", "kv 3 'general.name'", "tensor 2 'output.weight'" */
} reader;

/* ---- small helpers -------------------------------------------------------------------------- */

static uint64_t load_le(const uint8_t *p, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* A file string as printable text for messages (pv_escape: escaped, cut to fit buf). */
static const char *printable(pv_gguf_str s, char *buf, size_t size) { return pv_escape(s.ptr, s.len, buf, size); }

static int fail_at(reader *r, const char *field, uint64_t at, const char *what) {
  return pv_fail(r->err, PAGEDVK_ERR_FORMAT, "gguf: %s: %s at offset %llu %s", r->where, field,
                 (unsigned long long)at, what);
}

/* Fails unless n more bytes are in the file. */
static int need(reader *r, uint64_t n, const char *field) {
  uint64_t left = r->size - r->pos;
  if (n <= left) return PAGEDVK_OK;
  return pv_fail(r->err, PAGEDVK_ERR_FORMAT,
                 "gguf: %s: %s at offset %llu needs %llu bytes but only %llu remain (file size %llu)",
                 r->where, field, (unsigned long long)r->pos, (unsigned long long)n,
                 (unsigned long long)left, (unsigned long long)r->size);
}

/* Fails unless count items of at least `each` bytes can fit in the rest of the file; `at` is
 * where the count was read. */
static int need_count(reader *r, uint64_t count, uint64_t each, const char *field, uint64_t at) {
  uint64_t bytes;
  if (!pv_mul_u64(count, each, &bytes) || bytes > r->size - r->pos)
    return pv_fail(r->err, PAGEDVK_ERR_FORMAT,
                   "gguf: %s: %s %llu at offset %llu needs at least %llu bytes x %llu but only %llu remain (file size %llu)",
                   r->where, field, (unsigned long long)count, (unsigned long long)at, (unsigned long long)each,
                   (unsigned long long)count, (unsigned long long)(r->size - r->pos), (unsigned long long)r->size);
  return PAGEDVK_OK;
}

static int read_uint(reader *r, unsigned n, uint64_t *out, const char *field) {
  int rc = need(r, n, field);
  if (rc) return rc;
  *out = load_le(r->base + r->pos, n);
  r->pos += n;
  return PAGEDVK_OK;
}

static int read_u32(reader *r, uint32_t *out, const char *field) {
  uint64_t v = 0;
  int rc = read_uint(r, 4, &v, field);
  *out = (uint32_t)v;
  return rc;
}

static int read_str(reader *r, pv_gguf_str *s, const char *field) {
  uint64_t at = r->pos, len;
  int rc = read_uint(r, 8, &len, field);
  if (rc) return rc;
  if (len > r->size - r->pos) {
    char what[160];
    snprintf(what, sizeof what, "is %llu bytes but only %llu remain (file size %llu)",
             (unsigned long long)len, (unsigned long long)(r->size - r->pos),
             (unsigned long long)r->size);
    return fail_at(r, field, at, what);
  }
  s->ptr = (const char *)r->base + r->pos;
  s->len = len;
  r->pos += len;
  return PAGEDVK_OK;
}

/* ---- name index ---------------------------------------------------------------------------------
 * Keys and tensor names stay in the file: the maps hold their hashes and the item numbers, and
 * a lookup compares the name of the item found (items[i] is a struct whose first field is its name,
 * `stride` bytes apart). */

typedef struct name_items {
  const void *items;
  size_t stride;
} name_items;

typedef struct name_key {
  const char *p;
  uint64_t n;
} name_key;

static const pv_gguf_str *item_name(const name_items *it, uint64_t i) {
  return (const pv_gguf_str *)((const char *)it->items + i * it->stride);
}

static bool same_name(uint64_t i, const void *key, void *user) {
  const name_key *k = key;
  const pv_gguf_str *s = item_name(user, i);
  return s->len == k->n && memcmp(s->ptr, k->p, k->n) == 0;
}

static int index_init(pv_hmap *ix, uint64_t n, pv_error *err) {
  if (n > SIZE_MAX / 4 || pv_hmap_init(ix, (size_t)n))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "gguf: out of memory for %llu names", (unsigned long long)n);
  return PAGEDVK_OK;
}

static const void *index_find(const pv_hmap *ix, const char *p, uint64_t n, const void *items, size_t stride) {
  name_items it = {items, stride};
  name_key k = {p, n};
  uint64_t i;
  if (!pv_hmap_find(ix, pv_hash_bytes(p, n), same_name, &k, &it, &i)) return NULL;
  return (const char *)items + i * stride;
}

/* Adds item i (whose name is at items + i*stride): PAGEDVK_OK, PAGEDVK_ERR_FORMAT when the name is
 * already present, or PAGEDVK_ERR_NO_MEMORY. */
static int index_add(pv_hmap *ix, const void *items, size_t stride, uint64_t i) {
  name_items it = {items, stride};
  const pv_gguf_str *s = item_name(&it, i);
  name_key k = {s->ptr, s->len};
  uint64_t h = pv_hash_bytes(s->ptr, s->len);
  if (pv_hmap_find(ix, h, same_name, &k, &it, NULL)) return PAGEDVK_ERR_FORMAT;
  return pv_hmap_add(ix, h, i);
}

/* ---- values --------------------------------------------------------------------------------- */

uint64_t pv_gguf_vtype_size(pv_gguf_vtype t) {
  switch (t) {
    case PV_GGUF_VT_UINT8: case PV_GGUF_VT_INT8: case PV_GGUF_VT_BOOL: return 1;
    case PV_GGUF_VT_UINT16: case PV_GGUF_VT_INT16: return 2;
    case PV_GGUF_VT_UINT32: case PV_GGUF_VT_INT32: case PV_GGUF_VT_FLOAT32: return 4;
    case PV_GGUF_VT_UINT64: case PV_GGUF_VT_INT64: case PV_GGUF_VT_FLOAT64: return 8;
    default: return 0;
  }
}

static bool is_unsigned(pv_gguf_vtype t) {
  return t == PV_GGUF_VT_UINT8 || t == PV_GGUF_VT_UINT16 || t == PV_GGUF_VT_UINT32 || t == PV_GGUF_VT_UINT64 ||
         t == PV_GGUF_VT_BOOL;
}
static bool is_signed(pv_gguf_vtype t) {
  return t == PV_GGUF_VT_INT8 || t == PV_GGUF_VT_INT16 || t == PV_GGUF_VT_INT32 || t == PV_GGUF_VT_INT64;
}

/* Widens the scalar of type t at p into v. */
static void decode_scalar(pv_gguf_vtype t, const uint8_t *p, pv_gguf_value *v) {
  unsigned n = (unsigned)pv_gguf_vtype_size(t);
  uint64_t raw = load_le(p, n);
  v->type = t;
  if (t == PV_GGUF_VT_BOOL) v->v.u64 = raw != 0;
  else if (is_unsigned(t)) v->v.u64 = raw;
  else if (is_signed(t)) {
    unsigned shift = 64 - 8 * n;
    v->v.i64 = (int64_t)(raw << shift) >> shift;
  } else if (t == PV_GGUF_VT_FLOAT32) {
    uint32_t b = (uint32_t)raw;
    float f;
    memcpy(&f, &b, 4);
    v->v.f64 = f;
  } else {
    double d;
    memcpy(&d, &raw, 8);
    v->v.f64 = d;
  }
}

static void free_array(pv_gguf_array *a) {
  if (a->items)
    for (uint64_t i = 0; i < a->n; i++)
      if (a->items[i].type == PV_GGUF_VT_ARRAY) free_array(&a->items[i].v.arr);
  free(a->items);
  free(a->strs);
  a->items = NULL;
  a->strs = NULL;
}

static int read_value(reader *r, pv_gguf_vtype t, pv_gguf_value *v, unsigned depth);

static int read_elem_type(reader *r, pv_gguf_vtype *t) {
  uint64_t at = r->pos;
  uint32_t raw;
  int rc = read_u32(r, &raw, "array element type");
  if (rc) return rc;
  if (raw >= PV_GGUF_VT_COUNT) {
    char what[64];
    snprintf(what, sizeof what, "is %u, not a known value type", raw);
    return fail_at(r, "array element type", at, what);
  }
  *t = (pv_gguf_vtype)raw;
  return PAGEDVK_OK;
}

static int read_array(reader *r, pv_gguf_array *a, unsigned depth) {
  uint64_t at = r->pos;
  if (depth > PV_GGUF_MAX_ARRAY_DEPTH) {
    char what[80];
    snprintf(what, sizeof what, "nests arrays deeper than %d levels", PV_GGUF_MAX_ARRAY_DEPTH);
    return fail_at(r, "array", at, what);
  }
  pv_gguf_vtype et = PV_GGUF_VT_UINT8;
  uint64_t n = 0;
  int rc = read_elem_type(r, &et);
  if (!rc) rc = read_uint(r, 8, &n, "array count");
  if (rc) return rc;
  a->elem_type = et;
  uint64_t esize = pv_gguf_vtype_size(et), count_at = at + 4;
  if (esize) {
    if ((rc = need_count(r, n, esize, "scalar array count", count_at))) return rc;
    a->n = n;
    a->data = r->base + r->pos;
    r->pos += n * esize;
    return PAGEDVK_OK;
  }
  if (et == PV_GGUF_VT_STRING) {
    if ((rc = need_count(r, n, MIN_STR_BYTES, "string array count", count_at))) return rc;
    if (n && !(a->strs = pv_calloc(n, sizeof *a->strs)))
      return pv_fail(r->err, PAGEDVK_ERR_NO_MEMORY, "gguf: %s: out of memory", r->where);
    a->n = n;
    for (uint64_t i = 0; i < n; i++)
      if ((rc = read_str(r, &a->strs[i], "array string length"))) return rc;
    return PAGEDVK_OK;
  }
  if ((rc = need_count(r, n, MIN_ARR_BYTES, "nested array count", count_at))) return rc;
  if (n && !(a->items = pv_calloc(n, sizeof *a->items)))
    return pv_fail(r->err, PAGEDVK_ERR_NO_MEMORY, "gguf: %s: out of memory", r->where);
  a->n = n;
  for (uint64_t i = 0; i < n; i++)
    if ((rc = read_value(r, PV_GGUF_VT_ARRAY, &a->items[i], depth + 1))) return rc;
  return PAGEDVK_OK;
}

static int read_value(reader *r, pv_gguf_vtype t, pv_gguf_value *v, unsigned depth) {
  v->type = t;
  if (t == PV_GGUF_VT_STRING) return read_str(r, &v->v.str, "string value length");
  if (t == PV_GGUF_VT_ARRAY) {
    memset(&v->v.arr, 0, sizeof v->v.arr);
    return read_array(r, &v->v.arr, depth);
  }
  uint64_t n = pv_gguf_vtype_size(t);
  int rc = need(r, n, "value");
  if (rc) return rc;
  decode_scalar(t, r->base + r->pos, v);
  r->pos += n;
  return PAGEDVK_OK;
}

/* ---- header, metadata, tensor infos --------------------------------------------------------- */

static int read_header(reader *r, pv_gguf_file *f, uint64_t *n_tensors, uint64_t *n_kv) {
  snprintf(r->where, sizeof r->where, "header");
  int rc = need(r, 8, "magic and version");
  if (rc) return rc;
  if (memcmp(r->base, PV_GGUF_MAGIC, 4) != 0)
    return pv_fail(r->err, PAGEDVK_ERR_FORMAT, "gguf: header: magic at offset 0 is not \"GGUF\" (not a GGUF file)");
  r->pos = 4;
  uint32_t version;
  read_u32(r, &version, "version");
  uint32_t swapped = __builtin_bswap32(version);
  if ((version & 0xffff) == 0 && swapped >= 1 && swapped <= 3)
    return pv_fail(r->err, PAGEDVK_ERR_UNSUPPORTED,
                   "gguf: header: version at offset 4 reads as big-endian %u; big-endian GGUF files are not supported", swapped);
  if (version == 1)
    return pv_fail(r->err, PAGEDVK_ERR_UNSUPPORTED, "gguf: header: version 1 (offset 4) is not supported (only v2 and v3)");
  if (version == 0 || version > 3)
    return pv_fail(r->err, version ? PAGEDVK_ERR_UNSUPPORTED : PAGEDVK_ERR_FORMAT,
                   "gguf: header: version %u at offset 4 is not supported (only v2 and v3)", version);
  f->version = version;
  if ((rc = read_uint(r, 8, n_tensors, "tensor count"))) return rc;
  if ((rc = read_uint(r, 8, n_kv, "metadata count"))) return rc;
  if ((rc = need_count(r, *n_kv, MIN_KV_BYTES, "metadata count", 16))) return rc;
  /* The tensor infos come after the metadata, so this bound is loose but already safe. */
  return need_count(r, *n_tensors, MIN_TENSOR_BYTES, "tensor count", 8);
}

static int read_kv(reader *r, pv_gguf_impl *g, uint64_t i) {
  pv_gguf_kv *kv = &g->pub.kv[i];
  char name[80];
  snprintf(r->where, sizeof r->where, "kv %llu", (unsigned long long)i);
  int rc = read_str(r, &kv->key, "key length");
  if (rc) return rc;
  snprintf(r->where, sizeof r->where, "kv %llu '%s'", (unsigned long long)i,
           printable(kv->key, name, sizeof name));
  g->pub.n_kv = i + 1; /* counted from here on so that pv_gguf_close frees a half-read value */
  uint64_t at = r->pos;
  uint32_t t;
  if ((rc = read_u32(r, &t, "value type"))) return rc;
  if (t >= PV_GGUF_VT_COUNT) {
    char what[64];
    snprintf(what, sizeof what, "is %u, not a known value type", t);
    return fail_at(r, "value type", at, what);
  }
  if ((rc = read_value(r, (pv_gguf_vtype)t, &kv->value, 1))) return rc;
  if ((rc = index_add(&g->keys, g->pub.kv, sizeof *g->pub.kv, i)))
    return pv_fail(r->err, rc, "gguf: %s: %s", r->where, rc == PAGEDVK_ERR_FORMAT ? "duplicate key" : "out of memory");
  return PAGEDVK_OK;
}

static int read_tensor_info(reader *r, pv_gguf_impl *g, uint64_t i) {
  pv_gguf_tensor *t = &g->pub.tensors[i];
  char name[80];
  snprintf(r->where, sizeof r->where, "tensor %llu", (unsigned long long)i);
  int rc = read_str(r, &t->name, "name length");
  if (rc) return rc;
  snprintf(r->where, sizeof r->where, "tensor %llu '%s'", (unsigned long long)i,
           printable(t->name, name, sizeof name));
  uint64_t at = r->pos;
  if ((rc = read_u32(r, &t->n_dims, "n_dims"))) return rc;
  if (t->n_dims > PV_GGUF_MAX_DIMS) {
    char what[64];
    snprintf(what, sizeof what, "is %u, more than %d", t->n_dims, PV_GGUF_MAX_DIMS);
    return fail_at(r, "n_dims", at, what);
  }
  for (uint32_t d = 0; d < PV_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
  for (uint32_t d = 0; d < t->n_dims; d++) {
    at = r->pos;
    if ((rc = read_uint(r, 8, &t->ne[d], "dimension"))) return rc;
    if (t->ne[d] > (uint64_t)INT64_MAX) return fail_at(r, "dimension", at, "is negative as int64");
  }
  at = r->pos;
  uint32_t type;
  if ((rc = read_u32(r, &type, "type"))) return rc;
  if (!pv_dtype_get(type)) {
    char what[80];
    snprintf(what, sizeof what, "is %u, not a known tensor type", type);
    return fail_at(r, "type", at, what);
  }
  t->type = (pv_dtype)type;
  if ((rc = read_uint(r, 8, &t->offset, "data offset"))) return rc;
  g->pub.n_tensors = i + 1;
  if ((rc = index_add(&g->names, g->pub.tensors, sizeof *g->pub.tensors, i)))
    return pv_fail(r->err, rc, "gguf: %s: %s", r->where, rc == PAGEDVK_ERR_FORMAT ? "duplicate tensor name" : "out of memory");
  return PAGEDVK_OK;
}

static int read_alignment(reader *r, pv_gguf_file *f) {
  f->alignment = PV_GGUF_DEFAULT_ALIGNMENT;
  const pv_gguf_kv *kv = pv_gguf_find(f, "general.alignment");
  if (!kv) return PAGEDVK_OK;
  snprintf(r->where, sizeof r->where, "kv 'general.alignment'");
  if (!is_unsigned(kv->value.type) || kv->value.type == PV_GGUF_VT_BOOL)
    return pv_fail(r->err, PAGEDVK_ERR_FORMAT, "gguf: general.alignment has type %s, not an unsigned integer",
                   pv_gguf_vtype_name(kv->value.type));
  uint64_t a = kv->value.v.u64;
  if (a == 0 || (a & (a - 1)))
    return pv_fail(r->err, PAGEDVK_ERR_FORMAT, "gguf: general.alignment is %llu, not a non-zero power of two",
                   (unsigned long long)a);
  f->alignment = a;
  return PAGEDVK_OK;
}

/* Sizes each tensor from its type and shape and checks that its data lies in the file. */
static int place_tensor(pv_gguf_file *f, pv_gguf_tensor *t, uint64_t i, pv_error *err) {
  char name[80];
  const char *nm = printable(t->name, name, sizeof name);
  const pv_dtype_info *info = pv_dtype_get(t->type);
  uint64_t row, rows = 1, nbytes, start, end;
  if (!pv_dtype_row_bytes(t->type, t->ne[0], &row))
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "gguf: tensor %llu '%s': ne[0] = %llu is not a multiple of the %s block size %u",
                   (unsigned long long)i, nm, (unsigned long long)t->ne[0], info->name, info->block_elems);
  bool ok = true;
  uint64_t elems = t->ne[0];
  for (int d = 1; d < PV_GGUF_MAX_DIMS; d++) {
    ok = ok && pv_mul_u64(rows, t->ne[d], &rows) && pv_mul_u64(elems, t->ne[d], &elems);
  }
  ok = ok && elems <= (uint64_t)INT64_MAX && pv_mul_u64(row, rows, &nbytes);
  if (!ok)
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "gguf: tensor %llu '%s': shape [%llu, %llu, %llu, %llu] overflows",
                   (unsigned long long)i, nm, (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                   (unsigned long long)t->ne[2], (unsigned long long)t->ne[3]);
  if (t->offset % f->alignment)
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "gguf: tensor %llu '%s': data offset %llu is not a multiple of the alignment %llu",
                   (unsigned long long)i, nm, (unsigned long long)t->offset, (unsigned long long)f->alignment);
  if (!pv_add_u64(f->data_offset, t->offset, &start) || !pv_add_u64(start, nbytes, &end) || end > f->size)
    return pv_fail(err, PAGEDVK_ERR_FORMAT,
                   "gguf: tensor %llu '%s': data [offset %llu..%llu] (%llu bytes of %s) runs past end of file (size %llu)",
                   (unsigned long long)i, nm, (unsigned long long)(f->data_offset + t->offset),
                   (unsigned long long)(f->data_offset + t->offset + nbytes), (unsigned long long)nbytes,
                   info->name, (unsigned long long)f->size);
  t->nbytes = nbytes;
  t->data = f->base + start;
  return PAGEDVK_OK;
}

static int parse(pv_gguf_impl *g, pv_error *err) {
  pv_gguf_file *f = &g->pub;
  reader r = {.base = f->base, .size = f->size, .pos = 0, .err = err};
  uint64_t n_tensors = 0, n_kv = 0;
  int rc = read_header(&r, f, &n_tensors, &n_kv);
  if (rc) return rc;
  if (n_kv && !(f->kv = pv_calloc(n_kv, sizeof *f->kv)))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "gguf: out of memory for %llu metadata entries", (unsigned long long)n_kv);
  if ((rc = index_init(&g->keys, n_kv, err))) return rc;
  for (uint64_t i = 0; i < n_kv; i++)
    if ((rc = read_kv(&r, g, i))) return rc;
  snprintf(r.where, sizeof r.where, "tensor infos");
  if ((rc = need_count(&r, n_tensors, MIN_TENSOR_BYTES, "tensor count", 8))) return rc;
  if (n_tensors && !(f->tensors = pv_calloc(n_tensors, sizeof *f->tensors)))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "gguf: out of memory for %llu tensors", (unsigned long long)n_tensors);
  if ((rc = index_init(&g->names, n_tensors, err))) return rc;
  for (uint64_t i = 0; i < n_tensors; i++)
    if ((rc = read_tensor_info(&r, g, i))) return rc;
  if ((rc = read_alignment(&r, f))) return rc;
  if (!pv_add_u64(r.pos, f->alignment - 1, &f->data_offset))
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "gguf: data section start overflows");
  f->data_offset = f->data_offset / f->alignment * f->alignment;
  for (uint64_t i = 0; i < n_tensors; i++)
    if ((rc = place_tensor(f, &f->tensors[i], i, err))) return rc;
  return PAGEDVK_OK;
}

/* ---- open / close --------------------------------------------------------------------------- */

static int open_impl(pv_gguf_impl *g, pv_gguf_file **out, pv_error *err) {
  int rc = parse(g, err);
  if (rc) {
    pv_gguf_close(&g->pub);
    return rc;
  }
  *out = &g->pub;
  return PAGEDVK_OK;
}

int pv_gguf_open_memory(pv_gguf_file **out, const void *data, uint64_t size, pv_error *err) {
  *out = NULL;
  if (!data && size) return pv_fail(err, PAGEDVK_ERR_INVALID, "gguf: NULL buffer");
  pv_gguf_impl *g = pv_calloc(1, sizeof *g);
  if (!g) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "gguf: out of memory");
  g->pub.base = data;
  g->pub.size = size;
  g->pub.fd = -1;
  return open_impl(g, out, err);
}

int pv_gguf_open(pv_gguf_file **out, const char *path, pv_error *err) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return pv_fail(err, PAGEDVK_ERR_IO, "gguf: cannot open '%s'", path);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return pv_fail(err, PAGEDVK_ERR_IO, "gguf: '%s' is not a readable regular file", path);
  }
  if (st.st_size < 8) {
    close(fd);
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "gguf: '%s' is %lld bytes, too small for a GGUF header", path,
                   (long long)st.st_size);
  }
  void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) {
    close(fd);
    return pv_fail(err, PAGEDVK_ERR_IO, "gguf: cannot map '%s' (%lld bytes)", path, (long long)st.st_size);
  }
  pv_gguf_impl *g = pv_calloc(1, sizeof *g);
  if (!g) {
    munmap(map, (size_t)st.st_size);
    close(fd);
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "gguf: out of memory");
  }
  g->pub.base = map;
  g->pub.size = (uint64_t)st.st_size;
  g->pub.fd = fd;
  g->map_size = (size_t)st.st_size;
  return open_impl(g, out, err);
}

void pv_gguf_close(pv_gguf_file *f) {
  if (!f) return;
  pv_gguf_impl *g = (pv_gguf_impl *)f;
  for (uint64_t i = 0; i < f->n_kv; i++)
    if (f->kv[i].value.type == PV_GGUF_VT_ARRAY) free_array(&f->kv[i].value.v.arr);
  free(f->kv);
  free(f->tensors);
  pv_hmap_free(&g->keys);
  pv_hmap_free(&g->names);
  if (g->map_size) munmap((void *)f->base, g->map_size);
  if (f->fd >= 0) close(f->fd);
  free(g);
}

/* ---- lookups -------------------------------------------------------------------------------- */

bool pv_gguf_str_eq(pv_gguf_str s, const char *cstr) {
  size_t n = strlen(cstr);
  return s.len == n && memcmp(s.ptr, cstr, n) == 0;
}

const pv_gguf_kv *pv_gguf_find(const pv_gguf_file *f, const char *key) {
  const pv_gguf_impl *g = (const pv_gguf_impl *)f;
  return index_find(&g->keys, key, strlen(key), f->kv, sizeof *f->kv);
}

const pv_gguf_tensor *pv_gguf_find_tensor(const pv_gguf_file *f, const char *name) {
  const pv_gguf_impl *g = (const pv_gguf_impl *)f;
  return index_find(&g->names, name, strlen(name), f->tensors, sizeof *f->tensors);
}

static bool value_u64(const pv_gguf_value *v, uint64_t *out) {
  if (is_unsigned(v->type) && v->type != PV_GGUF_VT_BOOL) { *out = v->v.u64; return true; }
  if (is_signed(v->type) && v->v.i64 >= 0) { *out = (uint64_t)v->v.i64; return true; }
  return false;
}

bool pv_gguf_get_u64(const pv_gguf_file *f, const char *key, uint64_t *out) {
  const pv_gguf_kv *kv = pv_gguf_find(f, key);
  return kv && value_u64(&kv->value, out);
}

bool pv_gguf_get_i64(const pv_gguf_file *f, const char *key, int64_t *out) {
  const pv_gguf_kv *kv = pv_gguf_find(f, key);
  if (!kv) return false;
  if (is_signed(kv->value.type)) { *out = kv->value.v.i64; return true; }
  if (is_unsigned(kv->value.type) && kv->value.type != PV_GGUF_VT_BOOL && kv->value.v.u64 <= (uint64_t)INT64_MAX) {
    *out = (int64_t)kv->value.v.u64;
    return true;
  }
  return false;
}

bool pv_gguf_get_f64(const pv_gguf_file *f, const char *key, double *out) {
  const pv_gguf_kv *kv = pv_gguf_find(f, key);
  if (!kv || (kv->value.type != PV_GGUF_VT_FLOAT32 && kv->value.type != PV_GGUF_VT_FLOAT64)) return false;
  *out = kv->value.v.f64;
  return true;
}

bool pv_gguf_get_bool(const pv_gguf_file *f, const char *key, bool *out) {
  const pv_gguf_kv *kv = pv_gguf_find(f, key);
  if (!kv || kv->value.type != PV_GGUF_VT_BOOL) return false;
  *out = kv->value.v.u64 != 0;
  return true;
}

bool pv_gguf_get_str(const pv_gguf_file *f, const char *key, pv_gguf_str *out) {
  const pv_gguf_kv *kv = pv_gguf_find(f, key);
  if (!kv || kv->value.type != PV_GGUF_VT_STRING) return false;
  *out = kv->value.v.str;
  return true;
}

const pv_gguf_array *pv_gguf_get_arr(const pv_gguf_file *f, const char *key) {
  const pv_gguf_kv *kv = pv_gguf_find(f, key);
  return kv && kv->value.type == PV_GGUF_VT_ARRAY ? &kv->value.v.arr : NULL;
}

static bool arr_elem(const pv_gguf_array *a, uint64_t i, pv_gguf_value *v) {
  uint64_t size = pv_gguf_vtype_size(a->elem_type);
  if (!size || i >= a->n) return false;
  decode_scalar(a->elem_type, (const uint8_t *)a->data + i * size, v);
  return true;
}

bool pv_gguf_arr_u64(const pv_gguf_array *a, uint64_t i, uint64_t *out) {
  pv_gguf_value v;
  if (!arr_elem(a, i, &v) || !is_unsigned(v.type)) return false;
  *out = v.v.u64;
  return true;
}

bool pv_gguf_arr_i64(const pv_gguf_array *a, uint64_t i, int64_t *out) {
  pv_gguf_value v;
  if (!arr_elem(a, i, &v) || !is_signed(v.type)) return false;
  *out = v.v.i64;
  return true;
}

bool pv_gguf_arr_f64(const pv_gguf_array *a, uint64_t i, double *out) {
  pv_gguf_value v;
  if (!arr_elem(a, i, &v) || (v.type != PV_GGUF_VT_FLOAT32 && v.type != PV_GGUF_VT_FLOAT64)) return false;
  *out = v.v.f64;
  return true;
}

const char *pv_gguf_vtype_name(pv_gguf_vtype t) {
  static const char *names[PV_GGUF_VT_COUNT] = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
                                             "bool", "string", "array", "uint64", "int64", "float64"};
  return (unsigned)t < PV_GGUF_VT_COUNT ? names[t] : "unknown";
}
