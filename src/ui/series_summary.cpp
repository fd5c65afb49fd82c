#include "ui/series_summary.hpp"

#include "core/run_files.hpp"
#include "util/fs.hpp"
#include "util/random.hpp"
#include "xrun/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

// The summary file, all numbers in the byte order of the machine that wrote it (a file from a
// machine of the other order fails the check and is rebuilt):
//
//   header, 96 bytes:
//     0  magic "xrun.m4\n"          8  u32 version (2)        12 u32 0x01020304 (byte order)
//     16 u32 points per block (16)  20 u32 record bytes (192)
//     24 u64 device and 32 u64 inode of the series file it was built from
//     40 u64 covered: the offset after the last block's last line
//     48 u64 number of blocks (a multiple of the blocks per group)
//     56 u8 length n (<= 31) and 57 the n bytes of the series before `covered`, zeros to 88
//     88 u32 blocks per group (16), zeros to 96
//   then a record of 192 bytes per group, then one per block, in file order:
//     0 u64 begin, 8 u64 end (byte range of its lines), 16 u32 count, 20 u32 finite values,
//     24 f64 min step, max step, min time, max time,
//     56 f64 first (step, time, value), 80 last (step, time, value),
//     104 min (value, step, time), 128 max (value, step, time), 152 f64 sum of finite values,
//     160 u32 place of the min, 164 u32 place of the max among its points,
//     168 u8 mixed stage (0 or 1), 169 u8 stage length, 170 stage bytes (22), zeros to 192.
//
// The file is replaced whole (temp file and rename), never written in place, so a reader sees
// an old or a new summary; the checks on reading (identity, covered bytes, size) make a stale
// one be rebuilt.

namespace xrun::ui {

namespace {

constexpr std::string_view k_magic = "xrun.m4\n";
constexpr std::uint32_t k_version = 2;
constexpr std::uint32_t k_byte_order = 0x01020304;
constexpr std::size_t k_header_bytes = 96;
constexpr std::size_t k_record_bytes = 192;
constexpr std::size_t k_tail_bytes = 31;
/// A summary file is rewritten once this many groups (and 1/32 of those it has) were added
/// to the series since: until then the new lines are read on each request.
constexpr std::size_t k_rewrite_groups = 4;
/// Groups whose blocks are read from the summary file at once.
constexpr std::uint64_t k_read_ahead_groups = 16;
/// summarized_points() counts the lines past the summary up to this many bytes.
constexpr std::uint64_t k_counted_tail_bytes = std::uint64_t{1} << 20;

class Encoder {
public:
  explicit Encoder(std::string& out) : m_out(out) {}

  template <class T> void put(T value) {
    char bytes[sizeof value];
    std::memcpy(bytes, &value, sizeof value);
    m_out.append(bytes, sizeof value);
  }
  void put(const BlockPoint& point, bool value_first) {
    if (value_first) {
      put(point.value);
    }
    put(point.step);
    put(point.time);
    if (!value_first) {
      put(point.value);
    }
  }
  void put_bytes(std::string_view bytes, std::size_t width) {
    m_out.append(bytes);
    m_out.append(width - bytes.size(), '\0');
  }

private:
  std::string& m_out;
};

class Decoder {
public:
  explicit Decoder(std::string_view in) : m_in(in) {}

