// The grid worker's loop on the dashboard: who has an alert, since when, what the visit found,
// whether it is overdue, and the controls to take it and record the visit. The controls show
// only for a token that reads the alert's subject: the API lets exactly those act.
"use strict";

const HOUR_MS = 3600 * 1000;
const VISIT_OUTCOMES = {
  DONE: ["已完成", "Done"],
  NOBODY_HOME: ["无人在家", "Nobody home"],
  REFERRED: ["已转办", "Referred"],
};

/** When a visit is due: the task's due time, else opening plus the type's limit (the API's rule). */
function dueAt(alert, limits) {
  if (alert.due_at !== null && alert.due_at !== undefined) return toMillis(alert.due_at);
  const hours = limits[alert.alert_type];
  return hours ? toMillis(alert.opened_at) + hours * HOUR_MS : null;
}

/** An open alert past its due time, unless referred to another department. */
function isOverdue(alert, limits, now) {
  if (alert.status !== "OPEN" || alert.visit_outcome === "REFERRED") return false;
  const due = dueAt(alert, limits);
  return due !== null && now > due;
}

/** The lines saying who has the alert, since when, by when, and what the visit found. */
function taskLines(alert, limits) {
  const lines = [];
  const due = dueAt(alert, limits);
  if (alert.assignee_code) {
    lines.push(
      el(
        "div",
        { class: "task", "data-testid": "assignee" },
        ...label("处置人", "Assignee"),
        ` ${alert.assignee_code} · `,
        ...label("接单于", "since"),
        ` ${when(toMillis(alert.assigned_at))}`,
      ),
    );
  }
  if (alert.visit_outcome) {
    const [zh, en] = VISIT_OUTCOMES[alert.visit_outcome] || [alert.visit_outcome, ""];
    const to = alert.referred_to ? ` → ${DEPARTMENTS[alert.referred_to] || ""} ${alert.referred_to}` : "";
    lines.push(
      el(
        "div",
        { class: "task", "data-testid": "visit" },
        ...label("走访", "Visit"),
        " ",
        ...label(zh, en),
        to,
        alert.note ? ` · ${alert.note}` : "",
      ),
    );
  }
  if (alert.status === "CLOSED") {
    lines.push(el("div", { class: "task", "data-testid": "closed" }, ...label("已关闭", "Closed"), ` ${when(toMillis(alert.closed_at))}`));
  } else if (due !== null) {
    const late = isOverdue(alert, limits, Date.now());
    lines.push(
      el(
        "div",
        { class: late ? "task late" : "task", "data-testid": "due" },
        ...(late ? label("已超时", "Overdue") : label("应办结于", "Due")),
        ` ${when(due)}`,
      ),
    );
  }
  return lines;
}

function field(id, zh, en, input) {
  return el("div", { class: "field" }, el("label", { for: id }, ...label(zh, en)), input);
}

/** The form to take the alert, or to record the visit once taken (null: the token may not act). */
function workForm(alert, send) {
  if (!("subject_key" in alert)) return null;
  const id = alert.alert_id;
  const message = el("p", { class: "message", role: "status", "data-testid": "work-message" });
  const taken = alert.task_id && alert.status === "OPEN";
  const form = el("form", { class: "work", "data-testid": "work" });
  if (!taken) {
    const code = el("input", { id: `worker-${id}`, name: "assignee_code", required: "", maxlength: "32", autocomplete: "off" });
    form.append(field(`worker-${id}`, "网格员工号", "Worker code", code));
    form.append(el("button", { type: "submit" }, ...label("接单", "Take")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send(id, { action: "take", assignee_code: code.value.trim() }, message);
    });
  } else {
    const outcome = el(
      "select",
      { id: `outcome-${id}`, name: "outcome" },
      ...Object.entries(VISIT_OUTCOMES).map(([value, [zh, en]]) => el("option", { value }, `${zh} ${en}`)),
    );
    const to = el(
      "select",
      { id: `referred-${id}`, name: "referred_to" },
      ...Object.entries(DEPARTMENTS)
        .filter(([code]) => code !== "grid" && code !== "datong")
        .map(([code, zh]) => el("option", { value: code }, `${zh} ${code}`)),
    );
    const note = el("input", { id: `note-${id}`, name: "note", maxlength: "500", autocomplete: "off" });
    const referral = field(`referred-${id}`, "转办部门", "Referred to", to);
    referral.hidden = true;
    outcome.addEventListener("change", () => (referral.hidden = outcome.value !== "REFERRED"));
    form.append(field(`outcome-${id}`, "走访结果", "Visit outcome", outcome), referral);
    form.append(field(`note-${id}`, "备注（勿填个人信息）", "Note (no personal data)", note));
    form.append(el("button", { type: "submit" }, ...label("登记走访", "Record visit")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = { action: "visit", outcome: outcome.value, note: note.value.trim() };
      if (outcome.value === "REFERRED") body.referred_to = to.value;
      send(id, body, message);
    });
  }
  form.append(message);
  return form;
}

/** Post one step; the alert list changes when the view does (live), not from this answer. */
async function sendWork(id, body, message) {
  message.textContent = "提交中 · Sending…";
  try {
    await getJson(`/alerts/${encodeURIComponent(id)}/work`, body);
    message.textContent = "已提交 · Sent";
  } catch (error) {
    message.textContent = `未能提交 · Not sent: ${error.message}`;
  }
}
