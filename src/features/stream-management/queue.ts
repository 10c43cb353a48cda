// Counting and acknowledging (XEP-0198 §4): every stanza sent is queued until the client's
// <a h/> covers it; one <r/> asks for that after each burst of stanzas. A queue that grows
// past its limit ends the session (its stanzas are then handled as on any end: closing.ts).
import { streamErrors } from "../../core/errors.js";
import type { OutFilter } from "../../core/session.js";
import { ACK_REQUEST, H_MOD, isStanza, type SmState, type Sm } from "./state.js";

/** Unacknowledged stanzas a connected session may have: past this it is closed (policy-violation). */
const LIVE_QUEUE_LIMIT = 10_000;
/** An <r/> unanswered for this long is asked again with the next stanza (a client may miss one). */
const ACK_RETRY_MS = 30_000;

/** Drops what the client acknowledged; false when it acknowledged more than was sent. */
export function ack(st: SmState, h: number): boolean {
  const n = (h - st.acked + H_MOD) % H_MOD;
  if (n > st.queue.length) return false;
  if (n > 0) st.queue.splice(0, n);
  st.acked = h;
  return true;
}

/** One <r/> per burst of stanzas, sent after the burst; none while one is unanswered (for a while). */
export function requestAck(st: SmState): void {
  if (st.ackRequested && Date.now() - st.ackRequestedAt < ACK_RETRY_MS) return;
  st.ackRequested = true;
  st.ackRequestedAt = Date.now();
  setImmediate(() => st.session.sendRaw(ACK_REQUEST));
}

/** The session's outbound filter: counts and queues every stanza. */
export const outFilter =
  (sm: Sm, st: SmState): OutFilter =>
  (el) => {
    if (!isStanza(el)) return el;
    st.queue.push(el);
    const s = st.session;
    // A hibernating session may queue smacks_max_queue_size stanzas: past that its hibernation ends (and the queue is handled).
    if (st.queue.length > (s.hibernating ? sm.server.config.smacks_max_queue_size : LIVE_QUEUE_LIMIT) && !st.overflowed) {
      st.overflowed = true;
      s.log.warn({ queued: st.queue.length, hibernating: s.hibernating }, "too many unacknowledged stanzas; ending the session");
      // Not from inside send(): the stanza being sent is already queued and will be handled.
      setImmediate(() => s.close(s.hibernating ? undefined : streamErrors.smQueueFull));
    }
    // A hibernating session queues only (Session.send writes nothing).
    if (!s.hibernating) requestAck(st);
    return el;
  };
