// libeql/ruleset/parallel.cpp
#include "ruleset/parallel.hpp"

#include <algorithm>
#include <map>
#include <system_error>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "runtime/key_value.hpp"
#include "syntax/parse.hpp"

namespace eql::ruleset {
namespace {

// A chunk is cut at this many events or bytes, whichever comes first: large
// enough that waking the threads costs little, small enough that two
// chunks' records and texts stay in the cores' second-level caches (4096
// events took more time to parse on two threads than on one).
constexpr size_t kChunkEvents = 1024;
constexpr size_t kChunkBytes = 8 << 20;
// The chunk is projected in blocks taken by whichever thread is free.
constexpr size_t kBlockEvents = 32;
constexpr uint32_t kNoPartition = UINT32_MAX;  // a malformed event

// The partition of a key value: equal join keys go to the same partition,
// and the partition must not change from one process to the
// next: a checkpoint made by one run (Engine::Checkpoint) is restored by
// another, whose shards must get the same keys. absl::Hash is seeded per
// process, so this is FNV-1a over a type tag and the value's bytes, with
// splitmix64's finalizer to spread FNV's low bits (the modulus uses them).
uint64_t StableHash(uint8_t tag, const void* data, size_t size) {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&](unsigned char c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  mix(tag);
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) mix(bytes[i]);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

uint64_t HashScalar(const io::Scalar& v) {
  switch (v.type) {
    case io::Scalar::Type::kString:
      return StableHash(1, v.s.data(), v.s.size());
    case io::Scalar::Type::kInt: {
      const int64_t i = v.i;
      return StableHash(2, &i, sizeof i);
    }
    case io::Scalar::Type::kDouble: {
      // Equal as keys, equal hashes: NaNs collapsed as KeyValue does.
      const uint64_t bits = runtime::KeyValue::CanonicalBits(v.d);
      return StableHash(3, &bits, sizeof bits);
    }
    case io::Scalar::Type::kBool: {
      const unsigned char b = v.b ? 1 : 0;
      return StableHash(4, &b, 1);
    }
    case io::Scalar::Type::kNull:
      break;
  }
  return 0;
}

void AddStats(EngineStats& into, const EngineStats& from, bool event_counters) {
  // Every shard keeps its own answer cache.
  into.answer_cache.found += from.answer_cache.found;
  into.answer_cache.added += from.answer_cache.added;
  into.answer_cache.first_seen += from.answer_cache.first_seen;
  into.answer_cache.skipped += from.answer_cache.skipped;
  into.verdicts_kept += from.verdicts_kept;
  if (event_counters) {
    // Every event passes through exactly one partitioned shard: its
    // counters are the engine's. Global shards see the same events again.
    into.events_in += from.events_in;
    into.events_malformed += from.events_malformed;
    into.events_no_timestamp += from.events_no_timestamp;
    into.events_late += from.events_late;
    into.events_processed += from.events_processed;
    into.events_too_deep += from.events_too_deep;
    into.events_too_many_values += from.events_too_many_values;
    into.events_time_out_of_range += from.events_time_out_of_range;
    into.strings_truncated += from.strings_truncated;
    for (const auto& s : from.sources) {
      auto it = std::find_if(into.sources.begin(), into.sources.end(),
                             [&](const EngineStats::SourceCounts& c) { return c.source == s.source; });
      if (it == into.sources.end()) {
        into.sources.push_back(s);
      } else {
        it->records += s.records;
        it->normalized += s.normalized;
        it->passed_through += s.passed_through;
        it->unrecognized += s.unrecognized;
      }
    }
  }
  into.alerts += from.alerts;
  into.partials_live += from.partials_live;
  into.partials_expired += from.partials_expired;
  into.partials_evicted += from.partials_evicted;
  into.join_keys_over_limit += from.join_keys_over_limit;
  into.partials_evicted_total_cap += from.partials_evicted_total_cap;
  into.alerts_dropped += from.alerts_dropped;
  if (into.rules.size() < from.rules.size()) into.rules.resize(from.rules.size());
  for (size_t r = 0; r < from.rules.size(); ++r) {
    RuleStats& a = into.rules[r];
    const RuleStats& b = from.rules[r];
    a.alerts += b.alerts;
    a.partials_live += b.partials_live;
    a.partials_created += b.partials_created;
    a.partials_completed += b.partials_completed;
    a.partials_expired += b.partials_expired;
    a.partials_evicted += b.partials_evicted;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<ParallelRunner>> ParallelRunner::Create(
    const std::vector<Rule>& rules, const EngineOptions& options, const Engine& prototype) {
  std::unique_ptr<ParallelRunner> runner(new ParallelRunner());
  runner->threads_ = static_cast<size_t>(options.threads);
  const size_t n = runner->threads_;
  const io::FieldRegistry& fields = ShardAccess::Fields(prototype);

  // The fields each correlation rule can be split by: a plain field at the
  // same key position in every stage.
  std::vector<std::vector<io::FieldId>> splittable(rules.size());
  std::map<io::FieldId, size_t> votes;
  std::vector<bool> correlation(rules.size(), false), has_pipes(rules.size(), false);
  for (size_t r = 0; r < rules.size(); ++r) {
    if (!ShardAccess::Compiled(prototype, r)) continue;
    syntax::ParseOutcome parsed = syntax::Parse(rules[r].query);
    has_pipes[r] = parsed.ok() && !parsed.query->pipes.empty();
    RuleKeyShape shape = ShardAccess::KeyShape(prototype, r);
    correlation[r] = shape.correlation;
    if (!shape.correlation || shape.stages.empty()) continue;
    for (size_t j = 0; j < shape.stages[0].size(); ++j) {
      std::optional<io::FieldId> f = shape.stages[0][j];
      if (!f) continue;
      bool everywhere = std::all_of(shape.stages.begin(), shape.stages.end(), [&](const auto& s) {
        return j < s.size() && s[j] == f;
      });
      if (everywhere && std::find(splittable[r].begin(), splittable[r].end(), *f) ==
                            splittable[r].end()) {
        splittable[r].push_back(*f);
        ++votes[*f];
      }
    }
  }
  if (!options.partition_field.empty()) {
    std::optional<io::FieldId> f = fields.Find(options.partition_field);
    if (!f) {
      return absl::InvalidArgumentError(absl::StrCat(
          "partition field ", options.partition_field, " is not read by any rule"));
    }
    runner->partition_field_ = *f;
  } else if (!votes.empty()) {
    std::optional<io::FieldId> host = fields.Find("host.id");
    size_t best = 0;
    for (const auto& [field, count] : votes) {
      if (count > best || (count == best && host && field == *host)) {
        best = count;
        runner->partition_field_ = field;
      }
    }
  }
  if (runner->partition_field_) runner->partition_name_ = fields.Name(*runner->partition_field_);

  // Which rules run split by partition, which whole in the one shard that
  // sees every event (cheap to run: its events come matched, step 2).
  std::vector<bool> split(rules.size(), false), global(rules.size(), false);
  for (size_t r = 0; r < rules.size(); ++r) {
    if (!ShardAccess::Compiled(prototype, r)) continue;
    const bool splits =
        !has_pipes[r] &&
        (!correlation[r] ||
         (runner->partition_field_ &&
          std::find(splittable[r].begin(), splittable[r].end(), *runner->partition_field_) !=
              splittable[r].end()));
    if (splits) {
      split[r] = true;
    } else {
      global[r] = true;
      ++runner->global_rules_;
    }
  }

  // The shards: the same rules compiled the same way (so that a record
  // projected by one is read by another), each restricted to its share.
  // The caps are shared out so that together they hold what one would:
  // half of the total for the partitioned rules, split n ways, half for the
  // whole-stream ones, whose rules each live in one shard.
  EngineOptions shard_options = options;
  shard_options.threads = 1;
  shard_options.max_partials_per_rule = std::max<uint64_t>(1, options.max_partials_per_rule / n);
  shard_options.max_partials_total = std::max<uint64_t>(1, options.max_partials_total / (2 * n));
  shard_options.max_alerts_queued = UINT64_MAX;  // drained after every chunk
  EngineOptions global_options = shard_options;
  global_options.max_partials_per_rule = options.max_partials_per_rule;
  global_options.max_partials_total = std::max<uint64_t>(1, options.max_partials_total / 2);
  // Compiled n at a time: a large pack takes a while to compile.
  const bool has_global = runner->global_rules_ > 0;
  std::vector<std::unique_ptr<Engine>> shards(n + 1);
  std::vector<absl::Status> errors(n + 1);
  auto compile = [&](size_t s) {
    const bool whole = s == n;
    auto shard = Engine::Create(rules, whole ? global_options : shard_options);
    if (!shard.ok()) {
      errors[s] = shard.status();
      return;
    }
    // A partitioned shard's dispatcher keeps every rule's units: it finds
    // them for all shards (step 1).
    ShardAccess::Restrict(**shard, whole ? global : split, /*match_all=*/!whole);
    ShardAccess::TakeMatchedUnits(**shard);
    shards[s] = std::move(*shard);
  };
  std::atomic<size_t> next_shard{0};
  const size_t shard_count = has_global ? n + 1 : n;
  auto compile_next = [&] {
    for (size_t s; (s = next_shard.fetch_add(1)) < shard_count;) compile(s);
  };
  std::vector<std::thread> compilers;
  try {
    for (size_t t = 1; t < std::min(n, shard_count); ++t) compilers.emplace_back(compile_next);
  } catch (const std::system_error&) {
    // No more threads now: the ones started and this one compile the rest.
  }
  compile_next();
  for (std::thread& t : compilers) t.join();
  for (const absl::Status& error : errors) {
    if (!error.ok()) return error;
  }
  for (size_t w = 0; w < n; ++w) {
    // Whether an event meets a unit's condition depends on the event alone:
    // that is found on the thread that parsed it, while its record is warm
    // in that core's caches, for every shard. Only the units it meets (and
    // its time) go to the shards, which run lateness, reordering and the
    // sequences as one engine would; the record crosses to the other core
    // only for the few events that some unit met. Thread w finds them with
    // shard w's dispatcher (which has every rule's units) and leaf answers,
    // which step 2 of a chunk does not use: a partitioned shard is a
    // matcher in step 1 and runs its partition in step 2, on whichever
    // thread.
    runner->partitioned_.push_back(std::move(shards[w]));
  }
  runner->whole_ = std::move(shards[n]);  // null when every rule is split
  runner->reorders_ = ShardAccess::Reorders(*runner->partitioned_[0]);
  runner->serial_prepare_ = ShardAccess::StatefulSource(*runner->partitioned_[0]);
  runner->prepared_.resize(kChunkEvents);
  runner->route_.resize(kChunkEvents);
  runner->ingest_errors_.resize(runner->threads_);
  for (Chunk& c : runner->chunks_) c.items.reserve(kChunkEvents);
  runner->chunk_job_ = [r = runner.get()](size_t w) { r->Participate(w); };
  try {
    for (size_t w = 1; w < n; ++w) {
      runner->workers_.emplace_back([r = runner.get(), w] { r->WorkerLoop(w); });
    }
  } catch (const std::system_error& e) {
    // The runner's destructor stops the workers already started.
    return absl::ResourceExhaustedError(
        absl::StrCat("could not start ", n, " threads: ", e.what()));
  }
  return runner;
}

ParallelRunner::~ParallelRunner() {
  if (in_flight_) Join(chunk_job_);  // the workers read the chunk in flight
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  start_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ParallelRunner::SetSinks(const std::vector<Rule>* rules, AlertSink alerts, ErrorSink errors) {
  rules_ = rules;
  alert_sink_ = std::move(alerts);
  error_sink_ = std::move(errors);
}

void ParallelRunner::WorkerLoop(size_t worker) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(size_t)>* job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      job = job_;
    }
    (*job)(worker);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--running_ == 0) done_.notify_one();
    }
  }
}

