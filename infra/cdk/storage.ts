import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

/** The room registry's schema, as the cluster mode reads and writes it. */
export const ROOM_REGISTRY_PARTITION_KEY = 'room';
/** The sort key: the node id, or `LEASE_SORT_KEY` for the room's writer lease. */
export const ROOM_REGISTRY_SORT_KEY = 'node';
/** Epoch seconds after which DynamoDB drops the entry of a node that died without deregistering. */
export const ROOM_REGISTRY_TTL_ATTRIBUTE = 'expiresAt';

/** How long the load balancer's access logs and the VPC flow logs are kept. */
export const LOG_RETENTION = Duration.days(90);

/** Settings every bucket here shares: private, encrypted, TLS only, owner-enforced objects. */
function privateBucketProps(retainData: boolean): s3.BucketProps {
  return {
    // SSE-S3: the ALB can only deliver access logs to SSE-S3 buckets, and it needs no key grants.
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    removalPolicy: retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    autoDeleteObjects: !retainData,
  };
}

/** Receives the ALB access logs and the VPC flow logs; the document bucket logs its access here too. */
export function createLogBucket(scope: Construct, id: string, retainData: boolean): s3.Bucket {
  const bucket = new s3.Bucket(scope, id, {
    ...privateBucketProps(retainData),
    lifecycleRules: [{ expiration: LOG_RETENTION }],
  });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'This is the access-log bucket itself; logging its own access into itself would loop.',
  });
  return bucket;
}

/** Room documents, written by the cluster mode under `documentPrefix` (checkpoints every 30 s). */
export function createDocumentBucket(scope: Construct, id: string, retainData: boolean, logBucket: s3.IBucket): s3.Bucket {
  return new s3.Bucket(scope, id, {
    ...privateBucketProps(retainData),
    serverAccessLogsBucket: logBucket,
    serverAccessLogsPrefix: 'document-bucket/',
    // Parts of an upload a node did not finish (it was stopped mid-checkpoint) cost money forever otherwise.
    lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1) }],
  });
}

/**
 * The room registry: which nodes hold which room, so that a node joining a room fetches the live
 * state from a peer instead of a stale checkpoint from S3. Entries live only as long as their node.
 */
export function createRoomRegistryTable(scope: Construct, id: string): dynamodb.Table {
  const table = new dynamodb.Table(scope, id, {
    partitionKey: { name: ROOM_REGISTRY_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
    sortKey: { name: ROOM_REGISTRY_SORT_KEY, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: ROOM_REGISTRY_TTL_ATTRIBUTE,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    // Nothing in it outlives the nodes that wrote it: a new stack starts from an empty registry.
    removalPolicy: RemovalPolicy.DESTROY,
  });
  Validations.of(table).acknowledge({
    id: 'AwsSolutions-DDB3',
    reason:
      'The room registry holds only short-lived, TTL-bound entries that running nodes rewrite; there is nothing to restore to a point in time.',
  });
  return table;
}
