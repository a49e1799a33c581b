// python/libeql_module.cpp
//
// The `libeql` Python module: parse EQL queries and run rules over events
// from dicts, JSON text or files. A thin layer over the public C++ API
// (eql/engine.hpp, eql/event.hpp, eql/reader.hpp) plus the parser's entry
// point (syntax/parse.hpp) for libeql.parse().
//
// Error contract: nothing C++ escapes as anything but the documented Python
// exceptions. The C++ API reports problems as absl::Status and Diagnostic
// values, which are turned into EqlSyntaxError, EventError, ValueError,
// TypeError or OSError here; every entry point is also wrapped by pybind11,
// which maps a stray std::exception to RuntimeError rather than crashing.
//
// Threading: the GIL is released while the engine works on many events
// (pushing a batch, reading a file, flushing). An Engine is not thread-safe
// in C++, so each wrapper owns a mutex. No thread ever blocks on the mutex
// while holding the GIL (it is only try-locked with the GIL held, and waited
// for with the GIL released), so a thread holding the mutex may take the GIL
// (to render a dict event, see PrunedEvent) and two Python threads sharing an
// Engine cannot deadlock.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eql/diagnostic.hpp"
#include "eql/engine.hpp"
#include "eql/event.hpp"
#include "eql/reader.hpp"
#include "eql/rules.hpp"
#include "io/json_projector.hpp"
#include "io/record.hpp"
#include "syntax/parse.hpp"

namespace py = pybind11;

namespace {

// Exception classes, created at import (module-level so raise helpers reach them).
PyObject* g_syntax_error = nullptr;
PyObject* g_event_error = nullptr;

// json.loads/json.dumps, looked up once. Deliberately leaked handles: a
// static py::object would be destroyed at process exit, after the
// interpreter is finalized, and crash there.
py::object JsonLoads(std::string_view text) {
  static py::handle loads = py::object(py::module_::import("json").attr("loads")).release();
  return loads(py::str(text.data(), text.size()));
}

std::string JsonDumps(py::handle obj) {
  static py::handle dumps = py::object(py::module_::import("json").attr("dumps")).release();
  // allow_nan=False: NaN is not JSON; the event is then malformed (ValueError).
  return dumps(obj, py::arg("separators") = py::make_tuple(",", ":"),
               py::arg("ensure_ascii") = false, py::arg("allow_nan") = false)
      .cast<std::string>();
}

// The compact JSON text of a dict event, exactly as json.dumps(separators=
// (",", ":"), ensure_ascii=False, allow_nan=False) writes it: an alert shows
// the event as it was given. Caller holds the GIL.
std::string RenderJson(py::handle obj) {
  static py::handle encode =
      py::object(py::module_::import("json")
                     .attr("JSONEncoder")(py::arg("separators") = py::make_tuple(",", ":"),
                                          py::arg("ensure_ascii") = false,
                                          py::arg("allow_nan") = false)
                     .attr("encode"))
          .release();
  PyObject* text = PyObject_CallOneArg(encode.ptr(), obj.ptr());
  if (text == nullptr) throw py::error_already_set();
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(text, &size);
  if (data == nullptr) {
    Py_DECREF(text);
    throw py::error_already_set();
  }
  std::string out(data, static_cast<size_t>(size));
  Py_DECREF(text);
  return out;
}

py::dict DiagnosticDict(const eql::Diagnostic& d) {
  py::dict out;
  out["line"] = d.line;
  out["column"] = d.column;
  out["message"] = d.message;
  out["caret"] = d.Format();
  return out;
}

// Raises libeql.EqlSyntaxError for the first diagnostic; all of them are in
// `.diagnostics`. `prefix` names the rule when the query came from a rule set.
[[noreturn]] void RaiseSyntaxError(const std::vector<eql::Diagnostic>& diagnostics,
                                   const std::string& prefix = {}) {
  eql::Diagnostic first;
  if (diagnostics.empty()) {
    first.message = "invalid query";
  } else {
    first = diagnostics.front();
  }
  std::string text = prefix + first.Format();
  while (!text.empty() && text.back() == '\n') text.pop_back();
  py::object type = py::reinterpret_borrow<py::object>(g_syntax_error);
  py::object exc = type(text);
  exc.attr("line") = first.line;
  exc.attr("column") = first.column;
  exc.attr("message") = first.message;
  exc.attr("caret") = first.Format();
  py::list all;
  for (const auto& d : diagnostics) all.append(DiagnosticDict(d));
  exc.attr("diagnostics") = all;
  PyErr_SetObject(g_syntax_error, exc.ptr());
  throw py::error_already_set();
}

[[noreturn]] void RaiseEventError(const std::string& message) {
  PyErr_SetString(g_event_error, message.c_str());
  throw py::error_already_set();
}

// ---------------------------------------------------------------- parse()

struct PyQuery {
  std::string source;
  std::string text;
  std::string kind;
};

PyQuery ParseQuery(const std::string& query) {
  eql::syntax::ParseOutcome outcome = eql::syntax::Parse(query);
  if (!outcome.ok()) RaiseSyntaxError(outcome.diagnostics);
  PyQuery q;
  q.source = query;
  q.text = eql::syntax::Print(*outcome.query);
  switch (outcome.query->kind) {
    case eql::ast::QueryKind::kEvent: q.kind = "event"; break;
    case eql::ast::QueryKind::kSequence: q.kind = "sequence"; break;
    case eql::ast::QueryKind::kSample: q.kind = "sample"; break;
  }
  return q;
}

// ------------------------------------------------------- dict -> record

// Deeper than this is malformed, as Event::FromJson rejects it (and the
// recursion below must not exhaust the C stack).
constexpr int kMaxNesting = 1024;

// Checks that `obj` can be an event value (what json.dumps can write and the
// engine can read) without converting it: the members of a dict event that
// no rule reads, and dicts pushed as JSON text.
void Validate(py::handle obj, int depth) {
  if (depth > kMaxNesting) RaiseEventError("event nested deeper than 1024 levels");
  PyObject* o = obj.ptr();
  if (o == Py_None || PyBool_Check(o)) return;
  if (PyUnicode_Check(o)) {
    // Only strings that are not ASCII can hold a lone surrogate.
    if (PyUnicode_IS_ASCII(o)) return;
    if (PyUnicode_AsUTF8AndSize(o, nullptr) == nullptr) {
      PyErr_Clear();
      RaiseEventError("string is not valid Unicode (lone surrogate)");
    }
    return;
  }
  if (PyLong_Check(o)) return;  // any size (the rules read one beyond int64 as a double)
  if (PyFloat_Check(o)) {
    if (!std::isfinite(PyFloat_AS_DOUBLE(o))) RaiseEventError("NaN and infinity are not JSON values");
    return;
  }
  if (PyList_Check(o) || PyTuple_Check(o)) {
    PyObject* seq = o;
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject** items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; ++i) Validate(items[i], depth + 1);
    return;
  }
  if (PyDict_Check(o)) {
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(o, &pos, &key, &value)) {
      if (!PyUnicode_Check(key)) {
        RaiseEventError("event keys must be str, not " + std::string(Py_TYPE(key)->tp_name));
      }
      Validate(key, depth + 1);
      Validate(value, depth + 1);
    }
    return;
  }
  RaiseEventError(std::string("unsupported value type in event: ") + Py_TYPE(o)->tp_name);
}

