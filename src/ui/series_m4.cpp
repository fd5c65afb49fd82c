#include "ui/series_m4.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace xrun::ui {

namespace {

/// How many of a block's points a request wants, by their stage alone.
enum class StageFit { none, all, some };

StageFit stage_fit(const SummaryBlock& block, const SeriesSource& source) {
  if (!source.stage) {
    return StageFit::all;
  }
  if (block.mixed_stage) {
    return StageFit::some;
  }
  return block.stage == *source.stage ? StageFit::all : StageFit::none;
}

bool stage_wanted(const SeriesPoint& point, const SeriesSource& source) {
  return !source.stage || point.stage == *source.stage;
}

/// The x extent of a block's points.
Extent block_extent(const SummaryBlock& block, const SeriesSource& source) {
  return {source.x_of(block.min_step, block.min_time), source.x_of(block.max_step, block.max_time)};
}

/// What a walk over a series does with a group or a block.
enum class Take { skip, whole, look_inside };

/// Walks the series' groups in file order: `walker.decide(block)` says for each group, and for
/// each block of a group looked into, whether to skip it, take it whole
/// (`whole_group`/`whole_block(block, first ordinal)`) or look into it; the points of the
/// blocks looked into (those of the stage) go to `point(point, ordinal)`, followed by
/// `block_done()`; a group looked into ends with `group_done()`.
template <class Walker> void walk(const SeriesSource& source, Walker& walker) {
  SeriesChunks chunks(source.fd, source.index->end);
  SeriesIndex::ReadAhead ahead;
  std::vector<Take> takes;
  const auto& groups = source.index->groups;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto group_first = std::uint64_t{g} * k_group_points;
    const auto take = walker.decide(groups[g]);
    if (take != Take::look_inside) {
      if (take == Take::whole) {
        walker.whole_group(groups[g], group_first);
      }
      continue;
    }
    const auto blocks = source.index->blocks_of(g, ahead);
    takes.clear();
    for (const auto& block : blocks) {
      takes.push_back(walker.decide(block));
    }
    // The lines of all blocks looked into, in one read.
    const auto inside = [](Take block_take) { return block_take == Take::look_inside; };
    const auto first_read = std::find_if(takes.begin(), takes.end(), inside);
    if (first_read != takes.end()) {
      const auto last_read = std::find_if(takes.rbegin(), takes.rend(), inside);
      chunks.bytes(
          blocks[static_cast<std::size_t>(first_read - takes.begin())].begin,
          blocks[blocks.size() - 1 - static_cast<std::size_t>(last_read - takes.rbegin())].end);
    }
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      const auto& block = blocks[i];
      const auto first = group_first + std::uint64_t{i} * k_block_points;
      const auto inner = takes[i];
      if (inner != Take::look_inside) {
        if (inner == Take::whole) {
          walker.whole_block(block, first);
        }
        continue;
      }
      std::uint64_t ordinal = first;
      for_each_point_in(chunks.bytes(block.begin, block.end), [&](const SeriesPoint& point) {
        if (stage_wanted(point, source)) {
          walker.point(point, ordinal);
        }
        ++ordinal;
      });
      walker.block_done();
    }
    walker.group_done();
  }
}

/// What M4 keeps of the points of one bucket.
struct Bucket {
  std::uint64_t count = 0;
  std::uint64_t finite = 0;
  double sum = 0; // of the groups' sums of their blocks' sums of finite values (PartialSums)
  ChartPoint first, last, min, max;
};

ChartPoint chart_point(const SeriesSource& source, const BlockPoint& point, std::uint64_t ordinal) {
  return {source.x_of(point.step, point.time), point.value, ordinal};
}

/// Adds a block or group taken whole; its sum is added by the caller.
void take_block(Bucket& bucket, const SummaryBlock& block, std::uint64_t base,
                const SeriesSource& source) {
  if (bucket.count == 0) {
    bucket.first = chart_point(source, block.first, base);
  }
  bucket.last = chart_point(source, block.last, base + block.count - 1);
  if (block.finite > 0) {
    if (bucket.finite == 0 || block.min.value < bucket.min.value) {
      bucket.min = chart_point(source, block.min, base + block.min_index);
    }
    if (bucket.finite == 0 || block.max.value > bucket.max.value) {
      bucket.max = chart_point(source, block.max, base + block.max_index);
    }
  }
  bucket.count += block.count;
  bucket.finite += block.finite;
}

