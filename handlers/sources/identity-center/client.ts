/**
 * The Identity Store reads the adapter makes, through the AWS SDK and the function's own role:
 * a user, the groups a user is in, a group. The SDK signs the calls and retries throttling and
 * 5xx itself; every failure it gives up on becomes an {@link IdentityStoreError} that says
 * whether SQS should try again.
 */
import {
  DescribeGroupCommand,
  DescribeUserCommand,
  type DescribeUserCommandOutput,
  type IdentitystoreClient,
  ListGroupMembershipsForMemberCommand,
  ResourceNotFoundException,
} from "@aws-sdk/client-identitystore";
import { ServiceError } from "../../shared/errors.js";

export type IdentityStoreUser = DescribeUserCommandOutput;

export interface IdentityStoreGroup {
  readonly groupId: string;
  readonly displayName?: string;
  readonly description?: string;
}

export interface IdentityStoreMembership {
  readonly membershipId: string;
  readonly groupId: string;
}

/** Errors no retry fixes: a missing grant, a bad request. Anything else (throttling, 5xx, network) may pass. */
const PERMANENT = new Set(["AccessDeniedException", "ValidationException", "UnrecognizedClientException"]);

/** The Identity Store refused or failed a call the SDK gave up retrying. */
export class IdentityStoreError extends ServiceError {
  public readonly transient: boolean;

  public constructor(operation: string, errorName: string, options?: ErrorOptions) {
    super("Identity Store", operation, errorName, options);
    this.transient = !PERMANENT.has(errorName);
  }
}

/** A page cap, so a misbehaving answer cannot keep a Lambda paging forever. */
const MAX_PAGES = 50;
/** The enterprise extension holds the department (Tallyfy's team). */
const ENTERPRISE = "aws:identitystore:enterprise";

export class IdentityStoreReader {
  public constructor(
    private readonly sdk: IdentitystoreClient,
    private readonly identityStoreId: string,
  ) {}

  /** The user with the enterprise extension, or undefined when the store has no such user (deleted). */
  public async describeUser(userId: string): Promise<IdentityStoreUser | undefined> {
    return this.#call("DescribeUser", () =>
      this.sdk.send(
        new DescribeUserCommand({
          IdentityStoreId: this.identityStoreId,
          UserId: userId,
          Extensions: [ENTERPRISE],
        }),
      ),
    );
  }

  /** Every group membership of the user. */
  public async listMemberships(userId: string): Promise<IdentityStoreMembership[]> {
    const memberships: IdentityStoreMembership[] = [];
    let token: string | undefined;
    for (let page = 0; page === 0 || token; page++) {
      if (page >= MAX_PAGES) {
        throw new IdentityStoreError("ListGroupMembershipsForMember", `more than ${MAX_PAGES} pages`);
      }
      const answer = await this.#call("ListGroupMembershipsForMember", () =>
        this.sdk.send(
          new ListGroupMembershipsForMemberCommand({
            IdentityStoreId: this.identityStoreId,
            MemberId: { UserId: userId },
            NextToken: token,
          }),
        ),
      );
      for (const m of answer?.GroupMemberships ?? []) {
        if (m.MembershipId && m.GroupId)
          memberships.push({ membershipId: m.MembershipId, groupId: m.GroupId });
      }
      token = answer?.NextToken;
    }
    return memberships;
  }

  /** The group, or undefined when it no longer exists. */
  public async describeGroup(groupId: string): Promise<IdentityStoreGroup | undefined> {
    const group = await this.#call("DescribeGroup", () =>
      this.sdk.send(new DescribeGroupCommand({ IdentityStoreId: this.identityStoreId, GroupId: groupId })),
    );
    return group?.GroupId
      ? { groupId: group.GroupId, displayName: group.DisplayName, description: group.Description }
      : undefined;
  }

  /** The call's answer, undefined for ResourceNotFound; other failures as {@link IdentityStoreError}. */
  async #call<T>(operation: string, send: () => Promise<T>): Promise<T | undefined> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      const name = error instanceof Error ? error.name : "UnknownError";
      throw new IdentityStoreError(operation, name, { cause: error });
    }
  }
}
