/*
 * vk_device.c — creating and destroying the Vulkan context (see vk_device.h).
 *
 * Order of creation (destroy runs it backwards): instance (+ validation messenger), physical device
 * choice and capability record, logical device and queue, pipeline cache, transfer command buffer.
 * Every driver and layer the loader opens is pinned right after instance and device creation so a
 * leak report from a driver names its library (tests/lsan.supp).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/env.h"
#include "vk/vk_cmd.h"
#include "vk/vk_device.h"
#include "vk/vk_error.h"
#include "vk/vk_loader.h"
#include "vk/vk_pipeline.h"

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"
#define NO_DEVICE_ADVICE                                                                        \
  "install a Vulkan driver (mesa-vulkan-drivers for the CPU driver) or check VK_DRIVER_FILES"

/* ---- small helpers ---- */

void pv_vk_options_from_env(pv_vk_options *opts) {
  memset(opts, 0, sizeof *opts);
  const pv_env *env = pv_env_get();
  opts->device = env->device[0] ? env->device : NULL;
  opts->validation = env->validation;
  opts->no_pipeline_cache = env->no_pipeline_cache;
  opts->clamps.no_fp16 = env->no_fp16;
  opts->clamps.no_storage16 = env->no_storage16;
  opts->clamps.no_subgroup = env->no_subgroup;
  opts->clamps.no_unified = env->no_unified;
  if (env->profile_embedded) opts->clamps.profile = PV_PROFILE_EMBEDDED;
  opts->clamps.heap_bytes = env->heap_mib << 20;
  opts->clamps.max_binding = env->max_binding;
}

/* Combines the caller's options with the environment (switches ORed; the caller's device wins). */
static void merge_options(pv_vk_options *out, const pv_vk_options *opts) {
  pv_vk_options_from_env(out);
  if (!opts) return;
  if (opts->device) out->device = opts->device;
  out->validation |= opts->validation;
  out->no_pipeline_cache |= opts->no_pipeline_cache;
  out->clamps.no_fp16 |= opts->clamps.no_fp16;
  out->clamps.no_storage16 |= opts->clamps.no_storage16;
  out->clamps.no_subgroup |= opts->clamps.no_subgroup;
  out->clamps.no_unified |= opts->clamps.no_unified;
  if (opts->clamps.profile != PV_PROFILE_DEFAULT) out->clamps.profile = opts->clamps.profile;
  if (opts->clamps.heap_bytes && (!out->clamps.heap_bytes || opts->clamps.heap_bytes < out->clamps.heap_bytes))
    out->clamps.heap_bytes = opts->clamps.heap_bytes;
  if (opts->clamps.max_binding && (!out->clamps.max_binding || opts->clamps.max_binding < out->clamps.max_binding))
    out->clamps.max_binding = opts->clamps.max_binding; /* the lower of the two */
}

const char *pv_vk_device_type_str(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

unsigned pv_vk_validation_count(const pv_vk_context *ctx) {
  return atomic_load(ctx->validation_counter);
}

/* ---- validation messenger ---- */

static VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                       VkDebugUtilsMessageTypeFlagsEXT types,
                                                       const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                       void *user) {
  pv_vk_context *ctx = user;
  const char *msg = data && data->pMessage ? data->pMessage : "(no message)";
  bool is_error = severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  bool counted = types & (VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT);
  if (!counted) {
    pv_log(PV_LOG_DEBUG, "vulkan performance: %s", msg);
  } else if (ctx->holding_messages) {
    char line[1024];
    snprintf(line, sizeof line, "%s: %s", is_error ? "error" : "warning", msg);
    if (ctx->held_count < PV_ARRAY_LEN(ctx->held_messages)) ctx->held_messages[ctx->held_count++] = strdup(line);
  } else {
    atomic_fetch_add(ctx->validation_counter, 1);
    pv_log(is_error ? PV_LOG_ERROR : PV_LOG_WARN, "validation: %s", msg);
  }
  return VK_FALSE;
}

