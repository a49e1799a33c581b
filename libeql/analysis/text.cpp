// libeql/analysis/text.cpp
#include "analysis/text.hpp"

#include <arpa/inet.h>
#include <re2/filtered_re2.h>
#include <re2/re2.h>

#include <algorithm>
#include <cstring>

namespace eql::analysis {

// ----- UTF-8 ----------------------------------------------------------------

void EncodeUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsAscii(std::string_view s) {
  // Eight bytes at a time: any high bit set means a non-ASCII byte. The
  // bytes after the last whole word are read as one more word ending at the
  // end (overlapping), and a text shorter than eight as two or three
  // overlapping pieces: a loop over the last few bytes, whose length varies
  // from text to text, was a mispredicted branch on most calls.
  const char* p = s.data();
  const size_t n = s.size();
  auto load64 = [](const char* at) {
    uint64_t v;
    std::memcpy(&v, at, 8);
    return v;
  };
  auto load32 = [](const char* at) {
    uint32_t v;
    std::memcpy(&v, at, 4);
    return v;
  };
  uint64_t any = 0;
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) any |= load64(p + i);
    any |= load64(p + n - 8);
  } else if (n >= 4) {
    any = load32(p) | load32(p + n - 4);
  } else if (n > 0) {
    any = static_cast<unsigned char>(p[0]) | static_cast<unsigned char>(p[n / 2]) |
          static_cast<unsigned char>(p[n - 1]);
  }
  return (any & 0x8080808080808080ull) == 0;
}

int64_t Utf16Length(std::string_view s) {
  if (IsAscii(s)) return static_cast<int64_t>(s.size());
  int64_t units = 0;
  for (size_t i = 0; i < s.size();) {
    size_t n;
    uint32_t cp = DecodeUtf8(s, i, n);
    units += cp >= 0x10000 ? 2 : 1;
    i += n;
  }
  return units;
}

size_t Utf16ToByte(std::string_view s, int64_t index) {
  if (index <= 0) return 0;
  size_t i = 0;
  int64_t units = 0;
  while (i < s.size() && units < index) {
    size_t n;
    uint32_t cp = DecodeUtf8(s, i, n);
    units += cp >= 0x10000 ? 2 : 1;
    i += n;
  }
  return i;
}

int64_t ByteToUtf16(std::string_view s, size_t byte) {
  int64_t units = 0;
  for (size_t i = 0; i < s.size() && i < byte;) {
    size_t n;
    uint32_t cp = DecodeUtf8(s, i, n);
    units += cp >= 0x10000 ? 2 : 1;
    i += n;
  }
  return units;
}

// ----- Case folding ---------------------------------------------------------

