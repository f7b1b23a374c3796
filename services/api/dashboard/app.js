// datong community dashboard: reads the views with the reader's token, follows changes live.
"use strict";

const TOKEN_KEY = "datong.token";
const COMMUNITY_KEY = "datong.community";
const STALE_AFTER_MS = 24 * 3600 * 1000;
const HISTORY_DAYS = 7;
const RECONNECT_MS = 2000;
const SVG = "http://www.w3.org/2000/svg";

const HEALTH = [
  ["GREEN", "绿码", "Green", "var(--green)"],
  ["YELLOW", "黄码", "Yellow", "var(--yellow)"],
  ["RED", "红码", "Red", "var(--red)"],
];
const FIGURES = [
  ["residents", "居民", "Residents"],
  ["households", "户数", "Households"],
  ["elderly_living_alone", "独居老人", "Elderly living alone"],
  ["disabled_residents", "残疾人", "Disabled residents"],
  ["quarantined_households", "隔离户", "Quarantined households"],
  ["pending_deliveries", "待配送", "Pending deliveries"],
];
const ALERT_TYPES = {
  WELFARE_CHECK: ["独居老人探访", "Welfare check"],
  ISOLATION_RISK: ["隔离条件不足", "Isolation risk"],
  QUARANTINE_DELIVERY: ["隔离户配送", "Quarantine delivery"],
  RED_STATUS: ["红码", "Red status"],
};
const STAGES = {
  PLANNED: "规划",
  DESIGN: "设计",
  TENDERING: "招标",
  CONSTRUCTION: "施工",
  ACCEPTANCE: "验收",
  COMPLETED: "完工",
};

const $ = (id) => document.getElementById(id);
const state = {
  token: null,
  community: null,
  situation: null,
  history: [],
  alerts: new Map(),
  stops: [],
};

// --- small helpers ------------------------------------------------------------------------

/** Epoch milliseconds from what the API renders: a number (ms) or an ISO string. */
function toMillis(value) {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return value;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : parsed;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "style") node.style.cssText = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function label(zh, en) {
  return [document.createTextNode(zh + " "), el("span", { class: "en" }, en)];
}

function ago(ms) {
  const minutes = Math.max(0, Math.round((Date.now() - ms) / 60000));
  if (minutes < 60) return `${minutes} 分钟前 · ${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} 小时前 · ${hours} h ago`;
  const days = Math.round(hours / 24);
  return `${days} 天前 · ${days} d ago`;
}

function when(ms) {
  return ms === null ? "" : new Date(ms).toLocaleString();
}

function notice(text) {
  $("notice").textContent = text || "";
  $("notice").hidden = !text;
}

// --- HTTP ---------------------------------------------------------------------------------

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function getJson(path, body) {
  const headers = { Authorization: `Bearer ${state.token}`, Accept: "application/json" };
  const request = { headers, cache: "no-store" };
  if (body !== undefined) {
    // A POST keeps what it carries (an ID number) out of the URL, logs and history.
    Object.assign(request, { method: "POST", body: JSON.stringify(body) });
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, request);
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try {
      message = (await response.json()).error || message;
    } catch (_) {
      /* not JSON */
    }
    if (response.status === 401) askForToken("令牌无效或已撤销 · The token is not valid or was revoked");
    throw new HttpError(response.status, message);
  }
  return response.json();
}

/**
 * Follow /subscribe/{view} as Server-Sent Events over fetch (so the token travels in a header,
 * never in the URL). Reconnects with Last-Event-ID, so no change is missed while away.
 */
function subscribe(view, community, handlers) {
  const control = new AbortController();
  let lastId = null;
  let stopped = false;
  (async () => {
    while (!stopped) {
      try {
        const headers = { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" };
        if (lastId) headers["Last-Event-ID"] = lastId;
        const url = `/subscribe/${view}?community=${encodeURIComponent(community)}`;
        const response = await fetch(url, { headers, signal: control.signal, cache: "no-store" });
        if ([401, 403, 404].includes(response.status)) {
          handlers.denied(response.status);
          if (response.status === 401) askForToken("令牌无效或已撤销 · The token is not valid or was revoked");
          return;
        }
        if (!response.ok) throw new HttpError(response.status, `HTTP ${response.status}`);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        let opened = false;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          if (!opened) {
            opened = true;
            handlers.open();
          }
          buffer += value.replace(/\r\n?/g, "\n");
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = parseEvent(block);
            if (event.id !== null) lastId = event.id;
            if (event.data !== null) handlers.event(event.type, JSON.parse(event.data));
          }
        }
      } catch (error) {
        if (stopped) return;
        console.warn(`subscription to ${view} interrupted`, error);
      }
      if (stopped) return;
      handlers.reconnecting();
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  })();
  return () => {
    stopped = true;
    control.abort();
  };
}

