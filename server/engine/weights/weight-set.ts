/**
 * Named float32 arrays with shapes: what every weight reader produces and every network
 * consumes. Names follow Keras: `block1_conv1/kernel` ([kh, kw, in, out]) and `block1_conv1/bias`.
 */
export interface NamedWeight {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type WeightSet = Map<string, NamedWeight>;

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Where the weights came from, for logs and `stylize models`. */
export interface WeightSource {
  readonly kind: 'stylize' | 'tfjs-layers' | 'keras-h5' | 'random';
  readonly path: string;
}
