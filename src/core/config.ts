// Configuration: one YAML file, Prosody's key names where the meaning is the same.
// Every key is checked at start; a bad one stops the server with a message naming it.
import { readFileSync } from "node:fs";
import { resolve, dirname } from "node:path";
import YAML from "yaml";

export interface Config {
  domain: string;
  data_path: string;
  /** "sqlite" (default, a file in data_path) or "postgres". */
  storage: "sqlite";
  c2s_ports: number[];
  c2s_direct_tls_ports: number[];
  c2s_interfaces: string[];
  c2s_require_encryption: boolean;
  c2s_stanza_size_limit: number;
  /** Largest stanza (and stream header) in bytes before authentication; never more than c2s_stanza_size_limit. */
  c2s_preauth_stanza_size_limit: number;
  /** Deepest nesting of elements within a stanza. */
  c2s_stanza_depth_limit: number;
  /** Seconds an unauthenticated connection may take to log in. */
  c2s_timeout: number;
  /** Seconds without any traffic before an authenticated connection is closed. */
  c2s_idle_timeout: number;
  c2s_max_connections: number;
  c2s_max_connections_per_ip: number;
  /** Seconds a TLS handshake (direct TLS, STARTTLS, HTTPS) may take from accept: a fixed deadline. */
  c2s_tls_handshake_timeout: number;
  /** Bytes of output a client may leave unread before its stream is closed. */
  c2s_send_buffer_limit: number;
  /** PEM paths; when both are absent a self-signed certificate is generated in data_path. */
  certificate?: string;
  key?: string;
  /** Offer SCRAM-*-PLUS with channel binding (XEP-0440). */
  sasl_channel_binding: boolean;
  /** Failed logins allowed per account and per IP within login_failure_window seconds. */
  login_failure_limit: number;
  login_failure_window: number;
  scram_iterations: number;
  offline_message_limit: number;
  enforce_client_ids: boolean;
  /** FAST token lifetime, seconds (XEP-0484). */
  sasl2_fast_token_ttl: number;
  /** A FAST token older than this (seconds) is rotated on its next use. */
  sasl2_fast_token_min_ttl: number;
  /** Seconds a session with XEP-0198 resumption enabled waits for its client after its connection dropped. */
  smacks_hibernation_time: number;
  /** Stanzas a hibernating session may queue; past this it ends and its queue goes to offline storage or is bounced. */
  smacks_max_queue_size: number;
  /** Keep the IP address of each client's last login. */
  client_ip_tracking: boolean;
  /** Days after which records of clients with no access are deleted. */
  client_retention_days: number;
  log_level: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
  /** "text" (one line for a person), "json" (one JSON object per line), or "auto": text on a terminal. */
  log_format: "auto" | "text" | "json";
  /** Write the log to this file (mode 0600) instead of standard output. */
  log_file?: string;
  /** Shortest new password, in characters (one rule for the `warden` command and the account page). */
  password_min_length: number;
  /** Path of the admin socket the `warden` command talks to; default data_path/warden.sock. */
  admin_socket?: string;
  // --- HTTP and OAuth 2.0 (src/http) ---
  /** Plain HTTP ports (for a reverse proxy in front) and the addresses they listen on. */
  http_ports: number[];
  http_interfaces: string[];
  /** HTTPS ports (the server's certificate) and the addresses they listen on. */
  https_ports: number[];
  https_interfaces: string[];
  /** The public base URL of the HTTP service (the OAuth issuer); default: from each request. */
  http_external_url?: string;
  /** Largest request body, bytes. */
  http_max_body: number;
  /** Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed. */
  http_trusted_proxies: string[];
  /** OAuth 2.0 token lifetimes, seconds. */
  oauth2_access_token_ttl: number;
  oauth2_refresh_token_ttl: number;
  /** Lifetime of an authorization code, seconds. */
  oauth2_code_ttl: number;
  /** Lifetime of a device code (RFC 8628), and the polling interval asked of devices, seconds. */
  oauth2_device_code_ttl: number;
  oauth2_device_poll_interval: number;
  /** Requests per minute per IP address to each of the token, device, registration and login endpoints. */
  oauth2_rate_limit: number;
  // --- Account page (src/http/account) ---
  /** Days the security history of an account (new clients, revocations, failed logins) is kept. */
  security_history_days: number;
  /** Tell an account's other connected clients when a never-seen client logs in with the password. */
  new_client_notice: boolean;
  // --- Registration and invitations (src/features/register, src/auth/invites.ts) ---
  /** Open in-band registration (XEP-0077) for anyone; invitations work either way. */
  allow_registration: boolean;
  /** Seconds one IP address must wait between two open registrations (Prosody's name); 0: no wait. */
  min_seconds_between_registrations: number;
  /** Registrations a minute for the whole server (open, invited and on the invite page). */
  registration_rate_limit: number;
  /** Seconds an invitation stays valid unless `warden invite create --expires` says otherwise. */
  invite_expiry: number;
}

