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
// be read or is of an unknown kind; entries that are themselves broken are
// skipped and described in `errors` (when given).
absl::StatusOr<std::vector<Rule>> LoadRules(const std::string& path,
                                            RuleFileErrors* errors = nullptr);

}  // namespace eql
