/**
 * Fuzzing the HTTP API: thousands of random and hostile requests (wrong types, huge strings, unicode, nested
 * JSON, bad cursors, bad ids, bad headers, raw bytes) against one relay. Properties: no 5xx, every refusal
 * has the error envelope and no stack trace, nothing but a valid key ever gets a 2xx from /v1, idempotency
 * keys never make two watches, and afterwards every stored row satisfies the API's own rules.
 *
 * Network safety: the delivery worker and the scheduler are stopped before the first fuzzed request (nothing is
 * polled or delivered, checked at the end: no delivery attempt is ever made), and the relay's resolver is a
 * double, so no fuzzed host name ever reaches real DNS (`*.public.test` answers a public address, `*.flaky.test`
 * fails transiently, every other name is ENOTFOUND).
 *
 * Replay: the seed is printed (`{"fuzzSeed":…}`); `FUZZ_SEED=<seed> npx vitest run test/e2e/fuzz.test.ts`
 * replays a run, `FUZZ_SCALE=3` sends three times as many requests.
 *
 * The generators of hostile input, the answer checks (oracle) and the known-bug table live in test/support/fuzz/;
 * this file holds the run (sizes, seed), the world and the test cases.
 *
 * KNOWN_BUGS (test/support/fuzz/known-bugs.ts) can list a bug found and not fixed yet: a 5xx is then tolerated
 * only when the request carries its trigger AND the relay logged its database error, next to a failing test named
 * after it. It is empty: every bug found so far is fixed and has a regression test at the end of this file.
 */
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.js";
import { checkCallbackUrl } from "../../src/security/callback-url.js";
import { isBlockedAddress, parseHost } from "../../src/security/ip-address.js";
import { ADMIN_KEY, BASE } from "../support/fuzz/constants.js";
import { refuseAll, zoneResolver, type DnsAnswer } from "../support/fuzz/dns-zones.js";
import { sizedBody } from "../support/fuzz/hostile-bodies.js";
import { J } from "../support/fuzz/hostile-text.js";
import { check, checkIdempotency, checkSizeLimit, type Context, type Sent } from "../support/fuzz/oracle.js";
import { adapterRefuses, rawBytes, rawSpecArbitrary, type RawSpec } from "../support/fuzz/raw-requests.js";
import { specArbitrary, type Spec } from "../support/fuzz/requests.js";
import type { Fixtures } from "../support/fuzz/routes.js";
import { answerOf, bytesOf, sendRaw, textOf, toRequest } from "../support/fuzz/send.js";
import { count, createStats } from "../support/fuzz/stats.js";
import { watchRowProblems, type WatchRow } from "../support/fuzz/stored-rows.js";
import { startWorld, TEST_API_KEY, type TestWorld } from "../support/relay-harness.js";

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2_147_483_647;
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const IN_PROCESS_RUNS = Math.round(3_300 * SCALE);
const FETCH_RUNS = Math.round(240 * SCALE);
const RAW_RUNS = Math.round(160 * SCALE);

/** What the registration-time resolver double answered, per name (the end-of-run check reads it). */
const dnsLog = new Map<string, DnsAnswer>();
const registrationResolver = zoneResolver(dnsLog);
const stats = createStats(SEED);

// ---------------------------------------------------------------------------------------------------------

