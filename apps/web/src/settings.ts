/** localStorage key of the remembered form settings. */
const SETTINGS_KEY = 'strata.settings';

type Remembered = HTMLInputElement | HTMLTextAreaElement;

/**
 * Restores the values of `fields` (by id) from the last visit and remembers every change the user makes. A field the
 * page sets itself (the context length after a load) is remembered only when the user edits it.
 */
export function rememberSettings(fields: readonly Remembered[]): void {
  let saved: Record<string, string | boolean> = {};
  try {
    saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? '{}') as Record<string, string | boolean>;
  } catch {
    saved = {};
  }
  for (const field of fields) {
    const value = saved[field.id];
    if (field instanceof HTMLInputElement && field.type === 'checkbox') {
      if (typeof value === 'boolean') field.checked = value;
    } else if (typeof value === 'string') field.value = value;
    field.addEventListener('change', () => {
      saved[field.id] = field instanceof HTMLInputElement && field.type === 'checkbox' ? field.checked : field.value;
      localStorage.setItem(SETTINGS_KEY, JSON.stringify(saved));
    });
  }
}
