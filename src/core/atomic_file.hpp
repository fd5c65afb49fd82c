// Files that are never half-written: readers see the old content or the whole new content.
#pragma once

#include <filesystem>
#include <string_view>

namespace xrun::core {

/// Whether commit() fsyncs the target's folder (making the rename durable) or leaves that to
/// its caller, who syncs it later (util::fsync_directory) off a path someone waits on.
enum class FolderSync { now, by_caller };

/// A file written to a temp file beside its target and renamed over it on commit().
/// The temp file is created in the target's folder (so the rename is atomic) without a name
/// (O_TMPFILE) where the file system allows it, so that a process killed while writing leaves
/// nothing behind; it is written with checked writes, fsynced, named and renamed in one go, and
/// the folder is fsynced. Elsewhere it is a dot-named `.<name>.tmp.XXXXXX`. An AtomicFile
/// destroyed without commit() removes its temp file, so no error path leaves a temp behind.
/// Every failure throws xrun::ArchiveError naming the target.
class AtomicFile {
public:
  explicit AtomicFile(std::filesystem::path target);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  /// Appends `data` to the pending content.
  void write(std::string_view data);

  /// Makes the written content the content of the target. With `replace` false, a target
  /// that exists by then (made by someone else meanwhile) is kept and the commit fails.
  void commit(bool replace = true, FolderSync folder_sync = FolderSync::now);

  const std::filesystem::path& target() const noexcept { return m_target; }

  /// The temp file's descriptor, for writers that need one (a library writing an archive);
  /// they must not close it. commit() still syncs and renames.
  int fd() const noexcept { return m_fd; }

private:
  void discard() noexcept;

  std::filesystem::path m_target;
  std::filesystem::path m_temp;
  int m_fd = -1;
  bool m_committed = false;
};

/// Replaces `target`'s content with `content` atomically. Throws xrun::ArchiveError.
void write_file_atomic(const std::filesystem::path& target, std::string_view content,
                       FolderSync folder_sync = FolderSync::now);

} // namespace xrun::core
