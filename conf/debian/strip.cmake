# CPACK_PRE_BUILD_SCRIPTS: strip the staged binaries as dh_strip does
# (--remove-section=.comment --remove-section=.note --strip-unneeded;
# CPACK_STRIP_FILES would leave .comment, which lintian reports).
file(GLOB_RECURSE staged LIST_DIRECTORIES false "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*")
foreach(f ${staged})
  if(IS_SYMLINK "${f}")
    continue()
  endif()
  file(READ "${f}" magic LIMIT 4 HEX)
  if(magic STREQUAL "7f454c46")   # ELF
    execute_process(COMMAND strip --remove-section=.comment --remove-section=.note --strip-unneeded "${f}"
                    RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "strip ${f} failed")
    endif()
    message(STATUS "tierd: stripped ${f}")
  endif()
endforeach()
