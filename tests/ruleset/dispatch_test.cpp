// tests/ruleset/dispatch_test.cpp
//
// The literal anchors derived from conditions, and the candidates the
// dispatcher hands out for an event.
#include "ruleset/dispatch.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "analysis/compile.hpp"
#include "io/json_projector.hpp"
#include "syntax/parse.hpp"

namespace eql::ruleset {
namespace {

struct Compiled {
  std::string category;
  bool any = false;
  std::shared_ptr<const analysis::Program> where;
};

Compiled Compile(const std::string& query, io::FieldRegistry& fields) {
  syntax::ParseOutcome parsed = syntax::Parse(query);
  EXPECT_TRUE(parsed.ok()) << query;
  auto c = analysis::CompileEventQuery(parsed.query->event, fields, {}, query);
  EXPECT_TRUE(c.ok()) << query;
  return {c.value->category, c.value->is_any, c.value->where.program};
}

// "field=v1|v2" per constraint, sorted by field name, for easy comparison.
// `named`: the cost of a constraint knows its fields (AnchorCost), as when
// the dispatcher files a unit.
std::vector<std::string> Describe(const std::string& query, bool named = false) {
  io::FieldRegistry fields;
  Compiled c = Compile(query, fields);
  std::vector<std::string> out;
  auto one = [&](const LiteralConstraint& l) {
    std::string s = fields.Name(l.field) + "=";
    std::vector<std::string> values;
    for (const LiteralKey& k : l.keys) {
      values.push_back(k.kind == LiteralKey::Kind::kExact    ? k.text
                       : k.kind == LiteralKey::Kind::kPrefix ? k.text + "*"
                       : k.kind == LiteralKey::Kind::kSuffix ? "*" + k.text
                                                             : "?");
    }
    std::sort(values.begin(), values.end());
    for (size_t i = 0; i < values.size(); ++i) s += (i ? "|" : "") + values[i];
    return s;
  };
  for (const LiteralConstraint& l : RequiredLiterals(*c.where, named ? &fields : nullptr)) {
    std::string s = one(l);
    for (const LiteralConstraint& alt : l.or_else) s += " || " + one(alt);
    out.push_back(s);
  }
  std::sort(out.begin(), out.end());
  std::cout << "  " << query << "\n    -> ";
  for (const auto& s : out) std::cout << s << "  ";
  std::cout << "\n";
  return out;
}

using V = std::vector<std::string>;

TEST(RequiredLiterals, EqualityInAndMatchWithoutWildcardsAreAnchors) {
  EXPECT_EQ(Describe(R"(process where process.name == "Node")"), V{"process.name=node"});
  EXPECT_EQ(Describe(R"(process where process.name : "NODE.exe")"), V{"process.name=node.exe"});
  EXPECT_EQ(Describe(R"(process where event.action in ("exec", "Start"))"),
            V{"event.action=exec|start"});
  EXPECT_EQ(Describe(R"(process where process.name in~ ("A", "b"))"), V{"process.name=a|b"});
  EXPECT_EQ(Describe(R"(process where process.name like "x.js")"), V{"process.name=x.js"});
}

TEST(RequiredLiterals, WildcardPatternsGiveTheirFixedStartOrEnd) {
  EXPECT_EQ(Describe(R"(process where process.name : ("Python*", "node", "*.EXE"))"),
            V{"process.name=*.exe|node|python*"});
  EXPECT_EQ(Describe(R"(process where process.executable : "C:\\Users\\*\\AppData\\*.js")"),
            V{"process.executable=c:\\users\\*"});
  EXPECT_EQ(Describe(R"(process where process.executable like "?:\\Windows\\*.exe")"),
            V{"process.executable=*.exe"});
}

TEST(RequiredLiterals, AndKeepsEveryConstraintOrKeepsSharedFields) {
  EXPECT_EQ(Describe(R"(process where host.os.type == "linux" and process.name == "node")"),
            (V{"host.os.type=linux", "process.name=node"}));
  EXPECT_EQ(Describe(R"(process where process.name == "a" or process.name : ("b", "c"))"),
            V{"process.name=a|b|c"});
  // Branches constraining different fields: one or the other.
  EXPECT_EQ(Describe(R"(process where process.name == "a" or user.name == "b")"),
            V{"process.name=a || user.name=b"});
  EXPECT_EQ(Describe(R"(process where (process.name == "a" and x.y == "1") or)"
                     R"( (user.name == "b" and x.z > 1) or url.original : "*q*")"),
            V{"process.name=a || user.name=b || url.original=?"});
  EXPECT_EQ(Describe(R"(process where (process.name == "a" and user.name == "x") or)"
                     R"( (process.name == "b" and user.name == "y"))"),
            (V{"process.name=a|b", "user.name=x|y"}));
}

TEST(RequiredLiterals, OrPairsTheCheapestConstraintsOfItsSides) {
  // On fields every event of a kind shares (event.category), the union is
  // worth little: one side's path or the other's name is kept as well.
  const std::string hosts =
      R"(any where (event.category == "file" and file.path : ("/etc/hosts", "?:\\x\\hosts")) or)"
      R"( (event.category == "process" and process.name in ("vim", "sed")))";
  EXPECT_EQ(Describe(hosts), V{"event.category=file|process"});
  EXPECT_EQ(Describe(hosts, true),
            (V{"event.category=file|process",
               "file.path=*:\\x\\hosts|/etc/hosts || process.name=sed|vim"}));
  // Alternatives on one field are united, however deep. Each branch needs
  // an argument or a name, but only the first argument and the second name
  // are useful (an executable or a command line every process has).
  const std::string tools =
      R"(process where (process.args == "--yolo" and)"
      R"(  (process.name == "gemini" or process.executable : "*gemini*")) or)"
      R"( ((process.args == "--full-auto" or process.command_line : "*auto*") and)"
      R"(  process.name == "codex") or)"
      R"( (process.args == "-y" and process.name == "copilot"))";
  EXPECT_EQ(Describe(tools, true), V{"process.args=--yolo|-y || process.name=codex"});
}

TEST(RequiredLiterals, NegationsAndComputedValuesAreNotAnchors) {
  EXPECT_EQ(Describe(R"(process where process.name != "node")"), V{});
  EXPECT_EQ(Describe(R"(process where not process.name == "node")"), V{});
  EXPECT_EQ(Describe(R"(process where not process.name in ("a", "b"))"), V{});
  EXPECT_EQ(Describe(R"(process where process.name == null)"), V{});
  EXPECT_EQ(Describe(R"(process where length(process.name) == 4)"), V{});
  EXPECT_EQ(Describe(R"(process where process.name == "a" or length(user.name) > 1)"), V{});
}

TEST(RequiredLiterals, OtherPositiveTestsNeedTheFieldToHaveAValue) {
  // Short or inner-only patterns, regexes, numbers and ranges: a value.
  EXPECT_EQ(Describe(R"(process where process.name : "no*")"), V{"process.name=?"});
  EXPECT_EQ(Describe(R"(process where process.name : ("node", "n?p*"))"), V{"process.name=?"});
  EXPECT_EQ(Describe(R"(process where process.name : ("*a*"))"), V{"process.name=?"});
  EXPECT_EQ(Describe(R"(process where process.name regex "node")"), V{"process.name=?"});
  EXPECT_EQ(Describe(R"(process where process.pid == 4)"), V{"process.pid=?"});
  EXPECT_EQ(Describe(R"(process where process.pid in (1, 2))"), V{"process.pid=?"});
  EXPECT_EQ(Describe(R"(process where process.name >= "a")"), V{"process.name=?"});
  EXPECT_EQ(Describe(R"(process where container.id != null)"), V{"container.id=?"});
  EXPECT_EQ(Describe(R"(process where @timestamp == "2020-01-01")"), V{"@timestamp=?"});
  // Or: a value on one side and keys on the other is a value.
  EXPECT_EQ(Describe(R"(process where process.name == "a" or process.name : "*b*")"),
            V{"process.name=?"});
}

class DispatcherTest : public ::testing::Test {
 protected:
  void Add(const std::string& query) {
    Compiled c = Compile(query, fields_);
    compiled_.push_back(c);
  }
  std::vector<uint32_t> For(const std::string& json, bool anchors = true) {
    Dispatcher d(anchors);
    for (uint32_t i = 0; i < compiled_.size(); ++i) {
      d.Add(i, compiled_[i].any, compiled_[i].category, compiled_[i].where.get(), fields_);
    }
    io::JsonProjector projector(fields_);
    io::Record record;
    EXPECT_TRUE(projector.Project(json, record).ok()) << json;
    std::vector<uint32_t> out;
    d.Candidates(record, *fields_.Find("event.category"), out);
    std::cout << "  " << json.substr(0, 100) << (json.size() > 100 ? "..." : "") << " -> "
              << out.size() << " candidates\n";
    return out;
  }
  io::FieldRegistry fields_;
  std::vector<Compiled> compiled_;
};

using U = std::vector<uint32_t>;

TEST_F(DispatcherTest, AnEventReachesOnlyUnitsWhoseAnchorItHas) {
  Add(R"(process where process.name == "node")");                        // 0
  Add(R"(process where process.name : ("cmd.exe", "powershell.exe"))");  // 1
  Add(R"(process where process.args == "install")");                     // 2
  Add(R"(process where process.name : "*sh")");                          // 3: no anchor
  Add(R"(network where process.name == "node")");                        // 4
  Add(R"(any where user.name == "root")");                               // 5
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":"node"}})"), (U{0, 3}));
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":"CMD.EXE"}})"), (U{1, 3}));
  // Case-sensitive `==` still reaches the unit by its folded key; the
  // evaluator then says no.
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":"NODE"}})"), (U{0, 3}));
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"args":["npm","install"]}})"),
            (U{2, 3}));
  EXPECT_EQ(For(R"({"event":{"category":["process","network"]},"process":{"name":"node"},)"
                R"("user":{"name":"root"}})"),
            (U{0, 3, 4, 5}));
  EXPECT_EQ(For(R"({"event":{"category":"file"},"process":{"name":"node"}})"), U{});
  // Without anchors every unit of the category (and `any`) is a candidate.
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":"bash"}})", false),
            (U{0, 1, 2, 3, 5}));
}

