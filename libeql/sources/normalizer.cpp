// The interpreter of the mapping tables (tables.hpp): detects a record's source
// and shape, then applies that source's rules. One simdjson DOM parser per
// normalizer is reused, so a record is parsed once and, after warm-up, the
// only allocations are the output Event's (plus the 4688 pid map).
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <span>
#include <string>
#include <unordered_map>

#include "absl/container/flat_hash_map.h"
#include "eql/sources.hpp"
#include "fmt/format.h"
#include "io/json_projector.hpp"
#include "io/record.hpp"
#include "io/timestamp.hpp"
#include "simdjson.h"
#include "sources/tables.hpp"

namespace eql {
namespace {

using simdjson::dom::element;
using sources::Op;
using sources::Rule;
using sources::Shape;

enum class Src : int { kEcs, kSysmon, kWinsec, kCrowdStrike, kMde, kSentinelOne, kAuto, kCount };
constexpr std::array<std::string_view, 7> kNames = {"ecs", "sysmon",      "winsec", "crowdstrike",
                                                    "mde", "sentinelone", "auto"};

// Record layouts. Windows event logs come as winlogbeat/Agent JSON or as the
// EVTX-to-JSON {"Event":{"System","EventData"}} form.
constexpr Shape kWinlogbeat{"winlogbeat", "winlog.event_data", "winlog.computer_name"};
constexpr Shape kEvtxJson{"evtx-json", "Event.EventData", "Event.System.Computer"};
constexpr Shape kRoot{"row", "", ""};
constexpr Shape kEventHub{"event-hub", "properties", ""};

// Local string helpers: this abseil (20220623) has no *IgnoreCase variants
// and its string_view is not std::string_view.
char Low(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }
bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return Low(x) == Low(y); });
}
bool Contains(std::string_view s, std::string_view p) {
  return s.find(p) != std::string_view::npos;
}
// `p` must be lower case.
bool ContainsIgnoreCase(std::string_view s, std::string_view p) {
  if (p.empty()) return true;
  if (s.size() <= 128) {  // provider and channel names: lower-case copy, then find
    char low[128];
    for (size_t i = 0; i < s.size(); ++i) low[i] = Low(s[i]);
    return std::string_view(low, s.size()).find(p) != std::string_view::npos;
  }
  return std::search(s.begin(), s.end(), p.begin(), p.end(),
                     [](char x, char y) { return Low(x) == y; }) != s.end();
}
std::string Lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = Low(c);
  return r;
}
std::string_view Strip(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Finds `path` below `e`, where each '.' may be an object boundary or part of
// a flat dotted key ("tgt.process.pid" nested, flat, or mixed).
bool Lookup(element e, std::string_view path, element& out) {
  if (path.empty()) {
    out = e;
    return true;
  }
  simdjson::dom::object obj;
  if (e.get_object().get(obj) != simdjson::SUCCESS) return false;
  if (obj.at_key(path).get(out) == simdjson::SUCCESS) return true;
  for (size_t dot = path.find('.'); dot != std::string_view::npos; dot = path.find('.', dot + 1)) {
    element child;
    if (obj.at_key(path.substr(0, dot)).get(child) == simdjson::SUCCESS &&
        Lookup(child, path.substr(dot + 1), out))
      return true;
  }
  return false;
}

bool GetString(element root, std::string_view path, std::string_view& s) {
  element e;
  return Lookup(root, path, e) && e.get_string().get(s) == simdjson::SUCCESS;
}

// Any JSON value -> Event::Value (pass-through records, ECS identity).
Event::Value ToValue(element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: {
      Event::Value v = Event::Value::Array();
      simdjson::dom::array arr;
      if (e.get_array().get(arr) != simdjson::SUCCESS) return v;
      for (element item : arr) v.items.push_back(ToValue(item));
      return v;
    }
    case simdjson::dom::element_type::OBJECT: {
      Event::Value v = Event::Value::Object();
      simdjson::dom::object obj;
      if (e.get_object().get(obj) != simdjson::SUCCESS) return v;
      for (auto field : obj) {
        v.keys.emplace_back(field.key);
        v.items.push_back(ToValue(field.value));
      }
      return v;
    }
    case simdjson::dom::element_type::INT64:
      return Event::Value(e.get_int64().value_unsafe());
    case simdjson::dom::element_type::UINT64:
      return Event::Value(e.get_uint64().value_unsafe());
    case simdjson::dom::element_type::DOUBLE:
      return Event::Value(e.get_double().value_unsafe());
    case simdjson::dom::element_type::STRING:
      return Event::Value(e.get_string().value_unsafe());
    case simdjson::dom::element_type::BOOL:
      return Event::Value(e.get_bool().value_unsafe());
    case simdjson::dom::element_type::NULL_VALUE:
      return Event::Value();
  }
  return Event::Value();
}

// A scalar as text: strings as they are, numbers rendered (pids, ids).
bool ScalarText(element e, std::string& buf, std::string_view& out) {
  switch (e.type()) {
    case simdjson::dom::element_type::STRING:
      out = e.get_string().value_unsafe();
      return true;
    case simdjson::dom::element_type::INT64:
      buf = std::to_string(e.get_int64().value_unsafe());
      break;
    case simdjson::dom::element_type::UINT64:
      buf = std::to_string(e.get_uint64().value_unsafe());
      break;
    case simdjson::dom::element_type::DOUBLE: {
      char tmp[64];
      std::snprintf(tmp, sizeof tmp, "%.17g", e.get_double().value_unsafe());
      buf = tmp;
      break;
    }
    default:
      return false;
  }
  out = buf;
  return true;
}

