#include "util/time.hpp"

#include <cmath>
#include <ctime>
#include <limits>
#include <fmt/format.h>

namespace xrun::util {

UtcTime to_utc(Clock::time_point time) {
  const auto millis =
      std::chrono::floor<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const auto seconds = static_cast<std::time_t>(millis >= 0 ? millis / 1000 : (millis - 999) / 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  return {utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
          static_cast<int>(millis - static_cast<long long>(seconds) * 1000)};
}

double to_epoch_seconds(Clock::time_point time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

namespace {

/// Year, month and day of a day count since 1970-01-01 (proleptic Gregorian).
void civil_from_days(long long days, int& year, int& month, int& day) {
  days += 719468;
  const long long era = (days >= 0 ? days : days - 146096) / 146097;
  const auto of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era = (of_era - of_era / 1460 + of_era / 36524 - of_era / 146096) / 365;
  const unsigned day_of_year = of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned shifted_month = (5 * day_of_year + 2) / 153;
  day = static_cast<int>(day_of_year - (153 * shifted_month + 2) / 5 + 1);
  month = static_cast<int>(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
  year = static_cast<int>(static_cast<long long>(year_of_era) + era * 400 + (month <= 2));
}

void put_digits(char* out, int value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

} // namespace

std::string format_local(double epoch_seconds) {
  // A listing formats thousands of times. Every time zone's offset, and every instant it
  // changes at, is a whole number of quarter hours, so the offset is looked up once per
  // quarter hour of UTC and the rest is arithmetic.
  constexpr long long k_quarter = 900;
  // Years 0 to 9999 (what the format holds); a time outside them is no date, but is shown.
  if (!(epoch_seconds > -62167219200.0 && epoch_seconds < 253402300800.0)) {
    return fmt::format("{} (not a date)", epoch_seconds);
  }
  const auto seconds = static_cast<long long>(std::floor(epoch_seconds));
  const long long quarter = seconds >= 0 ? seconds / k_quarter : (seconds + 1) / k_quarter - 1;
  thread_local long long cached_quarter = std::numeric_limits<long long>::min();
  thread_local long long offset = 0;
  if (quarter != cached_quarter) {
    const auto start = static_cast<std::time_t>(quarter * k_quarter);
    std::tm local{};
    ::localtime_r(&start, &local);
    offset = local.tm_gmtoff;
    cached_quarter = quarter;
  }
  const long long local_seconds = seconds + offset;
  long long days = local_seconds / 86400;
  long long in_day = local_seconds % 86400;
  if (in_day < 0) {
    in_day += 86400;
    --days;
  }
  int year = 0;
  int month = 0;
  int day = 0;
  civil_from_days(days, year, month, day);
  std::string text = "0000-00-00 00:00:00";
  put_digits(text.data(), year, 4);
  put_digits(text.data() + 5, month, 2);
  put_digits(text.data() + 8, day, 2);
  put_digits(text.data() + 11, static_cast<int>(in_day / 3600), 2);
  put_digits(text.data() + 14, static_cast<int>(in_day / 60 % 60), 2);
  put_digits(text.data() + 17, static_cast<int>(in_day % 60), 2);
  return text;
}

std::string format_iso_utc(Clock::time_point time) {
  const auto t = to_utc(time);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", t.year, t.month, t.day, t.hour,
                     t.minute, t.second, t.millisecond);
}

std::string format_duration(double seconds, SubMinute sub_minute) {
  if (seconds < 60) {
    return sub_minute == SubMinute::tenths_under_ten && seconds >= 10
               ? fmt::format("{:.0f}s", seconds)
               : fmt::format("{:.1f}s", seconds);
  }
  const auto total = static_cast<long>(seconds);
  if (total < 3600) {
    return fmt::format("{}m{:02}s", total / 60, total % 60);
  }
  return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
}

} // namespace xrun::util
