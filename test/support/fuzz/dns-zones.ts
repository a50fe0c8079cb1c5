/**
 * The resolver double the fuzzed relay registers callbacks with: no fuzzed host name ever reaches real DNS.
 * `*.public.test` answers a public address, `*.flaky.test` fails transiently, every other name is ENOTFOUND.
 */
import type { Resolver } from "../../../src/security/callback-url.js";

export type DnsAnswer = { kind: "addresses"; addresses: string[] } | { kind: "transient" } | { kind: "not_found" };
export const DNS_ZONES: ReadonlyArray<readonly [string, DnsAnswer]> = [
  ["public.test", { kind: "addresses", addresses: ["93.184.215.14"] }],
  ["public6.test", { kind: "addresses", addresses: ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"] }],
  ["loopback.test", { kind: "addresses", addresses: ["127.0.0.1"] }], // allowlisted address
  ["loopback2.test", { kind: "addresses", addresses: ["127.0.0.2"] }],
  ["private.test", { kind: "addresses", addresses: ["10.1.2.3"] }],
  ["metadata.test", { kind: "addresses", addresses: ["169.254.169.254"] }],
  ["mixed.test", { kind: "addresses", addresses: ["93.184.215.14", "10.0.0.1"] }],
  ["mapped.test", { kind: "addresses", addresses: ["::ffff:169.254.169.254"] }],
  ["garbage.test", { kind: "addresses", addresses: ["not-an-address"] }],
  ["empty.test", { kind: "addresses", addresses: [] }],
  ["flaky.test", { kind: "transient" }],
];
const dnsError = (code: string, name: string) => Object.assign(new Error(`getaddrinfo ${code} ${name}`), { code });

/** The registration-time resolver: answers from DNS_ZONES and records every answer, per name, in `log`. */
export function zoneResolver(log: Map<string, DnsAnswer>): Resolver {
  return async (name) => {
    const zone = DNS_ZONES.find(([suffix]) => name === suffix || name.endsWith(`.${suffix}`));
    const answer: DnsAnswer = zone?.[1] ?? { kind: "not_found" };
    log.set(name, answer);
    if (answer.kind === "transient") throw dnsError("EAI_AGAIN", name);
    if (answer.kind === "not_found") throw dnsError("ENOTFOUND", name);
    return answer.addresses;
  };
}
/** The end-of-run check's resolver: refuses every name, so only IP literals and allowlisted hosts pass. */
export const refuseAll: Resolver = async () => {
  throw Object.assign(new Error("x"), { code: "ENOTFOUND" });
};
