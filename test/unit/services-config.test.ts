// The configuration of contact addresses, external services, components and the proxy
// (src/core/config.ts): good values come through as given, bad ones stop the start with the
// key named.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildConfig, ConfigError } from "../../src/core/config.js";

const refuses = (raw: Record<string, unknown>, key: RegExp) =>
  assert.throws(
    () => buildConfig(raw),
    (e: unknown) => e instanceof ConfigError && key.test(e.message),
  );

test("defaults: nothing advertised, no component, Prosody's proxy65 port", () => {
  const c = buildConfig({});
  assert.deepEqual(c.contact_info, {});
  assert.deepEqual(c.external_services, []);
  assert.deepEqual(c.components, {});
  assert.equal(c.turn_external_host, undefined);
  assert.equal(c.turn_external_port, 3478);
  assert.equal(c.turn_external_ttl, 86400);
  assert.deepEqual(c.proxy65_ports, [5000]);
  assert.deepEqual(c.proxy65_acl, []);
});

test("good values come through", () => {
  const c = buildConfig({
    domain: "example.org",
    contact_info: { abuse: "mailto:abuse@example.org", support: ["https://example.org/help", "xmpp:support@example.org"] },
    components: { "Proxy.Example.org": "proxy65" },
    external_services: [{ type: "turn", host: "turn.example.org", port: 3478, transport: "udp", secret: "s", ttl: 3600 }],
  });
  assert.deepEqual(c.contact_info, { abuse: ["mailto:abuse@example.org"], support: ["https://example.org/help", "xmpp:support@example.org"] });
  assert.deepEqual(c.components, { "proxy.example.org": "proxy65" });
  assert.equal(c.external_services[0]!.secret, "s");
});

test("bad values are refused, naming the key", () => {
  refuses({ contact_info: ["mailto:a@b"] }, /contact_info/);
  refuses({ contact_info: { abuse: ["abuse@example.org"] } }, /contact_info\.abuse/);
  refuses({ contact_info: { abuse: ["javascript :x"] } }, /contact_info\.abuse/);
  refuses({ components: { "proxy.localhost": "muc" } }, /components\.proxy\.localhost/);
  refuses({ components: { localhost: "proxy65" } }, /components/);
  refuses({ components: { "bad domain": "proxy65" } }, /components\.bad domain/);
  refuses({ turn_external_secret: "s" }, /turn_external_host/);
  refuses({ turn_external_host: "turn.example.org", turn_external_secret: "s", turn_external_port: 70000 }, /turn_external_port/);
  refuses({ turn_external_host: "turn example", turn_external_secret: "s" }, /turn_external_host/);
  refuses({ external_services: { type: "stun" } }, /external_services/);
  refuses({ external_services: [{ type: "stun" }] }, /external_services\[0\]\.host/);
  refuses({ external_services: [{ type: "turn", host: "t.example", transport: "sctp" }] }, /external_services\[0\]\.transport/);
  refuses({ external_services: [{ type: "turn", host: "t.example", secret: "s", username: "u" }] }, /external_services\[0\]\.secret/);
  refuses({ external_services: [{ type: "turn", host: "t.example", colour: "blue" }] }, /external_services\[0\]\.colour/);
  refuses({ proxy65_ports: ["x"] }, /proxy65_ports/);
  refuses({ proxy65_acl: [""] }, /proxy65_acl/);
});
