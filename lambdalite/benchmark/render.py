"""The benchmark as Markdown: the write-up's table shape (variant | package size | cold start |
warm run | memory) plus zipped size, warm p95/p99, accuracy and cost per million requests.

``render_markdown(result)`` is what ``lambdalite bench`` prints and writes next to the JSON;
docs/BENCHMARKS.md holds copies of it from real runs.
"""

from __future__ import annotations

from lambdalite.benchmark.answers import ATOL, RTOL
from lambdalite.benchmark.config import EMULATED_WARM, PEER, PEER_MARK, TF_ROW
from lambdalite.benchmark.results import BenchResult, CellResult, RowResult
from lambdalite.emulation import CPU, EMULATED_PYTHON, QEMU_OVERHEAD_MB
from lambdalite.lambda_facts import ARCHS, MB, PRICE_PER_MILLION_REQUESTS
from lambdalite.manifest import ONNX_BACKEND

HEADER = ("variant", "memory", "package size", "zipped", "cold start", "over floor", "warm run",
          "warm p95 / p99", "memory used", "accuracy", "$/1M x86_64", "$/1M arm64")
# What the imports-only floor imports, per backend (lambdalite.function.floors.imports).
FLOOR_IMPORTS = {"litert": "numpy, PIL.Image, ai_edge_litert.interpreter",
                 "tf": "numpy, PIL.Image, tensorflow",
                 ONNX_BACKEND: "numpy, PIL.Image, onnxruntime"}

# The write-up's own table (the StegaStamp decoder on AWS Lambda, container images, its TFLite
# runtime of the day). Quoted from the write-up for comparison, never measured here.
WRITEUP_TABLE = (
    ("x86_64 full TensorFlow", "1743 MB", "timed out", "-", "-"),
    ("x86_64 TFLite", "629 MB", "30.4 s", "2.85 s", "391 MB"),
    ("x86_64 TFLite dynamic-range", "451 MB", "timed out", "57.3 s", "363 MB"),
    ("arm64 TFLite dynamic-range (self-built)", "405 MB", "4.42 s", "1.70 s", "469 MB"),
)
WRITEUP_TFLITE, WRITEUP_DYNAMIC = WRITEUP_TABLE[1], WRITEUP_TABLE[2]   # warm run: column 3


def fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / MB:.1f} MB" if n >= MB / 10 else f"{n / 1024:.0f} KB"


def fmt_usd(x: float | None) -> str:
    return "-" if x is None else f"${x:.2f}" if x >= 1 else f"${x:.4f}"


def fmt_accuracy(row: RowResult) -> str:
    if row.accuracy is None:
        return "n/a"
    drop = row.accuracy_drop_points
    extra = f" ({-drop:+.2f} pt)" if drop else ""
    if row.runtime_accuracy is not None:
        extra += f"; {row.runtime_accuracy * 100:.2f}% on its runtime"
    return f"{row.accuracy * 100:.2f}%{extra}"


def row_label(row: RowResult) -> str:
    if row.peer:
        return f"{row.variant} ({row.peer}: {PEER_MARK})"
    if row.floor == "noop":
        return f"floor: no-op handler ({row.backend} package)"
    if row.floor == "imports":
        return f"floor: imports only ({FLOOR_IMPORTS.get(row.backend, row.backend)})"
    if row.row == TF_ROW:
        return "tf (original, TensorFlow)"
    return f"{row.row} ({'ONNX Runtime' if row.backend == ONNX_BACKEND else 'LiteRT'})"


def over_floor(result: BenchResult, row: RowResult, memory_mb: int) -> str:
    """A variant's cold start over its backend's imports-only floor (same run, same memory);
    the imports-only floor's over the no-op one. A peer row runs another Python and
    runtime than the floors were measured with: none."""
    if row.floor == "noop" or row.peer:
        return "-"
    kind = "noop" if row.floor == "imports" else "imports"
    delta = result.over_floor_ms(row, memory_mb, kind)
    if delta is None:
        return "-"
    sign = "+" if delta >= 0 else "-"
    return f"{'no-op' if kind == 'noop' else 'floor'} {sign} {fmt_ms(abs(delta))}"