uint32_t LowerCodePoint(uint32_t cp) {
  if (cp < 0x80) return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
  if (cp < 0x100) return cp >= 0xC0 && cp <= 0xDE && cp != 0xD7 ? cp + 32 : cp;
  if (cp < 0x180) {  // Latin Extended-A
    if (cp == 0x130) return 'i';
    if (cp == 0x178) return 0xFF;
    if ((cp >= 0x100 && cp <= 0x12F) || (cp >= 0x132 && cp <= 0x137) ||
        (cp >= 0x14A && cp <= 0x177)) {
      return cp % 2 == 0 ? cp + 1 : cp;
    }
    if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) {
      return cp % 2 == 1 ? cp + 1 : cp;
    }
    return cp;
  }
  if (cp >= 0x370 && cp <= 0x3FF) {  // Greek and Coptic
    if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) return cp + 32;
    if (cp == 0x386) return 0x3AC;
    if (cp >= 0x388 && cp <= 0x38A) return cp + 37;
    if (cp == 0x38C) return 0x3CC;
    if (cp == 0x38E || cp == 0x38F) return cp + 63;
    if (cp == 0x370 || cp == 0x372 || cp == 0x376) return cp + 1;
    if (cp == 0x37F) return 0x3F3;
    if (cp == 0x3CF) return 0x3D7;
    if (cp >= 0x3D8 && cp <= 0x3EF) return cp % 2 == 0 ? cp + 1 : cp;
    if (cp == 0x3F4) return 0x3B8;
    if (cp == 0x3F7 || cp == 0x3FA) return cp + 1;
    if (cp == 0x3F9) return 0x3F2;
    if (cp >= 0x3FD) return cp - 130;
    return cp;
  }
  if (cp >= 0x400 && cp <= 0x52F) {  // Cyrillic and Cyrillic Supplement
    if (cp <= 0x40F) return cp + 80;
    if (cp <= 0x42F) return cp + 32;
    if ((cp >= 0x460 && cp <= 0x481) || (cp >= 0x48A && cp <= 0x4BF) ||
        (cp >= 0x4D0 && cp <= 0x52F)) {
      return cp % 2 == 0 ? cp + 1 : cp;
    }
    if (cp == 0x4C0) return 0x4CF;
    if (cp >= 0x4C1 && cp <= 0x4CE) return cp % 2 == 1 ? cp + 1 : cp;
    return cp;
  }
  if (cp >= 0x531 && cp <= 0x556) return cp + 48;  // Armenian
  if (cp >= 0x1E00 && cp <= 0x1EFF) {              // Latin Extended Additional
    if (cp == 0x1E9E) return 0xDF;
    if ((cp <= 0x1E95) || cp >= 0x1EA0) return cp % 2 == 0 ? cp + 1 : cp;
    return cp;
  }
  if (cp == 0x2126) return 0x3C9;  // Ohm sign
  if (cp == 0x212A) return 'k';    // Kelvin sign
  if (cp == 0x212B) return 0xE5;   // Angstrom sign
  if (cp >= 0xFF21 && cp <= 0xFF3A) return cp + 32;
  return cp;
}

size_t FoldCaseInto(std::string_view in, char* out) {
  size_t o = 0;
  for (size_t i = 0; i < in.size();) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      out[o++] = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp = DecodeUtf8(in, i, n);
    uint32_t lower = n == 1 ? cp : LowerCodePoint(cp);
    if (lower == cp) {
      std::memcpy(out + o, in.data() + i, n);
      o += n;
    } else {
      std::string enc;
      EncodeUtf8(lower, enc);
      std::memcpy(out + o, enc.data(), enc.size());  // never longer than n
      o += enc.size();
    }
    i += n;
  }
  return o;
}

std::string FoldCase(std::string_view in) {
  std::string out(in.size(), '\0');
  out.resize(FoldCaseInto(in, out.data()));
  return out;
}

// ----- Wildcards ------------------------------------------------------------

namespace {

inline bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Length of the code point starting at s[i] (1 for a stray byte).
inline size_t CodePointLength(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t n;
  DecodeUtf8(s, i, n);
  return n;
}

size_t CountCodePoints(std::string_view s) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); i += CodePointLength(s, i)) ++count;
  return count;
}

}  // namespace

WildcardPattern WildcardPattern::Compile(std::string_view pattern, bool case_insensitive) {
  WildcardPattern p;
  p.text_ = std::string(pattern);
  p.case_insensitive_ = case_insensitive;
  std::string folded = case_insensitive ? FoldCase(pattern) : std::string(pattern);
  std::string_view s = folded;
  p.leading_star_ = !s.empty() && s.front() == '*';
  p.trailing_star_ = !s.empty() && s.back() == '*';
  Piece current;
  bool any_star = false;
  auto flush = [&] {
    if (!current.literal.empty()) {
      current.code_points = CountCodePoints(current.literal);
      p.pieces_.push_back(std::move(current));
    }
    current = Piece();
  };
  for (char c : s) {
    if (c == '*') {
      any_star = true;
      flush();
    } else if (c == '?') {
      current.any.push_back(static_cast<uint32_t>(current.literal.size()));
      current.literal.push_back('?');
    } else {
      current.literal.push_back(c);
    }
  }
  flush();
  if (!any_star) {
    p.kind_ = Kind::kExact;
    if (p.pieces_.empty()) p.pieces_.push_back(Piece());
  } else if (p.pieces_.empty()) {
    p.kind_ = Kind::kAll;
  } else if (p.pieces_.size() == 1 && p.pieces_[0].Literal()) {
    if (p.leading_star_ && p.trailing_star_) {
      p.kind_ = Kind::kContains;
    } else if (p.leading_star_) {
      p.kind_ = Kind::kSuffix;
    } else if (p.trailing_star_) {
      p.kind_ = Kind::kPrefix;
    } else {
      p.kind_ = Kind::kGeneral;
    }
  } else {
    p.kind_ = Kind::kGeneral;
  }
  return p;
}

