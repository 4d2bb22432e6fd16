# The portable tarball: OUT/airlock-VERSION-linux-ARCH.tar.gz holding
#   bin/airlock        BIN (airlock-portable: DT_RPATH $ORIGIN/../lib)
#   lib/*.so.*         every library `ldd BIN` resolves, except glibc's own
#   share/man/man1, share/bash-completion, share/zsh   from DOC
# and prints the oldest glibc it runs on (the highest GLIBC_ symbol version objdump -T finds
# in the binary and the copied libraries). cmake -DBIN= -DDOC= -DVERSION= -DARCH= -DOUT=
# [-DLICENSE=] [-DSTRIP=] -P portable.cmake
cmake_minimum_required(VERSION 3.21)
foreach(v BIN DOC VERSION ARCH OUT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "portable.cmake: -D${v}= missing")
  endif()
endforeach()
set(name airlock-${VERSION}-linux-${ARCH})
set(stage ${OUT}/${name})
file(REMOVE_RECURSE ${stage})
file(MAKE_DIRECTORY ${stage}/bin ${stage}/lib ${stage}/share/man/man1
  ${stage}/share/bash-completion/completions ${stage}/share/zsh/vendor-completions)
file(COPY_FILE ${BIN} ${stage}/bin/airlock)
if(STRIP)
  execute_process(COMMAND ${STRIP} --strip-debug ${stage}/bin/airlock COMMAND_ERROR_IS_FATAL ANY)
endif()

# glibc's libraries stay the system's: they are the ABI every Linux has, and ld-linux must
# match the libc it loads
set(glibc_re "^(libc|libm|libmvec|libpthread|libdl|librt|libresolv|libutil|libanl|libnsl|libnss_[a-z0-9]+|ld-linux[-a-z0-9_]*|linux-vdso)\\.so")
execute_process(COMMAND ldd ${BIN} OUTPUT_VARIABLE ldd_out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "portable.cmake: ldd '${BIN}' failed")
endif()
string(REPLACE "\n" ";" ldd_lines "${ldd_out}")
set(copied "")
foreach(line IN LISTS ldd_lines)
  if(line MATCHES "not found")
    message(FATAL_ERROR "portable.cmake: ldd '${BIN}': ${line}")
  endif()
  if(NOT line MATCHES "^[ \t]*([^ \t]+) => (/[^ ]+) \\(")
    continue()
  endif()
  set(soname ${CMAKE_MATCH_1})
  set(path ${CMAKE_MATCH_2})
  if(soname MATCHES "${glibc_re}")
    continue()
  endif()
  file(REAL_PATH ${path} real)
  file(COPY_FILE ${real} ${stage}/lib/${soname})
  list(APPEND copied ${stage}/lib/${soname})
endforeach()
list(LENGTH copied ncopied)

file(GLOB pages ${DOC}/*.1)
file(COPY ${pages} DESTINATION ${stage}/share/man/man1)
file(COPY_FILE ${DOC}/airlock.bash ${stage}/share/bash-completion/completions/airlock)
file(COPY_FILE ${DOC}/_airlock ${stage}/share/zsh/vendor-completions/_airlock)
if(LICENSE)
  file(COPY_FILE ${LICENSE} ${stage}/LICENSE)
endif()
# each bundled library's licence, as its Debian package states it: share/doc/third-party/
# PACKAGE.copyright (found with dpkg -S; a build without dpkg says so in the README)
set(notices 0)
file(MAKE_DIRECTORY ${stage}/share/doc/third-party)
find_program(DPKG dpkg)
foreach(f IN LISTS copied)
  get_filename_component(soname ${f} NAME)
  if(NOT DPKG)
    break()
  endif()
  execute_process(COMMAND ${DPKG} -S "*/${soname}" OUTPUT_VARIABLE owner ERROR_QUIET)
  string(REGEX MATCH "^([^:, ]+)" pkg "${owner}")
  if(pkg AND EXISTS /usr/share/doc/${pkg}/copyright AND
     NOT EXISTS ${stage}/share/doc/third-party/${pkg}.copyright)
    file(COPY_FILE /usr/share/doc/${pkg}/copyright ${stage}/share/doc/third-party/${pkg}.copyright)
    file(APPEND ${stage}/share/doc/third-party/LIBRARIES "${soname}\t${pkg}\n")
    math(EXPR notices "${notices} + 1")
  elseif(pkg)
    file(APPEND ${stage}/share/doc/third-party/LIBRARIES "${soname}\t${pkg}\n")
  else()
    message(FATAL_ERROR "portable.cmake: no package owns '${soname}': its licence is unknown")
  endif()
endforeach()

set(glibc 0)
foreach(f ${stage}/bin/airlock ${copied})
  execute_process(COMMAND objdump -T ${f} OUTPUT_VARIABLE syms RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "portable.cmake: objdump -T '${f}' failed")
  endif()
  string(REGEX MATCHALL "GLIBC_[0-9]+\\.[0-9]+(\\.[0-9]+)?" vers "${syms}")
  list(REMOVE_DUPLICATES vers)
  foreach(v IN LISTS vers)
    string(REPLACE "GLIBC_" "" v ${v})
    if(v VERSION_GREATER glibc)
      set(glibc ${v})
    endif()
  endforeach()
endforeach()
file(WRITE ${stage}/README.portable
"airlock ${VERSION} for Linux ${ARCH}: bin/airlock runs from wherever this directory is
unpacked, with the libraries in lib/ (found through the binary's \$ORIGIN/../lib), on any
system with glibc ${glibc} or newer and nothing else installed. The licences of the
libraries in lib/ are in share/doc/third-party/ (LIBRARIES names each one's package).
  tar xzf ${name}.tar.gz && ${name}/bin/airlock version
")

file(REMOVE ${OUT}/${name}.tar.gz)
execute_process(COMMAND ${CMAKE_COMMAND} -E tar czf ${name}.tar.gz ${name}
  WORKING_DIRECTORY ${OUT} COMMAND_ERROR_IS_FATAL ANY)
message(STATUS "${OUT}/${name}.tar.gz: bin/airlock and ${ncopied} libraries; needs glibc >= ${glibc}")
