// bench_normalize: what source normalization costs end to end. The Windows
// process events of the generated ECS stream are converted once into the
// records each data source would have written for them (Sysmon in both
// shapes, Security 4688, CrowdStrike FDR, Defender XDR, SentinelOne); the
// Windows Node.js rule then runs over the ECS events (source "ecs") and over
// each source's records (EngineOptions::source), the same events each time.
// The issue's target: normalization adds at most 30% to the ECS time.
//
//   build/bin/bench_normalize --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Events: EQL_BENCH_EVENTS=path (NDJSON), else 1,000,000 events generated once
// by eql-gen (seed 42, 500 attacks) into /tmp/libeql-bench-1m.ndjson; only
// their Windows process starts are used.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "eql/engine.hpp"
#include "eql/rules.hpp"
#include "eql/sources.hpp"
#include "fmt/format.h"
#include "simdjson.h"

namespace {

// JSON string escaping for the generated values (quotes and backslashes).
std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// The process start of one ECS event, as the generator writes it.
struct Proc {
  std::string ts, host_id, host, entity, name, exe, command_line, parent_entity, parent_name,
      user;
  int64_t pid = 0;
  std::vector<std::string> args;
};

// The command line a Windows process would have: argv[0] quoted when it has
// a space (the generator joins its args with spaces).
std::string WindowsCommandLine(const Proc& p) {
  std::string cl;
  for (size_t i = 0; i < p.args.size(); ++i) {
    if (i > 0) cl += ' ';
    bool quote = p.args[i].find(' ') != std::string::npos;
    cl += quote ? "\"" + p.args[i] + "\"" : p.args[i];
  }
  return cl;
}

int64_t Millis(const std::string& iso) {
  int64_t ms = 0;
  eql::SourceNormalizer::ParseTimestamp(iso, ms);
  return ms;
}

std::string Sysmon(const Proc& p, bool evtx) {
  std::string utc = p.ts.substr(0, 10) + " " + p.ts.substr(11, 12);
  std::string data = fmt::format(
      R"({{"RuleName":"-","UtcTime":"{}","ProcessGuid":"{}","ProcessId":{},"Image":"{}",)"
      R"("CommandLine":"{}","CurrentDirectory":"C:\\Users\\{}\\","User":"CORP\\{}",)"
      R"("LogonId":"0x3b5cb2","IntegrityLevel":"Medium","ParentProcessGuid":"{}",)"
      R"("ParentImage":"C:\\Windows\\{}","ParentCommandLine":"{}"}})",
      utc, p.entity, p.pid, Esc(p.exe), Esc(WindowsCommandLine(p)), p.user, p.user,
      p.parent_entity, Esc(p.parent_name), Esc(p.parent_name));
  if (evtx) {
    return fmt::format(
        R"({{"Event":{{"System":{{"Provider":{{"#attributes":{{"Name":"Microsoft-Windows-Sysmon"}}}},)"
        R"("EventID":1,"TimeCreated":{{"#attributes":{{"SystemTime":"{}"}}}},)"
        R"("Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"{}"}},"EventData":{}}}}})",
        p.ts, p.host, data);
  }
  return fmt::format(
      R"({{"@timestamp":"{}","winlog":{{"channel":"Microsoft-Windows-Sysmon/Operational",)"
      R"("provider_name":"Microsoft-Windows-Sysmon","event_id":1,"computer_name":"{}",)"
      R"("event_data":{}}}}})",
      p.ts, p.host, data);
}

std::string Winsec(const Proc& p) {
  return fmt::format(
      R"({{"@timestamp":"{}","winlog":{{"channel":"Security","provider_name":)"
      R"("Microsoft-Windows-Security-Auditing","event_id":4688,"computer_name":"{}",)"
      R"("event_data":{{"SubjectUserSid":"S-1-5-21-1-2-3-1104","SubjectUserName":"{}",)"
      R"("SubjectDomainName":"CORP","NewProcessId":"0x{:x}","NewProcessName":"{}",)"
      R"("ProcessId":"0x{:x}","CommandLine":"{}","ParentProcessName":"C:\\Windows\\{}"}}}}}})",
      p.ts, p.host, p.user, p.pid, Esc(p.exe), p.pid / 2 + 4, Esc(WindowsCommandLine(p)),
      Esc(p.parent_name));
}

std::string CrowdStrike(const Proc& p) {
  return fmt::format(
      R"({{"event_simpleName":"ProcessRollup2","aid":"{}","event_platform":"Win",)"
      R"("timestamp":"{}","ComputerName":"{}","TargetProcessId":"{}","ParentProcessId":"{}",)"
      R"("RawProcessId":"{}","ImageFileName":"\\Device\\HarddiskVolume3{}","CommandLine":"{}",)"
      R"("ParentBaseFileName":"{}","UserName":"{}"}})",
      p.host_id, Millis(p.ts), p.host, p.entity, p.parent_entity, p.pid, Esc(p.exe.substr(2)),
      Esc(WindowsCommandLine(p)), Esc(p.parent_name), p.user);
}

std::string Mde(const Proc& p) {
  return fmt::format(
      R"({{"Timestamp":"{}","DeviceId":"{}","DeviceName":"{}","ActionType":"ProcessCreated",)"
      R"("FileName":"{}","FolderPath":"{}","ProcessId":{},"ProcessCommandLine":"{}",)"
      R"("ProcessCreationTime":"{}","AccountName":"{}","InitiatingProcessId":{},)"
      R"("InitiatingProcessFileName":"{}","InitiatingProcessFolderPath":"C:\\Windows\\{}",)"
      R"("InitiatingProcessCreationTime":"{}"}})",
      p.ts, p.host_id, p.host, Esc(p.name), Esc(p.exe), p.pid, Esc(WindowsCommandLine(p)), p.ts,
      p.user, p.pid / 2 + 4, Esc(p.parent_name), Esc(p.parent_name), p.ts);
}

