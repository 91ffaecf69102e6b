/** Packs unsigned `bits`-wide values into a little-endian bit stream. */
export function packBits(values: ArrayLike<number>, bits: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((values.length * bits) / 8));
  let bitPos = 0;
  for (let i = 0; i < values.length; i++) {
    let v = values[i]!;
    let left = bits;
    while (left > 0) {
      const byte = bitPos >> 3;
      const off = bitPos & 7;
      const take = Math.min(left, 8 - off);
      out[byte]! |= (v & ((1 << take) - 1)) << off;
      v >>>= take;
      left -= take;
      bitPos += take;
    }
  }
  return out;
}

/** Inverse of {@link packBits}. */
export function unpackBits(data: Uint8Array, bits: number, count: number): Uint32Array {
  const out = new Uint32Array(count);
  let bitPos = 0;
  for (let i = 0; i < count; i++) {
    let v = 0;
    let got = 0;
    while (got < bits) {
      const byte = bitPos >> 3;
      const off = bitPos & 7;
      const take = Math.min(bits - got, 8 - off);
      v |= ((data[byte]! >> off) & ((1 << take) - 1)) << got;
      got += take;
      bitPos += take;
    }
    out[i] = v;
  }
  return out;
}
