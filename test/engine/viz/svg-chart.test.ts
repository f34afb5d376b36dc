import { describe, expect, it } from 'vitest';
import {
  barChart,
  escapeXml,
  formatNumber,
  lineChart,
  niceTicks,
  svgDataUri,
  svgImg,
  timelineChart,
} from '../../../engine/viz/svg-chart.js';

interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

/**
 * A deliberately strict, tiny XML parser: well-formed tags, quoted
 * attributes, no duplicate attributes, only the five predefined entities (or
 * numeric ones), balanced nesting, a single root. Throws on anything else.
 */
function parseXml(src: string): XmlNode {
  let i = 0;
  const root: XmlNode = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: XmlNode[] = [root];
  const checkText = (t: string) => {
    if (t.includes('<')) throw new Error(`raw '<' in text: ${t}`);
    const bad = t.match(/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/);
    if (bad) throw new Error(`bad entity in: ${t}`);
  };
  const unescape = (t: string) =>
    t.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  while (i < src.length) {
    const lt = src.indexOf('<', i);
    const text = src.slice(i, lt === -1 ? src.length : lt);
    checkText(text);
    stack[stack.length - 1]!.text += unescape(text);
    if (lt === -1) break;
    const gt = src.indexOf('>', lt);
    if (gt === -1) throw new Error('unterminated tag');
    const tag = src.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const top = stack.pop();
      if (!top || top.name !== name) throw new Error(`mismatched </${name}>, open: ${top?.name}`);
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const m = body.match(/^([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*="[^"<]*")*)\s*$/);
    if (!m) throw new Error(`malformed tag <${tag}>`);
    const attrs: Record<string, string> = {};
    for (const a of m[2]!.matchAll(/([A-Za-z_][\w:.-]*)="([^"]*)"/g)) {
      if (a[1]! in attrs) throw new Error(`duplicate attribute ${a[1]}`);
      checkText(a[2]!);
      attrs[a[1]!] = unescape(a[2]!);
    }
    const node: XmlNode = { name: m[1]!, attrs, children: [], text: '' };
    stack[stack.length - 1]!.children.push(node);
    if (!selfClosing) stack.push(node);
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (root.children.length !== 1) throw new Error('expected a single root element');
  if (root.text.trim() !== '') throw new Error('text outside the root element');
  return root.children[0]!;
}

function all(node: XmlNode, name: string): XmlNode[] {
  const out: XmlNode[] = [];
  const walk = (n: XmlNode) => {
    if (n.name === name) out.push(n);
    n.children.forEach(walk);
  };
  walk(node);
  return out;
}

function texts(node: XmlNode): string[] {
  return all(node, 'text').map((t) => t.text);
}

describe('escapeXml', () => {
  it('escapes the five XML specials and drops control characters', () => {
    expect(escapeXml(`a<b & "c" 'd'>\u0001`)).toBe('a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;');
  });
});

describe('niceTicks / formatNumber', () => {
  it('covers the range with round steps', () => {
    expect(niceTicks(0, 97, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0.1, 0.33, 4)).toEqual([0.1, 0.2, 0.3, 0.4]);
    expect(niceTicks(0.1, 0.33, 8)).toEqual([0.1, 0.15, 0.2, 0.25, 0.3, 0.35]);
    const t = niceTicks(5, 5);
    expect(t[0]!).toBeLessThan(5);
    expect(t[t.length - 1]!).toBeGreaterThan(5);
  });
  it('formats compactly', () => {
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(2.5)).toBe('2.5');
    expect(formatNumber(12_000)).toBe('12k');
    expect(formatNumber(2_000_000)).toBe('2M');
  });
});

describe('lineChart', () => {
  const svg = lineChart({
    title: 'Throughput <rows/s> & "latency"',
    series: [
      { name: 'in & out', points: [[0, 1], [1, 4], [2, 9], [3, 16]] },
      { name: "b'<script>", points: [[0, 2], [1, 3], [2, Number.NaN], [3, 5]] },
    ],
    xLabel: 'batch <id>',
    yLabel: 'rows & more',
    width: 500,
    height: 300,
  });
  const doc = parseXml(svg);

  it('is a standalone, well-formed SVG document', () => {
    expect(doc.name).toBe('svg');
    expect(doc.attrs.xmlns).toBe('http://www.w3.org/2000/svg');
    expect(doc.attrs.width).toBe('500');
    expect(doc.attrs.height).toBe('300');
    expect(doc.attrs.viewBox).toBe('0 0 500 300');
  });

  it('draws one polyline per series with one point per finite input point', () => {
    const lines = all(doc, 'polyline');
    expect(lines).toHaveLength(2);
    expect(lines[0]!.attrs.points!.trim().split(/\s+/)).toHaveLength(4);
    expect(lines[1]!.attrs.points!.trim().split(/\s+/)).toHaveLength(3); // NaN skipped
    for (const l of lines) {
      for (const p of l.attrs.points!.trim().split(/\s+/)) {
        const [x, y] = p.split(',').map(Number);
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThanOrEqual(500);
        expect(y).toBeGreaterThanOrEqual(0);
        expect(y).toBeLessThanOrEqual(300);
      }
    }
  });

  it('escapes title, axis labels and legend entries', () => {
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('batch &lt;id&gt;');
    const t = texts(doc);
    expect(t).toContain('Throughput <rows/s> & "latency"');
    expect(t).toContain('batch <id>');
    expect(t).toContain('rows & more');
    expect(t).toContain('in & out');
    expect(t).toContain("b'<script>");
  });

  it('has axes with tick labels', () => {
    const yAxis = all(doc, 'g').find((g) => g.attrs.class === 'y-axis')!;
    const xAxis = all(doc, 'g').find((g) => g.attrs.class === 'x-axis')!;
    expect(texts(yAxis)).toEqual(['0', '5', '10', '15', '20']);
    expect(texts(xAxis).length).toBeGreaterThanOrEqual(3);
  });

  it('handles no data', () => {
    const empty = parseXml(lineChart({ series: [] }));
    expect(empty.name).toBe('svg');
    expect(all(empty, 'polyline')).toHaveLength(0);
  });
});

describe('barChart', () => {
  it('draws one rect per value, grouped, with a legend for several series', () => {
    const svg = barChart({
      categories: ['filter', 'a<b', 'agg'],
      series: [
        { name: 'p50', values: [1, 2, 3] },
        { name: 'p99', values: [4, -1, 6] },
      ],
      yLabel: 'ms',
    });
    const doc = parseXml(svg);
    const bars = all(doc, 'g')
      .filter((g) => g.attrs.class === 'series')
      .flatMap((g) => all(g, 'rect'));
    expect(bars).toHaveLength(6);
    for (const b of bars) expect(Number(b.attrs.height)).toBeGreaterThan(0);
    expect(texts(doc)).toEqual(expect.arrayContaining(['a<b', 'p50', 'p99', 'ms']));
  });
});

describe('timelineChart', () => {
  it('draws a bar per row on its lane, lane labels and markers', () => {
    const svg = timelineChart({
      title: 'windows',
      rows: [
        { lane: 'key=a', start: 0, end: 10_000, label: 'n=3' },
        { lane: 'key=a', start: 10_000, end: 20_000, label: 'n=1' },
        { lane: 'key=<b>', start: 5_000, end: 15_000 },
        { lane: 'key=c', start: 30_000, end: 25_000 }, // reversed
      ],
      markers: [{ x: 12_000, label: 'watermark' }],
      xLabel: 'event time (ms)',
    });
    const doc = parseXml(svg);
    const bars = all(all(doc, 'g').find((g) => g.attrs.class === 'bars')!, 'rect');
    expect(bars).toHaveLength(4);
    for (const b of bars) expect(Number(b.attrs.width)).toBeGreaterThan(0);
    // Bars on the same lane share a y; different lanes differ.
    expect(bars[0]!.attrs.y).toBe(bars[1]!.attrs.y);
    expect(bars[0]!.attrs.y).not.toBe(bars[2]!.attrs.y);
    const lanes = texts(all(doc, 'g').find((g) => g.attrs.class === 'lanes')!);
    expect(lanes).toEqual(['key=a', 'key=<b>', 'key=c']);
    expect(texts(doc)).toContain('watermark');
    expect(texts(doc)).toContain('n=3');
  });
});

describe('svgDataUri / svgImg', () => {
  it('round-trips UTF-8 through base64 and escapes alt text', () => {
    const svg = lineChart({ title: 'µs — ünïcode', series: [{ name: 'a', points: [[0, 1], [1, 2]] }] });
    const uri = svgDataUri(svg);
    expect(uri.startsWith('data:image/svg+xml;base64,')).toBe(true);
    expect(Buffer.from(uri.slice(uri.indexOf(',') + 1), 'base64').toString('utf8')).toBe(svg);
    const img = parseXml(svgImg(svg, 'a "quoted" <alt>'));
    expect(img.name).toBe('img');
    expect(img.attrs.alt).toBe('a "quoted" <alt>');
    expect(img.attrs.src).toBe(uri);
  });
});
