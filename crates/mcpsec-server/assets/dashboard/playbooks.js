// mcpsec dashboard: the playbooks page. Approval requests waiting on people (approve or
// reject with a reason, with `approvals.decide` and when the request names the key or its
// role), the tenant's playbooks with a manual start (with `playbooks.run`), and the runs
// with each step's timeline. All of it follows the run stream (`/api/v1/stream?topic=runs`)
// live while logged in, and a badge on the Playbooks link counts the requests this key
// may decide. Uses the helpers of app.js.
"use strict";

const pb = { open: null, timer: null, dirty: { runs: false, approvals: false, open: false }, flush: null, fresh: new Set() };

function resetPlaybooks() {
  clearTimeout(pb.timer); clearTimeout(pb.flush);
  runsLive.stop();
  Object.assign(pb, { open: null, timer: null, dirty: { runs: false, approvals: false, open: false }, flush: null, fresh: new Set() });
  $("pb-news").textContent = "";
  for (const id of ["pb-approvals", "pb-list", "pb-runs"]) $(id).tBodies[0].replaceChildren();
  $("pb-detail").hidden = true;
}

// Each load is numbered: when loads of one kind overlap (a live update during an action's
// own reload), only the answer to the newest request is shown.
const pbSeq = { runs: 0, approvals: 0, open: 0 };

const RUN_STATUS = { running: "Running", waiting: "Waiting for approval", succeeded: "Succeeded", failed: "Failed" };
const runLabel = (s) => RUN_STATUS[s] || s;
const pbQuiet = (err) => err.message === "unauthenticated";

async function playbooksView() {
  runsLive.start();
  Object.assign(pb.dirty, { runs: false, approvals: false });
  await Promise.all([loadApprovals(), loadPlaybooks(), loadRuns()]);
  if (pb.open && !$("pb-detail").hidden) await openRun(pb.open, true);
}

async function loadApprovals() {
  try {
    const n = ++pbSeq.approvals;
    const r = await api("/api/v1/approvals");
    if (n !== pbSeq.approvals) return;
    const mine = r.approvals.filter(mayDecide).length;
    $("pb-badge").hidden = mine === 0;
    $("pb-badge").textContent = mine ? `${fmt(mine)} waiting` : "";
    $("pb-approvals").tBodies[0].replaceChildren(...(r.approvals.length ? r.approvals.map(approvalRow)
      : [el("tr", {}, el("td", { colspan: "7", class: "muted" }, "Nothing is waiting for approval."))]));
  } catch (err) {
    if (!pbQuiet(err)) $("pb-status").textContent = "Cannot list approvals: " + err.message;
  }
}

function approvalRow(a) {
  const who = [a.role ? `role ${a.role}` : "", a.approvers.length ? a.approvers.join(", ") : ""].filter(Boolean).join("; ") || "any approver";
  const actions = el("td", { class: "actions" });
  if (mayDecide(a)) {
    for (const [verb, label, cls] of [["approve", "Approve", "primary"], ["reject", "Reject", "danger"]]) {
      const b = el("button", { type: "button", class: cls, "aria-label": `${label} step ${a.step_id} of ${a.playbook_id}` }, label);
      b.addEventListener("click", () => decide(a, verb));
      actions.append(b);
    }
  } else if (can("approvals.decide")) {
    actions.append(el("span", { class: "small muted" }, "not yours to decide"));
  }
  const run = el("button", { type: "button", class: "link", title: `Open run ${a.run_id}` }, a.run_id.slice(-8));
  run.addEventListener("click", () => openRun(a.run_id));
  return el("tr", { "data-run": a.run_id, "data-step": a.step_id },
    el("td", { class: "time" }, time(a.created_at)), el("td", {}, a.playbook_id), el("td", {}, a.step_id), el("td", {}, run),
    el("td", {}, who + (a.min > 1 ? ` (${a.min} needed)` : "")), el("td", { class: "time" }, time(a.deadline) + (a.escalated ? " (escalated)" : "")), actions);
}

// Whether this key may decide a request: the action, and the request names the key or
// its role (an admin decides any), as the server checks.
const mayDecide = (a) => can("approvals.decide") && Boolean(me) &&
  (a.approvers.includes(me.id) || (a.role != null && (a.role === me.role || me.role === "admin")));

