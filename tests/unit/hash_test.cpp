#include "core/run_hash.hpp"
#include "util/sha256.hpp"

#include <doctest/doctest.h>
#include <string>

using xrun::ParameterRecord;
using xrun::core::run_hash;
using xrun::util::Sha256;
using xrun::util::sha256_hex;

TEST_CASE("SHA-256 of the standard test vectors") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 million;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) {
    million.update(chunk.substr(0, 333)).update(chunk.substr(333)); // split across blocks
  }
  CHECK(million.hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

namespace {

ParameterRecord parameter(std::string name, std::string type, const char* json) {
  ParameterRecord record;
  record.name = std::move(name);
  record.type = std::move(type);
  record.value = nlohmann::ordered_json::parse(json);
  return record;
}

} // namespace

TEST_CASE("the run hash is over typed parameter values and the code") {
  const std::vector<xrun::core::CodeFile> code{{"experiment_code.py", "LR = 0.1\n"}};
  const auto base = run_hash({parameter("LR", "float", "0.1"), parameter("N", "int", "3")}, code);
  CHECK(base.hash.size() == 64);
  // Order of declaration, special parameters and a dict's key order do not matter.
  CHECK(run_hash({parameter("N", "int", "3"), parameter("LR", "float", "0.1"),
                  parameter("__PREFIX__", "str", "\"x\"")},
                 code)
            .hash == base.hash);
  CHECK(run_hash({parameter("D", "dict", R"({"a": 1, "b": 2})")}, code).hash ==
        run_hash({parameter("D", "dict", R"({"b": 2, "a": 1})")}, code).hash);
  // A value, its type (1 against 1.0) or a line of code does.
  CHECK(run_hash({parameter("LR", "float", "0.2"), parameter("N", "int", "3")}, code).hash !=
        base.hash);
  CHECK(run_hash({parameter("LR", "float", "0.1"), parameter("N", "int", "3.0")}, code).hash !=
        base.hash);
  CHECK(run_hash({parameter("LR", "float", "0.1"), parameter("N", "int", "3")},
                 {{"experiment_code.py", "LR = 0.1\n# changed\n"}})
            .hash != base.hash);
  CHECK(base.inputs["parameters"].dump() == R"(["LR","N"])");
  CHECK(base.inputs["files"][0]["sha256"] == sha256_hex("LR = 0.1\n"));
}
