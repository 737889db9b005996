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

/** Renders any shared type: XML as a tree of `{ nodeName, attributes, children }` rather than a markup string. */
export function typeToJSON(type: unknown): unknown {
  if (type instanceof Y.XmlText) return { text: textToJSON(type) };
  if (type instanceof Y.XmlElement) {
    return { nodeName: type.nodeName, attributes: type.getAttributes(), children: type.toArray().map(typeToJSON) };
  }
  if (type instanceof Y.XmlHook) return { hook: type.hookName, value: mapToJSON(type) };
  if (type instanceof Y.XmlFragment) return { children: type.toArray().map(typeToJSON) };
  if (type instanceof Y.Text) return textToJSON(type);
  if (type instanceof Y.Map) return mapToJSON(type);
  if (type instanceof Y.Array) return type.toArray().map(typeToJSON);
  if (type instanceof Uint8Array) return { binary: type.byteLength };
  if (type instanceof Y.Doc) return { subdocument: type.guid };
  if (Array.isArray(type)) return type.map(typeToJSON);
  if (type !== null && typeof type === 'object') {
    return Object.fromEntries(Object.entries(type).map(([key, value]) => [key, typeToJSON(value)]));
  }
  return type;
}

/**
 * Plain text as a string; formatted text (bold in a rich-text editor, embeds) as its delta, since
 * `toString()` would drop the formatting of a `Y.Text` and turn an `XmlText`'s into unescaped markup.
 */
function textToJSON(text: Y.Text): unknown {
  const delta = text.toDelta() as { insert: unknown; attributes?: Record<string, unknown> }[];
  if (delta.every((op) => typeof op.insert === 'string' && op.attributes === undefined)) return text.toString();
  return delta.map((op) => (op.attributes === undefined ? { insert: typeToJSON(op.insert) } : { insert: typeToJSON(op.insert), attributes: op.attributes }));
}

function mapToJSON(map: Y.Map<unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of map.entries()) out[key] = typeToJSON(value);
  return out;
}
