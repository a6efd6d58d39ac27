// mcpsec dashboard: the reports page. Queue a report (kind, format, period), follow it
// while it renders, download it, share it through a link that expires, and delete it.
// Uses the helpers of app.js.
"use strict";

const rp = { timer: null };

function resetReports() {
  clearTimeout(rp.timer); rp.timer = null;
  $("rp-table").tBodies[0].replaceChildren();
  $("rp-share").replaceChildren();
}

async function reportsView() { await loadReports(); }

async function loadReports() {
  clearTimeout(rp.timer); rp.timer = null;
  try {
    const r = await api("/api/v1/reports", { limit: 50 });
    $("rp-table").tBodies[0].replaceChildren(...(r.reports.length ? r.reports.map(reportRow)
      : [el("tr", {}, el("td", { colspan: "6", class: "muted" }, "No reports yet. Generate one above."))]));
    // Follow unfinished jobs while the page is open.
    if (r.reports.some((j) => j.status === "queued" || j.status === "running") && !$("reports").hidden) {
      rp.timer = setTimeout(loadReports, 1000);
    }
  } catch (err) {
    if (err.message !== "unauthenticated") $("rp-status").textContent = "Cannot list reports: " + err.message;
  }
}

function reportRow(j) {
  const state = j.status === "running" && j.progress != null ? `running ${j.progress}%` : j.status;
  const actions = el("td", { class: "actions" });
  if (j.status === "done") {
    const dl = el("button", { type: "button" }, "Download");
    dl.addEventListener("click", () => downloadJob(j));
    actions.append(dl);
    if (can("reports.write")) {
      const share = el("button", { type: "button" }, "Share link");
      share.addEventListener("click", () => shareJob(j));
      actions.append(share);
    }
  }
  if (can("reports.write")) {
    const del = el("button", { type: "button", class: "danger" }, "Delete");
    del.addEventListener("click", () => deleteJob(j));
    actions.append(del);
  }
  const size = j.size != null ? `${fmt(Math.ceil(j.size / 1024))} KiB` : "";
  return el("tr", { "data-id": j.id },
    el("td", {}, time(j.created_at)), el("td", {}, j.kind), el("td", {}, j.format),
    el("td", { class: "status" }, j.error ? `${state}: ${j.error}` : state), el("td", { class: "n" }, size), actions);
}

async function generateReport(ev) {
  ev.preventDefault();
  $("rp-status").textContent = "Queuing…";
  try {
    const j = await send("POST", "/api/v1/reports",
      { kind: $("rp-kind").value, format: $("rp-format").value, from: $("rp-range").value || undefined });
    $("rp-status").textContent = `Report ${j.id} queued.`;
    await loadReports();
  } catch (err) {
    if (err.message !== "unauthenticated") $("rp-status").textContent = "Cannot queue the report: " + err.message;
  }
}

async function downloadJob(j) {
  try {
    const r = await api(j.download, null, true);
    const url = URL.createObjectURL(await r.blob());
    const a = el("a", { href: url, download: `mcpsec-${j.kind}-${j.id}.${j.format}` });
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (err) {
    if (err.message !== "unauthenticated") $("rp-status").textContent = "Cannot download: " + err.message;
  }
}

async function shareJob(j) {
  try {
    const hours = Number($("rp-hours").value);
    const s = await send("POST", `/api/v1/reports/jobs/${encodeURIComponent(j.id)}/share`, { expires_in_hours: hours });
    const link = new URL(s.url, location.origin).href;
    const field = el("input", { id: "rp-link", type: "text", readonly: "", value: link, size: "70", "aria-label": "Share link" });
    $("rp-share").replaceChildren(el("p", {}, `Anyone with this link can download the ${j.kind} report until ${time(s.expires_at)} UTC. It is shown only now.`), field);
    field.focus(); field.select();
  } catch (err) {
    if (err.message !== "unauthenticated") $("rp-status").textContent = "Cannot share: " + err.message;
  }
}

async function deleteJob(j) {
  if (!confirm(`Delete the ${j.kind} report of ${time(j.created_at)} and its share links?`)) return;
  try {
    await send("DELETE", `/api/v1/reports/jobs/${encodeURIComponent(j.id)}`);
    $("rp-status").textContent = "Report deleted.";
    await loadReports();
  } catch (err) {
    if (err.message !== "unauthenticated") $("rp-status").textContent = "Cannot delete: " + err.message;
  }
}

function reportsInit() {
  $("rp-form").addEventListener("submit", generateReport);
  $("rp-refresh").addEventListener("click", loadReports);
}
