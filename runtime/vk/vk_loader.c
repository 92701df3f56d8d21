/*
 * vk_loader.c — dlopen of the Vulkan loader and the entry-point globals of vk_functions.h.
 *
 * Owns the process-wide state: the loader handle (opened once, pinned, never closed) and one
 * function pointer per entry point. Also the shared-object pinning used after instance and device
 * creation (see vk_loader.h).
 */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "vk/vk_loader.h"

#define NO_LOADER_ADVICE                                                                          \
  "no Vulkan device found: the Vulkan loader (libvulkan.so.1) is not installed: install libvulkan1 " \
  "and a Vulkan driver (mesa-vulkan-drivers for the CPU driver)"

#ifndef PAGEDVK_USE_VOLK
/* ---- our own loader: the globals, then dlopen ---- */
#define PV_VK_DEFINE(name) PFN_##name name;
PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
PV_VK_GLOBAL_FUNCTIONS(PV_VK_DEFINE)
PV_VK_INSTANCE_FUNCTIONS(PV_VK_DEFINE)
PV_VK_INSTANCE_EXT_FUNCTIONS(PV_VK_DEFINE)
PV_VK_DEVICE_FUNCTIONS(PV_VK_DEFINE)
#undef PV_VK_DEFINE

static void *open_loader(void) {
  static const char *names[] = {"libvulkan.so.1", "libvulkan.so"};
  for (size_t i = 0; i < PV_ARRAY_LEN(names); i++) {
    /* RTLD_NODELETE: the loader stays mapped to the end, like the driver it opens. */
    void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (h) return h;
  }
  return NULL;
}

static int load_globals(pv_error *err) {
  void *handle = open_loader();
  if (!handle) return pv_fail(err, PAGEDVK_ERR_NO_DEVICE, NO_LOADER_ADVICE);
  /* POSIX guarantees object and function pointers convert; memcpy keeps -Wpedantic quiet. */
  void *sym = dlsym(handle, "vkGetInstanceProcAddr");
  if (!sym)
    return pv_fail(err, PAGEDVK_ERR_NO_DEVICE, "no Vulkan device found: %s lacks vkGetInstanceProcAddr",
                   "libvulkan.so.1");
  memcpy(&vkGetInstanceProcAddr, &sym, sizeof sym);
#define PV_VK_LOAD_GLOBAL(name) name = (PFN_##name)vkGetInstanceProcAddr(NULL, #name);
  PV_VK_GLOBAL_FUNCTIONS(PV_VK_LOAD_GLOBAL)
#undef PV_VK_LOAD_GLOBAL
  if (!vkCreateInstance || !vkEnumerateInstanceExtensionProperties || !vkEnumerateInstanceLayerProperties)
    return pv_fail(err, PAGEDVK_ERR_NO_DEVICE, "no Vulkan device found: the Vulkan loader is broken");
  if (!vkEnumerateInstanceVersion)
    return pv_fail(err, PAGEDVK_ERR_NO_DEVICE, "no Vulkan device found: the Vulkan loader is older than 1.1");
  return PAGEDVK_OK;
}

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

int pv_vk_loader_load_instance(VkInstance instance, pv_error *err) {
  const char *missing = NULL;
  pthread_mutex_lock(&load_lock);
  /* Keep an existing pointer when this instance returns NULL (an extension it did not enable). */
#define PV_VK_LOAD(name)                                                        \
  {                                                                             \
    PFN_##name p = (PFN_##name)vkGetInstanceProcAddr(instance, #name);         \
    if (p) name = p;                                                            \
  }
  PV_VK_INSTANCE_FUNCTIONS(PV_VK_LOAD)
  PV_VK_INSTANCE_EXT_FUNCTIONS(PV_VK_LOAD)
  PV_VK_DEVICE_FUNCTIONS(PV_VK_LOAD)
#undef PV_VK_LOAD
#define PV_VK_CHECK(name) \
  if (!name && !missing) missing = #name;
  PV_VK_INSTANCE_FUNCTIONS(PV_VK_CHECK)
  PV_VK_DEVICE_FUNCTIONS(PV_VK_CHECK)
#undef PV_VK_CHECK
  pthread_mutex_unlock(&load_lock);
  if (missing) return pv_fail(err, PAGEDVK_ERR_NO_DEVICE, "no Vulkan device found: the loader lacks %s", missing);
  return PAGEDVK_OK;
}

