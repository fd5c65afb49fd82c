// The command line of xrun.
#pragma once

namespace xrun::cli {

/// Parses argv, runs the chosen subcommand and returns the process exit code. All errors are
/// reported here as `xrun: error: ...` on stderr; nothing below this throws past it.
int main(int argc, char** argv);

} // namespace xrun::cli