  template <class T> T get() {
    T value;
    std::memcpy(&value, m_in.data() + m_at, sizeof value);
    m_at += sizeof value;
    return value;
  }
  BlockPoint get_point(bool value_first) {
    BlockPoint point;
    if (value_first) {
      point.value = get<double>();
    }
    point.step = get<double>();
    point.time = get<double>();
    if (!value_first) {
      point.value = get<double>();
    }
    return point;
  }
  std::string_view get_bytes(std::size_t length, std::size_t width) {
    const auto bytes = m_in.substr(m_at, length);
    m_at += width;
    return bytes;
  }
  void skip_to(std::size_t at) { m_at = at; }

private:
  std::string_view m_in;
  std::size_t m_at = 0;
};

void encode_block(Encoder& out, const SummaryBlock& block) {
  out.put(block.begin);
  out.put(block.end);
  out.put(block.count);
  out.put(block.finite);
  out.put(block.min_step);
  out.put(block.max_step);
  out.put(block.min_time);
  out.put(block.max_time);
  out.put(block.first, false);
  out.put(block.last, false);
  out.put(block.min, true);
  out.put(block.max, true);
  out.put(block.sum);
  out.put(block.min_index);
  out.put(block.max_index);
  out.put(static_cast<std::uint8_t>(block.mixed_stage));
  out.put(static_cast<std::uint8_t>(block.stage.size()));
  out.put_bytes(block.stage, k_block_stage_bytes);
}

/// A block (or group) record of `points` points; nullopt when it does not hold together.
std::optional<SummaryBlock> decode_block(Decoder& in, std::uint32_t points) {
  SummaryBlock block;
  block.begin = in.get<std::uint64_t>();
  block.end = in.get<std::uint64_t>();
  block.count = in.get<std::uint32_t>();
  block.finite = in.get<std::uint32_t>();
  block.min_step = in.get<double>();
  block.max_step = in.get<double>();
  block.min_time = in.get<double>();
  block.max_time = in.get<double>();
  block.first = in.get_point(false);
  block.last = in.get_point(false);
  block.min = in.get_point(true);
  block.max = in.get_point(true);
  block.sum = in.get<double>();
  block.min_index = in.get<std::uint32_t>();
  block.max_index = in.get<std::uint32_t>();
  const auto mixed = in.get<std::uint8_t>();
  const auto stage_length = in.get<std::uint8_t>();
  if (mixed > 1 || stage_length > k_block_stage_bytes || block.count != points ||
      block.finite > block.count || block.min_index >= block.count ||
      block.max_index >= block.count || block.begin >= block.end) {
    return std::nullopt;
  }
  block.mixed_stage = mixed == 1;
  block.stage = std::string(in.get_bytes(stage_length, k_block_stage_bytes));
  return block;
}

/// The last bytes of the series before `offset`, which a summary covering it records.
std::string tail_before(int csv, std::uint64_t offset) {
  const auto length = static_cast<std::size_t>(std::min<std::uint64_t>(k_tail_bytes, offset));
  return util::read_at(csv, offset - length, length);
}

/// What a summary file's header says, once checked against the series it claims to describe.
struct SummaryHeader {
  std::uint64_t covered = 0;
  std::uint64_t blocks = 0;

