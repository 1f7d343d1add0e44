// The compliance console page. The officer's key is sent once, to sign in; the session then
// lives in an HttpOnly cookie this script cannot read, and every call carries the CSRF token
// the sign-in returned (kept in memory only). Everything shown is set as text, never as HTML:
// audit details quote what the bot and customers wrote.
"use strict";

const state = { csrf: null, meta: null, page: 1, pages: 1, searches: 0, blockLists: 0 };
const $ = (id) => document.getElementById(id);

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function show(id, message) {
  const box = $(id);
  box.textContent = message || "";
  box.hidden = !message;
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (state.csrf) headers["X-CSRF-Token"] = state.csrf;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const reply = await fetch(path, { method: options.method || "GET", headers, credentials: "same-origin",
    body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  if (reply.status === 401) signedOut();
  return reply;
}

async function jsonOf(reply) {
  const payload = await reply.json().catch(() => ({}));
  if (!reply.ok) throw new Error(payload.error || `HTTP ${reply.status}`);
  return payload;
}

function signedOut() {
  state.csrf = null;
  $("console").hidden = true;
  $("sign-in-form").hidden = false;
  $("sign-out").hidden = true;
  $("who").textContent = "";
}

async function signedIn(session) {
  state.csrf = session.csrf_token;
  $("who").textContent = `${session.officer.name} (${session.officer.id})`;
  $("sign-in-form").hidden = true;
  $("sign-out").hidden = false;
  show("signin-error", "");
  state.meta = await jsonOf(await api("/console/api/meta"));
  drawMeta(state.meta);
  $("console").hidden = false;
  await Promise.all([search(1), loadBlocks(), loadLiveRules(), loadHistory(), loadSimulation()]);
}

function drawMeta(meta) {
  $("reads-audited").textContent = meta.notices.reads_audited;
  $("draft-notice").textContent = meta.notices.draft_never_live;
  const fill = (select, items) => {
    while (select.options.length > 1) select.remove(1);
    for (const [value, label] of items) select.add(new Option(label, value));
  };
  fill($("f-kind"), meta.kinds.map((k) => [k.id, `${k.id} · ${k.label}`]));
  fill($("f-product"), meta.products.map((p) => [p.id, `${p.id} ${p.name.zh} (${p.risk})`]));
  fill($("g-rule"), Object.entries(meta.rules).map(([id, label]) => [id, `${id} · ${label}`]));
  fill($("try-level"), meta.levels.map((level) => [level, level]));
}

function isoOf(value) {
  return value ? new Date(value).toISOString() : "";
}

function auditQuery(extra = {}) {
  const query = new URLSearchParams();
  const fields = { customer: $("f-customer").value.trim(), from: isoOf($("f-from").value),
    to: isoOf($("f-to").value), kind: $("f-kind").value, product: $("f-product").value };
  for (const [name, value] of Object.entries({ ...fields, ...extra })) if (value) query.set(name, value);
  return query;
}

function products(list) {
  return (list || []).map((p) => `${p.id}(${p.risk})`).join(", ");
}

async function search(page) {
  show("audit-error", "");
  const asked = ++state.searches;  // only the newest search is drawn, whichever answers last
  try {
    const found = await jsonOf(await api(`/console/api/audit?${auditQuery({ page: String(page) })}`));
    if (asked !== state.searches) return;
    state.page = found.page;
    state.pages = found.pages;
    const body = $("audit-table").tBodies[0];
    body.replaceChildren();
    for (const r of found.records) {
      const row = el("tr");
      row.dataset.kind = r.kind;
      for (const value of [r.id, r.at, r.customer_id, r.kind, r.c_level || "", products(r.products),
                           r.emotion || "", r.rules_version]) row.append(el("td", value));
      row.append(el("td", [r.warning_text, r.detail].filter(Boolean).join(" · "), "detail"));
      body.append(row);
    }
    $("audit-summary").textContent = `${found.total} 条记录 records`;
    $("page-info").textContent = `${found.page} / ${found.pages}`;
  } catch (error) {
    show("audit-error", error.message);
  }
}

async function exportAs(format) {
  show("audit-error", "");
  $("export-status").textContent = "";
  const reply = await api(`/console/api/audit/export?${auditQuery({ format })}`);
  if (!reply.ok) {
    const payload = await reply.json().catch(() => ({}));
    show("audit-error", payload.error || `HTTP ${reply.status}`);
    return;
  }
  const blob = await reply.blob();
  const name = (/filename="([^"]+)"/.exec(reply.headers.get("Content-Disposition") || "") || [])[1] || `audit.${format}`;
  const link = el("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  $("export-status").textContent = `已导出 exported: ${name} (${blob.size} bytes)`;
}

async function verify() {
  const box = $("verify-result");
  box.textContent = "…";
  try {
    const report = await jsonOf(await api("/console/api/audit/verify"));
    box.replaceChildren(el("div", report.ok ? "✓ 审计链完整 chain intact" : `✗ ${report.findings_total} findings`,
                           report.ok ? "ok" : "bad"), el("div", report.summary, "muted"));
    for (const finding of report.findings) box.append(el("div", `${finding.kind}: ${finding.message}`));
  } catch (error) {
    box.replaceChildren(el("div", error.message, "bad"));
  }
}

function reviewCell(record) {
  const cell = el("td");
  if (record.review) {
    const label = state.meta.verdicts.find((v) => v.id === record.review.verdict);
    cell.append(el("div", `✓ ${label ? label.label : record.review.verdict}`, "ok"),
                el("div", `${record.review.officer} · ${record.review.at}`, "muted"));
    if (record.review.note) cell.append(el("div", record.review.note));
    return cell;
  }
  const verdict = el("select");
  verdict.className = "verdict-choice";
  for (const v of state.meta.verdicts) verdict.add(new Option(v.label, v.id));
  const note = el("input");
  note.placeholder = "备注 note";
  note.className = "review-note";
  const mark = el("button", "标记已复核 Mark reviewed", "review");
  mark.addEventListener("click", async () => {
    try {
      await jsonOf(await api(`/console/api/guard-blocks/${record.id}/review`, { method: "POST",
        body: { verdict: verdict.value, note: note.value } }));
      await loadBlocks();
    } catch (error) {
      show("blocks-error", error.message);
    }
  });
  cell.append(verdict, note, mark);
  return cell;
}

async function loadBlocks() {
  show("blocks-error", "");
  const query = new URLSearchParams({ reviewed: $("g-reviewed").value });
  if ($("g-rule").value) query.set("rule", $("g-rule").value);
  if ($("g-customer").value.trim()) query.set("customer", $("g-customer").value.trim());
  const asked = ++state.blockLists;
  try {
    const found = await jsonOf(await api(`/console/api/guard-blocks?${query}`));
    if (asked !== state.blockLists) return;
    const body = $("blocks").tBodies[0];
    body.replaceChildren();
    for (const r of found.records) {
      const row = el("tr");
      row.dataset.id = r.id;
      for (const value of [r.id, r.at, r.customer_id]) row.append(el("td", value));
      row.append(el("td", r.detail, "detail"), el("td", r.rules_version), reviewCell(r));
      body.append(row);
    }
    $("blocks-summary").textContent = `${found.total} 条拦截 guard blocks`;
  } catch (error) {
    show("blocks-error", error.message);
  }
}

async function loadLiveRules() {
  const live = await jsonOf(await api("/console/api/rules/live"));
  state.liveText = live.text || "";
  if (!$("draft").value) $("draft").value = state.liveText;
  $("live-rules").textContent = `现行规则 live: ${live.path} · version ${live.version} · sha256 ${live.content_hash}`
    + (live.refusal ? ` · 当前文件被拒 file refused: ${live.refusal.problems.join("; ")}` : "");
}

async function validateDraft() {
  const box = $("validate-result");
  try {
    const result = await jsonOf(await api("/console/api/rules/validate", { method: "POST", body: { yaml: $("draft").value } }));
    box.replaceChildren(el("div", result.valid ? `✓ 草稿有效 valid (version ${result.version})` : "✗ 草稿无效 invalid",
                            result.valid ? "ok" : "bad"));
    const list = el("ul");
    for (const problem of result.problems) list.append(el("li", problem));
    box.append(list);
  } catch (error) {
    box.replaceChildren(el("div", error.message, "bad"));
  }
}

function drawVerdict(id, verdict, problems) {
  const box = $(id);
  box.replaceChildren();
  if (!verdict) {
    box.append(el("div", "✗ 草稿无效，无法试用 the draft does not validate", "bad"));
    for (const problem of problems || []) box.append(el("div", problem, "muted"));
    return;
  }
  $(`${id}-version`).textContent = `version ${verdict.version}`;
  const notices = state.meta.notices;
  box.append(el("div", verdict.blocked ? `✗ ${notices.block}` : `✓ ${notices.pass}`, verdict.blocked ? "bad" : "ok"));
  for (const v of verdict.violations) {
    box.append(el("div", `${v.rule} (${v.part}): ${v.evidence} — ${state.meta.rules[v.rule] || ""}`));
  }
  if (verdict.sent_instead) box.append(el("div", `改发 sent instead: ${verdict.sent_instead}`, "muted"));
}

async function trySentence() {
  show("try-error", "");
  try {
    const result = await jsonOf(await api("/console/api/rules/try", { method: "POST", body: {
      yaml: $("draft").value, text: $("try-text").value, where: $("try-where").value,
      level: $("try-level").value || null, warning_earlier: $("try-warned").checked } }));
    drawVerdict("try-live", result.live);
    drawVerdict("try-draft", result.draft, result.draft_problems);
  } catch (error) {
    show("try-error", error.message);
  }
}

async function loadHistory() {
  const found = await jsonOf(await api("/console/api/rules/history"));
  $("history-live").textContent = `现行 in force: version ${found.live.version} · sha256 ${found.live.content_hash}`;
  const body = $("history").tBodies[0];
  body.replaceChildren();
  for (const v of found.versions) {
    const row = el("tr");
    for (const value of [v.version, v.first_seen, v.last_seen, v.records]) row.append(el("td", value));
    const refused = el("td");
    for (const r of v.refusals) refused.append(el("div", `${r.at} · ${r.refused_content_hash || "?"} · ${r.detail}`, "detail"));
    row.append(refused);
    body.append(row);
  }
}

async function loadSimulation() {
  const found = await jsonOf(await api("/console/api/simulation/latest"));
  if (!found.report) {
    $("simulation-name").textContent = "";
    $("simulation").textContent = state.meta.notices.no_report;
    return;
  }
  $("simulation-name").textContent = `${found.report.name} · ${found.report.run_at} · ${found.report.reports} reports in ${found.report.folder}`;
  $("simulation").textContent = found.report.text + (found.report.truncated ? "\n…" : "");
}

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = $("officer-key").value.trim();
  $("officer-key").value = "";  // not kept: the cookie is the sign-in from now on
  try {
    await signedIn(await jsonOf(await api("/console/api/session", { method: "POST", body: { key } })));
  } catch (error) {
    show("signin-error", error.message);
  }
});
$("sign-out").addEventListener("click", async () => {
  await api("/console/api/session", { method: "DELETE" });
  signedOut();
});
$("search").addEventListener("click", () => search(1));
$("prev").addEventListener("click", () => state.page > 1 && search(state.page - 1));
$("next").addEventListener("click", () => state.page < state.pages && search(state.page + 1));
$("export-csv").addEventListener("click", () => exportAs("csv"));
$("export-json").addEventListener("click", () => exportAs("json"));
$("verify").addEventListener("click", verify);
$("load-blocks").addEventListener("click", loadBlocks);
$("validate").addEventListener("click", validateDraft);
$("reset-draft").addEventListener("click", () => { $("draft").value = state.liveText || ""; });
$("try").addEventListener("click", trySentence);
$("load-history").addEventListener("click", loadHistory);

(async () => {  // a session from before a reload: the cookie is still there, the token is asked again
  const reply = await fetch("/console/api/session", { credentials: "same-origin" });
  if (reply.ok) await signedIn(await reply.json());
  else signedOut();
})();
