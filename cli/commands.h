// Each subcommand registers its options on the CLI11 app and returns the action to run.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>

namespace merino::cli {

using Action = std::function<int()>;

Action add_info_command(CLI::App& app);
Action add_prepare_command(CLI::App& app);
Action add_train_command(CLI::App& app);
Action add_search_command(CLI::App& app);
Action add_eval_command(CLI::App& app);

}  // namespace merino::cli
