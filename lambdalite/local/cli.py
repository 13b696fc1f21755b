"""``lambdalite local``: invoke / start-lambda / start-api, mirroring ``sam local`` (no Docker).

Thin commands: read the template (``specs.py``, over ``lambdalite.sam``), start the engine (``engine.py``) and, for
the servers, the Invoke API (``invoke_api.py``) or API Gateway front (``http_api.py``).
Responses go to stdout; logs (START/END/REPORT) and warnings to stderr.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from lambdalite.errors import UsageError
from lambdalite.lambda_facts import MEMORY_MAX_MB, MEMORY_MIN_MB, TIMEOUT_MAX_S
from lambdalite.local.engine_types import FunctionSpec, InvokeResult
from lambdalite.local.errors import FunctionFailed
from lambdalite.local.specs import LocalTemplate, read_template
from lambdalite.sam.errors import TemplateError

_echo_lock = threading.Lock()


def _warn(message: str) -> None:
    with _echo_lock:
        click.secho(f"warning: {message}", fg="yellow", err=True)


def _info(message: str) -> None:
    with _echo_lock:
        click.echo(message, err=True)


def _print_logs(result: InvokeResult) -> None:
    with _echo_lock:
        click.echo(result.logs, err=True, nl=False)


def _template_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("-t", "--template", "template_path", default="template.yaml",
                     show_default=True, type=click.Path(path_type=Path),
                     help="SAM template (or a folder holding template.yaml)."),
        click.option("--parameter-overrides", multiple=True, metavar="KEY=VALUE",
                     help="Template Parameter values (repeatable)."),
        click.option("-n", "--env-vars", type=click.Path(exists=True, dir_okay=False,
                                                         path_type=Path),
                     help='JSON: {"FunctionId": {"VAR": "v"}, "Parameters": {"VAR": "v"}}, '
                          "as `sam local` (only variables the template declares)."),
        click.option("--python", help="Interpreter for every function (3.12 or a path); "
                                      "default: the one matching each Runtime."),
        click.option("--memory", type=click.IntRange(MEMORY_MIN_MB, MEMORY_MAX_MB),
                     help="Override MemorySize (MB)."),
        click.option("--timeout", type=click.FloatRange(0.01, TIMEOUT_MAX_S),
                     help="Override Timeout (seconds)."),
        click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path),
                     help="Append one JSON record per invocation (the REPORT figures)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _server_options(port: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
        f = click.option("--concurrency", default=10, show_default=True,
                         type=click.IntRange(1, 1000),
                         help="Environments per function without ReservedConcurrentExecutions.")(f)
        f = click.option("--idle-timeout", default=300.0, show_default=True,
                         type=click.FloatRange(0.1),
                         help="Seconds before an idle environment is shut down.")(f)
        f = click.option("--port", "-p", default=port, show_default=True,
                         type=click.IntRange(0, 65535))(f)
        return click.option("--host", default="127.0.0.1", show_default=True,
                            help="Address to bind (0.0.0.0 exposes it to the network).")(f)
    return wrap


@click.group("local")
def local() -> None:
    """Run functions from a SAM template in a local Lambda environment (no Docker)."""


@local.command()
@click.argument("function", required=False)
@click.option("-e", "--event", "event_path", default=None, metavar="FILE|-",
              help="Event JSON file, or - for stdin (default: {}).")
@_template_options
def invoke(function: str | None, event_path: str | None, **opts: Any) -> None:
    """Invoke FUNCTION once (a cold start) and print its response.

    The response goes to stdout, the logs (START/END/REPORT) to stderr; the exit code is 1
    when the function failed.
    """
    from lambdalite.local.engine import LocalLambda  # deferred: starts threads, reads cgroups

    template = _load(opts)
    name = _pick(template, function)
    payload = _read_event(event_path)
    with LocalLambda({name: template.functions[name]}, python=opts["python"],
                     log_sink=opts["log_file"], idle_timeout_s=60) as engine:
        _startup_notices(template, engine.limits_notice, engine.warnings, only=name)
        result = engine.invoke(name, payload)
    _print_logs(result)
    click.echo(result.payload.decode("utf-8", "replace"))
    if result.function_error:
        raise FunctionFailed(f"{name} failed: {result.error_type or 'Unhandled'}")


@local.command("start-lambda")
@_template_options
@_server_options(3001)
def start_lambda(**opts: Any) -> None:
    """Serve Lambda's Invoke API (boto3 endpoint_url=http://HOST:PORT) until Ctrl-C."""
    from lambdalite.local.invoke_api import InvokeAPI

    template = _load(opts)
    _serve(template, opts, lambda engine: InvokeAPI(
        engine, opts["host"], opts["port"], function_names=template.function_names,
        on_result=_print_logs))


