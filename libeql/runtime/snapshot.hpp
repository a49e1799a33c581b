// libeql/runtime/snapshot.hpp
//
// The byte codec the operators write their state with for
// Engine::Checkpoint() (docs/RELIABILITY.md, "State that survives a
// restart"). Integers are LEB128 varints (signed ones zigzagged), strings are
// length-prefixed, and events are written once: an operator writes a handle
// as an index into the snapshot's event table, so an event held by many
// partials, keys and rules is stored once and shared again after a restore.
//
// The reader never trusts its input: every read is bounds-checked, every
// count is checked against the bytes left before anything is allocated, and
// the first failure sticks (later reads return false), so a corrupt snapshot
// is an error value, never a crash. The engine adds the framing (magic,
// version, checksum) around what these write.
//
// Example:
//   SnapshotWriter w;
//   w.U64(42);
//   w.Event(handle);
//   std::string bytes = w.Finish();      // event table, then the body
//   SnapshotReader r(bytes);
//   uint64_t n; EventHandle e;
//   if (!r.Start() || !r.U64(n) || !r.Event(e)) return r.status();
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "runtime/key_value.hpp"

namespace eql::runtime {

class SnapshotWriter {
 public:
  void U64(uint64_t v);
  void I64(int64_t v);
  void Bool(bool b) { U64(b ? 1 : 0); }
  void Bytes(std::string_view s);
  void Key(const KeyValue& v);
  void Join(const JoinKey& key);
  void Ord(const Ordinal& o);
  void OptionalI64(const std::optional<int64_t>& v);
  //! A retained event (null for a missing-event placeholder), as a
  //! reference into the event table.
  void Event(const EventHandle& e);

  //! The event table followed by everything written; the writer is empty
  //! afterwards.
  std::string Finish();

 private:
  std::string body_;
  std::vector<const RetainedEvent*> events_;
  absl::flat_hash_map<const RetainedEvent*, uint64_t> index_;
};

class SnapshotReader {
 public:
  explicit SnapshotReader(std::string_view data) : data_(data) {}

  //! Reads the event table; call once, before anything else.
  bool Start();

  bool U64(uint64_t& v);
  bool I64(int64_t& v);
  bool Bool(bool& b);
  bool Bytes(std::string& s);
  bool Key(KeyValue& v);
  bool Join(JoinKey& key);
  bool Ord(Ordinal& o);
  bool OptionalI64(std::optional<int64_t>& v);
  bool Event(EventHandle& e);
  //! A count of items that each take at least `min_bytes` bytes: refused
  //! when the rest of the snapshot cannot hold them (a corrupt count must
  //! not make the reader allocate).
  bool Count(uint64_t& n, size_t min_bytes = 1);
  //! U64 that must be at most `max`.
  bool Bounded(uint64_t& v, uint64_t max, std::string_view what);

  //! Marks the snapshot corrupt (`what` names the item); returns false.
  bool Fail(std::string_view what);
  bool ok() const { return error_.empty(); }
  bool at_end() const { return pos_ == data_.size(); }
  //! OK, or DataLoss naming the byte offset and what could not be read.
  absl::Status status() const;

 private:
  std::string_view data_;
  size_t pos_ = 0;
  std::string error_;
  std::vector<EventHandle> events_;
};

}  // namespace eql::runtime
