/**
 * One Tallyfy budget, shared exactly by every container of both reconcile lanes. Tallyfy limits a
 * token, not a container: containers that each pace at a fixed share either leave budget idle (a
 * share nobody uses) or overrun it when one borrows another's share on a stale guess. So every
 * request books its slot on one timeline instead: GCRA, where the item holds the time the next
 * free slot starts (`tat`) and each booking moves it on by one interval, atomically.
 *
 * Departures come first: a booker with a horizon (the apply functions') books only while the
 * timeline is less than the horizon ahead, and otherwise waits outside it, holding no slot; a
 * booker without one (the departures functions') books at the end whatever the backlog. So a
 * departure waits for at most a horizon of joins however many containers run, and joins use the
 * whole budget whenever no departure does.
 *
 * Item: `schedule#<name>`, attribute `tat`: epoch microseconds, a whole number, so that what a
 * container computes and what DynamoDB stores are the same number.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { DIRECTORY_KEYS as KEYS } from "../contracts/directory-keys.js";
import { SyncError } from "../core/errors.js";
import type { Booking, SharedTimeline } from "../shared/pacer.js";
import { written } from "./conditional.js";

/** Another booker moved the timeline between every attempt. Transient: the request is retried. */
export class ScheduleContendedError extends SyncError {
  public readonly transient = true;
}

/** Each attempt loses only to a booking made in between; a few always suffice unless DynamoDB stalls. */
const MAX_ATTEMPTS = 8;

/**
 * Honest bookings reach at most a horizon and the departures' few slots past now. Further than
 * this (and than twenty slots, for a budget of a few requests a minute), only a container whose
 * clock ran ahead put the timeline, and every other would wait for that clock.
 */
const MAX_AHEAD_MS = 10_000;
const MAX_AHEAD_SLOTS = 20;

export interface SharedScheduleOptions {
  /**
   * Book only while the timeline is less than this far ahead; otherwise wait outside it.
   * @default none: book at the end, however far ahead (the departures lane)
   */
  readonly horizonMs?: number;
  /**
   * Spreads the bookers told to wait over the horizon, so they do not all ask again at once.
   * @default Math.random
   */
  readonly random?: () => number;
}

export class SharedSchedule implements SharedTimeline {
  public constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** The budget's name: clients with the same token share one. */
    private readonly name: string,
    private readonly options: SharedScheduleOptions = {},
  ) {}

  /**
   * Books the next free slot for one request, `intervalMs` long (the budget's spacing): when it
   * starts (epoch ms), `now` when the timeline is idle; or, past the horizon, when to ask again.
   */
  public async book(intervalMs: number, now: number): Promise<Booking> {
    const interval = Math.max(1, Math.ceil(intervalMs * 1_000));
    const at = Math.floor(now * 1_000);
    const horizon = this.options.horizonMs === undefined ? undefined : this.options.horizonMs * 1_000;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const ahead = await this.#bookAhead(interval, at, horizon);
      if (ahead !== undefined) return { start: (ahead - interval) / 1_000 };
      if (await this.#startAt(at, interval, "idle")) return { start: now };
      // Neither booked ahead within reach nor idle: read how far ahead it is.
      const tat = await this.#tat();
      if (tat !== undefined && tat - at > Math.max(MAX_AHEAD_MS * 1_000, MAX_AHEAD_SLOTS * interval)) {
        // A clock ran ahead: start again from this one, unless another booking moved it meanwhile.
        if (await this.#startAt(at, interval, { seen: tat })) return { start: now };
      } else if (tat !== undefined && horizon !== undefined && tat - at >= horizon) {
        const spread = (this.options.random ?? Math.random)() * (horizon / 1_000);
        return { notBefore: Math.max(now + 1, (tat - horizon) / 1_000) + spread };
      }
      // Another booking moved the timeline in between: book again after it.
    }
    throw new ScheduleContendedError(
      `the shared Tallyfy schedule ${this.name} was moved by another booking on each of ${MAX_ATTEMPTS} attempts`,
    );
  }

  /** The slot at the end of a timeline ahead of now (and inside the horizon), in one write that returns it. */
  async #bookAhead(interval: number, at: number, horizon: number | undefined): Promise<number | undefined> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.#key,
          UpdateExpression: "SET tat = tat + :interval",
          ConditionExpression:
            horizon === undefined ? "tat BETWEEN :now AND :far" : "tat BETWEEN :now AND :horizon",
          ExpressionAttributeValues: {
            ":interval": interval,
            ":now": at,
            ...(horizon === undefined
              ? { ":far": at + Math.max(MAX_AHEAD_MS * 1_000, MAX_AHEAD_SLOTS * interval) }
              : { ":horizon": at + horizon - 1 }),
          },
          ReturnValues: "UPDATED_NEW",
        }),
      );
      return Number(Attributes?.tat);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /** The timeline now, read consistently; undefined before its first booking. */
  async #tat(): Promise<number | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: this.#key, ConsistentRead: true }),
    );
    return Item?.tat === undefined ? undefined : Number(Item.tat);
  }

  /**
   * The slot is now: the timeline starts again one slot after it, if it is idle (behind now, or
   * new), or if it is still at `seen` (a time too far ahead to be honest).
   */
  async #startAt(at: number, interval: number, when: "idle" | { readonly seen: number }): Promise<boolean> {
    return written(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.#key,
          UpdateExpression: "SET tat = :next",
          ...(when === "idle"
            ? {
                ConditionExpression: "attribute_not_exists(tat) OR tat < :now",
                ExpressionAttributeValues: { ":next": at + interval, ":now": at },
              }
            : {
                ConditionExpression: "tat = :seen",
                ExpressionAttributeValues: { ":next": at + interval, ":seen": when.seen },
              }),
        }),
      ),
    );
  }

  get #key() {
    return { pk: `${KEYS.schedule}${this.name}`, sk: "-" };
  }
}
