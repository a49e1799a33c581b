// File: eql/sources.hpp
//
// Data-source normalizers: turn one raw security record (Sysmon, Windows
// Security 4688, CrowdStrike FDR, Microsoft Defender XDR, SentinelOne, or ECS
// already) into the ECS event the rules are written against.
//
// Each source is one declarative mapping table (libeql/sources/tables.hpp) read
// by one interpreter; see docs/sources.md for the tables and where they differ
// from Elastic's integrations.
//
// The engine runs a normalizer itself when EngineOptions::source is not
// "ecs"; use one directly to look at what the rules will see.
//
// Example:
//   auto n = eql::SourceNormalizer::Create("auto");
//   if (!n.ok()) return n.status();
//   eql::Event ev;
//   if ((*n)->Normalize(record_json, ev).ok()) puts(ev.ToJson().c_str());
//
// Threads: a normalizer keeps a parser and counters; use one per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "eql/event.hpp"

namespace eql {

namespace io {
class FieldRegistry;
class Record;
}  // namespace io

//! Per-source counters for --stats. A record is counted once under the source
//! that handled it (or under "auto" as unrecognized when no source did).
struct SourceStats {
  uint64_t records = 0;         //!< records handed to this source
  uint64_t normalized = 0;      //!< process records mapped to ECS fields
  uint64_t passed_through = 0;  //!< other records of the source, kept with a category
  uint64_t unrecognized = 0;    //!< records that failed (bad JSON, unknown shape)
};

// SourceNormalizer
//
// One source's mapping to ECS (or, for "auto", every source's, chosen per
// record). Made by Create(); the caller owns it.
class SourceNormalizer {
 public:
  virtual ~SourceNormalizer() = default;

  //! The normalizer for `source_name`: "ecs", "sysmon", "winsec",
  //! "crowdstrike", "mde", "sentinelone", "auto". InvalidArgument for any
  //! other name.
  static absl::StatusOr<std::unique_ptr<SourceNormalizer>> Create(std::string_view source_name);
  //! The names Create() accepts, in that order.
  static std::vector<std::string> Names();

  // Normalize()
  //
  // Parses `record_json` once and fills `out` (cleared first) with the ECS
  // event. The original text is not copied into the event. Errors are
  // InvalidArgument (malformed JSON, a record this source does not know);
  // they are counted, never thrown.
  virtual absl::Status Normalize(std::string_view record_json, Event& out) = 0;

  //! What the engine allows one event (JsonProjector's limits).
  struct ProjectLimits {
    uint64_t max_values = 100'000;
    uint64_t max_string_bytes = 1 << 20;
    //! Fields never cut (the event's time, tiebreaker and category: a cut
    //! timestamp is another time). May be null.
    const std::vector<uint32_t>* uncut_fields = nullptr;  // io::FieldId values
    //! Incremented for each string cut to max_string_bytes. May be null.
    uint64_t* strings_truncated = nullptr;
  };

  // NormalizeInto()  (for the engine; libeql/io/record.hpp)
  //
  // As Normalize(), for an engine whose rules read `fields`. When the record
  // is a process start (Sysmon, Security 4688, CrowdStrike, Defender XDR,
  // SentinelOne), only the mapped fields the rules read are written,
  // straight into `record` (cleared first), surrogate entity ids included,
  // and `projected` is true; the whole ECS event is then had from
  // LastEvent() until the next call. Otherwise (other records, or rules
  // that read a mapped field's parent object) `event` holds the whole ECS
  // event, as Normalize() gives it, and `projected` is false. Both ways
  // give the same values and keep the same 4688 state. Either way `record_json` is not copied; if
  // the rules read `event.original`, the projected record holds it.
  virtual absl::Status NormalizeInto(std::string_view record_json, const io::FieldRegistry& fields,
                                     const ProjectLimits& limits, io::Record& record, Event& event,
                                     bool& projected) = 0;

  //! The whole ECS event of the record last projected by NormalizeInto()
  //! (valid until the next call); the counters do not change.
  virtual void LastEvent(Event& out) = 0;

  //! The source that handled the last record ("sysmon", ...); for `auto` the
  //! one it chose, empty when the last record was not recognized.
  virtual std::string_view last_source() const = 0;

  //! Counters by source name, in Names() order, only sources that saw records.
  virtual std::vector<std::pair<std::string, SourceStats>> Stats() const = 0;

  //! Whether records depend on earlier ones: Security 4688's parent entity
  //! id needs the parent's start time, remembered by host and pid from the
  //! parent's own record ("winsec" and "auto"). Such a normalizer must see a
  //! host's records in their order.
  virtual bool stateful() const = 0;
  //! That remembered state as bytes (empty for a stateless source), for
  //! Engine::Checkpoint(); LoadState() replaces the state with it
  //! (InvalidArgument for bytes SaveState() did not make).
  virtual std::string SaveState() const = 0;
  virtual absl::Status LoadState(std::string_view state) = 0;

  //! Splits a Windows command line into arguments exactly as
  //! CommandLineToArgvW does (the program name ends at the first space or at
  //! its closing quote; afterwards 2n backslashes + '"' give n backslashes and
  //! toggle quoting, 2n+1 give n backslashes and a literal '"', '""' inside
  //! quotes is a literal '"', other backslashes are literal).
  static std::vector<std::string> SplitWindowsCommandLine(std::string_view command_line);

  //! Milliseconds since the epoch from ISO 8601 / "YYYY-MM-DD hh:mm:ss.fff"
  //! (UTC unless an offset is given) or an epoch number (seconds when it has a
  //! fraction or is below 1e11, milliseconds otherwise); false when unreadable.
  static bool ParseTimestamp(std::string_view text, int64_t& millis);
};

}  // namespace eql
