// libeql/io/timestamp.cpp
#include "io/timestamp.hpp"

#include <cmath>

#include "absl/base/attributes.h"

namespace eql::io {

namespace {

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at text[pos].
bool Digits(std::string_view text, size_t& pos, size_t n, unsigned& out) {
  if (pos + n > text.size()) return false;
  unsigned v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  pos += n;
  out = v;
  return true;
}

// Two digits at t[pos], or -1.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline int TwoDigits(std::string_view t, size_t pos) {
  const unsigned a = static_cast<unsigned char>(t[pos]) - '0';
  const unsigned b = static_cast<unsigned char>(t[pos + 1]) - '0';
  return a <= 9 && b <= 9 ? static_cast<int>(a * 10 + b) : -1;
}

// The form nearly every event carries, "2026-11-02T00:00:00.007Z" (or
// without the milliseconds), read at fixed offsets. Nullopt when `t` is not
// exactly that form with valid values: the general parser then decides.
std::optional<int64_t> ParseIsoFixed(std::string_view t) {
  if (t.size() != 24 && t.size() != 20) return std::nullopt;
  if (t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' ||
      t.back() != 'Z') {
    return std::nullopt;
  }
  const int y1 = TwoDigits(t, 0), y2 = TwoDigits(t, 2), month = TwoDigits(t, 5),
            day = TwoDigits(t, 8), hour = TwoDigits(t, 11), minute = TwoDigits(t, 14),
            second = TwoDigits(t, 17);
  if (y1 < 0 || y2 < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
      minute < 0 || minute > 59 || second < 0 || second > 59) {
    return std::nullopt;
  }
  const int64_t year = y1 * 100 + y2;
  if (static_cast<unsigned>(day) > DaysInMonth(year, static_cast<unsigned>(month))) {
    return std::nullopt;
  }
  int64_t millis = 0;
  if (t.size() == 24) {
    const int hi = TwoDigits(t, 20);
    const unsigned lo = static_cast<unsigned char>(t[22]) - '0';
    if (t[19] != '.' || hi < 0 || lo > 9) return std::nullopt;
    millis = hi * 10 + lo;
  }
  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return (days * 86400 + hour * 3600 + minute * 60 + second) * 1000 + millis;
}

std::optional<int64_t> ParseIso(std::string_view t) {
  if (auto fixed = ParseIsoFixed(t)) return fixed;
  size_t p = 0;
  unsigned year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0, millis = 0;
  if (!Digits(t, p, 4, year)) return std::nullopt;
  if (p < t.size() && t[p] == '-') {
    ++p;
    if (!Digits(t, p, 2, month) || month < 1 || month > 12) return std::nullopt;
    if (p < t.size() && t[p] == '-') {
      ++p;
      if (!Digits(t, p, 2, day) || day < 1 || day > DaysInMonth(year, month)) return std::nullopt;
    }
  }
  int64_t offset_minutes = 0;
  if (p < t.size() && (t[p] == 'T' || t[p] == ' ')) {
    ++p;
    if (!Digits(t, p, 2, hour) || hour > 23) return std::nullopt;
    if (p < t.size() && t[p] == ':') {
      ++p;
      if (!Digits(t, p, 2, minute) || minute > 59) return std::nullopt;
      if (p < t.size() && t[p] == ':') {
        ++p;
        if (!Digits(t, p, 2, second) || second > 59) return std::nullopt;
        if (p < t.size() && (t[p] == '.' || t[p] == ',')) {
          ++p;
          size_t start = p;
          unsigned scale = 100;
          while (p < t.size() && t[p] >= '0' && t[p] <= '9') {
            millis += static_cast<unsigned>(t[p] - '0') * scale;
            scale /= 10;
            ++p;
          }
          if (p == start || p - start > 9) return std::nullopt;
        }
      }
    }
    if (p < t.size()) {
      if (t[p] == 'Z') {
        ++p;
      } else if (t[p] == '+' || t[p] == '-') {
        int sign = t[p] == '-' ? -1 : 1;
        ++p;
        unsigned oh = 0, om = 0;
        if (!Digits(t, p, 2, oh) || oh > 18) return std::nullopt;
        if (p < t.size() && t[p] == ':') ++p;
        if (p < t.size() && !Digits(t, p, 2, om)) return std::nullopt;
        if (om > 59) return std::nullopt;
        offset_minutes = sign * static_cast<int64_t>(oh * 60 + om);
      }
    }
  }
  if (p != t.size()) return std::nullopt;
  int64_t days = DaysFromCivil(year, month, day);
  int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return seconds * 1000 + millis;
}

std::optional<int64_t> ParseEpochMillis(std::string_view t) {
  size_t p = 0;
  bool negative = false;
  if (p < t.size() && t[p] == '-') {
    negative = true;
    ++p;
  }
  size_t start = p;
  int64_t v = 0;
  while (p < t.size() && t[p] >= '0' && t[p] <= '9') {
    if (v > (INT64_MAX - 9) / 10) return std::nullopt;
    v = v * 10 + (t[p] - '0');
    ++p;
  }
  if (p == start) return std::nullopt;
  if (p < t.size() && t[p] == '.') {
    ++p;
    size_t frac = p;
    while (p < t.size() && t[p] >= '0' && t[p] <= '9') ++p;
    if (p == frac) return std::nullopt;
  }
  if (p != t.size()) return std::nullopt;
  return negative ? -v : v;
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<int64_t> ParseDateMillis(std::string_view text) {
  if (auto v = ParseIso(text)) return v;
  return ParseEpochMillis(text);
}

std::optional<int64_t> TimestampMillis(const Scalar& value) {
  switch (value.type) {
    case Scalar::Type::kInt:
      return value.i;
    case Scalar::Type::kDouble:
      // 2^63 is exactly representable; anything at or beyond it overflows.
      if (!std::isfinite(value.d) || std::fabs(value.d) >= 9223372036854775808.0)
        return std::nullopt;
      return static_cast<int64_t>(value.d);
    case Scalar::Type::kString:
      return ParseDateMillis(value.s);
    default:
      return std::nullopt;
  }
}

std::optional<int64_t> TimestampMillis(Record::Values values) {
  for (Scalar v : values) {
    if (auto ms = TimestampMillis(v)) return ms;
  }
  return std::nullopt;
}

}  // namespace eql::io
