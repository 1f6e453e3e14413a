/**
 * The group side of reconciliation: a mapped Tallyfy group resolved to its id once (created when
 * `createMissingGroups` says so), and each group's member and guest lists written from the
 * directory's people, one read and at most one PUT. People the directory does not manage in a
 * group are left exactly as they are; a person not in Tallyfy yet is left out until their own
 * reconcile creates them and asks for the group again.
 */
import { mappedTallyfyGroups, sameGroup } from "../core/config.js";
import { configFingerprint, groupKeyOf, isGuest, type Version, wantsGroup } from "../core/desired-state.js";
import { SyncError } from "../core/errors.js";
import type { ReconcileMessage } from "../core/reconcile-message.js";
import type { PersonRecord } from "../directory/directory.js";
import type { CallOptions } from "./client.js";
import { TallyfyApiError } from "./errors.js";
import { isReconciled, type ReconcileOutcome, type ReconcilerDeps, Writes } from "./reconcile-outcome.js";
import type { Group } from "./schemas.js";

/** A Tallyfy group id, as a mapping may name the group instead of by name. */
export const GROUP_ID = /^[0-9a-f]{32}$/i;

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

export class GroupReconciler {
  /** Mapped name -> Tallyfy group id. Ids never change, so a resolution is kept for the container's life. */
  readonly #resolved = new Map<string, string>();
  readonly #fingerprint: string;

  public constructor(private readonly deps: ReconcilerDeps) {
    this.#fingerprint = configFingerprint(deps.config);
  }

  /** The Tallyfy group id a mapped name resolved to, when it has been. */
  public async idOf(key: string): Promise<string | undefined> {
    return this.#resolved.get(key) ?? (await this.#knownId(key));
  }

  /**
   * Asks for a reconcile of each mapped group, by id when resolved, unless one is queued and has
   * yet to start: it reads this person's newest state when it does.
   */
  public async askGroups(targets: readonly string[]): Promise<void> {
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

  /** A mapped name: resolve it to the Tallyfy group's id once, keep it, and reconcile the group by id. */
  public async resolve(key: string, opts: CallOptions): Promise<ReconcileOutcome> {
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
    await this.askGroups([id.toLowerCase()]);
    return writes.outcome();
  }

  public async reconcile(id: string, opts: CallOptions): Promise<ReconcileOutcome> {
    const { client, config, directory } = this.deps;
    const seen = await directory.group(id);
    if (isReconciled(seen?.revision ?? 0, seen?.reconciled, this.#fingerprint))
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
    await this.askGroups(names);
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
