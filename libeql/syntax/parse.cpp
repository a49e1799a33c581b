// libeql/syntax/parse.cpp
//
// The entry point of the grammar (syntax/parse.hpp): runs the X3 parser,
// turns its failures into diagnostics, fills in line and column of every
// node, and checks the rules of the language that the grammar alone does not
// (join-key counts, missing stages, sample restrictions).
#include "syntax/parse.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "syntax/grammar.hpp"

namespace eql::syntax {
namespace {

namespace x3 = boost::spirit::x3;

using grammar::SkipSpace;
using grammar::TokenAt;

// Just after the last character that is not whitespace: where "the end of
// the query" is shown, rather than on an empty line after a final newline.
const char* EndOfContent(const char* begin, const char* end) {
  while (end != begin &&
         (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r')) {
    --end;
  }
  return end;
}

// Elasticsearch's keywords are lowercase only; `WHERE` or `And` is read as
// a name. When the unexpected token is such a word, say so.
std::string KeywordCaseHint(const char* at, const char* end) {
  const char* it = at;
  while (it != end && grammar::IsIdentChar(*it)) ++it;
  std::string word(at, it);
  std::string lower = word;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == word || !grammar::IsKeyword(lower)) return "";
  return " (keywords are lowercase: '" + lower + "')";
}

class LineTable {
 public:
  explicit LineTable(std::string_view text) {
    starts_.push_back(0);
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') starts_.push_back(static_cast<uint32_t>(i + 1));
    }
  }
  void Fill(ast::Location& loc) const {
    auto it = std::upper_bound(starts_.begin(), starts_.end(), loc.offset);
    size_t line = static_cast<size_t>(it - starts_.begin());
    loc.line = static_cast<uint32_t>(line);
    loc.column = loc.offset - starts_[line - 1] + 1;
  }

 private:
  std::vector<uint32_t> starts_;
};

void FillExpr(const LineTable& lines, ast::Expr& e) {
  lines.Fill(e.loc);
  for (ast::Expr& a : e.args) FillExpr(lines, a);
}

void FillStage(const LineTable& lines, ast::Stage& s) {
  lines.Fill(s.loc);
  lines.Fill(s.query.loc);
  FillExpr(lines, s.query.condition);
  for (ast::Expr& k : s.by) FillExpr(lines, k);
}

void FillQuery(const LineTable& lines, ast::Query& q) {
  switch (q.kind) {
    case ast::QueryKind::kEvent:
      lines.Fill(q.event.loc);
      FillExpr(lines, q.event.condition);
      break;
    case ast::QueryKind::kSequence:
      lines.Fill(q.sequence.loc);
      for (ast::Expr& k : q.sequence.by) FillExpr(lines, k);
      if (q.sequence.maxspan) lines.Fill(q.sequence.maxspan->loc);
      for (ast::Stage& s : q.sequence.stages) FillStage(lines, s);
      if (q.sequence.until) FillStage(lines, *q.sequence.until);
      break;
    case ast::QueryKind::kSample:
      lines.Fill(q.sample.loc);
      for (ast::Expr& k : q.sample.by) FillExpr(lines, k);
      for (ast::Stage& s : q.sample.stages) FillStage(lines, s);
      break;
  }
  for (ast::Pipe& p : q.pipes) lines.Fill(p.loc);
}

// The place to point at for a stage's join keys: its first own key, or the
// stage itself.
const ast::Location& KeysLocation(const ast::Stage& s) {
  return s.by.empty() ? s.loc : s.by.front().loc;
}

void CheckJoinKeys(std::string_view text, const std::vector<ast::Expr>& shared,
                   const std::vector<ast::Stage>& stages, const ast::Stage* until,
                   std::vector<Diagnostic>& out) {
  if (stages.empty()) return;
  const size_t expected = shared.size() + stages.front().by.size();
  auto check = [&](const ast::Stage& s) {
    size_t count = shared.size() + s.by.size();
    if (count != expected) {
      const ast::Location& loc = KeysLocation(s);
      out.push_back(Diagnostic::At(
          text, loc.offset, loc.length,
          "Inconsistent number of join keys specified: expected " + std::to_string(expected) +
              " (as in the first stage) but found " + std::to_string(count)));
    }
  };
  for (size_t i = 1; i < stages.size(); ++i) check(stages[i]);
  if (until != nullptr) check(*until);
}

void CheckQuery(std::string_view text, const ast::Query& q, std::vector<Diagnostic>& out) {
  if (q.kind == ast::QueryKind::kSequence) {
    const ast::Sequence& s = q.sequence;
    CheckJoinKeys(text, s.by, s.stages, s.until ? &*s.until : nullptr, out);
    int64_t expanded = 0;
    for (const ast::Stage& st : s.stages) expanded += st.runs;
    if (expanded < 2) {
      out.push_back(Diagnostic::At(text, s.loc.offset, 8,
                                   "a sequence needs at least 2 stages (or one with runs=N), "
                                   "found 1"));
    }
    bool any_positive = false;
    for (const ast::Stage& st : s.stages) {
      any_positive = any_positive || !st.missing;
      if (st.missing && !s.maxspan) {
        out.push_back(Diagnostic::At(
            text, st.loc.offset, 2,
            "a sequence with a missing event stage ![...] requires [with maxspan=...]"));
      }
    }
    if (!any_positive) {
      out.push_back(Diagnostic::At(text, s.loc.offset, 8,
                                   "a sequence needs at least one positive stage, not only "
                                   "missing event stages ![...]"));
    }
    if (s.until) {
      if (s.until->missing) {
        out.push_back(Diagnostic::At(text, s.until->loc.offset, 2,
                                     "[until] cannot be a missing event stage"));
      }
      if (s.until->runs != 1) {
        out.push_back(
            Diagnostic::At(text, s.until->loc.offset, 1, "[until] does not support [with runs]"));
      }
    }
  } else if (q.kind == ast::QueryKind::kSample) {
    const ast::Sample& s = q.sample;
    CheckJoinKeys(text, s.by, s.stages, nullptr, out);
    for (const ast::Stage& st : s.stages) {
      if (st.missing) {
        out.push_back(Diagnostic::At(text, st.loc.offset, 2,
                                     "sample does not support missing event stages ![...]"));
      }
      if (st.runs != 1) {
        out.push_back(
            Diagnostic::At(text, st.loc.offset, 1, "sample does not support [with runs]"));
      }
    }
  }
}

}  // namespace