export const defaults: Config = {
  domain: "localhost",
  data_path: "./data",
  storage: "sqlite",
  c2s_ports: [5222],
  c2s_direct_tls_ports: [5223],
  c2s_interfaces: ["0.0.0.0"],
  c2s_require_encryption: true,
  c2s_stanza_size_limit: 256 * 1024,
  c2s_preauth_stanza_size_limit: 16 * 1024,
  c2s_stanza_depth_limit: 64,
  c2s_timeout: 60,
  c2s_idle_timeout: 840,
  c2s_max_connections: 100_000,
  c2s_max_connections_per_ip: 10_000,
  c2s_tls_handshake_timeout: 10,
  c2s_send_buffer_limit: 4 * 1024 * 1024,
  sasl_channel_binding: true,
  login_failure_limit: 5,
  login_failure_window: 60,
  scram_iterations: 4096,
  offline_message_limit: 1000,
  enforce_client_ids: false,
  sasl2_fast_token_ttl: 21 * 86400,
  sasl2_fast_token_min_ttl: 86400,
  smacks_hibernation_time: 600,
  smacks_max_queue_size: 1000,
  client_ip_tracking: true,
  client_retention_days: 90,
  log_level: "info",
  log_format: "auto",
  password_min_length: 12,
  http_ports: [5280],
  http_interfaces: ["127.0.0.1"],
  https_ports: [5281],
  https_interfaces: ["0.0.0.0"],
  http_max_body: 64 * 1024,
  http_trusted_proxies: [],
  oauth2_access_token_ttl: 3600,
  oauth2_refresh_token_ttl: 604800,
  oauth2_code_ttl: 600,
  oauth2_device_code_ttl: 600,
  oauth2_device_poll_interval: 5,
  oauth2_rate_limit: 60,
  security_history_days: 90,
  new_client_notice: true,
  allow_registration: false,
  min_seconds_between_registrations: 300,
  registration_rate_limit: 10,
  invite_expiry: 7 * 86400,
};

export class ConfigError extends Error {
  constructor(
    public readonly key: string,
    message: string,
  ) {
    super(`config key '${key}': ${message}`);
    this.name = "ConfigError";
  }
}

type Check = (v: unknown, key: string) => unknown;
const int =
  (min: number, max: number): Check =>
  (v, key) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw new ConfigError(key, `must be a whole number from ${min} to ${max}`);
    return v;
  };
const bool: Check = (v, key) => {
  if (typeof v !== "boolean") throw new ConfigError(key, "must be true or false");
  return v;
};
const str: Check = (v, key) => {
  if (typeof v !== "string" || v === "") throw new ConfigError(key, "must be a non-empty string");
  return v;
};
const oneOf =
  (...allowed: string[]): Check =>
  (v, key) => {
    if (typeof v !== "string" || !allowed.includes(v)) throw new ConfigError(key, `must be one of ${allowed.join(", ")}`);
    return v;
  };
const ports: Check = (v, key) => {
  const list = typeof v === "number" ? [v] : v;
  if (!Array.isArray(list)) throw new ConfigError(key, "must be a port number or a list of them");
  for (const p of list) int(0, 65535)(p, key);
  return list as unknown[];
};
const strings: Check = (v, key) => {
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list) || list.some((s) => typeof s !== "string" || s === "")) throw new ConfigError(key, "must be a string or a list of strings");
  return list as string[];
};