#else /* PAGEDVK_USE_VOLK */
/* ---- the system volk owns the globals ---- */
static int load_globals(pv_error *err) {
  if (volkInitialize() != VK_SUCCESS) return pv_fail(err, PAGEDVK_ERR_NO_DEVICE, NO_LOADER_ADVICE);
  /* Pin the loader volk opened, as our own loader does. */
  void *h = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  if (h) dlclose(h);
  if (!vkEnumerateInstanceVersion)
    return pv_fail(err, PAGEDVK_ERR_NO_DEVICE, "no Vulkan device found: the Vulkan loader is older than 1.1");
  return PAGEDVK_OK;
}

int pv_vk_loader_load_instance(VkInstance instance, pv_error *err) {
  const char *missing = NULL;
  volkLoadInstance(instance); /* device functions as loader trampolines, like our own loader */
#define PV_VK_CHECK(name) \
  if (!name && !missing) missing = #name;
  PV_VK_INSTANCE_FUNCTIONS(PV_VK_CHECK)
  PV_VK_DEVICE_FUNCTIONS(PV_VK_CHECK)
#undef PV_VK_CHECK
  if (missing) return pv_fail(err, PAGEDVK_ERR_NO_DEVICE, "no Vulkan device found: the loader lacks %s", missing);
  return PAGEDVK_OK;
}
#endif

/* ---- once per process ---- */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pv_error init_error;

static void init_globals(void) { init_error.code = load_globals(&init_error); }

int pv_vk_loader_init(pv_error *err) {
  pthread_once(&init_once, init_globals);
  if (init_error.code != PAGEDVK_OK) return pv_fail(err, init_error.code, "%s", init_error.msg);
  return PAGEDVK_OK;
}

/* ---- pinning the objects the loader opened ---- */
typedef struct {
  pv_dso_snapshot *snap;
  bool ok;
} snapshot_walk;

static int collect_name(struct dl_phdr_info *info, size_t size, void *data) {
  snapshot_walk *w = data;
  if (!w->ok || !info->dlpi_name || !info->dlpi_name[0]) return 0;
  char *copy = strdup(info->dlpi_name);
  if (!copy || PV_GROW(w->snap->names, w->snap->cap, w->snap->count + 1) != PAGEDVK_OK) {
    free(copy);
    w->ok = false;
    return 1;
  }
  w->snap->names[w->snap->count++] = copy;
  return 0;
}

bool pv_dso_snapshot_take(pv_dso_snapshot *snap) {
  snap->names = NULL;
  snap->count = snap->cap = 0;
  snapshot_walk w = {snap, true};
  dl_iterate_phdr(collect_name, &w);
  if (!w.ok) pv_dso_snapshot_free(snap);
  return w.ok;
}

void pv_dso_snapshot_free(pv_dso_snapshot *snap) {
  for (size_t i = 0; i < snap->count; i++) free(snap->names[i]);
  free(snap->names);
  snap->names = NULL;
  snap->count = snap->cap = 0;
}

static bool snapshot_has(const pv_dso_snapshot *snap, const char *name) {
  for (size_t i = 0; i < snap->count; i++)
    if (!strcmp(snap->names[i], name)) return true;
  return false;
}

void pv_dso_pin_new(const pv_dso_snapshot *before) {
  pv_dso_snapshot now;
  if (!pv_dso_snapshot_take(&now)) return;
  for (size_t i = 0; i < now.count; i++) {
    if (snapshot_has(before, now.names[i])) continue;
    /* NOLOAD: only touches an object that is already there; NODELETE stays after dlclose. */
    void *h = dlopen(now.names[i], RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    if (h) dlclose(h);
  }
  pv_dso_snapshot_free(&now);
}
