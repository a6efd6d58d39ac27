// mcpsec dashboard: the projects page. Projects of the tenant, a project's SBOM
// versions, its findings (paged by the server: severity, fixed version, VEX status), its
// components, an upload of the next version (file input), its VEX documents with an upload
// of another one (which changes the findings' VEX status at once) and the diff of two
// versions.
// Uses the helpers of app.js.
"use strict";

const FINDINGS_PAGE = 50;
const COMPONENTS_PAGE = 200;
const pj = { id: null, name: "", versions: [], offset: 0, components: [], shown: COMPONENTS_PAGE };

function resetProjects() {
  Object.assign(pj, { id: null, name: "", versions: [], offset: 0, components: [], shown: COMPONENTS_PAGE });
  $("pj-table").tBodies[0].replaceChildren();
  $("pj-vexdocs").tBodies[0].replaceChildren();
  $("pj-detail").hidden = true;
  $("pj-diff-out").replaceChildren();
}

const sevBadge = (s) => el("span", { class: "lvl lvl-" + (["critical", "high", "medium", "low"].includes(s) ? s : "unknown") }, s || "unknown");
const pjPath = (rest) => `/api/v1/projects/${encodeURIComponent(pj.id)}${rest || ""}`;
const quiet = (err) => err.message === "unauthenticated";

async function projectsView() { await loadProjects(); }

// Lists the projects; `said` replaces the count in the status line (an action's outcome).
async function loadProjects(said) {
  try {
    const r = await api("/api/v1/projects");
    $("pj-table").tBodies[0].replaceChildren(...(r.projects.length ? r.projects.map(projectRow)
      : [el("tr", {}, el("td", { colspan: "4", class: "muted" }, "No projects yet." + (can("projects.write") ? " Create one above." : "")))]));
    $("pj-status").textContent = said || `${fmt(r.projects.length)} project${r.projects.length === 1 ? "" : "s"}.`;
    if (!pj.id && r.projects.length) await openProject(r.projects[0].id, true);
  } catch (err) {
    if (!quiet(err)) $("pj-status").textContent = "Cannot list projects: " + err.message;
  }
}

function projectRow(p) {
  const open = el("button", { type: "button", class: "link", "data-id": p.id }, p.name);
  open.addEventListener("click", () => openProject(p.id));
  const tr = el("tr", { "data-id": p.id }, el("td", {}, open), el("td", {}, p.description || ""),
    el("td", { class: "n" }, p.latest_version ? String(p.latest_version) : "none"), el("td", { class: "time" }, time(p.updated_at)));
  if (p.id === pj.id) tr.setAttribute("aria-current", "true");
  return tr;
}

async function openProject(id, quietly) {
  try {
    const [d, v] = await Promise.all([api(`/api/v1/projects/${encodeURIComponent(id)}`), api(`/api/v1/projects/${encodeURIComponent(id)}/sboms`)]);
    Object.assign(pj, { id, name: d.project.name, versions: v.versions, offset: 0 });
    for (const tr of $("pj-table").tBodies[0].rows) {
      if (tr.dataset.id === id) tr.setAttribute("aria-current", "true"); else tr.removeAttribute("aria-current");
    }
    $("pj-detail").hidden = false;
    $("pj-title").textContent = d.project.name;
    $("pj-diff-out").replaceChildren();
    renderVersions();
    if (!quietly) $("pj-title").focus();
    await Promise.all([loadFindings(), loadComponents(), loadVex()]);
  } catch (err) {
    if (!quiet(err)) $("pj-status").textContent = "Cannot open the project: " + err.message;
  }
}

