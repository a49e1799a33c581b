// libeql/analysis/compile.cpp
//
// One pass over the syntax tree that binds, checks, types and folds at once,
// emitting the flat Program. Children are compiled before their parent, so a
// parent whose operands are all constants is folded on the spot with the same
// scalar semantics (analysis/semantics.hpp) the evaluator uses.
#include "analysis/compile.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <type_traits>

#include "io/timestamp.hpp"

namespace eql::analysis {

namespace {

// String building that takes std::string_view (Debian's abseil has its own
// string_view type, which absl::StrCat wants).
inline void Piece(std::string& out, std::string_view s) { out.append(s); }
inline void Piece(std::string& out, const char* s) { out.append(s); }
inline void Piece(std::string& out, const std::string& s) { out.append(s); }
template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
inline void Piece(std::string& out, T v) {
  out.append(std::to_string(v));
}
template <class... A>
void CatTo(std::string& out, const A&... a) {
  (Piece(out, a), ...);
}
template <class... A>
std::string Cat(const A&... a) {
  std::string out;
  (Piece(out, a), ...);
  return out;
}

using ast::CompareOp;
using ast::Expr;
using ast::ExprKind;

}  // namespace
std::string FieldPath(const ast::Expr& field);
namespace {

std::string ordinal(size_t i) {
  static const char* kNames[] = {"first", "second", "third", "fourth", "fifth"};
  return i < 5 ? kNames[i] : Cat(i + 1, "th");
}

enum class SType : uint8_t { kUnknown, kNull, kBool, kNumber, kString };

const char* TypeName(SType t) {
  switch (t) {
    case SType::kNull:
      return "null";
    case SType::kBool:
      return "boolean";
    case SType::kNumber:
      return "number";
    case SType::kString:
      return "string";
    default:
      return "unknown";
  }
}

SType TypeOf(const Scalar& s) {
  switch (s.type) {
    case Scalar::Type::kNull:
      return SType::kNull;
    case Scalar::Type::kBool:
      return SType::kBool;
    case Scalar::Type::kInt:
    case Scalar::Type::kDouble:
      return SType::kNumber;
    case Scalar::Type::kString:
      return SType::kString;
  }
  return SType::kUnknown;
}

// What compiling an expression produced.
struct Value {
  uint32_t node = 0;
  SType type = SType::kUnknown;
  bool constant = false;   // node is kConst
  bool is_field = false;   // node is a plain kField
  bool predicate = false;  // node yields a three-valued boolean by itself
  bool date = false;       // a field with date semantics
  bool optional = false;   // `?field`
  io::FieldId field = 0;
  std::vector<io::FieldId> fields;  // fields read below, distinct
};

void MergeFields(std::vector<io::FieldId>& into, const std::vector<io::FieldId>& from) {
  for (io::FieldId f : from) {
    if (std::find(into.begin(), into.end(), f) == into.end()) into.push_back(f);
  }
}

CompareOp Mirror(CompareOp op) {
  switch (op) {
    case CompareOp::kLt:
      return CompareOp::kGt;
    case CompareOp::kLe:
      return CompareOp::kGe;
    case CompareOp::kGt:
      return CompareOp::kLt;
    case CompareOp::kGe:
      return CompareOp::kLe;
    default:
      return op;
  }
}

const char* CompareText(CompareOp op) {
  static const char* kText[] = {"==", "!=", "<", "<=", ">", ">="};
  return kText[static_cast<int>(op)];
}

Diagnostic MakeDiagnostic(std::string_view text, const ast::Location& loc, std::string message) {
  Diagnostic d;
  d.message = std::move(message);
  d.offset = loc.offset;
  d.length = std::max<uint32_t>(loc.length, 1);
  d.line = loc.line;
  d.column = loc.column;
  if (!text.empty() && loc.offset <= text.size()) {
    size_t begin = text.rfind('\n', loc.offset == 0 ? 0 : loc.offset - 1);
    begin = (begin == std::string_view::npos || loc.offset == 0) ? 0 : begin + 1;
    if (loc.offset > 0 && text[loc.offset - 1] == '\n') begin = loc.offset;
    size_t end = text.find('\n', loc.offset);
    if (end == std::string_view::npos) end = text.size();
    d.source_line = std::string(text.substr(begin, end - begin));
    uint32_t line = 1;
    for (size_t i = 0; i < begin; ++i) line += text[i] == '\n';
    d.line = line;
    d.column = static_cast<uint32_t>(loc.offset - begin) + 1;
  }
  return d;
}

class Compiler {
 public:
  Compiler(io::FieldRegistry& fields, const CompileOptions& options, std::string_view text)
      : registry_(fields), options_(options), text_(text), program_(std::make_shared<Program>()) {}

  std::optional<Value> Compile(const Expr& e);
  // True while compiling the null-literal form of an optional-field
  // comparison (CompileCompare), so that the inner comparison is not
  // rewritten again.
  bool in_optional_rewrite_ = false;
  // Makes `v` a predicate node (wrapping a plain boolean value); reports an
  // error when it cannot be boolean.
  std::optional<Value> AsCondition(std::optional<Value> v, const Expr& at);
  Value MakeFieldEquals(io::FieldId field, std::string_view text);
  Value And(Value a, Value b);

