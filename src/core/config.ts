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
  /** Seconds a request may take to arrive, headers and body (src/http/deadline.ts). */
  http_request_timeout: number;
  /** Routes that read their own body (file upload): seconds without a byte before the request is stopped. */
  http_body_idle_timeout: number;
  /** ... and the slowest average, bytes/s: such a body may take http_request_timeout + size / this. */
  http_body_min_rate: number;
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
  // --- Personal Eventing (src/features/pep) ---
  /** Most items a PEP node keeps; also what `pubsub#max_items` = "max" means. */
  pep_max_items: number;
  /** Largest item payload, bytes (avatars are the big ones). */
  pep_max_item_size: number;
  /** Most PEP nodes per account (each OMEMO device has a bundle node). */
  pep_max_nodes: number;

  // --- vCard, private XML, blocking (src/features/vcard/, private.ts, blocking/) ---
  /** Largest stored vCard (XEP-0054) in bytes, photo included. */
  vcard_max_size: number;
  /** Largest private XML element (XEP-0049) in bytes, and most namespaces stored per account. */
  private_max_size: number;
  private_max_items: number;
  /** Most JIDs an account may block (XEP-0191). */
  blocklist_max_items: number;
  // --- Message archive (src/features/mam) ---
  /** How long archived messages are kept, seconds, or "never" (Prosody accepts "1d", "2w", "1y"…). */
  archive_expires_after: number | "never";
  /** The most messages one archive query returns (caps RSM <max/>). */
  max_archive_query_results: number;
  /** Whether messages are archived for users who set no preference: true, false or "roster". */
  default_archive_policy: boolean | "roster";
  // --- HTTP file upload (XEP-0363, src/features/upload): Prosody's mod_http_file_share keys ---
  /** Largest file, bytes. */
  http_file_share_size_limit: number;
  /** Seconds an uploaded file is kept before it is deleted. */
  http_file_share_expires_after: number;
  /** Bytes an account may upload in 24 hours; default ten times http_file_share_size_limit (as Prosody). */
  http_file_share_daily_quota: number;
  /** Bytes every stored file may take together; absent: no limit. */
  http_file_share_global_quota?: number;
  /** Upload slots an account may request a minute. */
  http_file_share_slot_rate_limit: number;
  // --- Push notifications (XEP-0357, src/features/push) ---
  /** Put the message's text in notifications (they go through the app developer's server and Google's or Apple's). */
  push_notification_with_body: boolean;
  /** Put the sender's bare JID in notifications. */
  push_notification_with_sender: boolean;
  /** Clients of one account that may hold a push registration at once. */
  push_max_devices: number;
  /** Seconds between two notifications to one client: a burst becomes one more notification at the end. */
  push_min_interval: number;
  // --- Server information (src/features/contact-info.ts, external-services.ts, proxy65/) ---
  /** XEP-0157 contact addresses by kind (abuse, admin, feedback, sales, security, status, support): URIs. */
  contact_info: Partial<Record<ContactKind, string[]>>;
  /** A TURN server sharing a secret with us (TURN REST API): advertised over XEP-0215 when host and secret are set. */
  turn_external_host?: string;
  turn_external_port: number;
  turn_external_secret?: string;
  /** Lifetime of the TURN credentials we hand out, seconds. */
  turn_external_ttl: number;
  /** The TURN server's TLS port (turns), when it has one. */
  turn_external_tls_port?: number;
  /** Other external services (XEP-0215), as Prosody's mod_external_services lists them. */
  external_services: ExternalServiceConfig[];
  /** Local service domains and what runs there, as Prosody's Component lines: { "proxy.example.org": "proxy65" }. */
  components: Record<string, ComponentKind>;
  /** The SOCKS5 proxy's (XEP-0065) ports and addresses, and the host name or address clients are told to connect to. */
  proxy65_ports: number[];
  proxy65_interfaces: string[];
  proxy65_address?: string;
  /** Who may use the proxy: bare JIDs or domains; empty = every local account. */
  proxy65_acl: string[];
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

export const contactKinds = ["abuse", "admin", "feedback", "sales", "security", "status", "support"] as const;
export type ContactKind = (typeof contactKinds)[number];
/** What may run on a local service domain (src/core/components.ts). */
export const componentKinds = ["proxy65"] as const;
export type ComponentKind = (typeof componentKinds)[number];

