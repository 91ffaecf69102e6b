// lowbit WebAssembly SIMD kernels: training-mode batch norm over the rows of an [R, C] matrix
// (channels last), forward and backward, each a few passes over the data instead of tfjs's chain
// of matrix-vector products and broadcast elementwise ops. Per-channel sums are accumulated in
// float32 over blocks of BLOCK rows and the block sums in float64, so that long columns
// (R = batch × H × W, up to ~10^5) keep float32-level accuracy.
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define BLOCK 64

static void zero_f(float* p, int n) {
  for (int i = 0; i < n; i++) p[i] = 0.0f;
}
static void zero_d(double* p, int n) {
  for (int i = 0; i < n; i++) p[i] = 0.0;
}
static void flush(double* acc, float* part, int C) {
  for (int c = 0; c < C; c++) {
    acc[c] += (double)part[c];
    part[c] = 0.0f;
  }
}

// acc[c] = Σ_r x[r,c] (float32 over blocks of BLOCK rows, float64 across blocks).
static void col_sums(const float* x, float* part, double* acc, int R, int C) {
  zero_f(part, C);
  zero_d(acc, C);
  for (int r = 0; r < R; r++) {
    const float* row = x + (long)r * C;
    int c = 0;
    for (; c + 4 <= C; c += 4) wasm_v128_store(part + c, wasm_f32x4_add(wasm_v128_load(part + c), wasm_v128_load(row + c)));
    for (; c < C; c++) part[c] += row[c];
    if ((r + 1) % BLOCK == 0) flush(acc, part, C);
  }
  flush(acc, part, C);
}

// acc[c] = Σ_r (x[r,c] − mean[c])², accumulated as col_sums.
static void col_sq_dev(const float* x, const float* mean, float* part, double* acc, int R, int C) {
  zero_f(part, C);
  zero_d(acc, C);
  for (int r = 0; r < R; r++) {
    const float* row = x + (long)r * C;
    int c = 0;
    for (; c + 4 <= C; c += 4) {
      v128_t d = wasm_f32x4_sub(wasm_v128_load(row + c), wasm_v128_load(mean + c));
      wasm_v128_store(part + c, wasm_f32x4_add(wasm_v128_load(part + c), wasm_f32x4_mul(d, d)));
    }
    for (; c < C; c++) {
      float d = row[c] - mean[c];
      part[c] += d * d;
    }
    if ((r + 1) % BLOCK == 0) flush(acc, part, C);
  }
  flush(acc, part, C);
}

// xhat = (x − mean)·inv;  y = xhat·gamma + beta.
static void normalize(const float* x, const float* mean, const float* inv, const float* gamma, const float* beta, float* y,
                      float* xhat, int R, int C) {
  for (int r = 0; r < R; r++) {
    const float* row = x + (long)r * C;
    float* yr = y + (long)r * C;
    float* hr = xhat + (long)r * C;
    int c = 0;
    for (; c + 4 <= C; c += 4) {
      v128_t h = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(row + c), wasm_v128_load(mean + c)), wasm_v128_load(inv + c));
      wasm_v128_store(hr + c, h);
      wasm_v128_store(yr + c, wasm_f32x4_add(wasm_f32x4_mul(h, wasm_v128_load(gamma + c)), wasm_v128_load(beta + c)));
    }
    for (; c < C; c++) {
      float h = (row[c] - mean[c]) * inv[c];
      hr[c] = h;
      yr[c] = h * gamma[c] + beta[c];
    }
  }
}

// acc[c] = Σ_r dy[r,c],  acc[C + c] = Σ_r dy[r,c]·xhat[r,c] (part: 2C floats).
static void grad_sums(const float* dy, const float* xhat, float* part, double* acc, int R, int C) {
  float* pb = part;
  float* pg = part + C;
  double* ab = acc;
  double* ag = acc + C;
  zero_f(part, 2 * C);
  zero_d(acc, 2 * C);
  for (int r = 0; r < R; r++) {
    const float* d = dy + (long)r * C;
    const float* h = xhat + (long)r * C;
    int c = 0;
    for (; c + 4 <= C; c += 4) {
      v128_t dv = wasm_v128_load(d + c);
      wasm_v128_store(pb + c, wasm_f32x4_add(wasm_v128_load(pb + c), dv));
      wasm_v128_store(pg + c, wasm_f32x4_add(wasm_v128_load(pg + c), wasm_f32x4_mul(dv, wasm_v128_load(h + c))));
    }
    for (; c < C; c++) {
      pb[c] += d[c];
      pg[c] += d[c] * h[c];
    }
    if ((r + 1) % BLOCK == 0) {
      flush(ab, pb, C);
      flush(ag, pg, C);
    }
  }
  flush(ab, pb, C);
  flush(ag, pg, C);
}

