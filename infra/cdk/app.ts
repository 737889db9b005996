/**
 * Example CDK app: deploys the Express example (image built from examples/express/Dockerfile)
 * with SymphonyService. See infra/cdk/README.md, "Deploying to AWS".
 *
 *   npm run cdk:synth                                          # offline, into cdk.out/
 *   npx aws-cdk@2 deploy --app "npx tsx infra/cdk/app.ts" -c imageTag=v1
 *
 * Settings, as CDK context (`-c name=value`) or, when absent, environment variables:
 *   ecrRepository   SYMPHONY_ECR_REPOSITORY   ECR repository in the stack's account   (default symphony-express)
 *   imageTag        SYMPHONY_IMAGE_TAG        tag in that repository                  (default latest)
 *   image           SYMPHONY_IMAGE            any other registry reference instead of ECR (must be pullable)
 *   certificateArn  SYMPHONY_CERTIFICATE_ARN  ACM certificate: serve HTTPS, redirect HTTP
 *   domainName      SYMPHONY_DOMAIN_NAME      the certificate's host name, for the printed URLs
 *   retainData      SYMPHONY_RETAIN_DATA      "false" deletes data with the stack     (default true)
 * Nothing here calls AWS: synthesis works offline, with placeholders for what it cannot know.
 */
import { App, Stack, Tags, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import { SymphonyService } from './index.js';

interface ExampleSettings {
  readonly ecrRepository: string;
  readonly imageTag: string;
  readonly image?: string;
  readonly certificateArn?: string;
  readonly domainName?: string;
  readonly retainData: boolean;
}

class SymphonyExampleStack extends Stack {
  constructor(scope: Construct, id: string, settings: ExampleSettings, props?: StackProps) {
    super(scope, id, props);
    // fromEcrRepository also grants the task's execution role the pull; fromRegistry grants nothing.
    const image = settings.image
      ? ecs.ContainerImage.fromRegistry(settings.image)
      : ecs.ContainerImage.fromEcrRepository(
          ecr.Repository.fromRepositoryName(this, 'Repository', settings.ecrRepository),
          settings.imageTag,
        );
    const certificate = settings.certificateArn
      ? acm.Certificate.fromCertificateArn(this, 'Certificate', settings.certificateArn)
      : undefined;
    new SymphonyService(this, 'Collab', {
      image,
      certificate,
      domainName: settings.domainName,
      retainData: settings.retainData,
    });
  }
}

const app = new App({ outdir: process.env.CDK_OUTDIR ?? 'cdk.out' });
const setting = (contextKey: string, envName: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(contextKey) ?? process.env[envName];
  return value === undefined || value === '' ? undefined : String(value);
};
const settings: ExampleSettings = {
  ecrRepository: setting('ecrRepository', 'SYMPHONY_ECR_REPOSITORY') ?? 'symphony-express',
  imageTag: setting('imageTag', 'SYMPHONY_IMAGE_TAG') ?? 'latest',
  image: setting('image', 'SYMPHONY_IMAGE'),
  certificateArn: setting('certificateArn', 'SYMPHONY_CERTIFICATE_ARN'),
  domainName: setting('domainName', 'SYMPHONY_DOMAIN_NAME'),
  retainData: setting('retainData', 'SYMPHONY_RETAIN_DATA') !== 'false',
};
// The CDK CLI sets these from your profile; without them the stack is environment-agnostic.
const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
new SymphonyExampleStack(app, 'SymphonyExample', settings, {
  env,
  description: 'Symphony Express example: Fargate behind an ALB with Redis, DynamoDB, S3 and Postgres',
});
Tags.of(app).add('project', 'symphony');
app.synth();
