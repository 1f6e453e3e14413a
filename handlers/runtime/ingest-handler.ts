/**
 * The ingest Lambda, as a factory over its dependencies so tests and the local runner can build
 * it on fakes, while `handlers/ingest.ts` builds it from the environment.
 *
 * A body from any identity source (standard queue) -> the source that owns it, from the registry
 * -> canonical events -> merged into the directory by version -> "reconcile person X" (or group)
 * on the FIFO reconcile queue. The handler knows no source by name: a source's own ingress stamps
 * the `source` message attribute, and a body without one (or with one naming no registered
 * source) goes to the first source that recognises its shape. Only identity-source bodies are
 * accepted: nothing on this queue can ask for a Tallyfy change directly.
 */
import { BatchProcessor, EventType } from "@aws-lambda-powertools/batch";
import type { SQSRecord } from "aws-lambda";
import type { SyncConfig } from "../core/config.js";
import {
  assertNotFuture,
  configFingerprint,
  type EventSource,
  ForeignPersonError,
  groupKeyOf,
  groupUpdates,
  membershipKey,
  personKey,
  versionOf,
} from "../core/desired-state.js";
import { SyncError } from "../core/errors.js";
import { type IdentityEvent, parseJsonBody } from "../core/identity-event.js";
import type { ReconcileMessage } from "../core/reconcile-message.js";
import { type AnyIdentitySource, SOURCE_ATTRIBUTE, type Translation } from "../core/source.js";
import type { Directory } from "../directory/directory.js";
import { type CommonDeps, type RecordOutcome, runBatch, type SqsHandler } from "./batch.js";
import { logger, MetricName } from "./observability.js";
import type { IngestQueue, ReconcileQueue } from "./queues.js";

export interface IngestDeps extends CommonDeps {
  readonly directory: Directory;
  readonly reconcile: ReconcileQueue;
  /** The ingest queue itself: a body holding several events is split into one message each. */
  readonly ingestQueue: IngestQueue;
  /** The registered identity sources, in the order they are asked to recognise a body. */
  readonly sources: readonly AnyIdentitySource[];
  /** A source's clients, built once per container; throws (permanently) when it is not set up. */
  readonly connection: (source: AnyIdentitySource) => unknown;
  /** @default Date.now */
  readonly now?: () => number;
}

/** No registered source recognises the body. Permanent. */
export class UnknownSourceError extends SyncError {
  public readonly transient = false;
}

/**
 * A source now names its user by another email. Tallyfy cannot change a member's email, so the
 * rest of the change applies to the person under the old address and this is dead-lettered for
 * an administrator. Permanent.
 */
export class EmailChangeError extends SyncError {
  public readonly transient = false;
}

export function createIngestHandler(deps: IngestDeps): SqsHandler {
  // A processor per invocation: it holds the batch's records, and the local runner (like any
  // test) may run several invocations of one handler at once.
  return (event, context) => {
    const deadline = Date.now() + context.getRemainingTimeInMillis();
    return runBatch(
      event,
      context,
      new BatchProcessor(EventType.SQS),
      async (record): Promise<RecordOutcome> => {
        const config = deps.config();
        const json = parseJsonBody(record.body);
        const source = sourceOf(deps.sources, record, json);
        const translation = await source.translate(json, {
          config,
          sourceConfig: config[source.id],
          connection: () => deps.connection(source),
          deadline,
          linked: (id) => deps.directory.linkedEmail(source.id, id),
          state: deps.directory.state(source.id),
        });
        return recordTranslation(deps, translation, config, record, source);
      },
      {
        deadLetters: deps.deadLetters,
        maxReceiveCount: deps.maxReceiveCount,
        metricNames: {
          applied: MetricName.EventsReceived,
          noop: MetricName.NoOps,
          ignored: MetricName.Ignored,
        },
        kindDimension: "eventType",
        onTally: deps.onTally,
      },
    );
  };
}

/**
 * The source the record's `source` attribute names, else the first that recognises the body.
 * An attribute naming no registered source is not trusted to mean anything (any producer may set
 * one): the body's shape decides, as if it were absent.
 */
function sourceOf(
  sources: readonly AnyIdentitySource[],
  record: SQSRecord,
  json: unknown,
): AnyIdentitySource {
  const named = record.messageAttributes?.[SOURCE_ATTRIBUTE]?.stringValue;
  const source =
    (named === undefined ? undefined : sources.find((s) => s.id === named)) ??
    sources.find((s) => s.recognise(json));
  if (!source) throw new UnknownSourceError("no identity source recognises this body");
  return source;
}

