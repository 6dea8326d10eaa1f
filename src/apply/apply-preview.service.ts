import { Injectable } from '@nestjs/common';
import { createTwoFilesPatch } from 'diff';
import { AsteriskNodes, NodeSession } from '../asterisk/nodes/asterisk-nodes';
import { renderConfig, RenderedConfig } from '../asterisk/render-config';
import type { AsteriskNodeConfig } from '../config/asterisk-nodes';
import { PortalConfig } from '../config/portal-config.service';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import { UsersRepository } from '../users/users.repository';
import { preflightChecks } from './apply-checks';
import { toApplyLogDto } from './apply-log.mapper';
import { errorMessage } from './apply-run';
import { ApplyRepository } from './apply.repository';
import {
  ApplyLogListDto,
  ApplyStatusDto,
  DryRunCheckDto,
  DryRunFileDto,
  DryRunResultDto,
  NodeStatusDto,
} from './dto/apply.dto';
import { planFiles, redactDigests } from './file-plan';

/** What an apply would do and what the applies did: reads only, never under the apply lock. */
@Injectable()
export class ApplyPreviewService {
  constructor(
    private readonly repo: ApplyRepository,
    private readonly users: UsersRepository,
    private readonly nodes: AsteriskNodes,
    private readonly config: PortalConfig,
  ) {}

  /** Every node's checks and files, side by side; nothing is written anywhere. */
  async dryRun(): Promise<DryRunResultDto> {
    const rendered = await this.render();
    const perNode = await Promise.all(this.nodes.all.map((n) => this.dryRunNode(n, rendered)));
    const files = perNode.flatMap((n) => n.files);
    return {
      dryRun: true,
      checks: perNode.flatMap((n) => n.checks),
      changed: files.some((f) => f.changed),
      users: rendered.expected.endpoints.length,
      hash: rendered.hash,
      files,
    };
  }

  private async dryRunNode(
    node: AsteriskNodeConfig,
    rendered: RenderedConfig,
  ): Promise<{ checks: DryRunCheckDto[]; files: DryRunFileDto[] }> {
    let session: NodeSession;
    try {
      session = await this.nodes.open(node);
    } catch (err) {
      // An unreachable node: one failed check says why; its files cannot be read.
      return {
        checks: [{ node: node.name, name: 'connect', ok: false, message: errorMessage(err) }],
        files: [],
      };
    }
    try {
      const { writer, reloader } = session;
      const checks = await preflightChecks(writer, reloader, node, this.config.sipContext);
      const onDisk = await writer.readPair().catch(() => ({ endpoints: null, routing: null }));
      const files = planFiles(rendered, onDisk, (k) => writer.pathOf(k), {
        applyId: 'dry-run',
        at: new Date(),
      });
      return {
        checks,
        // `sha256` describes the real file; what is shown has its digests redacted.
        files: files.map((f) => ({
          node: node.name,
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
    } finally {
      await session.close().catch(() => undefined);
    }
  }

  async status(): Promise<ApplyStatusDto> {
    const [nodes, latest] = await Promise.all([this.nodeStatus(), this.repo.latest()]);
    return {
      pending: nodes.some((n) => n.pending),
      lastApply: latest ? toApplyLogDto(latest) : null,
      nodes,
    };
  }

  /** Each configured node: what it last applied, and whether that is behind the database. */
  async nodeStatus(): Promise<NodeStatusDto[]> {
    const [rendered, states] = await Promise.all([this.render(), this.repo.nodeStates()]);
    const byName = new Map(states.map((s) => [s.node, s]));
    return this.nodes.all.map((node) => {
      const state = byName.get(node.name);
      return {
        name: node.name,
        pending: state?.appliedHash !== rendered.hash,
        appliedHash: state?.appliedHash ?? null,
        lastAppliedAt: state?.appliedAt?.toISOString() ?? null,
        lastOutcome: state?.lastOutcome ?? null,
      };
    });
  }

  async logs(limit: number, offset: number): Promise<ApplyLogListDto> {
    const { rows, total } = await this.repo.list(limit, offset);
    return { items: rows.map(toApplyLogDto), total };
  }

  private async render(): Promise<RenderedConfig> {
    return renderConfig(await this.users.sipAccounts(DEFAULT_TENANT_ID), this.config.generation);
  }
}
