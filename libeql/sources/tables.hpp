// The mapping tables: one per source, pure data, read by the interpreter in
// normalizer.cpp. A rule reads one field of the record and writes one ECS
// field. Paths starting with '$' are relative to the shape's data root
// (winlog.event_data, Event.EventData, properties, ...); '%computer' is the
// shape's host-name field; other paths are absolute. A path segment may be a
// nested object or a flat dotted key (SentinelOne exports both).
#pragma once

#include <string_view>

namespace eql::sources {

enum class Op : unsigned char {
  kCopy,           // value as is (string or number)
  kString,         // value as a string (numbers rendered)
  kInt,            // decimal number or numeric string -> integer
  kHexInt,         // "0x1eb8" (or decimal) -> integer
  kBasename,       // text after the last '\' or '/'
  kArgs,           // CommandLineToArgvW split -> array
  kTime,           // timestamp (ISO, "YYYY-MM-DD hh:mm:ss", epoch s/ms) -> @timestamp ISO
  kLower,          // lower-cased string
  kPlatform,       // Win/Lin/Mac (any case) -> windows/linux/macos
  kUserName,       // "DOMAIN\user" -> user
  kUserDomain,     // "DOMAIN\user" -> DOMAIN (nothing when no '\')
  kConst,          // writes `arg` (from unused)
  kConstArray,     // writes [`arg`]
  kWindowsIfPath,  // writes "windows" when the field looks like a Windows path
  kBasenameIfUnset,  // as kBasename, only when no other rule wrote `to` (applied last)
};

struct Rule {
  std::string_view from;
  std::string_view to;
  Op op;
  std::string_view arg = {};
};

// Where a source's fields live in one record layout.
struct Shape {
  std::string_view name;       // for docs and debugging
  std::string_view data_root;  // "$X" means data_root.X ("" = record root)
  std::string_view computer;   // host name path, "" when none
};

// ---- Sysmon Event ID 1 (winlogbeat-sysmon.js event1 chain) ----
inline constexpr Rule kSysmonProcess[] = {
    {"$UtcTime", "@timestamp", Op::kTime},
    {"%computer", "host.name", Op::kCopy},
    {"", "host.os.type", Op::kConst, "windows"},
    {"", "event.kind", Op::kConst, "event"},
    {"", "event.category", Op::kConstArray, "process"},
    {"", "event.type", Op::kConstArray, "start"},
    {"", "event.action", Op::kConst, "Process Create (rule: ProcessCreate)"},
    {"", "event.code", Op::kConst, "1"},
    {"", "event.provider", Op::kConst, "Microsoft-Windows-Sysmon"},
    {"$ProcessGuid", "process.entity_id", Op::kString},
    {"$ProcessId", "process.pid", Op::kInt},
    {"$Image", "process.executable", Op::kCopy},
    {"$Image", "process.name", Op::kBasename},
    {"$CommandLine", "process.command_line", Op::kCopy},
    {"$CommandLine", "process.args", Op::kArgs},
    {"$CurrentDirectory", "process.working_directory", Op::kCopy},
    {"$OriginalFileName", "process.pe.original_file_name", Op::kCopy},
    {"$Description", "process.pe.description", Op::kCopy},
    {"$Product", "process.pe.product", Op::kCopy},
    {"$Company", "process.pe.company", Op::kCopy},
    {"$FileVersion", "process.pe.file_version", Op::kCopy},
    {"$ParentProcessGuid", "process.parent.entity_id", Op::kString},
    {"$ParentProcessId", "process.parent.pid", Op::kInt},
    {"$ParentImage", "process.parent.executable", Op::kCopy},
    {"$ParentImage", "process.parent.name", Op::kBasename},
    {"$ParentCommandLine", "process.parent.command_line", Op::kCopy},
    {"$ParentCommandLine", "process.parent.args", Op::kArgs},
    {"$User", "user.name", Op::kUserName},
    {"$User", "user.domain", Op::kUserDomain},
    {"$IntegrityLevel", "winlog.event_data.IntegrityLevel", Op::kCopy},
    {"$LogonId", "winlog.event_data.LogonId", Op::kCopy},
};

// Sysmon records other than EID 1 keep their fields and get these (from
// winlogbeat-sysmon.js categories).
struct SysmonPassThrough {
  int event_id;
  std::string_view category;
  std::string_view type;
};
inline constexpr SysmonPassThrough kSysmonOther[] = {
    {2, "file", "change"},      {3, "network", "start"},    {4, "process", "change"},
    {5, "process", "end"},      {6, "driver", "start"},     {7, "process", "change"},
    {8, "process", "change"},   {9, "process", "access"},   {10, "process", "access"},
    {11, "file", "creation"},   {12, "registry", "change"}, {13, "registry", "change"},
    {14, "registry", "change"}, {15, "file", "creation"},   {16, "configuration", "change"},
    {17, "file", "creation"},   {18, "file", "access"},     {19, "registry", "change"},
    {20, "registry", "change"}, {21, "registry", "change"}, {22, "network", "protocol"},
    {23, "file", "deletion"},   {24, "file", "change"},     {25, "process", "change"},
    {26, "file", "deletion"},   {27, "file", "denied"},     {28, "file", "denied"},
    {29, "file", "creation"},
};

// ---- Security 4688 (winlogbeat-security.js renameNewProcessFields) ----
// process.entity_id / process.parent.entity_id are surrogates (normalizer.cpp).
inline constexpr Rule kWinsecProcess[] = {
    {"%time", "@timestamp", Op::kTime},
    {"%computer", "host.name", Op::kCopy},
    {"", "host.os.type", Op::kConst, "windows"},
    {"", "event.kind", Op::kConst, "event"},
    {"", "event.category", Op::kConstArray, "process"},
    {"", "event.type", Op::kConstArray, "start"},
    {"", "event.action", Op::kConst, "created-process"},
    {"", "event.code", Op::kConst, "4688"},
    {"", "event.provider", Op::kConst, "Microsoft-Windows-Security-Auditing"},
    {"$NewProcessId", "process.pid", Op::kHexInt},
    {"$NewProcessName", "process.executable", Op::kCopy},
    {"$NewProcessName", "process.name", Op::kBasename},
    {"$CommandLine", "process.command_line", Op::kCopy},
    {"$CommandLine", "process.args", Op::kArgs},
    {"$ProcessId", "process.parent.pid", Op::kHexInt},
    {"$ParentProcessName", "process.parent.executable", Op::kCopy},
    {"$ParentProcessName", "process.parent.name", Op::kBasename},
    {"$SubjectUserSid", "user.id", Op::kCopy},
    {"$SubjectUserName", "user.name", Op::kCopy},
    {"$SubjectDomainName", "user.domain", Op::kCopy},
    {"$TargetUserName", "user.effective.name", Op::kCopy},
    {"$TargetDomainName", "user.effective.domain", Op::kCopy},
    {"$TargetUserSid", "user.effective.id", Op::kCopy},
    {"$TokenElevationType", "winlog.event_data.TokenElevationType", Op::kCopy},
    {"$MandatoryLabel", "winlog.event_data.MandatoryLabel", Op::kCopy},
};

// ---- CrowdStrike FDR ProcessRollup2 (crowdstrike/fdr default.yml) ----
inline constexpr Rule kCrowdStrikeProcess[] = {
    {"timestamp", "@timestamp", Op::kTime},
    {"aid", "host.id", Op::kCopy},
    {"ComputerName", "host.name", Op::kCopy},
    {"event_platform", "host.os.type", Op::kPlatform},
    {"", "event.kind", Op::kConst, "event"},
    {"", "event.category", Op::kConstArray, "process"},
    {"", "event.type", Op::kConstArray, "start"},
    {"event_simpleName", "event.action", Op::kCopy},
    {"TargetProcessId", "process.entity_id", Op::kString},
    {"RawProcessId", "process.pid", Op::kInt},
    {"ImageFileName", "process.executable", Op::kCopy},
    {"ImageFileName", "process.name", Op::kBasename},
    {"CommandLine", "process.command_line", Op::kCopy},
    {"CommandLine", "process.args", Op::kArgs},
    {"OriginalFilename", "process.pe.original_file_name", Op::kCopy},
    {"SHA256HashData", "process.hash.sha256", Op::kCopy},
    {"MD5HashData", "process.hash.md5", Op::kCopy},
    {"ParentProcessId", "process.parent.entity_id", Op::kString},
    {"ParentBaseFileName", "process.parent.name", Op::kCopy},
    {"UserName", "user.name", Op::kCopy},
    {"UserSid", "user.id", Op::kCopy},
    {"UID", "user.id", Op::kString},
};

// ---- Microsoft Defender XDR DeviceProcessEvents (m365_defender pipeline_device.yml) ----
// process.entity_id / process.parent.entity_id are surrogates (normalizer.cpp).
inline constexpr Rule kMdeProcess[] = {
    {"$Timestamp", "@timestamp", Op::kTime},
    {"$DeviceId", "host.id", Op::kCopy},
    {"$DeviceName", "host.name", Op::kCopy},
    {"$FolderPath", "host.os.type", Op::kWindowsIfPath},
    {"", "event.kind", Op::kConst, "event"},
    {"", "event.category", Op::kConstArray, "process"},
    {"", "event.type", Op::kConstArray, "start"},
    {"$ActionType", "event.action", Op::kLower},
    {"$ProcessId", "process.pid", Op::kInt},
    {"$FolderPath", "process.executable", Op::kCopy},
    {"$FileName", "process.name", Op::kCopy},
    {"$ProcessCommandLine", "process.command_line", Op::kCopy},
    {"$ProcessCommandLine", "process.args", Op::kArgs},
    {"$ProcessVersionInfoOriginalFileName", "process.pe.original_file_name", Op::kCopy},
    {"$SHA256", "process.hash.sha256", Op::kCopy},
    {"$InitiatingProcessId", "process.parent.pid", Op::kInt},
    {"$InitiatingProcessFileName", "process.parent.name", Op::kCopy},
    {"$InitiatingProcessFolderPath", "process.parent.executable", Op::kCopy},
    {"$InitiatingProcessCommandLine", "process.parent.command_line", Op::kCopy},
    {"$InitiatingProcessCommandLine", "process.parent.args", Op::kArgs},
    {"$AccountName", "user.name", Op::kCopy},
    {"$AccountDomain", "user.domain", Op::kCopy},
    {"$AccountSid", "user.id", Op::kCopy},
};

// ---- SentinelOne Deep Visibility / Cloud Funnel process creation ----
// (sentinel_one_cloud_funnel default.yml + pipeline-process.yml)
inline constexpr Rule kSentinelOneProcess[] = {
    {"event.time", "@timestamp", Op::kTime},
    {"agent.uuid", "host.id", Op::kCopy},
    {"endpoint.name", "host.name", Op::kCopy},
    {"endpoint.os", "host.os.type", Op::kLower},
    {"", "event.kind", Op::kConst, "event"},
    {"", "event.category", Op::kConstArray, "process"},
    {"", "event.type", Op::kConstArray, "start"},
    {"", "event.action", Op::kConst, "start"},
    {"tgt.process.uid", "process.entity_id", Op::kString},
    {"tgt.process.pid", "process.pid", Op::kInt},
    {"tgt.process.image.path", "process.executable", Op::kCopy},
    {"tgt.process.name", "process.name", Op::kCopy},
    // tgt.process.name is sometimes absent in DV exports.
    {"tgt.process.image.path", "process.name", Op::kBasenameIfUnset},
    {"tgt.process.cmdline", "process.command_line", Op::kCopy},
    {"tgt.process.cmdline", "process.args", Op::kArgs},
    {"tgt.process.publisher", "process.code_signature.subject_name", Op::kCopy},
    {"tgt.process.user", "user.name", Op::kUserName},
    {"tgt.process.user", "user.domain", Op::kUserDomain},
    {"src.process.uid", "process.parent.entity_id", Op::kString},
    {"src.process.pid", "process.parent.pid", Op::kInt},
    {"src.process.image.path", "process.parent.executable", Op::kCopy},
    {"src.process.name", "process.parent.name", Op::kCopy},
    {"src.process.cmdline", "process.parent.command_line", Op::kCopy},
    {"src.process.cmdline", "process.parent.args", Op::kArgs},
};

}  // namespace eql::sources
