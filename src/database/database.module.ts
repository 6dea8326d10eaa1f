import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PortalConfig } from '../config/portal-config.service';
import { dataSourceOptions } from './data-source-options';

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [PortalConfig],
      useFactory: (config: PortalConfig) => {
        const url = config.databaseUrl;
        if (!url) throw new Error('DATABASE_URL is not set and no embedded database was started');
        // Pending migrations run at start-up so a deploy is one step; the CLI does the same.
        return {
          ...dataSourceOptions(url),
          migrationsRun: true,
          retryAttempts: 3,
          retryDelay: 1000,
        };
      },
    }),
  ],
})
export class DatabaseModule {}
