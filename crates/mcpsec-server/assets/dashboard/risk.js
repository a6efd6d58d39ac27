// mcpsec dashboard: the risk page. The tenant's score and bands, its trend (an SVG line
// chart drawn here, no library), the assets highest risk first and, for the top asset
// or the one opened, the factors its score came from. Uses the helpers of app.js.
"use strict";

const rk = { assets: [], open: null };

function resetRisk() {
  Object.assign(rk, { assets: [], open: null });
  $("rk-assets").tBodies[0].replaceChildren();
  $("rk-cards").replaceChildren();
  $("rk-top").replaceChildren();
  $("rk-detail").hidden = true;
}

const bandBadge = (band) => el("span", { class: "lvl lvl-" + (["critical", "high", "medium", "low"].includes(band) ? band : "unknown") }, band);

async function riskView() {
  await Promise.all([loadAssets(), loadTrend($("rk-chart"), { scope: "tenant" }, "Tenant risk")]);
}

async function loadAssets() {
  $("rk-status").textContent = "Scoring…";
  try {
    const r = await api("/api/v1/risk/assets", { kind: $("rk-kind").value, min_score: $("rk-min").value || "", limit: 500 });
    const t = r.tenant;
    $("rk-cards").replaceChildren(...[
      [String(t.score), "tenant risk (" + t.band + ")"], [fmt(t.assets_at_risk), "assets at risk"], [fmt(t.alerts), "alerts counted"],
      [fmt(r.total), "assets listed"],
    ].map(([n, what]) => el("li", {}, el("strong", {}, n), what)));
    countsTable($("rk-bands"), "Band", Object.entries(t.by_band).map(([name, count]) => ({ name, count })), "Assets");
    rk.assets = r.assets;
    $("rk-assets").tBodies[0].replaceChildren(...(r.assets.length ? r.assets.map(assetRow)
      : [el("tr", {}, el("td", { colspan: "7", class: "muted" }, "No assets match. Assets come from open alerts and the inventory (PUT /api/v1/risk/assets)."))]));
    const top = r.assets.find((a) => a.score > 0);
    $("rk-top").replaceChildren(...(top ? assetExplained(top) : [el("p", { class: "muted" }, "No asset is at risk.")]));
    $("rk-status").textContent = `Alerts since ${time(r.from)} UTC` + (r.truncated ? " (more than could be read: the newest were counted)." : ".");
  } catch (err) {
    if (err.message !== "unauthenticated") $("rk-status").textContent = "Cannot load risk: " + err.message;
  }
}

function assetRow(a, i) {
  const open = el("button", { type: "button", class: "link", "data-i": i }, a.name);
  open.addEventListener("click", () => openAsset(a));
  return el("tr", { "data-kind": a.kind, "data-name": a.name },
    el("td", { class: "n" }, String(a.score)), el("td", {}, bandBadge(a.band)), el("td", {}, a.kind), el("td", {}, open),
    el("td", { class: "n" }, fmt(a.alerts)), el("td", {}, a.criticality || ""), el("td", {}, a.exposure || ""));
}

// The score's factors as a table and the highest-scored alerts behind it.
function assetExplained(a) {
  const out = [el("p", {}, el("strong", {}, `${a.kind} ${a.name}`), `: ${a.score} (${a.band})` + (a.in_inventory ? ", in the inventory." : ", not in the inventory."))];
  const rows = a.factors.map((f) => el("tr", {}, el("td", {}, f.name.replace(/_/g, " ")), el("td", {}, f.input),
    el("td", { class: "n" }, f.points != null ? `+${f.points}` : f.multiplier != null ? `×${f.multiplier}` : ""), el("td", {}, f.reason)));
  out.push(el("table", { class: "factors" }, el("caption", {}, "How the score came about"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Factor"), el("th", { scope: "col" }, "Input"), el("th", { scope: "col", class: "n" }, "Effect"), el("th", { scope: "col" }, "Why"))),
    el("tbody", {}, ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "4", class: "muted" }, "No factors."))]))));
  if (a.top_alerts.length) {
    out.push(el("p", { class: "small" }, "Highest alerts: "), el("ul", { class: "small" }, ...a.top_alerts.map((x) => el("li", {}, `${x.rule_title} (${x.score})`))));
  }
  return out;
}