@local.command("start-api")
@_template_options
@_server_options(3000)
def start_api(**opts: Any) -> None:
    """Serve the template's Api / HttpApi routes like API Gateway until Ctrl-C."""
    from lambdalite.local.http_api import HttpAPI

    template = _load(opts)
    if not any(e.type in ("Api", "HttpApi") for f in template.functions.values()
               for e in f.events):
        raise UsageError(f"{template.path} has no Api or HttpApi event to serve: add Events "
                         "to a function, or use `lambdalite local start-lambda`")

    def make(engine: Any) -> HttpAPI:
        server = HttpAPI(engine, opts["host"], opts["port"], on_result=_print_logs)
        for route in server.routes:
            _info(f"  {route.method:7} {server.url}{route.path if route.path != '$default' else '/*'}"
                  f"  -> {route.function} ({'REST' if route.rest else 'HTTP API'})")
        return server

    _serve(template, opts, make)


@local.command("generate-event")
@click.argument("kind", type=click.Choice(["api", "http-api", "schedule"]))
@click.option("--method", default="POST", show_default=True)
@click.option("--path", default="/", show_default=True)
@click.option("--body", default="", help="Request body (text).")
@click.option("--content-type", default="application/json", show_default=True)
def generate_event(kind: str, method: str, path: str, body: str, content_type: str) -> None:
    """Print an API Gateway (REST / HTTP API) or scheduled event, for `invoke -e`."""
    from lambdalite.local import events

    if kind == "schedule":
        event = events.schedule_event("lambdalite-schedule")
    else:
        request = events.Request(method.upper(), path, headers=(("Content-Type", content_type),),
                                 body=body.encode())
        route = events.Route(path, method.upper(), "Prod" if kind == "api" else "$default")
        event = (events.rest_event if kind == "api" else events.http_api_event)(request, route)
    click.echo(json.dumps(event, indent=2))


@local.command("setup-arm64")
def setup_arm64() -> None:
    """Set up the arm64 userland so that arm64 python3.13 functions run emulated (qemu-user).

    Downloads Debian's arm64 python3.13 and 13 libraries (~12 MB) and awslambdaric's aarch64
    wheel into a cache folder once (~10 s); needs qemu-user-static, apt-get and dpkg-deb, no
    root. Nothing of the system's apt or kernel state is changed.
    """
    from lambdalite.cli_progress import RichProgress
    from lambdalite.emulation import EMULATED_PYTHON, set_up_userland

    with RichProgress(transient=True) as progress:
        userland = set_up_userland(progress=progress)
    python = userland.packages.get(f"python{EMULATED_PYTHON}-minimal", "?")
    click.echo(f"arm64 userland ready in {userland.folder} (Debian python{EMULATED_PYTHON} "
               f"{python}, awslambdaric {userland.awslambdaric}): arm64 python{EMULATED_PYTHON} "
               "functions run emulated in `lambdalite local` and `lambdalite bench`")


# -- helpers ------------------------------------------------------------------------------------

def _load(opts: dict[str, Any]) -> LocalTemplate:
    overrides = dict(_pair(p) for p in opts["parameter_overrides"])
    template = read_template(opts["template_path"], parameter_overrides=overrides)
    functions = dict(template.functions)
    if opts["env_vars"] is not None:
        functions = _apply_env_vars(functions, opts["env_vars"], set(template.broken))
    changes: dict[str, Any] = {}
    if opts["memory"] is not None:
        changes["memory_mb"] = opts["memory"]
    if opts["timeout"] is not None:
        changes["timeout_s"] = opts["timeout"]
    functions = {n: dataclasses.replace(s, **changes) for n, s in functions.items()}
    return dataclasses.replace(template, functions=functions)


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"--parameter-overrides takes KEY=VALUE, not {text!r}")
    return key, value


