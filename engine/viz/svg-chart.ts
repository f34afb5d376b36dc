/**
 * Dependency-free SVG charts for notebooks, reports and docs.
 *
 * Every function returns a standalone `<svg xmlns=…>` document as a string:
 * hand it to `tslab.display.svg(...)` in a notebook (rendered inline, also on
 * GitHub once the executed notebook is committed), write it to a `.svg` file,
 * or embed it in HTML. All user-supplied text (titles, labels, series names)
 * is XML-escaped; numbers are clamped to finite values.
 *
 * @example
 * ```ts
 * import { lineChart } from './engine/viz/svg-chart.js';
 * const svg = lineChart({
 *   series: [{ name: 'rows/s', points: [[0, 10], [1, 40], [2, 25]] }],
 *   xLabel: 'batch',
 *   yLabel: 'rows/s',
 * });
 * ```
 *
 * @module
 */

import { extent } from '../types/arrays.js';

/** A point of a line series: `[x, y]`. */
export type Point = readonly [number, number];

/** Options shared by every chart. */
export interface ChartOptions {
  /** Title drawn above the plot area. */
  readonly title?: string;
  /** Label under the x axis. */
  readonly xLabel?: string;
  /** Label beside the y axis (rotated). */
  readonly yLabel?: string;
  /** Total width in px (default 640). */
  readonly width?: number;
  /** Total height in px (default 360). */
  readonly height?: number;
  /** Formats x-axis tick values (default: compact number). */
  readonly xFormat?: (value: number) => string;
  /** Formats y-axis tick values (default: compact number). */
  readonly yFormat?: (value: number) => string;
  /** Colours cycled through for series, bars or lanes. */
  readonly palette?: readonly string[];
}

/** One line of a {@link lineChart}. */
export interface LineSeries {
  readonly name: string;
  readonly points: readonly Point[];
  /** Overrides the palette colour. */
  readonly color?: string;
}

/** Options of {@link lineChart}. */
export interface LineChartOptions extends ChartOptions {
  readonly series: readonly LineSeries[];
  /** Draw a dot on each point (default: true when a series has ≤ 50 points). */
  readonly markers?: boolean;
  /** Force the y axis to include 0 (default false). */
  readonly yZero?: boolean;
}

/** One group of bars of a {@link barChart}: one value per category. */
export interface BarSeries {
  readonly name: string;
  readonly values: readonly number[];
  readonly color?: string;
}

/** Options of {@link barChart}. */
export interface BarChartOptions extends ChartOptions {
  /** Category labels along the x axis. */
  readonly categories: readonly string[];
  /** One or more series; several series are drawn as grouped bars. */
  readonly series: readonly BarSeries[];
}

/** One bar of a {@link timelineChart}. */
export interface TimelineRow {
  /** Lane (y-axis band) the bar is drawn on. */
  readonly lane: string;
  /** Start of the interval (x units, e.g. epoch ms). */
  readonly start: number;
  /** End of the interval (x units); `end < start` is swapped. */
  readonly end: number;
  /** Text drawn inside the bar when it fits, and shown as tooltip. */
  readonly label?: string;
  readonly color?: string;
}

/** Options of {@link timelineChart}. */
export interface TimelineChartOptions extends ChartOptions {
  readonly rows: readonly TimelineRow[];
  /** Vertical marker lines, e.g. a watermark: `{ x, label }`. */
  readonly markers?: readonly { readonly x: number; readonly label?: string; readonly color?: string }[];
}

/**
 * Base64 `data:` URI of an SVG document (UTF-8), for `<img src>` or CSS.
 *
 * @example
 * ```ts
 * svgDataUri('<svg xmlns="http://www.w3.org/2000/svg"/>');
 * // 'data:image/svg+xml;base64,PHN2ZyB4bWxucz0i...'
 * ```
 */
export function svgDataUri(svg: string): string {
  const bytes = new TextEncoder().encode(svg);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return `data:image/svg+xml;base64,${btoa(bin)}`;
}

