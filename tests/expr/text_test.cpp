// Text primitives: case folding, wildcards, Lucene regex translation, CIDR,
// Java-compatible indexing and number printing.
#include "analysis/text.hpp"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "io/json_text.hpp"

namespace eql::analysis {
namespace {

TEST(Fold, AsciiAndUnicode) {
  std::printf("checks: folding ASCII, Latin-1, Latin Ext-A, Greek, Cyrillic; others untouched\n");
  EXPECT_EQ(FoldCase("Node.EXE"), "node.exe");
  EXPECT_EQ(FoldCase("ÀÉÎÕÜ×Þß"), "àéîõü×þß");  // × is not a letter; ß has no lowercase change
  EXPECT_EQ(FoldCase("ĀĂĄĆČĎĐĒĹĽŁŃŇŊŒŔŠŤŮŸŹŻŽ"), "āăąćčďđēĺľłńňŋœŕšťůÿźżž");
  EXPECT_EQ(FoldCase("İ"), "i");
  EXPECT_EQ(FoldCase("ΑΒΓΔΆΈΉΊΌΎΏΣ"), "αβγδάέήίόύώσ");
  EXPECT_EQ(FoldCase("ПРИВЕТ ЁЖЇЂ"), "привет ёжїђ");
  EXPECT_EQ(FoldCase("ԱԲԳ"), "աբգ");
  EXPECT_EQ(FoldCase("\xE2\x84\xAA"), "k");  // Kelvin sign
  EXPECT_EQ(FoldCase("日本語 😀"), "日本語 😀");
  // Invalid UTF-8 is kept byte for byte.
  EXPECT_EQ(FoldCase(std::string("A\xFF"
                                 "B")),
            std::string("a\xFF"
                        "b"));
  EXPECT_EQ(LowerCodePoint(0x3A2), 0x3A2u);  // unassigned
}

TEST(Fold, AsciiFastPathAgreesWithTheGeneralOne) {
  std::printf("checks: FoldAsciiInto gives FoldCase's bytes for every ASCII character\n");
  std::string all;
  for (int c = 0; c < 128; ++c) all.push_back(static_cast<char>(c));
  ASSERT_TRUE(IsAscii(all));
  std::string out(all.size(), '\0');
  FoldAsciiInto(all, out.data());
  EXPECT_EQ(out, FoldCase(all));
}

TEST(Ascii, EveryByteOfEveryLengthIsLookedAt) {
  std::printf(
      "checks: IsAscii over texts of 0 to 40 bytes: true when all are ASCII, false with one "
      "byte of 0x80 or more at any position\n");
  for (size_t n = 0; n <= 40; ++n) {
    std::string text(n, 'a');
    EXPECT_TRUE(IsAscii(text)) << n;
    for (size_t at = 0; at < n; ++at) {
      for (unsigned char high : {0x80, 0xC3, 0xFF}) {
        std::string bad = text;
        bad[at] = static_cast<char>(high);
        EXPECT_FALSE(IsAscii(bad)) << "length " << n << ", byte " << at;
      }
    }
  }
}

TEST(Utf16, JavaIndexing) {
  std::printf("checks: lengths and offsets in UTF-16 units as Java counts them\n");
  EXPECT_EQ(Utf16Length("abc"), 3);
  EXPECT_EQ(Utf16Length("é"), 1);
  EXPECT_EQ(Utf16Length("😀"), 2);
  EXPECT_EQ(Utf16Length(""), 0);
  std::string s = "aé😀b";
  EXPECT_EQ(Utf16ToByte(s, 0), 0u);
  EXPECT_EQ(Utf16ToByte(s, 2), 3u);
  EXPECT_EQ(Utf16ToByte(s, 4), 7u);
  EXPECT_EQ(Utf16ToByte(s, 99), s.size());
  EXPECT_EQ(ByteToUtf16(s, 7), 4);
}

bool Wild(std::string_view pattern, std::string_view subject, bool ci = false) {
  WildcardPattern p = WildcardPattern::Compile(pattern, ci);
  return p.Matches(ci ? FoldCase(subject) : std::string(subject));
}

TEST(Wildcard, Semantics) {
  std::printf("checks: * and ? wildcards, literal backslashes, anchoring, case folding\n");
  EXPECT_TRUE(Wild("node.exe", "node.exe"));
  EXPECT_FALSE(Wild("node.exe", "node.exe2"));
  EXPECT_TRUE(Wild("*", ""));
  EXPECT_TRUE(Wild("", ""));
  EXPECT_FALSE(Wild("", "a"));
  EXPECT_TRUE(Wild("*.exe", "cmd.exe"));
  EXPECT_FALSE(Wild("*.exe", "cmd.exe.txt"));
  EXPECT_TRUE(Wild("cmd*", "cmd.exe"));
  EXPECT_TRUE(Wild("*eval(*", "node -e eval(atob('x'))"));
  EXPECT_TRUE(Wild("*require*child_process*", "require('child_process')"));
  EXPECT_FALSE(Wild("*require*child_process*", "child_process require"));
  EXPECT_TRUE(Wild("a?c", "abc"));
  EXPECT_FALSE(Wild("a?c", "ac"));
  EXPECT_TRUE(Wild("a?c", "aéc"));  // ? is one character, not one byte
  EXPECT_TRUE(Wild("?", "😀"));
  EXPECT_FALSE(Wild("??", "😀"));
  EXPECT_TRUE(Wild("*a*b", "xxaxxb"));
  EXPECT_FALSE(Wild("*a*b", "xxaxxbx"));
  EXPECT_TRUE(Wild("a*b*a", "aba"));
  EXPECT_FALSE(Wild("ab*ba", "aba"));  // pieces may not overlap
  EXPECT_TRUE(Wild("ab*ba", "abba"));
  EXPECT_TRUE(Wild("*?b", "ab"));
  EXPECT_FALSE(Wild("*?b", "b"));
  EXPECT_TRUE(Wild("a*?", "ab"));
  EXPECT_TRUE(Wild("?:\\Users\\*\\AppData\\*\\node.exe",
                   "C:\\Users\\alice\\AppData\\Roaming\\nvm\\node.exe"));
  EXPECT_FALSE(Wild("?:\\Users\\*\\AppData\\*\\node.exe", "C:\\Program Files\\nodejs\\node.exe"));
  EXPECT_TRUE(Wild("NODE.EXE", "node.exe", true));
  EXPECT_TRUE(Wild("*ПРИВЕТ*", "сказал привет всем", true));
  EXPECT_FALSE(Wild("NODE.EXE", "node.exe", false));
}

TEST(Wildcard, NoBacktrackingBlowUp) {
  std::printf("checks: *a*a*a*a*a*a*b against 1 MB of 'a' finishes fast (linear-ish)\n");
  std::string subject(1 << 20, 'a');
  WildcardPattern p = WildcardPattern::Compile("*a*a*a*a*a*a*a*a*b", false);
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(p.Matches(subject));
  WildcardPattern q = WildcardPattern::Compile("*a?a*a?a*a?a*b*", false);
  EXPECT_FALSE(q.Matches(subject));
  WildcardPattern r = WildcardPattern::Compile("*a*a*a*a*a*a*b*", false);
  EXPECT_FALSE(r.Matches(subject));
  std::string tail = subject + "b";
  EXPECT_TRUE(r.Matches(tail));
  EXPECT_TRUE(q.Matches(tail));
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("  took %.2f ms\n", ms);
  EXPECT_LT(ms, 500.0);
}

TEST(Regex, LuceneTranslation) {
  std::printf("checks: Lucene regexp syntax rewritten for RE2, unsupported operators rejected\n");
  EXPECT_EQ(TranslateLuceneRegex("a.*b").pattern, "a.*b");
  EXPECT_EQ(TranslateLuceneRegex("\\d").pattern, "d");  // no predefined classes in Lucene
  EXPECT_EQ(TranslateLuceneRegex("\\.").pattern, "\\.");
  EXPECT_EQ(TranslateLuceneRegex("^a$").pattern, "\\^a\\$");
  EXPECT_EQ(TranslateLuceneRegex("\"a.b\"").pattern, "(?:a\\.b)");
  EXPECT_EQ(TranslateLuceneRegex("a@").pattern, "a(?s:.*)");
  EXPECT_EQ(TranslateLuceneRegex("[a-z\\]]+").pattern, "[a-z\\]]+");
  EXPECT_EQ(TranslateLuceneRegex("[^abc]").pattern, "[^abc]");
  EXPECT_FALSE(TranslateLuceneRegex("a&b").error.empty());
  EXPECT_FALSE(TranslateLuceneRegex("~a").error.empty());
  EXPECT_FALSE(TranslateLuceneRegex("<1-5>").error.empty());
  EXPECT_FALSE(TranslateLuceneRegex("[abc").error.empty());
  EXPECT_FALSE(TranslateLuceneRegex("a\\").error.empty());
}

TEST(Regex, RequiredLiteralsAreProvedAndNeverWrong) {
  std::printf(
      "checks: the literal a regex requires (RE2's prefilter atoms, proved required), none for "
      "alternatives or case-insensitive patterns; over 20,000 random texts, no text without "
      "it matches\n");
  EXPECT_EQ(RegexRequiredLiteral(".*[ ]{20,}.*", true, true).size() >= 3, true);
  EXPECT_EQ(RegexRequiredLiteral(".*[ ]{20,}.*", true, true).find_first_not_of(' '),
            std::string::npos);
  EXPECT_EQ(RegexRequiredLiteral("([^ ]+[ ]{3,}[^ ]*){3,}.*", true, true), "  ");
  EXPECT_EQ(RegexRequiredLiteral("xa.*BCD", true, true), "bcd");  // lowercase, the longest
  EXPECT_EQ(RegexRequiredLiteral("abc|xyz", true, true), "");     // neither is required
  EXPECT_EQ(RegexRequiredLiteral("(ab|cd).*xyz", true, true), "xyz");
  EXPECT_EQ(RegexRequiredLiteral("(abc|abd)e", true, true), "");  // atoms abce, abde: neither
  EXPECT_EQ(RegexRequiredLiteral("abc", false, true), "");        // case-insensitive: none
  EXPECT_EQ(RegexRequiredLiteral("[a-z]+", true, true), "");
  EXPECT_EQ(RegexRequiredLiteral("(", true, true), "");  // not a pattern
  // Every text a regex matches holds its literal (the fast refusal is never
  // wrong); texts made of the patterns' own pieces make matches common.
  const std::vector<std::string> patterns = {".*[ ]{3,}.*",
                                             "a.*Bc",
                                             "(ab|ac)d.*",
                                             "x[ab]{2}y",
                                             "\\.*[.]exe",
                                             "(Ab c){2}.*",
                                             ".*[0-9]{1,3}\\.[0-9]{1,3}:[0-9]+.*",
                                             "[^ ]+ +[^ ]*"};
  std::mt19937 rng(7);
  const std::vector<std::string> pieces = {"a",  "b",  "c",    "d",    "x",  "y",   " ",   "ab",
                                           "ac", "Bc", "Ab c", "xa",   "by", "   ", ".",   ":",
                                           "1",  "12", "\\",   ".exe", "e",  "A",   "aby", "acd"};
  std::string scratch;
  size_t refused = 0, matched = 0;
  for (const std::string& p : patterns) {
    RE2::Options options;
    options.set_dot_nl(true);
    RE2 re(p, options);
    ASSERT_TRUE(re.ok()) << p;
    const std::string literal = RegexRequiredLiteral(p, true, true);
    for (int t = 0; t < 2500; ++t) {
      std::string text;
      const size_t n = rng() % 7;
      for (size_t i = 0; i < n; ++i) text += pieces[rng() % pieces.size()];
      const bool matches = RE2::FullMatch(text, re);
      matched += matches;
      if (literal.empty() || HasRequiredLiteral(text, literal, scratch)) continue;
      ++refused;
      ASSERT_FALSE(matches) << p << " matches \"" << text << "\" without \"" << literal << "\"";
    }
  }
  std::printf("  %zu texts refused by their literal, %zu matched\n", refused, matched);
  EXPECT_GT(refused, 5000u);
  EXPECT_GT(matched, 100u);
}

TEST(Cidr, V4AndV6) {
  std::printf("checks: CIDR parsing and containment for IPv4, IPv6 and v4-mapped addresses\n");
  auto block = ParseCidr("10.0.0.0/8");
  ASSERT_TRUE(block);
  EXPECT_TRUE(block->Contains(*ParseIp("10.1.2.3")));
  EXPECT_FALSE(block->Contains(*ParseIp("11.0.0.1")));
  EXPECT_TRUE(block->Contains(*ParseIp("::ffff:10.9.9.9")));
  auto v6 = ParseCidr("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->Contains(*ParseIp("2001:db8:1::1")));
  EXPECT_FALSE(v6->Contains(*ParseIp("2001:db9::1")));
  EXPECT_FALSE(v6->Contains(*ParseIp("10.0.0.1")));
  auto host = ParseCidr("192.168.0.1");
  ASSERT_TRUE(host);
  EXPECT_TRUE(host->Contains(*ParseIp("192.168.0.1")));
  EXPECT_FALSE(host->Contains(*ParseIp("192.168.0.2")));
  auto all = ParseCidr("0.0.0.0/0");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->Contains(*ParseIp("8.8.8.8")));
  for (const char* bad :
       {"10.0.0.0/33", "10.0.0/8", "x", "::/129", "10.0.0.0/", "1.2.3.4/8x", ""}) {
    EXPECT_FALSE(ParseCidr(bad).has_value()) << bad;
  }
  EXPECT_FALSE(ParseIp("1.2.3.256").has_value());
}

TEST(JavaDouble, Printing) {
  std::printf("checks: doubles printed as Java's Double.toString\n");
  auto java = [](double d) {
    std::string s;
    io::AppendJavaDouble(d, s);
    return s;
  };
  EXPECT_EQ(java(1.0), "1.0");
  EXPECT_EQ(java(0.5), "0.5");
  EXPECT_EQ(java(-2.25), "-2.25");
  EXPECT_EQ(java(1e7), "1.0E7");
  EXPECT_EQ(java(1234567.0), "1234567.0");
  EXPECT_EQ(java(0.001), "0.001");
  EXPECT_EQ(java(0.0001), "1.0E-4");
  EXPECT_EQ(java(1.5e300), "1.5E300");
  EXPECT_EQ(java(100.0), "100.0");
  EXPECT_EQ(java(0.0), "0.0");
}

}  // namespace
}  // namespace eql::analysis
