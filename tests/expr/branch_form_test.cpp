// The branch form of a condition (Program::branches, expr::Matches): on
// random `and`/`or`/`not` trees over fast-path leaves, generic predicates and
// constants, evaluated over events where the fields are missing, null,
// numbers, texts or arrays, Matches() says true exactly when the recursive
// three-valued evaluation does, with and without the event's shared-leaf
// memo.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "analysis/compile.hpp"
#include "ast_builders.hpp"
#include "expr/eval.hpp"
#include "expr/shared_leaves.hpp"
#include "io/json_projector.hpp"

namespace eql {
namespace {

using namespace eql::testing;
using analysis::Tri;

const char* const kFields[] = {"a", "b", "c"};
const char* const kTexts[] = {"x", "y", "xy", "X", ""};

ast::Expr RandomLeaf(std::mt19937& rng) {
  ast::Expr f = Field(kFields[rng() % 3]);
  ast::Expr text = Str(kTexts[rng() % 5]);
  switch (rng() % 11) {
    case 0:
      return Eq(std::move(f), std::move(text));
    case 1:
      return Ne(std::move(f), std::move(text));
    case 2:
      return In(std::move(f), {Str("x"), Str("xy"), Int(2)}, rng() % 2 == 0, rng() % 2 == 0);
    case 3:
      return Colon(std::move(f), {Str("x*"), Str("*Y")});
    case 4:
      return rng() % 2 == 0 ? Eq(std::move(f), Null()) : Ne(std::move(f), Null());
    case 5:
      return Cmp(std::move(f), ast::CompareOp::kLt, Int(2));
    case 6:  // generic: over a function's value
      return Cmp(Call("length", {std::move(f)}), ast::CompareOp::kGt, Int(1));
    case 7:
      return Call("startsWith", {std::move(f), Str("x")}, rng() % 2 == 0);
    case 8:  // generic: two fields
      return Eq(std::move(f), Field(kFields[rng() % 3]));
    case 9:
      return Bool(rng() % 2 == 0);
    default:  // a null operand in the bool query
      return Eq(Call("length", {std::move(f)}), Null());
  }
}

ast::Expr RandomCondition(std::mt19937& rng, int depth) {
  if (depth == 0 || rng() % 4 == 0) return RandomLeaf(rng);
  switch (rng() % 5) {
    case 0:
    case 1:
      return And(RandomCondition(rng, depth - 1), RandomCondition(rng, depth - 1));
    case 2:
    case 3:
      return Or(RandomCondition(rng, depth - 1), RandomCondition(rng, depth - 1));
    default:
      return Not(RandomCondition(rng, depth - 1));
  }
}

std::string RandomValue(std::mt19937& rng) {
  switch (rng() % 6) {
    case 0:
      return "null";
    case 1:
      return std::to_string(rng() % 4);
    case 2:
      return R"(["x", null, "Y"])";
    case 3:
      return "[]";
    default:
      return std::string("\"") + kTexts[rng() % 5] + "\"";
  }
}

std::string RandomEvent(std::mt19937& rng) {
  std::string out = "{";
  for (const char* f : kFields) {
    if (rng() % 4 == 0) continue;  // missing
    if (out.size() > 1) out += ", ";
    out += std::string("\"") + f + "\": " + RandomValue(rng);
  }
  return out + "}";
}

TEST(BranchForm, MatchesAgreesWithTheRecursiveEvaluation) {
  std::printf(
      "checks: 400 random conditions (and/or/not over ==, !=, in, :, == null, <, generic "
      "predicates, constants) on 300 random events: Matches() is true exactly when the "
      "three-valued evaluation is, with and without shared leaves\n");
  std::mt19937 rng(20261203);
  io::FieldRegistry fields;
  analysis::SharedLeaves leaves;
  analysis::CompileOptions shared;
  shared.shared_leaves = &leaves;
  std::vector<analysis::CompiledCondition> alone, with_ids;
  size_t branches = 0;
  while (alone.size() < 400) {
    const ast::Expr e = RandomCondition(rng, 5);
    auto a = analysis::CompileCondition(e, fields);
    auto b = analysis::CompileCondition(e, fields, shared);
    ASSERT_EQ(a.ok(), b.ok());
    if (!a.ok()) continue;  // not a condition (e.g. folded to a non-boolean)
    ASSERT_FALSE(a.value->program->branches.empty());
    branches += a.value->program->branches.size();
    alone.push_back(*a.value);
    with_ids.push_back(*b.value);
  }
  auto matcher = expr::SharedMatcher::Build(leaves, false);
  expr::LeafMemo memo(*matcher);
  io::JsonProjector projector(fields);
  io::Record record;
  size_t true_answers = 0, checked = 0;
  for (int e = 0; e < 300; ++e) {
    const std::string json = RandomEvent(rng);
    ASSERT_TRUE(projector.Project(json, record).ok()) << json;
    std::vector<bool> want;
    for (const auto& c : alone) want.push_back(expr::EvaluateCondition(c, record) == Tri::kTrue);
    for (size_t i = 0; i < alone.size(); ++i) {
      ASSERT_EQ(expr::Matches(alone[i], record), want[i]) << json << "\n"
                                                          << alone[i].program->Explain();
    }
    expr::EventScope scope(memo, record);
    for (size_t i = 0; i < alone.size(); ++i) {
      ASSERT_EQ(expr::Matches(with_ids[i], record), want[i]) << json << " (shared leaves)\n"
                                                             << with_ids[i].program->Explain();
      true_answers += want[i];
      checked += 2;
    }
  }
  std::printf("  %zu answers compared, %zu of %zu true; %zu branches in all\n", checked,
              true_answers, checked / 2, branches);
  EXPECT_GT(true_answers, checked / 10);
  EXPECT_LT(true_answers, checked / 2 - checked / 10);
}

}  // namespace
}  // namespace eql