bool ParseInt(std::string_view s, int base, int64_t& v) {
  s = Strip(s);
  if (base == 16 && (StartsWith(s, "0x") || StartsWith(s, "0X")))
    s.remove_prefix(2);
  else if (base == 16)
    base = 10;  // "hex" fields written in decimal by some exporters
  if (s.empty()) return false;
  int64_t r = 0;
  for (char c : s) {
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : 99;
    if (d >= base || r > (INT64_MAX - d) / base) return false;
    r = r * base + d;
  }
  v = r;
  return true;
}

std::string_view Basename(std::string_view path) {
  size_t cut = path.find_last_of("\\/");
  return cut == std::string_view::npos ? path : path.substr(cut + 1);
}

bool LooksWindowsPath(std::string_view p) {
  return p.find('\\') != std::string_view::npos ||
         (p.size() >= 2 && std::isalpha(static_cast<unsigned char>(p[0])) && p[1] == ':');
}

// "YYYY-MM-DDThh:mm:ss.fffZ" (24 characters; years 0..9999) into `buf`.
std::string_view FormatIso(int64_t ms, char (&buf)[32]) {
  int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
  int64_t rem = ms - days * 86400000;
  // civil_from_days
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  if (y < 0 || y > 9999) {
    int len = std::snprintf(buf, sizeof buf, "%lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                            static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600000),
                            static_cast<long long>(rem / 60000 % 60),
                            static_cast<long long>(rem / 1000 % 60),
                            static_cast<long long>(rem % 1000));
    return std::string_view(buf, static_cast<size_t>(std::max(len, 0)));
  }
  auto put = [&](int pos, int64_t v, int width) {
    for (int k = width - 1; k >= 0; --k, v /= 10) buf[pos + k] = static_cast<char>('0' + v % 10);
  };
  put(0, y, 4);
  buf[4] = '-';
  put(5, m, 2);
  buf[7] = '-';
  put(8, d, 2);
  buf[10] = 'T';
  put(11, rem / 3600000, 2);
  buf[13] = ':';
  put(14, rem / 60000 % 60, 2);
  buf[16] = ':';
  put(17, rem / 1000 % 60, 2);
  buf[19] = '.';
  put(20, rem % 1000, 3);
  buf[23] = 'Z';
  return std::string_view(buf, 24);
}

// CommandLineToArgvW (SourceNormalizer::SplitWindowsCommandLine documents
// the rules): calls `f` with each argument, built in `arg` (reused).
template <class F>
void ForEachWindowsArg(std::string_view s, std::string& arg, F&& f) {
  size_t i = 0, n = s.size();
  if (n == 0) return;
  // argv[0]: quotes delimit, backslashes are literal.
  if (s[0] == '"') {
    size_t close = s.find('"', 1);
    if (close == std::string_view::npos) close = n;
    f(s.substr(1, close - 1));
    i = close < n ? close + 1 : n;
  } else {
    while (i < n && s[i] != ' ' && s[i] != '\t') ++i;
    f(s.substr(0, i));
  }
  for (;;) {
    while (i < n && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i >= n) break;
    arg.clear();
    bool quoted = false;
    while (i < n) {
      char c = s[i];
      if (!quoted && (c == ' ' || c == '\t')) break;
      if (c == '\\') {
        size_t nb = 0;
        while (i < n && s[i] == '\\') ++nb, ++i;
        if (i < n && s[i] == '"') {
          arg.append(nb / 2, '\\');
          if (nb % 2 == 1) {
            arg += '"';
            ++i;
          }
          // even: the quote is handled by the next iteration
        } else {
          arg.append(nb, '\\');
        }
        continue;
      }
      if (c == '"') {
        if (quoted && i + 1 < n && s[i + 1] == '"') {  // "" inside quotes: literal quote
          arg += '"';
          i += 2;
          continue;
        }
        quoted = !quoted;
        ++i;
        continue;
      }
      // A run of ordinary characters at once.
      size_t end = i + 1;
      while (end < n && s[end] != '\\' && s[end] != '"' &&
             (quoted || (s[end] != ' ' && s[end] != '\t')))
        ++end;
      arg.append(s.data() + i, end - i);
      i = end;
    }
    f(std::string_view(arg));
  }
}

constexpr size_t kMaxPidsPerHost = 32768;  // 4688 parent map bound (docs/sources.md)
constexpr size_t kMaxHosts = 4096;

class Normalizer final : public SourceNormalizer {
 public:
  explicit Normalizer(Src mode) : mode_(mode) {}

  // A record that is not JSON, counted under this normalizer's source.
  absl::Status Malformed(simdjson::error_code err) {
    Count(mode_).records++;
    Count(mode_).unrecognized++;
    return absl::InvalidArgumentError(
        fmt::format("malformed JSON: {}", simdjson::error_message(err)));
  }

  // The whole ECS event of a parsed record of source `src` (kCount: no
  // known shape), counted; `out` is empty on failure.
  absl::Status WholeEvent(Src src, element root, Event& out) {
    if (src == Src::kCount) {
      Count(Src::kAuto).records++;
      Count(Src::kAuto).unrecognized++;
      return absl::InvalidArgumentError("record matches no known source shape");
    }
    SourceStats& st = Count(src);
    st.records++;
    absl::Status s = Dispatch(src, root, out);
    if (!s.ok()) {
      st.unrecognized++;
      out = Event();
      return s;
    }
    last_ = src;
    return absl::OkStatus();
  }

