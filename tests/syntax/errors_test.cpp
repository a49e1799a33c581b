// tests/syntax/errors_test.cpp
//
// Malformed queries: each must be rejected with the exact line, column and
// message (Falco's test_reject_msg), and never with an exception. The
// messages name what was expected and, for rules Elasticsearch enforces,
// use its wording.
#include <gtest/gtest.h>
#include <pthread.h>

#include <iostream>
#include <string>
#include <vector>

#include "syntax/parse.hpp"

namespace eql::syntax {
namespace {

struct RejectCase {
  std::string query;
  uint32_t line;
  uint32_t column;
  std::string message;
};

// clang-format off
const std::vector<RejectCase>& Cases() {
  static const std::vector<RejectCase> cases = {
      {"process where a = 1", 1, 17,
       "'=' is not supported; use '==' (case-sensitive) or ':' (case-insensitive) to compare"},
      {"process where name ==", 1, 22,
       "expected an expression after '==', found the end of the query"},
      {"process where (a == 1", 1, 22,
       "expected ')' to close the '(' opened at 1:15, found the end of the query"},
      {"sequence [process where true", 1, 29,
       "expected ']' to close the stage opened at 1:10, found the end of the query"},
      {"process where f(a, )", 1, 20,
       "expected an expression after ',', found ')'"},
      {"process where a in (\"x\",", 1, 25,
       "expected an expression after ',', found the end of the query"},
      {"process where a :", 1, 18,
       "expected a constant or a parenthesized list of constants after ':', found the end of the query"},
      {"process where a in 1", 1, 20,
       "expected '(' and a list of values after 'in', found '1'"},
      {"process where a == 'x'", 1, 20,
       "Use double quotes [\"] to define string literals, not single quotes [']"},
      {"process where ?\"x\" == a", 1, 15,
       "Use triple double quotes [\"\"\"] to define unescaped string literals, not [?\"]"},
      {"process where a.and == 1", 1, 17,
       "'and' is a keyword; write `and` in backticks to use it as a field name"},
      {"process where child of [process where true]", 1, 15,
       "Process relationships are not supported"},
      {"process where 1e999 == 1", 1, 15,
       "Number [1e999] is too large"},
      {"process where x == \"abc", 1, 20,
       "unterminated string: expected '\"' to close it (a string cannot span lines; write \\n)"},
      {"process where x == \"a\\qb\"", 1, 22,
       "invalid escape sequence \\q (use \\n, \\r, \\t, \\\\, \\\", \\', \\u{XXXX} or a raw \"\"\"string\"\"\")"},
      {"process where x == \"\\u{1}\"", 1, 21,
       "invalid unicode escape: expected \\u{XXXX} with 2 to 8 hex digits"},
      {"process where x == \"\\u{D800}\"", 1, 21,
       "invalid unicode escape: not a Unicode scalar value"},
      {"process where x == \"\"\"abc", 1, 20,
       "unterminated raw string: expected \"\"\" to close it (a raw string cannot span lines)"},
      {"process where `abc == 1", 1, 15,
       "unterminated quoted field name: expected '`'"},
      {"process where a.b[x] == 1", 1, 18,
       "expected an array index like [0] after the field name"},
      {"process where a. == 1", 1, 17,
       "expected a field name after '.'"},
      {"process where true | count", 1, 22,
       "Pipe [count] is not supported"},
      {"process where true | head", 1, 26,
       "Pipe [head] expects a non-negative whole number, found the end of the query"},
      {"process where true | head -1", 1, 27,
       "Pipe [head] expects a non-negative whole number, found '-'"},
      {"process where true | head 1.5", 1, 27,
       "expected a whole number, found '1.5'"},
      {"process where true | unique a, b", 1, 22,
       "Pipe [unique] is not supported"},
      {"process where x == 1 == 2", 1, 22,
       "comparisons cannot be chained; combine them with 'and'"},
      {"process WHERE true", 1, 9,
       "expected 'where' after the event category, found 'WHERE' (keywords are lowercase: 'where')"},
      {"process", 1, 8,
       "expected 'where' after the event category, found the end of the query"},
      {"where", 1, 1,
       "expected a query: an event query (category where condition), a sequence or a sample, found 'where'"},
      {"process where true and", 1, 23,
       "expected an expression after 'and', found the end of the query"},
      {"process where not", 1, 18,
       "expected an expression after 'not', found the end of the query"},
      {"sequence with maxspan=1.5s [a where true] [b where true]", 1, 23,
       "Decimal time interval [1.5] not supported"},
      {"sequence with maxspan=10 [a where true] [b where true]", 1, 23,
       "No time unit specified, did you mean [s] as in [10s]?"},
      {"sequence with maxspan=10x [a where true] [b where true]", 1, 25,
       "Unrecognized time unit [x] in [10x], please specify one of [ms, s, m, h, d]"},
      {"sequence with maxspan=0s [a where true] [b where true]", 1, 23,
       "maxspan must be a positive duration, got [0s]"},
      {"sequence with maxspan=1s by a [a where true] [b where true]", 1, 26,
       "Please specify sequence [by] before [with] not after"},
      {"sequence by a [a where true] [b where true] by c", 1, 48,
       "Inconsistent number of join keys specified: expected 1 (as in the first stage) but found 2"},
      {"sequence [a where true] by a [b where true]", 1, 30,
       "Inconsistent number of join keys specified: expected 1 (as in the first stage) but found 0"},
      {"sequence [a where true] ![b where true]", 1, 25,
       "a sequence with a missing event stage ![...] requires [with maxspan=...]"},
      {"sequence with maxspan=1s ![a where true] ![b where true]", 1, 1,
       "a sequence needs at least one positive stage, not only missing event stages ![...]"},
      {"sequence [a where true]", 1, 1,
       "a sequence needs at least 2 stages (or one with runs=N), found 1"},
      {"sequence [a where true] with runs=0 [b where true]", 1, 30,
       "runs must be between 1 and 100, got [0]"},
      {"sequence [a where true] with runs=101 [b where true]", 1, 30,
       "runs must be between 1 and 100, got [101]"},
      {"sequence [a where true] with foo=2 [b where true]", 1, 30,
       "Unrecognized option [foo], expecting [runs]"},
      {"sequence [a where true] [b where true] until ![c where true]", 1, 46,
       "[until] cannot be a missing event stage"},
      {"sample by a [a where true]", 1, 27,
       "expected a stage in square brackets ([category where ...]), found the end of the query"},
      {"sample by a with maxspan=1s [a where true] [b where true]", 1, 13,
       "sample does not support [with maxspan]"},
      {"sample by a [a where true] [b where true] until [c where true]", 1, 43,
       "sample does not support [until]"},
      {"sample by a [a where true] with runs=2 [b where true]", 1, 13,
       "sample does not support [with runs]"},
      {"sample by a ![a where true] [b where true]", 1, 13,
       "sample does not support missing event stages ![...]"},
      {"join [a where true] [b where true]", 1, 1,
       "Join is not supported"},
      {"process where a /* open", 1, 17,
       "unterminated comment: expected '*/' to close it"},
      {"process where a : (\"x\", b)", 1, 25,
       "expected a constant after ',', found 'b'"},
      {"process where a like", 1, 21,
       "expected a constant or a parenthesized list of constants after 'like', found the end of the query"},
      {"process where a not like \"x\"", 1, 21,
       "expected 'in' or 'in~' after 'not', found 'like' (to negate a condition, put 'not' before it)"},
      {"process where f(a", 1, 18,
       "expected ')' to close the '(' opened at 1:16, found the end of the query"},
      {"process where a b", 1, 17,
       "expected the end of the query or a pipe ('|'), found 'b'"},
      {"process where a.b[0] ==", 1, 24,
       "expected an expression after '==', found the end of the query"},
      {"process where true |", 1, 21,
       "expected a pipe (head N or tail N) after '|', found the end of the query"},
      {"process where true | tail 5 | head", 1, 35,
       "Pipe [head] expects a non-negative whole number, found the end of the query"},
      {"process where a in ()", 1, 21,
       "expected an expression after '(', found ')'"},
      {"process where ()", 1, 16,
       "expected an expression after '(', found ')'"},
      {"sequence by a with maxspan=1s [a where true] [b where true] |", 1, 62,
       "expected a pipe (head N or tail N) after '|', found the end of the query"},
      {"process where a = = 1", 1, 17,
       "'=' is not supported; use '==' (case-sensitive) or ':' (case-insensitive) to compare"},
      {"process where", 1, 14,
       "expected an expression after 'where', found the end of the query"},
      {"process where\n  a = 1", 2, 5,
       "'=' is not supported; use '==' (case-sensitive) or ':' (case-insensitive) to compare"},
      {"sequence by a\n  [process where true]\n  [file where (x == 1]", 3, 22,
       "expected ')' to close the '(' opened at 3:15, found ']'"},
      {"process where true\n| count", 2, 3,
       "Pipe [count] is not supported"},
      {"process where a == 1 and\n", 1, 25,
       "expected an expression after 'and', found the end of the query"},
      {"process where x == 1 and\ny = 2", 2, 3,
       "'=' is not supported; use '==' (case-sensitive) or ':' (case-insensitive) to compare"},
      {"sequence\n  [a where true]\n  [b where x == \"unterminated\n]", 3, 17,
       "unterminated string: expected '\"' to close it (a string cannot span lines; write \\n)"},
      {"sequence by a, b [a where true] by c [b where true] by d, e", 1, 56,
       "Inconsistent number of join keys specified: expected 3 (as in the first stage) but found 4"},
      {"process where a in (1, 2", 1, 25,
       "expected ')' to close the '(' opened at 1:20, found the end of the query"},
      {"process where a regex~", 1, 23,
       "expected a constant or a parenthesized list of constants after 'regex~', found the end of the query"},
      {"process where f(,)", 1, 17,
       "expected ')' to close the '(' opened at 1:16, found ','"},
      {"process where `` == 1", 1, 15,
       "empty quoted field name"},
      {"any where a == 1 /* ok */ |", 1, 28,
       "expected a pipe (head N or tail N) after '|', found the end of the query"},
      // Empty and blank input: the position is the end, the message says what a query is.
      // Found by fuzz_parse: the span in milliseconds overflowed int64.
      {"sequence with maxspan=111717994497d [a where true] [b where true]", 1, 23,
       "maxspan is too large"},
      {"", 1, 1,
       "expected a query: an event query (category where condition), a sequence or a sample"},
      // Regression: this once said "found the character 0x0a" (the newline
      // after the comment, where the caret points).
      {"  // only a comment\n", 1, 20,
       "expected a query: an event query (category where condition), a sequence or a sample"},
      {"process where ? == 1", 1, 17,
       "expected a field name after '?'"},
      {"process where a[1", 1, 16,
       "expected an array index like [0] after the field name"},
      {"process where a ~ b", 1, 17,
       "expected the end of the query or a pipe ('|'), found '~'"},
      {"process where a in~ 1", 1, 21,
       "expected '(' and a list of values after 'in~', found '1'"},
      {"sequence with maxspan=-1s [a where true] [b where true]", 1, 23,
       "expected a duration such as 10s (units ms, s, m, h, d) after 'maxspan=', found '-'"},
      {"sequence with [a where true] [b where true]", 1, 15,
       "expected 'maxspan=' and a duration after 'with', found '['"},
      {"sequence [a where true] [b where true] until", 1, 45,
       "expected a stage in square brackets after 'until', found the end of the query"},
      {"process where \"\\u{110000}\" == a", 1, 16,
       "invalid unicode escape: not a Unicode scalar value"},
      {"process where \"\\u{123456789}\" == a", 1, 16,
       "invalid unicode escape: expected \\u{XXXX} with 2 to 8 hex digits"},
      {"process where a == \"\\u41\"", 1, 21,
       "invalid unicode escape: expected \\u{XXXX} with 2 to 8 hex digits"},
      {"process where 1 +", 1, 18,
       "expected an expression after '+', found the end of the query"},
      {"process where a * ", 1, 18,
       "expected an expression after '*', found the end of the query"},
      {"process where -", 1, 16,
       "expected an expression after '-', found the end of the query"},
      {"process where (a == 1))", 1, 23,
       "expected the end of the query or a pipe ('|'), found ')'"},
      {"process where a == 1 | head 99999999999999", 1, 29,
       "Number [99999999999999] is too large"},
      {"process where a.b.", 1, 19,
       "expected a field name after '.'"},
      {"sequence [a where true] with runs 2 [b where true]", 1, 35,
       "expected '=', found '2'"},
      {"process where a == 1 | sort a | head 1", 1, 24,
       "Pipe [sort] is not supported"},
      {"sample [a where true] [b where true] by x", 1, 41,
       "Inconsistent number of join keys specified: expected 0 (as in the first stage) but found 1"},
      {"process where a == 1 | filter a == 2", 1, 24,
       "Pipe [filter] is not supported"},

  };
  return cases;
}
// clang-format on

TEST(ErrorsTest, RejectedWithPositionAndMessage) {
  ASSERT_GE(Cases().size(), 30u);
  for (const RejectCase& c : Cases()) {
    ParseOutcome out = Parse(c.query);
    ASSERT_FALSE(out.ok()) << "accepted: " << c.query;
    ASSERT_FALSE(out.diagnostics.empty()) << c.query;
    const Diagnostic& d = out.diagnostics.front();
    std::cout << d.Format();
    EXPECT_EQ(d.line, c.line) << c.query;
    EXPECT_EQ(d.column, c.column) << c.query;
    EXPECT_EQ(d.message, c.message) << c.query;
    EXPECT_GE(d.length, 1u);
    // The caret line is the line the position names.
    size_t start = 0;
    for (uint32_t l = 1; l < d.line; ++l) start = c.query.find('\n', start) + 1;
    EXPECT_EQ(d.source_line, c.query.substr(start, c.query.find('\n', start) - start));
  }
  std::cout << Cases().size() << " malformed queries rejected as expected\n";
}

TEST(ErrorsTest, NestingTooDeepIsADiagnostic) {
  struct Deep {
    const char* what;
    std::string query;
  };
  const int n = 100000;
  std::string nots;
  for (int i = 0; i < n; ++i) nots += "not ";
  std::string calls;
  for (int i = 0; i < n; ++i) calls += "f(";
  std::string ins;
  for (int i = 0; i < n; ++i) ins += "a in (";
  std::string ands;
  for (int i = 0; i < n; ++i) ands += "a and ";
  std::string sums;
  for (int i = 0; i < n; ++i) sums += "1 + ";
  const std::vector<Deep> cases = {
      {"parentheses", "any where " + std::string(n, '(') + "a" + std::string(n, ')')},
      {"exactly one level too many",
       "any where " + std::string(kMaxDepth, '(') + "a" + std::string(kMaxDepth, ')')},
      {"not", "any where " + nots + "a"},
      {"unary minus", "any where " + std::string(n, '-') + "a"},
      {"calls", "any where " + calls + "a"},
      {"in lists", "any where " + ins + "a"},
      {"and chain", "any where " + ands + "a"},
      {"arithmetic chain", "any where " + sums + "a == 1"},
      {"in a stage", "sequence [a where " + std::string(n, '(') + "] [b where true]"},
      {"in a join key", "sequence by " + std::string(n, '(') + " [a where true]"},
  };
  for (const Deep& c : cases) {
    ParseOutcome out = Parse(c.query);
    ASSERT_FALSE(out.ok()) << c.what;
    const std::string& message = out.diagnostics.at(0).message;
    std::cout << "  " << c.what << ": " << message << "\n";
    EXPECT_TRUE(message.starts_with("expression nested too deeply") ||
                message.starts_with("expression too deep"))
        << c.what << ": " << message;
  }
}

// A thread with a small stack (256 KiB) gets a diagnostic instead of a stack
// overflow, and can still parse ordinary queries.
TEST(ErrorsTest, SmallThreadStackIsADiagnostic) {
  struct Result {
    bool deep_ok = true;
    std::string deep_message;
    bool plain_ok = false;
  } result;
  auto body = [](void* arg) -> void* {
    auto* r = static_cast<Result*>(arg);
    std::string deep =
        "any where " + std::string(kMaxDepth - 1, '(') + "a" + std::string(kMaxDepth - 1, ')');
    ParseOutcome out = Parse(deep);
    r->deep_ok = out.ok();
    if (!out.ok()) r->deep_message = out.diagnostics.at(0).message;
    r->plain_ok = Parse("sequence by a with maxspan=1s [b where ((c == 1))] [d where e]").ok();
    return nullptr;
  };
  pthread_attr_t attr;
  ASSERT_EQ(pthread_attr_init(&attr), 0);
  ASSERT_EQ(pthread_attr_setstacksize(&attr, 256 * 1024), 0);
  pthread_t thread;
  ASSERT_EQ(pthread_create(&thread, &attr, body, &result), 0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  std::cout << "  256 KiB thread, " << kMaxDepth - 1
            << " parentheses: " << (result.deep_ok ? "parsed" : result.deep_message) << "\n";
  EXPECT_TRUE(result.plain_ok);
  if (!result.deep_ok) {
    EXPECT_TRUE(result.deep_message.starts_with("expression nested too deeply"))
        << result.deep_message;
  }
}

TEST(ErrorsTest, OldSyntaxGetsAHint) {
  // Elasticsearch 7.x spellings that 8.x rejects.
  EXPECT_EQ(Parse("process where a == 'x'").diagnostics.at(0).message,
            "Use double quotes [\"] to define string literals, not single quotes [']");
  EXPECT_EQ(Parse("process where a == ?'x'").diagnostics.at(0).message,
            "Use triple double quotes [\"\"\"] to define unescaped string literals, not [?']");
  EXPECT_NE(Parse("process where a = 1").diagnostics.at(0).message.find("'=='"), std::string::npos);
}

TEST(ErrorsTest, BinaryGarbageNeverThrows) {
  // Every byte value, alone and after a valid prefix.
  for (int b = 0; b < 256; ++b) {
    std::string one(1, static_cast<char>(b));
    EXPECT_NO_THROW((void)Parse(one));
    EXPECT_NO_THROW((void)Parse("process where a == " + one));
    EXPECT_NO_THROW((void)Parse("process where \"" + one));
    EXPECT_NO_THROW((void)Parse("sequence [a where " + one));
  }
  EXPECT_FALSE(Parse(std::string("any where a == 1\0", 17)).ok());
  EXPECT_FALSE(Parse("").ok());
  EXPECT_EQ(Parse("").diagnostics.at(0).column, 1u);
}

}  // namespace
}  // namespace eql::syntax