function parseEvent(block) {
  const event = { type: "message", id: null, data: null };
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event.type = value;
    else if (field === "id") event.id = value;
    else if (field === "data") data.push(value);
  }
  if (data.length) event.data = data.join("\n");
  return event;
}

// --- token and community ------------------------------------------------------------------

function askForToken(message) {
  $("token-form").hidden = false;
  $("token-message").textContent = message || "";
  $("board").hidden = true;
  setLive("denied");
}

function setLive(status) {
  const texts = {
    idle: ["○ 未连接", "offline"],
    live: ["● 实时", "live"],
    reconnecting: ["◌ 重新连接中", "reconnecting"],
    denied: ["✕ 无权限", "not allowed"],
  };
  const [zh, en] = texts[status];
  const node = $("live");
  node.dataset.state = status;
  node.replaceChildren(...label(zh, en));
}

async function loadCommunities() {
  const wanted = new URLSearchParams(location.search).get("community");
  const select = $("community");
  let codes = [];
  try {
    const page = await getJson("/views/community_situation?limit=500&fields=community_code");
    codes = page.items.map((item) => item.community_code);
  } catch (error) {
    if (error.status === 401) return null;
    console.warn("cannot list communities", error);
  }
  const remembered = localStorage.getItem(COMMUNITY_KEY);
  for (const extra of [wanted, remembered]) {
    if (extra && !codes.includes(extra)) codes.push(extra);
  }
  select.replaceChildren(...codes.map((code) => el("option", { value: code }, code)));
  const chosen = wanted || (codes.includes(remembered) ? remembered : codes[0]);
  if (!chosen) {
    notice("此令牌下没有可查看的社区 · No community is visible with this token");
    return null;
  }
  select.value = chosen;
  return chosen;
}

// --- drawing ------------------------------------------------------------------------------

function drawHealth(counts) {
  const chart = $("health-chart");
  const total = HEALTH.reduce((sum, [code]) => sum + (counts[code] || 0), 0);
  const radius = 48;
  const circumference = 2 * Math.PI * radius;
  chart.replaceChildren(
    svg("circle", { cx: 60, cy: 60, r: radius, fill: "none", stroke: "var(--line)", "stroke-width": 18 }),
  );
  let offset = 0;
  for (const [code, , , colour] of HEALTH) {
    const share = total ? (counts[code] || 0) / total : 0;
    if (!share) continue;
    const arc = svg("circle", {
      cx: 60,
      cy: 60,
      r: radius,
      fill: "none",
      stroke: colour,
      "stroke-width": 18,
      "stroke-dasharray": `${share * circumference} ${circumference}`,
      "stroke-dashoffset": `${-offset * circumference}`,
      transform: "rotate(-90 60 60)",
    });
    chart.append(arc);
    offset += share;
  }
  // The centre counts residents with any health status: labelled, as a bare number is not.
  const text = svg("text", {
    x: 60, y: 60, "text-anchor": "middle", "font-size": 18, "font-weight": 700,
    "data-testid": "health-total",
  });
  text.textContent = String(total);
  const caption = svg("text", { x: 60, y: 74, "text-anchor": "middle", "font-size": 8 });
  caption.textContent = "有健康码 with a status";
  chart.append(text, caption);
  chart.setAttribute("aria-label", `health status distribution: ${total} residents with a health status`);
  $("health-legend").replaceChildren(
    ...HEALTH.map(([code, zh, en, colour]) => {
      const n = counts[code] || 0;
      const pct = total ? Math.round((100 * n) / total) : 0;
      return el(
        "li",
        {},
        el("span", { class: "swatch", style: `background:${colour}` }),
        ...label(zh, en),
        el("span", { class: "count", "data-testid": `health-${code}` }, n),
        el("span", { class: "en" }, `${pct}%`),
      );
    }),
  );
}

function drawFigures(situation) {
  $("figures").replaceChildren(
    ...FIGURES.map(([field, zh, en]) =>
      el(
        "div",
        {},
        el("dt", {}, ...label(zh, en)),
        el("dd", { "data-testid": `figure-${field}` }, situation[field] ?? 0),
      ),
    ),
  );
}

