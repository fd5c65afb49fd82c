// `xrun archive artifact NAME[:VERSION]`: the stored file of a versioned artifact; `xrun archive
// gc`: the blobs nothing uses any more, removed.
#include "archive/sdk_content.hpp"
#include "cli/archive_commands.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

namespace xrun::cli {

namespace {

struct ArtifactArgs {
  std::string path = "results";
  std::string spec;
  bool dry_run = false;
};

} // namespace

void add_archive_artifact(CLI::App& archive, Action& action) {
  auto args = std::make_shared<ArtifactArgs>();
  auto* command = archive.add_subcommand(
      "artifact", "The path of an artifact's stored file (NAME, NAME:latest or NAME:v3)");
  add_path_option(*command, args->path);
  command->add_option("artifact", args->spec, "NAME, NAME:latest or NAME:v3")->required();
  command->callback([args, &action] {
    action = [args] {
      std::cout << archive::artifact_blob(args->path, args->spec).string() << '\n';
      return 0;
    };
  });

  auto* gc = archive.add_subcommand(
      "gc", "Remove stored blobs that no run links and no artifact version names");
  add_path_option(*gc, args->path);
  gc->add_flag("--dry-run", args->dry_run, "Only list what would be removed");
  gc->callback([args, &action] {
    action = [args] { return archive::collect_blobs(args->path, args->dry_run, std::cout); };
  });
}

} // namespace xrun::cli
