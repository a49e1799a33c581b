// libeql/io/record.cpp
//
// FieldRegistry, Scalar and Record (io/record.hpp).
#include "io/record.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

#include "io/json_text.hpp"

namespace eql::io {

FieldId FieldRegistry::Intern(std::string_view path) {
  if (auto it = ids_.find(absl::string_view(path.data(), path.size())); it != ids_.end()) {
    return it->second;
  }
  FieldId id = static_cast<FieldId>(names_.size());
  names_.emplace_back(path);
  ids_.emplace(std::string(path), id);
  // Extend the trie segment by segment.
  uint32_t at = 0;
  size_t start = 0;
  for (;;) {
    size_t dot = path.find('.', start);
    std::string seg(
        path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    auto it = nodes_[at].children.find(seg);
    if (it == nodes_[at].children.end()) {
      uint32_t next = static_cast<uint32_t>(nodes_.size());
      nodes_[at].children.emplace(seg, next);
      nodes_[at].few.emplace_back(seg, next);
      nodes_.emplace_back();
      at = next;
    } else {
      at = it->second;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  nodes_[at].field = id;
  return id;
}

std::optional<FieldId> FieldRegistry::Find(std::string_view path) const {
  if (auto it = ids_.find(absl::string_view(path.data(), path.size())); it != ids_.end()) {
    return it->second;
  }
  return std::nullopt;
}

bool Scalar::operator==(const Scalar& o) const {
  if (type != o.type) return false;
  switch (type) {
    case Type::kNull:
      return true;
    case Type::kBool:
      return b == o.b;
    case Type::kInt:
      return i == o.i;
    case Type::kDouble:
      return d == o.d || (std::isnan(d) && std::isnan(o.d));
    case Type::kString:
      return s == o.s;
  }
  return false;
}

std::string Scalar::ToJson() const {
  std::string out;
  switch (type) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return b ? "true" : "false";
    case Type::kInt:
      return std::to_string(i);
    case Type::kDouble:
      AppendJsonNumber(d, out);
      return out;
    case Type::kString:
      AppendJsonString(s, out);
      return out;
  }
  return out;
}

Record& Record::operator=(const Record& other) {
  if (this == &other) return *this;
  slots_ = other.slots_;
  values_ = other.values_;
  strings_ = other.strings_;
  return *this;
}

void Record::Clear(size_t field_count) {
  slots_.assign(field_count, Slot{});
  values_.clear();
  strings_.clear();
}

bool Record::HasValue(FieldId id) const {
  for (Scalar v : Get(id)) {
    if (!v.is_null()) return true;
  }
  return false;
}

void Record::MarkPresent(FieldId id) {
  if (id >= slots_.size()) slots_.resize(id + 1);
  slots_[id].present = true;
}

Record::Value& Record::Append(FieldId id, Scalar::Type type) {
  if (id >= slots_.size()) slots_.resize(id + 1);
  Slot& slot = slots_[id];
  uint32_t index = static_cast<uint32_t>(values_.size());
  Value v;
  v.type = type;
  v.b = false;
  v.length = 0;
  v.next = kEnd;
  v.i = 0;
  values_.push_back(v);
  if (slot.count == 0) {
    slot.first = index;
  } else {
    values_[slot.last].next = index;
  }
  slot.last = index;
  ++slot.count;
  slot.present = true;
  return values_.back();
}

void Record::AddNull(FieldId id) { Append(id, Scalar::Type::kNull); }
void Record::AddBool(FieldId id, bool v) { Append(id, Scalar::Type::kBool).b = v; }
void Record::AddInt(FieldId id, int64_t v) { Append(id, Scalar::Type::kInt).i = v; }
void Record::AddDouble(FieldId id, double v) { Append(id, Scalar::Type::kDouble).d = v; }
void Record::AddString(FieldId id, std::string_view v) {
  Value& x = Append(id, Scalar::Type::kString);
  x.i = static_cast<int64_t>(strings_.size());
  x.length = static_cast<uint32_t>(v.size());
  strings_.append(v);
}

}  // namespace eql::io
