// libeql/io/event_reader.cpp
//
// Splits an input stream into event texts (eql/reader.hpp). zlib's gzread
// reads plain and gzip input alike, so one code path serves both.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "eql/reader.hpp"

namespace eql {

struct EventReader::Impl {
  gzFile file = nullptr;  // gzip input
  int fd = -1;            // plain input: read() returns what a pipe has now
  bool never_waits = false;  // a regular or gzip file: reads do not wait
  std::string path;
  uint64_t max_event_bytes = 0;
  std::vector<char> buffer;  // unconsumed input is [begin, end)
  size_t begin = 0;
  size_t end = 0;
  bool eof = false;
  absl::Status status;
  uint64_t line = 1;         // line number at buffer[begin]
  uint64_t consumed = 0;
  const std::atomic<bool>* stop = nullptr;  // SetInterrupt()

  // True (status set to Cancelled) once the caller asked to stop.
  bool Interrupted() {
    if (stop == nullptr || !stop->load(std::memory_order_relaxed)) return false;
    status = absl::CancelledError(absl::StrCat(path, ": reading interrupted"));
    return true;
  }
  enum class Mode { kUnknown, kLines, kArray } mode = Mode::kUnknown;
  bool array_closed = false;
  // Bytes kept free after the data, so that every event handed out is
  // followed by at least this many readable bytes (simdjson's padding).
  static constexpr size_t kSlack = 64;

  ~Impl() {
    if (file != nullptr) gzclose(file);
    if (fd > 0) close(fd);  // never closes standard input
  }

  // One read of at most `room` bytes; 0 at end, -1 on error (status set).
  long ReadSome(char* into, size_t room) {
    if (Interrupted()) return -1;
    if (file != nullptr) {
      int n = gzread(file, into, static_cast<unsigned>(std::min<size_t>(room, 1u << 30)));
      if (n < 0 && Interrupted()) return -1;  // gzread gives up on EINTR
      if (n < 0) {
        int code = 0;
        const char* message = gzerror(file, &code);
        status = absl::DataLossError(absl::StrCat(path, ": ", message ? message : "read error"));
      }
      return n;
    }
    for (;;) {
      ssize_t n = read(fd, into, room);
      if (n < 0 && errno == EINTR) {
        if (Interrupted()) return -1;
        continue;
      }
      if (n < 0) status = absl::DataLossError(absl::StrCat(path, ": ", std::strerror(errno)));
      return n;
    }
  }

  // Reads more input after the unconsumed bytes; false at end of input.
  bool Fill() {
    if (eof) return false;
    if (begin > 0) {
      std::memmove(buffer.data(), buffer.data() + begin, end - begin);
      end -= begin;
      begin = 0;
    }
    if (buffer.size() - end < (64 << 10) + kSlack) {
      buffer.resize(std::max<size_t>(buffer.size() * 2, 1 << 20));
    }
    long n = ReadSome(buffer.data() + end, buffer.size() - end - kSlack);
    if (n < 0) {
      eof = true;
      return false;
    }
    if (n == 0) {
      eof = true;
      return false;
    }
    end += static_cast<size_t>(n);
    return true;
  }

