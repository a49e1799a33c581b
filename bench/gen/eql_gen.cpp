// eql-gen: a deterministic generator of realistic ECS event streams for the
// benchmarks and the large tests.
//
//   eql-gen [--events N] [--hosts H] [--seed S] [--attacks A] [--disorder MS]
//           [--mix seed|wide]
//
// Writes N NDJSON events to standard output: process starts on Linux and
// Windows hosts forming process trees (shells, git, python, compilers, node
// and npm installs with their children), plus network and file events. It
// injects A of each attack the seed rules look for, and as many near misses
// (a child 10.5 s after `npm install`, `INSTALL` in capitals, a child on
// another host, node.exe outside AppData, ...). The expected alert counts are
// printed on standard error as JSON so a test or benchmark can check them.
// --disorder MS shuffles the output within a window of MS milliseconds (the
// arrival order of a real stream), keeping @timestamp as generated.
// --mix wide draws the background from what a rule pack such as
// elastic/detection-rules reads: process, network, file, registry, dns and
// authentication events on Windows, Linux and macOS hosts, with a wide pool
// of process names, paths and actions (the default, seed, is the narrower
// Linux/Windows process mix the seed rules were benchmarked on).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "fmt/format.h"

namespace {

struct Options {
  uint64_t events = 1'000'000;
  uint64_t hosts = 5'000;
  uint64_t seed = 42;
  uint64_t attacks = 100;
  int64_t disorder_ms = 0;
  bool wide = false;
};

// 2026-11-02T00:00:00Z
constexpr int64_t kStartMs = 1793577600000;

std::string IsoTime(int64_t ms) {
  int64_t secs = ms / 1000;
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
  int64_t z = days + 719468;
  int64_t era = z / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", y, m, d, rem / 3600,
                     rem / 60 % 60, rem % 60, ms % 1000);
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

struct Event {
  int64_t ts;
  uint64_t order;
  std::string json;
  bool operator>(const Event& o) const { return ts != o.ts ? ts > o.ts : order > o.order; }
};

class Generator {
 public:
  explicit Generator(const Options& o) : opt_(o), rng_(o.seed) {}

  void Run() {
    // Spread the attacks and near misses evenly over the stream.
    const uint64_t specials = opt_.attacks * 2;
    const uint64_t every = specials ? std::max<uint64_t>(opt_.events / (specials * 3 + 1), 4) : 0;
    uint64_t injected_linux = 0, injected_windows = 0;
    while (emitted_ + pending_.size() < opt_.events) {
      now_ += 1 + static_cast<int64_t>(rng_() % 7);
      uint64_t n = emitted_ + pending_.size();
      if (every && n % every == 0 && (injected_linux < opt_.attacks * 2 ||
                                      injected_windows < opt_.attacks * 2)) {
        if (injected_linux <= injected_windows && injected_linux < opt_.attacks * 2) {
          InjectLinux(injected_linux++);
        } else {
          InjectWindows(injected_windows++);
        }
      } else {
        Background();
      }
      Drain(now_);
    }
    Drain(INT64_MAX);
    FlushShuffle(true);
    std::fprintf(stderr,
                 "{\"events\":%llu,\"expected_alerts\":{\"Node.js Pre or Post-Install Script "
                 "Execution\":%llu,\"Suspicious Execution with NodeJS\":%llu}}\n",
                 static_cast<unsigned long long>(emitted_),
                 static_cast<unsigned long long>(expected_sequence_),
                 static_cast<unsigned long long>(expected_windows_));
  }

 private:
  struct Host {
    std::string id;
    bool windows;
    bool mac = false;
  };

  Host PickHost() {
    uint64_t h = rng_() % opt_.hosts;
    return {fmt::format("host-{:05}", h), h % 5 < 2, opt_.wide && h % 5 == 4};
  }

  template <size_t N>
  const char* Pick(const char* const (&pool)[N]) {
    return pool[rng_() % N];
  }

