// libeql/analysis/shared_leaves.cpp
#include "analysis/shared_leaves.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <cstring>

#include "analysis/program.hpp"

namespace eql::analysis {

namespace {

// Appends a length-prefixed text, so that no two lists share a key.
void AddText(std::string& key, std::string_view text) {
  key += std::to_string(text.size());
  key += ':';
  key += text;
}

void AddScalar(std::string& key, const Scalar& s) {
  switch (s.type) {
    case Scalar::Type::kNull:
      key += 'z';
      break;
    case Scalar::Type::kBool:
      key += s.b ? 't' : 'f';
      break;
    case Scalar::Type::kInt:
      key += 'i';
      key += std::to_string(s.i);
      break;
    case Scalar::Type::kDouble: {
      uint64_t bits;
      std::memcpy(&bits, &s.d, sizeof bits);
      key += 'd';
      key += std::to_string(bits);
      break;
    }
    case Scalar::Type::kString:
      key += 's';
      AddText(key, s.s);
      break;
  }
  key += ';';
}

// A list in its own order: the same list written in another order is
// another leaf (an answer computed twice, never a wrong one), and loading a
// thousand rules does not sort every list.
template <class List, class TextOf>
void AddList(std::string& key, const List& list, TextOf text_of) {
  key += std::to_string(list.size());
  key += '[';
  for (const auto& item : list) AddText(key, text_of(item));
  key += ']';
}

}  // namespace

bool SharedLeaves::Intern(const Program& program, const Node& n, uint32_t& id) {
  // The key spells out everything the leaf's (un-negated) answer depends on.
  std::string key;
  key += std::to_string(n.a);  // the field
  switch (n.op) {
    case Op::kFieldCompare:
      key += n.date ? "/cd" : "/c";
      key += std::to_string(n.sub);
      key += '/';
      AddScalar(key, program.consts[n.b]);
      break;
    case Op::kFieldNotNull:
      key += "/n";
      break;
    case Op::kFieldIn: {
      const InSet& set = program.in_sets[n.b];
      key += set.case_insensitive ? "/ii" : "/is";
      key += set.has_true ? 't' : '-';
      key += set.has_false ? 'f' : '-';
      // A hash set's order depends on the process's hash seed: sorted, the
      // same list is one leaf in every run.
      std::vector<std::string_view> strings(set.strings.begin(), set.strings.end());
      std::sort(strings.begin(), strings.end());
      AddList(key, strings, [](std::string_view t) { return t; });
      std::string numbers;
      for (const Scalar& x : set.numbers) AddScalar(numbers, x);
      AddText(key, numbers);
      break;
    }
    case Op::kFieldMatch: {
      const MatchSet& set = program.match_sets[n.b];
      key += set.regex ? "/r" : "/m";
      key += set.case_insensitive ? 'i' : 's';
      AddList(key, set.wildcards,
              [](const WildcardPattern& w) -> std::string_view { return w.text(); });
      AddList(key, set.regexes, [](const auto& re) -> std::string_view { return re->pattern(); });
      break;
    }
    default:
      return false;
  }
  auto [it, inserted] = index_.try_emplace(std::move(key), count_);
  id = it->second;
  if (!inserted) {
    ++merged_;
    return true;
  }
  ++count_;
  info_.push_back({.field = n.a, .keep_by_value = n.op == Op::kFieldMatch || n.op == Op::kFieldIn});
  if (n.op == Op::kFieldMatch && !program.match_sets[n.b].regex) {
    const MatchSet& set = program.match_sets[n.b];
    SharedMatchSet s;
    s.leaf = id;
    s.field = n.a;
    s.case_insensitive = set.case_insensitive;
    for (const WildcardPattern& w : set.wildcards) s.patterns.push_back(w.text());
    match_sets_.push_back(std::move(s));
  }
  return true;
}

}  // namespace eql::analysis
