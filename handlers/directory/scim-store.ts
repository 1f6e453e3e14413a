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
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { written } from "./conditional.js";

/** What the store needs of a User record (`sources/scim/store.ts` has the whole shape). */
export interface StoredUser {
  readonly id: string;
  readonly version: number;
  readonly resource: { readonly userName: string };
}

/** What the store needs of a Group record: its member ids are packed, so 5,000 fit in one item. */
export interface StoredGroup {
  readonly id: string;
  readonly version: number;
  readonly resource: { readonly displayName: string };
  readonly members: readonly string[];
  readonly outbox?: { readonly added: readonly string[]; readonly removed: readonly string[] };
}

/**
 * How a write ended: another write got there first, another resource holds the name, or the
 * resource is larger than a DynamoDB item (400 KB) can hold.
 */
export type NamedWrite = "written" | "conflict" | "taken" | "tooLarge";

const USERS = "scim#users";
const GROUPS = "scim#groups";
const ITEM = "-";

/** Users' userNames and groups' displayNames are unique, ignoring case: a claim item per name. */
const NAMED = {
  user: { pk: USERS, claims: "scim#username#", nameOf: (r: StoredUser) => r.resource.userName },
  group: { pk: GROUPS, claims: "scim#groupname#", nameOf: (r: StoredGroup) => r.resource.displayName },
} as const;
type Kind = keyof typeof NAMED;

/**
 * A claim whose holder does not have the name is stale once it is older than any request can run
 * (the SCIM function's timeout is 25 s): the request that made it stopped between its two writes.
 */
const STALE_CLAIM_MS = 60_000;

/** Every key this store writes starts with this: the SCIM function's IAM policy is limited to it. */
export const SCIM_KEY_PREFIX = "scim#";

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
    return (await this.#get(claimKey("user", userName), ITEM))?.id as string | undefined;
  }

  public async groupIdByName(displayName: string): Promise<string | undefined> {
    return (await this.#get(claimKey("group", displayName), ITEM))?.id as string | undefined;
  }

  public async allUsers(): Promise<UserRecord[]> {
    return (await this.#query(USERS)) as unknown as UserRecord[];
  }

  public putUser(record: UserRecord, previous?: UserRecord): Promise<NamedWrite> {
    return this.#putNamed("user", record, previous);
  }

  public async userQueued(id: string, version: number): Promise<void> {
    await this.#queued(USERS, id, version);
  }

  public async deleteUser(record: UserRecord): Promise<void> {
    await this.#delete(USERS, record.id, record.version);
    await this.#release("user", record.resource.userName, record.id);
  }

  public async group(id: string): Promise<GroupRecord | undefined> {
    const item = await this.#get(GROUPS, id);
    return item && (unpackGroup(item) as unknown as GroupRecord);
  }

  public async allGroups(): Promise<GroupRecord[]> {
    return (await this.#query(GROUPS)).map(unpackGroup) as unknown as GroupRecord[];
  }

  public putGroup(record: GroupRecord, previous?: GroupRecord): Promise<NamedWrite> {
    return this.#putNamed("group", record, previous);
  }

  public async groupQueued(id: string, version: number): Promise<void> {
    await this.#queued(GROUPS, id, version);
  }

  public async deleteGroup(record: GroupRecord): Promise<void> {
    await this.#delete(GROUPS, record.id, record.version);
    await this.#release("group", record.resource.displayName, record.id);
  }

  public async groupsOf(userId: string): Promise<string[]> {
    const items = await this.#query(`scim#memberof#${userId}`);
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
          Item: { pk: `scim#memberof#${userId}`, sk: groupId, member, version },
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
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": pk },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(page.Items ?? []).map((item) => ({ ...withoutKeys(item), sk: item.sk })));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  async #put(
    pk: string,
    item: Record<string, unknown> & { id: string },
    previousVersion?: number,
  ): Promise<NamedWrite> {
    try {
      const done = await written(
        this.db.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...item, pk, sk: item.id },
            ConditionExpression: previousVersion === undefined ? "attribute_not_exists(pk)" : "version = :v",
            ExpressionAttributeValues: previousVersion === undefined ? undefined : { ":v": previousVersion },
          }),
        ),
      );
      return done ? "written" : "conflict";
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
   * Writes the resource if its version is still `previous`'s (or it is new), claiming its name
   * first. A write that fails gives a new claim back, so the name is not held by nobody.
   */
  async #putNamed(
    kind: Kind,
    record: StoredUser | StoredGroup,
    previous?: StoredUser | StoredGroup,
  ): Promise<NamedWrite> {
    const nameOf = NAMED[kind].nameOf as (r: StoredUser | StoredGroup) => string;
    const name = nameOf(record);
    const before = previous && nameOf(previous);
    const renamed = before === undefined || normal(before) !== normal(name);
    if (renamed && !(await this.#claim(kind, name, record.id))) return "taken";
    let done: NamedWrite;
    try {
      const item =
        kind === "group"
          ? packGroup(record as StoredGroup)
          : // Through JSON: a resource read by zod may hold keys whose value is undefined.
            (JSON.parse(JSON.stringify(record)) as Record<string, unknown> & { id: string });
      done = await this.#put(NAMED[kind].pk, item, previous?.version);
    } catch (error) {
      if (renamed) await this.#release(kind, name, record.id).catch(() => undefined);
      throw error;
    }
    if (renamed) await this.#release(kind, done === "written" ? before : name, record.id);
    return done;
  }

  /** False when another resource holds the name. */
  async #claim(kind: Kind, name: string, id: string): Promise<boolean> {
    const key = claimKey(kind, name);
    const claim = (condition: string, values: Record<string, unknown>) =>
      written(
        this.db.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { pk: key, sk: ITEM, id, claimedAt: this.now() },
            ConditionExpression: condition,
            ExpressionAttributeValues: values,
          }),
        ),
      );
    if (await claim("attribute_not_exists(pk) OR id = :id", { ":id": id })) return true;
    const held = await this.#get(key, ITEM);
    const claimedAt = Number(held?.claimedAt ?? 0);
    if (!held || this.now() - claimedAt < STALE_CLAIM_MS) return false;
    const holder = await this.#get(NAMED[kind].pk, held.id as string);
    const nameOf = NAMED[kind].nameOf as (r: unknown) => string;
    if (holder && normal(nameOf(holder)) === normal(name)) return false;
    return claim("id = :held AND (attribute_not_exists(claimedAt) OR claimedAt = :at)", {
      ":held": held.id,
      ":at": claimedAt,
    });
  }

  async #release(kind: Kind, name: string | undefined, id: string): Promise<void> {
    if (name === undefined) return;
    await ignoringConflict(
      this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: claimKey(kind, name), sk: ITEM },
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

function claimKey(kind: Kind, name: string): string {
  return `${NAMED[kind].claims}${normal(name)}`;
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

function packGroup(group: StoredGroup): Record<string, unknown> & { id: string } {
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
