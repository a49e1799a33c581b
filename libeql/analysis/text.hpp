// libeql/analysis/text.hpp
//
// Text primitives with Elasticsearch's meaning, shared by analysis (which
// compiles patterns and folds constants once) and evaluation: UTF-8 helpers,
// Java-compatible string indexing (UTF-16 code units), case folding, EQL
// wildcard patterns, the Lucene-regexp-to-RE2 translation, and CIDR blocks.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/json_text.hpp"

namespace eql::analysis {

// ----- UTF-8 and Java string indexing --------------------------------------

//! The UTF-8 decoder of the event model (io/json_text.hpp).
using io::DecodeUtf8;
//! Appends the UTF-8 encoding of `cp`.
void EncodeUtf8(uint32_t cp, std::string& out);
//! Java's String.length(): UTF-16 code units (supplementary code points
//! count 2).
int64_t Utf16Length(std::string_view s);
//! Byte offset of UTF-16 unit `index` (clamped to [0, length]); an index in
//! the middle of a surrogate pair moves to the end of that code point.
size_t Utf16ToByte(std::string_view s, int64_t index);
//! UTF-16 unit index of byte offset `byte` (which is a code point start).
int64_t ByteToUtf16(std::string_view s, size_t byte);

// ----- Case folding --------------------------------------------------------
//
// Case-insensitive comparison lowercases both sides code point by code point
// with Java's Character.toLowerCase mapping (what Lucene's case-insensitive
// term and wildcard queries accept) restricted to these blocks:
//   ASCII A-Z; Latin-1 Supplement U+00C0-U+00DE (not U+00D7);
//   Latin Extended-A U+0100-U+017F (U+0130 İ -> i, U+0178 Ÿ -> ÿ);
//   Latin Extended Additional U+1E00-U+1EFF (pairs; U+1E9E ẞ -> ß);
//   Greek U+0370-U+03FF (capitals and accented capitals, archaic pairs);
//   Cyrillic U+0400-U+052F; Armenian U+0531-U+0556;
//   Kelvin sign, Ohm sign, Angstrom sign; fullwidth Ａ-Ｚ.
// Other code points are left as they are; no mapping changes the number of
// code points, and none makes the text longer in bytes.

//! The lowercase of one code point (see above).
uint32_t LowerCodePoint(uint32_t cp);
//! True when `s` is pure ASCII (the fast path of folding).
bool IsAscii(std::string_view s);
//! Writes the folded form of `in` to `out` (which must have in.size() bytes
//! of room) and returns its length (<= in.size()).
size_t FoldCaseInto(std::string_view in, char* out);
//! FoldCaseInto() for text known to be ASCII (IsAscii), inline and without
//! its per-byte test for longer code points: hot paths fold parts of values.
inline void FoldAsciiInto(std::string_view in, char* out) {
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    out[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
  }
}
//! The folded form of `in` as a new string.
std::string FoldCase(std::string_view in);

// ----- Wildcard patterns (`:`, like, like~) ---------------------------------

// WildcardPattern
//
// An EQL wildcard: `*` is any run of characters, `?` exactly one character
// (code point); every other character (backslash included) is literal.
// Compiled once into pieces between stars; matching anchors the first and
// last piece and finds each middle piece leftmost, never backtracking over a
// star, so `*a*a*a*a*b` on a long string costs O(length x pattern), never
// exponential. A case-insensitive pattern is stored folded and must be given
// folded subjects.
class WildcardPattern {
 public:
  WildcardPattern() = default;
  static WildcardPattern Compile(std::string_view pattern, bool case_insensitive);
  //! Whether the whole `subject` matches (fold it first when
  //! case_insensitive()).
  bool Matches(std::string_view subject) const;
  bool case_insensitive() const { return case_insensitive_; }
  //! For a case-insensitive pattern: decides the match on the raw (unfolded)
  //! subject when ASCII case-insensitive comparison is exact for it (the
  //! bytes compared are ASCII), without making a folded copy. -1 when it
  //! cannot decide (non-ASCII text involved, or a pattern with '?' or inner
  //! stars): fold the subject and call Matches().
  //! `ascii`: the caller knows `raw` is pure ASCII (checked once per value
  //! for all patterns).
  int QuickMatchInsensitive(std::string_view raw, bool ascii) const;
  //! The pattern as written (for messages).
  const std::string& text() const { return text_; }

