export { createAdminClient, type AdminClient, type AdminClientOptions } from "./admin-client.js";
export { createRelayClient, type RelayClient, type RelayClientOptions, type WatchFilters } from "./relay-client.js";
export { RelayError, type RelayErrorDetail } from "./relay-error.js";
export { JOB_EVENTS } from "../domain/events.js";
export { WATCH_STATUSES } from "../domain/watch.js";
export type {
  ApiKey,
  Attempt,
  AttemptErrorCode,
  CostAnswer,
  CreatedTenant,
  CreateWatchInput,
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
  StartedExport,
  StartedJob,
  StartExportInput,
  StartJobInput,
  Tenant,
  Watch,
  WatchPage,
  WatchStatus,
} from "./types.js";
