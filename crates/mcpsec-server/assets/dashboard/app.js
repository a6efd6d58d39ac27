// mcpsec dashboard: login with an API key, overview, event search (alerts.js,
// rules.js, reports.js, projects.js, risk.js and playbooks.js add the other pages). No framework, no
// external requests; everything goes to this server's /api/v1 with the key as a bearer
// token. The key lives in sessionStorage (this tab only), the theme in localStorage.
"use strict";

const $ = (id) => document.getElementById(id);
const KEY = "mcpsec.key";
const THEME = "mcpsec.theme";
const PAGE = 100;
const SVG = "http://www.w3.org/2000/svg";

// ---- API -------------------------------------------------------------------------

async function api(path, params, raw, init) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const headers = { Authorization: "Bearer " + sessionStorage.getItem(KEY) };
  let body;
  if (init && init.file !== undefined) { // a file as it is (an SBOM upload)
    headers["Content-Type"] = init.file.type || "application/octet-stream"; body = init.file;
  } else if (init && init.body !== undefined) {
    headers["Content-Type"] = "application/json"; body = JSON.stringify(init.body);
  }
  const r = await fetch(url, { method: (init && init.method) || "GET", headers, body });
  if (r.status === 401) { logout("Your key was refused (expired or revoked?). Log in again."); throw new Error("unauthenticated"); }
  if (!r.ok) {
    let msg = r.status + " " + r.statusText;
    try { const b = await r.json(); msg = (b.error && b.error.message) || msg; } catch (_) { /* not JSON */ }
    const e = new Error(msg); e.status = r.status; throw e;
  }
  if (raw) return r;
  return r.status === 204 ? null : r.json();
}

// What the key may do (`GET /api/v1/me`); controls marked `data-needs="action"` show
// only when it is granted. Unknown until loaded: nothing that changes data shows.
let caps = null, me = null;
const can = (action) => Boolean(caps && caps.has(action));

function applyCaps() {
  for (const e of document.querySelectorAll("[data-needs]")) e.hidden = !can(e.dataset.needs);
}

async function loadCaps() {
  me = await api("/api/v1/me");
  caps = new Set(me.actions);
  $("who").textContent = `Tenant ${me.tenant} · ${me.role}`;
  applyCaps();
  if (can("playbooks.read")) runsLive.start(); // approvals waiting, on every page
}

// A JSON request that changes something: `send("PATCH", path, body)`.
const send = (method, path, body) => api(path, null, false, { method, body });

// ---- Small DOM helpers ---------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

const fmt = (n) => Number(n).toLocaleString("en");
const time = (t) => t ? t.replace("T", " ").replace(/\.\d+/, "").replace("Z", "") : "";

const pairCount = (pairs, name) => (pairs.find(([n]) => n === name) || [name, 0])[1];

function countsTable(table, head, rows, what) {
  table.replaceChildren(
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, head), el("th", { scope: "col", class: "n" }, what || "Events"))),
    el("tbody", {}, ...(rows.length ? rows.map((c) => el("tr", {}, el("td", {}, c.name), el("td", { class: "n" }, fmt(c.count))))
      : [el("tr", {}, el("td", { colspan: "2", class: "muted" }, "None in this period."))])));
}

