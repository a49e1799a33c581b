// Timestamps: strict_date_optional_time || epoch_millis.
#include "io/timestamp.hpp"

#include <gtest/gtest.h>

namespace eql::io {
namespace {

TEST(Timestamp, Iso8601) {
  std::printf("checks: ISO 8601 forms, offsets and fractions to epoch millis\n");
  EXPECT_EQ(ParseDateMillis("2020-12-07T11:06:07.000Z"), 1607339167000);
  EXPECT_EQ(ParseDateMillis("2020-12-07T11:06:07Z"), 1607339167000);
  EXPECT_EQ(ParseDateMillis("2020-12-07T11:06:07.123456789Z"), 1607339167123);
  EXPECT_EQ(ParseDateMillis("2020-12-07T11:06:07.5Z"), 1607339167500);
  EXPECT_EQ(ParseDateMillis("2020-12-07T12:06:07+01:00"), 1607339167000);
  EXPECT_EQ(ParseDateMillis("2020-12-07T06:06:07-0500"), 1607339167000);
  EXPECT_EQ(ParseDateMillis("2020-12-07T11:06:07"), 1607339167000);  // no zone: UTC
  EXPECT_EQ(ParseDateMillis("2020-12-07"), 1607299200000);
  EXPECT_EQ(ParseDateMillis("2020-12"), 1606780800000);
  EXPECT_EQ(ParseDateMillis("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseDateMillis("1969-12-31T23:59:59.999Z"), -1);
  EXPECT_EQ(ParseDateMillis("2017-08-30T20:47:33Z"), 1504126053000);
  EXPECT_EQ(ParseDateMillis("2024-02-29T00:00:00Z"), 1709164800000);
}

TEST(Timestamp, EpochMillisAndRejects) {
  std::printf("checks: epoch millis as text, and invalid dates rejected\n");
  EXPECT_EQ(ParseDateMillis("1"), 1);
  EXPECT_EQ(ParseDateMillis("1516116808349"), 1516116808349);
  EXPECT_EQ(ParseDateMillis("-5"), -5);
  EXPECT_EQ(ParseDateMillis("1.9"), 1);
  for (const char* bad : {"", "abc", "2020-13-01", "2023-02-29", "2020-12-07T24:00:00Z",
                          "2020-12-07T11:06:07.Z", "2020-12-07T11:06:07ZZ", "99999999999999999999",
                          "2020-12-07T11:06:07.1234567891Z", "1e5"}) {
    EXPECT_FALSE(ParseDateMillis(bad).has_value()) << bad;
  }
}

TEST(Timestamp, FromValues) {
  std::printf("checks: TimestampMillis on numbers, strings and the first convertible value\n");
  EXPECT_EQ(TimestampMillis(Scalar::Int(42)), 42);
  EXPECT_EQ(TimestampMillis(Scalar::Double(42.9)), 42);
  EXPECT_EQ(TimestampMillis(Scalar::String("1")), 1);
  EXPECT_FALSE(TimestampMillis(Scalar::Double(1e300)).has_value());
  EXPECT_FALSE(TimestampMillis(Scalar::Bool(true)).has_value());
  EXPECT_FALSE(TimestampMillis(Scalar()).has_value());
  Record r;
  r.Clear(1);
  r.AddNull(0);
  r.AddString(0, "junk");
  r.AddString(0, "2020-12-07T11:06:07Z");
  EXPECT_EQ(TimestampMillis(r.Get(0)), 1607339167000);
}

}  // namespace
}  // namespace eql::io
