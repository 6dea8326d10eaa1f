import { runs } from './user-import.service';

describe('runs (the numbers of an import audit row)', () => {
  it('groups consecutive numbers in ascending order, whatever the order given', () => {
    expect(runs([1002, 1000, 1001, 1100, 1005, 1004])).toEqual([
      { from: 1000, to: 1002 },
      { from: 1004, to: 1005 },
      { from: 1100, to: 1100 },
    ]);
  });
  it('one number is one run, none is none', () => {
    expect(runs([1999])).toEqual([{ from: 1999, to: 1999 }]);
    expect(runs([])).toEqual([]);
  });
});
