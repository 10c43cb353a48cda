// In-band registration once signed in (XEP-0077 §3.2, §3.3), whether or not registration is
// open: an account may change its password or remove itself. Both go through the access
// service, the one code that ends what they must end: a new password ends every session and
// grant from before it (this one too, after its answer), a removed account's sessions end.
import type { Server } from "../../core/server.js";
import { defineFeature } from "../../core/feature.js";
import { stanzaErrors } from "../../core/errors.js";
import { errorReply, iqResult, type StanzaEvent } from "../../core/router.js";
import { x } from "../../xml/element.js";
import { AccountError, accountName, deleteAccount } from "../../auth/accounts.js";
import { passwordProblem } from "../../auth/password-policy.js";
import { NS_REGISTER } from "./ibr.js";

export default defineFeature({ name: "register-account", needs: ["access"], setup: registerAccount });

function registerAccount(server: Server): void {
  const access = server.services.get("access");
  // Password change and removal work for every account, so both the server and accounts say so.
  server.hostFeatures.add(NS_REGISTER);
  server.accountFeatures.add(NS_REGISTER);

  const form = ({ stanza, origin }: StanzaEvent) => {
    if (!origin?.username) return undefined;
    origin.send(iqResult(stanza, x("query", { xmlns: NS_REGISTER }, x("registered"), x("username", null, origin.username), x("password"))));
    return true;
  };

  const change = async ({ stanza, origin }: StanzaEvent) => {
    const username = origin?.username;
    if (!origin || !username) return undefined;
    const by = origin.jid!.bareString;
    const fail = (def: (typeof stanzaErrors)[keyof typeof stanzaErrors], text?: string) => {
      origin.send(errorReply(stanza, def, by, text));
      return true;
    };
    const query = stanza.elements()[0]!;
    if (query.getChild("remove")) {
      // §3.2: the answer first, then the account goes and its sessions end (this one too).
      try {
        await deleteAccount(server.storage, username);
      } catch (err) {
        if (err instanceof AccountError) return fail(stanzaErrors.itemNotFound);
        throw err;
      }
      origin.send(iqResult(stanza));
      server.log.info({ user: username, ip: origin.ip, via: "xmpp" }, "account removed by its owner");
      await access.accountDeleted(username);
      return true;
    }
    const givenName = query.getChildText("username");
    const password = query.getChildText("password");
    if (!givenName || !password) return fail(stanzaErrors.registrationIncomplete);
    if (sameAccount(givenName, server.config.domain) !== username) return fail(stanzaErrors.registrationNotOwnAccount);
    const problem = passwordProblem(password, server.config.password_min_length);
    if (problem) return fail(stanzaErrors.notAcceptable, `The password ${problem}`);
    try {
      // §3.3: the answer goes out between the change and the end of every session from before it.
      await access.changePassword(username, password, { via: "xmpp", ip: origin.ip, changed: () => origin.send(iqResult(stanza)) });
    } catch (err) {
      if (err instanceof AccountError) return fail(stanzaErrors.notAcceptable, err.message.replace(/^the/, "The"));
      throw err;
    }
    return true;
  };

  for (const target of ["self", "host"] as const) {
    server.bus.on(`iq-get/${target}/${NS_REGISTER}:query`, form);
    server.bus.on(`iq-set/${target}/${NS_REGISTER}:query`, change);
  }
}

/** The account a form's <username/> names, normalised as logins are; undefined when it names none. */
function sameAccount(given: string, domain: string): string | undefined {
  try {
    return accountName(given, domain);
  } catch {
    return undefined;
  }
}
