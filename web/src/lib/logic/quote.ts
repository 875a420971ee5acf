// Quoted history in messages: the part of an email that repeats earlier mail ("On … wrote:" and `>` lines),
// shown collapsed so the new text stands out.

const ATTRIBUTION = [
  /^On .{3,200} wrote:\s*$/,
  /^-{2,}\s*Original Message\s*-{2,}$/i,
  /^在.{2,200}(写道|寫道)[:：]\s*$/,
  /^-{2,}\s*(原始邮件|原始郵件)\s*-{2,}$/,
  /^From: .+$/,
];

/** Splits plain text into what is new and the quoted history after it (empty when there is none). */
export function splitQuoted(text: string): { visible: string; quoted: string } {
  const lines = text.split('\n');
  let cut = -1;
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index].trim();
    if (ATTRIBUTION.some((pattern) => pattern.test(line))) {
      const after = lines.slice(index + 1).filter((rest) => rest.trim() !== '');
      if (after.length > 0) {
        cut = index;
        break;
      }
    }
    if (line.startsWith('>')) {
      const rest = lines.slice(index);
      if (rest.every((candidate) => candidate.trim() === '' || candidate.trim().startsWith('>'))) {
        cut = index;
        break;
      }
    }
  }
  if (cut <= 0) return { visible: text, quoted: cut === 0 ? '' : '' };
  return { visible: lines.slice(0, cut).join('\n').trimEnd(), quoted: lines.slice(cut).join('\n') };
}

/** Wraps quoted parts of sanitized email HTML (blockquotes, Gmail/Outlook quote blocks) in <details>. */
export function collapseHtmlQuotes(doc: Document, label: string): void {
  const selectors = ['.gmail_quote', 'blockquote[type="cite"]', '#divRplyFwdMsg', 'body > blockquote'];
  const seen = new Set<Element>();
  for (const element of doc.querySelectorAll(selectors.join(','))) {
    if ([...seen].some((outer) => outer.contains(element))) continue;
    seen.add(element);
    const details = doc.createElement('details');
    const summary = doc.createElement('summary');
    summary.textContent = label;
    element.replaceWith(details);
    details.append(summary, element);
  }
}
