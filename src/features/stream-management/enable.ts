// <enable/> (XEP-0198 §3), classic or inside Bind2: from now on the session counts what it
// sends and what it handles, and, when the client asked for resumption and the server allows
// hibernation, it gets an unguessable resumption id and may hibernate for `max` seconds.
import { randomBytes } from "node:crypto";
import { x, type Element } from "../../xml/element.js";
import { stanzaErrors, type StanzaErrorDef } from "../../core/errors.js";
import type { Session } from "../../core/session.js";
import { NS_SM, type Sm, type SmState } from "./state.js";
import { outFilter } from "./queue.js";
import { probe, startHibernation } from "./hibernation.js";

export function enable(sm: Sm, session: Session, el: Element): SmState | StanzaErrorDef {
  const { username } = session;
  // A bound session is an authenticated one: the username is there.
  if (!session.bound || username === undefined) return stanzaErrors.smBindFirst;
  if (session.data.smState) return stanzaErrors.smAlreadyEnabled;
  const hibernation = sm.server.config.smacks_hibernation_time;
  const resume = (el.attrs.resume === "true" || el.attrs.resume === "1") && hibernation > 0;
  // The client may ask for a shorter hibernation, not a longer one.
  const wanted = el.attrs.max !== undefined && /^\d{1,9}$/.test(el.attrs.max) ? Number(el.attrs.max) : 0;
  const st: SmState = {
    session,
    username,
    id: resume ? randomBytes(18).toString("base64url") : undefined,
    max: wanted > 0 ? Math.min(wanted, hibernation) : hibernation,
    queue: [],
    acked: 0,
    inBase: session.stanzasIn,
    ackRequested: false,
    ackRequestedAt: 0,
    overflowed: false,
    probe: undefined,
  };
  session.data.smState = st;
  if (st.id) sm.store.add(st.id, session);
  (session.outFilters ??= []).push(outFilter(sm, st));
  session.sm = { onAbruptClose: () => startHibernation(sm, st), onIdle: () => probe(st) };
  session.log.debug({ resumable: resume }, "stream management enabled");
  return st;
}

/** <enabled/>: `resumeValue` is how the client spelt its request ("true" classic, "1" in Bind2). */
export const enabledElement = (st: SmState, resumeValue: string): Element =>
  x("enabled", { xmlns: NS_SM, id: st.id, resume: st.id ? resumeValue : undefined, max: st.id ? st.max : undefined });
