/*
 * shader_registry.h — the SPIR-V of a set of shaders, embedded at build time (cmake/shaders.cmake).
 * A set is an array of blobs indexed by a generated id enum: the library's is pv_shader_blobs /
 * pv_shaders with PV_SHADER_* ids (pv_shader_ids.h in the build's shaders directory). Entry 0 of
 * every set is the NONE id and has no code.
 */
#ifndef PV_SHADER_REGISTRY_H
#define PV_SHADER_REGISTRY_H
#include <stddef.h>
#include <stdint.h>

/* Features a variant does without (its name carries _nosg, _nofp16, _nos16; see vk_pipeline.h). */
enum { PV_SHADER_DROP_SUBGROUP = 1, PV_SHADER_DROP_FP16 = 2, PV_SHADER_DROP_STORAGE16 = 4, PV_SHADER_DROP_ALL = 7 };

typedef struct pv_shader_blob {
  const char *name;     /* variant name (shaders/variants.txt or generated), for messages */
  const uint32_t *code; /* SPIR-V words; NULL in entry 0 */
  const size_t *size;   /* size in bytes */
  uint32_t base;        /* id of the shader this is a feature variant of (its own id for a base) */
  uint32_t drops;       /* PV_SHADER_DROP_* bits */
} pv_shader_blob;

typedef struct pv_shader_registry {
  const pv_shader_blob *blobs; /* indexed by id */
  uint32_t count;
} pv_shader_registry;

#endif
