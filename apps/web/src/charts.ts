// Small inline SVG charts (no chart library in the page: two simple figures).
const NS = 'http://www.w3.org/2000/svg';

function svg(width: number, height: number): SVGSVGElement {
  const s = document.createElementNS(NS, 'svg');
  s.setAttribute('viewBox', `0 0 ${width} ${height}`);
  s.setAttribute('width', String(width));
  s.setAttribute('height', String(height));
  return s;
}

function el(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The reconstruction loss by step (log scale), as a line. */
export function lossChart(points: ReadonlyArray<{ step: number; loss: number }>, total: number): SVGSVGElement {
  const W = 480;
  const H = 160;
  const s = svg(W, H);
  s.append(el('rect', { x: 0, y: 0, width: W, height: H, fill: '#fafafa', stroke: '#ccc' }));
  const ok = points.filter((p) => p.loss > 0 && Number.isFinite(p.loss));
  if (ok.length < 2) return s;
  const logs = ok.map((p) => Math.log10(p.loss));
  const lo = Math.min(...logs);
  const hi = Math.max(...logs);
  const x = (step: number) => 40 + ((W - 50) * step) / Math.max(1, total);
  const y = (l: number) => 10 + (H - 30) * (hi === lo ? 0.5 : (hi - l) / (hi - lo));
  s.append(el('polyline', { points: ok.map((p, i) => `${x(p.step).toFixed(1)},${y(logs[i]!).toFixed(1)}`).join(' '), fill: 'none', stroke: '#1f77b4', 'stroke-width': 2 }));
  s.append(el('text', { x: 4, y: 14, 'font-size': 10 }, (10 ** hi).toPrecision(4)));
  s.append(el('text', { x: 4, y: H - 22, 'font-size': 10 }, (10 ** lo).toPrecision(4)));
  s.append(el('text', { x: W / 2 - 40, y: H - 6, 'font-size': 10 }, `loss by step (of ${total})`));
  return s;
}

/** Weight and activation bits per layer, as bars (float layers at 32 drawn full). */
export function bitsChart(policy: Record<string, { w: number; a: number }>): SVGSVGElement {
  const names = Object.keys(policy);
  const bar = 14;
  const W = 480;
  const H = 24 + names.length * (bar + 4);
  const s = svg(W, H);
  const x0 = 170;
  const scale = (W - x0 - 40) / 8;
  names.forEach((n, i) => {
    const y = 18 + i * (bar + 4);
    const { w, a } = policy[n]!;
    s.append(el('text', { x: x0 - 6, y: y + bar - 3, 'font-size': 10, 'text-anchor': 'end' }, n.length > 26 ? `…${n.slice(-25)}` : n));
    s.append(el('rect', { x: x0, y, width: Math.min(8, w) * scale, height: bar / 2, fill: '#1f77b4' }));
    s.append(el('rect', { x: x0, y: y + bar / 2, width: Math.min(8, a) * scale, height: bar / 2, fill: '#ff7f0e' }));
    s.append(el('text', { x: x0 + Math.min(8, Math.max(w, a)) * scale + 4, y: y + bar - 3, 'font-size': 10 }, `W${w > 8 ? 'fp' : w} A${a > 8 ? 'fp' : a}`));
  });
  s.append(el('text', { x: x0, y: 12, 'font-size': 10 }, 'bits per layer: weights (blue), input activations (orange)'));
  return s;
}
