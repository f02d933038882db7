import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../infra/postgres/canonical-json.js';

/** A double from its IEEE 754 bits, as RFC 8785 appendix B lists them. */
function double(bits: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${bits}`));
  return view.getFloat64(0);
}

/**
 * canonicalJson against RFC 8785 (JCS): the RFC's own examples, the test data of its reference
 * implementation (github.com/cyberphone/json-canonicalization, testdata/input and output, copied by
 * hand), and the `canonicalize` package (a JCS implementation) as an oracle on generated JSON values.
 */
describe('canonical JSON is RFC 8785 (JCS) on JSON values', () => {
  it('RFC 8785 section 3.2.2: numbers, string escaping and literals, to the byte', () => {
    const parsed = JSON.parse(String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`);
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    expect(canonicalJson(parsed)).toBe(expected);
    // Section 3.2.4: the UTF-8 bytes start 7b 22 6c 69 and the euro sign is e2 82 ac.
    const bytes = Buffer.from(canonicalJson(parsed), 'utf8');
    expect(bytes.subarray(0, 4).toString('hex')).toBe('7b226c69');
    expect(bytes.toString('hex')).toContain('22e282ac24');
  });

  it('RFC 8785 section 3.2.3: members sorted by UTF-16 code units, not code points or locale', () => {
    const sorting = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // U+1F600 (surrogates d83d de00) sorts before U+FB33 by code unit, after it by code point.
    expect(canonicalJson(sorting)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('RFC 8785 appendix B: every finite number vector (incl. -0, 5e-324, 1e21, 1e23)', () => {
    const vectors: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [bits, text] of vectors) {
      expect(canonicalJson(double(bits)), bits).toBe(text);
      expect(canonicalJson({ n: [double(bits)] }), bits).toBe(`{"n":[${text}]}`);
    }
  });

  it("the reference implementation's test data (arrays, structures, french, unicode, values, weird)", () => {
    const cases: [string, string][] = [
      ['[\n  56,\n  {\n    "d": true,\n    "10": null,\n    "1": [ ]\n  }\n]', '[56,{"1":[],"10":null,"d":true}]'],
      [
        '{\n  "1": {"f": {"f": "hi","F": 5} ,"\\n": 56.0},\n  "10": { },\n  "": "empty",\n  "a": { },\n  "111": [ { } ],\n  "A": { }\n}',
        '{"":"empty","1":{"\\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{}],"A":{},"a":{}}',
      ],
      [
        '{\n  "peach": "This sorting order",\n  "péché": "is wrong according to French",\n  "pêche": "but canonicalization MUST",\n  "sin":   "ingnore locale"\n}',
        '{"peach":"This sorting order","péché":"is wrong according to French","pêche":"but canonicalization MUST","sin":"ingnore locale"}',
      ],
      // Unicode is not normalised: the decomposed sequence stays as it is.
      ['{\n  "Unnormalized Unicode":"\\u1e0d\\u0307"\n}', '{"Unnormalized Unicode":"\u1e0d\u0307"}'],
      [
        '{\n  "numbers": [1E30, 4.50, 333333333.33333329, 2e-3, 0.000000000000000000000000001],\n  "escaping": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n  "literals": [null, true, false]\n}',
        '{"escaping":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/","literals":[null,true,false],"numbers":[1e+30,4.5,333333333.3333333,0.002,1e-27]}',
      ],
      [
        '{\n  "\\u20ac": "Euro Sign",\n  "1": "One",\n  "\\u0080": "Control\\u007f",\n  "\\ud83d\\ude02": "Smiley",\n  "\\u00f6": "Latin Small Letter O With Diaeresis",\n  "\\ufb33": "Hebrew Letter Dalet With Dagesh",\n  "</script>": "Browser Challenge"\n}',
        '{"1":"One","</script>":"Browser Challenge","\u0080":"Control\u007f","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude02":"Smiley","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
      ],
    ];
    for (const [input, output] of cases) expect(canonicalJson(JSON.parse(input))).toBe(output);
  });

  it('equals the canonicalize package (a JCS implementation) on any JSON value', () => {
    const json = fc.jsonValue({ maxDepth: 4, stringUnit: 'grapheme' });
    fc.assert(
      fc.property(json, fc.double({ noNaN: true, noDefaultInfinity: true }), (value, n) => {
        expect(canonicalJson(value)).toBe(canonicalize(value));
        expect(canonicalJson({ n, value })).toBe(canonicalize({ n, value }));
      }),
      { numRuns: 500 },
    );
  });

  it('where it differs from JCS: values JSON cannot hold are written as JSON.stringify writes them, not refused', () => {
    // JCS requires an error for these; canonicalJson keeps JSON.stringify's behaviour because the
    // append path serialises the same way, so the hash always covers what jsonb stores (null for
    // non-finite numbers) and what an export then shows. Lone surrogates never reach a hash:
    // PostgreSQL's jsonb refuses them, so such an append fails.
    expect(canonicalJson({ a: Number.NaN, b: Number.POSITIVE_INFINITY })).toBe('{"a":null,"b":null}');
    expect(() => canonicalize({ a: Number.NaN })).toThrow();
    expect(canonicalJson('\ud800')).toBe('"\\ud800"');
    expect(() => canonicalize('\ud800')).toThrow();
    // JavaScript-only conveniences, as JSON.stringify: undefined members dropped, Dates as ISO text.
    expect(canonicalJson({ a: undefined, d: new Date(0), l: [undefined] })).toBe(
      '{"d":"1970-01-01T00:00:00.000Z","l":[null]}',
    );
  });
});
