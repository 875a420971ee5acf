import { describe, expect, test } from 'vitest';
import { onlyBold, plainText } from './snippet';

describe('onlyBold', () => {
  test('keeps the highlights the server adds and its escaped text', () => {
    expect(onlyBold('申请<b>退款</b>，订单 &lt;88231&gt; &amp; 发票')).toBe('申请<b>退款</b>，订单 &lt;88231&gt; &amp; 发票');
    expect(onlyBold('it&#39;s <b>refund</b>ed')).toBe('it&#39;s <b>refund</b>ed');
  });

  test('escapes any other markup instead of rendering it', () => {
    expect(onlyBold('<img src=x onerror=alert(1)>hi')).toBe('&lt;img src=x onerror=alert(1)&gt;hi');
    expect(onlyBold('<b onclick="x()">a</b>')).toBe('&lt;b onclick=&quot;x()&quot;&gt;a');
    expect(onlyBold('<script>alert(1)</script>')).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(onlyBold('<B>up</B>')).toBe('<b>up</b>');
  });

  test('balances the bold tags', () => {
    expect(onlyBold('</b>a<b>b')).toBe('a<b>b</b>');
    expect(onlyBold('<b><b>x</b></b>y')).toBe('<b>x</b>y');
  });

  test('escapes a bare ampersand but not an entity', () => {
    expect(onlyBold('Q&A &copy; &#x4e2d; & more')).toBe('Q&amp;A &copy; &#x4e2d; &amp; more');
  });
});

describe('plainText', () => {
  test('drops tags and decodes entities', () => {
    expect(plainText('如何申请<b>退款</b> &amp; &lt;发票&gt; it&#39;s &#x4e2d;')).toBe("如何申请退款 & <发票> it's 中");
  });
});
