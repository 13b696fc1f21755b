"""``bench --remote`` as Markdown: local prediction next to the deployed function, with ratios.

One row per MemorySize (``remote.comparisons``): cold start (Init Duration + first Duration,
p50), warm Duration p50 and Max Memory Used, each local | remote | remote/local, then the
remote cost per million requests from its billed durations at the function's architecture. A
ratio above 1 means the deployed function took more (time or memory) than the local Lambda
predicted.
"""

from __future__ import annotations

from collections.abc import Callable

from lambdalite.benchmark.remote import Comparison, RemoteResult, comparisons
from lambdalite.benchmark.render import fmt_ms, fmt_usd, markdown_table

HEADER = ("memory", "cold start local", "remote", "remote/local", "warm p50 local", "remote",
          "remote/local", "Max Memory Used local", "remote", "remote/local", "remote $/1M")


def render_remote(result: RemoteResult) -> str:
    """The side-by-side table, what was compared, and the notes."""
    rows = []
    for c in comparisons(result):
        rows.append([f"{c.memory_mb} MB",
                     *_triple(c.cold_start_ms, fmt_ms), *_triple(c.warm_p50_ms, fmt_ms),
                     *_triple(c.max_memory_mb, _fmt_mb), fmt_usd(c.remote_cost)])
    where = result.endpoint_url or f"AWS ({result.region})"
    local = (f"local: row {result.local_row} of `lambdalite bench` on this machine (the local "
             "Lambda)" if result.local is not None else "local: not measured (--no-local)")
    lines = [
        f"# bench --remote {result.function}", "",
        f"remote: {result.function_arn} at {where}, {result.architecture}, "
        f"{result.runtime or 'image'}; {local}; event: {result.event}", "",
        markdown_table(HEADER, rows), "",
    ]
    failed = [f"- {c.memory_mb} MB: {c.error}" for c in result.cells if c.error]
    lines += (["Remote errors:", *failed, ""] if failed else [])
    lines += [f"- {note}" for note in result.notes]
    return "\n".join(lines).rstrip() + "\n"


def _triple(pair: tuple[float | None, float | None],
            fmt: Callable[[float | None], str]) -> list[str]:
    ratio = Comparison.ratio(pair)
    return [fmt(pair[0]), fmt(pair[1]), "-" if ratio is None else f"{ratio:.2f}x"]


def _fmt_mb(mb: float | None) -> str:
    return "n/a" if mb is None else f"{mb:.0f} MB"
