/*
 * pv_gguf_write.c — the GGUF v3 builder of pv_gguf_write.h.
 *
 * Owns: the serialized metadata section (built as keys are added, so it is already in file
 * form), the list of keys (for duplicate checks), and the tensors (name, shape, type, a copy of
 * the data). Writing lays out: header, metadata, tensor infos, zero padding to the alignment, then
 * each tensor's data at the next multiple of the alignment (offsets relative to the data start).
 * Invariant: a failed add leaves the writer as it was before the call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devkit/gguf_write.h"

typedef struct bytes {
  uint8_t *p;
  uint64_t len, cap;
} bytes;

typedef struct wtensor {
  char name[PV_GGUF_WRITER_MAX_NAME + 1];
  pv_dtype type;
  uint32_t n_dims;
  uint64_t ne[PV_GGUF_MAX_DIMS];
  uint8_t *data;
  uint64_t nbytes;
  uint64_t offset; /* relative to the data section */
} wtensor;

struct pv_gguf_writer {
  bytes kv;       /* serialized key/value pairs */
  uint64_t n_kv;
  char **keys;
  uint64_t keys_cap;
  wtensor *tensors;
  uint64_t n_tensors, tensors_cap;
  uint64_t alignment;
  uint64_t data_size; /* bytes of the data section so far (aligned) */
};

/* ---- byte buffer ---------------------------------------------------------------------------- */

static bool grow(void **p, uint64_t *cap, uint64_t need, size_t elem) {
  if (need <= *cap) return true;
  uint64_t c = *cap ? *cap : 16;
  while (c < need) c *= 2;
  void *q = realloc(*p, c * elem);
  if (!q) return false;
  *p = q;
  *cap = c;
  return true;
}

static bool put(bytes *b, const void *src, uint64_t n) {
  if (!grow((void **)&b->p, &b->cap, b->len + n, 1)) return false;
  if (n) memcpy(b->p + b->len, src, n);
  b->len += n;
  return true;
}

static bool put_le(bytes *b, uint64_t v, unsigned n) {
  uint8_t tmp[8];
  for (unsigned i = 0; i < n; i++) tmp[i] = (uint8_t)(v >> (8 * i));
  return put(b, tmp, n);
}

static bool put_str(bytes *b, const char *s, uint64_t n) { return put_le(b, n, 8) && put(b, s, n); }

/* ---- writer --------------------------------------------------------------------------------- */

int pv_gguf_writer_create(pv_gguf_writer **out, pv_error *err) {
  *out = pv_calloc(1, sizeof **out);
  if (!*out) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "gguf writer: out of memory");
  (*out)->alignment = PV_GGUF_DEFAULT_ALIGNMENT;
  return PAGEDVK_OK;
}

void pv_gguf_writer_destroy(pv_gguf_writer *w) {
  if (!w) return;
  for (uint64_t i = 0; i < w->n_kv; i++) free(w->keys[i]);
  for (uint64_t i = 0; i < w->n_tensors; i++) free(w->tensors[i].data);
  free(w->keys);
  free(w->tensors);
  free(w->kv.p);
  free(w);
}

/* Starts a key: checks uniqueness, writes the key and type. On failure nothing changes. */
static int begin_kv(pv_gguf_writer *w, const char *key, pv_gguf_vtype t, uint64_t *mark, pv_error *err) {
  for (uint64_t i = 0; i < w->n_kv; i++)
    if (!strcmp(w->keys[i], key)) return pv_fail(err, PAGEDVK_ERR_INVALID, "gguf writer: duplicate key '%s'", key);
  *mark = w->kv.len;
  if (!put_str(&w->kv, key, strlen(key)) || !put_le(&w->kv, (uint64_t)t, 4)) {
    w->kv.len = *mark;
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "gguf writer: out of memory for key '%s'", key);
  }
  return PAGEDVK_OK;
}

/* Finishes a key whose value was written (ok) or rolls it back. */
static int end_kv(pv_gguf_writer *w, const char *key, uint64_t mark, bool ok, pv_error *err) {
  char *copy = ok ? strdup(key) : NULL;
  if (!copy || !grow((void **)&w->keys, &w->keys_cap, w->n_kv + 1, sizeof *w->keys)) {
    free(copy);
    w->kv.len = mark;
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "gguf writer: out of memory for key '%s'", key);
  }
  w->keys[w->n_kv++] = copy;
  return PAGEDVK_OK;
}

static int add_scalar(pv_gguf_writer *w, const char *key, pv_gguf_vtype t, uint64_t bits, pv_error *err) {
  uint64_t mark;
  int rc = begin_kv(w, key, t, &mark, err);
  if (rc) return rc;
  return end_kv(w, key, mark, put_le(&w->kv, bits, (unsigned)pv_gguf_vtype_size(t)), err);
}