  std::uint64_t groups() const { return blocks / k_group_blocks; }
  std::uint64_t blocks_at() const { return k_header_bytes + groups() * k_record_bytes; }
};

/// The header of a summary file of `file_bytes` bytes (`header` holds at least its first
/// k_header_bytes) when it describes the open series `csv` (`identity`, `size` bytes).
std::optional<SummaryHeader> decode_header(std::string_view header, std::uint64_t file_bytes,
                                           int csv, std::uint64_t size, SeriesIdentity identity) {
  if (header.size() < k_header_bytes || !header.starts_with(k_magic)) {
    return std::nullopt;
  }
  Decoder in(header);
  in.skip_to(k_magic.size());
  const auto version = in.get<std::uint32_t>();
  const auto byte_order = in.get<std::uint32_t>();
  const auto block_points = in.get<std::uint32_t>();
  const auto record_bytes = in.get<std::uint32_t>();
  const auto device = in.get<std::uint64_t>();
  const auto inode = in.get<std::uint64_t>();
  const SummaryHeader read{in.get<std::uint64_t>(), in.get<std::uint64_t>()};
  const auto tail_length = in.get<std::uint8_t>();
  const auto tail = in.get_bytes(tail_length, 0);
  in.skip_to(88);
  const auto group_blocks = in.get<std::uint32_t>();
  const auto records = read.groups() + read.blocks;
  if (version != k_version || byte_order != k_byte_order || block_points != k_block_points ||
      record_bytes != k_record_bytes || group_blocks != k_group_blocks ||
      device != identity.device || inode != identity.inode || read.covered > size ||
      tail_length > k_tail_bytes || tail_length > read.covered ||
      read.blocks % k_group_blocks != 0 || read.blocks > file_bytes / k_record_bytes ||
      file_bytes != k_header_bytes + records * k_record_bytes) {
    return std::nullopt;
  }
  // The same file, shrunk and written again in place, fails here.
  if (tail != util::read_at(csv, read.covered - tail_length, tail_length)) {
    return std::nullopt;
  }
  return read;
}

/// Decodes `count` records of `points` points each, in a row; nullopt when one does not hold
/// together or they do not follow each other.
std::optional<std::vector<SummaryBlock>> decode_blocks(std::string_view bytes, std::size_t count,
                                                       std::uint32_t points) {
  if (bytes.size() != count * k_record_bytes) {
    return std::nullopt;
  }
  Decoder in(bytes);
  std::vector<SummaryBlock> blocks;
  blocks.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto block = decode_block(in, points);
    if (!block || (i > 0 && block->begin < blocks.back().end)) {
      return std::nullopt;
    }
    blocks.push_back(std::move(*block));
  }
  return blocks;
}

/// The index of the summary file `summary` (open) when it describes the series `csv`: its
/// groups read, its blocks left in the file.
std::optional<SeriesIndex> open_summary(util::RegularFile summary, int csv, std::uint64_t size,
                                        SeriesIdentity identity) {
  const auto header = decode_header(util::read_at(summary.fd.get(), 0, k_header_bytes),
                                    summary.size, csv, size, identity);
  if (!header) {
    return std::nullopt;
  }
  const auto groups = static_cast<std::size_t>(header->groups());
  auto decoded =
      decode_blocks(util::read_at(summary.fd.get(), k_header_bytes, groups * k_record_bytes),
                    groups, k_group_points);
  if (!decoded || (groups > 0 && decoded->back().end != header->covered)) {
    return std::nullopt;
  }
  SeriesIndex index;
  index.groups = std::move(*decoded);
  index.end = header->covered;
  index.points = header->blocks * k_block_points;
  index.from_file = true;
  index.m_first_block = header->blocks;
  index.m_file = std::move(summary.fd);
  index.m_blocks_at = header->blocks_at();
  return index;
}

/// The series' points from `start` added to the blocks in memory (the last one continued
/// when partial), and the groups made again from them.
void extend_index(SeriesIndex& index, int csv, std::uint64_t start, std::uint64_t size) {
  auto& blocks = index.m_blocks;
  index.end = for_each_point(csv, start, size,
                             [&](const SeriesPoint& point, std::uint64_t begin, std::uint64_t end) {
                               if (blocks.empty() || blocks.back().count == k_block_points) {
                                 blocks.emplace_back();
                               }
                               blocks.back().add(point, begin, end);
                               ++index.points;
                               return true;
                             });
  // The blocks in memory start a group (the file holds whole groups).
  index.groups.resize(static_cast<std::size_t>(index.m_first_block / k_group_blocks));
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (i % k_group_blocks == 0) {
      index.groups.emplace_back();
    }
    index.groups.back().add(blocks[i]);
  }
}

/// Whether the summary file of `index` (holding `on_disk` groups) is worth writing again.
bool worth_writing(const SeriesIndex& index, std::size_t on_disk) {
  const auto full = static_cast<std::size_t>(index.points / k_group_points);
  return index.points > k_summary_file_points && full > on_disk &&
         (on_disk == 0 || full - on_disk >= std::max(k_rewrite_groups, on_disk / 32));
}

