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

/**
 * Dawn toggles the Node backend turns on unless the caller's flags name them (in a `disable-dawn-features=` entry,
 * say): `disable_lazy_clear_for_mapped_at_creation_buffer` skips Dawn's zeroing of buffers created mapped, which the
 * weight uploads and staging writes fill (padding included) themselves. On an H100 it took the load of the 8B shape
 * (Q4_K_M) from 5.4 to 4.3 s; on lavapipe it was 3 s of main-thread `createBuffer` time in a 1B load.
 */
export const DEFAULT_DAWN_FEATURES: readonly string[] = ['disable_lazy_clear_for_mapped_at_creation_buffer'];

/** `flags` with each of {@link DEFAULT_DAWN_FEATURES} enabled that no flag of the caller's names. */
export function withDefaultDawnFeatures(flags: readonly string[]): string[] {
  const named = (feature: string) =>
    flags.some((flag) => flag.includes('-dawn-features=') && flag.split(/[=,]/).includes(feature));
  return withDawnFeatures(flags, ...DEFAULT_DAWN_FEATURES.filter((feature) => !named(feature)));
}