function drawTrend(node, points, field, cssClass) {
  // Drawn in the element's own pixels, so text keeps its size on a phone and a wide screen.
  const width = Math.max(240, Math.round(node.getBoundingClientRect().width) || 320);
  const height = 130;
  const left = 30;
  const right = 10;
  const top = 16;
  const bottom = height - 22;
  node.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const now = Date.now();
  const start = now - HISTORY_DAYS * 86400000;
  const inRange = points
    .map((p) => [toMillis(p.taken_at), p[field]])
    // null: a small count the API does not show (DATONG_MIN_SHOWN_COUNT); left out, not 0.
    .filter(([ms, v]) => ms !== null && ms >= start && v !== null && v !== undefined);
  const max = Math.max(1, ...inRange.map(([, v]) => v));
  const x = (ms) => left + ((ms - start) / (now - start)) * (width - left - right);
  const y = (v) => bottom - (v / max) * (bottom - top);
  node.replaceChildren(
    svg("line", { class: "axis", x1: left, y1: bottom, x2: width - right, y2: bottom }),
    svg("line", { class: "axis", x1: left, y1: top, x2: left, y2: bottom }),
  );
  for (const [value, at] of [[max, top], [0, bottom]]) {
    const tick = svg("text", { x: left - 5, y: at + 4, "text-anchor": "end" });
    tick.textContent = String(value);
    node.append(tick);
  }
  const step = width < 400 ? 2 : 1; // every other day on a narrow screen
  for (let day = HISTORY_DAYS; day >= 0; day -= step) {
    const ms = now - day * 86400000;
    const anchor = day === HISTORY_DAYS ? "start" : day === 0 ? "end" : "middle";
    const tick = svg("text", { x: x(ms), y: height - 6, "text-anchor": anchor });
    const date = new Date(ms);
    tick.textContent = `${date.getMonth() + 1}/${date.getDate()}`;
    node.append(tick);
  }
  if (inRange.length > 1) {
    node.append(
      svg("polyline", {
        class: `line ${cssClass}`,
        style: "fill:none",
        points: inRange.map(([ms, v]) => `${x(ms).toFixed(1)},${y(v).toFixed(1)}`).join(" "),
      }),
    );
  }
  const last = inRange[inRange.length - 1];
  if (last) {
    node.append(svg("circle", { class: cssClass, cx: x(last[0]), cy: y(last[1]), r: 3.5 }));
    const value = svg("text", {
      x: x(last[0]) - 7,
      y: Math.max(top + 4, y(last[1]) - 7),
      "text-anchor": "end",
      "font-weight": 700,
    });
    value.textContent = String(last[1]);
    node.append(value);
  }
}

function drawHistory() {
  const points = [...state.history];
  if (state.situation) points.push(historyPoint(state.situation, Date.now()));
  drawTrend($("trend-quarantined"), points, "quarantined_households", "quarantined");
  drawTrend($("trend-alerts"), points, "open_alerts", "alerts");
}

function historyPoint(situation, at) {
  // A sum with a hidden (null) part is not shown, as the history's points do.
  const counts = Object.values(situation.open_alerts || {});
  const open = counts.includes(null) ? null : counts.reduce((a, b) => a + b, 0);
  return {
    taken_at: at,
    quarantined_households: situation.quarantined_households || 0,
    open_alerts: open,
  };
}

function drawRenovation(projects) {
  const entries = Object.entries(projects || {}).sort(([a], [b]) => a.localeCompare(b));
  $("renovation-empty").hidden = entries.length > 0;
  $("renovation").replaceChildren(
    ...entries.map(([id, project]) =>
      el(
        "li",
        { "data-testid": `renovation-${id}` },
        el(
          "div",
          { class: "label" },
          el("span", {}, id),
          el(
            "span",
            {},
            `${STAGES[project.stage] || ""} ${project.stage} · `,
            el("span", { class: "count" }, `${project.percent}%`),
          ),
        ),
        el("div", { class: "track" }, el("div", { class: "fill", style: `width:${project.percent}%` })),
      ),
    ),
  );
}

function drawFreshness(freshness) {
  const entries = Object.entries(freshness || {}).sort(([a], [b]) => a.localeCompare(b));
  $("freshness").replaceChildren(
    ...entries.map(([department, at]) => {
      const ms = toMillis(at);
      const age = ms === null ? Infinity : Date.now() - ms;
      const stale = age > STALE_AFTER_MS;
      const width = Math.max(4, 100 - Math.min(1, age / (2 * STALE_AFTER_MS)) * 96);
      return el(
        "li",
        { class: stale ? "stale" : "fresh", "data-testid": `freshness-${department}` },
        el(
          "div",
          { class: "label" },
          el("span", {}, ...label(DEPARTMENTS[department] || department, department)),
          el("span", {}, ms === null ? "—" : ago(ms)),
        ),
        el("div", { class: "track" }, el("div", { class: "fill", style: `width:${width}%` })),
      );
    }),
  );
}

