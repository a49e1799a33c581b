// libeql/ruleset/parallel.hpp
//
// EngineOptions::threads > 1: the rule set run on several threads without
// giving up sequence semantics.
//
// Events are partitioned by a key every partitioned rule joins on (chosen
// from the rules: the plain field that the most sequence and sample rules
// have at one `by` position in every stage, host.id on ties; or
// EngineOptions::partition_field). Each partition has its own engine state
// (a shard), run by one thread at a time, which sees the partition's events
// in their arrival order, so every sequence that can complete completes in
// its shard exactly as it would in one engine. Event queries without pipes
// are delivered by the shard of the event's partition (any would do).
// Rules that cannot be split by the key (a sequence joined on other fields,
// or without `by`; pipes, whose head/tail count over the whole stream) run
// whole in one more shard, which sees every event. With no correlation rule
// at all, events are dealt round-robin.
//
// Work is done in chunks of events, two at a time: while the calling thread
// fills one (reading the input is its part), the other threads work on the
// other, and the caller joins them when its chunk is full. A chunk is
// worked on in two steps:
//   1. Blocks of 32 events, taken by whichever thread is free: each event
//      is projected (parsing, the costly part), its partition computed, and
//      the units of every rule whose conditions it meets found (with the
//      dispatcher and leaf answers of the partitioned shard numbered as the
//      thread, which step 2 does not use), while its record is warm in that
//      core's caches. A condition depends on the event alone.
//   2. Each shard, taken by whichever thread is free, over its events in
//      arrival order: a shard gets only the units each event met and its
//      time, takes those of its own rules, runs lateness, reordering and the
//      sequences' state, and reads the record only of the few events one of
//      its units met.
// A chunk's alerts and the errors of its malformed events are delivered on
// the calling thread when the next chunk is full, or at RunChunk() (the
// engine's Drain()), Flush(), Save() or Stats(); alerts of different
// partitions are not in event order.
#pragma once

#include <atomic>
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
  //! Runs what is buffered, and delivers its alerts and errors.
  void RunChunk();
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

  //! Counters summed over the shards (each event counted once), after the
  //! chunk in flight is finished (its alerts are delivered).
  EngineStats Stats();
  //! The partition key ("" when events are dealt round-robin).
  const std::string& partition_field() const { return partition_name_; }
  size_t global_rules() const { return global_rules_; }

 private:
  ParallelRunner() = default;
  struct Item {
    size_t offset = 0;
    size_t size = 0;
    uint64_t tag = 0;
  };
  struct Chunk {
    std::string text;  // the events, each followed by padding
    std::vector<Item> items;
  };

  //! Starts the chunk being filled on the workers (after finishing the one
  //! in flight); returns at once.
  void Submit();
  //! Joins the workers on the chunk in flight, if any, and delivers its
  //! errors and alerts.
  void Finish();
  void Participate(size_t w);
  void PrepareBlock(size_t w, size_t block);
  void RunShard(size_t task);
  void Deliver();
  void Start(const std::function<void(size_t)>& job);
  void Join(const std::function<void(size_t)>& job);
  void RunOnAll(const std::function<void(size_t)>& job);
  void WorkerLoop(size_t worker);
  void Collect();

  size_t threads_ = 1;
  std::optional<io::FieldId> partition_field_;
  std::string partition_name_;
  size_t global_rules_ = 0;
  std::vector<std::unique_ptr<Engine>> partitioned_;  // one per thread
  // The rules that cannot be split, whole; null when every rule is split.
  std::unique_ptr<Engine> whole_;
  bool reorders_ = false;
  // The source normalizer remembers earlier records (Security 4688): every
  // event is then prepared by the first shard's, in arrival order.
  bool serial_prepare_ = false;

  // Two chunks: the caller fills one while the workers run the other.
  Chunk chunks_[2];
  int filling_ = 0;
  bool in_flight_ = false;
  Chunk* running_chunk_ = nullptr;
  uint64_t base_ = 0;  // round_robin_ at the running chunk's first event
  std::function<void(size_t)> chunk_job_;
  // The running chunk's work: blocks of events to prepare, taken in turn
  // (blocks_done_ under mutex_), then the shards to run.
  size_t blocks_ = 0;
  std::atomic<size_t> next_block_{0};
  size_t blocks_done_ = 0;
  std::condition_variable prepared_cv_;
  std::atomic<size_t> next_task_{0};
  std::vector<PreparedEvent> prepared_;
  std::vector<uint32_t> route_;  // per event: its partition, or kNoPartition
  //! Per partition: the events whose rules' run failed.
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