size_t WildcardPattern::MatchAt(const Piece& piece, std::string_view s, size_t pos) {
  if (piece.Literal()) {
    if (s.size() - pos < piece.literal.size()) return std::string_view::npos;
    return std::memcmp(s.data() + pos, piece.literal.data(), piece.literal.size()) == 0
               ? pos + piece.literal.size()
               : std::string_view::npos;
  }
  size_t at = pos;
  size_t next_any = 0;
  const std::string& lit = piece.literal;
  for (size_t k = 0; k < lit.size();) {
    if (next_any < piece.any.size() && piece.any[next_any] == k) {
      if (at >= s.size()) return std::string_view::npos;
      at += CodePointLength(s, at);
      ++next_any;
      ++k;
      continue;
    }
    // A literal run up to the next '?'.
    size_t run_end = next_any < piece.any.size() ? piece.any[next_any] : lit.size();
    size_t run = run_end - k;
    if (s.size() - at < run || std::memcmp(s.data() + at, lit.data() + k, run) != 0) {
      return std::string_view::npos;
    }
    at += run;
    k = run_end;
  }
  return at;
}

size_t WildcardPattern::Find(const Piece& piece, std::string_view s, size_t pos, size_t limit,
                             size_t& end) {
  if (piece.Literal()) {
    size_t at = s.substr(0, limit).find(piece.literal, pos);
    if (at == std::string_view::npos) return at;
    end = at + piece.literal.size();
    return at;
  }
  std::string_view window = s.substr(0, limit);
  for (size_t at = pos; at < window.size() || (at == window.size() && piece.literal.empty());
       ++at) {
    if (IsContinuation(window[at])) continue;
    size_t e = MatchAt(piece, window, at);
    if (e != std::string_view::npos) {
      end = e;
      return at;
    }
  }
  return std::string_view::npos;
}

bool WildcardPattern::Matches(std::string_view s) const {
  constexpr size_t npos = std::string_view::npos;
  switch (kind_) {
    case Kind::kAll:
      return true;
    case Kind::kExact: {
      const Piece& p = pieces_[0];
      if (p.Literal()) return s == p.literal;
      return MatchAt(p, s, 0) == s.size();
    }
    case Kind::kPrefix:
      return s.size() >= pieces_[0].literal.size() &&
             std::memcmp(s.data(), pieces_[0].literal.data(), pieces_[0].literal.size()) == 0;
    case Kind::kSuffix: {
      const std::string& l = pieces_[0].literal;
      return s.size() >= l.size() &&
             std::memcmp(s.data() + s.size() - l.size(), l.data(), l.size()) == 0;
    }
    case Kind::kContains:
      return s.find(pieces_[0].literal) != npos;
    case Kind::kGeneral:
      break;
  }
  size_t first = 0;
  size_t last = pieces_.size();
  size_t pos = 0;
  size_t limit = s.size();
  if (!leading_star_) {
    size_t e = MatchAt(pieces_[0], s, 0);
    if (e == npos) return false;
    pos = e;
    first = 1;
  }
  if (!trailing_star_ && last > first) {
    // The last piece matches a fixed number of code points: its start is
    // that many code points back from the end.
    const Piece& p = pieces_[last - 1];
    size_t start = s.size();
    for (size_t k = 0; k < p.code_points; ++k) {
      if (start == 0) return false;
      --start;
      while (start > 0 && IsContinuation(s[start])) --start;
    }
    if (start < pos || MatchAt(p, s, start) != s.size()) return false;
    limit = start;
    --last;
  } else if (!trailing_star_) {
    // All pieces consumed by the anchored first piece: it must end the text.
    return pos == s.size();
  }
  for (size_t k = first; k < last; ++k) {
    size_t end = 0;
    size_t at = Find(pieces_[k], s, pos, limit, end);
    if (at == npos) return false;
    pos = end;
  }
  return true;
}

