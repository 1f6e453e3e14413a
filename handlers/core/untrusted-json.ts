/**
 * Guards for JSON that comes from outside (identity providers, SCIM clients, queue producers).
 *
 * Two classes of body can hurt a Node process before any schema sees them:
 * - a key (or a segment of a dotted or URN path used as a key) named `__proto__`, `constructor`
 *   or `prototype`: a library that walks such a path (scim-patch does) reaches
 *   `Object.prototype` and changes every object of the process;
 * - nesting so deep that a recursive walk overflows the stack (JSON.parse itself does not).
 * Both are found here without recursion, so the check cannot overflow either.
 */

/** Key segments that lead from an object to a prototype, compared ignoring case. */
const FORBIDDEN_SEGMENTS = new Set(["__proto__", "constructor", "prototype"]);

/** How deep a JSON value from an identity provider may nest; the deepest real body is under 10. */
export const MAX_UNTRUSTED_DEPTH = 32;

/** Why a value was refused: a key that names a prototype, or nesting past the bound. */
export interface UntrustedJsonProblem {
  readonly kind: "forbiddenKey" | "tooDeep";
  /** Where, as a JSON path (`$.Operations[0].value["__proto__.roles"]`). */
  readonly at: string;
  readonly message: string;
}

/**
 * True when a key or path names a prototype in any of its segments: `__proto__`,
 * `name.constructor`, `urn:x:prototype:y`, `emails[__proto__ eq 1]`. Quoted strings inside a
 * filter are values, not segments, and are passed over.
 */
export function namesPrototype(keyOrPath: string): boolean {
  return segmentsOf(keyOrPath).some((segment) => FORBIDDEN_SEGMENTS.has(segment.toLowerCase()));
}

/**
 * Stricter, for paths a library walks by following properties (scim-patch): also true when a
 * segment names a member every object or array inherits (`toString`, `valueOf`, `map`), which
 * such a walk would step into and change for the whole process (GHSA-2mhw-wcx5-v3xj).
 */
export function namesInheritedMember(keyOrPath: string): boolean {
  return (
    namesPrototype(keyOrPath) ||
    segmentsOf(keyOrPath).some((segment) => segment in Object.prototype || segment in Array.prototype)
  );
}

function segmentsOf(keyOrPath: string): string[] {
  const unquoted = keyOrPath.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return unquoted.split(/[^A-Za-z0-9_$]+/).filter(Boolean);
}

/**
 * The first problem in a parsed JSON value, or undefined when it is safe to walk: every key at
 * every depth is checked with {@link namesPrototype}, and nesting is bounded by `maxDepth`.
 */
export function findUntrustedJsonProblem(
  value: unknown,
  maxDepth: number = MAX_UNTRUSTED_DEPTH,
  /** Which keys are refused. @default namesPrototype */
  refuses: (key: string) => boolean = namesPrototype,
): UntrustedJsonProblem | undefined {
  const stack: { value: unknown; depth: number; at: string }[] = [{ value, depth: 0, at: "$" }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value: current, depth, at } = next;
    if (current === null || typeof current !== "object") continue;
    if (depth >= maxDepth) {
      return { kind: "tooDeep", at, message: `nested deeper than ${maxDepth} levels at ${at}` };
    }
    if (Array.isArray(current)) {
      current.forEach((item, index) => {
        stack.push({ value: item, depth: depth + 1, at: `${at}[${index}]` });
      });
      continue;
    }
    for (const key of Object.keys(current)) {
      const where = `${at}[${JSON.stringify(key)}]`;
      if (refuses(key)) {
        return {
          kind: "forbiddenKey",
          at: where,
          message: `the key ${JSON.stringify(key)} at ${at} names a prototype or an inherited member (__proto__, constructor, prototype, toString, …), which no identity attribute does`,
        };
      }
      stack.push({ value: (current as Record<string, unknown>)[key], depth: depth + 1, at: where });
    }
  }
  return undefined;
}

/** The prototypes every parsed JSON object and array inherits from. */
const GUARDED_PROTOTYPES: readonly object[] = [Object.prototype, Array.prototype];

/** A call changed a built-in prototype; the change was undone. Permanent: the input is hostile. */
export class PrototypeChangedError extends Error {
  public constructor(public readonly keys: readonly string[]) {
    super(`the input tried to change a built-in prototype (${keys.join(", ")}); the change was undone`);
    this.name = "PrototypeChangedError";
  }
}

/**
 * Runs synchronous work that walks untrusted paths (a third-party PATCH library) and, should it
 * have changed `Object.prototype` or `Array.prototype` despite the checks above, restores them
 * and throws a {@link PrototypeChangedError}: the process never stays polluted.
 */
export function guardingPrototypes<T>(work: () => T): T {
  // The prototypes, and each function they hold (`toString.x = …` changes every object's toString).
  const guarded = [
    ...GUARDED_PROTOTYPES,
    ...GUARDED_PROTOTYPES.flatMap((proto) =>
      Reflect.ownKeys(proto)
        .map((key) => Object.getOwnPropertyDescriptor(proto, key)?.value)
        .filter((member): member is object => typeof member === "function"),
    ),
  ];
  const before = guarded.map((target) => Object.getOwnPropertyDescriptors(target));
  const result = work();
  const changed: string[] = [];
  guarded.forEach((proto, index) => {
    const was = before[index] as Record<PropertyKey, PropertyDescriptor>;
    for (const key of Reflect.ownKeys(proto)) {
      // `was` is itself an object: only its own keys count, or a polluted key would look old.
      if (!Object.hasOwn(was, key)) {
        Reflect.deleteProperty(proto, key);
        changed.push(String(key));
      } else if (!sameDescriptor(Object.getOwnPropertyDescriptor(proto, key), was[key])) {
        Object.defineProperty(proto, key, was[key] as PropertyDescriptor);
        changed.push(String(key));
      }
    }
    for (const key of Reflect.ownKeys(was)) {
      if (!Reflect.getOwnPropertyDescriptor(proto, key)) {
        Object.defineProperty(proto, key, was[key] as PropertyDescriptor);
        changed.push(String(key));
      }
    }
  });
  if (changed.length > 0) throw new PrototypeChangedError(changed);
  return result;
}

function sameDescriptor(a: PropertyDescriptor | undefined, b: PropertyDescriptor | undefined): boolean {
  return a?.value === b?.value && a?.get === b?.get && a?.set === b?.set && a?.writable === b?.writable;
}
