export { createAdminClient, type AdminClient, type AdminClientOptions } from "./admin-client.js";
export {
  createRelayClient,
  type RelayClient,
  type RelayClientOptions,
  type SubscriptionFilters,
  type WatchFilters,
} from "./relay-client.js";
export { RelayError, type RelayErrorDetail } from "./relay-error.js";
export { JOB_EVENTS } from "../domain/events.js";
export { SOURCE_TYPES, SUBSCRIPTION_STATUSES } from "../domain/subscription.js";
export { WATCH_STATUSES } from "../domain/watch.js";
export type {
  ApiKey,
  Attempt,
  AttemptErrorCode,
  CostAnswer,
  CreatedTenant,
  CreateSubscriptionInput,
  CreateWatchInput,
  DeletedSubscription,
  Delivery,
  EventType,
  Health,
  JobEvent,
  JobService,
  NewApiKey,
  Origin,
  Readiness,
  RendleyJob,
  SigningSecret,
  SourceType,
  StartedExport,
  StartedJob,
  StartExportInput,
  StartJobInput,
  Subscription,
  SubscriptionFilter,
  SubscriptionPage,
  SubscriptionStatus,
  Tenant,
  Watch,
  WatchPage,
  WatchStatus,
} from "./types.js";
