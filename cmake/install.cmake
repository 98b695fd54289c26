# Install layout and packaging, included from the top CMakeLists.txt after the install() of
# the targets: CMake package config (memshim::memshim), pkg-config file, and CPack (DEB).
include(CMakePackageConfigHelpers)

set(MS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/memshim)
install(EXPORT memshimTargets NAMESPACE memshim:: FILE memshimTargets.cmake DESTINATION ${MS_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/memshimConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/memshimConfig.cmake INSTALL_DESTINATION ${MS_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/memshimConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/memshimConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/memshimConfigVersion.cmake DESTINATION ${MS_CMAKE_DIR})

# The .pc file finds its prefix from its own location (${pcfiledir}), so the same file is right
# for `cmake --install --prefix X` and for the .deb (installed under /usr).
file(RELATIVE_PATH MS_PC_TO_PREFIX /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
string(REGEX REPLACE "/$" "" MS_PC_TO_PREFIX "${MS_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/memshim.pc.in ${CMAKE_CURRENT_BINARY_DIR}/memshim.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/memshim.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# cpack -G DEB: runtime dependencies are the two shared libraries libmemshim.so links.
set(CPACK_PACKAGE_NAME memshim)
set(CPACK_PACKAGE_VENDOR memshim)
set(CPACK_PACKAGE_CONTACT "memshim maintainers <memshim@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "LD_PRELOAD memory shim: returns freed memory to the OS and profiles live bytes per call site")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.34), libunwind8, libjansson4")
include(CPack)

# The one path to preload from the .deb. README.md and every examples/*/Dockerfile name it
# (ENV LD_PRELOAD=...): tests/integration/cli_examples.sh checks them against this file and the
# .deb's contents, tests/integration/containers.sh that the built images really load it.
set(MEMSHIM_PACKAGE_PRELOAD ${CPACK_PACKAGING_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/libmemshim.so)
file(WRITE ${CMAKE_BINARY_DIR}/package-preload-path "${MEMSHIM_PACKAGE_PRELOAD}\n")
