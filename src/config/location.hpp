// Where something stands in a config file, as every error about a config names it.
#pragma once

#include <string>

namespace xrun::config {

/// Where something stands in a config file (1-based line and column).
struct Location {
  std::string file;
  int line = 0;
  int column = 0;

  std::string str() const; // "file:line:column"
};

} // namespace xrun::config
