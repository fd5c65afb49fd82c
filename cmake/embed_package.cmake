# Writes a C++ header that holds every file of a folder (the Python package, the viewer's page) as
# `inline constexpr std::array<std::pair<std::string_view, std::string_view>, N> NAME`: pairs of
# (file name, text), sorted by name, so that their order (and a hash over them) does not depend
# on how the files were listed), and `NAME_hash`: 16 hex digits of a SHA-256 over every file's
# name and SHA-256, in that order (the package's export folder, the page's asset URLs: any change
# to any file gives a new name, at no cost when xrun starts).
# Run as: cmake -DFOLDER=... -DFILES=a.py,b.py -DOUTPUT=... -DNAME=... -P embed_package.cmake
string(REPLACE "," ";" files "${FILES}")
list(SORT files)
list(LENGTH files count)
set(delimiter "xrun_embed")
set(entries "")
set(hashed "")
foreach(file IN LISTS files)
  file(READ "${FOLDER}/${file}" content)
  file(SHA256 "${FOLDER}/${file}" file_hash)
  string(APPEND hashed "${file}:${file_hash};")
  string(FIND "${content}" ")${delimiter}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${FOLDER}/${file} contains the raw-string delimiter )${delimiter}\"")
  endif()
  string(APPEND entries "    {\"${file}\", R\"${delimiter}(${content})${delimiter}\"},\n")
endforeach()
string(SHA256 package_hash "${hashed}")
string(SUBSTRING "${package_hash}" 0 16 package_hash)
file(WRITE "${OUTPUT}.tmp"
  "// Generated from the files of ${FOLDER}; do not edit.\n#pragma once\n#include <array>\n"
  "#include <string_view>\n#include <utility>\n"
  "inline constexpr std::array<std::pair<std::string_view, std::string_view>, ${count}>\n"
  "    ${NAME} = {{\n"
  "${entries}}};\n"
  "inline constexpr std::string_view ${NAME}_hash = \"${package_hash}\";\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
