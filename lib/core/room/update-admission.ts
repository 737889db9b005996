import type * as Y from 'yjs';
import type { Footprint } from '../document/footprint.js';
import { inspectUpdate } from '../document/update-guard.js';
import type { ResolvedOptions } from '../options.js';
import { CloseCode, CloseReason } from '../protocol/close-codes.js';

/** What a room's document holds now, as the limits count it. */
export interface DocumentUsage {
  readonly documentBytes: number;
  readonly footprint: Readonly<Footprint>;
}

export type Admission =
  | { readonly ok: true; readonly footprint: Footprint }
  | {
      readonly ok: false;
      readonly code: number;
      readonly reason: string;
      /** A broken message rather than a limit reached. */
      readonly malformed: boolean;
      /** What the log line says about the refusal. */
      readonly details: Record<string, unknown>;
    };

type Limits = ResolvedOptions['limits'];

/**
 * Decides whether a client's update may be applied: it must be well-formed, nest shared types no
 * deeper than `maxNestingDepth`, and keep the document within its byte, item and content limits.
 * A refused update is refused whole; nothing of it reaches the document.
 */
export function admitClientUpdate(doc: Y.Doc, update: Uint8Array, usage: DocumentUsage, limits: Limits): Admission {
  if (usage.documentBytes + update.byteLength > limits.maxDocumentBytes) {
    return refuse(CloseCode.documentTooLarge, CloseReason.documentTooLarge, { documentBytes: usage.documentBytes, updateBytes: update.byteLength });
  }
  const inspection = inspectUpdate(doc, update, limits.maxNestingDepth);
  if (!inspection.ok) {
    if (inspection.kind === 'malformed') {
      return { ok: false, code: CloseCode.protocolError, reason: CloseReason.protocolError, malformed: true, details: { err: inspection.cause } };
    }
    return refuse(CloseCode.nestingTooDeep, CloseReason.nestingTooDeep, { depth: inspection.depth, maxNestingDepth: limits.maxNestingDepth });
  }
  const added = inspection.footprint;
  if (usage.footprint.items + added.items > limits.maxDocumentItems) {
    return refuse(CloseCode.documentTooLarge, CloseReason.tooManyItems, { documentItems: usage.footprint.items, updateItems: added.items });
  }
  if (usage.footprint.contentBytes + added.contentBytes > limits.maxDocumentContentBytes) {
    return refuse(CloseCode.documentTooLarge, CloseReason.contentTooLarge, { contentBytes: usage.footprint.contentBytes, updateContentBytes: added.contentBytes });
  }
  return { ok: true, footprint: added };
}

function refuse(code: number, reason: string, details: Record<string, unknown>): Admission {
  return { ok: false, code, reason, malformed: false, details };
}
