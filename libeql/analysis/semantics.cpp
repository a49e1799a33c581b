// libeql/analysis/semantics.cpp
#include "analysis/semantics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "io/json_text.hpp"

namespace eql::analysis {

// ----- Arena ----------------------------------------------------------------

char* Arena::Allocate(size_t n) {
  while (block_ < blocks_.size()) {
    if (sizes_[block_] - used_ >= n) {
      char* p = blocks_[block_].get() + used_;
      used_ += n;
      return p;
    }
    ++block_;
    used_ = 0;
  }
  size_t size = std::max<size_t>(n, 64 << 10);
  blocks_.push_back(std::make_unique<char[]>(size));
  sizes_.push_back(size);
  block_ = blocks_.size() - 1;
  used_ = n;
  return blocks_.back().get();
}

std::string_view Arena::Copy(std::string_view s) {
  if (s.empty()) return {};
  char* p = Allocate(s.size());
  std::memcpy(p, s.data(), s.size());
  return {p, s.size()};
}

std::string_view FoldInto(std::string_view s, Arena& arena) {
  if (s.empty()) return s;
  char* p = arena.Allocate(s.size());
  return {p, FoldCaseInto(s, p)};
}

// ----- Conversions ----------------------------------------------------------

std::string_view TextOf(const Scalar& v, char* buf, bool& ok) {
  ok = true;
  switch (v.type) {
    case Scalar::Type::kString:
      return v.s;
    case Scalar::Type::kInt: {
      auto r = std::to_chars(buf, buf + 32, v.i);
      return {buf, static_cast<size_t>(r.ptr - buf)};
    }
    case Scalar::Type::kDouble: {
      std::string s;
      io::AppendJavaDouble(v.d, s);
      size_t n = std::min<size_t>(s.size(), 32);
      std::memcpy(buf, s.data(), n);
      return {buf, n};
    }
    case Scalar::Type::kBool:
      return v.b ? "true" : "false";
    case Scalar::Type::kNull:
      break;
  }
  ok = false;
  return {};
}

bool ParseNumber(std::string_view t, Scalar& out) {
  if (t.empty()) return false;
  size_t p = 0;
  if (t[0] == '+' || t[0] == '-') ++p;
  size_t digits = 0;
  bool fraction = false;
  while (p < t.size() && t[p] >= '0' && t[p] <= '9') ++p, ++digits;
  if (p < t.size() && t[p] == '.') {
    fraction = true;
    ++p;
    while (p < t.size() && t[p] >= '0' && t[p] <= '9') ++p, ++digits;
  }
  if (digits == 0) return false;
  if (p < t.size() && (t[p] == 'e' || t[p] == 'E')) {
    fraction = true;
    ++p;
    if (p < t.size() && (t[p] == '+' || t[p] == '-')) ++p;
    size_t exp_digits = 0;
    while (p < t.size() && t[p] >= '0' && t[p] <= '9') ++p, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  if (p != t.size()) return false;
  std::string_view body = t[0] == '+' ? t.substr(1) : t;
  if (!fraction) {
    int64_t v;
    auto r = std::from_chars(body.data(), body.data() + body.size(), v);
    if (r.ec == std::errc() && r.ptr == body.data() + body.size()) {
      out = Scalar::Int(v);
      return true;
    }
  }
  double d;
  auto r = std::from_chars(body.data(), body.data() + body.size(), d);
  if (r.ec != std::errc() && r.ec != std::errc::result_out_of_range) return false;
  if (r.ec == std::errc::result_out_of_range) {
    d = std::strtod(std::string(body).c_str(), nullptr);
  }
  out = Scalar::Double(d);
  return true;
}

// ----- Comparison -----------------------------------------------------------

namespace {

// -1, 0, 1 for numbers; `unordered` for NaN.
int CompareNumbers(const Scalar& a, const Scalar& b, bool& unordered) {
  unordered = false;
  if (a.type == Scalar::Type::kInt && b.type == Scalar::Type::kInt) {
    return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
  }
  // long double holds every int64 exactly (64-bit mantissa on x86-64), so an
  // integer against a double compares exactly.
  long double x = a.type == Scalar::Type::kInt ? static_cast<long double>(a.i) : a.d;
  long double y = b.type == Scalar::Type::kInt ? static_cast<long double>(b.i) : b.d;
  if (std::isnan(x) || std::isnan(y)) {
    unordered = true;
    return 0;
  }
  return x < y ? -1 : (x > y ? 1 : 0);
}

Tri Apply(ast::CompareOp op, int c) {
  switch (op) {
    case ast::CompareOp::kEq:
      return ToTri(c == 0);
    case ast::CompareOp::kNe:
      return ToTri(c != 0);
    case ast::CompareOp::kLt:
      return ToTri(c < 0);
    case ast::CompareOp::kLe:
      return ToTri(c <= 0);
    case ast::CompareOp::kGt:
      return ToTri(c > 0);
    case ast::CompareOp::kGe:
      return ToTri(c >= 0);
  }
  return Tri::kNull;
}

Tri Unrelated(ast::CompareOp op) {
  if (op == ast::CompareOp::kEq) return Tri::kFalse;
  if (op == ast::CompareOp::kNe) return Tri::kTrue;
  return Tri::kNull;
}

int CompareText(std::string_view a, std::string_view b) {
  int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

}  // namespace

Tri Compare(ast::CompareOp op, const Scalar& a, const Scalar& b) {
  using T = Scalar::Type;
  if (a.type == T::kNull || b.type == T::kNull) return Tri::kNull;
  if (a.is_number() && b.is_number()) {
    bool unordered;
    int c = CompareNumbers(a, b, unordered);
    if (unordered) return Unrelated(op);
    return Apply(op, c);
  }
  if (a.type == T::kString && b.type == T::kString) return Apply(op, CompareText(a.s, b.s));
  if (a.type == T::kBool && b.type == T::kBool) return Apply(op, int(a.b) - int(b.b));
  if ((a.is_number() && b.type == T::kString) || (a.type == T::kString && b.is_number())) {
    const Scalar& text = a.type == T::kString ? a : b;
    Scalar number;
    if (ParseNumber(text.s, number)) {
      return a.type == T::kString ? Compare(op, number, b) : Compare(op, a, number);
    }
    char buf[32];
    bool ok;
    std::string_view other = TextOf(a.type == T::kString ? b : a, buf, ok);
    return a.type == T::kString ? Apply(op, CompareText(a.s, other))
                                : Apply(op, CompareText(other, b.s));
  }
  if ((a.type == T::kBool && b.type == T::kString) ||
      (a.type == T::kString && b.type == T::kBool)) {
    std::string_view x = a.type == T::kBool ? (a.b ? "true" : "false") : a.s;
    std::string_view y = b.type == T::kBool ? (b.b ? "true" : "false") : b.s;
    return Apply(op, CompareText(x, y));
  }
  return Unrelated(op);
}

Tri EqualsFolded(const Scalar& a, const Scalar& b, Arena& arena) {
  if (a.type == Scalar::Type::kString && b.type == Scalar::Type::kString) {
    return ToTri(FoldInto(a.s, arena) == FoldInto(b.s, arena));
  }
  return Compare(ast::CompareOp::kEq, a, b);
}

// ----- Arithmetic -----------------------------------------------------------

Scalar Arithmetic(ast::ArithOp op, const Scalar& a, const Scalar& b) {
  if (!a.is_number() || !b.is_number()) return Scalar();
  if (a.type == Scalar::Type::kInt && b.type == Scalar::Type::kInt) {
    int64_t r = 0;
    switch (op) {
      case ast::ArithOp::kAdd:
        if (__builtin_add_overflow(a.i, b.i, &r)) return Scalar();
        return Scalar::Int(r);
      case ast::ArithOp::kSub:
        if (__builtin_sub_overflow(a.i, b.i, &r)) return Scalar();
        return Scalar::Int(r);
      case ast::ArithOp::kMul:
        if (__builtin_mul_overflow(a.i, b.i, &r)) return Scalar();
        return Scalar::Int(r);
      case ast::ArithOp::kDiv:
        if (b.i == 0 || (a.i == INT64_MIN && b.i == -1)) return Scalar();
        return Scalar::Int(a.i / b.i);
      case ast::ArithOp::kMod:
        if (b.i == 0) return Scalar();
        if (b.i == -1) return Scalar::Int(0);
        return Scalar::Int(a.i % b.i);
    }
    return Scalar();
  }
  double x = a.type == Scalar::Type::kInt ? static_cast<double>(a.i) : a.d;
  double y = b.type == Scalar::Type::kInt ? static_cast<double>(b.i) : b.d;
  switch (op) {
    case ast::ArithOp::kAdd:
      return Scalar::Double(x + y);
    case ast::ArithOp::kSub:
      return Scalar::Double(x - y);
    case ast::ArithOp::kMul:
      return Scalar::Double(x * y);
    case ast::ArithOp::kDiv:
      if (y == 0) return Scalar();
      return Scalar::Double(x / y);
    case ast::ArithOp::kMod:
      if (y == 0) return Scalar();
      return Scalar::Double(std::fmod(x, y));  // Java's % on doubles
  }
  return Scalar();
}

Scalar Negate(const Scalar& a) {
  if (a.type == Scalar::Type::kInt) return a.i == INT64_MIN ? Scalar() : Scalar::Int(-a.i);
  if (a.type == Scalar::Type::kDouble) return Scalar::Double(-a.d);
  return Scalar();
}

// ----- Functions ------------------------------------------------------------

namespace {

constexpr FunctionInfo kFunctions[] = {
    {"add", Function::kAdd, 2, 2, false},
    {"between", Function::kBetween, 3, 4, true},
    {"cidrMatch", Function::kCidrMatch, 2, -1, false},
    {"concat", Function::kConcat, 1, -1, false},
    {"divide", Function::kDivide, 2, 2, false},
    {"endsWith", Function::kEndsWith, 2, 2, true},
    {"indexOf", Function::kIndexOf, 2, 3, true},
    {"length", Function::kLength, 1, 1, false},
    {"modulo", Function::kModulo, 2, 2, false},
    {"multiply", Function::kMultiply, 2, 2, false},
    {"number", Function::kNumber, 1, 2, false},
    {"startsWith", Function::kStartsWith, 2, 2, true},
    {"string", Function::kString, 1, 1, false},
    {"stringContains", Function::kStringContains, 2, 2, true},
    {"substring", Function::kSubstring, 2, 3, false},
    {"subtract", Function::kSubtract, 2, 2, false},
};

bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

bool IsString(const Scalar& s) { return s.type == Scalar::Type::kString; }

// An integer argument (Java's Number.intValue(): doubles truncate).
bool IntArg(const Scalar& s, int64_t& out) {
  if (s.type == Scalar::Type::kInt) {
    out = s.i;
    return true;
  }
  if (s.type == Scalar::Type::kDouble && std::isfinite(s.d)) {
    out = static_cast<int64_t>(std::trunc(std::clamp(s.d, -9.2e18, 9.2e18)));
    return true;
  }
  return false;
}

// Java's String.valueOf for concat/string.
std::string_view Stringify(const Scalar& v, Arena& arena) {
  char buf[32];
  bool ok;
  std::string_view t = TextOf(v, buf, ok);
  return v.type == Scalar::Type::kString ? t : arena.Copy(t);
}

Scalar Between(std::span<const Scalar> a, bool ci, Arena& arena) {
  for (size_t i = 0; i < 3; ++i) {
    if (!IsString(a[i])) return Scalar();
  }
  bool greedy = false;
  if (a.size() > 3) {
    if (a[3].type == Scalar::Type::kNull) return Scalar();
    if (a[3].type != Scalar::Type::kBool) return Scalar();
    greedy = a[3].b;
  }
  std::string_view source = a[0].s;
  std::string_view hay = source, left = a[1].s, right = a[2].s;
  if (ci) {
    hay = FoldInto(source, arena);
    left = FoldInto(left, arena);
    right = FoldInto(right, arena);
  }
  size_t start = hay.find(left);
  if (start == std::string_view::npos) return Scalar::String("");
  start += left.size();
  size_t end = greedy ? hay.rfind(right) : hay.find(right, start);
  if (end == std::string_view::npos || end < start) return Scalar::String("");
  // Folding keeps lengths for everything but a few non-ASCII letters; when it
  // did change them, the folded text is what can be cut.
  std::string_view base = hay.size() == source.size() ? source : hay;
  return Scalar::String(base.substr(start, end - start));
}

Scalar IndexOf(std::span<const Scalar> a, bool ci, Arena& arena) {
  if (!IsString(a[0]) || !IsString(a[1])) return Scalar();
  int64_t start = 0;
  if (a.size() > 2 && a[2].type != Scalar::Type::kNull) {
    if (!IntArg(a[2], start)) return Scalar();
  }
  std::string_view hay = a[0].s, needle = a[1].s;
  if (ci) {
    hay = FoldInto(hay, arena);
    needle = FoldInto(needle, arena);
  }
  // Java's String.indexOf(str, from): from < 0 is 0; from >= length finds
  // only the empty string, at length.
  if (start < 0) start = 0;
  int64_t length = Utf16Length(hay);
  if (start >= length) {
    if (needle.empty() && start == length) return Scalar::Int(length);
    if (needle.empty()) return Scalar::Int(length);
    return Scalar();
  }
  size_t from = Utf16ToByte(hay, start);
  size_t at = hay.find(needle, from);
  if (at == std::string_view::npos) return Scalar();
  return Scalar::Int(ByteToUtf16(hay, at));
}

Scalar Substring(std::span<const Scalar> a) {
  if (!IsString(a[0])) return Scalar();
  int64_t start = 0;
  if (!IntArg(a[1], start)) return Scalar();
  std::string_view s = a[0].s;
  int64_t length = Utf16Length(s);
  int64_t end = length;
  if (a.size() > 2 && a[2].type != Scalar::Type::kNull) {
    if (!IntArg(a[2], end)) return Scalar();
  }
  if (s.empty()) return Scalar::String(s);
  // Offsets beyond any string length are clamped first, so that the
  // arithmetic below cannot overflow.
  constexpr int64_t kLimit = int64_t{1} << 40;
  start = std::clamp(start, -kLimit, kLimit);
  end = std::clamp(end, -kLimit, kLimit);
  // Python slice semantics (ES StringUtils.substringSlice).
  if (start < 0) start += length;
  if (start < 0) start = 0;
  if (end < 0) end += length;
  if (end < 0) end = 0;
  if (end > length) end = length;
  if (start >= end) return Scalar::String("");
  size_t b = Utf16ToByte(s, start);
  size_t e = Utf16ToByte(s, end);
  return Scalar::String(s.substr(b, e - b));
}

Scalar Number(std::span<const Scalar> a) {
  if (!IsString(a[0])) return Scalar();
  std::string_view s = a[0].s;
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  bool hex_prefix = s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  int64_t radix = hex_prefix ? 16 : 10;
  if (a.size() > 1 && a[1].type != Scalar::Type::kNull) {
    if (a[1].type != Scalar::Type::kInt) return Scalar();
    radix = a[1].i;
  }
  if (radix < 2 || radix > 36) return Scalar();
  if (hex_prefix && radix == 16) s.remove_prefix(2);
  if (radix == 10) {
    Scalar out;
    if (!ParseNumber(s, out)) return Scalar();
    // DecimalFormat.parse returns a Long for integral values that fit.
    if (out.type == Scalar::Type::kDouble && std::isfinite(out.d) && std::trunc(out.d) == out.d &&
        std::fabs(out.d) < 9.2e18 && !(out.d == 0 && std::signbit(out.d))) {
      return Scalar::Int(static_cast<int64_t>(out.d));
    }
    return out;
  }
  // Integer.parseInt(s, radix): optional sign, digits of the radix, 32-bit.
  size_t p = 0;
  bool negative = false;
  if (p < s.size() && (s[p] == '+' || s[p] == '-')) negative = s[p++] == '-';
  if (p == s.size()) return Scalar();
  int64_t v = 0;
  for (; p < s.size(); ++p) {
    char c = s[p];
    int digit = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'z' ? c - 'a' + 10
                : c >= 'A' && c <= 'Z' ? c - 'A' + 10
                                       : 99;
    if (digit >= radix) return Scalar();
    v = v * radix + digit;
    if (v > 2147483648LL) return Scalar();
  }
  if (negative) v = -v;
  if (v > INT32_MAX || v < INT32_MIN) return Scalar();
  return Scalar::Int(v);
}

}  // namespace

const FunctionInfo* FindFunction(std::string_view name) {
  for (const FunctionInfo& f : kFunctions) {
    if (EqualsIgnoreAsciiCase(f.name, name)) return &f;
  }
  return nullptr;
}

std::span<const FunctionInfo> AllFunctions() { return kFunctions; }

Scalar CallFunction(Function f, bool ci, std::span<const Scalar> a,
                    const std::vector<CidrBlock>* cidrs, Arena& arena) {
  switch (f) {
    case Function::kAdd:
      return Arithmetic(ast::ArithOp::kAdd, a[0], a[1]);
    case Function::kSubtract:
      return Arithmetic(ast::ArithOp::kSub, a[0], a[1]);
    case Function::kMultiply:
      return Arithmetic(ast::ArithOp::kMul, a[0], a[1]);
    case Function::kDivide:
      return Arithmetic(ast::ArithOp::kDiv, a[0], a[1]);
    case Function::kModulo:
      return Arithmetic(ast::ArithOp::kMod, a[0], a[1]);
    case Function::kBetween:
      return Between(a, ci, arena);
    case Function::kCidrMatch: {
      if (!IsString(a[0])) return Scalar();
      auto ip = ParseIp(a[0].s);
      if (!ip) return Scalar::Bool(false);
      if (cidrs != nullptr) {
        for (const CidrBlock& block : *cidrs) {
          if (block.Contains(*ip)) return Scalar::Bool(true);
        }
        return Scalar::Bool(false);
      }
      // Blocks given as values (only when folding constants).
      for (size_t i = 1; i < a.size(); ++i) {
        if (!IsString(a[i])) continue;
        auto block = ParseCidr(a[i].s);
        if (block && block->Contains(*ip)) return Scalar::Bool(true);
      }
      return Scalar::Bool(false);
    }
    case Function::kConcat: {
      size_t total = 0;
      for (const Scalar& v : a) {
        if (v.type == Scalar::Type::kNull) return Scalar();
      }
      // Two passes: the parts, then one contiguous copy.
      std::string_view parts_small[8];
      std::vector<std::string_view> parts_big;
      std::string_view* parts = parts_small;
      if (a.size() > 8) {
        parts_big.resize(a.size());
        parts = parts_big.data();
      }
      for (size_t i = 0; i < a.size(); ++i) {
        parts[i] = Stringify(a[i], arena);
        total += parts[i].size();
      }
      if (total == 0) return Scalar::String("");
      char* out = arena.Allocate(total);
      size_t o = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        std::memcpy(out + o, parts[i].data(), parts[i].size());
        o += parts[i].size();
      }
      return Scalar::String({out, total});
    }
    case Function::kEndsWith:
    case Function::kStartsWith:
    case Function::kStringContains: {
      if (!IsString(a[0]) || !IsString(a[1])) return Scalar();
      std::string_view s = a[0].s, t = a[1].s;
      if (f == Function::kStringContains && (s.empty() || t.empty())) return Scalar::Bool(false);
      if (ci) {
        s = FoldInto(s, arena);
        t = FoldInto(t, arena);
      }
      if (f == Function::kStartsWith) return Scalar::Bool(s.starts_with(t));
      if (f == Function::kEndsWith) return Scalar::Bool(s.ends_with(t));
      return Scalar::Bool(s.find(t) != std::string_view::npos);
    }
    case Function::kIndexOf:
      return IndexOf(a, ci, arena);
    case Function::kLength:
      if (!IsString(a[0])) return Scalar();
      return Scalar::Int(Utf16Length(a[0].s));
    case Function::kNumber:
      return Number(a);
    case Function::kString:
      if (a[0].type == Scalar::Type::kNull) return Scalar();
      return Scalar::String(Stringify(a[0], arena));
    case Function::kSubstring:
      return Substring(a);
  }
  return Scalar();
}

}  // namespace eql::analysis