const schema: Record<keyof Config, Check> = {
  domain: (v, k) => {
    const s = str(v, k) as string;
    if (!/^[a-z0-9.-]+$/i.test(s) || s.length > 253) throw new ConfigError(k, "must be a domain name");
    return s.toLowerCase();
  },
  data_path: str,
  storage: oneOf("sqlite"),
  c2s_ports: ports,
  c2s_direct_tls_ports: ports,
  c2s_interfaces: strings,
  c2s_require_encryption: bool,
  c2s_stanza_size_limit: int(1024, 64 * 1024 * 1024),
  c2s_preauth_stanza_size_limit: int(1024, 64 * 1024 * 1024),
  c2s_stanza_depth_limit: int(8, 1024),
  c2s_timeout: int(1, 3600),
  c2s_idle_timeout: int(1, 86400 * 7),
  c2s_max_connections: int(1, 10_000_000),
  c2s_max_connections_per_ip: int(1, 10_000_000),
  c2s_tls_handshake_timeout: int(1, 300),
  c2s_send_buffer_limit: int(64 * 1024, 1024 * 1024 * 1024),
  certificate: str,
  key: str,
  sasl_channel_binding: bool,
  login_failure_limit: int(1, 1_000_000),
  login_failure_window: int(1, 86400),
  scram_iterations: int(4096, 10_000_000),
  offline_message_limit: int(0, 1_000_000),
  enforce_client_ids: bool,
  sasl2_fast_token_ttl: int(60, 366 * 86400),
  sasl2_fast_token_min_ttl: int(1, 366 * 86400),
  smacks_hibernation_time: int(0, 7 * 86400),
  smacks_max_queue_size: int(1, 1_000_000),
  client_ip_tracking: bool,
  client_retention_days: int(1, 36500),
  log_level: oneOf("trace", "debug", "info", "warn", "error", "fatal", "silent"),
  log_format: oneOf("auto", "text", "json"),
  log_file: str,
  password_min_length: int(1, 1024),
  admin_socket: str,
  http_ports: ports,
  http_interfaces: strings,
  https_ports: ports,
  https_interfaces: strings,
  http_external_url: (v, k) => {
    const s = str(v, k) as string;
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      throw new ConfigError(k, "must be an absolute http(s) URL");
    }
    if ((u.protocol !== "https:" && u.protocol !== "http:") || u.search || u.hash || u.username || u.password)
      throw new ConfigError(k, "must be an http(s) URL without query, fragment or credentials");
    return u.href.replace(/\/+$/, "");
  },
  http_max_body: int(1024, 64 * 1024 * 1024),
  http_trusted_proxies: strings,
  oauth2_access_token_ttl: int(60, 86400 * 30),
  oauth2_refresh_token_ttl: int(60, 366 * 86400),
  oauth2_code_ttl: int(1, 3600),
  oauth2_device_code_ttl: int(10, 86400),
  oauth2_device_poll_interval: int(1, 600),
  oauth2_rate_limit: int(1, 1_000_000_000),
  security_history_days: int(1, 36500),
  new_client_notice: bool,
  allow_registration: bool,
  min_seconds_between_registrations: int(0, 7 * 86400),
  registration_rate_limit: int(1, 1_000_000),
  invite_expiry: int(60, 366 * 86400),
};

/** Validates a plain object of settings over the defaults. Paths are resolved against baseDir. */
export function buildConfig(raw: Record<string, unknown>, baseDir = process.cwd()): Config {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new ConfigError("(file)", "must be a mapping of keys to values");
  const out: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(raw)) {
    const check = schema[key as keyof Config];
    if (!check) throw new ConfigError(key, "unknown key");
    out[key] = check(value, key);
  }
  const cfg = out as unknown as Config;
  if ((cfg.certificate === undefined) !== (cfg.key === undefined))
    throw new ConfigError(cfg.certificate ? "key" : "certificate", "certificate and key must be given together");
  if (cfg.sasl2_fast_token_min_ttl >= cfg.sasl2_fast_token_ttl) throw new ConfigError("sasl2_fast_token_min_ttl", "must be smaller than sasl2_fast_token_ttl");
  // A whole outgoing stanza (and a little more) must fit, or a reading client could be cut off.
  if (cfg.c2s_send_buffer_limit < 2 * cfg.c2s_stanza_size_limit) throw new ConfigError("c2s_send_buffer_limit", "must be at least twice c2s_stanza_size_limit");
  cfg.data_path = resolve(baseDir, cfg.data_path);
  if (cfg.certificate) cfg.certificate = resolve(baseDir, cfg.certificate);
  if (cfg.key) cfg.key = resolve(baseDir, cfg.key);
  if (cfg.admin_socket) cfg.admin_socket = resolve(baseDir, cfg.admin_socket);
  if (cfg.log_file) cfg.log_file = resolve(baseDir, cfg.log_file);
  return cfg;
}

/** Loads the file named by --config or WARDEN_CONFIG; no file means all defaults. */
export function loadConfig(path: string | undefined): Config {
  if (!path) return buildConfig({});
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError("(file)", `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = YAML.parse(text) ?? {};
  } catch (err) {
    throw new ConfigError("(file)", `${path} is not valid YAML: ${(err as Error).message}`);
  }
  return buildConfig(raw as Record<string, unknown>, dirname(resolve(path)));
}

export function adminSocketPath(cfg: Config): string {
  return cfg.admin_socket ?? resolve(cfg.data_path, "warden.sock");
}