/* Ends holding: prints and counts the held messages when the instance exists, else logs at debug. */
static void release_held_messages(pv_vk_context *ctx, bool instance_created) {
  ctx->holding_messages = false;
  for (uint32_t i = 0; i < ctx->held_count; i++) {
    const char *m = ctx->held_messages[i] ? ctx->held_messages[i] : "(message lost: out of memory)";
    if (instance_created) {
      atomic_fetch_add(ctx->validation_counter, 1);
      pv_log(PV_LOG_WARN, "validation: %s", m);
    } else {
      pv_log(PV_LOG_DEBUG, "while creating the instance: %s", m);
    }
    free(ctx->held_messages[i]);
    ctx->held_messages[i] = NULL;
  }
  ctx->held_count = 0;
}

static VkDebugUtilsMessengerCreateInfoEXT messenger_info(pv_vk_context *ctx) {
  VkDebugUtilsMessengerCreateInfoEXT info = {.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  info.pfnUserCallback = on_debug_message;
  info.pUserData = ctx;
  return info;
}

static bool has_layer(const char *name) {
  uint32_t n = 0;
  if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return false;
  VkLayerProperties *layers = calloc(n, sizeof *layers);
  bool found = false;
  if (layers && vkEnumerateInstanceLayerProperties(&n, layers) >= VK_SUCCESS)
    for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(layers[i].layerName, name);
  free(layers);
  return found;
}

static bool has_instance_extension(const char *layer, const char *name) {
  uint32_t n = 0;
  if (vkEnumerateInstanceExtensionProperties(layer, &n, NULL) != VK_SUCCESS || n == 0) return false;
  VkExtensionProperties *exts = calloc(n, sizeof *exts);
  bool found = false;
  if (exts && vkEnumerateInstanceExtensionProperties(layer, &n, exts) >= VK_SUCCESS)
    for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(exts[i].extensionName, name);
  free(exts);
  return found;
}

/* ---- instance ---- */

static int check_validation_available(pv_error *err) {
  if (!has_layer(VALIDATION_LAYER))
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED,
                   "PAGEDVK_VALIDATION=1 but %s is not installed (Debian: vulkan-validationlayers)", VALIDATION_LAYER);
  if (!has_instance_extension(NULL, VK_EXT_DEBUG_UTILS_EXTENSION_NAME) &&
      !has_instance_extension(VALIDATION_LAYER, VK_EXT_DEBUG_UTILS_EXTENSION_NAME))
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "PAGEDVK_VALIDATION=1 but %s is not available",
                   VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  return PAGEDVK_OK;
}

static int create_instance(pv_vk_context *ctx, pv_error *err) {
  int rc = pv_vk_loader_init(err);
  if (rc) return rc;
  uint32_t version = 0;
  if (vkEnumerateInstanceVersion(&version) != VK_SUCCESS || version < VK_API_VERSION_1_2)
    return pv_fail(err, PAGEDVK_ERR_NO_DEVICE, "no Vulkan device found: the Vulkan loader supports %u.%u, 1.2 is needed",
                   VK_API_VERSION_MAJOR(version), VK_API_VERSION_MINOR(version));
  if (ctx->validation && (rc = check_validation_available(err))) return rc;

  VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "pagedvk";
  app.applicationVersion = VK_MAKE_API_VERSION(0, PAGEDVK_VERSION_MAJOR, PAGEDVK_VERSION_MINOR, PAGEDVK_VERSION_PATCH);
  app.pEngineName = "pagedvk";
  app.apiVersion = VK_API_VERSION_1_2;
  VkDebugUtilsMessengerCreateInfoEXT dbg = messenger_info(ctx);
  const char *layers[] = {VALIDATION_LAYER};
  const char *exts[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
  VkInstanceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  info.pApplicationInfo = &app;
  if (ctx->validation) {
    info.pNext = &dbg; /* also reports on vkCreateInstance / vkDestroyInstance themselves */
    info.enabledLayerCount = 1;
    info.ppEnabledLayerNames = layers;
    info.enabledExtensionCount = 1;
    info.ppEnabledExtensionNames = exts;
  }
  ctx->holding_messages = true;
  VkResult r = vkCreateInstance(&info, NULL, &ctx->instance);
  release_held_messages(ctx, r == VK_SUCCESS);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED)
    return pv_fail(err, PAGEDVK_ERR_NO_DEVICE, "no Vulkan device found: " NO_DEVICE_ADVICE);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkCreateInstance");
  if ((rc = pv_vk_loader_load_instance(ctx->instance, err))) return rc;
  if (ctx->validation) {
    r = vkCreateDebugUtilsMessengerEXT(ctx->instance, &dbg, NULL, &ctx->messenger);
    if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkCreateDebugUtilsMessengerEXT");
  }
  return PAGEDVK_OK;
}