// dx = gamma·inv·(dy − (mb + xhat·mg)) with mb = mean(dy), mg = mean(dy·xhat) per channel.
static void grad_apply(const float* dy, const float* xhat, const float* gamma, const float* inv, const float* mb,
                       const float* mg, float* dx, int R, int C) {
  for (int r = 0; r < R; r++) {
    const float* d = dy + (long)r * C;
    const float* h = xhat + (long)r * C;
    float* o = dx + (long)r * C;
    int c = 0;
    for (; c + 4 <= C; c += 4) {
      v128_t t = wasm_f32x4_add(wasm_v128_load(mb + c), wasm_f32x4_mul(wasm_v128_load(h + c), wasm_v128_load(mg + c)));
      v128_t s = wasm_f32x4_mul(wasm_v128_load(gamma + c), wasm_v128_load(inv + c));
      wasm_v128_store(o + c, wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(d + c), t), s));
    }
    for (; c < C; c++) o[c] = (d[c] - (mb[c] + h[c] * mg[c])) * gamma[c] * inv[c];
  }
}

// mean[c] = Σ_r x[r,c] / R;  var[c] = Σ_r (x[r,c] − mean[c])² / R (biased);  inv[c] = 1/sqrt(var[c] + eps)
// xhat = (x − mean)·inv;  y = xhat·gamma + beta.
// scratch: C floats + C doubles (8-byte aligned).
EXPORT(bn_forward)
void bn_forward(const float* x, const float* gamma, const float* beta, float eps, float* y, float* xhat, float* mean,
                float* var, float* inv, float* part, double* acc, int R, int C) {
  col_sums(x, part, acc, R, C);
  for (int c = 0; c < C; c++) mean[c] = (float)(acc[c] / R);
  col_sq_dev(x, mean, part, acc, R, C);
  for (int c = 0; c < C; c++) {
    double v = acc[c] / R;
    var[c] = (float)v;
    inv[c] = (float)(1.0 / __builtin_sqrt((double)(float)v + (double)eps));
  }
  normalize(x, mean, inv, gamma, beta, y, xhat, R, C);
}

// dbeta[c] = Σ_r dy;  dgamma[c] = Σ_r dy·xhat;
// dx = gamma·inv·(dy − (dbeta + xhat·dgamma)/R).
// scratch: 2C floats + 2C doubles.
EXPORT(bn_backward)
void bn_backward(const float* dy, const float* xhat, const float* gamma, const float* inv, float* dx, float* dgamma,
                 float* dbeta, float* part, double* acc, int R, int C) {
  grad_sums(dy, xhat, part, acc, R, C);
  // reuse part for the per-channel means: pb = dbeta/R, pg = dgamma/R
  float* pb = part;
  float* pg = part + C;
  for (int c = 0; c < C; c++) {
    dbeta[c] = (float)acc[c];
    dgamma[c] = (float)acc[C + c];
    pb[c] = (float)(acc[c] / R);
    pg[c] = (float)(acc[C + c] / R);
  }
  grad_apply(dy, xhat, gamma, inv, pb, pg, dx, R, C);
}

// The same computations in phases, for batch norm whose batch is split over several replicas
// (the caller sums the partial sums of every replica between the phases; see batch-norm.ts).
// bn_sums: acc = Σ_r x (C doubles; scratch part C floats).
EXPORT(bn_sums)
void bn_sums(const float* x, float* part, double* acc, int R, int C) { col_sums(x, part, acc, R, C); }

// bn_sq_dev: acc = Σ_r (x − mean)² (C doubles; scratch part C floats).
EXPORT(bn_sq_dev)
void bn_sq_dev(const float* x, const float* mean, float* part, double* acc, int R, int C) { col_sq_dev(x, mean, part, acc, R, C); }

// bn_normalize: xhat and y from the global mean and inv.
EXPORT(bn_normalize)
void bn_normalize(const float* x, const float* mean, const float* inv, const float* gamma, const float* beta, float* y,
                  float* xhat, int R, int C) {
  normalize(x, mean, inv, gamma, beta, y, xhat, R, C);
}

// bn_grad_sums: acc = [Σ_r dy, Σ_r dy·xhat] (2C doubles; scratch part 2C floats).
EXPORT(bn_grad_sums)
void bn_grad_sums(const float* dy, const float* xhat, float* part, double* acc, int R, int C) {
  grad_sums(dy, xhat, part, acc, R, C);
}

// bn_grad_apply: dx from the global per-channel means mb = mean(dy), mg = mean(dy·xhat).
EXPORT(bn_grad_apply)
void bn_grad_apply(const float* dy, const float* xhat, const float* gamma, const float* inv, const float* mb,
                   const float* mg, float* dx, int R, int C) {
  grad_apply(dy, xhat, gamma, inv, mb, mg, dx, R, C);
}