namespace {

inline char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

// Compares raw[0..n) lowercased with the folded literal; -1 if a raw byte is
// not ASCII (its folding could differ from byte-wise lowering).
int EqualsLowerAscii(const char* raw, const char* folded, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    char c = raw[i];
    if (static_cast<unsigned char>(c) >= 0x80) return -1;
    if (LowerAscii(c) != folded[i]) return 0;
  }
  return 1;
}

}  // namespace

int WildcardPattern::QuickMatchInsensitive(std::string_view raw, bool ascii) const {
  if (!case_insensitive_ || !ascii) return -1;
  switch (kind_) {
    case Kind::kAll:
      return 1;
    case Kind::kExact: {
      const Piece& p = pieces_[0];
      if (!p.Literal()) return -1;
      if (raw.size() != p.literal.size()) return 0;
      return EqualsLowerAscii(raw.data(), p.literal.data(), raw.size());
    }
    case Kind::kPrefix: {
      const std::string& l = pieces_[0].literal;
      if (raw.size() < l.size()) return 0;
      return EqualsLowerAscii(raw.data(), l.data(), l.size());
    }
    case Kind::kSuffix: {
      const std::string& l = pieces_[0].literal;
      if (raw.size() < l.size()) return 0;
      return EqualsLowerAscii(raw.data() + raw.size() - l.size(), l.data(), l.size());
    }
    case Kind::kContains: {
      const std::string& l = pieces_[0].literal;
      if (l.empty()) return 1;
      if (raw.size() < l.size()) return 0;
      const char first = l[0];
      const char first_upper = first >= 'a' && first <= 'z' ? static_cast<char>(first - 32) : first;
      for (size_t i = 0; i + l.size() <= raw.size(); ++i) {
        char c = raw[i];
        if (c != first && c != first_upper) continue;
        if (EqualsLowerAscii(raw.data() + i, l.data(), l.size()) == 1) return 1;
      }
      return 0;
    }
    case Kind::kGeneral:
      return -1;
  }
  return -1;
}

// ----- Lucene regexp -> RE2 -------------------------------------------------

namespace {

void AppendRe2Literal(char c, std::string& out) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      c == '_' || c == ' ') {
    out.push_back(c);
  } else {
    out.push_back('\\');
    out.push_back(c);
  }
}

}  // namespace

RegexTranslation TranslateLuceneRegex(std::string_view in) {
  RegexTranslation r;
  std::string& out = r.pattern;
  size_t i = 0;
  auto unsupported = [&](std::string_view what) {
    r.pattern.clear();
    r.error = std::string("the Lucene regular expression operator ") + std::string(what) +
              " is not supported";
    return r;
  };
  while (i < in.size()) {
    char c = in[i];
    switch (c) {
      case '\\':
        if (i + 1 >= in.size()) {
          r.pattern.clear();
          r.error = "trailing backslash in regular expression";
          return r;
        }
        AppendRe2Literal(in[i + 1], out);
        i += 2;
        continue;
      case '"': {
        size_t close = in.find('"', i + 1);
        if (close == std::string_view::npos) {
          r.pattern.clear();
          r.error = "unterminated string in regular expression";
          return r;
        }
        out += "(?:";
        for (size_t k = i + 1; k < close; ++k) AppendRe2Literal(in[k], out);
        out += ")";
        i = close + 1;
        continue;
      }
      case '@':
        out += "(?s:.*)";
        ++i;
        continue;
      case '^':
      case '$':
        AppendRe2Literal(c, out);
        ++i;
        continue;
      case '&':
        return unsupported("'&' (intersection)");
      case '~':
        return unsupported("'~' (complement)");
      case '#':
        return unsupported("'#' (empty language)");
      case '<':
        return unsupported("'<n-m>' (numeric interval)");
      case '[': {
        // A character class: copy it, making every escape literal.
        out.push_back('[');
        ++i;
        if (i < in.size() && in[i] == '^') {
          out.push_back('^');
          ++i;
        }
        bool closed = false;
        bool first = true;
        while (i < in.size()) {
          char d = in[i];
          if (d == ']' && !first) {
            closed = true;
            ++i;
            break;
          }
          first = false;
          if (d == '\\' && i + 1 < in.size()) {
            AppendRe2Literal(in[i + 1], out);
            i += 2;
          } else if (d == '-') {
            out.push_back('-');
            ++i;
          } else {
            AppendRe2Literal(d, out);
            ++i;
          }
        }
        if (!closed) {
          r.pattern.clear();
          r.error = "unterminated character class in regular expression";
          return r;
        }
        out.push_back(']');
        continue;
      }
      default:
        out.push_back(c);
        ++i;
        continue;
    }
  }
  return r;
}

