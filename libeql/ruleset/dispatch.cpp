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

void AddDistinct(std::vector<LiteralKey>& keys, LiteralKey key) {
  if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
}

// The key of one wildcard pattern: its value when it has no wildcards, else
// its fixed start, else its fixed end, if long enough to index.
std::optional<LiteralKey> PatternKey(const std::string& folded) {
  const size_t first = folded.find_first_of("*?");
  if (first == std::string::npos) return LiteralKey{LiteralKey::Kind::kExact, folded};
  if (first >= kAffixBytes) return LiteralKey{LiteralKey::Kind::kPrefix, folded.substr(0, first)};
  const size_t last = folded.find_last_of("*?");
  if (folded.size() - last - 1 >= kAffixBytes) {
    return LiteralKey{LiteralKey::Kind::kSuffix, folded.substr(last + 1)};
  }
  return std::nullopt;
}

// The constraint of one leaf, if it is a positive equality with string
// constants, or a positive wildcard match, on a field.
std::optional<LiteralConstraint> KeyConstraint(const Program& p, const Node& n);

// A positive test on a field: its keys if it has some, else the field's
// presence.
std::optional<LiteralConstraint> LeafConstraint(const Program& p, const Node& n) {
  if (n.negate) return std::nullopt;
  if (auto keyed = KeyConstraint(p, n)) return keyed;
  bool needs_value = false;
  switch (n.op) {
    case Op::kFieldCompare: {
      const auto op = static_cast<ast::CompareOp>(n.sub);
      needs_value = op != ast::CompareOp::kNe && !p.consts[n.b].is_null();
      break;
    }
    case Op::kFieldMatch:
    case Op::kFieldIn:
    case Op::kFieldNotNull:
      needs_value = true;
      break;
    default:
      break;
  }
  if (!needs_value) return std::nullopt;
  LiteralConstraint c;
  c.field = n.a;
  c.keys.push_back({LiteralKey::Kind::kPresent, {}});
  return c;
}

std::optional<LiteralConstraint> KeyConstraint(const Program& p, const Node& n) {
  LiteralConstraint c;
  c.field = n.a;
  switch (n.op) {
    case Op::kFieldCompare: {
      const analysis::Scalar& k = p.consts[n.b];
      if (n.date || static_cast<ast::CompareOp>(n.sub) != ast::CompareOp::kEq ||
          k.type != analysis::Scalar::Type::kString) {
        return std::nullopt;
      }
      c.keys.push_back({LiteralKey::Kind::kExact, analysis::FoldCase(k.s)});
      return c;
    }
    case Op::kFieldIn: {
      const analysis::InSet& set = p.in_sets[n.b];
      if (!set.numbers.empty() || set.has_true || set.has_false || set.strings.empty()) {
        return std::nullopt;
      }
      std::vector<std::string> sorted(set.strings.begin(), set.strings.end());
      std::sort(sorted.begin(), sorted.end());  // a stable order for tests
      for (const std::string& s : sorted) {
        AddDistinct(c.keys, {LiteralKey::Kind::kExact, analysis::FoldCase(s)});
      }
      return c;
    }
    case Op::kFieldMatch: {
      const analysis::MatchSet& set = p.match_sets[n.b];
      if (set.regex || set.wildcards.empty()) return std::nullopt;
      for (const analysis::WildcardPattern& w : set.wildcards) {
        std::optional<LiteralKey> key = PatternKey(analysis::FoldCase(w.text()));
        if (!key) return std::nullopt;
        AddDistinct(c.keys, std::move(*key));
      }
      return c;
    }
    default:
      return std::nullopt;
  }
}

// How selective a constraint is (lower is better): exact keys single out
// one value, a 3-byte affix many (".exe" ends most Windows paths: three
// exact names are worth less than one such end).
uint64_t Weight(const LiteralConstraint& c) {
  uint64_t w = 0;
  for (const LiteralKey& k : c.keys) {
    if (k.kind == LiteralKey::Kind::kPresent) return 100;  // a field, not a value
    w += k.kind == LiteralKey::Kind::kExact ? 2 : 6;
  }
  return w;
}