  std::shared_ptr<Program> Finish(uint32_t root) {
    program_->root = root;
    std::vector<io::FieldId> all;
    for (const Node& n : program_->nodes) {
      if (n.op == Op::kField || IsFieldLeaf(n.op)) all.push_back(n.a);
    }
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    program_->fields = all;
    program_->field_limit = all.empty() ? 0 : all.back() + 1;
    return std::move(program_);
  }

  // A condition's program, with its branch form.
  std::shared_ptr<Program> FinishCondition(uint32_t root) {
    program_->branch_entry = EmitBranches(root, kBranchTrue, kBranchFalse);
    return Finish(root);
  }

  // Emits the tests of node `index` so that they lead to `on_true` when it
  // holds in the bool query and to `on_false` when it does not; returns the
  // first one. The second operand is emitted first, since the first must
  // know where to go.
  uint32_t EmitBranches(uint32_t index, uint32_t on_true, uint32_t on_false) {
    const Node& n = program_->nodes[index];
    switch (n.op) {
      case Op::kAnd:
        return EmitBranches(n.a, EmitBranches(n.b, on_true, on_false), on_false);
      case Op::kOr:
        return EmitBranches(n.a, on_true, EmitBranches(n.b, on_true, on_false));
      case Op::kNot:
        return EmitBranches(n.a, on_false, on_true);
      default:
        break;
    }
    Branch b{.node = index, .on_true = on_true, .on_false = on_false};
    if (IsFieldLeaf(n.op)) {
      b.fast = true;
      b.shared = n.d;
      if (n.negate) std::swap(b.on_true, b.on_false);  // must_not of the leaf
    }
    program_->branches.push_back(b);
    return static_cast<uint32_t>(program_->branches.size() - 1);
  }

  std::vector<Diagnostic> diagnostics;

  std::optional<Value> Error(const ast::Location& loc, std::string message) {
    diagnostics.push_back(MakeDiagnostic(text_, loc, std::move(message)));
    return std::nullopt;
  }
  std::string Text(const ast::Location& loc) const {
    if (loc.offset + loc.length <= text_.size())
      return std::string(text_.substr(loc.offset, loc.length));
    return "expression";
  }

 private:
  uint32_t Add(Node n) {
    program_->nodes.push_back(n);
    return static_cast<uint32_t>(program_->nodes.size() - 1);
  }
  Value Const(Scalar s) {
    if (s.type == Scalar::Type::kString) {
      program_->texts.emplace_back(s.s);
      s.s = program_->texts.back();
    }
    program_->consts.push_back(s);
    Node n;
    n.op = Op::kConst;
    n.a = static_cast<uint32_t>(program_->consts.size() - 1);
    Value v;
    v.node = Add(n);
    v.type = TypeOf(s);
    v.constant = true;
    v.predicate = s.type == Scalar::Type::kBool || s.type == Scalar::Type::kNull;
    return v;
  }
  const Scalar& ConstOf(const Value& v) const {
    return program_->consts[program_->nodes[v.node].a];
  }
  uint32_t List(const std::vector<uint32_t>& items) {
    uint32_t begin = static_cast<uint32_t>(program_->lists.size());
    program_->lists.insert(program_->lists.end(), items.begin(), items.end());
    return begin;
  }
  void SetFields(Node& n, const std::vector<io::FieldId>& fields) {
    n.fields_begin = List(std::vector<uint32_t>(fields.begin(), fields.end()));
    n.fields_count = static_cast<uint32_t>(fields.size());
  }
  Value Predicate(Node n, const std::vector<io::FieldId>& fields) {
    SetFields(n, fields);
    switch (n.op) {
      case Op::kFieldCompare:
      case Op::kFieldMatch:
      case Op::kFieldIn:
      case Op::kFieldNotNull:
        n.two_valued = true;
        if (uint32_t id = 0; options_.shared_leaves != nullptr &&
                             options_.shared_leaves->Intern(*program_, n, id)) {
          n.d = id + 1;
        }
        break;
      case Op::kTruthy:
        // A boolean function of a field against constants that ES pushes
        // down as a query (Scalars.doKnownTranslate / QueryTranslator).
        // So does a bare boolean field (`where is_admin`): a term query.
        n.two_valued = PushableCall(n.a) || program_->nodes[n.a].op == Op::kField;
        n.script = !n.two_valued;
        break;
      default:
        n.script = true;
        break;
    }
    Value v;
    v.node = Add(n);
    v.type = SType::kBool;
    v.predicate = true;
    v.fields = fields;
    return v;
  }
  // cidrMatch(field, blocks), startsWith[~](field, "prefix") and
  // stringContains(field, "text") (case-sensitive) become terms, prefix and
  // wildcard queries in Elasticsearch.
  bool PushableCall(uint32_t index) const {
    const Node& n = program_->nodes[index];
    if (n.op != Op::kCall || n.b < 2) return false;
    const auto& lists = program_->lists;
    if (program_->nodes[lists[n.a]].op != Op::kField) return false;
    for (uint32_t i = 1; i < n.b; ++i) {
      if (program_->nodes[lists[n.a + i]].op != Op::kConst) return false;
    }
    switch (static_cast<Function>(n.sub)) {
      case Function::kCidrMatch:
      case Function::kStartsWith:
        return true;
      case Function::kStringContains:
        return !n.case_insensitive;
      default:
        return false;
    }
  }
  bool IsDateField(std::string_view name) const {
    if (name == options_.timestamp_field) return true;
    return std::find(options_.date_fields.begin(), options_.date_fields.end(), name) !=
           options_.date_fields.end();
  }

