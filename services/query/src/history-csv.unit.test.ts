import { describe, expect, it } from 'vitest';
import { acceptsCsv, crlfRecords, inlineParameters } from './history-csv.ts';

describe('crlfRecords', () => {
  const convert = (chunks: string[]) => {
    const lines = crlfRecords();
    const out = chunks.map((c) => lines.convert(Buffer.from(c)).toString()).join('');
    return { out, records: lines.records, whole: lines.whole };
  };

  it('ends each record with CRLF and leaves line breaks inside quoted fields alone', () => {
    expect(convert(['a,"x\ny",b\nc,"say ""hi""\r\n",d\n'])).toEqual({
      out: 'a,"x\ny",b\r\nc,"say ""hi""\r\n",d\r\n',
      records: 2,
      whole: true,
    });
  });

  it('keeps the quoting from one chunk to the next, wherever the chunks are cut', () => {
    const csv = 'a,"one\ntwo ""three""\n",x\n"\n"\n,,\n';
    const want = 'a,"one\ntwo ""three""\n",x\r\n"\n"\r\n,,\r\n';
    for (let cut = 0; cut <= csv.length; cut++) {
      for (let cut2 = cut; cut2 <= csv.length; cut2 += 3) {
        expect(convert([csv.slice(0, cut), csv.slice(cut, cut2), csv.slice(cut2)])).toEqual({
          out: want,
          records: 3,
          whole: true,
        });
      }
    }
  });

  it('says when the bytes end inside a quoted field', () => {
    expect(convert(['a,"unfinished\n'])).toMatchObject({ records: 0, whole: false });
  });
});

describe('inlineParameters', () => {
  it('writes each parameter as a literal, quotes and backslashes escaped', () => {
    expect(
      inlineParameters('select $1::text, $2, $10 from t where x = any($3::text[])', [
        "it's",
        42,
        ['a', 'b"c', 'd\\e'],
        4,
        5,
        6,
        7,
        8,
        9,
        'ten',
      ]),
    ).toBe(`select 'it''s'::text, 42, 'ten' from t where x = any( E'{"a","b\\\\"c","d\\\\\\\\e"}'::text[])`);
  });

  it('leaves $n inside quoted literals and identifiers alone', () => {
    expect(inlineParameters(`select '$1 it''s', "$1""x", $1`, ['v'])).toBe(`select '$1 it''s', "$1""x", 'v'`);
  });

  it('refuses a statement that leaves a parameter out, names one it lacks, or a parameter of another type', () => {
    expect(() => inlineParameters('select $1', ['a', 'b'])).toThrow(/uses 1 of 2/);
    expect(() => inlineParameters('select $2', ['a'])).toThrow(/\$2/);
    expect(() => inlineParameters('select $1', [new Date(0)])).toThrow(TypeError);
  });
});

describe('acceptsCsv', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['*/*', false],
    ['application/json', false],
    ['text/csv', true],
    ['TEXT/CSV; charset=utf-8', true],
    ['text/csv, application/json', true],
    ['application/json, text/csv;q=0.5', false],
    ['application/json;q=0.5, text/csv', true],
    ['text/csv;q=0', false],
    ['text/html, text/csv;q=0.9, */*;q=0.8', true],
  ])('Accept %j asks for CSV: %s', (accept, csv) => {
    expect(acceptsCsv(accept)).toBe(csv);
  });
});
