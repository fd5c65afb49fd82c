// The summary of a long series file: fixed blocks of consecutive points, each holding what
// M4 downsampling needs (count, extent, first, last, min, max, sum) and the bytes of its lines,
// so a request reads the blocks and only the lines of the few blocks that straddle a bucket's
// edge. Kept beside the series as `.track/<name>.csv.m4` (format below and in the README),
// derived from the series alone: deleting it loses nothing, and a stale one is extended or
// rebuilt, never trusted.
#pragma once

#include "ui/series_file.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::ui {

/// Points per block: a block straddling a bucket's edge costs reading this many lines.
inline constexpr std::uint32_t k_block_points = 64;
/// Series of more points than this keep their summary in a file.
inline constexpr std::uint64_t k_summary_file_points = 65536;
/// The summary file of `.track/<name>.csv` is `.track/<name>.csv` + this.
inline constexpr std::string_view k_summary_suffix = ".m4";
/// The longest stage a block records; a block of a longer stage counts as mixed.
inline constexpr std::size_t k_block_stage_bytes = 22;

/// A point of a block as M4 keeps it: both x candidates and the value.
struct BlockPoint {
  double step = 0;
  double time = 0;
  double value = 0;
};

/// What k_block_points consecutive points of a series file (fewer in the last block) hold.
struct SummaryBlock {
  std::uint64_t begin = 0;  // offset of the first point's line
  std::uint64_t end = 0;    // offset after the last point's line
  std::uint32_t count = 0;  // points
  std::uint32_t finite = 0; // points with a finite value
  double min_step = 0, max_step = 0, min_time = 0, max_time = 0;
  BlockPoint first, last; // in file order
  BlockPoint min, max;    // of the finite values, the first in file order of equal ones
  std::uint32_t min_index = 0, max_index = 0; // their places in the block
  double sum = 0;                             // of the finite values, added in file order from 0
  bool mixed_stage = false; // points of different stages (or one too long to record)
  std::string stage;        // the stage of all points, when not mixed

  /// Adds the next point of the file (its line spans [line_begin, line_end)).
  void add(const SeriesPoint& point, std::uint64_t line_begin, std::uint64_t line_end);
};

/// A series file cut into blocks: all hold k_block_points but the last. Point n of the file
/// (in file order, counting points only) is in block n / k_block_points.
struct SeriesIndex {
  std::vector<SummaryBlock> blocks;
  std::uint64_t end = 0;    // offset after the last complete line read
  std::uint64_t points = 0; // in all blocks
  bool from_file = false;   // the summary file was used (and extended if needed)
};

/// The identity of a series file: a summary describes one file, up to `covered` bytes.
struct SeriesIdentity {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
};

/// The blocks of the series file `csv` (open, `size` bytes, `identity`) of the run folder
/// `folder`, named `relative` in it: from its summary file when that still describes it,
/// extended with the lines added since; otherwise built by reading it. A series of more than
/// k_summary_file_points points has its summary file (re)written when it was missing, stale
/// or far behind; where it cannot be written (a read-only folder) the blocks are used and
/// dropped. Throws ArchiveError when the series cannot be read.
SeriesIndex index_series(const std::filesystem::path& folder, std::string_view relative, int csv,
                         std::uint64_t size, SeriesIdentity identity);

/// The summary file's bytes for the full blocks of `index` (the last, partial block is left
/// to be read from the series) of the series `identity` whose bytes up to the blocks' end end
/// with `tail` (the last bytes before that offset, at most 31).
std::string encode_summary(const SeriesIndex& index, SeriesIdentity identity,
                           std::string_view tail);

/// The blocks of a summary file's bytes when it describes the open series file `csv`
/// (`identity`, now `size` bytes long); nullopt when it is damaged, of another version or
/// another file, or when the series no longer holds the bytes it covered (replaced in place).
std::optional<SeriesIndex> decode_summary(std::string_view bytes, int csv, std::uint64_t size,
                                          SeriesIdentity identity);

/// How many points the series file `relative` of `folder` holds, when its summary file covers
/// all but a small tail (counted); nullopt when there is no usable summary.
std::optional<std::uint64_t> summarized_points(const std::filesystem::path& folder,
                                               std::string_view relative);

} // namespace xrun::ui
