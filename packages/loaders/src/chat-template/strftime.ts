/**
 * Python's `datetime.strftime` in the C locale, for the `strftime_now(format)` global that Hugging Face gives chat
 * templates. Fields are read in local time, as Python's naive `datetime.now()` is.
 */

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

const pad = (value: number, width: number, fill = '0') => String(value).padStart(width, fill);

function dayOfYear(date: Date): number {
  const start = new Date(date.getFullYear(), 0, 1);
  const today = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  return Math.round((today.getTime() - start.getTime()) / 86_400_000) + 1;
}

function field(date: Date, code: string): string | undefined {
  const hours = date.getHours();
  switch (code) {
    case 'a':
      return DAYS[date.getDay()]!.slice(0, 3);
    case 'A':
      return DAYS[date.getDay()]!;
    case 'w':
      return String(date.getDay());
    case 'u':
      return String(date.getDay() === 0 ? 7 : date.getDay());
    case 'd':
      return pad(date.getDate(), 2);
    case 'e':
      return pad(date.getDate(), 2, ' ');
    case 'b':
    case 'h':
      return MONTHS[date.getMonth()]!.slice(0, 3);
    case 'B':
      return MONTHS[date.getMonth()]!;
    case 'm':
      return pad(date.getMonth() + 1, 2);
    case 'y':
      return pad(date.getFullYear() % 100, 2);
    case 'Y':
      return String(date.getFullYear());
    case 'H':
      return pad(hours, 2);
    case 'I':
      return pad(hours % 12 === 0 ? 12 : hours % 12, 2);
    case 'p':
      return hours < 12 ? 'AM' : 'PM';
    case 'M':
      return pad(date.getMinutes(), 2);
    case 'S':
      return pad(date.getSeconds(), 2);
    case 'f':
      return pad(date.getMilliseconds() * 1000, 6);
    case 'j':
      return pad(dayOfYear(date), 3);
    case 'z':
    case 'Z':
      return '';
    case 'D':
      return `${field(date, 'm')}/${field(date, 'd')}/${field(date, 'y')}`;
    case 'F':
      return `${field(date, 'Y')}-${field(date, 'm')}-${field(date, 'd')}`;
    case 'T':
      return `${field(date, 'H')}:${field(date, 'M')}:${field(date, 'S')}`;
    case 'R':
      return `${field(date, 'H')}:${field(date, 'M')}`;
    case 'c':
      return `${field(date, 'a')} ${field(date, 'b')} ${field(date, 'e')} ${field(date, 'T')} ${field(date, 'Y')}`;
    case 'x':
      return field(date, 'D');
    case 'X':
      return field(date, 'T');
    case 'n':
      return '\n';
    case 't':
      return '\t';
    case '%':
      return '%';
    default:
      return undefined;
  }
}

/** Formats `date` as Python's `strftime(format)` does (glibc's `%-d` style flag drops the padding). */
export function strftime(date: Date, format: string): string {
  return format.replace(/%(-?)([a-zA-Z%])/g, (whole, flag: string, code: string) => {
    const value = field(date, code);
    if (value === undefined) return whole;
    return flag === '-' ? value.replace(/^[0 ]+(?=.)/, '') : value;
  });
}
