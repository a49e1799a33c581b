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

#include "absl/base/attributes.h"
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
    bool is_prefix() const { return !children.empty(); }
    //! The child for one segment (no dots in it), or nullptr.
    ABSL_ATTRIBUTE_ALWAYS_INLINE const uint32_t* Find(std::string_view segment) const {
      // Every member name of every event is looked up here, most of them
      // in vain: a probe costs a multiply, and a miss usually ends at an
      // empty slot without touching the name's bytes.
      if (slots.empty()) return nullptr;
      for (uint32_t i = SlotOf(segment);; i = (i + 1) & mask) {
        const Slot& slot = slots[i];
        if (slot.node == kNoNode) return nullptr;
        if (slot.length == segment.size() &&
            SameBytes(names.data() + slot.offset, segment.data(), segment.size())) {
          return &slot.node;
        }
      }
    }

    // An open-addressing table of the children (rebuilt by Intern() when
    // one is added), hashed on a segment's length and end bytes, with the
    // names in one buffer.
    struct Slot {
      uint32_t length = 0;
      uint32_t offset = 0;  // of the name in `names`
      uint32_t node = kNoNode;
    };
    static constexpr uint32_t kNoNode = 0xffffffffu;
    std::vector<Slot> slots;  // size a power of two, at least half empty
    uint32_t mask = 0;
    uint32_t shift = 0;  // 32 - log2(slots.size())
    std::string names;

    uint32_t SlotOf(std::string_view s) const {
      const uint32_t n = static_cast<uint32_t>(s.size());
      const uint32_t ends =
          n == 0 ? 0
                 : static_cast<uint32_t>(static_cast<unsigned char>(s[0])) << 8 |
                       static_cast<unsigned char>(s[n - 1]);
      return ((n << 16 ^ ends) * 0x9E3779B1u) >> shift;
    }
    void Rebuild();
  };
  //! Child() for a key not found whole: its dot-separated segments in turn.
  const PathNode* DottedChild(const PathNode& from, std::string_view key) const;
  //! Byte equality of two ranges of `n` bytes, inlined (names are short:
  //! a library memcmp call costs more than the comparison).
  static bool SameBytes(const char* a, const char* b, size_t n) {
    auto load64 = [](const char* p) {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return v;
    };
    auto load32 = [](const char* p) {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    };
    if (n >= 8) {
      for (size_t i = 0; i + 8 < n; i += 8) {
        if (load64(a + i) != load64(b + i)) return false;
      }
      return load64(a + n - 8) == load64(b + n - 8);
    }
    if (n >= 4) return load32(a) == load32(b) && load32(a + n - 4) == load32(b + n - 4);
    for (size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }
  const PathNode& root() const { return nodes_[0]; }
  //! The node reached from `from` by `key` (split at dots), or nullptr.
  ABSL_ATTRIBUTE_ALWAYS_INLINE const PathNode* Child(const PathNode& from,
                                                     std::string_view key) const {
    // Segments hold no dots, so a key found whole is a plain name, the
    // common case; only a key not found is searched for dots.
    if (const uint32_t* next = from.Find(key)) return &nodes_[*next];
    return from.slots.empty() ? nullptr : DottedChild(from, key);
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
  Record(Record&& other) noexcept { *this = std::move(other); }
  Record& operator=(Record&& other) noexcept;
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
  // Inline: the projectors call them for every value of every event.
  void MarkPresent(FieldId id) {
    if (id >= slots_.size()) slots_.resize(id + 1);
    if (!slots_[id].present) touched_.push_back(id);
    slots_[id].present = true;
  }
  void AddNull(FieldId id) { Append(id, Scalar::Type::kNull); }
  void AddBool(FieldId id, bool v) { Append(id, Scalar::Type::kBool).b = v; }
  void AddInt(FieldId id, int64_t v) { Append(id, Scalar::Type::kInt).i = v; }
  void AddDouble(FieldId id, double v) { Append(id, Scalar::Type::kDouble).d = v; }
  void AddString(FieldId id, std::string_view v) {
    const size_t at = strings_used_;
    if (strings_.size() - at < v.size()) GrowStrings(v.size());
    CopyBytes(strings_.data() + at, v.data(), v.size());
    strings_used_ = at + v.size();
    Value& x = Append(id, Scalar::Type::kString);
    x.i = static_cast<int64_t>(at);
    x.length = static_cast<uint32_t>(v.size());
  }

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
  ABSL_ATTRIBUTE_ALWAYS_INLINE Value& Append(FieldId id, Scalar::Type type) {
    if (id >= slots_.size()) slots_.resize(id + 1);
    Slot& slot = slots_[id];
    const uint32_t index = values_used_;
    if (index == values_.size()) GrowValues();
    ++values_used_;
    Value& v = values_[index];
    v.type = type;
    v.b = false;
    v.length = 0;
    v.next = kEnd;
    v.i = 0;
    if (slot.count == 0) {
      slot.first = index;
    } else {
      values_[slot.last].next = index;
    }
    slot.last = index;
    ++slot.count;
    if (!slot.present) touched_.push_back(id);
    slot.present = true;
    return v;
  }
  // memcpy, with the short sizes that most values have done inline by
  // overlapping fixed-size moves (a library call costs more than the copy).
  static void CopyBytes(char* to, const char* from, size_t n) {
    if (n >= 16 && n <= 32) {
      char head[16], tail[16];
      std::memcpy(head, from, 16);
      std::memcpy(tail, from + n - 16, 16);
      std::memcpy(to, head, 16);
      std::memcpy(to + n - 16, tail, 16);
    } else if (n >= 8 && n < 16) {
      uint64_t head, tail;
      std::memcpy(&head, from, 8);
      std::memcpy(&tail, from + n - 8, 8);
      std::memcpy(to, &head, 8);
      std::memcpy(to + n - 8, &tail, 8);
    } else if (n >= 4 && n < 8) {
      uint32_t head, tail;
      std::memcpy(&head, from, 4);
      std::memcpy(&tail, from + n - 4, 4);
      std::memcpy(to, &head, 4);
      std::memcpy(to + n - 4, &tail, 4);
    } else if (n > 32) {
      std::memcpy(to, from, n);
    } else {
      for (size_t i = 0; i < n; ++i) to[i] = from[i];
    }
  }
  // Make room for `more` string bytes after the used ones, or for one more
  // value (geometrically).
  void GrowStrings(size_t more);
  void GrowValues();

  std::vector<Slot> slots_;
  // The fields given a value or marked present since the last Clear(): a
  // rule pack reads a thousand fields and an event has a few dozen, so
  // Clear() resets these rather than every slot.
  std::vector<FieldId> touched_;
  // The values, in values_[0, values_used_); as with the strings, the size
  // is the capacity, so that an append is a bounds test and a store.
  std::vector<Value> values_;
  uint32_t values_used_ = 0;
  // All string bytes, in strings_[0, strings_used_); views are made on
  // read. Its size is its capacity: Clear() only resets strings_used_, and
  // an append is a bounds test and a memcpy.
  std::string strings_;
  size_t strings_used_ = 0;
};

}  // namespace eql::io