async function decide(a, verb) {
  const comment = $("pb-comment").value.trim();
  if (verb === "reject" && !comment) {
    $("pb-status").textContent = `Give a reason to reject step ${a.step_id} of ${a.playbook_id}.`;
    $("pb-comment").focus();
    return;
  }
  try {
    const r = await send("POST", `/api/v1/runs/${encodeURIComponent(a.run_id)}/steps/${encodeURIComponent(a.step_id)}/${verb}`, { comment: comment || undefined });
    $("pb-comment").value = "";
    $("pb-status").textContent = `Step ${a.step_id} of ${a.playbook_id}: ${verb === "approve" ? "approval" : "rejection"} recorded, request ${r.status}.`;
    await Promise.all([loadApprovals(), loadRuns()]);
    await openRun(a.run_id, true);
    if (!runsLive.connected) followRun(a.run_id);
  } catch (err) {
    if (!pbQuiet(err)) $("pb-status").textContent = `Cannot ${verb}: ${err.message}`;
  }
}

async function loadPlaybooks() {
  try {
    const r = await api("/api/v1/playbooks");
    $("pb-list").tBodies[0].replaceChildren(...(r.playbooks.length ? r.playbooks.map(playbookRow)
      : [el("tr", {}, el("td", { colspan: "6", class: "muted" }, "No playbooks. Load files ([respond] playbook_paths) or POST /api/v1/playbooks."))]));
    $("pb-which").replaceChildren(...r.playbooks.map((p) => el("option", { value: p.id }, `${p.name} (${p.id})`)));
    $("pb-run").querySelector("button").disabled = !r.playbooks.length;
  } catch (err) {
    if (!pbQuiet(err)) $("pb-status").textContent = "Cannot list playbooks: " + err.message;
  }
}

function playbookRow(p) {
  const actions = el("td", { class: "actions" });
  if (can("playbooks.run")) {
    const b = el("button", { type: "button", title: `Choose ${p.name} in the form below` }, "Start");
    b.addEventListener("click", () => { $("pb-which").value = p.id; $("pb-alert").focus(); });
    actions.append(b);
  }
  return el("tr", { "data-id": p.id }, el("td", {}, p.name), el("td", {}, el("code", {}, p.id)),
    el("td", {}, p.source + (p.file ? ` ${p.file}` : "")), el("td", { class: "n" }, p.version ? String(p.version) : ""),
    el("td", {}, p.enabled ? "live" : "off"), actions);
}

async function startRun(ev) {
  ev.preventDefault();
  const body = {};
  const alert = $("pb-alert").value.trim();
  if (alert) body.alert_id = alert;
  const text = $("pb-input").value.trim();
  if (text) {
    try { body.input = JSON.parse(text); } catch (e) { $("pb-status").textContent = "The input is not JSON: " + e.message; $("pb-input").focus(); return; }
  }
  const id = $("pb-which").value;
  try {
    const r = await send("POST", `/api/v1/playbooks/${encodeURIComponent(id)}/run`, body);
    $("pb-status").textContent = `Run ${r.run_id} of ${id} started.`;
    $("pb-run").reset();
    $("pb-which").value = id;
    await loadRuns();
    await openRun(r.run_id, true);
    if (!runsLive.connected) followRun(r.run_id);
  } catch (err) {
    if (!pbQuiet(err)) $("pb-status").textContent = `Cannot start ${id}: ${err.message}`;
  }
}

async function loadRuns() {
  try {
    const n = ++pbSeq.runs;
    const r = await api("/api/v1/runs", { status: $("pb-rstatus").value, limit: 100 });
    if (n !== pbSeq.runs) return;
    $("pb-runs").tBodies[0].replaceChildren(...(r.runs.length ? r.runs.map(runRow)
      : [el("tr", {}, el("td", { colspan: "6", class: "muted" }, "No runs."))]));
  } catch (err) {
    if (!pbQuiet(err)) $("pb-status").textContent = "Cannot list runs: " + err.message;
  }
}

function runRow(r) {
  const open = el("button", { type: "button", class: "link", title: `Open run ${r.id}` }, r.playbook_id);
  open.addEventListener("click", () => openRun(r.id));
  return el("tr", { "data-id": r.id, class: pb.fresh.has(r.id) ? "fresh" : "" },
    el("td", { class: "time" }, time(r.created_at)), el("td", {}, open), el("td", {}, r.trigger), el("td", {}, r.actor),
    el("td", { class: "st st-" + r.status }, runLabel(r.status) + (r.error ? `: ${r.error}` : "")), el("td", { class: "small" }, r.alert_id || ""));
}

