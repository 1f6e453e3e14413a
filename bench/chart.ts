/**
 * The bench's SVG charts, so a reader sees the figures without reading JSON: requests per second to
 * the fake Tallyfy over a replay against the rate limit (what pacing looks like next to learning
 * the limit from 429s), and ratios against a baseline beside their target (cold start).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface Series {
  readonly label: string;
  readonly color: string;
  /** Requests in each quarter second from the start. */
  readonly perQuarterSecond: readonly number[];
}

const WIDTH = 860;
const HEIGHT = 340;
const MARGIN = { left: 56, right: 20, top: 36, bottom: 44 };

export function writeRateChart(
  file: string,
  title: string,
  series: readonly Series[],
  limitPerSecond: number,
  /** How many times faster than Tallyfy the run went. */
  scale: number,
): void {
  // A one-second moving sum, so the line is a rate the limit can be read against.
  const rates = series.map((s) =>
    s.perQuarterSecond.map((_, i) =>
      s.perQuarterSecond.slice(Math.max(0, i - 3), i + 1).reduce((a, b) => a + b, 0),
    ),
  );
  const seconds = Math.max(1, ...series.map((s) => s.perQuarterSecond.length / 4));
  const top = Math.max(limitPerSecond * 1.3, ...rates.flat());
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (s: number) => MARGIN.left + (s / seconds) * plotW;
  const y = (r: number) => MARGIN.top + plotH - (r / top) * plotH;
  const lines = rates.map((rate, index) => {
    const points = rate.map((r, i) => `${x((i + 1) / 4).toFixed(1)},${y(r).toFixed(1)}`).join(" ");
    const { color, label } = series[index] as Series;
    return `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${points}"><title>${label}</title></polyline>`;
  });
  const ticks: string[] = [];
  const step = seconds > 40 ? 10 : 5;
  for (let s = 0; s <= seconds; s += step) {
    ticks.push(
      `<line x1="${x(s)}" y1="${MARGIN.top + plotH}" x2="${x(s)}" y2="${MARGIN.top + plotH + 4}" stroke="#555"/>`,
    );
    ticks.push(
      `<text x="${x(s)}" y="${MARGIN.top + plotH + 18}" font-size="11" text-anchor="middle">${s}</text>`,
    );
  }
  for (let r = 0; r <= top; r += Math.max(10, Math.round(top / 5 / 10) * 10)) {
    ticks.push(`<text x="${MARGIN.left - 6}" y="${y(r) + 4}" font-size="11" text-anchor="end">${r}</text>`);
    ticks.push(
      `<line x1="${MARGIN.left}" y1="${y(r)}" x2="${WIDTH - MARGIN.right}" y2="${y(r)}" stroke="#eee"/>`,
    );
  }
  const legend = series.map(
    (s, i) =>
      `<rect x="${MARGIN.left + 10 + i * 220}" y="12" width="14" height="3" fill="${s.color}"/><text x="${MARGIN.left + 30 + i * 220}" y="17" font-size="12">${s.label}</text>`,
  );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">
<title>${title}</title>
<rect width="100%" height="100%" fill="white"/>
${ticks.join("\n")}
<line x1="${MARGIN.left}" y1="${y(limitPerSecond)}" x2="${WIDTH - MARGIN.right}" y2="${y(limitPerSecond)}" stroke="#c00" stroke-dasharray="6 4"/>
<text x="${WIDTH - MARGIN.right}" y="${y(limitPerSecond) - 6}" font-size="11" text-anchor="end" fill="#c00">rate limit (${limitPerSecond}/s)</text>
${lines.join("\n")}
${legend.join("\n")}
<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 8}" font-size="12" text-anchor="middle">seconds since the first event (sped up ${scale} times: the limit is ${scale} times Tallyfy's, the latency a ${scale}th)</text>
<text x="14" y="${MARGIN.top + plotH / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${MARGIN.top + plotH / 2})">requests per second</text>
</svg>
`;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, svg);
}

export interface RatioRow {
  readonly label: string;
  /** One ratio to the baseline per measure, in the order of the measures' names. */
  readonly ratios: readonly number[];
}

const BAR_COLORS = ["#1f6feb", "#bf8700", "#2da44e"];

/** Grouped horizontal bars of ratios to a baseline, with the baseline (1) and the target marked. */
export function writeRatioChart(
  file: string,
  title: string,
  rows: readonly RatioRow[],
  measures: readonly string[],
  target: number,
): void {
  const bar = 14;
  const group = bar * measures.length + 12;
  const height = MARGIN.top + MARGIN.bottom + rows.length * group;
  const left = 110;
  const plotW = WIDTH - left - MARGIN.right;
  const top = Math.max(target * 1.25, ...rows.flatMap((r) => r.ratios)) * 1.05;
  const x = (ratio: number) => left + (ratio / top) * plotW;
  const bars = rows.flatMap((row, i) => {
    const y0 = MARGIN.top + i * group;
    return [
      `<text x="${left - 8}" y="${y0 + (bar * measures.length) / 2 + 4}" font-size="12" text-anchor="end">${row.label}</text>`,
      ...row.ratios.map((ratio, m) => {
        const y = y0 + m * bar;
        const over = ratio > target ? ` stroke="#cf222e" stroke-width="2"` : "";
        return `<rect x="${left}" y="${y}" width="${(x(ratio) - left).toFixed(1)}" height="${bar - 2}" fill="${BAR_COLORS[m] ?? "#555"}"${over}><title>${row.label}, ${measures[m]}: ${ratio.toFixed(2)}x</title></rect><text x="${(x(ratio) + 4).toFixed(1)}" y="${y + bar - 4}" font-size="10">${ratio.toFixed(2)}x</text>`;
      }),
    ];
  });
  const mark = (ratio: number, label: string, color: string) =>
    `<line x1="${x(ratio)}" y1="${MARGIN.top - 6}" x2="${x(ratio)}" y2="${height - MARGIN.bottom + 4}" stroke="${color}" stroke-dasharray="6 4"/><text x="${x(ratio)}" y="${height - MARGIN.bottom + 18}" font-size="11" text-anchor="middle" fill="${color}">${label}</text>`;
  const legend = measures.map(
    (name, m) =>
      `<rect x="${left + m * 160}" y="10" width="12" height="12" fill="${BAR_COLORS[m] ?? "#555"}"/><text x="${left + 18 + m * 160}" y="20" font-size="12">${name}</text>`,
  );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">
<title>${title}</title>
<rect width="100%" height="100%" fill="white"/>
${legend.join("\n")}
<text x="${WIDTH - MARGIN.right}" y="20" font-size="11" text-anchor="end" fill="#cf222e">outlined in red: over the target</text>
${bars.join("\n")}
${mark(1, "baseline 1x", "#555")}
${mark(target, `target ${target}x`, "#cf222e")}
<text x="${left + plotW / 2}" y="${height - 8}" font-size="12" text-anchor="middle">${title}</text>
</svg>
`;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, svg);
}
