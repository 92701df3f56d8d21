/*
 * vk_pipeline.h — compute pipelines built from the embedded SPIR-V (shader_registry.h), shader
 * variant choice, and the per-device pipeline cache on disk.
 *
 * A pipeline has one descriptor set (set 0) of `binding_count` storage-buffer bindings; binding i is
 * an array of `array_sizes[i]` buffers (0 or 1: a single buffer). A shader declares an array binding
 * as `layout(binding = i) buffer B { ... } kv[N];` — e.g. a KV pool spread over several VkBuffers
 * because of maxStorageBufferRange. Push constants: one range of `push_size` bytes at offset 0.
 * Specialization constants: uint32 values by constant id (bit-cast floats yourself).
 * No subgroup size is assumed or required; shaders read gl_SubgroupSize.
 *
 * Variant convention (shaders/variants.txt): for a base shader `name`,
 *   name          the fast path: may use every feature below
 *   name_nosg     without subgroup operations
 *   name_nofp16   without fp16 arithmetic
 *   name_nos16    without 16-/8-bit storage
 * and combinations in that suffix order (name_nosg_nofp16, name_nosg_nofp16_nos16, ...); the build
 * records each variant's base id and dropped features in its blob (shader_registry.h).
 * A variant is usable when every feature it does not drop is either supported by the caps or dropped
 * by NO registered variant of `name` (then the shader does not depend on it). pv_vk_shader_variant
 * returns the usable variant with the fewest drops (ties: the order above).
 * "Subgroup operations" means all of basic, vote, arithmetic, ballot and shuffle in compute.
 *
 * Pipeline cache: $XDG_CACHE_HOME/pagedvk/<device>-<vendor>-<device id>-<driver version>.bin
 * (fallback ~/.cache/pagedvk), used only when its header matches the device's pipelineCacheUUID;
 * skipped with PAGEDVK_NO_PIPELINE_CACHE=1. Read or write failures are logged at debug only.
 */
#ifndef PV_VK_PIPELINE_H
#define PV_VK_PIPELINE_H

#include "vk/shader_registry.h"
#include "vk/vk_device.h"

#define PV_MAX_BINDINGS 16
#define PV_MAX_SPEC 16

typedef struct pv_vk_spec {
  uint32_t id;
  uint32_t value;
} pv_vk_spec;

typedef struct pv_vk_pipeline_desc {
  const pv_shader_blob *shader; /* a registry entry (by id, or returned by pv_vk_shader_variant) */
  uint32_t binding_count;
  uint32_t array_sizes[PV_MAX_BINDINGS]; /* 0 or 1 = one buffer */
  bool texel[PV_MAX_BINDINGS];           /* uniform texel buffer (views carry a VkBufferView) */
  uint32_t push_size;                    /* bytes, multiple of 4, <= caps.max_push_constants */
  pv_vk_spec spec[PV_MAX_SPEC];
  uint32_t spec_count;
} pv_vk_pipeline_desc;

typedef struct pv_vk_pipeline {
  const char *shader; /* the blob's name, for messages */
  VkDescriptorSetLayout set_layout;
  VkPipelineLayout layout;
  VkPipeline pipeline;
  uint32_t binding_count;
  uint32_t array_sizes[PV_MAX_BINDINGS]; /* >= 1 */
  bool texel[PV_MAX_BINDINGS];
  uint32_t texel_count;                  /* of descriptor_count, uniform texel buffers */
  uint32_t descriptor_count;             /* sum of array_sizes: buffers per dispatch */
  uint32_t push_size;
} pv_vk_pipeline;

/* The best variant in `reg` of the base shader with id `base` for `caps` (see the convention
 * above), or NULL (no such id, or no variant fits). */
const pv_shader_blob *pv_vk_shader_variant(const pv_vk_caps *caps, const pv_shader_registry *reg, uint32_t base);

int pv_vk_pipeline_create(pv_vk_context *ctx, const pv_vk_pipeline_desc *desc, pv_vk_pipeline *out, pv_error *err);
void pv_vk_pipeline_destroy(pv_vk_context *ctx, pv_vk_pipeline *p);

/* Creates ctx->pipeline_cache, seeded from disk when `persist`. Called by context creation. */
int pv_vk_pipeline_cache_open(pv_vk_context *ctx, bool persist, pv_error *err);
/* Writes the cache to disk (when persisted) and destroys it. Called by context destruction. */
void pv_vk_pipeline_cache_close(pv_vk_context *ctx);

#endif /* PV_VK_PIPELINE_H */
