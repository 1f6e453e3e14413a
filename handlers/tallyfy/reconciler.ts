/**
 * Applies the commands of one Tallyfy entity (one FIFO message group) by reconciling: read the
 * current state once, fold every command into the desired state, then write only what differs.
 *
 * - A command that changes nothing makes no write, so duplicates and redeliveries are harmless.
 * - Several commands for one entity in a batch share one read and one write.
 * - Group lists are replaced whole by Tallyfy; this is safe because FIFO delivers one group's
 *   commands to one consumer at a time, in order.
 * - A permanent failure of one command drops that command only; a transient one stops the fold
 *   there, so the commands after it are retried in their original order.
 */

import {
  COMMAND_VERSION,
  type Command,
  PROFILE_FIELDS,
  type Profile,
  type RoleChange,
} from "../core/commands.js";
import { type CoreConfig, sameGroup } from "../core/config.js";
import { isTransient, SyncError } from "../core/errors.js";
import { higherRole } from "../core/roles.js";
import type { CommandQueue } from "../runtime/queues.js";
import type { CallOptions, GuestCreate, MemberInvite, TallyfyClient } from "./client.js";
import { TallyfyApiError } from "./errors.js";
import type { MemberDirectory } from "./member-directory.js";
import type { Group, Guest, Member, Role } from "./schemas.js";

/** Tallyfy has no member (or guest) with this email yet. Transient: its `user.created` may still be on the way. */
export class MemberNotFoundError extends SyncError {
  public readonly transient = true;

  public constructor(email: string, who: "member" | "guest" = "member") {
    super(`no Tallyfy ${who} has the email ${email}; it is created by a user.created or user.updated event`);
  }
}

/** The event lacks what Tallyfy needs to create the entity. Permanent. */
export class CannotCreateError extends SyncError {
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

/** A command reached the wrong entity's message group: a bug upstream, never fixed by a retry. */
export class UnexpectedCommandError extends SyncError {
  public readonly transient = false;

  public constructor(kind: string) {
    super(`command ${kind} does not belong to this entity's message group`);
  }
}

/** One command to apply, and whether this is its last allowed delivery. */
export interface WorkItem {
  readonly command: Command;
  /** On the last delivery a transient failure is final too, so the fold goes on past it. */
  readonly final: boolean;
}

export type ItemResult =
  | { readonly status: "applied" | "noop" | "ignored"; readonly reason?: string }
  | { readonly status: "failed"; readonly error: unknown }
  /** Not attempted because an earlier command of the same entity must be retried first. */
  | { readonly status: "skipped" }
  /** Needs a person who does not exist yet: to be tried again later, without holding up the entity. */
  | { readonly status: "deferred"; readonly error: MemberNotFoundError };

export interface ReconcilerDeps {
  readonly client: TallyfyClient;
  readonly directory: MemberDirectory;
  readonly followUps: CommandQueue;
  readonly config: CoreConfig;
  /** Called for each Tallyfy write made, for metrics. */
  readonly onWrite?: (operation: string) => void;
  /** Called when a guest's profile differs but Tallyfy offers no way to change it. */
  readonly onWarning?: (message: string, command: Command) => void;
}

/** The fold's per-item bookkeeping. */
class Fold {
  public readonly results: (ItemResult | undefined)[];
  /** Items whose changes are in the pending write. */
  public readonly included: number[] = [];
  /** Whether any write (or follow-up command) was made for the entity. */
  public wrote = false;
  #stopped = false;

  public constructor(private readonly items: readonly WorkItem[]) {
    this.results = items.map(() => undefined);
  }

  public get stopped(): boolean {
    return this.#stopped;
  }

  public fail(index: number, error: unknown): void {
    this.results[index] = { status: "failed", error };
    if (isTransient(error) && !this.items[index]?.final) {
      this.#stopped = true;
      for (let i = index + 1; i < this.results.length; i++) this.results[i] = { status: "skipped" };
    }
  }

