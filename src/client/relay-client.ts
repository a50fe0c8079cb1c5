import { createTransport, segment } from "./transport.js";
import type {
  CostAnswer,
  CreateSubscriptionInput,
  CreateWatchInput,
  DeletedSubscription,
  Health,
  Origin,
  Readiness,
  SigningSecret,
  StartedExport,
  StartedJob,
  StartExportInput,
  StartJobInput,
  Subscription,
  SubscriptionPage,
  SubscriptionStatus,
  Watch,
  WatchPage,
  WatchStatus,
} from "./types.js";

export interface RelayClientOptions {
  /** `http://127.0.0.1:8080` */
  baseUrl: string;
  /** The tenant's relay API key (`Authorization: Bearer …`). */
  apiKey: string;
  /** Defaults to globalThis.fetch; useful for testing. */
  fetch?: typeof fetch | undefined;
  /** Whole-request deadline in ms (default 30000). */
  timeoutMs?: number | undefined;
}

export interface WatchFilters {
  status?: WatchStatus | undefined;
  jobId?: string | undefined;
  /** Only the watches this subscription made. */
  subscriptionId?: string | undefined;
  /** Page size, 1–200 (the relay's default: 50). */
  limit?: number | undefined;
}

export interface SubscriptionFilters {
  status?: SubscriptionStatus | undefined;
  /** Page size, 1–200 (the relay's default: 50). */
  limit?: number | undefined;
}

export interface RelayClient {
  /** `POST /v1/watches`: a new watch (201), or the first one again for a repeated Idempotency-Key (200). */
  watch(body: CreateWatchInput, options?: { idempotencyKey?: string | undefined }): Promise<Watch>;
  /**
   * `POST /v1/export`: starts a Rendley export with the tenant's Rendley key and watches its job (201), or
   * answers the first export again for a repeated Idempotency-Key (200). Rendley's refusal comes back as a
   * RelayError with Rendley's status (`upstream_error`); nothing is stored then.
   */
  startExport(body: StartExportInput, options?: { idempotencyKey?: string | undefined }): Promise<StartedExport>;
  /** `POST /v1/export/cost`: Rendley's answer for this export body, as Rendley sent it (nothing starts). */
  exportCost(body: Record<string, unknown>): Promise<CostAnswer>;
  /**
   * `POST /v1/ai/{action}` (`transcribe`, `text-to-speech`, …): starts a Rendley AI job and watches it, as
   * `startExport` does. An action the relay does not accept is a RelayError `unknown_action` (404); nothing starts.
   */
  startAi(action: string, body: StartJobInput, options?: { idempotencyKey?: string | undefined }): Promise<StartedJob>;
  /** `POST /v1/ai/{action}/cost`: Rendley's price as it sent it (a number, `{credits}` or `{data: {credits}}`). */
  aiCost(action: string, body: Record<string, unknown>): Promise<CostAnswer>;
  /**
   * `POST /v1/agent`: starts a Rendley agent job (`prompt`, `project_id`, …) and watches it (`service: "agent"`).
   * A full agent queue is a RelayError with status 429 (`upstream_error`).
   */
  startAgent(body: StartJobInput, options?: { idempotencyKey?: string | undefined }): Promise<StartedJob>;
  getWatch(id: string): Promise<Watch>;
  /** One page, newest first. */
  listWatches(filters?: WatchFilters & { cursor?: string | undefined }): Promise<WatchPage>;
  /** Every matching watch, newest first, fetching page after page as it is iterated. */
  watches(filters?: WatchFilters): AsyncIterableIterator<Watch>;
  /** With `cancelJob`, also cancels the job at Rendley; the outcome is in `upstream_cancel`. */
  cancelWatch(id: string, options?: { cancelJob?: boolean | undefined }): Promise<Watch>;
  /**
   * `POST /v1/subscriptions`: push for jobs nobody registered. Its filter is listed within one interval; the first
   * listing is a baseline unless `include_existing`.
   */
  createSubscription(body: CreateSubscriptionInput): Promise<Subscription>;
  getSubscription(id: string): Promise<Subscription>;
  /** One page, newest first. */
  listSubscriptions(filters?: SubscriptionFilters & { cursor?: string | undefined }): Promise<SubscriptionPage>;
  /** Every matching subscription, newest first, fetching page after page as it is iterated. */
  subscriptions(filters?: SubscriptionFilters): AsyncIterableIterator<Subscription>;
  /**
   * Stops discovery (deleting it again answers the same). Its watches finish, unless `cancelWatches`: then every
   * one still running is canceled (as `cancelWatch`, without cancelling the jobs at Rendley).
   */
  deleteSubscription(id: string, options?: { cancelWatches?: boolean | undefined }): Promise<DeletedSubscription>;
  /** Sends the watch's latest event again (same webhook-id) as a new series of attempts. */
  redeliver(id: string): Promise<Watch>;
  getSigningSecret(): Promise<SigningSecret>;
  rotateSigningSecret(options?: { gracePeriodS?: number | undefined }): Promise<SigningSecret>;
  /** Re-queues every failed delivery whose last attempt falls in [since, until). */
  recoverDeliveries(window: { since: string | Date; until?: string | Date | undefined }): Promise<{ queued: number }>;
  listOrigins(): Promise<Origin[]>;
  health(): Promise<Health>;
  /** The readiness body, whether the relay answered 200 (ready) or 503 (not ready). */
  ready(): Promise<Readiness>;
}

