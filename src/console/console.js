// The Herald console page: forms, the event list and the status bar, around a Feed of live events.
import { Feed } from "./feed.js";

const $ = (id) => document.getElementById(id);
const SELECTOR = /^(\*|[A-Za-z0-9][A-Za-z0-9._:-]{0,199}\*?)$/;
const MAX_ROWS = 1000;
let selectors = [];
let received = 0;

const words = (text) => text.split(/[\s,]+/).filter(Boolean);
const clock = (time) => new Date(time).toLocaleTimeString([], { hour12: false });

function token() {
  return $("token").value.trim();
}

/** The query of a stream or history request: the selectors, the token where headers cannot go, and `extra`. */
function query(extra = {}) {
  const params = new URLSearchParams();
  for (const s of selectors) params.append("topic", s);
  for (const [k, v] of Object.entries(extra)) if (v !== null && v !== undefined) params.set(k, v);
  if (token()) params.set("access_token", token());
  return params;
}

const feed = new Feed({
  query,
  onEvent: show,
  onNotice: notice,
  onState(name, text = name) {
    $("state").dataset.state = name;
    $("state").textContent = text;
  },
  onError(text) {
    $("stream-error").textContent = text ?? "";
    $("stream-error").hidden = text === null;
  },
});

function cell(tag, className, text) {
  const el = document.createElement(tag);
  el.className = className;
  el.textContent = text;
  return el;
}

/** Strings as they are; small JSON on one spaced line, larger JSON indented. */
function format(data) {
  if (typeof data === "string") return data;
  // JSON escapes line breaks inside strings, so every real one here is indentation.
  const line = JSON.stringify(data, null, 1).replace(/\n\s*/g, " ");
  return line.length <= 120 ? line : JSON.stringify(data, null, 2);
}

/** A Mercure update's own fields under its row: private, its Mercure id, its other topics, its retry. */
function mercureLine({ id, topics, private: isPrivate, retry }) {
  const line = cell("div", "mercure", "");
  if (isPrivate) line.append(cell("span", "private", "private"));
  const mercureId = cell("code", "mercure-id", id);
  mercureId.title = "Mercure id";
  line.append(mercureId);
  if (topics.length > 1)
    line.append(cell("span", "muted", "also on"), ...topics.slice(1).map((t) => cell("code", "alternate", t)));
  if (retry !== null) line.append(cell("span", "retry", `retry ${retry} ms`));
  return line;
}

/** One row per event, newest first, in id order even when a replay brings an older one late. */
function show(event) {
  received++;
  $("last-id").textContent = feed.lastId;
  $("count").textContent = String(received);
  $("empty").hidden = true;
  const row = document.createElement("li");
  row.className = "event";
  row.dataset.id = event.id;
  row.title = new Date(event.time).toISOString();
  const where = cell("div", "where", "");
  const topic = cell("div", "topic", event.topic);
  // A Mercure topic (a URL) rarely fits its column.
  topic.title = event.topic;
  where.append(topic);
  if (event.event) where.append(cell("span", "type", event.event));
  row.append(
    cell("span", "id", `#${event.id}`),
    cell("span", "time", clock(event.time)),
    where,
    cell("pre", "data", format(event.data)),
  );
  if (event.mercure) row.append(mercureLine(event.mercure));
  applyFilter(row);

  const list = $("events");
  let before = list.firstElementChild;
  while (before && BigInt(before.dataset.id ?? "0") > BigInt(event.id)) before = before.nextElementSibling;
  list.insertBefore(row, before);
  while (list.children.length > MAX_ROWS) list.lastElementChild.remove();
}

function notice(text) {
  const row = cell("li", "event notice", "");
  row.append(cell("span", "id", "—"), cell("span", "time", clock(Date.now())), cell("span", "text", text));
  $("events").prepend(row);
}

function clearList() {
  received = 0;
  $("events").replaceChildren();
  $("count").textContent = "0";
  $("last-id").textContent = feed.lastId ?? "–";
  $("empty").hidden = false;
}

