// Drives the built eql-run binary end to end: options, input forms, exit
// codes, malformed input, standard input, and the demo's exact alerts.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "simdjson.h"

namespace {

namespace fs = std::filesystem;

const std::string kEqlRun = std::string(EQL_BINARY_DIR) + "/bin/eql-run";
const std::string kExamples = std::string(EQL_SOURCE_DIR) + "/examples";

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `eql-run ARGS` through the shell (so tests can use pipes), capturing
// standard output and standard error.
CliRun EqlRun(const std::string& args, const std::string& stdin_text = "") {
  fs::path dir = fs::temp_directory_path() / fmt::format("eql-cli-{}", getpid());
  fs::create_directories(dir);
  fs::path in = dir / "stdin", out = dir / "stdout", err = dir / "stderr";
  std::ofstream(in) << stdin_text;
  std::string command = fmt::format("{} {} <{} >{} 2>{}", kEqlRun, args, in.string(),
                                    out.string(), err.string());
  std::cout << "  $ eql-run " << args << "\n";
  int status = std::system(command.c_str());
  CliRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto slurp = [](const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  run.out = slurp(out);
  run.err = slurp(err);
  return run;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// "rule name|entity ids of the alert's events" for each alert line.
std::vector<std::string> AlertSummaries(const std::string& out) {
  std::vector<std::string> summaries;
  simdjson::dom::parser parser;
  for (const auto& line : Lines(out)) {
    simdjson::dom::element alert;
    EXPECT_EQ(parser.parse(line).get(alert), simdjson::SUCCESS) << line;
    std::string_view name;
    EXPECT_EQ(alert["rule"]["name"].get(name), simdjson::SUCCESS) << line;
    std::string summary(name);
    summary += "|";
    simdjson::dom::array events;
    EXPECT_EQ(alert["events"].get(events), simdjson::SUCCESS) << line;
    for (auto e : events) {
      std::string_view id;
      bool missing = false;
      if (e["missing"].get(missing) == simdjson::SUCCESS && missing) {
        summary += "(missing) ";
      } else if (e["process"]["entity_id"].get(id) == simdjson::SUCCESS) {
        summary += std::string(id) + " ";
      }
    }
    summaries.push_back(summary);
  }
  return summaries;
}

TEST(Cli, HelpListsEveryOption) {
  CliRun run = EqlRun("--help");
  EXPECT_EQ(run.exit_code, 0);
  for (const char* option : {"--query", "--check", "--batch", "--allowed-lateness",
                             "--max-partials", "--category-field", "--timestamp-field",
                             "--tiebreaker-field", "--strict", "--stats", "--progress",
                             "--source"}) {
    EXPECT_NE(run.out.find(option), std::string::npos) << option;
  }
}

TEST(Cli, BadUsageExitsTwo) {
  EXPECT_EQ(EqlRun("").exit_code, 2);
  EXPECT_EQ(EqlRun("--no-such-option x y").exit_code, 2);
  EXPECT_EQ(EqlRun("--allowed-lateness soon -q 'any where true' -").exit_code, 2);
  EXPECT_EQ(EqlRun("--source nosuchsource -q 'any where true' -").exit_code, 2);
}

TEST(Cli, CheckExampleRules) {
  CliRun run = EqlRun("--check " + kExamples + "/rules");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out,
            "checked 5 queries: 5 ok, 0 failed\n"
            "loaded: 4 event queries, 1 sequences, 0 samples (1 with join keys, 1 with maxspan, "
            "0 with until, 0 with missing events, 0 with runs, 0 with pipes)\n");
}

TEST(Cli, CheckReportsBadQueryWithPosition) {
  fs::path dir = fs::temp_directory_path() / fmt::format("eql-cli-check-{}", getpid());
  fs::create_directories(dir);
  std::ofstream(dir / "bad.eql") << "process where process.name = \"node\"\n";
  std::ofstream(dir / "good.eql") << "process where process.name == \"node\"\n";
  CliRun run = EqlRun("--check " + dir.string());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(Lines(run.out).front(), "checked 2 queries: 1 ok, 1 failed");
  EXPECT_NE(run.err.find("bad.eql:1:28:"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("^"), std::string::npos) << run.err;
}

TEST(Cli, CheckJsonlPack) {
  fs::path pack = fs::temp_directory_path() / fmt::format("eql-cli-pack-{}.jsonl", getpid());
  std::ofstream(pack) << R"({"name": "a", "query": "process where true"})" << "\n"
                      << R"({"name": "b", "query": "process where"})" << "\n"
                      << R"({"name": "c", "query": "sequence [process where true] [file where true]"})"
                      << "\n";
  CliRun run = EqlRun("--check " + pack.string());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(Lines(run.out).front(), "checked 3 queries: 2 ok, 1 failed");
  EXPECT_NE(run.err.find(pack.string() + ":2"), std::string::npos) << run.err;
}

TEST(Cli, DemoAlertsLinux) {
  CliRun run = EqlRun("--batch " + kExamples + "/rules " + kExamples + "/data/linux-npm.ndjson");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  std::vector<std::string> expected = {
      "Node.js Pre or Post-Install Script Execution|a-101 a-102 ",
      "Node.js Pre or Post-Install Script Execution|d-400 d-401 ",
  };
  EXPECT_EQ(AlertSummaries(run.out), expected) << run.out;
}

TEST(Cli, DemoAlertsWindows) {
  CliRun run = EqlRun("--batch " + kExamples + "/rules " + kExamples + "/data/windows-node.ndjson");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  // Per event, rules fire in the order they were loaded (files sorted by name).
  std::vector<std::string> expected = {
      "nodejs_appdata_execution|w1-10 ",
      "Suspicious Execution with NodeJS|w1-10 ",
      "nodejs_preload_by_powershell|w1-11 ",
      "Suspicious Execution with NodeJS|w1-11 ",
      "nodejs_inline_code|w2-20 ",
      "Suspicious Execution with NodeJS|w2-20 ",
      "nodejs_inline_code|w2-22 ",
      "Suspicious Execution with NodeJS|w2-22 ",
  };
  EXPECT_EQ(AlertSummaries(run.out), expected) << run.out;
}

TEST(Cli, AlertCarriesOriginalEventTextAndRuleMetadata) {
  std::string event =
      R"({"@timestamp": "2026-01-01T00:00:00Z",  "event": {"category": "process"}, "process": {"name": "node"}})";
  CliRun run = EqlRun("-q 'process where process.name == \"node\"' -", event + "\n");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find(event), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\"rule\":{\"name\":\"query\""), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("join_keys"), std::string::npos) << "event queries carry no join keys";
}

TEST(Cli, MalformedLinesAreReportedAndSkipped) {
  std::string input =
      std::string("{\"@timestamp\": 1, \"event\": {\"category\": \"process\"}, \"process\": {\"name\": \"a\"}}\n"
      "{not json\n"
      "{\"@timestamp\": 2, \"event\": {\"category\": \"process\"}, \"process\": {\"name\": \"b\"}}\n"
      "{\"event\": {\"category\": \"process\"}, \"process\": {\"name\": \"c\"}}\n")
      + std::string("\xff\xfe\x00garbage\n", 11) +  // invalid UTF-8 and a NUL byte
      "{\"@timestamp\": 3, \"event\": {\"category\": \"process\"}, \"process\": {\"name\": \"d\"}}\n";
  CliRun run = EqlRun("--stats -q 'process where true' -", input);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(Lines(run.out).size(), 3u) << run.out;
  EXPECT_NE(run.err.find("<stdin>:2: malformed event"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("<stdin>:4: malformed event"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("<stdin>:5: malformed event"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("\"events_read\":6"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("\"events_malformed\":3"), std::string::npos) << run.err;
}

TEST(Cli, StrictStopsAtFirstMalformedEvent) {
  std::string input =
      "{\"@timestamp\": 1, \"event\": {\"category\": \"process\"}}\n"
      "{oops\n"
      "{\"@timestamp\": 2, \"event\": {\"category\": \"process\"}}\n";
  CliRun run = EqlRun("--strict -q 'process where true' -", input);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(Lines(run.out).size(), 1u) << run.out;
}

TEST(Cli, JsonArrayAndGzipInput) {
  fs::path dir = fs::temp_directory_path() / fmt::format("eql-cli-in-{}", getpid());
  fs::create_directories(dir);
  std::ofstream(dir / "events.json")
      << "[\n {\"@timestamp\": 1, \"event\": {\"category\": \"process\"}, \"n\": 1},\n"
         " {\"@timestamp\": 2, \"event\": {\"category\": \"file\"}, \"n\": 2},\n"
         " {\"@timestamp\": 3, \"event\": {\"category\": \"process\"}, \"n\": 3}\n]\n";
  CliRun run = EqlRun("-q 'process where true' " + (dir / "events.json").string());
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(Lines(run.out).size(), 2u) << run.out;
  ASSERT_EQ(std::system(fmt::format("gzip -kf {}", (dir / "events.json").string()).c_str()), 0);
  CliRun gz = EqlRun("-q 'process where true' " + (dir / "events.json.gz").string());
  EXPECT_EQ(gz.exit_code, 0) << gz.err;
  EXPECT_EQ(gz.out, run.out);
}

TEST(Cli, UnreadableInputsExitOne) {
  EXPECT_EQ(EqlRun("-q 'any where true' /no/such/events.ndjson").exit_code, 1);
  EXPECT_EQ(EqlRun("/no/such/rules.eql -").exit_code, 1);
  CliRun bad = EqlRun("-q 'any where' -", "");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--query:1:"), std::string::npos) << bad.err;
}

TEST(Cli, FieldOptions) {
  std::string input = R"({"ts": "2026-01-01T00:00:01Z", "kind": "process", "seq": 2, "n": 1})"
                      "\n"
                      R"({"ts": "2026-01-01T00:00:01Z", "kind": "process", "seq": 1, "n": 2})"
                      "\n";
  CliRun run = EqlRun(
      "--batch --timestamp-field ts --category-field kind --tiebreaker-field seq "
      "-q 'process where true' -",
      input);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  auto lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 2u) << run.out;
  EXPECT_NE(lines[0].find("\"n\": 2"), std::string::npos) << "tiebreaker orders equal times";
}

}  // namespace

namespace {

// Starts eql-run with a pipe on standard input and standard output.
struct LiveProcess {
  pid_t pid = -1;
  int to_child = -1;
  int from_child = -1;
};

// Starts eql-run reading a pipe we write; standard error goes to
// `err_path` when given (else it is inherited).
LiveProcess StartLive(const std::vector<std::string>& args, const std::string& err_path = "") {
  int in[2], out[2];
  EXPECT_EQ(pipe(in), 0);
  EXPECT_EQ(pipe(out), 0);
  LiveProcess p;
  p.pid = fork();
  if (p.pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    if (!err_path.empty()) {
      FILE* err = std::fopen(err_path.c_str(), "w");
      if (err != nullptr) dup2(fileno(err), 2);
    }
    close(in[1]);
    close(out[0]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kEqlRun.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(kEqlRun.c_str(), argv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  p.to_child = in[1];
  p.from_child = out[0];
  return p;
}

// Reads one line from `fd`, waiting at most `timeout_ms`; empty on timeout.
std::string ReadLineWithin(int fd, int timeout_ms) {
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (poll(&pfd, 1, std::max(left, 1)) <= 0) continue;
    char c;
    if (read(fd, &c, 1) != 1) break;
    if (c == '\n') return line;
    line += c;
  }
  return {};
}

// The sequence completes with the second event; its alert must come out
// while standard input is still open (a live pipe), not at the end.
void ExpectAlertWhileStdinOpen(std::vector<std::string> args) {
  args.push_back(kExamples + "/rules/nodejs_install_script.toml");
  args.push_back("-");
  LiveProcess p = StartLive(args);
  std::string parent =
      R"({"@timestamp":"2026-11-02T09:00:01.000Z","event":{"category":["process"],"type":["start"],"action":"exec"},"host":{"id":"h","os":{"type":"linux"}},"process":{"entity_id":"p1","name":"node","args":["node","npm","install"],"parent":{"entity_id":"p0","name":"bash"}}})"
      "\n";
  std::string child =
      R"({"@timestamp":"2026-11-02T09:00:02.000Z","event":{"category":["process"],"type":["start"],"action":"exec"},"host":{"id":"h","os":{"type":"linux"}},"process":{"entity_id":"p2","name":"sh","args":["sh"],"parent":{"entity_id":"p1","name":"node"}}})"
      "\n";
  ASSERT_EQ(write(p.to_child, parent.data(), parent.size()), static_cast<ssize_t>(parent.size()));
  ASSERT_EQ(write(p.to_child, child.data(), child.size()), static_cast<ssize_t>(child.size()));
  std::string line = ReadLineWithin(p.from_child, 10'000);
  std::cout << "  alert while stdin open (" << (args.size() > 2 ? args[0] + " " + args[1] : "")
            << "): " << line.substr(0, 80) << "...\n";
  EXPECT_NE(line.find("\"join_keys\":[\"h\",\"p1\"]"), std::string::npos) << line;
  close(p.to_child);
  int status = 0;
  waitpid(p.pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(p.from_child);
}

TEST(Cli, StdinStreamsAlertsBeforeInputEnds) { ExpectAlertWhileStdinOpen({}); }

TEST(Cli, StdinStreamsAlertsBeforeInputEndsWithThreads) {
  // The engine's chunk is run when the pipe goes quiet, not when it fills.
  ExpectAlertWhileStdinOpen({"--threads", "2"});
}

TEST(Cli, CheckCountsWhatRulesUseAndWhyOthersAreRefused) {
  fs::path dir = fs::temp_directory_path() / fmt::format("eql-cli-features-{}", getpid());
  fs::create_directories(dir);
  std::ofstream(dir / "a.eql") << "process where foo(process.name)\n";
  std::ofstream(dir / "b.eql") << "process where bar(1)\n";
  std::ofstream(dir / "c.eql") << "sequence [process where true] [file where true] | unique x\n";
  std::ofstream(dir / "d.eql")
      << "sequence by host.id with maxspan=1m [process where true] with runs=2 "
         "![file where true] until [network where true]\n";
  std::ofstream(dir / "e.eql") << "sample by host.id [process where true] [file where true]\n";
  std::ofstream(dir / "f.eql") << "process where true | head 3\n";
  CliRun run = EqlRun("--check " + dir.string());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out,
            "checked 6 queries: 3 ok, 3 failed\n"
            "loaded: 1 event queries, 1 sequences, 1 samples (2 with join keys, 1 with maxspan, "
            "1 with until, 1 with missing events, 1 with runs, 1 with pipes)\n"
            "refused, by reason:\n"
            "      1  Pipe [unique] is not supported\n"
            "      1  Unknown function [bar]\n"
            "      1  Unknown function [foo]\n");
}

TEST(Cli, CheckLoadsTheWholeCorpus) {
  const std::string corpus = std::string(EQL_SHARED_DIR) + "/corpus/detection-rules-eql.jsonl";
  if (!fs::exists(corpus)) {
    if (std::getenv("CI") != nullptr) FAIL() << "the corpus is missing: " << corpus;
    GTEST_SKIP() << "no corpus at " << corpus << " (../shared is not beside the checkout)";
  }
  CliRun run = EqlRun("--check " + corpus);
  std::cout << run.out;
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(Lines(run.out).front(), "checked 1081 queries: 1081 ok, 0 failed");
}

TEST(Cli, ThreadsGiveTheAlertsOfOneThread) {
  fs::path dir = fs::temp_directory_path() / fmt::format("eql-cli-threads-{}", getpid());
  fs::create_directories(dir);
  std::string gen = std::string(EQL_BINARY_DIR) + "/bin/eql-gen";
  const std::string events = (dir / "events.ndjson").string();
  ASSERT_EQ(std::system(fmt::format("{} --events 100000 --hosts 300 --attacks 60 --mix wide "
                                    "--seed 9 > {} 2>/dev/null",
                                    gen, events)
                            .c_str()),
            0);
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  CliRun one = EqlRun(kExamples + "/rules " + events);
  for (const char* threads : {"2", "3"}) {
    CliRun many = EqlRun(fmt::format("--threads {} --stats {}/rules {}", threads, kExamples, events));
    ASSERT_EQ(many.exit_code, 0) << many.err;
    std::cout << "  " << Lines(one.out).size() << " alerts with 1 thread, "
              << Lines(many.out).size() << " with " << threads << "\n";
    EXPECT_GE(Lines(one.out).size(), 120u);
    EXPECT_EQ(sorted(Lines(many.out)), sorted(Lines(one.out)));
    EXPECT_NE(many.err.find("\"events_processed\":100000"), std::string::npos) << many.err;
  }
  const std::string corpus = std::string(EQL_SHARED_DIR) + "/corpus/detection-rules-eql.jsonl";
  if (fs::exists(corpus)) {
    // The whole rule pack over the first 20,000 events.
    ASSERT_EQ(std::system(fmt::format("head -20000 {} > {}/head.ndjson", events, dir.string())
                              .c_str()),
              0);
    CliRun pack1 = EqlRun(corpus + " " + (dir / "head.ndjson").string());
    CliRun pack2 = EqlRun("--threads 2 " + corpus + " " + (dir / "head.ndjson").string());
    std::cout << "  corpus: " << Lines(pack1.out).size() << " alerts with 1 thread, "
              << Lines(pack2.out).size() << " with 2\n";
    EXPECT_GT(Lines(pack1.out).size(), 100u);
    EXPECT_EQ(sorted(Lines(pack2.out)), sorted(Lines(pack1.out)));
  }
}

TEST(Cli, ThreadsReportMalformedLinesWithTheirNumbers) {
  std::string input =
      "{\"@timestamp\": 1, \"event\": {\"category\": \"process\"}}\n"
      "{not json\n"
      "{\"@timestamp\": 2, \"event\": {\"category\": \"process\"}}\n"
      "{\"event\": {\"category\": \"process\"}}\n";
  CliRun run = EqlRun("--threads 2 --stats -q 'process where true' -", input);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(Lines(run.out).size(), 2u) << run.out;
  EXPECT_NE(run.err.find("<stdin>:2: malformed event"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("<stdin>:4: malformed event"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("\"events_malformed\":2"), std::string::npos) << run.err;
  CliRun strict = EqlRun("--threads 2 --strict -q 'process where true' -", input);
  EXPECT_EQ(strict.exit_code, 1) << strict.err;
  CliRun bad = EqlRun("--threads 2 --partition-field no.such -q 'process where true' -", input);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("partition field no.such is not read by any rule"), std::string::npos)
      << bad.err;
}

TEST(Cli, ShuffledStreamWithinLatenessEqualsBatch) {
  // 100,000 generated events leaving the generator shuffled within 500 ms:
  // streaming with 2 s of allowed lateness must give exactly the batch alerts.
  fs::path dir = fs::temp_directory_path() / fmt::format("eql-cli-shuffle-{}", getpid());
  fs::create_directories(dir);
  std::string gen = std::string(EQL_BINARY_DIR) + "/bin/eql-gen";
  ASSERT_EQ(std::system(fmt::format("{} --events 100000 --hosts 300 --attacks 60 --disorder 500 "
                                    "--seed 7 > {}/events.ndjson 2>/dev/null",
                                    gen, dir.string())
                            .c_str()),
            0);
  CliRun batch = EqlRun("--batch " + kExamples + "/rules " + (dir / "events.ndjson").string());
  CliRun stream = EqlRun("--allowed-lateness 2s --stats " + kExamples + "/rules " +
                         (dir / "events.ndjson").string());
  ASSERT_EQ(batch.exit_code, 0) << batch.err;
  ASSERT_EQ(stream.exit_code, 0) << stream.err;
  auto b = Lines(batch.out), s = Lines(stream.out);
  std::cout << "  batch " << b.size() << " alerts, stream " << s.size() << " alerts\n";
  EXPECT_GE(b.size(), 120u);
  EXPECT_EQ(s, b);
  EXPECT_NE(stream.err.find("\"events_late\":0"), std::string::npos) << stream.err;
}

}  // namespace

namespace {

TEST(Cli, EveryHelpOptionIsDocumented) {
  // docs/eql-run.md is the manual page: it must name every option --help lists.
  CliRun help = EqlRun("--help");
  std::ifstream doc_file(std::string(EQL_SOURCE_DIR) + "/docs/eql-run.md");
  std::string doc((std::istreambuf_iterator<char>(doc_file)), {});
  ASSERT_FALSE(doc.empty());
  size_t options = 0;
  for (const std::string& line : Lines(help.out)) {
    size_t at = line.find("--");
    if (at == std::string::npos || line.find_first_not_of(' ') != line.find('-')) continue;
    size_t end = line.find_first_of(" ,=", at);
    std::string option = line.substr(at, end == std::string::npos ? std::string::npos : end - at);
    ++options;
    // In the options table: "| `--batch` |" or "| `-q, --query TEXT` |".
    bool documented = doc.find("`" + option) != std::string::npos ||
                      doc.find(", " + option) != std::string::npos;
    EXPECT_TRUE(documented) << option << " is not in docs/eql-run.md";
  }
  std::cout << "  " << options << " options in --help checked against docs/eql-run.md\n";
  EXPECT_GE(options, 14u);
}

}  // namespace

namespace {

TEST(Cli, SourceSysmonNormalizesBeforeTheRules) {
  // A winlogbeat Sysmon record of node.exe with inline eval: after
  // normalization the ECS rules see process.name, command_line, host.os.type.
  const std::string data = std::string(EQL_SOURCE_DIR) + "/tests/sources/data/sysmon_winlogbeat.ndjson";
  CliRun ecs = EqlRun("--batch " + kExamples + "/rules/nodejs_inline_code.eql " + data);
  CliRun sysmon = EqlRun("--batch --stats --source sysmon " + kExamples +
                         "/rules/nodejs_inline_code.eql " + data);
  EXPECT_EQ(ecs.exit_code, 0) << ecs.err;
  EXPECT_EQ(sysmon.exit_code, 0) << sysmon.err;
  std::cout << "  as ECS: " << Lines(ecs.out).size() << " alerts; as sysmon: "
            << Lines(sysmon.out).size() << " alerts\n";
  EXPECT_EQ(Lines(ecs.out).size(), 0u) << "raw Sysmon fields are not ECS";
  ASSERT_EQ(Lines(sysmon.out).size(), 1u) << sysmon.out << sysmon.err;
  EXPECT_NE(sysmon.out.find("\"original\":"), std::string::npos) << "event.original kept";
  EXPECT_NE(sysmon.err.find("\"sysmon\":{\"records\":3"), std::string::npos) << sysmon.err;
}

}  // namespace

namespace {

// --state and SIGINT/SIGTERM (issue 9): a run stopped midway and continued
// from its saved state prints exactly the alerts of an uninterrupted run.

std::vector<std::string> SortedLines(const std::string& text) {
  std::vector<std::string> lines = Lines(text);
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::string ReadAll(int fd) {
  std::string out;
  char buffer[65536];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

// Sends `signo` to a live eql-run, then collects what it printed and how it
// ended (its standard error went to `err_path`).
struct Stopped {
  std::string out, err;
  int status = 0;
};
Stopped StopLive(LiveProcess& p, int signo, const fs::path& err_path) {
  Stopped s;
  EXPECT_EQ(kill(p.pid, signo), 0);
  s.out = ReadAll(p.from_child);
  waitpid(p.pid, &s.status, 0);
  close(p.to_child);
  close(p.from_child);
  std::ifstream err_file(err_path);
  s.err.assign(std::istreambuf_iterator<char>(err_file), {});
  return s;
}

uint64_t StatNumber(const std::string& stats, const std::string& name) {
  const std::string key = "\"" + name + "\":";
  size_t at = stats.find(key);
  if (at == std::string::npos) return UINT64_MAX;
  return std::stoull(stats.substr(at + key.size()));
}

std::vector<std::string> GeneratedEvents(const fs::path& dir, int count) {
  const std::string path = (dir / "events.ndjson").string();
  std::string gen = std::string(EQL_BINARY_DIR) + "/bin/eql-gen";
  EXPECT_EQ(std::system(fmt::format("{} --events {} --hosts 50 --attacks 40 --seed 21 > {} "
                                    "2>/dev/null",
                                    gen, count, path)
                            .c_str()),
            0);
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line + "\n");
  return lines;
}

void WriteLines(const fs::path& path, const std::vector<std::string>& lines, size_t from,
                size_t to) {
  std::ofstream out(path, std::ios::binary);
  for (size_t i = from; i < to; ++i) out << lines[i];
}

TEST(Cli, StateCarriesPartialsAcrossRuns) {
  fs::path dir = fs::temp_directory_path() / fmt::format("eql-cli-state-{}", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::vector<std::string> events = GeneratedEvents(dir, 20000);
  const std::string all = (dir / "events.ndjson").string();
  for (const std::string mode : {"", "--allowed-lateness 2s", "--threads 2", "--batch"}) {
    CliRun whole = EqlRun(fmt::format("{} {}/rules {}", mode, kExamples, all));
    ASSERT_EQ(whole.exit_code, 0) << whole.err;
    const fs::path state = dir / "state";
    fs::remove(state);
    std::string out;
    // Three runs over three slices; the last one ends the stream.
    const size_t cuts[] = {0, 7001, 13002, events.size()};
    for (int part = 0; part < 3; ++part) {
      WriteLines(dir / "slice.ndjson", events, cuts[part], cuts[part + 1]);
      CliRun run = EqlRun(fmt::format("{} --state {} {} --stats {}/rules {}", mode, state.string(),
                                      part == 2 ? "--final" : "", kExamples,
                                      (dir / "slice.ndjson").string()));
      ASSERT_EQ(run.exit_code, 0) << run.err;
      EXPECT_NE(run.err.find(fmt::format("\"restored\":{}", part > 0)), std::string::npos)
          << run.err;
      out += run.out;
    }
    std::cout << "  " << (mode.empty() ? "streaming" : mode) << ": " << Lines(whole.out).size()
              << " alerts in one run, " << Lines(out).size() << " over three runs with --state ("
              << fs::file_size(state) << " bytes of state at the end)\n";
    EXPECT_GE(Lines(whole.out).size(), 100u);
    EXPECT_EQ(SortedLines(out), SortedLines(whole.out)) << mode;
  }
}

TEST(Cli, SigtermSavesStateAndTheNextRunGoesOn) {
  fs::path dir = fs::temp_directory_path() / fmt::format("eql-cli-sigterm-{}", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::vector<std::string> events = GeneratedEvents(dir, 20000);
  const std::string all = (dir / "events.ndjson").string();
  for (const std::string mode : {"", "--threads 2"}) {
    std::vector<std::string> mode_args;
    if (!mode.empty()) mode_args = {"--threads", "2"};
    CliRun whole = EqlRun(fmt::format("{} --allowed-lateness 1s {}/rules {}", mode, kExamples, all));
    const fs::path state = dir / "state";
    fs::remove(state);
    std::vector<std::string> args = mode_args;
    for (const std::string& a : {std::string("--allowed-lateness"), std::string("1s"),
                                 std::string("--state"), state.string(), std::string("--stats"),
                                 kExamples + "/rules", std::string("-")}) {
      args.push_back(a);
    }
    LiveProcess p = StartLive(args, (dir / "stderr").string());
    // Half the stream, then the pipe stays open (a sensor's input does), and
    // the process is told to stop.
    std::string first;
    for (size_t i = 0; i < 9000; ++i) first += events[i];
    std::thread writer([&] {
      size_t done = 0;
      while (done < first.size()) {
        ssize_t n = write(p.to_child, first.data() + done, first.size() - done);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
    });
    writer.join();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const Stopped stopped = StopLive(p, SIGTERM, dir / "stderr");
    const std::string& out1 = stopped.out;
    const std::string& err = stopped.err;
    const int status = stopped.status;
    ASSERT_TRUE(WIFEXITED(status)) << err;
    EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM) << err;
    EXPECT_NE(err.find("stopped (SIGTERM)"), std::string::npos) << err;
    EXPECT_NE(err.find("\"interrupted_by\":\"SIGTERM\""), std::string::npos) << err;
    ASSERT_TRUE(fs::exists(state)) << err;
    // The stats say how many events the stopped run took; the next run is
    // given the ones after them.
    const uint64_t taken = StatNumber(err, "events_read");
    ASSERT_LE(taken, 9000u) << err;
    WriteLines(dir / "rest.ndjson", events, taken, events.size());
    CliRun rest = EqlRun(fmt::format("{} --allowed-lateness 1s --state {} --final {}/rules {}", mode,
                                     state.string(), kExamples, (dir / "rest.ndjson").string()));
    ASSERT_EQ(rest.exit_code, 0) << rest.err;
    std::cout << "  " << (mode.empty() ? "one thread" : mode) << ": SIGTERM after " << taken
              << " events (" << Lines(out1).size() << " alerts), the rest from the saved state ("
              << Lines(rest.out).size() << " alerts); uninterrupted: " << Lines(whole.out).size()
              << "\n";
    EXPECT_EQ(SortedLines(out1 + rest.out), SortedLines(whole.out)) << mode;
  }
}

TEST(Cli, SigintWithoutStateDecidesWhatIsPending) {
  fs::path dir = fs::temp_directory_path() / fmt::format("eql-cli-sigint-{}", getpid());
  fs::create_directories(dir);
  // `tail 1` holds its result until the end of the stream: SIGINT ends it.
  LiveProcess p =
      StartLive({"--stats", "-q", "process where true | tail 1", "-"}, (dir / "stderr").string());
  const std::string events =
      R"({"@timestamp":1000,"event":{"category":"process"},"process":{"pid":1}})"
      "\n"
      R"({"@timestamp":2000,"event":{"category":"process"},"process":{"pid":2}})"
      "\n";
  ASSERT_EQ(write(p.to_child, events.data(), events.size()), static_cast<ssize_t>(events.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const Stopped stopped = StopLive(p, SIGINT, dir / "stderr");
  const std::string& out = stopped.out;
  const std::string& err = stopped.err;
  const int status = stopped.status;
  std::cout << "  after SIGINT: " << out;
  ASSERT_TRUE(WIFEXITED(status)) << err;
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGINT);
  ASSERT_EQ(Lines(out).size(), 1u) << out << err;
  EXPECT_NE(out.find("\"pid\":2"), std::string::npos) << out;
  EXPECT_NE(err.find("\"interrupted_by\":\"SIGINT\""), std::string::npos) << err;
  EXPECT_NE(err.find("\"events_read\":2"), std::string::npos) << err;
}

TEST(Cli, BadStateIsRefused) {
  fs::path dir = fs::temp_directory_path() / fmt::format("eql-cli-badstate-{}", getpid());
  fs::create_directories(dir);
  const std::string events = (dir / "e.ndjson").string();
  std::ofstream(events) << R"({"@timestamp":1,"event":{"category":"process"}})" << "\n";
  const std::string state = (dir / "state").string();
  std::ofstream(state) << "not a snapshot";
  CliRun garbage = EqlRun(fmt::format("--state {} -q 'process where true' {}", state, events));
  EXPECT_EQ(garbage.exit_code, 1);
  EXPECT_NE(garbage.err.find("not a libeql snapshot"), std::string::npos) << garbage.err;
  EXPECT_TRUE(garbage.out.empty()) << "no event may run on a refused state";

  fs::remove(state);
  ASSERT_EQ(EqlRun(fmt::format("--state {} -q 'process where true' {}", state, events)).exit_code,
            0);
  CliRun other = EqlRun(fmt::format("--state {} -q 'network where true' {}", state, events));
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.err.find("rule 1"), std::string::npos) << other.err;
  // A cut file: the checksum and length catch it.
  const auto size = fs::file_size(state);
  fs::resize_file(state, size - 3);
  CliRun cut = EqlRun(fmt::format("--state {} -q 'process where true' {}", state, events));
  EXPECT_EQ(cut.exit_code, 1);
  EXPECT_NE(cut.err.find("corrupt"), std::string::npos) << cut.err;
  std::cout << "  refused: " << Lines(garbage.err)[0] << "\n  refused: " << Lines(other.err)[0]
            << "\n  refused: " << Lines(cut.err)[0] << "\n";
  EXPECT_EQ(EqlRun(fmt::format("--final -q 'process where true' {}", events)).exit_code, 2);
}

}  // namespace
