import * as Y from 'yjs';
import { addStruct, addTopLevelType, emptyFootprint, type Footprint } from './footprint.js';
import { deepestNewType } from './nesting-depth.js';

/** Why an update was refused before anything of it was applied. */
export type UpdateRefusal =
  | { readonly kind: 'malformed'; readonly cause: unknown }
  | { readonly kind: 'nestingTooDeep'; readonly depth: number };

export type UpdateInspection = { readonly ok: true; readonly footprint: Footprint } | ({ readonly ok: false } & UpdateRefusal);

/**
 * Checks a client's update against the document before it is applied, so an update is applied
 * whole or not at all:
 * - it decodes completely with Yjs' own decoder (which throws on malformed input without touching
 *   the document; `Y.applyUpdate` would have integrated the structs before reading a broken delete
 *   set);
 * - a struct refers only to earlier structs of its own client, a struct that starts among known
 *   clocks continues the known struct it overlaps, and no delete range is empty (Yjs assumes all
 *   three and fails half-way through integrating otherwise);
 * - the shared types it creates, and the JSON values it holds, nest at most `maxNestingDepth`
 *   levels deep.
 * It also returns what the update adds to the document's footprint, counting only structs the
 * document does not have yet, so a client resending known data is not charged twice.
 */
export function inspectUpdate(doc: Y.Doc, update: Uint8Array, maxNestingDepth: number): UpdateInspection {
  let decoded: ReturnType<typeof Y.decodeUpdate>;
  try {
    decoded = Y.decodeUpdate(update);
  } catch (cause) {
    return { ok: false, kind: 'malformed', cause };
  }
  const structs = decoded.structs;
  const emptyRange = emptyDeleteRange(decoded.ds);
  if (emptyRange) return { ok: false, kind: 'malformed', cause: new Error(`deletes an empty range at ${emptyRange}`) };
  const footprint = emptyFootprint();
  let hasSharedType = false;
  let client = -1;
  let knownClock = 0;
  let newTopLevelKeys: Set<string> | null = null;
  for (const struct of structs) {
    if (struct.id.client !== client) {
      client = struct.id.client;
      knownClock = Y.getState(doc.store, client);
    }
    if (struct instanceof Y.Item) {
      const reference = laterReferenceOfOwnClient(struct);
      if (reference) return { ok: false, kind: 'malformed', cause: new Error(`struct ${client}:${struct.id.clock} refers to ${reference}, which it cannot have seen`) };
      if (struct.id.clock < knownClock && struct.id.clock + struct.length > knownClock && !continuesKnownStruct(doc, struct, knownClock)) {
        return { ok: false, kind: 'malformed', cause: new Error(`struct ${client}:${struct.id.clock} overlaps a different known struct`) };
      }
      if (struct.content instanceof Y.ContentType) hasSharedType = true;
      // A decoded struct names a top-level parent by its key; Yjs creates that type on decoding.
      const parent = struct.parent as unknown;
      if (typeof parent === 'string' && !doc.share.has(parent) && !newTopLevelKeys?.has(parent)) {
        (newTopLevelKeys ??= new Set()).add(parent);
        addTopLevelType(footprint);
      }
    }
    if (struct.id.clock + struct.length > knownClock) {
      const valueDepth = addStruct(footprint, struct);
      if (valueDepth > maxNestingDepth) return { ok: false, kind: 'nestingTooDeep', depth: valueDepth };
    }
  }
  if (hasSharedType || doc.store.pendingStructs !== null) {
    const depth = deepestNewType(doc, structs, maxNestingDepth);
    if (depth > maxNestingDepth) return { ok: false, kind: 'nestingTooDeep', depth };
  }
  return { ok: true, footprint };
}

/** A delete range of length 0: Yjs cannot encode it again, and fails half-way through the update. */
function emptyDeleteRange(ds: ReturnType<typeof Y.decodeUpdate>['ds']): string | null {
  for (const [client, ranges] of ds.clients) {
    for (const range of ranges) if (range.len <= 0) return `${client}:${range.clock}`;
  }
  return null;
}

/**
 * A struct whose start the document already has is integrated from the first unknown clock on,
 * as the continuation of the known struct before it (a client may resend merged updates). Yjs
 * takes that on trust; a struct that is in fact a different one (another parent, another kind of
 * content) breaks the integration half-way.
 */
function continuesKnownStruct(doc: Y.Doc, struct: Y.Item, knownClock: number): boolean {
  const known = Y.getItem(doc.store, Y.createID(struct.id.client, knownClock - 1));
  if (!(known instanceof Y.Item) || known.content.constructor !== struct.content.constructor) return false;
  const parent = struct.parent as unknown;
  if (typeof parent === 'string') return doc.share.get(parent) === known.parent && struct.parentSub === known.parentSub;
  if (parent instanceof Y.ID) {
    const knownParent = known.parent as unknown;
    return knownParent instanceof Y.AbstractType && knownParent._item !== null && Y.compareIDs(knownParent._item.id, parent) && struct.parentSub === known.parentSub;
  }
  // Placed by its neighbours: the known struct must be where the start of this one was placed.
  const start = Y.getItem(doc.store, struct.id);
  return start instanceof Y.Item && Y.compareIDs(start.id.clock === struct.id.clock ? start.origin : Y.createID(struct.id.client, struct.id.clock - 1), struct.origin) && start.parent === known.parent;
}

/** A reference a client cannot have made: to its own struct at the same or a later clock. */
function laterReferenceOfOwnClient(item: Y.Item): string | null {
  const { client, clock } = item.id;
  if (item.origin !== null && item.origin.client === client && item.origin.clock >= clock) return `its origin ${client}:${item.origin.clock}`;
  const right = item.rightOrigin;
  if (right !== null && right.client === client && right.clock >= clock) return `its right origin ${client}:${right.clock}`;
  const parent = item.parent;
  if (parent instanceof Y.ID && parent.client === client && parent.clock >= clock) return `its parent ${client}:${parent.clock}`;
  return null;
}
