// libeql/syntax/grammar_def.hpp
//
// The EQL grammar (Elasticsearch's EqlBase.g4, as documented in its EQL
// syntax reference), written with Boost.Spirit X3. Included only by
// grammar.cpp.
//
//   query        := (sequence | sample | event_query) ('|' pipe)* EOI
//   event_query  := category 'where' expression
//   category     := 'any' | IDENTIFIER | STRING
//   sequence     := 'sequence' [by_keys ['with' maxspan] | 'with' maxspan]
//                   stage stage* ['until' stage]
//   stage        := ('[' | '![') event_query ']' [by_keys] ['with' 'runs' '=' INT]
//   sample       := 'sample' [by_keys] stage stage+
//   by_keys      := 'by' expression (',' expression)*
//   maxspan      := 'maxspan' '=' INT UNIT          (UNIT: ms s m h d)
//   pipe         := IDENTIFIER [INT]           (only head and tail are supported)
//
//   expression   := or
//   or           := and ('or' and)*
//   and          := not ('and' not)*
//   not          := 'not' not | comparison         (looser than comparisons, as ES)
//   comparison   := additive [('=='|'!='|'<'|'<='|'>'|'>=') additive]
//   additive     := term (('+'|'-') term)*
//   term         := unary (('*'|'/'|'%') unary)*
//   unary        := ('-'|'+') unary | predicated
//   predicated   := primary [predicate]
//   predicate    := ['not'] ('in'|'in~') '(' expression (',' expression)* ')'
//                 | (':'|'like'|'like~'|'regex'|'regex~') patterns
//   patterns     := constant | '(' constant (',' constant)* ')'
//   primary      := constant | function | field | '(' expression ')'
//   function     := IDENTIFIER ['~'] '(' [expression (',' expression)*] ')'
//   field        := ['?'] segment ('.' segment | '[' INT ']')*
//   segment      := IDENTIFIER | '`' (any but '`' | '``')* '`'
//
// Keywords are lowercase only (Elasticsearch's lexer); IDENTIFIER is
// [A-Za-z_@][A-Za-z0-9_]*. Comments `//...` and `/* */` (nesting) are
// skipped wherever whitespace may stand (config.hpp). What the grammar
// cannot say (join-key counts, missing stages needing maxspan, at least one
// positive stage, samples without runs) is checked in parse.cpp; what
// Elasticsearch rejects by name (`=`, other pipes, join, `child of`,
// single-quoted and ?"" strings) is read only to report it.
//
// Nodes are built by semantic actions into the plain tree of ast.hpp; each
// carries the byte range it was matched from.
#pragma once

#include <boost/fusion/include/at_c.hpp>
#include <boost/range/iterator_range.hpp>
#include <cmath>
#include <cstring>
#include <limits>
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

// Where the text an action saw ends. Boost 1.74's x3::_where(ctx) is the
// range from the END of the match to the end of the input (later Boost
// versions fixed it to the match itself), so only its begin is usable, and
// the start of a match is recorded by spanned[] (below) instead.
//
// Nor is that position the end of the match's last token: a failed optional
// part (`-by_keys`) leaves the whitespace it skipped consumed. So every leaf
// parser that ends a token records its end in State().last_end, and the
// match ends there, unless that token lies outside [begin, position] (the
// match ended with a plain x3 literal, or a later token was backtracked).
template <typename Ctx>
iterator_type MatchEnd(Ctx const& ctx, iterator_type begin) {
  iterator_type end = x3::_where(ctx).begin();
  iterator_type last = State().last_end;
  return last != nullptr && last >= begin && last < end ? last : end;
}

// The start of the innermost spanned[] match being parsed.
inline iterator_type MatchBegin() { return State().starts.back(); }

// The location of the text matched by the action's parser; the action must
// sit directly inside spanned[].
template <typename Ctx>
ast::Location Where(Ctx const& ctx) {
  return LocationOf(MatchBegin(), MatchEnd(ctx, MatchBegin()));
}

// Extends `loc` to the end of the action's match.
template <typename Ctx>
void ExtendToMatchEnd(Ctx const& ctx, ast::Location& loc) {
  iterator_type begin = State().begin + loc.offset;
  loc.length = static_cast<uint32_t>(MatchEnd(ctx, begin) - begin);
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
    State().last_end = it;
    return true;
  }
};

