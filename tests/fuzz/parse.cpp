// tests/fuzz/parse.cpp
//
// libFuzzer target for the parser: any bytes must give a tree or
// diagnostics, never a crash, a hang, an exception or a sanitizer report;
// and any tree must print to text that parses back to the same tree, with
// printing a fixed point.
#include "syntax/parse.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  eql::syntax::ParseOutcome out = eql::syntax::Parse(text);
  if (!out.ok()) {
    if (out.diagnostics.empty()) {
      std::fprintf(stderr, "rejected without a diagnostic\n");
      std::abort();
    }
    for (const eql::Diagnostic& d : out.diagnostics) {
      if (d.offset > size || d.line < 1 || d.column < 1) {
        std::fprintf(stderr, "diagnostic out of range: %s\n", d.Format().c_str());
        std::abort();
      }
      (void)d.Format("fuzz");
    }
    return 0;
  }
  std::string printed = eql::syntax::Print(*out.query);
  eql::syntax::ParseOutcome again = eql::syntax::Parse(printed);
  if (!again.ok()) {
    std::fprintf(stderr, "canonical text does not parse:\n%s\n%s", printed.c_str(),
                 again.diagnostics.at(0).Format("printed").c_str());
    std::abort();
  }
  if (!again.query->SameAs(*out.query)) {
    std::fprintf(stderr, "round trip changed the tree:\n%s\n", printed.c_str());
    std::abort();
  }
  if (eql::syntax::Print(*again.query) != printed) {
    std::fprintf(stderr, "printing is not a fixed point:\n%s\n", printed.c_str());
    std::abort();
  }
  return 0;
}
