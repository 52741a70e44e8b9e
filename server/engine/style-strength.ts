/**
 * One "style strength" control instead of α and β. With the seed's normalisation the content
 * weight α does nothing visible across orders of magnitude (α = 10 and α = 1 000 paint the same
 * picture; the photo comes back only near α = 10⁷), so the control is logarithmic in α/β:
 *
 *   α = β · 10^(MOST_CONTENT − s · SPAN),   β = STYLE_WEIGHT,   s ∈ [0, 1]
 *
 * s = 1 is the seed's own balance (α = 10, β = 40: the style everywhere, the subject lost on a
 * close-up); s = 0 keeps the photo. The span was read off `npm run bench -- strength` (a sheet of
 * the repository's photos at strengths 0 … 1): every tenth of it is a step the eye sees.
 */

/** β: the seed's style weight, fixed; the strength moves α. */
export const STYLE_WEIGHT = 40;
/** log10(α/β) at strength 1: the seed's α = 10 against β = 40. */
const MOST_STYLE = Math.log10(10 / 40);
/** log10(α/β) at strength 0: the photo back (α ≈ 10⁷). */
const MOST_CONTENT = Math.log10(1e7 / 40);

export function costWeightsForStrength(strength: number): { contentWeight: number; styleWeight: number } {
  if (!(strength >= 0 && strength <= 1)) throw new RangeError(`style strength must be between 0 and 1, got ${strength}`);
  const ratio = 10 ** (MOST_CONTENT + strength * (MOST_STYLE - MOST_CONTENT));
  return { contentWeight: Number((STYLE_WEIGHT * ratio).toPrecision(4)), styleWeight: STYLE_WEIGHT };
}
