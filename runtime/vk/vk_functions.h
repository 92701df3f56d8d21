/*
 * vk_functions.h — every Vulkan entry point pagedvk calls, named once in one X-macro list.
 *
 * The library has no link-time dependency on libvulkan: vk_loader.c opens it with dlopen and fills
 * one global function pointer per entry point, named like the Vulkan function itself, so code reads
 * `vkCreateBuffer(...)`. VK_NO_PROTOTYPES keeps vulkan.h from declaring the real functions.
 *
 * Include this header instead of <vulkan/vulkan.h> everywhere in the runtime.
 *
 * Invariants:
 *   - Instance- and device-level pointers are fetched with vkGetInstanceProcAddr, so they are the
 *     loader's dispatching trampolines: valid for every VkInstance / VkDevice of the process (two
 *     contexts, one with the validation layer and one without, can live side by side).
 *   - Adding an entry point means adding one X(...) line below; nothing else.
 *
 * With PAGEDVK_USE_VOLK (CMake option PAGEDVK_SYSTEM_VOLK) the system volk provides the pointers
 * instead, and the X-macro lists are only used to check that each one was loaded.
 */
#ifndef PV_VK_FUNCTIONS_H
#define PV_VK_FUNCTIONS_H

#ifndef VK_NO_PROTOTYPES
#define VK_NO_PROTOTYPES
#endif

#ifdef PAGEDVK_USE_VOLK
#include <volk.h>
#else
#include <vulkan/vulkan.h>
#endif

/* Loaded with vkGetInstanceProcAddr(NULL, ...): usable before an instance exists. */
#define PV_VK_GLOBAL_FUNCTIONS(X)           \
  X(vkEnumerateInstanceVersion)             \
  X(vkEnumerateInstanceLayerProperties)     \
  X(vkEnumerateInstanceExtensionProperties) \
  X(vkCreateInstance)

/* Core instance-level functions (Vulkan 1.2 makes all of them available). */
#define PV_VK_INSTANCE_FUNCTIONS(X)          \
  X(vkDestroyInstance)                       \
  X(vkEnumeratePhysicalDevices)              \
  X(vkGetPhysicalDeviceProperties)           \
  X(vkGetPhysicalDeviceProperties2)          \
  X(vkGetPhysicalDeviceFeatures2)            \
  X(vkGetPhysicalDeviceQueueFamilyProperties) \
  X(vkGetPhysicalDeviceMemoryProperties)     \
  X(vkEnumerateDeviceExtensionProperties)    \
  X(vkCreateDevice)                          \
  X(vkGetDeviceProcAddr)

/* Instance-level extension functions: NULL unless an instance enabled the extension. */
#define PV_VK_INSTANCE_EXT_FUNCTIONS(X) \
  X(vkCreateDebugUtilsMessengerEXT)     \
  X(vkDestroyDebugUtilsMessengerEXT)

/* Core device-level functions. */
#define PV_VK_DEVICE_FUNCTIONS(X)    \
  X(vkDestroyDevice)                 \
  X(vkGetDeviceQueue)                \
  X(vkDeviceWaitIdle)                \
  X(vkQueueSubmit)                   \
  X(vkCreateFence)                   \
  X(vkDestroyFence)                  \
  X(vkWaitForFences)                 \
  X(vkResetFences)                   \
  X(vkCreateCommandPool)             \
  X(vkDestroyCommandPool)            \
  X(vkResetCommandPool)              \
  X(vkAllocateCommandBuffers)        \
  X(vkBeginCommandBuffer)            \
  X(vkEndCommandBuffer)              \
  X(vkCreateBuffer)                  \
  X(vkDestroyBuffer)                 \
  X(vkCreateBufferView)              \
  X(vkDestroyBufferView)             \
  X(vkGetBufferMemoryRequirements)   \
  X(vkGetBufferDeviceAddress)        \
  X(vkAllocateMemory)                \
  X(vkFreeMemory)                    \
  X(vkBindBufferMemory)              \
  X(vkMapMemory)                     \
  X(vkUnmapMemory)                   \
  X(vkFlushMappedMemoryRanges)       \
  X(vkInvalidateMappedMemoryRanges)  \
  X(vkCreateShaderModule)            \
  X(vkDestroyShaderModule)           \
  X(vkCreateDescriptorSetLayout)     \
  X(vkDestroyDescriptorSetLayout)    \
  X(vkCreatePipelineLayout)          \
  X(vkDestroyPipelineLayout)         \
  X(vkCreatePipelineCache)           \
  X(vkDestroyPipelineCache)          \
  X(vkGetPipelineCacheData)          \
  X(vkCreateComputePipelines)        \
  X(vkDestroyPipeline)               \
  X(vkCreateDescriptorPool)          \
  X(vkDestroyDescriptorPool)         \
  X(vkResetDescriptorPool)           \
  X(vkAllocateDescriptorSets)        \
  X(vkUpdateDescriptorSets)          \
  X(vkCreateQueryPool)               \
  X(vkDestroyQueryPool)              \
  X(vkGetQueryPoolResults)           \
  X(vkCmdBindPipeline)               \
  X(vkCmdBindDescriptorSets)         \
  X(vkCmdPushConstants)              \
  X(vkCmdDispatch)                   \
  X(vkCmdPipelineBarrier)            \
  X(vkCmdCopyBuffer)                 \
  X(vkCmdFillBuffer)                 \
  X(vkCmdResetQueryPool)             \
  X(vkCmdWriteTimestamp)

#ifndef PAGEDVK_USE_VOLK
#define PV_VK_DECLARE(name) extern PFN_##name name;
extern PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
PV_VK_GLOBAL_FUNCTIONS(PV_VK_DECLARE)
PV_VK_INSTANCE_FUNCTIONS(PV_VK_DECLARE)
PV_VK_INSTANCE_EXT_FUNCTIONS(PV_VK_DECLARE)
PV_VK_DEVICE_FUNCTIONS(PV_VK_DECLARE)
#undef PV_VK_DECLARE
#endif

#endif /* PV_VK_FUNCTIONS_H */
