import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../src/app.module';
import { buildOpenApiDocument } from '../src/common/http/openapi-document';

/**
 * Writes openapi.json at the repo root. Preview mode builds the route graph without
 * instantiating providers, so no database is needed.
 */
async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule.forRoot(), { preview: true, logger: false });
  const document = buildOpenApiDocument(app);
  const file = path.resolve(__dirname, '..', 'openapi.json');
  writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
  await app.close();
  process.stdout.write(`wrote ${file}\n`);
}

void main();
