// `merino fetch NAME... [--mirror URL_PREFIX] [--data-dir DIR]`, `merino fetch --list`: the data
// files that are not committed (WikiText-2, the NeoX and LLaMA-2 tokenizers, the zero-shot
// tasks), downloaded and verified (data/fetch.h) into the fetch cache (docs/DATA.md).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "base/errors.h"
#include "cli/commands.h"
#include "data/data_paths.h"
#include "data/fetch.h"

namespace merino::cli {
namespace {

struct FetchCommand {
  std::vector<std::string> names;
  FetchOptions options;
  bool list = false;
};

void print_list() {
  for (const FetchDataset& d : fetch_manifest())
    std::printf("%-15s %-10s %s\n", d.name.c_str(), d.group.c_str(), d.about.c_str());
}

int run_fetch(FetchCommand c) {
  if (c.list) {
    print_list();
    return 0;
  }
  if (c.names.empty()) throw DataError("merino fetch: name what to fetch (`merino fetch --list` shows the names)");
  const std::vector<FetchDataset> sets = select_datasets(c.names);
  if (c.options.dest.empty()) c.options.dest = fetch_cache_dir();
  fetch_datasets(sets, c.options, [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  });
  std::printf("data root: %s\n", c.options.dest.c_str());
  return 0;
}

}  // namespace

Action add_fetch_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("fetch", "Download and verify the data files that are not committed (docs/DATA.md)");
  auto c = std::make_shared<FetchCommand>();
  cmd->add_option("names", c->names, "What to fetch: wikitext2, neox, llama2, a zero-shot task, or zero-shot (all of them)");
  cmd->add_flag("--list", c->list, "List what can be fetched");
  cmd->add_option("--mirror", c->options.mirror,
                  "URL prefix (https://, file://) holding the files at their data-root paths, used instead of the "
                  "release URLs");
  cmd->add_option("--data-dir", c->options.dest, "Write here instead of the fetch cache ($MERINO_DATA, else ~/.cache/merino)");
  return [c] { return run_fetch(*c); };
}

}  // namespace merino::cli
