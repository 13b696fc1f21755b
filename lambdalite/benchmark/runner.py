"""Run a benchmark: build each row's package, then measure it in the local Lambda environment.

    result = lambdalite.bench(BenchOptions(model="mnist", quick=True))
    print(render_markdown(result))          # lambdalite.benchmark.render

A row is a LiteRT variant or ``tf`` (the original model on the TensorFlow backend). For each
row the x86_64 package is built for ``config.runtime`` with ``lambdalite.bundle`` (and the
arm64 one, for its size and checks). The floor rows (``floors``) run the package of each
backend's first row with another Handler: the no-op handler and the imports-only one
(``lambdalite.function.floors``), so every cold start is shown next to the floor it cannot
beat. For each MemorySize: ``cold_starts`` rounds of one fresh ``LocalLambda`` engine per row
(a new execution environment each: INIT, first invoke), the rows interleaved, then on each
row's last one ``warmup`` calls (not recorded) and ``warm`` recorded calls.
Every invocation goes through real awslambdaric with the engine's memory and CPU limits.

A python3.13 arm64 package also runs, emulated (``lambdalite.emulation``: qemu-user and
Debian's arm64 python3.13), once cold and ``EMULATED_WARM`` times warm at the first
MemorySize: an "emulated" cell whose figures are qemu's, kept out of cost and pick, and whose
answer is compared with the x86_64 run's (``answers.py``). Other arm64 runtimes have no arm64
Python here: built and checked, not run, and the notes say so.

The write-up's runtime (``peer.py``): ``tflite-runtime==2.7.0`` on python3.9, a row per
float32/dynamic/int8 measured (``tfl27-<variant>``), same engine, same run, its package built
through the same bundle checks; its answer is compared with LiteRT's row of the variant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from lambdalite import emulation, envvars
from lambdalite import progress as progress_
from lambdalite.benchmark.accuracy import EvaluationRequests, accuracy, evaluation_requests
from lambdalite.benchmark.answers import difference
from lambdalite.benchmark.config import (
    EMULATED_WARM,
    PEER,
    PEER_MARK,
    PEER_PACKAGE,
    PEER_RUNTIME,
    PEER_VARIANTS,
    RUN_ARCH,
    SIZE_ARCHS,
    TF_ROW,
    BenchConfig,
    BenchOptions,
    backend_of,
    config_for,
)
from lambdalite.benchmark.models import make_event, resolve_model
from lambdalite.benchmark.peer import (
    LabelledEvents,
    dense_per_tensor_model,
    labelled_events,
    why_no_peer_rows,
)
from lambdalite.benchmark.results import (
    BenchResult,
    CellResult,
    ColdSample,
    PackageSize,
    RowResult,
    WarmSample,
)
from lambdalite.errors import BuildError, LambdaliteError, OptionError
from lambdalite.manifest import ONNX_BACKEND, Manifest

if TYPE_CHECKING:
    from lambdalite.bundle.api import BuildResult, PackageOptions
    from lambdalite.local.engine import LocalLambda
    from lambdalite.local.engine_types import FunctionSpec, InvokeResult

FUNCTION = "BenchFunction"
EMULATED_RUNTIME = f"python{emulation.EMULATED_PYTHON}"
EMULATED_ARCH = "arm64"
RUNTIME_NOTE = ("the LiteRT runtime in the measured x86_64 packages is ai-edge-litert {litert} "
                "(XNNPACK on by default); the write-up's dynamic-range slowdown came from the "
                "TFLite runtime of its day")
# Measured: onnxruntime 1.28 and 1.32 aarch64 crash with SIGSEGV at import under qemu-user here
# (every -cpu model tried); the package is built and checked, not run (docs/BUILD.md).
ORT_NOT_EMULATED = ("not run emulated: `import onnxruntime` crashes under qemu-user on this "
                    "machine (the arm64 package is built and checked)")
ORT_NOTE = ("the ONNX rows run onnxruntime {ort} (CPU provider, all graph optimizations, the "
            "LiteRT rows' thread count); their dynamic variant quantizes MatMul/Gemm weights only")

@dataclass(frozen=True)
class Row:
    name: str
    backend: str
    variant: str | None
    floor: str | None = None          # "noop" | "imports": a floor row (FLOORS)
    package_of: str | None = None     # a floor row runs the package built for this row
    # A peer row (the write-up's runtime): its own runtime, interpreter package, model folder.
    runtime: str | None = None
    litert_package: str | None = None
    model_dir: Path | None = None

    @property
    def peer(self) -> str | None:
        """What the row runs instead of lambdalite's own LiteRT, None for lambdalite's rows."""
        return f"{self.litert_package} on {self.runtime}" if self.litert_package else None


@dataclass(frozen=True)
class Built:
    task_root: Path | None          # None: the x86_64 package could not be built
    handler: str
    sizes: tuple[PackageSize, ...]
    arm64_root: Path | None = None  # the python3.13 arm64 package, which runs emulated


# The floor rows, cheapest first (their handlers: ``bundle.api.FLOOR_HANDLERS``).
FLOORS = ("noop", "imports")


def bench(options: BenchOptions, *, progress: progress_.Progress | None = None) -> BenchResult:
    """``lambdalite.bench``: measure what ``options`` ask for (``lambdalite bench`` calls it).

    ``progress``: one unit per package built and per invocation."""
    return run_bench(config_for(options), progress)


def run_bench(config: BenchConfig, progress: progress_.Progress | None = None) -> BenchResult:
    """Measure every row x MemorySize of ``config``."""
    from lambdalite.benchmark.machine import collect

    say = progress_.resolve(progress)
    started = _now()
    model_dir = resolve_model(config.model, progress_.nested(say))
    manifest = Manifest.load(model_dir)
    rows, notes = plan_rows(config, manifest)
    floors = plan_floors(config, rows)
    peers, peer_notes = peer_rows(config, model_dir, manifest, progress_.nested(say))
    rows += peers
    notes += peer_notes
    emulate, why_not = emulation_plan(config)
    notes += [why_not] if why_not else []
    evaluation = evaluation_requests(model_dir, manifest)
    notes += [evaluation.describe()] if evaluation else []
    say.total(total_units(config, len(rows) - len(peers), len(floors), emulate, evaluation,
                          len(peers)))
    event = make_event(model_dir, manifest, Path(config.event) if config.event else None)
    results: list[RowResult] = []
    runs: list[tuple[Row, Built]] = []
    built_rows: dict[str, Built] = {}
    labelled = labelled_events(model_dir, manifest) if peers else None
    for row in rows:
        say.update(f"building {row.name}")
        built = build_row(config, row.model_dir or model_dir, row)
        say.update(f"built {row.name}", 1)
        built_rows[row.name] = built
        results.append(row_result(row, Manifest.load(row.model_dir) if row.model_dir
                                  else manifest, row.model_dir or model_dir, built.sizes))
        runs.append((row, built))
    for floor in floors:
        from lambdalite.bundle.api import FLOOR_HANDLERS  # deferred: the build tooling

        assert floor.package_of is not None and floor.floor is not None
        of = built_rows[floor.package_of]
        built = Built(of.task_root, FLOOR_HANDLERS[floor.floor], of.sizes)
        results.insert(len(results) - len(rows), RowResult(
            floor.name, floor.backend, None, None, None, None, of.sizes, floor=floor.floor,
            package_of=floor.package_of))
        runs.insert(len(runs) - len(rows), (floor, built))
    # The x86_64 answer of each row, which its emulated run must equal (and a peer row's,
    # which must equal LiteRT's of the same variant).
    references: dict[str, list[bytes]] = {row.name: [] for row, _ in runs}
    cells = [cell for memory in config.memory_sizes
             for cell in measure_memory(config, runs, memory, event.payload, say, references)]
    litert_answers: dict[str, bytes] = {}   # variant -> LiteRT's answer, for the peer rows
    for row in rows:
        if references[row.name] and row.variant and not row.peer:
            litert_answers.setdefault(row.variant, references[row.name][0])
    for row in peers:
        cells = compare_peer(cells, row, references[row.name], litert_answers)
        built = built_rows[row.name]
        if labelled is not None and built.task_root is not None:
            say.update(f"{row.name}: accuracy on {row.peer}")
            at = next(i for i, r in enumerate(results) if r.row == row.name)
            results[at] = replace(results[at], runtime_accuracy=runtime_accuracy(
                config, row, built, labelled))
    if emulate:
        cells += [measure_emulated(config, row, built_rows[row.name], event.payload,
                                   references[row.name], say) for row in rows if not row.peer]
    if evaluation is not None:
        measured = {row.name: evaluate_row(config, row, built_rows[row.name], manifest,
                                           evaluation, say) for row in rows
                    if not row.peer}
        results = with_drops([replace(r, accuracy=measured[r.row], accuracy_drop_points=None)
                              if r.floor is None and r.row in measured else r
                              for r in results])
    litert = _installed_version(results, "ai-edge-litert")
    if litert:
        notes.append(RUNTIME_NOTE.format(litert=litert))
    ort = _installed_version(results, "onnxruntime")
    if ort:
        notes.append(ORT_NOTE.format(ort=ort))
    return BenchResult(
        model=manifest.model.name, model_dir=str(model_dir), settings=config.settings(),
        machine=collect().to_dict(), rows=tuple(results), cells=tuple(cells),
        started=started, finished=_now(), notes=(*config.notes, *notes), event=event.label,
    )


def total_units(config: BenchConfig, rows: int, floors: int = 0, emulate: bool = False,
                evaluation: EvaluationRequests | None = None, peers: int = 0) -> int:
    """The progress bar's length: one unit per build and per invocation (floors: no build;
    emulated: the rows' arm64 packages, not the floors' or the peer rows'; the evaluation set:
    per row, not for the peer rows)."""
    emulated = units_per_cell(emulated_config(config)) if emulate else 0
    evaluated = len(evaluation.payloads) if evaluation else 0
    return (rows * (1 + emulated + evaluated) + peers
            + (rows + peers + floors) * len(config.memory_sizes) * units_per_cell(config))


def units_per_cell(config: BenchConfig) -> int:
    return config.cold_starts + config.warmup + config.warm


def emulated_config(config: BenchConfig) -> BenchConfig:
    """An emulated cell's counts: one cold start, a few warm calls (``EMULATED_WARM``)."""
    return replace(config, cold_starts=1, warmup=0, warm=min(config.warm, EMULATED_WARM))


