// The lambdalite playground: plain JavaScript, no framework, nothing fetched but from this server.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { targets: [], calls: 0 };

function fmtMs(value) {
  return value === null || value === undefined ? "-" : `${Number(value).toFixed(2)} ms`;
}

function fmtMb(value) {
  // Memory this host cannot measure is null: shown as n/a, never as 0.
  return value === null || value === undefined ? "n/a" : `${value} MB`;
}

async function load() {
  const listing = await (await fetch("/api/targets")).json();
  state.targets = listing.targets;
  $("limits").textContent = listing.limits;
  const select = $("target");
  for (const target of listing.targets) {
    const option = document.createElement("option");
    option.value = target.id;
    option.textContent = target.label;
    select.appendChild(option);
  }
  if (!listing.targets.length) {
    showError("This template has nothing the playground can call: add an Api or HttpApi event, or a FunctionUrlConfig.");
  }
  select.addEventListener("change", describeTarget);
  describeTarget();
}

function currentTarget() {
  return state.targets[Number($("target").value)];
}

function describeTarget() {
  const target = currentTarget();
  if (!target) return;
  const model = target.model;
  const parts = [];
  if (model && model.name) parts.push(`model ${model.name}`);
  if (model && model.image) {
    parts.push(`image input ${model.image.width}x${model.image.height} ${model.image.colorMode}`);
  }
  if (model && model.inputs && model.inputs.length) {
    parts.push("inputs " + model.inputs.map((i) => `${i.name} ${i.dtype || ""}[${(i.shape || []).join(",")}]`).join(", "));
  }
  $("target-info").textContent = parts.join(" - ") || "no lambdalite manifest found: any body is sent as it is";
  // Drawing makes sense for an image model (or when nothing is known about the model).
  $("draw-area").hidden = Boolean(model) && !model.image;
}

// ---- drawing ----------------------------------------------------------------------------
const canvas = $("canvas");
const pen = canvas.getContext("2d");
let drawing = false;

function clearCanvas() {
  pen.fillStyle = "#000";
  pen.fillRect(0, 0, canvas.width, canvas.height);
}

function point(event) {
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width,
          (event.clientY - box.top) * canvas.height / box.height];
}

canvas.addEventListener("pointerdown", (event) => {
  drawing = true;
  canvas.setPointerCapture(event.pointerId);
  const [x, y] = point(event);
  pen.beginPath();
  pen.moveTo(x, y);
  pen.lineTo(x + 0.1, y + 0.1);
  pen.stroke();
});
canvas.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const [x, y] = point(event);
  pen.lineTo(x, y);
  pen.stroke();
});
canvas.addEventListener("pointerup", () => { drawing = false; });
canvas.addEventListener("pointerleave", () => { drawing = false; });
pen.strokeStyle = "#fff";
pen.lineWidth = 22;
pen.lineCap = "round";
pen.lineJoin = "round";
clearCanvas();
$("clear").addEventListener("click", clearCanvas);
$("send-drawing").addEventListener("click", () => {
  canvas.toBlob((blob) => send(blob, "image/png", "drawing"), "image/png");
});

// ---- files --------------------------------------------------------------------------------
function base64Of(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

// The request for a file, as `lambdalite predict` builds it: an image as it is, a .npy as
// {"inputs": {"npy": base64}}, a .json as {"inputs": ...} unless it is a request already.
async function requestFor(file) {
  const name = file.name.toLowerCase();
  if (name.endsWith(".npy")) {
    const inputs = { npy: base64Of(await file.arrayBuffer()) };
    return [JSON.stringify({ inputs }), "application/json"];
  }
  if (name.endsWith(".json")) {
    let content;
    try {
      content = JSON.parse(await file.text());
    } catch (error) {
      throw new Error(`${file.name} is not valid JSON: ${error.message}`);
    }
    const isRequest = content && typeof content === "object" && !Array.isArray(content) &&
      ["inputs", "image", "images"].some((key) => key in content);
    return [JSON.stringify(isRequest ? content : { inputs: content }), "application/json"];
  }
  return [file, file.type || "application/octet-stream"];
}

async function sendFile(file) {
  try {
    const [body, type] = await requestFor(file);
    await send(body, type, file.name);
  } catch (error) {
    showError(error.message);
  }
}

$("file").addEventListener("change", (event) => {
  if (event.target.files.length) sendFile(event.target.files[0]);
});
const drop = $("drop");
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  if (event.dataTransfer.files.length) sendFile(event.dataTransfer.files[0]);
});

// ---- calling ------------------------------------------------------------------------------
async function send(body, contentType, inputName) {
  const target = currentTarget();
  if (!target) return;
  const topK = Number($("topk").value) || 0;
  const query = new URLSearchParams({ target: target.id });
  if (topK > 0) query.set("top_k", String(topK));
  $("status").textContent = "calling...";
  $("status").className = "badge";
  let shown;
  try {
    const response = await fetch(`/api/call?${query}`, {
      method: "POST", body, headers: { "Content-Type": contentType } });
    shown = await response.json();
    if (!response.ok) throw new Error(shown.error || `the playground answered ${response.status}`);
  } catch (error) {
    showError(`The call did not go through: ${error.message}`);
    $("status").textContent = "";
    return;
  }
  render(shown, target, inputName);
}