describe("fuzzing the API with random and hostile requests", () => {
  let world: TestWorld;
  let app: ReturnType<typeof createApp>;
  let ctx: Context;
  let fixtures: Fixtures;
  let arbitraries: { spec: fc.Arbitrary<Spec>; rawSpec: fc.Arbitrary<RawSpec> };
  let attemptsBefore = 0;
  const started = performance.now();

  const scalar = async (query: ReturnType<typeof sql>) => {
    const [row] = await world.relay.deps.db.rows<{ n: number }>(query);
    return Number(row?.n ?? 0);
  };
  const call = async (path: string, init: { method?: string; key?: string; json?: unknown } = {}) => {
    const res = await app.request(BASE + path, {
      method: init.method ?? "GET",
      headers: {
        authorization: `Bearer ${init.key ?? TEST_API_KEY}`,
        ...(init.json === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(init.json === undefined ? {} : { body: typeof init.json === "string" ? init.json : J(init.json) }),
    });
    const text = await res.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text
    }
    return { status: res.status, body };
  };

  beforeAll(async () => {
    console.log(J({ fuzzSeed: SEED, replay: `FUZZ_SEED=${SEED} npx vitest run test/e2e/fuzz.test.ts` }));
    world = await startWorld({
      env: { RELAY_ADMIN_KEY: ADMIN_KEY, RELAY_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString("base64") },
      relay: { resolver: registrationResolver },
    });
    // Nothing registered here may ever be polled or called back.
    await world.relay.delivery.stop(0);
    await world.relay.scheduler.stop(0);
    app = createApp(world.relay.deps);
    attemptsBefore = await scalar(sql`select count(*)::int as n from delivery_attempts`);

    const tenantB = await call("/v1/admin/tenants", { method: "POST", key: ADMIN_KEY, json: { name: "fuzz tenant B" } });
    const victim = await call("/v1/admin/tenants", { method: "POST", key: ADMIN_KEY, json: { name: "fuzz admin target" } });
    expect([tenantB.status, victim.status]).toEqual([201, 201]);
    const tenantBKey = tenantB.body.data.api_key.key as string;
    const foreign = await call("/v1/watches", {
      method: "POST",
      key: tenantBKey,
      json: { job_id: "b-job", callback_url: "http://127.0.0.1:9/b" },
    });
    const own = [];
    for (const job of ["fx-1", "fx-2", "fx-3"]) {
      own.push(await call("/v1/watches", { method: "POST", json: { job_id: job, callback_url: "http://127.0.0.1:9/hook" } }));
    }
    const page = await call("/v1/watches?limit=1");
    expect([foreign.status, ...own.map((o) => o.status), page.status]).toEqual([201, 201, 201, 201, 200]);
    fixtures = {
      watchIds: own.map((o) => o.body.data.id as string),
      foreignWatchId: foreign.body.data.id,
      tenantBKey,
      victimTenantId: victim.body.data.tenant.id,
      victimKeyId: victim.body.data.api_key.id,
      cursor: page.body.next_cursor,
    };
    ctx = {
      world,
      validKeys: new Set([TEST_API_KEY, ADMIN_KEY, tenantBKey, victim.body.data.api_key.key]),
      foreignWatchId: fixtures.foreignWatchId,
      tenantBKey,
      ledger: new Map(),
      stats,
    };
    const spec = specArbitrary(fixtures);
    arbitraries = { spec, rawSpec: rawSpecArbitrary(spec) };
  });

  afterAll(async () => {
    if (world) {
      stats.watchesStored = await scalar(sql`select count(*)::int as n from watches`);
      stats.tenantsStored = await scalar(sql`select count(*)::int as n from tenants`);
      stats.ms = Math.round(performance.now() - started);
      console.log(J({ fuzzTotals: stats }));
      await world.close();
    }
  });

  it(`sends ${IN_PROCESS_RUNS} requests in-process: no 5xx, envelopes, keys, idempotency`, { timeout: 180_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(arbitraries.spec, async (spec) => {
        for (let round = 0; round < (spec.repeat ? 2 : 1); round++) {
          const request = toRequest(spec);
          if (!request) {
            stats.unsendable++;
            return;
          }
          const sent: Sent = {
            channel: "inProcess",
            method: request.method,
            path: spec.path,
            headers: spec.headers,
            bodyText: textOf(spec.body),
            bodyBytes: bytesOf(spec.body),
            logFrom: world.logs.length,
          };
          const answer = await answerOf(await app.request(request));
          check(ctx, sent, answer);
          checkSizeLimit(spec, request, answer);
          checkIdempotency(ctx, spec, answer);
        }
      }),
      { numRuns: IN_PROCESS_RUNS, seed: SEED },
    );
    expect(stats.sent.inProcess).toBeGreaterThanOrEqual(Math.min(3_000, IN_PROCESS_RUNS * 0.9));
  });

  it(
    `sends ${FETCH_RUNS} requests over HTTP with fetch and ${RAW_RUNS} as raw bytes on a socket`,
    { timeout: 120_000 },
    async () => {
      await fc.assert(
        fc.asyncProperty(arbitraries.spec, async (spec) => {
          const url = world.relay.url + spec.path;
          let request: Request;
          try {
            request = new Request(url, { method: spec.method, headers: spec.headers, body: spec.body ?? null });
          } catch {
            stats.unsendable++;
            return;
          }
          const sent: Sent = {
            channel: "fetch",
            method: request.method,
            path: spec.path,
            headers: spec.headers,
            bodyText: textOf(spec.body),
            bodyBytes: bytesOf(spec.body),
            logFrom: world.logs.length,
          };
          let res: Response;
          try {
            res = await fetch(request, { redirect: "manual", signal: AbortSignal.timeout(15_000) });
          } catch (err) {
            const cause = (err as { cause?: { code?: string; message?: string } }).cause;
            if (cause?.code === "UND_ERR_INVALID_ARG") {
              stats.unsendable++; // undici refuses to send it (a control character in a header value)
              return;
            }
            throw new Error(`no answer over HTTP (${cause?.code} ${cause?.message}): ${spec.method} ${spec.path.slice(0, 200)}`);
          }
          const answer = await answerOf(res);
          answer.fromServer = res.headers.has("date");
          check(ctx, sent, answer);
          if (answer.fromServer) checkSizeLimit(spec, request, answer);
        }),
        { numRuns: FETCH_RUNS, seed: SEED + 1 },
      );
      await fc.assert(
        fc.asyncProperty(arbitraries.rawSpec, async (spec) => {
          const bytes = rawBytes(spec, world.relay.port);
          const sent: Sent = {
            channel: "raw",
            method: spec.method,
            path: spec.target.toString("latin1"),
            headers: [
              ...(spec.host === "missing" ? [] : [["host", spec.host] as [string, string]]),
              ...spec.headers.map(([k, v]): [string, string] => [k.toLowerCase(), v.toString("latin1")]),
            ],
            bodyText: spec.body.toString("utf8"),
            bodyBytes: spec.body.length,
            logFrom: world.logs.length,
            adapterMayRefuse: adapterRefuses(spec),
          };
          const answer = await sendRaw(world.relay.port, bytes);
          if (answer === "no answer")
            throw new Error(`the relay closed the connection without answering: ${bytes.toString("latin1").slice(0, 400)}`);
          check(ctx, sent, answer);
        }),
        { numRuns: RAW_RUNS, seed: SEED + 2 },
      );
      expect(stats.sent.fetch + stats.sent.raw).toBeGreaterThanOrEqual(Math.min(300, (FETCH_RUNS + RAW_RUNS) * 0.8));
    },
  );

  it("made no delivery attempt: nothing fuzzed was ever called back", async () => {
    expect(await scalar(sql`select count(*)::int as n from delivery_attempts`)).toBe(attemptsBefore);
    expect(await scalar(sql`select count(*)::int as n from deliveries`)).toBe(0);
  });

  it("stored nothing invalid: every row satisfies the API's own rules", { timeout: 60_000 }, async () => {
    const db = world.relay.deps.db;
    const problems: string[] = [];
    const knownBugRows: string[] = [];
    const allowlist = world.relay.deps.config.callbackAllowlist;

    const watches = await db.rows<WatchRow>(
      sql`select id, job_id, callback_url, events, metadata, retry_schedule_ms, callback_headers, idempotency_key, request_hash from watches`,
    );
    for (const w of watches) {
      const bad = (what: string) => problems.push(`watch ${w.id}: ${what}`);
      problems.push(...watchRowProblems(w));

      // The callback URL, re-checked with a resolver that refuses every name.
      const url = w.callback_url;
      let parsed: URL | undefined;
      try {
        parsed = new URL(url);
      } catch {
        bad(`callback_url does not parse: ${J(url.slice(0, 200))}`);
        continue;
      }
      if (!["http:", "https:"].includes(parsed.protocol)) bad(`callback_url scheme ${parsed.protocol}`);
      if (parsed.username !== "" || parsed.password !== "") bad("callback_url with credentials");
      if (parsed.href !== url) bad(`callback_url not normalised: ${J(url.slice(0, 200))}`);
      if (url.length > 2048) bad(`callback_url of ${url.length} characters`);
      // checkCallbackUrl refuses anything over 2048 characters: judge the host on a short URL with the same origin.
      const recheck = await checkCallbackUrl(url.length > 2048 ? `${parsed.origin}/` : url, { allowlist, resolver: refuseAll });
      if (recheck.ok) continue;
      const host = parseHost(parsed.hostname);
      const answer = host.kind === "name" ? dnsLog.get(host.name) : undefined;
      const port = parsed.port === "" ? (parsed.protocol === "https:" ? 443 : 80) : Number(parsed.port);
      if (recheck.code === "callback_url_unresolvable" && answer?.kind === "transient") {
        count(stats.acceptedOnRegistrationDns, "dns failed transiently at registration (accepted by design)");
      } else if (
        recheck.code === "callback_url_unresolvable" &&
        answer?.kind === "addresses" &&
        answer.addresses.length > 0 &&
        answer.addresses.every((a) => !isBlockedAddress(a) || allowlist.allowsAddress(a, port))
      ) {
        count(stats.acceptedOnRegistrationDns, `dns answered ${answer.addresses.join(" ")}`);
      } else {
        bad(
          `callback_url fails the registration check (${recheck.code}: ${recheck.message}); registration DNS said ${J(answer)}`,
        );
      }
    }

    const tenants = await db.rows<{ id: string; name: string; status: string }>(sql`select id, name, status from tenants`);
    for (const t of tenants) {
      if (t.name.trim() === "" || t.name.length > 100 || t.name !== t.name.trim())
        problems.push(`tenant ${t.id}: name ${J(t.name.slice(0, 120))}`);
      if (!["active", "disabled"].includes(t.status)) problems.push(`tenant ${t.id}: status ${t.status}`);
    }
    const keys = await db.rows<{ id: string; key_hash: string; label: string | null; source: string }>(
      sql`select id, key_hash, label, source from api_keys`,
    );
    for (const k of keys) {
      if (!/^[0-9a-f]{64}$/.test(k.key_hash)) problems.push(`api key ${k.id}: key_hash is not a SHA-256 hex digest`);
      if (k.label !== null && (k.label.trim() === "" || k.label.length > 100))
        problems.push(`api key ${k.id}: label ${J(k.label.slice(0, 120))}`);
      if (!["env", "generated", "admin"].includes(k.source)) problems.push(`api key ${k.id}: source ${k.source}`);
    }
    const secrets = await db.rows<{ id: string; secret: string }>(sql`select id, secret from signing_secrets`);
    for (const s of secrets)
      if (!/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/.test(s.secret)) problems.push(`signing secret ${s.id}: not a whsec_ secret`);
    const polls = await db.rows<{ id: string; job_id: string }>(sql`select id, job_id from polls`);
    for (const p of polls)
      if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(p.job_id)) problems.push(`poll ${p.id}: job_id ${J(p.job_id.slice(0, 200))}`);

    console.log(
      J({
        storedRows: { watches: watches.length, tenants: tenants.length, apiKeys: keys.length, signingSecrets: secrets.length },
        acceptedOnRegistrationDns: stats.acceptedOnRegistrationDns,
        knownBugRows: knownBugRows.length,
      }),
    );
    expect(problems).toEqual([]);
    expect(watches.length).toBeGreaterThan(fixtures.watchIds.length + 1);
  });

  // ---------------------------------------------------------------------------------------------------------
  // Bugs the fuzzing found: each test states the correct behaviour and fails until the bug is fixed.

  const refusals = async (cases: Array<[string, string, { method?: string; key?: string; json?: unknown }]>) => {
    const answers: Array<[string, number, string | undefined]> = [];
    for (const [label, path, init] of cases) {
      const res = await call(path, init);
      answers.push([label, res.status, res.body?.error?.code]);
    }
    return answers;
  };
  const serverErrors = (answers: Array<[string, number, string | undefined]>) => answers.filter(([, status]) => status >= 500);

  it("refuses metadata holding U+0000 or a lone surrogate with a 400 (Postgres jsonb refuses both)", async () => {
    const body = (metadata: string) => `{"job_id":"bug-jsonb","callback_url":"http://127.0.0.1:9/hook","metadata":${metadata}}`;
    const answers = await refusals([
      ["U+0000 in a value", "/v1/watches", { method: "POST", json: body('{"note":"a\\u0000b"}') }],
      ["U+0000 in a key", "/v1/watches", { method: "POST", json: body('{"\\u0000":1}') }],
      ["a lone surrogate", "/v1/watches", { method: "POST", json: body('{"note":"\\ud800"}') }],
    ]);
    expect(serverErrors(answers), J(answers)).toEqual([]);
  });

  it("refuses U+0000 in a path id, a cursor id, a tenant name or a key label with a 4xx", async () => {
    const nulCursor = Buffer.from(J(["2020-01-01T00:00:00Z", "wch_\u0000"])).toString("base64url");
    const answers = await refusals([
      ["GET watch", "/v1/watches/%00", {}],
      ["DELETE watch", "/v1/watches/wch_%00", { method: "DELETE" }],
      ["redeliver", "/v1/watches/%00/redeliver", { method: "POST" }],
      ["cursor", `/v1/watches?cursor=${nulCursor}`, {}],
      ["GET tenant", "/v1/admin/tenants/ten_%00", { key: ADMIN_KEY }],
      ["revoke key", `/v1/admin/tenants/${fixtures.victimTenantId}/api-keys/key_%00`, { method: "DELETE", key: ADMIN_KEY }],
      ["tenant name", "/v1/admin/tenants", { method: "POST", key: ADMIN_KEY, json: { name: "a\u0000b" } }],
      [
        "key label",
        `/v1/admin/tenants/${fixtures.victimTenantId}/api-keys`,
        { method: "POST", key: ADMIN_KEY, json: { label: "a\u0000b" } },
      ],
    ]);
    expect(serverErrors(answers), J(answers)).toEqual([]);
  });

  it("refuses a cursor or recover window outside the years 1-9999 with a 400", async () => {
    const cursor = (at: string) => Buffer.from(J([at, "wch_x"])).toString("base64url");
    const answers = await refusals([
      ["cursor at year 0", `/v1/watches?cursor=${cursor("0000-01-01T00:00:00Z")}`, {}],
      ["cursor at +275760", `/v1/watches?cursor=${cursor("+275760-09-13T00:00:00.000Z")}`, {}],
      ["cursor before year 0", `/v1/watches?cursor=${cursor("-000001-01-01T00:00:00Z")}`, {}],
      ["recover since year 0", "/v1/deliveries/recover", { method: "POST", json: { since: "0000-01-01T00:00:00Z" } }],
      [
        "recover until year 10000 (an offset past 9999-12-31)",
        "/v1/deliveries/recover",
        { method: "POST", json: { since: "2020-01-01T00:00:00Z", until: "9999-12-31T23:59:59-23:59" } },
      ],
    ]);
    expect(serverErrors(answers), J(answers)).toEqual([]);
  });

  it("measures the 2048-character callback_url limit on the percent-encoded URL it stores", async () => {
    const submitted = `http://127.0.0.1:9/${"é".repeat(1_000)}`; // 1,019 characters
    const res = await call("/v1/watches", { method: "POST", json: { job_id: "bug-url-length", callback_url: submitted } });
    const [row] = await world.relay.deps.db.rows<{ n: number }>(
      sql`select max(length(callback_url))::int as n from watches where job_id = 'bug-url-length'`,
    );
    // Either refuse it (the limit applies to the URL the relay will call) or store at most 2048 characters.
    expect({ status: res.status, stored: row?.n ?? 0 }).toSatisfy(
      (r: { status: number; stored: number }) => r.status === 400 || r.stored <= 2048,
    );
  });

  it("answers a body over 64 KiB with a 413 over HTTP, not a dropped connection", async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 12; i++) {
      const method = ["PUT", "POST", "PATCH", "DELETE"][i % 4]!;
      try {
        const res = await fetch(`${world.relay.url}/v1/watches`, {
          method,
          headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
          body: sizedBody(1 << 20),
        });
        await res.text();
        outcomes.push(`${method} ${res.status}`);
      } catch (err) {
        outcomes.push(`${method} no answer (${(err as { cause?: Error }).cause?.message})`);
      }
    }
    // README: "Bodies over 64 KiB → 413 payload_too_large".
    expect(outcomes.filter((o) => !o.endsWith(" 413"))).toEqual([]);
  });

  it("never logs callback_headers values, even when a request fails", async () => {
    const canary = `hook-token-canary-${SEED}`;
    const logFrom = world.logs.length;
    const res = await call("/v1/watches", {
      method: "POST",
      json: `{"job_id":"bug-leak","callback_url":"http://127.0.0.1:9/hook","metadata":{"a":"\\u0000"},"callback_headers":{"X-Hook-Token":"${canary}"}}`,
    });
    const leaked = world.logs.slice(logFrom).filter((line) => line.includes(canary));
    // README: callback header values are "stored, never returned nor logged".
    expect({ status: res.status, leakedLines: leaked.length }).toEqual({ status: expect.any(Number), leakedLines: 0 });
  });
});
