// eql-run: runs EQL rules over a stream of events from the shell.
//
//   eql-run [options] RULES EVENTS      rules from a file or folder
//   eql-run [options] -q QUERY EVENTS   one query given inline
//   eql-run --check RULES...            parse and check rules only
//
// Alerts go to standard output as NDJSON; diagnostics, malformed-input
// reports and --stats go to standard error. Exit codes: 0 rules ran, 1 bad
// rules or unreadable input or state, 2 bad usage, 128 + signal when stopped
// by SIGINT or SIGTERM.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "eql/engine.hpp"
#include "eql/reader.hpp"
#include "eql/rules.hpp"
#include "eql/sources.hpp"
#include "fmt/format.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitBadInput = 1;
constexpr int kExitUsage = 2;

// SIGINT/SIGTERM: the handler only records the signal; the main loop stops
// reading (the reader is woken from a blocking read, as the handler is
// installed without SA_RESTART), and the run ends as for the end of input.
std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

extern "C" void OnStopSignal(int signo) {
  g_signal.store(signo);
  g_stop.store(true);
}

void InstallStopHandlers() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocked read() returns EINTR
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// The signals go to the main thread only: the engine's worker threads
// (--threads) are started while they are blocked, and inherit that.
void BlockStopSignals(bool block) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, nullptr);
}

// Reads a whole file; false (with `error` set) when it cannot.
bool ReadFile(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return false;
  }
  out.assign(std::istreambuf_iterator<char>(in), {});
  if (in.bad()) {
    error = "read error";
    return false;
  }
  return true;
}

// Writes `bytes` to `path` so that a crash never leaves a half-written
// state: a temporary file beside it, flushed to disk, renamed over it.
bool WriteFileAtomically(const std::string& path, std::string_view bytes, std::string& error) {
  const std::string temporary = path + ".tmp";
  FILE* f = std::fopen(temporary.c_str(), "wb");
  if (f == nullptr) {
    error = std::strerror(errno);
    return false;
  }
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = std::fflush(f) == 0 && ok;
  ok = fsync(fileno(f)) == 0 && ok;
  if (!ok) error = std::strerror(errno);
  ok = std::fclose(f) == 0 && ok;
  if (ok && std::rename(temporary.c_str(), path.c_str()) != 0) {
    error = std::strerror(errno);
    ok = false;
  }
  if (!ok) std::remove(temporary.c_str());
  return ok;
}

// Reads "250ms", "10s", "5m", "1h", "2d" (or a bare number of milliseconds).
bool ParseDuration(const std::string& text, int64_t& millis) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 15) return false;
  int64_t value = std::stoll(text.substr(0, digits));
  std::string unit = text.substr(digits);
  int64_t scale = 0;
  if (unit.empty() || unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else if (unit == "d")
    scale = 86'400'000;
  else
    return false;
  millis = value * scale;
  return true;
}

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20)
          out += fmt::format("\\u{:04x}", c);
        else
          out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

struct Loaded {
  std::vector<eql::Rule> rules;
  bool unreadable = false;
};

Loaded LoadAll(const std::vector<std::string>& paths) {
  Loaded loaded;
  for (const auto& path : paths) {
    eql::RuleFileErrors errors;
    auto rules = eql::LoadRules(path, &errors);
    for (const auto& e : errors) {
      std::cerr << "eql-run: " << e << "\n";
      loaded.unreadable = true;
    }
    if (!rules.ok()) {
      std::cerr << "eql-run: " << rules.status().message() << "\n";
      loaded.unreadable = true;
      continue;
    }
    for (auto& r : *rules) loaded.rules.push_back(std::move(r));
  }
  return loaded;
}

void PrintRejected(const eql::Engine& engine) {
  for (const auto& rejected : engine.rejected_rules()) {
    const eql::Rule& rule = engine.rules()[rejected.rule_index];
    std::string origin = rule.origin.empty() ? rule.name : rule.origin;
    for (const auto& d : rejected.diagnostics) {
      std::cerr << d.Format(origin);
      if (!rule.name.empty() && rule.name != origin)
        std::cerr << "  (rule \"" << rule.name << "\")\n";
    }
  }
}

