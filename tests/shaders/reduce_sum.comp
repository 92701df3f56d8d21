#version 450
// reduce_sum.comp — one partial sum per workgroup: out[g] = sum of x[i] over the i that workgroup g
// visits in a grid-stride loop (i = g * WG + lid, then + number of workgroups * WG). Run it once with
// G workgroups and then once with 1 workgroup over the G partials to get the total (op_reduce.c).
//
// Fast path: subgroupAdd within each subgroup, then the first subgroup adds the per-subgroup sums.
// No subgroup size is assumed: gl_NumSubgroups and gl_SubgroupSize are read at run time.
// PV_NO_SUBGROUP (variant reduce_sum_nosg): a shared-memory tree; the workgroup size must be a power
// of two. Workgroup size: specialization constant 0.
#ifndef PV_NO_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

layout(local_size_x = 64, local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer In { float x[]; };
layout(std430, binding = 1) writeonly buffer Out { float sums[]; };

layout(push_constant) uniform Push {
  uint n;
} pc;

shared float partial[gl_WorkGroupSize.x];

void main() {
  uint lid = gl_LocalInvocationID.x;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  float acc = 0.0;
  for (uint i = gl_WorkGroupID.x * gl_WorkGroupSize.x + lid; i < pc.n; i += stride) acc += x[i];

#ifndef PV_NO_SUBGROUP
  acc = subgroupAdd(acc);
  if (subgroupElect()) partial[gl_SubgroupID] = acc;
  barrier();
  if (gl_SubgroupID == 0) {
    float v = 0.0;
    for (uint s = gl_SubgroupInvocationID; s < gl_NumSubgroups; s += gl_SubgroupSize) v += partial[s];
    v = subgroupAdd(v);
    if (subgroupElect()) sums[gl_WorkGroupID.x] = v;
  }
#else
  partial[lid] = acc;
  barrier();
  for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
    if (lid < s) partial[lid] += partial[lid + s];
    barrier();
  }
  if (lid == 0) sums[gl_WorkGroupID.x] = partial[0];
#endif
}
