#include "cli/cli.hpp"

int main(int argc, char** argv) {
  return xrun::cli::main(argc, argv);
}
