#include "config/sweep_grammar.hpp"

#include "config/yaml_reader.hpp"
#include "util/strings.hpp"

#include <cmath>
#include <fmt/format.h>

namespace xrun::config {

using namespace yaml_file;

namespace {

/// `[values...]`, `{range: [start, stop, step]}`, `{linspace: [first, last, count]}` or
/// `{logspace: [first exponent, last exponent, count]}` as its values.
std::vector<SweepValue> sweep_values(const YAML::Node& node, const std::string& name,
                                     const Location& given, Reader& reader) {
  const auto where = reader.where(node);
  std::vector<SweepValue> values;
  if (node.IsSequence()) {
    for (const auto& item : node) {
      values.push_back(reader.setting(item, given));
    }
  } else if (node.IsMap() && node.size() == 1) {
    const auto kind = reader.key(node.begin()->first);
    const auto arguments = node.begin()->second;
    Json numbers = Json::array();
    if (arguments.IsSequence()) {
      for (const auto& argument : arguments) {
        numbers.push_back(reader.value(argument, given));
        if (!numbers.back().is_number()) {
          fail(reader.where(argument),
               fmt::format("the arguments of {} of {} are numbers", util::shorten(kind), name));
        }
      }
    }
    if (kind == "range" && (numbers.size() == 2 || numbers.size() == 3)) {
      const auto step = numbers.size() == 3 ? numbers[2] : Json(1);
      if (!numbers[0].is_number_integer() || !numbers[1].is_number_integer() ||
          !step.is_number_integer() || step.get<long long>() == 0) {
        fail(where, fmt::format("range of {} takes integers [start, stop] or [start, stop, step] "
                                "(step not 0, stop left out, as in Python); for floats use "
                                "linspace",
                                name));
      }
      const auto start = numbers[0].get<long long>();
      const auto stop = numbers[1].get<long long>();
      const auto by = step.get<long long>();
      for (auto i = start; by > 0 ? i < stop : i > stop; i += by) {
        if (values.size() == 1000000) {
          fail(where, fmt::format("range of {} has more than a million values", name));
        }
        values.push_back({Json(i), std::nullopt});
      }
    } else if ((kind == "linspace" || kind == "logspace") && numbers.size() == 3) {
      if (!numbers[2].is_number_integer() || numbers[2].get<long long>() < 1 ||
          numbers[2].get<long long>() > 1000000) {
        fail(where, fmt::format("the count of {} of {} must be a whole number from 1", kind, name));
      }
      const auto n = numbers[2].get<long long>();
      const double first = numbers[0].get<double>();
      const double last = numbers[1].get<double>();
      for (long long i = 0; i < n; ++i) {
        const double x = n == 1 ? first : first + (last - first) * double(i) / double(n - 1);
        values.push_back({Json(kind == "logspace" ? std::pow(10.0, x) : x), std::nullopt});
      }
    } else {
      fail(where, fmt::format("{} must be a list, or one of {{range: [start, stop, step]}}, "
                              "{{linspace: [first, last, count]}}, "
                              "{{logspace: [first exponent, last exponent, count]}}",
                              name));
    }
  } else {
    fail(where, fmt::format("{} must be a list of values (or range, linspace, logspace)", name));
  }
  if (values.empty()) {
    fail(where, fmt::format("{} has no values to sweep", name));
  }
  return values;
}

} // namespace

SweepSpec read_sweep(Layer& layer) {
  SweepSpec spec;
  const auto sweep = layer.root["sweep"];
  if (!sweep || sweep.IsNull()) {
    return spec;
  }
  auto& reader = layer.reader;
  spec.where = reader.where(sweep);
  if (!sweep.IsMap()) {
    fail(spec.where, "'sweep' must be a mapping with grid, zip and random");
  }
  std::vector<std::pair<std::string, Location>> seen;
  for (const auto& section : sweep) {
    const auto key = reader.key(section.first);
    const auto where = reader.where(section.first);
    const auto& body = section.second;
    if (key != "grid" && key != "zip" && key != "random") {
      static const std::vector<std::string> k_sections{"grid", "zip", "random"};
      const auto close = util::closest_match(key, k_sections);
      fail(where, fmt::format("unknown sweep section '{}'{} (sweep has grid, zip and random)",
                              util::shorten(key),
                              close ? fmt::format("; did you mean '{}'?", *close) : ""));
    }
    if (!body.IsMap()) {
      fail(reader.where(body), fmt::format("'{}' must be a mapping of parameter names", key));
    }
    for (const auto& item : body) {
      const auto name = reader.key(item.first);
      const auto at = reader.where(item.first);
      // `samples: 20` and `seed: 0` are the section's settings; a draw (a mapping) is of a
      // parameter, such as a function's lower-case `seed`.
      if (key == "random" && (name == "samples" || name == "seed") && !item.second.IsMap()) {
        const auto value = reader.value(item.second, at);
        const long long least = name == "samples" ? 1 : 0;
        if (!value.is_number_integer() || value.get<long long>() < least) {
          fail(reader.where(item.second),
               fmt::format("{} must be a whole number from {}", name, least));
        }
        (name == "samples" ? spec.samples : spec.seed) = value.get<long long>();
        continue;
      }
      for (const auto& [other, first] : seen) {
        if (other == name) {
          fail(at, fmt::format("{} is swept twice (first at {})", name, first.str()));
        }
      }
      seen.emplace_back(name, at);
      if (key == "random") {
        const auto& draw = item.second;
        if (!draw.IsMap() || draw.size() != 1 || !draw.begin()->second.IsSequence()) {
          fail(at, fmt::format("random {} must be one of {{uniform: [low, high]}}, "
                               "{{loguniform: [low, high]}}, {{integer: [low, high]}}, "
                               "{{choice: [values...]}}",
                               name));
        }
        SweepDraw entry{name, at, reader.key(draw.begin()->first), {}};
        const YAML::Node arguments = draw.begin()->second; // held: the iterator is a temporary
        for (const auto& argument : arguments) {
          entry.arguments.push_back(reader.setting(argument, at));
        }
        spec.random.push_back(std::move(entry));
      } else {
        (key == "grid" ? spec.grid : spec.zip)
            .push_back({name, at, sweep_values(item.second, name, at, reader)});
      }
    }
  }
  if (!spec.random.empty() && spec.samples == 0) {
    fail(spec.where, "random needs samples: N (how many draws)");
  }
  return spec;
}

} // namespace xrun::config
