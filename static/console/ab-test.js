// A/B test results on the Quality dashboard (D11): two or three prompts, prompt versions or
// versions of a deployment over the dashboard's range — each metric per variant, every pair's
// difference with its 95 % interval and p-value, and a winner only when it is significant.
(function () {
  "use strict";
  const { el, fmt } = MP;
  const root = document.querySelector("[data-ab-test]");
  if (!root) return;
  const OPT = MP.CTX.ab_options || {};
  const by = root.querySelector("[data-ab-by]");
  const promptSel = root.querySelector("[data-ab-prompt]");
  const depSel = root.querySelector("[data-ab-deployment]");
  const variants = [...root.querySelectorAll("[data-ab-variant]")];
  const out = root.querySelector("[data-ab-result]");
  const UNIT = { percent: (v) => fmt.pct(v), ms: (v) => fmt.ms(v), usd: (v) => fmt.usd(v) };
  const DIFF = { percent: (v) => `${v > 0 ? "+" : ""}${fmt.dec(v, 2)} pts`, ms: (v) => `${v > 0 ? "+" : ""}${fmt.dec(v, 0)} ms`,
                 usd: (v) => `${v > 0 ? "+" : v < 0 ? "−" : ""}${fmt.usd(Math.abs(v))}` };
  let last = null;

  function choices() {
    if (by.value === "prompt") return OPT.prompt || [];
    if (by.value === "prompt_version") return OPT.prompt_version || [];
    return (OPT.versions || {})[depSel.value] || [];
  }

  function fill() {
    root.querySelectorAll("[data-ab-scope]").forEach((n) => { n.hidden = n.dataset.abScope !== by.value; });
    const items = choices().map((v) => [v, v]);
    variants.forEach((s, i) => MP.options(s, items, { all: i === 2 ? "—" : undefined, value: i === 2 ? "" : (items[i] || [""])[0] }));
  }

  function value(unit, v) { return v === null || v === undefined ? "—" : UNIT[unit](v); }

  function render(body) {
    const names = body.variants.map((v) => v.variant);
    const field = { success_rate: "success_rate", latency_ms: "p50_latency_ms", cost_per_request_usd: "cost_per_request_usd" };
    const head = el("tr", {}, el("th", { text: "Metric" }), names.map((n, i) => el("th", { class: "num", text: `${"ABC"[i]} · ${n}` })),
      body.comparisons.map((c) => el("th", { text: `${c.b} vs ${c.a}` })), el("th", { text: "Winner" }));
    const rows = body.metrics.map((m) => el("tr", { "data-ab-metric": m.name },
      el("td", {}, el("strong", { text: m.label }), el("span", { class: "sub-line", text: `${m.test}${m.name === "latency_ms" ? " · p50 shown" : ""}` })),
      body.variants.map((v) => el("td", { class: "num", text: value(m.unit, v[field[m.name]]) })),
      body.comparisons.map((c) => {
        const r = c.metrics[m.name];
        if (!r) return el("td", { class: "muted", text: "no requests" });
        const ci = r.ci_low === null ? "no interval" : `[${DIFF[m.unit](r.ci_low)}, ${DIFF[m.unit](r.ci_high)}]`;
        const diffLabel = m.name === "latency_ms" ? "mean " : "";
        return el("td", { "data-ab-pair": `${c.a}|${c.b}` },
          el("div", { text: r.difference === null ? "—" : `${diffLabel}${DIFF[m.unit](r.difference)}` }),
          el("span", { class: "sub-line", text: `95 % ${ci}` }),
          el("span", { class: `badge ${r.significant ? "ok" : "neutral"}`, "data-significant": String(r.significant),
                       text: r.p_value === null ? "not testable" : `p ${r.p_value < 0.0001 ? "< 0.0001" : fmt.dec(r.p_value, 4)}${r.significant ? ` · ${r.better} better` : ""}` }));
      }),
      el("td", { "data-ab-winner": m.name }, body.winners[m.name] ? el("span", { class: "badge ok", text: body.winners[m.name] })
        : el("span", { class: "muted", text: "no significant winner" }))));
    const counts = body.variants.map((v, i) => `${"ABC"[i]}: ${fmt.count(v.requests)} requests`).join(" · ");
    out.replaceChildren(el("div", { class: "table-wrap" }, el("table", { class: "data compact", "data-testid": "ab-table" },
      el("thead", {}, head), el("tbody", {}, rows))),
      el("p", { class: "card-body muted ab-note", text: `${counts}. Pairs tested at α = ${fmt.dec(body.alpha, 2)}${body.comparisons.length > 1 ? `, Bonferroni-corrected to ${fmt.dec(body.comparisons[0].alpha, 4)} for ${body.comparisons.length} pairs` : ""}. Success rate and p50 from the rollups; the latency rank test and the cost and latency variances from the range's raw requests. Each difference is the second of its pair minus the first.` }));
  }

  async function run() {
    const picked = variants.map((s) => s.value).filter(Boolean);
    const params = { ...MP.selection(MP.url.get()), by: by.value, variants: picked.join(",") };
    if (by.value === "prompt_version" && promptSel.value) params.prompt = promptSel.value;
    if (by.value === "version") params.deployment = depSel.value;
    last = params;
    out.replaceChildren(el("div", { class: "card-body loading", text: "Comparing…" }));
    try {
      render(await MP.api("analytics/ab-test", params));
      root.dataset.loaded = String(Number(root.dataset.loaded || 0) + 1);
    } catch (err) {
      const fields = Object.entries(err.errors || {}).map(([k, v]) => `${k}: ${[].concat(v).join(", ")}`).join("; ");
      out.replaceChildren(el("div", { class: "card-body" }, el("div", { class: "notice bad", text: `${err.message}${fields ? ` (${fields})` : ""}` })));
    }
  }

  MP.options(promptSel, (OPT.prompt || []).map((p) => [p, p]), { all: "Any prompt" });
  MP.options(depSel, Object.keys(OPT.versions || {}).map((d) => [d, d]));
  fill();
  by.addEventListener("change", fill);
  depSel.addEventListener("change", fill);
  root.querySelector("[data-ab-run]").addEventListener("click", run);
  // A new range on the dashboard compares again.
  new MutationObserver(() => { if (last) run(); }).observe(document.body, { attributes: true, attributeFilter: ["data-loaded"] });
})();
