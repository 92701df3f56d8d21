# Cross-compiling pagedvk for 64-bit Arm Linux with Debian's cross toolchain:
#   gcc-aarch64-linux-gnu + libc6-dev-arm64-cross, and the target's -dev packages installed
#   multiarch (dpkg --add-architecture arm64; libpcre2-dev:arm64 ...), see tools/deps.sh.
#
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake
#
# The target's libraries live in /usr/lib/aarch64-linux-gnu (multiarch), its C library in
# /usr/aarch64-linux-gnu (the cross libc). Shader tools (glslangValidator, spirv-val) are the
# build machine's own. Tests built here run through qemu-user (CMAKE_CROSSCOMPILING_EMULATOR), so
# ctest works in the cross build directory; only the GPU-free ones (label nogpu) are meant to run.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(PV_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${PV_CROSS_TRIPLE}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${PV_CROSS_TRIPLE})

# Libraries and headers: the target's only; programs: the build machine's.
set(CMAKE_FIND_ROOT_PATH /usr/${PV_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# pkg-config answers for the target: only its multiarch .pc files (and the arch-independent ones).
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${PV_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# Run target executables (tests, try_run) under qemu-user: the cross loader from the cross libc,
# the multiarch libraries from /usr/lib/aarch64-linux-gnu.
find_program(PV_QEMU_AARCH64 qemu-aarch64)
if(PV_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR
      ${PV_QEMU_AARCH64} -L /usr/${PV_CROSS_TRIPLE} -E LD_LIBRARY_PATH=/usr/lib/${PV_CROSS_TRIPLE})
endif()
