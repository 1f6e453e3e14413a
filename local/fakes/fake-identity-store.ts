/**
 * A fake AWS Identity Store on 127.0.0.1 speaking the service's JSON protocol (awsJson1_1,
 * `X-Amz-Target: AWSIdentityStore.<Operation>`), so the real `@aws-sdk/client-identitystore`
 * runs unmodified against it, pointed there by `endpoint`. Serves the reads the adapter makes,
 * `DescribeUser`, `ListGroupMembershipsForMember` (paged) and `DescribeGroup`, for one identity
 * store; errors carry the service's `__type` names so the SDK throws its own exception classes.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeIdentityStoreUser {
  UserId: string;
  UserName: string;
  Name?: { GivenName?: string; FamilyName?: string };
  DisplayName?: string;
  Emails?: { Value: string; Type?: string; Primary?: boolean }[];
  PhoneNumbers?: { Value: string; Type?: string; Primary?: boolean }[];
  Title?: string;
  Timezone?: string;
  UserType?: string;
  UserStatus?: "ENABLED" | "DISABLED";
  /** The enterprise extension, e.g. `{ department: "Platform" }`. */
  Enterprise?: Record<string, unknown>;
}

export interface FakeIdentityStoreGroup {
  GroupId: string;
  DisplayName: string;
  Description?: string;
}

export interface IdentityStoreCall {
  readonly operation: string;
  readonly status: number;
}

type Answer = { status: number; body: unknown };

export class FakeIdentityStore {
  public readonly users = new Map<string, FakeIdentityStoreUser>();
  public readonly groups = new Map<string, FakeIdentityStoreGroup>();
  /** membershipId -> { groupId, userId } */
  public readonly memberships = new Map<string, { groupId: string; userId: string }>();
  public readonly calls: IdentityStoreCall[] = [];
  /** When set, the next calls of `operation` (any when absent) fail with this `__type`, `times` times. */
  public failure?: { type: string; status: number; times: number; operation?: string };
  /** Memberships per ListGroupMembershipsForMember page. @default 100 */
  public pageSize = 100;
  readonly #server: Server;

  private constructor(
    server: Server,
    public readonly identityStoreId: string,
  ) {
    this.#server = server;
  }

  public static async start(identityStoreId = "d-9067a1b2c3"): Promise<FakeIdentityStore> {
    let fake: FakeIdentityStore | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const target = String(req.headers["x-amz-target"] ?? "");
        const answer = fake?.answer(target, Buffer.concat(chunks).toString("utf8")) ?? {
          status: 500,
          body: {},
        };
        res
          .writeHead(answer.status, {
            "Content-Type": "application/x-amz-json-1.1",
            "x-amzn-RequestId": randomUUID(),
          })
          .end(JSON.stringify(answer.body));
      });
    });
    fake = new FakeIdentityStore(server, identityStoreId);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  public get endpoint(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  public async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  public addUser(user: FakeIdentityStoreUser): FakeIdentityStoreUser {
    this.users.set(user.UserId, user);
    return user;
  }

  public addGroup(group: FakeIdentityStoreGroup): void {
    this.groups.set(group.GroupId, group);
  }

  /** Adds the user to the group; returns the membership id. */
  public addMembership(groupId: string, userId: string, membershipId: string = randomUUID()): string {
    this.memberships.set(membershipId, { groupId, userId });
    return membershipId;
  }

  public removeMembership(membershipId: string): void {
    this.memberships.delete(membershipId);
  }

  public deleteUser(userId: string): void {
    this.users.delete(userId);
    for (const [id, m] of this.memberships) if (m.userId === userId) this.memberships.delete(id);
  }

  private answer(target: string, raw: string): Answer {
    const operation = target.replace(/^AWSIdentityStore\./, "");
    const answer = this.#answer(operation, raw);
    this.calls.push({ operation, status: answer.status });
    return answer;
  }

  #answer(operation: string, raw: string): Answer {
    const failure = this.failure;
    if (failure && failure.times > 0 && (!failure.operation || failure.operation === operation)) {
      failure.times--;
      return error(failure.status, failure.type, "injected");
    }
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return error(400, "SerializationException", "body is not JSON");
    }
    if (input.IdentityStoreId !== this.identityStoreId) {
      return error(
        400,
        "ResourceNotFoundException",
        `identity store ${String(input.IdentityStoreId)} not found`,
      );
    }
    switch (operation) {
      case "DescribeUser": {
        const user = this.users.get(String(input.UserId));
        if (!user) return error(400, "ResourceNotFoundException", "USER not found");
        const { Enterprise, ...rest } = user;
        const extensions = Array.isArray(input.Extensions) ? input.Extensions : [];
        return {
          status: 200,
          body: {
            IdentityStoreId: this.identityStoreId,
            UserStatus: "ENABLED",
            ...rest,
            ...(Enterprise && extensions.includes("aws:identitystore:enterprise")
              ? { Extensions: { "aws:identitystore:enterprise": Enterprise } }
              : {}),
          },
        };
      }
      case "ListGroupMembershipsForMember": {
        const userId = (input.MemberId as { UserId?: string } | undefined)?.UserId ?? "";
        if (!this.users.has(userId)) return error(400, "ResourceNotFoundException", "USER not found");
        const all = [...this.memberships].filter(([, m]) => m.userId === userId);
        const start = Number(input.NextToken ?? 0);
        const page = all.slice(start, start + this.pageSize);
        return {
          status: 200,
          body: {
            GroupMemberships: page.map(([id, m]) => ({
              IdentityStoreId: this.identityStoreId,
              MembershipId: id,
              GroupId: m.groupId,
              MemberId: { UserId: m.userId },
            })),
            ...(start + this.pageSize < all.length ? { NextToken: String(start + this.pageSize) } : {}),
          },
        };
      }
      case "DescribeGroup": {
        const group = this.groups.get(String(input.GroupId));
        if (!group) return error(400, "ResourceNotFoundException", "GROUP not found");
        return { status: 200, body: { IdentityStoreId: this.identityStoreId, ...group } };
      }
      default:
        return error(400, "UnknownOperationException", `the fake does not serve ${operation}`);
    }
  }
}

function error(status: number, type: string, message: string): Answer {
  return { status, body: { __type: type, Message: message } };
}
