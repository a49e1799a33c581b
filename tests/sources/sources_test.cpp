// Normalizer tests: the command-line splitter and timestamp parser against
// their documented rules, each source's sample records (tests/sources/data),
// `auto` detection, and the real Sysmon samples under EQL_SHARED_DIR.
#include "eql/sources.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "io/json_projector.hpp"
#include "io/record.hpp"
#include "sources/tables.hpp"

namespace eql {
namespace {

using Args = std::vector<std::string>;

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

std::string Data(const char* name) {
  return std::string(EQL_SOURCE_DIR) + "/tests/sources/data/" + name;
}

// Text of a string field, or a marker saying what was there instead.
std::string Str(const Event& ev, const char* path) {
  const Event::Value* v = ev.Find(path);
  if (v == nullptr) return "<missing>";
  if (v->kind != Event::Value::Kind::kString) return "<not a string>";
  return v->text;
}
int64_t Int(const Event& ev, const char* path) {
  const Event::Value* v = ev.Find(path);
  return v != nullptr && v->kind == Event::Value::Kind::kInt ? v->integer : -999;
}
Args Arr(const Event& ev, const char* path) {
  Args out;
  const Event::Value* v = ev.Find(path);
  if (v == nullptr || v->kind != Event::Value::Kind::kArray) return {"<not an array>"};
  for (const auto& i : v->items) out.push_back(i.text);
  return out;
}

std::vector<Event> NormalizeFile(SourceNormalizer& n, const char* file) {
  std::vector<Event> out;
  for (const std::string& line : ReadLines(Data(file))) {
    Event ev;
    absl::Status s = n.Normalize(line, ev);
    EXPECT_TRUE(s.ok()) << file << ": " << s << "\n" << line;
    out.push_back(std::move(ev));
  }
  return out;
}

TEST(SplitWindowsCommandLine, DocumentedRules) {
  std::printf("checks: CommandLineToArgvW examples (MS docs table) and argv[0] rules\n");
  auto split = SourceNormalizer::SplitWindowsCommandLine;
  // The table of "Parsing C++ command-line arguments" (after a program name).
  EXPECT_EQ(split("p \"abc\" d e"), (Args{"p", "abc", "d", "e"}));
  EXPECT_EQ(split("p a\\\\b d\"e f\"g h"), (Args{"p", "a\\\\b", "de fg", "h"}));
  EXPECT_EQ(split("p a\\\\\\\"b c d"), (Args{"p", "a\\\"b", "c", "d"}));
  EXPECT_EQ(split("p a\\\\\\\\\"b c\" d e"), (Args{"p", "a\\\\b c", "d", "e"}));
  EXPECT_EQ(split("p a\"b\"\" c d"), (Args{"p", "ab\" c d"}));
  // argv[0]: quotes delimit, backslashes literal, no escapes.
  EXPECT_EQ(split("\"C:\\Program Files\\x\\\\node.exe\"  \"C:\\a b\\c.js\" install"),
            (Args{"C:\\Program Files\\x\\\\node.exe", "C:\\a b\\c.js", "install"}));
  EXPECT_EQ(split("C:\\a\\\"b c"), (Args{"C:\\a\\\"b", "c"}));
  EXPECT_EQ(split("cmd.exe /d /s /c \"whoami\""), (Args{"cmd.exe", "/d", "/s", "/c", "whoami"}));
  EXPECT_EQ(split("x \"\""), (Args{"x", ""}));
  EXPECT_EQ(split("x\t a  "), (Args{"x", "a"}));
  EXPECT_TRUE(split("").empty());
}

TEST(ParseTimestamp, Formats) {
  std::printf("checks: Sysmon UtcTime, ISO with 7 fraction digits and offsets, epoch s/ms\n");
  int64_t ms = 0;
  ASSERT_TRUE(SourceNormalizer::ParseTimestamp("2025-11-28 06:43:04.579", ms));
  EXPECT_EQ(ms, 1764312184579);
  ASSERT_TRUE(SourceNormalizer::ParseTimestamp("2025-11-28T06:43:04.5829699Z", ms));
  EXPECT_EQ(ms, 1764312184582);
  ASSERT_TRUE(SourceNormalizer::ParseTimestamp("2025-11-28T08:43:04+02:00", ms));
  EXPECT_EQ(ms, 1764312184000);
  ASSERT_TRUE(SourceNormalizer::ParseTimestamp("1741083330123", ms));
  EXPECT_EQ(ms, 1741083330123);
  ASSERT_TRUE(SourceNormalizer::ParseTimestamp("1741083330.120", ms));
  EXPECT_EQ(ms, 1741083330120);
  ASSERT_TRUE(SourceNormalizer::ParseTimestamp("1970-01-01T00:00:00Z", ms));
  EXPECT_EQ(ms, 0);
  EXPECT_FALSE(SourceNormalizer::ParseTimestamp("yesterday", ms));
  EXPECT_FALSE(SourceNormalizer::ParseTimestamp("2025-13-01 00:00:00", ms));
}

TEST(ParseTimestamp, UsualFormsAsTheGeneralReading) {
  std::printf("checks: the usual ISO forms (read at once) give what other spellings give\n");
  // Each pair: a usual form and a spelling of the same time that only the
  // general reading takes (an offset, a longer fraction, spaces around).
  const std::pair<const char*, const char*> same[] = {
      {"2025-11-28T06:43:04.579Z", "2025-11-28T06:43:04.579+00:00"},
      {"2025-11-28T06:43:04.579z", "2025-11-28T06:43:04.5790Z"},
      {"2025-11-28 06:43:04.579", " 2025-11-28 06:43:04.579 "},
      {"2025-11-28T06:43:04Z", "2025-11-28T06:43:04.0Z"},
      {"2025-11-28T06:43:04", "2025-11-28T07:43:04+01:00"},
      {"2024-02-31T23:59:60.999Z", "2024-02-31T23:59:60.999-00:00"},  // not normalized
      {"0000-01-01T00:00:00.000Z", "0000-01-01T00:00:00.000+00"},
  };
  for (const auto& [usual, other] : same) {
    int64_t a = -1, b = -2;
    EXPECT_TRUE(SourceNormalizer::ParseTimestamp(usual, a)) << usual;
    EXPECT_TRUE(SourceNormalizer::ParseTimestamp(other, b)) << other;
    EXPECT_EQ(a, b) << usual;
  }
  int64_t ms = 0;
  EXPECT_EQ((SourceNormalizer::ParseTimestamp("2025-03-04T10:00:01.000Z", ms), ms), 1741082401000);
  // Out of range or not quite the usual form: refused as before.
  for (const char* bad :
       {"2025-11-28T24:00:00.000Z", "2025-11-28T06:60:00.000Z", "2025-11-28T06:00:61.000Z",
        "2025-00-28T06:00:00.000Z", "2025-11-00T06:00:00.000Z", "2025-11-28T06:00:00.000ZZ",
        "2025-11-28T06:00:00.00aZ", "2025-11-28X06:00:00.000Z", "2025-11-28T06:00:00.Z",
        "+025-11-28T06:00:00.000Z"})
    EXPECT_FALSE(SourceNormalizer::ParseTimestamp(bad, ms)) << bad;
}

TEST(Create, NamesAndErrors) {
  std::printf("checks: every listed name creates; an unknown name is an error\n");
  EXPECT_EQ(SourceNormalizer::Names(),
            (Args{"ecs", "sysmon", "winsec", "crowdstrike", "mde", "sentinelone", "auto"}));
  for (const std::string& n : SourceNormalizer::Names())
    EXPECT_TRUE(SourceNormalizer::Create(n).ok()) << n;
  EXPECT_FALSE(SourceNormalizer::Create("splunk").ok());
}

TEST(Sysmon, WinlogbeatShapeAndPassThrough) {
  std::printf("checks: winlogbeat Sysmon EID 1 fields; EID 3 -> network, 11 -> file\n");
  auto n = *SourceNormalizer::Create("sysmon");
  auto evs = NormalizeFile(*n, "sysmon_winlogbeat.ndjson");
  ASSERT_EQ(evs.size(), 3u);
  const Event& e = evs[0];
  EXPECT_EQ(Str(e, "@timestamp"), "2025-03-04T08:59:59.987Z");
  EXPECT_EQ(Str(e, "host.name"), "WS05");
  EXPECT_EQ(Str(e, "host.os.type"), "windows");
  EXPECT_EQ(Arr(e, "event.category"), (Args{"process"}));
  EXPECT_EQ(Arr(e, "event.type"), (Args{"start"}));
  EXPECT_EQ(Str(e, "event.action"), "Process Create (rule: ProcessCreate)");
  EXPECT_EQ(Str(e, "process.entity_id"), "{11111111-2222-3333-4444-555555555555}");
  EXPECT_EQ(Str(e, "process.parent.entity_id"), "{11111111-2222-3333-4444-000000000001}");
  EXPECT_EQ(Int(e, "process.pid"), 4321);
  EXPECT_EQ(Int(e, "process.parent.pid"), 1200);
  EXPECT_EQ(Str(e, "process.name"), "node.exe");
  EXPECT_EQ(Str(e, "process.parent.name"), "cmd.exe");
  EXPECT_EQ(Arr(e, "process.args"),
            (Args{"node.exe", "-e", "require('child_process').exec('whoami')"}));
  EXPECT_EQ(Str(e, "user.name"), "erin");
  EXPECT_EQ(Str(e, "user.domain"), "CORP");
  EXPECT_EQ(Arr(evs[1], "event.category"), (Args{"network"}));
  EXPECT_EQ(Str(evs[1], "winlog.event_data.DestinationIp"), "203.0.113.9");
  EXPECT_EQ(Str(evs[1], "@timestamp"), "2025-03-04T09:00:00.500Z");
  EXPECT_EQ(Arr(evs[2], "event.category"), (Args{"file"}));
  EXPECT_EQ(Arr(evs[2], "event.type"), (Args{"creation"}));
  auto st = n->Stats();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].first, "sysmon");
  EXPECT_EQ(st[0].second.records, 3u);
  EXPECT_EQ(st[0].second.normalized, 1u);
  EXPECT_EQ(st[0].second.passed_through, 2u);
}