function subscribe(event) {
  event?.preventDefault();
  const wanted = words($("selectors").value);
  const bad = wanted.find((s) => !SELECTOR.test(s));
  const resume = $("resume").value.trim();
  const problem = !wanted.length
    ? "Enter a topic selector"
    : bad !== undefined
      ? `Not a selector: ${bad}`
      : resume && !/^\d+$/.test(resume)
        ? "Resume after: an event id, or empty"
        : null;
  feed.hooks.onError(problem);
  if (problem) return;
  selectors = wanted;
  localStorage.setItem("herald.selectors", wanted.join(" "));
  history.replaceState(null, "", `/?${new URLSearchParams(wanted.map((s) => ["topic", s]))}`);
  void feed.start(resume || null); // resets the feed's last id at once, before it awaits anything
  clearList();
}

async function publish(event) {
  event.preventDefault();
  const topic = $("publish-topic").value.trim();
  const type = $("publish-type").value.trim();
  const asJson = $("publish-json").checked;
  const headers = { "Content-Type": asJson ? "application/json" : "text/plain; charset=utf-8" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  let body = $("publish-data").value;
  if (asJson) {
    try {
      const data = JSON.parse(body || "null");
      body = JSON.stringify(type ? { data, event: type } : { data });
    } catch {
      return result("Data is not valid JSON: untick JSON to send it as text", "bad");
    }
  }
  const params = type && !asJson ? `?${new URLSearchParams({ event: type })}` : "";
  feed.listen(type);
  try {
    const res = await fetch(`/topics/${encodeURIComponent(topic)}/events${params}`, { method: "POST", headers, body });
    const answer = await res.json();
    if (!res.ok) return result(`${res.status} ${answer.error?.code}: ${answer.error?.message}`, "bad");
    localStorage.setItem("herald.topic", topic);
    result(`Published #${answer.id} to ${answer.topic}`, "ok");
    void loadTopics();
  } catch (error) {
    result(`Not sent: ${error.message}`, "bad");
  }
}

function result(text, kind) {
  $("publish-result").textContent = text;
  $("publish-result").className = `result ${kind}`;
}

/** The `after` of the next page of topics, or null when the list is complete. */
let nextTopics = null;

/** Reads one page of topics: the first (replacing the list), or the one after those shown (`more`). */
async function loadTopics(more = false) {
  try {
    const params = new URLSearchParams({ limit: "50" });
    if (more && nextTopics !== null) params.set("after", nextTopics);
    if (token()) params.set("access_token", token());
    const res = await fetch(`/topics?${params}`);
    if (!res.ok) return;
    const { topics, next } = await res.json();
    nextTopics = next;
    $("topics-more").hidden = next === null;
    const items = topics.map((t) => {
      const li = document.createElement("li");
      li.title = `${t.events} events, last #${t.lastId} at ${t.lastTime}`;
      li.append(cell("code", "name", t.topic), cell("span", "muted", `${t.events} · #${t.lastId}`));
      li.onclick = () => addSelector(t.topic);
      return li;
    });
    if (more) $("topics").append(...items);
    else if (items.length) $("topics").replaceChildren(...items);
  } catch {
    // the hub is restarting: the next refresh fills the list
  }
}

function addSelector(topic) {
  const current = words($("selectors").value);
  if (!current.includes(topic)) $("selectors").value = [...current, topic].join(" ");
  if (!$("publish-topic").value) $("publish-topic").value = topic;
}

function applyFilter(row) {
  const needle = $("filter").value.trim().toLowerCase();
  row.hidden = needle !== "" && !row.textContent.toLowerCase().includes(needle);
}

const fromUrl = new URLSearchParams(location.search).getAll("topic");
$("selectors").value = fromUrl.length ? fromUrl.join(" ") : (localStorage.getItem("herald.selectors") ?? "*");
$("publish-topic").value = localStorage.getItem("herald.topic") ?? "news";
$("subscribe-form").addEventListener("submit", subscribe);
$("disconnect").addEventListener("click", () => feed.stop());
$("publish-form").addEventListener("submit", publish);
$("publish-data").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("publish-form").requestSubmit();
});
$("topics-refresh").addEventListener("click", () => loadTopics());
$("topics-more").addEventListener("click", () => loadTopics(true));
$("token-form").addEventListener("submit", (e) => e.preventDefault());
$("clear").addEventListener("click", clearList);
$("filter").addEventListener("input", () => {
  for (const row of $("events").children) applyFilter(row);
});
void loadTopics();
subscribe();
