// XEP-0198 Stream Management: acks (<r/>, <a h/>), a queue of the stanzas the client has not
// acknowledged yet, hibernation of a session whose connection dropped, and resumption on a new
// connection: classic (<enable/>, <resume/> nonzas) and inline in SASL2 / Bind2 (XEP-0388,
// XEP-0386; events "sasl2-success", "sasl2-success-sent", "bind2-enable").
//
// Nothing is silently dropped: when a session with SM ends (hibernation over, closed by either
// side, replaced) every stanza the client did not acknowledge is handled: chat and normal
// messages are routed again to the account's bare JID (other resources, or offline storage),
// other stanzas bounce to their sender. Carbon copies and errors are the exceptions (their
// originals were delivered / errors are never answered).
//
// Sessions closed by the server (stream errors, revocation) are never hibernated; hibernating
// sessions of an account whose password changes, or whose grant, token or client is revoked,
// end at once.
import { randomBytes } from "node:crypto";
import { x, type Element } from "../xml/element.js";
import { NS_STANZAS, stanzaErrors, stanzaErrorElement, streamErrors, type StanzaErrorDef, type StreamErrorDef } from "../core/errors.js";
import { parseJid, JID } from "../core/jid.js";
import type { Server } from "../core/server.js";
import type { OutFilter, Session } from "../core/session.js";
import { defineFeature } from "../core/feature.js";

export const NS_SM = "urn:xmpp:sm:3";
const NS_CLIENT = "jabber:client";
const NS_CARBONS = "urn:xmpp:carbons:2";
/** 'h' counts wrap at 2^32 (XEP-0198 §5). */
const H_MOD = 2 ** 32;
/** Unacknowledged stanzas a connected session may have: past this it is closed (policy-violation). */
const LIVE_QUEUE_LIMIT = 10_000;
/** An <r/> unanswered for this long is asked again with the next stanza (a client may miss one). */
const ACK_RETRY_MS = 30_000;
/** How long a connection that went idle has to answer an <r/> before it is taken for dead. */
const PROBE_TIMEOUT_MS = 60_000;
/** Ended resumable sessions remembered (their final 'h'), so that a late <resume/> gets <failed h/>. */
const OLD_SESSIONS_KEPT = 1_000;
const ACK_REQUEST = `<r xmlns='${NS_SM}'/>`;

interface SmState {
  session: Session;
  /** The resumption id, when resumption was enabled. Unguessable, and bound to the account. */
  id: string | undefined;
  /** Seconds the session may hibernate. */
  max: number;
  /** Outbound stanzas not acknowledged yet, oldest first. */
  queue: Element[];
  /** The last 'h' the client acknowledged (mod 2^32); acked + queue.length = stanzas sent. */
  acked: number;
  /** session.stanzasIn when SM was enabled: the inbound 'h' is the difference. */
  inBase: number;
  /** An <r/> is on its way or unanswered (since ackRequestedAt): no need for another. */
  ackRequested: boolean;
  ackRequestedAt: number;
  overflowed: boolean;
  /** Set while an idle connection is being probed with <r/>. */
  probe: NodeJS.Timeout | undefined;
  /** Set while hibernating: the end of the hibernation. */
  expiry: NodeJS.Timeout | undefined;
}

type ResumeCheck = { ok: true; st: SmState; h: number } | { ok: false; def: StanzaErrorDef; h?: number };

function isStanza(el: Element): boolean {
  const n = el.name;
  return (n === "message" || n === "presence" || n === "iq") && (el.attrs.xmlns === undefined || el.attrs.xmlns === NS_CLIENT);
}

/** An 'h' attribute: an unsigned 32-bit integer. */
function parseH(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d{1,10}$/.test(v)) return undefined;
  const n = Number(v);
  return n < H_MOD ? n : undefined;
}

/** The inbound count to report: stanzas handled since SM was enabled, mod 2^32. */
function handled(st: SmState): number {
  return (st.session.stanzasIn - st.inBase) % H_MOD;
}

