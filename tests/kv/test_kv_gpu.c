/*
 * The device side of the KV pool, byte for byte on lavapipe: copy-on-write block copies, swap out
 * to host memory and back, across the buffers of a pool larger than one maxStorageBufferRange
 * (lavapipe: 128 MiB), with the validation layer on; f16 and q8_0 blocks (whose size is not a
 * multiple of the f16 one: quants, then scales, padded to 16 bytes).
 */
#include <stdlib.h>
#include <string.h>

#include "kv/kv_gpu.h"
#include "vk_fixture.h"

/* Fills a block with bytes derived from (block, seed) through a staging upload. */
static void fill_block(pv_test_vk *t, pv_kv_gpu *kv, uint32_t block, uint32_t seed) {
  uint8_t *bytes = malloc(kv->block_bytes);
  assert_non_null(bytes);
  for (uint64_t i = 0; i < kv->block_bytes; i++) bytes[i] = (uint8_t)(i * 31 + block * 7 + seed * 13);
  pv_error err = {0};
  const pv_vk_buffer *buf = &kv->bufs[block / kv->blocks_per_buf];
  uint64_t off = (uint64_t)(block % kv->blocks_per_buf) * kv->block_bytes;
  assert_int_equal(pv_vk_buffer_upload(t->ctx, (pv_vk_buffer *)buf, off, bytes, kv->block_bytes, &err), PAGEDVK_OK);
  free(bytes);
}

static void expect_block(pv_test_vk *t, pv_kv_gpu *kv, uint32_t block, uint32_t from_block, uint32_t seed) {
  uint8_t *bytes = malloc(kv->block_bytes);
  assert_non_null(bytes);
  pv_error err = {0};
  const pv_vk_buffer *buf = &kv->bufs[block / kv->blocks_per_buf];
  uint64_t off = (uint64_t)(block % kv->blocks_per_buf) * kv->block_bytes;
  assert_int_equal(pv_vk_buffer_download(t->ctx, buf, off, bytes, kv->block_bytes, &err), PAGEDVK_OK);
  for (uint64_t i = 0; i < kv->block_bytes; i++)
    if (bytes[i] != (uint8_t)(i * 31 + from_block * 7 + seed * 13)) fail_msg("block %u byte %llu", block, (unsigned long long)i);
  free(bytes);
}

static void copies_and_swap(pv_test_vk *t, const pv_kv_geometry *g, uint32_t n_blocks) {
  pv_error err = {0};
  pv_kv_gpu kv;
  assert_int_equal(pv_kv_gpu_create(&kv, t->ctx, g, n_blocks, 4, &err), PAGEDVK_OK);
  assert_true((uint64_t)kv.n_blocks * kv.block_bytes > t->ctx->caps.max_storage_buffer_range);
  assert_true(kv.n_bufs >= 2);
  const uint32_t last = kv.n_blocks - 1, first_of_second = kv.blocks_per_buf;
  fill_block(t, &kv, 0, 1);
  fill_block(t, &kv, last, 2);
  fill_block(t, &kv, first_of_second, 3);

  /* copy-on-write across buffers both ways; swap out two blocks, overwrite them, swap back in */
  assert_int_equal(pv_vk_cmd_begin(&t->cmd, &err), PAGEDVK_OK);
  pv_kv_gpu_copy_block(&kv, &t->cmd, 0, last - 1);
  pv_kv_gpu_copy_block(&kv, &t->cmd, last, 1);
  pv_kv_gpu_swap_out(&kv, &t->cmd, first_of_second, 3);
  pv_kv_gpu_swap_out(&kv, &t->cmd, 0, 0);
  assert_int_equal(pv_vk_cmd_run(&t->cmd, &err), PAGEDVK_OK);
  expect_block(t, &kv, last - 1, 0, 1);
  expect_block(t, &kv, 1, last, 2);

  fill_block(t, &kv, first_of_second, 9);
  fill_block(t, &kv, 0, 9);
  assert_int_equal(pv_vk_cmd_begin(&t->cmd, &err), PAGEDVK_OK);
  pv_kv_gpu_swap_in(&kv, &t->cmd, 3, 5);              /* into another block of the first buffer */
  pv_kv_gpu_swap_in(&kv, &t->cmd, 0, first_of_second + 2);
  assert_int_equal(pv_vk_cmd_run(&t->cmd, &err), PAGEDVK_OK);
  expect_block(t, &kv, 5, first_of_second, 3);
  expect_block(t, &kv, first_of_second + 2, 0, 1);
  pv_kv_gpu_destroy(&kv);
}

static void test_copies_and_swap_across_buffers(void **state) {
  /* 24 layers x 8 kv heads x 128 dims x 16 tokens x K,V x f16 = 1.5 MiB per block; 120 blocks = 180 MiB */
  pv_kv_geometry g = {.block_size = 16, .n_layer = 24, .n_kv_head = 8, .head_dim = 128, .f32 = false};
  copies_and_swap(*state, &g, 120);
}

/* q8_0: 768 KiB of quants + 6144 head rows x 2 scale words = 816 KiB per block; 200 blocks = 160 MiB */
static void test_q8_copies_and_swap_across_buffers(void **state) {
  pv_kv_geometry g = {.block_size = 16, .n_layer = 24, .n_kv_head = 8, .head_dim = 128, .q8 = true};
  assert_int_equal(pv_kv_block_bytes(&g), 786432 + 6144 * 8);
  copies_and_swap(*state, &g, 200);
}

/* q8_0 block sizes: quants, ceil(head_dim / 64) scale words per head row (a multiple of 16 bytes
 * at the engine's block sizes, >= 8: the padding never adds anything there); a head size that is no multiple of 32 is refused with the reason. */
static void test_q8_block_bytes(void **state) {
  pv_test_vk *t = *state;
  pv_kv_geometry g = {.block_size = 8, .n_layer = 1, .n_kv_head = 1, .head_dim = 32, .q8 = true};
  assert_int_equal(pv_kv_block_bytes(&g), 2 * 8 * 32 + 16 * 4);     /* heads of 32: a word per row */
  g.head_dim = 96;
  assert_int_equal(pv_kv_block_bytes(&g), 2 * 8 * 96 + 16 * 2 * 4); /* 3 scales: 2 words */
  g = (pv_kv_geometry){.block_size = 16, .n_layer = 2, .n_kv_head = 2, .head_dim = 64, .q8 = true};
  assert_int_equal(pv_kv_block_bytes(&g), 8704); /* syn-llama-q4k's: 53% of f16's 16384 */
  g.n_layer = 3, g.n_kv_head = 1, g.block_size = 8, g.head_dim = 32;  /* 1536 + 48 rows x 4 */
  assert_int_equal(pv_kv_block_bytes(&g), 1728);
  g.head_dim = 48;
  pv_kv_gpu kv;
  pv_error err = {0};
  assert_int_equal(pv_kv_gpu_create(&kv, t->ctx, &g, 4, 0, &err), PAGEDVK_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "multiple of 32"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_copies_and_swap_across_buffers, pv_test_vk_check),
      cmocka_unit_test_teardown(test_q8_copies_and_swap_across_buffers, pv_test_vk_check),
      cmocka_unit_test_teardown(test_q8_block_bytes, pv_test_vk_check),
  };
  return cmocka_run_group_tests(tests, pv_test_vk_setup, pv_test_vk_teardown);
}
