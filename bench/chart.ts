/**
 * An SVG chart of requests per second to the fake Tallyfy over a replay, one line per target,
 * against the rate limit: what pacing looks like next to learning the limit from 429s.
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
