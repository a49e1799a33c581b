// libeql/syntax/grammar_def.hpp
//
// The EQL grammar (Elasticsearch's EqlBase.g4, as documented in its EQL
// syntax reference), written with Boost.Spirit X3. Included only by
// grammar.cpp.
//
//   query        := (sequence | sample | event_query) ('|' pipe)* EOI
//   event_query  := category 'where' expression
//   category     := 'any' | IDENTIFIER | STRING
//   sequence     := 'sequence' [by_keys [with_maxspan] | with_maxspan]
//                   stage stage+ ['until' subquery [by_keys]]
//   stage        := ('[' | '![') event_query ']' [by_keys] ['with' 'runs' '=' INT]
//   sample       := 'sample' [by_keys] subquery [by_keys] (subquery [by_keys])+
//   by_keys      := 'by' expression (',' expression)*
//   pipe         := IDENTIFIER [INT]           (only head and tail are supported)
//
//   expression   := or
//   or           := and ('or' and)*
//   and          := not ('and' not)*
//   not          := 'not' not | comparison
//   comparison   := additive [('=='|'!='|'<'|'<='|'>'|'>=') additive]
//   additive     := term (('+'|'-') term)*
//   term         := unary (('*'|'/'|'%') unary)*
//   unary        := ('-'|'+') unary | predicated
//   predicated   := primary [predicate]
//   predicate    := ['not'] ('in'|'in~') '(' expression (',' expression)* ')'
//                 | (':'|'like'|'like~'|'regex'|'regex~') (constant | '(' constant (',' constant)* ')')
//   primary      := constant | function | field | '(' expression ')'
//   function     := IDENTIFIER ['~'] '(' [expression (',' expression)*] ')'
//   field        := ['?'] segment ('.' segment | '[' INT ']')*
//   segment      := IDENTIFIER | '`' (any but '`' | '``')* '`'
//
// Nodes are built by semantic actions into the plain tree of ast.hpp; each
// carries the byte range it was matched from.
#pragma once

#include <boost/fusion/include/at_c.hpp>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "syntax/ast.hpp"
#include "syntax/grammar.hpp"
#include "syntax/parse.hpp"

namespace eql::syntax::grammar {

using ast::Expr;
using ast::ExprKind;
using boost::fusion::at_c;

// ---------------------------------------------------------------------------
// Locations

inline ast::Location LocationOf(iterator_type begin, iterator_type end) {
  ast::Location loc;
  loc.offset = static_cast<uint32_t>(begin - State().begin);
  loc.length = static_cast<uint32_t>(end - begin);
  // Line and column are filled in once, after parsing (parse.cpp), from the
  // offsets: computing them here would rescan the text for every node.
  return loc;
}

template <typename Ctx>
ast::Location Where(Ctx const& ctx) {
  auto const& range = x3::_where(ctx);
  return LocationOf(range.begin(), range.end());
}

// A location from the start of `a` to the end of `b`.
inline ast::Location Span(const ast::Location& a, const ast::Location& b) {
  ast::Location loc = a;
  uint32_t end = std::max(a.offset + a.length, b.offset + b.length);
  loc.length = end - a.offset;
  return loc;
}

// ---------------------------------------------------------------------------
// Character classes and keywords

// A keyword: the word, not followed by an identifier character.
struct keyword_parser : x3::parser<keyword_parser> {
  using attribute_type = x3::unused_type;
  static bool const has_attribute = false;
  const char* word;
  bool tilde;  // the `~` form: `like~`, `regex~`, `in~`
  constexpr keyword_parser(const char* w, bool t = false) : word(w), tilde(t) {}