/// The summary file's bytes for the full groups of `index` (the last, partial group is left
/// to be read from the series); `tail` ends the series' bytes they cover.
std::string encode_summary(const SeriesIndex& index, SeriesIdentity identity,
                           std::string_view tail) {
  const auto groups = static_cast<std::size_t>(index.points / k_group_points);
  const auto blocks = groups * k_group_blocks;
  const std::uint64_t covered = groups == 0 ? 0 : index.groups[groups - 1].end;
  std::string bytes;
  bytes.reserve(k_header_bytes + (groups + blocks) * k_record_bytes);
  Encoder out(bytes);
  out.put_bytes(k_magic, k_magic.size());
  out.put(k_version);
  out.put(k_byte_order);
  out.put(k_block_points);
  out.put(static_cast<std::uint32_t>(k_record_bytes));
  out.put(identity.device);
  out.put(identity.inode);
  out.put(covered);
  out.put(static_cast<std::uint64_t>(blocks));
  tail = tail.substr(tail.size() - std::min(tail.size(), k_tail_bytes));
  out.put(static_cast<std::uint8_t>(tail.size()));
  out.put_bytes(tail, 88 - bytes.size());
  out.put(k_group_blocks);
  out.put_bytes({}, k_header_bytes - bytes.size());
  for (std::size_t g = 0; g < groups; ++g) {
    encode_block(out, index.groups[g]);
  }
  // The blocks the old file holds are copied as they are.
  const auto kept = std::min<std::uint64_t>(index.m_first_block, blocks);
  if (kept > 0) {
    const auto old = util::read_at(index.m_file.get(), index.m_blocks_at,
                                   static_cast<std::size_t>(kept * k_record_bytes));
    if (old.size() != kept * k_record_bytes) {
      throw ArchiveError("the summary file being extended was cut short");
    }
    bytes += old;
  }
  for (std::size_t k = static_cast<std::size_t>(kept); k < blocks; ++k) {
    encode_block(out, index.m_blocks[k - static_cast<std::size_t>(index.m_first_block)]);
  }
  return bytes;
}

} // namespace

void SummaryBlock::add(const SeriesPoint& point, std::uint64_t line_begin, std::uint64_t line_end) {
  const BlockPoint here{point.step, point.time, point.value};
  if (count == 0) {
    begin = line_begin;
    first = here;
    min_step = max_step = point.step;
    min_time = max_time = point.time;
    mixed_stage = point.stage.size() > k_block_stage_bytes;
    if (!mixed_stage) {
      stage = std::string(point.stage);
    }
  } else {
    min_step = std::min(min_step, point.step);
    max_step = std::max(max_step, point.step);
    min_time = std::min(min_time, point.time);
    max_time = std::max(max_time, point.time);
    if (!mixed_stage && point.stage != stage) {
      mixed_stage = true;
      stage.clear();
    }
  }
  last = here;
  end = line_end;
  if (std::isfinite(point.value)) {
    if (finite == 0 || point.value < min.value) {
      min = here;
      min_index = count;
    }
    if (finite == 0 || point.value > max.value) {
      max = here;
      max_index = count;
    }
    sum += point.value;
    ++finite;
  }
  ++count;
}

void SummaryBlock::add(const SummaryBlock& block) {
  if (count == 0) {
    begin = block.begin;
    first = block.first;
    min_step = block.min_step;
    max_step = block.max_step;
    min_time = block.min_time;
    max_time = block.max_time;
    mixed_stage = block.mixed_stage;
    stage = block.stage;
  } else {
    min_step = std::min(min_step, block.min_step);
    max_step = std::max(max_step, block.max_step);
    min_time = std::min(min_time, block.min_time);
    max_time = std::max(max_time, block.max_time);
    if (!mixed_stage && (block.mixed_stage || block.stage != stage)) {
      mixed_stage = true;
      stage.clear();
    }
  }
  last = block.last;
  end = block.end;
  if (block.finite > 0) {
    if (finite == 0 || block.min.value < min.value) {
      min = block.min;
      min_index = count + block.min_index;
    }
    if (finite == 0 || block.max.value > max.value) {
      max = block.max;
      max_index = count + block.max_index;
    }
    sum += block.sum;
    finite += block.finite;
  }
  count += block.count;
}

std::vector<SummaryBlock> SeriesIndex::blocks_of(std::size_t group, ReadAhead& ahead) const {
  const std::uint64_t first = std::uint64_t{group} * k_group_blocks;
  if (first >= m_first_block) {
    const auto from = static_cast<std::size_t>(first - m_first_block);
    const auto to = std::min(m_blocks.size(), from + k_group_blocks);
    return {m_blocks.begin() + static_cast<std::ptrdiff_t>(from),
            m_blocks.begin() + static_cast<std::ptrdiff_t>(to)};
  }
  // A group of the summary file: its blocks are read from it now (a request needs those of
  // about `width` groups), with those of a few groups after it, which a walk often needs next.
  const auto cached = ahead.records.size() / k_record_bytes;
  if (first < ahead.first_block || first + k_group_blocks > ahead.first_block + cached) {
    const auto blocks =
        std::min<std::uint64_t>(k_read_ahead_groups * k_group_blocks, m_first_block - first);
    ahead.first_block = first;
    ahead.records = util::read_at(m_file.get(), m_blocks_at + first * k_record_bytes,
                                  static_cast<std::size_t>(blocks * k_record_bytes));
  }
  const auto bytes =
      std::string_view(ahead.records)
          .substr(static_cast<std::size_t>(first - ahead.first_block) * k_record_bytes,
                  k_group_blocks * k_record_bytes);
  auto blocks = decode_blocks(bytes, k_group_blocks, k_block_points);
  if (!blocks) {
    throw ArchiveError("the summary file of a series changed while it was read");
  }
  return std::move(*blocks);
}

