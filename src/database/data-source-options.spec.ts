import { migrationLogger } from './data-source-options';

describe('migrationLogger', () => {
  it('logs a line when nothing is pending, one when a run starts and one per migration', () => {
    const lines: string[] = [];
    const logger = migrationLogger((level, line) => lines.push(`${level}: ${line}`));
    // What TypeORM's MigrationExecutor reports, in its order.
    logger.logSchemaBuild('No migrations are pending');
    logger.logSchemaBuild('0 migrations are already loaded in the database.');
    logger.logSchemaBuild('3 migrations were found in the source code.');
    logger.logSchemaBuild('2 migrations are new migrations must be executed.');
    logger.logSchemaBuild('Migration Initial1764000000000 has been executed successfully.');
    logger.logSchemaBuild('Migration Next1764000000001 has been (fake) executed successfully.');
    logger.logMigration('Migration "Broken1" failed, error: syntax error');
    expect(lines).toEqual([
      'log: no pending migrations; the schema is up to date',
      'log: running 2 pending migrations',
      expect.stringMatching(/^log: migration Initial1764000000000 run in \d+ ms$/),
      expect.stringMatching(/^log: migration Next1764000000001 marked as run in \d+ ms$/),
      'error: Migration "Broken1" failed, error: syntax error',
    ]);
  });

  it('never logs a query or its parameters', () => {
    const lines: string[] = [];
    const logger = migrationLogger((level, line) => lines.push(line));
    logger.logQuery('INSERT INTO extension VALUES ($1)', ['MD5:130b5592']);
    logger.logQueryError('boom', 'SELECT 1', ['MD5:130b5592']);
    logger.logQuerySlow(5000, 'SELECT 1', ['MD5:130b5592']);
    logger.log('warn', 'something');
    expect(lines).toEqual([]);
  });
});
