import * as encoding from 'lib0/encoding';

/** An id of a struct: the client that created it and its clock. */
export interface StructId {
  readonly client: number;
  readonly clock: number;
}

/** Where a crafted item lives: a top-level key, or the shared type created by another item. */
export type CraftedParent = { readonly key: string } | { readonly type: StructId };

/** Content of a crafted item (a subset of Yjs' content kinds, enough to attack a server). */
export type CraftedContent =
  | { readonly kind: 'string'; readonly text: string }
  | { readonly kind: 'map' }
  | { readonly kind: 'array' }
  | { readonly kind: 'any'; readonly values: readonly encoding.AnyEncodable[] };

export interface CraftedItem {
  /** Neighbours at creation time; without either, `parent` says where the item goes. */
  readonly origin?: StructId;
  readonly rightOrigin?: StructId;
  readonly parent?: CraftedParent;
  /** Key within a map parent. */
  readonly parentSub?: string;
  readonly content: CraftedContent;
}

const CONTENT_ANY = 8;
const CONTENT_STRING = 4;
const CONTENT_TYPE = 7;
const TYPE_ARRAY = 0;
const TYPE_MAP = 1;

/**
 * Writes a Yjs v1 update by hand: `items` are consecutive structs of `client` from `clock` on.
 * Yjs' own API only produces updates a well-behaved client would send; an attacker writes bytes,
 * so the tests do too (deep chains in one update, references to structs that do not exist, items
 * whose dependencies never arrive). `deleteSet` bytes replace the (empty) delete set at the end.
 */
export function craftUpdate(client: number, clock: number, items: readonly CraftedItem[], deleteSet: Uint8Array = Uint8Array.of(0)): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 1);
  encoding.writeVarUint(encoder, items.length);
  encoding.writeVarUint(encoder, client);
  encoding.writeVarUint(encoder, clock);
  for (const item of items) writeItem(encoder, item);
  encoding.writeUint8Array(encoder, deleteSet);
  return encoding.toUint8Array(encoder);
}

function writeItem(encoder: encoding.Encoder, item: CraftedItem): void {
  const contentRef = item.content.kind === 'string' ? CONTENT_STRING : item.content.kind === 'any' ? CONTENT_ANY : CONTENT_TYPE;
  const hasNeighbour = item.origin !== undefined || item.rightOrigin !== undefined;
  const info = contentRef | (item.origin ? 0x80 : 0) | (item.rightOrigin ? 0x40 : 0) | (!hasNeighbour && item.parentSub !== undefined ? 0x20 : 0);
  encoding.writeUint8(encoder, info);
  if (item.origin) writeId(encoder, item.origin);
  if (item.rightOrigin) writeId(encoder, item.rightOrigin);
  if (!hasNeighbour) {
    const parent = item.parent ?? { key: 'root' };
    if ('key' in parent) {
      encoding.writeVarUint(encoder, 1);
      encoding.writeVarString(encoder, parent.key);
    } else {
      encoding.writeVarUint(encoder, 0);
      writeId(encoder, parent.type);
    }
    if (item.parentSub !== undefined) encoding.writeVarString(encoder, item.parentSub);
  }
  const content = item.content;
  switch (content.kind) {
    case 'string':
      encoding.writeVarString(encoder, content.text);
      break;
    case 'map':
      encoding.writeVarUint(encoder, TYPE_MAP);
      break;
    case 'array':
      encoding.writeVarUint(encoder, TYPE_ARRAY);
      break;
    case 'any':
      encoding.writeVarUint(encoder, content.values.length);
      for (const value of content.values) encoding.writeAny(encoder, value);
      break;
  }
}

function writeId(encoder: encoding.Encoder, id: StructId): void {
  encoding.writeVarUint(encoder, id.client);
  encoding.writeVarUint(encoder, id.clock);
}

/** `depth` maps nested in one another under the top-level map `key`, each under the key "c" of the one before. */
export function nestedMapsUpdate(client: number, depth: number, key = 'nested'): Uint8Array {
  const items: CraftedItem[] = [{ parent: { key }, parentSub: 'c', content: { kind: 'map' } }];
  for (let clock = 1; clock < depth; clock++) items.push({ parent: { type: { client, clock: clock - 1 } }, parentSub: 'c', content: { kind: 'map' } });
  return craftUpdate(client, 0, items);
}
