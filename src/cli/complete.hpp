// Shell completion: the candidates for the word being typed, worked out from the command
// line's own definition, the experiment module's text and the archive's index (never Python).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace xrun::cli {

/// `xrun __complete WORD... CURRENT`: the words after `xrun`, the last one being completed
/// (possibly empty). Prints one candidate a line as `WORD<TAB>DESCRIPTION` (the description
/// may be absent), only those starting with CURRENT; or one directive line for the shell to
/// complete paths itself: `:files EXT...` (files with these extensions, and folders; any file
/// without one) or `:dirs`. Never fails: what cannot be worked out completes nothing.
int complete(CLI::App& app, const std::vector<std::string>& words, std::ostream& out);

} // namespace xrun::cli