 private:
  struct Piece {
    std::string literal;        // bytes; '?' positions are in `any`
    std::vector<uint32_t> any;  // byte offsets in `literal` where a '?' stands
    size_t code_points = 0;     // fixed number of code points the piece matches
    bool Literal() const { return any.empty(); }
  };
  // Matches `piece` at s[pos]; returns the end offset or npos.
  static size_t MatchAt(const Piece& piece, std::string_view s, size_t pos);
  // Leftmost match of `piece` starting in [pos, limit]; end must be <= limit.
  static size_t Find(const Piece& piece, std::string_view s, size_t pos, size_t limit, size_t& end);

  enum class Kind : uint8_t { kExact, kPrefix, kSuffix, kContains, kGeneral, kAll };
  Kind kind_ = Kind::kExact;
  bool case_insensitive_ = false;
  bool leading_star_ = false;
  bool trailing_star_ = false;
  std::vector<Piece> pieces_;
  std::string text_;
};

// ----- Regular expressions (regex, regex~) ----------------------------------

// TranslateLuceneRegex()
//
// Rewrites a Lucene regexp (what Elasticsearch's regexp query speaks) as an
// RE2 pattern with the same meaning: `\c` is always the literal c (there are
// no \d \s \w classes), `"..."` is a literal string, `@` is any string,
// `^` and `$` are ordinary characters, `.` matches any character (newline
// too, with RE2's dot_nl), classes `[...]`/`[^...]`, groups, `|`, `* + ?`
// and `{n,m}` as usual. Lucene's `&` (intersection), `~` (complement), `#`
// (empty language) and `<n-m>` (numeric interval) have no RE2 equivalent:
// they return an error message instead.
struct RegexTranslation {
  std::string pattern;  //!< RE2 syntax; empty with error set on failure
  std::string error;
};
RegexTranslation TranslateLuceneRegex(std::string_view lucene);

// RegexRequiredLiteral()
//
// A literal that every text a case-sensitive RE2 `pattern` matches (even in
// part) contains, as lowercase ASCII: look for it in the text with its ASCII
// letters lowered, and a text without it cannot match. The longest of RE2's
// prefilter atoms (re2/filtered_re2.h) that its prefilter proves required:
// the prefilter fails with every other atom present. Empty when there is
// none, and for a case-insensitive pattern (Unicode case folding: `(?i)s`
// matches U+017F, which holds no `s`). Two regexes of the corpus run on
// every process start's command line (`.*[ ]{20,}.*`, runs of spaces), and
// a text without the run is refused without running the regex.
std::string RegexRequiredLiteral(std::string_view pattern, bool case_sensitive, bool dot_nl);
//! Whether `text` holds `literal` (a RegexRequiredLiteral()) with its ASCII
//! letters lowered; `scratch` is used when it has some.
bool HasRequiredLiteral(std::string_view text, std::string_view literal, std::string& scratch);

// ----- IP addresses and CIDR blocks (cidrMatch) -----------------------------

//! An address as 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d), as
//! Lucene's InetAddressPoint does, so a v4 block also matches the mapped form.
using IpBytes = std::array<uint8_t, 16>;
std::optional<IpBytes> ParseIp(std::string_view text);

struct CidrBlock {
  IpBytes network{};
  int prefix = 128;  //!< over the 128-bit form (a v4 /24 is /120)
  bool Contains(const IpBytes& ip) const;
};
//! "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128 block).
std::optional<CidrBlock> ParseCidr(std::string_view text);

}  // namespace eql::analysis