/// Adds a point read from the file; its value's share of the sum is added by the caller.
void take_point(Bucket& bucket, const ChartPoint& point) {
  if (bucket.count == 0) {
    bucket.first = point;
  }
  bucket.last = point;
  if (std::isfinite(point.value)) {
    if (bucket.finite == 0 || point.value < bucket.min.value) {
      bucket.min = point;
    }
    if (bucket.finite == 0 || point.value > bucket.max.value) {
      bucket.max = point;
    }
    ++bucket.finite;
  }
  ++bucket.count;
}

/// The sums, a sum per bucket, of the finite values of one block's points read from the file,
/// or of one group's blocks. A bucket's sum adds its groups' sums, each the sum of its blocks'
/// sums, each the sum of its points' values (each added in file order from 0), whether a
/// group or block was taken whole from its summary or read: so both give the same mean to the
/// last bit.
class PartialSums {
public:
  void add(std::size_t bucket, double value) {
    if (m_sums.empty() || m_sums.back().first != bucket) {
      const auto found = std::find_if(m_sums.begin(), m_sums.end(),
                                      [&](const auto& sum) { return sum.first == bucket; });
      if (found == m_sums.end()) {
        m_sums.emplace_back(bucket, 0.0);
      } else {
        std::iter_swap(found, m_sums.end() - 1);
      }
    }
    m_sums.back().second += value;
  }

  /// Adds the sums to those of the enclosing group, and starts again.
  void flush(PartialSums& group) {
    for (const auto& [bucket, sum] : m_sums) {
      group.add(bucket, sum);
    }
    m_sums.clear();
  }

  void flush(std::vector<Bucket>& buckets) {
    for (const auto& [bucket, sum] : m_sums) {
      buckets[bucket].sum += sum;
    }
    m_sums.clear();
  }

private:
  std::vector<std::pair<std::size_t, double>> m_sums;
};

bool by_x(const ChartPoint& a, const ChartPoint& b) {
  return a.x < b.x || (a.x == b.x && a.ordinal < b.ordinal);
}

/// A bucket's kept points in x order, each once (the first may be the min, ...).
void emit_bucket(const Bucket& bucket, std::vector<ChartPoint>& out) {
  ChartPoint kept[4] = {bucket.first, bucket.last, bucket.first, bucket.first};
  std::size_t n = 2;
  if (bucket.finite > 0) {
    kept[n++] = bucket.min;
    kept[n++] = bucket.max;
  }
  std::sort(kept, kept + n, by_x);
  for (std::size_t i = 0; i < n; ++i) {
    if (i == 0 || kept[i].ordinal != kept[i - 1].ordinal) {
      out.push_back(kept[i]);
    }
  }
}

} // namespace

double SeriesSource::x_of(double step, double time) const {
  switch (axis) {
  case XAxis::step:
    return step;
  case XAxis::time:
    return time;
  case XAxis::relative:
    return time - origin;
  }
  return step;
}

double first_point_time(int fd, std::uint64_t size) {
  double time = 0;
  for_each_point(fd, 0, size, [&](const SeriesPoint& point, std::uint64_t, std::uint64_t) {
    time = point.time;
    return false;
  });
  return time;
}

std::size_t Buckets::of(double x) const {
  const double span = to - from;
  if (!(span > 0)) {
    return 0;
  }
  // Each step is rounded monotonically, so a larger x never lands in an earlier bucket:
  // a block whose smallest and largest x share a bucket has all its points there.
  const double place = std::floor((x - from) / span * static_cast<double>(width));
  if (!(place > 0)) {
    return 0;
  }
  return std::min(width - 1, static_cast<std::size_t>(std::min(place, 1e18)));
}

double Buckets::start(std::size_t bucket) const {
  return from + (to - from) * static_cast<double>(bucket) / static_cast<double>(width);
}

std::optional<Extent> series_extent(const SeriesSource& source) {
  struct Walker {
    const SeriesSource& source;
    std::optional<Extent> extent;

    void widen(double low, double high) {
      if (!extent) {
        extent = Extent{low, high};
      } else {
        extent->low = std::min(extent->low, low);
        extent->high = std::max(extent->high, high);
      }
    }
    Take decide(const SummaryBlock& block) const {
      switch (stage_fit(block, source)) {
      case StageFit::none:
        return Take::skip;
      case StageFit::all:
        return Take::whole;
      case StageFit::some:
        break;
      }
      return Take::look_inside;
    }
    void whole_group(const SummaryBlock& group, std::uint64_t) { whole_block(group, 0); }
    void whole_block(const SummaryBlock& block, std::uint64_t) {
      const auto x = block_extent(block, source);
      widen(x.low, x.high);
    }
    void point(const SeriesPoint& point, std::uint64_t) {
      const double x = source.x_of(point.step, point.time);
      widen(x, x);
    }
    void block_done() {}
    void group_done() {}
  } walker{source, std::nullopt};
  walk(source, walker);
  return walker.extent;
}

