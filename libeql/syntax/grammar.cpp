// libeql/syntax/grammar.cpp
//
// The one translation unit that compiles the X3 grammar (grammar_def.hpp),
// instantiated for the iterator and context of config.hpp.
#include "syntax/grammar_def.hpp"

namespace eql::syntax::grammar {

ParseState& State() {
  static thread_local ParseState state;
  return state;
}

query_type const& query() { return query_rule; }

BOOST_SPIRIT_INSTANTIATE(query_type, iterator_type, context_type)

}  // namespace eql::syntax::grammar