async function openAsset(a) {
  rk.open = a;
  $("rk-detail").hidden = false;
  $("rk-d-title").textContent = `${a.kind} ${a.name}`;
  $("rk-d-body").replaceChildren(...assetExplained(a));
  $("rk-d-title").focus();
  await loadTrend($("rk-d-chart"), { scope: a.kind, name: a.name }, `Risk of ${a.name}`);
}

function closeAsset() {
  const a = rk.open; rk.open = null;
  $("rk-detail").hidden = true;
  if (a) { const b = [...$("rk-assets").querySelectorAll("button.link")].find((x) => x.textContent === a.name); if (b) b.focus(); }
}

async function loadTrend(box, scope, label) {
  const [from, bucket] = $("rk-range").value.split("|");
  try {
    const t = await api("/api/v1/risk/trends", { ...scope, from, bucket });
    lineChart(box, t.buckets, label);
  } catch (err) {
    if (err.message !== "unauthenticated") box.replaceChildren(el("p", { class: "error" }, "Cannot load the trend: " + err.message));
  }
}

// Score (0–100) over time: the highest and the mean of each bucket as two lines, each
// point with a title for pointer and reader, and the last figures in words.
function lineChart(box, buckets, label) {
  if (!buckets.length) {
    box.replaceChildren(el("p", { class: "muted" }, "No risk snapshots in this period yet (taken every [risk] snapshot_interval_secs)."));
    return;
  }
  const W = 800, H = 160, L = 40, B = 20, T = 6, R = 10;
  const last = buckets[buckets.length - 1];
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": `${label}: ${buckets.length} point${buckets.length === 1 ? "" : "s"}, latest highest ${Math.round(last.max)}, mean ${Math.round(last.avg)} of 100` });
  const ph = H - B - T, pw = W - L - R;
  const x = (i) => L + (buckets.length === 1 ? pw / 2 : pw * i / (buckets.length - 1));
  const y = (v) => T + ph - ph * Math.max(0, Math.min(100, v)) / 100;
  for (const v of [0, 50, 100]) {
    s.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    const t = svg("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end" }); t.textContent = String(v); s.append(t);
  }
  for (const [key, cls] of [["max", "max"], ["avg", "avg"]]) {
    s.append(svg("polyline", { class: cls, points: buckets.map((b, i) => `${x(i)},${y(b[key])}`).join(" ") }));
    buckets.forEach((b, i) => {
      const c = svg("circle", { class: cls, cx: x(i), cy: y(b[key]), r: 3 });
      const title = svg("title"); title.textContent = `${time(b.start)}: ${key === "max" ? "highest" : "mean"} ${Math.round(b[key])}`;
      c.append(title); s.append(c);
    });
  }
  for (const [i, anchor] of [[0, "start"], [buckets.length - 1, "end"]]) {
    const t = svg("text", { x: anchor === "start" ? L : W - R, y: H - 4, "text-anchor": anchor });
    t.textContent = time(buckets[i].start).slice(0, 16); s.append(t);
  }
  box.replaceChildren(s, el("p", { class: "legend small" }, el("span", { class: "key max" }, "highest"), " ", el("span", { class: "key avg" }, "mean"), " per bucket"));
}

function riskKeys(ev) {
  if (ev.key === "Escape" && !$("rk-detail").hidden) closeAsset();
}

function riskInit() {
  $("rk-filters").addEventListener("submit", (e) => { e.preventDefault(); loadAssets(); });
  $("rk-range").addEventListener("change", () => {
    loadTrend($("rk-chart"), { scope: "tenant" }, "Tenant risk");
    if (rk.open) loadTrend($("rk-d-chart"), { scope: rk.open.kind, name: rk.open.name }, `Risk of ${rk.open.name}`);
  });
  $("rk-d-close").addEventListener("click", closeAsset);
}