// The seed Windows rule (execution_nodejs_susp_patterns) reads these fields;
// checked directly (the where clause is not compiled here):
// host.os.type == "windows" and event.type == "start" and process.name : "node.exe"
// and process.command_line : "*require*child_process*".
TEST(Sysmon, SeedRuleFieldsMatch) {
  std::printf("checks: a normalized Sysmon node.exe event carries the seed rule's field values\n");
  auto n = *SourceNormalizer::Create("auto");
  Event e;
  ASSERT_TRUE(n->Normalize(ReadLines(Data("sysmon_winlogbeat.ndjson"))[0], e).ok());
  EXPECT_EQ(Str(e, "host.os.type"), "windows");
  EXPECT_EQ(Arr(e, "event.type"), (Args{"start"}));
  EXPECT_EQ(Arr(e, "event.category"), (Args{"process"}));
  EXPECT_EQ(Str(e, "process.name"), "node.exe");
  const std::string cl = Str(e, "process.command_line");
  size_t req = cl.find("require");
  ASSERT_NE(req, std::string::npos);
  EXPECT_NE(cl.find("child_process", req), std::string::npos);
}

TEST(Sysmon, RealSamples) {
  std::printf("checks: every real Sysmon node.exe sample normalizes; exact spot values\n");
  std::filesystem::path dir = std::filesystem::path(EQL_SHARED_DIR) / "samples" / "sysmon-node";
  if (!std::filesystem::exists(dir)) {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") FAIL() << "missing shared data " << dir;
    GTEST_SKIP() << "shared data not found at " << dir;
  }
  auto n = *SourceNormalizer::Create("auto");
  int count = 0;
  bool saw_npm = false, saw_whoami = false;
  std::vector<std::filesystem::path> files;
  for (const auto& f : std::filesystem::directory_iterator(dir))
    if (f.path().extension() == ".ndjson") files.push_back(f.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    for (const std::string& line : ReadLines(f.string())) {
      Event e;
      ASSERT_TRUE(n->Normalize(line, e).ok()) << f;
      EXPECT_EQ(n->last_source(), "sysmon");
      ++count;
      EXPECT_EQ(Arr(e, "event.category"), (Args{"process"}));
      EXPECT_EQ(Str(e, "host.os.type"), "windows");
      EXPECT_NE(Str(e, "process.entity_id"), "<missing>");
      EXPECT_NE(Str(e, "process.parent.entity_id"), "<missing>");
      EXPECT_EQ(Str(e, "@timestamp").size(), 24u) << Str(e, "@timestamp");
      if (Str(e, "process.entity_id") == "0197231E-4478-6929-4110-000000000D00") {
        saw_npm = true;
        EXPECT_EQ(Str(e, "@timestamp"), "2025-11-28T06:43:04.579Z");
        EXPECT_EQ(Str(e, "host.name"), "swachchhanda");
        EXPECT_EQ(Str(e, "process.name"), "node.exe");
        EXPECT_EQ(Int(e, "process.pid"), 15284);
        EXPECT_EQ(Str(e, "process.parent.name"), "cmd.exe");
        EXPECT_EQ(Str(e, "process.parent.entity_id"), "0197231E-2F7B-6929-E00E-000000000D00");
        EXPECT_EQ(Arr(e, "process.args"),
                  (Args{"C:\\Program Files\\nodejs\\\\node.exe",
                        "C:\\Program Files\\nodejs\\\\node_modules\\npm\\bin\\npm-cli.js",
                        "install", "@asyncapi/cli@4.1.3"}));
        EXPECT_EQ(Str(e, "user.name"), "xodih");
      }
      if (Str(e, "process.command_line") == "cmd.exe /d /s /c \"whoami\"" ||
          Str(e, "process.command_line").find("\"whoami\"") != std::string::npos) {
        saw_whoami = true;
        EXPECT_EQ(Str(e, "process.name"), "cmd.exe");
        EXPECT_EQ(Str(e, "process.parent.name"), "node.exe");
        EXPECT_EQ(Arr(e, "process.args").back(), "whoami");
      }
    }
  }
  std::printf("real Sysmon records normalized: %d\n", count);
  EXPECT_EQ(count, 10);
  EXPECT_TRUE(saw_npm);
  EXPECT_TRUE(saw_whoami);
}

