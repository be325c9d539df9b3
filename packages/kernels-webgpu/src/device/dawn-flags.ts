/** The prefix of Dawn's instance flag that turns on toggles (`create(['enable-dawn-features=a,b'])`). */
export const DAWN_FEATURES_FLAG = 'enable-dawn-features=';

/**
 * Dawn instance flags with every `enable-dawn-features=` merged into one and `features` added to it: Dawn keeps only
 * one value of each flag, so two separate entries would drop the first.
 */
export function withDawnFeatures(flags: readonly string[], ...features: readonly string[]): string[] {
  const enabled = flags
    .filter((flag) => flag.startsWith(DAWN_FEATURES_FLAG))
    .flatMap((flag) => flag.slice(DAWN_FEATURES_FLAG.length).split(','))
    .concat(features)
    .filter((feature, index, all) => feature !== '' && all.indexOf(feature) === index);
  const others = flags.filter((flag) => !flag.startsWith(DAWN_FEATURES_FLAG));
  return enabled.length === 0 ? others : [...others, DAWN_FEATURES_FLAG + enabled.join(',')];
}
