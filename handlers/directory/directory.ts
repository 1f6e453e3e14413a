/**
 * The desired-state directory: one DynamoDB table holding what the identity sources say should be
 * true, and what the reconciler last made true.
 *
 * Items (partition key `pk`, sort key `sk`, which is `-` for every item but the index's):
 * - `person#<email>`: the person's facts with their versions (core/desired-state.ts), their
 *   memberships, `revision` (bumped on every change a reconcile acts on), `reconciled` (the
 *   revision and configuration last applied to Tallyfy), and the Tallyfy ids learnt on the way.
 *   Memberships live in the person's item so one conditional write merges a whole event.
 * - `idpgroup#<IdP group>` / `<email>`: one item for everyone who was ever present in the group,
 *   or is absent from it and was found in its Tallyfy group: the index a group reconcile queries.
 *   Only ever added to, before the person is written; one small item each, so a group of any size
 *   fits.
 * - `link#<source>#<source's user id>`: the email the source's user was provisioned under, so a
 *   deletion can be resolved without trusting the event's own claims.
 * - `group#<Tallyfy group id, or name:<mapped name>>`: the group's revision, what was reconciled,
 *   and for a mapped name its resolved id and the `group.updated` facts.
 * - `brake#<source>` and `hold` / `<email>`: the departure brake's windows and holds (holds.ts).
 * - `lease#<email>`: which reconcile of the person runs now, until when.
 * - `schedule#<budget>`: the next free slot of a rate budget the containers share (shared-schedule.ts).
 *
 * Every read the reconciler decides on is consistent; writes are optimistic, conditioned on the
 * revision read, and a conflict reads and merges again.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { DIRECTORY_KEYS as KEYS } from "../contracts/directory-keys.js";
import type { CoreConfig } from "../core/config.js";
import {
  type EventSource,
  membershipKey,
  mergeEvent,
  mergeGroupFacts,
  personKey,
  takesAccessAway,
  type Version,
} from "../core/desired-state.js";
import { SyncError } from "../core/errors.js";
import type { IdentityEvent } from "../core/identity-event.js";
import type { SourceState } from "../core/source.js";
import { written } from "./conditional.js";
import { DepartureHolds } from "./holds.js";
import { itemsUnder } from "./partition.js";
import {
  type GroupRecord,
  type PersonRecord,
  type Reconciled,
  versionsMoved,
  withoutFacts,
} from "./records.js";
import { SharedSchedule, type SharedScheduleOptions } from "./shared-schedule.js";
import { sourceState } from "./source-state.js";

export type { GroupRecord, PersonRecord, Reconciled } from "./records.js";

/**
 * How long a queued group reconcile that has not started is trusted to start. A reconcile that
 * never starts (dead-lettered unread: the configuration was invalid) stops being trusted after
 * this, and the next change sends another.
 */
export const PENDING_GROUP_TRUST_MS = 5 * 60_000;

/** The directory kept failing to take a write because others kept changing the item. Transient. */
export class DirectoryConflictError extends SyncError {
  public readonly transient = true;
}

const MAX_ATTEMPTS = 8;

/** The sort key of every item but the index's. */
const ITEM = "-";

export class Directory {
  /** The departure brake's windows and holds. */
  public readonly holds: DepartureHolds;

