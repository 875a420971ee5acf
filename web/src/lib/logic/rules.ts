// Rule editing (triggers, automations, SLA policy conditions): the condition builder's rows and the action
// list in the form an admin edits them (text in inputs), and their JSON form for the API. The server checks
// every rule when it is saved; this only turns typed text into the JSON shape the server expects.

/** The kind of value a condition field compares with (the server's `ValueKind`). */
export type ValueKind = 'text' | 'status' | 'priority' | 'channel' | 'id' | 'tags' | 'tier' | 'number' | 'boolean' | 'date' | 'list';

/** A custom field's key and type, for `custom_fields.<key>` conditions. */
export interface FieldInfo {
  key: string;
  field_type: string;
}

/** Condition fields every rule may use. */
export const CONDITION_FIELDS = [
  'subject',
  'body',
  'channel',
  'status',
  'priority',
  'category_id',
  'tags',
  'group_id',
  'assignee_id',
  'customer_tier',
  'organization_id',
  'within_business_hours',
] as const;
/** Condition fields only automations (which run on the clock) may use. */
export const TIME_FIELDS = ['minutes_since_created', 'minutes_since_updated', 'minutes_since_status_changed'] as const;
/** Condition fields an SLA policy may use. */
export const SLA_FIELDS = ['priority', 'category_id', 'group_id', 'channel', 'customer_tier', 'organization_id', 'tags'] as const;

export const TRIGGER_EVENTS = [
  'ticket_created',
  'ticket_updated',
  'customer_replied',
  'agent_replied',
  'note_added',
  'sla_warning',
  'sla_breach',
] as const;

export const ACTION_TYPES = [
  'set_status',
  'set_priority',
  'set_category',
  'set_group',
  'set_assignee',
  'assign_round_robin',
  'assign_least_loaded',
  'add_tags',
  'remove_tags',
  'set_custom_field',
  'add_note',
  'notify',
  'webhook',
] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

const CHANGES = ['changed', 'changed_to', 'changed_from'];

/** The kind of value a field takes. */
export function valueKind(field: string, customFields: FieldInfo[] = []): ValueKind {
  switch (field) {
    case 'subject':
    case 'body':
      return 'text';
    case 'channel':
    case 'status':
    case 'priority':
      return field;
    case 'category_id':
    case 'group_id':
    case 'assignee_id':
    case 'organization_id':
      return 'id';
    case 'tags':
      return 'tags';
    case 'customer_tier':
      return 'tier';
    case 'within_business_hours':
      return 'boolean';
  }
  if (field.startsWith('minutes_since_')) return 'number';
  const custom = customFields.find((candidate) => `custom_fields.${candidate.key}` === field);
  switch (custom?.field_type) {
    case 'number':
      return 'number';
    case 'checkbox':
      return 'boolean';
    case 'date':
      return 'date';
    case 'dropdown':
      return 'list';
    default:
      return 'text';
  }
}

/** The operators a field accepts (the server's table; triggers alone may use the `changed*` ones). */
export function operatorsFor(field: string, customFields: FieldInfo[] = [], changes = true): string[] {
  const custom = field.startsWith('custom_fields.') ? customFields.find((f) => `custom_fields.${f.key}` === field) : undefined;
  let operators: string[];
  if (custom) {
    operators = {
      text: ['is', 'is_not', 'contains', 'not_contains', 'starts_with', 'changed', 'changed_to'],
      number: ['is', 'is_not', 'greater_than', 'less_than', 'changed'],
      checkbox: ['is', 'changed', 'changed_to'],
      date: ['is', 'is_not', 'greater_than', 'less_than', 'changed'],
      dropdown: ['is', 'is_not', 'in', 'not_in', 'changed', 'changed_to', 'changed_from'],
    }[custom.field_type] ?? ['is'];
  } else {
    operators = {
      text: ['is', 'is_not', 'contains', 'not_contains', 'starts_with', 'changed'],
      tags: ['contains', 'not_contains', 'changed'],
      number: ['is', 'greater_than', 'less_than'],
      boolean: ['is'],
    }[valueKind(field) as string] ?? ['is', 'is_not', 'in', 'not_in', 'changed', 'changed_to', 'changed_from'];
  }
  return changes ? operators : operators.filter((operator) => !CHANGES.includes(operator));
}

/** One condition as edited: the value is the text in its input. */
export interface ConditionRow {
  field: string;
  operator: string;
  value: string;
}

/** A rule's conditions as edited: every `all` row must hold, and at least one `any` row when there are some. */
export interface ConditionSet {
  all: ConditionRow[];
  any: ConditionRow[];
}

function single(kind: ValueKind, text: string): unknown {
  const trimmed = text.trim();
  switch (kind) {
    case 'id':
    case 'number': {
      if (kind === 'id' && (trimmed === '' || trimmed === 'none')) return null;
      const number = Number(trimmed);
      // Not a number: send the text, so the server says what is wrong with it.
      return trimmed !== '' && Number.isFinite(number) ? number : trimmed;
    }
    case 'boolean':
      return trimmed === 'true' ? true : trimmed === 'false' ? false : trimmed;
    case 'tier':
      return trimmed === '' ? null : trimmed;
    case 'text':
      return text;
    default:
      return trimmed;
  }
}

