// The Python packages an experiment's interpreter can import, with their versions.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::run {

/// A distribution's name as pip compares names (PEP 503): lower case, with each run of `-`,
/// `_` and `.` made one `-` (`PyYAML` -> `pyyaml`, `lazr.uri` -> `lazr-uri`).
std::string normalized_package_name(std::string_view name);

/// The distributions installed in `folders` (an interpreter's sys.path), as `pip freeze`
/// lists them: normalized name -> version. Read from the names of the `*.dist-info` and
/// `*.egg-info` entries (`numpy-1.24.2.egg-info`); the metadata file is read only for an
/// entry whose name carries no version. A name in an earlier folder hides the same name in
/// later ones, as for import. Folders that are missing or not folders are passed over; never
/// throws.
std::map<std::string, std::string>
installed_packages(const std::vector<std::filesystem::path>& folders);

} // namespace xrun::run
