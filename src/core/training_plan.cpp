#include "trainer/core/training_plan.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace trainer {

TrainingPlan plan_training(const TrainingArguments& args, int64_t num_examples, int64_t batches_per_epoch,
                           int64_t world_size) {
  if (batches_per_epoch == 0)
    throw ArgumentError("the training dataset (" + std::to_string(num_examples) +
                        " examples) yields no batch of --per_device_train_batch_size " +
                        std::to_string(args.train_batch_size()) + " with --dataloader_drop_last");
  TrainingPlan plan;
  const int64_t ga = args.gradient_accumulation_steps;
  plan.batches_per_epoch = batches_per_epoch;
  plan.updates_per_epoch = std::max<int64_t>((batches_per_epoch + ga - 1) / ga, 1);
  if (args.max_steps > 0) {
    plan.max_steps = args.max_steps;
    plan.num_train_epochs = (plan.max_steps + plan.updates_per_epoch - 1) / plan.updates_per_epoch;
    plan.num_train_samples = plan.max_steps * args.train_batch_size() * ga * world_size;  // total_train_batch_size
  } else {
    plan.max_steps =
        static_cast<int64_t>(std::ceil(args.num_train_epochs * static_cast<double>(plan.updates_per_epoch)));
    plan.num_train_epochs = static_cast<int64_t>(std::ceil(args.num_train_epochs));
    plan.num_train_samples = static_cast<int64_t>(static_cast<double>(num_examples) * args.num_train_epochs);
  }
  return plan;
}

ResumePosition resume_position(const TrainingArguments& args, const TrainingPlan& plan, int64_t global_step) {
  ResumePosition p;
  p.epoch = global_step / plan.updates_per_epoch;
  if (!args.ignore_data_skip)
    p.micro_batches_to_skip = (global_step % plan.updates_per_epoch) * args.gradient_accumulation_steps;
  return p;
}

}  // namespace trainer