Downsampled downsample(const SeriesSource& source, const Buckets& buckets) {
  struct Walker {
    const SeriesSource& source;
    const Buckets& buckets;
    std::vector<Bucket> kept;
    PartialSums block_sums;
    PartialSums group_sums;

    Take decide(const SummaryBlock& block) const {
      const auto fit = stage_fit(block, source);
      const auto x = block_extent(block, source);
      if (fit == StageFit::none || x.high < buckets.from || x.low > buckets.to) {
        return Take::skip;
      }
      const bool inside = x.low >= buckets.from && x.high <= buckets.to;
      return fit == StageFit::all && inside && buckets.of(x.low) == buckets.of(x.high)
                 ? Take::whole
                 : Take::look_inside;
    }
    std::size_t bucket_of(const SummaryBlock& block) const {
      return buckets.of(block_extent(block, source).low);
    }
    void whole_group(const SummaryBlock& group, std::uint64_t first) {
      auto& bucket = kept[bucket_of(group)];
      take_block(bucket, group, first, source);
      if (group.finite > 0) {
        bucket.sum += group.sum;
      }
    }
    void whole_block(const SummaryBlock& block, std::uint64_t first) {
      const auto bucket = bucket_of(block);
      take_block(kept[bucket], block, first, source);
      if (block.finite > 0) {
        group_sums.add(bucket, block.sum);
      }
    }
    void point(const SeriesPoint& point, std::uint64_t ordinal) {
      const double x = source.x_of(point.step, point.time);
      if (x < buckets.from || x > buckets.to) {
        return;
      }
      const auto bucket = buckets.of(x);
      take_point(kept[bucket], {x, point.value, ordinal});
      if (std::isfinite(point.value)) {
        block_sums.add(bucket, point.value);
      }
    }
    void block_done() { block_sums.flush(group_sums); }
    void group_done() { group_sums.flush(kept); }
  } walker{source, buckets, std::vector<Bucket>(buckets.width), {}, {}};
  walk(source, walker);

  Downsampled result;
  for (std::size_t b = 0; b < walker.kept.size(); ++b) {
    const auto& bucket = walker.kept[b];
    if (bucket.count == 0) {
      continue;
    }
    result.count += bucket.count;
    emit_bucket(bucket, result.points);
    const double none = std::numeric_limits<double>::quiet_NaN();
    result.band.push_back(
        {buckets.start(b), bucket.finite > 0 ? bucket.min.value : none,
         bucket.finite > 0 ? bucket.max.value : none,
         bucket.finite > 0 ? bucket.sum / static_cast<double>(bucket.finite) : none});
  }
  return result;
}

std::vector<ChartPoint> points_in_range(const SeriesSource& source, double from, double to) {
  struct Walker {
    const SeriesSource& source;
    double from, to;
    std::vector<ChartPoint> points;

    Take decide(const SummaryBlock& block) const {
      const auto x = block_extent(block, source);
      return stage_fit(block, source) == StageFit::none || x.high < from || x.low > to
                 ? Take::skip
                 : Take::look_inside;
    }
    void whole_group(const SummaryBlock&, std::uint64_t) {}
    void whole_block(const SummaryBlock&, std::uint64_t) {}
    void point(const SeriesPoint& point, std::uint64_t ordinal) {
      const double x = source.x_of(point.step, point.time);
      if (x >= from && x <= to) {
        points.push_back({x, point.value, ordinal});
      }
    }
    void block_done() {}
    void group_done() {}
  } walker{source, from, to, {}};
  walk(source, walker);
  std::stable_sort(walker.points.begin(), walker.points.end(), by_x);
  return std::move(walker.points);
}

Appended points_after(const SeriesSource& source, std::uint64_t offset, std::uint64_t size,
                      std::size_t limit) {
  Appended appended;
  SeriesLineReader reader(source.fd, offset, size);
  std::string_view line;
  std::uint64_t line_offset = 0;
  SeriesPoint point;
  std::uint64_t ordinal = 0;
  appended.next = offset;
  while (reader.next(line, line_offset)) {
    if (parse_series_line(line, point) && stage_wanted(point, source)) {
      if (appended.points.size() == limit) {
        appended.more = true;
        return appended; // this line is the next request's first
      }
      appended.points.push_back({source.x_of(point.step, point.time), point.value, ordinal++});
    }
    appended.next = reader.offset();
  }
  return appended;
}

} // namespace xrun::ui