// A dict's key as UTF-8 (a view into the str's cached UTF-8).
std::string_view KeyText(PyObject* key) {
  if (!PyUnicode_Check(key)) {
    RaiseEventError("event keys must be str, not " + std::string(Py_TYPE(key)->tp_name));
  }
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(key, &size);
  if (data == nullptr) {
    PyErr_Clear();
    RaiseEventError("string is not valid Unicode (lone surrogate)");
  }
  return {data, static_cast<size_t>(size)};
}

// Projects a dict event straight into the engine's record form: only the
// members on a path some rule reads (the engine's field trie) are looked at
// beyond their key, with the JSON projector's rules (nested objects and
// dotted keys both lead on; arrays are flattened; an array of objects gives
// its members' values; strings over the limit are cut). The other members
// are only validated, so a dict that is not an event fails as before.
class DictProjector {
 public:
  DictProjector(const eql::io::FieldRegistry& fields, uint64_t max_values,
                uint64_t max_string_bytes)
      : fields_(fields), max_values_(max_values), max_string_bytes_(max_string_bytes) {}

  void Project(PyObject* dict, eql::io::Record& out) {
    out.Clear(fields_.size());
    values_ = 0;
    Object(dict, fields_.root(), out, 0);
  }

 private:
  using Node = eql::io::FieldRegistry::PathNode;

  void Object(PyObject* obj, const Node& at, eql::io::Record& out, int depth) {
    if (depth > kMaxNesting) RaiseEventError("event nested deeper than 1024 levels");
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(obj, &pos, &key, &value)) {
      const Node* next = fields_.Child(at, KeyText(key));
      if (next == nullptr) {
        Validate(value, depth + 1);
      } else {
        Member(value, *next, out, depth + 1);
      }
    }
  }

  void Member(PyObject* value, const Node& at, eql::io::Record& out, int depth) {
    if (depth > kMaxNesting) RaiseEventError("event nested deeper than 1024 levels");
    const bool is_field = at.field >= 0;
    const auto id = static_cast<eql::io::FieldId>(is_field ? at.field : 0);
    if (PyDict_Check(value)) {
      if (at.is_prefix()) {
        Object(value, at, out, depth);
      } else {
        Validate(value, depth);
      }
      return;
    }
    if (PyList_Check(value) || PyTuple_Check(value)) {
      if (is_field) out.MarkPresent(id);
      const Py_ssize_t n = PySequence_Fast_GET_SIZE(value);
      PyObject** items = PySequence_Fast_ITEMS(value);
      for (Py_ssize_t i = 0; i < n; ++i) Member(items[i], at, out, depth + 1);
      return;
    }
    if (!is_field) {
      Validate(value, depth);  // a scalar where only longer paths are read
      return;
    }
    if (++values_ > max_values_) {
      RaiseEventError("event has more than " + std::to_string(max_values_) +
                      " values in the fields the rules read (max_event_values)");
    }
    if (value == Py_None) {
      out.AddNull(id);
    } else if (PyBool_Check(value)) {
      out.AddBool(id, value == Py_True);
    } else if (PyLong_Check(value)) {
      int overflow = 0;
      long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
      if (overflow == 0) {
        if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
        out.AddInt(id, static_cast<int64_t>(v));
      } else {
        // Beyond int64: a double, as the JSON reader keeps such integers.
        double d = PyLong_AsDouble(value);
        if (d == -1.0 && PyErr_Occurred()) {
          PyErr_Clear();
          RaiseEventError("integer too large for an event value");
        }
        out.AddDouble(id, d);
      }
    } else if (PyFloat_Check(value)) {
      double d = PyFloat_AS_DOUBLE(value);
      if (!std::isfinite(d)) RaiseEventError("NaN and infinity are not JSON values");
      out.AddDouble(id, d);
    } else if (PyUnicode_Check(value)) {
      std::string_view text = KeyText(value);
      if (text.size() > max_string_bytes_) {
        text = eql::io::JsonProjector::CutUtf8(text, max_string_bytes_);
      }
      out.AddString(id, text);
    } else {
      RaiseEventError(std::string("unsupported value type in event: ") + Py_TYPE(value)->tp_name);
    }
  }

  const eql::io::FieldRegistry& fields_;
  uint64_t max_values_;
  uint64_t max_string_bytes_;
  uint64_t values_ = 0;
};