  template <typename It, typename Ctx, typename RCtx, typename Attr>
  bool parse(It& first, It const& last, Ctx const& ctx, RCtx&, Attr&) const {
    x3::skip_over(first, last, ctx);
    It it = first;
    for (const char* w = word; *w != '\0'; ++w, ++it) {
      if (it == last || *it != *w) return false;
    }
    if (tilde) {
      if (it == last || *it != '~') return false;
      ++it;
    } else if (it != last && (IsIdentChar(*it) || *it == '~')) {
      return false;
    }
    if (tilde && it != last && IsIdentChar(*it)) return false;
    first = it;
    return true;
  }
};

inline constexpr keyword_parser kw_and{"and"}, kw_or{"or"}, kw_not{"not"}, kw_where{"where"},
    kw_any{"any"}, kw_by{"by"}, kw_with{"with"}, kw_maxspan{"maxspan"}, kw_until{"until"},
    kw_sequence{"sequence"}, kw_sample{"sample"}, kw_in{"in"}, kw_in_ci{"in", true},
    kw_like{"like"}, kw_like_ci{"like", true}, kw_regex{"regex"}, kw_regex_ci{"regex", true},
    kw_true{"true"}, kw_false{"false"}, kw_null{"null"}, kw_join{"join"};

// An identifier that is not a keyword.
struct identifier_parser : x3::parser<identifier_parser> {
  using attribute_type = std::string;
  template <typename It, typename Ctx, typename RCtx, typename Attr>
  bool parse(It& first, It const& last, Ctx const& ctx, RCtx&, Attr& attr) const {
    x3::skip_over(first, last, ctx);
    if (first == last || !IsIdentStart(*first)) return false;
    It it = first;
    while (it != last && IsIdentChar(*it)) ++it;
    std::string_view word(first, static_cast<size_t>(it - first));
    if (IsKeyword(word)) return false;
    x3::traits::move_to(std::string(word), attr);
    first = it;
    return true;
  }
};
inline constexpr identifier_parser identifier{};

// ---------------------------------------------------------------------------
// Literals

inline void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// "..." with the escapes \n \r \t \\ \" and \u{X..X} (2 to 8 hex digits), or
// """...""" in which backslashes are literal. Malformed strings are errors at
// the offending character rather than a failed match, so the user is told
// what is wrong with the string instead of "expected an expression".
struct string_parser : x3::parser<string_parser> {
  using attribute_type = std::string;
  template <typename It, typename Ctx, typename RCtx, typename Attr>
  bool parse(It& first, It const& last, Ctx const& ctx, RCtx&, Attr& attr) const {
    x3::skip_over(first, last, ctx);
    if (first == last) return false;
    if (*first == '\'') {
      throw SyntaxError{first, 1,
                        "single quotes are not supported for strings; use double quotes (\"...\")"};
    }
    if (*first != '"') return false;
    It it = first;
    std::string value;
    if (last - it >= 3 && it[1] == '"' && it[2] == '"') {
      it += 3;
      for (;;) {
        if (last - it < 3) {
          throw SyntaxError{first, 3, "unterminated raw string: expected \"\"\" to close it"};
        }
        if (it[0] == '"' && it[1] == '"' && it[2] == '"') break;
        value += *it++;
      }
      it += 3;
      // A raw string may end in quotes: """a""""" is `a""`.
      while (it != last && *it == '"') {
        value += '"';
        ++it;
      }
      x3::traits::move_to(std::move(value), attr);
      first = it;
      return true;
    }
    ++it;
    for (;;) {
      if (it == last || *it == '\n' || *it == '\r') {
        throw SyntaxError{first, 1,
                          "unterminated string: expected '\"' to close it (a string cannot span "
                          "lines; write \\n)"};
      }
      char c = *it;
      if (c == '"') break;
      if (c != '\\') {
        value += c;
        ++it;
        continue;
      }
      It escape = it;
      ++it;
      if (it == last) continue;  // reported as unterminated above
      switch (*it) {
        case 'n': value += '\n'; ++it; break;
        case 'r': value += '\r'; ++it; break;
        case 't': value += '\t'; ++it; break;
        case '\\': value += '\\'; ++it; break;
        case '"': value += '"'; ++it; break;
        // Elasticsearch's lexer also takes these (rules use \' in patterns).
        case '\'': value += '\''; ++it; break;
        case 'b': value += '\b'; ++it; break;
        case 'f': value += '\f'; ++it; break;
        case 'u': {
          ++it;
          if (it == last || *it != '{') {
            throw SyntaxError{escape, 2, "invalid unicode escape: expected \\u{XXXX} with 2 to 8 hex digits"};
          }
          ++it;
          uint32_t cp = 0;
          int digits = 0;
          while (it != last && std::isxdigit(static_cast<unsigned char>(*it))) {
            char h = *it;
            uint32_t d = h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10;
            if (digits < 8) cp = cp * 16 + d;
            ++digits;
            ++it;
          }
          if (it == last || *it != '}' || digits < 2 || digits > 8) {
            throw SyntaxError{escape, static_cast<uint32_t>(it - escape),
                              "invalid unicode escape: expected \\u{XXXX} with 2 to 8 hex digits"};
          }
          ++it;
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            throw SyntaxError{escape, static_cast<uint32_t>(it - escape),
                              "invalid unicode escape: not a Unicode scalar value"};
          }
          AppendUtf8(cp, value);
          break;
        }
        default:
          throw SyntaxError{escape, 2,
                            std::string("invalid escape sequence \\") + *it +
                                " (use \\n, \\r, \\t, \\\\, \\\", \\', \\u{XXXX} or a raw \"\"\"string\"\"\")"};
      }
    }
    ++it;
    x3::traits::move_to(std::move(value), attr);
    first = it;
    return true;
  }
};
inline constexpr string_parser string_lit{};

