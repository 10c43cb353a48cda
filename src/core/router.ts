// Routing of stanzas between local sessions per RFC 6120 §10 and RFC 6121 §8. The router only
// classifies a stanza and fires the event that names its case; features decide what to do
// (deliver, store offline, answer), and the fallbacks here apply when none did.
import { Element } from "../xml/element.js";
import { parseJid, type JID } from "./jid.js";
import { StanzaError, stanzaErrors, stanzaErrorElement, type StanzaErrorDef } from "./errors.js";
import type { Session } from "./session.js";
import type { Bus } from "./bus.js";
import type { SessionRegistry } from "./registry.js";
import type { StanzaEvent, StanzaName } from "./events.js";

export type { StanzaEvent } from "./events.js";

/** The three stanzas of RFC 6120 §8; anything else at stanza level never reaches the router. */
export function isStanzaName(name: string): name is StanzaName {
  return name === "message" || name === "presence" || name === "iq";
}

const IQ_TYPES = new Set(["get", "set", "result", "error"]);

/** What routing needs of the server: its domain, the bus, and where sessions are registered. */
export interface RouterHost {
  readonly config: { readonly domain: string };
  /** Local service domains (src/core/server.ts componentDomains). */
  readonly componentDomains: ReadonlySet<string>;
  readonly bus: Bus;
  readonly registry: SessionRegistry;
}

export class Router {
  constructor(private readonly server: RouterHost) {}

  /** A stanza sent by a bound client. */
  async fromClient(session: Session, stanza: Element): Promise<void> {
    if (!isStanzaName(stanza.name)) return;
    // The server stamps the full JID (RFC 6120 §8.1.2.1); whatever the client put there is ignored.
    stanza.attrs.from = session.jid!.toString();
    let to: JID | undefined;
    if (stanza.attrs.to !== undefined) {
      to = parseJid(stanza.attrs.to);
      if (!to) return this.bounce(stanza, stanzaErrors.jidMalformed, session);
    }
    if (stanza.name === "iq" && !this.validIq(stanza)) {
      return this.bounce(stanza, stanzaErrors.badRequest, session);
    }
    const handled = await this.server.bus.fire(`${stanza.name}/client`, { stanza, origin: session, from: session.jid!, to: to ?? session.jid!.bare() });
    if (handled !== undefined) return;
    if (!to && stanza.name !== "iq") {
      // No 'to' on a message means the account itself (RFC 6120 §10.3.1).
      to = stanza.name === "message" ? session.jid!.bare() : undefined;
      if (!to) return; // presence without 'to' is a broadcast: the presence feature handles it above.
    }
    await this.route(stanza, session.jid!, to ?? session.jid!.bare(), session, !to || (to.bareString === session.jid!.bareString && !to.resource));
  }

  /** Routes a stanza from `from` to `to`; used for client stanzas and for stanzas the server sends. */
  async route(stanza: Element, from: JID, to: JID, origin?: Session, self = false): Promise<void> {
    try {
      if (to.domain !== this.server.config.domain) {
        if (this.server.componentDomains.has(to.domain)) return await this.toComponent({ stanza, origin, from, to });
        // No server-to-server yet: say so instead of silently dropping (RFC 6120 §10.4).
        return this.bounce(stanza, stanzaErrors.remoteServerNotFound, origin);
      }
      if (!isStanzaName(stanza.name)) return;
      const kind = !to.local ? "host" : to.resource ? "full" : "bare";
      const ev: StanzaEvent = { stanza, origin, from, to };
      if (stanza.name === "iq") return await this.routeIq(ev, kind, self);
      const handled = await this.server.bus.fire(`${stanza.name}/${kind}`, ev);
      if (handled === undefined && stanza.name === "message" && kind !== "host") {
        return this.bounce(stanza, stanzaErrors.serviceUnavailable, origin);
      }
    } catch (err) {
      if (err instanceof StanzaError) return this.bounce(stanza, err.def, origin, err.text);
      throw err;
    }
  }