  void Advance(size_t count) {
    const char* p = buffer.data() + begin;
    const char* stop = p + count;
    while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(stop - p))))) {
      ++line;
      ++p;
    }
    begin += count;
    consumed += count;
  }

  // Consumes one line whose only newline is its last byte (or that has none,
  // at the end of input): no need to look for newlines inside it.
  void AdvanceLine(size_t count, bool ends_with_newline) {
    line += ends_with_newline;
    begin += count;
    consumed += count;
  }

  // Skips whitespace (and, in array mode, one separating comma).
  void SkipSpace() {
    for (;;) {
      while (begin < end) {
        char c = buffer[begin];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
            (mode == Mode::kArray && c == ',')) {
          Advance(1);
        } else {
          return;
        }
      }
      if (!Fill()) return;
    }
  }

  bool NextLine(Item& item) {
    for (;;) {
      SkipSpace();
      if (begin >= end) return false;
      size_t scan = begin;
      for (;;) {
        const char* nl = static_cast<const char*>(std::memchr(buffer.data() + scan, '\n', end - scan));
        if (nl != nullptr) {
          size_t length = static_cast<size_t>(nl - (buffer.data() + begin));
          return Emit(item, length, length + 1, /*line_mode=*/true, /*newline=*/true);
        }
        scan = end;
        if (end - begin > max_event_bytes) return SkipOversized(item);
        size_t offset = scan - begin;
        if (!Fill()) {
          size_t length = end - begin;
          if (length == 0) return false;
          return Emit(item, length, length, /*line_mode=*/true, /*newline=*/false);
        }
        scan = begin + offset;
      }
    }
  }

  // Emits [begin, begin+length) and consumes `consume` bytes.
  bool Emit(Item& item, size_t length, size_t consume, bool line_mode = false,
            bool newline = false) {
    while (length > 0 && (buffer[begin + length - 1] == '\r' || buffer[begin + length - 1] == ' '))
      --length;
    item.line = line;
    item.error = absl::OkStatus();
    if (length > max_event_bytes) {
      item.json = std::string_view(buffer.data() + begin, 0);
      item.error = absl::ResourceExhaustedError(
          absl::StrCat("event of ", length, " bytes is over the limit of ", max_event_bytes));
    } else {
      // A view into the buffer: valid until the next call, and followed by
      // at least kSlack readable bytes.
      item.json = std::string_view(buffer.data() + begin, length);
    }
    if (line_mode) {
      AdvanceLine(consume, newline);
    } else {
      Advance(consume);
    }
    return true;
  }

  // A line longer than the cap: report it and drop input up to its end.
  bool SkipOversized(Item& item) {
    item.line = line;
    item.json = {};
    uint64_t dropped = 0;
    for (;;) {
      const char* nl = static_cast<const char*>(std::memchr(buffer.data() + begin, '\n', end - begin));
      if (nl != nullptr) {
        size_t n = static_cast<size_t>(nl - (buffer.data() + begin)) + 1;
        dropped += n;
        Advance(n);
        break;
      }
      dropped += end - begin;
      Advance(end - begin);
      if (!Fill()) break;
    }
    item.error = absl::ResourceExhaustedError(
        absl::StrCat("event of ", dropped, " bytes or more is over the limit of ", max_event_bytes));
    return true;
  }

  // In array mode: the next top-level value, found by tracking strings and
  // nesting; a value that never closes is reported as malformed.
  bool NextElement(Item& item) {
    SkipSpace();
    if (begin >= end || array_closed) return false;
    if (buffer[begin] == ']') {
      array_closed = true;
      Advance(1);
      SkipSpace();
      if (begin < end) {
        item.line = line;
        item.json = {};
        item.error = absl::InvalidArgumentError("unexpected text after the closing ']'");
        Advance(end - begin);
        while (Fill()) Advance(end - begin);
        return true;
      }
      return false;
    }
    int depth = 0;
    bool in_string = false;
    bool escaped = false;
    size_t i = begin;
    for (;;) {
      for (; i < end; ++i) {
        char c = buffer[i];
        if (in_string) {
          if (escaped) escaped = false;
          else if (c == '\\') escaped = true;
          else if (c == '"') in_string = false;
          continue;
        }
        if (c == '"') {
          in_string = true;
        } else if (c == '{' || c == '[') {
          ++depth;
        } else if (c == '}' || c == ']') {
          if (depth == 0 && c == ']') return Emit(item, i - begin, i - begin);  // ends the array
          if (depth == 0) {
            // A '}' that closes nothing: malformed, consumed with the text
            // before it (found by fuzz_json: emitting nothing and consuming
            // nothing looped forever on `[}`).
            bool emitted = Emit(item, i - begin + 1, i - begin + 1);
            if (item.error.ok()) item.error = absl::InvalidArgumentError("unexpected '}' in the JSON array");
            return emitted;
          }
          if (--depth == 0) return Emit(item, i - begin + 1, i - begin + 1);
        } else if (c == ',' && depth == 0) {
          return Emit(item, i - begin, i - begin);  // a scalar element
        }
      }
      size_t offset = i - begin;
      if (offset > max_event_bytes) {
        item.line = line;
        item.json = {};
        item.error = absl::ResourceExhaustedError(
            absl::StrCat("event over the limit of ", max_event_bytes, " bytes"));
        Advance(end - begin);
        while (Fill()) Advance(end - begin);
        return true;
      }
      if (!Fill()) {
        size_t length = end - begin;
        if (length == 0) return false;
        bool ok = Emit(item, length, length);
        if (item.error.ok()) item.error = absl::InvalidArgumentError("the JSON array is not closed");
        return ok;
      }
      i = begin + offset;
    }
  }
};

