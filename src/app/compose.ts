// The composition root: the one place that turns a configuration into a server. It picks the
// storage backend (`storage`), the implementations of what a cluster would share (the session
// registry, the login throttle, request rate limits, OAuth's short-lived codes, the account
// page's sign-ins and its live-update fan-out: all in this process's memory today) and the
// features, and hands them to the kernel, which knows none of them by name. A cluster backend
// replaces an implementation here, and no feature changes.
import { join } from "node:path";
import type { Logger } from "pino";
import type { Config } from "../core/config.js";
import { Server } from "../core/server.js";
import { defineFeature, orderFeatures, type Feature } from "../core/feature.js";
import type { ServiceName, Services } from "../core/services.js";
import { LocalSessionRegistry } from "../core/registry.js";
import { openStorage, type StorageConfig } from "../storage/index.js";
import { LocalLoginThrottle } from "../auth/throttle.js";
import { LocalRateLimits } from "../state/rate-limits.js";
import { LocalExpiringStores } from "../state/expiring-store.js";
import { LocalFanout } from "../state/fanout.js";
import { LocalBrowserSessions } from "../http/account/sessions.js";
import { sessionAnnouncements, type AccountUpdate } from "../http/account/live.js";
import { LocalHibernationStore } from "../features/stream-management/hibernation-store.js";
import { SecretBox } from "../auth/secret-box.js";
import { features } from "./features.js";

/** Where the configuration says the data lives. */
export function storageConfig(config: Config): StorageConfig {
  switch (config.storage) {
    case "sqlite":
      return { backend: "sqlite", path: join(config.data_path, "warden.sqlite"), offlineLimit: config.offline_message_limit };
  }
}

/** The key that seals secrets at rest (FAST tokens) and keys fake SCRAM salts: the data directory's. */
const secrets = defineFeature({
  name: "secrets",
  provides: ["secrets"],
  setup: (server) => server.services.provide("secrets", SecretBox.open(server.config.data_path)),
});

/** A feature that provides a service's in-process implementation and stops it with the server. */
function inProcess<K extends ServiceName>(name: string, service: K, make: (server: Server) => Services[K] & { stop(): void }): Feature {
  return defineFeature({
    name,
    provides: [service],
    setup: (server) => {
      const impl = make(server);
      server.services.provide(service, impl);
      return () => impl.stop();
    },
  });
}

/** Failed-login accounting shared by every way in (XMPP, the account page, OAuth forms). */
const loginThrottle = inProcess(
  "login-throttle",
  "loginThrottle",
  (server) => new LocalLoginThrottle(server.config.login_failure_limit, server.config.login_failure_window * 1000),
);
/** Where a stream management resumption finds its session (XEP-0198). */
const hibernation = inProcess("hibernation-store", "hibernation", () => new LocalHibernationStore());
/** Request counts per key and minute (OAuth endpoints, the account page's forms). */
const rateLimits = inProcess("rate-limits", "rateLimits", () => new LocalRateLimits());
/** Short-lived records with their own expiry (OAuth codes, device authorizations, spent tickets). */
const expiringStores = inProcess("expiring-stores", "expiringStores", () => new LocalExpiringStores());

/** The account page's sign-ins, and the fan-out that tells every open page what changed. */
const browserSessions = defineFeature({
  name: "browser-sessions",
  provides: ["browserSessions", "accountUpdates"],
  setup: (server) => {
    const updates = new LocalFanout<AccountUpdate>();
    const announce = sessionAnnouncements(updates);
    const sessions = new LocalBrowserSessions(announce.ended, announce.changed);
    server.services.provide("accountUpdates", updates);
    server.services.provide("browserSessions", sessions);
    return () => sessions.stop();
  },
});

export function composeServer(config: Config, log?: Logger, extra: readonly Feature[] = []): Server {
  return new Server({
    config,
    log,
    openStorage: () => openStorage(storageConfig(config)),
    registry: new LocalSessionRegistry(),
    // A feature list whose declarations cannot be met fails here, before anything is opened.
    features: orderFeatures([secrets, loginThrottle, hibernation, rateLimits, expiringStores, browserSessions, ...features, ...extra]),
  });
}
