// What a feature is to the kernel, and the loader that orders and checks them. A feature is
// one file of event handlers (Prosody's modules are the model) that declares the services it
// needs and provides, and the features it must follow (Prosody's module:depends); the loader
// sets them up in an order that satisfies every declaration and fails at start, with a clear
// message, when one cannot be satisfied. Among features free to go in any order, the list's
// order is kept: it decides the order of handlers of equal priority.
import type { Server, ServerFeature, Stop } from "./server.js";
import type { ServiceName } from "./services.js";

export type { Stop } from "./server.js";

export interface Feature extends ServerFeature {
  readonly name: string;
  /** Services it uses: it is set up after the features that provide them. */
  readonly needs?: readonly ServiceName[];
  /** Services it provides (with server.services.provide) during its setup. */
  readonly provides?: readonly ServiceName[];
  /** Features that must be set up before it, by name, for reasons other than a service. */
  readonly after?: readonly string[];
  setup(server: Server): void | Stop | Promise<void | Stop>;
}

/** Declares a feature; the identity function, there for the type and for the reader. */
export function defineFeature(feature: Feature): Feature {
  return feature;
}

export class FeatureError extends Error {}

/** The features in an order that satisfies their declarations, or a FeatureError saying why none does. */
export function orderFeatures(features: readonly Feature[]): Feature[] {
  const byName = new Map<string, Feature>();
  const provider = new Map<ServiceName, Feature>();
  for (const f of features) {
    if (byName.has(f.name)) throw new FeatureError(`the feature '${f.name}' is listed twice`);
    byName.set(f.name, f);
    for (const s of f.provides ?? []) {
      const other = provider.get(s);
      if (other) throw new FeatureError(`the service '${s}' is provided by both '${other.name}' and '${f.name}'`);
      provider.set(s, f);
    }
  }
  for (const f of features) {
    for (const s of f.needs ?? [])
      if (!provider.has(s)) throw new FeatureError(`the feature '${f.name}' needs the service '${s}', which no configured feature provides`);
    for (const a of f.after ?? []) if (!byName.has(a)) throw new FeatureError(`the feature '${f.name}' needs the feature '${a}', which is not configured`);
  }
  const done = new Set<string>();
  const available = new Set<ServiceName>();
  const order: Feature[] = [];
  const ready = (f: Feature) => (f.needs ?? []).every((s) => available.has(s)) && (f.after ?? []).every((a) => done.has(a));
  while (order.length < features.length) {
    const next = features.find((f) => !done.has(f.name) && ready(f));
    if (!next) {
      const stuck = features.filter((f) => !done.has(f.name)).map((f) => `'${f.name}'`);
      throw new FeatureError(`the features ${stuck.join(", ")} depend on each other in a circle`);
    }
    done.add(next.name);
    for (const s of next.provides ?? []) available.add(s);
    order.push(next);
  }
  return order;
}
