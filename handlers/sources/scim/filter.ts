/**
 * List filters (RFC 7644 section 3.4.2.2), parsed and evaluated by `scim2-parse-filter`. Attribute
 * names are matched ignoring case, and values of attributes that are not case-exact (userName,
 * displayName, emails, …) are compared ignoring case, as the RFC asks and as Entra and Okta expect.
 */
import { filter as compile, type Filter, parse } from "scim2-parse-filter";
import { invalidFilter } from "./errors.js";
import { type ResourceType, resolvePath } from "./resources.js";

/** Attributes compared exactly; every other string is compared ignoring case. */
const CASE_EXACT = new Set(["id", "externalId", "members.value"]);

export interface ParsedFilter {
  /** True when the resource matches. */
  readonly matches: (resource: Record<string, unknown>) => boolean;
  /** An `eq` on a key the store can look up at once (possibly inside an `and`), or undefined. */
  readonly lookup?: {
    readonly attribute: "id" | "userName" | "externalId" | "displayName";
    readonly value: string;
  };
}

export function parseFilter(text: string, type: ResourceType): ParsedFilter {
  let ast: Filter;
  try {
    ast = parse(text);
  } catch (error) {
    throw invalidFilter(`filter ${JSON.stringify(text)} is not a SCIM filter: ${(error as Error).message}`);
  }
  const normalised = normalise(ast, type, "");
  const test = compile(normalised);
  return {
    matches: (resource) => test(folded(resource, "")),
    lookup: lookupOf(normalised),
  };
}

function normalise(ast: Filter, type: ResourceType, parent: string): Filter {
  switch (ast.op) {
    case "and":
    case "or":
      return { ...ast, filters: ast.filters.map((f) => normalise(f, type, parent)) };
    case "not":
      return { ...ast, filter: normalise(ast.filter, type, parent) };
    case "[]": {
      const attrPath = attribute(ast.attrPath, type);
      return { ...ast, attrPath, valFilter: normalise(ast.valFilter, type, `${attrPath}.`) };
    }
    default: {
      const attrPath = parent ? subAttribute(parent, ast.attrPath, type) : attribute(ast.attrPath, type);
      const full = `${parent}${attrPath}`;
      if (ast.op === "pr" || typeof ast.compValue !== "string" || CASE_EXACT.has(full))
        return { ...ast, attrPath };
      return { ...ast, attrPath, compValue: ast.compValue.toLowerCase() };
    }
  }
}

function attribute(path: string, type: ResourceType): string {
  const resolved = resolvePath(path, type);
  if (!resolved) throw invalidFilter(`${type} has no attribute "${path}"`);
  return resolved;
}

function subAttribute(parent: string, path: string, type: ResourceType): string {
  const resolved = resolvePath(`${parent}${path}`, type);
  if (!resolved) throw invalidFilter(`${type} has no attribute "${parent}${path}"`);
  return resolved.slice(parent.length);
}

/** The resource with every string that is not case-exact lower-cased, to match the normalised filter. */
function folded(value: unknown, path: string): unknown {
  if (typeof value === "string") return CASE_EXACT.has(path) ? value : value.toLowerCase();
  if (Array.isArray(value)) return value.map((v) => folded(v, path));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        folded(v, path && !path.startsWith("urn:") ? `${path}.${k}` : k),
      ]),
    );
  }
  return value;
}

function lookupOf(ast: Filter): ParsedFilter["lookup"] {
  if (ast.op === "and") {
    for (const f of ast.filters) {
      const found = lookupOf(f);
      if (found) return found;
    }
    return undefined;
  }
  if (ast.op !== "eq" || typeof ast.compValue !== "string") return undefined;
  if (
    ast.attrPath === "id" ||
    ast.attrPath === "userName" ||
    ast.attrPath === "externalId" ||
    ast.attrPath === "displayName"
  ) {
    return { attribute: ast.attrPath, value: ast.compValue };
  }
  return undefined;
}
