/**
 * What the commands print comes partly from identity providers and dead letters (names, emails,
 * reasons, bodies). A value holding an escape sequence could rewrite the operator's terminal:
 * move the cursor over a line, hide text, retitle the window, or reverse text with bidi
 * overrides. Every character that is not printable is taken out before it reaches a terminal.
 */

/** C0 controls but tab and newline, DEL, C1 controls, and every bidi control (Unicode's Bidi_Control). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this regex's purpose.
const UNPRINTABLE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]|\p{Bidi_Control}/gu;
/** The same, but a carriage return, which a progress line of our own uses to redraw itself. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this regex's purpose.
const UNPRINTABLE_BUT_CR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|\p{Bidi_Control}/gu;

export function printable(text: string, keepCarriageReturn = false): string {
  return text.replace(keepCarriageReturn ? UNPRINTABLE_BUT_CR : UNPRINTABLE, "");
}

/**
 * The stream, whose text writes are made printable first. `keepCarriageReturn` is for stderr,
 * whose progress line redraws itself and holds only counts and source ids.
 */
export function printableStream(
  stream: NodeJS.WritableStream,
  keepCarriageReturn = false,
): NodeJS.WritableStream {
  return new Proxy(stream, {
    get(target, property, receiver) {
      if (property !== "write") return Reflect.get(target, property, receiver);
      return (chunk: unknown, ...rest: unknown[]) =>
        (target.write as (...args: unknown[]) => boolean)(
          typeof chunk === "string" ? printable(chunk, keepCarriageReturn) : chunk,
          ...rest,
        );
    },
  });
}
