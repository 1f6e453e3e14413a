/**
 * The ingest Lambda, as a factory over its dependencies so tests and the local runner can build
 * it on fakes, while `handlers/ingest.ts` builds it from the environment.
 *
 * A body from any identity source (standard queue) -> the source that owns it, from the registry
 * -> canonical events -> validated commands -> FIFO commands queue. The handler knows no source
 * by name: a source's own ingress stamps the `source` message attribute, and a body without one
 * (or with one naming no registered source) goes to the first source that recognises its shape.
 */
import { BatchProcessor, EventType } from "@aws-lambda-powertools/batch";
import type { SQSRecord } from "aws-lambda";
import { type Command, looksLikeCommand, parseCommand, toCommands } from "../core/commands.js";
import type { SyncConfig } from "../core/config.js";
import { SyncError } from "../core/errors.js";
import { parseJsonBody } from "../core/identity-event.js";
import { type AnyIdentitySource, SOURCE_ATTRIBUTE, type Translation } from "../core/source.js";
import { type CommonDeps, type RecordOutcome, runBatch, type SqsHandler } from "./batch.js";
import { logger, MetricName } from "./observability.js";
import type { CommandQueue, IngestQueue } from "./queues.js";

export interface IngestDeps extends CommonDeps {
  readonly commands: CommandQueue;
  /** The ingest queue itself: a body holding several events is split into one message each. */
  readonly ingestQueue: IngestQueue;
  /** The registered identity sources, in the order they are asked to recognise a body. */
  readonly sources: readonly AnyIdentitySource[];
  /** A source's clients, built once per container; throws (permanently) when it is not set up. */
  readonly connection: (source: AnyIdentitySource) => unknown;
}

/** No registered source recognises the body. Permanent. */
export class UnknownSourceError extends SyncError {
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
        if (looksLikeCommand(record.body)) {
          // A command the apply step deferred, back after its delay: straight on to the commands queue.
          const command = parseCommand(record.body);
          await deps.commands.send([command]);
          return { status: "applied", kind: "deferred command", eventId: command.eventId };
        }
        const json = parseJsonBody(record.body);
        const source = sourceOf(deps.sources, record, json);
        const translation = await source.translate(json, {
          config,
          sourceConfig: config[source.id],
          connection: () => deps.connection(source),
          deadline,
        });
        return apply(deps, translation, config);
      },
      {
        deadLetters: deps.deadLetters,
        maxReceiveCount: deps.maxReceiveCount,
        metricNames: {
          applied: MetricName.EventsReceived,
          noop: MetricName.NoOps,
          ignored: MetricName.Ignored,
          deferred: MetricName.Deferred,
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

async function apply(deps: IngestDeps, translation: Translation, config: SyncConfig): Promise<RecordOutcome> {
  const { about } = translation;
  switch (translation.status) {
    case "ignored":
      return { status: "ignored", reason: translation.reason, ...about };
    case "split":
      await deps.ingestQueue.requeue(translation.bodies);
      return { status: "applied", ...about };
    case "events": {
      for (const warning of translation.warnings ?? []) logger.warn("value left out", { ...about, warning });
      const translated = translation.events.map((e) => toCommands(e, config));
      const commands: Command[] = translated.flatMap((t) => t.commands);
      if (commands.length === 0) {
        const reason = translated.length === 1 ? translated[0]?.ignored : undefined;
        return { status: "ignored", reason: reason ?? "nothing mapped to change", ...about };
      }
      try {
        await deps.commands.send(commands);
      } catch (error) {
        throw Object.assign(error as object, { eventId: about.eventId });
      }
      return { status: "applied", ...about };
    }
  }
}