// ----- IP and CIDR ----------------------------------------------------------

std::optional<IpBytes> ParseIp(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  char buf[65];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpBytes ip{};
  in_addr v4;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, &v4) != 1) return std::nullopt;
    ip[10] = 0xFF;
    ip[11] = 0xFF;
    std::memcpy(ip.data() + 12, &v4, 4);
    return ip;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, buf, &v6) != 1) return std::nullopt;
  std::memcpy(ip.data(), &v6, 16);
  return ip;
}

bool CidrBlock::Contains(const IpBytes& ip) const {
  int bits = prefix;
  for (int byte = 0; byte < 16 && bits > 0; ++byte, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xFF : static_cast<uint8_t>(0xFF << (8 - bits));
    if ((ip[byte] & mask) != (network[byte] & mask)) return false;
  }
  return true;
}

std::optional<CidrBlock> ParseCidr(std::string_view text) {
  size_t slash = text.find('/');
  std::string_view address = text.substr(0, slash);
  auto ip = ParseIp(address);
  if (!ip) return std::nullopt;
  bool v4 = address.find(':') == std::string_view::npos;
  int max = v4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > max) return std::nullopt;
  }
  CidrBlock block;
  block.network = *ip;
  block.prefix = v4 ? prefix + 96 : prefix;
  return block;
}

std::string RegexRequiredLiteral(std::string_view pattern, bool case_sensitive, bool dot_nl) {
  if (!case_sensitive) return {};
  RE2::Options options;
  options.set_log_errors(false);
  options.set_dot_nl(dot_nl);
  re2::FilteredRE2 filter(/*min_atom_len=*/1);
  int id = 0;
  if (filter.Add(re2::StringPiece(pattern.data(), pattern.size()), options, &id) != RE2::NoError) {
    return {};
  }
  std::vector<std::string> atoms;
  filter.Compile(&atoms);
  std::string best;
  for (size_t k = 0; k < atoms.size(); ++k) {
    if (atoms[k].size() <= best.size() || !IsAscii(atoms[k])) continue;
    // The prefilter is monotone (atoms joined by AND and OR): if it fails
    // with every atom but this one present, it fails whenever this one is
    // missing, and RE2 guarantees it holds for every text the regex matches.
    std::vector<int> others;
    for (size_t j = 0; j < atoms.size(); ++j) {
      if (j != k) others.push_back(static_cast<int>(j));
    }
    std::vector<int> potential;
    filter.AllPotentials(others, &potential);
    if (potential.empty()) best = atoms[k];
  }
  return best;
}

bool HasRequiredLiteral(std::string_view text, std::string_view literal, std::string& scratch) {
  const bool letters =
      std::any_of(literal.begin(), literal.end(), [](char c) { return c >= 'a' && c <= 'z'; });
  if (!letters) return text.find(literal) != std::string_view::npos;
  scratch.resize(text.size());
  FoldAsciiInto(text, scratch.data());
  return std::string_view(scratch).find(literal) != std::string_view::npos;
}

}  // namespace eql::analysis
