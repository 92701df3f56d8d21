#version 450
// selftest_array.comp — proves descriptor arrays of storage buffers (tests/vk/test_device.c): binding 0
// is an array of 4 buffers, and out[i] = sum over k < pc.count of (k + 1) * parts[k].x[i]. The index k
// is dynamically uniform, which needs caps.storage_array_dynamic (shaderStorageBufferArrayDynamicIndexing).
layout(local_size_x = 64) in;

layout(std430, binding = 0) readonly buffer Part { float x[]; } parts[4];
layout(std430, binding = 1) writeonly buffer Out { float y[]; };

layout(push_constant) uniform Push {
  uint n;
  uint count;
} pc;

void main() {
  uint i = gl_GlobalInvocationID.x;
  if (i >= pc.n) return;
  float acc = 0.0;
  for (uint k = 0; k < pc.count; k++) acc += float(k + 1) * parts[k].x[i];
  y[i] = acc;
}
