// `xrun archive extract`: every entry checked before anything is written (no escape from the
// target, no device or FIFO, modes made safe), then written; a failure removes what was made.
#include "archive/pack.hpp"

#include "archive/libarchive_io.hpp"
#include "archive/runs.hpp"
#include "core/atomic_file.hpp"
#include "core/diagnostics.hpp"
#include "util/checksum.hpp"
#include "util/fs.hpp"
#include "util/progress.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"

#include <algorithm>
#include <archive.h>
#include <archive_entry.h>
#include <cerrno>
#include <clocale>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace xrun::archive {

using namespace libarchive;

namespace {

/// Whether `path` (relative, already without `..`) stays inside the folder when resolved
/// lexically from `base` (a relative folder inside the target).
bool stays_inside(const std::filesystem::path& base, const std::filesystem::path& path) {
  if (path.is_absolute()) {
    return false;
  }
  int depth = 0;
  for (const auto& part : base / path) {
    if (part == "..") {
      if (--depth < 0) {
        return false;
      }
    } else if (part != "." && !part.empty()) {
      ++depth;
    }
  }
  return true;
}

/// An entry's path without `.` or empty parts, joined by '/': the same key for `results/a`,
/// `./results/a` and `results/a/`. Empty for the target folder itself.
std::string entry_key(const std::filesystem::path& name) {
  std::string key;
  for (const auto& part : name) {
    if (part.empty() || part == ".") {
      continue;
    }
    if (!key.empty()) {
      key += '/';
    }
    key += part.string();
  }
  return key;
}

/// The folders a key lies in, outermost first (`a`, `a/b` for `a/b/c`).
std::vector<std::string> folders_of(const std::string& key) {
  std::vector<std::string> folders;
  for (auto slash = key.find('/'); slash != std::string::npos; slash = key.find('/', slash + 1)) {
    folders.push_back(key.substr(0, slash));
  }
  return folders;
}

enum class Kind { file, folder, symlink, hardlink };

/// What an entry is; nullopt for a device, pipe or socket. A hard link's header may carry any
/// file type (Python's tarfile writes none): its link name decides.
std::optional<Kind> kind_of(archive_entry* entry) {
  if (archive_entry_hardlink(entry)) {
    return Kind::hardlink;
  }
  switch (archive_entry_filetype(entry)) {
  case AE_IFREG:
    return Kind::file;
  case AE_IFDIR:
    return Kind::folder;
  case AE_IFLNK:
    return Kind::symlink;
  default:
    return std::nullopt;
  }
}

/// A link's target as written in the archive ("" for other entries).
std::string link_of(archive_entry* entry) {
  const char* link = archive_entry_hardlink(entry);
  if (!link) {
    link = archive_entry_symlink(entry);
  }
  return link ? link : "";
}

/// One entry as the checking pass saw it; the writing pass must meet the same entries.
struct Checked {
  std::string name; // as written in the archive, for messages
  std::string key;  // see entry_key()
  Kind kind;
  std::string link; // a link's target as written in the archive
};

/// The real path `target` names; it need not exist yet (nothing is created before every entry
/// is checked), but its deepest existing part must be a folder.
std::filesystem::path target_root(const std::filesystem::path& target) {
  std::error_code error;
  const auto root = std::filesystem::weakly_canonical(std::filesystem::absolute(target), error);
  if (error) {
    throw UsageError(fmt::format("cannot extract into {}: {}", target.string(), error.message()));
  }
  for (auto part = root;; part = part.parent_path()) {
    const auto status = std::filesystem::symlink_status(part, error);
    if (std::filesystem::exists(status)) {
      if (!std::filesystem::is_directory(status)) {
        throw UsageError(fmt::format("cannot extract into {}: {} is not a folder", target.string(),
                                     part.string()),
                         "give --path a folder (it is created if missing)");
      }
      break;
    }
    if (part == part.parent_path()) {
      break;
    }
  }
  return root;
}

/// The checking pass: reads every header and refuses the whole archive (UsageError naming the
/// entry) for one entry that would land outside `root`, write through a symbolic link, let a
/// link lead out through another link, name a path twice, or replace a file on disk.
std::vector<Checked> check_entries(struct archive* reader, const std::filesystem::path& file,
                                   const std::filesystem::path& root) {
  std::vector<Checked> entries;
  std::map<std::string, Kind> kinds;
  const auto refuse = [&file](const std::string& name, const std::string& why) {
    throw UsageError(fmt::format("{}: refusing entry '{}': {}", file.string(), name, why),
                     "nothing was extracted");
  };

  archive_entry* entry = nullptr;
  int status = ARCHIVE_OK;
  while ((status = next_header(reader, &entry)) == ARCHIVE_OK) {
    const char* raw_name = archive_entry_pathname(entry);
    const std::string name = raw_name ? raw_name : "";
    const std::filesystem::path path = name;
    if (path.is_absolute()) {
      refuse(name, "an absolute path");
    }
    for (const auto& part : path) {
      if (part == "..") {
        refuse(name, "it climbs out with '..'");
      }
    }
    const auto kind = kind_of(entry);
    if (!kind) {
      refuse(name, "not a file, folder or link (a device, pipe or socket)");
    }
    Checked checked{name, entry_key(path), *kind, link_of(entry)};
    if (checked.kind == Kind::hardlink) {
      if (!stays_inside({}, checked.link)) {
        refuse(name, fmt::format("a hard link to '{}' outside the target folder", checked.link));
      }
      const auto earlier = kinds.find(entry_key(checked.link));
      if (earlier == kinds.end() ||
          (earlier->second != Kind::file && earlier->second != Kind::hardlink)) {
        refuse(name, fmt::format("a hard link to '{}', which is not a file earlier in the archive",
                                 checked.link));
      }
    }
    if (checked.kind == Kind::symlink && checked.link.empty()) {
      refuse(name, "a link without a target");
    }
    if (checked.kind == Kind::symlink && !stays_inside(path.parent_path(), checked.link)) {
      refuse(name, fmt::format("a link to '{}' outside the target folder", checked.link));
    }
    if (checked.key.empty()) {
      if (checked.kind != Kind::folder) {
        refuse(name, "it names the target folder itself");
      }
    } else if (!kinds.emplace(checked.key, checked.kind).second) {
      refuse(name, "the archive holds this name twice");
    }
    entries.push_back(std::move(checked));
  }
  if (status != ARCHIVE_EOF) {
    const char* why = archive_error_string(reader);
    throw UsageError(fmt::format("{} is damaged: {}", file.string(), why ? why : "unknown error"),
                     "nothing was extracted");
  }

  // With every name known, what each entry passes through: a link named later in the archive
  // counts as much as one named earlier, and so does anything already on disk.
  std::map<std::string, struct stat> on_disk;
  const auto disk = [&](const std::string& key) -> const struct stat* {
    auto it = on_disk.find(key);
    if (it == on_disk.end()) {
      struct stat info {};
      if (::lstat((root / key).c_str(), &info) != 0) {
        info.st_mode = 0;
      }
      it = on_disk.emplace(key, info).first;
    }
    return it->second.st_mode == 0 ? nullptr : &it->second;
  };
  const auto is_link = [&](const std::string& key) {
    const auto found = kinds.find(key);
    if (found != kinds.end()) {
      return found->second == Kind::symlink;
    }
    const auto* info = disk(key);
    return info && S_ISLNK(info->st_mode);
  };
  for (const auto& checked : entries) {
    if (checked.key.empty()) {
      continue;
    }
    for (const auto& folder : folders_of(checked.key)) {
      const auto found = kinds.find(folder);
      if (found != kinds.end() && found->second == Kind::symlink) {
        refuse(checked.name, fmt::format("it goes through the link '{}' in the archive", folder));
      }
      if (found != kinds.end() && found->second != Kind::folder) {
        refuse(checked.name,
               fmt::format("it lies inside '{}', which the archive holds as a file", folder));
      }
      const auto* info = disk(folder);
      if (info && !S_ISDIR(info->st_mode)) {
        refuse(checked.name,
               fmt::format("{} exists already and is not a folder", (root / folder).string()));
      }
    }
    if (const auto* info = disk(checked.key)) {
      if (checked.kind != Kind::folder) {
        refuse(checked.name, fmt::format("{} exists already", (root / checked.key).string()));
      }
      if (!S_ISDIR(info->st_mode)) {
        refuse(checked.name,
               fmt::format("{} exists already and is not a folder", (root / checked.key).string()));
      }
    }
    if (checked.kind != Kind::symlink) {
      continue;
    }
    // The lexical check above trusts every part of the link's target to be a real folder;
    // walk it as the kernel would and refuse a link part way, which may lead anywhere.
    const auto at = folders_of(checked.key);
    std::string here = at.empty() ? std::string() : at.back();
    std::vector<std::string> steps;
    for (const auto& part : std::filesystem::path(checked.link)) {
      if (!part.empty() && part != ".") {
        steps.push_back(part.string());
      }
    }
    for (std::size_t i = 0; i + 1 < steps.size(); ++i) {
      if (steps[i] == "..") {
        const auto slash = here.rfind('/');
        here = slash == std::string::npos ? std::string() : here.substr(0, slash);
        continue;
      }
      here = here.empty() ? steps[i] : here + "/" + steps[i];
      if (is_link(here)) {
        refuse(checked.name,
               fmt::format("its target '{}' goes through the link '{}'", checked.link, here));
      }
    }
  }
  return entries;
}

/// What one extraction created, so that a failure part way can take all of it back.
class Created {
public:
  /// Notes `path` and the folders it lies in that do not exist yet (the next write creates them).
  void note(const std::filesystem::path& path) {
    std::vector<std::filesystem::path> missing;
    for (auto part = path; !part.empty() && part != part.parent_path(); part = part.parent_path()) {
      if (m_known.contains(part.string())) {
        break;
      }
      m_known.insert(part.string());
      std::error_code error;
      if (std::filesystem::exists(std::filesystem::symlink_status(part, error))) {
        break;
      }
      missing.push_back(part);
    }
    m_paths.insert(m_paths.end(), missing.rbegin(), missing.rend());
  }