TEST(Winsec, BothShapesAndSurrogateIds) {
  std::printf("checks: 4688 winlogbeat + EVTX JSON, hex pids, surrogate ids link child->parent\n");
  auto n = *SourceNormalizer::Create("winsec");
  auto evs = NormalizeFile(*n, "winsec.ndjson");
  ASSERT_EQ(evs.size(), 2u);
  const Event& node = evs[0];
  EXPECT_EQ(Int(node, "process.pid"), 0x1eb8);
  EXPECT_EQ(Int(node, "process.parent.pid"), 0x2a0);
  EXPECT_EQ(Str(node, "process.name"), "node.exe");
  EXPECT_EQ(Str(node, "process.parent.name"), "cmd.exe");
  EXPECT_EQ(Str(node, "event.action"), "created-process");
  EXPECT_EQ(Str(node, "@timestamp"), "2025-03-04T10:15:30.123Z");
  EXPECT_EQ(Arr(node, "process.args"),
            (Args{"C:\\Program Files\\nodejs\\node.exe", "server.js", "--port", "8080"}));
  EXPECT_EQ(Str(node, "process.entity_id"), "WS01.corp.example|7864|2025-03-04T10:15:30.123Z");
  EXPECT_EQ(Str(node, "process.parent.entity_id"), "WS01.corp.example|672|0");
  const Event& cmd = evs[1];
  EXPECT_EQ(Str(cmd, "host.name"), "WS01.corp.example");
  EXPECT_EQ(Str(cmd, "@timestamp"), "2025-03-04T10:15:31.500Z");
  EXPECT_EQ(Str(cmd, "process.parent.entity_id"), Str(node, "process.entity_id"));
  EXPECT_EQ(Arr(cmd, "process.args"), (Args{"cmd.exe", "/d", "/s", "/c", "whoami /all"}));
}

TEST(CrowdStrike, ProcessRollup2) {
  std::printf("checks: FDR PR2/SyntheticPR2 Win+Lin, string/number epochs, pass-through\n");
  auto n = *SourceNormalizer::Create("crowdstrike");
  auto evs = NormalizeFile(*n, "crowdstrike.ndjson");
  ASSERT_EQ(evs.size(), 3u);
  const Event& w = evs[0];
  EXPECT_EQ(Str(w, "@timestamp"), "2025-03-04T10:15:30.123Z");
  EXPECT_EQ(Str(w, "host.id"), "a1b2c3d4e5f60718293a4b5c6d7e8f90");
  EXPECT_EQ(Str(w, "host.os.type"), "windows");
  EXPECT_EQ(Str(w, "event.action"), "ProcessRollup2");
  EXPECT_EQ(Str(w, "process.entity_id"), "123456789012");
  EXPECT_EQ(Str(w, "process.parent.entity_id"), "123456789000");
  EXPECT_EQ(Int(w, "process.pid"), 7864);
  EXPECT_EQ(Str(w, "process.name"), "node.exe");
  EXPECT_EQ(Str(w, "process.parent.name"), "cmd.exe");
  EXPECT_EQ(Arr(w, "process.args"),
            (Args{"C:\\Program Files\\nodejs\\node.exe", "C:\\app\\index.js", "--token", "a\"b"}));
  const Event& l = evs[1];
  EXPECT_EQ(Str(l, "host.os.type"), "linux");
  EXPECT_EQ(Str(l, "@timestamp"), "2025-03-04T10:16:40.999Z");
  EXPECT_EQ(Str(l, "process.entity_id"), "555000111");
  EXPECT_EQ(Int(l, "process.pid"), 4242);
  EXPECT_EQ(Str(l, "process.name"), "node");
  EXPECT_EQ(Str(l, "event.action"), "SyntheticProcessRollup2");
  EXPECT_EQ(Arr(evs[2], "event.category"), (Args{"network"}));
  EXPECT_EQ(Str(evs[2], "RemoteAddressIP4"), "203.0.113.7");
}

TEST(Mde, BothShapesAndSurrogateIds) {
  std::printf("checks: Advanced Hunting row + Event Hub shapes, surrogate ids match parent\n");
  auto n = *SourceNormalizer::Create("mde");
  auto evs = NormalizeFile(*n, "mde.ndjson");
  ASSERT_EQ(evs.size(), 3u);
  const Event& node = evs[0];
  EXPECT_EQ(Str(node, "event.action"), "processcreated");
  EXPECT_EQ(Str(node, "host.os.type"), "windows");
  EXPECT_EQ(Str(node, "host.id"), "d3f1c0ffee0000000000000000000001");
  EXPECT_EQ(Str(node, "@timestamp"), "2025-03-04T11:00:00.123Z");
  EXPECT_EQ(Str(node, "process.name"), "node.exe");
  EXPECT_EQ(Str(node, "process.parent.name"), "powershell.exe");
  EXPECT_EQ(Arr(node, "process.args"), (Args{"node.exe", "C:\\app\\run.js"}));
  EXPECT_EQ(Str(node, "process.entity_id"), "d3f1c0ffee0000000000000000000001|6100|1741086000100");
  const Event& cmd = evs[1];
  EXPECT_EQ(Str(cmd, "process.name"), "cmd.exe");
  EXPECT_EQ(Str(cmd, "process.parent.entity_id"), Str(node, "process.entity_id"));
  EXPECT_EQ(Arr(evs[2], "event.category"), (Args{"network"}));
}

