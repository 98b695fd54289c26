# One line per unit test: the module's sources it needs.
ms_unit_test(test_options SOURCES ${CMAKE_SOURCE_DIR}/src/config/options.c)
ms_unit_test(test_counters LIBS memshim)
ms_unit_test(test_monitor SOURCES ${CMAKE_SOURCE_DIR}/src/core/monitor.c ${CMAKE_SOURCE_DIR}/src/util/log.c
  ${CMAKE_SOURCE_DIR}/src/util/owner.c ${CMAKE_SOURCE_DIR}/src/util/proc.c ${CMAKE_SOURCE_DIR}/src/config/options.c)
ms_unit_test(test_mmap_registry SOURCES ${CMAKE_SOURCE_DIR}/src/policy/mmap_registry.c ${CMAKE_SOURCE_DIR}/src/util/proc.c)
ms_unit_test(test_heap_decide SOURCES ${CMAKE_SOURCE_DIR}/src/policy/heap_decide.c ${CMAKE_SOURCE_DIR}/src/config/options.c)
ms_unit_test(test_profile SOURCES ${CMAKE_SOURCE_DIR}/src/profile/sampler.c ${CMAKE_SOURCE_DIR}/src/profile/stack_table.c
  ${CMAKE_SOURCE_DIR}/src/profile/ptr_map.c ${CMAKE_SOURCE_DIR}/src/profile/leak.c ${CMAKE_SOURCE_DIR}/src/config/options.c
  LIBS m)
# The writers and the CLI's JSON loader: a snapshot written as JSON reads back identically.
ms_unit_test(test_report SOURCES ${CMAKE_SOURCE_DIR}/src/profile/symbolize.c ${CMAKE_SOURCE_DIR}/src/profile/buildid.c
  ${CMAKE_SOURCE_DIR}/src/cli/load.c $<TARGET_OBJECTS:ms_writers> LIBS PkgConfig::JANSSON stdc++ ${CMAKE_DL_LIBS})
ms_unit_test(test_gpu_track SOURCES ${CMAKE_SOURCE_DIR}/src/gpu/track.c ${CMAKE_SOURCE_DIR}/src/gpu/threshold.c
  ${CMAKE_SOURCE_DIR}/src/profile/leak.c ${CMAKE_SOURCE_DIR}/src/profile/stack_table.c
  ${CMAKE_SOURCE_DIR}/src/config/options.c ${CMAKE_SOURCE_DIR}/src/util/log.c LIBS m)
ms_unit_test(test_pyframes SOURCES ${CMAKE_SOURCE_DIR}/src/profile/py_layout.c ${CMAKE_SOURCE_DIR}/src/profile/py_str.c
  ${CMAKE_SOURCE_DIR}/src/profile/py_walk.c ${CMAKE_SOURCE_DIR}/src/profile/py_table.c ${CMAKE_SOURCE_DIR}/src/profile/py_stack.c
  ${CMAKE_SOURCE_DIR}/src/profile/py_runtime.c ${CMAKE_SOURCE_DIR}/src/util/log.c ${CMAKE_SOURCE_DIR}/src/util/proc.c
  ${CMAKE_SOURCE_DIR}/src/util/elf_sym.c ${CMAKE_SOURCE_DIR}/src/report/arena.c
  ${CMAKE_SOURCE_DIR}/src/config/options.c LIBS ${CMAKE_DL_LIBS})
ms_unit_test(test_cgroup SOURCES ${CMAKE_SOURCE_DIR}/src/util/cgroup.c)
