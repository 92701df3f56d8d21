/*
 * gguf.h — read-only view of a GGUF file (v2 and v3) over mmap.
 *
 * Owns: the mapping, the parsed metadata (key/value pairs, arrays possibly nested) and the
 * tensor infos. Every count, length, offset and size read from the file is checked against the
 * file size with overflow-safe arithmetic before use; a malformed file yields PAGEDVK_ERR_FORMAT
 * with a message naming the field and its byte offset, never a crash.
 * Strings point into the mapping (not NUL-terminated: use .len).
 */
#ifndef PV_GGUF_H
#define PV_GGUF_H

#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "gguf/dtype.h"

typedef enum pv_gguf_vtype {
  PV_GGUF_VT_UINT8 = 0, PV_GGUF_VT_INT8 = 1, PV_GGUF_VT_UINT16 = 2, PV_GGUF_VT_INT16 = 3,
  PV_GGUF_VT_UINT32 = 4, PV_GGUF_VT_INT32 = 5, PV_GGUF_VT_FLOAT32 = 6, PV_GGUF_VT_BOOL = 7,
  PV_GGUF_VT_STRING = 8, PV_GGUF_VT_ARRAY = 9, PV_GGUF_VT_UINT64 = 10, PV_GGUF_VT_INT64 = 11,
  PV_GGUF_VT_FLOAT64 = 12, PV_GGUF_VT_COUNT
} pv_gguf_vtype;

typedef struct pv_gguf_str {
  const char *ptr; /* into the mapping; not NUL-terminated */
  uint64_t len;
} pv_gguf_str;

typedef struct pv_gguf_value pv_gguf_value;

/* An array value. Scalar elements stay in the file (`data`, little-endian, elem_type's size);
 * strings and nested arrays are parsed into `items`. */
typedef struct pv_gguf_array {
  pv_gguf_vtype elem_type;
  uint64_t n;
  const void *data;   /* scalar arrays: n elements in the mapping */
  pv_gguf_str *strs;     /* string arrays: n strings */
  pv_gguf_value *items;  /* nested arrays: n values of type PV_GGUF_VT_ARRAY */
} pv_gguf_array;

struct pv_gguf_value {
  pv_gguf_vtype type;
  union {
    uint64_t u64; /* UINT8..UINT64 and BOOL widened */
    int64_t i64;  /* INT8..INT64 widened */
    double f64;   /* FLOAT32 / FLOAT64 widened */
    pv_gguf_str str;
    pv_gguf_array arr;
  } v;
};

typedef struct pv_gguf_kv {
  pv_gguf_str key;
  pv_gguf_value value;
} pv_gguf_kv;

#define PV_GGUF_MAX_DIMS 4
#define PV_GGUF_MAGIC "GGUF"
#define PV_GGUF_DEFAULT_ALIGNMENT 32
/* Arrays of arrays deeper than this are rejected (a malicious file cannot recurse the parser). */
#define PV_GGUF_MAX_ARRAY_DEPTH 8

typedef struct pv_gguf_tensor {
  pv_gguf_str name;
  uint32_t n_dims;
  uint64_t ne[PV_GGUF_MAX_DIMS]; /* ne[0] is the innermost (row length); unused dims are 1 */
  pv_dtype type;
  uint64_t offset;            /* relative to the data section */
  uint64_t nbytes;
  const uint8_t *data;        /* into the mapping, checked to lie inside the file */
} pv_gguf_tensor;

typedef struct pv_gguf_file {
  uint32_t version;
  uint64_t n_kv;
  pv_gguf_kv *kv;
  uint64_t n_tensors;
  pv_gguf_tensor *tensors;
  uint64_t alignment;      /* general.alignment, default 32 */
  uint64_t data_offset;    /* start of the tensor data section (may equal or pass `size` in a file
                              without tensors, such as a vocabulary-only file) */
  const uint8_t *base;     /* whole file */
  uint64_t size;
  int fd;                  /* -1 when opened from memory */
} pv_gguf_file;

/* Opens and parses `path` (mmap). Errors: PAGEDVK_ERR_IO (cannot open/map), PAGEDVK_ERR_FORMAT
 * (malformed: the message names the item, field and byte offset), PAGEDVK_ERR_UNSUPPORTED (GGUF v1,
 * big-endian files, versions after 3). Tensor types are checked to be known GGUF type numbers;
 * whether they can be dequantized is quant.h's business (pv_quant_supported). */
int pv_gguf_open(pv_gguf_file **out, const char *path, pv_error *err);
/* Parses a buffer the caller keeps alive for the file's lifetime (tests, fuzzing). */
int pv_gguf_open_memory(pv_gguf_file **out, const void *data, uint64_t size, pv_error *err);
void pv_gguf_close(pv_gguf_file *f);

/* Metadata lookup. NULL / false when absent or of an incompatible type. */
const pv_gguf_kv *pv_gguf_find(const pv_gguf_file *f, const char *key);
bool pv_gguf_get_u64(const pv_gguf_file *f, const char *key, uint64_t *out);  /* any unsigned/signed>=0 int */
bool pv_gguf_get_i64(const pv_gguf_file *f, const char *key, int64_t *out);
bool pv_gguf_get_f64(const pv_gguf_file *f, const char *key, double *out);    /* float32/64 */
bool pv_gguf_get_bool(const pv_gguf_file *f, const char *key, bool *out);
bool pv_gguf_get_str(const pv_gguf_file *f, const char *key, pv_gguf_str *out);
const pv_gguf_array *pv_gguf_get_arr(const pv_gguf_file *f, const char *key);

/* Tensor lookup by name; NULL when absent. */
const pv_gguf_tensor *pv_gguf_find_tensor(const pv_gguf_file *f, const char *name);

bool pv_gguf_str_eq(pv_gguf_str s, const char *cstr);
const char *pv_gguf_vtype_name(pv_gguf_vtype t);
/* Bytes of one scalar element of type t (0 for STRING, ARRAY and unknown types). */
uint64_t pv_gguf_vtype_size(pv_gguf_vtype t);
/* Element i of a scalar array, widened like pv_gguf_value (false when i is out of range or the
 * element type does not match: unsigned ints and BOOL for _u64, signed ints for _i64, floats for _f64). */
bool pv_gguf_arr_u64(const pv_gguf_array *a, uint64_t i, uint64_t *out);
bool pv_gguf_arr_i64(const pv_gguf_array *a, uint64_t i, int64_t *out);
bool pv_gguf_arr_f64(const pv_gguf_array *a, uint64_t i, double *out);

#endif /* PV_GGUF_H */
