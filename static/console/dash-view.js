// A custom dashboard (D8): draws each widget — line, bar, pie, table, metric card or the alert
// events of its selection — from the metrics endpoints with the dashboard's range (or the
// widget's own) and filters. "Arrange" makes the grid editable by dragging: a widget's handle
// moves it, its right edge sets its width (one to three columns); "Save layout" stores both.
(function () {
  "use strict";
  const { fmt, el } = MP;
  const CAT = MP.CTX.catalogue;
  const METRIC = Object.fromEntries(CAT.metrics.map((m) => [m.name, m]));
  const GROUPING = Object.fromEntries(CAT.groupings.map((g) => [g.name, g.label]));
  const PRESET = Object.fromEntries(CAT.presets.map((p) => [p.name, p.label]));
  const ADDITIVE = new Set(["count", "tokens", "usd", "credits"]);
  const grid = document.querySelector("[data-board-grid]");

  const label = (m) => (METRIC[m] ? METRIC[m].label : m);
  const unit = (m) => (METRIC[m] ? METRIC[m].unit : "count");
  const show = (v, m) => fmt.unit(v, unit(m));

  function params(board, widget, state) {
    const range = widget.preset ? { preset: widget.preset } : MP.selection(state);
    return { ...range, ...board.filters, ...widget.filters };
  }

  function card(widget) {
    if (widget.kind === "alerts") return alertsCard(widget);
    const own = widget.preset ? el("span", { class: "badge neutral", text: PRESET[widget.preset] || widget.preset, title: "This widget's own range" }) : null;
    const labels = widget.metrics.map(label).join(", ");
    const sub = [labels === widget.title ? null : labels, widget.group_by ? `by ${GROUPING[widget.group_by] || widget.group_by}` : null,
                 Object.entries(widget.filters || {}).map(([k, v]) => `${k} = ${v}`).join(", ") || null].filter(Boolean).join(" · ");
    const body = widget.kind === "table" ? el("div", { class: "table-wrap", "data-wbody": "" })
      : widget.kind === "metric" ? el("div", { "data-wbody": "" })
        : el("div", { class: "chart-box", "data-chart": `w${widget.id}` });
    return el("section", {
      class: `widget${widget.kind === "metric" ? " metric-card" : ""}${widget.width > 1 ? ` span-${widget.width}` : ""}`,
      "data-widget-id": widget.id, "data-kind": widget.kind, "data-testid": "board-widget",
    },
    el("div", { class: "widget-head" },
      el("div", {}, el("h2", {}, widget.title), el("div", { class: "sub", text: sub })),
      el("div", { class: "widget-tools" }, own)),
    el("div", { class: "widget-body" }, body));
  }

  function alertsCard(widget) {
    const own = widget.preset ? el("span", { class: "badge neutral", text: PRESET[widget.preset] || widget.preset, title: "This widget's own range" }) : null;
    const scope = Object.entries(widget.filters || {}).map(([k, v]) => `${k} = ${v}`).join(", ");
    return el("section", {
      class: `widget${widget.width > 1 ? ` span-${widget.width}` : ""}`, "data-widget-id": widget.id, "data-kind": "alerts",
      "data-testid": "board-widget",
    },
    el("div", { class: "widget-head" },
      el("div", {}, el("h2", {}, widget.title), el("div", { class: "sub", text: `Alert events open during the range, latest first${scope ? ` · ${scope}` : ""}` })),
      el("div", { class: "widget-tools" }, own, el("a", { class: "btn small ghost", href: `/a/${MP.CTX.account}/alerts/events/`, text: "All events" }))),
    el("div", { class: "widget-figures", "data-figures": "" }),
    el("div", { class: "widget-body" }, el("div", { class: "alert-list", "data-alert-list": "" })));
  }

  async function alertsWidget(node, widget, p) {
    const body = await MP.api("analytics/alerts", { ...p, limit: widget.limit || 8 });
    MP.alertList(node.querySelector("[data-alert-list]"), body, node.querySelector("[data-figures]"));
    return body;
  }

  // A custom metric (L6) is computed by its own endpoint; a base metric comes from the summary.
  const CUSTOM = "custom:";
  async function figure(m, params) {
    if (m.startsWith(CUSTOM)) {
      const body = await MP.api(`custom-metrics/${m.slice(CUSTOM.length)}/value`, params);
      return { body, value: body.value };
    }
    const body = await MP.api("metrics", params);
    return { body, value: body.metrics[m] };
  }

  async function metricCard(node, widget, p) {
    const m = widget.metrics[0];
    const { body, value } = await figure(m, p);
    // The previous period of the same length, for the change.
    const start = new Date(body.period.start);
    const end = new Date(body.period.end);
    const prevStart = new Date(start.getTime() - (end - start));
    const filters = { ...p };
    delete filters.preset; delete filters.start; delete filters.end;
    const before = (await figure(m, { ...filters, start: prevStart.toISOString(), end: start.toISOString() })).value;
    const box = node.querySelector("[data-wbody]");
    const chip = el("span", { class: "change" });
    const pct = typeof value === "number" && typeof before === "number" && before !== 0 ? (100 * (value - before)) / Math.abs(before) : null;
    const goodUp = !/latency|ttft|error|timeout|failed|cost|credit|4xx|5xx|thumbs_down|regeneration|edit_rate/.test(m);
    MP.change(chip, pct, goodUp);
    box.replaceChildren(el("div", { class: "big", "data-value": value === null || value === undefined ? "" : value, text: show(value, m) }),
      el("div", { class: "foot", style: "display:flex;gap:6px;align-items:center;font-size:12px;color:var(--muted)" },
        chip, typeof before === "number" ? `was ${show(before, m)}` : ""));
    return body;
  }

  function axesFor(metrics) {
    const units = [...new Set(metrics.map(unit))];
    const scales = { x: MP.xAxis(), y: MP.axis((v) => fmt.unit(v, units[0]), { integer: units[0] === "count" }) };
    if (units.length > 1) scales.y2 = MP.axis((v) => fmt.unit(v, units[1]), { position: "right", grid: { display: false }, integer: units[1] === "count" });
    return { units, scales };
  }

  function datasets(widget, rows, units, stacked) {
    return widget.metrics.map((m, i) => {
      const color = MP.PALETTE[i % MP.PALETTE.length];
      const extra = { yAxisID: units.indexOf(unit(m)) === 1 ? "y2" : "y", metric: m };
      if (widget.kind === "bar") return MP.bars(label(m), rows.map((r) => r[m]), color, stacked ? { ...extra, stack: "s" } : extra);
      return MP.line(label(m), rows.map((r) => r[m]), color, extra);
    });
  }

  async function series(node, widget, p) {
    const slot = node.querySelector("[data-chart]") || node.querySelector("[data-wbody]");
    let rows; let labels; let body;
    if (widget.group_by === "time") {
      body = await MP.api("metrics/timeseries", p);
      rows = body.points;
      labels = MP.periodLabels(rows, body.granularity);
    } else {
      body = await MP.api("metrics/breakdown", { ...p, by: widget.group_by });
      const first = widget.metrics[0];
      rows = body.rows.slice().sort((a, b) => (b[first] ?? -Infinity) - (a[first] ?? -Infinity)).slice(0, widget.limit);
      labels = rows.map((r) => (r.key === "" || r.key === null ? "(none)" : String(r.key)));
    }
    if (widget.kind === "table") {
      if (!rows.length) { slot.replaceChildren(el("div", { class: "chart-box short" })); MP.empty(slot.firstChild); return body; }
      slot.replaceChildren(el("table", { class: "data compact" },
        el("thead", {}, el("tr", {}, el("th", { text: GROUPING[widget.group_by] || widget.group_by }),
                                 widget.metrics.map((m) => el("th", { class: "num", text: label(m) })))),
        el("tbody", {}, rows.map((r, i) => el("tr", {}, el("td", { class: "primary", text: labels[i] }),
          widget.metrics.map((m) => el("td", { class: "num", "data-metric": m, text: show(r[m], m) })))))));
      return body;
    }
    const has = rows.length > 0 && rows.some((r) => widget.metrics.some((m) => typeof r[m] === "number"));
    if (widget.kind === "pie") {
      const m = widget.metrics[0];
      const slices = rows.filter((r) => typeof r[m] === "number" && r[m] > 0);
      MP.chart(slot, {
        type: "doughnut",
        data: { labels: slices.map((r) => labels[rows.indexOf(r)]), datasets: [{ data: slices.map((r) => r[m]),
          backgroundColor: slices.map((_, i) => MP.PALETTE[i % MP.PALETTE.length]), borderWidth: 1 }] },
        options: { cutout: "55%", interaction: { mode: "nearest", intersect: true },
                   plugins: { legend: { position: "right" }, tooltip: { callbacks: { label: (c) => ` ${c.label}: ${show(c.raw, m)}` } } } },
      }, slices.length > 0);
      return body;
    }
    const { units, scales } = axesFor(widget.metrics);
    const stacked = widget.kind === "bar" && widget.metrics.length > 1 && units.length === 1 && ADDITIVE.has(units[0]);
    if (stacked) { scales.x.stacked = true; scales.y.stacked = true; }
    MP.chart(slot, {
      type: widget.kind,
      data: { labels, datasets: datasets(widget, rows, units, stacked) },
      options: { plugins: { legend: { display: widget.metrics.length > 1 }, tooltip: { callbacks: {
        label: (c) => ` ${c.dataset.label} ${show(c.raw, c.dataset.metric)}` } } }, scales },
    }, has);
    return body;
  }

  // ---------- arrange: drag to move and to resize, on the three-column grid ----------
  const arrangeButton = document.querySelector("[data-arrange]");
  const arrangeBar = document.querySelector("[data-arrange-bar]");
  let arranging = false;
  let controller = null;

  const widgetsOf = () => [...grid.querySelectorAll("[data-widget-id]")];
  const widthOf = (node) => (node.classList.contains("span-3") ? 3 : node.classList.contains("span-2") ? 2 : 1);
  function setWidth(node, n) {
    node.classList.remove("span-2", "span-3");
    if (n > 1) node.classList.add(`span-${n}`);
    node.dataset.width = String(n);
    const label = node.querySelector("[data-width-label]");
    if (label) label.textContent = ["", "One third", "Two thirds", "Full width"][n];
  }
  function columns() {
    const styles = getComputedStyle(grid);
    return styles.gridTemplateColumns.split(" ").filter(Boolean).length || 3;
  }

  function arrangeOn() {
    arranging = true;
    grid.classList.add("arranging");
    arrangeBar.hidden = false;
    arrangeButton.hidden = true;
    widgetsOf().forEach((node) => {
      node.dataset.savedWidth = String(widthOf(node));
      node.dataset.width = String(widthOf(node));
      node.append(
        el("button", { class: "arrange-handle", type: "button", title: "Drag to move", "aria-label": "Drag to move", "data-move-handle": "" }, MP.icon("drag")),
        el("span", { class: "arrange-width", "data-width-label": "", text: ["", "One third", "Two thirds", "Full width"][widthOf(node)] }),
        el("span", { class: "arrange-resize", title: "Drag to resize", "aria-label": "Drag to resize", "data-resize-handle": "" }));
    });
  }
  function arrangeOff() {
    arranging = false;
    grid.classList.remove("arranging");
    arrangeBar.hidden = true;
    arrangeButton.hidden = false;
    grid.querySelectorAll("[data-move-handle], [data-resize-handle], [data-width-label]").forEach((n) => n.remove());
  }

  // Moving: the widget follows the pointer through the grid's order; the others reflow live.
  function startMove(node, event) {
    node.classList.add("dragging");
    const move = (e) => {
      const target = document.elementFromPoint(e.clientX, e.clientY);
      const over = target && target.closest("[data-widget-id]");
      if (!over || over === node || !grid.contains(over)) return;
      const box = over.getBoundingClientRect();
      const after = e.clientY > box.bottom - box.height / 4 || (e.clientX > box.left + box.width / 2 && e.clientY > box.top + box.height / 4);
      const ref = after ? over.nextElementSibling : over;
      if (ref !== node) grid.insertBefore(node, ref);
    };
    const up = () => {
      node.classList.remove("dragging");
      document.removeEventListener("pointermove", move);
      document.removeEventListener("pointerup", up);
    };
    document.addEventListener("pointermove", move);
    document.addEventListener("pointerup", up);
    event.preventDefault();
  }

  // Resizing: the right edge snaps to the grid's columns.
  function startResize(node, event) {
    node.classList.add("resizing");
    const gridBox = grid.getBoundingClientRect();
    const n = columns();
    const gap = parseFloat(getComputedStyle(grid).columnGap) || 0;
    const col = (gridBox.width - gap * (n - 1)) / n;
    const move = (e) => {
      const left = node.getBoundingClientRect().left;
      // Past the grid's right edge: full width (the widget then takes a row of its own).
      const span = e.clientX >= gridBox.right - 4 ? 3
        : Math.max(1, Math.min(3, Math.round((e.clientX - left + gap) / (col + gap))));
      if (span !== widthOf(node)) setWidth(node, span);
    };
    const up = () => {
      node.classList.remove("resizing");
      document.removeEventListener("pointermove", move);
      document.removeEventListener("pointerup", up);
      window.dispatchEvent(new Event("resize"));  // charts take their new size
    };
    document.addEventListener("pointermove", move);
    document.addEventListener("pointerup", up);
    event.preventDefault();
  }

  grid.addEventListener("pointerdown", (event) => {
    if (!arranging) return;
    const node = event.target.closest("[data-widget-id]");
    if (!node) return;
    if (event.target.closest("[data-move-handle]")) startMove(node, event);
    else if (event.target.closest("[data-resize-handle]")) startResize(node, event);
  });

  async function saveLayout() {
    const nodes = widgetsOf();
    const save = arrangeBar.querySelector("[data-arrange-save]");
    save.disabled = true;
    try {
      await MP.send("POST", `dashboards/${MP.CTX.dashboard_id}/reorder-widgets`, { ids: nodes.map((n) => Number(n.dataset.widgetId)) });
      for (const node of nodes) {
        const width = widthOf(node);
        if (String(width) !== node.dataset.savedWidth) await MP.send("PATCH", `dashboards/widgets/${node.dataset.widgetId}`, { width });
      }
      arrangeOff();
      document.body.dataset.layoutSaved = String(Number(document.body.dataset.layoutSaved || 0) + 1);
      controller.run();
    } catch (err) {
      MP.showError(document, `The layout was not saved: ${err.message}`);
    } finally {
      save.disabled = false;
    }
  }

  if (arrangeButton) {
    arrangeButton.addEventListener("click", arrangeOn);
    arrangeBar.querySelector("[data-arrange-save]").addEventListener("click", saveLayout);
    arrangeBar.querySelector("[data-arrange-cancel]").addEventListener("click", () => { arrangeOff(); controller.run(); });
  }

  controller = MP.page({
    state: MP.url.get(),
    async load(state) {
      if (arranging) return;  // a refresh (or Live) never undoes an arrangement in progress
      const board = await MP.api(`dashboards/${MP.CTX.dashboard_id}`);
      const filters = document.querySelector("[data-board-filters]");
      filters.replaceChildren(...Object.entries(board.filters || {}).map(([k, v]) => el("span", { class: "badge info", text: `${k}: ${v}` })));
      if (filters.childElementCount) filters.prepend(el("span", { class: "muted", style: "font-size:12.5px", text: "Every widget filters on" }));
      filters.hidden = filters.childElementCount === 0;
      if (!board.widgets.length) {
        grid.replaceChildren(el("div", { class: "card span-3" }));
        grid.firstChild.innerHTML = "";
        grid.firstChild.append(el("div", { class: "chart-box short" }));
        MP.empty(grid.querySelector(".chart-box"), "No widgets yet", "Edit the dashboard to add charts, tables and metric cards.");
        return;
      }
      grid.replaceChildren(...board.widgets.map(card));
      const results = await Promise.allSettled(board.widgets.map((w) => {
        const node = grid.querySelector(`[data-widget-id="${w.id}"]`);
        const p = params(board, w, state);
        const draw = w.kind === "metric" ? metricCard : w.kind === "alerts" ? alertsWidget : series;
        return draw(node, w, p).catch((err) => {
          const body = node.querySelector(".widget-body");
          body.replaceChildren(el("div", { class: "notice bad", text: `This widget could not load: ${err.message}` }));
          throw err;
        });
      }));
      const done = results.find((r) => r.status === "fulfilled");
      if (done) MP.asOf(done.value);
      const failed = results.filter((r) => r.status === "rejected").length;
      if (failed) MP.showError(document, `${failed} widget${failed > 1 ? "s" : ""} could not load.`);
    },
  });
})();