/** One entry of external_services (XEP-0215 §4); `secret` makes TURN REST credentials. */
export interface ExternalServiceConfig {
  type: string;
  host: string;
  port?: number;
  transport?: "udp" | "tcp";
  username?: string;
  password?: string;
  secret?: string;
  ttl?: number;
  name?: string;
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
  http_request_timeout: 30,
  http_body_idle_timeout: 30,
  http_body_min_rate: 16 * 1024,
  oauth2_access_token_ttl: 3600,
  oauth2_refresh_token_ttl: 604800,
  oauth2_code_ttl: 600,
  oauth2_device_code_ttl: 600,
  oauth2_device_poll_interval: 5,
  oauth2_rate_limit: 60,
  security_history_days: 90,
  new_client_notice: true,
  pep_max_items: 256,
  pep_max_item_size: 128 * 1024,
  pep_max_nodes: 256,
  vcard_max_size: 64 * 1024,
  private_max_size: 64 * 1024,
  private_max_items: 100,
  blocklist_max_items: 1000,
  // A year, not Prosody's week: the archive is what a new or long-offline device syncs its
  // history from, and a week loses a holiday's conversations; a year still bounds the storage.
  archive_expires_after: 365 * 86400,
  max_archive_query_results: 250,
  default_archive_policy: true,
  http_file_share_size_limit: 10 * 1024 * 1024,
  http_file_share_expires_after: 7 * 86400,
  http_file_share_daily_quota: 100 * 1024 * 1024,
  http_file_share_slot_rate_limit: 30,
  push_notification_with_body: false,
  push_notification_with_sender: true,
  push_max_devices: 5,
  push_min_interval: 10,
  contact_info: {},
  turn_external_port: 3478,
  turn_external_ttl: 86400,
  external_services: [],
  components: {},
  proxy65_ports: [5000],
  proxy65_interfaces: ["0.0.0.0"],
  proxy65_acl: [],
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

const UNITS: Record<string, number> = { s: 1, min: 60, h: 3600, d: 86400, w: 7 * 86400, m: 30 * 86400, y: 365 * 86400 };
/** Seconds, or Prosody's "<n><unit>" (s, min, h, d, w, m, y), or "never". */
const duration: Check = (v, key) => {
  if (v === "never") return v;
  if (typeof v === "number" && Number.isInteger(v) && v > 0) return v;
  const m = typeof v === "string" ? /^(\d+)\s*(s|min|h|d|w|m|y)$/.exec(v.trim()) : null;
  if (!m || Number(m[1]) <= 0) throw new ConfigError(key, 'must be "never", a number of seconds, or like "1d", "2w", "6m", "1y"');
  return Number(m[1]) * UNITS[m[2]!]!;
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
  http_request_timeout: int(1, 3600),
  http_body_idle_timeout: int(1, 3600),
  http_body_min_rate: int(1, 2 ** 30),
  oauth2_access_token_ttl: int(60, 86400 * 30),
  oauth2_refresh_token_ttl: int(60, 366 * 86400),
  oauth2_code_ttl: int(1, 3600),
  oauth2_device_code_ttl: int(10, 86400),
  oauth2_device_poll_interval: int(1, 600),
  oauth2_rate_limit: int(1, 1_000_000_000),
  security_history_days: int(1, 36500),
  new_client_notice: bool,
  pep_max_items: int(1, 10_000),
  pep_max_item_size: int(1024, 64 * 1024 * 1024),
  pep_max_nodes: int(1, 100_000),
  vcard_max_size: int(1024, 16 * 1024 * 1024),
  private_max_size: int(1024, 16 * 1024 * 1024),
  private_max_items: int(1, 100_000),
  blocklist_max_items: int(1, 1_000_000),
  archive_expires_after: duration,
  max_archive_query_results: int(1, 10_000),
  default_archive_policy: (v, k) => {
    if (v !== true && v !== false && v !== "roster") throw new ConfigError(k, 'must be true, false or "roster"');
    return v;
  },
  http_file_share_size_limit: int(1, 2 ** 40),
  http_file_share_expires_after: int(60, 36500 * 86400),
  http_file_share_daily_quota: int(0, 2 ** 50),
  http_file_share_global_quota: int(0, 2 ** 50),
  http_file_share_slot_rate_limit: int(1, 1_000_000),
  push_notification_with_body: bool,
  push_notification_with_sender: bool,
  push_max_devices: int(1, 100),
  push_min_interval: int(0, 3600),
  contact_info: (v, k) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new ConfigError(k, `must map kinds (${contactKinds.join(", ")}) to lists of URIs`);
    const out: Record<string, string[]> = {};
    for (const [kind, list] of Object.entries(v)) {
      if (!(contactKinds as readonly string[]).includes(kind)) throw new ConfigError(k, `unknown kind '${kind}': one of ${contactKinds.join(", ")}`);
      out[kind] = (strings(list, `${k}.${kind}`) as string[]).map((u) => uri(u, `${k}.${kind}`));
    }
    return out;
  },
  turn_external_host: hostName,
  turn_external_port: int(1, 65535),
  turn_external_secret: str,
  turn_external_ttl: int(60, 366 * 86400),
  turn_external_tls_port: int(1, 65535),
  external_services: (v, k) => {
    if (!Array.isArray(v)) throw new ConfigError(k, "must be a list of services");
    return v.map((e, i) => externalService(e, `${k}[${i}]`));
  },
  components: (v, k) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new ConfigError(k, "must map domains to what runs there");
    const out: Record<string, unknown> = {};
    for (const [domain, kind] of Object.entries(v))
      out[(schema.domain(domain, `${k}.${domain}`) as string).toLowerCase()] = oneOf(...componentKinds)(kind, `${k}.${domain}`);
    return out;
  },
  proxy65_ports: ports,
  proxy65_interfaces: strings,
  proxy65_address: hostName,
  proxy65_acl: strings,
  allow_registration: bool,
  min_seconds_between_registrations: int(0, 7 * 86400),
  registration_rate_limit: int(1, 1_000_000),
  invite_expiry: int(60, 366 * 86400),
};

