// What every `cmd_<name>.cpp` provides: a function that adds its subcommand to the app and
// sets `action` to the service call when that subcommand is chosen.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace xrun::cli {

using Action = std::function<int()>;

} // namespace xrun::cli
