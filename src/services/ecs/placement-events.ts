/**
 * The "unable to place a task" service event, throttled as ECS throttles its scheduler's events:
 * a duplicate message is left out until its cause is resolved or six hours have passed, and then
 * written again (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages.html).
 * The cause here is the account's Fargate vCPU quota (quotas.ts); it is resolved once a scheduler
 * pass starts every task it wanted to, over all of the service's deployments or task sets.
 */
import { VCPU_LIMIT_REASON } from "./quotas.ts";
import { addServiceEvent } from "./services.ts";
import type { ServiceRecord } from "./state.ts";

/** How long a placement problem that persists goes without another event (service clock). */
export const REPEATED_EVENT_INTERVAL_MS = 6 * 3600_000;

export function unableToPlaceMessage(s: ServiceRecord): string {
  return `(service ${s.name}) was unable to place a task. Reason: ${VCPU_LIMIT_REASON}. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.`;
}

/**
 * Records the outcome of one scheduler pass that tried to start tasks: `blocked` when the quota
 * stopped it. Writes the event at the start of an episode and every six hours while it lasts;
 * true when the service record changed.
 */
export function notePlacement(s: ServiceRecord, blocked: boolean, now: Date): boolean {
  if (!blocked) {
    if (!s.quotaBlocked) return false;
    s.quotaBlocked = false;
    return true;
  }
  if (s.quotaBlocked && !s.quotaEventAt) {
    // written by a version that did not keep the time: the episode's event is already there
    s.quotaEventAt = now;
    return true;
  }
  const last = s.quotaBlocked ? s.quotaEventAt : undefined;
  if (last && now.getTime() - last.getTime() < REPEATED_EVENT_INTERVAL_MS) return false;
  addServiceEvent(s, now, unableToPlaceMessage(s));
  s.quotaBlocked = true;
  s.quotaEventAt = now;
  return true;
}
