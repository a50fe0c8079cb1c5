import type { Resolver } from "../../src/security/callback-url.js";

/** A DNS error shaped like Node's (`getaddrinfo ENOTFOUND host`, with `code`). */
export function dnsError(code: string, hostname: string): Error {
  return Object.assign(new Error(`getaddrinfo ${code} ${hostname}`), { code, hostname });
}

/**
 * A resolver double: scripted answers per name ("hang" never answers), every call recorded.
 * Unscripted names are ENOTFOUND, so nothing ever reaches real DNS.
 */
export function fakeResolver(script: Record<string, string[] | Error | "hang">): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolver = async (hostname: string): Promise<string[]> => {
    calls.push(hostname);
    const answer = script[hostname];
    if (answer === "hang") return new Promise<never>(() => {});
    if (answer instanceof Error) throw answer;
    if (answer === undefined) throw dnsError("ENOTFOUND", hostname);
    return answer;
  };
  return Object.assign(resolver, { calls });
}
