/**
 * What the SCIM endpoint keeps, behind a small interface: the DynamoDB implementation is
 * `directory/scim-store.ts`, in the directory's table. Each write is conditional on the version
 * read, and carries an outbox: the identity events the change means, kept until they are queued,
 * so a change stored but not yet queued is queued by the next request that reads it.
 */
import type { IdentityEvent } from "../../core/identity-event.js";
import type { GroupResource, UserResource } from "./resources.js";

/** One ingest message: events about one user (with their SCIM id) or one group's members. */
export interface ScimMessage {
  /** The SCIM user id the events are about. */
  readonly subject?: string;
  /**
   * The email the user was first provisioned under: the directory links `subject` to it, whatever
   * order the messages are read in, and a later email is an email change.
   */
  readonly linkEmail?: string;
  readonly events: readonly IdentityEvent[];
  readonly warnings?: readonly string[];
}

export interface UserRecord {
  readonly id: string;
  readonly resource: UserResource;
  /** Bumped by every write; `meta.version` and the ETag. */
  readonly version: number;
  readonly created: number;
  /** Epoch milliseconds, strictly increasing per user: the version of the facts it sets. */
  readonly lastModified: number;
  /** The email the user was first provisioned under, as the directory's link keeps it. */
  readonly email: string;
  readonly outbox?: readonly ScimMessage[];
  /** Deleted, with its last events still to queue. */
  readonly deleted?: boolean;
}

/** A group change not yet known to be queued: who joined, who left, and the names before a rename. */
export interface GroupChange {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly renamedFrom?: readonly string[];
}

export interface GroupRecord {
  readonly id: string;
  readonly resource: Omit<GroupResource, "members">;
  /** Member user ids. */
  readonly members: readonly string[];
  readonly version: number;
  readonly created: number;
  readonly lastModified: number;
  readonly outbox?: GroupChange;
  readonly deleted?: boolean;
}

export type Written = "written" | "conflict" | "taken" | "emailTaken" | "tooLarge";

export interface ScimStore {
  user(id: string): Promise<UserRecord | undefined>;
  users(ids: readonly string[]): Promise<UserRecord[]>;
  /** The id of the user with this userName, compared ignoring case. */
  userIdByName(userName: string): Promise<string | undefined>;
  allUsers(): Promise<UserRecord[]>;
  /** Up to `limit` users after the user id `after`, in id order, and the id to go on after. */
  usersPage(after: string | undefined, limit: number): Promise<{ users: UserRecord[]; next?: string }>;
  /**
   * Writes the user if its version is still `previous`'s (or it is new), claiming its userName:
   * `conflict` when another write got there first, `taken` when another user holds the userName,
   * `emailTaken` when a new user's email is the one another user was first provisioned under,
   * `tooLarge` when the store cannot hold it.
   */
  putUser(record: UserRecord, previous?: UserRecord): Promise<Written>;
  /** Forgets the outbox of this version: its events are queued. */
  userQueued(id: string, version: number): Promise<void>;
  deleteUser(record: UserRecord): Promise<void>;

  group(id: string): Promise<GroupRecord | undefined>;
  allGroups(): Promise<GroupRecord[]>;
  /** Writes the group if its version is still `previous`'s (or it is new). */
  putGroup(record: GroupRecord, previous?: GroupRecord): Promise<Written>;
  groupQueued(id: string, version: number): Promise<void>;
  deleteGroup(record: GroupRecord): Promise<void>;
  /** The ids of the groups the user is a member of. */
  groupsOf(userId: string): Promise<string[]>;
  /** Notes the user's membership of the group as of the group's version; an older note never wins. */
  noteMembership(userId: string, groupId: string, member: boolean, version: number): Promise<void>;
}
