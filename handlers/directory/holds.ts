/**
 * The departure brake's state in the directory's table (see core/departure-brake.ts):
 * - `brake#<source>`: the departures admitted in the source's window, and the count of people the
 *   source manages (counted at most once an hour: only a window already past `maxPerWindow`
 *   needs it). Written conditionally on `etag`, so two apply containers never both take the
 *   last place in a window.
 * - the hold itself, on the person's item (`departureHold`), where every rule that reads the
 *   desired state sees it;
 * - `hold` / `<email>`: one small item per person ever held, so holds are listed with a query.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, ScanCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { DIRECTORY_KEYS as KEYS } from "../contracts/directory-keys.js";
import {
  type AdmittedDeparture,
  type DepartureBrake,
  type DepartureHold,
  departureLimit,
  holdReason,
  inWindow,
} from "../core/departure-brake.js";
import { personKey, type Version } from "../core/desired-state.js";
import { written } from "./conditional.js";
import { itemsUnder } from "./partition.js";
import type { PersonRecord } from "./records.js";

/** A person whose departure is held (or was decided), as `holds list` shows them. */
export interface HeldPerson {
  readonly email: string;
  readonly address: string;
  readonly hold: DepartureHold;
}

export type Admission = { readonly admitted: true } | { readonly admitted: false; readonly reason: string };

const ITEM = "-";
const HOLDS = KEYS.holds;
const MAX_ATTEMPTS = 8;
/** How long a count of a source's managed people is trusted. */
const MANAGED_COUNT_TTL_MS = 60 * 60_000;

export class DepartureHolds {
  public constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** The people with these emails, read in batches (`Directory.people`). */
    private readonly people: (emails: readonly string[]) => Promise<PersonRecord[]>,
  ) {}

  /**
   * Counts the person's departure against the source's window: admitted while the window has
   * room (or already holds this person: a retried reconcile), refused with the reason otherwise.
   */
  public async admit(source: string, email: string, brake: DepartureBrake, now: number): Promise<Admission> {
    const key = personKey(email);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const item = await this.#get(`${KEYS.brake}${source}`);
      const etag = item?.etag as number | undefined;
      const window = inWindow((item?.departures ?? []) as AdmittedDeparture[], brake, now);
      if (window.some((entry) => entry.email === key)) return { admitted: true };
      let managed = item?.managed as number | undefined;
      let countedAt = item?.managedAt as number | undefined;
      if (
        window.length >= brake.maxPerWindow &&
        (countedAt === undefined || now - countedAt > MANAGED_COUNT_TTL_MS)
      ) {
        managed = await this.managedBy(source);
        countedAt = now;
      }
      const limit = departureLimit(brake, window.length >= brake.maxPerWindow ? (managed ?? 0) : 0);
      if (window.length >= limit)
        return { admitted: false, reason: holdReason(source, window.length, limit, brake) };
      const taken = await written(
        this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: `${KEYS.brake}${source}`, sk: ITEM },
            UpdateExpression: `SET departures = :d${managed === undefined ? "" : ", managed = :m, managedAt = :at"} ADD etag :one`,
            ConditionExpression: etag === undefined ? "attribute_not_exists(etag)" : "etag = :etag",
            ExpressionAttributeValues: {
              ":d": [...window, { email: key, at: now }],
              ":one": 1,
              ...(managed === undefined ? {} : { ":m": managed, ":at": countedAt }),
              ...(etag === undefined ? {} : { ":etag": etag }),
            },
          }),
        ),
      );
      if (taken) return { admitted: true };
    }
    // Others kept taking places: hold rather than guess. The administrator can approve it.
    return {
      admitted: false,
      reason: `${source}'s departure window kept changing while this one was counted`,
    };
  }

  /** The people the source manages and has not seen depart (a consistent scan, counted only). */
  public async managedBy(source: string): Promise<number> {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({
          TableName: this.tableName,
          Select: "COUNT",
          FilterExpression:
            "begins_with(pk, :person) AND (contains(#sources, :s) OR contains(confinedSources, :s)) AND (attribute_not_exists(#status) OR #status.#value <> :inactive)",
          ExpressionAttributeNames: { "#sources": "sources", "#status": "status", "#value": "value" },
          ExpressionAttributeValues: { ":person": KEYS.person, ":s": source, ":inactive": "inactive" },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    return count;
  }

  /**
   * Holds the person's departure: listed first, then on the person's item. True when the hold is
   * new (one already waiting keeps its time and reason, and is not counted again).
   */
  public async hold(email: string, hold: DepartureHold): Promise<boolean> {
    const key = personKey(email);
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: HOLDS, sk: key },
        UpdateExpression: "SET heldAt = :at",
        ExpressionAttributeValues: { ":at": hold.heldAt },
      }),
    );
    return written(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `${KEYS.person}${key}`, sk: ITEM },
          UpdateExpression: "SET departureHold = :h ADD etag :one",
          ConditionExpression:
            "attribute_exists(pk) AND (attribute_not_exists(departureHold) OR departureHold.#state <> :held)",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: { ":h": hold, ":held": "held", ":one": 1 },
        }),
      ),
    );
  }

  /** The hold on the departure at version `v` is over (applied, or the person is back): dropped. */
  public async release(email: string, v: Version): Promise<void> {
    await written(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `${KEYS.person}${personKey(email)}`, sk: ITEM },
          UpdateExpression: "REMOVE departureHold ADD etag :one",
          ConditionExpression: "departureHold.v = :v",
          ExpressionAttributeValues: { ":v": v, ":one": 1 },
        }),
      ),
    );
  }

  /** Everyone held or decided, oldest hold first. */
  public async list(): Promise<HeldPerson[]> {
    const emails: string[] = [];
    for await (const item of itemsUnder(this.db, this.tableName, HOLDS)) emails.push(String(item.sk));
    const held = (await this.people(emails)).flatMap((person) =>
      person.departureHold
        ? [{ email: person.email, address: person.address, hold: person.departureHold }]
        : [],
    );
    return held.sort((a, b) => a.hold.heldAt.localeCompare(b.hold.heldAt));
  }

  /**
   * An administrator's decision on a departure still held at version `v`: the person's revision
   * moves, so the reconcile asked for next acts on it. Returns that revision, or undefined when the
   * hold is no longer the one listed (released, decided, or a newer departure).
   */
  public async decide(
    email: string,
    v: Version,
    decision: { readonly state: "approved" | "rejected"; readonly by: string; readonly at: string },
  ): Promise<number | undefined> {
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `${KEYS.person}${personKey(email)}`, sk: ITEM },
          UpdateExpression:
            "SET departureHold.#state = :state, departureHold.decidedBy = :by, departureHold.decidedAt = :at ADD revision :one, etag :one",
          ConditionExpression: "departureHold.#state = :held AND departureHold.v = :v",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: {
            ":state": decision.state,
            ":by": decision.by,
            ":at": decision.at,
            ":held": "held",
            ":v": v,
            ":one": 1,
          },
          ReturnValues: "UPDATED_NEW",
        }),
      );
      return Number(result.Attributes?.revision ?? 0);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async #get(pk: string): Promise<Record<string, unknown> | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk, sk: ITEM }, ConsistentRead: true }),
    );
    return result.Item;
  }
}