// One event ready to push without the GIL: projected (with the dict kept to
// render it), or JSON text.
struct PendingEvent {
  std::string json;
  eql::io::Record record;
  py::object dict;  // set for a projected event; released with the GIL held
};

// Converts a push() argument. Raises TypeError for what is not an event at
// all, EventError for a dict that cannot be an event.
PendingEvent ToPending(py::handle obj, DictProjector* prune) {
  PendingEvent out;
  if (PyDict_Check(obj.ptr()) && prune != nullptr) {
    // Dotted keys need nothing special: the projection follows them as the
    // JSON projector does, and the dict renders them as written.
    prune->Project(obj.ptr(), out.record);
    out.dict = py::reinterpret_borrow<py::object>(obj);
    return out;
  }
  if (PyDict_Check(obj.ptr())) {
    // Another source's record: the normalizer reads JSON text.
    Validate(obj, 0);  // the same errors as the direct path
    try {
      out.json = JsonDumps(obj);
    } catch (py::error_already_set& e) {
      RaiseEventError(std::string("event is not JSON-serializable: ") + e.what());
    }
    return out;
  }
  if (PyUnicode_Check(obj.ptr())) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(obj.ptr(), &size);
    if (data == nullptr) {
      PyErr_Clear();
      RaiseEventError("event text is not valid Unicode (lone surrogate)");
    }
    out.json.assign(data, static_cast<size_t>(size));
    return out;
  }
  if (PyBytes_Check(obj.ptr())) {
    out.json.assign(PyBytes_AS_STRING(obj.ptr()), static_cast<size_t>(PyBytes_GET_SIZE(obj.ptr())));
    return out;
  }
  if (PyByteArray_Check(obj.ptr())) {
    out.json.assign(PyByteArray_AS_STRING(obj.ptr()),
                    static_cast<size_t>(PyByteArray_GET_SIZE(obj.ptr())));
    return out;
  }
  throw py::type_error(std::string("an event is a dict, or JSON text as str or bytes, not ") +
                       Py_TYPE(obj.ptr())->tp_name);
}

// ------------------------------------------------------------- options

int64_t ParseDuration(py::handle value, const char* what) {
  if (PyBool_Check(value.ptr())) {
    throw py::value_error(std::string(what) + " must be milliseconds (int) or a str like \"10s\"");
  }
  if (PyLong_Check(value.ptr())) {
    int overflow = 0;
    long long ms = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
    if (overflow != 0) throw py::value_error(std::string(what) + " is out of range");
    if (ms < 0) throw py::value_error(std::string(what) + " must not be negative");
    return static_cast<int64_t>(ms);
  }
  if (!PyUnicode_Check(value.ptr())) {
    throw py::type_error(std::string(what) + " must be milliseconds (int) or a str like \"10s\"");
  }
  std::string text = value.cast<std::string>();
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  std::string unit = text.substr(digits);
  int64_t factor = 0;
  if (unit == "ms") factor = 1;
  else if (unit == "s") factor = 1000;
  else if (unit == "m") factor = 60'000;
  else if (unit == "h") factor = 3'600'000;
  else if (unit == "d") factor = 86'400'000;
  if (digits == 0 || digits > 12 || factor == 0) {
    throw py::value_error(std::string(what) + ": expected a number and a unit (ms, s, m, h, d), got \"" +
                          text + "\"");
  }
  const int64_t count = std::stoll(text.substr(0, digits));  // at most 12 digits: fits
  if (count > INT64_MAX / factor) {
    throw py::value_error(std::string(what) + " is out of range: \"" + text + "\"");
  }
  return count * factor;
}

std::string StrField(const py::dict& d, const char* key) {
  if (!d.contains(key) || d[key].is_none()) return {};
  py::object v = d[key];
  if (!py::isinstance<py::str>(v)) {
    throw py::type_error(std::string("rule field '") + key + "' must be a str");
  }
  return v.cast<std::string>();
}

eql::Rule ToRule(py::handle item, size_t index) {
  eql::Rule rule;
  if (py::isinstance<py::str>(item)) {
    rule.query = item.cast<std::string>();
    return rule;
  }
  if (!py::isinstance<py::dict>(item)) {
    throw py::type_error("rule " + std::to_string(index) +
                         ": a rule is a query str or a dict with 'query'");
  }
  py::dict d = py::reinterpret_borrow<py::dict>(item);
  if (!d.contains("query")) throw py::value_error("rule " + std::to_string(index) + ": no 'query'");
  rule.query = StrField(d, "query");
  rule.name = StrField(d, "name");
  rule.rule_id = StrField(d, "rule_id");
  if (rule.rule_id.empty()) rule.rule_id = StrField(d, "id");
  rule.severity = StrField(d, "severity");
  rule.origin = StrField(d, "origin");
  if (d.contains("risk_score") && !d["risk_score"].is_none()) {
    py::object score = d["risk_score"];
    if (PyBool_Check(score.ptr()) || !(PyLong_Check(score.ptr()) || PyFloat_Check(score.ptr()))) {
      throw py::type_error("rule " + std::to_string(index) + ": 'risk_score' must be a number");
    }
    rule.risk_score = score.cast<double>();
  }
  // Other keys (description, tags, ... of a detection-rules entry) are
  // ignored so such entries can be passed as they are.
  return rule;
}

// ------------------------------------------------------------- Engine

class PyEngine;

// An error of one event in push_many/run_file, reported to on_error.
struct EventFailure {
  uint64_t position;
  std::string message;
};

