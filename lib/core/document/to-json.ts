/* eslint-disable @typescript-eslint/no-explicit-any -- Yjs types its shared types as AbstractType<any>. */
import * as Y from 'yjs';

/**
 * A document as JSON, for the dashboard and host code.
 *
 * Top-level types are created by clients, so the server usually does not know whether `"shapes"`
 * is a map, an array, a text or an XML fragment: Yjs keeps such types as untyped placeholders
 * until someone calls `doc.getMap(name)` etc. This infers each placeholder's type from its content
 * and renders it, working on a copy so the live document's placeholders stay untouched (a wrong
 * guess there would make later host code calling `getText(name)` throw).
 */
export function documentToJSON(doc: Y.Doc): Record<string, unknown> {
  const unresolved = [...doc.share.values()].some((type) => type.constructor === Y.AbstractType);
  const source = unresolved ? copyOf(doc) : doc;
  const out: Record<string, unknown> = {};
  for (const [name, type] of source.share) {
    out[name] = typeToJSON(resolveTopLevelType(source, name, type));
  }
  if (source !== doc) source.destroy();
  return out;
}

function copyOf(doc: Y.Doc): Y.Doc {
  const copy = new Y.Doc({ gc: false });
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  return copy;
}

type TopLevelKind = 'map' | 'array' | 'text' | 'xml';

function resolveTopLevelType(doc: Y.Doc, name: string, type: Y.AbstractType<any>): Y.AbstractType<any> {
  if (type.constructor !== Y.AbstractType) return type;
  switch (inferKind(type)) {
    case 'map':
      return doc.getMap(name);
    case 'text':
      return doc.getText(name);
    case 'xml':
      return doc.getXmlFragment(name);
    default:
      return doc.getArray(name);
  }
}

function inferKind(type: Y.AbstractType<any>): TopLevelKind {
  for (let item = type._start; item !== null; item = item.right) {
    const content = item.content;
    if (content instanceof Y.ContentString || content instanceof Y.ContentFormat || content instanceof Y.ContentEmbed) return 'text';
    if (content instanceof Y.ContentType && (content.type instanceof Y.XmlElement || content.type instanceof Y.XmlText || content.type instanceof Y.XmlHook)) {
      return 'xml';
    }
    if (!item.deleted) return 'array';
  }
  return type._map.size > 0 ? 'map' : 'array';
}

/**
 * Deepest level rendered; anything deeper is replaced by a `{ truncated }` marker. Documents are
 * limited to `limits.maxNestingDepth` (128) levels of shared types, but JSON values inside them
 * and presence states are not, and rendering (then `JSON.stringify`) is recursive: a value nested
 * thousands of levels deep would overflow the stack and fail the whole view.
 */
export const MAX_RENDERED_DEPTH = 256;

/** What replaces a subtree nested deeper than `MAX_RENDERED_DEPTH`. */
export const truncatedSubtree = Object.freeze({ truncated: `nested deeper than ${MAX_RENDERED_DEPTH} levels` });

/** Renders any shared type: XML as a tree of `{ nodeName, attributes, children }` rather than a markup string. */
export function typeToJSON(type: unknown, depth = 0): unknown {
  if (depth > MAX_RENDERED_DEPTH) return truncatedSubtree;
  const child = (value: unknown): unknown => typeToJSON(value, depth + 1);
  if (type instanceof Y.XmlText) return { text: textToJSON(type, depth) };
  if (type instanceof Y.XmlElement) {
    return { nodeName: type.nodeName, attributes: child(type.getAttributes()), children: type.toArray().map(child) };
  }
  if (type instanceof Y.XmlHook) return { hook: type.hookName, value: mapToJSON(type, depth) };
  if (type instanceof Y.XmlFragment) return { children: type.toArray().map(child) };
  if (type instanceof Y.Text) return textToJSON(type, depth);
  if (type instanceof Y.Map) return mapToJSON(type, depth);
  if (type instanceof Y.Array) return type.toArray().map(child);
  if (type instanceof Uint8Array) return { binary: type.byteLength };
  if (type instanceof Y.Doc) return { subdocument: type.guid };
  if (Array.isArray(type)) return type.map(child);
  if (type !== null && typeof type === 'object') {
    return Object.fromEntries(Object.entries(type).map(([key, value]) => [key, child(value)]));
  }
  return type;
}

/**
 * Plain text as a string; formatted text (bold in a rich-text editor, embeds) as its delta, since
 * `toString()` would drop the formatting of a `Y.Text` and turn an `XmlText`'s into unescaped markup.
 */
function textToJSON(text: Y.Text, depth: number): unknown {
  const delta = text.toDelta() as { insert: unknown; attributes?: Record<string, unknown> }[];
  if (delta.every((op) => typeof op.insert === 'string' && op.attributes === undefined)) return text.toString();
  const child = (value: unknown): unknown => typeToJSON(value, depth + 1);
  return delta.map((op) => (op.attributes === undefined ? { insert: child(op.insert) } : { insert: child(op.insert), attributes: child(op.attributes) }));
}

function mapToJSON(map: Y.Map<unknown>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of map.entries()) out[key] = typeToJSON(value, depth + 1);
  return out;
}
