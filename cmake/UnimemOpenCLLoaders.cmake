# SPDX-License-Identifier: MIT
# The OpenCL layer's tests run through two ICD loaders: Debian's ocl-icd,
# which the tests link, and the Khronos loader, which
# scripts/khronos-loader.sh unpacks from Debian's package under the cache
# and which LD_LIBRARY_PATH puts in its place.
#
#   unimem_icd_test(NAME name COMMAND cmd... [TIMEOUT s] [ENVIRONMENT vars...])
#
# adds <name> (ocl-icd) and <name>.khronos. Each names the directory of the
# loader it must run on in UNIMEM_CL_LOADER_DIR, which the test programs
# check (icd/tests/cltest.h), so a test cannot pass on the wrong loader.
find_package(OpenCL REQUIRED)

get_filename_component(_ocl_icd_real "${OpenCL_LIBRARY}" REALPATH)
get_filename_component(UNIMEM_OCL_ICD_DIR "${_ocl_icd_real}" DIRECTORY)

# -DUNIMEM_KHRONOS_LOADER_DIR=<dir> names it; otherwise it is looked for
# where scripts/khronos-loader.sh puts it, anew at each configure.
if(NOT UNIMEM_KHRONOS_LOADER_DIR)
  if(DEFINED ENV{XDG_CACHE_HOME} AND NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
    set(_unimem_cache "$ENV{XDG_CACHE_HOME}/unimem")
  else()
    set(_unimem_cache "$ENV{HOME}/.cache/unimem")
  endif()
  file(GLOB_RECURSE _khronos_lib "${_unimem_cache}/khronos-icd-loader/*/libOpenCL.so.1")
  if(_khronos_lib)
    list(GET _khronos_lib 0 _khronos_lib)
    get_filename_component(UNIMEM_KHRONOS_LOADER_DIR "${_khronos_lib}" DIRECTORY)
  else()
    message(STATUS "No Khronos OpenCL loader (scripts/khronos-loader.sh): "
      "the icd.*.khronos tests will fail")
  endif()
endif()

function(unimem_icd_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "COMMAND;ENVIRONMENT" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_test(NAME ${T_NAME} COMMAND ${T_COMMAND})
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS icd
    ENVIRONMENT "${T_ENVIRONMENT};UNIMEM_CL_LOADER_DIR=${UNIMEM_OCL_ICD_DIR}")
  if(UNIMEM_KHRONOS_LOADER_DIR)
    add_test(NAME ${T_NAME}.khronos COMMAND ${T_COMMAND})
  else()
    # Fails, saying why, rather than passing on the wrong loader.
    add_test(NAME ${T_NAME}.khronos COMMAND sh -c
      "echo 'no Khronos OpenCL loader: run scripts/khronos-loader.sh (or scripts/setup.sh), then cmake again'; exit 1")
  endif()
  set_tests_properties(${T_NAME}.khronos PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS icd
    ENVIRONMENT "${T_ENVIRONMENT};LD_LIBRARY_PATH=${UNIMEM_KHRONOS_LOADER_DIR};UNIMEM_CL_LOADER_DIR=${UNIMEM_KHRONOS_LOADER_DIR}")
endfunction()
