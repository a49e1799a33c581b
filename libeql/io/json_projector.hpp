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

#include "absl/status/status.h"
#include "eql/event.hpp"
#include "io/record.hpp"

namespace eql::io {

class JsonProjector {
 public:
  //! Bytes that must be readable after the JSON text for ProjectPadded().
  static constexpr size_t kPadding = simdjson::SIMDJSON_PADDING;
  //! Deepest nesting of objects/arrays accepted (the parser rejects deeper
  //! input, so the walk's recursion is bounded).
  static constexpr size_t kMaxDepth = 256;

  //! `fields` must outlive the projector; fields registered later are seen.
  explicit JsonProjector(const FieldRegistry& fields);

  // JsonProjector::Project()
  //
  // Clears `out` and fills it from one JSON object. The text is copied into an
  // internal padded buffer (reused, so no allocation once warmed up). Errors:
  // InvalidArgument for malformed JSON / invalid UTF-8 / non-object top level
  // / trailing text, ResourceExhausted for nesting deeper than kMaxDepth. On
  // error `out` holds whatever was projected before the error.
  absl::Status Project(std::string_view json, Record& out);

  // JsonProjector::ProjectPadded()
  //
  // As Project(), without the copy: `json.data() + json.size()` must be
  // followed by at least kPadding readable bytes (e.g. a buffer allocated
  // with that much slack, or a simdjson::padded_string).
  absl::Status ProjectPadded(std::string_view json, Record& out);

  // JsonProjector::Project(Event)
  //
  // Fills `out` from a builder event, with the same lookup rules.
  absl::Status Project(const Event& event, Record& out);

 private:
  void WalkObject(simdjson::dom::object object, const FieldRegistry::PathNode& at, Record& out);
  void WalkValue(simdjson::dom::element value, const FieldRegistry::PathNode& at, Record& out);
  void WalkEventObject(const Event::Value& object, const FieldRegistry::PathNode& at, Record& out);
  void WalkEventValue(const Event::Value& value, const FieldRegistry::PathNode& at, Record& out);

  const FieldRegistry& fields_;
  simdjson::dom::parser parser_;
  std::string buffer_;  // padded copy of the input
};

}  // namespace eql::io
