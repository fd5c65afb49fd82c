// `/api/v1/runs` and `/api/v1/columns`: the archive's runs as `xrun archive list` selects them
// (the same names for --where, --columns and --sort), one page at a time.
#include "archive/index.hpp"
#include "archive/query.hpp"
#include "core/run_files.hpp"
#include "ui/api_handlers.hpp"
#include "util/time.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <limits>
#include <numeric>
#include <set>

namespace xrun::ui {

namespace {

using Json = nlohmann::json;

constexpr std::int64_t k_default_limit = 200;
constexpr std::int64_t k_most_rows = 5000;
constexpr std::size_t k_most_columns = 100;
constexpr std::size_t k_most_names_looked_up = 32;
/// Names of each kind `/api/v1/columns` gives at most.
constexpr std::size_t k_most_names = 500;

/// The order of values in a sorted column: numbers, strings, booleans, other values (by their
/// JSON text), and missing values last. -1, 0 or 1.
int compare_values(const Json& a, const Json& b) {
  const auto rank = [](const Json& v) {
    return v.is_number() ? 0 : v.is_string() ? 1 : v.is_boolean() ? 2 : v.is_null() ? 4 : 3;
  };
  const int ra = rank(a);
  const int rb = rank(b);
  if (ra != rb) {
    return ra < rb ? -1 : 1;
  }
  const auto three_way = [](const auto& x, const auto& y) { return x < y ? -1 : (y < x ? 1 : 0); };
  switch (ra) {
  case 0:
    return three_way(a.get<double>(), b.get<double>());
  case 1:
    return three_way(a.get_ref<const std::string&>(), b.get_ref<const std::string&>());
  case 2:
    return three_way(a.get<bool>(), b.get<bool>());
  case 3:
    return three_way(a.dump(), b.dump());
  default:
    return 0;
  }
}

struct PageRequest {
  std::optional<archive::Query> where;
  std::string sort_key = "start_time";
  bool descending = true;
  std::vector<std::string> columns;
  std::optional<std::string> group;
  std::size_t limit = k_default_limit;
  std::size_t offset = 0;
};

/// The request's parameters, or nullopt with `refusal` set (400; a bad `where` with the
/// column of its error).
std::optional<PageRequest> read_page_request(const Request& request, Response& refusal) {
  PageRequest page;
  if (const auto where = request.get("where"); where && !where->empty()) {
    try {
      page.where = archive::Query::parse(*where);
    } catch (const archive::QueryError& error) {
      const Json details = {{"column", error.column()}, {"where", std::string(*where)}};
      refusal = Response::error(400, error.what(),
                                details.dump(-1, ' ', false, Json::error_handler_t::replace));
      return std::nullopt;
    }
  }
  if (const auto sort = request.get("sort"); sort && !sort->empty()) {
    page.descending = sort->starts_with('-');
    page.sort_key = std::string(sort->substr(page.descending ? 1 : 0));
    if (page.sort_key.empty()) {
      refusal = Response::error(400, "sort names a column: NAME, or -NAME for descending");
      return std::nullopt;
    }
  }
  page.columns = split_list(request.get("columns").value_or(""));
  if (const auto group = request.get("group"); group && !group->empty()) {
    page.group = std::string(*group);
  }
  const auto limit = integer_parameter(request, "limit", k_default_limit, 0, k_most_rows, refusal);
  const auto offset =
      integer_parameter(request, "offset", 0, 0, std::numeric_limits<std::int64_t>::max(), refusal);
  if (!limit || !offset) {
    return std::nullopt;
  }
  page.limit = static_cast<std::size_t>(*limit);
  page.offset = static_cast<std::size_t>(*offset);
  // Each name filtered, sorted or grouped by is looked up for every run of the archive (and
  // kept); each column for every row of the page: both bounded, so one request cannot ask
  // the server for gigabytes.
  if (page.columns.size() > k_most_columns) {
    refusal = Response::error(400, fmt::format("columns= names {} columns; at most {}",
                                               page.columns.size(), k_most_columns));
    return std::nullopt;
  }
  std::set<std::string> looked_up = {page.sort_key};
  if (page.where) {
    for (auto& name : page.where->names()) {
      looked_up.insert(std::move(name));
    }
  }
  if (page.group) {
    looked_up.insert(*page.group);
  }
  if (looked_up.size() > k_most_names_looked_up) {
    refusal = Response::error(
        400, fmt::format("where=, sort= and group= name {} values; at most {} together",
                         looked_up.size(), k_most_names_looked_up));
    return std::nullopt;
  }
  return page;
}

Json or_null(const Json& value, bool readable) {
  return readable ? value : Json();
}

/// One row of the page: what the runs table shows of a run, and the requested columns.
Json row_of(archive::Run& run, const PageRequest& page, double now) {
  const bool readable = run.readable();
  Json row = {
      {"run", std::string(run.relative())},
      {"name", run.value("name", now)},
      {"namespace", run.value("namespace", now)},
      {"status", run.status(now)},
      {"start_time", run.value("start_time", now)},
      {"end_time", run.value("end_time", now)},
      {"duration", or_null(run.duration(now), readable)},
      {"host", run.value("host", now)},
      {"tags", run.value("tags", now)},
      {"note", run.value("note", now)},
      {"error_type", run.value("error_type", now)},
  };
  if (!row["tags"].is_array()) {
    row["tags"] = Json::array();
  }
  Json values = Json::object();
  for (const auto& column : page.columns) {
    values[column] = run.value(column, now);
  }
  row["values"] = std::move(values);
  if (!readable) {
    row["problem"] = run.problem;
  }
  return row;
}

} // namespace

namespace {

/// The positions in `runs` of the runs that match the request's `where` (all without one).
std::vector<std::size_t> matching_runs(RunCache::Use& use, const PageRequest& page, double now) {
  auto& runs = use.runs();
  std::vector<std::size_t> matched;
  matched.reserve(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (!page.where || page.where->matches([&](std::string_view name) {
          return use.values(name).at(runs, i, now);
        })) {
      matched.push_back(i);
    }
  }
  return matched;
}

/// Each distinct value of `keys` with how many times it occurs, in the order of values.
Json group_counts(const std::vector<const Json*>& keys) {
  std::vector<const Json*> sorted = keys;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Json* a, const Json* b) { return compare_values(*a, *b) < 0; });
  Json groups = Json::array();
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0 && compare_values(*sorted[i - 1], *sorted[i]) == 0) {
      groups.back()["count"] = groups.back()["count"].get<std::size_t>() + 1;
    } else {
      groups.push_back({{"value", *sorted[i]}, {"count", 1}});
    }
  }
  return groups;
}

} // namespace