  absl::Status Normalize(std::string_view record_json, Event& out) override {
    out = Event();
    last_ = Src::kCount;
    element root;
    if (auto err = parser_.parse(record_json.data(), record_json.size()).get(root)) {
      return Malformed(err);
    }
    int64_t event_id;
    return WholeEvent(mode_ == Src::kAuto ? Detect(root, event_id) : mode_, root, out);
  }

  absl::Status NormalizeInto(std::string_view record_json, const io::FieldRegistry& fields,
                             const ProjectLimits& limits, io::Record& record, Event& event,
                             bool& projected) override {
    projected = false;
    last_projected_ = false;
    last_ = Src::kCount;
    element root;
    if (auto err = parser_.parse(record_json.data(), record_json.size()).get(root)) {
      event = Event();
      return Malformed(err);
    }
    int64_t event_id = -1;
    Src src = mode_ == Src::kAuto ? Detect(root, event_id) : mode_;
    const std::span<const Rule>* table = nullptr;
    const Shape* shape = &kRoot;
    std::span<const Rule> rules;
    if (src == Src::kSysmon && (mode_ == Src::kAuto ? event_id : WindowsEventId(root)) == 1) {
      rules = sources::kSysmonProcess;
      shape = &WindowsShape(root);
      table = &rules;
    } else if (src == Src::kCrowdStrike) {
      std::string_view name;
      GetString(root, "event_simpleName", name);
      if (name == "ProcessRollup2" || name == "SyntheticProcessRollup2") {
        rules = sources::kCrowdStrikeProcess;
        table = &rules;
      }
    } else if (src == Src::kSentinelOne) {
      std::string_view type;
      GetString(root, "event.type", type);
      if (EqualsIgnoreCase(type, "Process Creation")) {
        rules = sources::kSentinelOneProcess;
        table = &rules;
      }
    }
    const Plan* plan = table != nullptr ? &PlanFor(*table, *shape, fields) : nullptr;
    if (plan == nullptr || !plan->usable) {
      // Stateful or other records: the whole event, from the same parse.
      event = Event();
      return WholeEvent(src, root, event);
    }
    record.Clear(fields.size());
    values_ = 0;
    limits_ = limits;
    absl::Status s = ApplyFast(*plan, *shape, root, record);
    if (!s.ok()) {
      Count(src).records++;
      Count(src).unrecognized++;
      return s;
    }
    if (plan->original >= 0) AddText(static_cast<io::FieldId>(plan->original), record_json, record);
    Count(src).records++;
    Count(src).normalized++;
    last_ = src;
    last_root_ = root;
    last_projected_ = true;
    projected = true;
    return absl::OkStatus();
  }

  void LastEvent(Event& out) override {
    out = Event();
    if (!last_projected_) return;
    auto saved = stats_;
    (void)Dispatch(last_, last_root_, out);
    stats_ = saved;
  }

  std::string_view last_source() const override {
    return last_ == Src::kCount ? std::string_view() : kNames[static_cast<int>(last_)];
  }

  std::vector<std::pair<std::string, SourceStats>> Stats() const override {
    std::vector<std::pair<std::string, SourceStats>> v;
    for (int i = 0; i < static_cast<int>(Src::kCount); ++i)
      if (stats_[i].records > 0) v.emplace_back(std::string(kNames[i]), stats_[i]);
    return v;
  }

 private:
  SourceStats& Count(Src s) { return stats_[static_cast<int>(s)]; }

  // Shape detection, most specific keys first. Only cheap key probes.
  // `event_id` receives a Windows record's event id (else -1).
  static Src Detect(element root, int64_t& event_id) {
    std::string_view s;
    element e;
    event_id = -1;
    // The two Windows shapes, each probed at its own keys.
    element sys;
    const bool evtx = Lookup(root, "Event.System", sys);
    if (evtx || Lookup(root, "winlog", sys)) {
      std::string buf;
      std::string_view text;
      if ((Lookup(sys, evtx ? "EventID" : "event_id", e) ||
           (evtx && Lookup(sys, "EventID.#text", e))) &&
          ScalarText(e, buf, text))
        ParseInt(text, 10, event_id);
      const int64_t id = event_id;
      std::string_view provider;
      bool sysmon = GetString(sys, evtx ? "Provider.#attributes.Name" : "provider_name", provider) &&
                    ContainsIgnoreCase(provider, "sysmon");
      if (!sysmon && GetString(sys, evtx ? "Channel" : "channel", provider))
        sysmon = ContainsIgnoreCase(provider, "sysmon");
      if (sysmon) return Src::kSysmon;
      if (id == 4688) return Src::kWinsec;
      return Src::kCount;
    }
    if (Lookup(root, "event_simpleName", e) && Lookup(root, "aid", e)) return Src::kCrowdStrike;
    if (GetString(root, "category", s) && StartsWith(s, "AdvancedHunting-Device")) return Src::kMde;
    if (Lookup(root, "DeviceId", e) && Lookup(root, "ActionType", e)) return Src::kMde;
    if (Lookup(root, "tgt.process", e) || Lookup(root, "src.process", e) ||
        (Lookup(root, "agent.uuid", e) && Lookup(root, "event.type", e) &&
         Lookup(root, "endpoint.os", e)))
      return Src::kSentinelOne;
    if (Lookup(root, "@timestamp", e) && Lookup(root, "event", e)) return Src::kEcs;
    return Src::kCount;
  }

