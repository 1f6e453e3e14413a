/**
 * PATCH (RFC 7644 section 3.5.2) as identity providers really send it, applied with `scim-patch`:
 * operation names in any case, paths with value filters, `replace` without a path whose value is
 * keyed by dotted or URN-prefixed paths, and member removal by value array (Entra) or by filter
 * (Okta). This file only checks and normalises the operations; the library applies them.
 */
import { type ScimPatchOperation, scimPatch } from "scim-patch";
import {
  findUntrustedJsonProblem,
  guardingPrototypes,
  namesInheritedMember,
} from "../../core/untrusted-json.js";
import { invalidPath, invalidSyntax, invalidValue, ScimRequestError } from "./errors.js";
import { type ResourceType, resolvePath } from "./resources.js";

/** Attributes a client may never set. */
const READ_ONLY = new Set(["id", "groups", "meta"]);
const IGNORED_KEYS = new Set(["schemas", "meta"]);

/**
 * Applies a PatchOp body to a resource (a plain object of its attributes) and returns the result,
 * still to be validated by the resource's reader. Throws a {@link ScimRequestError} for a body,
 * operation or path the endpoint cannot take; nothing is applied then.
 */
export function applyPatch(
  resource: Record<string, unknown>,
  body: unknown,
  type: ResourceType,
  id: string,
): Record<string, unknown> {
  const operations = (body as { Operations?: unknown } | null)?.Operations;
  if (!body || typeof body !== "object" || !Array.isArray(operations) || operations.length === 0) {
    throw invalidSyntax('a PATCH body must be a PatchOp with a non-empty "Operations" array');
  }
  // scim-patch walks dotted and URN keys inside a value: one naming a prototype would reach it.
  const problem = findUntrustedJsonProblem({ Operations: operations }, undefined, namesInheritedMember);
  if (problem) throw invalidValue(`the PATCH is refused: ${problem.message}`);
  // One operation at a time, in order, so each sees what the ones before it left.
  let working = resource;
  for (const [index, operation] of operations.entries()) {
    for (const step of normalise(operation, index, type, id)) working = applyOne(working, step);
  }
  return working;
}

/** A removal whose target is already gone has done its work: Entra and Okta retry removals. */
const GONE = /no target|not found|empty array|mono valued|does not exist/i;

