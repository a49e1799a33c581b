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
// event is always rejected, never half-read.
#pragma once

#include <simdjson.h>

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
  bool AddString(FieldId id, std::string_view s, Record& out);
  bool CountValue();
  // ResourceExhausted (counted) when the event went over max_values.
  absl::Status OverStatus();
  void WalkObject(simdjson::dom::object object, const FieldRegistry::PathNode& at, Record& out);
  void WalkValue(simdjson::dom::element value, const FieldRegistry::PathNode& at, Record& out);
  void WalkEventObject(const Event::Value& object, const FieldRegistry::PathNode& at, Record& out);
  void WalkEventValue(const Event::Value& value, const FieldRegistry::PathNode& at, Record& out);

  const FieldRegistry& fields_;
  Limits limits_;
  Counters counters_;
  uint64_t values_ = 0;  // values added to the record of this event
  size_t depth_ = 0;     // builder events: nesting of the walk
  bool over_ = false;    // a limit was hit in this event: stop walking
  simdjson::dom::parser parser_;
  std::string buffer_;  // padded copy of the input
};

}  // namespace eql::io
