/**
 * SHA-256 (FIPS 180-4) of a string's UTF-8 bytes, lowercase hex, synchronously.
 *
 * Why not WebCrypto: its digest is asynchronous, and the canonical hash runs once per provider on both
 * sides of every seed (10,000 providers is 20,000 digests); why not `node:crypto`: the core is pure
 * and runs anywhere `effect` does. Tested against `node:crypto` over random inputs (Sha256.test.ts).
 */
const roundConstants = Int32Array.from([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2
])

const initialState = Int32Array.from([
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19
])

const utf8 = new TextEncoder()
const schedule = new Int32Array(64)
const state = new Int32Array(8)
/** The padded message of canonical forms (a few hundred bytes), reused from call to call (it runs twice per provider). */
const shared = new Uint8Array(4096)

/** The UTF-8 bytes of `text` at the start of a buffer big enough for them and their padding. */
const encode = (text: string): { readonly padded: Uint8Array; readonly byteCount: number } => {
  // At most 3 bytes per UTF-16 unit, plus the padding's 9 bytes and up to 63 of alignment.
  const needed = text.length * 3 + 72
  const padded = needed <= shared.length ? shared : new Uint8Array(needed)
  return { padded, byteCount: utf8.encodeInto(text, padded).written }
}

export const sha256Hex = (text: string): string => {
  const { byteCount, padded } = encode(text)
  // The message, a 0x80 byte, zero padding, and the bit length in the last 8 bytes of a 64-byte block.
  const length = Math.ceil((byteCount + 9) / 64) * 64
  padded.fill(0, byteCount, length)
  padded[byteCount] = 0x80
  const bits = byteCount * 8
  for (let i = 1; i <= 8; i++) padded[length - i] = Math.floor(bits / 2 ** (8 * (i - 1))) & 0xff
  state.set(initialState)
  for (let block = 0; block < length; block += 64) {
    for (let i = 0, j = block; i < 16; i++, j += 4) {
      schedule[i] = (padded[j]! << 24) | (padded[j + 1]! << 16) | (padded[j + 2]! << 8) | padded[j + 3]!
    }
    for (let i = 16; i < 64; i++) {
      const w15 = schedule[i - 15]!
      const w2 = schedule[i - 2]!
      const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3)
      const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10)
      schedule[i] = schedule[i - 16]! + s0 + schedule[i - 7]! + s1
    }
    let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!
    let e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!
    for (let i = 0; i < 64; i++) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
      const t1 = (h + s1 + ((e & f) ^ (~e & g)) + roundConstants[i]! + schedule[i]!) | 0
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
      const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0
      h = g
      g = f
      f = e
      e = (d + t1) | 0
      d = c
      c = b
      b = a
      a = (t1 + t2) | 0
    }
    state[0]! += a
    state[1]! += b
    state[2]! += c
    state[3]! += d
    state[4]! += e
    state[5]! += f
    state[6]! += g
    state[7]! += h
  }
  let hex = ""
  for (const word of state) hex += (word >>> 0).toString(16).padStart(8, "0")
  return hex
}
