// M4 downsampling of tracked series: the x range cut into equal buckets, and of each bucket
// the first, the smallest, the largest and the last point kept, so a chart drawn from them
// looks as one drawn from every point (a spike is never lost). Works on a series' groups and
// blocks (ui/series_summary.hpp): one inside a bucket is taken whole from its summary, only
// the lines of blocks across a bucket's edge are read, and the result is the same as over
// every point.
#pragma once

#include "ui/series_summary.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xrun::ui {

/// What a chart's x axis shows.
enum class XAxis {
  step,
  time,     // seconds since the epoch
  relative, // seconds since the series' first point
};

/// One run's series file as a request reads it: open, with its blocks.
struct SeriesSource {
  int fd = -1;
  const SeriesIndex* index = nullptr; // the blocks; points_after() needs none
  XAxis axis = XAxis::step;
  /// Only points of this stage; all when nullopt.
  std::optional<std::string> stage;
  /// The time `relative` counts from: the series' first point's (see first_point_time).
  double origin = 0;

  double x_of(double step, double time) const;
};

/// The time of the first point of the open series file `fd` (`size` bytes); 0 when it has none.
double first_point_time(int fd, std::uint64_t size);

/// A point as a chart gets it: its x, its value, and its place in the file (in points).
struct ChartPoint {
  double x = 0;
  double value = 0;
  std::uint64_t ordinal = 0;
};

/// The smallest and largest x of a series' points; nullopt when it has none (of the stage).
struct Extent {
  double low = 0;
  double high = 0;
};
std::optional<Extent> series_extent(const SeriesSource& source);

/// [from, to] cut into `width` equal buckets; the last one holds `to`.
struct Buckets {
  double from = 0;
  double to = 0;
  std::size_t width = 1;

  /// The bucket of an x in [from, to]; never smaller for a larger x.
  std::size_t of(double x) const;
  double start(std::size_t bucket) const;
};

/// The spread of the values of one bucket (lo, hi and mean of the finite ones; NaN when none).
struct BandBucket {
  double x = 0;
  double lo = 0;
  double hi = 0;
  double mean = 0;
};

struct Downsampled {
  std::uint64_t count = 0;        // points in range
  std::vector<ChartPoint> points; // in x order
  std::vector<BandBucket> band;   // one per bucket holding points
};

/// M4 over the points in [buckets.from, buckets.to]. Throws ArchiveError when the series
/// cannot be read.
Downsampled downsample(const SeriesSource& source, const Buckets& buckets);

/// Every point in [from, to], in x order (file order among equal x).
std::vector<ChartPoint> points_in_range(const SeriesSource& source, double from, double to);

/// The points of the lines from byte `offset` on (a line's start), in file order, at most
/// `limit` of them; `next` is the offset after the last line taken, `more` whether points were
/// left for another request.
struct Appended {
  std::vector<ChartPoint> points;
  std::uint64_t next = 0;
  bool more = false;
};
Appended points_after(const SeriesSource& source, std::uint64_t offset, std::uint64_t size,
                      std::size_t limit);

} // namespace xrun::ui