/* ---- physical devices ---- */

/* The first queue family with compute, preferring one that writes timestamps. UINT32_MAX if none. */
static uint32_t find_compute_family(VkPhysicalDevice pd, uint32_t *timestamp_bits) {
  uint32_t n = 0, best = UINT32_MAX;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
  VkQueueFamilyProperties *fams = calloc(n ? n : 1, sizeof *fams);
  if (!fams) return UINT32_MAX;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, fams);
  for (uint32_t i = 0; i < n; i++) {
    if (!(fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || fams[i].queueCount == 0) continue;
    if (best == UINT32_MAX || (fams[best].timestampValidBits == 0 && fams[i].timestampValidBits > 0)) best = i;
  }
  *timestamp_bits = best == UINT32_MAX ? 0 : fams[best].timestampValidBits;
  free(fams);
  return best;
}

static int enumerate_devices(pv_vk_context *ctx, VkPhysicalDevice **out, pv_error *err) {
  uint32_t n = 0;
  VkResult r = vkEnumeratePhysicalDevices(ctx->instance, &n, NULL);
  if (r == VK_SUCCESS && n == 0) return pv_fail(err, PAGEDVK_ERR_NO_DEVICE, "no Vulkan device found: " NO_DEVICE_ADVICE);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkEnumeratePhysicalDevices");
  VkPhysicalDevice *pds = calloc(n, sizeof *pds);
  ctx->devices = calloc(n, sizeof *ctx->devices);
  if (!pds || !ctx->devices) {
    free(pds);
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "out of memory listing devices");
  }
  r = vkEnumeratePhysicalDevices(ctx->instance, &n, pds);
  if (r < VK_SUCCESS) {
    free(pds);
    return pv_vk_fail(err, r, "vkEnumeratePhysicalDevices");
  }
  ctx->device_count = n;
  for (uint32_t i = 0; i < n; i++) {
    VkPhysicalDeviceProperties p;
    uint32_t bits;
    vkGetPhysicalDeviceProperties(pds[i], &p);
    pv_vk_device_entry *e = &ctx->devices[i];
    snprintf(e->name, sizeof e->name, "%s", p.deviceName);
    e->type = p.deviceType;
    e->api_version = p.apiVersion;
    e->usable = p.apiVersion >= VK_API_VERSION_1_2 && find_compute_family(pds[i], &bits) != UINT32_MAX;
  }
  *out = pds;
  return PAGEDVK_OK;
}

static int type_rank(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
  }
}

static bool contains_nocase(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  for (; *hay; hay++)
    if (!strncasecmp(hay, needle, n)) return true;
  return n == 0;
}

static bool all_digits(const char *s) {
  if (!*s) return false;
  for (; *s; s++)
    if (!isdigit((unsigned char)*s)) return false;
  return true;
}

