// A custom dashboard (D8): draws each widget — line, bar, pie, table or metric card — from the
// metrics endpoints with the dashboard's range (or the widget's own) and filters.
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

  MP.page({
    state: MP.url.get(),
    async load(state) {
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
        return (w.kind === "metric" ? metricCard(node, w, p) : series(node, w, p)).catch((err) => {
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
