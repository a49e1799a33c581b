// tests/runtime/es_data.hpp
//
// Test support: loads the Elasticsearch QA data sets (conformance/elasticsearch)
// and runs hand-translated sequence and sample queries through the runtime
// operators. Stage conditions are C++ lambdas written in each test; this file
// only knows how ES turns documents into ordinals and join keys:
// - order: @timestamp, then the tiebreaker field, then load order;
// - keys: `sequence by` fields then the stage's `by` fields, multi-valued
//   fields expanded to the cartesian product of distinct non-null values,
//   events with a null non-optional key dropped, null for an absent ?optional.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/key_value.hpp"
#include "runtime/sequence.hpp"

namespace eql::runtime::testdata {

struct Ev {
  simdjson::dom::element el;
  EventHandle handle;
  int64_t id = 0;
};

enum class Format {
  kEs,       //!< *.data: @timestamp is a string (epoch millis or ISO-8601)
  kEndgame,  //!< test_data.json: FILETIME `timestamp`
  kNoTime,   //!< sample*.data: no timestamp, ordered by load order
};

inline int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

//! "1" (epoch millis) or "2022-05-04T12:00:00.001Z".
inline int64_t ParseEsTimestamp(std::string_view s) {
  if (s.find('-') == std::string_view::npos) return std::stoll(std::string(s));
  int y, mo, d, h, mi, sec, ms = 0;
  std::sscanf(std::string(s).c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &y, &mo, &d, &h, &mi, &sec, &ms);
  return ((DaysFromCivil(y, mo, d) * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL + ms;
}

class Dataset {
 public:
  //! Loads one or more files (in order, as successive indices) and sorts the
  //! events as Elasticsearch does.
  static std::unique_ptr<Dataset> Load(std::vector<std::string> files, Format format,
                                       const std::string& tiebreaker) {
    auto ds = std::make_unique<Dataset>();
    uint64_t arrival = 0;
    for (const std::string& file : files) {
      std::ifstream in(std::string(EQL_SHARED_DIR) + "/conformance/elasticsearch/" + file);
      if (!in) {
        ADD_FAILURE() << "cannot open " << file;
        return ds;
      }
      // Strip `//` line comments (missing-events.data has them).
      std::string text, line;
      while (std::getline(in, line)) {
        const auto first = line.find_first_not_of(" \t");
        if (first != std::string::npos && line.compare(first, 2, "//") == 0) continue;
        text += line;
        text += '\n';
      }
      ds->parsers_.push_back(std::make_unique<simdjson::dom::parser>());
      simdjson::dom::element root;
      if (auto err = ds->parsers_.back()->parse(text).get(root)) {
        ADD_FAILURE() << file << ": " << simdjson::error_message(err);
        return ds;
      }
      for (simdjson::dom::element e : root.get_array()) {
        Ev ev;
        ev.el = e;
        int64_t ts = 0;
        if (format == Format::kEs) {
          std::string_view s;
          if (e["@timestamp"].get_string().get(s) == simdjson::SUCCESS) ts = ParseEsTimestamp(s);
        } else if (format == Format::kEndgame) {
          int64_t ft = 0;
          if (e["timestamp"].get_int64().get(ft) == simdjson::SUCCESS) {
            ts = ft / 10000 - 11644473600000LL;
          }
        }
        KeyValue tb;
        int64_t id = 0;
        if (e[tiebreaker].get_int64().get(id) == simdjson::SUCCESS) tb = KeyValue(id);
        // Without a timestamp (sample data) nothing is sorted: load order.
        if (format == Format::kNoTime) tb = KeyValue();
        ev.id = id;
        ev.handle =
            MakeEvent(format == Format::kNoTime ? 0 : ts, tb, arrival++, std::to_string(id));
        ds->events.push_back(ev);
      }
    }
    std::stable_sort(ds->events.begin(), ds->events.end(), [](const Ev& a, const Ev& b) {
      return a.handle->ordinal < b.handle->ordinal;
    });
    return ds;
  }

  std::vector<Ev> events;

 private:
  std::vector<std::unique_ptr<simdjson::dom::parser>> parsers_;
};

// --- field access for the hand-written conditions ------------------------------

inline std::optional<simdjson::dom::element> Field(const Ev& ev, std::string_view name) {
  simdjson::dom::element v;
  if (ev.el.at_key(name).get(v) != simdjson::SUCCESS) return std::nullopt;
  return v;
}

//! The scalar values of a field: one for a scalar, the elements of an
//! array; nulls included as KeyValue() so conditions can see them.
inline std::vector<KeyValue> Values(const Ev& ev, std::string_view name) {
  std::vector<KeyValue> out;
  auto f = Field(ev, name);
  if (!f) return out;
  auto one = [&](simdjson::dom::element v) {
    switch (v.type()) {
      case simdjson::dom::element_type::STRING:
        out.emplace_back(std::string(std::string_view(v.get_string())));
        break;
      case simdjson::dom::element_type::INT64:
        out.emplace_back(int64_t(v.get_int64()));
        break;
      case simdjson::dom::element_type::UINT64:
        out.emplace_back(static_cast<int64_t>(uint64_t(v.get_uint64())));
        break;
      case simdjson::dom::element_type::DOUBLE:
        out.emplace_back(double(v.get_double()));
        break;
      case simdjson::dom::element_type::BOOL:
        out.emplace_back(bool(v.get_bool()));
        break;
      default:
        out.emplace_back();
    }
  };
  if (f->is_array()) {
    for (simdjson::dom::element v : f->get_array()) one(v);
  } else {
    one(*f);
  }
  return out;
}

inline bool Is(const Ev& ev, std::string_view category) {
  auto v = Values(ev, "event_type");
  return !v.empty() && v[0].type() == KeyValue::Type::kString && v[0].as_string() == category;
}
//! `field == "s"` (any element of an array).
inline bool Eq(const Ev& ev, std::string_view field, std::string_view s) {
  for (const auto& v : Values(ev, field)) {
    if (v.type() == KeyValue::Type::kString && v.as_string() == s) return true;
  }
  return false;
}
//! `field == n` / the numeric value of a field (first element).
inline std::optional<int64_t> Int(const Ev& ev, std::string_view field) {
  for (const auto& v : Values(ev, field)) {
    if (v.type() == KeyValue::Type::kInt) return v.as_int();
  }
  return std::nullopt;
}
inline bool EqInt(const Ev& ev, std::string_view field, int64_t n) {
  for (const auto& v : Values(ev, field)) {
    if (v.type() == KeyValue::Type::kInt && v.as_int() == n) return true;
  }
  return false;
}
//! `?field == null`: absent, null, or an array of only nulls.
inline bool IsNull(const Ev& ev, std::string_view field) {
  for (const auto& v : Values(ev, field)) {
    if (!v.is_null()) return false;
  }
  return true;
}

inline bool GlobI(std::string_view p, std::string_view s) {
  // `:` — case-insensitive, `*` any run, `?` one character.
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || lower(p[pi]) == lower(s[si]))) {
      ++pi, ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++, mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1, si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}
inline bool Like(const Ev& ev, std::string_view field, std::string_view pattern) {
  for (const auto& v : Values(ev, field)) {
    if (v.type() == KeyValue::Type::kString && GlobI(pattern, v.as_string())) return true;
  }
  return false;
}

// --- queries -------------------------------------------------------------------

struct KeyField {
  std::string name;
  bool optional = false;
};
inline KeyField K(std::string n) { return {std::move(n), false}; }
inline KeyField Opt(std::string n) { return {std::move(n), true}; }

using Where = std::function<bool(const Ev&)>;

struct TStage {
  Where where;
  std::vector<KeyField> by;
  bool missing = false;
  uint32_t runs = 1;
};
inline TStage S(Where w, std::vector<KeyField> by = {}, uint32_t runs = 1) {
  return {std::move(w), std::move(by), false, runs};
}
inline TStage Miss(Where w, std::vector<KeyField> by = {}, uint32_t runs = 1) {
  return {std::move(w), std::move(by), true, runs};
}

struct TQuery {
  std::vector<KeyField> by;
  std::vector<TStage> stages;
  std::optional<TStage> until;
  std::optional<int64_t> maxspan_ms;
  std::vector<PipeSpec> pipes;
};

//! The join keys of an event for `fields`; empty when the event is dropped
//! (a non-optional key is null or missing).
using ValuesFn = std::function<std::vector<KeyValue>(const Ev&, std::string_view)>;
inline std::vector<JoinKey> Keys(const Ev& ev, const std::vector<KeyField>& fields,
                                 const ValuesFn& values = Values) {
  std::vector<std::vector<KeyValue>> vals;
  std::vector<KeyFieldValues> in;
  vals.reserve(fields.size());
  for (const KeyField& f : fields) vals.push_back(values(ev, f.name));
  for (size_t i = 0; i < fields.size(); ++i) in.push_back({vals[i], fields[i].optional});
  auto keys = ExpandJoinKeys(in);
  EXPECT_TRUE(keys.ok()) << keys.status();
  return keys.ok() ? *keys : std::vector<JoinKey>{};
}

struct TResult {
  std::vector<int64_t> ids;       //!< flattened, -1 for a missing stage
  std::vector<std::string> keys;  //!< flattened join keys, as the TOML writes them
};

inline std::string KeyText(const KeyValue& v) {
  switch (v.type()) {
    case KeyValue::Type::kNull:
      return "null";
    case KeyValue::Type::kString:
      return v.as_string();
    default:
      return v.ToJson();
  }
}

inline void Append(TResult& r, const JoinKey& key, const std::vector<EventHandle>& events) {
  for (const EventHandle& e : events) {
    r.ids.push_back(e ? std::stoll(e->json) : -1);
  }
  for (const KeyValue& v : key) r.keys.push_back(KeyText(v));
}

inline std::vector<StageHit> Hits(const Ev& ev, const TQuery& q) {
  std::vector<StageHit> hits;
  for (uint32_t s = 0; s < q.stages.size(); ++s) {
    if (!q.stages[s].where(ev)) continue;
    std::vector<KeyField> fields = q.by;
    fields.insert(fields.end(), q.stages[s].by.begin(), q.stages[s].by.end());
    auto keys = Keys(ev, fields);
    if (!keys.empty()) hits.push_back({s, std::move(keys)});
  }
  return hits;
}

inline std::vector<JoinKey> UntilKeys(const Ev& ev, const TQuery& q) {
  if (!q.until || !q.until->where(ev)) return {};
  std::vector<KeyField> fields = q.by;
  fields.insert(fields.end(), q.until->by.begin(), q.until->by.end());
  return Keys(ev, fields);
}

inline SequenceSpec SpecOf(const TQuery& q) {
  SequenceSpec spec;
  for (const TStage& s : q.stages) spec.stages.push_back({s.missing, s.runs});
  spec.maxspan_ms = q.maxspan_ms;
  spec.has_until = q.until.has_value();
  spec.key_count = q.by.size() + (q.stages.empty() ? 0 : q.stages[0].by.size());
  spec.pipes = q.pipes;
  return spec;
}

//! Batch run: every event in ES order, then Flush.
inline TResult Run(const Dataset& ds, const TQuery& q, SequenceCounters* counters = nullptr) {
  TResult r;
  auto op = SequenceOperator::Create(SpecOf(q));
  if (!op.ok()) {
    ADD_FAILURE() << op.status();
    return r;
  }
  FunctionSink sink([&](SequenceAlert&& a) { Append(r, a.key, a.events); });
  for (const Ev& ev : ds.events) {
    auto hits = Hits(ev, q);
    auto until = UntilKeys(ev, q);
    if (hits.empty() && until.empty()) continue;
    (*op)->OnEvent(ev.handle, hits, until, sink);
  }
  (*op)->Flush(sink);
  if (counters) *counters = (*op)->counters();
  return r;
}

inline std::string Show(const std::vector<int64_t>& v) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < v.size(); ++i) o << (i ? "," : "") << v[i];
  return o.str() + "]";
}
inline std::string Show(const std::vector<std::string>& v) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < v.size(); ++i) o << (i ? "," : "") << v[i];
  return o.str() + "]";
}

}  // namespace eql::runtime::testdata
