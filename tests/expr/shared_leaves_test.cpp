// Leaves shared across a rule set (analysis/shared_leaves.hpp) and their
// per-event answers (expr/shared_leaves.hpp): interning merges exactly the
// leaves that always agree, and evaluating with the memo, with or without
// the multi-pattern automaton, gives what evaluating each condition alone
// gives, on random wildcard sets over random values.
#include "expr/shared_leaves.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "analysis/compile.hpp"
#include "ast_builders.hpp"
#include "expr/eval.hpp"
#include "io/json_projector.hpp"

namespace eql {
namespace {

using namespace eql::testing;
using analysis::Tri;

// The shared id (Node::d) of the leaf at the root of `c` (0: not shared).
uint32_t RootLeaf(const analysis::CompiledCondition& c) {
  return c.program->nodes[c.program->root].d;
}

TEST(SharedLeaves, EqualLeavesShareAnIdAndOthersDoNot) {
  std::printf(
      "checks: one id for the same leaf in any condition, its negation included; "
      "another for any difference\n");
  io::FieldRegistry fields;
  analysis::SharedLeaves leaves;
  analysis::CompileOptions options;
  options.shared_leaves = &leaves;
  auto id = [&](const ast::Expr& e) {
    auto c = analysis::CompileCondition(e, fields, options);
    EXPECT_TRUE(c.ok());
    return c.ok() ? RootLeaf(*c.value) : 0u;
  };
  const uint32_t windows = id(Eq(Field("host.os.type"), Str("windows")));
  ASSERT_NE(windows, 0u);
  EXPECT_EQ(id(Eq(Field("host.os.type"), Str("windows"))), windows);
  EXPECT_EQ(id(Ne(Field("host.os.type"), Str("windows"))), windows);  // must_not of the same
  EXPECT_NE(id(Eq(Field("host.os.type"), Str("linux"))), windows);
  EXPECT_NE(id(Eq(Field("host.os.name"), Str("windows"))), windows);
  EXPECT_NE(id(Eq(Field("host.os.type"), Int(1))), windows);
  EXPECT_NE(id(Cmp(Field("host.os.type"), ast::CompareOp::kLt, Str("windows"))), windows);

  const uint32_t names = id(In(Field("process.name"), {Str("a.exe"), Str("b.exe")}));
  EXPECT_EQ(id(In(Field("process.name"), {Str("a.exe"), Str("b.exe")})), names);
  EXPECT_EQ(id(In(Field("process.name"), {Str("a.exe"), Str("b.exe")}, /*negated=*/true)), names);
  EXPECT_NE(id(In(Field("process.name"), {Str("a.exe"), Str("b.exe")}, false, true)), names);
  EXPECT_NE(id(In(Field("process.name"), {Str("a.exe"), Str("b.exeX")})), names);
  // A list is not split into another: "ab","c" is not "a","bc".
  EXPECT_NE(id(In(Field("x"), {Str("ab"), Str("c")})), id(In(Field("x"), {Str("a"), Str("bc")})));

  const uint32_t colon = id(Colon(Field("cmd"), {Str("*eval(*")}));
  EXPECT_EQ(id(Colon(Field("cmd"), {Str("*eval(*")})), colon);
  EXPECT_NE(id(Match(Field("cmd"), ast::MatchOp::kLike, {Str("*eval(*")})), colon);  // case
  const uint32_t regex = id(Match(Field("cmd"), ast::MatchOp::kRegex, {Str(".*eval.*")}));
  EXPECT_NE(regex, 0u);
  EXPECT_EQ(id(Match(Field("cmd"), ast::MatchOp::kRegex, {Str(".*eval.*")})), regex);
  EXPECT_NE(id(Match(Field("cmd"), ast::MatchOp::kRegex, {Str(".*eval.*")}, true)), regex);
  EXPECT_NE(id(Colon(Field("cmd"), {Str(".*eval.*")})), regex);
  EXPECT_NE(id(Colon(Field("cmd"), {Str("*eval(*"), Str("*atob(*")})), colon);
  EXPECT_NE(id(Ne(Field("cmd"), Null())), colon);
  EXPECT_EQ(id(Ne(Field("cmd"), Null())), id(Eq(Field("cmd"), Null())));
  EXPECT_GE(leaves.merged(), 6u);
  std::printf("  %zu distinct leaves, %lu registrations merged\n", leaves.size(),
              static_cast<unsigned long>(leaves.merged()));
}

// Random wildcard material: ASCII letters in both cases, non-ASCII letters
// whose folding differs in length (İ -> i), the wildcard characters, and the
// separators detection rules use.
const std::vector<std::string> kPieces = {"a", "b",  "A", "B", "ab",  "AB",  "é", "É", "İ",
                                          "i", "\\", ".", "x", "exe", "EXE", " ", "\n"};

std::string RandomText(std::mt19937& rng, size_t max_pieces) {
  std::string out;
  const size_t n = rng() % (max_pieces + 1);
  for (size_t i = 0; i < n; ++i) out += kPieces[rng() % kPieces.size()];
  return out;
}

std::string RandomPattern(std::mt19937& rng) {
  std::string out;
  const size_t n = rng() % 6;
  for (size_t i = 0; i < n; ++i) {
    switch (rng() % 5) {
      case 0:
        out += '*';
        break;
      case 1:
        out += '?';
        break;
      default:
        out += kPieces[rng() % kPieces.size()];
    }
  }
  return out;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// An event whose field `f` is missing, null, a number, a string or an array.
std::string RandomEvent(std::mt19937& rng) {
  switch (rng() % 8) {
    case 0:
      return "{}";
    case 1:
      return R"({"f": null})";
    case 2:
      return R"({"f": 12345})";
    case 3: {
      std::string out = R"({"f": [)";
      const size_t n = rng() % 4;
      for (size_t i = 0; i < n; ++i) {
        if (i > 0) out += ", ";
        out += rng() % 5 == 0 ? std::string("null") : JsonString(RandomText(rng, 8));
      }
      return out + "]}";
    }
    default:
      return R"({"f": )" + JsonString(RandomText(rng, 12)) + "}";
  }
}

// Conditions compiled twice over one field registry: each alone, and with
// its leaves interned in one SharedLeaves, as a rule set compiles them.
struct CompiledTwice {
  io::FieldRegistry fields;
  analysis::SharedLeaves leaves;
  std::vector<analysis::CompiledCondition> alone, with_ids;
  void Add(const ast::Expr& e) {
    analysis::CompileOptions shared;
    shared.shared_leaves = &leaves;
    auto a = analysis::CompileCondition(e, fields);
    auto b = analysis::CompileCondition(e, fields, shared);
    ASSERT_TRUE(a.ok() && b.ok());
    alone.push_back(*a.value);
    with_ids.push_back(*b.value);
  }
};

TEST(SharedLeaves, MemoAndAutomatonGiveTheConditionsOwnAnswers) {
  std::printf(
      "checks: 300 random wildcard sets (:, like, like~, negated) over 400 random "
      "events: the same answer alone, with the memo, and with the automaton\n");
  std::mt19937 rng(20261201);
  CompiledTwice set;
  std::vector<std::string> texts;
  for (int i = 0; i < 300; ++i) {
    std::vector<ast::Expr> patterns;
    std::string text;
    const size_t n = 1 + rng() % 4;
    for (size_t k = 0; k < n; ++k) {
      std::string p = RandomPattern(rng);
      text += "\"" + p + "\" ";
      patterns.push_back(Str(p));
    }
    const int mode = static_cast<int>(rng() % 3);
    ast::Expr e = mode == 0 ? Colon(Field("f"), patterns)
                            : Match(Field("f"), ast::MatchOp::kLike, patterns, mode == 2);
    if (rng() % 4 == 0) e = Not(std::move(e));
    set.Add(e);
    texts.push_back(text);
  }
  // Every set again, so that the memo answers some from an earlier one.
  for (int i = 0; i < 300; ++i) {
    set.alone.push_back(set.alone[i]);
    set.with_ids.push_back(set.with_ids[i]);
    texts.push_back(texts[i]);
  }
  auto loop = expr::SharedMatcher::Build(set.leaves, /*use_automaton=*/false);
  auto automaton = expr::SharedMatcher::Build(set.leaves, /*use_automaton=*/true);
  EXPECT_GT(automaton->summary().automaton_patterns, 100u) << automaton->summary().error;
  expr::LeafMemo loop_memo(*loop), automaton_memo(*automaton);
  io::JsonProjector projector(set.fields);
  io::Record record;
  size_t true_answers = 0, checked = 0;
  for (int e = 0; e < 400; ++e) {
    const std::string json = RandomEvent(rng);
    ASSERT_TRUE(projector.Project(json, record).ok()) << json;
    std::vector<Tri> reference;
    for (const auto& c : set.alone) reference.push_back(expr::EvaluateCondition(c, record));
    for (expr::LeafMemo* memo : {&loop_memo, &automaton_memo}) {
      expr::EventScope scope(*memo, record);
      for (size_t i = 0; i < set.with_ids.size(); ++i) {
        ASSERT_EQ(expr::EvaluateCondition(set.with_ids[i], record), reference[i])
            << "patterns " << texts[i] << " on " << json
            << (memo == &automaton_memo ? " (automaton)" : " (memo)");
        ++checked;
      }
    }
    for (Tri t : reference) true_answers += t == Tri::kTrue;
  }
  std::printf(
      "  %zu answers compared, %zu of the reference answers true; %zu factors in %zu "
      "databases\n",
      checked, true_answers, automaton->summary().factors, automaton->summary().databases);
  EXPECT_GT(true_answers, 5000u) << "the random sets should match often";
}

TEST(SharedLeaves, AMemoAnswersOnlyItsOwnRecord) {
  std::printf(
      "checks: inside a scope for one record another record is evaluated afresh; "
      "a new event forgets the last one's answers\n");
  io::FieldRegistry fields;
  analysis::SharedLeaves leaves;
  analysis::CompileOptions shared;
  shared.shared_leaves = &leaves;
  auto c = analysis::CompileCondition(Eq(Field("a"), Str("x")), fields, shared);
  ASSERT_TRUE(c.ok());
  auto matcher = expr::SharedMatcher::Build(leaves, false);
  expr::LeafMemo memo(*matcher);
  io::JsonProjector projector(fields);
  io::Record one, other;
  ASSERT_TRUE(projector.Project(R"({"a": "x"})", one).ok());
  ASSERT_TRUE(projector.Project(R"({"a": "y"})", other).ok());
  {
    expr::EventScope scope(memo, one);
    EXPECT_TRUE(expr::Matches(*c.value, one));
    EXPECT_FALSE(expr::Matches(*c.value, other));  // not answered from one's memo
    EXPECT_TRUE(expr::Matches(*c.value, one));
  }
  ASSERT_TRUE(projector.Project(R"({"a": "z"})", one).ok());  // the same Record, a new event
  expr::EventScope scope(memo, one);
  EXPECT_FALSE(expr::Matches(*c.value, one));
}

// `count` random wildcard (`:`, `like`) and `in` sets over field "f", a
// quarter of them negated.
void AddCachedSets(CompiledTwice& set, std::mt19937& rng, int count) {
  for (int i = 0; i < count; ++i) {
    std::vector<ast::Expr> items;
    const size_t n = 1 + rng() % 4;
    for (size_t k = 0; k < n; ++k) {
      items.push_back(Str(i % 3 == 2 ? RandomText(rng, 3) : RandomPattern(rng)));
    }
    ast::Expr e = i % 3 == 0   ? Colon(Field("f"), items)
                  : i % 3 == 1 ? Match(Field("f"), ast::MatchOp::kLike, items, rng() % 2 == 0)
                               : In(Field("f"), items, rng() % 4 == 0, rng() % 2 == 0);
    if (rng() % 4 == 0) e = Not(std::move(e));
    set.Add(e);
  }
}

// Every set's answer on `record` (under the caller's EventScope) is the one
// it has compiled alone.
void ExpectOwnAnswers(const CompiledTwice& set, const io::Record& record, const std::string& json,
                      size_t& checked, size_t& true_answers) {
  for (size_t i = 0; i < set.alone.size(); ++i) {
    const Tri want = expr::EvaluateCondition(set.alone[i], record);
    ASSERT_EQ(expr::EvaluateCondition(set.with_ids[i], record), want) << json << " set " << i;
    ASSERT_EQ(expr::Matches(set.with_ids[i], record), want == Tri::kTrue) << json << " set " << i;
    true_answers += want == Tri::kTrue;
    ++checked;
  }
}

// The answer cache (LeafMemo::CacheRows) keeps wildcard and `in` answers by
// the field's values across events: an event must get the answer its own
// values give, whatever came before.
TEST(SharedLeaves, CachedAnswersAreTheValuesOwn) {
  std::printf(
      "checks: 120 wildcard and in sets over 6,000 events whose values recur, then are "
      "all new, then recur again: every answer equals the condition's own; the cache "
      "was used, evicted and bypassed\n");
  std::mt19937 rng(20261202);
  CompiledTwice set;
  AddCachedSets(set, rng, 120);
  auto matcher = expr::SharedMatcher::Build(set.leaves, /*use_automaton=*/false);
  EXPECT_EQ(matcher->summary().cached_fields, 1u);
  EXPECT_GE(matcher->summary().cached_leaves, 100u);
  expr::LeafMemo memo(*matcher);
  // 60 recurring events: texts, arrays (["a", "bc"] is not ["ab", "c"]),
  // numbers and nulls among them (not cached: their answers depend on type).
  std::vector<std::string> recurring = {R"({"f": ["a", "bc"]})",
                                        R"({"f": ["ab", "c"]})",
                                        R"({"f": "abc"})",
                                        R"({"f": 12345})",
                                        R"({"f": null})",
                                        R"({"f": ["ab", 1]})",
                                        "{}"};
  while (recurring.size() < 60) recurring.push_back(RandomEvent(rng));
  io::JsonProjector projector(set.fields);
  io::Record record;
  size_t checked = 0, true_answers = 0;
  auto check = [&](const std::string& json) {
    ASSERT_TRUE(projector.Project(json, record).ok()) << json;
    expr::EventScope scope(memo, record);
    ExpectOwnAnswers(set, record, json, checked, true_answers);
  };
  for (int e = 0; e < 2000; ++e) check(recurring[rng() % recurring.size()]);
  const auto warm = memo.cache_counts();
  // About 40% of the events have no text to key on (numbers, nulls, none).
  EXPECT_GT(warm.values_found, 600u) << "recurring values should be answered from the cache";
  EXPECT_GT(warm.values_added, 20u);
  // 2,000 values never seen before: they push the recurring ones out (or,
  // once the field is seen not to repeat, are not looked up at all).
  for (int e = 0; e < 2000; ++e) {
    check(R"({"f": )" + JsonString(std::to_string(e) + "-" + RandomText(rng, 4)) + "}");
  }
  const auto cold = memo.cache_counts();
  EXPECT_GT(cold.values_first_seen, warm.values_first_seen + 400);
  EXPECT_GT(cold.values_skipped, warm.values_skipped + 500) << "a field that stops repeating "
                                                               "is bypassed";
  for (int e = 0; e < 2000; ++e) check(recurring[rng() % recurring.size()]);
  std::printf(
      "  %zu answers compared (%zu true); values found %lu, added %lu, first seen %lu, "
      "skipped %lu\n",
      checked, true_answers, static_cast<unsigned long>(memo.cache_counts().values_found),
      static_cast<unsigned long>(memo.cache_counts().values_added),
      static_cast<unsigned long>(memo.cache_counts().values_first_seen),
      static_cast<unsigned long>(memo.cache_counts().values_skipped));
  EXPECT_GT(true_answers, checked / 20);
}

// Verdicts (LeafMemo::Verdicts) are kept with one value's cache slot, or
// with the field's absence: an event sees the bits set for its own single
// value, none for two values, a null or a number, and a value that lost its
// slot comes back without the bits it had.
TEST(SharedLeaves, VerdictsBelongToTheirValue) {
  std::printf(
      "checks: verdict bits set for a value are seen by the next events with that value "
      "alone and by no other; absence has its own; arrays, nulls and numbers have none; a "
      "value pushed out of the cache by 3,000 others comes back with none\n");
  std::mt19937 rng(20261204);
  CompiledTwice set;
  AddCachedSets(set, rng, 30);
  auto matcher = expr::SharedMatcher::Build(set.leaves, /*use_automaton=*/false);
  const int32_t cache = matcher->CacheOfField(*set.fields.Find("f"));
  ASSERT_GE(cache, 0);
  EXPECT_EQ(matcher->CacheOfField(set.fields.Intern("not_cached")), -1);
  expr::LeafMemo memo(*matcher);
  memo.EnableVerdicts(130);  // three words: bits in the first and the last
  io::JsonProjector projector(set.fields);
  io::Record record;
  // The bits `json`'s verdicts hold (none: it has no verdicts), then sets
  // `set_bits` in them.
  auto verdicts = [&](const std::string& json, std::vector<size_t> set_bits = {}) {
    EXPECT_TRUE(projector.Project(json, record).ok()) << json;
    expr::EventScope scope(memo, record);
    std::optional<std::vector<size_t>> bits;
    if (auto row = memo.Verdicts(cache, record)) {
      uint64_t words[3] = {0, 0, 0};
      row->OrInto(words);
      for (size_t b : set_bits) row->Set(b);
      bits.emplace();
      for (size_t b = 0; b < 192; ++b) {
        if ((words[b / 64] >> (b % 64) & 1) != 0) bits->push_back(b);
      }
    }
    return bits;
  };
  using Bits = std::optional<std::vector<size_t>>;
  const Bits bit3 = std::vector<size_t>{3};
  const Bits no_bits = std::vector<size_t>{};
  const Bits bits_7_129 = std::vector<size_t>{7, 129};
  EXPECT_EQ(verdicts(R"({"f": "abc"})"), std::nullopt) << "first sighting: not kept";
  EXPECT_EQ(verdicts(R"({"f": "abc"})", {7, 129}), no_bits);
  EXPECT_EQ(verdicts(R"({"f": "abc"})"), bits_7_129);
  EXPECT_EQ(verdicts(R"({"f": ["abc"]})"), bits_7_129) << "one element is one value";
  EXPECT_EQ(verdicts(R"({"f": "ABC"})"), std::nullopt);
  EXPECT_EQ(verdicts(R"({"f": "ABC"})"), no_bits) << "values are told apart exactly";
  EXPECT_EQ(verdicts(R"({"f": ["abc", "x"]})"), std::nullopt);
  EXPECT_EQ(verdicts(R"({"f": null})"), std::nullopt) << "a null is not an absence";
  EXPECT_EQ(verdicts(R"({"f": 12345})"), std::nullopt);
  EXPECT_EQ(verdicts(R"({"g": 1})", {3}), no_bits);
  EXPECT_EQ(verdicts("{}"), bit3);
  EXPECT_EQ(verdicts(R"({"f": "abc"})"), bits_7_129);
  // Each new value seen three times (first sighting, kept, found: often
  // enough that the field is not bypassed) takes a slot, and a bit there.
  const uint64_t skipped = memo.cache_counts().values_skipped;
  for (int v = 0; v < 3000; ++v) {
    const std::string json = R"({"f": "other-)" + std::to_string(v) + R"("})";
    verdicts(json);
    verdicts(json, {64});
    ASSERT_EQ(verdicts(json), std::vector<size_t>{64}) << json;
  }
  EXPECT_EQ(memo.cache_counts().values_skipped, skipped) << "the field was bypassed";
  // Pushed out, "abc" is a first sighting again, unless its trace in the
  // table of values seen once outlived 3,000 others (the hash decides: one
  // run in twenty); either way it comes back in a new slot.
  Bits back = verdicts(R"({"f": "abc"})");
  if (!back) back = verdicts(R"({"f": "abc"})");
  EXPECT_EQ(back, no_bits) << "a new slot starts empty";
  EXPECT_EQ(verdicts("{}"), bit3);
}

// Arrays are kept element by element: arguments recur one by one far more
// often than whole argument lists do.
TEST(SharedLeaves, ArrayElementsAreKeptOneByOne) {
  std::printf(
      "checks: 90 wildcard and in sets over 3,000 events whose arrays mix 12 "
      "recurring elements (whole arrays rarely recur) with numbers, nulls, long texts and "
      "arrays of more than 64 elements: every answer equals the condition's own, and most "
      "elements are answered from the cache\n");
  std::mt19937 rng(20261203);
  CompiledTwice set;
  AddCachedSets(set, rng, 90);
  auto matcher = expr::SharedMatcher::Build(set.leaves, /*use_automaton=*/false);
  expr::LeafMemo memo(*matcher);
  std::vector<std::string> elements;
  while (elements.size() < 12) elements.push_back(JsonString(RandomText(rng, 3)));
  io::JsonProjector projector(set.fields);
  io::Record record;
  size_t checked = 0, true_answers = 0, texts = 0;
  for (int e = 0; e < 3000; ++e) {
    std::string json = R"({"f": [)";
    const size_t n = e % 50 == 49 ? 65 + rng() % 10 : 1 + rng() % 6;
    for (size_t k = 0; k < n; ++k) {
      if (k > 0) json += ", ";
      switch (rng() % 16) {
        case 0:
          json += std::to_string(rng() % 3);
          break;
        case 1:
          json += "null";
          break;
        case 2:
          json += JsonString(std::string(600, 'a') + RandomText(rng, 2));
          break;
        default:
          json += elements[rng() % elements.size()];
          ++texts;
      }
    }
    json += "]}";
    ASSERT_TRUE(projector.Project(json, record).ok()) << json;
    expr::EventScope scope(memo, record);
    ExpectOwnAnswers(set, record, json, checked, true_answers);
    if (::testing::Test::HasFatalFailure()) return;
  }
  const auto counts = memo.cache_counts();
  std::printf("  %zu answers compared (%zu true); %zu recurring elements: found %lu, added %lu\n",
              checked, true_answers, texts, static_cast<unsigned long>(counts.values_found),
              static_cast<unsigned long>(counts.values_added));
  EXPECT_GT(true_answers, checked / 20);
  // Every element of an array of at most 64 is looked up once per event.
  EXPECT_GT(counts.values_found, texts * 9 / 10) << "recurring elements should be found";
  EXPECT_LE(counts.values_added, 12u);
}

TEST(SharedLeaves, CacheKeysKeepArrayBoundaries) {
  std::printf(
      "checks: f : \"ab\" is false on [\"a\", \"bc\"] and true on [\"ab\", \"c\"], "
      "each asked often enough to be answered from the cache\n");
  io::FieldRegistry fields;
  analysis::SharedLeaves leaves;
  analysis::CompileOptions shared;
  shared.shared_leaves = &leaves;
  auto c = analysis::CompileCondition(Colon(Field("f"), {Str("ab")}), fields, shared);
  ASSERT_TRUE(c.ok());
  auto matcher = expr::SharedMatcher::Build(leaves, false);
  expr::LeafMemo memo(*matcher);
  io::JsonProjector projector(fields);
  io::Record record;
  for (int round = 0; round < 4; ++round) {
    for (auto [json, want] :
         {std::pair{R"({"f": ["a", "bc"]})", false}, std::pair{R"({"f": ["ab", "c"]})", true}}) {
      ASSERT_TRUE(projector.Project(json, record).ok());
      expr::EventScope scope(memo, record);
      EXPECT_EQ(expr::Matches(*c.value, record), want) << json << " round " << round;
    }
  }
  EXPECT_GE(memo.cache_counts().values_found, 4u);
}

// The engine's guards ask each leaf once an event through UnknownLeafAnswer,
// which reads the answer cache directly when every value's cell is known and
// loops over a comparison's values itself: those answers must be the ones
// the evaluator computes without any cache.
TEST(SharedLeaves, GuardsReadTheAnswersTheLeavesGive) {
  std::printf(
      "checks: 90 wildcard and in leaves and 24 comparisons, each leaf asked once an event over "
      "3,000 "
      "events whose values recur, as the guards ask them (the answer cache's cells, a "
      "comparison's loop) and as the evaluator computes them: the same answers\n");
  std::mt19937 rng(20261204);
  CompiledTwice set;
  AddCachedSets(set, rng, 90);
  // Comparisons, computed without the cache: string equality, order, and
  // constants of other types than the values'.
  for (const ast::Expr& c : {Str("abc"), Str("a"), Str("m"), Int(7), Str("7"), Null()}) {
    set.Add(Eq(Field("f"), c));
    set.Add(Ne(Field("f"), c));
    set.Add(Cmp(Field("f"), ast::CompareOp::kLt, c));
    set.Add(Cmp(Field("f"), ast::CompareOp::kGe, c));
  }
  std::vector<const analysis::Program*> programs;
  std::vector<uint32_t> leaves;
  for (const analysis::CompiledCondition& c : set.with_ids) {
    programs.push_back(c.program.get());
    for (const analysis::Node& n : c.program->nodes) {
      if (analysis::IsFieldLeaf(n.op) && n.d != 0) leaves.push_back(n.d - 1);
    }
  }
  std::sort(leaves.begin(), leaves.end());
  leaves.erase(std::unique(leaves.begin(), leaves.end()), leaves.end());
  auto cached = expr::SharedMatcher::Build(set.leaves, false, /*cache_by_value=*/true, programs);
  auto plain = expr::SharedMatcher::Build(set.leaves, false, /*cache_by_value=*/false, programs);
  expr::LeafMemo cached_memo(*cached), plain_memo(*plain);
  std::vector<std::string> recurring = {R"({"f": ["a", "bc"]})", R"({"f": "abc"})", R"({"f": 7})",
                                        R"({"f": null})", "{}"};
  while (recurring.size() < 40) recurring.push_back(RandomEvent(rng));
  io::JsonProjector projector(set.fields);
  io::Record record;
  size_t compared = 0, true_answers = 0;
  for (int e = 0; e < 3000; ++e) {
    const std::string json = e % 10 == 9 ? RandomEvent(rng) : recurring[rng() % recurring.size()];
    ASSERT_TRUE(projector.Project(json, record).ok()) << json;
    std::vector<Tri> want, got;
    {
      expr::EventScope scope(plain_memo, record);
      // The evaluator's own path (LeafAnswer: Evaluator::ComputeAt()).
      for (uint32_t leaf : leaves) want.push_back(expr::LeafAnswer(*plain, leaf, record));
    }
    {
      expr::EventScope scope(cached_memo, record);
      for (uint32_t leaf : leaves) {
        got.push_back(expr::UnknownLeafAnswer(cached_memo, leaf, record));
        ASSERT_TRUE(cached_memo.Known(leaf));
        ASSERT_EQ(cached_memo.Answer(leaf), got.back());
      }
    }
    ASSERT_EQ(got, want) << json;
    compared += got.size();
    true_answers += static_cast<size_t>(std::count(got.begin(), got.end(), Tri::kTrue));
  }
  std::printf("  %zu answers compared (%zu true); values found in the cache %lu\n", compared,
              true_answers, static_cast<unsigned long>(cached_memo.cache_counts().values_found));
  EXPECT_GT(cached_memo.cache_counts().values_found, 1000u);
  EXPECT_GT(true_answers, compared / 50);
}

TEST(SharedLeaves, ALeafIsComputedAtItsHome) {
  std::printf(
      "checks: a leaf shared by two conditions has the first given program's node as its "
      "home; answers computed there (LeafAnswer, and through the other condition) are the "
      "leaf's own\n");
  io::FieldRegistry fields;
  analysis::SharedLeaves leaves;
  analysis::CompileOptions shared;
  shared.shared_leaves = &leaves;
  auto first = analysis::CompileCondition(
      And(Eq(Field("a"), Str("x")), Colon(Field("b"), {Str("*EVAL*")})), fields, shared);
  auto second = analysis::CompileCondition(
      Or(Ne(Field("c"), Null()), Not(Colon(Field("b"), {Str("*EVAL*")}))), fields, shared);
  ASSERT_TRUE(first.ok() && second.ok());
  const analysis::Program* programs[] = {second.value->program.get(), first.value->program.get()};
  auto matcher = expr::SharedMatcher::Build(leaves, false, true, programs);
  // The wildcard leaf's home is in `second`, the first program given.
  uint32_t leaf = 0;
  for (const analysis::Node& n : first.value->program->nodes) {
    if (n.op == analysis::Op::kFieldMatch) leaf = n.d - 1;
  }
  const expr::SharedMatcher::Home& home = matcher->home(leaf);
  ASSERT_EQ(home.program, second.value->program.get());
  EXPECT_EQ(home.op, analysis::Op::kFieldMatch);
  EXPECT_EQ(home.operand, &second.value->program->match_sets[0]);
  expr::LeafMemo memo(*matcher);
  io::JsonProjector projector(fields);
  io::Record record;
  for (auto [json, b_matches] :
       {std::pair{R"j({"a": "x", "b": "x = eval(y)"})j", true},
        std::pair{R"j({"a": "x", "b": "print(y)"})j", false}, std::pair{R"({"a": "x"})", false}}) {
    ASSERT_TRUE(projector.Project(json, record).ok());
    expr::EventScope scope(memo, record);
    EXPECT_EQ(expr::LeafAnswer(*matcher, leaf, record) == Tri::kTrue, b_matches) << json;
    EXPECT_EQ(expr::Matches(*first.value, record), b_matches) << json;
    EXPECT_EQ(expr::Matches(*second.value, record), !b_matches) << json;
  }
}

TEST(SharedLeaves, RequiredAnyOfTakesOneLeafFromEachBranchOfARequiredOr) {
  std::printf(
      "checks: an `or` the condition requires gives one shared leaf per branch (the "
      "lowest-ranked of an `and` branch's required leaves); a branch without one, a `not`, "
      "or too many branches give nothing\n");
  io::FieldRegistry fields;
  analysis::SharedLeaves leaves;
  analysis::CompileOptions options;
  options.shared_leaves = &leaves;
  auto compile = [&](const ast::Expr& e) {
    auto c = analysis::CompileCondition(e, fields, options);
    EXPECT_TRUE(c.ok());
    return std::move(*c.value);
  };
  // The fields of the leaves each group names, in order.
  auto groups = [&](const analysis::CompiledCondition& c, size_t max_size, bool prefer_last) {
    const analysis::Program& p = *c.program;
    auto rank = [&](const analysis::Node& n) { return prefer_last ? UINT64_MAX - n.a : n.a; };
    std::vector<std::vector<std::string>> out;
    for (const auto& group : expr::RequiredAnyOf(p, max_size, rank)) {
      out.emplace_back();
      for (uint32_t node : group) {
        EXPECT_NE(p.nodes[node].d, 0u);
        out.back().push_back(fields.Name(p.nodes[node].a));
      }
    }
    return out;
  };
  using G = std::vector<std::vector<std::string>>;
  const ast::Expr start = Eq(Field("event.type"), Str("start"));
  const ast::Expr a = Eq(Field("a"), Str("1")), b = Colon(Field("b"), {Str("*x*")});
  const ast::Expr c = In(Field("c"), {Str("p"), Str("q")}), d = Ne(Field("d"), Null());
  // start and (a or (b and c) or d)
  auto three = compile(And(start, Or(Or(a, And(b, c)), d)));
  EXPECT_EQ(groups(three, 16, false), (G{{"a", "b", "d"}}));
  EXPECT_EQ(groups(three, 16, true), (G{{"a", "c", "d"}}));  // the other leaf of (b and c)
  EXPECT_EQ(groups(three, 2, false), G{});                   // three branches
  // A branch with no shared leaf (a `not` of an `or`) leaves the `or` unguarded.
  EXPECT_EQ(groups(compile(And(start, Or(a, Not(Or(b, c))))), 16, false), G{});
  // Two required `or`s: two groups; an `or` under `not` gives none.
  EXPECT_EQ(groups(compile(And(Or(a, b), And(Not(Or(c, d)), Or(c, d)))), 16, false),
            (G{{"a", "b"}, {"c", "d"}}));
  // No `or` at the top: nothing (its leaves are required leaves already).
  EXPECT_EQ(groups(compile(And(start, a)), 16, false), G{});
}

}  // namespace
}  // namespace eql