inline constexpr keyword_parser kw_and{"and"}, kw_or{"or"}, kw_not{"not"}, kw_where{"where"},
    kw_any{"any"}, kw_by{"by"}, kw_with{"with"}, kw_maxspan{"maxspan"}, kw_until{"until"},
    kw_sequence{"sequence"}, kw_sample{"sample"}, kw_in{"in"}, kw_in_ci{"in", true},
    kw_like{"like"}, kw_like_ci{"like", true}, kw_regex{"regex"}, kw_regex_ci{"regex", true},
    kw_true{"true"}, kw_false{"false"}, kw_null{"null"}, kw_join{"join"}, kw_of{"of"};

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
    State().last_end = it;
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
    // The old (7.x) spellings are read only to say what to write instead,
    // with Elasticsearch's messages.
    if (*first == '\'') {
      throw SyntaxError{first, 1,
                        "Use double quotes [\"] to define string literals, not single quotes [']"};
    }
    if (*first == '?' && last - first >= 2 && (first[1] == '"' || first[1] == '\'')) {
      throw SyntaxError{first, 2,
                        std::string("Use triple double quotes [\"\"\"] to define unescaped string "
                                    "literals, not [?") +
                            first[1] + "]"};
    }
    if (*first != '"') return false;
    It it = first;
    std::string value;
    if (last - it >= 3 && it[1] == '"' && it[2] == '"') {
      it += 3;
      // As Elasticsearch's lexer: no line breaks inside, and the closing
      // """ may be followed by up to two more quotes that belong to the
      // value ("""a""""" is `a""`).
      for (;;) {
        if (last - it < 3 || *it == '\n' || *it == '\r') {
          throw SyntaxError{first, 3,
                            "unterminated raw string: expected \"\"\" to close it (a raw string "
                            "cannot span lines)"};
        }
        if (it[0] == '"' && it[1] == '"' && it[2] == '"') break;
        value += *it++;
      }
      it += 3;
      for (int extra = 0; extra < 2 && it != last && *it == '"'; ++extra) {
        value += '"';
        ++it;
      }
      x3::traits::move_to(std::move(value), attr);
      first = it;
      State().last_end = it;
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
        case 'n':
          value += '\n';
          ++it;
          break;
        case 'r':
          value += '\r';
          ++it;
          break;
        case 't':
          value += '\t';
          ++it;
          break;
        case '\\':
          value += '\\';
          ++it;
          break;
        case '"':
          value += '"';
          ++it;
          break;
        // Elasticsearch's lexer also takes these (rules use \' in patterns).
        case '\'':
          value += '\'';
          ++it;
          break;
        case 'b':
          value += '\b';
          ++it;
          break;
        case 'f':
          value += '\f';
          ++it;
          break;
        case 'u': {
          ++it;
          if (it == last || *it != '{') {
            throw SyntaxError{escape, 2,
                              "invalid unicode escape: expected \\u{XXXX} with 2 to 8 hex digits"};
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
          throw SyntaxError{
              escape, 2,
              std::string("invalid escape sequence \\") + *it +
                  " (use \\n, \\r, \\t, \\\\, \\\", \\', \\u{XXXX} or a raw \"\"\"string\"\"\")"};
      }
    }
    ++it;
    x3::traits::move_to(std::move(value), attr);
    first = it;
    State().last_end = it;
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
      // Elasticsearch refuses what does not fit a double (1e400) rather
      // than reading it as infinity.
      if (std::isinf(e.real)) {
        throw SyntaxError{first, static_cast<uint32_t>(it - first),
                          "Number [" + text + "] is too large"};
      }
    }
    x3::traits::move_to(std::move(e), attr);
    first = it;
    State().last_end = it;
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
      while (it != last && (IsIdentChar(*it) || *it == '.')) ++it;
      throw SyntaxError{first, static_cast<uint32_t>(it - first),
                        "expected a whole number, found '" + std::string(first, it) + "'"};
    }
    // Counts and runs are small; 12 digits keeps stoll far from overflow.
    if (it - first > 12) {
      throw SyntaxError{first, static_cast<uint32_t>(it - first),
                        "Number [" + std::string(first, it) + "] is too large"};
    }
    x3::traits::move_to(std::stoll(std::string(first, it)), attr);
    first = it;
    State().last_end = it;
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
      throw SyntaxError{
          first, static_cast<uint32_t>(it - first),
          "Decimal time interval [" + std::string(first, unit_begin) + "] not supported"};
    }
    if (it != last && (*it == 'e' || *it == 'E')) {
      It e = it + 1;
      if (e != last && (*e == '+' || *e == '-')) ++e;
      if (e != last && *e >= '0' && *e <= '9') {
        while (e != last && *e >= '0' && *e <= '9') ++e;
        throw SyntaxError{first, static_cast<uint32_t>(e - first),
                          "Decimal time interval [" + std::string(first, e) + "] not supported"};
      }
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
    if (unit == "ms")
      scale = 1;
    else if (unit == "s")
      scale = 1000;
    else if (unit == "m")
      scale = 60'000;
    else if (unit == "h")
      scale = 3'600'000;
    else if (unit == "d")
      scale = 86'400'000;
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
    // 12 digits fit in int64 but not once scaled to milliseconds (found by
    // fuzz_parse: 111717994497d overflowed); the span must stay representable.
    if (span.value > std::numeric_limits<int64_t>::max() / scale) {
      throw SyntaxError{first, static_cast<uint32_t>(unit_end - first), "maxspan is too large"};
    }
    span.unit = unit;
    span.millis = span.value * scale;
    span.loc = LocationOf(first, unit_end);
    x3::traits::move_to(std::move(span), attr);
    first = unit_end;
    State().last_end = unit_end;
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
      // `?` is a token of its own in Elasticsearch, so `? field` is allowed.
      e.optional = true;
      ++it;
      x3::skip_over(it, last, ctx);
    }
    auto segment = [&](bool required) -> bool {
      if (it != last && *it == '`') {
        It open = it;
        ++it;
        ast::PathSegment s;
        s.quoted = true;
        for (;;) {
          if (it == last)
            throw SyntaxError{open, 1, "unterminated quoted field name: expected '`'"};
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
      ++it;
      while (it != last && IsIdentChar(*it)) ++it;
      std::string_view word(begin, static_cast<size_t>(it - begin));
      if (IsKeyword(word)) {
        if (!required && !e.optional) return false;
        throw SyntaxError{begin, static_cast<uint32_t>(word.size()),
                          "'" + std::string(word) + "' is a keyword; write `" + std::string(word) +
                              "` in backticks to use it as a field name"};
      }
      ast::PathSegment s;
      s.name = std::string(word);
      e.path.push_back(std::move(s));
      return true;
    };
    if (e.optional && (it == last || !(IsIdentStart(*it) || *it == '`'))) {
      throw SyntaxError{it, 1, "expected a field name after '?'"};
    }
    if (!segment(false)) return false;
    for (;;) {
      if (it != last && *it == '.' && it + 1 != last && (IsIdentStart(it[1]) || it[1] == '`')) {
        ++it;
        segment(true);
        continue;
      }
      if (it != last && *it == '.' && (it + 1 == last || !(it[1] >= '0' && it[1] <= '9'))) {
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
    State().last_end = it;
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
    State().last_end = it;
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
      throw SyntaxError{
          at, 1,
          "expression nested too deeply (more than " + std::to_string(kMaxDepth) + " levels)"};
    }
    if (StackNearlyFull()) {
      It at = first;
      x3::skip_over(at, last, ctx);
      throw SyntaxError{at, 1,
                        "expression nested too deeply (" + std::to_string(state.depth) +
                            " levels fill this thread's stack)"};
    }
    struct Restore {
      ParseState& state;
      int tree_depth;
      ~Restore() {
        --state.depth;
        state.tree_depth = tree_depth;
      }
    } restore{state, state.tree_depth};
    ++state.depth;
    ++state.tree_depth;
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

// Records where its subject's match starts (after whitespace), for the
// actions inside it to locate their node: spanned[p[action]]. A stack, since
// matches nest.
template <typename Subject>
struct spanned_directive : x3::unary_parser<Subject, spanned_directive<Subject>> {
  using base_type = x3::unary_parser<Subject, spanned_directive<Subject>>;
  static bool const is_pass_through_unary = true;
  constexpr spanned_directive(Subject const& subject) : base_type(subject) {}

  template <typename It, typename Ctx, typename RCtx, typename Attr>
  bool parse(It& first, It const& last, Ctx const& ctx, RCtx& rctx, Attr& attr) const {
    x3::skip_over(first, last, ctx);
    std::vector<iterator_type>& starts = State().starts;
    starts.push_back(first);
    struct Pop {
      std::vector<iterator_type>& starts;
      ~Pop() { starts.pop_back(); }
    } pop{starts};
    return this->subject.parse(first, last, ctx, rctx, attr);
  }
};
struct spanned_gen {
  template <typename Subject>
  constexpr spanned_directive<typename x3::extension::as_parser<Subject>::value_type> operator[](
      Subject const& subject) const {
    return {x3::as_parser(subject)};
  }
};
inline constexpr spanned_gen spanned{};

// Names what an expectation point wants, in words, for its message:
// `described("an expression after '=='", additive)`.
template <typename Subject>
struct described_directive : x3::unary_parser<Subject, described_directive<Subject>> {
  using base_type = x3::unary_parser<Subject, described_directive<Subject>>;
  static bool const is_pass_through_unary = true;
  const char* what;
  constexpr described_directive(const char* w, Subject const& subject)
      : base_type(subject), what(w) {}

  template <typename It, typename Ctx, typename RCtx, typename Attr>
  bool parse(It& first, It const& last, Ctx const& ctx, RCtx& rctx, Attr& attr) const {
    return this->subject.parse(first, last, ctx, rctx, attr);
  }
};
template <typename Subject>
constexpr auto described(const char* what, Subject const& subject) {
  return described_directive<typename x3::extension::as_parser<Subject>::value_type>(
      what, x3::as_parser(subject));
}

// `open subject close`, where a missing `close` is reported together with
// where its `open` stood ("expected ')' to close the '(' opened at 1:18"),
// and a missing subject as "expected <inner> after '('". `open` itself is
// optional to the caller: without it this parser simply fails.
template <typename Subject>
struct enclosed_directive : x3::unary_parser<Subject, enclosed_directive<Subject>> {
  using base_type = x3::unary_parser<Subject, enclosed_directive<Subject>>;
  static bool const is_pass_through_unary = true;
  const char* inner;  // what the subject is, in words
  constexpr enclosed_directive(const char* i, Subject const& subject)
      : base_type(subject), inner(i) {}

  template <typename It, typename Ctx, typename RCtx, typename Attr>
  bool parse(It& first, It const& last, Ctx const& ctx, RCtx& rctx, Attr& attr) const {
    It it = first;
    x3::skip_over(it, last, ctx);
    if (it == last || *it != '(') return false;
    It open = it++;
    if (!this->subject.parse(it, last, ctx, rctx, attr)) {
      It at = SkipSpace(it, last);
      throw SyntaxError{
          at, 1, std::string("expected ") + inner + " after '(', found " + TokenAt(at, last)};
    }
    x3::skip_over(it, last, ctx);
    if (it == last || *it != ')') {
      throw SyntaxError{it, 1,
                        "expected ')' to close the '(' opened at " + LineColumn(open) + ", found " +
                            TokenAt(it, last)};
    }
    first = it + 1;
    State().last_end = first;
    return true;
  }
};
template <typename Subject>
constexpr auto enclosed(const char* inner, Subject const& subject) {
  return enclosed_directive<typename x3::extension::as_parser<Subject>::value_type>(
      inner, x3::as_parser(subject));
}

// The `]` that ends a stage; reported with where the stage opened.
struct stage_close_parser : x3::parser<stage_close_parser> {
  using attribute_type = x3::unused_type;
  static bool const has_attribute = false;
  template <typename It, typename Ctx, typename RCtx, typename Attr>
  bool parse(It& first, It const& last, Ctx const& ctx, RCtx&, Attr&) const {
    x3::skip_over(first, last, ctx);
    if (first != last && *first == ']') {
      ++first;
      State().last_end = first;
      return true;
    }
    throw SyntaxError{first, 1,
                      "expected ']' to close the stage opened at " +
                          LineColumn(State().stage_open) + ", found " + TokenAt(first, last)};
  }
};
inline constexpr stage_close_parser stage_close{};

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
struct get_info<eql::syntax::grammar::spanned_directive<Subject>> {
  using result_type = std::string;
  std::string operator()(eql::syntax::grammar::spanned_directive<Subject> const& p) const {
    return what(p.subject);
  }
};
template <typename Subject>
struct get_info<eql::syntax::grammar::described_directive<Subject>> {
  using result_type = std::string;
  std::string operator()(eql::syntax::grammar::described_directive<Subject> const& p) const {
    return p.what;
  }
};
template <typename Subject>
struct get_info<eql::syntax::grammar::enclosed_directive<Subject>> {
  using result_type = std::string;
  std::string operator()(eql::syntax::grammar::enclosed_directive<Subject> const&) const {
    return "'('";
  }
};
template <typename Subject>
struct get_info<eql::syntax::grammar::depth_guard_directive<Subject>> {
  using result_type = std::string;
  std::string operator()(eql::syntax::grammar::depth_guard_directive<Subject> const& p) const {
    return what(p.subject);
  }
};
#define EQL_PARSER_INFO(type, text)                                                  \
  template <>                                                                        \
  struct get_info<eql::syntax::grammar::type> {                                      \
    using result_type = std::string;                                                 \
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
EQL_PARSER_INFO(stage_close_parser, "']'")
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
    // Each fold deepens the left spine; guarded[] restores the count when
    // its level ends.
    if (++State().tree_depth > kMaxTreeDepth) {
      const Expr& rhs = x3::_attr(ctx);
      throw SyntaxError{State().begin + rhs.loc.offset, 1,
                        "expression too deep: more than " + std::to_string(kMaxTreeDepth) +
                            " operators in a row (write a long list of alternatives as "
                            "`field in (...)` or `field : (...)`)"};
    }
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
    node.loc = x3::_val(ctx).loc;
    ExtendToMatchEnd(ctx, node.loc);
    node.args.push_back(std::move(x3::_val(ctx)));
    for (Expr& item : items) node.args.push_back(std::move(item));
    x3::_val(ctx) = std::move(node);
  }
};

inline auto single_to_list = [](auto& ctx) {
  x3::_val(ctx).clear();
  x3::_val(ctx).push_back(std::move(x3::_attr(ctx)));
};
// After an operand, `not` can only begin `not in`; `a not like "x"` is
// written `not a like "x"`.
inline auto not_without_in = [](auto& ctx) {
  iterator_type at = SkipSpace(x3::_where(ctx).begin(), State().end);
  throw SyntaxError{at, 1,
                    "expected 'in' or 'in~' after 'not', found " + TokenAt(at, State().end) +
                        " (to negate a condition, put 'not' before it)"};
};

inline auto push_back = [](auto& ctx) { x3::_val(ctx).push_back(std::move(x3::_attr(ctx))); };

// `descendant of [...]` and friends (Endgame's lineage) are recognised only to
// say that Elasticsearch does not support them.
inline auto relationship_rejected = [](auto& ctx) {
  auto range = boost::make_iterator_range(MatchBegin(), MatchEnd(ctx, MatchBegin()));
  throw SyntaxError{range.begin(), static_cast<uint32_t>(range.end() - range.begin()),
                    "Process relationships are not supported"};
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
struct items_class;
struct args_class;
struct constants_class;
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
x3::rule<list_class, std::vector<Expr>> const value_list = "a list of values";
x3::rule<items_class, std::vector<Expr>> const value_items = "an expression";
x3::rule<args_class, std::vector<Expr>> const call_args = "the arguments of a function";
x3::rule<constants_class, std::vector<Expr>> const constant_list = "a list of constants";
x3::rule<patterns_class, std::vector<Expr>> const patterns =
    "a constant or a parenthesized list of constants";
x3::rule<call_class, Expr> const call = "a function call";
x3::rule<event_query_class, ast::EventQuery> const event_query =
    "an event query (category where condition)";
x3::rule<stage_class, ast::Stage> const stage = "a stage in square brackets ([category where ...])";
x3::rule<by_keys_class, std::vector<Expr>> const by_keys = "join keys after 'by'";
x3::rule<sequence_class, ast::Sequence> const sequence = "a sequence";
x3::rule<sample_class, ast::Sample> const sample = "a sample";
x3::rule<pipe_class, ast::Pipe> const pipe = "a pipe (head N or tail N)";
query_type const query_rule = "a query";

// Named tokens, so that an expectation failure says what was missing.
struct where_class;
struct end_class;
x3::rule<where_class> const where_kw = "'where' after the event category";
x3::rule<end_class> const end_of_query = "the end of the query or a pipe ('|')";
auto const where_kw_def = kw_where;
auto const end_of_query_def = x3::eoi;

// Expressions ---------------------------------------------------------------
//
// Nesting is capped (guarded[]) where the grammar recurses: at each
// (sub)expression, after `not` and after a unary sign. Each level costs a
// dozen stack frames, so kMaxDepth levels stay far below any thread's stack.

auto const expression_def = guarded[or_expr[assign]];
auto const or_expr_def = and_expr[assign] >>
                         *(kw_or > described("an expression after 'or'",
                                             and_expr))[fold_binary<ExprKind::kOr>{}];
auto const and_expr_def = not_expr[assign] >>
                          *(kw_and > described("an expression after 'and'",
                                               not_expr))[fold_binary<ExprKind::kAnd>{}];
auto const not_expr_def =
    spanned[(kw_not > described("an expression after 'not'", guarded[not_expr]))[make_not]] |
    spanned[(identifier >> kw_of)[relationship_rejected]] | comparison[assign];

using ast::ArithOp;
using ast::CompareOp;
using ast::MatchOp;
constexpr auto U8 = [](auto v) { return static_cast<uint8_t>(v); };

#define EQL_OPERAND(op) described("an expression after '" op "'", additive)
auto const comparison_def =
    additive[assign] >>
    -((x3::lit("==") > EQL_OPERAND("=="))[fold_binary<ExprKind::kCompare, U8(CompareOp::kEq)>{}] |
      (x3::lit("!=") > EQL_OPERAND("!="))[fold_binary<ExprKind::kCompare, U8(CompareOp::kNe)>{}] |
      (x3::lit("<=") > EQL_OPERAND("<="))[fold_binary<ExprKind::kCompare, U8(CompareOp::kLe)>{}] |
      (x3::lit(">=") > EQL_OPERAND(">="))[fold_binary<ExprKind::kCompare, U8(CompareOp::kGe)>{}] |
      (x3::lit('<') > EQL_OPERAND("<"))[fold_binary<ExprKind::kCompare, U8(CompareOp::kLt)>{}] |
      (x3::lit('>') > EQL_OPERAND(">"))[fold_binary<ExprKind::kCompare, U8(CompareOp::kGt)>{}] |
      single_equals);
#undef EQL_OPERAND

#define EQL_OPERAND(op, operand) described("an expression after '" op "'", operand)
auto const additive_def =
    term[assign] >>
    *((x3::lit('+') > EQL_OPERAND("+", term))[fold_binary<ExprKind::kArith, U8(ArithOp::kAdd)>{}] |
      (x3::lit('-') > EQL_OPERAND("-", term))[fold_binary<ExprKind::kArith, U8(ArithOp::kSub)>{}]);

// '/' must not start a comment: the skipper has already eaten comments before
// any token is tried, so a '/' seen here is division.
auto const term_def =
    unary[assign] >>
    *((x3::lit('*') > EQL_OPERAND("*", unary))[fold_binary<ExprKind::kArith, U8(ArithOp::kMul)>{}] |
      (x3::lit('/') > EQL_OPERAND("/", unary))[fold_binary<ExprKind::kArith, U8(ArithOp::kDiv)>{}] |
      (x3::lit('%') > EQL_OPERAND("%", unary))[fold_binary<ExprKind::kArith, U8(ArithOp::kMod)>{}]);

auto const unary_def = spanned[(x3::lit('-') > EQL_OPERAND("-", guarded[unary]))[make_negate]] |
                       (x3::lit('+') > EQL_OPERAND("+", guarded[unary]))[assign] |
                       predicated[assign];
#undef EQL_OPERAND

#define EQL_LIST(op) described("'(' and a list of values after '" op "'", value_list)
#define EQL_PATTERNS(op) \
  described("a constant or a parenthesized list of constants after '" op "'", patterns)
auto const predicated_def =
    primary[assign] >>
    -(((kw_not >> kw_in_ci) > EQL_LIST("not in~"))[make_predicate<ExprKind::kIn, 0, true, true>{}] |
      ((kw_not >> kw_in) > EQL_LIST("not in"))[make_predicate<ExprKind::kIn, 0, false, true>{}] |
      (kw_in_ci > EQL_LIST("in~"))[make_predicate<ExprKind::kIn, 0, true, false>{}] |
      (kw_in > EQL_LIST("in"))[make_predicate<ExprKind::kIn, 0, false, false>{}] |
      (x3::lit(':') >
       EQL_PATTERNS(":"))[make_predicate<ExprKind::kMatch, U8(MatchOp::kColon), false, false>{}] |
      (kw_like_ci >
       EQL_PATTERNS("like~"))[make_predicate<ExprKind::kMatch, U8(MatchOp::kLike), true, false>{}] |
      (kw_like >
       EQL_PATTERNS("like"))[make_predicate<ExprKind::kMatch, U8(MatchOp::kLike), false, false>{}] |
      (kw_regex_ci >
       EQL_PATTERNS(
           "regex~"))[make_predicate<ExprKind::kMatch, U8(MatchOp::kRegex), true, false>{}] |
      (kw_regex >
       EQL_PATTERNS(
           "regex"))[make_predicate<ExprKind::kMatch, U8(MatchOp::kRegex), false, false>{}] |
      kw_not[not_without_in]);
#undef EQL_LIST
#undef EQL_PATTERNS

auto const value_items_def = expression[push_back] >>
                             *(',' > described("an expression after ','", expression))[push_back];
auto const call_args_def = -value_items[assign];
auto const value_list_def = enclosed("an expression", value_items)[assign];
auto const constant_list_def = constant[push_back] >>
                               *(',' > described("a constant after ','", constant))[push_back];
auto const patterns_def = constant[single_to_list] | enclosed("a constant", constant_list)[assign];

auto const constant_def = number_lit[assign] | spanned[string_lit[make_string]] |
                          spanned[kw_true[make_constant<ExprKind::kBool, true>{}]] |
                          spanned[kw_false[make_constant<ExprKind::kBool, false>{}]] |
                          spanned[kw_null[make_constant<ExprKind::kNull>{}]];

// function_name only matches when '(' follows, so enclosed() never fails here;
// its arguments may be empty.
inline auto set_args = [](auto& ctx) { x3::_val(ctx).args = std::move(x3::_attr(ctx)); };
// The name's location (from function_name) extended to the ')'.
inline auto call_end = [](auto& ctx) { ExtendToMatchEnd(ctx, x3::_val(ctx).loc); };
auto const call_def = x3::omit[function_name[assign] >>
                               enclosed("an argument or ')'", call_args)[set_args]][call_end];

auto const primary_def = constant[assign] | call[assign] | field_ref[assign] |
                         enclosed("an expression", expression)[assign];

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
    spanned[kw_any[set_category_any] | string_lit[set_category] | identifier[set_category]] >
    where_kw > described("an expression after 'where'", expression)[set_condition];

auto const by_keys_def = kw_by > described("an expression after 'by'", expression)[push_back] >>
                         *(',' > described("an expression after ','", expression))[push_back];

inline auto stage_open = [](auto& ctx) {
  x3::_val(ctx).loc = Where(ctx);
  State().stage_open = MatchBegin();
};
inline auto stage_missing = [](auto& ctx) {
  x3::_val(ctx).missing = true;
  x3::_val(ctx).loc = Where(ctx);
  State().stage_open = MatchBegin();
};
inline auto stage_query = [](auto& ctx) { x3::_val(ctx).query = std::move(x3::_attr(ctx)); };
inline auto stage_by = [](auto& ctx) { x3::_val(ctx).by = std::move(x3::_attr(ctx)); };
inline auto stage_runs = [](auto& ctx) {
  auto& attr = x3::_attr(ctx);
  const std::string& option = at_c<0>(attr);
  int64_t runs = at_c<1>(attr);
  auto range = boost::make_iterator_range(MatchBegin(), MatchEnd(ctx, MatchBegin()));
  if (option != "runs") {
    throw SyntaxError{range.begin(), static_cast<uint32_t>(option.size()),
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

// A stage's location covers it from its bracket to its last `by` key.
inline auto stage_end = [](auto& ctx) { ExtendToMatchEnd(ctx, x3::_val(ctx).loc); };
auto const stage_def =
    x3::omit[spanned[x3::lit("![")[stage_missing] | x3::lit('[')[stage_open]] >
             event_query[stage_query] > stage_close >> -by_keys[stage_by] >>
             -((kw_with >> !kw_maxspan) > spanned[runs_option[stage_runs]])][stage_end];

inline auto seq_begin = [](auto& ctx) { x3::_val(ctx).loc = Where(ctx); };
inline auto seq_by = [](auto& ctx) { x3::_val(ctx).by = std::move(x3::_attr(ctx)); };
inline auto seq_maxspan = [](auto& ctx) { x3::_val(ctx).maxspan = std::move(x3::_attr(ctx)); };
inline auto seq_by_after_with = [](auto& ctx) {
  auto range = boost::make_iterator_range(MatchBegin(), MatchEnd(ctx, MatchBegin()));
  throw SyntaxError{range.begin(), 2, "Please specify sequence [by] before [with] not after"};
};
inline auto seq_stage = [](auto& ctx) {
  x3::_val(ctx).stages.push_back(std::move(x3::_attr(ctx)));
};
inline auto seq_until = [](auto& ctx) { x3::_val(ctx).until = std::move(x3::_attr(ctx)); };

struct maxspan_class;
x3::rule<maxspan_class, ast::MaxSpan> const maxspan = "'maxspan=' and a duration after 'with'";
auto const maxspan_def = kw_maxspan > '=' >
                         described("a duration such as 10s (units ms, s, m, h, d) after 'maxspan='",
                                   timespan);

auto const sequence_def =
    (spanned[kw_sequence[seq_begin]] >>
     -((by_keys[seq_by] >> -(kw_with > maxspan[seq_maxspan])) |
       ((kw_with > maxspan[seq_maxspan]) >> -spanned[x3::omit[kw_by][seq_by_after_with]]))) >
    (stage[seq_stage] >> *stage[seq_stage] >>
     -(kw_until > described("a stage in square brackets after 'until'", stage)[seq_until]));

inline auto sample_begin = [](auto& ctx) { x3::_val(ctx).loc = Where(ctx); };
inline auto sample_by = [](auto& ctx) { x3::_val(ctx).by = std::move(x3::_attr(ctx)); };
inline auto sample_stage = [](auto& ctx) {
  x3::_val(ctx).stages.push_back(std::move(x3::_attr(ctx)));
};
// Sequence-only clauses get a message of their own rather than "expected a
// stage": samples are unordered, so time windows and expiry make no sense.
inline auto sample_with_rejected = [](auto& ctx) {
  auto range = boost::make_iterator_range(MatchBegin(), MatchEnd(ctx, MatchBegin()));
  throw SyntaxError{range.begin(), 4, "sample does not support [with maxspan]"};
};
inline auto sample_until_rejected = [](auto& ctx) {
  auto range = boost::make_iterator_range(MatchBegin(), MatchEnd(ctx, MatchBegin()));
  throw SyntaxError{range.begin(), 5, "sample does not support [until]"};
};
auto const sample_def = (spanned[kw_sample[sample_begin]] >> -by_keys[sample_by] >>
                         -spanned[x3::omit[kw_with][sample_with_rejected]]) > stage[sample_stage] >
                        (stage[sample_stage] >> *stage[sample_stage] >>
                         -spanned[x3::omit[kw_until][sample_until_rejected]]);

inline auto make_pipe = [](auto& ctx) {
  auto& attr = x3::_attr(ctx);
  ast::Pipe p;
  p.name = std::move(at_c<0>(attr));
  auto range = boost::make_iterator_range(MatchBegin(), MatchEnd(ctx, MatchBegin()));
  p.loc = LocationOf(range.begin(), range.end());
  if (p.name != "head" && p.name != "tail") {
    throw SyntaxError{range.begin(), static_cast<uint32_t>(p.name.size()),
                      "Pipe [" + p.name + "] is not supported"};
  }
  if (!at_c<1>(attr)) {
    iterator_type at = SkipSpace(range.begin() + p.name.size(), State().end);
    throw SyntaxError{at, 1,
                      "Pipe [" + p.name + "] expects a non-negative whole number, found " +
                          TokenAt(at, State().end)};
  }
  p.count = *at_c<1>(attr);
  x3::_val(ctx) = std::move(p);
};
// A pipe name is any identifier, so that `count` or `unique` are recognised
// and rejected by name (the action throws before their arguments are read).
auto const pipe_def = spanned[(identifier >> -count_lit)[make_pipe]];

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
inline auto query_pipe = [](auto& ctx) {
  x3::_val(ctx).pipes.push_back(std::move(x3::_attr(ctx)));
};
inline auto join_rejected = [](auto& ctx) {
  auto range = boost::make_iterator_range(MatchBegin(), MatchEnd(ctx, MatchBegin()));
  throw SyntaxError{range.begin(), 4, "Join is not supported"};
};

auto const query_rule_def = (spanned[kw_join[join_rejected]] | sequence[query_sequence] |
                             sample[query_sample] | event_query[query_event]) >
                            *(x3::lit('|') > described("a pipe (head N or tail N) after '|'",
                                                       pipe)[query_pipe]) > end_of_query;

BOOST_SPIRIT_DEFINE(expression, or_expr, and_expr, not_expr, comparison, additive, term, unary,
                    predicated, primary, constant, value_list, value_items, call_args,
                    constant_list, patterns, call, event_query, stage, by_keys, sequence, sample,
                    pipe, query_rule, where_kw, end_of_query, runs_option, maxspan)

}  // namespace eql::syntax::grammar
