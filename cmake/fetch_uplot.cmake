# The viewer's chart library, uPlot, pinned by web/package-lock.json: `npm ci` in the build
# folder (the source tree stays clean), run again only when the lock file changed. Sets
# XRUN_UPLOT_FILES to the two files the binary embeds (the minified script and its styles).
# -DXRUN_UPLOT_DIR=<folder holding uPlot.iife.min.js and uPlot.min.css> takes them from
# there instead (a machine without npm, or without the registry).
set(XRUN_UPLOT_DIR "" CACHE PATH
  "A folder holding uPlot.iife.min.js and uPlot.min.css; empty: fetch uPlot with npm ci")
set(xrun_web_build "${PROJECT_BINARY_DIR}/web")
set(xrun_uplot_names uPlot.iife.min.js uPlot.min.css)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  "${PROJECT_SOURCE_DIR}/web/package.json" "${PROJECT_SOURCE_DIR}/web/package-lock.json")

if(XRUN_UPLOT_DIR)
  set(xrun_uplot_folder "${XRUN_UPLOT_DIR}")
else()
  find_program(XRUN_NPM npm)
  if(NOT XRUN_NPM)
    message(FATAL_ERROR
      "npm was not found. The viewer (xrun ui) embeds the chart library uPlot, which the build "
      "fetches with npm from the version pinned in web/package-lock.json. Install Node.js with "
      "npm (https://nodejs.org, or Debian's nodejs and npm packages), or configure with "
      "-DXRUN_UPLOT_DIR=<folder holding uPlot.iife.min.js and uPlot.min.css>.")
  endif()
  file(MAKE_DIRECTORY "${xrun_web_build}")
  file(COPY_FILE "${PROJECT_SOURCE_DIR}/web/package.json" "${xrun_web_build}/package.json"
       ONLY_IF_DIFFERENT)
  file(COPY_FILE "${PROJECT_SOURCE_DIR}/web/package-lock.json"
       "${xrun_web_build}/package-lock.json" ONLY_IF_DIFFERENT)
  # The lock that node_modules was installed from, kept beside it: equal means up to date.
  set(stamp "${xrun_web_build}/node_modules/.xrun-installed-lock.json")
  set(installed "")
  set(wanted "")
  if(EXISTS "${stamp}")
    file(SHA256 "${stamp}" installed)
  endif()
  file(SHA256 "${xrun_web_build}/package-lock.json" wanted)
  if(NOT installed STREQUAL wanted)
    message(STATUS "Fetching uPlot: npm ci in ${xrun_web_build}")
    execute_process(
      COMMAND "${XRUN_NPM}" ci --ignore-scripts --no-audit --no-fund
      WORKING_DIRECTORY "${xrun_web_build}"
      RESULT_VARIABLE npm_result
      OUTPUT_VARIABLE npm_output
      ERROR_VARIABLE npm_output)
    if(NOT npm_result EQUAL 0)
      message(FATAL_ERROR
        "npm ci failed in ${xrun_web_build} (fetching uPlot, pinned by web/package-lock.json): "
        "${npm_result}\n${npm_output}\n"
        "Check that the npm registry can be reached (npm config get registry), or configure "
        "with -DXRUN_UPLOT_DIR=<folder holding uPlot.iife.min.js and uPlot.min.css>.")
    endif()
    file(COPY_FILE "${xrun_web_build}/package-lock.json" "${stamp}")
  endif()
  set(xrun_uplot_folder "${xrun_web_build}/node_modules/uplot/dist")
endif()

set(XRUN_UPLOT_FILES)
foreach(name IN LISTS xrun_uplot_names)
  if(NOT EXISTS "${xrun_uplot_folder}/${name}")
    message(FATAL_ERROR "${xrun_uplot_folder} has no ${name} (uPlot's dist folder holds it)")
  endif()
  list(APPEND XRUN_UPLOT_FILES "${xrun_uplot_folder}/${name}")
endforeach()
