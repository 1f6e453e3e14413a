/**
 * The SCIM endpoint's resources, kept in the directory's table beside the desired state
 * (`sources/scim/store.ts` says what each record means). Items:
 * - `scim#users` / `<id>`: a User, and `scim#groups` / `<id>`: a Group with its member ids. One
 *   partition each, so a list is one paginated query.
 * - `scim#username#<lower-cased userName>`: the id holding that userName; a conditional put is
 *   what makes userNames unique.
 * - `scim#memberof#<user id>` / `<group id>`: the user's side of a membership, with the group
 *   version that set it, so deleting a user finds their groups.
 * Every write of a resource is conditional on the version read.
 */

import { randomUUID } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { SCIM_PARTITIONS } from "../contracts/directory-keys.js";
import { written } from "./conditional.js";
import { itemsUnder } from "./partition.js";

/** What the store needs of a User record (`sources/scim/store.ts` has the whole shape). */
export interface StoredUser {
  readonly id: string;
  readonly version: number;
  readonly lastModified: number;
  /** The email the user was first provisioned under: no other user may be given it. */
  readonly email: string;
  readonly deleted?: boolean;
  readonly resource: { readonly userName: string };
}

/** What the store needs of a Group record: its member ids are packed, so 5,000 fit in one item. */
export interface StoredGroup {
  readonly id: string;
  readonly version: number;
  readonly lastModified: number;
  readonly resource: { readonly displayName: string };
  readonly members: readonly string[];
  readonly outbox?: { readonly added: readonly string[]; readonly removed: readonly string[] };
}

/**
 * How a write ended: another write got there first, another resource holds the name, or the
 * resource is larger than a DynamoDB item (400 KB) can hold.
 */
export type NamedWrite = "written" | "conflict" | "taken" | "emailTaken" | "tooLarge";

const USERS = SCIM_PARTITIONS.users;
const GROUPS = SCIM_PARTITIONS.groups;
const ITEM = "-";

/**
 * userNames are unique, ignoring case, and so are the emails users were first provisioned under
 * (Tallyfy keeps a member's email, so the directory keys a person by it): a claim item per name.
 */
const CLAIMS = SCIM_PARTITIONS.userNames;
const EMAIL_CLAIMS = SCIM_PARTITIONS.emails;

/**
 * A claim whose holder does not have the name is stale once it is older than any request can run
 * (the SCIM function's timeout is 25 s): the request that made it stopped between its two writes.
 */
const STALE_CLAIM_MS = 60_000;

/**
 * Implements `ScimStore` (`sources/scim/store.ts`) for records of any shape with these keys: the
 * directory imports nothing of the sources.
 */
export class DynamoScimStore<UserRecord extends StoredUser, GroupRecord extends StoredGroup> {
  public constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  public async user(id: string): Promise<UserRecord | undefined> {
    return (await this.#get(USERS, id)) as UserRecord | undefined;
  }

  public async users(ids: readonly string[]): Promise<UserRecord[]> {
    const keys = [...new Set(ids)].map((id) => ({ pk: USERS, sk: id }));
    const found: UserRecord[] = [];
    for (let start = 0; start < keys.length; start += 100) {
      let request: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead: boolean }> | undefined =
        {
          [this.tableName]: { Keys: keys.slice(start, start + 100), ConsistentRead: true },
        };
      while (request && Object.keys(request).length > 0) {
        const result = await this.db.send(new BatchGetCommand({ RequestItems: request }));
        found.push(
          ...((result.Responses?.[this.tableName] ?? []).map(withoutKeys) as unknown as UserRecord[]),
        );
        request = result.UnprocessedKeys as typeof request;
      }
    }
    return found;
  }

