// libeql/runtime/key_value.hpp
//
// This room (libeql/runtime/) owns the stateful operators: the sequence join
// (sequence.hpp), the sample operator (sample.hpp), the reorder stage
// (reorder.hpp) and the head/tail pipes (pipe.hpp). The operators never
// evaluate expressions: for each event they are told which stages matched and
// under which join keys, and they keep, match and expire state.
//
// This header defines the values the operators key their state by:
// `KeyValue` (one owned scalar), `JoinKey` (a positional tuple of them) and
// `Ordinal` (the total order of events, SEMANTICS §2.3), plus the retained
// event handle that results point to.
//
// Example:
//   eql::runtime::JoinKey key{eql::runtime::KeyValue("host-1"),
//   eql::runtime::KeyValue(int64_t{42})}; key[1] == eql::runtime::KeyValue(42.0);   // false: int
//   42 != double 42.0 eql::runtime::KeyToJson(key);             // ["host-1",42]
#pragma once

#include <compare>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/status/statusor.h"

namespace eql::runtime {

// KeyValue
//
// One owned join-key (or tiebreaker) value: null, bool, int64, double or
// string. Equality is exact and type-sensitive, as Java's `Arrays.equals` over
// the values Elasticsearch extracts: int 1, double 1.0 and "1" are three
// different keys, and strings compare case-sensitively. Doubles compare like
// `Double.equals` (bit patterns, all NaNs equal, 0.0 != -0.0) so that
// equality and hashing agree.
class KeyValue {
 public:
  enum class Type : uint8_t { kNull, kBool, kInt, kDouble, kString };

  KeyValue() = default;
  explicit KeyValue(std::nullptr_t) {}
  explicit KeyValue(bool b) : v_(b) {}
  explicit KeyValue(int64_t i) : v_(i) {}
  explicit KeyValue(int i) : v_(int64_t{i}) {}
  explicit KeyValue(double d) : v_(d) {}
  explicit KeyValue(std::string s) : v_(std::move(s)) {}
  explicit KeyValue(std::string_view s) : v_(std::string(s)) {}
  explicit KeyValue(const char* s) : v_(std::string(s)) {}

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return v_.index() == 0; }
  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_double() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }

  friend bool operator==(const KeyValue& a, const KeyValue& b);
  friend bool operator!=(const KeyValue& a, const KeyValue& b) { return !(a == b); }

  //! A total order used for result ordering (ties of sequences by key,
  //! samples by key) and for tiebreakers: null first, then booleans, numbers
  //! (int and double compared by value, int before double when equal), then
  //! strings (bytewise, i.e. case-sensitive as Java's String.compareTo for
  //! ASCII). Composite-aggregation key order in Elasticsearch also puts the
  //! null ("missing") bucket first.
  friend std::weak_ordering Compare(const KeyValue& a, const KeyValue& b);

  //! JSON text of the value: null, true, 42, 1.5, "text" (escaped).
  std::string ToJson() const;

  template <typename H>
  friend H AbslHashValue(H h, const KeyValue& v) {
    switch (v.type()) {
      case Type::kNull:
        return H::combine(std::move(h), 0);
      case Type::kBool:
        return H::combine(std::move(h), 1, v.as_bool());
      case Type::kInt:
        return H::combine(std::move(h), 2, v.as_int());
      case Type::kDouble:
        return H::combine(std::move(h), 3, CanonicalBits(v.as_double()));
      case Type::kString:
        return H::combine(std::move(h), 4, std::string_view(v.as_string()));
    }
    return h;
  }

  //! The bit pattern used for double equality and hashing (NaNs collapsed).
  static uint64_t CanonicalBits(double d);

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string> v_;
};

//! A join key: one value per key position, matched positionally across
//! stages (SEMANTICS §2.4). Two keys inline: most rules join on one or two
//! fields, and this keeps them out of the heap.
using JoinKey = absl::InlinedVector<KeyValue, 2>;

//! Element-wise Compare(), shorter first on a common prefix.
std::weak_ordering CompareKeys(const JoinKey& a, const JoinKey& b);

//! ["host-1",42] — the key as a JSON array.
std::string KeyToJson(const JoinKey& key);

//! The values one key field has in an event (empty when absent; nulls
//! allowed, they are skipped) and whether the field is `?optional`.
struct KeyFieldValues {
  std::span<const KeyValue> values;
  bool optional = false;
};

// ExpandJoinKeys()
//
// The join keys of one event for one stage, as Elasticsearch builds them
// (SEMANTICS §2.4, PR #89965): per field the distinct non-null values, in
// first-seen order; a field without any is null when optional, otherwise the
// event has no key (an empty result: drop the hit); the keys are the
// cartesian product, fields in order. More than `max_keys` combinations is
// an error (ResourceExhausted), as Elasticsearch's circuit breaker stops a
// product that blows up.
absl::StatusOr<std::vector<JoinKey>> ExpandJoinKeys(std::span<const KeyFieldValues> fields,
                                                    size_t max_keys = 10'000);

// Ordinal
//
// The position of an event in the total order Elasticsearch sorts by
// (Ordinal.compareTo): timestamp, then the user tiebreaker, then the implicit
// tiebreaker (`_shard_doc`; in a stream, the arrival number). When both
// tiebreakers are non-null they compare by value; when exactly one is null the
// null one is greater (nulls last).
struct Ordinal {
  int64_t timestamp_ms = 0;
  KeyValue tiebreaker;  //!< null: none
  uint64_t arrival = 0;

  friend std::weak_ordering operator<=>(const Ordinal& a, const Ordinal& b);
  friend bool operator==(const Ordinal& a, const Ordinal& b) { return (a <=> b) == 0; }
};

// RetainedEvent
//
// What the operators keep of an event: its ordinal and its original text for
// the alert (the engine fills `json`). Shared: one event can sit in many
// partial sequences, under many keys.
struct RetainedEvent {
  Ordinal ordinal;
  std::string json;
};

//! The handle results point to. A null handle is a missing-event placeholder.
using EventHandle = std::shared_ptr<const RetainedEvent>;

//! Convenience for tests and callers: a retained event.
inline EventHandle MakeEvent(int64_t ts_ms, KeyValue tiebreaker, uint64_t arrival,
                             std::string json = {}) {
  return std::make_shared<const RetainedEvent>(
      RetainedEvent{Ordinal{ts_ms, std::move(tiebreaker), arrival}, std::move(json)});
}

}  // namespace eql::runtime
