// datong data catalogue: what the hub holds, who owns it, how it is shared and with whom.
"use strict";

const TOKEN_KEY = "datong.token"; // shared with the dashboard: one token per browser
const $ = (id) => document.getElementById(id);

function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) node.append(child);
  return node;
}

function label(zh, en) {
  return [document.createTextNode(`${zh} `), el("span", "en", en)];
}

function owner(name) {
  return `${DEPARTMENTS[name] || name} ${name}`;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 2 * 86400) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

function badge(classes, sharing) {
  const words = classes[sharing] || { zh: sharing, en: sharing };
  const node = el("span", `badge class-${sharing}`, ...label(words.zh, words.en));
  node.dataset.sharing = sharing;
  return node;
}

function cadence(found) {
  if (!found) return el("span", "hint", ...label("随输入更新", "derived on every change of its inputs"));
  const late = found.newest_event_age_s === null || found.newest_event_age_s > found.expected_every_s;
  const seen = found.newest_event_at
    ? `最新 newest ${found.newest_event_at} (${duration(found.newest_event_age_s)})`
    : "尚无数据 nothing received yet";
  return el(
    "span",
    late ? "hint stale" : "hint",
    `应至少每 ${duration(found.expected_every_s)} 更新 expected every ${duration(found.expected_every_s)} · ${seen}`,
  );
}

function readers(list) {
  if (!list.length) return el("p", "readers hint", ...label("无读者", "no reader"));
  const items = list.map((r) => {
    const where = r.communities === "*" ? "全部 all" : r.communities.join(", ");
    const types = r.alert_types ? ` · ${r.alert_types.join(", ")}` : "";
    const item = el("li", "", `${r.audience} (${where}; ${r.grant})${types}`);
    item.title = r.purpose;
    item.dataset.audience = r.audience;
    return item;
  });
  return el("ul", "chips readers", ...items);
}

function drawView(view, classes) {
  const fields = view.fields.map((f) => {
    const item = el(
      "li",
      "",
      el("div", "", el("span", "field-name", f.name), " ", badge(classes, f.sharing)),
      el("div", "", f.doc),
      el("div", "hint", `所有者 owner: ${owner(f.owner)}`),
      el("div", "", cadence(f.cadence)),
    );
    if (f.derived_from.length) item.append(el("div", "hint", `派生自 derived from: ${f.derived_from.join(", ")}`));
    item.append(readers(f.readers));
    item.dataset.field = `${view.view}.${f.name}`;
    return item;
  });
  return el(
    "section",
    "card wide",
    el("h2", "", el("span", "field-name", view.view), ` · ${view.topic}`),
    el("p", "hint", view.doc),
    el("ul", "catalog-list", ...fields),
  );
}

function draw(catalog) {
  const classes = catalog.sharing_classes;
  $("generated").textContent = `${catalog.generated_at} · ${catalog.policy}`;
  $("classes").replaceChildren(...Object.keys(classes).map((k) => el("li", "", badge(classes, k))));
  $("departments").replaceChildren(
    ...catalog.departments.map((d) =>
      el(
        "li",
        "",
        el("div", "field-name", owner(d.department)),
        el("div", "", cadence(d)),
        el("div", "hint", `事件 events: ${d.events.join(", ")}`),
      ),
    ),
  );
  $("audiences").replaceChildren(
    ...catalog.audiences.map((a) => {
      const where = a.communities === "*" ? "全部 all" : a.communities.join(", ");
      return el(
        "li",
        "",
        el("div", "field-name", a.audience),
        el("div", "", a.description),
        el("div", "hint", `目的 purpose: ${a.purpose} · 社区 communities: ${where}`),
      );
    }),
  );
  $("views").replaceChildren(...catalog.views.map((v) => drawView(v, classes)));
  $("sources").replaceChildren(
    ...catalog.sources.map((s) =>
      el(
        "li",
        "",
        el("div", "field-name", s.topic),
        el("div", "", s.doc),
        el("div", "hint", s.fields.map((f) => `${f.name} (${f.data_class})`).join(", ")),
      ),
    ),
  );
  $("catalog").hidden = false;
}

function askForToken(message) {
  $("token-form").hidden = false;
  $("token-message").textContent = message || "";
  $("catalog").hidden = true;
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
  const response = await fetch("/catalog", {
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
  });
  if (response.status === 401) {
    askForToken("令牌无效或已撤销 · The token is not valid or was revoked");
    return;
  }
  if (!response.ok) {
    $("notice").hidden = false;
    $("notice").textContent = `目录暂不可用 · The catalogue is unavailable (${response.status})`;
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
