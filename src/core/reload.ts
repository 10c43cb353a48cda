// SIGHUP: read the configuration file and the certificate again, as daemons do, and keep
// serving. What can change live is applied; what cannot (ports, paths, the domain, anything
// captured when the server started) is named in the log as needing a restart, and the running
// value is kept. A configuration or certificate that does not pass its checks changes nothing.
import { isDeepStrictEqual } from "node:util";
import { loadConfig, type Config } from "./config.js";
import { loadOrCreateIdentity } from "./certificate.js";
import { checkIdentity } from "./certificate-check.js";
import type { Server } from "./server.js";

/**
 * Keys read where they are used (server.config.KEY at the moment of use), so a new value holds
 * from the next connection, login, token or request on. A key not listed needs a restart: new
 * keys are safe by default.
 */
const LIVE: ReadonlySet<keyof Config> = new Set<keyof Config>([
  "log_level",
  "c2s_timeout",
  "c2s_idle_timeout",
  "c2s_max_connections",
  "c2s_max_connections_per_ip",
  "c2s_require_encryption",
  "sasl_channel_binding",
  "scram_iterations",
  "enforce_client_ids",
  "sasl2_fast_token_ttl",
  "sasl2_fast_token_min_ttl",
  "smacks_hibernation_time",
  "client_retention_days",
  "security_history_days",
  "new_client_notice",
  "http_max_body",
  "oauth2_access_token_ttl",
  "oauth2_refresh_token_ttl",
  "oauth2_code_ttl",
  "oauth2_device_code_ttl",
  "oauth2_device_poll_interval",
  "oauth2_rate_limit",
  "allow_registration",
  "min_seconds_between_registrations",
  "registration_rate_limit",
  "invite_expiry",
  // Re-read below on every reload, whether their paths changed or not.
  "certificate",
  "key",
]);

export interface ReloadResult {
  applied: string[];
  needsRestart: string[];
  certificate: boolean;
}

/** Reloads the configuration from `configPath` (none: the defaults) and the certificate. Never throws. */
export async function reload(server: Server, configPath: string | undefined): Promise<ReloadResult> {
  const log = server.log;
  const result: ReloadResult = { applied: [], needsRestart: [], certificate: false };
  let next: Config;
  try {
    next = loadConfig(configPath);
  } catch (err) {
    log.error({ err: (err as Error).message, config: configPath }, "reload: the configuration has an error; nothing changed");
    return result;
  }
  const cur = server.config;
  const changed = (Object.keys({ ...cur, ...next }) as Array<keyof Config>).filter((k) => !isDeepStrictEqual(cur[k], next[k]));
  // The certificate first: a bad one must not leave the new paths in the configuration.
  try {
    const id = await loadOrCreateIdentity({ certificate: next.certificate, key: next.key, dataPath: cur.data_path, domain: cur.domain });
    for (const w of checkIdentity(id, cur.domain)) log.warn(w);
    if (id.cert !== server.identity.cert || id.key !== server.identity.key) {
      server.useIdentity(id);
      result.certificate = true;
    }
    log.info(
      { certificate: id.certPath, changed: result.certificate },
      result.certificate ? "reload: new certificate in use for new connections" : "reload: certificate unchanged",
    );
  } catch (err) {
    log.error({ err: (err as Error).message }, "reload: the certificate was not replaced; the old one stays in use");
    for (const k of ["certificate", "key"] as const) if (changed.includes(k)) result.needsRestart.push(k);
  }
  for (const k of changed) {
    if (k === "certificate" || k === "key") {
      if (!result.needsRestart.includes(k)) {
        (cur as unknown as Record<string, unknown>)[k] = next[k];
        result.applied.push(k);
      }
      continue;
    }
    if (!LIVE.has(k)) {
      result.needsRestart.push(k);
      continue;
    }
    (cur as unknown as Record<string, unknown>)[k] = next[k];
    if (k === "log_level") server.log.level = next.log_level;
    result.applied.push(k);
  }
  log.info({ applied: result.applied, needs_restart: result.needsRestart }, "reload: configuration read");
  if (result.needsRestart.length > 0) log.warn({ keys: result.needsRestart }, "reload: these keys change only at a restart; their running values stay");
  return result;
}