  // The wide background: every category a rule pack reads, on three OSes.
  void WideBackground() {
    Host host = PickHost();
    const char* os = host.windows ? "windows" : host.mac ? "macos" : "linux";
    const std::string entity = NewEntity(host);
    const int kind = static_cast<int>(rng_() % 100);
    std::string head = fmt::format(
        "{{\"@timestamp\":\"{}\",\"host\":{{\"id\":\"{}\",\"name\":\"{}\",\"os\":{{\"type\":"
        "\"{}\"}}}},\"agent\":{{\"id\":\"agent-{}\"}},\"user\":{{\"name\":\"{}\",\"id\":\"{}\"}}",
        IsoTime(now_), host.id, host.id, os, host.id, host.windows ? "alice" : "builder",
        rng_() % 10 == 0 ? "0" : "1000");
    static const char* const kWinProcs[] = {
        "svchost.exe", "powershell.exe", "cmd.exe", "chrome.exe", "msedge.exe", "explorer.exe",
        "rundll32.exe", "regsvr32.exe", "conhost.exe", "wmiprvse.exe", "taskhostw.exe",
        "OneDrive.exe", "Teams.exe", "outlook.exe", "winword.exe", "excel.exe", "node.exe",
        "git.exe", "python.exe", "msiexec.exe", "sc.exe", "net.exe", "whoami.exe", "schtasks.exe"};
    static const char* const kLinuxProcs[] = {
        "bash", "sh", "python3", "node", "git", "make", "gcc", "ls", "cat", "grep", "awk",
        "sed", "curl", "wget", "systemctl", "sshd", "cron", "sudo", "docker", "containerd-shim",
        "apt-get", "dpkg", "java", "nginx", "tar", "find", "ps", "id", "uname", "kubectl"};
    static const char* const kMacProcs[] = {
        "zsh", "bash", "launchd", "mdworker_shared", "Safari", "Google Chrome", "osascript",
        "python3", "git", "softwareupdated", "curl", "open", "security", "codesign", "xpcproxy"};
    std::string name = host.windows ? Pick(kWinProcs) : host.mac ? Pick(kMacProcs)
                                                                 : Pick(kLinuxProcs);
    std::string dir = host.windows ? "C:\\Windows\\System32\\" : host.mac ? "/usr/bin/" : "/usr/bin/";
    std::string exe = dir + name;
    std::string process = fmt::format(
        "\"process\":{{\"entity_id\":\"{}\",\"pid\":{},\"name\":\"{}\",\"executable\":\"{}\"}}",
        entity, 1000 + rng_() % 30000, JsonEscape(name), JsonEscape(exe));
    if (kind < 40) {
      // Process start (or end).
      static const char* const kArgs[] = {"-c", "--version", "status", "install", "-e",
                                          "/tmp/build.sh", "-NoProfile", "/c", "start", "run",
                                          "--help", "-la", "config", "pull", "-q"};
      std::vector<std::string> args = {host.windows ? exe : name, Pick(kArgs)};
      if (rng_() % 2) args.push_back(Pick(kArgs));
      std::string parent = host.windows ? Pick(kWinProcs) : host.mac ? Pick(kMacProcs)
                                                                     : Pick(kLinuxProcs);
      Schedule(now_, Process(now_, host, entity, name, args, NewEntity(host), parent, exe));
      return;
    }
    if (kind < 60) {
      static const char* const kActions[] = {"connection_attempted", "connection_accepted",
                                             "disconnect_received"};
      Schedule(now_, fmt::format(
                         "{},\"event\":{{\"category\":[\"network\"],\"type\":[\"start\"],\"action\":"
                         "\"{}\"}},{},\"source\":{{\"ip\":\"10.0.{}.{}\",\"port\":{}}},\"destination\":"
                         "{{\"ip\":\"{}.{}.{}.{}\",\"port\":{}}},\"network\":{{\"transport\":\"tcp\","
                         "\"direction\":\"egress\"}}}}",
                         head, Pick(kActions), process, rng_() % 256, rng_() % 256,
                         30000 + rng_() % 30000, rng_() % 224, rng_() % 256, rng_() % 256,
                         rng_() % 256, rng_() % 4 ? 443 : 22 + rng_() % 9000));
      return;
    }
    if (kind < 80) {
      static const char* const kExt[] = {"txt", "log", "js", "py", "exe", "dll", "json", "sh",
                                         "plist", "tmp", "ps1", "conf", "so", "docx"};
      static const char* const kFileActions[] = {"creation", "modification", "deletion",
                                                 "rename", "overwrite"};
      const char* ext = Pick(kExt);
      std::string file_name = fmt::format("f{}.{}", rng_() % 100000, ext);
      std::string path = host.windows ? "C:\\Users\\alice\\AppData\\Local\\Temp\\" + file_name
                         : host.mac  ? "/Users/builder/Library/" + file_name
                                     : "/tmp/" + file_name;
      const char* action = Pick(kFileActions);
      Schedule(now_, fmt::format(
                         "{},\"event\":{{\"category\":[\"file\"],\"type\":[\"{}\"],\"action\":"
                         "\"{}\"}},{},\"file\":{{\"path\":\"{}\",\"name\":\"{}\",\"extension\":\"{}\"}}}}",
                         head, std::strcmp(action, "deletion") == 0 ? "deletion" : "change",
                         action, process, JsonEscape(path), file_name, ext));
      return;
    }
    if (kind < 88 && host.windows) {
      static const char* const kKeys[] = {
          "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
          "HKCU\\Software\\Microsoft\\Office\\16.0\\Common",
          "HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters",
          "HKCU\\Software\\Classes\\CLSID"};
      static const char* const kValues[] = {"Start", "ImagePath", "Debugger", "Version",
                                            "LastUsed", "Enabled"};
      const char* key = Pick(kKeys);
      const char* value = Pick(kValues);
      Schedule(now_, fmt::format(
                         "{},\"event\":{{\"category\":[\"registry\"],\"type\":[\"change\"],"
                         "\"action\":\"modification\"}},{},\"registry\":{{\"path\":\"{}\\\\{}\","
                         "\"key\":\"{}\",\"value\":\"{}\",\"data\":{{\"strings\":[\"{}\"]}}}}}}",
                         head, process, JsonEscape(key), value, JsonEscape(key), value,
                         rng_() % 2 ? "1" : "C:\\\\x.exe"));
      return;
    }
    if (kind < 95) {
      static const char* const kDomains[] = {"example.com", "github.com", "registry.npmjs.org",
                                             "login.microsoftonline.com", "updates.local",
                                             "pastebin.com", "api.telegram.org", "cdn.host.io"};
      Schedule(now_, fmt::format(
                         "{},\"event\":{{\"category\":[\"network\"],\"type\":[\"protocol\"],"
                         "\"action\":\"lookup_requested\"}},{},\"dns\":{{\"question\":{{\"name\":\"{}\","
                         "\"type\":\"A\"}}}},\"network\":{{\"protocol\":\"dns\"}}}}",
                         head, process, Pick(kDomains)));
      return;
    }
    static const char* const kAuthActions[] = {"logged-in", "logon-failed", "ssh_login",
                                               "user_login", "logged-out"};
    Schedule(now_, fmt::format(
                       "{},\"event\":{{\"category\":[\"authentication\"],\"type\":[\"start\"],"
                       "\"action\":\"{}\",\"outcome\":\"{}\"}},{},\"source\":{{\"ip\":\"192.0.2.{}\"}}}}",
                       head, Pick(kAuthActions), rng_() % 5 ? "success" : "failure", process,
                       rng_() % 256));
  }