  static int64_t WindowsEventId(element root) {
    element e;
    int64_t id = -1;
    std::string buf;
    std::string_view text;
    if ((Lookup(root, "winlog.event_id", e) || Lookup(root, "Event.System.EventID", e) ||
         Lookup(root, "Event.System.EventID.#text", e)) &&
        ScalarText(e, buf, text))
      ParseInt(text, 10, id);
    return id;
  }

  static const Shape& WindowsShape(element root) {
    element e;
    return Lookup(root, "Event.System", e) ? kEvtxJson : kWinlogbeat;
  }

  absl::Status Dispatch(Src src, element root, Event& out) {
    switch (src) {
      case Src::kEcs:
        if (!root.is_object()) return absl::InvalidArgumentError("ECS record is not an object");
        PassThrough(root, out);
        Count(src).passed_through++;
        return absl::OkStatus();
      case Src::kSysmon:
        return Sysmon(root, out);
      case Src::kWinsec:
        return Winsec(root, out);
      case Src::kCrowdStrike:
        return CrowdStrike(root, out);
      case Src::kMde:
        return Mde(root, out);
      case Src::kSentinelOne:
        return SentinelOne(root, out);
      default:
        return absl::InternalError("bad source");
    }
  }

  static void PassThrough(element root, Event& out) {
    simdjson::dom::object obj;
    if (root.get_object().get(obj) != simdjson::SUCCESS) return;
    // A flat dotted key becomes a path, as Elasticsearch reads "a.b" keys.
    for (auto field : obj) out.Set(field.key, ToValue(field.value));
  }

  absl::Status Sysmon(element root, Event& out) {
    const Shape& shape = WindowsShape(root);
    int64_t id = WindowsEventId(root);
    if (id == 1) {
      Apply(sources::kSysmonProcess, shape, root, out);
      Count(Src::kSysmon).normalized++;
      return absl::OkStatus();
    }
    auto it = std::find_if(std::begin(sources::kSysmonOther), std::end(sources::kSysmonOther),
                           [&](const auto& p) { return p.event_id == id; });
    if (it == std::end(sources::kSysmonOther))
      return absl::InvalidArgumentError(
          fmt::format("Sysmon record without a known event id: {}", id));
    PassThrough(root, out);
    static constexpr Rule kCommon[] = {
        {"$UtcTime", "@timestamp", Op::kTime},
        {"%computer", "host.name", Op::kCopy},
        {"", "host.os.type", Op::kConst, "windows"},
    };
    Apply(kCommon, shape, root, out);
    out.Set("event.category", Event::Value::Array({Event::Value(it->category)}));
    out.Set("event.type", Event::Value::Array({Event::Value(it->type)}));
    out.Set("event.code", std::to_string(id));
    Count(Src::kSysmon).passed_through++;
    return absl::OkStatus();
  }

  absl::Status Winsec(element root, Event& out) {
    const Shape& shape = WindowsShape(root);
    if (WindowsEventId(root) != 4688) {
      // Other Security events: kept, marked as such, never silently dropped.
      PassThrough(root, out);
      Apply(std::span<const Rule>(sources::kWinsecProcess, 3), shape, root, out);
      Count(Src::kWinsec).passed_through++;
      return absl::OkStatus();
    }
    Apply(sources::kWinsecProcess, shape, root, out);
    // Surrogate entity ids: host|pid|start. The parent's id is the one this
    // normalizer gave it when its own 4688 was seen; else host|ppid|0.
    std::string host = TextAt(out, "host.name");
    // Copied out: out.Set() below may move the values Find() points at.
    std::optional<int64_t> pid, ppid;
    if (const Event::Value* v = out.Find("process.pid")) pid = v->integer;
    if (const Event::Value* v = out.Find("process.parent.pid")) ppid = v->integer;
    std::string start = TextAt(out, "@timestamp");
    auto& pids = HostPids(host);
    if (pid) {
      std::string id = fmt::format("{}|{}|{}", host, *pid, start);
      out.Set("process.entity_id", id);
      if (pids.size() >= kMaxPidsPerHost) pids.clear();  // bound: forget the oldest epoch
      pids[*pid] = std::move(id);
    }
    if (ppid) {
      auto it = pids.find(*ppid);
      out.Set("process.parent.entity_id",
              it != pids.end() ? it->second : fmt::format("{}|{}|0", host, *ppid));
    }
    Count(Src::kWinsec).normalized++;
    return absl::OkStatus();
  }

  absl::flat_hash_map<int64_t, std::string>& HostPids(const std::string& host) {
    if (pid_map_.size() >= kMaxHosts && !pid_map_.contains(host)) pid_map_.clear();
    return pid_map_[host];
  }

  static std::string TextAt(const Event& ev, std::string_view path) {
    const Event::Value* v = ev.Find(path);
    return v != nullptr && v->kind == Event::Value::Kind::kString ? v->text : std::string();
  }

