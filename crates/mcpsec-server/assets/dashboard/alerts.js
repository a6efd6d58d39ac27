// mcpsec dashboard: the alert queue. Filters, paging, selection and bulk triage, a
// detail panel (events shown as text, never as HTML) with single-alert triage, and new
// alerts arriving live over the alert WebSocket. Uses the helpers of app.js.
"use strict";

const LEVELS = ["informational", "low", "medium", "high", "critical"];
const STATUS = { open: "Open", acknowledged: "Acknowledged", closed: "Closed", false_positive: "False positive" };
const statusLabel = (s) => STATUS[s] || s;
const pageSize = () => Number($("al-size").value) || 50;

const al = { offset: 0, total: 0, rows: [], selected: new Set(), current: -1, detail: null, unseen: 0, loaded: false, ruleList: false };

function resetAlerts() {
  Object.assign(al, { offset: 0, total: 0, rows: [], selected: new Set(), current: -1, detail: null, unseen: 0, loaded: false, ruleList: false });
  $("al-table").tBodies[0].replaceChildren();
  $("al-filters").reset(); $("al-size").value = "50"; $("al-custom").hidden = true;
  $("al-detail").hidden = true;
  newIndicator();
}

function alertFilters() {
  const [op, lvl] = $("al-level").value.split(":");
  return {
    min_level: op === "min" ? lvl : "", level: op === "eq" ? lvl : "", status: $("al-status").value, rule: $("al-rule").value.trim(),
    host: $("al-host").value.trim(), ...period(),
  };
}

// The period: a preset (`now-7d`), or "Between…" two local times sent as UTC.
function period() {
  const v = $("al-range").value;
  if (v !== "custom") return { from: v, to: "" };
  const utc = (id) => { const t = $(id).value; return t ? new Date(t).toISOString() : ""; };
  return { from: utc("al-from"), to: utc("al-to") };
}

const levelBadge = (level) => el("span", { class: "lvl lvl-" + (LEVELS.includes(level) ? level : "unknown") }, level);
const tags = (list, cls) => list.length ? el("span", { class: "tags" }, ...list.map((t) => el("span", { class: cls || "tag" }, t))) : "";

function alertRow(a, i) {
  const box = el("input", { type: "checkbox", "aria-label": "Select " + a.rule_title + " on " + (a.host || "no host") });
  box.checked = al.selected.has(a.id);
  box.addEventListener("change", () => { if (box.checked) al.selected.add(a.id); else al.selected.delete(a.id); selection(); });
  const open = el("button", { type: "button", class: "link", "data-id": a.id }, a.rule_title);
  open.addEventListener("click", () => { al.current = i; openAlert(a.id); });
  open.addEventListener("focus", () => { al.current = i; mark(); });
  return el("tr", { "data-id": a.id, "data-level": a.level },
    el("td", {}, box), el("td", {}, levelBadge(a.level)), el("td", {}, open, a.kind === "correlation" ? el("span", { class: "muted" }, " (correlation)") : ""),
    el("td", {}, a.host || ""), el("td", { class: "time" }, time(a.event_time)), el("td", { class: "st" }, statusLabel(a.status)),
    el("td", {}, tags(a.techniques)));
}

function renderAlerts() {
  $("al-table").tBodies[0].replaceChildren(...(al.rows.length ? al.rows.map(alertRow)
    : [el("tr", {}, el("td", { colspan: "7", class: "muted" }, "No alerts match these filters."))]));
  const last = al.offset + al.rows.length;
  $("al-page").textContent = al.total ? `${fmt(al.offset + 1)}–${fmt(last)} of ${fmt(al.total)}` : "";
  $("al-prev").disabled = al.offset === 0;
  $("al-next").disabled = last >= al.total;
  selection(); mark();
}

