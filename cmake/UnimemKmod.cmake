# SPDX-License-Identifier: MIT
# unimem.ko through Kbuild: the sources are copied into the build tree and
# built there with `make -C kmod KDIR=...`, so one source tree can be built
# against several kernels (debug, release, distro headers) side by side.
set(UNIMEM_KDIR "" CACHE PATH "Kernel build directory to build unimem.ko against")
if(NOT UNIMEM_KDIR AND UNIMEM_TESTKERNEL_DIR)
  set(UNIMEM_KDIR ${UNIMEM_TESTKERNEL_DIR}/build)
endif()
set(UNIMEM_KMOD_FILE ${PROJECT_BINARY_DIR}/kmod/unimem.ko)

if(UNIMEM_BUILD_KMOD AND UNIMEM_KDIR AND EXISTS ${PROJECT_SOURCE_DIR}/kmod/Makefile)
  file(GLOB_RECURSE kmod_sources CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/kmod/*.c ${PROJECT_SOURCE_DIR}/kmod/*.h
       ${PROJECT_SOURCE_DIR}/kmod/Kbuild ${PROJECT_SOURCE_DIR}/kmod/Makefile)
  list(FILTER kmod_sources EXCLUDE REGEX "/kmod/tests/")
  set(kmod_build ${PROJECT_BINARY_DIR}/kmod-src)
  add_custom_command(OUTPUT ${UNIMEM_KMOD_FILE}
    COMMAND ${CMAKE_COMMAND} -E copy_directory ${PROJECT_SOURCE_DIR}/kmod ${kmod_build}
    COMMAND make -C ${kmod_build} KDIR=${UNIMEM_KDIR}
    COMMAND ${CMAKE_COMMAND} -E copy ${kmod_build}/unimem.ko ${UNIMEM_KMOD_FILE}
    DEPENDS ${kmod_sources}
    COMMENT "Building unimem.ko against ${UNIMEM_KDIR}" VERBATIM)
  add_custom_target(unimem_kmod ALL DEPENDS ${UNIMEM_KMOD_FILE})
elseif(UNIMEM_BUILD_KMOD)
  message(STATUS "unimem.ko not built: set UNIMEM_KDIR or UNIMEM_TESTKERNEL_DIR")
endif()
