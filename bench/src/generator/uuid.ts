const HEX_CODES = Array.from('0123456789abcdef', (digit) => digit.charCodeAt(0));
const DASH = '-'.charCodeAt(0);
const VERSION_4 = '4'.charCodeAt(0);

/** Character code of the hex digit at bit `shift` of `word`. */
const h = (word: number, shift: number): number => HEX_CODES[(word >>> shift) & 0xf]!;

/**
 * A version 4 UUID from four random 32-bit words. One fromCharCode call makes one flat string;
 * joining 20 pieces with + built a tree of cons strings per id and cost ten times as much in
 * allocation and GC. The arguments are spelled out because spreading arrays into the call
 * doubled its cost.
 */
export function formatUuidV4(w0: number, w1: number, w2: number, w3: number): string {
  return String.fromCharCode(
    h(w0, 28),
    h(w0, 24),
    h(w0, 20),
    h(w0, 16),
    h(w0, 12),
    h(w0, 8),
    h(w0, 4),
    h(w0, 0),
    DASH,
    h(w1, 28),
    h(w1, 24),
    h(w1, 20),
    h(w1, 16),
    DASH,
    VERSION_4,
    h(w1, 8),
    h(w1, 4),
    h(w1, 0),
    DASH,
    // The RFC 9562 variant: binary 10xx, so 8, 9, a or b.
    HEX_CODES[8 | ((w2 >>> 28) & 0x3)]!,
    h(w2, 24),
    h(w2, 20),
    h(w2, 16),
    DASH,
    h(w2, 12),
    h(w2, 8),
    h(w2, 4),
    h(w2, 0),
    h(w3, 28),
    h(w3, 24),
    h(w3, 20),
    h(w3, 16),
    h(w3, 12),
    h(w3, 8),
    h(w3, 4),
    h(w3, 0),
  );
}
