# Finds LibTorch inside a pip-installed torch when the user named none.
#
# scripts/install-deps.sh installs the pinned torch wheel into .venv/; the same interpreter
# (TRAINER_PYTHON) serves the tests' Python side, so golden values and interop checks compare against
# the very LibTorch the library links. A LibTorch archive from pytorch.org (or any other build) still
# wins when given through Torch_DIR or CMAKE_PREFIX_PATH.

set(_trainer_default_python python3)
if(EXISTS ${PROJECT_SOURCE_DIR}/.venv/bin/python)
  set(_trainer_default_python ${PROJECT_SOURCE_DIR}/.venv/bin/python)
endif()
set(TRAINER_PYTHON ${_trainer_default_python} CACHE FILEPATH
    "Python with torch: where LibTorch is found, and the interpreter the tests run")

# A macro, so that find_package's variables (TORCH_LIBRARIES, ...) land in the caller's scope.
macro(trainer_find_torch)
  # A LibTorch the user named (Torch_DIR, or among CMAKE_PREFIX_PATH's prefixes) comes first; the
  # prefixes may also name only other dependencies (scripts/gpu-check.sh does), and then torch's
  # own is used.
  if(Torch_DIR OR CMAKE_PREFIX_PATH OR DEFINED ENV{Torch_DIR} OR DEFINED ENV{CMAKE_PREFIX_PATH})
    find_package(Torch QUIET)
  endif()
  if(NOT Torch_FOUND)
    execute_process(COMMAND ${TRAINER_PYTHON} -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
                    OUTPUT_VARIABLE _trainer_torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE _trainer_torch_failed ERROR_QUIET)
    if(_trainer_torch_failed)
      message(FATAL_ERROR "trainer: no LibTorch found. Run scripts/install-deps.sh (it installs torch into .venv/), "
              "or point CMAKE_PREFIX_PATH at a LibTorch (for example -DCMAKE_PREFIX_PATH=/opt/libtorch), "
              "or set TRAINER_PYTHON to a Python that has torch.")
    endif()
    message(STATUS "trainer: LibTorch from the torch of ${TRAINER_PYTHON} (${_trainer_torch_prefix})")
    find_package(Torch REQUIRED PATHS ${_trainer_torch_prefix} NO_DEFAULT_PATH)
  endif()
endmacro()