// What the loaded rules use, and why the others were refused (grouped by
// the first diagnostic's message, which names the missing feature).
void PrintFeatureCounts(const eql::Engine& engine) {
  std::vector<bool> refused(engine.rules().size(), false);
  std::map<std::string, size_t> reasons;
  for (const auto& rejected : engine.rejected_rules()) {
    refused[rejected.rule_index] = true;
    if (!rejected.diagnostics.empty()) ++reasons[rejected.diagnostics.front().message];
  }
  size_t events = 0, sequences = 0, samples = 0, keyed = 0, maxspan = 0, until = 0, missing = 0,
         runs = 0, pipes = 0;
  for (size_t r = 0; r < engine.rules().size(); ++r) {
    if (refused[r]) continue;
    const eql::RuleFeatures f = engine.features(r);
    switch (f.kind) {
      case eql::RuleFeatures::Kind::kEvent: ++events; break;
      case eql::RuleFeatures::Kind::kSequence: ++sequences; break;
      case eql::RuleFeatures::Kind::kSample: ++samples; break;
    }
    keyed += f.join_keys;
    maxspan += f.maxspan;
    until += f.until;
    missing += f.missing_events;
    runs += f.runs;
    pipes += f.pipes;
  }
  std::cout << fmt::format(
      "loaded: {} event queries, {} sequences, {} samples ({} with join keys, {} with maxspan, "
      "{} with until, {} with missing events, {} with runs, {} with pipes)\n",
      events, sequences, samples, keyed, maxspan, until, missing, runs, pipes);
  if (reasons.empty()) return;
  std::cout << "refused, by reason:\n";
  std::vector<std::pair<std::string, size_t>> sorted(reasons.begin(), reasons.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [message, count] : sorted) {
    std::cout << fmt::format("  {:>5}  {}\n", count, message);
  }
}

