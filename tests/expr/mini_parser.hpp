// tests/expr/mini_parser.hpp
//
// A small recursive-descent reader of EQL event queries, for tests only: it
// lets the expression tests and the mini-conformance run over query text
// before (and independently of) the real grammar in libeql/syntax. It covers
// `category where condition | head N | tail N` with the full condition
// language (logic, comparisons, `:`/like/regex/in with ~ and lists,
// arithmetic, unary minus, function calls, fields with dots, backticks and
// `?`, strings with escapes and """raw""" strings, // and /* */ comments).
// It fills Location offsets/lines/columns so diagnostics can be checked.
#pragma once

#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "syntax/ast.hpp"

namespace eql::testing {

class MiniParser {
 public:
  explicit MiniParser(std::string_view text) : t_(text) {}

  struct Query {
    ast::EventQuery event;
    std::vector<ast::Pipe> pipes;
    bool is_sequence_or_sample = false;
  };

  //! The query, or nullopt with error() set.
  std::optional<Query> ParseQuery() {
    Query q;
    Skip();
    if (Keyword("sequence") || Keyword("sample")) {
      q.is_sequence_or_sample = true;
      return q;
    }
    if (Peek() == '"') {
      q.event.category = String();
    } else {
      q.event.category = Identifier();
    }
    if (q.event.category.empty()) return Fail("expected a category");
    q.event.is_any = q.event.category == "any";
    if (q.event.is_any) q.event.category.clear();
    if (!Keyword("where")) return Fail("expected 'where'");
    q.event.condition = Expression();
    if (!error_.empty()) return std::nullopt;
    Skip();
    while (Peek() == '|') {
      ++p_;
      ast::Pipe pipe;
      pipe.name = Identifier();
      Skip();
      size_t start = p_;
      while (p_ < t_.size() && std::isdigit(static_cast<unsigned char>(t_[p_]))) ++p_;
      if (start == p_) return Fail("expected a number after the pipe");
      pipe.count = std::stoll(std::string(t_.substr(start, p_ - start)));
      q.pipes.push_back(pipe);
      Skip();
    }
    if (p_ != t_.size()) return Fail("unexpected text");
    return q;
  }

  //! Just a condition.
  std::optional<ast::Expr> ParseExpression() {
    ast::Expr e = Expression();
    Skip();
    if (error_.empty() && p_ != t_.size()) Fail("unexpected text");
    if (!error_.empty()) return std::nullopt;
    return e;
  }

  const std::string& error() const { return error_; }