function drawOpenByType(openAlerts) {
  // null: a few, too few to show without singling out a household.
  const entries = Object.entries(openAlerts || {}).filter(([, n]) => n === null || n > 0);
  $("open-by-type").replaceChildren(
    ...entries.map(([type, n]) => {
      const [zh, en] = ALERT_TYPES[type] || [type, ""];
      const count = n === null ? "少量 few" : String(n);
      return el("li", { "data-testid": `open-${type}` }, `${zh} ${en} · ${count}`);
    }),
  );
}

function drawSituation() {
  const situation = state.situation;
  if (!situation) return;
  drawHealth(situation.health_status_counts || {});
  drawFigures(situation);
  drawRenovation(situation.renovation_projects);
  drawFreshness(situation.department_freshness);
  drawOpenByType(situation.open_alerts);
  drawHistory();
  $("updated").textContent = `更新于 Updated ${new Date().toLocaleTimeString()}`;
}

function drawAlerts(newKey) {
  const open = [...state.alerts.values()]
    .filter((alert) => alert.status === "OPEN")
    .sort((a, b) => (toMillis(b.opened_at) || 0) - (toMillis(a.opened_at) || 0));
  $("alerts-empty").hidden = open.length > 0;
  $("alerts").replaceChildren(
    ...open.map((alert) => {
      const [zh, en] = ALERT_TYPES[alert.alert_type] || [alert.alert_type, ""];
      const where = alert.dwelling_id || alert.grid_id || alert.subject_key || "";
      // Reasons come rendered in both languages, from what this token may see.
      const reason = alert.reason_zh ? label(alert.reason_zh, alert.reason || "") : [alert.reason || ""];
      return el(
        "li",
        { "data-alert-id": alert.alert_id, class: alert.alert_id === newKey ? "new" : "" },
        el("div", { class: "type" }, ...label(zh, en)),
        el("div", {}, ...reason),
        el("div", { class: "meta" }, `${when(toMillis(alert.opened_at))} · ${where}`),
      );
    }),
  );
}

// --- loading and following one community --------------------------------------------------

/**
 * Follow a view live: subscribe first, then read what is there, so a change made meanwhile is
 * either in what was read or arrives as an event. Events are whole records, so one that
 * arrived before the read wins over the read's (possibly older) copy of the same row.
 */
function follow(view, community, { load, apply, remove, denied, optional = false }) {
  const touched = new Set();
  let loaded = false;
  return subscribe(view, community, {
    open() {
      setLive("live");
      if (loaded) return;
      loaded = true;
      load()
        .then((records) => {
          for (const [key, record] of records) if (!touched.has(key)) apply(key, record);
        })
        .catch((error) => {
          if (error.status === 403 || error.status === 404) return;
          console.warn(`cannot read ${view}`, error);
        });
    },
    event(type, data) {
      if (type === "change") {
        const key = data[KEY_FIELDS[view]];
        touched.add(key);
        apply(key, data, true);
      } else if (type === "delete") {
        touched.add(data.key);
        remove(data.key);
      }
    },
    reconnecting() {
      setLive("reconnecting");
    },
    denied(status) {
      // A view the token may not read by design (the dashboard's audience reads no alert
      // rows, only their counts) leaves the page live.
      if (!optional) setLive("denied");
      if (denied) denied(status);
    },
  });
}

const KEY_FIELDS = {
  community_situation: "community_code",
  alert: "alert_id",
  resident_profile: "person_key",
  household: "dwelling_id",
};

async function readAll(view, community) {
  const records = [];
  let cursor = null;
  for (let page = 0; page < 20; page += 1) {
    const query = new URLSearchParams({ community, limit: "500" });
    if (cursor) query.set("cursor", cursor);
    const body = await getJson(`/views/${view}?${query}`);
    for (const item of body.items) records.push([item[KEY_FIELDS[view]], item]);
    cursor = body.next_cursor;
    if (!cursor) break;
  }
  return records;
}

