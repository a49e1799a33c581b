// examples/sensor/main.cpp
//
// A minimal sensor embedding libeql: it loads the seed rules, builds events
// with the C++ API (eql::Event, no JSON text), pushes them through the
// engine, prints every alert it is given through the callback, checkpoints
// its state to a file and restarts from it midway (as after a sensor
// restart), and ends with the engine's counters. docs/embedding.md walks
// through it.
//
//   eql-sensor [RULES]      RULES: a rule file or folder (default examples/rules)
//
// Exit codes: 0 ran, 1 the rules could not be read or the engine not created.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eql/diagnostic.hpp"
#include "eql/engine.hpp"
#include "eql/event.hpp"
#include "eql/rules.hpp"

namespace {

using Value = eql::Event::Value;

// 2026-11-02T09:00:00Z in epoch milliseconds: the time the sensor's events
// are stamped from.
constexpr int64_t kStart = 1793610000000;

// A process-start event as an ECS sensor would report it.
eql::Event ProcessStart(int64_t at_ms, std::string_view host, std::string_view os,
                        std::string_view entity_id, std::string_view name,
                        std::vector<Value> args, std::string_view parent_entity_id,
                        std::string_view parent_name) {
  std::string command_line;
  for (const Value& a : args) command_line += (command_line.empty() ? "" : " ") + a.text;
  eql::Event e;
  e.Set("@timestamp", kStart + at_ms)
      .Set("event.category", Value::Array({"process"}))
      .Set("event.type", Value::Array({"start"}))
      .Set("event.action", os == "linux" ? "exec" : "start")
      .Set("host.id", host)
      .Set("host.os.type", os)
      .Set("process.entity_id", entity_id)
      .Set("process.name", name)
      .Set("process.args", Value::Array(std::move(args)))
      .Set("process.command_line", command_line)
      .Set("process.parent.entity_id", parent_entity_id)
      .Set("process.parent.name", parent_name);
  return e;
}

// Writes the engine's state to `path` (a sensor would use its data folder);
// through a temporary file and a rename, so a crash leaves the old state.
absl::Status SaveState(eql::Engine& engine, const std::filesystem::path& path) {
  absl::StatusOr<std::string> snapshot = engine.Checkpoint();
  if (!snapshot.ok()) return snapshot.status();
  const std::filesystem::path temporary = path.string() + ".tmp";
  std::ofstream(temporary, std::ios::binary) << *snapshot;
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) return absl::InternalError(error.message());
  return absl::OkStatus();
}

absl::Status LoadState(eql::Engine& engine, const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string snapshot((std::istreambuf_iterator<char>(in)), {});
  return engine.Restore(snapshot);
}

