/**
 * Level-triggered reconciliation: a message names a person or a Tallyfy group; the reconciler
 * reads that entity's newest desired state from the directory (a consistent read) and Tallyfy's
 * actual state, and writes only the difference.
 *
 * - A revision already reconciled under the same configuration is skipped without a Tallyfy call.
 * - "Not in Tallyfy" is never concluded from a cache: a cached id is only trusted to be found.
 * - A person not in Tallyfy yet is left out of a group's list; the person's own reconcile asks
 *   for the group again once it has created them.
 * - People the directory does not manage in a group are left exactly as they are.
 */
import { type CoreConfig, mappedTallyfyGroups, sameGroup, tallyfyGroupsOf } from "../core/config.js";
import {
  configFingerprint,
  desiredRole,
  groupKeyOf,
  groupWishes,
  hasDeparted,
  isGuest,
  PROFILE_FIELDS,
  type Profile,
  profileOf,
  type Version,
  wantsGroup,
} from "../core/desired-state.js";
import { SyncError } from "../core/errors.js";
import type { ReconcileMessage } from "../core/reconcile-message.js";
import type { Directory, PersonRecord } from "../directory/directory.js";
import type { CallOptions, TallyfyClient } from "./client.js";
import { TallyfyApiError } from "./errors.js";
import type { MemberDirectory } from "./member-directory.js";
import type { Group, Guest, Member } from "./schemas.js";

/** The person must be invited but the sources gave no first and last name. Permanent. */
export class CannotCreateError extends SyncError {
  public readonly transient = false;
}

/**
 * The source says the person is a guest, but Tallyfy has a member with this email, and an email
 * cannot be both. Converting or removing a member is for an administrator to decide. Permanent.
 */
export class MemberNotGuestError extends SyncError {
  public readonly transient = false;
}

/** A mapped Tallyfy group does not exist and `createMissingGroups` is off. Permanent. */
export class GroupNotFoundError extends SyncError {
  public readonly transient = false;

  public constructor(group: string) {
    super(
      `Tallyfy group "${group}" does not exist; create it, correct the mapping, or set createMissingGroups`,
    );
  }
}

/**
 * Tallyfy refused a group's lists because someone in them changed meanwhile (a member removed
 * between the read and the write). Transient: the retry reads the group again.
 */
export class GroupChangedError extends SyncError {
  public readonly transient = true;
}

export interface ReconcileOutcome {
  readonly status: "applied" | "noop";
  readonly reason?: string;
}

export interface ReconcilerDeps {
  readonly client: TallyfyClient;
  readonly directory: Directory;
  /** Email -> member id, cached per container; trusted only to find. */
  readonly members: MemberDirectory;
  /** Where the reconciles a person's change asks of groups go. */
  readonly queue: { send(messages: readonly ReconcileMessage[]): Promise<void> };
  readonly config: CoreConfig;
  /** Called for each Tallyfy write made, for metrics. */
  readonly onWrite?: (operation: string) => void;
  /** Tallyfy took a guest's profile PUT but kept its old values. */
  readonly onGuestProfileNotApplied?: (email: string, fields: readonly string[]) => void;
}

const GROUP_ID = /^[0-9a-f]{32}$/i;

export class Reconciler {
  /** Mapped name -> Tallyfy group id. Ids never change, so a resolution is kept for the container's life. */
  readonly #resolved = new Map<string, string>();
  readonly #fingerprint: string;

  public constructor(private readonly deps: ReconcilerDeps) {
    this.#fingerprint = configFingerprint(deps.config);
  }

  public async reconcile(message: ReconcileMessage, deadline?: number): Promise<ReconcileOutcome> {
    const opts: CallOptions = { deadline };
    if (message.kind === "person") return this.#person(message.key, opts);
    if (message.key.startsWith("name:")) return this.#resolve(message.key, opts);
    return this.#group(message.key, opts);
  }

  // ---- people ------------------------------------------------------------------------------

