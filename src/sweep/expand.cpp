#include "sweep/expand.hpp"

#include "util/strings.hpp"
#include "xrun/error.hpp"

#include <cmath>
#include <cstdint>
#include <fmt/format.h>

namespace xrun::sweep {

namespace {

using Json = nlohmann::json;

constexpr std::size_t k_most_variations = 1000000;

/// SplitMix64: small, fast and fully specified, so a seed expands the same on every machine.
class Draws {
public:
  explicit Draws(std::uint64_t seed) : m_state(seed) {}

  /// Uniform in [0, 1), 53 random bits.
  double next() {
    std::uint64_t z = (m_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53;
  }

private:
  std::uint64_t m_state;
};

[[noreturn]] void fail(const config::Location& where, const std::string& message) {
  throw ConfigError(fmt::format("{}: {}", where.str(), message));
}

config::ParameterSetting setting(const std::string& name, const config::SweepValue& value,
                                 const config::Location& where) {
  return {name, value.value, value.text, where, std::nullopt};
}

/// The two numeric bounds of a uniform, loguniform or integer draw.
std::pair<Json, Json> bounds(const config::SweepDraw& draw) {
  if (draw.arguments.size() != 2 || !draw.arguments[0].value.is_number() ||
      !draw.arguments[1].value.is_number()) {
    fail(draw.where,
         fmt::format("random {}: {} takes two numbers [low, high]", draw.name, draw.kind));
  }
  const auto& low = draw.arguments[0].value;
  const auto& high = draw.arguments[1].value;
  if (low.get<double>() > high.get<double>()) {
    fail(draw.where, fmt::format("random {}: {} needs low <= high, not [{}, {}]", draw.name,
                                 draw.kind, low.dump(), high.dump()));
  }
  return {low, high};
}

config::ParameterSetting drawn(const config::SweepDraw& draw, Draws& draws) {
  const double u = draws.next();
  if (draw.kind == "choice") {
    if (draw.arguments.empty()) {
      fail(draw.where, fmt::format("random {}: choice has no values", draw.name));
    }
    const auto index = std::min(draw.arguments.size() - 1,
                                static_cast<std::size_t>(u * double(draw.arguments.size())));
    return setting(draw.name, draw.arguments[index], draw.where);
  }
  const auto [low, high] = bounds(draw);
  if (draw.kind == "uniform") {
    const double a = low.get<double>();
    return {draw.name, Json(a + (high.get<double>() - a) * u), std::nullopt, draw.where,
            std::nullopt};
  }
  if (draw.kind == "loguniform") {
    if (low.get<double>() <= 0) {
      fail(draw.where, fmt::format("random {}: loguniform needs bounds above 0", draw.name));
    }
    const double a = std::log(low.get<double>());
    const double b = std::log(high.get<double>());
    return {draw.name, Json(std::exp(a + (b - a) * u)), std::nullopt, draw.where, std::nullopt};
  }
  if (draw.kind == "integer") {
    if (!low.is_number_integer() || !high.is_number_integer()) {
      fail(draw.where, fmt::format("random {}: integer takes two whole numbers", draw.name));
    }
    const auto a = low.get<long long>();
    const auto span = static_cast<double>(high.get<long long>() - a + 1);
    const auto offset = std::min(static_cast<long long>(u * span), high.get<long long>() - a);
    return {draw.name, Json(a + offset), std::nullopt, draw.where, std::nullopt};
  }
  fail(draw.where, fmt::format("random {}: unknown distribution '{}' (uniform, loguniform, "
                               "integer or choice)",
                               draw.name, util::shorten(draw.kind)));
}

} // namespace

config::SweepList parse_command_line_sweep(const std::string& text) {
  const auto shown = util::shorten(text); // the whole text may be huge
  const auto where = config::Location{fmt::format("--sweep {}", shown), 0, 0};
  const auto equals = text.find('=');
  const auto name = text.substr(0, equals);
  if (equals == std::string::npos || name.empty()) {
    throw UsageError(fmt::format("--sweep {}: give NAME=VALUE,VALUE,...", shown),
                     "e.g. --sweep LR=0.1,0.01 (one --sweep per parameter: their grid runs)");
  }
  config::SweepList list{name, where, {}};
  std::string item;
  bool quoted = false; // the item was written in quotes
  char quote = 0;
  int depth = 0;
  const auto finish = [&] {
    if (item.empty() && !quoted) {
      throw UsageError(fmt::format("--sweep {}: an empty value", shown),
                       "write an empty text as '' (quoted)");
    }
    list.values.push_back({Json(item), item});
    item.clear();
    quoted = false;
  };
  const auto values = std::string_view(text).substr(equals + 1);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const char c = values[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
        if (depth > 0) {
          item.push_back(c); // a string inside a list or dict is part of its literal
        }
      } else {
        item.push_back(c);
      }
    } else if ((c == '"' || c == '\'') && (depth > 0 || item.empty())) {
      quote = c; // a quote mid-word at the top (O'Brien) is just a character
      if (depth == 0) {
        quoted = true;
      } else {
        item.push_back(c);
      }
    } else if (c == ',' && depth == 0) {
      finish();
    } else {
      depth += (c == '[' || c == '{' || c == '(') ? 1 : (c == ']' || c == '}' || c == ')') ? -1 : 0;
      if (depth < 0) {
        throw UsageError(
            fmt::format("--sweep {}: '{}' closes a bracket that is not open", shown, c));
      }
      item.push_back(c);
    }
  }
  if (quote) {
    throw UsageError(fmt::format("--sweep {}: a quote is not closed", shown));
  }
  if (depth > 0) {
    throw UsageError(fmt::format("--sweep {}: a bracket is not closed", shown));
  }
  finish();
  return list;
}

