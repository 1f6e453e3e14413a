/**
 * The desired state of one person, and the rules by which an identity event merges into it.
 *
 * Every fact carries the version at which its source set it. A fact changes only when an event
 * brings a newer version, so events may arrive late, twice or in any order and the merged state
 * is the same: the one the newest event of each fact says. Pure: no AWS, no I/O.
 */
import { createHash } from "node:crypto";
import {
  type CoreConfig,
  isMemberEmail,
  mappedTallyfyGroups,
  roleOfGroup,
  sameGroup,
  tallyfyGroupsOf,
} from "./config.js";
import { type DepartureHold, departureFrozen, holdStands } from "./departure-brake.js";
import { SyncError } from "./errors.js";
import type { EventUser, IdentityEvent } from "./identity-event.js";
import { higherRole, type Role } from "./roles.js";

export const PROFILE_FIELDS = [
  "firstName",
  "lastName",
  "phone",
  "jobTitle",
  "jobDescription",
  "team",
  "timezone",
] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];
export type Profile = Partial<Record<ProfileField, string>>;

/**
 * The source time in milliseconds, zero-padded, then the event id: compared as strings, later
 * times win and two events of the same millisecond are still ordered the same way everywhere.
 */
export type Version = string;

export interface Fact<T> {
  readonly value: T;
  readonly v: Version;
}

/** One IdP group's membership: the group's name as the source spelled it, and whether the person is in it. */
export interface Membership extends Fact<boolean> {
  readonly name: string;
}

export interface Person {
  /** Lower-cased: the key. */
  readonly email: string;
  /** As the source spelled it: what an invitation is sent to. */
  readonly address: string;
  readonly profile: Readonly<Partial<Record<ProfileField, Fact<string>>>>;
  /** Set only when a source said so; otherwise `memberDomains` decides. */
  readonly guest?: Fact<boolean>;
  /** An explicit role from the source. */
  readonly role?: Fact<Role>;
  /** `by`: the source that set it (absent on items older than this field). */
  readonly status?: Fact<"active" | "inactive"> & { readonly by?: string };
  /** A departure the brake held, and what an administrator decided of it (core/departure-brake.ts). */
  readonly departureHold?: DepartureHold;
  /**
   * The version of the departure the person's own reconcile let through the brake: until then
   * the departure takes them out of no group.
   */
  readonly departureAdmitted?: Version;
  /**
   * By lower-cased IdP group name or id: the groups the person is in, and absences an event said.
   * The absences a full group list implies are not stored: see `groupListAt`, and read the whole
   * picture through {@link membershipsOf} or {@link membershipIn}.
   */
  readonly memberships: Readonly<Record<string, Membership>>;
  /**
   * The version of the newest full group list merged. Every mapped IdP group with no membership
   * at least as new is absent at this version: one stamp instead of an absence per mapped group,
   * so the item stays the size of the person's own groups however many groups are mapped.
   */
  readonly groupListAt?: Version;
  /**
   * The sources that have named the person, but confined ones (absent on items older than this
   * field): once there is one, a confined source may no longer change the person.
   */
  readonly sources?: readonly string[];
  /** The confined sources (SCIM) that have named the person. */
  readonly confinedSources?: readonly string[];
  /**
   * A user event (created, updated, reactivated) has described the person, so they may be
   * invited. A membership change alone names someone the source may not provision here.
   */
  readonly provisioned?: boolean;
  /**
   * A `user.created` or `user.reactivated` has been merged: the person must be in Tallyfy, so
   * without names to invite them with, that is an error to report, not a wait.
   */
  readonly mustExist?: boolean;
}

/** The source an event came through, as ingest or the full reconciliation knows it (never the event's own claim). */
export interface EventSource {
  readonly id: string;
  /** See `IdentitySource.confined`. */
  readonly confined?: boolean;
  /**
   * The event was inferred about the person rather than said by the source (a membership ended
   * because the source deleted a group of that name): it does not make the source one that
   * names them.
   * @default false
   */
  readonly inferred?: boolean;
}

/**
 * A confined source (SCIM) named a person another source provides. Permanent: the other source
 * decides for them; the confined source's client may not.
 */
export class ForeignPersonError extends SyncError {
  public readonly transient = false;
}

/** Events dated further ahead than this are refused: a bad clock must not freeze a record. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** An event dated in the future. Permanent: retrying does not make it true. */
export class FutureEventError extends SyncError {
  public readonly transient = false;
}