const iso = (t: string | Date) => (t instanceof Date ? t.toISOString() : t);

/** `next_cursor` as the client spells it: a string, or null on the last page. */
const cursorOf = (next: unknown) => (typeof next === "string" && next !== "" ? next : null);

/** Every item of every page, fetching the next page only when the previous one has been iterated. */
async function* everyPage<T>(
  page: (cursor: string | undefined) => Promise<{ data: T[]; nextCursor: string | null }>,
): AsyncIterableIterator<T> {
  let cursor: string | undefined;
  do {
    const { data, nextCursor } = await page(cursor);
    yield* data;
    cursor = nextCursor ?? undefined;
  } while (cursor !== undefined);
}

/** A typed client of one tenant's relay API. Every failure is a RelayError. */
export function createRelayClient(options: RelayClientOptions): RelayClient {
  const call = createTransport({
    baseUrl: options.baseUrl,
    token: options.apiKey,
    fetch: options.fetch,
    timeoutMs: options.timeoutMs,
  });
  const data = async <T>(spec: Parameters<typeof call>[0]) => (await call<T>(spec)).body.data;
  const start = (path: string, body: StartJobInput, opts: { idempotencyKey?: string | undefined }) =>
    data<StartedJob>({ method: "POST", path, body, headers: { "idempotency-key": opts.idempotencyKey } });
  const cost = async (path: string, body: Record<string, unknown>) =>
    (await call<never>({ method: "POST", path, body, raw: true })).body as unknown as CostAnswer;

  const listWatches: RelayClient["listWatches"] = async (filters = {}) => {
    const { body } = await call<Watch[]>({
      method: "GET",
      path: "/v1/watches",
      query: {
        status: filters.status,
        job_id: filters.jobId,
        subscription_id: filters.subscriptionId,
        limit: filters.limit,
        cursor: filters.cursor,
      },
    });
    return { data: body.data, nextCursor: cursorOf(body.next_cursor) };
  };
  const listSubscriptions: RelayClient["listSubscriptions"] = async (filters = {}) => {
    const { body } = await call<Subscription[]>({
      method: "GET",
      path: "/v1/subscriptions",
      query: { status: filters.status, limit: filters.limit, cursor: filters.cursor },
    });
    return { data: body.data, nextCursor: cursorOf(body.next_cursor) };
  };
  const subscription = (id: string) => `/v1/subscriptions/${segment(id)}`;

  return {
    watch: (body, opts = {}) =>
      data<Watch>({ method: "POST", path: "/v1/watches", body, headers: { "idempotency-key": opts.idempotencyKey } }),
    startExport: (body, opts = {}) => start("/v1/export", body, opts),
    exportCost: (body) => cost("/v1/export/cost", body),
    startAi: (action, body, opts = {}) => start(`/v1/ai/${segment(action)}`, body, opts),
    aiCost: (action, body) => cost(`/v1/ai/${segment(action)}/cost`, body),
    startAgent: (body, opts = {}) => start("/v1/agent", body, opts),
    getWatch: (id) => data<Watch>({ method: "GET", path: `/v1/watches/${segment(id)}` }),
    listWatches,
    watches: (filters = {}) => everyPage((cursor) => listWatches({ ...filters, cursor })),
    cancelWatch: (id, opts = {}) =>
      data<Watch>({
        method: "DELETE",
        path: `/v1/watches/${segment(id)}`,
        query: { cancel_job: opts.cancelJob ? "true" : undefined },
      }),
    createSubscription: (body) => data<Subscription>({ method: "POST", path: "/v1/subscriptions", body }),
    getSubscription: (id) => data<Subscription>({ method: "GET", path: subscription(id) }),
    listSubscriptions,
    subscriptions: (filters = {}) => everyPage((cursor) => listSubscriptions({ ...filters, cursor })),
    deleteSubscription: async (id, opts = {}) => {
      const { body } = await call<Subscription>({
        method: "DELETE",
        path: subscription(id),
        query: { cancel_watches: opts.cancelWatches ? "true" : undefined },
      });
      const canceled = body.canceled_watches;
      return { subscription: body.data, canceledWatches: typeof canceled === "number" ? canceled : 0 };
    },
    redeliver: (id) => data<Watch>({ method: "POST", path: `/v1/watches/${segment(id)}/redeliver` }),
    getSigningSecret: () => data<SigningSecret>({ method: "GET", path: "/v1/signing-secret" }),
    rotateSigningSecret: (opts = {}) =>
      data<SigningSecret>({
        method: "POST",
        path: "/v1/signing-secret/rotate",
        body: opts.gracePeriodS === undefined ? {} : { grace_period_s: opts.gracePeriodS },
      }),
    recoverDeliveries: (window) =>
      data<{ queued: number }>({
        method: "POST",
        path: "/v1/deliveries/recover",
        body: { since: iso(window.since), ...(window.until === undefined ? {} : { until: iso(window.until) }) },
      }),
    listOrigins: () => data<Origin[]>({ method: "GET", path: "/v1/origins" }),
    health: () => data<Health>({ method: "GET", path: "/healthz", auth: false }),
    ready: () => data<Readiness>({ method: "GET", path: "/readyz", auth: false, acceptStatus: [503] }),
  };
}
