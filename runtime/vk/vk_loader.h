/*
 * vk_loader.h — finding libvulkan at run time and filling the entry points of vk_functions.h.
 *
 * Owns: the dlopen handle of the Vulkan loader (kept for the life of the process, never closed)
 * and the global function pointers. Also pins the shared objects the loader opens (drivers,
 * layers) so that leak reports from them name their library instead of "<unknown module>".
 *
 * Invariants: pv_vk_loader_init is idempotent and thread-safe; after it succeeds the global-level
 * pointers are valid. pv_vk_loader_load_instance fills instance- and device-level pointers from an
 * instance; it never replaces a pointer with NULL, so a later instance without an extension does
 * not break an earlier one that enabled it.
 */
#ifndef PV_VK_LOADER_H
#define PV_VK_LOADER_H

#include <stddef.h>

#include "base/base.h"
#include "vk/vk_functions.h"

/* Opens libvulkan.so.1 (or libvulkan.so) and loads the global functions. PAGEDVK_ERR_NO_DEVICE
 * with one line of advice when there is no loader. */
int pv_vk_loader_init(pv_error *err);

/* Loads every instance- and device-level function through vkGetInstanceProcAddr(instance, ...).
 * Fails (PAGEDVK_ERR_NO_DEVICE) when a core function is missing. */
int pv_vk_loader_load_instance(VkInstance instance, pv_error *err);

/* The names of the shared objects loaded in the process at one moment. */
typedef struct pv_dso_snapshot {
  char **names;
  size_t count, cap;
} pv_dso_snapshot;

/* Records the objects loaded now. Returns false when out of memory (then pinning is skipped). */
bool pv_dso_snapshot_take(pv_dso_snapshot *snap);
/* Pins (RTLD_NODELETE) every object loaded since `snap` was taken, so it stays mapped until exit. */
void pv_dso_pin_new(const pv_dso_snapshot *snap);
void pv_dso_snapshot_free(pv_dso_snapshot *snap);

#endif /* PV_VK_LOADER_H */
