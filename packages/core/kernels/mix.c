// lowbit WebAssembly kernels: Bernoulli mixing of float and quantized activations
// `out = xq + M·(xf − xq)`, M ~ Bernoulli(p), with the mask drawn by the same xoshiro128**
// generator as lowbit's Rng (state passed in and written back), so the result is bit-identical
// to drawing the mask with `Rng.bernoulli` and mixing with tfjs ops — in one pass, without a JS loop.

#define EXPORT(name) __attribute__((export_name(#name)))

typedef unsigned int u32;

static inline u32 rotl(u32 x, int k) { return (x << k) | (x >> (32 - k)); }

static inline u32 next(u32* s) {
  const u32 result = rotl(s[1] * 5u, 7) * 9u;
  const u32 t = s[1] << 9;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 11);
  return result;
}

// mask[i] = (next() < threshold), threshold = p·2^32 (as Rng.bernoulli compares, in float64).
// `before` draws are skipped first and `after` draws at the end: a replica holding rows of a
// batch split over threads consumes the whole batch's stream, so every replica's generator stays
// in step and its mask equals its rows of the one-thread mask.
EXPORT(mix_forward)
void mix_forward(const float* xf, const float* xq, float* out, unsigned char* mask, int n, double threshold, u32* state, int before,
                 int after) {
  u32 s[4] = {state[0], state[1], state[2], state[3]};
  for (int i = 0; i < before; i++) next(s);
  for (int i = 0; i < n; i++) {
    const float m = (double)next(s) < threshold ? 1.0f : 0.0f;
    mask[i] = (unsigned char)m;
    out[i] = xq[i] + m * (xf[i] - xq[i]);
  }
  for (int i = 0; i < after; i++) next(s);
  for (int k = 0; k < 4; k++) state[k] = s[k];
}

// dxf = M·dy, dxq = dy − M·dy (as the op path's gradients add up)
EXPORT(mix_backward)
void mix_backward(const float* dy, const unsigned char* mask, float* dxf, float* dxq, int n) {
  for (int i = 0; i < n; i++) {
    const float m = (float)mask[i];
    const float a = m * dy[i];
    dxf[i] = a;
    dxq[i] = dy[i] + -a;
  }
}
