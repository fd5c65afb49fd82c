// Wall-clock helpers.
#pragma once

#include <chrono>
#include <string>

namespace xrun::util {

using Clock = std::chrono::system_clock;

/// A point in time broken down in UTC.
struct UtcTime {
  int year, month, day, hour, minute, second, millisecond;
};

UtcTime to_utc(Clock::time_point time);

/// Seconds since the Unix epoch, with sub-second precision.
double to_epoch_seconds(Clock::time_point time);

/// `2026-11-23 14:21:17` in the local time zone, for people reading a terminal.
std::string format_local(double epoch_seconds);

/// `2026-11-23T13:21:17.482Z`: ISO 8601 in UTC with milliseconds.
std::string format_iso_utc(Clock::time_point time);

/// How a duration under a minute is written: always in tenths (`42.0s`), or in tenths only
/// under ten seconds (`4.2s`, `42s`).
enum class SubMinute { tenths, tenths_under_ten };

/// A duration for people: `4.2s`, `3m07s`, `2h05m`.
std::string format_duration(double seconds, SubMinute sub_minute = SubMinute::tenths);

} // namespace xrun::util
