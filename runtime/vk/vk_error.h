/*
 * vk_error.h — reporting a failed Vulkan call: the name of a VkResult and pv_vk_fail, which turns a
 * result into the library's status and message. Every file of runtime/vk that calls Vulkan uses it;
 * it depends on nothing in the room but the function table's types, so no file depends back on the
 * context (vk_device.c) only to report an error.
 */
#ifndef PV_VK_ERROR_H
#define PV_VK_ERROR_H

#include "base/base.h"
#include "vk/vk_functions.h"

/* Short name of a result ("VK_ERROR_DEVICE_LOST"; "VkResult" for one without a name here). */
const char *pv_vk_result_str(VkResult r);

/* pv_fail for a failed Vulkan call: DEVICE_LOST → PAGEDVK_ERR_DEVICE_LOST, out of memory →
 * PAGEDVK_ERR_NO_MEMORY, else PAGEDVK_ERR_VULKAN. The message names the call and the result. */
int pv_vk_fail(pv_error *err, VkResult r, const char *what);

#endif /* PV_VK_ERROR_H */
