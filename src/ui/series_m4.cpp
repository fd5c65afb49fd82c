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

/// Calls `visit(point, ordinal)` for each point of the block `number` wanted by its stage.
template <class Visit>
void read_block(const SeriesSource& source, SeriesChunks& chunks, std::size_t number,
                Visit&& visit) {
  const auto& block = source.index->blocks[number];
  std::uint64_t ordinal = std::uint64_t{number} * k_block_points;
  for_each_point_in(chunks.bytes(block.begin, block.end), [&](const SeriesPoint& point) {
    if (stage_wanted(point, source)) {
      visit(point, ordinal);
    }
    ++ordinal;
  });
}

/// What M4 keeps of the points of one bucket.
struct Bucket {
  std::uint64_t count = 0;
  std::uint64_t finite = 0;
  double sum = 0; // of each block's sum of its finite values here (see add_partial_sums)
  ChartPoint first, last, min, max;
};

ChartPoint chart_point(const SeriesSource& source, const BlockPoint& point, std::uint64_t ordinal) {
  return {source.x_of(point.step, point.time), point.value, ordinal};
}

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
  bucket.sum += block.sum;
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

/// The sums of the finite values of one block's points read from the file, a sum per bucket.
/// A bucket's sum is built of block sums (each added from 0 in file order), whether a block
/// was taken whole from its summary or read: so both give the same mean to the last bit.
class PartialSums {
public:
  void add(std::size_t bucket, double value) {
    if (m_sums.empty() || m_sums.back().first != bucket) {
      const auto found = std::find_if(m_sums.begin(), m_sums.end(),
                                      [&](const auto& sum) { return sum.first == bucket; });
      if (found == m_sums.end()) {
        m_sums.emplace_back(bucket, value);
        return;
      }
      std::iter_swap(found, m_sums.end() - 1);
    }
    m_sums.back().second += value;
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
  std::optional<Extent> extent;
  const auto widen = [&](double low, double high) {
    if (!extent) {
      extent = Extent{low, high};
    } else {
      extent->low = std::min(extent->low, low);
      extent->high = std::max(extent->high, high);
    }
  };
  SeriesChunks chunks(source.fd, source.index->end);
  const auto& blocks = source.index->blocks;
  for (std::size_t k = 0; k < blocks.size(); ++k) {
    switch (stage_fit(blocks[k], source)) {
    case StageFit::none:
      break;
    case StageFit::all: {
      const auto block = block_extent(blocks[k], source);
      widen(block.low, block.high);
      break;
    }
    case StageFit::some:
      read_block(source, chunks, k, [&](const SeriesPoint& point, std::uint64_t) {
        const double x = source.x_of(point.step, point.time);
        widen(x, x);
      });
      break;
    }
  }
  return extent;
}

Downsampled downsample(const SeriesSource& source, const Buckets& buckets) {
  std::vector<Bucket> kept(buckets.width);
  PartialSums sums;
  SeriesChunks chunks(source.fd, source.index->end);
  const auto& blocks = source.index->blocks;
  for (std::size_t k = 0; k < blocks.size(); ++k) {
    const auto& block = blocks[k];
    const auto fit = stage_fit(block, source);
    const auto extent = block_extent(block, source);
    if (fit == StageFit::none || extent.high < buckets.from || extent.low > buckets.to) {
      continue;
    }
    if (fit == StageFit::all && extent.low >= buckets.from && extent.high <= buckets.to) {
      if (const auto bucket = buckets.of(extent.low); bucket == buckets.of(extent.high)) {
        take_block(kept[bucket], block, std::uint64_t{k} * k_block_points, source);
        continue;
      }
    }
    read_block(source, chunks, k, [&](const SeriesPoint& point, std::uint64_t ordinal) {
      const double x = source.x_of(point.step, point.time);
      if (x < buckets.from || x > buckets.to) {
        return;
      }
      const auto bucket = buckets.of(x);
      take_point(kept[bucket], {x, point.value, ordinal});
      if (std::isfinite(point.value)) {
        sums.add(bucket, point.value);
      }
    });
    sums.flush(kept);
  }
  Downsampled result;
  for (std::size_t b = 0; b < kept.size(); ++b) {
    const auto& bucket = kept[b];
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
  std::vector<ChartPoint> points;
  SeriesChunks chunks(source.fd, source.index->end);
  const auto& blocks = source.index->blocks;
  for (std::size_t k = 0; k < blocks.size(); ++k) {
    const auto extent = block_extent(blocks[k], source);
    if (stage_fit(blocks[k], source) == StageFit::none || extent.high < from || extent.low > to) {
      continue;
    }
    read_block(source, chunks, k, [&](const SeriesPoint& point, std::uint64_t ordinal) {
      const double x = source.x_of(point.step, point.time);
      if (x >= from && x <= to) {
        points.push_back({x, point.value, ordinal});
      }
    });
  }
  std::stable_sort(points.begin(), points.end(), by_x);
  return points;
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
