// libeql/ruleset/dispatch.cpp
#include "ruleset/dispatch.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "analysis/semantics.hpp"
#include "analysis/text.hpp"

namespace eql::ruleset {
namespace {

using analysis::Node;
using analysis::Op;
using analysis::Program;

void AddDistinct(std::vector<std::string>& values, std::string v) {
  if (std::find(values.begin(), values.end(), v) == values.end()) values.push_back(std::move(v));
}

// The constraint of one leaf, if it is a positive equality with string
// constants on a field.
std::optional<LiteralConstraint> LeafConstraint(const Program& p, const Node& n) {
  if (n.negate) return std::nullopt;
  LiteralConstraint c;
  c.field = n.a;
  switch (n.op) {
    case Op::kFieldCompare: {
      const analysis::Scalar& k = p.consts[n.b];
      if (n.date || static_cast<ast::CompareOp>(n.sub) != ast::CompareOp::kEq ||
          k.type != analysis::Scalar::Type::kString) {
        return std::nullopt;
      }
      c.folded_values.push_back(analysis::FoldCase(k.s));
      return c;
    }
    case Op::kFieldIn: {
      const analysis::InSet& set = p.in_sets[n.b];
      if (!set.numbers.empty() || set.has_true || set.has_false || set.strings.empty()) {
        return std::nullopt;
      }
      for (const std::string& s : set.strings) AddDistinct(c.folded_values, analysis::FoldCase(s));
      std::sort(c.folded_values.begin(), c.folded_values.end());
      return c;
    }
    case Op::kFieldMatch: {
      const analysis::MatchSet& set = p.match_sets[n.b];
      if (set.regex || set.wildcards.empty()) return std::nullopt;
      for (const analysis::WildcardPattern& w : set.wildcards) {
        // Only a pattern without wildcards is an equality.
        if (w.text().find_first_of("*?") != std::string::npos) return std::nullopt;
        AddDistinct(c.folded_values, analysis::FoldCase(w.text()));
      }
      return c;
    }
    default:
      return std::nullopt;
  }
}

std::vector<LiteralConstraint> Required(const Program& p, uint32_t index, int depth) {
  // Deep trees are rare and their anchors not worth the recursion.
  if (depth > 64) return {};
  const Node& n = p.nodes[index];
  switch (n.op) {
    case Op::kAnd: {
      // Both sides must hold: every constraint of either side holds; for a
      // field constrained on both sides keep the smaller set (either is a
      // necessary condition).
      std::vector<LiteralConstraint> out = Required(p, n.a, depth + 1);
      for (LiteralConstraint& c : Required(p, n.b, depth + 1)) {
        auto same = std::find_if(out.begin(), out.end(),
                                 [&](const LiteralConstraint& o) { return o.field == c.field; });
        if (same == out.end()) {
          out.push_back(std::move(c));
        } else if (c.folded_values.size() < same->folded_values.size()) {
          *same = std::move(c);
        }
      }
      return out;
    }
    case Op::kOr: {
      // One side holds: only a field constrained on both sides is
      // constrained, to the union of the values.
      std::vector<LiteralConstraint> left = Required(p, n.a, depth + 1);
      if (left.empty()) return {};
      std::vector<LiteralConstraint> right = Required(p, n.b, depth + 1);
      std::vector<LiteralConstraint> out;
      for (LiteralConstraint& l : left) {
        for (const LiteralConstraint& r : right) {
          if (r.field != l.field) continue;
          for (const std::string& v : r.folded_values) AddDistinct(l.folded_values, v);
          out.push_back(std::move(l));
          break;
        }
      }
      return out;
    }
    default: {
      auto leaf = LeafConstraint(p, n);
      if (!leaf) return {};
      return {std::move(*leaf)};
    }
  }
}

// How much an anchor on `field` is worth avoiding: fields whose few values
// most events share save little (every Linux event has host.os.type
// "linux", every process start event.action "exec" or "start").
uint64_t Penalty(std::string_view field) {
  static constexpr std::array<std::string_view, 11> kShared = {
      "event.type",   "event.kind",         "event.outcome",  "event.category",
      "host.os.type", "host.os.family",     "host.os.platform", "host.os.name",
      "event.module", "data_stream.dataset", "agent.type"};
  static constexpr std::array<std::string_view, 7> kCommon = {
      "event.action",      "event.code",        "event.provider",  "event.dataset",
      "network.direction", "network.transport", "network.protocol"};
  if (std::find(kShared.begin(), kShared.end(), field) != kShared.end()) return 1'000'000;
  if (std::find(kCommon.begin(), kCommon.end(), field) != kCommon.end()) return 1'000;
  return 0;
}

}  // namespace

std::vector<LiteralConstraint> RequiredLiterals(const Program& program) {
  if (program.nodes.empty()) return {};
  return Required(program, program.root, 0);
}

void Dispatcher::Add(uint32_t unit, bool any, const std::string& category,
                     const analysis::Program* where, const io::FieldRegistry& fields) {
  Table& table = any ? any_ : by_category_[category];
  ++units_;
  std::vector<LiteralConstraint> constraints;
  if (where != nullptr && use_anchors_) constraints = RequiredLiterals(*where);
  const LiteralConstraint* best = nullptr;
  uint64_t best_score = UINT64_MAX;
  for (const LiteralConstraint& c : constraints) {
    uint64_t score = c.folded_values.size() + Penalty(fields.Name(c.field));
    if (score < best_score) {
      best_score = score;
      best = &c;
    }
  }
  if (best == nullptr) {
    table.always.push_back(unit);
    return;
  }
  ++anchored_;
  auto anchor = std::find_if(table.anchors.begin(), table.anchors.end(),
                             [&](const Anchor& a) { return a.field == best->field; });
  if (anchor == table.anchors.end()) {
    table.anchors.push_back({});
    anchor = table.anchors.end() - 1;
    anchor->field = best->field;
  }
  anchor->all.push_back(unit);
  for (const std::string& v : best->folded_values) anchor->by_value[v].push_back(unit);
}

void Dispatcher::Collect(const Table& table, const io::Record& record,
                         std::vector<uint32_t>& out) const {
  out.insert(out.end(), table.always.begin(), table.always.end());
  char stack_buffer[256];
  std::string heap_buffer;
  for (const Anchor& anchor : table.anchors) {
    for (io::Scalar v : record.Get(anchor.field)) {
      if (v.type != io::Scalar::Type::kString) {
        if (v.is_null()) continue;
        // A number or boolean may equal a string constant by its text:
        // leave the decision to the evaluator.
        out.insert(out.end(), anchor.all.begin(), anchor.all.end());
        break;
      }
      char* buffer = stack_buffer;
      if (v.s.size() > sizeof(stack_buffer)) {
        heap_buffer.resize(v.s.size());
        buffer = heap_buffer.data();
      }
      size_t length = analysis::FoldCaseInto(v.s, buffer);
      auto it = anchor.by_value.find(absl::string_view(buffer, length));
      if (it != anchor.by_value.end()) out.insert(out.end(), it->second.begin(), it->second.end());
    }
  }
}

void Dispatcher::Candidates(const io::Record& record, io::FieldId category_field,
                            std::vector<uint32_t>& out) const {
  out.clear();
  for (io::Scalar c : record.Get(category_field)) {
    if (c.type != io::Scalar::Type::kString) continue;
    auto it = by_category_.find(absl::string_view(c.s.data(), c.s.size()));
    if (it != by_category_.end()) Collect(it->second, record, out);
  }
  Collect(any_, record, out);
  if (out.size() > 1) {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
}

Dispatcher::Summary Dispatcher::summary() const {
  Summary s;
  s.units = units_;
  s.anchored = anchored_;
  s.anchor_fields = any_.anchors.size();
  for (const auto& [category, table] : by_category_) s.anchor_fields += table.anchors.size();
  return s;
}

}  // namespace eql::ruleset
