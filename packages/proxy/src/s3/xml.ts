import { XMLBuilder, XMLParser } from 'fast-xml-parser';

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

export function buildXml(tree: Record<string, unknown>): string {
  return builder.build(tree);
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