/** Classic <failed/>: the bare condition element (XEP-0198 §3, §5). */
function failedClassic(def: StanzaErrorDef, h?: number): Element {
  return x("failed", { xmlns: NS_SM, h }, x(def.condition, { xmlns: NS_STANZAS }));
}

/** <failed/> inside SASL2 <success> or Bind2 <bound>: a whole stanza error (as the reference server does). */
function failedInline(def: StanzaErrorDef, h?: number): Element {
  return x("failed", { xmlns: NS_SM, h }, stanzaErrorElement(def));
}

export default defineFeature({ name: "stream-management", setup: streamManagement });

function streamManagement(server: Server): () => Promise<void> {
  const states = new WeakMap<Session, SmState>();
  /** Resumable sessions (connected or hibernating) by resumption id. */
  const byId = new Map<string, SmState>();
  const hibernating = new Set<SmState>();
  /** Resumption id -> account and final 'h' of sessions that ended. */
  const oldSessions = new Map<string, { username: string; h: number }>();
  /** SASL2 resumptions accepted in <success> and completed once it is written, by the new stream. */
  const pendingResumes = new WeakMap<Session, { st: SmState; h: number }>();
  /** Re-routing of unacknowledged stanzas in progress (awaited at shutdown, before storage closes). */
  const rerouting = new Set<Promise<void>>();

  // --- acks and the queue -------------------------------------------------------------

  /** Drops what the client acknowledged; false when it acknowledged more than was sent. */
  const ack = (st: SmState, h: number): boolean => {
    const n = (h - st.acked + H_MOD) % H_MOD;
    if (n > st.queue.length) return false;
    if (n > 0) st.queue.splice(0, n);
    st.acked = h;
    return true;
  };

  /** One <r/> per burst of stanzas, sent after the burst; none while one is unanswered (for a while). */
  const requestAck = (st: SmState): void => {
    if (st.ackRequested && Date.now() - st.ackRequestedAt < ACK_RETRY_MS) return;
    st.ackRequested = true;
    st.ackRequestedAt = Date.now();
    setImmediate(() => st.session.sendRaw(ACK_REQUEST));
  };

  const outFilter = (st: SmState): OutFilter => (el) => {
    if (!isStanza(el)) return el;
    st.queue.push(el);
    const s = st.session;
    // A hibernating session may queue smacks_max_queue_size stanzas: past that its hibernation ends (and the queue is handled).
    if (st.queue.length > (s.hibernating ? server.config.smacks_max_queue_size : LIVE_QUEUE_LIMIT) && !st.overflowed) {
      st.overflowed = true;
      s.log.warn({ queued: st.queue.length, hibernating: s.hibernating }, "too many unacknowledged stanzas; ending the session");
      // Not from inside send(): the stanza being sent is already queued and will be handled.
      setImmediate(() => s.close(s.hibernating ? undefined : streamErrors.smQueueFull));
    }
    // A hibernating session queues only (Session.send writes nothing).
    if (!s.hibernating) requestAck(st);
    return el;
  };

  const enable = (session: Session, el: Element): SmState | StanzaErrorDef => {
    if (!session.bound) return stanzaErrors.smBindFirst;
    if (states.has(session)) return stanzaErrors.smAlreadyEnabled;
    const hibernation = server.config.smacks_hibernation_time;
    const resume = (el.attrs.resume === "true" || el.attrs.resume === "1") && hibernation > 0;
    // The client may ask for a shorter hibernation, not a longer one.
    const wanted = el.attrs.max !== undefined && /^\d{1,9}$/.test(el.attrs.max) ? Number(el.attrs.max) : 0;
    const st: SmState = {
      session,
      id: resume ? randomBytes(18).toString("base64url") : undefined,
      max: wanted > 0 ? Math.min(wanted, hibernation) : hibernation,
      queue: [], acked: 0, inBase: session.stanzasIn,
      ackRequested: false, ackRequestedAt: 0, overflowed: false, probe: undefined, expiry: undefined,
    };
    states.set(session, st);
    if (st.id) byId.set(st.id, st);
    (session.outFilters ??= []).push(outFilter(st));
    session.sm = { onAbruptClose: () => startHibernation(st), onIdle: () => probe(st) };
    session.log.debug({ resumable: resume }, "stream management enabled");
    return st;
  };

  const enabledElement = (st: SmState, resumeValue: string): Element =>
    x("enabled", { xmlns: NS_SM, id: st.id, resume: st.id ? resumeValue : undefined, max: st.id ? st.max : undefined });

  // --- hibernation ----------------------------------------------------------------------

  /** The connection dropped (or was taken over): keep the session if it is resumable. */
  const startHibernation = (st: SmState): boolean => {
    if (!st.id || byId.get(st.id) !== st) return false;
    clearTimeout(st.probe);
    st.probe = undefined;
    hibernating.add(st);
    clearTimeout(st.expiry);
    st.expiry = setTimeout(() => {
      st.session.log.info({ queued: st.queue.length }, "hibernation over; ending the session");
      st.session.close();
    }, st.max * 1000);
    st.expiry.unref();
    st.session.log.info({ max: st.max, queued: st.queue.length }, "connection lost; session hibernating");
    return true;
  };

  /** c2s_idle_timeout passed in silence: ask for an ack; no answer means a dead connection. */
  const probe = (st: SmState): boolean => {
    if (st.probe) return true;
    const s = st.session;
    const t = s.transport;
    s.sendRaw(ACK_REQUEST);
    st.probe = setTimeout(() => {
      st.probe = undefined;
      // Destroying the connection makes a resumable session hibernate, like any other drop.
      if (s.transport === t && !s.closed && !s.hibernating) { s.log.info("no answer to an ack request on an idle connection"); t.destroy(); }
    }, PROBE_TIMEOUT_MS);
    st.probe.unref();
    return true;
  };

  /** Ends hibernating sessions that must not be resumed any more. */
  const destroyHibernating = (match: (s: Session) => boolean, def: StreamErrorDef): void => {
    for (const st of [...hibernating]) {
      if (match(st.session)) { st.session.log.info({ reason: def.text }, "ending a hibernating session"); st.session.close(def); }
    }
  };

  // --- the end of a session: nothing unacknowledged is lost ---------------------------

  const track = (p: Promise<void>): void => {
    rerouting.add(p);
    void p.finally(() => rerouting.delete(p));
  };

  const handleUnacked = (session: Session, queue: Element[]): void => {
    const bare = session.jid!.bare();
    let rerouted = 0, bounced = 0;
    for (const el of queue) {
      if (el.name === "message") {
        const type = el.attrs.type ?? "normal";
        if (type === "error") continue; // errors are never answered
        if (el.getChild("sent", NS_CARBONS) || el.getChild("received", NS_CARBONS)) continue; // a copy: the original was delivered
        if (type === "chat" || type === "normal") {
          // As if sent to the bare JID: another resource, or offline storage. This session has
          // already left the registry, so it cannot get the message back.
          const from = (el.attrs.from !== undefined ? parseJid(el.attrs.from) : undefined) ?? new JID(undefined, server.config.domain);
          track(server.router.route(el.clone(), from, bare).catch((err) => session.log.error({ err }, "re-routing an unacknowledged message failed")));
          rerouted++;
          continue;
        }
        server.router.bounce(el, stanzaErrors.recipientUnavailable);
        bounced++;
      } else if (el.name === "iq") {
        server.router.bounce(el, stanzaErrors.serviceUnavailable); // results and errors are not bounced
        bounced++;
      }
      // Presence: the presence feature announces the session's end; nothing to answer.
    }
    session.log.info({ unacked: queue.length, rerouted, bounced }, "handled unacknowledged stanzas");
  };

  server.bus.on("session-closed", ({ session }) => {
    const st = states.get(session);
    if (!st) return;
    states.delete(session);
    clearTimeout(st.expiry);
    clearTimeout(st.probe);
    hibernating.delete(st);
    if (st.id && byId.get(st.id) === st) {
      byId.delete(st.id);
      oldSessions.set(st.id, { username: session.username!, h: handled(st) });
      if (oldSessions.size > OLD_SESSIONS_KEPT) oldSessions.delete(oldSessions.keys().next().value!);
    }
    const queue = st.queue;
    st.queue = [];
    if (queue.length > 0 && session.jid) handleUnacked(session, queue);
  }, "first"); // first, so that re-routing starts before anything else awaits

  // Revocation reaches hibernating sessions too (they have no connection to close).
  server.bus.on("user-deleted", ({ username }) => {
    destroyHibernating((s) => s.username === username, streamErrors.accountDeleted);
  });
  server.bus.on("password-changed", ({ username }) => {
    destroyHibernating((s) => s.username === username, streamErrors.passwordChanged);
  });
  server.bus.on("grant-revoked", ({ username, grantId }) => {
    destroyHibernating((s) => s.username === username && s.data.grantId === grantId, streamErrors.accessRevoked);
  });
  server.bus.on("token-revoked", ({ username, hash }) => {
    destroyHibernating((s) => s.username === username && s.data.tokenHash === hash, streamErrors.accessRevoked);
  });
  server.bus.on("client-revoked", ({ username, clientId }) => {
    if (clientId === undefined) return;
    destroyHibernating((s) => s.username === username && s.data.clientId === clientId, streamErrors.accessRevoked);
  });

  // --- resumption -----------------------------------------------------------------------

  const checkResume = (fresh: Session, username: string | undefined, el: Element): ResumeCheck => {
    if (!username) return { ok: false, def: stanzaErrors.smAuthFirst };
    if (fresh.bound) return { ok: false, def: stanzaErrors.smAlreadyBound };
    const previd = el.attrs.previd;
    const h = parseH(el.attrs.h);
    if (!previd || h === undefined) return { ok: false, def: stanzaErrors.smBadRequest };
    const st = byId.get(previd);
    // Another account's session is as unknown as one that never existed.
    if (!st || st.session.closed || st.session.username !== username) {
      const old = oldSessions.get(previd);
      if (old && old.username === username) return { ok: false, def: stanzaErrors.smSessionExpired, h: old.h };
      return { ok: false, def: stanzaErrors.smUnknownSession };
    }
    if ((h - st.acked + H_MOD) % H_MOD > st.queue.length) return { ok: false, def: stanzaErrors.smHandledCountTooHigh, h: handled(st) };
    return { ok: true, st, h };
  };

  /** A session still connected is cut off from its connection first, so that its 'h' is final. */
  const beginResume = (st: SmState): void => {
    if (!st.session.hibernating) {
      st.session.log.info("resumed on another connection; closing the old one");
      st.session.detachTransport(streamErrors.smResumedElsewhere);
      startHibernation(st);
    }
  };

  /** Moves `fresh`'s connection into the session, drops what the client acknowledged, replays the rest. */
  const completeResume = (st: SmState, fresh: Session, h: number, resumed?: Element): void => {
    const old = st.session;
    if (old.closed || fresh.closed) {
      if (!fresh.closed) fresh.close(streamErrors.smResumeLost);
      return;
    }
    if (!old.hibernating) beginResume(st);
    clearTimeout(st.expiry);
    st.expiry = undefined;
    hibernating.delete(st);
    // The new connection's credentials are what authorise the session from now on.
    old.data.grantId = fresh.data.grantId;
    old.data.tokenHash = fresh.data.tokenHash;
    old.authMechanism = fresh.authMechanism;
    old.takeOver(fresh);
    if (resumed) old.send(resumed);
    if (!ack(st, h)) return old.close(streamErrors.smHandledCountTooHigh);
    // Replayed as they were (clients stamp <delay/> themselves); written directly, as they are queued already.
    for (const el of st.queue) old.transport.write(el.toString());
    st.ackRequested = false;
    if (st.queue.length > 0) requestAck(st);
    old.log.info({ replayed: st.queue.length, from: fresh.id }, "session resumed");
  };

  // --- nonzas -----------------------------------------------------------------------------

  server.bus.on("stream-features", ({ session, features }) => {
    // After authentication: <resume/> before binding, <enable/> after it.
    if (session.authenticated && !session.bound) features.c("sm", { xmlns: NS_SM });
  });

  server.bus.on(`nonza/${NS_SM}:enable`, ({ session, element }) => {
    const r = enable(session, element);
    session.send("queue" in r ? enabledElement(r, "true") : failedClassic(r));
    return true;
  });

  server.bus.on(`nonza/${NS_SM}:resume`, ({ session, element }) => {
    const r = checkResume(session, session.username, element);
    if (!r.ok) { session.send(failedClassic(r.def, r.h)); return true; }
    beginResume(r.st);
    completeResume(r.st, session, r.h, x("resumed", { xmlns: NS_SM, previd: element.attrs.previd, h: handled(r.st) }));
    return true;
  });

  server.bus.on(`nonza/${NS_SM}:r`, ({ session }) => {
    const st = states.get(session);
    if (st) session.sendRaw(`<a xmlns='${NS_SM}' h='${handled(st)}'/>`);
    return true; // without SM there is nothing to count: ignored
  });

  server.bus.on(`nonza/${NS_SM}:a`, ({ session, element }) => {
    const st = states.get(session);
    if (!st) return true;
    const h = parseH(element.attrs.h);
    if (h === undefined) { session.close(streamErrors.smBadAck); return true; }
    if (!ack(st, h)) { session.close(streamErrors.smHandledCountTooHigh); return true; }
    clearTimeout(st.probe);
    st.probe = undefined;
    st.ackRequested = false;
    if (st.queue.length > 0) requestAck(st);
    return true;
  });

  // --- SASL2 and Bind2 --------------------------------------------------------------------

  server.bus.on("sasl2-inline", ({ inline }) => { inline.c("sm", { xmlns: NS_SM }); });
  server.bus.on("bind2-inline", ({ inline }) => { inline.c("feature", { var: NS_SM }); });

  // Resume inside <authenticate> (before Bind2 at 100, which skips binding once state.resumed is set).
  server.bus.on("sasl2-success", (ev) => {
    const el = ev.request.getChild("resume", NS_SM);
    if (!el || ev.state.resumed) return;
    const r = checkResume(ev.session, ev.username, el);
    if (!r.ok) { ev.success.cnode(failedInline(r.def, r.h)); return; }
    beginResume(r.st);
    ev.success.cnode(x("resumed", { xmlns: NS_SM, h: handled(r.st), previd: el.attrs.previd }));
    ev.state.resumed = r.st.session;
    pendingResumes.set(ev.session, { st: r.st, h: r.h });
  }, "resume");

  // <success> is written: now the connection moves and the queue is replayed.
  server.bus.on("sasl2-success-sent", (ev) => {
    const p = pendingResumes.get(ev.session);
    if (!p) return;
    pendingResumes.delete(ev.session);
    completeResume(p.st, ev.session, p.h);
  });

  server.bus.on("bind2-enable", ({ session, request, bound }) => {
    const el = request.getChild("enable", NS_SM);
    if (!el) return;
    const r = enable(session, el);
    bound.cnode("queue" in r ? enabledElement(r, "1") : failedInline(r));
  });

  return async () => {
    for (const st of hibernating) clearTimeout(st.expiry);
    await Promise.allSettled([...rerouting]);
  };
}