  absl::Status CrowdStrike(element root, Event& out) {
    std::string_view name;
    GetString(root, "event_simpleName", name);
    if (name != "ProcessRollup2" && name != "SyntheticProcessRollup2") {
      PassThrough(root, out);
      static constexpr Rule kCommon[] = {
          {"timestamp", "@timestamp", Op::kTime},
          {"aid", "host.id", Op::kCopy},
          {"event_platform", "host.os.type", Op::kPlatform},
          {"event_simpleName", "event.action", Op::kCopy},
      };
      Apply(kCommon, kRoot, root, out);
      // Category from the event name family, so network/file records are
      // still dispatched (EndOfProcess, NetworkConnectIP4, *FileWritten...).
      std::string_view cat = Contains(name, "Network") || Contains(name, "Dns") ? "network"
                             : Contains(name, "File")                           ? "file"
                             : Contains(name, "Process")                        ? "process"
                             : Contains(name, "Reg")                            ? "registry"
                                                                                : "";
      if (!cat.empty()) out.Set("event.category", Event::Value::Array({Event::Value(cat)}));
      Count(Src::kCrowdStrike).passed_through++;
      return absl::OkStatus();
    }
    Apply(sources::kCrowdStrikeProcess, kRoot, root, out);
    Count(Src::kCrowdStrike).normalized++;
    return absl::OkStatus();
  }

  absl::Status Mde(element root, Event& out) {
    std::string_view category;
    const Shape& shape = GetString(root, "category", category) ? kEventHub : kRoot;
    std::string_view action;
    GetString(root, &shape == &kEventHub ? "properties.ActionType" : "ActionType", action);
    bool process_table = category.empty() || category == "AdvancedHunting-DeviceProcessEvents";
    if (!process_table || !EqualsIgnoreCase(action, "ProcessCreated")) {
      PassThrough(root, out);
      static constexpr Rule kCommon[] = {
          {"$Timestamp", "@timestamp", Op::kTime},
          {"$DeviceId", "host.id", Op::kCopy},
          {"$DeviceName", "host.name", Op::kCopy},
          {"$ActionType", "event.action", Op::kLower},
      };
      Apply(kCommon, shape, root, out);
      std::string_view cat = Contains(category, "Network")                       ? "network"
                             : Contains(category, "File")                        ? "file"
                             : Contains(category, "Registry")                    ? "registry"
                             : Contains(category, "Process") || category.empty() ? "process"
                                                                                 : "";
      if (!cat.empty()) out.Set("event.category", Event::Value::Array({Event::Value(cat)}));
      Count(Src::kMde).passed_through++;
      return absl::OkStatus();
    }
    Apply(sources::kMdeProcess, shape, root, out);
    // Surrogates host|pid|creation-time: the parent's is built from the
    // Initiating* columns, which equal the parent's own ProcessId and
    // ProcessCreationTime, so child and parent agree without state.
    std::string_view host = TextView(out, "host.id");
    auto surrogate = [&](std::string_view pid_field, std::string_view time_field) {
      element e;
      std::string buf;
      std::string_view pid;
      int64_t ms = 0;
      std::string_view t;
      if (!Lookup(root, fmt::format("{}.{}", shape.data_root, pid_field), e) &&
          !Lookup(root, pid_field, e))
        return std::string();
      if (!ScalarText(e, buf, pid)) return std::string();
      std::string pid_text(pid);
      if (GetString(root, fmt::format("{}.{}", shape.data_root, time_field), t) ||
          GetString(root, time_field, t))
        ParseTimestamp(t, ms);
      return fmt::format("{}|{}|{}", host, pid_text, ms);
    };
    if (std::string id = surrogate("ProcessId", "ProcessCreationTime"); !id.empty())
      out.Set("process.entity_id", id);
    if (std::string id = surrogate("InitiatingProcessId", "InitiatingProcessCreationTime");
        !id.empty())
      out.Set("process.parent.entity_id", id);
    Count(Src::kMde).normalized++;
    return absl::OkStatus();
  }

  static std::string_view TextView(const Event& ev, std::string_view path) {
    const Event::Value* v = ev.Find(path);
    return v != nullptr && v->kind == Event::Value::Kind::kString ? std::string_view(v->text)
                                                                  : std::string_view();
  }

  absl::Status SentinelOne(element root, Event& out) {
    std::string_view type;
    GetString(root, "event.type", type);
    if (!EqualsIgnoreCase(type, "Process Creation")) {
      PassThrough(root, out);
      static constexpr Rule kCommon[] = {
          {"event.time", "@timestamp", Op::kTime},
          {"agent.uuid", "host.id", Op::kCopy},
          {"endpoint.os", "host.os.type", Op::kLower},
      };
      Apply(kCommon, kRoot, root, out);
      std::string_view cat = ContainsIgnoreCase(type, "file") ? "file"
                             : ContainsIgnoreCase(type, "ip") || ContainsIgnoreCase(type, "dns")
                                 ? "network"
                             : ContainsIgnoreCase(type, "registry") ? "registry"
                             : ContainsIgnoreCase(type, "process")  ? "process"
                                                                    : "";
      if (!cat.empty()) out.Set("event.category", Event::Value::Array({Event::Value(cat)}));
      Count(Src::kSentinelOne).passed_through++;
      return absl::OkStatus();
    }
    Apply(sources::kSentinelOneProcess, kRoot, root, out);
    Count(Src::kSentinelOne).normalized++;
    return absl::OkStatus();
  }

  // The interpreter proper. Fallback rules (kBasenameIfUnset) run last.
  void Apply(std::span<const Rule> rules, const Shape& shape, element root, Event& out) {
    for (int pass = 0; pass < 2; ++pass)
      for (const Rule& r : rules)
        if ((r.op == Op::kBasenameIfUnset) == (pass == 1)) ApplyOne(r, shape, root, out);
  }