TEST_F(DispatcherTest, PrefixAndSuffixKeysReachValuesWithThatStartOrEnd) {
  Add(R"(process where process.name : "python*")");  // 0
  Add(R"(process where process.name : "*.EXE")");    // 1
  Add(R"(process where process.name : "python3")");  // 2
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":"PYTHON3.exe"}})"),
            (U{0, 1}));
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":"python3"}})"), (U{0, 2}));
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":"py"}})"), U{});
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":"cmd.exe"}})"), U{1});
}

TEST_F(DispatcherTest, PresenceAnchorsOnRareFieldsOnly) {
  Add(R"(process where container.id like "?*")");                    // 0: container.id
  Add(R"(process where process.executable : "*a*")");               // 1: too common: always
  Add(R"(process where url.original : "*x*" and event.action == "a")");  // 2: url.original
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"executable":"b"}})"), U{1});
  EXPECT_EQ(For(R"({"event":{"category":"process"},"container":{"id":"c"}})"), (U{0, 1}));
  EXPECT_EQ(For(R"({"event":{"category":"process"},"container":{"id":null}})"), U{1});
  EXPECT_EQ(For(R"({"event":{"category":"process"},"url":{"original":"x"}})"), (U{1, 2}));
}

TEST_F(DispatcherTest, AnEitherOrAnchorReachesEventsWithEitherValue) {
  Add(R"(process where process.name == "a" or user.name : "bob*")");  // 0
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":"a"}})"), U{0});
  EXPECT_EQ(For(R"({"event":{"category":"process"},"user":{"name":"bobby"}})"), U{0});
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":"a"},"user":{"name":"b"}})"),
            U{0});
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":"c"}})"), U{});
  // "b*" is too short to index and every event has a user.name: no anchor.
  Add(R"(process where process.name == "a" or user.name : "b*")");  // 1
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":"c"}})"), U{1});
}

