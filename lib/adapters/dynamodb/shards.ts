/** FNV-1a of the account id, mod `shards`: stable across processes and languages. Spreads one logical key
 * (an index partition) over several physical ones, so a sweep's writes do not all land on one partition. */
export function shardOf(accountId: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < accountId.length; i++) {
    hash ^= accountId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}