class PyEngine {
 public:
  PyEngine(py::object rules, std::string source, bool batch, py::object allowed_lateness,
           uint64_t max_partials, uint64_t max_partials_total, std::string timestamp_field,
           std::string category_field, std::optional<std::string> tiebreaker_field,
           std::string late_policy, uint64_t max_event_bytes) {
    std::vector<eql::Rule> list;
    if (py::isinstance<py::str>(rules) || py::isinstance<py::dict>(rules)) {
      list.push_back(ToRule(rules, 0));
    } else {
      size_t i = 0;
      for (py::handle item : py::iter(rules)) list.push_back(ToRule(item, i++));
    }
    if (list.empty()) throw py::value_error("no rules given");
    eql::EngineOptions options;
    options.batch = batch;
    options.allowed_lateness_ms = ParseDuration(allowed_lateness, "allowed_lateness");
    options.max_partials_per_rule = max_partials;
    options.max_partials_total = max_partials_total;
    options.timestamp_field = std::move(timestamp_field);
    options.category_field = std::move(category_field);
    options.tiebreaker_field = tiebreaker_field.value_or("");
    if (late_policy == "drop") options.late_policy = eql::LatePolicy::kDrop;
    else if (late_policy == "process") options.late_policy = eql::LatePolicy::kProcess;
    else throw py::value_error("late_policy must be \"drop\" or \"process\"");
    options.max_event_bytes = max_event_bytes;
    max_event_bytes_ = max_event_bytes;
    // Records of another source are normalized from their JSON text (dicts
    // are dumped); unknown names are refused by Engine::Create.
    const bool ecs_ = source == "ecs";
    options.source = std::move(source);

    // Compiling a large rule set takes a while: let other threads run.
    std::optional<absl::StatusOr<std::unique_ptr<eql::Engine>>> created;
    {
      py::gil_scoped_release release;
      created.emplace(eql::Engine::Create(std::move(list), options));
    }
    if (!created->ok()) throw py::value_error(std::string(created->status().message()));
    engine_ = std::move(**created);
    max_event_values_ = options.max_event_values;
    max_string_bytes_ = options.max_string_bytes;
    if (ecs_) {
      projector_ = std::make_unique<DictProjector>(engine_->field_registry(),
                                                   options.max_event_values,
                                                   options.max_string_bytes);
    }
    const auto& rejected = engine_->rejected_rules();
    if (!rejected.empty() && rejected.size() == engine_->rules().size()) {
      const auto& first = rejected.front();
      RaiseSyntaxError(first.diagnostics,
                       engine_->rules().size() == 1
                           ? std::string()
                           : "every rule was rejected; the first, \"" +
                                 engine_->rules()[first.rule_index].name + "\": ");
    }
  }

  py::list Rejected() const {
    py::list out;
    for (const auto& r : engine_->rejected_rules()) {
      py::dict d;
      d["index"] = r.rule_index;
      d["name"] = engine_->rules()[r.rule_index].name;
      d["query"] = engine_->rules()[r.rule_index].query;
      py::list diags;
      for (const auto& diag : r.diagnostics) diags.append(DiagnosticDict(diag));
      d["diagnostics"] = diags;
      out.append(d);
    }
    return out;
  }

  py::list Rules() const {
    py::list out;
    for (const auto& r : engine_->rules()) {
      py::dict d;
      d["query"] = r.query;
      d["name"] = r.name;
      d["rule_id"] = r.rule_id;
      d["severity"] = r.severity;
      d["risk_score"] = r.risk_score;
      out.append(d);
    }
    return out;
  }