  void ApplyOne(const Rule& r, const Shape& shape, element root, Event& out) {
    {
      if (r.op == Op::kConst) {
        out.Set(r.to, r.arg);
        return;
      }
      if (r.op == Op::kConstArray) {
        out.Set(r.to, Event::Value::Array({Event::Value(r.arg)}));
        return;
      }
      if (r.op == Op::kBasenameIfUnset && out.Find(r.to) != nullptr) return;
      element e;
      bool found;
      if (r.from == "%computer") {
        found = !shape.computer.empty() && Lookup(root, shape.computer, e);
      } else if (r.from == "%time") {
        found = &shape == &kEvtxJson
                    ? Lookup(root, "Event.System.TimeCreated.#attributes.SystemTime", e)
                    : Lookup(root, "@timestamp", e);
      } else if (!r.from.empty() && r.from[0] == '$') {
        element data;
        found = Lookup(root, shape.data_root, data) && Lookup(data, r.from.substr(1), e);
      } else {
        found = Lookup(root, r.from, e);
      }
      if (!found || e.is_null()) return;
      std::string_view text;
      if (!ScalarText(e, buf_, text)) return;
      switch (r.op) {
        case Op::kCopy:
          if (e.is_string())
            out.Set(r.to, text);
          else
            out.Set(r.to, ToValue(e));
          break;
        case Op::kString:
          out.Set(r.to, text);
          break;
        case Op::kInt:
        case Op::kHexInt: {
          int64_t v;
          if (e.is_int64())
            out.Set(r.to, e.get_int64().value_unsafe());
          else if (ParseInt(text, r.op == Op::kHexInt ? 16 : 10, v))
            out.Set(r.to, v);
          break;
        }
        case Op::kBasename:
        case Op::kBasenameIfUnset:
          out.Set(r.to, Basename(text));
          break;
        case Op::kArgs: {
          Event::Value arr = Event::Value::Array();
          ForEachWindowsArg(text, arg_, [&](std::string_view a) { arr.items.emplace_back(a); });
          out.Set(r.to, std::move(arr));
          break;
        }
        case Op::kTime: {
          int64_t ms;
          char iso[32];
          if (ParseTimestamp(text, ms)) out.Set(r.to, FormatIso(ms, iso));
          break;
        }
        case Op::kLower:
          out.Set(r.to, Lower(text));
          break;
        case Op::kPlatform: {
          std::string low = Lower(text);
          out.Set(r.to, low == "win"   ? "windows"
                        : low == "lin" ? "linux"
                        : low == "mac" ? "macos"
                                       : low);
          break;
        }
        case Op::kUserName: {
          size_t cut = text.rfind('\\');
          out.Set(r.to, cut == std::string_view::npos ? text : text.substr(cut + 1));
          break;
        }
        case Op::kUserDomain: {
          size_t cut = text.rfind('\\');
          if (cut != std::string_view::npos) out.Set(r.to, text.substr(0, cut));
          break;
        }
        case Op::kWindowsIfPath:
          if (LooksWindowsPath(text)) out.Set(r.to, "windows");
          break;
        case Op::kConst:
        case Op::kConstArray:
          break;
      }
    }
  }

  // ---- The fast path: a table compiled against the engine's fields.

  struct FastRule {
    const Rule* rule;
    io::FieldId id;
  };
  struct Plan {
    bool usable = false;  // every rule the engine needs writes one plain field
    std::vector<FastRule> consts;     // constants
    std::vector<FastRule> absolute;   // %computer, %time and paths outside the data root
    std::vector<FastRule> fallbacks;  // kBasenameIfUnset, applied last
    // Rules reading one member of the data root, by member name.
    absl::flat_hash_map<std::string, std::vector<uint32_t>> by_key;
    std::vector<FastRule> keyed;   // indexed by by_key's entries
    std::vector<std::string> keys;  // keyed[i]'s member name
    int64_t original = -1;          // event.original's field, when read
  };

  // The plan of one table and shape; computed once (an engine's fields do
  // not change once events flow).
  const Plan& PlanFor(std::span<const Rule> table, const Shape& shape,
                      const io::FieldRegistry& fields) {
    auto key = std::make_pair(static_cast<const void*>(table.data()),
                              static_cast<const void*>(&shape));
    auto it = plans_.find(key);
    if (it != plans_.end() && plans_fields_ == &fields) return it->second;
    if (plans_fields_ != &fields) {
      plans_.clear();
      plans_fields_ = &fields;
    }
    Plan plan;
    plan.usable = true;
    for (const Rule& r : table) {
      // Which field the rule writes, if the engine reads it. A target that
      // is a prefix of a field, or that lies under one, needs the Event.
      auto info = fields.Lookup(r.to);
      bool under_field = false;
      for (size_t dot = r.to.find('.'); dot != std::string_view::npos; dot = r.to.find('.', dot + 1))
        if (auto p = fields.Lookup(r.to.substr(0, dot)); p && p->field >= 0) under_field = true;
      if (under_field || (info && info->is_prefix)) {
        plan.usable = false;
        continue;
      }
      if (!info || info->field < 0) continue;  // not read by any rule
      FastRule fr{&r, static_cast<io::FieldId>(info->field)};
      std::string_view rel;
      bool relative = false;
      if (r.op == Op::kConst || r.op == Op::kConstArray) {
        plan.consts.push_back(fr);
        continue;
      }
      if (r.op == Op::kBasenameIfUnset) {
        plan.fallbacks.push_back(fr);
        continue;
      }
      if (!r.from.empty() && r.from[0] == '$') {
        rel = r.from.substr(1);
        relative = true;
      } else if (!r.from.empty() && r.from[0] != '%' && shape.data_root.empty()) {
        rel = r.from;
        relative = true;
      }
      if (!relative) {
        plan.absolute.push_back(fr);
        continue;
      }
      plan.by_key[std::string(rel)].push_back(static_cast<uint32_t>(plan.keyed.size()));
      plan.keyed.push_back(fr);
      plan.keys.emplace_back(rel);
    }
    if (auto info = fields.Lookup("event.original"); info && info->field >= 0)
      plan.original = info->field;
    return plans_.insert_or_assign(key, std::move(plan)).first->second;
  }

