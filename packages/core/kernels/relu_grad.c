// lowbit WebAssembly SIMD kernel: gradients of ReLU and ReLU6 in one pass,
// dx = dy where 0 < x ≤ hi, else 0 (hi = 6, or +∞ for ReLU) — tfjs builds the mask from
// Step, LessEqual, Multiply and Cast, a pass each.
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

EXPORT(relu_grad)
void relu_grad(const float* x, const float* dy, float* dx, int n, float hi) {
  const v128_t zero = wasm_f32x4_splat(0.0f), vhi = wasm_f32x4_splat(hi);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t v = wasm_v128_load(x + i);
    const v128_t m = wasm_v128_and(wasm_f32x4_gt(v, zero), wasm_f32x4_le(v, vhi));
    wasm_v128_store(dx + i, wasm_v128_and(wasm_v128_load(dy + i), m));
  }
  for (; i < n; i++) dx[i] = (x[i] > 0.0f && x[i] <= hi) ? dy[i] : 0.0f;
}