def _apply_env_vars(functions: dict[str, FunctionSpec], path: Path,
                    broken: set[str]) -> dict[str, FunctionSpec]:
    """`sam local --env-vars`: per-function values win over "Parameters" (all functions);
    like SAM, only variables the template declares are set."""
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise ValueError("expected an object of objects")
    except ValueError as exc:
        raise UsageError(f"--env-vars {path}: not valid JSON of the form "
                         f'{{"FunctionId": {{"VAR": "value"}}}}: {exc}') from None
    out = {}
    for name, spec in functions.items():
        given = {**data.get("Parameters", {}), **data.get(name, {})}
        env = dict(spec.environment)
        for key, value in given.items():
            if key in env:
                env[key] = "" if value is None else str(value)
            elif name in data:
                _warn(f"{name}: --env-vars sets {key}, which the template does not declare; "
                      "ignored (as `sam local` does): add it to Environment.Variables")
        out[name] = dataclasses.replace(spec, environment=env)
    for key in data.keys() - functions.keys() - broken - {"Parameters"}:
        _warn(f"--env-vars names {key}, which is not a function of the template")
    return out


def _pick(template: LocalTemplate, function: str | None) -> str:
    """The function to invoke; only its own template errors stop `invoke`."""
    names = sorted([*template.functions, *template.broken])
    if function is None:
        if len(names) != 1:
            raise UsageError(f"{template.path} has {len(names)} functions: name one of "
                             f"{', '.join(names)}")
        function = names[0]
    function = template.function_names.get(function, function)
    if function in template.broken:
        raise TemplateError(template.broken[function])
    if function not in template.functions:
        raise UsageError(f"no function {function!r} in {template.path} (it has "
                         f"{', '.join(names)})")
    return function


def _read_event(event_path: str | None) -> bytes:
    if event_path is None:
        return b"{}"
    try:
        data = sys.stdin.buffer.read() if event_path == "-" else Path(event_path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the event {event_path}: {exc.strerror}") from None
    try:
        json.loads(data or b"{}")
    except ValueError as exc:
        raise UsageError(f"the event {event_path} is not JSON: {exc}") from None
    return data or b"{}"


def _startup_notices(template: LocalTemplate, limits: str, engine_warnings: list[str],
                     only: str | None = None) -> None:
    for warning in template.warnings:
        if only is None or warning.startswith(f"{only}: ") or ": " not in warning:
            _warn(warning)
    if only is None:
        for name, message in sorted(template.broken.items()):
            _warn(f"{message} ({name} is skipped, the other functions are served)")
    for warning in engine_warnings:
        _warn(warning)
    _info(limits)


def _serve(template: LocalTemplate, opts: dict[str, Any], make_server: Callable[[Any], Any]) -> None:
    from lambdalite.local.engine import LocalLambda

    engine = LocalLambda(template.functions, idle_timeout_s=opts["idle_timeout"],
                         python=opts["python"], log_sink=opts["log_file"],
                         concurrency=opts["concurrency"], on_event_result=_print_logs)
    try:
        server = make_server(engine)
    except OSError as exc:
        engine.close()
        raise UsageError(f"cannot listen on {opts['host']}:{opts['port']}: {exc.strerror}; "
                         "pass another --port") from None
    _startup_notices(template, engine.limits_notice, engine.warnings)
    _info(f"lambdalite: serving {', '.join(sorted(template.functions))} on {server.url} "
          "(Ctrl-C to stop)")

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    # Also for Ctrl-C: a server started in the background by a non-interactive shell inherits
    # SIGINT as "ignored", and Python then never raises KeyboardInterrupt.
    previous_int = signal.signal(signal.SIGINT, _terminate)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        _info("lambdalite: shutting down")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # a second Ctrl-C must not skip cleanup
        signal.signal(signal.SIGTERM, previous)
        server.httpd.server_close()
        engine.close()
        signal.signal(signal.SIGINT, previous_int)

