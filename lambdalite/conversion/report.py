"""Rich tables for ``convert`` and ``evaluate`` (terminal only; ``--json`` bypasses them)."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from lambdalite.conversion.capture import NoteKind
from lambdalite.conversion.evaluate import EvaluationReport
from lambdalite.conversion.execute import ConvertResult

NOTE_LABELS = {
    NoteKind.TF_SELECT: "TF Select",
    NoteKind.UNSUPPORTED: "unsupported op",
    NoteKind.WARNING: "warning",
}


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.2f} MiB"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.2f}%"


def conversion_table(result: ConvertResult) -> Table:
    table = Table(title="lambdalite convert")
    for col in ("variant", "status", "size", "input", "output", "notes"):
        table.add_column(col)
    variants = result.manifest.variants if result.manifest else {}
    for o in result.outcomes:
        v = variants.get(o.variant)
        io_in = f"{v.inputs[0].dtype} {v.inputs[0].shape}" if v and v.inputs else "-"
        io_out = f"{v.outputs[0].dtype} {v.outputs[0].shape}" if v and v.outputs else "-"
        # Converter text is escaped: its "[...]" would otherwise be read as rich markup.
        notes = "; ".join(f"{NOTE_LABELS[n.kind]}: {escape(n.text)}" for n in o.notes)
        status = "[green]ok[/]" if o.ok else f"[red]failed[/]: {escape(o.reason)}"
        table.add_row(o.variant, status, _size(o.size_bytes) if o.ok else "-", io_in, io_out, notes)
    for s in result.skipped:
        table.add_row(s.variant, f"[yellow]skipped[/]: {escape(s.reason)}", "-", "-", "-", "")
    return table


def evaluation_table(report: EvaluationReport) -> Table:
    table = Table(
        title=f"lambdalite evaluate: {report.examples} examples from {report.dataset} "
        f"(tolerance {report.tolerance} points)"
    )
    for col in (
        "variant",
        "size",
        "accuracy",
        "drop (points)",
        "agrees with float32",
        "latency/example",
    ):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for s in report.scores:
        e = s.evaluation
        drop = "-" if e.accuracy_drop_points is None else f"{e.accuracy_drop_points:+.2f}"
        if e.flagged:
            drop = f"[red]{drop} FLAGGED[/]"
        table.add_row(
            s.variant,
            _size(s.size_bytes),
            _pct(e.accuracy),
            drop,
            _pct(e.agreement_with_float32),
            f"{e.mean_latency_ms:.3f} ms",
        )
    return table
