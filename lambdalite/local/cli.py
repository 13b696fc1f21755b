"""``lambdalite local``: invoke / start-lambda / start-api, mirroring ``sam local`` (no Docker).

Thin commands: read the template (``specs.py``, over ``lambdalite.sam``), start the engine (``engine.py``) and, for
the servers, the Invoke API (``invoke_api.py``) or API Gateway front (``http_api.py``).
Responses go to stdout; logs (START/END/REPORT) and warnings to stderr.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from lambdalite.errors import LambdaliteError, UsageError
from lambdalite.lambda_facts import MEMORY_MAX_MB, MEMORY_MIN_MB, TIMEOUT_MAX_S
from lambdalite.local.engine_types import Debugger, FunctionSpec, InvokeResult
from lambdalite.local.errors import FunctionFailed, SoakFailed
from lambdalite.local.server import LocalServer
from lambdalite.local.specs import LocalTemplate, read_template
from lambdalite.local.triggers import TRIGGER_KINDS, Body, pick_trigger
from lambdalite.sam.errors import TemplateError

_echo_lock = threading.Lock()
DEBUG_INTEGRATION_TIMEOUT_S = 24 * 3600.0


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
        click.option("-d", "--debug-port", type=click.IntRange(1, 65535),
                     help="Run the function under debugpy listening on 127.0.0.1:PORT; each "
                          "cold start waits for a debugger to attach. Timeout and the INIT "
                          "limit are off, one environment at a time."),
        click.option("--debug-function", metavar="FUNCTION",
                     help="With --debug-port: the function to debug (default: the only one)."),
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
        f = click.option("--watch/--no-watch", default=True, show_default=True,
                         help="Hot reload: when a function's code or model changes, its next "
                              "call is a cold start with the new code.")(f)
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
@click.option("--body-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A request body (image, .npy, .json ...) wrapped in the event of the "
                   "function's trigger (see --trigger); binary bodies base64-encoded as API "
                   "Gateway does.")
@click.option("--trigger", type=click.Choice(TRIGGER_KINDS),
              help="With --body-file: the trigger whose event to send (default: the "
                   "function's first Api/HttpApi event, else its Function URL, else direct).")
@_template_options
def invoke(function: str | None, event_path: str | None, body_file: Path | None,
           trigger: str | None, **opts: Any) -> None:
    """Invoke FUNCTION once (a cold start) and print its response.

    The response goes to stdout, the logs (START/END/REPORT) to stderr; the exit code is 1
    when the function failed.
    """
    from lambdalite.local.engine import LocalLambda  # deferred: starts threads, reads cgroups

    template = _load(opts)
    name = _pick(template, function)
    if body_file is not None and event_path is not None:
        raise UsageError("pass either -e/--event or --body-file, not both")
    if trigger is not None and body_file is None:
        raise UsageError("--trigger goes with --body-file (the event is built from the body)")
    if body_file is not None:
        chosen = pick_trigger(template.functions[name], trigger)
        _info(f"{name}: {body_file} as the event of {chosen.describe()}")
        payload = chosen.payload(Body.from_file(body_file))
    else:
        payload = _read_event(event_path)
    debug = _debugger(template, opts, only=name)
    with LocalLambda({name: template.functions[name]}, python=opts["python"],
                     log_sink=opts["log_file"], idle_timeout_s=60, debug=debug) as engine:
        _startup_notices(template, engine.limits_notice, engine.warnings, only=name,
                         runtime_api=engine.runtime_api_notice)
        _debug_notice(debug)
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
@click.option("--url-port", default=3010, show_default=True, type=click.IntRange(0, 65535),
              help="First port of the Function URLs (FunctionUrlConfig), one port per "
                   "function in logical-id order; 0 picks free ports.")
@click.option("--playground", is_flag=True,
              help="Also serve the browser playground on 127.0.0.1 (see --playground-port).")
@click.option("--playground-port", default=3100, show_default=True,
              type=click.IntRange(0, 65535), help="The playground's port; 0 picks a free one.")
def start_api(**opts: Any) -> None:
    """Serve the template's Api / HttpApi routes like API Gateway, and each Function URL on
    its own port, until Ctrl-C."""
    template = _load(opts)
    has_routes = any(e.type in ("Api", "HttpApi") for f in template.functions.values()
                     for e in f.events)
    urls = sorted(n for n, f in template.functions.items() if f.function_url_auth)
    if not has_routes and not urls:
        raise UsageError(f"{template.path} has no Api or HttpApi event and no FunctionUrlConfig "
                         "to serve: add Events to a function, or use `lambdalite local "
                         "start-lambda`")
    _serve(template, opts, lambda engine: _api_servers(engine, opts, has_routes, urls))


@local.command()
@click.option("--seed", default=0, show_default=True, help="Seed of the generated inputs.")
@click.option("--fuzz", "fuzz", default=3000, show_default=True, type=click.IntRange(1),
              help="Generated bad and good inputs through start-api (hypothesis adds a fifth).")
@click.option("--calls", default=5000, show_default=True, type=click.IntRange(1),
              help="Invoke API calls of the load phase, each answer checked.")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 64))
@click.option("--idle-connections", default=500, show_default=True, type=click.IntRange(0))
@click.option("--time-limit", default=900.0, show_default=True, type=click.FloatRange(1),
              help="Seconds each phase may take before it stops early.")
def soak(seed: int, fuzz: int, calls: int, concurrency: int, idle_connections: int,
         time_limit: float) -> None:
    """Fuzz, load, fault and hostile-client checks against servers started on 127.0.0.1, with
    the bundled MNIST function; prints the table (exit 1 when a check fails)."""
    from lambdalite.examples import mnist_example
    from lambdalite.local.soak import SoakOptions, run_soak

    example = mnist_example()
    options = SoakOptions(model_dir=example / "model", digits_dir=example / "digits", seed=seed,
                          fuzz=fuzz, calls=calls, concurrency=concurrency,
                          idle_connections=idle_connections, time_limit_s=time_limit)
    report = run_soak(options, progress=_info)
    click.echo(report.render())
    if not report.ok:
        raise SoakFailed("a soak check failed: see the rows marked NO")


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
                     only: str | None = None, runtime_api: str = "") -> None:
    for warning in template.warnings:
        if only is None or warning.startswith(f"{only}: ") or ": " not in warning:
            _warn(warning)
    if only is None:
        for name, message in sorted(template.broken.items()):
            _warn(f"{message} ({name} is skipped, the other functions are served)")
    for warning in engine_warnings:
        _warn(warning)
    _info(limits)
    if runtime_api:
        _info(runtime_api)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False   # a host name: it may resolve to anything


def _api_servers(engine: Any, opts: dict[str, Any], has_routes: bool,
                 urls: list[str]) -> list[LocalServer]:
    """start-api's servers: the API Gateway front (when the template has routes), then one
    Function URL server per function with a FunctionUrlConfig."""
    from lambdalite.local.function_url import FunctionUrlServer
    from lambdalite.local.http_api import HttpAPI
    from lambdalite.local.playground.server import CallRecorder, PlaygroundServer

    servers: list[LocalServer] = []
    real, recorder = engine, CallRecorder(engine) if opts["playground"] else None
    engine = recorder or engine   # the fronts call through it: the playground sees figures
    try:
        if has_routes:
            # A debugger stops the code for as long as it likes: no 29 s integration timeout.
            limit = DEBUG_INTEGRATION_TIMEOUT_S if opts["debug_port"] else None
            api = HttpAPI(engine, opts["host"], opts["port"], on_result=_print_logs,
                          integration_timeout_s=limit)
            servers.append(api)
            for route in api.routes:
                path = route.path if route.path != "$default" else "/*"
                _info(f"  {route.method:7} {api.url}{path}  -> {route.function} "
                      f"({'REST' if route.rest else 'HTTP API'})")
        for i, name in enumerate(urls):
            port = opts["url_port"] + i if opts["url_port"] else 0
            url = FunctionUrlServer(engine, name, opts["host"], port, on_result=_print_logs)
            servers.append(url)
            checked = "; AWS_IAM not checked locally" if url.auth_type == "AWS_IAM" else ""
            _info(f"  ANY     {url.url}/*  -> {name} (Function URL, AuthType "
                  f"{url.auth_type}{checked})")
        if recorder is not None:
            # Always on the loopback address: the page calls the functions.
            playground = PlaygroundServer(real, recorder, servers, "127.0.0.1",
                                          opts["playground_port"])
            servers.append(playground)
            _info(f"  playground: {playground.url}/  (open it in a browser)")
    except OSError:
        for server in servers:
            server.close()
        raise
    return servers


def _debugger(template: LocalTemplate, opts: dict[str, Any],
              only: str | None = None) -> Debugger | None:
    if opts["debug_port"] is None:
        if opts["debug_function"] is not None:
            raise UsageError("--debug-function goes with --debug-port")
        return None
    wanted = opts["debug_function"] or only
    if wanted is None:
        if len(template.functions) != 1:
            raise UsageError(f"--debug-port: name the function to debug with --debug-function "
                             f"({', '.join(sorted(template.functions))})")
        wanted = next(iter(template.functions))
    name = template.function_names.get(wanted, wanted)
    if name not in template.functions or (only is not None and name != only):
        raise UsageError(f"--debug-function {wanted}: not the function run here")
    return Debugger(name, opts["debug_port"])


def _debug_notice(debug: Debugger | None) -> None:
    if debug is not None:
        _info(f"debugger: {debug.function} runs under debugpy on 127.0.0.1:{debug.port}; each "
              "cold start waits for a client to attach (VS Code: docs/LOCAL.md). Its Timeout, "
              "the INIT limit and API Gateway's integration timeout are off, it runs one "
              "environment at a time, not frozen between calls")


def _watch(engine: Any, template: LocalTemplate, opts: dict[str, Any]) -> Any:
    from lambdalite.local.reload import Watcher

    def refresh(name: str) -> FunctionSpec | None:
        try:
            return _load(opts).functions.get(name)
        except LambdaliteError as exc:   # a half-written template: keep the old definition
            _warn(f"{name}: not reloaded, {exc.message}")
            return None

    def template_changed(path: Path) -> None:
        _warn(f"{path.name} changed: restart to apply it (routes, settings); code changes are "
              "picked up without a restart")

    watcher = Watcher(engine, _info, refresh=refresh, extra=[template.path],
                      on_extra=template_changed)
    folders = len(watcher.roots())
    _info(f"hot reload: watching {folders} code/model path(s) (--no-watch to turn off)")
    return watcher.start()


def _serve(template: LocalTemplate, opts: dict[str, Any],
           make_servers: Callable[[Any], LocalServer | list[LocalServer]]) -> None:
    """Start the engine and the servers ``make_servers`` returns; serve until Ctrl-C/SIGTERM.
    The first server is named in the "serving ... on URL" line; the others run in threads."""
    from lambdalite.local.engine import LocalLambda

    debug = _debugger(template, opts)
    engine = LocalLambda(template.functions, idle_timeout_s=opts["idle_timeout"],
                         python=opts["python"], log_sink=opts["log_file"],
                         concurrency=opts["concurrency"], on_event_result=_print_logs,
                         debug=debug)
    try:
        made = make_servers(engine)
    except OSError as exc:
        engine.close()
        raise UsageError(f"cannot listen on {opts['host']}: {exc.strerror}; pass another "
                         "--port") from None
    server, *others = made if isinstance(made, list) else [made]
    _startup_notices(template, engine.limits_notice, engine.warnings,
                     runtime_api=engine.runtime_api_notice)
    if not _loopback(opts["host"]):
        _warn(f"--host {opts['host']} exposes these functions to every machine that can reach "
              "this one, with no authentication; use --host 127.0.0.1 unless that is intended")
    _debug_notice(debug)
    for other in others:
        other.start()
    watcher = _watch(engine, template, opts) if opts["watch"] else None
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
        server.close()
        for other in others:
            other.stop()
        if watcher is not None:
            watcher.stop()
        engine.close()
        signal.signal(signal.SIGINT, previous_int)

