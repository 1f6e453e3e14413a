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

/** What the store needs of a Group record. */
export interface StoredGroup {
  readonly id: string;
  readonly version: number;
}

/** How a write of a user ended: another write got there first, or another user holds the userName. */
export type UserWrite = "written" | "conflict" | "taken";

const USERS = "scim#users";
const GROUPS = "scim#groups";
const ITEM = "-";

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
    return (await this.#get(nameKey(userName), ITEM))?.id as string | undefined;
  }

  public async allUsers(): Promise<UserRecord[]> {
    return (await this.#query(USERS)) as unknown as UserRecord[];
  }

  public async putUser(record: UserRecord, previous?: UserRecord): Promise<UserWrite> {
    const renamed = !previous || nameKey(previous.resource.userName) !== nameKey(record.resource.userName);
    if (renamed && !(await this.#claim(record.resource.userName, record.id))) return "taken";
    const written = await this.#put(USERS, record, previous?.version);
    if (renamed) await this.#release((written ? previous : record)?.resource.userName, record.id);
    return written ? "written" : "conflict";
  }

  public async userQueued(id: string, version: number): Promise<void> {
    await this.#queued(USERS, id, version);
  }

  public async deleteUser(record: UserRecord): Promise<void> {
    await this.#delete(USERS, record.id, record.version);
    await this.#release(record.resource.userName, record.id);
  }

  public async group(id: string): Promise<GroupRecord | undefined> {
    return (await this.#get(GROUPS, id)) as GroupRecord | undefined;
  }

  public async allGroups(): Promise<GroupRecord[]> {
    return (await this.#query(GROUPS)) as unknown as GroupRecord[];
  }

  public async putGroup(record: GroupRecord, previousVersion?: number): Promise<boolean> {
    return this.#put(GROUPS, record, previousVersion);
  }

  public async groupQueued(id: string, version: number): Promise<void> {
    await this.#queued(GROUPS, id, version);
  }

  public async deleteGroup(id: string, version: number): Promise<void> {
    await this.#delete(GROUPS, id, version);
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

  async #put(pk: string, record: StoredUser | StoredGroup, previousVersion?: number): Promise<boolean> {
    return written(
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          // Through JSON: a resource read by zod may hold keys whose value is undefined.
          Item: { ...JSON.parse(JSON.stringify(record)), pk, sk: record.id },
          ConditionExpression: previousVersion === undefined ? "attribute_not_exists(pk)" : "version = :v",
          ExpressionAttributeValues: previousVersion === undefined ? undefined : { ":v": previousVersion },
        }),
      ),
    );
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

  /** False when another user holds the userName. */
  async #claim(userName: string, id: string): Promise<boolean> {
    return written(
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: nameKey(userName), sk: ITEM, id },
          ConditionExpression: "attribute_not_exists(pk) OR id = :id",
          ExpressionAttributeValues: { ":id": id },
        }),
      ),
    );
  }

  async #release(userName: string | undefined, id: string): Promise<void> {
    if (userName === undefined) return;
    await ignoringConflict(
      this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: nameKey(userName), sk: ITEM },
          ConditionExpression: "id = :id",
          ExpressionAttributeValues: { ":id": id },
        }),
      ),
    );
  }
}

function nameKey(userName: string): string {
  return `scim#username#${userName.trim().toLowerCase()}`;
}

function withoutKeys(item: Record<string, unknown>): Record<string, unknown> {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest;
}

/** A condition that failed means a newer write got there first: what it wrote stands. */
async function ignoringConflict(write: Promise<unknown>): Promise<void> {
  await written(write);
}
