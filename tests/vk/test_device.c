/*
 * The Vulkan foundation: capability record and clamps, device selection, buffers (host-visible,
 * device-local in place and through staging), copies and fills, timestamps, shader variants and the
 * pipeline cache file. Every context runs with the validation layer and must stay silent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pv_test_shader_ids.h"
#include "vk/vk_pipeline.h"
#include "vk_fixture.h"

static bool is_lavapipe(const pv_vk_caps *c) { return strstr(c->device_name, "llvmpipe") != NULL; }

static void test_caps_sensible(void **state) {
  pv_test_vk *t = *state;
  const pv_vk_caps *c = &t->ctx->caps;
  assert_true(c->device_name[0] && c->driver_name[0]);
  assert_true(c->api_version >= VK_API_VERSION_1_2);
  assert_true(c->subgroup_size >= 1 && (c->subgroup_size & (c->subgroup_size - 1)) == 0);
  /* Vulkan's required minimums */
  assert_true(c->max_storage_buffer_range >= (1u << 27));
  assert_true(c->max_allocation_size >= (1u << 30));
  assert_true(c->max_shared_memory >= 16384);
  assert_true(c->max_workgroup_invocations >= 128);
  assert_true(c->max_workgroup_size[0] >= 128 && c->max_workgroup_count[0] >= 65535);
  assert_true(c->max_push_constants >= 128);
  assert_true(c->min_storage_offset_align >= 1 && c->min_storage_offset_align <= 256);
  assert_true(c->max_stage_storage_buffers >= 4 && c->max_set_storage_buffers >= c->max_stage_storage_buffers);
  assert_true(c->memory.memoryTypeCount > 0 && c->memory.memoryHeapCount > 0);
  if (c->subgroup_ops) assert_true(c->subgroup_ops & VK_SUBGROUP_FEATURE_BASIC_BIT);
  if (c->timestamps) assert_true(c->timestamp_period > 0.0f && c->timestamp_bits > 0);
  /* no clamps: effective == device */
  assert_memory_equal(c, &t->ctx->device_caps, sizeof *c);
  if (is_lavapipe(c)) {
    assert_int_equal(c->max_storage_buffer_range, 134217728);
    assert_int_equal(c->subgroup_size, 8);
    assert_true(c->unified_memory);
  }
}

static void test_embedded_clamps(void **state) {
  (void)state;
  pv_vk_clamps clamps = {.profile = PV_PROFILE_EMBEDDED};
  pv_test_vk *t = pv_test_vk_create(&clamps);
  assert_non_null(t);
  const pv_vk_caps *c = &t->ctx->caps, *d = &t->ctx->device_caps;
  assert_true(c->max_storage_buffer_range <= (64u << 20));
  assert_true(c->max_allocation_size <= (256ull << 20));
  assert_true(c->max_shared_memory <= 16384);
  assert_true(c->max_workgroup_invocations <= 128 && c->max_workgroup_size[0] <= 128);
  assert_false(c->fp16 || c->storage16 || c->storage8);
  assert_int_equal(c->subgroup_ops, 0);
  assert_int_equal(c->subgroup_size, d->subgroup_size);
  assert_true(d->max_storage_buffer_range >= c->max_storage_buffer_range);
  if (is_lavapipe(d)) assert_int_equal(c->max_storage_buffer_range, 64u << 20);
  assert_int_equal(pv_test_vk_destroy(t), 0);
}

/* The heap clamp lowers every device-local heap to at most its size and leaves the others. */
static void test_heap_clamp(void **state) {
  (void)state;
  pv_vk_clamps clamps = {.heap_bytes = 24ull << 20};
  pv_test_vk *t = pv_test_vk_create(&clamps);
  assert_non_null(t);
  const VkPhysicalDeviceMemoryProperties *c = &t->ctx->caps.memory, *d = &t->ctx->device_caps.memory;
  assert_int_equal(c->memoryHeapCount, d->memoryHeapCount);
  bool any = false;
  for (uint32_t i = 0; i < c->memoryHeapCount; i++) {
    bool local = d->memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT;
    uint64_t want = local && d->memoryHeaps[i].size > (24ull << 20) ? 24ull << 20 : d->memoryHeaps[i].size;
    assert_int_equal(c->memoryHeaps[i].size, want);
    any |= local;
  }
  assert_true(any);
  assert_int_equal(pv_test_vk_destroy(t), 0);
}

