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
//   if (!(*reader)->status().ok()) return (*reader)->status();
//
// Ownership and threads: an item's text points into the reader's buffer and
// is valid only until the next Next() call; copy it (or push it, which
// copies) to keep it. A reader may be used by one thread at a time; separate
// readers are independent.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace eql {

// EventReader
//
// Splits one input into events without parsing them (the engine parses);
// malformed pieces come out as items with an error, and reading goes on.
class EventReader {
 public:
  //! Readable bytes that follow every event's text in its buffer.
  static constexpr size_t kPadding = 64;

  //! One event, or one piece of input that could not be an event.
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
  // reported as errors and skipped. Fails with NotFound (or another I/O
  // status) when the file cannot be opened; gzip data on standard input is
  // refused (InvalidArgument: decompress it first, or pass the file by
  // name). The reader owns the file and closes it when destroyed.
  static absl::StatusOr<std::unique_ptr<EventReader>> Open(const std::string& path,
                                                           uint64_t max_event_bytes = 16 << 20);
  //! Closes the input (not standard input).
  ~EventReader();

  // EventReader::Next()
  //
  // The next event (or malformed piece); false at the end of the input or on
  // a read error (then status() says which).
  bool Next(Item& item);

  // EventReader::Ready()
  //
  // Whether Next() can go on without waiting for more input: the input is
  // a regular or gzip file, or a whole line of it is already read, or more
  // of it is there to be read at once (a pipe that is not empty, though
  // perhaps holding only part of a line). A caller that holds events back
  // to push them together (eql-run's batches, the chunks of an engine with
  // threads) pushes them before a Next() that may wait, so that a live
  // stream's alerts are not held back.
  bool Ready() const;

  // EventReader::SetInterrupt()
  //
  // Stops reading once `*stop` is true: Next() then returns false and
  // status() is Cancelled. A read blocked on a pipe or terminal is woken by
  // a signal whose handler sets the flag, when the handler was installed
  // without SA_RESTART (eql-run does this for SIGINT and SIGTERM). `stop`
  // must outlive the reader; null turns the check off.
  void SetInterrupt(const std::atomic<bool>* stop);

  //! OK unless reading itself failed (I/O error, corrupt gzip stream), or
  //! Cancelled after an interrupt (SetInterrupt).
  absl::Status status() const;
  //! Bytes consumed from the (decompressed) input so far.
  uint64_t bytes_read() const;

 private:
  struct Impl;
  explicit EventReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eql
