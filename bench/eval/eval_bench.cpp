// Cost per event of the Windows Node.js detection conditions:
//   BM_Match          compiled condition over an already projected record
//   BM_ProjectMatch   JSON text -> projected record -> condition
//   BM_Project        JSON text -> projected record only
//   BM_ProjectPadded  the same from padded buffers (no copy)
// Rules: "Suspicious Execution with NodeJS" in both versions in
// ../shared/rules (c969216bd1: three branches; 14cf530f0d: two), and the three
// single-branch rules of examples/rules. Events: a mix of ECS process-start
// events, 1 in 8 of them a node.exe start (AppData script, -r preload
// from PowerShell, npm install, inline eval/atob), the rest ordinary Windows
// processes, shaped like Elastic Defend's (about 1.3 KB each).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "analysis/compile.hpp"
#include "expr/eval.hpp"
#include "io/json_projector.hpp"
#include "mini_parser.hpp"
#include "toml++/toml.h"

namespace {

namespace fs = std::filesystem;
using namespace eql;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Strips whole-line // comments of the .eql example files.
std::string StripComments(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.rfind("//", 0) == 0) continue;
    out += line + "\n";
  }
  return out;
}

struct Rule {
  std::string name;
  std::string query;
};

std::vector<Rule> Rules() {
  std::vector<Rule> rules;
  fs::path shared(EQL_SHARED_DIR);
  for (const char* v : {"c969216bd1", "14cf530f0d"}) {
    fs::path p = shared / "rules" / (std::string("execution_nodejs_susp_patterns@") + v + ".toml");
    try {
      toml::table t = toml::parse_file(p.string());
      rules.push_back(
          {std::string("susp_patterns@") + v, t["rule"]["query"].value_or(std::string())});
    } catch (const std::exception&) {
    }
  }
  fs::path examples = fs::path(EQL_SOURCE_DIR) / "examples" / "rules";
  for (const char* f :
       {"nodejs_appdata_execution", "nodejs_inline_code", "nodejs_preload_by_powershell"}) {
    rules.push_back({f, StripComments(ReadFile(examples / (std::string(f) + ".eql")))});
  }
  return rules;
}

std::string ProcessEvent(int i) {
  static const char* kOther[][3] = {
      {"svchost.exe", "C:\\Windows\\System32\\svchost.exe",
       "svchost.exe -k netsvcs -p -s Schedule"},
      {"chrome.exe", "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
       "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer "
       "--field-trial-handle=1234"},
      {"powershell.exe", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
       "powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\scripts\\inventory.ps1"},
      {"conhost.exe", "C:\\Windows\\System32\\conhost.exe",
       "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1"},
      {"git.exe", "C:\\Program Files\\Git\\cmd\\git.exe", "git.exe fetch --all --prune"},
      {"msedge.exe", "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
       "msedge.exe --no-startup-window"},
      {"cmd.exe", "C:\\Windows\\System32\\cmd.exe", "cmd.exe /c echo hello"},
  };
  static const char* kNode[][3] = {
      {"C:\\Users\\alice\\AppData\\Roaming\\nvm\\node.exe", "explorer.exe",
       "\"C:\\Users\\alice\\AppData\\Roaming\\nvm\\node.exe\" "
       "C:\\Users\\alice\\AppData\\Local\\Temp\\update.js"},
      {"C:\\Program Files\\nodejs\\node.exe", "powershell.exe",
       "\"C:\\Program Files\\nodejs\\node.exe\" -r C:\\ProgramData\\hook.js server.js"},
      {"C:\\Program Files\\nodejs\\node.exe", "cmd.exe",
       "\"C:\\Program Files\\nodejs\\node.exe\" C:\\dev\\app\\node_modules\\npm\\bin\\npm-cli.js "
       "install"},
      {"C:\\Program Files\\nodejs\\node.exe", "cmd.exe",
       "\"C:\\Program Files\\nodejs\\node.exe\" -e \"eval(atob('Y29uc29sZS5sb2coMSk='))\""},
  };
  static_assert(sizeof kNode / sizeof kNode[0] == 4);
  std::string name, exe, cmd, parent = "explorer.exe";
  if (i % 8 == 0) {
    const auto& n = kNode[(i / 8) % 4];
    name = "node.exe";
    exe = n[0];
    parent = n[1];
    cmd = n[2];
  } else {
    const auto& o = kOther[i % 7];
    name = o[0];
    exe = o[1];
    cmd = o[2];
    if (i % 5 == 0) parent = "services.exe";
  }
  auto esc = [](const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '\\' || c == '"') out.push_back('\\');
      out.push_back(c);
    }
    return out;
  };
  // args: the command line split at spaces (good enough for a workload).
  std::string args = "[";
  std::istringstream words(cmd);
  std::string w;
  bool first = true;
  while (words >> w) {
    args += (first ? "\"" : ",\"") + esc(w) + "\"";
    first = false;
  }
  args += "]";
  std::ostringstream o;
  o << R"({"@timestamp":"2026-11-02T10:00:)" << (i % 60 < 10 ? "0" : "") << i % 60
    << R"(.000Z","agent":{"id":"7f3c1b2e-aaaa-bbbb-cccc-0123456789ab","type":"endpoint","version":"8.15.0"},)"
    << R"("ecs":{"version":"8.11.0"},"event":{"action":"start","category":["process"],"kind":"event","module":"endpoint","dataset":"endpoint.events.process","type":["start"],"id":"NmR)"
    << i << R"("},)"
    << R"("host":{"id":"win-)" << i % 13 << R"(","name":"DESKTOP-)" << i % 13
    << R"(","os":{"type":"windows","family":"windows","name":"Windows 11 Pro","version":"23H2","kernel":"10.0.22631"},"architecture":"x86_64","ip":["10.0.0.)"
    << i % 250 << R"("]},)"
    << R"("process":{"entity_id":"e-)" << i << R"(","pid":)" << 1000 + i << R"(,"name":")" << name
    << R"(","executable":")" << esc(exe) << R"(","command_line":")" << esc(cmd) << R"(","args":)"
    << args << R"(,"args_count":)" << std::count(args.begin(), args.end(), ',') + 1
    << R"(,"working_directory":"C:\\Users\\alice","pe":{"original_file_name":")" << name
    << R"(","company":"Vendor"},"code_signature":{"subject_name":"Vendor Inc","trusted":true,"exists":true},)"
    << R"("hash":{"sha256":"9efdaaad31a2efce37258daba04906691c0da76b82e2b0fb36003727de4f91f7"},)"
    << R"("parent":{"entity_id":"p-)" << i << R"(","pid":)" << 500 + i % 40 << R"(,"name":")"
    << parent << R"(","executable":"C:\\Windows\\)" << parent << R"("}},)"
    << R"("user":{"id":"S-1-5-21-1004","name":"alice","domain":"DESKTOP"}})";
  return o.str();
}

