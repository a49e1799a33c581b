// bench_ingest: the seed rule set over generated events, against the
// baseline of simdjson merely parsing those events and reading the same
// fields. The target is a ratio measured in one run: the engine at no
// less than half the speed of the baseline.
//
//   build/bin/bench_ingest [--benchmark_repetitions=5]
//
// Events: EQL_BENCH_EVENTS=path (NDJSON), else 1,000,000 events generated
// once by eql-gen (seed 42) into /tmp/libeql-bench-1m.ndjson.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "eql/engine.hpp"
#include "eql/rules.hpp"
#include "simdjson.h"

namespace {

struct Corpus {
  std::vector<std::string> lines;  // each with simdjson padding reserved
  uint64_t bytes = 0;
};

const Corpus& Events() {
  static Corpus corpus = [] {
    Corpus c;
    std::string path;
    if (const char* env = std::getenv("EQL_BENCH_EVENTS")) {
      path = env;
    } else {
      path = (std::filesystem::temp_directory_path() / "libeql-bench-1m.ndjson").string();
      if (!std::filesystem::exists(path)) {
        std::string cmd = std::string(EQL_GEN) + " --events 1000000 --seed 42 --attacks 500 > " +
                          path + " 2>/dev/null";
        if (std::system(cmd.c_str()) != 0) std::abort();
      }
    }
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      c.bytes += line.size() + 1;
      line.reserve(line.size() + simdjson::SIMDJSON_PADDING);
      c.lines.push_back(std::move(line));
    }
    return c;
  }();
  return corpus;
}

// The fields the seed rules read (the engine's projection for them).
const std::vector<std::vector<std::string_view>> kFields = {
    {"@timestamp"},
    {"event", "category"},
    {"event", "type"},
    {"event", "action"},
    {"host", "id"},
    {"host", "os", "type"},
    {"process", "name"},
    {"process", "args"},
    {"process", "entity_id"},
    {"process", "executable"},
    {"process", "command_line"},
    {"process", "parent", "name"},
    {"process", "parent", "entity_id"},
    {"process", "pe", "original_file_name"},
    {"process", "code_signature", "subject_name"},
};

// Baseline: parse each event with simdjson On-Demand and read every field the
// rules read (strings viewed, arrays walked), doing nothing with them.
void BM_SimdjsonParseAndReadFields(benchmark::State& state) {
  const Corpus& corpus = Events();
  simdjson::ondemand::parser parser;
  uint64_t sink = 0;
  for (auto _ : state) {
    for (const std::string& line : corpus.lines) {
      simdjson::padded_string_view view(line.data(), line.size(), line.capacity());
      simdjson::ondemand::document doc;
      if (parser.iterate(view).get(doc)) continue;
      for (const auto& path : kFields) {
        simdjson::ondemand::value v;
        auto obj = doc.get_object();
        if (obj.error()) break;
        simdjson::simdjson_result<simdjson::ondemand::value> cur = obj.find_field_unordered(path[0]);
        for (size_t i = 1; i < path.size() && !cur.error(); ++i) {
          cur = cur.find_field_unordered(path[i]);
        }
        if (cur.get(v)) continue;
        simdjson::ondemand::json_type type;
        if (v.type().get(type)) continue;
        if (type == simdjson::ondemand::json_type::string) {
          std::string_view s;
          if (!v.get_string().get(s)) sink += s.size();
        } else if (type == simdjson::ondemand::json_type::array) {
          for (auto element : v.get_array()) {
            std::string_view s;
            if (!element.get_string().get(s)) sink += s.size();
          }
        } else if (type == simdjson::ondemand::json_type::number) {
          double d;
          if (!v.get_double().get(d)) sink += static_cast<uint64_t>(d) & 1;
        }
      }
    }
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * corpus.lines.size());
  state.SetBytesProcessed(state.iterations() * corpus.bytes);
}

// Baseline 2: the DOM parser (whole document parsed into a tape, the
// fastest full parse simdjson offers), then the same fields looked up.
void BM_SimdjsonDomParseAndReadFields(benchmark::State& state) {
  const Corpus& corpus = Events();
  simdjson::dom::parser parser;
  uint64_t sink = 0;
  for (auto _ : state) {
    for (const std::string& line : corpus.lines) {
      simdjson::dom::element doc;
      if (parser.parse(line.data(), line.size(), false).get(doc)) continue;
      for (const auto& path : kFields) {
        simdjson::simdjson_result<simdjson::dom::element> cur = doc[path[0]];
        for (size_t i = 1; i < path.size() && !cur.error(); ++i) cur = cur[path[i]];
        simdjson::dom::element v;
        if (cur.get(v)) continue;
        if (v.is_string()) {
          sink += std::string_view(v).size();
        } else if (v.is_array()) {
          for (simdjson::dom::element e : simdjson::dom::array(v)) {
            if (e.is_string()) sink += std::string_view(e).size();
          }
        } else if (v.is_number()) {
          sink += static_cast<uint64_t>(double(v)) & 1;
        }
      }
    }
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * corpus.lines.size());
  state.SetBytesProcessed(state.iterations() * corpus.bytes);
}

void BM_EngineSeedRules(benchmark::State& state) {
  const Corpus& corpus = Events();
  auto rules = eql::LoadRules(std::string(EQL_SOURCE_DIR) + "/examples/rules");
  if (!rules.ok()) {
    state.SkipWithError("cannot load examples/rules");
    return;
  }
  uint64_t alerts = 0;
  for (auto _ : state) {
    auto engine = eql::Engine::Create(*rules);
    if (!engine.ok()) {
      state.SkipWithError("engine");
      return;
    }
    (*engine)->SetAlertCallback([&](const eql::Alert&) { ++alerts; });
    for (const std::string& line : corpus.lines) {
      (void)(*engine)->PushJsonPadded(line);  // lines reserve the padding
    }
    (*engine)->Flush();
  }
  state.counters["alerts_per_pass"] = static_cast<double>(alerts) / state.iterations();
  state.SetItemsProcessed(state.iterations() * corpus.lines.size());
  state.SetBytesProcessed(state.iterations() * corpus.bytes);
}

BENCHMARK(BM_SimdjsonParseAndReadFields)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SimdjsonDomParseAndReadFields)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EngineSeedRules)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
