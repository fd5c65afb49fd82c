#include "config/config.hpp"
#include "test_support.hpp"
#include "xrun/error.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <map>

using namespace xrun::config;
using xrun::ConfigError;
using xrun::test::TempDir;

namespace {

Environment fake(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    const auto it = values.find(name);
    return it == values.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "no error";
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

} // namespace

TEST_CASE("environment substitution") {
  const Location here{"c.yml", 3, 5};
  const auto env = fake({{"BS", "32"}, {"EMPTY", ""}});
  CHECK(substitute("${BS}", env, here) == "32");
  CHECK(substitute("batch-${BS}-x", env, here) == "batch-32-x");
  CHECK(substitute("${NOPE:-7}", env, here) == "7");
  CHECK(substitute("${EMPTY:-7}", env, here).empty()); // set, even if empty
  CHECK(substitute("cost $$5 and $HOME", env, here) == "cost $5 and $HOME");
  CHECK(message_of([&] { substitute("${NOPE}", env, here); }) ==
        "c.yml:3:5: environment variable NOPE is not set");
  CHECK(message_of([&] { substitute("${BS", env, here); }).find("unterminated") !=
        std::string::npos);
  CHECK(message_of([&] { substitute("${1X}", env, here); }).find("does not name") !=
        std::string::npos);
}

TEST_CASE("a chain of configs resolves to the module with later values winning") {
  TempDir dir;
  write(dir.path() / "exp.py", "X = 1\n");
  write(dir.path() / "cfg/base.yml",
        "extend: ../exp.py\nparameters:\n  A: 1\n  B: [1, 2]\n  C: word\n  D: \"3\"\n"
        "include: ../mix.py\n");
  write(dir.path() / "mix.py", "");
  write(dir.path() / "cfg/top.yml", "extend: base.yml\nparameters:\n  A: ${A_VALUE:-2.5}\n");
  const auto config = load_config(dir.path() / "cfg/top.yml", false, fake({}));
  CHECK(config.experiment == dir.path() / "exp.py");
  REQUIRE(config.files.size() == 2);
  CHECK(config.files[0].filename() == "base.yml");
  CHECK(config.name == "top");
  CHECK(config.namespace_name == "results/top");
  CHECK(config.base_path == dir.path() / "cfg");
  REQUIRE(config.includes.size() == 1);
  CHECK(config.includes[0] == dir.path() / "mix.py");
  REQUIRE(config.parameters.size() == 4);
  const auto& a = config.parameters.back();
  CHECK(a.name == "A");
  CHECK(a.value == 2.5);
  CHECK(a.text == "2.5");
  CHECK(a.where.line == 3);
  CHECK(a.where.file == (dir.path() / "cfg/top.yml").string());
  CHECK(config.parameters[0].name == "B");
  CHECK(config.parameters[0].value.dump() == "[1,2]");
  CHECK_FALSE(config.parameters[0].text.has_value());
  CHECK(config.parameters[1].text == "word");   // plain word: converted by declared type
  CHECK(config.parameters[2].value == "3");     // quoted: a string
  CHECK_FALSE(config.parameters[2].text.has_value());
  const auto yaml = config.resolved_yaml();
  CHECK(yaml.find("A: 2.5") != std::string::npos);
  CHECK(yaml.find("D: \"3\"") != std::string::npos);
}

TEST_CASE("config errors name file, line and column") {
  TempDir dir;
  write(dir.path() / "exp.py", "");
  write(dir.path() / "bad.yml", "extend: exp.py\nparameters: [1]\n");
  CHECK(message_of([&] { load_config(dir.path() / "bad.yml", false, fake({})); })
            .find("bad.yml:2:13: 'parameters' must be a mapping") != std::string::npos);
  write(dir.path() / "text.yml", "extend: exp.txt\n");
  write(dir.path() / "exp.txt", "");
  CHECK(message_of([&] { load_config(dir.path() / "text.yml", false, fake({})); })
            .find("neither an experiment module") != std::string::npos);
  write(dir.path() / "self.yml", "extend: self.yml\n");
  CHECK(message_of([&] { load_config(dir.path() / "self.yml", false, fake({})); })
            .find("extend cycle: self.yml -> self.yml") != std::string::npos);
  write(dir.path() / "list.yml", "- a\n- b\n");
  CHECK(message_of([&] { load_config(dir.path() / "list.yml", false, fake({})); })
            .find("list.yml:1:1: a config is a mapping") != std::string::npos);
}
