"""``run_soak``: start the servers on 127.0.0.1, run the four phases, return the table.

    fuzz     seeded inputs (and hypothesis's) through start-api to the example classifier
    load     boto3 calls through start-lambda at a concurrency, every answer checked against
             its digit's label and matched to exactly one REPORT line
    faults   one function per failure mode, while a healthy neighbour is called throughout
    hostile  malformed framing, slow and idle clients, methods, bodies Lambda refuses, a client
             context outside Latin-1, function headers that break HTTP, a Runtime API takeover

Each phase is bounded by its count and by ``time_limit_s`` (it stops early, and says so).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import EventSource, FunctionSpec, InvokeResult
from lambdalite.local.environment import EXIT_ERROR, OUT_OF_MEMORY, TIMED_OUT
from lambdalite.local.http_api import HttpAPI
from lambdalite.local.interpreters import HOST_VERSION
from lambdalite.local.invoke_api import InvokeAPI
from lambdalite.local.soak import inputs, probes
from lambdalite.local.soak.report import Row, SoakReport

HANDLERS = Path(__file__).parent / "handlers"
KILLERS = (EXIT_ERROR, OUT_OF_MEMORY, TIMED_OUT)
_REPORT = re.compile(r"^REPORT RequestId: (\S+)", re.M)
ProgressLine = Callable[[str], None]


@dataclass(frozen=True)
class SoakOptions:
    model_dir: Path                  # a model folder the function serves (the MNIST example)
    digits_dir: Path                 # its digit files: <label>_<n>.png|jpg
    seed: int = 0
    fuzz: int = 3000                 # generated inputs (hypothesis's are added, a fifth more)
    calls: int = 5000
    concurrency: int = 8
    idle_connections: int = 500
    read_timeout_s: float = 2.0
    idle_timeout_s: float = 3.0
    time_limit_s: float = 900.0      # per phase
    memory_mb: int = 1024


@dataclass
class _Seen:
    """What the engine reported, per function: results by error type, REPORT request ids."""

    errors: Counter[tuple[str, str | None]] = field(default_factory=Counter)
    reports: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, result: InvokeResult) -> None:
        name = result.environment_id.rsplit("-", 1)[0]
        with self.lock:
            self.errors[(name, result.error_type)] += 1
            self.reports.update(_REPORT.findall(result.logs))

    def killed(self, function: str) -> int:
        return sum(n for (name, kind), n in self.errors.items()
                   if name == function and kind in KILLERS)


def functions(options: SoakOptions) -> dict[str, FunctionSpec]:
    runtime = f"python{HOST_VERSION}"
    code = Path(__file__).resolve().parents[3]          # the folder holding lambdalite/

    def fault(name: str, handler: str, **kw: object) -> FunctionSpec:
        return FunctionSpec(name, f"faults.{handler}", HANDLERS, runtime=runtime,
                            **{"memory_mb": 128, "timeout_s": 3.0, **kw})  # type: ignore[arg-type]

    classifier = FunctionSpec(
        "Classifier", "lambdalite.function.handler.lambda_handler", code, runtime=runtime,
        memory_mb=options.memory_mb, timeout_s=30.0,
        environment={"LAMBDALITE_MODEL_DIR": str(options.model_dir)},
        events=(EventSource("Classify", "Api", "/classify", "POST", stage="Prod",
                            binary_media_types=(inputs.PNG,)),))
    return {
        "Classifier": classifier,
        "Neighbour": fault("Neighbour", "echo"),
        "Raises": fault("Raises", "raises"),
        "Crashes": fault("Crashes", "crash"),
        "Hog": fault("Hog", "hog"),
        "Slow": fault("Slow", "sleep", timeout_s=1.0),
        "Huge": fault("Huge", "huge"),
        "Loud": fault("Loud", "loud"),
        "ImportFails": FunctionSpec("ImportFails", "missing_module.handler", HANDLERS,
                                    runtime=runtime, memory_mb=128, timeout_s=3.0),
        "Probe": fault("Probe", "headers", events=(
            EventSource("Probe", "Api", "/probe/{mode}", "GET", stage="Prod"),)),
    }


FAULTS = {   # function -> the error type Lambda reports for it (None: a success)
    "Raises": "RuntimeError", "Crashes": EXIT_ERROR, "Hog": OUT_OF_MEMORY, "Slow": TIMED_OUT,
    "Huge": "Function.ResponseSizeTooLarge", "ImportFails": "Runtime.ImportModuleError",
    "Loud": None,
}


def run_soak(options: SoakOptions, progress: ProgressLine | None = None) -> SoakReport:
    say = progress or (lambda line: None)
    seen = _Seen()
    specs = functions(options)
    report = SoakReport.start(options)
    with LocalLambda(specs, idle_timeout_s=600, concurrency=max(10, options.concurrency)) as engine:
        api = HttpAPI(engine, port=0, on_result=seen, read_timeout_s=options.read_timeout_s,
                      idle_timeout_s=options.idle_timeout_s).start()
        lam = InvokeAPI(engine, port=0, on_result=seen, read_timeout_s=options.read_timeout_s,
                        idle_timeout_s=options.idle_timeout_s).start()
        try:
            report.limits = engine.limits_notice
            report.protection = engine.runtime_api_notice
            samples = inputs.digits(options.digits_dir)
            say(f"fuzz: {options.fuzz} generated inputs (seed {options.seed}) -> {api.url}")
            report.rows += _fuzz(api.url, samples, options, seen)
            say(f"load: {options.calls} calls at concurrency {options.concurrency} -> {lam.url}")
            report.rows += _load(lam.url, samples, options, seen)
            say("faults: one function per failure mode, a healthy neighbour meanwhile")
            report.rows += _faults(engine, options)
            say(f"hostile clients: framing, slow and {options.idle_connections} idle connections")
            report.rows += _hostile(api.url, lam.url, engine, options, seen)
        finally:
            api.stop()
            lam.stop()
    report.finish()
    return report


# -- phases ----------------------------------------------------------------------------------------

def _fuzz(url: str, samples: list[inputs.Digit], options: SoakOptions,
          seen: _Seen) -> list[Row]:
    items = list(inputs.generate(samples, options.fuzz, options.seed))
    drawn = inputs.hypothesis_bodies(max(1, options.fuzz // 5), options.seed)
    items += drawn or []
    deadline = time.monotonic() + options.time_limit_s
    wrong, server_errors, sent = [], 0, 0
    statuses: Counter[int] = Counter()

    def send(item: inputs.FuzzInput) -> None:
        nonlocal server_errors, sent
        if time.monotonic() > deadline:
            return
        status, body = _post(url + "/classify", item.body, item.content_type)
        sent += 1
        statuses[status // 100 * 100] += 1
        if status >= 500:
            server_errors += 1
            wrong.append(f"{item.kind}: {status}")
        elif item.label is not None and (status != 200 or body != {"predicted_label": item.label}):
            wrong.append(f"{item.kind}: {status} {body}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, items))
    source = "generated" + (f" + {len(drawn)} hypothesis" if drawn else " (hypothesis not installed)")
    mix = ", ".join(f"{k}xx {n}" for k, n in sorted((s // 100, n) for s, n in statuses.items()))
    return [
        Row("fuzz", f"inputs through start-api ({source})", sent, mix,
            ok=sent == len(items) and not wrong, detail=wrong[:5],
            note="" if sent == len(items) else f"stopped at the time limit after {sent}"),
        Row("fuzz", "environments killed by client input", sent,
            str(seen.killed("Classifier")), ok=seen.killed("Classifier") == 0),
        Row("fuzz", "5xx for client errors", sent, str(server_errors), ok=server_errors == 0),
    ]


def _load(url: str, samples: list[inputs.Digit], options: SoakOptions,
          seen: _Seen) -> list[Row]:
    import base64

    call = _invoker(url, options.concurrency)
    payloads = [(d.label, json.dumps({"image": base64.b64encode(d.data).decode()}).encode())
                for d in samples]
    deadline = time.monotonic() + options.time_limit_s
    answers: list[tuple[str, bool]] = []
    lost = []

    def one(i: int) -> None:
        if time.monotonic() > deadline:
            return
        label, payload = payloads[i % len(payloads)]
        try:
            request_id, body = call("Classifier", payload)
        except Exception as exc:
            lost.append(f"call {i}: {type(exc).__name__}: {exc}")
            return
        answers.append((request_id, body == {"predicted_label": label}))

    started = time.monotonic()
    with ThreadPoolExecutor(options.concurrency) as pool:
        list(pool.map(one, range(options.calls)))
    seconds = time.monotonic() - started
    ids = Counter(request_id for request_id, _ in answers)
    wrong = sum(not right for _, right in answers)
    unmatched = sum(1 for request_id in ids if seen.reports[request_id] != 1)
    duplicated = sum(n - 1 for n in ids.values() if n > 1)
    sent = len(answers) + len(lost)
    client = "boto3" if _boto3() is not None else "http.client (boto3 not installed)"
    return [
        Row("load", f"{client} calls at concurrency {options.concurrency}", sent,
            f"{len(answers)} answered in {seconds:.1f} s ({len(answers) / seconds:.0f}/s)",
            ok=sent == options.calls and not lost, detail=lost[:5],
            note="" if sent == options.calls else f"stopped at the time limit after {sent}"),
        Row("load", "lost or wrong answers", sent,
            f"{len(lost)} lost, {wrong} wrong, {duplicated} duplicated, "
            f"{unmatched} not matched to one REPORT line",
            ok=not lost and wrong == 0 and duplicated == 0 and unmatched == 0),
    ]


def _faults(engine: LocalLambda, options: SoakOptions) -> list[Row]:
    rows = []
    stop = threading.Event()
    neighbour = Counter[str]()

    def neighbour_loop() -> None:
        while not stop.is_set():
            result = engine.invoke("Neighbour", b'{"n": 1}')
            neighbour["ok" if result.error_type is None else "failed"] += 1

    thread = threading.Thread(target=neighbour_loop, daemon=True)
    thread.start()
    try:
        for name, expected in FAULTS.items():
            got = Counter(engine.invoke(name, b"{}").error_type for _ in range(3))
            rows.append(Row("faults", f"{name}: reported as {expected or 'a success'}", 3,
                            ", ".join(f"{k or 'success'} x{n}" for k, n in got.items()),
                            ok=got == Counter({expected: 3})))
    finally:
        stop.set()
        thread.join(30)
    total = neighbour["ok"] + neighbour["failed"]
    rows.append(Row("faults", "healthy neighbour answered meanwhile", total,
                    f"{neighbour['ok']} of {total}", ok=total > 0 and neighbour["failed"] == 0))
    return rows


def _hostile(api: str, lam: str, engine: LocalLambda, options: SoakOptions,
             seen: _Seen) -> list[Row]:
    rows = []
    timeout = options.read_timeout_s
    heads = {api: "POST /classify HTTP/1.1\r\nHost: soak\r\n",
             lam: "POST /2015-03-31/functions/Neighbour/invocations HTTP/1.1\r\nHost: soak\r\n"}
    for url, name in ((api, "start-api"), (lam, "start-lambda")):
        tally = probes.ProbeTally()
        probes.framing(url, tally, timeout)
        probes.slow_clients(url, heads[url], tally, options.read_timeout_s)
        ok = (heads[url] + "Content-Type: application/json\r\nContent-Length: 2\r\n"
              "Connection: close\r\n\r\n{}").encode()
        added = probes.idle_flood(url, options.idle_connections, ok if url == lam else
                                  _classify_request(options), tally, options.idle_timeout_s)
        probes.methods(url, ["/classify"] if url == api else
                       ["/2015-03-31/functions/Neighbour/invocations"], tally, timeout)
        if url == lam:
            probes.invoke_bodies(url, "Neighbour", tally, timeout)
            probes.client_context(url, "Neighbour", tally, timeout)
        else:
            probes.function_headers(url, tally, timeout)
        rows.append(Row("hostile", f"{name}: probes answered as the service does", tally.sent,
                        f"{tally.sent - len(tally.wrong)} right", ok=not tally.wrong,
                        detail=tally.wrong[:5]))
        rows.append(Row("hostile", f"{name}: connections held past the read/idle timeout",
                        tally.sent, str(tally.held), ok=tally.held == 0))
        rows.append(Row("hostile", f"{name}: 5xx for client errors", tally.sent,
                        str(tally.server_errors), ok=tally.server_errors == 0))
        rows.append(Row("hostile", f"{name}: threads added by {options.idle_connections} idle "
                        "connections", options.idle_connections, str(added), ok=added <= 2))
    envs = engine.environments("Neighbour") or engine.environments("Classifier")
    refused = sum(probes.takeover(env.api.address) for env in envs[:3])
    rows.append(Row("hostile", "Runtime API takeover from another process refused",
                    min(3, len(envs)), f"{refused} of {min(3, len(envs))} refused",
                    ok=refused == min(3, len(envs)) > 0))
    killed = sum(seen.killed(name) for name in ("Classifier", "Neighbour", "Probe"))
    rows.append(Row("hostile", "environments killed by client input", 0, str(killed),
                    ok=killed == 0))
    return rows


# -- clients --------------------------------------------------------------------------------------

def _post(url: str, body: bytes, content_type: str) -> tuple[int, object]:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        conn.request("POST", parts.path, body=body, headers={"Content-Type": content_type})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data[:100]


def _classify_request(options: SoakOptions) -> bytes:
    digit = inputs.digits(options.digits_dir)[0]
    return (f"POST /classify HTTP/1.1\r\nHost: soak\r\nContent-Type: {inputs.PNG}\r\n"
            f"Content-Length: {len(digit.data)}\r\nConnection: close\r\n\r\n").encode() + digit.data


def _boto3() -> object | None:
    try:
        import boto3
    except ImportError:
        return None
    return boto3


def _invoker(url: str, concurrency: int) -> Callable[[str, bytes], tuple[str, object]]:
    """(function, payload) -> (request id, the JSON answer), with boto3 where it is installed."""
    boto3 = _boto3()
    if boto3 is not None:
        from botocore.config import Config

        client = boto3.client(  # type: ignore[attr-defined]
            "lambda", endpoint_url=url, region_name="us-east-1", aws_access_key_id="soak",
            aws_secret_access_key="soak",
            config=Config(retries={"max_attempts": 1}, read_timeout=60,
                          max_pool_connections=concurrency))

        def call(function: str, payload: bytes) -> tuple[str, object]:
            response = client.invoke(FunctionName=function, Payload=payload)
            request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
            return request_id, json.loads(response["Payload"].read())

        return call

    def call_http(function: str, payload: bytes) -> tuple[str, object]:
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        try:
            conn.request("POST", f"/2015-03-31/functions/{function}/invocations", body=payload)
            response = conn.getresponse()
            return response.getheader("x-amzn-RequestId") or "", json.loads(response.read())
        finally:
            conn.close()

    return call_http
