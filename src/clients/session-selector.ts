// Which sessions of an account an access decision ends, as plain data rather than a closure:
// the access service (src/clients/access-service.ts) applies it to this node's sessions, and
// a cluster can send the same value to every node.
import type { Session } from "../core/session.js";
import type { ClientRecord } from "../storage/types.js";

/** Which sessions of an account a decision ends. */
export type SessionSelector =
  | { all: true }
  | { clientId: string }
  /** A client without a client id (legacy SASL): its record, or the full JID it was seen with. */
  | { legacyClient: string; fullJid?: string }
  | { grantId: string }
  | { tokenHash: string };

export function selects(s: Session, sel: SessionSelector): boolean {
  if ("all" in sel) return true;
  if ("clientId" in sel) return s.data.clientId === sel.clientId;
  if ("legacyClient" in sel)
    return !s.data.clientId && (s.data.clientRecordId === sel.legacyClient || (sel.fullJid !== undefined && s.jid?.toString() === sel.fullJid));
  if ("grantId" in sel) return s.data.grantId === sel.grantId;
  return s.data.tokenHash === sel.tokenHash;
}

export function clientSelector(rec: ClientRecord): SessionSelector {
  return rec.legacy ? { legacyClient: rec.id, ...(rec.fullJid ? { fullJid: rec.fullJid } : {}) } : { clientId: rec.id };
}
