// bench/parse/parse_bench.cpp
//
// Parser throughput: every query of the detection-rules corpus (1081 rules)
// parsed per iteration; items/s is queries per second. Also the canonical
// printer over the same trees, and one typical event query on its own.
//
//   build/bin/bench_parse --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "syntax/parse.hpp"

namespace {

const std::vector<std::string>& Corpus() {
  static const std::vector<std::string> queries = [] {
    std::vector<std::string> out;
    const std::string path = std::string(EQL_SHARED_DIR) + "/corpus/detection-rules-eql.jsonl";
    std::ifstream in(path);
    if (!in) {
      std::fprintf(stderr, "corpus not found: %s\n", path.c_str());
      std::exit(1);
    }
    simdjson::ondemand::parser json;
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      simdjson::padded_string padded(line);
      std::string_view query;
      simdjson::ondemand::document doc;
      if (json.iterate(padded).get(doc) == simdjson::SUCCESS &&
          doc["query"].get_string().get(query) == simdjson::SUCCESS) {
        out.emplace_back(query);
      }
    }
    return out;
  }();
  return queries;
}

void BM_ParseCorpus(benchmark::State& state) {
  const std::vector<std::string>& queries = Corpus();
  size_t bytes = 0;
  for (const std::string& q : queries) bytes += q.size();
  for (auto _ : state) {
    for (const std::string& q : queries) {
      eql::syntax::ParseOutcome out = eql::syntax::Parse(q);
      if (!out.ok()) state.SkipWithError("a corpus query did not parse");
      benchmark::DoNotOptimize(out);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * queries.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["queries"] = static_cast<double>(queries.size());
}
BENCHMARK(BM_ParseCorpus)->Unit(benchmark::kMillisecond);

void BM_PrintCorpus(benchmark::State& state) {
  std::vector<eql::ast::Query> trees;
  for (const std::string& q : Corpus()) trees.push_back(*eql::syntax::Parse(q).query);
  for (auto _ : state) {
    for (const eql::ast::Query& t : trees) benchmark::DoNotOptimize(eql::syntax::Print(t));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * trees.size()));
}
BENCHMARK(BM_PrintCorpus)->Unit(benchmark::kMillisecond);

void BM_ParseOneEventQuery(benchmark::State& state) {
  const std::string query =
      "process where event.type == \"start\" and process.name : (\"node.exe\", \"node\") and "
      "process.args : (\"*--inspect*\", \"-e\") and not process.parent.name in~ (\"code.exe\")";
  for (auto _ : state) benchmark::DoNotOptimize(eql::syntax::Parse(query));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseOneEventQuery);

}  // namespace

BENCHMARK_MAIN();
