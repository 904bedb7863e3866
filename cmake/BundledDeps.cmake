# Imported targets for the bundle written by scripts/pack-gpu-deps.sh (MERINO_DEPS_DIR), under
# the same names the system packages give, so the rest of the build does not know the
# difference. Used on GPU machines that have none of our Debian packages.
set(_deps ${MERINO_DEPS_DIR})
foreach(f include/yaml-cpp lib/libyaml-cpp.a lib/libblas.a lib/libbenchmark.so.1debian)
  if(NOT EXISTS ${_deps}/${f})
    message(FATAL_ERROR "MERINO_DEPS_DIR=${_deps}: ${f} is missing (run scripts/pack-gpu-deps.sh)")
  endif()
endforeach()

function(merino_bundled_library name kind file)
  add_library(${name} ${kind} IMPORTED GLOBAL)
  set_target_properties(${name} PROPERTIES IMPORTED_LOCATION ${_deps}/lib/${file}
                                           INTERFACE_INCLUDE_DIRECTORIES ${_deps}/include)
endfunction()

merino_bundled_library(yaml-cpp STATIC libyaml-cpp.a)
merino_bundled_library(PkgConfig::ZSTD STATIC libzstd.a)
merino_bundled_library(PkgConfig::PCRE2 STATIC libpcre2-8.a)
# the reference BLAS: cblas.h is netlib's, and there is no openblas_set_num_threads
merino_bundled_library(PkgConfig::OPENBLAS STATIC libblas.a)
set_property(TARGET PkgConfig::OPENBLAS PROPERTY INTERFACE_COMPILE_DEFINITIONS MERINO_NETLIB_BLAS)
find_package(Threads REQUIRED)
merino_bundled_library(GTest::gtest STATIC libgtest.a)
set_property(TARGET GTest::gtest PROPERTY INTERFACE_LINK_LIBRARIES Threads::Threads)
merino_bundled_library(GTest::gtest_main STATIC libgtest_main.a)
set_property(TARGET GTest::gtest_main PROPERTY INTERFACE_LINK_LIBRARIES GTest::gtest)
merino_bundled_library(benchmark::benchmark SHARED libbenchmark.so.1debian)
set_property(TARGET benchmark::benchmark PROPERTY IMPORTED_SONAME libbenchmark.so.1debian)
foreach(name nlohmann_json::nlohmann_json CLI11::CLI11)
  add_library(${name} INTERFACE IMPORTED GLOBAL)
  set_target_properties(${name} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${_deps}/include)
endforeach()
message(STATUS "merino: dependencies from the bundle in ${_deps}")
