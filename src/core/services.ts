// The services features share (the grant store, the HTTP service, the login throttle…), by
// name and typed. The kernel knows none of them: a feature that provides one declares its type
// by merging it into `Services` from its own file, as fastify's decorators do —
//   declare module "../core/services.js" { interface Services { grants: Grants } }
// — and the loader (src/core/feature.ts) sets up a feature only after those of what it needs.
/* eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by interface merging */
export interface Services {}

export type ServiceName = keyof Services;

export class ServiceRegistry {
  private readonly values: Partial<Services> = {};

  provide<K extends ServiceName>(name: K, value: Services[K]): void {
    if (this.values[name] !== undefined) throw new Error(`the service '${name}' is provided twice`);
    this.values[name] = value;
  }

  has(name: string): boolean {
    return Object.hasOwn(this.values, name);
  }

  /** A service a feature declared it needs: always there once the loader let the feature start. */
  get<K extends ServiceName>(name: K): Services[K] {
    const v = this.values[name];
    if (v === undefined) throw new Error(`the service '${name}' is not available: no loaded feature provides it`);
    return v;
  }

  /** A service a feature can do without (the HTTPS port for a link, say). */
  find<K extends ServiceName>(name: K): Services[K] | undefined {
    return this.values[name];
  }
}