static void test_single_clamps(void **state) {
  (void)state;
  pv_vk_clamps clamps = {.no_fp16 = true, .no_storage16 = true, .no_subgroup = true, .no_unified = true};
  pv_test_vk *t = pv_test_vk_create(&clamps);
  assert_non_null(t);
  const pv_vk_caps *c = &t->ctx->caps, *d = &t->ctx->device_caps;
  assert_false(c->fp16 || c->storage16 || c->storage8 || c->unified_memory);
  assert_int_equal(c->subgroup_ops, 0);
  assert_int_equal(c->max_storage_buffer_range, d->max_storage_buffer_range); /* limits untouched */
  assert_int_equal(c->int8, d->int8);
  assert_int_equal(pv_test_vk_destroy(t), 0);
}

static void check_roundtrip(pv_vk_context *ctx, pv_vk_memory kind, size_t size, size_t offset, bool expect_map) {
  pv_error err = {0};
  pv_vk_buffer buf;
  PV_ASSERT_OK(pv_vk_buffer_create(ctx, &buf, size + offset, kind, &err), err);
  assert_int_equal(buf.map != NULL, expect_map);
  unsigned char *in = malloc(size), *out = malloc(size);
  assert_non_null(in);
  assert_non_null(out);
  for (size_t i = 0; i < size; i++) in[i] = (unsigned char)(i * 131 + (i >> 9));
  memset(out, 0, size);
  PV_ASSERT_OK(pv_vk_buffer_upload(ctx, &buf, offset, in, size, &err), err);
  PV_ASSERT_OK(pv_vk_buffer_download(ctx, &buf, offset, out, size, &err), err);
  assert_memory_equal(in, out, size);
  /* out of range is refused, not clipped */
  assert_int_equal(pv_vk_buffer_upload(ctx, &buf, offset + 1, in, size, &err), PAGEDVK_ERR_INVALID);
  pv_vk_buffer_destroy(ctx, &buf);
  free(in);
  free(out);
}

static void test_buffer_host_roundtrip(void **state) {
  pv_test_vk *t = *state;
  check_roundtrip(t->ctx, PV_MEM_HOST, 1000003, 17, true);
  check_roundtrip(t->ctx, PV_MEM_READBACK, 4096, 0, true);
}

static void test_buffer_device_roundtrip(void **state) {
  pv_test_vk *t = *state;
  /* in place when the device memory is host-visible (unified), else through staging */
  check_roundtrip(t->ctx, PV_MEM_DEVICE, 1000003, 5, t->ctx->caps.unified_memory);
  /* forced staging, larger than one staging chunk */
  pv_vk_clamps clamps = {.no_unified = true};
  pv_test_vk *s = pv_test_vk_create(&clamps);
  assert_non_null(s);
  check_roundtrip(s->ctx, PV_MEM_DEVICE, (20u << 20) + 12345, 4099, false);
  assert_int_equal(pv_test_vk_destroy(s), 0);
}

static void test_buffer_too_large(void **state) {
  (void)state;
  pv_vk_clamps clamps = {.profile = PV_PROFILE_EMBEDDED};
  pv_test_vk *t = pv_test_vk_create(&clamps);
  assert_non_null(t);
  pv_error err = {0};
  pv_vk_buffer buf;
  int rc = pv_vk_buffer_create(t->ctx, &buf, t->ctx->caps.max_allocation_size + 1, PV_MEM_DEVICE, &err);
  assert_int_equal(rc, PAGEDVK_ERR_NO_MEMORY);
  assert_non_null(strstr(err.msg, "maxMemoryAllocationSize"));
  assert_null(buf.buffer);
  assert_int_equal(pv_vk_buffer_create(t->ctx, &buf, 0, PV_MEM_HOST, &err), PAGEDVK_ERR_INVALID);
  assert_int_equal(pv_test_vk_destroy(t), 0);
}