TEST_F(DispatcherTest, AnyUnitsAreFiledUnderTheirBranchesValuesNotTheirCategories) {
  // Each branch names a category, which every event of it has: the unit is
  // filed under one branch's path or the other's process name instead.
  Add(R"(any where (event.category == "file" and file.path : "/etc/hosts") or)"
      R"( (event.category == "process" and process.name in ("vim", "sed")))");  // 0
  EXPECT_EQ(For(R"({"event":{"category":"file"},"file":{"path":"/etc/hosts"}})"), U{0});
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":"vim"}})"), U{0});
  EXPECT_EQ(For(R"({"event":{"category":"file"},"file":{"path":"/tmp/x"}})"), U{});
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":"bash"}})"), U{});
}

TEST_F(DispatcherTest, AnyUnitsReachEventsOfEveryCategoryWhicheverWasAddedFirst) {
  // `any` units are filed in every category's table, including tables made
  // after them, and in the table of events whose category has none.
  Add(R"(any where user.name == "root")");         // 0: before any category
  Add(R"(process where process.name == "node")");  // 1
  Add(R"(any where true)");                        // 2: no anchor
  Add(R"(file where file.name == "x")");           // 3: a table made after them
  Add(R"(any where process.name : "node")");       // 4: after both tables
  const std::string root_node = R"("user":{"name":"root"},"process":{"name":"node"}})";
  EXPECT_EQ(For(R"({"event":{"category":"process"},)" + root_node), (U{0, 1, 2, 4}));
  EXPECT_EQ(For(R"({"event":{"category":"file"},)" + root_node), (U{0, 2, 4}));
  EXPECT_EQ(For(R"({"event":{"category":"dns"},)" + root_node), (U{0, 2, 4}));
  EXPECT_EQ(For(R"({)" + root_node), (U{0, 2, 4}));
  EXPECT_EQ(
      For(R"({"event":{"category":["dns","file","process"]},"file":{"name":"x"},)" + root_node),
      (U{0, 1, 2, 3, 4}));
  EXPECT_EQ(For(R"({"event":{"category":"file"},"file":{"name":"x"}})"), (U{2, 3}));
}

