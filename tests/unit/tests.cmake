# One line per unit test: the module's sources it needs.
ms_unit_test(test_options SOURCES ${CMAKE_SOURCE_DIR}/src/config/options.c)
ms_unit_test(test_counters LIBS memshim)
ms_unit_test(test_json SOURCES ${CMAKE_SOURCE_DIR}/src/cli/json.c)
ms_unit_test(test_monitor SOURCES ${CMAKE_SOURCE_DIR}/src/policy/monitor.c ${CMAKE_SOURCE_DIR}/src/core/log.c
  ${CMAKE_SOURCE_DIR}/src/config/options.c)
ms_unit_test(test_mmap_registry SOURCES ${CMAKE_SOURCE_DIR}/src/policy/mmap_registry.c)
ms_unit_test(test_heap_decide SOURCES ${CMAKE_SOURCE_DIR}/src/policy/heap_decide.c ${CMAKE_SOURCE_DIR}/src/config/options.c)