async function loadAlerts() {
  $("al-status-line").textContent = "Loading…";
  try {
    const page = await api("/api/v1/alerts", { ...alertFilters(), limit: pageSize(), offset: al.offset });
    al.rows = page.alerts; al.total = page.total; al.loaded = true;
    if (al.offset === 0) { al.unseen = 0; newIndicator(); }
    al.current = Math.min(al.current, al.rows.length - 1);
    renderAlerts();
    $("al-status-line").textContent = `${fmt(page.total)} alerts match.`;
  } catch (err) {
    if (err.message !== "unauthenticated") $("al-status-line").textContent = "Cannot load alerts: " + err.message;
  }
}

async function alertsView() {
  if (!al.loaded || (al.offset === 0 && al.unseen)) await loadAlerts();
  if (al.ruleList) return;
  al.ruleList = true; // once per login: a key that may not read rules is told so once
  try {
    const rules = await api("/api/v1/rules", { limit: 1000 });
    $("al-rules").replaceChildren(...rules.rules.map((r) => el("option", { value: r.id }, r.title)));
  } catch (_) { /* the rule list only helps typing */ }
}

// ---- Selection and bulk triage -------------------------------------------------

function selection() {
  const n = al.selected.size;
  $("al-selected").textContent = `${fmt(n)} selected`;
  for (const b of $("al-bulk").querySelectorAll("button")) b.disabled = n === 0;
  const onPage = al.rows.filter((a) => al.selected.has(a.id)).length;
  $("al-all").checked = al.rows.length > 0 && onPage === al.rows.length;
  $("al-all").indeterminate = onPage > 0 && onPage < al.rows.length;
}

function selectAll() {
  const on = $("al-all").checked;
  for (const a of al.rows) { if (on) al.selected.add(a.id); else al.selected.delete(a.id); }
  for (const b of $("al-table").tBodies[0].querySelectorAll("input[type=checkbox]")) b.checked = on;
  selection();
}

async function bulk(status) {
  const ids = [...al.selected];
  if (!ids.length) return;
  $("al-status-line").textContent = `Setting ${fmt(ids.length)} alerts to ${statusLabel(status)}…`;
  try {
    const r = await send("POST", "/api/v1/alerts/status", { ids, status, comment: $("al-comment").value.trim() || undefined });
    al.selected.clear(); $("al-comment").value = "";
    await loadAlerts();
    $("al-status-line").textContent = `${fmt(r.updated.length)} alerts set to ${statusLabel(status)}` +
      (r.missing.length ? `; ${fmt(r.missing.length)} no longer exist.` : ".");
    if (al.detail && r.updated.includes(al.detail)) openAlert(al.detail, true);
  } catch (err) {
    if (err.message !== "unauthenticated") $("al-status-line").textContent = "Triage failed: " + err.message;
  }
}

// ---- Detail --------------------------------------------------------------------

