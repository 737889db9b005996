import * as Y from 'yjs';

/**
 * What a document (or an update) costs in memory, in two measures that the encoded size does not
 * show: Yjs keeps every struct as objects of a few hundred bytes, so a few encoded bytes per tiny
 * item grow 20–60× in the heap.
 */
export interface Footprint {
  /**
   * Weighted structs. One unit stands for about 250 bytes of heap, the cost of an item of text
   * measured on Yjs 13.6; a map entry (with its key) costs about twice that, a shared type three
   * times (a top-level type too), binary content and embedded documents more, while each plain
   * JSON value inside an item costs a quarter (a few dozen bytes).
   */
  items: number;
  /** Text, keys and binary held by the document: UTF-16 characters count 2 bytes each. */
  contentBytes: number;
}

const MAP_ENTRY_ITEMS = 1;
const SHARED_TYPE_ITEMS = 2;
const SUBDOCUMENT_ITEMS = 10;
const BINARY_ITEMS = 1;
const JSON_VALUES_PER_ITEM = 4;
const BYTES_PER_CHAR = 2;
const BYTES_PER_NUMBER = 8;

export function emptyFootprint(): Footprint {
  return { items: 0, contentBytes: 0 };
}

export function addFootprint(into: Footprint, added: Readonly<Footprint>): void {
  into.items += added.items;
  into.contentBytes += added.contentBytes;
}

/**
 * Adds one struct (as decoded from an update or as kept in a document's store) to `into`. Returns
 * how deep the JSON values in its content nest (0 without any): Yjs encodes and decodes them
 * recursively too.
 */
export function addStruct(into: Footprint, struct: Y.Item | Y.GC | Y.Skip): number {
  if (!(struct instanceof Y.Item)) {
    // A Skip is a gap in an update, never stored; a GC range is one small object however long.
    if (struct instanceof Y.GC) into.items += 1;
    return 0;
  }
  into.items += 1;
  if (struct.parentSub !== null) {
    into.items += MAP_ENTRY_ITEMS;
    into.contentBytes += struct.parentSub.length * BYTES_PER_CHAR;
  }
  // A decoded struct names a top-level parent by its key.
  const parent = struct.parent as unknown;
  if (typeof parent === 'string') into.contentBytes += parent.length * BYTES_PER_CHAR;
  const content = struct.content;
  if (content instanceof Y.ContentString) {
    into.contentBytes += content.str.length * BYTES_PER_CHAR;
  } else if (content instanceof Y.ContentAny || content instanceof Y.ContentJSON) {
    return addJsonValues(into, content.arr);
  } else if (content instanceof Y.ContentBinary) {
    into.items += BINARY_ITEMS;
    into.contentBytes += content.content.byteLength;
  } else if (content instanceof Y.ContentType) {
    into.items += SHARED_TYPE_ITEMS;
    const type = content.type as { nodeName?: unknown; hookName?: unknown };
    if (typeof type.nodeName === 'string') into.contentBytes += type.nodeName.length * BYTES_PER_CHAR;
    if (typeof type.hookName === 'string') into.contentBytes += type.hookName.length * BYTES_PER_CHAR;
  } else if (content instanceof Y.ContentFormat) {
    into.contentBytes += content.key.length * BYTES_PER_CHAR;
    return addJsonValues(into, [content.value]);
  } else if (content instanceof Y.ContentEmbed) {
    return addJsonValues(into, [content.embed]);
  } else if (content instanceof Y.ContentDoc) {
    into.items += SUBDOCUMENT_ITEMS;
    into.contentBytes += (content.doc?.guid.length ?? 0) * BYTES_PER_CHAR;
  }
  return 0;
}

/** Adds a top-level type (an entry of `doc.share`), created by the first struct naming its key. */
export function addTopLevelType(into: Footprint): void {
  into.items += SHARED_TYPE_ITEMS;
}

/**
 * Counts JSON values without recursion: a value nested thousands of levels deep (Yjs decodes it
 * recursively, up to what its stack allows) must not overflow ours. Returns how deep they nest.
 */
function addJsonValues(into: Footprint, values: readonly unknown[]): number {
  const stack: unknown[] = [...values];
  const depths: number[] = values.map(() => 1);
  let count = 0;
  let deepest = 0;
  while (stack.length > 0) {
    const value = stack.pop();
    const depth = depths.pop()!;
    count++;
    if (depth > deepest) deepest = depth;
    if (typeof value === 'string') {
      into.contentBytes += value.length * BYTES_PER_CHAR;
    } else if (typeof value === 'number' || typeof value === 'bigint') {
      into.contentBytes += BYTES_PER_NUMBER;
    } else if (value instanceof Uint8Array) {
      into.contentBytes += value.byteLength;
    } else if (Array.isArray(value)) {
      for (const element of value) {
        stack.push(element);
        depths.push(depth + 1);
      }
    } else if (value !== null && typeof value === 'object') {
      for (const [key, element] of Object.entries(value)) {
        into.contentBytes += key.length * BYTES_PER_CHAR;
        stack.push(element);
        depths.push(depth + 1);
      }
    }
  }
  into.items += Math.ceil(count / JSON_VALUES_PER_ITEM);
  return deepest;
}

/** The footprint of everything a document holds; as costly as encoding it, so done at load and checkpoint only. */
export function measureDocument(doc: Y.Doc): Footprint {
  const footprint = emptyFootprint();
  for (let i = 0; i < doc.share.size; i++) addTopLevelType(footprint);
  for (const structs of doc.store.clients.values()) {
    for (const struct of structs) addStruct(footprint, struct);
  }
  return footprint;
}
