// File: eql/diagnostic.hpp
//
// A diagnostic is how libeql reports a problem in a query: a message, the
// place (1-based line and column, byte offset and length) and the source line,
// so that a caret can be drawn under the offending text. Parsing and analysis
// return diagnostics as values; nothing throws across the public API.
//
// Example:
//   eql::Diagnostic d = ...;
//   std::cerr << d.Format("rule.eql");
//   // rule.eql:1:20: error: expected an expression after '=='
//   //   process where name ==
//   //                      ^
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace eql {

// Diagnostic
//
// A plain value that owns its text: it stays valid after the query text and
// the engine that produced it are gone. Engine::rejected_rules() holds them.
struct Diagnostic {
  std::string message;      //!< what is wrong, naming what was expected
  uint32_t line = 1;        //!< 1-based line of the offending text
  uint32_t column = 1;      //!< 1-based column, in bytes
  uint32_t offset = 0;      //!< byte offset into the query text
  uint32_t length = 1;      //!< bytes covered (at least 1 for the caret)
  std::string source_line;  //!< the whole line of query text, no newline

  // Diagnostic::Format()
  //
  // Returns "ORIGIN:LINE:COLUMN: error: MESSAGE\n  SOURCE LINE\n  ^~~~\n".
  // ORIGIN may be empty, in which case it and its colon are left out.
  std::string Format(std::string_view origin = {}) const;

  // Diagnostic::At()
  //
  // Builds a diagnostic for `length` bytes at `offset` of `text`, computing
  // the line, column and source line.
  static Diagnostic At(std::string_view text, uint32_t offset, uint32_t length,
                       std::string message);
};

}  // namespace eql