int pv_gguf_writer_add_u8(pv_gguf_writer *w, const char *key, uint8_t v, pv_error *err) {
  return add_scalar(w, key, PV_GGUF_VT_UINT8, v, err);
}
int pv_gguf_writer_add_i8(pv_gguf_writer *w, const char *key, int8_t v, pv_error *err) {
  return add_scalar(w, key, PV_GGUF_VT_INT8, (uint8_t)v, err);
}
int pv_gguf_writer_add_u16(pv_gguf_writer *w, const char *key, uint16_t v, pv_error *err) {
  return add_scalar(w, key, PV_GGUF_VT_UINT16, v, err);
}
int pv_gguf_writer_add_i16(pv_gguf_writer *w, const char *key, int16_t v, pv_error *err) {
  return add_scalar(w, key, PV_GGUF_VT_INT16, (uint16_t)v, err);
}
int pv_gguf_writer_add_u32(pv_gguf_writer *w, const char *key, uint32_t v, pv_error *err) {
  return add_scalar(w, key, PV_GGUF_VT_UINT32, v, err);
}
int pv_gguf_writer_add_i32(pv_gguf_writer *w, const char *key, int32_t v, pv_error *err) {
  return add_scalar(w, key, PV_GGUF_VT_INT32, (uint32_t)v, err);
}
int pv_gguf_writer_add_u64(pv_gguf_writer *w, const char *key, uint64_t v, pv_error *err) {
  return add_scalar(w, key, PV_GGUF_VT_UINT64, v, err);
}
int pv_gguf_writer_add_i64(pv_gguf_writer *w, const char *key, int64_t v, pv_error *err) {
  return add_scalar(w, key, PV_GGUF_VT_INT64, (uint64_t)v, err);
}
int pv_gguf_writer_add_f32(pv_gguf_writer *w, const char *key, float v, pv_error *err) {
  uint32_t bits;
  memcpy(&bits, &v, 4);
  return add_scalar(w, key, PV_GGUF_VT_FLOAT32, bits, err);
}
int pv_gguf_writer_add_f64(pv_gguf_writer *w, const char *key, double v, pv_error *err) {
  uint64_t bits;
  memcpy(&bits, &v, 8);
  return add_scalar(w, key, PV_GGUF_VT_FLOAT64, bits, err);
}
int pv_gguf_writer_add_bool(pv_gguf_writer *w, const char *key, bool v, pv_error *err) {
  return add_scalar(w, key, PV_GGUF_VT_BOOL, v ? 1 : 0, err);
}

int pv_gguf_writer_add_str(pv_gguf_writer *w, const char *key, const char *v, pv_error *err) {
  uint64_t mark;
  int rc = begin_kv(w, key, PV_GGUF_VT_STRING, &mark, err);
  if (rc) return rc;
  return end_kv(w, key, mark, put_str(&w->kv, v, strlen(v)), err);
}

int pv_gguf_writer_set_alignment(pv_gguf_writer *w, uint32_t alignment, pv_error *err) {
  if (alignment == 0 || (alignment & (alignment - 1)))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "gguf writer: alignment %u is not a non-zero power of two", alignment);
  if (w->n_tensors)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "gguf writer: set the alignment before adding tensors");
  int rc = pv_gguf_writer_add_u32(w, "general.alignment", alignment, err);
  if (!rc) w->alignment = alignment;
  return rc;
}

int pv_gguf_writer_add_arr(pv_gguf_writer *w, const char *key, pv_gguf_vtype elem_type, const void *data, uint64_t n,
                        pv_error *err) {
  uint64_t esize = pv_gguf_vtype_size(elem_type), total, mark;
  if (!esize) return pv_fail(err, PAGEDVK_ERR_INVALID, "gguf writer: key '%s': %s is not a scalar element type",
                             key, pv_gguf_vtype_name(elem_type));
  if (!pv_mul_u64(esize, n, &total)) return pv_fail(err, PAGEDVK_ERR_INVALID, "gguf writer: key '%s': array too large", key);
  int rc = begin_kv(w, key, PV_GGUF_VT_ARRAY, &mark, err);
  if (rc) return rc;
  bool ok = put_le(&w->kv, (uint64_t)elem_type, 4) && put_le(&w->kv, n, 8) && put(&w->kv, data, total);
  return end_kv(w, key, mark, ok, err);
}

int pv_gguf_writer_add_arr_str(pv_gguf_writer *w, const char *key, const char *const *strs, uint64_t n, pv_error *err) {
  uint64_t mark;
  int rc = begin_kv(w, key, PV_GGUF_VT_ARRAY, &mark, err);
  if (rc) return rc;
  bool ok = put_le(&w->kv, PV_GGUF_VT_STRING, 4) && put_le(&w->kv, n, 8);
  for (uint64_t i = 0; ok && i < n; i++) ok = put_str(&w->kv, strs[i], strlen(strs[i]));
  return end_kv(w, key, mark, ok, err);
}