  public defer(index: number, error: MemberNotFoundError): void {
    this.results[index] = { status: "deferred", error };
  }

  public ignore(index: number, reason: string): void {
    this.results[index] = { status: "ignored", reason };
  }

  public include(index: number, changed: boolean): void {
    this.results[index] = { status: changed ? "applied" : "noop" };
    this.included.push(index);
  }

  /** Every included item fails with the error of the write they shared. */
  public failIncluded(error: unknown): void {
    for (const index of this.included) this.results[index] = { status: "failed", error };
  }

  /** The results; a command counts as applied only if the entity actually got a write. */
  public done(): ItemResult[] {
    return this.results.map((result) => {
      if (result === undefined || (result.status === "applied" && !this.wrote)) return { status: "noop" };
      return result;
    });
  }
}

/** The coalesced write failed permanently; with several contributors the culprit is not known yet. */
class SharedWriteError extends Error {
  public constructor(public readonly error: unknown) {
    super("shared write failed");
  }
}

/** Every group of the organization, by lower-case id and by lower-case name, read at the start of a batch. */
export type GroupSnapshot = ReadonlyMap<string, Group>;

export class Reconciler {
  readonly #groupIds = new Map<string, string>();
  /** Pages the group listing took last time: a batch touching fewer groups reads them one by one. */
  #groupPages = 1;

  public constructor(private readonly deps: ReconcilerDeps) {}

  /** Every Tallyfy write goes through here, so the fold knows and metrics count it. */
  async #write(fold: Fold, operation: string, call: () => Promise<unknown>): Promise<void> {
    await call();
    fold.wrote = true;
    this.deps.onWrite?.(operation);
  }

