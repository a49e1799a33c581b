// Timestamps: strict_date_optional_time || epoch_millis.
#include "io/timestamp.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

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

TEST(Timestamp, FixedFormMatchesTheGeneralParser) {
  std::printf("checks: the fixed-offset fast path agrees with the general ISO parser\n");
  // "YYYY-MM-DDTHH:MM:SS.mmmZ" and "...SSZ" take the fast path; the same
  // instant spelled with "+00:00" takes the general one.
  int checked = 0;
  for (int year : {0, 1, 4, 99, 100, 400, 1600, 1899, 1900, 1969, 1970, 2000, 2023, 2024, 2100,
                   2400, 9999}) {
    for (int month = 1; month <= 12; ++month) {
      for (int day : {1, 15, 28, 29, 30, 31}) {
        char date[16];
        std::snprintf(date, sizeof date, "%04d-%02d-%02d", year, month, day);
        for (const char* time : {"00:00:00", "23:59:59", "12:34:56"}) {
          const std::string base = std::string(date) + "T" + time;
          for (const char* frac : {"", ".000", ".007", ".999"}) {
            const std::string fixed = base + frac + "Z";
            const std::string general = base + frac + "+00:00";
            EXPECT_EQ(ParseDateMillis(fixed), ParseDateMillis(general)) << fixed;
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 10000);
  // Out-of-range fields in the fixed form are rejected as before.
  for (const char* bad : {"2023-02-29T00:00:00.000Z", "2020-13-01T00:00:00.000Z",
                          "2020-00-01T00:00:00.000Z", "2020-04-31T00:00:00Z",
                          "2020-12-00T00:00:00Z", "2020-12-07T24:00:00.000Z",
                          "2020-12-07T11:60:00.000Z", "2020-12-07T11:06:60.000Z",
                          "2020-12-07T11:06:07.12aZ", "2020-12-07T11:06:07.1 Z",
                          "2020-12-07t11:06:07.123Z", "2020-12-07T11:06:07.123z",
                          "2020-12-07T11:06:07:123Z", "20a0-12-07T11:06:07.123Z"}) {
    EXPECT_FALSE(ParseDateMillis(bad).has_value()) << bad;
  }
  // Forms of the same length that only the general parser reads.
  EXPECT_EQ(ParseDateMillis("2020-12-07T11:06:07,123Z"), 1607339167123);
  EXPECT_EQ(ParseDateMillis("2020-12-07 11:06:07.123Z"), 1607339167123);
  EXPECT_EQ(ParseDateMillis("2020-12-07T11:06:07.12Z"), 1607339167120);
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
