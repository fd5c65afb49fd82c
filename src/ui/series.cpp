#include "ui/series.hpp"

namespace xrun::ui {

Response series_list(const std::filesystem::path&) {
  return Response::error(404, "tracked series are not served by this build");
}

Response series_data(const std::filesystem::path&, const std::vector<std::string>&,
                     const Request&) {
  return Response::error(404, "tracked series are not served by this build");
}

} // namespace xrun::ui
