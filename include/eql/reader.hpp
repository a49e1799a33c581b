// File: eql/reader.hpp
//
// EventReader streams events out of a file or standard input: NDJSON (one
// JSON object a line) or a JSON array of objects, either of them optionally
// gzip-compressed. The kind is told from the content, not the name. Memory is
// constant: the reader holds one buffer, never the whole input.
//
// Example:
//   auto reader = eql::EventReader::Open("events.ndjson.gz");
//   if (!reader.ok()) return reader.status();
//   eql::EventReader::Item item;
//   while ((*reader)->Next(item)) {
//     if (!item.error.ok()) { report(item.line, item.error); continue; }
//     engine->PushJson(item.json);
//   }
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace eql {

class EventReader {
 public:
  //! One event, or one piece of input that could not be an event.
  //! Readable bytes that follow every event's text in its buffer.
  static constexpr size_t kPadding = 64;

  struct Item {
    std::string_view json;  //!< the event's original text; valid until Next()
                            //!< and followed by at least kPadding readable
                            //!< bytes (see Engine::PushJsonPadded)
    uint64_t line = 0;      //!< 1-based line where it starts
    absl::Status error;     //!< not OK: this piece is malformed (json is what
                            //!< was read of it, possibly cut short)
  };

  // EventReader::Open()
  //
  // Opens `path` ("-" is standard input). Events over `max_event_bytes` are
  // reported as errors and skipped.
  static absl::StatusOr<std::unique_ptr<EventReader>> Open(const std::string& path,
                                                           uint64_t max_event_bytes = 16 << 20);
  ~EventReader();

  // EventReader::Next()
  //
  // The next event (or malformed piece); false at the end of the input or on
  // a read error (then status() says which).
  bool Next(Item& item);

  //! OK unless reading itself failed (I/O error, corrupt gzip stream).
  absl::Status status() const;
  //! Bytes consumed from the (decompressed) input so far.
  uint64_t bytes_read() const;

 private:
  struct Impl;
  explicit EventReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eql
