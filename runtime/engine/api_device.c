/*
 * api_device.c — pagedvk_print_devices: the device listing and capability record behind
 * `pagedvk info`. Creates a context exactly as the engine would (same selection and clamps), prints,
 * and destroys it. The kernel section shows what the engine would choose from the effective caps:
 * the memory path, the report of pv_ops_init (matmul form, weight reads, attention kernels,
 * workgroup sizes) and the feature variant of every shader that has fallbacks (no pipeline is built).
 */
#include <stdio.h>

#include "ops/ops.h"
#include "pv_shader_ids.h"
#include "vk/vk_device.h"
#include "vk/vk_pipeline.h"

static void print_u64(FILE *out, const char *name, uint64_t eff, uint64_t dev) {
  fprintf(out, "  %-34s %llu", name, (unsigned long long)eff);
  if (eff != dev) fprintf(out, "  (device: %llu)", (unsigned long long)dev);
  fputc('\n', out);
}

static void print_bool(FILE *out, const char *name, bool eff, bool dev) {
  fprintf(out, "  %-34s %s", name, eff ? "yes" : "no");
  if (eff != dev) fprintf(out, "  (device: %s)", dev ? "yes" : "no");
  fputc('\n', out);
}

static void print_api(FILE *out, const char *name, uint32_t v) {
  fprintf(out, "  %-34s %u.%u.%u\n", name, VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
}

static void print_subgroup_ops(FILE *out, const char *name, VkSubgroupFeatureFlags ops) {
  static const struct { VkSubgroupFeatureFlags bit; const char *name; } NAMES[] = {
      {VK_SUBGROUP_FEATURE_BASIC_BIT, "basic"},     {VK_SUBGROUP_FEATURE_VOTE_BIT, "vote"},
      {VK_SUBGROUP_FEATURE_ARITHMETIC_BIT, "arithmetic"}, {VK_SUBGROUP_FEATURE_BALLOT_BIT, "ballot"},
      {VK_SUBGROUP_FEATURE_SHUFFLE_BIT, "shuffle"}, {VK_SUBGROUP_FEATURE_SHUFFLE_RELATIVE_BIT, "shuffle_relative"},
      {VK_SUBGROUP_FEATURE_CLUSTERED_BIT, "clustered"}, {VK_SUBGROUP_FEATURE_QUAD_BIT, "quad"}};
  fprintf(out, "  %-34s", name);
  if (!ops) fprintf(out, " none");
  for (size_t i = 0; i < PV_ARRAY_LEN(NAMES); i++)
    if (ops & NAMES[i].bit) fprintf(out, " %s", NAMES[i].name);
  fputc('\n', out);
}

static void print_list(FILE *out, const pv_vk_context *ctx) {
  fprintf(out, "Vulkan devices:\n");
  for (uint32_t i = 0; i < ctx->device_count; i++) {
    const pv_vk_device_entry *d = &ctx->devices[i];
    fprintf(out, "  %c %u: %s [%s, Vulkan %u.%u]%s\n", i == ctx->device_index ? '*' : ' ', i, d->name,
            pv_vk_device_type_str(d->type), VK_API_VERSION_MAJOR(d->api_version), VK_API_VERSION_MINOR(d->api_version),
            d->usable ? "" : " (unusable: needs Vulkan 1.2 and a compute queue)");
  }
}

static void print_identity(FILE *out, const pv_vk_context *ctx) {
  const pv_vk_caps *c = &ctx->caps;
  fprintf(out, "\nchosen device %u (--device N|NAME or PAGEDVK_DEVICE=index|name selects):\n", ctx->device_index);
  fprintf(out, "  %-34s %s\n", "name", c->device_name);
  fprintf(out, "  %-34s %s\n", "type", pv_vk_device_type_str(c->device_type));
  fprintf(out, "  %-34s 0x%04x / 0x%04x\n", "vendor / device id", c->vendor_id, c->device_id);
  fprintf(out, "  %-34s %s (%s)\n", "driver", c->driver_name, c->driver_info);
  print_api(out, "Vulkan API", c->api_version);
  const pv_vk_clamps *k = &ctx->clamps;
  fprintf(out, "  %-34s %s%s%s%s%s\n", "clamps (profile)", k->profile == PV_PROFILE_EMBEDDED ? "embedded" : "default",
          k->no_fp16 ? ", no fp16" : "", k->no_storage16 ? ", no 16/8-bit storage" : "",
          k->no_subgroup ? ", no subgroup" : "", k->no_unified ? ", no unified memory" : "");
  fprintf(out, "  %-34s %s\n", "validation", ctx->validation ? "on" : "off");
}

static void print_features(FILE *out, const pv_vk_caps *c, const pv_vk_caps *d) {
  fprintf(out, "\ncapabilities (effective; device value in parentheses when clamped):\n");
  print_bool(out, "fp16 arithmetic", c->fp16, d->fp16);
  print_bool(out, "int8 arithmetic", c->int8, d->int8);
  print_bool(out, "int16 arithmetic", c->int16, d->int16);
  print_bool(out, "16-bit storage", c->storage16, d->storage16);
  print_bool(out, "8-bit storage", c->storage8, d->storage8);
  print_bool(out, "buffer device address", c->buffer_device_address, d->buffer_device_address);
  print_bool(out, "storage buffer array, dynamic index", c->storage_array_dynamic, d->storage_array_dynamic);
  print_bool(out, "storage buffer array, non-uniform", c->storage_array_nonuniform, d->storage_array_nonuniform);
  print_u64(out, "subgroup size", c->subgroup_size, d->subgroup_size);
  print_subgroup_ops(out, "subgroup ops (compute)", c->subgroup_ops);
  if (c->subgroup_ops != d->subgroup_ops) print_subgroup_ops(out, "  device subgroup ops", d->subgroup_ops);
  print_bool(out, "unified memory", c->unified_memory, d->unified_memory);
  print_bool(out, "timestamps on the compute queue", c->timestamps, d->timestamps);
  fprintf(out, "  %-34s %g ns (%u valid bits)\n", "timestampPeriod", (double)c->timestamp_period, c->timestamp_bits);
}

static void print_limits(FILE *out, const pv_vk_caps *c, const pv_vk_caps *d) {
  fprintf(out, "\nlimits:\n");
  print_u64(out, "maxStorageBufferRange", c->max_storage_buffer_range, d->max_storage_buffer_range);
  print_u64(out, "maxMemoryAllocationSize", c->max_allocation_size, d->max_allocation_size);
  print_u64(out, "maxComputeSharedMemorySize", c->max_shared_memory, d->max_shared_memory);
  print_u64(out, "maxComputeWorkGroupInvocations", c->max_workgroup_invocations, d->max_workgroup_invocations);
  fprintf(out, "  %-34s %u %u %u\n", "maxComputeWorkGroupSize", c->max_workgroup_size[0], c->max_workgroup_size[1],
          c->max_workgroup_size[2]);
  fprintf(out, "  %-34s %u %u %u\n", "maxComputeWorkGroupCount", c->max_workgroup_count[0],
          c->max_workgroup_count[1], c->max_workgroup_count[2]);
  print_u64(out, "maxPushConstantsSize", c->max_push_constants, d->max_push_constants);
  print_u64(out, "minStorageBufferOffsetAlignment", c->min_storage_offset_align, d->min_storage_offset_align);
  print_u64(out, "maxDescriptorSetStorageBuffers", c->max_set_storage_buffers, d->max_set_storage_buffers);
  print_u64(out, "maxPerStageDescriptorStorageBuffers", c->max_stage_storage_buffers, d->max_stage_storage_buffers);
}

static void print_memory(FILE *out, const VkPhysicalDeviceMemoryProperties *m) {
  fprintf(out, "\nmemory:\n");
  for (uint32_t i = 0; i < m->memoryHeapCount; i++)
    fprintf(out, "  heap %u: %llu MiB%s\n", i, (unsigned long long)(m->memoryHeaps[i].size >> 20),
            (m->memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) ? " device-local" : "");
  for (uint32_t i = 0; i < m->memoryTypeCount; i++) {
    VkMemoryPropertyFlags f = m->memoryTypes[i].propertyFlags;
    fprintf(out, "  type %u: heap %u%s%s%s%s\n", i, m->memoryTypes[i].heapIndex,
            (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) ? " device-local" : "",
            (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) ? " host-visible" : "",
            (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) ? " host-coherent" : "",
            (f & VK_MEMORY_PROPERTY_HOST_CACHED_BIT) ? " host-cached" : "");
  }
}

static const char *attn_text(pv_ops_attn_kernel k) {
  switch (k) {
    case PV_OPS_ATTN_TILES:
      return "prompt chunks in tiles, large decode batches as (row, head) pairs, other rows one workgroup per "
             "(row, head)";
    case PV_OPS_ATTN_LANES: return "one workgroup per (row, head), keys per lane";
    default: return "cooperative workgroups";
  }
}

/* ops' report of its choices (pv_ops_init decides them, nothing here re-derives them). */
static void print_ops_report(FILE *out, const pv_ops_report *r) {
  fprintf(out, "  %-34s %s device: the %s-shaped defaults below%s%s\n", "why",
          r->cpu_device ? "a CPU" : "not a CPU", r->cpu_device ? "CPU" : "GPU",
          r->overrides[0] ? "; set in the environment:" : " (no PAGEDVK_MATMUL/WEIGHTS/ATTN set)", r->overrides);
  fprintf(out, "  %-34s %u invocations (one-row kernels: %u)\n", "row kernels workgroup", r->wg, r->wg_row);
  if (r->mm_row_per_invocation)
    fprintf(out, "  %-34s %u output rows x %u tokens per invocation, %u per workgroup (PAGEDVK_MATMUL=coop for "
                 "cooperative)\n", "matmul", r->mm_rows, r->mm_ntok, r->mm_wg);
  else
    fprintf(out, "  %-34s cooperative: %u rows x %u tokens per workgroup of %u (PAGEDVK_MATMUL=rows for rows per "
                 "invocation)\n", "matmul", r->mm_rows, r->mm_ntok, r->mm_wg);
  if (r->mm_ntok < r->mm_ntok_wanted)
    fprintf(out, "  %-34s %u tokens per workgroup, not %u: the reduction array must fit maxComputeSharedMemorySize\n",
            "matmul tokens", r->mm_ntok, r->mm_ntok_wanted);
  fprintf(out, "  %-34s %s: matmul%s_<type>, embed%s_<type> (PAGEDVK_WEIGHTS=texel|storage)\n", "weights",
          r->weights_texel ? "texel buffers" : "storage buffers", r->weights_texel ? "_tex" : "",
          r->weights_texel ? "_tex" : "");
  fprintf(out, "  %-34s %s", "attention", attn_text(r->attn));
  if (r->attn != PV_OPS_ATTN_GROUPS) fprintf(out, " over %u lanes", r->simd_lanes);
  fprintf(out, " (PAGEDVK_ATTN=tiles|lanes|groups)\n");
  fprintf(out, "  %-34s", "attention kernels");
  for (size_t i = 0; i < PV_ARRAY_LEN(r->attn_shaders) && r->attn_shaders[i]; i++)
    fprintf(out, "%s %s", i ? "," : "", r->attn_shaders[i]);
  fprintf(out, " (_f32 with an f32 KV pool)\n");
  fprintf(out, "  %-34s %s\n", "attention decode pairs", r->attn_decode_pairs ? "yes" : "no");
}

/* The chosen feature variant (name_nosg, ...) of every library shader that has fallbacks. */
static void print_variants(FILE *out, const pv_vk_caps *c) {
  for (uint32_t id = 1; id < pv_shaders.count; id++) {
    const pv_shader_blob *b = &pv_shaders.blobs[id];
    bool has_variants = false;
    for (uint32_t v = 1; v < pv_shaders.count && !has_variants; v++)
      has_variants = pv_shaders.blobs[v].base == id && v != id;
    if (b->base != id || !has_variants) continue;
    const pv_shader_blob *chosen = pv_vk_shader_variant(c, &pv_shaders, id);
    fprintf(out, "  shader %-27s %s\n", b->name, chosen ? chosen->name : "(none fits this device)");
  }
}

static void print_kernels(FILE *out, pv_vk_context *ctx) {
  const pv_vk_caps *c = &ctx->caps;
  fprintf(out, "\nkernels (chosen from the effective capabilities):\n");
  fprintf(out, "  %-34s %s\n", "memory path",
          c->unified_memory ? "unified: weights, KV pool, activations mapped and written in place"
                            : "staging: weights uploaded through staging buffers; KV pool device-only");
  fprintf(out, "  %-34s %s\n", "step inputs", "host-visible buffers, written in place each step");
  fprintf(out, "  %-34s %s\n", "KV and f16 weights", "32-bit words, halves unpacked in the shader (no 16-bit storage)");
  pv_ops ops;
  pv_error e = {0};
  if (pv_ops_init(&ops, ctx, &e) == PAGEDVK_OK) print_ops_report(out, &ops.report);
  else fprintf(out, "  %-34s unusable: %s\n", "kernels", e.msg);
  pv_ops_destroy(&ops);
  print_variants(out, c);
}

int pagedvk_print_devices(FILE *out, char *err, size_t err_size) {
  pv_error e = {0};
  pv_vk_context *ctx = NULL;
  int rc = pv_vk_context_create(&ctx, NULL, &e);
  if (rc) {
    pv_error_copy(&e, err, err_size);
    return rc;
  }
  print_list(out, ctx);
  print_identity(out, ctx);
  print_features(out, &ctx->caps, &ctx->device_caps);
  print_limits(out, &ctx->caps, &ctx->device_caps);
  print_memory(out, &ctx->caps.memory);
  print_kernels(out, ctx);
  pv_vk_context_destroy(ctx);
  return PAGEDVK_OK;
}
