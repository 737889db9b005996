// Deployments the CDK tests share. Building one takes a few seconds, synthesizing it a few more:
// each is built once per mocha run and synthesized on first use.
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { SymphonyService, type SymphonyServiceProps } from '../../infra/cdk/index.js';

export const TEST_ENV = { account: '123456789012', region: 'eu-west-1' };
export const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';

export interface Deployment {
  readonly app: App;
  readonly stack: Stack;
  readonly service: SymphonyService;
  /** Synthesizes on first access. */
  readonly template: Template;
}

function deployment(build: (stack: Stack) => SymphonyService, env?: typeof TEST_ENV): Deployment {
  const app = new App();
  const stack = new Stack(app, 'Test', env ? { env } : {});
  const service = build(stack);
  let template: Template | undefined;
  return {
    app,
    stack,
    service,
    get template() {
      template ??= Template.fromStack(stack);
      return template;
    },
  };
}

export function imageProps(): Pick<SymphonyServiceProps, 'image'> {
  return { image: ecs.ContainerImage.fromRegistry('public.ecr.aws/example/host-app:1') };
}

let defaults: Deployment | undefined;
/** Every default, in a stack with an account and a region. */
export function defaultDeployment(): Deployment {
  defaults ??= deployment((stack) => new SymphonyService(stack, 'Collab', imageProps()), TEST_ENV);
  return defaults;
}

let custom: Deployment | undefined;
/**
 * The developer's own VPC (public and private subnets, no isolated ones), a certificate, custom
 * sizing, data deleted with the stack, and no env (an environment-agnostic stack).
 */
export function customDeployment(): Deployment {
  custom ??= deployment((stack) => {
    const vpc = new ec2.Vpc(stack, 'ExistingVpc', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      ],
    });
    Validations.of(vpc).acknowledge({
      id: 'AwsSolutions-VPC7',
      reason: 'This VPC stands in for a developer VPC in a test; its flow logs are the developer’s choice, not the construct’s.',
    });
    return new SymphonyService(stack, 'Collab', {
      ...imageProps(),
      vpc,
      certificate: acm.Certificate.fromCertificateArn(stack, 'Certificate', CERTIFICATE_ARN),
      domainName: 'collab.example.com',
      cpu: 2048,
      memoryLimitMiB: 4096,
      minTasks: 3,
      maxTasks: 20,
      targetCpuUtilizationPercent: 60,
      shutdownTimeout: Duration.seconds(45),
      documentPrefix: 'rooms/',
      databaseMultiAz: false,
      retainData: false,
      environment: { LOG_LEVEL: 'debug' },
    });
  });
  return custom;
}

/** The logical ID CloudFormation gives a construct's resource. */
export function logicalId(deployment: Deployment, construct: { node: { defaultChild?: unknown } }): string {
  const child = construct.node.defaultChild as Parameters<Stack['getLogicalId']>[0];
  return deployment.stack.resolve(deployment.stack.getLogicalId(child)) as string;
}