ParseOutcome Parse(std::string_view text) {
  ParseOutcome outcome;
  const char* const begin = text.data();
  const char* const end = text.data() + text.size();
  grammar::ParseState& state = grammar::State();
  state.begin = begin;
  state.end = end;
  state.stage_open = begin;
  state.last_end = nullptr;
  state.depth = 0;
  state.tree_depth = 0;
  state.starts.clear();  // keeps its capacity: no allocation per parse
  // The grammar measures offsets in 32 bits.
  if (text.size() >= UINT32_MAX / 2) {
    outcome.diagnostics.push_back(Diagnostic::At(text, 0, 1, "query text too long"));
    return outcome;
  }
  ast::Query query;
  const char* first = begin;
  try {
    bool ok = x3::phrase_parse(first, end, grammar::query(), grammar::skipper, query);
    if (!ok) {
      const char* at = SkipSpace(first, end);
      // Only blanks and comments left: report where the content ends, but the
      // message must still say the end was found (not the newline there).
      const bool at_end = at == end;
      if (at_end) at = EndOfContent(begin, end);
      outcome.diagnostics.push_back(
          Diagnostic::At(text, static_cast<uint32_t>(at - begin), 1,
                         at_end ? "expected a query: an event query (category where condition), a "
                                  "sequence or a sample"
                                : "expected a query: an event query (category where condition), a "
                                  "sequence or a sample, found " +
                                      TokenAt(at, end) + KeywordCaseHint(at, end)));
      return outcome;
    }
  } catch (const grammar::SyntaxError& e) {
    const char* at = e.where == end ? EndOfContent(begin, end) : e.where;
    outcome.diagnostics.push_back(
        Diagnostic::At(text, static_cast<uint32_t>(at - begin), e.length, e.message));
    return outcome;
  } catch (const x3::expectation_failure<const char*>& e) {
    const char* at = SkipSpace(e.where(), end);
    std::string message = "expected " + e.which();
    std::string_view rest(at, static_cast<size_t>(end - at));
    if (rest.starts_with("/*")) {
      message = "unterminated comment: expected '*/' to close it";
    } else if (e.which() == "the end of the query or a pipe ('|')" &&
               (rest.starts_with("==") || rest.starts_with("!=") || rest.starts_with("<") ||
                rest.starts_with(">"))) {
      message = "comparisons cannot be chained; combine them with 'and'";
    } else if (at == end) {
      message += ", found the end of the query";
      at = EndOfContent(begin, end);
    } else {
      message += ", found " + TokenAt(at, end) + KeywordCaseHint(at, end);
    }
    outcome.diagnostics.push_back(
        Diagnostic::At(text, static_cast<uint32_t>(at - begin), 1, std::move(message)));
    return outcome;
  } catch (const std::exception& e) {
    // Only allocation failure is expected here; it must not escape either.
    outcome.diagnostics.push_back(
        Diagnostic::At(text, 0, 1, std::string("internal error while parsing: ") + e.what()));
    return outcome;
  }
  CheckQuery(text, query, outcome.diagnostics);
  if (!outcome.diagnostics.empty()) return outcome;
  FillQuery(LineTable(text), query);
  outcome.query = std::move(query);
  return outcome;
}

}  // namespace eql::syntax
