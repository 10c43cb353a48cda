// "Change password and sign out everywhere else", in one step: the only thing that keeps out
// a client that knows the password and has no client id (the server cannot tell it from a
// new client, so revoking it cannot). The new password and the end of every grant and token
// are one storage transaction; then every XMPP stream of the account is closed and every
// other browser signed out (the "password-changed" handlers), and the security history gets
// one "password-reset" entry. The account page keeps its own browser signed in.
import type { Server } from "../core/server.js";
import { resetPassword as resetStored } from "../auth/accounts.js";
import { liveSessionsOf } from "./access.js";

export interface ResetContext {
  via?: string;
  ip?: string;
  /** Runs between the change and the sign-outs: the account page signs its browser in again here. */
  changed?: (changedAt: number) => void;
}
export interface ResetResult { changedAt: number; connections: number; grants: number }

export async function resetPassword(server: Server, username: string, password: string, context: ResetContext = {}): Promise<ResetResult> {
  const connections = liveSessionsOf(server, username).length;
  const { changedAt, grants } = await resetStored(server.storage, username, password, server.config.scram_iterations);
  context.changed?.(changedAt);
  for (const grantId of grants) await server.bus.emit("grant-revoked", { username, grantId, reason: "password reset" });
  await server.bus.emit("password-changed", { username, via: context.via, ip: context.ip, reset: { connections, grants: grants.length } },
    (err) => server.log.error({ err }, "password-changed handler failed"));
  return { changedAt, connections, grants: grants.length };
}
