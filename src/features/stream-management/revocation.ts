// Revocation reaches hibernating sessions too: they have no connection for the usual close
// to reach, so an account whose password changes or that is deleted, or whose grant, token
// or client is revoked, loses its hibernating sessions at once. (Kept together, so that the
// one place that closes sessions for revocation can take this over.)
import { streamErrors, type StreamErrorDef } from "../../core/errors.js";
import type { Session } from "../../core/session.js";
import type { Sm } from "./state.js";

export function onRevocation(sm: Sm): void {
  const { server } = sm;

  /** Ends hibernating sessions that must not be resumed any more. */
  const destroyHibernating = (match: (s: Session) => boolean, def: StreamErrorDef): void => {
    for (const s of sm.store.hibernating()) {
      if (match(s)) { s.log.info({ reason: def.text }, "ending a hibernating session"); s.close(def); }
    }
  };

  server.bus.on("user-deleted", ({ username }) => {
    destroyHibernating((s) => s.username === username, streamErrors.accountDeleted);
  });
  server.bus.on("password-changed", ({ username }) => {
    destroyHibernating((s) => s.username === username, streamErrors.passwordChanged);
  });
  server.bus.on("grant-revoked", ({ username, grantId }) => {
    destroyHibernating((s) => s.username === username && s.data.grantId === grantId, streamErrors.accessRevoked);
  });
  server.bus.on("token-revoked", ({ username, hash }) => {
    destroyHibernating((s) => s.username === username && s.data.tokenHash === hash, streamErrors.accessRevoked);
  });
  server.bus.on("client-revoked", ({ username, clientId }) => {
    if (clientId === undefined) return;
    destroyHibernating((s) => s.username === username && s.data.clientId === clientId, streamErrors.accessRevoked);
  });
}