// Unsigned numbers: digits with an optional fraction and exponent. An integer
// beyond int64 becomes a double, as Elasticsearch does with a literal too
// large for a long.
struct number_parser : x3::parser<number_parser> {
  using attribute_type = Expr;
  template <typename It, typename Ctx, typename RCtx, typename Attr>
  bool parse(It& first, It const& last, Ctx const& ctx, RCtx&, Attr& attr) const {
    x3::skip_over(first, last, ctx);
    It it = first;
    auto digit = [&](It p) { return p != last && *p >= '0' && *p <= '9'; };
    bool leading = digit(it);
    while (digit(it)) ++it;
    bool is_float = false;
    if (it != last && *it == '.' && (leading ? true : digit(it + 1))) {
      // `1.` is a float in ES; but `a.b` never starts here (digits first).
      if (!leading && !digit(it + 1)) return false;
      is_float = true;
      ++it;
      while (digit(it)) ++it;
    } else if (!leading) {
      return false;
    }
    if (it != last && (*it == 'e' || *it == 'E')) {
      It e = it + 1;
      if (e != last && (*e == '+' || *e == '-')) ++e;
      if (digit(e)) {
        is_float = true;
        it = e;
        while (digit(it)) ++it;
      }
    }
    std::string text(first, it);
    Expr e;
    e.loc = LocationOf(first, it);
    if (!is_float) {
      errno = 0;
      char* end = nullptr;
      long long v = std::strtoll(text.c_str(), &end, 10);
      if (errno == ERANGE) {
        is_float = true;
      } else {
        e.kind = ExprKind::kInt;
        e.integer = v;
      }
    }
    if (is_float) {
      e.kind = ExprKind::kFloat;
      e.real = std::strtod(text.c_str(), nullptr);
    }
    x3::traits::move_to(std::move(e), attr);
    first = it;
    return true;
  }
};
inline constexpr number_parser number_lit{};

// A non-negative integer (pipe counts, runs).
struct count_parser : x3::parser<count_parser> {
  using attribute_type = int64_t;
  template <typename It, typename Ctx, typename RCtx, typename Attr>
  bool parse(It& first, It const& last, Ctx const& ctx, RCtx&, Attr& attr) const {
    x3::skip_over(first, last, ctx);
    It it = first;
    while (it != last && *it >= '0' && *it <= '9') ++it;
    if (it == first) return false;
    if (it != last && (IsIdentChar(*it) || *it == '.')) {
      throw SyntaxError{first, static_cast<uint32_t>(it - first) + 1, "expected a whole number"};
    }
    if (it - first > 12) throw SyntaxError{first, static_cast<uint32_t>(it - first), "number too large"};
    x3::traits::move_to(std::stoll(std::string(first, it)), attr);
    first = it;
    return true;
  }
};
inline constexpr count_parser count_lit{};

// `with maxspan=N<unit>`: a positive integer and one of ms, s, m, h, d, with
// Elasticsearch's messages for what it rejects.
struct timespan_parser : x3::parser<timespan_parser> {
  using attribute_type = ast::MaxSpan;
  template <typename It, typename Ctx, typename RCtx, typename Attr>
  bool parse(It& first, It const& last, Ctx const& ctx, RCtx&, Attr& attr) const {
    x3::skip_over(first, last, ctx);
    It it = first;
    while (it != last && *it >= '0' && *it <= '9') ++it;
    if (it == first) return false;
    It digits_end = it;
    if (it != last && *it == '.') {
      ++it;
      while (it != last && *it >= '0' && *it <= '9') ++it;
      It unit_begin = it;
      while (it != last && IsIdentChar(*it)) ++it;
      throw SyntaxError{first, static_cast<uint32_t>(it - first),
                        "Decimal time interval [" + std::string(first, unit_begin) +
                            "] not supported"};
    }
    std::string number(first, digits_end);
    // The unit may follow after whitespace (`10 s`).
    It unit_begin = it;
    while (unit_begin != last && (*unit_begin == ' ' || *unit_begin == '\t')) ++unit_begin;
    It unit_end = unit_begin;
    while (unit_end != last && IsIdentChar(*unit_end)) ++unit_end;
    std::string unit(unit_begin, unit_end);
    if (unit.empty()) {
      throw SyntaxError{first, static_cast<uint32_t>(digits_end - first),
                        "No time unit specified, did you mean [s] as in [" + number + "s]?"};
    }
    int64_t scale = 0;
    if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1000;
    else if (unit == "m") scale = 60'000;
    else if (unit == "h") scale = 3'600'000;
    else if (unit == "d") scale = 86'400'000;
    else {
      throw SyntaxError{unit_begin, static_cast<uint32_t>(unit_end - unit_begin),
                        "Unrecognized time unit [" + unit + "] in [" + number + unit +
                            "], please specify one of [ms, s, m, h, d]"};
    }
    if (number.size() > 12) {
      throw SyntaxError{first, static_cast<uint32_t>(digits_end - first), "maxspan is too large"};
    }
    ast::MaxSpan span;
    span.value = std::stoll(number);
    if (span.value <= 0) {
      throw SyntaxError{first, static_cast<uint32_t>(unit_end - first),
                        "maxspan must be a positive duration, got [" + number + unit + "]"};
    }
    span.unit = unit;
    span.millis = span.value * scale;
    span.loc = LocationOf(first, unit_end);
    x3::traits::move_to(std::move(span), attr);
    first = unit_end;
    return true;
  }
};
inline constexpr timespan_parser timespan{};

