#include "archive/query.hpp"
#include "xrun/error.hpp"

#include <doctest/doctest.h>
#include <string>

using xrun::UsageError;
using xrun::archive::Query;
using Json = nlohmann::json;

namespace {

const Json k_run = {
    {"LR", 0.01},
    {"MODEL", "resnet"},
    {"EPOCHS", 10},
    {"USE_GPU", true},
    {"status", "done"},
    {"name", "lr_sweep"},
    {"data.metrics.acc", 0.93},
    {"SEED", nullptr},
    {"HIDDEN", {64, 128, 16}},
    {"tags", {"baseline", "gpu"}},
    {"EMPTY", Json::array()},
};

bool match(std::string_view expression) {
  return Query::parse(expression).matches([](std::string_view name) {
    const auto it = k_run.find(std::string(name));
    return it == k_run.end() ? Json(nullptr) : *it;
  });
}

std::string error_of(std::string_view expression) {
  try {
    Query::parse(expression);
  } catch (const UsageError& error) {
    return std::string(error.what()) + "\n" + error.hint();
  }
  return "no error";
}

} // namespace

TEST_CASE("comparisons on parameters, data and meta") {
  CHECK(match("LR >= 0.01 and status == \"done\" and data.metrics.acc > 0.9"));
  CHECK_FALSE(match("LR > 0.01"));
  CHECK(match("EPOCHS == 10.0"));
  CHECK(match("EPOCHS != 11"));
  CHECK(match("MODEL < 'vit'"));
  CHECK(match("USE_GPU"));
  CHECK(match("USE_GPU == true"));
  CHECK(match("LR < 1e-1"));
  CHECK(match("LR > -1"));
  CHECK(match("-0.5 < LR"));
}

TEST_CASE("and, or, not and parentheses") {
  CHECK(match("MODEL == 'vit' or EPOCHS == 10"));
  CHECK_FALSE(match("MODEL == 'vit' and EPOCHS == 10"));
  CHECK(match("not MODEL == 'vit'"));
  CHECK(match("not (MODEL == 'vit' or LR > 1) and status == 'done'"));
  CHECK_FALSE(match("not (MODEL == 'resnet')"));
}

TEST_CASE("glob matching and lists") {
  CHECK(match("name ~ 'lr_*'"));
  CHECK(match("name !~ 'bs_*'"));
  CHECK_FALSE(match("name ~ 'LR_*'"));
  CHECK(match("MODEL in ['resnet', 'vit']"));
  CHECK(match("EPOCHS in [5, 10.0]"));
  CHECK(match("MODEL not in ['vit']"));
  CHECK_FALSE(match("MODEL in []"));
}

TEST_CASE("a glob on a list matches its elements, on a number its text") {
  CHECK(match("HIDDEN ~ '*16*'"));
  CHECK(match("HIDDEN ~ '12?'"));
  CHECK_FALSE(match("HIDDEN ~ '32'"));
  CHECK(match("HIDDEN !~ '32'"));
  CHECK_FALSE(match("HIDDEN !~ '64'"));
  CHECK(match("tags ~ 'baseline'"));
  CHECK(match("tags ~ 'base*'"));
  CHECK_FALSE(match("tags ~ 'cpu'"));
  CHECK(match("tags !~ 'cpu'"));
  CHECK_FALSE(match("EMPTY ~ '*'"));
  CHECK(match("EMPTY !~ '*'"));
  CHECK(match("EPOCHS ~ '1*'"));
  CHECK(match("LR ~ '0.01'"));
  CHECK_FALSE(match("MISSING ~ '*'"));
  CHECK_FALSE(match("MISSING !~ '*'"));
}

TEST_CASE("missing values and null") {
  CHECK_FALSE(match("MISSING > 1"));
  CHECK_FALSE(match("MISSING < 1"));
  CHECK_FALSE(match("MISSING == 1"));
  CHECK(match("MISSING != 1"));
  CHECK(match("MISSING == null"));
  CHECK(match("SEED == null"));
  CHECK_FALSE(match("MISSING"));
  CHECK_FALSE(match("MODEL > 3")); // different kinds do not order
}

TEST_CASE("syntax errors point at the column") {
  CHECK(error_of("LR >= 0.01 and )") ==
        "--where: column 16: expected a value, found ')'\nin\n    LR >= 0.01 and )\n"
        "                   ^");
  CHECK(error_of("LR = 1").find("column 4: use '==' to compare") != std::string::npos);
  CHECK(error_of("name == 'abc").find("column 9: unterminated string") != std::string::npos);
  CHECK(error_of("(LR > 1").find("column 8: expected ')', found 'end of the expression'") !=
        std::string::npos);
  CHECK(error_of("LR > 1 LR").find("column 8: unexpected 'LR'") != std::string::npos);
  CHECK(error_of("MODEL in 'x'").find("column 10: expected a list") != std::string::npos);
  CHECK(error_of("LR > 1.2.3").find("column 6: '1.2.3' is not a number") != std::string::npos);
  CHECK(error_of("").find("column 1: expected a value") != std::string::npos);
  CHECK(error_of("LR @ 2").find("column 4: unexpected '@'") != std::string::npos);
}

TEST_CASE("nesting is bounded, not by the stack") {
  const auto repeat = [](std::string_view part, int times) {
    std::string text;
    for (int i = 0; i < times; ++i) {
      text += part;
    }
    return text;
  };
  CHECK(match(repeat("(", 150) + "LR == 0.01" + repeat(")", 150)));
  CHECK(match(repeat("not not ", 50) + "LR == 0.01"));
  CHECK(match("LR == 0.01" + repeat(" and LR == 0.01", 150)));
  CHECK(error_of(repeat("(", 30000)).find("column 201: nested more than 200 levels deep") !=
        std::string::npos);
  CHECK(error_of("LR in " + repeat("[", 60000)).find("nested more than 200 levels") !=
        std::string::npos);
  CHECK(error_of(repeat("not ", 300) + "LR").find("column 801: nested more than 200") !=
        std::string::npos);
  CHECK(error_of("LR > 0" + repeat(" or LR > 0", 300)).find("nested more than 200") !=
        std::string::npos);
}

TEST_CASE("a status compared with a bare word is refused, pointing at the word") {
  CHECK(error_of("status == done").find("column 11: a status is a string: write status == "
                                        "\"done\"") != std::string::npos);
  CHECK(match("status == 'done'"));
}
