// The interpreter of the mapping tables (tables.hpp): detects a record's source
// and shape, then applies that source's rules. One simdjson DOM parser per
// normalizer is reused, so a record is parsed once and, after warm-up, the
// only allocations are the output Event's (plus the 4688 pid map). The
// engine's direct path (NormalizeInto) writes the fields its rules read
// straight into a projected record instead.
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
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

// The sources whose process.entity_id / process.parent.entity_id are
// surrogates made in code rather than mapped by their table (docs/sources.md).
enum class Surrogates : unsigned char { kNone, kWinsec, kMde };
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

// What kInt / kHexInt make of a scalar: a JSON integer as it is, else its
// text (`text`, from ScalarText) in decimal, or in hex after "0x".
bool ToInt(element e, std::string_view text, bool hex, int64_t& v) {
  if (e.is_int64()) {
    v = e.get_int64().value_unsafe();
    return true;
  }
  // A hex pid's usual text, "0x1eb8" (at most 15 digits: no overflow), read
  // at once; ParseInt() reads it the same.
  if (hex && text.size() > 2 && text.size() <= 17 && text[0] == '0' &&
      (text[1] == 'x' || text[1] == 'X')) {
    int64_t r = 0;
    size_t i = 2;
    for (; i < text.size(); ++i) {
      const char c = text[i];
      const int d = (c >= '0' && c <= '9')   ? c - '0'
                    : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                             : -1;
      if (d < 0) break;
      r = r * 16 + d;
    }
    if (i == text.size()) {
      v = r;
      return true;
    }
  }
  return ParseInt(text, hex ? 16 : 10, v);
}

// Appends `v` in decimal (as fmt's "{}" writes it).
void AppendInt(std::string& out, int64_t v) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
  out.append(digits, end);
}

// The text after the last '\\' or '/' (find_last_of's answer, without its
// call per character).
std::string_view Basename(std::string_view path) {
  // The last '\\', then a '/' after it (memrchr: no loop per character).
  size_t from = 0;
  if (const void* b = memrchr(path.data(), '\\', path.size()))
    from = static_cast<size_t>(static_cast<const char*>(b) - path.data()) + 1;
  if (const void* f = memrchr(path.data() + from, '/', path.size() - from))
    from = static_cast<size_t>(static_cast<const char*>(f) - path.data()) + 1;
  return path.substr(from);
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
    int len = std::snprintf(
        buf, sizeof buf, "%lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(y),
        m, d, static_cast<long long>(rem / 3600000), static_cast<long long>(rem / 60000 % 60),
        static_cast<long long>(rem / 1000 % 60), static_cast<long long>(rem % 1000));
    return std::string_view(buf, static_cast<size_t>(std::max(len, 0)));
  }
  // Two digits at a time, from a table (a division by 10 per digit cost
  // more than the rest of the function).
  static constexpr auto kPairs = [] {
    std::array<char, 200> pairs{};
    for (int i = 0; i < 100; ++i) {
      pairs[2 * i] = static_cast<char>('0' + i / 10);
      pairs[2 * i + 1] = static_cast<char>('0' + i % 10);
    }
    return pairs;
  }();
  auto put2 = [&](int pos, unsigned v) {
    buf[pos] = kPairs[2 * v];
    buf[pos + 1] = kPairs[2 * v + 1];
  };
  const auto day_ms = static_cast<unsigned>(rem);  // below 86,400,000
  put2(0, static_cast<unsigned>(y) / 100);
  put2(2, static_cast<unsigned>(y) % 100);
  buf[4] = '-';
  put2(5, m);
  buf[7] = '-';
  put2(8, d);
  buf[10] = 'T';
  put2(11, day_ms / 3600000);
  buf[13] = ':';
  put2(14, day_ms / 60000 % 60);
  buf[16] = ':';
  put2(17, day_ms / 1000 % 60);
  buf[19] = '.';
  buf[20] = static_cast<char>('0' + day_ms % 1000 / 100);
  put2(21, day_ms % 100);
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
    // The first space, then a tab before it (memchr: no loop per character).
    const void* space = std::memchr(s.data(), ' ', n);
    i = space != nullptr ? static_cast<size_t>(static_cast<const char*>(space) - s.data()) : n;
    if (const void* tab = std::memchr(s.data(), '\t', i))
      i = static_cast<size_t>(static_cast<const char*>(tab) - s.data());
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

// The pid map's table allocator: a table of several MiB (a hundred thousand
// pids and more) is put on transparent huge pages where the kernel gives
// them on request, since its entries are read at random places (fewer TLB
// misses; and a pass of bench_normalize over 269,081 4688s took 1,100 page
// faults more than the ECS pass instead of 8,500).
template <class T>
struct PidTableAllocator {
  using value_type = T;
  static constexpr size_t kHuge = size_t{2} << 20;

  PidTableAllocator() = default;
  template <class U>
  PidTableAllocator(const PidTableAllocator<U>&) {}  // NOLINT: rebinding

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < 2 * kHuge) return std::allocator<T>().allocate(n);
    void* p = std::aligned_alloc(kHuge, (bytes + kHuge - 1) / kHuge * kHuge);
    if (p == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    madvise(p, (bytes + kHuge - 1) / kHuge * kHuge, MADV_HUGEPAGE);
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < 2 * kHuge)
      std::allocator<T>().deallocate(p, n);
    else
      std::free(p);
  }
  friend bool operator==(const PidTableAllocator&, const PidTableAllocator&) { return true; }
};

