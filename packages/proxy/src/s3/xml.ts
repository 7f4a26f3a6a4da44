import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { S3Error } from './errors.js';

/**
 * XML in and out, through one well-kept parser. Values stay strings (no number or entity
 * guessing: a key named "0012" or "1e5" must come back as sent), and documents are rebuilt
 * from the parsed tree rather than edited as text.
 */
const parser = new XMLParser({
  ignoreAttributes: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  // Backends write characters of keys as numeric references (MinIO: "&#34;" in ETags); decode
  // them, so the builder writes each character back exactly once.
  htmlEntities: true,
});

const builder = new XMLBuilder({
  ignoreAttributes: false,
  suppressEmptyNode: false,
  processEntities: true,
});

export function parseXml(text: string): Record<string, unknown> {
  return parser.parse(text) as Record<string, unknown>;
}

/**
 * A client's XML request body (CompleteMultipartUpload): well-formed, without a DTD, or
 * MalformedXML. The parser alone accepts unclosed and mismatched tags, and it reads
 * `<!ENTITY>` declarations and expands them; S3 refuses both. U+FFFD is what invalid UTF-8
 * decodes to, and nothing in these bodies legitimately holds it.
 */
export function parseXmlRequest(text: string): Record<string, unknown> {
  if (DOCTYPE.test(text)) throw new S3Error('MalformedXML', 'a DTD (<!DOCTYPE>) is not allowed');
  if (text.includes('\uFFFD')) throw new S3Error('MalformedXML', 'the body is not valid UTF-8');
  const validation = XMLValidator.validate(text);
  if (validation !== true) throw new S3Error('MalformedXML', validation.err.msg);
  try {
    return parser.parse(text) as Record<string, unknown>;
  } catch (err: unknown) {
    // fast-xml-parser throws plain Errors (nesting past maxNestedTags, reserved names).
    throw new S3Error('MalformedXML', undefined, { cause: err });
  }
}
const DOCTYPE = /<!DOCTYPE/i;

export function buildXml(tree: Record<string, unknown>): string {
  return builder.build(tree);
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
