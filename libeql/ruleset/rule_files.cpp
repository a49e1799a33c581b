// libeql/ruleset/rule_files.cpp
//
// Reading rules from .eql, .toml, .jsonl files and folders (eql/rules.hpp).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "eql/rules.hpp"
#include "simdjson.h"
#include "toml++/toml.h"

namespace eql {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading ", path.string()));
  return text.str();
}

bool IsRuleFile(const fs::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".eql" || ext == ".toml" || ext == ".jsonl" || ext == ".ndjson";
}

absl::Status LoadEql(const fs::path& path, std::vector<Rule>& rules) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  Rule rule;
  rule.query = std::move(*text);
  rule.name = path.stem().string();
  rule.origin = path.string();
  rules.push_back(std::move(rule));
  return absl::OkStatus();
}

absl::Status LoadToml(const fs::path& path, std::vector<Rule>& rules, RuleFileErrors* errors) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  // Debian's toml++ is built with exceptions: a parse error is thrown, and
  // caught here so that it becomes a status like every other error.
  toml::table doc;
  try {
    doc = toml::parse(*text, path.string());
  } catch (const toml::parse_error& err) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), ":", err.source().begin.line, ":",
                                                   err.source().begin.column, ": ",
                                                   std::string(err.description())));
  }
  // detection-rules keeps the rule in a [rule] table; accept a bare file too.
  const toml::table* table = doc["rule"].as_table();
  if (table == nullptr) table = &doc;
  auto query = (*table)["query"].value<std::string>();
  if (!query) {
    if (errors) errors->push_back(absl::StrCat(path.string(), ": no query in the rule"));
    return absl::OkStatus();
  }
  Rule rule;
  rule.query = *query;
  rule.name = (*table)["name"].value_or(path.stem().string());
  rule.rule_id = (*table)["rule_id"].value_or(std::string());
  rule.severity = (*table)["severity"].value_or(std::string());
  if (auto score = (*table)["risk_score"].value<double>()) rule.risk_score = *score;
  rule.origin = path.string();
  rules.push_back(std::move(rule));
  return absl::OkStatus();
}

absl::Status LoadJsonl(const fs::path& path, std::vector<Rule>& rules, RuleFileErrors* errors) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  simdjson::dom::parser parser;
  std::istringstream lines(*text);
  std::string line;
  size_t line_number = 0;
  while (std::getline(lines, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = absl::StrCat(path.string(), ":", line_number);
    simdjson::dom::element object;
    if (auto error = parser.parse(line).get(object)) {
      if (errors) errors->push_back(absl::StrCat(where, ": ", simdjson::error_message(error)));
      continue;
    }
    std::string_view query;
    if (object["query"].get(query) != simdjson::SUCCESS) {
      if (errors) errors->push_back(absl::StrCat(where, ": no \"query\" string"));
      continue;
    }
    Rule rule;
    rule.query = std::string(query);
    std::string_view value;
    if (object["name"].get(value) == simdjson::SUCCESS) rule.name = std::string(value);
    if (object["rule_id"].get(value) == simdjson::SUCCESS) rule.rule_id = std::string(value);
    if (object["severity"].get(value) == simdjson::SUCCESS) rule.severity = std::string(value);
    double score = 0;
    if (object["risk_score"].get(score) == simdjson::SUCCESS) {
      rule.risk_score = score;
    } else {
      int64_t int_score = 0;
      if (object["risk_score"].get(int_score) == simdjson::SUCCESS) rule.risk_score = int_score;
    }
    if (rule.name.empty()) rule.name = where;
    rule.origin = where;
    rules.push_back(std::move(rule));
  }
  return absl::OkStatus();
}

absl::Status LoadFile(const fs::path& path, std::vector<Rule>& rules, RuleFileErrors* errors) {
  const std::string ext = path.extension().string();
  if (ext == ".eql") return LoadEql(path, rules);
  if (ext == ".toml") return LoadToml(path, rules, errors);
  if (ext == ".jsonl" || ext == ".ndjson") return LoadJsonl(path, rules, errors);
  return absl::InvalidArgumentError(absl::StrCat(
      path.string(), ": unknown rule file kind (expected .eql, .toml, .jsonl or a folder)"));
}

}  // namespace

absl::StatusOr<std::vector<Rule>> LoadRules(const std::string& path_text, RuleFileErrors* errors) {
  const fs::path path(path_text);
  std::error_code ec;
  std::vector<Rule> rules;
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(path, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const fs::path& entry = it->path();
      if (entry.filename().string().starts_with(".")) {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file() && IsRuleFile(entry)) files.push_back(entry);
    }
    if (ec) return absl::NotFoundError(absl::StrCat("cannot list ", path_text, ": ", ec.message()));
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      absl::Status status = LoadFile(file, rules, errors);
      if (!status.ok()) {
        // One unreadable file in a folder does not stop the others.
        if (errors) errors->push_back(std::string(status.message()));
      }
    }
    return rules;
  }
  if (!fs::exists(path, ec)) return absl::NotFoundError(absl::StrCat("no such file: ", path_text));
  absl::Status status = LoadFile(path, rules, errors);
  if (!status.ok()) return status;
  return rules;
}

}  // namespace eql