void ParallelRunner::Start(const std::function<void(size_t)>& job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &job;
    running_ = workers_.size();
    ++generation_;
  }
  start_.notify_all();
}

void ParallelRunner::Join(const std::function<void(size_t)>& job) {
  job(0);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return running_ == 0; });
}

void ParallelRunner::RunOnAll(const std::function<void(size_t)>& job) {
  Start(job);
  Join(job);
}

void ParallelRunner::Push(std::string_view json, uint64_t tag) {
  Chunk& c = chunks_[filling_];
  c.items.push_back({c.text.size(), json.size(), tag});
  c.text.append(json);
  c.text.append(Engine::kJsonPadding, ' ');
  if (c.items.size() >= kChunkEvents || c.text.size() >= kChunkBytes) Submit();
}

void ParallelRunner::Submit() {
  // The caller goes on reading while the workers run this chunk: it joins
  // them only when the next one is full (or at Finish()), finishing what
  // is left of this one, so that reading overlaps the work.
  Finish();
  Chunk& c = chunks_[filling_];
  if (c.items.empty()) return;
  const size_t count = c.items.size();
  running_chunk_ = &c;
  base_ = round_robin_;  // round-robin partitions continue across chunks
  round_robin_ += count;
  // A stateful normalizer (Security 4688 remembers parents' start times)
  // must see every record in order: then the chunk is one block.
  blocks_ = serial_prepare_ ? 1 : (count + kBlockEvents - 1) / kBlockEvents;
  next_block_.store(0, std::memory_order_relaxed);
  blocks_done_ = 0;
  next_task_.store(0, std::memory_order_relaxed);
  for (auto& errors : ingest_errors_) errors.clear();
  filling_ ^= 1;
  Start(chunk_job_);
  in_flight_ = true;
}