EventReader::EventReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventReader::~EventReader() = default;

absl::StatusOr<std::unique_ptr<EventReader>> EventReader::Open(const std::string& path,
                                                               uint64_t max_event_bytes) {
  auto impl = std::make_unique<Impl>();
  impl->path = path == "-" ? "<stdin>" : path;
  impl->max_event_bytes = max_event_bytes;
  if (path == "-") {
    impl->fd = 0;
  } else {
    impl->fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (impl->fd < 0) {
      return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
    }
  }
  // The first bytes tell plain from gzip. gzip is read through zlib; plain
  // input with read(), which returns what a pipe holds at once (gzread would
  // wait to fill its buffer, holding back alerts on a live stream).
  unsigned char magic[2] = {0, 0};
  ssize_t got = 0;
  while (got < 2) {
    ssize_t n = read(impl->fd, magic + got, 2 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += n;
  }
  if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    if (path == "-") {
      return absl::InvalidArgumentError(
          "gzip data on standard input: decompress it first (zcat FILE | eql-run ... -) or "
          "pass the .gz file by name");
    }
    close(impl->fd);
    impl->fd = -1;
    impl->file = gzopen(path.c_str(), "rb");
    if (impl->file == nullptr) {
      return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
    }
    gzbuffer(impl->file, 256 << 10);
    impl->never_waits = true;
  } else {
    impl->buffer.resize(1 << 20);  // more than 2 + Impl::kSlack
    std::memcpy(impl->buffer.data(), magic, static_cast<size_t>(got));
    impl->end = static_cast<size_t>(got);
    struct stat st;
    impl->never_waits = fstat(impl->fd, &st) == 0 && S_ISREG(st.st_mode);
  }
  return std::unique_ptr<EventReader>(new EventReader(std::move(impl)));
}

bool EventReader::Next(Item& item) {
  Impl& r = *impl_;
  auto interrupted = [&] { return r.status.code() == absl::StatusCode::kCancelled; };
  if (interrupted()) return false;
  if (r.mode == Impl::Mode::kUnknown) {
    r.SkipSpace();
    if (r.begin >= r.end) return false;
    if (r.buffer[r.begin] == '[') {
      r.mode = Impl::Mode::kArray;
      r.Advance(1);
    } else {
      r.mode = Impl::Mode::kLines;
    }
  }
  const bool got = r.mode == Impl::Mode::kArray ? r.NextElement(item) : r.NextLine(item);
  // Interrupted while waiting for the rest of an event: what was read of it
  // is not an event. (Complete events already read are still handed out:
  // they were taken from the input and must not be lost.)
  if (got && interrupted()) return false;
  return got;
}

bool EventReader::Ready() const {
  const Impl& r = *impl_;
  if (r.never_waits || r.eof ||
      std::memchr(r.buffer.data() + r.begin, '\n', r.end - r.begin) != nullptr) {
    return true;
  }
  // No whole line is read: the next read waits only if the pipe is empty.
  if (r.fd < 0) return false;
  pollfd p{.fd = r.fd, .events = POLLIN, .revents = 0};
  return poll(&p, 1, 0) > 0;
}

absl::Status EventReader::status() const { return impl_->status; }
uint64_t EventReader::bytes_read() const { return impl_->consumed; }

void EventReader::SetInterrupt(const std::atomic<bool>* stop) { impl_->stop = stop; }

}  // namespace eql
