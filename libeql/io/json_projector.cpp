// libeql/io/json_projector.cpp
#include "io/json_projector.hpp"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace eql::io {

namespace dom = simdjson::dom;

JsonProjector::JsonProjector(const FieldRegistry& fields, Limits limits)
    : fields_(fields), limits_(limits), parser_(simdjson::SIMDJSON_MAXSIZE_BYTES) {
  limits_.max_depth = std::clamp<size_t>(limits_.max_depth, 1, kMaxDepthLimit);
  // Sets the depth cap (the parser keeps it when it grows); a failure here
  // only means the first event allocates instead.
  if (parser_.allocate(1 << 16, limits_.max_depth) != simdjson::SUCCESS) return;
}

std::string_view JsonProjector::CutUtf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t cut = max_bytes;
  // Back over continuation bytes (10xxxxxx) to the start of the character
  // that does not fit (at most 3 steps in valid UTF-8).
  for (int i = 0; i < 4 && cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80; ++i) {
    --cut;
  }
  return s.substr(0, cut);
}

bool JsonProjector::CountValue() {
  if (++values_ > limits_.max_values) {
    over_ = true;
    return false;
  }
  return true;
}

bool JsonProjector::AddString(FieldId id, std::string_view s, Record& out) {
  if (!CountValue()) return false;
  if (s.size() > limits_.max_string_bytes &&
      std::find(limits_.uncut_fields.begin(), limits_.uncut_fields.end(), id) ==
          limits_.uncut_fields.end()) {
    ++counters_.strings_truncated;
    s = CutUtf8(s, limits_.max_string_bytes);
  }
  out.AddString(id, s);
  return true;
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
  values_ = 0;
  over_ = false;
  // Keep the depth cap when the parser grows its capacity for a big event.
  if (json.size() > parser_.capacity()) {
    if (auto error = parser_.allocate(json.size(), limits_.max_depth)) {
      return absl::ResourceExhaustedError(
          absl::StrCat("event too large: ", simdjson::error_message(error)));
    }
  }
  dom::element root;
  if (auto error = parser_.parse(json.data(), json.size(), false).get(root)) {
    if (error == simdjson::DEPTH_ERROR) {
      ++counters_.too_deep;
      return absl::ResourceExhaustedError(
          absl::StrCat("JSON nested deeper than ", limits_.max_depth, " levels (max_json_depth)"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("malformed JSON: ", simdjson::error_message(error)));
  }
  dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("an event must be a JSON object");
  }
  WalkObject(object, fields_.root(), out);
  return OverStatus();
}

absl::Status JsonProjector::OverStatus() {
  if (!over_) return absl::OkStatus();
  ++counters_.too_many_values;
  return absl::ResourceExhaustedError(absl::StrCat(
      "event has more than ", limits_.max_values, " values in the rules' fields (max_event_values)"));
}

void JsonProjector::WalkObject(dom::object object, const FieldRegistry::PathNode& at, Record& out) {
  for (dom::key_value_pair member : object) {
    if (over_) return;
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
      for (dom::element item : array) {
        if (over_) return;
        WalkValue(item, at, out);
      }
      return;
    }
    default:
      break;
  }
  if (!is_field) return;
  switch (value.type()) {
    case dom::element_type::STRING: {
      std::string_view s;
      if (value.get_string().get(s) == simdjson::SUCCESS) AddString(id, s, out);
      return;
    }
    default:
      break;
  }
  if (!CountValue()) return;
  switch (value.type()) {
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
  values_ = 0;
  depth_ = 0;
  over_ = false;
  WalkEventObject(event.root(), fields_.root(), out);
  if (depth_ > limits_.max_depth) {
    ++counters_.too_deep;
    return absl::ResourceExhaustedError(
        absl::StrCat("event nested deeper than ", limits_.max_depth, " levels (max_json_depth)"));
  }
  return OverStatus();
}

void JsonProjector::WalkEventObject(const Event::Value& object, const FieldRegistry::PathNode& at,
                                    Record& out) {
  for (size_t i = 0; i < object.keys.size(); ++i) {
    if (over_) return;
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
  if (over_) return;
  switch (value.kind) {
    case Kind::kObject:
    case Kind::kArray:
      // The walk only follows registered paths, so its depth is bounded by
      // the longest path, except through nested arrays: bound those.
      if (++depth_ > limits_.max_depth) {
        over_ = true;
        return;
      }
      if (value.kind == Kind::kObject) {
        if (at.is_prefix()) WalkEventObject(value, at, out);
      } else {
        if (is_field) out.MarkPresent(id);
        for (const Event::Value& item : value.items) {
          if (over_) break;
          WalkEventValue(item, at, out);
        }
      }
      if (!over_) --depth_;
      return;
    default:
      break;
  }
  if (!is_field) return;
  if (value.kind == Kind::kString) {
    AddString(id, value.text, out);
    return;
  }
  if (!CountValue()) return;
  switch (value.kind) {
    case Kind::kNull:
      out.AddNull(id);
      return;
    case Kind::kBool:
      out.AddBool(id, value.boolean);
      return;
    case Kind::kInt:
      out.AddInt(id, value.integer);
      return;
    case Kind::kDouble:
      out.AddDouble(id, value.real);
      return;
    default:
      return;
  }
}

}  // namespace eql::io
