// libeql/runtime/snapshot.cpp
#include "runtime/snapshot.hpp"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace eql::runtime {

namespace {

// Value types of KeyValue on the wire (independent of the variant's order).
enum class Tag : uint8_t { kNull = 0, kFalse = 1, kTrue = 2, kInt = 3, kDouble = 4, kString = 5 };

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

}  // namespace

// --- writer ------------------------------------------------------------------

void SnapshotWriter::U64(uint64_t v) {
  while (v >= 0x80) {
    body_.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  body_.push_back(static_cast<char>(v));
}

void SnapshotWriter::I64(int64_t v) { U64(ZigZag(v)); }

void SnapshotWriter::Bytes(std::string_view s) {
  U64(s.size());
  body_.append(s);
}

void SnapshotWriter::Key(const KeyValue& v) {
  switch (v.type()) {
    case KeyValue::Type::kNull:
      U64(static_cast<uint64_t>(Tag::kNull));
      return;
    case KeyValue::Type::kBool:
      U64(static_cast<uint64_t>(v.as_bool() ? Tag::kTrue : Tag::kFalse));
      return;
    case KeyValue::Type::kInt:
      U64(static_cast<uint64_t>(Tag::kInt));
      I64(v.as_int());
      return;
    case KeyValue::Type::kDouble: {
      U64(static_cast<uint64_t>(Tag::kDouble));
      uint64_t bits;
      const double d = v.as_double();
      std::memcpy(&bits, &d, sizeof bits);
      U64(bits);
      return;
    }
    case KeyValue::Type::kString:
      U64(static_cast<uint64_t>(Tag::kString));
      Bytes(v.as_string());
      return;
  }
}

void SnapshotWriter::Join(const JoinKey& key) {
  U64(key.size());
  for (const KeyValue& v : key) Key(v);
}

void SnapshotWriter::Ord(const Ordinal& o) {
  I64(o.timestamp_ms);
  Key(o.tiebreaker);
  U64(o.arrival);
}

void SnapshotWriter::OptionalI64(const std::optional<int64_t>& v) {
  Bool(v.has_value());
  if (v) I64(*v);
}

void SnapshotWriter::Event(const EventHandle& e) {
  if (e == nullptr) {
    U64(0);
    return;
  }
  auto [it, inserted] = index_.try_emplace(e.get(), events_.size());
  if (inserted) events_.push_back(e.get());
  U64(it->second + 1);
}

std::string SnapshotWriter::Finish() {
  // The body moves out; the table is written in its place, then the body
  // follows it.
  std::string body = std::move(body_);
  body_.clear();
  U64(events_.size());
  for (const RetainedEvent* e : events_) {
    Ord(e->ordinal);
    Bytes(e->json);
  }
  std::string out = std::move(body_);
  out += body;
  body_.clear();
  events_.clear();
  index_.clear();
  return out;
}

// --- reader ------------------------------------------------------------------

bool SnapshotReader::Fail(std::string_view what) {
  if (error_.empty()) error_ = absl::StrCat(std::string(what), " at byte ", pos_);
  return false;
}

absl::Status SnapshotReader::status() const {
  if (error_.empty()) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat("snapshot is corrupt: cannot read ", error_));
}

bool SnapshotReader::U64(uint64_t& v) {
  if (!ok()) return false;
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= data_.size()) return Fail("a number (the snapshot ends)");
    const uint8_t byte = static_cast<uint8_t>(data_[pos_++]);
    if (shift == 63 && byte > 1) return Fail("a number (too large)");
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return Fail("a number (too long)");
}

bool SnapshotReader::I64(int64_t& v) {
  uint64_t u;
  if (!U64(u)) return false;
  v = UnZigZag(u);
  return true;
}

bool SnapshotReader::Bool(bool& b) {
  uint64_t u;
  if (!U64(u)) return false;
  if (u > 1) return Fail("a flag");
  b = u == 1;
  return true;
}

bool SnapshotReader::Bytes(std::string& s) {
  uint64_t n;
  if (!U64(n)) return false;
  if (n > data_.size() - pos_) return Fail("a string (longer than the snapshot)");
  s.assign(data_.substr(pos_, n));
  pos_ += n;
  return true;
}

bool SnapshotReader::Key(KeyValue& v) {
  uint64_t tag;
  if (!U64(tag)) return false;
  switch (static_cast<Tag>(tag)) {
    case Tag::kNull:
      v = KeyValue();
      return true;
    case Tag::kFalse:
      v = KeyValue(false);
      return true;
    case Tag::kTrue:
      v = KeyValue(true);
      return true;
    case Tag::kInt: {
      int64_t i;
      if (!I64(i)) return false;
      v = KeyValue(i);
      return true;
    }
    case Tag::kDouble: {
      uint64_t bits;
      if (!U64(bits)) return false;
      double d;
      std::memcpy(&d, &bits, sizeof d);
      v = KeyValue(d);
      return true;
    }
    case Tag::kString: {
      std::string s;
      if (!Bytes(s)) return false;
      v = KeyValue(std::move(s));
      return true;
    }
  }
  return Fail("a key value (unknown type)");
}

bool SnapshotReader::Join(JoinKey& key) {
  uint64_t n;
  if (!Count(n)) return false;
  key.clear();
  key.resize(n);
  for (KeyValue& v : key) {
    if (!Key(v)) return false;
  }
  return true;
}

bool SnapshotReader::Ord(Ordinal& o) {
  return I64(o.timestamp_ms) && Key(o.tiebreaker) && U64(o.arrival);
}

bool SnapshotReader::OptionalI64(std::optional<int64_t>& v) {
  bool present;
  if (!Bool(present)) return false;
  v.reset();
  if (!present) return true;
  int64_t x;
  if (!I64(x)) return false;
  v = x;
  return true;
}

bool SnapshotReader::Count(uint64_t& n, size_t min_bytes) {
  if (!U64(n)) return false;
  if (min_bytes > 0 && n > (data_.size() - pos_) / min_bytes) {
    return Fail("a count (more items than the snapshot can hold)");
  }
  return true;
}

bool SnapshotReader::Bounded(uint64_t& v, uint64_t max, std::string_view what) {
  if (!U64(v)) return false;
  if (v > max) return Fail(what);
  return true;
}

bool SnapshotReader::Start() {
  uint64_t n;
  // An event takes at least 4 bytes: timestamp, tiebreaker tag, arrival, text length.
  if (!Count(n, 4)) return false;
  events_.clear();
  events_.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    RetainedEvent e;
    if (!Ord(e.ordinal) || !Bytes(e.json)) return false;
    events_.push_back(std::make_shared<const RetainedEvent>(std::move(e)));
  }
  return true;
}

bool SnapshotReader::Event(EventHandle& e) {
  uint64_t ref;
  if (!U64(ref)) return false;
  if (ref == 0) {
    e = nullptr;
    return true;
  }
  if (ref > events_.size()) return Fail("an event reference (no such event)");
  e = events_[ref - 1];
  return true;
}

}  // namespace eql::runtime
