// Model Analytics (seeds 001/002): tabs by model type, account-level cards, model performance
// filters and four widgets. Any widget expands into a dialog with its own range and filters,
// which never touch the page's selection or the URL.
(function () {
  "use strict";
  const { fmt, COLORS, el } = MP;
  const FILTERS = ["model_id", "deployment_id", "version_id", "connection_id", "provider"];
  const TITLES = { latency: "Model Latency", requests: "Requests", scaling: "Model Scaling and Usage", tokens: "Tokens" };
  const state = MP.url.get();
  state.tab = ["fine_tuned", "open_source", "external"].includes(state.tab) ? state.tab : "fine_tuned";
  const hosted = () => state.tab !== "external";
  let controller = null;
  let lastBody = null;

  const params = (s) => ({ ...MP.selection(s, FILTERS), tab: s.tab });
  const periodMs = (body) => [new Date(body.period.start).getTime(), new Date(body.period.end).getTime()];

  // ---------- filters: options from the response, cascading model → deployment → version ----------
  function fillFilters(root, s, options) {
    const q = (name) => root.querySelector(`[data-param=${name}]`);
    MP.options(q("model_id"), options.models.map((m) => [String(m.id), m.name]), { all: "All models", value: s.model_id || "" });
    const deployments = options.deployments.filter((d) => !s.model_id || String(d.model_id) === s.model_id);
    MP.options(q("deployment_id"), deployments.map((d) => {
      const when = `deployed ${fmt.dateTimeZ(new Date(d.deployed_at))}`;
      // Names that repeat carry their deployment timestamp (001).
      return [String(d.id), d.label === d.name ? d.name : `${d.name} (${when})`];
    }), { all: "All deployments", value: s.deployment_id || "" });
    const depIds = new Set(deployments.map((d) => String(d.id)));
    const versions = options.versions.filter((v) => (s.deployment_id ? String(v.deployment_id) === s.deployment_id
                                                                       : depIds.has(String(v.deployment_id))));
    MP.options(q("version_id"), versions.map((v) => {
      const dep = options.deployments.find((d) => d.id === v.deployment_id);
      return [String(v.id), s.deployment_id || !dep ? v.version : `${v.version} · ${dep.name}`];
    }), { all: "All versions", value: s.version_id || "" });
    MP.options(q("connection_id"), options.connections.map((c) => [String(c.id), c.provider ? `${c.name} (${c.provider})` : c.name]),
      { all: "All connections", value: s.connection_id || "" });
    MP.options(q("provider"), options.providers.map((p) => [p, p]), { all: "All providers", value: s.provider || "" });
    const ext = s.tab === "external";
    root.querySelectorAll("[data-hosted]").forEach((n) => { n.hidden = ext; });
    root.querySelectorAll("[data-external]").forEach((n) => { n.hidden = !ext; });
  }

  function onFilterChange(s, name) {
    if (name === "model_id") { delete s.deployment_id; delete s.version_id; }
    if (name === "deployment_id") delete s.version_id;
    FILTERS.forEach((f) => { if (!s[f]) delete s[f]; });
  }

  // ---------- widgets (drawn into any slot, so the dialog reuses them) ----------
  function latency(body, slot, figs) {
    const l = body.latency;
    const [t0, t1] = periodMs(body);
    if (l.kind === "requests") {
      const pts = l.points;
      const avg = pts.length ? pts.reduce((a, p) => a + p.latency_ms, 0) / pts.length : null;
      // Beyond 3,000 requests the server keeps each time slice's fastest and slowest: say so.
      MP.figures(figs, [[l.downsampled ? `drawn of ${fmt.count(l.total_requests)} requests (fastest and slowest per time slice)` : "Requests shown",
                         fmt.count(pts.length), "latency_drawn"],
                        pts.length && [l.downsampled ? "Average of those drawn" : "Average of these", fmt.ms(avg)],
                        pts.length && ["Slowest", fmt.ms(Math.max(...pts.map((p) => p.latency_ms))), "latency_max"]]);
      MP.chart(slot, {
        type: "line",
        data: { datasets: [MP.line("Latency", pts.map((p) => ({ x: new Date(p.at).getTime(), y: p.latency_ms, id: p.request_id })),
          COLORS.blue, { borderWidth: 1.2, pointRadius: pts.length > 400 ? 0 : 2, tension: 0 })] },
        options: {
          interaction: { mode: "nearest", intersect: false, axis: "x" },
          plugins: { legend: { display: false }, tooltip: { callbacks: {
            title: (items) => fmt.dateTimeS(new Date(items[0].raw.x)),
            label: (c) => ` Latency ${fmt.ms(c.raw.y)}`, footer: (items) => `Request ${items[0].raw.id}`,
          } } },
          scales: { x: MP.timeAxis(t0, t1), y: MP.axis(fmt.ms, { title: { display: true, text: "Latency (ms)" } }) },
        },
      }, pts.length > 0);
    } else if (l.kind === "hourly_range") {
      // A busy selection: each hour's fastest, average and slowest request, from the rollups.
      const pts = l.points;
      const x = (p) => new Date(p.period).getTime();
      MP.figures(figs, [[`hours drawn of ${fmt.count(l.total_requests)} requests (fastest, average and slowest per hour)`,
                         fmt.count(pts.length), "latency_drawn"],
                        pts.length && ["Slowest", fmt.ms(Math.max(...pts.map((p) => p.max_latency_ms))), "latency_max"]]);
      MP.chart(slot, {
        type: "line",
        data: { datasets: [
          MP.line("Slowest", pts.map((p) => ({ x: x(p), y: p.max_latency_ms, n: p.requests })), COLORS.bad, { borderWidth: 1.2, pointRadius: 0, tension: 0 }),
          MP.line("Average", pts.map((p) => ({ x: x(p), y: p.avg_latency_ms, n: p.requests })), COLORS.blue, { borderWidth: 1.2, pointRadius: 0, tension: 0 }),
          MP.line("Fastest", pts.map((p) => ({ x: x(p), y: p.min_latency_ms, n: p.requests })), COLORS.ok, { borderWidth: 1.2, pointRadius: 0, tension: 0 }),
        ] },
        options: {
          interaction: { mode: "index", intersect: false },
          plugins: { tooltip: { callbacks: {
            title: (items) => `Hour from ${fmt.dateTimeS(new Date(items[0].raw.x))}`,
            label: (c) => ` ${c.dataset.label} ${fmt.ms(c.raw.y)}`, footer: (items) => `${fmt.count(items[0].raw.n)} requests`,
          } } },
          scales: { x: MP.timeAxis(t0, t1), y: MP.axis(fmt.ms, { title: { display: true, text: "Latency (ms)" } }) },
        },
      }, pts.length > 0);
    } else {
      const pts = l.points;
      const n = pts.reduce((a, p) => a + p.requests, 0);
      MP.figures(figs, [["Days with requests", fmt.count(pts.length)], ["Requests", fmt.count(n)]]);
      MP.chart(slot, {
        type: "line",
        data: { labels: MP.periodLabels(pts, "day"),
                datasets: [MP.line("Average latency", pts.map((p) => p.avg_latency_ms), COLORS.blue, { fill: true })] },
        options: { plugins: { legend: { display: false }, tooltip: { callbacks: {
          label: (c) => ` Average latency ${fmt.ms(c.raw)}`, footer: (items) => `${fmt.count(pts[items[0].dataIndex].requests)} requests`,
        } } }, scales: { x: MP.xAxis(), y: MP.axis(fmt.ms, { title: { display: true, text: "Average latency (ms)" } }) } },
      }, pts.length > 0);
    }
  }

  function requests(body, slot, figs) {
    const r = body.requests;
    const pts = r.points;
    const items = [["Total requests", fmt.count(r.total_requests), "total_requests"],
                   ["Successful", fmt.count(r.successful_requests)], ["Failed", fmt.count(r.failed_requests)]];
    if (body.tab !== "external") items.push(["Avg. credits per request", r.avg_credits_per_request === null ? "—" : fmt.dec(Number(r.avg_credits_per_request), 4), "avg_credits"]);
    MP.figures(figs, items);
    MP.chart(slot, {
      type: "line",
      data: { labels: MP.periodLabels(pts, r.granularity), datasets: [
        MP.line("Successful", pts.map((p) => p.successful), COLORS.ok),
        MP.line("Failed", pts.map((p) => p.failed), COLORS.bad),
      ] },
      options: {
        plugins: { tooltip: { callbacks: {
          label: (c) => ` ${c.dataset.label} ${fmt.count(c.raw)}`,
          footer: () => `Period total: ${fmt.count(r.successful_requests)} successful, ${fmt.count(r.failed_requests)} failed`,
        } } },
        scales: { x: MP.xAxis(), y: MP.axis(fmt.count, { title: { display: true, text: "Requests" } }) },
      },
    }, pts.length > 0);
  }

  function scaling(body, slot, figs) {
    const sc = body.scaling;
    const series = sc.deployments.filter((d) => d.points.length);
    const [t0, t1] = periodMs(body);
    const hardware = new Set(series.flatMap((d) => d.points.map((p) => p.hardware)).filter(Boolean));
    const hwLabel = hardware.size > 1 || [...hardware].some((h) => /multiple/i.test(h)) ? "Multiple Hardware" : ([...hardware][0] || "—");
    const peak = Math.max(0, ...series.flatMap((d) => d.points.map((p) => p.replicas)));
    MP.figures(figs, [["Hardware", hwLabel, "hardware"], ["Peak replicas", series.length ? fmt.count(peak) : "—"],
                      ["Deployments", fmt.count(series.length)]]);
    const datasets = [];
    series.forEach((d, i) => {
      const color = MP.PALETTE[i % MP.PALETTE.length];
      // Each count holds from its own event's time until the next event: Chart.js's "before"
      // stepping keeps the previous count up to a point's x and rises or falls there.
      datasets.push(MP.line(d.deployment, d.points.map((p) => ({ x: new Date(p.at).getTime(), y: p.replicas, hw: p.hardware,
                                                                   versions: p.versions || [] })),
        color, { stepped: "before", tension: 0, fill: series.length === 1, pointRadius: 2.5 }));
    });
    if (sc.show_max_replicas) {
      // One red line per distinct limit (001: the maximum replicas set at deployment).
      const limits = [...new Set(series.map((d) => d.max_replicas))];
      limits.forEach((max) => {
        const names = series.filter((d) => d.max_replicas === max).map((d) => d.deployment.replace(/ \(deployed .*\)$/, ""));
        datasets.push(MP.line(limits.length > 1 ? `Max replicas (${names.join(", ")})` : "Max replicas",
          [{ x: t0, y: max }, { x: t1, y: max }],
          COLORS.bad, { borderDash: [6, 4], pointRadius: 0, tension: 0, backgroundColor: "transparent", maxLine: true }));
      });
    }
    MP.chart(slot, {
      type: "line", data: { datasets },
      options: {
        interaction: { mode: "nearest", intersect: false, axis: "x" },
        plugins: { legend: { display: datasets.length > 1 }, tooltip: {
          filter: (item) => !item.dataset.maxLine,
          callbacks: {
            title: (items) => fmt.dateTimeS(new Date(items[0].raw.x)),
            label: (c) => ` ${c.dataset.label}: ${fmt.count(c.raw.y)} ${c.raw.y === 1 ? "replica" : "replicas"}`,
            afterLabel: (c) => [c.raw.versions.length ? ` ${c.raw.versions.length > 1 ? "Versions" : "Version"}: ${c.raw.versions.join(", ")}` : "",
                                c.raw.hw ? ` Hardware: ${c.raw.hw}` : ""].filter(Boolean),
          } } },
        scales: { x: MP.timeAxis(t0, t1), y: MP.axis(fmt.count, { title: { display: true, text: "Replicas" } }) },
      },
    }, series.length > 0, ["No replicas in this range", "The selected models ran no replicas in this period."]);
  }

  function tokens(body, slot, figs) {
    const t = body.tokens;
    const pts = t.points;
    MP.figures(figs, [["Total tokens", fmt.k(t.total_tokens), "total_tokens"], ["Input", fmt.k(t.input_tokens)],
                      ["Output", fmt.k(t.output_tokens)]]);
    MP.chart(slot, {
      type: "bar",
      data: { labels: MP.periodLabels(pts, t.granularity), datasets: [
        MP.bars("Input tokens", pts.map((p) => p.input_tokens / 1000), COLORS.brand, { stack: "t" }),
        MP.bars("Output tokens", pts.map((p) => p.output_tokens / 1000), MP.alpha(COLORS.brand, 0.45), { stack: "t" }),
      ] },
      options: {
        plugins: { tooltip: { callbacks: { label: (c) => ` ${c.dataset.label} ${fmt.count(Math.round(c.raw * 1000))}` } } },
        scales: { x: MP.xAxis({ stacked: true }),
                  y: MP.axis((v) => `${fmt.dec(v, 1)}K`, { stacked: true, title: { display: true, text: "Tokens (K)" } }) },
      },
    }, pts.length > 0);
  }

  const DRAW = { latency, requests, scaling, tokens };

  function cards(c) {
    const set = (key, text) => { document.querySelector(`[data-card=${key}] [data-value]`).textContent = text; };
    set("credits_deployment", fmt.credits(Number(c.credits_deployment)));
    set("credits_fine_tuning", fmt.credits(Number(c.credits_fine_tuning)));
    set("deployed_models", fmt.count(c.deployed_models));
    set("fine_tuned_models", fmt.count(c.fine_tuned_models));
  }

  function tabs() {
    document.querySelectorAll("[data-tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === state.tab)));
    document.querySelector("[data-widget=scaling]").hidden = !hosted();
    document.querySelector("[data-widget=tokens]").hidden = hosted();
  }

  // ---------- expanded widget ----------
  const dialog = document.querySelector("[data-expand-dialog]");
  const exBar = dialog.querySelector("[data-expand-bar]");
  const ex = {};
  let exKey = null;
  const exControls = MP.bind(exBar, ex, async (s, name) => { onFilterChange(s, name); await expandLoad(); });

  let exSeq = 0;
  async function expandLoad() {
    const seq = ++exSeq;
    const body = await MP.api("analytics/models", params(ex));
    if (seq !== exSeq) {  // a newer selection is on its way: an older answer must not overwrite it
      dialog.dataset.loaded = String(Number(dialog.dataset.loaded || 0) + 1);
      return;
    }
    fillFilters(exBar, ex, body.options);
    exControls.sync();
    DRAW[exKey](body, dialog.querySelector("[data-chart=expanded]"), dialog.querySelector("[data-expand-figures]"));
    dialog.dataset.loaded = String(Number(dialog.dataset.loaded || 0) + 1);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-expand]");
    if (!button) return;
    exKey = button.dataset.expand;
    Object.keys(ex).forEach((k) => delete ex[k]);
    ["preset", "start", "end", "tab", ...FILTERS].forEach((k) => { if (state[k]) ex[k] = state[k]; });
    dialog.querySelector("[data-expand-title]").textContent = `${TITLES[exKey]} · ${document.querySelector(`[data-tab=${state.tab}]`).textContent}`;
    if (lastBody) fillFilters(exBar, ex, lastBody.options);
    exControls.sync();
    dialog.showModal();
    expandLoad().catch((err) => MP.showError(document, err.message));
  });
  // A drag over the expanded chart zooms the dialog's own range, not the page's.
  MP.zoomScope(dialog, (range) => {
    Object.assign(ex, { preset: "custom", start: range.start, end: range.end });
    exControls.sync();
    expandLoad().catch((err) => MP.showError(document, err.message));
  });
  dialog.querySelector("[data-close-expand]").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    const canvas = dialog.querySelector("canvas");
    if (canvas && window.Chart.getChart(canvas)) window.Chart.getChart(canvas).destroy();
  });

  // ---------- the page ----------
  const filterBar = document.querySelector("[data-model-filters]");
  const pageControls = MP.bind(filterBar, state, (s, name) => { onFilterChange(s, name); MP.url.set(s); controller.run(); });

  document.querySelectorAll("[data-tab]").forEach((b) => b.addEventListener("click", () => {
    if (b.dataset.tab === state.tab) return;
    state.tab = b.dataset.tab;
    FILTERS.forEach((f) => delete state[f]);
    MP.url.set(state);
    tabs();
    controller.run();
  }));
  tabs();

  controller = MP.page({
    state,
    async load(s) {
      const body = await MP.api("analytics/models", params(s));
      lastBody = body;
      MP.asOf(body);
      cards(body.cards);
      fillFilters(filterBar, s, body.options);
      pageControls.sync();
      tabs();
      MP.setText("[data-scope-note]", body.requests.granularity === "hour" ? "Hourly points" : "Daily points");
      ["latency", "requests"].forEach((k) => DRAW[k](body, `${k}`, k));
      if (hosted()) scaling(body, "scaling", "scaling"); else tokens(body, "tokens", "tokens");
    },
  });
})();