void ParallelRunner::Finish() {
  if (!in_flight_) return;
  Join(chunk_job_);
  in_flight_ = false;
  Deliver();
  running_chunk_->text.clear();
  running_chunk_->items.clear();
}

void ParallelRunner::RunChunk() {
  Submit();
  Finish();
}

void ParallelRunner::PrepareBlock(size_t w, size_t block) {
  const Chunk& c = *running_chunk_;
  const size_t n = threads_;
  const size_t begin = serial_prepare_ ? 0 : block * kBlockEvents;
  const size_t end =
      serial_prepare_ ? c.items.size() : std::min(c.items.size(), begin + kBlockEvents);
  // Projection with this thread's shard (with a stateful normalizer, the
  // first's, which then sees every record); the units an event meets with
  // this thread's shard's dispatcher, while its record is warm in this
  // core's caches. The block is parsed whole, then matched: the parser's
  // and the rules' code do not fit together in the instruction cache.
  Engine& projecting = serial_prepare_ ? *partitioned_[0] : *partitioned_[w];
  Engine& matcher = *partitioned_[w];
  for (size_t i = begin; i < end; ++i) {
    const Item& item = c.items[i];
    prepared_[i].status = ShardAccess::Prepare(
        projecting, std::string_view(c.text).substr(item.offset, item.size), prepared_[i]);
  }
  for (size_t i = begin; i < end; ++i) {
    PreparedEvent& e = prepared_[i];
    if (!e.status.ok()) {
      route_[i] = kNoPartition;
      continue;
    }
    ShardAccess::MatchUnits(matcher, e);
    uint32_t partition = 0;  // no value: null keys meet in partition 0
    if (!partition_field_) {
      partition = static_cast<uint32_t>((base_ + i) % n);
    } else {
      for (io::Scalar v : e.record.Get(*partition_field_)) {
        if (v.is_null()) continue;
        partition = static_cast<uint32_t>(HashScalar(v) % n);
        break;
      }
    }
    route_[i] = partition;
  }
}

