import { ImportFileError, readCsvRows, readJsonRows } from './import-rows';

describe('readCsvRows', () => {
  it('numbers rows by the line they start on, past blank lines and quoted line breaks', () => {
    const rows = readCsvRows(
      '\uFEFFname,email\r\n\r\n"Smith, A",a@x.io\r\n"B\nb",b@x.io\r\nC,c@x.io',
      10,
    );
    expect(rows.map((r) => [r.line, r.fields])).toEqual([
      [3, { name: 'Smith, A', email: 'a@x.io' }],
      [4, { name: 'B\nb', email: 'b@x.io' }],
      [6, { name: 'C', email: 'c@x.io' }],
    ]);
  });

  it('matches header names regardless of case and spaces; empty cells are absent; digits are numbers', () => {
    const rows = readCsvRows(
      ' Name ,EMAIL,extension,sipPassword\nA,a@x.io, 1005 ,\nB,b@x.io,10x5,pw',
      10,
    );
    expect(rows.map((r) => r.fields)).toEqual([
      { name: 'A', email: 'a@x.io', extension: 1005 },
      { name: 'B', email: 'b@x.io', extension: '10x5', sipPassword: 'pw' },
    ]);
  });

  it('marks a row with the wrong number of fields instead of guessing', () => {
    expect(readCsvRows('name,email\nA\n', 10)).toEqual([
      {
        line: 2,
        fields: {},
        unreadable: { field: 'row', message: 'row has 1 field but the header has 2' },
      },
    ]);
  });

  it('refuses a header with an unknown, repeated or missing column', () => {
    expect(() => readCsvRows('name,name,phone\n', 10)).toThrow(
      /^CSV header: column name is given twice; unknown column "phone"; the header has no email column/,
    );
    expect(() => readCsvRows('', 10)).toThrow(ImportFileError);
  });

  it('stops one row past the limit', () => {
    expect(readCsvRows(`name,email\n${'A,a@x.io\n'.repeat(50)}`, 3)).toHaveLength(4);
  });
});

describe('readJsonRows', () => {
  it('numbers rows from 1 by their place in users', () => {
    expect(readJsonRows({ users: [{ name: 'A' }, 7] }, 10)).toEqual([
      { line: 1, fields: { name: 'A' } },
      { line: 2, fields: 7 },
    ]);
  });

  it('refuses anything but {"users": [...]}', () => {
    expect(() => readJsonRows({ users: {} }, 10)).toThrow('users must be an array of rows');
    expect(() => readJsonRows({}, 10)).toThrow('users is required');
    expect(() => readJsonRows({ users: [], x: 1 }, 10)).toThrow('property x should not exist');
  });
});
