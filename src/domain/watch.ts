/** A watch's life: `watching` (polled) → `delivering` (its final event is being sent) → one of the finished four. */
export const WATCH_STATUSES = ["watching", "delivering", "delivered", "failed", "canceled", "expired"] as const;
export type WatchStatus = (typeof WATCH_STATUSES)[number];
/** A watch in one of these states never changes again (unless redelivered, which needs a pending delivery). */
export const FINISHED_WATCH_STATUSES: readonly WatchStatus[] = ["delivered", "failed", "canceled", "expired"];
/** A watch in one of these can still be canceled. */
export const OPEN_WATCH_STATUSES: readonly WatchStatus[] = ["watching", "delivering"];

/** An event message's state: pending (due or leased), delivered (a 2xx) or failed (given up). */
export const DELIVERY_STATUSES = ["pending", "delivered", "failed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Why an attempt was made: the retry schedule, or an operator's redelivery or recovery. */
export type AttemptTrigger = "scheduled" | "manual";