def emulation_plan(config: BenchConfig) -> tuple[bool, str | None]:
    """Whether the arm64 packages run emulated, and if not (when they were asked to) why."""
    if not config.emulate_arm64:
        return False, None
    if config.runtime != EMULATED_RUNTIME:
        return False, (f"arm64 packages are built and checked, not run: the emulated arm64 "
                       f"userland has Python {emulation.EMULATED_PYTHON} only (--runtime "
                       f"{EMULATED_RUNTIME} runs them emulated)")
    why = emulation.why_not_ready()
    if why is not None:
        return False, f"{EMULATED_RUNTIME} arm64 packages are not run emulated: {why}"
    return True, None


# -- the rows -----------------------------------------------------------------------------------

def plan_rows(config: BenchConfig, manifest: Manifest) -> tuple[list[Row], list[str]]:
    """The rows to measure, in table order, and notes on what was left out."""
    notes: list[str] = []
    wanted = config.variants if config.variants is not None else tuple(manifest.variants)
    missing = [v for v in wanted if v not in manifest.variants]
    if missing and config.variants is not None:
        raise OptionError(f"{{variants}}: {', '.join(missing)} not in the manifest (it has "
                          f"{', '.join(manifest.variants)}); convert them first")
    rows = []
    if TF_ROW in config.backends:
        if manifest.model.tf_model:
            rows.append(Row(TF_ROW, "tf", None))
        else:
            notes.append("no tf row: the manifest has no original TF model "
                         "(convert with --keep-tf-model)")
    rows += [Row(v, backend_of(v), v) for v in wanted
             if v in manifest.variants and backend_of(v) in config.backends]
    if not rows:
        raise OptionError("nothing to measure: no row selected ({variants})")
    return rows, notes


