#include "config/config.hpp"
#include "test_support.hpp"
#include "xrun/error.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
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

TEST_CASE("a default may hold further variables, expanded only when it is used") {
  const Location here{"c.yml", 3, 5};
  const auto env = fake({{"BS", "32"}});
  CHECK(substitute("${NOPE:-${BS}}", env, here) == "32");
  CHECK(substitute("${NOPE:-${ALSO:-x}}-y", env, here) == "x-y");
  CHECK(substitute("${BS:-${NOPE}}", env, here) == "32"); // as a shell: the default is unused
  CHECK(substitute("${NOPE:-a$$b}", env, here) == "a$b");
  CHECK(substitute("${NOPE:-{x}}", env, here) == "{x}");
  CHECK(message_of([&] { substitute("${NOPE:-${ALSO}}", env, here); }) ==
        "c.yml:3:5: environment variable ALSO is not set");
  CHECK(message_of([&] { substitute("${NOPE:-${BS}", env, here); }).find("unterminated") !=
        std::string::npos);
  std::string deep;
  for (int i = 0; i < 200; ++i) {
    deep += "${N:-";
  }
  CHECK(message_of([&] { substitute(deep, env, here); }).find("nested more than 100") !=
        std::string::npos);
}

TEST_CASE("a number beyond a double is left to the declared type, not a crash") {
  TempDir dir;
  write(dir.path() / "exp.py", "X = 1\n");
  write(dir.path() / "c.yml", "extend: exp.py\nparameters:\n  BIG: 1e400\n  TINY: 1e-400\n");
  const auto config = load_config(dir.path() / "c.yml", false, fake({}));
  REQUIRE(config.parameters.size() == 2);
  CHECK(config.parameters[0].text == "1e400");
  CHECK(config.parameters[1].text == "1e-400");
}

TEST_CASE("an extended or included name too long for the system does not exist") {
  TempDir dir;
  write(dir.path() / "exp.py", "X = 1\n");
  const std::string long_name(300, 'x');
  write(dir.path() / "e.yml", "extend: " + long_name + ".py\n");
  CHECK(message_of([&] { load_config(dir.path() / "e.yml", false, fake({})); })
            .find("does not exist") != std::string::npos);
  write(dir.path() / "i.yml", "extend: exp.py\ninclude: " + long_name + ".py\n");
  CHECK(message_of([&] { load_config(dir.path() / "i.yml", false, fake({})); })
            .find("the mixin") != std::string::npos);
}

TEST_CASE("the resolved config records what ran") {
  TempDir dir;
  write(dir.path() / "exp.py", "X = 1\n");
  write(dir.path() / "c.yml", "extend: exp.py\nparameters:\n  LR: 0.3\n  EPOCHS: 2\n");
  const auto config = load_config(dir.path() / "c.yml", false, fake({}));
  const auto records = nlohmann::json::parse(R"([
      {"name": "LR", "value": 0.3, "source": "config"},
      {"name": "EPOCHS", "value": 5, "source": "cli"},
      {"name": "BIG", "value": 1.2e21, "exact": "1180591620717411303424", "source": "cli"},
      {"name": "X", "value": 1, "source": "default"}])");
  const auto yaml = config.resolved_yaml("/data/exp", records);
  CHECK(yaml.find("LR: 0.3\n") != std::string::npos); // not 0.29999999999999999
  CHECK(yaml.find("EPOCHS: 5") != std::string::npos); // the command line's value
  CHECK(yaml.find("BIG: 1180591620717411303424") != std::string::npos);
  CHECK(yaml.find("X:") == std::string::npos);
  CHECK(yaml.find("base_path: /data/exp") != std::string::npos);
  CHECK(yaml.find("and the command line") != std::string::npos);
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
  CHECK(config.base_path.empty()); // the experiment's own, known once it is loaded
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
  const auto error_in = [&](const std::string& text) {
    write(dir.path() / "c.yml", text);
    return message_of([&] { load_config(dir.path() / "c.yml", false, fake({})); });
  };
  CHECK(error_in("extend: exp.py\nparameters:\n  A: 1\n  A: 2\n") ==
        (dir.path() / "c.yml").string() + ":4:3: duplicate key 'A' (first at line 3)");
  CHECK(error_in("extend: exp.py\nparameters:\n  A: {b: 1, b: 2}\n")
            .find("c.yml:3:13: duplicate key 'b'") != std::string::npos);
  CHECK(error_in("extend: exp.py\nparameters:\n  A: \"x\\0y\"\n")
            .find("c.yml:3:6: a NUL character") != std::string::npos);
  CHECK(error_in("extend: exp.py\nparameters:\n  A: !foo 3\n")
            .find("c.yml:3:6: unknown YAML tag '!foo'") != std::string::npos);
  CHECK(error_in("extend: exp.py\nparameters:\n  A: !!int x\n").find("'x' is not an int") !=
        std::string::npos);
  CHECK(
      error_in("extend: exp.py\nparameters:\n  A: !!seq x\n").find("the tag !!seq does not fit") !=
      std::string::npos);
  CHECK(error_in("extend: exp.py\ndescription: caf\xe9\n")
            .find("c.yml:2:17: the config is not UTF-8") != std::string::npos);
  CHECK(
      error_in("extend: exp.py\nparameters:\n  [A]: 1\n").find("c.yml:3:3: a key must be a name") !=
      std::string::npos);
  CHECK(error_in("extend: exp.py\nparameters:\n  A: " + std::string(101, '[') +
                 std::string(101, ']') + "\n")
            .find("nested more than 100 levels deep") != std::string::npos);
  CHECK(error_in("extend: exp.py\nparameters:\n  A: " + std::string(600, '[') +
                 std::string(600, ']') + "\n")
            .find("c.yml:3:1206: malformed YAML: nested too deeply") != std::string::npos);
  // Aliases: counted at every use, refused where the value is given.
  std::string bomb = "extend: exp.py\nx:\n  a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n";
  for (const char* level : {"b", "c", "d", "e"}) {
    const char previous = static_cast<char>(level[0] - 1);
    bomb +=
        fmt::format("  {0}: &{0} [*{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}]\n",
                    level, previous);
  }
  CHECK(error_in(bomb + "parameters:\n  A: *d\n").empty() == false);
  CHECK(error_in(bomb + "parameters:\n  A: *e\n") ==
        (dir.path() / "c.yml").string() +
            ":9:3: the config's values expand to more than 100000 YAML nodes (an alias counts "
            "each time it is used)");
}

TEST_CASE("a parameter waiting for an unset variable is marked, not refused") {
  TempDir dir;
  write(dir.path() / "exp.py", "");
  write(dir.path() / "c.yml", "extend: exp.py\nparameters:\n  SEED: ${S}\n");
  const auto config = load_config(dir.path() / "c.yml", false, fake({}));
  REQUIRE(config.parameters.size() == 1);
  REQUIRE(config.parameters[0].unset.has_value());
  CHECK(config.parameters[0].unset->find("c.yml:3:9: environment variable S is not set") !=
        std::string::npos);
  CHECK(config.parameters[0].to_json().contains("unset"));
  // Elsewhere (here: the name) it is refused at once; completion reads it as empty.
  write(dir.path() / "n.yml", "extend: exp.py\nname: ${NAME}\nparameters:\n  SEED: ${S}\n");
  CHECK(message_of([&] {
          load_config(dir.path() / "n.yml", false, fake({}));
        }).find("environment variable NAME is not set") != std::string::npos);
  CHECK(load_config(dir.path() / "n.yml", false, unset_as_empty(fake({}))).experiment ==
        dir.path() / "exp.py");
}
