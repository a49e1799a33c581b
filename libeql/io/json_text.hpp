// libeql/io/json_text.hpp
//
// Writing values as JSON text (alert output, Event::ToJson, join keys) and as
// Java prints them (EQL's string() and concat() follow Java's toString).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace eql::io {

//! Decodes the code point at s[i] and its byte length. A byte that does not
//! start valid UTF-8 (overlong, surrogate, past U+10FFFF, cut short) is
//! returned as itself (0x80..0xFF) with length 1, so every input decodes.
uint32_t DecodeUtf8(std::string_view s, size_t i, size_t& length);

//! Appends `s` as a JSON string literal: quotes, `\"`, `\\`, control
//! characters as \n \r \t \b \f or \u00XX. Invalid UTF-8 bytes are replaced
//! by U+FFFD so that the output is always valid JSON.
void AppendJsonString(std::string_view s, std::string& out);

//! Appends a double as JSON: the shortest text that reads back to the same
//! value, always with a '.' or exponent so that it reads back as a double;
//! NaN and infinities (not representable in JSON) as null.
void AppendJsonNumber(double d, std::string& out);

//! Appends a double the way Java's Double.toString prints it ("1.0", "0.5",
//! "1.0E10", "1.0E-5", "NaN", "Infinity"): plain notation for
//! 1e-3 <= |d| < 1e7, otherwise computerized scientific notation; digits are
//! the shortest that read back exactly.
void AppendJavaDouble(double d, std::string& out);

}  // namespace eql::io
