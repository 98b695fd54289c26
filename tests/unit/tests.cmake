# One line per unit test: the module's sources it needs.
ms_unit_test(test_options SOURCES $<TARGET_OBJECTS:ms_options>)
ms_unit_test(test_counters LIBS memshim)
ms_unit_test(test_monitor SOURCES ${CMAKE_SOURCE_DIR}/src/core/monitor.c ${CMAKE_SOURCE_DIR}/src/util/log.c
  ${CMAKE_SOURCE_DIR}/src/util/owner.c ${CMAKE_SOURCE_DIR}/src/util/proc.c $<TARGET_OBJECTS:ms_options>)
ms_unit_test(test_mmap_registry SOURCES ${CMAKE_SOURCE_DIR}/src/policy/mmap_registry.c ${CMAKE_SOURCE_DIR}/src/util/proc.c)
ms_unit_test(test_heap_decide SOURCES ${CMAKE_SOURCE_DIR}/src/policy/heap_decide.c $<TARGET_OBJECTS:ms_options>)
ms_unit_test(test_profile SOURCES ${CMAKE_SOURCE_DIR}/src/profile/sampler.c ${CMAKE_SOURCE_DIR}/src/profile/stack_table.c
  ${CMAKE_SOURCE_DIR}/src/profile/ptr_map.c ${CMAKE_SOURCE_DIR}/src/profile/leak.c $<TARGET_OBJECTS:ms_options>
  LIBS m)
# The writers and the CLI's JSON loader: a snapshot written as JSON reads back identically.
ms_unit_test(test_report SOURCES ${CMAKE_SOURCE_DIR}/src/profile/symbolize.c ${CMAKE_SOURCE_DIR}/src/profile/buildid.c
  ${CMAKE_SOURCE_DIR}/src/cli/load.c $<TARGET_OBJECTS:ms_writers> LIBS PkgConfig::JANSSON stdc++ ${CMAKE_DL_LIBS})
ms_unit_test(test_gpu_track SOURCES ${CMAKE_SOURCE_DIR}/src/gpu/track.c ${CMAKE_SOURCE_DIR}/src/gpu/threshold.c
  ${CMAKE_SOURCE_DIR}/src/profile/leak.c ${CMAKE_SOURCE_DIR}/src/profile/stack_table.c
  $<TARGET_OBJECTS:ms_options> ${CMAKE_SOURCE_DIR}/src/util/log.c LIBS m)
ms_unit_test(test_pyframes SOURCES ${CMAKE_SOURCE_DIR}/src/profile/py_layout.c ${CMAKE_SOURCE_DIR}/src/profile/py_str.c
  ${CMAKE_SOURCE_DIR}/src/profile/py_walk.c ${CMAKE_SOURCE_DIR}/src/profile/py_table.c ${CMAKE_SOURCE_DIR}/src/profile/py_stack.c
  ${CMAKE_SOURCE_DIR}/src/profile/py_runtime.c ${CMAKE_SOURCE_DIR}/src/util/log.c ${CMAKE_SOURCE_DIR}/src/util/proc.c
  ${CMAKE_SOURCE_DIR}/src/util/elf_sym.c ${CMAKE_SOURCE_DIR}/src/util/arena.c
  $<TARGET_OBJECTS:ms_options> LIBS ${CMAKE_DL_LIBS})
# The CLI without its main(): every subcommand's argument checks, the target read from /proc, the
# wrapped command's exit status, the leak gate's judgements. Sources, libraries and definitions
# are memshim_cli's own, so the test follows what the CLI is built from.
get_target_property(ms_cli_srcs memshim_cli SOURCES)
set(MS_CLI_UNIT_SOURCES)
foreach(src ${ms_cli_srcs})
  if(src MATCHES "src/cli/main\\.c$")
  elseif(src MATCHES "^\\$<" OR IS_ABSOLUTE "${src}")
    list(APPEND MS_CLI_UNIT_SOURCES ${src})
  else()
    list(APPEND MS_CLI_UNIT_SOURCES ${CMAKE_SOURCE_DIR}/${src})
  endif()
endforeach()
get_target_property(ms_cli_libs memshim_cli LINK_LIBRARIES)
ms_unit_test(test_cli SOURCES ${MS_CLI_UNIT_SOURCES} LIBS ${ms_cli_libs})
get_target_property(ms_cli_defs memshim_cli COMPILE_DEFINITIONS)
target_compile_definitions(test_cli PRIVATE ${ms_cli_defs})
# The writers' rules for people: --top limits, verdict words, site names, folding, merging, ranking.
ms_unit_test(test_report_rules SOURCES $<TARGET_OBJECTS:ms_writers>)
ms_unit_test(test_mmap_cap SOURCES ${CMAKE_SOURCE_DIR}/src/policy/mmap_cap.c ${CMAKE_SOURCE_DIR}/src/policy/events.c
  ${CMAKE_SOURCE_DIR}/src/policy/mmap_registry.c ${CMAKE_SOURCE_DIR}/src/core/monitor.c ${CMAKE_SOURCE_DIR}/src/util/log.c
  ${CMAKE_SOURCE_DIR}/src/util/owner.c ${CMAKE_SOURCE_DIR}/src/util/proc.c $<TARGET_OBJECTS:ms_options>)
ms_unit_test(test_fork SOURCES ${CMAKE_SOURCE_DIR}/src/interpose/fork.c ${CMAKE_SOURCE_DIR}/src/core/monitor.c
  ${CMAKE_SOURCE_DIR}/src/util/log.c ${CMAKE_SOURCE_DIR}/src/util/owner.c ${CMAKE_SOURCE_DIR}/src/util/proc.c
  $<TARGET_OBJECTS:ms_options> LIBS ${CMAKE_DL_LIBS})
ms_unit_test(test_backend_select SOURCES ${CMAKE_SOURCE_DIR}/src/backend/select.c $<TARGET_OBJECTS:ms_options>)
# util/hmap.h and util/chunked.h: header-only.
ms_unit_test(test_hmap)
ms_unit_test(test_cgroup SOURCES ${CMAKE_SOURCE_DIR}/src/util/cgroup.c ${CMAKE_SOURCE_DIR}/src/util/proc.c)
# interpose/track.h: the hot path's decisions (the symbols it reads are the test's own).
ms_unit_test(test_track)