def plan_floors(config: BenchConfig, rows: list[Row]) -> list[Row]:
    """The floor rows: for each backend measured, the no-op and the imports-only handler,
    run from the package of that backend's first row (same runtime, dependencies and
    slimming: the package differs only in its Handler)."""
    if not config.floors:
        return []
    floors = []
    for backend in dict.fromkeys(r.backend for r in rows):
        first = next(r for r in rows if r.backend == backend)
        suffix = "" if backend == "litert" else f"-{backend}"
        floors += [Row(f"floor-{kind}{suffix}", backend, None, floor=kind, package_of=first.name)
                   for kind in FLOORS]
    return floors


def peer_rows(config: BenchConfig, model_dir: Path, manifest: Manifest,
              progress: progress_.Progress | None = None) -> tuple[list[Row], list[str]]:
    """The write-up's runtime for each of PEER_VARIANTS measured, or notes on why not."""
    wanted = config.variants if config.variants is not None else tuple(manifest.variants)
    variants = [v for v in PEER_VARIANTS if v in wanted and v in manifest.variants]
    if not config.peer_rows or "litert" not in config.backends or not variants:
        return [], []
    why = why_no_peer_rows()
    if why is not None:
        return [], [why]
    notes = [f"rows {PEER}-*: {PEER_MARK}, {PEER_PACKAGE} (no XNNPACK by default) on "
             f"{PEER_RUNTIME}, the newest Python with its wheels; dynamic and int8 converted "
             "with --dense-per-tensor, which it needs to load them (dynamic) and compute them "
             "right (int8); accuracy: LiteRT's evaluation of the same file, and where the "
             "model has a labelled image set, measured through the row's own function"]
    converted = [v for v in variants if v != "float32"]
    peer_dir: Path | None = None
    if converted:
        try:
            peer_dir = dense_per_tensor_model(model_dir, manifest, tuple(converted), progress)
        except LambdaliteError as exc:
            notes.append(f"no {PEER} {', '.join(converted)} rows: {exc.message}")
            variants = [v for v in variants if v == "float32"]
    rows = [Row(f"{PEER}-{v}", "litert", v, runtime=PEER_RUNTIME, litert_package=PEER_PACKAGE,
                model_dir=None if v == "float32" else peer_dir) for v in variants]
    return rows, notes