  // push(): one event; the alerts it completed.
  py::list Push(py::handle event) {
    if (projector_ && PyDict_Check(event.ptr())) return PushDict(event);
    PendingEvent pending;
    try {
      pending = ToPending(event, prune());
    } catch (py::error_already_set& e) {
      if (e.matches(g_event_error)) CountRejected(1);
      throw;
    }
    absl::Status status;
    std::vector<std::string> alerts;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      status = PushOne(pending);
      alerts = TakeAlertJson();
    }
    return Finish(status, std::move(alerts));
  }

  // push(dict) with source "ecs": the dict is projected into the engine's
  // record form (DictProjector) and pushed with the GIL held: one event is
  // quick, and rendering the dict for an alert or a partial needs the GIL.
  // The mutex is only try-locked while the GIL is held (see the top).
  py::list PushDict(py::handle dict) {
    absl::Status status;
    std::vector<std::string> alerts;
    {
      std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
      if (!lock.owns_lock()) {
        py::gil_scoped_release release;
        lock.lock();
      }
      try {
        projector_->Project(dict.ptr(), scratch_);
      } catch (py::error_already_set& e) {
        if (e.matches(g_event_error)) ++not_pushed_malformed_;
        throw;
      }
      const std::function<std::string()> render = [&] { return RenderDict(dict, false); };
      status = engine_->PushRecord(scratch_, render);
      alerts = TakeAlertJson();
    }
    return Finish(status, std::move(alerts));
  }

  py::list Finish(const absl::Status& status, std::vector<std::string> alerts) {
    // Alerts completed before the malformed event arrived are not lost: they
    // stay queued and come with the next push or flush.
    if (!status.ok()) {
      requeued_.insert(requeued_.end(), alerts.begin(), alerts.end());
      RaiseEventError(std::string(status.message()));
    }
    return ToAlertList(std::move(alerts));
  }

  // Engine::Checkpoint() / Restore(): state that survives a restart.
  py::bytes Checkpoint() {
    absl::StatusOr<std::string> snapshot;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      snapshot = engine_->Checkpoint();
    }
    if (!snapshot.ok()) throw std::runtime_error(std::string(snapshot.status().message()));
    return py::bytes(*snapshot);
  }

  void Restore(const py::bytes& data) {
    std::string snapshot = data;
    absl::Status status;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      status = engine_->Restore(snapshot);
      // The restored engine has a field registry of its own: the dict
      // projector must read the new one.
      if (status.ok() && projector_) {
        projector_ = std::make_unique<DictProjector>(engine_->field_registry(), max_event_values_,
                                                     max_string_bytes_);
      }
    }
    if (!status.ok()) throw py::value_error(std::string(status.message()));
  }

  py::list Flush() {
    std::vector<std::string> alerts;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      engine_->Flush();
      alerts = TakeAlertJson();
    }
    return ToAlertList(std::move(alerts));
  }

  py::dict Stats() const {
    eql::EngineStats s;
    uint64_t extra = 0;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      s = engine_->stats();
      extra = not_pushed_malformed_;
    }
    py::dict d;
    // Events refused before they reached the engine (a dict that cannot be
    // an event, a file piece that is not JSON) count like any malformed one.
    d["events_in"] = s.events_in + extra;
    d["events_malformed"] = s.events_malformed + extra;
    d["events_no_timestamp"] = s.events_no_timestamp;
    d["events_late"] = s.events_late;
    d["events_processed"] = s.events_processed;
    d["alerts"] = s.alerts;
    d["partials_live"] = s.partials_live;
    d["partials_expired"] = s.partials_expired;
    d["partials_evicted"] = s.partials_evicted;
    py::dict sources;
    for (const auto& c : s.sources) {
      py::dict sd;
      sd["records"] = c.records;
      sd["normalized"] = c.normalized;
      sd["passed_through"] = c.passed_through;
      sd["unrecognized"] = c.unrecognized;
      sources[py::str(c.source)] = sd;
    }
    d["sources"] = sources;
    py::list rules;
    for (size_t i = 0; i < s.rules.size(); ++i) {
      const auto& r = s.rules[i];
      py::dict rd;
      rd["name"] = i < engine_->rules().size() ? engine_->rules()[i].name : std::string();
      rd["alerts"] = r.alerts;
      rd["partials_live"] = r.partials_live;
      rd["partials_created"] = r.partials_created;
      rd["partials_completed"] = r.partials_completed;
      rd["partials_expired"] = r.partials_expired;
      rd["partials_evicted"] = r.partials_evicted;
      rules.append(rd);
    }
    d["rules"] = rules;
    return d;
  }

  // Used by the iterators below; the caller holds mu_ and not the GIL.
  absl::Status PushOne(PendingEvent& e) {
    if (e.dict) {
      const std::function<std::string()> render = [&] { return RenderDict(e.dict, true); };
      return engine_->PushRecord(e.record, render);
    }
    return engine_->PushJson(e.json);
  }
  // The fields a dict is pruned to; null when dicts must be pushed as JSON
  // text (a source other than ECS: the normalizer reads the record's text).
  DictProjector* prune() { return projector_.get(); }
  // The text of a pruned event, for the engine (which calls it at most once
  // per event, only for an alert or a partial). `acquire`: the caller does
  // not hold the GIL. Never throws into the engine: the dict was validated,
  // so encoding cannot fail short of a broken dict subclass, which renders
  // as an empty object.
  static std::string RenderDict(py::handle dict, bool acquire) {
    std::optional<py::gil_scoped_acquire> gil;
    if (acquire) gil.emplace();
    try {
      return RenderJson(dict);
    } catch (py::error_already_set&) {
      return "{}";
    }
  }
  absl::Status PushPadded(std::string_view json) { return engine_->PushJsonPadded(json); }
  void FlushLocked() { engine_->Flush(); }
  std::vector<std::string> TakeAlertJson() {
    std::vector<std::string> out;
    for (const auto& a : engine_->TakeAlerts()) out.push_back(a.ToJson());
    return out;
  }
  // Caller holds the GIL.
  py::list ToAlertList(std::vector<std::string> alerts) {
    py::list out;
    for (auto& text : requeued_) out.append(JsonLoads(text));
    requeued_.clear();
    for (auto& text : alerts) out.append(JsonLoads(text));
    return out;
  }
  void CountRejected(uint64_t n) {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mu_);
    not_pushed_malformed_ += n;
  }
  void CountRejectedLocked(uint64_t n) { not_pushed_malformed_ += n; }
  uint64_t max_event_bytes() const { return max_event_bytes_; }
  std::mutex& mu() { return mu_; }

 private:
  std::unique_ptr<eql::Engine> engine_;
  mutable std::mutex mu_;
  uint64_t not_pushed_malformed_ = 0;
  uint64_t max_event_bytes_ = 16 << 20;
  uint64_t max_event_values_ = 0;
  uint64_t max_string_bytes_ = 0;
  std::vector<std::string> requeued_;  // alerts held back by a failed push()
  // Source "ecs" only: projects dicts against the engine's fields.
  std::unique_ptr<DictProjector> projector_;
  eql::io::Record scratch_;  // push(dict)'s projection; used under mu_

};

// Shared by the two generators: alerts waiting to be yielded and errors
// waiting for on_error, which is called with the GIL, outside the engine lock.
class AlertQueue {
 protected:
  // Set while __next__ runs: the members below are touched with the GIL
  // released, so a second thread (or on_error) must not enter meanwhile.
  bool busy_ = false;
  struct BusyGuard {
    bool& flag;
    explicit BusyGuard(bool& f) : flag(f) {
      if (flag) throw py::value_error("generator already executing");
      flag = true;
    }
    ~BusyGuard() { flag = false; }
  };

  std::deque<std::string> alerts_;
  std::vector<EventFailure> failures_;
  py::object on_error_;

  // Reports failures to on_error (its exceptions propagate).
  void ReportFailures() {
    std::vector<EventFailure> failures = std::move(failures_);
    failures_.clear();
    if (on_error_.is_none()) return;
    // Conversion failures are found before push failures of the same chunk;
    // report them in input order.
    std::stable_sort(failures.begin(), failures.end(),
                     [](const EventFailure& a, const EventFailure& b) { return a.position < b.position; });
    for (const auto& f : failures) on_error_(f.position, f.message);
  }
  py::object PopAlert() {
    std::string text = std::move(alerts_.front());
    alerts_.pop_front();
    return JsonLoads(text);
  }
};

