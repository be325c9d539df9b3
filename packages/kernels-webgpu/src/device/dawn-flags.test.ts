import { describe, expect, it } from 'vitest';
import { DEFAULT_DAWN_FEATURES, withDawnFeatures, withDefaultDawnFeatures } from './dawn-flags.js';

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

  it('adds the default toggles unless the caller names them, in either list', () => {
    const [lazyClear] = DEFAULT_DAWN_FEATURES;
    expect(withDefaultDawnFeatures(['enable-dawn-features=skip_validation'])).toEqual([
      `enable-dawn-features=skip_validation,${lazyClear}`,
    ]);
    const disabled = [`disable-dawn-features=${lazyClear}`];
    expect(withDefaultDawnFeatures(disabled)).toEqual(disabled);
    expect(withDefaultDawnFeatures([`enable-dawn-features=${lazyClear}`])).toEqual([
      `enable-dawn-features=${lazyClear}`,
    ]);
  });
});
