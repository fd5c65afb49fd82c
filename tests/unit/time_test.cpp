#include "util/time.hpp"

#include <cstdlib>
#include <ctime>
#include <cmath>
#include <doctest/doctest.h>
#include <string>

namespace {

std::string with_localtime(std::time_t seconds) {
  std::tm local{};
  ::localtime_r(&seconds, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

/// Sets TZ for the scope of one check, restoring the old value after.
class Zone {
public:
  explicit Zone(const char* zone) {
    if (const char* old = std::getenv("TZ")) {
      m_old = old;
    }
    ::setenv("TZ", zone, 1);
    ::tzset();
  }
  ~Zone() {
    if (m_old.empty()) {
      ::unsetenv("TZ");
    } else {
      ::setenv("TZ", m_old.c_str(), 1);
    }
    ::tzset();
  }
  Zone(const Zone&) = delete;
  Zone& operator=(const Zone&) = delete;

private:
  std::string m_old;
};

} // namespace

TEST_CASE("local time formatting agrees with the C library across zones and their changes") {
  // Rules written out, so no time zone database is needed: central Europe, Lord Howe Island
  // (a half-hour change), Nepal (+5:45), Newfoundland (-3:30 with changes), and UTC.
  const char* zones[] = {"CET-1CEST,M3.5.0,M10.5.0/3", "LHST-10:30LHDT-11,M10.1.0,M4.1.0",
                         "NPT-5:45", "NST3:30NDT,M3.2.0,M11.1.0", "UTC0"};
  for (const char* name : zones) {
    Zone zone(name);
    // Every 7 minutes 13 seconds through 2026 (both changes of each zone), and around 1970.
    for (long long t = 1767225600; t < 1798761600; t += 433) {
      REQUIRE_MESSAGE(xrun::util::format_local(static_cast<double>(t)) == with_localtime(t),
                      name << " at " << t);
    }
    for (long long t = -100000; t < 100000; t += 997) {
      REQUIRE_MESSAGE(xrun::util::format_local(static_cast<double>(t)) == with_localtime(t),
                      name << " at " << t);
    }
  }
  CHECK(xrun::util::format_local(1795440000.9).size() == 19);
}

TEST_CASE("a time outside years 0 to 9999 is shown as a number, not as a garbled date") {
  CHECK(xrun::util::format_local(1e300) == "1e+300 (not a date)");
  CHECK(xrun::util::format_local(-1e12) == "-1000000000000 (not a date)");
  CHECK(xrun::util::format_local(std::nan("")) == "nan (not a date)");
  CHECK(xrun::util::format_local(253402200000.0).starts_with("9999-12-3"));
}
