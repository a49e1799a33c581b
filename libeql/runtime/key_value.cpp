// libeql/runtime/key_value.cpp
#include "runtime/key_value.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "fmt/format.h"

namespace eql::runtime {

uint64_t KeyValue::CanonicalBits(double d) {
  // Java's Double.equals compares doubleToLongBits, which maps every NaN to
  // one pattern; -0.0 and 0.0 stay distinct.
  if (std::isnan(d)) return 0x7ff8000000000000ULL;
  return std::bit_cast<uint64_t>(d);
}

bool operator==(const KeyValue& a, const KeyValue& b) {
  if (a.v_.index() != b.v_.index()) return false;
  switch (a.type()) {
    case KeyValue::Type::kNull:
      return true;
    case KeyValue::Type::kBool:
      return a.as_bool() == b.as_bool();
    case KeyValue::Type::kInt:
      return a.as_int() == b.as_int();
    case KeyValue::Type::kDouble:
      return KeyValue::CanonicalBits(a.as_double()) == KeyValue::CanonicalBits(b.as_double());
    case KeyValue::Type::kString:
      return a.as_string() == b.as_string();
  }
  return false;
}

namespace {

// Rank of a type in the cross-type order; int and double share a rank
// because they compare by value.
int Rank(KeyValue::Type t) {
  switch (t) {
    case KeyValue::Type::kNull:
      return 0;
    case KeyValue::Type::kBool:
      return 1;
    case KeyValue::Type::kInt:
    case KeyValue::Type::kDouble:
      return 2;
    case KeyValue::Type::kString:
      return 3;
  }
  return 4;
}

std::weak_ordering CompareDoubles(double a, double b) {
  // NaN sorts after every number, as in Java's Double.compare.
  const bool an = std::isnan(a), bn = std::isnan(b);
  if (an || bn)
    return an == bn ? std::weak_ordering::equivalent
           : an     ? std::weak_ordering::greater
                    : std::weak_ordering::less;
  if (a < b) return std::weak_ordering::less;
  if (a > b) return std::weak_ordering::greater;
  return std::weak_ordering::equivalent;
}

}  // namespace

std::weak_ordering Compare(const KeyValue& a, const KeyValue& b) {
  const int ra = Rank(a.type()), rb = Rank(b.type());
  if (ra != rb) return ra <=> rb;
  switch (a.type()) {
    case KeyValue::Type::kNull:
      return std::weak_ordering::equivalent;
    case KeyValue::Type::kBool:
      return static_cast<int>(a.as_bool()) <=> static_cast<int>(b.as_bool());
    case KeyValue::Type::kString: {
      const int c = a.as_string().compare(b.as_string());
      return c <=> 0;
    }
    case KeyValue::Type::kInt:
    case KeyValue::Type::kDouble: {
      if (a.type() == KeyValue::Type::kInt && b.type() == KeyValue::Type::kInt) {
        return a.as_int() <=> b.as_int();
      }
      const double da =
          a.type() == KeyValue::Type::kInt ? static_cast<double>(a.as_int()) : a.as_double();
      const double db =
          b.type() == KeyValue::Type::kInt ? static_cast<double>(b.as_int()) : b.as_double();
      if (auto c = CompareDoubles(da, db); c != 0) return c;
      // Equal by value: keep the order total and consistent with ==.
      return static_cast<int>(a.type()) <=> static_cast<int>(b.type());
    }
  }
  return std::weak_ordering::equivalent;
}

std::string KeyValue::ToJson() const {
  switch (type()) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return as_bool() ? "true" : "false";
    case Type::kInt:
      return fmt::format("{}", as_int());
    case Type::kDouble: {
      const double d = as_double();
      if (!std::isfinite(d)) return "null";  // JSON has no NaN/Infinity
      return fmt::format("{}", d);
    }
    case Type::kString: {
      std::string out = "\"";
      for (const char c : as_string()) {
        switch (c) {
          case '"':
            out += "\\\"";
            break;
          case '\\':
            out += "\\\\";
            break;
          case '\n':
            out += "\\n";
            break;
          case '\r':
            out += "\\r";
            break;
          case '\t':
            out += "\\t";
            break;
          default:
            if (static_cast<unsigned char>(c) < 0x20) {
              out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
            } else {
              out += c;
            }
        }
      }
      out += '"';
      return out;
    }
  }
  return "null";
}

std::weak_ordering CompareKeys(const JoinKey& a, const JoinKey& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (auto c = Compare(a[i], b[i]); c != 0) return c;
  }
  return a.size() <=> b.size();
}

std::string KeyToJson(const JoinKey& key) {
  std::string out = "[";
  for (size_t i = 0; i < key.size(); ++i) {
    if (i) out += ',';
    out += key[i].ToJson();
  }
  out += ']';
  return out;
}

absl::StatusOr<std::vector<JoinKey>> ExpandJoinKeys(std::span<const KeyFieldValues> fields,
                                                    size_t max_keys) {
  std::vector<std::vector<const KeyValue*>> distinct(fields.size());
  size_t total = 1;
  for (size_t f = 0; f < fields.size(); ++f) {
    for (const KeyValue& v : fields[f].values) {
      if (v.is_null()) continue;
      // Fields are short (a handful of values): a linear scan beats hashing.
      const bool seen = std::any_of(distinct[f].begin(), distinct[f].end(),
                                    [&](const KeyValue* d) { return *d == v; });
      if (!seen) distinct[f].push_back(&v);
    }
    if (distinct[f].empty()) {
      if (!fields[f].optional) return std::vector<JoinKey>{};
      distinct[f].push_back(nullptr);  // the null key value
    }
    total *= distinct[f].size();
    if (total > max_keys) {
      return absl::ResourceExhaustedError(
          fmt::format("join keys of one event expand to more than {} combinations", max_keys));
    }
  }
  std::vector<JoinKey> keys(total);
  // Mixed-radix counting over the fields, the last field varying fastest.
  for (size_t i = 0; i < total; ++i) {
    size_t rest = i;
    JoinKey& key = keys[i];
    key.resize(fields.size());
    for (size_t f = fields.size(); f-- > 0;) {
      const KeyValue* v = distinct[f][rest % distinct[f].size()];
      rest /= distinct[f].size();
      if (v != nullptr) key[f] = *v;
    }
  }
  return keys;
}

std::weak_ordering operator<=>(const Ordinal& a, const Ordinal& b) {
  if (a.timestamp_ms != b.timestamp_ms) return a.timestamp_ms <=> b.timestamp_ms;
  const bool an = a.tiebreaker.is_null(), bn = b.tiebreaker.is_null();
  if (!an && !bn) {
    if (auto c = Compare(a.tiebreaker, b.tiebreaker); c != 0) return c;
  } else if (an != bn) {
    // Exactly one is null: the null one sorts last.
    return an ? std::weak_ordering::greater : std::weak_ordering::less;
  }
  return a.arrival <=> b.arrival;
}

}  // namespace eql::runtime
