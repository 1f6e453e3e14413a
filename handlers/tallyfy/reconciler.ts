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
 * - A departure passes the departure brake just before its first write; one the brake holds
 *   changes nothing in Tallyfy (core/departure-brake.ts).
 */
import { randomUUID } from "node:crypto";
import { sameGroup } from "../core/config.js";
import { departureSourceOf, holdApproved, letThrough } from "../core/departure-brake.js";
import {
  absencesIn,
  configFingerprint,
  desiredRole,
  groupKeyOf,
  groupWishes,
  hasDeparted,
  isGuest,
  PROFILE_FIELDS,
  type Profile,
  profileOf,
} from "../core/desired-state.js";
import { SyncError } from "../core/errors.js";
import type { ReconcileMessage } from "../core/reconcile-message.js";
import type { PersonRecord } from "../directory/directory.js";
import type { CallOptions } from "./client.js";
import { TallyfyApiError } from "./errors.js";
import { GroupReconciler } from "./group-reconciler.js";
import { isReconciled, type ReconcileOutcome, type ReconcilerDeps, Writes } from "./reconcile-outcome.js";
import type { Guest, Member } from "./schemas.js";

export { GroupChangedError, GroupNotFoundError } from "./group-reconciler.js";
export type { ReconcileOutcome, ReconcilerDeps } from "./reconcile-outcome.js";

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

/** Another reconcile of the person (on the other lane) kept running. Transient. */
export class PersonBusyError extends SyncError {
  public readonly transient = true;
}

/** How long a reconcile waits for the other lane's reconcile of the same person. */
const LEASE_WAIT_MS = 10_000;

export class Reconciler {
  readonly #fingerprint: string;
  readonly #groups: GroupReconciler;

  public constructor(private readonly deps: ReconcilerDeps) {
    this.#fingerprint = configFingerprint(deps.config);
    this.#groups = new GroupReconciler(deps);
  }

  public async reconcile(message: ReconcileMessage, deadline?: number): Promise<ReconcileOutcome> {
    const opts: CallOptions = { deadline };
    if (message.kind === "person") return this.#person(message.key, opts);
    if (message.key.startsWith("name:")) return this.#groups.resolve(message.key, opts);
    return this.#groups.reconcile(message.key, opts);
  }

