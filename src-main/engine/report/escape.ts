/**
 * Returns text safe inside HTML or XML text and quoted attributes: the five
 * markup characters as entities, and control characters (which XML forbids
 * and a terminal would obey) written out as \xNN. Tab and newline are kept.
 */
export function escapeXml(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[&<>"'\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;'
      case '<':
        return '&lt;'
      case '>':
        return '&gt;'
      case '"':
        return '&quot;'
      case "'":
        return '&#39;'
      default:
        return '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0')
    }
  })
}
