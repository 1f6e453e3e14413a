/**
 * `npm start`: the whole pipeline on this machine, on embedded defaults.
 *
 * fauxqs provides the four queues, dynalite the directory's table (in memory), a Secrets Manager
 * stand-in holds the Tallyfy secret, a fake
 * Tallyfy holds a small organization, and the two real Lambda entry points (`handlers/ingest.ts`,
 * `handlers/apply.ts`) are loaded with the environment the CDK stack would give them and driven by
 * local event source mappings. Each example event is replayed in turn, and what changed in
 * Tallyfy and what sits in the dead-letter queues is printed.
 *
 * Okta: a fake Okta API holds the org the Okta samples describe (`local/fakes/okta-directory.ts`),
 * so Okta Event Hook bodies and Log Streaming envelopes are read back from it as in production.
 * Auth0 and IAM Identity Center likewise: a fake Management API (`local/fakes/auth0-tenant.ts`) and
 * a fake Identity Store (`local/fakes/identity-center-directory.ts`) answer for the EventBridge
 * envelopes in `local/eventbridge-examples/` (`npm start -- --events local/eventbridge-examples`).
 * Entra ID and Google Workspace: a fake Graph (`local/fakes/entra-tenant.ts`) and a fake Directory
 * API (`local/fakes/google-directory.ts`); a captured webhook request (`{httpMethod, headers, body}`,
 * as in `local/push-examples/`) is sent to the real webhook function on loopback, which checks its
 * secret and queues it (`npm start -- --events local/push-examples`).
 *
 * Options:
 *   --events <file or folder>   your own events (a JSON event, a JSON array of events, or a folder of such files)
 *   --config <file>             your sync configuration (default: local/config.json)
 *   --tallyfy-url <url>         a real Tallyfy API base URL, with --org <id> and --token <token> (or TALLYFY_TOKEN)
 *   --dry-run                   with --tallyfy-url: make only reads; print the writes it would make
 *   --tallyfy-state <file>      on exit, write the Tallyfy organization's final state there as JSON
 *   --verbose                   show the handlers' JSON logs
 *   --scim                      serve the SCIM endpoint (the real `handlers/scim.ts`) instead of replaying
 *                               events, until Ctrl-C; then finish the pipeline and print the report
 *   --port <port>               with --scim: the port to serve on (default 8787)
 *   --scim-token <token>        with --scim: the bearer token clients must send (default local-scim-token)
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { SqsHandler } from "../handlers/runtime/batch.js";
import { directoryFrom } from "../handlers/runtime/function-environment.js";
import type { ScimHandler } from "../handlers/runtime/scim-handler.js";
import type { WebhookHandler } from "../handlers/runtime/webhook-handler.js";
import { entraSource } from "../handlers/sources/entra/index.js";
import { googleSource } from "../handlers/sources/google/index.js";
import { recogniseOkta } from "../handlers/sources/okta/events.js";
import { TallyfyClient } from "../handlers/tallyfy/client.js";
import { StaticTokenSource } from "../handlers/tallyfy/credentials.js";
import { startLocalDynamo } from "./dynamodb.js";
import { drain, LOCAL_CREDENTIALS, LOCAL_REGION, LocalEventSource, startLocalSqs } from "./event-source.js";
import { seedTenant } from "./fakes/auth0-tenant.js";
import { ENTRA, seedEntraTenant } from "./fakes/entra-tenant.js";
import { FakeAuth0 } from "./fakes/fake-auth0.js";
import { FakeGoogleDirectory } from "./fakes/fake-google-directory.js";
import { FakeGraph } from "./fakes/fake-graph.js";
import { FakeIdentityStore } from "./fakes/fake-identity-store.js";
import { FakeOkta } from "./fakes/fake-okta.js";
import { FakeSecretsManager } from "./fakes/fake-secrets-manager.js";
import { FakeTallyfy } from "./fakes/fake-tallyfy.js";
import { GOOGLE, seedGoogleDirectory } from "./fakes/google-directory.js";
import { seedStore } from "./fakes/identity-center-directory.js";
import { seedAcme } from "./fakes/okta-directory.js";
import { describeChanges, readDeadLetters, snapshot, type TallyfyCall } from "./report.js";
import { type LocalScimServer, startScimServer } from "./scim-server.js";
import { writeTallyfyState } from "./tallyfy-state.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const SECRET_ID = "tallyfy-idp-sync/local";
const OKTA_SECRET_ID = "tallyfy-idp-sync/okta-local";
const SCIM_SECRET_ID = "tallyfy-idp-sync/scim-local";
const AUTH0_SECRET_ID = "tallyfy-idp-sync/auth0-local";
const ENTRA_SECRET_ID = "tallyfy-idp-sync/entra-local";
const GOOGLE_SECRET_ID = "tallyfy-idp-sync/google-local";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: path.join(here, "examples") },
    config: { type: "string", default: path.join(here, "config.json") },
    "tallyfy-url": { type: "string" },
    org: { type: "string" },
    token: { type: "string" },
    "dry-run": { type: "boolean", default: false },
    "tallyfy-state": { type: "string" },
    verbose: { type: "boolean", default: false },
    scim: { type: "boolean", default: false },
    port: { type: "string", default: "8787" },
    "scim-token": { type: "string", default: "local-scim-token" },
  },
});

async function main(): Promise<number> {
  const real = args["tallyfy-url"];
  const token = args.token ?? process.env.TALLYFY_TOKEN;
  if (real && (!args.org || !token)) {
    console.error("--tallyfy-url needs --org <organization id> and --token <token> (or TALLYFY_TOKEN)");
    return 2;
  }
  if (args["dry-run"] && !real)
    console.warn("--dry-run only matters with --tallyfy-url; the fake Tallyfy is written to.");

  // Node 20 is supported here until 2027; the SDK's notice about it would only be noise.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const sqs = await startLocalSqs({ maxReceiveCount: 3, visibilityTimeoutSeconds: 1 });
  const secrets = await FakeSecretsManager.start();
  const dynamo = await startLocalDynamo();
  const fake = real ? undefined : await seededTallyfy();
  const calls: TallyfyCall[] = [];
  const tallyfyUrl = real ?? fake?.url ?? "";
  watchTallyfyCalls(new URL(tallyfyUrl).origin, calls, Boolean(real && args["dry-run"]));
  secrets.secrets.set(SECRET_ID, JSON.stringify({ accessToken: token ?? "local-token" }));
  const okta = await FakeOkta.start({ apiTokens: ["okta-local-token"] });
  seedAcme(okta);
  secrets.secrets.set(OKTA_SECRET_ID, JSON.stringify({ orgUrl: okta.url, apiToken: "okta-local-token" }));
  secrets.secrets.set(SCIM_SECRET_ID, args["scim-token"]);
  const auth0 = await FakeAuth0.start();
  seedTenant(auth0);
  secrets.secrets.set(AUTH0_SECRET_ID, auth0.secret);
  const identityStore = await FakeIdentityStore.start();
  seedStore(identityStore);
  const graph = await FakeGraph.start();
  seedEntraTenant(graph);
  secrets.secrets.set(ENTRA_SECRET_ID, graph.secret);
  const google = await FakeGoogleDirectory.start();
  seedGoogleDirectory(google);
  secrets.secrets.set(GOOGLE_SECRET_ID, google.secret);

  const configJson = readFileSync(args.config, "utf8");
  Object.assign(process.env, {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    DIRECTORY_TABLE_NAME: dynamo.tableName,
    POWERTOOLS_LOG_LEVEL: args.verbose ? "INFO" : "SILENT",
    POWERTOOLS_METRICS_DISABLED: "true",
    SYNC_CONFIG: configJson,
    MAX_RECEIVE_COUNT: "3",
    RECONCILE_QUEUE_URL: sqs.queues.reconcile.url,
    DEPARTURES_QUEUE_URL: sqs.queues.departures.url,
    OKTA_SECRET_ID,
    INGEST_QUEUE_URL: sqs.queues.ingest.url,
    TALLYFY_SECRET_ID: SECRET_ID,
    TALLYFY_ORG_ID: args.org ?? fake?.organizationId ?? "",
    TALLYFY_API_URL: tallyfyUrl,
    SCIM_TOKEN_SECRET_ID: SCIM_SECRET_ID,
    AUTH0_SECRET_ID,
    IDENTITY_STORE_ENDPOINT: identityStore.endpoint,
    ENTRA_SECRET_ID,
    GOOGLE_SECRET_ID,
  });
  // The webhook functions, with the secrets the samples carry (the stack generates its own);
  // loaded now, as the entry points are, so they log at the level just set.
  const { createWebhookHandler } = await import("../handlers/runtime/webhook-handler.js");
  const { sendEnvelope } = await import("./webhooks.js");
  const webhooks = await Promise.all(
    [
      [entraSource, ENTRA.clientState],
      [googleSource, GOOGLE.token],
    ].map(async ([source, secret]) => {
      const handler: WebhookHandler = createWebhookHandler({
        source: source as typeof entraSource,
        secrets: async () => [secret as string],
        sqs: sqs.client,
        ingestQueueUrl: sqs.queues.ingest.url,
      });
      return { source: (source as typeof entraSource).id, server: await startScimServer(handler) };
    }),
  );
  // Each entry point reads its environment when loaded, as in Lambda; the two differ only in their DLQ.
  process.env.DEAD_LETTER_QUEUE_URL = sqs.queues.ingestDeadLetter.url;
  const ingest: SqsHandler = (await import("../handlers/ingest.js")).handler;
  process.env.DEAD_LETTER_QUEUE_URL = sqs.queues.reconcileDeadLetter.url;
  const apply: SqsHandler = (await import("../handlers/apply.js")).handler;

  const sources = [
    {
      source: new LocalEventSource({
        client: sqs.client,
        queue: sqs.queues.ingest,
        handler: ingest,
        functionName: "ingest",
      }),
      queue: sqs.queues.ingest,
    },
    {
      source: new LocalEventSource({
        client: sqs.client,
        queue: sqs.queues.reconcile,
        handler: apply,
        functionName: "apply",
      }),
      queue: sqs.queues.reconcile,
    },
    {
      // The departures lane; in AWS a function of its own that books Tallyfy's budget ahead of joins.
      source: new LocalEventSource({
        client: sqs.client,
        queue: sqs.queues.departures,
        handler: apply,
        functionName: "departures",
      }),
      queue: sqs.queues.departures,
    },
  ];

  console.log("tallyfy-idp-sync: local run");
  console.log(`  queues    fauxqs on ${sqs.endpoint}`);
  console.log(`  directory dynalite on ${dynamo.endpoint}, table ${dynamo.tableName}`);
  console.log(
    `  Tallyfy   ${real ? `${real} (organization ${args.org}${args["dry-run"] ? ", dry run: reads only" : ""})` : `fake on ${fake?.url}, organization ${fake?.organizationId}: ${fake?.members.size} members, ${fake?.groups.size} groups`}`,
  );
  console.log(`  Okta      fake on ${okta.url}: ${okta.users.size} users, ${okta.groups.size} groups`);
  console.log(`  Auth0     fake on ${auth0.url}: ${auth0.users.size} users, ${auth0.roles.size} roles`);
  console.log(
    `  Identity Center fake store ${identityStore.identityStoreId} on ${identityStore.endpoint}: ${identityStore.users.size} users`,
  );
  console.log(`  config    ${path.relative(process.cwd(), args.config)}`);
  console.log("");

  const before = fake ? snapshot(fake) : undefined;
  const replayEvents = async () => {
    const files = eventFiles(args.events);
    for (const [index, file] of files.entries()) {
      const bodies = bodiesOf(file);
      const stepStart = fake ? snapshot(fake) : undefined;
      const callsBefore = calls.length;
      for (const body of bodies) {
        const request = webhookRequestOf(body);
        if (request) {
          // A captured webhook request: through the source's webhook function, as API Gateway sends it.
          const server = webhooks.find((w) => w.source === request.source)?.server;
          const status = await sendEnvelope(
            `${new URL(server?.url ?? "").origin}/${request.source}`,
            request.envelope,
          );
          console.log(`   ${request.source} webhook answered ${status}`);
          continue;
        }
        await sqs.client.send(new SendMessageCommand({ QueueUrl: sqs.queues.ingest.url, MessageBody: body }));
      }
      const drained = await drain(sqs.client, sources, 120_000);
      console.log(`${index + 1}. ${path.basename(file)}  ${bodies.map(summary).join("; ")}`);
      const lines = fake && stepStart ? describeChanges(stepStart, snapshot(fake)) : [];
      const writes = calls.slice(callsBefore).filter((c) => c.method !== "GET");
      if (!fake)
        lines.push(
          ...writes.map((c) => `${c.dryRun ? "would" : "did"} ${c.method} ${c.path} -> ${c.status}`),
        );
      for (const line of lines.length > 0 ? lines : ["(no change in Tallyfy)"]) console.log(`   ${line}`);
      if (!drained) console.log("   ! the queues did not drain within two minutes");
    }
  };
  if (args.scim) {
    const served = await serveScim(sources, sqs.client, Number(args.port));
    if (!served) return 2;
    const lines = fake && before ? describeChanges(before, snapshot(fake)) : [];
    console.log("");
    console.log("What changed in Tallyfy:");
    for (const line of lines.length > 0 ? lines : ["(no change in Tallyfy)"]) console.log(`   ${line}`);
  } else {
    await replayEvents();
  }

  console.log("");
  console.log("Dead-letter queues:");
  for (const [name, queue] of [
    ["ingest", sqs.queues.ingestDeadLetter],
    ["reconcile", sqs.queues.reconcileDeadLetter],
  ] as const) {
    const letters = await readDeadLetters(sqs.client, queue);
    console.log(`  ${name}: ${letters.length} message${letters.length === 1 ? "" : "s"}`);
    for (const letter of letters) {
      console.log(
        `    ${letter.errorType}: ${letter.errorMessage}${letter.eventId ? `  (event ${letter.eventId})` : ""}${letter.entity ? `  (${letter.entity})` : ""}`,
      );
    }
  }
  // Departures the brake held: still active in Tallyfy until an administrator decides.
  const holds = await directoryFrom(dynamo.tableName, dynamo.client).holds.list();
  const held = holds.filter((h) => h.hold.state === "held");
  console.log("");
  console.log(
    `Held departures: ${held.length}${held.length > 0 ? " (npx tallyfy-idp-sync holds approve | reject)" : ""}`,
  );
  for (const h of held) console.log(`  ${h.address}: ${h.hold.reason}`);
  const reads = calls.filter((c) => c.method === "GET").length;
  console.log("");
  console.log(
    `Tallyfy calls: ${calls.length} (${reads} reads, ${calls.length - reads} writes), ${calls.filter((c) => c.status === 429).length} throttled`,
  );

  const oktaReads = okta.requests.length;
  console.log(
    `Okta calls: ${oktaReads} (all reads), ${okta.requests.filter((r) => r.status === 429).length} throttled`,
  );

  const stateFile = args["tallyfy-state"];
  if (stateFile) {
    await writeTallyfyState(
      new TallyfyClient({
        organizationId: args.org ?? fake?.organizationId ?? "",
        baseUrl: tallyfyUrl,
        tokens: new StaticTokenSource(token ?? "local-token"),
      }),
      stateFile,
      new Set(held.map((h) => h.email)),
    );
    console.log(`Tallyfy's final state: ${stateFile}`);
  }

  console.log(
    `Auth0 calls: ${auth0.requests.length} (all reads), ${auth0.requests.filter((r) => r.status === 429).length} throttled; Identity Store calls: ${identityStore.calls.length}`,
  );
  if (graph.requests.length + google.requests.length > 0)
    console.log(
      `Graph calls: ${graph.requests.length}; Google Directory API calls: ${google.requests.length}`,
    );
  await Promise.all([
    ...webhooks.map((w) => w.server.stop()),
    graph.stop(),
    google.stop(),
    sqs.stop(),
    secrets.stop(),
    fake?.stop(),
    okta.stop(),
    auth0.stop(),
    identityStore.stop(),
    dynamo.stop(),
  ]);
  return 0;
}

/** A small organization: an admin, three staff, one contractor, three groups. */
async function seededTallyfy(): Promise<FakeTallyfy> {
  const fake = await FakeTallyfy.start({ organizationId: "org-demo", tokens: ["local-token"] });
  fake.addMember({
    email: "dana@example.com",
    first_name: "Dana",
    last_name: "Admin",
    role: "admin",
    timezone: "America/New_York",
  });
  const bob = fake.addMember({
    email: "bob@example.com",
    first_name: "Bob",
    last_name: "Stone",
    job_title: "Engineer",
    timezone: "Europe/Berlin",
  });
  fake.addMember({ email: "carol@example.com", first_name: "Carol", last_name: "King", role: "light" });
  // Leaving, in the Okta samples.
  fake.addMember({ email: "bob.martinez@example.com", first_name: "Bob", last_name: "Martinez" });
  fake.addGroup({ name: "Engineering", description: "Everyone who builds", members: [bob.id] });
  fake.addGroup({ name: "Sales", description: "Everyone who sells" });
  fake.addGroup({ name: "Partners", description: "People outside the company we work with" });
  return fake;
}