  std::string NewEntity(const Host& host) { return fmt::format("{}-{}", host.id, ++entities_); }

  void Schedule(int64_t ts, std::string json) {
    pending_.push({ts, order_++, std::move(json)});
  }

  // Emits every scheduled event up to `until`, in time order.
  void Drain(int64_t until) {
    while (!pending_.empty() && pending_.top().ts <= until && emitted_ < opt_.events) {
      shuffle_.push_back(pending_.top());
      pending_.pop();
      ++emitted_;
      FlushShuffle(false);
    }
    if (emitted_ >= opt_.events) {
      while (!pending_.empty()) pending_.pop();
    }
  }

  // With --disorder, events leave in a random order within the window.
  void FlushShuffle(bool all) {
    while (!shuffle_.empty()) {
      if (!all && opt_.disorder_ms > 0 && shuffle_.back().ts - shuffle_.front().ts < opt_.disorder_ms)
        return;
      size_t pick = opt_.disorder_ms > 0 ? rng_() % std::min<size_t>(shuffle_.size(), 16) : 0;
      std::fwrite(shuffle_[pick].json.data(), 1, shuffle_[pick].json.size(), stdout);
      std::fputc('\n', stdout);
      shuffle_.erase(shuffle_.begin() + static_cast<long>(pick));
      if (!all && opt_.disorder_ms <= 0) continue;
    }
  }

