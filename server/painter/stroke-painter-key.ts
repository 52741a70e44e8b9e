/**
 * What a live stream in the `keyframes` painter mode looks its stroke painter up by (issue 22):
 * the style's bytes, the network, the default weights (the keyframes are painted with them) and
 * the stroke painter's shape. No tfjs here: the server process looks files up by it.
 */
import { DEFAULT_COST_WEIGHTS } from '../config.js';
import { STROKE_PAINTER_SHAPE, type PainterFor } from '../engine/painter-net/painter-key.js';

export function strokePainterFor(styleBytes: Uint8Array, styleName: string, network: string): PainterFor {
  return { styleBytes, styleName, network, ...DEFAULT_COST_WEIGHTS, preserveColors: false, shape: STROKE_PAINTER_SHAPE };
}
