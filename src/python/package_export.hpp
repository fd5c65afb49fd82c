// The `xrun` Python package on disk, for interpreters other than the embedded one.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

namespace xrun::python {

/// A folder holding exactly the `xrun` package compiled into this binary, for PYTHONPATH:
/// plain `python3 exp.py`, and the processes an experiment starts (multiprocessing workers
/// import the experiment module, and so `xrun`); beside the package, `plugin-cache/` for the
/// plugins' bytecode. Written once per package version under $XDG_CACHE_HOME/xrun (or
/// ~/.cache/xrun, else xrun-<uid> in the temp folder), in folders private to this user; when
/// a level of that is not (another user's, writable by others, a link), a new private folder
/// in the temp folder is used instead, with a warning. Throws RecordError.
std::filesystem::path exported_package_dir();

/// Whether the export in `dir` is stamped as checked: every module and its bytecode exported
/// and compiled by this binary for this interpreter, and no file added, removed or renamed since
/// (a module edited in place is still checked by Python against its bytecode). Then a process
/// imports it without comparing each file. Asked once per process.
bool package_export_stamped(const std::filesystem::path& dir);

/// Stamps the export in `dir` as checked, after every module's bytecode was checked or written.
void stamp_package_export(const std::filesystem::path& dir);

/// The names of the files of the `xrun` package (`__init__.py` and its modules), as exported
/// to exported_package_dir() / "xrun".
std::vector<std::string_view> package_files();

/// The plugins installed with this binary: `<prefix>/share/xrun/plugins` beside `<prefix>/bin`,
/// or `plugins/` beside the binary in a build folder; empty when there is neither.
std::filesystem::path builtin_plugin_dir();

} // namespace xrun::python
