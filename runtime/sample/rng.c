/*
 * rng.c — splitmix64, xoshiro256** and the process-wide entropy seed.
 *
 * Both generators are public-domain algorithms by Vigna / Blackman, written here from their
 * published definitions. The entropy seed reads 8 bytes of /dev/urandom once (falling back to
 * the clock and an address when that fails) and then hands out mix(base + counter).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "sample/rng.h"

uint64_t pv_splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void pv_rng_seed(pv_rng *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) r->s[i] = pv_splitmix64(&x);
}

uint64_t pv_rng_next(pv_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double pv_rng_uniform(pv_rng *r) { return (double)(pv_rng_next(r) >> 11) * 0x1.0p-53; }

uint64_t pv_rng_derive_seed(uint64_t seed, uint32_t index) {
  if (index == 0) return seed;
  uint64_t x = seed ^ (0xd1b54a32d192ed03ull * (uint64_t)index);
  uint64_t a = pv_splitmix64(&x);
  return a ^ pv_splitmix64(&x);
}

static uint64_t entropy_base(void) {
  uint64_t v = 0;
  FILE *f = fopen("/dev/urandom", "rb");
  if (f) {
    size_t got = fread(&v, sizeof v, 1, f);
    fclose(f);
    if (got == 1) return v;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)&v;
}

uint64_t pv_rng_entropy_seed(void) {
  static _Atomic uint64_t base;
  static _Atomic uint64_t counter;
  uint64_t b = atomic_load(&base);
  if (b == 0) {
    uint64_t fresh = entropy_base() | 1; /* never 0, so 0 means "not yet read" */
    uint64_t expected = 0;
    if (!atomic_compare_exchange_strong(&base, &expected, fresh)) fresh = expected;
    b = fresh;
  }
  uint64_t x = b + atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15ull;
  return pv_splitmix64(&x);
}
