/**
 * The departure brake: every departure, whatever its path (an event, a SCIM `active: false`, a
 * departure a full reconciliation inferred), counts against its source's window, and one past the
 * limit is held for an administrator instead of applied. A mistaken wave of departures (a wrong
 * group rule, an unassigned app) then locks out ten people, not half the company.
 *
 * A hold lives on the person's item, so every rule that reads the desired state (the person's
 * own reconcile, the reconcile of each of their groups) sees a held person as still there.
 * Pure: no AWS.
 */
import type { CoreConfig } from "./config.js";
import type { Person, Version } from "./desired-state.js";

export type DepartureBrake = Exclude<CoreConfig["departureBrake"], false>;

/** What an administrator decided of a held departure, or that nobody has yet. */
export type HoldState = "held" | "approved" | "rejected";

export interface DepartureHold {
  /** The version of the status fact (the departure) that was held. */
  readonly v: Version;
  readonly state: HoldState;
  /** The source whose window was full. */
  readonly source: string;
  /** Why it was held, in words for the administrator. */
  readonly reason: string;
  /** ISO time. */
  readonly heldAt: string;
  /** Who approved or rejected it, and when (ISO time). */
  readonly decidedBy?: string;
  readonly decidedAt?: string;
}

/**
 * A departure the brake admitted: the person's key, and when (epoch ms). A retried reconcile of
 * the same person finds itself here and is not counted twice.
 */
export interface AdmittedDeparture {
  readonly email: string;
  readonly at: number;
}

/**
 * The hold keeps the person as they are while the source has them inactive: a departure waiting
 * for a decision, or one an administrator rejected (a redelivered or repeated departure does not
 * undo the decision; the person coming back releases it, and a later departure is braked anew).
 */
export function holdStands(person: Pick<Person, "status" | "departureHold">): boolean {
  const state = person.departureHold?.state;
  return person.status?.value === "inactive" && (state === "held" || state === "rejected");
}

/** An administrator approved the person's departure: it is applied without counting against the brake. */
export function holdApproved(person: Pick<Person, "status" | "departureHold">): boolean {
  return person.departureHold?.state === "approved" && person.status?.value === "inactive";
}

/**
 * The departure may take the person out of their groups: the brake is off, or the person's own
 * reconcile let it through (or an administrator approved it).
 */
export function departureLetThrough(
  person: Pick<Person, "status" | "departureHold" | "departureAdmitted">,
  config: Pick<CoreConfig, "departureBrake">,
): boolean {
  if (config.departureBrake === false) return true;
  return (
    (person.status !== undefined && person.departureAdmitted === person.status.v) || holdApproved(person)
  );
}

/**
 * The person's departure waits for the brake, or is held, or was rejected: their role and groups
 * stay exactly as Tallyfy has them, whatever the memberships the departure came with say (a SCIM
 * `DELETE` takes the user out of every SCIM group first).
 */
export function departureFrozen(
  person: Pick<Person, "status" | "departureHold" | "departureAdmitted">,
  config: Pick<CoreConfig, "departureBrake" | "deprovision">,
): boolean {
  return (
    person.status?.value === "inactive" &&
    config.deprovision !== "none" &&
    !departureLetThrough(person, config)
  );
}

/** The person as their departure leaves them once let through: out of every group. */
export function letThrough<T extends Pick<Person, "status" | "departureAdmitted">>(person: T): T {
  return person.status?.value === "inactive" ? { ...person, departureAdmitted: person.status.v } : person;
}

/** The source whose departure it is: the one that set the status, else the first to name the person. */
export function departureSourceOf(person: Pick<Person, "status" | "sources" | "confinedSources">): string {
  return person.status?.by ?? person.sources?.[0] ?? person.confinedSources?.[0] ?? "unknown";
}

/** The larger of `maxPerWindow` and `maxShare` of the people the source manages. */
export function departureLimit(brake: DepartureBrake, managed: number): number {
  return Math.max(brake.maxPerWindow, Math.floor(brake.maxShare * managed));
}

/** The departures still inside the rolling window at `now`. */
export function inWindow(
  admitted: readonly AdmittedDeparture[],
  brake: DepartureBrake,
  now: number,
): AdmittedDeparture[] {
  const since = now - brake.windowMinutes * 60_000;
  return admitted.filter((entry) => entry.at > since);
}

/** The reason a held departure shows to the administrator. */
export function holdReason(source: string, counted: number, limit: number, brake: DepartureBrake): string {
  return `${source} already had ${counted} departures applied in the last ${brake.windowMinutes} minutes, the limit (the larger of ${brake.maxPerWindow} and ${percent(brake.maxShare)} of its managed people) is ${limit}`;
}

function percent(share: number): string {
  return `${Number((share * 100).toFixed(2))}%`;
}