  std::string Process(int64_t ts, const Host& host, const std::string& entity,
                      const std::string& name, const std::vector<std::string>& args,
                      const std::string& parent_entity, const std::string& parent_name,
                      const std::string& executable) {
    std::string args_json, command_line;
    for (const auto& a : args) {
      if (!args_json.empty()) args_json += ',';
      args_json += '"' + JsonEscape(a) + '"';
      if (!command_line.empty()) command_line += ' ';
      command_line += a;
    }
    return fmt::format(
        "{{\"@timestamp\":\"{}\",\"event\":{{\"category\":[\"process\"],\"type\":[\"start\"],"
        "\"action\":\"{}\",\"kind\":\"event\"}},\"host\":{{\"id\":\"{}\",\"name\":\"{}\","
        "\"os\":{{\"type\":\"{}\"}}}},\"process\":{{\"entity_id\":\"{}\",\"pid\":{},"
        "\"name\":\"{}\",\"executable\":\"{}\",\"args\":[{}],\"command_line\":\"{}\","
        "\"parent\":{{\"entity_id\":\"{}\",\"name\":\"{}\"}}}},\"user\":{{\"name\":\"{}\"}}}}",
        IsoTime(ts), host.windows ? "start" : "exec", host.id, host.id,
        host.windows ? "windows" : host.mac ? "macos" : "linux", entity, 1000 + entities_ % 30000,
        JsonEscape(name),
        JsonEscape(executable), args_json, JsonEscape(command_line), parent_entity,
        JsonEscape(parent_name), host.windows ? "alice" : "builder");
  }

