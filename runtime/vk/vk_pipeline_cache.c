/*
 * vk_pipeline_cache.c — the per-device VkPipelineCache and its file (see vk_pipeline.h).
 *
 * The file is trusted only when its header (length, version ONE, vendor, device, pipelineCacheUUID)
 * matches the device; otherwise the cache starts empty. Writing goes to a temporary file renamed over
 * the old one, so a crash never leaves a truncated cache. Nothing here is fatal: every file problem is
 * a debug log line and an empty cache. The file is written only when a pipeline was created.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/env.h"
#include "vk/vk_error.h"
#include "vk/vk_pipeline.h"

#define HEADER_BYTES (16 + VK_UUID_SIZE)

/* Builds the cache directory path (without creating it). False when there is no home. */
static bool cache_dir(char *buf, size_t size) {
  const pv_env *env = pv_env_get();
  int n;
  if (env->cache_home[0]) n = snprintf(buf, size, "%s/pagedvk", env->cache_home);
  else if (env->home[0]) n = snprintf(buf, size, "%s/.cache/pagedvk", env->home);
  else return false;
  return n > 0 && (size_t)n < size;
}

/* mkdir -p for the last two components (…/.cache/pagedvk). */
static bool make_dirs(const char *dir) {
  char parent[1024];
  snprintf(parent, sizeof parent, "%s", dir);
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent) {
    *slash = 0;
    if (mkdir(parent, 0755) && errno != EEXIST) return false;
  }
  return !mkdir(dir, 0755) || errno == EEXIST;
}

static void cache_path(pv_vk_context *ctx) {
  char dir[900];
  ctx->pipeline_cache_path[0] = 0;
  if (!cache_dir(dir, sizeof dir)) return;
  char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
  const pv_vk_caps *c = &ctx->device_caps;
  size_t i = 0;
  for (; c->device_name[i] && i + 1 < sizeof name; i++) {
    char ch = c->device_name[i];
    bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                 ch == '-';
    name[i] = plain ? ch : '_';
  }
  name[i] = 0;
  int n = snprintf(ctx->pipeline_cache_path, sizeof ctx->pipeline_cache_path, "%s/%s-%04x-%04x-%u.bin", dir, name,
                   c->vendor_id, c->device_id, c->driver_version);
  if (n <= 0 || (size_t)n >= sizeof ctx->pipeline_cache_path) ctx->pipeline_cache_path[0] = 0;
}

static bool header_matches(const pv_vk_caps *c, const unsigned char *data, size_t size) {
  uint32_t f[4];
  if (size < HEADER_BYTES) return false;
  memcpy(f, data, sizeof f);
  return f[0] >= HEADER_BYTES && f[1] == VK_PIPELINE_CACHE_HEADER_VERSION_ONE && f[2] == c->vendor_id &&
         f[3] == c->device_id && !memcmp(data + 16, c->pipeline_cache_uuid, VK_UUID_SIZE);
}

/* Reads the cache file; NULL (and a debug line) when absent or not for this device. */
static void *read_cache_file(pv_vk_context *ctx, size_t *size) {
  FILE *f = fopen(ctx->pipeline_cache_path, "rb");
  if (!f) {
    pv_log(PV_LOG_DEBUG, "pipeline cache %s: %s", ctx->pipeline_cache_path, strerror(errno));
    return NULL;
  }
  void *data = NULL;
  long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  if (len > 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)len)) &&
      fread(data, 1, (size_t)len, f) == (size_t)len && header_matches(&ctx->device_caps, data, (size_t)len)) {
    *size = (size_t)len;
  } else {
    pv_log(PV_LOG_DEBUG, "pipeline cache %s: unreadable or for another device, starting empty",
           ctx->pipeline_cache_path);
    free(data);
    data = NULL;
  }
  fclose(f);
  return data;
}

int pv_vk_pipeline_cache_open(pv_vk_context *ctx, bool persist, pv_error *err) {
  size_t size = 0;
  void *data = NULL;
  if (persist) cache_path(ctx);
  if (ctx->pipeline_cache_path[0]) data = read_cache_file(ctx, &size);
  VkPipelineCacheCreateInfo info = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  info.initialDataSize = data ? size : 0;
  info.pInitialData = data;
  VkResult r = vkCreatePipelineCache(ctx->device, &info, NULL, &ctx->pipeline_cache);
  free(data);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkCreatePipelineCache");
  return PAGEDVK_OK;
}

static void write_cache_file(pv_vk_context *ctx) {
  size_t size = 0;
  if (vkGetPipelineCacheData(ctx->device, ctx->pipeline_cache, &size, NULL) != VK_SUCCESS || size == 0) return;
  void *data = malloc(size);
  if (!data) return;
  char dir[900], tmp[1100];
  bool ok = vkGetPipelineCacheData(ctx->device, ctx->pipeline_cache, &size, data) == VK_SUCCESS &&
            cache_dir(dir, sizeof dir) && make_dirs(dir);
  snprintf(tmp, sizeof tmp, "%s.%ld.tmp", ctx->pipeline_cache_path, (long)getpid());
  FILE *f = ok ? fopen(tmp, "wb") : NULL;
  ok = f && fwrite(data, 1, size, f) == size;
  if (f && fclose(f)) ok = false;
  if (ok) ok = rename(tmp, ctx->pipeline_cache_path) == 0;
  if (!ok) {
    pv_log(PV_LOG_DEBUG, "pipeline cache %s: not written (%s)", ctx->pipeline_cache_path, strerror(errno));
    if (f) unlink(tmp);
  }
  free(data);
}

void pv_vk_pipeline_cache_close(pv_vk_context *ctx) {
  if (!ctx->pipeline_cache) return;
  if (ctx->pipeline_cache_path[0] && atomic_load(&ctx->pipeline_cache_dirty)) write_cache_file(ctx);
  vkDestroyPipelineCache(ctx->device, ctx->pipeline_cache, NULL);
  ctx->pipeline_cache = VK_NULL_HANDLE;
}