def compare_peer(cells: list[CellResult], row: Row, answer: list[bytes],
                 litert: dict[str, bytes]) -> list[CellResult]:
    """The peer row's cells with its answer compared with LiteRT's of the same variant."""
    theirs = litert.get(row.variant or "")
    if not answer or theirs is None:
        return cells
    check = difference(theirs, answer[0]) or "equal"
    return [replace(c, answers=check) if c.row == row.name else c for c in cells]


def runtime_accuracy(config: BenchConfig, row: Row, built: Built,
                     labelled: LabelledEvents) -> float | None:
    """Top-1 of ``labelled`` through the row's function (its own runtime) at the largest
    MemorySize; None when an invocation fails (the table's notes show the row's errors)."""
    from lambdalite.local.engine import LocalLambda

    spec = function_spec(config, row, built, max(config.memory_sizes))
    engine = LocalLambda({FUNCTION: spec}, concurrency=1)
    try:
        answers = []
        for event in labelled.events:
            result = engine.invoke(FUNCTION, event)
            if result.function_error:
                return None
            answers.append(result.payload)
    except LambdaliteError:
        return None
    finally:
        engine.close()
    return labelled.accuracy(answers)


def row_result(row: Row, manifest: Manifest, model_dir: Path,
               sizes: tuple[PackageSize, ...]) -> RowResult:
    if row.variant is None:
        tf_path = model_dir / (manifest.model.tf_model or "")
        return RowResult(row.name, row.backend, None, _tree_bytes(tf_path), None, None, sizes)
    variant = manifest.variant(row.variant)
    ev = variant.evaluation
    return RowResult(row.name, row.backend, row.variant, variant.size_bytes,
                     ev.accuracy if ev else None, ev.accuracy_drop_points if ev else None, sizes,
                     peer=row.peer)