// A field reference: ['?'] segment ('.' segment | '[' INT ']')*, written
// without spaces. Backtick segments may hold any character (`` is a
// backtick).
struct field_parser : x3::parser<field_parser> {
  using attribute_type = Expr;
  template <typename It, typename Ctx, typename RCtx, typename Attr>
  bool parse(It& first, It const& last, Ctx const& ctx, RCtx&, Attr& attr) const {
    x3::skip_over(first, last, ctx);
    It it = first;
    Expr e;
    e.kind = ExprKind::kField;
    if (it != last && *it == '?') {
      e.optional = true;
      ++it;
    }
    auto segment = [&](bool required) -> bool {
      if (it != last && *it == '`') {
        It open = it;
        ++it;
        ast::PathSegment s;
        s.quoted = true;
        for (;;) {
          if (it == last) throw SyntaxError{open, 1, "unterminated quoted field name: expected '`'"};
          if (*it == '`') {
            if (it + 1 != last && it[1] == '`') {
              s.name += '`';
              it += 2;
              continue;
            }
            ++it;
            break;
          }
          s.name += *it++;
        }
        if (s.name.empty()) throw SyntaxError{open, 2, "empty quoted field name"};
        e.path.push_back(std::move(s));
        return true;
      }
      if (it == last || !IsIdentStart(*it)) {
        if (required) {
          throw SyntaxError{it, 1, "expected a field name after '.'"};
        }
        return false;
      }
      It begin = it;
      while (it != last && IsIdentChar(*it)) ++it;
      std::string_view word(begin, static_cast<size_t>(it - begin));
      if (!required && IsKeyword(word)) return false;
      ast::PathSegment s;
      s.name = std::string(word);
      e.path.push_back(std::move(s));
      return true;
    };
    if (!segment(false)) return false;
    for (;;) {
      if (it != last && *it == '.' && it + 1 != last && (IsIdentStart(it[1]) || it[1] == '`')) {
        ++it;
        segment(true);
        continue;
      }
      if (it != last && *it == '.' && it + 1 != last && !(it[1] >= '0' && it[1] <= '9')) {
        throw SyntaxError{it + 1, 1, "expected a field name after '.'"};
      }
      if (it != last && *it == '[') {
        It open = it;
        ++it;
        It digits = it;
        while (it != last && *it >= '0' && *it <= '9') ++it;
        if (it == digits || it == last || *it != ']' || it - digits > 9) {
          throw SyntaxError{open, 1, "expected an array index like [0] after the field name"};
        }
        ast::PathSegment s;
        s.index = std::stoll(std::string(digits, it));
        ++it;
        e.path.push_back(std::move(s));
        continue;
      }
      break;
    }
    e.loc = LocationOf(first, it);
    x3::traits::move_to(std::move(e), attr);
    first = it;
    return true;
  }
};
inline constexpr field_parser field_ref{};

// The function name and its `~`, immediately followed (after optional
// whitespace) by '(' — otherwise this is not a call and the text is a field.
struct function_name_parser : x3::parser<function_name_parser> {
  using attribute_type = Expr;
  template <typename It, typename Ctx, typename RCtx, typename Attr>
  bool parse(It& first, It const& last, Ctx const& ctx, RCtx&, Attr& attr) const {
    x3::skip_over(first, last, ctx);
    It it = first;
    if (it == last || !IsIdentStart(*it)) return false;
    while (it != last && IsIdentChar(*it)) ++it;
    std::string name(first, it);
    if (IsKeyword(name)) return false;
    Expr e;
    e.kind = ExprKind::kCall;
    e.text = name;
    if (it != last && *it == '~') {
      e.case_insensitive = true;
      ++it;
    }
    It look = it;
    x3::skip_over(look, last, ctx);
    if (look == last || *look != '(') return false;
    e.loc = LocationOf(first, it);
    x3::traits::move_to(std::move(e), attr);
    first = it;
    return true;
  }
};
inline constexpr function_name_parser function_name{};

// Rejects `=` where a comparison operator may stand: EQL has no assignment
// and Elasticsearch refuses the old single `=`.
struct single_equals_parser : x3::parser<single_equals_parser> {
  using attribute_type = x3::unused_type;
  static bool const has_attribute = false;
  template <typename It, typename Ctx, typename RCtx, typename Attr>
  bool parse(It& first, It const& last, Ctx const& ctx, RCtx&, Attr&) const {
    x3::skip_over(first, last, ctx);
    if (first != last && *first == '=' && (first + 1 == last || first[1] != '=')) {
      throw SyntaxError{first, 1,
                        "'=' is not supported; use '==' (case-sensitive) or ':' "
                        "(case-insensitive) to compare"};
    }
    return false;
  }
};
inline constexpr single_equals_parser single_equals{};

// Caps nesting (parentheses, `not`, unary minus) so that no query can
// overflow the stack of the recursive-descent parser.
template <typename Subject>
struct depth_guard_directive : x3::unary_parser<Subject, depth_guard_directive<Subject>> {
  using base_type = x3::unary_parser<Subject, depth_guard_directive<Subject>>;
  static bool const is_pass_through_unary = true;
  constexpr depth_guard_directive(Subject const& subject) : base_type(subject) {}

