# Imported targets for the bundle written by scripts/pack-gpu-deps.sh (MERINO_DEPS_DIR), under
# the same names the system packages give, so the rest of the build does not know the
# difference. Used on GPU machines that have none of our Debian packages.
set(_deps ${MERINO_DEPS_DIR})
foreach(f include/yaml-cpp include/cblas.h lib/libyaml-cpp.a lib/libopenblas.tar.gz
          lib/libbenchmark.so.1debian)
  if(NOT EXISTS ${_deps}/${f})
    message(FATAL_ERROR "MERINO_DEPS_DIR=${_deps}: ${f} is missing (run scripts/pack-gpu-deps.sh)")
  endif()
endforeach()

function(merino_bundled_library name kind path)
  add_library(${name} ${kind} IMPORTED GLOBAL)
  set_target_properties(${name} PROPERTIES IMPORTED_LOCATION ${path}
                                           INTERFACE_INCLUDE_DIRECTORIES ${_deps}/include)
endfunction()

merino_bundled_library(yaml-cpp STATIC ${_deps}/lib/libyaml-cpp.a)
merino_bundled_library(PkgConfig::ZSTD STATIC ${_deps}/lib/libzstd.a)
merino_bundled_library(PkgConfig::PCRE2 STATIC ${_deps}/lib/libpcre2-8.a)
find_package(Threads REQUIRED)
# OpenBLAS travels gzipped (the device tool carries 64 MiB at most); unpacked once per build dir
set(_openblas ${CMAKE_BINARY_DIR}/bundled/libopenblas.a)
if(${_deps}/lib/libopenblas.tar.gz IS_NEWER_THAN ${_openblas})  # also true while it is missing
  file(ARCHIVE_EXTRACT INPUT ${_deps}/lib/libopenblas.tar.gz DESTINATION ${CMAKE_BINARY_DIR}/bundled)
  file(TOUCH ${_openblas})
endif()
merino_bundled_library(PkgConfig::OPENBLAS STATIC ${_openblas})
set_property(TARGET PkgConfig::OPENBLAS PROPERTY INTERFACE_LINK_LIBRARIES Threads::Threads m)
merino_bundled_library(GTest::gtest STATIC ${_deps}/lib/libgtest.a)
set_property(TARGET GTest::gtest PROPERTY INTERFACE_LINK_LIBRARIES Threads::Threads)
merino_bundled_library(GTest::gtest_main STATIC ${_deps}/lib/libgtest_main.a)
set_property(TARGET GTest::gtest_main PROPERTY INTERFACE_LINK_LIBRARIES GTest::gtest)
merino_bundled_library(benchmark::benchmark SHARED ${_deps}/lib/libbenchmark.so.1debian)
set_property(TARGET benchmark::benchmark PROPERTY IMPORTED_SONAME libbenchmark.so.1debian)
foreach(name nlohmann_json::nlohmann_json CLI11::CLI11)
  add_library(${name} INTERFACE IMPORTED GLOBAL)
  set_target_properties(${name} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${_deps}/include)
endforeach()
message(STATUS "merino: dependencies from the bundle in ${_deps}")
