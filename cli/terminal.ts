/**
 * What the commands print comes partly from identity providers and dead letters (names, emails,
 * reasons, bodies). A value holding an escape sequence could rewrite the operator's terminal:
 * move the cursor over a line, hide text, retitle the window, or reverse text with bidi
 * overrides. Every character that is not printable is taken out before it reaches a terminal.
 */

/** C0 controls but tab and newline, DEL, C1 controls, and the bidi embedding and isolate marks. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this regex's purpose.
const UNPRINTABLE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

export function printable(text: string): string {
  return text.replace(UNPRINTABLE, "");
}

/** The stream, whose text writes are made printable first. */
export function printableStream(stream: NodeJS.WritableStream): NodeJS.WritableStream {
  return new Proxy(stream, {
    get(target, property, receiver) {
      if (property !== "write") return Reflect.get(target, property, receiver);
      return (chunk: unknown, ...rest: unknown[]) =>
        (target.write as (...args: unknown[]) => boolean)(
          typeof chunk === "string" ? printable(chunk) : chunk,
          ...rest,
        );
    },
  });
}