// 4688's pid map: by host and pid, the start of the last process seen with
// that pid (none when its record had no readable time). One table for every
// host, keyed by the host's index and the pid. A record's two entries (its
// pid, its parent's) lie at random places of it, and waiting for them in
// turn cost more time than all else a 4688 adds to an ECS event; with one
// table both can be fetched ahead (Prefetch()) as soon as the host's index
// and the pids are known, where a table per host first needed the host's
// table itself from memory. A host over its bound forgets its pids at once
// by moving to a new epoch, which is part of the key; the entries of older
// epochs are swept when they outnumber the rest.
class PidMap {
 public:
  // The index of the host `name`, made when new; all hosts are forgotten
  // first when there are kMaxHosts already.
  uint32_t Host(std::string_view name) {
    auto it = index_.find(absl::string_view(name.data(), name.size()));
    if (it != index_.end()) return it->second;
    if (hosts_.size() >= kMaxHosts) {
      index_.clear();
      hosts_.clear();
      pids_.clear();
      stale_ = 0;
    }
    // Sized once for a stream's first few thousand pids (about 130 KiB),
    // so that a small map is never rehashed.
    if (pids_.capacity() == 0) pids_.reserve(kInitialPids);
    const auto host = static_cast<uint32_t>(hosts_.size());
    hosts_.push_back({std::string(name)});
    index_.emplace(hosts_.back().name, host);
    return host;
  }

  // Starts fetching the memory that Put() or Find() of `pid` will read.
  void Prefetch(uint32_t host, int64_t pid) const { pids_.prefetch(KeyOf(host, pid)); }
  // The same for Host(name).
  void PrefetchHost(std::string_view name) const {
    index_.prefetch(absl::string_view(name.data(), name.size()));
  }

  // The start recorded for `pid` on `host`, null when none is.
  const std::optional<int64_t>* Find(uint32_t host, int64_t pid) const {
    auto it = pids_.find(KeyOf(host, pid));
    return it == pids_.end() ? nullptr : &it->second;
  }

  // Records `start` for `pid` on `host`. `bounded`: a host that has
  // kMaxPidsPerHost pids forgets them first (LoadState() takes a saved
  // host's pids as they are).
  void Put(uint32_t host, int64_t pid, std::optional<int64_t> start, bool bounded = true) {
    HostState& h = hosts_[host];
    if (bounded && h.live >= kMaxPidsPerHost) {
      // The host's pids, forgotten: an older epoch's keys are never found.
      stale_ += h.live;
      h.live = 0;
      ++h.epoch;
      if (stale_ > pids_.size() / 2) Sweep();
    }
    auto [it, inserted] = pids_.try_emplace(KeyOf(host, pid), start);
    if (inserted)
      ++h.live;
    else
      it->second = start;
  }

  bool empty() const { return hosts_.empty(); }
  size_t hosts() const { return hosts_.size(); }

  // Every host in the order it was first seen, with its pids in increasing
  // order (what SaveState() writes; a map loaded from it saves the same).
  template <class F>
  void ForEachHost(F&& f) const {
    std::vector<std::vector<std::pair<int64_t, std::optional<int64_t>>>> by_host(hosts_.size());
    for (const auto& [key, start] : pids_)
      if (Live(key)) by_host[key.host].emplace_back(key.pid, start);
    for (size_t i = 0; i < hosts_.size(); ++i) {
      std::sort(by_host[i].begin(), by_host[i].end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      f(std::string_view(hosts_[i].name), std::span(std::as_const(by_host[i])));
    }
  }

 private:
  static constexpr size_t kInitialPids = 4096;

  struct Key {
    int64_t pid;
    uint32_t host;
    uint32_t epoch;
    bool operator==(const Key&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.pid, k.host, k.epoch);
    }
  };
  struct HostState {
    std::string name;
    size_t live = 0;  // pids of the current epoch
    uint32_t epoch = 0;
  };

  Key KeyOf(uint32_t host, int64_t pid) const { return {pid, host, hosts_[host].epoch}; }
  bool Live(const Key& k) const { return k.epoch == hosts_[k.host].epoch; }

  void Sweep() {
    absl::erase_if(pids_, [&](const auto& entry) { return !Live(entry.first); });
    stale_ = 0;
  }

