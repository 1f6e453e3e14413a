/**
 * `tallyfy-idp-sync plan`: what a full reconciliation would change, like `terraform plan`. It
 * lists each source that can list its users and reads Tallyfy, and never writes: the sources'
 * and Tallyfy's clients are used for GET requests only, and the directory (when given) is read.
 */
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { SyncConfig } from "../handlers/core/config.js";
import { mergeEvent, type Person, personKey } from "../handlers/core/desired-state.js";
import type { AnyIdentitySource } from "../handlers/core/source.js";
import { FullSyncStore } from "../handlers/full-sync/store.js";
import { OktaClient } from "../handlers/sources/okta/client.js";
import {
  SecretsManagerOktaCredentials,
  StaticOktaCredentials,
} from "../handlers/sources/okta/credentials.js";
import { TallyfyClient } from "../handlers/tallyfy/client.js";
import { SecretsManagerTokenSource, StaticTokenSource } from "../handlers/tallyfy/credentials.js";
import { computeDrift, type Drift, readSnapshot } from "../handlers/tallyfy/drift.js";
import type { DeployedSettings } from "./stack.js";

export interface PlanInput {
  readonly config: SyncConfig;
  readonly sources: readonly AnyIdentitySource[];
  /** A source's clients (read-only use). */
  readonly connection: (source: AnyIdentitySource) => unknown;
  readonly tallyfy: TallyfyClient;
  /** The deployed directory, to know whom the sync manages; without it, only the listing counts. */
  readonly store?: FullSyncStore;
  readonly onProgress?: (source: string, listed: number) => void;
}

export interface Plan extends Drift {
  readonly listed: Readonly<Record<string, number>>;
  /** Departures the departure brake holds (from the directory): not in the plan until approved. */
  readonly departuresHeld: readonly {
    readonly email: string;
    readonly source: string;
    readonly reason: string;
  }[];
  /** Sources whose listing failed: no departure is inferred from them. */
  readonly failed: Readonly<Record<string, string>>;
}

export async function plan(input: PlanInput): Promise<Plan> {
  const { config } = input;
  const runId = `plan-${Date.now()}`;
  const listedAt = new Date().toISOString();
  const listing = input.sources.filter((s) => s.listUsers);
  const known = input.store
    ? await input.store.everyone(listing.map((s) => s.id))
    : { people: [], links: [] };
  const people = new Map<string, Person>(known.people.map((p) => [p.email, p]));
  const listed: Record<string, number> = {};
  const failed: Record<string, string> = {};
  const seen = new Set<string>();
  for (const source of listing) {
    listed[source.id] = 0;
    try {
      const pages = source.listUsers?.(
        {
          config,
          sourceConfig: config[source.id],
          connection: () => input.connection(source),
          deadline: Date.now() + 3_600_000,
          listedAt,
          runId,
        },
        undefined,
      );
      for await (const page of pages ?? []) {
        for (const user of page.users) {
          seen.add(`${source.id}#${user.subject}`);
          const linked = known.links.find((l) => l.source === source.id && l.subject === user.subject)?.email;
          for (const event of user.events) {
            if (!event.user) continue;
            const email = linked ?? personKey(event.user.email);
            people.set(
              email,
              mergeEvent(people.get(email), { ...event, user: { ...event.user, email } }, config).person,
            );
          }
        }
        listed[source.id] = (listed[source.id] ?? 0) + page.users.length;
        input.onProgress?.(source.id, listed[source.id] ?? 0);
      }
    } catch (error) {
      failed[source.id] = error instanceof Error ? error.message : String(error);
    }
  }
  const inferred = new Set<string>();
  for (const link of known.links) {
    if (failed[link.source] !== undefined || seen.has(`${link.source}#${link.subject}`)) continue;
    const person = people.get(link.email);
    if (!person || person.status?.value === "inactive") continue;
    inferred.add(link.email);
    const departure = { id: `${runId}:departed`, time: listedAt, type: "user.deactivated" as const };
    people.set(link.email, mergeEvent(person, { ...departure, user: { email: link.email } }, config).person);
  }
  const drift = computeDrift(config, [...people.values()], await readSnapshot(input.tallyfy), inferred);
  const departuresHeld = known.people.flatMap((p) =>
    p.departureHold?.state === "held"
      ? [{ email: p.email, source: p.departureHold.source, reason: p.departureHold.reason }]
      : [],
  );
  return { ...drift, listed, failed, departuresHeld };
}