/**
 * Wraps an SVG document in an `<img>` tag with a base64 data URI.
 *
 * This is the most portable way to show a chart in a notebook output: pass
 * it to `tslab.display.html(...)`. Unlike a raw `image/svg+xml` output, an
 * `<img>` with a data URI is rendered by JupyterLab for untrusted notebooks
 * and by GitHub's notebook viewer, and it cannot run scripts.
 *
 * @example
 * ```ts
 * import * as tslab from 'tslab';
 * tslab.display.html(svgImg(barChart({ categories: ['a'], series: [{ name: 'n', values: [1] }] }), 'counts'));
 * ```
 */
export function svgImg(svg: string, alt = 'chart'): string {
  return `<img src="${svgDataUri(svg)}" alt="${escapeXml(alt)}"/>`;
}

/** Default categorical palette (colour-blind friendly, Okabe–Ito based). */
export const DEFAULT_PALETTE: readonly string[] = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#D55E00',
  '#CC79A7',
  '#56B4E9',
  '#F0E442',
  '#000000',
];

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

/**
 * Escapes text for use in XML character data and attribute values.
 *
 * @example
 * ```ts
 * escapeXml('a < b & "c"'); // 'a &lt; b &amp; &quot;c&quot;'
 * ```
 */
export function escapeXml(text: string): string {
  return String(text)
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/**
 * "Nice" axis ticks covering `[min, max]`: round steps of 1, 2 or 5 × 10^k.
 *
 * @example
 * ```ts
 * niceTicks(0, 97, 5); // [0, 20, 40, 60, 80, 100]
 * ```
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min > max) [min, max] = [max, min];
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const step = niceStep((max - min) / Math.max(1, count));
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  const n = Math.round((hi - lo) / step);
  for (let i = 0; i <= n; i++) ticks.push(roundTo(lo + i * step, step));
  return ticks;
}

function niceStep(raw: number): number {
  const exp = Math.floor(Math.log10(raw));
  const base = 10 ** exp;
  const f = raw / base;
  const nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nice * base;
}

function roundTo(v: number, step: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  const r = Number(v.toFixed(Math.min(20, decimals)));
  return Object.is(r, -0) ? 0 : r;
}

/** Compact number format: 1234 → "1.2k", 0.5 → "0.5", 2_000_000 → "2M". */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  const trim = (s: string) => s.replace(/\.0+$|(\.\d*?)0+$/, '$1');
  if (a >= 1e9) return trim((v / 1e9).toFixed(1)) + 'G';
  if (a >= 1e6) return trim((v / 1e6).toFixed(1)) + 'M';
  if (a >= 1e4) return trim((v / 1e3).toFixed(1)) + 'k';
  if (a === 0 || a >= 1) return trim(v.toFixed(2));
  return String(Number(v.toPrecision(3)));
}

