/**
 * SCIM's error family (RFC 7644 section 3.12): every refusal the endpoint gives is one of these,
 * answered as an `urn:ietf:params:scim:api:messages:2.0:Error` body with its status and type.
 */

export type ScimType =
  | "invalidSyntax"
  | "invalidValue"
  | "invalidPath"
  | "invalidFilter"
  | "uniqueness"
  | "noTarget"
  | "mutability"
  | "tooMany";

/** A request the endpoint refuses; nothing of it was written. */
export class ScimRequestError extends Error {
  public constructor(
    public readonly status: number,
    message: string,
    public readonly scimType?: ScimType,
    /** Extra response headers, e.g. `WWW-Authenticate` on a 401. */
    public readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "ScimRequestError";
  }
}

export const invalidSyntax = (message: string) => new ScimRequestError(400, message, "invalidSyntax");
export const invalidValue = (message: string) => new ScimRequestError(400, message, "invalidValue");
export const invalidPath = (message: string) => new ScimRequestError(400, message, "invalidPath");
export const invalidFilter = (message: string) => new ScimRequestError(400, message, "invalidFilter");
export const notFound = (message: string) => new ScimRequestError(404, message);