namespace {

/// Makes `relative` inside `folder` hold `content` (a temp file beside it, renamed over it),
/// in the folder reached with no link followed below `folder`, so a folder swapped for a link
/// never leads the write elsewhere. Not synced: a summary lost to a crash is rebuilt, and a
/// damaged one replaced. Returns whether it was written.
bool write_beside(const std::filesystem::path& folder, const std::string& relative,
                  std::string_view content) {
  const auto place = util::open_folder_of(folder, relative);
  if (!place.at.valid()) {
    return false;
  }
  const auto temp = fmt::format(".{}.{}.tmp", place.name, util::random_token(8));
  util::FileDescriptor out(::openat(place.at.get(), temp.c_str(),
                                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666));
  if (!out.valid()) {
    return false;
  }
  bool written = false;
  try {
    util::write_all(out.get(), content, temp);
    written = ::renameat(place.at.get(), temp.c_str(), place.at.get(), place.name.c_str()) == 0;
  } catch (const std::exception&) {
    // written stays false: the temp file goes
  }
  if (!written) {
    ::unlinkat(place.at.get(), temp.c_str(), 0);
  }
  return written;
}

} // namespace

SeriesIndex index_series(const std::filesystem::path& folder, std::string_view relative, int csv,
                         std::uint64_t size, SeriesIdentity identity) {
  const std::string summary_name = std::string(relative) + std::string(k_summary_suffix);
  SeriesIndex index;
  if (auto summary = util::open_regular_file(folder, summary_name); summary.ok()) {
    if (auto opened = open_summary(std::move(summary), csv, size, identity)) {
      index = std::move(*opened);
    }
  }
  const std::size_t on_disk = index.groups.size();
  extend_index(index, csv, index.end, size);
  if (!worth_writing(index, on_disk)) {
    return index;
  }
  const auto full = static_cast<std::size_t>(index.points / k_group_points);
  // A folder the viewer may not write (another user's archive, a read-only copy): the blocks
  // serve this request and are dropped.
  write_beside(folder, summary_name,
               encode_summary(index, identity, tail_before(csv, index.groups[full - 1].end)));
  return index;
}

std::optional<std::uint64_t> summarized_points(const std::filesystem::path& folder,
                                               std::string_view relative) {
  const auto csv = util::open_regular_file(folder, relative);
  if (!csv.ok()) {
    return std::nullopt;
  }
  struct stat info {};
  if (::fstat(csv.fd.get(), &info) != 0) {
    return std::nullopt;
  }
  // The header tells the points it covers: the records need not be read.
  const auto summary =
      util::open_regular_file(folder, std::string(relative) + std::string(k_summary_suffix));
  if (!summary.ok()) {
    return std::nullopt;
  }
  const SeriesIdentity identity{static_cast<std::uint64_t>(info.st_dev),
                                static_cast<std::uint64_t>(info.st_ino)};
  const auto size = static_cast<std::uint64_t>(info.st_size);
  const auto header = decode_header(util::read_at(summary.fd.get(), 0, k_header_bytes),
                                    summary.size, csv.fd.get(), size, identity);
  if (!header || size - header->covered > k_counted_tail_bytes) {
    return std::nullopt;
  }
  std::uint64_t points = header->blocks * k_block_points;
  for_each_point(csv.fd.get(), header->covered, size,
                 [&](const SeriesPoint&, std::uint64_t, std::uint64_t) {
                   ++points;
                   return true;
                 });
  return points;
}

} // namespace xrun::ui
