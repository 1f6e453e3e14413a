/**
 * Reading a source's deployment (plain data from `handlers/sources/<id>/deployment.ts`) into what
 * the construct builds: which of its EventBridge rules are wanted and on which bus, and the AWS
 * API grant with its placeholders filled in.
 */
import type { AnyIdentitySource, EventBridgeRoute } from "../../handlers/core/source.js";

/** The source's EventBridge rules, one or several. */
export function routesOf(source: AnyIdentitySource): readonly EventBridgeRoute[] {
  const declared = source.deployment?.eventBridge;
  if (declared === undefined) return [];
  return Array.isArray(declared) ? declared : [declared as EventBridgeRoute];
}

/** Where a source's rules read from: a bus by rule name, or one bus for its first rule. */
export interface RouteBuses {
  readonly eventBusName?: string;
  readonly eventBusNames?: Readonly<Record<string, string>>;
}

/** Each wanted rule with its bus; a rule without a bus is not built. */
export function wantedRoutes(
  source: AnyIdentitySource,
  buses: RouteBuses,
): { readonly route: EventBridgeRoute; readonly bus: string }[] {
  return routesOf(source).flatMap((route, index) => {
    const bus = buses.eventBusNames?.[route.name] ?? (index === 0 ? buses.eventBusName : undefined);
    return bus === undefined ? [] : [{ route, bus }];
  });
}

/** What is wrong with the buses given for a source's rules, one line each. */
export function routeProblems(source: AnyIdentitySource, buses: RouteBuses): string[] {
  const names = routesOf(source).map((r) => r.name);
  const problems = Object.keys(buses.eventBusNames ?? {})
    .filter((name) => !names.includes(name))
    .map(
      (name) =>
        `sources.${source.id}.eventBusNames.${name}: ${source.id} has no such rule (${names.join(", ") || "none"})`,
    );
  for (const { route, bus } of wantedRoutes(source, buses)) {
    if (route.busPrefix && !bus.startsWith(route.busPrefix)) {
      problems.push(
        `sources.${source.id}.eventBusName: must be the ${source.id} partner bus, ${route.busPrefix}<...>`,
      );
    }
    if (route.busName && bus !== route.busName) {
      problems.push(
        `sources.${source.id}.eventBusNames.${route.name}: ${source.id} writes only to the "${route.busName}" bus`,
      );
    }
  }
  return problems;
}

/**
 * The source's AWS API grant with `{partition}`, `{account}` and `{config.<key>}` filled in, or
 * the configuration keys it needs that are not set.
 */
export function awsApiGrant(
  source: AnyIdentitySource,
  sourceConfig: unknown,
  aws: { readonly partition: string; readonly account: string },
): { readonly actions: string[]; readonly resources: string[] } | { readonly missing: string[] } | undefined {
  const api = source.deployment?.awsApi;
  if (!api) return undefined;
  const config = (sourceConfig ?? {}) as Record<string, unknown>;
  const missing = new Set<string>();
  const resources = api.resources.map((template) =>
    template
      .replaceAll("{partition}", aws.partition)
      .replaceAll("{account}", aws.account)
      .replace(/\{config\.([A-Za-z0-9_]+)\}/g, (_, key: string) => {
        const value = config[key];
        if (typeof value === "string" && value !== "") return value;
        missing.add(`syncConfig["${source.id}"].${key}`);
        return "";
      }),
  );
  return missing.size > 0 ? { missing: [...missing] } : { actions: [...api.actions], resources };
}