  /// Removes everything noted, innermost first; returns the paths that could not be removed.
  std::vector<std::string> undo() noexcept {
    std::vector<std::string> left;
    // Folders the archive made read-only (set when the writer closes) must be opened to empty.
    for (const auto& path : m_paths) {
      std::error_code error;
      if (std::filesystem::is_directory(std::filesystem::symlink_status(path, error))) {
        std::filesystem::permissions(path, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add, error);
      }
    }
    for (auto it = m_paths.rbegin(); it != m_paths.rend(); ++it) {
      std::error_code error;
      std::filesystem::remove_all(*it, error);
      if (error) {
        left.push_back(it->string());
      }
    }
    m_paths.clear();
    return left;
  }

private:
  std::set<std::string> m_known;
  std::vector<std::filesystem::path> m_paths;
};

/// The writing pass: every entry under `root`, each the same as the checking pass saw it.
/// `created` learns each path before it is written. Throws ArchiveError.
std::size_t write_entries(struct archive* reader, const std::filesystem::path& file,
                          const std::filesystem::path& root, const std::vector<Checked>& checked,
                          Created& created) {
  Writer disk(archive_write_disk_new());
  archive_write_disk_set_options(
      // Entries were checked above and are placed under `root` by an absolute path, so
      // libarchive's own refusal of absolute paths cannot be used; its other guards still are.
      // Without ARCHIVE_EXTRACT_PERM the modes lose setuid, setgid and sticky bits and pass
      // through the umask, as tar extracts for an ordinary user: an archive from anyone must
      // not leave a setuid program or a world-writable folder, whoever extracts it (root too).
      disk.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                      ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_NO_OVERWRITE);
  archive_entry* entry = nullptr;
  std::size_t count = 0;
  std::vector<char> buffer(k_block);
  util::Progress progress("extract", checked.size(), "entries");
  int status = ARCHIVE_OK;
  while ((status = next_header(reader, &entry)) == ARCHIVE_OK) {
    // The file is read twice; what is written must be what was checked.
    const char* name = archive_entry_pathname(entry);
    if (count >= checked.size() || checked[count].name != (name ? name : "") ||
        checked[count].kind != kind_of(entry) || checked[count].link != link_of(entry)) {
      throw ArchiveError(fmt::format("{} changed while it was being extracted", file.string()));
    }
    const auto& expected = checked[count];
    const auto destination = root / expected.key;
    archive_entry_set_pathname(entry, destination.c_str());
    if (expected.kind == Kind::hardlink) {
      archive_entry_set_hardlink(entry, (root / entry_key(expected.link)).c_str());
    }
    created.note(destination);
    if (archive_write_header(disk.get(), entry) != ARCHIVE_OK) {
      fail_disk(disk.get(), fmt::format("cannot extract {}", destination.string()));
    }
    la_ssize_t got = 0;
    std::uint64_t bytes = 0;
    while ((got = archive_read_data(reader, buffer.data(), buffer.size())) > 0) {
      if (archive_write_data(disk.get(), buffer.data(), static_cast<std::size_t>(got)) < 0) {
        fail_disk(disk.get(), fmt::format("cannot extract {}", destination.string()));
      }
      bytes += static_cast<std::uint64_t>(got);
    }
    if (got < 0) {
      fail_archive(reader, fmt::format("{} is damaged at {}", file.string(), expected.name));
    }
    if (archive_write_finish_entry(disk.get()) != ARCHIVE_OK) {
      fail_disk(disk.get(), fmt::format("cannot extract {}", destination.string()));
    }
    ++count;
    progress.advance(1, bytes);
  }
  if (status != ARCHIVE_EOF) {
    fail_archive(reader, fmt::format("{} is damaged", file.string()));
  }
  if (count != checked.size()) {
    throw ArchiveError(fmt::format("{} changed while it was being extracted", file.string()));
  }
  progress.finish();
  if (archive_write_close(disk.get()) != ARCHIVE_OK) {
    fail_disk(disk.get(), fmt::format("cannot finish extracting into {}", root.string()));
  }
  return count;
}

} // namespace