/* fill → copy → read back, across device-local and host memory, with the barriers in between */
static void test_fill_copy(void **state) {
  pv_test_vk *t = *state;
  pv_error err = {0};
  pv_vk_buffer dev, host;
  const size_t n = 70001;
  PV_ASSERT_OK(pv_vk_buffer_create(t->ctx, &dev, n * 4, PV_MEM_DEVICE, &err), err);
  PV_ASSERT_OK(pv_vk_buffer_create(t->ctx, &host, n * 4, PV_MEM_READBACK, &err), err);
  PV_ASSERT_OK(pv_vk_cmd_begin(&t->cmd, &err), err);
  pv_vk_cmd_fill(&t->cmd, &dev, 0, VK_WHOLE_SIZE, 0x01020304u);
  pv_vk_cmd_barrier(&t->cmd, PV_BARRIER_TRANSFER_TO_TRANSFER);
  pv_vk_cmd_fill(&t->cmd, &dev, 400, 40, 0xdeadbeefu);
  pv_vk_cmd_barrier(&t->cmd, PV_BARRIER_TRANSFER_TO_TRANSFER);
  pv_vk_cmd_copy(&t->cmd, &dev, 0, &host, 0, n * 4);
  pv_vk_cmd_barrier(&t->cmd, PV_BARRIER_TO_HOST);
  PV_ASSERT_OK(pv_vk_cmd_run(&t->cmd, &err), err);
  const uint32_t *v = host.map;
  for (size_t i = 0; i < n; i++) assert_int_equal(v[i], (i >= 100 && i < 110) ? 0xdeadbeefu : 0x01020304u);
  pv_vk_buffer_destroy(t->ctx, &host);
  pv_vk_buffer_destroy(t->ctx, &dev);
}

static void test_timestamps(void **state) {
  pv_test_vk *t = *state;
  if (!t->ctx->caps.timestamps) skip();
  pv_error err = {0};
  pv_vk_timer timer;
  pv_vk_buffer a, b;
  const VkDeviceSize size = 32u << 20;
  PV_ASSERT_OK(pv_vk_timer_create(t->ctx, &timer, 4, &err), err);
  PV_ASSERT_OK(pv_vk_buffer_create(t->ctx, &a, size, PV_MEM_DEVICE, &err), err);
  PV_ASSERT_OK(pv_vk_buffer_create(t->ctx, &b, size, PV_MEM_DEVICE, &err), err);
  uint32_t t0, t1, t2;
  PV_ASSERT_OK(pv_vk_cmd_begin(&t->cmd, &err), err);
  pv_vk_cmd_timer_reset(&t->cmd, &timer);
  PV_ASSERT_OK(pv_vk_cmd_timestamp(&t->cmd, &timer, &t0, &err), err);
  PV_ASSERT_OK(pv_vk_cmd_timestamp(&t->cmd, &timer, &t1, &err), err);
  pv_vk_cmd_fill(&t->cmd, &a, 0, VK_WHOLE_SIZE, 7);
  pv_vk_cmd_barrier(&t->cmd, PV_BARRIER_TRANSFER_TO_TRANSFER);
  pv_vk_cmd_copy(&t->cmd, &a, 0, &b, 0, size);
  PV_ASSERT_OK(pv_vk_cmd_timestamp(&t->cmd, &timer, &t2, &err), err);
  PV_ASSERT_OK(pv_vk_cmd_run(&t->cmd, &err), err);
  double empty_ns = -1, work_ns = -1;
  PV_ASSERT_OK(pv_vk_timer_elapsed_ns(&timer, t0, t1, &empty_ns, &err), err);
  PV_ASSERT_OK(pv_vk_timer_elapsed_ns(&timer, t1, t2, &work_ns, &err), err);
  /* 32 MiB filled and 32 MiB copied: more than a microsecond, less than a minute, more than nothing */
  assert_true(work_ns > 1e3 && work_ns < 60e9);
  assert_true(empty_ns >= 0 && empty_ns < work_ns);
  assert_int_equal(pv_vk_timer_elapsed_ns(&timer, t0, 3, &work_ns, &err), PAGEDVK_ERR_INVALID);
  pv_vk_buffer_destroy(t->ctx, &b);
  pv_vk_buffer_destroy(t->ctx, &a);
  pv_vk_timer_destroy(&timer);
}

