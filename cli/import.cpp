// `merino import HF_DIR --out CHECKPOINT_DIR`
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "interop/import_dir.h"
#include "model/param_layout.h"

namespace merino::cli {

Action add_import_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("import", "Turn a Hugging Face GPT-2, OPT or Llama directory into a merino checkpoint");
  auto hf_dir = std::make_shared<std::string>(), out = std::make_shared<std::string>();
  cmd->add_option("hf_dir", *hf_dir, "Directory with config.json and model.safetensors")->required();
  cmd->add_option("--out", *out, "Checkpoint directory to create")->required();
  return [hf_dir, out] {
    const interop::ImportedModel m = interop::read_hf_directory(*hf_dir);
    interop::write_imported_checkpoint(m, *out);
    std::printf("imported %s (%s parameters) to %s%s\n", hf_dir->c_str(),
                std::to_string(build_param_layout(m.config).total).c_str(), out->c_str(),
                m.tokenizer_files.empty() ? "" : (" (tokenizer: --tokenizer " + *out + ")").c_str());
    return 0;
  };
}

}  // namespace merino::cli
