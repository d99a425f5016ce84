// Budget tracking on the Cost dashboard (D10): this month's spend of each budget against its
// amount — spent, remaining, burn rate, projected month-end — and a chart of the month to date
// with the budget line, the 80–100 % band and the projection to the month's end.
(function () {
  "use strict";
  const { el, fmt } = MP;
  const root = document.querySelector("[data-budget-tracking]");
  if (!root) return;
  const picker = root.querySelector("[data-budget-pick]");
  const figuresBox = root.querySelector("[data-budget-figures]");
  const STATE = { ok: ["ok", "On track"], projected_overrun: ["warn", "Projected overrun"], warning: ["warn", "80 % spent"],
                  exceeded: ["bad", "Exceeded"] };
  let budgets = [];

  function monthDays(month) {
    const [y, m] = month.split("-").map(Number);
    const n = new Date(Date.UTC(y, m, 0)).getUTCDate();
    return Array.from({ length: n }, (_, i) => `${month}-${String(i + 1).padStart(2, "0")}`);
  }

  function figure(label, value, testid, sub) {
    return el("div", { class: "budget-figure" }, el("span", { class: "label", text: label }),
      el("b", { "data-figure": testid, text: value }), sub ? el("span", { class: "sub", text: sub }) : null);
  }

  function draw(status) {
    const [tone, stateText] = STATE[status.state] || ["neutral", status.state];
    figuresBox.replaceChildren(
      figure("Spent", fmt.usd(status.spent_usd), "spent", `${fmt.dec(status.percent_used, 1)} % of ${fmt.usd(status.amount_usd)}`),
      figure("Remaining", fmt.usd(status.remaining_usd), "remaining", status.remaining_usd < 0 ? "over budget" : `${fmt.dec(status.days_in_month - status.days_elapsed, 1)} days left`),
      figure("Burn rate", status.burn_rate_usd_per_day === null ? "—" : `${fmt.usd(status.burn_rate_usd_per_day)}/day`, "burn"),
      figure("Projected month-end", fmt.usd(status.projected_usd), "projected",
        status.projected_usd === null ? "from the month's second day" : `${fmt.dec(status.projected_percent, 0)} % of the budget`),
      el("div", { class: "budget-figure" }, el("span", { class: "label", text: "State" }),
        el("span", { class: `badge dot ${tone}`, "data-figure": "state", text: stateText }),
        el("span", { class: "sub", text: `${status.target} · ${status.month} (${status.timezone})` })));

    const days = monthDays(status.month);
    const byDay = Object.fromEntries(status.days.map((d) => [d.day, d]));
    const cumulative = days.map((d) => (byDay[d] ? byDay[d].cumulative_usd : null));
    const lastIdx = status.days.length - 1;
    const projection = days.map(() => null);
    if (status.projected_usd !== null && lastIdx >= 0 && lastIdx < days.length - 1) {
      projection[lastIdx] = status.days[lastIdx].cumulative_usd;
      projection[days.length - 1] = status.projected_usd;
    }
    const amount = days.map(() => status.amount_usd);
    const warning = days.map(() => status.amount_usd * 0.8);
    const c = MP.COLORS;
    MP.chart(root.querySelector("[data-chart]"), {
      type: "line",
      data: {
        labels: days.map((d) => fmt.day(MP.dateOf(d))),
        datasets: [
          MP.line("Spent, month to date", cumulative, c.brand, { fill: false, order: 1 }),
          MP.line("Projected", projection, c.violet, { borderDash: [6, 4], spanGaps: true, pointRadius: 3, fill: false, order: 2 }),
          MP.line("80 % of the budget", warning, c.warn, { pointRadius: 0, borderWidth: 1, borderDash: [2, 3], fill: false, order: 3 }),
          MP.line("Budget", amount, c.bad, { pointRadius: 0, borderWidth: 1.5, borderDash: [8, 4], order: 4,
                                             fill: { target: 2, above: MP.alpha(c.warn, 0.12), below: MP.alpha(c.warn, 0.12) } }),
        ],
      },
      options: { plugins: { legend: { display: true }, tooltip: { callbacks: { label: (x) => ` ${x.dataset.label}: ${fmt.usd(x.raw)}` } } },
                 scales: { x: MP.xAxis(), y: MP.axis((v) => fmt.usd(v), { suggestedMax: Math.max(status.amount_usd, status.projected_usd || 0) * 1.05 }) } },
    }, true);
  }

  function current() {
    return budgets.find((b) => String(b.budget) === picker.value) || budgets[0];
  }

  async function load() {
    try {
      const body = await MP.api("budgets/status", { limit: 200 });
      budgets = body.results;
    } catch (err) {
      figuresBox.replaceChildren(el("div", { class: "notice bad", text: `Budgets could not load: ${err.message}` }));
      return;
    }
    if (!budgets.length) {
      root.querySelector("[data-budget-body]").hidden = true;
      root.querySelector("[data-budget-empty]").hidden = false;
      return;
    }
    MP.options(picker, budgets.map((b) => [String(b.budget), `${b.name} · ${fmt.usd(b.amount_usd)}/month`]));
    picker.hidden = budgets.length < 2;
    draw(current());
  }

  picker.addEventListener("change", () => draw(current()));
  load();
})();