std::string SentinelOne(const Proc& p) {
  return fmt::format(
      R"({{"event.time":{},"event.type":"Process Creation","agent.uuid":"{}",)"
      R"("endpoint.name":"{}","endpoint.os":"windows","tgt.process.uid":"{}",)"
      R"("tgt.process.pid":{},"tgt.process.name":"{}","tgt.process.image.path":"{}",)"
      R"("tgt.process.cmdline":"{}","tgt.process.user":"CORP\\{}","src.process.uid":"{}",)"
      R"("src.process.name":"{}"}})",
      Millis(p.ts), p.host_id, p.host, p.entity, p.pid, Esc(p.name), Esc(p.exe),
      Esc(WindowsCommandLine(p)), p.user, p.parent_entity, Esc(p.parent_name));
}

struct Corpus {
  std::map<std::string, std::vector<std::string>> lines;  // by source; padding reserved
};

std::string Str(simdjson::dom::element e, const char* path) {
  std::string_view s;
  return e.at_pointer(path).get(s) == simdjson::SUCCESS ? std::string(s) : std::string();
}

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
    simdjson::dom::parser parser;
    auto add = [&](const std::string& source, std::string line) {
      line.reserve(line.size() + simdjson::SIMDJSON_PADDING);
      c.lines[source].push_back(std::move(line));
    };
    for (std::string line; std::getline(in, line);) {
      simdjson::dom::element e;
      if (parser.parse(line).get(e) != simdjson::SUCCESS) continue;
      if (Str(e, "/host/os/type") != "windows" || Str(e, "/event/category/0") != "process")
        continue;
      Proc p;
      p.ts = Str(e, "/@timestamp");
      p.host_id = Str(e, "/host/id");
      p.host = Str(e, "/host/name");
      p.entity = Str(e, "/process/entity_id");
      p.name = Str(e, "/process/name");
      p.exe = Str(e, "/process/executable");
      p.command_line = Str(e, "/process/command_line");
      p.parent_entity = Str(e, "/process/parent/entity_id");
      p.parent_name = Str(e, "/process/parent/name");
      p.user = Str(e, "/user/name");
      int64_t pid = 0;
      if (e.at_pointer("/process/pid").get(pid) != simdjson::SUCCESS) pid = 0;
      p.pid = pid;
      simdjson::dom::array args;
      if (e.at_pointer("/process/args").get(args) == simdjson::SUCCESS)
        for (auto a : args) p.args.emplace_back(std::string_view(a));
      add("ecs", line);
      add("sysmon", Sysmon(p, false));
      add("sysmon-evtx", Sysmon(p, true));
      add("winsec", Winsec(p));
      add("crowdstrike", CrowdStrike(p));
      add("mde", Mde(p));
      add("sentinelone", SentinelOne(p));
    }
    return c;
  }();
  return corpus;
}

// The Windows Node.js rule over one source's records, end to end: engine
// creation, every record pushed without a copy, flush.
void BM_Rule(benchmark::State& state, std::string corpus_name, std::string source) {
  const std::vector<std::string>& lines = Events().lines.at(corpus_name);
  auto rules =
      eql::LoadRules(std::string(EQL_SOURCE_DIR) + "/examples/rules/nodejs_suspicious_execution.toml");
  if (!rules.ok()) {
    state.SkipWithError("cannot load the rule");
    return;
  }
  uint64_t alerts = 0, bytes = 0, failed = 0;
  for (const std::string& l : lines) bytes += l.size() + 1;
  for (auto _ : state) {
    eql::EngineOptions options;
    options.source = source;
    auto engine = eql::Engine::Create(*rules, options);
    if (!engine.ok()) {
      state.SkipWithError("engine");
      return;
    }
    (*engine)->SetAlertCallback([&](const eql::Alert&) { ++alerts; });
    for (const std::string& line : lines) failed += !(*engine)->PushJsonPadded(line).ok();
    (*engine)->Flush();
  }
  if (failed > 0) state.SkipWithError("records were rejected");
  state.counters["alerts_per_pass"] = static_cast<double>(alerts) / state.iterations();
  state.SetItemsProcessed(state.iterations() * lines.size());
  state.SetBytesProcessed(state.iterations() * bytes);
}

// Normalization alone (no rules): the normalizer's share of the above.
void BM_NormalizeOnly(benchmark::State& state, std::string corpus_name, std::string source) {
  const std::vector<std::string>& lines = Events().lines.at(corpus_name);
  auto n = eql::SourceNormalizer::Create(source);
  eql::Event ev;
  for (auto _ : state) {
    for (const std::string& line : lines) (void)(*n)->Normalize(line, ev);
  }
  state.SetItemsProcessed(state.iterations() * lines.size());
}

const int kRegistered = [] {
  const std::pair<const char*, const char*> runs[] = {
      {"ecs", "ecs"},           {"sysmon", "sysmon"},           {"sysmon-evtx", "sysmon"},
      {"sysmon", "auto"},       {"winsec", "winsec"},           {"crowdstrike", "crowdstrike"},
      {"mde", "mde"},           {"sentinelone", "sentinelone"},
  };
  for (auto [corpus, source] : runs) {
    benchmark::RegisterBenchmark(fmt::format("Rule/{}/source:{}", corpus, source).c_str(), BM_Rule,
                                 std::string(corpus), std::string(source))
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("NormalizeOnly/sysmon", BM_NormalizeOnly, std::string("sysmon"),
                               std::string("sysmon"))
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
