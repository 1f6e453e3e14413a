/**
 * What `plan` and `dlq` print holds no Unicode bidi control character (CVE-2021-42574's class):
 * U+061C ARABIC LETTER MARK included, not only LRM, RLM and the embeddings.
 */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { printable, printableStream } from "../cli/terminal.js";

describe("text printed to the operator's terminal", () => {
  it("holds no Unicode bidi control character, ARABIC LETTER MARK (U+061C) included", () => {
    // Prepare: every character with Unicode's Bidi_Control property.
    const bidiControls = [
      0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
    ];
    const name = `Ann${bidiControls.map((c) => String.fromCodePoint(c)).join("")}Lee`;
    const sink = new PassThrough();
    let written = "";
    sink.on("data", (chunk: Buffer) => {
      written += chunk.toString("utf8");
    });

    // Act
    const direct = printable(name);
    printableStream(sink).write(`${name}\n`);

    // Assess
    expect([...direct].map((c) => c.codePointAt(0)?.toString(16))).toEqual(
      [..."AnnLee"].map((c) => c.codePointAt(0)?.toString(16)),
    );
    expect(written).toBe("AnnLee\n");
  });

  it("keeps a carriage return only where the progress line redraws itself (stderr), and never on stdout", () => {
    // Prepare: a value that would overwrite the line it is printed on.
    const hostile = "ok\rSECRETS LEAKED";

    // Act
    const stdout = printable(hostile);
    const stderr = printable(`\r${hostile}\u001b[2K`, true);

    // Assess
    expect(stdout).toBe("okSECRETS LEAKED");
    expect(stderr).toBe("\rok\rSECRETS LEAKED[2K");
  });
});
