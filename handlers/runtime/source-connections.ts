/** The sources' clients for the functions that call providers (ingest, full sync, upkeep). */
import type { AnyIdentitySource } from "../core/source.js";
import { count, MetricName } from "./observability.js";

/**
 * Each source's clients, built on first use and kept for the container's life. A source that
 * cannot connect (not set up) throws on every use, so each of its records says why.
 */
export function sourceConnections(env: NodeJS.ProcessEnv): (source: AnyIdentitySource) => unknown {
  const connections = new Map<string, unknown>();
  return (source) => {
    if (!source.connect) return undefined;
    if (!connections.has(source.id)) {
      connections.set(
        source.id,
        source.connect({
          variables: env,
          onResponse: (status) => {
            if (status === 429) count(MetricName.SourceThrottled, { name: "source", value: source.id });
          },
        }),
      );
    }
    return connections.get(source.id);
  };
}
