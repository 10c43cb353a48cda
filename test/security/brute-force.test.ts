// Issue 10 §6, brute force on every login path (legacy SASL PLAIN and SCRAM-SHA-1/256, SASL2
// PLAIN and SCRAM-SHA-256, SASL2 over WebSocket, the account page's sign-in and the OAuth login
// form), and the findings "Password oracle after lockout", "Throttle race" and "Trusted proxy by
// default":
// - past an account's limit the right and the wrong password get the same answer, as fast;
// - an unknown account is answered exactly like a known one, before and past the limit;
// - the per-IP limit holds, and X-Forwarded-For from a peer that is not a trusted proxy (none is
//   by default) neither resets nor dodges it;
// - 100 failures sent in parallel from one address get exactly the per-IP limit checked.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { Jar, hiddenFields, loginPaths, median, postForm, type Answer, type LoginPath } from "../helpers/login-paths.js";
import { RawClient } from "../helpers/raw-client.js";
import { NS_SASL, NS_STREAM, parseServerOutput } from "../helpers/xml.js";
import { plainInitialResponse } from "../helpers/sasl2-client.js";

const LIMIT = 3; // failures per account in the window; an address gets four times as many
const VICTIM = "victim";
const VICTIM_PASSWORD = "victim-password-1";
const BYSTANDER = "bystander";
const BYSTANDER_PASSWORD = "bystander-password-1";

async function limitedServer(extra: Record<string, unknown> = {}): Promise<TestServer> {
  // oauth2_rate_limit is the forms' request limit, another mechanism: set out of the way here.
  const s = await startServer({ login_failure_limit: LIMIT, login_failure_window: 3600, oauth2_rate_limit: 100_000, new_client_notice: false, ...extra });
  await s.addUser(VICTIM, VICTIM_PASSWORD);
  await s.addUser(BYSTANDER, BYSTANDER_PASSWORD);
  return s;
}

let n = 0;
/** A different made-up client address each time, as a guesser rotating X-Forwarded-For would send. */
const spoofed = () => `198.51.100.${(n++ % 250) + 1}`;

function isWrongAnswer(path: LoginPath, a: Answer): boolean {
  return path.web ? /^http 403\/Wrong username or password\.$/.test(a.outcome) : /^failure\/not-authorized\/$/.test(a.outcome);
}
function isThrottledAnswer(path: LoginPath, a: Answer): boolean {
  return path.web ? /^http 429\/Too many failed attempts/.test(a.outcome) : /^failure\/temporary-auth-failure\/Too many failed login attempts/.test(a.outcome);
}

async function bruteForce(pathName: string, withXff: boolean): Promise<void> {
  const s = await limitedServer();
  try {
    const path = loginPaths(s).find((p) => p.name === pathName)!;
    const opts = () => (withXff ? { xff: spoofed() } : {});
    const tryLogin = (u: string, p: string) => path.attempt(u, p, opts());

    // Before the limit: a wrong password for a real account and any password for an unknown one look the same.
    const wrong: Answer[] = [];
    for (let i = 0; i < LIMIT; i++) wrong.push(await tryLogin(VICTIM, `wrong-${i}`));
    const ghost: Answer[] = [];
    for (let i = 0; i < LIMIT; i++) ghost.push(await tryLogin("ghost", `wrong-${i}`));
    for (const a of [...wrong, ...ghost]) assert.ok(isWrongAnswer(path, a), `a wrong guess is refused as such: ${a.outcome}`);
    assert.deepEqual(new Set(ghost.map((a) => a.outcome)), new Set(wrong.map((a) => a.outcome)), "an unknown account is answered as a known one");

    // Past the account's limit: the right password, a wrong one, and the locked-out unknown account are answered alike, as fast.
    const right: Answer[] = [],
      stillWrong: Answer[] = [],
      ghostAfter: Answer[] = [];
    for (let i = 0; i < 4; i++) {
      right.push(await tryLogin(VICTIM, VICTIM_PASSWORD));
      stillWrong.push(await tryLogin(VICTIM, `still-wrong-${i}`));
      ghostAfter.push(await tryLogin("ghost", `still-wrong-${i}`));
    }
    const outcomes = new Set([...right, ...stillWrong, ...ghostAfter].map((a) => a.outcome));
    assert.equal(outcomes.size, 1, `one answer whatever the password and the account: ${[...outcomes].join(" | ")}`);
    assert.ok(isThrottledAnswer(path, right[0]!), `the throttled answer: ${right[0]!.outcome}`);
    // A wrong guess used to wait out its failure delay (150 ms × failures, so ≥ 600 ms here) while the right password was refused at once.
    const dRight = median(right.map((a) => a.ms)),
      dWrong = median(stillWrong.map((a) => a.ms));
    assert.ok(Math.abs(dRight - dWrong) < 250, `right and wrong answered as fast: medians ${dRight.toFixed(1)} ms and ${dWrong.toFixed(1)} ms`);

    // Another account from the same address still logs in: 6 failures are under the address's 12.
    assert.equal((await tryLogin(BYSTANDER, BYSTANDER_PASSWORD)).outcome, "success");

    // The address's limit: 6 more failures (fresh accounts each, so no account limit is what stops them) fill it.
    for (let i = 0; i < 4 * LIMIT - 2 * LIMIT; i++) assert.ok(isWrongAnswer(path, await tryLogin(`nobody${i}`, "x")), "counted up to the address limit");
    const ipRight = await tryLogin(BYSTANDER, BYSTANDER_PASSWORD);
    const ipWrong = await tryLogin(BYSTANDER, "not-it");
    assert.ok(
      isThrottledAnswer(path, ipRight),
      `past the address limit even the right password of another account is refused${withXff ? ", whatever X-Forwarded-For says" : ""}: ${ipRight.outcome}`,
    );
    assert.equal(ipWrong.outcome, ipRight.outcome, "and a wrong one gets the same answer");
  } finally {
    await s.stop();
  }
}

