// libeql/io/record.hpp
//
// The projected form of an event, as the rules see it. This room (libeql/io/)
// owns the event model: the field registry (which dotted paths the rules read),
// the projected record (the values of exactly those paths), the JSON and
// builder-event projectors that fill it, and timestamp parsing.
//
// Every rule of an engine reads fields by small integer ids handed out by one
// FieldRegistry; the union of those ids is the projection, and only projected
// fields are ever extracted from an event.
//
// Example:
//   eql::io::FieldRegistry fields;
//   eql::io::FieldId name = fields.Intern("process.name");
//   eql::io::JsonProjector projector(fields);
//   eql::io::Record record;
//   if (auto s = projector.Project(R"({"process":{"name":"node.exe"}})", record); !s.ok()) ...
//   for (eql::io::Scalar v : record.Get(name)) ...   // "node.exe"
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace eql::io {

//! Index of a field in a FieldRegistry.
using FieldId = uint32_t;

// FieldRegistry
//
// Interns dotted field paths ("process.parent.name") to dense ids 0..size()-1.
// Shared by all rules of an engine; ids are stable for its lifetime. Not
// thread-safe while being written (rules are compiled before events flow).
class FieldRegistry {
 public:
  //! Returns the id of `path`, adding it if new.
  FieldRegistry() = default;
  FieldId Intern(std::string_view path);
  //! The id of `path` if registered.
  std::optional<FieldId> Find(std::string_view path) const;
  //! The path of `id` (id < size()).
  const std::string& Name(FieldId id) const { return names_[id]; }
  size_t size() const { return names_.size(); }

  // FieldRegistry::PathNode
  //
  // The registered paths as a trie of dot-separated segments, which is how
  // the projectors find fields without building path strings: from the root,
  // each JSON key leads to a child (a key with dots in it, as in
  // {"process.name": ..}, walks several segments at once). A node is a field
  // (field >= 0), a prefix of longer fields (has children), or both.
  struct PathNode {
    int64_t field = -1;  //!< field id when the path to here is registered
    absl::flat_hash_map<std::string, uint32_t> children;  //!< segment -> node index
    //! The same children as a list, searched instead of the map while short
    //! (a length test and a memcmp beat hashing for a handful of keys).
    std::vector<std::pair<std::string, uint32_t>> few;
    bool is_prefix() const { return !children.empty(); }
    const uint32_t* Find(std::string_view segment) const {
      if (children.size() <= kFewChildren) {
        for (const auto& [name, index] : few) {
          if (name.size() == segment.size() &&
              std::memcmp(name.data(), segment.data(), segment.size()) == 0) {
            return &index;
          }
        }
        return nullptr;
      }
      auto it = children.find(absl::string_view(segment.data(), segment.size()));
      return it == children.end() ? nullptr : &it->second;
    }
  };
  static constexpr size_t kFewChildren = 16;
  const PathNode& root() const { return nodes_[0]; }
  //! The node reached from `from` by `key` (split at dots), or nullptr.
  const PathNode* Child(const PathNode& from, std::string_view key) const {
    const PathNode* at = &from;
    size_t start = 0;
    for (;;) {
      size_t dot = key.find('.', start);
      std::string_view seg =
          key.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
      const uint32_t* next = at->Find(seg);
      if (next == nullptr) return nullptr;
      at = &nodes_[*next];
      if (dot == std::string_view::npos) return at;
      start = dot + 1;
    }
  }

  //! What is known about a full dotted path: the field registered there (or
  //! -1), and whether longer registered paths start with it.
  struct PathInfo {
    int64_t field = -1;
    bool is_prefix = false;
  };
  std::optional<PathInfo> Lookup(std::string_view path) const {
    const PathNode* n = Child(root(), path);
    if (n == nullptr) return std::nullopt;
    return PathInfo{n->field, n->is_prefix()};
  }

 private:
  std::vector<std::string> names_;
  absl::flat_hash_map<std::string, FieldId> ids_;
  std::vector<PathNode> nodes_ = std::vector<PathNode>(1);
};

// Scalar
//
// One value of a field or of an expression: null, boolean, 64-bit integer,
// double or string. A string is a view: into a Record's storage, into the
// compiled program's constants, or into an evaluation scratch arena; copy it
// before keeping it past the Record's next Clear().
struct Scalar {
  enum class Type : uint8_t { kNull, kBool, kInt, kDouble, kString };
  Type type = Type::kNull;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string_view s;

  static Scalar Null() { return {}; }
  static Scalar Bool(bool v) {
    Scalar x;
    x.type = Type::kBool;
    x.b = v;
    return x;
  }
  static Scalar Int(int64_t v) {
    Scalar x;
    x.type = Type::kInt;
    x.i = v;
    return x;
  }
  static Scalar Double(double v) {
    Scalar x;
    x.type = Type::kDouble;
    x.d = v;
    return x;
  }
  static Scalar String(std::string_view v) {
    Scalar x;
    x.type = Type::kString;
    x.s = v;
    return x;
  }
  bool is_null() const { return type == Type::kNull; }
  bool is_number() const { return type == Type::kInt || type == Type::kDouble; }
  //! Exact equality of type and value (join keys: Java Arrays.equals-like;
  //! 1 and 1.0 differ, "a" and "A" differ).
  bool operator==(const Scalar& o) const;
  //! JSON text of the value ("\"a\"", "1", "1.5", "true", "null").
  std::string ToJson() const;
};

// Record
//
// The projected values of one event: for each registered field id, whether it
// is missing, and its values (a JSON null is kept as a Null scalar; nested
// arrays are flattened; the members of an array of objects contribute their
// values, as Elasticsearch's fields API reports them). Owns its strings, is
// movable, and Clear() keeps the capacity so refilling it does not allocate.
//
// The raw event text is not kept here; the caller keeps it for output.
class Record {
 public:
  Record() = default;
  Record(Record&&) noexcept = default;
  Record& operator=(Record&&) noexcept = default;
  Record(const Record& other) { *this = other; }
  Record& operator=(const Record& other);

  //! Forgets all values, keeping capacity; `field_count` sizes the slot table.
  void Clear(size_t field_count);

  //! True when the event had the field at all (even as null or []).
  bool Present(FieldId id) const { return id < slots_.size() && slots_[id].present; }

  //! A view of the values of one field; empty when missing or [].
  class Values {
   public:
    class Iterator {
     public:
      Iterator(const Record* r, uint32_t v) : r_(r), v_(v) {}
      Scalar operator*() const { return r_->ValueAt(v_); }
      Iterator& operator++() {
        v_ = r_->values_[v_].next;
        return *this;
      }
      bool operator!=(const Iterator& o) const { return v_ != o.v_; }
      bool operator==(const Iterator& o) const { return v_ == o.v_; }

     private:
      const Record* r_;
      uint32_t v_;
    };
    Values(const Record* r, uint32_t first, uint32_t count) : r_(r), first_(first), count_(count) {}
    Iterator begin() const { return {r_, first_}; }
    Iterator end() const { return {r_, kEnd}; }
    //! Number of values, nulls included.
    uint32_t size() const { return count_; }
    bool empty() const { return count_ == 0; }
    //! The first value (Null when empty).
    Scalar front() const { return count_ == 0 ? Scalar() : r_->ValueAt(first_); }

   private:
    const Record* r_;
    uint32_t first_;
    uint32_t count_;
  };
  Values Get(FieldId id) const {
    if (id >= slots_.size()) return Values(this, kEnd, 0);
    const Slot& s = slots_[id];
    return Values(this, s.first, s.count);
  }

  //! Whether the field has at least one non-null value.
  bool HasValue(FieldId id) const;

  // Record::Add*()
  //
  // Appends one value to a field (used by the projectors and by tests). Values
  // of one field are kept in the order added.
  void MarkPresent(FieldId id);
  void AddNull(FieldId id);
  void AddBool(FieldId id, bool v);
  void AddInt(FieldId id, int64_t v);
  void AddDouble(FieldId id, double v);
  void AddString(FieldId id, std::string_view v);

  size_t field_count() const { return slots_.size(); }

  static constexpr uint32_t kEnd = 0xffffffffu;

 private:
  struct Slot {
    uint32_t first = kEnd;
    uint32_t last = kEnd;
    uint32_t count = 0;
    bool present = false;
  };
  struct Value {  // 24 bytes: the values of all fields in one array
    Scalar::Type type;
    bool b;
    uint32_t length;  // string length
    uint32_t next;    // next value of the same field, or kEnd
    union {
      int64_t i;  // integer, or string offset into strings_
      double d;
    };
  };
  Scalar ValueAt(uint32_t v) const {
    const Value& x = values_[v];
    Scalar s;
    s.type = x.type;
    switch (x.type) {
      case Scalar::Type::kString:
        s.s = std::string_view(strings_.data() + x.i, x.length);
        break;
      case Scalar::Type::kInt:
        s.i = x.i;
        break;
      case Scalar::Type::kDouble:
        s.d = x.d;
        break;
      case Scalar::Type::kBool:
        s.b = x.b;
        break;
      case Scalar::Type::kNull:
        break;
    }
    return s;
  }
  Value& Append(FieldId id, Scalar::Type type);

  std::vector<Slot> slots_;
  std::vector<Value> values_;
  std::string strings_;  // all string bytes; views are made on read
};

}  // namespace eql::io
