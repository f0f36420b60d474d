/** `items` cut into consecutive parts of at most `size` (the last may be shorter). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * `items` cut into consecutive parts of at most `size` items whose weights add up to at most
 * `budget` (an item heavier than the budget makes a part of its own).
 */
export function chunksWithin<T>(
  items: readonly T[],
  size: number,
  budget: number,
  weight: (item: T) => number,
): T[][] {
  const out: T[][] = [];
  let part: T[] = [];
  let load = 0;
  for (const item of items) {
    const w = weight(item);
    if (part.length > 0 && (part.length >= size || load + w > budget)) {
      out.push(part);
      part = [];
      load = 0;
    }
    part.push(item);
    load += w;
  }
  if (part.length > 0) out.push(part);
  return out;
}