/* Creates a context choosing by `selector` (NULL: PAGEDVK_DEVICE) and reports the chosen index. */
static int try_device(const char *selector, uint32_t *index) {
  atomic_uint messages;
  atomic_init(&messages, 0);
  pv_vk_options opts = {.device = selector, .validation = true, .validation_counter = &messages};
  pv_vk_context *ctx = NULL;
  pv_error err = {0};
  int rc = pv_vk_context_create(&ctx, &opts, &err);
  if (!rc) *index = ctx->device_index;
  pv_vk_context_destroy(ctx);
  assert_int_equal(atomic_load(&messages), 0);
  return rc;
}

static void test_device_selection_env(void **state) {
  pv_test_vk *t = *state;
  const char *saved = getenv("PAGEDVK_DEVICE");
  char *saved_copy = saved ? strdup(saved) : NULL;
  uint32_t index = UINT32_MAX;
  char sel[64];
  uint32_t expect = t->ctx->device_index;

  snprintf(sel, sizeof sel, "%u", expect);
  setenv("PAGEDVK_DEVICE", sel, 1);
  pagedvk_env_reload();
  assert_int_equal(try_device(NULL, &index), PAGEDVK_OK);
  assert_int_equal(index, expect);
  unsetenv("PAGEDVK_DEVICE");
  pagedvk_env_reload();
  index = UINT32_MAX;
  assert_int_equal(try_device(sel, &index), PAGEDVK_OK); /* the options' selector */
  assert_int_equal(index, expect);

  /* a name substring, in another case */
  const char *name = t->ctx->devices[expect].name;
  size_t len = strlen(name) < 6 ? strlen(name) : 6;
  for (size_t i = 0; i < len; i++) sel[i] = (char)((name[i] >= 'a' && name[i] <= 'z') ? name[i] - 32 : name[i]);
  sel[len] = 0;
  setenv("PAGEDVK_DEVICE", sel, 1);
  pagedvk_env_reload();
  index = UINT32_MAX;
  assert_int_equal(try_device(NULL, &index), PAGEDVK_OK);
  assert_string_equal(t->ctx->devices[index].name, t->ctx->devices[expect].name);

  setenv("PAGEDVK_DEVICE", "4000", 1);
  pagedvk_env_reload();
  assert_int_equal(try_device(NULL, &index), PAGEDVK_ERR_NO_DEVICE);
  setenv("PAGEDVK_DEVICE", "no such gpu anywhere", 1);
  pagedvk_env_reload();
  assert_int_equal(try_device(NULL, &index), PAGEDVK_ERR_NO_DEVICE);

  if (saved_copy) setenv("PAGEDVK_DEVICE", saved_copy, 1);
  else unsetenv("PAGEDVK_DEVICE");
  pagedvk_env_reload();
  free(saved_copy);
}

