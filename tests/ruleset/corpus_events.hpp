// tests/ruleset/corpus_events.hpp
//
// Events made from rules themselves, so that rules fire and the anchored
// dispatch paths are exercised: for every rule unit, events carrying the
// literal values its condition requires (as written, folded to lowercase,
// and in capitals; around the fixed start or end of a wildcard pattern), in
// the unit's category, with shared join-key values so that sequences can
// complete.
#pragma once

#include <cctype>
#include <string>
#include <vector>

#include "analysis/compile.hpp"
#include "eql/engine.hpp"
#include "eql/event.hpp"
#include "ruleset/dispatch.hpp"
#include "syntax/parse.hpp"

namespace eql::testing_support {

inline std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
inline std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

inline void Collect(const ast::EventQuery& eq, const std::string& query, std::vector<Event>& out,
                    int64_t& clock, const std::string& host) {
  io::FieldRegistry fields;
  auto compiled = analysis::CompileEventQuery(eq, fields, {}, query);
  if (!compiled.ok()) return;
  auto constraints = ruleset::RequiredLiterals(*compiled.value->where.program);
  const std::string lowered = Lower(query);
  for (int variant = 0; variant < 3; ++variant) {
    Event e;
    e.Set("@timestamp", ++clock);
    if (!compiled.value->is_any) e.Set("event.category", compiled.value->category);
    for (const char* join : {"host.id", "process.entity_id", "process.parent.entity_id",
                             "user.name", "agent.id", "source.ip", "destination.ip", "host.name"}) {
      e.Set(join, "shared");
    }
    e.Set("host.id", host);
    for (const auto& c : constraints) {
      const ruleset::LiteralKey& key = c.keys[variant % c.keys.size()];
      std::string value = key.text;
      if (variant == 0) {
        // As written in the query (folding is ASCII lowercase for these).
        size_t at = lowered.find(value);
        if (at != std::string::npos) value = query.substr(at, value.size());
      } else if (variant == 2) {
        value = Upper(value);
      }
      if (key.kind == ruleset::LiteralKey::Kind::kPrefix) value += "-x";
      if (key.kind == ruleset::LiteralKey::Kind::kSuffix) value = "x-" + value;
      e.Set(fields.Name(c.field), value);
    }
    out.push_back(std::move(e));
  }
}

//! `hosts`: the events of rule i are on host "host-<i % hosts>".
inline std::vector<Event> EventsFromRuleLiterals(const std::vector<Rule>& rules, size_t hosts = 1,
                                                 int64_t start_ms = 1'700'000'000'000) {
  std::vector<Event> events;
  int64_t clock = start_ms;
  for (size_t i = 0; i < rules.size(); ++i) {
    const Rule& rule = rules[i];
    const std::string host = "host-" + std::to_string(i % hosts);
    syntax::ParseOutcome parsed = syntax::Parse(rule.query);
    if (!parsed.ok()) continue;
    const ast::Query& q = *parsed.query;
    switch (q.kind) {
      case ast::QueryKind::kEvent:
        Collect(q.event, rule.query, events, clock, host);
        break;
      case ast::QueryKind::kSequence:
        for (const auto& stage : q.sequence.stages) Collect(stage.query, rule.query, events, clock, host);
        break;
      case ast::QueryKind::kSample:
        for (const auto& stage : q.sample.stages) Collect(stage.query, rule.query, events, clock, host);
        break;
    }
  }
  return events;
}

}  // namespace eql::testing_support
