# Writes OUT (airlock_build.h) with AIRLOCK_GIT_COMMIT: the commit SRC is checked out at
# ("-dirty" with uncommitted changes), or "unknown" outside a git checkout (a release
# tarball). Run at every build; the file is rewritten only when the commit changed, so
# nothing recompiles otherwise.
set(commit unknown)
find_package(Git QUIET)
if(GIT_FOUND)
  # only SRC's own checkout: a tarball unpacked inside another repository is not it
  execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SRC} rev-parse --show-toplevel
    OUTPUT_VARIABLE top RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(rc EQUAL 0)
    get_filename_component(top "${top}" REALPATH)
    get_filename_component(src "${SRC}" REALPATH)
    if(NOT top STREQUAL src)
      set(rc 1)
    endif()
  endif()
  if(rc EQUAL 0)
    execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SRC} rev-parse --short=12 HEAD
      OUTPUT_VARIABLE rev RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  endif()
  if(rc EQUAL 0 AND rev MATCHES "^[0-9a-f]+$")
    set(commit ${rev})
    execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SRC} diff-index --quiet HEAD --
      RESULT_VARIABLE dirty ERROR_QUIET)
    if(NOT dirty EQUAL 0)
      set(commit "${commit}-dirty")
    endif()
  endif()
endif()
set(text "/* written by cmake/gitcommit.cmake */\n#define AIRLOCK_GIT_COMMIT \"${commit}\"\n")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE ${OUT} "${text}")
endif()
