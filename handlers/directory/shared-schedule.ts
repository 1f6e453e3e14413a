/**
 * One Tallyfy budget, shared exactly by every container of both reconcile lanes. Tallyfy limits a
 * token, not a container: containers that each pace at a fixed share either leave budget idle (a
 * share nobody uses) or overrun it when one borrows another's share on a stale guess. So every
 * request books its slot on one timeline instead: GCRA, where the item holds the time the next
 * free slot starts (`tat`) and each booking moves it on by one interval, atomically. A departure
 * then waits for at most the slots already booked (one per request in flight), never for the
 * backlog behind them, and joins use the whole budget whenever no departure does.
 *
 * Item: `schedule#<name>`, attribute `tat` (epoch milliseconds).
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { SyncError } from "../core/errors.js";
import { written } from "./conditional.js";

/** Another booker moved the timeline between every attempt. Transient: the request is retried. */
export class ScheduleContendedError extends SyncError {
  public readonly transient = true;
}

/** Each attempt loses only to a booking made in between; a few always suffice unless DynamoDB stalls. */
const MAX_ATTEMPTS = 8;

/**
 * Further ahead than honest bookings ever reach (about one slot per request in flight): only a
 * container whose clock ran ahead puts the timeline there, and every other would wait for it.
 */
const MAX_AHEAD_MS = 60_000;

export class SharedSchedule {
  public constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** The budget's name: clients with the same token share one. */
    private readonly name: string,
  ) {}

  /**
   * Books the next free slot for one request, `intervalMs` long (the budget's spacing), and returns
   * when it starts (epoch ms): `now` when the timeline is idle, its end when it is booked ahead.
   */
  public async book(intervalMs: number, now: number): Promise<number> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const ahead = await this.#bookAhead(intervalMs, now);
      if (ahead !== undefined && ahead - now <= MAX_AHEAD_MS) return ahead;
      if (ahead !== undefined) {
        // Start the timeline again from this clock, unless another booking moved it meanwhile.
        if (await this.#startNow(intervalMs, now, { seen: ahead + intervalMs })) return now;
        continue;
      }
      if (await this.#startNow(intervalMs, now, "idle")) return now;
      // Between the two, another booking moved the timeline past now: book after it.
    }
    throw new ScheduleContendedError(
      `the shared Tallyfy schedule ${this.name} was moved by another booking on each of ${MAX_ATTEMPTS} attempts`,
    );
  }

  /** Booked ahead of now: the slot at the end, taken in one write that returns it. */
  async #bookAhead(intervalMs: number, now: number): Promise<number | undefined> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.#key,
          UpdateExpression: "SET tat = tat + :interval",
          ConditionExpression: "tat >= :now",
          ExpressionAttributeValues: { ":interval": intervalMs, ":now": now },
          ReturnValues: "UPDATED_NEW",
        }),
      );
      return Number(Attributes?.tat) - intervalMs;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /**
   * The slot is now: the timeline starts again one slot after now, if `when` still holds (idle or
   * new; or still at a time too far ahead to be honest), else another booking got there first.
   */
  async #startNow(intervalMs: number, now: number, when: "idle" | { seen: number }): Promise<boolean> {
    return written(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.#key,
          UpdateExpression: "SET tat = :next",
          ...(when === "idle"
            ? {
                ConditionExpression: "attribute_not_exists(tat) OR tat < :now",
                ExpressionAttributeValues: { ":next": now + intervalMs, ":now": now },
              }
            : {
                ConditionExpression: "tat = :seen",
                ExpressionAttributeValues: { ":next": now + intervalMs, ":seen": when.seen },
              }),
        }),
      ),
    );
  }

  get #key() {
    return { pk: `schedule#${this.name}`, sk: "-" };
  }
}
