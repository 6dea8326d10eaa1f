import { Injectable } from '@nestjs/common';
import { PortalConfig } from '../config/portal-config.service';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import { ExtensionListDto } from './dto/extension-response.dto';
import { ListExtensionsQueryDto } from './dto/list-extensions-query.dto';
import { toExtensionDto } from './extension.mapper';
import { ExtensionsRepository } from './extensions.repository';

/** The numbers an admin plans with: the configured range, plus any taken outside it. */
@Injectable()
export class ExtensionsService {
  constructor(
    private readonly extensions: ExtensionsRepository,
    private readonly config: PortalConfig,
  ) {}

  async list(query: ListExtensionsQueryDto): Promise<ExtensionListDto> {
    const { rows, total } = await this.extensions.page(
      DEFAULT_TENANT_ID,
      this.config.extensionRange,
      query.status ?? null,
      query.limit,
      query.offset,
    );
    return { items: rows.map(toExtensionDto), total };
  }
}