  public constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Index items per query page. @default DynamoDB's own page (1 MB) */
    private readonly pageSize?: number,
  ) {
    this.holds = new DepartureHolds(db, tableName, (emails) => this.people(emails));
  }

  /** The timeline every container calling an API with the same budget books its requests on. */
  public schedule(budget: string, options?: SharedScheduleOptions): SharedSchedule {
    return new SharedSchedule(this.db, this.tableName, budget, options);
  }

  /**
   * Merges an event about a person. Returns the person's revision after it, bumped only when the
   * event changed something a reconcile acts on; an old or repeated event leaves it as it was.
   */
  public async record(
    event: IdentityEvent,
    config: CoreConfig,
    /** The source it came through; a confined one may not change people other sources provide. */
    source?: EventSource,
  ): Promise<{
    readonly email: string;
    readonly revision: number;
    readonly changed: boolean;
    /** The change takes access away (a departure, a demotion from admin): see `takesAccessAway`. */
    readonly urgent: boolean;
  }> {
    const email = personKey(event.user?.email ?? "");
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.person(email);
      const { person, changed } = mergeEvent(current, event, config, source);
      const revision = (current?.revision ?? 0) + (changed ? 1 : 0);
      // The index first: a group reconcile must find everyone the group should have. An absence
      // is indexed only once the person was present, or when a reconcile finds them in the Tallyfy
      // group (indexAbsences): indexing every absence a full group list implies made each group's
      // reconcile read the whole organization.
      const before = current?.memberships ?? {};
      for (const [key, membership] of Object.entries(person.memberships)) {
        if (membership.value && !(Object.hasOwn(before, key) && before[key]?.value)) {
          await this.#index(key, email);
        }
      }
      // A departure not applied yet stays urgent: an event retried after its first send failed
      // changes nothing, and must not lose its lane.
      const pending = person.status?.value === "inactive" && (current?.reconciled?.revision ?? -1) < revision;
      const urgent = (changed && takesAccessAway(current, person, config)) || pending;
      if (!changed && !versionsMoved(current, person)) return { email, revision, changed, urgent };
      // A hold (and its decision) is about one departure: a person back is out of it, even when
      // they leave again before a reconcile reads the return.
      const { departureHold, ...kept } = withoutFacts(current);
      const held = person.status?.value === "inactive" && departureHold ? { departureHold } : {};
      const written = await this.#putIfUnchanged({
        // What the directory keeps beside the facts (reconciled, etag), then the merged facts:
        // a fact the merge dropped (a source taking a person over) must not come back.
        ...kept,
        ...held,
        ...person,
        revision,
        pk: `${KEYS.person}${email}`,
        sk: ITEM,
      });
      if (written) return { email, revision, changed, urgent };
    }
    throw new DirectoryConflictError(`person ${email} kept changing while this event was merged`);
  }

  /**
   * Indexes the person under IdP groups they are absent from, so the reconcile of a Tallyfy group
   * they are still in (added by hand, or before this sync) finds them and takes them out.
   */
  public async indexAbsences(email: string, idpGroupKeys: readonly string[]): Promise<void> {
    for (const key of idpGroupKeys) await this.#index(key, personKey(email));
  }

  /** The person's newest desired state (a consistent read), or undefined when no source named them. */
  public async person(email: string): Promise<PersonRecord | undefined> {
    return (await this.#get(`${KEYS.person}${personKey(email)}`)) as PersonRecord | undefined;
  }

  public async people(emails: readonly string[]): Promise<PersonRecord[]> {
    const found: PersonRecord[] = [];
    const keys = [...new Set(emails.map(personKey))];
    for (let start = 0; start < keys.length; start += 100) {
      let request: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead: boolean }> | undefined =
        {
          [this.tableName]: {
            Keys: keys.slice(start, start + 100).map((email) => ({ pk: `${KEYS.person}${email}`, sk: ITEM })),
            ConsistentRead: true,
          },
        };
      while (request && Object.keys(request).length > 0) {
        const result = await this.db.send(new BatchGetCommand({ RequestItems: request }));
        found.push(...((result.Responses?.[this.tableName] ?? []) as PersonRecord[]));
        request = result.UnprocessedKeys as typeof request;
      }
    }
    return found;
  }

  /**
   * Notes what a reconcile learnt of Tallyfy and, when given, what it applied. `reconciled` never
   * moves back: a slower reconcile of an older revision leaves a newer one's note alone.
   */
  public async personReconciled(
    email: string,
    reconciled: Reconciled | undefined,
    learnt: Partial<Pick<PersonRecord, "memberId" | "hadGuest" | "requestedGroups" | "departureAdmitted">>,
  ): Promise<void> {
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    for (const [name, value] of Object.entries(learnt)) {
      if (value === undefined) continue;
      sets.push(`${name} = :${name}`);
      values[`:${name}`] = value;
    }
    let condition = "attribute_exists(pk)";
    if (reconciled) {
      sets.push("reconciled = :r");
      values[":r"] = reconciled;
      values[":rev"] = reconciled.revision;
      condition += " AND (attribute_not_exists(reconciled) OR reconciled.revision <= :rev)";
    }
    if (sets.length === 0) return;
    await this.#update(`${KEYS.person}${personKey(email)}`, `SET ${sets.join(", ")}`, condition, values);
  }

  /**
   * Takes the person's reconcile lease until `until` (epoch ms): false while another reconcile
   * holds it. The two lanes (reconcile and departures) each see a person's messages in order, but
   * not each other's; the lease keeps one reconcile of a person at a time, as one FIFO queue did.
   * Its own item, so taking it never makes a merge of the person's facts retry.
   */
  public async leasePerson(email: string, owner: string, until: number, now: number): Promise<boolean> {
    return written(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `${KEYS.lease}${personKey(email)}`, sk: ITEM },
          UpdateExpression: "SET #owner = :owner, #until = :until",
          ConditionExpression: "attribute_not_exists(#until) OR #until < :now OR #owner = :owner",
          ExpressionAttributeNames: { "#owner": "owner", "#until": "until" },
          ExpressionAttributeValues: { ":owner": owner, ":until": until, ":now": now },
        }),
      ),
    );
  }

  /** Gives the lease back, if `owner` still holds it. */
  public async releasePerson(email: string, owner: string): Promise<void> {
    await written(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `${KEYS.lease}${personKey(email)}`, sk: ITEM },
          UpdateExpression: "SET #until = :zero",
          ConditionExpression: "#owner = :owner",
          ExpressionAttributeNames: { "#owner": "owner", "#until": "until" },
          ExpressionAttributeValues: { ":owner": owner, ":zero": 0 },
        }),
      ),
    );
  }

  /**
   * The member id this sync stored is gone from Tallyfy: drop it and bump the revision, so the
   * person is reconciled again. Returns the new revision.
   */
  public async forgetMemberId(email: string): Promise<number> {
    const result = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `${KEYS.person}${personKey(email)}`, sk: ITEM },
        UpdateExpression: "REMOVE memberId ADD revision :one, etag :one",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeValues: { ":one": 1 },
        ReturnValues: "UPDATED_NEW",
      }),
    );
    return Number(result.Attributes?.revision ?? 0);
  }

  /**
   * Asks for another reconcile of the person although nothing in the directory changed (Tallyfy
   * drifted: a member edited by hand). Returns the new revision, or undefined for nobody.
   */
  public async touchPerson(email: string): Promise<number | undefined> {
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `${KEYS.person}${personKey(email)}`, sk: ITEM },
          UpdateExpression: "ADD revision :one, etag :one",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":one": 1 },
          ReturnValues: "UPDATED_NEW",
        }),
      );
      return Number(result.Attributes?.revision ?? 0);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /**
   * A full reconciliation's listing has the source's user: links them as {@link link} does (the
   * first link is kept) and notes the run that saw them, in one write. Returns the linked email.
   */
  public async listed(source: string, userId: string, email: string, runId: string): Promise<string> {
    const result = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: linkKey(source, userId), sk: ITEM },
        UpdateExpression: "SET email = if_not_exists(email, :e), seen = :run ADD etag :one",
        ExpressionAttributeValues: { ":e": personKey(email), ":run": runId, ":one": 1 },
        ReturnValues: "ALL_NEW",
      }),
    );
    return String(result.Attributes?.email ?? personKey(email));
  }

  /** Everyone the directory has a membership for, present or absent, in any of these IdP groups. */
  public async membersOfIdpGroups(idpGroups: readonly string[]): Promise<PersonRecord[]> {
    const emails = new Set<string>();
    for (const group of new Set(idpGroups.map(membershipKey))) {
      const index = itemsUnder(this.db, this.tableName, `${KEYS.idpGroup}${group}`, {
        projection: "sk",
        pageSize: this.pageSize,
      });
      for await (const item of index) emails.add(item.sk as string);
    }
    return this.people([...emails]);
  }

  /**
   * Links a source's user id to the email it was provisioned under; the first link is kept.
   * Returns the linked email, and the other email last reported as an email change, if any.
   */
  public async link(
    source: string,
    userId: string,
    email: string,
  ): Promise<{ readonly email: string; readonly reported?: string }> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: linkKey(source, userId), sk: ITEM, email: personKey(email) },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return { email: personKey(email) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const item = await this.#get(linkKey(source, userId));
      return {
        email: (item?.email as string | undefined) ?? personKey(email),
        reported: item?.reported as string | undefined,
      };
    }
  }

  /**
   * Claims the report of a change of the linked user's email to `email`: true for exactly one
   * caller, however many messages carry the change at once, so it is reported once.
   */
  public async claimEmailChangeReport(source: string, userId: string, email: string): Promise<boolean> {
    return written(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: linkKey(source, userId), sk: ITEM },
          UpdateExpression: "SET reported = :e ADD etag :one",
          ConditionExpression: "attribute_exists(pk) AND (attribute_not_exists(reported) OR reported <> :e)",
          ExpressionAttributeValues: { ":e": personKey(email), ":one": 1 },
        }),
      ),
    );
  }

  /** Gives a claimed report back when it could not be sent, so the retry reports it. */
  public async releaseEmailChangeReport(source: string, userId: string, email: string): Promise<void> {
    await this.#update(linkKey(source, userId), "REMOVE reported", "reported = :e", {
      ":e": personKey(email),
    });
  }

  /** A source's own small state (delta links, subscriptions), kept beside its links. */
  public state(source: string): SourceState {
    return sourceState(this.db, this.tableName, source);
  }

  public async linkedEmail(source: string, userId: string): Promise<string | undefined> {
    return (await this.#get(linkKey(source, userId)))?.email as string | undefined;
  }

  /** A group's record: revision, what was reconciled, and for a name its id and facts. */
  public async group(key: string): Promise<GroupRecord | undefined> {
    const item = await this.#get(`${KEYS.group}${key}`);
    return item && { ...(item as unknown as GroupRecord), key };
  }

  /**
   * Asks for another reconcile of the group: returns the revision to put in the message, and
   * whether a reconcile already queued has yet to start. That one will read this change (it reads
   * the desired state after it starts), so no message need be sent: a burst of changes to one
   * group costs one reconcile, not one each.
   */
  public async touchGroup(key: string, now = Date.now()): Promise<{ revision: number; pending: boolean }> {
    const result = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `${KEYS.group}${key}`, sk: ITEM },
        UpdateExpression: "ADD revision :one, etag :one",
        ExpressionAttributeValues: { ":one": 1 },
        ReturnValues: "ALL_NEW",
      }),
    );
    const item = (result.Attributes ?? {}) as Partial<GroupRecord>;
    const queued = Number(item.queued ?? 0);
    const pending =
      queued > Number(item.started ?? 0) && now - Number(item.queuedAt ?? 0) < PENDING_GROUP_TRUST_MS;
    return { revision: Number(item.revision ?? 1), pending };
  }

  /** A reconcile message for `revision` is on the queue (noted after the send, never before). */
  public async groupQueued(key: string, revision: number, now = Date.now()): Promise<void> {
    await this.#update(
      `${KEYS.group}${key}`,
      "SET queued = :rev, queuedAt = :now",
      "attribute_not_exists(queued) OR queued < :rev",
      { ":rev": revision, ":now": now },
    );
  }

  /**
   * A reconcile of the group starts: notes the revision it reads at, before it reads the members,
   * so a change after this sends a message of its own. Returns the group as of the note.
   */
  public async startGroup(key: string): Promise<GroupRecord> {
    const result = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `${KEYS.group}${key}`, sk: ITEM },
        UpdateExpression: "SET started = if_not_exists(revision, :zero) ADD etag :one",
        ExpressionAttributeValues: { ":one": 1, ":zero": 0 },
        ReturnValues: "ALL_NEW",
      }),
    );
    const { pk: _pk, sk: _sk, ...item } = result.Attributes ?? {};
    return { revision: 0, ...(item as Partial<GroupRecord>), key };
  }

  /** Merges a `group.updated`'s facts for a mapped name; returns the group's revision after it. */
  public async recordGroupFacts(
    key: string,
    update: { readonly name?: string; readonly description?: string },
    v: Version,
  ): Promise<number> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.group(key);
      const { facts, changed } = mergeGroupFacts(current?.facts, update, v);
      const revision = (current?.revision ?? 0) + (changed ? 1 : 0);
      // A newer version of the same value is kept too, so an older event can no longer win.
      if (!changed && JSON.stringify(facts) === JSON.stringify(current?.facts ?? {})) return revision;
      const { key: _key, ...item } = current ?? ({} as Partial<GroupRecord>);
      const written = await this.#putIfUnchanged({
        ...item,
        pk: `${KEYS.group}${key}`,
        sk: ITEM,
        facts,
        revision,
      });
      if (written) return revision;
    }
    throw new DirectoryConflictError(`group ${key} kept changing while its update was merged`);
  }

  /** Keeps the Tallyfy group id a mapped name resolved to: a later rename never breaks the mapping. */
  public async resolveGroup(key: string, groupId: string): Promise<void> {
    await this.#update(`${KEYS.group}${key}`, "SET groupId = :id", undefined, { ":id": groupId });
  }

  /** The resolved group is gone from Tallyfy: the name is looked up again next time. */
  public async forgetGroupId(key: string): Promise<void> {
    await this.#update(`${KEYS.group}${key}`, "REMOVE groupId", "attribute_exists(pk)", {});
  }

  public async groupReconciled(key: string, reconciled: Reconciled): Promise<void> {
    await this.#update(
      `${KEYS.group}${key}`,
      "SET reconciled = :r",
      "attribute_not_exists(reconciled) OR reconciled.revision <= :rev",
      { ":r": reconciled, ":rev": reconciled.revision },
    );
  }

  async #get(pk: string): Promise<Record<string, unknown> | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk, sk: ITEM }, ConsistentRead: true }),
    );
    return result.Item;
  }

  async #index(idpGroup: string, email: string): Promise<void> {
    // An update with no expression creates the bare item: the apply function indexes absences too,
    // and it is granted no PutItem.
    await this.db.send(
      new UpdateCommand({ TableName: this.tableName, Key: { pk: `${KEYS.idpGroup}${idpGroup}`, sk: email } }),
    );
  }

  /**
   * Puts the item if nobody wrote it since it was read: every write bumps `etag`, so this also
   * keeps what a reconcile noted in between.
   */
  async #putIfUnchanged(item: Record<string, unknown>): Promise<boolean> {
    const etag = item.etag as number | undefined;
    return written(
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...item, etag: (etag ?? 0) + 1 },
          ConditionExpression: etag === undefined ? "attribute_not_exists(etag)" : "etag = :etag",
          ExpressionAttributeValues: etag === undefined ? undefined : { ":etag": etag },
        }),
      ),
    );
  }

  async #update(
    pk: string,
    expression: string,
    condition: string | undefined,
    values: Record<string, unknown>,
  ): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk, sk: ITEM },
          UpdateExpression: `${expression} ADD etag :one`,
          ConditionExpression: condition,
          ExpressionAttributeValues: { ...values, ":one": 1 },
        }),
      );
    } catch (error) {
      // A newer reconcile got there first: what it noted stands.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}

function linkKey(source: string, userId: string): string {
  return `${KEYS.link}${source}#${userId}`;
}
