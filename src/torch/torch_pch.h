// Precompiled header for the LibTorch-facing sources (see CMakeLists.txt).
#pragma once
#include <torch/torch.h>
