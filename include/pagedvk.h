/*
 * pagedvk.h — the public C API of pagedvk, a PagedAttention LLM inference runtime on Vulkan compute.
 *
 * This header is the only door into the library: the CLI (tools/pagedvk), the HTTP server
 * (runtime/server) and embedding programs use nothing else.
 *
 * Conventions: every function that can fail returns a pagedvk_status (0 = PAGEDVK_OK) and, when
 * given a non-NULL `char *err, size_t err_size` pair, writes one human-readable line there.
 * Objects are created by a create or open function and released by the matching destroy or close.
 */
#ifndef PAGEDVK_H
#define PAGEDVK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PAGEDVK_VERSION_MAJOR 0
#define PAGEDVK_VERSION_MINOR 1
#define PAGEDVK_VERSION_PATCH 0
#define PAGEDVK_VERSION_STRING "0.1.0"

typedef enum pagedvk_status {
  PAGEDVK_OK = 0,
  PAGEDVK_ERR_INVALID = -1,     /* bad argument or option */
  PAGEDVK_ERR_IO = -2,          /* file could not be opened or read */
  PAGEDVK_ERR_FORMAT = -3,      /* malformed file (GGUF) or input */
  PAGEDVK_ERR_UNSUPPORTED = -4, /* valid but not supported: tensor type, architecture, device feature */
  PAGEDVK_ERR_NO_DEVICE = -5,   /* no Vulkan driver or no usable device */
  PAGEDVK_ERR_VULKAN = -6,      /* a Vulkan call failed */
  PAGEDVK_ERR_NO_MEMORY = -7,   /* host or device allocation failed */
  PAGEDVK_ERR_KV_FULL = -8,     /* the KV block pool cannot hold the request */
  PAGEDVK_ERR_TOO_LONG = -9,    /* prompt or request longer than the context allows */
  PAGEDVK_ERR_ABORTED = -10,    /* request aborted (client went away, shutdown) */
  PAGEDVK_ERR_DEVICE_LOST = -11 /* the device was lost or a submit failed */
} pagedvk_status;

/* A short constant name for a status ("PAGEDVK_ERR_FORMAT" → "format error"). */
const char *pagedvk_status_str(int status);

/* ---------------------------------------------------------------------------------------------
 * Devices
 * ------------------------------------------------------------------------------------------- */

/* Writes the Vulkan devices, the one pagedvk would choose (PAGEDVK_DEVICE selects by index or
 * name substring) and its capability record and limits, as text, to `out`. */
int pagedvk_print_devices(FILE *out, char *err, size_t err_size);

/* ---------------------------------------------------------------------------------------------
 * Models (GGUF files): metadata, tokenizer, CPU reference
 * ------------------------------------------------------------------------------------------- */

typedef struct pagedvk_model pagedvk_model;

int pagedvk_model_open(pagedvk_model **out, const char *path, char *err, size_t err_size);
void pagedvk_model_close(pagedvk_model *model);

/* Architecture, hyper-parameters, tokenizer, chat template family, tensors with types and shapes,
 * parameter count and bytes per type, as text. */
void pagedvk_model_print_info(const pagedvk_model *model, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* PAGEDVK_H */