  async #person(email: string, opts: CallOptions): Promise<ReconcileOutcome> {
    const { directory } = this.deps;
    const person = await directory.person(email);
    if (!person) return { status: "noop", reason: "no identity source has named this person" };
    if (this.#done(person.revision, person.reconciled))
      return { status: "noop", reason: `revision ${person.revision} is already reconciled` };
    const writes = new Writes(this.deps.onWrite);
    const { learnt, groups } = isGuest(person, this.deps.config)
      ? await this.#guest(person, writes, opts)
      : await this.#member(person, writes, opts);
    // What was learnt first, so the group reconciles asked for next can find the person's id;
    // `reconciled` last, so a failed send is retried rather than skipped.
    await directory.personReconciled(email, undefined, learnt);
    await directory.indexAbsences(email, absencesIn(person, groups, this.deps.config));
    await this.#askGroups(groups);
    await directory.personReconciled(email, { revision: person.revision, config: this.#fingerprint }, {});
    return writes.outcome();
  }

  async #member(
    person: PersonRecord,
    writes: Writes,
    opts: CallOptions,
  ): Promise<{ learnt: Partial<PersonRecord>; groups: string[] }> {
    const { client, members, config } = this.deps;
    const departed = hasDeparted(person, config);
    let member = await this.#findMember(person, opts, departed);
    const learnt: { memberId?: number; hadGuest?: boolean } = {};
    if (person.hadGuest) {
      // A guest who became a member: the old guest record must not keep access.
      const guest = await client.guests.findByEmail(person.email, opts);
      if (guest && !guest.disabled)
        await writes.run("guests.disable", () => client.guests.disable(guest.email, opts));
      learnt.hadGuest = false;
    }
    if (!member) {
      if (departed) {
        // Whatever Tallyfy holds under the email goes: a guest record too, if that is what there is.
        if (!person.hadGuest) await this.#deprovisionGuest(person.address, undefined, writes, opts);
        return { learnt, groups: [] };
      }
      if (person.status?.value === "inactive") return { learnt, groups: [] };
      if (!person.provisioned) return { learnt, groups: [] };
      const { firstName, lastName } = profileOf(person);
      // A creation or a return without names is an error to report; an update may simply be ahead of them.
      if ((!firstName || !lastName) && !person.mustExist) return { learnt, groups: [] };
      member = await this.#invite(person, writes, opts);
    }
    learnt.memberId = member.id;
    members.remember(person.email, member.id);

    if (departed) {
      await this.#deprovisionMember(member, writes, opts);
      if (!person.hadGuest) await this.#deprovisionGuest(person.address, undefined, writes, opts);
    } else {
      if (person.status?.value === "active" && member.status === "disabled")
        await writes.run("members.enable", () => client.members.enable(member.id, opts));
      await this.#writeProfile(member, profileOf(person), writes, opts);
      const role = desiredRole(person, config);
      if (role !== undefined && role !== member.role)
        await writes.run("members.updateRole", () => client.members.updateRole(member.id, role, opts));
    }
    // Groups whose list differs from what the person should be in, or whose wish changed since it
    // was last asked for (a group write already in flight may be about to undo it): each is
    // reconciled on its own, from the newest desired state.
    const groups: string[] = [];
    const requested: Record<string, boolean> = {};
    for (const [target, wanted] of groupWishes(person, config)) {
      requested[target] = wanted;
      const key = groupKeyOf(target);
      const id = key.startsWith("name:") ? (this.#resolved.get(key) ?? (await this.#knownId(key))) : key;
      const inIt = (member.groups ?? []).some((g) =>
        id !== undefined ? g.id.toLowerCase() === id : sameGroup(g.name, target),
      );
      const asked = person.requestedGroups?.[target];
      const changed = asked !== undefined && asked !== wanted;
      // A former guest's email may still be on the group's guest list.
      if (inIt !== wanted || changed || person.hadGuest) groups.push(target);
    }
    return { learnt: { ...learnt, requestedGroups: requested }, groups };
  }

  /**
   * The member with the person's email. An id from the directory or the cache is only trusted
   * when Tallyfy still has it under that email; otherwise Tallyfy is asked. A person to be
   * invited is not searched for: the invitation itself is refused when the email is taken.
   */
  async #findMember(person: PersonRecord, opts: CallOptions, mustKnow: boolean): Promise<Member | undefined> {
    const { client, members } = this.deps;
    const id = person.memberId ?? (await members.idOf(person.email, opts));
    if (id !== undefined) {
      try {
        const member = await client.members.get(id, { ...opts, withGroups: true });
        // Ids are never reused: the member this sync stored is the person, even under an email an
        // administrator changed by hand.
        if (id === person.memberId || sameEmail(member.email, person.email)) return member;
      } catch (error) {
        if (!(error instanceof TallyfyApiError) || error.status !== 404) throw error;
      }
      members.forget(person.email);
    }
    const inviting = !mustKnow && person.provisioned === true && person.status?.value !== "inactive";
    if (inviting) return undefined;
    return this.#search(person.email, opts);
  }

  async #deprovisionMember(member: Member, writes: Writes, opts: CallOptions): Promise<void> {
    const { client, config } = this.deps;
    if (config.deprovision === "remove") {
      if (member.status !== "removed")
        await writes.run("members.remove", () => client.members.remove(member.id, undefined, opts));
    } else if (member.status !== "disabled") {
      await writes.run("members.disable", () => client.members.disable(member.id, opts));
    }
  }

