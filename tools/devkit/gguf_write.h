/*
 * gguf_write.h — builds a GGUF v3 file: metadata of every value type, tensors, aligned data.
 *
 * Usage: gguf_writer_create → gguf_writer_add_* / gguf_writer_add_tensor (in file order) →
 * gguf_writer_write (to a path) or gguf_writer_to_memory → gguf_writer_destroy.
 * Keys and tensor names must be unique (a duplicate is PAGEDVK_ERR_INVALID); tensor names are at
 * most GGUF_WRITER_MAX_NAME bytes (llama.cpp's limit). Tensor data is copied when added.
 * Every tensor's data starts at a multiple of the alignment (general.alignment when set with
 * gguf_writer_set_alignment, which also records that key; 32 otherwise).
 */
#ifndef PV_GGUF_WRITE_H
#define PV_GGUF_WRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "gguf/gguf.h"

#define GGUF_WRITER_MAX_NAME 63

typedef struct gguf_writer gguf_writer;

int gguf_writer_create(gguf_writer **out, pv_error *err);
void gguf_writer_destroy(gguf_writer *w);

/* Sets the data alignment (a power of two) and adds general.alignment (uint32). */
int gguf_writer_set_alignment(gguf_writer *w, uint32_t alignment, pv_error *err);

/* Scalars. */
int gguf_writer_add_u8(gguf_writer *w, const char *key, uint8_t v, pv_error *err);
int gguf_writer_add_i8(gguf_writer *w, const char *key, int8_t v, pv_error *err);
int gguf_writer_add_u16(gguf_writer *w, const char *key, uint16_t v, pv_error *err);
int gguf_writer_add_i16(gguf_writer *w, const char *key, int16_t v, pv_error *err);
int gguf_writer_add_u32(gguf_writer *w, const char *key, uint32_t v, pv_error *err);
int gguf_writer_add_i32(gguf_writer *w, const char *key, int32_t v, pv_error *err);
int gguf_writer_add_u64(gguf_writer *w, const char *key, uint64_t v, pv_error *err);
int gguf_writer_add_i64(gguf_writer *w, const char *key, int64_t v, pv_error *err);
int gguf_writer_add_f32(gguf_writer *w, const char *key, float v, pv_error *err);
int gguf_writer_add_f64(gguf_writer *w, const char *key, double v, pv_error *err);
int gguf_writer_add_bool(gguf_writer *w, const char *key, bool v, pv_error *err);
int gguf_writer_add_str(gguf_writer *w, const char *key, const char *v, pv_error *err);

/* Arrays: `data` holds n little-endian elements of a scalar type (not STRING/ARRAY). */
int gguf_writer_add_arr(gguf_writer *w, const char *key, gguf_vtype elem_type, const void *data, uint64_t n,
                        pv_error *err);
/* Arrays of NUL-terminated strings. */
int gguf_writer_add_arr_str(gguf_writer *w, const char *key, const char *const *strs, uint64_t n, pv_error *err);
/* Any parsed value (from a gguf_file), nested arrays included, copied deeply. */
int gguf_writer_add_value(gguf_writer *w, const char *key, const gguf_value *v, pv_error *err);
/* Copies every key of `src` that starts with `prefix` (e.g. "tokenizer."), in file order. */
int gguf_writer_copy_kv_prefix(gguf_writer *w, const gguf_file *src, const char *prefix, pv_error *err);
/* gguf_writer_copy_kv_prefix(w, src, "tokenizer.", err). */
int gguf_writer_copy_tokenizer(gguf_writer *w, const gguf_file *src, pv_error *err);

/* Adds a tensor: ne[0] is the row length (a multiple of the type's block size); nbytes must equal
 * the size implied by type and shape. The data is copied. */
int gguf_writer_add_tensor(gguf_writer *w, const char *name, pv_dtype type, uint32_t n_dims, const uint64_t *ne,
                           const void *data, uint64_t nbytes, pv_error *err);

/* Writes the file. */
int gguf_writer_write(const gguf_writer *w, const char *path, pv_error *err);
/* Writes into a malloc'd buffer (the caller frees it). */
int gguf_writer_to_memory(const gguf_writer *w, uint8_t **out, uint64_t *size, pv_error *err);

#endif /* PV_GGUF_WRITE_H */
