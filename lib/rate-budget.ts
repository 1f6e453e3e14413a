/**
 * A provider's rate budget, shared out: the part one function may spend, per container, so that
 * every function and container together stay under the provider's limit. One formula for the
 * Tallyfy budget and each identity provider's, for the event path and the full reconciliation.
 */

/** Requests a minute one container may make: `fraction` of `perMinute`, split over `containers`, at least 1. */
export function budgetShare(perMinute: number, fraction: number, containers = 1): number {
  return Math.max(1, Math.floor((perMinute * fraction) / containers));
}

/** The fraction of each budget the full reconciliation keeps, when it is on. @default 0.1 */
export function fullSyncFraction(
  fullSync: { readonly enabled?: boolean; readonly budgetShare?: number } | undefined,
): number {
  return fullSync?.enabled === false ? 0 : (fullSync?.budgetShare ?? 0.1);
}