/** Records every call to Tallyfy; in a dry run, answers writes itself instead of sending them. */
function watchTallyfyCalls(origin: string, calls: TallyfyCall[], dryRun: boolean): void {
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    const method = init?.method ?? "GET";
    if (url.origin !== origin) return realFetch(input, init);
    const callPath = url.pathname + url.search;
    if (dryRun && method !== "GET") {
      calls.push({ method, path: callPath, status: 200, dryRun: true });
      return new Response(null, { status: 200 });
    }
    const response = await realFetch(input, init);
    calls.push({ method, path: callPath, status: response.status, dryRun: false });
    return response;
  };
}

function eventFiles(target: string): string[] {
  if (!statSync(target).isDirectory()) return [target];
  return readdirSync(target)
    .filter((name) => !name.startsWith("."))
    .sort()
    .map((name) => path.join(target, name));
}

/** A file holds one event, an array of events, or (deliberately) something malformed, sent as is. */
function bodiesOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  try {
    const json: unknown = JSON.parse(text);
    return Array.isArray(json) ? json.map((item) => JSON.stringify(item)) : [text];
  } catch {
    return [text];
  }
}

/** A captured webhook request (`{httpMethod, headers, body}`) and the source it is for: Google's carry X-Goog headers. */
function webhookRequestOf(body: string) {
  try {
    const json = JSON.parse(body);
    if (typeof json?.httpMethod !== "string" || typeof json.headers !== "object") return undefined;
    const google = Object.keys(json.headers ?? {}).some((h) => h.toLowerCase().startsWith("x-goog-"));
    return { source: google ? "google" : "entra", envelope: json };
  } catch {
    return undefined;
  }
}

