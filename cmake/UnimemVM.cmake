# SPDX-License-Identifier: MIT
# VM tests: programs and scripts that run inside a QEMU guest booted on a
# test kernel (tools/vm/unimem-vm). Every test runs on every test kernel;
# all tests of a suite run in one boot per kernel. The boot is a ctest
# fixture (vm.boot.<kernel>.<suite>) and each test is a ctest test
# (vm.<kernel>.<name>, e.g. vm.7.3-stock.kmod-stress) that reports the
# result the guest recorded for it.
#
#   unimem_vm_program(<target>)   ship an executable into the guest's /tests/bin
#   unimem_vm_file(<path>)        ship a script or data file into /tests/bin
#   unimem_vm_test(NAME <name> COMMAND <guest command...>
#                  [TIMEOUT <s>] [NUMA cpuless] [NEEDS_TEST_HMM] [PYTHON])
#     NEEDS_TEST_HMM: only on kernels that come with the kernel's own
#     test_hmm.ko and hmm-tests (the project's test kernels, not a stock
#     distribution kernel).
#     PYTHON: the guest has /usr/bin/python3, NumPy and the unimem package
#     (the tree python/ stages with tools/vm/stage-python, property
#     UNIMEM_VM_PYTHON_STAGE). Such tests boot in suites of their own
#     ("python", "python-numa"): only those initramfs carry its ~40 MiB.
#
# UNIMEM_TESTKERNELS lists the kernels as NAME=DIR. A DIR holds bzImage and
# either build/ (the module is built against it here) or unimem.ko (built
# elsewhere, e.g. by DKMS for a stock distribution kernel); optionally
# test_hmm.ko and hmm-tests. UNIMEM_TESTKERNEL_DIR (one kernel, named by
# its release's major.minor) is the older single-kernel form. Without
# either the VM tests are not registered.
set(UNIMEM_TESTKERNELS "" CACHE STRING
    "Test kernels, a list of NAME=DIR (tools/testkernel/testkernel.sh and tools/debian/stock-kernel.sh print DIRs)")
set(UNIMEM_TESTKERNEL_DIR "" CACHE PATH
    "One test kernel directory (bzImage, build/, test_hmm.ko, hmm-tests)")
set(UNIMEM_VM_RUNNER ${PROJECT_SOURCE_DIR}/tools/vm/unimem-vm)
set(UNIMEM_VM_DIR ${PROJECT_BINARY_DIR}/vm)

function(unimem_vm_program target)
  set_property(GLOBAL APPEND PROPERTY UNIMEM_VM_PROGRAMS ${target})
endfunction()