  /** Disables or deletes the guest with this email, read from Tallyfy unless given. */
  async #deprovisionGuest(
    email: string,
    known: Guest | undefined,
    writes: Writes,
    opts: CallOptions,
  ): Promise<void> {
    const { client, config } = this.deps;
    const guest = known ?? (await client.guests.findByEmail(email, opts));
    if (!guest) return;
    if (config.deprovision === "remove")
      await writes.run("guests.delete", () => client.guests.delete(guest.email, opts));
    else if (!guest.disabled)
      await writes.run("guests.disable", () => client.guests.disable(guest.email, opts));
  }

  async #search(email: string, opts: CallOptions): Promise<Member | undefined> {
    const found = await this.deps.client.members.findByEmail(email, opts);
    return found && (await this.deps.client.members.get(found.id, { ...opts, withGroups: true }));
  }

  async #invite(person: PersonRecord, writes: Writes, opts: CallOptions): Promise<Member> {
    const { client, config } = this.deps;
    const { firstName, lastName } = profileOf(person);
    if (!firstName || !lastName)
      throw new CannotCreateError(`cannot invite ${person.address}: Tallyfy needs firstName and lastName`);
    const role = desiredRole(person, config) ?? config.defaultRole;
    let invited: Member | undefined;
    try {
      invited = await writes.run("members.invite", () =>
        client.members.invite(
          { email: person.address, firstName, lastName, role, message: config.inviteMessage },
          opts,
        ),
      );
    } catch (error) {
      // 422 "taken": Tallyfy has the member already (made elsewhere since). Reconcile that one.
      const taken =
        error instanceof TallyfyApiError && error.status === 422 && /taken|exist/i.test(error.message);
      if (!taken) throw error;
    }
    const member = invited
      ? { ...invited, groups: invited.groups ?? [] }
      : await this.#search(person.email, opts);
    if (!member) throw new CannotCreateError(`Tallyfy neither invited ${person.address} nor lists it`);
    return member;
  }

  async #writeProfile(member: Member, profile: Profile, writes: Writes, opts: CallOptions): Promise<void> {
    const changed = PROFILE_FIELDS.filter((f) => profile[f] !== undefined && profile[f] !== member[f]);
    if (changed.length === 0) return;
    // Tallyfy requires these three on every profile PUT; the others are sent as they stand.
    const firstName = profile.firstName ?? member.firstName;
    const lastName = profile.lastName ?? member.lastName;
    if (!firstName || !lastName)
      throw new CannotCreateError(
        `cannot update ${member.email}: Tallyfy has no name for it and the source gave none`,
      );
    await writes.run("members.updateProfile", () =>
      this.deps.client.members.updateProfile(
        member.id,
        {
          firstName,
          lastName,
          timezone: profile.timezone ?? member.timezone ?? "UTC",
          phone: profile.phone ?? member.phone,
          jobTitle: profile.jobTitle ?? member.jobTitle,
          jobDescription: profile.jobDescription ?? member.jobDescription,
          team: profile.team ?? member.team,
        },
        opts,
      ),
    );
  }

  async #guest(
    person: PersonRecord,
    writes: Writes,
    opts: CallOptions,
  ): Promise<{ learnt: Partial<PersonRecord>; groups: string[] }> {
    const { client, config } = this.deps;
    const email = person.address;
    const departed = hasDeparted(person, config);
    let guest = await client.guests.findByEmail(email, opts);
    if (departed) {
      if (guest) await this.#deprovisionGuest(email, guest, writes, opts);
      // A member under the email (made by hand, or before the source called them a guest) goes too.
      const member = await this.#findMember(person, opts, true);
      if (member) await this.#deprovisionMember(member, writes, opts);
    } else if (!guest) {
      if (person.provisioned && person.status?.value !== "inactive") {
        const profile = guestProfile(profileOf(person));
        try {
          await writes.run("guests.create", () => client.guests.create({ email, ...profile }, opts));
        } catch (error) {
          const isMember =
            error instanceof TallyfyApiError && error.status === 422 && /member/i.test(error.message);
          if (!isMember) throw error;
          throw new MemberNotGuestError(
            `${email} is a guest in the identity source but a member in Tallyfy; convert or remove the member by hand, or mark the person as a member in the source`,
          );
        }
        guest = { email, ...profile, associatedMembers: [], disabled: false };
      }
    } else {
      if (person.status?.value === "active" && guest.disabled)
        await writes.run("guests.enable", () => client.guests.enable(email, opts));
      await this.#writeGuestProfile(guest, profileOf(person), writes, opts);
    }
    const exists = guest !== undefined && !(departed && config.deprovision === "remove");
    const wishes = groupWishes(person, config);
    const requested: Record<string, boolean> = {};
    const groups: string[] = [];
    for (const [target, wanted] of wishes) {
      const want = wanted && exists;
      requested[target] = want;
      if (person.requestedGroups?.[target] !== want) groups.push(target);
    }
    return { learnt: { hadGuest: exists, requestedGroups: requested }, groups };
  }

  async #writeGuestProfile(guest: Guest, profile: Profile, writes: Writes, opts: CallOptions): Promise<void> {
    const wanted = guestProfile(profile);
    const fields = (Object.keys(wanted) as (keyof typeof wanted)[]).filter(
      (key) => wanted[key] !== undefined && wanted[key] !== guest[key],
    );
    if (fields.length === 0) return;
    const answer = await writes.run("guests.updateProfile", () =>
      this.deps.client.guests.updateProfile({ ...guestProfile(guest), ...wanted, email: guest.email }, opts),
    );
    const kept = fields.filter((key) => answer !== undefined && answer[key] !== wanted[key]);
    if (answer === undefined || kept.length > 0)
      this.deps.onGuestProfileNotApplied?.(guest.email, answer === undefined ? fields : kept);
  }

  /**
   * Asks for a reconcile of each mapped group, by id when resolved, unless one is queued and has
   * yet to start: it reads this person's newest state when it does.
   */
  async #askGroups(targets: readonly string[]): Promise<void> {
    const { directory, queue } = this.deps;
    const messages: ReconcileMessage[] = [];
    for (const target of targets) {
      const nameKey = groupKeyOf(target);
      const key = this.#resolved.get(nameKey) ?? (await this.#knownId(nameKey)) ?? nameKey;
      const { revision, pending } = await directory.touchGroup(key);
      if (!pending) messages.push({ kind: "group", key, revision, config: this.#fingerprint });
    }
    if (messages.length === 0) return;
    await queue.send(messages);
    // Noted after the send: a send that failed leaves nothing trusted to come.
    for (const message of messages) await directory.groupQueued(message.key, message.revision);
  }

  async #knownId(key: string): Promise<string | undefined> {
    if (!key.startsWith("name:")) return undefined;
    const id = (await this.deps.directory.group(key))?.groupId;
    if (id) this.#resolved.set(key, id);
    return id;
  }

  // ---- groups ------------------------------------------------------------------------------

  /** A mapped name: resolve it to the Tallyfy group's id once, keep it, and reconcile the group by id. */
  async #resolve(key: string, opts: CallOptions): Promise<ReconcileOutcome> {
    const { client, config, directory } = this.deps;
    const target = mappedTallyfyGroups(config).find((t) => groupKeyOf(t) === key);
    if (!target)
      return { status: "noop", reason: `no mapping names the Tallyfy group "${key.slice(5)}" now` };
    const writes = new Writes(this.deps.onWrite);
    // A change to the name from here on asks for a reconcile of its own (see #askGroups).
    await directory.startGroup(key);
    let id = this.#resolved.get(key) ?? (await this.#knownId(key));
    if (!id) {
      id = (await client.groups.findByName(target, opts))?.id;
      if (!id && !config.createMissingGroups) throw new GroupNotFoundError(target);
      if (!id) {
        const facts = (await directory.group(key))?.facts;
        const created = await writes.run("groups.create", () =>
          client.groups.create(
            { name: facts?.name?.value ?? target, description: facts?.description?.value ?? "" },
            opts,
          ),
        );
        id = created?.id ?? (await client.groups.findByName(target, opts))?.id;
        if (!id) throw new GroupNotFoundError(target);
      }
      await directory.resolveGroup(key, id.toLowerCase());
      this.#resolved.set(key, id.toLowerCase());
    }
    await this.#askGroups([id.toLowerCase()]);
    return writes.outcome();
  }

  async #group(id: string, opts: CallOptions): Promise<ReconcileOutcome> {
    const { client, config, directory } = this.deps;
    const seen = await directory.group(id);
    if (this.#done(seen?.revision ?? 0, seen?.reconciled))
      return { status: "noop", reason: `revision ${seen?.revision ?? 0} is already reconciled` };
    // Noted before the members are read: a change from here on asks for a reconcile of its own.
    const record = await directory.startGroup(id);
    const revision = record.revision;
    const targets: string[] = [];
    const facts: { name?: { value: string; v: Version }; description?: { value: string; v: Version } }[] = [];
    for (const target of mappedTallyfyGroups(config)) {
      const key = groupKeyOf(target);
      const resolved = GROUP_ID.test(target) ? key : (this.#resolved.get(key) ?? (await this.#knownId(key)));
      if (resolved !== id) continue;
      targets.push(target);
      const targetFacts = key === id ? record.facts : (await directory.group(key))?.facts;
      if (targetFacts) facts.push(targetFacts);
    }
    if (targets.length === 0)
      return { status: "noop", reason: `no mapping resolves to Tallyfy group ${id} now` };

    const idpGroups = Object.entries(config.groups)
      .filter(([, target]) => targets.some((t) => sameGroup(t, target)))
      .map(([idp]) => idp);
    const people = await directory.membersOfIdpGroups(idpGroups);
    let group: Group;
    try {
      group = await client.groups.get(id, opts);
    } catch (error) {
      if (error instanceof TallyfyApiError && error.status === 404) return this.#lost(id, targets);
      throw error;
    }
    const members = new Set(group.members);
    const guests = new Map(group.guests.map((g) => [g.toLowerCase(), g]));
    for (const person of people) {
      const wishes = targets.map((t) => wantsGroup(person, t, config)).filter((w) => w !== undefined);
      if (wishes.length === 0) continue;
      const wanted = wishes.some(Boolean);
      if (isGuest(person, config)) {
        if (wanted && person.hadGuest) guests.set(person.email, guests.get(person.email) ?? person.address);
        if (!wanted) guests.delete(person.email);
      } else {
        guests.delete(person.email);
        if (person.memberId === undefined) continue;
        if (wanted) members.add(person.memberId);
        else members.delete(person.memberId);
      }
    }
    const newest = <T>(key: "name" | "description"): T | undefined =>
      facts
        .map((f) => f[key])
        .filter((f) => f !== undefined)
        .sort((a, b) => (a.v < b.v ? 1 : -1))[0]?.value as T | undefined;
    const body = {
      name: newest<string>("name") ?? group.name,
      description: newest<string>("description") ?? group.description,
      members: [...members],
      guests: [...guests.values()],
    };
    const writes = new Writes(this.deps.onWrite);
    if (!sameGroupState(group, body)) {
      try {
        await writes.run("groups.update", () => client.groups.update(id, body, opts));
      } catch (error) {
        const listRefused =
          error instanceof TallyfyApiError &&
          error.status === 422 &&
          error.detail.fieldErrors.some((f) => /member|guest/i.test(f));
        if (!listRefused) throw error;
        // A member id this sync stored may be gone (removed in Tallyfy by hand): leave those out,
        // have their people reconciled again, and write the rest once more.
        const gone = await this.#goneMembers(
          body.members.filter((m) => !group.members.includes(m)),
          people,
          opts,
        );
        if (gone.length === 0)
          throw new GroupChangedError(
            `Tallyfy refused group ${group.name}'s lists (${error.message}); reading it again`,
          );
        const kept = { ...body, members: body.members.filter((m) => !gone.includes(m)) };
        await writes.run("groups.update", () => client.groups.update(id, kept, opts));
      }
    }
    await directory.groupReconciled(id, { revision, config: this.#fingerprint });
    return writes.outcome();
  }

  /**
   * The resolved group is gone from Tallyfy (deleted by hand): forget the id and resolve each
   * mapped name again (found, created with `createMissingGroups`, or dead-lettered naming it).
   */
  async #lost(id: string, targets: readonly string[]): Promise<ReconcileOutcome> {
    const names = targets.filter((t) => !GROUP_ID.test(t));
    if (names.length === 0) throw new GroupNotFoundError(targets[0] ?? id);
    for (const target of names) {
      const key = groupKeyOf(target);
      await this.deps.directory.forgetGroupId(key);
      this.#resolved.delete(key);
    }
    await this.#askGroups(names);
    return { status: "noop", reason: `Tallyfy group ${id} is gone; resolving ${names.join(", ")} again` };
  }

  /** Of these member ids, the ones Tallyfy no longer has; their people are asked to be reconciled again. */
  async #goneMembers(
    ids: readonly number[],
    people: readonly PersonRecord[],
    opts: CallOptions,
  ): Promise<number[]> {
    const gone: number[] = [];
    for (const memberId of ids) {
      try {
        await this.deps.client.members.get(memberId, opts);
      } catch (error) {
        if (!(error instanceof TallyfyApiError) || error.status !== 404) throw error;
        gone.push(memberId);
      }
    }
    const messages: ReconcileMessage[] = [];
    for (const person of people.filter((p) => p.memberId !== undefined && gone.includes(p.memberId))) {
      const revision = await this.deps.directory.forgetMemberId(person.email);
      this.deps.members.forget(person.email);
      messages.push({ kind: "person", key: person.email, revision, config: this.#fingerprint });
    }
    if (messages.length > 0) await this.deps.queue.send(messages);
    return gone;
  }

  #done(revision: number, reconciled: { revision: number; config: string } | undefined): boolean {
    return (
      reconciled !== undefined && reconciled.revision >= revision && reconciled.config === this.#fingerprint
    );
  }
}

