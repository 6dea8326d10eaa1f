import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './src/database/data-source-options';

/** The DataSource the TypeORM CLI uses (`npm run migration:run`); it needs DATABASE_URL. */
const url = process.env.DATABASE_URL;
if (!url) {
  throw new Error('DATABASE_URL is not set: point it at the PostgreSQL server to migrate');
}

export default new DataSource(dataSourceOptions(url));