  std::optional<Value> CompileField(const Expr& e);
  std::optional<Value> CompileLogic(const Expr& e);
  std::optional<Value> CompileCompare(const Expr& e);
  std::optional<Value> CompileMatch(const Expr& e);
  std::optional<Value> CompileIn(const Expr& e);
  std::optional<Value> CompileArith(const Expr& e);
  std::optional<Value> CompileCall(const Expr& e);

  io::FieldRegistry& registry_;
  const CompileOptions& options_;
  std::string_view text_;
  std::shared_ptr<Program> program_;
  Arena arena_;  // folding scratch; results are copied into constants
  int depth_ = 0;
};

std::optional<Value> Compiler::Compile(const Expr& e) {
  // The parser caps nesting; a hand-built tree might not, so cap here too
  // rather than overflow the stack.
  if (depth_ > 1000) return Error(e.loc, "expression nested too deeply");
  struct Depth {
    int& d;
    explicit Depth(int& x) : d(x) { ++d; }
    ~Depth() { --d; }
  } depth(depth_);
  switch (e.kind) {
    case ExprKind::kNull:
      return Const(Scalar());
    case ExprKind::kBool:
      return Const(Scalar::Bool(e.boolean));
    case ExprKind::kInt:
      return Const(Scalar::Int(e.integer));
    case ExprKind::kFloat:
      return Const(Scalar::Double(e.real));
    case ExprKind::kString:
      return Const(Scalar::String(e.text));
    case ExprKind::kField:
      return CompileField(e);
    case ExprKind::kNot:
    case ExprKind::kAnd:
    case ExprKind::kOr:
      return CompileLogic(e);
    case ExprKind::kCompare:
      return CompileCompare(e);
    case ExprKind::kMatch:
      return CompileMatch(e);
    case ExprKind::kIn:
      return CompileIn(e);
    case ExprKind::kArith:
    case ExprKind::kNegate:
      return CompileArith(e);
    case ExprKind::kCall:
      return CompileCall(e);
  }
  return Error(e.loc, "unknown expression");
}

std::optional<Value> Compiler::CompileField(const Expr& e) {
  for (const ast::PathSegment& seg : e.path) {
    if (seg.index.has_value()) {
      return Error(e.loc, Cat("array indexes are not supported in field names: ", FieldPath(e)));
    }
  }
  std::string name = FieldPath(e);
  if (name.empty()) return Error(e.loc, "empty field name");
  io::FieldId id = registry_.Intern(name);
  Node n;
  n.op = Op::kField;
  n.a = id;
  Value v;
  v.node = Add(n);
  v.is_field = true;
  v.field = id;
  v.optional = e.optional;
  v.date = IsDateField(name);
  v.fields = {id};
  return v;
}

std::optional<Value> Compiler::AsCondition(std::optional<Value> v, const Expr& at) {
  if (!v) return v;
  if (v->predicate) return v;
  if (v->type != SType::kUnknown && v->type != SType::kBool) {
    return Error(at.loc, Cat("condition [", Text(at.loc), "] must be boolean, found [",
                             TypeName(v->type), "]"));
  }
  // stringContains(field, "") as a condition is the wildcard query "**",
  // which every value of the field matches (as a script it would be false).
  const Node& call = program_->nodes[v->node];
  if (call.op == Op::kCall && static_cast<Function>(call.sub) == Function::kStringContains &&
      PushableCall(v->node)) {
    const Node& pattern = program_->nodes[program_->lists[call.a + 1]];
    const Scalar& text = program_->consts[pattern.a];
    if (text.type == Scalar::Type::kString && text.s.empty()) {
      Node exists;
      exists.op = Op::kFieldNotNull;
      exists.a = program_->nodes[program_->lists[call.a]].a;
      return Predicate(exists, v->fields);
    }
  }
  Node n;
  n.op = Op::kTruthy;
  n.a = v->node;
  return Predicate(n, v->fields);
}

Value Compiler::And(Value a, Value b) {
  Node n;
  n.op = Op::kAnd;
  n.a = a.node;
  n.b = b.node;
  Value v;
  v.node = Add(n);
  v.type = SType::kBool;
  v.predicate = true;
  v.fields = a.fields;
  MergeFields(v.fields, b.fields);
  return v;
}

std::optional<Value> Compiler::CompileLogic(const Expr& e) {
  if (e.kind == ExprKind::kNot) {
    auto a = AsCondition(Compile(e.args[0]), e.args[0]);
    if (!a) return a;
    if (a->constant) return Const(ScalarOf(Not(TriOf(ConstOf(*a)))));
    Node n;
    n.op = Op::kNot;
    n.a = a->node;
    n.script = program_->nodes[a->node].script;  // not of a script is a script
    Value v;
    v.node = Add(n);
    v.type = SType::kBool;
    v.predicate = true;
    v.fields = a->fields;
    return v;
  }
  auto a = AsCondition(Compile(e.args[0]), e.args[0]);
  auto b = AsCondition(Compile(e.args[1]), e.args[1]);
  if (!a || !b) return std::nullopt;
  bool is_and = e.kind == ExprKind::kAnd;
  // Fold what the constant side decides: false and x = false, true and x = x,
  // true or x = true, false or x = x. A null constant decides nothing.
  for (int side = 0; side < 2; ++side) {
    const Value& c = side == 0 ? *a : *b;
    const Value& other = side == 0 ? *b : *a;
    if (!c.constant) continue;
    Tri t = TriOf(ConstOf(c));
    if (t == Tri::kNull) continue;
    if (is_and) return t == Tri::kFalse ? Const(Scalar::Bool(false)) : other;
    return t == Tri::kTrue ? Const(Scalar::Bool(true)) : other;
  }
  if (a->constant && b->constant) return Const(Scalar());  // null and/or null
  if (is_and) return And(*a, *b);
  Node n;
  n.op = Op::kOr;
  n.a = a->node;
  n.b = b->node;
  Value v;
  v.node = Add(n);
  v.type = SType::kBool;
  v.predicate = true;
  v.fields = a->fields;
  MergeFields(v.fields, b->fields);
  return v;
}

std::optional<Value> Compiler::CompileCompare(const Expr& e) {
  auto op = static_cast<CompareOp>(e.op);
  auto a = Compile(e.args[0]);
  auto b = Compile(e.args[1]);
  if (!a || !b) return std::nullopt;
  // Elasticsearch refuses field-to-field comparisons, but an optional field
  // missing from the mapping is the constant null there (`?x == ?y` in its
  // QA suites). Without a mapping, a comparison with an optional field is
  // evaluated per event, which agrees with Elasticsearch whenever it accepts
  // the query.
  const bool any_optional = e.args[0].optional || e.args[1].optional;
  if (a->is_field && b->is_field && any_optional && !in_optional_rewrite_ &&
      (op == CompareOp::kEq || op == CompareOp::kNe)) {
    // A missing optional field is the literal null in Elasticsearch, and
    // `x == null` is the test "x is missing". So `?x == ?y` holds when both
    // are missing, or when both are there and equal; `?x != ?y` when exactly
    // one is missing, or both are there and differ.
    auto null_test = [&](const Expr& f, bool is_null) {
      Expr t;
      t.kind = ast::ExprKind::kCompare;
      t.op = static_cast<uint8_t>(is_null ? CompareOp::kEq : CompareOp::kNe);
      t.loc = f.loc;
      t.args.push_back(f);
      Expr null_literal;
      null_literal.kind = ast::ExprKind::kNull;
      null_literal.loc = f.loc;
      t.args.push_back(std::move(null_literal));
      return t;
    };
    auto both = [&](ast::ExprKind kind, Expr l, Expr r) {
      Expr t;
      t.kind = kind;
      t.loc = e.loc;
      t.args.push_back(std::move(l));
      t.args.push_back(std::move(r));
      return t;
    };
    Expr rewritten;
    if (op == CompareOp::kEq) {
      rewritten = both(
          ast::ExprKind::kOr,
          both(ast::ExprKind::kAnd, null_test(e.args[0], true), null_test(e.args[1], true)), e);
    } else {
      rewritten = both(
          ast::ExprKind::kOr,
          both(ast::ExprKind::kOr,
               both(ast::ExprKind::kAnd, null_test(e.args[0], true), null_test(e.args[1], false)),
               both(ast::ExprKind::kAnd, null_test(e.args[0], false), null_test(e.args[1], true))),
          e);
    }
    in_optional_rewrite_ = true;
    auto value = Compile(rewritten);
    in_optional_rewrite_ = false;
    return value;
  }
  if (a->is_field && b->is_field && !any_optional) {
    return Error(e.args[1].loc, Cat("Comparisons against fields are not (currently) supported; "
                                    "offender [",
                                    FieldPath(e.args[1]), "] in [", CompareText(op), "]"));
  }
  // x == null / x != null: the existence tests (null == null is true).
  bool null_a = a->constant && a->type == SType::kNull;
  bool null_b = b->constant && b->type == SType::kNull;
  if ((op == CompareOp::kEq || op == CompareOp::kNe) && (null_a || null_b) && a->constant &&
      b->constant) {
    return Const(Scalar::Bool((null_a && null_b) == (op == CompareOp::kEq)));
  }
  if (a->constant && b->constant) return Const(ScalarOf(Compare(op, ConstOf(*a), ConstOf(*b))));
  if ((op == CompareOp::kEq || op == CompareOp::kNe) &&
      ((a->constant && a->type == SType::kNull) || (b->constant && b->type == SType::kNull))) {
    const Value& x = a->constant ? *b : *a;
    Node n;
    n.negate = op == CompareOp::kEq;
    if (x.is_field) {
      n.op = Op::kFieldNotNull;
      n.a = x.field;
    } else {
      n.op = Op::kNotNull;
      n.a = x.node;
    }
    return Predicate(n, x.fields);
  }
  if ((a->constant && a->type == SType::kNull) || (b->constant && b->type == SType::kNull)) {
    return Const(Scalar());  // x < null is null
  }
  // Field against constant: the fast path, and date semantics.
  if ((a->is_field && b->constant) || (b->is_field && a->constant)) {
    const Value& field = a->is_field ? *a : *b;
    const Value& constant = a->is_field ? *b : *a;
    CompareOp fop = a->is_field ? op : Mirror(op);
    Scalar c = ConstOf(constant);
    Node n;
    n.op = Op::kFieldCompare;
    n.a = field.field;
    if (field.date) {
      n.date = true;
      if (c.type == Scalar::Type::kString) {
        auto millis = io::ParseDateMillis(c.s);
        if (!millis) {
          return Error(e.args[a->is_field ? 1 : 0].loc,
                       Cat("cannot parse [", c.s, "] as a date for field [",
                           registry_.Name(field.field), "]"));
        }
        c = Scalar::Int(*millis);
      } else if (c.type == Scalar::Type::kDouble) {
        auto millis = io::TimestampMillis(c);  // range-checked truncation
        if (!millis) {
          return Error(e.loc, Cat("the number is out of range for a date field [",
                                  registry_.Name(field.field), "]"));
        }
        c = Scalar::Int(*millis);
      } else if (c.type != Scalar::Type::kInt) {
        return Error(e.loc, Cat("a date field cannot be compared with a ", TypeName(TypeOf(c))));
      }
    }
    if (fop == CompareOp::kNe) {
      fop = CompareOp::kEq;
      n.negate = true;
    }
    n.sub = static_cast<uint8_t>(fop);
    Value cv = Const(c);
    n.b = program_->nodes[cv.node].a;
    return Predicate(n, field.fields);
  }
  // A comparison over computed values is a script: `!=` is tested per value
  // combination (any(a != b)), unlike a field's `!=`, which is must_not.
  Node n;
  n.op = Op::kCompare;
  n.a = a->node;
  n.b = b->node;
  n.sub = static_cast<uint8_t>(op);
  std::vector<io::FieldId> fields = a->fields;
  MergeFields(fields, b->fields);
  return Predicate(n, fields);
}

std::optional<Value> Compiler::CompileMatch(const Expr& e) {
  auto mop = static_cast<ast::MatchOp>(e.op);
  const char* op_text =
      mop == ast::MatchOp::kColon ? ":" : (mop == ast::MatchOp::kLike ? "like" : "regex");
  auto subject = Compile(e.args[0]);
  MatchSet set;
  set.regex = mop == ast::MatchOp::kRegex;
  set.case_insensitive = mop == ast::MatchOp::kColon || e.case_insensitive;
  bool ok = subject.has_value();
  if (subject && subject->type != SType::kUnknown && subject->type != SType::kString &&
      subject->type != SType::kNull) {
    Error(e.args[0].loc, Cat("first argument of [", op_text, "] must be [string], found [",
                             TypeName(subject->type), "]"));
    ok = false;
  }
  for (size_t i = 1; i < e.args.size(); ++i) {
    auto p = Compile(e.args[i]);
    if (!p) {
      ok = false;
      continue;
    }
    if (!p->constant || p->type != SType::kString) {
      Error(e.args[i].loc, Cat("pattern of [", op_text, "] must be a string constant"));
      ok = false;
      continue;
    }
    std::string_view text = ConstOf(*p).s;
    if (set.regex) {
      RegexTranslation t = TranslateLuceneRegex(text);
      if (!t.error.empty()) {
        Error(e.args[i].loc, Cat("invalid regular expression [", text, "]: ", t.error));
        ok = false;
        continue;
      }
      RE2::Options o;
      o.set_log_errors(false);
      o.set_dot_nl(true);
      o.set_case_sensitive(!set.case_insensitive);
      auto re = std::make_shared<const RE2>(t.pattern, o);
      if (!re->ok()) {
        Error(e.args[i].loc, Cat("invalid regular expression [", text, "]: ", re->error()));
        ok = false;
        continue;
      }
      set.regex_required.push_back(
          RegexRequiredLiteral(t.pattern, !set.case_insensitive, /*dot_nl=*/true));
      set.regexes.push_back(std::move(re));
    } else {
      set.wildcards.push_back(WildcardPattern::Compile(text, set.case_insensitive));
    }
  }
  if (!ok) return std::nullopt;
  program_->match_sets.push_back(std::move(set));
  uint32_t index = static_cast<uint32_t>(program_->match_sets.size() - 1);
  Node n;
  n.b = index;
  n.case_insensitive = program_->match_sets.back().case_insensitive;
  if (subject->constant) {
    // Fold: run the predicate once on the constant subject.
    const Scalar& s = ConstOf(*subject);
    if (s.is_null()) return Const(Scalar());
    const MatchSet& m = program_->match_sets.back();
    std::string_view text = s.s;
    std::string folded = m.case_insensitive && !m.regex ? FoldCase(text) : std::string(text);
    bool hit = false;
    for (const auto& w : m.wildcards) hit = hit || w.Matches(folded);
    for (const auto& r : m.regexes) hit = hit || RE2::FullMatch(text, *r);
    return Const(Scalar::Bool(hit));
  }
  if (subject->is_field) {
    n.op = Op::kFieldMatch;
    n.a = subject->field;
  } else {
    n.op = Op::kMatch;
    n.a = subject->node;
  }
  return Predicate(n, subject->fields);
}

std::optional<Value> Compiler::CompileIn(const Expr& e) {
  auto subject = Compile(e.args[0]);
  InSet set;
  set.case_insensitive = e.case_insensitive;
  std::vector<uint32_t> dynamic;
  std::vector<io::FieldId> fields;
  bool ok = subject.has_value();
  if (subject) fields = subject->fields;
  for (size_t i = 1; i < e.args.size(); ++i) {
    auto item = Compile(e.args[i]);
    if (!item) {
      ok = false;
      continue;
    }
    if (!item->constant) {
      if (item->is_field && subject && subject->is_field) {
        Error(e.args[i].loc, Cat("Comparisons against fields are not (currently) supported; "
                                 "offender [",
                                 FieldPath(e.args[i]), "] in [in]"));
        ok = false;
        continue;
      }
      dynamic.push_back(item->node);
      MergeFields(fields, item->fields);
      continue;
    }
    const Scalar& c = ConstOf(*item);
    switch (c.type) {
      case Scalar::Type::kNull:
        break;  // never equal to anything: ignored, as a terms query ignores it
      case Scalar::Type::kBool:
        (c.b ? set.has_true : set.has_false) = true;
        break;
      case Scalar::Type::kInt:
      case Scalar::Type::kDouble:
        set.numbers.push_back(c);
        break;
      case Scalar::Type::kString:
        set.strings.insert(set.case_insensitive ? FoldCase(c.s) : std::string(c.s));
        break;
    }
  }
  if (!ok) return std::nullopt;
  program_->in_sets.push_back(std::move(set));
  Node n;
  n.negate = e.negated;
  n.case_insensitive = e.case_insensitive;
  n.b = static_cast<uint32_t>(program_->in_sets.size() - 1);
  n.c = List(dynamic);
  n.d = static_cast<uint32_t>(dynamic.size());
  if (subject->is_field && dynamic.empty()) {
    n.op = Op::kFieldIn;
    n.a = subject->field;
  } else {
    n.op = Op::kIn;
    n.a = subject->node;
  }
  if (subject->constant && dynamic.empty()) {
    // Fold by evaluating on the constant: same code as the evaluator's.
    const Scalar& s = ConstOf(*subject);
    if (s.is_null()) return Const(Scalar());
    const InSet& in = program_->in_sets.back();
    bool hit = false;
    switch (s.type) {
      case Scalar::Type::kBool:
        hit = s.b ? in.has_true : in.has_false;
        break;
      case Scalar::Type::kString:
        hit = in.strings.contains(in.case_insensitive ? FoldCase(s.s) : std::string(s.s));
        if (!hit) {
          for (const Scalar& x : in.numbers)
            hit = hit || Compare(CompareOp::kEq, s, x) == Tri::kTrue;
        }
        break;
      default:
        for (const Scalar& x : in.numbers) hit = hit || Compare(CompareOp::kEq, s, x) == Tri::kTrue;
        break;
    }
    return Const(Scalar::Bool(hit != e.negated));
  }
  return Predicate(n, fields);
}

std::optional<Value> Compiler::CompileArith(const Expr& e) {
  if (e.kind == ExprKind::kNegate) {
    auto a = Compile(e.args[0]);
    if (!a) return a;
    if (a->type != SType::kUnknown && a->type != SType::kNumber && a->type != SType::kNull) {
      return Error(e.loc, Cat("argument of [-] must be [number], found [", TypeName(a->type), "]"));
    }
    if (a->constant) return Const(Negate(ConstOf(*a)));
    Node n;
    n.op = Op::kNegate;
    n.a = a->node;
    Value v;
    v.node = Add(n);
    v.type = SType::kNumber;
    v.fields = a->fields;
    return v;
  }
  auto a = Compile(e.args[0]);
  auto b = Compile(e.args[1]);
  if (!a || !b) return std::nullopt;
  static const char* kOps[] = {"+", "-", "*", "/", "%"};
  for (const Value* v : {&*a, &*b}) {
    if (v->type != SType::kUnknown && v->type != SType::kNumber && v->type != SType::kNull) {
      return Error(e.loc, Cat("arguments of [", kOps[e.op], "] must be [number], found [",
                              TypeName(v->type), "]"));
    }
  }
  auto op = static_cast<ast::ArithOp>(e.op);
  if (a->constant && b->constant) return Const(Arithmetic(op, ConstOf(*a), ConstOf(*b)));
  Node n;
  n.op = Op::kArith;
  n.sub = e.op;
  n.a = a->node;
  n.b = b->node;
  Value v;
  v.node = Add(n);
  v.type = SType::kNumber;
  v.fields = a->fields;
  MergeFields(v.fields, b->fields);
  return v;
}

std::optional<Value> Compiler::CompileCall(const Expr& e) {
  const FunctionInfo* f = FindFunction(e.text);
  if (f == nullptr) return Error(e.loc, Cat("Unknown function [", e.text, "]"));
  if (e.case_insensitive && !f->allows_insensitive) {
    return Error(e.loc, Cat("function [", f->name, "] does not support case-insensitive (~)"));
  }
  int n_args = static_cast<int>(e.args.size());
  if (n_args < f->min_args || (f->max_args >= 0 && n_args > f->max_args)) {
    std::string expected = f->max_args < 0              ? Cat("at least ", f->min_args)
                           : f->min_args == f->max_args ? Cat(f->min_args)
                                                        : Cat(f->min_args, " to ", f->max_args);
    return Error(
        e.loc, Cat("function [", f->name, "] expects ", expected, " argument(s), found ", n_args));
  }
  std::vector<Value> args;
  bool ok = true;
  for (const Expr& arg : e.args) {
    auto v = Compile(arg);
    if (!v) {
      ok = false;
      args.emplace_back();
      continue;
    }
    args.push_back(*v);
  }
  if (!ok) return std::nullopt;
  // Expected kinds of the arguments, checked when the argument's type is known.
  auto expect = [&](size_t i, SType want, const char* what) -> bool {
    if (i >= args.size()) return true;
    SType t = args[i].type;
    if (t == SType::kUnknown || t == SType::kNull || t == want) return true;
    Error(e.args[i].loc, Cat(ordinal(i), " argument of [", f->name, "] must be [", what,
                             "], found [", TypeName(t), "]"));
    return false;
  };
  std::vector<CidrBlock> cidrs;
  switch (f->function) {
    case Function::kAdd:
    case Function::kSubtract:
    case Function::kMultiply:
    case Function::kDivide:
    case Function::kModulo:
      ok = expect(0, SType::kNumber, "number") & expect(1, SType::kNumber, "number");
      break;
    case Function::kBetween:
      ok = expect(0, SType::kString, "string") & expect(1, SType::kString, "string") &
           expect(2, SType::kString, "string");
      if (args.size() > 3 && !(args[3].constant && args[3].type == SType::kBool)) {
        Error(e.args[3].loc, "fourth argument of [between] (greedy) must be a boolean constant");
        ok = false;
      }
      break;
    case Function::kCidrMatch:
      ok = expect(0, SType::kString, "ip");
      for (size_t i = 1; i < args.size(); ++i) {
        if (!args[i].constant || args[i].type != SType::kString) {
          Error(e.args[i].loc, "CIDR blocks of [cidrMatch] must be string constants");
          ok = false;
          continue;
        }
        auto block = ParseCidr(ConstOf(args[i]).s);
        if (!block) {
          Error(e.args[i].loc, Cat("invalid CIDR block [", ConstOf(args[i]).s, "]"));
          ok = false;
          continue;
        }
        cidrs.push_back(*block);
      }
      break;
    case Function::kConcat:
    case Function::kString:
      break;
    case Function::kEndsWith:
    case Function::kStartsWith:
    case Function::kStringContains:
      ok = expect(0, SType::kString, "string") & expect(1, SType::kString, "string");
      break;
    case Function::kIndexOf:
      ok = expect(0, SType::kString, "string") & expect(1, SType::kString, "string") &
           expect(2, SType::kNumber, "number");
      break;
    case Function::kLength:
      ok = expect(0, SType::kString, "string");
      break;
    case Function::kNumber:
      ok = expect(0, SType::kString, "string") & expect(1, SType::kNumber, "integer");
      if (ok && args.size() > 1 && args[1].constant && args[1].type == SType::kNumber) {
        const Scalar& base = ConstOf(args[1]);
        if (base.type != Scalar::Type::kInt || base.i < 2 || base.i > 36) {
          Error(e.args[1].loc, "base of [number] must be an integer from 2 to 36");
          ok = false;
        }
      }
      break;
    case Function::kSubstring:
      ok = expect(0, SType::kString, "string") & expect(1, SType::kNumber, "number") &
           expect(2, SType::kNumber, "number");
      break;
  }
  if (!ok) return std::nullopt;
  SType result = SType::kUnknown;
  switch (f->function) {
    case Function::kAdd:
    case Function::kSubtract:
    case Function::kMultiply:
    case Function::kDivide:
    case Function::kModulo:
    case Function::kIndexOf:
    case Function::kLength:
    case Function::kNumber:
      result = SType::kNumber;
      break;
    case Function::kBetween:
    case Function::kConcat:
    case Function::kString:
    case Function::kSubstring:
      result = SType::kString;
      break;
    case Function::kCidrMatch:
    case Function::kEndsWith:
    case Function::kStartsWith:
    case Function::kStringContains:
      result = SType::kBool;
      break;
  }
  bool all_constant =
      std::all_of(args.begin(), args.end(), [](const Value& v) { return v.constant; });
  if (all_constant) {
    std::vector<Scalar> values;
    for (const Value& v : args) values.push_back(ConstOf(v));
    arena_.Reset();
    Scalar r = CallFunction(f->function, e.case_insensitive, values, &cidrs, arena_);
    return Const(r);  // Const copies a string result out of the arena
  }
  Node n;
  n.op = Op::kCall;
  n.sub = static_cast<uint8_t>(f->function);
  n.case_insensitive = e.case_insensitive;
  std::vector<uint32_t> children;
  std::vector<io::FieldId> fields;
  for (const Value& v : args) {
    children.push_back(v.node);
    MergeFields(fields, v.fields);
  }
  n.a = List(children);
  n.b = static_cast<uint32_t>(children.size());
  if (f->function == Function::kCidrMatch) {
    program_->cidr_sets.push_back(std::move(cidrs));
    n.c = static_cast<uint32_t>(program_->cidr_sets.size());
  }
  Value v;
  v.node = Add(n);
  v.type = result;
  v.fields = fields;
  return v;
}

Value Compiler::MakeFieldEquals(io::FieldId field, std::string_view text) {
  Value c = Const(Scalar::String(text));
  Node n;
  n.op = Op::kFieldCompare;
  n.sub = static_cast<uint8_t>(CompareOp::kEq);
  n.a = field;
  n.b = program_->nodes[c.node].a;
  return Predicate(n, {field});
}

}  // namespace

std::string FieldPath(const ast::Expr& field) {
  std::string out;
  for (const ast::PathSegment& seg : field.path) {
    if (seg.index.has_value()) {
      CatTo(out, "[", *seg.index, "]");
      continue;
    }
    if (!out.empty()) out.push_back('.');
    out += seg.name;
  }
  if (out.empty()) out = field.text;
  return out;
}

Compiled<CompiledCondition> CompileCondition(const ast::Expr& condition, io::FieldRegistry& fields,
                                             const CompileOptions& options,
                                             std::string_view query_text) {
  Compiled<CompiledCondition> out;
  Compiler c(fields, options, query_text);
  auto v = c.AsCondition(c.Compile(condition), condition);
  if (!v || !c.diagnostics.empty()) {
    out.diagnostics = std::move(c.diagnostics);
    return out;
  }
  out.value = CompiledCondition{c.FinishCondition(v->node)};
  return out;
}

Compiled<CompiledEventQuery> CompileEventQuery(const ast::EventQuery& query,
                                               io::FieldRegistry& fields,
                                               const CompileOptions& options,
                                               std::string_view query_text) {
  Compiled<CompiledEventQuery> out;
  io::FieldId category_field = fields.Intern(options.category_field);
  auto where = CompileCondition(query.condition, fields, options, query_text);
  if (!where.ok()) {
    out.diagnostics = std::move(where.diagnostics);
    return out;
  }
  CompiledEventQuery q;
  q.category = query.category;
  q.is_any = query.is_any;
  q.category_field = category_field;
  q.where = *where.value;
  if (query.is_any) {
    q.condition = q.where;
  } else {
    Compiler c(fields, options, query_text);
    Value category = c.MakeFieldEquals(category_field, query.category);
    auto cond = c.AsCondition(c.Compile(query.condition), query.condition);
    if (!cond) {
      out.diagnostics = std::move(c.diagnostics);
      return out;
    }
    // A condition folded to a constant decides alone (or with the category).
    Value root = c.And(category, *cond);
    q.condition = CompiledCondition{c.FinishCondition(root.node)};
  }
  out.value = std::move(q);
  return out;
}

Compiled<CompiledExpr> CompileExpr(const ast::Expr& expr, io::FieldRegistry& fields,
                                   const CompileOptions& options, std::string_view query_text) {
  Compiled<CompiledExpr> out;
  Compiler c(fields, options, query_text);
  auto v = c.Compile(expr);
  if (!v || !c.diagnostics.empty()) {
    out.diagnostics = std::move(c.diagnostics);
    return out;
  }
  CompiledExpr x;
  x.is_field = v->is_field;
  x.field = v->field;
  x.optional = v->optional;
  x.program = c.Finish(v->node);
  out.value = std::move(x);
  return out;
}

// ----- Explain --------------------------------------------------------------

std::string Program::Explain() const {
  static const char* kOps[] = {"const",   "field",       "and",     "or",           "not",
                               "truthy",  "compare",     "notnull", "match",        "in",
                               "arith",   "negate",      "call",    "fieldcompare", "fieldmatch",
                               "fieldin", "fieldnotnull"};
  std::string out;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    CatTo(out, i == root ? "*" : " ", i, ": ", kOps[static_cast<int>(n.op)]);
    if (n.negate) out += " negate";
    if (n.case_insensitive) out += " ~";
    if (n.date) out += " date";
    if (n.two_valued) out += " 2vl";
    if (n.script) out += " script";
    CatTo(out, " sub=", n.sub, " a=", n.a, " b=", n.b);
    if (n.op == Op::kConst) CatTo(out, " ", consts[n.a].ToJson());
    out += "\n";
  }
  return out;
}

}  // namespace eql::analysis