def sizes(row: RowResult, zipped: bool, runtime: str) -> str:
    """``x86_64 size / arm64 size (arm64[, runtime])``: "image" for an image's zipped size."""
    parts = []
    for s in row.sizes:
        tag = ", ".join(t for t in (s.arch if s.arch != "x86_64" else "",
                                    s.runtime if s.runtime != runtime else "") if t)
        suffix = f" ({tag})" if tag else ""
        if s.error:
            parts.append(f"build failed{suffix}")
        elif zipped and s.package_type == "image":
            parts.append(f"image{suffix}")
        else:
            parts.append(fmt_bytes(s.zipped_bytes if zipped else s.unzipped_bytes) + suffix)
    return " / ".join(parts) or "-"


def cell_columns(cell: CellResult, cold_fraction: float) -> list[str]:
    if cell.error and not cell.warm:
        what = "timed out" if cell.timed_out else f"failed: {cell.error_type}"
        peak = max((c.max_memory_used_mb for c in cell.cold if c.max_memory_used_mb),
                   default=None)
        return [what, "-", "-", f"{peak} MB" if peak else "-", "-", "-"]
    cold, warm = cell.cold_start(), cell.summary("warm")
    if cell.emulated:   # qemu's figures, not Lambda's: shown, never priced
        return [f"{fmt_ms(cold.p50 if cold else None)} (emulated)",
                f"{fmt_ms(warm.p50 if warm else None)} (emulated)",
                f"{fmt_ms(warm.p95)} / {fmt_ms(warm.p99)}" if warm else "-",
                f"{cell.max_memory_mb()} MB (qemu)" if cell.max_memory_mb() is not None else "-",
                "-", "-"]
    return [
        fmt_ms(cold.p50 if cold else None),
        fmt_ms(warm.p50 if warm else None),
        f"{fmt_ms(warm.p95)} / {fmt_ms(warm.p99)}" if warm else "-",
        f"{cell.max_memory_mb()} MB" if cell.max_memory_mb() is not None else "n/a",
        fmt_usd(cell.cost("x86_64", cold_fraction)),
        fmt_usd(cell.cost("arm64", cold_fraction)),
    ]


def table_rows(result: BenchResult) -> list[list[str]]:
    out = []
    runtime = str(result.settings.get("runtime"))
    for row in result.rows:
        cells = [result.cell(row.row, memory) for memory in result.memory_sizes]
        cells += [result.cell(row.row, memory, emulated=True) for memory in result.memory_sizes]
        for cell in cells:
            if cell is None:
                continue
            c = cell_columns(cell, result.cold_fraction)
            if row.is_floor:
                c[4] = c[5] = "-"     # nobody deploys a floor: no cost
            label = row_label(row) + (f", {cell.arch} emulated" if cell.emulated else "")
            floor = "-" if cell.emulated else over_floor(result, row, cell.memory_mb)
            out.append([label, f"{cell.memory_mb} MB", sizes(row, False, runtime),
                        sizes(row, True, runtime), c[0], floor,
                        c[1], c[2], c[3], fmt_accuracy(row), c[4], c[5]])
    return out