function facts(dl, pairs) {
  dl.replaceChildren(...pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

const asText = (v) => typeof v === "string" ? v : JSON.stringify(v);

// A correlation's group as label/value pairs: group-by fields one by one ("by IpAddress"),
// then the aggregated value and the window.
function groupFacts(g) {
  return Object.entries(g).flatMap(([k, v]) => v && typeof v === "object" && !Array.isArray(v)
    ? Object.entries(v).map(([f, x]) => [`${k} ${f}`, asText(x)])
    : [[k.replace(/_/g, " "), /^window/.test(k) ? time(String(v)) + " UTC" : asText(v)]]);
}

async function openAlert(id, keepFocus) {
  al.detail = id; mark();
  const box = $("al-detail");
  box.hidden = false;
  $("ad-msg").textContent = "Loading…";
  try {
    const [a, h] = await Promise.all([api("/api/v1/alerts/" + encodeURIComponent(id)), api(`/api/v1/alerts/${encodeURIComponent(id)}/history`)]);
    if (al.detail !== id) return;
    $("ad-title").replaceChildren(levelBadge(a.level), " ", a.rule_title);
    facts($("ad-facts"), [
      ["Status", statusLabel(a.status) + (a.status_by ? ` by ${a.status_by} at ${time(a.status_at)}` : "")],
      ["Host", a.host || "—"], ["Event time", time(a.event_time) + " UTC"], ["Raised", time(a.created_at) + " UTC"],
      ["Rule", `${a.rule_id}${a.rule_version ? " v" + a.rule_version : ""}`], ["Kind", a.kind],
      ["Events", fmt(a.event_count)], ["Alert id", a.id],
    ]);
    $("ad-attack").replaceChildren(a.techniques.length || a.tactics.length
      ? el("div", {}, tags(a.techniques), " ", tags(a.tactics, "tag tactic")) : el("p", { class: "muted" }, "No ATT&CK tags."),
    el("p", { class: "muted" }, "Tags: " + (a.tags.join(", ") || "none")));
    $("ad-group-box").hidden = !a.group;
    if (a.group) facts($("ad-group"), groupFacts(a.group));
    $("ad-events-h").textContent = `Events (${fmt(a.events.length)} of ${fmt(a.event_count)})`;
    // textContent only: an event is data, whatever markup it holds.
    $("ad-events").replaceChildren(...a.events.map((e) => { const p = el("pre", { class: "event", tabindex: "0" }); p.textContent = JSON.stringify(e, null, 2); return p; }));
    $("ad-history").replaceChildren(...(h.changes.length ? h.changes.map((c) => el("li", {},
      `${time(c.at)} UTC — ${c.actor}: ${statusLabel(c.from)} → ${statusLabel(c.to)}`, c.comment ? el("q", {}, c.comment) : ""))
      : [el("li", { class: "muted" }, "No status changes yet.")]));
    $("ad-status").value = a.status === "open" ? "acknowledged" : a.status;
    $("ad-msg").textContent = "";
    if (!keepFocus) $("ad-title").focus();
  } catch (err) {
    if (err.message !== "unauthenticated") $("ad-msg").textContent = "Cannot load the alert: " + err.message;
  }
}

function closeAlert() {
  const id = al.detail;
  al.detail = null; $("al-detail").hidden = true; mark();
  const b = id && $("al-table").querySelector(`button[data-id="${CSS.escape(id)}"]`);
  if (b) b.focus();
}

async function triageOne(ev) {
  ev.preventDefault();
  const id = al.detail;
  if (!id) return;
  const status = $("ad-status").value;
  $("ad-msg").textContent = "Saving…";
  try {
    await send("PATCH", "/api/v1/alerts/" + encodeURIComponent(id), { status, comment: $("ad-comment").value.trim() || undefined });
    $("ad-comment").value = "";
    await Promise.all([loadAlerts(), openAlert(id, true)]);
    $("ad-msg").textContent = "Status set to " + statusLabel(status) + ".";
  } catch (err) {
    if (err.message !== "unauthenticated") $("ad-msg").textContent = "Triage failed: " + err.message;
  }
}

// ---- Keyboard --------------------------------------------------------------------

function mark() {
  for (const tr of $("al-table").tBodies[0].rows) {
    const i = tr.sectionRowIndex;
    tr.classList.toggle("current", i === al.current);
    if (tr.dataset.id === al.detail) tr.setAttribute("aria-current", "true"); else tr.removeAttribute("aria-current");
  }
}

function focusRow(i) {
  if (!al.rows.length) return;
  al.current = Math.max(0, Math.min(al.rows.length - 1, i));
  const tr = $("al-table").tBodies[0].rows[al.current];
  tr.querySelector("button").focus();
  mark();
}

function page(delta) {
  const next = al.offset + delta * pageSize();
  if (next < 0 || next >= Math.max(al.total, 1)) return;
  al.offset = next; al.current = -1; loadAlerts();
}

function alertKeys(ev) {
  const row = al.rows[al.current];
  if (ev.key === "j") focusRow(al.current + 1);
  else if (ev.key === "k") focusRow(al.current - 1);
  else if (ev.key === "x" && row) {
    const box = $("al-table").tBodies[0].rows[al.current].querySelector("input");
    box.checked = !box.checked; box.dispatchEvent(new Event("change"));
  } else if (ev.key === "Enter" && row && ev.target === document.body) openAlert(row.id);
  else if (ev.key === "Escape" && al.detail) closeAlert();
  else if (ev.key === "f") { ev.preventDefault(); $("al-level").focus(); }
  else if (ev.key === "]") page(1);
  else if (ev.key === "[") page(-1);
}

// ---- Live ------------------------------------------------------------------------

function newIndicator() {
  const n = al.unseen;
  $("al-new").hidden = n === 0;
  $("al-new").textContent = `${fmt(n)} new — show`;
  $("live-badge").hidden = n === 0;
  $("live-badge").textContent = n ? `${fmt(n)} new` : "";
}

// Whether a streamed alert belongs in the table under the current filters.
function fits(a) {
  const f = alertFilters();
  if (f.min_level && LEVELS.indexOf(a.level) < LEVELS.indexOf(f.min_level)) return false;
  if (f.level && f.level !== a.level) return false;
  if (f.status && !f.status.split(",").includes(a.status)) return false;
  if (f.rule && f.rule !== a.rule_id) return false;
  if (f.host && f.host !== a.host) return false;
  if (f.to && new Date(a.event_time) >= new Date(f.to)) return false;
  if (f.from && !f.from.startsWith("now") && new Date(a.event_time) < new Date(f.from)) return false;
  return true;
}

function arrived(a) {
  if (!fits(a) || al.rows.some((r) => r.id === a.id)) return;
  const onFirstPage = al.loaded && al.offset === 0 && !$("alerts").hidden;
  if (onFirstPage) {
    al.rows.unshift(a); al.total += 1;
    if (al.rows.length > pageSize()) al.rows.pop();
    if (al.current >= 0) al.current += 1;
    renderAlerts();
    const tr = $("al-table").tBodies[0].rows[0];
    tr.classList.add("fresh");
    $("al-status-line").textContent = `New ${a.level} alert: ${a.rule_title}${a.host ? " on " + a.host : ""}.`;
  } else {
    al.unseen += 1; newIndicator();
  }
}

// One WebSocket while logged in; reconnects with exponential backoff (1 s to 30 s).
const live = {
  ws: null, delay: 1000, timer: null, wanted: false,
  start() {
    if (this.wanted) return;
    this.wanted = true; this.connect();
  },
  stop() {
    this.wanted = false; clearTimeout(this.timer);
    if (this.ws) { this.ws.onclose = null; this.ws.close(); this.ws = null; }
    $("live").hidden = true;
  },
  state(text) { $("live").hidden = false; $("live").textContent = text; },
  connect() {
    const url = new URL("/api/v1/alerts/stream", location.origin);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("access_token", sessionStorage.getItem(KEY));
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => { this.delay = 1000; this.state("● Live"); };
    ws.onmessage = (m) => { try { arrived(JSON.parse(m.data)); } catch (_) { /* not an alert */ } };
    ws.onclose = () => {
      if (!this.wanted) return;
      this.state(`Reconnecting in ${Math.round(this.delay / 1000)} s…`);
      this.timer = setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 30000);
    };
  },
};

function alertsInit() {
  $("al-filters").addEventListener("submit", (e) => { e.preventDefault(); al.offset = 0; al.current = -1; loadAlerts(); });
  $("al-range").addEventListener("change", () => { $("al-custom").hidden = $("al-range").value !== "custom"; });
  for (const id of ["al-level", "al-status", "al-range", "al-size"]) $(id).addEventListener("change", () => { al.offset = 0; al.current = -1; loadAlerts(); });
  $("al-all").addEventListener("change", selectAll);
  for (const b of $("al-bulk").querySelectorAll("button")) b.addEventListener("click", () => bulk(b.dataset.status));
  $("al-prev").addEventListener("click", () => page(-1));
  $("al-next").addEventListener("click", () => page(1));
  $("al-new").addEventListener("click", async () => { al.offset = 0; await loadAlerts(); focusRow(0); });
  $("ad-close").addEventListener("click", closeAlert);
  $("ad-triage").addEventListener("submit", triageOne);
}
