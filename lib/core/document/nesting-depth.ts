import * as Y from 'yjs';

type Struct = Y.Item | Y.GC | Y.Skip;

/**
 * How deep the shared types an update creates would nest once applied: a top-level type has depth
 * 0, a type inside it depth 1, and so on. Yjs walks nested types recursively (garbage collection,
 * `toJSON`, observers), so a few thousand levels overflow the stack in the middle of a transaction.
 *
 * The depth comes from the decoded structs and the existing document, without applying anything:
 * a new type's parent is named by id (a type in the update or in the document), by a top-level
 * key, or implied by its left or right neighbour. Parents the server does not have yet count as
 * depth 0 (a lower bound); the structs Yjs keeps pending are included, so a chain cannot grow deep
 * by arriving in pieces whose dependencies come last.
 *
 * Returns the deepest depth found, stopping as soon as one exceeds `limit`.
 */
export function deepestNewType(doc: Y.Doc, structs: readonly Struct[], limit: number): number {
  const types = structs.filter(isSharedType);
  const pending = doc.store.pendingStructs;
  let all = structs;
  if (pending !== null && (types.length > 0 || mayResolve(structs, pending.missing))) {
    const held = decodedPending(pending.update);
    all = [...structs, ...held];
    types.push(...held.filter(isSharedType));
  }
  if (types.length === 0) return 0;
  const resolver = new DepthResolver(doc, all, limit);
  let deepest = 0;
  for (const type of types) {
    deepest = Math.max(deepest, resolver.depthOfContainer(type) + 1);
    if (deepest > limit) break;
  }
  return deepest;
}

/** Pending structs decoded once per pending state, not once per update that arrives meanwhile. */
const pendingStructsByUpdate = new WeakMap<Uint8Array, Struct[]>();

function decodedPending(update: Uint8Array): Struct[] {
  let structs = pendingStructsByUpdate.get(update);
  if (!structs) {
    structs = Y.decodeUpdateV2(update).structs;
    pendingStructsByUpdate.set(update, structs);
  }
  return structs;
}

/** Whether `structs` hold a struct of a client the pending structs wait for (so they may integrate now). */
function mayResolve(structs: readonly Struct[], missing: Map<number, number>): boolean {
  return structs.some((struct) => missing.has(struct.id.client));
}

function isSharedType(struct: Struct): struct is Y.Item {
  return struct instanceof Y.Item && struct.content instanceof Y.ContentType;
}

class DepthResolver {
  /** The update's structs by client, in clock order, for lookups by id. */
  private readonly byClient = new Map<number, Struct[]>();
  /** Depth of the type that contains an item (memoised, so long sibling chains are walked once). */
  private readonly containerDepth = new Map<Y.Item, number>();

  constructor(
    private readonly doc: Y.Doc,
    structs: readonly Struct[],
    private readonly limit: number,
  ) {
    for (const struct of structs) {
      const list = this.byClient.get(struct.id.client);
      if (list) list.push(struct);
      else this.byClient.set(struct.id.client, [struct]);
    }
    for (const list of this.byClient.values()) list.sort((a, b) => a.id.clock - b.id.clock);
  }

  /**
   * Follows parent and neighbour links iteratively (a hostile chain may be 100,000 links long)
   * until a top-level type, a document item or a memoised item, then memoises the whole path.
   */
  depthOfContainer(start: Y.Item): number {
    const path: { item: Y.Item; levelsUp: number }[] = [];
    const visiting = new Set<Y.Item>();
    let current: Y.Item = start;
    let levelsUp = 0;
    let base = 0;
    for (;;) {
      path.push({ item: current, levelsUp });
      const known = this.containerDepth.get(current);
      if (known !== undefined) {
        base = known;
        break;
      }
      if (visiting.has(current) || levelsUp > this.limit) break;
      visiting.add(current);
      const parent = current.parent as unknown;
      if (typeof parent === 'string') break;
      if (parent instanceof Y.ID) {
        const inUpdate = this.findInUpdate(parent);
        if (inUpdate instanceof Y.Item) {
          current = inUpdate;
          levelsUp++;
          continue;
        }
        const inDocument = inUpdate ? null : this.findInDocument(parent);
        if (inDocument?.content instanceof Y.ContentType) base = this.depthOfDocumentType(inDocument.content.type);
        break;
      }
      const neighbour = current.origin ?? current.rightOrigin;
      if (neighbour === null) break;
      const inUpdate = this.findInUpdate(neighbour);
      if (inUpdate instanceof Y.Item) {
        current = inUpdate;
        continue;
      }
      const inDocument = inUpdate ? null : this.findInDocument(neighbour);
      if (inDocument?.parent instanceof Y.AbstractType) base = this.depthOfDocumentType(inDocument.parent);
      break;
    }
    const top = path[path.length - 1].levelsUp;
    for (const { item, levelsUp: up } of path) this.containerDepth.set(item, base + top - up);
    return base + top;
  }

  private findInUpdate(id: Y.ID): Struct | null {
    const list = this.byClient.get(id.client);
    if (!list) return null;
    let low = 0;
    let high = list.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const struct = list[middle];
      if (id.clock < struct.id.clock) high = middle - 1;
      else if (id.clock >= struct.id.clock + struct.length) low = middle + 1;
      else return struct;
    }
    return null;
  }

  private findInDocument(id: Y.ID): Y.Item | null {
    if (id.clock >= Y.getState(this.doc.store, id.client)) return null;
    const struct = Y.getItem(this.doc.store, id);
    return struct instanceof Y.Item ? struct : null;
  }

  /** Depth of a type already in the document, counted up to just past the limit. */
  private depthOfDocumentType(type: Y.AbstractType<unknown>): number {
    let depth = 0;
    for (let item = type._item; item !== null && depth <= this.limit; ) {
      depth++;
      const parent = item.parent as unknown;
      item = parent instanceof Y.AbstractType ? parent._item : null;
    }
    return depth;
  }
}
