import { describe, expect, it } from 'vitest';
import {
  conditionValue,
  emptyAction,
  fromAction,
  fromConditions,
  operatorsFor,
  reorder,
  toAction,
  toConditions,
  valueKind,
} from './rules';

const fields = [
  { key: 'amount', field_type: 'number' },
  { key: 'plan', field_type: 'dropdown' },
];

describe('condition builder', () => {
  it('knows each field kind and its operators', () => {
    expect(valueKind('group_id')).toBe('id');
    expect(valueKind('minutes_since_updated')).toBe('number');
    expect(valueKind('custom_fields.amount', fields)).toBe('number');
    expect(operatorsFor('tags')).toEqual(['contains', 'not_contains', 'changed']);
    expect(operatorsFor('priority', [], false)).toEqual(['is', 'is_not', 'in', 'not_in']);
    expect(operatorsFor('custom_fields.plan', fields)).toContain('changed_from');
  });

  it('types values: ids and numbers as numbers, lists for in, null for changed and none', () => {
    expect(conditionValue({ field: 'group_id', operator: 'is', value: ' 7 ' })).toBe(7);
    expect(conditionValue({ field: 'assignee_id', operator: 'is', value: '' })).toBeNull();
    expect(conditionValue({ field: 'channel', operator: 'in', value: 'wechat, line，email' })).toEqual(['wechat', 'line', 'email']);
    expect(conditionValue({ field: 'group_id', operator: 'not_in', value: '1,2' })).toEqual([1, 2]);
    expect(conditionValue({ field: 'status', operator: 'changed', value: 'x' })).toBeNull();
    expect(conditionValue({ field: 'within_business_hours', operator: 'is', value: 'false' })).toBe(false);
    expect(conditionValue({ field: 'custom_fields.amount', operator: 'greater_than', value: '99.5' }, fields)).toBe(99.5);
    // Text that does not fit goes to the server as typed, so its error names it.
    expect(conditionValue({ field: 'minutes_since_created', operator: 'greater_than', value: 'soon' })).toBe('soon');
    expect(conditionValue({ field: 'subject', operator: 'contains', value: ' 退款 ' })).toBe(' 退款 ');
  });

  it('serialises all/any and reads it back', () => {
    const set = {
      all: [
        { field: 'priority', operator: 'is', value: 'urgent' },
        { field: '', operator: 'is', value: '' },
      ],
      any: [],
    };
    const json = toConditions(set);
    expect(json).toEqual({ all: [{ field: 'priority', operator: 'is', value: 'urgent' }] });
    expect(toConditions({ all: [], any: [] })).toEqual({});
    const stored = { any: [{ field: 'channel', operator: 'in', value: ['wechat', 'line'] }, { field: 'group_id', operator: 'is', value: null }] };
    expect(fromConditions(stored)).toEqual({
      all: [],
      any: [
        { field: 'channel', operator: 'in', value: 'wechat, line' },
        { field: 'group_id', operator: 'is', value: '' },
      ],
    });
    expect(toConditions(fromConditions(stored))).toEqual(stored);
    expect(fromConditions(null)).toEqual({ all: [], any: [] });
  });
});

describe('action list', () => {
  it('serialises each action type in the server shape', () => {
    expect(toAction({ ...emptyAction('set_status'), value: 'pending' })).toEqual({ type: 'set_status', value: 'pending' });
    expect(toAction({ ...emptyAction('set_group'), value: '3' })).toEqual({ type: 'set_group', value: 3 });
    expect(toAction({ ...emptyAction('set_assignee'), value: '' })).toEqual({ type: 'set_assignee', value: null });
    expect(toAction({ ...emptyAction('add_tags'), value: 'vip, 退款 refund' })).toEqual({ type: 'add_tags', value: ['vip', '退款', 'refund'] });
    expect(toAction({ ...emptyAction('set_custom_field'), key: 'amount', value: '12' })).toEqual({ type: 'set_custom_field', key: 'amount', value: 12 });
    expect(toAction({ ...emptyAction('add_note'), body: 'Hi {{ ticket.number }}' })).toEqual({ type: 'add_note', body: 'Hi {{ ticket.number }}' });
    expect(toAction({ ...emptyAction('notify'), to: 'group', value: '4', subject: 's', body: 'b' })).toEqual({
      type: 'notify',
      to: 'group',
      value: 4,
      subject: 's',
      body: 'b',
    });
    expect(toAction({ ...emptyAction('notify'), to: 'requester', value: '4', subject: 's', body: 'b' })).not.toHaveProperty('value');
  });

  it('reads stored actions back, keeping a masked webhook secret as is', () => {
    const stored = { type: 'webhook', url: 'https://hooks.example.com/x', secret: '********' };
    expect(toAction(fromAction(stored))).toEqual(stored);
    const tags = { type: 'remove_tags', value: ['a', 'b'] };
    expect(toAction(fromAction(tags))).toEqual(tags);
    expect(fromAction({ type: 'nonsense' }).type).toBe('set_status');
  });

  it('renumbers positions after a move', () => {
    const list = [{ id: 5 }, { id: 6 }, { id: 7 }];
    expect(reorder(list, 2, -1)).toEqual([
      { id: 5, position: 10 },
      { id: 7, position: 20 },
      { id: 6, position: 30 },
    ]);
    expect(reorder(list, 0, -1)).toEqual([]);
  });
});
