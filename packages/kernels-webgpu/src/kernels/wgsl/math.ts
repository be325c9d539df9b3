import type { ActivationKind } from '@strata/core';

/**
 * WGSL math helpers. `erf_approx` is Abramowitz–Stegun 7.1.26 (|error| ≤ 1.5e-7); tanh arguments are clamped so no
 * implementation overflows.
 */
export const WGSL_MATH = /* wgsl */ `
fn erf_approx(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  let y = 1.0 - poly * exp(-a * a);
  return select(-y, y, x >= 0.0);
}
fn safe_tanh(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }
fn silu(x: f32) -> f32 { return x / (1.0 + exp(-x)); }
fn gelu_tanh(x: f32) -> f32 { return 0.5 * x * (1.0 + safe_tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
fn gelu_erf(x: f32) -> f32 { return 0.5 * x * (1.0 + erf_approx(x * 0.7071067811865476)); }
fn relu(x: f32) -> f32 { return max(x, 0.0); }
`;

/** The WGSL function applying an activation. */
export function activationFunction(kind: ActivationKind): string {
  switch (kind) {
    case 'silu':
      return 'silu';
    case 'gelu-tanh':
      return 'gelu_tanh';
    case 'gelu-erf':
      return 'gelu_erf';
    case 'relu':
      return 'relu';
  }
}
