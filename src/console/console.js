// The Herald console in the browser: EventSource for live events, fetch to publish, every event shown once.

const $ = (id) => document.getElementById(id);
const SELECTOR = /^(\*|[A-Za-z0-9][A-Za-z0-9._:-]{0,199}\*?)$/;
const MAX_ROWS = 1000;
const POLL_MS = 1000;

const state = {
  es: null,
  selectors: [],
  lastId: null,
  seen: new Set(),
  types: new Set(),
  cursor: "0",
  retryTimer: null,
  retryMs: 1000,
  pollTimer: null,
  // Bumped on every (re)subscription, so an answer to an older poll is dropped.
  generation: 0,
};

function setState(name, text = name) {
  $("state").dataset.state = name;
  $("state").textContent = text;
}

function withToken(params) {
  const token = $("token").value.trim();
  if (token) params.set("access_token", token);
  return params;
}

function query(selectors, extra = {}) {
  const params = new URLSearchParams();
  for (const s of selectors) params.append("topic", s);
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  return withToken(params);
}

const laterId = (a, b) => (a === null || BigInt(b) > BigInt(a) ? b : a);

/** One row per id, kept in id order (newest first) whichever path brought the event. */
function show(event) {
  if (state.seen.has(event.id)) return;
  state.seen.add(event.id);
  state.lastId = laterId(state.lastId, event.id);
  $("last-id").textContent = state.lastId;
  $("count").textContent = String(state.seen.size);
  $("empty").hidden = true;

  const row = document.createElement("li");
  row.className = "event";
  row.dataset.id = event.id;
  const id = cell("span", "id", `#${event.id}`);
  const time = cell("span", "time", new Date(event.time).toLocaleTimeString([], { hour12: false }));
  const where = cell("div", "where", "");
  where.append(cell("div", "topic", event.topic));
  if (event.event) where.append(cell("span", "type", event.event));
  const data = cell("pre", "data", format(event.data));
  row.append(id, time, where, data);
  row.title = new Date(event.time).toISOString();
  applyFilter(row);

  const list = $("events");
  let before = list.firstElementChild;
  while (before && BigInt(before.dataset.id ?? "0") > BigInt(event.id)) before = before.nextElementSibling;
  list.insertBefore(row, before);
  while (list.children.length > MAX_ROWS) list.lastElementChild.remove();
}

/** Strings as they are; small JSON on one spaced line, larger JSON indented. */
function format(data) {
  if (typeof data === "string") return data;
  // JSON escapes line breaks inside strings, so every real one here is indentation.
  const line = JSON.stringify(data, null, 1).replace(/\n\s*/g, " ");
  return line.length <= 120 ? line : JSON.stringify(data, null, 2);
}

function notice(text) {
  const row = document.createElement("li");
  row.className = "event notice";
  row.append(cell("span", "id", "—"), cell("span", "time", new Date().toLocaleTimeString([], { hour12: false })));
  row.append(cell("span", "text", text));
  $("events").prepend(row);
}

function cell(tag, className, text) {
  const el = document.createElement(tag);
  el.className = className;
  el.textContent = text;
  return el;
}

function onMessage(message) {
  try {
    show(JSON.parse(message.data));
  } catch {
    notice(`unreadable event ${message.lastEventId}`);
  }
}

/** EventSource hands typed events only to listeners of that type and has no wildcard: listen to each type seen. */
function listen(type) {
  if (!type || state.types.has(type)) return;
  state.types.add(type);
  state.es?.addEventListener(type, onMessage);
}