struct Setup {
  io::FieldRegistry fields;
  std::vector<analysis::CompiledCondition> conditions;
  std::vector<std::string> names;
  std::vector<std::string> events;
  std::vector<io::Record> records;
};

Setup& Get() {
  static Setup* s = [] {
    auto* s = new Setup;
    for (const Rule& r : Rules()) {
      testing::MiniParser parser(r.query);
      auto q = parser.ParseQuery();
      if (!q) {
        std::fprintf(stderr, "cannot parse %s: %s\n", r.name.c_str(), parser.error().c_str());
        std::abort();
      }
      auto c = analysis::CompileEventQuery(q->event, s->fields, {}, r.query);
      if (!c.ok()) {
        std::fprintf(stderr, "cannot compile %s: %s\n", r.name.c_str(),
                     c.diagnostics[0].message.c_str());
        std::abort();
      }
      s->conditions.push_back(c.value->condition);
      s->names.push_back(r.name);
    }
    io::JsonProjector projector(s->fields);
    for (int i = 0; i < 4096; ++i) {
      s->events.push_back(ProcessEvent(i));
      io::Record record;
      if (!projector.Project(s->events.back(), record).ok()) std::abort();
      s->records.push_back(std::move(record));
    }
    return s;
  }();
  return *s;
}

// Cycles through 64 records, which stay in cache as a just-projected record
// does in the engine (cycling through all 4096 measures cache misses).
void BM_Match(benchmark::State& state) {
  Setup& s = Get();
  const auto& cond = s.conditions[state.range(0)];
  state.SetLabel(s.names[state.range(0)]);
  size_t i = 0, hits = 0;
  for (auto _ : state) {
    hits += expr::Matches(cond, s.records[i]);
    i = (i + 1) & 63;
  }
  state.counters["hit_rate"] = static_cast<double>(hits) / state.iterations();
  state.SetItemsProcessed(state.iterations());
}

void BM_ProjectMatch(benchmark::State& state) {
  Setup& s = Get();
  const auto& cond = s.conditions[state.range(0)];
  state.SetLabel(s.names[state.range(0)]);
  io::JsonProjector projector(s.fields);
  io::Record record;
  size_t i = 0, hits = 0, bytes = 0;
  for (auto _ : state) {
    const std::string& e = s.events[i];
    bytes += e.size();
    if (!projector.Project(e, record).ok()) std::abort();
    hits += expr::Matches(cond, record);
    i = (i + 1) & 4095;
  }
  state.counters["hit_rate"] = static_cast<double>(hits) / state.iterations();
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(state.iterations());
}

void BM_Project(benchmark::State& state) {
  Setup& s = Get();
  io::JsonProjector projector(s.fields);
  io::Record record;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const std::string& e = s.events[i];
    bytes += e.size();
    if (!projector.Project(e, record).ok()) std::abort();
    benchmark::DoNotOptimize(record);
    i = (i + 1) & 4095;
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(state.iterations());
}

// As BM_Project, reading from buffers that already carry simdjson's padding
// (no copy of the event text).
void BM_ProjectPadded(benchmark::State& state) {
  Setup& s = Get();
  std::vector<std::string> padded;
  for (const std::string& e : s.events) {
    padded.push_back(e + std::string(io::JsonProjector::kPadding, '\0'));
  }
  io::JsonProjector projector(s.fields);
  io::Record record;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    std::string_view e(padded[i].data(), s.events[i].size());
    bytes += e.size();
    if (!projector.ProjectPadded(e, record).ok()) std::abort();
    benchmark::DoNotOptimize(record);
    i = (i + 1) & 4095;
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_Match)->DenseRange(0, 4);
BENCHMARK(BM_ProjectMatch)->DenseRange(0, 4);
BENCHMARK(BM_Project);
BENCHMARK(BM_ProjectPadded);

}  // namespace

BENCHMARK_MAIN();
