// File: eql/event.hpp
//
// eql::Event is how a C++ sensor builds an event without writing JSON: typed
// values set by dotted path, nested objects created on the way. The engine
// projects it directly (no JSON round trip); ToJson() renders it for alerts.
//
// Example:
//   eql::Event e;
//   e.Set("@timestamp", int64_t{1700000000000})
//    .Set("event.category", eql::Event::Value::Array({"process"}))
//    .Set("process.name", "node.exe")
//    .Set("process.pid", 4120)
//    .Set("process.args", eql::Event::Value::Array({"node.exe", "-r", "hook.js"}))
//    .Set("process.parent.name", "powershell.exe");
//   std::string json = e.ToJson();
//   // {"@timestamp":1700000000000,"event":{"category":["process"]},"process":{...}}
//
// A path is split at every '.': Set("process.parent.name", ..) makes
// {"process":{"parent":{"name":..}}}. To make a key that itself contains a dot,
// build the object with Value::Object and set it.
//
// Ownership and threads: an Event owns all its values (copies of the strings
// given); it is a plain value type, copyable and movable. Pointers returned by
// Find() point into the event and are valid until it is next modified or
// destroyed. Engine::Push() does not keep a reference to the event, so it may
// be reused or destroyed as soon as Push() returns. An Event may be used by
// one thread at a time.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace eql {

// Event
//
// One event: a JSON object built member by member. Nothing in it fails: every
// setter succeeds, creating what the path needs.
class Event {
 public:
  //! A JSON value: null, boolean, 64-bit integer, double, string, array or
  //! object (members in insertion order; keys[k] names items[k]).
  struct Value {
    //! Which JSON type the value holds; only the matching member is meaningful.
    enum class Kind : uint8_t { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
    Kind kind = Kind::kNull;
    bool boolean = false;  //!< kBool
    int64_t integer = 0;   //!< kInt
    double real = 0;       //!< kDouble
    std::string text;      //!< kString (UTF-8; invalid bytes become U+FFFD in ToJson())
    std::vector<Value> items;       //!< array elements, or object member values
    std::vector<std::string> keys;  //!< object member names (same size as items)

    // Implicit conversions, so that Set("process.pid", 4120) and
    // Set("process.name", "node") read naturally.

    //! null.
    Value() = default;
    //! null: Set("user.name", nullptr).
    Value(std::nullptr_t) {}
    //! A boolean.
    Value(bool v) : kind(Kind::kBool), boolean(v) {}
    //! Any integer type but bool: a 64-bit integer (an unsigned value above
    //! INT64_MAX becomes a double).
    template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
    Value(T v) {
      if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(int64_t)) {
        // Beyond int64: kept as a double, as Elasticsearch reads an unsigned
        // long into a non-unsigned_long field.
        if (v > static_cast<T>(INT64_MAX)) {
          kind = Kind::kDouble;
          real = static_cast<double>(v);
          return;
        }
      }
      kind = Kind::kInt;
      integer = static_cast<int64_t>(v);
    }
    //! A double (NaN and infinities are rendered as null by ToJson()).
    Value(double v) : kind(Kind::kDouble), real(v) {}
    Value(float v) : kind(Kind::kDouble), real(v) {}
    //! A string; the text is copied.
    Value(std::string_view v) : kind(Kind::kString), text(v) {}
    //! A string from a NUL-terminated text (not null), copied.
    Value(const char* v) : kind(Kind::kString), text(v) {}
    Value(std::string v) : kind(Kind::kString), text(std::move(v)) {}

    //! An array of values: Value::Array({"a", "b"}), Value::Array({1, 2}).
    static Value Array(std::vector<Value> elements = {});
    //! An empty object; add members with Set().
    static Value Object();

    //! On an object: sets member `key` (no path splitting), replacing it;
    //! a new key goes last. A value that is not an object becomes an empty
    //! object first. Returns *this for chaining.
    Value& Set(std::string_view key, Value v);
    //! On an object: the member `key`, or nullptr (also when this is not an
    //! object). The pointer is valid until this value is modified.
    const Value* Find(std::string_view key) const;
    //! Deep equality: same kind and same contents (objects: same keys in the
    //! same order). Doubles compare with ==, so NaN is not equal to itself.
    bool operator==(const Value& other) const;
  };

  //! An empty event: {}.
  Event() : root_(Value::Object()) {}

  // Event::Set()
  //
  // Sets the value at a dotted path, creating (or replacing non-object values
  // with) the intermediate objects. Returns *this for chaining.
  Event& Set(std::string_view path, Value v);

  // Event::Append()
  //
  // Adds `v` to the array at `path` (creating it; a scalar already there
  // becomes the array's first element).
  Event& Append(std::string_view path, Value v);

  //! The value at a dotted path (split at every '.'), or nullptr. The
  //! pointer is valid until the event is modified.
  const Value* Find(std::string_view path) const;

  //! Removes the value at a dotted path; false when it was not there.
  bool Erase(std::string_view path);

  //! The whole event, an object (valid while the event lives, and current
  //! after every change).
  const Value& root() const { return root_; }

  // Event::ToJson()
  //
  // Compact JSON text of the event (members in insertion order). Strings are
  // escaped; invalid UTF-8 is replaced by U+FFFD; NaN and infinities become
  // null.
  std::string ToJson() const;

  // Event::FromJson()
  //
  // Parses one JSON object. Fails (InvalidArgument) on malformed JSON, invalid
  // UTF-8, a top-level value that is not an object, or nesting over 1024.
  // Integers beyond int64 are kept as doubles.
  static absl::StatusOr<Event> FromJson(std::string_view json);

 private:
  Value root_;
};

}  // namespace eql
