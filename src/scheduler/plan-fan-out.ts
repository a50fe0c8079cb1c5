import {
  eventOfJob,
  newDelivery,
  type DeliveryEvent,
  type FanOut,
  type WatchOnJob,
  type WatchTransition,
} from "../domain/delivery.js";
import { eventBodies, isTerminalEvent, type EventBodies } from "../domain/events.js";
import type { PollUpdate } from "../domain/poll.js";

/**
 * Pure: what the events of a batch of polls make of the watches on those jobs.
 * - Each watch gets the event's message when it subscribed to it; `watch.expired` goes to every watch.
 * - A terminal event moves the watch to `delivering` (its final message is on its way), or straight to
 *   `delivered` when it did not subscribe to that outcome: there is nothing to send, it is settled.
 * - `watch.expired` moves it to `expired`, with the reason as its last error.
 * Each body is stored as the bytes every attempt signs. The job's part of an event's body (the job object, its
 * result and error) is serialised once per job and shared by every watch on it; only the watch's own fields
 * (`watch_id`, `subscription_id`, `metadata`) differ from one watch's body to the next.
 * @param options.newDeliveryId the id (and `webhook-id`) of each new message
 */
export function planFanOut(
  updates: readonly PollUpdate[],
  watches: readonly WatchOnJob[],
  options: { newDeliveryId: () => string },
): FanOut {
  const byPoll = new Map(updates.map((u) => [u.id, u]));
  const out: FanOut = { deliveries: [], transitions: [] };
  const shared = new Map<string, EventBodies>(); // per poll (and, to be safe, the job and service its watches name)
  for (const watch of watches) {
    const update = byPoll.get(watch.pollId);
    if (!update?.event) continue;
    const { type, reason } = update.event;
    const wanted = type === "watch.expired" || watch.events.includes(type);
    if (wanted) {
      const event: DeliveryEvent = {
        type,
        observedAt: update.observedAt,
        job: update.job ?? null,
        jobFetchedAt: update.job ? update.observedAt : null,
        reason,
      };
      const key = `${update.id} ${watch.service ?? ""} ${watch.jobId}`;
      let bodies = shared.get(key);
      if (!bodies) shared.set(key, (bodies = eventBodies(eventOfJob(watch, event))));
      out.deliveries.push(newDelivery(options.newDeliveryId(), watch, event, bodies));
    }
    const transition: WatchTransition | undefined =
      type === "watch.expired"
        ? { watchId: watch.id, status: "expired", lastError: reason ?? "expired" }
        : isTerminalEvent(type)
          ? { watchId: watch.id, status: wanted ? "delivering" : "delivered", lastError: null }
          : undefined;
    if (transition) out.transitions.push(transition);
  }
  return out;
}
