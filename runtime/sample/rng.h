/*
 * rng.h — the sampler's pseudo-random numbers: xoshiro256** seeded through splitmix64.
 *
 * Every sampler owns one generator, so a seeded request draws the same numbers whatever else
 * runs in the batch. Unseeded requests take a seed from pv_rng_entropy_seed (the OS entropy
 * source once per process, then a counter mixed in, so two calls never return the same seed).
 */
#ifndef PV_SAMPLE_RNG_H
#define PV_SAMPLE_RNG_H

#include <stdint.h>

typedef struct pv_rng {
  uint64_t s[4];
} pv_rng;

/* One step of splitmix64 on *x (also a good 64-bit mixing function). */
uint64_t pv_splitmix64(uint64_t *x);

void pv_rng_seed(pv_rng *r, uint64_t seed);
uint64_t pv_rng_next(pv_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double pv_rng_uniform(pv_rng *r);

/* The seed of parallel sample `index` of a request seeded with `seed`: index 0 keeps `seed`
 * (so sample 0 of n matches the n = 1 request), every other index gets a mixed, distinct seed. */
uint64_t pv_rng_derive_seed(uint64_t seed, uint32_t index);

/* A fresh seed for unseeded requests (thread-safe). */
uint64_t pv_rng_entropy_seed(void);

#endif /* PV_SAMPLE_RNG_H */
