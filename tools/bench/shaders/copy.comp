#version 450
// copy.comp — the kernel bench's copy kernel: dst[i] = src[i] for i < n, 16 bytes per invocation
// (uvec4 loads and stores from storage buffers, as a kernel that streams memory reads them). Its
// bytes read + written / time is the bandwidth a compute kernel reaches, beside vkCmdCopyBuffer's.
// Workgroup size: specialization constant 0; the grid may be 2-D (pv_vk_grid_1d).
layout(local_size_x = 256, local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Src { uvec4 src[]; };
layout(std430, binding = 1) writeonly buffer Dst { uvec4 dst[]; };

layout(push_constant) uniform Push {
  uint n;
} pc;

void main() {
  uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  uint i = group * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (i < pc.n) dst[i] = src[i];
}
