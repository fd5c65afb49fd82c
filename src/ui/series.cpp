#include "ui/series.hpp"

#include "core/run_files.hpp"
#include "ui/run_ref.hpp"
#include "ui/series_m4.hpp"
#include "ui/series_summary.hpp"
#include "util/fs.hpp"
#include "xrun/error.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <variant>

namespace xrun::ui {

namespace {

using nlohmann::json;

constexpr std::size_t k_default_width = 1000;
constexpr std::size_t k_max_width = 8192;
/// An `after=` request returns at most this many points, then `"more": true`.
constexpr std::size_t k_max_appended = 100000;
constexpr std::string_view k_series_extension = ".csv";

/// What a `/api/v1/series/data` request asks for.
struct DataRequest {
  std::string name;
  XAxis axis = XAxis::step;
  std::size_t width = k_default_width;
  std::optional<double> from;
  std::optional<double> to;
  std::optional<std::string> stage;
  std::optional<std::uint64_t> after;
};

template <class Number> bool parse_whole(std::string_view text, Number& number) {
  const char* const end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, number);
  return error == std::errc() && stop == end && !text.empty();
}

Response bad_parameter(std::string_view name, std::string_view why) {
  return Response::error(400, fmt::format("{}= {}", name, why));
}

/// The request's parameters, or the 400 response saying which one is wrong.
std::variant<DataRequest, Response> parse_data_request(const Request& request) {
  DataRequest wanted;
  const auto name = request.get("name");
  if (!name || name->empty()) {
    return bad_parameter("name", "is required: the series' name, as `train/loss`");
  }
  if (name->find('\\') != std::string_view::npos || name->find(';') != std::string_view::npos) {
    return bad_parameter("name", "must not hold '\\' or ';'");
  }
  wanted.name = std::string(*name);
  if (const auto axis = request.get("x")) {
    if (*axis == "step") {
      wanted.axis = XAxis::step;
    } else if (*axis == "time") {
      wanted.axis = XAxis::time;
    } else if (*axis == "relative") {
      wanted.axis = XAxis::relative;
    } else {
      return bad_parameter("x", "must be step, time or relative");
    }
  }
  if (const auto width = request.get("width")) {
    if (!parse_whole(*width, wanted.width) || wanted.width < 1 || wanted.width > k_max_width) {
      return bad_parameter("width",
                           fmt::format("must be a whole number from 1 to {}", k_max_width));
    }
  }
  for (const auto& [parameter, bound] : {std::pair{"from", &wanted.from}, {"to", &wanted.to}}) {
    if (const auto text = request.get(parameter)) {
      double value = 0;
      if (!parse_whole(*text, value) || !std::isfinite(value)) {
        return bad_parameter(parameter, "must be a finite number");
      }
      *bound = value;
    }
  }
  if (wanted.from && wanted.to && *wanted.from > *wanted.to) {
    return Response::error(400, "from= must not be larger than to=");
  }
  if (const auto stage = request.get("stage")) {
    wanted.stage = std::string(*stage);
  }
  if (const auto after = request.get("after")) {
    std::uint64_t offset = 0;
    if (!parse_whole(*after, offset)) {
      return bad_parameter("after", "must be a byte offset (a whole number, 0 or more)");
    }
    wanted.after = offset;
  }
  return wanted;
}

/// One run's series file, open for a request.
struct OpenSeries {
  std::string run;
  /// The archive: the run's files are opened from there, with no link followed on the way
  /// (a folder swapped for a link after the run id was checked leads nowhere).
  std::filesystem::path root;
  util::RegularFile file; // not ok(): the run has no such series
  SeriesIdentity identity;
  SeriesIndex index;
};

/// Opens `.track/<name>.csv` of a run; a response when the file may not be read.
std::optional<Response> open_series(OpenSeries& series, const std::string& relative) {
  series.file = util::open_regular_file(series.root, series.run + "/" + relative);
  switch (series.file.problem) {
  case util::FileProblem::none:
    break;
  case util::FileProblem::missing:
    return std::nullopt;
  case util::FileProblem::unreadable:
    return Response::error(500, fmt::format("{}/{} {}", series.run, relative, series.file.why));
  default:
    return Response::error(403,
                           fmt::format("{}/{} {}", series.run, relative,
                                       core::run_file_why(series.file.problem, series.file.why)));
  }
  if (series.file.size > core::k_max_data_bytes) {
    return Response::error(413, fmt::format("{}/{} is larger than the viewer reads ({} bytes)",
                                            series.run, relative, series.file.size));
  }
  struct stat info {};
  if (::fstat(series.file.fd.get(), &info) == 0) {
    series.identity = {static_cast<std::uint64_t>(info.st_dev),
                       static_cast<std::uint64_t>(info.st_ino)};
  }
  return std::nullopt;
}

/// The JSON of a request's answer, written as text: the arrays of points (up to 8192 * 4 per
/// run, of up to hundreds of runs) cost a fraction of what a JSON document of them would.
class SeriesJson {
public:
  /// Starts the answer with the fields of `head` (a JSON object).
  explicit SeriesJson(const json& head) {
    m_out += '{';
    append_fields(head);
    m_out += ",\"series\":[";
  }

