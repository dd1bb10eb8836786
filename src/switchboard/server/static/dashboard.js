// Switchboard dashboard: polls /api/accounts and /api/latency, and shows live newMessage pushes
// from a /workers WebSocket (watchAll). No framework, no build step; every value from the
// server goes into the page through textContent, never innerHTML.
"use strict";

(() => {
  const REFRESH_MS = 2000;          // how often accounts and latency are re-read
  const WINDOW_S = 600;             // the latency chart's span
  const FEED_MAX_ITEMS = 50;        // live feed entries kept on the page
  const RECONNECT_MAX_MS = 30000;   // cap of the WebSocket reconnect backoff
  const PENDING_MAX = 100;          // getMessages replies awaited at once
  const TOKEN_KEY = "switchboard.token";
  const SVG_NS = "http://www.w3.org/2000/svg";

  const $ = (id) => document.getElementById(id);
  let token = null;
  let authFailed = false;
  let started = false;
  let ws = null;
  let reconnectMs = 1000;
  let nextTag = 1;
  const pending = new Map();  // tag -> callback(response)

  class AuthError extends Error {}
  let authMessage = null;  // why the server refused us, for the auth card

  // -- token ---------------------------------------------------------------------------------

  function readToken() {
    const match = location.hash.match(/(?:^#|&)token=([^&]*)/);
    if (match) {
      const offered = decodeURIComponent(match[1]);
      sessionStorage.setItem(TOKEN_KEY, offered);
      // Keep the token out of the address bar, history and screenshots.
      history.replaceState(null, "", location.pathname + location.search);
      return offered;
    }
    return sessionStorage.getItem(TOKEN_KEY);
  }

  // -- HTTP API ------------------------------------------------------------------------------

  async function api(path) {
    const headers = token ? { Authorization: "Bearer " + token } : {};
    const response = await fetch(path, { headers, cache: "no-store" });
    if (response.status === 401) throw new AuthError("the server refused this token.");
    if (response.status === 403) throw new AuthError("this token may not read the dashboard (a client token?).");
    if (!response.ok) throw new Error(path + ": HTTP " + response.status);
    return response.json();
  }

  async function refresh() {
    if (authFailed) return;
    try {
      const [health, accounts, latency] = await Promise.all([
        api("/health"), api("/api/accounts"), api("/api/latency?window_s=" + WINDOW_S),
      ]);
      showData();
      $("version").textContent = "v" + health.version;
      renderTiles(accounts, latency);
      renderAccounts(accounts);
      renderChart(latency);
      setBanner(null);
      if (!ws) openSocket();
    } catch (err) {
      if (err instanceof AuthError) {
        authMessage = err.message;
        showAuthNeeded();
      } else {
        setBanner("Cannot reach the Switchboard server; retrying… (" + err.message + ")");
        setPill("bad", "server unreachable");
      }
    }
  }

  // -- page states ---------------------------------------------------------------------------

  function showData() {
    $("auth").hidden = true;
    $("data").hidden = false;
  }

  // The server answered 401/403. Without a token nothing was tried yet: ask for one. Only a
  // token that was sent and refused is an authentication failure.
  function showAuthNeeded() {
    authFailed = true;
    closeSocket();
    // No data may stay on the page once the server refused us.
    $("data").hidden = true;
    $("accounts").tBodies[0].replaceChildren();
    $("feed").replaceChildren();
    $("chart").replaceChildren();
    $("version").textContent = "";
    $("auth").hidden = false;
    const error = $("auth-error");
    if (token) {
      error.hidden = false;
      error.textContent = "Authentication failed: " + (authMessage || "the server refused this token.");
      $("auth-title").textContent = "Authentication failed";
      setPill("bad", "authentication failed");
    } else {
      error.hidden = true;
      error.textContent = "";
      $("auth-title").textContent = "Sign in";
      setPill("wait", "token required");
    }
    setBanner(null);
    $("token-input").focus();
  }

  function setBanner(text) {
    const banner = $("error-banner");
    banner.hidden = !text;
    banner.textContent = text || "";
  }

  function setPill(kind, text) {
    const pill = $("conn");
    pill.className = "pill pill-" + kind;
    pill.dataset.state = text;
    pill.textContent = text;
  }

  // -- rendering -----------------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function ago(unixTime) {
    if (unixTime === null || unixTime === undefined) return "never";
    const seconds = Math.max(0, Date.now() / 1000 - unixTime);
    if (seconds < 60) return Math.round(seconds) + " s ago";
    if (seconds < 3600) return Math.round(seconds / 60) + " min ago";
    return new Date(unixTime * 1000).toLocaleString();
  }

  // "retrying in 42 s" for an account waiting out its backoff; "" when none is scheduled.
  function retryIn(unixTime) {
    if (unixTime === null || unixTime === undefined) return "";
    const seconds = Math.max(0, unixTime - Date.now() / 1000);
    if (seconds < 90) return "retrying in " + Math.round(seconds) + " s";
    return "retrying in " + Math.round(seconds / 60) + " min";
  }

  function failures(counters) {
    let total = 0;
    for (const [name, value] of Object.entries(counters)) {
      if (name.startsWith("failures_") || name === "auth_failures") total += value;
    }
    return total;
  }

  // The account's events in the server's log (they survive restarts); this run's counter
  // from a server that does not send them.
  function eventCount(account) {
    return account.events ?? (account.counters.events || 0);
  }

  function renderTiles(accounts, latency) {
    // In a cluster, accounts another node watches ("remote") count as healthy there.
    const healthy = accounts.filter(
      (a) => a.state === "idle" || a.state === "syncing" || a.state === "remote").length;
    const events = accounts.reduce((sum, a) => sum + eventCount(a), 0);
    $("t-accounts").textContent = accounts.length;
    $("t-healthy").textContent = healthy + " / " + accounts.length;
    $("t-events").textContent = events;
    $("t-latency").textContent = latency.count
      ? latency.p50Ms.toFixed(1) + " / " + latency.p95Ms.toFixed(1) + " ms"
      : "–";
  }

  // The "Node" column exists only on a cluster node (any account with a node field).
  function showNodeColumn(shown) {
    const head = $("accounts").tHead.rows[0];
    const existing = head.querySelector("th.node");
    if (shown && !existing) {
      const th = el("th", "node", "Node");
      head.insertBefore(th, head.cells[2]);
    } else if (!shown && existing) {
      existing.remove();
    }
  }

  function renderAccounts(accounts) {
    const clustered = accounts.some((a) => a.node !== undefined);
    showNodeColumn(clustered);
    const rows = accounts.map((account) => {
      const tr = el("tr");
      tr.dataset.account = account.account;
      const name = el("td");
      name.append(el("div", "account", account.account));
      if (account.lastError) {
        const retry = retryIn(account.retryAt);
        name.append(el("div", "error", account.lastError + (retry ? " — " + retry : "")));
      }
      tr.append(name);
      tr.append(el("td", "muted", account.host + ":" + account.port));
      if (clustered) tr.append(el("td", "node", account.node || "–"));
      const state = el("td");
      state.append(el("span", "badge s-" + account.state, account.state));
      state.dataset.state = account.state;
      tr.append(state);
      const boxes = el("td");
      if (account.mailboxes.length === 0) boxes.append(el("span", "muted", "none watched"));
      for (const box of account.mailboxes) {
        const item = el("span", "mailbox");
        item.title = box.state + (box.lastError ? ": " + box.lastError : "") +
          (box.retryAt ? " (" + retryIn(box.retryAt) + ")" : "");
        item.append(el("span", "dot s-" + box.state), el("span", null, box.displayName));
        boxes.append(item);
      }
      tr.append(boxes);
      tr.append(el("td", null, ago(account.lastEventAt)));
      tr.append(el("td", "num", eventCount(account)));
      tr.append(el("td", "num", account.counters.connects || 0));
      tr.append(el("td", "num", failures(account.counters)));
      return tr;
    });
    $("accounts").tBodies[0].replaceChildren(...rows);
    $("no-accounts").hidden = accounts.length > 0;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function niceCeiling(value) {
    const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000];
    return steps.find((s) => s >= value) || value;
  }

  function renderChart(latency) {
    const box = $("chart");
    const width = Math.max(box.clientWidth, 200);
    const height = Math.max(box.clientHeight, 120);
    const left = 44, right = 10, top = 10, bottom = 22;
    const plotW = width - left - right, plotH = height - top - bottom;
    const maxMs = niceCeiling(Math.max(1, ...latency.samples.map((s) => s[1])));
    const start = latency.now - latency.windowS;
    const x = (t) => left + ((t - start) / latency.windowS) * plotW;
    const y = (ms) => top + plotH - (ms / maxMs) * plotH;
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
    for (const fraction of [0, 0.5, 1]) {
      const ms = maxMs * fraction;
      root.append(svg("line", { class: fraction ? "grid" : "axis", x1: left, x2: width - right, y1: y(ms), y2: y(ms) }));
      root.append(svg("text", { class: "label", x: left - 6, y: y(ms) + 4, "text-anchor": "end" },
        (Number.isInteger(ms) ? ms : ms.toFixed(1)) + " ms"));
    }
    const minutes = Math.round(latency.windowS / 60);
    for (const [t, label] of [[start, "−" + minutes + " min"], [start + latency.windowS / 2, "−" + minutes / 2 + " min"], [latency.now, "now"]]) {
      root.append(svg("text", { class: "label", x: x(t), y: height - 6, "text-anchor": t === start ? "start" : t === latency.now ? "end" : "middle" }, label));
    }
    if (latency.samples.length > 1) {
      root.append(svg("polyline", { class: "line", points: latency.samples.map((s) => x(s[0]) + "," + y(s[1])).join(" ") }));
    }
    for (const [t, ms] of latency.samples) {
      const point = svg("circle", { class: "point", cx: x(t), cy: y(ms), r: 3 });
      point.append(svg("title", {}, ms.toFixed(1) + " ms at " + new Date(t * 1000).toLocaleTimeString()));
      root.append(point);
    }
    box.replaceChildren(root);
    $("chart-empty").hidden = latency.samples.length > 0;
  }

  // -- live feed over /workers ---------------------------------------------------------------

  function socketUrl() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const query = token ? "?token=" + encodeURIComponent(token) : "";
    return scheme + location.host + "/workers" + query;
  }

  function send(method, args, onReply) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const tag = "d" + nextTag++;
    if (onReply) {
      if (pending.size >= PENDING_MAX) return;
      pending.set(tag, onReply);
    }
    ws.send(JSON.stringify([[method, args, tag]]));
  }

  function openSocket() {
    const socket = new WebSocket(socketUrl());
    ws = socket;
    $("feed-state").textContent = "connecting…";
    socket.addEventListener("open", () => {
      reconnectMs = 1000;
      send("watchAll", {}, () => {
        $("feed-state").textContent = "live";
        setPill("ok", "live");
      });
    });
    socket.addEventListener("message", (message) => {
      let frame;
      try { frame = JSON.parse(message.data); } catch (err) { return; }
      if (!Array.isArray(frame)) return;
      for (const response of frame) {
        if (!Array.isArray(response)) continue;
        const [name, args, tag] = response;
        if (tag !== undefined && pending.has(tag)) {
          const callback = pending.get(tag);
          pending.delete(tag);
          callback(response);
        } else if (name === "newMessage" && args) {
          addFeedItem(args);
        }
      }
    });
    socket.addEventListener("close", () => {
      if (ws !== socket) return;
      ws = null;
      pending.clear();
      if (authFailed) return;
      $("feed-state").textContent = "reconnecting…";
      setPill("wait", "feed reconnecting");
      // The next refresh() tells a refused token (401) from a server that is down.
      setTimeout(() => { if (!ws && !authFailed) openSocket(); }, reconnectMs);
      reconnectMs = Math.min(reconnectMs * 2, RECONNECT_MAX_MS);
    });
  }

  function closeSocket() {
    if (ws) {
      const socket = ws;
      ws = null;
      socket.close();
    }
    pending.clear();
  }

  function mailboxOf(args) {
    const mailboxId = args.mailboxId || "";
    const bang = mailboxId.lastIndexOf("!");
    return bang > 0 ? mailboxId.slice(0, bang) : mailboxId;
  }

  function addFeedItem(args) {
    const item = el("li", "fresh");
    item.dataset.messageId = args.messageId || "";
    item.dataset.account = args.account || "";
    const what = el("span", "what", "New message");
    item.append(
      el("span", "time", new Date().toLocaleTimeString([], { hour12: false })),
      what,
      el("span", "where", (args.account || "?") + " · " + mailboxOf(args) + " · " + (args.messageId || "")),
    );
    const feed = $("feed");
    feed.prepend(item);
    while (feed.children.length > FEED_MAX_ITEMS) feed.lastElementChild.remove();
    $("feed-empty").hidden = true;
    if (args.account && args.messageId) {
      send("getMessages",
        { account: args.account, ids: [args.messageId], properties: ["subject", "from"] },
        (response) => {
          const message = response[0] === "messages" && response[1].list && response[1].list[0];
          if (!message) return;
          const subject = message.subjectDecoded ?? message.subject ?? "(no subject)";
          const sender = message.from && message.from[0]
            ? message.from[0].decodedName || message.from[0].name || message.from[0].email
            : null;
          what.textContent = sender ? subject + " — " + sender : subject;
        });
    }
  }

  // -- start ---------------------------------------------------------------------------------

  function start() {
    authFailed = false;
    if (!started) {
      started = true;
      setInterval(refresh, REFRESH_MS);
    }
    refresh();
  }

  document.addEventListener("DOMContentLoaded", () => {
    token = readToken();
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      token = $("token-input").value.trim() || null;
      $("token-input").value = "";
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
      setPill("wait", "connecting…");
      start();
    });
    start();
  });
})();
