// mcpsec dashboard: the rules page. The tenant's file and API rules with their
// figures and on/off switches, and an editor that validates, backtests and deploys a
// rule (with the version it was edited from, so a concurrent change is a clear 409).
// Uses the helpers of app.js.
"use strict";

// `editing`: the API rule in the editor ({id, version}) or null for a new one.
const ru = { loaded: false, editing: null };

const NEW_RULE = `title: My new rule
id: 00000000-0000-4000-8000-000000000000
status: experimental
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        CommandLine|contains: 'example'
    condition: selection
level: medium
`;

function resetRules() {
  ru.loaded = false; ru.editing = null; $("ru-filters").reset();
  $("ru-table").tBodies[0].replaceChildren();
  $("ed-yaml").value = ""; editorLines(); clearResults();
  $("ed-versions-box").hidden = true;
}

async function rulesView() {
  if (!ru.loaded) { await loadRules(); if (!$("ed-yaml").value) newRule(false); }
}

async function loadRules(ev) {
  if (ev) ev.preventDefault();
  $("ru-status").textContent = "Loading…";
  try {
    const r = await api("/api/v1/rules", { q: $("ru-q").value.trim(), source: $("ru-source").value, limit: 1000 });
    ru.loaded = true;
    $("ru-table").tBodies[0].replaceChildren(...(r.rules.length ? r.rules.map(ruleRow)
      : [el("tr", {}, el("td", { colspan: "8", class: "muted" }, "No rules match."))]));
    $("ru-status").textContent = `${fmt(r.total)} rules.`;
  } catch (err) {
    if (err.message !== "unauthenticated") $("ru-status").textContent = "Cannot load rules: " + err.message;
  }
}

function ruleRow(r) {
  const sw = el("input", { type: "checkbox", role: "switch", "aria-label": "Enabled: " + r.title });
  sw.checked = r.enabled;
  sw.disabled = !can("rules.write");
  sw.addEventListener("change", () => toggle(r, sw));
  const title = r.source === "api"
    ? el("button", { type: "button", class: "link", "data-id": r.id }, r.title)
    : el("span", {}, r.title);
  if (r.source === "api") title.addEventListener("click", () => openRule(r.id));
  return el("tr", { "data-id": r.id },
    el("td", {}, sw), el("td", {}, title, el("div", { class: "muted small" }, r.id)),
    el("td", {}, r.level ? levelBadge(r.level) : ""),
    el("td", {}, r.source === "file" ? el("span", { title: r.file || "" }, "file") : "api"),
    el("td", { class: "n" }, r.version ? String(r.version) : "—"),
    el("td", { class: "n" }, fmt(r.stats.matches)), el("td", { class: "n" }, fmt(r.stats.evaluations)),
    el("td", { class: "n" }, (r.stats.time_us / 1000).toFixed(1)));
}

async function toggle(r, sw) {
  const on = sw.checked;
  try {
    await send("POST", `/api/v1/rules/${encodeURIComponent(r.id)}/${on ? "enable" : "disable"}`);
    r.enabled = on;
    $("ru-status").textContent = `${r.title}: ${on ? "enabled" : "disabled"}.`;
  } catch (err) {
    sw.checked = !on;
    if (err.message !== "unauthenticated") $("ru-status").textContent = `Cannot switch ${r.title}: ${err.message}`;
  }
}

// ---- Editor ------------------------------------------------------------------------

function editorLines() {
  const n = Math.max(1, $("ed-yaml").value.split("\n").length);
  $("ed-lines").textContent = Array.from({ length: n }, (_, i) => i + 1).join("\n");
  $("ed-lines").scrollTop = $("ed-yaml").scrollTop;
}

function clearResults() {
  $("ed-result").replaceChildren(); $("ed-errors").replaceChildren(); $("ed-backtest-box").replaceChildren();
}

function result(text, kind) {
  $("ed-result").replaceChildren(el("p", { class: kind || "" }, text));
  $("ed-result").scrollIntoView({ block: "nearest" });
}

function newRule(focus) {
  ru.editing = null;
  const uuid = crypto.randomUUID ? crypto.randomUUID() : "00000000-0000-4000-8000-" + String(Date.now()).padStart(12, "0").slice(-12);
  $("ed-yaml").value = NEW_RULE.replace("00000000-0000-4000-8000-000000000000", uuid);
  $("ed-what").textContent = "A new rule. Its id: names it.";
  $("ed-versions-box").hidden = true;
  editorLines(); clearResults();
  if (focus !== false) $("ed-yaml").focus();
}

async function openRule(id) {
  try {
    const { rule: r } = await api("/api/v1/rules/" + encodeURIComponent(id));
    ru.editing = { id: r.id, version: r.version };
    $("ed-yaml").value = r.yaml;
    $("ed-enabled").checked = r.enabled;
    $("ed-what").textContent = `Editing ${r.title} (${r.id}), version ${r.version}, deployed by ${r.updated_by} at ${time(r.updated_at)} UTC.`;
    editorLines(); clearResults();
    await versions(id);
    $("ed-h").focus();
  } catch (err) {
    if (err.message !== "unauthenticated") result("Cannot open the rule: " + err.message, "error");
  }
}