  /**
   * A stanza for a local service domain: the feature serving that domain answers
   * `<stanza>/component` (checking `to.domain`); a request nobody answered gets
   * service-unavailable, as a missing entity would (RFC 6120 §8.3.3.19).
   */
  private async toComponent(ev: StanzaEvent): Promise<void> {
    const { stanza } = ev;
    if (!isStanzaName(stanza.name)) return;
    const handled = await this.server.bus.fire(`${stanza.name}/component`, ev);
    const type = stanza.attrs.type;
    const request = stanza.name === "iq" ? type === "get" || type === "set" : stanza.name === "message";
    if (handled === undefined && request) this.bounce(stanza, stanzaErrors.serviceUnavailable, ev.origin);
  }

  private async routeIq(ev: StanzaEvent, kind: string, self: boolean): Promise<void> {
    const { stanza } = ev;
    const type = stanza.attrs.type!;
    if (kind === "full") {
      const target = this.server.registry.get(ev.to.local!, ev.to.resource!);
      if (target) return target.send(stanza);
      if (type === "get" || type === "set") return this.bounce(stanza, stanzaErrors.serviceUnavailable, ev.origin);
      return;
    }
    if (type !== "get" && type !== "set") return; // results to the server or an account: nothing waits for them.
    const payload = stanza.elements()[0]!;
    const key = `${payload.attrs.xmlns}:${payload.name}`;
    const bus = this.server.bus;
    let handled: unknown;
    if (kind === "host") handled = await bus.fire(`iq-${type}/host/${key}`, ev);
    else {
      if (self) handled = await bus.fire(`iq-${type}/self/${key}`, ev);
      if (handled === undefined) handled = await bus.fire(`iq-${type}/bare/${key}`, ev);
    }
    if (handled === undefined) this.bounce(stanza, stanzaErrors.serviceUnavailable, ev.origin);
  }

  private validIq(iq: Element): boolean {
    const type = iq.attrs.type;
    if (!type || !IQ_TYPES.has(type) || !iq.attrs.id) return false;
    if (type === "get" || type === "set") return iq.elements().length === 1;
    return true;
  }

  /** Answers a stanza with an error, unless it was an error itself (no loops, RFC 6120 §8.3.1). */
  bounce(stanza: Element, def: StanzaErrorDef, origin?: Session, text?: string): void {
    if (stanza.attrs.type === "error") return;
    if (stanza.name === "iq" && stanza.attrs.type === "result") return;
    if (stanza.name === "presence") return; // presence errors are not worth a round trip here
    // A stanza without 'to' was handled on behalf of the account: the error comes from its bare JID (RFC 6120 §8.1.2.1).
    const reply = errorReply(stanza, def, origin?.jid ? origin.jid.bareString : this.server.config.domain, text);
    if (origin) origin.send(reply);
    else {
      const to = parseJid(reply.attrs.to ?? "");
      if (to?.resource && to.local) this.server.registry.get(to.local, to.resource)?.send(reply);
    }
  }
}

/**
 * An error reply to a stanza: from and to swapped, type=error, the original payload kept.
 * `by` is the sender when the stanza had no 'to': for a bound client's stanza that is its
 * account's bare JID (RFC 6120 §8.1.2.1), not the domain — clients match replies by sender.
 */
export function errorReply(stanza: Element, def: StanzaErrorDef, by: string, text?: string): Element {
  const reply = stanza.clone();
  const from = reply.attrs.from;
  reply.attrs.from = reply.attrs.to ?? by;
  if (from) reply.attrs.to = from;
  else delete reply.attrs.to;
  reply.attrs.type = "error";
  reply.cnode(stanzaErrorElement(def, text));
  return reply;
}

/** A result IQ for a request, with an optional payload. */
export function iqResult(iq: Element, payload?: Element): Element {
  const attrs: Record<string, string> = { type: "result", id: iq.attrs.id! };
  if (iq.attrs.from) attrs.to = iq.attrs.from;
  if (iq.attrs.to) attrs.from = iq.attrs.to;
  const el = new Element("iq", attrs);
  if (payload) el.cnode(payload);
  return el;
}
