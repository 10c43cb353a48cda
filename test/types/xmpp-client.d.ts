// Types for the parts of @xmpp/client 0.14 (and @xmpp/events) that the interop tests use. The
// packages ship none and @types/xmpp__client does not exist; without these, every use of the
// client is `any` and the type-checked lint rules (no-unsafe-*) cannot see a misspelt call.
// Written from the packages' own sources in node_modules (@xmpp/connection, ltx's Element).

declare module "@xmpp/client" {
  import type { EventEmitter } from "node:events";

  /** ltx's Element, as @xmpp/xml returns it; toString() serializes it. */
  export interface Element {
    name: string;
    attrs: Record<string, string | undefined>;
    children: Array<Element | string>;
    is(name: string, xmlns?: string): boolean;
    getNS(): string;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildElements(): Element[];
    getChildText(name: string, xmlns?: string): string | null;
    getText(): string;
    text(): string;
    toString(): string;
  }

  export function xml(name: string, attrs?: Record<string, string | undefined> | null, ...children: Array<Element | string>): Element;

  export interface JID {
    local: string;
    domain: string;
    resource: string;
    bare(): JID;
    toString(): string;
  }

  export interface FastToken {
    mechanism: string;
    token: string;
    expiry: string;
  }

  export interface Options {
    service: string;
    domain: string;
    username?: string;
    password?: string;
    resource?: string;
    userAgent?: Element;
    timeout?: number;
    /** Chooses the mechanism and credentials (a method, so a handler may declare narrower parameter types). */
    credentials?(
      authenticate: (credentials: unknown, mechanism: string, userAgent?: unknown) => Promise<void>,
      mechanisms: string[],
      fast: { fetch(): Promise<FastToken | undefined> } | null,
    ): Promise<void>;
  }

  export interface Client extends EventEmitter {
    status: string;
    /** Null until the client is online; the tests read it only then. */
    jid: JID;
    /** The transport's own socket: a net/tls Socket over TCP, a ws WebSocket over WebSocket. */
    socket: { socket: unknown } | null;
    start(): Promise<JID>;
    stop(): Promise<void>;
    send(element: Element): Promise<void>;
    isSecure(): boolean;
    reconnect: { stop(): void };
    iqCaller: { request(iq: Element, timeout?: number): Promise<Element> };
    iqCallee: {
      set(xmlns: string, name: string, handler: (context: unknown) => unknown): void;
      get(xmlns: string, name: string, handler: (context: unknown) => unknown): void;
    };
    fast: {
      fetchToken: () => Promise<FastToken | undefined>;
      saveToken: (token: FastToken) => Promise<void>;
      deleteToken: () => Promise<void>;
    };
    streamManagement: EventEmitter & { enabled: boolean; id: string };

    // Internals of @xmpp/connection that fixOpenRace (test/interop/xmppjs-client.ts) replaces or calls.
    open(options: { domain: string; lang?: string }): Promise<unknown>;
    _status(status: string): void;
    headerElement(): Element;
    header(element: Element): string;
    root: Element | null;
    Parser: new () => unknown;
    _attachParser(parser: unknown): void;
    timeout: number;
    write(data: string): Promise<void>;
  }

  export function client(options: Options): Client;
}

declare module "@xmpp/events" {
  import type { EventEmitter } from "node:events";

  /** Resolves with the first `event`, rejects on the first `rejectEvent` or after `timeout` ms. */
  export function promise(target: EventEmitter, event: string, rejectEvent?: string, timeout?: number): Promise<unknown>;
}