async function versions(id) {
  const v = await api(`/api/v1/rules/${encodeURIComponent(id)}/versions`);
  $("ed-versions").replaceChildren(
    el("thead", {}, el("tr", {}, ...["Version", "Change", "By", "At (UTC)", "Enabled", "Action"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...v.versions.slice().reverse().map((x) => {
      const load = el("button", { type: "button" }, "Load into editor");
      load.addEventListener("click", () => {
        $("ed-yaml").value = x.yaml; editorLines();
        result(`Loaded version ${x.version}. Deploying it makes a new version.`);
        $("ed-yaml").focus();
      });
      return el("tr", {}, el("td", {}, String(x.version)), el("td", {}, x.change), el("td", {}, x.actor),
        el("td", {}, time(x.at)), el("td", {}, x.enabled ? "yes" : "no"), el("td", {}, load));
    })));
  $("ed-versions-box").hidden = false;
}

function showErrors(errors) {
  $("ed-errors").replaceChildren(...errors.map((e) => {
    const li = el("li", {}, el("strong", {}, e.line ? `Line ${e.line}` : "Rule"), e.rule ? ` (${e.rule})` : "", ": " + e.message);
    if (e.line) {
      const go = el("button", { type: "button", class: "link" }, "go to line");
      go.addEventListener("click", () => gotoLine(e.line));
      li.append(" ", go);
    }
    return li;
  }));
}

function gotoLine(n) {
  const t = $("ed-yaml"), lines = t.value.split("\n");
  const start = lines.slice(0, n - 1).reduce((s, l) => s + l.length + 1, 0);
  t.focus(); t.setSelectionRange(start, start + (lines[n - 1] || "").length);
}

async function validate() {
  clearResults();
  try {
    const r = await send("POST", "/api/v1/rules/validate", { yaml: $("ed-yaml").value });
    const docs = r.documents.map((d) => d.title || d.id).join(", ");
    if (r.ok) result(`Valid: ${r.documents.length} document(s): ${docs}.`, "ok");
    else { result(`Not valid: ${r.errors.length} error(s).`, "error"); showErrors(r.errors); }
    return r.ok;
  } catch (err) {
    if (err.message !== "unauthenticated") result("Cannot validate: " + err.message, "error");
    return false;
  }
}

async function backtest() {
  clearResults();
  result("Running the rule over stored events…");
  try {
    const r = await send("POST", "/api/v1/rules/backtest", {
      yaml: $("ed-yaml").value, from: $("ed-from").value || undefined, q: $("ed-q").value.trim() || undefined, max_matches: 20,
    });
    result(`Backtest: ${fmt(r.matched)} of ${fmt(r.scanned)} events matched${r.truncated ? " (stopped at the event limit)" : ""} in ${fmt(r.took_ms)} ms.`, "ok");
    const per = el("table", { id: "bt-rules" },
      el("caption", {}, "Matches per rule"),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Rule"), el("th", { scope: "col" }, "Level"), el("th", { scope: "col", class: "n" }, "Matches"))),
      el("tbody", {}, ...r.rules.map((h) => el("tr", {}, el("td", {}, h.title), el("td", {}, h.level || ""), el("td", { class: "n" }, fmt(h.matches))))));
    const evs = r.events.map((e) => { const p = el("pre", { class: "event", tabindex: "0" }); p.textContent = JSON.stringify(e, null, 2); return p; });
    $("ed-backtest-box").replaceChildren(per, el("h3", {}, `First matching events (${fmt(evs.length)})`), ...evs);
  } catch (err) {
    if (err.message !== "unauthenticated") result("Backtest failed: " + err.message, "error");
  }
}

async function deploy() {
  clearResults();
  const yaml = $("ed-yaml").value, enabled = $("ed-enabled").checked;
  try {
    const r = ru.editing
      ? await send("PUT", "/api/v1/rules/" + encodeURIComponent(ru.editing.id), { yaml, version: ru.editing.version, enabled })
      : await send("POST", "/api/v1/rules", { yaml, enabled });
    ru.editing = { id: r.rule.id, version: r.rule.version };
    $("ed-what").textContent = `Editing ${r.rule.title} (${r.rule.id}), version ${r.rule.version}.`;
    result(`Deployed ${r.rule.title}, version ${r.rule.version}${r.rule.enabled ? "" : " (disabled)"}.`, "ok");
    await Promise.all([loadRules(), versions(r.rule.id)]);
  } catch (err) {
    if (err.message === "unauthenticated") return;
    if (err.status === 409) conflict(err.message);
    else result("Not deployed: " + err.message, "error");
  }
}

function conflict(message) {
  const p = el("p", { class: "error conflict", role: "alert" },
    el("strong", {}, "Conflict (409): "),
    ru.editing ? `this rule was changed by someone else since you opened version ${ru.editing.version}. Your text is kept here; load the latest version, merge, and deploy again. ` : "a rule with this id already exists; open it from the list to edit it, or give this one a new id. ",
    el("span", { class: "muted" }, `(${message})`));
  if (ru.editing) {
    const id = ru.editing.id;
    const b = el("button", { type: "button" }, "Show the latest version");
    b.addEventListener("click", () => versions(id).then(() => $("ed-versions-h").scrollIntoView()));
    p.append(" ", b);
  }
  $("ed-result").replaceChildren(p);
  p.scrollIntoView({ block: "center" });
}

function ruleKeys(ev) {
  if (ev.key === "n") { ev.preventDefault(); newRule(); }
  else if (ev.key === "f") { ev.preventDefault(); $("ru-q").focus(); }
}

function rulesInit() {
  $("ru-filters").addEventListener("submit", loadRules);
  $("ru-source").addEventListener("change", () => loadRules());
  $("ru-newbtn").addEventListener("click", () => newRule());
  const t = $("ed-yaml");
  t.addEventListener("input", editorLines);
  t.addEventListener("scroll", () => { $("ed-lines").scrollTop = t.scrollTop; });
  t.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); validate(); } });
  $("ed-validate").addEventListener("click", validate);
  $("ed-backtest").addEventListener("click", backtest);
  $("ed-deploy").addEventListener("click", deploy);
}
