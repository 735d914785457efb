/**
 * XML bodies for the CloudFront restXml API (fast-xml-parser). Parsing keeps every text value a string (no number
 * guessing) and drops namespace prefixes; building writes the CloudFront namespace on the root element.
 *
 * No DTD is ever processed: a body with a DOCTYPE (or any other markup declaration) is refused before parsing, and
 * the parser expands no entities itself. The five predefined entities and character references are decoded here,
 * and any other entity reference is refused, so nothing a caller declares can be expanded into stored values
 * (docs/security.md).
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { OpenFrontError } from '../../errors.js';
import { decodeUtf8 } from './body.js';
import { CLOUDFRONT_XML_NAMESPACE } from './error-writers.js';
import type { ApiResponse } from './types.js';

/** A parsed element: text, or child elements by name (a repeated child becomes an array). */
export type XmlNode = string | { [name: string]: XmlNode | XmlNode[] };

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  // Comments and names are compared byte for byte; whitespace between elements lands in "#text" and is ignored.
  trimValues: false,
  // Entities are decoded by `decodeText` below, which knows only the predefined ones: a DTD can declare nothing.
  processEntities: false,
  ignoreDeclaration: true,
});

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false });

/** `<!DOCTYPE`, `<!ENTITY`, … anywhere (also inside CDATA: refusing a rare false positive is the safe side). */
const MARKUP_DECLARATION = /<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)/i;
const PREDEFINED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };
const REFERENCE = /&([^;&\s]*);?/g;

/** A code point XML 1.0 allows as a character (the `Char` production). */
function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** Text with predefined entities and character references decoded; anything else after "&" is refused. */
function decodeText(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(REFERENCE, (whole, name: string) => {
    if (!whole.endsWith(';')) throw new OpenFrontError('CF_INVALID_ARGUMENT', 'The request body is not well-formed XML: "&" must start an entity reference');
    const predefined = Object.hasOwn(PREDEFINED_ENTITIES, name) ? PREDEFINED_ENTITIES[name] : undefined;
    if (predefined !== undefined) return predefined;
    const numeric = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(name);
    const cp = numeric ? parseInt(numeric[1] ?? numeric[2], numeric[1] ? 16 : 10) : NaN;
    if (numeric && isXmlChar(cp)) return String.fromCodePoint(cp);
    throw new OpenFrontError(
      'CF_INVALID_ARGUMENT',
      'The request body uses an entity or character reference that is not allowed: only &lt; &gt; &amp; &apos; &quot; and character references are accepted',
    );
  });
}

function decodeTree(node: unknown): unknown {
  if (typeof node === 'string') return decodeText(node);
  if (Array.isArray(node)) return node.map(decodeTree);
  if (typeof node === 'object' && node !== null) {
    // No prototype: an element named "__proto__" or "constructor" stays an ordinary child.
    const out = Object.create(null) as Record<string, unknown>;
    for (const [name, child] of Object.entries(node)) out[name] = decodeTree(child);
    return out;
  }
  return node;
}

function isWellFormed(text: string): boolean {
  try {
    return XMLValidator.validate(text) === true;
  } catch {
    return false;
  }
}

/**
 * Parses a request body whose root element must be `rootName`; returns the root's children. Anything that is not
 * well-formed UTF-8 XML with that root throws CF_INVALID_ARGUMENT (400).
 */
export function parseXmlRequest(body: Buffer, rootName: string): Record<string, XmlNode | XmlNode[]> {
  const text = decodeUtf8(body);
  if (text === undefined) throw new OpenFrontError('CF_INVALID_ARGUMENT', 'The request body is not valid UTF-8');
  if (text.trim() === '' || !isWellFormed(text)) {
    throw new OpenFrontError('CF_INVALID_ARGUMENT', `The request body is not well-formed XML: expected <${rootName}>`);
  }
  if (MARKUP_DECLARATION.test(text)) {
    throw new OpenFrontError('CF_INVALID_ARGUMENT', 'The request body must not contain a DOCTYPE or other markup declarations: DTDs are not accepted');
  }
  let parsed: unknown;
  try {
    parsed = parser.parse(text);
  } catch {
    // The parser's own limits (nesting depth, …) throw plain errors: the body is what is wrong, not the server.
    throw new OpenFrontError('CF_INVALID_ARGUMENT', `The request body is not acceptable XML (too deeply nested or malformed): expected <${rootName}>`);
  }
  const doc = decodeTree(parsed) as Record<string, unknown>;
  const root = doc[rootName];
  if (root === undefined) throw new OpenFrontError('CF_INVALID_ARGUMENT', `The request body must have the root element <${rootName}>`);
  return typeof root === 'object' && root !== null && !Array.isArray(root) ? (root as Record<string, XmlNode | XmlNode[]>) : {};
}

/**
 * Text of a child element. Undefined when absent. An element holding child elements, or given twice, where text is
 * expected throws CF_INVALID_ARGUMENT.
 */
export function xmlText(parent: Record<string, XmlNode | XmlNode[]> | undefined, name: string): string | undefined {
  const node = parent?.[name];
  if (node === undefined) return undefined;
  if (typeof node !== 'string') throw new OpenFrontError('CF_INVALID_ARGUMENT', `<${name}> must be a single text element`);
  return node;
}

/** A child element that holds elements (a structure), or undefined. */
export function xmlChild(parent: Record<string, XmlNode | XmlNode[]> | undefined, name: string): Record<string, XmlNode | XmlNode[]> | undefined {
  const node = parent?.[name];
  if (node === undefined || node === '') return undefined;
  if (typeof node !== 'object' || Array.isArray(node)) throw new OpenFrontError('CF_INVALID_ARGUMENT', `<${name}> must be a single structure`);
  return node;
}

/** An XML response whose root element carries the CloudFront namespace. */
export function xmlResponse(status: number, rootName: string, content: Record<string, unknown>, headers: Record<string, string> = {}): ApiResponse {
  const xml = builder.build({ [rootName]: { '@_xmlns': CLOUDFRONT_XML_NAMESPACE, ...content } }) as string;
  return { status, headers: { 'content-type': 'text/xml', ...headers }, body: `<?xml version="1.0" encoding="UTF-8"?>\n${xml}` };
}
