/**
 * Error bodies in the three wire styles the API speaks. The AWS SDKs read the error code from these exact places
 * (the REST-JSON and REST-XML error bodies the AWS SDK parses).
 */
import { XMLBuilder } from 'fast-xml-parser';
import type { OpenFrontError } from '../../errors.js';
import type { ApiResponse } from './types.js';

export const CLOUDFRONT_XML_NAMESPACE = 'http://cloudfront.amazonaws.com/doc/2020-05-31/';

/** restJson1: code in `x-amzn-ErrorType`, message in `{"Message": …}`. */
export function jsonErrorResponse(err: OpenFrontError): ApiResponse {
  return {
    status: err.status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': err.awsType },
    body: JSON.stringify({ Message: err.message }),
  };
}

const xmlBuilder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false });

/** restXml: the `<ErrorResponse><Error><Code>` envelope CloudFront uses. */
export function xmlErrorResponse(err: OpenFrontError, requestId: string): ApiResponse {
  const body = xmlBuilder.build({
    ErrorResponse: {
      '@_xmlns': CLOUDFRONT_XML_NAMESPACE,
      Error: { Type: err.status >= 500 ? 'Receiver' : 'Sender', Code: err.awsType, Message: err.message },
      RequestId: requestId,
    },
  }) as string;
  return { status: err.status, headers: { 'content-type': 'text/xml' }, body: `<?xml version="1.0"?>\n${body}` };
}

/** OpenFront's native JSON: the stable OpenFront code as well as the AWS-style type. */
export function nativeErrorResponse(err: OpenFrontError): ApiResponse {
  return {
    status: err.status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': err.awsType },
    body: JSON.stringify({
      error: { code: err.code, type: err.awsType, message: err.message, ...(Object.keys(err.details).length ? { details: err.details } : {}) },
    }),
  };
}
