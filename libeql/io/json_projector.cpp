// libeql/io/json_projector.cpp
#include "io/json_projector.hpp"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace eql::io {

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

std::string_view JsonProjector::Cut(FieldId id, std::string_view s) {
  if (std::find(limits_.uncut_fields.begin(), limits_.uncut_fields.end(), id) !=
      limits_.uncut_fields.end()) {
    return s;
  }
  ++counters_.strings_truncated;
  return CutUtf8(s, limits_.max_string_bytes);
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
  if (auto error = parser_.parse(json.data(), json.size(), false).error()) {
    if (error == simdjson::DEPTH_ERROR) {
      ++counters_.too_deep;
      return absl::ResourceExhaustedError(
          absl::StrCat("JSON nested deeper than ", limits_.max_depth, " levels (max_json_depth)"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("malformed JSON: ", simdjson::error_message(error)));
  }
  // The walk reads the parser's tape (simdjson's tape format, the layout
  // under its DOM API, doc/tape.md): word 0 is the root, word 1 the top
  // value.
  tape_ = parser_.doc.tape.get();
  string_buf_ = parser_.doc.string_buf.get();
  if (TapeType(1) != '{') return absl::InvalidArgumentError("an event must be a JSON object");
  WalkObject(1, fields_.root(), out);
  return OverStatus();
}

absl::Status JsonProjector::OverStatus() {
  if (!over_) return absl::OkStatus();
  ++counters_.too_many_values;
  return absl::ResourceExhaustedError(absl::StrCat(
      "event has more than ", limits_.max_values, " values in the rules' fields (max_event_values)"));
}

// The walk goes over the tape words directly rather than through the DOM's
// iterators: a member no rule reads costs one table probe on its name and a
// jump over its value (an object or array word holds the index just past its
// end), with no per-member result objects or repeated type tests.
void JsonProjector::WalkObject(size_t index, const FieldRegistry::PathNode& at, Record& out) {
  const uint64_t* const tape = tape_;
  const size_t end = static_cast<uint32_t>(tape[index]) - 1;  // the closing '}'
  for (size_t key = index + 1; key < end;) {
    const size_t value = key + 1;
    const uint64_t word = tape[value];
    const char type = static_cast<char>(word >> 56);
    // The next key: past a whole object or array, or past a number's
    // second word.
    key = type == '{' || type == '[' ? static_cast<uint32_t>(word)
                                     : value + 1 + (type == 'l' || type == 'u' || type == 'd');
    const FieldRegistry::PathNode* child = fields_.Child(at, StringAt(value - 1));
    if (child == nullptr) continue;  // read by no rule
    // Strings and nested objects, the common members, are handled here.
    if (type == '"') {
      if (child->field < 0) continue;
      if (!AddString(static_cast<FieldId>(child->field), StringAt(value), out)) return;
    } else if (type == '{') {
      // An object at a field's own path is no value (Elasticsearch cannot
      // query an object field); only its members may lead further.
      if (child->is_prefix()) WalkObject(value, *child, out);
    } else {
      WalkValue(value, *child, out);
    }
    if (over_) return;
  }
}

void JsonProjector::WalkValue(size_t index, const FieldRegistry::PathNode& at, Record& out) {
  const bool is_field = at.field >= 0;
  const FieldId id = is_field ? static_cast<FieldId>(at.field) : 0;
  const uint64_t word = tape_[index];
  switch (static_cast<char>(word >> 56)) {
    case '{':
      // An object at a field's own path is no value (Elasticsearch cannot
      // query an object field); only its members may lead further.
      if (at.is_prefix()) WalkObject(index, at, out);
      return;
    case '[': {
      if (is_field) out.MarkPresent(id);
      const size_t end = static_cast<uint32_t>(word) - 1;  // the closing ']'
      for (size_t item = index + 1; item < end; item = After(item)) {
        if (over_) return;
        WalkValue(item, at, out);
      }
      return;
    }
    case '"':
      if (is_field) AddString(id, StringAt(index), out);
      return;
    default:
      break;
  }
  if (!is_field || !CountValue()) return;
  switch (static_cast<char>(word >> 56)) {
    case 'l': {
      int64_t v;
      std::memcpy(&v, &tape_[index + 1], sizeof v);
      out.AddInt(id, v);
      return;
    }
    case 'u':
      // Beyond int64 (>= 2^63): kept as the nearest double.
      out.AddDouble(id, static_cast<double>(tape_[index + 1]));
      return;
    case 'd': {
      double v;
      std::memcpy(&v, &tape_[index + 1], sizeof v);
      out.AddDouble(id, v);
      return;
    }
    case 't':
      out.AddBool(id, true);
      return;
    case 'f':
      out.AddBool(id, false);
      return;
    case 'n':
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