long PeakRssKb() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "eql-run: run EQL detection rules (Elasticsearch's Event Query Language) over events.\n"
      "RULES is a .eql file (one query), a detection-rules .toml file, a .jsonl rule pack\n"
      "(one object a line with \"query\" and optional name, rule_id, severity) or a folder of\n"
      "these. EVENTS is an NDJSON file, a JSON array file, a .gz of either, or - for standard\n"
      "input. Alerts are printed as NDJSON on standard output, one line each.\n"
      "Exit codes: 0 rules ran (even with malformed events), 1 bad rules, unreadable input or\n"
      "state, 2 bad usage, 130/143 stopped by SIGINT/SIGTERM (after deciding what is pending\n"
      "or saving --state, and printing --stats).",
      "eql-run"};
  app.set_help_flag("-h,--help", "Print this help and exit");

  std::vector<std::string> positional;
  std::string query;
  bool check = false;
  bool batch = false;
  bool strict = false;
  bool stats = false;
  bool progress = false;
  std::string lateness_text = "0ms";
  uint64_t max_partials = 1'000'000;
  uint64_t max_event_bytes = 16 << 20;
  std::string source = "ecs";
  std::string state_path;
  bool final_input = false;
  eql::EngineOptions options;

  app.add_option("files", positional, "RULES EVENTS (or, with --check, the rule files)");
  app.add_option("-q,--query", query, "Run this one query instead of a RULES file");
  app.add_flag("--check", check,
               "Parse and check the rules only; print one diagnostic per bad query");
  app.add_flag("--batch", batch,
               "Read all events first and process them sorted by time, as Elasticsearch does");
  app.add_option("--allowed-lateness", lateness_text,
                 "How long to wait for out-of-order events when streaming (e.g. 500ms, 10s, 1m)")
      ->capture_default_str();
  app.add_option("--max-partials", max_partials,
                 "Cap on live partial sequences per rule; the oldest are evicted and counted")
      ->capture_default_str();
  app.add_option("--max-event-bytes", max_event_bytes,
                 "Events larger than this are reported as malformed and skipped")
      ->capture_default_str();
  app.add_option("--max-partials-total", options.max_partials_total,
                 "Cap on live partial sequences over all rules; the rule that goes over evicts "
                 "its own oldest")
      ->capture_default_str();
  app.add_option("--max-json-depth", options.max_json_depth,
                 "Events nested deeper than this (objects and arrays) are reported and skipped")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app.add_option("--max-event-values", options.max_event_values,
                 "Events giving the rules' fields more values than this (array elements count "
                 "one each) are reported and skipped")
      ->capture_default_str();
  app.add_option("--max-string-bytes", options.max_string_bytes,
                 "Longer strings are cut to this many bytes before the rules compare them "
                 "(counted)")
      ->capture_default_str();
  app.add_option("--max-join-keys", options.max_join_keys_per_event,
                 "Join keys one event may expand to in a stage (arrays in several `by` fields); "
                 "beyond it the match is dropped and counted")
      ->capture_default_str();
  std::string future_text = "1d";
  app.add_option("--max-future", future_text,
                 "When streaming, events stamped further than this ahead of the system clock are "
                 "reported and skipped (0 turns the check off)")
      ->capture_default_str();
  app.add_option("--category-field", options.category_field, "Field holding the event category")
      ->capture_default_str();
  app.add_option("--timestamp-field", options.timestamp_field,
                 "Field holding the timestamp (ISO 8601 text or epoch milliseconds)")
      ->capture_default_str();
  app.add_option("--tiebreaker-field", options.tiebreaker_field,
                 "Field that orders events with equal timestamps (default: arrival order)");
  app.add_flag("--strict", strict, "Stop at the first malformed event (exit code 1)");
  app.add_option("--threads", options.threads,
                 "Threads to run on; events are partitioned by --partition-field so sequences "
                 "are found as with one thread (alerts then come per chunk of 1024 events, or "
                 "when the input goes quiet)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_flag("--multi-pattern", options.multi_pattern,
               "Match the wildcard patterns over each field, across all rules, in one pass "
               "(a Hyperscan literal automaton per field; costs load time, see "
               "docs/BENCHMARKS.md)");
  bool no_answer_cache = false;
  app.add_flag("--no-answer-cache", no_answer_cache,
               "Do not keep wildcard, regex and `in` answers across events by field value (for "
               "measurement; the alerts are the same)");
  app.add_option("--partition-field", options.partition_field,
                 "With --threads: the field events are partitioned by (default: the join key "
                 "most sequence rules share, e.g. host.id)");
  app.add_option("--state", state_path,
                 "Continue from this file's saved state if it exists, and save the state to it "
                 "when the run ends (end of input, SIGINT or SIGTERM): partial sequences, "
                 "pending decisions and events held for reordering carry over to the next run, "
                 "which should be given the events that follow");
  app.add_flag("--final", final_input,
               "With --state: the end of this input is the end of the stream; decide pending "
               "matches and print tail results before saving (without --state this is always "
               "so)");
  app.add_flag("--stats", stats, "Print a JSON summary of the run on standard error");
  app.add_flag("--progress", progress,
               "Print a progress line on standard error (only when it is a terminal)");
  app.add_option("--source", source,
                 "Data source of the events, normalized to ECS before the rules see them: ecs "
                 "(as is), sysmon, winsec (Security 4688), crowdstrike (FDR), mde (Defender "
                 "XDR), sentinelone, or auto (decided per event)")
      ->capture_default_str()
      ->check(CLI::IsMember(eql::SourceNormalizer::Names()));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  options.cache_answers = !no_answer_cache;

  if (check) {
    if (positional.empty() && query.empty()) {
      std::cerr << "eql-run: --check needs rule files or -q QUERY\n";
      return kExitUsage;
    }
    Loaded loaded;
    if (!query.empty()) {
      loaded.rules.push_back({.query = query, .name = "--query", .origin = "--query"});
    }
    Loaded from_files = LoadAll(positional);
    loaded.unreadable = from_files.unreadable;
    for (auto& r : from_files.rules) loaded.rules.push_back(std::move(r));
    size_t total = loaded.rules.size();
    auto engine = eql::Engine::Create(std::move(loaded.rules), options);
    if (!engine.ok()) {
      std::cerr << "eql-run: " << engine.status().message() << "\n";
      return kExitBadInput;
    }
    PrintRejected(**engine);
    size_t failed = (*engine)->rejected_rules().size();
    std::cout << fmt::format("checked {} {}: {} ok, {} failed\n", total,
                             total == 1 ? "query" : "queries", total - failed, failed);
    PrintFeatureCounts(**engine);
    return failed == 0 && !loaded.unreadable ? kExitOk : kExitBadInput;
  }

  // Run mode.
  std::string events_path;
  Loaded loaded;
  if (!query.empty()) {
    if (positional.size() != 1) {
      std::cerr << "eql-run: with -q QUERY give exactly one EVENTS argument (see --help)\n";
      return kExitUsage;
    }
    loaded.rules.push_back({.query = query, .name = "query", .origin = "--query"});
    events_path = positional[0];
  } else {
    if (positional.size() != 2) {
      std::cerr << "eql-run: expected RULES EVENTS (see --help)\n";
      return kExitUsage;
    }
    loaded = LoadAll({positional[0]});
    events_path = positional[1];
  }
  if (!ParseDuration(lateness_text, options.allowed_lateness_ms)) {
    std::cerr << "eql-run: --allowed-lateness: expected a duration like 500ms, 10s or 1m, got '"
              << lateness_text << "'\n";
    return kExitUsage;
  }
  if (!ParseDuration(future_text, options.max_future_ms)) {
    std::cerr << "eql-run: --max-future: expected a duration like 1h or 1d (0 for no check), got '"
              << future_text << "'\n";
    return kExitUsage;
  }
  options.batch = batch;
  options.source = source;
  options.max_partials_per_rule = max_partials;
  options.max_event_bytes = max_event_bytes;
  if (final_input && state_path.empty()) {
    std::cerr << "eql-run: --final only means something with --state (see --help)\n";
    return kExitUsage;
  }

  InstallStopHandlers();
  BlockStopSignals(true);
  auto created = eql::Engine::Create(std::move(loaded.rules), options);
  BlockStopSignals(false);
  if (!created.ok()) {
    std::cerr << "eql-run: " << created.status().message() << "\n";
    return kExitBadInput;
  }
  eql::Engine& engine = **created;
  PrintRejected(engine);
  bool bad_rules = loaded.unreadable || !engine.rejected_rules().empty();
  if (engine.rules().size() == engine.rejected_rules().size()) {
    std::cerr << "eql-run: no rule to run\n";
    return kExitBadInput;
  }

  // The saved state of an earlier run goes in before any event.
  bool restored = false;
  if (!state_path.empty() && std::filesystem::exists(state_path)) {
    std::string bytes, error;
    if (!ReadFile(state_path, bytes, error)) {
      std::cerr << "eql-run: --state " << state_path << ": cannot read it: " << error << "\n";
      return kExitBadInput;
    }
    absl::Status status = engine.Restore(bytes);
    if (!status.ok()) {
      std::cerr << "eql-run: --state " << state_path << ": " << status.message()
                << " (remove the file to start afresh)\n";
      return kExitBadInput;
    }
    restored = true;
  }

  auto reader = eql::EventReader::Open(events_path, max_event_bytes);
  if (!reader.ok()) {
    std::cerr << "eql-run: " << reader.status().message() << "\n";
    return kExitBadInput;
  }
  (*reader)->SetInterrupt(&g_stop);
  // On a pipe or terminal, each alert is written out at once.
  const bool live_output = !batch && events_path == "-";
  std::vector<uint64_t> alerts_per_rule(engine.rules().size(), 0);
  engine.SetAlertCallback([&](const eql::Alert& alert) {
    std::string line = alert.ToJson();
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
    if (live_output) std::fflush(stdout);
  });

  const bool show_progress = progress && isatty(STDERR_FILENO);
  const std::string origin = events_path == "-" ? "<stdin>" : events_path;
  // With --threads events are parsed after PushJsonPadded() returned: their
  // errors come here, tagged with the line number.
  uint64_t late_malformed = 0;
  engine.SetErrorCallback([&](uint64_t line, const absl::Status& error) {
    ++late_malformed;
    std::cerr << origin << ":" << line << ": malformed event: " << error.message() << "\n";
  });
  auto started = std::chrono::steady_clock::now();
  auto last_progress = started;
  uint64_t events_read = 0;
  uint64_t malformed = 0;
  int exit_code = kExitOk;
  // Without --strict, events are pushed up to kBatch at a time (copied out
  // of the reader's buffer, which the next read may move): the engine parses
  // them all, then runs them through the rules, each stage's code staying
  // warm in the instruction cache.
  // With --threads the engine buffers the events in chunks itself: they are
  // pushed one at a time, copied once.
  const bool batched = !strict && options.threads <= 1;
  constexpr size_t kBatch = 32;
  std::string batch_text;
  std::vector<size_t> batch_offsets;
  std::vector<std::string_view> batch_jsons;
  std::vector<uint64_t> batch_lines;
  std::vector<absl::Status> batch_statuses(kBatch);
  auto report = [&](uint64_t line, const absl::Status& status) {
    ++malformed;
    std::cerr << origin << ":" << line << ": malformed event: " << status.message() << "\n";
  };
  auto push_batch = [&] {
    if (batch_lines.empty()) return;
    batch_jsons.clear();
    for (size_t i = 0; i < batch_lines.size(); ++i) {
      const size_t end = i + 1 < batch_lines.size() ? batch_offsets[i + 1] : batch_text.size();
      batch_jsons.emplace_back(batch_text.data() + batch_offsets[i],
                               end - batch_offsets[i] - eql::Engine::kJsonPadding);
    }
    const size_t n = batch_lines.size();
    engine.PushJsonPadded(batch_jsons, batch_lines, std::span(batch_statuses).first(n));
    for (size_t i = 0; i < n; ++i) {
      if (!batch_statuses[i].ok()) report(batch_lines[i], batch_statuses[i]);
    }
    batch_text.clear();
    batch_offsets.clear();
    batch_lines.clear();
  };
  eql::EventReader::Item item;
  while ((*reader)->Next(item)) {
    ++events_read;
    if (batched && item.error.ok()) {
      batch_offsets.push_back(batch_text.size());
      batch_text.append(item.json);
      batch_text.append(eql::Engine::kJsonPadding, '\0');
      batch_lines.push_back(item.line);
      // Pushed before a read that may wait: a live stream's alerts are not
      // held back for the batch to fill.
      if (batch_lines.size() == kBatch || !(*reader)->Ready()) push_batch();
    } else {
      push_batch();  // errors are reported in the events' order
      absl::Status status =
          item.error.ok() ? engine.PushJsonPadded(item.json, item.line) : item.error;
      if (!status.ok()) {
        report(item.line, status);
        if (strict) {
          exit_code = kExitBadInput;
          break;
        }
      }
      // With --threads the engine holds a chunk: it is run before a read
      // that may wait, for the same reason.
      if (options.threads > 1 && !(*reader)->Ready()) engine.Drain();
    }
    if (strict && late_malformed > 0) {
      // With --threads: stopped at the end of the chunk holding the event.
      exit_code = kExitBadInput;
      break;
    }
    if (show_progress && (events_read & 0xffff) == 0) {
      auto now = std::chrono::steady_clock::now();
      if (now - last_progress > std::chrono::milliseconds(500)) {
        last_progress = now;
        double seconds = std::chrono::duration<double>(now - started).count();
        std::cerr << fmt::format("\r{} events, {:.1f} MB, {:.0f} events/s   ", events_read,
                                 (*reader)->bytes_read() / 1e6, events_read / seconds);
      }
    }
  }
  push_batch();
  if (show_progress) std::cerr << "\r\033[K";
  const int stop_signal = g_stop.load() ? g_signal.load() : 0;
  if (stop_signal != 0) {
    std::cerr << fmt::format("eql-run: {} after {} events{}\n",
                             stop_signal == SIGINT ? "interrupted (SIGINT)" : "stopped (SIGTERM)",
                             events_read,
                             state_path.empty() ? "; deciding what is pending as at the end of input"
                                                : "; saving the state");
  } else if (!(*reader)->status().ok()) {
    std::cerr << "eql-run: " << (*reader)->status().message() << "\n";
    exit_code = kExitBadInput;
  }
  // Without --state the run is the whole stream: its end decides every
  // pending match. With --state the stream goes on in the next run, unless
  // --final says this is its end.
  if (state_path.empty() || final_input) engine.Flush();
  uint64_t state_bytes = 0;
  if (!state_path.empty()) {
    auto snapshot = engine.Checkpoint();  // runs what --threads holds back first
    std::string error;
    if (!snapshot.ok()) {
      error = std::string(snapshot.status().message());
    } else if (WriteFileAtomically(state_path, *snapshot, error)) {
      state_bytes = snapshot->size();
    }
    if (!error.empty()) {
      std::cerr << "eql-run: --state " << state_path << ": cannot save the state: " << error
                << "\n";
      exit_code = kExitBadInput;
    }
  }
  if (strict && late_malformed > 0) exit_code = kExitBadInput;
  std::fflush(stdout);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const eql::EngineStats final_stats = engine.stats();
  if (final_stats.events_late > 0) {
    // Not an error, but never silent: these events did not reach the rules.
    std::cerr << fmt::format(
        "eql-run: {} events arrived more than the allowed lateness ({}) after later events and "
        "were dropped; raise --allowed-lateness or use --batch\n",
        final_stats.events_late, lateness_text);
  }
  for (const std::string& line : final_stats.LimitReport()) {
    std::cerr << "eql-run: " << line << "\n";
  }
  if (stats) {
    const eql::EngineStats& s = final_stats;
    std::string sources_json;
    for (const auto& c : s.sources) {
      if (!sources_json.empty()) sources_json += ",";
      sources_json += fmt::format(
          "{}:{{\"records\":{},\"normalized\":{},\"passed_through\":{},\"unrecognized\":{}}}",
          JsonString(c.source), c.records, c.normalized, c.passed_through, c.unrecognized);
    }
    std::string rules_json;
    for (size_t i = 0; i < engine.rules().size(); ++i) {
      if (!rules_json.empty()) rules_json += ",";
      const auto& r = s.rules[i];
      rules_json += fmt::format(
          "{{\"name\":{},\"alerts\":{},\"partials_live\":{},\"partials_expired\":{},"
          "\"partials_evicted\":{}}}",
          JsonString(engine.rules()[i].name), r.alerts, r.partials_live, r.partials_expired,
          r.partials_evicted);
    }
    std::cerr << fmt::format(
        "{{\"events_read\":{},\"events_malformed\":{},\"events_no_timestamp\":{},"
        "\"events_late\":{},\"events_processed\":{},\"alerts\":{},\"partials_live\":{},"
        "\"partials_expired\":{},\"partials_evicted\":{},\"limits\":{{\"events_too_deep\":{},"
        "\"events_too_many_values\":{},\"events_time_out_of_range\":{},\"strings_truncated\":{},"
        "\"join_keys_over_limit\":{},\"partials_evicted_total_cap\":{}}},"
        "\"answer_cache\":{{\"found\":{},\"added\":{},\"first_seen\":{},\"skipped\":{}}},"
        "\"verdicts_kept\":{},\"seconds\":{:.3f},"
        "\"events_per_second\":{:.0f},\"peak_memory_kb\":{},\"state\":{{\"restored\":{},"
        "\"saved_bytes\":{}}},\"interrupted_by\":{},\"sources\":{{{}}},\"rules\":[{}]}}\n",
        events_read, malformed + late_malformed, s.events_no_timestamp, s.events_late,
        s.events_processed, s.alerts, s.partials_live, s.partials_expired, s.partials_evicted,
        s.events_too_deep, s.events_too_many_values, s.events_time_out_of_range,
        s.strings_truncated, s.join_keys_over_limit, s.partials_evicted_total_cap,
        s.answer_cache.found, s.answer_cache.added, s.answer_cache.first_seen,
        s.answer_cache.skipped, s.verdicts_kept, seconds, seconds > 0 ? events_read / seconds : 0.0,
        PeakRssKb(), restored, state_bytes,
        stop_signal == 0        ? "null"
        : stop_signal == SIGINT ? "\"SIGINT\""
                                : "\"SIGTERM\"",
        sources_json, rules_json);
  }
  if (exit_code == kExitOk && bad_rules) exit_code = kExitBadInput;
  // A stopped run says so to its caller, as shells expect: 128 + signal.
  if (exit_code == kExitOk && stop_signal != 0) exit_code = 128 + stop_signal;
  return exit_code;
}