void ParallelRunner::RunShard(size_t task) {
  // Tasks 0..n-1 run partition `task`'s shard over its events; task n runs
  // the whole-stream shard over every event; in arrival order.
  const Chunk& c = *running_chunk_;
  const bool global = task == threads_;
  Engine& shard = global ? *whole_ : *partitioned_[task];
  // A reorder stage keeps (moves) the record it is given, and with a
  // whole-stream shard another thread reads this event too: then each shard
  // takes a copy. Otherwise the shards only read it.
  const bool copy = reorders_ && whole_ != nullptr;
  for (size_t i = 0; i < c.items.size(); ++i) {
    const uint32_t route = route_[i];
    if (route == kNoPartition || (!global && route != task)) continue;
    PreparedEvent& e = prepared_[i];
    const Item& item = c.items[i];
    std::string_view json = std::string_view(c.text).substr(item.offset, item.size);
    absl::Status s;
    if (!copy) {
      s = ShardAccess::Ingest(shard, e, json);
    } else {
      PreparedEvent twin;
      twin.record = e.record;
      twin.has_normalized = e.has_normalized;
      if (e.has_normalized) twin.normalized = e.normalized;
      twin.matched = e.matched;
      s = ShardAccess::Ingest(shard, twin, json);
    }
    if (!global && !s.ok()) ingest_errors_[task].push_back({i, std::move(s)});
  }
}