/* Serializes a parsed value's payload (not its type tag). */
static bool put_value(bytes *b, const pv_gguf_value *v) {
  if (v->type == PV_GGUF_VT_STRING) return put_str(b, v->v.str.ptr, v->v.str.len);
  if (v->type != PV_GGUF_VT_ARRAY) {
    uint64_t bits = v->v.u64;
    if (v->type == PV_GGUF_VT_FLOAT32) {
      float f = (float)v->v.f64;
      uint32_t u;
      memcpy(&u, &f, 4);
      bits = u;
    }
    return put_le(b, bits, (unsigned)pv_gguf_vtype_size(v->type));
  }
  const pv_gguf_array *a = &v->v.arr;
  if (!put_le(b, (uint64_t)a->elem_type, 4) || !put_le(b, a->n, 8)) return false;
  uint64_t esize = pv_gguf_vtype_size(a->elem_type);
  if (esize) return put(b, a->data, esize * a->n);
  for (uint64_t i = 0; i < a->n; i++) {
    bool ok = a->elem_type == PV_GGUF_VT_STRING ? put_str(b, a->strs[i].ptr, a->strs[i].len)
                                             : put_value(b, &a->items[i]);
    if (!ok) return false;
  }
  return true;
}

int pv_gguf_writer_add_value(pv_gguf_writer *w, const char *key, const pv_gguf_value *v, pv_error *err) {
  if ((unsigned)v->type >= PV_GGUF_VT_COUNT)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "gguf writer: key '%s': unknown value type %u", key, (unsigned)v->type);
  uint64_t mark;
  int rc = begin_kv(w, key, v->type, &mark, err);
  if (rc) return rc;
  return end_kv(w, key, mark, put_value(&w->kv, v), err);
}

int pv_gguf_writer_copy_kv_prefix(pv_gguf_writer *w, const pv_gguf_file *src, const char *prefix, pv_error *err) {
  size_t plen = strlen(prefix);
  for (uint64_t i = 0; i < src->n_kv; i++) {
    const pv_gguf_kv *kv = &src->kv[i];
    if (kv->key.len < plen || memcmp(kv->key.ptr, prefix, plen) != 0) continue;
    char *key = strndup(kv->key.ptr, kv->key.len);
    if (!key) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "gguf writer: out of memory");
    int rc = strlen(key) == kv->key.len ? pv_gguf_writer_add_value(w, key, &kv->value, err)
                                        : pv_fail(err, PAGEDVK_ERR_INVALID, "gguf writer: key %llu contains a NUL byte",
                                                  (unsigned long long)i);
    free(key);
    if (rc) return rc;
  }
  return PAGEDVK_OK;
}

int pv_gguf_writer_copy_tokenizer(pv_gguf_writer *w, const pv_gguf_file *src, pv_error *err) {
  return pv_gguf_writer_copy_kv_prefix(w, src, "tokenizer.", err);
}

/* ---- tensors ------------------------------------------------------------------------------ */

static int check_tensor(const pv_gguf_writer *w, const char *name, pv_dtype type, uint32_t n_dims, const uint64_t *ne,
                        uint64_t nbytes, pv_error *err) {
  const pv_dtype_info *info = pv_dtype_get((uint32_t)type);
  if (strlen(name) == 0 || strlen(name) > PV_GGUF_WRITER_MAX_NAME)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "gguf writer: tensor name '%s' must be 1..%d bytes", name, PV_GGUF_WRITER_MAX_NAME);
  for (uint64_t i = 0; i < w->n_tensors; i++)
    if (!strcmp(w->tensors[i].name, name)) return pv_fail(err, PAGEDVK_ERR_INVALID, "gguf writer: duplicate tensor '%s'", name);
  if (!info) return pv_fail(err, PAGEDVK_ERR_INVALID, "gguf writer: tensor '%s': unknown type %u", name, (unsigned)type);
  if (n_dims < 1 || n_dims > PV_GGUF_MAX_DIMS)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "gguf writer: tensor '%s': %u dimensions", name, n_dims);
  uint64_t size;
  bool ok = pv_dtype_row_bytes(type, ne[0], &size);
  for (uint32_t d = 1; ok && d < n_dims; d++) ok = pv_mul_u64(size, ne[d], &size);
  if (!ok || size != nbytes)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "gguf writer: tensor '%s': %llu bytes given, shape and type %s need %llu",
                   name, (unsigned long long)nbytes, info->name, ok ? (unsigned long long)size : 0ull);
  return PAGEDVK_OK;
}

