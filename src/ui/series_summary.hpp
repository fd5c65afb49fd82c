// The summary of a long series file: blocks of consecutive points and groups of blocks, each
// holding what M4 downsampling needs (count, extent, first, last, min, max, sum) and the bytes
// of its lines, so a request reads the groups, the blocks of the few groups that straddle a
// bucket's edge and only the lines of the blocks that do. Kept beside the series as
// `.track/<name>.csv.m4` (format in series_summary.cpp and the README), derived from the
// series alone: deleting it loses nothing, and a stale one is extended or rebuilt, never
// trusted.
#pragma once

#include "core/run_files.hpp"
#include "ui/series_file.hpp"
#include "util/fs.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::ui {

/// Points per block: a block straddling a bucket's edge costs reading this many lines.
inline constexpr std::uint32_t k_block_points = 16;
/// Blocks per group: a group inside one bucket is taken whole; only the blocks of groups that
/// straddle a bucket's edge are read, so a request reads about `width` groups' blocks.
inline constexpr std::uint32_t k_group_blocks = 16;
inline constexpr std::uint32_t k_group_points = k_block_points * k_group_blocks;
/// Series of more points than this keep their summary in a file.
inline constexpr std::uint64_t k_summary_file_points = 65536;
/// The summary file of `.track/<name>.csv` is `.track/<name>.csv` + this.
inline constexpr std::string_view k_summary_suffix = core::k_series_summary_suffix;
/// The longest stage a block records; a block of a longer stage counts as mixed.
inline constexpr std::size_t k_block_stage_bytes = 22;

/// A point of a block as M4 keeps it: both x candidates and the value.
struct BlockPoint {
  double step = 0;
  double time = 0;
  double value = 0;
};

/// What consecutive points of a series file hold: k_block_points of them (fewer in the last
/// block), or a group of k_group_blocks blocks.
struct SummaryBlock {
  std::uint64_t begin = 0;  // offset of the first point's line
  std::uint64_t end = 0;    // offset after the last point's line
  std::uint32_t count = 0;  // points
  std::uint32_t finite = 0; // points with a finite value
  double min_step = 0, max_step = 0, min_time = 0, max_time = 0;
  BlockPoint first, last; // in file order
  BlockPoint min, max;    // of the finite values, the first in file order of equal ones
  std::uint32_t min_index = 0, max_index = 0; // their places among the block's points
  /// Of the finite values, added in file order from 0; a group's, of its blocks' sums so.
  double sum = 0;
  bool mixed_stage = false; // points of different stages (or one too long to record)
  std::string stage;        // the stage of all points, when not mixed

  /// Adds the next point of the file (its line spans [line_begin, line_end)).
  void add(const SeriesPoint& point, std::uint64_t line_begin, std::uint64_t line_end);
  /// Adds the next block of the file (to a group).
  void add(const SummaryBlock& block);
};

/// A series file cut into blocks, and the blocks into groups: all full but the last. Point n of
/// the file (in file order, counting points only) is in block n / k_block_points and group
/// n / k_group_points. The groups are in memory; the blocks of the summary file are read from
/// it when asked for (a request needs those of few groups), the blocks after it are in memory.
struct SeriesIndex {
  std::vector<SummaryBlock> groups;
  std::uint64_t end = 0;    // offset after the last complete line read
  std::uint64_t points = 0; // in all blocks
  bool from_file = false;   // the summary file was used (and extended if needed)

  /// Records read ahead from the summary file by blocks_of(), for the groups that follow.
  struct ReadAhead {
    std::string records;
    std::uint64_t first_block = 0;
  };

  /// The blocks of group `group`, in file order (`ahead` keeps what was read of the groups
  /// after it, for a walk in file order). Throws ArchiveError when the summary file cannot be
  /// read.
  std::vector<SummaryBlock> blocks_of(std::size_t group, ReadAhead& ahead) const;

  // Blocks [0, m_first_block) are in the summary file m_file, from byte m_blocks_at on; the
  // others, from m_first_block on, in m_blocks.
  std::uint64_t m_first_block = 0;
  std::vector<SummaryBlock> m_blocks;
  util::FileDescriptor m_file;
  std::uint64_t m_blocks_at = 0;
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

/// How many points the series file `relative` of `folder` holds, when its summary file covers
/// all but a small tail (counted); nullopt when there is no usable summary.
std::optional<std::uint64_t> summarized_points(const std::filesystem::path& folder,
                                               std::string_view relative);

} // namespace xrun::ui