function renderVersions() {
  const vs = pj.versions;
  $("pj-versions").tBodies[0].replaceChildren(...(vs.length ? vs.slice().reverse().map((v) => el("tr", { "data-version": v.version },
    el("td", { class: "n" }, String(v.version)), el("td", {}, v.file_name), el("td", {}, v.format), el("td", { class: "n" }, fmt(v.components)),
    el("td", { class: "time" }, time(v.uploaded_at)), el("td", {}, v.uploaded_by),
    el("td", {}, v.warnings.length ? el("details", {}, el("summary", {}, `${fmt(v.warnings.length)}`), el("ul", {}, ...v.warnings.map((w) => el("li", {}, w)))) : "")))
    : [el("tr", {}, el("td", { colspan: "7", class: "muted" }, "No SBOM uploaded yet."))]));
  const options = () => vs.slice().reverse().map((v) => el("option", { value: v.version }, `${v.version} (${v.file_name})`));
  $("pj-version").replaceChildren(...options());
  $("pj-from").replaceChildren(...options());
  $("pj-to").replaceChildren(...options());
  if (vs.length > 1) $("pj-from").value = String(vs[vs.length - 2].version);
  $("pj-diff").hidden = vs.length < 2;
  for (const id of ["pj-ffilters", "pj-findings", "pj-comps"]) $(id).closest("form, .tablewrap").hidden = !vs.length;
}

async function loadFindings() {
  const body = $("pj-findings").tBodies[0];
  if (!pj.versions.length) { body.replaceChildren(); $("pj-fstatus").textContent = ""; $("pj-fpage").textContent = ""; pagerButtons(0, 0); return; }
  $("pj-fstatus").textContent = "Matching…";
  try {
    const f = await api(pjPath("/findings"), { version: $("pj-version").value, min_severity: $("pj-min").value,
      include_suppressed: $("pj-suppressed").checked ? "true" : "", limit: FINDINGS_PAGE, offset: pj.offset });
    body.replaceChildren(...(f.findings.length ? f.findings.map(findingRow)
      : [el("tr", {}, el("td", { colspan: "8", class: "muted" }, "No findings match."))]));
    const db = f.vulndb_generation == null ? " No vulnerability database is imported (mcpsec vulndb import)." : "";
    const sup = f.suppressed ? ` ${fmt(f.suppressed)} suppressed by VEX${$("pj-suppressed").checked ? " (shown)" : ""}.` : "";
    $("pj-fstatus").textContent = `Version ${f.version}: ${fmt(f.total)} finding${f.total === 1 ? "" : "s"} in ${fmt(f.components)} components.${sup}${db}`;
    const last = f.offset + f.findings.length;
    $("pj-fpage").textContent = f.total ? `${fmt(Math.min(f.offset + 1, f.total))}–${fmt(last)} of ${fmt(f.total)}` : "";
    pagerButtons(f.offset, f.next_offset);
  } catch (err) {
    if (!quiet(err)) $("pj-fstatus").textContent = "Cannot load findings: " + err.message;
  }
}

function pagerButtons(offset, next) {
  $("pj-fprev").disabled = offset === 0;
  $("pj-fnext").disabled = next == null;
}

function findingRow(f) {
  const ids = [f.id, ...f.aliases.filter((a) => a !== f.id)];
  const vex = f.vex ? el("span", { title: [f.vex.justification, f.vex.detail].filter(Boolean).join(": ") }, f.vex.status.replace(/_/g, " ")) : el("span", { class: "muted" }, "none");
  const why = f.vex && f.vex.justification ? el("div", { class: "small muted" }, f.vex.justification.replace(/_/g, " ")) : "";
  const dep = f.direct === true ? "direct" : f.direct === false ? "transitive" : "";
  const path = f.path && f.path.length > 1 ? el("div", { class: "small muted" }, f.path.join(" → ")) : "";
  const flags = [f.malicious ? "malicious" : "", f.kev ? "known exploited" : "", f.suppressed ? "suppressed" : ""].filter(Boolean);
  return el("tr", { "data-id": f.id },
    el("td", {}, sevBadge(f.severity), f.cvss && f.cvss.score != null ? el("div", { class: "small" }, `CVSS ${f.cvss.score}`) : ""),
    el("td", {}, ids[0], ids.length > 1 ? el("div", { class: "small muted" }, ids.slice(1).join(", ")) : "", flags.length ? el("div", {}, tags(flags)) : ""),
    el("td", {}, f.package), el("td", {}, f.version),
    el("td", { class: "fixed" }, f.fixed ? f.fixed : el("span", { class: "muted" }, "no fix")),
    el("td", { class: "vex" }, vex, why), el("td", {}, dep, path), el("td", {}, f.summary));
}

