// Usage & Quality (seed 004): users and engagement, cost per user, speed (TTFT, throughput),
// timeouts, the hour × weekday heat map, feature adoption, model distribution, feedback rates.
(function () {
  "use strict";
  const { fmt, COLORS, el } = MP;
  const FILTERS = ["model", "feature"];
  const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

  function kpi(key, value, foot) {
    const card = document.querySelector(`[data-kpi="${key}"]`);
    card.querySelector("[data-value]").textContent = value;
    card.querySelector("[data-foot]").textContent = foot || "";
  }

  function kpis(u) {
    kpi("active_users", fmt.count(u.active_users));
    kpi("queries_per_user", fmt.dec(u.queries_per_user, 1));
    kpi("total_requests", fmt.count(u.total_requests));
    kpi("tokens_per_query", fmt.dec(u.tokens_per_query, 0));
    kpi("cost_per_query_usd", fmt.usd(u.cost_per_query_usd));
    kpi("cost_per_user_usd", fmt.usd(u.cost_per_user_usd), `${fmt.usd(u.total_cost_usd)} in total`);
    kpi("ttft", fmt.ms(u.ttft.avg_ms), `p50 ${fmt.ms(u.ttft.p50_ms)} · p95 ${fmt.ms(u.ttft.p95_ms)}`);
    kpi("latency", fmt.ms(u.latency.p95_ms), `p50 ${fmt.ms(u.latency.p50_ms)} · p99 ${fmt.ms(u.latency.p99_ms)}`);
    const rps = u.throughput.requests_per_second;
    kpi("throughput", rps >= 1 ? `${fmt.dec(rps, 2)} req/s` : `${fmt.dec(rps * 60, 2)} req/min`,
        `peak ${fmt.count(u.throughput.peak_requests_per_minute)} req/min`);
    kpi("error_rate", fmt.pct(u.error_rate));
    kpi("timeout_rate", fmt.pct(u.timeout_rate));
    kpi("cache_hit_rate", fmt.pct(u.cache_hit_rate), "saved from the model");
  }

  function heatmap(cells) {
    const box = document.querySelector("[data-heatmap]");
    if (!cells.length) {
      box.replaceChildren(el("div", { class: "chart-box" }));
      MP.empty(box.firstChild);
      return;
    }
    const max = Math.max(...cells.map((c) => c.requests));
    const at = new Map(cells.map((c) => [`${c.weekday}-${c.hour}`, c]));
    const grid = el("div", { class: "heatmap", "data-testid": "heatmap" });
    grid.append(el("span"));
    for (let h = 0; h < 24; h++) grid.append(el("span", { class: "hm-hour", text: h % 3 === 0 ? String(h).padStart(2, "0") : "" }));
    for (let d = 1; d <= 7; d++) {
      grid.append(el("span", { class: "hm-label", text: WEEKDAYS[d - 1] }));
      for (let h = 0; h < 24; h++) {
        const c = at.get(`${d}-${h}`);
        const share = c ? c.requests / max : 0;
        const users = c && typeof c.active_users === "number" ? ` · ${fmt.count(c.active_users)} users` : "";
        const tip = c ? `${WEEKDAYS[d - 1]} ${String(h).padStart(2, "0")}:00–${String(h + 1).padStart(2, "0")}:00 · ${fmt.count(c.requests)} requests${users}`
                      : `${WEEKDAYS[d - 1]} ${String(h).padStart(2, "0")}:00 · no requests`;
        grid.append(el("span", {
          class: "hm-cell", "data-tip": tip, "data-requests": c ? c.requests : 0, "data-cell": `${d}-${h}`,
          style: c ? `background:${MP.alpha(COLORS.brand, 0.08 + 0.92 * share)}` : null,
        }));
      }
    }
    const legend = el("div", { class: "hm-scale" }, "Fewer", el("span", { class: "ramp" }), `More (busiest hour: ${fmt.count(max)} requests)`);
    box.replaceChildren(grid, legend);
  }

  const tipBox = document.querySelector("[data-hm-tip]");
  document.addEventListener("mousemove", (event) => {
    const cell = event.target.closest && event.target.closest(".hm-cell");
    if (!cell) { tipBox.hidden = true; return; }
    tipBox.textContent = cell.dataset.tip;
    tipBox.hidden = false;
    const x = Math.min(event.clientX + 12, window.innerWidth - tipBox.offsetWidth - 8);
    tipBox.style.left = `${x}px`;
    tipBox.style.top = `${event.clientY + 14}px`;
  });

  function rates(u) {
    const items = [
      ["Average rating", u.ratings.average === null ? "—" : `${fmt.dec(u.ratings.average, 2)} / 5`, u.ratings.average === null ? 0 : (u.ratings.average / 5) * 100,
       `${fmt.count(u.ratings.count)} ratings · ${fmt.count(u.ratings.thumbs_up)} thumbs up · ${fmt.count(u.ratings.thumbs_down)} down`, "avg_rating"],
      ["Completion (accept) rate", fmt.pct(u.acceptance_rate), u.acceptance_rate, "Answers users accepted", "acceptance_rate"],
      ["Edit rate", fmt.pct(u.edit_rate), u.edit_rate, "Answers users changed", "edit_rate"],
      ["Regeneration rate", fmt.pct(u.regeneration_rate), u.regeneration_rate, "Answers users asked again", "regeneration_rate"],
      ["Task success", fmt.pct(u.task_success_rate), u.task_success_rate, "Goals completed with the AI", "task_success_rate"],
    ];
    MP.setText("[data-feedback-count]", `${fmt.count(u.feedback_count)} feedback entries`);
    document.querySelector("[data-rates]").replaceChildren(...items.map(([label, value, pct, note, key]) => el("div", { class: "rate", "data-rate": key },
      el("div", { class: "label", text: label }), el("div", { class: "value", text: value }),
      el("div", { class: "meter" }, el("span", { style: `width:${Math.max(0, Math.min(100, pct || 0)).toFixed(1)}%` })),
      el("div", { class: "faint", style: "font-size:12px;margin-top:5px", text: note }))));
  }

  function charts(u, series) {
    const adoption = u.feature_adoption.filter((r) => r.adoption_pct !== null);
    MP.chart("adoption", {
      type: "bar",
      data: { labels: adoption.map((r) => r.feature || "(none)"), datasets: [MP.bars("Adoption", adoption.map((r) => r.adoption_pct), COLORS.teal)] },
      options: { indexAxis: "y", plugins: { legend: { display: false }, tooltip: { callbacks: {
        label: (c) => ` ${fmt.pct(c.raw)} of active users (${fmt.count(adoption[c.dataIndex].users)})` } } },
        scales: { x: MP.axis(fmt.pct, { max: 100 }), y: { grid: { display: false } } } },
    }, adoption.length > 0);
    const dist = u.model_distribution;
    MP.chart("models", {
      type: "doughnut",
      data: { labels: dist.map((r) => r.model || "(unknown)"), datasets: [{ data: dist.map((r) => r.requests),
        backgroundColor: dist.map((_, i) => MP.PALETTE[i % MP.PALETTE.length]), borderWidth: 1 }] },
      options: { cutout: "58%", interaction: { mode: "nearest", intersect: true },
                 plugins: { legend: { position: "right" }, tooltip: { callbacks: {
                   label: (c) => ` ${c.label}: ${fmt.count(c.raw)} (${fmt.pct(dist[c.dataIndex].share_pct)})` } } } },
    }, dist.length > 0);
    const pts = series.points;
    MP.chart("users", {
      data: { labels: MP.periodLabels(pts, series.granularity), datasets: [
        MP.bars("Active users", pts.map((p) => p.active_users), MP.alpha(COLORS.brand, 0.75), { order: 2 }),
        MP.line("Queries per user", pts.map((p) => (p.active_users ? p.total_requests / p.active_users : null)), COLORS.orange,
                { yAxisID: "y2", order: 1 }),
      ] },
      options: { plugins: { tooltip: { callbacks: { label: (c) => ` ${c.dataset.label} ${c.dataset.yAxisID === "y2" ? fmt.dec(c.raw, 1) : fmt.count(c.raw)}` } } },
                 scales: { x: MP.xAxis(), y: MP.axis(fmt.count), y2: MP.axis((v) => fmt.dec(v, 1), { position: "right", grid: { display: false } }) } },
    }, pts.length > 0);
  }

  MP.page({
    state: MP.url.get(),
    async load(state) {
      const sel = MP.selection(state, FILTERS);
      const [usage, series] = await Promise.all([MP.api("analytics/usage", sel), MP.api("metrics/timeseries", sel)]);
      MP.asOf(usage);
      kpis(usage);
      heatmap(usage.heatmap);
      rates(usage);
      charts(usage, series);
    },
  });
})();