// Events per GIL release: large enough that the release costs nothing, small
// enough that alerts come out while a long stream is still being read.
constexpr size_t kChunk = 4096;

class PushManyIterator : AlertQueue {
 public:
  PushManyIterator(py::object engine, py::iterator events, bool flush, py::object on_error)
      : engine_obj_(std::move(engine)), events_(std::move(events)), flush_(flush) {
    on_error_ = std::move(on_error);
    engine_ = engine_obj_.cast<PyEngine*>();
  }

  py::object Next() {
    BusyGuard guard(busy_);
    while (alerts_.empty()) {
      if (done_) throw py::stop_iteration();
      Refill();
      ReportFailures();
    }
    return PopAlert();
  }

 private:
  void Refill() {
    std::vector<PendingEvent> batch;
    std::vector<uint64_t> positions;
    uint64_t refused = 0;
    bool exhausted = false;
    while (batch.size() < kChunk) {
      if (events_ == py::iterator::sentinel()) {
        exhausted = true;
        break;
      }
      py::handle item = *events_;
      uint64_t position = position_++;
      // An item that cannot be an event (a malformed dict, or not a dict, str
      // or bytes at all) is counted and skipped like malformed text: raising
      // here would also lose the events already converted in this chunk.
      try {
        batch.push_back(ToPending(item, engine_->prune()));
        positions.push_back(position);
      } catch (py::error_already_set& e) {
        if (!e.matches(g_event_error)) throw;
        ++refused;
        failures_.push_back({position, py::str(e.value()).cast<std::string>()});
      } catch (py::type_error& e) {
        ++refused;
        failures_.push_back({position, e.what()});
      }
      ++events_;
    }
    std::vector<std::string> alerts;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(engine_->mu());
      engine_->CountRejectedLocked(refused);
      for (size_t i = 0; i < batch.size(); ++i) {
        absl::Status status = engine_->PushOne(batch[i]);
        if (!status.ok()) failures_.push_back({positions[i], std::string(status.message())});
      }
      if (exhausted && flush_) engine_->FlushLocked();
      alerts = engine_->TakeAlertJson();
    }
    for (auto& a : alerts) alerts_.push_back(std::move(a));
    if (exhausted) done_ = true;
  }

  py::object engine_obj_;  // keeps the Engine alive while iterating
  PyEngine* engine_;
  py::iterator events_;
  bool flush_;
  bool done_ = false;
  uint64_t position_ = 0;
};

class RunFileIterator : AlertQueue {
 public:
  RunFileIterator(py::object engine, std::unique_ptr<eql::EventReader> reader, bool flush,
                  py::object on_error)
      : engine_obj_(std::move(engine)), reader_(std::move(reader)), flush_(flush) {
    on_error_ = std::move(on_error);
    engine_ = engine_obj_.cast<PyEngine*>();
  }

  py::object Next() {
    BusyGuard guard(busy_);
    while (alerts_.empty()) {
      if (done_) {
        if (!read_error_.empty()) {
          std::string message = std::move(read_error_);
          read_error_.clear();
          PyErr_SetString(PyExc_OSError, message.c_str());
          throw py::error_already_set();
        }
        throw py::stop_iteration();
      }
      Refill();
      ReportFailures();
    }
    return PopAlert();
  }

 private:
  void Refill() {
    std::vector<std::string> alerts;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(engine_->mu());
      eql::EventReader::Item item;
      size_t n = 0;
      bool more = true;
      while (n < kChunk && (more = reader_->Next(item))) {
        ++n;
        // As eql-run: a piece that is not an event is counted, reported and
        // skipped; the rest of the file still runs.
        if (!item.error.ok()) {
          engine_->CountRejectedLocked(1);
          failures_.push_back({item.line, std::string(item.error.message())});
          continue;
        }
        absl::Status status = engine_->PushPadded(item.json);
        if (!status.ok()) failures_.push_back({item.line, std::string(status.message())});
      }
      if (!more) {
        if (!reader_->status().ok()) read_error_ = std::string(reader_->status().message());
        if (flush_) engine_->FlushLocked();
        done_ = true;
        reader_.reset();  // closes the file now, not when the generator dies
      }
      alerts = engine_->TakeAlertJson();
    }
    for (auto& a : alerts) alerts_.push_back(std::move(a));
  }

  py::object engine_obj_;
  PyEngine* engine_;
  std::unique_ptr<eql::EventReader> reader_;
  bool flush_;
  bool done_ = false;
  std::string read_error_;
};

py::object PushMany(py::object self, py::object events, bool flush, py::object on_error) {
  if (!on_error.is_none() && !PyCallable_Check(on_error.ptr())) {
    throw py::type_error("on_error must be callable");
  }
  return py::cast(PushManyIterator(self, py::iter(events), flush, on_error));
}

py::object RunFile(py::object self, py::object path, bool flush, py::object on_error) {
  if (!on_error.is_none() && !PyCallable_Check(on_error.ptr())) {
    throw py::type_error("on_error must be callable");
  }
  std::string p = py::str(py::module_::import("os").attr("fspath")(path)).cast<std::string>();
  PyEngine* engine = self.cast<PyEngine*>();
  auto reader = eql::EventReader::Open(p, engine->max_event_bytes());
  if (!reader.ok()) {
    std::string message(reader.status().message());
    if (absl::IsNotFound(reader.status())) {
      PyErr_SetString(PyExc_FileNotFoundError, message.c_str());
    } else {
      PyErr_SetString(PyExc_OSError, message.c_str());
    }
    throw py::error_already_set();
  }
  return py::cast(RunFileIterator(self, std::move(*reader), flush, on_error));
}

