// Every feature, in registration order. Each is one file of bus handlers; a feature may
// return a function that stops whatever it started (timers, listeners).
import type { Server } from "../core/server.js";
import starttls from "./starttls.js";
import saslLegacy from "../auth/sasl-legacy.js";
import bind from "./bind.js";
import message from "./message.js";
import offline from "./offline.js";
// import presence from "./presence.js";
// import roster from "./roster.js";
import disco from "./disco.js";
import ping from "./ping.js";
import version from "./version.js";
import accounts from "./accounts.js";

export type Feature = (server: Server) => void | (() => void | Promise<void>) | Promise<void | (() => void | Promise<void>)>;

export const features: Feature[] = [starttls, saslLegacy, bind, message, offline, /*presence, roster,*/ disco, ping, version, accounts];
