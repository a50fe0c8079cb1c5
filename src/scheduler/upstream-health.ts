/**
 * What the upstream last said about our key. A rejected key keeps every watch (a wrong key must not
 * expire them) but makes /readyz fail, so the operator notices.
 */
export interface UpstreamHealth {
  /** `accepted` after any authorised answer, `rejected` after 401/403, `unknown` before the first call. */
  readonly keyStatus: "unknown" | "accepted" | "rejected";
  readonly lastRejectedStatus: number | null;
  recordAccepted(): void;
  recordRejected(statusCode: number): void;
}

export function createUpstreamHealth(): UpstreamHealth {
  let keyStatus: UpstreamHealth["keyStatus"] = "unknown";
  let lastRejectedStatus: number | null = null;
  return {
    get keyStatus() {
      return keyStatus;
    },
    get lastRejectedStatus() {
      return lastRejectedStatus;
    },
    recordAccepted() {
      keyStatus = "accepted";
    },
    recordRejected(statusCode) {
      keyStatus = "rejected";
      lastRejectedStatus = statusCode;
    },
  };
}