 private:
  std::nullopt_t Fail(std::string message) {
    if (error_.empty()) error_ = message + " at offset " + std::to_string(p_);
    return std::nullopt;
  }
  char Peek() const { return p_ < t_.size() ? t_[p_] : '\0'; }
  void Skip() {
    for (;;) {
      while (p_ < t_.size() && std::isspace(static_cast<unsigned char>(t_[p_]))) ++p_;
      if (t_.substr(p_, 2) == "//") {
        while (p_ < t_.size() && t_[p_] != '\n') ++p_;
      } else if (t_.substr(p_, 2) == "/*") {
        size_t end = t_.find("*/", p_ + 2);
        p_ = end == std::string_view::npos ? t_.size() : end + 2;
      } else {
        return;
      }
    }
  }
  static bool IdentChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '@';
  }
  // A keyword, not followed by an identifier character.
  bool Keyword(std::string_view word) {
    Skip();
    if (t_.size() - p_ < word.size()) return false;
    for (size_t i = 0; i < word.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(t_[p_ + i])) != word[i]) return false;
    }
    if (p_ + word.size() < t_.size() && IdentChar(t_[p_ + word.size()])) return false;
    p_ += word.size();
    return true;
  }
  bool Symbol(std::string_view s) {
    Skip();
    if (t_.substr(p_, s.size()) != s) return false;
    p_ += s.size();
    return true;
  }
  std::string Identifier() {
    Skip();
    size_t start = p_;
    while (p_ < t_.size() && IdentChar(t_[p_])) ++p_;
    return std::string(t_.substr(start, p_ - start));
  }
  ast::Location Loc(size_t start) const {
    ast::Location l;
    l.offset = static_cast<uint32_t>(start);
    l.length = static_cast<uint32_t>(p_ - start);
    l.line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < start && i < t_.size(); ++i) {
      if (t_[i] == '\n') {
        ++l.line;
        line_start = i + 1;
      }
    }
    l.column = static_cast<uint32_t>(start - line_start + 1);
    return l;
  }
  ast::Expr Node(ast::ExprKind kind, size_t start, std::vector<ast::Expr> args) {
    ast::Expr e;
    e.kind = kind;
    e.args = std::move(args);
    e.loc = Loc(start);
    return e;
  }

  ast::Expr Expression() { return OrExpr(); }
  ast::Expr OrExpr() {
    Skip();
    size_t start = p_;
    ast::Expr left = AndExpr();
    while (error_.empty() && Keyword("or")) {
      ast::Expr right = AndExpr();
      left = Node(ast::ExprKind::kOr, start, {std::move(left), std::move(right)});
    }
    return left;
  }
  ast::Expr AndExpr() {
    Skip();
    size_t start = p_;
    ast::Expr left = NotExpr();
    while (error_.empty() && Keyword("and")) {
      ast::Expr right = NotExpr();
      left = Node(ast::ExprKind::kAnd, start, {std::move(left), std::move(right)});
    }
    return left;
  }
  ast::Expr NotExpr() {
    Skip();
    size_t start = p_;
    if (Keyword("not")) return Node(ast::ExprKind::kNot, start, {NotExpr()});
    return Predicate();
  }
  // Patterns after `:` / like / regex: one constant or a parenthesized list.
  void PatternList(ast::Expr& e) {
    Skip();
    if (Symbol("(")) {
      do {
        e.args.push_back(Additive());
      } while (error_.empty() && Symbol(","));
      if (!Symbol(")")) Fail("expected ')'");
    } else {
      e.args.push_back(Additive());
    }
  }
  ast::Expr Predicate() {
    Skip();
    size_t start = p_;
    ast::Expr left = Additive();
    if (!error_.empty()) return left;
    Skip();
    size_t save = p_;
    bool negated = Keyword("not");
    if (Keyword("in")) {
      ast::Expr e = Node(ast::ExprKind::kIn, start, {std::move(left)});
      e.negated = negated;
      e.case_insensitive = Symbol("~");
      if (!Symbol("(")) {
        Fail("expected '(' after in");
        return e;
      }
      do {
        e.args.push_back(Additive());
      } while (error_.empty() && Symbol(","));
      if (!Symbol(")")) Fail("expected ')'");
      e.loc = Loc(start);
      return e;
    }
    if (negated) p_ = save;
    struct Op {
      const char* text;
      bool is_compare;
      uint8_t op;
    };
    static const Op kOps[] = {
        {"==", true, uint8_t(ast::CompareOp::kEq)}, {"!=", true, uint8_t(ast::CompareOp::kNe)},
        {"<=", true, uint8_t(ast::CompareOp::kLe)}, {">=", true, uint8_t(ast::CompareOp::kGe)},
        {"<", true, uint8_t(ast::CompareOp::kLt)},  {">", true, uint8_t(ast::CompareOp::kGt)},
    };
    for (const Op& op : kOps) {
      if (Symbol(op.text)) {
        ast::Expr right = Additive();
        ast::Expr e = Node(ast::ExprKind::kCompare, start, {std::move(left), std::move(right)});
        e.op = op.op;
        return e;
      }
    }
    if (Symbol(":")) {
      ast::Expr e = Node(ast::ExprKind::kMatch, start, {std::move(left)});
      e.op = uint8_t(ast::MatchOp::kColon);
      e.case_insensitive = true;
      PatternList(e);
      e.loc = Loc(start);
      return e;
    }
    for (auto [word, op] :
         {std::pair{"like", ast::MatchOp::kLike}, std::pair{"regex", ast::MatchOp::kRegex}}) {
      if (Keyword(word)) {
        ast::Expr e = Node(ast::ExprKind::kMatch, start, {std::move(left)});
        e.op = uint8_t(op);
        e.case_insensitive = Symbol("~");
        PatternList(e);
        e.loc = Loc(start);
        return e;
      }
    }
    return left;
  }
  ast::Expr Additive() {
    Skip();
    size_t start = p_;
    ast::Expr left = Multiplicative();
    for (;;) {
      Skip();
      ast::ArithOp op;
      if (Peek() == '+') {
        op = ast::ArithOp::kAdd;
      } else if (Peek() == '-') {
        op = ast::ArithOp::kSub;
      } else {
        return left;
      }
      ++p_;
      ast::Expr right = Multiplicative();
      left = Node(ast::ExprKind::kArith, start, {std::move(left), std::move(right)});
      left.op = uint8_t(op);
    }
  }
  ast::Expr Multiplicative() {
    Skip();
    size_t start = p_;
    ast::Expr left = Unary();
    for (;;) {
      Skip();
      ast::ArithOp op;
      if (Peek() == '*') {
        op = ast::ArithOp::kMul;
      } else if (Peek() == '/' && t_.substr(p_, 2) != "//" && t_.substr(p_, 2) != "/*") {
        op = ast::ArithOp::kDiv;
      } else if (Peek() == '%') {
        op = ast::ArithOp::kMod;
      } else {
        return left;
      }
      ++p_;
      ast::Expr right = Unary();
      left = Node(ast::ExprKind::kArith, start, {std::move(left), std::move(right)});
      left.op = uint8_t(op);
    }
  }
  ast::Expr Unary() {
    Skip();
    size_t start = p_;
    if (Peek() == '-') {
      ++p_;
      Skip();
      if (std::isdigit(static_cast<unsigned char>(Peek()))) {
        ast::Expr n = Number();
        n.integer = -n.integer;
        n.real = -n.real;
        n.loc = Loc(start);
        return n;
      }
      return Node(ast::ExprKind::kNegate, start, {Unary()});
    }
    if (Peek() == '+') {
      ++p_;
      return Unary();
    }
    return Primary();
  }
  ast::Expr Number() {
    size_t start = p_;
    while (std::isdigit(static_cast<unsigned char>(Peek()))) ++p_;
    bool real = false;
    if (Peek() == '.' && p_ + 1 < t_.size() &&
        std::isdigit(static_cast<unsigned char>(t_[p_ + 1]))) {
      real = true;
      ++p_;
      while (std::isdigit(static_cast<unsigned char>(Peek()))) ++p_;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      real = true;
      ++p_;
      if (Peek() == '+' || Peek() == '-') ++p_;
      while (std::isdigit(static_cast<unsigned char>(Peek()))) ++p_;
    }
    std::string text(t_.substr(start, p_ - start));
    ast::Expr e;
    e.loc = Loc(start);
    if (real) {
      e.kind = ast::ExprKind::kFloat;
      e.real = std::stod(text);
    } else {
      e.kind = ast::ExprKind::kInt;
      e.integer = std::stoll(text);
    }
    return e;
  }
  std::string String() {
    if (t_.substr(p_, 3) == "\"\"\"") {
      size_t end = t_.find("\"\"\"", p_ + 3);
      if (end == std::string_view::npos) {
        Fail("unterminated raw string");
        return {};
      }
      std::string s(t_.substr(p_ + 3, end - p_ - 3));
      p_ = end + 3;
      return s;
    }
    ++p_;  // opening quote
    std::string s;
    while (p_ < t_.size() && t_[p_] != '"') {
      char c = t_[p_++];
      if (c != '\\') {
        s.push_back(c);
        continue;
      }
      char e = Peek();
      ++p_;
      switch (e) {
        case 'n':
          s.push_back('\n');
          break;
        case 'r':
          s.push_back('\r');
          break;
        case 't':
          s.push_back('\t');
          break;
        case '\\':
        case '"':
        case '\'':
          s.push_back(e);
          break;
        case 'u': {
          if (Peek() != '{') {
            Fail("bad \\u escape");
            return s;
          }
          size_t close = t_.find('}', p_);
          uint32_t cp = std::stoul(std::string(t_.substr(p_ + 1, close - p_ - 1)), nullptr, 16);
          p_ = close + 1;
          if (cp < 0x80) {
            s.push_back(static_cast<char>(cp));
          } else if (cp < 0x800) {
            s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else if (cp < 0x10000) {
            s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else {
            s.push_back(static_cast<char>(0xF0 | (cp >> 18)));
            s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          }
          break;
        }
        default:
          Fail("bad escape");
          return s;
      }
    }
    if (Peek() != '"') {
      Fail("unterminated string");
      return s;
    }
    ++p_;
    return s;
  }
  ast::Expr Primary() {
    Skip();
    size_t start = p_;
    char c = Peek();
    if (c == '(') {
      ++p_;
      ast::Expr e = Expression();
      if (!Symbol(")")) Fail("expected ')'");
      return e;
    }
    if (c == '"') {
      ast::Expr e;
      e.kind = ast::ExprKind::kString;
      e.text = String();
      e.loc = Loc(start);
      return e;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) return Number();
    bool optional = false;
    if (c == '?') {
      optional = true;
      ++p_;
    }
    ast::Expr e;
    e.kind = ast::ExprKind::kField;
    e.optional = optional;
    for (;;) {
      ast::PathSegment seg;
      if (Peek() == '`') {
        size_t close = t_.find('`', p_ + 1);
        if (close == std::string_view::npos) {
          Fail("unterminated backtick");
          return e;
        }
        seg.name = std::string(t_.substr(p_ + 1, close - p_ - 1));
        seg.quoted = true;
        p_ = close + 1;
      } else {
        size_t s = p_;
        while (p_ < t_.size() && IdentChar(t_[p_])) ++p_;
        seg.name = std::string(t_.substr(s, p_ - s));
      }
      if (seg.name.empty() && !seg.quoted) {
        Fail("expected an expression");
        return e;
      }
      e.path.push_back(seg);
      while (Peek() == '[') {
        size_t close = t_.find(']', p_);
        ast::PathSegment index;
        index.index = std::stoll(std::string(t_.substr(p_ + 1, close - p_ - 1)));
        e.path.push_back(index);
        p_ = close + 1;
      }
      if (Peek() != '.') break;
      ++p_;
    }
    // A single bare word may be a constant or a function call.
    if (!optional && e.path.size() == 1 && !e.path[0].quoted) {
      const std::string& w = e.path[0].name;
      if (w == "true" || w == "false") {
        ast::Expr b;
        b.kind = ast::ExprKind::kBool;
        b.boolean = w == "true";
        b.loc = Loc(start);
        return b;
      }
      if (w == "null") {
        ast::Expr n;
        n.loc = Loc(start);
        return n;
      }
      size_t save = p_;
      bool ci = Symbol("~");
      if (Symbol("(")) {
        ast::Expr call;
        call.kind = ast::ExprKind::kCall;
        call.text = w;
        call.case_insensitive = ci;
        Skip();
        if (!Symbol(")")) {
          do {
            call.args.push_back(Expression());
          } while (error_.empty() && Symbol(","));
          if (!Symbol(")")) Fail("expected ')'");
        }
        call.loc = Loc(start);
        return call;
      }
      p_ = save;
    }
    e.loc = Loc(start);
    return e;
  }

  std::string_view t_;
  size_t p_ = 0;
  std::string error_;
};

}  // namespace eql::testing
