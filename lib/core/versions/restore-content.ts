/* eslint-disable @typescript-eslint/no-explicit-any -- Yjs types its shared types as AbstractType<any>. */
import * as Y from 'yjs';
import { typeToJSON } from '../document/to-json.js';

/**
 * Restoring a version as a forward change. Applying the version's update to the live document is
 * not enough: Yjs merges, so everything added since the version would stay. Instead, each
 * top-level type of the live document is edited until its content equals the version's: what the
 * version lacks is deleted, what it had is inserted again (as new items, copies of the version's),
 * and what both share is left untouched, so the change is as small as a common prefix and suffix
 * make it, and the cursors and undo stacks of connected editors survive where nothing changed.
 */

type RootKind = 'map' | 'array' | 'text' | 'xml';

/** One top-level type to restore: the live one, and the version's (null when the version did not have it). */
interface RootPlan {
  readonly target: Y.AbstractType<any>;
  readonly source: Y.AbstractType<any> | null;
}

/**
 * Resolves the top-level types of both documents (outside any transaction: resolving an untyped
 * top-level type changes nothing, but it can throw when a type was defined differently), so that
 * `applyRestorePlan` cannot fail half-way.
 */
export function planRestore(live: Y.Doc, version: Y.Doc): RootPlan[] {
  const plans: RootPlan[] = [];
  for (const name of new Set([...live.share.keys(), ...version.share.keys()])) {
    const liveType = live.share.get(name);
    const versionType = version.share.get(name);
    const kind = kindOf(versionType) ?? kindOf(liveType);
    if (kind === null) continue;
    plans.push({ target: root(live, name, kind), source: versionType === undefined ? null : root(version, name, kind) });
  }
  return plans;
}

/** Makes `target`'s document equal to `state` (a Yjs update) in one server transaction with `reason` as its origin's reason. */
export function restoreState(target: { readonly doc: Y.Doc; applyServerChange(change: () => void, reason?: string): void }, state: Uint8Array, reason: string): void {
  const scratch = new Y.Doc();
  try {
    Y.applyUpdate(scratch, state);
    const plans = planRestore(target.doc, scratch);
    target.applyServerChange(() => applyRestorePlan(plans), reason);
  } finally {
    scratch.destroy();
  }
}

/** Makes every planned live type equal to the version's; call it inside one transaction. */
export function applyRestorePlan(plans: readonly RootPlan[]): void {
  for (const { target, source } of plans) {
    if (source === null) clear(target);
    else syncType(target, source);
  }
}

function root(doc: Y.Doc, name: string, kind: RootKind): Y.AbstractType<any> {
  switch (kind) {
    case 'map':
      return doc.getMap(name);
    case 'text':
      return doc.getText(name);
    case 'xml':
      return doc.getXmlFragment(name);
    case 'array':
      return doc.getArray(name);
  }
}

/** The kind of a top-level type, inferred from its content when no one defined it here; null for an untyped, empty one. */
function kindOf(type: Y.AbstractType<any> | undefined): RootKind | null {
  if (type === undefined) return null;
  if (type instanceof Y.XmlFragment) return 'xml';
  if (type instanceof Y.Text) return 'text';
  if (type instanceof Y.Map) return 'map';
  if (type instanceof Y.Array) return 'array';
  for (let item = type._start; item !== null; item = item.right) {
    if (item.deleted) continue;
    const content = item.content;
    if (content instanceof Y.ContentString || content instanceof Y.ContentFormat || content instanceof Y.ContentEmbed) return 'text';
    if (content instanceof Y.ContentType && (content.type instanceof Y.XmlElement || content.type instanceof Y.XmlText || content.type instanceof Y.XmlHook)) {
      return 'xml';
    }
    return 'array';
  }
  for (const item of type._map.values()) if (!item.deleted) return 'map';
  return null;
}