int extract_archive(const std::filesystem::path& file, const std::filesystem::path& target,
                    std::ostream& out) {
  use_utf8_names();
  const auto open = [&file] {
    std::string problem;
    auto reader = open_reader(file, problem);
    if (!reader) {
      throw UsageError(fmt::format("cannot read archive {}: {}", file.string(), problem));
    }
    return reader;
  };

  // Entries are placed under the target's real path: libarchive refuses to write through a
  // symbolic link, and a target given as a link is the user's choice, not the archive's.
  const auto root = target_root(target);
  const auto checked = check_entries(open().get(), file, root);

  auto reader = open();
  Created created;
  std::size_t count = 0;
  try {
    created.note(root);
    std::error_code error;
    std::filesystem::create_directories(root, error);
    if (error) {
      throw ArchiveError(fmt::format("cannot create {}: {}", root.string(), error.message()));
    }
    count = write_entries(reader.get(), file, root, checked, created);
  } catch (const std::exception& error) {
    const auto left = created.undo();
    const auto* known = dynamic_cast<const Error*>(&error);
    auto message =
        left.empty() ? fmt::format("{}; everything this extraction wrote was removed", error.what())
                     : fmt::format("{}; could not remove what this extraction wrote: {}",
                                   error.what(), util::join(left, ", "));
    if (known && known->kind() == ErrorKind::system) { // a full disk is no bad input
      throw SystemError(message, known->hint());
    }
    throw ArchiveError(message, known ? known->hint() : std::string());
  }
  out << fmt::format("{}: {} extracted into {}\n", file.string(),
                     util::count_of(count, "entry", "entries"), target.string());
  return 0;
}

} // namespace xrun::archive
