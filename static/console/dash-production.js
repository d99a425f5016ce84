// Production Metrics (seed 003): KPIs, volume, success rate by band, latency percentiles, errors
// by category, tokens, cost, the prompt table; Compare (up to 3, winners) and Cohorts.
(function () {
  "use strict";
  const { fmt, COLORS, el } = MP;
  const FILTERS = ["prompt", "model"];
  const BAND_COLOR = { healthy: COLORS.ok, warning: "#eaaa08", critical: COLORS.bad };
  const state = MP.url.get();
  let controller = null;

  function kpi(key, value, foot) {
    const card = document.querySelector(`[data-kpi="${key}"]`);
    card.querySelector("[data-value]").textContent = value;
    const f = card.querySelector("[data-foot]");
    f.replaceChildren(...(foot || []));
    return card;
  }

  function kpis(k) {
    kpi("total_requests", fmt.count(k.total_requests), [`${fmt.count(k.successful_requests)} ok · ${fmt.count(k.failed_requests)} failed`]);
    kpi("rpm", fmt.dec(k.rpm, 2), [`now ${fmt.dec(k.current_rpm, 2)} / min`]);
    kpi("peak_rpm", fmt.count(k.peak_rpm), ["busiest minute"]);
    const trend = { increasing: ["▲ Increasing", "good"], decreasing: ["▼ Decreasing", "bad"], stable: ["● Stable", ""] }[k.trend] || ["—", ""];
    const t = kpi("trend", trend[0]);
    t.querySelector("[data-value]").className = `value ${trend[1] === "good" ? "winner" : ""}`;
    t.dataset.trend = k.trend;
    const f = k.failure_breakdown;
    const sr = kpi("success_rate", fmt.pct(k.success_rate),
      [el("span", { class: "badge " + ({ healthy: "ok", warning: "warn", critical: "bad" }[k.success_band] || "neutral"),
                    text: k.success_band || "no requests" })]);
    sr.classList.remove("health-healthy", "health-warning", "health-critical");
    if (k.success_band) sr.classList.add(`health-${k.success_band}`);
    sr.dataset.band = k.success_band || "";
    kpi("p95_latency_ms", fmt.ms(k.p95_latency_ms), [`p50 ${fmt.ms(k.p50_latency_ms)} · p99 ${fmt.ms(k.p99_latency_ms)}`]);
    kpi("avg_tokens_per_request", fmt.dec(k.avg_tokens_per_request, 1), [`${fmt.tokens(k.total_tokens)} tokens`]);
    kpi("cost_per_request_usd", fmt.usd(k.cost_per_request_usd));
    kpi("total_cost_usd", fmt.usd(k.total_cost_usd));
    kpi("projected_monthly_cost_usd", fmt.usd(k.projected_monthly_cost_usd));
    return f;
  }

  function charts(b) {
    const labels = MP.periodLabels(b.requests, b.granularity);
    const has = b.requests.length > 0;
    MP.chart("volume", {
      type: "line",
      data: { labels, datasets: [
        MP.line("Requests", b.requests.map((p) => p.requests), COLORS.brand, { fill: true }),
        MP.line("Peak RPM", b.requests.map((p) => p.peak_rpm), COLORS.warn, { yAxisID: "y2", borderDash: [4, 3], pointRadius: 0 }),
      ] },
      options: { scales: { x: MP.xAxis(), y: MP.axis(fmt.count),
                           y2: MP.axis(fmt.count, { position: "right", grid: { display: false }, title: { display: true, text: "Peak RPM" },
                                                      ticks: { precision: 0, callback: (v) => fmt.count(v) } }) } },
    }, has);
    const sr = b.success_rate;
    MP.chart("success", {
      type: "line",
      data: { labels, datasets: [MP.line("Success rate", sr.map((p) => p.success_rate), COLORS.ok, {
        pointBackgroundColor: sr.map((p) => BAND_COLOR[p.band] || COLORS.gray),
        pointBorderColor: sr.map((p) => BAND_COLOR[p.band] || COLORS.gray), pointRadius: 3,
        segment: { borderColor: (ctx) => BAND_COLOR[(sr[ctx.p1DataIndex] || {}).band] || COLORS.gray },
      })] },
      options: { plugins: { legend: { display: false }, tooltip: { callbacks: {
        label: (c) => ` ${fmt.pct(c.raw)} (${sr[c.dataIndex].band || "—"})` } } },
        scales: { x: MP.xAxis(), y: MP.axis(fmt.pct, { beginAtZero: false, suggestedMax: 100, suggestedMin: 85 }) } },
    }, has);
    MP.chart("latency", {
      type: "line",
      data: { labels, datasets: [
        MP.line("p50", b.latency.map((p) => p.p50_ms), COLORS.blue),
        MP.line("p95", b.latency.map((p) => p.p95_ms), COLORS.warn),
        MP.line("p99", b.latency.map((p) => p.p99_ms), COLORS.bad),
      ] },
      options: { plugins: { tooltip: { callbacks: { label: (c) => ` ${c.dataset.label} ${fmt.ms(c.raw)}` } } },
                 scales: { x: MP.xAxis(), y: MP.axis(fmt.ms) } },
    }, has);
    // Every failure type, coloured by the seed's kind it belongs to; the bars add up to the
    // failed requests (failures sent without a type have their own bar).
    const types = b.kpis.failure_types.filter((t) => t.type !== "unspecified" || t.count > 0);
    const KIND_COLOR = { timeout: COLORS.warn, llm_error: COLORS.bad, validation: COLORS.violet, system: COLORS.gray,
                         unspecified: COLORS.cyan };
    const failed = types.reduce((a, t) => a + t.count, 0);
    MP.figures("failures", [["failed", fmt.count(failed), "failed"],
                            ["of requests", fmt.pct(b.kpis.error_rate)]]);
    MP.chart("failures", {
      type: "bar",
      data: { labels: types.map((t) => t.label), datasets: [MP.bars("Failures", types.map((t) => t.count),
        types.map((t) => KIND_COLOR[t.kind]), { kinds: types.map((t) => t.kind) })] },
      options: { indexAxis: "y", plugins: { legend: { display: false }, tooltip: { callbacks: {
        label: (c) => ` ${fmt.count(c.raw)} (${fmt.pct(failed ? (100 * c.raw) / failed : 0)} of failures)` } } },
                 scales: { x: MP.axis(fmt.count), y: { grid: { display: false } } } },
    }, failed > 0, ["No failures", "Every request in this selection succeeded."]);
    latencyBreakdown(b);
    const er = b.error_rate;
    MP.chart("errors", {
      type: "line",
      data: { labels, datasets: [
        MP.line("4xx", er.map((p) => p.http_4xx), COLORS.warn, { fill: true, backgroundColor: MP.alpha(COLORS.warn, 0.35) }),
        MP.line("5xx", er.map((p) => p.http_5xx), COLORS.bad, { fill: true, backgroundColor: MP.alpha(COLORS.bad, 0.35) }),
        MP.line("LLM", er.map((p) => p.llm), COLORS.violet, { fill: true, backgroundColor: MP.alpha(COLORS.violet, 0.35) }),
      ] },
      options: { plugins: { tooltip: { callbacks: { label: (c) => ` ${c.dataset.label} ${fmt.pct(c.raw)}`,
                                                    footer: (items) => `All errors ${fmt.pct(er[items[0].dataIndex].total)}` } } },
                 scales: { x: MP.xAxis(), y: MP.axis(fmt.pct, { stacked: true }) } },
    }, has);
    const cbp = b.cost_by_prompt.filter((r) => r.cost_usd > 0);
    MP.chart("cost_by_prompt", {
      type: "doughnut",
      data: { labels: cbp.map((r) => r.prompt || "(no prompt)"), datasets: [{ data: cbp.map((r) => r.cost_usd),
        backgroundColor: cbp.map((_, i) => MP.PALETTE[i % MP.PALETTE.length]), borderWidth: 1 }] },
      options: { cutout: "58%", interaction: { mode: "nearest", intersect: true },
                 plugins: { legend: { position: "right" }, tooltip: { callbacks: { label: (c) => ` ${c.label}: ${fmt.usd(c.raw)}` } } } },
    }, cbp.length > 0, ["No cost in this range", "No request in this selection had a cost."]);
    MP.chart("tokens", {
      data: { labels, datasets: [
        MP.bars("Input", b.tokens.map((p) => p.input_tokens), COLORS.brand, { stack: "t", order: 2 }),
        MP.bars("Output", b.tokens.map((p) => p.output_tokens), MP.alpha(COLORS.brand, 0.45), { stack: "t", order: 2 }),
        MP.line("Avg per request", b.tokens.map((p) => p.avg_tokens_per_request), COLORS.orange, { yAxisID: "y2", order: 1, pointRadius: 2 }),
      ] },
      options: { plugins: { tooltip: { callbacks: { label: (c) => ` ${c.dataset.label} ${c.dataset.yAxisID === "y2" ? fmt.dec(c.raw, 1) : fmt.count(c.raw)}` } } },
                 scales: { x: MP.xAxis({ stacked: true }), y: MP.axis(fmt.tokens, { stacked: true }),
                           y2: MP.axis((v) => fmt.dec(v, 0), { position: "right", grid: { display: false },
                                                             title: { display: true, text: "Avg tokens / request" } }) } },
    }, has);
    MP.chart("cost", {
      type: "line",
      data: { labels, datasets: [MP.line("Cost", b.cost.map((p) => p.cost_usd), COLORS.violet, { fill: true })] },
      options: { plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => ` ${fmt.usd(c.raw)}` } } },
                 scales: { x: MP.xAxis(), y: MP.axis(fmt.usd) } },
    }, has);
  }

  async function alerts(sel) {
    const body = await MP.api("analytics/alerts", { ...sel, limit: 8 });
    const widget = document.querySelector("[data-widget=alerts]");
    MP.alertList(widget.querySelector("[data-alert-list]"), body, widget.querySelector("[data-figures]"));
  }

  // Average response time split into queue, network and LLM processing, per period (003).
  function latencyBreakdown(b) {
    const lb = b.kpis.latency_breakdown;
    MP.figures("latency_breakdown", [["LLM processing", fmt.ms(lb.llm_processing_ms), "llm_processing"],
                                     ["Network", fmt.ms(lb.network_ms), "network"], ["Queue", fmt.ms(lb.queue_ms), "queue"],
                                     ["Average response", fmt.ms(lb.avg_response_ms), "avg_response"]]);
    const pts = b.latency_breakdown;
    MP.chart("latency_breakdown", {
      type: "bar",
      data: { labels: MP.periodLabels(pts, b.granularity), datasets: [
        MP.bars("LLM processing", pts.map((p) => p.llm_processing_ms), COLORS.brand, { stack: "l" }),
        MP.bars("Network", pts.map((p) => p.network_ms), COLORS.teal, { stack: "l" }),
        MP.bars("Queue", pts.map((p) => p.queue_ms), COLORS.warn, { stack: "l" }),
      ] },
      options: { plugins: { tooltip: { callbacks: { label: (c) => ` ${c.dataset.label} ${fmt.ms(c.raw)}`,
                                                    footer: (items) => `Average response ${fmt.ms(pts[items[0].dataIndex].avg_response_ms)}` } } },
                 scales: { x: MP.xAxis({ stacked: true }), y: MP.axis(fmt.ms, { stacked: true }) } },
    }, pts.length > 0);
  }

  function table(target, columns, rows, emptyText) {
    const box = document.querySelector(`[data-table="${target}"]`);
    if (!rows.length) {
      box.replaceChildren(el("div", { class: "card-body" }, el("div", { class: "chart-box short" })));
      MP.empty(box.querySelector(".chart-box"), emptyText || "No requests in this range");
      return;
    }
    box.replaceChildren(el("table", { class: "data compact", "data-testid": `${target}-table` },
      el("thead", {}, el("tr", {}, columns.map(([, label, , num]) => el("th", { class: num ? "num" : "", text: label })))),
      el("tbody", {}, rows.map((r) => el("tr", {}, columns.map(([key, , format, num]) =>
        el("td", { class: num ? "num" : "primary", "data-col": key, text: format ? format(r[key], r) : (r[key] || "(none)") })))))));
  }

  function prompts(rows) {
    table("prompts", [
      ["prompt", "Prompt"], ["requests", "Requests", fmt.count, 1], ["success_rate", "Success rate", fmt.pct, 1],
      ["error_rate", "Error rate", fmt.pct, 1], ["p95_latency_ms", "p95 latency", fmt.ms, 1],
      ["avg_tokens", "Avg tokens", (v) => fmt.dec(v, 1), 1], ["cost_per_request_usd", "Cost / request", fmt.usd, 1],
      ["cost_usd", "Cost", fmt.usd, 1],
    ], rows);
  }

  // ---------- compare ----------
  const form = document.querySelector("[data-compare-form]");
  const dimSelect = form.querySelector("[data-compare-dim]");
  const itemSelects = [...form.querySelectorAll("[data-compare-item]")];
  const ORDINAL = ["", "1st", "2nd", "3rd"];

  function compareOptions(chosen) {
    const values = (MP.CTX.compare_options || {})[dimSelect.value] || [];
    itemSelects.forEach((s, i) => {
      MP.options(s, values.map((v) => [v, v]), { all: i === 2 ? "— none —" : `Choose…`, value: chosen[i] !== undefined ? chosen[i] : (i < 2 ? values[i] || "" : "") });
    });
  }

  async function compare() {
    if (!state.compare) return;
    const sel = MP.selection(state, FILTERS);
    const body = await MP.api("analytics/compare", { ...sel, dimension: state.compare_dim || "prompt", items: state.compare });
    const items = body.items;
    const metrics = [["requests", "Requests", fmt.count], ["success_rate", "Success rate", fmt.pct],
                     ["p95_latency_ms", "p95 latency", fmt.ms], ["avg_tokens", "Avg tokens", (v) => fmt.dec(v, 1)],
                     ["cost_per_request_usd", "Cost / request", fmt.usd]];
    const box = document.querySelector("[data-table=compare]");
    box.replaceChildren(el("table", { class: "data compact", "data-testid": "compare-table" },
      el("thead", {}, el("tr", {}, el("th", { text: "Metric" }), items.map((it) => el("th", { class: "num", text: it.item })))),
      el("tbody", {},
        metrics.map(([key, label, format]) => el("tr", {}, el("td", { class: "primary", text: label }),
          items.map((it) => {
            const win = body.winners[key] !== undefined && body.winners[key] === it.item;
            return el("td", { class: `num${win ? " winner" : ""}`, "data-item": it.item, "data-metric": key },
              format(it[key]), win ? el("span", { class: "badge ok", style: "margin-left:6px", text: "best" }) : null);
          }))),
        el("tr", {}, el("td", { class: "primary", text: "Overall" }), items.map((it) =>
          el("td", { class: "num", "data-overall": it.item },
            el("span", { class: `rank${it.overall_rank === 1 ? " first" : ""}`, text: ORDINAL[it.overall_rank] || it.overall_rank })))))));
  }

  dimSelect.addEventListener("change", () => compareOptions([]));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const items = [...new Set(itemSelects.map((s) => s.value).filter(Boolean))];
    if (items.length < 2) { MP.showError(document, "Choose two or three different items to compare."); return; }
    state.compare_dim = dimSelect.value;
    state.compare = items.join(",");
    MP.url.set(state);
    MP.hideError();
    compare().catch((err) => MP.showError(document, err.message));
  });

  // ---------- cohorts ----------
  async function cohorts() {
    const by = state.cohort || "day";
    document.querySelectorAll("[data-by]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.by === by)));
    const body = await MP.api("analytics/cohorts", { ...MP.selection(state, FILTERS), by });
    const rows = body.cohorts;
    const label = (c) => (["hour", "day", "week"].includes(by) ? fmt.period(c, by, by === "hour") : c || "(none)");
    if (by === "users") {
      MP.chart("cohorts", {
        type: "bar",
        data: { labels: rows.map((r) => (r.cohort === "new" ? "New users" : "Returning users")), datasets: [
          MP.bars("Users", rows.map((r) => r.users), COLORS.brand), MP.bars("Requests", rows.map((r) => r.requests), MP.alpha(COLORS.brand, 0.4), { yAxisID: "y2" })] },
        options: { scales: { x: MP.xAxis(), y: MP.axis(fmt.count, { title: { display: true, text: "Users" } }),
                             y2: MP.axis(fmt.count, { position: "right", grid: { display: false }, title: { display: true, text: "Requests" } }) } },
      }, rows.some((r) => r.users > 0));
      table("cohorts", [["cohort", "Cohort", (v) => (v === "new" ? "New users" : "Returning users")], ["users", "Users", fmt.count, 1],
                        ["requests", "Requests", fmt.count, 1], ["queries_per_user", "Queries / user", (v) => fmt.dec(v, 1), 1],
                        ["cost_usd", "Cost", fmt.usd, 1], ["cost_per_user_usd", "Cost / user", fmt.usd, 1]],
            rows.filter((r) => r.users > 0));
      return;
    }
    MP.chart("cohorts", {
      type: "bar",
      data: { labels: rows.map((r) => label(r.cohort)), datasets: [
        MP.bars("Requests", rows.map((r) => r.total_requests), COLORS.brand),
        MP.line("Success rate", rows.map((r) => r.success_rate), COLORS.ok, { yAxisID: "y2" })] },
      options: { scales: { x: MP.xAxis(), y: MP.axis(fmt.count),
                           y2: MP.axis(fmt.pct, { position: "right", beginAtZero: false, grid: { display: false } }) } },
    }, rows.length > 0);
    table("cohorts", [["cohort", "Cohort", (v) => label(v)], ["total_requests", "Requests", fmt.count, 1],
                      ["active_users", "Users", fmt.count, 1], ["success_rate", "Success rate", fmt.pct, 1],
                      ["p95_latency_ms", "p95 latency", fmt.ms, 1], ["cost_per_request_usd", "Cost / request", fmt.usd, 1],
                      ["total_cost_usd", "Cost", fmt.usd, 1]], rows);
  }

  document.querySelectorAll("[data-by]").forEach((b) => b.addEventListener("click", () => {
    state.cohort = b.dataset.by;
    MP.url.set(state);
    cohorts().catch((err) => MP.showError(document, err.message));
  }));

  // ---------- the page ----------
  dimSelect.value = state.compare_dim || "prompt";
  compareOptions(state.compare ? state.compare.split(",") : []);

  controller = MP.page({
    state,
    live: true,
    async load(s) {
      const sel = MP.selection(s, FILTERS);
      const body = await MP.api("analytics/production", sel);
      MP.asOf(body);
      kpis(body.kpis);
      charts(body);
      prompts(body.prompts);
      await Promise.all([cohorts(), compare(), alerts(sel)]);
    },
  });
})();
