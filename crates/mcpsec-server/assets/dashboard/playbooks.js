// mcpsec dashboard: the playbooks page. Approval requests waiting on people (approve or
// reject, with `approvals.decide`), the tenant's playbooks with a manual start (with
// `playbooks.run`), and the runs with each step's timeline. Uses the helpers of app.js.
"use strict";

const pb = { open: null, timer: null };

function resetPlaybooks() {
  clearTimeout(pb.timer);
  Object.assign(pb, { open: null, timer: null });
  for (const id of ["pb-approvals", "pb-list", "pb-runs"]) $(id).tBodies[0].replaceChildren();
  $("pb-detail").hidden = true;
}

const RUN_STATUS = { running: "Running", waiting: "Waiting for approval", succeeded: "Succeeded", failed: "Failed" };
const runLabel = (s) => RUN_STATUS[s] || s;
const pbQuiet = (err) => err.message === "unauthenticated";

async function playbooksView() {
  await Promise.all([loadApprovals(), loadPlaybooks(), loadRuns()]);
}

async function loadApprovals() {
  try {
    const r = await api("/api/v1/approvals");
    $("pb-approvals").tBodies[0].replaceChildren(...(r.approvals.length ? r.approvals.map(approvalRow)
      : [el("tr", {}, el("td", { colspan: "7", class: "muted" }, "Nothing is waiting for approval."))]));
  } catch (err) {
    if (!pbQuiet(err)) $("pb-status").textContent = "Cannot list approvals: " + err.message;
  }
}

function approvalRow(a) {
  const who = [a.role ? `role ${a.role}` : "", a.approvers.length ? a.approvers.join(", ") : ""].filter(Boolean).join("; ") || "any approver";
  const actions = el("td", { class: "actions" });
  if (can("approvals.decide")) {
    for (const [verb, label, cls] of [["approve", "Approve", "primary"], ["reject", "Reject", "danger"]]) {
      const b = el("button", { type: "button", class: cls, "aria-label": `${label} step ${a.step_id} of ${a.playbook_id}` }, label);
      b.addEventListener("click", () => decide(a, verb));
      actions.append(b);
    }
  }
  const run = el("button", { type: "button", class: "link", title: `Open run ${a.run_id}` }, a.run_id.slice(-8));
  run.addEventListener("click", () => openRun(a.run_id));
  return el("tr", { "data-run": a.run_id, "data-step": a.step_id },
    el("td", { class: "time" }, time(a.created_at)), el("td", {}, a.playbook_id), el("td", {}, a.step_id), el("td", {}, run),
    el("td", {}, who + (a.min > 1 ? ` (${a.min} needed)` : "")), el("td", { class: "time" }, time(a.deadline) + (a.escalated ? " (escalated)" : "")), actions);
}

async function decide(a, verb) {
  const comment = $("pb-comment").value.trim();
  try {
    const r = await send("POST", `/api/v1/runs/${encodeURIComponent(a.run_id)}/steps/${encodeURIComponent(a.step_id)}/${verb}`, { comment: comment || undefined });
    $("pb-comment").value = "";
    $("pb-status").textContent = `Step ${a.step_id} of ${a.playbook_id}: ${verb === "approve" ? "approval" : "rejection"} recorded, request ${r.status}.`;
    await Promise.all([loadApprovals(), loadRuns()]);
    await openRun(a.run_id, true);
    followRun(a.run_id);
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
    followRun(r.run_id);
  } catch (err) {
    if (!pbQuiet(err)) $("pb-status").textContent = `Cannot start ${id}: ${err.message}`;
  }
}

async function loadRuns() {
  try {
    const r = await api("/api/v1/runs", { status: $("pb-rstatus").value, limit: 100 });
    $("pb-runs").tBodies[0].replaceChildren(...(r.runs.length ? r.runs.map(runRow)
      : [el("tr", {}, el("td", { colspan: "6", class: "muted" }, "No runs."))]));
  } catch (err) {
    if (!pbQuiet(err)) $("pb-status").textContent = "Cannot list runs: " + err.message;
  }
}

function runRow(r) {
  const open = el("button", { type: "button", class: "link", title: `Open run ${r.id}` }, r.playbook_id);
  open.addEventListener("click", () => openRun(r.id));
  return el("tr", { "data-id": r.id },
    el("td", { class: "time" }, time(r.created_at)), el("td", {}, open), el("td", {}, r.trigger), el("td", {}, r.actor),
    el("td", { class: "st st-" + r.status }, runLabel(r.status) + (r.error ? `: ${r.error}` : "")), el("td", { class: "small" }, r.alert_id || ""));
}

async function openRun(id, keepFocus) {
  try {
    const d = await api(`/api/v1/runs/${encodeURIComponent(id)}`);
    pb.open = id;
    const r = d.run;
    $("pb-detail").hidden = false;
    $("pb-d-title").textContent = `Run of ${r.playbook_id}`;
    const facts = [["Run", r.id], ["Status", runLabel(r.status)], ["Trigger", r.trigger], ["By", r.actor], ["Started", time(r.created_at)],
      ["Finished", r.finished_at ? time(r.finished_at) : "not yet"], ["Alert", r.alert_id || "none"], ["Error", r.error || ""]].filter(([, v]) => v);
    $("pb-d-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    $("pb-d-steps").replaceChildren(...(d.steps.length ? d.steps.map((s) => stepItem(s, d.approvals))
      : [el("li", { class: "muted" }, "No step has started yet.")]));
    if (!keepFocus) $("pb-d-title").focus();
    return d;
  } catch (err) {
    if (!pbQuiet(err)) $("pb-status").textContent = "Cannot open the run: " + err.message;
    return null;
  }
}

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
  return el("li", { class: "step st-" + s.status, "data-step": s.step_id }, ...parts);
}

// Re-reads a run that is still going for up to a minute, while the page is open.
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
