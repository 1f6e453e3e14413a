/**
 * The items the directory keeps about people and groups, and how a person's merged facts are laid
 * over the stored item.
 */
import type { GroupFacts, Person } from "../core/desired-state.js";

/** What a reconcile last applied: the revision, under which configuration. */
export interface Reconciled {
  readonly revision: number;
  readonly config: string;
}

export interface PersonRecord extends Person {
  readonly revision: number;
  readonly reconciled?: Reconciled;
  /** The Tallyfy member id, once the reconciler has seen or made the member. */
  readonly memberId?: number;
  /** Tallyfy has (or had) a guest with this email: disabled when the person becomes a member. */
  readonly hadGuest?: boolean;
  /** For guests: the mapped Tallyfy groups last asked to include (true) or exclude them. */
  readonly requestedGroups?: Readonly<Record<string, boolean>>;
}

export interface GroupRecord {
  /** `group#` key: a Tallyfy group id, or `name:<lower-cased mapped name>`. */
  readonly key: string;
  readonly revision: number;
  readonly reconciled?: Reconciled;
  /** For a name key: the Tallyfy group id it resolved to. */
  readonly groupId?: string;
  readonly facts?: GroupFacts;
  /** The revision of the last reconcile message sent for the group, and when (epoch ms). */
  readonly queued?: number;
  readonly queuedAt?: number;
  /** The revision the last reconcile to start read its desired state at. */
  readonly started?: number;
}

/** A newer version of the same value: kept so an older event can no longer win, without a reconcile. */
export function versionsMoved(current: Person | undefined, person: Person): boolean {
  return JSON.stringify(current && stripRecord(current)) !== JSON.stringify(stripRecord(person));
}

export function withoutFacts(record: PersonRecord | undefined): Record<string, unknown> {
  if (!record) return {};
  const {
    profile: _p,
    memberships: _m,
    groupListAt: _gl,
    guest: _g,
    role: _r,
    status: _s,
    provisioned: _pr,
    mustExist: _me,
    sources: _so,
    confinedSources: _cs,
    ...kept
  } = record;
  return kept;
}

function stripRecord(person: Person) {
  const { profile, memberships, groupListAt, guest, role, status, provisioned, mustExist } = person;
  const { sources, confinedSources } = person;
  return {
    profile,
    memberships,
    groupListAt,
    guest,
    role,
    status,
    provisioned,
    mustExist,
    sources,
    confinedSources,
  };
}