function applyOne(resource: Record<string, unknown>, operation: ScimPatchOperation): Record<string, unknown> {
  const { op, path, value } = operation as { op: string; path?: string; value?: unknown };
  if (op === "remove" && path && Array.isArray(value) && /^[\w$]+$/.test(path)) {
    // Entra removes members by a value array: each entry by its value alone, whatever else it names.
    const values = new Set(value.map((entry: { value?: unknown }) => entry?.value));
    const list = resource[path];
    if (!Array.isArray(list)) return resource;
    return { ...resource, [path]: list.filter((entry: { value?: unknown }) => !values.has(entry?.value)) };
  }
  try {
    const {
      schemas: _s,
      meta: _m,
      ...patched
    } = guardingPrototypes(() =>
      scimPatch({ ...resource, schemas: [], meta: {} } as never, [operation], {
        mutateDocument: false,
        treatMissingAsAdd: true,
      }),
    ) as unknown as Record<string, unknown>;
    return patched;
  } catch (error) {
    if (error instanceof ScimRequestError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (op === "remove" && GONE.test(message)) return resource;
    throw invalidValue(`the PATCH could not be applied: ${message.replace(/^Invalid SCIM Patch: /, "")}`);
  }
}

function normalise(operation: unknown, index: number, type: ResourceType, id: string): ScimPatchOperation[] {
  const where = `Operations[${index}]`;
  if (!operation || typeof operation !== "object") throw invalidSyntax(`${where} must be an object`);
  const { op, path, value } = operation as { op?: unknown; path?: unknown; value?: unknown };
  const name = typeof op === "string" ? op.toLowerCase() : undefined;
  if (name !== "add" && name !== "remove" && name !== "replace") {
    throw invalidSyntax(`${where}.op must be add, remove or replace (any case), not ${JSON.stringify(op)}`);
  }
  if (path === undefined || path === null || path === "") {
    if (name === "remove") throw new ScimRequestError(400, `${where}: remove needs a path`, "noTarget");
    if (!value || typeof value !== "object" || Array.isArray(value)) {
      throw invalidValue(`${where}: without a path, the value must be an object of attributes`);
    }
    return [{ op: name, value: normaliseValueKeys(value as Record<string, unknown>, where, type, id) }];
  }
  if (typeof path !== "string") throw invalidPath(`${where}.path must be a string`);
  if (namesInheritedMember(path)) {
    throw invalidPath(
      `${where}: the path ${JSON.stringify(path)} names a prototype, which no attribute does`,
    );
  }
  const resolved = resolvePath(path, type);
  if (!resolved) throw invalidPath(`${where}: ${type} has no attribute "${path}"`);
  checkWritable(resolved, where);
  const target = withBooleans(resolved);
  if (name === "remove") {
    if (
      Array.isArray(value) &&
      value.some((entry: { value?: unknown }) => typeof entry?.value !== "string")
    ) {
      throw invalidValue(`${where}: each value to remove needs a "value"`);
    }
    return [{ op: name, path: target, value }];
  }
  if (/:manager$/.test(target)) return [{ op: "replace", path: target, value: managerOf(value) }];
  return [{ op: name, path: target, value }];
}

/** Entra's manager: a one-element array (its tutorial) or the id alone (what it sends). */
function managerOf(value: unknown): unknown {
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === "string" ? { value: first } : first;
}

/** `roles[primary eq "True"]`: Entra quotes booleans, which are kept as booleans. */
function withBooleans(path: string): string {
  return path.replace(
    /\b(eq|ne)\s+"(true|false)"/gi,
    (_m, op: string, b: string) => `${op} ${b.toLowerCase()}`,
  );
}

/** `{"name.givenName": …, "urn:…:User:department": …}` (Entra) or nested objects (RFC): both. */
function normaliseValueKeys(
  value: Record<string, unknown>,
  where: string,
  type: ResourceType,
  id: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (IGNORED_KEYS.has(key)) continue;
    // Okta sends the group's own id with every rename.
    if (key === "id") {
      if (v === id) continue;
      throw new ScimRequestError(400, `${where}: id is read-only`, "mutability");
    }
    const resolved = resolvePath(key, type);
    if (!resolved) throw invalidPath(`${where}: ${type} has no attribute "${key}"`);
    checkWritable(resolved, where);
    // An extension or a single complex attribute as a nested object (the RFC's form) sets the
    // sub-attributes it names and leaves the others, as the RFC says; flattened, the library does.
    if (FLATTENED.test(resolved) && v && typeof v === "object" && !Array.isArray(v)) {
      for (const [sub, subValue] of Object.entries(v)) {
        const subPath = resolvePath(`${resolved}${resolved.startsWith("urn:") ? ":" : "."}${sub}`, type);
        if (!subPath) throw invalidPath(`${where}: ${type} has no attribute "${key}.${sub}"`);
        out[subPath] = /:manager$/.test(subPath) ? managerOf(subValue) : subValue;
      }
      continue;
    }
    out[resolved] = /:manager$/.test(resolved) ? managerOf(v) : v;
  }
  return out;
}

/** What a path-less value may nest: an extension's URN, or `name`. */
const FLATTENED = /^(urn:.*:(User|Group)|name)$/;

function checkWritable(path: string, where: string): void {
  const root = /^[^.[]+/.exec(path)?.[0] ?? path;
  if (READ_ONLY.has(root)) throw new ScimRequestError(400, `${where}: ${root} is read-only`, "mutability");
}
