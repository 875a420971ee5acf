// Search highlights: the server escapes a hit's text and wraps the matched words in <b>. The workspace
// still trusts nothing it puts into the page: `onlyBold` keeps exactly `<b>` and `</b>` (balanced) and
// escapes everything else, so a snippet can be shown with {@html} and can never carry markup of its own.

const ENTITY = /^&(?:[a-zA-Z]{2,8}|#\d{1,7}|#x[0-9a-fA-F]{1,6});/;

function escapeText(text: string): string {
  let out = '';
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index];
    if (character === '&') {
      // Keep the server's entities (`&lt;`, `&#39;` …) as they are; escape a bare ampersand.
      const entity = ENTITY.exec(text.slice(index));
      out += entity ? '&' : '&amp;';
    } else if (character === '<') out += '&lt;';
    else if (character === '>') out += '&gt;';
    else if (character === '"') out += '&quot;';
    else out += character;
  }
  return out;
}

/** HTML safe to render: the input's `<b>`/`</b>` kept and balanced, every other tag and character escaped. */
export function onlyBold(html: string): string {
  let out = '';
  let open = 0;
  let position = 0;
  const tag = /<\/?b>/gi;
  for (let match = tag.exec(html); match; match = tag.exec(html)) {
    out += escapeText(html.slice(position, match.index));
    position = match.index + match[0].length;
    if (match[0][1] === '/') {
      if (open > 0) {
        out += '</b>';
        open -= 1;
      }
    } else if (open === 0) {
      // Nested bold adds nothing; one level is enough.
      out += '<b>';
      open += 1;
    }
  }
  out += escapeText(html.slice(position));
  if (open) out += '</b>';
  return out;
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** The plain text of a highlighted snippet: tags dropped, entities decoded (for a link's text, a title). */
export function plainText(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-fA-F]{1,6}|#\d{1,7}|[a-zA-Z]{2,8});/g, (whole, name: string) => {
      if (name[0] === '#') {
        const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return NAMED[name] ?? whole;
    });
}
