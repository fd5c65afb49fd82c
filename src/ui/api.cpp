#include "ui/api.hpp"

namespace xrun::ui {

Api::Api(std::filesystem::path root) : m_root(std::move(root)) {
}

Response Api::handle(const Request& request) {
  (void)request;
  return Response::error(404, "no such endpoint");
}

} // namespace xrun::ui
