// tests/fuzz/normalize.cpp
//
// libFuzzer target for the source normalizers (eql/sources.hpp): the first
// byte picks the source (sysmon, winsec, crowdstrike, mde, sentinelone,
// auto, ...), the rest is the record. Nothing may crash, hang or trip a
// sanitizer, and:
// - a normalized event renders to JSON that parses (valid UTF-8, every
//   token) and that the engine's projector accepts;
// - the same record through an Engine with that source is either processed
//   or counted as rejected;
// - the Windows command-line splitter and the timestamp reader take any text.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "eql/engine.hpp"
#include "eql/sources.hpp"

namespace {

void Check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) {
    std::fprintf(stderr, "invariant failed: %s\n%.*s\n", what, static_cast<int>(detail.size()),
                 detail.data());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string> names = eql::SourceNormalizer::Names();
  if (size == 0) return 0;
  const std::string& name = names[data[0] % names.size()];
  std::string_view record(reinterpret_cast<const char*>(data + 1), size - 1);

  auto normalizer = eql::SourceNormalizer::Create(name);
  Check(normalizer.ok(), "every listed source can be created", name);
  eql::Event event;
  absl::Status status = (*normalizer)->Normalize(record, event);
  if (status.ok()) {
    std::string json = event.ToJson();
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    Check(parser.parse(json).get(root) == simdjson::SUCCESS, "normalized event is not JSON", json);
    Check(root.is_object(), "normalized event is not an object", json);
  }
  for (const auto& [source, counts] : (*normalizer)->Stats()) {
    Check(counts.normalized + counts.passed_through + counts.unrecognized <= counts.records,
          "source counters add up", source);
  }

  // The same record through an engine reading it as this source.
  eql::EngineOptions options;
  options.source = name;
  options.max_future_ms = 0;
  auto engine = eql::Engine::Create(
      {{.query = R"(process where process.name : "*.exe" and process.args != null)"},
       {.query = R"(any where event.original != null)"}},
      options);
  Check(engine.ok(), "engine");
  (void)(*engine)->PushJson(record);
  (*engine)->Flush();
  eql::EngineStats s = (*engine)->stats();
  Check(s.events_processed + s.events_malformed + s.events_no_timestamp +
                s.events_time_out_of_range + s.events_late ==
            1,
        "the record is processed or counted as rejected");
  for (const eql::Alert& a : (*engine)->TakeAlerts()) (void)a.ToJson();

  // Free-text helpers on the same bytes.
  (void)eql::SourceNormalizer::SplitWindowsCommandLine(record);
  int64_t millis = 0;
  (void)eql::SourceNormalizer::ParseTimestamp(record, millis);
  return 0;
}