async function openRun(id, keepFocus) {
  try {
    // The run counts as open from the request on, so updates that arrive while it is
    // under way cause another read.
    const same = pb.open === id;
    pb.open = id;
    const n = ++pbSeq.open;
    const d = await api(`/api/v1/runs/${encodeURIComponent(id)}`);
    if (n !== pbSeq.open || pb.open !== id) return d;
    // A live re-render keeps the input/output panels the reader had opened.
    const kept = same ? [...$("pb-d-steps").querySelectorAll("details[open]")].map(detailsKey) : [];
    const r = d.run;
    $("pb-detail").hidden = false;
    $("pb-d-title").textContent = `Run of ${r.playbook_id}`;
    const facts = [["Run", r.id], ["Status", runLabel(r.status)], ["Trigger", r.trigger], ["By", r.actor], ["Started", time(r.created_at)],
      ["Finished", r.finished_at ? time(r.finished_at) : "not yet"], ["Alert", r.alert_id || "none"], ["Error", r.error || ""]].filter(([, v]) => v);
    $("pb-d-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    $("pb-d-steps").replaceChildren(...(d.steps.length ? d.steps.map((s) => stepItem(s, d.approvals))
      : [el("li", { class: "muted" }, "No step has started yet.")]));
    for (const e of $("pb-d-steps").querySelectorAll("details")) if (kept.includes(detailsKey(e))) e.open = true;
    if (!keepFocus) $("pb-d-title").focus();
    return d;
  } catch (err) {
    if ($("pb-detail").hidden) pb.open = null;
    if (!pbQuiet(err)) $("pb-status").textContent = "Cannot open the run: " + err.message;
    return null;
  }
}

const detailsKey = (e) => `${e.closest("li").dataset.step}|${e.closest("li").dataset.item}|${e.querySelector("summary").textContent}`;

function stepItem(s, approvals) {
  const name = s.item >= 0 ? `${s.step_id} [${s.item}]` : s.step_id;
  const when = [s.started_at ? time(s.started_at) : "", s.finished_at ? "→ " + time(s.finished_at) : "",
    s.duration_ms != null ? `(${fmt(s.duration_ms)} ms)` : ""].filter(Boolean).join(" ");
  const ask = approvals.find((a) => a.step_id === s.step_id);
  const parts = [el("strong", {}, name), " ", el("span", { class: "st st-" + s.status }, s.status),
    el("div", { class: "small muted" }, [when, s.attempt > 1 ? `attempt ${s.attempt}` : "", s.actor ? `by ${s.actor}` : ""].filter(Boolean).join(" · "))];
  if (ask) parts.push(el("div", { class: "small" }, `Approval ${ask.status}` + (ask.decided_at ? ` at ${time(ask.decided_at)}` : `, deadline ${time(ask.deadline)}`)));
  if (s.error) parts.push(el("div", { class: "error" }, s.error));
  for (const [label, v] of [["Input", s.input], ["Output", s.output]]) {
    if (v != null) parts.push(el("details", {}, el("summary", {}, label), el("pre", { class: "event" }, JSON.stringify(v, null, 2))));
  }
  return el("li", { class: "step st-" + s.status, "data-step": s.step_id, "data-item": String(s.item) }, ...parts);
}

// Without the live stream: re-reads a run that is still going for up to a minute, while
// the page is open.
function followRun(id, tries) {
  clearTimeout(pb.timer);
  const n = tries || 0;
  if (n >= 60 || $("playbooks").hidden || pb.open !== id) return;
  pb.timer = setTimeout(async () => {
    const d = await openRun(id, true);
    // Going on: running, or waiting on an approval already decided (not yet driven on).
    const going = d && (d.run.status === "running" || (d.run.status === "waiting" && !d.approvals.some((a) => a.status === "pending")));
    if (going) followRun(id, n + 1);
    else { loadRuns(); loadApprovals(); }
  }, 1000);
}

// ---- Live ------------------------------------------------------------------------