/** Merges what the source said into the directory; `source` is the source that translated it. */
async function recordTranslation(
  deps: IngestDeps,
  translation: Translation,
  config: SyncConfig,
  record: SQSRecord,
  source: AnyIdentitySource,
): Promise<RecordOutcome> {
  const { about } = translation;
  const sourceId = source.id;
  const from: EventSource = { id: source.id, confined: source.confined };
  const merge = (events: readonly IdentityEvent[], source: EventSource = from) =>
    withEventId(about.eventId, () => recordEvents(deps, events, config, about, source, record));
  switch (translation.status) {
    case "ignored":
      return { status: "ignored", reason: translation.reason, ...about };
    case "split":
      await deps.ingestQueue.requeue(translation.bodies);
      return { status: "applied", ...about };
    case "departed": {
      const email = await deps.directory.linkedEmail(sourceId, translation.subject);
      if (!email) {
        return {
          status: "ignored",
          reason: `user ${translation.subject} is gone from the source and was never provisioned by this sync; nobody is deactivated`,
          ...about,
        };
      }
      const departure: IdentityEvent = {
        id: translation.id,
        time: translation.time,
        type: "user.deactivated",
        user: { email },
      };
      return merge([departure]);
    }
    case "groups-deleted": {
      const removals: IdentityEvent[] = [];
      for (const person of await deps.directory.membersOfIdpGroups(translation.names)) {
        for (const name of translation.names) {
          const key = membershipKey(name);
          if (!(Object.hasOwn(person.memberships, key) && person.memberships[key]?.value)) continue;
          removals.push({
            id: translation.id,
            time: translation.time,
            type: "group.member_removed",
            user: { email: person.email },
            group: { name },
          });
        }
      }
      if (removals.length === 0) {
        return {
          status: "ignored",
          reason: `nobody the directory knows is in ${translation.names.join(" / ")}`,
          ...about,
        };
      }
      // Inferred from the deletion, not said of each person: the source does not come to name them.
      return merge(removals, { ...from, inferred: true });
    }
    case "events": {
      for (const warning of translation.warnings ?? []) logger.warn("value left out", { ...about, warning });
      let events = translation.events;
      const first = events.find((e) => e.user !== undefined)?.user?.email;
      if (translation.subject !== undefined && first !== undefined) {
        const { email: linked, reported } = await deps.directory.link(
          sourceId,
          translation.subject,
          translation.linkEmail ?? first,
        );
        if (linked !== personKey(first)) {
          // The rest applies to the person this sync provisioned; the email change goes, once, to
          // an administrator.
          events = events.map((e) => (e.user ? { ...e, user: { ...e.user, email: linked } } : e));
          if (
            reported !== personKey(first) &&
            (await deps.directory.claimEmailChangeReport(sourceId, translation.subject, first))
          ) {
            try {
              await deps.deadLetters.send(record, {
                errorType: EmailChangeError.name,
                errorMessage: `${sourceId} user ${translation.subject} changed email from ${linked} to ${first}; Tallyfy cannot change a member's email by API: change it in Tallyfy by hand. The other changes were applied to the member this sync provisioned as ${linked}`,
                eventId: about.eventId,
              });
            } catch (error) {
              await deps.directory.releaseEmailChangeReport(sourceId, translation.subject, first);
              throw error;
            }
            logger.warn("email change dead-lettered", { ...about, from: linked, to: first });
          }
        }
      }
      // Before the events: a later event naming only one of these ids must find it.
      for (const [id, to] of Object.entries(translation.links ?? {})) {
        await deps.directory.link(sourceId, id, to);
      }
      return merge(events);
    }
  }
}

async function withEventId<T>(eventId: string | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw Object.assign(error as object, { eventId });
  }
}

/**
 * Merges each event into the directory and asks for a reconcile of what it touched. An event a
 * confined source may not apply (a person another source provides) is refused alone: the rest of
 * the message applies, and the refusal goes to the dead-letter queue with its reason.
 */
async function recordEvents(
  deps: IngestDeps,
  events: readonly IdentityEvent[],
  config: SyncConfig,
  about: Translation["about"],
  source: EventSource,
  record: SQSRecord,
): Promise<RecordOutcome> {
  const now = (deps.now ?? Date.now)();
  for (const event of events) assertNotFuture(event, now);
  const messages = new Map<string, ReconcileMessage>();
  const fingerprint = configFingerprint(config);
  const ignored: string[] = [];
  const refused: ForeignPersonError[] = [];
  for (const event of events) {
    if (event.type === "group.updated") {
      const updates = groupUpdates(event, config);
      if (updates.length === 0)
        ignored.push(
          `IdP group "${event.group.previousName ?? event.group.name}" is not mapped, or nothing in it changed`,
        );
      for (const { target, ...update } of updates) {
        const key = groupKeyOf(target);
        const revision = await deps.directory.recordGroupFacts(key, update, versionOf(event));
        messages.set(`group:${key}`, { kind: "group", key, revision, config: fingerprint });
      }
      continue;
    }
    try {
      const { email, revision } = await deps.directory.record(event, config, source);
      messages.set(`person:${email}`, { kind: "person", key: email, revision, config: fingerprint });
    } catch (error) {
      if (!(error instanceof ForeignPersonError)) throw error;
      refused.push(error);
    }
  }
  const [firstRefusal] = refused;
  if (firstRefusal && messages.size === 0) throw firstRefusal;
  if (firstRefusal) {
    await deps.deadLetters.send(record, {
      errorType: ForeignPersonError.name,
      errorMessage: refused.map((e) => e.message).join("; "),
      eventId: about.eventId,
    });
    logger.warn("events about people another source provides refused", { ...about, refused: refused.length });
  }
  if (messages.size === 0)
    return { status: "ignored", reason: ignored.join("; ") || "nothing to change", ...about };
  await deps.reconcile.send([...messages.values()]);
  return { status: "applied", ...about };
}