  /// A run's entry: the fields of `fields` (a JSON object), its points as `x` and `y` arrays
  /// (non-finite values as null) and the band.
  void entry(const std::string& run, const json& fields, const std::vector<ChartPoint>& points,
             const std::vector<BandBucket>& band) {
    m_out += m_entries++ == 0 ? "{" : ",{";
    append_fields(json{{"run", run}});
    m_out += ',';
    append_fields(fields);
    append_array(",\"x\":", points, [](const ChartPoint& point) { return point.x; });
    append_array(",\"y\":", points, [](const ChartPoint& point) { return point.value; });
    append_array(",\"band\":{\"x\":", band, [](const BandBucket& bucket) { return bucket.x; });
    append_array(",\"lo\":", band, [](const BandBucket& bucket) { return bucket.lo; });
    append_array(",\"hi\":", band, [](const BandBucket& bucket) { return bucket.hi; });
    append_array(",\"mean\":", band, [](const BandBucket& bucket) { return bucket.mean; });
    m_out += "}}";
  }

  void missing(const std::string& run) {
    entry(run, {{"missing", true}, {"count", 0}, {"total", 0}, {"offset", 0}, {"exact", true}}, {},
          {});
  }

  Response response() && {
    m_out += "]}";
    Response answer;
    answer.body = std::move(m_out);
    return answer;
  }

private:
  /// The fields of a JSON object (not empty), without its braces.
  void append_fields(const json& object) {
    const auto text = object.dump(-1, ' ', false, json::error_handler_t::replace);
    m_out.append(text, 1, text.size() - 2);
  }

  template <class Item, class Number>
  void append_array(std::string_view key, const std::vector<Item>& items, Number&& number) {
    m_out += key;
    m_out += '[';
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i > 0) {
        m_out += ',';
      }
      const double value = number(items[i]);
      if (std::isfinite(value)) {
        fmt::format_to(std::back_inserter(m_out), "{}", value); // the shortest exact text
      } else {
        m_out += "null";
      }
    }
    m_out += ']';
  }

  std::string m_out;
  std::size_t m_entries = 0;
};

Response json_response(const json& body) {
  Response response;
  response.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return response;
}

/// Whether `offset` is the start of a line of the open file (or of the file).
bool starts_line(int fd, std::uint64_t offset) {
  char before = '\0';
  return offset == 0 ||
         (::pread(fd, &before, 1, static_cast<off_t>(offset - 1)) == 1 && before == '\n');
}

std::string_view axis_name(XAxis axis) {
  switch (axis) {
  case XAxis::step:
    return "step";
  case XAxis::time:
    return "time";
  case XAxis::relative:
    return "relative";
  }
  return "step";
}

/// `after=`: the points appended to one run's series past a byte offset.
Response appended_points(OpenSeries& series, const DataRequest& wanted) {
  SeriesJson answer({{"name", wanted.name},
                     {"x", axis_name(wanted.axis)},
                     {"from", nullptr},
                     {"to", nullptr},
                     {"width", wanted.width}});
  if (!series.file.ok()) {
    answer.missing(series.run);
    return std::move(answer).response();
  }
  const int fd = series.file.fd.get();
  const auto size = series.file.size;
  const auto offset = *wanted.after;
  if (offset > size) {
    return Response::error(
        400, fmt::format("after={} is past the end of the series ({} bytes)", offset, size));
  }
  if (!starts_line(fd, offset)) {
    return Response::error(400, fmt::format("after={} is not the start of a line", offset));
  }
  SeriesSource source{fd, nullptr, wanted.axis, wanted.stage, first_point_time(fd, size)};
  const auto appended = points_after(source, offset, size, k_max_appended);
  answer.entry(series.run,
               {{"count", appended.points.size()},
                {"total", nullptr}, // counting them would read the whole file
                {"offset", appended.next},
                {"exact", true},
                {"more", appended.more}},
               appended.points, {});
  return std::move(answer).response();
}

SeriesSource source_of(const OpenSeries& series, const DataRequest& wanted) {
  const auto& groups = series.index.groups;
  return {series.file.fd.get(), &series.index, wanted.axis, wanted.stage,
          groups.empty() ? 0.0 : groups.front().first.time};
}

} // namespace

