#include "util/strings.hpp"

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
