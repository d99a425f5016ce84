// Performance Analytics (seed 000): the model × feature table, sortable on every column; a row
// opens its request trend, token consumption and latency analysis. Sort and row live in the URL.
(function () {
  "use strict";
  const { fmt, COLORS, el } = MP;
  const FILTERS = ["module", "model", "feature"];
  // [column, heading, format, text column]
  const COLUMNS = [
    ["model", "Model", null, true], ["feature", "Feature", null, true],
    ["requests", "Requests", fmt.count], ["successful_requests", "Successful", fmt.count],
    ["failed_requests", "Failed", fmt.count], ["total_tokens", "Total tokens", fmt.count],
    ["request_tokens", "Request tokens", fmt.count], ["response_tokens", "Response tokens", fmt.count],
    ["avg_tokens_per_request", "Avg tokens / request", (v) => fmt.dec(v, 1)],
    ["avg_tokens_per_response", "Avg tokens / response", (v) => fmt.dec(v, 1)],
    ["avg_response_time_ms", "Avg response time", fmt.ms], ["median_latency_ms", "Median latency", fmt.ms],
  ];
  const TEXT = new Set(COLUMNS.filter((c) => c[3]).map((c) => c[0]));
  const state = MP.url.get();
  let controller = null;

  function sortBy(column) {
    const current = state.ordering || "-requests";
    if (current === column) state.ordering = `-${column}`;
    else if (current === `-${column}`) state.ordering = column;
    else state.ordering = TEXT.has(column) ? column : `-${column}`;
    MP.url.set(state);
    controller.run();
  }

  function table(body) {
    const box = document.querySelector("[data-table=performance]");
    const rows = body.rows;
    MP.setText("[data-count]", `${fmt.count(rows.length)} ${rows.length === 1 ? "row" : "rows"}`);
    if (!rows.length) {
      box.replaceChildren(el("div", { class: "card-body" }));
      box.firstChild.append(el("div", { class: "chart-box short", "data-chart": "performance-empty" }));
      MP.empty(box.querySelector(".chart-box"), "No requests in this range",
        "No model answered a feature in this selection. Widen the range or clear a filter.");
      return;
    }
    const ordering = body.ordering || state.ordering || "-requests";
    const column = ordering.replace(/^-/, "");
    const head = el("tr", {}, COLUMNS.map(([key, label, , text]) => {
      const sorted = key === column;
      return el("th", {
        class: `sortable${text ? "" : " num"}`, "data-sort": key, tabindex: "0", scope: "col",
        "aria-sort": sorted ? (ordering.startsWith("-") ? "descending" : "ascending") : null,
        onclick: () => sortBy(key), onkeydown: (e) => { if (e.key === "Enter") sortBy(key); },
      }, label, el("span", { class: "sort", text: sorted ? (ordering.startsWith("-") ? "↓" : "↑") : "" }));
    }));
    const selected = `${state.row_model || ""}\u0000${state.row_feature || ""}`;
    const body_ = el("tbody", {}, rows.map((r) => {
      const key = `${r.model}\u0000${r.feature}`;
      const tr = el("tr", {
        class: `clickable${key === selected ? " selected" : ""}`, tabindex: "0", "data-row": key,
        onclick: () => open(r), onkeydown: (e) => { if (e.key === "Enter") open(r); },
      }, COLUMNS.map(([k, , format, text]) => el("td", {
        class: text ? (k === "model" ? "primary nowrap" : "nowrap") : "num", "data-col": k,
        text: text ? (r[k] || "—") : format(r[k]),
      })));
      return tr;
    }));
    box.replaceChildren(el("table", { class: "data dense wrap-head", "data-testid": "performance-table" },
      el("thead", {}, head), body_));
  }

  function open(row) {
    state.row_model = row.model;
    state.row_feature = row.feature;
    MP.url.set(state);
    document.querySelectorAll("tr.selected").forEach((tr) => tr.classList.remove("selected"));
    const tr = document.querySelector(`tr[data-row="${CSS.escape(`${row.model}\u0000${row.feature}`)}"]`);
    if (tr) tr.classList.add("selected");
    detail().then(() => {
      // Below the sticky top bar.
      const top = document.querySelector("[data-detail]").getBoundingClientRect().top + window.scrollY - 76;
      window.scrollTo({ top: Math.max(0, top), behavior: "instant" });
    });
  }

  async function detail() {
    const panel = document.querySelector("[data-detail]");
    if (!state.row_model || !state.row_feature) { panel.hidden = true; return; }
    panel.hidden = false;
    MP.setText("[data-detail-title]", `${state.row_model} · ${state.row_feature}`);
    const sel = MP.selection(state, ["module"]);
    const body = await MP.api("analytics/performance/detail", { ...sel, model: state.row_model, feature: state.row_feature });
    const pts = body.points;
    const labels = MP.periodLabels(pts, body.granularity);
    MP.setText("[data-detail-sub]", body.granularity === "hour" ? "Hourly" : "Daily");
    const has = pts.length > 0;
    MP.chart("trend", {
      type: "line",
      data: { labels, datasets: [
        MP.line("Successful", pts.map((p) => p.successful_requests), COLORS.ok),
        MP.line("Failed", pts.map((p) => p.failed_requests), COLORS.bad),
      ] },
      options: { scales: { x: MP.xAxis(), y: MP.axis(fmt.count) } },
    }, has);
    MP.chart("tokens", {
      type: "bar",
      data: { labels, datasets: [
        MP.bars("Request", pts.map((p) => p.request_tokens), COLORS.brand, { stack: "t" }),
        MP.bars("Response", pts.map((p) => p.response_tokens), MP.alpha(COLORS.brand, 0.45), { stack: "t" }),
      ] },
      options: { scales: { x: MP.xAxis({ stacked: true }), y: MP.axis(fmt.tokens, { stacked: true }) },
                 plugins: { tooltip: { callbacks: { label: (c) => ` ${c.dataset.label} ${fmt.count(c.raw)}` } } } },
    }, has);
    MP.chart("latency", {
      type: "line",
      data: { labels, datasets: [
        MP.line("Average", pts.map((p) => p.avg_response_time_ms), COLORS.blue),
        MP.line("Median", pts.map((p) => p.median_latency_ms), COLORS.teal),
        MP.line("p95", pts.map((p) => p.p95_latency_ms), COLORS.warn, { borderDash: [4, 3] }),
      ] },
      options: { scales: { x: MP.xAxis(), y: MP.axis(fmt.ms) },
                 plugins: { tooltip: { callbacks: { label: (c) => ` ${c.dataset.label} ${fmt.ms(c.raw)}` } } } },
    }, has);
  }

  document.querySelector("[data-close-detail]").addEventListener("click", () => {
    delete state.row_model; delete state.row_feature;
    MP.url.set(state);
    document.querySelector("[data-detail]").hidden = true;
    document.querySelectorAll("tr.selected").forEach((tr) => tr.classList.remove("selected"));
  });

  controller = MP.page({
    state,
    async load(s) {
      const sel = MP.selection(s, FILTERS);
      const body = await MP.api("analytics/performance", { ...sel, ordering: s.ordering || "-requests" });
      MP.asOf(body);
      table(body);
      await detail();
    },
  });
})();
