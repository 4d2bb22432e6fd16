# Packages: `cpack -G DEB` (a .deb of everything cmake --install installs, its Depends
# computed by dpkg-shlibdeps) and `cmake --build build --target tarball` (the portable
# airlock-VERSION-linux-ARCH.tar.gz: bin/airlock and every non-glibc library it needs in
# lib/, found through the binary's $ORIGIN/../lib; packaging/portable.cmake).
# cpack packages what was built (cmake --build first) and never builds itself: its
# "preinstall" step would otherwise rebuild the tree under running tests or other users of it
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
set(CPACK_PACKAGE_NAME airlock)
set(CPACK_PACKAGE_VENDOR airlock)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "airlock developers <dev@airlock.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "move container images across an air gap as verified OCI bundles")
set(CPACK_PACKAGE_DESCRIPTION "airlock exports images with their cosign signatures from \
registries into OCI layout bundles (a directory, .tar, .tar.zst or split parts), signs and \
verifies them offline, and pushes them into registries behind the gap, by hand or as an \
unattended sync job. Includes the static libraries, headers, pkg-config files and CMake \
package for programs that use airlock's libraries.")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
# the headers, static libraries, .pc and CMake files need the dependencies' own -dev packages
# to link a program (airlock itself needs none of them)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion, libarchive-dev, libzstd-dev, \
libcurl4-openssl-dev, libcjson-dev, libmbedtls-dev, libsodium-dev, libssl-dev, \
libmicrohttpd-dev, libyaml-dev")
include(CPack)

string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" AIRLOCK_ARCH)
add_custom_target(tarball
  COMMAND ${CMAKE_COMMAND} -DBIN=$<TARGET_FILE:airlock-portable>
    -DDOC=${PROJECT_BINARY_DIR}/cli/doc -DVERSION=${PROJECT_VERSION} -DARCH=${AIRLOCK_ARCH}
    -DOUT=${PROJECT_BINARY_DIR} -DLICENSE=${PROJECT_SOURCE_DIR}/LICENSE
    -DSTRIP=${CMAKE_STRIP} -P ${PROJECT_SOURCE_DIR}/packaging/portable.cmake
  DEPENDS airlock-portable airlock_docs
  COMMENT "Making the portable tarball" VERBATIM)
