"""Type stub of the libeql extension module (python/libeql_module.cpp)."""
from os import PathLike
from typing import Any, Callable, Iterable, Iterator, Literal, Mapping, Sequence, TypedDict, Union

__version__: str

JsonValue = Union[None, bool, int, float, str, list[Any], dict[str, Any]]
Event = Mapping[str, Any]
"""An event: a dict of JSON values (str keys; None, bool, int, float, str,
lists and dicts)."""

class DiagnosticDict(TypedDict):
    line: int
    column: int
    message: str
    caret: str

class EqlSyntaxError(ValueError):
    """A query that does not parse or compile."""
    line: int
    column: int
    message: str
    caret: str
    diagnostics: list[DiagnosticDict]

class EventError(ValueError):
    """An event that cannot be read (malformed JSON, not an object, too large,
    or a dict holding a value JSON cannot hold)."""

class Query:
    """A parsed EQL query."""
    @property
    def text(self) -> str: ...
    @property
    def kind(self) -> Literal["event", "sequence", "sample"]: ...
    @property
    def source(self) -> str: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

def parse(query: str) -> Query:
    """Parse one EQL query; raise EqlSyntaxError when it does not parse."""

class RuleDict(TypedDict, total=False):
    query: str
    name: str
    rule_id: str
    id: str
    severity: str
    risk_score: float
    origin: str

def load_rules(path: Union[str, PathLike[str]], errors: list[str] | None = None) -> list[RuleDict]:
    """Read rules from a .eql, .toml or .jsonl file or a folder of them."""

class AlertRule(TypedDict):
    name: str
    id: str
    severity: str
    risk_score: float

class Alert(TypedDict, total=False):
    rule: AlertRule
    join_keys: list[JsonValue]
    """Sequences and samples only."""
    events: list[dict[str, Any]]
    """The events, as pushed; {"missing": True} for a missing-event stage."""

class RuleStats(TypedDict):
    name: str
    alerts: int
    partials_live: int
    partials_created: int
    partials_completed: int
    partials_expired: int
    partials_evicted: int

class SourceStats(TypedDict):
    """Per data source (engines with a source other than "ecs")."""
    records: int
    normalized: int
    passed_through: int
    unrecognized: int

class Stats(TypedDict):
    events_in: int
    events_malformed: int
    events_no_timestamp: int
    events_late: int
    events_processed: int
    alerts: int
    partials_live: int
    partials_expired: int
    partials_evicted: int
    sources: dict[str, SourceStats]
    rules: list[RuleStats]

class RejectedRule(TypedDict):
    index: int
    name: str
    query: str
    diagnostics: list[DiagnosticDict]

Rules = Union[str, Mapping[str, Any], Iterable[Union[str, Mapping[str, Any]]]]
EventInput = Union[Event, str, bytes, bytearray]

class Engine:
    """Runs a set of EQL rules over a stream of events in one pass."""
    def __init__(
        self,
        rules: Rules,
        *,
        source: Literal["ecs", "sysmon", "winsec", "crowdstrike", "mde", "sentinelone",
                        "auto"] = "ecs",
        batch: bool = False,
        allowed_lateness: Union[int, str] = 0,
        max_partials: int = 1_000_000,
        max_partials_total: int = 10_000_000,
        timestamp_field: str = "@timestamp",
        category_field: str = "event.category",
        tiebreaker_field: str | None = None,
        late_policy: Literal["drop", "process"] = "drop",
        max_event_bytes: int = 16 << 20,
    ) -> None: ...
    def push(self, event: EventInput) -> list[Alert]: ...
    def push_many(
        self,
        events: Iterable[EventInput],
        *,
        flush: bool = False,
        on_error: Callable[[int, str], Any] | None = None,
    ) -> Iterator[Alert]: ...
    def run_file(
        self,
        path: Union[str, PathLike[str]],
        *,
        flush: bool = True,
        on_error: Callable[[int, str], Any] | None = None,
    ) -> Iterator[Alert]: ...
    def checkpoint(self) -> bytes:
        """The engine's whole state as bytes, to survive a restart (nothing is flushed)."""
        ...
    def restore(self, state: bytes) -> None:
        """Replaces the state with a checkpoint's; ValueError if it is not one, is corrupt, or was
        made with other rules or options."""
        ...
    def flush(self) -> list[Alert]: ...
    @property
    def stats(self) -> Stats: ...
    @property
    def rejected(self) -> list[RejectedRule]: ...
    @property
    def rules(self) -> list[RuleDict]: ...
