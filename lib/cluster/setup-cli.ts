#!/usr/bin/env node
/**
 * symphony-setup: creates what cluster nodes need where the CDK construct does not (local
 * stand-ins, self-managed deployments): the DynamoDB room registry table with its documented
 * schema (partition key `room`, sort key `node`, TTL on `expiresAt`) and the S3 documents bucket.
 * It reads the variables a node reads; flags override them. Existing resources are left as they are.
 *
 *   npx symphony-setup [--table NAME] [--bucket NAME]
 */
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { ensureRegistryTable } from './adapters/dynamodb-registry.js';
import { ensureDocumentBucket, s3ClientConfig } from './adapters/s3-store.js';

const HELP = `Usage: symphony-setup [--table NAME] [--bucket NAME]

Creates the cluster's DynamoDB registry table and S3 documents bucket if they do not exist.

  --table NAME   the registry table (default: SYMPHONY_DYNAMODB_TABLE)
  --bucket NAME  the documents bucket (default: SYMPHONY_S3_BUCKET)
  --help         this text

Endpoints, region and credentials come from the AWS SDK's variables (AWS_REGION,
AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_S3, AWS_PROFILE...), as for a node.
`;

/** Runs the command; resolves to the process exit code. */
async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let values: { table?: string; bucket?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { table: { type: 'string' }, bucket: { type: 'string' }, help: { type: 'boolean' } }, strict: true }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const table = values.table ?? env.SYMPHONY_DYNAMODB_TABLE?.trim();
  const bucket = values.bucket ?? env.SYMPHONY_S3_BUCKET?.trim();
  if (!table && !bucket) {
    process.stderr.write(`Nothing to create: give --table and/or --bucket (or set SYMPHONY_DYNAMODB_TABLE / SYMPHONY_S3_BUCKET).\n\n${HELP}`);
    return 2;
  }
  const region = env.AWS_REGION?.trim() || undefined;
  try {
    if (table) {
      const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB?.trim() || env.AWS_ENDPOINT_URL?.trim() || undefined;
      const client = new DynamoDBClient({ ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) });
      try {
        process.stdout.write(`DynamoDB table "${table}": ${await ensureRegistryTable(client, table)}\n`);
      } finally {
        client.destroy();
      }
    }
    if (bucket) {
      const endpoint = env.AWS_ENDPOINT_URL_S3?.trim() || env.AWS_ENDPOINT_URL?.trim() || undefined;
      const client = new S3Client(s3ClientConfig({ region, endpoint }));
      try {
        process.stdout.write(`S3 bucket "${bucket}": ${await ensureDocumentBucket(client, bucket)}\n`);
      } finally {
        client.destroy();
      }
    }
    return 0;
  } catch (error) {
    process.stderr.write(`symphony-setup failed: ${(error as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