static void test_shader_variants(void **state) {
  pv_test_vk *t = *state;
  pv_vk_caps caps = t->ctx->device_caps;
  caps.subgroup_ops = PV_SUBGROUP_FULL;
  const pv_shader_registry *reg = &pv_test_shaders;
  const pv_shader_blob *sum = &pv_test_shader_blobs[PV_TEST_SHADER_REDUCE_SUM];
  const pv_shader_blob *sum_nosg = &pv_test_shader_blobs[PV_TEST_SHADER_REDUCE_SUM_NOSG];
  const pv_shader_blob *add = &pv_test_shader_blobs[PV_TEST_SHADER_ADD];
  /* the build records base and drops from the names */
  assert_string_equal(sum_nosg->name, "reduce_sum_nosg");
  assert_int_equal(sum_nosg->base, PV_TEST_SHADER_REDUCE_SUM);
  assert_int_equal(sum_nosg->drops, PV_SHADER_DROP_SUBGROUP);
  assert_int_equal(sum->base, PV_TEST_SHADER_REDUCE_SUM);
  assert_int_equal(sum->drops, 0);
  assert_ptr_equal(pv_vk_shader_variant(&caps, reg, PV_TEST_SHADER_REDUCE_SUM), sum);
  assert_ptr_equal(pv_vk_shader_variant(&caps, reg, PV_TEST_SHADER_ADD), add);
  caps.subgroup_ops = VK_SUBGROUP_FEATURE_BASIC_BIT; /* not the full set */
  assert_ptr_equal(pv_vk_shader_variant(&caps, reg, PV_TEST_SHADER_REDUCE_SUM), sum_nosg);
  caps.subgroup_ops = 0;
  caps.fp16 = caps.storage16 = caps.storage8 = false;
  assert_ptr_equal(pv_vk_shader_variant(&caps, reg, PV_TEST_SHADER_REDUCE_SUM), sum_nosg);
  assert_ptr_equal(pv_vk_shader_variant(&caps, reg, PV_TEST_SHADER_ADD), add); /* no fallbacks: needs none */
  assert_null(pv_vk_shader_variant(&caps, reg, PV_TEST_SHADER_NONE));
  assert_null(pv_vk_shader_variant(&caps, reg, PV_TEST_SHADER_COUNT));
  assert_null(pv_vk_shader_variant(&caps, reg, PV_TEST_SHADER_REDUCE_SUM_NOSG)); /* a variant is no base */
}

static void test_pipeline_errors(void **state) {
  pv_test_vk *t = *state;
  pv_error err = {0};
  pv_vk_pipeline p;
  pv_vk_pipeline_desc d = {.shader = NULL, .binding_count = 1};
  assert_int_equal(pv_vk_pipeline_create(t->ctx, &d, &p, &err), PAGEDVK_ERR_INVALID);
  d.shader = &pv_test_shader_blobs[PV_TEST_SHADER_NONE]; /* no code */
  assert_int_equal(pv_vk_pipeline_create(t->ctx, &d, &p, &err), PAGEDVK_ERR_INVALID);
  d = (pv_vk_pipeline_desc){.shader = &pv_test_shader_blobs[PV_TEST_SHADER_ADD], .binding_count = 3,
                            .push_size = t->ctx->caps.max_push_constants + 4};
  assert_int_equal(pv_vk_pipeline_create(t->ctx, &d, &p, &err), PAGEDVK_ERR_UNSUPPORTED);
  assert_null(p.pipeline);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static bool file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && st.st_size > 0;
}

static void make_pipeline(pv_vk_context *ctx) {
  pv_error err = {0};
  pv_vk_pipeline p;
  pv_vk_pipeline_desc d = {.shader = &pv_test_shader_blobs[PV_TEST_SHADER_ADD], .binding_count = 3, .push_size = 8};
  PV_ASSERT_OK(pv_vk_pipeline_create(ctx, &d, &p, &err), err);
  pv_vk_pipeline_destroy(ctx, &p);
}

