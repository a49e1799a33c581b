// libeql/io/event.cpp
//
// eql::Event (include/eql/event.hpp): the builder, its JSON rendering and
// parsing (simdjson DOM: the whole text is validated, which suits a
// convenience API better than speed).
#include "eql/event.hpp"

#include <simdjson.h>

#include "absl/strings/str_cat.h"
#include "io/json_text.hpp"

namespace eql {

namespace {

void Render(const Event::Value& v, std::string& out) {
  using Kind = Event::Value::Kind;
  switch (v.kind) {
    case Kind::kNull:
      out += "null";
      return;
    case Kind::kBool:
      out += v.boolean ? "true" : "false";
      return;
    case Kind::kInt:
      out += std::to_string(v.integer);
      return;
    case Kind::kDouble:
      io::AppendJsonNumber(v.real, out);
      return;
    case Kind::kString:
      io::AppendJsonString(v.text, out);
      return;
    case Kind::kArray:
      out.push_back('[');
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i > 0) out.push_back(',');
        Render(v.items[i], out);
      }
      out.push_back(']');
      return;
    case Kind::kObject:
      out.push_back('{');
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i > 0) out.push_back(',');
        io::AppendJsonString(v.keys[i], out);
        out.push_back(':');
        Render(v.items[i], out);
      }
      out.push_back('}');
      return;
  }
}

simdjson::error_code Convert(simdjson::dom::element e, Event::Value& out) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::NULL_VALUE:
      out = Event::Value();
      return simdjson::SUCCESS;
    case element_type::BOOL:
      out = Event::Value(e.get_bool().value_unsafe());
      return simdjson::SUCCESS;
    case element_type::INT64:
      out = Event::Value(e.get_int64().value_unsafe());
      return simdjson::SUCCESS;
    case element_type::UINT64:
      out = Event::Value(e.get_uint64().value_unsafe());
      return simdjson::SUCCESS;
    case element_type::DOUBLE:
      out = Event::Value(e.get_double().value_unsafe());
      return simdjson::SUCCESS;
    case element_type::STRING:
      out = Event::Value(e.get_string().value_unsafe());
      return simdjson::SUCCESS;
    case element_type::ARRAY: {
      out = Event::Value::Array();
      simdjson::dom::array array;
      if (auto error = e.get_array().get(array)) return error;
      for (simdjson::dom::element item : array) {
        out.items.emplace_back();
        if (auto error = Convert(item, out.items.back())) return error;
      }
      return simdjson::SUCCESS;
    }
    case element_type::OBJECT: {
      out = Event::Value::Object();
      simdjson::dom::object object;
      if (auto error = e.get_object().get(object)) return error;
      for (simdjson::dom::key_value_pair member : object) {
        out.keys.emplace_back(member.key);
        out.items.emplace_back();
        if (auto error = Convert(member.value, out.items.back())) return error;
      }
      return simdjson::SUCCESS;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

// Walks `path` split at '.', creating objects on the way; returns the slot.
Event::Value& Walk(Event::Value& root, std::string_view path) {
  Event::Value* at = &root;
  size_t start = 0;
  for (;;) {
    size_t dot = path.find('.', start);
    std::string_view key = path.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (at->kind != Event::Value::Kind::kObject) *at = Event::Value::Object();
    Event::Value* next = nullptr;
    for (size_t i = 0; i < at->keys.size(); ++i) {
      if (at->keys[i] == key) {
        next = &at->items[i];
        break;
      }
    }
    if (next == nullptr) {
      at->keys.emplace_back(key);
      at->items.emplace_back();
      next = &at->items.back();
    }
    at = next;
    if (dot == std::string_view::npos) return *at;
    start = dot + 1;
  }
}

}  // namespace

Event::Value Event::Value::Array(std::vector<Value> elements) {
  Value v;
  v.kind = Kind::kArray;
  v.items = std::move(elements);
  return v;
}

Event::Value Event::Value::Object() {
  Value v;
  v.kind = Kind::kObject;
  return v;
}

Event::Value& Event::Value::Set(std::string_view key, Value v) {
  if (kind != Kind::kObject) *this = Object();
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == key) {
      items[i] = std::move(v);
      return *this;
    }
  }
  keys.emplace_back(key);
  items.push_back(std::move(v));
  return *this;
}

const Event::Value* Event::Value::Find(std::string_view key) const {
  if (kind != Kind::kObject) return nullptr;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == key) return &items[i];
  }
  return nullptr;
}

bool Event::Value::operator==(const Value& o) const {
  if (kind != o.kind) return false;
  switch (kind) {
    case Kind::kNull:
      return true;
    case Kind::kBool:
      return boolean == o.boolean;
    case Kind::kInt:
      return integer == o.integer;
    case Kind::kDouble:
      return real == o.real;
    case Kind::kString:
      return text == o.text;
    case Kind::kArray:
      return items == o.items;
    case Kind::kObject:
      return keys == o.keys && items == o.items;
  }
  return false;
}

Event& Event::Set(std::string_view path, Value v) {
  Walk(root_, path) = std::move(v);
  return *this;
}

Event& Event::Append(std::string_view path, Value v) {
  bool existed = Find(path) != nullptr;
  Value& slot = Walk(root_, path);
  if (slot.kind != Value::Kind::kArray) {
    Value old = std::move(slot);
    slot = Value::Array();
    if (existed) slot.items.push_back(std::move(old));
  }
  slot.items.push_back(std::move(v));
  return *this;
}

const Event::Value* Event::Find(std::string_view path) const {
  const Value* at = &root_;
  size_t start = 0;
  for (;;) {
    size_t dot = path.find('.', start);
    std::string_view key = path.substr(start, dot == std::string_view::npos ? dot : dot - start);
    at = at->Find(key);
    if (at == nullptr || dot == std::string_view::npos) return at;
    start = dot + 1;
  }
}

bool Event::Erase(std::string_view path) {
  size_t dot = path.rfind('.');
  Value* parent = &root_;
  if (dot != std::string_view::npos) {
    const Value* p = Find(path.substr(0, dot));
    if (p == nullptr) return false;
    parent = const_cast<Value*>(p);
  }
  std::string_view key = dot == std::string_view::npos ? path : path.substr(dot + 1);
  if (parent->kind != Value::Kind::kObject) return false;
  for (size_t i = 0; i < parent->keys.size(); ++i) {
    if (parent->keys[i] == key) {
      parent->keys.erase(parent->keys.begin() + static_cast<ptrdiff_t>(i));
      parent->items.erase(parent->items.begin() + static_cast<ptrdiff_t>(i));
      return true;
    }
  }
  return false;
}

std::string Event::ToJson() const {
  std::string out;
  Render(root_, out);
  return out;
}

absl::StatusOr<Event> Event::FromJson(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(json.data(), json.size()).get(root)) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed JSON: ", simdjson::error_message(error)));
  }
  if (root.type() != simdjson::dom::element_type::OBJECT) {
    return absl::InvalidArgumentError("an event must be a JSON object");
  }
  Event event;
  if (auto error = Convert(root, event.root_)) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed JSON: ", simdjson::error_message(error)));
  }
  return event;
}

}  // namespace eql
