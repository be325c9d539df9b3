import { describe, expect, it } from 'vitest';
import { withDawnFeatures } from './dawn-flags.js';

describe('Dawn instance flags', () => {
  it('merges every enable-dawn-features entry into one and adds features once', () => {
    expect(
      withDawnFeatures(
        ['enable-dawn-features=skip_validation', 'verbose', 'enable-dawn-features=disable_robustness,skip_validation'],
        'allow_unsafe_apis',
      ),
    ).toEqual(['verbose', 'enable-dawn-features=skip_validation,disable_robustness,allow_unsafe_apis']);
    expect(withDawnFeatures(['verbose'])).toEqual(['verbose']);
    expect(withDawnFeatures([], 'allow_unsafe_apis')).toEqual(['enable-dawn-features=allow_unsafe_apis']);
  });
});