// A run update from the stream marks what it changes; the page re-reads those parts from
// the API at most every 300 ms (the stream says what changed, the API what it is now).
function runUpdate(u) {
  if (!u || typeof u.run_id !== "string") return;
  pb.dirty.runs = true;
  if (u.kind === "approval" || (u.kind === "run" && u.status !== "running")) pb.dirty.approvals = true;
  if (u.run_id === pb.open) pb.dirty.open = true;
  if (u.kind === "run") pb.fresh.add(u.run_id);
  if (!pb.flush) pb.flush = setTimeout(flushUpdates, 300);
}

async function flushUpdates() {
  pb.flush = null;
  const d = pb.dirty;
  pb.dirty = { runs: false, approvals: false, open: false };
  if ($("playbooks").hidden) { // the badge follows; the rest is read when the page opens
    pb.fresh.clear();
    if (d.approvals) await loadApprovals();
    return;
  }
  await Promise.all([d.runs ? loadRuns() : null, d.approvals ? loadApprovals() : null,
    d.open && pb.open ? openRun(pb.open, true) : null]);
  announce(pb.fresh);
  pb.fresh.clear();
}

// Says which runs changed (playbook, run id, status now), as shown in the runs list.
function announce(ids) {
  const said = [...ids].map((id) => $("pb-runs").querySelector(`tr[data-id="${CSS.escape(id)}"]`)).filter(Boolean)
    .map((tr) => `${tr.cells[1].textContent} run ${tr.dataset.id.slice(-8)}: ${tr.cells[4].textContent}`);
  if (said.length) $("pb-news").textContent = `${new Date().toISOString().slice(11, 19)} UTC · ${said.join("; ")}`;
}

// The run stream, from login (with `playbooks.read`) until logout. Reconnects with
// exponential backoff (1 s to 30 s) and, once back, reads everything again (updates sent
// while it was away are lost). `#pb-live` says which.
const runsLive = {
  ws: null, delay: 1000, timer: null, wanted: false, connected: false,
  start() {
    if (this.wanted) return;
    this.wanted = true; this.connect();
  },
  stop() {
    this.wanted = false; this.connected = false; clearTimeout(this.timer);
    if (this.ws) { this.ws.onclose = null; this.ws.close(); this.ws = null; }
    $("pb-live").textContent = ""; $("pb-live").className = "live-state";
    $("pb-badge").hidden = true; $("pb-badge").textContent = "";
  },
  state(on, text) {
    $("pb-live").textContent = text;
    $("pb-live").className = "live-state " + (on ? "live-on" : "live-off");
  },
  connect() {
    const url = new URL("/api/v1/stream", location.origin);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("topic", "runs");
    url.searchParams.set("access_token", sessionStorage.getItem(KEY));
    const ws = new WebSocket(url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true; this.connected = true; this.delay = 1000;
      this.state(true, "● Live");
      Object.assign(pb.dirty, { runs: true, approvals: true, open: true });
      if (!pb.flush) pb.flush = setTimeout(flushUpdates, 0);
    };
    ws.onmessage = (m) => { try { runUpdate(JSON.parse(m.data)); } catch (_) { /* not an update */ } };
    ws.onclose = (e) => {
      if (!this.wanted || this.ws !== ws) return;
      this.connected = false;
      // A key without the permission (the page was opened before it was known) stops.
      if (caps && !can("playbooks.read")) { this.stop(); return; }
      const why = opened ? (e.reason ? ` (${e.reason})` : "") : " (cannot connect)";
      this.state(false, `○ Offline${why}: retrying in ${Math.round(this.delay / 1000)} s`);
      this.timer = setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 30000);
    };
  },
};

function closeRun() {
  const id = pb.open; pb.open = null;
  clearTimeout(pb.timer);
  $("pb-detail").hidden = true;
  const row = id && $("pb-runs").querySelector(`tr[data-id="${CSS.escape(id)}"] button`);
  if (row) row.focus();
}

function playbookKeys(ev) {
  if (ev.key === "Escape" && !$("pb-detail").hidden) closeRun();
}

function playbooksInit() {
  $("pb-run").addEventListener("submit", startRun);
  $("pb-rfilters").addEventListener("submit", (e) => { e.preventDefault(); loadRuns(); });
  $("pb-d-close").addEventListener("click", closeRun);
}
