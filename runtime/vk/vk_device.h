/*
 * vk_device.h — the Vulkan context: instance, chosen physical device, logical device, one compute
 * queue, the pipeline cache, the validation messenger, and the capability record.
 *
 * Owns everything it creates; pv_vk_context_destroy frees in reverse order of creation.
 *
 * Invariants:
 *   - The device supports Vulkan 1.2; instance and device are created for API 1.2.
 *   - `caps` is the EFFECTIVE capability record: the device's own values (`device_caps`) lowered by
 *     the clamps (options and environment). The device enables exactly the optional features that
 *     `caps` says are present, so a shader or op chosen from `caps` is valid on the device.
 *   - The queue is externally synchronized: submit only through pv_vk_queue_submit (vk_cmd.c),
 *     which holds `queue_lock`.
 *
 * Environment (ORed with the options struct):
 *   PAGEDVK_DEVICE=index|name-substring   which device (default: discrete > integrated > virtual > cpu)
 *   PAGEDVK_VALIDATION=1                  VK_LAYER_KHRONOS_validation + debug messenger
 *   PAGEDVK_NO_FP16=1                     no fp16 arithmetic
 *   PAGEDVK_NO_STORAGE16=1                no 16-bit and no 8-bit storage
 *   PAGEDVK_NO_SUBGROUP=1                 no subgroup operations
 *   PAGEDVK_NO_UNIFIED=1                  treat device memory as not host-visible (staging paths)
 *   PAGEDVK_PROFILE=embedded              the clamps of a small embedded GPU (see pv_vk_clamps)
 *   PAGEDVK_HEAP_MIB=N                    device-local heaps report at most N MiB (a smaller device)
 *   PAGEDVK_MAX_BINDING=bytes             lower maxStorageBufferRange to bytes (tests of split weights)
 *   PAGEDVK_NO_PIPELINE_CACHE=1           neither read nor write the on-disk pipeline cache
 */
#ifndef PV_VK_DEVICE_H
#define PV_VK_DEVICE_H

#include <pthread.h>
#include <stdatomic.h>

#include "base/base.h"
#include "vk/vk_error.h" /* every user of the context may report a failed call */
#include "vk/vk_functions.h"

/* The embedded profile's limits. */
#define PV_EMBEDDED_MAX_STORAGE_BUFFER_RANGE (64u << 20)
#define PV_EMBEDDED_MAX_ALLOCATION_SIZE (256ull << 20)
#define PV_EMBEDDED_MAX_SHARED_MEMORY (16u << 10)
#define PV_EMBEDDED_MAX_WORKGROUP_INVOCATIONS 128u

/* Subgroup operations in compute shaders (VkSubgroupFeatureFlags bits). */
#define PV_SUBGROUP_FULL                                                                         \
  (VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_VOTE_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT | \
   VK_SUBGROUP_FEATURE_BALLOT_BIT | VK_SUBGROUP_FEATURE_SHUFFLE_BIT)

typedef struct pv_vk_caps {
  /* identity */
  char device_name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
  char driver_name[VK_MAX_DRIVER_NAME_SIZE];
  char driver_info[VK_MAX_DRIVER_INFO_SIZE];
  VkPhysicalDeviceType device_type;
  uint32_t vendor_id, device_id, driver_version, api_version;
  uint8_t pipeline_cache_uuid[VK_UUID_SIZE];

  /* shader arithmetic and storage */
  bool fp16;      /* shaderFloat16 */
  bool int8;      /* shaderInt8 */
  bool int16;     /* shaderInt16 */
  bool storage16; /* storageBuffer16BitAccess */
  bool storage8;  /* storageBuffer8BitAccess */
  bool buffer_device_address;
  /* indexing a descriptor array of storage buffers (a KV pool over several VkBuffers) */
  bool storage_array_dynamic;    /* shaderStorageBufferArrayDynamicIndexing: dynamically uniform index */
  bool storage_array_nonuniform; /* shaderStorageBufferArrayNonUniformIndexing: any index (nonuniformEXT) */

  /* subgroups in compute; subgroup_ops == 0 means "do not use subgroup operations" */
  uint32_t subgroup_size;
  VkSubgroupFeatureFlags subgroup_ops;

  /* limits */
  uint64_t max_storage_buffer_range;
  uint64_t max_allocation_size;
  uint32_t max_shared_memory;
  uint32_t max_workgroup_invocations;
  uint32_t max_workgroup_size[3];
  uint32_t max_workgroup_count[3];
  uint32_t max_push_constants;
  uint64_t min_storage_offset_align;
  uint64_t max_texel_elements;       /* maxTexelBufferElements */
  uint64_t min_texel_offset_align;   /* minTexelBufferOffsetAlignment */
  uint32_t max_set_storage_buffers;   /* maxDescriptorSetStorageBuffers */
  uint32_t max_stage_storage_buffers; /* maxPerStageDescriptorStorageBuffers */

  /* memory */
  VkPhysicalDeviceMemoryProperties memory;
  bool unified_memory; /* a device-local + host-visible type on the largest device-local heap */

  /* timing */
  bool timestamps;         /* the compute queue writes timestamps */
  uint32_t timestamp_bits; /* timestampValidBits of the queue family */
  float timestamp_period;  /* nanoseconds per tick */
} pv_vk_caps;