  absl::Status ApplyFast(const Plan& plan, const Shape& shape, element root, io::Record& out) {
    for (const FastRule& fr : plan.consts) {
      if (fr.rule->op == Op::kConstArray) out.MarkPresent(fr.id);
      AddText(fr.id, fr.rule->arg, out);
    }
    for (const FastRule& fr : plan.absolute) {
      element e;
      const Rule& r = *fr.rule;
      bool found = r.from == "%computer" ? !shape.computer.empty() && Lookup(root, shape.computer, e)
                   : r.from == "%time"
                       ? (&shape == &kEvtxJson
                              ? Lookup(root, "Event.System.TimeCreated.#attributes.SystemTime", e)
                              : Lookup(root, "@timestamp", e))
                   : r.from[0] == '$' ? false
                                      : Lookup(root, r.from, e);
      if (found) ApplyValue(r, fr.id, e, out);
    }
    element data;
    const bool have_data = Lookup(root, shape.data_root, data);
    seen_.assign(plan.keyed.size(), 0);
    simdjson::dom::object obj;
    if (have_data && data.get_object().get(obj) == simdjson::SUCCESS) {
      for (auto field : obj) {
        auto it = plan.by_key.find(absl::string_view(field.key.data(), field.key.size()));
        if (it == plan.by_key.end()) continue;
        for (uint32_t k : it->second) {
          seen_[k] = 1;
          ApplyValue(*plan.keyed[k].rule, plan.keyed[k].id, field.value, out);
        }
      }
      // Dotted names not met as flat keys: nested or mixed forms.
      for (size_t k = 0; k < plan.keyed.size(); ++k) {
        if (seen_[k] || plan.keys[k].find('.') == std::string::npos) continue;
        element e;
        if (Lookup(data, plan.keys[k], e)) ApplyValue(*plan.keyed[k].rule, plan.keyed[k].id, e, out);
      }
    }
    for (const FastRule& fr : plan.fallbacks) {
      if (out.Present(fr.id) || !have_data) continue;
      element e;
      if (Lookup(data, fr.rule->from[0] == '$' ? fr.rule->from.substr(1) : fr.rule->from, e)) ApplyValue(*fr.rule, fr.id, e, out);
    }
    if (values_ > limits_.max_values)
      return absl::ResourceExhaustedError(
          fmt::format("record gives more than {} values to the fields the rules read "
                      "(max_event_values)",
                      limits_.max_values));
    return absl::OkStatus();
  }

  void AddText(io::FieldId id, std::string_view s, io::Record& out) {
    ++values_;
    // As the JSON projector does: cut and count, except the fields that
    // order events (a cut timestamp is another time).
    if (s.size() > limits_.max_string_bytes &&
        (limits_.uncut_fields == nullptr ||
         std::find(limits_.uncut_fields->begin(), limits_.uncut_fields->end(), id) ==
             limits_.uncut_fields->end())) {
      s = io::JsonProjector::CutUtf8(s, limits_.max_string_bytes);
      if (limits_.strings_truncated != nullptr) ++*limits_.strings_truncated;
    }
    out.AddString(id, s);
  }

  // One rule's op on one value, into the record (ApplyOne's twin).
  void ApplyValue(const Rule& r, io::FieldId id, element e, io::Record& out) {
    if (e.is_null()) return;
    std::string_view text;
    if (!ScalarText(e, buf_, text)) return;
    switch (r.op) {
      case Op::kCopy:
        if (e.is_string()) {
          AddText(id, text, out);
        } else {
          ++values_;
          switch (e.type()) {
            case simdjson::dom::element_type::INT64:
              out.AddInt(id, e.get_int64().value_unsafe());
              break;
            case simdjson::dom::element_type::UINT64:
              out.AddDouble(id, static_cast<double>(e.get_uint64().value_unsafe()));
              break;
            case simdjson::dom::element_type::DOUBLE:
              out.AddDouble(id, e.get_double().value_unsafe());
              break;
            default:
              break;
          }
        }
        break;
      case Op::kString:
        AddText(id, text, out);
        break;
      case Op::kInt:
      case Op::kHexInt: {
        int64_t v;
        if (e.is_int64()) {
          ++values_;
          out.AddInt(id, e.get_int64().value_unsafe());
        } else if (ParseInt(text, r.op == Op::kHexInt ? 16 : 10, v)) {
          ++values_;
          out.AddInt(id, v);
        }
        break;
      }
      case Op::kBasename:
      case Op::kBasenameIfUnset:
        AddText(id, Basename(text), out);
        break;
      case Op::kArgs:
        out.MarkPresent(id);
        ForEachWindowsArg(text, arg_, [&](std::string_view a) { AddText(id, a, out); });
        break;
      case Op::kTime: {
        int64_t ms;
        char iso[32];
        if (ParseTimestamp(text, ms)) AddText(id, FormatIso(ms, iso), out);
        break;
      }
      case Op::kLower:
        AddText(id, Lower(text), out);
        break;
      case Op::kPlatform: {
        std::string low = Lower(text);
        AddText(id,
                low == "win"   ? "windows"
                : low == "lin" ? "linux"
                : low == "mac" ? "macos"
                               : std::string_view(low),
                out);
        break;
      }
      case Op::kUserName: {
        size_t cut = text.rfind('\\');
        AddText(id, cut == std::string_view::npos ? text : text.substr(cut + 1), out);
        break;
      }
      case Op::kUserDomain: {
        size_t cut = text.rfind('\\');
        if (cut != std::string_view::npos) AddText(id, text.substr(0, cut), out);
        break;
      }
      case Op::kWindowsIfPath:
        if (LooksWindowsPath(text)) AddText(id, "windows", out);
        break;
      case Op::kConst:
      case Op::kConstArray:
        break;
    }
  }

