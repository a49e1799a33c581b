// libeql/io/json_projector.hpp
//
// JsonProjector fills a Record with the registered fields of one JSON event.
//
// Field lookup follows how Elasticsearch maps a document: nested objects
// ({"process":{"name":..}}), flat dotted keys ({"process.name":..}) and any
// mixture ({"process":{"parent.name":..}}) all reach "process.name" /
// "process.parent.name"; values reached more than once are all kept (as
// Elasticsearch's fields API merges them). Arrays are flattened; an array of
// objects contributes the values of its members. Members whose path leads to
// no registered field are not looked at beyond their key.
//
// Parsing uses simdjson's DOM API, not On-Demand: Debian's simdjson compiles
// On-Demand for its portable "fallback" kernel unless the whole program is
// built with -march flags, while the DOM parser picks the SIMD kernel
// (haswell/westmere) at run time, so here it is the faster of the two; and
// it validates the whole text (UTF-8, every token, nesting), so a malformed
// event is always rejected, never half-read. The walk then reads the parsed
// tape directly (the format documented in simdjson's doc/tape.md, stable
// since simdjson 0.3) rather than through the DOM's iterators, which cost
// more than the lookups they serve.
#pragma once

#include <simdjson.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "eql/event.hpp"
#include "io/record.hpp"

namespace eql::io {

class JsonProjector {
 public:
  //! Bytes that must be readable after the JSON text for ProjectPadded().
  static constexpr size_t kPadding = simdjson::SIMDJSON_PADDING;
  //! Default deepest nesting of objects/arrays accepted (the parser rejects
  //! deeper input, so the walk's recursion is bounded).
  static constexpr size_t kMaxDepth = 256;
  //! Highest depth limit accepted (the walk recurses once per level).
  static constexpr size_t kMaxDepthLimit = 4096;

  //! What one event may hold (eql::EngineOptions documents each).
  struct Limits {
    size_t max_depth = kMaxDepth;           //!< nesting of objects and arrays
    uint64_t max_values = 100'000;          //!< values added to the record
    uint64_t max_string_bytes = 1 << 20;    //!< longer strings are cut
    //! Fields whose strings are never cut: the engine's timestamp,
    //! tiebreaker and category (a cut ISO date would be another date).
    std::vector<FieldId> uncut_fields;
  };
  //! Limits hit so far (events rejected, strings cut).
  struct Counters {
    uint64_t too_deep = 0;
    uint64_t too_many_values = 0;
    uint64_t strings_truncated = 0;
  };

  //! `fields` must outlive the projector; fields registered later are seen.
  explicit JsonProjector(const FieldRegistry& fields) : JsonProjector(fields, Limits{}) {}
  JsonProjector(const FieldRegistry& fields, Limits limits);
  const Counters& counters() const { return counters_; }
  const Limits& limits() const { return limits_; }

  //! The longest prefix of `s` of at most `max_bytes` bytes that does not
  //! end inside a UTF-8 sequence.
  static std::string_view CutUtf8(std::string_view s, size_t max_bytes);

  // JsonProjector::Project()
  //
  // Clears `out` and fills it from one JSON object. The text is copied into an
  // internal padded buffer (reused, so no allocation once warmed up). Errors:
  // InvalidArgument for malformed JSON / invalid UTF-8 / non-object top level
  // / trailing text, ResourceExhausted for nesting deeper than max_depth or
  // more than max_values values. On error `out` holds whatever was projected
  // before the error. Strings over max_string_bytes are cut (counted).
  absl::Status Project(std::string_view json, Record& out);

  // JsonProjector::ProjectPadded()
  //
  // As Project(), without the copy: `json.data() + json.size()` must be
  // followed by at least kPadding readable bytes (e.g. a buffer allocated
  // with that much slack, or a simdjson::padded_string).
  absl::Status ProjectPadded(std::string_view json, Record& out);

  // JsonProjector::Project(Event)
  //
  // Fills `out` from a builder event, with the same lookup rules and limits.
  absl::Status Project(const Event& event, Record& out);

 private:
  // Adds one string/other value, applying the limits; false once over.
  // Inline: called for every value the rules read.
  bool AddString(FieldId id, std::string_view s, Record& out) {
    if (!CountValue()) return false;
    if (s.size() > limits_.max_string_bytes) s = Cut(id, s);
    out.AddString(id, s);
    return true;
  }
  bool CountValue() {
    if (++values_ > limits_.max_values) {
      over_ = true;
      return false;
    }
    return true;
  }
  // A string over max_string_bytes: cut (and counted) unless `id` is one
  // of the uncut fields.
  std::string_view Cut(FieldId id, std::string_view s);
  // ResourceExhausted (counted) when the event went over max_values.
  absl::Status OverStatus();
  // The JSON walk, over the parsed tape: `index` is the word of an object
  // (WalkObject) or of any value (WalkValue).
  void WalkObject(size_t index, const FieldRegistry::PathNode& at, Record& out);
  void WalkValue(size_t index, const FieldRegistry::PathNode& at, Record& out);
  char TapeType(size_t index) const { return static_cast<char>(tape_[index] >> 56); }
  //! The index of the word after the value at `index` (past a whole
  //! object or array: their first word holds that index).
  size_t After(size_t index) const {
    const uint64_t word = tape_[index];
    switch (static_cast<char>(word >> 56)) {
      case '{':
      case '[':
        return static_cast<uint32_t>(word);
      case 'l':
      case 'u':
      case 'd':
        return index + 2;  // the number is the next word
      default:
        return index + 1;
    }
  }
  //! The string at `index` (key or value): a 32-bit length, then the bytes,
  //! in the parser's string buffer.
  std::string_view StringAt(size_t index) const {
    const uint8_t* p = string_buf_ + (tape_[index] & simdjson::internal::JSON_VALUE_MASK);
    uint32_t length;
    std::memcpy(&length, p, sizeof length);
    return {reinterpret_cast<const char*>(p + sizeof length), length};
  }
  void WalkEventObject(const Event::Value& object, const FieldRegistry::PathNode& at, Record& out);
  void WalkEventValue(const Event::Value& value, const FieldRegistry::PathNode& at, Record& out);

  const FieldRegistry& fields_;
  Limits limits_;
  Counters counters_;
  uint64_t values_ = 0;  // values added to the record of this event
  size_t depth_ = 0;     // builder events: nesting of the walk
  bool over_ = false;    // a limit was hit in this event: stop walking
  simdjson::dom::parser parser_;
  const uint64_t* tape_ = nullptr;       // parser_'s tape, for the walk
  const uint8_t* string_buf_ = nullptr;  // parser_'s strings
  std::string buffer_;  // padded copy of the input
};

}  // namespace eql::io
