/* shader_registry.h — the SPIR-V of every shader, embedded at build time (cmake/shaders.cmake). */
#ifndef PV_SHADER_REGISTRY_H
#define PV_SHADER_REGISTRY_H
#include <stddef.h>
#include <stdint.h>

typedef struct pv_shader_blob {
  const char *name;        /* file name without .comp, or a variant name from shaders/variants.txt */
  const uint32_t *code;    /* SPIR-V words */
  const size_t *size;      /* size in bytes */
} pv_shader_blob;

/* Terminated by an entry with name == NULL. */
extern const pv_shader_blob pv_shader_blobs[];

#endif
