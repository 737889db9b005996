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
 * - a struct refers only to earlier structs of its own client (Yjs assumes so and fails half-way
 *   through integrating otherwise);
 * - the shared types it creates, and the JSON values it holds, nest at most `maxNestingDepth`
 *   levels deep.
 * It also returns what the update adds to the document's footprint, counting only structs the
 * document does not have yet, so a client resending known data is not charged twice.
 */
export function inspectUpdate(doc: Y.Doc, update: Uint8Array, maxNestingDepth: number): UpdateInspection {
  let structs: (Y.Item | Y.GC | Y.Skip)[];
  try {
    structs = Y.decodeUpdate(update).structs;
  } catch (cause) {
    return { ok: false, kind: 'malformed', cause };
  }
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
