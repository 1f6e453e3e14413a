/**
 * The SCIM endpoint's latency on this machine: the real SCIM handler behind the loopback server,
 * on dynalite and fauxqs (the pipeline does not run meanwhile: the endpoint never waits for it).
 * Each run makes `requests` creates, then as many PATCHes and filtered GETs, one at a time, and
 * the same number of `GET /ServiceProviderConfig` as the baseline: an authenticated round trip
 * through the same server and handler that touches no store.
 */
import { performance } from "node:perf_hooks";
import { startPipeline } from "../local/pipeline.js";

export interface LatencyFigures {
  readonly p50: number;
  readonly p99: number;
}

export interface ScimRun {
  readonly baseline: LatencyFigures;
  readonly create: LatencyFigures;
  readonly patch: LatencyFigures;
  readonly filteredGet: LatencyFigures;
}

export const TOKEN = "bench-token";

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export function figures(times: number[]): LatencyFigures {
  const sorted = [...times].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** One authenticated SCIM request to the endpoint at `base`, timed from send to the whole answer. */
export function scimCaller(base: string) {
  const headers = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/scim+json" };
  return async (method: string, resource: string, body?: unknown) => {
    const start = performance.now();
    const response = await fetch(`${base}${resource}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      ms: performance.now() - start,
      status: response.status,
      // biome-ignore lint/suspicious/noExplicitAny: a SCIM answer, read by the bench only
      body: (text ? JSON.parse(text) : undefined) as any,
    };
  };
}

export async function measureScim(requests = 1_000): Promise<ScimRun> {
  const pipeline = await startPipeline({ scim: { tokens: [TOKEN] } });
  const base = pipeline.scimUrl ?? "";
  const call = scimCaller(base);
  const timed = async (method: string, resource: string, body?: unknown): Promise<[number, unknown]> => {
    const { ms, status, body: answer } = await call(method, resource, body);
    if (status >= 300) throw new Error(`${method} ${resource}: ${status} ${JSON.stringify(answer)}`);
    return [ms, answer];
  };
  try {
    const times = {
      baseline: [] as number[],
      create: [] as number[],
      patch: [] as number[],
      get: [] as number[],
    };
    const ids: string[] = [];
    for (let i = 0; i < requests; i++) {
      const [ms] = await timed("GET", "/ServiceProviderConfig");
      times.baseline.push(ms);
    }
    for (let i = 0; i < requests; i++) {
      const userName = `bench.user${i}@example.com`;
      const [ms, body] = await timed("POST", "/Users", {
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
        userName,
        name: { givenName: "Bench", familyName: `User${i}` },
        emails: [{ primary: true, type: "work", value: userName }],
        active: true,
      });
      times.create.push(ms);
      ids.push((body as { id: string }).id);
    }
    for (const [i, id] of ids.entries()) {
      const [ms] = await timed("PATCH", `/Users/${id}`, {
        schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        Operations: [{ op: "Replace", path: "title", value: `Title ${i}` }],
      });
      times.patch.push(ms);
    }
    for (let i = 0; i < requests; i++) {
      const filter = encodeURIComponent(`userName eq "bench.user${i}@example.com"`);
      const [ms] = await timed("GET", `/Users?filter=${filter}`);
      times.get.push(ms);
    }
    return {
      baseline: figures(times.baseline),
      create: figures(times.create),
      patch: figures(times.patch),
      filteredGet: figures(times.get),
    };
  } finally {
    await pipeline.stop();
  }
}
