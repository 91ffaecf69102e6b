import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { describe, expect, it } from 'vitest';
import { scatterSpec } from '../src/util/plot.js';

interface SceneNode {
  marktype?: string;
  items?: SceneNode[];
  datum?: Record<string, unknown>;
}

/** Every mark of the rendered scene graph with its items' data. */
function marks(node: SceneNode, out: Array<{ type: string; data: Array<Record<string, unknown>> }> = []) {
  if (node.marktype) out.push({ type: node.marktype, data: (node.items ?? []).map((i) => i.datum ?? {}) });
  for (const i of node.items ?? []) marks(i, out);
  return out;
}

async function scene(spec: vegaLite.TopLevelSpec) {
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  await view.runAsync();
  const m = marks((view.scenegraph() as unknown as { root: SceneNode }).root);
  view.finalize();
  return m;
}

describe('scatterSpec', () => {
  const data = [
    { x: 1, y: 0.5, kind: 'front' },
    { x: 2, y: 0.7, kind: 'front' },
    { x: 3, y: 0.9, kind: 'front' },
    { x: 1.5, y: 0.4, kind: 'dominated' },
    { x: 2.5, y: 0.6, kind: 'dominated' },
  ];
  const chart = { title: 't', data, x: { field: 'x', title: 'x' }, y: { field: 'y', title: 'y' }, color: 'kind' };

  it('connects every group by a line by default', async () => {
    const lines = (await scene(scatterSpec(chart))).filter((m) => m.type === 'line');
    expect(lines.map((l) => l.data.length).sort()).toEqual([2, 3]);
  });

  it('draws the pointsOnly groups as unconnected points, the others as lines', async () => {
    const m = await scene(scatterSpec({ ...chart, pointsOnly: ['dominated'] }));
    const lines = m.filter((x) => x.type === 'line');
    expect(lines.flatMap((l) => l.data.map((d) => d.kind))).toEqual(['front', 'front', 'front']);
    const loose = m.filter((x) => x.type === 'symbol').flatMap((s) => s.data.filter((d) => d.kind === 'dominated'));
    expect(loose.map((d) => d.x).sort()).toEqual([1.5, 2.5]);
  });
});
