// Interactive page for the OpenAPI document: lists every operation, lets you call it
// with your API key. No external requests: everything comes from this server.
"use strict";
const tokenInput = document.getElementById("token");
tokenInput.value = sessionStorage.getItem("mcpsec-token") || "";
tokenInput.addEventListener("change", () => sessionStorage.setItem("mcpsec-token", tokenInput.value));

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function operation(path, method, op) {
  const d = el("details");
  d.append(el("summary", {}, el("span", { class: "m " + method }, method), el("span", { class: "path" }, path),
    el("span", { class: "desc" }, op.summary || (op.description || "").split("\n")[0])));
  const form = el("form");
  if (op.description) form.append(el("p", { class: "desc" }, op.description));
  const inputs = [];
  for (const p of op.parameters || []) {
    const input = el("input", { name: p.name, "data-in": p.in, placeholder: p.schema && p.schema.type || "" });
    inputs.push(input);
    form.append(el("label", {}, `${p.name} (${p.in})${p.required ? " *" : ""}`, input, el("small", { class: "desc" }, p.description || "")));
  }
  let body = null;
  if (op.requestBody) {
    body = el("textarea", { name: "body" });
    body.value = '{"message": "hello from the API page"}';
    form.append(el("label", {}, "body", body));
  }
  const out = el("pre", { tabindex: "0" });
  const button = el("button", { type: "submit" }, "Send");
  form.append(button, out);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    let url = path;
    const query = new URLSearchParams();
    for (const i of inputs) {
      if (!i.value) continue;
      if (i.dataset.in === "path") url = url.replace(`{${i.name}}`, encodeURIComponent(i.value));
      else if (i.dataset.in === "query") query.set(i.name, i.value);
    }
    if ([...query].length) url += "?" + query;
    const headers = {};
    if (tokenInput.value) headers["Authorization"] = "Bearer " + tokenInput.value;
    out.textContent = "…";
    try {
      const res = await fetch(url, { method: method.toUpperCase(), headers, body: body ? body.value : undefined });
      const text = await res.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* not JSON */ }
      out.textContent = `${res.status} ${res.statusText}\n\n${shown}`;
    } catch (e) {
      out.textContent = String(e);
    }
  });
  d.append(form);
  return d;
}

fetch("/api/v1/openapi.json").then((r) => r.json()).then((doc) => {
  const main = document.getElementById("ops");
  main.replaceChildren(el("p", { class: "desc" }, `${doc.info.title} ${doc.info.version} — ${doc.info.description || ""}`));
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) main.append(operation(path, method, op));
  }
}).catch((e) => { document.getElementById("ops").textContent = "Cannot load the OpenAPI document: " + e; });
