// A small ICU MessageFormat subset: `{name}`, `{n, number}`, `{n, plural, =0 {…} one {# item} other {# items}}`
// and `{x, select, a {…} other {…}}`, nested. Enough for the catalogues, a fraction of a full library's size.
// Messages are parsed once and cached per locale.

export type Values = Record<string, string | number | boolean | null | undefined>;

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'arg'; name: string; style?: 'number' }
  | { kind: 'pound' }
  | { kind: 'plural' | 'select'; name: string; offset: number; cases: Record<string, Node[]> };

export class MessageSyntaxError extends Error {}

function parse(message: string): Node[] {
  let position = 0;

  function parseNodes(inPlural: boolean, untilBrace: boolean): Node[] {
    const nodes: Node[] = [];
    let text = '';
    const flush = () => {
      if (text) nodes.push({ kind: 'text', text });
      text = '';
    };
    while (position < message.length) {
      const character = message[position];
      if (character === "'" && message[position + 1] === "'") {
        text += "'";
        position += 2;
      } else if (character === "'" && /[{}#]/.test(message[position + 1] ?? '')) {
        const end = message.indexOf("'", position + 1);
        if (end < 0) throw new MessageSyntaxError(`unclosed quote in ${JSON.stringify(message)}`);
        text += message.slice(position + 1, end);
        position = end + 1;
      } else if (character === '{') {
        flush();
        position += 1;
        nodes.push(parseArgument());
      } else if (character === '}') {
        if (!untilBrace) throw new MessageSyntaxError(`unexpected } in ${JSON.stringify(message)}`);
        flush();
        return nodes;
      } else if (character === '#' && inPlural) {
        flush();
        nodes.push({ kind: 'pound' });
        position += 1;
      } else {
        text += character;
        position += 1;
      }
    }
    if (untilBrace) throw new MessageSyntaxError(`unclosed { in ${JSON.stringify(message)}`);
    flush();
    return nodes;
  }

  function word(): string {
    const match = /^\s*([^\s,{}]+)\s*/.exec(message.slice(position));
    if (!match) throw new MessageSyntaxError(`expected a name at ${position} in ${JSON.stringify(message)}`);
    position += match[0].length;
    return match[1];
  }

  function parseArgument(): Node {
    const name = word();
    if (message[position] === '}') {
      position += 1;
      return { kind: 'arg', name };
    }
    if (message[position] !== ',') throw new MessageSyntaxError(`expected , after ${name}`);
    position += 1;
    const type = word();
    if (type === 'number' && message[position] === '}') {
      position += 1;
      return { kind: 'arg', name, style: 'number' };
    }
    if (type !== 'plural' && type !== 'select') throw new MessageSyntaxError(`unknown argument type ${type}`);
    if (message[position] !== ',') throw new MessageSyntaxError(`expected , after ${type}`);
    position += 1;
    let offset = 0;
    const cases: Record<string, Node[]> = {};
    for (;;) {
      const selector = word();
      if (selector === '}') break;
      if (selector.startsWith('offset:')) {
        offset = Number(selector.slice(7));
        continue;
      }
      if (message[position] !== '{') throw new MessageSyntaxError(`expected { after ${selector}`);
      position += 1;
      cases[selector] = parseNodes(type === 'plural', true);
      position += 1;
      const rest = /^\s*/.exec(message.slice(position));
      position += rest ? rest[0].length : 0;
      if (message[position] === '}') {
        position += 1;
        break;
      }
    }
    if (!cases.other) throw new MessageSyntaxError(`${type} ${name} needs an other case`);
    return { kind: type, name, offset, cases };
  }

  return parseNodes(false, false);
}

const cache = new Map<string, Node[]>();
const pluralRules = new Map<string, Intl.PluralRules>();
const numberFormats = new Map<string, Intl.NumberFormat>();

function rulesFor(locale: string): Intl.PluralRules {
  let rules = pluralRules.get(locale);
  if (!rules) pluralRules.set(locale, (rules = new Intl.PluralRules(locale)));
  return rules;
}

function numberFor(locale: string): Intl.NumberFormat {
  let format = numberFormats.get(locale);
  if (!format) numberFormats.set(locale, (format = new Intl.NumberFormat(locale)));
  return format;
}

function render(nodes: Node[], values: Values, locale: string, pound: number | null): string {
  let out = '';
  for (const node of nodes) {
    switch (node.kind) {
      case 'text':
        out += node.text;
        break;
      case 'pound':
        out += pound === null ? '#' : numberFor(locale).format(pound);
        break;
      case 'arg': {
        const value = values[node.name];
        out += typeof value === 'number' ? numberFor(locale).format(value) : (value ?? '').toString();
        break;
      }
      case 'plural': {
        const count = Number(values[node.name] ?? 0);
        const exact = node.cases[`=${count}`];
        const chosen = exact ?? node.cases[rulesFor(locale).select(count - node.offset)] ?? node.cases.other;
        out += render(chosen, values, locale, count - node.offset);
        break;
      }
      case 'select': {
        const key = String(values[node.name] ?? 'other');
        out += render(node.cases[key] ?? node.cases.other, values, locale, pound);
        break;
      }
    }
  }
  return out;
}

/** Checks a message's syntax; throws MessageSyntaxError when it is malformed. */
export function validateMessage(message: string): void {
  parse(message);
}

/** Formats one ICU message for a locale. */
export function formatMessage(message: string, values: Values = {}, locale = 'en'): string {
  let nodes = cache.get(message);
  if (!nodes) {
    nodes = parse(message);
    cache.set(message, nodes);
  }
  return render(nodes, values, locale, null);
}

/** Flattens a nested catalogue into dotted keys: `{ticket: {reply: "…"}}` → `{"ticket.reply": "…"}`. */
export function flatten(tree: Record<string, unknown>, prefix = '', into: Record<string, string> = {}) {
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'string') into[path] = value;
    else if (value && typeof value === 'object') flatten(value as Record<string, unknown>, path, into);
  }
  return into;
}
