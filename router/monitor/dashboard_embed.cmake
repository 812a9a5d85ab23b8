# Writes a C source holding the dashboard's files (router/monitor/dashboard/)
# as byte arrays, for router/monitor/monitor_dashboard.c; run at build time:
#   cmake -DDIR=<folder> -DOUT=<file.c> -DFILES=<a;b;...> -P dashboard_embed.cmake
# Each array ends with a 0 byte that its length leaves out, so a text file can
# be used as a C string; a file holding a 0 byte is refused.
cmake_minimum_required(VERSION 3.25)

set(src "/* Generated from router/monitor/dashboard/ by router/monitor/dashboard_embed.cmake:\n * do not edit. */\n#include \"router/monitor/monitor_dashboard.h\"\n\n")
set(table "const struct monitor_dashboard_file monitor_dashboard_files[] = {\n")
set(i 0)
foreach(name IN LISTS FILES)
  file(READ "${DIR}/${name}" hex HEX)
  string(LENGTH "${hex}" n)
  math(EXPR n "${n} / 2")
  # 0x.., per byte; a line break every 24 bytes
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(FIND "${hex}" "0x00," zero)
  if(NOT zero EQUAL -1)
    message(FATAL_ERROR "dashboard_embed: ${name} holds a 0 byte")
  endif()
  string(REPEAT "0x..," 24 line)
  string(REGEX REPLACE "(${line})" "\\1\n" hex "${hex}")
  string(APPEND src "static const unsigned char monitor_dashboard_f${i}[] = {\n${hex}0x00};\n\n")
  string(APPEND table "    {\"${name}\", monitor_dashboard_f${i}, ${n}},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND table "};\nconst size_t monitor_dashboard_nfiles = ${i};\n")
file(WRITE "${OUT}.tmp" "${src}${table}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