  public async userIdByName(userName: string): Promise<string | undefined> {
    return (await this.#get(claimKey(userName), ITEM))?.id as string | undefined;
  }

  public async allUsers(): Promise<UserRecord[]> {
    return (await this.#query(USERS)) as unknown as UserRecord[];
  }

  public async usersPage(
    after: string | undefined,
    limit: number,
  ): Promise<{ users: UserRecord[]; next?: string }> {
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": USERS },
        ConsistentRead: true,
        Limit: limit,
        ExclusiveStartKey: after === undefined ? undefined : { pk: USERS, sk: after },
      }),
    );
    const users = (page.Items ?? []).map((item) => withoutKeys(item)) as unknown as UserRecord[];
    return { users, next: page.LastEvaluatedKey?.sk as string | undefined };
  }

  /**
   * Writes the user if its version is still `previous`'s (or it is new), claiming a new userName
   * first. A claim this request made is given back when its write did not land and the user does
   * not hold the name; a claim it joined (the same user's concurrent request) is never given back.
   */
  public async putUser(record: UserRecord, previous?: UserRecord): Promise<NamedWrite> {
    const name = record.resource.userName;
    const before = previous?.resource.userName;
    const renamed = before === undefined || normal(before) !== normal(name);
    // Each claim this request makes, with how to tell whether the user holds it after all.
    const made: { key: string; token: string; holds: (u: StoredUser) => boolean }[] = [];
    const claim = async (key: string, holds: (u: StoredUser) => boolean) => {
      const result = await this.#claim(key, record.id, holds);
      if (typeof result === "object") made.push({ key, token: result.token, holds });
      return result !== "taken";
    };
    const giveBack = () =>
      Promise.all(
        made.map((c) => this.#releaseUnused(c.key, record.id, c.token, c.holds).catch(() => undefined)),
      );
    if (renamed && !(await claim(claimKey(name), (u) => same(u.resource.userName, name)))) return "taken";
    if (
      !previous &&
      !(await claim(`${EMAIL_CLAIMS}${normal(record.email)}`, (u) => same(u.email, record.email)))
    ) {
      await giveBack();
      return "emailTaken";
    }
    let done: NamedWrite;
    try {
      // Through JSON: a resource read by zod may hold keys whose value is undefined.
      done = await this.#write(USERS, JSON.parse(JSON.stringify(record)), previous?.version);
    } catch (error) {
      await giveBack();
      throw error;
    }
    if (done === "written" && renamed && before !== undefined)
      await this.#release(claimKey(before), record.id);
    if (done !== "written") await giveBack();
    return done;
  }

  public async userQueued(id: string, version: number): Promise<void> {
    await this.#queued(USERS, id, version);
  }

  public async deleteUser(record: UserRecord): Promise<void> {
    await this.#delete(USERS, record.id, record.version);
    await this.#release(claimKey(record.resource.userName), record.id);
    await this.#release(`${EMAIL_CLAIMS}${normal(record.email)}`, record.id);
  }

  public async group(id: string): Promise<GroupRecord | undefined> {
    const item = await this.#get(GROUPS, id);
    return item && (unpackGroup(item) as unknown as GroupRecord);
  }

  public async allGroups(): Promise<GroupRecord[]> {
    return (await this.#query(GROUPS)).map(unpackGroup) as unknown as GroupRecord[];
  }

  public putGroup(record: GroupRecord, previous?: GroupRecord): Promise<NamedWrite> {
    return this.#write(GROUPS, packGroup(record), previous?.version);
  }

  public async groupQueued(id: string, version: number): Promise<void> {
    await this.#queued(GROUPS, id, version);
  }

  public async deleteGroup(record: GroupRecord): Promise<void> {
    await this.#delete(GROUPS, record.id, record.version);
  }

  public async groupsOf(userId: string): Promise<string[]> {
    const items = await this.#query(`${SCIM_PARTITIONS.memberships}${userId}`);
    return items.filter((item) => item.member === true).map((item) => item.sk as string);
  }

  public async noteMembership(
    userId: string,
    groupId: string,
    member: boolean,
    version: number,
  ): Promise<void> {
    await ignoringConflict(
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: `${SCIM_PARTITIONS.memberships}${userId}`, sk: groupId, member, version },
          ConditionExpression: "attribute_not_exists(pk) OR version <= :v",
          ExpressionAttributeValues: { ":v": version },
        }),
      ),
    );
  }

  async #get(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: true }),
    );
    return result.Item && withoutKeys(result.Item);
  }

  async #query(pk: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    for await (const item of itemsUnder(this.db, this.tableName, pk))
      items.push({ ...withoutKeys(item), sk: item.sk });
    return items;
  }

  /**
   * A conditional put. A condition that fails may be this very write, landed on an attempt whose
   * answer was lost (the SDK retries): the item then holds this write's own random id. (Version
   * and time are not enough: two requests may compute the same of both in one millisecond.)
   */
  async #write(
    pk: string,
    item: Record<string, unknown> & { id: string; version: number },
    previousVersion?: number,
  ): Promise<NamedWrite> {
    const writeId = randomUUID();
    try {
      const done = await written(
        this.db.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...item, pk, sk: item.id, writeId },
            ConditionExpression: previousVersion === undefined ? "attribute_not_exists(pk)" : "version = :v",
            ExpressionAttributeValues: previousVersion === undefined ? undefined : { ":v": previousVersion },
          }),
        ),
      );
      if (done) return "written";
      const stored = await this.#get(pk, item.id);
      return stored?.writeId === writeId ? "written" : "conflict";
    } catch (error) {
      // Retrying cannot make it fit: say so, so the request is refused rather than retried for ever.
      if ((error as Error).name === "ValidationException" && /item size/i.test((error as Error).message)) {
        return "tooLarge";
      }
      throw error;
    }
  }

  async #queued(pk: string, id: string, version: number): Promise<void> {
    await ignoringConflict(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk, sk: id },
          UpdateExpression: "REMOVE outbox",
          ConditionExpression: "version = :v",
          ExpressionAttributeValues: { ":v": version },
        }),
      ),
    );
  }

  async #delete(pk: string, id: string, version: number): Promise<void> {
    await ignoringConflict(
      this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk, sk: id },
          ConditionExpression: "version = :v",
          ExpressionAttributeValues: { ":v": version },
        }),
      ),
    );
  }

  /**
   * Claims a name for the user: "joined" when the user already held it (another of its requests
   * claimed it), "taken" when another user holds it, else this request's own claim. A claim whose
   * holder does not `hold` the name (it stopped between its writes, or was deleted) is taken over
   * once stale.
   */
  async #claim(
    key: string,
    id: string,
    holds: (holder: StoredUser) => boolean,
  ): Promise<{ readonly token: string } | "joined" | "taken"> {
    const token = randomUUID();
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: key, sk: ITEM },
          UpdateExpression:
            "SET id = :id, claimedAt = if_not_exists(claimedAt, :at), #token = if_not_exists(#token, :token)",
          ConditionExpression: "attribute_not_exists(pk) OR id = :id",
          ExpressionAttributeNames: { "#token": "token" },
          ExpressionAttributeValues: { ":id": id, ":at": this.now(), ":token": token },
          ReturnValues: "ALL_NEW",
        }),
      );
      return result.Attributes?.token === token ? { token } : "joined";
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const held = await this.#get(key, ITEM);
    const claimedAt = Number(held?.claimedAt ?? 0);
    if (!held || this.now() - claimedAt < STALE_CLAIM_MS) return "taken";
    const holder = (await this.#get(USERS, held.id as string)) as unknown as StoredUser | undefined;
    if (holder && !holder.deleted && holds(holder)) return "taken";
    const taken = await written(
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: key, sk: ITEM, id, claimedAt: this.now(), token },
          ConditionExpression: "id = :held AND (attribute_not_exists(claimedAt) OR claimedAt = :at)",
          ExpressionAttributeValues: { ":held": held.id, ":at": claimedAt },
        }),
      ),
    );
    return taken ? { token } : "taken";
  }

  /** Gives back this request's claim, unless the user holds the name after all. */
  async #releaseUnused(
    key: string,
    id: string,
    token: string,
    holds: (holder: StoredUser) => boolean,
  ): Promise<void> {
    const holder = (await this.#get(USERS, id)) as unknown as StoredUser | undefined;
    if (holder && holds(holder)) return;
    await ignoringConflict(
      this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: key, sk: ITEM },
          ConditionExpression: "id = :id AND #token = :token",
          ExpressionAttributeNames: { "#token": "token" },
          ExpressionAttributeValues: { ":id": id, ":token": token },
        }),
      ),
    );
  }

  async #release(key: string, id: string): Promise<void> {
    await ignoringConflict(
      this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: key, sk: ITEM },
          ConditionExpression: "id = :id",
          ExpressionAttributeValues: { ":id": id },
        }),
      ),
    );
  }
}

