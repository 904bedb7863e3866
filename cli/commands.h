// Each subcommand registers its options on the CLI11 app and returns the action to run.
#pragma once
#include <CLI/CLI.hpp>

#include <exception>
#include <functional>
#include <string>

namespace merino::cli {

using Action = std::function<int()>;

Action add_info_command(CLI::App& app);
Action add_prepare_command(CLI::App& app);
Action add_train_command(CLI::App& app);
Action add_search_command(CLI::App& app);
Action add_eval_command(CLI::App& app);
Action add_fetch_command(CLI::App& app);
Action add_export_command(CLI::App& app);
Action add_import_command(CLI::App& app);
Action add_generate_command(CLI::App& app);

// Prints "merino: error: <prefix><message>" on stderr and returns the exit code for the
// exception: 2 for bad input (config or data), 1 for anything else.
int report_error(const std::exception& e, const std::string& prefix = "");

}  // namespace merino::cli
