#include "util/strings.hpp"

#include <limits>

#include <doctest/doctest.h>
#include <string>
#include <vector>

using xrun::util::closest_match;
using xrun::util::edit_distance;

TEST_CASE("edit distance counts insertions, deletions, substitutions and swaps") {
  CHECK(edit_distance("run", "run") == 0);
  CHECK(edit_distance("rnu", "run") == 1);
  CHECK(edit_distance("ru", "run") == 1);
  CHECK(edit_distance("runn", "run") == 1);
  CHECK(edit_distance("ran", "run") == 1);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("archive", "template") > 3);
}

TEST_CASE("closest match suggests only likely typos") {
  const std::vector<std::string> names{"run", "archive", "template"};
  CHECK(closest_match("rnu", names) == "run");
  CHECK(closest_match("archiv", names) == "archive");
  CHECK(closest_match("tempalte", names) == "template");
  CHECK_FALSE(closest_match("deploy", names).has_value());
  CHECK_FALSE(closest_match("x", std::vector<std::string>{}).has_value());
  // A name cut short is a likely slip too; two letters are too few to tell.
  CHECK(closest_match("temp", names) == "template");
  CHECK_FALSE(closest_match("te", names).has_value());
  // A difference of case only is the likeliest slip, however long the name.
  const std::vector<std::string> parameters{"LEARNING_RATE", "LR", "BATCH_SIZE"};
  CHECK(closest_match("lr", parameters) == "LR");
  CHECK(closest_match("learning_rate", parameters) == "LEARNING_RATE");
}

TEST_CASE("splitting leaves what is inside square brackets whole") {
  using xrun::util::split_outside_brackets;
  CHECK(split_outside_brackets("a.b/c", "./") == std::vector<std::string>{"a", "b", "c"});
  CHECK(split_outside_brackets("int|list[int|str]", "|") ==
        std::vector<std::string>{"int", "list[int|str]"});
  CHECK(split_outside_brackets("", ",") == std::vector<std::string>{""});
  CHECK(split_outside_brackets("a,,b", ",") == std::vector<std::string>{"a", "", "b"});
}

TEST_CASE("well-formed UTF-8 is told from bytes that are not") {
  using xrun::util::valid_utf8;
  CHECK(valid_utf8(""));
  CHECK(valid_utf8("results/ex p\xc3\xa9/r\xc3\xbc.txt"));
  CHECK(valid_utf8("\xe2\x82\xac \xf0\x9f\x98\x80 \xed\x9f\xbf \xf4\x8f\xbf\xbf"));
  CHECK_FALSE(valid_utf8("raw\xff\xfe"));
  CHECK_FALSE(valid_utf8("\xc3"));                 // cut short
  CHECK_FALSE(valid_utf8("\xc0\xaf"));             // overlong '/'
  CHECK_FALSE(valid_utf8("\xe0\x80\xaf"));         // overlong, three bytes
  CHECK_FALSE(valid_utf8("\xed\xa0\x80"));         // a surrogate
  CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));     // past U+10FFFF
  CHECK_FALSE(valid_utf8("\xe2\x82"));             // cut short
  CHECK_FALSE(valid_utf8("a\x80z"));               // a lone continuation byte
}

TEST_CASE("bytes that are not UTF-8 are found and shown as escapes") {
  using xrun::util::escape_non_utf8;
  using xrun::util::invalid_utf8_at;
  CHECK_FALSE(invalid_utf8_at("caf\xc3\xa9").has_value());
  CHECK(invalid_utf8_at("caf\xe9!") == 3u);
  CHECK(escape_non_utf8("m\xff.py") == "m\\xff.py");
  CHECK(escape_non_utf8("caf\xc3\xa9") == "caf\xc3\xa9");
}

TEST_CASE("bytes that are not UTF-8 are replaced, one U+FFFD each") {
  using xrun::util::replace_invalid_utf8;
  CHECK(replace_invalid_utf8("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(replace_invalid_utf8("a\xff\xfe") == "a\xef\xbf\xbd\xef\xbf\xbd");
  CHECK(replace_invalid_utf8("\xc0\xaf!") == "\xef\xbf\xbd\xef\xbf\xbd!");       // overlong
  CHECK(replace_invalid_utf8("end \xe2\x82") == "end \xef\xbf\xbd\xef\xbf\xbd"); // cut short
  CHECK(replace_invalid_utf8("").empty());
}

TEST_CASE("a value echoed in a message is cut at a character, with its length") {
  using xrun::util::shorten;
  CHECK(shorten("short") == "short");
  CHECK(shorten(std::string(200, 'x')) == std::string(200, 'x'));
  CHECK(shorten(std::string(201, 'x')) == std::string(200, 'x') + "… (201 characters)");
  // Two-byte characters: never cut in the middle of one.
  std::string accents;
  for (int i = 0; i < 5; ++i) {
    accents += "\xc3\xa9";
  }
  CHECK(shorten(accents, 3) == "\xc3\xa9\xc3\xa9\xc3\xa9… (5 characters)");
}

TEST_CASE("floats are written as Python's repr writes them") {
  using xrun::util::float_repr;
  CHECK(float_repr(0.3) == "0.3");
  CHECK(float_repr(0.1 + 0.2) == "0.30000000000000004");
  CHECK(float_repr(1.0) == "1.0");
  CHECK(float_repr(1e16) == "1e+16");
  CHECK(float_repr(1e-5) == "1e-05");
  CHECK(float_repr(-0.0) == "-0.0");
  CHECK(float_repr(std::numeric_limits<double>::infinity()) == "inf");
  CHECK(float_repr(std::numeric_limits<double>::quiet_NaN()) == "nan");
}
