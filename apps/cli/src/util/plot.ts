import { Resvg } from '@resvg/resvg-js';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { atomicWriteFiles } from '@lowbit/core/node';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

export interface ScatterChart {
  title: string;
  data: Array<Record<string, string | number>>;
  /** `ordinal` x: categories in `sort` order (e.g. bit settings); quantitative by default. */
  x: { field: string; title: string; type?: 'quantitative' | 'ordinal'; sort?: string[] };
  y: { field: string; title: string; format?: string };
  /** Field that colours points and connects each group by a line in x order. */
  color: string;
  /** Optional field printed next to each point. */
  text?: string;
  /** A vertical rule at this x (e.g. the budget). */
  budget?: number;
  /** Values of the `color` field whose points are drawn unconnected (e.g. dominated policies). */
  pointsOnly?: string[];
}

/** The vega-lite specification of a line-and-point chart (exported for tests and docs). */
export function scatterSpec(c: ScatterChart): vegaLite.TopLevelSpec {
  const enc = {
    x:
      c.x.type === 'ordinal'
        ? { field: c.x.field, type: 'ordinal', title: c.x.title, ...(c.x.sort ? { sort: c.x.sort } : {}), axis: { labelAngle: 0 } }
        : { field: c.x.field, type: 'quantitative', title: c.x.title, scale: { zero: false } },
    y: { field: c.y.field, type: 'quantitative', title: c.y.title, scale: { zero: false }, ...(c.y.format ? { axis: { format: c.y.format } } : {}) },
    color: { field: c.color, type: 'nominal', title: null, legend: { labelLimit: 360 } },
  } as const;
  const loose = c.pointsOnly ?? [];
  const inLoose = { field: c.color, oneOf: loose };
  const layers: unknown[] = [
    {
      ...(loose.length ? { transform: [{ filter: { not: inLoose } }] } : {}),
      mark: { type: 'line', point: { size: 60, filled: true } },
      encoding: c.x.type === 'ordinal' ? enc : { ...enc, order: { field: c.x.field } },
    },
  ];
  if (loose.length) layers.push({ transform: [{ filter: inLoose }], mark: { type: 'point', size: 60, filled: true }, encoding: enc });
  if (c.text) layers.push({ mark: { type: 'text', dx: 6, dy: -8, align: 'left', fontSize: 10 }, encoding: { x: enc.x, y: enc.y, text: { field: c.text } } });
  if (c.budget !== undefined) layers.push({ data: { values: [{ b: c.budget }] }, mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' }, encoding: { x: { field: 'b', type: 'quantitative' } } });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: c.title,
    width: 520,
    height: 320,
    background: 'white',
    data: { values: c.data },
    layer: layers,
  } as vegaLite.TopLevelSpec;
}

/** Renders a chart to `<base>.svg` (vega, headless) and `<base>.png` (resvg), written atomically. */
export async function writeChart(base: string, c: ScatterChart): Promise<{ svg: string; png: string }> {
  const compiled = vegaLite.compile(scatterSpec(c)).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true } }).render().asPng();
  mkdirSync(dirname(base), { recursive: true });
  atomicWriteFiles([
    { path: `${base}.svg`, data: svg },
    { path: `${base}.png`, data: new Uint8Array(png) },
  ]);
  return { svg: `${base}.svg`, png: `${base}.png` };
}
