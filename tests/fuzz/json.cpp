// tests/fuzz/json.cpp
//
// libFuzzer target for the event input path on arbitrary bytes: the JSON
// projector (with default and with tiny limits), Engine::PushJson (streaming
// and batch, with rules that read nested, dotted and array fields) and
// EventReader (NDJSON, JSON arrays, gzip) reading the bytes as a file.
// Nothing may crash, hang or trip a sanitizer, and:
// - a projected record never holds more values, or longer strings, than the
//   limits allow, and a rejected event is counted;
// - the reader hands out events no longer than its limit, with line numbers
//   that never go down;
// - the engine counts every event pushed exactly once (processed, malformed,
//   no timestamp, out of range, late or still in the reorder stage).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "eql/engine.hpp"
#include "eql/reader.hpp"
#include "io/json_projector.hpp"
#include "io/record.hpp"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant failed: %s\n", what);
    std::abort();
  }
}

const char* const kFields[] = {"@timestamp", "event.category", "process.name", "process.args",
                               "process.parent.name", "a", "a.b", "a.b.c", "user.id", "x"};

void Project(std::string_view text, const eql::io::JsonProjector::Limits& limits) {
  eql::io::FieldRegistry fields;
  for (const char* f : kFields) fields.Intern(f);
  eql::io::JsonProjector projector(fields, limits);
  eql::io::Record record;
  absl::Status status = projector.Project(text, record);
  uint64_t values = 0;
  for (eql::io::FieldId id = 0; id < fields.size(); ++id) {
    for (eql::io::Scalar v : record.Get(id)) {
      ++values;
      if (v.type == eql::io::Scalar::Type::kString) {
        Check(v.s.size() <= limits.max_string_bytes, "string longer than max_string_bytes");
        (void)v.ToJson();
      }
    }
  }
  Check(values <= limits.max_values, "more values than max_values");
  const auto& c = projector.counters();
  const bool limit_hit = !status.ok() && status.message().find("(max_") != std::string_view::npos;
  Check(c.too_deep + c.too_many_values == (limit_hit ? 1u : 0u),
        "a limit error is counted exactly once");
  // The same text through the padded entry point gives the same answer.
  std::string padded(text);
  padded.resize(text.size() + eql::io::JsonProjector::kPadding, '\0');
  eql::io::Record again;
  absl::Status status2 =
      projector.ProjectPadded(std::string_view(padded.data(), text.size()), again);
  Check(status.code() == status2.code(), "Project and ProjectPadded disagree");
}

void Engine(std::string_view text, bool batch) {
  eql::EngineOptions options;
  options.batch = batch;
  options.allowed_lateness_ms = batch ? 0 : 1000;
  options.max_event_values = 64;
  options.max_string_bytes = 40;
  options.max_json_depth = 32;
  auto engine = eql::Engine::Create(
      {{.query = R"(process where process.name : "*a*" or a.b.c == 1)"},
       {.query = R"(any where x != null)"},
       {.query = R"(sequence by user.id with maxspan=1s [process where true] [any where a.b > 0])"}},
      options);
  Check(engine.ok(), "engine");
  uint64_t pushed = 0;
  // The whole input, then each line, as events.
  (void)(*engine)->PushJson(text);
  ++pushed;
  size_t start = 0;
  while (start < text.size() && pushed < 64) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    (void)(*engine)->PushJson(text.substr(start, nl - start));
    ++pushed;
    start = nl + 1;
  }
  (*engine)->Flush();
  eql::EngineStats s = (*engine)->stats();
  Check(s.events_in == pushed, "events_in");
  Check(s.events_processed + s.events_malformed + s.events_no_timestamp +
                s.events_time_out_of_range + s.events_late ==
            pushed,
        "every event is processed or counted as rejected");
  for (const eql::Alert& a : (*engine)->TakeAlerts()) (void)a.ToJson();
  (void)s.LimitReport();
}

void Read(const uint8_t* data, size_t size) {
  static int fd = memfd_create("fuzz-events", 0);
  if (fd < 0) return;
  if (ftruncate(fd, 0) != 0) return;
  if (size > 0 && pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) return;
  const uint64_t max_event_bytes = 512;
  auto reader = eql::EventReader::Open("/proc/self/fd/" + std::to_string(fd), max_event_bytes);
  if (!reader.ok()) return;
  eql::EventReader::Item item;
  uint64_t last_line = 0;
  int items = 0;
  while ((*reader)->Next(item) && items < 10000) {
    ++items;
    Check(item.json.size() <= max_event_bytes, "reader item over max_event_bytes");
    Check(item.line >= last_line, "line numbers go down");
    last_line = item.line;
    // The padding promise: readable bytes after the text.
    volatile char tail = item.json.data() == nullptr ? 0 : item.json.data()[item.json.size() + 63];
    (void)tail;
  }
  Check(items < 10000, "reader never ends");
  (void)(*reader)->status();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Project(text, {});
  Project(text, {.max_depth = 4, .max_values = 8, .max_string_bytes = 5});
  Engine(text, /*batch=*/size % 2 == 0);
  Read(data, size);
  return 0;
}
