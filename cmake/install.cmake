# cmake --install: the libraries with their headers, a CMake package (find_package(airlock):
# airlock::core, airlock::layout, airlock::transfer, airlock::serve) and pkg-config files
# (airlock-core, airlock-layout, airlock-transfer, airlock-serve). The binary, its man pages
# and completions are installed by cli/CMakeLists.txt.
#
# The libraries are static: the airlock binary stays one file with no libairlock*.so to carry
# across the gap beside it, the API makes no ABI promise yet (0.x: a soname would lie), and
# the unit tests link the modules' internals. A program linking them needs their dependencies,
# so the package config finds them again and the .pc files list them in Requires/Libs (not
# .private: with static libraries only, every consumer needs them).
include(CMakePackageConfigHelpers)

set(AIRLOCK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/airlock)
foreach(m core layout transfer serve)
  set_target_properties(airlock_${m} PROPERTIES EXPORT_NAME ${m})
  add_library(airlock::${m} ALIAS airlock_${m})
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${m}/include/airlock
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
endforeach()
install(TARGETS airlock_core airlock_layout airlock_transfer airlock_serve EXPORT airlockTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT airlockTargets NAMESPACE airlock:: DESTINATION ${AIRLOCK_CMAKE_DIR})
# the licence where Debian policy wants it (/usr/share/doc/airlock/copyright in the .deb)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME copyright)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/airlockConfig.cmake.in
  ${PROJECT_BINARY_DIR}/airlockConfig.cmake INSTALL_DESTINATION ${AIRLOCK_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/airlockConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/airlockConfig.cmake
  ${PROJECT_BINARY_DIR}/airlockConfigVersion.cmake ${PROJECT_SOURCE_DIR}/cmake/FindMbedTLS.cmake
  DESTINATION ${AIRLOCK_CMAKE_DIR})

# pkg-config: prefix relative to the .pc file, so an installed tree can be moved
set(pcdir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH pc_up /x/${pcdir} /x)
string(REGEX REPLACE "/$" "" pc_up "${pc_up}")
function(airlock_pc name desc requires libs)
  file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/pkgconfig/airlock-${name}.pc CONTENT
"prefix=\${pcfiledir}/${pc_up}
libdir=\${prefix}/${CMAKE_INSTALL_LIBDIR}
includedir=\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}

Name: airlock-${name}
Description: ${desc}
Version: ${PROJECT_VERSION}
Requires: ${requires}
Cflags: -I\${includedir}
Libs: -L\${libdir} -lairlock_${name} ${libs}
" @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/airlock-${name}.pc DESTINATION ${pcdir})
endfunction()
set(pc_dl "")
foreach(l ${CMAKE_DL_LIBS})
  string(APPEND pc_dl " -l${l}")
endforeach()
airlock_pc(core "airlock: errors, digests, the OCI model, keys and signatures"
  "libcjson libcrypto libsodium" "-lmbedcrypto -lm${pc_dl}")
airlock_pc(layout "airlock: bundles on disk (dir, tar, tar.zst, split sets)"
  "airlock-core libarchive libzstd libcjson libcrypto" "-pthread")
airlock_pc(transfer "airlock: the registry client, push, pull (export) and sync"
  "airlock-layout airlock-core libcurl libcjson yaml-0.1" "-pthread")
airlock_pc(serve "airlock: a bundle served as a read-only registry"
  "airlock-layout airlock-core libmicrohttpd" "-pthread")
