/**
 * XML bodies for the CloudFront restXml API (fast-xml-parser). Parsing keeps every text value a string (no number
 * guessing) and drops namespace prefixes; building writes the CloudFront namespace on the root element.
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
  processEntities: true,
  ignoreDeclaration: true,
});

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false });

/**
 * Parses a request body whose root element must be `rootName`; returns the root's children. Anything that is not
 * well-formed UTF-8 XML with that root throws CF_INVALID_ARGUMENT (400).
 */
export function parseXmlRequest(body: Buffer, rootName: string): Record<string, XmlNode | XmlNode[]> {
  const text = decodeUtf8(body);
  if (text === undefined) throw new OpenFrontError('CF_INVALID_ARGUMENT', 'The request body is not valid UTF-8');
  if (text.trim() === '' || XMLValidator.validate(text) !== true) {
    throw new OpenFrontError('CF_INVALID_ARGUMENT', `The request body is not well-formed XML: expected <${rootName}>`);
  }
  const doc = parser.parse(text) as Record<string, unknown>;
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
