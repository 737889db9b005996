import assert from 'node:assert/strict';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { SymphonyService } from '../../infra/cdk/index.js';
import { customDeployment, defaultDeployment, imageProps, TEST_ENV } from './fixtures.js';

// cdk-nag 3 is a CDK policy-validation plugin: rules are acknowledged with the native
// `Validations.of(construct).acknowledge({ id, reason })`, which the construct does next to each
// resource it concerns, so a developer running cdk-nag on their own app sees the same reasons.

function unacknowledged(scope: IConstruct): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}: ${v.description}`),
  );
}

/** The cdk-nag acknowledgments in the tree (aws-cdk-lib's own constructs acknowledge other validators' rules). */
function acknowledgments(scope: IConstruct): { path: string; id: string; reason: string }[] {
  const all = scope.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
  return all.filter((a) => a.id.startsWith('AwsSolutions-'));
}

describe('SymphonyService under cdk-nag AwsSolutions', function () {
  this.timeout(60000);

  it('leaves no unacknowledged finding with the defaults', () => {
    assert.deepEqual(unacknowledged(defaultDeployment().stack), []);
  });

  it('leaves no unacknowledged finding with a certificate, an existing VPC and data deleted with the stack', () => {
    assert.deepEqual(unacknowledged(customDeployment().stack), []);
  });

  it('gives every acknowledgment its reason', () => {
    for (const stack of [defaultDeployment().stack, customDeployment().stack]) {
      const found = acknowledgments(stack);
      assert.ok(found.length >= 8, `only ${found.length} acknowledgments`);
      for (const { path, id, reason } of found) {
        assert.ok(reason.length >= 40, `${path}: ${id} has too short a reason: "${reason}"`);
      }
    }
  });

  it('acknowledges only the findings that are design decisions', () => {
    const ids = new Set(acknowledgments(defaultDeployment().stack).map((a) => a.id.replace(/\[.*\]$/, '')));
    assert.deepEqual([...ids].sort(), [
      'AwsSolutions-AEC5', // Redis on its standard port, behind a service-only security group
      'AwsSolutions-AEC6', // no Redis AUTH token in plain configuration
      'AwsSolutions-DDB3', // no point-in-time recovery for TTL-bound registry entries
      'AwsSolutions-EC23', // the load balancer is public by design
      'AwsSolutions-ECS2', // non-secret configuration in the environment
      'AwsSolutions-IAM5', // the document key prefix wildcard
      'AwsSolutions-RDS11', // Postgres on its standard port
      'AwsSolutions-S1', // the log bucket does not log into itself
      'AwsSolutions-SMG4', // secrets injected at task start are not rotated automatically
    ]);
  });

  it('passes when AwsSolutionsChecks runs as a validation plugin during synthesis', () => {
    const app = new App();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const stack = new Stack(app, 'Nagged', { env: TEST_ENV });
    new SymphonyService(stack, 'Collab', imageProps());
    // A violation interrupts synthesis with the report.
    const assembly = app.synth();
    assert.ok(assembly.getStackByName('Nagged').template.Resources);
  });
});
