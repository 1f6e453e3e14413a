/**
 * The SCIM endpoint with a large company in its store: `users` users and `groups` groups created
 * through the endpoint itself, then, one at a time, `samples` of each request identity providers
 * send (create, PATCH, the filters Entra ID and Okta match with), and one PATCH adding `members`
 * users to one group. Each is judged against the SCIM function's timeout: a request that takes
 * longer is cut off by Lambda and retried by the provider, forever.
 */
import { startPipeline } from "../local/pipeline.js";
import { figures, type LatencyFigures, scimCaller, TOKEN } from "./scim.js";

/** The SCIM function's timeout (lib/ingress/scim-endpoint.ts). */
export const SCIM_TIMEOUT_MS = 25_000;

export interface ScimScaleOptions {
  readonly users: number;
  readonly groups: number;
  readonly samples: number;
  readonly members: number;
}

export interface ScimScaleRun {
  readonly options: ScimScaleOptions;
  readonly seedSeconds: number;
  readonly latencies: Readonly<Record<string, LatencyFigures>>;
  /** The one PATCH adding `members` users to a group: its time and status. */
  readonly bulkMembers: { readonly ms: number; readonly status: number };
}

const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

export async function measureScimScale(options: ScimScaleOptions): Promise<ScimScaleRun> {
  const pipeline = await startPipeline({ scim: { tokens: [TOKEN] } });
  const base = pipeline.scimUrl ?? "";
  const call = scimCaller(base);
  const must = async (method: string, resource: string, body?: unknown) => {
    const result = await call(method, resource, body);
    if (result.status >= 300)
      throw new Error(`${method} ${resource}: ${result.status} ${JSON.stringify(result.body)}`);
    return result;
  };
  const user = (i: number) => ({
    schemas: [USER],
    userName: `scale.user${i}@example.com`,
    externalId: `ext-${i}`,
    name: { givenName: "Scale", familyName: `User${i}` },
    emails: [{ primary: true, type: "work", value: `scale.user${i}@example.com` }],
    active: true,
  });
  try {
    // The store, filled through the endpoint, a few requests at a time.
    const seedStart = performance.now();
    const userIds: string[] = [];
    const inParallel = async (count: number, each: (i: number) => Promise<void>) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < count) await each(next++);
        }),
      );
    };
    await inParallel(options.users, async (i) => {
      userIds[i] = (await must("POST", "/Users", user(i))).body.id;
    });
    const groupIds: string[] = [];
    await inParallel(options.groups, async (g) => {
      groupIds[g] = (
        await must("POST", "/Groups", { schemas: [GROUP], displayName: `Scale Group ${g}` })
      ).body.id;
    });
    const seedSeconds = (performance.now() - seedStart) / 1000;

    // Each request a provider sends, `samples` times, one at a time, spread over the store.
    const times: Record<string, number[]> = {};
    const time = async (name: string, method: string, resource: string, body?: unknown) => {
      const { ms } = await must(method, resource, body);
      times[name] = [...(times[name] ?? []), ms];
    };
    const pick = (k: number, n: number) => Math.floor(((k + 0.5) * n) / options.samples);
    for (let k = 0; k < options.samples; k++) {
      const i = pick(k, options.users);
      const g = pick(k, options.groups);
      const q = (filter: string) => `?filter=${encodeURIComponent(filter)}`;
      await time("GET /ServiceProviderConfig (baseline)", "GET", "/ServiceProviderConfig");
      await time("POST /Users", "POST", "/Users", user(options.users + k));
      await time("PATCH /Users (replace title)", "PATCH", `/Users/${userIds[i]}`, {
        schemas: [PATCH],
        Operations: [{ op: "Replace", path: "title", value: `Title ${k}` }],
      });
      await time("userName eq", "GET", `/Users${q(`userName eq "scale.user${i}@example.com"`)}`);
      await time("externalId eq", "GET", `/Users${q(`externalId eq "ext-${i}"`)}`);
      await time(
        'emails[type eq "work"].value eq',
        "GET",
        `/Users${q(`emails[type eq "work"].value eq "scale.user${i}@example.com"`)}`,
      );
      await time("displayName eq (groups)", "GET", `/Groups${q(`displayName eq "Scale Group ${g}"`)}`);
    }
    const members = userIds.slice(0, options.members).map((value) => ({ value }));
    const bulk = await call("PATCH", `/Groups/${groupIds[0]}`, {
      schemas: [PATCH],
      Operations: [{ op: "add", path: "members", value: members }],
    });
    return {
      options,
      seedSeconds,
      latencies: Object.fromEntries(Object.entries(times).map(([name, ms]) => [name, figures(ms)])),
      bulkMembers: { ms: bulk.ms, status: bulk.status },
    };
  } finally {
    await pipeline.stop();
  }
}
