# SPDX-License-Identifier: GPL-2.0-only
# Range attributes and placement policy (issue 4): VM tests.
# Included from kmod/tests/CMakeLists.txt; needs unimem_vm_program/_test.
find_package(Threads REQUIRED)
foreach(t policy_attr policy_place policy_thrash policy_prefetch policy_stress)
  add_executable(${t} ${CMAKE_CURRENT_LIST_DIR}/${t}.c)
  target_include_directories(${t} PRIVATE
    ${PROJECT_SOURCE_DIR}/kmod/include/uapi ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(${t} PRIVATE Threads::Threads)
  unimem_vm_program(${t})
endforeach()

# attributes: validation, SET/GET intersection and "mixed", mprotect,
# munmap, mremap, fork
unimem_vm_test(NAME policy-attr COMMAND policy_attr all TIMEOUT 120)
# device access / CPU access rules: residency, data, counters
unimem_vm_test(NAME policy-place COMMAND policy_place all TIMEOUT 120)
# ping-pong with thrashing control off/on: >= 10x fewer migrations
unimem_vm_test(NAME policy-thrash COMMAND policy_thrash TIMEOUT 180)
# prefetch: validation, granularity, population, concurrent threads
unimem_vm_test(NAME policy-prefetch COMMAND policy_prefetch TIMEOUT 180)
# devices, CPU, attribute changes, prefetch, mmap/mremap/munmap churn at once
unimem_vm_test(NAME policy-stress COMMAND policy_stress 20 TIMEOUT 120)
