/* eslint-disable @typescript-eslint/no-explicit-any -- a synthesized template is untyped CloudFormation JSON */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs infra/cdk/app.ts as `npm run cdk:synth` does, into a fresh directory, with no AWS settings. */
async function synthesizeExample(extraEnv: Record<string, string>): Promise<{ template: any; outdir: string }> {
  const outdir = await mkdtemp(join(tmpdir(), 'symphony-cdk-'));
  const env: NodeJS.ProcessEnv = { ...process.env, CDK_OUTDIR: outdir, ...extraEnv };
  for (const name of ['CDK_DEFAULT_ACCOUNT', 'CDK_DEFAULT_REGION', 'CDK_CONTEXT_JSON', 'SYMPHONY_IMAGE']) {
    if (!(name in extraEnv)) delete env[name];
  }
  await run(process.execPath, ['--import', 'tsx', 'infra/cdk/app.ts'], { env, timeout: 120000 });
  const template = JSON.parse(await readFile(join(outdir, 'SymphonyExample.template.json'), 'utf8'));
  return { template, outdir };
}

function taskImage(template: any): unknown {
  const [taskDefinition] = Object.values(template.Resources as Record<string, any>).filter(
    (r) => r.Type === 'AWS::ECS::TaskDefinition',
  );
  return taskDefinition.Properties.ContainerDefinitions[0].Image;
}

describe('the example CDK app (infra/cdk/app.ts)', function () {
  this.timeout(120000);
  const outdirs: string[] = [];

  after(async () => {
    await Promise.all(outdirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('synthesizes offline, pulling the image from the symphony-express ECR repository by default', async () => {
    const { template, outdir } = await synthesizeExample({});
    outdirs.push(outdir);
    const image = JSON.stringify(taskImage(template));
    assert.match(image, /\.dkr\.ecr\./);
    assert.match(image, /\/symphony-express:latest/);
    // fromEcrRepository grants the execution role the pull that a private image needs.
    const policies = Object.values(template.Resources as Record<string, any>).filter((r) => r.Type === 'AWS::IAM::Policy');
    assert.ok(JSON.stringify(policies).includes('ecr:BatchGetImage'));
  });

  it('takes any registry image and a certificate from the environment', async () => {
    const { template, outdir } = await synthesizeExample({
      SYMPHONY_IMAGE: 'public.ecr.aws/example/symphony-express:v2',
      SYMPHONY_CERTIFICATE_ARN: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
      SYMPHONY_DOMAIN_NAME: 'collab.example.com',
    });
    outdirs.push(outdir);
    assert.equal(taskImage(template), 'public.ecr.aws/example/symphony-express:v2');
    const listeners = Object.values(template.Resources as Record<string, any>).filter(
      (r) => r.Type === 'AWS::ElasticLoadBalancingV2::Listener',
    );
    assert.deepEqual(listeners.map((l) => l.Properties.Port).sort(), [443, 80]);
    assert.ok(Object.values(template.Outputs as Record<string, any>).some((o) => o.Value === 'https://collab.example.com/admin/'));
  });
});
