// Pre-authenticated roster subscription for existing accounts (XEP-0379 §4): a subscription
// request that carries a valid contact-invitation token of the account it is sent to is
// approved on that account's behalf. The approval is written first (the contact's roster item
// gains "from", RFC 6121 §3.4's pre-approval in effect); the presence feature's default
// handling then sees it and answers "subscribed" itself. The token is spent by its first use.
// Asking the inviter's subscription back is left to the inviter's client, as XEP-0379 has it.
import type { Server } from "../../core/server.js";
import { defineFeature } from "../../core/feature.js";
import { findInvite } from "../../auth/invites.js";
import type { RosterItem } from "../../storage/types.js";
import { updateItem } from "../roster-push.js";

const NS_PARS = "urn:xmpp:pars:0";

export default defineFeature({ name: "contact-invite-subscribe", setup: contactSubscribe });

function contactSubscribe(server: Server): void {
  server.bus.on("presence/bare", async ({ stanza, from, to }) => {
    const token = stanza.attrs.type === "subscribe" ? stanza.getChild("preauth", NS_PARS)?.attrs.token : undefined;
    const inviter = to.local;
    if (token === undefined || inviter === undefined || from.domain !== server.config.domain || from.local === inviter) return undefined;
    const found = await findInvite(server.storage, token);
    if (!found.ok || found.invite.kind !== "roster" || found.invite.username !== inviter) return undefined;
    if (!(await server.storage.invites.take(found.invite.hash, Date.now()))) return undefined;
    const jid = from.bareString;
    await updateItem(
      server,
      inviter,
      jid,
      (item) => {
        const next: RosterItem = item ?? { jid, subscription: "none", groups: [] };
        next.subscription = next.subscription === "to" || next.subscription === "both" ? "both" : "from";
        next.pendingIn = false;
        return next;
      },
      true,
    );
    server.log.info({ user: inviter, contact: jid, invite: found.invite.id }, "subscription approved by a contact invitation");
    // Not an answer: the default handling goes on, and answers "subscribed" for the approval.
    return undefined;
  });
}
