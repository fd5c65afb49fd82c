#include "core/module_scan.hpp"

#include <doctest/doctest.h>

using namespace xrun::core;

namespace {

std::vector<std::string> names(const ModuleScan& scan) {
  std::vector<std::string> out;
  for (const auto& assignment : scan.assignments) {
    out.push_back(assignment.name);
  }
  return out;
}

} // namespace

TEST_CASE("top-level assignments are found with their annotations and lines") {
  const auto scan = scan_module("import os\n"
                                "LR: float = 0.01\n"
                                "LAYERS: dict[str, list[int]] = {'a': [1, 2]}\n"
                                "MODEL = 'resnet'\n"
                                "DECLARED_ONLY: int\n"
                                "if LR == 1:\n"
                                "    INDENTED = 2\n"
                                "def f():\n"
                                "    LOCAL = 3\n"
                                "LR = 0.5\n"
                                "counter += 1\n"
                                "(WALRUS := 3)\n");
  CHECK(names(scan) == std::vector<std::string>{"LR", "LAYERS", "MODEL"});
  CHECK(scan.assignments[0].annotation == "float");
  CHECK(scan.assignments[0].line == 2);
  CHECK(scan.assignments[1].annotation == "dict[str, list[int]]");
  CHECK(scan.assignments[2].annotation.empty());
  CHECK(scan.assignments[2].line == 4);
}

TEST_CASE("strings, brackets and continuations do not fool the scanner") {
  const auto scan = scan_module("\"\"\"Docstring with\n"
                                "FAKE = 1\n"
                                "inside.\"\"\"\n"
                                "TEXT = 'a = b # not a comment'\n"
                                "LIST: list[int] = [\n"
                                "    1,\n"
                                "NOT_TOP = 2]\n"
                                "LONG = 1 + \\\n"
                                "    2\n"
                                "AFTER = f\"{LONG}\"\n"
                                "ESCAPED = 'it\\'s = fine'\n"
                                "LAST = 3");
  CHECK(names(scan) == std::vector<std::string>{"TEXT", "LIST", "LONG", "AFTER", "ESCAPED", "LAST"});
  CHECK(scan.assignments[1].line == 5);
  CHECK(scan.assignments[2].line == 8);
  CHECK(scan.assignments[3].line == 10);
  CHECK(scan.assignments[5].line == 12);
}

TEST_CASE("param and hook comment blocks give descriptions") {
  const auto scan = scan_module("# :param LR:\n"
                                "#     The learning rate.\n"
                                "#     Smaller is slower.\n"
                                "LR = 0.1\n"
                                "#     not part of it\n"
                                "# :param EPOCHS: inline text\n"
                                "#   and more\n"
                                "\n"
                                "#   too far away\n"
                                "EPOCHS = 3\n"
                                "# :hook after_run:\n"
                                "#     Called at the end.\n"
                                "# :param LAST:\n"
                                "#     Ends the file");
  CHECK(scan.descriptions.at("LR") == "The learning rate. Smaller is slower.");
  CHECK(scan.descriptions.at("EPOCHS") == "inline text and more");
  CHECK(scan.descriptions.at("LAST") == "Ends the file");
  CHECK(scan.hook_descriptions.at("after_run") == "Called at the end.");
  const auto text = scan_module("X = '# :param X: not a comment'\n");
  CHECK(text.descriptions.empty());
}

TEST_CASE("upper-case names follow str.isupper") {
  CHECK(is_upper_name("LR"));
  CHECK(is_upper_name("NUM_2"));
  CHECK(is_upper_name("__DEBUG__"));
  CHECK_FALSE(is_upper_name("Lr"));
  CHECK_FALSE(is_upper_name("__"));
  CHECK_FALSE(is_upper_name("x"));
}

TEST_CASE("an assignment keeps the source of its value, strings and all") {
  const auto scan = scan_module("NAME: str = \"a = b\"  # a comment\n"
                                "SIZES: list[int] = [\n    8,\n    16,\n]\n"
                                "KIND: Literal['x', 'y'] = 'x'\n"
                                "RATE = 1e-3\n");
  REQUIRE(scan.assignments.size() == 4);
  CHECK(scan.assignments[0].value == "\"a = b\"");
  CHECK(scan.assignments[1].value == "[     8,     16, ]");
  CHECK(scan.assignments[2].annotation == "Literal['x', 'y']");
  CHECK(scan.assignments[2].value == "'x'");
  CHECK(scan.assignments[3].value == "1e-3");
}

TEST_CASE("a top-level function's parameters, with their annotations and defaults") {
  const auto scan = scan_module("import xrun\n"
                                "@xrun.function(outputs=['model'])\n"
                                "def train(data: xrun.Input, lr: float = 0.01,\n"
                                "          model: str = \"a, b\", *args,\n"
                                "          sizes: tuple[int, int] = (8, 8), seed=None,\n"
                                "          **kwargs) -> dict:\n"
                                "    def inner(x):\n"
                                "        return x\n"
                                "    return {}\n"
                                "async def fetch(*, url: Annotated[str, Meta(a=1)] = 'x', /):\n"
                                "    pass\n"
                                "class Model:\n"
                                "    def fit(self, epochs: int = 3):\n"
                                "        pass\n");
  REQUIRE(scan.functions.size() == 2);
  const auto& train = scan.functions[0];
  CHECK(train.name == "train");
  CHECK(train.line == 3);
  REQUIRE(train.parameters.size() == 5);
  CHECK(train.parameters[0].name == "data");
  CHECK(train.parameters[0].annotation == "xrun.Input");
  CHECK(train.parameters[0].default_value.empty());
  CHECK(train.parameters[1].annotation == "float");
  CHECK(train.parameters[1].default_value == "0.01");
  CHECK(train.parameters[2].default_value == "\"a, b\"");
  CHECK(train.parameters[3].annotation == "tuple[int, int]");
  CHECK(train.parameters[3].default_value == "(8, 8)");
  CHECK(train.parameters[4].name == "seed");
  CHECK(train.parameters[4].annotation.empty());
  CHECK(train.parameters[4].default_value == "None");
  const auto& fetch = scan.functions[1];
  CHECK(fetch.name == "fetch");
  REQUIRE(fetch.parameters.size() == 1);
  CHECK(fetch.parameters[0].annotation == "Annotated[str, Meta(a=1)]");
  CHECK(fetch.parameters[0].default_value == "'x'");
}
