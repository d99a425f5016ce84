// The dashboard editor: name, default range, dashboard filters and the widgets (chart kind,
// metrics, grouping, filters, range, width; or an alerts list), ordered with up / down. Saved in one request to
// /api/v1/dashboards; the server's field errors are shown next to their fields.
(function () {
  "use strict";
  const { el } = MP;
  const CTX = MP.CTX;
  const CAT = CTX.catalogue;
  const VALUES = CTX.filter_values || {};
  const form = document.querySelector("[data-editor]");
  const list = form.querySelector("[data-widgets]");
  const KIND_LABEL = { line: "Line chart", bar: "Bar chart", pie: "Pie chart", table: "Table", metric: "Metric card", alerts: "Alerts" };
  const WIDTHS = [[1, "One third"], [2, "Two thirds"], [3, "Full width"]];
  const FILTER_LABEL = (n) => n.replace(/_/g, " ");
  let counter = 0;

  // Suggestions for filter values.
  Object.entries(VALUES).forEach(([name, values]) => {
    document.body.append(el("datalist", { id: `dl-${name}` }, values.map((v) => el("option", { value: v }))));
  });

  function select(options, value, attrs) {
    const s = el("select", attrs || {});
    options.forEach(([v, label]) => s.append(el("option", { value: v, text: label })));
    s.value = value === undefined || value === null ? options[0][0] : String(value);
    return s;
  }

  function field(label, control, key, extra) {
    return el("div", { class: `field${extra ? ` ${extra}` : ""}`, "data-field": key }, el("label", { text: label }), control,
      el("div", { class: "error", "data-error-for": key }));
  }

  // ---------- filters (dashboard and widgets share the editor) ----------
  function filterRow(name, value) {
    const id = `f${++counter}`;
    const nameSel = select(CAT.filters.map((f) => [f, FILTER_LABEL(f)]), name, { "aria-label": "Filter", "data-filter-name": "" });
    const input = el("input", { type: "text", value: value || "", placeholder: "value", list: `dl-${name || CAT.filters[0]}`,
                                "aria-label": "Filter value", "data-filter-value": "", id });
    nameSel.addEventListener("change", () => input.setAttribute("list", `dl-${nameSel.value}`));
    return el("div", { class: "filter-row", "data-filter-row": "" }, nameSel, input,
      el("button", { class: "icon-btn", type: "button", title: "Remove filter", "aria-label": "Remove filter",
                     onclick: (e) => e.target.closest("[data-filter-row]").remove() },
         MP.icon("trash")));
  }

  function readFilters(box) {
    const out = {};
    box.querySelectorAll("[data-filter-row]").forEach((row) => {
      const name = row.querySelector("[data-filter-name]").value;
      const value = row.querySelector("[data-filter-value]").value.trim();
      if (value) out[name] = value;
    });
    return out;
  }

  // ---------- widgets ----------
  function metricPicks(box, metrics, kind) {
    box.replaceChildren();
    const max = ["metric", "pie"].includes(kind) ? 1 : 4;
    metrics.slice(0, max).forEach((m, i) => {
      const s = select(CAT.metrics.map((x) => [x.name, x.label]), m, { "aria-label": `Metric ${i + 1}`, "data-metric": "" });
      box.append(s);
    });
    if (metrics.length > 1 || max > 1) {
      if (metrics.length < max) {
        box.append(el("button", { class: "btn small ghost", type: "button", text: "+ metric", "data-add-metric": "",
          onclick: () => { const now = readMetrics(box); now.push(CAT.metrics.find((x) => !now.includes(x.name)).name); metricPicks(box, now, kind); } }));
      }
      if (metrics.length > 1) {
        box.append(el("button", { class: "btn small ghost", type: "button", text: "− metric",
          onclick: () => { const now = readMetrics(box); now.pop(); metricPicks(box, now, kind); } }));
      }
    }
  }
  const readMetrics = (box) => [...box.querySelectorAll("[data-metric]")].map((s) => s.value);

  function groupingOptions(kind) {
    return CAT.groupings.filter((g) => (kind === "metric" || kind === "alerts" ? g.name === "" : kind === "pie" ? !["", "time"].includes(g.name) : g.name !== ""))
      .map((g) => [g.name, g.label]);
  }

  function widgetEditor(w) {
    const box = el("div", { class: "metric-picks" });
    const kind = select(Object.entries(KIND_LABEL), w.kind, { "aria-label": "Chart", "data-w": "kind" });
    const group = select(groupingOptions(w.kind), w.group_by, { "data-w": "group_by" });
    const preset = select([["", "The dashboard's range"], ...CAT.presets.map((p) => [p.name, p.label])], w.preset || "", { "data-w": "preset" });
    const width = select(WIDTHS.map(([v, l]) => [String(v), l]), String(w.width || 1), { "data-w": "width" });
    const limit = el("input", { type: "number", min: "1", max: "50", value: String(w.limit || 8), "data-w": "limit" });
    const filters = el("div", { class: "filter-rows" }, Object.entries(w.filters || {}).map(([k, v]) => filterRow(k, v)));
    const title = el("input", { type: "text", maxlength: "100", value: w.title || "", placeholder: "Widget title", "aria-label": "Widget title", "data-w": "title" });
    metricPicks(box, w.metrics && w.metrics.length ? w.metrics : ["total_requests"], w.kind);
    const node = el("div", { class: "widget-editor", "data-widget-editor": "", "data-testid": "widget-editor" },
      el("div", { class: "we-head" },
        el("span", { class: "num", "data-num": "" }),
        el("div", { class: "field grow", "data-field": "title", style: "margin:0" }, title, el("div", { class: "error", "data-error-for": "title" })),
        el("button", { class: "icon-btn", type: "button", title: "Move up", "aria-label": "Move widget up", "data-w-move": "-1" }, MP.icon("up")),
        el("button", { class: "icon-btn", type: "button", title: "Move down", "aria-label": "Move widget down", "data-w-move": "1" }, MP.icon("down")),
        el("button", { class: "icon-btn", type: "button", title: "Remove widget", "aria-label": "Remove widget", "data-w-remove": "" }, MP.icon("trash"))),
      el("div", { class: "we-body" },
        field("Chart", kind, "kind"),
        field("Group by", group, "group_by"),
        field("Range", preset, "preset"),
        field("Width", width, "width"),
        field("Rows or slices", limit, "limit"),
        field("Metrics", box, "metrics", "wide"),
        el("div", { class: "field wide", "data-field": "filters" }, el("label", { text: "Filters" }), filters,
          el("button", { class: "btn small ghost", type: "button", text: "+ filter", onclick: () => filters.append(filterRow(CAT.filters[0], "")) }),
          el("div", { class: "error", "data-error-for": "filters" }))));
    shape();
    kind.addEventListener("change", () => {
      const current = group.value;
      const options = groupingOptions(kind.value);
      group.replaceChildren(...options.map(([v, l]) => el("option", { value: v, text: l })));
      group.value = options.some(([v]) => v === current) ? current : (kind.value === "pie" ? "model" : options[0][0]);
      metricPicks(box, readMetrics(box).length ? readMetrics(box) : ["total_requests"], kind.value);
      shape();
    });
    // An alerts widget names no metric and no grouping; its "rows" are the events listed.
    function shape() {
      const alerts = kind.value === "alerts";
      box.closest(".field").hidden = alerts;
      group.closest(".field").hidden = alerts;
      limit.closest(".field").hidden = !alerts && ["", "time"].includes(group.value);
      limit.closest(".field").querySelector("label").textContent = alerts ? "Events listed" : "Rows or slices";
    }
    group.addEventListener("change", shape);
    node.shape = shape;
    node.readWidget = () => ({
      title: title.value.trim(), kind: kind.value, metrics: kind.value === "alerts" ? [] : readMetrics(box), group_by: group.value,
      preset: preset.value, width: Number(width.value), limit: Number(limit.value) || 8, filters: readFilters(filters),
    });
    return node;
  }

  function renumber() {
    const editors = [...list.querySelectorAll("[data-widget-editor]")];
    editors.forEach((n, i) => {
      n.querySelector("[data-num]").textContent = String(i + 1);
      n.querySelector("[data-w-move='-1']").disabled = i === 0;
      n.querySelector("[data-w-move='1']").disabled = i === editors.length - 1;
    });
  }

  list.addEventListener("click", (event) => {
    const editor = event.target.closest("[data-widget-editor]");
    if (!editor) return;
    const move = event.target.closest("[data-w-move]");
    if (move) {
      const sibling = move.dataset.wMove === "-1" ? editor.previousElementSibling : editor.nextElementSibling;
      if (sibling) { if (move.dataset.wMove === "-1") list.insertBefore(editor, sibling); else list.insertBefore(sibling, editor); }
      renumber();
    } else if (event.target.closest("[data-w-remove]")) {
      editor.remove();
      renumber();
    }
  });

  form.querySelector("[data-add-widget]").addEventListener("click", () => {
    if (list.querySelectorAll("[data-widget-editor]").length >= CAT.max_widgets) {
      MP.showError(document, `A dashboard holds at most ${CAT.max_widgets} widgets.`);
      return;
    }
    const node = widgetEditor({ title: "", kind: "line", metrics: ["total_requests"], group_by: "time", width: 1, limit: 8, filters: {} });
    list.append(node);
    renumber();
    node.querySelector("[data-w=title]").focus();
  });
  form.querySelector("[data-add-filter=dashboard]").addEventListener("click", () => {
    form.querySelector("[data-d-filters]").append(filterRow(CAT.filters[0], ""));
  });

  // ---------- errors from the API ----------
  function clearErrors() {
    form.querySelectorAll(".has-error").forEach((n) => n.classList.remove("has-error"));
    form.querySelectorAll("[data-error-for]").forEach((n) => { n.textContent = ""; });
    MP.hideError();
  }

  function text(value) {
    if (Array.isArray(value)) return value.map(text).join(" ");
    if (value && typeof value === "object") return Object.entries(value).map(([k, v]) => `${FILTER_LABEL(k)}: ${text(v)}`).join(" ");
    return String(value);
  }

  function showErrors(errors, root) {
    Object.entries(errors || {}).forEach(([key, value]) => {
      const slot = root.querySelector(`[data-error-for="${key}"]`);
      if (slot) {
        slot.textContent = text(value);
        slot.closest(".field") && slot.closest(".field").classList.add("has-error");
      }
    });
  }

  // ---------- load and save ----------
  const d = (name) => form.querySelector(`[data-d=${name}]`);
  CAT.presets.forEach((p) => d("preset").append(el("option", { value: p.name, text: p.label })));

  function fill(board) {
    d("name").value = board.name || "";
    d("description").value = board.description || "";
    d("preset").value = board.preset || "last_7d";
    form.querySelector("[data-d-filters]").replaceChildren(...Object.entries(board.filters || {}).map(([k, v]) => filterRow(k, v)));
    list.replaceChildren(...board.widgets.map(widgetEditor));
    renumber();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const editors = [...list.querySelectorAll("[data-widget-editor]")];
    const payload = {
      name: d("name").value.trim(), description: d("description").value.trim(), preset: d("preset").value,
      filters: readFilters(form.querySelector("[data-d-filters]")), widgets: editors.map((n) => n.readWidget()),
    };
    const save = form.querySelector("[type=submit]");
    save.disabled = true;
    try {
      const id = CTX.dashboard_id;
      const saved = id ? await MP.send("PATCH", `dashboards/${id}`, payload) : await MP.send("POST", "dashboards", payload);
      window.location.assign(`/a/${CTX.account}/dashboards/${saved.id}/`);
    } catch (err) {
      save.disabled = false;
      const errors = err.errors || {};
      showErrors(errors, form.querySelector(".card"));
      const widgetErrors = errors.widgets;
      if (widgetErrors && !Array.isArray(widgetErrors) && typeof widgetErrors === "object") {
        Object.entries(widgetErrors).forEach(([i, e]) => { if (editors[Number(i)]) showErrors(e, editors[Number(i)]); });
      } else if (widgetErrors) {
        form.querySelector("[data-error-for=widgets-list]").textContent = text(widgetErrors);
      }
      MP.showError(document, err.status === 400 ? "Some fields need attention: see the messages below them." : err.message);
      const first = form.querySelector(".has-error");
      if (first) first.scrollIntoView({ block: "center" });
    }
  });

  (async () => {
    try {
      if (CTX.dashboard_id) fill(await MP.api(`dashboards/${CTX.dashboard_id}`));
      else fill({ name: "", description: "", preset: "last_7d", filters: {}, widgets: [
        { title: "Requests", kind: "metric", metrics: ["total_requests"], group_by: "", width: 1 },
        { title: "Requests over time", kind: "line", metrics: ["total_requests", "failed_requests"], group_by: "time", width: 2 },
      ] });
      document.body.dataset.loaded = "1";
    } catch (err) {
      MP.showError(document, err.message);
    }
  })();
})();
