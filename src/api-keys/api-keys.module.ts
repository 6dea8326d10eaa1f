import { Module } from '@nestjs/common';
import { ApiKeyVerifier } from './api-key-verifier';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';

/** POST/GET/DELETE /api-keys, and the look-up the bearer guard uses. */
@Module({
  controllers: [ApiKeysController],
  providers: [ApiKeysRepository, ApiKeysService, ApiKeyVerifier],
  exports: [ApiKeyVerifier],
})
export class ApiKeysModule {}
