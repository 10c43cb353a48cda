// Resumption (XEP-0198 §5), classic or inside SASL2: a new stream of the same account names
// the session (previd) and what it received of it (h); the session takes the new connection
// over, drops what the client acknowledged and sends the rest again. Another account's
// session is as unknown as one that never existed.
import type { Element } from "../../xml/element.js";
import { stanzaErrors, streamErrors, type StanzaErrorDef } from "../../core/errors.js";
import type { Session } from "../../core/session.js";
import { H_MOD, handled, parseH, type Sm, type SmState } from "./state.js";
import { ack, requestAck } from "./queue.js";
import { startHibernation } from "./hibernation.js";

export type ResumeCheck = { ok: true; st: SmState; h: number } | { ok: false; def: StanzaErrorDef; h?: number };

/** Whether `fresh`, logged in as `username`, may resume what `el` (<resume/>) names. */
export async function checkResume(sm: Sm, fresh: Session, username: string | undefined, el: Element): Promise<ResumeCheck> {
  if (!username) return { ok: false, def: stanzaErrors.smAuthFirst };
  if (fresh.bound) return { ok: false, def: stanzaErrors.smAlreadyBound };
  const previd = el.attrs.previd;
  const h = parseH(el.attrs.h);
  if (!previd || h === undefined) return { ok: false, def: stanzaErrors.smBadRequest };
  const found = await sm.store.lookup(previd);
  // From here on nothing awaits until the connection has moved (or the answer is a failure).
  const st = found.session?.data.smState;
  if (!st || st.session.closed || st.session.username !== username) {
    const old = found.ended;
    if (old && old.username === username) return { ok: false, def: stanzaErrors.smSessionExpired, h: old.h };
    return { ok: false, def: stanzaErrors.smUnknownSession };
  }
  if ((h - st.acked + H_MOD) % H_MOD > st.queue.length) return { ok: false, def: stanzaErrors.smHandledCountTooHigh, h: handled(st) };
  return { ok: true, st, h };
}

/** A session still connected is cut off from its connection first, so that its 'h' is final. */
export function beginResume(sm: Sm, st: SmState): void {
  if (!st.session.hibernating) {
    st.session.log.info("resumed on another connection; closing the old one");
    st.session.detachTransport(streamErrors.smResumedElsewhere);
    startHibernation(sm, st);
  }
}

/** Moves `fresh`'s connection into the session, drops what the client acknowledged, replays the rest. */
export function completeResume(sm: Sm, st: SmState, fresh: Session, h: number, resumed?: Element): void {
  const old = st.session;
  if (old.closed || fresh.closed) {
    if (!fresh.closed) fresh.close(streamErrors.smResumeLost);
    return;
  }
  if (!old.hibernating) beginResume(sm, st);
  if (st.id !== undefined) sm.store.wake(st.id);
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
}