function normal(name: string): string {
  return name.trim().toLowerCase();
}

function same(a: string, b: string): boolean {
  return normal(a) === normal(b);
}

function claimKey(name: string): string {
  return `${CLAIMS}${normal(name)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Ids this endpoint made are UUIDs: 16 bytes each instead of 37 characters, so a 5,000-member group and a change to all of it fit in one item. */
function packIds(ids: readonly string[]): Uint8Array | readonly string[] {
  if (ids.length === 0 || !ids.every((id) => UUID.test(id))) return ids;
  const packed = Buffer.alloc(ids.length * 16);
  ids.forEach((id, index) => {
    Buffer.from(id.replaceAll("-", ""), "hex").copy(packed, index * 16);
  });
  return packed;
}

function unpackIds(value: unknown): string[] {
  if (Array.isArray(value)) return value as string[];
  if (!(value instanceof Uint8Array)) return [];
  const hex = Buffer.from(value).toString("hex");
  const ids: string[] = [];
  for (let at = 0; at < hex.length; at += 32) {
    const h = hex.slice(at, at + 32);
    ids.push(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`);
  }
  return ids;
}

function packGroup(group: StoredGroup): Record<string, unknown> & { id: string; version: number } {
  // Through JSON: a resource read by zod may hold keys whose value is undefined.
  const plain = JSON.parse(JSON.stringify({ ...group, members: [], outbox: undefined }));
  return {
    ...plain,
    members: packIds(group.members),
    ...(group.outbox
      ? {
          outbox: {
            ...group.outbox,
            added: packIds(group.outbox.added),
            removed: packIds(group.outbox.removed),
          },
        }
      : {}),
  };
}

function unpackGroup(item: Record<string, unknown>): Record<string, unknown> {
  const outbox = item.outbox as Record<string, unknown> | undefined;
  return {
    ...item,
    members: unpackIds(item.members),
    ...(outbox
      ? { outbox: { ...outbox, added: unpackIds(outbox.added), removed: unpackIds(outbox.removed) } }
      : {}),
  };
}

function withoutKeys(item: Record<string, unknown>): Record<string, unknown> {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest;
}

/** A condition that failed means a newer write got there first: what it wrote stands. */
async function ignoringConflict(write: Promise<unknown>): Promise<void> {
  await written(write);
}
