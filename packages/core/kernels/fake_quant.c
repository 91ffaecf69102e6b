// lowbit WebAssembly SIMD kernels: per-tensor uniform fake quantization with the straight-through
// and LSQ gradients, one pass each way instead of tfjs's chain of elementwise ops and masks.
// Same float32 operations in the same order as the tfjs-op path (x/s + z, round half to even,
// clamp, (c − z)·s), so the forward output is bit-identical to it.
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

// y = (clamp(nearest(x/s + z), qmin, qmax) − z)·s
EXPORT(fq_forward)
void fq_forward(const float* x, float* y, int n, float s, float z, float qmin, float qmax) {
  const v128_t vs = wasm_f32x4_splat(s), vz = wasm_f32x4_splat(z), lo = wasm_f32x4_splat(qmin), hi = wasm_f32x4_splat(qmax);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t v = wasm_f32x4_add(wasm_f32x4_div(wasm_v128_load(x + i), vs), vz);
    v128_t c = wasm_f32x4_min(wasm_f32x4_max(wasm_f32x4_nearest(v), lo), hi);
    wasm_v128_store(y + i, wasm_f32x4_mul(wasm_f32x4_sub(c, vz), vs));
  }
  for (; i < n; i++) {
    float c = __builtin_nearbyintf(x[i] / s + z);
    c = c < qmin ? qmin : (c > qmax ? qmax : c);
    y[i] = (c - z) * s;
  }
}

// dx = dy where qmin ≤ x/s + z ≤ qmax, else 0; returns Σ dy·((c − z) − inside·x/s), summed in
// float32 over blocks of 256 elements and the block sums in float64.
EXPORT(fq_backward)
double fq_backward(const float* x, const float* dy, float* dx, int n, float s, float z, float qmin, float qmax) {
  const v128_t vs = wasm_f32x4_splat(s), vz = wasm_f32x4_splat(z), lo = wasm_f32x4_splat(qmin), hi = wasm_f32x4_splat(qmax);
  const v128_t zero = wasm_f32x4_splat(0.0f);
  double total = 0.0;
  int i = 0;
  while (i + 4 <= n) {
    v128_t acc = zero;
    const int end = (n - i >= 256) ? i + 256 : n - ((n - i) & 3);
    for (; i < end; i += 4) {
      v128_t xs = wasm_f32x4_div(wasm_v128_load(x + i), vs);
      v128_t v = wasm_f32x4_add(xs, vz);
      v128_t c = wasm_f32x4_min(wasm_f32x4_max(wasm_f32x4_nearest(v), lo), hi);
      v128_t inside = wasm_v128_and(wasm_f32x4_ge(v, lo), wasm_f32x4_le(v, hi));
      v128_t d = wasm_v128_load(dy + i);
      wasm_v128_store(dx + i, wasm_v128_and(d, inside));
      v128_t t = wasm_f32x4_sub(wasm_f32x4_sub(c, vz), wasm_v128_and(xs, inside));
      acc = wasm_f32x4_add(acc, wasm_f32x4_mul(d, t));
    }
    total += (double)wasm_f32x4_extract_lane(acc, 0) + (double)wasm_f32x4_extract_lane(acc, 1) + (double)wasm_f32x4_extract_lane(acc, 2) +
             (double)wasm_f32x4_extract_lane(acc, 3);
  }
  for (; i < n; i++) {
    const float xs = x[i] / s;
    const float v = xs + z;
    float c = __builtin_nearbyintf(v);
    c = c < qmin ? qmin : (c > qmax ? qmax : c);
    const int inside = v >= qmin && v <= qmax;
    dx[i] = inside ? dy[i] : 0.0f;
    total += (double)(dy[i] * ((c - z) - (inside ? xs : 0.0f)));
  }
  return total;
}
