import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

/** At most this many keys per DeleteObjects request (S3's limit). */
const DELETE_BATCH = 1_000;

/** Every key under `prefix`, page by page. */
export async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<{ key: string; size: number }[]> {
  const keys: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key) keys.push({ key: object.Key, size: object.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** Deletes keys in batches; a key that does not exist is no error. */
export async function deleteKeys(client: S3Client, bucket: string, keys: readonly string[]): Promise<void> {
  for (let index = 0; index < keys.length; index += DELETE_BATCH) {
    const batch = keys.slice(index, index + DELETE_BATCH);
    const result = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
    const failed = result.Errors ?? [];
    if (failed.length > 0) throw new Error(`S3 refused to delete ${failed.length} objects, e.g. ${failed[0].Key}: ${failed[0].Message ?? failed[0].Code}`);
  }
}
