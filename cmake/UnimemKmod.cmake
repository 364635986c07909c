# SPDX-License-Identifier: MIT
# unimem.ko through Kbuild: the sources are copied into the build tree and
# built there with `make -C kmod KDIR=...`, one copy per kernel, so one
# source tree is built against several kernels (6.12, 7.3, debug, release)
# side by side.
#
#   unimem_kmod_build(<name> <kdir> <out-var>)
#     builds ${PROJECT_BINARY_DIR}/kmod-<name>/unimem.ko against <kdir>
#     (target unimem_kmod_<name>) and sets <out-var> to its path.
#
# UNIMEM_KDIR alone (no VM tests) builds one unimem.ko, target unimem_kmod.
set(UNIMEM_KDIR "" CACHE PATH "Kernel build directory to build unimem.ko against")

file(GLOB_RECURSE UNIMEM_KMOD_SOURCES CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/kmod/*.c ${PROJECT_SOURCE_DIR}/kmod/*.h
     ${PROJECT_SOURCE_DIR}/kmod/Kbuild ${PROJECT_SOURCE_DIR}/kmod/Makefile
     ${PROJECT_SOURCE_DIR}/kmod/conftest.sh)
list(FILTER UNIMEM_KMOD_SOURCES EXCLUDE REGEX "/kmod/tests/")

function(unimem_kmod_build name kdir out_var)
  set(src ${PROJECT_BINARY_DIR}/kmod-src-${name})
  set(ko ${PROJECT_BINARY_DIR}/kmod-${name}/unimem.ko)
  add_custom_command(OUTPUT ${ko}
    COMMAND ${CMAKE_COMMAND} -E copy_directory ${PROJECT_SOURCE_DIR}/kmod ${src}
    COMMAND make -C ${src} KDIR=${kdir}
    COMMAND ${CMAKE_COMMAND} -E copy ${src}/unimem.ko ${ko}
    DEPENDS ${UNIMEM_KMOD_SOURCES}
    COMMENT "Building unimem.ko against ${kdir}" VERBATIM)
  add_custom_target(unimem_kmod_${name} ALL DEPENDS ${ko})
  set(${out_var} ${ko} PARENT_SCOPE)
endfunction()

if(UNIMEM_BUILD_KMOD AND UNIMEM_KDIR AND EXISTS ${PROJECT_SOURCE_DIR}/kmod/Makefile)
  unimem_kmod_build(kdir ${UNIMEM_KDIR} UNIMEM_KMOD_FILE)
  add_custom_target(unimem_kmod ALL DEPENDS unimem_kmod_kdir)
endif()
