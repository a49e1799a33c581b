// libeql/io/record.cpp
//
// FieldRegistry, Scalar and Record (io/record.hpp).
#include "io/record.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <utility>

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
      nodes_[at].Rebuild();
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

void FieldRegistry::PathNode::Rebuild() {
  uint32_t size = 4;
  while (size < 2 * children.size()) size *= 2;
  slots.assign(size, Slot{});
  mask = size - 1;
  shift = 32 - static_cast<uint32_t>(__builtin_ctz(size));
  names.clear();
  for (const auto& [name, node] : children) {
    uint32_t i = SlotOf(name);
    while (slots[i].node != kNoNode) i = (i + 1) & mask;
    slots[i] = {static_cast<uint32_t>(name.size()), static_cast<uint32_t>(names.size()), node};
    names += name;
  }
}

const FieldRegistry::PathNode* FieldRegistry::DottedChild(const PathNode& from,
                                                           std::string_view key) const {
  size_t dot = key.find('.');
  if (dot == std::string_view::npos) return nullptr;
  const PathNode* at = &from;
  size_t start = 0;
  for (;;) {
    std::string_view seg =
        key.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    const uint32_t* next = at->Find(seg);
    if (next == nullptr) return nullptr;
    at = &nodes_[*next];
    if (dot == std::string_view::npos) return at;
    start = dot + 1;
    dot = key.find('.', start);
  }
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
  touched_ = other.touched_;
  values_.assign(other.values_.begin(), other.values_.begin() + other.values_used_);
  values_used_ = other.values_used_;
  strings_.assign(other.strings_, 0, other.strings_used_);
  strings_used_ = other.strings_used_;
  return *this;
}

Record& Record::operator=(Record&& other) noexcept {
  if (this == &other) return *this;
  slots_ = std::move(other.slots_);
  touched_ = std::move(other.touched_);
  values_ = std::move(other.values_);
  values_used_ = std::exchange(other.values_used_, 0);
  strings_ = std::move(other.strings_);
  strings_used_ = std::exchange(other.strings_used_, 0);
  other.slots_.clear();
  other.touched_.clear();
  other.values_.clear();
  other.strings_.clear();
  return *this;
}

void Record::Clear(size_t field_count) {
  if (slots_.size() == field_count && touched_.size() * 4 < field_count) {
    for (FieldId id : touched_) slots_[id] = Slot{};
  } else {
    slots_.assign(field_count, Slot{});
  }
  touched_.clear();
  values_used_ = 0;
  strings_used_ = 0;
}

void Record::GrowStrings(size_t more) {
  strings_.resize(std::max(strings_.size() * 2, strings_used_ + more));
}

void Record::GrowValues() {
  values_.resize(std::max<size_t>(values_.size() * 2, 16));
}

bool Record::HasValue(FieldId id) const {
  for (Scalar v : Get(id)) {
    if (!v.is_null()) return true;
  }
  return false;
}

}  // namespace eql::io