std::vector<std::string> swept_names(const config::SweepSpec& spec) {
  std::vector<std::string> names;
  for (const auto& list : spec.grid) {
    names.push_back(list.name);
  }
  for (const auto& list : spec.zip) {
    names.push_back(list.name);
  }
  for (const auto& draw : spec.random) {
    names.push_back(draw.name);
  }
  return names;
}

std::vector<Variation> expand(const config::SweepSpec& spec) {
  // The zip's rows: its lists side by side.
  std::size_t rows = spec.zip.empty() ? 1 : spec.zip.front().values.size();
  for (const auto& list : spec.zip) {
    if (list.values.size() != rows) {
      fail(list.where, fmt::format("zip: {} has {} values but {} has {}; zipped lists go "
                                   "together and need the same length",
                                   list.name, list.values.size(), spec.zip.front().name, rows));
    }
  }
  const std::size_t samples = spec.random.empty() ? 1 : static_cast<std::size_t>(spec.samples);
  double total = double(rows) * double(samples);
  for (const auto& list : spec.grid) {
    total *= double(list.values.size());
  }
  if (total > double(k_most_variations)) {
    fail(spec.where, fmt::format("the sweep has {:.0f} variations; at most {} are run at once",
                                 total, k_most_variations));
  }
  // The draws first, all from one generator in a fixed order, then crossed with the rest.
  Draws draws(static_cast<std::uint64_t>(spec.seed));
  std::vector<Variation> random(samples);
  for (auto& sample : random) {
    for (const auto& draw : spec.random) {
      sample.push_back(drawn(draw, draws));
    }
  }
  std::vector<Variation> variations;
  variations.reserve(static_cast<std::size_t>(total));
  std::vector<std::size_t> index(spec.grid.size(), 0);
  for (;;) {
    Variation base;
    for (std::size_t g = 0; g < spec.grid.size(); ++g) {
      const auto& list = spec.grid[g];
      base.push_back(setting(list.name, list.values[index[g]], list.where));
    }
    for (std::size_t row = 0; row < rows; ++row) {
      Variation zipped = base;
      for (const auto& list : spec.zip) {
        zipped.push_back(setting(list.name, list.values[row], list.where));
      }
      for (const auto& sample : random) {
        Variation variation = zipped;
        variation.insert(variation.end(), sample.begin(), sample.end());
        variations.push_back(std::move(variation));
      }
    }
    // The next grid point: the last parameter varies fastest.
    std::size_t g = spec.grid.size();
    while (g > 0 && ++index[g - 1] == spec.grid[g - 1].values.size()) {
      index[--g] = 0;
    }
    if (g == 0) {
      break;
    }
  }
  return variations;
}

} // namespace xrun::sweep
