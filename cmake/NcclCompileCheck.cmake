# The NCCL half of the data-parallel code, compiled on a machine without a CUDA build of LibTorch.
#
# A CPU-only LibTorch (Debian's) cannot link or run ProcessGroupNCCL, so the `#ifdef TRAINER_WITH_NCCL`
# code in process_group.cpp would otherwise never meet a compiler until a user with GPUs builds it.
# Where LibTorch's ProcessGroupNCCL.hpp, the CUDA toolkit's headers and nccl.h are all present, the test
# `nccl_branch_compiles` compiles that file as a CUDA build would (USE_CUDA, USE_C10D_NCCL) into an
# object that is never linked: it shows the branch is written against LibTorch 1.13's real NCCL API,
# not that it runs.
#
# CPU packages of LibTorch leave out one header that PyTorch's own build generates,
# c10/cuda/impl/cuda_cmake_macros.h; its whole content for a shared-library build is written here.

function(trainer_add_nccl_compile_check)
  find_file(TRAINER_TORCH_NCCL_HEADER torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp PATHS ${TORCH_INCLUDE_DIRS} NO_DEFAULT_PATH)
  find_path(TRAINER_CUDA_INCLUDE_DIR cuda_runtime.h HINTS $ENV{CUDA_HOME}/include /usr/local/cuda/include)
  find_path(TRAINER_NCCL_CHECK_INCLUDE_DIR nccl.h HINTS $ENV{CUDA_HOME}/include /usr/local/cuda/include)
  if(NOT TRAINER_TORCH_NCCL_HEADER OR NOT TRAINER_CUDA_INCLUDE_DIR OR NOT TRAINER_NCCL_CHECK_INCLUDE_DIR)
    message(STATUS "trainer: no CUDA or NCCL headers here: the NCCL branch is not compile-checked")
    return()
  endif()
  set(shim ${CMAKE_BINARY_DIR}/nccl_compile_check/include)
  file(WRITE ${shim}/c10/cuda/impl/cuda_cmake_macros.h "#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n")
  add_library(trainer_nccl_compile_check OBJECT EXCLUDE_FROM_ALL ${PROJECT_SOURCE_DIR}/src/torch/distributed/process_group.cpp)
  target_include_directories(trainer_nccl_compile_check PRIVATE ${PROJECT_SOURCE_DIR}/include)
  target_include_directories(trainer_nccl_compile_check SYSTEM PRIVATE ${shim} ${TRAINER_CUDA_INCLUDE_DIR}
                             ${TRAINER_NCCL_CHECK_INCLUDE_DIR})
  target_link_libraries(trainer_nccl_compile_check PRIVATE trainer_core ${TORCH_LIBRARIES})
  target_compile_definitions(trainer_nccl_compile_check PRIVATE USE_DISTRIBUTED USE_C10D_GLOO USE_C10D_NCCL USE_CUDA
                             TRAINER_WITH_NCCL)
  # Errors are what this check is for; -O0 keeps it quick.
  target_compile_options(trainer_nccl_compile_check PRIVATE ${TRAINER_WARNINGS} -Werror -O0)
  add_test(NAME nccl_branch_compiles
           COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target trainer_nccl_compile_check)
  set_tests_properties(nccl_branch_compiles PROPERTIES TIMEOUT 300)
  message(STATUS "trainer: the NCCL branch is compile-checked against ${TRAINER_NCCL_CHECK_INCLUDE_DIR}/nccl.h (test nccl_branch_compiles)")
endfunction()
