#include "core/diagnostics.hpp"
#include "core/run_labels.hpp"

#include <doctest/doctest.h>
#include <string>
#include <vector>

using xrun::core::paint_message_prefixes;

TEST_CASE("message prefixes are colored only where they start a line") {
  bool at_start = true;
  CHECK(paint_message_prefixes("xrun: error: bad\nok xrun: error: no\n", at_start) ==
        "\033[1;31mxrun: error:\033[0m bad\nok xrun: error: no\n");
  CHECK(at_start);
  // A chunk ending mid-line: the next chunk continues that line.
  CHECK(paint_message_prefixes("partial ", at_start) == "partial ");
  CHECK_FALSE(at_start);
  CHECK(paint_message_prefixes("xrun: warning: x\nxrun: warning: y", at_start) ==
        "xrun: warning: x\n\033[1;33mxrun: warning:\033[0m y");
  CHECK_FALSE(at_start);
  CHECK(paint_message_prefixes("", at_start).empty());
}

TEST_CASE("statuses keep their width outside the color") {
  CHECK(xrun::core::paint_status("done", false, 6) == "done  ");
  CHECK(xrun::core::paint_status("done", true, 6) == "\033[32mdone\033[0m  ");
  CHECK(xrun::core::paint_status("interrupted", true, 4) == "\033[33minterrupted\033[0m");
}

TEST_CASE("what a tag and a note may be") {
  using xrun::core::note_problem;
  using xrun::core::tag_problem;
  CHECK_FALSE(tag_problem("baseline").has_value());
  CHECK_FALSE(tag_problem("lr 0.1 / é").has_value());
  CHECK_FALSE(tag_problem(std::string(64, 'x')).has_value());
  CHECK_FALSE(tag_problem(std::string(32, 'x') + std::string(16, ' ') + "ééééééééééééééé").has_value());
  CHECK(tag_problem("") == "a tag cannot be empty");
  CHECK(tag_problem(std::string(65, 'x')) == "a tag has at most 64 characters");
  CHECK(tag_problem("a,b").has_value());
  CHECK(tag_problem(" a").has_value());
  CHECK(tag_problem("a\t").has_value());
  CHECK(tag_problem("a\x1b[31m").has_value());
  CHECK(tag_problem("\xff").has_value());
  CHECK_FALSE(note_problem("").has_value());
  CHECK_FALSE(note_problem("two\nlines,\tand a tab").has_value());
  CHECK(note_problem("bell\a").has_value());
  CHECK(note_problem(std::string(4097, 'n')).has_value());
  std::vector<std::string> tags{"a"};
  xrun::core::add_tag(tags, "b");
  xrun::core::add_tag(tags, "a");
  CHECK(tags == std::vector<std::string>{"a", "b"});
}