  absl::flat_hash_map<std::string, uint32_t> index_;  // host name -> index into hosts_
  std::vector<HostState> hosts_;
  absl::flat_hash_map<Key, std::optional<int64_t>, absl::Hash<Key>, std::equal_to<Key>,
                      PidTableAllocator<std::pair<const Key, std::optional<int64_t>>>>
      pids_;
  size_t stale_ = 0;  // entries of older epochs still in pids_
};

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
    Surrogates surrogates = Surrogates::kNone;
    WinlogFields winlog;
    const WinlogFields* found = nullptr;
    if ((src == Src::kSysmon || src == Src::kWinsec) && FindWinlogFields(root, winlog))
      found = &winlog;
    // WindowsEventId() and WindowsShape(), from what the walk found.
    auto windows_event_id = [&] {
      return found && found->has_event_id ? EventIdOf(found->event_id) : WindowsEventId(root);
    };
    auto windows_shape = [&]() -> const Shape& { return found ? kWinlogbeat : WindowsShape(root); };
    if (src == Src::kSysmon && (mode_ == Src::kAuto ? event_id : windows_event_id()) == 1) {
      rules = sources::kSysmonProcess;
      shape = &windows_shape();
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
    } else if (src == Src::kWinsec && windows_event_id() == 4688) {
      // Winsec() reads the id this way, not as Detect() does: the same
      // records take the table on both paths.
      rules = sources::kWinsecProcess;
      shape = &windows_shape();
      table = &rules;
      surrogates = Surrogates::kWinsec;
    } else if (src == Src::kMde) {
      std::string_view category;
      bool process_start = false;
      shape = &MdeShape(root, category, process_start);
      if (process_start) {
        rules = sources::kMdeProcess;
        table = &rules;
        surrogates = Surrogates::kMde;
      }
    }
    const Plan* plan = table != nullptr ? &PlanFor(*table, *shape, surrogates, fields) : nullptr;
    if (plan == nullptr || !plan->usable) {
      // Stateful or other records: the whole event, from the same parse.
      event = Event();
      return WholeEvent(src, root, event);
    }
    record.Clear(fields.size());
    values_ = 0;
    limits_ = limits;
    absl::Status s = ApplyFast(*plan, *shape, root, found, record);
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
    if (last_ == Src::kWinsec) {
      // The ids as NormalizeInto() gave them: Winsec() again would update
      // the pid map a second time for the same record.
      Apply(sources::kWinsecProcess, WindowsShape(last_root_), last_root_, out);
      WinsecIdText();
      SetSurrogates(out);
      return;
    }
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

  bool stateful() const override { return mode_ == Src::kWinsec || mode_ == Src::kAuto; }

  // The pid map as: hosts, then per host its name, its pids, and per pid the
  // pid and the start (a flag, then the time); integers as zigzag varints,
  // as runtime/snapshot.hpp writes them (that codec is a later stage's, so
  // this stage spells out its own few lines).
  std::string SaveState() const override {
    std::string out;
    auto put = [&](int64_t v) {
      uint64_t u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
      while (u >= 0x80) {
        out.push_back(static_cast<char>((u & 0x7f) | 0x80));
        u >>= 7;
      }
      out.push_back(static_cast<char>(u));
    };
    if (pid_map_.empty()) return out;
    put(static_cast<int64_t>(pid_map_.hosts()));
    pid_map_.ForEachHost([&](std::string_view host, auto pids) {
      put(static_cast<int64_t>(host.size()));
      out += host;
      put(static_cast<int64_t>(pids.size()));
      for (const auto& [pid, start] : pids) {
        put(pid);
        put(start ? 1 : 0);
        if (start) put(*start);
      }
    });
    return out;
  }

  absl::Status LoadState(std::string_view state) override {
    size_t at = 0;
    bool ok = true;
    auto get = [&]() -> int64_t {
      uint64_t u = 0;
      for (int shift = 0; ok; shift += 7) {
        if (at >= state.size() || shift > 63) {
          ok = false;
          break;
        }
        const uint8_t b = static_cast<uint8_t>(state[at++]);
        u |= static_cast<uint64_t>(b & 0x7f) << shift;
        if ((b & 0x80) == 0) break;
      }
      return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
    };
    // A count must fit in what is left (each item takes a byte at least).
    auto count = [&](int64_t n) { return n >= 0 && static_cast<uint64_t>(n) <= state.size() - at; };
    PidMap map;
    if (!state.empty()) {
      const int64_t hosts = get();
      ok = ok && count(hosts) && static_cast<uint64_t>(hosts) <= kMaxHosts;
      for (int64_t h = 0; ok && h < hosts; ++h) {
        const int64_t length = get();
        if (!ok || !count(length)) {
          ok = false;
          break;
        }
        const uint32_t host = map.Host(state.substr(at, static_cast<size_t>(length)));
        at += static_cast<size_t>(length);
        const int64_t n = get();
        ok = ok && count(n) && static_cast<uint64_t>(n) <= kMaxPidsPerHost;
        for (int64_t i = 0; ok && i < n; ++i) {
          const int64_t pid = get();
          const int64_t has_start = get();
          ok = ok && (has_start == 0 || has_start == 1);
          std::optional<int64_t> start;
          if (ok && has_start == 1) start = get();
          if (ok) map.Put(host, pid, start, /*bounded=*/false);
        }
      }
      ok = ok && at == state.size();
    }
    if (!ok || (!state.empty() && !stateful())) {
      return absl::InvalidArgumentError("the normalizer's saved state is corrupt");
    }
    pid_map_ = std::move(map);
    return absl::OkStatus();
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
      if (Lookup(sys, evtx ? "EventID" : "event_id", e) ||
          (evtx && Lookup(sys, "EventID.#text", e)))
        event_id = EventIdOf(e);
      const int64_t id = event_id;
      std::string_view provider;
      bool sysmon =
          GetString(sys, evtx ? "Provider.#attributes.Name" : "provider_name", provider) &&
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
    if (Lookup(root, "winlog.event_id", e) || Lookup(root, "Event.System.EventID", e) ||
        Lookup(root, "Event.System.EventID.#text", e))
      return EventIdOf(e);
    return -1;
  }

  // A Windows event id: its scalar's text read in decimal (a JSON integer
  // at once, as its text would read); -1 when there is none.
  static int64_t EventIdOf(element e) {
    if (e.is_int64()) {
      const int64_t v = e.get_int64().value_unsafe();
      return v >= 0 ? v : -1;  // "-5" is no decimal number to ParseInt
    }
    std::string buf;
    std::string_view text;
    int64_t id = -1;
    if (ScalarText(e, buf, text)) ParseInt(text, 10, id);
    return id;
  }

  static const Shape& WindowsShape(element root) {
    element e;
    return Lookup(root, "Event.System", e) ? kEvtxJson : kWinlogbeat;
  }

  // The fields of a winlogbeat record that the Windows tables read through
  // its shape (winlog.event_id, winlog.computer_name, winlog.event_data,
  // @timestamp), as Lookup() finds them; `has_*` false when it finds none.
  struct WinlogFields {
    element event_id, computer, data, time;
    bool has_event_id = false, has_computer = false, has_data = false, has_time = false;
  };

  // The direct path's way to them: one walk over the root's members and
  // one over `winlog`'s, instead of a Lookup() each (which tries the flat
  // dotted key at the root first, then walks down from the root again).
  // False, and the path looks them up as before, when the root is no
  // object or has a key that Lookup() would try first ("winlog.*") or that
  // may make it an EVTX record ("Event", "Event.System"); otherwise the
  // shape is winlogbeat's and the first member of each name is Lookup()'s.
  static bool FindWinlogFields(element root, WinlogFields& f) {
    simdjson::dom::object obj;
    if (root.get_object().get(obj) != simdjson::SUCCESS) return false;
    element winlog;
    bool has_winlog = false;
    for (auto field : obj) {
      const std::string_view key(field.key.data(), field.key.size());
      if (key == "winlog") {
        if (!has_winlog) winlog = field.value;
        has_winlog = true;
      } else if (key == "@timestamp") {
        if (!f.has_time) f.time = field.value;
        f.has_time = true;
      } else if (key == "Event" || key == "Event.System" || StartsWith(key, "winlog.")) {
        return false;
      }
    }
    simdjson::dom::object sys;
    if (!has_winlog || winlog.get_object().get(sys) != simdjson::SUCCESS) return true;
    for (auto field : sys) {
      const std::string_view key(field.key.data(), field.key.size());
      auto take = [&](element& e, bool& has) {
        if (!has) e = field.value;
        has = true;
      };
      if (key == "event_id")
        take(f.event_id, f.has_event_id);
      else if (key == "computer_name")
        take(f.computer, f.has_computer);
      else if (key == "event_data")
        take(f.data, f.has_data);
    }
    return true;
  }

  // ShapeField(), from `found` when it is given (winlogbeat's fields).
  static bool ShapeFieldOf(std::string_view name, const Shape& shape, element root,
                           const WinlogFields* found, element& e) {
    if (found == nullptr) return ShapeField(name, shape, root, e);
    if (name == "%computer") {
      e = found->computer;
      return found->has_computer;
    }
    if (name == "%time") {
      e = found->time;
      return found->has_time;
    }
    return false;
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
    // The surrogate ids from the mapped host and pids, and the time that
    // @timestamp was made from.
    std::optional<int64_t> pid, ppid;
    if (const Event::Value* v = out.Find("process.pid")) pid = v->integer;
    if (const Event::Value* v = out.Find("process.parent.pid")) ppid = v->integer;
    const std::string_view host = TextView(out, "host.name");
    WinsecIds(pid_map_.Host(host), host, pid, ppid, WinsecStart(shape, root),
              TextView(out, "@timestamp"));
    WinsecIdText();
    SetSurrogates(out);
    Count(Src::kWinsec).normalized++;
    return absl::OkStatus();
  }

  // A 4688's start, the time its @timestamp is made from (kTime of
  // %time); none when missing or unreadable.
  std::optional<int64_t> WinsecStart(const Shape& shape, element root,
                                     const WinlogFields* found = nullptr) {
    element e;
    std::string_view text;
    int64_t ms;
    if (ShapeFieldOf("%time", shape, root, found, e) && ScalarText(e, id_buf_, text) &&
        ParseTimestamp(text, ms))
      return ms;
    return std::nullopt;
  }

  // 4688's surrogate entity ids: host|pid|start for the process (start:
  // `start_iso`, @timestamp's text, "" when there is none); for its parent,
  // the id this normalizer gave the parent when the parent's own 4688 was
  // seen, else host|ppid|0. Records the process in the pid map (`h` is
  // pid_map_.Host(host)) and keeps what the ids are made of: WinsecIdText()
  // writes them into ids_ when they are read (the map cannot wait, the text
  // can). Both paths call it with what the table maps (host.name,
  // process.pid, process.parent.pid; "" for a host that is no string);
  // `host` must stay valid until then.
  void WinsecIds(uint32_t h, std::string_view host, std::optional<int64_t> pid,
                 std::optional<int64_t> ppid, std::optional<int64_t> start,
                 std::string_view start_iso) {
    has_id_[0] = pid.has_value();
    has_id_[1] = ppid.has_value();
    WinsecParts& w = winsec_;
    w.host = host;
    w.pid = pid.value_or(0);
    w.ppid = ppid.value_or(0);
    w.start_iso.assign(start_iso);
    w.parent = WinsecParts::kUnknown;
    w.text_pending = true;
    if (pid) pid_map_.Put(h, *pid, start);
    if (ppid) {
      if (const std::optional<int64_t>* parent_start = pid_map_.Find(h, *ppid)) {
        w.parent = *parent_start ? WinsecParts::kStart : WinsecParts::kNoStart;
        w.parent_start = parent_start->value_or(0);
      }
    }
  }

  // The ids WinsecIds() kept, as text into ids_ (once per record).
  void WinsecIdText() {
    WinsecParts& w = winsec_;
    if (!w.text_pending) return;
    w.text_pending = false;
    // host|pid|start, written in place; the map keeps the start only (host
    // and pid are its keys), which gives the same text back.
    auto id = [&](std::string& out, int64_t p, std::string_view tail) {
      out.resize(w.host.size() + tail.size() + 24);
      char* at = std::copy(w.host.begin(), w.host.end(), out.data());
      *at++ = '|';
      at = std::to_chars(at, at + 20, p).ptr;
      *at++ = '|';
      at = std::copy(tail.begin(), tail.end(), at);
      out.resize(static_cast<size_t>(at - out.data()));
    };
    if (has_id_[0]) id(ids_[0], w.pid, w.start_iso);
    if (has_id_[1]) {
      char iso[32];
      id(ids_[1], w.ppid,
         w.parent == WinsecParts::kUnknown ? std::string_view("0")
         : w.parent == WinsecParts::kStart ? FormatIso(w.parent_start, iso)
                                           : std::string_view());
    }
  }

  // The ids WinsecIds() or MdeId() left, into the event (after the table's
  // fields, where both paths' events have them).
  void SetSurrogates(Event& out) const {
    if (has_id_[0]) out.Set("process.entity_id", ids_[0]);
    if (has_id_[1]) out.Set("process.parent.entity_id", ids_[1]);
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

  // A Defender XDR record's shape (Event Hub when it has a string
  // `category`), its table's name ("" for an Advanced Hunting row), and
  // whether it is a process start: a ProcessCreated row of
  // DeviceProcessEvents, the only kind mapped field by field.
  static const Shape& MdeShape(element root, std::string_view& category, bool& process_start) {
    const Shape& shape = GetString(root, "category", category) ? kEventHub : kRoot;
    std::string_view action;
    GetString(root, &shape == &kEventHub ? "properties.ActionType" : "ActionType", action);
    process_start = (category.empty() || category == "AdvancedHunting-DeviceProcessEvents") &&
                    EqualsIgnoreCase(action, "ProcessCreated");
    return shape;
  }

  absl::Status Mde(element root, Event& out) {
    std::string_view category;
    bool process_start = false;
    const Shape& shape = MdeShape(root, category, process_start);
    if (!process_start) {
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
    // host.id is DeviceId when that is a string.
    const std::string_view host = TextView(out, "host.id");
    for (int k = 0; k < 2; ++k) {
      element pid;
      std::string_view time;
      const bool have_pid = MdeSurrogateMember(root, shape, kMdeIdMembers[k][0], pid);
      if (!MdeSurrogateTime(root, shape, kMdeIdMembers[k][1], time)) time = {};
      has_id_[k] = have_pid && MdeId(host, pid, time, ids_[k]);
    }
    SetSurrogates(out);
    Count(Src::kMde).normalized++;
    return absl::OkStatus();
  }

  // Defender XDR's surrogates are host|pid|creation-time: the parent's is
  // built from the Initiating* columns, which equal the parent's own
  // ProcessId and ProcessCreationTime, so child and parent agree without
  // state. Members {pid, time} of process.entity_id, then of the parent's.
  static constexpr std::string_view kMdeIdMembers[2][2] = {
      {"ProcessId", "ProcessCreationTime"},
      {"InitiatingProcessId", "InitiatingProcessCreationTime"}};

  // Where the reference reads a surrogate's pid: "<data root>.<member>"
  // (which a flat key of that name at the record root also answers), else
  // the member at the record root.
  bool MdeSurrogateMember(element root, const Shape& shape, std::string_view member, element& e) {
    return Lookup(root, DataPath(shape, member), e) || Lookup(root, member, e);
  }
  // The same for a creation time, which counts only as a string.
  bool MdeSurrogateTime(element root, const Shape& shape, std::string_view member,
                        std::string_view& t) {
    return GetString(root, DataPath(shape, member), t) || GetString(root, member, t);
  }
  // "<data root>.<member>" (".member" for the row shape, whose lookup then
  // falls through to the root member), in path_buf_.
  std::string_view DataPath(const Shape& shape, std::string_view member) {
    path_buf_.assign(shape.data_root);
    path_buf_ += '.';
    path_buf_ += member;
    return path_buf_;
  }

  // One Defender XDR surrogate, host|pid|creation time (epoch ms, 0 when
  // missing or unreadable), into `out`; false when the pid is no scalar.
  bool MdeId(std::string_view host, element pid, std::string_view time, std::string& out) {
    std::string_view pid_text;
    if (!ScalarText(pid, id_buf_, pid_text)) return false;
    int64_t ms = 0;
    if (!time.empty()) ParseTimestamp(time, ms);
    out.assign(host);
    out += '|';
    out += pid_text;
    out += '|';
    AppendInt(out, ms);
    return true;
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

  // A shape's own field: "%computer" (its host name) or "%time" (the
  // record's time for shapes without one in the data root).
  static bool ShapeField(std::string_view name, const Shape& shape, element root, element& e) {
    if (name == "%computer") return !shape.computer.empty() && Lookup(root, shape.computer, e);
    if (name == "%time")
      return &shape == &kEvtxJson
                 ? Lookup(root, "Event.System.TimeCreated.#attributes.SystemTime", e)
                 : Lookup(root, "@timestamp", e);
    return false;
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
      if (!r.from.empty() && r.from[0] == '%') {
        found = ShapeField(r.from, shape, root, e);
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
          if (ToInt(e, text, r.op == Op::kHexInt, v)) out.Set(r.to, v);
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
  // Data-root members a surrogate id is made from, kept (as captures_[slot])
  // when the walk meets them.
  enum Capture : int { kCapPid, kCapPidTime, kCapPpid, kCapPpidTime, kCapHost, kCaptures };
  struct CaptureMember {
    std::string_view member;
    Capture slot;
  };
  static constexpr CaptureMember kWinsecCaptures[] = {{"NewProcessId", kCapPid},
                                                      {"ProcessId", kCapPpid}};
  // kMdeIdMembers[k] go to slots 2k (pid) and 2k + 1 (time).
  static constexpr CaptureMember kMdeCaptures[] = {{kMdeIdMembers[0][0], kCapPid},
                                                   {kMdeIdMembers[0][1], kCapPidTime},
                                                   {kMdeIdMembers[1][0], kCapPpid},
                                                   {kMdeIdMembers[1][1], kCapPpidTime},
                                                   {"DeviceId", kCapHost}};

  // The rules reading one member of the data root, and the capture slot the
  // member fills (-1: none).
  struct KeyedMember {
    std::vector<uint32_t> rules;  // indexes into Plan::keyed
    int capture = -1;
  };
  static constexpr size_t kFewKeys = 16;
  static constexpr size_t kFewBuckets = 64;  // a power of two

  // FindMember()'s bucket for a member name: a hash of its length and its
  // first and last characters, which tell the names of a table apart.
  static size_t FewBucket(std::string_view key) {
    if (key.empty()) return 0;
    return (key.size() * 31 + static_cast<unsigned char>(key.front()) +
            static_cast<unsigned char>(key.back()) * 5) &
           (kFewBuckets - 1);
  }

  struct Plan {
    bool usable = false;              // every rule the engine needs writes one plain field
    std::vector<FastRule> consts;     // constants
    std::vector<FastRule> absolute;   // %computer, %time and paths outside the data root
    std::vector<FastRule> fallbacks;  // kBasenameIfUnset, applied last
    // The data root's members the plan reads, by member name; while they
    // are few, also in a small table by FewBucket(), searched instead: most
    // members of a record are read by no rule and meet an empty bucket, the
    // others one comparison, where hashing every member cost more.
    absl::flat_hash_map<std::string, KeyedMember> by_key;
    std::vector<std::pair<std::string_view, const KeyedMember*>> few;
    std::array<uint8_t, kFewBuckets> few_head{};  // bucket -> 1 + index into few (0: none)
    std::vector<uint8_t> few_next;                // few[i]'s next in its bucket, likewise
    std::vector<FastRule> keyed;                  // indexed by by_key's entries
    std::vector<std::string> keys;                // keyed[i]'s member name
    int64_t original = -1;                        // event.original's field, when read
    // Surrogate ids to make (kNone also for Defender XDR when no rule reads
    // them: they need no state), and their fields (-1: not read).
    Surrogates surrogates = Surrogates::kNone;
    int64_t entity_id = -1;
    int64_t parent_entity_id = -1;
    // 4688's %computer and %time rules, when read: applied with the
    // surrogates, which need the same values.
    std::optional<FastRule> host_rule, time_rule;
  };

  // The plan of one table and shape; computed once (an engine's fields do
  // not change once events flow).
  const Plan& PlanFor(std::span<const Rule> table, const Shape& shape, Surrogates surrogates,
                      const io::FieldRegistry& fields) {
    auto key =
        std::make_pair(static_cast<const void*>(table.data()), static_cast<const void*>(&shape));
    auto it = plans_.find(key);
    if (it != plans_.end() && plans_fields_ == &fields) return it->second;
    if (plans_fields_ != &fields) {
      plans_.clear();
      plans_fields_ = &fields;
    }
    Plan plan;
    plan.usable = true;
    // Which field a target is, if the engine reads it (else -1); false when
    // the target is a prefix of a field, or lies under one: that needs the
    // Event.
    auto target = [&](std::string_view to, int64_t& field) {
      for (size_t dot = to.find('.'); dot != std::string_view::npos; dot = to.find('.', dot + 1))
        if (auto p = fields.Lookup(to.substr(0, dot)); p && p->field >= 0) return false;
      auto info = fields.Lookup(to);
      if (info && info->is_prefix) return false;
      field = info ? info->field : -1;
      return true;
    };
    for (const Rule& r : table) {
      int64_t field = -1;
      if (!target(r.to, field)) {
        plan.usable = false;
        continue;
      }
      if (field < 0) continue;  // not read by any rule
      FastRule fr{&r, static_cast<io::FieldId>(field)};
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
      plan.by_key[std::string(rel)].rules.push_back(static_cast<uint32_t>(plan.keyed.size()));
      plan.keyed.push_back(fr);
      plan.keys.emplace_back(rel);
    }
    if (auto info = fields.Lookup("event.original"); info && info->field >= 0)
      plan.original = info->field;
    if (surrogates != Surrogates::kNone) {
      if (!target("process.entity_id", plan.entity_id) ||
          !target("process.parent.entity_id", plan.parent_entity_id))
        plan.usable = false;
      plan.surrogates =
          surrogates == Surrogates::kMde && plan.entity_id < 0 && plan.parent_entity_id < 0
              ? Surrogates::kNone
              : surrogates;
      std::span<const CaptureMember> captures;
      if (plan.surrogates == Surrogates::kWinsec) {
        captures = kWinsecCaptures;
        std::erase_if(plan.absolute, [&](const FastRule& fr) {
          const Rule& r = *fr.rule;
          if (r.from == "%computer" && r.op == Op::kCopy && !plan.host_rule)
            plan.host_rule = fr;
          else if (r.from == "%time" && r.op == Op::kTime && !plan.time_rule)
            plan.time_rule = fr;
          else
            return false;
          return true;
        });
      }
      if (plan.surrogates == Surrogates::kMde) captures = kMdeCaptures;
      for (const CaptureMember& c : captures) plan.by_key[std::string(c.member)].capture = c.slot;
    }
    Plan& stored = plans_.insert_or_assign(key, std::move(plan)).first->second;
    if (stored.by_key.size() <= kFewKeys) {
      for (const auto& [name, member] : stored.by_key) {
        uint8_t& head = stored.few_head[FewBucket(name)];
        stored.few_next.push_back(head);
        stored.few.emplace_back(name, &member);
        head = static_cast<uint8_t>(stored.few.size());
      }
    }
    return stored;
  }

  static const KeyedMember* FindMember(const Plan& plan, std::string_view key) {
    if (plan.by_key.size() <= kFewKeys) {
      for (uint8_t i = plan.few_head[FewBucket(key)]; i != 0; i = plan.few_next[i - 1]) {
        const std::string_view name = plan.few[i - 1].first;
        if (name.size() == key.size() && std::memcmp(name.data(), key.data(), key.size()) == 0)
          return plan.few[i - 1].second;
      }
      return nullptr;
    }
    auto it = plan.by_key.find(absl::string_view(key.data(), key.size()));
    return it == plan.by_key.end() ? nullptr : &it->second;
  }

  // `found`: a winlogbeat record's shape fields, when FindWinlogFields()
  // found them.
  absl::Status ApplyFast(const Plan& plan, const Shape& shape, element root,
                         const WinlogFields* found, io::Record& out) {
    for (const FastRule& fr : plan.consts) {
      if (fr.rule->op == Op::kConstArray) out.MarkPresent(fr.id);
      AddText(fr.id, fr.rule->arg, out);
    }
    for (const FastRule& fr : plan.absolute) {
      element e;
      const Rule& r = *fr.rule;
      const bool have = r.from[0] == '%'   ? ShapeFieldOf(r.from, shape, root, found, e)
                        : r.from[0] == '$' ? false
                                           : Lookup(root, r.from, e);
      if (have) ApplyValue(r, fr.id, e, out);
    }
    element data;
    bool have_data;
    if (found) {
      data = found->data;
      have_data = found->has_data;
    } else {
      have_data = Lookup(root, shape.data_root, data);
    }
    const bool winsec = plan.surrogates == Surrogates::kWinsec;
    if (winsec) WinsecHost(shape, root, found);
    seen_.assign(plan.keyed.size(), 0);
    captured_ = 0;
    odd_keys_ = false;
    simdjson::dom::object obj;
    if (have_data && data.get_object().get(obj) == simdjson::SUCCESS) {
      for (auto field : obj) {
        const KeyedMember* member = FindMember(plan, field.key);
        if (member == nullptr) {
          // A key that Defender XDR's row-shape surrogate lookups would see
          // before the member itself ("", ".ProcessId").
          if (field.key.empty() || field.key[0] == '.') odd_keys_ = true;
          continue;
        }
        // The first of duplicate members, as at_key() finds it.
        if (const int c = member->capture; c >= 0 && !(captured_ & (1u << c))) {
          captures_[c] = field.value;
          captured_ |= 1u << c;
          if (winsec) WinsecPid(c, field.value);
        }
        for (uint32_t k : member->rules) {
          if (seen_[k]) continue;  // a duplicate member: the first counts, as at_key() finds it
          seen_[k] = 1;
          ApplyValue(*plan.keyed[k].rule, plan.keyed[k].id, field.value, out);
        }
      }
      // Dotted names not met as flat keys: nested or mixed forms.
      for (size_t k = 0; k < plan.keyed.size(); ++k) {
        if (seen_[k] || plan.keys[k].find('.') == std::string::npos) continue;
        element e;
        if (Lookup(data, plan.keys[k], e))
          ApplyValue(*plan.keyed[k].rule, plan.keyed[k].id, e, out);
      }
    }
    for (const FastRule& fr : plan.fallbacks) {
      if (out.Present(fr.id) || !have_data) continue;
      element e;
      if (Lookup(data, fr.rule->from[0] == '$' ? fr.rule->from.substr(1) : fr.rule->from, e))
        ApplyValue(*fr.rule, fr.id, e, out);
    }
    if (plan.surrogates != Surrogates::kNone) FastSurrogates(plan, shape, root, found, out);
    if (values_ > limits_.max_values)
      return absl::ResourceExhaustedError(
          fmt::format("record gives more than {} values to the fields the rules read "
                      "(max_event_values)",
                      limits_.max_values));
    return absl::OkStatus();
  }

  // The surrogate ids on the direct path: the values Winsec() / Mde() make,
  // from the members the walk captured instead of the Event. 4688's are made
  // (and the pid map updated) even when no rule reads them, since later
  // records' parent ids depend on the map.
  void FastSurrogates(const Plan& plan, const Shape& shape, element root, const WinlogFields* found,
                      io::Record& out) {
    auto captured = [&](int slot) { return (captured_ & (1u << slot)) != 0; };
    if (plan.surrogates == Surrogates::kWinsec) {
      // What the table maps to host.name (a string), @timestamp (kTime),
      // process.pid and process.parent.pid (kHexInt). host.name and
      // @timestamp are written here when read, from the same lookups.
      WinsecRecord& w = winsec_record_;
      if (w.has_host_element && plan.host_rule)
        ApplyValue(*plan.host_rule->rule, plan.host_rule->id, w.host_element, out);
      const uint32_t host_index = w.host_index ? *w.host_index : pid_map_.Host(w.host);
      const std::optional<int64_t> start = WinsecStart(shape, root, found);
      char iso[32];
      const std::string_view start_iso = start ? FormatIso(*start, iso) : std::string_view();
      if (start && plan.time_rule) AddText(plan.time_rule->id, start_iso, out);
      WinsecIds(host_index, w.host, w.pids[0], w.pids[1], start, start_iso);
      if (plan.entity_id >= 0 || plan.parent_entity_id >= 0) WinsecIdText();
    } else {
      // host.id is DeviceId when that is a string.
      std::string_view host;
      if (captured(kCapHost) && captures_[kCapHost].is_string())
        host = captures_[kCapHost].get_string().value_unsafe();
      // The members met in the data root are what Mde() reads unless a key
      // it looks up first exists; then it is asked itself.
      const bool odd = odd_keys_ || FlatKeyUnder(root, shape.data_root);
      for (int k = 0; k < 2; ++k) {
        const int pid_slot = 2 * k, time_slot = 2 * k + 1;
        element pid;
        bool have_pid = true;
        if (odd || !captured(pid_slot))
          have_pid = MdeSurrogateMember(root, shape, kMdeIdMembers[k][0], pid);
        else
          pid = captures_[pid_slot];
        std::string_view time;
        if (!odd && captured(time_slot) && captures_[time_slot].is_string())
          time = captures_[time_slot].get_string().value_unsafe();
        else if (!MdeSurrogateTime(root, shape, kMdeIdMembers[k][1], time))
          time = {};
        has_id_[k] = have_pid && MdeId(host, pid, time, ids_[k]);
      }
    }
    if (plan.entity_id >= 0 && has_id_[0])
      AddText(static_cast<io::FieldId>(plan.entity_id), ids_[0], out);
    if (plan.parent_entity_id >= 0 && has_id_[1])
      AddText(static_cast<io::FieldId>(plan.parent_entity_id), ids_[1], out);
  }

  // 4688 on the direct path, before the walk over the data root: the host
  // name (what the table maps to host.name, a string), whose entry in the
  // pid map is fetched now. The walk then reads the pids as it meets them
  // and fetches their entries (WinsecPid()), so that FastSurrogates() finds
  // them in the cache (the map's entries lie at random places, one record's
  // far from the next's: PidMap).
  void WinsecHost(const Shape& shape, element root, const WinlogFields* found) {
    WinsecRecord& w = winsec_record_;
    w = WinsecRecord();
    if (ShapeFieldOf("%computer", shape, root, found, w.host_element)) {
      w.has_host_element = true;
      if (w.host_element.is_string()) w.host = w.host_element.get_string().value_unsafe();
    }
    pid_map_.PrefetchHost(w.host);
  }

  // A pid member met by the walk (capture slot kCapPid or kCapPpid): what
  // the table maps to process.pid or process.parent.pid (kHexInt).
  void WinsecPid(int slot, element value) {
    if (slot != kCapPid && slot != kCapPpid) return;
    WinsecRecord& w = winsec_record_;
    if (!w.host_index) w.host_index = pid_map_.Host(w.host);
    int64_t v;
    std::string_view digits;
    if (ScalarText(value, id_buf_, digits) && ToInt(value, digits, /*hex=*/true, v)) {
      w.pids[slot == kCapPid ? 0 : 1] = v;
      pid_map_.Prefetch(*w.host_index, v);
    }
  }

  // Whether the record root has a flat key "<data root>.<...>", which
  // Lookup() prefers to the member of the data root object.
  static bool FlatKeyUnder(element root, std::string_view data_root) {
    if (data_root.empty()) return false;
    simdjson::dom::object obj;
    if (root.get_object().get(obj) != simdjson::SUCCESS) return false;
    for (auto field : obj) {
      std::string_view key(field.key.data(), field.key.size());
      if (key.size() > data_root.size() && key[data_root.size()] == '.' &&
          StartsWith(key, data_root))
        return true;
    }
    return false;
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
        if (ToInt(e, text, r.op == Op::kHexInt, v)) {
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
  std::array<element, kCaptures> captures_;  // by Capture slot, valid per captured_
  // A 4688's host and pids on the direct path (WinsecHost(), WinsecPid()).
  struct WinsecRecord {
    element host_element;
    bool has_host_element = false;
    std::string_view host;                       // "" when it is no string
    std::optional<uint32_t> host_index;          // pid_map_.Host(host), once asked
    std::array<std::optional<int64_t>, 2> pids;  // process, parent
  } winsec_record_;
  uint32_t captured_ = 0;
  bool odd_keys_ = false;  // the data root has a key "" or ".*"
  uint64_t values_ = 0;
  ProjectLimits limits_;
  element last_root_;
  bool last_projected_ = false;

  Src mode_;
  Src last_ = Src::kCount;
  simdjson::dom::parser parser_;
  std::string buf_;
  std::string arg_;       // one argument of a command line being split
  std::string path_buf_;  // a lookup path being built
  std::string id_buf_;    // a surrogate's pid as text
  // The last record's surrogate entity ids (process, parent) and whether
  // each was made.
  std::array<std::string, 2> ids_;
  std::array<bool, 2> has_id_{};
  std::array<SourceStats, static_cast<int>(Src::kCount)> stats_{};
  PidMap pid_map_;  // 4688
  // What the last 4688's ids are made of (WinsecIds()), and whether ids_
  // still wants their text.
  struct WinsecParts {
    std::string_view host;
    int64_t pid = 0, ppid = 0;
    std::string start_iso;
    enum { kUnknown, kNoStart, kStart } parent = kUnknown;  // the parent in the pid map
    int64_t parent_start = 0;
    bool text_pending = false;
  } winsec_;
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
  // The usual forms, "YYYY-MM-DD[T ]hh:mm:ss[.fff][Z]", read at once; the
  // general reading below gives them the same value.
  {
    const size_t n = t.size();
    const size_t end = n >= 23 && t[19] == '.' ? 23 : 19;
    // The digits' places; the last three are the fraction's.
    static constexpr uint8_t kDigitAt[] = {0,  1,  2,  3,  5,  6,  8,  9, 11,
                                           12, 14, 15, 17, 18, 20, 21, 22};
    bool usual = n >= 19 && (n == end || (n == end + 1 && (t[end] == 'Z' || t[end] == 'z'))) &&
                 t[4] == '-' && t[7] == '-' && (t[10] == 'T' || t[10] == ' ') && t[13] == ':' &&
                 t[16] == ':';
    for (size_t k = 0; usual && k < (end == 23 ? 17 : 14); ++k)
      usual = static_cast<unsigned char>(t[kDigitAt[k]] - '0') <= 9;
    if (usual) {
      auto v = [&](size_t k) { return static_cast<int64_t>(t[k] - '0'); };
      const int64_t y = v(0) * 1000 + v(1) * 100 + v(2) * 10 + v(3), mo = v(5) * 10 + v(6),
                    d = v(8) * 10 + v(9), h = v(11) * 10 + v(12), mi = v(14) * 10 + v(15),
                    se = v(17) * 10 + v(18), ms = end == 23 ? v(20) * 100 + v(21) * 10 + v(22) : 0;
      if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return false;
      const int64_t days =
          io::DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
      millis = ((days * 24 + h) * 60 + mi) * 60000 + se * 1000 + ms;
      return true;
    }
  }
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
    if (pos + len > t.size()) return false;
    // Plain digits, the usual case, read at once; anything else as ParseInt
    // reads it (it also allows spaces around the digits).
    int64_t r = 0;
    for (size_t k = pos; k < pos + len; ++k) {
      if (t[k] < '0' || t[k] > '9') return ParseInt(t.substr(pos, len), 10, v);
      r = r * 10 + (t[k] - '0');
    }
    v = r;
    return true;
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
