// libeql/io/timestamp.hpp
//
// Event time as epoch milliseconds, read the way Elasticsearch reads a field
// mapped as `date` with its default format
// `strict_date_optional_time||epoch_millis`.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "io/record.hpp"

namespace eql::io {

// DaysFromCivil()
//
// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil), exact for all years that fit; month 1..12, day 1..31.
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);

// ParseDateMillis()
//
// Text to epoch milliseconds. First as strict_date_optional_time:
//   yyyy[-MM[-dd]][('T'|' ')HH[:mm[:ss[(.|,)fraction]]]][Z|(+|-)HH[[:]mm]]
// (4-digit year, 2-digit fields; fraction 1..9 digits, truncated to millis;
// no zone means UTC), then as epoch_millis: an optional '-', digits and an
// optional fraction (`"1"`, `"1516116808349"`, `"1.5"` -> 1). Out-of-range
// fields (month 13, Feb 30, hour 24) are rejected.
std::optional<int64_t> ParseDateMillis(std::string_view text);

// TimestampMillis()
//
// A value as epoch milliseconds: an integer is millis; a double is millis,
// truncated toward zero (NaN/inf and values beyond int64 fail); a string goes
// through ParseDateMillis. Null, booleans and unparsable text -> nullopt.
std::optional<int64_t> TimestampMillis(const Scalar& value);

//! The first value of a field that converts (ES reads the first value of a
//! multi-valued timestamp); nullopt when none does.
std::optional<int64_t> TimestampMillis(Record::Values values);

}  // namespace eql::io