function(unimem_vm_file path)
  get_filename_component(abs ${path} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  set_property(GLOBAL APPEND PROPERTY UNIMEM_VM_FILES ${abs})
endfunction()

function(unimem_vm_test)
  cmake_parse_arguments(VT "NEEDS_TEST_HMM;PYTHON" "NAME;TIMEOUT;NUMA" "COMMAND" ${ARGN})
  if(NOT VT_NAME OR NOT VT_COMMAND)
    message(FATAL_ERROR "unimem_vm_test needs NAME and COMMAND")
  endif()
  if(NOT VT_TIMEOUT)
    set(VT_TIMEOUT 120)
  endif()
  set(suite default)
  if(VT_NUMA STREQUAL "cpuless")
    set(suite numa)
  endif()
  if(VT_PYTHON)
    set(suite python)
    if(VT_NUMA STREQUAL "cpuless")
      set(suite python-numa)
    endif()
  endif()
  set(needs none)
  if(VT_NEEDS_TEST_HMM)
    set(needs test_hmm)
  endif()
  list(JOIN VT_COMMAND " " cmd)
  string(REPLACE "\t" " " cmd "${cmd}")
  set_property(GLOBAL APPEND PROPERTY UNIMEM_VM_SUITES ${suite})
  set_property(GLOBAL APPEND PROPERTY UNIMEM_VM_TESTS_${suite}
               "${VT_NAME}\t${VT_TIMEOUT}\t${needs}\t${cmd}")
endfunction()

# The kernels as a list of NAME=DIR, from UNIMEM_TESTKERNELS or the older
# UNIMEM_TESTKERNEL_DIR.
function(unimem_vm_kernels out_var)
  set(kernels ${UNIMEM_TESTKERNELS})
  if(NOT kernels AND UNIMEM_TESTKERNEL_DIR)
    set(series vm)
    if(EXISTS ${UNIMEM_TESTKERNEL_DIR}/release)
      file(READ ${UNIMEM_TESTKERNEL_DIR}/release release)
      string(REGEX MATCH "^[0-9]+\\.[0-9]+" series "${release}")
    endif()
    set(kernels "${series}=${UNIMEM_TESTKERNEL_DIR}")
  endif()
  set(${out_var} ${kernels} PARENT_SCOPE)
endfunction()

# Stage the guest tree for one kernel and register its suites.
function(unimem_vm_kernel kname kdir)
  if(NOT EXISTS ${kdir}/bzImage)
    message(FATAL_ERROR "test kernel ${kname}: ${kdir}/bzImage missing")
  endif()
  set(has_test_hmm OFF)
  if(EXISTS ${kdir}/test_hmm.ko AND EXISTS ${kdir}/hmm-tests)
    set(has_test_hmm ON)
  endif()

  # The module: built here against the kernel's build tree, or shipped in
  # the kit (DKMS-built for a stock kernel).
  set(deps)
  set(ko "")
  if(UNIMEM_BUILD_KMOD AND EXISTS ${kdir}/build/Makefile)
    string(MAKE_C_IDENTIFIER ${kname} kid)
    unimem_kmod_build(${kid} ${kdir}/build ko)
    list(APPEND deps unimem_kmod_${kid})
  elseif(EXISTS ${kdir}/unimem.ko)
    set(ko ${kdir}/unimem.ko)
  endif()

  # The staged tree: /tests/bin (programs, scripts) and /modules.
  set(stage ${UNIMEM_VM_DIR}/${kname}/stage)
  set(copy_cmds
    COMMAND ${CMAKE_COMMAND} -E rm -rf ${stage}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${stage}/tests/bin ${stage}/modules)
  if(has_test_hmm)
    list(APPEND copy_cmds
      COMMAND ${CMAKE_COMMAND} -E copy ${kdir}/test_hmm.ko ${stage}/modules/
      COMMAND ${CMAKE_COMMAND} -E copy ${kdir}/hmm-tests ${stage}/tests/bin/)
  endif()
  if(ko)
    if(ko STREQUAL "${kdir}/unimem.ko")
      # built outside this build (DKMS, stock-kernel.sh): not from other
      # module sources than this tree's
      list(APPEND copy_cmds
        COMMAND ${PROJECT_SOURCE_DIR}/tools/debian/kmod-sources.sh --check ${kdir})
    endif()
    list(APPEND copy_cmds COMMAND ${CMAKE_COMMAND} -E copy ${ko} ${stage}/modules/)
  endif()
  # hwloc, which libunimem opens at run time (ldd does not see it): at its
  # host path under its soname; the runner then adds what it needs.
  if(UNIMEM_HWLOC_LIBRARY)
    get_filename_component(hwloc_real ${UNIMEM_HWLOC_LIBRARY} REALPATH)
    get_filename_component(hwloc_dir ${UNIMEM_HWLOC_LIBRARY} DIRECTORY)
    list(APPEND copy_cmds
      COMMAND ${CMAKE_COMMAND} -E make_directory ${stage}${hwloc_dir}
      COMMAND ${CMAKE_COMMAND} -E copy ${hwloc_real} ${stage}${hwloc_dir}/${UNIMEM_HWLOC_SONAME})
  endif()
  get_property(programs GLOBAL PROPERTY UNIMEM_VM_PROGRAMS)
  foreach(t IN LISTS programs)
    list(APPEND copy_cmds COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE:${t}> ${stage}/tests/bin/)
    list(APPEND deps ${t})
  endforeach()
  get_property(files GLOBAL PROPERTY UNIMEM_VM_FILES)
  foreach(f IN LISTS files)
    list(APPEND copy_cmds COMMAND ${CMAKE_COMMAND} -E copy ${f} ${stage}/tests/bin/)
  endforeach()
  string(MAKE_C_IDENTIFIER "vm_stage_${kname}" stage_target)
  add_custom_target(${stage_target} ALL ${copy_cmds} DEPENDS ${deps} ${files} ${ko}
                    COMMENT "Staging the VM test tree for ${kname}" VERBATIM)

  get_property(suites GLOBAL PROPERTY UNIMEM_VM_SUITES)
  list(REMOVE_DUPLICATES suites)
  foreach(suite IN LISTS suites)
    get_property(tests GLOBAL PROPERTY UNIMEM_VM_TESTS_${suite})
    set(manifest ${UNIMEM_VM_DIR}/${kname}/${suite}.manifest)
    set(out ${UNIMEM_VM_DIR}/${kname}/${suite})
    set(lines "")
    set(names "")
    set(budget 300)
    foreach(t IN LISTS tests)
      string(REGEX MATCH "^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$" _ "${t}")
      set(name ${CMAKE_MATCH_1})
      set(timeout ${CMAKE_MATCH_2})
      set(needs ${CMAKE_MATCH_3})
      set(cmd "${CMAKE_MATCH_4}")
      if(needs STREQUAL "test_hmm" AND NOT has_test_hmm)
        continue()
      endif()
      math(EXPR budget "${budget} + ${timeout} + 30")
      string(APPEND lines "${name}\t${timeout}\t${cmd}\n")
      list(APPEND names ${name})
    endforeach()
    if(NOT names)
      continue()
    endif()
    file(WRITE ${manifest} "${lines}")
    set(numa none)
    if(suite MATCHES "numa$")
      set(numa cpuless)
    endif()
    set(stages --stage ${stage})
    if(suite MATCHES "^python")
      get_property(pystage GLOBAL PROPERTY UNIMEM_VM_PYTHON_STAGE)
      if(NOT pystage)
        message(FATAL_ERROR "VM suite ${suite}: no Python stage (UNIMEM_VM_PYTHON_STAGE)")
      endif()
      list(APPEND stages --stage ${pystage})
    endif()
    set(fixture vm_${kname}_${suite})
    add_test(NAME vm.boot.${kname}.${suite}
             COMMAND ${Python3_EXECUTABLE} ${UNIMEM_VM_RUNNER} run
                     --kernel ${kdir} ${stages}
                     --manifest ${manifest} --out ${out} --numa ${numa})
    set_tests_properties(vm.boot.${kname}.${suite} PROPERTIES
      FIXTURES_SETUP ${fixture} TIMEOUT ${budget} RESOURCE_LOCK vm
      LABELS "vm;vm-${kname}")
    foreach(name IN LISTS names)
      add_test(NAME vm.${kname}.${name}
               COMMAND ${Python3_EXECUTABLE} ${UNIMEM_VM_RUNNER} result --out ${out} ${name})
      set_tests_properties(vm.${kname}.${name} PROPERTIES
        FIXTURES_REQUIRED ${fixture} SKIP_RETURN_CODE 77 LABELS "vm;vm-${kname}")
    endforeach()
  endforeach()
endfunction()

# Called once at the end of the top-level CMakeLists.txt.
function(unimem_vm_finalize)
  if(NOT UNIMEM_BUILD_TESTS OR NOT UNIMEM_VM_TESTS)
    return()
  endif()
  unimem_vm_kernels(kernels)
  if(NOT kernels)
    message(STATUS "VM tests not registered: set UNIMEM_TESTKERNELS "
                   "(NAME=DIR;...; tools/testkernel/testkernel.sh prints a DIR)")
    return()
  endif()
  find_program(QEMU qemu-system-x86_64 REQUIRED)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  foreach(entry IN LISTS kernels)
    if(NOT entry MATCHES "^([^=]+)=(.+)$")
      message(FATAL_ERROR "UNIMEM_TESTKERNELS: '${entry}' is not NAME=DIR")
    endif()
    unimem_vm_kernel(${CMAKE_MATCH_1} ${CMAKE_MATCH_2})
  endforeach()
endfunction()
