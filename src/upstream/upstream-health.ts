/**
 * What Rendley last said about each tenant's key. A rejected key keeps every watch (a wrong key must not
 * expire them) but makes /readyz fail for the default tenant, so the operator notices.
 */
export interface UpstreamHealth {
  /** `accepted` after any authorised answer, `rejected` after 401/403, `unknown` before the first call. */
  keyStatus(tenantId: string): "unknown" | "accepted" | "rejected";
  recordAccepted(tenantId: string): void;
  recordRejected(tenantId: string, statusCode: number): void;
}

export function createUpstreamHealth(): UpstreamHealth {
  const status = new Map<string, "accepted" | "rejected">();
  return {
    keyStatus: (tenantId) => status.get(tenantId) ?? "unknown",
    recordAccepted: (tenantId) => void status.set(tenantId, "accepted"),
    recordRejected: (tenantId) => void status.set(tenantId, "rejected"),
  };
}