  void Background() {
    if (opt_.wide) {
      WideBackground();
      return;
    }
    Host host = PickHost();
    int kind = static_cast<int>(rng_() % 100);
    std::string entity = NewEntity(host);
    if (kind < 25) {
      // A network connection or a file write: other categories.
      bool net = kind < 15;
      Schedule(now_, fmt::format(
                         "{{\"@timestamp\":\"{}\",\"event\":{{\"category\":[\"{}\"],\"type\":[\"{}\"]"
                         ",\"action\":\"{}\"}},\"host\":{{\"id\":\"{}\",\"os\":{{\"type\":\"{}\"}}}},"
                         "\"process\":{{\"entity_id\":\"{}\",\"name\":\"{}\"}},{}}}",
                         IsoTime(now_), net ? "network" : "file", net ? "connection" : "creation",
                         net ? "connection_attempted" : "creation", host.id,
                         host.windows ? "windows" : "linux", entity, host.windows ? "svchost.exe" : "curl",
                         net ? fmt::format("\"destination\":{{\"ip\":\"10.{}.{}.{}\",\"port\":443}}",
                                           rng_() % 256, rng_() % 256, rng_() % 256)
                             : fmt::format("\"file\":{{\"path\":\"/tmp/f{}\"}}", rng_() % 100000)));
      return;
    }
    if (host.windows) {
      static const char* kWin[][2] = {
          {"svchost.exe", "C:\\Windows\\System32\\svchost.exe"},
          {"powershell.exe", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"},
          {"node.exe", "C:\\Program Files\\nodejs\\node.exe"},
          {"chrome.exe", "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"},
          {"cmd.exe", "C:\\Windows\\System32\\cmd.exe"},
          {"git.exe", "C:\\Program Files\\Git\\cmd\\git.exe"}};
      auto& p = kWin[rng_() % 6];
      std::vector<std::string> args = {p[1]};
      if (std::strcmp(p[0], "node.exe") == 0) args.push_back("server.js");
      if (std::strcmp(p[0], "git.exe") == 0) args.push_back("status");
      Schedule(now_, Process(now_, host, entity, p[0], args, NewEntity(host), "explorer.exe", p[1]));
    } else {
      static const char* kLinux[] = {"bash", "git", "python3", "node", "make", "gcc", "ls", "sshd"};
      std::string name = kLinux[rng_() % 8];
      std::vector<std::string> args = {name};
      if (name == "node") args = {"node", "/usr/bin/npm", rng_() % 2 ? "run" : "test"};
      if (name == "git") args = {"git", "pull"};
      std::string parent = NewEntity(host);
      Schedule(now_, Process(now_, host, entity, name, args, parent, "bash", "/usr/bin/" + name));
      // Some processes have children: node's children do not follow an install.
      if (rng_() % 4 == 0) {
        const int64_t child_ts = now_ + static_cast<int64_t>(rng_() % 20000);
        Schedule(child_ts, Process(child_ts, host, NewEntity(host), "sh", {"sh", "-c", "true"},
                                   entity, name, "/bin/sh"));
      }
    }
  }

  // Even numbers: a real attack; odd numbers: a near miss of some kind.
  void InjectLinux(uint64_t n) {
    Host host = PickHost();
    host.windows = false;
    host.mac = false;
    std::string node = NewEntity(host);
    bool attack = n % 2 == 0;
    int miss = static_cast<int>((n / 2) % 3);
    std::string verb = !attack && miss == 1 ? "INSTALL" : "install";
    Schedule(now_, Process(now_, host, node, "node", {"node", "/usr/bin/npm", verb}, NewEntity(host),
                           "bash", "/usr/bin/node"));
    int64_t delay = attack ? 1 + static_cast<int64_t>(rng_() % 10000)  // within 10 s, inclusive
                           : (miss == 0 ? 10001 + static_cast<int64_t>(rng_() % 5000) : 2000);
    Host child_host = host;
    if (!attack && miss == 2) child_host.id += "-other";
    Schedule(now_ + delay, Process(now_ + delay, child_host, NewEntity(child_host), "sh",
                                   {"sh", "-c", "node setup_bun.js"}, node, "node", "/bin/sh"));
    if (attack) ++expected_sequence_;
  }

  void InjectWindows(uint64_t n) {
    Host host = PickHost();
    host.windows = true;
    host.mac = false;
    bool attack = n % 2 == 0;
    int variant = static_cast<int>((n / 2) % 3);
    std::string entity = NewEntity(host);
    if (variant == 0) {
      std::string exe = attack ? "C:\\Users\\alice\\AppData\\Roaming\\npm\\node.exe"
                               : "C:\\Program Files\\nodejs\\node.exe";
      Schedule(now_, Process(now_, host, entity, "node.exe", {exe, "C:\\Users\\alice\\x.js"},
                             NewEntity(host), "explorer.exe", exe));
    } else if (variant == 1) {
      Schedule(now_, Process(now_, host, entity, "node.exe",
                             {"node.exe", attack ? "-r" : "-v", "hook.js"}, NewEntity(host),
                             "powershell.exe", "C:\\Program Files\\nodejs\\node.exe"));
    } else {
      Schedule(now_, Process(now_, host, entity, "node.exe",
                             {"node.exe", "-e", attack ? "eval(atob('eA=='))" : "console.log(1)"},
                             NewEntity(host), "cmd.exe", "C:\\Program Files\\nodejs\\node.exe"));
    }
    if (attack) ++expected_windows_;
  }

  Options opt_;
  std::mt19937_64 rng_;
  int64_t now_ = kStartMs;
  uint64_t order_ = 0;
  uint64_t emitted_ = 0;
  uint64_t entities_ = 0;
  uint64_t expected_sequence_ = 0;
  uint64_t expected_windows_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> pending_;
  std::vector<Event> shuffle_;
};

bool ParseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") return false;
    if (i + 1 >= argc) return false;
    if (a == "--mix") {
      std::string mix = argv[++i];
      if (mix != "seed" && mix != "wide") return false;
      o.wide = mix == "wide";
      continue;
    }
    uint64_t v = std::strtoull(argv[++i], nullptr, 10);
    if (a == "--events") o.events = v;
    else if (a == "--hosts") o.hosts = std::max<uint64_t>(v, 1);
    else if (a == "--seed") o.seed = v;
    else if (a == "--attacks") o.attacks = v;
    else if (a == "--disorder") o.disorder_ms = static_cast<int64_t>(v);
    else return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseArgs(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: eql-gen [--events N] [--hosts H] [--seed S] [--attacks A] "
                 "[--disorder MS] [--mix seed|wide]\n");
    return 2;
  }
  Generator(options).Run();
  return 0;
}
