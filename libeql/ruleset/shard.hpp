// libeql/ruleset/shard.hpp
//
// What the parallel runner (ruleset/parallel.hpp) needs from an Engine it
// uses as a shard, beyond the public API: preparing an event (projection,
// normalization) apart from running the rules on it, so that the two happen
// on different threads; restricting a shard to some of its rules; and the
// shape of each rule's join keys, to choose the partition key. Implemented in
// engine.cpp, where the engine's internals live.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "eql/engine.hpp"
#include "eql/event.hpp"
#include "io/record.hpp"
#include "runtime/snapshot.hpp"

namespace eql::ruleset {

//! What the thread that parsed an event found of it for the shard that
//! runs it (with threads): the units whose conditions it meets, in unit
//! order, and its time (when the timestamp field has a usable value).
struct MatchedUnits {
  std::vector<uint32_t> units;
  std::optional<int64_t> timestamp;
};

//! One event, projected on a worker thread, waiting for its shard.
struct PreparedEvent {
  io::Record record;
  Event normalized;  //!< the ECS event, when the engine normalizes a source
  bool has_normalized = false;
  absl::Status status;  //!< of the projection (written in phase 1)
  MatchedUnits matched;  //!< found on the thread that parsed it
};

//! The join keys of a rule: for each stage (and the until clause), the field
//! at each key position, or nullopt where the key is not a plain field.
struct RuleKeyShape {
  bool correlation = false;  //!< sequence or sample
  std::vector<std::vector<std::optional<io::FieldId>>> stages;
};

class ShardAccess {
 public:
  //! Projects (and normalizes) `json` as PushJsonPadded() would, counting it
  //! in the shard's stats, without running any rule.
  static absl::Status Prepare(Engine& shard, std::string_view padded_json, PreparedEvent& out);
  //! Runs the shard's rules on a prepared event (its text is `json`).
  static absl::Status Ingest(Engine& shard, PreparedEvent& event, std::string_view json);
  //! The units of `matcher` whose conditions the prepared event meets
  //! (whether or not their sequences wait for something), and its time,
  //! into event.matched: no counter moves, no state is kept of the event.
  static void MatchUnits(Engine& matcher, PreparedEvent& event);
  //! From now on the shard's Ingest() takes the units an event meets, and
  //! its time, from PreparedEvent::matched instead of finding them itself;
  //! it still leaves out the stages that wait for their sequence, and runs
  //! lateness, reordering and the rules' state as it would.
  static void TakeMatchedUnits(Engine& shard);
  //! Keeps only the rules with active[r] set; the others never see events.
  //! With `match_all` its dispatcher still has every rule's units, for
  //! MatchUnits() on behalf of other shards; it runs only its own.
  static void Restrict(Engine& shard, const std::vector<bool>& active, bool match_all = false);
  static RuleKeyShape KeyShape(const Engine& engine, size_t rule);
  //! Whether rule r compiled (it was not rejected).
  static bool Compiled(const Engine& engine, size_t rule);
  static const io::FieldRegistry& Fields(const Engine& engine);
  //! Whether the shard keeps events in a reorder stage (batch or lateness).
  static bool Reorders(const Engine& engine);
  //! Whether the shard's source normalizer depends on earlier records
  //! (SourceNormalizer::stateful): then one normalizer must see them all.
  static bool StatefulSource(const Engine& engine);
  //! Checkpoint of one shard's state (Engine::Checkpoint without framing).
  static void Save(const Engine& shard, runtime::SnapshotWriter& w);
  static bool Load(Engine& shard, runtime::SnapshotReader& r);
};

}  // namespace eql::ruleset
