import { Injectable } from '@nestjs/common';
import { createTwoFilesPatch } from 'diff';
import { AsteriskReloader } from '../asterisk/asterisk-reloader';
import { ConfigWriter } from '../asterisk/config-writer';
import { renderConfig, RenderedConfig } from '../asterisk/render-config';
import { PortalConfig } from '../config/portal-config.service';
import { preflightChecks } from './apply-checks';
import { toApplyLogDto } from './apply-log.mapper';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import { UsersRepository } from '../users/users.repository';
import { ApplyRepository } from './apply.repository';
import { ApplyLogListDto, ApplyStatusDto, DryRunCheckDto, DryRunResultDto } from './dto/apply.dto';
import { planFiles, redactDigests } from './file-plan';

/** What an apply would do and what the applies did: reads only, never under the apply lock. */
@Injectable()
export class ApplyPreviewService {
  constructor(
    private readonly repo: ApplyRepository,
    private readonly users: UsersRepository,
    private readonly writer: ConfigWriter,
    private readonly reloader: AsteriskReloader,
    private readonly config: PortalConfig,
  ) {}

  async dryRun(): Promise<DryRunResultDto> {
    const rendered = await this.render();
    const files = planFiles(rendered, await this.writer.readPair(), (k) => this.writer.pathOf(k), {
      applyId: 'dry-run',
      at: new Date(),
    });
    return {
      dryRun: true,
      checks: await this.preflight(),
      changed: files.some((f) => f.changed),
      users: rendered.expected.endpoints.length,
      hash: rendered.hash,
      // `sha256` describes the real file; what is shown has its digests redacted.
      files: files.map((f) => ({
        path: f.path,
        changed: f.changed,
        sha256: f.sha256,
        content: redactDigests(f.next),
        diff: f.changed
          ? createTwoFilesPatch(
              f.path,
              f.path,
              redactDigests(f.current ?? ''),
              redactDigests(f.next),
            )
          : '',
      })),
    };
  }

  /** What a real apply needs and a dry run can check without changing anything. */
  private preflight(): Promise<DryRunCheckDto[]> {
    return preflightChecks(this.writer, this.reloader, this.config);
  }

  async status(): Promise<ApplyStatusDto> {
    const [pending, latest] = await Promise.all([this.pending(), this.repo.latest()]);
    return { pending, lastApply: latest ? toApplyLogDto(latest) : null };
  }

  /** Whether what an apply would write differs from what the last successful one wrote. */
  async pending(): Promise<boolean> {
    const [rendered, lastSuccess] = await Promise.all([this.render(), this.repo.lastSuccessHash()]);
    return rendered.hash !== lastSuccess;
  }

  async logs(limit: number, offset: number): Promise<ApplyLogListDto> {
    const { rows, total } = await this.repo.list(limit, offset);
    return { items: rows.map(toApplyLogDto), total };
  }

  private async render(): Promise<RenderedConfig> {
    return renderConfig(await this.users.sipAccounts(DEFAULT_TENANT_ID), this.config.generation);
  }
}