const names = [
  "legacy SASL PLAIN",
  "legacy SASL SCRAM-SHA-1",
  "legacy SASL SCRAM-SHA-256",
  "SASL2 PLAIN",
  "SASL2 SCRAM-SHA-256",
  "WebSocket (wss://) SASL2 PLAIN",
  "account page sign-in (/account/login)",
  "OAuth login form (/oauth2/authorize)",
];
const overHttp = new Set(names.slice(5));

for (const name of names) {
  test(`${name}: no password oracle past the account limit, unknown accounts answered alike, the address limit holds`, () => bruteForce(name, false));
  if (overHttp.has(name)) {
    test(`${name}, each attempt with a different X-Forwarded-For from an untrusted peer: the same limits hold`, () => bruteForce(name, true));
  }
}

test("throttle race: 100 failed logins sent in parallel from one address get exactly the address limit (4 × login_failure_limit) checked", async () => {
  const s = await startServer({ login_failure_limit: 5, login_failure_window: 3600 });
  try {
    // 100 streams ready for SASL first, so that every <auth/> is in flight at once.
    const streams = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const c = await RawClient.connect(s.c2sPort);
        await c.startTls();
        c.openStream();
        await c.waitUntil(
          (t) => parseServerOutput(t).some((i) => i.kind === "element" && i.el.name === "features" && i.el.ns === NS_STREAM) || undefined,
          "the features",
          30_000,
        );
        c.clear();
        return c;
      }),
    );
    // Each guesses at a different (unknown) account: only the address's limit applies.
    streams.forEach((c, i) => c.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${plainInitialResponse(`burst${i}`, "guess").toString("base64")}</auth>`));
    const conditions = await Promise.all(
      streams.map((c) =>
        c.waitUntil(
          (t) =>
            parseServerOutput(t).flatMap((i) =>
              i.kind === "element" && i.el.ns === NS_SASL && i.el.name === "failure" ? [i.el.children.find((x) => x.name !== "text")!.name] : [],
            )[0],
          "the answer",
          60_000,
        ),
      ),
    );
    for (const c of streams) c.close();
    const checked = conditions.filter((x) => x === "not-authorized").length;
    const refused = conditions.filter((x) => x === "temporary-auth-failure").length;
    assert.deepEqual({ checked, refused }, { checked: 20, refused: 80 });
  } finally {
    await s.stop();
  }
});

test("throttle race on the account page: 100 parallel wrong sign-ins from one address get exactly the address limit checked (403), the rest 429", async () => {
  const s = await startServer({ login_failure_limit: 5, login_failure_window: 3600, oauth2_rate_limit: 100_000 });
  try {
    const url = `http://127.0.0.1:${s.httpPort}/account/login`;
    // 100 sign-in forms fetched first (each with its own CSRF cookie), then every POST sent at once.
    const forms = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const jar = new Jar();
        const res = await fetch(url);
        jar.keep(res);
        return { jar, fields: hiddenFields(await res.text()) };
      }),
    );
    const answers = await Promise.all(forms.map(({ jar, fields }, i) => postForm(url, jar, [...fields, ["username", `burst${i}`], ["password", "guess"]], {})));
    const statuses = answers.map((a) => a.res.status);
    assert.deepEqual({ checked: statuses.filter((x) => x === 403).length, refused: statuses.filter((x) => x === 429).length }, { checked: 20, refused: 80 });
  } finally {
    await s.stop();
  }
});