  template <typename It, typename Ctx, typename RCtx, typename Attr>
  bool parse(It& first, It const& last, Ctx const& ctx, RCtx& rctx, Attr& attr) const {
    ParseState& state = State();
    if (state.depth >= kMaxDepth) {
      It at = first;
      x3::skip_over(at, last, ctx);
      throw SyntaxError{at, 1,
                        "expression nested too deeply (more than " + std::to_string(kMaxDepth) +
                            " levels)"};
    }
    ++state.depth;
    struct Restore {
      int& depth;
      ~Restore() { --depth; }
    } restore{state.depth};
    return this->subject.parse(first, last, ctx, rctx, attr);
  }
};
struct depth_guard_gen {
  template <typename Subject>
  constexpr depth_guard_directive<typename x3::extension::as_parser<Subject>::value_type>
  operator[](Subject const& subject) const {
    return {x3::as_parser(subject)};
  }
};
inline constexpr depth_guard_gen guarded{};

}  // namespace eql::syntax::grammar

// What an expectation failure names when the expected part is not a named
// rule: the part's own description, so that no message shows a type name.
namespace boost::spirit::x3 {
template <typename Subject, typename Action>
struct get_info<action<Subject, Action>> {
  using result_type = std::string;
  std::string operator()(action<Subject, Action> const& p) const { return what(p.subject); }
};
template <typename Left, typename Right>
struct get_info<sequence<Left, Right>> {
  using result_type = std::string;
  std::string operator()(sequence<Left, Right> const& p) const { return what(p.left); }
};
template <typename Left, typename Right>
struct get_info<alternative<Left, Right>> {
  using result_type = std::string;
  std::string operator()(alternative<Left, Right> const& p) const {
    return what(p.left) + " or " + what(p.right);
  }
};
template <typename Subject>
struct get_info<plus<Subject>> {
  using result_type = std::string;
  std::string operator()(plus<Subject> const& p) const { return what(p.subject); }
};
template <typename Subject>
struct get_info<eql::syntax::grammar::depth_guard_directive<Subject>> {
  using result_type = std::string;
  std::string operator()(eql::syntax::grammar::depth_guard_directive<Subject> const& p) const {
    return what(p.subject);
  }
};
#define EQL_PARSER_INFO(type, text)                                              \
  template <>                                                                    \
  struct get_info<eql::syntax::grammar::type> {                                  \
    using result_type = std::string;                                             \
    std::string operator()(eql::syntax::grammar::type const&) const { return text; } \
  };
EQL_PARSER_INFO(identifier_parser, "a name")
EQL_PARSER_INFO(string_parser, "a string")
EQL_PARSER_INFO(number_parser, "a number")
EQL_PARSER_INFO(count_parser, "a whole number")
EQL_PARSER_INFO(timespan_parser, "a duration such as 10s (units ms, s, m, h, d)")
EQL_PARSER_INFO(field_parser, "a field name")
EQL_PARSER_INFO(function_name_parser, "a function name")
EQL_PARSER_INFO(single_equals_parser, "a comparison operator")
#undef EQL_PARSER_INFO
template <>
struct get_info<eql::syntax::grammar::keyword_parser> {
  using result_type = std::string;
  std::string operator()(eql::syntax::grammar::keyword_parser const& k) const {
    return std::string("'") + k.word + (k.tilde ? "~'" : "'");
  }
};
}  // namespace boost::spirit::x3