async function loadHistory(community) {
  try {
    const body = await getJson(
      `/views/community_situation/${encodeURIComponent(community)}/history?days=${HISTORY_DAYS}`,
    );
    // The last point is the current row; the live situation stands in for it.
    state.history = body.points.slice(0, -1);
  } catch (error) {
    console.warn("no history", error);
    state.history = [];
  }
  drawHistory();
}

function show(community) {
  for (const stop of state.stops) stop();
  state.community = community;
  state.situation = null;
  state.alerts = new Map();
  localStorage.setItem(COMMUNITY_KEY, community);
  $("board").hidden = false;
  notice("");
  drawAlerts();
  loadHistory(community);
  state.stops = [
    follow("community_situation", community, {
      load: async () => {
        const row = await getJson(`/views/community_situation/${encodeURIComponent(community)}`);
        return [[row.community_code, row]];
      },
      apply: (key, record) => {
        if (key !== community) return;
        state.situation = record;
        drawSituation();
      },
      remove: () => {
        state.situation = null;
      },
      denied: () => notice("此令牌不能查看该社区 · This token may not read this community"),
    }),
    follow("alert", community, {
      load: () => readAll("alert", community),
      apply: (key, record, live) => {
        state.alerts.set(key, record);
        drawAlerts(live ? key : null);
      },
      remove: (key) => {
        state.alerts.delete(key);
        drawAlerts();
      },
      optional: true,
      denied: () =>
        $("alerts-empty").replaceChildren(
          ...label("此令牌只看预警计数", "Alerts are not shared with this token: counts only"),
        ),
    }),
  ];
}

// --- resident lookup ----------------------------------------------------------------------

const PROFILE_FIELDS = [
  ["name_masked", "姓名", "Name"],
  ["health_status", "健康码", "Health status"],
  ["dwelling_id", "房屋", "Dwelling"],
  ["address", "地址", "Address"],
  ["phone_masked", "电话", "Phone"],
  ["elderly_living_alone", "独居老人", "Living alone"],
  ["disability_grade", "残疾等级", "Disability grade"],
];

const ID_NUMBER = /^\d{17}[\dX]$/;

async function lookUp(typed) {
  const message = $("lookup-message");
  const result = $("lookup-result");
  result.replaceChildren();
  message.textContent = "";
  const compact = typed.replace(/\s/g, "").toUpperCase();
  const byId = ID_NUMBER.test(compact);
  if (byId) $("lookup-key").value = ""; // the number is not left on the screen
  try {
    const profile = byId
      ? await getJson("/views/resident_profile/lookup", { id_number: compact })
      : await getJson(`/views/resident_profile/${encodeURIComponent(typed)}`);
    result.replaceChildren(
      ...PROFILE_FIELDS.filter(([field]) => field in profile).flatMap(([field, zh, en]) => [
        el("dt", {}, ...label(zh, en)),
        el("dd", { "data-testid": `profile-${field}` }, profile[field] ?? "—"),
      ]),
    );
  } catch (error) {
    if (error.status === 403) {
      $("lookup-form").hidden = true;
      message.textContent = "此令牌的共享策略不包括居民档案 · Resident profiles are not shared with this token";
    } else if (error.status === 404) {
      message.textContent = "未找到该居民 · No such resident in your communities";
    } else if (error.status === 422 && byId) {
      message.textContent = `身份证号无效 · Not a valid ID number: ${error.message}`;
    } else if (error.status === 429) {
      message.textContent = "查询过于频繁，请稍后再试 · Too many lookups: try again in a minute";
    } else {
      message.textContent = error.message;
    }
  }
}

// --- start --------------------------------------------------------------------------------

async function start() {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get("token");
  if (fromUrl) {
    localStorage.setItem(TOKEN_KEY, fromUrl);
    params.delete("token"); // keep the secret out of the address bar and history
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : ""));
  }
  state.token = localStorage.getItem(TOKEN_KEY);
  if (!state.token) {
    askForToken("");
    return;
  }
  $("token-form").hidden = true;
  const community = await loadCommunities();
  if (community) show(community);
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
  $("token-input").value = "";
  start();
});
$("change-token").addEventListener("click", () => askForToken(""));
$("community").addEventListener("change", (event) => show(event.target.value));
$("lookup-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("lookup-key").value.trim();
  if (key) lookUp(key);
});
setInterval(() => {
  if (state.community) loadHistory(state.community);
}, 10 * 60 * 1000);
setInterval(() => drawSituation(), 60 * 1000); // ages and freshness move with the clock
window.addEventListener("resize", () => drawHistory());

start();