/* The cache file is written at destroy, reused when it matches, ignored when it is garbage. */
static void test_pipeline_cache_file(void **state) {
  (void)state;
  char dir[] = "/tmp/pagedvk-cache-XXXXXX";
  assert_non_null(mkdtemp(dir));
  const char *saved_xdg = getenv("XDG_CACHE_HOME");
  char *xdg_copy = saved_xdg ? strdup(saved_xdg) : NULL;
  setenv("XDG_CACHE_HOME", dir, 1);
  pagedvk_env_reload();
  unsetenv("PAGEDVK_NO_PIPELINE_CACHE");
  pagedvk_env_reload();

  atomic_uint messages;
  atomic_init(&messages, 0);
  pv_vk_options opts = {.validation = true, .validation_counter = &messages};
  pv_vk_context *ctx = NULL;
  pv_error err = {0};
  char path[1100];
  PV_ASSERT_OK(pv_vk_context_create(&ctx, &opts, &err), err);
  snprintf(path, sizeof path, "%s", ctx->pipeline_cache_path);
  assert_int_equal(strncmp(path, dir, strlen(dir)), 0);
  make_pipeline(ctx);
  pv_vk_context_destroy(ctx);
  assert_true(file_exists(path));

  PV_ASSERT_OK(pv_vk_context_create(&ctx, &opts, &err), err); /* reads it */
  make_pipeline(ctx);
  pv_vk_context_destroy(ctx);

  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs("not a pipeline cache, not even close", f);
  fclose(f);
  PV_ASSERT_OK(pv_vk_context_create(&ctx, &opts, &err), err); /* ignores it, rewrites it */
  make_pipeline(ctx);
  pv_vk_context_destroy(ctx);
  f = fopen(path, "rb");
  assert_non_null(f);
  uint32_t header[2] = {0};
  assert_int_equal(fread(header, 4, 2, f), 2);
  fclose(f);
  assert_int_equal(header[1], VK_PIPELINE_CACHE_HEADER_VERSION_ONE);
  assert_int_equal(atomic_load(&messages), 0);

  /* the validation layer and the driver keep their own caches under XDG_CACHE_HOME too */
  assert_int_equal(nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
  setenv("PAGEDVK_NO_PIPELINE_CACHE", "1", 1);
  pagedvk_env_reload();
  if (xdg_copy) setenv("XDG_CACHE_HOME", xdg_copy, 1);
  else unsetenv("XDG_CACHE_HOME");
  pagedvk_env_reload();
  free(xdg_copy);
}

static void test_grid_split(void **state) {
  pv_test_vk *t = *state;
  pv_vk_caps caps = t->ctx->caps;
  uint32_t g[3];
  caps.max_workgroup_count[0] = 10;
  pv_vk_grid_1d(&caps, 7, g);
  assert_true(g[0] == 7 && g[1] == 1 && g[2] == 1);
  pv_vk_grid_1d(&caps, 25, g);
  assert_true(g[0] <= 10 && (uint64_t)g[0] * g[1] >= 25 && (uint64_t)g[0] * (g[1] - 1) < 25);
  pv_vk_grid_1d(&caps, 100, g);
  assert_true(g[0] == 10 && g[1] == 10);
}

/* Binding 0 of selftest_array is an array of 4 buffers: 4 different VkBuffers, one of them at an offset. */
static void test_descriptor_array(void **state) {
  pv_test_vk *t = *state;
  if (!t->ctx->caps.storage_array_dynamic) skip();
  pv_vk_context *ctx = t->ctx;
  pv_error err = {0};
  const uint32_t n = 1000;
  const VkDeviceSize skip_bytes = t->ctx->caps.min_storage_offset_align * 2;
  pv_vk_pipeline pipe;
  pv_vk_pipeline_desc d = {.shader = &pv_test_shader_blobs[PV_TEST_SHADER_SELFTEST_ARRAY], .binding_count = 2,
                           .array_sizes = {4, 1}, .push_size = 8};
  PV_ASSERT_OK(pv_vk_pipeline_create(ctx, &d, &pipe, &err), err);
  assert_int_equal(pipe.descriptor_count, 5);
  pv_vk_buffer parts[4], out;
  float x[1000], y[1000];
  pv_vk_view views[5];
  for (int k = 0; k < 4; k++) {
    VkDeviceSize off = k == 2 ? skip_bytes : 0;
    PV_ASSERT_OK(pv_vk_buffer_create(ctx, &parts[k], off + n * 4, PV_MEM_DEVICE, &err), err);
    for (uint32_t i = 0; i < n; i++) x[i] = (float)(i % 100) + 1000.0f * (float)k;
    PV_ASSERT_OK(pv_vk_buffer_upload(ctx, &parts[k], off, x, n * 4, &err), err);
    views[k] = pv_view_range(&parts[k], off, n * 4);
  }
  PV_ASSERT_OK(pv_vk_buffer_create(ctx, &out, n * 4, PV_MEM_READBACK, &err), err);
  views[4] = pv_view(&out);
  uint32_t push[2] = {n, 4}, groups[3] = {pv_div_up(n, 64), 1, 1};
  PV_ASSERT_OK(pv_vk_cmd_begin(&t->cmd, &err), err);
  assert_int_equal(pv_vk_cmd_dispatch(&t->cmd, &pipe, views, 4, push, groups, &err), PAGEDVK_ERR_INVALID);
  PV_ASSERT_OK(pv_vk_cmd_dispatch(&t->cmd, &pipe, views, 5, push, groups, &err), err);
  pv_vk_cmd_barrier(&t->cmd, PV_BARRIER_TO_HOST);
  PV_ASSERT_OK(pv_vk_cmd_run(&t->cmd, &err), err);
  PV_ASSERT_OK(pv_vk_buffer_download(ctx, &out, 0, y, n * 4, &err), err);
  for (uint32_t i = 0; i < n; i++) {
    float want = 0;
    for (int k = 0; k < 4; k++) want += (float)(k + 1) * ((float)(i % 100) + 1000.0f * (float)k);
    assert_true(y[i] == want);
  }
  pv_vk_buffer_destroy(ctx, &out);
  for (int k = 3; k >= 0; k--) pv_vk_buffer_destroy(ctx, &parts[k]);
  pv_vk_pipeline_destroy(ctx, &pipe);
}

/* The layer is really on: a misaligned fill is reported and counted (the message is expected). */
static void test_validation_counts(void **state) {
  (void)state;
  atomic_uint messages;
  atomic_init(&messages, 0);
  pv_vk_options opts = {.validation = true, .validation_counter = &messages};
  pv_vk_context *ctx = NULL;
  pv_error err = {0};
  PV_ASSERT_OK(pv_vk_context_create(&ctx, &opts, &err), err);
  assert_true(ctx->validation);
  pv_vk_buffer buf;
  PV_ASSERT_OK(pv_vk_buffer_create(ctx, &buf, 64, PV_MEM_HOST, &err), err);
  fprintf(stderr, "(an expected validation error follows)\n");
  PV_ASSERT_OK(pv_vk_cmd_begin(ctx->transfer, &err), err);
  pv_vk_cmd_fill(ctx->transfer, &buf, 2, 8, 0); /* offset must be a multiple of 4 */
  PV_ASSERT_OK(pv_vk_cmd_run(ctx->transfer, &err), err);
  assert_true(pv_vk_validation_count(ctx) >= 1);
  pv_vk_buffer_destroy(ctx, &buf);
  pv_vk_context_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_caps_sensible, pv_test_vk_check),
      cmocka_unit_test_teardown(test_embedded_clamps, pv_test_vk_check),
      cmocka_unit_test_teardown(test_heap_clamp, pv_test_vk_check),
      cmocka_unit_test_teardown(test_single_clamps, pv_test_vk_check),
      cmocka_unit_test_teardown(test_buffer_host_roundtrip, pv_test_vk_check),
      cmocka_unit_test_teardown(test_buffer_device_roundtrip, pv_test_vk_check),
      cmocka_unit_test_teardown(test_buffer_too_large, pv_test_vk_check),
      cmocka_unit_test_teardown(test_fill_copy, pv_test_vk_check),
      cmocka_unit_test_teardown(test_timestamps, pv_test_vk_check),
      cmocka_unit_test_teardown(test_device_selection_env, pv_test_vk_check),
      cmocka_unit_test_teardown(test_shader_variants, pv_test_vk_check),
      cmocka_unit_test_teardown(test_pipeline_errors, pv_test_vk_check),
      cmocka_unit_test_teardown(test_pipeline_cache_file, pv_test_vk_check),
      cmocka_unit_test_teardown(test_grid_split, pv_test_vk_check),
      cmocka_unit_test_teardown(test_descriptor_array, pv_test_vk_check),
      cmocka_unit_test_teardown(test_validation_counts, pv_test_vk_check),
  };
  return cmocka_run_group_tests(tests, pv_test_vk_setup, pv_test_vk_teardown);
}
