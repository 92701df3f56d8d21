/*
 * pv_gguf_write.h — builds a GGUF v3 file: metadata of every value type, tensors, aligned data.
 *
 * Usage: pv_gguf_writer_create → pv_gguf_writer_add_* / pv_gguf_writer_add_tensor (in file order) →
 * pv_gguf_writer_write (to a path) or pv_gguf_writer_to_memory → pv_gguf_writer_destroy.
 * Keys and tensor names must be unique (a duplicate is PAGEDVK_ERR_INVALID); tensor names are at
 * most PV_GGUF_WRITER_MAX_NAME bytes (llama.cpp's limit). Tensor data is copied when added.
 * Every tensor's data starts at a multiple of the alignment (general.alignment when set with
 * pv_gguf_writer_set_alignment, which also records that key; 32 otherwise).
 */
#ifndef PV_GGUF_WRITE_H
#define PV_GGUF_WRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "gguf/gguf.h"

#define PV_GGUF_WRITER_MAX_NAME 63

typedef struct pv_gguf_writer pv_gguf_writer;

int pv_gguf_writer_create(pv_gguf_writer **out, pv_error *err);
void pv_gguf_writer_destroy(pv_gguf_writer *w);

/* Sets the data alignment (a power of two) and adds general.alignment (uint32). */
int pv_gguf_writer_set_alignment(pv_gguf_writer *w, uint32_t alignment, pv_error *err);

/* Scalars. */
int pv_gguf_writer_add_u8(pv_gguf_writer *w, const char *key, uint8_t v, pv_error *err);
int pv_gguf_writer_add_i8(pv_gguf_writer *w, const char *key, int8_t v, pv_error *err);
int pv_gguf_writer_add_u16(pv_gguf_writer *w, const char *key, uint16_t v, pv_error *err);
int pv_gguf_writer_add_i16(pv_gguf_writer *w, const char *key, int16_t v, pv_error *err);
int pv_gguf_writer_add_u32(pv_gguf_writer *w, const char *key, uint32_t v, pv_error *err);
int pv_gguf_writer_add_i32(pv_gguf_writer *w, const char *key, int32_t v, pv_error *err);
int pv_gguf_writer_add_u64(pv_gguf_writer *w, const char *key, uint64_t v, pv_error *err);
int pv_gguf_writer_add_i64(pv_gguf_writer *w, const char *key, int64_t v, pv_error *err);
int pv_gguf_writer_add_f32(pv_gguf_writer *w, const char *key, float v, pv_error *err);
int pv_gguf_writer_add_f64(pv_gguf_writer *w, const char *key, double v, pv_error *err);
int pv_gguf_writer_add_bool(pv_gguf_writer *w, const char *key, bool v, pv_error *err);
int pv_gguf_writer_add_str(pv_gguf_writer *w, const char *key, const char *v, pv_error *err);

/* Arrays: `data` holds n little-endian elements of a scalar type (not STRING/ARRAY). */
int pv_gguf_writer_add_arr(pv_gguf_writer *w, const char *key, pv_gguf_vtype elem_type, const void *data, uint64_t n,
                        pv_error *err);
/* Arrays of NUL-terminated strings. */
int pv_gguf_writer_add_arr_str(pv_gguf_writer *w, const char *key, const char *const *strs, uint64_t n, pv_error *err);
/* Any parsed value (from a pv_gguf_file), nested arrays included, copied deeply. */
int pv_gguf_writer_add_value(pv_gguf_writer *w, const char *key, const pv_gguf_value *v, pv_error *err);
/* Copies every key of `src` that starts with `prefix` (e.g. "tokenizer."), in file order. */
int pv_gguf_writer_copy_kv_prefix(pv_gguf_writer *w, const pv_gguf_file *src, const char *prefix, pv_error *err);
/* pv_gguf_writer_copy_kv_prefix(w, src, "tokenizer.", err). */
int pv_gguf_writer_copy_tokenizer(pv_gguf_writer *w, const pv_gguf_file *src, pv_error *err);

/* Adds a tensor: ne[0] is the row length (a multiple of the type's block size); nbytes must equal
 * the size implied by type and shape. The data is copied. */
int pv_gguf_writer_add_tensor(pv_gguf_writer *w, const char *name, pv_dtype type, uint32_t n_dims, const uint64_t *ne,
                           const void *data, uint64_t nbytes, pv_error *err);

/* Writes the file. */
int pv_gguf_writer_write(const pv_gguf_writer *w, const char *path, pv_error *err);
/* Writes into a malloc'd buffer (the caller frees it). */
int pv_gguf_writer_to_memory(const pv_gguf_writer *w, uint8_t **out, uint64_t *size, pv_error *err);

#endif /* PV_GGUF_WRITE_H */