/* Picks ctx->device_index from the selector (index or name substring) or by device type. */
static int choose_device(pv_vk_context *ctx, const char *selector, pv_error *err) {
  const pv_vk_device_entry *d = ctx->devices;
  if (selector && all_digits(selector)) {
    unsigned long i = strtoul(selector, NULL, 10);
    if (i >= ctx->device_count)
      return pv_fail(err, PAGEDVK_ERR_NO_DEVICE, "device %s: there are only %u Vulkan devices (`pagedvk info` lists them)", selector,
                     ctx->device_count);
    if (!d[i].usable)
      return pv_fail(err, PAGEDVK_ERR_NO_DEVICE, "device %lu (%s) lacks Vulkan 1.2 or a compute queue", i, d[i].name);
    ctx->device_index = (uint32_t)i;
    return PAGEDVK_OK;
  }
  int best = -1;
  for (uint32_t i = 0; i < ctx->device_count; i++) {
    if (!d[i].usable || (selector && !contains_nocase(d[i].name, selector))) continue;
    if (best < 0 || type_rank(d[i].type) > type_rank(d[best].type)) best = (int)i;
  }
  if (best < 0 && selector)
    return pv_fail(err, PAGEDVK_ERR_NO_DEVICE, "device '%s' matches no usable Vulkan device (`pagedvk info` lists them)", selector);
  if (best < 0)
    return pv_fail(err, PAGEDVK_ERR_NO_DEVICE, "no Vulkan device found with Vulkan 1.2 and compute: " NO_DEVICE_ADVICE);
  ctx->device_index = (uint32_t)best;
  return PAGEDVK_OK;
}

/* ---- capability record ---- */

static bool find_unified_memory(const VkPhysicalDeviceMemoryProperties *m) {
  VkDeviceSize largest = 0;
  for (uint32_t i = 0; i < m->memoryHeapCount; i++)
    if ((m->memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && m->memoryHeaps[i].size > largest)
      largest = m->memoryHeaps[i].size;
  const VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                     VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  for (uint32_t i = 0; i < m->memoryTypeCount; i++)
    if ((m->memoryTypes[i].propertyFlags & want) == want && m->memoryHeaps[m->memoryTypes[i].heapIndex].size >= largest)
      return true;
  return false;
}

static void read_limits(pv_vk_caps *c, const VkPhysicalDeviceLimits *l) {
  c->max_storage_buffer_range = l->maxStorageBufferRange;
  c->max_shared_memory = l->maxComputeSharedMemorySize;
  c->max_workgroup_invocations = l->maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; i++) {
    c->max_workgroup_size[i] = l->maxComputeWorkGroupSize[i];
    c->max_workgroup_count[i] = l->maxComputeWorkGroupCount[i];
  }
  c->max_push_constants = l->maxPushConstantsSize;
  c->min_storage_offset_align = l->minStorageBufferOffsetAlignment;
  c->max_texel_elements = l->maxTexelBufferElements;
  c->min_texel_offset_align = l->minTexelBufferOffsetAlignment;
  c->max_set_storage_buffers = l->maxDescriptorSetStorageBuffers;
  c->max_stage_storage_buffers = l->maxPerStageDescriptorStorageBuffers;
  c->timestamp_period = l->timestampPeriod;
}