  struct PairHash {
    size_t operator()(const std::pair<const void*, const void*>& p) const {
      return std::hash<const void*>()(p.first) * 31 + std::hash<const void*>()(p.second);
    }
  };
  std::unordered_map<std::pair<const void*, const void*>, Plan, PairHash> plans_;
  const io::FieldRegistry* plans_fields_ = nullptr;
  std::vector<uint8_t> seen_;
  uint64_t values_ = 0;
  ProjectLimits limits_;
  element last_root_;
  bool last_projected_ = false;

  Src mode_;
  Src last_ = Src::kCount;
  simdjson::dom::parser parser_;
  std::string buf_;
  std::string arg_;  // one argument of a command line being split
  std::array<SourceStats, static_cast<int>(Src::kCount)> stats_{};
  absl::flat_hash_map<std::string, absl::flat_hash_map<int64_t, std::string>> pid_map_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SourceNormalizer>> SourceNormalizer::Create(
    std::string_view source_name) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == source_name) return std::make_unique<Normalizer>(static_cast<Src>(i));
  return absl::InvalidArgumentError(
      fmt::format("unknown source '{}' (ecs, sysmon, winsec, crowdstrike, mde, sentinelone, auto)",
                  source_name));
}

std::vector<std::string> SourceNormalizer::Names() {
  return std::vector<std::string>(kNames.begin(), kNames.end());
}

std::vector<std::string> SourceNormalizer::SplitWindowsCommandLine(std::string_view s) {
  std::vector<std::string> args;
  std::string scratch;
  ForEachWindowsArg(s, scratch, [&](std::string_view a) { args.emplace_back(a); });
  return args;
}

bool SourceNormalizer::ParseTimestamp(std::string_view t, int64_t& millis) {
  t = Strip(t);
  if (t.empty()) return false;
  // Epoch number.
  if (std::all_of(t.begin(), t.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; })) {
    size_t dot = t.find('.');
    int64_t whole;
    if (!ParseInt(t.substr(0, dot), 10, whole)) return false;
    if (dot == std::string_view::npos && whole >= 100000000000LL) {
      millis = whole;
      return true;
    }
    int64_t frac = 0;
    if (dot != std::string_view::npos) {
      std::string_view f = t.substr(dot + 1, 3);
      for (size_t k = 0; k < 3; ++k) frac = frac * 10 + (k < f.size() ? f[k] - '0' : 0);
    }
    millis = whole * 1000 + frac;
    return true;
  }
  // YYYY-MM-DD[T ]hh:mm:ss[.f+][Z|+hh:mm|-hh:mm]
  auto num = [&](size_t pos, size_t len, int64_t& v) {
    return pos + len <= t.size() && ParseInt(t.substr(pos, len), 10, v);
  };
  int64_t y, mo, d, h, mi, se;
  if (t.size() < 19 || !num(0, 4, y) || t[4] != '-' || !num(5, 2, mo) || t[7] != '-' ||
      !num(8, 2, d) || (t[10] != 'T' && t[10] != ' ') || !num(11, 2, h) || t[13] != ':' ||
      !num(14, 2, mi) || t[16] != ':' || !num(17, 2, se))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return false;
  size_t i = 19;
  int64_t ms = 0;
  if (i < t.size() && t[i] == '.') {
    ++i;
    int k = 0;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) {
      if (k < 3) ms = ms * 10 + (t[i] - '0');
      ++k, ++i;
    }
    if (k == 0) return false;
    for (; k < 3; ++k) ms *= 10;
  }
  int64_t offset_min = 0;
  if (i < t.size()) {
    if (t[i] == 'Z' || t[i] == 'z') {
      ++i;
    } else if (t[i] == '+' || t[i] == '-') {
      int sign = t[i] == '-' ? -1 : 1;
      int64_t oh, om = 0;
      if (!num(i + 1, 2, oh)) return false;
      size_t j = i + 3;
      if (j < t.size() && t[j] == ':') ++j;
      if (j < t.size() && !num(j, 2, om)) return false;
      j += j < t.size() ? 2 : 0;
      offset_min = sign * (oh * 60 + om);
      i = j;
    }
    if (i != t.size()) return false;
  }
  int64_t days = io::DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  millis = ((days * 24 + h) * 60 + mi) * 60000 + se * 1000 + ms - offset_min * 60000;
  return true;
}

}  // namespace eql