function parseBody(shown) {
  if (shown.body === undefined) return { binary: shown.bodyBase64 };
  if ((shown.contentType || "").includes("json")) {
    try { return JSON.parse(shown.body); } catch (error) { return shown.body; }
  }
  return shown.body;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}

function render(shown, target, inputName) {
  const ok = shown.status >= 200 && shown.status < 300;
  $("status").textContent = `HTTP ${shown.status}`;
  $("status").className = `badge ${ok ? "ok" : "bad"}`;
  $("error").hidden = true;
  $("answer-label").textContent = "";
  $("bars").replaceChildren();
  $("answer-json").textContent = "";
  const body = parseBody(shown);
  let summary;
  if (ok) {
    summary = renderAnswer(body, target);
  } else {
    summary = renderFailure(shown, body);
  }
  renderFigures(shown.call);
  addHistory(inputName, target, summary, shown.call);
}

function labelOf(item) {
  return item.label !== undefined ? item.label : String(item.index);
}

function renderAnswer(body, target) {
  if (body && typeof body === "object" && !Array.isArray(body)) {
    const first = Array.isArray(body.predictions) ? body.predictions[0] : body;
    if (first && "predicted_label" in first) {
      const label = first.label !== undefined ? first.label : String(first.predicted_label);
      $("answer-label").textContent = label;
      renderBars(first.top_k || []);
      if (Array.isArray(body.predictions) && body.predictions.length > 1) {
        $("answer-json").textContent = JSON.stringify(body, null, 2);
      }
      return label;
    }
    if ("secret" in body) {
      const secret = body.secret === null ? "(no secret)" : body.secret;
      $("answer-label").textContent = secret;
      $("answer-json").textContent = JSON.stringify(body, null, 2);
      return secret;
    }
    if (body.outputs && typeof body.outputs === "object") {
      const names = Object.keys(body.outputs);
      for (const name of names) {
        if (Array.isArray(body.outputs[name]) && body.outputs[name].length &&
            typeof body.outputs[name][0] === "object" && "index" in body.outputs[name][0]) {
          renderBars(body.outputs[name]);
        }
      }
      $("answer-json").textContent = JSON.stringify(body, null, 2).slice(0, 20000);
      return `outputs: ${names.join(", ")}`;
    }
  }
  const text = typeof body === "string" ? body : JSON.stringify(body, null, 2);
  $("answer-json").textContent = text.slice(0, 20000);
  return text.slice(0, 40);
}

function renderBars(items) {
  for (const item of items) {
    const value = item.probability !== undefined ? item.probability : item.score;
    const row = document.createElement("div");
    row.className = "bar";
    const name = document.createElement("span");
    name.textContent = labelOf(item);
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.display = "block";
    fill.style.width = `${Math.max(0, Math.min(1, Number(value) || 0)) * 100}%`;
    track.appendChild(fill);
    const number = document.createElement("span");
    number.textContent = value === undefined ? "" : Number(value).toFixed(3);
    row.append(name, track, number);
    $("bars").appendChild(row);
  }
}

function renderFailure(shown, body) {
  let message;
  if (body && typeof body === "object" && body.error && body.error.message) {
    message = `${body.error.type}: ${body.error.message}`;      // the function's 4xx answer
  } else if (body && typeof body === "object" && (body.message || body.Message)) {
    message = `The front answered ${shown.status}: ${body.message || body.Message}`;
    if (shown.call && shown.call.errorType) {
      message += `\nThe function failed with ${shown.call.errorType}.`;
    }
  } else {
    message = `HTTP ${shown.status}: ${typeof body === "string" ? body : JSON.stringify(body)}`;
  }
  showError(message);
  if (shown.call && shown.call.logTail) $("answer-json").textContent = shown.call.logTail;
  return `error ${shown.status}`;
}

function renderFigures(call) {
  $("fig-start").textContent = call ? (call.cold ? "cold" : "warm") : "-";
  $("fig-init").textContent = call ? fmtMs(call.initDurationMs) : "-";
  $("fig-duration").textContent = call ? fmtMs(call.durationMs) : "-";
  $("fig-billed").textContent = call ? `${call.billedDurationMs} ms` : "-";
  $("fig-memory").textContent = call ? `${fmtMb(call.maxMemoryUsedMb)} of ${call.memorySizeMb} MB` : "-";
  $("report-line").textContent = call ? call.report : "no invocation (the front answered by itself)";
}

function addHistory(inputName, target, summary, call) {
  state.calls += 1;
  const row = document.createElement("tr");
  const cells = [String(state.calls), inputName, target.function, summary,
    call ? (call.cold ? "cold" : "warm") : "-", call ? fmtMs(call.initDurationMs) : "-",
    call ? fmtMs(call.durationMs) : "-", call ? fmtMb(call.maxMemoryUsedMb) : "-"];
  cells.forEach((text, i) => {
    const cell = document.createElement("td");
    cell.textContent = text;
    if (i === 4 && text === "cold") cell.className = "cold";
    row.appendChild(cell);
  });
  const body = $("history").tBodies[0];
  body.insertBefore(row, body.firstChild);
  while (body.rows.length > 10) body.deleteRow(body.rows.length - 1);
}

load().catch((error) => showError(`Could not load the functions: ${error.message}`));
