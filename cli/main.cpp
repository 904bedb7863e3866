// The single `merino` binary. Exit codes: 0 success, 1 the environment failed (disk full,
// permission, out of memory) or a runtime failure, 2 bad input (command line, config file, data
// file, checkpoint, a run.dir in use), each reported as one line on stderr.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <new>

#include "base/errors.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"merino: pretrain, search and evaluate small transformer language models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "merino 0.1.0");
  // one line, like every other error (CLI11's default adds a second "Run with --help" line)
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "merino: error: " + std::string(e.what()) + " (see merino --help)\n";
  });
  std::map<CLI::App*, merino::cli::Action> actions;
  auto add = [&](merino::cli::Action (*make)(CLI::App&)) {
    const size_t before = app.get_subcommands({}).size();
    merino::cli::Action action = make(app);
    actions[app.get_subcommands({})[before]] = std::move(action);
  };
  add(merino::cli::add_info_command);
  add(merino::cli::add_prepare_command);
  add(merino::cli::add_train_command);
  add(merino::cli::add_search_command);
  add(merino::cli::add_eval_command);
  add(merino::cli::add_fetch_command);
  add(merino::cli::add_export_command);
  add(merino::cli::add_import_command);
  add(merino::cli::add_generate_command);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help and --version are not errors
  }
  try {
    for (auto& [sub, action] : actions)
      if (sub->parsed()) return action();
  } catch (const std::exception& e) {
    return merino::cli::report_error(e);
  }
  return 0;
}

// The one place an exception becomes a message and an exit code (docs/CLI.md, "Exit codes"):
// 2 for input the user can fix (ConfigError, DataError, a busy run.dir), 1 for the environment
// (EnvironmentError, a file system refusal, memory exhausted) and anything unexpected.
int merino::cli::report_error(const std::exception& e, const std::string& prefix) {
  std::string message = e.what();
  if (const auto* fs_error = dynamic_cast<const std::filesystem::filesystem_error*>(&e)) {
    // "filesystem error: cannot create directories: Read-only file system [runs/x]" -> path first
    message = fs_error->path1().string() + ": " + fs_error->code().message();
  } else if (dynamic_cast<const std::bad_alloc*>(&e)) {
    message = "cannot allocate memory (an allocation outside the run's memory plan failed; "
              "reduce the batch or the model, or raise the memory limit)";
  }
  std::fprintf(stderr, "merino: error: %s%s\n", prefix.c_str(), message.c_str());
  const bool bad_input = dynamic_cast<const ConfigError*>(&e) || dynamic_cast<const DataError*>(&e);
  return bad_input ? 2 : 1;
}
