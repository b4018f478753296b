/** Escapes text for an XML element, or an attribute value in double quotes. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => (c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === "&" ? "&amp;" : "&quot;"));
}

/** An XML tree as nested objects: a string is text, an object holds child elements in order, `undefined` is left out. */
export type XmlNode = string | { [element: string]: XmlNode | XmlNode[] | undefined };

/** Serializes `node` (no declaration); arrays repeat the element. */
export function toXml(node: XmlNode): string {
  if (typeof node === "string") return escapeXml(node);
  let out = "";
  for (const [name, value] of Object.entries(node)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) out += `<${name}>${toXml(item)}</${name}>`;
  }
  return out;
}

/** A document with the XML declaration and `root` carrying `xmlns`. */
export function xmlDocument(root: string, xmlns: string | undefined, body: XmlNode): string {
  const ns = xmlns === undefined ? "" : ` xmlns="${escapeXml(xmlns)}"`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${ns}>${toXml(body)}</${root}>`;
}
