// Analysis and evaluation of hand-built conditions over projected JSON
// events: every operator and function, nulls, arrays, non-ASCII text, folding
// and the diagnostics of invalid conditions.
#include "expr/eval.hpp"

#include <gtest/gtest.h>

#include "analysis/compile.hpp"
#include "ast_builders.hpp"
#include "io/json_projector.hpp"

namespace eql {
namespace {

using namespace eql::testing;
using analysis::Tri;
using ast::ArithOp;
using ast::CompareOp;
using ast::MatchOp;

constexpr Tri T = Tri::kTrue;
constexpr Tri F = Tri::kFalse;
constexpr Tri N = Tri::kNull;

// Compiles `cond`, projects `json`, returns the three-valued result.
Tri Eval(const ast::Expr& cond, std::string_view json = "{}") {
  io::FieldRegistry fields;
  auto c = analysis::CompileCondition(cond, fields);
  EXPECT_TRUE(c.ok()) << (c.diagnostics.empty() ? "" : c.diagnostics[0].message);
  if (!c.ok()) return Tri::kNull;
  io::JsonProjector projector(fields);
  io::Record record;
  auto s = projector.Project(json, record);
  EXPECT_TRUE(s.ok()) << s;
  return expr::EvaluateCondition(*c.value, record);
}

// The value of `e` over `json`, as JSON text.
std::string Value(const ast::Expr& e, std::string_view json = "{}") {
  io::FieldRegistry fields;
  auto c = analysis::CompileExpr(e, fields);
  EXPECT_TRUE(c.ok()) << (c.diagnostics.empty() ? "" : c.diagnostics[0].message);
  if (!c.ok()) return "<error>";
  io::JsonProjector projector(fields);
  io::Record record;
  EXPECT_TRUE(projector.Project(json, record).ok());
  return expr::Evaluate(*c.value, record).ToJson();
}

// The first diagnostic of compiling `cond`, or "" when it compiles.
std::string ErrorOf(const ast::Expr& cond) {
  io::FieldRegistry fields;
  auto c = analysis::CompileCondition(cond, fields);
  return c.ok() ? "" : c.diagnostics.at(0).message;
}

ast::Expr F1(std::string name, ast::Expr a, bool ci = false) {
  return Call(std::move(name), {std::move(a)}, ci);
}
ast::Expr F2(std::string name, ast::Expr a, ast::Expr b, bool ci = false) {
  return Call(std::move(name), {std::move(a), std::move(b)}, ci);
}
ast::Expr F3(std::string name, ast::Expr a, ast::Expr b, ast::Expr c, bool ci = false) {
  return Call(std::move(name), {std::move(a), std::move(b), std::move(c)}, ci);
}

TEST(Eval, SimpleEquality) {
  std::printf("checks: == on nested, dotted and mixed JSON paths; missing field is null\n");
  auto cond = Eq(Field("process.name"), Str("node.exe"));
  EXPECT_EQ(Eval(cond, R"({"process":{"name":"node.exe"}})"), T);
  EXPECT_EQ(Eval(cond, R"({"process.name":"node.exe"})"), T);
  EXPECT_EQ(Eval(cond, R"({"process":{"name":"NODE.exe"}})"), F);
  EXPECT_EQ(Eval(cond, R"({"other":1})"), F);  // a field query: missing does not match
  EXPECT_EQ(Eval(Eq(Field("a"), Str("x*")), R"({"a":"xyz"})"), F);  // no wildcards in ==
  EXPECT_EQ(Eval(Eq(Field("a"), Str("x*")), R"({"a":"x*"})"), T);
}

TEST(Eval, NullsInTheBoolQuery) {
  std::printf(
      "checks: leaves are two-valued in the bool query (null -> no match); and/or/not\n"
      "        are must/should/must_not; == null / != null are existence tests\n");
  const char* ev = R"({"a":1,"n":null})";
  auto t = Eq(Field("a"), Int(1));
  auto f = Eq(Field("a"), Int(2));
  // A script leaf over a missing field: its null counts as no match.
  auto n = Eq(Arith(Field("missing"), ArithOp::kAdd, Int(0)), Int(1));
  EXPECT_EQ(Eval(n, ev), F);
  EXPECT_EQ(Eval(And(t, n), ev), F);
  EXPECT_EQ(Eval(And(n, f), ev), F);
  EXPECT_EQ(Eval(Or(t, n), ev), T);
  EXPECT_EQ(Eval(Or(f, n), ev), F);
  EXPECT_EQ(Eval(Not(n), ev), T);
  EXPECT_EQ(Eval(Not(Not(n)), ev), F);
  EXPECT_EQ(Eval(Not(f), ev), T);
  EXPECT_EQ(Eval(Eq(Field("missing"), Null()), ev), T);
  EXPECT_EQ(Eval(Eq(Field("n"), Null()), ev), T);
  EXPECT_EQ(Eval(Ne(Field("n"), Null()), ev), F);
  EXPECT_EQ(Eval(Ne(Field("a"), Null()), ev), T);
  EXPECT_EQ(Eval(Eq(Null(), Field("a")), ev), F);
  // null == (exit_code > -1) matches events without exit_code (ES test
  // nullEqualityWithGtAndHead): inside an operand, logic is three-valued.
  EXPECT_EQ(Eval(Eq(Null(), Cmp(Field("exit_code"), CompareOp::kGt, Int(-1))), ev), T);
  EXPECT_EQ(Eval(Eq(Bool(false), Cmp(Field("exit_code"), CompareOp::kGt, Int(-1))), ev), F);
  EXPECT_EQ(Eval(Eq(Null(), Not(Cmp(Field("exit_code"), CompareOp::kGt, Int(-1)))), ev), T);
  EXPECT_TRUE(expr::Matches(
      *analysis::CompileCondition(Bool(true), *std::make_unique<io::FieldRegistry>()).value,
      io::Record()));
}

TEST(Eval, NotAndMissingFieldsLikeElasticsearch) {
  std::printf(
      "checks: not / != / not in over a missing field are true (must_not), for field\n"
      "        queries and scripts alike; script != is tested per value\n");
  const char* ev = R"({"a":"x","b":"hello","args":["ab","abc"]})";
  EXPECT_EQ(Eval(Ne(Field("missing"), Str("x")), ev), T);
  EXPECT_EQ(Eval(Not(Eq(Field("missing"), Str("x"))), ev), T);
  EXPECT_EQ(Eval(Not(Colon(Field("missing"), {Str("x*")})), ev), T);
  EXPECT_EQ(Eval(Not(Cmp(Field("exit_code"), CompareOp::kGt, Int(-1))), ev), T);
  EXPECT_EQ(Eval(Ne(Field("a"), Str("x")), ev), F);
  EXPECT_EQ(Eval(Ne(Field("a"), Str("y")), ev), T);
  EXPECT_EQ(Eval(Not(Call("startsWith", {Field("missing"), Str("h")})), ev), T);
  EXPECT_EQ(Eval(Not(Field("missing")), ev), T);  // a bare boolean field is a term query
  EXPECT_EQ(Eval(Field("flag"), R"({"flag":[false,true]})"), T);
  EXPECT_EQ(Eval(Not(Field("flag")), R"({"flag":false})"), T);
  // Scripts hoist `not` out of the per-value test: not any(...).
  EXPECT_EQ(Eval(Not(Cmp(F1("length", Field("missing")), CompareOp::kGt, Int(1))), ev), T);
  EXPECT_EQ(Eval(Not(Call("stringContains", {Field("missing"), Str("h")}, true)), ev), T);
  EXPECT_EQ(Eval(Not(Cmp(F1("length", Field("args")), CompareOp::kEq, Int(3))), ev), F);
  // ... but a script's != is tested per value: any(length != 3) is true.
  EXPECT_EQ(Eval(Ne(F1("length", Field("args")), Int(3)), ev), T);
  EXPECT_EQ(Eval(Ne(F1("length", Field("missing")), Int(3)), ev), F);  // null: no match
  // stringContains(field, "") is false as a function but, as a condition on a
  // field, the wildcard query "**": true for any value.
  EXPECT_EQ(Eval(Call("stringContains", {Field("b"), Str("")}), ev), T);
  EXPECT_EQ(Eval(Call("stringContains", {Field("missing"), Str("")}), ev), F);
  EXPECT_EQ(Eval(Eq(Call("stringContains", {Field("b"), Str("")}), Bool(false)), ev), T);
  // not over or: must_not(should(...)).
  EXPECT_EQ(Eval(Not(Or(Eq(Field("a"), Str("y")),
                        Cmp(F1("length", Field("missing")), CompareOp::kGt, Int(1)))),
                 ev),
            T);
  // Arrays: nulls inside are no values (as doc values).
  EXPECT_EQ(Eval(Eq(F1("length", Field("v")), Int(1)), R"({"v":[null,"x"]})"), T);
  EXPECT_EQ(Eval(Eq(F1("length", Field("v")), Null()), R"({"v":[null,"x"]})"), F);
  // Category plus exclusion, the shape of most detection rules.
  EXPECT_EQ(Eval(And(Colon(Field("b"), {Str("HELLO")}),
                     Not(Colon(Field("process.parent.name"), {Str("explorer.exe")}))),
                 ev),
            T);
}

TEST(Eval, NumericComparisons) {
  std::printf("checks: int vs double, ordering, big integers, NaN-free exactness\n");
  const char* ev = R"({"i":5,"d":5.0,"h":2.5,"big":9007199254740993,"neg":-3})";
  EXPECT_EQ(Eval(Eq(Field("i"), Real(5.0)), ev), T);
  EXPECT_EQ(Eval(Eq(Field("d"), Int(5)), ev), T);
  EXPECT_EQ(Eval(Cmp(Field("h"), CompareOp::kLt, Int(3)), ev), T);
  EXPECT_EQ(Eval(Cmp(Field("h"), CompareOp::kGe, Real(2.5)), ev), T);
  EXPECT_EQ(Eval(Cmp(Field("i"), CompareOp::kLe, Real(4.9)), ev), F);
  EXPECT_EQ(Eval(Cmp(Int(3), CompareOp::kLt, Field("i")), ev), T);     // constant on the left
  EXPECT_EQ(Eval(Eq(Field("big"), Real(9007199254740992.0)), ev), F);  // exact, not via double
  EXPECT_EQ(Eval(Eq(Field("big"), Int(9007199254740993)), ev), T);
  EXPECT_EQ(Eval(Cmp(Field("neg"), CompareOp::kGt, Int(-4)), ev), T);
  // A number in a string field compares as the number it spells.
  EXPECT_EQ(Eval(Eq(Field("s"), Int(42)), R"({"s":"42"})"), T);
  EXPECT_EQ(Eval(Eq(Field("s"), Str("42")), R"({"s":42})"), T);
  EXPECT_EQ(Eval(Eq(Field("s"), Int(42)), R"({"s":"x"})"), F);
}

TEST(Eval, StringComparisons) {
  std::printf("checks: == case-sensitive, < > lexicographic by bytes, non-ASCII\n");
  const char* ev = R"({"s":"Bob","u":"Ärger"})";
  EXPECT_EQ(Eval(Eq(Field("s"), Str("bob")), ev), F);
  EXPECT_EQ(Eval(Cmp(Field("s"), CompareOp::kLt, Str("a")), ev), T);  // 'B' < 'a'
  EXPECT_EQ(Eval(Cmp(Field("s"), CompareOp::kGt, Str("Bo")), ev), T);
  EXPECT_EQ(Eval(Cmp(Field("u"), CompareOp::kGt, Str("Z")), ev), T);
  EXPECT_EQ(Eval(Eq(Field("u"), Str("Ärger")), ev), T);
  EXPECT_EQ(Eval(Eq(Field("e"), Str("")), R"({"e":""})"), T);
}

TEST(Eval, ArraysAnyElement) {
  std::printf("checks: any element matches; != and not negate the any-match\n");
  const char* ev = R"({"args":["node","install","-g"],"cat":["process","network"]})";
  EXPECT_EQ(Eval(Eq(Field("args"), Str("install")), ev), T);
  EXPECT_EQ(Eval(Eq(Field("args"), Str("x")), ev), F);
  EXPECT_EQ(Eval(Ne(Field("args"), Str("install")), ev), F);  // not (any == install)
  EXPECT_EQ(Eval(Ne(Field("args"), Str("x")), ev), T);
  EXPECT_EQ(Eval(Not(Eq(Field("args"), Str("install"))), ev), F);
  EXPECT_EQ(Eval(Colon(Field("args"), {Str("INST*")}), ev), T);
  EXPECT_EQ(Eval(In(Field("cat"), {Str("network")}), ev), T);
  EXPECT_EQ(Eval(In(Field("cat"), {Str("network")}, true), ev), F);
  EXPECT_EQ(Eval(Eq(F1("length", Field("args")), Int(7)), ev), T);  // a function per element
  EXPECT_EQ(Eval(Eq(Field("args"), Null()), R"({"args":[]})"), T);
  EXPECT_EQ(Eval(Eq(Field("args"), Null()), R"({"args":[null,"a"]})"), F);
  EXPECT_EQ(Eval(Eq(Field("args"), Str("a")), R"({"args":[null,"a"]})"), T);
  EXPECT_EQ(Eval(Eq(Field("args"), Str("a")), R"({"args":[]})"), F);
  // Two array fields in one predicate: tried for every combination.
  EXPECT_EQ(
      Eval(Eq(F2("concat", Field("a"), Field("b")), Str("y2")), R"({"a":["x","y"],"b":[1,2]})"), T);
}

TEST(Eval, MatchOperators) {
  std::printf("checks: ':' insensitive wildcards, like/like~, regex/regex~ full match, lists\n");
  const char* ev = R"({"p":"C:\\Windows\\System32\\CMD.exe","n":7})";
  EXPECT_EQ(Eval(Colon(Field("p"), {Str("*\\cmd.exe")}), ev), T);
  EXPECT_EQ(Eval(Colon(Field("p"), {Str("c:\\windows\\system32\\cmd.exe")}), ev), T);
  EXPECT_EQ(Eval(Colon(Field("p"), {Str("*.dll"), Str("?:\\*")}), ev), T);
  EXPECT_EQ(Eval(Colon(Field("p"), {Str("*.dll")}), ev), F);
  EXPECT_EQ(Eval(Colon(Field("missing"), {Str("*")}), ev), F);
  EXPECT_EQ(Eval(Match(Field("p"), MatchOp::kLike, {Str("*cmd.exe")}), ev), F);
  EXPECT_EQ(Eval(Match(Field("p"), MatchOp::kLike, {Str("*CMD.exe")}), ev), T);
  EXPECT_EQ(Eval(Match(Field("p"), MatchOp::kLike, {Str("*cmd.exe")}, true), ev), T);
  EXPECT_EQ(Eval(Match(Field("p"), MatchOp::kRegex, {Str(".*CMD\\.exe")}), ev), T);
  EXPECT_EQ(Eval(Match(Field("p"), MatchOp::kRegex, {Str("CMD")}), ev), F);  // anchored
  EXPECT_EQ(Eval(Match(Field("p"), MatchOp::kRegex, {Str(".*cmd\\.exe")}), ev), F);
  EXPECT_EQ(Eval(Match(Field("p"), MatchOp::kRegex, {Str(".*cmd\\.exe")}, true), ev), T);
  EXPECT_EQ(Eval(Match(Field("p"), MatchOp::kRegex, {Str("x"), Str("C:.*")}), ev), T);
  // A number in a keyword field is matched as its text.
  EXPECT_EQ(Eval(Colon(Field("n"), {Str("7")}), ev), T);
  // Non-ASCII case-insensitivity.
  EXPECT_EQ(Eval(Colon(Field("u"), {Str("*ÜBER*")}), R"({"u":"das über alles"})"), T);
  EXPECT_EQ(Eval(Colon(Field("u"), {Str("ПРИВЕТ")}), R"({"u":"привет"})"), T);
  EXPECT_EQ(Eval(Match(Field("u"), MatchOp::kRegex, {Str("ПРИВЕТ")}, true), R"({"u":"привет"})"),
            T);
  EXPECT_EQ(Eval(Colon(Field("u"), {Str("?")}), R"({"u":"😀"})"), T);
  // Huge and empty strings.
  std::string big(200000, 'z');
  EXPECT_EQ(Eval(Colon(Field("u"), {Str("*Z")}), "{\"u\":\"" + big + "\"}"), T);
  EXPECT_EQ(Eval(Colon(Field("u"), {Str("")}), R"({"u":""})"), T);
  EXPECT_EQ(Eval(Colon(Field("u"), {Str("")}), R"({"u":"a"})"), F);
}

TEST(Eval, InOperators) {
  std::printf("checks: in / in~ / not in / not in~; in~ has no wildcards; numbers in lists\n");
  const char* ev = R"({"s":"Net.exe","i":3})";
  EXPECT_EQ(Eval(In(Field("s"), {Str("net.exe"), Str("x")}), ev), F);
  EXPECT_EQ(Eval(In(Field("s"), {Str("net.exe"), Str("x")}, false, true), ev), T);
  EXPECT_EQ(Eval(In(Field("s"), {Str("net.exe")}, true, true), ev), F);
  EXPECT_EQ(Eval(In(Field("s"), {Str("net.exe")}, true, false), ev), T);
  EXPECT_EQ(Eval(In(Field("s"), {Str("N*")}, false, true), ev), F);  // in~ is verbatim
  EXPECT_EQ(Eval(In(Field("s"), {Str("N*")}, false, true), R"({"s":"n*"})"), T);
  EXPECT_EQ(Eval(In(Field("i"), {Int(1), Real(3.0)}), ev), T);
  EXPECT_EQ(Eval(In(Field("i"), {Int(1), Int(2)}), ev), F);
  EXPECT_EQ(Eval(In(Field("missing"), {Int(1)}), ev), F);
  EXPECT_EQ(Eval(In(Field("missing"), {Int(1)}, true), ev), T);  // must_not terms
  EXPECT_EQ(Eval(In(Field("i"), {Null(), Int(3)}), ev), T);
  std::vector<ast::Expr> many;
  for (int k = 0; k < 100; ++k) many.push_back(Str("v" + std::to_string(k)));
  EXPECT_EQ(Eval(In(Field("s"), many), R"({"s":"v77"})"), T);
  // A non-constant list element.
  EXPECT_EQ(Eval(In(Str("a"), {Field("x")}), R"({"x":"a"})"), T);
}

TEST(Eval, Arithmetic) {
  std::printf("checks: + - * / %%, int/int truncates, div/mod by zero and overflow -> null\n");
  const char* ev = R"({"i":83,"d":2.5,"z":0,"max":9223372036854775807,"min":-9223372036854775808})";
  EXPECT_EQ(Value(Arith(Field("i"), ArithOp::kDiv, Int(2)), ev), "41");
  EXPECT_EQ(Value(Arith(Field("i"), ArithOp::kDiv, Real(2.0)), ev), "41.5");
  EXPECT_EQ(Value(Arith(Int(-7), ArithOp::kDiv, Int(2))), "-3");
  EXPECT_EQ(Value(Arith(Int(-7), ArithOp::kMod, Int(2))), "-1");
  EXPECT_EQ(Value(Arith(Field("d"), ArithOp::kMul, Int(2)), ev), "5.0");
  EXPECT_EQ(Value(Arith(Field("i"), ArithOp::kSub, Field("d")), ev), "80.5");
  EXPECT_EQ(Value(Arith(Field("i"), ArithOp::kDiv, Field("z")), ev), "null");
  EXPECT_EQ(Value(Arith(Field("i"), ArithOp::kMod, Field("z")), ev), "null");
  EXPECT_EQ(Value(Arith(Field("d"), ArithOp::kDiv, Int(0)), ev), "null");
  EXPECT_EQ(Value(Arith(Field("max"), ArithOp::kAdd, Int(1)), ev), "null");
  EXPECT_EQ(Value(Arith(Field("min"), ArithOp::kSub, Int(1)), ev), "null");
  EXPECT_EQ(Value(Arith(Field("max"), ArithOp::kMul, Int(2)), ev), "null");
  EXPECT_EQ(Value(Arith(Field("min"), ArithOp::kDiv, Int(-1)), ev), "null");
  EXPECT_EQ(Value(Arith(Field("min"), ArithOp::kMod, Int(-1)), ev), "0");
  EXPECT_EQ(Value(Arith(Field("missing"), ArithOp::kAdd, Int(1)), ev), "null");
  EXPECT_EQ(Eval(Eq(Arith(Field("i"), ArithOp::kDiv, Int(2)), Int(41)), ev), T);
  EXPECT_EQ(Eval(Eq(Arith(Field("i"), ArithOp::kDiv, Int(2)), Int(41)), R"({"i":82})"), T);
}

TEST(Eval, StringFunctions) {
  std::printf(
      "checks: between, concat, endsWith, startsWith, stringContains, indexOf, length,\n"
      "        substring, string, number, with ~ variants and null propagation\n");
  const char* ev =
      R"({"p":"System Idle Process","f":"C:\\workspace\\dev\\TestLogs\\something.json","n":null})";
  EXPECT_EQ(Value(F3("between", Field("p"), Str("S"), Str("e")), ev), "\"yst\"");
  EXPECT_EQ(Value(Call("between", {Field("p"), Str("S"), Str("e"), Bool(true)}), ev),
            "\"ystem Idle Proc\"");
  EXPECT_EQ(Value(F3("between", Field("p"), Str("s"), Str("E"), true), ev), "\"yst\"");
  EXPECT_EQ(Value(F3("between", Field("p"), Str("s"), Str("e")), ev), "\"t\"");
  EXPECT_EQ(Value(Call("between", {Field("f"), Str("dev"), Str(".json"), Bool(false)}), ev),
            "\"\\\\TestLogs\\\\something\"");
  EXPECT_EQ(Value(F3("between", Str(""), Str("a"), Str("b"))), "\"\"");
  EXPECT_EQ(Value(F3("between", Field("n"), Str("a"), Str("b")), ev), "null");
  EXPECT_EQ(Value(Call("concat", {Str("a"), Int(1), Real(1.5), Bool(true)})), "\"a11.5true\"");
  EXPECT_EQ(Value(Call("concat", {Field("p"), Field("n")}), ev), "null");
  EXPECT_EQ(Value(Call("concat", {Str("x")})), "\"x\"");
  EXPECT_EQ(Value(F2("endsWith", Field("p"), Str("Process")), ev), "true");
  EXPECT_EQ(Value(F2("endsWith", Field("p"), Str("PROCESS")), ev), "false");
  EXPECT_EQ(Value(F2("endsWith", Field("p"), Str("PROCESS"), true), ev), "true");
  EXPECT_EQ(Value(F2("startsWith", Field("p"), Str("sys"), true), ev), "true");
  EXPECT_EQ(Value(F2("startsWith", Field("p"), Str("sys")), ev), "false");
  EXPECT_EQ(Value(F2("startswith", Field("p"), Str("Sys")), ev), "true");  // names ignore case
  EXPECT_EQ(Value(F2("stringContains", Field("p"), Str("Idle")), ev), "true");
  EXPECT_EQ(Value(F2("stringContains", Field("p"), Str("idle")), ev), "false");
  EXPECT_EQ(Value(F2("stringContains", Field("p"), Str("idle"), true), ev), "true");
  EXPECT_EQ(Value(F2("stringContains", Field("p"), Str("")), ev), "false");
  EXPECT_EQ(Value(F2("stringContains", Field("n"), Str("a")), ev), "null");
  EXPECT_EQ(Value(F2("indexOf", Field("p"), Str("Idle")), ev), "7");
  EXPECT_EQ(Value(F3("indexOf", Field("p"), Str("s"), Int(3)), ev), "17");
  EXPECT_EQ(Value(F3("indexOf", Field("p"), Str("s"), Int(-5)), ev), "2");
  EXPECT_EQ(Value(F3("indexOf", Field("p"), Str("s"), Int(100)), ev), "null");
  EXPECT_EQ(Value(F2("indexOf", Field("p"), Str("zzz")), ev), "null");
  EXPECT_EQ(Value(F2("indexOf", Field("p"), Str("IDLE"), true), ev), "7");
  EXPECT_EQ(Value(F2("indexOf", Str("aé😀b"), Str("b"))), "4");  // UTF-16 units
  EXPECT_EQ(Value(F1("length", Field("p")), ev), "19");
  EXPECT_EQ(Value(F1("length", Str("😀"))), "2");
  EXPECT_EQ(Value(F1("length", Str(""))), "0");
  EXPECT_EQ(Value(F1("length", Field("n")), ev), "null");
  EXPECT_EQ(Value(F3("substring", Field("p"), Int(0), Int(6)), ev), "\"System\"");
  EXPECT_EQ(Value(F2("substring", Field("p"), Int(-7)), ev), "\"Process\"");
  EXPECT_EQ(Value(F3("substring", Field("p"), Int(-7), Int(-4)), ev), "\"Pro\"");
  EXPECT_EQ(Value(F3("substring", Field("p"), Int(5), Int(2)), ev), "\"\"");
  EXPECT_EQ(Value(F3("substring", Field("p"), Int(5), Int(1000)), ev), "\"m Idle Process\"");
  EXPECT_EQ(Value(F3("substring", Field("p"), Int(INT64_MIN), Int(INT64_MAX)), ev),
            "\"System Idle Process\"");
  EXPECT_EQ(Value(F3("indexOf", Field("p"), Str("S"), Int(INT64_MIN)), ev), "0");
  EXPECT_EQ(Value(F3("indexOf", Field("p"), Str("S"), Real(1e300)), ev), "null");
  EXPECT_EQ(Value(F1("string", Int(5))), "\"5\"");
  EXPECT_EQ(Value(F1("string", Real(2.0))), "\"2.0\"");
  EXPECT_EQ(Value(F1("string", Field("n")), ev), "null");
  EXPECT_EQ(Value(F1("number", Str("42"))), "42");
  EXPECT_EQ(Value(F1("number", Str(" -1.5 "))), "-1.5");
  EXPECT_EQ(Value(F1("number", Str("0x1F"))), "31");
  EXPECT_EQ(Value(F2("number", Str("ff"), Int(16))), "255");
  EXPECT_EQ(Value(F2("number", Str("101"), Int(2))), "5");
  EXPECT_EQ(Value(F2("number", Str("1"), Null())), "1");
  EXPECT_EQ(Value(F1("number", Str("abc"))), "null");
  EXPECT_EQ(Value(F1("number", Field("n")), ev), "null");
}

TEST(Eval, MathFunctionsAndCidr) {
  std::printf("checks: add/subtract/multiply/divide/modulo and cidrMatch (v4, v6)\n");
  const char* ev = R"({"a":4,"ip":"10.1.2.3","ip6":"2001:db8::5","bad":"nope"})";
  EXPECT_EQ(Value(F2("add", Field("a"), Int(5)), ev), "9");
  EXPECT_EQ(Value(F2("add", Field("a"), Real(0.5)), ev), "4.5");
  EXPECT_EQ(Value(F2("add", Null(), Int(4))), "null");
  EXPECT_EQ(Value(F2("subtract", Field("a"), Int(6)), ev), "-2");
  EXPECT_EQ(Value(F2("multiply", Field("a"), Int(-2)), ev), "-8");
  EXPECT_EQ(Value(F2("divide", Int(9), Int(2))), "4");
  EXPECT_EQ(Value(F2("divide", Int(9), Int(0))), "null");
  EXPECT_EQ(Value(F2("modulo", Int(9), Int(4))), "1");
  EXPECT_EQ(Eval(Call("cidrMatch", {Field("ip"), Str("10.0.0.0/8")}), ev), T);
  EXPECT_EQ(Eval(Call("cidrMatch", {Field("ip"), Str("192.168.0.0/16"), Str("10.1.2.3/32")}), ev),
            T);
  EXPECT_EQ(Eval(Call("cidrMatch", {Field("ip"), Str("192.168.0.0/16")}), ev), F);
  EXPECT_EQ(Eval(Call("cidrMatch", {Field("ip6"), Str("2001:db8::/32")}), ev), T);
  EXPECT_EQ(Eval(Call("cidrmatch", {Field("ip6"), Str("10.0.0.0/8")}), ev), F);
  EXPECT_EQ(Eval(Call("cidrMatch", {Field("missing"), Str("10.0.0.0/8")}), ev), F);
  EXPECT_EQ(Eval(Not(Call("cidrMatch", {Field("missing"), Str("10.0.0.0/8")})), ev), T);
  EXPECT_EQ(Eval(Call("cidrMatch", {Field("bad"), Str("10.0.0.0/8")}), ev), F);
}

TEST(Eval, DateFieldSemantics) {
  std::printf("checks: @timestamp compared with ISO text and millis; ISO text in events\n");
  auto eq = Eq(Field("@timestamp"), Str("2017-08-30T20:47:33Z"));
  EXPECT_EQ(Eval(eq, R"({"@timestamp":1504126053000})"), T);
  EXPECT_EQ(Eval(eq, R"({"@timestamp":"2017-08-30T20:47:33.000Z"})"), T);
  EXPECT_EQ(Eval(eq, R"({"@timestamp":1504126053001})"), F);
  EXPECT_EQ(Eval(Cmp(Field("@timestamp"), CompareOp::kLt, Str("2017-08-30T20:47:33Z")),
                 R"({"@timestamp":"1"})"),
            T);
  EXPECT_EQ(Eval(Cmp(Field("@timestamp"), CompareOp::kGt, Int(1516116808349)),
                 R"({"@timestamp":"2018-01-16T15:33:28.350Z"})"),
            T);
  EXPECT_NE(ErrorOf(Eq(Field("@timestamp"), Str("yesterday"))), "");
  EXPECT_NE(ErrorOf(Eq(Field("@timestamp"), Real(1e300))), "");
}

TEST(Eval, ConstantFolding) {
  std::printf("checks: constant sub-expressions fold at compile time to the same results\n");
  io::FieldRegistry fields;
  auto c = analysis::CompileCondition(
      And(Eq(Arith(Int(2), ArithOp::kMul, Int(3)), Int(6)), Eq(Field("a"), Int(1))), fields);
  ASSERT_TRUE(c.ok());
  // `6 == 6 and a == 1` folds to just `a == 1`: root is the field predicate.
  const analysis::Program& p = *c.value->program;
  EXPECT_EQ(p.nodes[p.root].op, analysis::Op::kFieldCompare) << p.Explain();
  EXPECT_EQ(Eval(Eq(F2("concat", Str("a"), Str("b")), Str("ab"))), T);
  EXPECT_EQ(Eval(Colon(Str("ABC"), {Str("a*")})), T);
  EXPECT_EQ(Eval(In(Str("x"), {Str("y")})), F);
  EXPECT_EQ(Eval(Eq(Null(), Null())), T);
  EXPECT_EQ(Eval(And(Bool(false), Eq(Field("a"), Null()))), F);
  EXPECT_EQ(Eval(Or(Bool(true), Eq(Field("a"), Null()))), T);
}

TEST(Analysis, Diagnostics) {
  std::printf("checks: unknown function, arity, ~ misuse, argument types, patterns, fields\n");
  EXPECT_NE(ErrorOf(Call("nope", {Int(1)})).find("Unknown function [nope]"), std::string::npos);
  EXPECT_NE(ErrorOf(Eq(Call("length", {}), Int(1))).find("expects 1"), std::string::npos);
  EXPECT_NE(ErrorOf(Eq(F2("add", Int(1), Int(2), true), Int(3))).find("case-insensitive"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Eq(F1("length", Int(1)), Int(1))).find("must be [string]"), std::string::npos);
  EXPECT_NE(ErrorOf(Eq(F2("add", Str("a"), Int(1)), Int(1))).find("must be [number]"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Colon(Field("a"), {Int(1)})).find("string constant"), std::string::npos);
  EXPECT_NE(ErrorOf(Colon(Field("a"), {Field("b")})).find("string constant"), std::string::npos);
  EXPECT_NE(ErrorOf(Match(Field("a"), MatchOp::kRegex, {Str("a(")})).find("regular expression"),
            std::string::npos);
  EXPECT_EQ(ErrorOf(Eq(Field("a"), Field("b"))),
            "Comparisons against fields are not (currently) supported; offender [b] in [==]");
  EXPECT_NE(ErrorOf(In(Field("a"), {Field("b"), Str("x")})).find("offender [b] in [in]"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Call("cidrMatch", {Field("ip"), Str("10.0.0.0/99")})).find("invalid CIDR"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Call("cidrMatch", {Field("ip"), Field("b")})).find("string constants"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Eq(Call("between", {Field("a"), Str("x"), Str("y"), Field("g")}), Str("")))
                .find("greedy"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Str("text")).find("must be boolean"), std::string::npos);
  EXPECT_NE(ErrorOf(Not(Int(1))).find("must be boolean"), std::string::npos);
  EXPECT_NE(ErrorOf(Eq(F2("number", Str("1"), Int(99)), Int(1))).find("base"), std::string::npos);
  ast::Expr indexed = Field("a");
  indexed.path[0].index = 0;
  EXPECT_NE(ErrorOf(Eq(indexed, Int(1))).find("array indexes"), std::string::npos);
  // Several errors are all reported.
  io::FieldRegistry fields;
  auto c = analysis::CompileCondition(And(Call("x", {}), Call("y", {})), fields);
  EXPECT_EQ(c.diagnostics.size(), 2u);
}

TEST(Analysis, DiagnosticPositions) {
  std::printf("checks: a diagnostic carries the line, column and source line of the node\n");
  std::string text = "process where\n  length(1) == 1";
  ast::Expr call = F1("length", Int(1));
  call.args[0].loc = {23, 1, 2, 10};
  io::FieldRegistry fields;
  auto c = analysis::CompileCondition(Eq(call, Int(1)), fields, {}, text);
  ASSERT_FALSE(c.ok());
  const Diagnostic& d = c.diagnostics[0];
  EXPECT_EQ(d.line, 2u);
  EXPECT_EQ(d.column, 10u);
  EXPECT_EQ(d.offset, 23u);
  EXPECT_EQ(d.source_line, "  length(1) == 1");
}

TEST(Analysis, EventQueryCategory) {
  std::printf("checks: category where: exact, case-sensitive, any element; any where: none\n");
  io::FieldRegistry fields;
  ast::EventQuery q;
  q.category = "process";
  q.condition = Eq(Field("a"), Int(1));
  auto c = analysis::CompileEventQuery(q, fields);
  ASSERT_TRUE(c.ok());
  io::JsonProjector projector(fields);
  io::Record r;
  auto matches = [&](const char* json) {
    EXPECT_TRUE(projector.Project(json, r).ok());
    return expr::Matches(c.value->condition, r);
  };
  EXPECT_TRUE(matches(R"({"event":{"category":"process"},"a":1})"));
  EXPECT_TRUE(matches(R"({"event":{"category":["network","process"]},"a":1})"));
  EXPECT_FALSE(matches(R"({"event":{"category":"Process"},"a":1})"));
  EXPECT_FALSE(matches(R"({"a":1})"));
  EXPECT_FALSE(matches(R"({"event":{"category":"process"},"a":2})"));
  EXPECT_EQ(fields.Name(c.value->category_field), "event.category");
  ast::EventQuery any;
  any.is_any = true;
  any.condition = Bool(true);
  auto a = analysis::CompileEventQuery(any, fields);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(projector.Project(R"({})", r).ok());
  EXPECT_TRUE(expr::Matches(a.value->condition, r));
  // Custom category field (the endgame data).
  analysis::CompileOptions options;
  options.category_field = "event_type";
  auto e = analysis::CompileEventQuery(q, fields, options);
  ASSERT_TRUE(e.ok());
  io::JsonProjector p2(fields);
  EXPECT_TRUE(p2.Project(R"({"event_type":"process","a":1})", r).ok());
  EXPECT_TRUE(expr::Matches(e.value->condition, r));
}

TEST(Analysis, KeyValues) {
  std::printf("checks: join-key values: distinct non-null elements; expressions per element\n");
  io::FieldRegistry fields;
  auto key = analysis::CompileKey(Field("user.name"), fields);
  auto expr_key = analysis::CompileKey(F1("length", Field("user.name")), fields);
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(expr_key.ok());
  EXPECT_TRUE(key.value->is_field);
  io::JsonProjector projector(fields);
  io::Record r;
  std::vector<io::Scalar> out;
  ASSERT_TRUE(projector.Project(R"({"user":{"name":["a","b",null,"a"]}})", r).ok());
  expr::KeyValues(*key.value, r, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].s, "a");
  EXPECT_EQ(out[1].s, "b");
  expr::KeyValues(*expr_key.value, r, out);
  ASSERT_EQ(out.size(), 1u);  // both have length 1
  EXPECT_EQ(out[0].i, 1);
  ASSERT_TRUE(projector.Project(R"({"user":{}})", r).ok());
  expr::KeyValues(*key.value, r, out);
  EXPECT_TRUE(out.empty());
  auto optional = analysis::CompileKey(Field("x", true), fields);
  ASSERT_TRUE(optional.ok());
  EXPECT_TRUE(optional.value->optional);
}

TEST(Eval, NoStateLeaksBetweenEvents) {
  std::printf("checks: one compiled condition over many records gives per-record results\n");
  io::FieldRegistry fields;
  auto c = analysis::CompileCondition(
      Or(Colon(Field("cmd"), {Str("*eval(*")}), Eq(F1("length", Field("args")), Int(2))), fields);
  ASSERT_TRUE(c.ok());
  io::JsonProjector projector(fields);
  io::Record r;
  int hits = 0;
  for (int k = 0; k < 1000; ++k) {
    std::string json = k % 3 == 0 ? R"j({"cmd":"node -e EVAL(x)"})j"
                                  : (k % 3 == 1 ? R"({"args":["ab","c"]})" : R"({"cmd":"x"})");
    ASSERT_TRUE(projector.Project(json, r).ok());
    hits += expr::Matches(*c.value, r);
  }
  EXPECT_EQ(hits, 667);
}

}  // namespace
}  // namespace eql