static void read_caps(VkPhysicalDevice pd, uint32_t timestamp_bits, pv_vk_caps *c) {
  VkPhysicalDeviceVulkan12Properties p12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES};
  VkPhysicalDeviceVulkan11Properties p11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES, .pNext = &p12};
  VkPhysicalDeviceProperties2 props = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &p11};
  vkGetPhysicalDeviceProperties2(pd, &props);
  VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceVulkan11Features f11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, .pNext = &f12};
  VkPhysicalDeviceFeatures2 feats = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f11};
  vkGetPhysicalDeviceFeatures2(pd, &feats);

  const VkPhysicalDeviceProperties *p = &props.properties;
  memset(c, 0, sizeof *c);
  snprintf(c->device_name, sizeof c->device_name, "%s", p->deviceName);
  snprintf(c->driver_name, sizeof c->driver_name, "%s", p12.driverName);
  snprintf(c->driver_info, sizeof c->driver_info, "%s", p12.driverInfo);
  c->device_type = p->deviceType;
  c->vendor_id = p->vendorID;
  c->device_id = p->deviceID;
  c->driver_version = p->driverVersion;
  c->api_version = p->apiVersion;
  memcpy(c->pipeline_cache_uuid, p->pipelineCacheUUID, VK_UUID_SIZE);

  c->fp16 = f12.shaderFloat16;
  c->int8 = f12.shaderInt8;
  c->int16 = feats.features.shaderInt16;
  c->storage16 = f11.storageBuffer16BitAccess;
  c->storage8 = f12.storageBuffer8BitAccess;
  c->buffer_device_address = f12.bufferDeviceAddress;
  c->storage_array_dynamic = feats.features.shaderStorageBufferArrayDynamicIndexing;
  c->storage_array_nonuniform = f12.shaderStorageBufferArrayNonUniformIndexing;

  c->subgroup_size = p11.subgroupSize;
  c->subgroup_ops = (p11.subgroupSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT) ? p11.subgroupSupportedOperations : 0;
  c->max_allocation_size = p11.maxMemoryAllocationSize;
  read_limits(c, &p->limits);

  vkGetPhysicalDeviceMemoryProperties(pd, &c->memory);
  c->unified_memory = find_unified_memory(&c->memory);
  c->timestamp_bits = timestamp_bits;
  c->timestamps = timestamp_bits > 0 && c->timestamp_period > 0.0f;
}

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }
static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* Lowers `c` by the clamps: the capabilities a smaller device (or a missing feature) would have. */
static void apply_clamps(pv_vk_caps *c, const pv_vk_clamps *k) {
  bool embedded = k->profile == PV_PROFILE_EMBEDDED;
  if (embedded) {
    c->max_storage_buffer_range = min_u64(c->max_storage_buffer_range, PV_EMBEDDED_MAX_STORAGE_BUFFER_RANGE);
    c->max_allocation_size = min_u64(c->max_allocation_size, PV_EMBEDDED_MAX_ALLOCATION_SIZE);
    c->max_shared_memory = min_u32(c->max_shared_memory, PV_EMBEDDED_MAX_SHARED_MEMORY);
    c->max_workgroup_invocations = min_u32(c->max_workgroup_invocations, PV_EMBEDDED_MAX_WORKGROUP_INVOCATIONS);
    for (int i = 0; i < 3; i++)
      c->max_workgroup_size[i] = min_u32(c->max_workgroup_size[i], PV_EMBEDDED_MAX_WORKGROUP_INVOCATIONS);
  }
  if (embedded || k->no_fp16) c->fp16 = false;
  if (embedded || k->no_storage16) c->storage16 = c->storage8 = false;
  if (embedded || k->no_subgroup) c->subgroup_ops = 0;
  if (k->no_unified) c->unified_memory = false;
  for (uint32_t i = 0; k->heap_bytes && i < c->memory.memoryHeapCount; i++)
    if (c->memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      c->memory.memoryHeaps[i].size = min_u64(c->memory.memoryHeaps[i].size, k->heap_bytes);
  if (k->max_binding) c->max_storage_buffer_range = min_u64(c->max_storage_buffer_range, k->max_binding);
}

/* ---- logical device ---- */

static int create_device(pv_vk_context *ctx, VkPhysicalDevice pd, pv_error *err) {
  const pv_vk_caps *c = &ctx->caps;
  VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  f12.shaderFloat16 = c->fp16;
  f12.shaderInt8 = c->int8;
  f12.storageBuffer8BitAccess = c->storage8;
  f12.bufferDeviceAddress = c->buffer_device_address;
  f12.shaderStorageBufferArrayNonUniformIndexing = c->storage_array_nonuniform;
  VkPhysicalDeviceVulkan11Features f11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, .pNext = &f12};
  f11.storageBuffer16BitAccess = c->storage16;
  VkPhysicalDeviceFeatures2 feats = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f11};
  feats.features.shaderInt16 = c->int16;
  feats.features.shaderStorageBufferArrayDynamicIndexing = c->storage_array_dynamic;

  float priority = 1.0f;
  VkDeviceQueueCreateInfo q = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  q.queueFamilyIndex = ctx->queue_family;
  q.queueCount = 1;
  q.pQueuePriorities = &priority;
  VkDeviceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &feats};
  info.queueCreateInfoCount = 1;
  info.pQueueCreateInfos = &q;
  VkResult r = vkCreateDevice(pd, &info, NULL, &ctx->device);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkCreateDevice");
  vkGetDeviceQueue(ctx->device, ctx->queue_family, 0, &ctx->queue);
  return PAGEDVK_OK;
}