int pv_gguf_writer_add_tensor(pv_gguf_writer *w, const char *name, pv_dtype type, uint32_t n_dims, const uint64_t *ne,
                           const void *data, uint64_t nbytes, pv_error *err) {
  int rc = check_tensor(w, name, type, n_dims, ne, nbytes, err);
  if (rc) return rc;
  if (!grow((void **)&w->tensors, &w->tensors_cap, w->n_tensors + 1, sizeof *w->tensors))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "gguf writer: out of memory");
  wtensor *t = &w->tensors[w->n_tensors];
  memset(t, 0, sizeof *t);
  t->data = malloc(nbytes ? nbytes : 1);
  if (!t->data) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "gguf writer: out of memory for tensor '%s'", name);
  memcpy(t->data, data, nbytes);
  snprintf(t->name, sizeof t->name, "%s", name);
  t->type = type;
  t->n_dims = n_dims;
  for (uint32_t d = 0; d < PV_GGUF_MAX_DIMS; d++) t->ne[d] = d < n_dims ? ne[d] : 1;
  t->nbytes = nbytes;
  t->offset = w->data_size;
  w->data_size = pv_align_up(w->data_size + nbytes, w->alignment);
  w->n_tensors++;
  return PAGEDVK_OK;
}

/* ---- output ------------------------------------------------------------------------------- */

/* Header, metadata and tensor infos, padded to the alignment. */
static bool build_head(const pv_gguf_writer *w, bytes *h) {
  bool ok = put(h, PV_GGUF_MAGIC, 4) && put_le(h, 3, 4) && put_le(h, w->n_tensors, 8) && put_le(h, w->n_kv, 8) &&
            put(h, w->kv.p, w->kv.len);
  for (uint64_t i = 0; ok && i < w->n_tensors; i++) {
    const wtensor *t = &w->tensors[i];
    ok = put_str(h, t->name, strlen(t->name)) && put_le(h, t->n_dims, 4);
    for (uint32_t d = 0; ok && d < t->n_dims; d++) ok = put_le(h, t->ne[d], 8);
    ok = ok && put_le(h, (uint64_t)t->type, 4) && put_le(h, t->offset, 8);
  }
  static const uint8_t zeros[256];
  while (ok && h->len % w->alignment) {
    uint64_t pad = w->alignment - h->len % w->alignment;
    ok = put(h, zeros, pad < sizeof zeros ? pad : sizeof zeros);
  }
  return ok;
}

/* Emits the file through `emit` (a FILE or a memory buffer). */
typedef bool (*emit_fn)(void *sink, const void *p, uint64_t n);

static int emit_file(const pv_gguf_writer *w, emit_fn emit, void *sink, pv_error *err) {
  bytes head = {0};
  if (!build_head(w, &head)) {
    free(head.p);
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "gguf writer: out of memory");
  }
  bool ok = emit(sink, head.p, head.len);
  free(head.p);
  static const uint8_t zeros[256];
  uint64_t pos = 0;
  for (uint64_t i = 0; ok && i < w->n_tensors; i++) {
    const wtensor *t = &w->tensors[i];
    while (ok && pos < t->offset) {
      uint64_t pad = t->offset - pos < sizeof zeros ? t->offset - pos : sizeof zeros;
      ok = emit(sink, zeros, pad);
      pos += pad;
    }
    ok = ok && emit(sink, t->data, t->nbytes);
    pos += t->nbytes;
  }
  return ok ? PAGEDVK_OK : pv_fail(err, PAGEDVK_ERR_IO, "gguf writer: write failed");
}

static bool emit_stdio(void *sink, const void *p, uint64_t n) { return fwrite(p, 1, n, sink) == n; }
static bool emit_bytes(void *sink, const void *p, uint64_t n) { return put(sink, p, n); }

int pv_gguf_writer_write(const pv_gguf_writer *w, const char *path, pv_error *err) {
  FILE *f = fopen(path, "wb");
  if (!f) return pv_fail(err, PAGEDVK_ERR_IO, "gguf writer: cannot create '%s'", path);
  int rc = emit_file(w, emit_stdio, f, err);
  if (fclose(f) != 0 && !rc) rc = pv_fail(err, PAGEDVK_ERR_IO, "gguf writer: cannot finish writing '%s'", path);
  if (rc) remove(path);
  return rc;
}

int pv_gguf_writer_to_memory(const pv_gguf_writer *w, uint8_t **out, uint64_t *size, pv_error *err) {
  bytes b = {0};
  int rc = emit_file(w, emit_bytes, &b, err);
  if (rc) {
    free(b.p);
    return rc == PAGEDVK_ERR_IO ? pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "gguf writer: out of memory") : rc;
  }
  *out = b.p;
  *size = b.len;
  return PAGEDVK_OK;
}
