// File: eql/rules.hpp
//
// Reading rule files: a `.eql` file (one query, `//` and `/* */` comments
// allowed; the rule is named after the file), a detection-rules `.toml` file
// (the `[rule]` table's name, rule_id, severity, risk_score and query), a
// `.jsonl` rule pack (one JSON object a line with `query` and optional
// `name`, `rule_id`, `severity`, `risk_score`), or a folder holding any of
// these (read in name order, not recursively into hidden folders).
//
// Example:
//   eql::RuleFileErrors errors;
//   auto rules = eql::LoadRules("examples/rules", &errors);
//   for (const auto& e : errors) std::cerr << e << "\n";
//   if (!rules.ok()) return rules.status();
//   auto engine = eql::Engine::Create(std::move(*rules));
//
// The rules are returned by value: query text and metadata (`name`,
// `rule_id`, `severity`, `risk_score`) copied out of the files, and `origin`
// set to where each came from (file, or file:line for a pack), for
// diagnostics. Whether a query compiles is not checked here; Engine::Create()
// does that. Safe to call from several threads at once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "eql/engine.hpp"

namespace eql {

//! Problems with single entries of a rule file ("pack.jsonl:12: no query"),
//! which are skipped while the rest load.
using RuleFileErrors = std::vector<std::string>;

// LoadRules()
//
// Reads the rules at `path` (file or folder). Fails only when the path cannot
// be read or is of an unknown kind: NotFound (no such path, a folder that
// cannot be listed), InvalidArgument (a single file of unknown kind, or one
// TOML file that does not parse), DataLoss (a read error). Entries that are
// themselves broken (a pack line without `query`, a bad file inside a folder)
// are skipped and described in `errors` (when given), one string each,
// appended.
absl::StatusOr<std::vector<Rule>> LoadRules(const std::string& path,
                                            RuleFileErrors* errors = nullptr);

}  // namespace eql
