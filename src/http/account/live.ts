// Live updates of the account page: Server-Sent Events at /account/events tell an open page
// that something changed (a client connected or left, something was revoked, a security event
// was recorded), and the page's script (LIVE_JS, served at /account/live.js) fetches the two
// tables again. A page whose sign-in ended elsewhere is sent to the sign-in form. Without
// scripts the page is complete as served; this only spares the reload.
//
// Two parts. What happened goes through the fan-out the composition root provides
// (src/state/fanout.ts: `accountUpdates`), so that every node hears it: "account X changed" and
// "sign-in Y ended" (announced by the browser sessions: sessionAnnouncements). The open event
// streams are this node's (LiveHub): they listen to the fan-out and write to their pages. A
// sign-in is known across nodes by its handle, not by this node's object for it.
import type http from "node:http";
import type { HttpRequest } from "../server.js";
import type { BrowserSession, EndReason } from "./sessions.js";
import type { Fanout } from "../../state/fanout.js";

/** What every node's open pages are told. */
export type AccountUpdate = { kind: "changed"; username: string } | { kind: "ended"; username: string; handle: string; reason: EndReason };

declare module "../../core/services.js" {
  interface Services {
    accountUpdates: Fanout<AccountUpdate>;
  }
}

const DEBOUNCE_MS = 100;
const KEEPALIVE_MS = 25_000;
const MAX_PER_SESSION = 8;

interface Conn {
  res: http.ServerResponse;
  session: BrowserSession;
  keepalive: NodeJS.Timeout;
}

/** What the browser sessions announce (src/app/compose.ts wires them): a sign-in ended, an account's sign-ins changed. */
export function sessionAnnouncements(updates: Fanout<AccountUpdate>) {
  return {
    ended: (s: BrowserSession, reason: EndReason) => updates.publish({ kind: "ended", username: s.username, handle: s.handle, reason }),
    changed: (username: string) => updates.publish({ kind: "changed", username }),
  };
}

/** The open event streams of this node, by account. */
export class LiveHub {
  private readonly byUser = new Map<string, Set<Conn>>();
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly unsubscribe: () => void;

  constructor(private readonly updates: Fanout<AccountUpdate>) {
    this.unsubscribe = updates.subscribe((u) => (u.kind === "changed" ? this.show(u.username) : this.signOut(u.username, u.handle, u.reason)));
  }

  /** Starts an event stream for this signed-in request (the handler's response). */
  open(req: HttpRequest, session: BrowserSession): void {
    const res = req.res;
    const set = this.byUser.get(session.username) ?? new Set<Conn>();
    const mine = [...set].filter((c) => c.session.handle === session.handle);
    if (mine.length >= MAX_PER_SESSION) this.close(mine[0]!);
    res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
    res.setHeader("X-Accel-Buffering", "no");
    res.writeHead(200);
    res.write("retry: 3000\n: live\n\n");
    const conn: Conn = { res, session, keepalive: setInterval(() => res.write(": keepalive\n\n"), KEEPALIVE_MS) };
    conn.keepalive.unref();
    set.add(conn);
    this.byUser.set(session.username, set);
    req.raw.socket.setTimeout(0);
    res.on("close", () => this.drop(conn));
  }

  /** Whether this sign-in has a page open right now. */
  connected(session: BrowserSession): boolean {
    for (const c of this.byUser.get(session.username) ?? []) if (c.session.handle === session.handle) return true;
    return false;
  }

  /** Something the page shows may have changed for this account: every node's pages are told. */
  changed(username: string): void {
    this.updates.publish({ kind: "changed", username });
  }

  /** Heard from the fan-out: this node's pages of the account fetch the tables again (debounced). */
  private show(username: string): void {
    if (!this.byUser.has(username) || this.pending.has(username)) return;
    const t = setTimeout(() => {
      this.pending.delete(username);
      for (const c of this.byUser.get(username) ?? []) c.res.write("event: changed\ndata: {}\n\n");
    }, DEBOUNCE_MS);
    t.unref();
    this.pending.set(username, t);
  }

  /** Heard from the fan-out: a sign-in ended; its pages here are told (unless it was replaced by a new one in the same browser) and closed. */
  private signOut(username: string, handle: string, reason: EndReason): void {
    for (const c of [...(this.byUser.get(username) ?? [])]) {
      if (c.session.handle !== handle) continue;
      if (reason !== "replaced") c.res.write(`event: signed-out\ndata: ${JSON.stringify({ reason })}\n\n`);
      this.close(c);
    }
  }

  private close(c: Conn): void {
    this.drop(c);
    c.res.end();
  }

  private drop(c: Conn): void {
    clearInterval(c.keepalive);
    const set = this.byUser.get(c.session.username);
    if (!set) return;
    set.delete(c);
    if (set.size === 0) this.byUser.delete(c.session.username);
  }

  stop(): void {
    this.unsubscribe();
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    for (const set of [...this.byUser.values()]) for (const c of [...set]) this.close(c);
  }
}

/** The page's script: live tables, local times, focus kept across updates. */
export const LIVE_JS = `// Warden account page: live updates (the page works without this script).
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  function localise(root) {
    var times = root.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var t = times[i], d = new Date(t.getAttribute("datetime"));
      if (isNaN(d.getTime()) || t.hasAttribute("data-local")) continue;
      t.title = t.textContent;
      t.textContent = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
      t.setAttribute("data-local", "");
    }
  }
  localise(document);
  if (!("EventSource" in window) || !window.fetch || !window.DOMParser) return;
  var busy = false, again = false, updates = 0;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch("/account/fragment", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 401) { location.assign("/account/login?ended=1"); return null; }
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (html === null) return;
      var doc = new DOMParser().parseFromString(html, "text/html");
      var focused = document.activeElement && document.activeElement.id;
      ["clients-table", "history-table"].forEach(function (id) {
        var fresh = doc.getElementById(id), old = document.getElementById(id);
        if (fresh && old) { var node = document.importNode(fresh, true); localise(node); old.replaceWith(node); }
      });
      if (focused) { var el = document.getElementById(focused); if (el && el !== document.activeElement) el.focus(); }
      updates++;
      document.body.setAttribute("data-live-updates", String(updates));
      if (status) status.textContent = "The lists were updated.";
    }).catch(function () { /* the next change tries again */ }).then(function () {
      busy = false;
      if (again) { again = false; refresh(); }
    });
  }
  var opened = false;
  var es = new EventSource("/account/events");
  es.addEventListener("open", function () {
    if (opened) refresh(); // reconnected: something may have been missed
    opened = true;
    document.body.setAttribute("data-live", "on");
  });
  es.addEventListener("changed", refresh);
  es.addEventListener("signed-out", function () {
    es.close();
    location.assign("/account/login?ended=1");
  });
  es.addEventListener("error", function () {
    if (es.readyState === EventSource.CLOSED) document.body.setAttribute("data-live", "off");
  });
})();
`;