/* True when compute shaders may use every op in `ops` (VkSubgroupFeatureFlags). */
static inline bool pv_caps_subgroup(const pv_vk_caps *caps, VkSubgroupFeatureFlags ops) {
  return caps->subgroup_ops && (caps->subgroup_ops & ops) == ops;
}

typedef enum { PV_PROFILE_DEFAULT = 0, PV_PROFILE_EMBEDDED = 1 } pv_vk_profile;

/* Clamps that lower the device's capabilities, to run (and test) every fallback. */
typedef struct pv_vk_clamps {
  bool no_fp16;
  bool no_storage16; /* also no 8-bit storage */
  bool no_subgroup;
  bool no_unified;
  pv_vk_profile profile;
  uint64_t heap_bytes; /* nonzero: every device-local heap reports at most this size */
  /* > 0: maxStorageBufferRange lowered to this many bytes, as on a device that binds less per
   * buffer (tests of weights split over several bindings use small values) */
  uint64_t max_binding;
} pv_vk_clamps;

typedef struct pv_vk_options {
  const char *device;     /* index or name substring; NULL = PAGEDVK_DEVICE */
  bool validation;        /* ORed with PAGEDVK_VALIDATION */
  bool no_pipeline_cache; /* ORed with PAGEDVK_NO_PIPELINE_CACHE */
  pv_vk_clamps clamps;    /* ORed with the environment's clamps */
  /* Where validation messages are counted; NULL: in the context. A caller-owned counter also sees
   * the messages of pv_vk_context_destroy (objects left alive). */
  atomic_uint *validation_counter;
} pv_vk_options;

/* One line per physical device, for listings. */
typedef struct pv_vk_device_entry {
  char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
  VkPhysicalDeviceType type;
  uint32_t api_version;
  bool usable; /* Vulkan 1.2 and a compute queue */
} pv_vk_device_entry;

typedef struct pv_vk_context {
  VkInstance instance;
  VkDebugUtilsMessengerEXT messenger; /* VK_NULL_HANDLE unless validation */
  VkPhysicalDevice physical;
  VkDevice device;
  VkQueue queue;
  uint32_t queue_family;
  VkPipelineCache pipeline_cache;
  char pipeline_cache_path[1024]; /* empty: not persisted */
  atomic_bool pipeline_cache_dirty; /* a pipeline was created: write the cache at destroy */
  struct pv_vk_cmd *transfer;     /* for staging copies (vk_buffer.c), guarded by transfer_lock */

  pv_vk_caps caps;        /* effective */
  pv_vk_caps device_caps; /* as the device reports them */
  pv_vk_clamps clamps;    /* effective clamps */
  bool validation;

  pv_vk_device_entry *devices; /* every physical device, in enumeration order */
  uint32_t device_count;
  uint32_t device_index; /* the chosen one */

  /* Messages the loader and layer send during vkCreateInstance, held until it succeeds (printed and
   * counted then) or fails (the failure is reported as one error line; they go to the debug log). */
  char *held_messages[8];
  uint32_t held_count;
  bool holding_messages;

  pthread_mutex_t queue_lock;
  pthread_mutex_t transfer_lock;
  /* Bytes that went through a staging buffer (vk_buffer.c); 0 while everything is written in place. */
  atomic_uint_fast64_t staged_upload_bytes, staged_download_bytes;
  atomic_uint validation_messages;
  atomic_uint *validation_counter; /* &validation_messages or the caller's */
} pv_vk_context;

/* Reads the PAGEDVK_* variables into `opts` (starting from zero). */
void pv_vk_options_from_env(pv_vk_options *opts);

/* Creates a context. `opts` may be NULL (environment only); otherwise its switches are ORed with
 * the environment's. PAGEDVK_ERR_NO_DEVICE when there is no loader, driver or suitable device. */
int pv_vk_context_create(pv_vk_context **out, const pv_vk_options *opts, pv_error *err);
void pv_vk_context_destroy(pv_vk_context *ctx);

/* Number of validation WARNING/ERROR messages (validation and general types) seen so far. */
unsigned pv_vk_validation_count(const pv_vk_context *ctx);

/* Short name for listings. */
const char *pv_vk_device_type_str(VkPhysicalDeviceType type);

#endif /* PV_VK_DEVICE_H */
