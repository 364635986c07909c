# SPDX-License-Identifier: MIT
# VM tests: programs and scripts that run inside a QEMU guest booted on the
# test kernel (tools/vm/unimem-vm). All tests of a suite run in one boot; the
# boot is a ctest fixture (vm.boot.<suite>) and each test is a ctest test
# (vm.<name>) that reports the result the guest recorded for it.
#
#   unimem_vm_program(<target>)   ship an executable into the guest's /tests/bin
#   unimem_vm_file(<path>)        ship a script or data file into /tests/bin
#   unimem_vm_test(NAME <name> COMMAND <guest command...>
#                  [TIMEOUT <s>] [NUMA cpuless])
#
# UNIMEM_TESTKERNEL_DIR names the kernel (tools/testkernel/testkernel.sh debug
# prints one); without it the VM tests are not registered.
set(UNIMEM_TESTKERNEL_DIR "" CACHE PATH
    "Test kernel directory (bzImage, build/, test_hmm.ko, hmm-tests)")
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
  cmake_parse_arguments(VT "" "NAME;TIMEOUT;NUMA" "COMMAND" ${ARGN})
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
  list(JOIN VT_COMMAND " " cmd)
  string(REPLACE "\t" " " cmd "${cmd}")
  set_property(GLOBAL APPEND PROPERTY UNIMEM_VM_SUITES ${suite})
  set_property(GLOBAL APPEND PROPERTY UNIMEM_VM_TESTS_${suite}
               "${VT_NAME}\t${VT_TIMEOUT}\t${cmd}")
endfunction()

# Called once at the end of the top-level CMakeLists.txt.
function(unimem_vm_finalize)
  if(NOT UNIMEM_BUILD_TESTS OR NOT UNIMEM_VM_TESTS)
    return()
  endif()
  if(NOT UNIMEM_TESTKERNEL_DIR OR NOT EXISTS ${UNIMEM_TESTKERNEL_DIR}/bzImage)
    message(STATUS "VM tests not registered: set UNIMEM_TESTKERNEL_DIR "
                   "(tools/testkernel/testkernel.sh debug prints one)")
    return()
  endif()
  find_program(QEMU qemu-system-x86_64 REQUIRED)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)

  # The staged tree: /tests/bin (programs, scripts) and /modules.
  set(stage ${UNIMEM_VM_DIR}/stage)
  set(copy_cmds
    COMMAND ${CMAKE_COMMAND} -E rm -rf ${stage}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${stage}/tests/bin ${stage}/modules
    COMMAND ${CMAKE_COMMAND} -E copy ${UNIMEM_TESTKERNEL_DIR}/test_hmm.ko ${stage}/modules/
    COMMAND ${CMAKE_COMMAND} -E copy ${UNIMEM_TESTKERNEL_DIR}/hmm-tests ${stage}/tests/bin/)
  set(deps)
  get_property(programs GLOBAL PROPERTY UNIMEM_VM_PROGRAMS)
  foreach(t IN LISTS programs)
    list(APPEND copy_cmds COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE:${t}> ${stage}/tests/bin/)
    list(APPEND deps ${t})
  endforeach()
  get_property(files GLOBAL PROPERTY UNIMEM_VM_FILES)
  foreach(f IN LISTS files)
    list(APPEND copy_cmds COMMAND ${CMAKE_COMMAND} -E copy ${f} ${stage}/tests/bin/)
  endforeach()
  if(TARGET unimem_kmod)
    list(APPEND copy_cmds COMMAND ${CMAKE_COMMAND} -E copy ${UNIMEM_KMOD_FILE} ${stage}/modules/)
    list(APPEND deps unimem_kmod)
  endif()
  add_custom_target(vm_stage ALL ${copy_cmds} DEPENDS ${deps} ${files}
                    COMMENT "Staging the VM test tree" VERBATIM)

  get_property(suites GLOBAL PROPERTY UNIMEM_VM_SUITES)
  list(REMOVE_DUPLICATES suites)
  foreach(suite IN LISTS suites)
    get_property(tests GLOBAL PROPERTY UNIMEM_VM_TESTS_${suite})
    set(manifest ${UNIMEM_VM_DIR}/${suite}.manifest)
    set(out ${UNIMEM_VM_DIR}/${suite})
    set(lines "")
    set(budget 300)
    foreach(t IN LISTS tests)
      string(REPLACE "\t" ";" fields "${t}")
      list(GET fields 1 timeout)
      math(EXPR budget "${budget} + ${timeout} + 30")
      string(APPEND lines "${t}\n")
    endforeach()
    file(WRITE ${manifest} "${lines}")
    set(numa none)
    if(suite STREQUAL "numa")
      set(numa cpuless)
    endif()
    add_test(NAME vm.boot.${suite}
             COMMAND ${Python3_EXECUTABLE} ${UNIMEM_VM_RUNNER} run
                     --kernel ${UNIMEM_TESTKERNEL_DIR} --stage ${stage}
                     --manifest ${manifest} --out ${out} --numa ${numa})
    set_tests_properties(vm.boot.${suite} PROPERTIES
      FIXTURES_SETUP vm_${suite} TIMEOUT ${budget} RESOURCE_LOCK vm
      LABELS vm)
    foreach(t IN LISTS tests)
      string(REPLACE "\t" ";" fields "${t}")
      list(GET fields 0 name)
      add_test(NAME vm.${name}
               COMMAND ${Python3_EXECUTABLE} ${UNIMEM_VM_RUNNER} result --out ${out} ${name})
      set_tests_properties(vm.${name} PROPERTIES
        FIXTURES_REQUIRED vm_${suite} SKIP_RETURN_CODE 77 LABELS vm)
    endforeach()
  endforeach()
endfunction()