  async #sendFollowUps(fold: Fold, commands: Command[]): Promise<void> {
    if (commands.length === 0) return;
    await this.deps.followUps.send(commands);
    fold.wrote = true;
  }

  /**
   * Reads every group in one listing, for a batch that touches several: one call a page of 100
   * instead of one per group. Safe to use for the whole batch because FIFO gives each of the
   * batch's groups to this consumer alone until the batch is done. Undefined when reading them
   * one by one is cheaper.
   */
  public async snapshotGroups(groupsInBatch: number, deadline?: number): Promise<GroupSnapshot | undefined> {
    if (groupsInBatch <= this.#groupPages) return undefined;
    const groups = await this.deps.client.groups.list({ deadline });
    this.#groupPages = Math.max(1, Math.ceil(groups.length / 100));
    const snapshot = new Map<string, Group>();
    for (const group of groups) {
      snapshot.set(group.id.toLowerCase(), group);
      snapshot.set(group.name.trim().toLowerCase(), group);
      this.#groupIds.set(group.name.trim().toLowerCase(), group.id);
    }
    return snapshot;
  }

  /** Applies one entity's commands, in order; returns one result per item. */
  public async apply(
    items: readonly WorkItem[],
    deadline?: number,
    groups?: GroupSnapshot,
  ): Promise<ItemResult[]> {
    const first = items[0]?.command;
    if (!first) return [];
    const opts: CallOptions = { deadline };
    try {
      if (first.kind.startsWith("member.")) return await this.#member(items, opts);
      if (first.kind.startsWith("guest.")) return await this.#guest(items, opts);
      return await this.#group(items, opts, groups);
    } catch (error) {
      if (!(error instanceof SharedWriteError)) throw error;
      // Apply one at a time so the command Tallyfy refused is the only one dead-lettered.
      const results: ItemResult[] = [];
      let skipping = false;
      for (const item of items) {
        const [result] = skipping ? [{ status: "skipped" as const }] : await this.apply([item], deadline);
        const outcome: ItemResult = result ?? { status: "skipped" };
        if (outcome.status === "failed" && isTransient(outcome.error) && !item.final) skipping = true;
        results.push(outcome);
      }
      return results;
    }
  }

  // ---- members -----------------------------------------------------------------------------

  async #member(items: readonly WorkItem[], opts: CallOptions, retriedInvite = false): Promise<ItemResult[]> {
    const { client, directory, config } = this.deps;
    const email = emailOf(items[0]?.command);
    // A change of group membership alone needs only the member's id; anything else needs its state.
    const needsState = items.some(
      ({ command }) =>
        command.kind !== "member.upsert" ||
        command.invite ||
        command.role !== undefined ||
        command.allGroups === true ||
        Object.keys(command.profile).length > 0,
    );
    const withGroups = items.some((i) => i.command.kind === "member.upsert" && i.command.allGroups);
    let current = needsState ? await this.#readMember(email, withGroups, opts) : undefined;
    const knownId = current?.id ?? (needsState ? undefined : await directory.idOf(email, opts));

    const fold = new Fold(items);
    let invite: MemberInvite | undefined;
    const profile: Profile = {};
    let role = current?.role as Role | undefined;
    let status = current?.status ?? (current ? "active" : undefined);
    const memberships = new Map<string, boolean>();
    // Changes for a member not created yet wait for an invite later in the same batch: FIFO
    // delivers a retried change together with the events queued behind it for the same member.
    const waiting: number[] = [];

    for (const [index, { command }] of items.entries()) {
      if (fold.stopped) break;
      const exists = knownId !== undefined || invite !== undefined;
      const before = JSON.stringify([invite, profile, role, status, [...memberships]]);
      switch (command.kind) {
        case "member.upsert": {
          if (!exists && !command.invite) {
            waiting.push(index);
            continue;
          }
          if (!exists) {
            const { firstName, lastName } = { ...profile, ...command.profile };
            if (!firstName || !lastName) {
              fold.fail(
                index,
                new CannotCreateError(`cannot invite ${email}: Tallyfy needs firstName and lastName`),
              );
              continue;
            }
            role = command.role ? changeRole(config.defaultRole, command.role) : config.defaultRole;
            for (const earlier of waiting) {
              const waited = items[earlier]?.command;
              if (waited?.kind !== "member.upsert") continue;
              if (waited.role) role = changeRole(role, waited.role);
              for (const m of waited.memberships ?? []) memberships.set(m.group, m.present);
            }
            invite = { email, firstName, lastName, role, message: config.inviteMessage };
            status = "invited";
          }
          Object.assign(profile, command.profile);
          if (command.role && role !== undefined) role = changeRole(role as Role, command.role);
          else if (command.role && "set" in command.role) role = command.role.set;
          for (const m of command.memberships ?? []) memberships.set(m.group, m.present);
          break;
        }
        case "member.deactivate":
          if (!exists) {
            fold.ignore(index, "no Tallyfy member with this email");
            continue;
          }
          status = command.mode === "remove" ? "removed" : "disabled";
          break;
        case "member.reactivate":
          if (!exists) {
            fold.ignore(index, "no Tallyfy member with this email");
            continue;
          }
          if (status === "disabled") status = "active";
          break;
        default: {
          fold.fail(index, new UnexpectedCommandError(command.kind));
          continue;
        }
      }
      fold.include(index, before !== JSON.stringify([invite, profile, role, status, [...memberships]]));
    }
    for (const index of waiting) {
      if (invite) fold.include(index, true);
      else fold.defer(index, new MemberNotFoundError(email));
    }
    if (fold.included.length === 0) return fold.done();

    try {
      if (knownId === undefined && invite) {
        if (status === "removed") return fold.done();
        try {
          const pending = invite;
          let invited: Member | undefined;
          await this.#write(fold, "members.invite", async () => {
            invited = await client.members.invite(pending, opts);
          });
          current = invited;
        } catch (error) {
          // 422 "taken": the member exists but the directory did not know yet. Reload and reconcile once more.
          if (
            !retriedInvite &&
            error instanceof TallyfyApiError &&
            error.status === 422 &&
            /taken|exist/i.test(error.message)
          ) {
            await directory.reload(opts);
            return await this.#member(items, opts, true);
          }
          throw error;
        }
        if (!current) {
          await directory.reload(opts);
          const id = await directory.idOf(email, opts);
          current = id === undefined ? undefined : await client.members.get(id, opts);
        }
        if (!current) throw new MemberNotFoundError(email);
        directory.remember(email, current.id);
        current = { ...current, groups: [] };
      }
      if (current) await this.#writeMember(fold, current, profile, role, status, opts);
      const id = current?.id ?? knownId;
      if (id !== undefined && status !== "removed") {
        await this.#sendFollowUps(
          fold,
          membershipFollowUps(items, memberships, { email, id, groups: current?.groups }),
        );
      }
    } catch (error) {
      if (!isTransient(error) && fold.included.length > 1) throw new SharedWriteError(error);
      fold.failIncluded(error);
    }
    return fold.done();
  }

  async #readMember(email: string, withGroups: boolean, opts: CallOptions): Promise<Member | undefined> {
    const { client, directory } = this.deps;
    const id = await directory.idOf(email, opts);
    if (id === undefined) return undefined;
    try {
      return await client.members.get(id, { ...opts, withGroups });
    } catch (error) {
      if (!(error instanceof TallyfyApiError) || error.status !== 404) throw error;
      // Removed since the directory was loaded: look again with a fresh list.
      directory.forget(email);
      const fresh = await directory.idOf(email, opts);
      return fresh === undefined ? undefined : await client.members.get(fresh, { ...opts, withGroups });
    }
  }

  async #writeMember(
    fold: Fold,
    current: Member,
    profile: Profile,
    role: Role | undefined,
    status: string | undefined,
    opts: CallOptions,
  ) {
    const { client } = this.deps;
    const write = (operation: string, call: () => Promise<unknown>) => this.#write(fold, operation, call);
    if (status === "removed") {
      if (current.status !== "removed")
        await write("members.remove", () => client.members.remove(current.id, undefined, opts));
      return;
    }
    if (status === "active" && current.status === "disabled") {
      await write("members.enable", () => client.members.enable(current.id, opts));
    }
    const changed = PROFILE_FIELDS.filter(
      (field) => profile[field] !== undefined && profile[field] !== current[field],
    );
    if (changed.length > 0) {
      // Tallyfy requires these three on every profile PUT; unchanged ones come from the current state.
      const firstName = profile.firstName ?? current.firstName;
      const lastName = profile.lastName ?? current.lastName;
      if (!firstName || !lastName)
        throw new CannotCreateError(
          `cannot update ${current.email}: Tallyfy has no name for it and the event gave none`,
        );
      await write("members.updateProfile", () =>
        client.members.updateProfile(
          current.id,
          {
            firstName,
            lastName,
            timezone: profile.timezone ?? current.timezone ?? "UTC",
            phone: profile.phone ?? current.phone,
            jobTitle: profile.jobTitle ?? current.jobTitle,
            jobDescription: profile.jobDescription ?? current.jobDescription,
            team: profile.team ?? current.team,
          },
          opts,
        ),
      );
    }
    if (role !== undefined && role !== current.role) {
      await write("members.updateRole", () => client.members.updateRole(current.id, role, opts));
    }
    if (status === "disabled" && current.status !== "disabled") {
      await write("members.disable", () => client.members.disable(current.id, opts));
    }
  }

  // ---- guests ------------------------------------------------------------------------------

  async #guest(items: readonly WorkItem[], opts: CallOptions): Promise<ItemResult[]> {
    const { client } = this.deps;
    const email = emailOf(items[0]?.command);
    const current = await client.guests.findByEmail(email, opts);
    const fold = new Fold(items);
    let create: GuestCreate | undefined;
    let state = (current ? (current.disabled ? "disabled" : "active") : undefined) as GuestState | undefined;
    const memberships = new Map<string, boolean>();
    const waiting: number[] = [];

    for (const [index, { command }] of items.entries()) {
      if (fold.stopped) break;
      const exists = current !== undefined || create !== undefined;
      const before = JSON.stringify([create, state, [...memberships]]);
      switch (command.kind) {
        case "guest.upsert":
          if (!exists && !command.create) {
            waiting.push(index);
            for (const m of command.memberships ?? []) memberships.set(m.group, m.present);
            continue;
          }
          if (!exists) {
            create = { email, ...pickGuestProfile(command.profile) };
            state = "active";
          } else if (current && guestProfileDiffers(current, command.profile)) {
            this.deps.onWarning?.(
              "guest profile differs, but Tallyfy's API cannot change a guest's profile",
              command,
            );
          }
          for (const m of command.memberships ?? []) memberships.set(m.group, m.present);
          break;
        case "guest.deactivate":
          if (!exists) {
            fold.ignore(index, "no Tallyfy guest with this email");
            continue;
          }
          state = command.mode === "remove" ? "removed" : "disabled";
          break;
        case "guest.reactivate":
          if (!exists) {
            fold.ignore(index, "no Tallyfy guest with this email");
            continue;
          }
          if (state === "disabled") state = "active";
          break;
        default: {
          fold.fail(index, new UnexpectedCommandError(command.kind));
          continue;
        }
      }
      fold.include(index, before !== JSON.stringify([create, state, [...memberships]]));
    }
    for (const index of waiting) {
      if (create) fold.include(index, true);
      else fold.defer(index, new MemberNotFoundError(email, "guest"));
    }
    if (fold.included.length === 0) return fold.done();

    try {
      const write = (operation: string, call: () => Promise<unknown>) => this.#write(fold, operation, call);
      if (!current && create && state !== "removed")
        await write("guests.create", () => client.guests.create(create as GuestCreate, opts));
      const wasDisabled = current?.disabled ?? false;
      if (current && state === "removed")
        await write("guests.delete", () => client.guests.delete(email, opts));
      if (current && state === "disabled" && !wasDisabled)
        await write("guests.disable", () => client.guests.disable(email, opts));
      if (current && state === "active" && wasDisabled)
        await write("guests.enable", () => client.guests.enable(email, opts));
      if (state !== "removed")
        await this.#sendFollowUps(fold, membershipFollowUps(items, memberships, { email }));
    } catch (error) {
      if (!isTransient(error) && fold.included.length > 1) throw new SharedWriteError(error);
      fold.failIncluded(error);
    }
    return fold.done();
  }

  // ---- groups ------------------------------------------------------------------------------

  async #group(
    items: readonly WorkItem[],
    opts: CallOptions,
    snapshot?: GroupSnapshot,
  ): Promise<ItemResult[]> {
    const { client, directory, config } = this.deps;
    const target = items[0]?.command.kind.startsWith("group.")
      ? (items[0].command as { group: string }).group
      : "";
    // A snapshot lists every group, so a group absent from it does not exist.
    const current = snapshot
      ? snapshot.get(target.trim().toLowerCase())
      : await this.#findGroup(target, opts);
    const fold = new Fold(items);
    if (!current && !config.createMissingGroups) {
      items.forEach((_, index) => {
        if (!fold.stopped) fold.fail(index, new GroupNotFoundError(target));
      });
      return fold.done();
    }
    let name = current?.name ?? target;
    let description = current?.description ?? "";
    const members = [...(current?.members ?? [])];
    const guests = [...(current?.guests ?? [])];

    for (const [index, { command }] of items.entries()) {
      if (fold.stopped) break;
      const before = JSON.stringify([name, description, members, guests]);
      if (command.kind === "group.membership" && command.who === "member") {
        const id = command.memberId ?? (await directory.idOf(command.email, opts));
        if (id === undefined) {
          if (command.present) fold.defer(index, new MemberNotFoundError(command.email));
          else fold.include(index, false);
          continue;
        }
        const at = members.indexOf(id);
        if (command.present && at < 0) members.push(id);
        if (!command.present && at >= 0) members.splice(at, 1);
      } else if (command.kind === "group.membership") {
        const at = guests.findIndex((g) => g.toLowerCase() === command.email.toLowerCase());
        if (command.present && at < 0) guests.push(command.email);
        if (!command.present && at >= 0) guests.splice(at, 1);
      } else if (command.kind === "group.update") {
        if (command.name !== undefined) name = command.name;
        if (command.description !== undefined) description = command.description;
      } else {
        fold.fail(index, new UnexpectedCommandError(command.kind));
        continue;
      }
      fold.include(index, before !== JSON.stringify([name, description, members, guests]));
    }
    const changed = fold.included.some((index) => fold.results[index]?.status === "applied");
    if (!changed && current) return fold.done();

    try {
      const body = { name, description, members, guests };
      if (current) {
        await this.#write(fold, "groups.update", () => client.groups.update(current.id, body, opts));
      } else {
        if (/^[0-9a-f]{32}$/i.test(target)) throw new GroupNotFoundError(target);
        await this.#write(fold, "groups.create", async () => {
          const created = await client.groups.create(body, opts);
          if (created) this.#groupIds.set(target.toLowerCase(), created.id);
        });
      }
    } catch (error) {
      if (!isTransient(error) && fold.included.length > 1) throw new SharedWriteError(error);
      fold.failIncluded(error);
    }
    return fold.done();
  }

  /** A mapped group by 32-hex id or by name; name -> id is cached because ids never change. */
  async #findGroup(target: string, opts: CallOptions): Promise<Group | undefined> {
    const { client } = this.deps;
    const key = target.toLowerCase();
    const id = /^[0-9a-f]{32}$/i.test(target) ? target.toLowerCase() : this.#groupIds.get(key);
    if (id !== undefined) {
      try {
        return await client.groups.get(id, opts);
      } catch (error) {
        if (!(error instanceof TallyfyApiError) || error.status !== 404) throw error;
        this.#groupIds.delete(key);
        if (/^[0-9a-f]{32}$/i.test(target)) return undefined;
      }
    }
    const found = await client.groups.findByName(target, opts);
    if (found) this.#groupIds.set(key, found.id);
    return found;
  }
}

