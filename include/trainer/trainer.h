#pragma once
// The whole trainer API: #include <trainer/trainer.h>.
// Without LibTorch (TRAINER_WITH_TORCH=OFF) include trainer/core/..., trainer/callbacks/... and
// trainer/integrations/... only.

#include "trainer/core/argument_parser.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/background_writer.h"
#include "trainer/core/callback.h"
#include "trainer/core/callback_handler.h"
#include "trainer/core/json.h"
#include "trainer/core/logging.h"
#include "trainer/core/lr_scheduler.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

#include "trainer/callbacks/default_flow_callback.h"
#include "trainer/callbacks/early_stopping_callback.h"
#include "trainer/callbacks/preemption_callback.h"
#include "trainer/callbacks/printer_callback.h"
#include "trainer/callbacks/progress_callback.h"

#include "trainer/integrations/codecarbon/codecarbon_callback.h"
#include "trainer/integrations/dvclive/dvclive_callback.h"
#include "trainer/integrations/log_history_file_callback.h"
#include "trainer/integrations/registry.h"
#include "trainer/integrations/report/html_report.h"
#include "trainer/integrations/report/report_callback.h"
#include "trainer/integrations/tensorboard/tensorboard_callback.h"

#include "trainer/torch/checkpoint.h"
#include "trainer/torch/checkpoint_writer.h"
#include "trainer/torch/data_loader.h"
#include "trainer/torch/datasets.h"
#include "trainer/torch/device.h"
#include "trainer/torch/fused_optimizers.h"
#include "trainer/torch/model.h"
#include "trainer/torch/models.h"
#include "trainer/torch/optimizer_state.h"
#include "trainer/torch/optimizers.h"
#include "trainer/torch/rng_state.h"
#include "trainer/torch/safetensors.h"
#include "trainer/torch/trainer.h"
