// libeql/io/json_projector.cpp
#include "io/json_projector.hpp"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace eql::io {

namespace dom = simdjson::dom;

JsonProjector::JsonProjector(const FieldRegistry& fields)
    : fields_(fields), parser_(simdjson::SIMDJSON_MAXSIZE_BYTES) {
  // Sets the depth cap (the parser keeps it when it grows); a failure here
  // only means the first event allocates instead.
  if (parser_.allocate(1 << 16, kMaxDepth) != simdjson::SUCCESS) return;
}

absl::Status JsonProjector::Project(std::string_view json, Record& out) {
  // Grow geometrically and never shrink, so steady state copies only.
  if (buffer_.size() < json.size() + kPadding) buffer_.resize((json.size() + kPadding) * 2);
  std::memcpy(buffer_.data(), json.data(), json.size());
  std::memset(buffer_.data() + json.size(), 0, kPadding);
  return ProjectPadded(std::string_view(buffer_.data(), json.size()), out);
}

absl::Status JsonProjector::ProjectPadded(std::string_view json, Record& out) {
  out.Clear(fields_.size());
  // Keep the depth cap when the parser grows its capacity for a big event.
  if (json.size() > parser_.capacity()) {
    if (auto error = parser_.allocate(json.size(), kMaxDepth)) {
      return absl::ResourceExhaustedError(
          absl::StrCat("event too large: ", simdjson::error_message(error)));
    }
  }
  dom::element root;
  if (auto error = parser_.parse(json.data(), json.size(), false).get(root)) {
    if (error == simdjson::DEPTH_ERROR) {
      return absl::ResourceExhaustedError(
          absl::StrCat("JSON nested deeper than ", kMaxDepth, " levels"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("malformed JSON: ", simdjson::error_message(error)));
  }
  dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("an event must be a JSON object");
  }
  WalkObject(object, fields_.root(), out);
  return absl::OkStatus();
}

void JsonProjector::WalkObject(dom::object object, const FieldRegistry::PathNode& at, Record& out) {
  for (dom::key_value_pair member : object) {
    const FieldRegistry::PathNode* next = fields_.Child(at, member.key);
    if (next == nullptr) continue;  // read by no rule
    WalkValue(member.value, *next, out);
  }
}

void JsonProjector::WalkValue(dom::element value, const FieldRegistry::PathNode& at, Record& out) {
  const bool is_field = at.field >= 0;
  const FieldId id = is_field ? static_cast<FieldId>(at.field) : 0;
  switch (value.type()) {
    case dom::element_type::OBJECT: {
      // An object at a field's own path is no value (Elasticsearch cannot
      // query an object field); only its members may lead further.
      if (!at.is_prefix()) return;
      dom::object object;
      if (value.get_object().get(object) == simdjson::SUCCESS) WalkObject(object, at, out);
      return;
    }
    case dom::element_type::ARRAY: {
      if (is_field) out.MarkPresent(id);
      dom::array array;
      if (value.get_array().get(array) != simdjson::SUCCESS) return;
      for (dom::element item : array) WalkValue(item, at, out);
      return;
    }
    default:
      break;
  }
  if (!is_field) return;
  switch (value.type()) {
    case dom::element_type::STRING: {
      std::string_view s;
      if (value.get_string().get(s) == simdjson::SUCCESS) out.AddString(id, s);
      return;
    }
    case dom::element_type::INT64:
      out.AddInt(id, value.get_int64().value_unsafe());
      return;
    case dom::element_type::UINT64:
      // Beyond int64 (>= 2^63): kept as the nearest double.
      out.AddDouble(id, static_cast<double>(value.get_uint64().value_unsafe()));
      return;
    case dom::element_type::DOUBLE:
      out.AddDouble(id, value.get_double().value_unsafe());
      return;
    case dom::element_type::BOOL:
      out.AddBool(id, value.get_bool().value_unsafe());
      return;
    case dom::element_type::NULL_VALUE:
      out.AddNull(id);
      return;
    default:
      return;
  }
}

absl::Status JsonProjector::Project(const Event& event, Record& out) {
  out.Clear(fields_.size());
  WalkEventObject(event.root(), fields_.root(), out);
  return absl::OkStatus();
}

void JsonProjector::WalkEventObject(const Event::Value& object, const FieldRegistry::PathNode& at,
                                    Record& out) {
  for (size_t i = 0; i < object.keys.size(); ++i) {
    const FieldRegistry::PathNode* next = fields_.Child(at, object.keys[i]);
    if (next == nullptr) continue;
    WalkEventValue(object.items[i], *next, out);
  }
}

void JsonProjector::WalkEventValue(const Event::Value& value, const FieldRegistry::PathNode& at,
                                   Record& out) {
  using Kind = Event::Value::Kind;
  const bool is_field = at.field >= 0;
  const FieldId id = is_field ? static_cast<FieldId>(at.field) : 0;
  switch (value.kind) {
    case Kind::kObject:
      if (at.is_prefix()) WalkEventObject(value, at, out);
      return;
    case Kind::kArray:
      if (is_field) out.MarkPresent(id);
      for (const Event::Value& item : value.items) WalkEventValue(item, at, out);
      return;
    case Kind::kNull:
      if (is_field) out.AddNull(id);
      return;
    case Kind::kBool:
      if (is_field) out.AddBool(id, value.boolean);
      return;
    case Kind::kInt:
      if (is_field) out.AddInt(id, value.integer);
      return;
    case Kind::kDouble:
      if (is_field) out.AddDouble(id, value.real);
      return;
    case Kind::kString:
      if (is_field) out.AddString(id, value.text);
      return;
  }
}

}  // namespace eql::io