bool IsPresence(const LiteralConstraint& c) {
  return c.keys.size() == 1 && c.keys[0].kind == LiteralKey::Kind::kPresent;
}

// How much an anchor on `field` is worth avoiding: fields whose few values
// most events share save little (every Linux event has host.os.type
// "linux", every process start event.action "exec" or "start").
uint64_t Penalty(std::string_view field) {
  static constexpr std::array<std::string_view, 9> kShared = {
      "event.type",     "event.kind",       "event.outcome", "event.category", "host.os.type",
      "host.os.family", "host.os.platform", "host.os.name",  "agent.type"};
  static constexpr std::array<std::string_view, 6> kCommon = {
      "event.action",      "event.module",      "network.direction",
      "network.transport", "network.protocol",  "event.provider"};
  if (std::find(kShared.begin(), kShared.end(), field) != kShared.end()) return 1'000'000;
  if (std::find(kCommon.begin(), kCommon.end(), field) != kCommon.end()) return 1'000;
  return 0;
}

// Fields (nearly) every event has: their presence selects nothing.
bool NearlyAlwaysPresent(std::string_view field) {
  static constexpr std::array<std::string_view, 8> kPrefixes = {
      "event.", "host.", "agent.", "@timestamp", "ecs.", "data_stream.", "user.", "process.parent."};
  for (std::string_view p : kPrefixes) {
    if (field.substr(0, p.size()) == p) return true;
  }
  static constexpr std::array<std::string_view, 10> kFields = {
      "process.name", "process.executable", "process.pid", "process.entity_id",
      "process.args", "process.command_line", "process.args_count", "file.path", "file.name",
      "message"};
  return std::find(kFields.begin(), kFields.end(), field) != kFields.end();
}

// At most this many alternatives in one constraint: beyond, an event would
// make that many lookups for one unit.
constexpr size_t kMaxAlternatives = 16;

// The union of two constraints on one field, for `or`.
void Unite(LiteralConstraint& into, const LiteralConstraint& other) {
  if (IsPresence(into)) return;
  if (IsPresence(other)) {
    into.keys = other.keys;
    return;
  }
  for (const LiteralKey& k : other.keys) AddDistinct(into.keys, k);
}

// One side's constraint or the other's holds: every alternative of either,
// those on one field united (`a == "x" or (a == "y" and b == "z")` needs a
// to be x or y); null when that makes more than kMaxAlternatives.
std::optional<LiteralConstraint> Either(const LiteralConstraint& left,
                                        const LiteralConstraint& right) {
  std::vector<LiteralConstraint> alternatives;
  auto add_one = [&](const LiteralConstraint& alt) {
    auto same = std::find_if(alternatives.begin(), alternatives.end(),
                             [&](const LiteralConstraint& a) { return a.field == alt.field; });
    if (same == alternatives.end()) {
      alternatives.push_back({.field = alt.field, .keys = alt.keys, .or_else = {}});
    } else {
      Unite(*same, alt);
    }
  };
  for (const LiteralConstraint* side : {&left, &right}) {
    add_one(*side);
    for (const LiteralConstraint& alt : side->or_else) add_one(alt);
  }
  if (alternatives.size() > kMaxAlternatives) return std::nullopt;
  LiteralConstraint out = std::move(alternatives.front());
  out.or_else.assign(std::make_move_iterator(alternatives.begin() + 1),
                     std::make_move_iterator(alternatives.end()));
  return out;
}

}  // namespace

