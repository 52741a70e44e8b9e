/**
 * One "style strength" control instead of α and β. With the seed's normalisation the content
 * weight α does nothing visible across orders of magnitude (α = 10 and α = 1 000 paint the same
 * picture; the photo comes back only near α = 10⁷), so the control is logarithmic in α, over the
 * four decades where the picture changes:
 *
 *   α = 10^(7 − 4·s),   β = 40,   s ∈ [0, 1]
 *
 * s = 0 keeps the photo (α = 10⁷); s = 1 (α = 1 000) paints as the seed's α = 10 does. The span
 * was read off `npm run bench -- strength` (the repository's photos at strengths 0 … 1, by eye
 * and by the structure loss against the photo): with α from 10 to 10⁷ in one even span, all the
 * change happened in its first 40 %.
 */

/** β: the seed's style weight, fixed; the strength moves α. */
export const STYLE_WEIGHT = 40;
/** log10(α/β) at strength 1: α = 1 000 (below it nothing changes that the eye sees). */
const MOST_STYLE = Math.log10(1e3 / 40);
/** log10(α/β) at strength 0: the photo back (α = 10⁷). */
const MOST_CONTENT = Math.log10(1e7 / 40);

export function costWeightsForStrength(strength: number): { contentWeight: number; styleWeight: number } {
  if (!(strength >= 0 && strength <= 1)) throw new RangeError(`style strength must be between 0 and 1, got ${strength}`);
  const ratio = 10 ** (MOST_CONTENT + strength * (MOST_STYLE - MOST_CONTENT));
  return { contentWeight: Number((STYLE_WEIGHT * ratio).toPrecision(4)), styleWeight: STYLE_WEIGHT };
}