/** Rounds a pixel coordinate to 2 decimals to keep the markup short. */
function px(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function finite(v: number): boolean {
  return typeof v === 'number' && Number.isFinite(v);
}

interface Frame {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

function frame(opts: ChartOptions, extra: { left?: number; legendRows?: number } = {}): Frame {
  const width = Math.max(160, opts.width ?? 640);
  const height = Math.max(120, opts.height ?? 360);
  const top = (opts.title ? 34 : 14) + (extra.legendRows ?? 0) * 18;
  const bottom = height - (opts.xLabel ? 48 : 30);
  const left = (extra.left ?? 56) + (opts.yLabel ? 18 : 0);
  const right = width - 16;
  return { width, height, left, right, top, bottom: Math.max(top + 20, bottom) };
}

function open(f: Frame, opts: ChartOptions, kind: string): string[] {
  const label = opts.title ?? kind;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" role="img" aria-label="${escapeXml(label)}" ${FONT} font-size="12">`,
    `<title>${escapeXml(label)}</title>`,
    `<rect x="0" y="0" width="${f.width}" height="${f.height}" fill="#ffffff"/>`,
    ...(opts.title
      ? [`<text class="title" x="${px(f.width / 2)}" y="20" text-anchor="middle" font-size="14" font-weight="600" fill="#222">${escapeXml(opts.title)}</text>`]
      : []),
  ];
}

function axisLabels(f: Frame, opts: ChartOptions): string[] {
  const out: string[] = [];
  if (opts.xLabel) {
    out.push(
      `<text class="x-label" x="${px((f.left + f.right) / 2)}" y="${px(f.height - 10)}" text-anchor="middle" fill="#333">${escapeXml(opts.xLabel)}</text>`,
    );
  }
  if (opts.yLabel) {
    const cy = (f.top + f.bottom) / 2;
    out.push(
      `<text class="y-label" x="14" y="${px(cy)}" text-anchor="middle" transform="rotate(-90 14 ${px(cy)})" fill="#333">${escapeXml(opts.yLabel)}</text>`,
    );
  }
  return out;
}

function legend(f: Frame, items: readonly { name: string; color: string }[], titled: boolean): string[] {
  if (items.length === 0) return [];
  const out: string[] = ['<g class="legend">'];
  let x = f.left;
  let y = (titled ? 34 : 14) + 4;
  for (const it of items) {
    const w = 18 + Math.min(40, it.name.length) * 6.5 + 14;
    if (x + w > f.right && x > f.left) {
      x = f.left;
      y += 18;
    }
    out.push(
      `<rect x="${px(x)}" y="${px(y - 9)}" width="12" height="10" fill="${escapeXml(it.color)}"/>`,
      `<text x="${px(x + 16)}" y="${px(y)}" fill="#333">${escapeXml(it.name)}</text>`,
    );
    x += w;
  }
  out.push('</g>');
  return out;
}

function legendRows(f0: { left: number; right: number }, names: readonly string[]): number {
  if (names.length === 0) return 0;
  let rows = 1;
  let x = f0.left;
  for (const n of names) {
    const w = 18 + Math.min(40, n.length) * 6.5 + 14;
    if (x + w > f0.right && x > f0.left) {
      rows++;
      x = f0.left;
    }
    x += w;
  }
  return rows;
}

function yAxis(f: Frame, ticks: readonly number[], scale: (v: number) => number, fmt: (v: number) => string): string[] {
  const out: string[] = ['<g class="y-axis">'];
  for (const t of ticks) {
    const y = px(scale(t));
    out.push(
      `<line x1="${f.left}" y1="${y}" x2="${f.right}" y2="${y}" stroke="#e5e5e5"/>`,
      `<line x1="${f.left - 4}" y1="${y}" x2="${f.left}" y2="${y}" stroke="#666"/>`,
      `<text x="${f.left - 7}" y="${y}" dy="0.32em" text-anchor="end" fill="#555">${escapeXml(fmt(t))}</text>`,
    );
  }
  out.push(`<line x1="${f.left}" y1="${f.top}" x2="${f.left}" y2="${f.bottom}" stroke="#666"/>`, '</g>');
  return out;
}

function xAxis(f: Frame, ticks: readonly number[], scale: (v: number) => number, fmt: (v: number) => string): string[] {
  const out: string[] = ['<g class="x-axis">'];
  for (const t of ticks) {
    const x = px(scale(t));
    out.push(
      `<line x1="${x}" y1="${f.bottom}" x2="${x}" y2="${f.bottom + 4}" stroke="#666"/>`,
      `<text x="${x}" y="${f.bottom + 16}" text-anchor="middle" fill="#555">${escapeXml(fmt(t))}</text>`,
    );
  }
  out.push(`<line x1="${f.left}" y1="${f.bottom}" x2="${f.right}" y2="${f.bottom}" stroke="#666"/>`, '</g>');
  return out;
}

function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

function colorAt(opts: ChartOptions, i: number, own?: string): string {
  const palette = opts.palette && opts.palette.length > 0 ? opts.palette : DEFAULT_PALETTE;
  return own ?? palette[i % palette.length]!;
}

/**
 * A line chart of one or more numeric series, with axes, ticks and a legend.
 * Non-finite points are skipped; points are drawn in the order given.
 *
 * @example
 * ```ts
 * const svg = lineChart({
 *   title: 'Throughput',
 *   series: [
 *     { name: 'input', points: [[0, 100], [1, 180], [2, 150]] },
 *     { name: 'output', points: [[0, 90], [1, 170], [2, 160]] },
 *   ],
 *   xLabel: 'batch id',
 *   yLabel: 'rows/s',
 * });
 * tslab.display.svg(svg);
 * ```
 */
export function lineChart(opts: LineChartOptions): string {
  const series = opts.series.map((s) => ({ ...s, points: s.points.filter((p) => finite(p[0]) && finite(p[1])) }));
  const all = series.flatMap((s) => s.points);
  let [xMin, xMax] = extent(all, (p) => p[0]);
  let [yMin, yMax] = extent(all, (p) => p[1]);
  if (all.length === 0) [xMin, xMax, yMin, yMax] = [0, 1, 0, 1];
  if (opts.yZero) {
    yMin = Math.min(0, yMin);
    yMax = Math.max(0, yMax);
  }
  const fmtX = opts.xFormat ?? formatNumber;
  const fmtY = opts.yFormat ?? formatNumber;
  const yTicks = niceTicks(yMin, yMax, 5);
  const xTicks = niceTicks(xMin, xMax, Math.max(2, Math.floor((opts.width ?? 640) / 90)));
  const names = series.length > 1 || (series.length === 1 && series[0]!.name) ? series.map((s) => s.name) : [];
  const labelW = Math.max(...yTicks.map((t) => fmtY(t).length)) * 7 + 14;
  const f0 = frame(opts, { left: Math.max(40, labelW) });
  const f = frame(opts, { left: Math.max(40, labelW), legendRows: legendRows(f0, names) });
  const sx = linear(xTicks[0]!, xTicks[xTicks.length - 1]!, f.left, f.right);
  const sy = linear(yTicks[0]!, yTicks[yTicks.length - 1]!, f.bottom, f.top);
  const out = open(f, opts, 'line chart');
  out.push(...yAxis(f, yTicks, sy, fmtY), ...xAxis(f, xTicks, sx, fmtX), ...axisLabels(f, opts));
  const showMarkers = opts.markers ?? series.every((s) => s.points.length <= 50);
  series.forEach((s, i) => {
    const color = colorAt(opts, i, s.color);
    const pts = s.points.map((p) => `${px(sx(p[0]))},${px(sy(p[1]))}`).join(' ');
    out.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    out.push(`<polyline fill="none" stroke="${escapeXml(color)}" stroke-width="2" stroke-linejoin="round" points="${pts}"/>`);
    if (showMarkers) {
      for (const p of s.points) {
        out.push(
          `<circle cx="${px(sx(p[0]))}" cy="${px(sy(p[1]))}" r="2.5" fill="${escapeXml(color)}"><title>${escapeXml(`${s.name}: (${fmtX(p[0])}, ${fmtY(p[1])})`)}</title></circle>`,
        );
      }
    }
    out.push('</g>');
  });
  out.push(...legend(f, names.map((name, i) => ({ name, color: colorAt(opts, i, series[i]!.color) })), !!opts.title));
  out.push('</svg>');
  return out.join('\n');
}

/**
 * A vertical bar chart over string categories; several series are drawn as
 * grouped bars with a legend. The y axis always includes 0.
 *
 * @example
 * ```ts
 * const svg = barChart({
 *   categories: ['filter', 'project', 'aggregate'],
 *   series: [{ name: 'ms', values: [12, 4, 31] }],
 *   yLabel: 'time (ms)',
 * });
 * ```
 */
export function barChart(opts: BarChartOptions): string {
  const cats = opts.categories;
  const vals = opts.series.flatMap((s) => s.values.slice(0, cats.length).filter(finite));
  const [vMin, vMax] = extent(vals);
  const yMin = Math.min(0, vMin);
  const yMax = Math.max(0, vMax);
  const fmtY = opts.yFormat ?? formatNumber;
  const yTicks = niceTicks(yMin, yMax === yMin ? yMin + 1 : yMax, 5);
  const names = opts.series.length > 1 ? opts.series.map((s) => s.name) : [];
  const labelW = Math.max(...yTicks.map((t) => fmtY(t).length)) * 7 + 14;
  const f0 = frame(opts, { left: Math.max(40, labelW) });
  const f = frame(opts, { left: Math.max(40, labelW), legendRows: legendRows(f0, names) });
  const sy = linear(yTicks[0]!, yTicks[yTicks.length - 1]!, f.bottom, f.top);
  const out = open(f, opts, 'bar chart');
  out.push(...yAxis(f, yTicks, sy, fmtY));
  const band = (f.right - f.left) / Math.max(1, cats.length);
  const groupW = band * 0.8;
  const barW = groupW / Math.max(1, opts.series.length);
  const y0 = sy(0);
  out.push('<g class="x-axis">');
  cats.forEach((c, ci) => {
    const cx = f.left + band * (ci + 0.5);
    out.push(
      `<line x1="${px(cx)}" y1="${f.bottom}" x2="${px(cx)}" y2="${f.bottom + 4}" stroke="#666"/>`,
      `<text x="${px(cx)}" y="${f.bottom + 16}" text-anchor="middle" fill="#555">${escapeXml(c)}</text>`,
    );
  });
  out.push(`<line x1="${f.left}" y1="${px(y0)}" x2="${f.right}" y2="${px(y0)}" stroke="#666"/>`, '</g>');
  opts.series.forEach((s, si) => {
    const color = colorAt(opts, si, s.color);
    out.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    cats.forEach((c, ci) => {
      const v = s.values[ci];
      if (v === undefined || !finite(v)) return;
      const x = f.left + band * ci + (band - groupW) / 2 + barW * si;
      const y = sy(v);
      out.push(
        `<rect x="${px(x)}" y="${px(Math.min(y, y0))}" width="${px(Math.max(1, barW - 1))}" height="${px(Math.abs(y0 - y))}" fill="${escapeXml(color)}"><title>${escapeXml(`${s.name} / ${c}: ${fmtY(v)}`)}</title></rect>`,
      );
    });
    out.push('</g>');
  });
  out.push(...axisLabels(f, opts));
  out.push(...legend(f, names.map((name, i) => ({ name, color: colorAt(opts, i, opts.series[i]!.color) })), !!opts.title));
  out.push('</svg>');
  return out.join('\n');
}

/**
 * A timeline (Gantt-like) chart: each row is an interval drawn as a bar on
 * its lane, e.g. event-time windows per key, or batches per trigger. Lanes
 * appear in first-seen order; bars are coloured per lane unless a row sets
 * `color`. Optional vertical `markers` show instants such as a watermark.
 *
 * @example
 * ```ts
 * const svg = timelineChart({
 *   rows: [
 *     { lane: 'key=a', start: 0, end: 10_000, label: '[0s, 10s) n=3' },
 *     { lane: 'key=a', start: 10_000, end: 20_000, label: 'n=1' },
 *     { lane: 'key=b', start: 5_000, end: 15_000 },
 *   ],
 *   markers: [{ x: 12_000, label: 'watermark' }],
 *   xLabel: 'event time (ms)',
 * });
 * ```
 */
export function timelineChart(opts: TimelineChartOptions): string {
  const rows = opts.rows
    .filter((r) => finite(r.start) && finite(r.end))
    .map((r) => (r.end < r.start ? { ...r, start: r.end, end: r.start } : r));
  const lanes: string[] = [];
  for (const r of rows) if (!lanes.includes(r.lane)) lanes.push(r.lane);
  const markers = (opts.markers ?? []).filter((m) => finite(m.x));
  const xs = [...rows.flatMap((r) => [r.start, r.end]), ...markers.map((m) => m.x)];
  const [xMin, xMax] = xs.length ? extent(xs) : [0, 1];
  const fmtX = opts.xFormat ?? formatNumber;
  const xTicks = niceTicks(xMin, xMax, Math.max(2, Math.floor((opts.width ?? 640) / 90)));
  const laneLabelW = Math.min(160, Math.max(40, extent(lanes, (l) => l.length * 7 + 14)[1]));
  const height = opts.height ?? Math.max(140, (opts.title ? 34 : 14) + lanes.length * 30 + 60 + (markers.some((m) => m.label) ? 14 : 0));
  const f = frame({ ...opts, height }, { left: laneLabelW });
  const top = f.top + (markers.some((m) => m.label) ? 14 : 0);
  const sx = linear(xTicks[0]!, xTicks[xTicks.length - 1]!, f.left, f.right);
  const laneH = (f.bottom - top) / Math.max(1, lanes.length);
  const out = open(f, { ...opts, height }, 'timeline chart');
  out.push(...xAxis(f, xTicks, sx, fmtX));
  out.push('<g class="lanes">');
  lanes.forEach((lane, li) => {
    const y = top + laneH * li;
    if (li % 2 === 1) out.push(`<rect x="${f.left}" y="${px(y)}" width="${f.right - f.left}" height="${px(laneH)}" fill="#f6f6f6"/>`);
    out.push(
      `<text x="${f.left - 7}" y="${px(y + laneH / 2)}" dy="0.32em" text-anchor="end" fill="#333">${escapeXml(lane.length > 22 ? lane.slice(0, 21) + '…' : lane)}</text>`,
    );
  });
  out.push(`<line x1="${f.left}" y1="${top}" x2="${f.left}" y2="${f.bottom}" stroke="#666"/>`, '</g>');
  out.push('<g class="bars">');
  for (const r of rows) {
    const li = lanes.indexOf(r.lane);
    const color = r.color ?? colorAt(opts, li);
    const x0 = sx(r.start);
    const x1 = sx(r.end);
    const y = top + laneH * li + laneH * 0.15;
    const h = laneH * 0.7;
    const w = Math.max(1, x1 - x0);
    const tip = `${r.lane}: [${fmtX(r.start)}, ${fmtX(r.end)})${r.label ? ' ' + r.label : ''}`;
    out.push(
      `<rect x="${px(x0)}" y="${px(y)}" width="${px(w)}" height="${px(h)}" rx="2" fill="${escapeXml(color)}" fill-opacity="0.8" stroke="${escapeXml(color)}"><title>${escapeXml(tip)}</title></rect>`,
    );
    if (r.label && r.label.length * 6.5 + 6 <= w) {
      out.push(
        `<text x="${px(x0 + w / 2)}" y="${px(y + h / 2)}" dy="0.32em" text-anchor="middle" font-size="11" fill="#fff">${escapeXml(r.label)}</text>`,
      );
    }
  }
  out.push('</g>');
  if (markers.length) {
    out.push('<g class="markers">');
    for (const m of markers) {
      const x = px(sx(m.x));
      const color = escapeXml(m.color ?? '#D55E00');
      out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${f.bottom}" stroke="${color}" stroke-width="1.5" stroke-dasharray="4 3"/>`);
      if (m.label) out.push(`<text x="${x}" y="${px(top - 4)}" text-anchor="middle" font-size="11" fill="${color}">${escapeXml(m.label)}</text>`);
    }
    out.push('</g>');
  }
  out.push(...axisLabels(f, opts));
  out.push('</svg>');
  return out.join('\n');
}