export function versionOf(event: Pick<IdentityEvent, "time" | "id">): Version {
  return `${String(Math.max(0, Date.parse(event.time))).padStart(15, "0")}#${event.id}`;
}

/**
 * The id of an event a hydrating source built from a read of the provider at `readAt` (epoch ms):
 * it starts with the read time, so of two events dated alike (CloudTrail dates to the second) the
 * later read wins, not the larger random event id.
 */
export function readStampedId(eventId: string, readAt: number): string {
  return `${String(readAt).padStart(15, "0")}:${eventId}`;
}

/** Throws a {@link FutureEventError} for an event dated more than five minutes ahead of `now`. */
export function assertNotFuture(event: Pick<IdentityEvent, "time" | "id">, now: number): void {
  const ahead = Date.parse(event.time) - now;
  if (ahead > MAX_CLOCK_SKEW_MS) {
    throw new FutureEventError(
      `event ${event.id} is dated ${event.time}, ${Math.round(ahead / 1000)} s in the future (at most ${MAX_CLOCK_SKEW_MS / 1000} s allowed); check the source's clock`,
    );
  }
}

export function personKey(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * The key of a membership (and of the group's index items): the IdP group's name or id, trimmed
 * and lower-cased. A name every object inherits (`constructor`, `__proto__`) cannot be a stored
 * key: the DynamoDB marshaller reads `constructor` to tell a map from a class, and its
 * unmarshaller would make `__proto__` the prototype. Such a name gets a trailing space, which no
 * trimmed name has.
 */
export function membershipKey(name: string): string {
  const key = name.trim().toLowerCase();
  return key in Object.prototype ? `${key} ` : key;
}

function newer<T>(current: Fact<T> | undefined, v: Version): boolean {
  return current === undefined || v > current.v;
}

/** True when the IdP group gives a role or maps to a Tallyfy group. */
function isMapped(config: CoreConfig, name: string): boolean {
  return mappingOf(config).mapped.has(membershipKey(name));
}

/** The configuration's IdP groups by membership key, built once per configuration. */
interface Mapping {
  /** Every IdP group that gives a role or maps to a Tallyfy group: its name as configured. */
  readonly mapped: ReadonlyMap<string, string>;
  /** The role each role group gives (the highest, when it is listed under two). */
  readonly roles: ReadonlyMap<string, Role>;
  /** By lower-cased Tallyfy group: the keys of the IdP groups that map to it. */
  readonly byTarget: ReadonlyMap<string, readonly string[]>;
}

const mappings = new WeakMap<CoreConfig, Mapping>();

// A person's wishes are asked for every mapped group of every person (drift, a group's
// reconcile): looked up by key, not by walking the configuration each time.
function mappingOf(config: CoreConfig): Mapping {
  const known = mappings.get(config);
  if (known) return known;
  const mapped = new Map<string, string>();
  const roles = new Map<string, Role>();
  const byTarget = new Map<string, string[]>();
  for (const name of [...config.roles.admin, ...config.roles.standard, ...config.roles.light]) {
    const role = roleOfGroup(config, name);
    if (role === undefined) continue;
    mapped.set(membershipKey(name), name.trim());
    roles.set(membershipKey(name), role);
  }
  for (const [name, target] of Object.entries(config.groups)) {
    const key = membershipKey(name);
    if (!mapped.has(key)) mapped.set(key, name.trim());
    const keys = byTarget.get(target.trim().toLowerCase()) ?? [];
    if (!keys.includes(key)) keys.push(key);
    byTarget.set(target.trim().toLowerCase(), keys);
  }
  const mapping = { mapped, roles, byTarget };
  mappings.set(config, mapping);
  return mapping;
}

/**
 * The person's membership of one IdP group (by key), with the absence their newest full group
 * list implies when no membership at least as new says otherwise; undefined when nothing is known.
 */
export function membershipIn(
  person: Pick<Person, "memberships" | "groupListAt">,
  key: string,
  config: CoreConfig,
): Membership | undefined {
  const said = Object.hasOwn(person.memberships, key) ? person.memberships[key] : undefined;
  const listed = person.groupListAt;
  if (listed === undefined || (said !== undefined && said.v >= listed)) return said;
  const name = mappingOf(config).mapped.get(key);
  if (name === undefined) return said;
  return { name: said?.name ?? name, value: false, v: listed };
}

/** Every membership of the person, the absences their newest full group list implies included. */
export function membershipsOf(
  person: Pick<Person, "memberships" | "groupListAt">,
  config: CoreConfig,
): Record<string, Membership> {
  // Keyed by group names an identity provider chose: no prototype, so `constructor` or
  // `toString` is a group like any other, never an inherited function.
  const all: Record<string, Membership> = Object.assign(Object.create(null), person.memberships);
  if (person.groupListAt === undefined) return all;
  for (const key of mappingOf(config).mapped.keys()) {
    const membership = membershipIn(person, key, config);
    if (membership) all[key] = membership;
  }
  return all;
}

/**
 * Merges an event about a person into their state. Returns the new state and whether anything a
 * reconcile would act on changed (a newer version of the same value changes nothing to act on,
 * but is kept, so an older event can no longer win).
 */
export function mergeEvent(
  current: Person | undefined,
  event: IdentityEvent,
  config: CoreConfig,
  source?: EventSource,
): { readonly person: Person; readonly changed: boolean } {
  const v = versionOf(event);
  const {
    user,
    current: base,
    sources,
    confinedSources,
    takenOver,
  } = attributed(current, event, config, source, v);
  let changed = base === undefined || base !== current;
  const profile = { ...base?.profile };
  const memberships: Record<string, Membership> = base ? membershipsOf(base, config) : Object.create(null);
  let { guest, role, status } = base ?? {};

  for (const field of PROFILE_FIELDS) {
    const value = user[field];
    if (value === undefined || !newer(profile[field], v)) continue;
    changed ||= profile[field]?.value !== value;
    profile[field] = { value, v };
  }
  if (user.guest !== undefined && newer(guest, v)) {
    changed ||= guest?.value !== user.guest;
    guest = { value: user.guest, v };
  }
  if (user.role !== undefined && newer(role, v)) {
    changed ||= role?.value !== user.role;
    role = { value: user.role, v };
  }
  const wanted =
    event.type === "user.deactivated"
      ? "inactive"
      : event.type === "user.created" || event.type === "user.reactivated"
        ? "active"
        : undefined;
  if (wanted !== undefined && newer(status, v)) {
    changed ||= status?.value !== wanted;
    status = { value: wanted, v, ...(source ? { by: source.id } : {}) };
  }
  const setMembership = (name: string, present: boolean) => {
    const key = membershipKey(name);
    const existing = memberships[key];
    // A takeover's absences are this event's own: its list may say otherwise at the same version.
    if (!newer(existing, v) && !(takenOver && existing?.v === v)) return;
    changed ||= existing?.value !== present;
    memberships[key] = { name: existing?.name ?? name.trim(), value: present, v };
  };
  // The full list first: when an event also names one membership, the list it carries decides.
  if (user.groups) {
    const listed = new Set(user.groups.map((g) => g.trim().toLowerCase()));
    for (const name of user.groups) setMembership(name, true);
    for (const name of [
      ...mappingOf(config).mapped.values(),
      ...Object.values(memberships).map((m) => m.name),
    ]) {
      if (!listed.has(name.trim().toLowerCase())) setMembership(name, false);
    }
  }
  if ((event.type === "group.member_added" || event.type === "group.member_removed") && event.group) {
    setMembership(event.group.name, event.type === "group.member_added");
  }
  const groupListAt =
    user.groups && (base?.groupListAt === undefined || v > base.groupListAt) ? v : base?.groupListAt;
  // An absence from a group that maps to nothing decides nothing, and one the newest full list
  // implies is the stamp's to say: neither is kept, so the item stays bounded however many groups
  // are mapped or a source's lists name over the years. (A present one is kept: a mapping added
  // later applies to it on the next reconcile.)
  for (const [key, membership] of Object.entries(memberships)) {
    if (membership.value) continue;
    const implied = groupListAt !== undefined && membership.v <= groupListAt;
    if (implied || !isMapped(config, membership.name)) delete memberships[key];
  }
  const provisions =
    event.type === "user.created" || event.type === "user.updated" || event.type === "user.reactivated";
  changed ||= provisions && base?.provisioned !== true;
  const provisioned = base?.provisioned === true || provisions;
  const mustExist =
    base?.mustExist === true || event.type === "user.created" || event.type === "user.reactivated";
  const address = base?.address ?? user.email.trim();
  const person: Person = {
    email: personKey(user.email),
    address,
    profile,
    // A plain object again (the DynamoDB marshaller refuses one without a prototype), built from
    // entries: no key is assigned, and `membershipKey` never yields `__proto__`.
    memberships: Object.fromEntries(Object.entries(memberships)),
    ...(groupListAt ? { groupListAt } : {}),
    ...(sources ? { sources } : {}),
    ...(confinedSources ? { confinedSources } : {}),
    ...(provisioned ? { provisioned } : {}),
    ...(mustExist ? { mustExist } : {}),
    ...(guest ? { guest } : {}),
    ...(role ? { role } : {}),
    ...(status ? { status } : {}),
  };
  // The role compares versions (the newer of the explicit role and the role groups decides), so a
  // membership re-asserted at a newer version can change it without changing any value.
  changed ||= current !== undefined && desiredRole(current, config) !== desiredRole(person, config);
  return { person, changed };
}

/**
 * Who may say what about the person, before the event is merged:
 * - a confined source (SCIM) may not change a person another source names
 *   ({@link ForeignPersonError}), and its `guest: false` stands only for an address inside
 *   `memberDomains` (judged on the email the event is applied to, after any link);
 * - the first other source to name a person only confined sources had named takes them over:
 *   what the confined sources said is forgotten (their memberships become absences, so a role or
 *   group they granted ends), and the new source's event decides.
 * Returns the user to merge, the state to merge into, and who names the person afterwards.
 */
function attributed(
  current: Person | undefined,
  event: IdentityEvent,
  config: CoreConfig,
  source: EventSource | undefined,
  v: Version,
) {
  let user = event.user as EventUser;
  if (source === undefined) {
    return {
      user,
      current,
      sources: current?.sources,
      confinedSources: current?.confinedSources,
      takenOver: false,
    };
  }
  const named = current?.sources ?? [];
  const confinedNamed = current?.confinedSources ?? [];
  if (source.confined) {
    if (named.length > 0) {
      throw new ForeignPersonError(
        `${source.id} may not change ${personKey(user.email)}: ${named.join(", ")} provides this person, and a ${source.id} client may change only people no other source provides`,
      );
    }
    if (user.guest === false && !isMemberEmail(config, personKey(user.email))) {
      const { guest: _claim, ...rest } = user;
      user = rest;
    }
  }
  const takenOver = !source.confined && named.length === 0 && confinedNamed.length > 0 && current;
  const base: Person | undefined = takenOver
    ? {
        email: current.email,
        address: current.address,
        profile: {},
        memberships: Object.fromEntries(
          Object.entries(current.memberships).map(([key, m]) => [key, { name: m.name, value: false, v }]),
        ),
        // What the confined source's full list implied ends too: every mapped group absent at v.
        ...(current.groupListAt ? { groupListAt: v } : {}),
        confinedSources: confinedNamed,
        ...(current.provisioned ? { provisioned: true } : {}),
        ...(current.mustExist ? { mustExist: true } : {}),
      }
    : current;
  const add = (list: readonly string[]) => (list.includes(source.id) ? list : [...list, source.id]);
  return {
    user,
    current: base,
    takenOver: Boolean(takenOver),
    sources: source.inferred || source.confined ? current?.sources : add(named),
    confinedSources: source.confined && !source.inferred ? add(confinedNamed) : current?.confinedSources,
  };
}

/**
 * The change takes access away and must not wait behind joins: the person departs, or loses the
 * administrator role. Its reconcile goes on the departures lane.
 */
export function takesAccessAway(before: Person | undefined, after: Person, config: CoreConfig): boolean {
  if (before === undefined) return false;
  const departs = after.status?.value === "inactive" && before.status?.value !== "inactive";
  const demoted = desiredRole(before, config) === "admin" && desiredRole(after, config) !== "admin";
  return (departs && config.deprovision !== "none") || demoted;
}

/** The event says so, or else the email's domain decides. */
export function isGuest(person: Person, config: CoreConfig): boolean {
  return person.guest?.value ?? !isMemberEmail(config, person.email);
}

/** Inactive, the configuration acts on departures, and no hold keeps the person as they are. */
export function hasDeparted(person: Person, config: CoreConfig): boolean {
  return person.status?.value === "inactive" && config.deprovision !== "none" && !holdStands(person);
}

export function profileOf(person: Person): Profile {
  const profile: Profile = {};
  for (const field of PROFILE_FIELDS) {
    const fact = person.profile[field];
    if (fact) profile[field] = fact.value;
  }
  return profile;
}

/**
 * The member's role, or undefined to leave Tallyfy's alone. The newer of the explicit role and
 * the newest role-group membership decides; memberships give the highest role of the present
 * ones, else the default.
 */
export function desiredRole(person: Person, config: CoreConfig): Role | undefined {
  if (departureFrozen(person, config)) return undefined;
  let derived: Role | undefined;
  let newest: Version | undefined;
  for (const [key, role] of mappingOf(config).roles) {
    const membership = membershipIn(person, key, config);
    if (!membership) continue;
    if (newest === undefined || membership.v > newest) newest = membership.v;
    if (membership.value) derived = derived ? higherRole(derived, role) : role;
  }
  if (person.role && (newest === undefined || person.role.v >= newest)) return person.role.value;
  return newest === undefined ? undefined : (derived ?? config.defaultRole);
}

/**
 * Whether the person should be in the mapped Tallyfy group `target`: undefined when none of their
 * known memberships maps to it (the directory does not manage them there: leave them as they are).
 * The absences their newest full list implies count, read against today's configuration: a group
 * mapped after the list is one the list said they are not in.
 */
export function wantsGroup(person: Person, target: string, config: CoreConfig): boolean | undefined {
  let managed = false;
  let present = false;
  for (const key of mappingOf(config).byTarget.get(target.trim().toLowerCase()) ?? []) {
    const membership = membershipIn(person, key, config);
    if (!membership) continue;
    managed = true;
    present ||= membership.value;
  }
  // A departure the brake has not let through leaves the person where they are: their own
  // reconcile decides, then asks for their groups.
  if (!managed || departureFrozen(person, config)) return undefined;
  return present && !hasDeparted(person, config);
}

/** Every mapped Tallyfy group the person is managed in, with whether they belong there. */
export function groupWishes(person: Person, config: CoreConfig): Map<string, boolean> {
  const wishes = new Map<string, boolean>();
  for (const target of mappedTallyfyGroups(config)) {
    const wanted = wantsGroup(person, target, config);
    if (wanted !== undefined) wishes.set(target, wanted);
  }
  return wishes;
}

/** The keys of the person's IdP groups that map to one of `targets` and say they are absent. */
export function absencesIn(person: Person, targets: readonly string[], config: CoreConfig): string[] {
  const keys = new Set<string>();
  for (const target of targets) {
    for (const key of mappingOf(config).byTarget.get(target.trim().toLowerCase()) ?? []) {
      if (membershipIn(person, key, config)?.value === false) keys.add(key);
    }
  }
  return [...keys];
}

/** Changes with the parts of the configuration a reconcile reads, so a new configuration is applied again. */
export function configFingerprint(config: CoreConfig): string {
  const { memberDomains, roles, defaultRole, groups, deprovision, createMissingGroups } = config;
  return createHash("sha256")
    .update(JSON.stringify({ memberDomains, roles, defaultRole, groups, deprovision, createMissingGroups }))
    .digest("hex")
    .slice(0, 16);
}

/** The key of a mapped Tallyfy group in the directory and on the queue: its id, or its name until resolved. */
export function groupKeyOf(target: string): string {
  const trimmed = target.trim().toLowerCase();
  return /^[0-9a-f]{32}$/.test(trimmed) ? trimmed : `name:${trimmed}`;
}

/** A group's desired name and description, from `group.updated` events. */
export interface GroupFacts {
  readonly name?: Fact<string>;
  readonly description?: Fact<string>;
}

/**
 * The Tallyfy groups a `group.updated` event changes, with the facts it sets on each. The Tallyfy
 * group follows an IdP rename when it is mapped by id or under the IdP's own name; a mapping to a
 * different name is the administrator's choice and is kept.
 */
export function groupUpdates(
  event: IdentityEvent,
  config: CoreConfig,
): { readonly target: string; readonly name?: string; readonly description?: string }[] {
  if (event.type !== "group.updated") return [];
  const { group } = event;
  const lookup = group.previousName ?? group.name;
  return tallyfyGroupsOf(config, lookup).flatMap((target) => {
    const follows = /^[0-9a-f]{32}$/i.test(target) || sameGroup(target, lookup);
    const name =
      group.previousName && follows && !sameGroup(group.previousName, group.name) ? group.name : undefined;
    if (name === undefined && group.description === undefined) return [];
    return [{ target, name, description: group.description }];
  });
}

export function mergeGroupFacts(
  current: GroupFacts | undefined,
  update: { readonly name?: string; readonly description?: string },
  v: Version,
): { readonly facts: GroupFacts; readonly changed: boolean } {
  let changed = false;
  let { name, description } = current ?? {};
  if (update.name !== undefined && newer(name, v)) {
    changed ||= name?.value !== update.name;
    name = { value: update.name, v };
  }
  if (update.description !== undefined && newer(description, v)) {
    changed ||= description?.value !== update.description;
    description = { value: update.description, v };
  }
  return { facts: { ...(name ? { name } : {}), ...(description ? { description } : {}) }, changed };
}
