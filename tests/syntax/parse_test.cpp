// tests/syntax/parse_test.cpp
//
// What the parser accepts, construct by construct: the tree shape of every
// operator (as an S-expression), literals and escapes, field paths, event
// queries, sequences, samples, pipes and comments; the canonical printer;
// locations; and the nesting caps. Every accepted query must also read back
// from its canonical text as the same tree, with newlines or tabs for spaces.
#include "syntax/parse.hpp"

#include <gtest/gtest.h>

#include <iostream>
#include <string>
#include <vector>

#include "syntax_test_util.hpp"

namespace eql::syntax {
namespace {

using testing::Sexpr;

// Parses `query`, failing the test with the diagnostics if it does not parse,
// and checks that the canonical text reads back as the same tree.
ast::Query MustParse(const std::string& query) {
  ParseOutcome out = Parse(query);
  if (!out.ok()) {
    std::string all;
    for (const Diagnostic& d : out.diagnostics) all += d.Format("query");
    ADD_FAILURE() << "did not parse: " << query << "\n" << all;
    return {};
  }
  std::string printed = Print(*out.query);
  ParseOutcome again = Parse(printed);
  EXPECT_TRUE(again.ok()) << "canonical text did not parse: " << printed;
  if (again.ok()) {
    EXPECT_TRUE(again.query->SameAs(*out.query)) << query << "\nprinted: " << printed;
    EXPECT_EQ(Print(*again.query), printed) << "printing is not a fixed point";
  }
  return *out.query;
}

// The condition of `any where <condition>` as an S-expression.
std::string Shape(const std::string& condition) {
  ast::Query q = MustParse("any where " + condition);
  return Sexpr(q.event.condition);
}

struct ShapeCase {
  const char* condition;
  const char* shape;
};

void CheckShapes(const std::vector<ShapeCase>& cases) {
  for (const ShapeCase& c : cases) {
    std::string got = Shape(c.condition);
    std::cout << "  " << c.condition << "  =>  " << got << "\n";
    EXPECT_EQ(got, c.shape) << "condition: " << c.condition;
  }
}

TEST(ParseTest, OperatorPrecedence) {
  CheckShapes({
      {"a or b and c", "(or a (and b c))"},
      {"a and b or c", "(or (and a b) c)"},
      {"a or b or c", "(or (or a b) c)"},
      {"a and b and c", "(and (and a b) c)"},
      // ES: `not` binds looser than comparisons, tighter than and/or.
      {"not a and b", "(and (not a) b)"},
      {"not a == 1", "(not (== a 1))"},
      {"not not a", "(not (not a))"},
      {"not (a or b)", "(not (or a b))"},
      {"a == 1 + 2 * 3", "(== a (+ 1 (* 2 3)))"},
      {"(1 + 2) * 3 == a", "(== (* (+ 1 2) 3) a)"},
      {"a - b - c == 0", "(== (- (- a b) c) 0)"},
      {"a / b % c * d == 0", "(== (* (% (/ a b) c) d) 0)"},
      {"-a * b == 0", "(== (* (neg a) b) 0)"},
      {"a + -b == 0", "(== (+ a (neg b)) 0)"},
      {"+a == 1", "(== a 1)"},
      // Predicates bind to the primary before arithmetic (EqlBase.g4).
      {"a + b : \"x\"", "(+ a (: b \"x\"))"},
      {"-a : \"x\"", "(neg (: a \"x\"))"},
      {"a : \"x\" and b like \"y\"", "(and (: a \"x\") (like b \"y\"))"},
      {"a in (1, 2) or b not in (3)", "(or (in a 1 2) (not-in b 3))"},
  });
}

TEST(ParseTest, Comparisons) {
  CheckShapes({
      {"a == 1", "(== a 1)"},
      {"a != 1", "(!= a 1)"},
      {"a < 1", "(< a 1)"},
      {"a <= 1", "(<= a 1)"},
      {"a > 1", "(> a 1)"},
      {"a >= 1", "(>= a 1)"},
      {"a==1", "(== a 1)"},
      {"1 < a", "(< 1 a)"},
      {"a == b", "(== a b)"},
      {"(a == 1) == true", "(== (== a 1) true)"},
  });
}

TEST(ParseTest, MatchOperators) {
  CheckShapes({
      {"a : \"x*\"", "(: a \"x*\")"},
      {"a : (\"x\", \"y\")", "(: a \"x\" \"y\")"},
      {"a like \"x?\"", "(like a \"x?\")"},
      {"a like~ \"x\"", "(like~ a \"x\")"},
      {"a like (\"x\", \"y\")", "(like a \"x\" \"y\")"},
      {"a like~ (\"x\", \"y\")", "(like~ a \"x\" \"y\")"},
      {"a regex \"[a-z]+\"", "(regex a \"[a-z]+\")"},
      {"a regex~ \"x\"", "(regex~ a \"x\")"},
      {"a regex (\"x\", \"y\")", "(regex a \"x\" \"y\")"},
      {"a regex~ (\"x\", \"y\")", "(regex~ a \"x\" \"y\")"},
      {"a : 1", "(: a 1)"},
      {"a : null", "(: a null)"},
      {"a:\"x\"", "(: a \"x\")"},
  });
}

TEST(ParseTest, InOperators) {
  CheckShapes({
      {"a in (1)", "(in a 1)"},
      {"a in (1, \"x\", null)", "(in a 1 \"x\" null)"},
      {"a in~ (\"x\", \"y\")", "(in~ a \"x\" \"y\")"},
      {"a not in (1, 2)", "(not-in a 1 2)"},
      {"a not in~ (\"x\")", "(not-in~ a \"x\")"},
      {"a in (b, c + 1)", "(in a b (+ c 1))"},
      {"a in(1)", "(in a 1)"},
  });
}

TEST(ParseTest, FunctionCalls) {
  CheckShapes({
      {"startsWith(a, \"x\")", "(call startsWith a \"x\")"},
      {"startsWith~(a, \"x\")", "(call startsWith~ a \"x\")"},
      {"length(a) > 3", "(> (call length a) 3)"},
      {"f()", "(call f)"},
      {"f (a)", "(call f a)"},
      {"add(1, multiply(2, 3)) == 7", "(== (call add 1 (call multiply 2 3)) 7)"},
      {"cidrMatch(ip, \"10.0.0.0/8\", \"192.168.0.0/16\")",
       "(call cidrMatch ip \"10.0.0.0/8\" \"192.168.0.0/16\")"},
      {"not stringContains~(a, \"x\")", "(not (call stringContains~ a \"x\"))"},
  });
}

TEST(ParseTest, Numbers) {
  CheckShapes({
      {"a == 0", "(== a 0)"},
      {"a == 42", "(== a 42)"},
      {"a == -1", "(== a -1)"},
      {"a == - 1", "(== a -1)"},
      {"a == -(1)", "(== a -1)"},
      {"a == - -1", "(== a 1)"},
      {"a == 2.5", "(== a 2.5f)"},
      {"a == -2.5", "(== a -2.5f)"},
      {"a == 1e3", "(== a 1000f)"},
      {"a == 1E3", "(== a 1000f)"},
      {"a == 1.5e-3", "(== a 0.0015f)"},
      {"a == .5", "(== a 0.5f)"},
      {"a == 1.", "(== a 1f)"},
      {"a == 9223372036854775807", "(== a 9223372036854775807)"},
      {"a == -9223372036854775807", "(== a -9223372036854775807)"},
      // Beyond int64, Elasticsearch quietly reads the literal as a double.
      {"a == 9223372036854775808", "(== a 9.223372036854776e+18f)"},
      {"a == -9223372036854775808", "(== a -9.223372036854776e+18f)"},
      {"a == 123456789012345678901234567890", "(== a 1.2345678901234568e+29f)"},
  });
  // The folded literal is a kInt, not a negation node.
  ast::Query q = MustParse("any where -1");
  EXPECT_EQ(q.event.condition.kind, ast::ExprKind::kInt);
  EXPECT_EQ(q.event.condition.integer, -1);
  q = MustParse("any where -a");
  EXPECT_EQ(q.event.condition.kind, ast::ExprKind::kNegate);
}

TEST(ParseTest, BooleansAndNull) {
  CheckShapes({
      {"true", "true"},
      {"false", "false"},
      {"a == null", "(== a null)"},
      {"null == a", "(== null a)"},
      {"a != null and b == true", "(and (!= a null) (== b true))"},
  });
}

TEST(ParseTest, StringsAndEscapes) {
  struct Case {
    const char* literal;
    std::string value;
  };
  const std::vector<Case> cases = {
      {R"("plain")", "plain"},
      {R"("")", ""},
      {R"("a\nb")", "a\nb"},
      {R"("a\rb\tc")", "a\rb\tc"},
      {R"("C:\\Windows\\*")", "C:\\Windows\\*"},
      {R"("say \"hi\"")", "say \"hi\""},
      {R"("it\'s")", "it's"},
      {R"("\u{41}")", "A"},
      {R"("\u{0041}\u{e9}")", "A\xC3\xA9"},
      {R"("\u{1F600}")", "\xF0\x9F\x98\x80"},
      {R"("\u{0001F600}")", "\xF0\x9F\x98\x80"},
      {R"("\u{00}")", std::string(1, '\0')},
      {R"("""C:\path\*""")", "C:\\path\\*"},
      {R"("""a "quoted" b""")", "a \"quoted\" b"},
      {R"("""\n""")", "\\n"},
      {R"("""a""""")", "a\"\""},
      {R"("""a"""")", "a\""},
      {R"("""""")", ""},
      {"\"tab\there\"", "tab\there"},
      {"\"\xC3\xA9t\xC3\xA9\"", "\xC3\xA9t\xC3\xA9"},
  };
  for (const Case& c : cases) {
    ast::Query q = MustParse(std::string("any where a == ") + c.literal);
    const ast::Expr& s = q.event.condition.args.at(1);
    std::cout << "  " << c.literal << "  =>  " << Print(s) << "\n";
    EXPECT_EQ(s.kind, ast::ExprKind::kString) << c.literal;
    EXPECT_EQ(s.text, c.value) << c.literal;
  }
  // The canonical form escapes what needs escaping.
  EXPECT_EQ(Print(MustParse(R"(any where a == """C:\x"y""")")), R"(any where a == "C:\\x\"y")");
  EXPECT_EQ(Print(MustParse(R"(any where a == "\u{01}\u{7f}")")),
            R"(any where a == "\u{01}\u{7F}")");
}

TEST(ParseTest, FieldPaths) {
  CheckShapes({
      {"a", "a"},
      {"process.name", "process.name"},
      {"process.parent.name", "process.parent.name"},
      {"a.b[0].c", "a.b[0].c"},
      {"process.args[12]", "process.args[12]"},
      {"a[0][1]", "a[0][1]"},
      {"?a.b", "?a.b"},
      {"? a.b", "?a.b"},
      {"@timestamp", "@timestamp"},
      {"a.@b", "a.@b"},
      {"_a1.b_2", "_a1.b_2"},
      {"`a.b`", "`a.b`"},
      {"`a b`.c", "`a b`.c"},
      {"`x``y`", "`x`y`"},
      {"`and`", "`and`"},
      {"a.`b-c`", "a.`b-c`"},
      {"?`a`", "?`a`"},
      // Keywords are lowercase only; other spellings are names.
      {"AND == 1", "(== AND 1)"},
      {"Null", "Null"},
  });
  ast::Query q = MustParse("any where a.b[0].`c.d` == 1");
  const ast::Expr& field = q.event.condition.args[0];
  ASSERT_EQ(field.path.size(), 4u);
  EXPECT_EQ(field.path[1].name, "b");
  EXPECT_EQ(field.path[2].index, 0);
  EXPECT_TRUE(field.path[2].name.empty());
  EXPECT_TRUE(field.path[3].quoted);
  EXPECT_EQ(field.path[3].name, "c.d");
  EXPECT_EQ(field.FieldName(), "a.b[0].c.d");
  EXPECT_EQ(Print(field), "a.b[0].`c.d`");
}

TEST(ParseTest, EventQueries) {
  struct Case {
    const char* query;
    const char* category;
    bool is_any;
    const char* printed;
  };
  const std::vector<Case> cases = {
      {"process where true", "process", false, "process where true"},
      {"any where true", "", true, "any where true"},
      {"Process where true", "Process", false, "Process where true"},
      {"\"process\" where true", "process", false, "process where true"},
      {"\"my-category\" where true", "my-category", false, "\"my-category\" where true"},
      {"\"1st\" where true", "1st", false, "\"1st\" where true"},
      // Found by fuzz_parse: printed bare, `@` did not read back as a category.
      {"\"@\" where true", "@", false, "\"@\" where true"},
      {"\"any\" where true", "any", false, "\"any\" where true"},
      {"\"\"\"raw cat\"\"\" where true", "raw cat", false, "\"raw cat\" where true"},
      {"process where process.name == \"x\"", "process", false,
       "process where process.name == \"x\""},
      {"  process\n\twhere\ntrue  ", "process", false, "process where true"},
  };
  for (const Case& c : cases) {
    ast::Query q = MustParse(c.query);
    std::cout << "  " << c.query << "  =>  " << Print(q) << "\n";
    EXPECT_EQ(q.kind, ast::QueryKind::kEvent);
    EXPECT_EQ(q.event.category, c.category) << c.query;
    EXPECT_EQ(q.event.is_any, c.is_any) << c.query;
    EXPECT_EQ(Print(q), c.printed) << c.query;
  }
}

TEST(ParseTest, CanonicalPrinting) {
  struct Case {
    const char* query;
    const char* printed;
  };
  const std::vector<Case> cases = {
      {"any where (a)", "any where a"},
      {"any where ((a == 1))", "any where a == 1"},
      {"any where a or (b and c)", "any where a or b and c"},
      {"any where (a or b) and c", "any where (a or b) and c"},
      {"any where a or (b or c)", "any where a or (b or c)"},
      {"any where not (a and b)", "any where not (a and b)"},
      {"any where (not a) and b", "any where not a and b"},
      {"any where a - (b - c) == 1", "any where a - (b - c) == 1"},
      {"any where (a * b) + c == 1", "any where a * b + c == 1"},
      {"any where -(a + b) == 1", "any where -(a + b) == 1"},
      {"any where (-1) : \"x\"", "any where (-1) : \"x\""},
      {"any where (a + b) : \"x\"", "any where (a + b) : \"x\""},
      {"any where a:(\"x\")", "any where a : \"x\""},
      {"any where a : (\"x\",\"y\")", "any where a : (\"x\", \"y\")"},
      {"any where a not in~(1,2)", "any where a not in~ (1, 2)"},
      {"any where startsWith~ (a,\"b\")", "any where startsWith~(a, \"b\")"},
      {"any where a == 1.0", "any where a == 1.0"},
      {"any where a == 1e3", "any where a == 1000.0"},
      {"any where a == 0.1", "any where a == 0.1"},
      {"any where a == 1e300", "any where a == 1e+300"},
  };
  for (const Case& c : cases) {
    ast::Query q = MustParse(c.query);
    std::cout << "  " << c.query << "  =>  " << Print(q) << "\n";
    EXPECT_EQ(Print(q), c.printed) << c.query;
  }
}

TEST(ParseTest, Sequences) {
  ast::Query q = MustParse(
      "sequence by host.id, user.name with maxspan=10s\n"
      "  [process where a == 1] by process.pid\n"
      "  [network where true] by process.ppid with runs=3\n"
      "  ![file where true] by x\n"
      "until [process where stop] by process.pid");
  ASSERT_EQ(q.kind, ast::QueryKind::kSequence);
  const ast::Sequence& s = q.sequence;
  ASSERT_EQ(s.by.size(), 2u);
  EXPECT_EQ(s.by[1].FieldName(), "user.name");
  ASSERT_TRUE(s.maxspan.has_value());
  EXPECT_EQ(s.maxspan->value, 10);
  EXPECT_EQ(s.maxspan->unit, "s");
  EXPECT_EQ(s.maxspan->millis, 10'000);
  ASSERT_EQ(s.stages.size(), 3u);
  EXPECT_EQ(s.stages[0].query.category, "process");
  EXPECT_EQ(s.stages[0].by.at(0).FieldName(), "process.pid");
  EXPECT_EQ(s.stages[1].runs, 3);
  EXPECT_FALSE(s.stages[1].missing);
  EXPECT_TRUE(s.stages[2].missing);
  ASSERT_TRUE(s.until.has_value());
  EXPECT_EQ(s.until->query.category, "process");
  EXPECT_EQ(s.until->by.size(), 1u);
  std::cout << Print(q) << "\n";
  EXPECT_EQ(Print(q),
            "sequence by host.id, user.name with maxspan=10s\n"
            "  [process where a == 1] by process.pid\n"
            "  [network where true] by process.ppid with runs=3\n"
            "  ![file where true] by x\n"
            "until\n"
            "  [process where stop] by process.pid");

  // No keys, no maxspan; one stage repeated with runs.
  q = MustParse("sequence [a where true] with runs=2");
  EXPECT_EQ(q.sequence.stages.size(), 1u);
  EXPECT_EQ(q.sequence.stages[0].runs, 2);
  EXPECT_FALSE(q.sequence.maxspan.has_value());
  q = MustParse("sequence with maxspan=1h [a where true] [b where true]");
  EXPECT_TRUE(q.sequence.by.empty());

  struct Span {
    const char* text;
    int64_t value;
    const char* unit;
    int64_t millis;
  };
  for (const Span& span : std::vector<Span>{{"250ms", 250, "ms", 250},
                                            {"30s", 30, "s", 30'000},
                                            {"5m", 5, "m", 300'000},
                                            {"2h", 2, "h", 7'200'000},
                                            {"1d", 1, "d", 86'400'000},
                                            {"10 s", 10, "s", 10'000}}) {
    q = MustParse(std::string("sequence with maxspan=") + span.text +
                  " [a where true] [b where true]");
    ASSERT_TRUE(q.sequence.maxspan.has_value()) << span.text;
    EXPECT_EQ(q.sequence.maxspan->value, span.value) << span.text;
    EXPECT_EQ(q.sequence.maxspan->unit, span.unit) << span.text;
    EXPECT_EQ(q.sequence.maxspan->millis, span.millis) << span.text;
  }

  // Missing stages leading, inner and trailing.
  q = MustParse(
      "sequence by k with maxspan=1m ![a where true] [b where true] ![c where true] "
      "[d where true] ![e where true]");
  ASSERT_EQ(q.sequence.stages.size(), 5u);
  EXPECT_TRUE(q.sequence.stages[0].missing);
  EXPECT_FALSE(q.sequence.stages[1].missing);
  EXPECT_TRUE(q.sequence.stages[4].missing);

  // A stage category may be quoted; keys may be any expression.
  q = MustParse("sequence [\"a-b\" where true] by f(x) [any where true] by ?y");
  EXPECT_EQ(q.sequence.stages[0].query.category, "a-b");
  EXPECT_EQ(Sexpr(q.sequence.stages[0].by[0]), "(call f x)");
  EXPECT_TRUE(q.sequence.stages[1].query.is_any);
  EXPECT_EQ(Sexpr(q.sequence.stages[1].by[0]), "?y");
}

TEST(ParseTest, Samples) {
  ast::Query q =
      MustParse("sample by host.id [process where true] by a [network where b == 1] by c");
  ASSERT_EQ(q.kind, ast::QueryKind::kSample);
  EXPECT_EQ(q.sample.by.size(), 1u);
  ASSERT_EQ(q.sample.stages.size(), 2u);
  EXPECT_EQ(q.sample.stages[1].by.at(0).FieldName(), "c");
  std::cout << Print(q) << "\n";
  EXPECT_EQ(Print(q),
            "sample by host.id\n  [process where true] by a\n  [network where b == 1] by c");
  q = MustParse("sample [a where true] by x [b where true] by y [c where true] by z");
  EXPECT_TRUE(q.sample.by.empty());
  EXPECT_EQ(q.sample.stages.size(), 3u);
}

TEST(ParseTest, Pipes) {
  ast::Query q = MustParse("process where true | head 5");
  ASSERT_EQ(q.pipes.size(), 1u);
  EXPECT_EQ(q.pipes[0].name, "head");
  EXPECT_EQ(q.pipes[0].count, 5);
  q = MustParse("sequence [a where true] [b where true] | tail 3 | head 0");
  ASSERT_EQ(q.pipes.size(), 2u);
  EXPECT_EQ(q.pipes[0].name, "tail");
  EXPECT_EQ(q.pipes[0].count, 3);
  EXPECT_EQ(q.pipes[1].name, "head");
  EXPECT_EQ(q.pipes[1].count, 0);
  EXPECT_EQ(Print(q), "sequence\n  [a where true]\n  [b where true] | tail 3 | head 0");
  q = MustParse("sample by a [x where true] [y where true]|head 1");
  EXPECT_EQ(q.pipes.at(0).count, 1);
}

TEST(ParseTest, Comments) {
  const std::vector<std::string> queries = {
      "// leading comment\nprocess where true",
      "process where true // trailing comment",
      "process /* c */ where /* c */ true",
      "process where a == 1 /* a\nmulti-line\ncomment */ and b == 2",
      "process where /* nested /* comments */ still comment */ true",
      "process where a/*x*/==/*y*/1",
      "sequence by a // the key\n  [process where true] // one\n  [file where true] // two\n",
      "process where true | head 1 // done",
      "process where a == \"// not a comment\"",
      "process where a == 4 / 2",
      "/**/process where true/**/",
  };
  for (const std::string& query : queries) {
    ast::Query q = MustParse(query);
    std::cout << "  " << query << "\n    =>  " << Print(q) << "\n";
  }
  EXPECT_EQ(Print(MustParse(queries[3])), "process where a == 1 and b == 2");
  EXPECT_EQ(Print(MustParse(queries[8])), "process where a == \"// not a comment\"");
  EXPECT_EQ(Sexpr(MustParse(queries[9]).event.condition), "(== a (/ 4 2))");
}

// Falco's habit: an accepted query is accepted the same with its spaces
// replaced by newlines or tabs.
TEST(ParseTest, WhitespaceVariants) {
  const std::vector<std::string> queries = {
      "process where a == 1 and not b in (1, 2) or c : \"x\"",
      "sequence by a with maxspan=5m [process where true] by b [file where x < 2] by c until [c "
      "where true] by d",
      "sample by a [process where true] [file where f(a, b) == 1]",
      "any where a regex~ (\"x\", \"y\") | head 3 | tail 1",
  };
  for (const std::string& query : queries) {
    ast::Query base = MustParse(query);
    for (char ws : {'\n', '\t'}) {
      std::string variant;
      bool in_string = false;
      for (char c : query) {
        if (c == '"') in_string = !in_string;
        variant += (c == ' ' && !in_string) ? ws : c;
      }
      ast::Query other = MustParse(variant);
      EXPECT_TRUE(other.SameAs(base)) << "variant: " << variant;
    }
  }
}

TEST(ParseTest, Locations) {
  ParseOutcome out = Parse("process where a.b == \"x\" and\n  f(c) : 1");
  ASSERT_TRUE(out.ok());
  const ast::Expr& cond = out.query->event.condition;  // and
  EXPECT_EQ(cond.loc.offset, 14u);
  const ast::Expr& eq = cond.args[0];
  EXPECT_EQ(eq.loc.offset, 14u);
  EXPECT_EQ(eq.loc.length, 10u);  // a.b == "x"
  EXPECT_EQ(eq.args[0].loc.column, 15u);
  EXPECT_EQ(eq.args[0].loc.length, 3u);
  EXPECT_EQ(eq.args[1].loc.offset, 21u);
  EXPECT_EQ(eq.args[1].loc.length, 3u);
  const ast::Expr& match = cond.args[1];
  EXPECT_EQ(match.loc.line, 2u);
  EXPECT_EQ(match.loc.column, 3u);
  EXPECT_EQ(match.loc.length, 8u);  // f(c) : 1
  EXPECT_EQ(match.args[0].kind, ast::ExprKind::kCall);
  EXPECT_EQ(match.args[0].loc.length, 4u);  // f(c)
  EXPECT_EQ(match.args[0].args[0].loc.column, 5u);
  EXPECT_EQ(cond.loc.length, 25u);  // to the end of the text
  EXPECT_EQ(out.query->event.loc.offset, 0u);

  out = Parse("sequence by k with maxspan=2s\n [a where -x] by y\n ![b where true] by z | head 2");
  ASSERT_TRUE(out.ok());
  const ast::Sequence& s = out.query->sequence;
  EXPECT_EQ(s.loc.offset, 0u);
  EXPECT_EQ(s.maxspan->loc.column, 28u);
  EXPECT_EQ(s.maxspan->loc.length, 2u);
  EXPECT_EQ(s.stages[0].loc.line, 2u);
  EXPECT_EQ(s.stages[0].loc.column, 2u);
  EXPECT_EQ(s.stages[0].loc.length, 17u);  // [a where -x] by y
  EXPECT_EQ(s.stages[0].query.condition.kind, ast::ExprKind::kNegate);
  EXPECT_EQ(s.stages[0].query.condition.loc.column, 11u);
  EXPECT_EQ(s.stages[0].query.condition.loc.length, 2u);
  EXPECT_EQ(s.stages[0].by[0].loc.column, 18u);
  EXPECT_EQ(s.stages[1].loc.line, 3u);
  EXPECT_EQ(s.stages[1].loc.column, 2u);
  EXPECT_EQ(out.query->pipes[0].loc.line, 3u);
  EXPECT_EQ(out.query->pipes[0].loc.column, 25u);
  EXPECT_EQ(out.query->pipes[0].loc.length, 6u);  // head 2
}

TEST(ParseTest, NestingWithinLimits) {
  // kMaxDepth levels: the top expression plus 199 parentheses.
  std::string deep =
      "any where " + std::string(kMaxDepth - 1, '(') + "a" + std::string(kMaxDepth - 1, ')');
  EXPECT_TRUE(Parse(deep).ok());
  std::string nots = "any where ";
  for (int i = 0; i < kMaxDepth - 1; ++i) nots += "not ";
  EXPECT_TRUE(Parse(nots + "a").ok());
  // A long flat chain is fine up to kMaxTreeDepth operators.
  std::string chain = "any where a";
  for (int i = 0; i < kMaxTreeDepth - 1; ++i) chain += " or a";
  ParseOutcome out = Parse(chain);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(Parse(Print(*out.query)).ok());
  // Lists do not nest: ten thousand values are one level.
  std::string list = "any where a in (0";
  for (int i = 1; i < 10000; ++i) list += ", " + std::to_string(i);
  out = Parse(list + ")");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out.query->event.condition.args.size(), 10001u);
}

TEST(ParseTest, SameAsAndFieldName) {
  ast::Query a = MustParse("any where x == 1");
  ast::Query b = MustParse("any   where   x==1");
  EXPECT_TRUE(a.SameAs(b));  // locations differ
  EXPECT_FALSE(a.SameAs(MustParse("any where x == 2")));
  EXPECT_FALSE(a.SameAs(MustParse("any where x != 1")));
  EXPECT_FALSE(a.SameAs(MustParse("any where x == 1.0")));
  EXPECT_FALSE(a.SameAs(MustParse("any where ?x == 1")));
  EXPECT_FALSE(a.SameAs(MustParse("any where `x` == 1")));
  EXPECT_FALSE(a.SameAs(MustParse("process where x == 1")));
  EXPECT_FALSE(a.SameAs(MustParse("any where x == 1 | head 1")));
  EXPECT_FALSE(MustParse("any where a like \"x\"").SameAs(MustParse("any where a like~ \"x\"")));
  EXPECT_FALSE(MustParse("any where a in (1)").SameAs(MustParse("any where a not in (1)")));
  EXPECT_FALSE(MustParse("sequence with maxspan=1s [a where true] [b where true]")
                   .SameAs(MustParse("sequence with maxspan=1s [a where true] ![b where true]")));
  EXPECT_FALSE(
      MustParse("sequence with maxspan=1s [a where true] [b where true]")
          .SameAs(MustParse("sequence with maxspan=1000ms [a where true] [b where true]")));
  EXPECT_EQ(MustParse("any where process.args[0] == 1").event.condition.args[0].FieldName(),
            "process.args[0]");
  EXPECT_EQ(MustParse("any where ?a.b == 1").event.condition.args[0].FieldName(), "a.b");
}

TEST(DiagnosticTest, FormatDrawsCaret) {
  Diagnostic d = Diagnostic::At("process where name ==", 21, 1, "expected an expression");
  EXPECT_EQ(d.line, 1u);
  EXPECT_EQ(d.column, 22u);
  EXPECT_EQ(d.Format("rule.eql"),
            "rule.eql:1:22: error: expected an expression\n"
            "  process where name ==\n"
            "                       ^\n");
  d = Diagnostic::At("process where\n  a = 1\n", 18, 1, "no '='");
  EXPECT_EQ(d.line, 2u);
  EXPECT_EQ(d.column, 5u);
  EXPECT_EQ(d.source_line, "  a = 1");
  EXPECT_EQ(d.Format(), "2:5: error: no '='\n    a = 1\n      ^\n");
  d = Diagnostic::At("any where abc", 10, 3, "x");
  EXPECT_EQ(d.Format(), "1:11: error: x\n  any where abc\n            ^~~\n");
}

}  // namespace
}  // namespace eql::syntax
