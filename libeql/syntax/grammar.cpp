// libeql/syntax/grammar.cpp
//
// The one translation unit that compiles the X3 grammar (grammar_def.hpp),
// instantiated for the iterator and context of config.hpp, plus the small
// helpers the grammar and parse.cpp share for messages.
#include <pthread.h>

#include <algorithm>
#include <cstdint>

#include "syntax/grammar_def.hpp"

namespace eql::syntax::grammar {

ParseState& State() {
  static thread_local ParseState state;
  return state;
}

bool StackNearlyFull() {
  // The low end and size of this thread's stack, looked up once per thread
  // (for the main thread glibc reads /proc/self/maps). Zero when unknown.
  struct Bounds {
    uintptr_t low = 0;
    uintptr_t size = 0;
  };
  static thread_local const Bounds bounds = [] {
    Bounds b;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      void* addr = nullptr;
      size_t size = 0;
      if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
        b.low = reinterpret_cast<uintptr_t>(addr);
        b.size = size;
      }
      pthread_attr_destroy(&attr);
    }
    return b;
  }();
  // One nesting level takes a few KiB (several times that under ASan); keep
  // room for a few levels plus the work after the parse, but never more
  // than a quarter of a small thread's stack.
  const uintptr_t reserve = std::min<uintptr_t>(256 * 1024, bounds.size / 4);
  uintptr_t here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  return bounds.low != 0 && here > bounds.low && here - bounds.low < reserve;
}

void ThrowUnterminatedComment(iterator_type open) {
  throw SyntaxError{open, 2, "unterminated comment: expected '*/' to close it"};
}

iterator_type SkipSpace(iterator_type at, iterator_type end) {
  while (SkipOne(at, end, false)) {
  }
  return at;
}

std::string TokenAt(iterator_type at, iterator_type end) {
  if (at == end) return "the end of the query";
  if (end - at >= 2 && at[0] == '/' && at[1] == '*') {
    return "an unterminated comment ('/*' without '*/')";
  }
  iterator_type it = at;
  if (IsIdentStart(*it)) {
    ++it;
    while (it != end && IsIdentChar(*it) && it - at < 40) ++it;
  } else if (*it >= '0' && *it <= '9') {
    while (it != end && (IsIdentChar(*it) || *it == '.') && it - at < 40) ++it;
  } else if (std::strchr("=!<>", *it) != nullptr && it + 1 != end && it[1] == '=') {
    it += 2;
  } else {
    ++it;
  }
  std::string token(at, it);
  // Control bytes and the like would garble the message line; name them.
  if (token.size() == 1 && static_cast<unsigned char>(token[0]) < 0x20) {
    static constexpr char kHex[] = "0123456789abcdef";
    unsigned char c = static_cast<unsigned char>(token[0]);
    return std::string("the character 0x") + kHex[c >> 4] + kHex[c & 15];
  }
  return "'" + token + "'";
}

std::string LineColumn(iterator_type at) {
  uint32_t line = 1;
  iterator_type line_start = State().begin;
  for (iterator_type p = State().begin; p != at; ++p) {
    if (*p == '\n') {
      ++line;
      line_start = p + 1;
    }
  }
  return std::to_string(line) + ":" + std::to_string(at - line_start + 1);
}

query_type const& query() { return query_rule; }

BOOST_SPIRIT_INSTANTIATE(query_type, iterator_type, context_type)

}  // namespace eql::syntax::grammar
