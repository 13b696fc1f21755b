"""``lambdalite bench --remote FUNCTION``: bench's measurements on a deployed function, via boto3.

    result = bench_remote(RemoteOptions(function="my-fn", memory_sizes=(1024, 3008)))
    print(render_remote(result))             # lambdalite.benchmark.remote_table

For each MemorySize of the sweep, ``cold_starts`` forced cold starts: UpdateFunctionConfiguration
with that MemorySize and a new value of ``LAMBDALITE_BENCH_COLD_START`` in the Environment (as
AWS Lambda Power Tuning forces them: a configuration change retires the function's execution
environments), wait until ``LastUpdateStatus`` is Successful (boto3's ``function_updated``
waiter), Invoke. Then ``warmup`` calls (not recorded) and ``warm`` recorded ones. Every Invoke
asks for ``LogType=Tail``: the REPORT line of its base64 log tail gives Duration, Billed
Duration, Memory Size, Max Memory Used and Init Duration (``Report.parse``, the reader of the
line the local Lambda writes). Cost per million comes from the billed durations and the
function's architecture. The function's original MemorySize and Environment are put back at the
end, also after an error or Ctrl-C.

The event is the one ``lambdalite bench`` sends for ``model``; the local half of the side-by-side
table is ``lambdalite bench`` of that model (the variant the function serves) through the local
Lambda at the same MemorySizes. boto3 takes ``region``, ``profile`` and ``endpoint_url`` as its own
configuration does (None: its environment variables and config files decide).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lambdalite import envvars
from lambdalite import progress as progress_
from lambdalite.benchmark.config import (
    DEFAULT_RUNTIME,
    FULL,
    QUICK,
    TF_ROW,
    BenchConfig,
    BenchOptions,
    config_for,
)
from lambdalite.benchmark.cost import DEFAULT_COLD_FRACTION, cost_from_billed
from lambdalite.benchmark.models import make_event, resolve_model
from lambdalite.benchmark.runner import run_bench, total_units
from lambdalite.benchmark.stats import Summary, summarize
from lambdalite.errors import DependencyError, LambdaliteError, OptionError
from lambdalite.lambda_facts import MEMORY_MAX_MB, MEMORY_MIN_MB
from lambdalite.local.engine_types import Report
from lambdalite.manifest import Manifest

if TYPE_CHECKING:
    from lambdalite.benchmark.results import BenchResult, CellResult

WAIT_DELAY_S = 1          # between polls of LastUpdateStatus (boto3's default is 5 s)
WAIT_ATTEMPTS = 300       # 5 minutes: an update of a large image function can take minutes
NO_COLD_START = ("the call after a configuration change was not a cold start (no Init "
                 "Duration): provisioned concurrency or SnapStart serve this function")


class RemoteError(DependencyError):
    """A call to the Lambda API failed, or its answer was not what bench can measure."""


@dataclass(frozen=True)
class RemoteOptions:
    """What ``bench_remote`` measures; None takes the default."""

    function: str                                 # name, ARN or partial ARN
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    model: str | Path = "mnist"                   # the event's source and the local run's model
    # The Lambda event (JSON file) every invocation sends, the deployed function's and the local
    # row's; None: the model's own (benchmark/models.py: an example's event, a noise PNG, or
    # seeded tensors)
    event: Path | None = None
    # The local row: None takes the function's LAMBDALITE_BACKEND/LAMBDALITE_VARIANT, else the
    # manifest's default variant.
    variant: str | None = None
    memory_sizes: tuple[int, ...] | None = None   # None: the function's own MemorySize
    cold_starts: int | None = None
    warm: int | None = None
    warmup: int | None = None
    quick: bool = False
    compare_local: bool = True                    # also measure locally, for the ratios
    runtime: str = DEFAULT_RUNTIME                # the local run's runtime
    cold_fraction: float = DEFAULT_COLD_FRACTION
    out: Path = Path("bench-results")


@dataclass(frozen=True)
class RemoteSample:
    report: Report
    round_trip_ms: float          # the client's view: Invoke request to response, network too
    cold: bool                    # the REPORT line had an Init Duration


@dataclass(frozen=True)
class RemoteCell:
    memory_mb: int
    cold: tuple[RemoteSample, ...] = ()
    warm: tuple[RemoteSample, ...] = ()
    error: str | None = None      # why the cell stopped early
    error_type: str | None = None

    def cold_start(self) -> Summary | None:
        """Init Duration + first Duration, as ``CellResult.cold_start``."""
        vals = [(s.report.init_duration_ms or 0.0) + s.report.duration_ms
                for s in self.cold if s.cold]
        return summarize(vals) if vals else None

    def warm_duration(self) -> Summary | None:
        return summarize([s.report.duration_ms for s in self.warm]) if self.warm else None

    def max_memory_mb(self) -> int | None:
        used = [s.report.max_memory_used_mb for s in (*self.cold, *self.warm)]
        measured = [u for u in used if u is not None]
        return max(measured) if measured else None

    def cost(self, arch: str, cold_fraction: float) -> float | None:
        """USD per million requests from the billed durations (cold: INIT is billed too)."""
        cold = [s.report.billed_duration_ms for s in self.cold if s.cold]
        warm = [s.report.billed_duration_ms for s in self.warm]
        if not cold or not warm:
            return None
        return cost_from_billed(self.memory_mb, sum(warm) / len(warm), sum(cold) / len(cold),
                                cold_fraction, arch)


@dataclass(frozen=True)
class RemoteResult:
    function: str
    function_arn: str
    architecture: str
    runtime: str | None           # None: an image function
    endpoint_url: str | None
    region: str | None
    original: dict[str, Any]      # MemorySize and Environment before the run (put back after)
    cells: tuple[RemoteCell, ...]
    event: str
    settings: dict[str, object]
    started: str
    finished: str
    local_row: str | None = None  # the local run's row (variant or tf)
    local: BenchResult | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def cold_fraction(self) -> float:
        value = self.settings.get("cold_fraction", DEFAULT_COLD_FRACTION)
        return float(value) if isinstance(value, int | float) else DEFAULT_COLD_FRACTION

    def cell(self, memory_mb: int) -> RemoteCell | None:
        return next((c for c in self.cells if c.memory_mb == memory_mb), None)

    def to_dict(self) -> dict[str, object]:
        data = asdict(replace(self, local=None))
        data["local"] = self.local.to_dict() if self.local is not None else None
        data["summaries"] = [{
            "memory_mb": c.memory_mb,
            "cold_start_ms": _dict(c.cold_start()), "warm_duration_ms": _dict(c.warm_duration()),
            "max_memory_used_mb": c.max_memory_mb(),
            "cost_per_million_usd": c.cost(self.architecture, self.cold_fraction),
            "error": c.error,
        } for c in self.cells]
        data["comparison"] = [c.to_dict() for c in comparisons(self)]
        return data

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: Path) -> RemoteResult:
        """What ``save`` wrote (its summaries and comparison are computed again, not read)."""
        from lambdalite.benchmark.results import BenchResult

        data = json.loads(path.read_text())
        for computed in ("summaries", "comparison"):
            data.pop(computed, None)

        def samples(items: list[dict[str, Any]]) -> tuple[RemoteSample, ...]:
            return tuple(RemoteSample(**{**s, "report": Report(**s["report"])}) for s in items)

        cells = tuple(RemoteCell(**{**c, "cold": samples(c["cold"]), "warm": samples(c["warm"])})
                      for c in data.pop("cells"))
        local = data.pop("local")
        return cls(cells=cells, notes=tuple(data.pop("notes")),
                   local=BenchResult.from_dict(local) if local is not None else None, **data)

    @staticmethod
    def is_one(path: Path) -> bool:
        """Whether the JSON file at ``path`` is a saved remote result (not a local bench's)."""
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return False
        return isinstance(data, dict) and "function_arn" in data


def _dict(summary: Summary | None) -> dict[str, float | int] | None:
    return summary.to_dict() if summary else None


@dataclass(frozen=True)
class Comparison:
    """One MemorySize, local and remote: (local, remote) of each figure; None: not measured."""

    memory_mb: int
    cold_start_ms: tuple[float | None, float | None]
    warm_p50_ms: tuple[float | None, float | None]
    max_memory_mb: tuple[int | None, int | None]
    remote_cost: float | None

    @staticmethod
    def ratio(pair: tuple[float | None, float | None]) -> float | None:
        local, remote = pair
        return remote / local if local and remote is not None else None

    def to_dict(self) -> dict[str, object]:
        return {
            "memory_mb": self.memory_mb, "remote_cost_per_million_usd": self.remote_cost,
            **{name: {"local": pair[0], "remote": pair[1], "ratio": self.ratio(pair)}
               for name, pair in (("cold_start_ms", self.cold_start_ms),
                                  ("warm_p50_ms", self.warm_p50_ms),
                                  ("max_memory_used_mb", self.max_memory_mb))},
        }


def comparisons(result: RemoteResult) -> list[Comparison]:
    out = []
    for cell in result.cells:
        local = result.local.cell(result.local_row, cell.memory_mb) if (
            result.local is not None and result.local_row is not None) else None
        out.append(compare(local, cell, result.architecture, result.cold_fraction))
    return out


def compare(local: CellResult | None, remote: RemoteCell, arch: str,
            cold_fraction: float) -> Comparison:
    local_cold = local.cold_start() if local else None
    local_warm = local.summary("warm") if local else None
    remote_cold, remote_warm = remote.cold_start(), remote.warm_duration()
    return Comparison(
        memory_mb=remote.memory_mb,
        cold_start_ms=(local_cold.p50 if local_cold else None,
                       remote_cold.p50 if remote_cold else None),
        warm_p50_ms=(local_warm.p50 if local_warm else None,
                     remote_warm.p50 if remote_warm else None),
        max_memory_mb=(local.max_memory_mb() if local else None, remote.max_memory_mb()),
        remote_cost=remote.cost(arch, cold_fraction))


# -- the run ---------------------------------------------------------------------------------

def bench_remote(options: RemoteOptions, *,
                 progress: progress_.Progress | None = None) -> RemoteResult:
    """``lambdalite.bench_remote``: measure the deployed function, then (``compare_local``) the
    same model locally. ``progress``: one unit per configuration change and per invocation,
    and the local run's units."""
    say = progress_.resolve(progress)
    counts = _counts(options)
    _check_unqualified(options.function)
    client = lambda_client(options.region, options.profile, options.endpoint_url)
    model_dir = resolve_model(options.model, progress_.nested(say))
    manifest = Manifest.load(model_dir)
    event = make_event(model_dir, manifest, options.event)
    started = _now()
    remote = Remote(client, options.function)
    original = remote.configuration()
    sweep = _sweep(options.memory_sizes, original)
    cold_starts, warmup, warm = counts
    local_row = _local_row(options.variant, original, manifest) if options.compare_local else None
    local_config = _local_config(options, model_dir, local_row, sweep, counts) if local_row else None
    say.total(len(sweep) * (2 * cold_starts + warmup + warm) + 1
              + (total_units(local_config, 1) if local_config else 0))
    cells = remote.sweep(sweep, original, counts, event.payload, say)
    architecture = (original.get("Architectures") or ["x86_64"])[0]
    notes = [NO_COLD_START] if any(not s.cold for c in cells for s in c.cold) else []
    local = run_bench(local_config, _Forward(say)) if local_config else None
    return RemoteResult(
        function=original.get("FunctionName", options.function),
        function_arn=original.get("FunctionArn", ""), architecture=architecture,
        runtime=original.get("Runtime"), endpoint_url=options.endpoint_url,
        region=client.meta.region_name, original=_kept(original), cells=tuple(cells),
        event=event.label, settings={
            "memory_sizes": list(sweep), "cold_starts": cold_starts, "warmup": warmup,
            "warm": warm, "cold_fraction": options.cold_fraction, "model": str(options.model),
            "quick": options.quick},
        started=started, finished=_now(), local_row=local_row, local=local, notes=tuple(notes))


def lambda_client(region: str | None, profile: str | None, endpoint_url: str | None) -> Any:
    """boto3's Lambda client: a session of ``profile`` (or boto3's default chain), ``region``
    (or the profile's/AWS_REGION's), ``endpoint_url`` (or AWS's)."""
    try:
        import boto3  # deferred: only bench --remote needs it (the `aws` extra)
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError
    except ImportError:
        raise DependencyError("bench --remote needs boto3: pip install 'lambdalite[aws]'") from None
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
        # Invoke waits for the function (up to its Timeout, 900 s at most); a throttle or a
        # 5xx is retried by boto3's standard mode, a function error is not.
        config = Config(read_timeout=900, retries={"mode": "standard", "max_attempts": 3})
        return session.client("lambda", endpoint_url=endpoint_url, config=config)
    except BotoCoreError as exc:
        raise RemoteError(f"cannot make a Lambda client: {exc} (pass --region, --profile or "
                          "set AWS_REGION / AWS_PROFILE)") from exc


class Remote:
    """One deployed function: its configuration, changes to it, and calls of it."""

    def __init__(self, client: Any, function: str) -> None:
        self.client = client
        self.function = function

    def configuration(self) -> dict[str, Any]:
        return self._call("GetFunctionConfiguration", self.client.get_function_configuration,
                          FunctionName=self.function)

    def sweep(self, sweep: tuple[int, ...], original: Mapping[str, Any],
              counts: tuple[int, int, int], payload: bytes,
              say: progress_.Progress) -> list[RemoteCell]:
        """Every MemorySize of ``sweep``; the ``original`` MemorySize and Environment are put
        back afterwards whatever happens (an error, Ctrl-C)."""
        cells: list[RemoteCell] = []
        try:
            for memory in sweep:
                cells.append(self.measure(memory, original, counts, payload, say))
        finally:
            say.update(f"{self.function}: restoring MemorySize and Environment")
            self.restore(original)
            say.update(f"{self.function}: restored", 1)
        return cells

    def measure(self, memory_mb: int, original: Mapping[str, Any], counts: tuple[int, int, int],
                payload: bytes, say: progress_.Progress) -> RemoteCell:
        cold_starts, warmup, warm = counts
        label = f"{self.function} @ {memory_mb} MB"
        variables = dict((original.get("Environment") or {}).get("Variables") or {})
        cold: list[RemoteSample] = []
        recorded: list[RemoteSample] = []
        left = 2 * cold_starts + warmup + warm
        for i in range(cold_starts):
            say.update(f"{label}: forcing cold start {i + 1}/{cold_starts}")
            self.update(MemorySize=memory_mb, Environment={"Variables": {
                **variables, envvars.BENCH_COLD_START: uuid.uuid4().hex}})
            say.update(f"{label}: cold start {i + 1}/{cold_starts}", 1)
            sample, error = self.invoke(payload)
            say.update(f"{label}: cold start {i + 1}/{cold_starts}", 1)
            left -= 2
            if sample is not None:
                cold.append(sample)
            if error is not None:
                say.update(label, left)
                return RemoteCell(memory_mb, tuple(cold), (), *error)
        for j in range(warmup + warm):
            say.update(f"{label}: {'warm' if j >= warmup else 'warm-up'} call")
            sample, error = self.invoke(payload)
            say.update(f"{label}: {'warm' if j >= warmup else 'warm-up'} call", 1)
            left -= 1
            if error is not None:
                say.update(label, left)
                return RemoteCell(memory_mb, tuple(cold), tuple(recorded), *error)
            if j >= warmup and sample is not None:
                recorded.append(sample)
        return RemoteCell(memory_mb, tuple(cold), tuple(recorded))

    def update(self, **changes: Any) -> None:
        """UpdateFunctionConfiguration, then wait until LastUpdateStatus is Successful."""
        from botocore.exceptions import WaiterError

        self._call("UpdateFunctionConfiguration", self.client.update_function_configuration,
                   FunctionName=self.function, **changes)
        try:
            self.client.get_waiter("function_updated").wait(
                FunctionName=self.function,
                WaiterConfig={"Delay": WAIT_DELAY_S, "MaxAttempts": WAIT_ATTEMPTS})
        except WaiterError as exc:
            reason = (exc.last_response or {}).get("LastUpdateStatusReason", exc)
            raise RemoteError(f"{self.function}: the configuration change did not complete: "
                              f"{reason}") from exc

    def restore(self, original: Mapping[str, Any]) -> None:
        kept = _kept(original)
        try:
            self.update(**kept)
        except (LambdaliteError, KeyboardInterrupt) as exc:
            raise RemoteError(
                f"{self.function}: could not put its configuration back ({exc}); restore it "
                f"with: aws lambda update-function-configuration --function-name "
                f"{self.function} --memory-size {kept['MemorySize']} --environment "
                f"'{json.dumps(kept['Environment'])}'") from exc

    def invoke(self, payload: bytes) -> tuple[RemoteSample | None, tuple[str, str] | None]:
        """One call: its sample (REPORT figures), and (message, error type) if it failed."""
        started = time.monotonic()
        response = self._call("Invoke", self.client.invoke, FunctionName=self.function,
                              Payload=payload, LogType="Tail")
        body = response["Payload"].read()
        round_trip = (time.monotonic() - started) * 1000
        log = base64.b64decode(response.get("LogResult", "")).decode("utf-8", "replace")
        request_id = response["ResponseMetadata"].get("RequestId")
        try:
            report = Report.parse(log, request_id)
        except ValueError as exc:
            raise RemoteError(f"{self.function}: {exc}") from None
        sample = None if report is None else RemoteSample(
            report, round_trip, report.init_duration_ms is not None)
        if response.get("FunctionError"):
            return sample, _function_error(body)
        if report is None:
            raise RemoteError(f"{self.function}: the Invoke answer's log tail has no REPORT "
                              "line (LogType=Tail): nothing to measure")
        return sample, None

    def _call(self, operation: str, call: Callable[..., Any], **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise RemoteError(f"{operation} of {self.function} failed: {error.get('Code')}: "
                              f"{error.get('Message')}") from exc
        except BotoCoreError as exc:
            raise RemoteError(f"{operation} of {self.function} failed: {exc}") from exc


def _function_error(body: bytes) -> tuple[str, str]:
    try:
        error = json.loads(body)
        kind = str(error.get("errorType", "Unhandled"))
        return f"{kind}: {error.get('errorMessage', '')}"[:300], kind
    except (ValueError, AttributeError):
        return "Unhandled: " + body[:200].decode("utf-8", "replace"), "Unhandled"


def _kept(config: Mapping[str, Any]) -> dict[str, Any]:
    """What bench changes, as it was: MemorySize and every environment variable."""
    variables = (config.get("Environment") or {}).get("Variables") or {}
    return {"MemorySize": config["MemorySize"], "Environment": {"Variables": dict(variables)}}


# -- settings ----------------------------------------------------------------------------------

def _counts(options: RemoteOptions) -> tuple[int, int, int]:
    mode = QUICK if options.quick else FULL
    cold = mode.cold_starts if options.cold_starts is None else options.cold_starts
    warm = mode.warm if options.warm is None else options.warm
    warmup = mode.warmup if options.warmup is None else options.warmup
    if cold < 1 or warm < 1 or warmup < 0:
        raise OptionError("{cold_starts} and {warm} must be at least 1, {warmup} at least 0")
    if not 0.0 <= options.cold_fraction <= 1.0:
        raise OptionError(f"{{cold_fraction}} {options.cold_fraction} must be between 0 and 1")
    return cold, warmup, warm


def _check_unqualified(function: str) -> None:
    """A configuration change applies to $LATEST only: a version or an alias would never see
    the forced cold starts or the MemorySize of the sweep."""
    name = function.split(":function:", 1)[1] if ":function:" in function else function
    _, _, qualifier = name.partition(":")
    if qualifier and qualifier != "$LATEST":
        raise OptionError(f"{{function}} {function!r} names version or alias {qualifier!r}: "
                          "bench changes the configuration of $LATEST, which a version or "
                          "alias does not use; pass the function's name (or its $LATEST)")


def _sweep(sizes: tuple[int, ...] | None, original: Mapping[str, Any]) -> tuple[int, ...]:
    if sizes is None:
        return (int(original["MemorySize"]),)
    bad = [s for s in sizes if not MEMORY_MIN_MB <= s <= MEMORY_MAX_MB]
    if not sizes or bad:
        raise OptionError(f"{{memory_sizes}} {', '.join(map(str, sizes)) or '(empty)'}: every "
                          f"size must be {MEMORY_MIN_MB}..{MEMORY_MAX_MB} MB, as Lambda allows")
    return tuple(dict.fromkeys(sizes))


def _local_row(variant: str | None, original: Mapping[str, Any], manifest: Manifest) -> str:
    """The row the function serves: its LAMBDALITE_BACKEND/VARIANT, else the manifest's."""
    variables = (original.get("Environment") or {}).get("Variables") or {}
    if variant is not None:
        row, origin = variant, "{variant}"
    elif variables.get(envvars.BACKEND) == "tf":
        row, origin = TF_ROW, f"the function's {envvars.BACKEND}"
    elif variables.get(envvars.VARIANT):
        row, origin = str(variables[envvars.VARIANT]), f"the function's {envvars.VARIANT}"
    else:
        row, origin = manifest.default_variant, "the manifest's default_variant"
    known = row in manifest.variants or (row == TF_ROW and manifest.model.tf_model)
    if not known:
        # Checked before the function is touched: a run must not end in an error after it.
        raise OptionError(f"{origin} asks for row {row!r}, which the local model "
                          f"{manifest.model.name} does not have ({', '.join(manifest.variants)}): "
                          "pass {variant} with one of them, or {compare_local}")
    return row


def _local_config(options: RemoteOptions, model_dir: Path, row: str, sweep: tuple[int, ...],
                  counts: tuple[int, int, int]) -> BenchConfig:
    """``lambdalite bench`` of the same model and row at the same MemorySizes and counts."""
    cold_starts, warmup, warm = counts
    return config_for(BenchOptions(
        model=model_dir, variants=(row,), memory_sizes=sweep, cold_starts=cold_starts,
        warm=warm, warmup=warmup, quick=options.quick, runtime=options.runtime,
        arm64_sizes=False, emulate_arm64=False, cold_fraction=options.cold_fraction,
        out=options.out / "local", floors=False, peer_rows=False,   # the one row beside it
        event=options.event))


class _Forward:
    """The local run's updates on the remote run's bar, which counts its units from the start."""

    def __init__(self, outer: progress_.Progress) -> None:
        self._outer = outer

    def total(self, units: int) -> None:
        return None

    def update(self, description: str, advance: int = 0) -> None:
        self._outer.update(f"local: {description}", advance)


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")

