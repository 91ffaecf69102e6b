// lowbit WebAssembly SIMD kernels: gradients of a depthwise convolution (channel multiplier 1,
// NHWC, dilation 1). Freestanding C compiled to wasm32 by tools/wasm/build.sh; the result is
// embedded in src/kernels/kernels-wasm.ts. Channels are the innermost axis, so every inner loop
// is a SIMD loop over channels with the kernel-sized accumulators held in cache.
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

extern unsigned char __heap_base;

EXPORT(heap_base) unsigned int heap_base(void) { return (unsigned int)&__heap_base; }

static void zero(float* p, int n) {
  for (int i = 0; i < n; i++) p[i] = 0.0f;
}

// acc[0..C) += a[0..C) * b[0..C)
static inline void fma_row(float* acc, const float* a, const float* b, int C) {
  int c = 0;
  for (; c + 4 <= C; c += 4) {
    v128_t s = wasm_v128_load(acc + c);
    s = wasm_f32x4_add(s, wasm_f32x4_mul(wasm_v128_load(a + c), wasm_v128_load(b + c)));
    wasm_v128_store(acc + c, s);
  }
  for (; c < C; c++) acc[c] += a[c] * b[c];
}

// dw[a,b,c] = sum_{n,i,j} x[n, i*sh+a-pt, j*sw+b-pl, c] * dy[n,i,j,c]
// `scratch` holds kh*kw*C floats: per-image partial sums, added to dw once per image so that
// the float32 sums stay short.
EXPORT(depthwise_filter_grad)
void depthwise_filter_grad(const float* x, const float* dy, float* dw, float* scratch, int N, int H, int W, int C, int Ho,
                           int Wo, int kh, int kw, int sh, int sw, int pt, int pl) {
  const int K = kh * kw * C;
  zero(dw, K);
  for (int n = 0; n < N; n++) {
    zero(scratch, K);
    for (int i = 0; i < Ho; i++) {
      for (int j = 0; j < Wo; j++) {
        const float* d = dy + (((long)n * Ho + i) * Wo + j) * C;
        for (int a = 0; a < kh; a++) {
          const int y = i * sh + a - pt;
          if (y < 0 || y >= H) continue;
          for (int b = 0; b < kw; b++) {
            const int xx = j * sw + b - pl;
            if (xx < 0 || xx >= W) continue;
            fma_row(scratch + (a * kw + b) * C, x + (((long)n * H + y) * W + xx) * C, d, C);
          }
        }
      }
    }
    int k = 0;
    for (; k + 4 <= K; k += 4) wasm_v128_store(dw + k, wasm_f32x4_add(wasm_v128_load(dw + k), wasm_v128_load(scratch + k)));
    for (; k < K; k++) dw[k] += scratch[k];
  }
}

// dx[n, i*sh+a-pt, j*sw+b-pl, c] += dy[n,i,j,c] * w[a,b,c]   (scatter form of the input gradient)
EXPORT(depthwise_input_grad)
void depthwise_input_grad(const float* dy, const float* w, float* dx, int N, int H, int W, int C, int Ho, int Wo, int kh,
                          int kw, int sh, int sw, int pt, int pl) {
  zero(dx, N * H * W * C);
  for (int n = 0; n < N; n++) {
    for (int i = 0; i < Ho; i++) {
      for (int j = 0; j < Wo; j++) {
        const float* d = dy + (((long)n * Ho + i) * Wo + j) * C;
        for (int a = 0; a < kh; a++) {
          const int y = i * sh + a - pt;
          if (y < 0 || y >= H) continue;
          for (int b = 0; b < kw; b++) {
            const int xx = j * sw + b - pl;
            if (xx < 0 || xx >= W) continue;
            fma_row(dx + (((long)n * H + y) * W + xx) * C, d, w + (a * kw + b) * C, C);
          }
        }
      }
    }
  }
}
