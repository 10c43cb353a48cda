// A resumable session whose connection drops, or goes silent, hibernates (XEP-0198 §5):
// still bound, still queueing what it is sent, until it is resumed or its time is up. The
// resumption id and the expiry are kept in the hibernation store (hibernation-store.ts).
import { ACK_REQUEST, type Sm, type SmState } from "./state.js";

/** How long a connection that went idle has to answer an <r/> before it is taken for dead. */
const PROBE_TIMEOUT_MS = 60_000;

/** The connection dropped (or was taken over): keep the session if it is resumable. */
export function startHibernation(sm: Sm, st: SmState): boolean {
  if (!st.id || !sm.store.holds(st.id, st.session)) return false;
  clearTimeout(st.probe);
  st.probe = undefined;
  sm.store.hibernate(st.id, st.max * 1000, () => {
    st.session.log.info({ queued: st.queue.length }, "hibernation over; ending the session");
    st.session.close();
  });
  st.session.log.info({ max: st.max, queued: st.queue.length }, "connection lost; session hibernating");
  // Push notifications (XEP-0357) wake the client for what it missed.
  void sm.server.bus.emit("session-hibernating", { session: st.session, queued: [...st.queue] }, (err) =>
    st.session.log.error({ err }, "session-hibernating handler failed"),
  );
  return true;
}

/** c2s_idle_timeout passed in silence: ask for an ack; no answer means a dead connection. */
export function probe(st: SmState): boolean {
  if (st.probe) return true;
  const s = st.session;
  const t = s.transport;
  s.sendRaw(ACK_REQUEST);
  st.probe = setTimeout(() => {
    st.probe = undefined;
    // Destroying the connection makes a resumable session hibernate, like any other drop.
    if (s.transport === t && !s.closed && !s.hibernating) {
      s.log.info("no answer to an ack request on an idle connection");
      t.destroy();
    }
  }, PROBE_TIMEOUT_MS);
  st.probe.unref();
  return true;
}
