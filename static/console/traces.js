// The Traces page (X1–X5): model and period, summary cards, the runs table with search, column
// filters, visibility and sort, the detail drawer, and exports. Everything is read from the API
// with the user's session (X-Account names the account); the page's JSON (tx-data) carries the
// models, the remembered preferences and the column catalog.
(function () {
  "use strict";

  const D = JSON.parse(document.getElementById("tx-data").textContent);
  const $ = (id) => document.getElementById(id);
  const CAT = D.catalog;
  const COLUMN = Object.fromEntries(CAT.columns.map((c) => [c.key, c]));
  const SOURCE_TYPES = CAT.filters.source_type.values;
  const STATUSES = CAT.filters.status.values;
  const PRESET_LABEL = Object.fromEntries(D.presets);
  const csrf = (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
  const dateFmt = new Intl.DateTimeFormat("en-GB", {
    timeZone: D.timezone, day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hour12: false,
  });
  const dayFmt = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  const localDay = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: D.timezone });
  const localTime = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
                                                       timeZone: D.timezone });

  const state = {
    model: "", sub: "", preset: "last_30d", start: null, end: null, search: "", steps: [], join: "and",
    sort: "-executed_at", cursor: null, page: 1, hidden: new Set(D.preferences.hidden_columns || []),
    next: null, previous: null, rows: [],
  };

  // ---------- small helpers ----------
  function icon(name, base) {
    const href = (base ? D.icons.base : D.icons.page) + "#" + name;
    return `<svg class="icon" aria-hidden="true" focusable="false"><use href="${href}"></use></svg>`;
  }
  function esc(text) {
    return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  function duration(ms) {
    // The explorer's notation: m:ss:mmm on whole milliseconds.
    const v = Math.floor(ms);
    return `${Math.floor(v / 60000)}:${String(Math.floor(v / 1000) % 60).padStart(2, "0")}:${String(v % 1000).padStart(3, "0")}`;
  }
  function humanMs(ms) {
    if (ms === null || ms === undefined) return "—";
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(2)} s`;
    return `${Math.floor(ms / 60000)} m ${String(Math.round((ms % 60000) / 1000)).padStart(2, "0")} s`;
  }
  function when(iso) { return iso ? dateFmt.format(new Date(iso)).replace(",", "") : "—"; }
  function isoDay(d) { return d.toISOString().slice(0, 10); }
  function parseDay(text) { const [y, m, d] = text.split("-").map(Number); return new Date(Date.UTC(y, m - 1, d)); }
  function addDays(d, n) { const x = new Date(d); x.setUTCDate(x.getUTCDate() + n); return x; }

  function toast(text, tone, action) {
    const box = document.querySelector(".toasts");
    const el = document.createElement("div");
    el.className = `toast ${tone || "info"}`;
    el.setAttribute("role", "status");
    el.innerHTML = `${icon(tone === "success" ? "check" : tone === "error" ? "warning" : "info", true)}<span></span>` +
      `<button class="toast-close" type="button" aria-label="Dismiss">${icon("close", true)}</button>`;
    el.querySelector("span").textContent = text;
    if (action) el.querySelector("span").appendChild(action);
    box.appendChild(el);
    if (tone !== "error") setTimeout(() => { el.classList.add("leaving"); setTimeout(() => el.remove(), 220); }, 6000);
    return el;
  }

  function errorText(error) {
    // A 400 names the field and the reason: show those rather than a generic line.
    const errors = error.body && error.body.errors;
    if (errors && Object.keys(errors).length) {
      return Object.entries(errors).map(([k, v]) => `${k}: ${[].concat(v).join(" ")}`).join("; ");
    }
    return error.message;
  }

  async function api(url, params, options) {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      if (v === null || v === undefined || v === "") continue;
      if (Array.isArray(v)) v.forEach((x) => query.append(k, x)); else query.append(k, v);
    }
    const method = (options && options.method) || "GET";
    const headers = { "X-Account": D.account, Accept: "application/json" };
    if (method !== "GET") { headers["X-CSRFToken"] = csrf; headers["Content-Type"] = "application/json"; }
    const full = query.toString() ? `${url}?${query}` : url;
    const response = await fetch(full, { method, headers, credentials: "same-origin",
                                         body: options && options.body ? JSON.stringify(options.body) : undefined });
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) {
      const error = new Error((body && body.message) || `Request failed (${response.status})`);
      error.status = response.status; error.body = body;
      throw error;
    }
    return body;
  }

  function savePreferences(part) {
    fetch(D.urls.preferences, { method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/json" }, body: JSON.stringify(part) })
      .catch(() => {});
  }

  // ---------- the selection ----------
  function currentModel() { return D.models.find((m) => m.name === state.model) || null; }
  function isExternal() { const m = currentModel(); return !!m && m.type === "external"; }

  function selectionParams() {
    const p = {};
    if (state.model && state.model !== "*") p.model = state.model;
    if (state.sub) {
      const [kind, id] = state.sub.split(":");
      p[{ d: "deployment_id", v: "version_id", c: "connection_id" }[kind]] = id;
    }
    if (state.preset) p.preset = state.preset; else { p.start = state.start; p.end = state.end; }
    return p;
  }
  function stepStrings(steps, join) {
    return steps.map((s, i) => `${i ? join + ":" : ""}${s.column}:${s.operator}:${s.value}`);
  }
  function listParams() {
    return { ...selectionParams(), search: state.search, filter: stepStrings(state.steps, state.join), sort: state.sort };
  }

  // ---------- model selector ----------
  const modelSelect = $("tx-model"), subSelect = $("tx-sub");
  function fillModels() {
    const groups = { fine_tuned: [], open_source: [], external: [] };
    D.models.forEach((m) => groups[m.type].push(m));
    let html = `<option value="">Select a model</option><option value="*">All models</option>`;
    for (const [type, label] of [["fine_tuned", "Fine-tuned"], ["open_source", "Open-source"], ["external", "External"]]) {
      if (!groups[type].length) continue;
      html += `<optgroup label="${label}">` + groups[type].map((m) => `<option value="${esc(m.name)}">${esc(m.name)}</option>`).join("") + "</optgroup>";
    }
    modelSelect.innerHTML = html;
  }
  function fillSub() {
    const m = currentModel();
    const field = $("tx-sub-field");
    if (!m || (m.type !== "external" && !m.deployments.length) || (m.type === "external" && !m.connections.length)) {
      field.hidden = true; subSelect.innerHTML = ""; state.sub = ""; return;
    }
    field.hidden = false;
    if (m.type === "external") {
      $("tx-sub-label").textContent = "Connection";
      subSelect.innerHTML = `<option value="">All connections</option>` +
        m.connections.map((c) => `<option value="c:${c.id}">${esc(c.name)}</option>`).join("");
    } else {
      $("tx-sub-label").textContent = "Deployment and version";
      subSelect.innerHTML = `<option value="">All deployments</option>` + m.deployments.map((d) =>
        `<optgroup label="${esc(d.label)}"><option value="d:${d.id}">${esc(d.name)} · all versions</option>` +
        d.versions.map((v) => `<option value="v:${v.id}">${esc(d.name)} · ${esc(v.version)}</option>`).join("") +
        "</optgroup>").join("");
    }
    if (![...subSelect.options].some((o) => o.value === state.sub)) state.sub = "";
    subSelect.value = state.sub;
  }
  modelSelect.addEventListener("change", () => {
    state.model = modelSelect.value; state.sub = ""; state.cursor = null; state.page = 1;
    if (isExternal()) state.steps = state.steps.filter((s) => s.column !== "version");
    fillSub(); sourceValues = null;
    savePreferences({ selection: { model: state.model } });
    refresh();
  });
  subSelect.addEventListener("change", () => {
    state.sub = subSelect.value; state.cursor = null; state.page = 1;
    const sel = { model: state.model };
    if (state.sub) { const [k, id] = state.sub.split(":"); sel[{ d: "deployment_id", v: "version_id", c: "connection_id" }[k]] = Number(id); }
    savePreferences({ selection: sel });
    refresh();
  });

  // ---------- popovers ----------
  const pops = [];
  function popover(button, panel, onOpen) {
    pops.push([button, panel]);
    button.addEventListener("click", (e) => {
      e.stopPropagation();
      const open = panel.hidden;
      closePops();
      if (open) { panel.hidden = false; button.setAttribute("aria-expanded", "true"); if (onOpen) onOpen(); }
    });
    panel.addEventListener("click", (e) => e.stopPropagation());
  }
  function closePops() { pops.forEach(([b, p]) => { p.hidden = true; b.setAttribute("aria-expanded", "false"); }); }
  document.addEventListener("click", closePops);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") { closePops(); closeDrawer(); } });

  // ---------- time period: presets and calendar ----------
  const today = parseDay(D.today);
  const cal = { preset: state.preset, start: null, end: null, picking: false, month: today.getUTCMonth(), year: today.getUTCFullYear() };
  function presetRange(key) {
    const y = today.getUTCFullYear(), m = today.getUTCMonth();
    const monday = addDays(today, -((today.getUTCDay() + 6) % 7));
    return {
      today: [today, today], yesterday: [addDays(today, -1), addDays(today, -1)], this_week: [monday, today],
      this_month: [new Date(Date.UTC(y, m, 1)), today], last_month: [new Date(Date.UTC(y, m - 1, 1)), new Date(Date.UTC(y, m, 0))],
      last_30d: [addDays(today, -30), today], last_90d: [addDays(today, -90), today],
      this_year: [new Date(Date.UTC(y, 0, 1)), today], last_year: [new Date(Date.UTC(y - 1, 0, 1)), new Date(Date.UTC(y - 1, 11, 31))],
    }[key] || null;
  }
  function rangeText(preset, start, end) {
    if (preset === "all_time") return "All runs since the account was created";
    const r = preset ? presetRange(preset) : (start ? [parseDay(start), parseDay(end || start)] : null);
    if (!r) return "Pick a start date";
    return `${dayFmt.format(r[0])} – ${dayFmt.format(r[1])}`;
  }
  function timeLabel() {
    if (state.preset) return PRESET_LABEL[state.preset] || state.preset;
    return rangeText(null, state.start, state.end);
  }
  function renderPresets() {
    $("tx-presets").innerHTML = D.presets.map(([key, label]) =>
      `<li><button type="button" data-preset="${key}" aria-pressed="${cal.preset === key}">${esc(label)}</button></li>`).join("");
  }
  function renderCalendar() {
    const months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
    $("tx-cal-month").innerHTML = months.map((n, i) => `<option value="${i}"${i === cal.month ? " selected" : ""}>${n}</option>`).join("");
    const years = [];
    for (let y = today.getUTCFullYear(); y >= today.getUTCFullYear() - 5; y--) years.push(y);
    $("tx-cal-year").innerHTML = years.map((y) => `<option${y === cal.year ? " selected" : ""}>${y}</option>`).join("");
    const first = new Date(Date.UTC(cal.year, cal.month, 1));
    const lead = (first.getUTCDay() + 6) % 7;
    const range = cal.preset ? presetRange(cal.preset) : (cal.start ? [parseDay(cal.start), parseDay(cal.end || cal.start)] : null);
    let html = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"].map((d) => `<span class="dow">${d}</span>`).join("");
    for (let i = 0; i < 42; i++) {
      const day = addDays(first, i - lead);
      const cls = [];
      if (day.getUTCMonth() !== cal.month) cls.push("out");
      if (+day === +today) cls.push("today");
      if (range && day >= range[0] && day <= range[1]) cls.push(+day === +range[0] || +day === +range[1] ? "edge" : "in");
      html += `<button type="button" data-day="${isoDay(day)}" class="${cls.join(" ")}"${day > today ? " disabled" : ""}>${day.getUTCDate()}</button>`;
    }
    $("tx-cal-grid").innerHTML = html;
    $("tx-cal-range").textContent = rangeText(cal.preset, cal.start, cal.end);
  }
  popover($("tx-time"), $("tx-calendar"), () => {
    Object.assign(cal, { preset: state.preset, start: state.start, end: state.end, picking: false });
    const anchor = cal.preset ? (presetRange(cal.preset) || [today])[1] : parseDay(cal.end || D.today);
    cal.month = anchor.getUTCMonth(); cal.year = anchor.getUTCFullYear();
    renderPresets(); renderCalendar();
  });
  $("tx-presets").addEventListener("click", (e) => {
    const b = e.target.closest("[data-preset]");
    if (!b) return;
    Object.assign(cal, { preset: b.dataset.preset, start: null, end: null, picking: false });
    const r = presetRange(cal.preset);
    if (r) { cal.month = r[1].getUTCMonth(); cal.year = r[1].getUTCFullYear(); }
    renderPresets(); renderCalendar();
  });
  $("tx-cal-grid").addEventListener("click", (e) => {
    const b = e.target.closest("[data-day]");
    if (!b || b.disabled) return;
    const day = b.dataset.day;
    if (!cal.picking || cal.preset || day < cal.start) {
      // A first click starts the range; today is its end until a second click says otherwise.
      Object.assign(cal, { preset: null, start: day, end: D.today, picking: true });
    } else {
      Object.assign(cal, { end: day, picking: false });
    }
    renderPresets(); renderCalendar();
  });
  const moveMonth = (delta) => { const d = new Date(Date.UTC(cal.year, cal.month + delta, 1)); cal.month = d.getUTCMonth(); cal.year = d.getUTCFullYear(); renderCalendar(); };
  $("tx-cal-prev").addEventListener("click", () => moveMonth(-1));
  $("tx-cal-next").addEventListener("click", () => moveMonth(1));
  $("tx-cal-month").addEventListener("change", (e) => { cal.month = Number(e.target.value); renderCalendar(); });
  $("tx-cal-year").addEventListener("change", (e) => { cal.year = Number(e.target.value); renderCalendar(); });
  $("tx-cal-cancel").addEventListener("click", closePops);
  $("tx-cal-apply").addEventListener("click", () => {
    if (!cal.preset && !cal.start) return;
    Object.assign(state, { preset: cal.preset, start: cal.preset ? null : cal.start, end: cal.preset ? null : cal.end,
                           cursor: null, page: 1 });
    $("tx-time-label").textContent = timeLabel();
    closePops();
    sourceValues = null;
    refresh();
  });

  // ---------- summary (X2) ----------
  async function loadSummary() {
    const cards = document.querySelectorAll(".tx-stats .stat");
    cards.forEach((c) => c.classList.add("loading"));
    try {
      const body = await api(D.urls.summary, selectionParams());
      const m = body.metrics;
      $("tx-total").textContent = m.total_requests.toLocaleString("en-US");
      $("tx-p90").textContent = humanMs(m.p90_response_time_ms);
      $("tx-p99").textContent = humanMs(m.p99_response_time_ms);
      $("tx-failure").textContent = `${m.failure_rate.toFixed(2)}%`;
      $("tx-failed").textContent = `${m.failed_requests.toLocaleString("en-US")} of ${m.total_requests.toLocaleString("en-US")} failed`;
      $("tx-credits-card").hidden = m.hosting_credits === null;
      if (m.hosting_credits !== null) $("tx-credits").textContent = m.hosting_credits.toLocaleString("en-US", { maximumFractionDigits: 2 });
      $("tx-time").title = `${when(body.period.start)} – ${when(body.period.end)} (${D.timezone})`;
    } catch (error) {
      toast(`The summary could not be loaded: ${errorText(error)}`, "error");
    } finally {
      cards.forEach((c) => c.classList.remove("loading"));
    }
  }

  // ---------- the table (X1) ----------
  function visibleColumns() {
    return CAT.columns.filter((c) => !(c.hosted_only && isExternal()) && !state.hidden.has(c.key));
  }
  function renderHead() {
    $("tx-head").innerHTML = visibleColumns().map((c) => {
      if (c.key === "executed_at") {
        const asc = state.sort === "executed_at";
        return `<th class="tx-c-${c.key}" aria-sort="${asc ? "ascending" : "descending"}"><button type="button" class="tx-sort" id="tx-sort" title="Sort by execution time">${esc(c.label)}${icon(asc ? "arrow-up" : "arrow-down")}</button></th>`;
      }
      if (c.key === "status") return `<th class="tx-c-status"><span class="sr-only">Status</span></th>`;
      return `<th class="tx-c-${c.key}${c.key === "response_time" ? " num" : ""}">${esc(c.label)}</th>`;
    }).join("");
  }
  function cell(row, key) {
    switch (key) {
      case "status":
        return row.status === "success"
          ? `<td><span class="tx-status ok" title="Success">${icon("ok-circle")}<span class="sr-only">Success</span></span></td>`
          : `<td><span class="tx-status bad" title="Failed${row.error_type ? ": " + esc(row.error_type) : ""}">${icon("alert-circle")}<span class="sr-only">Failed</span></span></td>`;
      case "request_id": return `<td class="tx-rid" title="${esc(row.request_id)}"><code>${esc(row.request_id)}</code></td>`;
      case "response_time": return `<td class="num nowrap" title="${row.response_time_ms} ms">${duration(row.response_time_ms)}</td>`;
      case "version": return `<td>${row.version ? `<span class="badge mono neutral">${esc(row.version)}</span>` : '<span class="faint">—</span>'}</td>`;
      case "source_type": return `<td class="nowrap">${esc(SOURCE_TYPES[row.source_type] || row.source_type)}</td>`;
      case "source": return `<td title="${esc(row.source)}">${row.source ? esc(row.source) : '<span class="faint">—</span>'}</td>`;
      case "executed_at": {
        const at = new Date(row.executed_at);
        return `<td class="nowrap" title="${when(row.executed_at)} ${esc(D.timezone)}">${localDay.format(at)}<span class="sub-line">${localTime.format(at)}</span></td>`;
      }
      case "input": case "output": {
        const text = row[key];
        return text ? `<td class="tx-text" title="${esc(text.slice(0, 300))}">${esc(text.slice(0, 160))}</td>` : '<td class="tx-text"><span class="faint">—</span></td>';
      }
    }
    return "<td></td>";
  }
  function renderRows() {
    renderHead();
    const cols = visibleColumns();
    $("tx-rows").innerHTML = state.rows.map((row, i) =>
      `<tr tabindex="0" data-index="${i}" data-request-id="${esc(row.request_id)}">${cols.map((c) => cell(row, c.key)).join("")}</tr>`).join("");
    $("tx-empty").hidden = state.rows.length > 0;
    $("tx-newer").disabled = !state.previous;
    $("tx-older").disabled = !state.next;
    $("tx-page-info").textContent = state.rows.length
      ? `Page ${state.page} · ${state.rows.length} runs · ${state.sort === "executed_at" ? "oldest" : "newest"} first · times in ${D.timezone}`
      : `Times in ${D.timezone}`;
  }
  function cursorOf(url) { return url ? new URL(url, location.href).searchParams.get("cursor") : null; }
  let pageRequest = 0;
  async function loadPage(quiet) {
    const ticket = ++pageRequest;
    const cols = visibleColumns().length;
    $("tx-rows").innerHTML = `<tr class="tx-loading"><td colspan="${cols}">Loading runs…</td></tr>`;
    $("tx-empty").hidden = true;
    try {
      const body = await api(D.urls.traces, { ...listParams(), cursor: state.cursor, page_size: 50 });
      if (ticket !== pageRequest) return;
      Object.assign(state, { rows: body.results, next: body.next, previous: body.previous });
      renderRows();
    } catch (error) {
      if (ticket !== pageRequest) return;
      state.rows = []; renderRows();
      if (!quiet) toast(errorText(error), "error");
      throw error;
    }
  }
  $("tx-head").addEventListener("click", (e) => {
    if (!e.target.closest("#tx-sort")) return;
    state.sort = state.sort === "executed_at" ? "-executed_at" : "executed_at";
    state.cursor = null; state.page = 1;
    loadPage().catch(() => {});
  });
  $("tx-older").addEventListener("click", () => { state.cursor = cursorOf(state.next); state.page += 1; loadPage().catch(() => {}); });
  $("tx-newer").addEventListener("click", () => { state.cursor = cursorOf(state.previous); state.page = Math.max(1, state.page - 1); loadPage().catch(() => {}); });
  $("tx-rows").addEventListener("click", (e) => {
    const tr = e.target.closest("tr[data-request-id]");
    if (tr) openDetail(tr.dataset.requestId);
  });
  $("tx-rows").addEventListener("keydown", (e) => {
    const tr = e.target.closest("tr[data-request-id]");
    if (tr && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); openDetail(tr.dataset.requestId); }
  });

  // Search (request ID or text): after a pause in typing, or at once on Enter.
  let searchTimer = null;
  function applySearch() {
    const value = $("tx-search").value.trim();
    if (value === state.search) return;
    state.search = value; state.cursor = null; state.page = 1;
    loadPage().catch(() => {});
  }
  $("tx-search").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(applySearch, 350); });
  $("tx-search").addEventListener("keydown", (e) => { if (e.key === "Enter") { clearTimeout(searchTimer); applySearch(); } });

  // ---------- column visibility ----------
  function renderColumnMenu() {
    const cols = CAT.columns.filter((c) => CAT.toggleable.includes(c.key) && !(c.hosted_only && isExternal()));
    $("tx-column-list").innerHTML = cols.map((c) =>
      `<label><input type="checkbox" data-column="${c.key}"${state.hidden.has(c.key) ? "" : " checked"}>${esc(c.label)}</label>`).join("") +
      `<div class="tx-col-note">All columns are visible by default; exports include every column.</div>`;
  }
  popover($("tx-columns-btn"), $("tx-columns"), renderColumnMenu);
  $("tx-column-list").addEventListener("change", (e) => {
    const box = e.target.closest("[data-column]");
    if (!box) return;
    if (box.checked) state.hidden.delete(box.dataset.column); else state.hidden.add(box.dataset.column);
    renderRows();
    savePreferences({ hidden_columns: [...state.hidden] });
  });

  // ---------- column filters (X3) ----------
  let draft = { steps: [], join: "and" };
  let sourceValues = null;
  async function loadSources() {
    if (sourceValues) return sourceValues;
    try {
      const body = await api(D.urls.breakdown, { ...selectionParams(), by: "source" });
      sourceValues = (body.rows || []).map((r) => r.source).filter(Boolean).slice(0, 200);
    } catch (e) { sourceValues = []; }
    return sourceValues;
  }
  function filterColumns() {
    return Object.entries(CAT.filters).filter(([, spec]) => !(spec.hosted_only && isExternal()));
  }
  function valueControl(step, i) {
    const spec = CAT.filters[step.column];
    const listed = spec.input === "list" && step.operator !== "contains";
    if (listed && spec.values) {
      return `<select data-field="value" data-i="${i}" aria-label="Value">` + Object.entries(spec.values).map(([k, label]) =>
        `<option value="${k}"${k === step.value ? " selected" : ""}>${esc(label)}</option>`).join("") + "</select>";
    }
    const placeholder = spec.input === "duration" ? "m:s:ms, e.g. 0:1:500" : "Value";
    const list = step.column === "source" ? ' list="tx-source-values"' : "";
    return `<input type="text" data-field="value" data-i="${i}" aria-label="Value" placeholder="${placeholder}" value="${esc(step.value)}"${list}>`;
  }
  function renderSteps() {
    const joinLabel = draft.join.toUpperCase();
    document.querySelectorAll(".tx-join button").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.join === draft.join)));
    $("tx-join-help").textContent = draft.join === "and" ? "AND: a run must meet every condition." : "OR: a run that meets any condition is shown.";
    if (!draft.steps.length) {
      $("tx-steps").innerHTML = `<div class="tx-no-steps">No filters yet. Add one to narrow the runs by column.</div>`;
      return;
    }
    $("tx-steps").innerHTML = draft.steps.map((step, i) => {
      const spec = CAT.filters[step.column];
      return `<div class="tx-step" data-testid="filter-step">
        <span class="tx-step-join">${i ? joinLabel : "WHERE"}</span>
        <select data-field="column" data-i="${i}" aria-label="Column">${filterColumns().map(([k, s]) =>
          `<option value="${k}"${k === step.column ? " selected" : ""}>${esc(s.label)}</option>`).join("")}</select>
        <select data-field="operator" data-i="${i}" aria-label="Operator">${spec.operators.map((op) =>
          `<option value="${op}"${op === step.operator ? " selected" : ""}>${esc(CAT.operators[op])}</option>`).join("")}</select>
        ${valueControl(step, i)}
        <button class="btn ghost small" type="button" data-remove="${i}" aria-label="Remove this filter" title="Remove">${icon("trash")}</button>
      </div>`;
    }).join("") + `<datalist id="tx-source-values">${(sourceValues || []).map((v) => `<option value="${esc(v)}">`).join("")}</datalist>`;
  }
  function defaultValue(column, operator) {
    const spec = CAT.filters[column];
    if (spec.input === "list" && spec.values && operator !== "contains") return Object.keys(spec.values)[0];
    return "";
  }
  function showFilterError(message) {
    const box = $("tx-filter-error");
    box.hidden = !message;
    box.querySelector("div").textContent = message || "";
  }
  popover($("tx-filter-btn"), $("tx-filters"), () => {
    draft = { steps: state.steps.map((s) => ({ ...s })), join: state.join };
    showFilterError(""); renderSteps();
    loadSources().then(() => renderSteps());
  });
  document.querySelector(".tx-join").addEventListener("click", (e) => {
    const b = e.target.closest("[data-join]");
    if (b) { draft.join = b.dataset.join; renderSteps(); }
  });
  $("tx-steps").addEventListener("change", (e) => {
    const el = e.target.closest("[data-field]");
    if (!el) return;
    const step = draft.steps[Number(el.dataset.i)];
    if (el.dataset.field === "column") {
      step.column = el.value; step.operator = CAT.filters[el.value].operators[0]; step.value = defaultValue(step.column, step.operator);
    } else if (el.dataset.field === "operator") {
      const wasListed = CAT.filters[step.column].input === "list" && step.operator !== "contains";
      step.operator = el.value;
      const isListed = CAT.filters[step.column].input === "list" && step.operator !== "contains";
      if (wasListed !== isListed) step.value = defaultValue(step.column, step.operator);
    } else {
      step.value = el.value;
    }
    renderSteps();
  });
  $("tx-steps").addEventListener("input", (e) => {
    const el = e.target.closest("input[data-field=value]");
    if (el) draft.steps[Number(el.dataset.i)].value = el.value;
  });
  $("tx-steps").addEventListener("click", (e) => {
    const b = e.target.closest("[data-remove]");
    if (b) { draft.steps.splice(Number(b.dataset.remove), 1); renderSteps(); }
  });
  $("tx-add-step").addEventListener("click", () => {
    draft.steps.push({ column: "status", operator: "eq", value: "failure" });
    renderSteps();
    const inputs = $("tx-steps").querySelectorAll("[data-field=column]");
    if (inputs.length) inputs[inputs.length - 1].focus();
  });
  async function applyFilters(steps, join) {
    const before = { steps: state.steps, join: state.join };
    Object.assign(state, { steps, join, cursor: null, page: 1 });
    try {
      await loadPage(true);
      renderActiveFilters();
      closePops();
    } catch (error) {
      // Keep the filters that worked, and say in the builder what was wrong.
      Object.assign(state, before);
      const detail = error.body && error.body.errors && error.body.errors.filter;
      showFilterError(detail ? detail.join(" ") : errorText(error));
      renderActiveFilters();
      loadPage(true).catch(() => {});
    }
  }
  $("tx-apply-steps").addEventListener("click", () => {
    const empty = draft.steps.findIndex((s) => !String(s.value).trim());
    if (empty >= 0) { showFilterError(`Step ${empty + 1}: enter a value.`); return; }
    applyFilters(draft.steps.map((s) => ({ ...s, value: String(s.value).trim() })), draft.join);
  });
  $("tx-clear-steps").addEventListener("click", () => { draft.steps = []; renderSteps(); applyFilters([], draft.join); });
  function describe(step) {
    const spec = CAT.filters[step.column];
    const value = spec.values && spec.values[step.value] ? spec.values[step.value] : step.value;
    return `${spec.label} ${CAT.operators[step.operator].toLowerCase()} ${value}`;
  }
  function renderActiveFilters() {
    const count = state.steps.length;
    $("tx-filter-count").hidden = !count;
    $("tx-filter-count").textContent = String(count);
    const strip = $("tx-active-filters");
    strip.hidden = !count;
    strip.innerHTML = count ? `<span>Filtered:</span>` + state.steps.map((s, i) =>
      `${i ? `<span class="join">${state.join.toUpperCase()}</span>` : ""}<span class="badge neutral">${esc(describe(s))}</span>`).join("") +
      ` <button class="btn ghost small" type="button" id="tx-clear-active">Clear All</button>` : "";
  }
  $("tx-active-filters").addEventListener("click", (e) => { if (e.target.closest("#tx-clear-active")) applyFilters([], state.join); });

  // ---------- the detail drawer (X4) ----------
  let detail = null, mode = "text";
  function jsonHtml(value) {
    const text = JSON.stringify(value, null, 2);
    return esc(text).replace(/(&quot;(?:[^&]|&(?!quot;))*?&quot;)(\s*:)?|\b(true|false|null)\b|-?\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b/g,
      (m, str, colon, lit) => str ? `<span class="${colon ? "k" : "s"}">${str}</span>${colon || ""}` : `<span class="${lit ? "b" : "n"}">${m}</span>`);
  }
  function payload(kind) {
    // The JSON view names the model with its deployment version (hosted) or connection (external).
    const stored = detail[`${kind}_payload`];
    const body = stored && typeof stored === "object" && !Array.isArray(stored) ? { ...stored } : (stored ? { payload: stored } : {});
    delete body.model;
    const text = detail[kind === "request" ? "input" : "output"];
    if (!stored && text !== null && text !== undefined) body[kind === "request" ? "input" : "output"] = text;
    return { model: detail.model_label, ...body };
  }
  function renderIo() {
    document.querySelectorAll(".tx-mode button").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.mode === mode)));
    for (const [id, key, kind] of [["tx-d-input", "input", "request"], ["tx-d-output", "output", "response"]]) {
      const el = $(id);
      el.classList.toggle("json", mode === "json");
      if (mode === "json") el.innerHTML = jsonHtml(payload(kind));
      else if (detail[key] === null || detail[key] === undefined || detail[key] === "") el.innerHTML = '<span class="faint">No text was stored for this run.</span>';
      else el.textContent = detail[key];
    }
  }
  // 003's latency breakdown of one run: queue and network time as the trace reported them,
  // LLM processing the rest of its response time.
  function breakdownHtml(d) {
    if (d.queue_time_ms === null && d.network_time_ms === null) return '<span class="faint">Not reported for this run.</span>';
    const queue = d.queue_time_ms || 0;
    const network = d.network_time_ms || 0;
    const llm = Math.max(0, d.response_time_ms - queue - network);
    const total = llm + network + queue || 1;
    const part = (key, label, ms) => `<span class="tx-lb-item" data-part="${key}" data-ms="${ms}"><i class="tx-lb-${key}"></i>${label} ${humanMs(ms)}</span>`;
    const bar = [["llm", llm], ["network", network], ["queue", queue]]
      .map(([key, ms]) => `<i class="tx-lb-${key}" data-share="${(100 * ms) / total}"></i>`).join("");
    return `<div class="tx-lb" data-testid="latency-breakdown"><div class="tx-lb-bar">${bar}</div>`
      + `${part("llm", "LLM processing", llm)}${part("network", "Network", network)}${part("queue", "Queue", queue)}</div>`;
  }

  function renderMeta() {
    const hosted = detail.model_type !== "external";
    const rows = [
      ["Request ID", `<code>${esc(detail.request_id)}</code>`],
      ["Model", esc(detail.model)],
      ["Base model", esc(detail.base_model || "—")],
      ...(hosted ? [["Deployment name", esc(detail.deployment || "—")], ["Deployment version", esc(detail.version || "—")]]
                 : [["Connection name", esc(detail.connection || "—")]]),
      ["Response time", `${duration(detail.response_time_ms)} <span class="muted">(${detail.response_time_ms} ms)</span>`],
      ["Latency breakdown", breakdownHtml(detail)],
      ["Input tokens", detail.input_tokens.toLocaleString("en-US")],
      ["Output tokens", detail.output_tokens.toLocaleString("en-US")],
      ["Executed on", `${when(detail.executed_at)} <span class="muted">${esc(D.timezone)}</span>`],
      ["Source type", esc(SOURCE_TYPES[detail.source_type] || detail.source_type)],
      ["Source", esc(detail.source || "—")],
      ["User ID", esc(detail.user_id || "—")],
    ];
    if (detail.status !== "success") rows.push(["Error", esc([detail.error_type, detail.http_status].filter(Boolean).join(" · ") || "—")]);
    if (detail.cost_usd !== null) rows.push(["Cost", `$${detail.cost_usd.toFixed(6).replace(/0+$/, "").replace(/\.$/, ".00")}`]);
    if (detail.credits !== null) rows.push(["Credits", String(detail.credits)]);
    $("tx-d-meta").innerHTML = rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("");
    // Widths through the CSSOM: a style attribute in markup would need a looser CSP.
    $("tx-d-meta").querySelectorAll("[data-share]").forEach((i) => { i.style.width = `${i.dataset.share}%`; });
    const fb = detail.feedback;
    $("tx-d-feedback-section").hidden = !fb;
    if (fb) {
      const yn = (v) => (v === null ? "—" : v ? "Yes" : "No");
      $("tx-d-feedback").innerHTML = [["Rating", fb.rating ? `${fb.rating} / 5` : "—"], ["Thumbs", fb.thumbs || "—"],
        ["Accepted", yn(fb.accepted)], ["Edited", yn(fb.edited)], ["Regenerated", yn(fb.regenerated)],
        ["Task success", yn(fb.task_success)], ["Comment", fb.comment ? esc(fb.comment) : "—"]]
        .map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("");
    }
  }
  async function openDetail(requestId) {
    $("tx-backdrop").hidden = false; $("tx-drawer").hidden = false;
    $("tx-d-request-id").textContent = requestId;
    $("tx-d-status").innerHTML = ""; $("tx-d-meta").innerHTML = "";
    $("tx-d-input").textContent = "Loading…"; $("tx-d-output").textContent = "";
    try {
      detail = await api(`${D.urls.traces}/${encodeURIComponent(requestId)}`);
    } catch (error) {
      $("tx-d-input").textContent = error.message;
      return;
    }
    $("tx-d-status").innerHTML = detail.status === "success" ? '<span class="badge ok dot">Success</span>'
      : `<span class="badge bad dot">Failed${detail.error_type ? " · " + esc(detail.error_type) : ""}</span>`;
    renderIo(); renderMeta();
    $("tx-drawer-close").focus();
  }
  function closeDrawer() { $("tx-backdrop").hidden = true; $("tx-drawer").hidden = true; }
  $("tx-drawer-close").addEventListener("click", closeDrawer);
  $("tx-backdrop").addEventListener("click", closeDrawer);
  document.querySelector(".tx-mode").addEventListener("click", (e) => {
    const b = e.target.closest("[data-mode]");
    if (b && detail) { mode = b.dataset.mode; renderIo(); }
  });

  // ---------- exports (X5) ----------
  const exportButton = $("tx-export");
  let jobs = [], pollTimer = null;
  const known = new Map();
  function downloadUrl(job) { return D.urls.download.replace("/0/", `/${job.id}/`); }
  function jobLine(job) {
    const active = job.status === "queued" || job.status === "running";
    const pct = job.progress;
    const rows = job.rows_total !== null ? `${job.rows_written.toLocaleString("en-US")} of ${job.rows_total.toLocaleString("en-US")} rows` : "Counting rows…";
    const statusText = { queued: "Waiting for a worker…", running: rows, succeeded: `${job.rows_written.toLocaleString("en-US")} rows · ${size(job.size_bytes)}`,
                         failed: "Failed", cancelled: "Cancelled" }[job.status];
    const bar = active || job.status === "succeeded"
      ? `<div class="tx-bar-track" role="progressbar" aria-label="Export progress" aria-valuemin="0" aria-valuemax="100"${pct !== null ? ` aria-valuenow="${pct}"` : ""}>
           <div class="tx-bar-fill${pct === null ? " indeterminate" : ""}${job.status === "succeeded" ? " done" : ""}" style="${pct !== null ? `width:${pct}%` : ""}"></div></div>` : "";
    const tone = { succeeded: "ok", failed: "bad", cancelled: "warn", running: "info", queued: "neutral" }[job.status];
    const mine = job.created_by === D.user;
    const actions = active
      ? (mine ? `<button class="btn small danger" type="button" data-cancel="${job.id}">${icon("stop")}Cancel</button>` : "")
      : job.download_url ? `<a class="btn small" href="${downloadUrl(job)}" data-download="${job.id}" download>${icon("download")}Download</a>` : "";
    const who = job.created_by && job.created_by !== D.user ? ` · by ${esc(job.created_by)}` : "";
    return `<li data-job="${job.id}" data-status="${job.status}">
      <div class="tx-export-name"><strong>${esc(job.filename)}</strong><span><span class="badge ${tone}">${job.status}</span> · ${when(job.created_at)} <span class="faint">(${esc(D.timezone)})</span>${who}</span></div>
      <div class="tx-progress">${bar}<span>${statusText}</span></div>
      <div class="tx-export-actions">${actions}</div>
      ${job.status === "failed" ? `<div class="notice bad tx-export-error">${icon("warning", true)}<div>${esc(job.error || "The export failed.")}</div></div>` : ""}
    </li>`;
  }
  function size(bytes) {
    if (!bytes) return "0 KB";
    return bytes < 1048576 ? `${Math.max(1, Math.round(bytes / 1024))} KB` : `${(bytes / 1048576).toFixed(1)} MB`;
  }
  function renderJobs() {
    $("tx-exports").hidden = !jobs.length;
    $("tx-export-list").innerHTML = jobs.map(jobLine).join("");
  }
  // The "Preparing …" toast of each export this page started, dismissed as soon as that
  // export ends, so it never stays beside "Export ready".
  const preparing = new Map();
  function dismissPreparing(id) {
    const el = preparing.get(id);
    if (!el) return;
    preparing.delete(id);
    el.classList.add("leaving");
    setTimeout(() => el.remove(), 220);
  }
  async function loadJobs(announce) {
    try {
      const body = await api(D.urls.exports, { limit: 5 });
      jobs = body.results;
    } catch (error) { return; }
    for (const job of jobs) {
      const before = known.get(job.id);
      if (job.status !== "queued" && job.status !== "running") dismissPreparing(job.id);
      if (announce && before && before !== job.status) {
        if (job.status === "succeeded") {
          const link = document.createElement("a");
          link.href = downloadUrl(job); link.textContent = " Download"; link.setAttribute("download", "");
          link.dataset.download = job.id;
          toast(`Export ready: ${job.filename}.`, "success", link);
        } else if (job.status === "failed") {
          toast(`The export failed: ${job.error}`, "error");
        }
      }
      known.set(job.id, job.status);
    }
    renderJobs();
    clearTimeout(pollTimer);
    if (jobs.some((j) => j.status === "queued" || j.status === "running")) pollTimer = setTimeout(() => loadJobs(true), 1000);
  }
  if (exportButton) {
    popover(exportButton, $("tx-export-menu"));
    $("tx-export-menu").addEventListener("click", async (e) => {
      const b = e.target.closest("[data-format]");
      if (!b) return;
      closePops();
      const { cursor, ...filters } = listParams();
      for (const k of Object.keys(filters)) if (filters[k] === null || filters[k] === undefined || filters[k] === "" || (Array.isArray(filters[k]) && !filters[k].length)) delete filters[k];
      try {
        const job = await api(D.urls.exports, null, { method: "POST", body: { format: b.dataset.format, filters } });
        // Counted as queued: the first poll announces its end, even if it had already finished.
        known.set(job.id, "queued");
        const note = toast(`Preparing ${job.filename}…`, "info");
        note.dataset.preparing = job.id;
        preparing.set(job.id, note);
        loadJobs(true);
      } catch (error) {
        toast(errorText(error), "error");
      }
    });
  }
  $("tx-export-list").addEventListener("click", async (e) => {
    const cancel = e.target.closest("[data-cancel]");
    if (cancel) {
      cancel.disabled = true;
      try {
        await api(`${D.urls.exports}/${cancel.dataset.cancel}/cancel`, null, { method: "POST" });
        dismissPreparing(Number(cancel.dataset.cancel)); dismissPreparing(cancel.dataset.cancel);
        toast("Export cancelled.", "info");
      }
      catch (error) { toast(errorText(error), "error"); }
      loadJobs(false);
    }
  });
  document.addEventListener("click", (e) => {
    const link = e.target.closest("[data-download]");
    if (!link) return;
    const job = jobs.find((j) => String(j.id) === link.dataset.download);
    // The browser saves the file; say so, as 002 asks.
    setTimeout(() => toast(`Downloaded ${job ? job.filename : "the export"}.`, "success"), 400);
  });

  // ---------- loading everything ----------
  function refresh() {
    const chosen = !!state.model;
    $("tx-first-visit").hidden = chosen;
    $("tx-main").hidden = !chosen;
    if (exportButton) exportButton.disabled = !chosen;
    if (!chosen) return;
    $("tx-credits-card").hidden = isExternal();
    renderActiveFilters();
    loadSummary();
    loadPage().catch(() => {});
  }
  $("tx-refresh").addEventListener("click", () => { state.cursor = null; state.page = 1; refresh(); loadJobs(false); });

  // On return visits the page opens on the last model selection, over the default 30 days (002).
  fillModels();
  const remembered = D.preferences.selection || {};
  if (remembered.model && (remembered.model === "*" || D.models.some((m) => m.name === remembered.model))) {
    state.model = remembered.model;
    modelSelect.value = state.model;
    fillSub();
    const sub = remembered.version_id ? `v:${remembered.version_id}` : remembered.deployment_id ? `d:${remembered.deployment_id}`
      : remembered.connection_id ? `c:${remembered.connection_id}` : "";
    if ([...subSelect.options].some((o) => o.value === sub)) { state.sub = sub; subSelect.value = sub; }
  }
  $("tx-time-label").textContent = timeLabel();
  refresh();
  loadJobs(false);
})();