Response series_list(const std::filesystem::path& run_folder) {
  const auto track = run_folder / core::k_track_folder;
  std::error_code error;
  json list = json::array();
  std::vector<std::pair<std::string, std::uintmax_t>> found;
  if (std::filesystem::is_directory(std::filesystem::symlink_status(track, error))) {
    // Links are neither followed nor listed: the series are read through run_files' rules.
    for (std::filesystem::recursive_directory_iterator it(track, error), end; !error && it != end;
         it.increment(error)) {
      const auto status = it->symlink_status(error);
      if (error || !std::filesystem::is_regular_file(status)) {
        continue;
      }
      auto name = it->path().lexically_relative(track).generic_string();
      if (name.ends_with(k_series_extension)) {
        name.resize(name.size() - k_series_extension.size());
        found.emplace_back(std::move(name), it->file_size(error));
      }
    }
  }
  std::sort(found.begin(), found.end());
  for (const auto& [name, bytes] : found) {
    const auto file = fmt::format("{}/{}{}", core::k_track_folder, name, k_series_extension);
    const auto points = summarized_points(run_folder, file);
    list.push_back({{"name", name},
                    {"file", file},
                    {"bytes", bytes},
                    {"points", points ? json(*points) : json(nullptr)}});
  }
  return json_response({{"series", std::move(list)}});
}

Response series_data(const std::filesystem::path& root, const std::vector<std::string>& runs,
                     const Request& request) {
  auto parsed = parse_data_request(request);
  if (auto* refused = std::get_if<Response>(&parsed)) {
    return std::move(*refused);
  }
  const auto& wanted = std::get<DataRequest>(parsed);
  if (runs.empty()) {
    return Response::error(400, "runs= names no run");
  }
  if (runs.size() > k_most_runs_per_request) {
    return Response::error(400, fmt::format("runs= names {} runs; a request takes at most {}",
                                            runs.size(), k_most_runs_per_request));
  }
  if (wanted.after && runs.size() != 1) {
    return Response::error(400, "after= follows one run: give one run in runs=");
  }
  const auto relative =
      fmt::format("{}/{}{}", core::k_track_folder, wanted.name, k_series_extension);
  std::vector<OpenSeries> opened(runs.size());
  try {
    for (std::size_t i = 0; i < runs.size(); ++i) {
      Response refusal;
      auto folder = resolve_run(root, runs[i], refusal);
      if (!folder) {
        return refusal;
      }
      opened[i].run = runs[i];
      opened[i].root = root;
      if (auto refused = open_series(opened[i], relative)) {
        return std::move(*refused);
      }
    }
    if (wanted.after) {
      return appended_points(opened.front(), wanted);
    }
    // The buckets are the same for every run: the union of their ranges unless given.
    std::optional<Extent> range;
    for (auto& series : opened) {
      if (!series.file.ok()) {
        continue;
      }
      series.index = index_series(series.root, series.run + "/" + relative, series.file.fd.get(),
                                  series.file.size, series.identity);
      if (const auto extent = series_extent(source_of(series, wanted))) {
        range = range
                    ? Extent{std::min(range->low, extent->low), std::max(range->high, extent->high)}
                    : *extent;
      }
    }
    auto from = wanted.from;
    auto to = wanted.to;
    if (range) {
      from = from ? from : std::min(range->low, to.value_or(range->low));
      to = to ? to : std::max(range->high, *from);
    }
    SeriesJson answer({{"name", wanted.name},
                       {"x", axis_name(wanted.axis)},
                       {"from", from ? json(*from) : json(nullptr)},
                       {"to", to ? json(*to) : json(nullptr)},
                       {"width", wanted.width}});
    for (auto& series : opened) {
      if (!series.file.ok()) {
        answer.missing(series.run);
        continue;
      }
      const auto source = source_of(series, wanted);
      Downsampled downsampled;
      bool exact = true;
      if (from && to) {
        const Buckets buckets{*from, *to, wanted.width};
        downsampled = downsample(source, buckets);
        exact = downsampled.count <= 2 * wanted.width;
        if (exact) {
          downsampled.points = points_in_range(source, *from, *to);
        }
      }
      answer.entry(series.run,
                   {{"count", downsampled.count},
                    {"total", series.index.points},
                    {"offset", series.index.end},
                    {"exact", exact}},
                   downsampled.points, downsampled.band);
    }
    return std::move(answer).response();
  } catch (const Error& problem) {
    return Response::error(500, problem.what());
  }
}

} // namespace xrun::ui