  async #person(email: string, opts: CallOptions): Promise<ReconcileOutcome> {
    const { directory } = this.deps;
    const seen = await directory.person(email);
    const skip = this.#skip(seen);
    if (skip) return skip;
    const owner = randomUUID();
    await this.#lease(email, owner, opts.deadline);
    try {
      // Read again under the lease: a reconcile on the other lane may have run meanwhile.
      const person = await directory.person(email);
      return this.#skip(person) ?? (await this.#personLeased(email, person as PersonRecord, opts));
    } finally {
      await directory.releasePerson(email, owner);
    }
  }

  #skip(person: PersonRecord | undefined): ReconcileOutcome | undefined {
    if (!person) return { status: "noop", reason: "no identity source has named this person" };
    if (isReconciled(person.revision, person.reconciled, this.#fingerprint))
      return { status: "noop", reason: `revision ${person.revision} is already reconciled` };
    return undefined;
  }

  /** Waits a little for a reconcile of the person on the other lane to finish. */
  async #lease(email: string, owner: string, deadline: number | undefined): Promise<void> {
    const now = this.deps.now ?? Date.now;
    const until = deadline ?? now() + 15 * 60_000;
    const giveUpAt = now() + Math.min(LEASE_WAIT_MS, Math.max(0, (until - now()) / 2));
    while (!(await this.deps.directory.leasePerson(email, owner, until, now()))) {
      if (now() >= giveUpAt)
        throw new PersonBusyError(`${email} is being reconciled by another function; retried later`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async #personLeased(email: string, person: PersonRecord, opts: CallOptions): Promise<ReconcileOutcome> {
    const { directory } = this.deps;
    const writes = new Writes(this.deps.onWrite);
    const hold = person.departureHold;
    // The person is back: whatever was held or decided of their departure is over.
    if (hold && person.status?.value !== "inactive") await directory.holds.release(email, hold.v);
    const departure: Departure = {};
    const { learnt, groups } = isGuest(person, this.deps.config)
      ? await this.#guest(person, writes, opts, departure)
      : await this.#member(person, writes, opts, departure);
    if (hold && holdApproved(person) && departure.held === undefined)
      await directory.holds.release(email, hold.v);
    // What was learnt first, so the group reconciles asked for next can find the person's id;
    // `reconciled` last, so a failed send is retried rather than skipped.
    await directory.personReconciled(email, undefined, learnt);
    await directory.indexAbsences(email, absencesIn(person, groups, this.deps.config));
    await this.#groups.askGroups(groups);
    await directory.personReconciled(email, { revision: person.revision, config: this.#fingerprint }, {});
    const outcome = writes.outcome();
    return departure.held === undefined
      ? outcome
      : { ...outcome, reason: `departure held: ${departure.held}` };
  }

  /**
   * Whether the person's departure may be written now, asked just before its first write (a
   * departure Tallyfy has already applied is not counted). Decided once per reconcile: admitted
   * by the brake, approved by an administrator, or held, which writes the hold to the person.
   */
  async #mayDepart(person: PersonRecord, departure: Departure): Promise<boolean> {
    departure.allowed ??= (async () => {
      const { config, directory } = this.deps;
      if (config.departureBrake === false || holdApproved(person)) return true;
      const source = departureSourceOf(person);
      const now = (this.deps.now ?? Date.now)();
      const admission = await directory.holds.admit(source, person.email, config.departureBrake, now);
      if (admission.admitted) return true;
      departure.held = admission.reason;
      const fresh = await directory.holds.hold(person.email, {
        v: person.status?.v ?? "",
        state: "held",
        source,
        reason: admission.reason,
        heldAt: new Date(now).toISOString(),
      });
      if (fresh) this.deps.onDepartureHeld?.(person.email, admission.reason);
      return false;
    })();
    return departure.allowed;
  }

  async #member(
    read: PersonRecord,
    writes: Writes,
    opts: CallOptions,
    departure: Departure,
  ): Promise<{ learnt: Partial<PersonRecord>; groups: string[] }> {
    const { client, members, config } = this.deps;
    let person = read;
    const departed = hasDeparted(person, config);
    let member = await this.#findMember(person, opts, departed);
    const learnt: { memberId?: number; hadGuest?: boolean; departureAdmitted?: string } = {};
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
        if (!person.hadGuest) await this.#deprovisionGuest(person, undefined, writes, opts, departure);
        if (departure.held === undefined) learnt.departureAdmitted = person.status?.v;
        return { learnt, groups: [] };
      }
      if (person.status?.value === "inactive") return { learnt, groups: [] };
      if (!person.provisioned) return { learnt, groups: [] };
      const { firstName, lastName } = profileOf(person);
      const canInvite = Boolean(firstName && lastName) || person.mustExist === true;
      // A cache miss is not Tallyfy's word: before giving up on someone it cannot invite (an update
      // without names), ask Tallyfy, which may have them (invited by hand since the list was read).
      member = canInvite ? undefined : await this.#search(person.email, opts);
      // A creation or a return without names is an error to report; an update may simply be ahead of them.
      if (!member && !canInvite) return { learnt, groups: [] };
      member ??= await this.#invite(person, writes, opts);
    }
    learnt.memberId = member.id;
    members.remember(person.email, member.id);

    if (departed) {
      await this.#deprovisionMember(person, member, writes, opts, departure);
      if (!person.hadGuest) await this.#deprovisionGuest(person, undefined, writes, opts, departure);
      // Held: the person keeps their groups as they keep their access.
      if (departure.held !== undefined) return { learnt, groups: [] };
      person = letThrough(person);
      learnt.departureAdmitted = person.departureAdmitted;
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
      const id = key.startsWith("name:") ? await this.#groups.idOf(key) : key;
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

  async #deprovisionMember(
    person: PersonRecord,
    member: Member,
    writes: Writes,
    opts: CallOptions,
    departure: Departure,
  ): Promise<void> {
    const { client, config } = this.deps;
    const remove = config.deprovision === "remove";
    if (member.status === (remove ? "removed" : "disabled")) return;
    if (!(await this.#mayDepart(person, departure))) return;
    if (remove) await writes.run("members.remove", () => client.members.remove(member.id, undefined, opts));
    else await writes.run("members.disable", () => client.members.disable(member.id, opts));
  }

  /** Disables or deletes the guest with the person's email, read from Tallyfy unless given. */
  async #deprovisionGuest(
    person: PersonRecord,
    known: Guest | undefined,
    writes: Writes,
    opts: CallOptions,
    departure: Departure,
  ): Promise<void> {
    const { client, config } = this.deps;
    const guest = known ?? (await client.guests.findByEmail(person.address, opts));
    if (!guest) return;
    const remove = config.deprovision === "remove";
    if (!remove && guest.disabled) return;
    if (!(await this.#mayDepart(person, departure))) return;
    if (remove) await writes.run("guests.delete", () => client.guests.delete(guest.email, opts));
    else await writes.run("guests.disable", () => client.guests.disable(guest.email, opts));
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
    read: PersonRecord,
    writes: Writes,
    opts: CallOptions,
    departure: Departure,
  ): Promise<{ learnt: Partial<PersonRecord>; groups: string[] }> {
    const { client, config } = this.deps;
    let person = read;
    const email = person.address;
    const departed = hasDeparted(person, config);
    let guest = await client.guests.findByEmail(email, opts);
    if (departed) {
      if (guest) await this.#deprovisionGuest(person, guest, writes, opts, departure);
      // A member under the email (made by hand, or before the source called them a guest) goes too.
      const member = await this.#findMember(person, opts, true);
      if (member) await this.#deprovisionMember(person, member, writes, opts, departure);
      if (departure.held !== undefined) return { learnt: {}, groups: [] };
      person = letThrough(person);
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
    return {
      learnt: { hadGuest: exists, requestedGroups: requested, departureAdmitted: person.departureAdmitted },
      groups,
    };
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
}

/** One reconcile's departure: decided at most once, and why it was held, if it was. */
interface Departure {
  allowed?: Promise<boolean>;
  held?: string;
}

function guestProfile(profile: Pick<Profile, "firstName" | "lastName" | "phone" | "timezone">) {
  return {
    firstName: profile.firstName,
    lastName: profile.lastName,
    phone: profile.phone,
    timezone: profile.timezone,
  };
}

function sameEmail(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}