function connect(resumeAfter) {
  clearTimeout(state.retryTimer);
  state.es?.close();
  const extra = { envelope: "true" };
  if (resumeAfter !== null) extra.lastEventId = resumeAfter;
  const es = new EventSource(`/stream?${query(state.selectors, extra)}`);
  state.es = es;
  es.onmessage = onMessage;
  for (const type of state.types) es.addEventListener(type, onMessage);
  es.addEventListener("herald.gap", (m) => {
    const gap = JSON.parse(m.data);
    notice(
      gap.prunedThrough ? `gap: events up to #${gap.prunedThrough} were pruned` : "gap: the log is older than the last id seen",
    );
  });
  es.onopen = () => {
    state.retryMs = 1000;
    $("stream-error").hidden = true;
    setState("live");
  };
  es.onerror = () => {
    if (es !== state.es) return;
    // CONNECTING: the browser retries by itself, sending Last-Event-ID. CLOSED: it gave up (an HTTP error), so we retry.
    if (es.readyState === EventSource.CONNECTING) return setState("reconnecting");
    void explainAndRetry();
  };
}

/**
 * EventSource hides why a stream was refused. /events checks the same selectors and token without taking a stream
 * slot (a probe of /stream would hold the very slot the retry needs): a client error there stops the retries.
 */
async function explainAndRetry() {
  const resumeAfter = state.lastId ?? state.cursor;
  const generation = state.generation;
  let retry = true;
  let reason = "The hub refused the stream (busy, or restarting): retrying";
  try {
    const res = await fetch(`/events?${query(state.selectors, { after: resumeAfter, limit: "1" })}`);
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      reason = body?.error?.message ?? `HTTP ${res.status}`;
      retry = res.status >= 500;
    }
  } catch {
    reason = "The hub is unreachable: retrying";
  }
  if (generation !== state.generation) return;
  showStreamError(reason);
  if (!retry) return setState("closed", "refused");
  const wait = state.retryMs;
  state.retryMs = Math.min(state.retryMs * 2, 10000);
  setState("reconnecting", `retrying in ${Math.round(wait / 1000)} s`);
  state.retryTimer = setTimeout(() => connect(resumeAfter), wait);
}

function showStreamError(text) {
  $("stream-error").textContent = text;
  $("stream-error").hidden = false;
}

/**
 * EventSource drops typed events nobody listens to, silently. The log tells which types exist: on finding an
 * event the stream must have dropped, listen to its type and reconnect from just before it (`lastEventId`), so the
 * replay brings it; events already shown are skipped by id.
 */
async function poll() {
  clearTimeout(state.pollTimer);
  if (!state.selectors.length) return;
  const generation = state.generation;
  let full = false;
  try {
    const res = await fetch(`/events?${query(state.selectors, { after: state.cursor, limit: "1000" })}`);
    const page = res.ok ? await res.json() : { events: [], next: null };
    if (generation !== state.generation) return;
    let missed = null;
    for (const event of page.events) {
      const known = state.types.has(event.event);
      listen(event.event);
      // Delivered in id order: an unseen event before the last one shown was dropped, as is one of a new type.
      const dropped = event.event && !state.seen.has(event.id) && (!known || BigInt(event.id) < BigInt(state.lastId ?? "0"));
      if (dropped && missed === null) missed = event.id;
      state.cursor = laterId(state.cursor, event.id);
    }
    full = page.next !== null;
    if (missed !== null) connect((BigInt(missed) - 1n).toString());
  } catch {
    // the hub is restarting: try again next round
  }
  state.pollTimer = setTimeout(poll, full ? 0 : POLL_MS);
}

async function subscribe(event) {
  event?.preventDefault();
  const selectors = $("selectors")
    .value.split(/[\s,]+/)
    .filter(Boolean);
  const bad = selectors.find((s) => !SELECTOR.test(s));
  if (!selectors.length || bad !== undefined) return showStreamError(bad ? `not a selector: ${bad}` : "enter a topic selector");
  const resume = $("resume").value.trim();
  if (resume && !/^\d+$/.test(resume)) return showStreamError("resume after: an event id, or empty");
  $("stream-error").hidden = true;
  localStorage.setItem("herald.selectors", selectors.join(" "));
  history.replaceState(null, "", `/?${new URLSearchParams(selectors.map((s) => ["topic", s]))}`);
  if (state.selectors.join(" ") !== selectors.join(" ")) clearEvents();
  state.selectors = selectors;
  state.generation++;
  clearTimeout(state.pollTimer);
  clearTimeout(state.retryTimer);
  state.es?.close();
  // Live only still starts from a known id, the head, so the stream and the history poll share one starting point.
  state.cursor = resume || (await headId());
  setState("connecting");
  connect(state.cursor);
  void poll();
}

