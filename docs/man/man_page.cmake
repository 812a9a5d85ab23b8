# Writes one manual page: runs BIN with ARG (the binary prints the page in
# groff from its own tables), keeps the output in OUT, and OUT.gz next to it
# (gzip -9n: no name or time in the header, so the build is reproducible).
# cmake -DBIN=... -DARG=--help_man -DOUT=.../ringbus.8 -DGZIP=... -P man_page.cmake
execute_process(COMMAND ${BIN} ${ARG} OUTPUT_FILE ${OUT}.tmp RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE ${OUT}.tmp)
  message(FATAL_ERROR "${BIN} ${ARG} failed: ${rc}")
endif()
file(RENAME ${OUT}.tmp ${OUT})
execute_process(COMMAND ${GZIP} -9n -c ${OUT} OUTPUT_FILE ${OUT}.gz RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE ${OUT}.gz)
  message(FATAL_ERROR "${GZIP} ${OUT} failed: ${rc}")
endif()
