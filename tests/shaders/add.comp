#version 450
// add.comp — elementwise scaled add of f32 arrays: c[i] = a[i] + scale * b[i] for i < n.
// Workgroup size: specialization constant 0. The grid may be 2-D (pv_vk_grid_1d) when n needs more
// workgroups than maxComputeWorkGroupCount[0]; invocations past n do nothing.
layout(local_size_x = 64, local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer C { float c[]; };

layout(push_constant) uniform Push {
  uint n;
  float scale;
} pc;

void main() {
  uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  uint i = group * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (i < pc.n) c[i] = a[i] + pc.scale * b[i];
}