/** The JSON value for a row. `in`/`not_in` take a comma-separated list; `changed` takes none. */
export function conditionValue(row: ConditionRow, customFields: FieldInfo[] = []): unknown {
  if (row.operator === 'changed') return null;
  const kind = valueKind(row.field, customFields);
  if (row.operator === 'in' || row.operator === 'not_in') {
    return row.value
      .split(/[,，]/)
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => single(kind, part));
  }
  return single(kind, row.value);
}

/** A JSON value back as the text in the row's input. */
export function valueText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(valueText).join(', ');
  return String(value);
}

/** The API form of the edited conditions (empty lists left out). */
export function toConditions(set: ConditionSet, customFields: FieldInfo[] = []): Record<string, unknown> {
  const json = (rows: ConditionRow[]) =>
    rows
      .filter((row) => row.field)
      .map((row) => ({ field: row.field, operator: row.operator, value: conditionValue(row, customFields) }));
  const result: Record<string, unknown> = {};
  const all = json(set.all);
  const any = json(set.any);
  if (all.length) result.all = all;
  if (any.length) result.any = any;
  return result;
}

/** The edited form of stored conditions. */
export function fromConditions(raw: unknown): ConditionSet {
  const rows = (list: unknown): ConditionRow[] =>
    (Array.isArray(list) ? list : []).map((item: Record<string, unknown>) => ({
      field: String(item?.field ?? ''),
      operator: String(item?.operator ?? 'is'),
      value: valueText(item?.value),
    }));
  const object = (raw ?? {}) as Record<string, unknown>;
  return { all: rows(object.all), any: rows(object.any) };
}

/** One action as edited. Which of the texts matter depends on the type. */
export interface ActionRow {
  type: ActionType;
  /** Status, priority, an id, tags (comma-separated), or a custom field's value. */
  value: string;
  /** set_custom_field: the field's key. */
  key: string;
  /** notify: requester, assignee, agent or group. */
  to: string;
  /** notify: subject template. */
  subject: string;
  /** add_note and notify: body template. */
  body: string;
  /** webhook: URL. */
  url: string;
  /** webhook: secret (the stored one comes back masked; sending the mask keeps it). */
  secret: string;
}

export function emptyAction(type: ActionType = 'set_status'): ActionRow {
  return { type, value: '', key: '', to: 'requester', subject: '', body: '', url: '', secret: '' };
}

function tagList(text: string): string[] {
  return text
    .split(/[,，\s]+/)
    .map((tag) => tag.trim())
    .filter(Boolean);
}

function looseValue(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === 'true') return true;
  if (trimmed === 'false') return false;
  if (trimmed !== '' && Number.isFinite(Number(trimmed))) return Number(trimmed);
  return text;
}

/** The API form of one edited action. */
export function toAction(row: ActionRow): Record<string, unknown> {
  const id = (text: string) => single('id', text);
  switch (row.type) {
    case 'set_status':
    case 'set_priority':
      return { type: row.type, value: row.value };
    case 'set_category':
    case 'set_group':
    case 'set_assignee':
    case 'assign_round_robin':
    case 'assign_least_loaded':
      return { type: row.type, value: id(row.value) };
    case 'add_tags':
    case 'remove_tags':
      return { type: row.type, value: tagList(row.value) };
    case 'set_custom_field':
      return { type: row.type, key: row.key, value: looseValue(row.value) };
    case 'add_note':
      return { type: row.type, body: row.body };
    case 'notify': {
      const action: Record<string, unknown> = { type: row.type, to: row.to, subject: row.subject, body: row.body };
      if (row.to === 'agent' || row.to === 'group') action.value = id(row.value);
      return action;
    }
    case 'webhook':
      return { type: row.type, url: row.url, secret: row.secret };
  }
}

/** The edited form of a stored action. */
export function fromAction(raw: Record<string, unknown>): ActionRow {
  const type = (ACTION_TYPES as readonly string[]).includes(String(raw.type)) ? (raw.type as ActionType) : 'set_status';
  const text = (key: string) => (raw[key] === undefined || raw[key] === null ? '' : String(raw[key]));
  return {
    ...emptyAction(type),
    value: valueText(raw.value),
    key: text('key'),
    to: text('to') || 'requester',
    subject: text('subject'),
    body: text('body'),
    url: text('url'),
    secret: text('secret'),
  };
}

/** The positions that put `list` in its shown order after moving item `index` by `by` (−1 up, +1 down). */
export function reorder<T extends { id: number }>(list: T[], index: number, by: -1 | 1): { id: number; position: number }[] {
  const target = index + by;
  if (target < 0 || target >= list.length) return [];
  const moved = [...list];
  [moved[index], moved[target]] = [moved[target], moved[index]];
  return moved.map((item, position) => ({ id: item.id, position: (position + 1) * 10 }));
}
