// A contact invitation used to register (XEP-0379 with XEP-0445 §3.3 "ibr=y"): the new
// account and the inviter become contacts with a mutual subscription, as XEP-0379 §4 would
// have them after its pre-approved subscribe exchange, written directly since both accounts
// are local and the token already stands for the inviter's approval.
import type { Server } from "../../core/server.js";
import { updateItem } from "../roster-push.js";

/** Both rosters get the other with subscription "both"; the inviter's resources get the push. */
export async function befriend(server: Server, newUser: string, inviter: string): Promise<void> {
  const domain = server.config.domain;
  const mutual = (jid: string) => () => ({ jid, subscription: "both" as const, groups: [] });
  await updateItem(server, inviter, `${newUser}@${domain}`, mutual(`${newUser}@${domain}`), true);
  await updateItem(server, newUser, `${inviter}@${domain}`, mutual(`${inviter}@${domain}`), true);
}