function summary(body: string): string {
  try {
    const json = JSON.parse(body);
    const okta = recogniseOkta(json);
    if (okta) {
      const events = okta.events.map((e) => {
        const { eventType, target } = e as { eventType?: string; target?: { alternateId?: string }[] };
        return `${eventType} ${target?.[0]?.alternateId ?? ""}`.trim();
      });
      return `Okta ${okta.format === "event-hook" ? "Event Hook" : "Log Streaming"}: ${events.join(", ")}`;
    }
    if (typeof json.httpMethod === "string") {
      const headers = json.headers ?? {};
      const state = headers["X-Goog-Resource-State"] ?? headers["x-goog-resource-state"];
      if (state) return `Google push: ${state} ${json.body?.primaryEmail ?? ""}`.trim();
      const items = (json.body?.value ?? []) as {
        changeType?: string;
        lifecycleEvent?: string;
        resource?: string;
      }[];
      const token = json.queryStringParameters?.validationToken;
      if (token) return "Graph validation request";
      return `Graph notification: ${items.map((i) => i.lifecycleEvent ?? `${i.changeType} ${i.resource}`).join(", ")}`;
    }
    if (typeof json["detail-type"] === "string") {
      // Another EventBridge envelope (Auth0, Identity Center): what it is and where it came from.
      const what =
        json.detail?.data?.type ?? json.detail?.type ?? json.detail?.eventName ?? json["detail-type"];
      return `EventBridge ${json.source}: ${what}`;
    }
    return [json.type, json.user?.email, json.group?.name].filter(Boolean).join(" ");
  } catch {
    return "malformed message";
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

/**
 * Serves the real SCIM function on loopback until SIGINT or SIGTERM, running the pipeline
 * meanwhile; then stops taking requests and lets the pipeline finish. False when the port is taken.
 */
async function serveScim(
  sources: Parameters<typeof drain>[1],
  client: Parameters<typeof drain>[0],
  port: number,
): Promise<boolean> {
  const { handler } = (await import("../handlers/scim.js")) as { handler: ScimHandler };
  let server: LocalScimServer;
  try {
    server = await startScimServer(handler, port);
  } catch (error) {
    console.error(
      `cannot serve SCIM on 127.0.0.1:${port}: ${(error as Error).message}; choose another --port`,
    );
    return false;
  }
  console.log(`SCIM endpoint: ${server.url}`);
  console.log(`  bearer token: the --scim-token value (default local-scim-token). Ctrl-C to stop.`);
  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      stopping = true;
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  // The pipeline runs while the endpoint serves, as the event source mappings would.
  const running = (async () => {
    while (!stopping) {
      await drain(client, sources, 5_000);
      await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 200))]);
    }
  })();
  await stopped;
  await server.stop();
  await running;
  console.log("");
  console.log("Stopped serving; finishing the pipeline...");
  if (!(await drain(client, sources, 120_000)))
    console.log("   ! the queues did not drain within two minutes");
  return true;
}
