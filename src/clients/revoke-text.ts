// What a revocation says: its result, and the stream error text the revoked client's
// connections get, naming the client and where access was taken (a person reads it). The
// revocation itself is the access service's (src/clients/access-service.ts).
import type { ClientUserAgent } from "../storage/types.js";
import type { Actor } from "../events.js";

/**
 * "password-reset-required": the client used the password; its id is refused from now on.
 * "can-sign-in-again": it used the password and has no client id (legacy SASL), so nothing
 * tells it apart from a new client: only a new password keeps it out.
 */
export type RevokeResult = "revoked" | "not-found" | "password-reset-required" | "can-sign-in-again";

/** "Conversations on Pixel 7", or the resource of a client that gave no name. */
export function clientLabel(ua: ClientUserAgent, resource?: string): string {
  const name = ua.software ?? (resource !== undefined ? `the client “${resource}”` : "this client");
  return ua.device ? `${name} on ${ua.device}` : name;
}

const WHERE: Record<string, string> = { "account page": "from your account page", admin: "by the server administrator" };

/** The stream error text a revoked client's connections get. */
export function revokedText(label: string, context: Actor): string {
  return `Access for ${label} was revoked ${WHERE[context.via ?? ""] ?? "by a client of your account"}`;
}