std::optional<uint64_t> AnchorCost::operator()(const LiteralConstraint& c) const {
  auto one = [&](const LiteralConstraint& alt) -> std::optional<uint64_t> {
    if (fields == nullptr) return Weight(alt);
    const std::string& name = fields->Name(alt.field);
    if (IsPresence(alt) && NearlyAlwaysPresent(name)) return std::nullopt;
    return Weight(alt) + Penalty(name);
  };
  std::optional<uint64_t> total = one(c);
  for (const LiteralConstraint& alt : c.or_else) {
    std::optional<uint64_t> more = one(alt);
    total = total && more ? std::optional<uint64_t>(*total + *more) : std::nullopt;
  }
  return total;
}

namespace {

std::vector<LiteralConstraint> Required(const Program& p, uint32_t index, int depth,
                                        const AnchorCost& cost) {
  // Deep trees are rare and their anchors not worth the recursion.
  if (depth > 64) return {};
  const Node& n = p.nodes[index];
  switch (n.op) {
    case Op::kAnd: {
      // Both sides must hold: every constraint of either side holds; for a
      // field constrained alone on both sides keep the more selective one
      // (either is a necessary condition).
      std::vector<LiteralConstraint> out = Required(p, n.a, depth + 1, cost);
      for (LiteralConstraint& c : Required(p, n.b, depth + 1, cost)) {
        auto same = std::find_if(out.begin(), out.end(), [&](const LiteralConstraint& o) {
          return o.field == c.field && o.or_else.empty();
        });
        if (same == out.end() || !c.or_else.empty()) {
          out.push_back(std::move(c));
        } else if (Weight(c) < Weight(*same)) {
          *same = std::move(c);
        }
      }
      return out;
    }
    case Op::kOr: {
      // One side holds: a field constrained alone on both sides is
      // constrained to the union of the keys.
      std::vector<LiteralConstraint> left = Required(p, n.a, depth + 1, cost);
      if (left.empty()) return {};
      std::vector<LiteralConstraint> right = Required(p, n.b, depth + 1, cost);
      if (right.empty()) return {};
      std::vector<LiteralConstraint> out;
      std::optional<uint64_t> best_union;
      for (const LiteralConstraint& l : left) {
        if (!l.or_else.empty()) continue;
        for (const LiteralConstraint& r : right) {
          if (r.field != l.field || !r.or_else.empty()) continue;
          LiteralConstraint united = l;
          Unite(united, r);
          const std::optional<uint64_t> c = cost(united);
          if (c && (!best_union || *c < *best_union)) best_union = c;
          out.push_back(std::move(united));
          break;
        }
      }
      // And any constraint of one side or any of the other, the cheapest
      // such pair when it beats every union (`(a == "x" and c == "1") or
      // (b == "y" and c == "2")`: a or b may single out far fewer events
      // than c, which every event has).
      std::optional<LiteralConstraint> best;
      std::optional<uint64_t> best_cost;
      for (const LiteralConstraint& l : left) {
        for (const LiteralConstraint& r : right) {
          std::optional<LiteralConstraint> either = Either(l, r);
          if (!either) continue;
          const std::optional<uint64_t> c = cost(*either);
          if (c && (!best_cost || *c < *best_cost)) {
            best_cost = c;
            best = std::move(either);
          }
        }
      }
      if (best && (!best_union || *best_cost < *best_union)) out.push_back(std::move(*best));
      return out;
    }
    default: {
      auto leaf = LeafConstraint(p, n);
      if (!leaf) return {};
      return {std::move(*leaf)};
    }
  }
}

}  // namespace

std::vector<LiteralConstraint> RequiredLiterals(const Program& program,
                                                const io::FieldRegistry* fields) {
  if (program.nodes.empty()) return {};
  return Required(program, program.root, 0, AnchorCost{fields});
}