TEST_F(DispatcherTest, ExactKeysOfAnyLengthAreFound) {
  // Lengths of 63 bytes and more share one bit of the length filter.
  const std::string long_key(70, 'k');
  Add(R"(process where process.name == ")" + long_key + "\"");
  Add(R"(process where process.name == "ab")");
  auto event = [](const std::string& name) {
    return R"({"event":{"category":"process"},"process":{"name":")" + name + "\"}}";
  };
  EXPECT_EQ(For(event(std::string(70, 'K'))), U{0});
  EXPECT_EQ(For(event(std::string(100, 'k'))), U{});
  EXPECT_EQ(For(event(std::string(69, 'k'))), U{});
  EXPECT_EQ(For(event("AB")), U{1});
}

TEST_F(DispatcherTest, ExactValuesOutweighAFixedEnd) {
  // Three bytes of a fixed end ("exe") are shared by most Windows paths; two
  // exact names single out far fewer events.
  Add(R"(process where process.executable : "?:\\Windows\\*.exe" and)"
      R"( (dll.name : "scrobj.dll" or file.name : "scrobj.dll"))");  // 0
  EXPECT_EQ(
      For(R"({"event":{"category":"process"},"process":{"executable":"C:\\Windows\\a.exe"}})"),
      U{});
  EXPECT_EQ(For(R"({"event":{"category":"process"},"dll":{"name":"SCROBJ.dll"}})"), U{0});
}

TEST_F(DispatcherTest, NonStringValuesReachEveryUnitOfTheirAnchor) {
  Add(R"(process where process.name == "4")");
  Add(R"(process where process.name == "true")");
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":4}})"), (U{0, 1}));
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":null}})"), U{});
}

TEST_F(DispatcherTest, NonAsciiValuesAreFoldedLikeTheEvaluatorFoldsThem) {
  Add(R"(process where process.name : "İNSTALL.EXE")");
  Add(R"(process where process.name : "ärger")");
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":"install.exe"}})"), U{0});
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":"ÄRGER"}})"), U{1});
  std::string long_name(1000, 'A');
  EXPECT_EQ(For(R"({"event":{"category":"process"},"process":{"name":")" + long_name + "\"}}"),
            U{});
}

}  // namespace
}  // namespace eql::ruleset
