// datong feed quality: each department's scorecard, per day, from GET /quality.
"use strict";

const TOKEN_KEY = "datong.token"; // shared with the dashboard: one token per browser
const $ = (id) => document.getElementById(id);
// The dead letters' reason codes (connectors' RecordError codes) in Chinese; a code not
// listed here is shown as it is.
const REASONS = {
  invalid_id: "身份证号校验失败",
  bad_date: "日期无效",
  missing_field: "缺少必填项",
  missing_column: "缺少列",
  extra_columns: "多余的列",
  formula: "疑似公式单元格",
  bad_enum: "未知取值",
  bad_bool: "是/否取值无效",
  bad_number: "数字无效",
  bad_unit: "单位无效",
  bad_value: "取值无效",
  bad_type: "类型不符",
  bad_encoding: "编码无法识别",
  number_precision: "数字精度已丢失",
  personal_data: "含个人信息",
  invalid_phone: "电话号码无效",
  too_long: "内容过长",
  out_of_range: "超出范围",
  unresolved_address: "地址未能解析",
  schema: "不符合数据契约",
  unknown: "未知原因",
};

function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) node.append(child);
  return node;
}

function label(zh, en) {
  return [document.createTextNode(`${zh} `), el("span", "en", en)];
}

function percent(ratio) {
  return ratio === null || ratio === undefined ? "—" : `${(ratio * 100).toFixed(1)}%`;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 2 * 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

function figure(testid, zh, en, value) {
  const shown = el("span", "value", String(value));
  shown.dataset.testid = testid;
  return el("li", "", ...label(zh, en), shown);
}

function reasons(byReason) {
  const entries = Object.entries(byReason);
  if (!entries.length) return el("p", "hint", ...label("无拒收", "nothing rejected"));
  return el(
    "ul",
    "reasons",
    ...entries.map(([reason, count]) => {
      const value = el("span", "value-inline", String(count));
      value.dataset.testid = `rejected-${reason}`;
      const words = REASONS[reason] ? `${REASONS[reason]} ` : "";
      return el("li", "", words, el("span", "field-name", reason), ": ", value);
    }),
  );
}

function completeness(byEvent) {
  const items = [];
  for (const [event, fields] of Object.entries(byEvent)) {
    const shares = Object.entries(fields).map(([name, share]) => `${name} ${percent(share)}`);
    if (shares.length) items.push(el("li", "", el("span", "field-name", event), ": ", shares.join(", ")));
  }
  if (!items.length) return el("p", "hint", ...label("无可选字段", "no optional field"));
  return el("ul", "reasons", ...items);
}

function dayTable(days) {
  const head = ["日期 Day", "接收 Received", "发布 Published", "拒收 Rejected", "暂存 Parked",
    "解析 Resolved", "冲突 Conflicts", "p50", "p95"];
  const row = (d) =>
    el("tr", "", el("td", "", d.day), ...[d.received, d.published, d.rejected, d.parked, d.resolved,
      d.conflicts, duration(d.timeliness.p50_s), duration(d.timeliness.p95_s)]
      .map((v) => el("td", "", String(v))));
  const table = el(
    "table",
    "days",
    el("thead", "", el("tr", "", ...head.map((h) => el("th", "", h)))),
    el("tbody", "", ...days.map(row)),
  );
  table.setAttribute("aria-label", "每日数据 Figures per day");
  // Wider than a phone: the region scrolls, so a keyboard must be able to reach it too.
  const region = el("div", "table-scroll", table);
  region.tabIndex = 0;
  region.setAttribute("role", "region");
  region.setAttribute("aria-label", "每日数据 Figures per day");
  return region;
}

function drawFeed(card) {
  const t = card.totals;
  const name = `${DEPARTMENTS[card.department] || card.department} ${card.department}`;
  const section = el(
    "section",
    "card wide",
    el("h2", "", name),
    el(
      "ul",
      "figures",
      figure("received", "接收", "Received", t.received),
      figure("published", "发布", "Published", t.published),
      figure("rejected", "拒收", "Rejected", t.rejected),
      figure("rejection-rate", "拒收率", "Rejection rate", percent(t.rejection_rate)),
      figure("parked", "地址暂存", "Addresses parked", t.parked),
      figure("resolved", "已解析", "Resolved", t.resolved),
      figure("resolution-rate", "解析率", "Resolution rate", percent(t.resolution_rate)),
      figure("conflicts", "冲突", "Conflicts", t.conflicts),
      figure("p50", "时效 p50", "Timeliness p50", duration(t.timeliness.p50_s)),
      figure("p95", "时效 p95", "Timeliness p95", duration(t.timeliness.p95_s)),
      figure("freshness", "新鲜度", "Since newest event", duration(card.freshness_s)),
    ),
    el("h3", "", ...label("拒收原因", "Rejected, by reason")),
    reasons(t.rejected_by_reason),
    el("h3", "", ...label("可选字段完整度", "Completeness of optional fields")),
    completeness(t.completeness),
    el("h3", "", ...label("每日", "Per day")),
    dayTable(card.days),
  );
  section.dataset.testid = `feed-${card.department}`;
  return section;
}

function draw(body) {
  $("generated").textContent = `最近 ${body.days} 天 · last ${body.days} days`;
  if (!body.feeds.length) {
    $("notice").hidden = false;
    $("notice").textContent = "此令牌不可查看任何部门的数据质量 · This token reads no feed's scorecard";
  }
  $("feeds").replaceChildren(...body.feeds.map(drawFeed));
  $("quality").hidden = false;
}

function askForToken(message) {
  $("token-form").hidden = false;
  $("token-message").textContent = message || "";
  $("quality").hidden = true;
}

async function start() {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get("token");
  if (fromUrl) {
    localStorage.setItem(TOKEN_KEY, fromUrl);
    history.replaceState(null, "", location.pathname); // keep the secret out of history
  }
  const token = localStorage.getItem(TOKEN_KEY);
  if (!token) {
    askForToken("");
    return;
  }
  $("token-form").hidden = true;
  const response = await fetch("/quality", {
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
  });
  if (response.status === 401) {
    askForToken("令牌无效或已撤销 · The token is not valid or was revoked");
    return;
  }
  if (!response.ok) {
    $("notice").hidden = false;
    $("notice").textContent = `数据质量暂不可用 · Feed quality is unavailable (${response.status})`;
    return;
  }
  draw(await response.json());
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
  $("token-input").value = "";
  start();
});
$("change-token").addEventListener("click", () => askForToken(""));

start();