def markdown_table(header: tuple[str, ...], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def dynamic_vs_float32(result: BenchResult) -> list[str]:
    """The write-up's point, side by side from this run: dynamic-range vs float32 warm time."""
    lines = []
    for memory in result.memory_sizes:
        f32, dyn = result.cell("float32", memory), result.cell("dynamic", memory)
        a = f32.summary("warm") if f32 else None
        b = dyn.summary("warm") if dyn else None
        if a and b and a.p50 > 0:
            lines.append(f"dynamic vs float32 at {memory} MB: warm p50 {fmt_ms(b.p50)} vs "
                         f"{fmt_ms(a.p50)} ({b.p50 / a.p50:.2f}x)")
    if lines:
        tflite, dynamic = WRITEUP_TFLITE[3], WRITEUP_DYNAMIC[3]
        ratio = _seconds(dynamic) / _seconds(tflite)
        lines.append(f"the write-up measured dynamic-range ~{ratio:.0f}x slower than float32 on "
                     f"x86_64 ({dynamic} vs {tflite} warm) with the TFLite runtime of its day")
    return lines


def floor_notes(result: BenchResult) -> list[str]:
    floors = [r for r in result.rows if r.is_floor]
    if not floors:
        return []
    packages = ", ".join(dict.fromkeys(f"{r.backend}: the {r.package_of} package"
                                       for r in floors))
    return [f"floor rows: the same package with another Handler ({packages}): "
            "lambdalite.function.floors.noop (returns 1) and .imports (imports "
            "what the function's INIT imports before it loads a model, then returns 1); over "
            "floor = cold start p50 minus the imports-only floor's, same run and MemorySize, "
            "cold starts interleaved row by row"]


# Issue 14's goal for the large model at 3008 MB, reported as measured, never asserted.
PEER_GOAL = 50.0


def peer_ratios(result: BenchResult) -> list[str]:
    """The write-up's runtime against LiteRT, per MemorySize: its dynamic vs its own float32,
    and LiteRT's best warm p50 vs its dynamic (the goal: at least 50x on the large model)."""
    lines = []
    for memory in result.memory_sizes:
        ours = [(row.row, cell.summary("warm")) for row in result.rows
                if row.backend == "litert" and not row.peer
                and (cell := result.cell(row.row, memory)) is not None]
        best = min(((name, s) for name, s in ours if s), key=lambda x: x[1].p50, default=None)
        peer_f32, peer_dyn = (result.cell(f"{PEER}-{v}", memory) for v in ("float32", "dynamic"))
        dyn = peer_dyn.summary("warm") if peer_dyn else None
        f32 = peer_f32.summary("warm") if peer_f32 else None
        if dyn and f32 and f32.p50 > 0:
            lines.append(f"{PEER} dynamic vs {PEER} float32 at {memory} MB: warm p50 "
                         f"{fmt_ms(dyn.p50)} vs {fmt_ms(f32.p50)} ({dyn.p50 / f32.p50:.1f}x)")
        if dyn and best and best[1].p50 > 0:
            lines.append(f"LiteRT's best ({best[0]}, warm p50 {fmt_ms(best[1].p50)}) vs {PEER} "
                         f"dynamic ({fmt_ms(dyn.p50)}) at {memory} MB: "
                         f"{dyn.p50 / best[1].p50:.1f}x faster (issue 14's goal on the large "
                         f"model at 3008 MB: >= {PEER_GOAL:g}x)")
    for cell in result.cells:
        row = result.row(cell.row)
        if row is not None and row.peer and cell.answers is not None:
            verdict = ("equal to" if cell.answers == "equal"
                       else f"DIFFER from ({cell.answers})")
            lines.append(f"{cell.label}: answer {verdict} LiteRT's {row.variant} row's")
    return list(dict.fromkeys(lines))


def _seconds(text: str) -> float:
    return float(text.removesuffix(" s"))


def emulated_notes(result: BenchResult) -> list[str]:
    """What the emulated rows are, and whether their answers equal the x86_64 run's."""
    emulated = [c for c in result.cells if c.emulated]
    if not emulated:
        return []
    lines = [f"rows marked 'arm64 emulated': the {result.settings.get('runtime')} arm64 package "
             f"run under qemu-user (-cpu {CPU}) in Debian's arm64 userland on this x86_64 "
             f"machine, 1 cold start and up to {EMULATED_WARM} warm calls; their times are not "
             "arm64 Lambda's (imports ~20x, compute ~300x slower), memory includes "
             f"~{QEMU_OVERHEAD_MB} MB of qemu; not priced and not picked"]
    for cell in emulated:
        if cell.answers is not None:
            verdict = ("equal to the x86_64 run's" if cell.answers == "equal"
                       else f"DIFFER from the x86_64 run's: {cell.answers}")
            lines.append(f"{cell.label}: answers {verdict} (labels and bits equal, floats "
                         f"within rtol {RTOL:g} / atol {ATOL:g})")
    return lines


def package_note(settings: dict[str, object]) -> str:
    """What the package size column holds, as the run was set up (--no-arm64)."""
    if settings.get("arm64_sizes", True) and settings.get("emulate_arm64") and str(
            settings.get("runtime")) == f"python{EMULATED_PYTHON}":
        return ("package size = unzipped x86_64 / arm64; arm64 packages are built, checked "
                "and run emulated (rows marked 'arm64 emulated'); the arm64 cost uses the "
                "x86_64 durations")
    if settings.get("arm64_sizes", True):
        return ("package size = unzipped x86_64 / arm64; arm64 packages are built and checked, "
                "not run (this machine is x86_64); the arm64 cost uses the x86_64 durations")
    return ("package size = unzipped x86_64 (arm64 not built: --no-arm64); the arm64 cost "
            "applies arm64 prices to the x86_64 durations")


def notes(result: BenchResult) -> list[str]:
    s = result.settings
    machine = result.machine
    cold_pct = result.cold_fraction * 100
    lines = [
        f"model: {result.model} ({result.model_dir}); event: {result.event}",
        f"runs: {s.get('cold_starts')} cold start(s) (a fresh environment each), "
        f"{s.get('warmup')} warm-up call(s) not counted, {s.get('warm')} warm calls; runtime "
        f"{s.get('runtime')} on x86_64 through the local Lambda environment (real awslambdaric)",
        "cold start = Init Duration + first Duration (p50); warm run = Duration p50; memory "
        "used = Max Memory Used (peak of the environment)",
        package_note(s),
        f"cost per 1M requests = ${PRICE_PER_MILLION_REQUESTS:.2f} requests + GB-s at "
        f"${ARCHS['x86_64'].price_per_gb_second:.10f} (x86_64) / "
        f"${ARCHS['arm64'].price_per_gb_second:.10f} (arm64), {cold_pct:g}% of requests cold "
        "with INIT billed (Lambda bills INIT since 2025-08); prices: lambdalite/lambda_facts.py",
        f"machine: {machine.get('cpu_model')}, {machine.get('cores')} cores, "
        f"{machine.get('limits')}",
    ]
    lines += floor_notes(result)
    lines += dynamic_vs_float32(result)
    lines += peer_ratios(result)
    lines += emulated_notes(result)
    lines += list(result.notes)
    for cell in result.cells:
        if cell.error:
            lines.append(f"{cell.label} stopped: {cell.error}")
    by_message: dict[str, list[str]] = {}
    for row in result.rows:
        for size in row.sizes:
            if size.error:
                by_message.setdefault(f"{size.arch} package failed its checks: "
                                      f"{_short(size.error)}", []).append(row.row)
            for warning in size.warnings:
                by_message.setdefault(f"{size.arch} build: {_short(warning)}", []).append(row.row)
    lines += [f"{', '.join(rows)}: {message}" for message, rows in by_message.items()]
    return list(dict.fromkeys(lines))


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def render_markdown(result: BenchResult) -> str:
    table = markdown_table(HEADER, table_rows(result))
    return table + "\n\n" + "\n".join(f"- {n}" for n in notes(result)) + "\n"


def writeup_markdown() -> str:
    return markdown_table(("variant", "image size", "cold start", "warm run", "memory"),
                          [list(r) for r in WRITEUP_TABLE])