TEST(SentinelOne, FlatAndNested) {
  std::printf("checks: S1 flat dotted and nested keys, args with backslash escapes\n");
  auto n = *SourceNormalizer::Create("sentinelone");
  auto evs = NormalizeFile(*n, "sentinelone.ndjson");
  ASSERT_EQ(evs.size(), 3u);
  const Event& w = evs[0];
  EXPECT_EQ(Str(w, "@timestamp"), "2025-03-04T10:43:20.123Z");
  EXPECT_EQ(Str(w, "host.id"), "5e1a1a1a-0000-4000-8000-000000000001");
  EXPECT_EQ(Str(w, "host.os.type"), "windows");
  EXPECT_EQ(Str(w, "event.action"), "start");
  EXPECT_EQ(Str(w, "process.entity_id"), "AB12CD34EF56");
  EXPECT_EQ(Str(w, "process.parent.entity_id"), "AB12CD340000");
  EXPECT_EQ(Int(w, "process.pid"), 7300);
  EXPECT_EQ(Str(w, "process.parent.name"), "explorer.exe");
  // Text: C:\a\\b\\"c d" e -- the first "\\" stays (no quote follows); the second,
  // before a quote, is one backslash and an opening quote.
  EXPECT_EQ(Arr(w, "process.args"),
            (Args{"C:\\Program Files\\nodejs\\node.exe", "C:\\a\\\\b\\c d", "e"}));
  EXPECT_EQ(Str(w, "user.name"), "dave");
  const Event& l = evs[1];
  EXPECT_EQ(Str(l, "host.os.type"), "linux");
  EXPECT_EQ(Str(l, "process.name"), "node");  // basename fallback
  EXPECT_EQ(Str(l, "process.parent.entity_id"), "EE00");
  EXPECT_EQ(Arr(evs[2], "event.category"), (Args{"file"}));
}

TEST(Auto, PicksSourcesAndRejectsUnknown) {
  std::printf(
      "checks: auto detects each sample file's source; unknown shapes are counted errors\n");
  auto n = *SourceNormalizer::Create("auto");
  const std::pair<const char*, const char*> files[] = {{"sysmon_winlogbeat.ndjson", "sysmon"},
                                                       {"winsec.ndjson", "winsec"},
                                                       {"crowdstrike.ndjson", "crowdstrike"},
                                                       {"mde.ndjson", "mde"},
                                                       {"sentinelone.ndjson", "sentinelone"}};
  for (auto [file, want] : files) {
    for (const std::string& line : ReadLines(Data(file))) {
      Event e;
      ASSERT_TRUE(n->Normalize(line, e).ok()) << line;
      EXPECT_EQ(n->last_source(), want) << line;
    }
  }
  Event e;
  ASSERT_TRUE(
      n->Normalize(R"({"@timestamp":"2025-01-01T00:00:00Z","event":{"category":"process"}})", e)
          .ok());
  EXPECT_EQ(n->last_source(), "ecs");
  EXPECT_EQ(Str(e, "event.category"), "process");
  int errors = 0;
  for (const std::string& line : ReadLines(Data("unknown.ndjson"))) {
    Event ev;
    absl::Status s = n->Normalize(line, ev);
    EXPECT_FALSE(s.ok()) << line;
    EXPECT_EQ(n->last_source(), "");
    errors += !s.ok();
  }
  EXPECT_EQ(errors, 4);
  uint64_t unrecognized = 0;
  for (auto& [name, st] : n->Stats()) unrecognized += st.unrecognized;
  EXPECT_EQ(unrecognized, 4u);
}

}  // namespace
}  // namespace eql

namespace eql {
namespace {

// NormalizeInto()'s fast path against the reference: Normalize() then the
// builder-event projector, for every record of the data files (and the real
// Sysmon samples), with three field sets: every field the tables write, the
// seed rules' fields, and one that reads a whole object (which must fall
// back to the event).
std::vector<std::string> AllRecords() {
  std::vector<std::string> out;
  std::vector<std::filesystem::path> files;
  for (const char* sub : {"", "nodejs"})
    for (const auto& f : std::filesystem::directory_iterator(std::string(EQL_SOURCE_DIR) +
                                                             "/tests/sources/data/" + sub))
      if (f.path().extension() == ".ndjson" && f.path().filename() != "unknown.ndjson")
        files.push_back(f.path());
  std::filesystem::path real = std::filesystem::path(EQL_SHARED_DIR) / "samples" / "sysmon-node";
  if (std::filesystem::exists(real))
    for (const auto& f : std::filesystem::directory_iterator(real))
      if (f.path().extension() == ".ndjson") files.push_back(f.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files)
    for (std::string& line : ReadLines(f.string())) out.push_back(std::move(line));
  return out;
}

std::string Dump(const io::Record& r, const io::FieldRegistry& fields) {
  std::string out;
  for (io::FieldId id = 0; id < fields.size(); ++id) {
    if (!r.Present(id)) continue;
    out += fields.Name(id) + "=[";
    for (io::Scalar v : r.Get(id)) out += v.ToJson() + ",";
    out += "] ";
  }
  return out;
}

void CheckFastPath(const std::vector<std::string>& field_names, bool expect_fast) {
  io::FieldRegistry fields;
  for (const std::string& f : field_names) fields.Intern(f);
  io::JsonProjector projector(fields);
  auto fast = *SourceNormalizer::Create("auto");
  auto slow = *SourceNormalizer::Create("auto");
  int projected_count = 0;
  for (const std::string& line : AllRecords()) {
    io::Record got, want;
    Event event, reference;
    bool projected = false;
    ASSERT_TRUE(fast->NormalizeInto(line, fields, {}, got, event, projected).ok()) << line;
    ASSERT_TRUE(slow->Normalize(line, reference).ok()) << line;
    EXPECT_EQ(fast->last_source(), slow->last_source());
    if (!projected) {
      EXPECT_EQ(event.ToJson(), reference.ToJson()) << line;
      continue;
    }
    ++projected_count;
    ASSERT_TRUE(projector.Project(reference, want).ok());
    EXPECT_EQ(Dump(got, fields), Dump(want, fields)) << line;
    Event full;
    fast->LastEvent(full);
    EXPECT_EQ(full.ToJson(), reference.ToJson()) << line;
  }
  std::printf("  %zu fields: %d records projected directly\n", field_names.size(), projected_count);
  if (expect_fast) {
    EXPECT_GE(projected_count, 40);
  } else {
    EXPECT_EQ(projected_count, 0);
  }
  // The counters are those of Normalize().
  auto a = fast->Stats(), b = slow->Stats();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_EQ(a[i].second.records, b[i].second.records) << a[i].first;
    EXPECT_EQ(a[i].second.normalized, b[i].second.normalized) << a[i].first;
    EXPECT_EQ(a[i].second.passed_through, b[i].second.passed_through) << a[i].first;
  }
}

TEST(NormalizeInto, SameRecordAsNormalizeThenProject) {
  std::printf("checks: the direct projection equals Normalize() + projector, field for field\n");
  std::vector<std::string> every = {"@timestamp", "event.original"};
  for (auto table : {std::span<const sources::Rule>(sources::kSysmonProcess),
                     std::span<const sources::Rule>(sources::kWinsecProcess),
                     std::span<const sources::Rule>(sources::kCrowdStrikeProcess),
                     std::span<const sources::Rule>(sources::kMdeProcess),
                     std::span<const sources::Rule>(sources::kSentinelOneProcess)})
    for (const auto& r : table) every.emplace_back(r.to);
  std::sort(every.begin(), every.end());
  every.erase(std::unique(every.begin(), every.end()), every.end());
  every.erase(std::remove(every.begin(), every.end(), "event.original"), every.end());
  CheckFastPath(every, true);
  CheckFastPath(
      {"@timestamp", "event.category", "event.type", "event.action", "host.id", "host.os.type",
       "process.name", "process.args", "process.entity_id", "process.executable",
       "process.command_line", "process.parent.name", "process.parent.entity_id",
       "process.pe.original_file_name", "process.code_signature.subject_name"},
      true);
  // A rule reading the whole `process` object: the event is needed.
  CheckFastPath({"@timestamp", "event.category", "process"}, false);
}

TEST(NormalizeInto, EventOriginalAndLimits) {
  std::printf("checks: event.original is the record text; long strings are cut\n");
  io::FieldRegistry fields;
  io::FieldId original = fields.Intern("event.original");
  io::FieldId cl = fields.Intern("process.command_line");
  io::FieldId args = fields.Intern("process.args");
  auto n = *SourceNormalizer::Create("sysmon");
  const std::string line = ReadLines(Data("sysmon_winlogbeat.ndjson"))[0];
  io::Record r;
  Event e;
  bool projected = false;
  ASSERT_TRUE(
      n->NormalizeInto(line, fields, {.max_values = 100, .max_string_bytes = 8}, r, e, projected)
          .ok());
  ASSERT_TRUE(projected);
  EXPECT_EQ(r.Get(original).front().s, line.substr(0, 8));
  EXPECT_EQ(r.Get(cl).front().s, "node.exe");
  EXPECT_EQ(r.Get(args).size(), 3u);
  ASSERT_FALSE(
      n->NormalizeInto(line, fields, {.max_values = 3, .max_string_bytes = 100}, r, e, projected)
          .ok());
}

}  // namespace
}  // namespace eql