/**
 * Group changes go to the groups' own FIFO message groups, as commands of the same event, with
 * the member id so the group step need not look it up. When the member's current groups are
 * known (read with `with=groups`), only differences are sent; otherwise every listed group is
 * told and the group step skips what already holds.
 */
function membershipFollowUps(
  items: readonly WorkItem[],
  memberships: Map<string, boolean>,
  who: { readonly email: string; readonly id?: number; readonly groups?: Member["groups"] },
): Command[] {
  const source = items.at(-1)?.command;
  if (!source) return [];
  const { groups } = who;
  return [...memberships]
    .filter(
      ([group, present]) =>
        !groups || groups.some((g) => g.id === group || sameGroup(g.name, group)) !== present,
    )
    .map(([group, present]) => ({
      v: COMMAND_VERSION,
      eventId: source.eventId,
      eventType: source.eventType,
      time: source.time,
      kind: "group.membership" as const,
      group,
      email: who.email,
      who: who.id === undefined ? ("guest" as const) : ("member" as const),
      present,
      memberId: who.id,
    }));
}

type GuestState = "active" | "disabled" | "removed";

function emailOf(command: Command | undefined): string {
  return command && "email" in command ? command.email : "";
}

function changeRole(current: Role, change: RoleChange): Role {
  if ("set" in change) return change.set;
  if ("atLeast" in change) return higherRole(current, change.atLeast);
  return current === change.demoteFrom ? change.to : current;
}

function pickGuestProfile(profile: Profile): Omit<GuestCreate, "email"> {
  return {
    firstName: profile.firstName,
    lastName: profile.lastName,
    phone: profile.phone,
    timezone: profile.timezone,
  };
}

function guestProfileDiffers(guest: Guest, profile: Profile): boolean {
  const wanted = pickGuestProfile(profile);
  return (Object.keys(wanted) as (keyof typeof wanted)[]).some(
    (key) => wanted[key] !== undefined && wanted[key] !== guest[key],
  );
}
