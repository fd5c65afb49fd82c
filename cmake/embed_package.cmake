# Writes a C++ header that holds every file of a Python package as
# `inline constexpr std::array<std::pair<std::string_view, std::string_view>, N> NAME`: pairs of
# (file name, text), sorted by name, so that their order (and a hash over them) does not depend
# on how the files were listed.
# Run as: cmake -DFOLDER=... -DFILES=a.py,b.py -DOUTPUT=... -DNAME=... -P embed_package.cmake
string(REPLACE "," ";" files "${FILES}")
list(SORT files)
list(LENGTH files count)
set(delimiter "xrun_embed")
set(entries "")
foreach(file IN LISTS files)
  file(READ "${FOLDER}/${file}" content)
  string(FIND "${content}" ")${delimiter}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${FOLDER}/${file} contains the raw-string delimiter )${delimiter}\"")
  endif()
  string(APPEND entries "    {\"${file}\", R\"${delimiter}(${content})${delimiter}\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from the files of ${FOLDER}; do not edit.\n#pragma once\n#include <array>\n"
  "#include <string_view>\n#include <utility>\n"
  "inline constexpr std::array<std::pair<std::string_view, std::string_view>, ${count}>\n"
  "    ${NAME} = {{\n"
  "${entries}}};\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