void ParallelRunner::Participate(size_t w) {
  // 1. Blocks of the chunk, projected and matched by whichever thread is
  // free (the caller joins late, after reading the next chunk).
  for (;;) {
    const size_t block = next_block_.fetch_add(1, std::memory_order_relaxed);
    if (block >= blocks_) break;
    PrepareBlock(w, block);
    std::lock_guard<std::mutex> lock(mutex_);
    if (++blocks_done_ == blocks_) prepared_cv_.notify_all();
  }
  {
    std::unique_lock<std::mutex> lock(mutex_);
    prepared_cv_.wait(lock, [&] { return blocks_done_ == blocks_; });
  }
  // 2. The shards, each over its events in arrival order, by whichever
  // thread takes it: a partition's shard sees only the units its events
  // met and their times, its record only for the few that met one.
  for (;;) {
    const size_t task = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (task >= threads_ + (whole_ != nullptr ? 1 : 0)) break;
    RunShard(task);
  }
}

void ParallelRunner::Deliver() {
  // On the calling thread: errors in arrival order, then the alerts.
  const Chunk& c = *running_chunk_;
  if (error_sink_) {
    std::vector<std::pair<size_t, absl::Status>> errors;
    for (size_t i = 0; i < c.items.size(); ++i) {
      if (route_[i] == kNoPartition) errors.push_back({i, prepared_[i].status});
    }
    for (auto& mine : ingest_errors_) errors.insert(errors.end(), mine.begin(), mine.end());
    std::stable_sort(errors.begin(), errors.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [i, error] : errors) error_sink_(c.items[i].tag, error);
  }
  Collect();
}

void ParallelRunner::Collect() {
  for (size_t w = 0; w < threads_; ++w) {
    for (Engine* shard : {partitioned_[w].get(), w == 0 ? whole_.get() : nullptr}) {
      if (shard == nullptr) continue;
      for (Alert& alert : shard->TakeAlerts()) {
        if (rules_ != nullptr) alert.rule = &(*rules_)[alert.rule_index];
        if (alert_sink_) alert_sink_(std::move(alert));
      }
    }
  }
}

void ParallelRunner::Flush() {
  RunChunk();
  std::function<void(size_t)> flush = [&](size_t w) {
    partitioned_[w]->Flush();
    if (w == 0 && whole_) whole_->Flush();
  };
  RunOnAll(flush);
  Collect();
}

void ParallelRunner::Save(runtime::SnapshotWriter& w) {
  RunChunk();
  w.U64(threads_);
  w.Bytes(partition_name_);
  w.U64(round_robin_);
  // Each partition's shard, then whether a whole-stream shard follows: it
  // does after the first (the layout of one per thread, the others absent).
  for (size_t t = 0; t < threads_; ++t) {
    ShardAccess::Save(*partitioned_[t], w);
    Engine* whole = t == 0 ? whole_.get() : nullptr;
    w.Bool(whole != nullptr);
    if (whole) ShardAccess::Save(*whole, w);
  }
}

bool ParallelRunner::Load(runtime::SnapshotReader& r) {
  uint64_t threads = 0;
  std::string partition;
  if (!r.U64(threads) || !r.Bytes(partition) || !r.U64(round_robin_)) return false;
  if (threads != threads_ || partition != partition_name_) {
    return r.Fail("the shards (another number of threads or partition field)");
  }
  for (size_t t = 0; t < threads_; ++t) {
    bool has_whole = false;
    if (!ShardAccess::Load(*partitioned_[t], r) || !r.Bool(has_whole)) return false;
    Engine* whole = t == 0 ? whole_.get() : nullptr;
    if (has_whole != (whole != nullptr)) return r.Fail("the shards (rules placed otherwise)");
    if (whole && !ShardAccess::Load(*whole, r)) return false;
  }
  return true;
}

EngineStats ParallelRunner::Stats() {
  Finish();  // the shards' counters are the workers' until then
  EngineStats total;
  for (size_t w = 0; w < threads_; ++w) {
    AddStats(total, partitioned_[w]->stats(), true);
  }
  if (whole_) AddStats(total, whole_->stats(), false);
  return total;
}

}  // namespace eql::ruleset
