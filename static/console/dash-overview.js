// Overview: KPI cards against the previous period, traffic / cost / latency charts, busiest models.
(function () {
  "use strict";
  const { fmt, COLORS } = MP;

  // key: [format, good when it goes up (true/false), or null when neither]
  const KPIS = {
    total_requests: [fmt.count, true], success_rate: [fmt.pct, true], p50_latency_ms: [fmt.ms, false],
    p95_latency_ms: [fmt.ms, false], p99_latency_ms: [fmt.ms, false], error_rate: [fmt.pct, false],
    total_tokens: [fmt.tokens, null], total_cost_usd: [fmt.usd, false], projected_monthly_cost_usd: [fmt.usd, false],
    active_users: [fmt.count, true],
  };

  function kpis(body) {
    const { current, previous, change } = body;
    Object.entries(KPIS).forEach(([key, [format, goodUp]]) => {
      const card = document.querySelector(`[data-kpi="${key}"]`);
      if (!card) return;
      const projected = key === "projected_monthly_cost_usd";
      const value = projected ? body.projected_monthly_cost_usd : current[key];
      card.querySelector("[data-value]").textContent = format(value);
      card.querySelector("[data-value]").dataset.raw = value === null || value === undefined ? "" : value;
      // The projection scales the period's cost, so it moves with the cost.
      const pct = change[projected ? "total_cost_usd" : key];
      const chip = card.querySelector("[data-change]");
      MP.change(chip, pct, goodUp === null ? pct > 0 : goodUp);
      if (goodUp === null && chip.classList.length > 1) chip.className = "change";
      const prev = projected ? null : previous[key];
      card.querySelector("[data-previous]").textContent =
        prev === null || prev === undefined || !previous.total_requests ? "" : `was ${format(prev)}`;
    });
    const health = document.querySelector("[data-kpi=success_rate]");
    health.classList.remove("health-healthy", "health-warning", "health-critical");
    if (body.success_band) health.classList.add(`health-${body.success_band}`);
    health.dataset.band = body.success_band || "";
  }

  function charts(series) {
    const pts = series.points;
    const labels = MP.periodLabels(pts, series.granularity);
    const has = pts.length > 0;
    MP.chart("requests", {
      type: "bar",
      data: { labels, datasets: [
        MP.bars("Successful", pts.map((p) => p.successful_requests), MP.alpha(COLORS.ok, 0.85), { stack: "r" }),
        MP.bars("Failed", pts.map((p) => p.failed_requests), MP.alpha(COLORS.bad, 0.9), { stack: "r" }),
      ] },
      options: { scales: { x: MP.xAxis({ stacked: true }), y: MP.axis(fmt.count, { stacked: true }) } },
    }, has);
    MP.chart("cost", {
      type: "line",
      data: { labels, datasets: [MP.line("Cost", pts.map((p) => p.total_cost_usd), COLORS.violet, { fill: true })] },
      options: { plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => ` Cost ${fmt.usd(c.raw)}` } } },
                 scales: { x: MP.xAxis(), y: MP.axis(fmt.usd) } },
    }, has);
    MP.chart("latency", {
      type: "line",
      data: { labels, datasets: [
        MP.line("p50", pts.map((p) => p.p50_latency_ms), COLORS.blue),
        MP.line("p95", pts.map((p) => p.p95_latency_ms), COLORS.warn),
        MP.line("p99", pts.map((p) => p.p99_latency_ms), COLORS.bad),
      ] },
      options: { plugins: { tooltip: { callbacks: { label: (c) => ` ${c.dataset.label} ${fmt.ms(c.raw)}` } } },
                 scales: { x: MP.xAxis(), y: MP.axis(fmt.ms) } },
    }, has);
  }

  // A row opens Performance Analytics on that model over the same range (seed 000).
  function performanceUrl(model) {
    const state = MP.url.get();
    const range = MP.selection(state);
    return `${window.location.pathname.replace(/overview\/?$/, "")}performance/${MP.query({ ...range, preset: range.preset || "custom", model })}`;
  }

  function models(body) {
    const box = document.querySelector("[data-table=models]");
    const rows = body.rows.slice(0, 7);
    if (!rows.length) { box.innerHTML = ""; box.append(MP.el("div", { class: "chart-box short" })); MP.empty(box.firstChild); return; }
    const top = rows[0].total_requests || 1;
    const table = MP.el("table", { class: "data dense" },
      MP.el("thead", {}, MP.el("tr", {}, MP.el("th", { text: "Model" }), MP.el("th", { class: "num", text: "Requests" }),
                                   MP.el("th", { class: "num", text: "Success" }))),
      MP.el("tbody", {}, rows.map((r) => MP.el("tr", { class: r.model ? "clickable" : "", "data-model": r.model || "",
                                                     onclick: (event) => { if (r.model && !event.target.closest("a")) window.location.href = performanceUrl(r.model); } },
        MP.el("td", { class: "primary ellipsis", title: r.model },
          r.model ? MP.el("a", { href: performanceUrl(r.model), text: r.model, "data-testid": "busiest-model-link" }) : "—"),
        MP.el("td", { class: "num" }, MP.el("div", { class: "bar-cell" },
          MP.el("span", { text: fmt.count(r.total_requests) }),
          MP.el("span", { class: "track" }, MP.el("span", { class: "fill", style: `width:${(100 * r.total_requests / top).toFixed(1)}%` })))),
        MP.el("td", { class: "num", text: fmt.pct(r.success_rate) })))));
    box.replaceChildren(MP.el("div", { class: "table-wrap" }, table));
  }

  MP.page({
    state: MP.url.get(),
    live: true,
    async load(state) {
      const sel = MP.selection(state);
      const [overview, series, breakdown] = await Promise.all([
        MP.api("analytics/overview", sel), MP.api("metrics/timeseries", sel),
        MP.api("metrics/breakdown", { ...sel, by: "model" }),
      ]);
      MP.asOf(overview);
      kpis(overview);
      charts(series);
      models(breakdown);
    },
  });
})();