py::list LoadRules(py::object path, py::object errors) {
  std::string p = py::str(py::module_::import("os").attr("fspath")(path)).cast<std::string>();
  eql::RuleFileErrors problems;
  auto rules = eql::LoadRules(p, &problems);
  if (!rules.ok()) {
    std::string message(rules.status().message());
    PyErr_SetString(absl::IsNotFound(rules.status()) ? PyExc_FileNotFoundError : PyExc_OSError,
                    message.c_str());
    throw py::error_already_set();
  }
  if (!errors.is_none()) {
    for (const auto& e : problems) errors.attr("append")(e);
  }
  py::list out;
  for (const auto& r : *rules) {
    py::dict d;
    d["query"] = r.query;
    d["name"] = r.name;
    d["rule_id"] = r.rule_id;
    d["severity"] = r.severity;
    d["risk_score"] = r.risk_score;
    d["origin"] = r.origin;
    out.append(d);
  }
  return out;
}

}  // namespace

PYBIND11_MODULE(libeql, m) {
  m.doc() =
      "libeql: run Elastic EQL detection rules over streams of events.\n\n"
      "    >>> import libeql\n"
      "    >>> engine = libeql.Engine('process where process.name == \"node\"')\n"
      "    >>> engine.push({'@timestamp': 1, 'event': {'category': 'process'},\n"
      "    ...              'process': {'name': 'node'}})[0]['events']\n"
      "    [{'@timestamp': 1, 'event': {'category': 'process'}, 'process': {'name': 'node'}}]\n\n"
      "parse() checks a query; Engine runs rules; load_rules() reads rule files.\n"
      "Errors: EqlSyntaxError (a bad query), EventError (a bad event), both ValueError.";

  g_syntax_error = PyErr_NewExceptionWithDoc(
      "libeql.EqlSyntaxError",
      "A query that does not parse or compile (a ValueError).\n\n"
      "Attributes: line and column (1-based) and message of the first problem;\n"
      "caret, the formatted diagnostic with the source line and a caret under\n"
      "the offending text; diagnostics, every problem as a dict with the same keys.",
      PyExc_ValueError, nullptr);
  g_event_error = PyErr_NewExceptionWithDoc(
      "libeql.EventError",
      "An event that cannot be read: malformed JSON, not an object, too large,\n"
      "or a dict holding a value JSON cannot hold (a ValueError).",
      PyExc_ValueError, nullptr);
  m.attr("EqlSyntaxError") = py::handle(g_syntax_error);
  m.attr("EventError") = py::handle(g_event_error);
  m.attr("__version__") = "0.1.0";

  py::class_<PyQuery>(m, "Query",
                      "A parsed EQL query (made by libeql.parse()).\n\n"
                      "text is the canonical form: parsing it again gives the same query.")
      .def_readonly("text", &PyQuery::text, "The canonical EQL text of the query.")
      .def_readonly("kind", &PyQuery::kind, "\"event\", \"sequence\" or \"sample\".")
      .def_readonly("source", &PyQuery::source, "The query text as given to parse().")
      .def("__str__", [](const PyQuery& q) { return q.text; })
      .def("__repr__",
           [](const PyQuery& q) {
             return "<libeql.Query kind=" + q.kind + " text=" +
                    py::repr(py::str(q.text)).cast<std::string>() + ">";
           })
      .def("__eq__",
           [](const PyQuery& a, py::object b) {
             return py::isinstance<PyQuery>(b) && a.text == b.cast<const PyQuery&>().text;
           })
      .def("__hash__", [](const PyQuery& q) { return py::hash(py::str(q.text)); });

  m.def("parse", &ParseQuery, py::arg("query"),
        "parse(query: str) -> Query\n\n"
        "Parses one EQL query (Elasticsearch dialect) and returns a Query with its\n"
        "canonical text and kind. Raises EqlSyntaxError (with .line, .column,\n"
        ".message and .caret) when it does not parse. Only the syntax is checked:\n"
        "names of functions and field types are checked when an Engine compiles it.");

  m.def("load_rules", &LoadRules, py::arg("path"), py::arg("errors") = py::none(),
        "load_rules(path, errors=None) -> list[dict]\n\n"
        "Reads rules from a .eql file, a detection-rules .toml file, a .jsonl rule\n"
        "pack or a folder of them (in name order), as eql-run does. Each rule is a\n"
        "dict with query, name, rule_id, severity, risk_score and origin, ready to\n"
        "pass to Engine. Entries that are broken are skipped; their descriptions\n"
        "are appended to `errors` when it is a list. Raises FileNotFoundError or\n"
        "OSError when the path cannot be read.");

  py::class_<PushManyIterator>(m, "_PushManyIterator")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", &PushManyIterator::Next);
  py::class_<RunFileIterator>(m, "_RunFileIterator")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", &RunFileIterator::Next);

  py::class_<PyEngine>(m, "Engine",
                       "Runs a set of EQL rules over a stream of events in one pass.\n\n"
                       "Engine(rules, *, source='ecs', batch=False, allowed_lateness=0,\n"
                       "       max_partials=1_000_000, max_partials_total=10_000_000,\n"
                       "       timestamp_field='@timestamp', category_field='event.category',\n"
                       "       tiebreaker_field=None, late_policy='drop',\n"
                       "       max_event_bytes=16 MiB)\n\n"
                       "rules: a query str, or a list of query strs and/or dicts with 'query'\n"
                       "  and optional 'name', 'rule_id', 'severity', 'risk_score' (other keys\n"
                       "  are ignored, so detection-rules entries and load_rules() output fit).\n"
                       "batch: hold every event and run them sorted at flush(), as\n"
                       "  Elasticsearch sees an index. Otherwise events stream through a\n"
                       "  reorder stage that waits allowed_lateness (ms int, or '10s', '500ms',\n"
                       "  '2m', '1h', '1d') for stragglers; later events are counted in\n"
                       "  stats['events_late'] and dropped (late_policy='drop') or processed at\n"
                       "  once (late_policy='process').\n"
                       "max_partials / max_partials_total: caps on live partial sequences per\n"
                       "  rule and overall; evictions are counted in stats.\n"
                       "timestamp_field ('' for none: order by arrival), category_field,\n"
                       "  tiebreaker_field (None: ties in time keep arrival order).\n"
                       "source: what the events are: 'ecs' (default), 'sysmon', 'winsec',\n"
                       "  'crowdstrike', 'mde', 'sentinelone' or 'auto' (docs/sources.md). Records\n"
                       "  of another source are normalized to ECS; their alerts carry the ECS\n"
                       "  event with the record's JSON text in event.original.\n\n"
                       "A rule that does not compile is skipped and listed in `rejected`; the\n"
                       "constructor raises EqlSyntaxError only when every rule is rejected,\n"
                       "ValueError for invalid options, TypeError for wrongly typed arguments.\n\n"
                       "Alerts are dicts shaped as Elasticsearch's EQL response (eql-run's\n"
                       "NDJSON lines): {'rule': {'name', 'id', 'severity', 'risk_score'},\n"
                       "'join_keys': [...] (sequences and samples only), 'events': [event\n"
                       "dicts, or {'missing': True} for a missing-event stage]}.\n\n"
                       "An Engine may be shared between threads (calls are serialized); the\n"
                       "GIL is released while it works.")
      .def(py::init<py::object, std::string, bool, py::object, uint64_t, uint64_t, std::string,
                    std::string, std::optional<std::string>, std::string, uint64_t>(),
           py::arg("rules"), py::kw_only(), py::arg("source") = "ecs", py::arg("batch") = false,
           py::arg("allowed_lateness") = 0, py::arg("max_partials") = 1'000'000,
           py::arg("max_partials_total") = 10'000'000, py::arg("timestamp_field") = "@timestamp",
           py::arg("category_field") = "event.category",
           py::arg("tiebreaker_field") = py::none(), py::arg("late_policy") = "drop",
           py::arg("max_event_bytes") = uint64_t{16} << 20)
      .def("push", &PyEngine::Push, py::arg("event"),
           "push(event) -> list[dict]\n\n"
           "Pushes one event: a dict (only the members some rule reads are\n"
           "converted; the dict is rendered as JSON only for an alert, which shows it\n"
           "as given) or JSON text as str or bytes. Returns the alerts this push completed (in\n"
           "batch mode, none until flush()). Raises EventError for a malformed\n"
           "event (it is counted in stats and the engine stays usable) and\n"
           "TypeError for an argument that is not a dict, str or bytes.")
      .def("push_many", &PushMany, py::arg("events"), py::kw_only(), py::arg("flush") = false,
           py::arg("on_error") = py::none(),
           "push_many(events, *, flush=False, on_error=None) -> Iterator[dict]\n\n"
           "Pushes every event of an iterable (dicts, str or bytes) and yields the\n"
           "alerts as they complete; events are consumed as the generator is\n"
           "iterated, in chunks, with the GIL released while the engine works.\n"
           "Malformed events (and items that are not a dict, str or bytes) are\n"
           "counted in stats and skipped, as eql-run does; on_error(position,\n"
           "message) is called for each (position: 0-based index in `events`). flush=True calls flush() at the end and yields its alerts.")
      .def("run_file", &RunFile, py::arg("path"), py::kw_only(), py::arg("flush") = true,
           py::arg("on_error") = py::none(),
           "run_file(path, *, flush=True, on_error=None) -> Iterator[dict]\n\n"
           "Streams the events of a file (NDJSON or a JSON array, optionally gzip;\n"
           "told from the content) through the engine in constant memory and yields\n"
           "alerts as they complete. The GIL is released while reading and\n"
           "matching. Malformed events are counted and skipped as eql-run does;\n"
           "on_error(line, message) is called for each (1-based line). With\n"
           "flush=True (default) the end of the file is the end of input. Raises\n"
           "FileNotFoundError/OSError when the file cannot be opened (at the call)\n"
           "or read (while iterating).")
      .def("checkpoint", &PyEngine::Checkpoint,
           "checkpoint() -> bytes\n\n"
           "The engine's whole state (partial sequences, held events, pending\n"
           "decisions, counters) as bytes, to survive a restart; nothing is\n"
           "flushed. Give it to restore() of an engine made with the same rules\n"
           "and options.")
      .def("restore", &PyEngine::Restore, py::arg("state"),
           "restore(state: bytes) -> None\n\n"
           "Replaces the engine's state with a checkpoint's. Raises ValueError\n"
           "(saying why) for bytes that are not a snapshot, a corrupt one, or one\n"
           "made with other rules or options; the engine is then unchanged.")
      .def("flush", &PyEngine::Flush,
           "flush() -> list[dict]\n\n"
           "End of input: releases the reorder stage (all of a batch), decides\n"
           "pending missing-event stages, emits `tail` results; returns those\n"
           "alerts. The engine takes events again afterwards.")
      .def_property_readonly("stats", &PyEngine::Stats,
                             "Counters as a dict: events_in, events_malformed,\n"
                             "events_no_timestamp, events_late, events_processed, alerts,\n"
                             "partials_live, partials_expired, partials_evicted; sources: per\n"
                             "data source (not for source='ecs') a dict of records, normalized,\n"
                             "passed_through, unrecognized; and rules: one dict per rule (name,\n"
                             "alerts, partials_live, partials_created, partials_completed,\n"
                             "partials_expired, partials_evicted).")
      .def_property_readonly("rejected", &PyEngine::Rejected,
                             "Rules that did not compile: a list of dicts with index (into the\n"
                             "rules given), name, query and diagnostics (dicts with line,\n"
                             "column, message, caret).")
      .def_property_readonly("rules", &PyEngine::Rules,
                             "The rules as given (names filled in): a list of dicts.");
}