static int open_device(pv_vk_context *ctx, const pv_vk_options *opts, pv_error *err) {
  VkPhysicalDevice *pds = NULL;
  int rc = enumerate_devices(ctx, &pds, err);
  if (!rc) rc = choose_device(ctx, opts->device, err);
  if (rc) {
    free(pds);
    return rc;
  }
  ctx->physical = pds[ctx->device_index];
  free(pds);
  uint32_t timestamp_bits = 0;
  ctx->queue_family = find_compute_family(ctx->physical, &timestamp_bits);
  read_caps(ctx->physical, timestamp_bits, &ctx->device_caps);
  ctx->caps = ctx->device_caps;
  ctx->clamps = opts->clamps;
  apply_clamps(&ctx->caps, &ctx->clamps);
  return create_device(ctx, ctx->physical, err);
}

/* ---- create / destroy ---- */

static int create_parts(pv_vk_context *ctx, const pv_vk_options *opts, pv_error *err) {
  pv_dso_snapshot before;
  bool pin = pv_dso_snapshot_take(&before);
  int rc = create_instance(ctx, err);
  if (!rc) rc = open_device(ctx, opts, err);
  if (pin) {
    pv_dso_pin_new(&before); /* drivers and layers opened by instance and device creation */
    pv_dso_snapshot_free(&before);
  }
  if (rc) return rc;
  if ((rc = pv_vk_pipeline_cache_open(ctx, !opts->no_pipeline_cache, err))) return rc;
  ctx->transfer = calloc(1, sizeof *ctx->transfer);
  if (!ctx->transfer) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "out of memory");
  return pv_vk_cmd_create(ctx, ctx->transfer, err);
}

int pv_vk_context_create(pv_vk_context **out, const pv_vk_options *opts, pv_error *err) {
  *out = NULL;
  pv_vk_options eff;
  merge_options(&eff, opts);
  pv_vk_context *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "out of memory");
  pthread_mutex_init(&ctx->queue_lock, NULL);
  pthread_mutex_init(&ctx->transfer_lock, NULL);
  atomic_init(&ctx->validation_messages, 0);
  atomic_init(&ctx->staged_upload_bytes, 0);
  atomic_init(&ctx->staged_download_bytes, 0);
  ctx->validation_counter = (opts && opts->validation_counter) ? opts->validation_counter : &ctx->validation_messages;
  ctx->validation = eff.validation;
  int rc = create_parts(ctx, &eff, err);
  if (rc) {
    pv_vk_context_destroy(ctx);
    return rc;
  }
  *out = ctx;
  return PAGEDVK_OK;
}

void pv_vk_context_destroy(pv_vk_context *ctx) {
  if (!ctx) return;
  if (ctx->device) vkDeviceWaitIdle(ctx->device);
  if (ctx->transfer) {
    pv_vk_cmd_destroy(ctx->transfer);
    free(ctx->transfer);
  }
  if (ctx->device) pv_vk_pipeline_cache_close(ctx);
  if (ctx->device) vkDestroyDevice(ctx->device, NULL);
  if (ctx->messenger) vkDestroyDebugUtilsMessengerEXT(ctx->instance, ctx->messenger, NULL);
  if (ctx->instance) vkDestroyInstance(ctx->instance, NULL);
  free(ctx->devices);
  pthread_mutex_destroy(&ctx->transfer_lock);
  pthread_mutex_destroy(&ctx->queue_lock);
  free(ctx);
}
