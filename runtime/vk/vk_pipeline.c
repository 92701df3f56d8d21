/*
 * vk_pipeline.c — compute pipelines from embedded shader blobs, and variant choice (vk_pipeline.h).
 *
 * A pipeline owns its descriptor-set layout, pipeline layout and VkPipeline; the shader module lives
 * only during creation. Destroy frees in reverse order and accepts a partly created pipeline.
 */
#include <string.h>

#include "vk/vk_pipeline.h"

/* ---- variants ---- */

static bool feature_present(const pv_vk_caps *caps, uint32_t drop_bit) {
  switch (drop_bit) {
    case PV_SHADER_DROP_SUBGROUP: return pv_caps_subgroup(caps, PV_SUBGROUP_FULL);
    case PV_SHADER_DROP_FP16: return caps->fp16;
    case PV_SHADER_DROP_STORAGE16: return caps->storage16 && caps->storage8;
    default: return false;
  }
}

static int popcount3(uint32_t m) { return (int)(m & 1) + (int)((m >> 1) & 1) + (int)((m >> 2) & 1); }

/* Variant of `base` with the drops in `mask`, or NULL. */
static const pv_shader_blob *variant_blob(const pv_shader_registry *reg, uint32_t base, uint32_t mask) {
  for (uint32_t i = 1; i < reg->count; i++)
    if (reg->blobs[i].base == base && reg->blobs[i].drops == mask) return &reg->blobs[i];
  return NULL;
}

const pv_shader_blob *pv_vk_shader_variant(const pv_vk_caps *caps, const pv_shader_registry *reg, uint32_t base) {
  if (base == 0 || base >= reg->count || reg->blobs[base].base != base) return NULL;
  uint32_t depends = 0; /* features some variant drops: the shader uses them where not dropped */
  for (uint32_t i = 1; i < reg->count; i++)
    if (reg->blobs[i].base == base) depends |= reg->blobs[i].drops;
  for (int drops = 0; drops <= 3; drops++) {
    for (uint32_t m = 0; m <= PV_SHADER_DROP_ALL; m++) {
      if (popcount3(m) != drops) continue;
      const pv_shader_blob *b = variant_blob(reg, base, m);
      if (!b) continue;
      bool usable = true;
      for (uint32_t bit = 1; bit <= PV_SHADER_DROP_STORAGE16; bit <<= 1)
        if ((depends & bit) && !(m & bit) && !feature_present(caps, bit)) usable = false;
      if (usable) return b;
    }
  }
  return NULL;
}

/* ---- pipelines ---- */

static int check_desc(const pv_vk_context *ctx, const pv_vk_pipeline_desc *d, uint32_t *descriptors, pv_error *err) {
  const pv_vk_caps *c = &ctx->caps;
  if (d->binding_count > PV_MAX_BINDINGS || d->spec_count > PV_MAX_SPEC)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "%s: too many bindings or specialization constants", d->shader->name);
  if (d->push_size % 4 || d->push_size > c->max_push_constants)
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "%s: %u bytes of push constants (device allows %u)", d->shader->name,
                   d->push_size, c->max_push_constants);
  uint32_t total = 0;
  for (uint32_t i = 0; i < d->binding_count; i++) total += d->array_sizes[i] ? d->array_sizes[i] : 1;
  if (total > c->max_stage_storage_buffers || total > c->max_set_storage_buffers)
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "%s: %u storage buffers (device allows %u per stage)", d->shader->name, total,
                   c->max_stage_storage_buffers);
  *descriptors = total;
  return PAGEDVK_OK;
}