/** The plan as a person reads it: grouped by person and by group, with counts. */
export function renderPlan(result: Plan): string {
  const lines: string[] = [];
  for (const [source, count] of Object.entries(result.listed)) {
    const failure = result.failed[source];
    lines.push(
      `${source}: ${count} users listed${failure ? ` (listing FAILED: ${failure}; no departure inferred)` : ""}`,
    );
  }
  lines.push("");
  const people = new Map<string, string[]>();
  const groups = new Map<string, string[]>();
  for (const change of result.changes) {
    const into = change.entity === "person" ? people : groups;
    const list = into.get(change.name) ?? [];
    const sign =
      change.action === "deprovision" || change.action === "group-remove"
        ? "-"
        : change.action === "invite" || change.action === "create-guest" || change.action === "group-add"
          ? "+"
          : "~";
    list.push(
      `  ${sign} ${change.action}: ${change.detail}${change.inferred ? " (not in the listing)" : ""}`,
    );
    into.set(change.name, list);
  }
  for (const [title, map] of [
    ["People", people],
    ["Groups", groups],
  ] as const) {
    if (map.size === 0) continue;
    lines.push(`${title}:`);
    for (const [name, changes] of [...map.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`${name}`, ...changes);
    }
    lines.push("");
  }
  const { members, guests } = result.unmanaged;
  if (members.length + guests.length > 0) {
    lines.push("Not managed by any source (left alone):");
    for (const email of members) lines.push(`  member ${email}`);
    for (const email of guests) lines.push(`  guest ${email}`);
    lines.push("");
  }
  if (result.departuresHeld.length > 0) {
    lines.push("Departures held by the departure brake (npx tallyfy-idp-sync holds):");
    for (const { email, reason } of result.departuresHeld) lines.push(`  ${email}: ${reason}`);
    lines.push("");
  }
  const count = (action: string) => result.changes.filter((c) => c.action === action).length;
  lines.push(
    `Plan: ${count("invite") + count("create-guest")} to invite, ${result.changes.length - count("invite") - count("create-guest") - count("deprovision")} to change, ${count("deprovision")} to deprovision; ${members.length + guests.length} unmanaged.`,
  );
  return lines.join("\n");
}

export interface LocalPlanOptions {
  readonly oktaUrl?: string;
  readonly tallyfyUrl: string;
  readonly tallyfyOrganization: string;
  readonly dynamodbEndpoint?: string;
  readonly table?: string;
  readonly region?: string;
}

/** Clients for a plan from flags; tokens come from the environment, never from arguments. */
/** The clients of a deployed stack: credentials from its secrets, as the functions read them. */
export function deployedPlanClients(settings: DeployedSettings, table: string) {
  const provider = new SecretsProvider();
  const okta =
    settings.oktaSecretId &&
    new OktaClient({
      credentials: new SecretsManagerOktaCredentials({
        secretId: settings.oktaSecretId,
        provider,
        maxAgeSeconds: 300,
      }),
    });
  const tallyfy = new TallyfyClient({
    organizationId: settings.tallyfyOrganization,
    baseUrl: settings.tallyfyUrl,
    tokens: new SecretsManagerTokenSource({
      secretId: settings.tallyfySecretId,
      provider,
      maxAgeSeconds: 300,
    }),
  });
  const store = new FullSyncStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), table);
  return { okta: okta || undefined, tallyfy, store };
}

export function localPlanClients(options: LocalPlanOptions, env: NodeJS.ProcessEnv) {
  const okta =
    options.oktaUrl &&
    new OktaClient({ credentials: new StaticOktaCredentials(options.oktaUrl, env.OKTA_API_TOKEN ?? "") });
  const tallyfy = new TallyfyClient({
    organizationId: options.tallyfyOrganization,
    baseUrl: options.tallyfyUrl,
    tokens: new StaticTokenSource(env.TALLYFY_TOKEN ?? ""),
  });
  const store =
    options.table &&
    new FullSyncStore(
      DynamoDBDocumentClient.from(
        new DynamoDBClient({ endpoint: options.dynamodbEndpoint, region: options.region ?? env.AWS_REGION }),
      ),
      options.table,
    );
  return { okta: okta || undefined, tallyfy, store: store || undefined };
}
