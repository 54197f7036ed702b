/**
 * Monotone piecewise cubic Hermite interpolation (PCHIP, Fritsch–Carlson),
 * with the end-point derivatives of scipy's `PchipInterpolator` — the
 * interpolator the JCTVC/AOM BD-rate scripts use. Between data that rise
 * (or fall) it rises (or falls) too: it never overshoots a measurement,
 * which is why rate–quality curves are drawn with it.
 */

/** One cubic piece on [x0, x0 + h]: y = a + b·t + c·t² + d·t³ with t = x − x0. */
interface Piece {
  x0: number;
  h: number;
  a: number;
  b: number;
  c: number;
  d: number;
}

export class Pchip {
  private readonly pieces: Piece[];

  /** xs strictly increasing, at least 2 points; throws RangeError otherwise. Two points give the straight line. */
  constructor(
    readonly xs: readonly number[],
    readonly ys: readonly number[],
  ) {
    if (xs.length !== ys.length || xs.length < 2) throw new RangeError(`pchip needs at least 2 points with one y each (got ${xs.length} x, ${ys.length} y)`);
    for (let i = 0; i < xs.length; i++) {
      if (!Number.isFinite(xs[i]) || !Number.isFinite(ys[i])) throw new RangeError(`pchip point ${i} is not finite`);
      if (i > 0 && !(xs[i]! > xs[i - 1]!)) throw new RangeError(`pchip x must increase strictly (x[${i - 1}] = ${xs[i - 1]}, x[${i}] = ${xs[i]})`);
    }
    const n = xs.length;
    const h = xs.slice(1).map((x, i) => x - xs[i]!);
    const m = h.map((hi, i) => (ys[i + 1]! - ys[i]!) / hi);
    const d = new Array<number>(n).fill(0);
    if (n === 2) {
      d[0] = d[1] = m[0]!;
    } else {
      for (let k = 1; k < n - 1; k++) {
        const [m0, m1, h0, h1] = [m[k - 1]!, m[k]!, h[k - 1]!, h[k]!];
        if (m0 === 0 || m1 === 0 || Math.sign(m0) !== Math.sign(m1)) continue; // a local extremum or a flat: slope 0
        const w1 = 2 * h1 + h0;
        const w2 = h1 + 2 * h0;
        d[k] = (w1 + w2) / (w1 / m0 + w2 / m1);
      }
      d[0] = edgeSlope(h[0]!, h[1]!, m[0]!, m[1]!);
      d[n - 1] = edgeSlope(h[n - 2]!, h[n - 3]!, m[n - 2]!, m[n - 3]!);
    }
    this.pieces = h.map((hi, i) => ({
      x0: xs[i]!,
      h: hi,
      a: ys[i]!,
      b: d[i]!,
      c: (3 * m[i]! - 2 * d[i]! - d[i + 1]!) / hi,
      d: (d[i]! + d[i + 1]! - 2 * m[i]!) / (hi * hi),
    }));
  }

  get min(): number {
    return this.xs[0]!;
  }

  get max(): number {
    return this.xs[this.xs.length - 1]!;
  }

  /** The value at x; x outside [min, max] extends the end piece (callers that must not extrapolate check the domain). */
  at(x: number): number {
    const p = this.pieces[this.pieceOf(x)]!;
    const t = x - p.x0;
    return p.a + t * (p.b + t * (p.c + t * p.d));
  }

  /** The exact integral of the interpolant from a to b (a ≤ b, both inside [min, max]). */
  integral(a: number, b: number): number {
    if (a > b) return -this.integral(b, a);
    let sum = 0;
    for (const p of this.pieces) {
      const lo = Math.max(a, p.x0);
      const hi = Math.min(b, p.x0 + p.h);
      if (hi <= lo) continue;
      sum += primitive(p, hi - p.x0) - primitive(p, lo - p.x0);
    }
    return sum;
  }

  private pieceOf(x: number): number {
    let lo = 0;
    let hi = this.pieces.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.pieces[mid]!.x0 <= x) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/** scipy's one-sided three-point end slope, kept shape-preserving. */
function edgeSlope(h0: number, h1: number, m0: number, m1: number): number {
  const d = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1);
  if (Math.sign(d) !== Math.sign(m0)) return 0;
  if (Math.sign(m0) !== Math.sign(m1) && Math.abs(d) > Math.abs(3 * m0)) return 3 * m0;
  return d;
}

function primitive(p: Piece, t: number): number {
  return t * (p.a + t * (p.b / 2 + t * (p.c / 3 + (t * p.d) / 4)));
}

/**
 * The x in [lo, hi] where a monotone function f reaches y (bisection, to 1e-9 of the bracket);
 * null when y lies outside [f(lo), f(hi)] (either order).
 */
export function solveMonotone(f: (x: number) => number, y: number, lo: number, hi: number): number | null {
  const flo = f(lo);
  const fhi = f(hi);
  const rising = fhi >= flo;
  const eps = 1e-9 * Math.max(1, Math.abs(y));
  if (rising ? y < flo - eps || y > fhi + eps : y > flo + eps || y < fhi - eps) return null;
  let a = lo;
  let b = hi;
  for (let i = 0; i < 100 && b - a > 1e-12 * Math.max(1, Math.abs(b)); i++) {
    const mid = (a + b) / 2;
    if (f(mid) < y === rising) a = mid;
    else b = mid;
  }
  return (a + b) / 2;
}
