import type { RequestTarget } from './s3/request-target.js';
import { hasQuery } from './s3/request-target.js';

/**
 * S3 API actions the proxy tells apart, spelled as AWS spells them, so a reader of the AWS
 * docs can grep from an action to its handler in ops/. `ForwardBucket` and `ForwardObject`
 * are requests that carry no object data and pass through re-signed.
 */
export type S3Action =
  | 'ListBuckets'
  | 'ListObjects'
  | 'ListObjectsV2'
  | 'ListObjectVersions'
  | 'GetObject'
  | 'HeadObject'
  | 'PutObject'
  | 'CopyObject'
  | 'DeleteObject'
  | 'DeleteObjects'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'ListMultipartUploads'
  | 'SelectObjectContent'
  | 'GetObjectAttributes'
  | 'GetObjectTorrent'
  | 'PostObject'
  | 'ForwardBucket'
  | 'ForwardObject';

/** Object sub-resources that describe an object but carry none of its data. */
const OBJECT_SIDE_RESOURCES = ['tagging', 'acl', 'retention', 'legal-hold', 'restore'] as const;

export function routeRequest(method: string, target: RequestTarget): S3Action {
  if (target.bucket === undefined) return method === 'GET' ? 'ListBuckets' : 'ForwardBucket';
  if (target.key === undefined) return routeBucket(method, target);
  return routeObject(method, target);
}

function routeBucket(method: string, target: RequestTarget): S3Action {
  switch (method) {
    case 'GET':
      if (target.query.some(([n, v]) => n === 'list-type' && v === '2')) return 'ListObjectsV2';
      if (hasQuery(target, 'versions')) return 'ListObjectVersions';
      if (hasQuery(target, 'uploads')) return 'ListMultipartUploads';
      // Any other sub-resource (?location, ?policy, ?versioning, …) is bucket configuration.
      return isPlainListing(target) ? 'ListObjects' : 'ForwardBucket';
    case 'POST':
      if (hasQuery(target, 'delete')) return 'DeleteObjects';
      // A POST with no sub-resource is a browser form upload: object data we cannot see signed.
      return target.query.length === 0 ? 'PostObject' : 'ForwardBucket';
    default:
      return 'ForwardBucket';
  }
}

/** ListObjects (v1) takes only these parameters; anything else names a sub-resource. */
const LISTING_PARAMETERS = new Set([
  'prefix',
  'delimiter',
  'marker',
  'max-keys',
  'encoding-type',
  'fetch-owner',
  'x-id',
]);

function isPlainListing(target: RequestTarget): boolean {
  return target.query.every(([name]) => LISTING_PARAMETERS.has(name));
}

function routeObject(method: string, target: RequestTarget): S3Action {
  const isUploadPart = hasQuery(target, 'uploadId');
  switch (method) {
    case 'GET':
      if (isUploadPart) return 'ListParts';
      if (hasQuery(target, 'attributes')) return 'GetObjectAttributes';
      if (hasQuery(target, 'torrent')) return 'GetObjectTorrent';
      return hasSideResource(target) ? 'ForwardObject' : 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'PUT':
      if (hasSideResource(target)) return 'ForwardObject';
      if (isUploadPart && hasQuery(target, 'partNumber')) return 'UploadPart';
      return 'PutObject';
    case 'POST':
      if (hasQuery(target, 'uploads')) return 'CreateMultipartUpload';
      if (isUploadPart) return 'CompleteMultipartUpload';
      if (hasQuery(target, 'select')) return 'SelectObjectContent';
      if (hasQuery(target, 'restore')) return 'ForwardObject';
      return 'PostObject';
    case 'DELETE':
      if (isUploadPart) return 'AbortMultipartUpload';
      return hasSideResource(target) ? 'ForwardObject' : 'DeleteObject';
    default:
      return 'ForwardObject';
  }
}

function hasSideResource(target: RequestTarget): boolean {
  return OBJECT_SIDE_RESOURCES.some((name) => hasQuery(target, name));
}

/**
 * A copy is a PUT with `x-amz-copy-source`; it is told apart from a plain PUT only by the
 * header, so the server refines the route once headers are known.
 */
export function refineCopy(action: S3Action, hasCopySource: boolean): S3Action {
  if (!hasCopySource) return action;
  if (action === 'PutObject') return 'CopyObject';
  if (action === 'UploadPart') return 'UploadPartCopy';
  return action;
}