/** Counts the writes of one reconcile, so it reports whether it changed Tallyfy. */
class Writes {
  #count = 0;

  public constructor(private readonly onWrite?: (operation: string) => void) {}

  public async run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const result = await call();
    this.#count++;
    this.onWrite?.(operation);
    return result;
  }

  public outcome(): ReconcileOutcome {
    return this.#count > 0 ? { status: "applied" } : { status: "noop" };
  }
}

function guestProfile(profile: Pick<Profile, "firstName" | "lastName" | "phone" | "timezone">) {
  return {
    firstName: profile.firstName,
    lastName: profile.lastName,
    phone: profile.phone,
    timezone: profile.timezone,
  };
}

/** The keys of the person's IdP groups that map to one of `targets` and say they are absent. */
function absencesIn(person: PersonRecord, targets: readonly string[], config: CoreConfig): string[] {
  return Object.entries(person.memberships)
    .filter(
      ([, m]) =>
        !m.value && tallyfyGroupsOf(config, m.name).some((t) => targets.some((g) => sameGroup(g, t))),
    )
    .map(([key]) => key);
}

function sameEmail(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

function sameGroupState(
  group: Group,
  body: { name: string; description: string; members: number[]; guests: string[] },
) {
  const sorted = <T>(list: readonly T[]) => JSON.stringify([...list].map(String).sort());
  return (
    group.name === body.name &&
    group.description === body.description &&
    sorted(group.members) === sorted(body.members) &&
    sorted(group.guests.map((g) => g.toLowerCase())) === sorted(body.guests.map((g) => g.toLowerCase()))
  );
}