static int create_layouts(pv_vk_context *ctx, pv_vk_pipeline *p, pv_error *err) {
  VkDescriptorSetLayoutBinding b[PV_MAX_BINDINGS];
  for (uint32_t i = 0; i < p->binding_count; i++) {
    b[i] = (VkDescriptorSetLayoutBinding){.binding = i,
                                          .descriptorType = p->texel[i] ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
                                                                        : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                          .descriptorCount = p->array_sizes[i],
                                          .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
  }
  VkDescriptorSetLayoutCreateInfo si = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  si.bindingCount = p->binding_count;
  si.pBindings = b;
  VkResult r = vkCreateDescriptorSetLayout(ctx->device, &si, NULL, &p->set_layout);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkCreateDescriptorSetLayout");
  VkPushConstantRange push = {VK_SHADER_STAGE_COMPUTE_BIT, 0, p->push_size};
  VkPipelineLayoutCreateInfo li = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  li.setLayoutCount = 1;
  li.pSetLayouts = &p->set_layout;
  li.pushConstantRangeCount = p->push_size ? 1 : 0;
  li.pPushConstantRanges = &push;
  r = vkCreatePipelineLayout(ctx->device, &li, NULL, &p->layout);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkCreatePipelineLayout");
  return PAGEDVK_OK;
}

static int create_pipeline(pv_vk_context *ctx, const pv_shader_blob *blob, const pv_vk_pipeline_desc *d,
                           pv_vk_pipeline *p, pv_error *err) {
  VkShaderModuleCreateInfo mi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  mi.codeSize = *blob->size;
  mi.pCode = blob->code;
  VkShaderModule module;
  VkResult r = vkCreateShaderModule(ctx->device, &mi, NULL, &module);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkCreateShaderModule");

  VkSpecializationMapEntry entries[PV_MAX_SPEC];
  uint32_t values[PV_MAX_SPEC];
  for (uint32_t i = 0; i < d->spec_count; i++) {
    entries[i] = (VkSpecializationMapEntry){d->spec[i].id, i * 4, 4};
    values[i] = d->spec[i].value;
  }
  VkSpecializationInfo spec = {d->spec_count, entries, d->spec_count * 4, values};
  VkComputePipelineCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  ci.stage = (VkPipelineShaderStageCreateInfo){.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  ci.stage.module = module;
  ci.stage.pName = "main";
  ci.stage.pSpecializationInfo = d->spec_count ? &spec : NULL;
  ci.layout = p->layout;
  r = vkCreateComputePipelines(ctx->device, ctx->pipeline_cache, 1, &ci, NULL, &p->pipeline);
  vkDestroyShaderModule(ctx->device, module, NULL);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkCreateComputePipelines");
  atomic_store(&ctx->pipeline_cache_dirty, true);
  return PAGEDVK_OK;
}

int pv_vk_pipeline_create(pv_vk_context *ctx, const pv_vk_pipeline_desc *desc, pv_vk_pipeline *out, pv_error *err) {
  memset(out, 0, sizeof *out);
  const pv_shader_blob *blob = desc->shader;
  if (!blob || !blob->code) return pv_fail(err, PAGEDVK_ERR_INVALID, "pipeline without a shader (id NONE)");
  out->shader = blob->name;
  int rc = check_desc(ctx, desc, &out->descriptor_count, err);
  if (rc) return rc;
  out->binding_count = desc->binding_count;
  out->push_size = desc->push_size;
  for (uint32_t i = 0; i < desc->binding_count; i++) {
    out->array_sizes[i] = desc->array_sizes[i] ? desc->array_sizes[i] : 1;
    out->texel[i] = desc->texel[i];
    if (desc->texel[i]) out->texel_count += out->array_sizes[i];
  }
  rc = create_layouts(ctx, out, err);
  if (!rc) rc = create_pipeline(ctx, blob, desc, out, err);
  if (rc) pv_vk_pipeline_destroy(ctx, out);
  return rc;
}

void pv_vk_pipeline_destroy(pv_vk_context *ctx, pv_vk_pipeline *p) {
  if (!p) return;
  if (p->pipeline) vkDestroyPipeline(ctx->device, p->pipeline, NULL);
  if (p->layout) vkDestroyPipelineLayout(ctx->device, p->layout, NULL);
  if (p->set_layout) vkDestroyDescriptorSetLayout(ctx->device, p->set_layout, NULL);
  memset(p, 0, sizeof *p);
}