def _tree_bytes(path: Path) -> int | None:
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return None


# -- packages ----------------------------------------------------------------------------------

def build_row(config: BenchConfig, model_dir: Path, row: Row) -> Built:
    """x86_64 package to run (and its size), arm64 package for its size only.

    LiteRT rows build a zip, or an image when the zip is over Lambda's limits (``lambdalite
    build``'s fallback, as a user would take it). The TF row builds an image: TensorFlow alone
    is far over the zip limit. The arm64 package may also take the runtime fallback (a newer
    runtime when the wheels need a newer glibc than ``config.runtime``'s): it is sized, not
    run; the x86_64 one must run here on ``config.runtime``. The table says which was taken."""
    from lambdalite.bundle.api import HANDLER, PackageOptions  # deferred: the build tooling

    out = Path(config.out) / "packages" / row.name
    # A peer row is the write-up's x86_64 runtime: not built for arm64.
    archs = SIZE_ARCHS if config.arm64_sizes and not row.peer else (RUN_ARCH,)
    sizes: list[PackageSize] = []
    task_root: Path | None = None
    arm64_root: Path | None = None
    handler = HANDLER
    for arch in archs:
        options = PackageOptions(
            model_dir=model_dir, out_dir=out, variant=row.variant,
            backend=row.backend,  # type: ignore[arg-type]
            runtime=row.runtime or config.runtime, litert_package=row.litert_package,
            arch=arch, package_type="image" if row.backend == "tf" else "zip",
            timeout_s=config.timeout_s, image_fallback=True, runtime_fallback=arch != RUN_ARCH)
        result, size = build_package(options)
        sizes.append(size)
        if result is not None and arch == RUN_ARCH:
            task_root, handler = result.task_root, result.handler
        elif (result is not None and arch == EMULATED_ARCH
              and result.options.runtime == EMULATED_RUNTIME):
            arm64_root = result.task_root
    return Built(task_root, handler, tuple(sizes), arm64_root)


def build_package(options: PackageOptions) -> tuple[BuildResult | None, PackageSize]:
    """Build one package (``lambdalite.bundle``, fallbacks included): its size, or why it could
    not be built."""
    from lambdalite.bundle.api import build_package as build

    try:
        result = build(options)
    except BuildError as exc:
        return None, PackageSize(arch=options.arch, package_type=options.package_type,
                                 runtime=options.runtime, unzipped_bytes=None,
                                 zipped_bytes=None, error=exc.message)
    built = result.options
    return result, PackageSize(
        arch=built.arch, package_type=built.package_type, runtime=built.runtime,
        unzipped_bytes=result.unzipped_bytes, zipped_bytes=result.zipped_bytes,
        files=result.files, glibc_needed=result.glibc_needed,
        warnings=(*result.warnings, *result.picked, *result.fallbacks),
        installed=result.installed)


# -- measurements ------------------------------------------------------------------------------

def function_spec(config: BenchConfig, row: Row, built: Built, memory_mb: int,
                  arch: str = RUN_ARCH) -> FunctionSpec:
    from lambdalite.local.engine_types import FunctionSpec

    code = built.arm64_root if arch == EMULATED_ARCH else built.task_root
    assert code is not None
    env = {envvars.BACKEND: row.backend}   # a floor row reads it too (which runtime to import)
    if row.variant:
        env[envvars.VARIANT] = row.variant
    return FunctionSpec(
        # Absolute: the function runs in its task root, where a relative --out means nothing.
        name=FUNCTION, handler=built.handler, code_dir=code.resolve(),
        runtime=row.runtime or config.runtime,
        memory_mb=memory_mb, timeout_s=float(config.timeout_s), architecture=arch,
        environment=env)


