// Shared by the dashboard pages: the selection kept in the URL, API calls, the range picker,
// Refresh / Live / "as of", number formats in the account's timezone, and Chart.js helpers
// that draw an empty state instead of an empty chart. Exposed as window.MP.
(function () {
  "use strict";

  const CTX = JSON.parse((document.getElementById("mp-context") || {}).textContent || "{}");
  const TZ = CTX.tz || "UTC";
  const DEFAULT_PRESET = CTX.default_preset || "last_7d";
  const LIVE_MS = 30000;

  // ---------- API ----------
  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || `The server answered ${status}.`);
      this.status = status;
      this.errors = (body && body.errors) || {};
    }
  }

  function query(params) {
    const q = new URLSearchParams();
    Object.entries(params || {}).forEach(([k, v]) => {
      if (v !== undefined && v !== null && v !== "") q.set(k, v);
    });
    const s = q.toString();
    return s ? `?${s}` : "";
  }

  async function request(method, path, params, body) {
    const headers = { "X-Account": CTX.account, Accept: "application/json" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["X-CSRFToken"] = CTX.csrf;
    }
    const res = await fetch(`/api/v1/${path}${query(params)}`, {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 204) return null;
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  const api = (path, params) => request("GET", path, params);
  const send = (method, path, body) => request(method, path, undefined, body === undefined ? {} : body);

  // ---------- state in the URL ----------
  // The page's selection is the query string: a link reproduces the view.
  const url = {
    get() {
      return Object.fromEntries(new URLSearchParams(window.location.search).entries());
    },
    set(state) {
      const q = query(state);
      window.history.replaceState(null, "", window.location.pathname + q);
    },
  };

  // The metrics endpoints' selection from a state: a preset, or start and end (local dates).
  function selection(state, filterNames) {
    const out = {};
    if (state.preset === "custom" || (!state.preset && state.start && state.end)) {
      out.start = state.start;
      out.end = state.end;
    } else {
      out.preset = state.preset || DEFAULT_PRESET;
    }
    (filterNames || []).forEach((name) => { if (state[name]) out[name] = state[name]; });
    return out;
  }

  // Show state in root's [data-param] controls (and the custom range's dates when chosen).
  function sync(root, state) {
    if (!state.preset) state.preset = (state.start && state.end) ? "custom" : DEFAULT_PRESET;
    root.querySelectorAll("[data-param]").forEach((el) => {
      const name = el.dataset.param;
      if (el.type === "checkbox") el.checked = state[name] === "1";
      else if (el.tagName === "SELECT") {
        const value = state[name] || "";
        if ([...el.options].some((o) => o.value === value)) el.value = value;
      } else if (el.type === "date" && /T/.test(state[name] || "")) {
        // A zoomed range is instants (RFC 3339): the date inputs show their local days.
        el.value = localDate(new Date(state[name]));
      } else el.value = state[name] || "";
    });
    const custom = root.querySelector("[data-custom]");
    if (custom) custom.hidden = state.preset !== "custom";
    // A range zoomed to instants (a drag over an hourly chart) says which hours it holds.
    const zoomed = root.querySelector("[data-zoomed]");
    if (zoomed) {
      const instants = state.preset === "custom" && /T/.test(state.start || "") && /T/.test(state.end || "");
      zoomed.hidden = !instants;
      zoomed.textContent = instants ? `${fmt.dateTime(new Date(state.start))} – ${fmt.dateTime(new Date(state.end))} (${TZ})` : "";
    }
  }

  // Bind [data-param] controls in root to state; onChange(state, name) after each change.
  // The range picker's custom dates apply together with their Apply button.
  function bind(root, state, onChange) {
    sync(root, state);
    const custom = root.querySelector("[data-custom]");
    root.addEventListener("change", (event) => {
      const el = event.target.closest("[data-param]");
      if (!el || !root.contains(el)) return;
      const name = el.dataset.param;
      if (name === "start" || name === "end") return; // applied with the button
      state[name] = el.type === "checkbox" ? (el.checked ? "1" : "") : el.value;
      if (name === "preset") {
        if (custom) custom.hidden = state.preset !== "custom";
        if (state.preset === "custom") {
          const start = root.querySelector("[data-param=start]");
          const end = root.querySelector("[data-param=end]");
          if (start && !start.value) start.value = localDate(new Date(Date.now() - 6 * 864e5));
          if (end && !end.value) end.value = localDate(new Date());
          return; // wait for Apply
        }
        delete state.start; delete state.end;
      }
      onChange(state, name);
    });
    const apply = root.querySelector("[data-apply-range]");
    if (apply) {
      apply.addEventListener("click", () => {
        const start = root.querySelector("[data-param=start]").value;
        const end = root.querySelector("[data-param=end]").value;
        if (!start || !end) { showError(root, "Choose both dates of the custom range."); return; }
        if (end < start) { showError(root, "The range ends before it starts."); return; }
        Object.assign(state, { preset: "custom", start, end });
        onChange(state, "range");
      });
    }
    return { sync: () => sync(root, state) };
  }

  // ---------- the page: Refresh, Live, as of, errors ----------
  function page({ load, state, live }) {
    const bar = document.querySelector("[data-testid=dash-bar]");
    const refresh = document.querySelector("[data-refresh]");
    const liveBox = document.querySelector("[data-live]");
    let timer = null;
    let running = null;
    let again = false;

    async function run() {
      // A change while a load is in flight loads again afterwards, so the last selection wins.
      if (running) { again = true; return running; }
      if (refresh) refresh.classList.add("refreshing");
      hideError();
      running = (async () => {
        try {
          await load(state);
          document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
        } catch (err) {
          showError(document, err.message || String(err));
          document.querySelectorAll(".loading").forEach((n) => { n.textContent = "Not loaded: see the message above."; });
          document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
        } finally {
          if (refresh) refresh.classList.remove("refreshing");
          running = null;
          if (again) { again = false; run(); }
        }
      })();
      return running;
    }

    function setLive(on) {
      if (timer) { clearInterval(timer); timer = null; }
      if (liveBox) {
        liveBox.checked = on;
        liveBox.closest("[data-live-label]").classList.toggle("on", on);
      }
      if (on) timer = setInterval(run, LIVE_MS);
    }

    if (bar) {
      const controls = bind(bar, state, (s, name) => { url.set(s); if (name !== "live") run(); });
      // A drag over a time chart makes the dragged span the page's range.
      onZoom = (range) => {
        Object.assign(state, { preset: "custom", start: range.start, end: range.end });
        url.set(state);
        controls.sync();
        run();
      };
    }
    if (refresh) refresh.addEventListener("click", run);
    if (liveBox && live) {
      liveBox.addEventListener("change", () => {
        if (liveBox.checked) state.live = "1"; else delete state.live;
        url.set(state);
        setLive(liveBox.checked);
        if (liveBox.checked) run();
      });
      setLive(state.live === "1");
    }
    run();
    return { run, setLive };
  }

  function showError(root, message) {
    const box = (root.querySelector && root.querySelector("[data-error]")) || document.querySelector("[data-error]");
    if (!box) { console.warn(message); return; }
    box.querySelector("[data-error-text]").textContent = message;
    box.hidden = false;
  }

  function hideError() {
    document.querySelectorAll("[data-error]").forEach((b) => { b.hidden = true; });
  }

  function asOf(body, root) {
    const el = (root || document).querySelector("[data-as-of]");
    if (!el || !body || !body.as_of) return;
    const at = new Date(body.as_of);
    el.querySelector("[data-as-of-text]").textContent = `As of ${fmt.time(at)} (${TZ})`;
    el.dataset.asOf = body.as_of;
    // The exact period shown, so a reader (or a test) can ask the API for the same numbers.
    if (body.period) { el.dataset.start = body.period.start; el.dataset.end = body.period.end; }
    el.classList.toggle("fresh", Date.now() - at.getTime() < 5 * 60 * 1000);
    el.title = `Rollups brought up to date at ${fmt.dateTime(at)} (${TZ}); fetched ${fmt.dateTime(new Date())}`;
  }

  // ---------- formats (account timezone) ----------
  const dtf = (opts) => new Intl.DateTimeFormat("en-GB", { timeZone: TZ, ...opts });
  const F = {
    time: dtf({ hour: "2-digit", minute: "2-digit" }),
    dateTime: dtf({ day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }),
    dateTimeS: dtf({ day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
                     timeZoneName: "short" }),
    dateTimeZ: dtf({ day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" }),
    day: dtf({ day: "numeric", month: "short" }),
    dayYear: dtf({ day: "numeric", month: "short", year: "numeric" }),
    ymd: new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" }),
  };
  const nf = (opts) => new Intl.NumberFormat("en-US", opts);
  const N0 = nf({ maximumFractionDigits: 0 });
  const N1 = nf({ maximumFractionDigits: 1 });
  const N2 = nf({ maximumFractionDigits: 2 });

  function localDate(d) { return F.ymd.format(d); }

  const isNum = (v) => typeof v === "number" && isFinite(v);
  const fmt = {
    time: (d) => F.time.format(d),
    dateTime: (d) => F.dateTime.format(d),
    dateTimeS: (d) => F.dateTimeS.format(d),
    // With the zone written out, for times read on their own (legends, option labels).
    dateTimeZ: (d) => F.dateTimeZ.format(d),
    day: (d) => F.day.format(d),
    count: (v) => (isNum(v) ? N0.format(v) : "—"),
    dec: (v, digits = 2) => (isNum(v) ? nf({ maximumFractionDigits: digits }).format(v) : "—"),
    pct: (v) => (isNum(v) ? `${N2.format(v)}%` : "—"),
    ms: (v) => {
      if (!isNum(v)) return "—";
      return v >= 10000 ? `${N2.format(v / 1000)} s` : `${N0.format(v)} ms`;
    },
    usd: (v) => {
      if (!isNum(v)) return "—";
      const abs = Math.abs(v);
      const digits = abs >= 100 ? 0 : abs >= 1 ? 2 : abs >= 0.01 ? 4 : 6;
      return `$${nf({ minimumFractionDigits: abs >= 100 ? 0 : 2, maximumFractionDigits: digits }).format(v)}`;
    },
    tokens: (v) => {
      if (!isNum(v)) return "—";
      if (Math.abs(v) >= 1e6) return `${N2.format(v / 1e6)}M`;
      if (Math.abs(v) >= 1e3) return `${N1.format(v / 1e3)}K`;
      return N0.format(v);
    },
    k: (v) => (isNum(v) ? `${N1.format(v / 1000)}K` : "—"),
    credits: (v) => {
      const n = typeof v === "string" ? Number(v) : v;
      return isNum(n) ? nf({ maximumFractionDigits: n >= 100 ? 0 : 2 }).format(n) : "—";
    },
    rating: (v) => (isNum(v) ? `${N2.format(v)} / 5` : "—"),
    // A metric of the catalogue by unit (count, pct, ms, usd, credits, tokens, rating).
    unit: (v, unit) => (fmt[unit === "count" ? "count" : unit] || fmt.dec)(v),
    // A series' period: an ISO instant (hours) or a local date (days).
    period: (p, granularity, withDate) => {
      if (granularity === "hour" || (typeof p === "string" && p.length > 10)) {
        const d = new Date(p);
        return withDate ? F.dateTime.format(d) : F.time.format(d);
      }
      if (granularity === "week") return `Week of ${F.day.format(dateOf(p))}`;
      return F.day.format(dateOf(p));
    },
  };

  const INTEGER_FORMATS = new Set([fmt.count, fmt.tokens]);

  // A local date "2026-11-20" as a Date at noon UTC: formats as that day in any timezone.
  function dateOf(ymd) { return new Date(`${ymd}T12:00:00Z`); }

  // Hourly labels show the date too when the hours span more than one local day.
  function periodLabels(points, granularity, key = "period") {
    const days = new Set(points.map((p) => (granularity === "hour" ? localDate(new Date(p[key])) : p[key])));
    const labels = points.map((p) => fmt.period(p[key], granularity, granularity === "hour" && days.size > 1));
    // The periods themselves ride along, so a drag over the chart can name its range (zoom).
    labels.periods = points.map((p) => p[key]);
    labels.granularity = granularity;
    return labels;
  }

  // ---------- change against the previous period ----------
  function change(el, pct, goodWhenUp) {
    if (!el) return;
    if (pct === null || pct === undefined || !isFinite(pct)) {
      el.className = "change";
      el.textContent = "no previous data";
      return;
    }
    const up = pct > 0;
    const flat = Math.abs(pct) < 0.05; // shows as 0.0 %
    const good = flat ? null : (up === goodWhenUp);
    el.className = `change${good === null ? "" : good ? " good" : " bad"}`;
    el.textContent = `${flat ? "±" : up ? "▲" : "▼"} ${Math.abs(pct) > 999 ? ">999" : N1.format(Math.abs(pct))}%`;
    el.title = "Change against the previous period of the same length";
  }

  function band(rate, requests) {
    if (!requests || rate === null || rate === undefined) return null;
    if (rate > 95) return "healthy";
    return rate >= 90 ? "warning" : "critical";
  }

  // ---------- charts ----------
  const COLORS = {
    brand: "#4f46e5", blue: "#2e90fa", ok: "#12b76a", bad: "#f04438", warn: "#f79009", violet: "#7a5af8",
    teal: "#15b79e", pink: "#ee46bc", gray: "#98a2b3", orange: "#ef6820", cyan: "#06aed4", indigo: "#444ce7",
  };
  const PALETTE = ["#4f46e5", "#2e90fa", "#15b79e", "#f79009", "#ee46bc", "#7a5af8", "#ef6820", "#06aed4",
                   "#84cc16", "#98a2b3"];

  function alpha(hex, a) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
  }

  if (window.Chart) {
    const d = window.Chart.defaults;
    d.font.family = getComputedStyle(document.body).fontFamily;
    d.font.size = 11.5;
    d.color = "#667085";
    d.borderColor = "#eaecf0";
    d.animation = false;
    d.maintainAspectRatio = false;
    d.responsive = true;
    d.plugins.legend.labels.boxWidth = 10;
    d.plugins.legend.labels.boxHeight = 10;
    d.plugins.legend.labels.usePointStyle = false;
    d.plugins.tooltip.backgroundColor = "#101828";
    d.plugins.tooltip.padding = 9;
    d.plugins.tooltip.cornerRadius = 7;
    d.elements.line.borderWidth = 2;
    d.elements.line.tension = 0.25;
    d.elements.line.cubicInterpolationMode = "monotone"; // no overshoot below zero or past the data
    d.elements.point.radius = 2;
    d.elements.point.hoverRadius = 5;
    d.elements.bar.borderRadius = 3;
  }

  function slotOf(target) {
    return typeof target === "string" ? document.querySelector(`[data-chart="${target}"]`) : target;
  }

  function destroy(slot) {
    const canvas = slot.querySelector("canvas");
    if (canvas && window.Chart) {
      const existing = window.Chart.getChart(canvas);
      if (existing) existing.destroy();
    }
  }

  function empty(target, heading, text) {
    const slot = slotOf(target);
    if (!slot) return;
    destroy(slot);
    slot.dataset.state = "empty";
    slot.innerHTML = `<div class="empty" data-testid="empty"><div class="empty-icon"><svg class="icon lg" aria-hidden="true"><use href="${CTX.icons}#inbox"></use></svg></div>`
      + `<strong></strong><p></p></div>`;
    slot.querySelector("strong").textContent = heading || "No requests in this range";
    slot.querySelector("p").textContent = text || "Nothing was recorded for this selection. Widen the range or clear a filter.";
  }

  // ---------- zoom: drag over a time chart to make that span the page's range ----------
  // chartjs-plugin-zoom (vendored) draws the drag box; when the drag ends the chart is not
  // left zoomed: the span becomes the page's range (custom start/end, in the URL) and every
  // widget reloads for it. Time charts are those whose labels come from periodLabels (one
  // category per local hour, day or week) or whose x axis is a timeAxis (epoch ms).
  let onZoom = null;
  const zoomScopes = [];  // [element, handler]: charts inside element zoom through handler
  function zoomScope(element, handler) { zoomScopes.push([element, handler]); }
  if (window.Chart && window.ChartZoom) window.Chart.register(window.ChartZoom);
  const HOUR = 3600e3;
  function addDays(ymd, n) { return new Date(Date.parse(`${ymd}T00:00:00Z`) + n * 864e5).toISOString().slice(0, 10); }
  function zoomRange(chart, kind) {
    const x = chart.scales.x;
    if (kind.time) {
      const lo = Math.floor(x.min / 60e3) * 60e3;
      const hi = Math.ceil(x.max / 60e3) * 60e3;
      if (!(hi > lo)) return null;
      return { start: new Date(lo).toISOString(), end: new Date(hi).toISOString() };
    }
    const periods = kind.periods;
    const i0 = Math.max(0, Math.min(periods.length - 1, Math.round(x.min)));
    const i1 = Math.max(i0, Math.min(periods.length - 1, Math.round(x.max)));
    const first = periods[i0];
    const last = periods[i1];
    if (kind.granularity === "hour") {
      return { start: new Date(first).toISOString(), end: new Date(Date.parse(last) + HOUR).toISOString() };
    }
    // Local dates: the end date includes its day, as the range picker's.
    return { start: first, end: kind.granularity === "week" ? addDays(last, 6) : last };
  }
  function zoomKind(config) {
    const labels = config.data && config.data.labels;
    if (labels && labels.periods && labels.periods.length > 1 && ["hour", "day", "week"].includes(labels.granularity)) {
      return { periods: labels.periods, granularity: labels.granularity };
    }
    const x = config.options && config.options.scales && config.options.scales.x;
    if (x && x.mpTime) return { time: true };
    return null;
  }
  function enableZoom(slot, config) {
    const kind = config.zoom === false ? null : zoomKind(config);
    const scoped = zoomScopes.find(([element]) => element.contains(slot));
    const handler = config.onRange || (scoped && scoped[1]) || onZoom;
    delete config.zoom; delete config.onRange;
    if (!kind || !handler || !window.ChartZoom) return;
    slot.dataset.zoom = kind.time ? "time" : kind.granularity;
    const plugins = config.options.plugins || (config.options.plugins = {});
    plugins.zoom = {
      zoom: {
        mode: "x",
        wheel: { enabled: false }, pinch: { enabled: false },
        drag: { enabled: true, threshold: 8, backgroundColor: "rgba(97, 114, 243, 0.14)", borderColor: "#6172f3",
                borderWidth: 1 },
        onZoomComplete: ({ chart: c }) => {
          // resetZoom reports a zoom too: ignore the one it causes.
          if (c.$mpResetting) return;
          const range = zoomRange(c, kind);
          c.$mpResetting = true;
          try { c.resetZoom("none"); } finally { c.$mpResetting = false; }
          if (range) handler(range);
        },
      },
    };
  }

  // Draw a chart into a [data-chart] slot; an empty state when `hasData` is false.
  // Time charts zoom (above) unless config.zoom is false; config.onRange(range) replaces the
  // page's handler (an expanded chart with its own range).
  function chart(target, config, hasData = true, emptyText) {
    const slot = slotOf(target);
    if (!slot) return null;
    if (!hasData) { empty(slot, emptyText && emptyText[0], emptyText && emptyText[1]); return null; }
    destroy(slot);
    slot.dataset.state = "chart";
    slot.innerHTML = "";
    const canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", slot.dataset.label || slot.dataset.chart || "chart");
    slot.appendChild(canvas);
    const options = config.options || (config.options = {});
    options.interaction = options.interaction || { mode: "index", intersect: false };
    enableZoom(slot, config);
    return new window.Chart(canvas, config);
  }

  // A value axis. Counts tick on whole numbers only: a small count (0–2) would otherwise get
  // ticks 0, 0.5, 1 … that the count format rounds into "0 1 1 2 2".
  function axis(formatter, extra) {
    const { ticks, ...rest } = extra || {};
    const integer = INTEGER_FORMATS.has(formatter) || (rest.integer === true);
    delete rest.integer;
    return { beginAtZero: true, grid: { color: "#f2f4f7" }, border: { display: false },
             ticks: { callback: (v) => formatter(v), maxTicksLimit: 6, ...(integer ? { precision: 0 } : {}), ...(ticks || {}) },
             ...rest };
  }
  // The account timezone's offset from UTC at an instant, in ms.
  const PARTS = new Intl.DateTimeFormat("en-US", { timeZone: TZ, hourCycle: "h23", year: "numeric", month: "2-digit",
                                                   day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  function tzOffset(ms) {
    const p = Object.fromEntries(PARTS.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
    const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
    return wall - Math.floor(ms / 1000) * 1000;
  }
  const STEPS = [15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 20160, 43200].map((m) => m * 60e3);

  // A linear x axis of epoch milliseconds with ticks on whole local hours or days.
  function timeAxis(startMs, endMs, extra) {
    const span = Math.max(1, endMs - startMs);
    const step = STEPS.find((s) => span / s <= 8) || STEPS[STEPS.length - 1];
    const label = (v) => (step < 864e5 ? F.time.format(new Date(v)) : F.day.format(new Date(v)));
    return {
      type: "linear", min: startMs, max: endMs, grid: { display: false }, mpTime: true,
      ticks: { callback: label, maxRotation: 0, autoSkip: false },
      afterBuildTicks: (scale) => {
        const off = tzOffset(startMs);
        const ticks = [];
        for (let t = Math.ceil((startMs + off) / step) * step - off; t <= endMs; t += step) ticks.push({ value: t });
        scale.ticks = ticks;
      },
      ...(extra || {}),
    };
  }
  const xAxis = (extra) => ({ grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 14 }, ...(extra || {}) });

  function line(label, data, color, extra) {
    return { type: "line", label, data, borderColor: color, backgroundColor: alpha(color, 0.12), pointBackgroundColor: color,
             spanGaps: false, ...(extra || {}) };
  }
  function bars(label, data, color, extra) {
    return { type: "bar", label, data, backgroundColor: color, borderColor: color, maxBarThickness: 38, ...(extra || {}) };
  }

  // ---------- small DOM helpers ----------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (v === null || v === undefined || v === false) return;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k === "html") node.innerHTML = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? "" : v);
    });
    children.flat().forEach((c) => { if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c)); });
    return node;
  }

  // An icon of the page's sprite (templates/console/dashboards/_sprite.html).
  function icon(name) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
    use.setAttribute("href", `#d-${name}`);
    svg.append(use);
    return svg;
  }

  function figures(target, items) {
    const box = typeof target === "string" ? document.querySelector(`[data-widget="${target}"] [data-figures]`) : target;
    if (!box) return;
    box.replaceChildren(...items.filter(Boolean).map(([label, value, testid]) =>
      el("span", { dataset: testid ? { figure: testid } : {} }, el("b", { text: value }), label)));
  }

  function setText(selector, text, root) {
    const node = (root || document).querySelector(selector);
    if (node) node.textContent = text;
    return node;
  }

  function options(select, items, { all, value } = {}) {
    const current = value !== undefined ? value : select.value;
    select.replaceChildren();
    if (all) select.append(el("option", { value: "", text: all }));
    items.forEach(([v, label]) => select.append(el("option", { value: v, text: label })));
    select.value = [...select.options].some((o) => o.value === String(current)) ? current : (all ? "" : (items[0] || [""])[0]);
  }

  // Info tips close to the right edge open leftwards (their hidden bubble would widen the page).
  function placeTips() {
    const limit = document.documentElement.clientWidth - 160;
    document.querySelectorAll(".tip").forEach((t) => {
      t.classList.remove("tip-end");
      if (t.getBoundingClientRect().left > limit) t.classList.add("tip-end");
    });
  }
  window.addEventListener("resize", placeTips);
  document.addEventListener("DOMContentLoaded", placeTips);
  placeTips();

  // A list of alert events (GET analytics/alerts): severity, rule, what it measured, when it
  // fired and its status, each a link to the event. Used by Production and the Alerts widget.
  const SEVERITY_BADGE = { critical: "bad", warning: "warn", info: "info" };
  const STATUS_BADGE = { firing: "bad", acknowledged: "warn", resolved: "ok" };
  function alertList(box, body, figuresBox) {
    if (figuresBox) {
      figures(figuresBox, [["open now", fmt.count(body.open), "open"], ["in the range", fmt.count(body.total), "total"]]);
    }
    if (!body.events.length) {
      box.replaceChildren(el("div", { class: "empty small", "data-testid": "alerts-empty" },
        el("strong", { text: "No alerts" }), el("p", { text: "No alert event of this selection was open in the range." })));
      return;
    }
    box.replaceChildren(el("ul", { class: "alert-items", "data-testid": "alert-items" }, body.events.map((e) =>
      el("li", { "data-event": String(e.id), "data-status": e.status },
        el("a", { href: e.url },
          el("span", { class: `badge ${SEVERITY_BADGE[e.severity] || "neutral"}`, text: e.severity }),
          el("span", { class: "alert-main" }, el("strong", { text: e.rule }),
             el("small", { text: `${e.metric} · ${e.scope_text} · fired ${fmt.dateTimeZ(new Date(e.fired_at))}` })),
          el("span", { class: `badge dot ${STATUS_BADGE[e.status] || ""}`, text: e.status }))))));
    if (body.total > body.events.length) {
      box.append(el("p", { class: "muted small", text: `Latest ${body.events.length} of ${fmt.count(body.total)}.` }));
    }
  }

  window.MP = {
    alertList,
    CTX, TZ, DEFAULT_PRESET, ApiError, api, send, url, selection, bind, page, asOf, showError, hideError, fmt, change,
    band, COLORS, PALETTE, alpha, chart, empty, axis, xAxis, timeAxis, line, bars, el, figures, setText, options,
    periodLabels, localDate, dateOf, query, sync, placeTips, icon, zoomScope,
  };
})();