async function headId() {
  try {
    return (await (await fetch("/health")).json()).lastEventId ?? "0";
  } catch {
    return "0";
  }
}

function disconnect() {
  state.selectors = [];
  state.generation++;
  clearTimeout(state.retryTimer);
  clearTimeout(state.pollTimer);
  state.es?.close();
  state.es = null;
  setState("idle");
}

function clearEvents() {
  state.seen.clear();
  state.lastId = null;
  $("events").replaceChildren();
  $("count").textContent = "0";
  $("last-id").textContent = "–";
  $("empty").hidden = false;
}

async function publish(event) {
  event.preventDefault();
  const topic = $("publish-topic").value.trim();
  const type = $("publish-type").value.trim();
  const text = $("publish-data").value;
  const headers = { "Content-Type": $("publish-json").checked ? "application/json" : "text/plain; charset=utf-8" };
  const token = $("token").value.trim();
  if (token) headers.Authorization = `Bearer ${token}`;
  let body = text;
  if ($("publish-json").checked) {
    try {
      body = JSON.stringify(type ? { data: JSON.parse(text || "null"), event: type } : { data: JSON.parse(text || "null") });
    } catch {
      return result("Data is not valid JSON: untick JSON to send it as text", "bad");
    }
  }
  const params = type && !$("publish-json").checked ? `?${new URLSearchParams({ event: type })}` : "";
  listen(type);
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

async function loadTopics() {
  try {
    const params = withToken(new URLSearchParams());
    const res = await fetch(params.size ? `/topics?${params}` : "/topics");
    if (!res.ok) return;
    const { topics } = await res.json();
    const items = topics.map((t) => {
      const li = document.createElement("li");
      li.title = `${t.events} events, last #${t.lastId} at ${t.lastTime}`;
      li.append(cell("code", "name", t.topic), cell("span", "muted", `${t.events} · #${t.lastId}`));
      li.onclick = () => addSelector(t.topic);
      return li;
    });
    if (items.length) $("topics").replaceChildren(...items);
  } catch {
    // the hub is restarting: the next refresh fills the list
  }
}

function addSelector(topic) {
  const current = $("selectors")
    .value.split(/[\s,]+/)
    .filter(Boolean);
  if (!current.includes(topic)) $("selectors").value = [...current, topic].join(" ");
  if (!$("publish-topic").value) $("publish-topic").value = topic;
}

function applyFilter(row) {
  const needle = $("filter").value.trim().toLowerCase();
  row.hidden = needle !== "" && !row.textContent.toLowerCase().includes(needle);
}

document.addEventListener("DOMContentLoaded", () => {
  const fromUrl = new URLSearchParams(location.search).getAll("topic");
  $("selectors").value = fromUrl.length ? fromUrl.join(" ") : (localStorage.getItem("herald.selectors") ?? "*");
  $("publish-topic").value = localStorage.getItem("herald.topic") ?? "news";
  $("subscribe-form").addEventListener("submit", subscribe);
  $("disconnect").addEventListener("click", disconnect);
  $("publish-form").addEventListener("submit", publish);
  $("publish-data").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("publish-form").requestSubmit();
  });
  $("topics-refresh").addEventListener("click", loadTopics);
  $("token-form").addEventListener("submit", (e) => e.preventDefault());
  $("clear").addEventListener("click", clearEvents);
  $("filter").addEventListener("input", () => {
    for (const row of $("events").children) applyFilter(row);
  });
  void loadTopics();
  void subscribe();
});