namespace eql {
namespace {

// ---- 4688 and Defender XDR on the direct path: their surrogate entity ids.

// Records of one source that test the surrogate ids' corners: every field
// an id is made from missing, null, of another type, or duplicated, and (for
// Defender XDR) the keys its reference lookups meet before the member.
const char* const kOddWinsec[] = {
    // No NewProcessId: no process.entity_id; the parent's still made.
    R"({"@timestamp":"2025-03-04T10:00:00.000Z","winlog":{"channel":"Security","event_id":4688,"computer_name":"H1","event_data":{"ProcessId":"0x10","NewProcessName":"C:\\a\\x.exe"}}})",
    // Pids as a JSON number and a decimal string; the event id as a string.
    R"({"@timestamp":"2025-03-04T10:00:01.000Z","winlog":{"channel":"Security","event_id":"4688","computer_name":"H1","event_data":{"NewProcessId":5000,"ProcessId":"16"}}})",
    // Null and unreadable pids: no ids at all.
    R"({"@timestamp":"2025-03-04T10:00:02.000Z","winlog":{"channel":"Security","event_id":4688,"computer_name":"H1","event_data":{"NewProcessId":null,"ProcessId":"0xZZ"}}})",
    // A pid as an array, the parent's as a double.
    R"({"@timestamp":"2025-03-04T10:00:03.000Z","winlog":{"channel":"Security","event_id":4688,"computer_name":"H1","event_data":{"NewProcessId":["0x1"],"ProcessId":5000.0}}})",
    // No host name; a host name that is a number (both the "" host).
    R"({"@timestamp":"2025-03-04T10:00:04.000Z","winlog":{"channel":"Security","event_id":4688,"event_data":{"NewProcessId":"0x20","ProcessId":"0x10"}}})",
    R"({"@timestamp":"2025-03-04T10:00:05.000Z","winlog":{"channel":"Security","event_id":4688,"computer_name":42,"event_data":{"NewProcessId":"0x21","ProcessId":"0x20"}}})",
    // No time, an unreadable one, an epoch number: start "" / "" / ISO.
    R"({"winlog":{"channel":"Security","event_id":4688,"computer_name":"H1","event_data":{"NewProcessId":"0x30","ProcessId":"0x1388"}}})",
    R"({"@timestamp":"yesterday","winlog":{"channel":"Security","event_id":4688,"computer_name":"H1","event_data":{"NewProcessId":"0x31","ProcessId":"0x30"}}})",
    R"({"@timestamp":1741083330123,"winlog":{"channel":"Security","event_id":4688,"computer_name":"H1","event_data":{"NewProcessId":"0x32","ProcessId":"0x31"}}})",
    // Its own parent.
    R"({"@timestamp":"2025-03-04T10:00:06.000Z","winlog":{"channel":"Security","event_id":4688,"computer_name":"H1","event_data":{"NewProcessId":"0x40","ProcessId":"0x40"}}})",
    // Duplicate members: the first counts.
    R"({"@timestamp":"2025-03-04T10:00:07.000Z","winlog":{"channel":"Security","event_id":4688,"computer_name":"H1","event_data":{"NewProcessId":"0x50","NewProcessId":"0x51","ProcessId":"0x40","ProcessId":"0x10"}}})",
    // Pid reuse: a newer 0x10 replaces the older; its child links to it.
    R"({"@timestamp":"2025-03-04T10:00:08.000Z","winlog":{"channel":"Security","event_id":4688,"computer_name":"H1","event_data":{"NewProcessId":"0x10","ProcessId":"0x50"}}})",
    R"({"Event":{"System":{"EventID":4688,"TimeCreated":{"#attributes":{"SystemTime":"2025-03-04T10:00:09.0000000Z"}},"Channel":"Security","Computer":"H1"},"EventData":{"NewProcessId":"0x60","ProcessId":"0x10"}}})",
    // EVTX shape without a time; event data that is not an object.
    R"({"Event":{"System":{"EventID":4688,"Channel":"Security","Computer":"H1"},"EventData":{"NewProcessId":"0x61","ProcessId":"0x60"}}})",
    R"({"Event":{"System":{"EventID":4688,"Channel":"Security","Computer":"H2"},"EventData":"none"}})",
    // Another host: the same pids are other processes.
    R"({"@timestamp":"2025-03-04T10:00:10.000Z","winlog":{"channel":"Security","event_id":4688,"computer_name":"H2","event_data":{"NewProcessId":"0x61","ProcessId":"0x60"}}})",
    // Keys that the direct path's one walk over the root leaves to the
    // reference's lookups: flat "winlog.*" keys (found before the nested
    // members), an "Event" member (null: still the winlogbeat shape).
    R"({"@timestamp":"2025-03-04T10:00:11.000Z","winlog.computer_name":"F1","winlog":{"channel":"Security","event_id":4688,"computer_name":"H3","event_data":{"NewProcessId":"0x70","ProcessId":"0x61"}}})",
    R"({"winlog.event_data":{"NewProcessId":"0x71","ProcessId":"0x70"},"@timestamp":"2025-03-04T10:00:12.000Z","winlog":{"channel":"Security","event_id":4688,"computer_name":"H3","event_data":{"NewProcessId":"0x99"}}})",
    R"({"@timestamp":"2025-03-04T10:00:13.000Z","Event":null,"winlog":{"channel":"Security","event_id":4688,"computer_name":"H3","event_data":{"NewProcessId":"0x72","ProcessId":"0x71"}}})",
    // Duplicate shape fields: the first "winlog", "@timestamp",
    // "computer_name" and "event_data" count.
    R"({"@timestamp":"2025-03-04T10:00:14.000Z","winlog":{"channel":"Security","event_id":4688,"computer_name":"H3","computer_name":"H4","event_data":{"NewProcessId":"0x73","ProcessId":"0x72"},"event_data":{"NewProcessId":"0x74"}},"@timestamp":"2025-03-04T10:00:15.000Z","winlog":{"event_id":1,"computer_name":"H5"}})",
};

const char* const kOddMde[] = {
    // DeviceId as a number: the "" host.
    R"({"Timestamp":"2025-03-04T11:00:00Z","DeviceId":7,"ActionType":"ProcessCreated","FileName":"a.exe","ProcessId":1,"ProcessCreationTime":"2025-03-04T11:00:00Z","InitiatingProcessId":2})",
    // DeviceId null; pids as a string and a double; creation times
    // unreadable and a number (0 each).
    R"({"Timestamp":"2025-03-04T11:00:01Z","DeviceId":null,"ActionType":"ProcessCreated","ProcessId":"3","ProcessCreationTime":"soon","InitiatingProcessId":6100.5,"InitiatingProcessCreationTime":1741086000})",
    // Null and boolean pids: no ids.
    R"({"Timestamp":"2025-03-04T11:00:02Z","DeviceId":"D1","ActionType":"processcreated","ProcessId":null,"InitiatingProcessId":true})",
    // Duplicate members: the first counts.
    R"({"Timestamp":"2025-03-04T11:00:03Z","DeviceId":"D1","DeviceId":"D2","ActionType":"ProcessCreated","ProcessId":10,"ProcessId":11,"ProcessCreationTime":"2025-03-04T11:00:03Z","ProcessCreationTime":"2025-03-04T11:00:04Z","InitiatingProcessId":12})",
    // Row shape: keys the reference finds before the member (".ProcessId",
    // and "" whose object has one).
    R"({"Timestamp":"2025-03-04T11:00:04Z","DeviceId":"D1","ActionType":"ProcessCreated","ProcessId":20,".ProcessId":21,"InitiatingProcessId":22})",
    R"({"Timestamp":"2025-03-04T11:00:05Z","DeviceId":"D1","ActionType":"ProcessCreated","ProcessId":30,"":{"InitiatingProcessId":31,"ProcessCreationTime":"2025-03-04T11:00:00Z"},"InitiatingProcessId":32})",
    // Event Hub: a flat "properties.ProcessId" at the root wins; members
    // missing from properties, or a time that is not a string there, are
    // read at the root.
    R"({"category":"AdvancedHunting-DeviceProcessEvents","properties.ProcessId":40,"properties":{"Timestamp":"2025-03-04T11:00:06Z","DeviceId":"D1","ActionType":"ProcessCreated","ProcessId":41,"InitiatingProcessId":42}})",
    R"({"category":"AdvancedHunting-DeviceProcessEvents","InitiatingProcessId":50,"ProcessCreationTime":"2025-03-04T11:00:00Z","properties":{"Timestamp":"2025-03-04T11:00:07Z","DeviceId":"D1","ActionType":"ProcessCreated","ProcessId":51,"ProcessCreationTime":5}})",
    // Event Hub with an empty category: still the process table (the root
    // DeviceId and ActionType are for `auto`, which detects by them).
    R"({"category":"","DeviceId":"D9","ActionType":"x","properties":{"Timestamp":"2025-03-04T11:00:08Z","DeviceId":"D1","ActionType":"ProcessCreated","ProcessId":60,"InitiatingProcessId":61,"InitiatingProcessCreationTime":"2025-03-04T10:59:00.5Z"}})",
};

std::vector<std::string> SourceRecords(const char* source) {
  std::vector<std::string> out;
  for (std::string file :
       {std::string(source) + ".ndjson", "nodejs/" + std::string(source) + ".ndjson"})
    for (std::string& line : ReadLines(Data(file.c_str()))) out.push_back(std::move(line));
  for (const char* line : std::string(source) == "winsec" ? std::span<const char* const>(kOddWinsec)
                                                          : std::span<const char* const>(kOddMde))
    out.emplace_back(line);
  return out;
}

// Whether a record is one the table maps (a 4688, a ProcessCreated row):
// `n` counts it as normalized.
bool IsProcessStart(SourceNormalizer& n, const std::string& line) {
  auto normalized = [&] {
    uint64_t sum = 0;
    for (const auto& [name, st] : n.Stats()) sum += st.normalized;
    return sum;
  };
  const uint64_t before = normalized();
  Event ev;
  return n.Normalize(line, ev).ok() && normalized() == before + 1;
}

// NormalizeInto() against Normalize() + the projector over `lines`, in
// order (4688's ids depend on the records before): the same fields, the
// same whole event from LastEvent(), and every process start projected
// directly. Returns the reference events.
std::vector<Event> CheckSurrogates(const char* source, const std::vector<std::string>& field_names,
                                   const std::vector<std::string>& lines) {
  SCOPED_TRACE(std::string(source) + " with " + std::to_string(field_names.size()) + " fields");
  io::FieldRegistry fields;
  for (const std::string& f : field_names) fields.Intern(f);
  io::JsonProjector projector(fields);
  auto fast = *SourceNormalizer::Create(source);
  auto slow = *SourceNormalizer::Create(source);
  auto probe = *SourceNormalizer::Create(source);
  std::vector<Event> references;
  for (const std::string& line : lines) {
    io::Record got, want;
    Event event, reference;
    bool projected = false;
    EXPECT_TRUE(fast->NormalizeInto(line, fields, {}, got, event, projected).ok()) << line;
    EXPECT_TRUE(slow->Normalize(line, reference).ok()) << line;
    EXPECT_EQ(projected, IsProcessStart(*probe, line)) << line;
    if (projected) {
      EXPECT_TRUE(projector.Project(reference, want).ok());
      EXPECT_EQ(Dump(got, fields), Dump(want, fields)) << line;
      Event full;
      fast->LastEvent(full);
      EXPECT_EQ(full.ToJson(), reference.ToJson()) << line;
    } else {
      EXPECT_EQ(event.ToJson(), reference.ToJson()) << line;
    }
    references.push_back(std::move(reference));
  }
  auto a = fast->Stats(), b = slow->Stats();
  EXPECT_EQ(a.size(), b.size());
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    EXPECT_EQ(a[i].second.records, b[i].second.records);
    EXPECT_EQ(a[i].second.normalized, b[i].second.normalized);
    EXPECT_EQ(a[i].second.passed_through, b[i].second.passed_through);
  }
  return references;
}

// Field sets: every mapped field and the ids; the ids alone; none of them
// (4688's pid map must still follow every record, for LastEvent() and the
// records after).
std::vector<std::vector<std::string>> SurrogateFieldSets() {
  // (Not event.original: Normalize() leaves it to the engine.)
  std::vector<std::string> every = {"@timestamp", "process.entity_id", "process.parent.entity_id"};
  for (auto table : {std::span<const sources::Rule>(sources::kWinsecProcess),
                     std::span<const sources::Rule>(sources::kMdeProcess)})
    for (const auto& r : table) every.emplace_back(r.to);
  std::sort(every.begin(), every.end());
  every.erase(std::unique(every.begin(), every.end()), every.end());
  return {every,
          {"@timestamp", "event.category", "process.entity_id", "process.parent.entity_id"},
          {"@timestamp", "event.category", "process.name", "process.command_line"}};
}

TEST(NormalizeInto, WinsecSurrogateIdsAsReference) {
  std::printf("checks: 4688 on the direct path: ids equal the reference's, odd records too\n");
  const std::vector<std::string> lines = SourceRecords("winsec");
  for (const auto& fields : SurrogateFieldSets()) {
    for (const char* source : {"winsec", "auto"}) {
      std::vector<Event> ref = CheckSurrogates(source, fields, lines);
      ASSERT_EQ(ref.size(), lines.size());
      // Spot values of the odd records (after the 2 + 12 sample records).
      const Event* odd = &ref[14];
      EXPECT_EQ(Str(odd[0], "process.entity_id"), "<missing>");
      EXPECT_EQ(Str(odd[0], "process.parent.entity_id"), "H1|16|0");
      EXPECT_EQ(Str(odd[1], "process.entity_id"), "H1|5000|2025-03-04T10:00:01.000Z");
      EXPECT_EQ(Str(odd[2], "process.entity_id"), "<missing>");
      EXPECT_EQ(Str(odd[2], "process.parent.entity_id"), "<missing>");
      EXPECT_EQ(Str(odd[3], "process.parent.entity_id"), "H1|5000|2025-03-04T10:00:01.000Z");
      EXPECT_EQ(Str(odd[4], "process.entity_id"), "|32|2025-03-04T10:00:04.000Z");
      EXPECT_EQ(Str(odd[5], "process.parent.entity_id"), "|32|2025-03-04T10:00:04.000Z");
      EXPECT_EQ(Str(odd[6], "process.entity_id"), "H1|48|");
      EXPECT_EQ(Str(odd[6], "process.parent.entity_id"), "H1|5000|2025-03-04T10:00:01.000Z");
      EXPECT_EQ(Str(odd[7], "process.parent.entity_id"), "H1|48|");
      EXPECT_EQ(Str(odd[8], "process.entity_id"), "H1|50|2025-03-04T10:15:30.123Z");
      EXPECT_EQ(Str(odd[9], "process.parent.entity_id"), Str(odd[9], "process.entity_id"));
      EXPECT_EQ(Str(odd[10], "process.entity_id"), "H1|80|2025-03-04T10:00:07.000Z");
      EXPECT_EQ(Str(odd[10], "process.parent.entity_id"), Str(odd[9], "process.entity_id"));
      EXPECT_EQ(Str(odd[11], "process.entity_id"), "H1|16|2025-03-04T10:00:08.000Z");
      EXPECT_EQ(Str(odd[12], "process.parent.entity_id"), Str(odd[11], "process.entity_id"));
      EXPECT_EQ(Str(odd[13], "process.entity_id"), "H1|97|");
      EXPECT_EQ(Str(odd[14], "host.name"), "H2");
      EXPECT_EQ(Str(odd[14], "process.entity_id"), "<missing>");
      EXPECT_EQ(Str(odd[15], "process.parent.entity_id"), "H2|96|0");
    }
  }
}

TEST(NormalizeInto, MdeSurrogateIdsAsReference) {
  std::printf("checks: Defender XDR on the direct path: ids equal the reference's, odd rows too\n");
  const std::vector<std::string> lines = SourceRecords("mde");
  for (const auto& fields : SurrogateFieldSets()) {
    for (const char* source : {"mde", "auto"}) {
      std::vector<Event> ref = CheckSurrogates(source, fields, lines);
      ASSERT_EQ(ref.size(), lines.size());
      const Event* odd = &ref[15];  // after the 3 + 12 sample records
      EXPECT_EQ(Str(odd[0], "process.entity_id"), "|1|1741086000000");
      EXPECT_EQ(Str(odd[0], "process.parent.entity_id"), "|2|0");
      EXPECT_EQ(Str(odd[1], "process.entity_id"), "|3|0");
      EXPECT_EQ(Str(odd[1], "process.parent.entity_id"), "|6100.5|0");
      EXPECT_EQ(Str(odd[2], "process.entity_id"), "<missing>");
      EXPECT_EQ(Str(odd[2], "process.parent.entity_id"), "<missing>");
      EXPECT_EQ(Str(odd[3], "process.entity_id"), "D1|10|1741086003000");
      EXPECT_EQ(Str(odd[4], "process.entity_id"), "D1|21|0");
      EXPECT_EQ(Str(odd[5], "process.parent.entity_id"), "D1|31|0");
      EXPECT_EQ(Str(odd[5], "process.entity_id"), "D1|30|1741086000000");
      EXPECT_EQ(Str(odd[6], "process.entity_id"), "D1|40|0");
      EXPECT_EQ(Str(odd[6], "process.parent.entity_id"), "D1|42|0");
      EXPECT_EQ(Str(odd[7], "process.entity_id"), "D1|51|1741086000000");
      EXPECT_EQ(Str(odd[7], "process.parent.entity_id"), "D1|50|0");
      EXPECT_EQ(Str(odd[8], "process.parent.entity_id"), "D1|61|1741085940500");
    }
  }
}

// 4688 records on `host` for pid `pid` (hex) whose parent is `ppid`.
std::string Winsec4688(const std::string& host, int pid, int ppid, int second) {
  return fmt::format(
      R"({{"@timestamp":"2025-03-04T10:{:02}:{:02}.000Z","winlog":{{"channel":"Security",)"
      R"("event_id":4688,"computer_name":"{}","event_data":{{"NewProcessId":"0x{:x}",)"
      R"("ProcessId":"0x{:x}"}}}}}})",
      second / 60 % 60, second % 60, host, pid, ppid);
}

TEST(NormalizeInto, WinsecPidMapBoundsAsReference) {
  std::printf("checks: the 4688 pid map's bounds (32768 pids, 4096 hosts) on both paths\n");
  // A chain of 33,000 processes on one host (the map is cleared once), then
  // 4,100 other hosts (the host map is cleared), then a child of the chain's
  // last process (its parent was forgotten with the hosts: |0).
  std::vector<std::string> lines;
  for (int pid = 1; pid <= 33000; ++pid) lines.push_back(Winsec4688("A", pid + 1, pid, pid));
  for (int h = 0; h < 4100; ++h) lines.push_back(Winsec4688(fmt::format("B{}", h), 8, 4, h));
  lines.push_back(Winsec4688("A", 1, 33001, 0));
  io::FieldRegistry fields;
  const io::FieldId parent = fields.Intern("process.parent.entity_id");
  fields.Intern("process.entity_id");
  auto fast = *SourceNormalizer::Create("winsec");
  auto slow = *SourceNormalizer::Create("winsec");
  io::JsonProjector projector(fields);
  int unlinked = 0, mismatched = 0;
  for (const std::string& line : lines) {
    io::Record got, want;
    Event event, reference;
    bool projected = false;
    ASSERT_TRUE(fast->NormalizeInto(line, fields, {}, got, event, projected).ok());
    ASSERT_TRUE(projected);
    ASSERT_TRUE(slow->Normalize(line, reference).ok());
    ASSERT_TRUE(projector.Project(reference, want).ok());
    mismatched += Dump(got, fields) != Dump(want, fields);
    const std::string_view p = got.Get(parent).front().s;
    unlinked += p.substr(p.size() - 2) == "|0";
  }
  EXPECT_EQ(mismatched, 0);
  // Unlinked: the chain's first record and the first after the clear, each
  // other host's, and the last record.
  EXPECT_EQ(unlinked, 2 + 4100 + 1);
}

TEST(NormalizeInto, WinsecPidMapLarge) {
  std::printf("checks: 160,000 processes on 40 hosts: every parent found, saved and restored\n");
  // Enough pids that the map's table is allocated as a large block (on huge
  // pages where the kernel gives them), grown several times on the way.
  constexpr int kHosts = 40, kPids = 4000;
  auto first = *SourceNormalizer::Create("winsec");
  Event ev;
  for (int pid = 1; pid <= kPids; ++pid)
    for (int h = 0; h < kHosts; ++h)
      ASSERT_TRUE(first->Normalize(Winsec4688(fmt::format("H{}", h), pid, 0, pid), ev).ok());
  auto second = *SourceNormalizer::Create("winsec");
  ASSERT_TRUE(second->LoadState(first->SaveState()).ok());
  io::FieldRegistry fields;
  const io::FieldId parent = fields.Intern("process.parent.entity_id");
  for (auto* n : {first.get(), second.get()}) {
    int linked = 0;
    for (int pid = 1; pid <= kPids; pid += 37) {
      for (int h = 0; h < kHosts; h += 7) {
        const std::string host = fmt::format("H{}", h);
        io::Record r;
        bool projected = false;
        ASSERT_TRUE(
            n->NormalizeInto(Winsec4688(host, 100000 + pid, pid, 0), fields, {}, r, ev, projected)
                .ok());
        const std::string want =
            fmt::format("{}|{}|2025-03-04T10:{:02}:{:02}.000Z", host, pid, pid / 60 % 60, pid % 60);
        linked += r.Get(parent).front().s == want;
      }
    }
    EXPECT_EQ(linked, ((kPids - 1) / 37 + 1) * ((kHosts - 1) / 7 + 1));
  }
}

TEST(NormalizeInto, WinsecPidMapStateAfterBound) {
  std::printf("checks: a host past its pid bound saves and restores only the pids it kept\n");
  // A chain of 33,000 processes on host A (pids 2..33001: the map forgets
  // 2..32769 at the bound and keeps 32770..33001), one process on host B.
  auto first = *SourceNormalizer::Create("winsec");
  Event ev;
  for (int pid = 1; pid <= 33000; ++pid)
    ASSERT_TRUE(first->Normalize(Winsec4688("A", pid + 1, pid, pid), ev).ok());
  ASSERT_TRUE(first->Normalize(Winsec4688("B", 7, 3, 1), ev).ok());
  const std::string state = first->SaveState();
  auto second = *SourceNormalizer::Create("winsec");
  ASSERT_TRUE(second->LoadState(state).ok());
  EXPECT_EQ(second->SaveState(), state);
  // 232 pids of A and one of B, each at least 3 bytes (pid, flag, start):
  // the forgotten pids are not saved.
  EXPECT_LT(state.size(), 240 * 12u);
  EXPECT_GT(state.size(), 233 * 3u);
  // Children of forgotten, kept and unknown parents, on both normalizers.
  io::FieldRegistry fields;
  const io::FieldId parent = fields.Intern("process.parent.entity_id");
  for (auto* n : {first.get(), second.get()}) {
    auto parent_id = [&](const std::string& host, int ppid) {
      io::Record r;
      bool projected = false;
      EXPECT_TRUE(
          n->NormalizeInto(Winsec4688(host, 90000 + ppid, ppid, 0), fields, {}, r, ev, projected)
              .ok());
      return std::string(r.Get(parent).front().s);
    };
    EXPECT_EQ(parent_id("A", 32769), "A|32769|0");
    EXPECT_EQ(parent_id("A", 32770), "A|32770|2025-03-04T10:06:09.000Z");
    EXPECT_EQ(parent_id("A", 33001), "A|33001|2025-03-04T10:10:00.000Z");
    EXPECT_EQ(parent_id("A", 90000 + 33001), "A|123001|2025-03-04T10:00:00.000Z");
    EXPECT_EQ(parent_id("B", 7), "B|7|2025-03-04T10:00:01.000Z");
    EXPECT_EQ(parent_id("B", 2), "B|2|0");
  }
}

}  // namespace
}  // namespace eql
