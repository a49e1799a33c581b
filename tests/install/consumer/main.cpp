// A project outside libeql's tree that uses the installed package.
#include <cstdio>

#include "eql/engine.hpp"

int main() {
  auto engine = eql::Engine::Create({{.query = R"(process where process.name == "node")",
                                      .name = "node"}});
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", std::string(engine.status().message()).c_str());
    return 1;
  }
  int alerts = 0;
  (*engine)->SetAlertCallback([&](const eql::Alert& alert) {
    ++alerts;
    std::printf("%s\n", alert.ToJson().c_str());
  });
  absl::Status status = (*engine)->PushJson(
      R"({"@timestamp": 1000, "event": {"category": "process"}, "process": {"name": "node"}})");
  if (!status.ok()) return 2;
  (*engine)->Flush();
  return alerts == 1 ? 0 : 3;
}
