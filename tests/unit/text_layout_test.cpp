#include "util/checksum.hpp"
#include "util/line_reader.hpp"
#include "util/table.hpp"
#include "util/time.hpp"

#include <doctest/doctest.h>
#include <string>
#include <vector>

using namespace xrun::util;

namespace {

std::vector<std::string> lines_of(CarriageReturn mode, const std::vector<std::string>& chunks,
                                  bool finish) {
  LineReader reader(mode);
  std::vector<std::string> lines;
  const auto emit = [&](std::string_view line) { lines.emplace_back(line); };
  for (const auto& chunk : chunks) {
    reader.feed(chunk, emit);
  }
  if (finish) {
    reader.finish(emit);
  }
  return lines;
}

} // namespace

TEST_CASE("lines are cut at newlines, however the bytes arrive") {
  using L = std::vector<std::string>;
  CHECK(lines_of(CarriageReturn::kept, {"a", "b\nc", "\n\nd"}, false) == L{"ab", "c", ""});
  CHECK(lines_of(CarriageReturn::kept, {"a\nrest"}, true) == L{"a", "rest"});
  CHECK(lines_of(CarriageReturn::kept, {"x\r\n"}, false) == L{"x\r"});
  CHECK(lines_of(CarriageReturn::line_end, {"x\r", "\ny\rz\n"}, false) == L{"x", "y\rz"});
  CHECK(lines_of(CarriageReturn::line_end, {"x\r\r\n"}, false) == L{"x\r"});
  CHECK(lines_of(CarriageReturn::starts_over, {"10%\r50%", "\r100%\r\ndone"}, true) ==
        L{"100%", "done"});
  CHECK(lines_of(CarriageReturn::starts_over, {"last\r"}, true) == L{"last"});
  CHECK(lines_of(CarriageReturn::each_state, {"10%\r50%", "\r100%\r\ndone"}, true) ==
        L{"10%", "50%", "100%", "done"});
  CHECK(lines_of(CarriageReturn::dropped, {"a\n10%\r50%", "\r100%\r\ndone"}, true) ==
        L{"a", "done"});
  CHECK(lines_of(CarriageReturn::dropped, {"x\r\n", "10%\r"}, true) == L{"x"});
}

TEST_CASE("a table aligns its columns to the widest cell") {
  Table table;
  table.add_row({"STATUS", "RUN", "X"});
  table.add_row({{"done", Color::green}, "ünï", ""});
  CHECK(table.render() == "STATUS  RUN  X\ndone    ünï  \n");
  CHECK(table.render(false, TrailingSpaces::trimmed) == "STATUS  RUN  X\ndone    ünï\n");
  CHECK(table.render(true) == "STATUS  RUN  X\n\033[32mdone\033[0m    ünï  \n");
}

TEST_CASE("a table's columns can have a minimum width, right alignment and their own gaps") {
  Table table(
      {{.min_width = 6, .after = " "}, {.min_width = 3, .align = Align::right, .after = "/"}},
      "  ");
  table.add_row({"a", "7", "end"});
  table.add_row({"b", "1234", "x"});
  CHECK(table.render() == "  a         7/end\n  b      1234/x\n");
}

TEST_CASE("durations for people") {
  CHECK(format_duration(4.25) == "4.2s");
  CHECK(format_duration(42.0) == "42.0s");
  CHECK(format_duration(42.0, SubMinute::tenths_under_ten) == "42s");
  CHECK(format_duration(4.25, SubMinute::tenths_under_ten) == "4.2s");
  CHECK(format_duration(187) == "3m07s");
  CHECK(format_duration(7500) == "2h05m");
}

TEST_CASE("checksums tell equal bytes from different ones") {
  Checksum whole;
  whole.add("hello world", 11);
  Checksum parts;
  parts.add("hello ", 6);
  parts.add("world", 5);
  CHECK(whole.value() == parts.value());
  Checksum other;
  other.add("hello worle", 11);
  CHECK(other.value() != whole.value());
}
