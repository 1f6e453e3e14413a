/**
 * What a full reconciliation keeps between invocations, in the directory's table: one item,
 * `fullsync#run`, holding the run in progress (its id, the source and cursor it stopped at, its
 * counts), written with a condition so two invocations never both carry one run on.
 * Also the one scan a run makes at its end: every person and every source link.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { DIRECTORY_KEYS as KEYS } from "../contracts/directory-keys.js";
import { SyncError } from "../core/errors.js";
import type { PersonRecord } from "../directory/directory.js";

export interface SourceProgress {
  /** Users the listing handed over. */
  listed: number;
  /** People whose desired state changed with the listing. */
  changed: number;
  /** The listing reached its last page. */
  complete: boolean;
  /** Why the listing stopped short: nobody is inferred to have left this source. */
  error?: string;
  /** Users now under another email than the one the source first provisioned. */
  emailChanges: number;
}

export interface RunState {
  readonly runId: string;
  /** The state machine execution that started it: its retry of a failed first step goes on with it. */
  readonly executionId?: string;
  /** ISO time: the version of everything the run records. */
  readonly startedAt: string;
  phase: "listing" | "finishing" | "done";
  /** Index into the listing sources, and where its listing goes on. */
  sourceIndex: number;
  cursor?: string;
  /**
   * The page (its cursor, "" for the first) an invocation ran out of time in: the next reads it
   * again, and fails the listing if it runs out in it too.
   */
  outOfTimeAt?: string;
  sources: Record<string, SourceProgress>;
  /** Reconcile messages sent so far. */
  reconciles: number;
  invocations: number;
  /** Where the report went, once written. */
  report?: string;
  etag?: number;
}

/** Another invocation wrote the run since this one read it: this one stops. */
export class RunTakenOverError extends SyncError {
  public readonly transient = false;
}

const RUN_KEY = { pk: `${KEYS.fullSync}run`, sk: "-" };

export interface LinkItem {
  readonly source: string;
  readonly subject: string;
  readonly email: string;
  readonly seen?: string;
}

export class FullSyncStore {
  public constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  public async run(): Promise<RunState | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: RUN_KEY, ConsistentRead: true }),
    );
    if (!result.Item) return undefined;
    const { pk: _pk, sk: _sk, ...state } = result.Item;
    return state as RunState;
  }

  /** Saves the run if nobody else did since it was read; throws {@link RunTakenOverError} otherwise. */
  public async save(state: RunState): Promise<void> {
    const etag = state.etag;
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...state, ...RUN_KEY, etag: (etag ?? 0) + 1 },
          ConditionExpression: etag === undefined ? "attribute_not_exists(pk)" : "etag = :etag",
          ExpressionAttributeValues: etag === undefined ? undefined : { ":etag": etag },
        }),
      );
      state.etag = (etag ?? 0) + 1;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new RunTakenOverError(
          `full reconciliation ${state.runId} was taken over by another invocation`,
        );
      throw error;
    }
  }

  /** Replaces whatever run is stored (a finished one, or one abandoned as stale). */
  public async replace(state: RunState, previous: RunState | undefined): Promise<void> {
    await this.save({ ...state, etag: previous?.etag });
    state.etag = (previous?.etag ?? 0) + 1;
  }

  /** Every person and every link of the given sources, read with a paged scan. */
  public async everyone(
    sources: readonly string[],
  ): Promise<{ readonly people: PersonRecord[]; readonly links: LinkItem[] }> {
    const people: PersonRecord[] = [];
    const links: LinkItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: "begins_with(pk, :person) OR begins_with(pk, :link)",
          ExpressionAttributeValues: { ":person": KEYS.person, ":link": KEYS.link },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        const pk = String(item.pk);
        if (pk.startsWith(KEYS.person)) {
          people.push(item as PersonRecord);
          continue;
        }
        const [, source = "", ...rest] = pk.split("#");
        if (!sources.includes(source)) continue;
        links.push({
          source,
          subject: rest.join("#"),
          email: String(item.email),
          seen: item.seen as string | undefined,
        });
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return { people, links };
  }
}