Response runs_page(RunCache& cache, const Request& request) {
  Response refusal;
  const auto page = read_page_request(request, refusal);
  if (!page) {
    return refusal;
  }
  auto use = cache.use();
  auto& runs = use.runs();
  const double now = util::to_epoch_seconds(util::Clock::now());
  const auto matched = matching_runs(use, *page, now);

  // Keys by position in `matched`; only the page's rows are put in order and written out.
  auto& sort_values = use.values(page->sort_key);
  auto* group_values = page->group ? &use.values(*page->group) : nullptr;
  std::vector<const Json*> sort_keys(matched.size());
  std::vector<const Json*> group_keys(group_values ? matched.size() : 0);
  for (std::size_t i = 0; i < matched.size(); ++i) {
    sort_keys[i] = &sort_values.at(runs, matched[i], now);
    if (group_values) {
      group_keys[i] = &group_values->at(runs, matched[i], now);
    }
  }
  const auto before = [&](std::size_t a, std::size_t b) {
    if (group_values) {
      if (const int by_group = compare_values(*group_keys[a], *group_keys[b]); by_group != 0) {
        return by_group < 0;
      }
    }
    // Runs without the value come last either way, as in `xrun archive list`.
    const bool missing_a = sort_keys[a]->is_null();
    if (missing_a != sort_keys[b]->is_null()) {
      return !missing_a;
    }
    const int by_key = compare_values(*sort_keys[a], *sort_keys[b]);
    return by_key != 0 ? (page->descending ? by_key > 0 : by_key < 0) : a < b; // ties: by path
  };
  std::vector<std::size_t> order(matched.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  const auto first = std::min(page->offset, order.size());
  const auto end = first + std::min(page->limit, order.size() - first);
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(end), order.end(),
                    before);

  Json rows = Json::array();
  for (std::size_t i = first; i < end; ++i) {
    rows.push_back(row_of(runs[matched[order[i]]], *page, now));
  }
  Json body = {{"total", matched.size()},
               {"archive_total", runs.size()},
               {"offset", page->offset},
               {"columns", page->columns},
               {"rows", std::move(rows)}};
  if (page->group) {
    body["group"] = *page->group;
    body["groups"] = group_counts(group_keys);
  }
  return json_response(body);
}

namespace {

/// Adds the names of the leaves of `values` (`prefix.a.b`) to `names`, up to k_most_names.
void add_leaf_names(const Json& values, const std::string& prefix, std::set<std::string>& names,
                    int depth = 0) {
  if (!values.is_object()) {
    return;
  }
  for (const auto& [key, value] : values.items()) {
    if (names.size() >= k_most_names) {
      return;
    }
    const auto name = prefix + "." + key;
    if (value.is_object() && !value.empty() && depth < 8) {
      add_leaf_names(value, name, names, depth + 1);
    } else {
      names.insert(name);
    }
  }
}

/// The JSON object of a file's text the index keeps (none when absent or not kept).
Json kept_object(const std::optional<std::string>& text) {
  if (!text || text->empty()) {
    return Json();
  }
  auto value = core::parse_bounded_json<Json>(*text);
  return value.is_object() ? value : Json();
}

Json find_column_names(std::vector<archive::Run>& runs) {
  std::set<std::string> parameters;
  std::set<std::string> data;
  std::set<std::string> summary;
  for (auto& run : runs) {
    if (!run.readable()) {
      continue;
    }
    for (const auto& [name, value] : run.parameters().items()) {
      if (parameters.size() < k_most_names) {
        parameters.insert(name);
      }
    }
    if (data.size() < k_most_names) {
      add_leaf_names(kept_object(run.data_text), "data", data);
    }
    if (summary.size() < k_most_names) {
      const auto kept = kept_object(run.summary_text);
      if (kept.is_object()) {
        add_leaf_names(kept.value("summary", Json()), "summary", summary);
        add_leaf_names(kept.value("primary_metric", Json()), "primary_metric", summary);
      }
    }
  }
  return {{"parameters", parameters},
          {"data", data},
          {"summary", summary},
          {"meta",
           {"status", "name", "namespace", "id", "path", "start_time", "end_time", "duration",
            "heartbeat", "host", "pid", "exit_code", "error_type", "tags", "note"}}};
}

} // namespace

Response column_names(RunCache& cache) {
  auto use = cache.use();
  auto& names = use.columns();
  if (!names) {
    names = find_column_names(use.runs());
  }
  return json_response(*names);
}

} // namespace xrun::ui
