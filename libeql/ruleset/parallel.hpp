// libeql/ruleset/parallel.hpp
//
// EngineOptions::threads > 1: the rule set run on several threads without
// giving up sequence semantics.
//
// Events are partitioned by a key every partitioned rule joins on (chosen
// from the rules: the plain field that the most sequence and sample rules
// have at one `by` position in every stage, host.id on ties; or
// EngineOptions::partition_field). Each partition has its own engine state
// (a shard) owned by one thread, which sees the partition's events in their
// arrival order, so every sequence that can complete completes in its shard
// exactly as it would in one engine. Event queries without pipes run in the
// shard of the event's partition (any would do). Rules that cannot be split
// by the key (a sequence joined on other fields, or without `by`; pipes,
// whose head/tail count over the whole stream) are spread over the threads
// whole: such a rule lives in one thread's "global" shard, which sees every
// event. With no correlation rule at all, events are dealt round-robin.
//
// Work is done in chunks: the calling thread buffers events; when a chunk is
// full (or at Flush) every thread first projects its share of the chunk
// (parsing, the costly part) and computes the events' partitions, then runs
// its shards over the chunk's events in order. Alerts and the errors of
// malformed events are delivered on the calling thread after each chunk, so
// with threads an alert can come up to one chunk later than without; alerts
// of different partitions are not in event order.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "eql/engine.hpp"
#include "ruleset/shard.hpp"

namespace eql::ruleset {

class ParallelRunner {
 public:
  using AlertSink = std::function<void(Alert&&)>;
  using ErrorSink = std::function<void(uint64_t tag, const absl::Status&)>;

  //! `prototype` is the engine compiled from the same rules and options
  //! (threads aside): it tells the rules' shapes and which ones compiled.
  static absl::StatusOr<std::unique_ptr<ParallelRunner>> Create(const std::vector<Rule>& rules,
                                                                const EngineOptions& options,
                                                                const Engine& prototype);
  ~ParallelRunner();

  //! `rules` is where delivered alerts point (the prototype's rules).
  void SetSinks(const std::vector<Rule>* rules, AlertSink alerts, ErrorSink errors);

  //! Buffers one event (copied); a full chunk is run before returning.
  void Push(std::string_view json, uint64_t tag);
  //! Runs what is buffered, then flushes every shard.
  void Flush();

  // ParallelRunner::Save() / Load()
  //
  // Checkpoint: Save() first runs the buffered events (their alerts are
  // delivered), then writes every shard's state. Load() restores into a
  // runner of the same threads and partition field (events are assigned to
  // shards by hash modulo threads).
  void Save(runtime::SnapshotWriter& w);
  bool Load(runtime::SnapshotReader& r);

  //! Counters summed over the shards (each event counted once).
  EngineStats Stats() const;
  //! The partition key ("" when events are dealt round-robin).
  const std::string& partition_field() const { return partition_name_; }
  size_t global_rules() const { return global_rules_; }

 private:
  ParallelRunner() = default;
  void RunChunk();
  void RunOnAll(const std::function<void(size_t)>& job);
  void WorkerLoop(size_t worker);
  void Collect();

  struct Item {
    size_t offset = 0;
    size_t size = 0;
    uint64_t tag = 0;
  };

  size_t threads_ = 1;
  std::optional<io::FieldId> partition_field_;
  std::string partition_name_;
  size_t global_rules_ = 0;
  std::vector<std::unique_ptr<Engine>> partitioned_;  // one per thread
  std::vector<std::unique_ptr<Engine>> global_;       // one per thread, may be null
  bool reorders_ = false;
  // The source normalizer remembers earlier records (Security 4688): every
  // event is then prepared by the first shard's, in arrival order.
  bool serial_prepare_ = false;
  bool has_global_ = false;

  std::string text_;  // the chunk's events, each followed by padding
  std::vector<Item> items_;
  std::vector<PreparedEvent> prepared_;
  //! Per thread: the events of its partitions whose rules' run failed.
  std::vector<std::vector<std::pair<size_t, absl::Status>>> ingest_errors_;
  uint64_t round_robin_ = 0;

  const std::vector<Rule>* rules_ = nullptr;
  AlertSink alert_sink_;
  ErrorSink error_sink_;

  // The worker threads (the calling thread is worker 0).
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_;
  std::condition_variable done_;
  const std::function<void(size_t)>* job_ = nullptr;
  uint64_t generation_ = 0;
  size_t running_ = 0;
  bool stopping_ = false;
};

}  // namespace eql::ruleset
