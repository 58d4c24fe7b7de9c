import { describe, expect, it } from 'vitest';
import { acceptsCsv, csvField, formulaSafe } from './history-csv.ts';

describe('csvField', () => {
  it.each([
    ['plain', 'plain'],
    ['', ''],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['line\nbreak', '"line\nbreak"'],
    ['cr\rhere', '"cr\rhere"'],
    ['"', '""""'],
  ])('writes %j as %j', (v, written) => {
    expect(csvField(v)).toBe(written);
  });
});

describe('formulaSafe', () => {
  it.each([
    ['=SUM(A1)', "'=SUM(A1)"],
    ['+1', "'+1"],
    ['-12 in a day', "'-12 in a day"],
    ['@bee', "'@bee"],
    ['\tx', "'\tx"],
    ['about 300', 'about 300'],
    ['a=b', 'a=b'],
    ['', ''],
  ])('guards %j as %j', (v, guarded) => {
    expect(formulaSafe(v)).toBe(guarded);
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