/** An absolute URI with a scheme (mailto:, xmpp:, https:…), no spaces or controls. */
function uri(v: string, key: string): string {
  if (!/^[a-z][a-z0-9+.-]*:[^\s\p{Cc}]+$/iu.test(v) || !URL.canParse(v)) throw new ConfigError(key, `'${v}' is not a URI (mailto:…, xmpp:…, https:…)`);
  return v;
}

function hostName(v: unknown, key: string): string {
  const s = str(v, key) as string;
  if (!/^[a-z0-9.:-]+$/i.test(s) || s.length > 253) throw new ConfigError(key, "must be a host name or an IP address");
  return s;
}

function externalService(v: unknown, key: string): ExternalServiceConfig {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new ConfigError(key, "must be a mapping (type, host, port…)");
  const e = v as Record<string, unknown>;
  const known = ["type", "host", "port", "transport", "username", "password", "secret", "ttl", "name"];
  for (const f of Object.keys(e)) if (!known.includes(f)) throw new ConfigError(`${key}.${f}`, "unknown key");
  const opt = <T>(f: string, check: Check) => (e[f] === undefined ? undefined : (check(e[f], `${key}.${f}`) as T));
  const out: ExternalServiceConfig = {
    type: str(e.type, `${key}.type`) as string,
    host: hostName(e.host, `${key}.host`),
    port: opt<number>("port", int(1, 65535)),
    transport: opt<"udp" | "tcp">("transport", oneOf("udp", "tcp")),
    username: opt<string>("username", str),
    password: opt<string>("password", str),
    secret: opt<string>("secret", str),
    ttl: opt<number>("ttl", int(60, 366 * 86400)),
    name: opt<string>("name", str),
  };
  if (out.secret && (out.username || out.password)) throw new ConfigError(`${key}.secret`, "either a secret or a username and password, not both");
  return out;
}

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
  // A published item comes inside a stanza: a larger limit could never be reached. Unset, it
  // follows a lowered c2s_stanza_size_limit instead of stopping a server that never named it.
  if (raw.pep_max_item_size === undefined) cfg.pep_max_item_size = Math.min(cfg.pep_max_item_size, cfg.c2s_stanza_size_limit);
  else if (cfg.pep_max_item_size > cfg.c2s_stanza_size_limit) throw new ConfigError("pep_max_item_size", "must not exceed c2s_stanza_size_limit");
  if (raw.http_file_share_daily_quota === undefined) cfg.http_file_share_daily_quota = cfg.http_file_share_size_limit * 10;
  if (Object.hasOwn(cfg.components, cfg.domain)) throw new ConfigError("components", "a component cannot have the server's own domain");
  if ((cfg.turn_external_host === undefined) !== (cfg.turn_external_secret === undefined))
    throw new ConfigError(
      cfg.turn_external_host ? "turn_external_secret" : "turn_external_host",
      "turn_external_host and turn_external_secret must be given together",
    );
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