// A column chart of {start, count} buckets, drawn as SVG elements (no inline script or
// style, so the page's strict CSP holds). Each bar has a title for pointer and reader.
function chart(box, buckets, label, noun) {
  const what = noun || "events";
  const total = buckets.reduce((s, b) => s + b.count, 0);
  if (!buckets.length || !total) { box.replaceChildren(el("p", { class: "muted" }, `No ${what} in this period.`)); return; }
  const W = 800, H = 160, L = 40, B = 20, T = 6;
  const max = Math.max(...buckets.map((b) => b.count));
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${label}: ${fmt(total)} ${what}, at most ${fmt(max)} in one bucket` });
  const ph = H - B - T, slot = (W - L) / buckets.length;
  for (const f of [0, 0.5, 1]) {
    const y = T + ph - ph * f;
    s.append(svg("line", { x1: L, x2: W, y1: y, y2: y }));
    if (!Number.isInteger(max * f)) continue; // only whole counts on the axis
    const t = svg("text", { x: L - 4, y: y + 4, "text-anchor": "end" }); t.textContent = fmt(max * f); s.append(t);
  }
  buckets.forEach((b, i) => {
    const h = ph * b.count / max;
    const r = svg("rect", { x: L + i * slot + slot * 0.1, y: T + ph - h, width: Math.max(slot * 0.8, 1), height: h });
    const title = svg("title"); title.textContent = `${time(b.start)}: ${fmt(b.count)}`; r.append(title);
    s.append(r);
  });
  for (const [i, anchor] of [[0, "start"], [buckets.length - 1, "end"]]) {
    const t = svg("text", { x: anchor === "start" ? L : W, y: H - 4, "text-anchor": anchor });
    t.textContent = time(buckets[i].start).slice(0, 16); s.append(t);
  }
  box.replaceChildren(s);
}

// ---- Views ---------------------------------------------------------------------

const VIEWS = ["login", "overview", "search", "alerts", "rules", "reports", "projects", "risk", "playbooks"];
const PAGES = VIEWS.slice(1);

function show(view) {
  for (const v of VIEWS) $(v).hidden = v !== view;
  const logged = view !== "login";
  $("nav").hidden = !logged; $("logout").hidden = !logged; $("help-open").hidden = !logged;
  for (const v of PAGES) {
    const a = $("nav-" + v);
    if (v === view) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  document.title = (view === "login" ? "Log in" : view[0].toUpperCase() + view.slice(1)) + " · mcpsec";
}

// Pages that need more than logging in; without the action their link is hidden and
// going there shows the overview.
const PAGE_NEEDS = { projects: "projects.read", risk: "risk.read", playbooks: "playbooks.read" };

function route() {
  if (!sessionStorage.getItem(KEY)) { show("login"); $("key").focus(); return; }
  let view = PAGES.find((p) => location.hash === "#/" + p) || "overview";
  if (caps && PAGE_NEEDS[view] && !can(PAGE_NEEDS[view])) view = "overview";
  show(view);
  live.start();
  if (!caps) loadCaps().then(() => { if (PAGE_NEEDS[view] && !can(PAGE_NEEDS[view])) route(); }).catch(() => {});
  if (view === "overview") overview();
  else if (view === "search") { $("q").focus(); if (!searched) search(); }
  else if (view === "alerts") alertsView();
  else if (view === "reports") reportsView();
  else if (view === "projects") projectsView();
  else if (view === "risk") riskView();
  else if (view === "playbooks") playbooksView();
  else rulesView();
}

async function login(ev) {
  ev.preventDefault();
  const key = $("key").value.trim();
  $("login-error").textContent = "";
  sessionStorage.setItem(KEY, key);
  try {
    await loadCaps();
  } catch (e) {
    sessionStorage.removeItem(KEY);
    $("login-error").textContent = e.message === "unauthenticated" ? "That key was not accepted." : "Cannot log in: " + e.message;
    show("login"); $("key").focus(); $("key").select();
    return;
  }
  $("key").value = "";
  if (!PAGES.some((p) => location.hash === "#/" + p)) location.hash = "#/overview"; else route();
}

function logout(message) {
  sessionStorage.removeItem(KEY);
  searched = false; caps = null; me = null; applyCaps();
  live.stop();
  resetAlerts(); resetRules(); resetReports(); resetProjects(); resetRisk(); resetPlaybooks();
  show("login");
  $("login-error").textContent = typeof message === "string" ? message : "";
  $("key").focus();
}

async function overview() {
  const from = $("ov-range").value;
  $("ov-status").textContent = "Loading…";
  try {
    const [r, stats, sum, ahist] = await Promise.all([api("/api/v1/reports/executive", { format: "json", from }), api("/api/v1/stats"),
      api("/api/v1/alerts/summary", { from, top: 10 }), api("/api/v1/alerts/histogram", { from, buckets: 48 })]);
    const e = r.events;
    $("ov-cards").replaceChildren(...[
      [fmt(e.total), "events"], [fmt(e.distinct_hosts) + (e.hosts_capped ? "+" : ""), "hosts"],
      [fmt(e.by_source.length), "source kinds"], [fmt(sum.total), "alerts"],
      [fmt(pairCount(sum.by_status, "open")), "open alerts"],
    ].map(([n, what]) => el("li", {}, el("strong", {}, n), what)));
    countsTable($("ov-alevel"), "Level", sum.by_level.map(([name, count]) => ({ name, count })), "Alerts");
    countsTable($("ov-astatus"), "Status", sum.by_status.map(([name, count]) => ({ name: statusLabel(name), count })), "Alerts");
    countsTable($("ov-arules"), "Rule", sum.top_rules.map(([, name, count]) => ({ name, count })), "Alerts");
    countsTable($("ov-ahosts"), "Host", sum.top_hosts.map(([name, count]) => ({ name, count })), "Alerts");
    chart($("ov-chart"), e.histogram.buckets, "Events over time");
    chart($("ov-achart"), ahist.buckets, "Alerts over time", "alerts");
    countsTable($("ov-sources"), "Source", e.top_sources);
    countsTable($("ov-hosts"), "Host", e.top_hosts);
    countsTable($("ov-formats"), "Format", e.by_format);
    $("ov-store").textContent = `Indexed through log sequence ${fmt(stats.indexed_seq)} of ${fmt(stats.log_last_seq)}; log ${fmt(Math.round(stats.log_bytes / 1024))} KiB, index ${fmt(Math.round(stats.index_bytes / 1024))} KiB.`;
    $("ov-status").textContent = `${r.period.from ? "Since " + time(r.period.from) : "All time"}: ${fmt(e.total)} events.`;
  } catch (err) {
    if (err.message !== "unauthenticated") $("ov-status").textContent = "Cannot load the overview: " + err.message;
  }
}

async function download(format) {
  try {
    const kind = $("ov-kind").value;
    const r = await api(`/api/v1/reports/${kind}`, { format, from: $("ov-range").value }, true);
    const url = URL.createObjectURL(await r.blob());
    const a = el("a", { href: url, download: `mcpsec-${kind}.${format}` });
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (err) {
    if (err.message !== "unauthenticated") $("ov-status").textContent = "Cannot download the report: " + err.message;
  }
}

// ---- Search --------------------------------------------------------------------

let searched = false, offset = 0;

const HOSTS = ["host.name", "host.hostname", "Event.System.Computer", "dvchost", "hostname", "host", "computer_name"];

function field(obj, path) {
  if (path in obj) return obj[path];
  let cur = obj;
  for (const part of path.split(".")) { if (cur === null || typeof cur !== "object" || !(part in cur)) return undefined; cur = cur[part]; }
  return cur;
}

function hostOf(ev) {
  for (const f of HOSTS) { const v = field(ev.fields, f); if (typeof v === "string" && v.trim()) return v; }
  return "";
}

function summaryOf(ev) {
  const m = field(ev.fields, "message") ?? field(ev.fields, "msg");
  const text = typeof m === "string" ? m : JSON.stringify(ev.fields);
  return text.length > 240 ? text.slice(0, 239) + "…" : text;
}

async function search(ev, more) {
  if (ev) ev.preventDefault();
  searched = true;
  const params = { q: $("q").value.trim(), from: $("s-range").value };
  if (!more) offset = 0;
  $("s-status").textContent = "Searching…";
  try {
    const [page, hist] = await Promise.all([
      api("/api/v1/events", { ...params, limit: PAGE, offset }),
      more ? null : api("/api/v1/events/histogram", { ...params, buckets: 48 }),
    ]);
    if (hist) chart($("s-chart"), hist.buckets, "Matching events over time");
    const rows = page.events.map((e) => el("tr", {},
      el("td", {}, time(e.time)), el("td", {}, e.source.kind + (e.source.name ? " " + e.source.name : "")),
      el("td", {}, e.format), el("td", {}, hostOf(e)), el("td", {}, summaryOf(e))));
    const body = $("s-results").tBodies[0];
    if (more) body.append(...rows); else body.replaceChildren(...rows);
    offset += page.events.length;
    $("s-more").hidden = offset >= page.total;
    $("s-status").textContent = `${fmt(page.total)} matching events` + (page.total ? `, showing ${fmt(offset)}.` : ".");
  } catch (err) {
    if (err.message !== "unauthenticated") $("s-status").textContent = "Search failed: " + err.message;
  }
}

// ---- Theme and keys ------------------------------------------------------------

function applyTheme(t) {
  if (t) document.documentElement.dataset.theme = t; else delete document.documentElement.dataset.theme;
  const dark = t ? t === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
  $("theme").setAttribute("aria-pressed", String(dark));
  $("theme").textContent = dark ? "Light theme" : "Dark theme";
}

function toggleTheme() {
  const dark = $("theme").getAttribute("aria-pressed") === "true";
  const t = dark ? "light" : "dark";
  localStorage.setItem(THEME, t);
  applyTheme(t);
}

function help(open) {
  const d = $("help");
  if (open && !d.open) d.showModal(); else if (!open && d.open) d.close();
}

// A page shortcut. Its keystroke is consumed: the page may focus a field (search focuses
// the query) before the key's character would land, and it must not land there.
function go(ev, page) {
  ev.preventDefault();
  location.hash = "#/" + page;
}

function keys(ev) {
  const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(ev.target.tagName);
  if (ev.key === "Escape" && typing) { ev.target.blur(); return; }
  if (typing || ev.ctrlKey || ev.metaKey || ev.altKey || !sessionStorage.getItem(KEY) || $("help").open) return;
  const view = PAGES.find((p) => !$(p).hidden);
  if (ev.key === "/") { ev.preventDefault(); if (location.hash !== "#/search") location.hash = "#/search"; $("q").focus(); }
  else if (ev.key === "?") { ev.preventDefault(); help(true); }
  else if (ev.key === "o") go(ev, "overview");
  else if (ev.key === "s") go(ev, "search");
  else if (ev.key === "a") go(ev, "alerts");
  else if (ev.key === "r") go(ev, "rules");
  else if (ev.key === "p") go(ev, "reports");
  else if (ev.key === "c" && can("projects.read")) go(ev, "projects");
  else if (ev.key === "e" && can("risk.read")) go(ev, "risk");
  else if (ev.key === "b" && can("playbooks.read")) go(ev, "playbooks");
  else if (view === "alerts") alertKeys(ev);
  else if (view === "rules") ruleKeys(ev);
  else if (view === "risk") riskKeys(ev);
  else if (view === "playbooks") playbookKeys(ev);
}

document.addEventListener("DOMContentLoaded", () => {
  applyTheme(localStorage.getItem(THEME));
  $("theme").addEventListener("click", toggleTheme);
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", () => logout());
  $("ov-range").addEventListener("change", overview);
  $("ov-pdf").addEventListener("click", () => download("pdf"));
  $("ov-xlsx").addEventListener("click", () => download("xlsx"));
  $("search-form").addEventListener("submit", (e) => search(e, false));
  $("s-range").addEventListener("change", () => search(null, false));
  $("s-more").addEventListener("click", () => search(null, true));
  $("help-open").addEventListener("click", () => help(true));
  $("help-close").addEventListener("click", () => help(false));
  alertsInit(); rulesInit(); reportsInit(); projectsInit(); riskInit(); playbooksInit();
  document.addEventListener("keydown", keys);
  window.addEventListener("hashchange", route);
  route();
});
