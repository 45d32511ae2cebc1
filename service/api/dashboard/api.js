// Every request goes to this page's own origin with the token (kept in sessionStorage) as a
// bearer and a JSON content type, as the API's Origin and content-type rules ask.
const TOKEN_KEY = "driftlab-token";
export const FINAL = new Set(["succeeded", "failed", "cancelled", "budget_exceeded", "interrupted"]);

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) || "",
  set: (value) => (value ? sessionStorage.setItem(TOKEN_KEY, value) : sessionStorage.removeItem(TOKEN_KEY)),
};

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error || `HTTP ${status}`);
    this.status = status;
    this.problems = body?.problems || [];
  }
}

function headers(extra = {}) {
  const all = { "Content-Type": "application/json", Accept: "application/json", ...extra };
  if (token.get()) all.Authorization = `Bearer ${token.get()}`;
  return all;
}

async function send(method, path, body, extra) {
  const response = await fetch(path, {
    method,
    headers: headers(extra),
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (response.status === 401) window.dispatchEvent(new Event("driftlab:unauthorized"));
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  return response;
}

export async function request(method, path, body) {
  const response = await send(method, path, body);
  return response.status === 204 ? null : response.json();
}

export const get = (path) => request("GET", path);
export const post = (path, body = {}) => request("POST", path, body);
export const del = (path) => request("DELETE", path);
export const run = (id) => `/v1/runs/${encodeURIComponent(id)}`;
export const study = (id) => `/v1/studies/${encodeURIComponent(id)}`;

/** A binary answer (a PNG) as an object URL, fetched with the token. */
export async function blobUrl(path) {
  const response = await send("GET", path, undefined, { Accept: "*/*" });
  return URL.createObjectURL(await response.blob());
}

/** Every page of a list route. */
export async function all(path) {
  const items = [];
  let cursor = null;
  do {
    const page = await get(`${path}${path.includes("?") ? "&" : "?"}limit=1000${cursor ? `&cursor=${cursor}` : ""}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

/** A run's events, as the server sends them, until its final status or `signal` aborts.
 * fetch (not EventSource) so that the token goes as a header; a dropped stream reconnects
 * with Last-Event-ID and gets every event after the last one seen. */
export async function followEvents(runId, onEvent, signal) {
  let last = null;
  while (!signal.aborted) {
    let finished = false;
    try {
      const extra = { Accept: "text/event-stream", ...(last ? { "Last-Event-ID": last } : {}) };
      const response = await send("GET", `${run(runId)}/events`, undefined, extra);
      if (response.status === 204) return;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      const frames = new FrameSplitter();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const frame of frames.push(value)) {
          const event = parseFrame(frame);
          if (!event) continue;
          last = event.id;
          onEvent(event);
          finished ||= event.type === "status" && FINAL.has(event.data.status);
        }
      }
    } catch (error) {
      if (signal.aborted || (error instanceof ApiError && error.status !== 503)) throw error;
    }
    if (finished) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** A text/event-stream cut into frames as its chunks arrive, each character looked at about
 * once: a round event of 5,000 messages comes in many chunks. */
class FrameSplitter {
  constructor() {
    this.buffer = "";
    this.searched = 0; // the buffer before this is known to hold no frame's end
    this.carry = ""; // a chunk's last "\r", which may begin a "\r\n"
  }

  push(chunk) {
    let text = this.carry + chunk;
    this.carry = text.endsWith("\r") ? "\r" : "";
    if (this.carry) text = text.slice(0, -1);
    this.buffer += text.replace(/\r\n?/g, "\n");
    const frames = [];
    let start = 0;
    let end;
    while ((end = this.buffer.indexOf("\n\n", Math.max(start, this.searched - 1))) >= 0) {
      frames.push(this.buffer.slice(start, end));
      start = end + 2;
    }
    this.buffer = this.buffer.slice(start);
    this.searched = this.buffer.length;
    return frames;
  }
}

function parseFrame(frame) {
  const fields = { data: [] };
  for (const line of frame.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const at = line.indexOf(":");
    const name = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
    if (name === "data") fields.data.push(value);
    else fields[name] = value;
  }
  if (!fields.data.length) return null;
  return { id: fields.id, type: fields.event || "message", data: JSON.parse(fields.data.join("\n")) };
}