void Dispatcher::Add(uint32_t unit, bool any, const std::string& category,
                     const analysis::Program* where, const io::FieldRegistry& fields) {
  ++units_;
  if (marks_.size() < unit / 64 + 1) marks_.resize(unit / 64 + 1, 0);
  std::vector<LiteralConstraint> constraints;
  if (where != nullptr && use_anchors_) constraints = RequiredLiterals(*where, &fields);
  const AnchorCost cost{&fields};
  const LiteralConstraint* best = nullptr;
  uint64_t best_score = UINT64_MAX;
  for (const LiteralConstraint& c : constraints) {
    const std::optional<uint64_t> score = cost(c);  // none: it selects nothing
    if (score && *score < best_score) {
      best_score = *score;
      best = &c;
    }
  }
  if (best != nullptr) ++anchored_;
  if (any) {
    FileUnder(any_, unit, best);
    for (auto& [name, table] : by_category_) FileUnder(table, unit, best);
    return;
  }
  auto [it, added] = by_category_.try_emplace(category);
  // A new category starts with the `any` units so far (all of them lower
  // than this one, so its lists stay in unit order).
  if (added) {
    it->second = any_;
    it->second.id = static_cast<uint32_t>(by_category_.size());
  }
  FileUnder(it->second, unit, best);
}

void Dispatcher::FileUnder(Table& table, uint32_t unit, const LiteralConstraint* best) {
  if (best == nullptr) {
    table.always.push_back(unit);
    return;
  }
  File(table, unit, *best);
  for (const LiteralConstraint& alt : best->or_else) File(table, unit, alt);
}

void Dispatcher::File(Table& table, uint32_t unit, const LiteralConstraint& constraint) {
  auto head =
      std::lower_bound(table.heads.begin(), table.heads.end(), constraint.field,
                       [](const AnchorHead& h, io::FieldId field) { return h.field < field; });
  const size_t index = static_cast<size_t>(head - table.heads.begin());
  if (head == table.heads.end() || head->field != constraint.field) {
    table.heads.insert(head, AnchorHead{.field = constraint.field});
    table.anchors.insert(table.anchors.begin() + static_cast<ptrdiff_t>(index), Anchor{});
  }
  AnchorHead& h = table.heads[index];
  Anchor& anchor = table.anchors[index];
  if (anchor.all.empty() || anchor.all.back() != unit) anchor.all.push_back(unit);
  for (const LiteralKey& k : constraint.keys) {
    switch (k.kind) {
      case LiteralKey::Kind::kExact:
        anchor.exact[k.text].push_back(unit);
        h.exact_lengths |= LengthBit(k.text.size());
        h.flags |= kHasExact;
        break;
      case LiteralKey::Kind::kPrefix:
        anchor.prefix[AffixKey(k.text.data())].push_back(unit);
        h.flags |= kHasPrefix;
        break;
      case LiteralKey::Kind::kSuffix:
        anchor.suffix[AffixKey(k.text.data() + k.text.size() - kAffixBytes)].push_back(unit);
        h.flags |= kHasSuffix;
        break;
      case LiteralKey::Kind::kPresent:
        anchor.present.push_back(unit);
        h.flags |= kHasPresent;
        break;
    }
  }
  h.flags = static_cast<uint8_t>(h.flags & ~kOnlyPresent);
  if (anchor.present.size() == anchor.all.size()) h.flags |= kOnlyPresent;
}