function clear(type: Y.AbstractType<any>): void {
  if (type instanceof Y.Map) {
    for (const key of [...type.keys()]) type.delete(key);
  } else if (type instanceof Y.Text || type instanceof Y.Array || type instanceof Y.XmlFragment) {
    if (type.length > 0) type.delete(0, type.length);
  }
}

function syncType(target: Y.AbstractType<any>, source: Y.AbstractType<any>): void {
  if (target instanceof Y.XmlElement && source instanceof Y.XmlElement) {
    syncAttributes(target, source.getAttributes());
    syncSequence(target, source.toArray());
  } else if (target instanceof Y.Text && source instanceof Y.Text) {
    // XmlText too: its attributes, then its formatted text.
    syncAttributes(target, source.getAttributes());
    syncText(target, source);
  } else if (target instanceof Y.Map && source instanceof Y.Map) {
    syncMap(target, source);
  } else if ((target instanceof Y.Array && source instanceof Y.Array) || (target instanceof Y.XmlFragment && source instanceof Y.XmlFragment)) {
    syncSequence(target, source.toArray());
  }
}

/** Same kind of shared type, so one can be edited in place into the other. */
function sameKind(a: unknown, b: unknown): a is Y.AbstractType<any> {
  if (!(a instanceof Y.AbstractType) || !(b instanceof Y.AbstractType) || a.constructor !== b.constructor) return false;
  if (a instanceof Y.XmlElement) return a.nodeName === (b as Y.XmlElement).nodeName;
  if (a instanceof Y.XmlHook) return a.hookName === (b as Y.XmlHook).hookName;
  return true;
}

/** A comparable rendering of a value or a shared type, including its kind. */
function contentKey(value: unknown): string {
  if (value instanceof Y.AbstractType) return `${value.constructor.name}:${JSON.stringify(typeToJSON(value))}`;
  if (value instanceof Uint8Array) return `binary:${Buffer.from(value).toString('base64')}`;
  if (value instanceof Y.Doc) return `doc:${value.guid}`;
  return `json:${JSON.stringify(value)}`;
}

/** A new value equal to `value`, to insert into the live document (a shared type belongs to one document only). */
function copyOf(value: unknown): unknown {
  if (value instanceof Y.AbstractType) return value.clone();
  if (value instanceof Y.Doc) return new Y.Doc({ guid: value.guid });
  if (value instanceof Uint8Array) return new Uint8Array(value);
  return value;
}

/** Edits `current` in place into `wanted` when both are shared types of the same kind; false when it must be replaced. */
function reconcile(current: unknown, wanted: unknown): boolean {
  if (sameKind(current, wanted)) {
    syncType(current, wanted as Y.AbstractType<any>);
    return true;
  }
  return !(current instanceof Y.AbstractType) && !(wanted instanceof Y.AbstractType) && contentKey(current) === contentKey(wanted);
}

function syncAttributes(target: Y.XmlElement | Y.Text, wanted: Record<string, unknown>): void {
  const current = target.getAttributes() as Record<string, unknown>;
  for (const name of Object.keys(current)) if (!(name in wanted)) target.removeAttribute(name);
  for (const [name, value] of Object.entries(wanted)) {
    if (!(name in current) || contentKey(current[name]) !== contentKey(value)) target.setAttribute(name, copyOf(value) as any);
  }
}

function syncMap(target: Y.Map<unknown>, source: Y.Map<unknown>): void {
  for (const key of [...target.keys()]) if (!source.has(key)) target.delete(key);
  for (const [key, value] of source.entries()) {
    if (target.has(key) && reconcile(target.get(key), value)) continue;
    target.set(key, copyOf(value));
  }
}

/** The length of the common prefix and (not overlapping it) suffix of two sequences. */
function commonEnds<T>(a: readonly T[], b: readonly T[], equal: (x: T, y: T) => boolean): { prefix: number; suffix: number } {
  const shorter = Math.min(a.length, b.length);
  let prefix = 0;
  while (prefix < shorter && equal(a[prefix], b[prefix])) prefix++;
  let suffix = 0;
  while (suffix < shorter - prefix && equal(a[a.length - 1 - suffix], b[b.length - 1 - suffix])) suffix++;
  return { prefix, suffix };
}

