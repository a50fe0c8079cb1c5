/** The statistics one fuzz run counts and prints at the end (`{"fuzzTotals":…}`). */

export function createStats(seed: number) {
  return {
    seed,
    sent: { inProcess: 0, fetch: 0, raw: 0 },
    unsendable: 0,
    byClass: {} as Record<string, number>,
    byStatus: {} as Record<string, number>,
    errorCodes: {} as Record<string, number>,
    fiveXx: 0,
    knownBug5xx: {} as Record<string, number>,
    /** Requests that got no answer at all, by known bug. */
    knownBugNoAnswer: {} as Record<string, number>,
    rejectedByNodeParser: 0,
    rejectedByAdapter: 0,
    idempotentRepeats: 0,
    watchesCreated: 0,
    watchesStored: 0,
    tenantsStored: 0,
    storedKnownBugRows: {} as Record<string, number>,
    acceptedOnRegistrationDns: {} as Record<string, number>,
    ms: 0,
  };
}
export type FuzzStats = ReturnType<typeof createStats>;

export const count = (record: Record<string, number>, key: string) => {
  record[key] = (record[key] ?? 0) + 1;
};
