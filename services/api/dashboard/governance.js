// datong governance page: sharing requests filed, reviewed and answered, deadlines in sight.
"use strict";

const TOKEN_KEY = "datong.token"; // shared with the dashboard and the catalogue
const $ = (id) => document.getElementById(id);
const STATES = {
  filed: "待审核 filed", forwarded: "待部门答复 forwarded", escalated: "协调中 escalated",
  resolved: "已办结 resolved", withdrawn: "已撤回 withdrawn", expired: "已过期 expired",
};
const DECISIONS = { pending: "待答复 pending", granted: "同意 granted", refused: "拒绝 refused" };

function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) node.append(child);
  return node;
}

function button(zh, en, testid, onClick) {
  const node = el("button", "", `${zh} `, el("span", "en", en));
  node.type = "button";
  node.dataset.testid = testid;
  node.addEventListener("click", onClick);
  return node;
}

function reasonInput(testid, labelText) {
  const input = el("input", "");
  input.dataset.testid = testid;
  input.setAttribute("aria-label", labelText);
  input.placeholder = "理由 reason";
  return input;
}

function owner(name) {
  return `${DEPARTMENTS[name] || name} ${name}`;
}

async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: {
      Authorization: `Bearer ${localStorage.getItem(TOKEN_KEY)}`,
      Accept: "application/json",
      "Content-Type": "application/json",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (response.status === 401) askForToken("令牌无效或已撤销 · The token is not valid or was revoked");
  if (!response.ok) throw new Error(answer.error || `${response.status}`);
  return answer;
}

async function act(path, body) {
  $("notice").textContent = "";
  try {
    await call("POST", path, body);
  } catch (error) {
    $("notice").textContent = `未完成 Not done: ${error.message}`;
  }
  await load();
}

function lateFor(request, stage, department) {
  return request.overdue.some((o) => o.stage === stage && o.department === department);
}

function deadline(request, text, late) {
  return el("div", late ? "overdue" : "hint", late ? `逾期 OVERDUE · ${text}` : text);
}

function fieldRow(request, field, viewer) {
  const words = `${field.name} · ${owner(field.owner)} · ${DECISIONS[field.decision]}`;
  const row = el("li", `decision-${field.decision}`, words);
  row.dataset.field = field.name;
  if (field.reason) row.append(el("div", "hint", `理由 reason: ${field.reason}`));
  const answers = request.state === "escalated" ? "datong" : field.owner;
  const open = request.state === "forwarded" || request.state === "escalated";
  if (open && field.decision === "pending" && viewer.department === answers) {
    const reason = reasonInput(`reason-${field.name}`, `拒绝 ${field.name} 的理由 reason`);
    const path = `/requests/${request.id}`;
    row.append(el("div", "actions",
      button("同意", "Grant", `grant-${field.name}`, () => act(`${path}/grant`, { fields: [field.name] })),
      reason,
      button("拒绝", "Refuse", `refuse-${field.name}`,
        () => act(`${path}/refuse`, { fields: [field.name], reason: reason.value })),
    ));
  }
  return row;
}

function actions(request, viewer) {
  const path = `/requests/${request.id}`;
  const box = el("div", "actions");
  const mine = viewer.party === request.requester;
  if (viewer.operator && request.state === "filed") {
    const reason = reasonInput("review-reason", "审核意见 review reason");
    box.append(
      button("审核通过", "Conforms", "review-conforms", () => act(`${path}/review`, { conforms: true })),
      reason,
      button("不符合", "Does not conform", "review-reject",
        () => act(`${path}/review`, { conforms: false, reason: reason.value })),
    );
  }
  const disputable = request.fields.some((f) => f.decision === "refused" && f.sharing === "conditional");
  if (mine && disputable && ["forwarded", "resolved"].includes(request.state)) {
    const reason = reasonInput("escalate-reason", "申请协调的理由 escalation reason");
    box.append(reason, button("申请协调", "Escalate", "escalate",
      () => act(`${path}/escalate`, { reason: reason.value })));
  }
  if (mine && !["withdrawn", "expired"].includes(request.state)) {
    box.append(button("撤回", "Withdraw", "withdraw", () => act(`${path}/withdraw`, {})));
  }
  return box;
}

function drawRequest(request, viewer) {
  const late = request.overdue.length > 0;
  const item = el("li", "request");
  item.dataset.request = request.id;
  item.dataset.state = request.state;
  item.dataset.overdue = String(late);
  item.append(
    el("div", "", el("span", "field-name", request.id), " ",
      el("span", "state", STATES[request.state] || request.state)),
    el("div", "", `${request.audience} · ${request.view} · 用途 purpose: ${request.purpose}`),
    el("div", "hint", `场景 scenario: ${request.scenario} · 到期 expires ${request.expires_at}`),
  );
  if (request.state === "filed") {
    item.append(deadline(request, `审核期限 review due ${request.review_due.day}`,
      lateFor(request, "review", "datong")));
  }
  if (request.state === "forwarded") {
    for (const [department, due] of Object.entries(request.provider_due)) {
      item.append(deadline(request, `${owner(department)} 答复期限 answer due ${due.day}`,
        lateFor(request, "provider", department)));
    }
  }
  item.append(el("ul", "chips", ...request.fields.map((f) => fieldRow(request, f, viewer))));
  item.append(actions(request, viewer));
  const steps = request.steps.map((s) =>
    el("li", "", `${s.at.slice(0, 16).replace("T", " ")} ${s.action} · ${s.by}${s.reason ? ` · ${s.reason}` : ""}`));
  item.append(el("ol", "steps", ...steps));
  return item;
}

async function load() {
  let answer;
  try {
    answer = await call("GET", "/requests");
  } catch (error) {
    if (!$("token-form").hidden) return;
    $("notice").textContent = `申请暂不可用 · Requests are unavailable (${error.message})`;
    return;
  }
  const viewer = answer.viewer;
  $("viewer").textContent = viewer.operator ? "平台运营方 hub operator" : viewer.party;
  $("filing").hidden = viewer.operator;
  $("requests").replaceChildren(...answer.requests.map((r) => drawRequest(r, viewer)));
  $("governance").hidden = false;
}

function askForToken(message) {
  $("token-form").hidden = false;
  $("token-message").textContent = message || "";
  $("governance").hidden = true;
}

function start() {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get("token");
  if (fromUrl) {
    localStorage.setItem(TOKEN_KEY, fromUrl);
    history.replaceState(null, "", location.pathname); // keep the secret out of history
  }
  if (!localStorage.getItem(TOKEN_KEY)) {
    askForToken("");
    return;
  }
  $("token-form").hidden = true;
  load();
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
  $("token-input").value = "";
  start();
});
$("change-token").addEventListener("click", () => askForToken(""));
$("file-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const body = {
    view: form.get("view").trim(),
    fields: form.get("fields").split(",").map((f) => f.trim()).filter(Boolean),
    purpose: form.get("purpose"),
    scenario: form.get("scenario"),
    needed_days: Number(form.get("days")),
  };
  if (form.get("audience").trim()) body.audience = form.get("audience").trim();
  await act("/requests", body);
});

start();