function syncSequence(target: Y.Array<unknown> | Y.XmlFragment, wanted: readonly unknown[]): void {
  const current = target.toArray() as unknown[];
  const currentKeys = current.map(contentKey);
  const wantedKeys = wanted.map(contentKey);
  const { prefix, suffix } = commonEnds(currentKeys, wantedKeys, (x, y) => x === y);
  const removed = current.length - prefix - suffix;
  const inserted = wanted.slice(prefix, wanted.length - suffix);
  if (removed === inserted.length) {
    // Element by element: an edited paragraph is edited in place, not replaced.
    for (let offset = 0; offset < removed; offset++) {
      const index = prefix + offset;
      if (reconcile(current[index], inserted[offset])) continue;
      target.delete(index, 1);
      target.insert(index, [copyOf(inserted[offset])] as any[]);
    }
    return;
  }
  if (removed > 0) target.delete(prefix, removed);
  if (inserted.length > 0) target.insert(prefix, inserted.map(copyOf) as any[]);
}

/** One UTF-16 code unit of text, or one embed, with its formatting. */
interface TextUnit {
  readonly insert: string | object;
  readonly attributes: Record<string, unknown>;
  readonly key: string;
}

function textUnits(text: Y.Text): TextUnit[] {
  const units: TextUnit[] = [];
  for (const op of text.toDelta() as { insert: string | object; attributes?: Record<string, unknown> }[]) {
    const attributes = op.attributes ?? {};
    const format = JSON.stringify(Object.keys(attributes).sort().map((name) => [name, contentKey(attributes[name])]));
    if (typeof op.insert === 'string') {
      for (const unit of op.insert) {
        // Iterating a string yields code points; Yjs counts UTF-16 code units.
        for (let index = 0; index < unit.length; index++) units.push({ insert: unit[index], attributes, key: `${format}:${unit[index]}` });
      }
    } else {
      units.push({ insert: op.insert, attributes, key: `${format}:${contentKey(op.insert)}` });
    }
  }
  return units;
}

const isHighSurrogate = (unit: TextUnit | undefined) => typeof unit?.insert === 'string' && /^[\uD800-\uDBFF]$/.test(unit.insert);
const isLowSurrogate = (unit: TextUnit | undefined) => typeof unit?.insert === 'string' && /^[\uDC00-\uDFFF]$/.test(unit.insert);

function syncText(target: Y.Text, source: Y.Text): void {
  const current = textUnits(target);
  const wanted = textUnits(source);
  let { prefix, suffix } = commonEnds(current, wanted, (x, y) => x.key === y.key);
  // Never split a surrogate pair: Yjs would replace each half with U+FFFD.
  if (prefix > 0 && isHighSurrogate(current[prefix - 1])) prefix--;
  if (suffix > 0 && isLowSurrogate(current[current.length - suffix])) suffix--;
  const removed = current.length - prefix - suffix;
  if (removed > 0) target.delete(prefix, removed);
  let index = prefix;
  const inserted = wanted.slice(prefix, wanted.length - suffix);
  for (let start = 0; start < inserted.length; ) {
    const unit = inserted[start];
    if (typeof unit.insert !== 'string') {
      target.insertEmbed(index, copyOf(unit.insert) as object, { ...unit.attributes });
      index++;
      start++;
      continue;
    }
    // A run of text with the same formatting goes in as one insert; `{}` means unformatted, not "as the left neighbour".
    let end = start + 1;
    while (end < inserted.length && typeof inserted[end].insert === 'string' && inserted[end].attributes === unit.attributes) end++;
    const run = inserted.slice(start, end).map((part) => part.insert).join('');
    target.insert(index, run, { ...unit.attributes });
    index += run.length;
    start = end;
  }
}