// The text of `path` in an alert event (its JSON text), or "?".
std::string FieldOf(const eql::AlertEvent& event, std::string_view path) {
  if (event.missing) return "(missing)";
  auto parsed = eql::Event::FromJson(event.json);
  if (!parsed.ok()) return "?";
  const Value* v = parsed->Find(path);
  return v != nullptr && v->kind == Value::Kind::kString ? v->text : "?";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string rules_path = argc > 1 ? argv[1] : "examples/rules";

  // 1. Rules. A broken entry of a rule file is skipped and described in
  //    `errors`; only an unreadable path fails the whole call.
  eql::RuleFileErrors errors;
  absl::StatusOr<std::vector<eql::Rule>> rules = eql::LoadRules(rules_path, &errors);
  if (!rules.ok()) {
    std::fprintf(stderr, "sensor: %s\n", std::string(rules.status().ToString()).c_str());
    return 1;
  }
  for (const std::string& e : errors) std::fprintf(stderr, "sensor: skipped %s\n", e.c_str());

  // 2. The engine. Create() fails only on invalid options; a rule that does
  //    not compile is listed in rejected_rules() and the others run.
  eql::EngineOptions options;
  options.allowed_lateness_ms = 2'000;  // wait up to 2 s for out-of-order events
  absl::StatusOr<std::unique_ptr<eql::Engine>> created = eql::Engine::Create(*rules, options);
  if (!created.ok()) {
    std::fprintf(stderr, "sensor: %s\n", std::string(created.status().ToString()).c_str());
    return 1;
  }
  std::unique_ptr<eql::Engine> engine_owner = std::move(*created);
  eql::Engine& engine = *engine_owner;
  std::printf("loaded %zu rules, %zu rejected\n", engine.rules().size(),
              engine.rejected_rules().size());
  for (const eql::RejectedRule& r : engine.rejected_rules()) {
    const eql::Rule& rule = engine.rules()[r.rule_index];
    for (const eql::Diagnostic& d : r.diagnostics) {
      std::fprintf(stderr, "%s", d.Format(rule.origin.empty() ? rule.name : rule.origin).c_str());
    }
  }

  // 3. Alerts arrive through the callback, on this thread, from inside
  //    Push() or Flush(). The Alert owns its events and keys; only
  //    `alert.rule` points into the engine (valid while the engine lives).
  std::vector<eql::Alert> kept;
  const auto on_alert = [&kept](const eql::Alert& alert) {
    std::string keys;
    for (const std::string& k : alert.join_keys) keys += (keys.empty() ? "" : ",") + k;
    std::string events;
    for (const eql::AlertEvent& e : alert.events) {
      events += (events.empty() ? "" : " ") + FieldOf(e, "process.entity_id");
    }
    std::printf("alert: %s%s -> %s\n", alert.rule->name.c_str(),
                alert.correlation ? (" by [" + keys + "]").c_str() : "", events.c_str());
    kept.push_back(alert);  // a copy outlives the callback
  };
  engine.SetAlertCallback(on_alert);

  // 4. Events. host-a runs `npm install`, whose install script starts a
  //    shell; its report arrives 500 ms late, after an unrelated event, and
  //    the reorder stage puts it back in place. On win-1, PowerShell starts
  //    node.exe with a preload module.
  std::vector<eql::Event> events;
  events.push_back(ProcessStart(0, "host-a", "linux", "a-100", "bash", {"bash"}, "a-1", "sshd"));
  events.push_back(ProcessStart(1'000, "host-a", "linux", "a-101", "node",
                                {"node", "/usr/bin/npm", "install"}, "a-100", "bash"));
  events.push_back(ProcessStart(5'000, "win-1", "windows", "w1-11", "node.exe",
                                {"node.exe", "-r", "C:\\ProgramData\\hook.js", "server.js"},
                                "w1-8", "powershell.exe"));
  events.push_back(ProcessStart(4'500, "host-a", "linux", "a-102", "sh",
                                {"sh", "-c", "node setup_bun.js"}, "a-101", "node"));
  events.push_back(ProcessStart(9'000, "host-b", "linux", "b-200", "node",
                                {"node", "/usr/bin/npm", "install"}, "b-1", "bash"));
  eql::Event no_time;  // an event without @timestamp: refused, counted
  no_time.Set("event.category", "process").Set("process.name", "node");
  events.push_back(no_time);

  // 5. A restart after the third event: the state (host-a's `npm install`
  //    waiting for its child, the events the reorder stage holds, the
  //    counters) is saved, the engine destroyed, and a new engine created
  //    from the same rules and options continues from the saved state. The
  //    alerts are those of an uninterrupted run.
  const std::filesystem::path state_path =
      std::filesystem::temp_directory_path() / "eql-sensor.state";
  eql::Engine* current = &engine;
  std::unique_ptr<eql::Engine> restarted;
  for (size_t i = 0; i < events.size(); ++i) {
    if (i == 3) {
      if (absl::Status s = SaveState(*current, state_path); !s.ok()) {
        std::fprintf(stderr, "sensor: cannot save state: %s\n", std::string(s.message()).c_str());
        return 1;
      }
      // The sensor stops. Alerts kept from the old engine keep their data;
      // their `rule` pointer dies with it (rule_index stays meaningful).
      engine_owner.reset();
      auto again = eql::Engine::Create(*rules, options);  // and starts again
      if (!again.ok()) return 1;
      restarted = std::move(*again);
      restarted->SetAlertCallback(on_alert);
      if (absl::Status s = LoadState(*restarted, state_path); !s.ok()) {
        std::fprintf(stderr, "sensor: cannot restore state: %s\n",
                     std::string(s.message()).c_str());
        return 1;
      }
      std::filesystem::remove(state_path);
      current = restarted.get();
      std::printf("restarted after %zu events from the saved state\n", i);
    }
    absl::Status status = current->Push(events[i]);
    if (!status.ok()) std::printf("event refused: %s\n", std::string(status.message()).c_str());
  }
  // End of input: releases what the reorder stage holds and decides what
  // waits for the end (tail, trailing missing events).
  current->Flush();

  // 6. Counters (those of before the restart included).
  const eql::EngineStats stats = current->stats();
  std::printf("events: %llu in, %llu processed, %llu without timestamp, %llu late\n",
              (unsigned long long)stats.events_in, (unsigned long long)stats.events_processed,
              (unsigned long long)stats.events_no_timestamp, (unsigned long long)stats.events_late);
  std::printf("alerts: %llu (%zu kept)\n", (unsigned long long)stats.alerts, kept.size());
  for (size_t i = 0; i < stats.rules.size(); ++i) {
    const eql::RuleStats& r = stats.rules[i];
    std::printf("  %-48s alerts=%llu partials: created=%llu live=%llu expired=%llu evicted=%llu\n",
                current->rules()[i].name.c_str(), (unsigned long long)r.alerts,
                (unsigned long long)r.partials_created, (unsigned long long)r.partials_live,
                (unsigned long long)r.partials_expired, (unsigned long long)r.partials_evicted);
  }
  return 0;
}
