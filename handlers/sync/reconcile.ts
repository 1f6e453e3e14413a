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
import { isTransient, SyncError } from "../errors.js";
import type { CallOptions, GuestCreate, MemberInvite, TallyfyClient } from "../tallyfy/client.js";
import { TallyfyApiError } from "../tallyfy/errors.js";
import type { Group, Guest, Member, Role } from "../tallyfy/schemas.js";
import { COMMAND_VERSION, type Command, PROFILE_FIELDS, type Profile, type RoleChange } from "./commands.js";
import { higherRole, type SyncConfig, sameGroup } from "./config.js";
import type { MemberDirectory } from "./directory.js";
import type { CommandQueue } from "./queues.js";

/** Tallyfy has no member with this email (yet). Transient: its `user.created` may still be on the way. */
export class MemberNotFoundError extends SyncError {
  public readonly transient = true;

  public constructor(email: string) {
    super(`no Tallyfy member has the email ${email}; it is invited by a user.created or user.updated event`);
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
  | { readonly status: "skipped" };

export interface ReconcilerDeps {
  readonly client: TallyfyClient;
  readonly directory: MemberDirectory;
  readonly followUps: CommandQueue;
  readonly config: SyncConfig;
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

export class Reconciler {
  readonly #groupIds = new Map<string, string>();

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

  /** Applies one entity's commands, in order; returns one result per item. */
  public async apply(items: readonly WorkItem[], deadline?: number): Promise<ItemResult[]> {
    const first = items[0]?.command;
    if (!first) return [];
    const opts: CallOptions = { deadline };
    try {
      if (first.kind.startsWith("member.")) return await this.#member(items, opts);
      if (first.kind.startsWith("guest.")) return await this.#guest(items, opts);
      return await this.#group(items, opts);
    } catch (error) {
      if (!(error instanceof SharedWriteError)) throw error;
      // Apply one at a time so the command Tallyfy refused is the only one dead-lettered.
      const results: ItemResult[] = [];
      let skipping = false;
      for (const item of items) {
        const [result] = skipping ? [{ status: "skipped" as const }] : await this.apply([item], deadline);
        const outcome = result ?? { status: "skipped" as const };
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
    const withGroups = items.some((i) => i.command.kind === "member.upsert" && i.command.memberships);
    let current = await this.#readMember(email, withGroups, opts);

    const fold = new Fold(items);
    let invite: MemberInvite | undefined;
    const profile: Profile = {};
    let role = current?.role as Role | undefined;
    let status = current?.status ?? (current ? "active" : undefined);
    const memberships = new Map<string, boolean>();

    for (const [index, { command }] of items.entries()) {
      if (fold.stopped) break;
      const exists = current !== undefined || invite !== undefined;
      const before = JSON.stringify([invite, profile, role, status, [...memberships]]);
      switch (command.kind) {
        case "member.upsert": {
          if (!exists) {
            if (!command.invite) {
              fold.fail(index, new MemberNotFoundError(email));
              continue;
            }
            const { firstName, lastName } = { ...profile, ...command.profile };
            if (!firstName || !lastName) {
              fold.fail(
                index,
                new CannotCreateError(`cannot invite ${email}: Tallyfy needs firstName and lastName`),
              );
              continue;
            }
            const inviteRole = command.role
              ? changeRole(config.defaultRole, command.role)
              : config.defaultRole;
            invite = { email, firstName, lastName, role: inviteRole, message: config.inviteMessage };
            role = inviteRole;
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
    if (fold.included.length === 0) return fold.done();

    try {
      if (!current && invite) {
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
      }
      if (!current) return fold.done();
      await this.#writeMember(fold, current, profile, role, status, opts);
      await this.#sendFollowUps(
        fold,
        membershipFollowUps(items, memberships, {
          email,
          member: { ...current, groups: current.groups ?? [] },
        }),
      );
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

    for (const [index, { command }] of items.entries()) {
      if (fold.stopped) break;
      const exists = current !== undefined || create !== undefined;
      const before = JSON.stringify([create, state, [...memberships]]);
      switch (command.kind) {
        case "guest.upsert":
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

  async #group(items: readonly WorkItem[], opts: CallOptions): Promise<ItemResult[]> {
    const { client, directory, config } = this.deps;
    const target = items[0]?.command.kind.startsWith("group.")
      ? (items[0].command as { group: string }).group
      : "";
    const current = await this.#findGroup(target, opts);
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
          if (command.present) fold.fail(index, new MemberNotFoundError(command.email));
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
 * Group changes go to the groups' own FIFO message groups, as commands of the same event.
 * A member's current groups are known (read with `with=groups`), so only differences are sent,
 * with the member id so the group step need not look it up. Tallyfy cannot list a guest's
 * groups, so a guest's every mapped group is told and the group step skips what already holds.
 */
function membershipFollowUps(
  items: readonly WorkItem[],
  memberships: Map<string, boolean>,
  who: { readonly email: string; readonly member?: Member },
): Command[] {
  const source = items.at(-1)?.command;
  if (!source) return [];
  const inGroups = who.member?.groups;
  return [...memberships]
    .filter(
      ([group, present]) =>
        !inGroups || inGroups.some((g) => g.id === group || sameGroup(g.name, group)) !== present,
    )
    .map(([group, present]) => ({
      v: COMMAND_VERSION,
      eventId: source.eventId,
      eventType: source.eventType,
      time: source.time,
      kind: "group.membership" as const,
      group,
      email: who.member?.email ?? who.email,
      who: who.member ? ("member" as const) : ("guest" as const),
      present,
      memberId: who.member?.id,
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