def measure_memory(config: BenchConfig, runs: list[tuple[Row, Built]], memory_mb: int,
                   payload: bytes, progress: progress_.Progress,
                   references: dict[str, list[bytes]] | None = None) -> list[CellResult]:
    """Every row at ``memory_mb``: the cold starts interleaved (cold start i of every row, then
    i + 1 ...), so that a machine whose load drifts weighs on every row alike and a floor is
    compared with what ran next to it; then each row's warm calls, on its last environment.
    ``references``: each row's list gets its first successful response, if it has none yet."""
    refs = references or {}
    cells = [_Cell(config, row, built, memory_mb, progress, answers=refs.get(row.name))
             for row, built in runs]
    for i in range(config.cold_starts):
        for cell in cells:
            cell.cold_start(i, payload)
    for cell in cells:
        cell.warm_calls(payload)
    return [cell.finish() for cell in cells]


def measure_emulated(config: BenchConfig, row: Row, built: Built, payload: bytes,
                     reference: list[bytes], progress: progress_.Progress) -> CellResult:
    """The python3.13 arm64 package under qemu at the first MemorySize: an emulated cell,
    its answer compared with the x86_64 one."""
    em = emulated_config(config)
    memory = config.memory_sizes[0]
    if built.arm64_root is None or row.backend == ONNX_BACKEND:
        progress.update(f"skipped {row.name} arm64", units_per_cell(em))
        return CellResult(row.name, memory, arch=EMULATED_ARCH, emulated=True,
                          error=ORT_NOT_EMULATED if built.arm64_root else
                          "arm64 package build failed")
    answer: list[bytes] = []
    cell = measure(em, row, built, memory, payload, progress, arch=EMULATED_ARCH,
                   answers=answer)
    check = None
    if answer and reference:
        check = difference(reference[0], answer[0]) or "equal"
    return replace(cell, arch=EMULATED_ARCH, emulated=True, answers=check)


def measure(config: BenchConfig, row: Row, built: Built, memory_mb: int, payload: bytes,
            progress: progress_.Progress, *, arch: str = RUN_ARCH,
            answers: list[bytes] | None = None) -> CellResult:
    """One row alone (``measure_memory`` interleaves several). ``answers``: gets the first
    successful response, if it has none yet."""
    cell = _Cell(config, row, built, memory_mb, progress, arch=arch, answers=answers)
    for i in range(config.cold_starts):
        cell.cold_start(i, payload)
    cell.warm_calls(payload)
    return cell.finish()


class _Cell:
    """One row x MemorySize while it is measured: its samples, and its last engine, kept open
    (frozen between calls, as Lambda keeps it) for the warm calls."""

    def __init__(self, config: BenchConfig, row: Row, built: Built, memory_mb: int,
                 progress: progress_.Progress, *, arch: str = RUN_ARCH,
                 answers: list[bytes] | None = None) -> None:
        self.config, self.row, self.built, self.memory_mb = config, row, built, memory_mb
        self.arch, self.answers = arch, answers
        self.say = progress.update
        self.label = f"{row.name} @ {memory_mb} MB" + (
            f" ({arch}, emulated)" if arch != RUN_ARCH else "")
        self.cold: list[ColdSample] = []
        self.warm: list[WarmSample] = []
        self.engine: LocalLambda | None = None
        self.result: CellResult | None = None
        if (built.arm64_root if arch == EMULATED_ARCH else built.task_root) is None:
            self._stop("package build failed", None, units_per_cell(config))

    def cold_start(self, i: int, payload: bytes) -> None:
        if self.result is not None:
            return
        from lambdalite.local.engine import LocalLambda

        spec = function_spec(self.config, self.row, self.built, self.memory_mb, self.arch)
        engine = LocalLambda({FUNCTION: spec}, concurrency=1)
        what = f"{self.label}: cold start {i + 1}/{self.config.cold_starts}"
        keep = False
        try:
            self.say(what, 0)
            first = engine.invoke(FUNCTION, payload)
            self.cold.append(_cold_sample(first))
            if self.answers is not None and not self.answers and not first.function_error:
                self.answers.append(first.payload)
            self.say(what, 1)
            if first.function_error:
                self._stop(_error_text(first), first.error_type or "Unhandled",
                           units_per_cell(self.config) - i - 1)
            else:
                keep = i == self.config.cold_starts - 1
        except LambdaliteError as exc:
            self._stop(exc.message, exc.error_type, units_per_cell(self.config) - i)
        finally:
            if keep:
                self.engine = engine
            else:
                engine.close()

    def warm_calls(self, payload: bytes) -> None:
        if self.result is not None or self.engine is None:
            return
        config = self.config
        try:
            for j in range(config.warmup + config.warm):
                recorded = j >= config.warmup
                what = f"{self.label}: {'warm' if recorded else 'warm-up'} call"
                self.say(what, 0)
                result = self.engine.invoke(FUNCTION, payload)
                self.say(what, 1)
                if result.function_error:
                    self._stop(_error_text(result), result.error_type or "Unhandled",
                               config.warmup + config.warm - j - 1)
                    return
                if recorded:
                    rep = result.report
                    self.warm.append(WarmSample(rep.duration_ms, result.round_trip_ms,
                                                rep.max_memory_used_mb))
        except LambdaliteError as exc:
            self._stop(exc.message, exc.error_type, 0)
        finally:
            self.engine.close()
            self.engine = None

    def finish(self) -> CellResult:
        if self.engine is not None:
            self.engine.close()
        if self.result is None:
            self.result = CellResult(self.row.name, self.memory_mb, tuple(self.cold),
                                     tuple(self.warm))
        return self.result

    def _stop(self, error: str, error_type: str | None, units_left: int) -> None:
        """The cell ends early: what it measured so far, and why."""
        self.say(self.label, units_left)
        self.result = CellResult(self.row.name, self.memory_mb, tuple(self.cold),
                                 tuple(self.warm), error, error_type)


