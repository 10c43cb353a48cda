// `warden invite create|list|revoke`: invitations (XEP-0401) made in the database directly, as
// `warden user` makes accounts; the running server reads them from there when one is used, so
// it needs no telling. create prints the invite page's URL and the xmpp: URI for clients.
import type { Config } from "../core/config.js";
import type { Storage } from "../storage/types.js";
import { createInvite, inviteUri, inviteUrl, parseDuration } from "../auth/invites.js";
import { CliError } from "./errors.js";

/** The longest an invitation may live, as invite_expiry's bound. */
const MAX_TTL = 366 * 86400;

export interface InviteOptions {
  /** --reset JID: the account whose password the invitation sets. */
  reset?: string;
  /** --contact JID: a contact invitation (XEP-0379) from this account; it also registers (ibr=y). */
  contact?: string;
  /** --expires: "7d", "12h", "30m" or seconds; default invite_expiry. */
  expires?: string;
  json: boolean;
}

export async function invite(
  cfg: Config,
  storage: <T>(fn: (s: Storage) => Promise<T>) => Promise<T>,
  accountOf: (jid: string) => string,
  sub: string | undefined,
  arg: string | undefined,
  opts: InviteOptions,
): Promise<void> {
  switch (sub) {
    case "create": {
      const ttl = opts.expires === undefined ? cfg.invite_expiry : parseDuration(opts.expires);
      if (ttl === undefined || ttl > MAX_TTL)
        throw new CliError("usage", `--expires '${opts.expires}' is not a duration of at most a year (like 7d, 12h, 30m or seconds)`);
      if (opts.reset !== undefined && opts.contact !== undefined) throw new CliError("usage", "--reset and --contact do not go together");
      const named = opts.reset ?? opts.contact;
      const username = named === undefined ? undefined : accountOf(named);
      const kind = opts.reset !== undefined ? "reset" : opts.contact !== undefined ? "roster" : "account";
      const made = await storage(async (s) => {
        if (username !== undefined && !(await s.users.get(username))) throw new CliError("notFound", `no account '${username}'`);
        return createInvite(s, kind, ttl, username);
      });
      const url = inviteUrl(cfg, made.token);
      const uri = inviteUri(cfg, made.record, made.token);
      const expires = new Date(made.record.expiresAt).toISOString();
      if (opts.json) console.log(JSON.stringify({ id: made.record.id, kind: made.record.kind, url, uri, expires }));
      else console.log(`${url}\n${uri}\nExpires ${expires} (invitation ${made.record.id})`);
      return;
    }
    case "list": {
      const now = Date.now();
      const list = (await storage((s) => s.invites.list())).map((i) => ({
        id: i.id,
        kind: i.kind,
        ...(i.username ? { account: `${i.username}@${cfg.domain}` } : {}),
        created: new Date(i.createdAt).toISOString(),
        expires: new Date(i.expiresAt).toISOString(),
        expired: i.expiresAt <= now,
      }));
      if (opts.json) console.log(JSON.stringify(list));
      else for (const i of list) console.log(`${i.id}\t${i.kind}\t${i.account ?? "-"}\t${i.expired ? "expired" : "expires"} ${i.expires}`);
      return;
    }
    case "revoke": {
      if (!arg) throw new CliError("usage", "an invitation id is required (see 'warden invite list')");
      if (!(await storage((s) => s.invites.delete(arg)))) throw new CliError("inviteNotFound", arg);
      console.log(`Revoked invitation ${arg}`);
      return;
    }
    default:
      throw new CliError("usage", `unknown invite command '${sub ?? ""}'`);
  }
}