async function loadComponents() {
  pj.components = []; pj.shown = COMPONENTS_PAGE;
  if (!pj.versions.length) { renderComponents(); return; }
  try {
    const d = await api(pjPath(`/sboms/${encodeURIComponent($("pj-version").value)}`));
    pj.components = d.inventory.components.concat(d.inventory.unmatched || []);
    pj.components.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
  } catch (err) {
    if (!quiet(err)) $("pj-cstatus").textContent = "Cannot load components: " + err.message;
    return;
  }
  renderComponents();
}

function renderComponents() {
  const q = $("pj-cq").value.trim().toLowerCase();
  const list = q ? pj.components.filter((c) => c.name.toLowerCase().includes(q) || (c.purl || "").toLowerCase().includes(q)) : pj.components;
  const page = list.slice(0, pj.shown);
  $("pj-comps").tBodies[0].replaceChildren(...page.map((c) => el("tr", {},
    el("td", {}, c.name), el("td", {}, c.version), el("td", {}, c.ecosystem || ""),
    el("td", {}, c.direct === true ? "direct" : c.direct === false ? "transitive" : ""),
    el("td", {}, (c.licenses || []).join(", ")), el("td", { class: "small" }, c.purl || ""))));
  $("pj-cstatus").textContent = pj.versions.length ? `${fmt(page.length)} of ${fmt(list.length)} components shown.` : "";
  $("pj-cmore").hidden = page.length >= list.length;
}

async function createProject(ev) {
  ev.preventDefault();
  try {
    const p = await send("POST", "/api/v1/projects", { name: $("pj-name").value.trim(), description: $("pj-desc").value.trim() || undefined });
    $("pj-new").reset();
    pj.id = p.id;
    await loadProjects(`Project ${p.name} created.`);
    await openProject(p.id);
  } catch (err) {
    if (!quiet(err)) $("pj-status").textContent = "Cannot create the project: " + err.message;
  }
}

async function uploadVersion(ev) {
  ev.preventDefault();
  const file = $("pj-file").files[0];
  if (!file) return;
  $("pj-status").textContent = `Uploading ${file.name}…`;
  try {
    const r = await api(pjPath("/sboms"), { filename: file.name }, false, { method: "POST", file });
    $("pj-upload").reset();
    const id = pj.id;
    await loadProjects(`${file.name} stored as version ${r.sbom.version} (${r.sbom.format}, ${fmt(r.sbom.components)} components): ` +
      `${fmt(r.findings)} finding${r.findings === 1 ? "" : "s"}, ${fmt(r.critical_or_high)} critical or high.`);
    await openProject(id, true);
  } catch (err) {
    if (!quiet(err)) $("pj-status").textContent = `Cannot store ${file.name}: ${err.message}`;
  }
}

async function loadVex() {
  const body = $("pj-vexdocs").tBodies[0];
  try {
    const r = await api(pjPath("/vex"));
    body.replaceChildren(...(r.documents.length ? r.documents.map((d) => el("tr", { "data-id": d.id },
      el("td", {}, d.file_name), el("td", { class: "n" }, fmt(d.statements)), el("td", { class: "time" }, time(d.uploaded_at)), el("td", {}, d.uploaded_by)))
      : [el("tr", {}, el("td", { colspan: "4", class: "muted" }, "No VEX document: findings show only the statements an SBOM carries itself."))]));
  } catch (err) {
    if (!quiet(err)) body.replaceChildren(el("tr", {}, el("td", { colspan: "4", class: "error" }, "Cannot list VEX documents: " + err.message)));
  }
}