def evaluate_row(config: BenchConfig, row: Row, built: Built, manifest: Manifest,
                 evaluation: EvaluationRequests, progress: progress_.Progress) -> float | None:
    """The row's accuracy on the evaluation set: every example through its x86_64 function
    (one warm environment at the first MemorySize); None when the package was not built."""
    from lambdalite.local.engine import LocalLambda

    if built.task_root is None:
        progress.update(f"skipped evaluating {row.name}", len(evaluation.payloads))
        return None
    spec = function_spec(config, row, built, config.memory_sizes[0])
    answers: list[bytes | None] = []
    with LocalLambda({FUNCTION: spec}, concurrency=1) as engine:
        for i, payload in enumerate(evaluation.payloads):
            progress.update(f"{row.name}: evaluating {i + 1}/{len(evaluation.payloads)}", 0)
            try:
                result = engine.invoke(FUNCTION, payload)
            except LambdaliteError:
                result = None
            answers.append(result.payload if result and not result.function_error else None)
            progress.update(f"{row.name}: evaluated {i + 1}", 1)
    return accuracy(manifest, evaluation, answers)


def with_drops(rows: list[RowResult]) -> list[RowResult]:
    """Accuracy points each row lost against the float32 row (None without one)."""
    reference = next((r.accuracy for r in rows if r.row == "float32"), None)
    return [replace(r, accuracy_drop_points=None if reference is None or r.accuracy is None
                    else round((reference - r.accuracy) * 100, 4)) for r in rows]


def _cold_sample(result: InvokeResult) -> ColdSample:
    rep = result.report
    return ColdSample(rep.init_duration_ms, rep.duration_ms, result.round_trip_ms,
                      rep.max_memory_used_mb, result.error_type if result.function_error else None)


def _error_text(result: InvokeResult) -> str:
    try:
        body = json.loads(result.payload)
        return f"{body.get('errorType', result.error_type)}: {body.get('errorMessage', '')}"[:300]
    except (ValueError, AttributeError):
        return (result.error_type or "Unhandled") + ": " + result.payload[:200].decode("utf-8", "replace")


def _installed_version(rows: list[RowResult], dist: str) -> str | None:
    """The release of ``dist`` the measured (x86_64) packages hold: what the numbers are for."""
    versions = sorted({
        pin.split("==", 1)[1]
        for row in rows for size in row.sizes if size.arch == RUN_ARCH
        for pin in size.installed if pin.lower().startswith(f"{dist}==")
    })
    return ", ".join(versions) or None


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
