/**
 * What the endpoint answers: resources with their `meta`, list responses, the projection asked
 * for with `attributes` / `excludedAttributes`, and the discovery documents (RFC 7644 section 4).
 */
import {
  type AttributeDefinition,
  ENTERPRISE_SCHEMA,
  GROUP_SCHEMA,
  LIST_SCHEMA,
  RESOURCE_SCHEMAS,
  type ResourceType,
  resolvePath,
  TALLYFY_SCHEMA,
  USER_SCHEMA,
} from "./resources.js";
import type { GroupRecord, UserRecord } from "./store.js";

/** The largest body the endpoint reads, and the largest group it keeps. */
export const MAX_PAYLOAD_BYTES = 1_048_576;
export const MAX_GROUP_MEMBERS = 5_000;
/** The most resources one list response holds. */
export const MAX_RESULTS = 200;

type Json = Record<string, unknown>;

export function etagOf(version: number): string {
  return `W/"${version}"`;
}

function meta(type: ResourceType, record: UserRecord | GroupRecord, baseUrl: string): Json {
  return {
    resourceType: type,
    created: new Date(record.created).toISOString(),
    lastModified: new Date(record.lastModified).toISOString(),
    location: `${baseUrl}/${type}s/${record.id}`,
    version: etagOf(record.version),
  };
}

export function renderUser(record: UserRecord, baseUrl: string): Json {
  const { resource } = record;
  const schemas = [USER_SCHEMA];
  if (resource[ENTERPRISE_SCHEMA]) schemas.push(ENTERPRISE_SCHEMA);
  if (resource[TALLYFY_SCHEMA]) schemas.push(TALLYFY_SCHEMA);
  return { schemas, id: record.id, ...resource, meta: meta("User", record, baseUrl) };
}

export function renderGroup(record: GroupRecord, baseUrl: string): Json {
  return {
    schemas: [GROUP_SCHEMA],
    id: record.id,
    ...record.resource,
    members: record.members.map((value) => ({ value, $ref: `${baseUrl}/Users/${value}`, type: "User" })),
    meta: meta("Group", record, baseUrl),
  };
}

export function listResponse(resources: readonly Json[], total: number, startIndex: number): Json {
  return {
    schemas: [LIST_SCHEMA],
    totalResults: total,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

/**
 * Keeps only `attributes`, or drops `excludedAttributes` (comma-separated paths, RFC 7644 section
 * 3.4.2.5). `id` and `schemas` are always returned. Unknown names are ignored, as the RFC allows.
 */
export function project(
  resource: Json,
  type: ResourceType,
  attributes: string | undefined,
  excluded: string | undefined,
): Json {
  const paths = (list: string | undefined) =>
    (list ?? "")
      .split(",")
      .map((p) => resolvePath(p, type))
      .filter((p): p is string => p !== undefined)
      .map(split);
  const wanted = paths(attributes);
  if (wanted.length > 0) {
    const out: Json = { schemas: resource.schemas, id: resource.id };
    for (const [root, sub] of wanted) {
      const value = resource[root];
      if (value === undefined) continue;
      if (sub === undefined || !value || typeof value !== "object") out[root] = value;
      else if (Array.isArray(value)) out[root] = value.map((entry: Json) => pick(entry, sub));
      else out[root] = { ...(out[root] as Json | undefined), ...pick(value as Json, sub) };
    }
    return out;
  }
  const out: Json = { ...resource };
  for (const [root, sub] of paths(excluded)) {
    if (root === "id" || root === "schemas") continue;
    if (sub === undefined) delete out[root];
    else if (out[root] && typeof out[root] === "object" && !Array.isArray(out[root])) {
      const { [sub]: _gone, ...rest } = out[root] as Json;
      out[root] = rest;
    }
  }
  return out;
}

/** `name.givenName` -> [name, givenName]; `urn:…:User:department` -> [urn:…:User, department]. */
function split(path: string): [string, string | undefined] {
  const urn = [ENTERPRISE_SCHEMA, TALLYFY_SCHEMA].find((u) => path.startsWith(`${u}:`));
  if (urn) return [urn, path.slice(urn.length + 1)];
  const [root = path, sub] = path.replace(/\[.*\]/s, "").split(".");
  return [root, sub];
}

function pick(value: Json, key: string): Json {
  return key in value ? { [key]: value[key] } : {};
}

export function serviceProviderConfig(baseUrl: string): Json {
  return {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
    documentationUri: "https://github.com/tallyfy-idp-sync#scim-20-provisioning",
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: "oauthbearertoken",
        name: "Bearer token",
        description: "The token held in the stack's SCIM token secret, sent as Authorization: Bearer <token>",
        primary: true,
      },
    ],
    meta: { resourceType: "ServiceProviderConfig", location: `${baseUrl}/ServiceProviderConfig` },
  };
}

export function resourceTypes(baseUrl: string): Json[] {
  return [
    {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
      id: "User",
      name: "User",
      endpoint: "/Users",
      schema: USER_SCHEMA,
      schemaExtensions: [
        { schema: ENTERPRISE_SCHEMA, required: false },
        { schema: TALLYFY_SCHEMA, required: false },
      ],
      meta: { resourceType: "ResourceType", location: `${baseUrl}/ResourceTypes/User` },
    },
    {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
      id: "Group",
      name: "Group",
      endpoint: "/Groups",
      schema: GROUP_SCHEMA,
      meta: { resourceType: "ResourceType", location: `${baseUrl}/ResourceTypes/Group` },
    },
  ];
}

export function schemas(baseUrl: string): Json[] {
  const names: Record<string, string> = {
    [USER_SCHEMA]: "User",
    [ENTERPRISE_SCHEMA]: "EnterpriseUser",
    [TALLYFY_SCHEMA]: "TallyfyUser",
    [GROUP_SCHEMA]: "Group",
  };
  return Object.values(RESOURCE_SCHEMAS).flatMap((bySchema) =>
    Object.entries(bySchema as Record<string, readonly AttributeDefinition[]>).map(([id, attributes]) => ({
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
      id,
      name: names[id],
      attributes: attributes.map(describe),
      meta: { resourceType: "Schema", location: `${baseUrl}/Schemas/${id}` },
    })),
  );
}

function describe(a: AttributeDefinition): Json {
  return {
    name: a.name,
    type: a.type,
    multiValued: a.multiValued ?? false,
    required: a.required ?? false,
    caseExact: a.caseExact ?? false,
    mutability: a.mutability ?? "readWrite",
    returned: a.mutability === "writeOnly" ? "never" : a.name === "id" ? "always" : "default",
    uniqueness: a.uniqueness ?? "none",
    ...(a.description ? { description: a.description } : {}),
    ...(a.subAttributes ? { subAttributes: a.subAttributes.map(describe) } : {}),
  };
}
