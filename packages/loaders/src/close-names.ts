// Name suggestions for error messages ("close names: …"), by edit distance.

/** Edit distance, bounded: used only to suggest names. */
function distance(left: string, right: string): number {
  let previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let leftIndex = 1; leftIndex <= left.length; leftIndex++) {
    const current = [leftIndex];
    for (let rightIndex = 1; rightIndex <= right.length; rightIndex++) {
      const cost = left[leftIndex - 1] === right[rightIndex - 1] ? 0 : 1;
      current.push(
        Math.min(
          (previous[rightIndex] ?? 0) + 1,
          (current[rightIndex - 1] ?? 0) + 1,
          (previous[rightIndex - 1] ?? 0) + cost,
        ),
      );
    }
    previous = current;
  }
  return previous[right.length] ?? 0;
}

/** Up to `count` names closest to `name` (edit distance), for error messages. */
export function closeNames(name: string, names: Iterable<string>, count = 3): string[] {
  const scored: { name: string; score: number }[] = [];
  for (const candidate of names) {
    if (Math.abs(candidate.length - name.length) > Math.max(8, name.length)) continue;
    scored.push({ name: candidate, score: distance(name, candidate) });
  }
  scored.sort((first, second) => first.score - second.score || first.name.localeCompare(second.name));
  return scored.slice(0, count).map((entry) => entry.name);
}