namespace eql::syntax::grammar {

// ---------------------------------------------------------------------------
// Actions

inline auto assign = [](auto& ctx) { x3::_val(ctx) = std::move(x3::_attr(ctx)); };

inline Expr MakeNode(ExprKind kind, Expr lhs, Expr rhs, uint8_t op = 0) {
  Expr node;
  node.kind = kind;
  node.op = op;
  node.loc = Span(lhs.loc, rhs.loc);
  node.args.push_back(std::move(lhs));
  node.args.push_back(std::move(rhs));
  return node;
}

template <ExprKind kKind, uint8_t kOp = 0>
struct fold_binary {
  template <typename Ctx>
  void operator()(Ctx& ctx) const {
    x3::_val(ctx) = MakeNode(kKind, std::move(x3::_val(ctx)), std::move(x3::_attr(ctx)), kOp);
  }
};

inline auto make_not = [](auto& ctx) {
  Expr node;
  node.kind = ExprKind::kNot;
  node.loc = Where(ctx);
  node.args.push_back(std::move(x3::_attr(ctx)));
  x3::_val(ctx) = std::move(node);
};

// Unary minus: folded into a numeric literal, otherwise a kNegate node.
inline auto make_negate = [](auto& ctx) {
  Expr operand = std::move(x3::_attr(ctx));
  ast::Location loc = Where(ctx);
  if (operand.kind == ExprKind::kInt && operand.integer != INT64_MIN) {
    operand.integer = -operand.integer;
    operand.loc = loc;
    x3::_val(ctx) = std::move(operand);
    return;
  }
  if (operand.kind == ExprKind::kFloat) {
    operand.real = -operand.real;
    operand.loc = loc;
    x3::_val(ctx) = std::move(operand);
    return;
  }
  Expr node;
  node.kind = ExprKind::kNegate;
  node.loc = loc;
  node.args.push_back(std::move(operand));
  x3::_val(ctx) = std::move(node);
};

inline auto make_string = [](auto& ctx) {
  Expr e;
  e.kind = ExprKind::kString;
  e.text = std::move(x3::_attr(ctx));
  e.loc = Where(ctx);
  x3::_val(ctx) = std::move(e);
};

template <ExprKind kKind, bool kValue = false>
struct make_constant {
  template <typename Ctx>
  void operator()(Ctx& ctx) const {
    Expr e;
    e.kind = kKind;
    e.boolean = kValue;
    e.loc = Where(ctx);
    x3::_val(ctx) = std::move(e);
  }
};

inline auto make_call = [](auto& ctx) {
  auto& attr = x3::_attr(ctx);
  Expr call = std::move(at_c<0>(attr));
  auto& args = at_c<1>(attr);
  if (args) call.args = std::move(*args);
  call.loc = Where(ctx);
  x3::_val(ctx) = std::move(call);
};

// Predicates attach to the primary already in _val.
template <ExprKind kKind, uint8_t kOp, bool kCaseInsensitive, bool kNegated>
struct make_predicate {
  template <typename Ctx>
  void operator()(Ctx& ctx) const {
    Expr node;
    node.kind = kKind;
    node.op = kOp;
    node.case_insensitive = kCaseInsensitive;
    node.negated = kNegated;
    std::vector<Expr>& items = x3::_attr(ctx);
    node.loc = Span(x3::_val(ctx).loc, Where(ctx));
    node.args.push_back(std::move(x3::_val(ctx)));
    for (Expr& item : items) node.args.push_back(std::move(item));
    x3::_val(ctx) = std::move(node);
  }
};

inline auto single_to_list = [](auto& ctx) {
  x3::_val(ctx).clear();
  x3::_val(ctx).push_back(std::move(x3::_attr(ctx)));
};

// ---------------------------------------------------------------------------
// Rules

struct expression_class;
struct or_class;
struct and_class;
struct not_class;
struct comparison_class;
struct additive_class;
struct term_class;
struct unary_class;
struct predicated_class;
struct primary_class;
struct constant_class;
struct list_class;
struct patterns_class;
struct call_class;
struct event_query_class;
struct stage_class;
struct by_keys_class;
struct sequence_class;
struct sample_class;
struct pipe_class;

x3::rule<expression_class, Expr> const expression = "an expression";
x3::rule<or_class, Expr> const or_expr = "an expression";
x3::rule<and_class, Expr> const and_expr = "an expression";
x3::rule<not_class, Expr> const not_expr = "an expression";
x3::rule<comparison_class, Expr> const comparison = "an expression";
x3::rule<additive_class, Expr> const additive = "an expression";
x3::rule<term_class, Expr> const term = "an expression";
x3::rule<unary_class, Expr> const unary = "an expression";
x3::rule<predicated_class, Expr> const predicated = "an expression";
x3::rule<primary_class, Expr> const primary = "an expression";
x3::rule<constant_class, Expr> const constant = "a constant (string, number, boolean or null)";
x3::rule<list_class, std::vector<Expr>> const value_list = "a parenthesized list of values";
x3::rule<patterns_class, std::vector<Expr>> const patterns =
    "a constant or a parenthesized list of constants";
x3::rule<call_class, Expr> const call = "a function call";
x3::rule<event_query_class, ast::EventQuery> const event_query =
    "an event query (category where condition)";
x3::rule<stage_class, ast::Stage> const stage = "a stage in square brackets";
x3::rule<by_keys_class, std::vector<Expr>> const by_keys = "join keys after 'by'";
x3::rule<sequence_class, ast::Sequence> const sequence = "a sequence";
x3::rule<sample_class, ast::Sample> const sample = "a sample";
x3::rule<pipe_class, ast::Pipe> const pipe = "a pipe (head N or tail N)";
query_type const query_rule = "a query";

// Named tokens, so that an expectation failure says what was missing.
struct close_paren_class;
struct close_bracket_class;
struct where_class;
struct end_class;
x3::rule<close_paren_class> const close_paren = "')'";
x3::rule<close_bracket_class> const close_bracket = "']' to close the stage";
x3::rule<where_class> const where_kw = "'where' after the event category";
x3::rule<end_class> const end_of_query = "the end of the query or a pipe ('|')";
auto const close_paren_def = x3::lit(')');
auto const close_bracket_def = x3::lit(']');
auto const where_kw_def = kw_where;
auto const end_of_query_def = x3::eoi;

// Expressions ---------------------------------------------------------------

auto const expression_def = or_expr[assign];
auto const or_expr_def = and_expr[assign] >> *(kw_or > and_expr)[fold_binary<ExprKind::kOr>{}];
auto const and_expr_def = not_expr[assign] >> *(kw_and > not_expr)[fold_binary<ExprKind::kAnd>{}];
auto const not_expr_def = guarded[(kw_not > not_expr)[make_not] | comparison[assign]];

using ast::ArithOp;
using ast::CompareOp;
using ast::MatchOp;
constexpr auto U8 = [](auto v) { return static_cast<uint8_t>(v); };

auto const comparison_def =
    additive[assign] >>
    -((x3::lit("==") > additive)[fold_binary<ExprKind::kCompare, U8(CompareOp::kEq)>{}] |
      (x3::lit("!=") > additive)[fold_binary<ExprKind::kCompare, U8(CompareOp::kNe)>{}] |
      (x3::lit("<=") > additive)[fold_binary<ExprKind::kCompare, U8(CompareOp::kLe)>{}] |
      (x3::lit(">=") > additive)[fold_binary<ExprKind::kCompare, U8(CompareOp::kGe)>{}] |
      (x3::lit('<') > additive)[fold_binary<ExprKind::kCompare, U8(CompareOp::kLt)>{}] |
      (x3::lit('>') > additive)[fold_binary<ExprKind::kCompare, U8(CompareOp::kGt)>{}] |
      single_equals);

auto const additive_def =
    term[assign] >> *((x3::lit('+') > term)[fold_binary<ExprKind::kArith, U8(ArithOp::kAdd)>{}] |
                      (x3::lit('-') > term)[fold_binary<ExprKind::kArith, U8(ArithOp::kSub)>{}]);

// '/' must not start a comment: the skipper has already eaten comments before
// any token is tried, so a '/' seen here is division.
auto const term_def =
    unary[assign] >> *((x3::lit('*') > unary)[fold_binary<ExprKind::kArith, U8(ArithOp::kMul)>{}] |
                       (x3::lit('/') > unary)[fold_binary<ExprKind::kArith, U8(ArithOp::kDiv)>{}] |
                       (x3::lit('%') > unary)[fold_binary<ExprKind::kArith, U8(ArithOp::kMod)>{}]);

auto const unary_def =
    guarded[(x3::lit('-') > unary)[make_negate] | (x3::lit('+') > unary)[assign] | predicated[assign]];

auto const predicated_def =
    primary[assign] >>
    -((kw_not >> kw_in_ci > value_list)[make_predicate<ExprKind::kIn, 0, true, true>{}] |
      (kw_not >> kw_in > value_list)[make_predicate<ExprKind::kIn, 0, false, true>{}] |
      (kw_in_ci > value_list)[make_predicate<ExprKind::kIn, 0, true, false>{}] |
      (kw_in > value_list)[make_predicate<ExprKind::kIn, 0, false, false>{}] |
      (x3::lit(':') > patterns)[make_predicate<ExprKind::kMatch, U8(MatchOp::kColon), false, false>{}] |
      (kw_like_ci > patterns)[make_predicate<ExprKind::kMatch, U8(MatchOp::kLike), true, false>{}] |
      (kw_like > patterns)[make_predicate<ExprKind::kMatch, U8(MatchOp::kLike), false, false>{}] |
      (kw_regex_ci > patterns)[make_predicate<ExprKind::kMatch, U8(MatchOp::kRegex), true, false>{}] |
      (kw_regex > patterns)[make_predicate<ExprKind::kMatch, U8(MatchOp::kRegex), false, false>{}]);

auto const value_list_def = x3::lit('(') > (expression % ',') > close_paren;
auto const patterns_def =
    constant[single_to_list] | (x3::lit('(') > (constant % ',') > close_paren)[assign];

auto const constant_def = number_lit[assign] | string_lit[make_string] |
                          kw_true[make_constant<ExprKind::kBool, true>{}] |
                          kw_false[make_constant<ExprKind::kBool, false>{}] |
                          kw_null[make_constant<ExprKind::kNull>{}];

auto const call_def = (function_name >> '(' >> -(expression % ',') > close_paren)[make_call];

auto const primary_def = guarded[constant[assign] | call[assign] | field_ref[assign] |
                                 (x3::lit('(') > expression > close_paren)[assign]];

// Queries -------------------------------------------------------------------

inline auto set_category_any = [](auto& ctx) {
  x3::_val(ctx).is_any = true;
  x3::_val(ctx).loc = Where(ctx);
};
inline auto set_category = [](auto& ctx) {
  x3::_val(ctx).category = std::move(x3::_attr(ctx));
  x3::_val(ctx).loc = Where(ctx);
};
inline auto set_condition = [](auto& ctx) {
  x3::_val(ctx).condition = std::move(x3::_attr(ctx));
  x3::_val(ctx).loc = Span(x3::_val(ctx).loc, x3::_val(ctx).condition.loc);
};

auto const event_query_def =
    (kw_any[set_category_any] | string_lit[set_category] | identifier[set_category]) > where_kw >
    expression[set_condition];

auto const by_keys_def = kw_by > (expression % ',');

inline auto stage_open = [](auto& ctx) { x3::_val(ctx).loc = Where(ctx); };
inline auto stage_missing = [](auto& ctx) {
  x3::_val(ctx).missing = true;
  x3::_val(ctx).loc = Where(ctx);
};
inline auto stage_query = [](auto& ctx) { x3::_val(ctx).query = std::move(x3::_attr(ctx)); };
inline auto stage_by = [](auto& ctx) { x3::_val(ctx).by = std::move(x3::_attr(ctx)); };
inline auto stage_runs = [](auto& ctx) {
  auto& attr = x3::_attr(ctx);
  const std::string& option = at_c<0>(attr);
  int64_t runs = at_c<1>(attr);
  auto range = x3::_where(ctx);
  if (option != "runs") {
    throw SyntaxError{range.begin(), static_cast<uint32_t>(range.end() - range.begin()),
                      "Unrecognized option [" + option + "], expecting [runs]"};
  }
  if (runs < 1 || runs > 100) {
    throw SyntaxError{range.begin(), static_cast<uint32_t>(range.end() - range.begin()),
                      "runs must be between 1 and 100, got [" + std::to_string(runs) + "]"};
  }
  x3::_val(ctx).runs = runs;
};

struct runs_class;
x3::rule<runs_class, boost::fusion::deque<std::string, int64_t>> const runs_option =
    "'runs=N' after 'with'";
auto const runs_option_def = identifier > '=' > count_lit;

auto const stage_def = (x3::lit("![")[stage_missing] | x3::lit('[')[stage_open]) >
                       event_query[stage_query] > close_bracket >> -by_keys[stage_by] >>
                       -((kw_with >> !kw_maxspan) > runs_option[stage_runs]);

inline auto seq_begin = [](auto& ctx) { x3::_val(ctx).loc = Where(ctx); };
inline auto seq_by = [](auto& ctx) { x3::_val(ctx).by = std::move(x3::_attr(ctx)); };
inline auto seq_maxspan = [](auto& ctx) { x3::_val(ctx).maxspan = std::move(x3::_attr(ctx)); };
inline auto seq_by_after_with = [](auto& ctx) {
  auto range = x3::_where(ctx);
  throw SyntaxError{range.begin(), 2, "Please specify sequence [by] before [with] not after"};
};
inline auto seq_stage = [](auto& ctx) { x3::_val(ctx).stages.push_back(std::move(x3::_attr(ctx))); };
inline auto seq_until = [](auto& ctx) { x3::_val(ctx).until = std::move(x3::_attr(ctx)); };

struct maxspan_class;
x3::rule<maxspan_class, ast::MaxSpan> const maxspan = "'maxspan=' and a duration after 'with'";
auto const maxspan_def = kw_maxspan > '=' > timespan;

auto const sequence_def =
    kw_sequence[seq_begin] >>
    -((by_keys[seq_by] >> -(kw_with > maxspan[seq_maxspan])) |
      ((kw_with > maxspan[seq_maxspan]) >> -x3::omit[kw_by][seq_by_after_with])) >
    stage[seq_stage] >> *stage[seq_stage] >> -(kw_until > stage[seq_until]);

inline auto sample_begin = [](auto& ctx) { x3::_val(ctx).loc = Where(ctx); };
inline auto sample_by = [](auto& ctx) { x3::_val(ctx).by = std::move(x3::_attr(ctx)); };
inline auto sample_stage = [](auto& ctx) {
  x3::_val(ctx).stages.push_back(std::move(x3::_attr(ctx)));
};
auto const sample_def = kw_sample[sample_begin] >> -by_keys[sample_by] > stage[sample_stage] >
                        +stage[sample_stage];

inline auto make_pipe = [](auto& ctx) {
  auto& attr = x3::_attr(ctx);
  ast::Pipe p;
  p.name = std::move(at_c<0>(attr));
  auto range = x3::_where(ctx);
  p.loc = LocationOf(range.begin(), range.end());
  if (p.name != "head" && p.name != "tail") {
    throw SyntaxError{range.begin(), static_cast<uint32_t>(p.name.size()),
                      "Pipe [" + p.name + "] is not supported"};
  }
  if (!at_c<1>(attr)) {
    throw SyntaxError{range.begin(), static_cast<uint32_t>(p.name.size()),
                      "expected a number after [" + p.name + "]"};
  }
  p.count = *at_c<1>(attr);
  x3::_val(ctx) = std::move(p);
};
// A pipe name is any identifier, so that `count` or `unique` are recognised
// and rejected by name (the action throws before their arguments are read).
auto const pipe_def = (identifier >> -count_lit)[make_pipe];

inline auto query_event = [](auto& ctx) {
  x3::_val(ctx).kind = ast::QueryKind::kEvent;
  x3::_val(ctx).event = std::move(x3::_attr(ctx));
};
inline auto query_sequence = [](auto& ctx) {
  x3::_val(ctx).kind = ast::QueryKind::kSequence;
  x3::_val(ctx).sequence = std::move(x3::_attr(ctx));
};
inline auto query_sample = [](auto& ctx) {
  x3::_val(ctx).kind = ast::QueryKind::kSample;
  x3::_val(ctx).sample = std::move(x3::_attr(ctx));
};
inline auto query_pipe = [](auto& ctx) { x3::_val(ctx).pipes.push_back(std::move(x3::_attr(ctx))); };
inline auto join_rejected = [](auto& ctx) {
  auto range = x3::_where(ctx);
  throw SyntaxError{range.begin(), 4, "join is not supported"};
};

auto const query_rule_def =
    (kw_join[join_rejected] | sequence[query_sequence] | sample[query_sample] |
     event_query[query_event]) >
    *(x3::lit('|') > pipe[query_pipe]) > end_of_query;

BOOST_SPIRIT_DEFINE(expression, or_expr, and_expr, not_expr, comparison, additive, term, unary,
                    predicated, primary, constant, value_list, patterns, call, event_query, stage,
                    by_keys, sequence, sample, pipe, query_rule, close_paren, close_bracket,
                    where_kw, end_of_query, runs_option, maxspan)

}  // namespace eql::syntax::grammar

