/**
 * @module domain/dedup-key
 * Stable identity of "the same alarm": a hash of source, name and the sorted label set.
 * Pure: the hash function is passed in so this file needs no runtime crypto.
 */

/** Canonical text of source+name+labels: keys sorted, values JSON-escaped, so no two inputs collide. */
export function dedupMaterial(source: string, name: string, labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  const pairs = keys.map((k) => [k, labels[k]] as const);
  return JSON.stringify([source, name, pairs]);
}

/** `hash` returns hex; the key is the first 32 hex digits (128 bits). */
export function defaultDedupKey(
  source: string,
  name: string,
  labels: Readonly<Record<string, string>>,
  hash: (text: string) => string,
): string {
  return hash(dedupMaterial(source, name, labels)).slice(0, 32);
}