async function uploadVex(ev) {
  ev.preventDefault();
  const file = $("pj-vexfile").files[0];
  if (!file) return;
  $("pj-status").textContent = `Uploading ${file.name}…`;
  try {
    const r = await api(pjPath("/vex"), { filename: file.name }, false, { method: "POST", file });
    $("pj-vex").reset();
    pj.offset = 0;
    await Promise.all([loadVex(), loadFindings()]);
    $("pj-status").textContent = `${r.file_name} stored: ${fmt(r.statements)} VEX statement${r.statements === 1 ? "" : "s"}, applied to every version of ${pj.name}.`;
  } catch (err) {
    if (!quiet(err)) $("pj-status").textContent = `Cannot store ${file.name}: ${err.message}`;
  }
}

function diffList(title, items, line) {
  if (!items.length) return el("p", { class: "muted" }, `${title}: none.`);
  return el("div", {}, el("h4", {}, `${title} (${fmt(items.length)})`), el("ul", {}, ...items.map((i) => el("li", {}, line(i)))));
}

async function compare(ev) {
  ev.preventDefault();
  const out = $("pj-diff-out");
  try {
    const d = await api(pjPath("/diff"), { from: $("pj-from").value, to: $("pj-to").value });
    const vuln = (v) => el("span", {}, sevBadge(v.severity), ` ${v.id} in ${v.package} ${v.version}` + (v.fixed ? ` (fixed in ${v.fixed})` : ""));
    out.replaceChildren(el("p", { class: "ok" }, `Version ${d.from} → ${d.to}: ${fmt(d.added.length)} added, ${fmt(d.removed.length)} removed, ` +
        `${fmt(d.upgraded.length)} upgraded, ${fmt(d.downgraded.length)} downgraded; ${fmt(d.new_vulnerabilities.length)} new and ` +
        `${fmt(d.fixed_vulnerabilities.length)} fixed vulnerabilities, ${fmt(d.unchanged_vulnerabilities)} unchanged.`),
      el("div", { class: "cols diff" },
        diffList("Added", d.added, (c) => `${c.name} ${c.version}`),
        diffList("Removed", d.removed, (c) => `${c.name} ${c.version}`),
        diffList("Upgraded", d.upgraded, (c) => `${c.name} ${c.from} → ${c.to}`),
        diffList("Downgraded", d.downgraded, (c) => `${c.name} ${c.from} → ${c.to}`),
        diffList("New vulnerabilities", d.new_vulnerabilities, vuln),
        diffList("Fixed vulnerabilities", d.fixed_vulnerabilities, vuln)));
  } catch (err) {
    if (!quiet(err)) out.replaceChildren(el("p", { class: "error" }, "Cannot compare: " + err.message));
  }
}

function projectsInit() {
  $("pj-new").addEventListener("submit", createProject);
  $("pj-upload").addEventListener("submit", uploadVersion);
  $("pj-vex").addEventListener("submit", uploadVex);
  $("pj-diff").addEventListener("submit", compare);
  $("pj-ffilters").addEventListener("submit", (e) => { e.preventDefault(); pj.offset = 0; loadFindings(); });
  $("pj-version").addEventListener("change", () => { pj.offset = 0; loadFindings(); loadComponents(); });
  $("pj-fprev").addEventListener("click", () => { pj.offset = Math.max(0, pj.offset - FINDINGS_PAGE); loadFindings(); });
  $("pj-fnext").addEventListener("click", () => { pj.offset += FINDINGS_PAGE; loadFindings(); });
  $("pj-cq").addEventListener("input", () => { pj.shown = COMPONENTS_PAGE; renderComponents(); });
  $("pj-cmore").addEventListener("click", () => { pj.shown += COMPONENTS_PAGE; renderComponents(); });
}
