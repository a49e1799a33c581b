// libeql/syntax/diagnostic.cpp
//
// eql::Diagnostic (eql/diagnostic.hpp): placing a message in the query text
// and drawing the caret.
#include "eql/diagnostic.hpp"

#include <algorithm>
#include <string>

namespace eql {

Diagnostic Diagnostic::At(std::string_view text, uint32_t offset, uint32_t length,
                          std::string message) {
  Diagnostic d;
  d.message = std::move(message);
  offset = std::min<uint32_t>(offset, static_cast<uint32_t>(text.size()));
  d.offset = offset;
  d.length = std::max<uint32_t>(length, 1);
  size_t line_start = 0;
  d.line = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++d.line;
      line_start = i + 1;
    }
  }
  d.column = static_cast<uint32_t>(offset - line_start + 1);
  size_t line_end = text.find('\n', line_start);
  if (line_end == std::string_view::npos) line_end = text.size();
  d.source_line = std::string(text.substr(line_start, line_end - line_start));
  if (!d.source_line.empty() && d.source_line.back() == '\r') d.source_line.pop_back();
  return d;
}

std::string Diagnostic::Format(std::string_view origin) const {
  std::string out;
  if (!origin.empty()) {
    out += origin;
    out += ':';
  }
  out += std::to_string(line) + ":" + std::to_string(column) + ": error: " + message + "\n";
  // Tabs are kept in the caret line so that the caret lines up under them.
  std::string caret;
  for (uint32_t i = 0; i + 1 < column && i < source_line.size(); ++i) {
    caret += source_line[i] == '\t' ? '\t' : ' ';
  }
  caret += '^';
  uint32_t room = column - 1 < source_line.size()
                      ? static_cast<uint32_t>(source_line.size()) - (column - 1)
                      : 1;
  for (uint32_t i = 1; i < std::min(length, room); ++i) caret += '~';
  out += "  " + source_line + "\n  " + caret + "\n";
  return out;
}

}  // namespace eql