void Dispatcher::Collect(const Table& table, const io::Record& record) const {
  Mark(table.always);
  char stack_buffer[256];
  std::string heap_buffer;
  for (size_t a = 0; a < table.heads.size(); ++a) {
    const AnchorHead& head = table.heads[a];
    const io::Record::Values values = record.Get(head.field);
    if (values.empty()) continue;  // most anchors' fields, for most events
    const Anchor& anchor = table.anchors[a];
    if ((head.flags & kHasPresent) != 0) {
      for (io::Scalar v : values) {
        if (v.is_null()) continue;
        Mark(anchor.present);
        break;
      }
    }
    if ((head.flags & kOnlyPresent) != 0) continue;
    for (io::Scalar v : values) {
      if (v.type != io::Scalar::Type::kString) {
        if (v.is_null()) continue;
        // A number or boolean may equal a string constant by its text:
        // leave the decision to the evaluator.
        Mark(anchor.all);
        break;
      }
      auto add = [&](const absl::flat_hash_map<std::string, std::vector<uint32_t>>& map,
                     std::string_view key) {
        auto it = map.find(absl::string_view(key.data(), key.size()));
        if (it != map.end()) Mark(it->second);
      };
      auto add_affix = [&](const absl::flat_hash_map<uint32_t, std::vector<uint32_t>>& map,
                           const char* key) {
        auto it = map.find(AffixKey(key));
        if (it != map.end()) Mark(it->second);
      };
      // The value folded whole, in the stack buffer (or the heap one).
      auto fold_whole = [&](bool ascii) -> std::string_view {
        char* buffer = stack_buffer;
        if (v.s.size() > sizeof(stack_buffer)) {
          heap_buffer.resize(v.s.size());
          buffer = heap_buffer.data();
        }
        if (!ascii) return {buffer, analysis::FoldCaseInto(v.s, buffer)};
        analysis::FoldAsciiInto(v.s, buffer);
        return {buffer, v.s.size()};
      };
      if (analysis::IsAscii(v.s)) {
        // Folding ASCII keeps every byte in place: fold only what is looked
        // up, and an exact key of another length cannot match.
        const size_t length = v.s.size();
        if ((head.exact_lengths & LengthBit(length)) != 0) add(anchor.exact, fold_whole(true));
        if (length >= kAffixBytes) {
          char affix[kAffixBytes];
          if ((head.flags & kHasPrefix) != 0) {
            analysis::FoldAsciiInto(v.s.substr(0, kAffixBytes), affix);
            add_affix(anchor.prefix, affix);
          }
          if ((head.flags & kHasSuffix) != 0) {
            analysis::FoldAsciiInto(v.s.substr(length - kAffixBytes), affix);
            add_affix(anchor.suffix, affix);
          }
        }
        continue;
      }
      const std::string_view folded = fold_whole(false);
      if ((head.flags & kHasExact) != 0) add(anchor.exact, folded);
      if (folded.size() >= kAffixBytes) {
        if ((head.flags & kHasPrefix) != 0) add_affix(anchor.prefix, folded.data());
        if ((head.flags & kHasSuffix) != 0) {
          add_affix(anchor.suffix, folded.data() + folded.size() - kAffixBytes);
        }
      }
    }
  }
}

uint32_t Dispatcher::MarkCandidates(const io::Record& record, io::FieldId category_field) const {
  // Every category table holds the `any` units too: `any_` is visited only
  // when no category of the event has a table.
  uint32_t visited = 0;
  uint32_t table = 0;
  for (io::Scalar c : record.Get(category_field)) {
    if (c.type != io::Scalar::Type::kString) continue;
    auto it = by_category_.find(absl::string_view(c.s.data(), c.s.size()));
    if (it == by_category_.end()) continue;
    Collect(it->second, record);
    table = it->second.id;
    ++visited;
  }
  if (visited == 0) Collect(any_, record);
  return visited > 1 ? static_cast<uint32_t>(table_count()) : table;
}

void Dispatcher::TakeCandidates(std::vector<uint32_t>& out, const uint64_t* ruled_out) const {
  out.clear();
  if (ruled_out != nullptr) {
    for (size_t w = 0; w < marks_.size(); ++w) marks_[w] &= ~ruled_out[w];
  }
  for (size_t w = 0; w < marks_.size(); ++w) {
    for (uint64_t bits = marks_[w]; bits != 0; bits &= bits - 1) {
      out.push_back(static_cast<uint32_t>(w * 64 + static_cast<size_t>(__builtin_ctzll(bits))));
    }
    marks_[w] = 0;
  }
}

Dispatcher::Summary Dispatcher::summary() const {
  Summary s;
  s.units = units_;
  s.anchored = anchored_;
  s.anchor_fields = any_.heads.size();
  for (const auto& [category, table] : by_category_) s.anchor_fields += table.heads.size();
  return s;
}

}  // namespace eql::ruleset
