import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './src/database/data-source-options';

/** The DataSource the TypeORM CLI uses (`npm run migration:run`); it needs DATABASE_URL. */
const url = process.env.DATABASE_URL;
if (!url) {
  // One line and out: thrown, the CLI would print this with its stack trace.
  process.stderr.write(
    'DATABASE_URL is not set: set it to the PostgreSQL server to migrate, e.g. DATABASE_URL=postgres://portal:secret@127.0.0.1:5432/portal npm run migration:run\n',
  );
  process.exit(1);
}

/** A line per migration run, as the portal logs at start-up, in plain text. */
export default new DataSource(
  dataSourceOptions(url, (level, line) =>
    (level === 'error' ? process.stderr : process.stdout).write(`${line}\n`),
  ),
);
